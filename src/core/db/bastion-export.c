/* bastion-export.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-export-private.h"
#include "bastion-query.h"

/* The query goes on once the bytes waiting for the disk fell below this. */
#define LOW_WATER (BASTION_EXPORT_HIGH_WATER / 4)

struct _BastionExport
{
  GObject              parent_instance;

  /* Owned */
  BastionDatabase     *database;
  char                *sql;
  GFile               *file;
  GTask               *task;           /* the run, until it completes */
  GCancellable        *cancellable;    /* the file's work; cancelled by a failure */
  GSource             *cancel_source;  /* the caller's cancellable, on the run's context */
  char                *tmp_path;
  GOutputStream       *stream;         /* the temporary file */
  BastionQuery        *query;
  BastionResultWriter *writer;
  GOutputStream       *buffer;         /* what the writer formatted since the last chunk */
  GQueue               chunks;         /* GBytes waiting for the worker thread */
  GError              *error;          /* the first failure */

  BastionResultFormat  format;
  gsize                queued;         /* bytes queued or being written */
  gsize                peak_queued;
  guint64              n_rows;

  guint                started : 1;
  guint                writing : 1;
  guint                closing : 1;
  guint                query_done : 1;
};

G_DEFINE_FINAL_TYPE (BastionExport, bastion_export, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_N_ROWS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static BastionExportWriteHook write_hook;
static gpointer               write_hook_data;

static void pump (BastionExport *self);

void
_bastion_export_set_write_hook (BastionExportWriteHook hook,
                                gpointer               user_data)
{
  write_hook = hook;
  write_hook_data = user_data;
}

/* Opening: a temporary file beside the target (a worker thread) */

typedef struct
{
  char *path;
  char *tmp_path;
  int   fd;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_free (data->path);
  g_free (data->tmp_path);
  if (data->fd >= 0)
    close (data->fd);
  g_free (data);
}

/* "Could not … “NAME”: REASON" for errno @saved_errno; @format takes NAME, then REASON. */
static GError *
error_from_errno (int         saved_errno,
                  const char *format,
                  const char *name)
{
  g_autofree char *message = NULL;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  message = g_strdup_printf (format, name, g_strerror (saved_errno));
#pragma GCC diagnostic pop

  return g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (saved_errno), message);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OpenData *data = task_data;
  g_autofree char *dir = g_path_get_dirname (data->path);
  gboolean existed = FALSE;
  struct stat st;

  if (lstat (data->path, &st) == 0)
    {
      /* The rename replaces a link, a folder could not be replaced: say so before writing. */
      if (!S_ISREG (st.st_mode))
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                                   _("“%s” is not a regular file: choose another name"),
                                   data->path);
          return;
        }
      existed = TRUE;
    }
  else if (errno != ENOENT)
    {
      g_task_return_error (task, error_from_errno (errno, _("Could not look at “%s”: %s"),
                                                   data->path));
      return;
    }

  data->tmp_path = g_build_filename (dir, ".bastion-export-XXXXXX", NULL);
  /* A new file gets the usual 0666 less the umask; one that was there keeps its mode. */
  data->fd = g_mkstemp_full (data->tmp_path, O_WRONLY | O_CLOEXEC, 0666);
  if (data->fd < 0)
    {
      g_task_return_error (task, error_from_errno (errno, _("Could not create a file in “%s”: %s"),
                                                   dir));
      return;
    }
  if (existed && fchmod (data->fd, st.st_mode & 0777) != 0)
    g_debug ("Export: could not copy the mode of %s: %s", data->path, g_strerror (errno));

  g_task_return_boolean (task, TRUE);
}

/* Closing: commit (fsync, rename) or discard, in a worker thread */

typedef struct
{
  GOutputStream *stream;
  char          *tmp_path;
  char          *path;
  gboolean       commit;
} CloseData;

static void
close_data_free (CloseData *data)
{
  g_object_unref (data->stream);
  g_free (data->tmp_path);
  g_free (data->path);
  g_free (data);
}

static void
close_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CloseData *data = task_data;
  int fd = g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (data->stream));
  GError *error = NULL;

  if (data->commit && fsync (fd) != 0)
    error = error_from_errno (errno, _("Could not write “%s”: %s"), data->path);
  if (error == NULL)
    g_output_stream_close (data->stream, NULL, &error);
  else
    g_output_stream_close (data->stream, NULL, NULL);

  if (data->commit && error == NULL && g_rename (data->tmp_path, data->path) != 0)
    error = error_from_errno (errno, _("Could not save “%s”: %s"), data->path);

  if (!data->commit || error != NULL)
    g_unlink (data->tmp_path);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Writing: one chunk at a time, in a worker thread */

typedef struct
{
  GOutputStream *stream;
  GBytes        *bytes;
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_object_unref (data->stream);
  g_bytes_unref (data->bytes);
  g_free (data);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  GError *error = NULL;
  gsize size = 0;
  const char *bytes = g_bytes_get_data (data->bytes, &size);

  if (write_hook != NULL)
    write_hook (write_hook_data);

  if (g_output_stream_write_all (data->stream, bytes, size, NULL, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The run */

static void
drop_chunks (BastionExport *self)
{
  GBytes *bytes;

  while ((bytes = g_queue_pop_head (&self->chunks)) != NULL)
    {
      self->queued -= MIN (self->queued, g_bytes_get_size (bytes));
      g_bytes_unref (bytes);
    }
}

static void
fail (BastionExport *self,
      const GError  *error)
{
  /* Too late: the outcome is the close's. */
  if (self->closing)
    return;
  if (self->error == NULL)
    self->error = g_error_copy (error);
  g_cancellable_cancel (self->cancellable);
  drop_chunks (self);
  /* A held query ends too: the cancel reads on past the hold. */
  if (self->query != NULL && bastion_query_get_state (self->query) != BASTION_QUERY_STATE_FINISHED)
    bastion_query_cancel (self->query);
}

static void
fail_literal (BastionExport *self,
              GIOErrorEnum   code,
              const char    *message)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, code, message);

  fail (self, error);
}

static void
complete (BastionExport *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  if (self->cancel_source != NULL)
    {
      g_source_destroy (self->cancel_source);
      g_clear_pointer (&self->cancel_source, g_source_unref);
    }
  if (self->query != NULL)
    g_signal_handlers_disconnect_by_data (self->query, self);
  g_clear_object (&self->stream);
  g_clear_pointer (&self->tmp_path, g_free);

  if (self->error != NULL)
    g_task_return_error (task, g_error_copy (self->error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_closed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  BastionExport *self = BASTION_EXPORT (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && self->error == NULL)
    self->error = g_steal_pointer (&error);
  complete (self);
}

/* Commits the file, or on failure discards the temporary one. */
static void
close_file (BastionExport *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, on_closed, NULL);
  CloseData *data = g_new0 (CloseData, 1);

  if (self->error == NULL && self->writer != NULL
      && bastion_result_writer_get_error (self->writer) != NULL)
    self->error = g_error_copy (bastion_result_writer_get_error (self->writer));
  if (self->error == NULL && self->query != NULL && bastion_query_get_error (self->query) != NULL)
    self->error = g_error_copy (bastion_query_get_error (self->query));

  self->closing = TRUE;
  data->stream = g_object_ref (self->stream);
  data->tmp_path = g_strdup (self->tmp_path);
  data->path = g_file_get_path (self->file);
  data->commit = self->error == NULL;
  g_task_set_source_tag (task, close_file);
  g_task_set_task_data (task, data, (GDestroyNotify) close_data_free);
  g_task_run_in_thread (task, close_thread);
}

static void
on_written (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  BastionExport *self = BASTION_EXPORT (object);
  WriteData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  self->queued -= MIN (self->queued, g_bytes_get_size (data->bytes));
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    fail (self, error);
  self->writing = FALSE;
  /* Drained: the rows the query has buffered, and then the socket, follow. */
  if (self->query != NULL && self->queued <= LOW_WATER)
    bastion_query_set_held (self->query, FALSE);
  pump (self);
}

/* One chunk at a time to the file; once the query ended and all is written (or something
 * failed), the close. */
static void
pump (BastionExport *self)
{
  if (self->stream == NULL || self->writing || self->closing)
    return;

  if (self->error == NULL && !g_queue_is_empty (&self->chunks))
    {
      g_autoptr(GTask) task = g_task_new (self, self->cancellable, on_written, NULL);
      WriteData *data = g_new0 (WriteData, 1);

      data->stream = g_object_ref (self->stream);
      data->bytes = g_queue_pop_head (&self->chunks);
      g_task_set_source_tag (task, pump);
      g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
      self->writing = TRUE;
      g_task_run_in_thread (task, write_thread);
      return;
    }

  if (self->error != NULL || self->query_done)
    close_file (self);
}

/* Moves what the writer formatted so far into the queue. */
static void
take_buffer (BastionExport *self)
{
  GMemoryOutputStream *buffer = G_MEMORY_OUTPUT_STREAM (self->buffer);
  gsize size = g_memory_output_stream_get_data_size (buffer);

  if (size == 0 || self->error != NULL)
    return;

  g_queue_push_tail (&self->chunks, g_bytes_new (g_memory_output_stream_get_data (buffer), size));
  g_seekable_seek (G_SEEKABLE (buffer), 0, G_SEEK_SET, NULL, NULL);
  g_seekable_truncate (G_SEEKABLE (buffer), 0, NULL, NULL);

  /* The disk is behind: no more rows until it caught up (on_written()). At most one chunk (a
   * batch's text) lands above the mark, since a held query sends no batch. */
  self->queued += size;
  self->peak_queued = MAX (self->peak_queued, self->queued);
  if (self->queued > BASTION_EXPORT_HIGH_WATER)
    bastion_query_set_held (self->query, TRUE);
}

static void
on_batch (BastionExport      *self,
          BastionResultBatch *batch,
          BastionQuery       *query)
{
  take_buffer (self);
  self->n_rows = bastion_result_writer_get_n_rows (self->writer);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ROWS]);
  pump (self);
}

/* ::finished, not notify::state: the writer (connected first) ends the text on ::finished. */
static void
on_finished (BastionExport *self,
             BastionQuery  *query)
{
  take_buffer (self);
  self->query_done = TRUE;
  /* A failure shows from here on; rows still queued then go nowhere. */
  if (bastion_query_get_error (query) != NULL)
    fail (self, bastion_query_get_error (query));
  pump (self);
}

static void
on_query_run (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(BastionExport) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The outcome is seen on ::finished; this only collects the task. */
  if (!bastion_query_run_finish (BASTION_QUERY (object), result, &error))
    g_debug ("Export query ended: %s", error->message);
}

static void
start_query (BastionExport *self)
{
  if (bastion_database_get_busy (self->database))
    {
      fail_literal (self, G_IO_ERROR_BUSY,
                    _("Another query still runs on this connection. Export once it ends."));
      return;
    }

  self->query = bastion_query_new (self->database, self->sql);
  /* Streams every row to the file and keeps none: any size fits. */
  bastion_query_set_retain_rows (self->query, FALSE);
  self->buffer = g_memory_output_stream_new_resizable ();
  self->writer = bastion_result_writer_new (self->format, self->buffer);
  bastion_result_writer_follow (self->writer, self->query);
  g_signal_connect_object (self->query, "batch", G_CALLBACK (on_batch), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->query, "finished", G_CALLBACK (on_finished), self,
                           G_CONNECT_SWAPPED);
  bastion_query_run_async (self->query, NULL, on_query_run, g_object_ref (self));
}

static void
on_opened (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  BastionExport *self = BASTION_EXPORT (object);
  OpenData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self->error == NULL)
        self->error = g_steal_pointer (&error);
      complete (self);
      return;
    }

  self->stream = g_unix_output_stream_new (data->fd, TRUE);
  data->fd = -1;
  self->tmp_path = g_steal_pointer (&data->tmp_path);

  /* Cancelled while opening: the close discards the untouched file. */
  if (self->error == NULL)
    start_query (self);
  pump (self);
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  BastionExport *self = user_data;

  fail_literal (self, G_IO_ERROR_CANCELLED, _("The export was cancelled"));
  pump (self);

  return G_SOURCE_REMOVE;
}

void
bastion_export_run_async (BastionExport       *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *path = NULL;
  OpenData *data;

  g_return_if_fail (BASTION_IS_EXPORT (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_export_run_async);
  /* A cancel that came too late (the file was committed) does not hide the outcome. */
  g_task_set_check_cancellable (task, FALSE);

  path = g_file_get_path (self->file);
  if (path == NULL)
    {
      g_autofree char *name = g_file_get_parse_name (self->file);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("“%s” is not a local file: choose a file on this computer"),
                               name);
      return;
    }

  self->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      self->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->cancel_source, G_SOURCE_FUNC (on_cancelled), self, NULL);
      g_source_attach (self->cancel_source, g_main_context_get_thread_default ());
    }

  data = g_new0 (OpenData, 1);
  data->path = g_steal_pointer (&path);
  data->fd = -1;
  /* Not cancellable: a file that was created must reach on_opened() to be removed. */
  task = g_task_new (self, NULL, on_opened, NULL);
  g_task_set_source_tag (task, bastion_export_run_async);
  g_task_set_task_data (task, data, (GDestroyNotify) open_data_free);
  g_task_run_in_thread (task, open_thread);
}

gboolean
bastion_export_run_finish (BastionExport  *self,
                           GAsyncResult   *result,
                           GError        **error)
{
  g_return_val_if_fail (BASTION_IS_EXPORT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* GObject */

static void
bastion_export_finalize (GObject *object)
{
  BastionExport *self = BASTION_EXPORT (object);

  g_assert (self->task == NULL);
  g_assert (self->cancel_source == NULL);

  drop_chunks (self);
  g_clear_object (&self->database);
  g_free (self->sql);
  g_clear_object (&self->file);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->query);
  g_clear_object (&self->writer);
  g_clear_object (&self->buffer);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (bastion_export_parent_class)->finalize (object);
}

static void
bastion_export_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  BastionExport *self = BASTION_EXPORT (object);

  switch (prop_id)
    {
    case PROP_N_ROWS:
      g_value_set_uint64 (value, self->n_rows);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_export_class_init (BastionExportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_export_finalize;
  object_class->get_property = bastion_export_get_property;

  properties[PROP_N_ROWS] =
    g_param_spec_uint64 ("n-rows", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_export_init (BastionExport *self)
{
  g_queue_init (&self->chunks);
  self->cancellable = g_cancellable_new ();
}

BastionExport *
bastion_export_new (BastionDatabase     *database,
                    const char          *sql,
                    GFile               *file,
                    BastionResultFormat  format)
{
  BastionExport *self;

  g_return_val_if_fail (BASTION_IS_DATABASE (database), NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (BASTION_TYPE_EXPORT, NULL);
  self->database = g_object_ref (database);
  self->sql = g_strdup (sql);
  self->file = g_object_ref (file);
  self->format = format;

  return self;
}

GFile *
bastion_export_get_file (BastionExport *self)
{
  g_return_val_if_fail (BASTION_IS_EXPORT (self), NULL);
  return self->file;
}

guint64
bastion_export_get_n_rows (BastionExport *self)
{
  g_return_val_if_fail (BASTION_IS_EXPORT (self), 0);
  return self->n_rows;
}

gboolean
bastion_export_get_opened (BastionExport *self)
{
  g_return_val_if_fail (BASTION_IS_EXPORT (self), FALSE);
  return self->stream != NULL || self->closing;
}

gsize
bastion_export_get_peak_queued (BastionExport *self)
{
  g_return_val_if_fail (BASTION_IS_EXPORT (self), 0);
  return self->peak_queued;
}
