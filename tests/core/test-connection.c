/* test-connection.c: one team's "Connect", step by step, against the real sshd, PostgreSQL,
 * gnome-keyring and the SigV4-checking AWS endpoint of tests/harness.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "bastion-connection.h"
#include "bastion-profile-store.h"
#include "bastion-query.h"
#include "bastion-secrets.h"

typedef struct
{
  BastionProfileStore *store;
  BastionProfile      *profile;
  BastionSecrets      *secrets;
  char                *db_password;
} Fixture;

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_strstrip (contents);

  return contents;
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
open_connection (BastionConnection      *connection,
                 BastionConnectionFlags  flags,
                 GError                **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  bastion_connection_open_async (connection, flags, NULL, on_result, &result);
  return bastion_connection_open_finish (connection, wait_for (&result), error);
}

static void
store_secret (BastionSecrets    *secrets,
              const char        *id,
              BastionSecretKind  kind,
              const char        *value)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (value == NULL)
    bastion_secrets_clear_async (secrets, id, kind, NULL, on_result, &result);
  else
    bastion_secrets_store_async (secrets, id, kind, NULL, value, NULL, on_result, &result);
  wait_for (&result);
  if (value == NULL)
    bastion_secrets_clear_finish (secrets, result, &error);
  else
    bastion_secrets_store_finish (secrets, result, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config_dir = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "config", NULL);
  g_autofree char *path = g_build_filename (config_dir, "profiles.json", NULL);

  g_mkdir_with_parents (config_dir, 0700);
  fixture->store = bastion_profile_store_new (path);
  bastion_profile_store_import_simpleiot (fixture->store, NULL, NULL, &error);
  g_assert_no_error (error);
  fixture->profile = bastion_profile_store_lookup (fixture->store, g_getenv ("BASTION_TEST_TEAM"));
  g_assert_nonnull (fixture->profile);
  g_object_ref (fixture->profile);
  fixture->secrets = bastion_secrets_new ();
  g_assert_true (bastion_secrets_get_keyring_available (fixture->secrets));
  fixture->db_password = read_file (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"));
  store_secret (fixture->secrets, bastion_profile_get_id (fixture->profile),
                BASTION_SECRET_KIND_DB_PASSWORD, NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->profile);
  g_clear_object (&fixture->store);
  g_clear_object (&fixture->secrets);
  g_clear_pointer (&fixture->db_password, g_free);
}

static char *
query_one (BastionConnection *connection,
           const char        *sql)
{
  g_autoptr(BastionDatabase) database = bastion_connection_create_database (connection);
  g_autoptr(BastionQuery) query = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  BastionResultModel *model;
  const char *value;
  gsize len;
  gboolean is_null;

  bastion_database_connect_async (database, NULL, on_result, &result);
  bastion_database_connect_finish (database, wait_for (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  query = bastion_query_new (database, sql);
  bastion_query_run_async (query, NULL, on_result, &result);
  bastion_query_run_finish (query, wait_for (&result), &error);
  g_assert_no_error (error);

  model = bastion_query_get_model (query);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 1);
  value = bastion_result_model_get_value (model, 0, 0, &len, &is_null);
  g_assert_false (is_null);

  return g_strndup (value, len);
}

/* The host key is unknown at first: refused at the verifying step, with the fingerprint kept
 * for the prompt; accepted once asked to, and the tunnel then serves the database. */
static void
test_connection_steps (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (fixture->profile,
                                                                    fixture->secrets);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stages = g_ptr_array_new ();
  g_autofree char *name = NULL;
  g_autoptr(BastionLaunchTarget) target = NULL;
  g_autofree char *uri = NULL;

  bastion_connection_set_local_port (connection, 0);
  g_assert_false (open_connection (connection, BASTION_CONNECTION_FLAGS_NONE, &error));
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN);
  g_assert_cmpint (bastion_connection_get_stage (connection), ==, BASTION_CONNECTION_STAGE_FAILED);
  g_assert_cmpint (bastion_connection_get_failed_stage (connection), ==,
                   BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY);
  g_assert_cmpstr (bastion_ssh_session_get_host_key_fingerprint (
                     bastion_connection_get_session (connection)),
                   ==, g_getenv ("BASTION_TEST_SSH_FINGERPRINT"));
  g_clear_error (&error);

  /* No DB password anywhere: the tunnel comes up, the login step asks for it. */
  g_assert_false (open_connection (connection,
                                   BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY |
                                   BASTION_CONNECTION_FLAGS_VERIFY_DATABASE,
                                   &error));
  g_assert_error (error, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED);
  g_assert_cmpint (bastion_connection_get_failed_stage (connection), ==,
                   BASTION_CONNECTION_STAGE_DATABASE_LOGIN);
  g_clear_error (&error);

  /* Typed by the user: it works, and it is remembered in the keyring. */
  bastion_connection_set_db_password (connection, fixture->db_password, TRUE);
  g_assert_true (open_connection (connection, BASTION_CONNECTION_FLAGS_VERIFY_DATABASE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_connection_get_stage (connection), ==, BASTION_CONNECTION_STAGE_READY);
  g_assert_cmpuint (bastion_connection_get_local_port (connection), >, 0);

  name = query_one (connection, "select name from project");
  g_assert_cmpstr (name, ==, "Sunshine");

  target = bastion_connection_dup_launch_target (connection);
  g_assert_nonnull (target);
  g_assert_cmpuint (target->local_port, ==, bastion_connection_get_local_port (connection));
  uri = bastion_launch_target_dup_uri (target);
  g_assert_null (strstr (uri, fixture->db_password));

  bastion_connection_close (connection);
  g_assert_cmpint (bastion_connection_get_stage (connection), ==, BASTION_CONNECTION_STAGE_IDLE);
  g_assert_null (bastion_connection_get_tunnel (connection));

  /* A second connection finds the trusted key and the remembered password by itself. */
  {
    g_autoptr(BastionConnection) again = bastion_connection_new (fixture->profile,
                                                                 fixture->secrets);

    bastion_connection_set_local_port (again, 0);
    g_assert_true (open_connection (again, BASTION_CONNECTION_FLAGS_VERIFY_DATABASE, &error));
    g_assert_no_error (error);
    bastion_connection_close (again);
  }
}

/* SimpleIOT rotates the password in Secrets Manager: on 28P01 it is fetched again, once. */
static void
test_connection_rotated_password (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (fixture->profile,
                                                                    fixture->secrets);
  g_autoptr(GError) error = NULL;

  store_secret (fixture->secrets, bastion_profile_get_id (fixture->profile),
                BASTION_SECRET_KIND_DB_PASSWORD, "an-old-rotated-password");
  bastion_connection_set_local_port (connection, 0);

  /* Without permission to refetch: the wrong password is reported as such. */
  g_assert_false (open_connection (connection,
                                   BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY |
                                   BASTION_CONNECTION_FLAGS_VERIFY_DATABASE,
                                   &error));
  g_assert_error (error, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG);
  g_clear_error (&error);
  bastion_connection_close (connection);

  g_assert_true (open_connection (connection,
                                  BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY |
                                  BASTION_CONNECTION_FLAGS_VERIFY_DATABASE |
                                  BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD,
                                  &error));
  g_assert_no_error (error);

  /* The fresh password replaced the stale one in the keyring. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    char *stored;

    bastion_secrets_lookup_async (fixture->secrets, bastion_profile_get_id (fixture->profile),
                                  BASTION_SECRET_KIND_DB_PASSWORD, NULL, on_result, &result);
    while (TRUE)
      {
        /* The store is fire-and-forget: wait until it landed. */
        stored = bastion_secrets_lookup_finish (fixture->secrets, wait_for (&result), &error);
        g_assert_no_error (error);
        if (g_strcmp0 (stored, fixture->db_password) == 0)
          break;
        bastion_secret_free (stored);
        g_clear_object (&result);
        g_main_context_iteration (NULL, FALSE);
        bastion_secrets_lookup_async (fixture->secrets, bastion_profile_get_id (fixture->profile),
                                      BASTION_SECRET_KIND_DB_PASSWORD, NULL, on_result, &result);
      }
    bastion_secret_free (stored);
  }
  bastion_connection_close (connection);
}

static void
test_connection_no_db_access (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(BastionProfile) member = bastion_profile_new (NULL);
  g_autoptr(BastionConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  bastion_profile_set_display_name (member, "member");
  bastion_profile_set_has_db_access (member, FALSE);
  bastion_profile_set_no_access_reason (member, "joined by invite");
  connection = bastion_connection_new (member, fixture->secrets);
  g_assert_false (open_connection (connection, BASTION_CONNECTION_FLAGS_NONE, &error));
  g_assert_error (error, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_NO_DB_ACCESS);
  g_assert_nonnull (strstr (error->message, "joined by invite"));
  g_assert_cmpint (bastion_connection_get_failed_stage (connection), ==,
                   BASTION_CONNECTION_STAGE_PROFILE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/bastion/connection/steps", Fixture, NULL,
              fixture_set_up, test_connection_steps, fixture_tear_down);
  g_test_add ("/bastion/connection/rotated-password", Fixture, NULL,
              fixture_set_up, test_connection_rotated_password, fixture_tear_down);
  g_test_add ("/bastion/connection/no-db-access", Fixture, NULL,
              fixture_set_up, test_connection_no_db_access, fixture_tear_down);

  return g_test_run ();
}
