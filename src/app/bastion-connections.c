/* bastion-connections.c
 *
 * The open connections of the application, one per profile, shared by every window and page so
 * that several teams can be connected at once. It also does what outlives a single view: the
 * files handed to external tools and temporary security-group rules are removed on disconnect,
 * everything is closed at exit, and a desktop notification tells about a tunnel that dropped,
 * came back or failed for good while the window is not in front.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "bastion-aws.h"
#include "bastion-connections.h"

typedef struct
{
  BastionConnections     *registry;       /* unowned */
  BastionProfile         *profile;
  BastionConnection      *connection;
  char                   *rule_group;     /* a temporary security-group rule, if any */
  char                   *rule_cidr;
  gint64                  ready_since;
  BastionConnectionStage  last_stage;
  gulong                  stage_handler;
} Entry;

struct _BastionConnections
{
  GObject          parent_instance;

  /* Owned */
  GHashTable      *entries;            /* profile id -> Entry */
  BastionLauncher *launcher;
  GSettings       *settings;           /* NULL when the schema is not installed */

  guint            pending_removals;   /* AWS changes still on their way */
};

G_DEFINE_FINAL_TYPE (BastionConnections, bastion_connections, G_TYPE_OBJECT)

static BastionConnections *default_registry;

static void apply_settings (BastionConnections *self,
                            Entry              *entry);

static void
entry_free (Entry *entry)
{
  if (entry->connection != NULL)
    {
      g_clear_signal_handler (&entry->stage_handler, entry->connection);
      bastion_connection_close (entry->connection);
    }
  g_clear_object (&entry->connection);
  g_clear_object (&entry->profile);
  g_free (entry->rule_group);
  g_free (entry->rule_cidr);
  g_free (entry);
}

static gboolean
stage_serves (BastionConnectionStage stage)
{
  return stage == BASTION_CONNECTION_STAGE_READY || stage == BASTION_CONNECTION_STAGE_RECONNECTING;
}

/* Only when the user is not looking at Bastion: in front, the page itself shows it. */
static gboolean
window_in_front (GApplication *app)
{
  GtkWindow *window;

  if (!GTK_IS_APPLICATION (app))
    return FALSE;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));

  return window != NULL && gtk_widget_get_visible (GTK_WIDGET (window))
         && gtk_window_is_active (window);
}

static void
notify_user (Entry      *entry,
             const char *title,
             const char *body,
             gboolean    urgent)
{
  GApplication *app = g_application_get_default ();
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *id = NULL;

  if (app == NULL || window_in_front (app))
    return;

  notification = g_notification_new (title);
  if (body != NULL)
    g_notification_set_body (notification, body);
  g_notification_set_priority (notification, urgent ? G_NOTIFICATION_PRIORITY_HIGH
                                                    : G_NOTIFICATION_PRIORITY_NORMAL);
  id = g_strdup_printf ("tunnel-%s", bastion_profile_get_id (entry->profile));
  g_application_send_notification (app, id, notification);
}

static void
on_stage_changed (Entry      *entry,
                  GParamSpec *pspec)
{
  BastionConnectionStage stage = bastion_connection_get_stage (entry->connection);
  BastionConnectionStage last = entry->last_stage;
  const char *name = bastion_profile_get_display_name (entry->profile);
  g_autofree char *title = NULL;

  entry->last_stage = stage;

  if (stage_serves (stage) && entry->ready_since == 0)
    entry->ready_since = g_get_monotonic_time ();
  else if (!stage_serves (stage))
    entry->ready_since = 0;

  if (last == BASTION_CONNECTION_STAGE_READY && stage == BASTION_CONNECTION_STAGE_RECONNECTING)
    {
      /* Translators: %s is a team name */
      title = g_strdup_printf (_("The tunnel to “%s” dropped"), name);
      notify_user (entry, title, _("Bastion is reconnecting; new connections wait until it is "
                                   "back."), FALSE);
    }
  else if (last == BASTION_CONNECTION_STAGE_RECONNECTING && stage == BASTION_CONNECTION_STAGE_READY)
    {
      /* Translators: %s is a team name */
      title = g_strdup_printf (_("The tunnel to “%s” is back"), name);
      notify_user (entry, title, NULL, FALSE);
    }
  else if (stage_serves (last) && stage == BASTION_CONNECTION_STAGE_FAILED)
    {
      const GError *error = bastion_connection_get_error (entry->connection);

      /* Translators: %s is a team name */
      title = g_strdup_printf (_("The tunnel to “%s” failed"), name);
      notify_user (entry, title, error != NULL ? error->message : NULL, TRUE);
    }
}

static Entry *
find_entry (BastionConnections *self,
            BastionProfile     *profile)
{
  return g_hash_table_lookup (self->entries, bastion_profile_get_id (profile));
}

BastionConnection *
bastion_connections_peek (BastionConnections *self,
                          BastionProfile     *profile)
{
  Entry *entry;

  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), NULL);
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);

  entry = find_entry (self, profile);

  return entry != NULL ? entry->connection : NULL;
}

BastionConnection *
bastion_connections_lookup (BastionConnections *self,
                            BastionProfile     *profile)
{
  Entry *entry;

  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), NULL);
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);

  entry = find_entry (self, profile);
  if (entry != NULL && entry->profile != profile)
    {
      /* The store replaced the profile object (a reload): a connection that does not serve
       * follows the new one; one that serves keeps its settings until disconnect. */
      if (!stage_serves (bastion_connection_get_stage (entry->connection)))
        {
          g_hash_table_remove (self->entries, bastion_profile_get_id (profile));
          entry = NULL;
        }
    }
  if (entry != NULL)
    return entry->connection;

  entry = g_new0 (Entry, 1);
  entry->registry = self;
  entry->profile = g_object_ref (profile);
  entry->connection = bastion_connection_new (profile, bastion_secrets_get_default ());
  entry->stage_handler = g_signal_connect_swapped (entry->connection, "notify::stage",
                                                   G_CALLBACK (on_stage_changed), entry);
  g_hash_table_insert (self->entries, g_strdup (bastion_profile_get_id (profile)), entry);
  apply_settings (self, entry);

  return entry->connection;
}

guint
bastion_connections_get_n_open (BastionConnections *self)
{
  GHashTableIter iter;
  Entry *entry;
  guint n = 0;

  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), 0);

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (stage_serves (bastion_connection_get_stage (entry->connection)))
      n++;

  return n;
}

gint64
bastion_connections_get_ready_since (BastionConnections *self,
                                     BastionProfile     *profile)
{
  Entry *entry;

  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), 0);

  entry = find_entry (self, profile);

  return entry != NULL ? entry->ready_since : 0;
}

static void
on_db_password_found (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *password;

  password = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, password, (GDestroyNotify) bastion_secret_free);
}

void
bastion_connections_lookup_db_password_async (BastionConnections  *self,
                                              BastionProfile      *profile,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Entry *entry;
  char *password;

  g_return_if_fail (BASTION_IS_CONNECTIONS (self));
  g_return_if_fail (BASTION_IS_PROFILE (profile));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_connections_lookup_db_password_async);

  /* The connection owns the password it logged in with (typed or from the keyring). */
  entry = find_entry (self, profile);
  password = entry != NULL ? bastion_connection_dup_db_password (entry->connection) : NULL;
  if (password != NULL)
    {
      g_task_return_pointer (task, password, (GDestroyNotify) bastion_secret_free);
      return;
    }

  bastion_secrets_lookup_async (bastion_secrets_get_default (), bastion_profile_get_id (profile),
                                BASTION_SECRET_KIND_DB_PASSWORD, cancellable,
                                on_db_password_found, g_steal_pointer (&task));
}

char *
bastion_connections_lookup_db_password_finish (BastionConnections  *self,
                                               GAsyncResult        *result,
                                               GError             **error)
{
  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_connections_add_temporary_rule (BastionConnections *self,
                                        BastionProfile     *profile,
                                        const char         *group_name,
                                        const char         *cidr)
{
  Entry *entry;

  g_return_if_fail (BASTION_IS_CONNECTIONS (self));

  bastion_connections_lookup (self, profile);
  entry = find_entry (self, profile);
  g_free (entry->rule_group);
  g_free (entry->rule_cidr);
  entry->rule_group = g_strdup (group_name);
  entry->rule_cidr = g_strdup (cidr);
}

static void
on_rule_removed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionConnections) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_aws_remove_rule_finish (BASTION_AWS (source), result, &error))
    g_warning ("Could not remove the temporary SSH rule: %s", error->message);

  self->pending_removals--;
  if (g_application_get_default () != NULL)
    g_application_release (g_application_get_default ());
}

static void
remove_temporary_rule (BastionConnections *self,
                       Entry              *entry)
{
  g_autoptr(BastionAws) aws = NULL;

  if (entry->rule_group == NULL || entry->rule_cidr == NULL)
    return;

  aws = bastion_aws_new (bastion_profile_get_aws_profile (entry->profile),
                         bastion_profile_get_aws_region (entry->profile));
  self->pending_removals++;
  /* The application stays alive until the rule is gone, even if this was the last window. */
  if (g_application_get_default () != NULL)
    g_application_hold (g_application_get_default ());
  bastion_aws_remove_rule_async (aws, entry->rule_group, entry->rule_cidr, NULL,
                                 on_rule_removed, g_object_ref (self));
  g_clear_pointer (&entry->rule_group, g_free);
  g_clear_pointer (&entry->rule_cidr, g_free);
}

static void
on_bastion_stopped (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(BastionConnections) self = user_data;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;

  instance = bastion_aws_stop_bastion_finish (BASTION_AWS (source), result, &error);
  if (instance == NULL)
    g_warning ("Could not stop the bastion instance: %s", error->message);
  self->pending_removals--;
  if (g_application_get_default () != NULL)
    g_application_release (g_application_get_default ());
}

/* The user asked (Preferences) to stop the bastion once nothing uses it, to save money. */
static void
maybe_stop_bastion (BastionConnections *self,
                    Entry              *entry)
{
  const char *prefix = bastion_profile_get_name_prefix (entry->profile);
  g_autoptr(BastionAws) aws = NULL;
  g_autofree char *name = NULL;
  GHashTableIter iter;
  Entry *other;

  if (self->settings == NULL || !g_settings_get_boolean (self->settings, "stop-bastion-when-done")
      || prefix == NULL || prefix[0] == '\0' || entry->ready_since == 0)
    return;

  name = bastion_aws_bastion_instance_name (prefix, bastion_profile_get_stage (entry->profile));
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &other))
    {
      const char *other_prefix = bastion_profile_get_name_prefix (other->profile);
      g_autofree char *other_name = NULL;

      if (other == entry || !stage_serves (bastion_connection_get_stage (other->connection)) ||
          other_prefix == NULL)
        continue;
      other_name = bastion_aws_bastion_instance_name (other_prefix,
                                                      bastion_profile_get_stage (other->profile));
      if (g_strcmp0 (name, other_name) == 0)
        return;
    }

  aws = bastion_aws_new (bastion_profile_get_aws_profile (entry->profile),
                         bastion_profile_get_aws_region (entry->profile));
  self->pending_removals++;
  if (g_application_get_default () != NULL)
    g_application_hold (g_application_get_default ());
  bastion_aws_stop_bastion_async (aws, name, FALSE, NULL, on_bastion_stopped,
                                  g_object_ref (self));
}

/* The preferences apply from the next open. */
static void
apply_settings (BastionConnections *self,
                Entry              *entry)
{
  if (self->settings == NULL)
    return;

  bastion_connection_set_keepalive_interval (entry->connection,
                                             g_settings_get_uint (self->settings,
                                                                  "keepalive-interval"));
  bastion_connection_set_reconnect (entry->connection,
                                    g_settings_get_boolean (self->settings, "reconnect"));
}

static void
disconnect_entry (BastionConnections *self,
                  Entry              *entry)
{
  maybe_stop_bastion (self, entry);
  bastion_connection_close (entry->connection);
  apply_settings (self, entry);
  bastion_launcher_cleanup (self->launcher, bastion_profile_get_id (entry->profile));
  remove_temporary_rule (self, entry);
  entry->ready_since = 0;
}

void
bastion_connections_disconnect (BastionConnections *self,
                                BastionProfile     *profile)
{
  Entry *entry;

  g_return_if_fail (BASTION_IS_CONNECTIONS (self));
  g_return_if_fail (BASTION_IS_PROFILE (profile));

  entry = find_entry (self, profile);
  if (entry != NULL)
    disconnect_entry (self, entry);
}

void
bastion_connections_disconnect_all (BastionConnections *self)
{
  GHashTableIter iter;
  Entry *entry;

  g_return_if_fail (BASTION_IS_CONNECTIONS (self));

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    disconnect_entry (self, entry);
  bastion_launcher_cleanup_all (self->launcher);
}

static gboolean
on_removal_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_app_shutdown (GApplication       *app,
                 BastionConnections *self)
{
  gboolean timed_out = FALSE;
  guint timeout_id;

  bastion_connections_disconnect_all (self);

  /* The main loop has ended: finish removing temporary rules here, but never hang the exit on
   * an unreachable AWS endpoint. */
  timeout_id = g_timeout_add_seconds (10, on_removal_timeout, &timed_out);
  while (self->pending_removals > 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  else
    g_warning ("Gave up waiting for a temporary SSH rule to be removed");
}

BastionSecrets *
bastion_connections_get_secrets (BastionConnections *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), NULL);

  return bastion_secrets_get_default ();
}

BastionLauncher *
bastion_connections_get_launcher (BastionConnections *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTIONS (self), NULL);

  return self->launcher;
}

static void
bastion_connections_finalize (GObject *object)
{
  BastionConnections *self = BASTION_CONNECTIONS (object);

  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_object (&self->launcher);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (bastion_connections_parent_class)->finalize (object);
}

static void
bastion_connections_class_init (BastionConnectionsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_connections_finalize;
}

static void
bastion_connections_init (BastionConnections *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) entry_free);
  self->launcher = bastion_launcher_new ();
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema != NULL)
    self->settings = g_settings_new (APP_ID);
}

BastionConnections *
bastion_connections_get_default (void)
{
  if (default_registry == NULL)
    {
      GApplication *app = g_application_get_default ();

      default_registry = g_object_new (BASTION_TYPE_CONNECTIONS, NULL);
      g_object_add_weak_pointer (G_OBJECT (default_registry), (gpointer *) &default_registry);
      if (app != NULL)
        g_signal_connect_object (app, "shutdown", G_CALLBACK (on_app_shutdown), default_registry,
                                 0);
    }

  return default_registry;
}
