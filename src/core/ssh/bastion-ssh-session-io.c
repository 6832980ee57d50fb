/* bastion-ssh-session-io.c
 *
 * The session's socket once connected: libssh2's send and receive callbacks, output batching,
 * the watch, a dead session's "disconnected", keepalives, and the relay's event plumbing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-io-thread.h"
#include "bastion-secure.h"
#include "bastion-ssh-jump.h"
#include "bastion-ssh-session-impl-private.h"

int
_bastion_ssh_raw_fd (BastionSshSession *self)
{
  return g_socket_get_fd (g_socket_connection_get_socket (self->connection));
}

/* Sends what out_buf holds, as far as the socket takes it. FALSE when bytes remain (the socket
 * is full) or the send failed (out_errno). */
static gboolean
flush_out (BastionSshSession *self)
{
  gsize done = 0;

  while (done < self->out_len && self->out_errno == 0)
    {
      ssize_t n = send (_bastion_ssh_raw_fd (self), self->out_buf + done, self->out_len - done,
                        MSG_NOSIGNAL);

      self->out_sends++;
      if (n > 0)
        done += n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      else
        self->out_errno = n < 0 ? errno : EPIPE;
    }
  if (done > 0)
    {
      memmove (self->out_buf, self->out_buf + done, self->out_len - done);
      self->out_len -= done;
    }
  return self->out_len == 0 && self->out_errno == 0;
}

/* Runs before every poll of the loop, after the previous iteration's dispatches: what libssh2
 * queued during them leaves now. */
static gboolean
flush_source_prepare (GSource *source,
                      gint    *timeout)
{
  BastionSshSession *self = ((BastionFlushSource *)source)->self;

  *timeout = -1;
  if (self->out_len > 0 && self->phase == PHASE_READY)
    {
      flush_out (self);
      if (self->out_errno != 0)
        _bastion_ssh_mark_dead (self, g_error_new (BASTION_SSH_ERROR,
                                                   BASTION_SSH_ERROR_DISCONNECTED,
                                                   _("The connection to the bastion %s was lost "
                                                     "(%s)"),
                                                   self->host, g_strerror (self->out_errno)));
      else if (self->out_len > 0)
        _bastion_ssh_update_condition (self);
    }
  return FALSE;
}

static GSourceFuncs flush_source_funcs = { flush_source_prepare, NULL, NULL, NULL, NULL, NULL };

/* Streams (issue #24): once a wake-up brought LOWAT_DEFAULT bytes or more, SO_RCVLOWAT lets the
 * kernel wake us only when as much is queued again, and a timer reads the tail when nothing more
 * comes within LOWAT_TAIL_US. Measured (tools/profile-stream, COPY of 117 MB, three A/B pairs):
 * the sshd serving us went to sleep 2,700-3,600 times per COPY instead of 5,400-6,500 (each of
 * our reads opened its socket's window and woke it), PostgreSQL was preempted 900-1,200 times
 * instead of 3,400-4,200, and the COPY took 0.56-0.65 s instead of 0.65-0.72. Small replies
 * (under LOWAT_DEFAULT per wake-up) never turn it on. */
#define LOWAT_DEFAULT (64 * 1024)
#define LOWAT_TAIL_US 1000

static void lowat_tail (BastionSshSession *self);

/* The stream-tail timer: a deadline read in prepare(), so that moving it on every wake-up costs
 * no system call (g_source_set_ready_time() signals the loop's eventfd each time). */
static gboolean
lowat_source_prepare (GSource *source,
                      gint    *timeout)
{
  gint64 deadline = ((BastionLowatSource *)source)->deadline;
  gint64 now;

  *timeout = -1;
  if (deadline < 0)
    return FALSE;
  now = g_source_get_time (source);
  if (now >= deadline)
    return TRUE;
  *timeout = (gint) ((deadline - now + 999) / 1000);

  return FALSE;
}

static gboolean
lowat_source_check (GSource *source)
{
  gint64 deadline = ((BastionLowatSource *)source)->deadline;

  return deadline >= 0 && g_source_get_time (source) >= deadline;
}

static gboolean
lowat_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     data)
{
  BastionSshSession *self = ((BastionLowatSource *)source)->self;

  ((BastionLowatSource *)source)->deadline = -1;
  if (self->phase == PHASE_READY)
    lowat_tail (self);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs lowat_source_funcs = {
  lowat_source_prepare, lowat_source_check, lowat_source_dispatch, NULL, NULL, NULL
};

static ssize_t
send_cb (libssh2_socket_t   sock,
         const void        *buffer,
         size_t             length,
         int                flags,
         void             **abstract)
{
  BastionSshSession *self = *abstract;
  ssize_t n;

  if (self->out_errno != 0)
    return -self->out_errno;

  self->out_packets++;
  if (self->batch_writes && self->flush_source != NULL && self->phase == PHASE_READY &&
      self->out_len + length <= OUT_BATCH_MAX)
    {
      memcpy (self->out_buf + self->out_len, buffer, length);
      self->out_len += length;
      return length;
    }

  /* Too big to hold, or unbatched (before the session is ready, or while it is torn down):
   * what waits goes first. */
  if (self->out_len > 0 && !flush_out (self))
    return self->out_errno != 0 ? -self->out_errno : -EAGAIN;
  self->out_sends++;
  n = send (sock, buffer, length, flags);
  return n < 0 ? -errno : n;
}

/* Frees libssh2 and the socket without waiting for anything: the caller's channels are gone. */
void
_bastion_ssh_teardown (BastionSshSession *self,
                       gboolean           polite)
{
  bastion_source_clear (self->context, &self->timeout_id);
  bastion_source_clear (self->context, &self->keepalive_id);
  g_clear_pointer (&self->watch, bastion_fd_watch_free);

  /* A thread is in libssh2 with the session: it may not be freed now. Shutting the socket down
   * makes the thread's libssh2 call fail at once (after the KDF, if it runs); the thread's
   * callback frees the session and the socket. */
  if (self->auth_job != NULL)
    {
      self->auth_job->orphaned = TRUE;
      if (self->connection != NULL)
        {
          shutdown (_bastion_ssh_raw_fd (self), SHUT_RDWR);
          self->auth_job->orphan_connection = g_steal_pointer (&self->connection);
        }
      self->auth_job = NULL;
    }

  /* Unbatched from here on; what is queued goes first, or the goodbye is not said. */
  if (self->flush_source != NULL)
    {
      g_source_destroy (self->flush_source);
      g_clear_pointer (&self->flush_source, g_source_unref);
    }
  if (self->lowat_source != NULL)
    {
      g_source_destroy (self->lowat_source);
      g_clear_pointer (&self->lowat_source, g_source_unref);
    }
  if (self->out_len > 0 && self->connection != NULL && self->phase != PHASE_DEAD)
    flush_out (self);
  if (self->out_len > 0)
    polite = FALSE;

  /* Their owners forget them without a call (see bastion_ssh_channel_close()). */
  bastion_ssh_channels_drop (&self->channels);
  if (self->session != NULL)
    {
      if (polite && !self->send_busy && self->phase != PHASE_DEAD)
        libssh2_session_disconnect (self->session, "Bastion disconnects");
      /* A shut-down socket makes every remaining libssh2 write fail at once instead of
       * returning EAGAIN, so freeing never waits for the network. */
      if (self->connection != NULL)
        shutdown (_bastion_ssh_raw_fd (self), SHUT_RDWR);
      libssh2_session_free (self->session);
      self->session = NULL;
    }

  if (self->connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
      g_clear_object (&self->connection);
    }
  if (self->jump != NULL)
    bastion_ssh_jump_close (self->jump);

  self->send_busy = FALSE;
  self->out_len = 0;
  self->out_errno = 0;
}

void
_bastion_ssh_drop_user_cancellable (BastionSshSession *self)
{
  if (self->user_cancellable != NULL)
    {
      g_cancellable_disconnect (self->user_cancellable, self->cancel_id);
      self->cancel_id = 0;
      g_clear_object (&self->user_cancellable);
    }
}

static GError *
login_overflow_error_new (BastionSshSession *self)
{
  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                      _("The SSH handshake with %s:%u failed: the server sent more than %u KiB "
                        "without completing the SSH greeting, key exchange and login (endless "
                        "text or packets), so Bastion stopped reading. Check that port %u is the "
                        "bastion’s SSH port"),
                      self->host, self->port, LOGIN_BYTES_MAX / 1024, self->port);
}

void
_bastion_ssh_fail_task (BastionSshSession *self,
                        GError            *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  _bastion_ssh_drop_user_cancellable (self);

  if (self->login_overflow)
    {
      g_error_free (error);
      error = login_overflow_error_new (self);
    }
  g_debug ("SSH %s:%u: %s", self->host, self->port, error->message);
  _bastion_ssh_teardown (self, FALSE);
  self->phase = PHASE_IDLE;
  bastion_secure_clear_str (&self->passphrase);
  bastion_secure_clear_str (&self->password);
  _bastion_ssh_wipe_key_data (self);
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_FAILED);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

void
_bastion_ssh_complete_task (BastionSshSession *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  _bastion_ssh_drop_user_cancellable (self);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

char *
_bastion_ssh_last_error (BastionSshSession *self)
{
  char *msg = NULL;

  if (self->session != NULL)
    libssh2_session_last_error (self->session, &msg, NULL, 0);

  return g_strdup (msg != NULL ? msg : "");
}

void
_bastion_ssh_update_condition (BastionSshSession *self)
{
  GIOCondition cond = G_IO_IN;
  int dirs;

  if (self->watch == NULL || self->session == NULL)
    return;

  dirs = libssh2_session_block_directions (self->session);
  if (self->phase == PHASE_READY && (self->idle_paused || self->input_paused))
    cond = 0;
  if ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) || self->send_busy || self->out_len > 0)
    cond |= G_IO_OUT;
  if (self->phase != PHASE_READY && !(dirs & LIBSSH2_SESSION_BLOCK_INBOUND) &&
      (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND))
    cond = G_IO_OUT;

  bastion_fd_watch_set_condition (self->watch, cond);
}

static gboolean
emit_disconnected_cb (gpointer data)
{
  BastionSshSession *self = data;
  g_autoptr(GError) error = NULL;

  self->dead_idle_id = 0;
  error = g_steal_pointer (&self->dead_error);
  _bastion_ssh_teardown (self, FALSE);
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_FAILED);
  _bastion_ssh_emit_disconnected (self, error);

  return G_SOURCE_REMOVE;
}

void
_bastion_ssh_mark_dead (BastionSshSession *self,
                        GError            *error)
{
  if (self->phase == PHASE_DEAD || self->phase != PHASE_READY)
    {
      g_error_free (error);
      return;
    }

  g_debug ("SSH %s:%u: session lost: %s", self->host, self->port, error->message);
  self->phase = PHASE_DEAD;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  bastion_source_clear (self->context, &self->keepalive_id);
  self->dead_error = error;
  self->dead_idle_id = bastion_source_add_idle (self->context, G_PRIORITY_HIGH,
                                                emit_disconnected_cb, g_object_ref (self),
                                                g_object_unref);
}

gboolean
bastion_ssh_session_check_rc (BastionSshSession *self,
                              int                rc)
{
  g_autofree char *msg = NULL;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  if (self->phase != PHASE_READY)
    return FALSE;

  switch (rc)
    {
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_USE:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_ALLOC:
    case LIBSSH2_ERROR_OUT_OF_BOUNDARY:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
      msg = _bastion_ssh_last_error (self);
      _bastion_ssh_mark_dead (self, g_error_new (BASTION_SSH_ERROR,
                                                 BASTION_SSH_ERROR_DISCONNECTED,
                                                 _("The connection to the bastion %s was lost "
                                                   "(%s)"),
                                                 self->host, msg));
      return FALSE;

    default:
      return TRUE;
    }
}

gboolean
bastion_ssh_session_is_alive (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  return self->phase == PHASE_READY;
}

static void
lowat_set (BastionSshSession *self,
           int                fd,
           gboolean           on)
{
  int v = on ? (int) self->lowat : 1;

  if ((gboolean) self->lowat_on == on)
    return;
  self->lowat_on = on;
  self->lowat_streams += on;
  (void) setsockopt (fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
}

/* After a wake-up: one that brought self->lowat bytes or more means a stream is arriving, so
 * the kernel need not wake us again before as much is queued (fewer wake-ups, which on a busy
 * machine preempt the processes that produce and consume the stream). */
static void
lowat_update (BastionSshSession *self,
              int                fd)
{
  if (self->lowat == 0 || self->lowat_source == NULL || self->phase != PHASE_READY)
    return;
  lowat_set (self, fd, self->wake_bytes >= self->lowat);
  ((BastionLowatSource *)self->lowat_source)->deadline =
    self->lowat_on ? g_get_monotonic_time () + LOWAT_TAIL_US : -1;
}

/* OpenSSH's sshd leaves Nagle on for a forwarding session, and on loopback (a 64 KiB MSS) or
 * at the end of any reply its last, short segment waits until what it sent before is
 * acknowledged; a receiver that also sends (window adjusts, queries) delays its ACKs by up to
 * 40 ms. Measured (tools/bench-replies): 70 kB query results at 23 per second through `ssh -L`
 * and through Bastion before this, 1,674 with it (2,559 without a tunnel). TCP_QUICKACK after each
 * wake-up that read something sends the pending ACK at once. BASTION_QUICKACK=0 turns it off for
 * measurements. */
static void
quickack (BastionSshSession *self,
          int                fd)
{
  int one = 1;

  if (self->quickack && self->wake_bytes > 0)
    (void) setsockopt (fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

void
_bastion_ssh_on_socket_event (int          fd,
                              GIOCondition revents,
                              gpointer     user_data)
{
  BastionSshSession *self = user_data;

  if (self->phase == PHASE_READY)
    {
      g_object_ref (self);
      self->recv_budget = RECV_BUDGET;
      if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        self->recv_empty = FALSE;
      if (self->idle || self->io_func == NULL)
        {
          /* Nothing reads the session (no channel): only notice a closed or broken socket.
           * Whatever the server sent waits in the socket until the next channel's calls read
           * it; meanwhile stop polling for input so the loop does not spin. */
          char c;
          ssize_t n = (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
                      ? recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) : -1;

          if ((revents & G_IO_ERR) || n == 0 ||
              (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
               (revents & (G_IO_IN | G_IO_HUP))))
            bastion_ssh_session_check_rc (self, LIBSSH2_ERROR_SOCKET_DISCONNECT);
          else if (n > 0)
            self->idle_paused = TRUE;
        }
      else if (self->io_func != NULL)
        {
          self->recv_calls = 0;
          self->wake_bytes = 0;
          self->io_func (self, self->io_data);
          lowat_update (self, fd);
          quickack (self, fd);
          /* Input was there and nothing asked libssh2 for it: the tunnel's clients are all
           * back-pressured. Polling for input again would spin the loop (and starve lower
           * priority sources, such as a query reading its own tunnel) until a client reads;
           * recv_cb() resumes polling at the next read. A closed socket still shows. */
          if (self->phase == PHASE_READY && self->recv_calls == 0 &&
              (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
            {
              char c;
              ssize_t n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

              if ((revents & G_IO_ERR) || n == 0 ||
                  (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                bastion_ssh_session_check_rc (self, LIBSSH2_ERROR_SOCKET_DISCONNECT);
              else if (n > 0)
                self->input_paused = TRUE;
            }
        }
      if (self->phase == PHASE_READY)
        _bastion_ssh_update_condition (self);
      g_object_unref (self);
      return;
    }

  _bastion_ssh_advance (self);
}

/* No more came within LOWAT_TAIL_US: read what is there, and wake on every byte again. */
static void
lowat_tail (BastionSshSession *self)
{
  int fd = _bastion_ssh_raw_fd (self);

  self->lowat_tails++;
  lowat_set (self, fd, FALSE);
  _bastion_ssh_on_socket_event (fd, G_IO_IN, self);
}

ssize_t
_bastion_ssh_recv_cb (libssh2_socket_t   sock,
                      void              *buffer,
                      size_t             length,
                      int                flags,
                      void             **abstract)
{
  BastionSshSession *self = *abstract;
  ssize_t n;

  /* Someone reads again: poll for input again. */
  self->recv_calls++;
  if (self->input_paused)
    {
      self->input_paused = FALSE;
      _bastion_ssh_update_condition (self);
    }

  /* Spent: as if the socket were empty. It is polled for input whenever the session is ready
   * and in use, so the next wake-up comes at once and refills the budget. */
  if (self->phase == PHASE_READY && (self->recv_budget <= 0 || self->recv_empty))
    return -EAGAIN;

  if (self->phase == PHASE_HANDSHAKE || self->phase == PHASE_AUTH_LIST ||
      self->phase == PHASE_AUTH)
    {
      if (self->login_bytes >= LOGIN_BYTES_MAX)
        {
          self->login_overflow = TRUE;
          return -ECONNABORTED;
        }
      /* Back to the loop: its timeout sources run, the socket's next poll comes at once. */
      if (self->login_round >= LOGIN_ROUND_MAX)
        return -EAGAIN;
      length = MIN (length, LOGIN_BYTES_MAX - self->login_bytes);
    }

  n = recv (sock, buffer, length, flags);
  if (n < 0)
    {
      int err = errno;

      /* libssh2 reads until the socket is empty, and every channel read or write starts with
       * such a read: for one small reply that was one recv() returning data and five or six
       * returning EAGAIN. While the tunnel uses the session, its socket is polled for input on
       * every loop iteration, so after an EAGAIN another recv() is pointless until that poll
       * reports input again (on_socket_event): answer EAGAIN without the system call. */
      if ((err == EAGAIN || err == EWOULDBLOCK) && self->phase == PHASE_READY &&
          self->io_func != NULL && !self->idle)
        self->recv_empty = TRUE;
      return -err;
    }
  if (n > 0)
    {
      self->last_recv = g_get_monotonic_time ();
      self->recv_budget -= n;
      self->wake_bytes += n;
      self->login_bytes += n;
      self->login_round += n;
    }

  return n;
}

static gboolean
keepalive_cb (gpointer data)
{
  BastionSshSession *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 silent = now - self->last_recv;
  gint64 interval = (gint64)self->keepalive_interval * G_USEC_PER_SEC;

  if (self->phase != PHASE_READY || self->session == NULL)
    return G_SOURCE_CONTINUE;

  /* Back-pressured, the socket is not read, but bytes waiting in it are the peer's sign of
   * life (a peer that dies meanwhile shows when reading resumes, or as a socket error once
   * TCP_USER_TIMEOUT expires under the keepalives sent below). */
  if (self->input_paused)
    {
      int pending = 0;

      if (ioctl (_bastion_ssh_raw_fd (self), FIONREAD, &pending) == 0 && pending > 0)
        self->last_recv = now;
      silent = now - self->last_recv;
    }

  /* Idle, nothing reads replies: keepalives go without want-reply and a dead peer shows as a
   * socket error (TCP_USER_TIMEOUT, TCP keepalive). */
  if (!self->idle && self->io_func != NULL && silent >= KEEPALIVE_COUNT_MAX * interval)
    {
      _bastion_ssh_mark_dead (self, g_error_new (BASTION_SSH_ERROR,
                                                 BASTION_SSH_ERROR_DISCONNECTED,
                                                 _("The bastion %s stopped answering (no reply "
                                                   "for %u s)"),
                                                 self->host,
                                                 KEEPALIVE_COUNT_MAX * self->keepalive_interval));
      return G_SOURCE_CONTINUE;
    }

  /* libssh2 builds the keepalive packet on the stack: only send it when no packet is half-sent
   * and the kernel can surely take all of it at once. */
  if (silent >= interval && bastion_ssh_session_can_send_small (self))
    {
      int next = 0;
      int rc = libssh2_keepalive_send (self->session, &next);

      g_debug ("SSH %s:%u: keepalive sent (%d)", self->host, self->port, rc);
      if (rc < 0)
        bastion_ssh_session_check_rc (self, rc);
    }

  return G_SOURCE_CONTINUE;
}

void
_bastion_ssh_become_ready (BastionSshSession *self)
{
  bastion_secure_clear_str (&self->passphrase);
  bastion_secure_clear_str (&self->password);
  _bastion_ssh_wipe_key_data (self);

  bastion_source_clear (self->context, &self->timeout_id);
  self->phase = PHASE_READY;
  self->last_recv = g_get_monotonic_time ();
  self->recv_budget = RECV_BUDGET;
  self->idle_paused = FALSE;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  if (self->out_buf == NULL)
    self->out_buf = g_malloc (OUT_BATCH_MAX);
  self->out_len = 0;
  self->out_errno = 0;
  self->flush_source = g_source_new (&flush_source_funcs, sizeof (BastionFlushSource));
  ((BastionFlushSource *)self->flush_source)->self = self;
  /* Highest priority: prepared on every iteration, even when other sources are ready. */
  g_source_set_priority (self->flush_source, G_PRIORITY_HIGH - 100);
  g_source_set_static_name (self->flush_source, "[bastion] ssh output batch");
  g_source_attach (self->flush_source, self->context);
  /* BASTION_RCVLOWAT overrides (0: off) for measurements (tools/bench-tunnel --bastion-env). */
  self->lowat = g_getenv ("BASTION_RCVLOWAT") != NULL
                ? (gsize) g_ascii_strtoull (g_getenv ("BASTION_RCVLOWAT"), NULL, 10)
                : LOWAT_DEFAULT;
  self->lowat_on = FALSE;
  self->quickack = g_strcmp0 (g_getenv ("BASTION_QUICKACK"), "0") != 0;
  self->lowat_source = g_source_new (&lowat_source_funcs, sizeof (BastionLowatSource));
  ((BastionLowatSource *)self->lowat_source)->self = self;
  ((BastionLowatSource *)self->lowat_source)->deadline = -1;
  g_source_set_static_name (self->lowat_source, "[bastion] ssh stream tail");
  g_source_attach (self->lowat_source, self->context);
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_SEND,
                                 (libssh2_cb_generic *)send_cb);
  g_debug ("SSH %s:%u: ready, cipher %s", self->host, self->port,
           libssh2_session_methods (self->session, LIBSSH2_METHOD_CRYPT_CS));
  libssh2_keepalive_config (self->session, self->idle ? 0 : 1, self->keepalive_interval);
  self->keepalive_id = bastion_source_add_timeout (self->context, 1000, keepalive_cb, self);
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_READY);
  _bastion_ssh_update_condition (self);
  _bastion_ssh_complete_task (self);
}

/**
 * bastion_ssh_session_batch_writes:
 * @batch: %TRUE around the libssh2 calls that relay a client's data
 *
 * While set, small packets wait for the end of the main-loop iteration and leave together.
 */
void
bastion_ssh_session_batch_writes (BastionSshSession *self,
                                  gboolean           batch)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->batch_writes = !!batch;
}

/**
 * bastion_ssh_session_get_output_stats:
 * @packets: (out) (optional): the writes libssh2 made to the socket since the session was ready
 * @sends: (out) (optional): the send() calls that carried them (see OUT_BATCH_MAX)
 */
void
bastion_ssh_session_get_output_stats (BastionSshSession *self,
                                      guint64           *packets,
                                      guint64           *sends)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  if (packets != NULL)
    *packets = self->out_packets;
  if (sends != NULL)
    *sends = self->out_sends;
}

/**
 * bastion_ssh_session_get_stream_stats:
 * @streams: (out) (optional): the times a wake-up brought enough to wait for more (SO_RCVLOWAT)
 * @tails: (out) (optional): the times the stream-tail timer read what had come since
 */
void
bastion_ssh_session_get_stream_stats (BastionSshSession *self,
                                      guint64           *streams,
                                      guint64           *tails)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  if (streams != NULL)
    *streams = self->lowat_streams;
  if (tails != NULL)
    *tails = self->lowat_tails;
}

LIBSSH2_SESSION *
bastion_ssh_session_get_raw (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return self->phase == PHASE_READY ? self->session : NULL;
}

GQueue *
bastion_ssh_session_get_channels (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return &self->channels;
}

char *
bastion_ssh_session_dup_last_error (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return _bastion_ssh_last_error (self);
}

void
bastion_ssh_session_set_io_func (BastionSshSession *self,
                                 BastionSshIoFunc   func,
                                 gpointer           user_data)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->io_func = func;
  self->io_data = user_data;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  if (self->phase == PHASE_READY)
    _bastion_ssh_update_condition (self);
}

void
bastion_ssh_session_set_send_busy (BastionSshSession *self,
                                   gboolean           busy)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->send_busy = !!busy;
  if (self->phase == PHASE_READY)
    _bastion_ssh_update_condition (self);
}

void
bastion_ssh_session_set_idle (BastionSshSession *self,
                              gboolean           idle)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  idle = !!idle;
  if (self->idle == (guint)idle)
    return;

  self->idle = idle;
  self->idle_paused = FALSE;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  self->recv_budget = RECV_BUDGET;
  if (!idle)
    self->last_recv = g_get_monotonic_time ();
  if (self->session != NULL)
    libssh2_keepalive_config (self->session, idle ? 0 : 1, self->keepalive_interval);
  if (self->phase == PHASE_READY)
    _bastion_ssh_update_condition (self);
}

gboolean
bastion_ssh_session_can_send_small (BastionSshSession *self)
{
  int outq = 0;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  return self->phase == PHASE_READY && self->session != NULL && !self->send_busy &&
         !(libssh2_session_block_directions (self->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) &&
         ioctl (_bastion_ssh_raw_fd (self), SIOCOUTQ, &outq) == 0 && outq < 16384;
}
