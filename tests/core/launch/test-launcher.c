/* test-launcher.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * BastionLauncher against recorder stand-ins (tests/fixtures/launcher/recorder) on a PATH this test
 * builds, a fake pgAdmin layout with a stand-in setup.py, and the real psql against the
 * harness's PostgreSQL (run under tests/harness/with-servers --postgres).
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-launcher.h"
#include "bastion-pgpass.h"
#include "bastion-runtime-dir.h"

/* Colons and backslashes exercise pgpass escaping. */
#define PASSWORD "s3cr:et\\pw-Z9q"
#define CLI_PATH "/opt/bastion/bin/bastion-cli"

typedef struct
{
  char              *tmp;
  char              *bin;
  char              *root;
  char              *home;
  char              *data;
  char              *records;
  char              *rt_base;
  BastionRuntimeDir *rd;
} Fixture;

static const char *
recorder_path (void)
{
  static char *path;

  if (path == NULL)
    path = g_test_build_filename (G_TEST_DIST, "fixtures", "launcher", "recorder", NULL);

  return path;
}

static void
link_recorder (const char *dir,
               const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_no_errno (symlink (recorder_path (), path));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  user_data)
{
  f->tmp = g_dir_make_tmp ("bastion-launcher-XXXXXX", NULL);
  g_assert_nonnull (f->tmp);
  f->bin = g_build_filename (f->tmp, "bin", NULL);
  f->root = g_build_filename (f->tmp, "root", NULL);
  f->home = g_build_filename (f->tmp, "home", NULL);
  f->data = g_build_filename (f->tmp, "data", NULL);
  f->records = g_build_filename (f->tmp, "records", NULL);
  f->rt_base = g_build_filename (f->tmp, "runtime", "bastion", NULL);
  g_assert_no_errno (g_mkdir_with_parents (f->bin, 0700));
  g_assert_no_errno (g_mkdir_with_parents (f->root, 0700));
  g_assert_no_errno (g_mkdir_with_parents (f->home, 0700));
  g_assert_no_errno (g_mkdir_with_parents (f->data, 0700));
  g_assert_no_errno (g_mkdir_with_parents (f->records, 0700));
  g_assert_no_errno (g_mkdir_with_parents (f->rt_base, 0700));
  g_assert_no_errno (g_rmdir (f->rt_base));

  g_setenv ("BASTION_RECORDER_DIR", f->records, TRUE);
  g_unsetenv ("BASTION_RECORDER_FAIL");
  g_unsetenv ("BASTION_RECORDER_EXEC");
  g_unsetenv ("BASTION_RECORDER_STDIN");

  f->rd = bastion_runtime_dir_new (f->rt_base);
}

static void
rm_rf (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) e = NULL;
  GFileInfo *info;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      e = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                     G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
      while (e != NULL && (info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

          rm_rf (child);
          g_object_unref (info);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  user_data)
{
  bastion_runtime_dir_release (f->rd);
  g_clear_object (&f->rd);
  rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->bin);
  g_free (f->root);
  g_free (f->home);
  g_free (f->data);
  g_free (f->records);
  g_free (f->rt_base);
}

static BastionLauncher *
make_launcher (Fixture    *f,
               const char *search_path)
{
  g_autofree char *path = search_path ? g_strdup (search_path)
                                      : g_strdup_printf ("%s:/usr/bin:/bin", f->bin);

  return g_object_new (BASTION_TYPE_LAUNCHER,
                       "root", f->root,
                       "search-path", path,
                       "home-dir", f->home,
                       "data-dir", f->data,
                       "cli-path", CLI_PATH,
                       "runtime-dir", f->rd,
                       /* Recorders exit at once; wait for that rather than a timer. */
                       "watch-ms", 120000,
                       NULL);
}

static BastionLaunchTarget *
make_target (gboolean read_only)
{
  BastionLaunchTarget *t = bastion_launch_target_new ();

  t->team = g_strdup ("acme");
  t->profile_id = g_strdup ("acme");
  t->local_port = 6543;
  t->db_host = g_strdup ("id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com");
  t->db_name = g_strdup ("simpleiot");
  t->db_user = g_strdup ("dbadmin");
  t->sslmode = g_strdup ("verify-full");
  t->read_only = read_only;

  return t;
}

static void
write_pgadmin_layout (Fixture    *f,
                      const char *version_py)
{
  g_autofree char *prefix = g_build_filename (f->root, "usr", "pgadmin4", NULL);
  g_autofree char *bin = g_build_filename (prefix, "bin", NULL);
  g_autofree char *venv = g_build_filename (prefix, "venv", "bin", NULL);
  g_autofree char *web = g_build_filename (prefix, "web", NULL);
  g_autofree char *setup_src = g_test_build_filename (G_TEST_DIST, "fixtures", "launcher",
                                                      "pgadmin-setup.py", NULL);
  g_autofree char *setup = g_build_filename (web, "setup.py", NULL);
  g_autofree char *version = g_build_filename (web, "version.py", NULL);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_no_errno (g_mkdir_with_parents (bin, 0755));
  g_assert_no_errno (g_mkdir_with_parents (venv, 0755));
  g_assert_no_errno (g_mkdir_with_parents (web, 0755));
  link_recorder (bin, "pgadmin4");
  link_recorder (venv, "python3");
  g_assert_true (g_file_get_contents (setup_src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (setup, contents, len, NULL));
  if (version_py != NULL)
    g_assert_true (g_file_set_contents (version, version_py, -1, NULL));
}

static void
launch_done (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
launch_sync (BastionLauncher            *launcher,
             BastionLauncherTool         tool,
             const BastionLaunchTarget  *target,
             const char                 *password,
             GError                    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  bastion_launcher_launch_async (launcher, tool, target, password, NULL, launch_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return bastion_launcher_launch_finish (launcher, result, error);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *)a, *(const char * const *)b);
}

/* The records, in the order they were made. */
static GPtrArray *
load_records (Fixture *f)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  g_autoptr(GDir) dir = g_dir_open (f->records, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (f->records, g_ptr_array_index (names, i),
                                                "record.json", NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
      g_ptr_array_add (records, json_node_ref (json_parser_get_root (parser)));
    }

  return g_steal_pointer (&records);
}

static JsonObject *
find_record (GPtrArray  *records,
             const char *name,
             guint       nth)
{
  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *o = json_node_get_object (g_ptr_array_index (records, i));

      if (g_str_equal (json_object_get_string_member (o, "name"), name) && nth-- == 0)
        return o;
    }

  return NULL;
}

static guint
count_records (GPtrArray  *records,
               const char *name)
{
  guint n = 0;

  while (find_record (records, name, n) != NULL)
    n++;

  return n;
}

static char **
record_argv (JsonObject *record)
{
  JsonArray *a = json_object_get_array_member (record, "argv");
  char **argv = g_new0 (char *, json_array_get_length (a) + 1);

  for (guint i = 0; i < json_array_get_length (a); i++)
    argv[i] = g_strdup (json_array_get_string_element (a, i));

  return argv;
}

static const char *
record_env (JsonObject *record,
            const char *name)
{
  JsonObject *env = json_object_get_object_member (record, "env");

  return json_object_get_string_member_with_default (env, name, NULL);
}

static char *
record_file (Fixture    *f,
             JsonObject *record,
             const char *label,
             guint      *mode)
{
  JsonObject *files = json_object_get_object_member (record, "files");
  JsonObject *entry;
  g_autofree char *folder = NULL;
  g_autofree char *path = NULL;
  char *contents = NULL;

  g_assert_true (json_object_has_member (files, label));
  entry = json_object_get_object_member (files, label);
  g_assert_false (json_object_has_member (entry, "error"));
  if (mode != NULL)
    *mode = json_object_get_int_member (entry, "mode");

  /* The folder of this record: find it by its argv[0] and sequence. */
  {
    g_autoptr(GDir) dir = g_dir_open (f->records, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *rec = g_build_filename (f->records, name, "record.json", NULL);
        g_autofree char *text = NULL;
        g_autoptr(JsonParser) parser = json_parser_new ();
        JsonObject *o;

        if (!g_file_get_contents (rec, &text, NULL, NULL))
          continue;
        json_parser_load_from_data (parser, text, -1, NULL);
        o = json_node_get_object (json_parser_get_root (parser));
        if (json_node_equal (json_object_get_member (o, "argv"),
                             json_object_get_member (record, "argv")) &&
            json_node_equal (json_object_get_member (o, "files"),
                             json_object_get_member (record, "files")))
          {
            folder = g_build_filename (f->records, name, NULL);
            break;
          }
      }
  }
  g_assert_nonnull (folder);

  path = g_build_filename (folder, "files", label, NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));

  return contents;
}

/* No password in any argv or environment any stand-in saw. */
static void
assert_no_password_recorded (Fixture    *f,
                             const char *password)
{
  g_autoptr(GPtrArray) records = load_records (f);
  g_autofree char *escaped = bastion_pgpass_escape (password);

  g_assert_cmpuint (records->len, >, 0);

  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *o = json_node_get_object (g_ptr_array_index (records, i));
      JsonArray *argv = json_object_get_array_member (o, "argv");
      JsonObject *env = json_object_get_object_member (o, "env");
      g_autoptr(GList) names = json_object_get_members (env);

      for (guint j = 0; j < json_array_get_length (argv); j++)
        {
          const char *arg = json_array_get_string_element (argv, j);

          g_assert_null (strstr (arg, password));
          g_assert_null (strstr (arg, escaped));
        }

      for (const GList *l = names; l != NULL; l = l->next)
        {
          const char *value = json_object_get_string_member (env, l->data);

          g_assert_null (strstr (l->data, password));
          g_assert_null (strstr (value, password));
          g_assert_null (strstr (value, escaped));
        }
      g_assert_false (json_object_has_member (env, "PGPASSWORD"));
    }
}

static guint
file_mode (const char *path)
{
  struct stat st;

  g_assert_no_errno (lstat (path, &st));
  g_assert_true (S_ISREG (st.st_mode));

  return st.st_mode & 07777;
}

static guint
count_instance_files (Fixture *f)
{
  const char *inst = bastion_runtime_dir_get_instance_path (f->rd);
  g_autoptr(GDir) dir = g_dir_open (inst, 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

static void
clear_records (Fixture *f)
{
  rm_rf (f->records);
  g_assert_no_errno (g_mkdir (f->records, 0700));
}

/* --- Pure parts ---------------------------------------------------------------------------- */

static void
test_pgpass_escape (void)
{
  const struct { const char *in; const char *out; } cases[] = {
    { "plain", "plain" },
    { "a:b", "a\\:b" },
    { "a\\b", "a\\\\b" },
    { "\\:", "\\\\\\:" },
    { "", "" },
    { "日本:語", "日本\\:語" },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  char *bad;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = bastion_pgpass_escape (cases[i].in);

      g_assert_cmpstr (got, ==, cases[i].out);
    }

  line = bastion_pgpass_format_line (NULL, 6543, "db:x", "u\\1", "p:w", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "*:6543:db\\:x:u\\\\1:p\\:w\n");

  bad = bastion_pgpass_format_line (NULL, 6543, "db", "u", "line\nbreak", &error);
  g_assert_null (bad);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_uri (void)
{
  g_autoptr(BastionLaunchTarget) t = make_target (FALSE);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;

  a = bastion_launch_target_dup_uri (t);
  g_assert_cmpstr (a, ==,
                   "postgresql://dbadmin@id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com"
                   ":6543/simpleiot?hostaddr=127.0.0.1&sslmode=verify-full");

  g_free (t->sslmode);
  t->sslmode = g_strdup ("require");
  t->read_only = TRUE;
  b = bastion_launch_target_dup_uri (t);
  g_assert_cmpstr (b, ==,
                   "postgresql://dbadmin@127.0.0.1:6543/simpleiot?sslmode=require"
                   "&options=-c%20default_transaction_read_only%3Don");

  g_free (t->db_user);
  t->db_user = g_strdup ("odd user@x");
  c = bastion_launch_target_dup_uri (t);
  g_assert_true (g_str_has_prefix (c, "postgresql://odd%20user%40x@127.0.0.1:6543/"));
  g_assert_null (strstr (c, PASSWORD));
}

/* --- Detection ----------------------------------------------------------------------------- */

static void
test_detect (Fixture       *f,
             gconstpointer  user_data)
{
  const char *tools[] = { "dbeaver", "psql", "pgcli", "xdg-terminal-exec", "kgx" };
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLauncher) empty = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *only_bin = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    link_recorder (f->bin, tools[i]);
  write_pgadmin_layout (f, "APP_RELEASE = 8\nAPP_REVISION = 4\nAPP_SUFFIX = ''\n");

  launcher = make_launcher (f, NULL);
  bastion_launcher_list_tools_async (launcher, NULL, launch_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  list = bastion_launcher_list_tools_finish (launcher, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, BASTION_LAUNCHER_N_TOOLS);

  for (guint i = 0; i < list->len; i++)
    {
      BastionToolInfo *info = g_ptr_array_index (list, i);

      g_assert_true (info->available);
      g_assert_false (info->flatpak);
      g_assert_null (info->install_hint);
      if (info->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
        {
          g_assert_cmpstr (info->version, ==, "8.4");
          g_assert_true (g_str_has_suffix (info->path, "/usr/pgadmin4/bin/pgadmin4"));
        }
      if (info->tool == BASTION_LAUNCHER_TOOL_PSQL || info->tool == BASTION_LAUNCHER_TOOL_PGCLI)
        {
          g_assert_true (g_str_has_prefix (info->path, f->bin));
          /* xdg-terminal-exec comes before kgx. */
          g_assert_true (g_str_has_suffix (info->terminal, "/xdg-terminal-exec"));
        }
    }

  /* Nothing on the PATH: each tool says how to install it. */
  only_bin = g_build_filename (f->tmp, "empty-bin", NULL);
  g_assert_no_errno (g_mkdir (only_bin, 0700));
  rm_rf (f->root);
  g_assert_no_errno (g_mkdir (f->root, 0700));
  empty = make_launcher (f, only_bin);
  for (BastionLauncherTool t = BASTION_LAUNCHER_TOOL_PGADMIN; t <= BASTION_LAUNCHER_TOOL_PGCLI; t++)
    {
      g_autoptr(BastionToolInfo) info = bastion_launcher_detect_tool (empty, t);

      g_assert_false (info->available);
      g_assert_nonnull (info->install_hint);
      g_assert_cmpstr (info->install_hint, !=, "");
    }
}

static void
test_detect_flatpak (Fixture       *f,
                     gconstpointer  user_data)
{
  g_autofree char *exports = g_build_filename (f->data, "flatpak", "exports", "bin", NULL);
  g_autofree char *app = g_build_filename (exports, "io.dbeaver.DBeaverCommunity", NULL);
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionToolInfo) info = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *pgpass_copy = NULL;
  g_autofree char *filesystem = NULL;
  JsonObject *rec;

  g_assert_no_errno (g_mkdir_with_parents (exports, 0755));
  g_assert_true (g_file_set_contents (app, "#!/bin/sh\n", -1, NULL));
  link_recorder (f->bin, "flatpak");

  launcher = make_launcher (f, NULL);
  info = bastion_launcher_detect_tool (launcher, BASTION_LAUNCHER_TOOL_DBEAVER);
  g_assert_true (info->available);
  g_assert_true (info->flatpak);
  g_assert_cmpstr (info->path, ==, "io.dbeaver.DBeaverCommunity");

  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, PASSWORD, &error));
  g_assert_no_error (error);

  records = load_records (f);
  rec = find_record (records, "flatpak", 0);
  g_assert_nonnull (rec);
  argv = record_argv (rec);
  spec = bastion_launcher_dup_dbeaver_spec (launcher, target, NULL);
  g_assert_cmpuint (g_strv_length (argv), ==, 7);
  g_assert_cmpstr (argv[1], ==, "run");
  filesystem = g_strdup_printf ("--filesystem=%s:ro", f->rt_base);
  g_assert_cmpstr (argv[2], ==, filesystem);
  g_assert_true (g_str_has_prefix (argv[3], "--env=PGPASSFILE="));
  g_assert_cmpstr (argv[4], ==, "io.dbeaver.DBeaverCommunity");
  g_assert_cmpstr (argv[5], ==, "-con");
  g_assert_cmpstr (argv[6], ==, spec);
  pgpass_copy = record_file (f, rec, "pgpassfile", NULL);
  g_assert_cmpstr (pgpass_copy, ==, "*:6543:simpleiot:dbadmin:s3cr\\:et\\\\pw-Z9q\n");
  assert_no_password_recorded (f, PASSWORD);
}

/* --- DBeaver ------------------------------------------------------------------------------- */

static void
test_dbeaver (Fixture       *f,
              gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(BastionLaunchTarget) ro = make_target (TRUE);
  g_autoptr(BastionLaunchPlan) plan = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) ro_argv = NULL;
  g_autofree char *pgpass = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *dbeaver = NULL;
  guint mode = 0;
  JsonObject *rec;

  link_recorder (f->bin, "dbeaver");
  dbeaver = g_build_filename (f->bin, "dbeaver", NULL);
  launcher = make_launcher (f, NULL);

  /* --dry-run: the same command, and nothing written. */
  plan = bastion_launcher_describe (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (plan->env_names), ==, 1);
  g_assert_cmpstr (plan->env_names[0], ==, "PGPASSFILE");
  g_assert_cmpuint (g_strv_length (plan->files), ==, 1);
  pgpass = g_strdup (plan->files[0]);
  g_assert_true (g_str_has_prefix (pgpass, f->rt_base));
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));

  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, PASSWORD, &error));
  g_assert_no_error (error);

  records = load_records (f);
  g_assert_cmpuint (records->len, ==, 1);
  rec = find_record (records, "dbeaver", 0);
  argv = record_argv (rec);
  g_assert_cmpstrv (argv, plan->argv);
  g_assert_cmpuint (g_strv_length (argv), ==, 3);
  g_assert_cmpstr (argv[0], ==, dbeaver);
  g_assert_cmpstr (argv[1], ==, "-con");
  g_assert_cmpstr (argv[2], ==,
                   "driver=postgres-jdbc|host=127.0.0.1|port=6543|database=simpleiot"
                   "|user=dbadmin|name=Bastion: acme (dbadmin@simpleiot, 127.0.0.1:6543)"
                   "|folder=SimpleIOT|auth=postgres_pgpass|openConsole=true");
  g_assert_cmpstr (record_env (rec, "PGPASSFILE"), ==, pgpass);

  /* What DBeaver read: the escaped password, mode 0600. And still there while connected. */
  copy = record_file (f, rec, "pgpassfile", &mode);
  g_assert_cmpstr (copy, ==, "*:6543:simpleiot:dbadmin:s3cr\\:et\\\\pw-Z9q\n");
  g_assert_cmpuint (mode, ==, 0600);
  g_assert_cmpuint (file_mode (pgpass), ==, 0600);

  /* Read-only: the JDBC driver's options property. */
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, ro, PASSWORD, &error));
  g_assert_no_error (error);
  g_clear_pointer (&records, g_ptr_array_unref);
  records = load_records (f);
  ro_argv = record_argv (find_record (records, "dbeaver", 1));
  g_assert_true (g_str_has_suffix (ro_argv[2],
                                   "|openConsole=true|prop.options=-c "
                                   "default_transaction_read_only=on"));
  g_assert_null (strstr (ro_argv[2], "password"));
  /* Its own connection name: DBeaver would reuse a read-write one of the same name. */
  g_assert_nonnull (strstr (ro_argv[2],
                            "|name=Bastion: acme (dbadmin@simpleiot, 127.0.0.1:6543, read-only)|"));

  assert_no_password_recorded (f, PASSWORD);

  /* The tunnel closes: the file goes. */
  bastion_launcher_cleanup (launcher, "acme");
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_instance_files (f), ==, 0);
}

/* --- psql / pgcli through a terminal ------------------------------------------------------ */

static void
check_terminal_launch (Fixture             *f,
                       const char          *terminal,
                       const char          *separator,
                       BastionLauncherTool  tool,
                       gboolean             read_only)
{
  const char *tool_name = bastion_launcher_tool_to_string (tool);
  g_autoptr(BastionLauncher) launcher = make_launcher (f, NULL);
  g_autoptr(BastionLaunchTarget) target = make_target (read_only);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *service = NULL;
  g_autofree char *passfile = NULL;
  g_autofree char *tool_path = g_build_filename (f->bin, tool_name, NULL);
  g_autofree char *term_path = g_build_filename (f->bin, terminal, NULL);
  g_autofree char *pgpass = bastion_runtime_dir_build_path (f->rd, "acme.pgpass");
  g_autofree char *svc_path = bastion_runtime_dir_build_path (f->rd, "acme.pg_service.conf");
  g_autofree char *expected_service = NULL;
  g_autofree char *expected_arg = NULL;
  guint mode = 0;
  guint i = 0;
  JsonObject *rec;

  clear_records (f);
  g_assert_true (launch_sync (launcher, tool, target, PASSWORD, &error));
  g_assert_no_error (error);

  records = load_records (f);
  g_assert_cmpuint (records->len, ==, 1);
  rec = find_record (records, terminal, 0);
  g_assert_nonnull (rec);
  argv = record_argv (rec);

  g_assert_cmpstr (argv[i++], ==, term_path);
  if (separator != NULL)
    g_assert_cmpstr (argv[i++], ==, separator);
  g_assert_true (g_str_has_suffix (argv[i++], "/env"));
  expected_arg = g_strdup_printf ("PGSERVICEFILE=%s", svc_path);
  g_assert_cmpstr (argv[i++], ==, expected_arg);
  g_assert_cmpstr (argv[i++], ==, "PGSERVICE=acme");
  g_assert_cmpstr (argv[i++], ==, tool_path);
  g_assert_cmpstr (argv[i++], ==, "service=acme");
  g_assert_null (argv[i]);

  g_assert_cmpstr (record_env (rec, "PGSERVICEFILE"), ==, svc_path);
  g_assert_cmpstr (record_env (rec, "PGSERVICE"), ==, "acme");

  expected_service = g_strdup_printf (
    "# Written by Bastion while the tunnel is open; removed when it closes.\n"
    "[acme]\n"
    "host=id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com\n"
    "hostaddr=127.0.0.1\n"
    "port=6543\n"
    "dbname=simpleiot\n"
    "user=dbadmin\n"
    "sslmode=verify-full\n"
    "passfile=%s\n"
    "application_name=bastion\n"
    "%s",
    pgpass, read_only ? "options=-c default_transaction_read_only=on\n" : "");
  service = record_file (f, rec, "pgservicefile", &mode);
  g_assert_cmpstr (service, ==, expected_service);
  g_assert_cmpuint (mode, ==, 0600);
  passfile = record_file (f, rec, "passfile", &mode);
  g_assert_cmpstr (passfile, ==, "*:6543:simpleiot:dbadmin:s3cr\\:et\\\\pw-Z9q\n");
  g_assert_cmpuint (mode, ==, 0600);

  g_assert_cmpuint (file_mode (pgpass), ==, 0600);
  assert_no_password_recorded (f, PASSWORD);

  bastion_launcher_cleanup (launcher, "acme");
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (svc_path, G_FILE_TEST_EXISTS));
}

static void
test_psql_pgcli_terminals (Fixture       *f,
                           gconstpointer  user_data)
{
  g_autofree char *xte = g_build_filename (f->bin, "xdg-terminal-exec", NULL);
  g_autofree char *kgx = g_build_filename (f->bin, "kgx", NULL);
  g_autofree char *gt = g_build_filename (f->bin, "gnome-terminal", NULL);

  link_recorder (f->bin, "psql");
  link_recorder (f->bin, "pgcli");
  link_recorder (f->bin, "xdg-terminal-exec");
  link_recorder (f->bin, "kgx");
  link_recorder (f->bin, "gnome-terminal");
  link_recorder (f->bin, "konsole");

  check_terminal_launch (f, "xdg-terminal-exec", NULL, BASTION_LAUNCHER_TOOL_PSQL, FALSE);
  check_terminal_launch (f, "xdg-terminal-exec", NULL, BASTION_LAUNCHER_TOOL_PGCLI, TRUE);
  g_unlink (xte);
  check_terminal_launch (f, "kgx", "--", BASTION_LAUNCHER_TOOL_PSQL, TRUE);
  g_unlink (kgx);
  check_terminal_launch (f, "gnome-terminal", "--", BASTION_LAUNCHER_TOOL_PGCLI, FALSE);
  g_unlink (gt);
  check_terminal_launch (f, "konsole", "-e", BASTION_LAUNCHER_TOOL_PSQL, FALSE);
}

/* The terminal the preferences chose comes first when installed; Copy Command's one-liner names
 * the service file (0600 files beside it), never the password. */
static void
test_terminal_choice_and_command (Fixture       *f,
                                  gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = make_launcher (f, NULL);
  g_autoptr(BastionLaunchTarget) target = make_target (TRUE);
  g_autoptr(BastionLaunchPlan) plan = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  g_autofree char *pgpass = bastion_runtime_dir_build_path (f->rd, "acme.pgpass");
  g_autofree char *svc_path = bastion_runtime_dir_build_path (f->rd, "acme.pg_service.conf");
  g_autofree char *quoted = g_shell_quote (svc_path);
  g_autofree char *expected = g_strdup_printf ("PGSERVICEFILE=%s psql service=acme", quoted);
  struct stat st;

  link_recorder (f->bin, "psql");
  link_recorder (f->bin, "xdg-terminal-exec");
  link_recorder (f->bin, "konsole");

  bastion_launcher_set_terminal (launcher, "konsole");
  plan = bastion_launcher_describe (launcher, BASTION_LAUNCHER_TOOL_PSQL, target, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (plan->argv[0], "/konsole"));
  g_clear_pointer (&plan, bastion_launch_plan_free);

  /* A choice that is not installed: the first one found, as before. */
  bastion_launcher_set_terminal (launcher, "gnome-terminal");
  plan = bastion_launcher_describe (launcher, BASTION_LAUNCHER_TOOL_PSQL, target, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (plan->argv[0], "/xdg-terminal-exec"));
  bastion_launcher_set_terminal (launcher, "auto");

  bastion_launcher_write_command_async (launcher, BASTION_LAUNCHER_TOOL_PSQL, target, PASSWORD,
                                        NULL, launch_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  command = bastion_launcher_write_command_finish (launcher, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (command, ==, expected);
  g_assert_null (strstr (command, PASSWORD));
  g_assert_cmpint (g_stat (pgpass, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (svc_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_clear_object (&result);

  /* No password known: no files, and the error says how to give one. */
  bastion_launcher_cleanup (launcher, "acme");
  g_assert_false (g_file_test (svc_path, G_FILE_TEST_EXISTS));
  bastion_launcher_write_command_async (launcher, BASTION_LAUNCHER_TOOL_PSQL, target, NULL,
                                        NULL, launch_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_clear_pointer (&command, g_free);
  command = bastion_launcher_write_command_finish (launcher, result, &error);
  g_assert_null (command);
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NO_PASSWORD);
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
}

/* --- pgAdmin ------------------------------------------------------------------------------- */

static JsonObject *
parse_object (const char *text,
              JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);

  return json_node_get_object (json_parser_get_root (parser));
}

/* pgAdmin's servers as its setup.py lists them (the stand-in, run by the real Python). */
static JsonObject *
pgadmin_servers (Fixture    *f,
                 JsonParser *parser)
{
  g_autofree char *setup = g_build_filename (f->root, "usr", "pgadmin4", "web", "setup.py", NULL);
  g_autofree char *sqlite = g_build_filename (f->home, ".pgadmin", "pgadmin4.db", NULL);
  g_autofree char *out = g_build_filename (f->root, "dump-for-test.json", NULL);
  const char *argv[] = { "python3", setup, "dump-servers", out, "--sqlite-path", sqlite, NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  json_parser_load_from_file (parser, out, &error);
  g_assert_no_error (error);
  g_unlink (out);

  return json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                        "Servers");
}

static void
test_pgadmin (Fixture       *f,
              gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (TRUE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) db_parser = json_parser_new ();
  g_autofree char *servers_path = bastion_runtime_dir_build_path (f->rd, "acme-servers.json");
  g_autofree char *sqlite = g_build_filename (f->home, ".pgadmin", "pgadmin4.db", NULL);
  g_autofree char *servers_copy = NULL;
  g_auto(GStrv) load_argv = NULL;
  g_auto(GStrv) dump_argv = NULL;
  JsonObject *server;
  JsonObject *params;
  guint mode = 0;

  write_pgadmin_layout (f, "APP_RELEASE = 8\nAPP_REVISION = 4\nAPP_SUFFIX = ''\n");
  launcher = make_launcher (f, NULL);

  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);

  records = load_records (f);
  /* No database yet: no dump, one load, then pgAdmin. */
  g_assert_cmpuint (records->len, ==, 2);
  load_argv = record_argv (find_record (records, "python3", 0));
  g_assert_cmpuint (g_strv_length (load_argv), ==, 6);
  g_assert_true (g_str_has_suffix (load_argv[0], "/usr/pgadmin4/venv/bin/python3"));
  g_assert_true (g_str_has_suffix (load_argv[1], "/usr/pgadmin4/web/setup.py"));
  g_assert_cmpstr (load_argv[2], ==, "load-servers");
  g_assert_cmpstr (load_argv[3], ==, servers_path);
  g_assert_cmpstr (load_argv[4], ==, "--sqlite-path");
  g_assert_cmpstr (load_argv[5], ==, sqlite);
  g_assert_nonnull (find_record (records, "pgadmin4", 0));
  g_assert_true (g_str_has_suffix (
    json_array_get_string_element (json_object_get_array_member (find_record (records,
                                                                              "pgadmin4", 0),
                                                                 "argv"), 0),
    "/usr/pgadmin4/bin/pgadmin4"));

  servers_copy = record_file (f, find_record (records, "python3", 0), "servers.json", &mode);
  g_assert_cmpuint (mode, ==, 0600);
  server = json_object_get_object_member (
    json_object_get_object_member (parse_object (servers_copy, parser), "Servers"), "1");
  g_assert_cmpstr (json_object_get_string_member (server, "Name"), ==, "acme");
  g_assert_cmpstr (json_object_get_string_member (server, "Group"), ==, "SimpleIOT — acme");
  g_assert_cmpstr (json_object_get_string_member (server, "Host"), ==,
                   "id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com");
  g_assert_cmpstr (json_object_get_string_member (server, "HostAddr"), ==, "127.0.0.1");
  g_assert_cmpint (json_object_get_int_member (server, "Port"), ==, 6543);
  g_assert_cmpstr (json_object_get_string_member (server, "MaintenanceDB"), ==, "simpleiot");
  g_assert_cmpstr (json_object_get_string_member (server, "Username"), ==, "dbadmin");
  g_assert_cmpstr (json_object_get_string_member (server, "SSLMode"), ==, "verify-full");
  g_assert_cmpstr (json_object_get_string_member (server, "PasswordExecCommand"), ==,
                   "'" CLI_PATH "' secret print 'acme' db-password");
  g_assert_false (json_object_has_member (server, "Password"));
  params = json_object_get_object_member (server, "ConnectionParameters");
  g_assert_cmpstr (json_object_get_string_member (params, "hostaddr"), ==, "127.0.0.1");
  g_assert_cmpstr (json_object_get_string_member (params, "sslmode"), ==, "verify-full");
  g_assert_cmpstr (json_object_get_string_member (params, "options"), ==,
                   "-c default_transaction_read_only=on");

  /* servers.json is removed once loaded. */
  g_assert_false (g_file_test (servers_path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  /* Again: setup.py lists the servers, finds ours, and does not load it twice. */
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&records, g_ptr_array_unref);
  records = load_records (f);
  g_assert_cmpuint (count_records (records, "python3"), ==, 2);
  g_assert_cmpuint (count_records (records, "pgadmin4"), ==, 2);
  dump_argv = record_argv (find_record (records, "python3", 1));
  g_assert_cmpstr (dump_argv[2], ==, "dump-servers");
  g_assert_cmpstr (dump_argv[4], ==, "--sqlite-path");
  g_assert_cmpuint (json_object_get_size (pgadmin_servers (f, db_parser)), ==, 1);
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  for (guint i = 0; i < records->len; i++)
    {
      g_auto(GStrv) a = record_argv (json_node_get_object (g_ptr_array_index (records, i)));

      g_assert_false (g_strv_contains ((const char * const *)a, "--replace"));
    }
}

/* The user's own servers, loaded before Bastion ever ran: one has the team's name too. */
static void
pgadmin_user_servers (Fixture *f)
{
  g_autofree char *setup = g_build_filename (f->root, "usr", "pgadmin4", "web", "setup.py", NULL);
  g_autofree char *sqlite = g_build_filename (f->home, ".pgadmin", "pgadmin4.db", NULL);
  g_autofree char *in = g_build_filename (f->root, "user-servers.json", NULL);
  const char *argv[] = { "python3", setup, "load-servers", in, "--sqlite-path", sqlite, NULL };
  const char *json =
    "{\"Servers\": {"
    "\"1\": {\"Name\": \"Production\", \"Group\": \"Servers\", \"Host\": \"db.example.com\","
    " \"Port\": 5432, \"Username\": \"me\", \"MaintenanceDB\": \"postgres\","
    " \"ConnectionParameters\": {\"sslmode\": \"require\"}},"
    "\"2\": {\"Name\": \"acme\", \"Group\": \"Servers\", \"Host\": \"localhost\","
    " \"Port\": 6543, \"Username\": \"me\", \"MaintenanceDB\": \"postgres\","
    " \"ConnectionParameters\": {\"sslmode\": \"prefer\"}}}}";
  int status = -1;

  g_assert_true (g_file_set_contents (in, json, -1, NULL));
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                               NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static JsonObject *
find_server (JsonObject *servers,
             const char *group,
             const char *name,
             guint      *count)
{
  g_autoptr(GList) members = json_object_get_members (servers);
  JsonObject *found = NULL;

  *count = 0;
  for (const GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *s = json_object_get_object_member (servers, l->data);

      if (g_str_equal (json_object_get_string_member (s, "Group"), group) &&
          g_str_equal (json_object_get_string_member (s, "Name"), name))
        {
          found = s;
          (*count)++;
        }
    }

  return found;
}

static char *
server_json (JsonObject *server)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, server);
  return json_to_string (node, FALSE);
}

/* Issue 18: the tunnel moved to another local port (and the profile became read-only): a
 * launch replaces Bastion's entry, never adds a second one, never touches the user's servers,
 * and never uses --replace. */
static void
test_pgadmin_moved (Fixture       *f,
                    gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) before_parser = json_parser_new ();
  g_autoptr(JsonParser) after_parser = json_parser_new ();
  g_autoptr(JsonParser) again_parser = json_parser_new ();
  g_autofree char *prod_before = NULL;
  g_autofree char *acme_before = NULL;
  JsonObject *before;
  JsonObject *after;
  JsonObject *ours;
  guint count;

  write_pgadmin_layout (f, "APP_RELEASE = 9\nAPP_REVISION = 2\nAPP_SUFFIX = ''\n");
  pgadmin_user_servers (f);
  launcher = make_launcher (f, NULL);

  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  before = pgadmin_servers (f, before_parser);
  g_assert_cmpuint (json_object_get_size (before), ==, 3);
  ours = find_server (before, "SimpleIOT — acme", "acme", &count);
  g_assert_cmpuint (count, ==, 1);
  g_assert_cmpint (json_object_get_int_member (ours, "Port"), ==, 6543);
  prod_before = server_json (find_server (before, "Servers", "Production", &count));
  acme_before = server_json (find_server (before, "Servers", "acme", &count));

  /* The tunnel now listens on 6544, and the profile turned read-only. */
  target->local_port = 6544;
  target->read_only = TRUE;
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  after = pgadmin_servers (f, after_parser);
  g_assert_cmpuint (json_object_get_size (after), ==, 3);
  ours = find_server (after, "SimpleIOT — acme", "acme", &count);
  g_assert_cmpuint (count, ==, 1);
  g_assert_cmpint (json_object_get_int_member (ours, "Port"), ==, 6544);
  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (ours, "ConnectionParameters"), "options"),
                   ==, "-c default_transaction_read_only=on");
  {
    g_autofree char *prod_after = server_json (find_server (after, "Servers", "Production",
                                                            &count));
    g_autofree char *acme_after = server_json (find_server (after, "Servers", "acme", &count));

    g_assert_cmpstr (prod_after, ==, prod_before);
    g_assert_cmpstr (acme_after, ==, acme_before);
  }

  /* Once more on the same port: nothing to change, nothing loaded. */
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (pgadmin_servers (f, again_parser)), ==, 3);

  records = load_records (f);
  /* dump, load; dump, remove, load; dump. */
  g_assert_cmpuint (count_records (records, "python3"), ==, 6);
  for (guint i = 0; i < records->len; i++)
    {
      g_auto(GStrv) a = record_argv (json_node_get_object (g_ptr_array_index (records, i)));

      g_assert_false (g_strv_contains ((const char * const *)a, "--replace"));
    }
}

static void
test_pgadmin_old_and_unknown (Fixture       *f,
                              gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(BastionLaunchTarget) ro = make_target (TRUE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *version = g_build_filename (f->root, "usr", "pgadmin4", "web", "version.py",
                                               NULL);
  g_auto(GStrv) load_argv = NULL;

  /* 8.1 spells it --load-servers. */
  write_pgadmin_layout (f, "APP_RELEASE = 8\nAPP_REVISION = 1\n");
  launcher = make_launcher (f, NULL);
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  records = load_records (f);
  load_argv = record_argv (find_record (records, "python3", 0));
  g_assert_cmpstr (load_argv[2], ==, "--load-servers");

  /* 6.21 cannot carry the read-only options: refused, nothing written. */
  g_assert_true (g_file_set_contents (version, "APP_RELEASE = 6\nAPP_REVISION = 21\n", -1, NULL));
  g_assert_false (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, ro, NULL, &error));
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  /* No version: a clear error, nothing run, nothing left. */
  g_assert_true (g_file_set_contents (version, "# garbled\nAPP_RELEASE = x\n", -1, NULL));
  clear_records (f);
  g_assert_false (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNKNOWN_VERSION);
  g_assert_nonnull (strstr (error->message, "version"));
  g_clear_pointer (&records, g_ptr_array_unref);
  records = load_records (f);
  g_assert_cmpuint (records->len, ==, 0);
  g_assert_cmpuint (count_instance_files (f), ==, 0);
}

/* --- Failures ------------------------------------------------------------------------------ */

static void
test_tool_fails (Fixture       *f,
                 gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLauncher) nothing = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = g_build_filename (f->tmp, "empty-bin", NULL);

  link_recorder (f->bin, "dbeaver");
  launcher = make_launcher (f, NULL);

  g_setenv ("BASTION_RECORDER_FAIL", "dbeaver", TRUE);
  g_assert_false (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, PASSWORD, &error));
  g_unsetenv ("BASTION_RECORDER_FAIL");
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED);
  g_assert_nonnull (strstr (error->message, "cannot open display :99"));
  g_assert_nonnull (strstr (error->message, "exit status 3"));
  g_clear_error (&error);
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  /* No password known: refused before anything is written. */
  g_assert_false (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, NULL, &error));
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NO_PASSWORD);
  g_clear_error (&error);
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  /* Not installed. */
  g_assert_no_errno (g_mkdir (empty, 0700));
  nothing = make_launcher (f, empty);
  g_assert_false (launch_sync (nothing, BASTION_LAUNCHER_TOOL_PSQL, target, PASSWORD, &error));
  g_assert_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NOT_INSTALLED);
  g_assert_nonnull (strstr (error->message, "postgresql-client"));
  g_clear_error (&error);
  g_assert_cmpuint (count_instance_files (f), ==, 0);
}

static void
test_runtime_dir_private (Fixture       *f,
                          gconstpointer  user_data)
{
  g_autoptr(BastionRuntimeDir) rd = NULL;
  g_autoptr(BastionRuntimeDir) owned = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *open_dir = g_build_filename (f->tmp, "open", NULL);
  g_autofree char *other = g_build_filename (f->tmp, "other", NULL);
  g_autofree char *path = NULL;

  g_assert_no_errno (g_mkdir (open_dir, 0700));
  g_assert_no_errno (chmod (open_dir, 0755));
  rd = bastion_runtime_dir_new (open_dir);
  g_assert_null (bastion_runtime_dir_write_file (rd, "x.pgpass", "x", 1, &error));
  g_assert_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE);
  g_assert_nonnull (strstr (error->message, "chmod 700"));
  g_clear_error (&error);

  /* Created by us: 0700; files 0600 even with a permissive umask. */
  umask (0);
  path = bastion_runtime_dir_write_file (f->rd, "t.pgpass", "x", 1, &error);
  umask (022);
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  {
    struct stat st;

    g_assert_no_errno (stat (f->rt_base, &st));
    g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
    g_assert_no_errno (stat (bastion_runtime_dir_get_instance_path (f->rd), &st));
    g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  }

  /* Someone else's folder (only root can make one to test with). */
  if (geteuid () == 0)
    {
      g_assert_no_errno (g_mkdir (other, 0700));
      g_assert_no_errno (chown (other, 65534, 65534));
      owned = bastion_runtime_dir_new (other);
      g_assert_false (bastion_runtime_dir_ensure (owned, &error));
      g_assert_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE);
    }
}

/* --- Crash and stale cleanup, across real processes --------------------------------------- */

static const char *self_exe;

static GSubprocess *
spawn_helper (const char *mode,
              const char *base)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                           &error, self_exe, mode, base, NULL);
  g_assert_no_error (error);

  return proc;
}

static char *
read_line (GSubprocess *proc)
{
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));

  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in), FALSE);

  return g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL);
}

/* Runs in a helper process: writes a pgpass through the launcher's runtime folder, prints its
 * path, then either dies by SIGKILL (a crash) or waits for stdin to close and exits normally
 * (a running instance). */
static int
helper_main (const char *mode,
             const char *base)
{
  g_autoptr(BastionRuntimeDir) rd = bastion_runtime_dir_new (base);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = bastion_runtime_dir_write_file (rd, "acme.pgpass", "*:1:d:u:p\n", 10,
                                                          &error);
  char buf[16];

  if (path == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  printf ("%s\n", path);
  fflush (stdout);

  if (g_str_equal (mode, "--crash-helper"))
    raise (SIGKILL);

  while (read (0, buf, sizeof buf) > 0)
    ;
  bastion_runtime_dir_release (rd);

  return 0;
}

static void
test_stale_cleanup (Fixture       *f,
                    gconstpointer  user_data)
{
  g_autoptr(GSubprocess) crash = spawn_helper ("--crash-helper", f->rt_base);
  g_autoptr(GSubprocess) live = spawn_helper ("--live-helper", f->rt_base);
  g_autoptr(BastionLauncher) launcher = make_launcher (f, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *crash_file = read_line (crash);
  g_autofree char *live_file = read_line (live);
  g_autofree char *mine = NULL;
  guint n_removed = 99;

  g_assert_nonnull (crash_file);
  g_assert_nonnull (live_file);
  g_subprocess_wait (crash, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_term_sig (crash), ==, SIGKILL);

  /* The crashed one left its file behind; so do we (our own instance) and the live one. */
  g_assert_true (g_file_test (crash_file, G_FILE_TEST_EXISTS));
  mine = bastion_runtime_dir_write_file (f->rd, "mine.pgpass", "x", 1, &error);
  g_assert_no_error (error);

  g_assert_true (bastion_launcher_cleanup_stale (launcher, &n_removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_removed, ==, 1);
  g_assert_false (g_file_test (crash_file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (live_file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (mine, G_FILE_TEST_EXISTS));

  /* The live instance, from its side, leaves ours alone too. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (live), NULL, NULL);
  g_subprocess_wait_check (live, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (live_file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (mine, G_FILE_TEST_EXISTS));

  /* At exit: everything of ours goes. */
  bastion_launcher_cleanup_all (launcher);
  g_assert_false (g_file_test (mine, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (bastion_runtime_dir_get_instance_path (f->rd), G_FILE_TEST_EXISTS));
}

/* --- The real psql through the service entry --------------------------------------------- */

static char *
run_real_psql (Fixture  *f,
               gboolean  read_only)
{
  const char *port = g_getenv ("BASTION_TEST_PG_PORT");
  const char *pwfile = g_getenv ("BASTION_TEST_PG_PASSWORD_FILE");
  g_autoptr(BastionLauncher) launcher = make_launcher (f, NULL);
  g_autoptr(BastionLaunchTarget) target = make_target (read_only);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  g_autofree char *stdin_path = g_build_filename (f->tmp, "psql-input.sql", NULL);
  g_autofree char *output = NULL;
  g_autofree char *out_path = NULL;
  g_auto(GStrv) argv = NULL;
  JsonObject *rec;

  g_assert_true (g_file_get_contents (pwfile, &password, NULL, NULL));
  g_strchomp (password);

  /* The harness's PostgreSQL port stands in for the tunnel's local port. */
  target->local_port = atoi (port);
  g_clear_pointer (&target->db_host, g_free);
  g_free (target->sslmode);
  target->sslmode = g_strdup ("prefer");
  g_free (target->db_name);
  target->db_name = g_strdup (g_getenv ("BASTION_TEST_PG_DB"));
  g_free (target->db_user);
  target->db_user = g_strdup (g_getenv ("BASTION_TEST_PG_USER"));

  g_assert_true (g_file_set_contents (stdin_path,
                                      "\\set QUIET on\n"
                                      "\\pset format unaligned\n"
                                      "\\pset tuples_only on\n"
                                      "show default_transaction_read_only;\n"
                                      "select current_user;\n", -1, NULL));
  clear_records (f);
  g_setenv ("BASTION_RECORDER_EXEC", "1", TRUE);
  g_setenv ("BASTION_RECORDER_STDIN", stdin_path, TRUE);
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PSQL, target, password, &error));
  g_assert_no_error (error);
  g_unsetenv ("BASTION_RECORDER_EXEC");
  g_unsetenv ("BASTION_RECORDER_STDIN");

  records = load_records (f);
  rec = find_record (records, "xdg-terminal-exec", 0);
  g_assert_nonnull (rec);
  argv = record_argv (rec);
  g_assert_cmpstr (argv[g_strv_length (argv) - 2], ==, "/usr/bin/psql");

  out_path = g_build_filename (f->records, "000-xdg-terminal-exec", "output.txt", NULL);
  g_assert_true (g_file_get_contents (out_path, &output, NULL, NULL));
  if (json_object_get_int_member (rec, "command_status") != 0)
    g_error ("psql failed: %s", output);

  assert_no_password_recorded (f, password);
  bastion_launcher_cleanup (launcher, "acme");
  g_assert_cmpuint (count_instance_files (f), ==, 0);

  return g_steal_pointer (&output);
}

static void
test_real_psql (Fixture       *f,
                gconstpointer  user_data)
{
  g_autofree char *ro = NULL;
  g_autofree char *rw = NULL;
  g_autofree char *expected_ro = NULL;
  g_autofree char *expected_rw = NULL;

  if (g_getenv ("BASTION_TEST_PG_PORT") == NULL)
    {
      g_test_skip ("needs tests/harness/with-servers --postgres");
      return;
    }

  link_recorder (f->bin, "xdg-terminal-exec");

  ro = run_real_psql (f, TRUE);
  rw = run_real_psql (f, FALSE);

  expected_ro = g_strdup_printf ("on\n%s\n", g_getenv ("BASTION_TEST_PG_USER"));
  expected_rw = g_strdup_printf ("off\n%s\n", g_getenv ("BASTION_TEST_PG_USER"));
  g_assert_cmpstr (ro, ==, expected_ro);
  g_assert_cmpstr (rw, ==, expected_rw);
}

/* --- Inside a Flatpak sandbox -------------------------------------------------------------- */

/* How the sandbox is told apart: a launcher constructed with "flatpak-info" naming a file of
 * this test takes the sandbox paths exactly as one that finds /.flatpak-info. The product
 * reads no variable for it; a mount namespace could not put a file at /.flatpak-info without
 * creating it on the real root file system (a bind mount needs an existing target). */
static char *
write_flatpak_info (Fixture    *f,
                    const char *contents)
{
  char *path = g_build_filename (f->tmp, "flatpak-info", NULL);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));

  return path;
}

typedef struct
{
  char *xdg;
  char *old_xdg;
  char *info;
  char *shared;   /* $XDG_RUNTIME_DIR/app/ID/bastion */
} Sandbox;

static void
sandbox_enter (Fixture *f,
               Sandbox *sb)
{
  sb->old_xdg = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));
  sb->xdg = g_build_filename (f->tmp, "xdg-run", NULL);
  g_assert_no_errno (g_mkdir_with_parents (sb->xdg, 0700));
  g_setenv ("XDG_RUNTIME_DIR", sb->xdg, TRUE);
  sb->info = write_flatpak_info (f, "[Application]\nname=io.github.bastiongtk.Bastion\n"
                                    "runtime=runtime/org.gnome.Platform/x86_64/49\n");
  sb->shared = g_build_filename (sb->xdg, "app", "io.github.bastiongtk.Bastion", "bastion",
                                 NULL);
  link_recorder (f->bin, "flatpak-spawn");
}

static void
sandbox_leave (Sandbox *sb)
{
  if (sb->old_xdg != NULL)
    g_setenv ("XDG_RUNTIME_DIR", sb->old_xdg, TRUE);
  else
    g_unsetenv ("XDG_RUNTIME_DIR");
  g_free (sb->xdg);
  g_free (sb->old_xdg);
  g_free (sb->info);
  g_free (sb->shared);
}

static BastionLauncher *
make_sandbox_launcher (Fixture *f,
                       Sandbox *sb)
{
  g_autofree char *path = g_strdup_printf ("%s:/usr/bin:/bin", f->bin);

  /* No runtime-dir: the launcher picks the one the host shares. */
  return g_object_new (BASTION_TYPE_LAUNCHER,
                       "root", f->root,
                       "search-path", path,
                       "home-dir", f->home,
                       "data-dir", f->data,
                       "cli-path", CLI_PATH,
                       "flatpak-info", sb->info,
                       "watch-ms", 120000,
                       NULL);
}

/* The flatpak-spawn record that started a tool (not a detection probe: those run "sh -c"). */
static JsonObject *
find_spawn_of (GPtrArray  *records,
               const char *tool_path)
{
  JsonObject *rec;

  for (guint i = 0; (rec = find_record (records, "flatpak-spawn", i)) != NULL; i++)
    {
      g_auto(GStrv) argv = record_argv (rec);

      if (g_strv_contains ((const char * const *)argv, tool_path))
        return rec;
    }

  return NULL;
}

/* No recorded file but the pgpass copies holds the password; none is outside the records. */
static void
assert_password_only_in_pgpass (Fixture    *f,
                                const char *password)
{
  g_autoptr(GDir) dir = g_dir_open (f->records, 0, NULL);
  g_autofree char *escaped = bastion_pgpass_escape (password);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *files = g_build_filename (f->records, name, "files", NULL);
      g_autoptr(GDir) fdir = g_dir_open (files, 0, NULL);
      const char *label;

      while (fdir != NULL && (label = g_dir_read_name (fdir)) != NULL)
        {
          g_autofree char *path = g_build_filename (files, label, NULL);
          g_autofree char *text = NULL;

          g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
          if (g_str_equal (label, "passfile") || g_str_equal (label, "pgpassfile"))
            continue;
          g_assert_null (strstr (text, password));
          g_assert_null (strstr (text, escaped));
        }
    }
}

static guint
dir_mode (const char *path)
{
  struct stat st;

  g_assert_no_errno (lstat (path, &st));
  g_assert_true (S_ISDIR (st.st_mode));

  return st.st_mode & 07777;
}

static void
test_sandbox_detect (Fixture       *f,
                     gconstpointer  user_data)
{
  g_autofree char *missing = g_build_filename (f->tmp, "no-flatpak-info", NULL);
  g_autofree char *devel = write_flatpak_info (f, "[Application]\n"
                                                  "name=io.github.bastiongtk.Bastion.Devel\n");
  g_autofree char *junk = g_build_filename (f->tmp, "junk-info", NULL);
  g_autofree char *id = NULL;
  g_autofree char *fallback = NULL;
  g_autofree char *spawn = g_build_filename (f->bin, "flatpak-spawn", NULL);
  g_autofree char *kgx = g_build_filename (f->bin, "kgx", NULL);
  g_autoptr(BastionLauncher) outside = NULL;
  g_autoptr(BastionLauncher) inside = NULL;
  g_autoptr(BastionToolInfo) info = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_auto(GStrv) argv = NULL;
  Sandbox sb = { 0 };
  JsonObject *rec;

  g_assert_null (bastion_runtime_dir_dup_sandbox_app_id (missing));
  id = bastion_runtime_dir_dup_sandbox_app_id (devel);
  g_assert_cmpstr (id, ==, "io.github.bastiongtk.Bastion.Devel");
  /* A file that is there but unreadable as a key file still means "sandboxed". */
  g_assert_true (g_file_set_contents (junk, "\x01not a key file", -1, NULL));
  g_unsetenv ("FLATPAK_ID");
  fallback = bastion_runtime_dir_dup_sandbox_app_id (junk);
  g_assert_cmpstr (fallback, ==, APP_ID);

  sandbox_enter (f, &sb);
  link_recorder (f->bin, "psql");
  link_recorder (f->bin, "kgx");

  /* No /.flatpak-info: the tools are looked for here, without flatpak-spawn. */
  outside = g_object_new (BASTION_TYPE_LAUNCHER, "search-path", f->bin, "root", f->root,
                          "home-dir", f->home, "data-dir", f->data, "runtime-dir", f->rd,
                          "flatpak-info", missing, NULL);
  info = bastion_launcher_detect_tool (outside, BASTION_LAUNCHER_TOOL_PSQL);
  g_assert_true (info->available);
  g_clear_pointer (&info, bastion_tool_info_free);
  records = load_records (f);
  g_assert_cmpuint (records->len, ==, 0);
  g_clear_pointer (&records, g_ptr_array_unref);

  /* Inside: one probe on the host answers every question about psql. */
  inside = make_sandbox_launcher (f, &sb);
  g_assert_true (g_str_has_prefix (
    bastion_runtime_dir_get_base (bastion_launcher_get_runtime_dir (inside)), sb.shared));
  g_assert_cmpstr (bastion_runtime_dir_get_xdg_relative (bastion_launcher_get_runtime_dir (inside)),
                   ==, "app/io.github.bastiongtk.Bastion/bastion");
  info = bastion_launcher_detect_tool (inside, BASTION_LAUNCHER_TOOL_PSQL);
  g_assert_true (info->available);
  g_assert_cmpstr (info->terminal, ==, kgx);
  records = load_records (f);
  g_assert_cmpuint (records->len, ==, 1);
  rec = find_record (records, "flatpak-spawn", 0);
  argv = record_argv (rec);
  g_assert_cmpstr (argv[0], ==, spawn);
  g_assert_cmpstr (argv[1], ==, "--host");
  g_assert_true (g_str_has_prefix (argv[2], "--directory="));
  g_assert_cmpstr (argv[3], ==, "sh");
  g_assert_cmpstr (argv[4], ==, "-c");
  g_assert_true (g_strv_contains ((const char * const *)argv, "w:psql"));
  g_clear_pointer (&info, bastion_tool_info_free);
  g_clear_pointer (&records, g_ptr_array_unref);

  /* The host cannot be asked (no permission to talk to org.freedesktop.Flatpak): the hint
   * says so and how to allow it. */
  g_setenv ("BASTION_RECORDER_FAIL", "flatpak-spawn", TRUE);
  info = bastion_launcher_detect_tool (inside, BASTION_LAUNCHER_TOOL_PSQL);
  g_unsetenv ("BASTION_RECORDER_FAIL");
  g_assert_false (info->available);
  g_assert_nonnull (strstr (info->install_hint, "org.freedesktop.Flatpak"));
  g_assert_nonnull (strstr (info->install_hint, "cannot open display"));

  sandbox_leave (&sb);
}

static void
check_sandbox_terminal (Fixture             *f,
                        Sandbox             *sb,
                        const char          *terminal,
                        const char          *separator,
                        BastionLauncherTool  tool,
                        gboolean             read_only)
{
  const char *tool_name = bastion_launcher_tool_to_string (tool);
  g_autoptr(BastionLauncher) launcher = make_sandbox_launcher (f, sb);
  BastionRuntimeDir *rd = bastion_launcher_get_runtime_dir (launcher);
  g_autoptr(BastionLaunchTarget) target = make_target (read_only);
  g_autoptr(BastionLaunchPlan) plan = NULL;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) term_argv = NULL;
  g_autofree char *spawn = g_build_filename (f->bin, "flatpak-spawn", NULL);
  g_autofree char *tool_path = g_build_filename (f->bin, tool_name, NULL);
  g_autofree char *term_path = g_build_filename (f->bin, terminal, NULL);
  g_autofree char *pgpass = bastion_runtime_dir_build_path (rd, "acme.pgpass");
  g_autofree char *svc = bastion_runtime_dir_build_path (rd, "acme.pg_service.conf");
  g_autofree char *dir_arg = g_strdup_printf ("--directory=%s", f->home);
  g_autofree char *env_svc = g_strdup_printf ("--env=PGSERVICEFILE=%s", svc);
  g_autofree char *svc_arg = g_strdup_printf ("PGSERVICEFILE=%s", svc);
  g_autofree char *service = NULL;
  g_autofree char *passfile = NULL;
  g_autofree char *instance = g_strdup (bastion_runtime_dir_get_instance_path (rd));
  guint mode = 0;
  guint i = 0;
  JsonObject *rec;
  JsonObject *term;

  /* Where the host sees them: the shared folder, at the same path. */
  g_assert_true (g_str_has_prefix (pgpass, sb->shared));
  g_assert_true (g_str_has_prefix (svc, sb->shared));

  clear_records (f);
  plan = bastion_launcher_describe (launcher, tool, target, &error);
  g_assert_no_error (error);
  g_assert_true (launch_sync (launcher, tool, target, PASSWORD, &error));
  g_assert_no_error (error);

  records = load_records (f);
  rec = find_spawn_of (records, tool_path);
  g_assert_nonnull (rec);
  argv = record_argv (rec);
  g_assert_cmpstrv (argv, plan->argv);

  g_assert_cmpstr (argv[i++], ==, spawn);
  g_assert_cmpstr (argv[i++], ==, "--host");
  g_assert_cmpstr (argv[i++], ==, dir_arg);
  g_assert_cmpstr (argv[i++], ==, env_svc);
  g_assert_cmpstr (argv[i++], ==, "--env=PGSERVICE=acme");
  g_assert_cmpstr (argv[i++], ==, term_path);
  if (separator != NULL)
    g_assert_cmpstr (argv[i++], ==, separator);
  g_assert_true (g_str_has_suffix (argv[i++], "/env"));
  g_assert_cmpstr (argv[i++], ==, svc_arg);
  g_assert_cmpstr (argv[i++], ==, "PGSERVICE=acme");
  g_assert_cmpstr (argv[i++], ==, tool_path);
  g_assert_cmpstr (argv[i++], ==, "service=acme");
  g_assert_null (argv[i]);

  /* flatpak-spawn itself got no connection variable: they travel as --env= only. */
  g_assert_null (record_env (rec, "PGSERVICEFILE"));
  g_assert_null (record_env (rec, "PGPASSFILE"));

  /* The terminal ran on the "host" with the paths from --env=, and read the files there. */
  term = find_record (records, terminal, 0);
  g_assert_nonnull (term);
  term_argv = record_argv (term);
  g_assert_cmpstr (term_argv[0], ==, term_path);
  g_assert_cmpstr (record_env (term, "PGSERVICEFILE"), ==, svc);
  g_assert_cmpstr (record_env (term, "PGSERVICE"), ==, "acme");
  service = record_file (f, term, "pgservicefile", &mode);
  g_assert_cmpuint (mode, ==, 0600);
  g_assert_nonnull (strstr (service, pgpass));
  passfile = record_file (f, term, "passfile", &mode);
  g_assert_cmpuint (mode, ==, 0600);
  g_assert_cmpstr (passfile, ==, "*:6543:simpleiot:dbadmin:s3cr\\:et\\\\pw-Z9q\n");

  g_assert_cmpuint (dir_mode (sb->shared), ==, 0700);
  g_assert_cmpuint (dir_mode (instance), ==, 0700);
  g_assert_cmpuint (file_mode (pgpass), ==, 0600);
  g_assert_cmpuint (file_mode (svc), ==, 0600);

  assert_no_password_recorded (f, PASSWORD);
  assert_password_only_in_pgpass (f, PASSWORD);

  /* Disconnect: the files go; at exit the instance folder goes too. */
  bastion_launcher_cleanup (launcher, "acme");
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (svc, G_FILE_TEST_EXISTS));
  bastion_launcher_cleanup_all (launcher);
  g_assert_false (g_file_test (instance, G_FILE_TEST_EXISTS));
}

static void
test_sandbox_psql_pgcli (Fixture       *f,
                         gconstpointer  user_data)
{
  g_autofree char *xte = g_build_filename (f->bin, "xdg-terminal-exec", NULL);
  Sandbox sb = { 0 };

  sandbox_enter (f, &sb);
  link_recorder (f->bin, "psql");
  link_recorder (f->bin, "pgcli");
  link_recorder (f->bin, "xdg-terminal-exec");
  link_recorder (f->bin, "kgx");

  check_sandbox_terminal (f, &sb, "xdg-terminal-exec", NULL, BASTION_LAUNCHER_TOOL_PSQL, FALSE);
  check_sandbox_terminal (f, &sb, "xdg-terminal-exec", NULL, BASTION_LAUNCHER_TOOL_PGCLI, TRUE);
  g_unlink (xte);
  check_sandbox_terminal (f, &sb, "kgx", "--", BASTION_LAUNCHER_TOOL_PSQL, TRUE);

  sandbox_leave (&sb);
}

static void
test_sandbox_dbeaver_flatpak (Fixture       *f,
                              gconstpointer  user_data)
{
  g_autofree char *exports = g_build_filename (f->data, "flatpak", "exports", "bin", NULL);
  g_autofree char *app = g_build_filename (exports, "io.dbeaver.DBeaverCommunity", NULL);
  g_autofree char *spawn = g_build_filename (f->bin, "flatpak-spawn", NULL);
  g_autofree char *flatpak = g_build_filename (f->bin, "flatpak", NULL);
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (FALSE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *pgpass = NULL;
  g_autofree char *env_pgpass = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *dir_arg = g_strdup_printf ("--directory=%s", f->home);
  Sandbox sb = { 0 };
  guint mode = 0;
  JsonObject *rec;
  JsonObject *run;

  sandbox_enter (f, &sb);
  g_assert_no_errno (g_mkdir_with_parents (exports, 0755));
  g_assert_true (g_file_set_contents (app, "#!/bin/sh\n", -1, NULL));
  link_recorder (f->bin, "flatpak");

  launcher = make_sandbox_launcher (f, &sb);
  pgpass = bastion_runtime_dir_build_path (bastion_launcher_get_runtime_dir (launcher),
                                           "acme.pgpass");
  env_pgpass = g_strdup_printf ("--env=PGPASSFILE=%s", pgpass);
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_DBEAVER, target, PASSWORD, &error));
  g_assert_no_error (error);

  records = load_records (f);
  rec = find_spawn_of (records, flatpak);
  g_assert_nonnull (rec);
  argv = record_argv (rec);
  spec = bastion_launcher_dup_dbeaver_spec (launcher, target, NULL);
  g_assert_cmpuint (g_strv_length (argv), ==, 11);
  g_assert_cmpstr (argv[0], ==, spawn);
  g_assert_cmpstr (argv[1], ==, "--host");
  g_assert_cmpstr (argv[2], ==, dir_arg);
  g_assert_cmpstr (argv[3], ==, env_pgpass);
  g_assert_cmpstr (argv[4], ==, flatpak);
  g_assert_cmpstr (argv[5], ==, "run");
  /* DBeaver's own sandbox gets Bastion's shared folder, read-only. */
  g_assert_cmpstr (argv[6], ==,
                   "--filesystem=xdg-run/app/io.github.bastiongtk.Bastion/bastion:ro");
  g_assert_cmpstr (argv[7], ==, env_pgpass);
  g_assert_cmpstr (argv[8], ==, "io.dbeaver.DBeaverCommunity");
  g_assert_cmpstr (argv[9], ==, "-con");
  g_assert_cmpstr (argv[10], ==, spec);

  run = find_record (records, "flatpak", 0);
  g_assert_nonnull (run);
  g_assert_cmpstr (record_env (run, "PGPASSFILE"), ==, pgpass);
  copy = record_file (f, run, "pgpassfile", &mode);
  g_assert_cmpuint (mode, ==, 0600);
  g_assert_cmpstr (copy, ==, "*:6543:simpleiot:dbadmin:s3cr\\:et\\\\pw-Z9q\n");
  assert_no_password_recorded (f, PASSWORD);
  assert_password_only_in_pgpass (f, PASSWORD);

  bastion_launcher_cleanup (launcher, "acme");
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
  bastion_launcher_cleanup_all (launcher);
  sandbox_leave (&sb);
}

static void
test_sandbox_pgadmin (Fixture       *f,
                      gconstpointer  user_data)
{
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = make_target (TRUE);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *servers_path = NULL;
  g_autofree char *servers_copy = NULL;
  g_autofree char *spawn = g_build_filename (f->bin, "flatpak-spawn", NULL);
  g_autofree char *python = g_build_filename (f->root, "usr", "pgadmin4", "venv", "bin",
                                              "python3", NULL);
  g_autofree char *pgadmin = g_build_filename (f->root, "usr", "pgadmin4", "bin", "pgadmin4",
                                               NULL);
  g_auto(GStrv) load_argv = NULL;
  g_auto(GStrv) dump_argv = NULL;
  g_auto(GStrv) run_argv = NULL;
  Sandbox sb = { 0 };
  JsonObject *server;
  guint mode = 0;

  sandbox_enter (f, &sb);
  write_pgadmin_layout (f, "APP_RELEASE = 8\nAPP_REVISION = 4\nAPP_SUFFIX = ''\n");
  launcher = make_sandbox_launcher (f, &sb);
  servers_path = bastion_runtime_dir_build_path (bastion_launcher_get_runtime_dir (launcher),
                                                 "acme-servers.json");
  g_assert_true (g_str_has_prefix (servers_path, sb.shared));

  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  records = load_records (f);

  /* setup.py and pgAdmin both run on the host through flatpak-spawn --host. */
  load_argv = record_argv (find_spawn_of (records, python));
  g_assert_cmpstr (load_argv[0], ==, spawn);
  g_assert_cmpstr (load_argv[1], ==, "--host");
  g_assert_cmpstr (load_argv[3], ==, python);
  g_assert_cmpstr (load_argv[5], ==, "load-servers");
  g_assert_cmpstr (load_argv[6], ==, servers_path);
  run_argv = record_argv (find_spawn_of (records, pgadmin));
  g_assert_cmpstr (run_argv[0], ==, spawn);
  g_assert_cmpstr (run_argv[1], ==, "--host");
  g_assert_cmpstr (run_argv[3], ==, pgadmin);
  g_assert_null (run_argv[4]);

  /* The host's pgAdmin reaches the sandbox's bastion-cli through flatpak run. */
  servers_copy = record_file (f, find_record (records, "python3", 0), "servers.json", &mode);
  g_assert_cmpuint (mode, ==, 0600);
  server = json_object_get_object_member (
    json_object_get_object_member (parse_object (servers_copy, parser), "Servers"), "1");
  g_assert_cmpstr (json_object_get_string_member (server, "PasswordExecCommand"), ==,
                   "flatpak run --command=bastion-cli 'io.github.bastiongtk.Bastion' "
                   "secret print 'acme' db-password");
  g_assert_false (g_file_test (servers_path, G_FILE_TEST_EXISTS));

  /* Again: pgAdmin's database is found on the host, so setup.py lists the servers first,
   * into the shared folder, and the list is gone afterwards. */
  g_assert_true (launch_sync (launcher, BASTION_LAUNCHER_TOOL_PGADMIN, target, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&records, g_ptr_array_unref);
  records = load_records (f);
  g_assert_cmpuint (count_records (records, "python3"), ==, 2);
  g_assert_cmpuint (count_records (records, "pgadmin4"), ==, 2);
  dump_argv = record_argv (find_record (records, "python3", 1));
  g_assert_cmpstr (dump_argv[2], ==, "dump-servers");
  g_assert_true (g_str_has_prefix (dump_argv[3], sb.shared));
  g_assert_false (g_file_test (dump_argv[3], G_FILE_TEST_EXISTS));

  bastion_launcher_cleanup_all (launcher);
  sandbox_leave (&sb);
}

int
main (int    argc,
      char **argv)
{
  self_exe = argv[0];

  if (argc == 3 && (g_str_equal (argv[1], "--crash-helper") ||
                    g_str_equal (argv[1], "--live-helper")))
    return helper_main (argv[1], argv[2]);

  /* psql's own defaults must not leak in from the caller. */
  g_unsetenv ("PGPASSWORD");
  g_unsetenv ("PGSERVICE");
  g_unsetenv ("PGSERVICEFILE");
  g_unsetenv ("PGPASSFILE");

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/launcher/pgpass-escape", test_pgpass_escape);
  g_test_add_func ("/bastion/launcher/uri", test_uri);
#define ADD(path, func) \
  g_test_add ("/bastion/launcher/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("detect", test_detect);
  ADD ("pgadmin-moved", test_pgadmin_moved);
  ADD ("detect-flatpak", test_detect_flatpak);
  ADD ("dbeaver", test_dbeaver);
  ADD ("psql-pgcli-terminals", test_psql_pgcli_terminals);
  ADD ("terminal-choice-and-command", test_terminal_choice_and_command);
  ADD ("pgadmin", test_pgadmin);
  ADD ("pgadmin-old-and-unknown", test_pgadmin_old_and_unknown);
  ADD ("tool-fails", test_tool_fails);
  ADD ("runtime-dir-private", test_runtime_dir_private);
  ADD ("stale-cleanup", test_stale_cleanup);
  ADD ("real-psql", test_real_psql);
  ADD ("sandbox-detect", test_sandbox_detect);
  ADD ("sandbox-psql-pgcli", test_sandbox_psql_pgcli);
  ADD ("sandbox-dbeaver-flatpak", test_sandbox_dbeaver_flatpak);
  ADD ("sandbox-pgadmin", test_sandbox_pgadmin);
#undef ADD

  return g_test_run ();
}
