/* test-ssh-session.c: BastionSshSession against the harness's real OpenSSH sshd
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "bastion-key-file-private.h"
#include "bastion-known-hosts.h"
#include "bastion-ssh-session.h"
#include "tunnel-test-util.h"

/* The CPU's own word, from the kernel: x86 "flags: ... aes ... pclmulqdq", arm64 "Features: ...
 * aes pmull". */
static gboolean
cpu_has_aes_gcm (void)
{
  g_autofree char *info = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL));
  lines = g_strsplit (info, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = NULL;

      if (!g_str_has_prefix (lines[i], "flags") && !g_str_has_prefix (lines[i], "Features"))
        continue;
      words = g_strsplit_set (lines[i], " \t", -1);
      return g_strv_contains ((const char * const *)words, "aes") &&
             (g_strv_contains ((const char * const *)words, "pclmulqdq") ||
              g_strv_contains ((const char * const *)words, "pmull"));
    }
  return FALSE;
}

static void
test_auth_pem_rsa (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GError) error = NULL;
  GPtrArray *stages = g_ptr_array_new ();

  g_signal_connect_swapped (session, "notify::stage", G_CALLBACK (g_ptr_array_add), stages);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
  /* AES-GCM where the CPU has AES-NI and PCLMULQDQ (read here from /proc/cpuinfo, not from the
   * compiler's CPU check the session uses), ChaCha20-Poly1305 elsewhere. */
  g_assert_cmpstr (bastion_ssh_session_get_cipher (session), ==,
                   cpu_has_aes_gcm () ? "aes128-gcm@openssh.com"
                                      : "chacha20-poly1305@openssh.com");
  g_assert_true (g_str_has_prefix (bastion_ssh_session_default_ciphers (),
                                   bastion_ssh_session_get_cipher (session)));
  g_assert_true (bastion_ssh_session_is_alive (session));
  g_assert_cmpuint (stages->len, >=, 4);

  bastion_ssh_session_disconnect (session);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_CLOSED);
  g_assert_false (bastion_ssh_session_is_alive (session));
  g_ptr_array_free (stages, TRUE);
}

static void
test_auth_ed25519_passphrase (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *passphrase = test_read_file (test_env ("BASTION_TEST_SSH_PASSPHRASE_FILE"));
  g_autoptr(GError) error = NULL;
  gboolean encrypted = FALSE;

  g_assert_true (bastion_ssh_key_file_is_encrypted (test_env ("BASTION_TEST_SSH_ED25519_KEY"),
                                                    &encrypted, &error));
  g_assert_true (encrypted);
  g_assert_true (bastion_ssh_key_file_is_encrypted (test_env ("BASTION_TEST_SSH_KEY"),
                                                    &encrypted, &error));
  g_assert_false (encrypted);

  g_object_set (session, "key-file", test_env ("BASTION_TEST_SSH_ED25519_KEY"), NULL);
  /* The key is encrypted with OpenSSH's bcrypt KDF (16 rounds), which libssh2 runs once per
   * login to sign (Bastion hands it the public key from the file), in a thread. Under Valgrind
   * that alone takes longer than the 15 s login timeout (SECURITY.md, Valgrind table): give the
   * login time there, not elsewhere. */
  if (RUNNING_ON_VALGRIND)
    g_object_set (session, "connect-timeout", 600, NULL);

  /* No passphrase: refused before any network traffic, saying what is missing. */
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED);
  g_clear_error (&error);

  /* A wrong one. */
  bastion_ssh_session_set_passphrase (session, "not the passphrase");
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE);
  g_assert_nonnull (strstr (error->message, "passphrase"));
  g_clear_error (&error);

  bastion_ssh_session_set_passphrase (session, passphrase);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
}

/* Holds the thread that reads the key file until the test lets it go. */
typedef struct
{
  GMutex    lock;
  GCond     cond;
  GThread  *main_thread;
  GThread  *reader;
  guint     entered : 1;
  guint     released : 1;
} ReadGate;

static void
read_gate_hook (const char *path,
                gpointer    user_data)
{
  ReadGate *gate = user_data;

  g_mutex_lock (&gate->lock);
  gate->reader = g_thread_self ();
  gate->entered = TRUE;
  /* On the main thread, waiting would hang the test instead of failing it. */
  while (gate->reader != gate->main_thread && !gate->released)
    {
      g_main_context_wakeup (NULL);
      g_cond_wait (&gate->cond, &gate->lock);
    }
  g_mutex_unlock (&gate->lock);
}

static gboolean
read_gate_entered (ReadGate *gate)
{
  gboolean entered;

  g_mutex_lock (&gate->lock);
  entered = gate->entered;
  g_mutex_unlock (&gate->lock);

  return entered;
}

static gboolean
count_tick (gpointer data)
{
  guint *ticks = data;

  (*ticks)++;
  return G_SOURCE_CONTINUE;
}

/* Nothing blocks the main loop: the key file is read in another thread while the loop runs on,
 * and the login completes once the read may go on. */
static void
test_auth_key_file_off_main_loop (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  ReadGate gate = { 0 };
  TestResult r = { 0 };
  guint ticks = 0;
  guint tick_id;

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.main_thread = g_thread_self ();
  _bastion_key_file_set_read_hook (read_gate_hook, &gate);

  bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, NULL, test_on_connected,
                                     &r);
  while (!read_gate_entered (&gate) && !r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (read_gate_entered (&gate));
  g_assert_true (gate.reader != gate.main_thread);
  g_assert_false (r.done);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_AUTHENTICATING);

  /* The read is held: the main loop still dispatches, and the login waits for the key. */
  tick_id = g_timeout_add (10, count_tick, &ticks);
  while (ticks < 3)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  g_assert_false (r.done);

  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);

  test_wait_for (&r.done);
  _bastion_key_file_set_read_hook (NULL, NULL);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
  bastion_ssh_session_disconnect (session);

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
}

/* A key file that disappears between connects is reported by name, from the thread's check. */
static void
test_auth_key_file_missing (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autofree char *key = g_build_filename (tmp, "no-such-key.pem", NULL);
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GError) error = NULL;

  g_object_set (session, "key-file", key, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE);
  g_assert_nonnull (strstr (error->message, key));
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
}

static void
test_auth_agent (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autofree char *sock = g_build_filename (tmp, "agent.sock", NULL);
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GError) error = NULL;
  g_autofree char *old_sock = g_strdup (g_getenv ("SSH_AUTH_SOCK"));
  const char *agent_argv[] = { "ssh-agent", "-D", "-a", sock, NULL };
  const char *add_argv[] = { "ssh-add", "-q", test_env ("BASTION_TEST_SSH_KEY"), NULL };
  GPid agent_pid = 0;
  int status = -1;
  gboolean up = FALSE;

  g_assert_true (g_spawn_async (NULL, (char **)agent_argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &agent_pid, &error));
  g_assert_no_error (error);
  /* Wait for the agent's socket. */
  for (int i = 0; i < 2000 && !up; i++)
    {
      up = g_file_test (sock, G_FILE_TEST_EXISTS);
      if (!up)
        g_usleep (5000);
    }
  g_assert_true (up);

  g_setenv ("SSH_AUTH_SOCK", sock, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **)add_argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_object_set (session, "auth-method", BASTION_AUTH_METHOD_AGENT, "key-file", NULL, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
  bastion_ssh_session_disconnect (session);

  kill (agent_pid, SIGTERM);
  waitpid (agent_pid, NULL, 0);
  g_spawn_close_pid (agent_pid);

  /* The agent is gone: a clear failure, not a hang. */
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "agent"));

  if (old_sock != NULL)
    g_setenv ("SSH_AUTH_SOCK", old_sock, TRUE);
  else
    g_unsetenv ("SSH_AUTH_SOCK");
}

static void
test_auth_password (void)
{
  const char *user = g_getenv ("BASTION_TEST_SSH_PASSWORD_USER");
  g_autofree char *tmp = NULL;
  g_autoptr(BastionSshSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;

  if (user == NULL)
    {
      g_test_skip ("the harness has no password user (with-servers --sshd-password, as root)");
      return;
    }

  tmp = test_tmpdir ();
  session = test_session_new (tmp);
  password = test_read_file (test_env ("BASTION_TEST_SSH_PASSWORD_FILE"));
  g_object_set (session, "user", user, "auth-method", BASTION_AUTH_METHOD_PASSWORD,
                "key-file", NULL, NULL);

  bastion_ssh_session_set_password (session, "wrong password");
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "password"));
  g_clear_error (&error);

  bastion_ssh_session_set_password (session, password);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
}

static void
test_auth_failure_lists_methods (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GError) error = NULL;

  g_object_set (session, "user", "nobody-here", NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED);
  /* What the server offered, and what was tried. */
  g_assert_nonnull (strstr (error->message, "publickey"));
  g_assert_nonnull (strstr (error->message, "key file"));
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
}

static void
on_trusted (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  TestResult *r = user_data;

  r->ok = bastion_ssh_session_trust_host_key_finish (BASTION_SSH_SESSION (object), result,
                                                     &r->error);
  r->done = TRUE;
}

/* Trusts the key the session met, and waits for the thread that writes it. */
static gboolean
trust_host_key (BastionSshSession  *session,
                GError            **error)
{
  TestResult r = { 0 };

  bastion_ssh_session_trust_host_key_async (session, NULL, on_trusted, &r);
  /* Answered from the main loop, never from within the call. */
  g_assert_false (r.done);
  test_wait_for (&r.done);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}

static void
test_hostkey_unknown (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *none = g_build_filename (tmp, "no-such-file", NULL);
  g_autofree char *own = g_build_filename (tmp, "bastion_known_hosts", NULL);
  g_autoptr(GError) error = NULL;

  g_object_set (session, "user-known-hosts", none, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN);
  /* The fingerprint exactly as `ssh-keygen -l -E sha256` prints it. */
  g_assert_cmpstr (bastion_ssh_session_get_host_key_fingerprint (session), ==,
                   test_env ("BASTION_TEST_SSH_FINGERPRINT"));
  g_assert_nonnull (strstr (error->message, test_env ("BASTION_TEST_SSH_FINGERPRINT")));
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);
  g_assert_false (g_file_test (own, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* Probe only (bastion-cli hostkey): no failure, then trust it. */
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);
  g_assert_true (trust_host_key (session, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
  g_assert_true (g_file_test (own, G_FILE_TEST_EXISTS));

  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
}

static void
test_hostkey_accept_new (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *none = g_build_filename (tmp, "no-such-file", NULL);
  g_autofree char *own = g_build_filename (tmp, "sub", "dir", "known_hosts", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_object_set (session, "user-known-hosts", none, "bastion-known-hosts", own,
                "accept-new-host-key", TRUE, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);

  /* Written only to Bastion's own file, 0600, as [host]:port for a non-standard port. */
  g_assert_true (g_file_get_contents (own, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "[127.0.0.1]:"));
  g_assert_cmpint (g_stat (own, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));

  bastion_ssh_session_disconnect (session);
  g_object_set (session, "accept-new-host-key", FALSE, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
}

static void
run_ok (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
test_hostkey_hashed (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *file = g_build_filename (tmp, "known_hosts", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  contents = test_read_file (test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"));
  g_assert_true (g_file_set_contents (file, contents, -1, NULL));
  {
    const char *argv[] = { "ssh-keygen", "-H", "-f", file, NULL };
    run_ok (argv);
  }
  g_free (contents);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "|1|"));
  g_assert_null (strstr (contents, "127.0.0.1"));
  {
    /* A garbage line first: one bad line must not hide the rest. */
    g_autofree char *more = g_strconcat ("this line is not a known_hosts entry\n", contents, NULL);
    g_assert_true (g_file_set_contents (file, more, -1, NULL));
  }

  g_object_set (session, "user-known-hosts", file, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
}

/* Only the RSA host key is known: the session must ask for that type, not report it unknown. */
static void
test_hostkey_other_type (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *file = g_build_filename (tmp, "known_hosts", NULL);
  g_autofree char *all = test_read_file (test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"));
  g_auto(GStrv) lines = g_strsplit (all, "\n", -1);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], " ssh-rsa ") != NULL)
      g_assert_true (g_file_set_contents (file, lines[i], -1, NULL));

  g_object_set (session, "user-known-hosts", file, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
}

static void
test_hostkey_changed (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *key = g_build_filename (tmp, "other_ed25519", NULL);
  g_autofree char *pub_path = g_strconcat (key, ".pub", NULL);
  g_autofree char *pub = NULL;
  g_autofree char *file = g_build_filename (tmp, "known_hosts", NULL);
  g_autofree char *own = g_build_filename (tmp, "bastion_known_hosts", NULL);
  g_autofree char *line = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key, NULL };

  run_ok (argv);
  pub = test_read_file (pub_path);
  parts = g_strsplit (pub, " ", 3);
  line = g_strdup_printf ("[127.0.0.1]:%s %s %s\n", test_env ("BASTION_TEST_SSH_PORT"),
                          parts[0], parts[1]);
  g_assert_true (g_file_set_contents (file, line, -1, NULL));

  /* Refused, even with --accept-new, and nothing recorded. */
  g_object_set (session, "user-known-hosts", file, "accept-new-host-key", TRUE, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED);
  g_assert_nonnull (strstr (error->message, "CHANGED"));
  g_assert_false (g_file_test (own, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* A matching pin does not override a changed key either. */
  g_object_set (session, "host-key-pin", test_env ("BASTION_TEST_SSH_FINGERPRINT"), NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED);
  g_clear_error (&error);

  /* Nor can it be trusted through the probe. */
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, &error));
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_CHANGED);
  g_assert_false (trust_host_key (session, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_CHANGED);
  g_assert_false (g_file_test (own, G_FILE_TEST_EXISTS));
}

static void
test_hostkey_pinned (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *none = g_build_filename (tmp, "no-such-file", NULL);
  g_autofree char *unpadded = g_strdup (test_env ("BASTION_TEST_SSH_FINGERPRINT"));
  g_autoptr(GError) error = NULL;

  /* Pinned and matching: no known_hosts entry needed. */
  g_object_set (session, "user-known-hosts", none, "host-key-pin", unpadded, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_PIN_MATCH);
  bastion_ssh_session_disconnect (session);

  /* Pinned to another key: refused even though known_hosts trusts the server. */
  g_object_set (session, "user-known-hosts", test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"),
                "host-key-pin", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH);
}

static void
test_error_refused (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  /* A port bound but not listening refuses connections. */
  g_assert_true (g_socket_bind (sock, addr, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  g_object_set (session, "port", (guint)port, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_REFUSED);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
}

static void
test_error_dns (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GError) error = NULL;

  g_object_set (session, "host", "no-such-bastion.invalid", NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_DNS);
}

/* A server that accepts TCP but never speaks SSH: the timeout error, after connect-timeout. */
static void
test_error_timeout (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  guint16 port;

  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_object_set (session, "port", (guint)port, "host", "127.0.0.1", "connect-timeout", 1, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT);
}

static void
test_known_hosts_parser (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autofree char *file = g_build_filename (tmp, "kh", NULL);
  /* ssh-ed25519 blob of 51 bytes with a recognisable body. */
  guint8 blob[51] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
                      0, 0, 0, 32, 1 };
  guint8 other[51];
  g_autofree char *b64 = g_base64_encode (blob, sizeof blob);
  g_autofree char *contents = NULL;
  const char *files[] = { file, NULL };
  g_auto(GStrv) types = NULL;
  g_autoptr(GError) error = NULL;

  memcpy (other, blob, sizeof blob);
  other[50] = 7;

  contents = g_strdup_printf ("# comment\n"
                              "@cert-authority *.example ssh-ed25519 %s\n"
                              "gw.example,!bad.example ssh-ed25519 %s\n"
                              "*.wild.example ssh-ed25519 %s\n"
                              "[port.example]:2222 ssh-ed25519 %s\n",
                              b64, b64, b64, b64);
  g_assert_true (g_file_set_contents (file, contents, -1, NULL));

  g_assert_cmpint (bastion_known_hosts_check (files, "gw.example", 22, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_TRUSTED);
  g_assert_cmpint (bastion_known_hosts_check (files, "GW.Example", 22, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_TRUSTED);
  g_assert_cmpint (bastion_known_hosts_check (files, "gw.example", 22, other, sizeof other), ==,
                   BASTION_HOST_KEY_CHANGED);
  g_assert_cmpint (bastion_known_hosts_check (files, "gw.example", 2222, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_UNKNOWN);
  g_assert_cmpint (bastion_known_hosts_check (files, "a.wild.example", 22, blob, sizeof blob),
                   ==, BASTION_HOST_KEY_TRUSTED);
  g_assert_cmpint (bastion_known_hosts_check (files, "port.example", 2222, blob, sizeof blob),
                   ==, BASTION_HOST_KEY_TRUSTED);
  g_assert_cmpint (bastion_known_hosts_check (files, "x.example", 22, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_UNKNOWN);

  types = bastion_known_hosts_known_types (files, "gw.example", 22);
  g_assert_cmpuint (g_strv_length (types), ==, 1);
  g_assert_cmpstr (types[0], ==, "ssh-ed25519");

  /* @revoked wins. */
  g_assert_true (bastion_known_hosts_add (file, "new.example", 22, blob, sizeof blob, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_known_hosts_check (files, "new.example", 22, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_TRUSTED);
  {
    g_autofree char *more = NULL;
    g_autofree char *all = NULL;
    g_assert_true (g_file_get_contents (file, &all, NULL, NULL));
    more = g_strdup_printf ("%s@revoked * ssh-ed25519 %s\n", all, b64);
    g_assert_true (g_file_set_contents (file, more, -1, NULL));
  }
  g_assert_cmpint (bastion_known_hosts_check (files, "new.example", 22, blob, sizeof blob), ==,
                   BASTION_HOST_KEY_REVOKED);

  /* A pin may be written without "SHA256:". */
  {
    g_autofree char *fp = bastion_known_hosts_fingerprint (blob, sizeof blob);
    g_assert_true (g_str_has_prefix (fp, "SHA256:"));
    g_assert_null (strchr (fp, '='));
    g_assert_true (bastion_known_hosts_fingerprint_equal (fp + 7, blob, sizeof blob));
    g_assert_false (bastion_known_hosts_fingerprint_equal (fp, other, sizeof other));
  }
}

/* ---- The passphrase KDF and the known_hosts files do not block the main loop ---------------- */

/* Measures the main loop during the login: a 20 ms timeout counts its ticks and the longest
 * time between two of them while the session authenticates. */
typedef struct
{
  gint64  auth_start;
  gint64  auth_end;
  gint64  last;
  gint64  max_gap;
  guint   ticks;
  guint   counting : 1;
} LoopProbe;

static gboolean
probe_tick (gpointer data)
{
  LoopProbe *probe = data;
  gint64 now = g_get_monotonic_time ();

  if (probe->counting)
    {
      probe->ticks++;
      probe->max_gap = MAX (probe->max_gap, now - probe->last);
      probe->last = now;
    }

  return G_SOURCE_CONTINUE;
}

static void
probe_on_stage (BastionSshSession *session,
                GParamSpec        *pspec,
                LoopProbe         *probe)
{
  BastionSshStage stage = bastion_ssh_session_get_stage (session);
  gint64 now = g_get_monotonic_time ();

  if (stage == BASTION_SSH_STAGE_AUTHENTICATING)
    {
      probe->counting = TRUE;
      probe->auth_start = probe->last = now;
    }
  else if (probe->counting)
    {
      probe->counting = FALSE;
      probe->auth_end = now;
      probe->max_gap = MAX (probe->max_gap, now - probe->last);
    }
}

/* One bcrypt KDF run of the encrypted test key, by OpenSSH (`ssh-keygen -y` decrypts the key to
 * print its public key): its wall time in µs; *public_key gets what it printed. The passphrase
 * goes through SSH_ASKPASS (a script that reads the harness's file), not argv. */
static gint64
time_one_kdf (const char  *tmp,
              char       **public_key)
{
  g_autofree char *askpass = g_build_filename (tmp, "askpass.sh", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "ssh-keygen", "-y", "-f", test_env ("BASTION_TEST_SSH_ED25519_KEY"),
                         NULL };
  g_auto(GStrv) envp = g_get_environ ();
  gint64 start;
  int status = -1;

  g_assert_true (g_file_set_contents (askpass,
                                      "#!/bin/sh\nexec cat \"$BASTION_TEST_SSH_PASSPHRASE_FILE\"\n",
                                      -1, NULL));
  g_assert_cmpint (g_chmod (askpass, 0700), ==, 0);
  envp = g_environ_setenv (envp, "SSH_ASKPASS", askpass, TRUE);
  envp = g_environ_setenv (envp, "SSH_ASKPASS_REQUIRE", "force", TRUE);

  start = g_get_monotonic_time ();
  g_assert_true (g_spawn_sync (NULL, (char **)argv, envp,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL |
                               G_SPAWN_CHILD_INHERITS_STDIN,
                               NULL, NULL, &out, NULL, &status, &error));
  start = g_get_monotonic_time () - start;
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  {
    g_auto(GStrv) parts = g_strsplit (g_strstrip (out), " ", 3);

    g_assert_nonnull (parts[0]);
    g_assert_nonnull (parts[1]);
    *public_key = g_strdup_printf ("%s %s", parts[0], parts[1]);
  }

  return start;
}

/* A login with a passphrase-protected OpenSSH key: libssh2 runs the bcrypt KDF to sign, and
 * the main loop keeps running meanwhile (it runs in a thread). Not a speed test: the loop must
 * have ticked about as often as the login lasted, and never stalled as long as one KDF run. */
static void
test_auth_kdf_off_main_loop (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *passphrase = test_read_file (test_env ("BASTION_TEST_SSH_PASSPHRASE_FILE"));
  g_autofree char *key_text = test_read_file (test_env ("BASTION_TEST_SSH_ED25519_KEY"));
  g_autofree char *ours = NULL;
  g_autofree char *openssh = NULL;
  LoopProbe probe = { 0 };
  TestResult r = { 0 };
  gint64 kdf_us, auth_us;
  guint tick_id;

  /* (a) the public key Bastion hands libssh2 (no KDF) is the one OpenSSH derives. */
  kdf_us = time_one_kdf (tmp, &openssh);
  ours = bastion_key_file_dup_public_key (key_text, strlen (key_text));
  g_assert_cmpstr (ours, ==, openssh);

  g_object_set (session, "key-file", test_env ("BASTION_TEST_SSH_ED25519_KEY"), NULL);
  if (RUNNING_ON_VALGRIND)
    g_object_set (session, "connect-timeout", 600, NULL);
  bastion_ssh_session_set_passphrase (session, passphrase);
  g_signal_connect (session, "notify::stage", G_CALLBACK (probe_on_stage), &probe);

  tick_id = g_timeout_add (20, probe_tick, &probe);
  bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, NULL, test_on_connected,
                                     &r);
  test_wait_for (&r.done);
  g_source_remove (tick_id);
  g_signal_handlers_disconnect_by_data (session, &probe);

  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
  g_assert_cmpint (probe.auth_end, >, probe.auth_start);

  auth_us = probe.auth_end - probe.auth_start;
  g_test_message ("one KDF (ssh-keygen -y): %" G_GINT64_FORMAT " ms; login (authenticating "
                  "stage): %" G_GINT64_FORMAT " ms; loop ticks: %u (20 ms timer); longest gap: %"
                  G_GINT64_FORMAT " ms", kdf_us / 1000, auth_us / 1000, probe.ticks,
                  probe.max_gap / 1000);

  /* Valgrind runs one thread at a time: the loop cannot tick while the KDF thread runs there. */
  if (!RUNNING_ON_VALGRIND)
    {
      g_assert_cmpuint (probe.ticks, >=, (guint)(auth_us / (20 * 1000)) / 2);
      /* Without the thread the loop stalls for the whole signing KDF (one run, as long as
       * OpenSSH's), and the ticks above fall short too. */
      g_assert_cmpint (probe.max_gap, <, kdf_us / 2);
    }
  bastion_ssh_session_disconnect (session);
}

static void
auth_gate_hook (gpointer user_data)
{
  read_gate_hook (NULL, user_data);
}

static void
read_gate_release (ReadGate *gate)
{
  g_mutex_lock (&gate->lock);
  gate->released = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
}

/* Cancelled, disconnected or dropped while the thread is in libssh2 with the session: the caller
 * hears of it at once; the session is freed once the thread returns, not before; and the same
 * object can connect again at once. */
static void
test_auth_kdf_cancel (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autofree char *passphrase = test_read_file (test_env ("BASTION_TEST_SSH_PASSPHRASE_FILE"));
  BastionSshSession *session = test_session_new (tmp);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gpointer weak = session;
  guint ticks = 0;
  guint tick_id;

  g_object_add_weak_pointer (G_OBJECT (session), &weak);
  g_object_set (session, "key-file", test_env ("BASTION_TEST_SSH_ED25519_KEY"), NULL);
  if (RUNNING_ON_VALGRIND)
    g_object_set (session, "connect-timeout", 600, NULL);

  /* 1. disconnect() while the thread holds the session, then connect again. */
  {
    ReadGate gate = { 0 };
    TestResult r = { 0 };
    g_autoptr(GError) error = NULL;

    g_mutex_init (&gate.lock);
    g_cond_init (&gate.cond);
    gate.main_thread = g_thread_self ();
    _bastion_ssh_session_set_auth_thread_hook (auth_gate_hook, &gate);
    bastion_ssh_session_set_passphrase (session, passphrase);
    bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, NULL,
                                       test_on_connected, &r);
    while (!read_gate_entered (&gate) && !r.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (read_gate_entered (&gate));
    g_assert_true (gate.reader != gate.main_thread);
    g_assert_false (r.done);
    g_assert_cmpint (bastion_ssh_session_get_stage (session), ==,
                     BASTION_SSH_STAGE_AUTHENTICATING);

    bastion_ssh_session_disconnect (session);
    test_wait_for (&r.done);
    g_assert_false (r.ok);
    g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&r.error);
    g_assert_false (bastion_ssh_session_is_alive (session));

    /* The thread is still held: the main loop runs on. */
    tick_id = g_timeout_add (10, count_tick, &ticks);
    while (ticks < 3)
      g_main_context_iteration (NULL, TRUE);
    g_source_remove (tick_id);

    read_gate_release (&gate);
    bastion_ssh_session_set_passphrase (session, passphrase);
    g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
    g_assert_no_error (error);
    g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
    bastion_ssh_session_disconnect (session);
    _bastion_ssh_session_set_auth_thread_hook (NULL, NULL);
    g_mutex_clear (&gate.lock);
    g_cond_clear (&gate.cond);
  }

  /* 2. The caller's cancellable fires and the caller drops the session mid-login. */
  {
    ReadGate gate = { 0 };
    TestResult r = { 0 };

    g_mutex_init (&gate.lock);
    g_cond_init (&gate.cond);
    gate.main_thread = g_thread_self ();
    _bastion_ssh_session_set_auth_thread_hook (auth_gate_hook, &gate);
    bastion_ssh_session_set_passphrase (session, passphrase);
    bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, cancellable,
                                       test_on_connected, &r);
    while (!read_gate_entered (&gate) && !r.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (read_gate_entered (&gate));
    g_assert_false (r.done);

    g_object_unref (session);
    g_cancellable_cancel (cancellable);
    test_wait_for (&r.done);
    g_assert_false (r.ok);
    g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&r.error);

    /* Only the thread's task still holds it: it lives until the thread returns. */
    ticks = 0;
    tick_id = g_timeout_add (10, count_tick, &ticks);
    while (ticks < 3)
      g_main_context_iteration (NULL, TRUE);
    g_source_remove (tick_id);
    g_assert_nonnull (weak);

    read_gate_release (&gate);
    while (weak != NULL)
      g_main_context_iteration (NULL, TRUE);
    _bastion_ssh_session_set_auth_thread_hook (NULL, NULL);
    g_mutex_clear (&gate.lock);
    g_cond_clear (&gate.cond);
  }
}

/* Connects with PATH (holding TEXT) as the known_hosts file while the thread that reads it is
 * held: the main loop keeps running meanwhile, and the login then gets TEXT's verdict. (A FIFO
 * stood in for a slow file system here before; known_hosts files are now read through the
 * bounded reader, which refuses FIFOs, so the test holds the reading thread instead.) */
static gboolean
connect_with_held_read (BastionSshSession  *session,
                        const char         *path,
                        const char         *text,
                        GError            **error)
{
  TestResult r = { 0 };
  ReadGate gate = { 0 };
  guint ticks = 0;
  guint tick_id;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.main_thread = g_thread_self ();
  bastion_known_hosts_set_io_hook (read_gate_hook, &gate);

  bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_NONE, NULL, test_on_connected,
                                     &r);
  while (!read_gate_entered (&gate) && !r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (read_gate_entered (&gate));
  g_assert_true (gate.reader != gate.main_thread);
  tick_id = g_timeout_add (10, count_tick, &ticks);
  while (ticks < 10)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  /* Nothing can have read the file yet: the login waits before the host key check. */
  g_assert_false (r.done);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), <,
                   BASTION_SSH_STAGE_VERIFYING_HOST_KEY);

  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  test_wait_for (&r.done);
  bastion_known_hosts_set_io_hook (NULL, NULL);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}

static void
test_hostkey_known_hosts_off_main_loop (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *file = g_build_filename (tmp, "known_hosts.held", NULL);
  g_autofree char *fifo = g_build_filename (tmp, "known_hosts.fifo", NULL);
  g_autofree char *key = g_build_filename (tmp, "other_ed25519", NULL);
  g_autofree char *pub_path = g_strconcat (key, ".pub", NULL);
  g_autofree char *pub = NULL;
  g_autofree char *changed = NULL;
  g_autofree char *trusted = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key, NULL };

  g_object_set (session, "user-known-hosts", file, NULL);

  /* Another key for the host: refused as changed. */
  run_ok (argv);
  pub = test_read_file (pub_path);
  parts = g_strsplit (pub, " ", 3);
  changed = g_strdup_printf ("[127.0.0.1]:%s %s %s\n", test_env ("BASTION_TEST_SSH_PORT"),
                             parts[0], parts[1]);
  g_assert_false (connect_with_held_read (session, file, changed, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_CHANGED);
  g_clear_error (&error);

  /* The harness's known_hosts: trusted. */
  trusted = test_read_file (test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"));
  g_assert_true (connect_with_held_read (session, file, trusted, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_READY);
  bastion_ssh_session_disconnect (session);

  /* A FIFO nobody writes is not read (it would block the reading thread forever): the host is
   * unknown, at once. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_object_set (session, "user-known-hosts", fifo, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);
  bastion_ssh_session_disconnect (session);
}

/* Trusting writes Bastion's known_hosts in a thread: with that thread held, the main loop runs
 * on and the key is not trusted yet. A FIFO there is refused at once, naming the file (it was
 * once written to and blocked). Then a real file gets the line, 0600. */
static void
test_hostkey_trust_off_main_loop (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *none = g_build_filename (tmp, "no-such-file", NULL);
  g_autofree char *fifo = g_build_filename (tmp, "bastion_known_hosts.fifo", NULL);
  g_autofree char *own = g_build_filename (tmp, "sub", "known_hosts", NULL);
  g_autofree char *known = test_read_file (test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"));
  g_auto(GStrv) known_lines = g_strsplit (known, "\n", -1);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  ReadGate gate = { 0 };
  TestResult r = { 0 };
  guint ticks = 0;
  guint tick_id;
  GStatBuf st;

  g_object_set (session, "user-known-hosts", none, NULL);
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);

  /* Only now: the probe reads Bastion's own file too. A FIFO is refused, nothing trusted. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_object_set (session, "bastion-known-hosts", fifo, NULL);
  bastion_ssh_session_trust_host_key_async (session, NULL, on_trusted, &r);
  test_wait_for (&r.done);
  g_assert_false (r.ok);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (r.error->message, fifo));
  g_clear_error (&r.error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);

  /* A real file, in a folder that does not exist yet, written by a held thread. */
  g_object_set (session, "bastion-known-hosts", own, NULL);
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.main_thread = g_thread_self ();
  bastion_known_hosts_set_io_hook (read_gate_hook, &gate);
  memset (&r, 0, sizeof r);
  bastion_ssh_session_trust_host_key_async (session, NULL, on_trusted, &r);
  while (!read_gate_entered (&gate) && !r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gate.reader != gate.main_thread);
  tick_id = g_timeout_add (10, count_tick, &ticks);
  while (ticks < 10)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  g_assert_false (r.done);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);
  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  test_wait_for (&r.done);
  bastion_known_hosts_set_io_hook (NULL, NULL);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  /* That line, 0600, and the key trusted: the one OpenSSH has for the sshd on its port. */
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
  g_assert_true (g_file_get_contents (own, &contents, NULL, NULL));
  g_assert_true (g_str_has_suffix (contents, "\n"));
  contents[strlen (contents) - 1] = '\0';
  g_assert_null (strchr (contents, '\n'));
  g_assert_true (g_strv_contains ((const char * const *)known_lines, contents));
  g_assert_cmpint (g_stat (own, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The next connection finds it there. */
  g_assert_true (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_TRUSTED);
  bastion_ssh_session_disconnect (session);
}

/* accept-new writes the key in a thread: a file that cannot be written fails the connection
 * with the file system's reason, naming the folder. */
static void
test_hostkey_accept_new_unwritable (void)
{
  g_autofree char *tmp = test_tmpdir ();
  g_autoptr(BastionSshSession) session = test_session_new (tmp);
  g_autofree char *none = g_build_filename (tmp, "no-such-file", NULL);
  g_autofree char *not_dir = g_build_filename (tmp, "not-a-folder", NULL);
  g_autofree char *own = g_build_filename (not_dir, "known_hosts", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (not_dir, "", -1, NULL));
  g_object_set (session, "user-known-hosts", none, "bastion-known-hosts", own,
                "accept-new-host-key", TRUE, NULL);
  g_assert_false (test_connect (session, BASTION_SSH_CONNECT_NONE, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, not_dir));
  g_assert_cmpint (bastion_ssh_session_get_stage (session), ==, BASTION_SSH_STAGE_FAILED);
  g_assert_cmpint (bastion_ssh_session_get_host_key_status (session), ==,
                   BASTION_HOST_KEY_UNKNOWN);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/ssh/known-hosts/parser", test_known_hosts_parser);
  g_test_add_func ("/bastion/ssh/auth/pem-rsa", test_auth_pem_rsa);
  g_test_add_func ("/bastion/ssh/auth/ed25519-passphrase", test_auth_ed25519_passphrase);
  g_test_add_func ("/bastion/ssh/auth/key-file-off-main-loop", test_auth_key_file_off_main_loop);
  g_test_add_func ("/bastion/ssh/auth/key-file-missing", test_auth_key_file_missing);
  g_test_add_func ("/bastion/ssh/auth/kdf-off-main-loop", test_auth_kdf_off_main_loop);
  g_test_add_func ("/bastion/ssh/auth/kdf-cancel", test_auth_kdf_cancel);
  g_test_add_func ("/bastion/ssh/hostkey/known-hosts-off-main-loop",
                   test_hostkey_known_hosts_off_main_loop);
  g_test_add_func ("/bastion/ssh/auth/agent", test_auth_agent);
  g_test_add_func ("/bastion/ssh/auth/password", test_auth_password);
  g_test_add_func ("/bastion/ssh/auth/failure-lists-methods", test_auth_failure_lists_methods);
  g_test_add_func ("/bastion/ssh/hostkey/unknown", test_hostkey_unknown);
  g_test_add_func ("/bastion/ssh/hostkey/accept-new", test_hostkey_accept_new);
  g_test_add_func ("/bastion/ssh/hostkey/trust-off-main-loop", test_hostkey_trust_off_main_loop);
  g_test_add_func ("/bastion/ssh/hostkey/accept-new-unwritable",
                   test_hostkey_accept_new_unwritable);
  g_test_add_func ("/bastion/ssh/hostkey/hashed", test_hostkey_hashed);
  g_test_add_func ("/bastion/ssh/hostkey/other-type", test_hostkey_other_type);
  g_test_add_func ("/bastion/ssh/hostkey/changed", test_hostkey_changed);
  g_test_add_func ("/bastion/ssh/hostkey/pinned", test_hostkey_pinned);
  g_test_add_func ("/bastion/ssh/errors/refused", test_error_refused);
  g_test_add_func ("/bastion/ssh/errors/dns", test_error_dns);
  g_test_add_func ("/bastion/ssh/errors/timeout", test_error_timeout);

  return g_test_run ();
}
