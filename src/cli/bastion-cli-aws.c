/* bastion-cli-aws.c
 *
 * bastion-cli aws secret TEAM | aws allow-my-ip TEAM [--temporary] |
 * bastion-cli aws bastion TEAM status|start|stop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-cli-private.h"
#include "bastion-profile-store.h"
#include "bastion-secrets.h"

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

/* Every AWS command for a team first removes the caller's own temporary rules whose expiry
 * has passed (left by a run that was killed), and says so. It never fails the command: a
 * team without name_prefix, or a caller without EC2 rights, just has nothing removed. */
static void
remove_expired_rules (BastionAws     *aws,
                      BastionProfile *profile,
                      GAsyncResult  **slot)
{
  const char *prefix = bastion_profile_get_name_prefix (profile);
  g_autofree char *group_name = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) removed = NULL;

  if (prefix == NULL || prefix[0] == '\0')
    return;
  group_name = bastion_aws_security_group_name (prefix, bastion_profile_get_stage (profile));
  g_clear_object (slot);
  bastion_aws_remove_expired_rules_async (aws, group_name, NULL, bastion_cli_store_result, slot);
  removed = bastion_aws_remove_expired_rules_finish (aws, bastion_cli_wait (slot), &error);
  if (removed == NULL)
    {
      g_debug ("Could not look for expired temporary rules in %s: %s", group_name,
               error->message);
      return;
    }
  for (guint i = 0; removed[i] != NULL; i++)
    g_print (_("Removed your expired temporary rule for %s from %s.\n"), removed[i],
             group_name);
}

static int
aws_secret (BastionProfileStore *store,
            BastionProfile      *profile,
            const char          *team,
            GAsyncResult       **slot)
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

  remove_expired_rules (aws, profile, slot);

  g_clear_object (slot);
  bastion_aws_get_secret_async (aws, secret_id, NULL, bastion_cli_store_result, slot);
  secret = bastion_aws_get_secret_finish (aws, bastion_cli_wait (slot), &error);
  if (secret == NULL)
    return bastion_cli_fail_error (step, error);

  /* Translators: the label of a keyring item: a kind of secret, then a team name */
  label = g_strdup_printf (_("Bastion %s for %s"),
                           bastion_secret_kind_to_string (BASTION_SECRET_KIND_DB_PASSWORD),
                           bastion_profile_get_display_name (profile)
                           ? bastion_profile_get_display_name (profile)
                           : bastion_profile_get_id (profile));
  g_clear_object (slot);
  bastion_secrets_store_async (secrets, bastion_profile_get_id (profile),
                               BASTION_SECRET_KIND_DB_PASSWORD, label, secret->password, NULL,
                               bastion_cli_store_result, slot);
  if (!bastion_secrets_store_finish (secrets, bastion_cli_wait (slot), &error))
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

/* Every catchable way to be told to quit (Ctrl+C, kill, the terminal closing, Ctrl+\) ends a
 * --temporary run by removing its rule. GLib's signal sources do not take SIGQUIT, so the
 * handlers write to a pipe the main loop watches. */
static const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static int quit_pipe[2] = { -1, -1 };

static void
on_quit_signal_handler (int signum)
{
  int saved = errno;
  unsigned char byte = (unsigned char) signum;

  if (write (quit_pipe[1], &byte, 1) < 0)
    {
      /* The pipe is full: a quit is already pending. */
    }
  errno = saved;
}

typedef struct
{
  gboolean interrupted;
  int      signum;
  guint    watch_id;
} QuitWatch;

static gboolean
on_quit_pipe (int          fd,
              GIOCondition condition,
              gpointer     user_data)
{
  QuitWatch *quit = user_data;
  unsigned char byte = 0;

  if (read (fd, &byte, 1) == 1)
    {
      quit->interrupted = TRUE;
      quit->signum = byte;
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
quit_watch_start (QuitWatch  *quit,
                  GError    **error)
{
  struct sigaction action = { 0 };

  if (quit_pipe[0] < 0 &&
      (!g_unix_open_pipe (quit_pipe, FD_CLOEXEC, error) ||
       !g_unix_set_fd_nonblocking (quit_pipe[0], TRUE, error) ||
       !g_unix_set_fd_nonblocking (quit_pipe[1], TRUE, error)))
    return FALSE;
  quit->watch_id = g_unix_fd_add (quit_pipe[0], G_IO_IN, on_quit_pipe, quit);

  action.sa_handler = on_quit_signal_handler;
  sigemptyset (&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (guint i = 0; i < G_N_ELEMENTS (quit_signals); i++)
    sigaction (quit_signals[i], &action, NULL);
  /* With the terminal or a reader gone, writing must fail, not kill us before the removal. */
  signal (SIGPIPE, SIG_IGN);

  return TRUE;
}

static void
quit_watch_stop (QuitWatch *quit)
{
  for (guint i = 0; i < G_N_ELEMENTS (quit_signals); i++)
    signal (quit_signals[i], SIG_DFL);
  g_clear_handle_id (&quit->watch_id, g_source_remove);
}

static gboolean
on_lifetime_over (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* "90", "90s", "30m", "12h": seconds, at least 1 and at most 7 days. */
static gboolean
parse_lifetime (const char *text,
                guint      *seconds)
{
  g_autofree char *number = NULL;
  guint64 value;
  guint unit = 1;
  gsize len;

  if (text == NULL || (len = strlen (text)) == 0)
    return FALSE;
  switch (text[len - 1])
    {
    case 's': unit = 1; len--; break;
    case 'm': unit = 60; len--; break;
    case 'h': unit = 3600; len--; break;
    default: break;
    }
  number = g_strndup (text, len);
  if (!g_ascii_string_to_unsigned (number, 10, 1, 7 * 24 * 3600 / unit, &value, NULL))
    return FALSE;
  *seconds = (guint) value * unit;

  return TRUE;
}

/* Before any revoke: what replacing will remove, all of it the caller's own. */
static void
print_replace_plan (const BastionAwsDiagnosis *diagnosis)
{
  g_autofree char *list = NULL;

  if (diagnosis->to_replace == NULL || diagnosis->to_replace[0] == NULL)
    {
      g_print ("%s\n", _("No rule will be removed: only your own Bastion rules for other "
                          "addresses would be, and there are none."));
      return;
    }
  list = g_strjoinv (", ", diagnosis->to_replace);
  g_print (_("Will remove your own old rule(s) on port 22: %s. Rules without your Bastion mark "
             "are left alone.\n"), list);
  fflush (stdout);
}

/* Waits until told to quit or until the rule's lifetime is over, then removes the rule. */
static int
hold_temporary_rule (BastionAws    *aws,
                     const char    *group_name,
                     const char    *cidr,
                     QuitWatch     *quit,
                     GAsyncResult **slot)
{
  const char *step = "aws allow-my-ip";
  g_autoptr(GError) error = NULL;
  gboolean expired = FALSE;
  guint lifetime = bastion_aws_get_temporary_lifetime (aws);
  guint timer_id;

  g_print (_("Allowed %s on port 22 of %s until you press Ctrl+C (at most %u minutes).\n"),
           cidr, group_name, (lifetime + 59) / 60);
  fflush (stdout);

  timer_id = g_timeout_add_seconds (lifetime, on_lifetime_over, &expired);
  while (!quit->interrupted && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timer_id);
  if (quit->interrupted)
    g_debug ("%s: removing the temporary rule for %s", g_strsignal (quit->signum), cidr);

  g_clear_object (slot);
  bastion_aws_remove_rule_async (aws, group_name, cidr, NULL, bastion_cli_store_result, slot);
  if (!bastion_aws_remove_rule_finish (aws, bastion_cli_wait (slot), &error))
    {
      quit_watch_stop (quit);
      return bastion_cli_fail (step, _("could not remove the temporary rule for %s from %s: %s; "
                                       "remove it in the EC2 console (any later AWS command of "
                                       "yours removes it once it has expired)"),
                               cidr, group_name, error->message);
    }
  quit_watch_stop (quit);

  if (expired)
    g_print (_("The temporary rule for %s reached the end of its lifetime; removed it.\n"),
             cidr);
  else
    g_print (_("Removed the temporary rule for %s.\n"), cidr);

  return 0;
}

static int
aws_allow_my_ip (BastionProfile *profile,
                 gboolean        temporary,
                 guint           lifetime,
                 GAsyncResult  **slot)
{
  const char *step = "aws allow-my-ip";
  g_autoptr(BastionAws) aws = aws_for_profile (profile);
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *group_name = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *cidr = NULL;
  g_auto(GStrv) removed = NULL;
  QuitWatch quit = { 0 };
  gboolean added = FALSE;
  int status = 0;

  if (!require_name_prefix (profile, step, &status))
    return status;
  group_name = bastion_aws_security_group_name (bastion_profile_get_name_prefix (profile),
                                                bastion_profile_get_stage (profile));
  if (lifetime > 0)
    bastion_aws_set_temporary_lifetime (aws, lifetime);

  remove_expired_rules (aws, profile, slot);

  g_clear_object (slot);
  bastion_aws_diagnose_async (aws, group_name, NULL, bastion_cli_store_result, slot);
  diagnosis = bastion_aws_diagnose_finish (aws, bastion_cli_wait (slot), &error);
  if (diagnosis == NULL)
    return bastion_cli_fail_error (step, error);
  summary = bastion_aws_diagnosis_dup_summary (diagnosis);
  g_print ("%s\n", summary);
  if (!temporary)
    print_replace_plan (diagnosis);

  /* A temporary rule goes when we are told to quit: the handlers are in place before the rule
   * is added, so that no signal (even one sent as soon as "Allowed" is read, or while the rule
   * is being added) kills us with the rule left in place. */
  if (temporary && !quit_watch_start (&quit, &error))
    return bastion_cli_fail_error (step, error);

  g_clear_object (slot);
  bastion_aws_allow_my_ip_async (aws, group_name,
                                 temporary ? BASTION_AWS_ALLOW_TEMPORARY
                                           : BASTION_AWS_ALLOW_REPLACE,
                                 NULL, bastion_cli_store_result, slot);
  cidr = bastion_aws_allow_my_ip_finish (aws, bastion_cli_wait (slot), &added, &error);
  if (cidr == NULL || !temporary || !added)
    quit_watch_stop (&quit);
  if (cidr == NULL)
    return bastion_cli_fail_error (step, error);

  if (temporary && added)
    return hold_temporary_rule (aws, group_name, cidr, &quit, slot);

  if (temporary)
    {
      g_print (_("%s is already allowed on port 22 of %s; no temporary rule needed.\n"),
               cidr, group_name);
      return 0;
    }

  removed = bastion_aws_allow_my_ip_dup_removed (*slot);
  if (added)
    g_print (_("Allowed %s on port 22 of %s.\n"), cidr, group_name);
  else
    g_print (_("%s was already allowed on port 22 of %s.\n"), cidr, group_name);
  for (guint i = 0; removed[i] != NULL; i++)
    g_print (_("Removed your old rule for %s.\n"), removed[i]);

  return 0;
}

static void
print_instance (const BastionAwsInstance *instance)
{
  g_print ("%s %s %s\n", instance->instance_id, instance->state,
           instance->public_dns != NULL ? instance->public_dns : "-");

  /* A bastion in a private subnet: running, but not on the internet. */
  if (g_strcmp0 (instance->state, "running") == 0 && instance->public_dns == NULL)
    g_print (_("The bastion has no public DNS name; its private address is %s. It is reachable "
               "only from inside its VPC (over a VPN, Direct Connect or another jump host): "
               "connect from there, or set the team’s SSH host to %s if your network routes "
               "to it.\n"),
             instance->private_ip != NULL ? instance->private_ip : "?",
             instance->private_ip != NULL ? instance->private_ip : "?");
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
             GAsyncResult       **slot)
{
  g_autofree char *step = g_strdup_printf ("aws bastion %s", action);
  g_autoptr(BastionAws) aws = aws_for_profile (profile);
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  int status = 0;

  if (!require_name_prefix (profile, step, &status))
    return status;
  remove_expired_rules (aws, profile, slot);
  name = bastion_aws_bastion_instance_name (bastion_profile_get_name_prefix (profile),
                                            bastion_profile_get_stage (profile));

  if (g_str_equal (action, "status"))
    {
      g_clear_object (slot);
      bastion_aws_describe_instance_async (aws, name, NULL, bastion_cli_store_result, slot);
      instance = bastion_aws_describe_instance_finish (aws, bastion_cli_wait (slot), &error);
    }
  else if (g_str_equal (action, "start"))
    {
      g_print (_("Starting %s and waiting until it runs…\n"), name);
      fflush (stdout);
      g_clear_object (slot);
      bastion_aws_start_bastion_async (aws, name, NULL, bastion_cli_store_result, slot);
      instance = bastion_aws_start_bastion_finish (aws, bastion_cli_wait (slot), &error);
    }
  else
    {
      g_clear_object (slot);
      bastion_aws_stop_bastion_async (aws, name, FALSE, NULL, bastion_cli_store_result, slot);
      instance = bastion_aws_stop_bastion_finish (aws, bastion_cli_wait (slot), &error);
    }

  if (instance == NULL)
    return bastion_cli_fail_error (step, error);

  print_instance (instance);

  return update_dns (store, profile, instance, step);
}

/* The command's words: FALSE (*status set, the error printed) when they do not fit. */
static gboolean
check_arguments (int         argc,
                 char      **argv,
                 const char *step,
                 int        *status)
{
  const char *command = argv[1];

  if (g_str_equal (command, "bastion"))
    {
      if (argc != 4 || (!g_str_equal (argv[3], "status") && !g_str_equal (argv[3], "start")
                        && !g_str_equal (argv[3], "stop")))
        *status = bastion_cli_fail (step, _("expected “bastion TEAM status|start|stop”"));
    }
  else if (g_str_equal (command, "secret") || g_str_equal (command, "allow-my-ip"))
    {
      if (argc != 3)
        *status = bastion_cli_fail (step, _("unexpected argument “%s”"), argv[3]);
    }
  else
    *status = bastion_cli_fail ("aws", _("unknown command “%s”: use secret, allow-my-ip or "
                                         "bastion"), command);

  return *status == 0;
}

int
bastion_cli_aws (int    argc,
                 char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  g_autofree char *step = NULL;
  gboolean temporary = FALSE;
  g_autofree char *lifetime_text = NULL;
  guint lifetime = 0;
  BastionProfile *profile;
  const char *command;
  g_autoptr(GAsyncResult) result = NULL;
  int status = 0;
  GOptionEntry entries[] = {
    { "temporary", 0, 0, G_OPTION_ARG_NONE, &temporary,
      N_("allow-my-ip: add a rule for this run only, removed on Ctrl+C"), NULL },
    { "lifetime", 0, 0, G_OPTION_ARG_STRING, &lifetime_text,
      N_("with --temporary: the rule's lifetime (e.g. 90s, 30m, 12h; default 12h); it is "
         "removed then, and by any later AWS command if this run was killed"), N_("DURATION") },
    { NULL }
  };

  if (!bastion_cli_parse_options (&argc, &argv, _("secret|allow-my-ip|bastion TEAM [ACTION]"),
                                  _("Do the AWS chores of a team, with its AWS profile and "
                                    "region.\n"
                                    "\n"
                                    "  secret TEAM                   fetch the database password "
                                    "from Secrets Manager into the keyring\n"
                                    "  allow-my-ip TEAM              let this computer’s public IP "
                                    "in to the bastion (replaces your own old address)\n"
                                    "  allow-my-ip TEAM --temporary  the same, until Ctrl+C or "
                                    "the end of --lifetime\n"
                                    "  bastion TEAM status|start|stop  the bastion EC2 instance"),
                                  entries, &status))
    return status;

  if (argc < 3)
    return bastion_cli_fail ("aws", _("expected secret, allow-my-ip or bastion, then TEAM; run "
                                      "“bastion-cli aws --help”"));

  command = argv[1];
  step = g_strdup_printf ("aws %s", command);
  if (!check_arguments (argc, argv, step, &status))
    return status;

  if (temporary && !g_str_equal (command, "allow-my-ip"))
    return bastion_cli_fail (step, _("--temporary goes with allow-my-ip only"));
  if (lifetime_text != NULL && !temporary)
    return bastion_cli_fail (step, _("--lifetime goes with allow-my-ip --temporary only"));
  if (lifetime_text != NULL && !parse_lifetime (lifetime_text, &lifetime))
    return bastion_cli_fail (step, _("--lifetime “%s” is not a duration from 1s to 7 days; "
                                     "write it as 90s, 30m or 12h"), lifetime_text);

  store = bastion_cli_load_store (step);
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, step, argv[2]);
  if (profile == NULL)
    return 1;

  if (g_str_equal (command, "secret"))
    status = aws_secret (store, profile, argv[2], &result);
  else if (g_str_equal (command, "allow-my-ip"))
    status = aws_allow_my_ip (profile, temporary, lifetime, &result);
  else
    status = aws_bastion (store, profile, argv[3], &result);

  return status;
}
