/* bastion-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-connections.h"
#include "bastion-profile-editor.h"
#include "bastion-connection-bar.h"
#include "bastion-shortcuts.h"
#include "bastion-team-page.h"
#include "bastion-team-row.h"
#include "bastion-window.h"

struct _BastionWindow
{
  AdwApplicationWindow  parent_instance;

  /* Owned */
  GSettings            *settings;
  BastionProfileStore  *store;
  GtkFilterListModel   *filtered;
  GtkCustomFilter      *filter;
  char                 *search_text;
  guint                 gone_check_id;
  BastionProfile       *selected;
  GBinding             *title_binding;
  /* The profile removed by the last delete, until its toast is gone (for Undo). */
  BastionProfile       *deleted;
  AdwToast             *delete_toast;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwLeaflet           *leaflet;
  GtkListBox           *team_list;
  GtkStack             *sidebar_stack;
  AdwStatusPage        *empty_page;
  GtkStack             *content_stack;
  AdwWindowTitle       *content_title;
  GtkMenuButton        *profile_menu_button;
  GtkWidget            *back_button;
  GtkSearchBar         *search_bar;
  GtkEditable          *search_entry;
  GtkWidget            *search_button;
  GtkWidget            *no_results_page;
  BastionTeamPage      *team_page;
  BastionConnectionBar *connection_bar;
  GtkWidget            *sidebar;
  GtkWidget            *content;

  guint                 closing_confirmed : 1;
};

G_DEFINE_FINAL_TYPE (BastionWindow, bastion_window, ADW_TYPE_APPLICATION_WINDOW)

static void
bastion_window_update_actions (BastionWindow *self)
{
  gboolean selected = self->selected != NULL;
  gboolean manual = selected
                    && bastion_profile_get_source (self->selected) == BASTION_PROFILE_SOURCE_MANUAL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.add-profile", self->store != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.import-teams", self->store != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.edit-profile", selected);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.connect", selected);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.disconnect", selected);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.duplicate-profile", selected);
  /* A SimpleIOT team comes back with the next import: it is removed by removing its folder. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-profile", manual);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo-delete", self->deleted != NULL);
}

static void
bastion_window_show_profile (BastionWindow  *self,
                             BastionProfile *profile)
{
  if (g_set_object (&self->selected, profile))
    {
      bastion_team_page_set_profile (self->team_page, profile);
      if (self->title_binding != NULL)
        {
          g_binding_unbind (self->title_binding);
          g_clear_object (&self->title_binding);
        }
      if (profile != NULL)
        {
          self->title_binding = g_object_ref (g_object_bind_property (profile, "display-name",
                                                                      self->content_title, "title",
                                                                      G_BINDING_SYNC_CREATE));
          gtk_stack_set_visible_child_name (self->content_stack, "team");
        }
      else
        {
          adw_window_title_set_title (self->content_title, _("Bastion"));
          gtk_stack_set_visible_child_name (self->content_stack, "placeholder");
        }
    }

  /* The window list and the shell's switcher name the team too. */
  if (profile != NULL)
    {
      g_autofree char *title = g_strdup_printf (_("%s — Bastion"),
                                                bastion_profile_get_display_name (profile));
      gtk_window_set_title (GTK_WINDOW (self), title);
    }
  else
    gtk_window_set_title (GTK_WINDOW (self), _("Bastion"));

  gtk_widget_set_visible (GTK_WIDGET (self->profile_menu_button), profile != NULL);
  bastion_window_update_actions (self);

  if (self->settings != NULL && profile != NULL)
    g_settings_set_string (self->settings, "last-profile", bastion_profile_get_id (profile));
}

static GtkListBoxRow *
bastion_window_find_row (BastionWindow  *self,
                         BastionProfile *profile)
{
  for (int i = 0;; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->team_list, i);

      if (row == NULL)
        return NULL;
      if (bastion_team_row_get_profile (BASTION_TEAM_ROW (row)) == profile)
        return row;
    }
}

/* Rows are remade on every change of the list: the selected row follows the open team. */
static void
bastion_window_sync_rows (BastionWindow *self)
{
  GtkListBoxRow *row = NULL;

  if (self->selected != NULL)
    row = bastion_window_find_row (self, self->selected);

  if (row != NULL && gtk_list_box_get_selection_mode (self->team_list) != GTK_SELECTION_NONE)
    gtk_list_box_select_row (self->team_list, row);
  else
    gtk_list_box_unselect_all (self->team_list);
}

static void
bastion_window_select_profile (BastionWindow  *self,
                               BastionProfile *profile)
{
  bastion_window_show_profile (self, profile);
  bastion_window_sync_rows (self);
}

static void bastion_window_toast (BastionWindow *self,
                                  const char    *title);

void
bastion_window_open_team (BastionWindow *self,
                          const char    *id_or_name,
                          gboolean       connect)
{
  BastionProfile *profile = NULL;

  g_return_if_fail (BASTION_IS_WINDOW (self));
  g_return_if_fail (id_or_name != NULL);

  if (self->store != NULL)
    profile = bastion_profile_store_lookup (self->store, id_or_name);
  if (profile == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("No team is called “%s”"), id_or_name);

      bastion_window_toast (self, message);
      return;
    }

  bastion_window_select_profile (self, profile);
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);

  /* An open tunnel is simply shown. */
  if (connect)
    bastion_team_page_connect (self->team_page);
}

static gboolean
bastion_window_store_has (BastionWindow  *self,
                          BastionProfile *profile)
{
  return bastion_profile_store_lookup (self->store, bastion_profile_get_id (profile)) == profile;
}

static gboolean
check_selected_still_there (gpointer user_data)
{
  BastionWindow *self = user_data;

  self->gone_check_id = 0;
  if (self->selected != NULL && !bastion_window_store_has (self, self->selected))
    bastion_window_select_profile (self, NULL);

  return G_SOURCE_REMOVE;
}

static GtkWidget *
create_team_row (gpointer item,
                 gpointer user_data)
{
  return bastion_team_row_new (BASTION_PROFILE (item));
}

static void
on_filtered_items_changed (BastionWindow *self)
{
  bastion_window_sync_rows (self);
}

static void
on_store_items_changed (BastionWindow *self,
                        guint          position,
                        guint          removed,
                        guint          added,
                        GListModel    *model)
{
  guint n_items = g_list_model_get_n_items (model);

  gtk_stack_set_visible_child_name (self->sidebar_stack, n_items > 0 ? "teams" : "empty");
  /* Searching is always there (Ctrl+F); its button only once the list is long. */
  gtk_widget_set_visible (self->search_button,
                          n_items >= 6 || gtk_search_bar_get_search_mode (self->search_bar));

  /* A re-sort may remove a profile and add it back: look once the store has settled. */
  if (self->selected != NULL && !bastion_window_store_has (self, self->selected)
      && self->gone_check_id == 0)
    self->gone_check_id = g_idle_add (check_selected_still_there, self);
}

static gboolean
filter_team (gpointer item,
             gpointer user_data)
{
  BastionWindow *self = user_data;
  BastionProfile *profile = item;
  const char *fields[] = {
    bastion_profile_get_display_name (profile),
    bastion_profile_get_env_label (profile),
    bastion_profile_get_ssh_host (profile),
  };

  if (self->search_text == NULL)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autofree char *folded = fields[i] != NULL ? g_utf8_casefold (fields[i], -1) : NULL;

      if (folded != NULL && strstr (folded, self->search_text) != NULL)
        return TRUE;
    }

  return FALSE;
}

static void
on_search_changed (BastionWindow *self)
{
  const char *text = gtk_editable_get_text (self->search_entry);

  g_clear_pointer (&self->search_text, g_free);
  if (text != NULL && *text != '\0')
    self->search_text = g_utf8_casefold (text, -1);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

static void
on_profile_changed (BastionWindow *self)
{
  /* A renamed team may now match the search, or no longer. */
  if (self->search_text != NULL)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

static void
on_stop_search (BastionWindow *self)
{
  gtk_editable_set_text (self->search_entry, "");
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  gboolean searching = gtk_search_bar_get_search_mode (self->search_bar);

  if (searching)
    on_stop_search (self);
  else
    {
      if (adw_leaflet_get_folded (self->leaflet))
        adw_leaflet_set_visible_child (self->leaflet, self->sidebar);
      gtk_widget_set_visible (self->search_button, TRUE);
      gtk_search_bar_set_search_mode (self->search_bar, TRUE);
      gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
    }
}

static void
on_leaflet_folded_changed (BastionWindow *self)
{
  /* Unfolded, the list keeps showing which team is open; folded, it is a plain list. */
  gtk_list_box_set_selection_mode (self->team_list,
                                   adw_leaflet_get_folded (self->leaflet) ? GTK_SELECTION_NONE
                                                                         : GTK_SELECTION_SINGLE);
  bastion_window_sync_rows (self);
}

static void
on_team_row_activated (BastionWindow *self,
                       GtkListBoxRow *row)
{
  bastion_window_show_profile (self, bastion_team_row_get_profile (BASTION_TEAM_ROW (row)));
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
on_team_row_selected (BastionWindow *self,
                      GtkListBoxRow *row)
{
  if (row != NULL)
    bastion_window_show_profile (self, bastion_team_row_get_profile (BASTION_TEAM_ROW (row)));
}

static void
bastion_window_toast (BastionWindow *self,
                      const char    *title)
{
  /* A toast's title is markup; messages name files and keys with any character in them. */
  g_autofree char *escaped = g_markup_escape_text (title, -1);
  AdwToast *toast = adw_toast_new (escaped);

  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
bastion_window_show_load_error (BastionWindow *self,
                                const GError  *error)
{
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self),
                                                       _("Saved Profiles Could Not Be Loaded"),
                                                       error->message));
  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  adw_message_dialog_set_default_response (dialog, "close");
  adw_message_dialog_set_close_response (dialog, "close");
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
bastion_window_report_errors (BastionWindow *self,
                              GPtrArray     *errors)
{
  g_autofree char *title = NULL;
  const GError *first;

  if (errors == NULL || errors->len == 0)
    return;

  /* Losing sight of the saved profiles deserves more than a toast. */
  for (guint i = 0; i < errors->len; i++)
    {
      const GError *error = g_ptr_array_index (errors, i);

      if (error->domain == BASTION_PROFILE_STORE_ERROR)
        {
          bastion_window_show_load_error (self, error);
          g_ptr_array_remove_index (errors, i);
          i--;
        }
    }
  if (errors->len == 0)
    return;

  first = g_ptr_array_index (errors, 0);
  if (errors->len == 1)
    title = g_strdup (first->message);
  else
    title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "%s (and %u more problem)",
                                          "%s (and %u more problems)",
                                          errors->len - 1),
                             first->message, errors->len - 1);
  bastion_window_toast (self, title);
}

static void
on_simpleiot_imported (BastionWindow *self,
                       GPtrArray     *warnings)
{
  bastion_window_report_errors (self, warnings);
}

static void
on_save_failed (BastionWindow *self,
                GError        *error)
{
  bastion_window_toast (self, error->message);
}

static void
show_teams_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->sidebar);
}

static void
bastion_window_edit (BastionWindow  *self,
                     BastionProfile *profile)
{
  BastionProfileEditor *editor = bastion_profile_editor_new (GTK_WINDOW (self), profile);

  gtk_window_present (GTK_WINDOW (editor));
}

static void
bastion_window_add (BastionWindow  *self,
                    BastionProfile *profile)
{
  g_autoptr(GError) error = NULL;

  if (!bastion_profile_store_add (self->store, profile, &error))
    {
      bastion_window_toast (self, error->message);
      return;
    }

  bastion_window_select_profile (self, profile);
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
add_profile_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  g_autoptr(BastionProfile) profile = bastion_profile_new (NULL);

  bastion_profile_set_display_name (profile, _("New Profile"));
  bastion_window_add (self, profile);
  bastion_window_edit (self, profile);
}

static void
duplicate_profile_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  g_autoptr(BastionProfile) copy = NULL;

  if (self->selected == NULL)
    return;

  copy = bastion_profile_dup (self->selected);
  bastion_window_add (self, copy);
}

static void
edit_profile_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);

  if (self->selected != NULL)
    bastion_window_edit (self, self->selected);
}

static void
delete_finished (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_profile_store_delete_finish (BASTION_PROFILE_STORE (object), result, &error))
    {
      g_autofree char *title = NULL;

      /* Translators: %s says why the keyring refused */
      title = g_strdup_printf (_("The profile’s saved passwords could not be removed: %s"),
                               error->message);
      bastion_window_toast (self, title);
    }
}

static void
on_delete_toast_dismissed (BastionWindow *self,
                           AdwToast      *toast)
{
  g_autoptr(BastionProfile) deleted = NULL;

  if (toast != self->delete_toast)
    return;

  self->delete_toast = NULL;
  deleted = g_steal_pointer (&self->deleted);
  bastion_window_update_actions (self);

  /* No undo: now its secrets go as well. */
  if (deleted != NULL)
    bastion_profile_store_delete_async (self->store, deleted, NULL, NULL,
                                        delete_finished, g_object_ref (self));
}

static void
delete_profile_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  g_autoptr(BastionProfile) profile = NULL;
  g_autofree char *title = NULL;
  AdwToast *toast;

  if (self->selected == NULL)
    return;

  profile = g_object_ref (self->selected);

  /* One undo at a time: an earlier deletion becomes final now. */
  if (self->delete_toast != NULL)
    adw_toast_dismiss (self->delete_toast);

  bastion_window_select_profile (self, NULL);
  bastion_profile_store_remove (self->store, profile);
  self->deleted = g_steal_pointer (&profile);

  /* Translators: %s is the name of the profile */
  title = g_markup_printf_escaped (_("“%s” deleted"),
                                   bastion_profile_get_display_name (self->deleted));
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_action_name (toast, "win.undo-delete");
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (on_delete_toast_dismissed), self,
                           G_CONNECT_SWAPPED);
  self->delete_toast = toast;
  adw_toast_overlay_add_toast (self->toast_overlay, toast);

  bastion_window_update_actions (self);
}

static void
undo_delete_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  g_autoptr(BastionProfile) profile = g_steal_pointer (&self->deleted);
  AdwToast *toast = g_steal_pointer (&self->delete_toast);

  if (toast != NULL)
    adw_toast_dismiss (toast);
  if (profile != NULL)
    bastion_window_add (self, profile);

  bastion_window_update_actions (self);
}

static void
import_teams_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);
  g_autoptr(GPtrArray) imported = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  if (!bastion_profile_store_import_simpleiot_full (self->store, NULL, &imported, &warnings,
                                                    &error))
    {
      bastion_window_toast (self, error->message);
      return;
    }

  if (warnings != NULL && warnings->len > 0)
    {
      bastion_window_report_errors (self, warnings);
      return;
    }

  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                        "%u SimpleIOT team imported",
                                        "%u SimpleIOT teams imported",
                                        imported->len),
                           imported->len);
  bastion_window_toast (self, title);
}

static void
bastion_window_dispose (GObject *object)
{
  BastionWindow *self = BASTION_WINDOW (object);

  /* A deletion still waiting for Undo is final when the window goes. */
  if (self->deleted != NULL && self->store != NULL)
    bastion_profile_store_delete_async (self->store, self->deleted, NULL, NULL, NULL, NULL);
  g_clear_object (&self->deleted);
  self->delete_toast = NULL;

  if (self->title_binding != NULL)
    g_binding_unbind (self->title_binding);
  g_clear_object (&self->title_binding);
  g_clear_handle_id (&self->gone_check_id, g_source_remove);
  if (self->team_list != NULL)
    gtk_list_box_bind_model (self->team_list, NULL, NULL, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_WINDOW);
  g_clear_object (&self->selected);
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_pointer (&self->search_text, g_free);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (bastion_window_parent_class)->dispose (object);
}

static gboolean
destroy_later (gpointer user_data)
{
  gtk_window_destroy (GTK_WINDOW (user_data));

  return G_SOURCE_REMOVE;
}

static void
on_close_response (AdwMessageDialog *dialog,
                   const char       *response,
                   BastionWindow    *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (g_str_equal (response, "keep"))
    /* The tunnels outlive the window: the application stays until they close. */
    bastion_application_keep_tunnels (BASTION_APPLICATION (app));
  else if (g_str_equal (response, "disconnect"))
    bastion_connections_disconnect_all (bastion_connections_get_default ());
  else
    return;

  /* Not from inside the dialog's own response: it still refers to this window. */
  self->closing_confirmed = TRUE;
  g_idle_add_full (G_PRIORITY_DEFAULT, destroy_later, g_object_ref (self), g_object_unref);
}

/* Closing the window while tunnels serve (pgAdmin may be using one) asks what to do with them. */
static gboolean
bastion_window_close_request (GtkWindow *window)
{
  BastionWindow *self = BASTION_WINDOW (window);
  guint n_open = bastion_connections_get_n_open (bastion_connections_get_default ());
  AdwMessageDialog *dialog;

  if (self->closing_confirmed || n_open == 0)
    return GTK_WINDOW_CLASS (bastion_window_parent_class)->close_request (window);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window,
                                                       ngettext ("Keep the Tunnel Open?",
                                                                 "Keep the Tunnels Open?",
                                                                 n_open),
                                                       NULL));
  adw_message_dialog_format_body (dialog,
                                  ngettext ("A tunnel is open. Tools connected through it keep "
                                            "working if Bastion stays in the background.",
                                            "%u tunnels are open. Tools connected through them "
                                            "keep working if Bastion stays in the background.",
                                            n_open),
                                  n_open);
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "disconnect", _("_Disconnect and Close"),
                                    "keep", _("_Keep in Background"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "disconnect",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (dialog, "keep", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "keep");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_close_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));

  return TRUE;
}

/* Ctrl+Q. With tunnels open it asks what the close button asks (keep them in the background,
 * or disconnect and close); otherwise it quits. app.quit itself (D-Bus, scripts) quits at once. */
static void
quit_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (widget));

  if (bastion_connections_get_n_open (bastion_connections_get_default ()) > 0)
    gtk_window_close (GTK_WINDOW (widget));
  else if (app != NULL)
    g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
}

/* Connect / Disconnect the open team from anywhere in the window (its shortcuts). */
static void
connect_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);

  if (self->selected != NULL)
    bastion_team_page_connect (self->team_page);
}

static void
disconnect_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  BastionWindow *self = BASTION_WINDOW (widget);

  if (self->selected != NULL)
    bastion_team_page_disconnect (self->team_page);
}

static void
bastion_window_class_init (BastionWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = bastion_window_close_request;

  g_type_ensure (BASTION_TYPE_TEAM_PAGE);
  g_type_ensure (BASTION_TYPE_CONNECTION_BAR);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/bastiongtk/Bastion/bastion-window.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, team_list);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, profile_menu_button);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, no_results_page);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, team_page);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, connection_bar);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, content);
  gtk_widget_class_bind_template_callback (widget_class, on_leaflet_folded_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_team_row_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_team_row_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_stop_search);

  gtk_widget_class_install_action (widget_class, "win.show-teams", NULL, show_teams_action);
  gtk_widget_class_install_action (widget_class, "win.add-profile", NULL, add_profile_action);
  gtk_widget_class_install_action (widget_class, "win.import-teams", NULL, import_teams_action);
  gtk_widget_class_install_action (widget_class, "win.edit-profile", NULL, edit_profile_action);
  gtk_widget_class_install_action (widget_class, "win.duplicate-profile", NULL,
                                   duplicate_profile_action);
  gtk_widget_class_install_action (widget_class, "win.delete-profile", NULL,
                                   delete_profile_action);
  gtk_widget_class_install_action (widget_class, "win.undo-delete", NULL, undo_delete_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.quit", NULL, quit_action);
  gtk_widget_class_install_action (widget_class, "win.connect", NULL, connect_action);
  gtk_widget_class_install_action (widget_class, "win.disconnect", NULL, disconnect_action);
}

/* Connected, the team's controls move into the header bar and its state and route become the
 * subtitle, so the page below is all workspace. */
static void
on_workspace_changed (BastionWindow *self)
{
  BastionConnection *connection = bastion_team_page_get_workspace_connection (self->team_page);

  bastion_connection_bar_set_connection (self->connection_bar,
                                         connection != NULL
                                           ? bastion_team_page_get_profile (self->team_page)
                                           : NULL,
                                         connection);
  gtk_widget_set_visible (GTK_WIDGET (self->connection_bar), connection != NULL);
}

static void
on_writes_allowed (BastionWindow *self)
{
  bastion_connection_bar_set_writes_allowed (self->connection_bar,
                                             bastion_team_page_get_writes_allowed (self->team_page));
}

static void
bastion_window_init (BastionWindow *self)
{
  GSettingsSchemaSource *source;
  g_autoptr(GSettingsSchema) schema = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  source = g_settings_schema_source_get_default ();
  schema = source != NULL ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  if (schema == NULL)
    {
      /* An uninstalled build run by hand: work, just without remembering the window size. */
      g_warning ("The settings schema %s is not installed (set GSETTINGS_SCHEMA_DIR to the "
                 "build's data directory); the window size will not be saved", APP_ID);
    }
  else
    {
      self->settings = g_settings_new_full (schema, NULL, NULL);
      g_settings_bind (self->settings, "window-width",
                       self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height",
                       self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized",
                       self, "maximized", G_SETTINGS_BIND_DEFAULT);
    }

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");

  gtk_search_bar_connect_entry (self->search_bar, self->search_entry);
  gtk_search_bar_set_key_capture_widget (self->search_bar, GTK_WIDGET (self));

  g_signal_connect_object (self->team_page, "notify::workspace-connection",
                           G_CALLBACK (on_workspace_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->team_page, "notify::writes-allowed",
                           G_CALLBACK (on_writes_allowed), self, G_CONNECT_SWAPPED);
  /* The subtitle says the state; its tooltip (and the tunnel popover) the whole route. */
  g_object_bind_property (self->connection_bar, "state-text", self->content_title, "subtitle",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->connection_bar, "summary", self->content_title, "tooltip-text",
                          G_BINDING_SYNC_CREATE);

  on_leaflet_folded_changed (self);
  bastion_window_update_actions (self);
}

static void
bastion_window_set_store (BastionWindow       *self,
                          BastionProfileStore *store)
{
  g_assert (self->store == NULL);

  self->store = g_object_ref (store);
  self->filter = gtk_custom_filter_new (filter_team, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (store)),
                                              g_object_ref (GTK_FILTER (self->filter)));
  gtk_list_box_bind_model (self->team_list, G_LIST_MODEL (self->filtered),
                           create_team_row, self, NULL);
  g_signal_connect_object (self->filtered, "items-changed",
                           G_CALLBACK (on_filtered_items_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "items-changed", G_CALLBACK (on_store_items_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "profile-changed", G_CALLBACK (on_profile_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "simpleiot-imported", G_CALLBACK (on_simpleiot_imported), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "save-failed", G_CALLBACK (on_save_failed), self,
                           G_CONNECT_SWAPPED);
  on_store_items_changed (self, 0, 0, 0, G_LIST_MODEL (store));

  /* Back where the user left off. */
  if (self->settings != NULL)
    {
      g_autofree char *last = g_settings_get_string (self->settings, "last-profile");
      BastionProfile *profile = *last != '\0' ? bastion_profile_store_lookup (store, last) : NULL;

      if (profile != NULL)
        bastion_window_select_profile (self, profile);
      else if (g_list_model_get_n_items (G_LIST_MODEL (store)) == 1)
        {
          /* A single team (the usual SimpleIOT admin, or the demo) opens by itself. */
          g_autoptr(BastionProfile) only = g_list_model_get_item (G_LIST_MODEL (store), 0);

          bastion_window_select_profile (self, only);
        }
    }

  bastion_window_update_actions (self);
}

static void
on_first_map (BastionWindow *self,
              GPtrArray     *errors)
{
  g_autoptr(GPtrArray) held = g_ptr_array_ref (errors);

  g_signal_handlers_disconnect_by_func (self, on_first_map, errors);
  bastion_window_report_errors (self, held);
}

BastionWindow *
bastion_window_new (BastionApplication *application)
{
  BastionWindow *self;
  g_autoptr(GPtrArray) errors = NULL;

  g_return_val_if_fail (BASTION_IS_APPLICATION (application), NULL);

  self = g_object_new (BASTION_TYPE_WINDOW, "application", application, NULL);
  bastion_window_set_store (self, bastion_application_get_profile_store (application));

  /* The shortcuts window lists the very table the accelerators were installed from. */
  {
    g_autoptr(GtkWindow) overlay = bastion_shortcuts_window_new ();

    gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (self),
                                             GTK_SHORTCUTS_WINDOW (overlay));
  }

  /* Shown once the window is on screen, so a dialog has its parent. */
  errors = bastion_application_take_startup_errors (application);
  if (errors != NULL)
    g_signal_connect_data (self, "map", G_CALLBACK (on_first_map), g_steal_pointer (&errors),
                           (GClosureNotify) g_ptr_array_unref, G_CONNECT_DEFAULT);

  return self;
}
