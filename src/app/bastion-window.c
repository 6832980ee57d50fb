/* bastion-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-window.h"

struct _BastionWindow
{
  AdwApplicationWindow  parent_instance;

  /* Owned */
  GSettings            *settings;

  /* Template widgets */
  AdwLeaflet           *leaflet;
  GtkListBox           *team_list;
  GtkStack             *sidebar_stack;
  AdwStatusPage        *empty_page;
};

G_DEFINE_FINAL_TYPE (BastionWindow, bastion_window, ADW_TYPE_APPLICATION_WINDOW)

static void
bastion_window_dispose (GObject *object)
{
  BastionWindow *self = BASTION_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (bastion_window_parent_class)->dispose (object);
}

static void
bastion_window_class_init (BastionWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/bastiongtk/Bastion/bastion-window.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, team_list);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, BastionWindow, empty_page);
}

static void
bastion_window_init (BastionWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

BastionWindow *
bastion_window_new (BastionApplication *application)
{
  return g_object_new (BASTION_TYPE_WINDOW, "application", application, NULL);
}
