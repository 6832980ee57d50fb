/* bastion-launcher-launch.c
 *
 * Launching: the files written on a worker thread, the tool spawned and watched, and pgAdmin's
 * server added with its own setup.py, once.
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

/* --- Launching ------------------------------------------------------------------------------ */

/* One launch, from the worker thread that writes its files to the tool's exit. */
typedef struct
{
  BastionLauncherTool  tool;
  BastionLaunchTarget *target;
  char                *password;
  BastionToolInfo     *info;
  PgadminLayout        layout;
  BastionLaunchPlan   *plan;
  GPtrArray           *created;          /* file names this launch created */
  char                *spawn;            /* flatpak-spawn, in a sandbox */
  gboolean             pgadmin_has_db;   /* pgAdmin ran before: it may know the server */
  GSubprocess         *child;
  GCancellable        *wait_cancellable;
  int                  stderr_fd;
  guint                timeout_id;
  gboolean             returned;
} LaunchData;

static void
launch_data_free (LaunchData *data)
{
  bastion_secure_str_free (data->password);
  g_clear_pointer (&data->target, bastion_launch_target_free);
  g_clear_pointer (&data->info, bastion_tool_info_free);
  g_clear_pointer (&data->plan, bastion_launch_plan_free);
  g_clear_pointer (&data->created, g_ptr_array_unref);
  g_clear_pointer (&data->spawn, g_free);
  g_clear_object (&data->child);
  g_clear_object (&data->wait_cancellable);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  if (data->stderr_fd >= 0)
    close (data->stderr_fd);
  _bastion_launcher_pgadmin_layout_clear (&data->layout);
  g_free (data);
}

/* Removes what this launch wrote, so a failure leaves nothing behind. */
static void
launch_remove_created (BastionLauncher *self,
                       LaunchData      *data)
{
  for (guint i = 0; i < data->created->len; i++)
    bastion_runtime_dir_remove_file (self->runtime_dir, g_ptr_array_index (data->created, i));
  g_ptr_array_set_size (data->created, 0);
}

static void
launch_fail (GTask  *task,
             GError *error)
{
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);

  launch_remove_created (self, data);
  {
    g_autofree char *dump_name = _bastion_launcher_file_name_for (data->target, DUMP_SUFFIX);
    g_autofree char *servers_name = _bastion_launcher_file_name_for (data->target, SERVERS_SUFFIX);

    bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);
    bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);
  }
  data->returned = TRUE;
  g_task_return_error (task, error);
}

static gboolean
write_runtime_file (BastionLauncher  *self,
                    LaunchData       *data,
                    const char       *suffix,
                    const char       *contents,
                    GError          **error)
{
  g_autofree char *name = _bastion_launcher_file_name_for (data->target, suffix);
  gboolean existed = bastion_runtime_dir_has_file (self->runtime_dir, name);
  g_autofree char *path = NULL;

  path = bastion_runtime_dir_write_file (self->runtime_dir, name, contents, strlen (contents),
                                         error);
  if (path == NULL)
    return FALSE;

  /* A file an earlier launch wrote may be in use by that tool: keep it on failure. */
  if (!existed)
    g_ptr_array_add (data->created, g_steal_pointer (&name));

  return TRUE;
}

static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  LaunchData *data = task_data;
  GError *error = NULL;
  HostView view;

  _bastion_launcher_host_view_init (&view, self);
  data->info = _bastion_launcher_detect_tool_full (&view, data->tool, &data->layout);
  data->plan = _bastion_launcher_build_plan (&view, data->tool, data->target, data->info,
                                             &data->layout, &error);
  data->spawn = g_strdup (view.spawn);
  if (data->plan != NULL && data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    {
      g_autofree char *sqlite = _bastion_launcher_pgadmin_sqlite_path (self);

      data->pgadmin_has_db = _bastion_launcher_host_view_test (&view, 'f', sqlite);
    }
  _bastion_launcher_host_view_clear (&view);

  if (data->plan == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    {
      g_autofree char *json = bastion_launcher_dup_servers_json (self, data->target, &error);

      if (json == NULL || !write_runtime_file (self, data, SERVERS_SUFFIX, json, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  else
    {
      g_autofree char *pgpass = NULL;

      if (data->password == NULL || data->password[0] == '\0')
        {
          g_task_return_new_error (task, BASTION_LAUNCHER_ERROR,
                                   BASTION_LAUNCHER_ERROR_NO_PASSWORD,
                                   _("The database password of “%s” is not known"),
                                   data->target->team);
          return;
        }

      pgpass = _bastion_launcher_dup_pgpass (data->target, data->password, &error);
      if (pgpass == NULL || !write_runtime_file (self, data, PGPASS_SUFFIX, pgpass, &error))
        {
          if (pgpass != NULL)
            bastion_secure_wipe (pgpass, strlen (pgpass));
          g_task_return_error (task, error);
          return;
        }
      bastion_secure_wipe (pgpass, strlen (pgpass));

      if (data->tool == BASTION_LAUNCHER_TOOL_PSQL || data->tool == BASTION_LAUNCHER_TOOL_PGCLI)
        {
          g_autofree char *pgpass_name = _bastion_launcher_file_name_for (data->target,
                                                                          PGPASS_SUFFIX);
          g_autofree char *passfile = bastion_runtime_dir_build_path (self->runtime_dir,
                                                                      pgpass_name);
          g_autofree char *id = bastion_pgpass_sanitize_name (data->target->profile_id);
          g_autofree char *entry = _bastion_launcher_dup_service_entry (data->target, id, passfile);

          if (!write_runtime_file (self, data, SERVICE_SUFFIX, entry, &error))
            {
              g_task_return_error (task, error);
              return;
            }
        }
    }

  g_task_return_boolean (task, TRUE);
}

/* The last part of what a tool wrote on stderr, for the error message. */
static char *
read_stderr_tail (int fd)
{
  char buf[2048];
  struct stat st;
  off_t start;
  gssize n;

  if (fd < 0 || fstat (fd, &st) != 0)
    return g_strdup ("");

  start = st.st_size > (off_t)sizeof buf - 1 ? st.st_size - (off_t)(sizeof buf - 1) : 0;
  n = pread (fd, buf, sizeof buf - 1, start);
  if (n <= 0)
    return g_strdup ("");
  buf[n] = '\0';

  return g_strstrip (g_utf8_make_valid (buf, n));
}

static gboolean
child_watch_timeout (gpointer user_data)
{
  GTask *task = user_data;
  LaunchData *data = g_task_get_task_data (task);

  data->timeout_id = 0;

  /* Still running after the watch: it started. Stop waiting; the child lives on. */
  if (!data->returned)
    {
      data->returned = TRUE;
      g_task_return_boolean (task, TRUE);
    }
  g_cancellable_cancel (data->wait_cancellable);

  return G_SOURCE_REMOVE;
}

static void
child_exited (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error) || data->returned)
    return;

  g_clear_handle_id (&data->timeout_id, g_source_remove);

  /* Many launchers hand the work to a running instance and exit 0 at once: that is success. */
  if (g_subprocess_get_successful (data->child))
    {
      data->returned = TRUE;
      g_task_return_boolean (task, TRUE);
      return;
    }

  {
    g_autofree char *tail = read_stderr_tail (data->stderr_fd);
    g_autofree char *status = NULL;

    if (g_subprocess_get_if_exited (data->child))
      status = g_strdup_printf (_("exit status %d"), g_subprocess_get_exit_status (data->child));
    else
      status = g_strdup_printf (_("signal %d"), g_subprocess_get_term_sig (data->child));

    launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                    _("%s stopped right after it started (%s): %s"),
                                    bastion_launcher_tool_get_title (data->tool), status,
                                    tail[0] ? tail : _("it printed nothing")));
  }
}

static char **
tool_environment (BastionLauncher         *self,
                  const BastionLaunchPlan *plan)
{
  char **env = g_get_environ ();
  const char *scrub[] = { "PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE" };

  /* A PGPASSWORD of the user's would win over our pgpass file. */
  for (guint i = 0; i < G_N_ELEMENTS (scrub); i++)
    env = g_environ_unsetenv (env, scrub[i]);

  /* In a sandbox the variables ride on flatpak-spawn's --env= options instead: flatpak-spawn
   * --host does not pass its own environment on. */
  if (self->sandbox_app_id != NULL)
    return env;

  for (guint i = 0; plan->env[i] != NULL; i++)
    {
      const char *eq = strchr (plan->env[i], '=');
      g_autofree char *name = g_strndup (plan->env[i], eq - plan->env[i]);

      env = g_environ_setenv (env, name, eq + 1, TRUE);
    }

  return env;
}

static void
spawn_tool (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_auto(GStrv) env = tool_environment (self, data->plan);
  GError *error = NULL;
  int fd;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_environ (launcher, env);

  /* stderr goes to an anonymous memory file: readable if the tool fails at once, never a pipe
   * that could fill up and block a tool that keeps running, never a file left behind. */
  fd = memfd_create ("bastion-tool-stderr", MFD_CLOEXEC);
  if (fd >= 0)
    {
      int child_fd = dup (fd);

      data->stderr_fd = fd;
      if (child_fd >= 0)
        g_subprocess_launcher_take_stderr_fd (launcher, child_fd);
    }

  data->child = g_subprocess_launcher_spawnv (launcher,
                                              (const char * const *)data->plan->argv, &error);
  if (data->child == NULL)
    {
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR,
                                      BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not start %s: %s"),
                                      bastion_launcher_tool_get_title (data->tool),
                                      error->message));
      g_error_free (error);
      return;
    }

  data->wait_cancellable = g_cancellable_new ();
  data->timeout_id = g_timeout_add (self->watch_ms, child_watch_timeout, task);
  g_subprocess_wait_async (data->child, data->wait_cancellable, child_exited,
                           g_steal_pointer (&task));
}

/* --- pgAdmin: add the server with its own setup.py, once ---------------------------------- */

static void pgadmin_load (GTask *task);

static char *
stderr_tail_of (const char *text)
{
  gsize len;

  if (text == NULL)
    return g_strdup ("");

  len = strlen (text);
  if (len > 1500)
    text += len - 1500;

  return g_strstrip (g_utf8_make_valid (text, -1));
}

static void
pgadmin_load_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *servers_name = _bastion_launcher_file_name_for (data->target, SERVERS_SUFFIX);
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      return;
    }

  /* Loaded (or not): servers.json has done its job either way. */
  bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("pgAdmin's setup.py could not add the server of “%s”: "
                                        "%s"), data->target->team, tail));
      return;
    }

  spawn_tool (g_steal_pointer (&task));
}

static void
pgadmin_load (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GSubprocess) proc = NULL;
  GCancellable *cancellable;
  GError *error = NULL;

  proc = g_subprocess_newv ((const char * const *)data->plan->setup_argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      return;
    }

  cancellable = g_task_get_cancellable (task);
  g_subprocess_communicate_utf8_async (proc, NULL, cancellable, pgadmin_load_done,
                                       g_steal_pointer (&task));
}

static void
pgadmin_remove_done (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      return;
    }

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not update pgAdmin's server of “%s” (removing "
                                        "Bastion's old entry from %s failed): %s. Close pgAdmin "
                                        "and try again, or delete the server “%s” in pgAdmin"),
                                      data->target->team, ".pgadmin/pgadmin4.db", tail,
                                      data->target->team));
      return;
    }

  g_debug ("pgAdmin: %s", out != NULL ? g_strstrip (out) : "");
  pgadmin_load (g_steal_pointer (&task));
}

/* Removes only Bastion's own entry (see bastion-launcher-pgadmin.c), then loads it again. */
static void
pgadmin_remove (GTask      *task_in,
                const char *group)
{
  g_autoptr(GTask) task = task_in;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *sqlite = _bastion_launcher_pgadmin_sqlite_path (self);
  g_auto(GStrv) cmd = bastion_pgadmin_remove_argv (data->layout.python, sqlite, group,
                                                   data->target->team);
  g_auto(GStrv) argv = _bastion_launcher_host_argv (self, data->spawn,
                                                    (const char * const *)cmd, NULL);
  g_autoptr(GSubprocess) proc = NULL;
  GCancellable *cancellable;
  GError *error = NULL;

  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      return;
    }

  cancellable = g_task_get_cancellable (task);
  g_subprocess_communicate_utf8_async (proc, NULL, cancellable, pgadmin_remove_done,
                                       g_steal_pointer (&task));
}

static void
pgadmin_dump_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *dump_name = _bastion_launcher_file_name_for (data->target, DUMP_SUFFIX);
  g_autofree char *dump = bastion_runtime_dir_build_path (self->runtime_dir, dump_name);
  g_autofree char *group = g_strdup_printf ("SimpleIOT — %s", data->target->team);
  g_autoptr(GError) parse_error = NULL;
  GError *error = NULL;
  BastionPgadminEntry entry;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      return;
    }

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("pgAdmin's setup.py could not list its servers: %s"),
                                      tail));
      return;
    }

  {
    g_autofree char *wanted = bastion_launcher_dup_servers_json (self, data->target, NULL);

    entry = bastion_pgadmin_find_entry (dump, wanted, &parse_error);
  }
  bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);

  if (parse_error != NULL)
    {
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not read the server list pgAdmin wrote: %s"),
                                      parse_error->message));
      return;
    }

  switch (entry)
    {
    case BASTION_PGADMIN_ENTRY_CURRENT:
      {
        g_autofree char *servers_name = _bastion_launcher_file_name_for (data->target,
                                                                         SERVERS_SUFFIX);

        g_debug ("pgAdmin already has the server of %s; not adding it again",
                 data->target->team);
        bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);
        spawn_tool (g_steal_pointer (&task));
        return;
      }
    case BASTION_PGADMIN_ENTRY_STALE:
      g_debug ("pgAdmin's server of %s points elsewhere: replacing Bastion's entry",
               data->target->team);
      pgadmin_remove (g_steal_pointer (&task), group);
      return;
    case BASTION_PGADMIN_ENTRY_ABSENT:
    default:
      pgadmin_load (g_steal_pointer (&task));
      return;
    }
}

/* Asks pgAdmin's own setup.py for the servers it has: it knows its database schema in every
 * version, where reading pgadmin4.db directly would depend on it. */
static void
pgadmin_dump (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *dump_name = _bastion_launcher_file_name_for (data->target, DUMP_SUFFIX);
  g_autofree char *dump = bastion_runtime_dir_build_path (self->runtime_dir, dump_name);
  g_autofree char *sqlite = _bastion_launcher_pgadmin_sqlite_path (self);
  gboolean new_cli = data->layout.major > 8 || (data->layout.major == 8 && data->layout.minor >= 2);
  const char *cmd[] = {
    data->layout.python, data->layout.setup,
    new_cli ? "dump-servers" : "--dump-servers", dump,
    "--sqlite-path", sqlite, NULL
  };
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  GCancellable *cancellable;
  GError *error = NULL;

  /* No database yet: pgAdmin never ran, so it has no servers at all. */
  if (!data->pgadmin_has_db)
    {
      pgadmin_load (g_steal_pointer (&task));
      return;
    }

  /* In a sandbox, setup.py runs on the host and writes the list into the shared folder. */
  argv = _bastion_launcher_host_argv (self, data->spawn, cmd, NULL);
  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      return;
    }

  cancellable = g_task_get_cancellable (task);
  g_subprocess_communicate_utf8_async (proc, NULL, cancellable, pgadmin_dump_done,
                                       g_steal_pointer (&task));
}

static void
prepare_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      launch_fail (task, error);
      return;
    }

  if (data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    pgadmin_dump (g_steal_pointer (&task));
  else
    spawn_tool (g_steal_pointer (&task));
}

/**
 * bastion_launcher_launch_async:
 * @password: (nullable): the database password (not needed for pgAdmin, which asks
 *   `bastion-cli secret print`)
 *
 * Writes what the tool needs into the runtime folder and starts it. A tool that exits with an
 * error within the watch time (2 s) fails the launch with what it printed on stderr, and the
 * files this launch wrote are removed.
 */
void
bastion_launcher_launch_async (BastionLauncher           *self,
                               BastionLauncherTool        tool,
                               const BastionLaunchTarget *target,
                               const char                *password,
                               GCancellable              *cancellable,
                               GAsyncReadyCallback        callback,
                               gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) prepare = NULL;
  GError *error = NULL;
  LaunchData *data;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));
  g_return_if_fail (bastion_launcher_tool_to_string (tool) != NULL);
  g_return_if_fail (target != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_launch_async);

  data = g_new0 (LaunchData, 1);
  data->tool = tool;
  data->target = bastion_launch_target_copy (target);
  data->password = g_strdup (password);
  data->created = g_ptr_array_new_with_free_func (g_free);
  data->stderr_fd = -1;
  data->layout.major = data->layout.minor = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)launch_data_free);

  /* Take the lock here, on the calling thread; the worker only writes files. */
  if (!bastion_runtime_dir_ensure (self->runtime_dir, &error))
    {
      data->returned = TRUE;
      g_task_return_error (task, error);
      return;
    }

  prepare = g_task_new (self, cancellable, prepare_done, g_object_ref (task));
  g_task_set_source_tag (prepare, bastion_launcher_launch_async);
  g_task_set_task_data (prepare, data, NULL);
  g_task_run_in_thread (prepare, prepare_thread);
}

gboolean
bastion_launcher_launch_finish (BastionLauncher  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * bastion_launcher_set_terminal:
 * @terminal: (nullable): one of xdg-terminal-exec, kgx, gnome-terminal, ptyxis, konsole, xterm;
 *   NULL or "auto" for the first one found
 *
 * The terminal psql and pgcli open in, when it is installed.
 */
void
bastion_launcher_set_terminal (BastionLauncher *self,
                               const char      *terminal)
{
  g_return_if_fail (BASTION_IS_LAUNCHER (self));

  g_mutex_lock (&self->terminal_lock);
  g_free (self->terminal);
  self->terminal = terminal != NULL && !g_str_equal (terminal, "auto") ? g_strdup (terminal)
                                                                       : NULL;
  g_mutex_unlock (&self->terminal_lock);
}

/* --- A command for any terminal ----------------------------------------------------------- */

static void
command_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  LaunchData *data = task_data;
  GError *error = NULL;
  g_autofree char *pgpass = NULL;
  g_autofree char *pgpass_name = _bastion_launcher_file_name_for (data->target,
                                                                  PGPASS_SUFFIX);
  g_autofree char *passfile = bastion_runtime_dir_build_path (self->runtime_dir, pgpass_name);
  g_autofree char *service_name = _bastion_launcher_file_name_for (data->target,
                                                                   SERVICE_SUFFIX);
  g_autofree char *service = bastion_runtime_dir_build_path (self->runtime_dir, service_name);
  g_autofree char *id = bastion_pgpass_sanitize_name (data->target->profile_id);
  g_autofree char *entry = NULL;
  g_autofree char *quoted = NULL;

  pgpass = _bastion_launcher_dup_pgpass (data->target, data->password, &error);
  if (pgpass == NULL || !write_runtime_file (self, data, PGPASS_SUFFIX, pgpass, &error))
    {
      if (pgpass != NULL)
        bastion_secure_wipe (pgpass, strlen (pgpass));
      launch_fail (task, error);
      return;
    }
  bastion_secure_wipe (pgpass, strlen (pgpass));

  entry = _bastion_launcher_dup_service_entry (data->target, id, passfile);
  if (!write_runtime_file (self, data, SERVICE_SUFFIX, entry, &error))
    {
      launch_fail (task, error);
      return;
    }

  /* The program by name: the command is meant for whatever terminal the user pastes it in. */
  quoted = g_shell_quote (service);
  g_task_return_pointer (task,
                         g_strdup_printf ("PGSERVICEFILE=%s %s service=%s", quoted,
                                          data->tool == BASTION_LAUNCHER_TOOL_PGCLI ? "pgcli"
                                                                                    : "psql",
                                          id),
                         g_free);
}

/**
 * bastion_launcher_write_command_async:
 * @tool: %BASTION_LAUNCHER_TOOL_PSQL or %BASTION_LAUNCHER_TOOL_PGCLI
 * @password: the database password, written only to the 0600 pgpass file
 *
 * Writes the pg_service.conf entry and pgpass file a launch of @tool would use, and gives a
 * one-line command that works in any terminal while the tunnel is open
 * (`PGSERVICEFILE=… psql service=…`): paths only, never the password. The files go when the
 * profile's tunnel closes (bastion_launcher_cleanup()).
 */
void
bastion_launcher_write_command_async (BastionLauncher           *self,
                                      BastionLauncherTool        tool,
                                      const BastionLaunchTarget *target,
                                      const char                *password,
                                      GCancellable              *cancellable,
                                      GAsyncReadyCallback        callback,
                                      gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  LaunchData *data;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));
  g_return_if_fail (tool == BASTION_LAUNCHER_TOOL_PSQL || tool == BASTION_LAUNCHER_TOOL_PGCLI);
  g_return_if_fail (target != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_write_command_async);

  if (password == NULL || password[0] == '\0')
    {
      g_task_return_new_error (task, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NO_PASSWORD,
                               _("The database password of “%s” is not known"), target->team);
      return;
    }

  data = g_new0 (LaunchData, 1);
  data->tool = tool;
  data->target = bastion_launch_target_copy (target);
  data->password = g_strdup (password);
  data->created = g_ptr_array_new_with_free_func (g_free);
  data->stderr_fd = -1;
  data->layout.major = data->layout.minor = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)launch_data_free);

  if (!bastion_runtime_dir_ensure (self->runtime_dir, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_run_in_thread (task, command_thread);
}

char *
bastion_launcher_write_command_finish (BastionLauncher  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
