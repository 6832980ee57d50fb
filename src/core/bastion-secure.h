/* bastion-secure.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean bastion_secure_process_init (void);

G_END_DECLS
