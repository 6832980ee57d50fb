/* bastion-cli-hints.c
 *
 * What to do about an error of the core, in the CLI's words. The core says what happened
 * (a domain and a code, a message naming the host, file or team); this table adds the step the
 * one-line error names and the command that helps. The GUI has its own table, which names the
 * button to press (bastion-connection-fix.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-cli-private.h"

#define ANY_CODE (-1)

typedef struct
{
  GQuark      (*domain) (void);
  int           code;       /* or ANY_CODE */
  const char   *step;       /* the step a tunnel's own failure names; NULL: "connect" */
  /* Translators: keep TEAM as it is: it is replaced by the team's name. */
  const char   *hint;       /* NULL: the core's message says it all */
} BastionCliHint;

static const BastionCliHint hints[] = {
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_DNS, "resolve", NULL },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_TIMEOUT, NULL,
    N_("if your public IP changed, allow it with “bastion-cli aws allow-my-ip TEAM”") },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN, "host key",
    N_("check it with the bastion’s administrator, then run “bastion-cli hostkey TEAM --trust”, "
       "or pass --accept-new") },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_CHANGED, "host key", NULL },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH, "host key", NULL },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_KEY_FILE, "authenticate", NULL },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED, "authenticate",
    N_("store it with “bastion-cli secret set TEAM key-passphrase” (it reads the passphrase "
       "from standard input)") },
  { bastion_ssh_error_quark, BASTION_SSH_ERROR_AUTH_FAILED, "authenticate", NULL },
  { bastion_tunnel_error_quark, ANY_CODE, "listen", NULL },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED, NULL,
    N_("store it with “bastion-cli secret set TEAM key-passphrase” (it reads the passphrase "
       "from standard input)") },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED, NULL,
    N_("store it with “bastion-cli secret set TEAM ssh-password” (it reads the password from "
       "standard input)") },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED, NULL,
    N_("store it with “bastion-cli secret set TEAM db-password”, or fetch it with "
       "“bastion-cli aws secret TEAM”") },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG, NULL,
    N_("store the right one with “bastion-cli secret set TEAM db-password”") },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_NO_KEY_FILE, NULL,
    N_("set it with “bastion-cli profile set TEAM auth key --key-file FILE”") },
  { bastion_launcher_error_quark, BASTION_LAUNCHER_ERROR_NO_PASSWORD, NULL,
    N_("store it with “bastion-cli secret set TEAM db-password”") },
  { bastion_connection_error_quark, BASTION_CONNECTION_ERROR_INCOMPLETE, NULL,
    N_("import the team again with “bastion-cli import”, or complete it in Bastion") },
};

static const BastionCliHint *
lookup (const GError *error)
{
  if (error == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (hints); i++)
    if (error->domain == hints[i].domain () &&
        (hints[i].code == ANY_CODE || error->code == hints[i].code))
      return &hints[i];

  return NULL;
}

/* The name the CLI takes for the team, quoted for a shell only where it has to be. */
static char *
dup_team_argument (BastionProfile *profile)
{
  const char *id = bastion_profile_get_id (profile);

  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return g_shell_quote (id);
  return g_strdup (id);
}

/**
 * bastion_cli_error_step:
 *
 * The step a tunnel's failure (after it served) names in the one-line error.
 */
const char *
bastion_cli_error_step (const GError *error)
{
  const BastionCliHint *hint = lookup (error);

  return hint != NULL && hint->step != NULL ? hint->step : "connect";
}

/**
 * bastion_cli_dup_error_hint:
 *
 * What to do about @error, naming the command to run for @profile's team; NULL when the
 * core's message is all there is to say.
 */
char *
bastion_cli_dup_error_hint (const GError   *error,
                            BastionProfile *profile)
{
  const BastionCliHint *hint = lookup (error);
  g_autoptr(GString) text = NULL;
  g_autofree char *team = NULL;

  if (hint == NULL || hint->hint == NULL)
    return NULL;

  text = g_string_new (_(hint->hint));
  team = dup_team_argument (profile);
  g_string_replace (text, "TEAM", team, 0);

  return g_string_free (g_steal_pointer (&text), FALSE);
}
