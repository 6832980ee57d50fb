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

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
  guint16       port;
  gboolean      tunnel_gone;
  gboolean      interrupted;
} Wait;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
}

/* Runs until the call is done: an interruption meanwhile is remembered, not acted on. */
static void
wait_for_result (Wait *wait)
{
  g_clear_object (&wait->result);
  while (wait->result == NULL)
    g_main_context_iteration (NULL, TRUE);
}

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
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *profile;
  BastionLauncherTool tool;
  char *password = NULL;
  Wait wait = { 0 };
  int status = 0;
  g_autoptr(BastionConnection) connection = NULL;
  guint sigint_id, sigterm_id, poll_id = 0;

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
  if (!bastion_cli_parse_via ("launch", via, &transport))
    return 1;

  if (!bastion_launcher_tool_from_string (argv[2], &tool))
    return bastion_cli_fail ("launch", _("unknown tool “%s”: use pgadmin, dbeaver, psql or "
                                         "pgcli"), argv[2]);

  if (port_text != NULL && !bastion_cli_parse_port ("launch", "--port", port_text, &port))
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

  target = bastion_launch_target_new ();
  target->team = g_strdup (bastion_profile_get_display_name (profile)
                           ? bastion_profile_get_display_name (profile)
                           : bastion_profile_get_id (profile));
  target->profile_id = g_strdup (bastion_profile_get_id (profile));
  target->local_port = port > 0 ? (guint)port : bastion_profile_get_local_port (profile);
  target->db_host = g_strdup (bastion_profile_get_db_host (profile));
  target->db_name = g_strdup (bastion_profile_get_db_name (profile));
  target->db_user = g_strdup (bastion_profile_get_db_user (profile));
  target->sslmode = g_strdup (bastion_profile_get_ssl_mode (profile));
  target->read_only = bastion_profile_get_read_only (profile);

  /* A read-only profile whose team has a read-only login logs in as that role: the server
   * then holds the tool to reading, whatever the tool sends. */
  if (target->read_only)
    {
      BastionSecrets *secrets = bastion_secrets_get_default ();

      bastion_secrets_lookup_async (secrets, target->profile_id,
                                    BASTION_SECRET_KIND_READONLY_PASSWORD, NULL, on_done, &wait);
      wait_for_result (&wait);
      password = bastion_secrets_lookup_finish (secrets, wait.result, &error);
      g_clear_object (&wait.result);
      if (error != NULL)
        return bastion_cli_fail_error ("launch: password", error);
      if (password != NULL)
        {
          g_free (target->db_user);
          target->db_user = g_strdup (BASTION_READONLY_ROLE);
          target->password_kind = g_strdup ("readonly-password");
        }
    }

  launcher = bastion_launcher_new ();

  if (dry_run)
    {
      g_autoptr(BastionLaunchPlan) plan = NULL;
      g_autofree char *uri = NULL;

      /* Only the user name was needed. */
      bastion_secret_free (g_steal_pointer (&password));
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

  if (!bastion_launcher_cleanup_stale (launcher, NULL, &error))
    {
      g_printerr ("bastion-cli: launch: %s\n", error->message);
      g_clear_error (&error);
    }

  if (!tunnel_is_listening (target->local_port))
    {
      /* --port names a tunnel the user says is running: do not open another one there. */
      if (port > 0)
        return bastion_cli_fail ("launch", _("no tunnel is listening on 127.0.0.1:%u; start one "
                                             "with “bastion-cli tunnel %s” (or pass --port)"),
                                 target->local_port, argv[1]);
      connection = bastion_cli_connect_via (profile, argv[1], BASTION_CONNECTION_FLAGS_NONE,
                                            target->local_port, transport);
      if (connection == NULL)
        return 1;
      target->local_port = bastion_connection_get_local_port (connection);
      g_signal_connect (connection, "notify::stage", G_CALLBACK (on_connection_stage), &wait);
    }

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  wait.port = target->local_port;
  /* From here on, Ctrl+C means "done": the files go, whatever step we are at. */
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &wait);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &wait);

  /* pgAdmin asks `bastion-cli secret print` itself; the others read the pgpass file. */
  if (tool != BASTION_LAUNCHER_TOOL_PGADMIN && password == NULL)
    {
      BastionSecrets *secrets = bastion_secrets_get_default ();

      bastion_secrets_lookup_async (secrets, target->profile_id, BASTION_SECRET_KIND_DB_PASSWORD,
                                    NULL, on_done, &wait);
      wait_for_result (&wait);
      password = bastion_secrets_lookup_finish (secrets, wait.result, &error);
      if (error != NULL)
        return bastion_cli_fail_error ("launch: password", error);
      if (password == NULL)
        return bastion_cli_fail ("launch: password",
                                 _("no database password is stored for “%s”; store it with "
                                   "“bastion-cli secret set %s db-password”"),
                                 argv[1], argv[1]);
    }

  bastion_launcher_launch_async (launcher, tool, target, password, NULL, on_done, &wait);
  wait_for_result (&wait);
  bastion_secret_free (password);

  if (!bastion_launcher_launch_finish (launcher, wait.result, &error))
    {
      bastion_launcher_cleanup_all (launcher);
      return bastion_cli_fail_error ("launch", error);
    }
  g_clear_object (&wait.result);

  if (tool == BASTION_LAUNCHER_TOOL_PGADMIN && connection == NULL)
    {
      bastion_launcher_cleanup_all (launcher);
      g_print (_("Started %s for %s.\n"), bastion_launcher_tool_get_title (tool), argv[1]);
      return 0;
    }

  g_print (_("Started %s for %s on 127.0.0.1:%u. Press Ctrl+C when you are done: the password "
             "file is removed then, or when the tunnel closes.\n"),
           bastion_launcher_tool_get_title (tool), argv[1], target->local_port);

  fflush (stdout);
  if (connection == NULL)
    poll_id = g_timeout_add_seconds (2, on_poll_tunnel, &wait);
  if (!wait.interrupted)
    g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_clear_handle_id (&poll_id, g_source_remove);
  if (connection != NULL)
    bastion_connection_close (connection);

  bastion_launcher_cleanup (launcher, target->profile_id);
  bastion_launcher_cleanup_all (launcher);

  if (wait.tunnel_gone)
    g_print ("%s\n", _("The tunnel closed; the password file was removed."));

  return 0;
}
