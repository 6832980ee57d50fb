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

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static void
on_connection_stage (BastionConnection *connection,
                     GParamSpec        *pspec,
                     GMainLoop         *loop)
{
  if (bastion_connection_get_stage (connection) == BASTION_CONNECTION_STAGE_FAILED)
    g_main_loop_quit (loop);
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
  g_autoptr(BastionConnection) connection = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BastionConnectionFlags flags = BASTION_CONNECTION_FLAGS_NONE;
  BastionTunnel *tunnel;
  BastionProfile *profile;
  Wait wait = { 0 };
  int transport = -1;
  guint sigint_id;
  guint sigterm_id;
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

  if (accept_new)
    flags |= BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY;
  connection = bastion_connection_new (profile, NULL);
  bastion_connection_set_local_port (connection, port);
  bastion_connection_set_transport (connection, transport);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  sigint_id = g_unix_signal_add (SIGINT, on_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, loop);

  bastion_connection_open_async (connection, flags, cancellable, on_done, &wait);
  g_main_loop_run (loop);

  if (wait.result == NULL)
    {
      /* Interrupted while connecting. */
      g_cancellable_cancel (cancellable);
      bastion_connection_close (connection);
      g_source_remove (sigint_id);
      g_source_remove (sigterm_id);
      return 0;
    }

  bastion_connection_open_finish (connection, wait.result, &error);
  if (error != NULL)
    {
      g_autofree char *message = bastion_cli_dup_connection_error (connection, argv[1], error);

      g_clear_object (&wait.result);
      g_source_remove (sigint_id);
      g_source_remove (sigterm_id);
      return bastion_cli_fail (bastion_cli_stage_step (
                                 bastion_connection_get_failed_stage (connection)),
                               "%s", message);
    }
  g_clear_object (&wait.result);

  tunnel = bastion_connection_get_tunnel (connection);
  g_print ("listening %s:%u\n", bastion_tunnel_get_local_address (tunnel),
           bastion_tunnel_get_local_port (tunnel));
  fflush (stdout);
  bastion_cli_print_transport (connection);

  g_signal_connect (connection, "notify::stage", G_CALLBACK (on_connection_stage), loop);
  g_main_loop_run (loop);

  if (bastion_connection_get_stage (connection) == BASTION_CONNECTION_STAGE_FAILED &&
      bastion_connection_get_error (connection) != NULL)
    {
      const GError *failure = bastion_connection_get_error (connection);

      status = bastion_cli_fail_error (bastion_cli_error_step (failure), failure);
    }

  bastion_connection_close (connection);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  return status;
}

int
bastion_cli_hostkey (int    argc,
                     char **argv)
{
  gboolean trust = FALSE;
  GOptionEntry entries[] = {
    { "trust", 0, 0, G_OPTION_ARG_NONE, &trust,
      N_("Record the key in Bastion’s known_hosts if it is not known yet"), NULL },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionSshSession) session = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *profile;
  Wait wait = { 0 };
  const char *fingerprint;
  const char *state;
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

  session = bastion_ssh_session_new (bastion_profile_get_ssh_host (profile),
                                     bastion_profile_get_ssh_port (profile),
                                     bastion_profile_get_ssh_user (profile)
                                     ? bastion_profile_get_ssh_user (profile)
                                     : BASTION_DEFAULT_SSH_USER);
  g_object_set (session, "host-key-pin", bastion_profile_get_host_key_pin (profile), NULL);

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  bastion_ssh_session_connect_async (session, BASTION_SSH_CONNECT_HOST_KEY_ONLY, NULL,
                                     on_done, &wait);
  g_main_loop_run (loop);
  if (!bastion_ssh_session_connect_finish (session, wait.result, &error))
    {
      g_clear_object (&wait.result);
      return bastion_cli_fail_error (bastion_cli_error_step (error), error);
    }
  g_clear_object (&wait.result);

  fingerprint = bastion_ssh_session_get_host_key_fingerprint (session);
  switch (bastion_ssh_session_get_host_key_status (session))
    {
    case BASTION_HOST_KEY_TRUSTED:
      state = "trusted";
      break;
    case BASTION_HOST_KEY_PIN_MATCH:
      state = "pinned";
      break;
    case BASTION_HOST_KEY_UNKNOWN:
      if (trust)
        {
          bastion_ssh_session_trust_host_key_async (session, NULL, on_done, &wait);
          g_main_loop_run (loop);
          if (!bastion_ssh_session_trust_host_key_finish (session, wait.result, &error))
            {
              g_clear_object (&wait.result);
              return bastion_cli_fail_error ("host key", error);
            }
          g_clear_object (&wait.result);
          state = "trusted";
        }
      else
        state = "unknown";
      break;
    case BASTION_HOST_KEY_PIN_MISMATCH:
      state = "pin-mismatch";
      status = 1;
      break;
    case BASTION_HOST_KEY_REVOKED:
      state = "revoked";
      status = 1;
      break;
    case BASTION_HOST_KEY_CHANGED:
    case BASTION_HOST_KEY_UNCHECKED:
    default:
      state = "changed";
      status = 1;
      break;
    }

  g_print ("%s %s\n", fingerprint, state);
  fflush (stdout);

  if (status != 0)
    bastion_cli_fail ("host key",
                      _("the host key of %s does not match what Bastion trusts (%s): refusing "
                        "it. Once its administrator has confirmed the new key, remove the old "
                        "one from known_hosts."),
                      bastion_profile_get_ssh_host (profile), state);
  else if (g_str_equal (state, "unknown"))
    g_printerr ("%s\n", _("Not trusted yet: check the fingerprint with the bastion’s "
                          "administrator, then run “bastion-cli hostkey TEAM --trust”."));

  return status;
}
