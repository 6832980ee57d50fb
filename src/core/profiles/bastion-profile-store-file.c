/* bastion-profile-store-file.c: profiles.json for BastionProfileStore. Read through the bounded
 * reader; saved by read-modify-write under an advisory lock, merging what other processes saved;
 * reloaded when it changes under a running app.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-bounded-file.h"
#include "bastion-profile-store-private.h"

#define RELOAD_DELAY_MS 200
/* profiles.json of a thousand profiles is ~1 MB. */
#define MAX_PROFILES_SIZE (8 * 1024 * 1024)
/* Another process holds the lock only for a read-modify-write: milliseconds. */
#define LOCK_TIMEOUT_MS 10000
/* A temporary file of a save older than this was left by a writer that died. */
#define STALE_TEMP_AGE_S 60

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

  bastion_profile_store_clear (self);
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
    bastion_profile_store_insert (self, g_ptr_array_index (contents.profiles, i));
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
  bastion_profile_store_detach (self, pos);
  bastion_profile_store_insert (self, profile);
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
            bastion_profile_store_insert (self, theirs);
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
      const char *id = bastion_profile_get_id (g_ptr_array_index (self->profiles, i - 1));

      /* Removed there, untouched here: follow. */
      if (!g_hash_table_contains (on_disk, id) && g_hash_table_contains (self->disk_ids, id)
          && !g_hash_table_contains (self->dirty_ids, id))
        bastion_profile_store_detach (self, i - 1);
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

/* profiles.json as it is written: the unknown top-level members kept, the version, then every
 * profile. */
static char *
dup_profiles_json (BastionProfileStore *self,
                   gsize               *length)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GList) members = json_object_get_members (self->extra);
  JsonObject *object = json_object_new ();
  JsonArray *array = json_array_new ();

  for (const GList *l = members; l; l = l->next)
    json_object_set_member (object, l->data,
                            json_node_copy (json_object_get_member (self->extra, l->data)));
  json_object_set_int_member (object, "version", BASTION_PROFILE_STORE_VERSION);
  for (guint i = 0; i < self->profiles->len; i++)
    json_array_add_object_element (array,
                                   bastion_profile_to_json (g_ptr_array_index (self->profiles, i)));
  json_object_set_array_member (object, "profiles", array);

  root = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, length);
}

gboolean
bastion_profile_store_save (BastionProfileStore  *self,
                            GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *data = NULL;
  g_auto(FileContents) disk = { NULL, NULL };
  gboolean missing = FALSE, written;
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

  data = dup_profiles_json (self, &length);

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
        bastion_profile_store_emit_save_failed (self, error);
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
      bastion_profile_store_schedule_autosave (self);
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
