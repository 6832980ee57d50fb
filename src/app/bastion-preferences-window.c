/* bastion-preferences-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-preferences-window.h"

struct _BastionPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Owned */
  GSettings            *settings;

  /* Template widgets */
  AdwComboRow          *default_tool_row;
  GtkSpinButton        *keepalive_spin;
  GtkSwitch            *reconnect_switch;
  GtkSpinButton        *row_cap_spin;
  GtkSwitch            *confirm_writes_switch;
  GtkSwitch            *stop_bastion_switch;
  AdwComboRow          *terminal_row;
};

G_DEFINE_FINAL_TYPE (BastionPreferencesWindow, bastion_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

/* The combo row's positions, in the order of the .ui's string list. */
static const char * const tool_ids[] = { "none", "pgadmin", "dbeaver", "psql", "pgcli", NULL };
static const char * const terminal_ids[] = {
  "auto", "xdg-terminal-exec", "kgx", "gnome-terminal", "ptyxis", "konsole", "xterm", NULL
};

/* user_data: the NULL-terminated ids in the order of the row's string list. */
static gboolean
id_get_mapping (GValue   *value,
                GVariant *variant,
                gpointer  user_data)
{
  const char * const *ids = user_data;
  const char *id = g_variant_get_string (variant, NULL);

  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (g_str_equal (id, ids[i]))
        {
          g_value_set_uint (value, i);
          return TRUE;
        }
    }

  return FALSE;
}

static GVariant *
id_set_mapping (const GValue       *value,
                const GVariantType *expected_type,
                gpointer            user_data)
{
  const char * const *ids = user_data;
  guint position = g_value_get_uint (value);

  if (position >= g_strv_length ((char **) ids))
    return NULL;

  return g_variant_new_string (ids[position]);
}

static void
bastion_preferences_window_dispose (GObject *object)
{
  BastionPreferencesWindow *self = BASTION_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (bastion_preferences_window_parent_class)->dispose (object);
}

static void
bastion_preferences_window_class_init (BastionPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/bastiongtk/Bastion/"
                                               "bastion-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow, default_tool_row);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow, terminal_row);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow, keepalive_spin);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow, reconnect_switch);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow, row_cap_spin);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow,
                                        confirm_writes_switch);
  gtk_widget_class_bind_template_child (widget_class, BastionPreferencesWindow,
                                        stop_bastion_switch);
}

static void
bastion_preferences_window_init (BastionPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind_with_mapping (self->settings, "default-tool",
                                self->default_tool_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                id_get_mapping, id_set_mapping, (gpointer) tool_ids, NULL);
  g_settings_bind_with_mapping (self->settings, "terminal",
                                self->terminal_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                id_get_mapping, id_set_mapping, (gpointer) terminal_ids, NULL);
  g_settings_bind (self->settings, "keepalive-interval",
                   self->keepalive_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "reconnect",
                   self->reconnect_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "row-cap",
                   self->row_cap_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "confirm-writes",
                   self->confirm_writes_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "stop-bastion-when-done",
                   self->stop_bastion_switch, "active", G_SETTINGS_BIND_DEFAULT);
}

BastionPreferencesWindow *
bastion_preferences_window_new (GtkWindow *parent)
{
  return g_object_new (BASTION_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
}
