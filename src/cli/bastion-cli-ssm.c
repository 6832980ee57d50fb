/* bastion-cli-ssm.c: `bastion-cli tunnel TEAM --via ssm`, the tunnel through AWS Session
 * Manager (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "bastion-aws.h"
#include "bastion-cli-private.h"
#include "bastion-ssm-tunnel.h"

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static void
on_status (BastionSsmTunnel *tunnel,
           const char       *line,
           gpointer          user_data)
{
  g_autofree char *printable = bastion_cli_dup_printable (line);

  g_printerr ("bastion-cli: tunnel: %s\n", printable);
}

static void
on_failed (BastionSsmTunnel *tunnel,
           const GError     *error,
           GError          **slot)
{
  g_clear_error (slot);
  *slot = g_error_copy (error);
}

static void
on_failed_quit (BastionSsmTunnel *tunnel,
                const GError     *error,
                GMainLoop        *loop)
{
  g_main_loop_quit (loop);
}

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

int
bastion_cli_tunnel_ssm (BastionProfile *profile,
                        gint            port,
                        gboolean        fallback)
{
  g_autoptr(BastionAws) aws = NULL;
  g_autoptr(BastionSsmTunnel) tunnel = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) failure = NULL;
  g_autofree char *instance_id = NULL;
  BastionSsmSession *session;
  gint64 deadline;
  guint sigint_id, sigterm_id;

  aws = bastion_aws_new (bastion_profile_get_aws_profile (profile),
                         bastion_profile_get_aws_region (profile));
  instance_id = find_instance_id (aws, profile, &error);
  if (instance_id == NULL)
    return bastion_cli_fail_error ("find bastion", error);

  if (port < 0)
    port = bastion_profile_get_local_port (profile);
  tunnel = bastion_ssm_tunnel_new (aws, instance_id, bastion_profile_get_db_host (profile),
                                   bastion_profile_get_db_port (profile), port);
  g_signal_connect (tunnel, "status", G_CALLBACK (on_status), NULL);
  g_signal_connect (tunnel, "failed", G_CALLBACK (on_failed), &failure);
  bastion_ssm_tunnel_start_async (tunnel, NULL, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  if (!bastion_ssm_tunnel_start_finish (tunnel, result, &error))
    return bastion_cli_fail_error ("session manager", error);

  session = bastion_ssm_tunnel_get_session (tunnel);
  g_print ("listening 127.0.0.1:%u\n", bastion_ssm_tunnel_get_local_port (tunnel));
  fflush (stdout);
  if (fallback)
    g_printerr ("%s\n", _("Connected through AWS Session Manager; port 22 is closed to you."));
  g_printerr (_("Connected through AWS Session Manager (session %s, agent %s%s).\n"),
              bastion_ssm_session_get_session_id (session),
              bastion_ssm_session_get_agent_version (session),
              bastion_ssm_session_is_multiplexed (session) ? ""
                : _(", one connection at a time"));

  loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, loop);
  g_signal_connect (tunnel, "failed", G_CALLBACK (on_failed_quit), loop);
  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  /* ssm:TerminateSession, given a few seconds to reach AWS. */
  bastion_ssm_tunnel_stop (tunnel);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (bastion_ssm_session_get_pending_terminations () > 0 &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  if (failure != NULL)
    return bastion_cli_fail_error ("session manager", failure);
  return 0;
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
  gint64 deadline;
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
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (bastion_ssm_session_get_pending_terminations () > 0 &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return ok;
}
