/* bastion-cli-secret.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "bastion-cli-private.h"
#include "bastion-secure.h"
#include "bastion-profile-store.h"
#include "bastion-secrets.h"

#define MAX_SECRET_SIZE (64 * 1024)

/* The secret on stdin, one trailing newline (LF or CRLF) removed; NULL if too large. */
static char *
read_secret_from_stdin (gboolean *too_large)
{
  char *buffer = g_malloc0 (MAX_SECRET_SIZE + 1);
  gsize length = 0;

  *too_large = FALSE;
  while (length < MAX_SECRET_SIZE)
    {
      gssize n = read (STDIN_FILENO, buffer + length, MAX_SECRET_SIZE - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      length += n;
    }

  if (length == MAX_SECRET_SIZE)
    {
      char extra;

      if (read (STDIN_FILENO, &extra, 1) > 0)
        {
          *too_large = TRUE;
          bastion_secret_free (buffer);
          return NULL;
        }
    }

  buffer[length] = '\0';
  if (length > 0 && buffer[length - 1] == '\n')
    buffer[--length] = '\0';
  if (length > 0 && buffer[length - 1] == '\r')
    buffer[--length] = '\0';

  return buffer;
}

static int
no_keyring (const char *step)
{
  return bastion_cli_fail (step,
                           _("no keyring (Secret Service) is reachable on the session bus, so "
                             "Bastion cannot keep secrets between runs; start gnome-keyring or "
                             "another Secret Service and try again"));
}

/* secret set: reads the secret from stdin into the keyring. */
static int
secret_set (const char        *step,
            BastionProfile    *profile,
            BastionSecretKind  kind)
{
  BastionSecrets *secrets = bastion_secrets_get_default ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  gboolean too_large;
  char *secret;

  if (isatty (STDIN_FILENO))
    g_printerr ("%s", _("Type the secret, then press Enter and Ctrl+D: "));

  secret = read_secret_from_stdin (&too_large);
  if (secret == NULL || secret[0] == '\0')
    {
      bastion_secret_free (secret);
      return bastion_cli_fail (step, too_large
                               ? _("the secret on standard input is larger than 64 KiB")
                               : _("nothing on standard input; pipe the secret in, e.g. "
                                   "“bastion-cli secret set TEAM KIND < file”"));
    }

  /* Translators: the label of a keyring item: a kind of secret, then a team name */
  label = g_strdup_printf (_("Bastion %s for %s"), bastion_secret_kind_to_string (kind),
                           bastion_profile_get_display_name (profile)
                           ? bastion_profile_get_display_name (profile)
                           : bastion_profile_get_id (profile));
  bastion_secrets_store_async (secrets, bastion_profile_get_id (profile), kind, label, secret,
                               NULL, bastion_cli_store_result, &result);
  bastion_secret_free (secret);

  if (!bastion_secrets_store_finish (secrets, bastion_cli_wait (&result), &error))
    return bastion_cli_fail_error (step, error);
  if (!bastion_secrets_get_keyring_available (secrets))
    return no_keyring (step);
  return 0;
}

/* secret print: for pgAdmin's PasswordExecCommand. */
static int
secret_print (const char        *step,
              BastionProfile    *profile,
              const char        *team,
              BastionSecretKind  kind)
{
  BastionSecrets *secrets = bastion_secrets_get_default ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionSecureStr) secret = NULL;

  bastion_secrets_lookup_async (secrets, bastion_profile_get_id (profile), kind, NULL,
                                bastion_cli_store_result, &result);
  secret = bastion_secrets_lookup_finish (secrets, bastion_cli_wait (&result), &error);
  if (error != NULL)
    return bastion_cli_fail_error (step, error);
  if (!bastion_secrets_get_keyring_available (secrets))
    return no_keyring (step);
  if (secret == NULL)
    return bastion_cli_fail (step, _("no %s is stored for “%s”; store one with "
                                     "“bastion-cli secret set %s %s”"),
                             bastion_secret_kind_to_string (kind), team, team,
                             bastion_secret_kind_to_string (kind));

  fputs (secret, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  return 0;
}

static int
secret_clear (const char        *step,
              BastionProfile    *profile,
              BastionSecretKind  kind)
{
  BastionSecrets *secrets = bastion_secrets_get_default ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_secrets_clear_async (secrets, bastion_profile_get_id (profile), kind, NULL,
                               bastion_cli_store_result, &result);
  if (!bastion_secrets_clear_finish (secrets, bastion_cli_wait (&result), &error))
    return bastion_cli_fail_error (step, error);
  if (!bastion_secrets_get_keyring_available (secrets))
    return no_keyring (step);
  return 0;
}

int
bastion_cli_secret (int    argc,
                    char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  g_autofree char *step = NULL;
  BastionProfile *profile;
  BastionSecretKind kind;
  const char *action;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("set|print|clear TEAM KIND"),
                                  _("Keep the secrets of a team in the keyring.\n\n"
                                    "  set     read the secret from standard input (one trailing "
                                    "newline is dropped)\n"
                                    "  print   print it (for pgAdmin’s PasswordExecCommand)\n"
                                    "  clear   remove it\n\n"
                                    "KIND is db-password, key-passphrase, ssh-password or "
                                    "readonly-password."),
                                  NULL, &status))
    return status;

  if (argc != 4)
    return bastion_cli_fail ("secret", _("expected set|print|clear TEAM KIND; run “bastion-cli "
                                         "secret --help”"));

  action = argv[1];
  if (!g_str_equal (action, "set") && !g_str_equal (action, "print")
      && !g_str_equal (action, "clear"))
    return bastion_cli_fail ("secret", _("unknown action “%s”: use set, print or clear"), action);

  step = g_strdup_printf ("secret %s", action);

  if (!bastion_secret_kind_from_string (argv[3], &kind))
    return bastion_cli_fail (step, _("unknown kind “%s”: use db-password, key-passphrase, "
                                     "ssh-password or readonly-password"), argv[3]);

  store = bastion_cli_load_store (step);
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, step, argv[2]);
  if (profile == NULL)
    return 1;

  if (g_str_equal (action, "set"))
    return secret_set (step, profile, kind);
  if (g_str_equal (action, "print"))
    return secret_print (step, profile, argv[2], kind);
  return secret_clear (step, profile, kind);
}
