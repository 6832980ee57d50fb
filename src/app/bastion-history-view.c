/* bastion-history-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "bastion-history-view.h"

/* Rows listed at most (the store keeps more; search finds them). */
#define LIST_LIMIT 300

struct _BastionHistoryView
{
  GtkWidget       parent_instance;

  /* Owned */
  BastionHistory *history;
  GCancellable   *search_cancellable;
  char           *text;
  BastionHistoryOutcome outcome;

  /* Widgets */
  GtkWidget      *box;
  GtkSearchEntry *search_entry;
  GtkDropDown    *outcome_dropdown;
  GtkStack       *stack;
  GtkListBox     *list;
  AdwStatusPage  *empty_page;
  GtkLabel       *message_label;
  GtkWidget      *clear_button;

  guint           loading : 1;
};

G_DEFINE_FINAL_TYPE (BastionHistoryView, bastion_history_view, GTK_TYPE_WIDGET)

enum {
  OPEN_SQL,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Rows */

static char *
one_line (const char *sql)
{
  g_auto(GStrv) words = g_strsplit_set (sql, " \t\r\n", -1);
  GString *line = g_string_new (NULL);

  for (guint w = 0; words[w] != NULL && line->len < 400; w++)
    if (*words[w] != '\0')
      g_string_append_printf (line, "%s%s", line->len > 0 ? " " : "", words[w]);
  return g_string_free (line, FALSE);
}

static char *
describe (BastionHistoryEntry *entry)
{
  g_autoptr(GDateTime) started =
    g_date_time_new_from_unix_local (bastion_history_entry_get_started (entry) / G_USEC_PER_SEC);
  g_autofree char *when = started != NULL ? g_date_time_format (started, "%Y-%m-%d %H:%M:%S")
                                          : g_strdup ("?");
  gint64 usec = bastion_history_entry_get_duration (entry);
  gint64 rows = bastion_history_entry_get_rows (entry);
  GString *text = g_string_new (when);

  {
    g_autofree char *duration = usec < G_USEC_PER_SEC
                                /* TRANSLATORS: a duration in milliseconds */
                                ? g_strdup_printf (_("%d ms"), (int) (usec / 1000))
                                /* TRANSLATORS: a duration in seconds */
                                : g_strdup_printf (_("%.1f s"), usec / 1e6);

    g_string_append_printf (text, " · %s", duration);
  }
  if (rows >= 0)
    {
      g_autofree char *number = g_strdup_printf ("%'" G_GINT64_FORMAT, rows);

      g_string_append (text, " · ");
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%s row", "%s rows", rows),
                              number);
    }

  switch (bastion_history_entry_get_outcome (entry))
    {
    case BASTION_HISTORY_OUTCOME_ERROR:
      if (bastion_history_entry_get_sqlstate (entry) != NULL)
        /* TRANSLATORS: the outcome of a statement: "Error 42601" (an SQLSTATE) */
        g_string_append_printf (text, " · %s %s", _("Error"),
                                bastion_history_entry_get_sqlstate (entry));
      else
        g_string_append_printf (text, " · %s", _("Error"));
      break;
    case BASTION_HISTORY_OUTCOME_CANCELLED:
      g_string_append_printf (text, " · %s", _("Cancelled"));
      break;
    case BASTION_HISTORY_OUTCOME_OK:
    case BASTION_HISTORY_OUTCOME_ANY:
    default:
      g_string_append_printf (text, " · %s", _("OK"));
      break;
    }
  if (bastion_history_entry_get_writes_allowed (entry))
    g_string_append_printf (text, " · %s", _("writes allowed"));
  return g_string_free (text, FALSE);
}

static GtkWidget *
new_row (BastionHistoryEntry *entry)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  g_autofree char *line = one_line (bastion_history_entry_get_sql (entry));
  g_autofree char *detail = describe (entry);
  GtkWidget *sql = gtk_label_new (line);
  GtkWidget *caption = gtk_label_new (detail);
  GtkWidget *delete = gtk_button_new_from_icon_name ("user-trash-symbolic");

  gtk_label_set_xalign (GTK_LABEL (sql), 0);
  gtk_label_set_ellipsize (GTK_LABEL (sql), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (sql), TRUE);
  gtk_label_set_width_chars (GTK_LABEL (sql), 48);
  gtk_label_set_max_width_chars (GTK_LABEL (sql), 48);
  gtk_widget_add_css_class (sql, "monospace");
  gtk_label_set_xalign (GTK_LABEL (caption), 0);
  gtk_label_set_ellipsize (GTK_LABEL (caption), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (caption, "dim-label");
  gtk_widget_add_css_class (caption, "caption");
  if (bastion_history_entry_get_outcome (entry) == BASTION_HISTORY_OUTCOME_ERROR)
    gtk_widget_add_css_class (caption, "error");
  gtk_box_append (GTK_BOX (texts), sql);
  gtk_box_append (GTK_BOX (texts), caption);
  gtk_widget_set_hexpand (texts, TRUE);

  gtk_widget_add_css_class (delete, "flat");
  gtk_widget_set_valign (delete, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (delete, _("Delete from the History"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (delete), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Delete from the History"), -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (delete), "history.delete");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (delete), "x",
                                    bastion_history_entry_get_id (entry));

  gtk_box_append (GTK_BOX (box), texts);
  gtk_box_append (GTK_BOX (box), delete);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, bastion_history_entry_get_sql (entry));
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, line,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, detail, -1);
  g_object_set_data_full (G_OBJECT (row), "bastion-entry", g_object_ref (entry), g_object_unref);
  return row;
}

static void
show_message (BastionHistoryView *self,
              const char         *message)
{
  gtk_label_set_text (self->message_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
}

static void
search_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  BastionHistory *history = BASTION_HISTORY (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = bastion_history_search_finish (history, result, &error);
  BastionHistoryView *self;
  GtkWidget *child;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  self->loading = FALSE;
  g_clear_object (&self->search_cancellable);

  show_message (self, error != NULL ? error->message
                                    : bastion_history_get_recovery_message (history));
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    gtk_list_box_append (self->list, new_row (g_ptr_array_index (entries, i)));

  gtk_stack_set_visible_child_name (self->stack, entries != NULL && entries->len > 0 ? "list"
                                                                                   : "empty");
  gtk_widget_set_sensitive (self->clear_button, entries != NULL && entries->len > 0);
}

void
bastion_history_view_reload (BastionHistoryView *self)
{
  g_return_if_fail (BASTION_IS_HISTORY_VIEW (self));

  if (self->history == NULL)
    return;
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  self->search_cancellable = g_cancellable_new ();
  self->loading = TRUE;
  /* The view lives as long as the search (dispose cancels it). */
  bastion_history_search_async (self->history, self->text, self->outcome, LIST_LIMIT,
                                self->search_cancellable, search_cb, self);
}

static void
on_search_changed (BastionHistoryView *self)
{
  g_free (self->text);
  self->text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  bastion_history_view_reload (self);
}

static void
on_outcome_changed (BastionHistoryView *self)
{
  self->outcome = gtk_drop_down_get_selected (self->outcome_dropdown);
  bastion_history_view_reload (self);
}

static void
on_row_activated (BastionHistoryView *self,
                  GtkListBoxRow      *row)
{
  BastionHistoryEntry *entry = g_object_get_data (G_OBJECT (row), "bastion-entry");

  if (entry != NULL)
    g_signal_emit (self, signals[OPEN_SQL], 0, bastion_history_entry_get_sql (entry));
}

/* Deleting */

static void
deleted_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(BastionHistoryView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_history_delete_finish (BASTION_HISTORY (object), result, &error))
    show_message (self, error->message);
  else
    bastion_history_view_reload (self);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  BastionHistoryView *self = BASTION_HISTORY_VIEW (widget);

  if (self->history != NULL)
    bastion_history_delete_async (self->history, g_variant_get_int64 (param), NULL, deleted_cb,
                                  g_object_ref (self));
}

static void
on_clear_response (AdwMessageDialog   *dialog,
                   const char         *response,
                   BastionHistoryView *self)
{
  if (g_strcmp0 (response, "clear") == 0)
    gtk_widget_activate_action (GTK_WIDGET (self), "history.delete", "x", (gint64) 0);
}

static void
clear_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  BastionHistoryView *self = BASTION_HISTORY_VIEW (widget);
  GtkWidget *dialog =
    adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                            _("Clear the Query History?"),
                            _("Every statement recorded for this team is deleted from this "
                              "computer. This cannot be undone."));

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"), "clear", _("C_lear All"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "clear",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_clear_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* GObject */

static void
bastion_history_view_dispose (GObject *object)
{
  BastionHistoryView *self = BASTION_HISTORY_VIEW (object);

  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_object (&self->history);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (bastion_history_view_parent_class)->dispose (object);
}

static void
bastion_history_view_finalize (GObject *object)
{
  g_free (BASTION_HISTORY_VIEW (object)->text);
  G_OBJECT_CLASS (bastion_history_view_parent_class)->finalize (object);
}

static void
bastion_history_view_class_init (BastionHistoryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_history_view_dispose;
  object_class->finalize = bastion_history_view_finalize;

  signals[OPEN_SQL] = g_signal_new ("open-sql", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                    G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  gtk_widget_class_install_action (widget_class, "history.delete", "x", delete_action);
  gtk_widget_class_install_action (widget_class, "history.clear", NULL, clear_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static GtkWidget *
build_header (BastionHistoryView *self)
{
  const char * const outcomes[] = { N_("All"), N_("Succeeded"), N_("Failed"), N_("Cancelled"),
                                    NULL };
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  self->search_entry = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self));
  gtk_widget_set_hexpand (GTK_WIDGET (self->search_entry), TRUE);
  g_object_set (self->search_entry, "placeholder-text", _("Search the history"), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->search_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Search the History"), -1);
  for (guint i = 0; outcomes[i] != NULL; i++)
    gtk_string_list_append (names, _(outcomes[i]));
  self->outcome_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (names)),
                                                             NULL));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->outcome_dropdown),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Show by Outcome"), -1);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->outcome_dropdown));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_TOGGLE_BUTTON (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Show by Outcome"), -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->outcome_dropdown), _("Show by Outcome"));
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->search_entry));
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->outcome_dropdown));
  return header;
}

static void
bastion_history_view_init (BastionHistoryView *self)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *footer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  gtk_box_append (GTK_BOX (self->box), build_header (self));

  self->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->message_label, TRUE);
  gtk_label_set_max_width_chars (self->message_label, 50);
  gtk_label_set_xalign (self->message_label, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->message_label), "warning");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), FALSE);
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->message_label));

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "navigation-sidebar");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Statements Run"), -1);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_min_content_width (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->list));

  self->empty_page = ADW_STATUS_PAGE (adw_status_page_new ());
  adw_status_page_set_icon_name (self->empty_page, "document-open-recent-symbolic");
  adw_status_page_set_title (self->empty_page, _("No Statements"));
  adw_status_page_set_description (self->empty_page,
                                   _("Statements you run appear here, with their outcome."));
  gtk_widget_add_css_class (GTK_WIDGET (self->empty_page), "compact");

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_vhomogeneous (self->stack, FALSE);
  gtk_stack_add_named (self->stack, GTK_WIDGET (self->empty_page), "empty");
  gtk_stack_add_named (self->stack, scrolled, "list");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->stack));

  self->clear_button = gtk_button_new_with_mnemonic (_("C_lear All…"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->clear_button), "history.clear");
  gtk_widget_add_css_class (self->clear_button, "destructive-action");
  gtk_widget_set_halign (footer, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (footer), self->clear_button);
  gtk_box_append (GTK_BOX (self->box), footer);

  g_signal_connect_swapped (self->search_entry, "search-changed",
                            G_CALLBACK (on_search_changed), self);
  g_signal_connect_swapped (self->outcome_dropdown, "notify::selected",
                            G_CALLBACK (on_outcome_changed), self);
  g_signal_connect_swapped (self->list, "row-activated", G_CALLBACK (on_row_activated), self);
}

BastionHistoryView *
bastion_history_view_new (void)
{
  return g_object_new (BASTION_TYPE_HISTORY_VIEW, NULL);
}

BastionHistory *
bastion_history_view_get_history (BastionHistoryView *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_VIEW (self), NULL);
  return self->history;
}

void
bastion_history_view_set_history (BastionHistoryView *self,
                                  BastionHistory     *history)
{
  g_return_if_fail (BASTION_IS_HISTORY_VIEW (self));
  g_return_if_fail (history == NULL || BASTION_IS_HISTORY (history));

  if (g_set_object (&self->history, history))
    bastion_history_view_reload (self);
}

void
bastion_history_view_set_filter (BastionHistoryView    *self,
                                 const char            *text,
                                 BastionHistoryOutcome  outcome)
{
  g_return_if_fail (BASTION_IS_HISTORY_VIEW (self));

  /* The widgets' handlers reload; set the fields first so both reloads agree. */
  g_free (self->text);
  self->text = g_strdup (text);
  self->outcome = outcome;
  g_signal_handlers_block_by_func (self->search_entry, on_search_changed, self);
  g_signal_handlers_block_by_func (self->outcome_dropdown, on_outcome_changed, self);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text != NULL ? text : "");
  gtk_drop_down_set_selected (self->outcome_dropdown, outcome);
  g_signal_handlers_unblock_by_func (self->search_entry, on_search_changed, self);
  g_signal_handlers_unblock_by_func (self->outcome_dropdown, on_outcome_changed, self);
  bastion_history_view_reload (self);
}

GtkListBox *
bastion_history_view_get_list (BastionHistoryView *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_VIEW (self), NULL);
  return self->list;
}

gboolean
bastion_history_view_get_loading (BastionHistoryView *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_VIEW (self), FALSE);
  return self->loading;
}
