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
#include "bastion-query-page-private.h"
#include "bastion-result-writer.h"
#include "bastion-shortcuts.h"
#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

#define TITLE_MAX_CHARS 28

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

char *
_bastion_query_page_format_rows (guint64 n)
{
  /* The ' flag groups the digits the locale's way. */
  g_autofree char *number = g_strdup_printf ("%'" G_GUINT64_FORMAT, n);

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s row", "%s rows", n), number);
}

void
_bastion_query_page_set_status (BastionQueryPage *self,
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

void
_bastion_query_page_set_running (BastionQueryPage *self,
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
  _bastion_query_page_set_status (self, status, TRUE);

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

  rows = _bastion_query_page_format_rows (bastion_query_get_n_rows (query));
  elapsed = format_elapsed (bastion_query_get_elapsed_usec (query));

  switch (bastion_query_get_state (query))
    {
    case BASTION_QUERY_STATE_NEW:
    case BASTION_QUERY_STATE_RUNNING:
      /* TRANSLATORS: the status line while a query runs: "Running… 1 000 rows · 1.2 s" */
      text = g_strdup_printf (_("Running… %s · %s"), rows, elapsed);
      _bastion_query_page_set_status (self, text, FALSE);
      break;

    case BASTION_QUERY_STATE_PAUSED:
      /* TRANSLATORS: the row cap was reached: "100 000 rows · 2.1 s · more available" */
      text = g_strdup_printf (_("%s · %s · more available"), rows, elapsed);
      _bastion_query_page_set_status (self, text, FALSE);
      break;

    case BASTION_QUERY_STATE_FINISHED:
      {
        const GError *error = bastion_query_get_error (query);

        if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
          {
            /* TRANSLATORS: "Cancelled · 1 000 rows · 0.4 s" */
            text = g_strdup_printf (_("Cancelled · %s · %s"), rows, elapsed);
            _bastion_query_page_set_status (self, text, FALSE);
          }
        else if (error != NULL)
          show_error (self, error);
        else if (bastion_query_get_n_columns (query) == 0)
          {
            const char *command = bastion_query_get_command_status (query);

            text = g_strdup_printf ("%s · %s", command != NULL && *command ? command : _("Done"),
                                    elapsed);
            _bastion_query_page_set_status (self, text, FALSE);
          }
        else
          {
            text = g_strdup_printf ("%s · %s", rows, elapsed);
            _bastion_query_page_set_status (self, text, FALSE);
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
  _bastion_query_page_set_running (self, FALSE);

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
          _bastion_query_page_set_running (self, FALSE);
          update_status (self);
        }
      else if (state == BASTION_QUERY_STATE_RUNNING)
        {
          _bastion_query_page_set_running (self, TRUE);
          if (self->tick_id == 0)
            self->tick_id = g_timeout_add (200, tick_cb, self);
        }
      else if (state == BASTION_QUERY_STATE_FINISHED)
        query_ended (self);
    }

  if (state == BASTION_QUERY_STATE_FINISHED)
    _bastion_query_page_start_pending (self);

  _bastion_query_page_update_actions (self);
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

gboolean
_bastion_query_page_preference_boolean (const char *key,
                                        gboolean    fallback)
{
  g_autoptr(GSettings) settings = preferences ();

  return settings != NULL ? g_settings_get_boolean (settings, key) : fallback;
}

gboolean
_bastion_query_page_query_is_active (BastionQuery *query)
{
  return query != NULL
         && (bastion_query_get_state (query) == BASTION_QUERY_STATE_RUNNING
             || bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED);
}

void
_bastion_query_page_start_query (BastionQueryPage *self,
                                 const char       *sql,
                                 int               base)
{
  g_autoptr(BastionQuery) query = NULL;

  if (self->database == NULL || !bastion_database_get_connected (self->database))
    {
      _bastion_query_page_set_status (self, _("Not connected to the database. Connect again, "
                                              "then run the query."), TRUE);
      return;
    }
  if (bastion_database_get_busy (self->database))
    {
      _bastion_query_page_set_status (self, _("Another query still runs on this connection. "
                                              "Cancel it or wait until it ends, then run this "
                                              "one."), TRUE);
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
  _bastion_query_page_set_status (self, _("Running…"), FALSE);
  _bastion_query_page_set_running (self, TRUE);
  gtk_widget_set_visible (self->fetch_more_button, FALSE);
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add (200, tick_cb, self);

  g_signal_emit (self, signals[EXECUTED], 0, sql);

  bastion_query_run_async (query, NULL, run_cb, g_object_ref (self));
  _bastion_query_page_update_actions (self);
}

/* GObject */

static void
bastion_query_page_dispose (GObject *object)
{
  BastionQueryPage *self = BASTION_QUERY_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->tick_id, g_source_remove);

  /* A paused query holds the connection: let it go. */
  if (_bastion_query_page_query_is_active (self->query))
    bastion_query_cancel (self->query);
  if (self->query != NULL)
    g_signal_handlers_disconnect_by_data (self->query, self);
  /* A running export discards its temporary file and then reports to nobody. */
  if (self->export != NULL)
    g_cancellable_cancel (self->export_cancellable);
  else
    _bastion_query_page_export_clear (self);

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

  _bastion_query_page_export_clear (self);
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

  _bastion_query_page_class_actions_init (widget_class);

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

  g_signal_connect_object (self->writes_switch, "notify::active",
                           G_CALLBACK (_bastion_query_page_on_writes_switch), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->chart_button, "toggled", G_CALLBACK (on_chart_toggled), self,
                           G_CONNECT_SWAPPED);

  /* Capture phase: the editor would otherwise take Ctrl+Enter as a line break. */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  bastion_shortcuts_add_to_controller (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                       BASTION_SHORTCUT_QUERY_PAGE);
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

  gtk_stack_set_visible_child_name (self->result_stack, "empty");
  _bastion_query_page_update_mode (self);
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
  GCallback changed = G_CALLBACK (_bastion_query_page_on_database_changed);

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
      self->read_only_id = g_signal_connect_swapped (database, "notify::read-only", changed, self);
      self->busy_id = g_signal_connect_swapped (database, "notify::busy", changed, self);
      self->transaction_id = g_signal_connect_swapped (database, "notify::transaction-status",
                                                       changed, self);
      self->connected_id = g_signal_connect_swapped (database, "notify::connected", changed, self);
    }

  if (self->writes_switch != NULL)
    _bastion_query_page_update_mode (self);
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
      _bastion_query_page_run_text (self, sql, 0);
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
  _bastion_query_page_run_text (self, copy, 0);
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
