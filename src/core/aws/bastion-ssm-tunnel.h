/* bastion-ssm-tunnel.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A local listener on 127.0.0.1 whose clients are carried by AWS Session Manager sessions
 * (BastionSsmSession). When a session ends other than by bastion_ssm_tunnel_stop() (the service's
 * idle timeout or maximum duration, a dropped WebSocket), a new session is started quietly with
 * backoff while the listener stays open: clients that connect meanwhile wait for it; clients
 * that were connected lose their connection (a database client reconnects).
 */

#pragma once

#include <gio/gio.h>

#include "bastion-aws.h"
#include "bastion-ssm-session.h"

G_BEGIN_DECLS

#define BASTION_TYPE_SSM_TUNNEL (bastion_ssm_tunnel_get_type ())

G_DECLARE_FINAL_TYPE (BastionSsmTunnel, bastion_ssm_tunnel, BASTION, SSM_TUNNEL, GObject)

BastionSsmTunnel  *bastion_ssm_tunnel_new            (BastionAws         *aws,
                                                      const char         *instance_id,
                                                      const char         *db_host,
                                                      guint16             db_port,
                                                      guint16             local_port);
/* Listens, then starts the first session; done when it is connected. */
void               bastion_ssm_tunnel_start_async    (BastionSsmTunnel   *self,
                                                      GCancellable       *cancellable,
                                                      GAsyncReadyCallback callback,
                                                      gpointer            user_data);
gboolean           bastion_ssm_tunnel_start_finish   (BastionSsmTunnel   *self,
                                                      GAsyncResult       *result,
                                                      GError            **error);
void               bastion_ssm_tunnel_stop           (BastionSsmTunnel   *self);

guint16            bastion_ssm_tunnel_get_local_port (BastionSsmTunnel   *self);
/* The current session, or NULL while reconnecting. */
BastionSsmSession *bastion_ssm_tunnel_get_session    (BastionSsmTunnel   *self);
guint              bastion_ssm_tunnel_get_reconnects (BastionSsmTunnel   *self);
guint64            bastion_ssm_tunnel_get_bytes_in   (BastionSsmTunnel   *self);
guint64            bastion_ssm_tunnel_get_bytes_out  (BastionSsmTunnel   *self);

G_END_DECLS
