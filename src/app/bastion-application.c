/* bastion-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-application.h"
#include "bastion-version.h"
#include "bastion-window.h"

struct _BastionApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (BastionApplication, bastion_application, ADW_TYPE_APPLICATION)

static void
bastion_application_activate (GApplication *app)
{
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (bastion_window_new (BASTION_APPLICATION (app)));

  gtk_window_present (window);
}

static int
bastion_application_handle_local_options (GApplication *app,
                                          GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_autofree char *summary = bastion_version_dup_summary ();

      g_print ("bastion %s\n%s\nGTK %u.%u.%u\nlibadwaita %u.%u.%u\n",
               PACKAGE_VERSION, summary,
               gtk_get_major_version (), gtk_get_minor_version (), gtk_get_micro_version (),
               adw_get_major_version (), adw_get_minor_version (), adw_get_micro_version ());
      return 0;
    }

  return G_APPLICATION_CLASS (bastion_application_parent_class)->handle_local_options (app, options);
}

static void
bastion_application_class_init (BastionApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = bastion_application_activate;
  app_class->handle_local_options = bastion_application_handle_local_options;
}

static void
bastion_application_about_action (GSimpleAction *action,
                                  GVariant      *parameter,
                                  gpointer       user_data)
{
  static const char *developers[] = { "The Bastion developers", NULL };
  BastionApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autofree char *summary = bastion_version_dup_summary ();
  g_autofree char *debug_info = g_strdup_printf ("Bastion %s\n%s", PACKAGE_VERSION, summary);

  adw_show_about_window (window,
                         "application-name", _("Bastion"),
                         "application-icon", APP_ID,
                         "developer-name", _("The Bastion developers"),
                         "version", PACKAGE_VERSION,
                         "developers", developers,
                         "copyright", "© 2026 The Bastion developers",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("One-click, safe access to your SimpleIOT team’s database"),
                         "debug-info", debug_info,
                         NULL);
}

static void
bastion_application_quit_action (GSimpleAction *action,
                                 GVariant      *parameter,
                                 gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "about", bastion_application_about_action },
  { "quit", bastion_application_quit_action },
};

static void
bastion_application_init (BastionApplication *self)
{
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Show the versions of Bastion and its libraries"), NULL },
    { NULL }
  };
  static const char *quit_accels[] = { "<primary>q", NULL };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
}

BastionApplication *
bastion_application_new (void)
{
  return g_object_new (BASTION_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", "/io/github/bastiongtk/Bastion",
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}
