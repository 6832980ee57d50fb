/* bench-query.c: the `bastion-cli query --format csv` path without the tunnel: connect, stream
 * the query through BastionResultWriter to stdout. Driven by bench-query.py, which compares it
 * with `psql --csv -c`.
 *
 *   bench-query PORT DBNAME USER SQL [csv|json|table]
 *
 * The password is read from the file named by $BASTION_TEST_PG_PASSWORD_FILE.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixoutputstream.h>

#include "bastion-database.h"
#include "bastion-query.h"
#include "bastion-result-writer.h"
#include "test-util.h"

static gint64 first_batch_at;

static void
on_first_batch (BastionQuery *query,
                gpointer      user_data)
{
  first_batch_at = g_get_monotonic_time ();
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(BastionDatabase) db = NULL;
  g_autoptr(BastionQuery) query = NULL;
  g_autoptr(BastionResultWriter) writer = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  BastionResultFormat format = BASTION_RESULT_FORMAT_CSV;
  const char *pwfile = g_getenv ("BASTION_TEST_PG_PASSWORD_FILE");
  gint64 start;

  if (argc < 5 || pwfile == NULL || (argc > 5 && !bastion_result_format_parse (argv[5], &format)))
    {
      g_printerr ("usage: BASTION_TEST_PG_PASSWORD_FILE=… bench-query PORT DB USER SQL "
                  "[csv|json|table]\n");
      return 2;
    }

  if (!g_file_get_contents (pwfile, &password, NULL, &error))
    {
      g_printerr ("bench-query: %s\n", error->message);
      return 1;
    }
  g_strchomp (password);

  start = g_get_monotonic_time ();
  db = bastion_database_new ("127.0.0.1", atoi (argv[1]), "localhost", argv[2], argv[3]);
  bastion_database_set_password (db, password);
  memset (password, 0, strlen (password));

  bastion_database_connect_async (db, NULL, test_store_result, &connected);
  if (!bastion_database_connect_finish (db, test_wait_result (&connected), &error))
    {
      g_printerr ("bench-query: %s\n", error->message);
      return 1;
    }

  out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
  writer = bastion_result_writer_new (format, out);
  query = bastion_query_new (db, argv[4]);
  bastion_query_set_retain_rows (query, FALSE);
  bastion_result_writer_follow (writer, query);
  g_signal_connect (query, "first-batch", G_CALLBACK (on_first_batch), NULL);

  bastion_query_run_async (query, NULL, test_store_result, &done);
  if (!bastion_query_run_finish (query, test_wait_result (&done), &error))
    {
      g_printerr ("bench-query: %s\n", error->message);
      return 1;
    }
  if (bastion_result_writer_get_error (writer) != NULL)
    {
      g_printerr ("bench-query: %s\n", bastion_result_writer_get_error (writer)->message);
      return 1;
    }

  g_printerr ("bench-query: %" G_GUINT64_FORMAT " rows, first batch after %.1f ms, "
              "total %.3f s\n",
              bastion_query_get_n_rows (query),
              (first_batch_at - start) / 1000.0,
              (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);

  return 0;
}
