/* test-bad-input.c: the rows of SECURITY.md's "Bad input matrix" about hostile or broken peers,
 * against real servers (tests/harness/with-servers). tests/meson.build runs one group of paths
 * per server set, with -p:
 *
 *   /bastion/bad-input/ssh/no-common-kex      --sshd --sshd-config 'KexAlgorithms sntrup761…'
 *   /bastion/bad-input/ssh/no-common-hostkey  --sshd --sshd-host-key dsa
 *                                             --sshd-config 'HostKeyAlgorithms ssh-dss'
 *   /bastion/bad-input/ssh/peer/…             no server: a listener thread in this program
 *   /bastion/bad-input/db/…                   --postgres
 *   /bastion/bad-input/aws/…                  --aws (canned replies of aws_endpoint.py)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gio/gio.h>

#include "bastion-aws.h"
#include "bastion-database.h"
#include "bastion-query.h"
#include "bastion-result-model.h"
#include "bastion-ssh-session.h"

static const char *
need_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL)
    g_error ("%s is not set: run this test under tests/harness/with-servers (see the top of "
             "test-bad-input.c for which servers each path needs)", name);

  return value;
}

/* Iterates the main loop until *slot is set; the guard only stops a hung test (the code under
 * test must fail by itself, long before). */
static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  gint64 guard = g_get_monotonic_time () + 240 * G_USEC_PER_SEC;

  while (*slot == NULL)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > guard)
        g_error ("hung: no result after 240 s");
    }

  return *slot;
}

static void
store_result (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” not found in the message: %s", needle, haystack);
}

/* ---------------------------------------------------------------------------------------------
 * SSH: a bastion with no algorithm in common
 */

static char *
make_tmpdir (void)
{
  g_autofree char *tmpl = g_build_filename (need_env ("BASTION_TEST_TMP"), "bad-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (tmpl));
  return g_steal_pointer (&tmpl);
}

/* A session to host:port that trusts the harness's known_hosts (when there is an sshd). */
static BastionSshSession *
session_new (const char *host,
             guint16     port)
{
  g_autofree char *tmp = make_tmpdir ();
  g_autofree char *own = g_build_filename (tmp, "bastion_known_hosts", NULL);
  g_autofree char *user = g_build_filename (tmp, "known_hosts", NULL);
  const char *known = g_getenv ("BASTION_TEST_SSH_KNOWN_HOSTS");
  BastionSshSession *session = bastion_ssh_session_new (host, port, g_get_user_name ());

  g_object_set (session,
                "auth-method", BASTION_AUTH_METHOD_PASSWORD,
                "user-known-hosts", known != NULL ? known : user,
                "bastion-known-hosts", own,
                NULL);
  bastion_ssh_session_set_password (session, "not-used");

  return session;
}

static gboolean
session_connect (BastionSshSession  *session,
                 GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, NULL, store_result,
                                     &result);
  return bastion_ssh_session_connect_finish (session, wait_for (&result), error);
}

/* The harness sshd must really be restricted as the test expects, or the test proves nothing. */
static void
assert_sshd_config_has (const char *line)
{
  g_autofree char *config = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (need_env ("BASTION_TEST_SSHD_CONFIG"), &config, NULL, &error);
  g_assert_no_error (error);
  assert_contains (config, line);
}

static void
check_no_common_algorithm (void)
{
  const char *host = need_env ("BASTION_TEST_SSH_HOST");
  guint16 port = atoi (need_env ("BASTION_TEST_SSH_PORT"));
  g_autoptr(BastionSshSession) session = session_new (host, port);
  g_autofree char *where = g_strdup_printf ("%s:%u", host, port);
  g_autoptr(GError) error = NULL;

  g_object_set (session, "connect-timeout", 60, NULL);
  g_assert_false (session_connect (session, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  /* The step, where, why, and what to do. */
  assert_contains (error->message, "SSH handshake");
  assert_contains (error->message, where);
  assert_contains (error->message, "SSH-2.0-OpenSSH");
  assert_contains (error->message, "offers no key exchange, host key or cipher algorithm");
  assert_contains (error->message, "Ask the bastion’s administrator to allow curve25519-sha256");
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
}

static void
test_ssh_no_common_kex (void)
{
  /* Post-quantum hybrid key exchange only: libssh2 1.11.1 has no sntrup761. */
  assert_sshd_config_has ("\nKexAlgorithms sntrup761x25519-sha512@openssh.com\n");
  check_no_common_algorithm ();
}

static void
test_ssh_no_common_hostkey (void)
{
  /* An old bastion with only a DSA host key: Bastion never accepts ssh-dss. */
  assert_sshd_config_has ("\nHostKeyAlgorithms ssh-dss\n");
  assert_sshd_config_has ("ssh_host_dsa_key\n");
  check_no_common_algorithm ();
}

/* ---------------------------------------------------------------------------------------------
 * SSH: a peer that breaks off or talks garbage (a listener thread of our own)
 */

typedef struct
{
  GSocket  *listener;
  guint16   port;
  GBytes   *send;        /* what the peer sends once it accepted */
  gboolean  hold_open;   /* keep the connection open after sending (until the client closes) */
  gboolean  wait_for_client_banner;
  GThread  *thread;
  gsize     received;    /* bytes the client sent */
} Peer;

static gpointer
peer_thread (gpointer data)
{
  Peer *peer = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) conn = g_socket_accept (peer->listener, NULL, &error);
  char buf[4096];
  gssize n;

  g_assert_no_error (error);
  g_socket_set_blocking (conn, TRUE);

  /* Like a server that has read the client's greeting before it answers. */
  while (peer->wait_for_client_banner && memchr (buf, '\n', peer->received) == NULL)
    {
      n = g_socket_receive (conn, buf + peer->received, sizeof buf - peer->received, NULL, NULL);
      if (n <= 0)
        break;
      peer->received += n;
    }

  if (peer->send != NULL && g_bytes_get_size (peer->send) > 0)
    {
      gsize len;
      const char *p = g_bytes_get_data (peer->send, &len);

      while (len > 0)
        {
          n = g_socket_send (conn, p, len, NULL, NULL);
          if (n <= 0)
            break;
          p += n;
          len -= n;
        }
    }

  /* A clean FIN, never a reset that could eat what we sent: shut down our side (unless the
   * peer holds the connection open), then read until the client closes. */
  if (!peer->hold_open)
    g_socket_shutdown (conn, FALSE, TRUE, NULL);
  while ((n = g_socket_receive (conn, buf, sizeof buf, NULL, NULL)) > 0)
    peer->received += n;
  g_socket_close (conn, NULL);

  return NULL;
}

static Peer *
peer_start (GBytes   *send,
            gboolean  hold_open,
            gboolean  wait_for_client_banner)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  peer->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (peer->listener, any, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (peer->listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (peer->listener, &error);
  g_assert_no_error (error);
  peer->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  peer->send = send;
  peer->hold_open = hold_open;
  peer->wait_for_client_banner = wait_for_client_banner;
  peer->thread = g_thread_new ("bad-peer", peer_thread, peer);

  return peer;
}

static void
peer_finish (Peer *peer)
{
  if (peer->thread != NULL)
    g_thread_join (peer->thread);
  g_socket_close (peer->listener, NULL);
  g_object_unref (peer->listener);
  g_clear_pointer (&peer->send, g_bytes_unref);
  g_free (peer);
}

/* Connects to a peer that sends send; returns the error, checked for step and place. */
static GError *
connect_to_peer (GBytes   *send,
                 gboolean  hold_open,
                 gboolean  wait_for_client_banner,
                 guint     timeout)
{
  Peer *peer = peer_start (send, hold_open, wait_for_client_banner);
  g_autoptr(BastionSshSession) session = session_new ("127.0.0.1", peer->port);
  g_autofree char *where = g_strdup_printf ("127.0.0.1:%u", peer->port);
  GError *error = NULL;

  g_object_set (session, "connect-timeout", timeout, NULL);
  g_assert_false (session_connect (session, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
  /* Our side closes on failure, so the peer thread ends. */
  g_clear_object (&session);
  g_thread_join (g_steal_pointer (&peer->thread));
  if (error->code == BASTION_SSH_ERROR_HANDSHAKE)
    {
      assert_contains (error->message, "The SSH handshake with ");
      assert_contains (error->message, where);
    }
  /* The client did talk SSH to it (its greeting at least). */
  g_assert_cmpuint (peer->received, >=, strlen ("SSH-2.0-"));
  peer_finish (peer);

  return error;
}

#define SERVER_BANNER "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"

static void
test_peer_closes_at_once (void)
{
  g_autoptr(GError) error = connect_to_peer (NULL, FALSE, TRUE, 60);

  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "closed the connection without sending an SSH greeting");
  assert_contains (error->message, "Check that port");
}

static void
test_peer_closes_after_banner (void)
{
  g_autoptr(GError) error =
    connect_to_peer (g_bytes_new_static (SERVER_BANNER, strlen (SERVER_BANNER)), FALSE, TRUE, 60);

  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "the server (SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3) closed "
                                   "the connection or sent data that is not valid SSH during "
                                   "the key exchange");
  assert_contains (error->message, "Try again");
}

static void
test_peer_closes_mid_kexinit (void)
{
  /* The banner, then the start of a KEXINIT packet that announces 1020 bytes and stops after
   * the cookie. */
  g_autoptr(GByteArray) data = g_byte_array_new ();
  static const guint8 head[] = { 0, 0, 0x03, 0xfc, 7, 20 /* SSH_MSG_KEXINIT */ };
  guint8 cookie[16];
  g_autoptr(GError) error = NULL;

  memset (cookie, 0x5a, sizeof cookie);
  g_byte_array_append (data, (const guint8 *) SERVER_BANNER, strlen (SERVER_BANNER));
  g_byte_array_append (data, head, sizeof head);
  g_byte_array_append (data, cookie, sizeof cookie);
  g_byte_array_append (data, (const guint8 *) "\0\0\0\x30" "curve25519-sha256,", 22);

  error = connect_to_peer (g_byte_array_free_to_bytes (g_steal_pointer (&data)), FALSE, TRUE,
                           60);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "closed the connection or sent data that is not valid SSH");
}

static void
test_peer_garbage_after_banner (void)
{
  /* A valid greeting, then 64 KiB of 0xff: the first "packet" would be 4 GiB long. The peer
   * keeps the connection open: Bastion must give up by itself, not wait. */
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 junk[65536];
  g_autoptr(GError) error = NULL;

  memset (junk, 0xff, sizeof junk);
  g_byte_array_append (data, (const guint8 *) SERVER_BANNER, strlen (SERVER_BANNER));
  g_byte_array_append (data, junk, sizeof junk);

  error = connect_to_peer (g_byte_array_free_to_bytes (g_steal_pointer (&data)), TRUE, TRUE, 120);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "sent data that is not valid SSH during the key exchange");
}

static void
test_peer_binary_garbage (void)
{
  /* No greeting at all: binary bytes (with NULs), connection held open. */
  guint8 junk[4096];
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) (i * 7);

  error = connect_to_peer (g_bytes_new (junk, sizeof junk), TRUE, FALSE, 120);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "the server did not answer as an SSH server does");
  assert_contains (error->message, "Check that port");
}

static void
test_peer_http_server (void)
{
  /* Another service on the port (a web server), which answers and closes. */
  static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";
  g_autoptr(GError) error =
    connect_to_peer (g_bytes_new_static (reply, strlen (reply)), FALSE, TRUE, 60);

  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE);
  assert_contains (error->message, "closed the connection without sending an SSH greeting");
}

static void
test_peer_endless_text (void)
{
  /* Text lines that never become "SSH-…", connection held open: the connect timeout ends it. */
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 200; i++)
    g_string_append_printf (text, "220 mail.example ESMTP line %u\r\n", i);

  error = connect_to_peer (g_string_free_to_bytes (g_steal_pointer (&text)), TRUE, TRUE, 2);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT);
  assert_contains (error->message, "did not answer within 2 s");
}

/* ---------------------------------------------------------------------------------------------
 * PostgreSQL: floods of notices and errors through one BastionDatabase
 */

static BastionDatabase *
db_connect (void)
{
  g_autofree char *password = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionDatabase) db = NULL;

  g_file_get_contents (need_env ("BASTION_TEST_PG_PASSWORD_FILE"), &password, NULL, &error);
  g_assert_no_error (error);
  g_strchomp (password);
  db = bastion_database_new ("127.0.0.1", atoi (need_env ("BASTION_TEST_PG_PORT")), "localhost",
                             need_env ("BASTION_TEST_PG_DB"), need_env ("BASTION_TEST_PG_USER"));
  bastion_database_set_password (db, password);
  bastion_database_set_connect_timeout (db, 30);
  bastion_database_connect_async (db, NULL, store_result, &result);
  g_assert_true (bastion_database_connect_finish (db, wait_for (&result), &error));
  g_assert_no_error (error);

  return g_steal_pointer (&db);
}

static BastionQuery *
db_run (BastionDatabase  *db,
        const char       *sql,
        GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  BastionQuery *query = bastion_query_new (db, sql);

  bastion_query_run_async (query, NULL, store_result, &result);
  bastion_query_run_finish (query, wait_for (&result), error);

  return query;
}

static void
assert_select_one (BastionDatabase *db)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = db_run (db, "select 1", &error);
  BastionResultModel *model = bastion_query_get_model (query);

  g_assert_no_error (error);
  g_assert_true (bastion_database_get_connected (db));
  g_assert_cmpuint (bastion_result_model_get_n_rows (model), ==, 1);
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 0, NULL, NULL), ==, "1");
}

/* A memory figure of this process in KiB: "VmRSS" (resident now) or "VmHWM" (peak). */
static gsize
status_kib (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, key);
  g_assert_nonnull (line);

  return g_ascii_strtoull (line + strlen (key), NULL, 10);
}

static gsize
rss_kib (void)
{
  return status_kib ("VmRSS");
}

typedef struct
{
  guint  count;
  char  *last;
} Notices;

static void
on_notice (BastionDatabase *db,
           const char      *severity,
           const char      *message,
           Notices         *notices)
{
  notices->count++;
  g_free (notices->last);
  notices->last = g_strdup_printf ("%s: %s", severity, message);
}

#define N_NOTICES 10000
/* Each notice ~250 bytes: 10,000 notices kept anywhere would be 2.5 MB per run. */
static const char notice_flood[] =
  "do $$ begin "
  "  for i in 1..10000 loop "
  "    raise notice 'flood % %', i, repeat('x', 240); "
  "  end loop; "
  "  raise exception 'the flood ends here' using errcode = 'P0001'; "
  "end $$";

static void
run_notice_flood (BastionDatabase *db,
                  Notices         *notices)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = NULL;

  notices->count = 0;
  query = db_run (db, notice_flood, &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_SERVER);
  assert_contains (error->message, "the flood ends here");
  g_assert_cmpstr (bastion_query_get_sqlstate (query), ==, "P0001");
  /* Every notice reported, in order, none lost or merged. */
  g_assert_cmpuint (notices->count, ==, N_NOTICES);
  g_assert_true (g_str_has_prefix (notices->last, "NOTICE: flood 10000 xxxx"));
}

static void
test_db_notice_flood (void)
{
  g_autoptr(BastionDatabase) db = db_connect ();
  Notices notices = { 0 };
  gsize before;
  gsize after;

  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* A read-only session refuses DO (it hides what it calls from the statement guard). */
  bastion_database_set_read_only_async (db, FALSE, NULL, store_result, &result);
  g_assert_true (bastion_database_set_read_only_finish (db, wait_for (&result), &error));
  g_assert_no_error (error);

  g_signal_connect (db, "notice", G_CALLBACK (on_notice), &notices);

  /* The first run warms up allocator and caches; three more must not grow memory by what
   * keeping the notices would cost (3 × 2.5 MB). */
  run_notice_flood (db, &notices);
  assert_select_one (db);
  before = rss_kib ();
  for (guint i = 0; i < 3; i++)
    run_notice_flood (db, &notices);
  after = rss_kib ();
  g_test_message ("RSS %" G_GSIZE_FORMAT " KiB before, %" G_GSIZE_FORMAT " KiB after 30,000 "
                  "notices; last error shown", before, after);
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): RSS says nothing here.
   * The normal build checks it. */
  g_test_message ("AddressSanitizer build: the memory bound is not checked");
#else
  g_assert_cmpuint (after, <, before + 4 * 1024);
#endif

  /* The session is still usable. */
  assert_select_one (db);
  g_free (notices.last);
}

static void
test_db_error_flood (void)
{
  g_autoptr(BastionDatabase) db = db_connect ();
  const char *bad[] = {
    "select from_nowhere from nowhere",              /* 42P01 */
    "select 1/0",                                    /* 22012 */
    "selct 1",                                       /* 42601 */
    "insert into project (id) values (gen_random_uuid ())",  /* 25006: read-only */
    "select 'x'::int",                               /* 22P02 */
  };
  const char *sqlstates[] = { "42P01", "22012", "42601", "25006", "22P02" };
  gsize before = 0;
  gsize after;

  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BastionQuery) query = db_run (db, bad[i % G_N_ELEMENTS (bad)], &error);

      /* Each one reported as what it is. */
      g_assert_nonnull (error);
      g_assert_true (error->domain == BASTION_DATABASE_ERROR);
      g_assert_true (error->code == BASTION_DATABASE_ERROR_SERVER ||
                     error->code == BASTION_DATABASE_ERROR_READ_ONLY);
      g_assert_cmpstr (bastion_query_get_sqlstate (query), ==,
                       sqlstates[i % G_N_ELEMENTS (sqlstates)]);
      g_assert_nonnull (bastion_query_get_error (query));
      if (i == 4)
        g_test_message ("e.g. %s", error->message);
      if (i == 199)
        before = rss_kib ();
    }
  after = rss_kib ();
  g_test_message ("RSS %" G_GSIZE_FORMAT " KiB after 200 errors, %" G_GSIZE_FORMAT " KiB after "
                  "2000", before, after);
  g_assert_cmpuint (after, <, before + 4 * 1024);

  assert_select_one (db);
}

/* ---------------------------------------------------------------------------------------------
 * AWS: replies the endpoint serves wrong (aws_endpoint.py's "canned" replies)
 */

static size_t
collect (char   *ptr,
         size_t  size,
         size_t  nmemb,
         void   *userdata)
{
  g_string_append_len (userdata, ptr, size * nmemb);
  return size * nmemb;
}

static void
control_post (const char *path,
              const char *json)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", need_env ("BASTION_TEST_AWS_CONTROL_URL"),
                                          path);
  g_autoptr(GString) reply = g_string_new (NULL);
  struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
  CURL *easy = curl_easy_init ();
  CURLcode code;
  long status = 0;

  curl_easy_setopt (easy, CURLOPT_URL, url);
  curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (easy, CURLOPT_WRITEDATA, reply);
  curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (easy, CURLOPT_POSTFIELDS, json);
  code = curl_easy_perform (easy);
  curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (easy);
  curl_slist_free_all (headers);
  g_assert_cmpint (code, ==, CURLE_OK);
  g_assert_cmpint (status, ==, 200);
}

/* Makes the endpoint answer action with status and body (JSON-quoted here). */
static void
can_reply (const char *action,
           guint       status,
           const char *content_type,
           const char *body,
           const char *extra)
{
  g_autofree char *quoted = g_strescape (body, NULL);
  g_autofree char *json =
    g_strdup_printf ("{\"canned\": {\"%s\": {\"status\": %u, \"content_type\": \"%s\", "
                     "\"body\": \"%s\"%s%s}}}",
                     action, status, content_type, quoted, extra ? ", " : "", extra ? extra : "");

  control_post ("reset", "{}");
  control_post ("state", json);
}

static BastionAws *
aws_new (void)
{
  need_env ("AWS_ENDPOINT_URL");
  return bastion_aws_new (NULL, NULL);
}

static GError *
get_secret_error (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  BastionAwsSecret *secret;
  GError *error = NULL;

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, store_result, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_null (secret);
  g_assert_nonnull (error);
  g_test_message ("GetSecretValue: %s", error->message);

  return error;
}

static GError *
describe_instance_error (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  BastionAwsInstance *instance;
  GError *error = NULL;

  bastion_aws_describe_instance_async (aws, "iot_dev_db_bastion_host", NULL, store_result,
                                       &result);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result), &error);
  g_assert_null (instance);
  g_assert_nonnull (error);
  g_test_message ("DescribeInstances: %s", error->message);

  return error;
}

static GError *
describe_group_error (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  BastionAwsSecurityGroup *group;
  GError *error = NULL;

  bastion_aws_describe_security_group_async (aws, "iot_dev_bastion_ssh_sg", NULL, store_result,
                                             &result);
  group = bastion_aws_describe_security_group_finish (aws, wait_for (&result), &error);
  g_assert_null (group);
  g_assert_nonnull (error);
  g_test_message ("DescribeSecurityGroups: %s", error->message);

  return error;
}

static GError *
authorize_error (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  GError *error = NULL;

  bastion_aws_authorize_ssh_async (aws, "sg-0bastion0000000001", "198.51.100.7/32", "Bastion",
                                   NULL, store_result, &result);
  g_assert_false (bastion_aws_authorize_ssh_finish (aws, wait_for (&result), &error));
  g_assert_nonnull (error);
  g_test_message ("AuthorizeSecurityGroupIngress: %s", error->message);

  return error;
}

/* After the bad replies: the same object works against the real endpoint again. */
static void
assert_aws_recovers (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;

  control_post ("reset", "{}");
  bastion_aws_describe_instance_async (aws, "iot_dev_db_bastion_host", NULL, store_result,
                                       &result);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (instance->state, ==, "running");
}

static const char html_page[] =
  "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
  "<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body>"
  "</html>\n";

static void
assert_cannot_read (const GError *error,
                    const char   *action)
{
  g_autofree char *expected = g_strdup_printf ("AWS answered %s with a reply Bastion cannot "
                                               "read.", action);

  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (error->message, expected);
}

static void
test_aws_ec2_bad_replies (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  struct { const char *what, *content_type, *body; } cases[] = {
    { "HTML page with HTTP 200", "text/html", html_page },
    { "plain text", "text/plain", "OK\n" },
    { "empty", "text/xml", "" },
    { "truncated XML", "text/xml;charset=UTF-8",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse "
      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n<requestId>1</requestId>\n"
      "<reservationSet><item><instancesSet><item><instanceId>i-0bas" },
    { "JSON instead of XML", "application/json", "{\"Reservations\": []}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) group_error = NULL;
      g_autoptr(GError) authorize = NULL;

      g_test_message ("%s", cases[i].what);
      can_reply ("DescribeInstances", 200, cases[i].content_type, cases[i].body, NULL);
      error = describe_instance_error (aws);
      assert_cannot_read (error, "DescribeInstances");
      assert_contains (error->message, "Check AWS_ENDPOINT_URL if it is set.");

      can_reply ("DescribeSecurityGroups", 200, cases[i].content_type, cases[i].body, NULL);
      group_error = describe_group_error (aws);
      assert_cannot_read (group_error, "DescribeSecurityGroups");

      /* Not taken for "the rule was added" (a captive portal answers 200 too). */
      can_reply ("AuthorizeSecurityGroupIngress", 200, cases[i].content_type, cases[i].body,
                 NULL);
      authorize = authorize_error (aws);
      assert_cannot_read (authorize, "AuthorizeSecurityGroupIngress");
    }

  assert_aws_recovers (aws);
}

static void
test_aws_ec2_wrong_shape (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GError) error = NULL;

  /* Well-formed XML of another API (S3's): not taken for an empty DescribeInstances. */
  can_reply ("DescribeInstances", 200, "text/xml",
             "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name></ListBucketResult>", NULL);
  error = describe_instance_error (aws);
  assert_cannot_read (error, "DescribeInstances");
  g_clear_error (&error);

  /* The right reply with instances that have no id: none of them is the bastion. */
  can_reply ("DescribeInstances", 200, "text/xml",
             "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceState><name>running</name></instanceState></item><item/></instancesSet>"
             "</item></reservationSet></DescribeInstancesResponse>", NULL);
  error = describe_instance_error (aws);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND);
  assert_contains (error->message, "There is no EC2 instance named “iot_dev_db_bastion_host”");
  g_clear_error (&error);

  /* A security group item without a group id. */
  can_reply ("DescribeSecurityGroups", 200, "text/xml",
             "<?xml version=\"1.0\"?><DescribeSecurityGroupsResponse><securityGroupInfo><item>"
             "<groupName>iot_dev_bastion_ssh_sg</groupName></item></securityGroupInfo>"
             "</DescribeSecurityGroupsResponse>", NULL);
  error = describe_group_error (aws);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (error->message, "AWS answered DescribeSecurityGroups without a group id.");

  assert_aws_recovers (aws);
}

static void
test_aws_http_error_page (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) secret_error = NULL;

  /* A proxy's HTML error page instead of AWS's XML or JSON error. */
  can_reply ("DescribeInstances", 502, "text/html", html_page, NULL);
  error = describe_instance_error (aws);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (error->message, "AWS answered DescribeInstances with HTTP 502 and a reply "
                                   "Bastion cannot read. Check AWS_ENDPOINT_URL if it is set.");

  can_reply ("GetSecretValue", 503, "text/html", html_page, NULL);
  secret_error = get_secret_error (aws);
  g_assert_error (secret_error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (secret_error->message, "AWS answered GetSecretValue with HTTP 503 and a reply "
                                          "Bastion cannot read.");

  assert_aws_recovers (aws);
}

static void
test_aws_secret_bad_replies (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  const char *unreadable[] = {
    html_page,
    "",
    "{\"ARN\": \"arn:aws:secretsmanager:us-west-2:123456789012:secret:x\", \"SecretStr",
    "[\"SecretString\", \"{}\"]",
    "null",
  };

  for (guint i = 0; i < G_N_ELEMENTS (unreadable); i++)
    {
      g_autoptr(GError) error = NULL;

      can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1", unreadable[i], NULL);
      error = get_secret_error (aws);
      assert_cannot_read (error, "GetSecretValue");
    }

  assert_aws_recovers (aws);
}

static void
test_aws_secret_contents (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GError) binary = NULL;
  g_autoptr(GError) not_json = NULL;
  g_autoptr(GError) no_password = NULL;
  g_autoptr(GError) null_password = NULL;

  /* A binary secret (SecretBinary, no SecretString). */
  can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1",
             "{\"Name\": \"SimpleIOT-db-password\", \"SecretBinary\": \"cGFzc3dvcmQ=\"}", NULL);
  binary = get_secret_error (aws);
  g_assert_error (binary, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (binary->message, "The secret “SimpleIOT-db-password” holds no text "
                                    "(SecretString)");
  assert_contains (binary->message, "Check db_password_key in the team config.");

  /* A plain-text secret (the password alone), not RDS's JSON. */
  can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1",
             "{\"Name\": \"SimpleIOT-db-password\", \"SecretString\": \"hunter2\"}", NULL);
  not_json = get_secret_error (aws);
  g_assert_error (not_json, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (not_json->message, "The secret “SimpleIOT-db-password” is not JSON with "
                                      "“username” and “password”.");
  /* Whatever the secret holds never appears in a message. */
  g_assert_null (strstr (not_json->message, "hunter2"));

  can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1",
             "{\"Name\": \"SimpleIOT-db-password\", "
             "\"SecretString\": \"{\\\"username\\\": \\\"dbadmin\\\", \\\"port\\\": 5432}\"}",
             NULL);
  no_password = get_secret_error (aws);
  g_assert_error (no_password, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (no_password->message, "The secret “SimpleIOT-db-password” has no "
                                         "“password”.");

  can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1",
             "{\"SecretString\": \"{\\\"username\\\": \\\"dbadmin\\\", \\\"password\\\": null}\"}",
             NULL);
  null_password = get_secret_error (aws);
  g_assert_error (null_password, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (null_password->message, "has no “password”");

  assert_aws_recovers (aws);
}

static void
test_aws_huge_reply (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GError) announced = NULL;
  g_autoptr(GError) streamed = NULL;
  gsize before = status_kib ("VmHWM");
  gsize after;

  /* 20 MiB with a Content-Length: refused from the headers on. */
  can_reply ("DescribeInstances", 200, "text/xml", "<item>x</item>\n",
             "\"size\": 20971520");
  announced = describe_instance_error (aws);
  g_assert_error (announced, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (announced->message, "AWS answered DescribeInstances with a reply larger than "
                                       "8 MiB, so Bastion stopped reading it. Check "
                                       "AWS_ENDPOINT_URL if it is set.");

  /* 20 MiB with no length, until the connection closes: stopped at 8 MiB while reading. */
  can_reply ("GetSecretValue", 200, "application/x-amz-json-1.1", "{\"SecretString\": \"aaaa",
             "\"size\": 20971520, \"length\": false");
  streamed = get_secret_error (aws);
  g_assert_error (streamed, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  assert_contains (streamed->message, "AWS answered GetSecretValue with a reply larger than "
                                      "8 MiB, so Bastion stopped reading it.");

  after = status_kib ("VmHWM");
  g_test_message ("Peak RSS %" G_GSIZE_FORMAT " KiB before, %" G_GSIZE_FORMAT " KiB after",
                  before, after);
  /* At most the 8 MiB buffer, never the 20 MiB reply (nor its copy). AddressSanitizer's
   * quarantine and redzones make the peak meaningless; the normal build checks it. */
#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("AddressSanitizer build: the memory bound is not checked");
#else
  g_assert_cmpuint (after, <, before + 16 * 1024);
#endif

  assert_aws_recovers (aws);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/bad-input/ssh/no-common-kex", test_ssh_no_common_kex);
  g_test_add_func ("/bastion/bad-input/ssh/no-common-hostkey", test_ssh_no_common_hostkey);
  g_test_add_func ("/bastion/bad-input/ssh/peer/closes-at-once", test_peer_closes_at_once);
  g_test_add_func ("/bastion/bad-input/ssh/peer/closes-after-banner",
                   test_peer_closes_after_banner);
  g_test_add_func ("/bastion/bad-input/ssh/peer/closes-mid-kexinit",
                   test_peer_closes_mid_kexinit);
  g_test_add_func ("/bastion/bad-input/ssh/peer/garbage-after-banner",
                   test_peer_garbage_after_banner);
  g_test_add_func ("/bastion/bad-input/ssh/peer/binary-garbage", test_peer_binary_garbage);
  g_test_add_func ("/bastion/bad-input/ssh/peer/http-server", test_peer_http_server);
  g_test_add_func ("/bastion/bad-input/ssh/peer/endless-text", test_peer_endless_text);
  g_test_add_func ("/bastion/bad-input/db/notice-flood", test_db_notice_flood);
  g_test_add_func ("/bastion/bad-input/db/error-flood", test_db_error_flood);
  g_test_add_func ("/bastion/bad-input/aws/ec2-unreadable", test_aws_ec2_bad_replies);
  g_test_add_func ("/bastion/bad-input/aws/ec2-wrong-shape", test_aws_ec2_wrong_shape);
  g_test_add_func ("/bastion/bad-input/aws/http-error-page", test_aws_http_error_page);
  g_test_add_func ("/bastion/bad-input/aws/secret-unreadable", test_aws_secret_bad_replies);
  g_test_add_func ("/bastion/bad-input/aws/secret-contents", test_aws_secret_contents);
  g_test_add_func ("/bastion/bad-input/aws/huge-reply", test_aws_huge_reply);

  return g_test_run ();
}
