/* bastion-cli-tunnel.c: `bastion-cli tunnel` and `bastion-cli hostkey`
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "bastion-cli-private.h"
#include "bastion-defaults.h"
#include "bastion-profile-store.h"
#include "bastion-secrets.h"
#include "bastion-ssh-jump.h"
#include "bastion-ssh-session.h"
#include "bastion-tunnel.h"

typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

/* SIGINT/SIGTERM: stop connecting, or stop serving. */
typedef struct
{
  GMainLoop    *loop;
  GCancellable *cancellable;
  guint         sigint_id;
  guint         sigterm_id;
} Stop;

static gboolean
on_signal (gpointer data)
{
  Stop *stop = data;

  g_cancellable_cancel (stop->cancellable);
  g_main_loop_quit (stop->loop);

  return G_SOURCE_CONTINUE;
}

static void
stop_watch_signals (Stop *stop)
{
  g_clear_handle_id (&stop->sigint_id, g_source_remove);
  g_clear_handle_id (&stop->sigterm_id, g_source_remove);
}

static void
on_connection_stage (BastionConnection *connection,
                     GParamSpec        *pspec,
                     GMainLoop         *loop)
{
  if (bastion_connection_get_stage (connection) == BASTION_CONNECTION_STAGE_FAILED)
    g_main_loop_quit (loop);
}

/* Prints where the tunnel listens and serves until a signal, or until the connection fails
 * for good (reconnection gave up). */
static int
serve (BastionConnection *connection,
       Stop              *stop)
{
  BastionTunnel *tunnel = bastion_connection_get_tunnel (connection);
  const GError *error;
  gulong handler;

  g_print ("listening %s:%u\n", bastion_tunnel_get_local_address (tunnel),
           bastion_tunnel_get_local_port (tunnel));
  fflush (stdout);
  bastion_cli_print_transport (connection);

  handler = g_signal_connect (connection, "notify::stage", G_CALLBACK (on_connection_stage),
                              stop->loop);
  g_main_loop_run (stop->loop);
  g_signal_handler_disconnect (connection, handler);

  error = bastion_connection_get_error (connection);
  if (bastion_connection_get_stage (connection) == BASTION_CONNECTION_STAGE_FAILED &&
      error != NULL)
    return bastion_cli_fail_error (bastion_cli_error_step (error), error);

  return 0;
}

/* The open failed: interrupted (not an error), or the step and what to do. */
static int
open_failed (BastionConnection *connection,
             const char        *team,
             const GError      *error)
{
  g_autofree char *message = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return 0;

  message = bastion_cli_dup_connection_error (connection, team, error);
  return bastion_cli_fail (bastion_cli_stage_step (bastion_connection_get_failed_stage (connection)),
                           "%s", message);
}

/* Opens through bastion_cli_open(), so a terminal is asked for the SSH password,
 * keyboard-interactive answer or key passphrase as query and check do. */
static int
open_and_serve (BastionProfile         *profile,
                const char             *team,
                gint                    port,
                BastionConnectionFlags  flags,
                int                     transport)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (profile, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Stop stop = { loop, cancellable, 0, 0 };
  int status;

  bastion_connection_set_local_port (connection, port);
  bastion_connection_set_transport (connection, transport);
  stop.sigint_id = g_unix_signal_add (SIGINT, on_signal, &stop);
  stop.sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &stop);

  if (bastion_cli_open_cancellable (connection, profile, flags, cancellable, &error))
    status = serve (connection, &stop);
  else
    status = open_failed (connection, team, error);

  bastion_connection_close (connection);
  stop_watch_signals (&stop);

  return status;
}

int
bastion_cli_tunnel (int    argc,
                    char **argv)
{
  g_autofree char *port_text = NULL;
  gint port = -1;
  gboolean accept_new = FALSE;
  g_autofree char *via = NULL;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_STRING, &port_text,
      N_("Listen on this port of 127.0.0.1 (0: any free port; default: the team’s)"), "N" },
    { "via", 0, 0, G_OPTION_ARG_STRING, &via,
      N_("Carry the connection through ssh (default), ssm (AWS Session Manager), or auto (SSH, "
         "then Session Manager when port 22 does not answer)"), "ssh|ssm|auto" },
    { "accept-new", 0, 0, G_OPTION_ARG_NONE, &accept_new,
      N_("Trust the bastion’s host key if it is not known yet (never a changed one)"), NULL },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  BastionProfile *profile;
  int transport = -1;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, "TEAM",
                                  _("Open the SSH tunnel to the team’s database and serve it on "
                                    "127.0.0.1 until interrupted."),
                                  entries, &status))
    return status;

  if (argc != 2)
    return bastion_cli_fail ("tunnel", _("give one TEAM; run “bastion-cli tunnel --help”"));
  if (port_text != NULL)
    {
      guint parsed;

      if (!bastion_cli_parse_port ("tunnel", "--port", port_text, &parsed))
        return 1;
      port = parsed;
    }

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[1]);
  if (profile == NULL)
    return 1;
  if (!bastion_cli_parse_via ("tunnel", via, &transport))
    return 1;

  return open_and_serve (profile, argv[1], port,
                         accept_new ? BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY
                                    : BASTION_CONNECTION_FLAGS_NONE,
                         transport);
}

static const char *
host_key_state (BastionHostKeyStatus status)
{
  switch (status)
    {
    case BASTION_HOST_KEY_TRUSTED:
      return "trusted";
    case BASTION_HOST_KEY_PIN_MATCH:
      return "pinned";
    case BASTION_HOST_KEY_UNKNOWN:
      return "unknown";
    case BASTION_HOST_KEY_PIN_MISMATCH:
      return "pin-mismatch";
    case BASTION_HOST_KEY_REVOKED:
      return "revoked";
    case BASTION_HOST_KEY_CHANGED:
    case BASTION_HOST_KEY_UNCHECKED:
    default:
      return "changed";
    }
}

/* The session `hostkey` probes: the bastion, through the team's ProxyJump hops when it has
 * some (they log in with the team's key file or the agent to get there). */
static BastionSshSession *
probe_session_new (BastionProfile  *profile,
                   GError         **error)
{
  const char *user = bastion_profile_get_ssh_user (profile);
  const char *jump_spec = bastion_profile_get_proxy_jump (profile);
  g_autoptr(BastionSshSession) session = NULL;

  if (user == NULL || user[0] == '\0')
    user = BASTION_DEFAULT_SSH_USER;
  session = bastion_ssh_session_new (bastion_profile_get_ssh_host (profile),
                                     bastion_profile_get_ssh_port (profile), user);
  g_object_set (session,
                "host-key-pin", bastion_profile_get_host_key_pin (profile),
                "key-file", bastion_profile_get_key_file (profile),
                "auth-method", bastion_profile_get_auth_method (profile),
                NULL);
  if (jump_spec != NULL && jump_spec[0] != '\0' && g_ascii_strcasecmp (jump_spec, "none") != 0)
    {
      g_autoptr(BastionSshJump) jump = bastion_ssh_jump_new (jump_spec, user, error);

      if (jump == NULL)
        return NULL;
      bastion_ssh_session_set_jump (session, jump);
    }

  return g_steal_pointer (&session);
}

static gboolean
run_wait (Wait *wait)
{
  g_clear_object (&wait->result);
  g_main_loop_run (wait->loop);
  return TRUE;
}

static gboolean
trust_key (BastionSshSession  *session,
           Wait               *wait,
           GError            **error)
{
  bastion_ssh_session_trust_host_key_async (session, NULL, on_done, wait);
  run_wait (wait);
  return bastion_ssh_session_trust_host_key_finish (session, wait->result, error);
}

/* Connects as far as the bastion's host key. A jump host's unknown key stops the probe before
 * it: with TRUST it is recorded (and said on stderr) and the probe goes on, hop by hop. */
static gboolean
probe (BastionSshSession  *session,
       gboolean            trust,
       Wait               *wait,
       GError            **error)
{
  BastionSshJump *jump = bastion_ssh_session_get_jump (session);
  guint tries = jump ? bastion_ssh_jump_get_n_hops (jump) + 1 : 1;

  for (guint i = 0; i < tries; i++)
    {
      g_autoptr(GError) local = NULL;
      BastionSshSession *hop;

      bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, NULL,
                                         on_done, wait);
      run_wait (wait);
      if (bastion_ssh_session_connect_finish (session, wait->result, &local))
        return TRUE;

      hop = jump ? bastion_ssh_jump_get_failed_hop (jump) : NULL;
      if (!trust || hop == NULL ||
          !g_error_matches (local, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_printerr (_("Jump host %s:%u: recording its host key %s\n"),
                  bastion_ssh_session_get_host (hop), bastion_ssh_session_get_port (hop),
                  bastion_ssh_session_get_host_key_fingerprint (hop));
      if (!trust_key (session, wait, error))
        return FALSE;
    }

  g_set_error_literal (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                       _("The jump hosts kept presenting new host keys; try again"));
  return FALSE;
}

/* Prints "FINGERPRINT STATE"; with TRUST an unknown key is recorded first. */
static int
report_host_key (BastionSshSession *session,
                 BastionProfile    *profile,
                 gboolean           trust,
                 Wait              *wait)
{
  BastionHostKeyStatus status = bastion_ssh_session_get_host_key_status (session);
  const char *state = host_key_state (status);
  g_autoptr(GError) error = NULL;

  if (status == BASTION_HOST_KEY_UNKNOWN && trust)
    {
      if (!trust_key (session, wait, &error))
        return bastion_cli_fail_error ("host key", error);
      state = "trusted";
    }

  g_print ("%s %s\n", bastion_ssh_session_get_host_key_fingerprint (session), state);
  fflush (stdout);

  if (g_str_equal (state, "unknown"))
    g_printerr ("%s\n", _("Not trusted yet: check the fingerprint with the bastion’s "
                          "administrator, then run “bastion-cli hostkey TEAM --trust”."));
  if (g_str_equal (state, "trusted") || g_str_equal (state, "pinned") ||
      g_str_equal (state, "unknown"))
    return 0;

  return bastion_cli_fail ("host key",
                           _("the host key of %s does not match what Bastion trusts (%s): "
                             "refusing it. Once its administrator has confirmed the new key, "
                             "remove the old one from known_hosts."),
                           bastion_profile_get_ssh_host (profile), state);
}

int
bastion_cli_hostkey (int    argc,
                     char **argv)
{
  gboolean trust = FALSE;
  GOptionEntry entries[] = {
    { "trust", 0, 0, G_OPTION_ARG_NONE, &trust,
      N_("Record the key in Bastion’s known_hosts if it is not known yet (also the keys of the "
         "team’s jump hosts)"), NULL },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionSshSession) session = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *profile;
  Wait wait = { 0 };
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, "TEAM",
                                  _("Show the SHA256 fingerprint of the bastion’s host key and "
                                    "whether it is trusted; --trust records it."),
                                  entries, &status))
    return status;

  if (argc != 2)
    return bastion_cli_fail ("hostkey", _("give one TEAM; run “bastion-cli hostkey --help”"));

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[1]);
  if (profile == NULL)
    return 1;
  if (bastion_profile_get_ssh_host (profile) == NULL)
    return bastion_cli_fail ("profile", _("“%s” names no bastion host (ssh-host)"), argv[1]);
  session = probe_session_new (profile, &error);
  if (session == NULL)
    return bastion_cli_fail_error ("profile", error);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  if (!probe (session, trust, &wait, &error))
    status = bastion_cli_fail_error (bastion_cli_error_step (error), error);
  else
    status = report_host_key (session, profile, trust, &wait);
  g_clear_object (&wait.result);

  return status;
}
