/* bastion-result-writer.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-result-batch.h"
#include "bastion-query.h"
#include "bastion-result-model.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_RESULT_FORMAT_TABLE = 1,
  BASTION_RESULT_FORMAT_CSV,
  BASTION_RESULT_FORMAT_JSON,
  BASTION_RESULT_FORMAT_TSV,
} BastionResultFormat;

#define BASTION_TYPE_RESULT_WRITER (bastion_result_writer_get_type ())

G_DECLARE_FINAL_TYPE (BastionResultWriter, bastion_result_writer, BASTION, RESULT_WRITER, GObject)

/* Writes result rows batch by batch, never holding more than one batch and a small buffer.
 *
 * CSV (RFC 4180 with LF line ends, like psql --csv): a header line of column names; a field is
 * quoted when it holds a comma, a double quote, CR or LF, or is exactly "\."; an empty string
 * is written as "" and NULL as nothing, so the two stay apart.
 * TSV: the same with TAB for comma (for the clipboard: spreadsheets read the quotes).
 * JSON: an array of objects, one per line, keyed by column name, in column order. Integer,
 * float and numeric values are JSON numbers (NaN and ±Infinity are strings), booleans true and
 * false, NULL null, json and jsonb embedded as they are; everything else (dates, uuid, bytea
 * as \x…, arrays in PostgreSQL's text form) is a string.
 * TABLE: psql's aligned layout for a terminal. Column widths come from the header and the first
 * batch, so a long stream keeps its layout; a wider later value overflows its column. CR, LF
 * and TAB inside values are shown as \r, \n and \t, other controls as psql shows them (\x1B;
 * see bastion-printable.h). Ends with "(N rows)" and a blank line.
 *
 * The stream is written synchronously whenever the buffer fills: hand it a stream for which
 * that is fine (a terminal or pipe in the CLI, a file from a worker thread). */
BastionResultWriter *bastion_result_writer_new          (BastionResultFormat   format,
                                                         GOutputStream        *stream);
gboolean             bastion_result_format_parse        (const char           *name,
                                                         BastionResultFormat  *format);
BastionResultFormat  bastion_result_writer_get_format   (BastionResultWriter  *self);
/* CSV and TSV for a terminal: control characters but LF and TAB shown escaped as TABLE shows
 * them (a value's ESC or BEL cannot drive it). Off by default: for a pipe or file the output
 * stays byte-exact. */
void                 bastion_result_writer_set_escape_controls
                                                        (BastionResultWriter  *self,
                                                         gboolean              escape_controls);
/* Starts a result set (again for each further one: CSV and TABLE then begin after a blank
 * line, JSON with a new array on the next line). */
gboolean             bastion_result_writer_begin        (BastionResultWriter  *self,
                                                         guint                 n_columns,
                                                         const char * const   *names,
                                                         const guint32        *type_oids,
                                                         GError              **error);
gboolean             bastion_result_writer_write_batch  (BastionResultWriter  *self,
                                                         BastionResultBatch   *batch,
                                                         GError              **error);
/* Ends the current result set and flushes the stream (it is not closed). */
gboolean             bastion_result_writer_end          (BastionResultWriter  *self,
                                                         GError              **error);
/* begin + the given rows of @model, in that order + end (copying a selection). */
gboolean             bastion_result_writer_write_model_rows (BastionResultWriter *self,
                                                             BastionResultModel  *model,
                                                             const guint         *rows,
                                                             guint                n_rows,
                                                             GError             **error);
/* begin + every batch + end. */
gboolean             bastion_result_writer_write_model  (BastionResultWriter  *self,
                                                         BastionResultModel   *model,
                                                         GError              **error);
guint64              bastion_result_writer_get_n_rows   (BastionResultWriter  *self);
/* Writes every result set and batch @query produces from now on, ending with the query. The
 * first write error cancels the query and stays in bastion_result_writer_get_error(). Run the
 * query with :retain-rows off to stream results of any size. */
void                 bastion_result_writer_follow       (BastionResultWriter  *self,
                                                         BastionQuery         *query);
const GError        *bastion_result_writer_get_error    (BastionResultWriter  *self);

G_END_DECLS
