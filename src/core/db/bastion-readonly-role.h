/* bastion-readonly-role.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-database.h"

G_BEGIN_DECLS

/* A team's read-only PostgreSQL login, made with the admin's consent: LOGIN, pg_read_all_data
 * (PostgreSQL 14 and later, RDS included) or SELECT on the public schema (older servers, or
 * where the admin may not grant pg_read_all_data), default_transaction_read_only = on, owns
 * nothing, and a generated password that only the keyring keeps (secret kind
 * "readonly-password"). Read-only profiles then log in as it, in the query view and in the
 * tools Bastion launches, so the server itself holds them to reading. */
#define BASTION_READONLY_ROLE "bastion_readonly"

typedef enum
{
  BASTION_READONLY_ROLE_CREATE,
  BASTION_READONLY_ROLE_ROTATE,  /* a new password, in the keyring and on the server */
  BASTION_READONLY_ROLE_DROP,    /* the role, its grants and its password go */
} BastionReadonlyRoleAction;

/* @admin: connected as the team's admin role with writes allowed (the consent). */
void      bastion_readonly_role_run_async   (BastionDatabase            *admin,
                                             const char                 *profile_id,
                                             const char                 *team,
                                             BastionReadonlyRoleAction   action,
                                             GCancellable               *cancellable,
                                             GAsyncReadyCallback         callback,
                                             gpointer                    user_data);
gboolean  bastion_readonly_role_run_finish  (GAsyncResult               *result,
                                             GError                    **error);
/* "create", "rotate", "drop". */
gboolean  bastion_readonly_role_action_from_string (const char                 *str,
                                                    BastionReadonlyRoleAction  *action);

G_END_DECLS
