/* test-database.c: BastionDatabase, BastionQuery and the writers against a real PostgreSQL 15
 * (run under tests/harness/with-servers --postgres).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixoutputstream.h>

#include "bastion-database.h"
#include "bastion-query.h"
#include "bastion-result-model.h"
#include "bastion-result-row.h"
#include "bastion-result-writer.h"
#include "test-util.h"

static char *pg_password;
static guint pg_port;

/* Helpers */

static BastionDatabase *
new_database (const char *password)
{
  BastionDatabase *db = bastion_database_new ("127.0.0.1", pg_port, "localhost",
                                              g_getenv ("BASTION_TEST_PG_DB"),
                                              g_getenv ("BASTION_TEST_PG_USER"));

  bastion_database_set_password (db, password);
  bastion_database_set_connect_timeout (db, 10);
  return db;
}

static gboolean
connect_database (BastionDatabase  *db,
                  GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  bastion_database_connect_async (db, NULL, test_store_result, &result);
  return bastion_database_connect_finish (db, test_wait_result (&result), error);
}

static BastionDatabase *
connect_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionDatabase) db = new_database (pg_password);

  g_assert_true (connect_database (db, &error));
  g_assert_no_error (error);
  g_assert_true (bastion_database_get_connected (db));

  return g_steal_pointer (&db);
}

/* Runs @sql to its end (or its pause at the row cap). */
static BastionQuery *
run (BastionDatabase  *db,
     const char       *sql,
     GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  BastionQuery *query = bastion_query_new (db, sql);

  bastion_query_run_async (query, NULL, test_store_result, &result);
  bastion_query_run_finish (query, test_wait_result (&result), error);

  return query;
}

/* The one value a query returned. */
static char *
run_value (BastionDatabase *db,
           const char      *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = run (db, sql, &error);
  BastionResultModel *model = bastion_query_get_model (query);

  g_assert_no_error (error);
  g_assert_cmpuint (bastion_result_model_get_n_rows (model), ==, 1);
  return g_strdup (bastion_result_model_get_value (model, 0, 0, NULL, NULL));
}

/* Byte-for-byte against tests/fixtures/query/NAME. After a deliberate format change, run once
 * with BASTION_TEST_WRITE_EXPECTED=1 to rewrite the file, then review the diff. */
static void
assert_file_equals (const char *name,
                    const char *data,
                    gsize       len)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "query", name, NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  gsize expected_len;

  if (g_getenv ("BASTION_TEST_WRITE_EXPECTED") != NULL)
    g_file_set_contents (path, data, len, NULL);

  g_file_get_contents (path, &expected, &expected_len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (data, len, expected, expected_len);
}

static char *
write_model (BastionResultModel  *model,
             BastionResultFormat  format,
             gsize               *len)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(BastionResultWriter) writer = bastion_result_writer_new (format, stream);
  g_autoptr(GError) error = NULL;

  g_assert_true (bastion_result_writer_write_model (writer, model, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (stream, NULL, NULL));

  *len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (stream));
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (stream));
}

/* Waits until another session sees @sql running on the server. */
static void
wait_until_active (BastionDatabase *observer,
                   const char      *sql)
{
  g_autofree char *check =
    g_strdup_printf ("select count(*) from pg_stat_activity where state = 'active' and "
                     "query = '%s'", sql);

  for (;;)
    {
      g_autofree char *count = run_value (observer, check);

      if (g_strcmp0 (count, "1") == 0)
        break;
    }
}

/* Tests */

static void
test_connect (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autofree char *app = run_value (db, "select current_setting('application_name')");
  g_autofree char *ro = run_value (db, "show default_transaction_read_only");

  g_assert_cmpstr (app, ==, "Bastion");
  g_assert_cmpstr (ro, ==, "on");
  g_assert_true (bastion_database_get_read_only (db));
  g_assert_cmpint (bastion_database_get_transaction_status (db), ==, BASTION_TRANSACTION_IDLE);
  g_assert_cmpint (bastion_database_get_server_version (db) / 10000, ==, 15);
  g_assert_cmpstr (bastion_database_get_sslmode (db), ==, "prefer");
  g_assert_false (bastion_database_get_busy (db));
}

static void
test_wrong_password (void)
{
  g_autoptr(BastionDatabase) db = new_database ("not-the-password");
  g_autoptr(BastionDatabase) nopw = new_database (NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (connect_database (db, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_AUTH);
  g_assert_false (bastion_database_get_connected (db));
  g_clear_error (&error);

  /* No password at all asks for one too. */
  g_assert_false (connect_database (nopw, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_AUTH);
  g_clear_error (&error);

  /* The right password on the same object then works. */
  bastion_database_set_password (db, pg_password);
  g_assert_true (connect_database (db, &error));
  g_assert_no_error (error);
}

static void
test_connect_timeout (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(BastionDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  /* A listener that never accepts: the handshake completes in the backlog, then silence. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);

  db = bastion_database_new ("127.0.0.1", port, "db.example.com", "simpleiot", "dbadmin");
  bastion_database_set_password (db, "x");
  bastion_database_set_connect_timeout (db, 1);

  g_assert_false (connect_database (db, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECT);
  g_assert_false (bastion_database_get_connected (db));
}

static void
test_connect_refused (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(BastionDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  /* A port that was just free: nothing listens there now. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);

  db = bastion_database_new ("127.0.0.1", port, "db.example.com", "simpleiot", "dbadmin");
  g_assert_false (connect_database (db, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECT);
}

static const char types_sql[] =
  "SET TIME ZONE 'UTC';\n"
  "SELECT 42::int AS int, 9007199254740993::bigint AS bigint, 12345.678900::numeric AS numeric,\n"
  "       'NaN'::numeric AS numeric_nan, 'Infinity'::float8 AS float_inf, 0.5::float8 AS float,\n"
  "       'plain text' AS text, true AS bool_t, false AS bool_f,\n"
  "       timestamp '2024-02-29 13:45:01.25' AS ts, timestamptz '2024-02-29 13:45:01+02' AS tstz,\n"
  "       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uuid,\n"
  "       '{\"k\": [1, 2.5, null], \"s\": \"v\"}'::json AS json,\n"
  "       '{\"b\": 1, \"a\": true}'::jsonb AS jsonb,\n"
  "       '\\xdeadbeef'::bytea AS bytea, ARRAY[1, 2, NULL]::int[] AS int_array,\n"
  "       ARRAY['a,b', 'c\"d']::text[] AS text_array,\n"
  "       NULL::text AS null_text, ''::text AS empty_text,\n"
  "       'Grüße, 世界 ✓' AS unicode, E'two\\nlines \"quoted\"' AS multiline,\n"
  "       1 AS \"user\", 'd' AS \"desc\"\n"
  "UNION ALL\n"
  "SELECT -1, -9223372036854775808, -0.5, 1, '-Infinity', 1e-7, '', NULL, NULL,\n"
  "       NULL, NULL, NULL, 'null', '[]', '\\x', '{}', '{}', 'x', NULL, '\\.', E'tab\\there', 2, ''";

static void
test_types (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = run (db, types_sql, &error);
  BastionResultModel *model = bastion_query_get_model (query);
  g_autoptr(BastionResultRow) row = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *json = NULL;
  g_autofree char *table = NULL;
  gboolean is_null;
  gsize len;

  g_assert_no_error (error);
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_FINISHED);
  g_assert_cmpstr (bastion_query_get_command_status (query), ==, "SELECT 2");
  g_assert_cmpuint (bastion_result_model_get_n_columns (model), ==, 23);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
  g_assert_cmpuint (bastion_query_get_n_rows (query), ==, 2);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == BASTION_TYPE_RESULT_ROW);

  g_assert_cmpstr (bastion_result_model_get_column_name (model, 0), ==, "int");
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 0), ==, 23);
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 1), ==, 20);
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 2), ==, 1700);
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 7), ==, 16);
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 11), ==, 2950);
  g_assert_cmpuint (bastion_result_model_get_column_type (model, 14), ==, 17);
  g_assert_cmpstr (bastion_result_model_get_column_name (model, 21), ==, "user");
  g_assert_cmpstr (bastion_result_model_get_column_name (model, 22), ==, "desc");

  row = g_list_model_get_item (G_LIST_MODEL (model), 0);
  g_assert_cmpuint (bastion_result_row_get_index (row), ==, 0);
  g_assert_cmpstr (bastion_result_row_get_value (row, 1, NULL, NULL), ==, "9007199254740993");
  g_assert_cmpstr (bastion_result_row_get_value (row, 10, NULL, NULL), ==,
                   "2024-02-29 11:45:01+00");
  g_assert_cmpstr (bastion_result_row_get_value (row, 14, NULL, NULL), ==, "\\xdeadbeef");
  g_assert_cmpstr (bastion_result_row_get_value (row, 15, NULL, NULL), ==, "{1,2,NULL}");
  g_assert_cmpstr (bastion_result_row_get_value (row, 19, NULL, NULL), ==,
                   "Grüße, 世界 ✓");

  /* NULL and '' stay apart. */
  g_assert_null (bastion_result_model_get_value (model, 0, 17, &len, &is_null));
  g_assert_true (is_null);
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 18, &len, &is_null), ==, "");
  g_assert_false (is_null);
  g_assert_cmpuint (len, ==, 0);

  csv = write_model (model, BASTION_RESULT_FORMAT_CSV, &len);
  assert_file_equals ("types.csv", csv, len);
  json = write_model (model, BASTION_RESULT_FORMAT_JSON, &len);
  assert_file_equals ("types.json", json, len);
  table = write_model (model, BASTION_RESULT_FORMAT_TABLE, &len);
  assert_file_equals ("types.txt", table, len);
}

static void
test_big_cell_and_fixture (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) big = run (db, "select repeat('ab€', 100 * 1024 / 5) as big, 1", &error);
  g_autoptr(BastionQuery) users = NULL;
  BastionResultModel *model = bastion_query_get_model (big);
  const char *value;
  gsize len;

  g_assert_no_error (error);
  value = bastion_result_model_get_value (model, 0, 0, &len, NULL);
  g_assert_cmpuint (len, ==, (100 * 1024 / 5) * 5);
  g_assert_cmpuint (strlen (value), ==, len);
  g_assert_true (g_str_has_prefix (value, "ab€ab€"));
  g_assert_true (g_str_has_suffix (value, "ab€"));
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 1, NULL, NULL), ==, "1");

  /* The fixture's quoted identifiers. */
  users = run (db, "select u.\"desc\", count(*) from \"user\" u group by 1 order by 1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_query_get_column_names (users)[0], ==, "desc");
}

static void
set_read_only (BastionDatabase *db,
               gboolean         read_only)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_database_set_read_only_async (db, read_only, NULL, test_store_result, &result);
  g_assert_true (bastion_database_set_read_only_finish (db, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_database_get_read_only (db), ==, read_only);
}

static void
test_read_only (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) refused = run (db, "create temp table t (x int)", &error);
  g_autoptr(BastionQuery) query = NULL;
  g_autofree char *count = NULL;

  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY);
  g_assert_cmpstr (bastion_query_get_sqlstate (refused), ==, "25006");
  g_clear_error (&error);

  /* Nothing was changed on the fixture either. */
  g_clear_object (&refused);
  refused = run (db, "delete from project", &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY);
  g_clear_error (&error);

  set_read_only (db, FALSE);
  query = run (db, "create temp table t (x int); insert into t values (1), (2)", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_query_get_command_status (query), ==, "INSERT 0 2");
  count = run_value (db, "select count(*) from t");
  g_assert_cmpstr (count, ==, "2");

  /* Transaction state follows the session. */
  g_clear_object (&query);
  query = run (db, "begin", &error);
  g_assert_no_error (error);
  g_assert_cmpint (bastion_database_get_transaction_status (db), ==,
                   BASTION_TRANSACTION_IN_BLOCK);
  g_clear_object (&query);
  query = run (db, "select 1/0", &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_SERVER);
  g_assert_cmpstr (bastion_query_get_sqlstate (query), ==, "22012");
  g_clear_error (&error);
  g_assert_cmpint (bastion_database_get_transaction_status (db), ==, BASTION_TRANSACTION_FAILED);
  g_clear_object (&query);
  query = run (db, "rollback", &error);
  g_assert_no_error (error);
  g_assert_cmpint (bastion_database_get_transaction_status (db), ==, BASTION_TRANSACTION_IDLE);

  /* And back. */
  set_read_only (db, TRUE);
  g_clear_object (&query);
  /* (Temporary tables stay writable in read-only transactions, so try a real one.) */
  query = run (db, "update project set name = name", &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY);
}

static void
test_syntax_error (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = run (db, "select name,\n  from project", &error);
  g_autofree char *one = NULL;

  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "\"from\""));
  g_assert_cmpstr (bastion_query_get_sqlstate (query), ==, "42601");
  /* 1-based, in characters: "from" starts at the 16th. */
  g_assert_cmpuint (bastion_query_get_error_position (query), ==, 16);
  g_assert_nonnull (bastion_query_get_error (query));

  /* The connection is fine afterwards. */
  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

static void
test_params (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *params[] = { "41", "it's \"quoted\"", NULL };
  g_autoptr(BastionQuery) query =
    bastion_query_new_with_params (db, "select $1::int + 1, $2::text", params);
  BastionResultModel *model = bastion_query_get_model (query);

  bastion_query_run_async (query, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 0, NULL, NULL), ==, "42");
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 1, NULL, NULL), ==,
                   "it's \"quoted\"");
}

static void
test_busy (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) first = bastion_query_new (db, "select pg_sleep(0.2)");
  g_autoptr(GAsyncResult) first_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) second = NULL;

  bastion_query_run_async (first, NULL, test_store_result, &first_result);
  g_assert_true (bastion_database_get_busy (db));
  g_assert_cmpint (bastion_database_get_transaction_status (db), ==, BASTION_TRANSACTION_ACTIVE);
  second = run (db, "select 1", &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_BUSY);
  g_clear_error (&error);

  g_assert_true (bastion_query_run_finish (first, test_wait_result (&first_result), &error));
  g_assert_no_error (error);
  g_assert_false (bastion_database_get_busy (db));
}

static void
test_cancel (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionDatabase) observer = connect_new ();
  g_autoptr(BastionQuery) query = bastion_query_new (db, "select pg_sleep(60)");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *one = NULL;
  gint64 cancelled_at;
  gint64 done_at;

  bastion_query_run_async (query, cancellable, test_store_result, &result);
  wait_until_active (observer, "select pg_sleep(60)");

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  g_assert_false (bastion_query_run_finish (query, test_wait_result (&result), &error));
  done_at = g_get_monotonic_time ();

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Behaviour, not speed: the statement stopped instead of sleeping on for its minute. The
   * bound is a hang detector, generous for a loaded machine, well short of the 60 s sleep. */
  g_test_message ("cancelled after %.3f s", (done_at - cancelled_at) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (done_at - cancelled_at, <, 20 * G_USEC_PER_SEC);
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_FINISHED);

  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

static void
test_connection_lost (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionDatabase) killer = connect_new ();
  g_autofree char *pid = run_value (db, "select pg_backend_pid()");
  g_autofree char *kill_sql = g_strdup_printf ("select pg_terminate_backend(%s)", pid);
  g_autoptr(BastionQuery) query = bastion_query_new (db, "select pg_sleep(60)");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *killed = NULL;
  g_autofree char *one = NULL;
  g_autoptr(BastionQuery) refused = NULL;

  /* pg_terminate_backend() acts on another session: only a session that may write calls it. */
  set_read_only (killer, FALSE);
  bastion_query_run_async (query, NULL, test_store_result, &result);
  wait_until_active (killer, "select pg_sleep(60)");
  killed = run_value (killer, kill_sql);
  g_assert_cmpstr (killed, ==, "t");

  g_assert_false (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECTION_LOST);
  g_assert_nonnull (strstr (error->message, "administrator command"));
  g_assert_false (bastion_database_get_connected (db));
  g_assert_false (bastion_database_get_busy (db));
  g_clear_error (&error);

  /* A query now says so, and a reconnect brings the object back. */
  refused = run (db, "select 1", &error);
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_NOT_CONNECTED);
  g_clear_error (&error);

  g_assert_true (connect_database (db, &error));
  g_assert_no_error (error);
  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

typedef struct
{
  BastionResultWriter *writer;
  guint                n_batches;
  guint                largest_batch;
  guint                first_batch;
  gboolean             finished;
} StreamState;

static void
on_columns (BastionQuery *query,
            StreamState  *state)
{
  g_autoptr(GError) error = NULL;

  if (state->writer != NULL)
    {
      bastion_result_writer_begin (state->writer, bastion_query_get_n_columns (query),
                                   bastion_query_get_column_names (query),
                                   bastion_query_get_column_types (query), &error);
      g_assert_no_error (error);
    }
}

static void
on_batch (BastionQuery       *query,
          BastionResultBatch *batch,
          StreamState        *state)
{
  g_autoptr(GError) error = NULL;

  state->n_batches++;
  state->largest_batch = MAX (state->largest_batch, bastion_result_batch_get_n_rows (batch));
  if (state->writer != NULL)
    {
      bastion_result_writer_write_batch (state->writer, batch, &error);
      g_assert_no_error (error);
    }
}

static void
on_first_batch (BastionQuery *query,
                StreamState  *state)
{
  state->first_batch++;
  g_assert_cmpuint (state->n_batches, ==, 0);
}

static void
on_finished (BastionQuery *query,
             StreamState  *state)
{
  state->finished = TRUE;
}

static void
test_stream_million (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) query =
    bastion_query_new (db, "select g, md5(g::text), case when g % 7 = 0 then null else g * 0.5 end "
                           "from generate_series(1, 1000000) g");
  g_autoptr(GOutputStream) devnull = NULL;
  g_autoptr(BastionResultWriter) writer = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  StreamState state = { 0 };
  int fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  devnull = g_unix_output_stream_new (fd, TRUE);
  writer = bastion_result_writer_new (BASTION_RESULT_FORMAT_CSV, devnull);
  state.writer = writer;

  bastion_query_set_retain_rows (query, FALSE);
  g_signal_connect (query, "columns-changed", G_CALLBACK (on_columns), &state);
  g_signal_connect (query, "first-batch", G_CALLBACK (on_first_batch), &state);
  g_signal_connect (query, "batch", G_CALLBACK (on_batch), &state);
  g_signal_connect (query, "finished", G_CALLBACK (on_finished), &state);

  bastion_query_run_async (query, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_true (bastion_result_writer_end (writer, &error));
  g_assert_no_error (error);

  g_assert_true (state.finished);
  g_assert_cmpuint (state.first_batch, ==, 1);
  g_assert_cmpuint (bastion_query_get_n_rows (query), ==, 1000000);
  g_assert_cmpuint (bastion_result_writer_get_n_rows (writer), ==, 1000000);
  /* Memory stays bounded: at most one batch at a time, nothing kept in the model. */
  g_assert_cmpuint (state.largest_batch, <=, BASTION_QUERY_DEFAULT_BATCH_SIZE);
  g_assert_cmpuint (state.n_batches, >=, 1000000 / BASTION_QUERY_DEFAULT_BATCH_SIZE);
  g_assert_cmpuint (bastion_result_model_get_n_rows (bastion_query_get_model (query)), ==, 0);
  g_assert_cmpint (bastion_query_get_elapsed_usec (query), >, 0);
}

static void
test_row_cap (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) query =
    bastion_query_new (db, "select g, repeat('x', 20) from generate_series(1, 1000000) g");
  BastionResultModel *model = bastion_query_get_model (query);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) more = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *one = NULL;
  gboolean finished = FALSE;
  StreamState state = { 0 };

  g_signal_connect (query, "finished", G_CALLBACK (on_finished), &state);

  bastion_query_run_async (query, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);

  /* Paused at the default cap with the rest waiting. */
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_PAUSED);
  g_assert_true (bastion_query_get_more_available (query));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 100000);
  g_assert_cmpstr (bastion_result_model_get_value (model, 99999, 0, NULL, NULL), ==, "100000");
  g_assert_true (bastion_database_get_busy (db));
  g_test_message ("100000 rows of (int, 20 chars) hold %" G_GSIZE_FORMAT " KiB in the model",
                  bastion_result_model_get_memory_size (model) / 1024);

  bastion_query_fetch_more_async (query, NULL, test_store_result, &more);
  g_assert_true (bastion_query_fetch_more_finish (query, test_wait_result (&more), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 200000);
  g_assert_cmpstr (bastion_result_model_get_value (model, 100000, 0, NULL, NULL), ==, "100001");
  g_assert_cmpstr (bastion_result_model_get_value (model, 199999, 0, NULL, NULL), ==, "200000");
  g_assert_true (bastion_query_get_more_available (query));

  /* Drop the rest: the connection is free again and still works. */
  bastion_query_cancel (query);
  while (!state.finished)
    g_main_context_iteration (NULL, TRUE);
  finished = bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED;
  g_assert_true (finished);
  g_assert_false (bastion_query_get_more_available (query));
  g_assert_error (bastion_query_get_error (query), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 200000);
  g_assert_false (bastion_database_get_busy (db));

  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

/* What a held query delivered: each row's g, in order, and whether a batch came while held. */
typedef struct
{
  BastionQuery *query;
  guint64       next_g;
  guint         n_batches;
  guint         hold_after;        /* hold in the handler of this batch (0: never) */
  guint         batches_while_held;
  gboolean      finished;
} HoldState;

static void
on_hold_batch (BastionQuery       *query,
               BastionResultBatch *batch,
               HoldState          *state)
{
  guint n = bastion_result_batch_get_n_rows (batch);

  if (bastion_query_get_held (query))
    state->batches_while_held++;
  state->n_batches++;

  /* Every row once, in order: none lost or repeated across the hold. */
  g_assert_cmpuint (g_ascii_strtoull (bastion_result_batch_get_value (batch, 0, 0, NULL, NULL),
                                      NULL, 10), ==, state->next_g);
  g_assert_cmpuint (g_ascii_strtoull (bastion_result_batch_get_value (batch, n - 1, 0, NULL,
                                                                      NULL),
                                      NULL, 10), ==, state->next_g + n - 1);
  state->next_g += n;

  if (state->n_batches == state->hold_after)
    bastion_query_set_held (query, TRUE);
}

static void
on_hold_finished (BastionQuery *query,
                  HoldState    *state)
{
  state->finished = TRUE;
}

static gboolean
hold_taken (gpointer user_data)
{
  HoldState *state = user_data;

  return state->n_batches >= state->hold_after;
}

static void
start_held (BastionDatabase  *db,
            const char       *sql,
            guint             batch_size,
            HoldState        *state,
            GAsyncResult    **result)
{
  state->query = bastion_query_new (db, sql);
  state->next_g = 1;
  bastion_query_set_retain_rows (state->query, FALSE);
  bastion_query_set_batch_size (state->query, batch_size);
  g_signal_connect (state->query, "batch", G_CALLBACK (on_hold_batch), state);
  g_signal_connect (state->query, "finished", G_CALLBACK (on_hold_finished), state);
  bastion_query_run_async (state->query, NULL, test_store_result, result);
  while (!hold_taken (state))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (bastion_query_get_held (state->query));
}

/* Waits until another session sees the backend @pid in @column = @value. */
static void
wait_for_backend (BastionDatabase *observer,
                  const char      *pid,
                  const char      *column,
                  const char      *value)
{
  g_autofree char *check =
    g_strdup_printf ("select coalesce(%s, '') from pg_stat_activity where pid = %s", column, pid);

  for (;;)
    {
      g_autofree char *seen = run_value (observer, check);

      if (g_strcmp0 (seen, value) == 0)
        break;
    }
}

static gboolean
source_done (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @msec; a held query must stay quiet meanwhile. */
static void
spin (guint msec)
{
  gboolean done = FALSE;

  g_timeout_add (msec, source_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

#define HOLD_ROWS 2000000
#define HOLD_SQL  "select g, repeat('x', 100) from generate_series(1, 2000000) g"

/* Flow control: a held query reads nothing more, so the server blocks in ClientWrite; released,
 * every row arrives once. */
static void
test_held (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionDatabase) observer = connect_new ();
  g_autofree char *pid = run_value (db, "select pg_backend_pid()");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = NULL;
  HoldState state = { .hold_after = 1 };
  guint64 n_rows_held;
  guint n_batches_held;

  start_held (db, HOLD_SQL, BASTION_QUERY_DEFAULT_BATCH_SIZE, &state, &result);
  query = state.query;
  n_batches_held = state.n_batches;
  n_rows_held = bastion_query_get_n_rows (query);

  /* The socket is not read: the server waits on the client, and no batch comes. */
  wait_for_backend (observer, pid, "wait_event", "ClientWrite");
  spin (1000);
  wait_for_backend (observer, pid, "wait_event", "ClientWrite");
  g_assert_cmpuint (state.n_batches, ==, n_batches_held);
  g_assert_cmpuint (bastion_query_get_n_rows (query), ==, n_rows_held);
  g_assert_cmpuint (n_rows_held, <, HOLD_ROWS);
  g_assert_false (state.finished);
  g_assert_null (result);
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_RUNNING);
  g_test_message ("held after %u batch(es), %" G_GUINT64_FORMAT " rows", n_batches_held,
                  n_rows_held);

  bastion_query_set_held (query, FALSE);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_true (state.finished);
  g_assert_cmpuint (state.batches_while_held, ==, 0);
  g_assert_cmpuint (state.next_g, ==, HOLD_ROWS + 1);
  g_assert_cmpuint (bastion_query_get_n_rows (query), ==, HOLD_ROWS);
  g_assert_false (bastion_database_get_busy (db));
}

/* Held near the end, once the server sent everything: the rows libpq had read already come on
 * release, though no socket event will announce them. */
static void
test_held_buffered (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionDatabase) observer = connect_new ();
  g_autofree char *pid = run_value (db, "select pg_backend_pid()");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = NULL;
  HoldState state = { .hold_after = 295 };

  /* Small enough for the socket's buffers: the statement ends on the server while held. */
  start_held (db, "select g from generate_series(1, 3000) g", 10, &state, &result);
  query = state.query;

  /* In the read-only envelope: Bastion's COMMIT follows once the rows were read. */
  wait_for_backend (observer, pid, "state", "idle in transaction");
  spin (200);
  g_assert_cmpuint (state.n_batches, ==, 295);
  g_assert_false (state.finished);

  bastion_query_set_held (query, FALSE);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (state.batches_while_held, ==, 0);
  g_assert_cmpuint (state.next_g, ==, 3001);
}

/* Cancel ends a held query: no release needed, no more rows, the connection free again. */
static void
test_held_cancel (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionDatabase) observer = connect_new ();
  g_autofree char *pid = run_value (db, "select pg_backend_pid()");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = NULL;
  g_autofree char *one = NULL;
  HoldState state = { .hold_after = 2 };
  guint n_batches_held;

  start_held (db, HOLD_SQL, BASTION_QUERY_DEFAULT_BATCH_SIZE, &state, &result);
  query = state.query;
  n_batches_held = state.n_batches;
  wait_for_backend (observer, pid, "wait_event", "ClientWrite");

  bastion_query_cancel (query);
  g_assert_true (bastion_query_get_held (query));
  g_assert_false (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (state.finished);
  g_assert_cmpuint (state.n_batches, ==, n_batches_held);
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_FINISHED);
  g_assert_false (bastion_database_get_busy (db));
  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

static void
test_several_connections (void)
{
  BastionDatabase *dbs[4];
  BastionQuery *queries[4];
  GAsyncResult *results[4] = { NULL };

  for (guint i = 0; i < G_N_ELEMENTS (dbs); i++)
    {
      g_autofree char *sql = g_strdup_printf ("select %u, pg_sleep(0.1)", i);

      dbs[i] = connect_new ();
      queries[i] = bastion_query_new (dbs[i], sql);
      bastion_query_run_async (queries[i], NULL, test_store_result, &results[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (dbs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("%u", i);

      g_assert_true (bastion_query_run_finish (queries[i], test_wait_result (&results[i]), &error));
      g_assert_no_error (error);
      g_assert_cmpstr (bastion_result_model_get_value (bastion_query_get_model (queries[i]),
                                                       0, 0, NULL, NULL), ==, expected);
      g_object_unref (results[i]);
      g_object_unref (queries[i]);
      g_object_unref (dbs[i]);
    }
}

static void
on_notice (BastionDatabase  *db,
           const char       *severity,
           const char       *message,
           GPtrArray        *notices)
{
  g_ptr_array_add (notices, g_strdup_printf ("%s: %s", severity, message));
}

static void
test_notice (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(GPtrArray) notices = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) query = NULL;

  /* A read-only session refuses DO (it hides what it calls from the statement guard). */
  set_read_only (db, FALSE);
  g_signal_connect (db, "notice", G_CALLBACK (on_notice), notices);
  query = run (db, "do $$ begin raise notice 'hello %', 42; end $$", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notices->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (notices, 0), ==, "NOTICE: hello 42");
}

static void
count_signal (gpointer  instance,
              guint    *count)
{
  (*count)++;
}

static void
test_several_statements (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) query = bastion_query_new (db, "select 1 as a; select 2 as b, 3 as c");
  BastionResultModel *model = bastion_query_get_model (query);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint columns_changed = 0;

  g_signal_connect (query, "columns-changed", G_CALLBACK (count_signal), &columns_changed);
  bastion_query_run_async (query, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);

  /* The model shows the last result set. */
  g_assert_cmpuint (columns_changed, ==, 2);
  g_assert_cmpuint (bastion_result_model_get_n_columns (model), ==, 2);
  g_assert_cmpstr (bastion_result_model_get_column_name (model, 0), ==, "b");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 1);
  g_assert_cmpstr (bastion_result_model_get_value (model, 0, 1, NULL, NULL), ==, "3");
}

static BastionQuery *
run_capped (BastionDatabase *db,
            guint            rows,
            guint            cap)
{
  g_autofree char *sql = g_strdup_printf ("select g from generate_series(1, %u) g", rows);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  BastionQuery *query = bastion_query_new (db, sql);

  bastion_query_set_max_rows (query, cap);
  bastion_query_run_async (query, NULL, test_store_result, &result);
  g_assert_true (bastion_query_run_finish (query, test_wait_result (&result), &error));
  g_assert_no_error (error);

  return query;
}

static void
test_cap_edges (void)
{
  g_autoptr(BastionDatabase) db = connect_new ();
  g_autoptr(BastionQuery) exact = run_capped (db, 10, 10);
  g_autoptr(BastionQuery) over = NULL;
  g_autoptr(GAsyncResult) more = NULL;
  g_autoptr(GAsyncResult) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionQuery) dropped = NULL;
  g_autofree char *one = NULL;

  /* Exactly the cap: complete, nothing more. */
  g_assert_cmpint (bastion_query_get_state (exact), ==, BASTION_QUERY_STATE_FINISHED);
  g_assert_false (bastion_query_get_more_available (exact));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (bastion_query_get_model (exact))),
                    ==, 10);

  /* One over: paused, then the last row. */
  over = run_capped (db, 11, 10);
  g_assert_true (bastion_query_get_more_available (over));
  bastion_query_fetch_more_async (over, NULL, test_store_result, &more);
  g_assert_true (bastion_query_fetch_more_finish (over, test_wait_result (&more), &error));
  g_assert_no_error (error);
  g_assert_cmpint (bastion_query_get_state (over), ==, BASTION_QUERY_STATE_FINISHED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (bastion_query_get_model (over))),
                    ==, 11);
  g_assert_cmpstr (bastion_result_model_get_value (bastion_query_get_model (over), 10, 0,
                                                   NULL, NULL), ==, "11");

  /* Fetching more from a finished query is a no-op. */
  bastion_query_fetch_more_async (over, NULL, test_store_result, &again);
  g_assert_true (bastion_query_fetch_more_finish (over, test_wait_result (&again), &error));
  g_assert_no_error (error);

  /* Dropping a paused query gives the connection up; a reconnect recovers. */
  dropped = run_capped (db, 100000, 10);
  g_assert_true (bastion_query_get_more_available (dropped));
  g_clear_object (&dropped);
  g_assert_false (bastion_database_get_busy (db));
  g_assert_false (bastion_database_get_connected (db));
  g_assert_true (connect_database (db, &error));
  g_assert_no_error (error);
  one = run_value (db, "select 1");
  g_assert_cmpstr (one, ==, "1");
}

static void
test_connect_cancel (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(BastionDatabase) db = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);

  db = bastion_database_new ("127.0.0.1", port, "db.example.com", "simpleiot", "dbadmin");
  bastion_database_set_connect_timeout (db, 60);
  bastion_database_connect_async (db, cancellable, test_store_result, &result);
  g_cancellable_cancel (cancellable);
  g_assert_false (bastion_database_connect_finish (db, test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (bastion_database_get_connected (db));
}

static void
test_tls_settings (void)
{
  g_autoptr(BastionDatabase) db = new_database (pg_password);
  g_autoptr(BastionDatabase) required = new_database (pg_password);
  g_autoptr(GError) error = NULL;

  /* A CA file asks for the full check by default. */
  g_assert_cmpstr (bastion_database_get_sslmode (db), ==, "prefer");
  bastion_database_set_sslrootcert (db, "/nonexistent/rds-ca.pem");
  g_assert_cmpstr (bastion_database_get_sslmode (db), ==, "verify-full");

  /* The test server has no TLS: both fail as TLS problems, never silently in the clear. */
  g_assert_false (connect_database (db, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_TLS);
  g_clear_error (&error);

  bastion_database_set_sslmode (required, "require");
  g_assert_false (connect_database (required, &error));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_TLS);
  g_assert_false (bastion_database_get_connected (required));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pg_password = test_pg_password (&pg_port);

  g_test_add_func ("/bastion/database/connect", test_connect);
  g_test_add_func ("/bastion/database/wrong-password", test_wrong_password);
  g_test_add_func ("/bastion/database/connect-timeout", test_connect_timeout);
  g_test_add_func ("/bastion/database/connect-refused", test_connect_refused);
  g_test_add_func ("/bastion/database/types", test_types);
  g_test_add_func ("/bastion/database/big-cell", test_big_cell_and_fixture);
  g_test_add_func ("/bastion/database/read-only", test_read_only);
  g_test_add_func ("/bastion/database/syntax-error", test_syntax_error);
  g_test_add_func ("/bastion/database/params", test_params);
  g_test_add_func ("/bastion/database/busy", test_busy);
  g_test_add_func ("/bastion/database/cancel", test_cancel);
  g_test_add_func ("/bastion/database/connection-lost", test_connection_lost);
  g_test_add_func ("/bastion/database/stream-million", test_stream_million);
  g_test_add_func ("/bastion/database/row-cap", test_row_cap);
  g_test_add_func ("/bastion/database/held", test_held);
  g_test_add_func ("/bastion/database/held-buffered", test_held_buffered);
  g_test_add_func ("/bastion/database/held-cancel", test_held_cancel);
  g_test_add_func ("/bastion/database/several-connections", test_several_connections);
  g_test_add_func ("/bastion/database/notice", test_notice);
  g_test_add_func ("/bastion/database/several-statements", test_several_statements);
  g_test_add_func ("/bastion/database/cap-edges", test_cap_edges);
  g_test_add_func ("/bastion/database/connect-cancel", test_connect_cancel);
  g_test_add_func ("/bastion/database/tls-settings", test_tls_settings);

  return g_test_run ();
}
