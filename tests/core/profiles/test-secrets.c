/* test-secrets.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Without arguments: the no-Secret-Service fallback (the bus is pointed at nothing).
 * With --expect-keyring: under tests/harness/with-servers --keyring, against a real
 * gnome-keyring on a private session bus.
 */

#include "config.h"

#include <string.h>

#include <glib.h>
#include <libsecret/secret.h>

#include "bastion-profile-store.h"
#include "bastion-secrets.h"

static gboolean expect_keyring;

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

static GAsyncResult *
wait_result (Wait *wait)
{
  g_main_loop_run (wait->loop);
  return wait->result;
}

static void
store (BastionSecrets    *secrets,
       const char        *profile,
       BastionSecretKind  kind,
       const char        *secret)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Wait wait = { loop, NULL };

  bastion_secrets_store_async (secrets, profile, kind, NULL, secret, NULL, on_done, &wait);
  g_assert_true (bastion_secrets_store_finish (secrets, wait_result (&wait), &error));
  g_assert_no_error (error);
  g_object_unref (wait.result);
}

static char *
lookup (BastionSecrets    *secrets,
        const char        *profile,
        BastionSecretKind  kind)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Wait wait = { loop, NULL };
  char *secret;

  bastion_secrets_lookup_async (secrets, profile, kind, NULL, on_done, &wait);
  secret = bastion_secrets_lookup_finish (secrets, wait_result (&wait), &error);
  g_assert_no_error (error);
  g_object_unref (wait.result);

  return secret;
}

static void
clear (BastionSecrets    *secrets,
       const char        *profile,
       BastionSecretKind  kind)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Wait wait = { loop, NULL };

  bastion_secrets_clear_async (secrets, profile, kind, NULL, on_done, &wait);
  g_assert_true (bastion_secrets_clear_finish (secrets, wait_result (&wait), &error));
  g_assert_no_error (error);
  g_object_unref (wait.result);
}

static void
clear_profile (BastionSecrets *secrets,
               const char     *profile)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Wait wait = { loop, NULL };

  bastion_secrets_clear_profile_async (secrets, profile, NULL, on_done, &wait);
  g_assert_true (bastion_secrets_clear_profile_finish (secrets, wait_result (&wait), &error));
  g_assert_no_error (error);
  g_object_unref (wait.result);
}

#define assert_secret(secrets, profile, kind, expected)         \
  G_STMT_START {                                                \
    char *_s = lookup (secrets, profile, kind);                 \
    g_assert_cmpstr (_s, ==, expected);                         \
    bastion_secret_free (_s);                                   \
  } G_STMT_END

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           guint      *count)
{
  (*count)++;
}

static void
test_kinds (void)
{
  BastionSecretKind kind;

  g_assert_cmpstr (bastion_secret_kind_to_string (BASTION_SECRET_KIND_DB_PASSWORD), ==,
                   "db-password");
  g_assert_cmpstr (bastion_secret_kind_to_string (BASTION_SECRET_KIND_KEY_PASSPHRASE), ==,
                   "key-passphrase");
  g_assert_cmpstr (bastion_secret_kind_to_string (BASTION_SECRET_KIND_SSH_PASSWORD), ==,
                   "ssh-password");
  g_assert_true (bastion_secret_kind_from_string ("ssh-password", &kind));
  g_assert_cmpint (kind, ==, BASTION_SECRET_KIND_SSH_PASSWORD);
  g_assert_false (bastion_secret_kind_from_string ("password", &kind));
  g_assert_false (bastion_secret_kind_from_string (NULL, &kind));
}

/* The same calls work with and without a Secret Service; only keyring-available differs. */
static void
test_round_trip (void)
{
  g_autoptr(BastionSecrets) secrets = bastion_secrets_new ();
  g_autofree char *a = g_uuid_string_random ();
  g_autofree char *b = g_uuid_string_random ();
  guint notified = 0;

  g_signal_connect (secrets, "notify::keyring-available", G_CALLBACK (on_notify), &notified);
  g_assert_true (bastion_secrets_get_keyring_available (secrets));

  assert_secret (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, NULL);
  store (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, "db pw ✓");
  store (secrets, a, BASTION_SECRET_KIND_KEY_PASSPHRASE, "passphrase-a");
  store (secrets, a, BASTION_SECRET_KIND_SSH_PASSWORD, "ssh-a");
  store (secrets, b, BASTION_SECRET_KIND_DB_PASSWORD, "db-b");

  g_assert_cmpint (bastion_secrets_get_keyring_available (secrets), ==, expect_keyring);
  /* Said once, not on every call. */
  g_assert_cmpuint (notified, ==, expect_keyring ? 0 : 1);

  assert_secret (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, "db pw ✓");
  assert_secret (secrets, a, BASTION_SECRET_KIND_KEY_PASSPHRASE, "passphrase-a");
  assert_secret (secrets, a, BASTION_SECRET_KIND_SSH_PASSWORD, "ssh-a");
  assert_secret (secrets, b, BASTION_SECRET_KIND_DB_PASSWORD, "db-b");
  assert_secret (secrets, b, BASTION_SECRET_KIND_SSH_PASSWORD, NULL);

  /* Storing again replaces. */
  store (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, "rotated");
  assert_secret (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, "rotated");

  clear (secrets, a, BASTION_SECRET_KIND_SSH_PASSWORD);
  assert_secret (secrets, a, BASTION_SECRET_KIND_SSH_PASSWORD, NULL);
  assert_secret (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, "rotated");
  /* Clearing what is not there is fine. */
  clear (secrets, a, BASTION_SECRET_KIND_SSH_PASSWORD);

  clear_profile (secrets, a);
  assert_secret (secrets, a, BASTION_SECRET_KIND_DB_PASSWORD, NULL);
  assert_secret (secrets, a, BASTION_SECRET_KIND_KEY_PASSPHRASE, NULL);
  assert_secret (secrets, b, BASTION_SECRET_KIND_DB_PASSWORD, "db-b");

  clear_profile (secrets, b);
  g_assert_cmpuint (notified, ==, expect_keyring ? 0 : 1);
}

/* What another program (the GUI, an older Bastion) sees: the schema and attributes of DESIGN.md. */
static void
test_schema_in_keyring (void)
{
  static const SecretSchema schema = {
    "io.github.bastiongtk.Bastion.Secret", SECRET_SCHEMA_NONE,
    {
      { "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };
  g_autoptr(BastionSecrets) secrets = bastion_secrets_new ();
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr(GError) error = NULL;
  char *found;

  if (!expect_keyring)
    {
      g_test_skip ("needs the keyring (with-servers --keyring)");
      return;
    }

  store (secrets, id, BASTION_SECRET_KIND_KEY_PASSPHRASE, "from-core");
  found = secret_password_lookup_sync (&schema, NULL, &error,
                                       "profile", id, "kind", "key-passphrase", NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, "from-core");
  secret_password_free (found);

  /* And the other way round. */
  secret_password_store_sync (&schema, SECRET_COLLECTION_DEFAULT, "written elsewhere",
                              "from-outside", NULL, &error,
                              "profile", id, "kind", "db-password", NULL);
  g_assert_no_error (error);
  assert_secret (secrets, id, BASTION_SECRET_KIND_DB_PASSWORD, "from-outside");

  clear_profile (secrets, id);
  found = secret_password_lookup_sync (&schema, NULL, &error,
                                       "profile", id, "kind", "db-password", NULL);
  g_assert_no_error (error);
  g_assert_null (found);
}

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

/* Deleting a profile deletes its secrets, and only its. */
static void
test_profile_deletion (void)
{
  g_autoptr(BastionSecrets) secrets = bastion_secrets_new ();
  g_autoptr(BastionProfileStore) profiles = bastion_profile_store_new ("/nonexistent/p.json");
  g_autoptr(BastionProfile) doomed = bastion_profile_new (NULL);
  g_autoptr(BastionProfile) kept = bastion_profile_new (NULL);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Wait wait = { loop, NULL };

  g_assert_true (bastion_profile_store_add (profiles, doomed, NULL));
  g_assert_true (bastion_profile_store_add (profiles, kept, NULL));
  store (secrets, bastion_profile_get_id (doomed), BASTION_SECRET_KIND_DB_PASSWORD, "d1");
  store (secrets, bastion_profile_get_id (doomed), BASTION_SECRET_KIND_KEY_PASSPHRASE, "d2");
  store (secrets, bastion_profile_get_id (kept), BASTION_SECRET_KIND_DB_PASSWORD, "k1");

  bastion_profile_store_delete_async (profiles, doomed, secrets, NULL, on_deleted, &wait);
  g_assert_true (bastion_profile_store_delete_finish (profiles, wait_result (&wait), &error));
  g_assert_no_error (error);
  g_object_unref (wait.result);

  g_assert_null (bastion_profile_store_lookup (profiles, bastion_profile_get_id (doomed)));
  assert_secret (secrets, bastion_profile_get_id (doomed), BASTION_SECRET_KIND_DB_PASSWORD, NULL);
  assert_secret (secrets, bastion_profile_get_id (doomed), BASTION_SECRET_KIND_KEY_PASSPHRASE,
                 NULL);
  assert_secret (secrets, bastion_profile_get_id (kept), BASTION_SECRET_KIND_DB_PASSWORD, "k1");
  g_assert_cmpint (bastion_secrets_get_keyring_available (secrets), ==, expect_keyring);

  clear_profile (secrets, bastion_profile_get_id (kept));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--expect-keyring"))
      expect_keyring = TRUE;

  /* Without the keyring test, never touch a real bus (the user's keyring above all). */
  if (!expect_keyring)
    g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bastion-test-bus", TRUE);
  else
    g_assert_nonnull (g_getenv ("BASTION_TEST_TMP"));

  g_test_add_func ("/bastion/secrets/kinds", test_kinds);
  g_test_add_func ("/bastion/secrets/round-trip", test_round_trip);
  g_test_add_func ("/bastion/secrets/schema-in-keyring", test_schema_in_keyring);
  g_test_add_func ("/bastion/secrets/profile-deletion", test_profile_deletion);

  return g_test_run ();
}
