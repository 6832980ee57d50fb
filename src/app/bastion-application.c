/* bastion-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-application.h"
#include "bastion-aws-cleanup.h"
#include "bastion-connections.h"
#include "bastion-preferences-window.h"
#include "bastion-shortcuts.h"
#include "bastion-simpleiot.h"
#include "bastion-version.h"
#include "bastion-window.h"

struct _BastionApplication
{
  AdwApplication       parent_instance;

  /* Owned */
  BastionProfileStore *store;
  GSettings           *settings;
  GPtrArray           *startup_errors;
  guint                tunnels_check_id;

  guint                held_for_tunnels : 1;
};

G_DEFINE_FINAL_TYPE (BastionApplication, bastion_application, ADW_TYPE_APPLICATION)

char *
bastion_application_dup_versions (void)
{
  g_autofree char *summary = bastion_version_dup_summary ();

  return g_strdup_printf ("bastion %s\n%s\nGTK %u.%u.%u\nlibadwaita %u.%u.%u\n",
                          PACKAGE_VERSION, summary,
                          gtk_get_major_version (),
                          gtk_get_minor_version (),
                          gtk_get_micro_version (),
                          adw_get_major_version (),
                          adw_get_minor_version (),
                          adw_get_micro_version ());
}

BastionProfileStore *
bastion_application_get_profile_store (BastionApplication *self)
{
  g_return_val_if_fail (BASTION_IS_APPLICATION (self), NULL);

  return self->store;
}

GPtrArray *
bastion_application_take_startup_errors (BastionApplication *self)
{
  g_return_val_if_fail (BASTION_IS_APPLICATION (self), NULL);

  if (self->startup_errors == NULL || self->startup_errors->len == 0)
    return NULL;

  return g_steal_pointer (&self->startup_errors);
}

static void
bastion_application_load_profiles (BastionApplication *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = NULL;

  self->startup_errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  self->store = bastion_profile_store_new (NULL);

  /* A file that fails to load is never overwritten (the store refuses to save), so nothing the
   * user saved is lost; the window says what is wrong with it. */
  if (!bastion_profile_store_load (self->store, &error))
    g_ptr_array_add (self->startup_errors, g_steal_pointer (&error));

  bastion_profile_store_set_autosave (self->store, TRUE);
  /* bastion-cli import (or another window's save) changes the file under us: follow it. */
  if (!bastion_profile_store_watch_file (self->store, &error))
    {
      g_warning ("Cannot watch %s for changes: %s", bastion_profile_store_get_path (self->store),
                 error->message);
      g_clear_error (&error);
    }

  if (!bastion_profile_store_import_simpleiot (self->store, NULL, &warnings, &error))
    {
      /* No ~/.simpleiot at all is the normal state of a machine without SimpleIOT. */
      if (!g_error_matches (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_FOUND))
        g_ptr_array_add (self->startup_errors, g_steal_pointer (&error));
      g_clear_error (&error);
    }
  for (guint i = 0; warnings != NULL && i < warnings->len; i++)
    g_ptr_array_add (self->startup_errors, g_error_copy (g_ptr_array_index (warnings, i)));

  if (!bastion_profile_store_watch_simpleiot (self->store, NULL, &error))
    {
      g_warning ("Cannot watch the SimpleIOT folder for new teams: %s", error->message);
      g_clear_error (&error);
    }
}

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
  const char *team = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_autofree char *versions = bastion_application_dup_versions ();

      g_print ("%s", versions);
      return 0;
    }

  /* --connect TEAM: the primary instance (this one, or the one already running, through
   * D-Bus) shows the team and connects it. */
  if (g_variant_dict_lookup (options, "connect", "&s", &team))
    {
      g_autoptr(GError) error = NULL;

      if (!g_application_register (app, NULL, &error))
        {
          g_printerr ("bastion: %s\n", error->message);
          return 1;
        }
      g_action_group_activate_action (G_ACTION_GROUP (app), "connect",
                                      g_variant_new_string (team));
      /* A second instance has handed the request over: it is done. */
      if (g_application_get_is_remote (app))
        return 0;
    }

  return G_APPLICATION_CLASS (bastion_application_parent_class)->handle_local_options (app,
                                                                                       options);
}

static void
bastion_application_about_action (GSimpleAction *action,
                                  GVariant      *parameter,
                                  gpointer       user_data)
{
  static const char *developers[] = { "The Bastion developers", NULL };
  BastionApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autofree char *debug_info = bastion_application_dup_versions ();

  adw_show_about_window (window,
                         "application-name", _("Bastion"),
                         "application-icon", APP_ID,
                         "developer-name", _("The Bastion developers"),
                         "version", PACKAGE_VERSION,
                         "developers", developers,
                         "copyright", "© 2026 The Bastion developers",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments",
                         _("One-click, safe access to your SimpleIOT team’s database"),
                         "website", "https://github.com/bastiongtk/bastion",
                         "issue-url", "https://github.com/bastiongtk/bastion/issues",
                         /* Translators: put your name and e-mail here, one per line */
                         "translator-credits", _("translator-credits"),
                         "debug-info", debug_info,
                         "debug-info-filename", "bastion-debug-info.txt",
                         NULL);
}

static void
bastion_application_quit_action (GSimpleAction *action,
                                 GVariant      *parameter,
                                 gpointer       user_data)
{
  BastionApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));
  /* Closing the windows first lets each one save its state (size, selection). */
  while (windows != NULL)
    {
      GtkWindow *window = windows->data;

      windows = windows->next;
      gtk_window_destroy (window);
    }

  g_application_quit (G_APPLICATION (self));
}

static void
bastion_application_preferences_action (GSimpleAction *action,
                                        GVariant      *parameter,
                                        gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  gtk_window_present (GTK_WINDOW (bastion_preferences_window_new (window)));
}

/* Shows the team (by id or name) and connects it: `bastion --connect TEAM`. */
static void
bastion_application_connect_action (GSimpleAction *action,
                                    GVariant      *parameter,
                                    gpointer       user_data)
{
  BastionApplication *self = user_data;
  GtkWindow *window;

  g_application_activate (G_APPLICATION (self));
  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (window != NULL)
    bastion_window_open_team (BASTION_WINDOW (window), g_variant_get_string (parameter, NULL),
                              TRUE);
}

/* Kept for the tunnels alone: once the last one closed (Disconnect in a reopened window, a
 * failure for good), Bastion may end when no window is left. */
static gboolean
check_background_tunnels (gpointer user_data)
{
  BastionApplication *self = user_data;

  if (bastion_connections_get_n_open (bastion_connections_get_default ()) > 0)
    return G_SOURCE_CONTINUE;

  self->tunnels_check_id = 0;
  self->held_for_tunnels = FALSE;
  g_application_release (G_APPLICATION (self));

  return G_SOURCE_REMOVE;
}

void
bastion_application_keep_tunnels (BastionApplication *self)
{
  g_return_if_fail (BASTION_IS_APPLICATION (self));

  if (self->held_for_tunnels)
    return;

  self->held_for_tunnels = TRUE;
  g_application_hold (G_APPLICATION (self));
  self->tunnels_check_id = g_timeout_add_seconds (2, check_background_tunnels, self);
}

static void
on_terminal_changed (BastionApplication *self)
{
  g_autofree char *terminal = g_settings_get_string (self->settings, "terminal");

  bastion_launcher_set_terminal (bastion_connections_get_launcher (bastion_connections_get_default ()),
                                 terminal);
}

/* psql and pgcli open in the terminal the preferences name (when it is installed). */
static void
bastion_application_follow_terminal (BastionApplication *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  schema = source != NULL ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  if (schema == NULL)
    return;

  self->settings = g_settings_new_full (schema, NULL, NULL);
  g_signal_connect_object (self->settings, "changed::terminal", G_CALLBACK (on_terminal_changed),
                           self, G_CONNECT_SWAPPED);
  on_terminal_changed (self);
}

static const GActionEntry app_actions[] = {
  { "about", bastion_application_about_action },
  { "preferences", bastion_application_preferences_action },
  { "connect", bastion_application_connect_action, "s" },
  { "quit", bastion_application_quit_action },
};

static void
bastion_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (bastion_application_parent_class)->startup (app);

  bastion_application_load_profiles (BASTION_APPLICATION (app));
  bastion_application_follow_terminal (BASTION_APPLICATION (app));
  /* What a killed Bastion left open in AWS goes now, not at the next connect. */
  bastion_aws_cleanup_expired_rules (app,
                                     G_LIST_MODEL (BASTION_APPLICATION (app)->store));

  bastion_shortcuts_install_app (GTK_APPLICATION (app));
}

static void
bastion_application_shutdown (GApplication *app)
{
  BastionApplication *self = BASTION_APPLICATION (app);
  g_autoptr(GError) error = NULL;

  if (self->store != NULL)
    {
      bastion_profile_store_unwatch_simpleiot (self->store);
      /* An autosave may still be pending. */
      if (!bastion_profile_store_save (self->store, &error)
          && !g_error_matches (error, BASTION_PROFILE_STORE_ERROR,
                               BASTION_PROFILE_STORE_ERROR_NOT_LOADED))
        g_warning ("%s", error->message);
    }

  G_APPLICATION_CLASS (bastion_application_parent_class)->shutdown (app);
}

static void
bastion_application_finalize (GObject *object)
{
  BastionApplication *self = BASTION_APPLICATION (object);

  g_clear_handle_id (&self->tunnels_check_id, g_source_remove);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->startup_errors, g_ptr_array_unref);

  G_OBJECT_CLASS (bastion_application_parent_class)->finalize (object);
}

static void
bastion_application_class_init (BastionApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = bastion_application_finalize;
  app_class->shutdown = bastion_application_shutdown;

  app_class->activate = bastion_application_activate;
  app_class->startup = bastion_application_startup;
  app_class->handle_local_options = bastion_application_handle_local_options;
}

static void
bastion_application_init (BastionApplication *self)
{
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Show the versions of Bastion and its libraries"), NULL },
    { "connect", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Show the team and connect it (in the running Bastion, if there is one)"), N_("TEAM") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   app_actions,
                                   G_N_ELEMENTS (app_actions),
                                   self);
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
