/* bastion-defaults.h
 *
 * What a profile's empty fields mean: one place for the defaults the profile, the SimpleIOT
 * import, the connection and both faces fall back to.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BASTION_DEFAULT_SSH_PORT    22
/* The login of Amazon Linux, which SimpleIOT's bastions run. */
#define BASTION_DEFAULT_SSH_USER    "ec2-user"
#define BASTION_DEFAULT_DB_PORT     5432
/* SimpleIOT's ssh_db_local_port when its config names none. */
#define BASTION_DEFAULT_LOCAL_PORT  6543

G_END_DECLS
