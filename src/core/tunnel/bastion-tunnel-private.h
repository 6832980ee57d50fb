/* bastion-tunnel-private.h: shared by bastion-tunnel.c (the owner's side) and
 * bastion-tunnel-relay.c (the I/O thread's side)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-fd-watch.h"
#include "bastion-ssh-session-private.h"
#include "bastion-profile.h"
#include "bastion-tunnel.h"

G_BEGIN_DECLS

typedef enum
{
  CLIENT_QUEUED,
  CLIENT_OPENING,
  CLIENT_OPEN,
  CLIENT_CLOSING,
} ClientState;

typedef enum
{
  OP_NONE,
  OP_OPEN,
  OP_READ,
  OP_WRITE,
  OP_EOF,
  OP_CLOSE,
} OpKind;

typedef struct
{
  GList               link;
  BastionTunnel      *tunnel;
  GSocketConnection  *connection;
  BastionFdWatch     *watch;
  BastionSshChannel  *channel;
  int                 fd;
  guint16             peer_port;
  ClientState         state;
  guint8             *up;
  gsize               up_off;
  gsize               up_len;
  guint8             *down;
  gsize               down_off;
  gsize               down_len;
  guint               client_eof : 1;
  guint               eof_sent : 1;
  guint               channel_eof : 1;
  guint               client_shut : 1;
  guint               remote_gone : 1;
  guint               socket_closed : 1;
} Client;

/* What the owner's thread sees of the tunnel: a copy the relay reports after each change. */
typedef struct
{
  guint64             seq;
  BastionSshStage     stage;
  guint16             local_port;
  guint64             bytes_in;
  guint64             bytes_out;
  guint               n_channels;
  guint               n_clients;
  guint               n_refused;
  gint64              rtt;        /* µs, the last measured; 0: not yet */
  guint64             window;     /* the largest receive window of an open channel */
  GError             *error;
} State;

typedef struct _BastionTunnelSsm BastionTunnelSsm;

/* The transport seam: what carries the accepted clients of the tunnel's user to the database.
 * The relay's SSH channels (bastion-tunnel-relay.c) and AWS Session Manager's smux streams
 * (bastion-tunnel-ssm.c). The listener, the peer-uid check, the reports to the owner and the
 * stage are the tunnel's; every call runs on the I/O thread. */
typedef struct
{
  BastionTransport  kind;
  /* Connects. Ends by completing self->start_task (through bastion_tunnel_report_done()), and
   * afterwards keeps the stage (READY, RECONNECTING, FAILED) up to date. */
  void            (*start) (BastionTunnel     *self,
                            GCancellable      *cancellable);
  /* Closes every client and the transport; nothing calls the tunnel back afterwards. */
  void            (*stop)  (BastionTunnel     *self);
  /* Takes an accepted connection of the tunnel's user. */
  void            (*carry) (BastionTunnel     *self,
                            GSocketConnection *connection);
  /* Refreshes the counters the transport keeps (bytes, channels, clients, rtt, window). */
  void            (*stats) (BastionTunnel     *self);
} BastionTunnelTransport;

extern const BastionTunnelTransport bastion_tunnel_ssh_transport;
extern const BastionTunnelTransport bastion_tunnel_ssm_transport;

/* The relay runs on the I/O thread (bastion-io-thread.c): every field below "Relay" is touched
 * only there. The public API is called from the thread that created the tunnel (its owner):
 * start and stop are marshalled to the I/O thread, and the owner reads only "Owner", which the
 * relay's reports update on the owner's context (properties notify there). */
struct _BastionTunnel
{
  GObject             parent_instance;

  /* Owner */
  GMainContext       *owner_context;
  State               pub;
  guint               running : 1;

  /* Relay */
  GMainContext       *context;
  guint64             seq;
  const BastionTunnelTransport *transport;
  BastionSshSession  *session;
  BastionTunnelSsm   *ssm;
  GSocketService     *service;
  GTask              *start_task;
  GError             *error;
  /* The bastion's last refusal to open a channel. Set under channel_lock before the client's
   * socket is closed, so whoever sees that close (libpq on the owner's side) finds it. */
  GMutex              channel_lock;
  GError             *channel_error;
  GError             *channel_error_copy;  /* Owner: what get_channel_error() returned */
  char               *db_host;
  GQueue              clients;
  GQueue              queue;
  Client             *opening;
  Client             *owner;
  OpKind              owner_op;
  guint               reconnect_id;
  guint               stats_id;
  guint               retry_id;
  guint               idle_id;
  guint               backoff;
  gulong              disconnected_id;

  /* Counters */
  guint64             bytes_in;
  guint64             bytes_out;
  guint64             notified_in;
  guint64             notified_out;
  gint64              rtt;
  guint64             window;
  guint               n_channels;
  guint               n_refused;        /* connections from another user, closed at once */
  guint               n_carried;        /* clients the transport holds beyond `clients` */
  GHashTable         *refused_uids;     /* uid → TRUE: logged once each */

  BastionSshStage     stage;
  guint16             db_port;
  guint16             local_port;

  guint               in_service : 1;
  guint               service_again : 1;
  guint               drained : 1;
  guint               stopped : 1;
};

/* bastion-tunnel.c, called on the I/O thread: tell the owner the current state (and, with TASK,
 * complete its start task); drop a reference on the owner's thread. */
void  bastion_tunnel_report          (BastionTunnel *self);
void  bastion_tunnel_report_done     (BastionTunnel *self,
                                      GTask         *task,
                                      GError        *error);
void  bastion_tunnel_unref_on_owner  (BastionTunnel *self);

/* bastion-tunnel-relay.c, on the I/O thread. */
void  bastion_tunnel_relay_start     (BastionTunnel *self,
                                      GTask         *task);
void  bastion_tunnel_relay_stop      (BastionTunnel *self);
/* The SSH transport's carry. */
void  bastion_tunnel_relay_accept    (BastionTunnel     *self,
                                      GSocketConnection *connection);

/* bastion-tunnel-listen.c, on the I/O thread: listens on 127.0.0.1:local_port (0: any), and
 * hands every accepted connection of this user to the transport. */
gboolean bastion_tunnel_listen       (BastionTunnel  *self,
                                      GError        **error);

/* bastion-tunnel-ssm.c: the Session Manager transport's settings, copied on the owner's thread
 * at construction; freed on the owner's thread once stopped. */
BastionTunnelSsm *bastion_tunnel_ssm_new  (BastionProfile   *profile);
void              bastion_tunnel_ssm_free (BastionTunnelSsm *ssm);

G_END_DECLS
