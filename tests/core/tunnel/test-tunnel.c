/* test-tunnel.c: BastionTunnel through the harness's real sshd
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <stdio.h>

#include "bastion-tunnel.h"
#include "tunnel-test-util.h"

/* ---- A threaded echo server: the tunnel's target instead of PostgreSQL ----------------------- */

typedef struct
{
  int      listen_fd;
  guint16  port;
  GThread *thread;
  gint     n_conns;
} EchoServer;

static gpointer
echo_conn_thread (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  g_autofree char *buf = g_malloc (256 * 1024);

  for (;;)
    {
      ssize_t n = recv (fd, buf, 256 * 1024, 0);
      ssize_t off = 0;

      if (n <= 0)
        break;
      while (off < n)
        {
          ssize_t w = send (fd, buf + off, n - off, MSG_NOSIGNAL);
          if (w <= 0)
            goto out;
          off += w;
        }
    }
out:
  shutdown (fd, SHUT_WR);
  close (fd);
  return NULL;
}

static gpointer
echo_accept_thread (gpointer data)
{
  EchoServer *server = data;

  for (;;)
    {
      int fd = accept (server->listen_fd, NULL, NULL);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          break;
        }
      g_atomic_int_inc (&server->n_conns);
      g_thread_unref (g_thread_new ("echo", echo_conn_thread, GINT_TO_POINTER (fd)));
    }

  return NULL;
}

static EchoServer *
echo_server_new (void)
{
  EchoServer *server = g_new0 (EchoServer, 1);
  struct sockaddr_in sin = { 0 };
  socklen_t len = sizeof sin;
  int one = 1;

  server->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (server->listen_fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (server->listen_fd, 256), ==, 0);
  getsockname (server->listen_fd, (struct sockaddr *)&sin, &len);
  server->port = ntohs (sin.sin_port);
  server->thread = g_thread_new ("echo-accept", echo_accept_thread, server);

  return server;
}

/* Stops accepting; connections already made go on. */
static void
echo_server_stop_listening (EchoServer *server)
{
  shutdown (server->listen_fd, SHUT_RDWR);
  close (server->listen_fd);
  g_thread_join (server->thread);
  server->thread = NULL;
}

/* ---- Clients, in threads, with blocking sockets --------------------------------------------- */

static int
connect_local (guint16 port)
{
  struct sockaddr_in sin = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sin.sin_port = htons (port);
  if (connect (fd, (struct sockaddr *)&sin, sizeof sin) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

typedef struct
{
  guint16    port;
  guint64    size;
  guint32    seed;
  /* results */
  guint64    sent;
  guint64    received;
  char      *sent_sha;
  char      *received_sha;
  gboolean   closed_early;
  int        fd;
  gint       done;
} EchoClient;

static void
fill_random (guint32 *state,
             guint8  *buf,
             gsize    len)
{
  guint32 x = *state;

  for (gsize i = 0; i + 4 <= len; i += 4)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      memcpy (buf + i, &x, 4);
    }
  *state = x;
}

static gpointer
echo_client_writer (gpointer data)
{
  EchoClient *c = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (128 * 1024);
  guint32 state = c->seed | 1;

  while (c->sent < c->size)
    {
      gsize chunk = MIN (128 * 1024, c->size - c->sent);
      gsize off = 0;

      fill_random (&state, buf, 128 * 1024);
      g_checksum_update (sha, buf, chunk);
      while (off < chunk)
        {
          ssize_t w = send (c->fd, buf + off, chunk - off, MSG_NOSIGNAL);
          if (w <= 0)
            {
              c->closed_early = TRUE;
              goto out;
            }
          off += w;
        }
      c->sent += chunk;
    }
out:
  shutdown (c->fd, SHUT_WR);
  c->sent_sha = g_strdup (g_checksum_get_string (sha));
  return NULL;
}

static gpointer
echo_client_thread (gpointer data)
{
  EchoClient *c = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (256 * 1024);
  GThread *writer;

  c->fd = connect_local (c->port);
  g_assert_cmpint (c->fd, >=, 0);
  writer = g_thread_new ("writer", echo_client_writer, c);
  for (;;)
    {
      ssize_t n = recv (c->fd, buf, 256 * 1024, 0);
      if (n <= 0)
        break;
      g_checksum_update (sha, buf, n);
      c->received += n;
    }
  g_thread_join (writer);
  close (c->fd);
  c->received_sha = g_strdup (g_checksum_get_string (sha));
  g_atomic_int_set (&c->done, 1);

  return NULL;
}

static void
echo_client_clear (EchoClient *c)
{
  g_clear_pointer (&c->sent_sha, g_free);
  g_clear_pointer (&c->received_sha, g_free);
}

/* Iterates the main loop until every client is done. */
static void
wait_clients (EchoClient *clients,
              guint       n)
{
  gint64 guard = g_get_monotonic_time () + 500 * G_USEC_PER_SEC;

  for (;;)
    {
      guint done = 0;

      for (guint i = 0; i < n; i++)
        done += g_atomic_int_get (&clients[i].done);
      if (done == n)
        return;
      g_main_context_iteration (NULL, FALSE);
      if (!g_main_context_pending (NULL))
        g_usleep (200);
      if (g_get_monotonic_time () > guard)
        g_error ("clients did not finish");
    }
}

/* ---- Fixture -------------------------------------------------------------------------------- */

typedef struct
{
  char              *tmp;
  BastionSshSession *session;
  BastionTunnel     *tunnel;
  EchoServer        *echo;
} Fixture;

static gboolean
start_tunnel (Fixture     *f,
              const char  *db_host,
              guint16      db_port,
              guint16      local_port,
              GError     **error)
{
  TestResult r = { 0 };

  f->tunnel = bastion_tunnel_new (f->session, db_host, db_port, local_port);
  bastion_tunnel_start_async (f->tunnel, NULL, test_on_tunnel_started, &r);
  test_wait_for (&r.done);
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.ok;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->tmp = test_tmpdir ();
  f->session = test_session_new (f->tmp);
  f->echo = echo_server_new ();
  g_assert_true (start_tunnel (f, "127.0.0.1", f->echo->port, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_READY);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->tunnel != NULL)
    bastion_tunnel_stop (f->tunnel);
  g_clear_object (&f->tunnel);
  g_clear_object (&f->session);
  if (f->echo->thread != NULL)
    echo_server_stop_listening (f->echo);
  g_free (f->echo);
  g_free (f->tmp);
}

static void
wait_idle (Fixture *f)
{
  gint64 guard = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (bastion_tunnel_get_n_clients (f->tunnel) > 0)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > guard)
        g_error ("the tunnel still has %u clients", bastion_tunnel_get_n_clients (f->tunnel));
    }
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void
test_loopback_only (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *tcp = NULL;
  g_autofree char *loopback = NULL;
  g_autofree char *wildcard = NULL;
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  int pid = 0;
  g_autofree char *command = NULL;

  g_assert_cmpuint (port, >, 0);
  g_assert_cmpstr (bastion_tunnel_get_local_address (f->tunnel), ==, "127.0.0.1");

  /* The kernel's view: listening (state 0A) on 127.0.0.1 only. */
  g_assert_true (g_file_get_contents ("/proc/net/tcp", &tcp, NULL, NULL));
  loopback = g_strdup_printf ("0100007F:%04X 00000000:0000 0A", port);
  wildcard = g_strdup_printf ("00000000:%04X 00000000:0000 0A", port);
  g_assert_nonnull (strstr (tcp, loopback));
  g_assert_null (strstr (tcp, wildcard));

  /* And the busy-port lookup finds this very process. */
  g_assert_true (bastion_tunnel_find_port_owner (port, &pid, &command));
  g_assert_cmpint (pid, ==, getpid ());
  g_assert_nonnull (strstr (command, "test-tunnel"));
}

static void
test_port_busy (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(BastionTunnel) second = NULL;
  TestResult r = { 0 };
  g_autofree char *pid = g_strdup_printf ("%d", getpid ());

  second = bastion_tunnel_new (f->session, "127.0.0.1", f->echo->port,
                               bastion_tunnel_get_local_port (f->tunnel));
  bastion_tunnel_start_async (second, NULL, test_on_tunnel_started, &r);
  test_wait_for (&r.done);
  g_assert_false (r.ok);
  g_assert_error (r.error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_PORT_BUSY);
  g_assert_nonnull (strstr (r.error->message, pid));
  g_assert_nonnull (strstr (r.error->message, "test-tunnel"));
  g_clear_error (&r.error);
  /* The first tunnel is untouched. */
  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_READY);
}

static void
run_echo_clients (Fixture *f,
                  guint    n,
                  guint64  size)
{
  EchoClient *clients = g_new0 (EchoClient, n);
  GThread **threads = g_new0 (GThread *, n);

  for (guint i = 0; i < n; i++)
    {
      clients[i].port = bastion_tunnel_get_local_port (f->tunnel);
      clients[i].size = size;
      clients[i].seed = 0x9e3779b9u * (i + 1);
      threads[i] = g_thread_new ("client", echo_client_thread, &clients[i]);
    }
  wait_clients (clients, n);
  for (guint i = 0; i < n; i++)
    {
      g_thread_join (threads[i]);
      g_assert_false (clients[i].closed_early);
      g_assert_cmpuint (clients[i].sent, ==, size);
      g_assert_cmpuint (clients[i].received, ==, size);
      g_assert_cmpstr (clients[i].received_sha, ==, clients[i].sent_sha);
      echo_client_clear (&clients[i]);
    }
  g_free (clients);
  g_free (threads);
}

static void
test_echo_200mb (Fixture       *f,
                 gconstpointer  data)
{
  guint64 size = 200 * 1024 * 1024;
  gint64 start = g_get_monotonic_time ();
  struct rusage before;
  struct rusage after;
  double secs;
  double cpu;

  getrusage (RUSAGE_SELF, &before);
  run_echo_clients (f, 1, size);
  getrusage (RUSAGE_SELF, &after);
  secs = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;
  cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
        (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
        ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
         (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) / 1e6;
  /* Reported, never asserted: the machine is shared. */
  g_test_message ("200 MiB each way in %.2f s: %.0f MiB/s each way; the process (relay and "
                  "test clients) used %.2f s of CPU (%.0f MiB/s per CPU second, both ways counted; cipher %s)",
                  secs, 200 / secs, cpu, 400 / cpu, bastion_ssh_session_get_cipher (f->session));
  /* The counters reach this thread in the relay's reports; the one that says the last client
   * is gone has the final figures. */
  wait_idle (f);
  g_assert_cmpuint (bastion_tunnel_get_bytes_out (f->tunnel), ==, size);
  g_assert_cmpuint (bastion_tunnel_get_bytes_in (f->tunnel), ==, size);
  g_assert_cmpuint (bastion_tunnel_get_n_channels (f->tunnel), ==, 0);
}

static void
test_concurrent_64 (Fixture       *f,
                    gconstpointer  data)
{
  run_echo_clients (f, 64, 1024 * 1024);
  g_assert_cmpint (g_atomic_int_get (&f->echo->n_conns), ==, 64);
  wait_idle (f);
}

/* Several channels both ways under an sshd that rekeys every 8 MB. */
static void
test_rekey (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *config = test_read_file (test_env ("BASTION_TEST_SSHD_CONFIG"));

  if (strstr (config, "RekeyLimit") == NULL)
    {
      g_test_skip ("the sshd does not rekey often: see the test-tunnel-rekey run");
      return;
    }
  run_echo_clients (f, 6, 40 * 1024 * 1024);
  wait_idle (f);
}

/* Eight clients write at once: the tunnel relays the eight messages in one main-loop wake-up,
 * and their SSH packets leave together (bastion-ssh-session.c, OUT_BATCH_MAX) instead of in one
 * send() each. Each client still gets exactly its own bytes back. */
static void
test_batched_sends (Fixture       *f,
                    gconstpointer  data)
{
  enum { N = 8 };
  int fds[N];
  guint64 packets_before, sends_before, packets, sends;
  gint64 guard = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (guint i = 0; i < N; i++)
    {
      fds[i] = connect_local (bastion_tunnel_get_local_port (f->tunnel));
      g_assert_cmpint (fds[i], >=, 0);
    }
  while (bastion_tunnel_get_n_channels (f->tunnel) < N)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, guard);
    }
  /* Let the channel-open exchange settle (window adjustments and the like). */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);

  bastion_ssh_session_get_output_stats (f->session, &packets_before, &sends_before);
  for (guint i = 0; i < N; i++)
    {
      char msg[64];
      int len = g_snprintf (msg, sizeof msg, "message from client %u", i);

      g_assert_cmpint (send (fds[i], msg, len, MSG_NOSIGNAL), ==, len);
    }
  for (guint i = 0; i < N; i++)
    {
      char expected[64];
      char got[64] = "";
      gsize have = 0;
      int len = g_snprintf (expected, sizeof expected, "message from client %u", i);

      while (have < (gsize)len)
        {
          ssize_t n = recv (fds[i], got + have, len - have, MSG_DONTWAIT);

          if (n > 0)
            have += n;
          else
            {
              g_assert_true (n < 0 && errno == EAGAIN);
              g_main_context_iteration (NULL, TRUE);
              g_assert_cmpint (g_get_monotonic_time (), <, guard);
            }
        }
      g_assert_cmpmem (got, have, expected, len);
    }
  bastion_ssh_session_get_output_stats (f->session, &packets, &sends);
  g_test_message ("%" G_GUINT64_FORMAT " SSH packets in %" G_GUINT64_FORMAT " send() calls",
                  packets - packets_before, sends - sends_before);
  g_assert_cmpuint (packets - packets_before, >=, N);
  /* Unbatched, every packet took a send() of its own. */
  g_assert_cmpuint (sends - sends_before, <=, (packets - packets_before) / 2);

  for (guint i = 0; i < N; i++)
    close (fds[i]);
  wait_idle (f);
}

/* Every cipher Bastion offers, each through its own session: the AEAD ones run through our
 * libssh2 patches (whole runs of a packet per OpenSSL call), so each gets several channels of
 * odd-sized writes both ways, every byte checked; under test-tunnel-rekey the sshd also rekeys
 * every 8 MB meanwhile. */
#define CIPHER_TEST_SIZE (24 * 1024 * 1024 + 4099)   /* odd: the last packet is short */

static void
test_ciphers (Fixture       *f,
              gconstpointer  data)
{
  static const char * const ciphers[] = {
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    "aes128-ctr", "aes256-ctr",
  };
  for (guint i = 0; i < G_N_ELEMENTS (ciphers); i++)
    {
      g_autoptr(GError) error = NULL;

      bastion_tunnel_stop (f->tunnel);
      g_clear_object (&f->tunnel);
      g_clear_object (&f->session);
      f->session = test_session_new (f->tmp);
      bastion_ssh_session_set_ciphers (f->session, ciphers[i]);
      g_assert_true (start_tunnel (f, "127.0.0.1", f->echo->port, 0, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (bastion_ssh_session_get_cipher (f->session), ==, ciphers[i]);
      run_echo_clients (f, 3, CIPHER_TEST_SIZE);
      wait_idle (f);
      g_assert_cmpuint (bastion_tunnel_get_bytes_out (f->tunnel), ==, 3 * CIPHER_TEST_SIZE);
      g_assert_cmpuint (bastion_tunnel_get_bytes_in (f->tunnel), ==, 3 * CIPHER_TEST_SIZE);
    }
}

typedef struct
{
  guint16 port;
  int     result;    /* bytes echoed, or -1 */
  gint    done;
} PingClient;

static gpointer
ping_thread (gpointer data)
{
  PingClient *p = data;
  int fd = connect_local (p->port);
  char buf[16];
  ssize_t n;

  p->result = -1;
  if (fd >= 0)
    {
      if (send (fd, "ping", 4, MSG_NOSIGNAL) == 4)
        {
          shutdown (fd, SHUT_WR);
          p->result = 0;
          while ((n = recv (fd, buf, sizeof buf, 0)) > 0)
            p->result += n;
          if (n < 0)
            p->result = -1;
        }
      close (fd);
    }
  g_atomic_int_set (&p->done, 1);
  return NULL;
}

static int
ping (guint16 port)
{
  PingClient p = { port, -1, 0 };
  GThread *t = g_thread_new ("ping", ping_thread, &p);
  gint64 guard = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (&p.done))
    {
      g_main_context_iteration (NULL, FALSE);
      if (!g_main_context_pending (NULL))
        g_usleep (200);
      if (g_get_monotonic_time () > guard)
        g_error ("ping did not finish");
    }
  g_thread_join (t);
  return p.result;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gsize
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + 6, NULL, 10);
}

static void
test_fd_cycles (Fixture       *f,
                gconstpointer  data)
{
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  guint before;
  guint after;
  gsize rss_before;
  gsize rss_after;

  /* Warm up (first allocations, the echo server's threads, malloc's arenas). */
  for (guint i = 0; i < 50; i++)
    g_assert_cmpint (ping (port), ==, 4);
  wait_idle (f);
  before = count_fds ();
  rss_before = rss_kib ();

  for (guint i = 0; i < 1000; i++)
    g_assert_cmpint (ping (port), ==, 4);
  wait_idle (f);
  after = count_fds ();
  rss_after = rss_kib ();

  g_test_message ("1000 cycles: fds %u -> %u, RSS %zu -> %zu KiB", before, after, rss_before,
                  rss_after);
  g_assert_cmpuint (after, <=, before);
  /* Each cycle allocates 512 KiB of relay buffers: leaking them, or more than 8 KiB per
   * connection of anything else, breaks this bound. */
  g_assert_cmpuint (rss_after, <, rss_before + 8 * 1024);
  g_assert_cmpuint (bastion_tunnel_get_n_channels (f->tunnel), ==, 0);
}

static void
test_db_unreachable (Fixture       *f,
                     gconstpointer  data)
{
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  EchoClient *busy = g_new0 (EchoClient, 1);
  GThread *t;

  /* A long transfer in progress ... */
  busy->port = port;
  busy->size = 64 * 1024 * 1024;
  busy->seed = 7;
  t = g_thread_new ("busy", echo_client_thread, busy);
  while (bastion_tunnel_get_n_channels (f->tunnel) == 0)
    g_main_context_iteration (NULL, TRUE);

  /* ... then the database stops accepting: a new client is closed, with nothing echoed. */
  echo_server_stop_listening (f->echo);
  g_assert_cmpint (ping (port), <=, 0);

  /* The transfer already under way is unharmed. */
  wait_clients (busy, 1);
  g_thread_join (t);
  g_assert_cmpuint (busy->received, ==, busy->size);
  g_assert_cmpstr (busy->received_sha, ==, busy->sent_sha);
  echo_client_clear (busy);
  g_free (busy);
  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_READY);
}

typedef struct
{
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Communicate;

static void
on_communicated (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communicate *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &c->out, &c->err,
                                        &c->error);
  c->done = TRUE;
}

static void
test_psql (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionTunnel) pg_tunnel = NULL;
  g_autoptr(BastionSshSession) session = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *password = NULL;
  g_autofree char *port = NULL;
  TestResult r = { 0 };
  Communicate c = { 0 };

  if (g_getenv ("BASTION_TEST_PG_PORT") == NULL)
    {
      g_test_skip ("no PostgreSQL in this run");
      return;
    }

  /* One tunnel per session: the database's own. */
  session = test_session_new (f->tmp);
  pg_tunnel = bastion_tunnel_new (session, test_env ("BASTION_TEST_PG_HOST"),
                                  atoi (test_env ("BASTION_TEST_PG_PORT")), 0);
  bastion_tunnel_start_async (pg_tunnel, NULL, test_on_tunnel_started, &r);
  test_wait_for (&r.done);
  g_assert_no_error (r.error);

  password = test_read_file (test_env ("BASTION_TEST_PG_PASSWORD_FILE"));
  port = g_strdup_printf ("%u", bastion_tunnel_get_local_port (pg_tunnel));
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* Only the test hands psql the password this way. */
  g_subprocess_launcher_setenv (launcher, "PGPASSWORD", password, TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, "psql", "-X", "-A", "-t",
                                      "-h", "127.0.0.1", "-p", port,
                                      "-U", test_env ("BASTION_TEST_PG_USER"),
                                      "-d", test_env ("BASTION_TEST_PG_DB"),
                                      "-c", "select name from project order by name",
                                      "-c", "select count(*) from model",
                                      "-c", "select count(*) from device",
                                      NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_communicated, &c);
  test_wait_for (&c.done);
  g_assert_no_error (c.error);
  g_subprocess_wait (proc, NULL, NULL);
  if (!g_subprocess_get_successful (proc))
    g_error ("psql failed: %s", c.err);

  /* The seed data of a fresh SimpleIOT install. */
  g_assert_cmpstr (c.out, ==, "Sunshine\n6\n5\n");
  g_free (c.out);
  g_free (c.err);

  bastion_tunnel_stop (pg_tunnel);
}

static gboolean
count_tick (gpointer data)
{
  guint *ticks = data;

  (*ticks)++;
  return G_SOURCE_CONTINUE;
}

/* A tunnel without clients for five keepalive intervals: still ready (no false "dead"), the
 * relay thread nearly idle (no busy loop on unread keepalive replies), and still working. */
static void
test_idle (Fixture       *f,
           gconstpointer  data)
{
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  struct rusage before;
  struct rusage after;
  guint ticks = 0;
  guint id;
  double cpu;

  g_object_set (f->session, "keepalive-interval", 1, NULL);
  g_assert_cmpint (ping (port), ==, 4);
  wait_idle (f);

  getrusage (RUSAGE_SELF, &before);
  id = g_timeout_add_seconds (1, count_tick, &ticks);
  while (ticks < 5)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  getrusage (RUSAGE_SELF, &after);
  cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
        (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
        ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
         (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) / 1e6;

  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_READY);
  g_test_message ("5 s idle with 1 s keepalives: %.3f s of CPU", cpu);
  /* A busy loop detector, not a speed test: spinning on the keepalive replies costs a whole
   * core (5 s here); a shared, loaded machine may charge an idle relay a good deal more than
   * it needs, so the bound is half of that. */
  g_assert_cmpfloat (cpu, <, 2.5);
  g_assert_cmpint (ping (port), ==, 4);
}

/* stop() from the owner's thread while the I/O thread is in the middle of a transfer, then the
 * last reference dropped at once: stop() returns with the listener, the client and the session
 * closed (CLOSED, no client), the client sees its connection end, and nothing of the tunnel is
 * used afterwards (ASan and Valgrind watch the reports still on their way). */
static void
test_stop_mid_transfer (Fixture       *f,
                        gconstpointer  data)
{
  EchoClient *busy = g_new0 (EchoClient, 1);
  GThread *t;

  busy->port = bastion_tunnel_get_local_port (f->tunnel);
  busy->size = G_GUINT64_CONSTANT (4) * 1024 * 1024 * 1024;
  busy->seed = 13;
  t = g_thread_new ("busy", echo_client_thread, busy);
  while (bastion_tunnel_get_bytes_in (f->tunnel) < 8 * 1024 * 1024)
    g_main_context_iteration (NULL, TRUE);

  bastion_tunnel_stop (f->tunnel);
  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_CLOSED);
  g_assert_cmpuint (bastion_tunnel_get_n_clients (f->tunnel), ==, 0);
  g_assert_cmpuint (bastion_tunnel_get_n_channels (f->tunnel), ==, 0);
  g_assert_cmpint (bastion_ssh_session_get_stage (f->session), ==, BASTION_SSH_STAGE_CLOSED);
  g_clear_object (&f->tunnel);

  wait_clients (busy, 1);
  g_thread_join (t);
  g_assert_cmpuint (busy->received, <, busy->size);
  echo_client_clear (busy);
  g_free (busy);

  /* The reports that were on their way find nothing to do. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* ---- Back-pressure ------------------------------------------------------------------------- */

typedef struct
{
  int       listen_fd;
  guint16   port;
  GThread  *thread;
  gboolean  upload;     /* FALSE: the server sends SIZE bytes; TRUE: it reads them, once GO */
  guint64   size;
  guint64   moved;
  gint      go;
  gint      done;
  char     *sha;
} LazyServer;

/* Sends all of BUF with a non-blocking socket; sets *STALLED once no byte could be sent for 2 s
 * (the far side stopped taking data), then keeps waiting. */
static gboolean
send_all_noting_stall (int           fd,
                       const guint8 *buf,
                       gsize         len,
                       gint         *stalled)
{
  gsize off = 0;

  while (off < len)
    {
      ssize_t w = send (fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (w > 0)
        {
          off += w;
          continue;
        }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          struct pollfd pfd = { fd, POLLOUT, 0 };

          if (poll (&pfd, 1, g_atomic_int_get (stalled) ? -1 : 2000) == 0)
            g_atomic_int_set (stalled, 1);
          continue;
        }
      if (w < 0 && errno == EINTR)
        continue;
      return FALSE;
    }
  return TRUE;
}

static gint lazy_stalled;

static gpointer
lazy_server_thread (gpointer data)
{
  LazyServer *server = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (128 * 1024);
  guint32 state = 12345;
  int fd = accept (server->listen_fd, NULL, NULL);

  g_assert_cmpint (fd, >=, 0);
  if (!server->upload)
    {
      while (server->moved < server->size)
        {
          fill_random (&state, buf, 128 * 1024);
          g_checksum_update (sha, buf, 128 * 1024);
          if (!send_all_noting_stall (fd, buf, 128 * 1024, &lazy_stalled))
            break;
          server->moved += 128 * 1024;
        }
      shutdown (fd, SHUT_WR);
    }
  else
    {
      ssize_t n;

      while (!g_atomic_int_get (&server->go))
        g_usleep (1000);
      while ((n = recv (fd, buf, 128 * 1024, 0)) > 0)
        {
          g_checksum_update (sha, buf, n);
          server->moved += n;
        }
    }
  server->sha = g_strdup (g_checksum_get_string (sha));
  close (fd);
  g_atomic_int_set (&server->done, 1);
  return NULL;
}

typedef struct
{
  int      fd;
  guint64  size;
  guint64  moved;
  gint     done;
  char    *sha;
} LazyClient;

static gpointer
lazy_upload_thread (gpointer data)
{
  LazyClient *c = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (128 * 1024);
  guint32 state = 54321;

  while (c->moved < c->size)
    {
      fill_random (&state, buf, 128 * 1024);
      g_checksum_update (sha, buf, 128 * 1024);
      if (!send_all_noting_stall (c->fd, buf, 128 * 1024, &lazy_stalled))
        break;
      c->moved += 128 * 1024;
    }
  shutdown (c->fd, SHUT_WR);
  c->sha = g_strdup (g_checksum_get_string (sha));
  g_atomic_int_set (&c->done, 1);
  return NULL;
}

static gpointer
lazy_download_thread (gpointer data)
{
  LazyClient *c = data;
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (128 * 1024);
  ssize_t n;

  while ((n = recv (c->fd, buf, 128 * 1024, 0)) > 0)
    {
      g_checksum_update (sha, buf, n);
      c->moved += n;
    }
  c->sha = g_strdup (g_checksum_get_string (sha));
  g_atomic_int_set (&c->done, 1);
  return NULL;
}

static void
iterate_until (gint *flag)
{
  gint64 guard = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (flag))
    {
      g_main_context_iteration (NULL, FALSE);
      if (!g_main_context_pending (NULL))
        g_usleep (500);
      if (g_get_monotonic_time () > guard)
        g_error ("timed out");
    }
}

/* A side that stops taking data stops the other side, whichever way the data flows, and the
 * relay's memory stays bounded; once it takes data again, everything arrives intact. */
static void
run_backpressure (Fixture  *f,
                  gboolean  upload)
{
  g_autoptr(BastionTunnel) tunnel = NULL;
  g_autoptr(BastionSshSession) session = NULL;
  LazyServer server = { 0 };
  LazyClient client = { 0 };
  struct sockaddr_in sin = { 0 };
  socklen_t len = sizeof sin;
  TestResult r = { 0 };
  GThread *server_thread;
  GThread *client_thread;
  gsize rss_before;
  gsize rss_stalled;
  int small = 64 * 1024;

  server.listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (server.listen_fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (server.listen_fd, 4), ==, 0);
  getsockname (server.listen_fd, (struct sockaddr *)&sin, &len);
  server.port = ntohs (sin.sin_port);
  server.upload = upload;
  server.size = client.size = 256 * 1024 * 1024;
  g_atomic_int_set (&lazy_stalled, 0);

  session = test_session_new (f->tmp);
  tunnel = bastion_tunnel_new (session, "127.0.0.1", server.port, 0);
  bastion_tunnel_start_async (tunnel, NULL, test_on_tunnel_started, &r);
  test_wait_for (&r.done);
  g_assert_no_error (r.error);

  server_thread = g_thread_new ("lazy-server", lazy_server_thread, &server);
  client.fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (client.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sin.sin_port = htons (bastion_tunnel_get_local_port (tunnel));
  g_assert_cmpint (connect (client.fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);

  rss_before = rss_kib ();
  client_thread = upload ? g_thread_new ("lazy-up", lazy_upload_thread, &client) : NULL;

  /* The sender finds the path full ... */
  iterate_until (&lazy_stalled);
  rss_stalled = rss_kib ();
  g_test_message ("%s stalled after %" G_GUINT64_FORMAT " KiB; RSS %zu -> %zu KiB",
                  upload ? "upload" : "download",
                  (upload ? client.moved : server.moved) / 1024, rss_before, rss_stalled);
  g_assert_cmpuint (upload ? client.moved : server.moved, <, 64 * 1024 * 1024);
  g_assert_cmpuint (rss_stalled, <, rss_before + 24 * 1024);

  /* ... and everything flows once the receiver reads. */
  if (upload)
    g_atomic_int_set (&server.go, 1);
  else
    client_thread = g_thread_new ("lazy-down", lazy_download_thread, &client);
  iterate_until (&server.done);
  iterate_until (&client.done);
  g_thread_join (server_thread);
  g_thread_join (client_thread);
  g_assert_cmpuint (server.moved, ==, server.size);
  g_assert_cmpuint (client.moved, ==, client.size);
  g_assert_cmpstr (server.sha, ==, client.sha);

  close (client.fd);
  close (server.listen_fd);
  g_free (server.sha);
  g_free (client.sha);
  bastion_tunnel_stop (tunnel);
}

static void
test_backpressure_download (Fixture       *f,
                            gconstpointer  data)
{
  run_backpressure (f, FALSE);
}

static void
test_backpressure_upload (Fixture       *f,
                          gconstpointer  data)
{
  run_backpressure (f, TRUE);
}

/* ---- The bastion goes away ------------------------------------------------------------------ */

/* Every descendant of PID (not PID itself). */
static GArray *
descendants (int pid)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean grew = TRUE;

  g_array_append_val (pids, pid);
  while (grew)
    {
      g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
      const char *name;

      grew = FALSE;
      while ((name = g_dir_read_name (proc)) != NULL)
        {
          g_autofree char *path = NULL;
          g_autofree char *stat = NULL;
          const char *paren;
          int child = atoi (name);
          int ppid = 0;
          gboolean known = FALSE;

          if (child <= 0)
            continue;
          path = g_strdup_printf ("/proc/%s/stat", name);
          if (!g_file_get_contents (path, &stat, NULL, NULL))
            continue;
          /* "pid (comm) state ppid ..." */
          paren = strrchr (stat, ')');
          if (paren == NULL || sscanf (paren + 2, "%*c %d", &ppid) != 1)
            continue;
          for (guint i = 0; i < pids->len; i++)
            known |= g_array_index (pids, int, i) == child;
          if (known)
            continue;
          for (guint i = 0; i < pids->len; i++)
            {
              if (g_array_index (pids, int, i) == ppid)
                {
                  g_array_append_val (pids, child);
                  grew = TRUE;
                  break;
                }
            }
        }
    }
  g_array_remove_index (pids, 0);

  return pids;
}

static void
signal_pids (GArray *pids,
             int     sig)
{
  for (guint i = 0; i < pids->len; i++)
    kill (g_array_index (pids, int, i), sig);
}

static void
wait_stage (BastionTunnel   *tunnel,
            BastionSshStage  stage)
{
  gint64 guard = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (bastion_tunnel_get_stage (tunnel) != stage)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > guard)
        g_error ("the tunnel never reached stage %s", bastion_ssh_stage_to_string (stage));
    }
}

/* The keepalive notices a bastion that stopped answering, and the tunnel reconnects. */
static void
test_dead_peer (Fixture       *f,
                gconstpointer  data)
{
  int master = atoi (test_env ("BASTION_TEST_SSHD_PID"));
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  GArray *children;

  int idle_client;
  char c;

  /* A 1 s interval: dead after 3 s of silence. */
  g_object_set (f->session, "keepalive-interval", 1, NULL);
  g_assert_cmpint (ping (port), ==, 4);
  /* The ping's channel may still be closing: count only the idle client's. */
  wait_idle (f);

  /* A client that holds its connection open without traffic. */
  idle_client = connect_local (port);
  g_assert_cmpint (idle_client, >=, 0);
  while (bastion_tunnel_get_n_channels (f->tunnel) == 0)
    g_main_context_iteration (NULL, TRUE);

  /* The bastion freezes (its kernel still acknowledges TCP, so only keepalives tell). */
  children = descendants (master);
  g_assert_cmpuint (children->len, >, 0);
  signal_pids (children, SIGSTOP);

  wait_stage (f->tunnel, BASTION_SSH_STAGE_RECONNECTING);
  signal_pids (children, SIGCONT);
  g_array_unref (children);

  /* The idle client's connection was closed. */
  g_assert_cmpint (recv (idle_client, &c, 1, 0), <=, 0);
  close (idle_client);

  wait_stage (f->tunnel, BASTION_SSH_STAGE_READY);
  g_assert_cmpint (ping (port), ==, 4);
}

/* sshd killed mid-transfer, then restarted on the same port. Runs last: the harness's sshd is
 * replaced by one this test starts (and stops). */
static void
test_reconnect (Fixture       *f,
                gconstpointer  data)
{
  int master = atoi (test_env ("BASTION_TEST_SSHD_PID"));
  guint16 port = bastion_tunnel_get_local_port (f->tunnel);
  const char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", test_env ("BASTION_TEST_SSHD_CONFIG"),
                         NULL };
  EchoClient *busy = g_new0 (EchoClient, 1);
  PingClient waiting = { port, -1, 0 };
  g_autoptr(GError) error = NULL;
  GThread *busy_thread;
  GThread *waiting_thread;
  GArray *all;
  GPid sshd = 0;

  busy->port = port;
  busy->size = G_GUINT64_CONSTANT (8) * 1024 * 1024 * 1024;
  busy->seed = 11;
  busy_thread = g_thread_new ("busy", echo_client_thread, busy);
  while (bastion_tunnel_get_bytes_in (f->tunnel) < 8 * 1024 * 1024)
    g_main_context_iteration (NULL, TRUE);

  /* Kill the bastion: the listener and every connection. */
  all = descendants (master);
  kill (master, SIGKILL);
  signal_pids (all, SIGKILL);
  g_array_unref (all);

  /* The client of the killed transfer sees its connection closed. */
  wait_clients (busy, 1);
  g_thread_join (busy_thread);
  g_assert_cmpuint (busy->received, <, busy->size);
  echo_client_clear (busy);
  g_free (busy);

  wait_stage (f->tunnel, BASTION_SSH_STAGE_RECONNECTING);
  g_assert_cmpuint (bastion_tunnel_get_n_channels (f->tunnel), ==, 0);

  /* A client arriving during the outage waits ... */
  waiting_thread = g_thread_new ("waiting", ping_thread, &waiting);
  while (bastion_tunnel_get_n_clients (f->tunnel) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (g_atomic_int_get (&waiting.done));

  /* ... and gets through once the bastion is back. */
  g_assert_true (g_spawn_async (NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &sshd, &error));
  g_assert_no_error (error);
  while (!g_atomic_int_get (&waiting.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (waiting_thread);
  g_assert_cmpint (waiting.result, ==, 4);
  g_assert_cmpint (bastion_tunnel_get_stage (f->tunnel), ==, BASTION_SSH_STAGE_READY);
  g_assert_cmpint (ping (port), ==, 4);

  bastion_tunnel_stop (f->tunnel);
  all = descendants (sshd);
  kill (sshd, SIGTERM);
  signal_pids (all, SIGTERM);
  g_array_unref (all);
  waitpid (sshd, NULL, 0);
  g_spawn_close_pid (sshd);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/bastion/tunnel/loopback-only", test_loopback_only);
  ADD ("/bastion/tunnel/port-busy", test_port_busy);
  ADD ("/bastion/tunnel/psql", test_psql);
  ADD ("/bastion/tunnel/echo-200mb", test_echo_200mb);
  ADD ("/bastion/tunnel/concurrent-64", test_concurrent_64);
  ADD ("/bastion/tunnel/rekey", test_rekey);
  ADD ("/bastion/tunnel/ciphers", test_ciphers);
  ADD ("/bastion/tunnel/batched-sends", test_batched_sends);
  ADD ("/bastion/tunnel/db-unreachable", test_db_unreachable);
  ADD ("/bastion/tunnel/fd-cycles", test_fd_cycles);
  ADD ("/bastion/tunnel/backpressure-download", test_backpressure_download);
  ADD ("/bastion/tunnel/backpressure-upload", test_backpressure_upload);
  ADD ("/bastion/tunnel/idle", test_idle);
  ADD ("/bastion/tunnel/stop-mid-transfer", test_stop_mid_transfer);
  ADD ("/bastion/tunnel/dead-peer", test_dead_peer);
  ADD ("/bastion/tunnel/reconnect", test_reconnect);

#undef ADD

  return g_test_run ();
}
