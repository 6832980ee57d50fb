/* bastion-launcher-plan.c
 *
 * The plan of a launch: the argv, environment and files each tool needs for a target.
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

/* --- Plans ---------------------------------------------------------------------------------- */

static gboolean
check_target (const BastionLaunchTarget  *target,
              GError                    **error)
{
  struct { const char *what; const char *value; } fields[] = {
    { N_("The team name"), target->team },
    { N_("The profile id"), target->profile_id },
    { N_("The local address"), target->local_host },
    { N_("The database host name"), target->db_host },
    { N_("The database name"), target->db_name },
    { N_("The database user"), target->db_user },
    { N_("The SSL mode"), target->sslmode },
  };

  if (target->profile_id == NULL || target->profile_id[0] == '\0' ||
      target->team == NULL || target->team[0] == '\0')
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The profile has no team name or id; re-import the team"));
      return FALSE;
    }

  if (target->db_name == NULL || target->db_name[0] == '\0' ||
      target->db_user == NULL || target->db_user[0] == '\0')
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The profile of “%s” has no database name or user; set db_name and "
                     "db_username in the profile"), target->team);
      return FALSE;
    }

  if (target->local_port == 0 || target->local_port > 65535)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The tunnel of “%s” has no local port yet; connect first"), target->team);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (!bastion_pgpass_check_value (_(fields[i].what), fields[i].value, &local_error))
        {
          g_set_error_literal (error, BASTION_LAUNCHER_ERROR,
                               BASTION_LAUNCHER_ERROR_INVALID_TARGET, local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

char *
_bastion_launcher_file_name_for (const BastionLaunchTarget *target,
                                 const char                *suffix)
{
  g_autofree char *id = bastion_pgpass_sanitize_name (target->profile_id);

  return g_strconcat (id, suffix, NULL);
}



static char *
dup_cli_path (BastionLauncher *self)
{
  g_autofree char *exe = NULL;
  g_autofree char *found = NULL;

  if (self->cli_path != NULL)
    return g_strdup (self->cli_path);

  /* Next to the running binary: installed side by side, or the build tree's src/cli. */
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (exe);
      g_autofree char *beside = g_build_filename (dir, "bastion-cli", NULL);
      g_autofree char *build = g_build_filename (dir, "..", "cli", "bastion-cli", NULL);

      if (_bastion_launcher_is_executable_file (beside))
        return g_steal_pointer (&beside);
      if (_bastion_launcher_is_executable_file (build))
        {
          char *real = realpath (build, NULL);
          char *ret = g_strdup (real ? real : build);

          free (real);
          return ret;
        }
    }

  found = _bastion_launcher_find_program (self, "bastion-cli");
  if (found != NULL)
    return g_steal_pointer (&found);

  return g_strdup ("bastion-cli");
}

static char *
dup_password_command (BastionLauncher           *self,
                      const BastionLaunchTarget *target)
{
  g_autofree char *cli = NULL;
  g_autofree char *q_cli = NULL;
  /* The id: unique, and what `bastion-cli` looks a profile up by first. */
  g_autofree char *q_team = g_shell_quote (target->profile_id);
  /* The read-only login's password where the target logs in as that role. */
  const char *kind = g_strcmp0 (target->password_kind, "readonly-password") == 0
                     ? "readonly-password" : "db-password";

  /* pgAdmin runs the command on the host, where the sandbox's bastion-cli is reached through
   * flatpak run; it prints the password on pgAdmin's pipe, as outside. */
  if (self->sandbox_app_id != NULL)
    {
      g_autofree char *q_app = g_shell_quote (self->sandbox_app_id);

      return g_strdup_printf ("flatpak run --command=bastion-cli %s secret print %s %s",
                              q_app, q_team, kind);
    }

  cli = dup_cli_path (self);
  q_cli = g_shell_quote (cli);

  return g_strdup_printf ("%s secret print %s %s", q_cli, q_team, kind);
}

/**
 * bastion_launcher_dup_servers_json:
 *
 * pgAdmin's servers.json for the target: one server in the group "SimpleIOT — TEAM". Both the
 * pre-7.0 keys (HostAddr, SSLMode) and 7.0's ConnectionParameters are written; each pgAdmin
 * reads the one it knows. The password comes from PasswordExecCommand.
 */
char *
bastion_launcher_dup_servers_json (BastionLauncher           *self,
                                   const BastionLaunchTarget *target,
                                   GError                   **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *group = NULL;
  g_autofree char *command = NULL;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  if (!check_target (target, error))
    return NULL;

  group = g_strdup_printf ("SimpleIOT — %s", target->team);
  command = dup_password_command (self, target);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Servers");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "1");
  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "Name");
  json_builder_add_string_value (builder, target->team);
  json_builder_set_member_name (builder, "Group");
  json_builder_add_string_value (builder, group);
  json_builder_set_member_name (builder, "Host");
  json_builder_add_string_value (builder, _bastion_launcher_target_tls_host (target));
  json_builder_set_member_name (builder, "HostAddr");
  json_builder_add_string_value (builder, _bastion_launcher_target_local_host (target));
  json_builder_set_member_name (builder, "Port");
  json_builder_add_int_value (builder, target->local_port);
  json_builder_set_member_name (builder, "MaintenanceDB");
  json_builder_add_string_value (builder, target->db_name);
  json_builder_set_member_name (builder, "Username");
  json_builder_add_string_value (builder, target->db_user);
  json_builder_set_member_name (builder, "SSLMode");
  json_builder_add_string_value (builder, _bastion_launcher_target_sslmode (target));
  json_builder_set_member_name (builder, "PasswordExecCommand");
  json_builder_add_string_value (builder, command);
  json_builder_set_member_name (builder, "Comment");
  json_builder_add_string_value (builder, _("Added by Bastion: reached through its SSH tunnel"));

  json_builder_set_member_name (builder, "ConnectionParameters");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sslmode");
  json_builder_add_string_value (builder, _bastion_launcher_target_sslmode (target));
  json_builder_set_member_name (builder, "hostaddr");
  json_builder_add_string_value (builder, _bastion_launcher_target_local_host (target));
  json_builder_set_member_name (builder, "connect_timeout");
  json_builder_add_int_value (builder, 10);
  if (target->read_only)
    {
      json_builder_set_member_name (builder, "options");
      json_builder_add_string_value (builder, READ_ONLY_OPTIONS);
    }
  json_builder_end_object (builder);

  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);

  return json_generator_to_data (generator, NULL);
}

/**
 * bastion_launcher_dup_dbeaver_spec:
 *
 * The value of DBeaver's -con: the new postgres-jdbc driver, pgpass authentication (never a
 * password=), and for a read-only profile the JDBC driver's "options" property.
 */
char *
bastion_launcher_dup_dbeaver_spec (BastionLauncher           *self,
                                   const BastionLaunchTarget *target,
                                   GError                   **error)
{
  GString *spec;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  if (!check_target (target, error))
    return NULL;

  /* -con is split on "|" with no escape. */
  if (strchr (target->team, '|') || strchr (target->db_name, '|') ||
      strchr (target->db_user, '|') || strchr (_bastion_launcher_target_local_host (target), '|'))
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The team, database or user name of “%s” holds a “|”, which DBeaver's "
                     "command line cannot carry; rename it or use the connection URI"),
                   target->team);
      return NULL;
    }

  /* DBeaver's -con looks a connection up by name first and, when one exists, uses it without
   * taking the new host or port (older versions change nothing; newer ones only the database,
   * user, password and properties). So the name carries everything Bastion may change: a
   * tunnel on another port (or a read-only profile) gets a connection of its own, and a
   * connection of that name always points where its name says. -con connections are
   * temporary: DBeaver does not save them, so old ones do not pile up. */
  spec = g_string_new (NULL);
  g_string_append_printf (spec,
                          "driver=postgres-jdbc|host=%s|port=%u|database=%s|user=%s"
                          "|name=Bastion: %s (%s@%s, %s:%u%s)|folder=SimpleIOT"
                          "|auth=postgres_pgpass|openConsole=true",
                          _bastion_launcher_target_local_host (target), target->local_port,
                          target->db_name, target->db_user, target->team,
                          target->db_user, target->db_name,
                          _bastion_launcher_target_local_host (target), target->local_port, target->read_only ? ", read-only" : "");
  if (target->read_only)
    g_string_append (spec, "|prop.options=" READ_ONLY_OPTIONS);

  return g_string_free (spec, FALSE);
}

char *
_bastion_launcher_dup_service_entry (const BastionLaunchTarget *target,
                                     const char                *service,
                                     const char                *passfile)
{
  GString *s = g_string_new (NULL);

  g_string_append (s, "# Written by Bastion while the tunnel is open; removed when it closes.\n");
  g_string_append_printf (s, "[%s]\n", service);
  g_string_append_printf (s, "host=%s\n", _bastion_launcher_target_tls_host (target));
  g_string_append_printf (s, "hostaddr=%s\n", _bastion_launcher_target_local_host (target));
  g_string_append_printf (s, "port=%u\n", target->local_port);
  g_string_append_printf (s, "dbname=%s\n", target->db_name);
  g_string_append_printf (s, "user=%s\n", target->db_user);
  g_string_append_printf (s, "sslmode=%s\n", _bastion_launcher_target_sslmode (target));
  g_string_append_printf (s, "passfile=%s\n", passfile);
  g_string_append_printf (s, "application_name=%s\n", "bastion");
  if (target->read_only)
    g_string_append (s, "options=" READ_ONLY_OPTIONS "\n");

  return g_string_free (s, FALSE);
}

char *
_bastion_launcher_dup_pgpass (const BastionLaunchTarget  *target,
                              const char                 *password,
                              GError                    **error)
{
  /* Any host: libpq matches the "host" name (the real DB host when hostaddr is set), DBeaver
   * the local address; the port, database and user pin it to this tunnel. */
  return bastion_pgpass_format_line (NULL, target->local_port, target->db_name,
                                     target->db_user, password, error);
}

static void
plan_set_env (GPtrArray  *names,
              GPtrArray  *env,
              const char *name,
              const char *value)
{
  g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (env, g_strdup_printf ("%s=%s", name, value));
}

static GStrv
ptr_array_to_strv (GPtrArray *array)
{
  g_ptr_array_add (array, NULL);
  return (GStrv)g_ptr_array_free (array, FALSE);
}

/* Wraps argv for the host when in a sandbox: flatpak-spawn --host --env=NAME=PATH… TOOL… */
static GStrv
plan_host_argv (HostView  *view,
                GPtrArray *argv,
                GPtrArray *env)
{
  g_ptr_array_add (argv, NULL);
  g_ptr_array_add (env, NULL);

  return _bastion_launcher_host_argv (view->self, view->spawn, (const char * const *)argv->pdata,
                                      (const char * const *)env->pdata);
}

/* What a plan is made of before it becomes the host's argv and string arrays. */
typedef struct
{
  GPtrArray *argv;
  GPtrArray *names;
  GPtrArray *env;
  GPtrArray *files;
  GPtrArray *setup;   /* pgAdmin's setup.py load-servers, or NULL */
} PlanParts;

static void
plan_parts_clear (PlanParts *parts)
{
  g_clear_pointer (&parts->argv, g_ptr_array_unref);
  g_clear_pointer (&parts->names, g_ptr_array_unref);
  g_clear_pointer (&parts->env, g_ptr_array_unref);
  g_clear_pointer (&parts->files, g_ptr_array_unref);
  g_clear_pointer (&parts->setup, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PlanParts, plan_parts_clear)

/* pgAdmin itself, and its setup.py that loads the server first. */
static gboolean
plan_pgadmin (HostView                   *view,
              const BastionLaunchTarget  *target,
              const PgadminLayout        *layout,
              PlanParts                  *parts,
              GError                    **error)
{
  BastionLauncher *self = view->self;
  g_autofree char *servers_name = _bastion_launcher_file_name_for (target, SERVERS_SUFFIX);
  g_autofree char *servers = bastion_runtime_dir_build_path (self->runtime_dir, servers_name);
  g_autofree char *sqlite = _bastion_launcher_pgadmin_sqlite_path (self);
  gboolean new_cli;

  if (layout->major < 0)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNKNOWN_VERSION,
                   _("Could not tell which version of pgAdmin 4 is installed at “%s” "
                     "(no APP_RELEASE/APP_REVISION in web/version.py or web/config.py), "
                     "so Bastion cannot add the server safely; reinstall pgadmin4-desktop"),
                   layout->bin);
      return FALSE;
    }

  if (target->read_only && layout->major < 7)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNSUPPORTED,
                   _("pgAdmin %d.%d cannot carry the read-only setting (it needs pgAdmin "
                     "7 or newer); upgrade pgAdmin or turn off read-only for “%s”"),
                   layout->major, layout->minor, target->team);
      return FALSE;
    }

  /* setup.py became a typer app in 8.2: "load-servers"; up to 8.1, "--load-servers". */
  new_cli = layout->major > 8 || (layout->major == 8 && layout->minor >= 2);

  parts->setup = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (parts->setup, g_strdup (layout->python));
  g_ptr_array_add (parts->setup, g_strdup (layout->setup));
  g_ptr_array_add (parts->setup, g_strdup (new_cli ? "load-servers" : "--load-servers"));
  g_ptr_array_add (parts->setup, g_strdup (servers));
  g_ptr_array_add (parts->setup, g_strdup ("--sqlite-path"));
  g_ptr_array_add (parts->setup, g_strdup (sqlite));

  g_ptr_array_add (parts->argv, g_strdup (layout->bin));
  g_ptr_array_add (parts->files, g_steal_pointer (&servers));
  return TRUE;
}

/* DBeaver, the package or the Flatpak, with a connection spec and PGPASSFILE. */
static gboolean
plan_dbeaver (HostView                   *view,
              const BastionLaunchTarget  *target,
              const BastionToolInfo      *info,
              const char                 *pgpass,
              PlanParts                  *parts,
              GError                    **error)
{
  BastionLauncher *self = view->self;
  g_autofree char *spec = bastion_launcher_dup_dbeaver_spec (self, target, error);

  if (spec == NULL)
    return FALSE;

  if (info->flatpak)
    {
      BastionRuntimeDir *rd = self->runtime_dir;
      const char *relative = bastion_runtime_dir_get_xdg_relative (rd);

      g_ptr_array_add (parts->argv, _bastion_launcher_host_view_ask (view, 'w', "flatpak"));
      g_ptr_array_add (parts->argv, g_strdup ("run"));
      /* The sandbox sees only the runtime folder, read-only. */
      if (relative != NULL)
        g_ptr_array_add (parts->argv, g_strdup_printf ("--filesystem=xdg-run/%s:ro", relative));
      else
        g_ptr_array_add (parts->argv, g_strdup_printf ("--filesystem=%s:ro",
                                                       bastion_runtime_dir_get_base (rd)));
      g_ptr_array_add (parts->argv, g_strdup_printf ("--env=PGPASSFILE=%s", pgpass));
    }
  g_ptr_array_add (parts->argv, g_strdup (info->path));

  g_ptr_array_add (parts->argv, g_strdup ("-con"));
  g_ptr_array_add (parts->argv, g_steal_pointer (&spec));
  plan_set_env (parts->names, parts->env, "PGPASSFILE", pgpass);
  g_ptr_array_add (parts->files, g_strdup (pgpass));
  return TRUE;
}

/* psql or pgcli in the user's terminal, through a pg_service.conf entry. */
static void
plan_terminal (HostView                  *view,
               const BastionLaunchTarget *target,
               const BastionToolInfo     *info,
               const char                *id,
               const char                *pgpass,
               PlanParts                 *parts)
{
  BastionLauncher *self = view->self;
  g_autofree char *service_name = _bastion_launcher_file_name_for (target, SERVICE_SUFFIX);
  g_autofree char *service = bastion_runtime_dir_build_path (self->runtime_dir, service_name);
  g_autofree char *env_prog = _bastion_launcher_host_view_ask (view, 'w', "env");
  g_autofree char *terminal = NULL;
  const TerminalKind *kind = NULL;

  terminal = _bastion_launcher_find_terminal (view, &kind);
  g_assert (terminal != NULL);

  plan_set_env (parts->names, parts->env, "PGSERVICEFILE", service);
  plan_set_env (parts->names, parts->env, "PGSERVICE", id);

  g_ptr_array_add (parts->argv, g_steal_pointer (&terminal));
  if (kind->separator != NULL)
    g_ptr_array_add (parts->argv, g_strdup (kind->separator));

  /* Terminals that hand the command to a running server (gnome-terminal, kgx) may not
   * pass our environment on: "env" carries the two paths into the command itself. */
  g_ptr_array_add (parts->argv, env_prog ? g_steal_pointer (&env_prog) : g_strdup ("env"));
  g_ptr_array_add (parts->argv, g_strdup_printf ("PGSERVICEFILE=%s", service));
  g_ptr_array_add (parts->argv, g_strdup_printf ("PGSERVICE=%s", id));
  g_ptr_array_add (parts->argv, g_strdup (info->path));
  g_ptr_array_add (parts->argv, g_strdup_printf ("service=%s", id));

  g_ptr_array_add (parts->files, g_strdup (pgpass));
  g_ptr_array_add (parts->files, g_steal_pointer (&service));
}

BastionLaunchPlan *
_bastion_launcher_build_plan (HostView                   *view,
                              BastionLauncherTool         tool,
                              const BastionLaunchTarget  *target,
                              const BastionToolInfo      *info,
                              const PgadminLayout        *layout,
                              GError                    **error)
{
  g_autoptr(BastionLaunchPlan) plan = g_new0 (BastionLaunchPlan, 1);
  g_auto(PlanParts) parts = {
    .argv = g_ptr_array_new_with_free_func (g_free),
    .names = g_ptr_array_new_with_free_func (g_free),
    .env = g_ptr_array_new_with_free_func (g_free),
    .files = g_ptr_array_new_with_free_func (g_free),
  };
  BastionLauncher *self = view->self;
  g_autofree char *id = NULL;
  g_autofree char *pgpass_name = _bastion_launcher_file_name_for (target, PGPASS_SUFFIX);
  g_autofree char *pgpass = bastion_runtime_dir_build_path (self->runtime_dir, pgpass_name);

  if (!check_target (target, error))
    return NULL;

  if (!info->available)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NOT_INSTALLED,
                   "%s", info->install_hint ? info->install_hint : _("The tool is not installed"));
      return NULL;
    }

  id = bastion_pgpass_sanitize_name (target->profile_id);
  plan->tool = tool;

  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN:
      if (!plan_pgadmin (view, target, layout, &parts, error))
        return NULL;
      break;

    case BASTION_LAUNCHER_TOOL_DBEAVER:
      if (!plan_dbeaver (view, target, info, pgpass, &parts, error))
        return NULL;
      break;

    case BASTION_LAUNCHER_TOOL_PSQL:
    case BASTION_LAUNCHER_TOOL_PGCLI:
      plan_terminal (view, target, info, id, pgpass, &parts);
      break;

    default:
      g_assert_not_reached ();
    }

  plan->argv = plan_host_argv (view, parts.argv, parts.env);
  g_ptr_array_set_size (parts.env, parts.env->len - 1);
  if (parts.setup != NULL)
    {
      g_autoptr(GPtrArray) no_env = g_ptr_array_new ();

      plan->setup_argv = plan_host_argv (view, parts.setup, no_env);
    }
  plan->env_names = ptr_array_to_strv (g_steal_pointer (&parts.names));
  plan->env = ptr_array_to_strv (g_steal_pointer (&parts.env));
  plan->files = ptr_array_to_strv (g_steal_pointer (&parts.files));

  return g_steal_pointer (&plan);
}

/**
 * bastion_launcher_describe:
 *
 * What bastion_launcher_launch_async() would run and write (for `--dry-run`); writes nothing.
 */
BastionLaunchPlan *
bastion_launcher_describe (BastionLauncher            *self,
                           BastionLauncherTool         tool,
                           const BastionLaunchTarget  *target,
                           GError                    **error)
{
  PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };
  g_autoptr(BastionToolInfo) info = NULL;
  BastionLaunchPlan *plan;
  HostView view;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  _bastion_launcher_host_view_init (&view, self);
  info = _bastion_launcher_detect_tool_full (&view, tool, &layout);
  plan = _bastion_launcher_build_plan (&view, tool, target, info, &layout, error);
  _bastion_launcher_pgadmin_layout_clear (&layout);
  _bastion_launcher_host_view_clear (&view);

  return plan;
}
