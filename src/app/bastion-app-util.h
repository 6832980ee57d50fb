/* bastion-app-util.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "bastion-connection.h"

G_BEGIN_DECLS

/* path as a person reads it: under the home folder as "~/…". NULL stays NULL. */
char     *bastion_app_dup_display_path        (const char        *path);
/* The connection stopped at a question for the user (trust a new host key, type a password or
 * passphrase): a question, not a failure. */
gboolean  bastion_app_connection_awaits_user (BastionConnection *connection);

G_END_DECLS
