/* bastion-profile-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-profile-store-private.h"
#include "bastion-simpleiot.h"

#define AUTOSAVE_DELAY_MS 250
#define REIMPORT_DELAY_MS 300


enum {
  PROP_0,
  PROP_AUTOSAVE,
  N_PROPS
};

enum {
  PROFILE_CHANGED,
  SIMPLEIOT_IMPORTED,
  SAVE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BastionProfileStore, bastion_profile_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

G_DEFINE_QUARK (bastion-profile-store-error-quark, bastion_profile_store_error)

static GType
list_model_get_item_type (GListModel *model)
{
  return BASTION_TYPE_PROFILE;
}

static guint
list_model_get_n_items (GListModel *model)
{
  BastionProfileStore *self = BASTION_PROFILE_STORE (model);

  return self->profiles->len;
}

static gpointer
list_model_get_item (GListModel *model,
                     guint       position)
{
  BastionProfileStore *self = BASTION_PROFILE_STORE (model);

  if (position >= self->profiles->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->profiles, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_model_get_item_type;
  iface->get_n_items = list_model_get_n_items;
  iface->get_item = list_model_get_item;
}

static int
compare_profiles (BastionProfile *a,
                  BastionProfile *b)
{
  const char *na = bastion_profile_get_display_name (a);
  const char *nb = bastion_profile_get_display_name (b);
  g_autofree char *ka = g_utf8_casefold (na ? na : bastion_profile_get_id (a), -1);
  g_autofree char *kb = g_utf8_casefold (nb ? nb : bastion_profile_get_id (b), -1);
  int cmp = g_utf8_collate (ka, kb);

  if (cmp != 0)
    return cmp;

  return g_strcmp0 (bastion_profile_get_id (a), bastion_profile_get_id (b));
}

/* Where profile goes among the others (profile itself not counted). */
static guint
sorted_position (BastionProfileStore *self,
                 BastionProfile      *profile)
{
  guint pos = 0;

  for (guint i = 0; i < self->profiles->len; i++)
    {
      BastionProfile *other = g_ptr_array_index (self->profiles, i);

      if (other == profile)
        continue;
      if (compare_profiles (other, profile) < 0)
        pos++;
    }

  return pos;
}

static gboolean
autosave_cb (gpointer user_data)
{
  BastionProfileStore *self = user_data;
  g_autoptr(GError) error = NULL;

  self->autosave_source = 0;

  if (!bastion_profile_store_save (self, &error))
    {
      g_warning ("Autosave of %s failed: %s", self->path, error->message);
      g_signal_emit (self, signals[SAVE_FAILED], 0, error);
    }

  return G_SOURCE_REMOVE;
}

void
bastion_profile_store_schedule_autosave (BastionProfileStore *self)
{
  if (!self->autosave || self->autosave_source != 0)
    return;

  self->autosave_source = g_timeout_add (AUTOSAVE_DELAY_MS, autosave_cb, self);
}

static void
on_profile_notify (BastionProfile      *profile,
                   GParamSpec          *pspec,
                   BastionProfileStore *self)
{
  if (g_str_equal (pspec->name, "display-name"))
    {
      guint old_pos, new_pos;

      if (g_ptr_array_find (self->profiles, profile, &old_pos))
        {
          new_pos = sorted_position (self, profile);
          if (new_pos != old_pos)
            {
              g_object_ref (profile);
              g_ptr_array_remove_index (self->profiles, old_pos);
              g_list_model_items_changed (G_LIST_MODEL (self), old_pos, 1, 0);
              g_ptr_array_insert (self->profiles, new_pos, profile);
              g_list_model_items_changed (G_LIST_MODEL (self), new_pos, 0, 1);
            }
        }
    }

  g_hash_table_add (self->dirty_ids, g_strdup (bastion_profile_get_id (profile)));
  g_signal_emit (self, signals[PROFILE_CHANGED], 0, profile, pspec);
  bastion_profile_store_schedule_autosave (self);
}

void
bastion_profile_store_insert (BastionProfileStore *self,
                              BastionProfile      *profile)
{
  guint pos = sorted_position (self, profile);

  g_ptr_array_insert (self->profiles, pos, g_object_ref (profile));
  g_signal_connect (profile, "notify", G_CALLBACK (on_profile_notify), self);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 0, 1);
}

void
bastion_profile_store_clear (BastionProfileStore *self)
{
  guint n = self->profiles->len;

  for (guint i = 0; i < n; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->profiles, i),
                                          on_profile_notify, self);
  g_ptr_array_set_size (self->profiles, 0);
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, n, 0);
}

void
bastion_profile_store_detach (BastionProfileStore *self,
                              guint                pos)
{
  g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->profiles, pos),
                                        on_profile_notify, self);
  g_ptr_array_remove_index (self->profiles, pos);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 1, 0);
}

void
bastion_profile_store_emit_save_failed (BastionProfileStore *self,
                                        const GError        *error)
{
  g_signal_emit (self, signals[SAVE_FAILED], 0, error);
}

static void
bastion_profile_store_dispose (GObject *object)
{
  BastionProfileStore *self = (BastionProfileStore *)object;

  bastion_profile_store_unwatch_simpleiot (self);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  if (self->file_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->file_monitor, self);
      g_file_monitor_cancel (self->file_monitor);
      g_clear_object (&self->file_monitor);
    }

  /* A pending autosave is written now rather than lost. */
  if (self->autosave_source != 0)
    {
      g_clear_handle_id (&self->autosave_source, g_source_remove);
      bastion_profile_store_save (self, NULL);
    }

  if (self->profiles != NULL)
    {
      for (guint i = 0; i < self->profiles->len; i++)
        g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->profiles, i),
                                              on_profile_notify, self);
      g_ptr_array_set_size (self->profiles, 0);
    }

  G_OBJECT_CLASS (bastion_profile_store_parent_class)->dispose (object);
}

static void
bastion_profile_store_finalize (GObject *object)
{
  BastionProfileStore *self = (BastionProfileStore *)object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->profiles, g_ptr_array_unref);
  g_clear_pointer (&self->extra, json_object_unref);
  g_clear_pointer (&self->team_monitors, g_hash_table_unref);
  g_clear_pointer (&self->disk_ids, g_hash_table_unref);
  g_clear_pointer (&self->dirty_ids, g_hash_table_unref);

  G_OBJECT_CLASS (bastion_profile_store_parent_class)->finalize (object);
}

static void
bastion_profile_store_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  BastionProfileStore *self = BASTION_PROFILE_STORE (object);

  switch (prop_id)
    {
    case PROP_AUTOSAVE:
      g_value_set_boolean (value, self->autosave);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_profile_store_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  BastionProfileStore *self = BASTION_PROFILE_STORE (object);

  switch (prop_id)
    {
    case PROP_AUTOSAVE:
      bastion_profile_store_set_autosave (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_profile_store_class_init (BastionProfileStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_profile_store_dispose;
  object_class->finalize = bastion_profile_store_finalize;
  object_class->get_property = bastion_profile_store_get_property;
  object_class->set_property = bastion_profile_store_set_property;

  properties[PROP_AUTOSAVE] =
    g_param_spec_boolean ("autosave", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[PROFILE_CHANGED] =
    g_signal_new ("profile-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, BASTION_TYPE_PROFILE, G_TYPE_PARAM);

  signals[SIMPLEIOT_IMPORTED] =
    g_signal_new ("simpleiot-imported",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);

  signals[SAVE_FAILED] =
    g_signal_new ("save-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
bastion_profile_store_init (BastionProfileStore *self)
{
  self->profiles = g_ptr_array_new_with_free_func (g_object_unref);
  self->extra = json_object_new ();
  self->team_monitors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->disk_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->dirty_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

BastionProfileStore *
bastion_profile_store_new (const char *path)
{
  BastionProfileStore *self = g_object_new (BASTION_TYPE_PROFILE_STORE, NULL);

  if (path != NULL)
    self->path = g_strdup (path);
  else
    self->path = g_build_filename (g_get_user_config_dir (), "bastion", "profiles.json", NULL);

  return self;
}

const char *
bastion_profile_store_get_path (BastionProfileStore *self)
{
  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), NULL);

  return self->path;
}

gboolean
bastion_profile_store_get_autosave (BastionProfileStore *self)
{
  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  return self->autosave;
}

void
bastion_profile_store_set_autosave (BastionProfileStore *self,
                                    gboolean             autosave)
{
  g_return_if_fail (BASTION_IS_PROFILE_STORE (self));

  autosave = !!autosave;
  if (self->autosave == autosave)
    return;

  self->autosave = autosave;
  if (!autosave)
    g_clear_handle_id (&self->autosave_source, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTOSAVE]);
}


BastionProfile *
bastion_profile_store_lookup (BastionProfileStore *self,
                              const char          *id_or_name)
{
  g_autofree char *folded = NULL;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), NULL);
  g_return_val_if_fail (id_or_name != NULL, NULL);

  for (guint i = 0; i < self->profiles->len; i++)
    {
      BastionProfile *profile = g_ptr_array_index (self->profiles, i);

      if (g_str_equal (bastion_profile_get_id (profile), id_or_name))
        return profile;
    }

  for (guint i = 0; i < self->profiles->len; i++)
    {
      BastionProfile *profile = g_ptr_array_index (self->profiles, i);

      if (g_strcmp0 (bastion_profile_get_display_name (profile), id_or_name) == 0)
        return profile;
    }

  folded = g_utf8_casefold (id_or_name, -1);
  for (guint i = 0; i < self->profiles->len; i++)
    {
      BastionProfile *profile = g_ptr_array_index (self->profiles, i);
      const char *name = bastion_profile_get_display_name (profile);
      g_autofree char *other = name ? g_utf8_casefold (name, -1) : NULL;

      if (g_strcmp0 (other, folded) == 0)
        return profile;
    }

  return NULL;
}

static BastionProfile *
find_by_id (BastionProfileStore *self,
            const char          *id)
{
  for (guint i = 0; i < self->profiles->len; i++)
    {
      BastionProfile *profile = g_ptr_array_index (self->profiles, i);

      if (g_str_equal (bastion_profile_get_id (profile), id))
        return profile;
    }

  return NULL;
}

gboolean
bastion_profile_store_add (BastionProfileStore  *self,
                           BastionProfile       *profile,
                           GError              **error)
{
  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), FALSE);

  if (find_by_id (self, bastion_profile_get_id (profile)) != NULL)
    {
      g_set_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_DUPLICATE,
                   _("A profile with the id “%s” already exists"),
                   bastion_profile_get_id (profile));
      return FALSE;
    }

  bastion_profile_store_insert (self, profile);
  g_hash_table_add (self->dirty_ids, g_strdup (bastion_profile_get_id (profile)));
  bastion_profile_store_schedule_autosave (self);

  return TRUE;
}

gboolean
bastion_profile_store_remove (BastionProfileStore *self,
                              BastionProfile      *profile)
{
  guint pos;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), FALSE);

  if (!g_ptr_array_find (self->profiles, profile, &pos))
    return FALSE;

  g_signal_handlers_disconnect_by_func (profile, on_profile_notify, self);
  g_ptr_array_remove_index (self->profiles, pos);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 1, 0);
  bastion_profile_store_schedule_autosave (self);

  return TRUE;
}

static void
on_secrets_cleared (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_secrets_clear_profile_finish (BASTION_SECRETS (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
bastion_profile_store_delete_async (BastionProfileStore *self,
                                    BastionProfile      *profile,
                                    BastionSecrets      *secrets,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_PROFILE_STORE (self));
  g_return_if_fail (BASTION_IS_PROFILE (profile));
  g_return_if_fail (!secrets || BASTION_IS_SECRETS (secrets));

  if (secrets == NULL)
    secrets = bastion_secrets_get_default ();

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_profile_store_delete_async);

  bastion_profile_store_remove (self, profile);
  bastion_secrets_clear_profile_async (secrets, bastion_profile_get_id (profile), cancellable,
                                       on_secrets_cleared, g_steal_pointer (&task));
}

gboolean
bastion_profile_store_delete_finish (BastionProfileStore  *self,
                                     GAsyncResult         *result,
                                     GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == bastion_profile_store_delete_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
bastion_profile_store_import_simpleiot (BastionProfileStore  *self,
                                        const char           *dir,
                                        GPtrArray           **warnings,
                                        GError              **error)
{
  return bastion_profile_store_import_simpleiot_full (self, dir, NULL, warnings, error);
}

gboolean
bastion_profile_store_import_simpleiot_full (BastionProfileStore  *self,
                                             const char           *dir,
                                             GPtrArray           **imported,
                                             GPtrArray           **warnings,
                                             GError              **error)
{
  g_autoptr(GPtrArray) local_warnings = NULL;
  g_autoptr(GPtrArray) scanned = NULL;
  g_autoptr(GPtrArray) done = NULL;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  local_warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  scanned = bastion_simpleiot_scan (dir, local_warnings, error);
  if (scanned == NULL)
    return FALSE;

  done = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < scanned->len; i++)
    {
      BastionProfile *team = g_ptr_array_index (scanned, i);
      BastionProfile *existing = find_by_id (self, bastion_profile_get_id (team));

      if (existing != NULL)
        {
          if (bastion_profile_update_from_team (existing, team))
            g_debug ("Refreshed team profile %s", bastion_profile_get_id (existing));
          g_ptr_array_add (done, g_object_ref (existing));
        }
      else
        {
          bastion_profile_store_insert (self, team);
          g_hash_table_add (self->dirty_ids, g_strdup (bastion_profile_get_id (team)));
          g_debug ("Imported team profile %s", bastion_profile_get_id (team));
          g_ptr_array_add (done, g_object_ref (team));
        }
    }

  bastion_profile_store_schedule_autosave (self);

  if (imported)
    *imported = g_steal_pointer (&done);
  if (warnings)
    *warnings = g_steal_pointer (&local_warnings);

  return TRUE;
}

static void watch_team_folders (BastionProfileStore *self);

static gboolean
reimport_cb (gpointer user_data)
{
  BastionProfileStore *self = user_data;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GError) error = NULL;

  self->reimport_source = 0;

  if (!bastion_profile_store_import_simpleiot (self, self->watch_dir, &warnings, &error))
    {
      /* The folder went away or is unreadable: that is news too. */
      warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      g_ptr_array_add (warnings, g_steal_pointer (&error));
    }

  watch_team_folders (self);
  g_signal_emit (self, signals[SIMPLEIOT_IMPORTED], 0, warnings);

  return G_SOURCE_REMOVE;
}

static void
on_folder_changed (GFileMonitor      *monitor,
                   GFile             *file,
                   GFile             *other_file,
                   GFileMonitorEvent  event,
                   gpointer           user_data)
{
  BastionProfileStore *self = user_data;

  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED
      || event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT
      || event == G_FILE_MONITOR_EVENT_CHANGED)
    return;

  /* Installers write several files in a row: import once they are done. */
  g_clear_handle_id (&self->reimport_source, g_source_remove);
  self->reimport_source = g_timeout_add (REIMPORT_DELAY_MS, reimport_cb, self);
}

static void
watch_team_folders (BastionProfileStore *self)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GHashTable) present = NULL;
  GHashTableIter iter;
  gpointer key, value;
  const char *name;

  if (self->watch_dir == NULL)
    return;

  present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  dir = g_dir_open (self->watch_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)))
    {
      g_autofree char *path = NULL;

      if (name[0] == '_' || name[0] == '.')
        continue;
      path = g_build_filename (self->watch_dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;

      g_hash_table_add (present, g_strdup (path));
      if (!g_hash_table_contains (self->team_monitors, path))
        {
          g_autoptr(GFile) file = g_file_new_for_path (path);
          GFileMonitor *monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES,
                                                            NULL, NULL);

          if (monitor != NULL)
            {
              g_signal_connect (monitor, "changed", G_CALLBACK (on_folder_changed), self);
              g_hash_table_insert (self->team_monitors, g_steal_pointer (&path), monitor);
            }
        }
    }

  g_hash_table_iter_init (&iter, self->team_monitors);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!g_hash_table_contains (present, key))
        {
          g_signal_handlers_disconnect_by_data (value, self);
          g_file_monitor_cancel (value);
          g_hash_table_iter_remove (&iter);
        }
    }
}

gboolean
bastion_profile_store_watch_simpleiot (BastionProfileStore  *self,
                                       const char           *dir,
                                       GError              **error)
{
  g_autoptr(GFile) file = NULL;
  GFileMonitor *monitor;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  bastion_profile_store_unwatch_simpleiot (self);

  self->watch_dir = dir ? g_strdup (dir) : bastion_simpleiot_dup_default_dir ();
  file = g_file_new_for_path (self->watch_dir);
  monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, error);
  if (monitor == NULL)
    {
      g_clear_pointer (&self->watch_dir, g_free);
      return FALSE;
    }

  self->watch_monitor = monitor;
  g_signal_connect (monitor, "changed", G_CALLBACK (on_folder_changed), self);
  watch_team_folders (self);

  return TRUE;
}

void
bastion_profile_store_unwatch_simpleiot (BastionProfileStore *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (BASTION_IS_PROFILE_STORE (self));

  g_clear_handle_id (&self->reimport_source, g_source_remove);
  if (self->watch_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->watch_monitor, self);
      g_file_monitor_cancel (self->watch_monitor);
      g_clear_object (&self->watch_monitor);
    }

  if (self->team_monitors != NULL)
    {
      g_hash_table_iter_init (&iter, self->team_monitors);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          g_signal_handlers_disconnect_by_data (value, self);
          g_file_monitor_cancel (value);
        }
      g_hash_table_remove_all (self->team_monitors);
    }

  g_clear_pointer (&self->watch_dir, g_free);
}
