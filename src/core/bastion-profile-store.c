/* bastion-profile-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-profile-store.h"
#include "bastion-simpleiot.h"

#define AUTOSAVE_DELAY_MS 250
#define REIMPORT_DELAY_MS 300
#define RELOAD_DELAY_MS 200
/* profiles.json of a thousand profiles is ~1 MB. */
#define MAX_PROFILES_SIZE (8 * 1024 * 1024)
/* Another process holds the lock only for a read-modify-write: milliseconds. */
#define LOCK_TIMEOUT_MS 10000
/* A temporary file of a save older than this was left by a writer that died. */
#define STALE_TEMP_AGE_S 60

struct _BastionProfileStore
{
  GObject     parent_instance;

  /* Owned */
  char       *path;
  GPtrArray  *profiles;          /* BastionProfile, sorted */
  JsonObject *extra;             /* top-level members we do not know */
  char       *watch_dir;
  GFileMonitor *watch_monitor;
  GHashTable *team_monitors;     /* team dir path -> GFileMonitor */
  GFileMonitor *file_monitor;    /* profiles.json itself, for changes by other processes */
  /* Merging with what other processes saved (read–modify–write under the lock): */
  GHashTable *disk_ids;          /* ids the file held when last read or written */
  GHashTable *dirty_ids;         /* ids changed here since then */

  /* Sources */
  guint       autosave_source;
  guint       reimport_source;
  guint       reload_source;

  guint       autosave : 1;
  guint       load_failed : 1;
};

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

static void
schedule_autosave (BastionProfileStore *self)
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
  schedule_autosave (self);
}

static void
insert_profile (BastionProfileStore *self,
                BastionProfile      *profile)
{
  guint pos = sorted_position (self, profile);

  g_ptr_array_insert (self->profiles, pos, g_object_ref (profile));
  g_signal_connect (profile, "notify", G_CALLBACK (on_profile_notify), self);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 0, 1);
}

static void
clear_profiles (BastionProfileStore *self)
{
  guint n = self->profiles->len;

  for (guint i = 0; i < n; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->profiles, i),
                                          on_profile_notify, self);
  g_ptr_array_set_size (self->profiles, 0);
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, n, 0);
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

static void
set_error_detail (GError     **error,
                  const char  *path,
                  int          code,
                  const char  *detail)
{
  g_set_error (error, BASTION_PROFILE_STORE_ERROR, code,
               /* Translators: a file name, then what is wrong with it */
               _("Cannot load the profiles in %s: %s. Bastion will not overwrite the file; "
                 "fix it or move it away"),
               path, detail);
}

/* What profiles.json holds: its profiles (in file order) and the top-level members this version
 * does not know. */
typedef struct
{
  GPtrArray  *profiles;
  JsonObject *extra;
} FileContents;

static void
file_contents_clear (FileContents *contents)
{
  g_clear_pointer (&contents->profiles, g_ptr_array_unref);
  g_clear_pointer (&contents->extra, json_object_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FileContents, file_contents_clear)

static gboolean
parse_profiles (const char    *path,
                JsonObject    *root_object,
                FileContents  *out,
                GError       **error)
{
  JsonNode *node = json_object_get_member (root_object, "profiles");
  JsonArray *array;

  if (node != NULL && !JSON_NODE_HOLDS_ARRAY (node))
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                        _("“profiles” is not a list"));
      return FALSE;
    }
  array = node ? json_node_get_array (node) : NULL;
  for (guint i = 0; array && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autoptr(GError) local_error = NULL;
      g_autoptr(BastionProfile) profile = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_autofree char *detail = g_strdup_printf (_("profile %u is not a JSON object"), i + 1);

          set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED, detail);
          return FALSE;
        }

      profile = bastion_profile_new_from_json (json_node_get_object (element), &local_error);
      if (profile == NULL)
        {
          set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                            local_error->message);
          return FALSE;
        }

      for (guint j = 0; j < out->profiles->len; j++)
        {
          if (g_str_equal (bastion_profile_get_id (g_ptr_array_index (out->profiles, j)),
                           bastion_profile_get_id (profile)))
            {
              g_autofree char *detail =
                g_strdup_printf (_("two profiles have the id “%s”"),
                                 bastion_profile_get_id (profile));

              set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED, detail);
              return FALSE;
            }
        }

      g_ptr_array_add (out->profiles, g_steal_pointer (&profile));
    }

  return TRUE;
}

/* Reads and parses PATH through the bounded reader: never blocks on a FIFO or device, at most
 * 8 MiB, JSON at most 64 levels deep. A missing file is empty contents (*missing set). */
static gboolean
read_profiles_file (const char    *path,
                    FileContents  *out,
                    gboolean      *missing,
                    GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GList) members = NULL;
  g_autofree char *contents = NULL;
  JsonObject *root_object;
  JsonNode *root, *node;
  gsize length = 0;

  out->profiles = g_ptr_array_new_with_free_func (g_object_unref);
  out->extra = json_object_new ();
  *missing = FALSE;

  if (!bastion_bounded_file_read (path, MAX_PROFILES_SIZE, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          *missing = TRUE;
          return TRUE;
        }
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED, local_error->message);
      return FALSE;
    }

  if (!g_utf8_validate (contents, length, NULL))
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                        _("the file is not UTF-8 text"));
      return FALSE;
    }

  parser = bastion_json_parse_bounded (contents, length, path, &local_error);
  if (parser == NULL)
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED, local_error->message);
      return FALSE;
    }

  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                        _("the file does not hold a JSON object"));
      return FALSE;
    }
  root_object = json_node_get_object (root);

  node = json_object_get_member (root_object, "version");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                        _("“version” is missing or not a number"));
      return FALSE;
    }
  if (json_node_get_int (node) > BASTION_PROFILE_STORE_VERSION)
    {
      set_error_detail (error, path, BASTION_PROFILE_STORE_ERROR_TOO_NEW,
                        _("a newer version of Bastion wrote it; update Bastion"));
      return FALSE;
    }

  if (!parse_profiles (path, root_object, out, error))
    return FALSE;

  members = json_object_get_members (root_object);
  for (const GList *l = members; l; l = l->next)
    {
      if (g_str_equal (l->data, "version") || g_str_equal (l->data, "profiles"))
        continue;
      json_object_set_member (out->extra, l->data,
                              json_node_copy (json_object_get_member (root_object, l->data)));
    }

  return TRUE;
}

static void
remember_disk_ids (BastionProfileStore *self,
                   GPtrArray           *profiles)
{
  g_hash_table_remove_all (self->disk_ids);
  for (guint i = 0; i < profiles->len; i++)
    g_hash_table_add (self->disk_ids,
                      g_strdup (bastion_profile_get_id (g_ptr_array_index (profiles, i))));
}

gboolean
bastion_profile_store_load (BastionProfileStore  *self,
                            GError              **error)
{
  g_auto(FileContents) contents = { NULL, NULL };
  gboolean missing;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  clear_profiles (self);
  g_clear_pointer (&self->extra, json_object_unref);
  self->extra = json_object_new ();
  self->load_failed = FALSE;
  g_hash_table_remove_all (self->disk_ids);
  g_hash_table_remove_all (self->dirty_ids);

  if (!read_profiles_file (self->path, &contents, &missing, error))
    {
      self->load_failed = TRUE;
      return FALSE;
    }

  json_object_unref (self->extra);
  self->extra = g_steal_pointer (&contents.extra);
  for (guint i = 0; i < contents.profiles->len; i++)
    insert_profile (self, g_ptr_array_index (contents.profiles, i));
  remember_disk_ids (self, contents.profiles);

  g_debug ("Loaded %u profiles from %s", contents.profiles->len, self->path);

  return TRUE;
}

static char *
profile_json_text (BastionProfile *profile)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = bastion_profile_to_json (profile);

  json_node_take_object (node, object);
  return json_to_string (node, FALSE);
}

static void
replace_profile (BastionProfileStore *self,
                 guint                pos,
                 BastionProfile      *profile)
{
  BastionProfile *old = g_ptr_array_index (self->profiles, pos);

  g_signal_handlers_disconnect_by_func (old, on_profile_notify, self);
  g_ptr_array_remove_index (self->profiles, pos);
  g_list_model_items_changed (G_LIST_MODEL (self), pos, 1, 0);
  insert_profile (self, profile);
}

/* Takes in what other processes saved since this store last read or wrote the file: profiles
 * added there are added here, ones changed or removed there (and not changed here) follow, and
 * ours win where both changed. A profile removed here stays removed. */
static void
merge_from_disk (BastionProfileStore *self,
                 FileContents        *disk)
{
  g_autoptr(GHashTable) on_disk = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) members = json_object_get_members (disk->extra);

  for (guint i = 0; i < disk->profiles->len; i++)
    {
      BastionProfile *theirs = g_ptr_array_index (disk->profiles, i);
      const char *id = bastion_profile_get_id (theirs);
      guint pos;

      g_hash_table_add (on_disk, (gpointer) id);
      if (g_hash_table_contains (self->dirty_ids, id))
        continue;

      for (pos = 0; pos < self->profiles->len; pos++)
        if (g_str_equal (bastion_profile_get_id (g_ptr_array_index (self->profiles, pos)), id))
          break;

      if (pos == self->profiles->len)
        {
          /* Known from the file and gone here: removed here, on purpose. */
          if (!g_hash_table_contains (self->disk_ids, id))
            insert_profile (self, theirs);
        }
      else
        {
          g_autofree char *a = profile_json_text (g_ptr_array_index (self->profiles, pos));
          g_autofree char *b = profile_json_text (theirs);

          if (!g_str_equal (a, b))
            replace_profile (self, pos, theirs);
        }
    }

  for (guint i = self->profiles->len; i > 0; i--)
    {
      BastionProfile *ours = g_ptr_array_index (self->profiles, i - 1);
      const char *id = bastion_profile_get_id (ours);

      if (!g_hash_table_contains (on_disk, id) && g_hash_table_contains (self->disk_ids, id)
          && !g_hash_table_contains (self->dirty_ids, id))
        {
          g_signal_handlers_disconnect_by_func (ours, on_profile_notify, self);
          g_ptr_array_remove_index (self->profiles, i - 1);
          g_list_model_items_changed (G_LIST_MODEL (self), i - 1, 1, 0);
        }
    }

  for (const GList *l = members; l; l = l->next)
    if (!json_object_has_member (self->extra, l->data))
      json_object_set_member (self->extra, l->data,
                              json_node_copy (json_object_get_member (disk->extra, l->data)));

  remember_disk_ids (self, disk->profiles);
}

/* flock() on profiles.json.lock beside the file (never on the file itself, which a save
 * replaces). Waits at most LOCK_TIMEOUT_MS without blocking in the kernel forever. */
static int
take_lock (const char  *path,
           int          operation,
           GError     **error)
{
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
  int fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot open the lock file %s: %s"), lock_path, g_strerror (saved_errno));
      return -1;
    }

  for (guint waited = 0; flock (fd, operation | LOCK_NB) != 0; waited += 10)
    {
      if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= LOCK_TIMEOUT_MS)
        {
          int saved_errno = errno;

          close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       _("Another Bastion has held the lock file %s for %u s; close it or "
                         "try again"),
                       lock_path, LOCK_TIMEOUT_MS / 1000);
          return -1;
        }
      g_usleep (10 * 1000);
    }

  return fd;
}

/* Temporary files of g_file_set_contents() ("profiles.json.XXXXXX") that a killed writer left.
 * Called under the lock, so no live writer of ours is mid-save; the age spares a writer that
 * does not take the lock (an older Bastion). */
static void
remove_stale_temp_files (const char *path)
{
  g_autofree char *dir_path = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  gsize base_len = strlen (base);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = NULL;
      GStatBuf st;
      gboolean template = strlen (name) == base_len + 7 && strncmp (name, base, base_len) == 0
                          && name[base_len] == '.';

      for (gsize i = base_len + 1; template && name[i] != '\0'; i++)
        template = g_ascii_isalnum (name[i]);
      if (!template)
        continue;

      full = g_build_filename (dir_path, name, NULL);
      if (g_lstat (full, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == geteuid ()
          && now - st.st_mtime > STALE_TEMP_AGE_S && g_unlink (full) == 0)
        g_debug ("Removed %s, left by a save that did not finish", full);
    }
}

gboolean
bastion_profile_store_save (BastionProfileStore  *self,
                            GError              **error)
{
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GList) members = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *data = NULL;
  g_auto(FileContents) disk = { NULL, NULL };
  gboolean missing = FALSE, written;
  JsonObject *object;
  JsonArray *array;
  gsize length;
  int lock_fd;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  if (self->load_failed)
    {
      g_set_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_NOT_LOADED,
                   _("Not saving the profiles: %s could not be loaded and would be lost; "
                     "fix it or move it away, then restart Bastion"),
                   self->path);
      return FALSE;
    }

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_MALFORMED,
                   _("Cannot save the profiles: cannot create the folder %s (%s); check its "
                     "permissions"),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  /* Read–modify–write under the lock: another bastion-cli or the app may have saved since we
   * read the file, and its changes are merged, not overwritten. */
  lock_fd = take_lock (self->path, LOCK_EX, &local_error);
  if (lock_fd < 0)
    {
      g_set_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_LOCKED,
                   _("Cannot save the profiles to %s: %s. The previous file is unchanged; "
                     "check that the folder is writable and the disk has room"),
                   self->path, local_error->message);
      return FALSE;
    }
  remove_stale_temp_files (self->path);
  if (!read_profiles_file (self->path, &disk, &missing, &local_error))
    {
      close (lock_fd);
      g_set_error (error, BASTION_PROFILE_STORE_ERROR, BASTION_PROFILE_STORE_ERROR_NOT_LOADED,
                   _("Not saving the profiles: %s"), local_error->message);
      return FALSE;
    }
  if (!missing)
    merge_from_disk (self, &disk);

  object = json_object_new ();
  members = json_object_get_members (self->extra);
  for (const GList *l = members; l; l = l->next)
    json_object_set_member (object, l->data,
                            json_node_copy (json_object_get_member (self->extra, l->data)));
  json_object_set_int_member (object, "version", BASTION_PROFILE_STORE_VERSION);
  array = json_array_new ();
  for (guint i = 0; i < self->profiles->len; i++)
    json_array_add_object_element (array,
                                   bastion_profile_to_json (g_ptr_array_index (self->profiles, i)));
  json_object_set_array_member (object, "profiles", array);

  root = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);

  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &length);

  /* A temporary file renamed over the old one: a failed write leaves the old file whole. */
  written = g_file_set_contents_full (self->path, data, length,
                                      G_FILE_SET_CONTENTS_CONSISTENT
                                      | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                      0600, &local_error);
  close (lock_fd);
  if (!written)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot save the profiles to %s: %s. The previous file is unchanged; "
                     "check that the folder is writable and the disk has room"),
                   self->path, local_error->message);
      return FALSE;
    }

  remember_disk_ids (self, self->profiles);
  g_hash_table_remove_all (self->dirty_ids);

  g_debug ("Saved %u profiles to %s", self->profiles->len, self->path);

  return TRUE;
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

  insert_profile (self, profile);
  g_hash_table_add (self->dirty_ids, g_strdup (bastion_profile_get_id (profile)));
  schedule_autosave (self);

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
  schedule_autosave (self);

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
          insert_profile (self, team);
          g_hash_table_add (self->dirty_ids, g_strdup (bastion_profile_get_id (team)));
          g_debug ("Imported team profile %s", bastion_profile_get_id (team));
          g_ptr_array_add (done, g_object_ref (team));
        }
    }

  schedule_autosave (self);

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

static gboolean
reload_cb (gpointer user_data)
{
  BastionProfileStore *self = user_data;
  g_auto(FileContents) disk = { NULL, NULL };
  g_autoptr(GError) error = NULL;
  gboolean missing;

  self->reload_source = 0;

  if (!read_profiles_file (self->path, &disk, &missing, &error))
    {
      /* Still (or newly) unreadable: said once at load, or now. */
      if (!self->load_failed)
        g_signal_emit (self, signals[SAVE_FAILED], 0, error);
      return G_SOURCE_REMOVE;
    }

  if (self->load_failed)
    {
      /* Fixed meanwhile: what it holds joins what this store has (the teams imported since),
       * and saving is allowed again. */
      g_debug ("%s can be loaded now", self->path);
      self->load_failed = FALSE;
      g_hash_table_remove_all (self->disk_ids);
      for (guint i = 0; i < self->profiles->len; i++)
        g_hash_table_add (self->dirty_ids,
                          g_strdup (bastion_profile_get_id (g_ptr_array_index (self->profiles,
                                                                                i))));
      schedule_autosave (self);
    }
  if (!missing)
    merge_from_disk (self, &disk);

  return G_SOURCE_REMOVE;
}

static void
on_file_changed (GFileMonitor      *monitor,
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

  g_clear_handle_id (&self->reload_source, g_source_remove);
  self->reload_source = g_timeout_add (RELOAD_DELAY_MS, reload_cb, self);
}

gboolean
bastion_profile_store_watch_file (BastionProfileStore  *self,
                                  GError              **error)
{
  g_autoptr(GFile) file = NULL;

  g_return_val_if_fail (BASTION_IS_PROFILE_STORE (self), FALSE);

  if (self->file_monitor != NULL)
    return TRUE;

  file = g_file_new_for_path (self->path);
  self->file_monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, error);
  if (self->file_monitor == NULL)
    return FALSE;

  g_signal_connect (self->file_monitor, "changed", G_CALLBACK (on_file_changed), self);

  return TRUE;
}
