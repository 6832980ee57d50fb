/* tunnel-test-util.h: helpers shared by test-ssh-session.c and test-tunnel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "bastion-ssh-session-private.h"
#include "bastion-tunnel.h"

static inline const char *
test_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL)
    g_error ("%s is not set: run this test under tests/harness/with-servers --sshd", name);

  return value;
}

static inline char *
test_read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    g_error ("%s", error->message);

  return g_strstrip (contents);
}

/* A fresh directory under the harness's temporary root. */
static inline char *
test_tmpdir (void)
{
  g_autofree char *tmpl = g_build_filename (test_env ("BASTION_TEST_TMP"), "t-XXXXXX", NULL);
  char *dir = g_mkdtemp (tmpl);

  g_assert_nonnull (dir);
  return g_strdup (dir);
}

/* Iterates the main loop until *DONE; the guard only stops a hung test. */
static inline void
test_wait_for (gboolean *done)
{
  gint64 guard = g_get_monotonic_time () + 240 * G_USEC_PER_SEC;

  while (!*done)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > guard)
        g_error ("timed out waiting");
    }
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} TestResult;

static inline void
test_on_connected (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TestResult *r = user_data;

  r->ok = bastion_ssh_session_connect_finish (BASTION_SSH_SESSION (object), result, &r->error);
  r->done = TRUE;
}

static inline void
test_on_tunnel_started (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  TestResult *r = user_data;

  r->ok = bastion_tunnel_start_finish (BASTION_TUNNEL (object), result, &r->error);
  r->done = TRUE;
}

/* A session to the harness sshd, with the PEM RSA key, that trusts the harness's known_hosts. */
static inline BastionSshSession *
test_session_new (const char *tmpdir)
{
  g_autofree char *own = g_build_filename (tmpdir, "bastion_known_hosts", NULL);
  BastionSshSession *session;

  session = bastion_ssh_session_new (test_env ("BASTION_TEST_SSH_HOST"),
                                     atoi (test_env ("BASTION_TEST_SSH_PORT")),
                                     test_env ("BASTION_TEST_SSH_USER"));
  g_object_set (session,
                "auth-method", BASTION_AUTH_METHOD_KEY,
                "key-file", test_env ("BASTION_TEST_SSH_KEY"),
                "user-known-hosts", test_env ("BASTION_TEST_SSH_KNOWN_HOSTS"),
                "bastion-known-hosts", own,
                NULL);
  return session;
}

static inline gboolean
test_connect (BastionSshSession      *session,
              BastionSshConnectFlags  flags,
              GError                **error)
{
  TestResult r = { 0 };

  bastion_ssh_session_connect_async (session, flags, NULL, test_on_connected, &r);
  test_wait_for (&r.done);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}
