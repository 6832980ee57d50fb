/* bastion-ssh-bridge.c: one direct-tcpip channel of a session, carried to a socket pair
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A ProxyJump hop's session opens one channel to the next hop's SSH port; the next hop's
 * session reads and writes the other end of a socket pair as if it were a TCP socket. The
 * bridge is the only user of its session's channels, so the single send slot of libssh2
 * (../shared/LIBSSH2-NOTES.md) has one owner: a call that left a packet half-sent is retried
 * first, and nothing else is called until it completed. Both buffers are bounded; a side that
 * does not take data stops the other from being read (the channel's window then stops the
 * far sshd).
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "bastion-fd-watch.h"
#include "bastion-io-thread.h"
#include "bastion-ssh-bridge.h"

#define BUF_MAX     (256 * 1024)
#define READ_MIN    (32 * 1024)
#define MAX_PASSES  64

typedef enum
{
  OP_NONE,
  OP_OPEN,
  OP_READ,
  OP_WRITE,
  OP_EOF,
} OpKind;

typedef enum
{
  STEP_IDLE,
  STEP_PROGRESS,
  STEP_STOP,
} Step;

struct _BastionSshBridge
{
  /* Owned */
  BastionSshSession    *session;
  char                 *host;
  BastionFdWatch       *watch;
  guint8               *up;       /* socket pair → channel */
  guint8               *down;     /* channel → socket pair */

  GMainContext         *context;
  BastionSshBridgeFunc  func;
  gpointer              user_data;
  BastionSshChannel    *channel;  /* the session's; freed with it */
  int                   fd;       /* our end of the pair, -1 once closed */
  guint16               port;
  OpKind                pending;  /* the call that holds the session's half-sent packet */
  BastionSshIo          result;   /* how the open ended, for the deferred callback */
  GSocketConnection    *result_connection;
  guint                 timeout_id;
  guint                 result_id;
  guint                 retry_id;
  guint                 continue_id;
  gsize                 up_off;
  gsize                 up_len;
  gsize                 down_off;
  gsize                 down_len;

  guint                 opening : 1;
  guint                 open : 1;
  guint                 fd_eof : 1;       /* the pair's far end sent EOF */
  guint                 eof_sent : 1;     /* … and it went on as the channel's EOF */
  guint                 channel_eof : 1;
  guint                 fd_shut : 1;      /* … and it went on as the pair's EOF */
  guint                 remote_gone : 1;  /* the channel takes no more data */
  guint                 done : 1;         /* nothing more will be relayed */
  guint                 in_pump : 1;
  guint                 pump_again : 1;
};

static void pump (BastionSshBridge *self);

/* ---- Ending ------------------------------------------------------------------------------- */

/* Nothing more goes either way: our end closes, so the session above sees EOF (or a reset). */
static void
finish (BastionSshBridge *self)
{
  if (self->done)
    return;

  self->done = TRUE;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  bastion_source_clear (self->context, &self->retry_id);
  bastion_source_clear (self->context, &self->continue_id);
  if (self->pending != OP_NONE && bastion_ssh_session_is_alive (self->session))
    bastion_ssh_session_set_send_busy (self->session, FALSE);
  self->pending = OP_NONE;
  /* The channel stays until the session goes (the chain drops it): nothing reads it now. */
  bastion_ssh_session_set_io_func (self->session, NULL, NULL);
  if (bastion_ssh_session_is_alive (self->session))
    bastion_ssh_session_set_idle (self->session, TRUE);
}

static gboolean
result_cb (gpointer data)
{
  BastionSshBridge *self = data;
  GSocketConnection *connection = g_steal_pointer (&self->result_connection);

  self->result_id = 0;
  /* The callee may free the bridge. */
  self->func (self, self->result, connection, self->user_data);

  return G_SOURCE_REMOVE;
}

/* The open's outcome reaches the caller from an idle: never from inside a pump. */
static void
report_open (BastionSshBridge  *self,
             BastionSshIo       io,
             GSocketConnection *connection)
{
  self->opening = FALSE;
  self->result = io;
  self->result_connection = connection;
  bastion_source_clear (self->context, &self->timeout_id);
  if (io != BASTION_SSH_IO_OK)
    finish (self);
  self->result_id = bastion_source_add_idle (self->context, G_PRIORITY_DEFAULT, result_cb, self,
                                             NULL);
}

static gboolean
open_timeout_cb (gpointer data)
{
  BastionSshBridge *self = data;

  self->timeout_id = 0;
  if (self->opening)
    report_open (self, BASTION_SSH_IO_AGAIN, NULL);

  return G_SOURCE_REMOVE;
}

/* ---- The socket pair ------------------------------------------------------------------------ */

static void
on_fd_event (int          fd,
             GIOCondition revents,
             gpointer     user_data)
{
  pump (user_data);
}

static GSocketConnection *
make_pair (BastionSshBridge *self)
{
  g_autoptr(GSocket) socket = NULL;
  int fds[2];
  int size = BUF_MAX;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return NULL;
  for (guint i = 0; i < 2; i++)
    {
      setsockopt (fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
      setsockopt (fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  socket = g_socket_new_from_fd (fds[1], NULL);
  if (socket == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      return NULL;
    }
  self->fd = fds[0];
  self->watch = bastion_fd_watch_new (self->fd, G_IO_IN, on_fd_event, self);

  return g_socket_connection_factory_create_connection (socket);
}

static void
update_watch (BastionSshBridge *self)
{
  GIOCondition cond = 0;

  if (self->watch == NULL)
    return;
  if (!self->fd_eof && BUF_MAX - self->up_len >= READ_MIN)
    cond |= G_IO_IN;
  if (self->down_len > 0)
    cond |= G_IO_OUT;
  bastion_fd_watch_set_condition (self->watch, cond);
}

/* Channel data to our end of the pair, as far as it takes it. FALSE: the pair is broken. */
static gboolean
flush_down (BastionSshBridge *self)
{
  while (self->down_len > 0)
    {
      ssize_t n = send (self->fd, self->down + self->down_off, self->down_len,
                        MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n > 0)
        {
          self->down_off += n;
          self->down_len -= n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      return FALSE;
    }
  if (self->down_len == 0)
    self->down_off = 0;

  return TRUE;
}

/* Our end of the pair into the up buffer. FALSE: the pair is broken. */
static gboolean
fill_up (BastionSshBridge *self,
         gboolean         *progress)
{
  gsize space;
  ssize_t n;

  if (self->fd_eof)
    return TRUE;
  if (self->up_len == 0)
    self->up_off = 0;
  else if (self->up_off > 0 && BUF_MAX - self->up_off - self->up_len < READ_MIN)
    {
      memmove (self->up, self->up + self->up_off, self->up_len);
      self->up_off = 0;
    }
  space = BUF_MAX - self->up_off - self->up_len;
  if (space < READ_MIN)
    return TRUE;

  n = recv (self->fd, self->up + self->up_off + self->up_len, space, MSG_DONTWAIT);
  if (n > 0)
    {
      self->up_len += n;
      *progress = TRUE;
    }
  else if (n == 0)
    {
      self->fd_eof = TRUE;
      *progress = TRUE;
    }
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    return FALSE;

  return TRUE;
}

/* ---- The channel ---------------------------------------------------------------------------- */

static Step
block (BastionSshBridge *self,
       OpKind            op)
{
  self->pending = op;
  bastion_ssh_session_set_send_busy (self->session, TRUE);

  return STEP_STOP;
}

/* A call failed: DEAD (the session is gone: its "disconnected" follows) or this channel. */
static Step
fail (BastionSshBridge *self,
      BastionSshIo      io,
      const char       *what)
{
  g_autofree char *msg = bastion_ssh_session_dup_last_error (self->session);

  g_debug ("SSH jump %s:%u: %s the channel to %s:%u failed: %s (%d)",
           bastion_ssh_session_get_host (self->session),
           bastion_ssh_session_get_port (self->session), what, self->host, self->port, msg,
           (int) io);
  finish (self);

  return STEP_STOP;
}

static Step
step_open (BastionSshBridge *self)
{
  BastionSshIo io = bastion_ssh_channel_open_direct (self->session, self->host, self->port, 0,
                                                     &self->channel);
  GSocketConnection *connection;

  switch (io)
    {
    case BASTION_SSH_IO_OK:
      connection = make_pair (self);
      if (connection == NULL)
        {
          report_open (self, BASTION_SSH_IO_FAILED, NULL);
          return STEP_STOP;
        }
      self->open = TRUE;
      self->up = g_malloc (BUF_MAX);
      self->down = g_malloc (BUF_MAX);
      report_open (self, BASTION_SSH_IO_OK, connection);
      return STEP_PROGRESS;

    case BASTION_SSH_IO_BLOCKED:
      return block (self, OP_OPEN);

    case BASTION_SSH_IO_AGAIN:
      return STEP_IDLE;

    case BASTION_SSH_IO_CLOSED:
    case BASTION_SSH_IO_DENIED:
    case BASTION_SSH_IO_DEAD:
    case BASTION_SSH_IO_FAILED:
    default:
      report_open (self, io, NULL);
      return STEP_STOP;
    }
}

/* Channel → pair. Always drain what libssh2 holds: no socket event announces data that another
 * call already pulled in. */
static Step
step_read (BastionSshBridge *self,
           gboolean         *progress)
{
  while (!self->channel_eof)
    {
      gsize space;
      gssize n;

      if (self->down_len == 0)
        self->down_off = 0;
      else if (BUF_MAX - self->down_off - self->down_len < READ_MIN)
        {
          memmove (self->down, self->down + self->down_off, self->down_len);
          self->down_off = 0;
        }
      space = BUF_MAX - self->down_off - self->down_len;
      if (space < READ_MIN)
        break;

      n = bastion_ssh_channel_read (self->channel, self->down + self->down_off + self->down_len,
                                    space);
      if (n > 0)
        {
          self->down_len += n;
          *progress = TRUE;
          if (!flush_down (self))
            return fail (self, BASTION_SSH_IO_FAILED, "relaying");
          continue;
        }
      if (n == BASTION_SSH_IO_BLOCKED)
        return block (self, OP_READ);
      if (n == 0 || n == BASTION_SSH_IO_AGAIN || n == BASTION_SSH_IO_CLOSED)
        {
          if (n == BASTION_SSH_IO_CLOSED || bastion_ssh_channel_is_eof (self->channel))
            {
              self->channel_eof = TRUE;
              *progress = TRUE;
            }
          break;
        }
      return fail (self, n, "reading");
    }

  if (!flush_down (self))
    return fail (self, BASTION_SSH_IO_FAILED, "relaying");
  if (self->channel_eof && self->down_len == 0 && !self->fd_shut)
    {
      shutdown (self->fd, SHUT_WR);
      self->fd_shut = TRUE;
      *progress = TRUE;
    }

  return STEP_IDLE;
}

/* Pair → channel. */
static Step
step_write (BastionSshBridge *self,
            gboolean         *progress)
{
  while (self->up_len > 0 && !self->remote_gone)
    {
      gssize n = bastion_ssh_channel_write (self->channel, self->up + self->up_off, self->up_len);

      if (n > 0)
        {
          self->up_off += n;
          self->up_len -= n;
          *progress = TRUE;
          continue;
        }
      if (n == 0 || n == BASTION_SSH_IO_AGAIN)
        break;      /* the peer's window is full: its adjust wakes the session */
      if (n == BASTION_SSH_IO_BLOCKED)
        return block (self, OP_WRITE);
      if (n == BASTION_SSH_IO_CLOSED)
        {
          self->remote_gone = TRUE;
          self->up_len = 0;
          *progress = TRUE;
          break;
        }
      return fail (self, n, "writing");
    }

  return STEP_IDLE;
}

static gboolean
retry_cb (gpointer data)
{
  BastionSshBridge *self = data;

  self->retry_id = 0;
  pump (self);

  return G_SOURCE_REMOVE;
}

static Step
step_eof (BastionSshBridge *self,
          gboolean         *progress,
          gboolean          retry)
{
  BastionSshIo io;

  if (!self->fd_eof || self->up_len > 0 || self->eof_sent || self->remote_gone)
    return STEP_IDLE;

  /* libssh2 builds the EOF packet on its stack: only when it can leave whole. */
  if (!retry && !bastion_ssh_session_can_send_small (self->session))
    {
      if (self->retry_id == 0)
        self->retry_id = bastion_source_add_timeout (self->context, 5, retry_cb, self);
      return STEP_IDLE;
    }

  io = bastion_ssh_channel_send_eof (self->channel);
  if (io == BASTION_SSH_IO_OK || io == BASTION_SSH_IO_CLOSED)
    {
      self->eof_sent = TRUE;
      *progress = TRUE;
      return STEP_IDLE;
    }
  if (io == BASTION_SSH_IO_BLOCKED)
    return block (self, OP_EOF);
  if (io == BASTION_SSH_IO_AGAIN)
    return STEP_IDLE;

  return fail (self, io, "ending");
}

/* ---- The pump ------------------------------------------------------------------------------- */

static Step
pump_once (BastionSshBridge *self)
{
  gboolean progress = FALSE;
  gboolean retry_eof = FALSE;
  OpKind pending = self->pending;
  Step step;

  /* The call that holds the half-sent packet goes first, with the same arguments. */
  if (pending != OP_NONE)
    {
      self->pending = OP_NONE;
      bastion_ssh_session_set_send_busy (self->session, FALSE);
      retry_eof = pending == OP_EOF;
      progress = TRUE;
    }

  if (self->opening)
    return step_open (self);
  if (!self->open || self->done)
    return STEP_STOP;

  if (pending != OP_WRITE && pending != OP_EOF)
    {
      if ((step = step_read (self, &progress)) == STEP_STOP)
        return step;
    }
  if (!fill_up (self, &progress))
    return fail (self, BASTION_SSH_IO_FAILED, "relaying");
  if ((step = step_write (self, &progress)) == STEP_STOP)
    return step;
  if ((step = step_eof (self, &progress, retry_eof)) == STEP_STOP)
    return step;
  if (pending == OP_WRITE || pending == OP_EOF)
    {
      if ((step = step_read (self, &progress)) == STEP_STOP)
        return step;
    }

  /* Both ways ended: the session above has seen EOF and closes. */
  if (self->channel_eof && self->fd_shut && (self->eof_sent || self->remote_gone))
    {
      finish (self);
      return STEP_STOP;
    }

  return progress ? STEP_PROGRESS : STEP_IDLE;
}

static gboolean
continue_cb (gpointer data)
{
  BastionSshBridge *self = data;

  self->continue_id = 0;
  pump (self);

  return G_SOURCE_REMOVE;
}

static void
pump (BastionSshBridge *self)
{
  guint passes = 0;
  Step step;

  if (self->in_pump)
    {
      self->pump_again = TRUE;
      return;
    }
  if (self->done || !bastion_ssh_session_is_alive (self->session))
    return;

  self->in_pump = TRUE;
  do
    {
      self->pump_again = FALSE;
      /* Under a continuous stream, let the rest of the loop have its turn. */
      if (++passes > MAX_PASSES)
        {
          if (self->continue_id == 0)
            self->continue_id = bastion_source_add_idle (self->context, G_PRIORITY_DEFAULT,
                                                         continue_cb, self, NULL);
          break;
        }
      step = pump_once (self);
    }
  while ((step == STEP_PROGRESS || self->pump_again) && !self->done &&
         bastion_ssh_session_is_alive (self->session));
  self->in_pump = FALSE;

  update_watch (self);
}

static void
on_session_io (BastionSshSession *session,
               gpointer           user_data)
{
  pump (user_data);
}

/* ---- Public -------------------------------------------------------------------------------- */

BastionSshBridge *
bastion_ssh_bridge_new (BastionSshSession    *session,
                        const char           *host,
                        guint16               port,
                        guint                 timeout_s,
                        BastionSshBridgeFunc  func,
                        gpointer              user_data)
{
  BastionSshBridge *self;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (session), NULL);
  g_return_val_if_fail (host != NULL && func != NULL, NULL);

  self = g_new0 (BastionSshBridge, 1);
  self->session = g_object_ref (session);
  self->host = g_strdup (host);
  self->port = port;
  self->func = func;
  self->user_data = user_data;
  self->fd = -1;
  self->opening = TRUE;
  self->context = g_main_context_ref_thread_default ();
  self->timeout_id = bastion_source_add_timeout (self->context, timeout_s * 1000,
                                                 open_timeout_cb, self);
  bastion_ssh_session_set_idle (session, FALSE);
  bastion_ssh_session_set_io_func (session, on_session_io, self);
  pump (self);

  return self;
}

void
bastion_ssh_bridge_drop (BastionSshBridge *self)
{
  g_return_if_fail (self != NULL);

  /* The session freed the channel already: only forget it. */
  self->channel = NULL;
  self->pending = OP_NONE;
  if (self->opening)
    report_open (self, BASTION_SSH_IO_DEAD, NULL);
  else
    finish (self);
}

void
bastion_ssh_bridge_free (BastionSshBridge *self)
{
  if (self == NULL)
    return;

  finish (self);
  bastion_source_clear (self->context, &self->timeout_id);
  bastion_source_clear (self->context, &self->result_id);
  g_clear_object (&self->result_connection);
  g_clear_object (&self->session);
  g_free (self->host);
  g_free (self->up);
  g_free (self->down);
  g_main_context_unref (self->context);
  g_free (self);
}
