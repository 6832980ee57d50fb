/* bastion-ssh-session-private.h: what only the tunnel (and tests) may call
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-ssh-jump.h"
#include "bastion-ssh-session.h"

G_BEGIN_DECLS

/* ---- Channels ------------------------------------------------------------------------------
 *
 * A channel is the session's object: only bastion-ssh-channel.c and bastion-ssh-session.c call
 * libssh2. Every call is non-blocking. A call that moved nothing says why: */
typedef enum
{
  BASTION_SSH_IO_OK      =  0,
  BASTION_SSH_IO_AGAIN   = -1,  /* nothing now; the session's I/O callback says when to retry */
  BASTION_SSH_IO_BLOCKED = -2,  /* a packet is half-sent: the caller owns the session's single
                                 * send slot (set_send_busy) and must retry this same call, with
                                 * the same arguments, before any other call that could send */
  BASTION_SSH_IO_CLOSED  = -3,  /* the peer closed the channel (or EOF was sent already) */
  BASTION_SSH_IO_DENIED  = -4,  /* the server refused to open the channel */
  BASTION_SSH_IO_DEAD    = -5,  /* the session is gone: "disconnected" follows from an idle */
  BASTION_SSH_IO_FAILED  = -6,  /* this channel failed (bastion_ssh_session_dup_last_error()) */
} BastionSshIo;

typedef struct _BastionSshChannel BastionSshChannel;

/* A "direct-tcpip" channel to HOST:PORT as seen from the server. Only one open may be in flight
 * per session: retry the same call until it gives OK (and *channel) or an error. */
BastionSshIo  bastion_ssh_channel_open_direct (BastionSshSession  *session,
                                               const char         *host,
                                               guint16             port,
                                               guint16             source_port,
                                               BastionSshChannel **channel);
/* After DENIED: the server's reason code (RFC 4254 5.1: 1 administratively prohibited,
 * 2 connect failed, 3 unknown channel type, 4 resource shortage), 0 when unknown. */
guint         bastion_ssh_channel_open_failure_reason (BastionSshSession *session);
/* Bytes read (0: none queued now; see is_eof()) or a BastionSshIo. */
gssize        bastion_ssh_channel_read        (BastionSshChannel  *channel,
                                               void               *buffer,
                                               gsize               size);
/* Bytes taken (0: the peer's window is full; a window adjust wakes the session) or a
 * BastionSshIo. */
gssize        bastion_ssh_channel_write       (BastionSshChannel  *channel,
                                               const void         *buffer,
                                               gsize               size);
/* The EOF packet is built on libssh2's stack: call only when can_send_small() said so, or to
 * retry a BLOCKED send. CLOSED means the peer cannot take an EOF any more. */
BastionSshIo  bastion_ssh_channel_send_eof    (BastionSshChannel  *channel);
/* TRUE when the session holds data for the channel (so a read will not touch the socket). */
gboolean      bastion_ssh_channel_has_data    (BastionSshChannel  *channel);
gboolean      bastion_ssh_channel_is_eof      (BastionSshChannel  *channel);
/* The link as the open channels see it: the smallest measured round trip (µs; 0 with no
 * channel) and the largest receive window a channel keeps granted (bytes). */
void          bastion_ssh_session_get_link    (BastionSshSession  *session,
                                               gint64             *rtt_us,
                                               guint64            *window);
/* Closes and frees the channel; OK means CHANNEL is freed. Until then, call again (AGAIN,
 * BLOCKED). The session frees every channel it still has when it is torn down (disconnect,
 * "disconnected"): its channels' owners forget theirs then, without calling anything. */
BastionSshIo  bastion_ssh_channel_close       (BastionSshChannel  *channel);

/* ---- The relay's event plumbing ------------------------------------------------------------ */

/* Called on every socket event once the session is ready (the tunnel's relay). */
typedef void (*BastionSshIoFunc) (BastionSshSession *session,
                                  gpointer           user_data);

void          bastion_ssh_session_set_io_func      (BastionSshSession *self,
                                                    BastionSshIoFunc   func,
                                                    gpointer           user_data);
/* The caller has a half-sent packet (it owns the send slot): also wake on writable, and send no
 * keepalive until it is cleared. */
void          bastion_ssh_session_set_send_busy    (BastionSshSession *self,
                                                    gboolean           busy);
/* The caller has no channel, so nothing reads the session: keepalives then ask for no reply,
 * and only a closed or failed socket is watched for. */
void          bastion_ssh_session_set_idle         (BastionSshSession *self,
                                                    gboolean           idle);
/* TRUE when a small packet built on libssh2's stack (EOF, keepalive) can be sent whole now. */
gboolean      bastion_ssh_session_can_send_small   (BastionSshSession *self);
/* TRUE while ready and not found dead: channels may be used. */
gboolean      bastion_ssh_session_is_alive         (BastionSshSession *self);
/* While set, small packets wait for the end of the main-loop iteration and leave together. */
void          bastion_ssh_session_batch_writes     (BastionSshSession *self,
                                                    gboolean           batch);
void          bastion_ssh_session_get_output_stats (BastionSshSession *self,
                                                    guint64           *packets,
                                                    guint64           *sends);
void          bastion_ssh_session_get_stream_stats (BastionSshSession *self,
                                                    guint64           *streams,
                                                    guint64           *tails);
/* libssh2's last error message, for a log line. */
char         *bastion_ssh_session_dup_last_error   (BastionSshSession *self);

/* ---- For bastion-ssh-channel.c only ------------------------------------------------------- */

struct _LIBSSH2_SESSION;

/* The libssh2 session while alive, else NULL. */
struct _LIBSSH2_SESSION *bastion_ssh_session_get_raw    (BastionSshSession *self);
/* Checks a negative libssh2 return code: FALSE (and the session marked dead, "disconnected"
 * emitted from an idle) when it means the session is gone. */
gboolean      bastion_ssh_session_check_rc         (BastionSshSession *self,
                                                    int                rc);
/* The session's list of open channels (freed by bastion_ssh_channels_drop() at teardown). */
GQueue       *bastion_ssh_session_get_channels     (BastionSshSession *self);
void          bastion_ssh_channels_drop            (GQueue            *channels);

/* ---- ProxyJump (bastion-ssh-jump.c) ----------------------------------------------------- */

gboolean        bastion_ssh_session_get_identities_only (BastionSshSession *self);
/* While its chain connects, the session shows the step of the hop being connected. */
void            bastion_ssh_session_set_jump_stage      (BastionSshSession *self,
                                                         BastionSshStage    stage);

/* ---- Tests only ---------------------------------------------------------------------------- */

/* The hook is called in the thread that logs in with a passphrase-protected OpenSSH key (its
 * bcrypt KDF runs there, not on the main loop), just before libssh2 starts; a test blocks in it
 * to cancel or drop the session meanwhile. Set it while no login runs. */
typedef void (*BastionSshAuthThreadHook) (gpointer user_data);
void          _bastion_ssh_session_set_auth_thread_hook (BastionSshAuthThreadHook hook,
                                                         gpointer                 user_data);

G_END_DECLS
