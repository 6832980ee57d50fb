/* bastion-result-writer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-printable.h"
#include "bastion-result-writer.h"

/* PostgreSQL type OIDs (pg_type.dat); stable across versions. */
#define OID_BOOL    16
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_OID     26
#define OID_JSON    114
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_MONEY   790
#define OID_NUMERIC 1700
#define OID_JSONB   3802

#define FLUSH_SIZE (256 * 1024)

typedef enum
{
  KIND_STRING,
  KIND_NUMBER,   /* JSON number unless NaN or ±Infinity */
  KIND_BOOL,
  KIND_JSON,
  KIND_RIGHT,    /* a string, right-aligned in a table */
} Kind;

struct _BastionResultWriter
{
  GObject              parent_instance;

  /* Owned */
  GOutputStream       *stream;
  GString             *buffer;
  GStrv                names;
  GError              *error;        /* the first failure while following a query */
  char               **json_keys;    /* "\"name\":" ready to append */
  Kind                *kinds;
  guint               *widths;       /* TABLE: display width per column */

  BastionResultFormat  format;
  char                 delimiter;
  guint                n_columns;
  guint                n_sets;
  guint64              n_rows;        /* in the current set */
  guint64              n_rows_total;

  guint                in_set : 1;
  guint                widths_known : 1;
  guint                escape_controls : 1;
};

G_DEFINE_FINAL_TYPE (BastionResultWriter, bastion_result_writer, G_TYPE_OBJECT)

/* Bytes that force CSV quoting. */
static gboolean csv_special[256];
static gboolean tsv_special[256];
/* Bytes that need escaping in a JSON string. */
static gboolean json_special[256];

static void
clear_columns (BastionResultWriter *self)
{
  g_clear_pointer (&self->names, g_strfreev);
  g_clear_pointer (&self->json_keys, g_strfreev);
  g_clear_pointer (&self->kinds, g_free);
  g_clear_pointer (&self->widths, g_free);
  self->n_columns = 0;
}

static void
bastion_result_writer_finalize (GObject *object)
{
  BastionResultWriter *self = (BastionResultWriter *)object;

  clear_columns (self);
  g_clear_error (&self->error);
  g_clear_object (&self->stream);
  g_string_free (self->buffer, TRUE);

  G_OBJECT_CLASS (bastion_result_writer_parent_class)->finalize (object);
}

static void
bastion_result_writer_class_init (BastionResultWriterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_result_writer_finalize;

  csv_special[','] = csv_special['"'] = csv_special['\r'] = csv_special['\n'] = TRUE;
  tsv_special['\t'] = tsv_special['"'] = tsv_special['\r'] = tsv_special['\n'] = TRUE;
  for (guint c = 0; c < 0x20; c++)
    json_special[c] = TRUE;
  json_special['"'] = json_special['\\'] = TRUE;
}

static void
bastion_result_writer_init (BastionResultWriter *self)
{
  self->buffer = g_string_sized_new (FLUSH_SIZE + 64 * 1024);
}

BastionResultWriter *
bastion_result_writer_new (BastionResultFormat  format,
                           GOutputStream       *stream)
{
  BastionResultWriter *self;

  g_return_val_if_fail (format >= BASTION_RESULT_FORMAT_TABLE &&
                        format <= BASTION_RESULT_FORMAT_TSV, NULL);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), NULL);

  self = g_object_new (BASTION_TYPE_RESULT_WRITER, NULL);
  self->format = format;
  self->delimiter = format == BASTION_RESULT_FORMAT_TSV ? '\t' : ',';
  self->stream = g_object_ref (stream);

  return self;
}

gboolean
bastion_result_format_parse (const char          *name,
                             BastionResultFormat *format)
{
  static const struct { const char *name; BastionResultFormat format; } formats[] = {
    { "table", BASTION_RESULT_FORMAT_TABLE },
    { "csv", BASTION_RESULT_FORMAT_CSV },
    { "json", BASTION_RESULT_FORMAT_JSON },
    { "tsv", BASTION_RESULT_FORMAT_TSV },
  };

  g_return_val_if_fail (format != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_strcmp0 (name, formats[i].name) == 0)
      {
        *format = formats[i].format;
        return TRUE;
      }

  return FALSE;
}

void
bastion_result_writer_set_escape_controls (BastionResultWriter *self,
                                           gboolean             escape_controls)
{
  g_return_if_fail (BASTION_IS_RESULT_WRITER (self));

  self->escape_controls = !!escape_controls;
}

BastionResultFormat
bastion_result_writer_get_format (BastionResultWriter *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), 0);
  return self->format;
}

guint64
bastion_result_writer_get_n_rows (BastionResultWriter *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), 0);
  return self->n_rows_total;
}

static gboolean
flush_buffer (BastionResultWriter  *self,
              GError              **error)
{
  gboolean ok = TRUE;

  if (self->buffer->len > 0)
    ok = g_output_stream_write_all (self->stream, self->buffer->str, self->buffer->len,
                                    NULL, NULL, error);
  g_string_truncate (self->buffer, 0);

  return ok;
}

static Kind
kind_for_type (guint32 oid)
{
  switch (oid)
    {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
      return KIND_NUMBER;

    case OID_MONEY:
      return KIND_RIGHT;

    case OID_BOOL:
      return KIND_BOOL;

    case OID_JSON:
    case OID_JSONB:
      return KIND_JSON;

    default:
      return KIND_STRING;
    }
}

/* CSV and TSV */

static void delimited_field_raw (BastionResultWriter *self,
                                 const char          *value,
                                 gsize                len);

static void
delimited_field (BastionResultWriter *self,
                 const char          *value,
                 gsize                len)
{
  g_autofree char *shown = NULL;

  if (!self->escape_controls
      || !bastion_printable_needs_escape (value, len, BASTION_PRINTABLE_KEEP_LF_TAB))
    {
      delimited_field_raw (self, value, len);
      return;
    }

  shown = bastion_printable_dup (value, len, BASTION_PRINTABLE_KEEP_LF_TAB);
  delimited_field_raw (self, shown, strlen (shown));
}

static void
delimited_field_raw (BastionResultWriter *self,
                     const char          *value,
                     gsize                len)
{
  const gboolean *special = self->delimiter == '\t' ? tsv_special : csv_special;
  GString *out = self->buffer;
  const guchar *p = (const guchar *)value;
  gboolean quote = FALSE;

  for (gsize i = 0; i < len; i++)
    if (special[p[i]])
      {
        quote = TRUE;
        break;
      }

  /* "\." alone would end COPY's data; "" tells an empty string from NULL. */
  if (!quote && (len == 0 || (len == 2 && value[0] == '\\' && value[1] == '.')))
    quote = TRUE;

  if (!quote)
    {
      g_string_append_len (out, value, len);
      return;
    }

  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (value[i] == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, value[i]);
    }
  g_string_append_c (out, '"');
}

/* JSON */

static void
json_string (GString    *out,
             const char *value,
             gsize       len)
{
  const guchar *p = (const guchar *)value;
  gsize start = 0;

  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (!json_special[p[i]])
        continue;

      g_string_append_len (out, value + start, i - start);
      start = i + 1;

      switch (p[i])
        {
        case '"':
          g_string_append (out, "\\\"");
          break;

        case '\\':
          g_string_append (out, "\\\\");
          break;

        case '\n':
          g_string_append (out, "\\n");
          break;

        case '\r':
          g_string_append (out, "\\r");
          break;

        case '\t':
          g_string_append (out, "\\t");
          break;

        case '\b':
          g_string_append (out, "\\b");
          break;

        case '\f':
          g_string_append (out, "\\f");
          break;

        default:
          g_string_append_printf (out, "\\u%04x", p[i]);
          break;
        }
    }
  g_string_append_len (out, value + start, len - start);
  g_string_append_c (out, '"');
}

static void
json_value (GString    *out,
            Kind        kind,
            const char *value,
            gsize       len,
            gboolean    is_null)
{
  if (is_null)
    {
      g_string_append (out, "null");
      return;
    }

  switch (kind)
    {
    case KIND_NUMBER:
      /* NaN, Infinity and -Infinity have no JSON number. */
      if (len > 0 && (g_ascii_isdigit (value[0]) || (value[0] == '-' && len > 1 &&
                                                     g_ascii_isdigit (value[1]))))
        g_string_append_len (out, value, len);
      else
        json_string (out, value, len);
      break;

    case KIND_BOOL:
      if (len == 1 && value[0] == 't')
        g_string_append (out, "true");
      else if (len == 1 && value[0] == 'f')
        g_string_append (out, "false");
      else
        json_string (out, value, len);
      break;

    case KIND_JSON:
      g_string_append_len (out, value, len);
      break;

    case KIND_STRING:
    case KIND_RIGHT:
    default:
      json_string (out, value, len);
      break;
    }
}

/* TABLE */

static guint
display_width (const char *value,
               gsize       len)
{
  const char *end = value + len;
  const char *p = value;
  guint width = 0;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      /* As table_text() shows them: \xHH for a stray byte, a control or DEL, \uHHHH for a C1
       * control, \n \r \t. */
      if (c == (gunichar)-1 || c == (gunichar)-2)
        {
          width += 4;
          p++;
          continue;
        }
      p = g_utf8_next_char (p);

      if (c == '\n' || c == '\r' || c == '\t')
        width += 2;
      else if (c < 0x20 || c == 0x7f)
        width += 4;
      else if (c >= 0x80 && c <= 0x9f)
        width += 6;
      else if (g_unichar_iszerowidth (c))
        continue;
      else if (g_unichar_iswide (c))
        width += 2;
      else
        width++;
    }

  return width;
}

/* Controls shown visibly, as psql does: no value can drive the terminal. */
static void
table_text (GString    *out,
            const char *value,
            gsize       len)
{
  bastion_printable_append (out, value, len, BASTION_PRINTABLE_DEFAULT);
}

static void
pad (GString *out,
     guint    n)
{
  for (guint i = 0; i < n; i++)
    g_string_append_c (out, ' ');
}

static void
table_header (BastionResultWriter *self)
{
  GString *out = self->buffer;

  self->widths_known = TRUE;

  for (guint c = 0; c < self->n_columns; c++)
    {
      guint w = display_width (self->names[c], strlen (self->names[c]));
      guint left = (self->widths[c] - w) / 2;

      g_string_append (out, c == 0 ? " " : " | ");
      pad (out, left);
      table_text (out, self->names[c], strlen (self->names[c]));
      pad (out, self->widths[c] - w - left);
    }
  g_string_append (out, " \n");

  for (guint c = 0; c < self->n_columns; c++)
    {
      if (c > 0)
        g_string_append_c (out, '+');
      for (guint i = 0; i < self->widths[c] + 2; i++)
        g_string_append_c (out, '-');
    }
  g_string_append_c (out, '\n');
}

static void
table_widths_reset (BastionResultWriter *self)
{
  for (guint c = 0; c < self->n_columns; c++)
    self->widths[c] = display_width (self->names[c], strlen (self->names[c]));
}

static void
table_widen (BastionResultWriter *self,
             BastionResultBatch  *batch,
             guint                r)
{
  for (guint c = 0; c < self->n_columns; c++)
    {
      gsize len;
      const char *value = bastion_result_batch_get_value (batch, r, c, &len, NULL);

      if (value != NULL)
        self->widths[c] = MAX (self->widths[c], display_width (value, len));
    }
}

static void
table_row (BastionResultWriter *self,
           BastionResultBatch  *batch,
           guint                row)
{
  GString *out = self->buffer;

  for (guint c = 0; c < self->n_columns; c++)
    {
      gsize len;
      const char *value = bastion_result_batch_get_value (batch, row, c, &len, NULL);
      guint w = value ? display_width (value, len) : 0;
      guint slack = self->widths[c] > w ? self->widths[c] - w : 0;
      gboolean last = c + 1 == self->n_columns;

      g_string_append (out, c == 0 ? " " : " | ");
      if (self->kinds[c] == KIND_NUMBER || self->kinds[c] == KIND_RIGHT)
        {
          pad (out, slack);
          if (value)
            table_text (out, value, len);
        }
      else
        {
          if (value)
            table_text (out, value, len);
          if (!last)
            pad (out, slack);
        }
    }
  g_string_append_c (out, '\n');
}

/* Public */

gboolean
bastion_result_writer_begin (BastionResultWriter  *self,
                             guint                 n_columns,
                             const char * const   *names,
                             const guint32        *type_oids,
                             GError              **error)
{
  GString *out;

  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), FALSE);
  g_return_val_if_fail (n_columns == 0 || (names != NULL && type_oids != NULL), FALSE);

  if (self->in_set && !bastion_result_writer_end (self, error))
    return FALSE;

  clear_columns (self);
  out = self->buffer;
  self->n_columns = n_columns;
  self->names = g_new0 (char *, n_columns + 1);
  self->json_keys = g_new0 (char *, n_columns + 1);
  self->kinds = g_new0 (Kind, MAX (n_columns, 1));
  self->widths = g_new0 (guint, MAX (n_columns, 1));
  for (guint c = 0; c < n_columns; c++)
    {
      g_autoptr(GString) key = g_string_new (NULL);

      self->names[c] = g_strdup (names[c]);
      self->kinds[c] = kind_for_type (type_oids[c]);
      json_string (key, names[c], strlen (names[c]));
      g_string_append_c (key, ':');
      self->json_keys[c] = g_string_free (g_steal_pointer (&key), FALSE);
    }

  self->in_set = TRUE;
  self->widths_known = FALSE;
  self->n_rows = 0;

  if (self->n_sets++ > 0 && self->format != BASTION_RESULT_FORMAT_JSON)
    g_string_append_c (out, '\n');

  if (self->format == BASTION_RESULT_FORMAT_CSV || self->format == BASTION_RESULT_FORMAT_TSV)
    {
      for (guint c = 0; c < n_columns; c++)
        {
          if (c > 0)
            g_string_append_c (out, self->delimiter);
          delimited_field (self, names[c], strlen (names[c]));
        }
      g_string_append_c (out, '\n');
    }

  return TRUE;
}

static void
format_row (BastionResultWriter *self,
            BastionResultBatch  *batch,
            guint                r)
{
  GString *out = self->buffer;

  switch (self->format)
    {
    case BASTION_RESULT_FORMAT_CSV:
    case BASTION_RESULT_FORMAT_TSV:
      for (guint c = 0; c < self->n_columns; c++)
        {
          gsize len;
          const char *value = bastion_result_batch_get_value (batch, r, c, &len, NULL);

          if (c > 0)
            g_string_append_c (out, self->delimiter);
          if (value != NULL)
            delimited_field (self, value, len);
        }
      g_string_append_c (out, '\n');
      break;

    case BASTION_RESULT_FORMAT_JSON:
      g_string_append (out, self->n_rows == 0 ? "[\n{" : ",\n{");
      for (guint c = 0; c < self->n_columns; c++)
        {
          gsize len;
          gboolean is_null;
          const char *value = bastion_result_batch_get_value (batch, r, c, &len, &is_null);

          if (c > 0)
            g_string_append_c (out, ',');
          g_string_append (out, self->json_keys[c]);
          json_value (out, self->kinds[c], value, len, is_null);
        }
      g_string_append_c (out, '}');
      break;

    case BASTION_RESULT_FORMAT_TABLE:
    default:
      table_row (self, batch, r);
      break;
    }

  self->n_rows++;
  self->n_rows_total++;
}

gboolean
bastion_result_writer_write_batch (BastionResultWriter  *self,
                                   BastionResultBatch   *batch,
                                   GError              **error)
{
  guint n_rows;

  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), FALSE);
  g_return_val_if_fail (batch != NULL, FALSE);
  g_return_val_if_fail (self->in_set, FALSE);
  g_return_val_if_fail (bastion_result_batch_get_n_columns (batch) == self->n_columns, FALSE);

  n_rows = bastion_result_batch_get_n_rows (batch);

  if (self->format == BASTION_RESULT_FORMAT_TABLE && !self->widths_known)
    {
      table_widths_reset (self);
      for (guint r = 0; r < n_rows; r++)
        table_widen (self, batch, r);
      table_header (self);
    }

  for (guint r = 0; r < n_rows; r++)
    {
      format_row (self, batch, r);
      if (self->buffer->len >= FLUSH_SIZE && !flush_buffer (self, error))
        return FALSE;
    }

  return TRUE;
}

gboolean
bastion_result_writer_write_model_rows (BastionResultWriter  *self,
                                        BastionResultModel   *model,
                                        const guint          *rows,
                                        guint                 n_rows,
                                        GError              **error)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), FALSE);
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (model), FALSE);
  g_return_val_if_fail (n_rows == 0 || rows != NULL, FALSE);

  if (!bastion_result_writer_begin (self,
                                    bastion_result_model_get_n_columns (model),
                                    bastion_result_model_get_column_names (model),
                                    bastion_result_model_get_column_types (model),
                                    error))
    return FALSE;

  if (self->format == BASTION_RESULT_FORMAT_TABLE)
    {
      table_widths_reset (self);
      for (guint i = 0; i < n_rows; i++)
        {
          guint batch_row;
          BastionResultBatch *batch = bastion_result_model_lookup_row (model, rows[i], &batch_row);

          g_return_val_if_fail (batch != NULL, FALSE);
          table_widen (self, batch, batch_row);
        }
      table_header (self);
    }

  for (guint i = 0; i < n_rows; i++)
    {
      guint batch_row;
      BastionResultBatch *batch = bastion_result_model_lookup_row (model, rows[i], &batch_row);

      g_return_val_if_fail (batch != NULL, FALSE);
      format_row (self, batch, batch_row);
      if (self->buffer->len >= FLUSH_SIZE && !flush_buffer (self, error))
        return FALSE;
    }

  return bastion_result_writer_end (self, error);
}

gboolean
bastion_result_writer_end (BastionResultWriter  *self,
                           GError              **error)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), FALSE);

  if (self->in_set)
    {
      GString *out = self->buffer;

      switch (self->format)
        {
        case BASTION_RESULT_FORMAT_JSON:
          g_string_append (out, self->n_rows == 0 ? "[]\n" : "\n]\n");
          break;

        case BASTION_RESULT_FORMAT_TABLE:
          if (!self->widths_known)
            {
              table_widths_reset (self);
              table_header (self);
            }
          /* Like psql: a blank line after the footer. */
          if (self->n_rows == 1)
            g_string_append (out, "(1 row)\n\n");
          else
            g_string_append_printf (out, "(%" G_GUINT64_FORMAT " rows)\n\n", self->n_rows);
          break;

        case BASTION_RESULT_FORMAT_CSV:
        default:
          break;
        }

      self->in_set = FALSE;
    }

  if (!flush_buffer (self, error))
    return FALSE;

  return g_output_stream_flush (self->stream, NULL, error);
}

gboolean
bastion_result_writer_write_model (BastionResultWriter  *self,
                                   BastionResultModel   *model,
                                   GError              **error)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), FALSE);
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (model), FALSE);

  if (!bastion_result_writer_begin (self,
                                    bastion_result_model_get_n_columns (model),
                                    bastion_result_model_get_column_names (model),
                                    bastion_result_model_get_column_types (model),
                                    error))
    return FALSE;

  for (guint i = 0; i < bastion_result_model_get_n_batches (model); i++)
    if (!bastion_result_writer_write_batch (self, bastion_result_model_get_batch (model, i), error))
      return FALSE;

  return bastion_result_writer_end (self, error);
}

/* Following a query */

static void
follow_failed (BastionResultWriter *self,
               BastionQuery        *query,
               GError              *error)
{
  if (self->error == NULL)
    {
      self->error = error;
      bastion_query_cancel (query);
    }
  else
    g_error_free (error);
}

static void
follow_columns_cb (BastionQuery        *query,
                   BastionResultWriter *self)
{
  GError *error = NULL;

  if (self->error == NULL &&
      !bastion_result_writer_begin (self, bastion_query_get_n_columns (query),
                                    bastion_query_get_column_names (query),
                                    bastion_query_get_column_types (query), &error))
    follow_failed (self, query, error);
}

static void
follow_batch_cb (BastionQuery        *query,
                 BastionResultBatch  *batch,
                 BastionResultWriter *self)
{
  GError *error = NULL;

  if (self->error == NULL && !bastion_result_writer_write_batch (self, batch, &error))
    follow_failed (self, query, error);
}

static void
follow_finished_cb (BastionQuery        *query,
                    BastionResultWriter *self)
{
  GError *error = NULL;

  g_signal_handlers_disconnect_by_data (query, self);

  if (self->error == NULL && !bastion_result_writer_end (self, &error))
    self->error = error;
}

void
bastion_result_writer_follow (BastionResultWriter *self,
                              BastionQuery        *query)
{
  g_return_if_fail (BASTION_IS_RESULT_WRITER (self));
  g_return_if_fail (BASTION_IS_QUERY (query));

  g_signal_connect_object (query, "columns-changed", G_CALLBACK (follow_columns_cb), self, 0);
  g_signal_connect_object (query, "batch", G_CALLBACK (follow_batch_cb), self, 0);
  g_signal_connect_object (query, "finished", G_CALLBACK (follow_finished_cb), self, 0);
}

const GError *
bastion_result_writer_get_error (BastionResultWriter *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_WRITER (self), NULL);
  return self->error;
}
