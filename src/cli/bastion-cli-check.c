/* bastion-cli-check.c: `bastion-cli check TEAM`, every connection step reported.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-cli-private.h"
#include "bastion-key-file.h"
#include "bastion-query.h"

typedef struct
{
  guint n_failed;
  guint n_ok;
} Report;

static void
report (Report     *r,
        const char *verdict,
        const char *step,
        const char *detail)
{
  if (g_str_equal (verdict, "FAILED"))
    r->n_failed++;
  else if (g_str_equal (verdict, "ok"))
    r->n_ok++;

  g_print ("%-7s %s%s%s\n", verdict, step, detail ? ": " : "", detail ? detail : "");
}

static gboolean
has_text (const char *s)
{
  return s != NULL && s[0] != '\0';
}

static void
check_instance (Report         *r,
                BastionAws     *aws,
                BastionProfile *profile,
                gboolean        for_ssh)
{
  g_autofree char *instance_name =
    bastion_aws_bastion_instance_name (bastion_profile_get_name_prefix (profile),
                                       bastion_profile_get_stage (profile));
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_aws_describe_instance_async (aws, instance_name, NULL, bastion_cli_store_result,
                                       &result);
  instance = bastion_aws_describe_instance_finish (aws, bastion_cli_wait (&result), &error);
  if (instance == NULL)
    report (r, "FAILED", _("Bastion instance"), error->message);
  else if (!g_str_equal (instance->state, "running"))
    {
      g_autofree char *detail =
        g_strdup_printf (_("%s is %s; start it with “bastion-cli aws bastion %s start”"),
                         instance_name, instance->state, bastion_profile_get_id (profile));
      report (r, "FAILED", _("Bastion instance"), detail);
    }
  else if (for_ssh &&
           bastion_aws_instance_dns_changed (instance, bastion_profile_get_ssh_host (profile)) &&
           g_strcmp0 (instance->public_ip, bastion_profile_get_ssh_host (profile)) != 0)
    {
      g_autofree char *detail =
        g_strdup_printf (_("its public name is now %s; update the team with “bastion-cli aws "
                           "bastion %s status”"),
                         instance->public_dns, bastion_profile_get_id (profile));
      report (r, "FAILED", _("Bastion instance"), detail);
    }
  else
    {
      g_autofree char *detail = g_strdup_printf (_("%s is running"), instance_name);
      report (r, "ok", _("Bastion instance"), detail);
    }
}

static void
check_my_ip (Report         *r,
             BastionAws     *aws,
             BastionProfile *profile)
{
  g_autofree char *group_name =
    bastion_aws_security_group_name (bastion_profile_get_name_prefix (profile),
                                     bastion_profile_get_stage (profile));
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;

  bastion_aws_diagnose_async (aws, group_name, NULL, bastion_cli_store_result, &result);
  diagnosis = bastion_aws_diagnose_finish (aws, bastion_cli_wait (&result), &error);
  if (diagnosis == NULL)
    {
      report (r, "FAILED", _("My IP against the security group"), error->message);
      return;
    }

  summary = bastion_aws_diagnosis_dup_summary (diagnosis);
  if (diagnosis->admits_me)
    {
      report (r, "ok", _("My IP against the security group"), summary);
      return;
    }
  detail = g_strdup_printf (_("%s Let it in with “bastion-cli aws allow-my-ip %s”"), summary,
                            bastion_profile_get_id (profile));
  report (r, "FAILED", _("My IP against the security group"), detail);
}

/* The AWS steps: credentials, the bastion instance, my IP against the security group. They are
 * skipped, not failed, for a profile that names no AWS account: many bastions are not on AWS. */
static void
check_aws (Report         *r,
           BastionProfile *profile,
           gboolean        for_ssh)
{
  g_autoptr(BastionAws) aws = NULL;
  g_autoptr(BastionAwsCredentials) credentials = NULL;
  g_autoptr(GError) error = NULL;

  if (!has_text (bastion_profile_get_aws_profile (profile)) &&
      !has_text (bastion_profile_get_aws_region (profile)))
    {
      report (r, "skip", _("AWS credentials"), _("the team names no AWS profile or region"));
      return;
    }

  aws = bastion_aws_new (bastion_profile_get_aws_profile (profile),
                         bastion_profile_get_aws_region (profile));
  credentials = bastion_aws_dup_credentials (aws, &error);
  if (credentials == NULL)
    {
      report (r, "FAILED", _("AWS credentials"), error->message);
      return;
    }
  report (r, "ok", _("AWS credentials"), NULL);

  if (!has_text (bastion_profile_get_name_prefix (profile)))
    {
      report (r, "skip", _("Bastion instance"), _("the team names no name_prefix"));
      return;
    }
  check_instance (r, aws, profile, for_ssh);

  /* Session Manager needs no inbound rule. */
  if (!for_ssh)
    report (r, "skip", _("My IP against the security group"),
            _("Session Manager needs no inbound rule"));
  else
    check_my_ip (r, aws, profile);
}

static const BastionConnectionStage tunnel_steps[] = {
  BASTION_CONNECTION_STAGE_RESOLVING,
  BASTION_CONNECTION_STAGE_CONNECTING,
  BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY,
  BASTION_CONNECTION_STAGE_AUTHENTICATING,
  BASTION_CONNECTION_STAGE_OPENING_TUNNEL,
  BASTION_CONNECTION_STAGE_DATABASE_LOGIN,
};

static void
check_query (Report            *r,
             BastionConnection *connection)
{
  g_autoptr(BastionDatabase) database = NULL;
  g_autoptr(BastionQuery) query = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *value;
  gsize len;
  gboolean is_null;

  bastion_connection_connect_database_async (connection, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  database = bastion_connection_connect_database_finish (connection, result, &error);
  g_clear_object (&result);
  if (database == NULL)
    {
      report (r, "FAILED", _("A read-only query"), error->message);
      return;
    }

  query = bastion_query_new (database, "SHOW default_transaction_read_only");
  bastion_query_run_async (query, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  if (!bastion_query_run_finish (query, result, &error))
    {
      report (r, "FAILED", _("A read-only query"), error->message);
      return;
    }

  value = bastion_result_model_get_value (bastion_query_get_model (query), 0, 0, &len, &is_null);
  if (is_null || g_strcmp0 (value, "on") != 0)
    report (r, "FAILED", _("A read-only query"), _("the session is not read-only"));
  else
    report (r, "ok", _("A read-only query"), _("the session is read-only"));
  bastion_database_disconnect (database);
}

/* How the login went, on the authentication step ("through the SSH agent (key …)"). */
static char *
dup_auth_detail (BastionConnection      *connection,
                 BastionConnectionStage  stage)
{
  const char *how = bastion_connection_get_auth_used (connection);

  if (stage != BASTION_CONNECTION_STAGE_AUTHENTICATING || how == NULL)
    return NULL;

  return g_strdup_printf (_("through %s"), how);
}

/* A key others may read is refused at login, as OpenSSH refuses it: a failure here too. */
static void
check_key_file (Report         *r,
                BastionProfile *profile)
{
  BastionKeyFileInfo info = { 0 };
  g_autofree char *message = NULL;
  BastionKeyFileStatus status;

  status = bastion_key_file_check (bastion_profile_get_key_file (profile), &info, &message);
  if (status == BASTION_KEY_FILE_OK || status == BASTION_KEY_FILE_ENCRYPTED)
    report (r, "ok", _("Key file"), bastion_profile_get_key_file (profile));
  else if (g_getenv ("SSH_AUTH_SOCK") != NULL)
    {
      g_autofree char *detail = g_strdup_printf (_("%s; the SSH agent is tried first"),
                                                 message);
      report (r, "warning", _("Key file"), detail);
    }
  else
    report (r, "FAILED", _("Key file"), message);
}

/* One line per step of the tunnel: done, the one that failed (with what to do), not reached. */
static void
report_tunnel_steps (Report            *r,
                     BastionConnection *connection,
                     const char        *team,
                     const GError      *error)
{
  BastionConnectionStage failed = bastion_connection_get_failed_stage (connection);

  for (guint i = 0; i < G_N_ELEMENTS (tunnel_steps); i++)
    {
      const char *label = bastion_connection_stage_to_label (tunnel_steps[i]);

      /* Session Manager has no SSH step: its tunnel and the login are checked. */
      if (bastion_connection_get_transport (connection) == BASTION_TRANSPORT_SSM &&
          tunnel_steps[i] < BASTION_CONNECTION_STAGE_OPENING_TUNNEL)
        continue;

      if (error == NULL || tunnel_steps[i] < failed)
        {
          g_autofree char *detail = dup_auth_detail (connection, tunnel_steps[i]);

          report (r, "ok", label, detail);
        }
      else if (tunnel_steps[i] == failed ||
               (failed < BASTION_CONNECTION_STAGE_RESOLVING && i == 0))
        {
          g_autofree char *message = bastion_cli_dup_connection_error (connection, team, error);
          report (r, "FAILED", label, message);
        }
      else
        report (r, "-", label, _("not reached"));
    }
}

/* A Session Manager session opens (before the connection is tried through it). */
static gboolean
check_ssm_session (Report         *r,
                   BastionProfile *profile)
{
  g_autofree char *detail = NULL;
  g_autoptr(GError) error = NULL;

  if (!bastion_cli_check_ssm (profile, &detail, &error))
    {
      report (r, "FAILED", _("AWS Session Manager session"), error->message);
      return FALSE;
    }
  report (r, "ok", _("AWS Session Manager session"), detail);
  return TRUE;
}

/* The tunnel's steps, the database login and a read-only query, through the chosen transport. */
static void
check_connection (Report                 *r,
                  BastionProfile         *profile,
                  const char             *team,
                  BastionConnectionFlags  flags,
                  int                     transport)
{
  g_autoptr(BastionConnection) connection = bastion_connection_new (profile, NULL);
  g_autoptr(GError) error = NULL;

  bastion_connection_set_local_port (connection, 0);
  bastion_connection_set_transport (connection, transport);
  bastion_cli_open (connection, profile, flags, &error);
  if (bastion_connection_get_transport_note (connection) != NULL)
    report (r, "ok", _("Transport"), bastion_connection_get_transport_note (connection));

  report_tunnel_steps (r, connection, team, error);

  if (error == NULL)
    check_query (r, connection);
  else
    report (r, "-", _("A read-only query"), _("not reached"));

  bastion_connection_close (connection);
}

int
bastion_cli_check (int    argc,
                   char **argv)
{
  gboolean accept_new = FALSE;
  g_autofree char *via = NULL;
  int transport = -1;
  gboolean ssm;
  GOptionEntry entries[] = {
    { "accept-new", 0, 0, G_OPTION_ARG_NONE, &accept_new,
      N_("Trust the bastion’s host key if it is not known yet (never a changed one)"), NULL },
    { "via", 0, 0, G_OPTION_ARG_STRING, &via,
      N_("Check the path through ssh, ssm (AWS Session Manager) or auto (default: the team’s "
         "transport)"), "ssh|ssm|auto" },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  BastionConnectionFlags flags = BASTION_CONNECTION_FLAGS_VERIFY_DATABASE |
                                 BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD;
  BastionProfile *profile;
  Report r = { 0 };
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("TEAM"),
                                  _("Run every connection step and report each one, with the "
                                    "fix for the one that fails."),
                                  entries, &status))
    return status;
  if (argc != 2)
    return bastion_cli_fail ("check", _("give one team; see “bastion-cli check --help”"));

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[1]);
  if (profile == NULL)
    return 1;

  if (!bastion_profile_get_has_db_access (profile))
    {
      report (&r, "FAILED", _("Team config"), bastion_profile_get_no_access_reason (profile));
      return 1;
    }
  report (&r, "ok", _("Team config"), bastion_profile_get_team_dir (profile));

  if (!bastion_cli_parse_via ("check", via, &transport))
    return 1;
  ssm = (transport >= 0 ? (BastionTransport) transport
                        : bastion_profile_get_transport (profile)) == BASTION_TRANSPORT_SSM;

  if (bastion_profile_get_auth_method (profile) == BASTION_AUTH_METHOD_KEY && !ssm)
    check_key_file (&r, profile);

  check_aws (&r, profile, !ssm);

  if (ssm && !check_ssm_session (&r, profile))
    {
      g_print ("%u ok, %u failed\n", r.n_ok, r.n_failed);
      return 1;
    }

  if (accept_new)
    flags |= BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY;
  check_connection (&r, profile, argv[1], flags, transport);
  g_print ("%u ok, %u failed\n", r.n_ok, r.n_failed);

  return r.n_failed > 0 ? 1 : 0;
}
