/* bastion-tunnel.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-profile.h"
#include "bastion-ssh-session.h"

G_BEGIN_DECLS

#define BASTION_TYPE_TUNNEL  (bastion_tunnel_get_type ())
#define BASTION_TUNNEL_ERROR (bastion_tunnel_error_quark ())

typedef enum
{
  BASTION_TUNNEL_ERROR_FAILED = 1,
  BASTION_TUNNEL_ERROR_PORT_BUSY,
  BASTION_TUNNEL_ERROR_STOPPED,
  BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
} BastionTunnelError;

GQuark bastion_tunnel_error_quark (void);

G_DECLARE_FINAL_TYPE (BastionTunnel, bastion_tunnel, BASTION, TUNNEL, GObject)

/* Forwards connections to 127.0.0.1:LOCAL_PORT (0: any free port) through SESSION to
 * DB_HOST:DB_PORT as seen from the bastion. The tunnel connects SESSION itself, and reconnects
 * it with backoff while the listener stays open. */
BastionTunnel     *bastion_tunnel_new             (BastionSshSession  *session,
                                                   const char         *db_host,
                                                   guint16             db_port,
                                                   guint16             local_port);
/* The same tunnel carried by AWS Session Manager (issue 21): a port-forwarding session to the
 * profile's database through its bastion instance (found by its Name tag, as `aws bastion`
 * finds it), with the profile's AWS identity. A session the service ends (idle timeout, maximum
 * duration, a dropped WebSocket) is started again with backoff while the listener and its port
 * stay; clients that connect meanwhile wait for it. */
BastionTunnel     *bastion_tunnel_new_ssm         (BastionProfile     *profile,
                                                   guint16             local_port);
void               bastion_tunnel_start_async     (BastionTunnel      *self,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean           bastion_tunnel_start_finish    (BastionTunnel      *self,
                                                   GAsyncResult       *result,
                                                   GError            **error);
/* Closes the listener, every client and the session. */
void               bastion_tunnel_stop            (BastionTunnel      *self);

/* The SSH session (NULL when Session Manager carries the tunnel). */
BastionSshSession *bastion_tunnel_get_session     (BastionTunnel      *self);
/* BASTION_TRANSPORT_SSH or BASTION_TRANSPORT_SSM. */
BastionTransport   bastion_tunnel_get_transport   (BastionTunnel      *self);
/* Session Manager only: the current session's id and its agent's version (NULL before the
 * first session, or with SSH). */
char              *bastion_tunnel_dup_ssm_session (BastionTunnel      *self,
                                                   char              **agent_version);
BastionSshStage    bastion_tunnel_get_stage       (BastionTunnel      *self);
const char        *bastion_tunnel_get_local_address (BastionTunnel    *self);
guint16            bastion_tunnel_get_local_port  (BastionTunnel      *self);
guint64            bastion_tunnel_get_bytes_in    (BastionTunnel      *self);
guint64            bastion_tunnel_get_bytes_out   (BastionTunnel      *self);
guint              bastion_tunnel_get_n_channels  (BastionTunnel      *self);
guint              bastion_tunnel_get_n_clients   (BastionTunnel      *self);
/* Connections to the listener from another user's process, closed before any byte was
 * relayed (the tunnel is its user's alone). */
guint              bastion_tunnel_get_n_refused   (BastionTunnel      *self);
/* The bastion's last refusal to open a channel to the database (BASTION_TUNNEL_ERROR_
 * CHANNEL_REFUSED: its reason and the fix), NULL once a channel opened again. */
const GError      *bastion_tunnel_get_channel_error (BastionTunnel    *self);
/* The link's measured round trip in µs (0: not yet) and the largest receive window an open
 * channel keeps granted (0: no channel). */
gint64             bastion_tunnel_get_rtt         (BastionTunnel      *self);
guint64            bastion_tunnel_get_receive_window (BastionTunnel   *self);
/* The last error that made the tunnel fail (stage "failed"), or NULL. */
const GError      *bastion_tunnel_get_error       (BastionTunnel      *self);

/* The process listening on 127.0.0.1:PORT (or the wildcard address), from /proc; FALSE when it
 * cannot be found (another user's process, say). A socket of this user whose process cannot be
 * inspected (a non-dumpable Bastion) gives TRUE with *pid 0 and *command NULL. */
gboolean           bastion_tunnel_find_port_owner (guint16             port,
                                                   int                *pid,
                                                   char              **command);

G_END_DECLS
