/* bastion-cli-ssm.c: `--via ssh|ssm|auto` and `check --via ssm`, AWS Session Manager from the
 * command line (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-cli-private.h"
#include "bastion-ssm-session.h"

/* The bastion's instance id, found by its Name tag as `aws bastion` does. */
static char *
find_instance_id (BastionAws      *aws,
                  BastionProfile  *profile,
                  GError         **error)
{
  g_autofree char *name = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  const char *prefix = bastion_profile_get_name_prefix (profile);

  if (prefix == NULL || *prefix == '\0')
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                   _("the team names no name_prefix, so Bastion cannot find its bastion "
                     "instance for Session Manager"));
      return NULL;
    }
  name = bastion_aws_bastion_instance_name (prefix, bastion_profile_get_stage (profile));
  bastion_aws_describe_instance_async (aws, name, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  instance = bastion_aws_describe_instance_finish (aws, result, error);
  if (instance == NULL)
    return NULL;
  return g_strdup (instance->instance_id);
}

gboolean
bastion_cli_parse_via (const char *step,
                       const char *text,
                       int        *transport)
{
  BastionTransport value;

  *transport = -1;
  if (text == NULL)
    return TRUE;
  if (!bastion_transport_from_string (text, &value))
    {
      bastion_cli_fail (step, _("--via takes ssh, ssm or auto, not “%s”"), text);
      return FALSE;
    }
  *transport = value;
  return TRUE;
}

/* What carries the open connection, when it is not SSH: one line on stderr. */
void
bastion_cli_print_transport (BastionConnection *connection)
{
  BastionTunnel *tunnel = bastion_connection_get_tunnel (connection);
  const char *note = bastion_connection_get_transport_note (connection);
  g_autofree char *agent = NULL;
  g_autofree char *session_id = NULL;

  if (tunnel == NULL || bastion_tunnel_get_transport (tunnel) != BASTION_TRANSPORT_SSM)
    return;
  if (note != NULL)
    g_printerr ("%s.\n", note);
  session_id = bastion_tunnel_dup_ssm_session (tunnel, &agent);
  g_printerr (_("Connected through AWS Session Manager (session %s, agent %s).\n"),
              session_id ? session_id : "", agent ? agent : "");
}

/* ssm:TerminateSession runs on the I/O thread after the tunnel stopped: a command about to exit
 * gives it a few seconds to reach AWS. */
void
bastion_cli_wait_terminations (void)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (bastion_ssm_session_get_pending_terminations () > 0 &&
         g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
}

/* `check --via ssm`: a Session Manager session started, its handshake completed, then
 * terminated. TRUE with DETAIL (session, agent, multiplexing) or FALSE with ERROR. */
gboolean
bastion_cli_check_ssm (BastionProfile  *profile,
                       char           **detail,
                       GError         **error)
{
  g_autoptr(BastionAws) aws = NULL;
  g_autoptr(BastionSsmSession) session = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *instance_id = NULL;
  gboolean ok;

  aws = bastion_aws_new (bastion_profile_get_aws_profile (profile),
                         bastion_profile_get_aws_region (profile));
  instance_id = find_instance_id (aws, profile, error);
  if (instance_id == NULL)
    return FALSE;
  session = bastion_ssm_session_new (aws, instance_id, bastion_profile_get_db_host (profile),
                                     bastion_profile_get_db_port (profile));
  bastion_ssm_session_connect_async (session, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  ok = bastion_ssm_session_connect_finish (session, result, error);
  if (ok)
    *detail = g_strdup_printf (_("%s through %s, agent %s (%s)"),
                               bastion_ssm_session_get_session_id (session), instance_id,
                               bastion_ssm_session_get_agent_version (session),
                               bastion_ssm_session_is_multiplexed (session)
                                 ? _("many connections per session")
                                 : _("one connection at a time"));
  bastion_ssm_session_close (session);
  bastion_cli_wait_terminations ();
  return ok;
}
