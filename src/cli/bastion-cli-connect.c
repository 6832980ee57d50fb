/* bastion-cli-connect.c: what every command that opens a connection shares.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-cli-private.h"

/* The one way bastion-cli waits for an asynchronous call: start it with
 * bastion_cli_store_result() and an empty SLOT, then this runs the main context until the
 * call is done and returns its result (owned by SLOT). */
GAsyncResult *
bastion_cli_wait (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
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

/* The core's error, then what to do about it (bastion-cli-hints.c). */
char *
bastion_cli_dup_connection_error (BastionConnection *connection,
                                  const char        *team,
                                  const GError      *error)
{
  g_autofree char *hint = bastion_cli_dup_error_hint (error,
                                                      bastion_connection_get_profile (connection));

  if (hint == NULL)
    return g_strdup (error->message);

  return g_strdup_printf ("%s; %s", error->message, hint);
}

/* A secret is missing and nobody can be asked: the hint says how to store it first. */
static GError *
no_terminal_error (BastionProfile *profile,
                   gboolean        passphrase)
{
  return g_error_new (BASTION_CONNECTION_ERROR,
                      passphrase ? BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED
                                 : BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED,
                      passphrase
                      ? _("the key file of “%s” needs its passphrase and there is no terminal "
                          "to ask on")
                      : _("“%s” needs its SSH password (or keyboard-interactive answer) and "
                          "there is no terminal to ask on"),
                      bastion_profile_get_display_name (profile));
}

/* Asks on the terminal for what the connection needs; FALSE when it cannot. */
static gboolean
ask_secret (BastionConnection  *connection,
            BastionProfile     *profile,
            gboolean            passphrase,
            gboolean            again,
            GError            **error)
{
  g_autofree char *question = NULL;
  char *secret;
  gboolean remember;

  if (!bastion_cli_can_prompt ())
    {
      g_propagate_error (error, no_terminal_error (profile, passphrase));
      return FALSE;
    }

  if (again)
    g_printerr ("%s\n", _("Permission denied, please try again."));
  if (passphrase)
    question = g_strdup_printf (_("Passphrase for the key %s: "),
                                bastion_profile_get_key_file (profile));
  else
    question = g_strdup_printf (_("SSH password for %s@%s: "),
                                bastion_profile_get_ssh_user (profile),
                                bastion_profile_get_ssh_host (profile));
  secret = bastion_cli_prompt_secret (question);
  if (secret == NULL)
    {
      g_propagate_error (error, no_terminal_error (profile, passphrase));
      return FALSE;
    }

  remember = bastion_cli_prompt_yes_no (_("Store it in the keyring for next time? [y/N] "));
  if (passphrase)
    bastion_connection_set_passphrase (connection, secret, remember);
  else
    bastion_connection_set_ssh_password (connection, secret, remember);
  explicit_bzero (secret, strlen (secret));
  g_free (secret);

  return TRUE;
}

/**
 * bastion_cli_open:
 *
 * Opens the connection; when it needs a key passphrase or an SSH password that the keyring does
 * not have, asks on the terminal (three tries, as ssh does) and opens again.
 */
gboolean
bastion_cli_open (BastionConnection       *connection,
                  BastionProfile          *profile,
                  BastionConnectionFlags   flags,
                  GError                 **error)
{
  gboolean asked = FALSE;

  for (guint attempt = 0;; attempt++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) local = NULL;
      gboolean passphrase;

      bastion_connection_open_async (connection, flags, NULL, bastion_cli_store_result, &result);
      bastion_cli_wait (&result);
      if (bastion_connection_open_finish (connection, result, &local))
        return TRUE;

      passphrase = g_error_matches (local, BASTION_CONNECTION_ERROR,
                                    BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED) ||
                   (asked && g_error_matches (local, BASTION_SSH_ERROR,
                                              BASTION_SSH_ERROR_KEY_FILE));
      if (attempt < 3 &&
          (g_error_matches (local, BASTION_CONNECTION_ERROR,
                            BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED) ||
           g_error_matches (local, BASTION_CONNECTION_ERROR,
                            BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED) ||
           (asked && (g_error_matches (local, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED) ||
                      g_error_matches (local, BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE)))))
        {
          g_autoptr(GError) ask_error = NULL;

          if (!ask_secret (connection, profile, passphrase, asked, &ask_error))
            {
              /* No terminal: the original failure's step, the message that says what to do. */
              g_propagate_error (error, g_steal_pointer (&ask_error));
              return FALSE;
            }
          asked = TRUE;
          continue;
        }

      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
}

BastionConnection *
bastion_cli_connect (BastionProfile         *profile,
                     const char             *team,
                     BastionConnectionFlags  flags,
                     int                     local_port)
{
  return bastion_cli_connect_via (profile, team, flags, local_port, -1);
}

BastionConnection *
bastion_cli_connect_via (BastionProfile         *profile,
                         const char             *team,
                         BastionConnectionFlags  flags,
                         int                     local_port,
                         int                     transport)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (profile, NULL);
  g_autoptr(GError) error = NULL;

  bastion_connection_set_local_port (connection, local_port);
  bastion_connection_set_transport (connection, transport);
  if (!bastion_cli_open (connection, profile, flags, &error))
    {
      g_autofree char *message = bastion_cli_dup_connection_error (connection, team, error);

      bastion_cli_fail (bastion_cli_stage_step (bastion_connection_get_failed_stage (connection)),
                        "%s", message);
      bastion_connection_close (connection);
      return NULL;
    }
  bastion_cli_print_transport (connection);

  return g_steal_pointer (&connection);
}
