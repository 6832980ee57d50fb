/* bastion-query-page.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-chart-view.h"
#include "bastion-explain-view.h"
#include "bastion-export.h"
#include "bastion-export-folder.h"
#include "bastion-query-page.h"
#include "bastion-result-writer.h"
#include "bastion-shortcuts.h"
#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

#define TITLE_MAX_CHARS 28

typedef enum
{
  PENDING_NONE,
  PENDING_RUN,
  PENDING_EXPORT,
} PendingKind;

struct _BastionQueryPage
{
  GtkWidget            parent_instance;

  /* Owned */
  BastionDatabase     *database;
  BastionQuery        *query;
  GCancellable        *cancellable;
  char                *title;
  char                *status_text;
  GtkTextTag          *error_tag;
  guint                tick_id;
  gulong               read_only_id;
  gulong               busy_id;
  gulong               transaction_id;
  gulong               connected_id;

  /* A statement (or an export) waiting for the running or paused query to end. */
  PendingKind          pending;
  char                *pending_sql;
  int                  pending_base;

  /* An export: export_file is set from the request until it ended (it may wait for the
   * connection), export only while it runs (the pipeline is the core's BastionExport). */
  BastionExport       *export;
  GFile               *export_file;
  GCancellable        *export_cancellable;
  BastionResultFormat  export_format;
  gsize                export_peak_queued;

  /* Where the running statement starts in the buffer (characters), -1 when not from it. */
  int                  run_base;

  /* Template widgets */
  GtkWidget           *box;
  GtkSourceView       *source_view;
  GtkStack            *result_stack;
  BastionResultGrid   *grid;
  AdwStatusPage       *message_page;
  GtkTextView         *plan_view;
  GtkLabel            *status_label;
  GtkSpinner          *spinner;
  GtkWidget           *fetch_more_button;
  GtkWidget           *export_button;
  GtkWidget           *transaction_box;
  GtkLabel            *transaction_label;
  GtkImage            *mode_icon;
  GtkLabel            *mode_label;
  GtkSwitch           *writes_switch;
  BastionChartView    *chart_view;
  GtkToggleButton     *chart_button;
  BastionExplainView  *explain_view;
  GtkExpander         *plan_expander;
  GtkPaned            *paned;

  guint                syncing_switch : 1;
  guint                running : 1;
  guint                run_when_connected : 1;
  guint                fixed_title : 1;
};

G_DEFINE_FINAL_TYPE (BastionQueryPage, bastion_query_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DATABASE,
  PROP_TITLE,
  PROP_RUNNING,
  PROP_STATUS_TEXT,
  N_PROPS
};

enum {
  EXECUTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_query      (BastionQueryPage *self,
                              const char       *sql,
                              int               base);
static void start_export     (BastionQueryPage *self);
static void start_pending    (BastionQueryPage *self);
static void update_actions   (BastionQueryPage *self);

/* Formatting */

static char *
format_elapsed (gint64 usec)
{
  if (usec < 1000 * 1000)
    /* TRANSLATORS: a duration in milliseconds */
    return g_strdup_printf (_("%d ms"), (int) (usec / 1000));
  /* TRANSLATORS: a duration in seconds */
  return g_strdup_printf (_("%.1f s"), usec / 1e6);
}

static char *
format_rows (guint64 n)
{
  /* The ' flag groups the digits the locale's way. */
  g_autofree char *number = g_strdup_printf ("%'" G_GUINT64_FORMAT, n);

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s row", "%s rows", n), number);
}

static void
set_status (BastionQueryPage *self,
            const char       *text,
            gboolean          is_error)
{
  if (g_strcmp0 (self->status_text, text) != 0)
    {
      g_free (self->status_text);
      self->status_text = g_strdup (text);
      gtk_label_set_text (self->status_label, text);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TEXT]);
    }

  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
}

static void
set_title_from_sql (BastionQueryPage *self,
                    const char       *sql)
{
  g_autofree char *line = NULL;
  g_autofree char *title = NULL;
  const char *nl;

  /* A named view ("Devices") keeps its name. */
  if (self->fixed_title)
    return;

  while (*sql != '\0' && g_ascii_isspace (*sql))
    sql++;
  nl = strchr (sql, '\n');
  line = nl != NULL ? g_strndup (sql, nl - sql) : g_strdup (sql);
  g_strstrip (line);
  if (!g_utf8_validate (line, -1, NULL) || *line == '\0')
    return;

  if (g_utf8_strlen (line, -1) > TITLE_MAX_CHARS)
    {
      char *end = g_utf8_offset_to_pointer (line, TITLE_MAX_CHARS);

      *end = '\0';
      title = g_strconcat (g_strchomp (line), "…", NULL);
    }
  else
    title = g_strdup (line);

  if (g_strcmp0 (self->title, title) != 0)
    {
      g_free (self->title);
      self->title = g_steal_pointer (&title);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
}

static void
set_running (BastionQueryPage *self,
             gboolean          running)
{
  running = !!running;
  if (self->running == running)
    return;

  self->running = running;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), running);
  gtk_spinner_set_spinning (self->spinner, running);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* The editor */

static void
update_style_scheme (BastionQueryPage *self)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  GtkSourceBuffer *buffer = bastion_query_page_get_buffer (self);
  const char *id = adw_style_manager_get_dark (manager) ? "Adwaita-dark" : "Adwaita";
  GtkSourceStyleScheme *scheme = gtk_source_style_scheme_manager_get_scheme (schemes, id);

  if (scheme == NULL)
    scheme = gtk_source_style_scheme_manager_get_scheme (schemes,
                                                         adw_style_manager_get_dark (manager)
                                                         ? "classic-dark" : "classic");
  gtk_source_buffer_set_style_scheme (buffer, scheme);
}

static void
clear_error_mark (BastionQueryPage *self)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_remove_tag (buffer, self->error_tag, &start, &end);
}

/* Marks the word at the server's error position (1-based characters in the text sent). */
static void
mark_error (BastionQueryPage *self,
            guint             position)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self));
  GtkTextIter start, end;

  if (position == 0 || self->run_base < 0)
    return;

  gtk_text_buffer_get_iter_at_offset (buffer, &start, self->run_base + (int) position - 1);
  end = start;
  if (g_unichar_isalnum (gtk_text_iter_get_char (&end)) || gtk_text_iter_get_char (&end) == '_')
    {
      while (!gtk_text_iter_is_end (&end)
             && (g_unichar_isalnum (gtk_text_iter_get_char (&end))
                 || gtk_text_iter_get_char (&end) == '_'))
        gtk_text_iter_forward_char (&end);
    }
  else
    gtk_text_iter_forward_char (&end);

  if (gtk_text_iter_equal (&start, &end))
    {
      /* At the very end ("unexpected end of input"): mark the character before. */
      gtk_text_iter_backward_char (&start);
    }

  gtk_text_buffer_apply_tag (buffer, self->error_tag, &start, &end);
  gtk_text_buffer_place_cursor (buffer, &start);
  gtk_text_view_scroll_to_iter (GTK_TEXT_VIEW (self->source_view), &start, 0.1, FALSE, 0, 0);
}

static void
on_buffer_changed (BastionQueryPage *self,
                   GtkTextBuffer    *buffer)
{
  clear_error_mark (self);
  /* The marked position no longer matches the text. */
  self->run_base = -1;
}

/* Query progress */

/* The rows: as the grid, or as a chart when the Chart button is down. */
static void
show_rows (BastionQueryPage *self)
{
  if (gtk_toggle_button_get_active (self->chart_button) && self->query != NULL)
    {
      bastion_chart_view_set_model (self->chart_view, bastion_query_get_model (self->query));
      gtk_stack_set_visible_child_name (self->result_stack, "chart");
    }
  else
    gtk_stack_set_visible_child_name (self->result_stack, "grid");
}

static void
on_chart_toggled (BastionQueryPage *self)
{
  const char *kind = gtk_stack_get_visible_child_name (self->result_stack);

  if (g_strcmp0 (kind, "grid") == 0 || g_strcmp0 (kind, "chart") == 0)
    show_rows (self);
}

static gboolean
result_is_plan (BastionQuery *query)
{
  const char * const *names = bastion_query_get_column_names (query);

  return bastion_query_get_n_columns (query) == 1 && names != NULL
         && g_strcmp0 (names[0], "QUERY PLAN") == 0;
}

static void
show_plan (BastionQueryPage *self)
{
  BastionResultModel *model = bastion_query_get_model (self->query);
  guint n = bastion_result_model_get_n_rows (model);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      const char *line = bastion_result_model_get_value (model, i, 0, NULL, NULL);

      g_string_append (text, line != NULL ? line : "");
      g_string_append_c (text, '\n');
    }
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->plan_view), text->str, -1);
  /* EXPLAIN (FORMAT JSON) as a tree; any other plan as the text it is. */
  {
    gboolean tree = bastion_explain_view_set_json (self->explain_view, text->str, text->len,
                                                   NULL);

    gtk_widget_set_visible (GTK_WIDGET (self->explain_view), tree);
    gtk_expander_set_expanded (self->plan_expander, !tree);
  }
  gtk_stack_set_visible_child_name (self->result_stack, "plan");
}

static void
show_error (BastionQueryPage *self,
            const GError     *error)
{
  BastionQuery *query = self->query;
  const char *detail = bastion_query_get_error_detail (query);
  const char *hint = bastion_query_get_error_hint (query);
  const char *sqlstate = bastion_query_get_sqlstate (query);
  g_autoptr(GString) description = g_string_new (NULL);
  g_autofree char *escaped = g_markup_escape_text (error->message, -1);
  g_autofree char *status = NULL;

  g_string_append (description, escaped);
  if (detail != NULL && *detail != '\0')
    {
      g_autofree char *e = g_markup_escape_text (detail, -1);

      g_string_append_printf (description, "\n%s", e);
    }
  if (hint != NULL && *hint != '\0')
    {
      g_autofree char *e = g_markup_escape_text (hint, -1);

      /* TRANSLATORS: the server's hint on how to fix an error */
      g_string_append_printf (description, "\n%s %s", _("Hint:"), e);
    }

  if (g_error_matches (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY))
    {
      adw_status_page_set_icon_name (self->message_page, "changes-prevent-symbolic");
      adw_status_page_set_title (self->message_page, _("The Session Is Read-Only"));
      g_string_append_printf (description, "\n%s",
                              _("Turn on “Allow Writes” to run statements that change data."));
    }
  else
    {
      adw_status_page_set_icon_name (self->message_page, "dialog-error-symbolic");
      adw_status_page_set_title (self->message_page, _("The Query Failed"));
    }
  adw_status_page_set_description (self->message_page, description->str);
  gtk_stack_set_visible_child_name (self->result_stack, "message");

  if (sqlstate != NULL)
    /* TRANSLATORS: "ERROR 42601: syntax error at or near …" */
    status = g_strdup_printf (_("ERROR %s: %s"), sqlstate, error->message);
  else
    status = g_strdup (error->message);
  set_status (self, status, TRUE);

  mark_error (self, bastion_query_get_error_position (query));
}

static void
update_status (BastionQueryPage *self)
{
  BastionQuery *query = self->query;
  g_autofree char *rows = NULL;
  g_autofree char *elapsed = NULL;
  g_autofree char *text = NULL;

  if (query == NULL)
    return;

  rows = format_rows (bastion_query_get_n_rows (query));
  elapsed = format_elapsed (bastion_query_get_elapsed_usec (query));

  switch (bastion_query_get_state (query))
    {
    case BASTION_QUERY_STATE_NEW:
    case BASTION_QUERY_STATE_RUNNING:
      /* TRANSLATORS: the status line while a query runs: "Running… 1 000 rows · 1.2 s" */
      text = g_strdup_printf (_("Running… %s · %s"), rows, elapsed);
      set_status (self, text, FALSE);
      break;

    case BASTION_QUERY_STATE_PAUSED:
      /* TRANSLATORS: the row cap was reached: "100 000 rows · 2.1 s · more available" */
      text = g_strdup_printf (_("%s · %s · more available"), rows, elapsed);
      set_status (self, text, FALSE);
      break;

    case BASTION_QUERY_STATE_FINISHED:
      {
        const GError *error = bastion_query_get_error (query);

        if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
          {
            /* TRANSLATORS: "Cancelled · 1 000 rows · 0.4 s" */
            text = g_strdup_printf (_("Cancelled · %s · %s"), rows, elapsed);
            set_status (self, text, FALSE);
          }
        else if (error != NULL)
          show_error (self, error);
        else if (bastion_query_get_n_columns (query) == 0)
          {
            const char *command = bastion_query_get_command_status (query);

            text = g_strdup_printf ("%s · %s", command != NULL && *command ? command : _("Done"),
                                    elapsed);
            set_status (self, text, FALSE);
          }
        else
          {
            text = g_strdup_printf ("%s · %s", rows, elapsed);
            set_status (self, text, FALSE);
          }
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static gboolean
tick_cb (gpointer user_data)
{
  BastionQueryPage *self = user_data;

  update_status (self);
  return G_SOURCE_CONTINUE;
}

static void
on_columns_changed (BastionQueryPage *self,
                    BastionQuery     *query)
{
  if (query != self->query)
    return;
  if (!result_is_plan (query))
    show_rows (self);
}

static void
on_n_rows (BastionQueryPage *self,
           GParamSpec       *pspec,
           BastionQuery     *query)
{
  if (query == self->query)
    update_status (self);
}

static void
query_ended (BastionQueryPage *self)
{
  BastionQuery *query = self->query;
  const GError *error = bastion_query_get_error (query);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  set_running (self, FALSE);

  if (error == NULL)
    {
      if (result_is_plan (query))
        show_plan (self);
      else if (bastion_query_get_n_columns (query) == 0)
        {
          const char *command = bastion_query_get_command_status (query);

          adw_status_page_set_icon_name (self->message_page, "emblem-ok-symbolic");
          adw_status_page_set_title (self->message_page,
                                     command != NULL && *command ? command : _("Done"));
          adw_status_page_set_description (self->message_page, NULL);
          gtk_stack_set_visible_child_name (self->result_stack, "message");
        }
      else
        show_rows (self);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           && bastion_query_get_n_columns (query) == 0)
    {
      adw_status_page_set_icon_name (self->message_page, "process-stop-symbolic");
      adw_status_page_set_title (self->message_page, _("Cancelled"));
      adw_status_page_set_description (self->message_page,
                                       _("The server stopped the statement."));
      gtk_stack_set_visible_child_name (self->result_stack, "message");
    }

  update_status (self);
}

static void
on_state (BastionQueryPage *self,
          GParamSpec       *pspec,
          BastionQuery     *query)
{
  BastionQueryState state = bastion_query_get_state (query);

  if (query == self->query)
    {
      gtk_widget_set_visible (self->fetch_more_button, state == BASTION_QUERY_STATE_PAUSED);

      if (state == BASTION_QUERY_STATE_PAUSED)
        {
          g_clear_handle_id (&self->tick_id, g_source_remove);
          set_running (self, FALSE);
          update_status (self);
        }
      else if (state == BASTION_QUERY_STATE_RUNNING)
        {
          set_running (self, TRUE);
          if (self->tick_id == 0)
            self->tick_id = g_timeout_add (200, tick_cb, self);
        }
      else if (state == BASTION_QUERY_STATE_FINISHED)
        query_ended (self);
    }

  if (state == BASTION_QUERY_STATE_FINISHED)
    start_pending (self);

  update_actions (self);
}

static void
run_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(BastionQueryPage) self = user_data;
  g_autoptr(GError) error = NULL;

  /* The outcome is shown from the query's state; this only collects the task. */
  if (!bastion_query_run_finish (BASTION_QUERY (object), result, &error))
    g_debug ("Query ended: %s", error->message);
}

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

/* The user's preferences (Preferences window); the defaults when the schema is not installed. */
static GSettings *
preferences (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);

  return schema != NULL ? g_settings_new (APP_ID) : NULL;
}

static guint
preference_uint (const char *key,
                 guint       fallback)
{
  g_autoptr(GSettings) settings = preferences ();

  return settings != NULL ? g_settings_get_uint (settings, key) : fallback;
}

static gboolean
preference_boolean (const char *key,
                    gboolean    fallback)
{
  g_autoptr(GSettings) settings = preferences ();

  return settings != NULL ? g_settings_get_boolean (settings, key) : fallback;
}

static gboolean
query_is_active (BastionQuery *query)
{
  return query != NULL
         && (bastion_query_get_state (query) == BASTION_QUERY_STATE_RUNNING
             || bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED);
}

static void
start_query (BastionQueryPage *self,
             const char       *sql,
             int               base)
{
  g_autoptr(BastionQuery) query = NULL;

  if (self->database == NULL || !bastion_database_get_connected (self->database))
    {
      set_status (self, _("Not connected to the database. Connect again, then run the query."),
                  TRUE);
      return;
    }
  if (bastion_database_get_busy (self->database))
    {
      set_status (self, _("Another query still runs on this connection. Cancel it or wait until "
                          "it ends, then run this one."), TRUE);
      return;
    }

  clear_error_mark (self);
  self->run_base = base;

  if (self->query != NULL)
    g_signal_handlers_disconnect_by_data (self->query, self);

  query = bastion_query_new (self->database, sql);
  bastion_query_set_max_rows (query, preference_uint ("row-cap", BASTION_QUERY_DEFAULT_MAX_ROWS));
  g_set_object (&self->query, query);

  g_signal_connect_object (query, "columns-changed", G_CALLBACK (on_columns_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (query, "notify::n-rows", G_CALLBACK (on_n_rows), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (query, "notify::state", G_CALLBACK (on_state), self,
                           G_CONNECT_SWAPPED);

  bastion_result_grid_set_model (self->grid, bastion_query_get_model (query));
  set_title_from_sql (self, sql);
  set_status (self, _("Running…"), FALSE);
  set_running (self, TRUE);
  gtk_widget_set_visible (self->fetch_more_button, FALSE);
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add (200, tick_cb, self);

  g_signal_emit (self, signals[EXECUTED], 0, sql);

  bastion_query_run_async (query, NULL, run_cb, g_object_ref (self));
  update_actions (self);
}

/* Runs now, or once the page's current query has ended (a paused one is cancelled: it holds
 * the connection). */
static void
start_or_queue (BastionQueryPage *self,
                const char       *sql,
                int               base)
{
  gboolean shared_busy = self->database != NULL && bastion_database_get_busy (self->database);

  if (query_is_active (self->query) || shared_busy)
    {
      g_free (self->pending_sql);
      self->pending_sql = g_strdup (sql);
      self->pending_base = base;
      self->pending = PENDING_RUN;
      if (query_is_active (self->query))
        bastion_query_cancel (self->query);
      else
        /* Another tab (or the sidebar) uses the shared connection: run when it is free. */
        set_status (self, _("Waiting for the connection…"), FALSE);
      return;
    }

  start_query (self, sql, base);
}

/* Starts what waits, once the connection is free. */
static void
start_pending (BastionQueryPage *self)
{
  PendingKind pending = self->pending;
  g_autofree char *sql = NULL;

  if (pending == PENDING_NONE || self->database == NULL
      || bastion_database_get_busy (self->database) || query_is_active (self->query))
    return;

  sql = g_steal_pointer (&self->pending_sql);
  self->pending = PENDING_NONE;
  if (pending == PENDING_RUN)
    start_query (self, sql, self->pending_base);
  else
    start_export (self);
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
    set_status (data->page, _("Not run"), FALSE);
}

/* ALTER ROLE, ALTER DATABASE … SET, ALTER SYSTEM: asked every time, whatever the preference
 * for ordinary writes says, since the change reaches every other session and tool. */
static void
confirm_settings (BastionQueryPage *self,
                  const char       *sql,
                  int               base,
                  const char       *statement)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  ConfirmData *data = g_new0 (ConfirmData, 1);
  g_autofree char *preview = g_utf8_make_valid (sql, MIN (strlen (sql), 600));
  GtkWidget *dialog;

  data->page = g_object_ref (self);
  data->sql = g_strdup (sql);
  data->base = base;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Change Settings for Every Session?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  /* TRANSLATORS: %s is ALTER ROLE, ALTER DATABASE … SET or
                                   * ALTER SYSTEM */
                                  _("This statement uses %s. It changes settings that every "
                                    "other session of that role or database gets from its next "
                                    "login on — other people’s, pgAdmin’s, DBeaver’s, psql’s and "
                                    "the application’s — not only this tab. A setting such as "
                                    "default_transaction_read_only = off there lets every later "
                                    "session write.\n\n%s"),
                                  statement, preview);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "run", _("_Change Settings"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "run",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_confirm_response), data,
                         confirm_data_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
run_text (BastionQueryPage *self,
          const char       *sql,
          int               base)
{
  const char *keyword = NULL;
  const char *settings = NULL;
  g_autoptr(GArray) statements = sql != NULL ? bastion_sql_split (sql) : NULL;

  if (statements == NULL || statements->len == 0)
    {
      set_status (self, _("Nothing to run: type a statement first."), FALSE);
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
      && preference_boolean ("confirm-writes", TRUE))
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
      GtkWidget *dialog;
      ConfirmData *data = g_new0 (ConfirmData, 1);
      g_autofree char *preview = g_utf8_make_valid (sql, MIN (strlen (sql), 600));

      data->page = g_object_ref (self);
      data->sql = g_strdup (sql);
      data->base = base;

      dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                       _("Change Data?"), NULL);
      adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                      /* TRANSLATORS: %s is an SQL key word such as DELETE */
                                      _("This statement uses %s and writes are allowed in this "
                                        "session, so it may change or remove data for good.\n\n%s"),
                                      keyword, preview);
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Cancel"),
                                        "run", _("_Run"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "run",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_signal_connect_data (dialog, "response", G_CALLBACK (on_confirm_response), data,
                             confirm_data_free, 0);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }

  start_or_queue (self, sql, base);
}

/* Export */

gsize
bastion_query_page_get_export_peak_queued (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), 0);

  return self->export != NULL ? bastion_export_get_peak_queued (self->export)
                              : self->export_peak_queued;
}

/* Forgets the export (one that ran has completed). */
static void
export_clear (BastionQueryPage *self)
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
      g_autofree char *rows = format_rows (bastion_export_get_n_rows (self->export));

      /* TRANSLATORS: "Exported 1 000 000 rows to /home/me/result.csv" */
      text = g_strdup_printf (_("Exported %s to %s"), rows, name);
    }

  export_clear (self);
  /* Disposed meanwhile: nobody to tell. */
  if (self->cancellable == NULL)
    return;

  set_status (self, text, error != NULL);
  if (error == NULL)
    bastion_export_show_done (GTK_WIDGET (self), text, file);
  set_running (self, FALSE);
  update_actions (self);
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
  g_autofree char *rows = format_rows (bastion_export_get_n_rows (export));
  /* TRANSLATORS: "Exporting… 20 000 rows" */
  g_autofree char *text = g_strdup_printf (_("Exporting… %s"), rows);

  set_status (self, text, FALSE);
}

/* Runs the last query again into the chosen file, through the core's pipeline (a temporary
 * file beside it, back-pressure, the rename only once every row is written). */
static void
start_export (BastionQueryPage *self)
{
  if (self->export_file == NULL || self->export != NULL || self->query == NULL)
    return;

  self->export = bastion_export_new (self->database, bastion_query_get_sql (self->query),
                                     self->export_file, self->export_format);
  g_signal_connect_object (self->export, "notify::n-rows", G_CALLBACK (on_export_rows), self,
                           G_CONNECT_SWAPPED);
  set_status (self, _("Exporting…"), FALSE);
  set_running (self, TRUE);
  bastion_export_run_async (self->export, self->export_cancellable, on_export_done,
                            g_object_ref (self));
  update_actions (self);
}

/* Stops the export, or forgets one still waiting for the connection. */
static void
export_cancel (BastionQueryPage *self)
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
      set_status (self, _("Only a query that reads data can be exported: exporting runs it "
                          "again."), TRUE);
      return;
    }

  self->export_format = format;
  g_set_object (&self->export_file, file);
  self->export_cancellable = g_cancellable_new ();
  set_status (self, _("Exporting…"), FALSE);

  /* The page's own query holds the connection while it runs or is paused: it ends first. */
  if (query_is_active (self->query) || bastion_database_get_busy (self->database))
    {
      self->pending = PENDING_EXPORT;
      if (query_is_active (self->query))
        bastion_query_cancel (self->query);
      return;
    }
  start_export (self);
}

static void
on_export_chosen (GtkNativeDialog  *chooser,
                  int               response,
                  BastionQueryPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      int format = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (chooser), "bastion-format"));

      bastion_query_page_export_to_file (self, file, format);
    }
  g_object_unref (chooser);
}

static void
export_action (GtkWidget  *widget,
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
  g_object_set_data (G_OBJECT (chooser), "bastion-format", GINT_TO_POINTER (format));
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
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
      run_text (self, sql, base);
      return;
    }

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));

  if (g_strcmp0 (action_name, "query.run-all") == 0)
    {
      run_text (self, text, 0);
      return;
    }

  if (!bastion_sql_statement_at (text, cursor_byte (text, &cursor), &range))
    {
      set_status (self, _("Nothing to run: type a statement first."), FALSE);
      return;
    }

  sql = g_strndup (text + range.start, range.end - range.start);
  base = char_offset_of (text, range.start);
  run_text (self, sql, base);
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
    export_cancel (self);
  else if (query_is_active (self->query))
    {
      set_status (self, _("Cancelling…"), FALSE);
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

static void
update_mode (BastionQueryPage *self)
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
  update_actions (self);
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
        set_status (self, text, TRUE);
    }
  else if (!bastion_database_get_read_only (BASTION_DATABASE (object)))
    set_status (self, _("Writes are allowed in this session"), FALSE);
  else
    set_status (self, _("The session is read-only again"), FALSE);

  update_mode (self);
}

static void
on_writes_switch (BastionQueryPage *self,
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

static void
update_actions (BastionQueryPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean connected = self->database != NULL && bastion_database_get_connected (self->database);
  gboolean active = query_is_active (self->query) || self->export != NULL;
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

static void
on_database_changed (BastionQueryPage *self)
{
  update_mode (self);
  start_pending (self);
}

/* GObject */

static void
bastion_query_page_dispose (GObject *object)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);

  /* A paused query holds the connection: let it go. */
  if (query_is_active (self->query))
    bastion_query_cancel (self->query);
  if (self->query != NULL)
    g_signal_handlers_disconnect_by_data (self->query, self);
  /* A running export discards its temporary file and then reports to nobody. */
  if (self->export != NULL)
    g_cancellable_cancel (self->export_cancellable);
  else
    export_clear (self);

  bastion_query_page_set_database (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_QUERY_PAGE);

  g_clear_object (&self->query);
  /* An export keeps its state until its callbacks ran (they hold a reference and clear it). */
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (bastion_query_page_parent_class)->dispose (object);
}

static void
bastion_query_page_finalize (GObject *object)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (object);

  export_clear (self);
  g_free (self->title);
  g_free (self->status_text);
  g_free (self->pending_sql);

  G_OBJECT_CLASS (bastion_query_page_parent_class)->finalize (object);
}

static void
bastion_query_page_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      g_value_set_object (value, self->database);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_STATUS_TEXT:
      g_value_set_string (value, self->status_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_page_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      bastion_query_page_set_database (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_page_class_init (BastionQueryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_query_page_dispose;
  object_class->finalize = bastion_query_page_finalize;
  object_class->get_property = bastion_query_page_get_property;
  object_class->set_property = bastion_query_page_set_property;

  properties[PROP_DATABASE] =
    g_param_spec_object ("database", NULL, NULL, BASTION_TYPE_DATABASE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATUS_TEXT] =
    g_param_spec_string ("status-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A statement was sent to the server (for the history). */
  signals[EXECUTED] =
    g_signal_new ("executed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  g_type_ensure (BASTION_TYPE_RESULT_GRID);
  g_type_ensure (BASTION_TYPE_CHART_VIEW);
  g_type_ensure (BASTION_TYPE_EXPLAIN_VIEW);
  g_type_ensure (GTK_SOURCE_TYPE_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/bastiongtk/Bastion/"
                                                             "bastion-query-page.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, box);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, source_view);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, result_stack);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, grid);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, message_page);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, plan_view);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, fetch_more_button);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, export_button);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, transaction_box);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, transaction_label);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, mode_icon);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, mode_label);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, writes_switch);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, chart_view);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, chart_button);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, explain_view);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, plan_expander);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryPage, paned);

  gtk_widget_class_install_action (widget_class, "query.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "query.run-all", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "query.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "query.fetch-more", NULL, fetch_more_action);
  gtk_widget_class_install_action (widget_class, "query.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "query.begin", NULL, transaction_action);
  gtk_widget_class_install_action (widget_class, "query.commit", NULL, transaction_action);
  gtk_widget_class_install_action (widget_class, "query.rollback", NULL, transaction_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

/* The editor/result split is the user's, remembered for every tab (GSettings editor-height). */
static void
bind_split (BastionQueryPage *self)
{
  g_autoptr(GSettings) settings = preferences ();

  if (settings != NULL)
    g_settings_bind (settings, "editor-height", self->paned, "position", G_SETTINGS_BIND_DEFAULT);
}

static void
bastion_query_page_init (BastionQueryPage *self)
{
  GtkSourceLanguageManager *languages;
  GtkSourceBuffer *buffer;
  GtkEventController *shortcuts;

  gtk_source_init ();
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->title = g_strdup (_("Query"));
  self->run_base = -1;

  buffer = bastion_query_page_get_buffer (self);
  languages = gtk_source_language_manager_get_default ();
  gtk_source_buffer_set_language (buffer, gtk_source_language_manager_get_language (languages,
                                                                                    "sql"));
  gtk_source_buffer_set_highlight_syntax (buffer, TRUE);
  self->error_tag = gtk_text_buffer_create_tag (GTK_TEXT_BUFFER (buffer), "bastion-error",
                                                "underline", PANGO_UNDERLINE_ERROR,
                                                "background", "rgba(224,27,36,0.25)",
                                                NULL);
  g_signal_connect_object (buffer, "changed", G_CALLBACK (on_buffer_changed), self,
                           G_CONNECT_SWAPPED);

  update_style_scheme (self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_style_scheme), self, G_CONNECT_SWAPPED);

  g_signal_connect_object (self->writes_switch, "notify::active", G_CALLBACK (on_writes_switch),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->chart_button, "toggled", G_CALLBACK (on_chart_toggled), self,
                           G_CONNECT_SWAPPED);

  /* Capture phase: the editor would otherwise take Ctrl+Enter as a line break. */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  bastion_shortcuts_add_to_controller (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                       BASTION_SHORTCUT_QUERY_PAGE);
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

  gtk_stack_set_visible_child_name (self->result_stack, "empty");
  update_mode (self);
  bind_split (self);
}

BastionQueryPage *
bastion_query_page_new (BastionDatabase *database)
{
  g_return_val_if_fail (database == NULL || BASTION_IS_DATABASE (database), NULL);

  return g_object_new (BASTION_TYPE_QUERY_PAGE, "database", database, NULL);
}

BastionDatabase *
bastion_query_page_get_database (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->database;
}

void
bastion_query_page_set_database (BastionQueryPage *self,
                                 BastionDatabase  *database)
{
  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  g_return_if_fail (database == NULL || BASTION_IS_DATABASE (database));

  if (self->database == database)
    return;

  if (self->database != NULL)
    {
      g_clear_signal_handler (&self->read_only_id, self->database);
      g_clear_signal_handler (&self->busy_id, self->database);
      g_clear_signal_handler (&self->transaction_id, self->database);
      g_clear_signal_handler (&self->connected_id, self->database);
    }

  g_set_object (&self->database, database);

  if (database != NULL)
    {
      self->read_only_id = g_signal_connect_swapped (database, "notify::read-only",
                                                     G_CALLBACK (on_database_changed), self);
      self->busy_id = g_signal_connect_swapped (database, "notify::busy",
                                                G_CALLBACK (on_database_changed), self);
      self->transaction_id = g_signal_connect_swapped (database, "notify::transaction-status",
                                                       G_CALLBACK (on_database_changed), self);
      self->connected_id = g_signal_connect_swapped (database, "notify::connected",
                                                     G_CALLBACK (on_database_changed), self);
    }

  if (self->writes_switch != NULL)
    update_mode (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATABASE]);

  /* A view opened (Devices, say) before its tab's own login finished runs now. */
  if (database != NULL && self->run_when_connected)
    {
      g_autofree char *sql = NULL;
      GtkTextIter start, end;

      self->run_when_connected = FALSE;
      gtk_text_buffer_get_bounds (GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self)),
                                  &start, &end);
      sql = gtk_text_iter_get_text (&start, &end);
      run_text (self, sql, 0);
    }
}

void
bastion_query_page_run_sql_when_connected (BastionQueryPage *self,
                                           const char       *sql)
{
  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  g_return_if_fail (sql != NULL);

  if (self->database != NULL)
    {
      bastion_query_page_run_sql (self, sql);
      return;
    }

  bastion_query_page_set_sql (self, sql);
  self->run_when_connected = TRUE;
}

GtkSourceBuffer *
bastion_query_page_get_buffer (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->source_view)));
}

GtkSourceView *
bastion_query_page_get_source_view (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->source_view;
}

BastionResultGrid *
bastion_query_page_get_grid (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->grid;
}

BastionQuery *
bastion_query_page_get_query (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->query;
}

const char *
bastion_query_page_get_title (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->title;
}

void
bastion_query_page_set_title (BastionQueryPage *self,
                              const char       *title)
{
  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  g_return_if_fail (title != NULL);

  self->fixed_title = TRUE;
  if (g_strcmp0 (self->title, title) != 0)
    {
      g_free (self->title);
      self->title = g_strdup (title);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
}

gboolean
bastion_query_page_get_running (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), FALSE);
  return self->running;
}

const char *
bastion_query_page_get_status_text (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->status_text;
}

const char *
bastion_query_page_get_result_kind (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return gtk_stack_get_visible_child_name (self->result_stack);
}

void
bastion_query_page_set_sql (BastionQueryPage *self,
                            const char       *sql)
{
  GtkTextBuffer *buffer;
  GtkTextIter start;

  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));

  buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (self));
  gtk_text_buffer_set_text (buffer, sql != NULL ? sql : "", -1);
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_place_cursor (buffer, &start);
}

void
bastion_query_page_run_sql (BastionQueryPage *self,
                            const char       *sql)
{
  g_autofree char *copy = NULL;

  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  g_return_if_fail (sql != NULL);

  bastion_query_page_set_sql (self, sql);
  copy = g_strdup (sql);
  run_text (self, copy, 0);
}

BastionChartView *
bastion_query_page_get_chart_view (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->chart_view;
}

void
bastion_query_page_set_show_chart (BastionQueryPage *self,
                                   gboolean          show_chart)
{
  g_return_if_fail (BASTION_IS_QUERY_PAGE (self));
  gtk_toggle_button_set_active (self->chart_button, show_chart);
}

BastionExplainView *
bastion_query_page_get_explain_view (BastionQueryPage *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_PAGE (self), NULL);
  return self->explain_view;
}
