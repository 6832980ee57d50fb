/* bastion-launcher-host.c
 *
 * The host the tools run on, seen from here or from inside a Flatpak sandbox (through
 * flatpak-spawn --host, asked once per batch of questions).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

/* memfd_create() */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-launcher-pgadmin-private.h"
#include "bastion-pgpass.h"
#include "bastion-secure.h"
#include "bastion-launcher-private.h"

/* --- The host, seen from here or from inside a Flatpak sandbox ------------------------------ */

char *
_bastion_launcher_rooted (BastionLauncher *self,
                          const char      *path)
{
  if (self->root == NULL || g_str_equal (self->root, "/"))
    return g_strdup (path);

  return g_build_filename (self->root, path, NULL);
}

const char *
_bastion_launcher_home_dir (BastionLauncher *self)
{
  return self->home_dir ? self->home_dir : g_get_home_dir ();
}

gboolean
_bastion_launcher_is_executable_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (path, G_FILE_TEST_IS_DIR);
}

/* A program on Bastion's own PATH (in a sandbox: the sandbox's, e.g. flatpak-spawn). */
char *
_bastion_launcher_find_program (BastionLauncher *self,
                                const char      *name)
{
  const char *path = self->search_path ? self->search_path : g_getenv ("PATH");
  g_auto(GStrv) dirs = NULL;

  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";

  dirs = g_strsplit (path, ":", -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *candidate = NULL;

      if (dirs[i][0] != '/')
        continue;

      candidate = g_build_filename (dirs[i], name, NULL);
      if (_bastion_launcher_is_executable_file (candidate))
        return g_steal_pointer (&candidate);
    }

  return NULL;
}

/* Questions about the machine the tools run on. Outside a sandbox they are answered here;
 * inside one, by a small sh script run on the host through flatpak-spawn --host, several
 * questions per call (each costs a D-Bus round trip and a fork on the host). Queries are
 * "OP:ARG", passed as arguments, never pasted into the script:
 *   w:NAME  the program's path on PATH      x:PATH  an executable regular file
 *   f:PATH  a regular file                  e:PATH  exists
 *   r:PATH  the path with symlinks resolved v:PATH  the APP_RELEASE/APP_REVISION lines
 * Detection runs on worker threads (list_tools_async, launch_async), so the host calls wait
 * there, never on the main loop. */

static const char host_probe_script[] =
  "if [ -n \"$1\" ]; then PATH=$1; export PATH; fi\n"
  "shift\n"
  "for q in \"$@\"; do\n"
  "  a=${q#?:}\n"
  "  r=\n"
  "  case $q in\n"
  "    w:*) r=$(command -v -- \"$a\" 2>/dev/null) || r= ;;\n"
  "    x:*) if [ -f \"$a\" ] && [ -x \"$a\" ]; then r=1; fi ;;\n"
  "    f:*) if [ -f \"$a\" ]; then r=1; fi ;;\n"
  "    e:*) if [ -e \"$a\" ]; then r=1; fi ;;\n"
  "    r:*) r=$(readlink -f -- \"$a\" 2>/dev/null) || r= ;;\n"
  "    v:*) r=$(grep -E '^APP_(RELEASE|REVISION)[[:space:]]*=' -- \"$a\" 2>/dev/null"
  " | tr '\\n' ';') ;;\n"
  "  esac\n"
  "  printf '%s\\n' \"$r\"\n"
  "done\n";

void
_bastion_launcher_host_view_init (HostView        *view,
                                  BastionLauncher *self)
{
  view->self = self;
  view->answers = NULL;
  view->spawn = NULL;
  view->failure = NULL;

  if (self->sandbox_app_id != NULL)
    {
      view->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      view->spawn = _bastion_launcher_find_program (self, "flatpak-spawn");
      if (view->spawn == NULL)
        view->failure = g_strdup (_("the flatpak-spawn command is missing from the sandbox"));
    }
}

void
_bastion_launcher_host_view_clear (HostView *view)
{
  g_clear_pointer (&view->answers, g_hash_table_unref);
  g_clear_pointer (&view->spawn, g_free);
  g_clear_pointer (&view->failure, g_free);
}

/* The argv that runs @argv on the host: flatpak-spawn --host, the working folder (the sandbox's
 * own may not exist there) and the variables, which flatpak-spawn does not forward by itself. */
GStrv
_bastion_launcher_host_argv (BastionLauncher    *self,
                             const char         *spawn,
                             const char * const *argv,
                             const char * const *env)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  if (self->sandbox_app_id != NULL)
    {
      g_autofree char *dir = g_strdup_printf ("--directory=%s", _bastion_launcher_home_dir (self));

      g_strv_builder_add (b, spawn ? spawn : "flatpak-spawn");
      g_strv_builder_add (b, "--host");
      g_strv_builder_add (b, dir);
      for (guint i = 0; env != NULL && env[i] != NULL; i++)
        {
          g_autofree char *opt = g_strconcat ("--env=", env[i], NULL);

          g_strv_builder_add (b, opt);
        }
    }

  g_strv_builder_addv (b, (const char **)argv);

  return g_strv_builder_end (b);
}

static char *
answer_here (BastionLauncher *self,
             const char      *query)
{
  const char *arg = query + 2;

  switch (query[0])
    {
    case 'w':
      return _bastion_launcher_find_program (self, arg);
    case 'x':
      return _bastion_launcher_is_executable_file (arg) ? g_strdup ("1") : NULL;
    case 'f':
      return g_file_test (arg, G_FILE_TEST_IS_REGULAR) ? g_strdup ("1") : NULL;
    case 'e':
      return g_file_test (arg, G_FILE_TEST_EXISTS) ? g_strdup ("1") : NULL;
    case 'r':
      {
        char *real = realpath (arg, NULL);
        char *ret = g_strdup (real);

        free (real);
        return ret;
      }
    case 'v':
      {
        char *contents = NULL;

        /* pgAdmin's version.py / config.py: small text files, never a FIFO. */
        return bastion_bounded_file_read (arg, 1024 * 1024, &contents, NULL, NULL)
               ? contents : NULL;
      }
    default:
      g_assert_not_reached ();
    }
}

/* Asks the host every query of @queries not answered yet, in one flatpak-spawn call. */
void
_bastion_launcher_host_view_prefetch (HostView           *view,
                                      const char * const *queries)
{
  g_autoptr(GStrvBuilder) b = NULL;
  g_autoptr(GPtrArray) asked = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) cmd = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) lines = NULL;

  if (view->answers == NULL || view->failure != NULL)
    return;

  asked = g_ptr_array_new ();
  for (guint i = 0; queries[i] != NULL; i++)
    if (!g_hash_table_contains (view->answers, queries[i]) && strchr (queries[i], '\n') == NULL)
      g_ptr_array_add (asked, (gpointer)queries[i]);
  if (asked->len == 0)
    return;

  b = g_strv_builder_new ();
  g_strv_builder_add_many (b, "sh", "-c", host_probe_script, "sh",
                           view->self->search_path ? view->self->search_path : "", NULL);
  for (guint i = 0; i < asked->len; i++)
    g_strv_builder_add (b, g_ptr_array_index (asked, i));
  cmd = g_strv_builder_end (b);
  argv = _bastion_launcher_host_argv (view->self, view->spawn, (const char * const *)cmd, NULL);

  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error))
    {
      view->failure = g_strdup (error->message);
      return;
    }

  if (!g_subprocess_get_successful (proc))
    {
      view->failure = g_strstrip (g_strdup (err != NULL && err[0] ? err : _("no output")));
      return;
    }

  lines = g_strsplit (out ? out : "", "\n", -1);
  if (g_strv_length (lines) != asked->len + 1)
    {
      view->failure = g_strdup (_("the host gave an answer Bastion did not understand"));
      return;
    }

  for (guint i = 0; i < asked->len; i++)
    {
      const char *q = g_ptr_array_index (asked, i);
      char *answer = g_strdup (lines[i]);

      /* A program must be a path: "command -v" also names shell builtins. */
      if (q[0] == 'w' && answer[0] != '/')
        answer[0] = '\0';
      if (q[0] == 'v')
        g_strdelimit (answer, ";", '\n');

      g_hash_table_insert (view->answers, g_strdup (q), answer);
    }
}

/* Returns: (nullable): the answer, or %NULL for no */
char *
_bastion_launcher_host_view_ask (HostView   *view,
                                 char        op,
                                 const char *arg)
{
  g_autofree char *query = g_strdup_printf ("%c:%s", op, arg);
  const char *answer;

  if (view->answers == NULL)
    return answer_here (view->self, query);

  if (!g_hash_table_contains (view->answers, query))
    {
      const char *one[] = { query, NULL };

      _bastion_launcher_host_view_prefetch (view, one);
    }

  answer = g_hash_table_lookup (view->answers, query);

  return answer != NULL && answer[0] != '\0' ? g_strdup (answer) : NULL;
}

gboolean
_bastion_launcher_host_view_test (HostView   *view,
                                  char        op,
                                  const char *arg)
{
  g_autofree char *answer = _bastion_launcher_host_view_ask (view, op, arg);

  return answer != NULL;
}

/* The hint for a tool that could not be looked for on the host at all. */
char *
_bastion_launcher_host_failure_hint (HostView   *view,
                                     const char *title)
{
  return g_strdup_printf (_("Bastion runs in a Flatpak sandbox and could not look for %s on "
                            "your computer (%s). Allow it to talk to org.freedesktop.Flatpak, "
                            "e.g. with “flatpak override --user "
                            "--talk-name=org.freedesktop.Flatpak %s”."),
                          title, view->failure, view->self->sandbox_app_id);
}
