/* bastion-cli-connect.c: what every command that opens a connection shares.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-cli-private.h"

gboolean
bastion_cli_wait (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return TRUE;
}

void
bastion_cli_store_result (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

const char *
bastion_cli_stage_step (BastionConnectionStage stage)
{
  switch (stage)
    {
    case BASTION_CONNECTION_STAGE_PROFILE:
      return "profile";
    case BASTION_CONNECTION_STAGE_CREDENTIALS:
      return "credentials";
    case BASTION_CONNECTION_STAGE_RESOLVING:
      return "resolve";
    case BASTION_CONNECTION_STAGE_CONNECTING:
      return "connect";
    case BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY:
      return "host key";
    case BASTION_CONNECTION_STAGE_AUTHENTICATING:
      return "authenticate";
    case BASTION_CONNECTION_STAGE_OPENING_TUNNEL:
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      return "tunnel";
    case BASTION_CONNECTION_STAGE_DATABASE_LOGIN:
      return "database login";
    case BASTION_CONNECTION_STAGE_IDLE:
    case BASTION_CONNECTION_STAGE_READY:
    case BASTION_CONNECTION_STAGE_FAILED:
    default:
      return "connect";
    }
}

/* The error, with what to do next where the core's message cannot know it (CLI flags). */
char *
bastion_cli_dup_connection_error (BastionConnection *connection,
                                  const char        *team,
                                  const GError      *error)
{
  BastionSshSession *session = bastion_connection_get_session (connection);

  if (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN))
    {
      const char *fingerprint = session ? bastion_ssh_session_get_host_key_fingerprint (session)
                                        : NULL;

      return g_strdup_printf (_("the bastion’s host key %s is not known yet; check it, then run "
                                "“bastion-cli hostkey %s --trust” or pass --accept-new"),
                              fingerprint ? fingerprint : "", team);
    }

  return g_strdup (error->message);
}

BastionConnection *
bastion_cli_connect (BastionProfile         *profile,
                     const char             *team,
                     BastionConnectionFlags  flags,
                     int                     local_port)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (profile, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_connection_set_local_port (connection, local_port);
  bastion_connection_open_async (connection, flags, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  if (!bastion_connection_open_finish (connection, result, &error))
    {
      g_autofree char *message = bastion_cli_dup_connection_error (connection, team, error);

      bastion_cli_fail (bastion_cli_stage_step (bastion_connection_get_failed_stage (connection)),
                        "%s", message);
      bastion_connection_close (connection);
      return NULL;
    }

  return g_steal_pointer (&connection);
}
