/* test-tunnel-stream.c: fewer wake-ups while a stream arrives, and never a held tail (issue #24)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Once a wake-up brings 64 KiB or more, the session asks the kernel (SO_RCVLOWAT) to wake it only
 * when as much is queued again, and a timer reads what came when no more does. A target that
 * answers "p" with 16 bytes and "b" with 1 MiB, then, 50 ms later, 100 more bytes (a reply's
 * tail, far below the mark): small replies never turn the mark on; bursts do; every burst's tail
 * arrives (it could only come through the timer while the mark is on: a held tail hangs the
 * test, which a guard turns into a failure), and the timer counts at least one tail.
 */

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "bastion-tunnel.h"
#include "bastion-ssh-session-private.h"
#include "tunnel-test-util.h"

#define BURST   (1024 * 1024)
#define TAIL    100
#define SMALL   16
#define ROUNDS  3
#define PINGS   20

static guint8
pattern (guint64 i,
         guint   round)
{
  return (guint8) (i * 31 + round * 7 + 1);
}

static gboolean
send_all (int          fd,
          const guint8 *buf,
          gsize         len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, buf, len, MSG_NOSIGNAL);

      if (n <= 0)
        return FALSE;
      buf += n;
      len -= n;
    }
  return TRUE;
}

typedef struct
{
  int      listen_fd;
  guint16  port;
  GThread *thread;
} Target;

static gpointer
target_thread (gpointer data)
{
  Target *t = data;
  g_autofree guint8 *buf = g_malloc (BURST + TAIL);
  guint round = 0;
  int fd = accept (t->listen_fd, NULL, NULL);
  char cmd;

  g_assert_cmpint (fd, >=, 0);
  while (recv (fd, &cmd, 1, 0) == 1)
    {
      gsize len = cmd == 'b' ? BURST + TAIL : SMALL;

      for (gsize i = 0; i < len; i++)
        buf[i] = pattern (i, round);
      if (cmd == 'b')
        {
          if (!send_all (fd, buf, BURST))
            break;
          g_usleep (50 * 1000);
          if (!send_all (fd, buf + BURST, TAIL))
            break;
        }
      else if (!send_all (fd, buf, len))
        break;
      round++;
    }
  close (fd);
  return NULL;
}

typedef struct
{
  guint16  port;
  gboolean small_only;   /* pings only */
  guint    round;
  guint64  wrong;        /* replies that were not what the target sent */
  gint     done;
} Client;

static gboolean
ask (int     fd,
     char    cmd,
     Client *c)
{
  gsize len = cmd == 'b' ? BURST + TAIL : SMALL;
  g_autofree guint8 *buf = g_malloc (len);
  gsize have = 0;

  if (!send_all (fd, (const guint8 *) &cmd, 1))
    return FALSE;
  while (have < len)
    {
      ssize_t n = recv (fd, buf + have, len - have, 0);

      if (n <= 0)
        return FALSE;
      have += n;
    }
  for (gsize i = 0; i < len; i++)
    if (buf[i] != pattern (i, c->round))
      {
        c->wrong++;
        break;
      }
  c->round++;
  return TRUE;
}

static gpointer
client_thread (gpointer data)
{
  Client *c = data;
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
                              .sin_port = htons (c->port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  ok = TRUE;
  for (guint i = 0; ok && i < PINGS; i++)
    ok = ask (fd, 'p', c);
  g_atomic_int_set (&c->small_only, ok);
  /* Wait until the test read the statistics after the pings. */
  while (ok && g_atomic_int_get (&c->small_only))
    g_usleep (1000);
  for (guint i = 0; ok && i < ROUNDS; i++)
    ok = ask (fd, 'b', c);
  for (guint i = 0; ok && i < PINGS; i++)
    ok = ask (fd, 'p', c);
  if (!ok)
    c->wrong++;
  close (fd);
  g_atomic_int_set (&c->done, 1);
  return NULL;
}

static void
wait_until (gint       *flag,
            const char *what)
{
  gint64 guard = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (flag))
    {
      g_main_context_iteration (NULL, FALSE);
      if (!g_main_context_pending (NULL))
        g_usleep (1000);
      if (g_get_monotonic_time () > guard)
        g_error ("%s did not finish in 60 s", what);
    }
}

static void
test_stream_tail (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(BastionTunnel) tunnel = NULL;
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  Target target = { 0 };
  Client client = { 0 };
  TestResult r = { 0 };
  GThread *thread;
  guint64 streams, tails;

  target.listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (target.listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (target.listen_fd, 4), ==, 0);
  g_assert_cmpint (getsockname (target.listen_fd, (struct sockaddr *) &addr, &len), ==, 0);
  target.port = ntohs (addr.sin_port);
  target.thread = g_thread_new ("target", target_thread, &target);

  tunnel = bastion_tunnel_new (session, "127.0.0.1", target.port, 0);
  bastion_tunnel_start_async (tunnel, NULL, test_on_tunnel_started, &r);
  test_wait_for (&r.done);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  client.port = bastion_tunnel_get_local_port (tunnel);
  thread = g_thread_new ("client", client_thread, &client);
  wait_until (&client.small_only, "the pings");
  bastion_ssh_session_get_stream_stats (session, &streams, &tails);
  g_test_message ("after %d small replies: the mark turned on %" G_GUINT64_FORMAT " times",
                  PINGS, streams);
  g_assert_cmpuint (streams, ==, 0);
  g_atomic_int_set (&client.small_only, FALSE);

  wait_until (&client.done, "the bursts");
  g_thread_join (thread);
  bastion_ssh_session_get_stream_stats (session, &streams, &tails);
  g_test_message ("after %d bursts of 1 MiB and a %d-byte tail: the mark turned on %"
                  G_GUINT64_FORMAT " times, the timer read %" G_GUINT64_FORMAT " tails", ROUNDS,
                  TAIL, streams, tails);
  g_assert_cmpuint (client.wrong, ==, 0);
  g_assert_cmpuint (client.round, ==, 2 * PINGS + ROUNDS);
  g_assert_cmpuint (streams, >=, 1);
  g_assert_cmpuint (tails, >=, 1);

  bastion_tunnel_stop (tunnel);
  g_thread_join (target.thread);
  close (target.listen_fd);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bastion/tunnel-stream/tail", test_stream_tail);

  return g_test_run ();
}
