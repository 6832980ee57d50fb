/* bastion-tunnel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <glib/gi18n.h>

#include "bastion-fd-watch.h"
#include "bastion-io-thread.h"
#include "bastion-tunnel.h"

/* Client reads fill up to UP_MAX; libssh2 then sends full 32 KiB packets. Channel reads need at
 * least READ_MIN of room. Both buffers bound the memory a slow side can make us hold. */
#define UP_MAX      (256 * 1024)
#define DOWN_MAX    (256 * 1024)
#define READ_MIN    (32 * 1024)
#define BACKOFF_MAX 30
#define MAX_PASSES  64

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

typedef enum
{
  STEP_IDLE,
  STEP_PROGRESS,
  STEP_STOP,
} Step;

typedef struct
{
  GList               link;
  BastionTunnel      *tunnel;
  GSocketConnection  *connection;
  BastionFdWatch     *watch;
  LIBSSH2_CHANNEL    *channel;
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
  GError             *error;
} State;

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
  BastionSshSession  *session;
  GSocketService     *service;
  GTask              *start_task;
  GError             *error;
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
  guint               n_channels;

  BastionSshStage     stage;
  guint16             db_port;
  guint16             local_port;

  guint               in_service : 1;
  guint               service_again : 1;
  guint               drained : 1;
  guint               stopped : 1;
};

G_DEFINE_FINAL_TYPE (BastionTunnel, bastion_tunnel, G_TYPE_OBJECT)
G_DEFINE_QUARK (bastion-tunnel-error-quark, bastion_tunnel_error)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_DB_HOST,
  PROP_DB_PORT,
  PROP_LOCAL_ADDRESS,
  PROP_LOCAL_PORT,
  PROP_STAGE,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_N_CHANNELS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void service (BastionTunnel *self);
static void schedule_retry (BastionTunnel *self);
static void update_client_watch (Client *c);

/* ---- Reports to the owner's thread --------------------------------------------------------- */

typedef struct
{
  BastionTunnel *self;
  State          state;
  GTask         *task;
  GError        *task_error;
} Report;

static void
state_clear (State *state)
{
  g_clear_error (&state->error);
}

/* Owner's thread. Reports may overtake each other (the one stop() applies at once): only a
 * newer state counts. */
static void
apply_state (BastionTunnel *self,
             State         *state)
{
  State old;

  if (state->seq <= self->pub.seq)
    return;

  old = self->pub;
  self->pub = *state;
  state->error = old.error;

  g_object_freeze_notify (G_OBJECT (self));
  if (old.local_port != self->pub.local_port)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL_PORT]);
  if (old.bytes_in != self->pub.bytes_in)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_IN]);
  if (old.bytes_out != self->pub.bytes_out)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_OUT]);
  if (old.n_channels != self->pub.n_channels)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
  if (old.stage != self->pub.stage)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
  g_object_thaw_notify (G_OBJECT (self));
}

static State
snapshot (BastionTunnel *self)
{
  State state = {
    .seq = ++self->seq,
    .stage = self->stage,
    .local_port = self->local_port,
    .bytes_in = self->bytes_in,
    .bytes_out = self->bytes_out,
    .n_channels = self->n_channels,
    .n_clients = self->clients.length,
    .error = self->error != NULL ? g_error_copy (self->error) : NULL,
  };

  return state;
}

static gboolean
report_cb (gpointer data)
{
  Report *report = data;

  apply_state (report->self, &report->state);
  if (report->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&report->task);

      if (report->task_error != NULL)
        g_task_return_error (task, g_steal_pointer (&report->task_error));
      else
        g_task_return_boolean (task, TRUE);
    }

  return G_SOURCE_REMOVE;
}

/* Runs on the owner's thread, after report_cb(): the last reference may go there. */
static void
report_free (gpointer data)
{
  Report *report = data;

  state_clear (&report->state);
  g_clear_error (&report->task_error);
  g_clear_object (&report->task);
  g_object_unref (report->self);
  g_free (report);
}

/* Relay: tells the owner the current state and, with TASK, completes the owner's start task. */
static void
report_done (BastionTunnel *self,
             GTask         *task,
             GError        *error)
{
  Report *report = g_new0 (Report, 1);

  report->self = g_object_ref (self);
  report->state = snapshot (self);
  report->task = task;
  report->task_error = error;
  bastion_source_add_idle (self->owner_context, G_PRIORITY_DEFAULT, report_cb, report,
                           report_free);
}

static void
report (BastionTunnel *self)
{
  report_done (self, NULL, NULL);
}

/* Relay: a reference the relay took is dropped on the owner's thread, so the tunnel is never
 * disposed on the I/O thread. */
static gboolean
nothing_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
unref_on_owner (BastionTunnel *self)
{
  bastion_source_add_idle (self->owner_context, G_PRIORITY_DEFAULT, nothing_cb, self,
                           g_object_unref);
}

/* ---- Relay state -------------------------------------------------------------------------- */

static void
set_stage (BastionTunnel   *self,
           BastionSshStage  stage)
{
  if (self->stage == stage)
    return;

  self->stage = stage;
  report (self);
}

static void
set_n_channels (BastionTunnel *self,
                guint          n)
{
  if (self->n_channels == n)
    return;

  self->n_channels = n;
  report (self);
}

static LIBSSH2_SESSION *
raw (BastionTunnel *self)
{
  return self->session != NULL ? bastion_ssh_session_get_raw (self->session) : NULL;
}

static gboolean
outbound_blocked (BastionTunnel *self)
{
  LIBSSH2_SESSION *s = raw (self);

  return s != NULL && (libssh2_session_block_directions (s) & LIBSSH2_SESSION_BLOCK_OUTBOUND);
}

static void
set_owner (BastionTunnel *self,
           Client        *c,
           OpKind         op)
{
  self->owner = c;
  self->owner_op = op;
  bastion_ssh_session_set_send_busy (self->session, op != OP_NONE);
}

/* ---- Clients ------------------------------------------------------------------------------ */

static void
close_client_socket (Client *c)
{
  if (c->socket_closed)
    return;

  c->socket_closed = TRUE;
  g_clear_pointer (&c->watch, bastion_fd_watch_free);
  if (c->connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (c->connection), NULL, NULL);
      g_clear_object (&c->connection);
    }
  c->fd = -1;
}

static void
client_free (Client *c)
{
  close_client_socket (c);
  g_free (c->up);
  g_free (c->down);
  g_free (c);
}

static void
count_channels (BastionTunnel *self)
{
  guint n = 0;

  for (GList *l = self->clients.head; l != NULL; l = l->next)
    {
      Client *c = l->data;
      if (c->channel != NULL)
        n++;
    }
  set_n_channels (self, n);
}

/* Forgets C entirely. Its channel must already be freed (or gone with the session). */
static void
remove_client (BastionTunnel *self,
               Client        *c)
{
  if (self->owner == c)
    set_owner (self, NULL, OP_NONE);
  if (self->opening == c)
    self->opening = NULL;
  if (c->state == CLIENT_QUEUED)
    g_queue_remove (&self->queue, c);
  g_queue_unlink (&self->clients, &c->link);
  client_free (c);
  count_channels (self);
  report (self);
}

/* Drops the client's socket at once and closes its channel politely. */
static void
abort_client (BastionTunnel *self,
              Client        *c,
              const char    *reason)
{
  g_message ("Tunnel 127.0.0.1:%u: closing the connection from port %u: %s",
             self->local_port, c->peer_port, reason);
  close_client_socket (c);
  c->up_len = 0;
  c->down_len = 0;

  if (c->channel != NULL && raw (self) != NULL)
    c->state = CLIENT_CLOSING;
  else
    remove_client (self, c);
}

/* Writes what the channel gave us to the client, without blocking. */
static gboolean
flush_down (BastionTunnel *self,
            Client        *c)
{
  while (c->down_len > 0)
    {
      ssize_t n = send (c->fd, c->down + c->down_off, c->down_len, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n > 0)
        {
          c->down_off += n;
          c->down_len -= n;
          self->bytes_in += n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      abort_client (self, c, g_strerror (errno));
      return FALSE;
    }

  if (c->down_len == 0)
    c->down_off = 0;

  return TRUE;
}

static void
on_client_event (int          fd,
                 GIOCondition revents,
                 gpointer     user_data)
{
  Client *c = user_data;
  BastionTunnel *self = c->tunnel;

  if (c->state != CLIENT_OPEN)
    {
      /* Gone while it waited for its channel: cleaned up when its turn comes. */
      if (revents & (G_IO_HUP | G_IO_ERR))
        close_client_socket (c);
      return;
    }

  if (revents & G_IO_ERR)
    {
      abort_client (self, c, _("the connection was reset"));
      service (self);
      return;
    }

  if ((revents & G_IO_HUP) && !(bastion_fd_watch_get_condition (c->watch) & G_IO_IN) &&
      c->client_eof)
    {
      /* Both ways closed: nothing more to read, nothing can be written. */
      if (c->down_len > 0)
        {
          abort_client (self, c, _("the client closed the connection"));
          service (self);
        }
      else
        g_clear_pointer (&c->watch, bastion_fd_watch_free);
      return;
    }

  if (revents & G_IO_OUT)
    {
      if (!flush_down (self, c))
        {
          service (self);
          return;
        }
    }

  if ((revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && c->state == CLIENT_OPEN && !c->client_eof)
    {
      gsize space;
      ssize_t n;

      if (c->up_len == 0)
        c->up_off = 0;
      else if (c->up_off > 0 && UP_MAX - c->up_off - c->up_len < READ_MIN)
        {
          memmove (c->up, c->up + c->up_off, c->up_len);
          c->up_off = 0;
        }
      space = UP_MAX - c->up_off - c->up_len;

      if (space > 0)
        {
          n = recv (fd, c->up + c->up_off + c->up_len, space, MSG_DONTWAIT);
          if (n > 0)
            c->up_len += n;
          else if (n == 0)
            c->client_eof = TRUE;
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            {
              abort_client (self, c, g_strerror (errno));
              service (self);
              return;
            }
        }
    }

  service (self);
}

static void
update_client_watch (Client *c)
{
  GIOCondition cond = 0;

  if (c->watch == NULL)
    return;

  if (c->state == CLIENT_OPEN)
    {
      if (!c->client_eof && UP_MAX - c->up_len >= READ_MIN)
        cond |= G_IO_IN;
      if (c->down_len > 0)
        cond |= G_IO_OUT;
    }

  bastion_fd_watch_set_condition (c->watch, cond);
}

/* ---- The relay ----------------------------------------------------------------------------- */

static Step
fail_rc (BastionTunnel *self,
         Client        *c,
         int            rc,
         const char    *what)
{
  char *msg = NULL;
  g_autofree char *reason = NULL;

  if (!bastion_ssh_session_check_rc (self->session, rc))
    return STEP_STOP;

  if (raw (self) != NULL)
    libssh2_session_last_error (raw (self), &msg, NULL, 0);
  reason = g_strdup_printf ("%s: %s (%d)", what, msg ? msg : "", rc);
  abort_client (self, c, reason);

  return STEP_PROGRESS;
}

static Step
pump_open (BastionTunnel *self)
{
  LIBSSH2_SESSION *s = raw (self);
  Client *c;
  LIBSSH2_CHANNEL *channel;
  int rc;

  if (self->opening == NULL)
    {
      /* Skip clients that went away while they waited. */
      while ((c = g_queue_pop_head (&self->queue)) != NULL)
        {
          if (!c->socket_closed)
            break;
          c->state = CLIENT_OPENING;
          remove_client (self, c);
        }
      if (c == NULL)
        return STEP_IDLE;
      c->state = CLIENT_OPENING;
      self->opening = c;
    }

  c = self->opening;
  /* libssh2's default window (2 MiB, as OpenSSH's) and 32 KiB packets. Measured: an 8 MiB
   * window (libssh2_channel_open_ex) made downloads 2-3x slower, because libssh2 drains and
   * decrypts everything the socket holds before it returns any of it; 0.5-1 MiB were no
   * faster than 2 MiB. */
  channel = libssh2_channel_direct_tcpip_ex (s, self->db_host, self->db_port,
                                             "127.0.0.1", c->peer_port);
  if (channel != NULL)
    {
      self->opening = NULL;
      if (self->owner == c)
        set_owner (self, NULL, OP_NONE);
      c->channel = channel;
      c->state = CLIENT_OPEN;
      c->up = g_malloc (UP_MAX);
      c->down = g_malloc (DOWN_MAX);
      count_channels (self);
      if (c->socket_closed)
        {
          c->state = CLIENT_CLOSING;
          return STEP_PROGRESS;
        }
      update_client_watch (c);
      /* The client may have sent its first bytes already. */
      on_client_event (c->fd, G_IO_IN, c);
      return STEP_PROGRESS;
    }

  rc = libssh2_session_last_errno (s);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    {
      if (outbound_blocked (self))
        {
          set_owner (self, c, OP_OPEN);
          return STEP_STOP;
        }
      if (self->owner == c)
        set_owner (self, NULL, OP_NONE);
      return STEP_IDLE;
    }

  if (self->owner == c)
    set_owner (self, NULL, OP_NONE);
  self->opening = NULL;

  if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE || rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN ||
      rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED)
    {
      char *msg = NULL;
      g_autofree char *reason = NULL;

      libssh2_session_last_error (s, &msg, NULL, 0);
      reason = g_strdup_printf (_("the bastion cannot reach the database %s:%u (%s)"),
                                self->db_host, self->db_port, msg ? msg : "");
      abort_client (self, c, reason);
      return STEP_PROGRESS;
    }

  return fail_rc (self, c, rc, "opening the channel");
}

/* Channel → client. Always drain what libssh2 has queued: no fd event will announce data that
 * another call already pulled in. */
static Step
do_read (BastionTunnel *self,
         Client        *c,
         gboolean      *progress)
{
  ssize_t n;

  /* Every libssh2 read first pulls in all the socket holds, for every channel. Once one read
   * in this pass has done that, a channel with nothing queued need not be asked: with many
   * clients that saves a recv() per idle client per pass. */
  if (self->drained && !c->channel_eof && !c->socket_closed &&
      libssh2_poll_channel_read (c->channel, 0) == 0)
    {
      if (libssh2_channel_eof (c->channel) == 1)
        {
          c->channel_eof = TRUE;
          *progress = TRUE;
        }
      goto done;
    }

  while (!c->channel_eof && !c->socket_closed)
    {
      gsize space;

      if (c->down_len == 0)
        c->down_off = 0;
      space = DOWN_MAX - c->down_off - c->down_len;
      if (space < READ_MIN && c->down_off > 0)
        {
          memmove (c->down, c->down + c->down_off, c->down_len);
          c->down_off = 0;
          space = DOWN_MAX - c->down_len;
        }
      if (space < READ_MIN)
        break;

      n = libssh2_channel_read (c->channel, (char *)c->down + c->down_off + c->down_len, space);
      if (n >= 0 || n == LIBSSH2_ERROR_EAGAIN)
        self->drained = TRUE;
      if (n > 0)
        {
          c->down_len += n;
          *progress = TRUE;
          if (!flush_down (self, c))
            return STEP_PROGRESS;
          continue;
        }
      if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
        {
          if (n == LIBSSH2_ERROR_EAGAIN && outbound_blocked (self))
            {
              set_owner (self, c, OP_READ);
              return STEP_STOP;
            }
          if (libssh2_channel_eof (c->channel) == 1)
            {
              c->channel_eof = TRUE;
              *progress = TRUE;
            }
          break;
        }
      return fail_rc (self, c, n, "reading from the channel");
    }

done:
  if (c->channel_eof && c->down_len == 0 && !c->client_shut && !c->socket_closed)
    {
      shutdown (c->fd, SHUT_WR);
      c->client_shut = TRUE;
      *progress = TRUE;
    }

  return STEP_IDLE;
}

/* Client → channel. */
static Step
do_write (BastionTunnel *self,
          Client        *c,
          gboolean      *progress)
{
  ssize_t n;

  while (c->up_len > 0 && !c->remote_gone)
    {
      /* Several clients' small writes in one wake-up leave in one send() (OUT_BATCH_MAX). */
      bastion_ssh_session_batch_writes (self->session, TRUE);
      n = libssh2_channel_write (c->channel, (char *)c->up + c->up_off, c->up_len);
      bastion_ssh_session_batch_writes (self->session, FALSE);
      if (n > 0)
        {
          c->up_off += n;
          c->up_len -= n;
          self->bytes_out += n;
          *progress = TRUE;
          continue;
        }
      if (n == 0)
        break;      /* the peer's window is full: a window adjust will wake us */
      if (n == LIBSSH2_ERROR_EAGAIN)
        {
          if (outbound_blocked (self))
            {
              set_owner (self, c, OP_WRITE);
              return STEP_STOP;
            }
          break;
        }
      if (n == LIBSSH2_ERROR_CHANNEL_CLOSED || n == LIBSSH2_ERROR_CHANNEL_EOF_SENT)
        {
          c->remote_gone = TRUE;
          c->up_len = 0;
          *progress = TRUE;
          break;
        }
      return fail_rc (self, c, n, "writing to the channel");
    }

  return STEP_IDLE;
}

static Step
do_eof (BastionTunnel *self,
        Client        *c,
        gboolean      *progress,
        gboolean       retry)
{
  int n;

  if (!c->client_eof || c->up_len > 0 || c->eof_sent || c->remote_gone)
    return STEP_IDLE;

  /* libssh2 builds the EOF packet on the stack: send it only when no packet is half-sent and
   * the kernel can take it whole; else try again shortly. */
  if (!retry && !bastion_ssh_session_can_send_small (self->session))
    {
      schedule_retry (self);
      return STEP_IDLE;
    }

  n = libssh2_channel_send_eof (c->channel);
  if (n == 0 || n == LIBSSH2_ERROR_CHANNEL_CLOSED || n == LIBSSH2_ERROR_CHANNEL_EOF_SENT)
    {
      c->eof_sent = TRUE;
      *progress = TRUE;
      return STEP_IDLE;
    }
  if (n == LIBSSH2_ERROR_EAGAIN)
    {
      if (outbound_blocked (self))
        {
          set_owner (self, c, OP_EOF);
          return STEP_STOP;
        }
      return STEP_IDLE;
    }

  return fail_rc (self, c, n, "sending EOF on the channel");
}

static Step
do_close (BastionTunnel *self,
          Client        *c,
          gboolean      *progress)
{
  int n;

  n = libssh2_channel_close (c->channel);
  if (n == LIBSSH2_ERROR_EAGAIN)
    {
      if (outbound_blocked (self))
        {
          set_owner (self, c, OP_CLOSE);
          return STEP_STOP;
        }
      return STEP_IDLE;
    }
  if (n < 0 && !bastion_ssh_session_check_rc (self->session, n))
    return STEP_STOP;

  n = libssh2_channel_free (c->channel);
  if (n == LIBSSH2_ERROR_EAGAIN)
    return STEP_IDLE;

  c->channel = NULL;
  remove_client (self, c);
  *progress = TRUE;

  return STEP_PROGRESS;
}

/* One pass over one open or closing client. */
static Step
pump_client (BastionTunnel *self,
             Client        *c)
{
  gboolean progress = FALSE;
  Step step;

  if (c->state == CLIENT_OPEN)
    {
      if ((step = do_read (self, c, &progress)) != STEP_IDLE)
        return step;
      if ((step = do_write (self, c, &progress)) != STEP_IDLE)
        return step;
      if ((step = do_eof (self, c, &progress, FALSE)) != STEP_IDLE)
        return step;

      /* Both directions finished, or the client is gone. */
      if (c->state == CLIENT_OPEN &&
          (c->socket_closed ||
           (c->channel_eof && c->client_shut && (c->eof_sent || c->remote_gone))))
        {
          c->state = CLIENT_CLOSING;
          close_client_socket (c);
          progress = TRUE;
        }
      else
        update_client_watch (c);
    }

  if (c->state == CLIENT_CLOSING)
    {
      if ((step = do_close (self, c, &progress)) != STEP_IDLE)
        return step;
    }

  return progress ? STEP_PROGRESS : STEP_IDLE;
}

/* An aborted client's call still holds the half-sent packet: complete it, drop the result. */
static Step
finish_pending (BastionTunnel *self,
                Client        *c,
                OpKind         op,
                ssize_t        rc)
{
  if (rc == LIBSSH2_ERROR_EAGAIN && outbound_blocked (self))
    {
      set_owner (self, c, op);
      return STEP_STOP;
    }
  if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN && !bastion_ssh_session_check_rc (self->session, rc))
    return STEP_STOP;

  return STEP_PROGRESS;
}

/* Retries exactly the call that holds libssh2's half-sent packet before anything else. */
static Step
pump_owner (BastionTunnel *self)
{
  Client *c = self->owner;
  OpKind op = self->owner_op;
  gboolean progress = FALSE;
  Step step = STEP_IDLE;

  set_owner (self, NULL, OP_NONE);

  switch (op)
    {
    case OP_OPEN:
      return pump_open (self);
    case OP_READ:
      if (c->state == CLIENT_OPEN)
        step = do_read (self, c, &progress);
      else
        step = finish_pending (self, c, op, libssh2_channel_read (c->channel, (char *)c->down,
                                                                  DOWN_MAX));
      break;
    case OP_WRITE:
      if (c->state == CLIENT_OPEN)
        step = do_write (self, c, &progress);
      else
        /* The packet is already encrypted in libssh2's buffer: only its completion matters. */
        step = finish_pending (self, c, op, libssh2_channel_write (c->channel, (char *)c->up, 1));
      break;
    case OP_EOF:
      if (c->state == CLIENT_OPEN)
        step = do_eof (self, c, &progress, TRUE);
      else
        step = finish_pending (self, c, op, libssh2_channel_send_eof (c->channel));
      break;
    case OP_CLOSE:
      step = c->state == CLIENT_CLOSING ? do_close (self, c, &progress) : STEP_IDLE;
      break;
    case OP_NONE:
    default:
      break;
    }

  return step == STEP_STOP ? STEP_STOP : STEP_PROGRESS;
}

static gboolean
service_once (BastionTunnel *self)
{
  gboolean progress = FALSE;
  Step step;

  if (raw (self) == NULL)
    return FALSE;

  self->drained = FALSE;
  if (self->owner != NULL)
    {
      step = pump_owner (self);
      if (step == STEP_STOP || raw (self) == NULL)
        return FALSE;
      progress = TRUE;
    }

  step = pump_open (self);
  if (step == STEP_STOP || raw (self) == NULL)
    return FALSE;
  progress |= step == STEP_PROGRESS;

  for (GList *l = self->clients.head; l != NULL;)
    {
      Client *c = l->data;

      l = l->next;
      if (c->state != CLIENT_OPEN && c->state != CLIENT_CLOSING)
        continue;
      step = pump_client (self, c);
      if (step == STEP_STOP || raw (self) == NULL)
        return FALSE;
      progress |= step == STEP_PROGRESS;
    }

  return progress;
}

static gboolean continue_cb (gpointer data);

static void
service (BastionTunnel *self)
{
  guint passes = 0;

  if (self->in_service)
    {
      self->service_again = TRUE;
      return;
    }

  /* No reference needed: the owner can drop the tunnel only through dispose(), whose stop()
   * waits until the I/O thread is out of here. */
  self->in_service = TRUE;
  do
    {
      self->service_again = FALSE;
      /* Under a continuous stream, give the rest of the main loop (the UI, other clients'
       * sockets) its turn; data libssh2 already holds announces itself by no fd event, so
       * continue from an idle. */
      if (++passes > MAX_PASSES)
        {
          if (self->idle_id == 0)
            self->idle_id = bastion_source_add_idle (self->context, G_PRIORITY_DEFAULT,
                                                     continue_cb, self, NULL);
          break;
        }
    }
  while ((service_once (self) || self->service_again) && raw (self) != NULL);
  self->in_service = FALSE;
  if (raw (self) != NULL)
    bastion_ssh_session_set_idle (self->session,
                                  self->clients.length == 0 && self->owner == NULL);
}

static gboolean
continue_cb (gpointer data)
{
  BastionTunnel *self = data;

  self->idle_id = 0;
  service (self);

  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer data)
{
  BastionTunnel *self = data;

  self->retry_id = 0;
  service (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (BastionTunnel *self)
{
  if (self->retry_id == 0)
    self->retry_id = bastion_source_add_timeout (self->context, 5, retry_cb, self);
}

static void
on_session_io (BastionSshSession *session,
               gpointer           user_data)
{
  service (user_data);
}

/* ---- Connection and reconnection ------------------------------------------------------------ */

static void reconnect (BastionTunnel *self);

static gboolean
is_retryable (const GError *error)
{
  if (error->domain != BASTION_SSH_ERROR)
    return FALSE;

  switch (error->code)
    {
    case BASTION_SSH_ERROR_DNS:
    case BASTION_SSH_ERROR_REFUSED:
    case BASTION_SSH_ERROR_TIMEOUT:
    case BASTION_SSH_ERROR_UNREACHABLE:
    case BASTION_SSH_ERROR_HANDSHAKE:
    case BASTION_SSH_ERROR_DISCONNECTED:
    case BASTION_SSH_ERROR_FAILED:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
fail_tunnel (BastionTunnel *self,
             const GError  *error)
{
  g_clear_error (&self->error);
  self->error = g_error_copy (error);
  /* The caller reports the error (once, in its words): a trace is enough here. */
  g_debug ("Tunnel 127.0.0.1:%u failed: %s", self->local_port, error->message);

  while (self->clients.head != NULL)
    {
      Client *c = self->clients.head->data;
      c->channel = NULL;
      remove_client (self, c);
    }
  set_stage (self, BASTION_SSH_STAGE_FAILED);
}

static void
connected (BastionTunnel *self,
           GAsyncResult  *result)
{
  g_autoptr(GError) error = NULL;

  if (!bastion_ssh_session_connect_finish (self->session, result, &error))
    {
      if (self->stopped)
        return;

      if (self->start_task != NULL)
        {
          fail_tunnel (self, error);
          if (self->service != NULL)
            {
              g_socket_service_stop (self->service);
              g_socket_listener_close (G_SOCKET_LISTENER (self->service));
            }
          report_done (self, g_steal_pointer (&self->start_task), g_steal_pointer (&error));
          return;
        }

      if (is_retryable (error))
        {
          g_message ("Tunnel 127.0.0.1:%u: reconnecting failed (%s); next try in %u s",
                     self->local_port, error->message, self->backoff);
          set_stage (self, BASTION_SSH_STAGE_RECONNECTING);
          reconnect (self);
        }
      else
        fail_tunnel (self, error);
      return;
    }

  if (self->stopped)
    return;

  self->backoff = 0;
  g_clear_error (&self->error);
  set_stage (self, BASTION_SSH_STAGE_READY);
  bastion_ssh_session_set_io_func (self->session, on_session_io, self);

  if (self->start_task != NULL)
    report_done (self, g_steal_pointer (&self->start_task), NULL);

  service (self);
}

/* The session's callback holds a reference of the tunnel, dropped on the owner's thread. */
static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  BastionTunnel *self = user_data;

  connected (self, result);
  unref_on_owner (self);
}

static gboolean
reconnect_cb (gpointer data)
{
  BastionTunnel *self = data;

  self->reconnect_id = 0;
  bastion_ssh_session_connect_async (self->session, BASTION_SSH_CONNECT_NONE, NULL,
                                     on_connected, g_object_ref (self));

  return G_SOURCE_REMOVE;
}

static void
reconnect (BastionTunnel *self)
{
  guint delay;

  if (self->reconnect_id != 0 || self->stopped)
    return;

  delay = self->backoff == 0 ? 1 : MIN (self->backoff * 2, BACKOFF_MAX);
  self->backoff = delay;
  self->reconnect_id = bastion_source_add_timeout (self->context, delay * 1000, reconnect_cb,
                                                   self);
}

static void
on_session_disconnected (BastionSshSession *session,
                         const GError      *error,
                         BastionTunnel     *self)
{
  g_message ("Tunnel 127.0.0.1:%u: %s; reconnecting", self->local_port,
             error ? error->message : "disconnected");

  set_owner (self, NULL, OP_NONE);

  /* The session freed every channel: their clients see their connection closed. A client
   * whose channel was still being opened goes back to the head of the queue. */
  if (self->opening != NULL)
    {
      Client *c = self->opening;

      self->opening = NULL;
      c->state = CLIENT_QUEUED;
      g_queue_push_head (&self->queue, c);
    }
  for (GList *l = self->clients.head; l != NULL;)
    {
      Client *c = l->data;

      l = l->next;
      if (c->state == CLIENT_QUEUED)
        continue;
      c->channel = NULL;
      remove_client (self, c);
    }

  set_stage (self, BASTION_SSH_STAGE_RECONNECTING);
  reconnect (self);
}

/* ---- Listener ----------------------------------------------------------------------------- */

static gboolean
on_incoming (GSocketService    *service_,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  BastionTunnel *self = user_data;
  g_autoptr(GSocketAddress) remote = NULL;
  Client *c;
  int one = 1;

  if (self->stopped || self->stage == BASTION_SSH_STAGE_FAILED)
    return TRUE;

  c = g_new0 (Client, 1);
  c->link.data = c;
  c->tunnel = self;
  c->connection = g_object_ref (connection);
  c->fd = g_socket_get_fd (g_socket_connection_get_socket (connection));
  c->state = CLIENT_QUEUED;
  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    c->peer_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->watch = bastion_fd_watch_new (c->fd, 0, on_client_event, c);

  g_queue_push_tail_link (&self->clients, &c->link);
  g_queue_push_tail (&self->queue, c);
  service (self);

  return TRUE;
}

gboolean
bastion_tunnel_find_port_owner (guint16   port,
                                int      *pid,
                                char    **command)
{
  const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  g_autofree char *inode = NULL;
  guint64 socket_uid = G_MAXUINT64;
  g_autoptr(GDir) proc = NULL;
  const char *name;

  g_return_val_if_fail (pid != NULL, FALSE);
  g_return_val_if_fail (command != NULL, FALSE);

  for (guint t = 0; t < G_N_ELEMENTS (tables) && inode == NULL; t++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (tables[t], &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 1; lines[i] != NULL && inode == NULL; i++)
        {
          g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          GPtrArray *fields = g_ptr_array_new ();
          const char *local;
          const char *colon;

          for (guint j = 0; f[j] != NULL; j++)
            if (f[j][0] != '\0')
              g_ptr_array_add (fields, f[j]);

          /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
          if (fields->len >= 10 && g_str_equal (g_ptr_array_index (fields, 3), "0A"))
            {
              local = g_ptr_array_index (fields, 1);
              colon = strrchr (local, ':');
              if (colon != NULL && strtoul (colon + 1, NULL, 16) == port)
                {
                  inode = g_strdup_printf ("socket:[%s]",
                                           (char *)g_ptr_array_index (fields, 9));
                  socket_uid = g_ascii_strtoull (g_ptr_array_index (fields, 7), NULL, 10);
                }
            }
          g_ptr_array_free (fields, TRUE);
        }
    }

  if (inode == NULL)
    return FALSE;

  proc = g_dir_open ("/proc", 0, NULL);
  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fddir = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fdname;

      if (!g_ascii_isdigit (name[0]))
        continue;
      fddir = g_build_filename ("/proc", name, "fd", NULL);
      fds = g_dir_open (fddir, 0, NULL);
      while (fds != NULL && (fdname = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *path = g_build_filename (fddir, fdname, NULL);
          g_autofree char *target = g_file_read_link (path, NULL);

          if (target != NULL && g_str_equal (target, inode))
            {
              g_autofree char *cmdfile = g_build_filename ("/proc", name, "cmdline", NULL);
              g_autofree char *cmdline = NULL;
              gsize len = 0;

              *pid = atoi (name);
              if (g_file_get_contents (cmdfile, &cmdline, &len, NULL) && len > 0)
                {
                  for (gsize k = 0; k + 1 < len; k++)
                    if (cmdline[k] == '\0')
                      cmdline[k] = ' ';
                  *command = g_strdup (cmdline);
                }
              else
                *command = g_strdup (name);
              return TRUE;
            }
        }
    }

  /* A Bastion of the same user is not dumpable (bastion-secure.c), so its /proc/PID/fd cannot
   * be read; the socket is still this user's own. Another user's socket stays "not found". */
  if (socket_uid == (guint64) geteuid ())
    {
      *pid = 0;
      *command = NULL;
      return TRUE;
    }

  return FALSE;
}

static gboolean
listen_local (BastionTunnel  *self,
              GError        **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->local_port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) local_error = NULL;

  self->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 128);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, &local_error))
    {
      int pid = 0;
      g_autofree char *command = NULL;

      g_clear_object (&self->service);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          if (bastion_tunnel_find_port_owner (self->local_port, &pid, &command) && pid > 0)
            g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_PORT_BUSY,
                         _("Port %u on 127.0.0.1 is already in use by process %d (%s). Stop "
                           "that process or choose another port (--port)."),
                         self->local_port, pid, command);
          else
            g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_PORT_BUSY,
                         _("Port %u on 127.0.0.1 is already in use by another program. Stop "
                           "it or choose another port (--port)."), self->local_port);
        }
      else
        g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_FAILED,
                     _("Cannot listen on 127.0.0.1:%u: %s"), self->local_port,
                     local_error->message);
      return FALSE;
    }

  self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);

  return TRUE;
}

static gboolean
stats_cb (gpointer data)
{
  BastionTunnel *self = data;

  if (self->bytes_in != self->notified_in || self->bytes_out != self->notified_out)
    {
      self->notified_in = self->bytes_in;
      self->notified_out = self->bytes_out;
      report (self);
    }

  return G_SOURCE_CONTINUE;
}

static void
on_session_stage (BastionSshSession *session,
                  GParamSpec        *pspec,
                  BastionTunnel     *self)
{
  BastionSshStage stage = bastion_ssh_session_get_stage (session);

  /* While reconnecting the tunnel says so, whatever step the session is at. */
  if (self->stage == BASTION_SSH_STAGE_RECONNECTING || self->stopped)
    return;
  if (stage == BASTION_SSH_STAGE_READY || stage == BASTION_SSH_STAGE_FAILED ||
      stage == BASTION_SSH_STAGE_CLOSED)
    return;
  set_stage (self, stage);
}

/* ---- Relay: start and stop, on the I/O thread ----------------------------------------------- */

static void
relay_start (BastionTunnel *self,
             GTask         *task)
{
  GError *error = NULL;

  if (!listen_local (self, &error))
    {
      report_done (self, task, error);
      return;
    }

  self->stopped = FALSE;
  self->start_task = task;
  if (self->stats_id == 0)
    self->stats_id = bastion_source_add_timeout (self->context, 250, stats_cb, self);
  if (self->disconnected_id == 0)
    {
      self->disconnected_id = g_signal_connect_object (self->session, "disconnected",
                                                       G_CALLBACK (on_session_disconnected),
                                                       self, 0);
      g_signal_connect_object (self->session, "notify::stage",
                               G_CALLBACK (on_session_stage), self, 0);
    }
  report (self);
  bastion_ssh_session_connect_async (self->session, BASTION_SSH_CONNECT_NONE,
                                     g_task_get_cancellable (task), on_connected,
                                     g_object_ref (self));
}

static gboolean
relay_start_cb (gpointer data)
{
  GTask *task = data;
  BastionTunnel *self = g_task_get_source_object (task);

  relay_start (self, task);

  return G_SOURCE_REMOVE;
}

static void
relay_stop (BastionTunnel *self)
{
  self->stopped = TRUE;
  bastion_source_clear (self->context, &self->reconnect_id);
  bastion_source_clear (self->context, &self->retry_id);
  bastion_source_clear (self->context, &self->idle_id);
  bastion_source_clear (self->context, &self->stats_id);

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  /* The session's teardown frees the channels. */
  self->opening = NULL;
  set_owner (self, NULL, OP_NONE);
  while (self->clients.head != NULL)
    {
      Client *c = self->clients.head->data;
      c->channel = NULL;
      remove_client (self, c);
    }

  if (self->session != NULL)
    {
      /* Nothing of the session calls the tunnel from here on, so the owner may drop it. */
      if (self->disconnected_id != 0)
        g_signal_handlers_disconnect_by_data (self->session, self);
      self->disconnected_id = 0;
      bastion_ssh_session_set_io_func (self->session, NULL, NULL);
      bastion_ssh_session_disconnect (self->session);
    }

  if (self->start_task != NULL)
    report_done (self, g_steal_pointer (&self->start_task),
                 g_error_new_literal (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_STOPPED,
                                      _("The tunnel was stopped")));

  self->stage = BASTION_SSH_STAGE_CLOSED;
}

typedef struct
{
  BastionTunnel *self;
  State          state;
} StopCall;

static gboolean
relay_stop_cb (gpointer data)
{
  StopCall *call = data;

  relay_stop (call->self);
  call->state = snapshot (call->self);

  return G_SOURCE_REMOVE;
}

/* ---- Public API: the owner's thread ---------------------------------------------------------- */

void
bastion_tunnel_start_async (BastionTunnel       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_TUNNEL (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_tunnel_start_async);

  if (self->running)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The tunnel is already started"));
      return;
    }

  /* The task (and through it the tunnel) is held until the relay reports it done; the report
   * returns it here, on the owner's thread. */
  self->running = TRUE;
  bastion_io_thread_invoke (relay_start_cb, g_steal_pointer (&task), NULL);
}

gboolean
bastion_tunnel_start_finish (BastionTunnel  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Synchronous: when it returns, the I/O thread has closed the listener, every client and the
 * session, and holds no pointer into the tunnel but the reports already on their way. It waits
 * at most for one pass of the relay (which never blocks), never for the network. */
void
bastion_tunnel_stop (BastionTunnel *self)
{
  StopCall call = { self };

  g_return_if_fail (BASTION_IS_TUNNEL (self));

  self->running = FALSE;
  bastion_io_thread_invoke_sync (relay_stop_cb, &call);
  apply_state (self, &call.state);
  state_clear (&call.state);
}

/* ---- Accessors ----------------------------------------------------------------------------- */

BastionSshSession *
bastion_tunnel_get_session (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return self->session;
}

BastionSshStage
bastion_tunnel_get_stage (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), BASTION_SSH_STAGE_CLOSED);
  return self->pub.stage;
}

const char *
bastion_tunnel_get_local_address (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return "127.0.0.1";
}

guint16
bastion_tunnel_get_local_port (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.local_port;
}

guint64
bastion_tunnel_get_bytes_in (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.bytes_in;
}

guint64
bastion_tunnel_get_bytes_out (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.bytes_out;
}

guint
bastion_tunnel_get_n_channels (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.n_channels;
}

guint
bastion_tunnel_get_n_clients (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.n_clients;
}

const GError *
bastion_tunnel_get_error (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return self->pub.error;
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_tunnel_dispose (GObject *object)
{
  BastionTunnel *self = (BastionTunnel *)object;

  bastion_tunnel_stop (self);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (bastion_tunnel_parent_class)->dispose (object);
}

static void
bastion_tunnel_finalize (GObject *object)
{
  BastionTunnel *self = (BastionTunnel *)object;

  g_clear_pointer (&self->db_host, g_free);
  g_clear_error (&self->error);
  state_clear (&self->pub);
  g_main_context_unref (self->owner_context);

  G_OBJECT_CLASS (bastion_tunnel_parent_class)->finalize (object);
}

static void
bastion_tunnel_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  BastionTunnel *self = BASTION_TUNNEL (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_DB_HOST:
      g_value_set_string (value, self->db_host);
      break;
    case PROP_DB_PORT:
      g_value_set_uint (value, self->db_port);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_string (value, "127.0.0.1");
      break;
    case PROP_LOCAL_PORT:
      g_value_set_uint (value, self->pub.local_port);
      break;
    case PROP_STAGE:
      g_value_set_enum (value, self->pub.stage);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, self->pub.bytes_in);
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, self->pub.bytes_out);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->pub.n_channels);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_tunnel_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  BastionTunnel *self = BASTION_TUNNEL (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    case PROP_DB_HOST:
      self->db_host = g_value_dup_string (value);
      break;
    case PROP_DB_PORT:
      self->db_port = g_value_get_uint (value);
      break;
    case PROP_LOCAL_PORT:
      self->local_port = self->pub.local_port = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_tunnel_class_init (BastionTunnelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = bastion_tunnel_dispose;
  object_class->finalize = bastion_tunnel_finalize;
  object_class->get_property = bastion_tunnel_get_property;
  object_class->set_property = bastion_tunnel_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, BASTION_TYPE_SSH_SESSION, co);
  properties[PROP_DB_HOST] = g_param_spec_string ("db-host", NULL, NULL, NULL, co);
  properties[PROP_DB_PORT] = g_param_spec_uint ("db-port", NULL, NULL, 1, 65535, 5432, co);
  properties[PROP_LOCAL_ADDRESS] = g_param_spec_string ("local-address", NULL, NULL, NULL, ro);
  properties[PROP_LOCAL_PORT] =
    g_param_spec_uint ("local-port", NULL, NULL, 0, 65535, 0,
                       co | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STAGE] =
    g_param_spec_enum ("stage", NULL, NULL, BASTION_TYPE_SSH_STAGE, BASTION_SSH_STAGE_CLOSED, ro);
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_BYTES_OUT] =
    g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_tunnel_init (BastionTunnel *self)
{
  self->stage = self->pub.stage = BASTION_SSH_STAGE_CLOSED;
  self->owner_context = g_main_context_ref_thread_default ();
  self->context = bastion_io_thread_get_context ();
  g_queue_init (&self->clients);
  g_queue_init (&self->queue);
}

BastionTunnel *
bastion_tunnel_new (BastionSshSession *session,
                    const char        *db_host,
                    guint16            db_port,
                    guint16            local_port)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (session), NULL);
  g_return_val_if_fail (db_host != NULL, NULL);

  return g_object_new (BASTION_TYPE_TUNNEL,
                       "session", session,
                       "db-host", db_host,
                       "db-port", (guint)db_port,
                       "local-port", (guint)local_port,
                       NULL);
}
