/* bastion-tunnel-relay.c: the tunnel's I/O thread side
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The listener, one Client per accepted connection, the relay between clients and their SSH
 * channels, and the session's reconnection. Everything here runs on the I/O thread
 * (bastion-io-thread.c) and touches only the "Relay" fields of BastionTunnel; what the owner
 * must know leaves through bastion_tunnel_report().
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <glib/gi18n.h>

#include "bastion-io-thread.h"
#include "bastion-tunnel-private.h"

/* Client reads fill up to UP_MAX; libssh2 then sends full 32 KiB packets. Channel reads need at
 * least READ_MIN of room. Both buffers bound the memory a slow side can make us hold. */
#define UP_MAX      (256 * 1024)
#define DOWN_MAX    (256 * 1024)
#define READ_MIN    (32 * 1024)
#define BACKOFF_MAX 30
#define MAX_PASSES  64

typedef enum
{
  STEP_IDLE,
  STEP_PROGRESS,
  STEP_STOP,
} Step;

static void service (BastionTunnel *self);
static void schedule_retry (BastionTunnel *self);
static void update_client_watch (Client *c);

/* ---- Relay state -------------------------------------------------------------------------- */

static void
set_stage (BastionTunnel   *self,
           BastionSshStage  stage)
{
  if (self->stage == stage)
    return;

  self->stage = stage;
  bastion_tunnel_report (self);
}

static void
set_n_channels (BastionTunnel *self,
                guint          n)
{
  if (self->n_channels == n)
    return;

  self->n_channels = n;
  bastion_tunnel_report (self);
}

/* Channels may be used (the session is ready and not found dead). */
static gboolean
alive (BastionTunnel *self)
{
  return self->session != NULL && bastion_ssh_session_is_alive (self->session);
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
  bastion_tunnel_report (self);
}

static void
set_channel_error (BastionTunnel *self,
                   const GError  *error)
{
  g_mutex_lock (&self->channel_lock);
  g_clear_error (&self->channel_error);
  if (error != NULL)
    self->channel_error = g_error_copy (error);
  g_mutex_unlock (&self->channel_lock);
}

/* The bastion refused a direct-tcpip channel (RFC 4254 5.1): its reason, and the fix. */
static GError *
channel_refused_error_new (BastionTunnel *self)
{
  const char *ssh_host = bastion_ssh_session_get_host (self->session);
  g_autofree char *msg = bastion_ssh_session_dup_last_error (self->session);

  switch (bastion_ssh_channel_open_failure_reason (self->session))
    {
    case 1:
      return g_error_new (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
                          _("The bastion %s refused to forward to the database %s:%u "
                            "(administratively prohibited): its sshd has AllowTcpForwarding no, "
                            "or a PermitOpen rule that leaves this database out; ask its "
                            "administrator to allow forwarding to %s:%u"),
                          ssh_host, self->db_host, self->db_port, self->db_host, self->db_port);
    case 2:
      return g_error_new (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
                          _("The bastion %s cannot reach the database %s:%u (connect failed): "
                            "check the database’s host and port in the team, that the database "
                            "runs, and that its security group admits the bastion"),
                          ssh_host, self->db_host, self->db_port);
    case 3:
      return g_error_new (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
                          _("The bastion %s does not offer TCP forwarding (unknown channel type "
                            "direct-tcpip); ask its administrator for an OpenSSH server that "
                            "allows forwarding to %s:%u"),
                          ssh_host, self->db_host, self->db_port);
    case 4:
      return g_error_new (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
                          _("The bastion %s refused a channel to the database %s:%u for lack of "
                            "resources (resource shortage, e.g. its MaxSessions): close other "
                            "connections through it or try again later"),
                          ssh_host, self->db_host, self->db_port);
    default:
      return g_error_new (BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_CHANNEL_REFUSED,
                          _("The bastion %s refused to open a channel to the database %s:%u "
                            "(%s); ask its administrator to allow forwarding there"),
                          ssh_host, self->db_host, self->db_port, msg);
    }
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

  if (c->channel != NULL && alive (self))
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
fail_io (BastionTunnel *self,
         Client        *c,
         BastionSshIo   io,
         const char    *what)
{
  g_autofree char *msg = NULL;
  g_autofree char *reason = NULL;

  if (io == BASTION_SSH_IO_DEAD || !alive (self))
    return STEP_STOP;

  msg = bastion_ssh_session_dup_last_error (self->session);
  reason = g_strdup_printf ("%s: %s (%d)", what, msg, (int)io);
  abort_client (self, c, reason);

  return STEP_PROGRESS;
}

static Step
pump_open (BastionTunnel *self)
{
  Client *c;
  BastionSshIo io;

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
  io = bastion_ssh_channel_open_direct (self->session, self->db_host, self->db_port,
                                        c->peer_port, &c->channel);
  if (io == BASTION_SSH_IO_OK)
    {
      self->opening = NULL;
      set_channel_error (self, NULL);
      if (self->owner == c)
        set_owner (self, NULL, OP_NONE);
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

  if (io == BASTION_SSH_IO_BLOCKED)
    {
      set_owner (self, c, OP_OPEN);
      return STEP_STOP;
    }
  if (self->owner == c)
    set_owner (self, NULL, OP_NONE);
  if (io == BASTION_SSH_IO_AGAIN)
    return STEP_IDLE;

  self->opening = NULL;
  if (io == BASTION_SSH_IO_DENIED)
    {
      g_autoptr(GError) refused = channel_refused_error_new (self);

      /* Known before the client sees its connection closed. */
      set_channel_error (self, refused);
      abort_client (self, c, refused->message);
      return STEP_PROGRESS;
    }

  return fail_io (self, c, io, "opening the channel");
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
      !bastion_ssh_channel_has_data (c->channel))
    {
      if (bastion_ssh_channel_is_eof (c->channel))
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

      n = bastion_ssh_channel_read (c->channel, c->down + c->down_off + c->down_len, space);
      /* A read decrypts a bounded number of packets (libssh2 patch 0004): only one that found
       * nothing more has drained the socket. */
      if (n == 0 || n == BASTION_SSH_IO_AGAIN || n == BASTION_SSH_IO_BLOCKED)
        self->drained = TRUE;
      if (n > 0)
        {
          c->down_len += n;
          *progress = TRUE;
          if (!flush_down (self, c))
            return STEP_PROGRESS;
          continue;
        }
      if (n == BASTION_SSH_IO_BLOCKED)
        {
          set_owner (self, c, OP_READ);
          return STEP_STOP;
        }
      if (n == BASTION_SSH_IO_AGAIN || n == 0)
        {
          if (bastion_ssh_channel_is_eof (c->channel))
            {
              c->channel_eof = TRUE;
              *progress = TRUE;
            }
          break;
        }
      return fail_io (self, c, n, "reading from the channel");
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
      n = bastion_ssh_channel_write (c->channel, c->up + c->up_off, c->up_len);
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
      if (n == BASTION_SSH_IO_BLOCKED)
        {
          set_owner (self, c, OP_WRITE);
          return STEP_STOP;
        }
      if (n == BASTION_SSH_IO_AGAIN)
        break;
      if (n == BASTION_SSH_IO_CLOSED)
        {
          c->remote_gone = TRUE;
          c->up_len = 0;
          *progress = TRUE;
          break;
        }
      return fail_io (self, c, n, "writing to the channel");
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

  n = bastion_ssh_channel_send_eof (c->channel);
  if (n == BASTION_SSH_IO_OK || n == BASTION_SSH_IO_CLOSED)
    {
      c->eof_sent = TRUE;
      *progress = TRUE;
      return STEP_IDLE;
    }
  if (n == BASTION_SSH_IO_BLOCKED)
    {
      set_owner (self, c, OP_EOF);
      return STEP_STOP;
    }
  if (n == BASTION_SSH_IO_AGAIN)
    return STEP_IDLE;

  return fail_io (self, c, n, "sending EOF on the channel");
}

static Step
do_close (BastionTunnel *self,
          Client        *c,
          gboolean      *progress)
{
  int n;

  n = bastion_ssh_channel_close (c->channel);
  if (n == BASTION_SSH_IO_BLOCKED)
    {
      set_owner (self, c, OP_CLOSE);
      return STEP_STOP;
    }
  if (n == BASTION_SSH_IO_AGAIN)
    return STEP_IDLE;
  if (n == BASTION_SSH_IO_DEAD)
    return STEP_STOP;

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
  if (rc == BASTION_SSH_IO_BLOCKED)
    {
      set_owner (self, c, op);
      return STEP_STOP;
    }
  if (rc == BASTION_SSH_IO_DEAD)
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
        step = finish_pending (self, c, op, bastion_ssh_channel_read (c->channel, c->down,
                                                                      DOWN_MAX));
      break;
    case OP_WRITE:
      if (c->state == CLIENT_OPEN)
        step = do_write (self, c, &progress);
      else
        /* The packet is already encrypted in libssh2's buffer: only its completion matters. */
        step = finish_pending (self, c, op, bastion_ssh_channel_write (c->channel, c->up, 1));
      break;
    case OP_EOF:
      if (c->state == CLIENT_OPEN)
        step = do_eof (self, c, &progress, TRUE);
      else
        step = finish_pending (self, c, op, bastion_ssh_channel_send_eof (c->channel));
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

  if (!alive (self))
    return FALSE;

  self->drained = FALSE;
  if (self->owner != NULL)
    {
      step = pump_owner (self);
      if (step == STEP_STOP || !alive (self))
        return FALSE;
      progress = TRUE;
    }

  step = pump_open (self);
  if (step == STEP_STOP || !alive (self))
    return FALSE;
  progress |= step == STEP_PROGRESS;

  for (GList *l = self->clients.head; l != NULL;)
    {
      Client *c = l->data;

      l = l->next;
      if (c->state != CLIENT_OPEN && c->state != CLIENT_CLOSING)
        continue;
      step = pump_client (self, c);
      if (step == STEP_STOP || !alive (self))
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
  while ((service_once (self) || self->service_again) && alive (self));
  self->in_service = FALSE;
  if (alive (self))
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
          bastion_tunnel_report_done (self, g_steal_pointer (&self->start_task),
                                      g_steal_pointer (&error));
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
    bastion_tunnel_report_done (self, g_steal_pointer (&self->start_task), NULL);

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
  bastion_tunnel_unref_on_owner (self);
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

/* ---- Accepted connections ----------------------------------------------------------------- */

/* The SSH transport's carry: a connection the listener accepted from the user's own uid
 * (bastion-tunnel-listen.c) waits in the queue for its direct-tcpip channel. */
void
bastion_tunnel_relay_accept (BastionTunnel     *self,
                             GSocketConnection *connection)
{
  g_autoptr(GSocketAddress) remote = NULL;
  Client *c;
  int one = 1;

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
}

static void
ssh_stats (BastionTunnel *self)
{
  gint64 rtt = 0;
  guint64 window = 0;

  if (self->session != NULL)
    bastion_ssh_session_get_link (self->session, &rtt, &window);
  if (rtt != 0)
    self->rtt = rtt;    /* else the last measured, while no channel is open */
  self->window = window;
}

static gboolean
stats_cb (gpointer data)
{
  BastionTunnel *self = data;
  gint64 rtt = self->rtt;
  guint64 window = self->window;
  guint n_carried = self->n_carried;

  self->transport->stats (self);
  if (self->bytes_in != self->notified_in || self->bytes_out != self->notified_out ||
      rtt != self->rtt || window != self->window || n_carried != self->n_carried)
    {
      self->notified_in = self->bytes_in;
      self->notified_out = self->bytes_out;
      bastion_tunnel_report (self);
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

void
bastion_tunnel_relay_start (BastionTunnel *self,
                            GTask         *task)
{
  GError *error = NULL;

  if (!bastion_tunnel_listen (self, &error))
    {
      bastion_tunnel_report_done (self, task, error);
      return;
    }

  self->stopped = FALSE;
  set_channel_error (self, NULL);
  self->start_task = task;
  if (self->stats_id == 0)
    self->stats_id = bastion_source_add_timeout (self->context, 250, stats_cb, self);
  bastion_tunnel_report (self);
  self->transport->start (self, g_task_get_cancellable (task));
}

static void
ssh_start (BastionTunnel *self,
           GCancellable  *cancellable)
{
  if (self->disconnected_id == 0)
    {
      self->disconnected_id = g_signal_connect_object (self->session, "disconnected",
                                                       G_CALLBACK (on_session_disconnected),
                                                       self, 0);
      g_signal_connect_object (self->session, "notify::stage",
                               G_CALLBACK (on_session_stage), self, 0);
    }
  bastion_ssh_session_connect_async (self->session, BASTION_SSH_CONNECT_NONE, cancellable,
                                     on_connected, g_object_ref (self));
}

void
bastion_tunnel_relay_stop (BastionTunnel *self)
{
  self->stopped = TRUE;
  bastion_source_clear (self->context, &self->reconnect_id);
  bastion_source_clear (self->context, &self->retry_id);
  bastion_source_clear (self->context, &self->idle_id);
  bastion_source_clear (self->context, &self->stats_id);

  if (self->service != NULL)
    {
      /* Disconnected here, not by the tunnel's finalize on the owner's thread: a cancelled
       * accept may keep the service alive, to be finalized later on this thread. */
      g_signal_handlers_disconnect_by_data (self->service, self);
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  self->transport->stop (self);

  if (self->start_task != NULL)
    bastion_tunnel_report_done (self, g_steal_pointer (&self->start_task),
                                g_error_new_literal (BASTION_TUNNEL_ERROR,
                                                     BASTION_TUNNEL_ERROR_STOPPED,
                                                     _("The tunnel was stopped")));

  self->stage = BASTION_SSH_STAGE_CLOSED;
}

static void
ssh_stop (BastionTunnel *self)
{
  /* The session's teardown frees the channels. */
  self->opening = NULL;
  set_owner (self, NULL, OP_NONE);
  while (self->clients.head != NULL)
    {
      Client *c = self->clients.head->data;
      c->channel = NULL;
      remove_client (self, c);
    }

  /* Nothing of the session calls the tunnel from here on, so the owner may drop it. A tunnel
   * that never got as far as the session (its port was busy) leaves it alone: it may be
   * another tunnel's. */
  if (self->disconnected_id != 0)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      self->disconnected_id = 0;
      bastion_ssh_session_set_io_func (self->session, NULL, NULL);
      bastion_ssh_session_disconnect (self->session);
    }
}

const BastionTunnelTransport bastion_tunnel_ssh_transport = {
  .kind  = BASTION_TRANSPORT_SSH,
  .start = ssh_start,
  .stop  = ssh_stop,
  .carry = bastion_tunnel_relay_accept,
  .stats = ssh_stats,
};
