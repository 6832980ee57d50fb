/* bastion-connection-fix.c
 *
 * What to do about a failed connection, in the GUI's words. The core says what happened (a
 * domain and a code, a message naming the host, file or team, shown on the failed step's row);
 * this table gives the fix box its title, its explanation and the button to press. bastion-cli
 * has its own table, which names the command to run (src/cli/bastion-cli-hints.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-connection-fix.h"

#define PROMPT_AGAIN  "view.prompt-again"
#define EDIT_PROFILE  "win.edit-profile"
#define ICON_PASSWORD "dialog-password-symbolic"
/* Translators: keep HOST as it is: it is replaced by the bastion's host name. */
#define CHANGED_KEY_DESCRIPTION \
  N_("This can mean that someone is intercepting the connection, or that the bastion was " \
     "rebuilt. Bastion will not connect. Ask your administrator for the bastion’s new SHA256 " \
     "fingerprint. Once it is confirmed, remove the old key (“ssh-keygen -R HOST”, and its " \
     "line in Bastion’s own known_hosts file) and connect again.")

static const BastionConnectionFix fixes[] = {
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN, BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion’s identity is not confirmed yet"),
    N_("Compare its fingerprint with the one your administrator gives you, then trust it."),
    N_("Waiting for you to compare its fingerprint and trust it: press “Review Host Key”"),
    "security-medium-symbolic", N_("_Review Host Key…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_CHANGED, BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion’s host key has changed"),
    CHANGED_KEY_DESCRIPTION,
    NULL, "security-low-symbolic", NULL, NULL, TRUE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion’s host key has changed"),
    CHANGED_KEY_DESCRIPTION,
    NULL, "security-low-symbolic", NULL, NULL, TRUE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_TIMEOUT, BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion’s security group probably no longer admits your IP"),
    N_("Port 22 did not answer. When your public IP changed, the bastion’s SSH rule still names "
       "the old one."),
    NULL, "network-wired-no-route-symbolic", NULL, NULL, FALSE, TRUE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_REFUSED, BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion refused the connection"),
    N_("Nothing listens for SSH there: check the bastion’s host and port in the team’s "
       "settings, and that its SSH server runs."),
    NULL, "network-wired-disconnected-symbolic", NULL, NULL, FALSE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_DNS, BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The bastion’s name cannot be found"),
    N_("A bastion without an Elastic IP gets a new name each time it starts: import the team "
       "again, or ask AWS below."),
    NULL, "network-offline-symbolic", NULL, NULL, FALSE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_AUTH_FAILED, BASTION_CONNECTION_FIX_PASSWORD_LOGIN,
    N_("The bastion refused the login"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Password…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_AUTH_FAILED, BASTION_CONNECTION_FIX_OTHER_LOGIN,
    N_("The bastion refused the login"),
    N_("Check the SSH user and the key file in the team’s settings: the bastion must know this "
       "key for this user."),
    NULL, ICON_PASSWORD, N_("_Edit Profile…"), EDIT_PROFILE, FALSE, FALSE },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The key’s passphrase is needed"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Passphrase…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The key’s passphrase is needed"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Passphrase…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The SSH password is needed"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Password…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The database password is needed"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Password…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The database refused the password"), NULL,
    NULL, ICON_PASSWORD, N_("Enter _Password…"), PROMPT_AGAIN, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_NO_KEY_FILE,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The team’s settings are incomplete"),
    N_("Choose the team’s .pem key in its settings."),
    NULL, "dialog-warning-symbolic", N_("_Edit Profile…"), EDIT_PROFILE, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_INCOMPLETE,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The team’s settings are incomplete"),
    N_("Complete them in the team’s settings, or import the team again."),
    NULL, "dialog-warning-symbolic", N_("_Edit Profile…"), EDIT_PROFILE, FALSE, FALSE },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_NO_DB_ACCESS,
    BASTION_CONNECTION_FIX_ANY_LOGIN,
    N_("The team’s settings are incomplete"), NULL,
    NULL, "dialog-warning-symbolic", N_("_Edit Profile…"), EDIT_PROFILE, FALSE, FALSE },
};

static gboolean
login_matches (BastionConnectionFixLogin login,
               BastionAuthMethod         method)
{
  switch (login)
    {
    case BASTION_CONNECTION_FIX_PASSWORD_LOGIN:
      return method == BASTION_AUTH_METHOD_PASSWORD;
    case BASTION_CONNECTION_FIX_OTHER_LOGIN:
      return method != BASTION_AUTH_METHOD_PASSWORD;
    case BASTION_CONNECTION_FIX_ANY_LOGIN:
    default:
      return TRUE;
    }
}

/**
 * bastion_connection_fix_lookup:
 * @method: how the team logs in to its bastion
 *
 * Returns: (nullable): the fix for @error, or %NULL when the failed step is all there is to say
 */
const BastionConnectionFix *
bastion_connection_fix_lookup (const GError      *error,
                               BastionAuthMethod  method)
{
  if (error == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (fixes); i++)
    if (error->domain == fixes[i].domain () && error->code == fixes[i].code &&
        login_matches (fixes[i].login, method))
      return &fixes[i];

  return NULL;
}

/* The fix's explanation, translated, with the team's bastion named; NULL when it has none. */
char *
bastion_connection_fix_dup_description (const BastionConnectionFix *fix,
                                        BastionProfile             *profile)
{
  g_autoptr(GString) text = NULL;
  const char *host = bastion_profile_get_ssh_host (profile);

  if (fix == NULL || fix->description == NULL)
    return NULL;

  text = g_string_new (_(fix->description));
  g_string_replace (text, "HOST", host != NULL ? host : "", 0);

  return g_string_free (g_steal_pointer (&text), FALSE);
}
