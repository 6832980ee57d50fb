/* bastion-ssh-channel.c: the session's channels, the only other place that calls libssh2
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libssh2's non-blocking rules (../shared/LIBSSH2-NOTES.md) are turned into BastionSshIo here, so
 * the relay decides from one value: EAGAIN with the OUTBOUND direction set means a half-sent
 * packet (BLOCKED), a code that means the transport is gone marks the session dead (DEAD).
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <libssh2.h>

#include "bastion-ssh-session-private.h"

/* The receive window (issue #22). A channel starts with libssh2's 2 MiB, which caps a download
 * at 2 MiB per round trip (42 MB/s at 50 ms). Like TCP's receive-buffer autotuning, the window
 * doubles each time the server is found waiting for it (a stalled probe, below) while the client
 * consumed at least half of it per round trip, up to WINDOW_MAX per channel and
 * SESSION_WINDOW_MAX per session. A slow client consumes little per round trip, so its window
 * never grows; what is buffered for it stays within the window it was last granted. The round
 * trip is measured: the channel open's request -> confirmation, then each probe: a window adjust
 * that raised the limit, timed to the first byte beyond the old limit when everything below it
 * had arrived and the channel ran dry (the server was waiting for that adjust: the window was
 * the limit). The smallest sample counts (queueing and scheduling only ever add to it). */
#define WINDOW_INITIAL      (2u * 1024 * 1024)
#define WINDOW_MAX          (32u * 1024 * 1024)
#define SESSION_WINDOW_MAX  (64u * 1024 * 1024)
/* Below this round trip the 2 MiB window already allows over 100 MB/s: no growth (loopback, a
 * LAN, a nearby region). On a loaded 2-core machine loopback's scheduler stalls can look like
 * 10-20 ms round trips, so growth also needs PROBES_MIN stalled probes besides the open's
 * sample, all of them (their minimum) at or above RTT_GROW_MIN. */
#define RTT_GROW_MIN        20000
#define PROBES_MIN          2

/* The largest packet the server may send on a channel (issue #22). OpenSSH's sshd reads at most
 * 32 KiB of a forwarded stream per turn of its loop and sends one packet per turn; with packets
 * of 32 KiB, whatever piled up in its channel buffer (while its socket to us was slower than the
 * source) never drains, and its buffer then grows 32 KiB at a time, each step copying and wiping
 * all of it (measured: 1.5-2 s of sshd CPU in half of the 200 MB downloads at 150 ms). Larger
 * packets let one turn send everything buffered. libssh2 accepts inbound packets up to
 * LIBSSH2_PACKET_MAXPAYLOAD: 40,000 bytes upstream, 257 KiB with our patch 0005; a system
 * libssh2 keeps its own limit, so the size follows the header we are built against (less room
 * for the header, padding and MAC). */
#define PACKET_MAX          MIN (128u * 1024, LIBSSH2_PACKET_MAXPAYLOAD - 320u)

struct _BastionSshChannel
{
  GList              link;      /* in the session's list */
  BastionSshSession *session;   /* not owned: the session outlives its channels */
  LIBSSH2_CHANNEL   *raw;

  guint32            window;      /* the window we keep granted */
  guint32            pending;     /* the adjust a blocked send carries */
  guint64            granted;     /* bytes the server was allowed in all */
  guint64            probe_limit; /* the limit before a probing adjust; 0: no probe */
  gint64             probe_time;
  gint64             rtt;         /* µs, smallest sample */
  guint              n_probes;    /* round trips timed by probes */
  gint64             since_time;  /* the last stalled probe's end (or the open) */
  guint64            since_bytes; /* read since since_time */
  guint32            since_window; /* the window at since_time, before any growth then */
  guint              adjusting : 1;
  guint              probe_stalled : 1;   /* all below probe_limit came, then nothing */
};

/* The time the session's current open request was first sent (one open in flight). */
static GQuark open_time_quark;

static BastionSshIo
classify (BastionSshSession *session,
          int                rc)
{
  LIBSSH2_SESSION *s = bastion_ssh_session_get_raw (session);

  if (rc == LIBSSH2_ERROR_EAGAIN)
    {
      if (s != NULL && (libssh2_session_block_directions (s) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        return BASTION_SSH_IO_BLOCKED;
      return BASTION_SSH_IO_AGAIN;
    }
  if (rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT)
    return BASTION_SSH_IO_CLOSED;
  if (!bastion_ssh_session_check_rc (session, rc))
    return BASTION_SSH_IO_DEAD;

  return BASTION_SSH_IO_FAILED;
}

static void
put_u32 (GByteArray *b,
         guint32     v)
{
  guint8 be[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (b, be, 4);
}

static void
put_string (GByteArray *b,
            const char *s)
{
  put_u32 (b, strlen (s));
  g_byte_array_append (b, (const guint8 *) s, strlen (s));
}

/* libssh2_channel_direct_tcpip_ex() with our packet size: the same request (RFC 4254 7.2). */
static LIBSSH2_CHANNEL *
open_direct_tcpip (LIBSSH2_SESSION *s,
                   const char      *host,
                   guint16          port,
                   guint16          source_port)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  put_string (msg, host);
  put_u32 (msg, port);
  put_string (msg, "127.0.0.1");
  put_u32 (msg, source_port);

  return libssh2_channel_open_ex (s, "direct-tcpip", sizeof "direct-tcpip" - 1,
                                  LIBSSH2_CHANNEL_WINDOW_DEFAULT, PACKET_MAX,
                                  (const char *) msg->data, msg->len);
}

BastionSshIo
bastion_ssh_channel_open_direct (BastionSshSession  *session,
                                 const char         *host,
                                 guint16             port,
                                 guint16             source_port,
                                 BastionSshChannel **channel)
{
  LIBSSH2_SESSION *s;
  LIBSSH2_CHANNEL *raw;
  int rc;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (session), BASTION_SSH_IO_DEAD);
  g_return_val_if_fail (host != NULL, BASTION_SSH_IO_FAILED);
  g_return_val_if_fail (channel != NULL && *channel == NULL, BASTION_SSH_IO_FAILED);

  if ((s = bastion_ssh_session_get_raw (session)) == NULL)
    return BASTION_SSH_IO_DEAD;

  /* libssh2's default window (2 MiB, as OpenSSH's; it grows below) and PACKET_MAX packets. */
  if (open_time_quark == 0)
    open_time_quark = g_quark_from_static_string ("bastion-ssh-channel-open-time");
  if (g_object_get_qdata (G_OBJECT (session), open_time_quark) == NULL)
    g_object_set_qdata_full (G_OBJECT (session), open_time_quark,
                             g_memdup2 (&(gint64) { g_get_monotonic_time () }, sizeof (gint64)),
                             g_free);
  raw = open_direct_tcpip (s, host, port, source_port);
  if (raw != NULL)
    {
      BastionSshChannel *c = g_new0 (BastionSshChannel, 1);
      gint64 *sent = g_object_steal_qdata (G_OBJECT (session), open_time_quark);

      c->link.data = c;
      c->session = session;
      c->raw = raw;
      c->window = WINDOW_INITIAL;
      c->since_window = WINDOW_INITIAL;
      c->granted = LIBSSH2_CHANNEL_WINDOW_DEFAULT;
      c->since_time = g_get_monotonic_time ();
      c->rtt = MAX (1, c->since_time - *sent);
      g_free (sent);
      g_queue_push_tail_link (bastion_ssh_session_get_channels (session), &c->link);
      *channel = c;
      return BASTION_SSH_IO_OK;
    }

  rc = libssh2_session_last_errno (s);
  if (rc != LIBSSH2_ERROR_EAGAIN)
    g_object_set_qdata (G_OBJECT (session), open_time_quark, NULL);
  if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE || rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN ||
      rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED)
    return BASTION_SSH_IO_DENIED;

  return classify (session, rc);
}

guint
bastion_ssh_channel_open_failure_reason (BastionSshSession *session)
{
  /* libssh2 keeps the reason code only in its message text (channel.c). */
  static const char *const texts[] = {
    "(administratively prohibited)", "(connect failed)", "(unknown channel type)",
    "(resource shortage)",
  };
  g_autofree char *msg = bastion_ssh_session_dup_last_error (session);

  for (guint i = 0; msg != NULL && i < G_N_ELEMENTS (texts); i++)
    if (strstr (msg, texts[i]) != NULL)
      return i + 1;

  return 0;
}

static guint64
session_window (BastionSshSession *session)
{
  guint64 total = 0;

  for (GList *l = bastion_ssh_session_get_channels (session)->head; l != NULL; l = l->next)
    total += ((BastionSshChannel *) l->data)->window;

  return total;
}

/* A probe stalled: the server had sent everything up to our limit and waited a round trip for
 * the adjust. Double the window when that happens on a long path while the client keeps up
 * (since the last stall it consumed, per round trip, half or more of the window in force before
 * that stall: what arrives in the round trip after a growth was still sent under the old one). */
static void
window_grow (BastionSshChannel *c,
             gint64             now)
{
  gint64 elapsed = MAX (1, now - c->since_time);
  double per_rtt = (double) c->since_bytes * c->rtt / elapsed;
  guint32 released_by = c->since_window;

  c->since_window = c->window;
  if (c->n_probes >= PROBES_MIN && c->rtt >= RTT_GROW_MIN && c->window < WINDOW_MAX &&
      per_rtt * 2 >= released_by &&
      session_window (c->session) + c->window <= SESSION_WINDOW_MAX)
    {
      c->window = MIN ((guint64) WINDOW_MAX, (guint64) c->window * 2);
      g_debug ("SSH channel: %" G_GUINT64_FORMAT " bytes in %" G_GINT64_FORMAT " µs, round trip "
               "%" G_GINT64_FORMAT " µs: receive window now %u", c->since_bytes, elapsed, c->rtt,
               c->window);
    }
  c->since_time = now;
  c->since_bytes = 0;
}

/* After a read (N bytes; 0 also for "nothing queued"). A probe is an adjust that raised the
 * limit: once everything below the old limit has arrived and the channel ran dry, the server is
 * waiting for that adjust, so the first byte beyond the old limit times a round trip. */
static void
window_account (BastionSshChannel *c,
                gsize              n)
{
  guint64 received = c->granted - libssh2_channel_window_read_ex (c->raw, NULL, NULL);

  c->since_bytes += n;
  if (c->probe_limit != 0 && received > c->probe_limit)
    {
      if (c->probe_stalled)
        {
          gint64 now = g_get_monotonic_time ();

          c->rtt = MIN (c->rtt, MAX (1, now - c->probe_time));
          c->n_probes++;
          g_debug ("SSH channel: the server waited %" G_GINT64_FORMAT " µs for a window adjust "
                   "(round trip %" G_GINT64_FORMAT " µs, window %u)", now - c->probe_time,
                   c->rtt, c->window);
          window_grow (c, now);
        }
      c->probe_limit = 0;
    }
  else if (c->probe_limit != 0 && n == 0 && received >= c->probe_limit)
    c->probe_stalled = TRUE;
}

/* Before a read: keep the window granted, as libssh2's read would (at 3/4 of it, plus the read's
 * size, so libssh2's own top-up to its initial 2 MiB never fires). The adjust may block
 * half-sent: then the read says BLOCKED and is retried first. Each adjust sent while no probe
 * runs starts one: the bytes beyond the old limit can only come a round trip later. */
static BastionSshIo
window_top_up (BastionSshChannel *c,
               gsize              size)
{
  guint32 left = libssh2_channel_window_read_ex (c->raw, NULL, NULL);
  guint32 adjustment;
  int rc;

  if (!c->adjusting && left >= c->window / 4 * 3 + size)
    return BASTION_SSH_IO_OK;

  adjustment = c->adjusting ? c->pending : (guint32) (c->window + size - left);
  rc = libssh2_channel_receive_window_adjust2 (c->raw, adjustment, 1, NULL);
  if (rc != 0)
    {
      c->adjusting = rc == LIBSSH2_ERROR_EAGAIN;
      c->pending = adjustment;
      return classify (c->session, rc);
    }
  c->adjusting = FALSE;
  if (c->probe_limit == 0)
    {
      c->probe_limit = c->granted;
      c->probe_time = g_get_monotonic_time ();
      c->probe_stalled = FALSE;
    }
  c->granted += adjustment;

  return BASTION_SSH_IO_OK;
}

gssize
bastion_ssh_channel_read (BastionSshChannel *channel,
                          void              *buffer,
                          gsize              size)
{
  BastionSshIo io;
  ssize_t n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  if ((io = window_top_up (channel, size)) != BASTION_SSH_IO_OK)
    return io;

  n = libssh2_channel_read (channel->raw, buffer, size);
  if (n >= 0 || n == LIBSSH2_ERROR_EAGAIN)
    window_account (channel, MAX (n, 0));

  return n >= 0 ? n : classify (channel->session, n);
}

void
bastion_ssh_session_get_link (BastionSshSession *session,
                              gint64            *rtt_us,
                              guint64           *window)
{
  gint64 rtt = 0;
  guint64 largest = 0;

  for (GList *l = bastion_ssh_session_get_channels (session)->head; l != NULL; l = l->next)
    {
      BastionSshChannel *c = l->data;

      if (c->rtt > 0 && (rtt == 0 || c->rtt < rtt))
        rtt = c->rtt;
      largest = MAX (largest, c->window);
    }
  *rtt_us = rtt;
  *window = largest;
}

gssize
bastion_ssh_channel_write (BastionSshChannel *channel,
                           const void        *buffer,
                           gsize              size)
{
  ssize_t n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  n = libssh2_channel_write (channel->raw, buffer, size);

  return n >= 0 ? n : classify (channel->session, n);
}

BastionSshIo
bastion_ssh_channel_send_eof (BastionSshChannel *channel)
{
  int n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  n = libssh2_channel_send_eof (channel->raw);

  return n == 0 ? BASTION_SSH_IO_OK : classify (channel->session, n);
}

gboolean
bastion_ssh_channel_has_data (BastionSshChannel *channel)
{
  g_return_val_if_fail (channel != NULL, FALSE);

  return libssh2_poll_channel_read (channel->raw, 0) != 0;
}

gboolean
bastion_ssh_channel_is_eof (BastionSshChannel *channel)
{
  g_return_val_if_fail (channel != NULL, FALSE);

  return libssh2_channel_eof (channel->raw) == 1;
}

/* libssh2_channel_close() waits for the server's CLOSE (EAGAIN until then); when the server
 * closed first it only marks the channel, which must still be closed and freed. */
BastionSshIo
bastion_ssh_channel_close (BastionSshChannel *channel)
{
  BastionSshSession *session;
  int n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  session = channel->session;
  n = libssh2_channel_close (channel->raw);
  if (n == LIBSSH2_ERROR_EAGAIN)
    return classify (session, n);
  if (n < 0 && !bastion_ssh_session_check_rc (session, n))
    return BASTION_SSH_IO_DEAD;

  if (libssh2_channel_free (channel->raw) == LIBSSH2_ERROR_EAGAIN)
    return BASTION_SSH_IO_AGAIN;

  g_queue_unlink (bastion_ssh_session_get_channels (session), &channel->link);
  g_free (channel);

  return BASTION_SSH_IO_OK;
}

/* The session's teardown: libssh2_session_free() frees the libssh2 channels themselves. */
void
bastion_ssh_channels_drop (GQueue *channels)
{
  GList *link;

  while ((link = g_queue_pop_head_link (channels)) != NULL)
    g_free (link->data);
}
