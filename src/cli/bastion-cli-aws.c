/* bastion-cli-aws.c
 *
 * bastion-cli aws secret TEAM | aws allow-my-ip TEAM [--temporary] |
 * bastion-cli aws bastion TEAM status|start|stop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-cli-private.h"
#include "bastion-profile-store.h"
#include "bastion-secrets.h"

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

/* Runs the main loop until the call started with on_done/wait finished; returns its result. */
static GAsyncResult *
wait_run (Wait *wait)
{
  g_clear_object (&wait->result);
  while (wait->result == NULL)
    g_main_loop_run (wait->loop);

  return wait->result;
}

static BastionAws *
aws_for_profile (BastionProfile *profile)
{
  return bastion_aws_new (bastion_profile_get_aws_profile (profile),
                          bastion_profile_get_aws_region (profile));
}

static gboolean
require_name_prefix (BastionProfile *profile,
                     const char     *step,
                     int            *status)
{
  const char *prefix = bastion_profile_get_name_prefix (profile);

  if (prefix != NULL && prefix[0] != '\0')
    return TRUE;

  *status = bastion_cli_fail (step, _("the team has no name_prefix, so Bastion cannot name its "
                                      "AWS resources; set name_prefix and stage in the team's "
                                      "config.json or in the profile"));
  return FALSE;
}

static int
aws_secret (BastionProfileStore *store,
            BastionProfile      *profile,
            const char          *team,
            Wait                *wait)
{
  const char *step = "aws secret";
  const char *secret_id = bastion_profile_get_aws_secret_id (profile);
  g_autoptr(BastionAws) aws = aws_for_profile (profile);
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  BastionSecrets *secrets = bastion_secrets_get_default ();
  gboolean changed = FALSE;

  if (secret_id == NULL || secret_id[0] == '\0')
    return bastion_cli_fail (step, _("the team names no Secrets Manager secret; set "
                                     "db_password_key in its config.json or the profile’s "
                                     "secret id"));

  bastion_aws_get_secret_async (aws, secret_id, NULL, on_done, wait);
  secret = bastion_aws_get_secret_finish (aws, wait_run (wait), &error);
  if (secret == NULL)
    return bastion_cli_fail_error (step, error);

  /* Translators: the label of a keyring item: a kind of secret, then a team name */
  label = g_strdup_printf (_("Bastion %s for %s"),
                           bastion_secret_kind_to_string (BASTION_SECRET_KIND_DB_PASSWORD),
                           bastion_profile_get_display_name (profile)
                           ? bastion_profile_get_display_name (profile)
                           : bastion_profile_get_id (profile));
  bastion_secrets_store_async (secrets, bastion_profile_get_id (profile),
                               BASTION_SECRET_KIND_DB_PASSWORD, label, secret->password, NULL,
                               on_done, wait);
  if (!bastion_secrets_store_finish (secrets, wait_run (wait), &error))
    return bastion_cli_fail_error (step, error);
  if (!bastion_secrets_get_keyring_available (secrets))
    return bastion_cli_fail (step, _("no keyring (Secret Service) is reachable on the session "
                                     "bus, so the password cannot be kept; start gnome-keyring "
                                     "or another Secret Service and try again"));

  /* What the profile lacks, the secret knows. */
  if (bastion_profile_get_db_user (profile) == NULL && secret->username != NULL)
    {
      bastion_profile_set_db_user (profile, secret->username);
      changed = TRUE;
    }
  if (bastion_profile_get_db_name (profile) == NULL && secret->dbname != NULL)
    {
      bastion_profile_set_db_name (profile, secret->dbname);
      changed = TRUE;
    }
  if (bastion_profile_get_db_host (profile) == NULL && secret->host != NULL)
    {
      bastion_profile_set_db_host (profile, secret->host);
      if (secret->port != 0)
        bastion_profile_set_db_port (profile, secret->port);
      changed = TRUE;
    }
  if (changed && !bastion_profile_store_save (store, &error))
    return bastion_cli_fail_error (step, error);

  g_print (_("Stored the database password of “%s” (user %s) from %s in the keyring.\n"),
           team, secret->username ? secret->username : "?", secret_id);
  if (changed)
    g_print ("%s\n", _("Filled the missing database settings of the profile from the secret."));

  return 0;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  gboolean *interrupted = user_data;

  *interrupted = TRUE;
  return G_SOURCE_CONTINUE;
}

static int
aws_allow_my_ip (BastionProfile *profile,
                 gboolean        temporary,
                 Wait           *wait)
{
  const char *step = "aws allow-my-ip";
  g_autoptr(BastionAws) aws = aws_for_profile (profile);
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *group_name = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *cidr = NULL;
  gboolean added = FALSE;
  gboolean interrupted = FALSE;
  guint sigint_id = 0;
  guint sigterm_id = 0;
  int status = 0;

  if (!require_name_prefix (profile, step, &status))
    return status;
  group_name = bastion_aws_security_group_name (bastion_profile_get_name_prefix (profile),
                                                bastion_profile_get_stage (profile));

  bastion_aws_diagnose_async (aws, group_name, NULL, on_done, wait);
  diagnosis = bastion_aws_diagnose_finish (aws, wait_run (wait), &error);
  if (diagnosis == NULL)
    return bastion_cli_fail_error (step, error);
  summary = bastion_aws_diagnosis_dup_summary (diagnosis);
  g_print ("%s\n", summary);

  /* A temporary rule goes when we are told to quit: the handlers are in place before the rule
   * is added, so that no signal (even one sent as soon as "Allowed" is read, or while the rule
   * is being added) kills us with the rule left in place. */
  if (temporary)
    {
      sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, &interrupted);
      sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, &interrupted);
    }

  bastion_aws_allow_my_ip_async (aws, group_name,
                                 temporary ? BASTION_AWS_ALLOW_TEMPORARY
                                           : BASTION_AWS_ALLOW_REPLACE,
                                 NULL, on_done, wait);
  cidr = bastion_aws_allow_my_ip_finish (aws, wait_run (wait), &added, &error);
  if (cidr == NULL || !temporary || !added)
    {
      g_clear_handle_id (&sigint_id, g_source_remove);
      g_clear_handle_id (&sigterm_id, g_source_remove);
    }
  if (cidr == NULL)
    return bastion_cli_fail_error (step, error);

  if (!temporary)
    {
      g_print (added ? _("Allowed %s on port 22 of %s; older single-address rules removed.\n")
                     : _("%s was already allowed on port 22 of %s.\n"),
               cidr, group_name);
      return 0;
    }

  if (!added)
    {
      g_print (_("%s is already allowed on port 22 of %s; no temporary rule needed.\n"),
               cidr, group_name);
      return 0;
    }

  g_print (_("Allowed %s on port 22 of %s until you press Ctrl+C.\n"), cidr, group_name);
  fflush (stdout);

  while (!interrupted)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&sigint_id, g_source_remove);
  g_clear_handle_id (&sigterm_id, g_source_remove);

  bastion_aws_remove_rule_async (aws, group_name, cidr, NULL, on_done, wait);
  if (!bastion_aws_remove_rule_finish (aws, wait_run (wait), &error))
    return bastion_cli_fail (step, _("could not remove the temporary rule for %s from %s: %s; "
                                     "remove it in the EC2 console"),
                             cidr, group_name, error->message);

  g_print (_("Removed the temporary rule for %s.\n"), cidr);

  return 0;
}

static void
print_instance (const BastionAwsInstance *instance)
{
  g_print ("%s %s %s\n", instance->instance_id, instance->state,
           instance->public_dns != NULL ? instance->public_dns : "-");
}

/* No Elastic IP: after a stop and start the bastion has a new name; the profile follows it. */
static int
update_dns (BastionProfileStore      *store,
            BastionProfile           *profile,
            const BastionAwsInstance *instance,
            const char               *step)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *old = g_strdup (bastion_profile_get_ssh_host (profile));

  if (!bastion_aws_instance_dns_changed (instance, old))
    return 0;

  bastion_profile_set_ssh_host (profile, instance->public_dns);
  if (!bastion_profile_store_save (store, &error))
    return bastion_cli_fail_error (step, error);

  g_print (_("The bastion’s public DNS name changed from %s to %s; the profile now uses the "
             "new name.\n"), old != NULL ? old : "-", instance->public_dns);

  return 0;
}

static int
aws_bastion (BastionProfileStore *store,
             BastionProfile      *profile,
             const char          *action,
             Wait                *wait)
{
  g_autofree char *step = g_strdup_printf ("aws bastion %s", action);
  g_autoptr(BastionAws) aws = aws_for_profile (profile);
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  int status = 0;

  if (!require_name_prefix (profile, step, &status))
    return status;
  name = bastion_aws_bastion_instance_name (bastion_profile_get_name_prefix (profile),
                                            bastion_profile_get_stage (profile));

  if (g_str_equal (action, "status"))
    {
      bastion_aws_describe_instance_async (aws, name, NULL, on_done, wait);
      instance = bastion_aws_describe_instance_finish (aws, wait_run (wait), &error);
    }
  else if (g_str_equal (action, "start"))
    {
      g_print (_("Starting %s and waiting until it runs…\n"), name);
      fflush (stdout);
      bastion_aws_start_bastion_async (aws, name, NULL, on_done, wait);
      instance = bastion_aws_start_bastion_finish (aws, wait_run (wait), &error);
    }
  else
    {
      bastion_aws_stop_bastion_async (aws, name, FALSE, NULL, on_done, wait);
      instance = bastion_aws_stop_bastion_finish (aws, wait_run (wait), &error);
    }

  if (instance == NULL)
    return bastion_cli_fail_error (step, error);

  print_instance (instance);

  return update_dns (store, profile, instance, step);
}

int
bastion_cli_aws (int    argc,
                 char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *step = NULL;
  gboolean temporary = FALSE;
  BastionProfile *profile;
  const char *command;
  Wait wait = { 0 };
  int status = 0;
  GOptionEntry entries[] = {
    { "temporary", 0, 0, G_OPTION_ARG_NONE, &temporary,
      N_("allow-my-ip: add a rule for this run only, removed on Ctrl+C"), NULL },
    { NULL }
  };

  if (!bastion_cli_parse_options (&argc, &argv, _("secret|allow-my-ip|bastion TEAM [ACTION]"),
                                  _("Do the AWS chores of a team, with its AWS profile and "
                                    "region.\n"
                                    "\n"
                                    "  secret TEAM                   fetch the database password "
                                    "from Secrets Manager into the keyring\n"
                                    "  allow-my-ip TEAM              let this computer’s public IP "
                                    "in to the bastion (replaces the old address)\n"
                                    "  allow-my-ip TEAM --temporary  the same, until Ctrl+C\n"
                                    "  bastion TEAM status|start|stop  the bastion EC2 instance"),
                                  entries, &status))
    return status;

  if (argc < 3)
    return bastion_cli_fail ("aws", _("expected secret, allow-my-ip or bastion, then TEAM; run "
                                      "“bastion-cli aws --help”"));

  command = argv[1];
  step = g_strdup_printf ("aws %s", command);

  if (g_str_equal (command, "bastion"))
    {
      if (argc != 4 || (!g_str_equal (argv[3], "status") && !g_str_equal (argv[3], "start")
                        && !g_str_equal (argv[3], "stop")))
        return bastion_cli_fail (step, _("expected “bastion TEAM status|start|stop”"));
    }
  else if (g_str_equal (command, "secret") || g_str_equal (command, "allow-my-ip"))
    {
      if (argc != 3)
        return bastion_cli_fail (step, _("unexpected argument “%s”"), argv[3]);
    }
  else
    {
      return bastion_cli_fail ("aws", _("unknown command “%s”: use secret, allow-my-ip or "
                                        "bastion"), command);
    }

  if (temporary && !g_str_equal (command, "allow-my-ip"))
    return bastion_cli_fail (step, _("--temporary goes with allow-my-ip only"));

  store = bastion_cli_load_store (step);
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, step, argv[2]);
  if (profile == NULL)
    return 1;

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;

  if (g_str_equal (command, "secret"))
    status = aws_secret (store, profile, argv[2], &wait);
  else if (g_str_equal (command, "allow-my-ip"))
    status = aws_allow_my_ip (profile, temporary, &wait);
  else
    status = aws_bastion (store, profile, argv[3], &wait);

  g_clear_object (&wait.result);

  return status;
}
