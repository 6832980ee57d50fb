/* test-util.c: small helpers shared by the GTest programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-util.h"

/* Inside a g_test_trap_subprocess() child: lose root's power to read anything, so permission
 * checks are real. A non-root user needs nothing. */
void
test_become_unprivileged (void)
{
  if (geteuid () != 0)
    return;

  g_assert_cmpint (setgroups (0, NULL), ==, 0);
  g_assert_cmpint (setgid (TEST_NOBODY), ==, 0);
  g_assert_cmpint (setuid (TEST_NOBODY), ==, 0);
  g_assert_cmpint (geteuid (), ==, TEST_NOBODY);
}

/* A temporary dir (TMPL as for g_dir_make_tmp()) that an unprivileged child can enter; the
 * caller removes it with test_rm_rf(). */
char *
test_make_tmp_dir (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  return dir;
}

/* Removes PATH and everything below it, making folders writable first; never follows a
 * symbolic link. */
void
test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (!S_ISDIR (st.st_mode))
    {
      g_unlink (path);
      return;
    }

  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      test_rm_rf (child);
    }
  g_rmdir (path);
}

/* Writes CONTENTS (LENGTH bytes, or up to the NUL when -1) to PATH, creating its folders, and
 * leaves the file readable by everyone so that an unprivileged child reads it. */
void
test_write_file (const char *path,
                 const char *contents,
                 gssize      length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
}

void
test_store_result (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

GAsyncResult *
test_wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);

  return *slot;
}

static gboolean
flag_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
test_wait_until (GSourceFunc  done,
                 gpointer     user_data,
                 guint        seconds,
                 const char  *what)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean timed_out = FALSE;
  g_autoptr(GSource) timeout = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (timeout, flag_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!done (user_data) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);

  if (timed_out && !done (user_data))
    g_error ("Timed out after %u s waiting for %s", seconds, what);
}

char *
test_pg_password (guint *port)
{
  const char *pwfile = g_getenv ("BASTION_TEST_PG_PASSWORD_FILE");
  const char *port_text = g_getenv ("BASTION_TEST_PG_PORT");
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  if (pwfile == NULL || port_text == NULL)
    {
      g_printerr ("Run this under tests/harness/with-servers --postgres\n");
      exit (99);
    }
  if (!g_file_get_contents (pwfile, &password, NULL, &error))
    g_error ("%s", error->message);
  *port = atoi (port_text);

  return g_strchomp (password);
}

guint
test_count_other_files (const char *dir,
                        const char *keep)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_strcmp0 (name, keep) != 0)
      n++;

  return n;
}
