/* bastion-cli-launch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bastion-cli launch TEAM pgadmin|dbeaver|psql|pgcli [--dry-run] [--port N]
 *
 * Starts the tool against the team's tunnel: the one already listening on the profile's port
 * (bastion-cli tunnel TEAM, or the GUI), or else one this command opens itself. Then it stays
 * until Ctrl+C (or until a tunnel it did not open closes) and removes the password file.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <signal.h>
#include <stdio.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "bastion-cli-private.h"
#include "bastion-launcher.h"
#include "bastion-profile-store.h"
#include "bastion-readonly-role.h"
#include "bastion-secrets.h"
#include "bastion-tunnel.h"

/* A launch that keeps the password file until Ctrl+C or until the tunnel goes. */
typedef struct
{
  GMainLoop    *loop;
  guint16       port;
  gboolean      tunnel_gone;
  gboolean      interrupted;
} Wait;

static void
print_strv (const char  *title,
            char       **strv,
            gboolean     quote)
{
  g_print ("%s\n", title);
  if (strv == NULL || strv[0] == NULL)
    {
      g_print ("  %s\n", _("(none)"));
      return;
    }

  if (quote)
    {
      GString *line = g_string_new ("  ");

      for (guint i = 0; strv[i] != NULL; i++)
        {
          g_autofree char *q = g_shell_quote (strv[i]);

          if (i > 0)
            g_string_append_c (line, ' ');
          g_string_append (line, q);
        }
      g_print ("%s\n", line->str);
      g_string_free (line, TRUE);
      return;
    }

  for (guint i = 0; strv[i] != NULL; i++)
    g_print ("  %s\n", strv[i]);
}

static gboolean
on_signal (gpointer user_data)
{
  Wait *wait = user_data;

  wait->interrupted = TRUE;
  g_main_loop_quit (wait->loop);

  return G_SOURCE_CONTINUE;
}

/* Reads /proc, so it never opens a connection (and an SSH channel) through the tunnel. */
static gboolean
tunnel_is_listening (guint16 port)
{
  g_autofree char *command = NULL;
  int pid = 0;

  return bastion_tunnel_find_port_owner (port, &pid, &command);
}

static gboolean
on_poll_tunnel (gpointer user_data)
{
  Wait *wait = user_data;

  if (!tunnel_is_listening (wait->port))
    {
      wait->tunnel_gone = TRUE;
      g_main_loop_quit (wait->loop);
    }

  return G_SOURCE_CONTINUE;
}

/* Our own tunnel failed for good (reconnecting is not failing). */
static void
on_connection_stage (BastionConnection *connection,
                     GParamSpec        *pspec,
                     Wait              *wait)
{
  if (bastion_connection_get_stage (connection) == BASTION_CONNECTION_STAGE_FAILED)
    {
      wait->tunnel_gone = TRUE;
      g_main_loop_quit (wait->loop);
    }
}

/* A secret of the team from the keyring (NULL when none is stored). */
static char *
lookup_secret (const char         *profile_id,
               BastionSecretKind   kind,
               GError            **error)
{
  BastionSecrets *secrets = bastion_secrets_get_default ();
  g_autoptr(GAsyncResult) result = NULL;

  bastion_secrets_lookup_async (secrets, profile_id, kind, NULL, bastion_cli_store_result,
                                &result);
  return bastion_secrets_lookup_finish (secrets, bastion_cli_wait (&result), error);
}

static BastionLaunchTarget *
target_new (BastionProfile *profile,
            guint           port)
{
  BastionLaunchTarget *target = bastion_launch_target_new ();

  target->team = g_strdup (bastion_profile_get_display_name (profile)
                           ? bastion_profile_get_display_name (profile)
                           : bastion_profile_get_id (profile));
  target->profile_id = g_strdup (bastion_profile_get_id (profile));
  target->local_port = port > 0 ? port : bastion_profile_get_local_port (profile);
  target->db_host = g_strdup (bastion_profile_get_db_host (profile));
  target->db_name = g_strdup (bastion_profile_get_db_name (profile));
  target->db_user = g_strdup (bastion_profile_get_db_user (profile));
  target->sslmode = g_strdup (bastion_profile_get_ssl_mode (profile));
  target->read_only = bastion_profile_get_read_only (profile);

  return target;
}

/* A read-only profile whose team has a read-only login logs in as that role: the server then
 * holds the tool to reading, whatever the tool sends. FALSE (error set) when the keyring
 * failed; *password is that login's, or NULL. */
static gboolean
use_readonly_login (BastionLaunchTarget  *target,
                    char                **password,
                    GError              **error)
{
  *password = NULL;
  if (!target->read_only)
    return TRUE;

  *password = lookup_secret (target->profile_id, BASTION_SECRET_KIND_READONLY_PASSWORD, error);
  if (*error != NULL)
    return FALSE;
  if (*password != NULL)
    {
      g_free (target->db_user);
      target->db_user = g_strdup (BASTION_READONLY_ROLE);
      target->password_kind = g_strdup ("readonly-password");
    }
  return TRUE;
}

static int
print_dry_run (BastionLauncher     *launcher,
               BastionLauncherTool  tool,
               BastionLaunchTarget *target)
{
  g_autoptr(BastionLaunchPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;

  plan = bastion_launcher_describe (launcher, tool, target, &error);
  if (plan == NULL)
    return bastion_cli_fail_error ("launch", error);

  if (plan->setup_argv != NULL)
    print_strv (_("Adds the server with (unless pgAdmin already has it):"),
                plan->setup_argv, TRUE);
  print_strv (_("Command:"), plan->argv, TRUE);
  print_strv (_("Environment variables set:"), plan->env_names, FALSE);
  print_strv (_("Files written while connected (mode 0600):"), plan->files, FALSE);
  uri = bastion_launch_target_dup_uri (target);
  g_print ("%s\n  %s\n", _("Connection URI (no password):"), uri);
  return 0;
}

/* Starts the tool; FALSE after printing why. PASSWORD is wiped. */
static gboolean
start_tool (BastionLauncher     *launcher,
            BastionLauncherTool  tool,
            BastionLaunchTarget *target,
            const char          *team,
            char                *password)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* pgAdmin asks `bastion-cli secret print` itself; the others read the pgpass file. */
  if (tool != BASTION_LAUNCHER_TOOL_PGADMIN && password == NULL)
    {
      password = lookup_secret (target->profile_id, BASTION_SECRET_KIND_DB_PASSWORD, &error);
      if (error != NULL)
        {
          bastion_cli_fail_error ("launch: password", error);
          return FALSE;
        }
      if (password == NULL)
        {
          bastion_cli_fail ("launch: password",
                            _("no database password is stored for “%s”; store it with "
                              "“bastion-cli secret set %s db-password”"), team, team);
          return FALSE;
        }
    }

  bastion_launcher_launch_async (launcher, tool, target, password, NULL,
                                 bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  bastion_secret_free (password);

  if (!bastion_launcher_launch_finish (launcher, result, &error))
    {
      bastion_launcher_cleanup_all (launcher);
      bastion_cli_fail_error ("launch", error);
      return FALSE;
    }
  return TRUE;
}

/* Opens our own tunnel when none listens on the target's port; FALSE after printing why. */
static gboolean
ensure_tunnel (BastionProfile       *profile,
               const char           *team,
               BastionLaunchTarget  *target,
               gboolean              port_given,
               int                   transport,
               BastionConnection   **connection)
{
  if (tunnel_is_listening (target->local_port))
    return TRUE;

  /* --port names a tunnel the user says is running: do not open another one there. */
  if (port_given)
    {
      bastion_cli_fail ("launch", _("no tunnel is listening on 127.0.0.1:%u; start one with "
                                    "“bastion-cli tunnel %s” (or pass --port)"),
                        target->local_port, team);
      return FALSE;
    }
  *connection = bastion_cli_connect_via (profile, team, BASTION_CONNECTION_FLAGS_NONE,
                                         target->local_port, transport);
  if (*connection == NULL)
    return FALSE;
  target->local_port = bastion_connection_get_local_port (*connection);
  return TRUE;
}

/* Launches the tool through a tunnel (ours when none runs) and keeps its password file until
 * Ctrl+C or until the tunnel goes. */
static int
launch_and_wait (BastionProfile      *profile,
                 const char          *team,
                 BastionLauncher     *launcher,
                 BastionLauncherTool  tool,
                 BastionLaunchTarget *target,
                 gboolean             port_given,
                 int                  transport,
                 char                *password)
{
  g_autoptr(BastionConnection) connection = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait wait = { loop, 0, FALSE, FALSE };
  guint sigint_id, sigterm_id, poll_id = 0;
  gboolean started, serving;

  if (!ensure_tunnel (profile, team, target, port_given, transport, &connection))
    {
      bastion_secret_free (password);
      return 1;
    }
  if (connection != NULL)
    g_signal_connect (connection, "notify::stage", G_CALLBACK (on_connection_stage), &wait);

  wait.port = target->local_port;
  /* From here on, Ctrl+C means "done": the files go, whatever step we are at. */
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &wait);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &wait);

  started = start_tool (launcher, tool, target, team, password);
  /* pgAdmin without our tunnel asks for the password itself: nothing to keep, nothing to wait
   * for. */
  serving = started && !(tool == BASTION_LAUNCHER_TOOL_PGADMIN && connection == NULL);
  if (started && !serving)
    {
      bastion_launcher_cleanup_all (launcher);
      g_print (_("Started %s for %s.\n"), bastion_launcher_tool_get_title (tool), team);
    }
  else if (serving)
    {
      g_print (_("Started %s for %s on 127.0.0.1:%u. Press Ctrl+C when you are done: the "
                 "password file is removed then, or when the tunnel closes.\n"),
               bastion_launcher_tool_get_title (tool), team, target->local_port);
      fflush (stdout);
      if (connection == NULL)
        poll_id = g_timeout_add_seconds (2, on_poll_tunnel, &wait);
      if (!wait.interrupted)
        g_main_loop_run (loop);
    }
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_clear_handle_id (&poll_id, g_source_remove);
  if (connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (connection, &wait);
      bastion_connection_close (connection);
    }
  if (!serving)
    return started ? 0 : 1;

  bastion_launcher_cleanup (launcher, target->profile_id);
  bastion_launcher_cleanup_all (launcher);
  if (wait.tunnel_gone)
    g_print ("%s\n", _("The tunnel closed; the password file was removed."));

  return 0;
}

int
bastion_cli_launch (int    argc,
                    char **argv)
{
  gboolean dry_run = FALSE;
  g_autofree char *port_text = NULL;
  g_autofree char *via = NULL;
  int transport = -1;
  guint port = 0;
  GOptionEntry entries[] = {
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
      N_("Print the command, the environment variables and the files it would use"), NULL },
    { "port", 0, 0, G_OPTION_ARG_STRING, &port_text,
      N_("The local port of the running tunnel (default: the profile’s)"), N_("PORT") },
    { "via", 0, 0, G_OPTION_ARG_STRING, &via,
      N_("When no tunnel runs: carry the one this command opens through ssh, ssm (AWS Session "
         "Manager) or auto (default: the team’s transport)"), "ssh|ssm|auto" },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionLauncher) launcher = NULL;
  g_autoptr(BastionLaunchTarget) target = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *profile;
  BastionLauncherTool tool;
  char *password = NULL;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("TEAM pgadmin|dbeaver|psql|pgcli"),
                                  _("Open the team’s database in pgAdmin 4, DBeaver, psql or "
                                    "pgcli through a running tunnel (start one with "
                                    "“bastion-cli tunnel TEAM”). The password goes only into "
                                    "a private file that is removed when this command ends."),
                                  entries, &status))
    return status;

  if (argc != 3)
    return bastion_cli_fail ("launch", _("expected TEAM and a tool; run “bastion-cli launch "
                                         "--help”"));

  if (!bastion_launcher_tool_from_string (argv[2], &tool))
    return bastion_cli_fail ("launch", _("unknown tool “%s”: use pgadmin, dbeaver, psql or "
                                         "pgcli"), argv[2]);

  if (port_text != NULL && !bastion_cli_parse_port ("launch", "--port", port_text, &port))
    return 1;
  if (!bastion_cli_parse_via ("launch", via, &transport))
    return 1;

  store = bastion_cli_load_store ("launch");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "launch", argv[1]);
  if (profile == NULL)
    return 1;

  if (!bastion_profile_get_has_db_access (profile))
    return bastion_cli_fail ("launch", _("“%s” has no database access: %s"), argv[1],
                             bastion_profile_get_no_access_reason (profile)
                             ? bastion_profile_get_no_access_reason (profile) : "");

  target = target_new (profile, port);
  if (!use_readonly_login (target, &password, &error))
    return bastion_cli_fail_error ("launch: password", error);

  launcher = bastion_launcher_new ();
  if (dry_run)
    {
      /* Only the user name was needed. */
      bastion_secret_free (password);
      return print_dry_run (launcher, tool, target);
    }

  if (!bastion_launcher_cleanup_stale (launcher, NULL, &error))
    {
      g_printerr ("bastion-cli: launch: %s\n", error->message);
      g_clear_error (&error);
    }

  return launch_and_wait (profile, argv[1], launcher, tool, target, port > 0, transport,
                          password);
}
