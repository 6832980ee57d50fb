/* test-result-writer.c: BastionResultBatch, BastionResultModel and BastionResultWriter without a
 * server (the same writers against real query results are in test-database.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "bastion-result-batch.h"
#include "bastion-result-model.h"
#include "bastion-result-row.h"
#include "bastion-result-writer.h"

#define INT4    23
#define TEXT    25
#define BOOL    16
#define FLOAT8  701
#define NUMERIC 1700
#define JSONB   3802

/* A batch from a row-major list of cells; NULL is SQL NULL. */
static BastionResultBatch *
make_batch (guint               n_columns,
            guint               n_rows,
            const char * const *cells)
{
  BastionResultBatch *batch = bastion_result_batch_new (n_columns, 2);

  for (guint i = 0; i < n_columns * n_rows; i++)
    bastion_result_batch_append_cell (batch, cells[i], cells[i] ? strlen (cells[i]) : 0,
                                      cells[i] == NULL);
  bastion_result_batch_seal (batch);

  return batch;
}

typedef struct
{
  GOutputStream       *stream;
  BastionResultWriter *writer;
} Output;

static void
output_init (Output              *out,
             BastionResultFormat  format)
{
  out->stream = g_memory_output_stream_new_resizable ();
  out->writer = bastion_result_writer_new (format, out->stream);
}

static char *
output_finish (Output *out)
{
  g_autoptr(GError) error = NULL;
  char *data;

  g_assert_true (bastion_result_writer_end (out->writer, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (out->stream, "", 1, NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (out->stream, NULL, NULL));
  data = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out->stream));
  g_clear_object (&out->writer);
  g_clear_object (&out->stream);

  return data;
}

static char *
write_one (BastionResultFormat  format,
           guint                n_columns,
           const char * const  *names,
           const guint32       *types,
           guint                n_rows,
           const char * const  *cells)
{
  g_autoptr(GError) error = NULL;
  Output out;

  output_init (&out, format);
  g_assert_true (bastion_result_writer_begin (out.writer, n_columns, names, types, &error));
  g_assert_no_error (error);
  if (n_rows > 0)
    {
      g_autoptr(BastionResultBatch) batch = make_batch (n_columns, n_rows, cells);

      g_assert_true (bastion_result_writer_write_batch (out.writer, batch, &error));
      g_assert_no_error (error);
    }

  return output_finish (&out);
}

static const char * const names3[] = { "id", "a,b", "say \"hi\"", NULL };
static const guint32 types3[] = { INT4, TEXT, TEXT };

static void
test_csv_quoting (void)
{
  const char * const cells[] = {
    "1", "plain", "",
    "2", NULL, "line\nbreak",
    "3", "cr\rhere", "\\.",
    "4", "comma, and \"quote\"", " spaces kept ",
  };
  g_autofree char *csv = write_one (BASTION_RESULT_FORMAT_CSV, 3, names3, types3, 4, cells);

  g_assert_cmpstr (csv, ==,
                   "id,\"a,b\",\"say \"\"hi\"\"\"\n"
                   "1,plain,\"\"\n"
                   "2,,\"line\nbreak\"\n"
                   "3,\"cr\rhere\",\"\\.\"\n"
                   "4,\"comma, and \"\"quote\"\"\", spaces kept \n");
}

static void
test_json_types (void)
{
  const char * const names[] = { "n", "f", "num", "b", "j", "t", NULL };
  const guint32 types[] = { INT4, FLOAT8, NUMERIC, BOOL, JSONB, TEXT };
  const char * const cells[] = {
    "-7", "NaN", "1.50", "t", "{\"x\": [1]}", "tab\tnl\ncr\rbs\\q\"\001\037é",
    NULL, "-Infinity", "Infinity", "f", "\"s\"", "",
    "0", "2.5e-10", "-0.001", NULL, NULL, NULL,
  };
  g_autofree char *json = write_one (BASTION_RESULT_FORMAT_JSON, 6, names, types, 3, cells);

  g_assert_cmpstr (json, ==,
                   "[\n"
                   "{\"n\":-7,\"f\":\"NaN\",\"num\":1.50,\"b\":true,\"j\":{\"x\": [1]},"
                   "\"t\":\"tab\\tnl\\ncr\\rbs\\\\q\\\"\\u0001\\u001fé\"},\n"
                   "{\"n\":null,\"f\":\"-Infinity\",\"num\":\"Infinity\",\"b\":false,\"j\":\"s\","
                   "\"t\":\"\"},\n"
                   "{\"n\":0,\"f\":2.5e-10,\"num\":-0.001,\"b\":null,\"j\":null,\"t\":null}\n"
                   "]\n");
}

static void
test_empty_results (void)
{
  g_autofree char *csv = write_one (BASTION_RESULT_FORMAT_CSV, 3, names3, types3, 0, NULL);
  g_autofree char *json = write_one (BASTION_RESULT_FORMAT_JSON, 3, names3, types3, 0, NULL);
  g_autofree char *table = write_one (BASTION_RESULT_FORMAT_TABLE, 3, names3, types3, 0, NULL);

  g_assert_cmpstr (csv, ==, "id,\"a,b\",\"say \"\"hi\"\"\"\n");
  g_assert_cmpstr (json, ==, "[]\n");
  g_assert_cmpstr (table, ==,
                   " id | a,b | say \"hi\" \n"
                   "----+-----+----------\n"
                   "(0 rows)\n\n");
}

static void
test_table (void)
{
  const char * const names[] = { "id", "name", "note", NULL };
  const guint32 types[] = { INT4, TEXT, TEXT };
  const char * const first[] = {
    "1", "世界", "x",
    "100", NULL, "two\nlines",
  };
  const char * const second[] = {
    "123456", "a much longer name", "",
  };
  g_autoptr(BastionResultBatch) b1 = make_batch (3, 2, first);
  g_autoptr(BastionResultBatch) b2 = make_batch (3, 1, second);
  g_autoptr(GError) error = NULL;
  g_autofree char *table = NULL;
  Output out;

  output_init (&out, BASTION_RESULT_FORMAT_TABLE);
  g_assert_true (bastion_result_writer_begin (out.writer, 3, names, types, &error));
  g_assert_true (bastion_result_writer_write_batch (out.writer, b1, &error));
  /* Widths come from the first batch; a later, wider value overflows. */
  g_assert_true (bastion_result_writer_write_batch (out.writer, b2, &error));
  g_assert_no_error (error);
  table = output_finish (&out);

  g_assert_cmpstr (table, ==,
                   " id  | name |    note    \n"
                   "-----+------+------------\n"
                   "   1 | 世界 | x\n"
                   " 100 |      | two\\nlines\n"
                   " 123456 | a much longer name | \n"
                   "(3 rows)\n\n");
}

static void
test_several_sets (void)
{
  const char * const names[] = { "x", NULL };
  const guint32 types[] = { INT4 };
  const char * const cells[] = { "1" };
  g_autoptr(BastionResultBatch) batch = make_batch (1, 1, cells);
  g_autoptr(GError) error = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *json = NULL;
  Output out;

  output_init (&out, BASTION_RESULT_FORMAT_CSV);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (bastion_result_writer_begin (out.writer, 1, names, types, &error));
      g_assert_true (bastion_result_writer_write_batch (out.writer, batch, &error));
    }
  g_assert_no_error (error);
  csv = output_finish (&out);
  g_assert_cmpstr (csv, ==, "x\n1\n\nx\n1\n");

  output_init (&out, BASTION_RESULT_FORMAT_JSON);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (bastion_result_writer_begin (out.writer, 1, names, types, &error));
      g_assert_true (bastion_result_writer_write_batch (out.writer, batch, &error));
    }
  g_assert_no_error (error);
  json = output_finish (&out);
  g_assert_cmpstr (json, ==, "[\n{\"x\":1}\n]\n[\n{\"x\":1}\n]\n");
}

static void
test_format_parse (void)
{
  BastionResultFormat format = 0;

  g_assert_true (bastion_result_format_parse ("csv", &format));
  g_assert_cmpint (format, ==, BASTION_RESULT_FORMAT_CSV);
  g_assert_true (bastion_result_format_parse ("json", &format));
  g_assert_cmpint (format, ==, BASTION_RESULT_FORMAT_JSON);
  g_assert_true (bastion_result_format_parse ("table", &format));
  g_assert_cmpint (format, ==, BASTION_RESULT_FORMAT_TABLE);
  g_assert_true (bastion_result_format_parse ("tsv", &format));
  g_assert_cmpint (format, ==, BASTION_RESULT_FORMAT_TSV);
  g_assert_false (bastion_result_format_parse ("xml", &format));
  g_assert_false (bastion_result_format_parse (NULL, &format));
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *total_added)
{
  *total_added += added;
  *total_added -= removed;
}

static void
test_model (void)
{
  g_autoptr(BastionResultModel) model = bastion_result_model_new ();
  const char * const names[] = { "n", "s", NULL };
  const guint32 types[] = { INT4, TEXT };
  guint count = 0;

  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), &count);
  bastion_result_model_set_columns (model, 2, names, types);

  /* Batches of uneven sizes; look rows up in random order across their borders. */
  for (guint b = 0, row = 0; b < 50; b++)
    {
      g_autoptr(BastionResultBatch) batch = bastion_result_batch_new (2, 4);
      guint size = 1 + (b * 7) % 13;

      for (guint i = 0; i < size; i++, row++)
        {
          g_autofree char *n = g_strdup_printf ("%u", row);

          bastion_result_batch_append_cell (batch, n, strlen (n), FALSE);
          bastion_result_batch_append_cell (batch, NULL, 0, row % 3 == 0);
        }
      bastion_result_batch_seal (batch);
      bastion_result_model_append_batch (model, batch);
    }

  g_assert_cmpuint (count, ==, g_list_model_get_n_items (G_LIST_MODEL (model)));
  g_assert_cmpuint (bastion_result_model_get_n_batches (model), ==, 50);

  for (guint k = 0; k < 2000; k++)
    {
      guint row = g_test_rand_int_range (0, count);
      g_autofree char *expected = g_strdup_printf ("%u", row);
      g_autoptr(BastionResultRow) item = g_list_model_get_item (G_LIST_MODEL (model), row);
      gboolean is_null;
      gsize len;
      const char *s;

      g_assert_cmpstr (bastion_result_row_get_value (item, 0, NULL, NULL), ==, expected);
      s = bastion_result_model_get_value (model, row, 1, &len, &is_null);
      g_assert_cmpint (is_null, ==, row % 3 == 0);
      if (!is_null)
        g_assert_cmpstr (s, ==, "");
    }

  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), count));
  g_assert_cmpuint (bastion_result_model_get_memory_size (model), >, 0);

  bastion_result_model_clear (model);
  g_assert_cmpuint (count, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
}

static void
test_selection (void)
{
  g_autoptr(BastionResultModel) model = bastion_result_model_new ();
  const char * const names[] = { "n", "s", NULL };
  const guint32 types[] = { INT4, TEXT };
  const char * const first[] = { "1", "a\tb", "2", NULL };
  const char * const second[] = { "30", "say \"x\"", "4", "" };
  g_autoptr(BastionResultBatch) b1 = make_batch (2, 2, first);
  g_autoptr(BastionResultBatch) b2 = make_batch (2, 2, second);
  const guint rows[] = { 3, 0, 2 };
  g_autoptr(GError) error = NULL;
  g_autofree char *tsv = NULL;
  g_autofree char *table = NULL;
  guint batch_row = 99;
  Output out;

  bastion_result_model_set_columns (model, 2, names, types);
  bastion_result_model_append_batch (model, b1);
  bastion_result_model_append_batch (model, b2);
  g_assert_true (bastion_result_model_lookup_row (model, 3, &batch_row) == b2);
  g_assert_cmpuint (batch_row, ==, 1);
  g_assert_null (bastion_result_model_lookup_row (model, 4, NULL));

  output_init (&out, BASTION_RESULT_FORMAT_TSV);
  g_assert_true (bastion_result_writer_write_model_rows (out.writer, model, rows, 3, &error));
  g_assert_no_error (error);
  tsv = output_finish (&out);
  g_assert_cmpstr (tsv, ==, "n\ts\n4\t\"\"\n1\t\"a\tb\"\n30\t\"say \"\"x\"\"\"\n");

  /* A table of a selection is measured on the selection. */
  output_init (&out, BASTION_RESULT_FORMAT_TABLE);
  g_assert_true (bastion_result_writer_write_model_rows (out.writer, model, rows, 3, &error));
  g_assert_no_error (error);
  table = output_finish (&out);
  g_assert_cmpstr (table, ==,
                   " n  |    s    \n"
                   "----+---------\n"
                   "  4 | \n"
                   "  1 | a\\tb\n"
                   " 30 | say \"x\"\n"
                   "(3 rows)\n\n");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/result-writer/csv-quoting", test_csv_quoting);
  g_test_add_func ("/bastion/result-writer/json-types", test_json_types);
  g_test_add_func ("/bastion/result-writer/empty", test_empty_results);
  g_test_add_func ("/bastion/result-writer/table", test_table);
  g_test_add_func ("/bastion/result-writer/several-sets", test_several_sets);
  g_test_add_func ("/bastion/result-writer/format-parse", test_format_parse);
  g_test_add_func ("/bastion/result-model/lookup", test_model);
  g_test_add_func ("/bastion/result-writer/selection", test_selection);

  return g_test_run ();
}
