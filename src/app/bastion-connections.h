/* bastion-connections.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-connection.h"
#include "bastion-launcher.h"
#include "bastion-profile.h"
#include "bastion-secrets.h"

G_BEGIN_DECLS

#define BASTION_TYPE_CONNECTIONS (bastion_connections_get_type ())

G_DECLARE_FINAL_TYPE (BastionConnections, bastion_connections, BASTION, CONNECTIONS, GObject)

/* The application's one registry: one BastionConnection per profile id, shared by every view,
 * so several teams stay connected at once. Everything is closed when the application shuts
 * down. */
BastionConnections *bastion_connections_get_default          (void);
BastionSecrets     *bastion_connections_get_secrets          (BastionConnections   *self);
BastionLauncher    *bastion_connections_get_launcher         (BastionConnections   *self);
/* The profile's connection, created (idle) on first use. */
BastionConnection  *bastion_connections_lookup               (BastionConnections   *self,
                                                              BastionProfile       *profile);
/* The profile's connection if one exists, else NULL. */
BastionConnection  *bastion_connections_peek                 (BastionConnections   *self,
                                                              BastionProfile       *profile);
/* How many tunnels serve now (ready or reconnecting). */
guint               bastion_connections_get_n_open           (BastionConnections   *self);
/* Monotonic time (µs) since when the profile's tunnel serves, or 0. */
gint64              bastion_connections_get_ready_since      (BastionConnections   *self,
                                                              BastionProfile       *profile);
/* The DB password the team's connection holds, else the keyring's; NULL (no error) when none
 * is known. */
void                bastion_connections_lookup_db_password_async  (BastionConnections  *self,
                                                                   BastionProfile      *profile,
                                                                   GCancellable        *cancellable,
                                                                   GAsyncReadyCallback  callback,
                                                                   gpointer             user_data);
char               *bastion_connections_lookup_db_password_finish (BastionConnections  *self,
                                                                   GAsyncResult        *result,
                                                                   GError             **error);
/* A security-group rule added for this connection only: removed again on disconnect. */
void                bastion_connections_add_temporary_rule   (BastionConnections   *self,
                                                              BastionProfile       *profile,
                                                              const char           *group_name,
                                                              const char           *cidr);
/* Closes the tunnel, removes the files handed to tools and any temporary rule. */
void                bastion_connections_disconnect           (BastionConnections   *self,
                                                              BastionProfile       *profile);
void                bastion_connections_disconnect_all       (BastionConnections   *self);

G_END_DECLS
