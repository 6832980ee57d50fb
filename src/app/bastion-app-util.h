/* bastion-app-util.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* path as a person reads it: under the home folder as "~/…". NULL stays NULL. */
char *bastion_app_dup_display_path (const char *path);

G_END_DECLS
