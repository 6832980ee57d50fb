/* bastion-query-page-export.c: query.export, through the core's BastionExport
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-app-util.h"
#include "bastion-export-folder.h"
#include "bastion-query-page-private.h"
#include "bastion-sql-text.h"

/* Export */

gsize
_bastion_query_page_get_export_peak_queued (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), 0);

  return self->export != NULL ? bastion_export_get_peak_queued (self->export)
                              : self->export_peak_queued;
}

/* Forgets the export (one that ran has completed). */
void
_bastion_query_page_export_clear (BastionQueryPage *self)
{
  if (self->export != NULL)
    g_signal_handlers_disconnect_by_data (self->export, self);
  g_clear_object (&self->export);
  g_clear_object (&self->export_file);
  g_clear_object (&self->export_cancellable);
}

/* The status line for an export that ended, and the export forgotten. */
static void
export_report (BastionQueryPage *self,
               const GError     *error,
               gboolean          opened)
{
  g_autofree char *name = g_file_get_parse_name (self->export_file);
  g_autofree char *text = NULL;
  g_autoptr(GFile) file = g_object_ref (self->export_file);

  if (error != NULL && !opened)
    text = g_strdup_printf (_("Could not export: %s"), error->message);
  else if (error != NULL)
    /* TRANSLATORS: "Could not export to /home/me/result.csv: …" */
    text = g_strdup_printf (_("Could not export to %s: %s"), name, error->message);
  else
    {
      guint64 n_rows = bastion_export_get_n_rows (self->export);
      g_autofree char *rows = _bastion_query_page_format_rows (n_rows);

      /* TRANSLATORS: "Exported 1 000 000 rows to /home/me/result.csv" */
      text = g_strdup_printf (_("Exported %s to %s"), rows, name);
    }

  _bastion_query_page_export_clear (self);
  /* Disposed meanwhile: nobody to tell. */
  if (self->cancellable == NULL)
    return;

  _bastion_query_page_set_status (self, text, error != NULL);
  if (error == NULL)
    bastion_export_show_done (GTK_WIDGET (self), text, file);
  _bastion_query_page_set_running (self, FALSE);
  _bastion_query_page_update_actions (self);
}

static void
on_export_done (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(BastionQueryPage) self = user_data;
  BastionExport *export = BASTION_EXPORT (object);
  g_autoptr(GError) error = NULL;

  bastion_export_run_finish (export, result, &error);
  g_assert (export == self->export);
  self->export_peak_queued = bastion_export_get_peak_queued (export);
  export_report (self, error, bastion_export_get_opened (export));
}

static void
on_export_rows (BastionQueryPage *self,
                GParamSpec       *pspec,
                BastionExport    *export)
{
  g_autofree char *rows = _bastion_query_page_format_rows (bastion_export_get_n_rows (export));
  /* TRANSLATORS: "Exporting… 20 000 rows" */
  g_autofree char *text = g_strdup_printf (_("Exporting… %s"), rows);

  _bastion_query_page_set_status (self, text, FALSE);
}

/* Runs the last query again into the chosen file, through the core's pipeline (a temporary
 * file beside it, back-pressure, the rename only once every row is written). */
void
_bastion_query_page_start_export (BastionQueryPage *self)
{
  if (self->export_file == NULL || self->export != NULL || self->query == NULL)
    return;

  self->export = bastion_export_new (self->database, bastion_query_get_sql (self->query),
                                     self->export_file, self->export_format);
  g_signal_connect_object (self->export, "notify::n-rows", G_CALLBACK (on_export_rows), self,
                           G_CONNECT_SWAPPED);
  _bastion_query_page_set_status (self, _("Exporting…"), FALSE);
  _bastion_query_page_set_running (self, TRUE);
  bastion_export_run_async (self->export, self->export_cancellable, on_export_done,
                            g_object_ref (self));
  _bastion_query_page_update_actions (self);
}

/* Stops the export, or forgets one still waiting for the connection. */
void
_bastion_query_page_export_cancel (BastionQueryPage *self)
{
  if (self->export != NULL)
    g_cancellable_cancel (self->export_cancellable);
  else if (self->export_file != NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                     _("The export was cancelled"));

      export_report (self, error, TRUE);
    }
}

void
bastion_query_page_export_to_file (BastionQueryPage    *self,
                                   GFile               *file,
                                   BastionResultFormat  format)
{
  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->query == NULL || self->export_file != NULL)
    return;

  if (bastion_sql_changes_data (bastion_query_get_sql (self->query), NULL))
    {
      /* Exporting runs the statement again. */
      _bastion_query_page_set_status (self, _("Only a query that reads data can be exported: "
                                              "exporting runs it again."), TRUE);
      return;
    }

  self->export_format = format;
  g_set_object (&self->export_file, file);
  self->export_cancellable = g_cancellable_new ();
  _bastion_query_page_set_status (self, _("Exporting…"), FALSE);

  /* The page's own query holds the connection while it runs or is paused: it ends first. */
  if (_bastion_query_page_query_is_active (self->query)
      || bastion_database_get_busy (self->database))
    {
      self->pending = PENDING_EXPORT;
      if (_bastion_query_page_query_is_active (self->query))
        bastion_query_cancel (self->query);
      return;
    }
  _bastion_query_page_start_export (self);
}

static void
on_export_chosen (GtkWidget *owner,
                  GFile     *file,
                  int        format)
{
  bastion_query_page_export_to_file (BASTION_QUERY_PAGE (owner), file, format);
}

void
_bastion_query_page_export_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *param)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (widget);
  const char *format_name = g_variant_get_string (param, NULL);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;
  g_autoptr(GFile) folder = NULL;
  BastionResultFormat format = BASTION_RESULT_FORMAT_CSV;

  if (self->query == NULL || self->export != NULL)
    return;

  if (!bastion_result_format_parse (format_name, &format) || format != BASTION_RESULT_FORMAT_JSON)
    format = BASTION_RESULT_FORMAT_CSV;

  chooser = gtk_file_chooser_native_new (_("Export the Result"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  /* The tab's name, in Documents: where a person looks for it afterwards. */
  name = bastion_export_dup_default_name (self->title, format);
  folder = bastion_export_dup_default_folder ();
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  bastion_app_run_save_chooser (chooser, widget, format, on_export_chosen);
}
