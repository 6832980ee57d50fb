/* test-profile-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-profile-store.h"
#include "bastion-secrets.h"

#include "test-util.h"


static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static JsonObject *
parse_object (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static const char stored_json[] =
  "{\n"
  "  \"version\": 1,\n"
  "  \"future-setting\": { \"theme\": \"dark\", \"list\": [1, 2] },\n"
  "  \"profiles\": [\n"
  "    {\n"
  "      \"id\": \"simpleiot-acme\",\n"
  "      \"display-name\": \"acme\",\n"
  "      \"source\": \"simpleiot\",\n"
  "      \"ssh-host\": \"bastion.example\",\n"
  "      \"ssh-user\": \"admin\",\n"
  "      \"ssh-port\": 2222,\n"
  "      \"auth-method\": \"agent\",\n"
  "      \"read-only\": false,\n"
  "      \"env-label\": \"production\",\n"
  "      \"env-color\": \"red\",\n"
  "      \"user-modified\": [\"ssh-user\", \"no-such-property\"],\n"
  "      \"tunnel-keepalive\": 15\n"
  "    },\n"
  "    {\n"
  "      \"id\": \"0b0e6f5e-1111-4222-8333-944455556666\",\n"
  "      \"display-name\": \"Staging\",\n"
  "      \"db-port\": 6432\n"
  "    }\n"
  "  ]\n"
  "}\n";

static void
test_round_trip (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "bastion", "profiles.json", NULL);
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionProfile) first = NULL;
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *acme;
  JsonObject *saved_acme;
  JsonArray *modified;
  gboolean saw_ssh_user = FALSE, saw_ssh_host = FALSE;
  GStatBuf st;

  test_write_file (path, stored_json, -1);
  store = bastion_profile_store_new (path);
  g_assert_cmpstr (bastion_profile_store_get_path (store), ==, path);
  g_assert_true (bastion_profile_store_load (store, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (store)) == BASTION_TYPE_PROFILE);
  /* Sorted by display name ignoring case: "acme" before "Staging". */
  first = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_assert_cmpstr (bastion_profile_get_id (first), ==, "simpleiot-acme");

  acme = bastion_profile_store_lookup (store, "simpleiot-acme");
  g_assert_true (acme == first);
  g_assert_cmpstr (bastion_profile_get_ssh_host (acme), ==, "bastion.example");
  g_assert_cmpuint (bastion_profile_get_ssh_port (acme), ==, 2222);
  g_assert_cmpint (bastion_profile_get_auth_method (acme), ==, BASTION_AUTH_METHOD_AGENT);
  g_assert_false (bastion_profile_get_read_only (acme));
  g_assert_cmpstr (bastion_profile_get_env_label (acme), ==, "production");
  g_assert_true (bastion_profile_is_user_modified (acme, "ssh-user"));
  g_assert_false (bastion_profile_is_user_modified (acme, "ssh-host"));
  /* Defaults for what the file leaves out. */
  g_assert_cmpuint (bastion_profile_get_db_port (acme), ==, 5432);
  g_assert_cmpstr (bastion_profile_get_ssl_mode (acme), ==, "prefer");
  g_assert_cmpuint (bastion_profile_get_db_port (bastion_profile_store_lookup (store, "Staging")),
                    ==, 6432);

  /* An edit marks the field as the user's. */
  bastion_profile_set_ssh_host (acme, "bastion2.example");
  g_assert_true (bastion_profile_is_user_modified (acme, "ssh-host"));

  g_assert_true (bastion_profile_store_save (store, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  root = parse_object (path);
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  /* Unknown members, top level and per profile, written back unchanged. */
  g_assert_true (json_object_has_member (root, "future-setting"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root,
                                                                                 "future-setting"),
                                                  "theme"), ==, "dark");
  saved_acme = json_array_get_object_element (json_object_get_array_member (root, "profiles"), 0);
  g_assert_cmpstr (json_object_get_string_member (saved_acme, "id"), ==, "simpleiot-acme");
  g_assert_cmpint (json_object_get_int_member (saved_acme, "tunnel-keepalive"), ==, 15);
  g_assert_cmpstr (json_object_get_string_member (saved_acme, "ssh-host"), ==, "bastion2.example");
  g_assert_cmpstr (json_object_get_string_member (saved_acme, "auth-method"), ==, "agent");
  modified = json_object_get_array_member (saved_acme, "user-modified");
  for (guint i = 0; i < json_array_get_length (modified); i++)
    {
      const char *name = json_array_get_string_element (modified, i);

      saw_ssh_user |= g_str_equal (name, "ssh-user");
      saw_ssh_host |= g_str_equal (name, "ssh-host");
    }
  g_assert_true (saw_ssh_user);
  g_assert_true (saw_ssh_host);

  /* And it loads again to the same values. */
  {
    g_autoptr(BastionProfileStore) again = bastion_profile_store_new (path);

    g_assert_true (bastion_profile_store_load (again, &error));
    g_assert_no_error (error);
    acme = bastion_profile_store_lookup (again, "ACME");
    g_assert_nonnull (acme);
    g_assert_cmpstr (bastion_profile_get_ssh_host (acme), ==, "bastion2.example");
    g_assert_true (bastion_profile_is_user_modified (acme, "ssh-host"));
  }

  test_rm_rf (tmp);
}

static void
test_missing_file (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *dir = g_build_filename (tmp, "new", "bastion", NULL);
  g_autofree char *path = g_build_filename (dir, "profiles.json", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
  g_autoptr(BastionProfile) manual = bastion_profile_new (NULL);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_true (bastion_profile_store_load (store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);

  bastion_profile_set_display_name (manual, "Manual");
  g_assert_true (bastion_profile_store_add (store, manual, &error));
  g_assert_true (bastion_profile_store_save (store, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  test_rm_rf (tmp);
}

static void
test_malformed_file_kept (void)
{
  static const char *bad[] = {
    "{ \"version\": 1, \"profiles\": [ ",
    "[]",
    "{ \"profiles\": [] }",
    "{ \"version\": 1, \"profiles\": {} }",
    "{ \"version\": 1, \"profiles\": [ { \"display-name\": \"no id\" } ] }",
    "{ \"version\": 1, \"profiles\": [ { \"id\": \"a\", \"ssh-port\": \"twenty-two\" } ] }",
    "{ \"version\": 1, \"profiles\": [ { \"id\": \"a\" }, { \"id\": \"a\" } ] }",
    "{ \"version\": 1, \"profiles\": [ 42 ] }",
  };
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
      g_autoptr(BastionProfile) extra = bastion_profile_new (NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *after = NULL;

      test_write_file (path, bad[i], -1);
      g_assert_false (bastion_profile_store_load (store, &error));
      g_assert_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);

      /* Saving now would lose what is in the file: refused. */
      g_assert_true (bastion_profile_store_add (store, extra, NULL));
      g_assert_false (bastion_profile_store_save (store, &error));
      g_assert_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_NOT_LOADED);
      after = read_file (path);
      g_assert_cmpstr (after, ==, bad[i]);
    }

  test_rm_rf (tmp);
}

static void
test_too_new (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
  g_autoptr(GError) error = NULL;

  test_write_file (path, "{ \"version\": 99, \"profiles\": [] }", -1);
  g_assert_false (bastion_profile_store_load (store, &error));
  g_assert_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_TOO_NEW);

  test_rm_rf (tmp);
}

/* A save into a folder we may not write fails and leaves the old file whole. */
static void
test_save_read_only_dir (void)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("BASTION_TEST_STORE_PATH");
      g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
      g_autoptr(BastionProfile) extra = bastion_profile_new (NULL);
      g_autoptr(GError) error = NULL;

      test_become_unprivileged ();
      g_assert_true (bastion_profile_store_load (store, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
      g_assert_true (bastion_profile_store_add (store, extra, NULL));
      g_assert_false (bastion_profile_store_save (store, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
      return;
    }
  else
    {
      g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
      g_autofree char *dir = g_build_filename (tmp, "bastion", NULL);
      g_autofree char *path = g_build_filename (dir, "profiles.json", NULL);
      g_autofree char *after = NULL;
      g_autoptr(GDir) gdir = NULL;

      test_write_file (path, stored_json, -1);
      if (geteuid () == 0)
        {
          g_assert_cmpint (chown (dir, TEST_NOBODY, TEST_NOBODY), ==, 0);
          g_assert_cmpint (chown (path, TEST_NOBODY, TEST_NOBODY), ==, 0);
        }
      g_assert_cmpint (g_chmod (dir, 0500), ==, 0);

      g_setenv ("BASTION_TEST_STORE_PATH", path, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();

      after = read_file (path);
      g_assert_cmpstr (after, ==, stored_json);
      test_rm_rf (tmp);
    }
}

/* A write that fails half-way (file size limit) leaves the old file whole and no stray file. */
static void
test_save_write_fails (void)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("BASTION_TEST_STORE_PATH");
      g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
      g_autoptr(GError) error = NULL;
      struct rlimit limit = { 64, 64 };

      g_assert_true (bastion_profile_store_load (store, &error));
      for (guint i = 0; i < 20; i++)
        {
          g_autoptr(BastionProfile) p = bastion_profile_new (NULL);

          bastion_profile_set_display_name (p, "A profile with a long enough name");
          g_assert_true (bastion_profile_store_add (store, p, NULL));
        }

      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      g_assert_false (bastion_profile_store_save (store, &error));
      g_assert_nonnull (error);
      g_test_message ("save failed as expected: %s", error->message);
      return;
    }
  else
    {
      g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
      g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);
      g_autofree char *after = NULL;
      g_autoptr(GDir) gdir = NULL;
      guint n = 0;

      test_write_file (path, stored_json, -1);
      g_setenv ("BASTION_TEST_STORE_PATH", path, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();

      after = read_file (path);
      g_assert_cmpstr (after, ==, stored_json);
      gdir = g_dir_open (tmp, 0, NULL);
      /* profiles.json and its lock file, no temporary file. */
      for (const char *name; (name = g_dir_read_name (gdir)) != NULL;)
        if (!g_str_equal (name, "profiles.json.lock"))
          n++;
      g_assert_cmpuint (n, ==, 1);
      test_rm_rf (tmp);
    }
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *count)
{
  (*count)++;
}

static void
test_add_remove_lookup (void)
{
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new ("/nonexistent/profiles.json");
  g_autoptr(BastionProfile) b = bastion_profile_new (NULL);
  g_autoptr(BastionProfile) c = bastion_profile_new (NULL);
  g_autoptr(BastionProfile) same_id = NULL;
  g_autoptr(BastionProfile) item = NULL;
  g_autoptr(GError) error = NULL;
  guint changes = 0;

  g_signal_connect (store, "items-changed", G_CALLBACK (on_items_changed), &changes);

  bastion_profile_set_display_name (b, "Bravo");
  bastion_profile_set_display_name (c, "charlie");
  g_assert_true (bastion_profile_store_add (store, c, &error));
  g_assert_true (bastion_profile_store_add (store, b, &error));
  g_assert_cmpuint (changes, ==, 2);

  item = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_assert_true (item == b);
  g_clear_object (&item);

  same_id = bastion_profile_new (bastion_profile_get_id (b));
  g_assert_false (bastion_profile_store_add (store, same_id, &error));
  g_assert_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_DUPLICATE);

  g_assert_true (bastion_profile_store_lookup (store, bastion_profile_get_id (c)) == c);
  g_assert_true (bastion_profile_store_lookup (store, "charlie") == c);
  g_assert_true (bastion_profile_store_lookup (store, "CHARLIE") == c);
  g_assert_null (bastion_profile_store_lookup (store, "delta"));

  /* A rename re-sorts. */
  bastion_profile_set_display_name (c, "Alpha");
  item = g_list_model_get_item (G_LIST_MODEL (store), 0);
  g_assert_true (item == c);
  g_clear_object (&item);

  g_assert_true (bastion_profile_store_remove (store, b));
  g_assert_false (bastion_profile_store_remove (store, b));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  /* Undo: add it back. */
  g_assert_true (bastion_profile_store_add (store, b, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
}

static void
test_dup (void)
{
  g_autoptr(BastionProfile) team = bastion_profile_new_simpleiot ("acme");
  g_autoptr(BastionProfile) copy = NULL;
  g_auto(GStrv) modified = NULL;

  bastion_profile_set_ssh_host (team, "bastion.example");
  bastion_profile_set_env_label (team, "production");
  copy = bastion_profile_dup (team);

  g_assert_cmpstr (bastion_profile_get_id (copy), !=, bastion_profile_get_id (team));
  g_assert_true (g_uuid_string_is_valid (bastion_profile_get_id (copy)));
  g_assert_cmpint (bastion_profile_get_source (copy), ==, BASTION_PROFILE_SOURCE_MANUAL);
  g_assert_cmpstr (bastion_profile_get_display_name (copy), ==, "acme (copy)");
  g_assert_cmpstr (bastion_profile_get_ssh_host (copy), ==, "bastion.example");
  g_assert_cmpstr (bastion_profile_get_env_label (copy), ==, "production");
  modified = bastion_profile_dup_user_modified (copy);
  g_assert_cmpuint (g_strv_length (modified), ==, 0);
}

static char *
copy_install_fixture (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *src = g_test_build_filename (G_TEST_DIST, "fixtures", "simpleiot", "install",
                                                "acme", "config.json", NULL);
  g_autofree char *contents = read_file (src);
  g_autofree char *dst = g_build_filename (tmp, "simpleiot", "acme", "config.json", NULL);

  test_write_file (dst, contents, -1);
  return g_steal_pointer (&tmp);
}

static void
rewrite_acme_host (const char *simpleiot,
                   const char *team,
                   const char *new_host)
{
  g_autofree char *path = g_build_filename (simpleiot, team, "config.json", NULL);
  g_autoptr(JsonObject) object = parse_object (path);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  json_object_set_string_member (object, "bastionHostSSHDns", new_host);
  json_object_set_string_member (object, "team", team);
  node = json_node_init_object (json_node_alloc (), object);
  text = json_to_string (node, TRUE);
  test_write_file (path, text, -1);
}

static void
test_reimport_keeps_user_edits (void)
{
  g_autofree char *tmp = copy_install_fixture ();
  g_autofree char *simpleiot = g_build_filename (tmp, "simpleiot", NULL);
  g_autofree char *path = g_build_filename (tmp, "config", "profiles.json", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GPtrArray) imported = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *acme;

  g_assert_true (bastion_profile_store_load (store, &error));
  g_assert_true (bastion_profile_store_import_simpleiot_full (store, simpleiot, &imported,
                                                              &warnings, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (imported->len, ==, 1);
  acme = bastion_profile_store_lookup (store, "acme");
  g_assert_nonnull (acme);
  g_assert_cmpstr (bastion_profile_get_ssh_user (acme), ==, "ec2-user");

  /* The user changes the ssh user and the colour; saved and loaded again. */
  bastion_profile_set_ssh_user (acme, "admin");
  bastion_profile_set_env_color (acme, "red");
  g_assert_true (bastion_profile_store_save (store, &error));
  g_clear_object (&store);
  store = bastion_profile_store_new (path);
  g_assert_true (bastion_profile_store_load (store, &error));

  /* The bastion got a new DNS name after a stop/start. */
  rewrite_acme_host (simpleiot, "acme", "ec2-54-1-2-3.us-west-2.compute.amazonaws.com");
  g_clear_pointer (&warnings, g_ptr_array_unref);
  g_assert_true (bastion_profile_store_import_simpleiot (store, simpleiot, &warnings, &error));
  acme = bastion_profile_store_lookup (store, "simpleiot-acme");
  g_assert_cmpstr (bastion_profile_get_ssh_host (acme), ==,
                   "ec2-54-1-2-3.us-west-2.compute.amazonaws.com");
  g_assert_cmpstr (bastion_profile_get_ssh_user (acme), ==, "admin");
  g_assert_cmpstr (bastion_profile_get_env_color (acme), ==, "red");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);

  /* After clearing the mark, the team's value comes back. */
  bastion_profile_clear_user_modified (acme, "ssh-user");
  g_clear_pointer (&warnings, g_ptr_array_unref);
  g_assert_true (bastion_profile_store_import_simpleiot (store, simpleiot, &warnings, &error));
  g_assert_cmpstr (bastion_profile_get_ssh_user (acme), ==, "ec2-user");

  /* A config that breaks later: a warning, and the saved profile stays as it was. */
  {
    g_autofree char *cfg = g_build_filename (simpleiot, "acme", "config.json", NULL);

    test_write_file (cfg, "{ \"team\": \"acme\", \"bastion_ssh_port\": \"abc\" }", -1);
    g_clear_pointer (&warnings, g_ptr_array_unref);
    g_assert_true (bastion_profile_store_import_simpleiot (store, simpleiot, &warnings, &error));
    g_assert_cmpuint (warnings->len, ==, 1);
    g_assert_nonnull (strstr (((GError *) g_ptr_array_index (warnings, 0))->message, cfg));
    g_assert_true (bastion_profile_store_lookup (store, "acme") == acme);
    g_assert_cmpstr (bastion_profile_get_ssh_host (acme), ==,
                     "ec2-54-1-2-3.us-west-2.compute.amazonaws.com");
  }

  test_rm_rf (tmp);
}

typedef struct
{
  GMainLoop *loop;
  guint      imports;
} WatchData;

static void
on_simpleiot_imported (BastionProfileStore *store,
                       GPtrArray           *warnings,
                       WatchData           *data)
{
  data->imports++;
  g_main_loop_quit (data->loop);
}

static gboolean
on_watch_timeout (gpointer user_data)
{
  g_error ("the SimpleIOT folder watch did not report the change within 30 s");
  return G_SOURCE_REMOVE;
}

/* Run the loop until pred holds, one import at a time. */
static void
wait_for_team (BastionProfileStore *store,
               WatchData           *data,
               const char          *id,
               const char          *host)
{
  guint timeout = g_timeout_add_seconds (30, on_watch_timeout, NULL);

  for (;;)
    {
      BastionProfile *p = bastion_profile_store_lookup (store, id);

      if (p != NULL && (host == NULL || g_strcmp0 (bastion_profile_get_ssh_host (p), host) == 0))
        break;
      g_main_loop_run (data->loop);
    }

  g_source_remove (timeout);
}

static void
test_watch (void)
{
  g_autofree char *tmp = copy_install_fixture ();
  g_autofree char *simpleiot = g_build_filename (tmp, "simpleiot", NULL);
  g_autofree char *path = g_build_filename (tmp, "config", "profiles.json", NULL);
  g_autofree char *newteam = g_build_filename (simpleiot, "newteam", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  WatchData data = { loop, 0 };

  g_assert_true (bastion_profile_store_load (store, &error));
  g_assert_true (bastion_profile_store_import_simpleiot (store, simpleiot, NULL, &error));
  g_assert_true (bastion_profile_store_watch_simpleiot (store, simpleiot, &error));
  g_assert_no_error (error);
  g_signal_connect (store, "simpleiot-imported", G_CALLBACK (on_simpleiot_imported), &data);

  /* A team installed while Bastion runs: the folder first, its config a moment later. */
  g_assert_cmpint (g_mkdir (newteam, 0755), ==, 0);
  rewrite_acme_host (simpleiot, "acme", "first.example");
  {
    g_autofree char *src = g_build_filename (simpleiot, "acme", "config.json", NULL);
    g_autofree char *dst = g_build_filename (newteam, "config.json", NULL);
    g_autofree char *contents = read_file (src);
    g_autoptr(JsonParser) parser = json_parser_new ();

    test_write_file (dst, contents, -1);
    rewrite_acme_host (simpleiot, "newteam", "new.example");
  }
  wait_for_team (store, &data, "simpleiot-newteam", "new.example");
  g_assert_cmpuint (data.imports, >=, 1);

  /* A changed config of a known team is refreshed too. */
  rewrite_acme_host (simpleiot, "newteam", "changed.example");
  wait_for_team (store, &data, "simpleiot-newteam", "changed.example");

  bastion_profile_store_unwatch_simpleiot (store);
  test_rm_rf (tmp);
}

/* Bastion started before the first team was ever installed: ~/.simpleiot appears later. */
static void
test_watch_missing_dir (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *simpleiot = g_build_filename (tmp, "simpleiot", NULL);
  g_autofree char *cfg = g_build_filename (simpleiot, "first", "config.json", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new ("/nonexistent/p.json");
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  WatchData data = { loop, 0 };

  g_assert_true (bastion_profile_store_watch_simpleiot (store, simpleiot, &error));
  g_assert_no_error (error);
  g_signal_connect (store, "simpleiot-imported", G_CALLBACK (on_simpleiot_imported), &data);

  test_write_file (cfg, "{ \"team\": \"first\", \"bastionHostSSHIp\": \"192.0.2.7\", "
                   "\"dbHostname\": \"db.example\" }", -1);
  wait_for_team (store, &data, "simpleiot-first", "192.0.2.7");

  bastion_profile_store_unwatch_simpleiot (store);
  test_rm_rf (tmp);
}

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (bastion_profile_store_delete_finish (BASTION_PROFILE_STORE (source), result,
                                                      &error));
  g_assert_no_error (error);
  g_main_loop_quit (user_data);
}

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_assert_true (bastion_secrets_store_finish (BASTION_SECRETS (source), result, NULL));
  g_main_loop_quit (user_data);
}

static void
on_looked_up (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **out = user_data;

  *out = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, NULL);
}

/* Deleting a profile deletes its secrets (here in the memory fallback: no bus in unit tests). */
static void
test_delete_clears_secrets (void)
{
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new ("/nonexistent/profiles.json");
  g_autoptr(BastionProfile) p = bastion_profile_new (NULL);
  g_autoptr(BastionSecrets) secrets = bastion_secrets_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  char *found = (char *) "unset";

  g_assert_true (bastion_profile_store_add (store, p, NULL));
  bastion_secrets_store_async (secrets, bastion_profile_get_id (p),
                               BASTION_SECRET_KIND_DB_PASSWORD, NULL, "pw", NULL, on_stored, loop);
  g_main_loop_run (loop);

  bastion_profile_store_delete_async (store, p, secrets, NULL, on_deleted, loop);
  g_main_loop_run (loop);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);

  bastion_secrets_lookup_async (secrets, bastion_profile_get_id (p),
                                BASTION_SECRET_KIND_DB_PASSWORD, NULL, on_looked_up, &found);
  while (found != NULL && g_str_equal (found, "unset"))
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (found);
}

static void
test_autosave (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
  g_autoptr(BastionProfile) p = bastion_profile_new ("manual-1");

  bastion_profile_store_set_autosave (store, TRUE);
  g_assert_true (bastion_profile_store_get_autosave (store));
  g_assert_true (bastion_profile_store_add (store, p, NULL));
  bastion_profile_set_db_name (p, "edited-db");

  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_main_context_iteration (NULL, TRUE);

  {
    g_autoptr(BastionProfileStore) again = bastion_profile_store_new (path);

    g_assert_true (bastion_profile_store_load (again, NULL));
    g_assert_cmpstr (bastion_profile_get_db_name (bastion_profile_store_lookup (again,
                                                                                "manual-1")),
                     ==, "edited-db");
  }

  test_rm_rf (tmp);
}

/* Two stores on one file, as two bastion-cli runs or the app and a CLI: each save merges what
 * the other saved since (issue 25: the last writer used to win). */
static void
test_merge (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);
  g_autoptr(BastionProfileStore) a = bastion_profile_store_new (path);
  g_autoptr(BastionProfileStore) b = bastion_profile_store_new (path);
  g_autoptr(BastionProfileStore) check = NULL;
  g_autoptr(BastionProfile) p1 = bastion_profile_new ("manual-1");
  g_autoptr(BastionProfile) p2 = bastion_profile_new ("manual-2");

  g_assert_true (bastion_profile_store_load (a, NULL));
  g_assert_true (bastion_profile_store_load (b, NULL));

  /* Added on both sides: both kept. */
  g_assert_true (bastion_profile_store_add (a, p1, NULL));
  g_assert_true (bastion_profile_store_save (a, NULL));
  g_assert_true (bastion_profile_store_add (b, p2, NULL));
  g_assert_true (bastion_profile_store_save (b, NULL));
  check = bastion_profile_store_new (path);
  g_assert_true (bastion_profile_store_load (check, NULL));
  g_assert_nonnull (bastion_profile_store_lookup (check, "manual-1"));
  g_assert_nonnull (bastion_profile_store_lookup (check, "manual-2"));
  g_clear_object (&check);
  /* b took in a's profile while saving. */
  g_assert_nonnull (bastion_profile_store_lookup (b, "manual-1"));

  /* Changed in b, untouched in a: a's save keeps b's change. Removed in a: stays removed. */
  bastion_profile_set_db_name (bastion_profile_store_lookup (b, "manual-1"), "changed-by-b");
  g_assert_true (bastion_profile_store_save (b, NULL));
  g_assert_true (bastion_profile_store_remove (a, p1));
  g_assert_true (bastion_profile_store_save (a, NULL));
  check = bastion_profile_store_new (path);
  g_assert_true (bastion_profile_store_load (check, NULL));
  g_assert_null (bastion_profile_store_lookup (check, "manual-1"));
  g_assert_nonnull (bastion_profile_store_lookup (check, "manual-2"));
  g_clear_object (&check);

  /* b did not touch manual-1 since: its next save follows a's removal. */
  bastion_profile_set_db_name (bastion_profile_store_lookup (b, "manual-2"), "changed-by-b");
  g_assert_true (bastion_profile_store_save (b, NULL));
  g_assert_null (bastion_profile_store_lookup (b, "manual-1"));
  check = bastion_profile_store_new (path);
  g_assert_true (bastion_profile_store_load (check, NULL));
  g_assert_null (bastion_profile_store_lookup (check, "manual-1"));
  g_assert_cmpstr (bastion_profile_get_db_name (bastion_profile_store_lookup (check, "manual-2")),
                   ==, "changed-by-b");

  test_rm_rf (tmp);
}

/* The bounded reader: a FIFO, a device and JSON nested past 64 levels are load errors naming
 * the file, at once; 64 levels load. */
static void
test_hostile_files (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-store-XXXXXX");
  g_autofree char *path = g_build_filename (tmp, "profiles.json", NULL);
  g_autoptr(GString) deep = g_string_new ("{ \"version\": 1, \"profiles\": [], \"x\": ");
  const char *cases[] = { "fifo", "device", "deep", NULL };

  for (guint i = 0; cases[i] != NULL; i++)
    {
      g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
      g_autoptr(GError) error = NULL;

      g_unlink (path);
      if (g_str_equal (cases[i], "fifo"))
        g_assert_cmpint (mkfifo (path, 0600), ==, 0);
      else if (g_str_equal (cases[i], "device"))
        g_assert_cmpint (symlink ("/dev/zero", path), ==, 0);
      else
        {
          for (guint d = 0; d < 100000; d++)
            g_string_append_c (deep, '[');
          for (guint d = 0; d < 100000; d++)
            g_string_append_c (deep, ']');
          g_string_append (deep, " }");
          g_assert_true (g_file_set_contents (path, deep->str, deep->len, NULL));
        }
      g_assert_false (bastion_profile_store_load (store, &error));
      g_assert_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, path));
      g_test_message ("%s: %s", cases[i], error->message);
      g_assert_false (bastion_profile_store_save (store, NULL));
    }

  /* At the bound: 63 levels below the top object load. */
  g_string_assign (deep, "{ \"version\": 1, \"profiles\": [], \"x\": ");
  for (guint d = 0; d < 63; d++)
    g_string_append_c (deep, '[');
  for (guint d = 0; d < 63; d++)
    g_string_append_c (deep, ']');
  g_string_append (deep, " }");
  g_unlink (path);
  g_assert_true (g_file_set_contents (path, deep->str, deep->len, NULL));
  {
    g_autoptr(BastionProfileStore) store = bastion_profile_store_new (path);
    g_autoptr(GError) error = NULL;

    g_assert_true (bastion_profile_store_load (store, &error));
    g_assert_no_error (error);
  }

  test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  /* Never the user's keyring from a unit test. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bastion-test-bus", TRUE);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/profile-store/round-trip", test_round_trip);
  g_test_add_func ("/bastion/profile-store/missing-file", test_missing_file);
  g_test_add_func ("/bastion/profile-store/malformed-file-kept", test_malformed_file_kept);
  g_test_add_func ("/bastion/profile-store/too-new", test_too_new);
  g_test_add_func ("/bastion/profile-store/save-read-only-dir", test_save_read_only_dir);
  g_test_add_func ("/bastion/profile-store/save-write-fails", test_save_write_fails);
  g_test_add_func ("/bastion/profile-store/add-remove-lookup", test_add_remove_lookup);
  g_test_add_func ("/bastion/profile-store/autosave", test_autosave);
  g_test_add_func ("/bastion/profile-store/delete-clears-secrets", test_delete_clears_secrets);
  g_test_add_func ("/bastion/profile-store/reimport-keeps-user-edits",
                   test_reimport_keeps_user_edits);
  g_test_add_func ("/bastion/profile-store/watch", test_watch);
  g_test_add_func ("/bastion/profile-store/watch-missing-dir", test_watch_missing_dir);
  g_test_add_func ("/bastion/profile/dup", test_dup);
  g_test_add_func ("/bastion/profile-store/merge", test_merge);
  g_test_add_func ("/bastion/profile-store/hostile-files", test_hostile_files);

  return g_test_run ();
}
