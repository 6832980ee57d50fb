/* bastion-runtime-dir.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The private folder where Bastion hands connection files (pgpass, pg_service.conf, pgAdmin's
 * servers.json) to external tools: $XDG_RUNTIME_DIR/bastion/ (mode 0700, ours). Every running
 * Bastion process gets its own sub-folder "<pid>-<random>" next to a lock file of the same name
 * that it holds with flock() for its whole life. A lock that can be taken belongs to a process
 * that is gone, so its folder is stale and is removed; a live instance's files are never
 * touched, whatever its pid.
 *
 * Inside a Flatpak sandbox the tools run on the host (flatpak-spawn --host) and must find the
 * files at the same path: the base is then $XDG_RUNTIME_DIR/app/$FLATPAK_ID/bastion, inside the
 * one folder of $XDG_RUNTIME_DIR that Flatpak shares, writable and at the same path, between an
 * app's sandbox and the host (docs.flatpak.org, "Sandbox Permissions").
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-runtime-dir.h"

struct _BastionRuntimeDir
{
  GObject parent_instance;

  /* Owned */
  char *base;
  char *instance_name;
  char *instance;
  char *lock_path;
  char *xdg_relative;   /* the base below $XDG_RUNTIME_DIR, or NULL */

  int lock_fd;

  guint is_xdg_runtime : 1;
  guint make_parents : 1;
};

G_DEFINE_FINAL_TYPE (BastionRuntimeDir, bastion_runtime_dir, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-runtime-dir-error-quark, bastion_runtime_dir_error)

static BastionRuntimeDir *default_dir;

static void
bastion_runtime_dir_finalize (GObject *object)
{
  BastionRuntimeDir *self = (BastionRuntimeDir *)object;

  /* Files stay until release(): finalizing is not the same as the connection ending. */
  if (self->lock_fd >= 0)
    close (self->lock_fd);

  g_clear_pointer (&self->base, g_free);
  g_clear_pointer (&self->instance_name, g_free);
  g_clear_pointer (&self->instance, g_free);
  g_clear_pointer (&self->lock_path, g_free);
  g_clear_pointer (&self->xdg_relative, g_free);

  G_OBJECT_CLASS (bastion_runtime_dir_parent_class)->finalize (object);
}

static void
bastion_runtime_dir_class_init (BastionRuntimeDirClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_runtime_dir_finalize;
}

static void
bastion_runtime_dir_init (BastionRuntimeDir *self)
{
  self->lock_fd = -1;
}

/**
 * bastion_runtime_dir_new:
 * @base: (nullable): the folder to use, or %NULL for $XDG_RUNTIME_DIR/bastion (or, without
 *   $XDG_RUNTIME_DIR, a private folder in the user's cache folder)
 *
 * Nothing is created before the first file is written.
 */
BastionRuntimeDir *
bastion_runtime_dir_new (const char *base)
{
  BastionRuntimeDir *self = g_object_new (BASTION_TYPE_RUNTIME_DIR, NULL);
  const char *xdg = g_getenv ("XDG_RUNTIME_DIR");

  if (base != NULL)
    {
      self->base = g_strdup (base);
    }
  else if (xdg != NULL && xdg[0] == '/')
    {
      self->base = g_build_filename (xdg, "bastion", NULL);
      self->xdg_relative = g_strdup ("bastion");
      self->is_xdg_runtime = TRUE;
    }
  else
    {
      self->base = g_build_filename (g_get_user_cache_dir (), "bastion", "runtime", NULL);
    }

  self->instance_name = g_strdup_printf ("%d-%08x", (int)getpid (), g_random_int ());
  self->instance = g_build_filename (self->base, self->instance_name, NULL);
  self->lock_path = g_strconcat (self->instance, ".lock", NULL);

  return self;
}

/**
 * bastion_runtime_dir_new_for_sandbox:
 * @app_id: the Flatpak application id Bastion runs as
 *
 * The runtime folder of a Bastion inside a Flatpak sandbox: $XDG_RUNTIME_DIR/app/@app_id/bastion,
 * which the host sees at the same path, so a tool started there through flatpak-spawn --host
 * reads the files Bastion names. Without $XDG_RUNTIME_DIR (Flatpak always sets it), the cache
 * folder, ~/.var/app/@app_id/cache, is also the same path on both sides.
 */
BastionRuntimeDir *
bastion_runtime_dir_new_for_sandbox (const char *app_id)
{
  const char *xdg = g_getenv ("XDG_RUNTIME_DIR");
  BastionRuntimeDir *self;

  g_return_val_if_fail (app_id != NULL && g_application_id_is_valid (app_id), NULL);

  if (xdg == NULL || xdg[0] != '/')
    return bastion_runtime_dir_new (NULL);

  self = g_object_new (BASTION_TYPE_RUNTIME_DIR, NULL);
  self->base = g_build_filename (xdg, "app", app_id, "bastion", NULL);
  self->xdg_relative = g_build_filename ("app", app_id, "bastion", NULL);
  self->is_xdg_runtime = TRUE;
  /* Flatpak creates app/ID before the app starts; outside a real sandbox (tests) we do. */
  self->make_parents = TRUE;
  self->instance_name = g_strdup_printf ("%d-%08x", (int)getpid (), g_random_int ());
  self->instance = g_build_filename (self->base, self->instance_name, NULL);
  self->lock_path = g_strconcat (self->instance, ".lock", NULL);

  return self;
}

/**
 * bastion_runtime_dir_dup_sandbox_app_id:
 * @flatpak_info: the path of Flatpak's instance file, "/.flatpak-info" in a real sandbox
 *
 * Tells whether Bastion runs inside a Flatpak sandbox the way GLib does: Flatpak puts
 * /.flatpak-info at the root of every sandbox it builds, and nothing else has it.
 *
 * Returns: (transfer full) (nullable): the application id of the sandbox ([Application] name,
 *   else $FLATPAK_ID, else Bastion's own id), or %NULL outside a sandbox
 */
char *
bastion_runtime_dir_dup_sandbox_app_id (const char *flatpak_info)
{
  g_autoptr(GKeyFile) info = g_key_file_new ();
  g_autofree char *name = NULL;
  const char *env_id = g_getenv ("FLATPAK_ID");

  g_return_val_if_fail (flatpak_info != NULL, NULL);

  if (!g_file_test (flatpak_info, G_FILE_TEST_EXISTS))
    return NULL;

  if (g_key_file_load_from_file (info, flatpak_info, G_KEY_FILE_NONE, NULL))
    name = g_key_file_get_string (info, "Application", "name", NULL);

  if (name != NULL && g_application_id_is_valid (name))
    return g_steal_pointer (&name);
  if (env_id != NULL && g_application_id_is_valid (env_id))
    return g_strdup (env_id);

  return g_strdup (APP_ID);
}

/**
 * bastion_runtime_dir_get_default:
 *
 * Returns: (transfer none): the process-wide runtime folder (shared with the host inside a
 *   Flatpak sandbox)
 */
BastionRuntimeDir *
bastion_runtime_dir_get_default (void)
{
  if (default_dir == NULL)
    {
      g_autofree char *app_id = bastion_runtime_dir_dup_sandbox_app_id ("/.flatpak-info");

      default_dir = app_id != NULL ? bastion_runtime_dir_new_for_sandbox (app_id)
                                   : bastion_runtime_dir_new (NULL);
    }

  return default_dir;
}

const char *
bastion_runtime_dir_get_base (BastionRuntimeDir *self)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), NULL);

  return self->base;
}

const char *
bastion_runtime_dir_get_instance_path (BastionRuntimeDir *self)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), NULL);

  return self->instance;
}

gboolean
bastion_runtime_dir_is_xdg_runtime (BastionRuntimeDir *self)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), FALSE);

  return self->is_xdg_runtime;
}

/**
 * bastion_runtime_dir_get_xdg_relative:
 *
 * Returns: (nullable): the base folder relative to $XDG_RUNTIME_DIR ("bastion", or
 *   "app/ID/bastion" in a sandbox), as Flatpak's --filesystem=xdg-run/… takes it
 */
const char *
bastion_runtime_dir_get_xdg_relative (BastionRuntimeDir *self)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), NULL);

  return self->xdg_relative;
}

char *
bastion_runtime_dir_build_path (BastionRuntimeDir *self,
                                const char        *name)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), NULL);
  g_return_val_if_fail (name != NULL && strchr (name, '/') == NULL, NULL);

  return g_build_filename (self->instance, name, NULL);
}

/* A folder that is a real directory (no symlink), ours, and closed to everyone else. */
static gboolean
check_private_dir (const char  *path,
                   gboolean     create,
                   GError     **error)
{
  struct stat st;

  if (create && g_mkdir (path, 0700) != 0 && errno != EEXIST)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                   _("Could not create the private folder “%s”: %s"),
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  if (lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                   _("Could not read the private folder “%s”: %s"),
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE,
                   _("“%s” is not a folder (or is a symbolic link); remove it and try again"),
                   path);
      return FALSE;
    }

  if (st.st_uid != geteuid ())
    {
      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE,
                   _("The folder “%s” belongs to another user (uid %u), so Bastion will not put "
                     "a password file there; remove it and try again"),
                   path, (guint)st.st_uid);
      return FALSE;
    }

  if ((st.st_mode & 0077) != 0)
    {
      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE,
                   _("The folder “%s” can be read by other users (mode %03o), so Bastion will "
                     "not put a password file there; run “chmod 700 %s” or remove it"),
                   path, (guint)(st.st_mode & 0777), path);
      return FALSE;
    }

  return TRUE;
}

/**
 * bastion_runtime_dir_ensure:
 *
 * Creates (and checks) the base folder, takes this instance's lock and creates its folder.
 */
gboolean
bastion_runtime_dir_ensure (BastionRuntimeDir  *self,
                            GError            **error)
{
  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), FALSE);

  if (self->lock_fd >= 0)
    return check_private_dir (self->instance, TRUE, error);

  if (!self->is_xdg_runtime || self->make_parents)
    {
      g_autofree char *parent = g_path_get_dirname (self->base);

      if (g_mkdir_with_parents (parent, 0700) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                       _("Could not create the folder “%s”: %s"),
                       parent, g_strerror (saved_errno));
          return FALSE;
        }
    }

  if (!check_private_dir (self->base, TRUE, error))
    return FALSE;

  /* The lock comes before the folder: a folder without a lock file is always stale. Another
   * instance may unlink a lock file between our open() and flock(); check that the locked file
   * is still the one at the path. */
  for (guint attempt = 0; attempt < 5 && self->lock_fd < 0; attempt++)
    {
      struct stat fd_st, path_st;
      int fd = open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd < 0)
        {
          int saved_errno = errno;

          g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                       _("Could not create the lock file “%s”: %s"),
                       self->lock_path, g_strerror (saved_errno));
          return FALSE;
        }

      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          close (fd);
          g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_LOCKED,
                       _("The lock file “%s” is held by another process"), self->lock_path);
          return FALSE;
        }

      if (fstat (fd, &fd_st) == 0 && stat (self->lock_path, &path_st) == 0 &&
          fd_st.st_dev == path_st.st_dev && fd_st.st_ino == path_st.st_ino)
        {
          g_autofree char *pid = g_strdup_printf ("%d\n", (int)getpid ());

          if (ftruncate (fd, 0) != 0 || write (fd, pid, strlen (pid)) < 0)
            g_debug ("Could not write the pid into %s", self->lock_path);

          self->lock_fd = fd;
        }
      else
        {
          close (fd);
        }
    }

  if (self->lock_fd < 0)
    {
      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_LOCKED,
                   _("Could not take the lock file “%s”"), self->lock_path);
      return FALSE;
    }

  return check_private_dir (self->instance, TRUE, error);
}

/**
 * bastion_runtime_dir_write_file:
 * @name: a file name (no folder)
 *
 * Writes @contents atomically into this instance's folder. The file is created with mode 0600
 * (never readable by anyone else, not even for a moment) and then renamed into place.
 *
 * Returns: (transfer full): the path of the file, or %NULL
 */
char *
bastion_runtime_dir_write_file (BastionRuntimeDir  *self,
                                const char         *name,
                                const char         *contents,
                                gsize               length,
                                GError            **error)
{
  g_autofree char *path = NULL;
  g_autofree char *tmp = NULL;
  gsize written = 0;
  int fd;

  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), NULL);
  g_return_val_if_fail (name != NULL && strchr (name, '/') == NULL && name[0] != '.', NULL);

  if (!bastion_runtime_dir_ensure (self, error))
    return NULL;

  path = g_build_filename (self->instance, name, NULL);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", self->instance, name);

  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                   _("Could not create a file in “%s”: %s"),
                   self->instance, g_strerror (saved_errno));
      return NULL;
    }

  /* The umask can only take bits away; make sure of the exact mode anyway. */
  if (fchmod (fd, 0600) != 0)
    goto failed;

  while (written < length)
    {
      gssize n = write (fd, contents + written, length - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto failed;
      written += n;
    }

  if (close (fd) != 0)
    {
      fd = -1;
      goto failed;
    }
  fd = -1;

  if (g_rename (tmp, path) != 0)
    goto failed;

  return g_steal_pointer (&path);

failed:
  {
    int saved_errno = errno;

    if (fd >= 0)
      close (fd);
    g_unlink (tmp);
    g_set_error (error, BASTION_RUNTIME_DIR_ERROR, BASTION_RUNTIME_DIR_ERROR_FAILED,
                 _("Could not write “%s”: %s"), path, g_strerror (saved_errno));
    return NULL;
  }
}

gboolean
bastion_runtime_dir_has_file (BastionRuntimeDir *self,
                              const char        *name)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), FALSE);

  path = g_build_filename (self->instance, name, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

void
bastion_runtime_dir_remove_file (BastionRuntimeDir *self,
                                 const char        *name)
{
  g_autofree char *path = NULL;

  g_return_if_fail (BASTION_IS_RUNTIME_DIR (self));
  g_return_if_fail (name != NULL && strchr (name, '/') == NULL);

  path = g_build_filename (self->instance, name, NULL);
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_warning ("Could not remove %s: %s", path, g_strerror (errno));
}

/* Removes the files of one instance folder (it only ever holds plain files) and the folder. */
static void
remove_instance_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);

          if (g_unlink (file) != 0 && errno != ENOENT)
            g_warning ("Could not remove %s: %s", file, g_strerror (errno));
        }
    }

  if (g_rmdir (path) != 0 && errno != ENOENT)
    g_warning ("Could not remove %s: %s", path, g_strerror (errno));
}

/**
 * bastion_runtime_dir_release:
 *
 * Removes every file of this instance, its folder and its lock (at exit).
 */
void
bastion_runtime_dir_release (BastionRuntimeDir *self)
{
  g_return_if_fail (BASTION_IS_RUNTIME_DIR (self));

  if (self->lock_fd < 0)
    return;

  remove_instance_dir (self->instance);
  g_unlink (self->lock_path);
  close (self->lock_fd);
  self->lock_fd = -1;
}

/* Removes ENTRY's folder unless a running instance holds its lock; TRUE when removed. */
static gboolean
remove_if_stale (BastionRuntimeDir *self,
                 const char        *entry)
{
  g_autofree char *path = g_build_filename (self->base, entry, NULL);
  g_autofree char *lock_path = NULL;
  int fd;

  if (g_str_has_suffix (entry, ".lock") || g_str_equal (entry, self->instance_name))
    return FALSE;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return FALSE;

  lock_path = g_strconcat (path, ".lock", NULL);
  fd = open (lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

  if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      /* A running instance. */
      close (fd);
      return FALSE;
    }

  g_debug ("Removing the stale runtime folder %s", path);
  remove_instance_dir (path);

  if (fd >= 0)
    {
      g_unlink (lock_path);
      close (fd);
    }
  return TRUE;
}

/* A lock file whose folder is gone: a crash between the two steps of release(). */
static void
remove_if_orphan_lock (BastionRuntimeDir *self,
                       const char        *entry)
{
  g_autofree char *lock_path = NULL;
  g_autofree char *inst = NULL;
  int fd;

  if (!g_str_has_suffix (entry, ".lock"))
    return;

  inst = g_strndup (entry, strlen (entry) - strlen (".lock"));
  if (g_str_equal (inst, self->instance_name))
    return;

  lock_path = g_build_filename (self->base, entry, NULL);
  fd = open (lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;

  if (flock (fd, LOCK_EX | LOCK_NB) == 0)
    {
      g_autofree char *inst_path = g_build_filename (self->base, inst, NULL);

      if (!g_file_test (inst_path, G_FILE_TEST_EXISTS))
        g_unlink (lock_path);
    }
  close (fd);
}

/**
 * bastion_runtime_dir_cleanup_stale:
 * @n_removed: (out) (optional): how many stale instance folders were removed
 *
 * Removes what crashed Bastion processes left behind, never the files of a running one.
 */
gboolean
bastion_runtime_dir_cleanup_stale (BastionRuntimeDir  *self,
                                   guint              *n_removed,
                                   GError            **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  guint removed = 0;
  const char *name;

  g_return_val_if_fail (BASTION_IS_RUNTIME_DIR (self), FALSE);

  if (n_removed != NULL)
    *n_removed = 0;

  if (!g_file_test (self->base, G_FILE_TEST_EXISTS))
    return TRUE;

  if (!check_private_dir (self->base, FALSE, error))
    return FALSE;

  dir = g_dir_open (self->base, 0, error);
  if (dir == NULL)
    return FALSE;

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));

  for (guint i = 0; i < names->len; i++)
    if (remove_if_stale (self, g_ptr_array_index (names, i)))
      removed++;

  /* Lock files whose folder is gone: a crash between the two steps of release(). */
  for (guint i = 0; i < names->len; i++)
    remove_if_orphan_lock (self, g_ptr_array_index (names, i));

  if (n_removed != NULL)
    *n_removed = removed;

  return TRUE;
}
