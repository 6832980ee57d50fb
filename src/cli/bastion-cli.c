/* bastion-cli.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib.h>
#include <glib/gi18n.h>

#include "bastion-cli-private.h"
#include "bastion-printable.h"
#include "bastion-secure.h"
#include "bastion-version.h"

static int cmd_version (int argc, char **argv);

static const BastionCliCommand commands[] = {
  { "version", N_("Show the versions of Bastion and its libraries"), cmd_version },
  { "teams", N_("List the team profiles"), bastion_cli_teams },
  { "import", N_("Import the SimpleIOT teams"), bastion_cli_import },
  { "profile", N_("Show or change how a team logs in (auth agent|key|password)"),
    bastion_cli_profile },
  { "secret", N_("Set, print or clear a secret of a team in the keyring"), bastion_cli_secret },
  { "hostkey", N_("Show the bastion’s host key fingerprint; --trust records it"),
    bastion_cli_hostkey },
  { "tunnel", N_("Serve the team’s database on 127.0.0.1 through the SSH tunnel"),
    bastion_cli_tunnel },
  { "query", N_("Run SQL on a team’s database (read-only unless --write)"), bastion_cli_query },
  { "readonly-role", N_("Create, rotate or drop the team’s read-only database login"),
    bastion_cli_readonly_role },
  { "launch", N_("Open a team’s database in pgAdmin, DBeaver, psql or pgcli"),
    bastion_cli_launch },
  { "check", N_("Run every connection step and report each"), bastion_cli_check },
  { "aws", N_("Fetch the DB password, allow my IP, start or stop the bastion (AWS)"),
    bastion_cli_aws },
};

char *
bastion_cli_dup_printable (const char *text)
{
  return bastion_printable_dup (text, -1, BASTION_PRINTABLE_DEFAULT);
}

int
bastion_cli_fail (const char *step,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  g_autofree char *shown = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* One line, whatever the message held, and no control character from a file name or a
   * server's text reaches the terminal. */
  g_strdelimit (message, "\r\n", ' ');
  shown = bastion_cli_dup_printable (message);
  g_printerr ("bastion-cli: %s: %s\n", step, shown);

  return 1;
}

int
bastion_cli_fail_error (const char   *step,
                        const GError *error)
{
  return bastion_cli_fail (step, "%s", error->message);
}

static int
cmd_version (int    argc,
             char **argv)
{
  g_autofree char *summary = bastion_version_dup_summary ();

  g_print ("bastion-cli %s\n%s\n", PACKAGE_VERSION, summary);

  return 0;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: bastion-cli [--version] COMMAND [ARGS…]"));
  fprintf (out, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-13s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run “bastion-cli COMMAND --help” for the options of a command."));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  /* Before any secret can arrive: no core dumps, no ptrace or /proc/PID/mem by others. */
  bastion_secure_process_init ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }

  if (g_str_equal (argv[1], "--version"))
    return cmd_version (argc - 1, argv + 1);

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return 0;
    }

  if (!bastion_version_check_libssh2 (&error))
    return bastion_cli_fail ("startup", "%s", error->message);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        {
          int status = commands[i].func (argc - 1, argv + 1);

          /* A closed Session Manager tunnel's TerminateSession may still be on its way. */
          bastion_cli_wait_terminations ();
          return status;
        }
    }

  return bastion_cli_fail ("command", _("unknown command “%s”; run “bastion-cli --help”"), argv[1]);
}
