/* bastion-cli-readonly-role.c: `bastion-cli readonly-role TEAM create|rotate|drop`
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-cli-private.h"
#include "bastion-readonly-role.h"

static gboolean
allow_writes (BastionDatabase *database)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* The admin role: while a read-only login exists, this logs in again as the admin. */
  bastion_database_set_read_only_async (database, FALSE, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  if (!bastion_database_set_read_only_finish (database, result, &error))
    {
      bastion_cli_fail_error ("admin login", error);
      return FALSE;
    }
  return TRUE;
}

static void
print_done (BastionReadonlyRoleAction  action,
            const char                *team)
{
  switch (action)
    {
    case BASTION_READONLY_ROLE_CREATE:
      g_print (_("Created the read-only login “%s” for %s; its password is in the keyring. "
                 "Read-only profiles log in as it from now on.\n"), BASTION_READONLY_ROLE, team);
      break;
    case BASTION_READONLY_ROLE_ROTATE:
      g_print (_("Gave the read-only login “%s” of %s a new password (in the keyring).\n"),
               BASTION_READONLY_ROLE, team);
      break;
    case BASTION_READONLY_ROLE_DROP:
    default:
      g_print (_("Dropped the read-only login “%s” of %s; read-only profiles log in as the "
                 "admin role again, read-only by Bastion’s own checks only.\n"),
               BASTION_READONLY_ROLE, team);
      break;
    }
}

/* Logs in as the admin role with writes allowed and runs ACTION; FALSE after printing why. */
static gboolean
run_action (BastionConnection         *connection,
            BastionProfile            *profile,
            const char                *team,
            BastionReadonlyRoleAction  action)
{
  g_autoptr(BastionDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_connection_connect_database_async (connection, NULL, bastion_cli_store_result, &result);
  database = bastion_connection_connect_database_finish (connection, bastion_cli_wait (&result),
                                                         &error);
  g_clear_object (&result);
  if (database == NULL)
    {
      bastion_cli_fail_error ("database login", error);
      return FALSE;
    }

  if (!allow_writes (database))
    return FALSE;

  bastion_readonly_role_run_async (database, bastion_profile_get_id (profile), team, action,
                                   NULL, bastion_cli_store_result, &result);
  if (!bastion_readonly_role_run_finish (bastion_cli_wait (&result), &error))
    {
      bastion_cli_fail_error ("readonly-role", error);
      return FALSE;
    }

  bastion_database_disconnect (database);
  return TRUE;
}

int
bastion_cli_readonly_role (int    argc,
                           char **argv)
{
  gboolean accept_new = FALSE;
  GOptionEntry entries[] = {
    { "accept-new", 0, 0, G_OPTION_ARG_NONE, &accept_new,
      N_("Trust the bastion’s host key if it is not known yet (never a changed one)"), NULL },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionConnection) connection = NULL;
  BastionConnectionFlags flags = BASTION_CONNECTION_FLAGS_NONE;
  BastionReadonlyRoleAction action;
  BastionProfile *profile;
  const char *team;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("TEAM create|rotate|drop"),
                                  _("Make, renew the password of, or remove the team’s read-only "
                                    "PostgreSQL login (“" BASTION_READONLY_ROLE "”): it may only "
                                    "read, owns nothing, and its generated password is kept only "
                                    "in the keyring. Read-only profiles then log in as it, in "
                                    "“query” and in the tools “launch” opens; the admin role is "
                                    "used only with --write. Running this command is the "
                                    "consent: it logs in as the admin role with writes "
                                    "allowed."),
                                  entries, &status))
    return status;

  if (argc != 3 || !bastion_readonly_role_action_from_string (argv[2], &action))
    return bastion_cli_fail ("readonly-role", _("give a team and create, rotate or drop; see "
                                                "“bastion-cli readonly-role --help”"));

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[1]);
  if (profile == NULL)
    return 1;
  team = bastion_profile_get_display_name (profile) ? bastion_profile_get_display_name (profile)
                                                    : argv[1];

  if (accept_new)
    flags |= BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY;
  connection = bastion_cli_connect (profile, argv[1], flags, 0);
  if (connection == NULL)
    return 1;

  if (!run_action (connection, profile, team, action))
    return 1;

  print_done (action, team);
  bastion_connection_close (connection);
  return 0;
}
