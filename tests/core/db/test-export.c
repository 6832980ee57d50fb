/* test-export.c: BastionExport (a query streamed to a file with back-pressure, committed by a
 * rename) against a real PostgreSQL 15 (run under tests/harness/with-servers --postgres).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-database.h"
#include "bastion-export-private.h"
#include "bastion-query.h"
#include "test-util.h"

static char *pg_password;
static guint pg_port;

/* Holds the worker thread before each chunk is written until the test releases it; then each
 * write waits @delay_ms (a disk slower than the database). */
typedef struct
{
  GMutex   lock;
  GCond    cond;
  guint    entered;
  guint    delay_ms;
  gboolean released;
} Gate;

static void
gate_hook (gpointer user_data)
{
  Gate *gate = user_data;

  g_mutex_lock (&gate->lock);
  gate->entered++;
  g_main_context_wakeup (NULL);
  while (!gate->released)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  if (gate->delay_ms > 0)
    g_usleep (gate->delay_ms * G_TIME_SPAN_MILLISECOND);
}

static gboolean
gate_entered (gpointer user_data)
{
  Gate *gate = user_data;
  gboolean entered;

  g_mutex_lock (&gate->lock);
  entered = gate->entered > 0;
  g_mutex_unlock (&gate->lock);

  return entered;
}

static void
gate_release (Gate *gate)
{
  g_mutex_lock (&gate->lock);
  gate->released = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
}

static BastionDatabase *
connect_new (void)
{
  g_autoptr(BastionDatabase) db = bastion_database_new ("127.0.0.1", pg_port, "localhost",
                                                        g_getenv ("BASTION_TEST_PG_DB"),
                                                        g_getenv ("BASTION_TEST_PG_USER"));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_database_set_password (db, pg_password);
  bastion_database_set_connect_timeout (db, 10);
  bastion_database_connect_async (db, NULL, test_store_result, &result);
  g_assert_true (bastion_database_connect_finish (db, test_wait_result (&result), &error));
  g_assert_no_error (error);

  return g_steal_pointer (&db);
}

/* Runs @sql into @path; TRUE when it succeeded, else @error is set. */
static gboolean
export_run (BastionDatabase      *db,
            const char           *sql,
            const char           *path,
            BastionResultFormat   format,
            GCancellable         *cancellable,
            BastionExport       **out_export,
            GError              **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(BastionExport) export = bastion_export_new (db, sql, file, format);
  g_autoptr(GAsyncResult) result = NULL;
  gboolean ok;

  bastion_export_run_async (export, cancellable, test_store_result, &result);
  ok = bastion_export_run_finish (export, test_wait_result (&result), error);
  if (out_export != NULL)
    *out_export = g_steal_pointer (&export);

  return ok;
}

static mode_t
current_umask (void)
{
  mode_t mask = umask (022);

  umask (mask);
  return mask;
}

/* A new file: every row in CSV, the count, the usual mode, nothing else left in the folder. */
static void
test_export_csv_new (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionExport) export = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "out.csv", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GStatBuf st;

  g_assert_true (export_run (db, "select g, 'row ' || g as label, nullif(g % 3, 0) as third "
                                 "from generate_series(1, 50000) g",
                             path, BASTION_RESULT_FORMAT_CSV, NULL, &export, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bastion_export_get_n_rows (export), ==, 50000);
  g_assert_true (bastion_export_get_opened (export));

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 50002);
  g_assert_cmpstr (lines[0], ==, "g,label,third");
  g_assert_cmpstr (lines[1], ==, "1,row 1,1");
  g_assert_cmpstr (lines[3], ==, "3,row 3,");
  g_assert_cmpstr (lines[50000], ==, "50000,row 50000,2");
  g_assert_cmpstr (lines[50001], ==, "");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0666 & ~current_umask ());
  g_assert_cmpuint (test_count_other_files (dir, "out.csv"), ==, 0);
  /* The database is free for the next statement. */
  g_assert_false (bastion_database_get_busy (db));

  test_rm_rf (dir);
}

/* A file that was there is replaced whole and keeps its mode; JSON parses back. */
static void
test_export_json_replace (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "out.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *array;
  GStatBuf st;

  g_assert_true (g_file_set_contents (path, "ORIGINAL, much longer than what comes next\n"
                                      "ORIGINAL, much longer than what comes next\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);

  g_assert_true (export_run (db, "select g as n, g % 2 = 0 as even from generate_series(1, 3) g",
                             path, BASTION_RESULT_FORMAT_JSON, NULL, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, 3);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (array, 2), "n"),
                   ==, 3);
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (array, 2),
                                                  "even"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  g_assert_cmpuint (test_count_other_files (dir, "out.json"), ==, 0);

  test_rm_rf (dir);
}

/* A query that fails after many rows were written out: the error says why, a file that was
 * there keeps its contents, a new one never appears, no temporary file stays. */
static void
test_export_failure (void)
{
  const char *sql = "select g, repeat('x', 40) as pad, 1 / (30000 - g) as boom "
                    "from generate_series(1, 40000) g";
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionExport) export = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "keep.csv", NULL);
  g_autofree char *new_path = g_build_filename (dir, "new.csv", NULL);
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (path, "ORIGINAL\n", -1, NULL));

  g_assert_false (export_run (db, sql, path, BASTION_RESULT_FORMAT_CSV, NULL, &export, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "division by zero"));
  g_assert_true (bastion_export_get_opened (export));
  g_assert_cmpuint (bastion_export_get_n_rows (export), >, 0);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ORIGINAL\n");
  g_assert_cmpuint (test_count_other_files (dir, "keep.csv"), ==, 0);
  g_clear_error (&error);

  g_assert_false (export_run (db, sql, new_path, BASTION_RESULT_FORMAT_JSON, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "division by zero"));
  g_assert_false (g_file_test (new_path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (test_count_other_files (dir, "keep.csv"), ==, 0);

  test_rm_rf (dir);
}

/* Cancelled while the disk is stuck on the first chunk: the query stops, the file that was
 * there is untouched, nothing else stays; the main loop ran all along. */
static void
test_export_cancel (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GFile) file = NULL;
  g_autoptr(BastionExport) export = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "held.csv", NULL);
  g_autofree char *contents = NULL;
  Gate gate = { 0 };

  g_assert_true (g_file_set_contents (path, "ORIGINAL\n", -1, NULL));
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  _bastion_export_set_write_hook (gate_hook, &gate);

  file = g_file_new_for_path (path);
  export = bastion_export_new (db, "select g, repeat('x', 40) from generate_series(1, 2000000) g",
                               file, BASTION_RESULT_FORMAT_CSV);
  bastion_export_run_async (export, cancellable, test_store_result, &result);
  test_wait_until (gate_entered, &gate, 60, "the first write");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ORIGINAL\n");

  g_cancellable_cancel (cancellable);
  gate_release (&gate);
  g_assert_false (bastion_export_run_finish (export, test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  _bastion_export_set_write_hook (NULL, NULL);

  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ORIGINAL\n");
  g_assert_cmpuint (test_count_other_files (dir, "held.csv"), ==, 0);

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  test_rm_rf (dir);
}

static gboolean
queue_full (gpointer user_data)
{
  return bastion_export_get_peak_queued (user_data) > BASTION_EXPORT_HIGH_WATER;
}

static gboolean
flag_set (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

#define SLOW_ROWS 300000
/* g (up to 6 digits), ',', 16 MD5s and '\n'. */
#define SLOW_LINE_MAX (6 + 1 + 16 * 32 + 1)

/* Back-pressure: with the disk stuck, the queue grows to the high-water mark and stops there
 * (the query is held; at most one batch's text lands above the mark); the file is complete,
 * byte for byte, once the disk goes on slowly. */
static void
test_export_back_pressure (void)
{
  const gsize bound = BASTION_EXPORT_HIGH_WATER
                      + BASTION_QUERY_DEFAULT_BATCH_SIZE * SLOW_LINE_MAX + 16;
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GFile) file = NULL;
  g_autoptr(BastionExport) export = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GChecksum) expected = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GChecksum) actual = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "slow.csv", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  gboolean waited = FALSE;
  gsize peak_held;
  Gate gate = { 0 };

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.delay_ms = 5;
  _bastion_export_set_write_hook (gate_hook, &gate);

  file = g_file_new_for_path (path);
  export = bastion_export_new (db, "select g, repeat(md5(g::text), 16) as pad "
                                   "from generate_series(1, 300000) g",
                               file, BASTION_RESULT_FORMAT_CSV);
  bastion_export_run_async (export, NULL, test_store_result, &result);
  test_wait_until (queue_full, export, 120, "the export queue to fill");
  /* Half a second more: a query that was not held would keep the queue growing. */
  g_timeout_add (500, flag_set, &waited);
  while (!waited)
    g_main_context_iteration (NULL, TRUE);
  peak_held = bastion_export_get_peak_queued (export);
  g_assert_cmpuint (peak_held, <=, bound);
  g_assert_cmpuint (gate.entered, ==, 1);

  gate_release (&gate);
  g_assert_true (bastion_export_run_finish (export, test_wait_result (&result), &error));
  g_assert_no_error (error);
  _bastion_export_set_write_hook (NULL, NULL);
  g_test_message ("peak queued %" G_GSIZE_FORMAT " bytes while the disk was stuck, %"
                  G_GSIZE_FORMAT " in all (bound %" G_GSIZE_FORMAT ")", peak_held,
                  bastion_export_get_peak_queued (export), bound);
  g_assert_cmpuint (bastion_export_get_peak_queued (export), <=, bound);
  g_assert_cmpuint (bastion_export_get_n_rows (export), ==, SLOW_ROWS);

  g_checksum_update (expected, (const guchar *) "g,pad\n", -1);
  for (guint g = 1; g <= SLOW_ROWS; g++)
    {
      g_autofree char *number = g_strdup_printf ("%u", g);
      g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, number, -1);
      g_autoptr(GString) line = g_string_new (number);

      g_string_append_c (line, ',');
      for (guint i = 0; i < 16; i++)
        g_string_append (line, md5);
      g_string_append_c (line, '\n');
      g_checksum_update (expected, (const guchar *) line->str, line->len);
    }
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_checksum_update (actual, (const guchar *) contents, length);
  g_assert_cmpstr (g_checksum_get_string (actual), ==, g_checksum_get_string (expected));

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  test_rm_rf (dir);
}

/* Targets that cannot be written: a folder, a folder with no write permission, a file that is
 * not local. Each fails before any query runs, naming the file. */
static void
test_export_bad_target (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionExport) export = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *sub = g_build_filename (dir, "folder", NULL);
  g_autofree char *locked = g_build_filename (dir, "locked", NULL);
  g_autofree char *in_locked = g_build_filename (locked, "out.csv", NULL);
  g_autoptr(GFile) remote = g_file_new_for_uri ("sftp://example.invalid/out.csv");

  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_false (export_run (db, "select 1", sub, BASTION_RESULT_FORMAT_CSV, NULL, &export,
                              &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_assert_nonnull (strstr (error->message, sub));
  g_assert_false (bastion_export_get_opened (export));
  g_clear_error (&error);
  g_clear_object (&export);

  /* Root writes anywhere: the permission check needs an ordinary user. */
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_mkdir (locked, 0555), ==, 0);
      g_assert_false (export_run (db, "select 1", in_locked, BASTION_RESULT_FORMAT_CSV, NULL,
                                  NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_assert_nonnull (strstr (error->message, locked));
      g_clear_error (&error);
    }

  export = bastion_export_new (db, "select 1", remote, BASTION_RESULT_FORMAT_CSV);
  {
    g_autoptr(GAsyncResult) result = NULL;

    bastion_export_run_async (export, NULL, test_store_result, &result);
    g_assert_false (bastion_export_run_finish (export, test_wait_result (&result), &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  }
  g_assert_false (bastion_database_get_busy (db));

  test_rm_rf (dir);
}

/* Another query holds the connection (paused at its row cap): the export says so and leaves
 * no file. */
static void
test_export_busy (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) paused = bastion_query_new (db, "select g from generate_series(1, 10) g");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = test_make_tmp_dir ("bastion-export-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "busy.csv", NULL);

  bastion_query_set_max_rows (paused, 2);
  bastion_query_set_batch_size (paused, 1);
  bastion_query_run_async (paused, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (paused, test_wait_result (&result), &error));
  g_assert_cmpint (bastion_query_get_state (paused), ==, BASTION_QUERY_STATE_PAUSED);
  g_assert_true (bastion_database_get_busy (db));

  g_assert_false (export_run (db, "select 1", path, BASTION_RESULT_FORMAT_CSV, NULL, NULL,
                              &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpuint (test_count_other_files (dir, NULL), ==, 0);
  bastion_query_cancel (paused);

  test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pg_password = test_pg_password (&pg_port);

  g_test_add_func ("/bastion/export/csv-new", test_export_csv_new);
  g_test_add_func ("/bastion/export/json-replace", test_export_json_replace);
  g_test_add_func ("/bastion/export/failure", test_export_failure);
  g_test_add_func ("/bastion/export/cancel", test_export_cancel);
  g_test_add_func ("/bastion/export/back-pressure", test_export_back_pressure);
  g_test_add_func ("/bastion/export/bad-target", test_export_bad_target);
  g_test_add_func ("/bastion/export/busy", test_export_busy);

  return g_test_run ();
}
