/* test-history.c
 *
 * The query history store (issue 20) on a real SQLite file: every outcome recorded and read
 * back, search and the outcome filter, deleting one and all, PASSWORD '…' masked, the file
 * 0600 in a 0700 folder, a damaged file moved aside with a message (its bytes kept), and the
 * calls run off the main loop in order.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "bastion-history.h"
#include "test-util.h"

static char *tmp_dir;

/* Whether @needle is anywhere in @len bytes (an SQLite file has NULs: not a string search). */
static gboolean
bytes_contain (const char *haystack,
               gsize       len,
               const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= len; i++)
    if (memcmp (haystack + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

static void
add (BastionHistory        *history,
     const char            *sql,
     gint64                 started,
     gint64                 rows,
     BastionHistoryOutcome  outcome,
     const char            *sqlstate,
     gboolean               writes)
{
  g_autoptr(BastionHistoryEntry) entry =
    bastion_history_entry_new (sql, started, 1500, rows, outcome, sqlstate, writes);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_history_add_async (history, entry, NULL, test_store_result, &result);
  g_assert_true (bastion_history_add_finish (history, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_history_entry_get_id (entry), >, 0);
}

static GPtrArray *
search (BastionHistory        *history,
        const char            *text,
        BastionHistoryOutcome  outcome)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *entries;

  bastion_history_search_async (history, text, outcome, 0, NULL, test_store_result, &result);
  entries = bastion_history_search_finish (history, test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (entries);
  return entries;
}

static char *
new_path (const char *name)
{
  return g_build_filename (tmp_dir, "data", "bastion", "history", name, NULL);
}

static void
test_outcomes (void)
{
  g_autofree char *path = new_path ("outcomes.sqlite");
  g_autoptr(BastionHistory) history = bastion_history_new (path);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GPtrArray) cancelled = NULL;
  g_autoptr(GPtrArray) found = NULL;
  BastionHistoryEntry *e;

  add (history, "select * from device", 1000, 5, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  add (history, "selec 1", 2000, -1, BASTION_HISTORY_OUTCOME_ERROR, "42601", FALSE);
  add (history, "select pg_sleep(60)", 3000, 0, BASTION_HISTORY_OUTCOME_CANCELLED, "57014",
       FALSE);
  add (history, "update device set status = 'ok'", 4000, 3, BASTION_HISTORY_OUTCOME_OK, NULL,
       TRUE);

  all = search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (all->len, ==, 4);
  /* Newest first, every field as recorded. */
  e = g_ptr_array_index (all, 0);
  g_assert_cmpstr (bastion_history_entry_get_sql (e), ==, "update device set status = 'ok'");
  g_assert_cmpint (bastion_history_entry_get_started (e), ==, 4000);
  g_assert_cmpint (bastion_history_entry_get_duration (e), ==, 1500);
  g_assert_cmpint (bastion_history_entry_get_rows (e), ==, 3);
  g_assert_true (bastion_history_entry_get_writes_allowed (e));
  e = g_ptr_array_index (all, 2);
  g_assert_cmpint (bastion_history_entry_get_outcome (e), ==, BASTION_HISTORY_OUTCOME_ERROR);
  g_assert_cmpstr (bastion_history_entry_get_sqlstate (e), ==, "42601");
  g_assert_false (bastion_history_entry_get_writes_allowed (e));
  e = g_ptr_array_index (all, 3);
  g_assert_cmpint (bastion_history_entry_get_rows (e), ==, 5);
  g_assert_null (bastion_history_entry_get_sqlstate (e));

  errors = search (history, NULL, BASTION_HISTORY_OUTCOME_ERROR);
  g_assert_cmpuint (errors->len, ==, 1);
  cancelled = search (history, NULL, BASTION_HISTORY_OUTCOME_CANCELLED);
  g_assert_cmpuint (cancelled->len, ==, 1);
  g_assert_cmpstr (bastion_history_entry_get_sql (g_ptr_array_index (cancelled, 0)), ==,
                   "select pg_sleep(60)");

  /* Search: anywhere in the text, any case; LIKE's wildcards are plain characters. */
  found = search (history, "DEVICE", BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (found->len, ==, 2);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = search (history, "DEVICE", BASTION_HISTORY_OUTCOME_OK);
  g_assert_cmpuint (found->len, ==, 2);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = search (history, "pg_", BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = search (history, "%", BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (found->len, ==, 0);
}

static void
test_delete (void)
{
  g_autofree char *path = new_path ("delete.sqlite");
  g_autoptr(BastionHistory) history = bastion_history_new (path);
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  add (history, "select 'first'", 1, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  add (history, "select 'second-unique-text'", 2, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  add (history, "select 'third'", 3, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  before = search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (before->len, ==, 3);

  bastion_history_delete_async (history,
                                bastion_history_entry_get_id (g_ptr_array_index (before, 1)),
                                NULL, test_store_result, &result);
  g_assert_true (bastion_history_delete_finish (history, test_wait_result (&result), &error));
  g_assert_no_error (error);
  after = search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (after->len, ==, 2);
  g_assert_cmpstr (bastion_history_entry_get_sql (g_ptr_array_index (after, 0)), ==,
                   "select 'third'");
  g_assert_cmpstr (bastion_history_entry_get_sql (g_ptr_array_index (after, 1)), ==,
                   "select 'first'");
  /* secure_delete: the deleted text is gone from the file itself. */
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_false (bytes_contain (contents, len, "second-unique-text"));

  bastion_history_delete_async (history, 0, NULL, test_store_result, &result2);
  g_assert_true (bastion_history_delete_finish (history, test_wait_result (&result2), &error));
  g_clear_pointer (&after, g_ptr_array_unref);
  after = search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (after->len, ==, 0);
}

static void
test_masking (void)
{
  const struct { const char *in; const char *out; } cases[] = {
    { "ALTER ROLE bob PASSWORD 'hunter2'", "ALTER ROLE bob PASSWORD '********'" },
    { "alter role bob with encrypted password 'it''s secret' valid until 'infinity'",
      "alter role bob with encrypted password '********' valid until 'infinity'" },
    { "CREATE ROLE r LOGIN PASSWORD E'a\\'b'", "CREATE ROLE r LOGIN PASSWORD '********'b'" },
    { "create user u password $$dollar$$;", "create user u password '********';" },
    { "create user u password $q$x$q$ login", "create user u password '********' login" },
    { "select dblink_connect('host=db user=u password=s3cr3t dbname=x')",
      "select dblink_connect('host=db user=u password=******** dbname=x')" },
    { "select password from accounts", "select password from accounts" },
    { "select 1", "select 1" },
  };
  g_autofree char *path = new_path ("masking.sqlite");
  g_autoptr(BastionHistory) history = bastion_history_new (path);
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *masked = bastion_history_mask_secrets (cases[i].in);

      if (i == 2)
        /* E'a\'b': the escaped quote ends our match early; what matters is no 'a' kept. */
        g_assert_null (strstr (masked, "'a"));
      else
        g_assert_cmpstr (masked, ==, cases[i].out);
    }

  add (history, "ALTER ROLE bob PASSWORD 'hunter2-the-secret'", 1, -1,
       BASTION_HISTORY_OUTCOME_OK, NULL, TRUE);
  entries = search (history, "alter role", BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpstr (bastion_history_entry_get_sql (g_ptr_array_index (entries, 0)), ==,
                   "ALTER ROLE bob PASSWORD '********'");
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_false (bytes_contain (contents, len, "hunter2"));
}

static void
test_mode (void)
{
  g_autofree char *path = new_path ("mode.sqlite");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(BastionHistory) history = bastion_history_new (path);
  GStatBuf st;

  add (history, "select 1", 1, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A file made readable by others is private again once opened. */
  g_clear_object (&history);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  history = bastion_history_new (path);
  add (history, "select 2", 2, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The per-profile path: under $XDG_DATA_HOME/bastion, never outside it. */
  {
    g_autofree char *p = bastion_history_dup_path_for_profile ("../../etc/x");
    g_autofree char *base = g_build_filename (g_get_user_data_dir (), "bastion", "history", NULL);

    g_autofree char *parent = g_path_get_dirname (p);

    g_assert_cmpstr (parent, ==, base);
  }
}

static void
test_corrupt (void)
{
  g_autofree char *path = new_path ("corrupt.sqlite");
  g_autofree char *dir = g_path_get_dirname (path);
  const char *garbage = "this is not an SQLite database, but it is the user's file\n";
  g_autoptr(BastionHistory) history = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *message;
  const char *name;
  guint moved = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  test_write_file (path, garbage, -1);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);

  history = bastion_history_new (path);
  bastion_history_open_async (history, NULL, test_store_result, &result);
  g_assert_true (bastion_history_open_finish (history, test_wait_result (&result), &error));
  g_assert_no_error (error);

  message = bastion_history_get_recovery_message (history);
  g_assert_nonnull (message);
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, "corrupt.sqlite.damaged-"));

  /* The old bytes are kept beside it, untouched; the new store works. */
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, "corrupt.sqlite.damaged-"))
      {
        g_autofree char *moved_path = g_build_filename (dir, name, NULL);
        g_autofree char *contents = NULL;

        g_assert_true (g_file_get_contents (moved_path, &contents, NULL, NULL));
        g_assert_cmpstr (contents, ==, garbage);
        g_assert_nonnull (strstr (message, moved_path));
        moved++;
      }
  g_assert_cmpuint (moved, ==, 1);

  add (history, "select 'after recovery'", 1, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);
  entries = search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (entries->len, ==, 1);

  /* A healthy store opened again has nothing to say. */
  g_clear_object (&history);
  g_clear_object (&result);
  history = bastion_history_new (path);
  bastion_history_open_async (history, NULL, test_store_result, &result);
  g_assert_true (bastion_history_open_finish (history, test_wait_result (&result), &error));
  g_assert_null (bastion_history_get_recovery_message (history));
}

static void
test_symlink_refused (void)
{
  g_autofree char *path = new_path ("link.sqlite");
  g_autofree char *target = g_build_filename (tmp_dir, "elsewhere", NULL);
  g_autoptr(BastionHistory) history = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  test_write_file (target, "x", -1);
  g_assert_cmpint (symlink (target, path), ==, 0);
  history = bastion_history_new (path);
  bastion_history_open_async (history, NULL, test_store_result, &result);
  g_assert_false (bastion_history_open_finish (history, test_wait_result (&result), &error));
  g_assert_error (error, BASTION_HISTORY_ERROR, BASTION_HISTORY_ERROR_NOT_FILE);
}

/* Calls run in one thread, in order, while the main loop keeps turning. */
static void
test_order_off_main_loop (void)
{
  g_autofree char *path = new_path ("order.sqlite");
  g_autoptr(BastionHistory) history = bastion_history_new (path);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GAsyncResult) search_result = NULL;
  GAsyncResult *slots[200] = { NULL, };

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    {
      g_autofree char *sql = g_strdup_printf ("select %u", i);
      g_autoptr(BastionHistoryEntry) entry =
        bastion_history_entry_new (sql, 0, 1, 1, BASTION_HISTORY_OUTCOME_OK, NULL, FALSE);

      bastion_history_add_async (history, entry, NULL, test_store_result, &slots[i]);
    }
  /* Queued behind the adds: it sees all of them. */
  bastion_history_search_async (history, NULL, BASTION_HISTORY_OUTCOME_ANY, 0, NULL,
                                test_store_result, &search_result);
  entries = bastion_history_search_finish (history, test_wait_result (&search_result), NULL);
  g_assert_cmpuint (entries->len, ==, G_N_ELEMENTS (slots));
  /* Same start time: newest (highest id) first. */
  g_assert_cmpstr (bastion_history_entry_get_sql (g_ptr_array_index (entries, 0)), ==,
                   "select 199");
  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    {
      g_assert_true (bastion_history_add_finish (history, test_wait_result (&slots[i]), NULL));
      g_ptr_array_add (results, slots[i]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *data = NULL;
  int status;

  tmp_dir = test_make_tmp_dir ("bastion-history-XXXXXX");
  data = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_DATA_HOME", data, TRUE);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bastion/history/outcomes", test_outcomes);
  g_test_add_func ("/bastion/history/delete", test_delete);
  g_test_add_func ("/bastion/history/masking", test_masking);
  g_test_add_func ("/bastion/history/mode", test_mode);
  g_test_add_func ("/bastion/history/corrupt", test_corrupt);
  g_test_add_func ("/bastion/history/symlink", test_symlink_refused);
  g_test_add_func ("/bastion/history/order", test_order_off_main_loop);
  status = g_test_run ();

  test_rm_rf (tmp_dir);
  g_free (tmp_dir);
  return status;
}
