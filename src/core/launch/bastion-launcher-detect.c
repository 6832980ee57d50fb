/* bastion-launcher-detect.c
 *
 * Finding the tools: pgAdmin 4's install and version, DBeaver (package or Flatpak), psql,
 * pgcli, and the user's terminal.
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

/* --- Detection ------------------------------------------------------------------------------ */

/* Reads "NAME = 12" from pgAdmin's version.py (or config.py in old releases). */
static gboolean
parse_version_assignment (const char *contents,
                          const char *name,
                          int        *value)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = lines[i];
      char *end = NULL;
      gint64 v;

      if (!g_str_has_prefix (p, name))
        continue;
      p += strlen (name);
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        continue;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;

      v = g_ascii_strtoll (p, &end, 10);
      if (end == p || v < 0 || v > 1000)
        return FALSE;

      *value = (int)v;
      return TRUE;
    }

  return FALSE;
}

static void
detect_pgadmin_version (HostView      *view,
                        const char    *web_dir,
                        PgadminLayout *layout)
{
  const char *files[] = { "version.py", "config.py" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (web_dir, files[i], NULL);
      g_autofree char *contents = _bastion_launcher_host_view_ask (view, 'v', path);
      int major = -1, minor = -1;

      if (contents == NULL)
        continue;

      if (parse_version_assignment (contents, "APP_RELEASE", &major) &&
          parse_version_assignment (contents, "APP_REVISION", &minor))
        {
          layout->major = major;
          layout->minor = minor;
          return;
        }
    }
}

char *
_bastion_launcher_pgadmin_sqlite_path (BastionLauncher *self)
{
  return g_build_filename (_bastion_launcher_home_dir (self), ".pgadmin", "pgadmin4.db", NULL);
}

/* pgAdmin's launcher: where the Debian package puts it, else pgadmin4 on PATH (resolved), or
 * NULL. */
static char *
find_pgadmin_bin (HostView *view)
{
  g_autofree char *bin = _bastion_launcher_rooted (view->self, "/usr/pgadmin4/bin/pgadmin4");
  g_autofree char *q_bin = g_strconcat ("x:", bin, NULL);
  const char *first[] = { q_bin, "w:pgadmin4", "w:python3", NULL };

  _bastion_launcher_host_view_prefetch (view, first);

  if (!_bastion_launcher_host_view_test (view, 'x', bin))
    {
      g_autofree char *found = _bastion_launcher_host_view_ask (view, 'w', "pgadmin4");

      g_clear_pointer (&bin, g_free);
      if (found != NULL)
        {
          char *real = _bastion_launcher_host_view_ask (view, 'r', found);

          bin = real ? real : g_steal_pointer (&found);
        }
    }

  return g_steal_pointer (&bin);
}

/* Asks the host, in one go, about every file of pgAdmin's install that detection reads. */
static void
prefetch_pgadmin_files (HostView   *view,
                        const char *web,
                        const char *setup,
                        const char *venv_python)
{
  g_autofree char *sqlite = _bastion_launcher_pgadmin_sqlite_path (view->self);
  g_autofree char *version = g_build_filename (web, "version.py", NULL);
  g_autofree char *config = g_build_filename (web, "config.py", NULL);
  g_autofree char *q_setup = g_strconcat ("f:", setup, NULL);
  g_autofree char *q_venv = g_strconcat ("x:", venv_python, NULL);
  g_autofree char *q_version = g_strconcat ("v:", version, NULL);
  g_autofree char *q_config = g_strconcat ("v:", config, NULL);
  g_autofree char *q_sqlite = g_strconcat ("f:", sqlite, NULL);
  const char *second[] = { q_setup, q_venv, q_version, q_config, q_sqlite, NULL };

  _bastion_launcher_host_view_prefetch (view, second);
}

static void
detect_pgadmin (HostView        *view,
                BastionToolInfo *info,
                PgadminLayout   *layout)
{
  g_autofree char *bin = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *bin_dir = NULL;
  g_autofree char *web = NULL;
  g_autofree char *setup = NULL;
  g_autofree char *venv_python = NULL;

  layout->major = layout->minor = -1;
  bin = find_pgadmin_bin (view);

  if (bin == NULL)
    {
      if (view->failure != NULL)
        info->install_hint = _bastion_launcher_host_failure_hint (view, "pgAdmin 4");
      else
        info->install_hint = g_strdup (_("pgAdmin 4 is not installed. Install the desktop "
                                         "package from the pgAdmin APT repository "
                                         "(“sudo apt install pgadmin4-desktop”)."));
      return;
    }

  bin_dir = g_path_get_dirname (bin);
  prefix = g_path_get_dirname (bin_dir);
  web = g_build_filename (prefix, "web", NULL);
  setup = g_build_filename (web, "setup.py", NULL);
  venv_python = g_build_filename (prefix, "venv", "bin", "python3", NULL);

  prefetch_pgadmin_files (view, web, setup, venv_python);

  info->path = g_strdup (bin);

  if (!_bastion_launcher_host_view_test (view, 'f', setup))
    {
      info->install_hint = g_strdup_printf (_("pgAdmin 4 at “%s” has no web/setup.py beside "
                                              "it, so Bastion cannot add the server; install "
                                              "the pgadmin4-desktop package."), bin);
      return;
    }

  layout->bin = g_strdup (bin);
  layout->setup = g_strdup (setup);
  layout->python = _bastion_launcher_host_view_test (view, 'x', venv_python)
                   ? g_strdup (venv_python)
                   : _bastion_launcher_host_view_ask (view, 'w', "python3");
  detect_pgadmin_version (view, web, layout);

  if (layout->major >= 0)
    info->version = g_strdup_printf ("%d.%d", layout->major, layout->minor);

  if (layout->python == NULL)
    {
      info->install_hint = g_strdup (_("pgAdmin 4 is installed, but no Python 3 to run its "
                                       "setup.py was found; reinstall pgadmin4-desktop."));
      return;
    }

  info->available = TRUE;
}

/* The folders where Flatpak exports its apps' launchers: the user's, then the system's. In a
 * sandbox the user's data folder is the app's own; the host's is in HOST_XDG_DATA_HOME. */
static void
flatpak_export_paths (BastionLauncher *self,
                      const char      *app_id,
                      char           **user,
                      char           **system)
{
  const char *data = self->data_dir;
  g_autofree char *host_data = NULL;

  if (data == NULL && self->sandbox_app_id != NULL)
    {
      data = g_getenv ("HOST_XDG_DATA_HOME");
      if (data == NULL || data[0] != '/')
        data = host_data = g_build_filename (g_get_home_dir (), ".local", "share", NULL);
    }
  if (data == NULL)
    data = g_get_user_data_dir ();

  *user = g_build_filename (data, "flatpak", "exports", "bin", app_id, NULL);
  {
    g_autofree char *system_dir = _bastion_launcher_rooted (self, "/var/lib/flatpak/exports/bin");

    *system = g_build_filename (system_dir, app_id, NULL);
  }
}

static void
detect_dbeaver (HostView        *view,
                BastionToolInfo *info)
{
  BastionLauncher *self = view->self;
  const char *names[] = { "dbeaver", "dbeaver-ce" };
  g_autofree char *user = NULL;
  g_autofree char *system = NULL;
  g_autofree char *q_user = NULL;
  g_autofree char *q_system = NULL;

  flatpak_export_paths (self, DBEAVER_FLATPAK_ID, &user, &system);
  q_user = g_strconcat ("e:", user, NULL);
  q_system = g_strconcat ("e:", system, NULL);
  {
    const char *queries[] = { "w:dbeaver", "w:dbeaver-ce", q_user, q_system, "w:flatpak", NULL };

    _bastion_launcher_host_view_prefetch (view, queries);
  }

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      info->path = _bastion_launcher_host_view_ask (view, 'w', names[i]);
      if (info->path != NULL)
        {
          info->available = TRUE;
          return;
        }
    }

  if (_bastion_launcher_host_view_test (view, 'e', user) ||
      _bastion_launcher_host_view_test (view, 'e', system))
    {
      g_autofree char *flatpak = _bastion_launcher_host_view_ask (view, 'w', "flatpak");

      info->flatpak = TRUE;
      info->path = g_strdup (DBEAVER_FLATPAK_ID);
      if (flatpak != NULL)
        info->available = TRUE;
      else
        info->install_hint = g_strdup (_("DBeaver is installed as a Flatpak, but the "
                                         "“flatpak” command was not found."));
      return;
    }

  if (view->failure != NULL)
    info->install_hint = _bastion_launcher_host_failure_hint (view, "DBeaver");
  else
    info->install_hint = g_strdup (_("DBeaver is not installed. Install DBeaver Community "
                                     "from Flathub (“flatpak install flathub "
                                     "io.dbeaver.DBeaverCommunity”) or its .deb package."));
}


static const TerminalKind terminals[] = {
  { "xdg-terminal-exec", NULL },
  { "kgx", "--" },
  { "gnome-terminal", "--" },
  { "ptyxis", "--" },
  { "konsole", "-e" },
  { "xterm", "-e" },
};

char *
_bastion_launcher_find_terminal (HostView            *view,
                                 const TerminalKind **kind)
{
  g_autofree char *chosen = NULL;

  g_mutex_lock (&view->self->terminal_lock);
  chosen = g_strdup (view->self->terminal);
  g_mutex_unlock (&view->self->terminal_lock);

  /* The user's choice first, when it is installed; else the first one found. */
  for (guint i = 0; chosen != NULL && i < G_N_ELEMENTS (terminals); i++)
    {
      char *path;

      if (!g_str_equal (chosen, terminals[i].name)
          || (path = _bastion_launcher_host_view_ask (view, 'w', terminals[i].name)) == NULL)
        continue;
      if (kind != NULL)
        *kind = &terminals[i];
      return path;
    }

  for (guint i = 0; i < G_N_ELEMENTS (terminals); i++)
    {
      char *path = _bastion_launcher_host_view_ask (view, 'w', terminals[i].name);

      if (path != NULL)
        {
          if (kind != NULL)
            *kind = &terminals[i];
          return path;
        }
    }

  return NULL;
}

static void
detect_terminal_tool (HostView        *view,
                      BastionToolInfo *info,
                      const char      *name)
{
  g_autofree char *q_name = g_strconcat ("w:", name, NULL);
  const char *queries[] = {
    q_name, "w:env", "w:xdg-terminal-exec", "w:kgx", "w:gnome-terminal", "w:ptyxis",
    "w:konsole", "w:xterm", NULL
  };

  G_STATIC_ASSERT (G_N_ELEMENTS (terminals) == 6);
  _bastion_launcher_host_view_prefetch (view, queries);

  info->path = _bastion_launcher_host_view_ask (view, 'w', name);
  info->terminal = _bastion_launcher_find_terminal (view, NULL);

  if (info->path == NULL)
    {
      if (view->failure != NULL)
        info->install_hint = _bastion_launcher_host_failure_hint (view, name);
      else if (g_str_equal (name, "psql"))
        info->install_hint = g_strdup (_("psql is not installed. Install it with "
                                         "“sudo apt install postgresql-client”."));
      else
        info->install_hint = g_strdup (_("pgcli is not installed. Install it with "
                                         "“sudo apt install pgcli”."));
      return;
    }

  if (info->terminal == NULL)
    {
      info->install_hint = g_strdup (_("No terminal was found to run it in. Install one, "
                                       "e.g. GNOME Console (“sudo apt install gnome-console”)."));
      return;
    }

  info->available = TRUE;
}

BastionToolInfo *
_bastion_launcher_detect_tool_full (HostView            *view,
                                    BastionLauncherTool  tool,
                                    PgadminLayout       *layout)
{
  BastionToolInfo *info = g_new0 (BastionToolInfo, 1);

  info->tool = tool;

  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN:
      detect_pgadmin (view, info, layout);
      break;
    case BASTION_LAUNCHER_TOOL_DBEAVER:
      detect_dbeaver (view, info);
      break;
    case BASTION_LAUNCHER_TOOL_PSQL:
      detect_terminal_tool (view, info, "psql");
      break;
    case BASTION_LAUNCHER_TOOL_PGCLI:
      detect_terminal_tool (view, info, "pgcli");
      break;
    default:
      g_assert_not_reached ();
    }

  return info;
}

/**
 * bastion_launcher_detect_tool:
 *
 * Looks for one tool: a few stat() calls, or inside a Flatpak sandbox one or two
 * `flatpak-spawn --host` calls (bastion_launcher_list_tools_async() does it off the main
 * thread).
 */
BastionToolInfo *
bastion_launcher_detect_tool (BastionLauncher     *self,
                              BastionLauncherTool  tool)
{
  PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };
  HostView view;
  BastionToolInfo *info;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (bastion_launcher_tool_to_string (tool) != NULL, NULL);

  _bastion_launcher_host_view_init (&view, self);
  info = _bastion_launcher_detect_tool_full (&view, tool, &layout);
  _bastion_launcher_pgadmin_layout_clear (&layout);
  _bastion_launcher_host_view_clear (&view);

  return info;
}

static void
list_tools_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  g_autoptr(GPtrArray) tools = g_ptr_array_new_with_free_func ((GDestroyNotify)bastion_tool_info_free);
  HostView view;

  /* One view for all: psql and pgcli share the terminal questions. */
  _bastion_launcher_host_view_init (&view, self);
  for (BastionLauncherTool t = BASTION_LAUNCHER_TOOL_PGADMIN; t <= BASTION_LAUNCHER_TOOL_PGCLI; t++)
    {
      PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };

      g_ptr_array_add (tools, _bastion_launcher_detect_tool_full (&view, t, &layout));
      _bastion_launcher_pgadmin_layout_clear (&layout);
    }
  _bastion_launcher_host_view_clear (&view);

  g_task_return_pointer (task, g_steal_pointer (&tools), (GDestroyNotify)g_ptr_array_unref);
}

void
bastion_launcher_list_tools_async (BastionLauncher     *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_list_tools_async);
  g_task_run_in_thread (task, list_tools_thread);
}

/**
 * bastion_launcher_list_tools_finish:
 *
 * Returns: (transfer container) (element-type BastionToolInfo): one entry per tool, available
 *   or not (with an install hint)
 */
GPtrArray *
bastion_launcher_list_tools_finish (BastionLauncher  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
