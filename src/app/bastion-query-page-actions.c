/* bastion-query-page-actions.c: running statements, the session's mode, the page's actions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-query-page-private.h"
#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

static void
fetch_more_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(BastionQueryPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_query_fetch_more_finish (BASTION_QUERY (object), result, &error))
    g_debug ("Fetching more ended: %s", error->message);
}

/* Runs now, or once the page's current query has ended (a paused one is cancelled: it holds
 * the connection). */
static void
start_or_queue (BastionQueryPage *self,
                const char       *sql,
                int               base)
{
  gboolean shared_busy = self->database != NULL && bastion_database_get_busy (self->database);

  if (_bastion_query_page_query_is_active (self->query) || shared_busy)
    {
      g_free (self->pending_sql);
      self->pending_sql = g_strdup (sql);
      self->pending_base = base;
      self->pending = PENDING_RUN;
      if (_bastion_query_page_query_is_active (self->query))
        bastion_query_cancel (self->query);
      else
        /* Another tab (or the sidebar) uses the shared connection: run when it is free. */
        _bastion_query_page_set_status (self, _("Waiting for the connection…"), FALSE);
      return;
    }

  _bastion_query_page_start_query (self, sql, base);
}

/* Starts what waits, once the connection is free. */
void
_bastion_query_page_start_pending (BastionQueryPage *self)
{
  PendingKind pending = self->pending;
  g_autofree char *sql = NULL;

  if (pending == PENDING_NONE || self->database == NULL
      || bastion_database_get_busy (self->database)
      || _bastion_query_page_query_is_active (self->query))
    return;

  sql = g_steal_pointer (&self->pending_sql);
  self->pending = PENDING_NONE;
  if (pending == PENDING_RUN)
    _bastion_query_page_start_query (self, sql, self->pending_base);
  else
    _bastion_query_page_start_export (self);
}

typedef struct
{
  BastionQueryPage *page;
  char             *sql;
  int               base;
} ConfirmData;

static void
confirm_data_free (gpointer  user_data,
                   GClosure *closure)
{
  ConfirmData *data = user_data;

  g_clear_object (&data->page);
  g_free (data->sql);
  g_free (data);
}

static void
on_confirm_response (AdwMessageDialog *dialog,
                     const char       *response,
                     ConfirmData      *data)
{
  if (g_strcmp0 (response, "run") == 0)
    start_or_queue (data->page, data->sql, data->base);
  else
    _bastion_query_page_set_status (data->page, _("Not run"), FALSE);
}

/* Asks before running @sql; "run" runs it (or queues it), anything else leaves it. */
static void
confirm (BastionQueryPage *self,
         const char       *sql,
         int               base,
         const char       *heading,
         const char       *body,
         const char       *run_label)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  ConfirmData *data = g_new0 (ConfirmData, 1);
  GtkWidget *dialog;

  data->page = g_object_ref (self);
  data->sql = g_strdup (sql);
  data->base = base;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "run", run_label,
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "run",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_confirm_response), data,
                         confirm_data_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ALTER ROLE, ALTER DATABASE … SET, ALTER SYSTEM: asked every time, whatever the preference
 * for ordinary writes says, since the change reaches every other session and tool. */
static void
confirm_settings (BastionQueryPage *self,
                  const char       *sql,
                  int               base,
                  const char       *statement)
{
  g_autofree char *preview = g_utf8_make_valid (sql, MIN (strlen (sql), 600));
  /* TRANSLATORS: %s is ALTER ROLE, ALTER DATABASE … SET or ALTER SYSTEM */
  g_autofree char *body = g_strdup_printf (_("This statement uses %s. It changes settings that "
                                             "every other session of that role or database gets "
                                             "from its next login on — other people’s, "
                                             "pgAdmin’s, DBeaver’s, psql’s and the application’s "
                                             "— not only this tab. A setting such as "
                                             "default_transaction_read_only = off there lets "
                                             "every later session write.\n\n%s"),
                                           statement, preview);

  confirm (self, sql, base, _("Change Settings for Every Session?"), body,
           _("_Change Settings"));
}

/* A statement that changes data, in a session that allows writes. */
static void
confirm_write (BastionQueryPage *self,
               const char       *sql,
               int               base,
               const char       *keyword)
{
  g_autofree char *preview = g_utf8_make_valid (sql, MIN (strlen (sql), 600));
  /* TRANSLATORS: %s is an SQL key word such as DELETE */
  g_autofree char *body = g_strdup_printf (_("This statement uses %s and writes are allowed in "
                                             "this session, so it may change or remove data for "
                                             "good.\n\n%s"),
                                           keyword, preview);

  confirm (self, sql, base, _("Change Data?"), body, _("_Run"));
}

void
_bastion_query_page_run_text (BastionQueryPage *self,
                              const char       *sql,
                              int               base)
{
  const char *keyword = NULL;
  const char *settings = NULL;
  g_autoptr(GArray) statements = sql != NULL ? bastion_sql_split (sql) : NULL;

  if (statements == NULL || statements->len == 0)
    {
      _bastion_query_page_set_status (self, _("Nothing to run: type a statement first."), FALSE);
      return;
    }

  if (self->database != NULL && !bastion_database_get_read_only (self->database))
    settings = bastion_sql_guard_changes_settings (sql);
  if (settings != NULL)
    {
      confirm_settings (self, sql, base, settings);
      return;
    }

  if (self->database != NULL && !bastion_database_get_read_only (self->database)
      && bastion_sql_changes_data (sql, &keyword)
      && _bastion_query_page_preference_boolean ("confirm-writes", TRUE))
    {
      confirm_write (self, sql, base, keyword);
      return;
    }

  start_or_queue (self, sql, base);
}

/* Actions */

static gsize
cursor_byte (const char        *text,
             const GtkTextIter *cursor)
{
  return g_utf8_offset_to_pointer (text, gtk_text_iter_get_offset (cursor)) - text;
}

static int
char_offset_of (const char *text,
                gsize       byte_offset)
{
  return (int) g_utf8_pointer_to_offset (text, text + byte_offset);
}

char *
bastion_query_page_dup_current_statement (BastionQueryPage *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end, cursor;
  g_autofree char *text = NULL;
  BastionSqlRange range;

  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);

  buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self));
  if (gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
  if (!bastion_sql_statement_at (text, cursor_byte (text, &cursor), &range))
    return NULL;
  return g_strndup (text + range.start, range.end - range.start);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (widget);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self));
  GtkTextIter start, end, cursor;
  g_autofree char *text = NULL;
  g_autofree char *sql = NULL;
  BastionSqlRange range;
  int base;

  if (gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    {
      sql = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      base = gtk_text_iter_get_offset (&start);
      _bastion_query_page_run_text (self, sql, base);
      return;
    }

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));

  if (g_strcmp0 (action_name, "query.run-all") == 0)
    {
      _bastion_query_page_run_text (self, text, 0);
      return;
    }

  if (!bastion_sql_statement_at (text, cursor_byte (text, &cursor), &range))
    {
      _bastion_query_page_set_status (self, _("Nothing to run: type a statement first."), FALSE);
      return;
    }

  sql = g_strndup (text + range.start, range.end - range.start);
  base = char_offset_of (text, range.start);
  _bastion_query_page_run_text (self, sql, base);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (widget);

  self->pending = PENDING_NONE;
  g_clear_pointer (&self->pending_sql, g_free);

  if (self->export_file != NULL)
    _bastion_query_page_export_cancel (self);
  else if (_bastion_query_page_query_is_active (self->query))
    {
      _bastion_query_page_set_status (self, _("Cancelling…"), FALSE);
      bastion_query_cancel (self->query);
    }
}

static void
fetch_more_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (widget);

  if (self->query == NULL || bastion_query_get_state (self->query) != BASTION_QUERY_STATE_PAUSED)
    return;

  bastion_query_fetch_more_async (self->query, NULL, fetch_more_cb, g_object_ref (self));
}

static void
transaction_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (widget);

  if (g_str_equal (action_name, "query.begin"))
    start_or_queue (self, "BEGIN", -1);
  else if (g_str_equal (action_name, "query.commit"))
    start_or_queue (self, "COMMIT", -1);
  else
    start_or_queue (self, "ROLLBACK", -1);
}

/* The session's mode */

void
_bastion_query_page_update_mode (BastionQueryPage *self)
{
  gboolean read_only = self->database == NULL || bastion_database_get_read_only (self->database);
  BastionTransactionStatus status = self->database != NULL
                                    ? bastion_database_get_transaction_status (self->database)
                                    : BASTION_TRANSACTION_IDLE;
  GtkWidget *label = GTK_WIDGET (self->transaction_label);

  self->syncing_switch = TRUE;
  gtk_switch_set_active (self->writes_switch, !read_only);
  self->syncing_switch = FALSE;

  if (read_only)
    {
      gtk_image_set_from_icon_name (self->mode_icon, "changes-prevent-symbolic");
      gtk_label_set_text (self->mode_label, _("Read-only"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->mode_label), "warning");
      gtk_widget_remove_css_class (GTK_WIDGET (self->mode_icon), "warning");
      gtk_widget_add_css_class (GTK_WIDGET (self->mode_label), "dim-label");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->mode_label),
                                   _("Statements that change data are refused by the server"));
    }
  else
    {
      gtk_image_set_from_icon_name (self->mode_icon, "dialog-warning-symbolic");
      gtk_label_set_text (self->mode_label, _("Writes Allowed"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->mode_label), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (self->mode_label), "warning");
      gtk_widget_add_css_class (GTK_WIDGET (self->mode_icon), "warning");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->mode_label),
                                   _("Statements that change data ask first, then run"));
    }

  gtk_widget_remove_css_class (label, "warning");
  gtk_widget_remove_css_class (label, "error");
  gtk_widget_remove_css_class (label, "dim-label");
  switch (status)
    {
    case BASTION_TRANSACTION_IN_BLOCK:
      gtk_label_set_text (self->transaction_label, _("In Transaction"));
      gtk_widget_add_css_class (label, "warning");
      break;
    case BASTION_TRANSACTION_FAILED:
      gtk_label_set_text (self->transaction_label, _("Transaction Failed: Roll Back"));
      gtk_widget_add_css_class (label, "error");
      break;
    case BASTION_TRANSACTION_ACTIVE:
      gtk_label_set_text (self->transaction_label, _("Running"));
      gtk_widget_add_css_class (label, "dim-label");
      break;
    case BASTION_TRANSACTION_IDLE:
    case BASTION_TRANSACTION_UNKNOWN:
    default:
      gtk_label_set_text (self->transaction_label, _("Autocommit"));
      gtk_widget_add_css_class (label, "dim-label");
      break;
    }

  gtk_widget_set_visible (self->transaction_box,
                          !read_only || status == BASTION_TRANSACTION_IN_BLOCK
                          || status == BASTION_TRANSACTION_FAILED);
  _bastion_query_page_update_actions (self);
}

static void
set_read_only_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(BastionQueryPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_database_set_read_only_finish (BASTION_DATABASE (object), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not change the session’s mode: %s"),
                                               error->message);

      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _bastion_query_page_set_status (self, text, TRUE);
    }
  else if (!bastion_database_get_read_only (BASTION_DATABASE (object)))
    _bastion_query_page_set_status (self, _("Writes are allowed in this session"), FALSE);
  else
    _bastion_query_page_set_status (self, _("The session is read-only again"), FALSE);

  _bastion_query_page_update_mode (self);
}

void
_bastion_query_page_on_writes_switch (BastionQueryPage *self,
                                      GParamSpec       *pspec,
                                      GtkSwitch        *widget)
{
  gboolean writes = gtk_switch_get_active (widget);

  if (self->syncing_switch || self->database == NULL)
    return;
  if (writes == !bastion_database_get_read_only (self->database))
    return;

  bastion_database_set_read_only_async (self->database, !writes, self->cancellable,
                                        set_read_only_cb, g_object_ref (self));
}

void
_bastion_query_page_update_actions (BastionQueryPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean connected = self->database != NULL && bastion_database_get_connected (self->database);
  gboolean active = _bastion_query_page_query_is_active (self->query) || self->export != NULL;
  gboolean read_only = self->database == NULL || bastion_database_get_read_only (self->database);
  BastionTransactionStatus status = self->database != NULL
                                    ? bastion_database_get_transaction_status (self->database)
                                    : BASTION_TRANSACTION_IDLE;
  gboolean has_rows = self->query != NULL && bastion_query_get_n_columns (self->query) > 0;

  gtk_widget_action_set_enabled (widget, "query.run", connected);
  gtk_widget_action_set_enabled (widget, "query.run-all", connected);
  gtk_widget_action_set_enabled (widget, "query.cancel", active);
  gtk_widget_action_set_enabled (widget, "query.fetch-more",
                                 self->query != NULL
                                 && bastion_query_get_state (self->query)
                                    == BASTION_QUERY_STATE_PAUSED);
  gtk_widget_action_set_enabled (widget, "query.export",
                                 connected && has_rows && self->export == NULL);
  gtk_widget_set_sensitive (self->export_button,
                            connected && has_rows && self->export == NULL);
  gtk_widget_action_set_enabled (widget, "query.begin",
                                 connected && !read_only && status == BASTION_TRANSACTION_IDLE);
  gtk_widget_action_set_enabled (widget, "query.commit",
                                 connected && status == BASTION_TRANSACTION_IN_BLOCK);
  gtk_widget_action_set_enabled (widget, "query.rollback",
                                 connected && (status == BASTION_TRANSACTION_IN_BLOCK
                                               || status == BASTION_TRANSACTION_FAILED));
  gtk_widget_set_sensitive (GTK_WIDGET (self->writes_switch), connected);
}

void
_bastion_query_page_on_database_changed (BastionQueryPage *self)
{
  _bastion_query_page_update_mode (self);
  _bastion_query_page_start_pending (self);
}

void
_bastion_query_page_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "query.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "query.run-all", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "query.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "query.fetch-more", NULL, fetch_more_action);
  gtk_widget_class_install_action (widget_class, "query.export", "s",
                                   _bastion_query_page_export_action);
  gtk_widget_class_install_action (widget_class, "query.begin", NULL, transaction_action);
  gtk_widget_class_install_action (widget_class, "query.commit", NULL, transaction_action);
  gtk_widget_class_install_action (widget_class, "query.rollback", NULL, transaction_action);
}
