/* bastion-tunnel-ssm.c: the tunnel's AWS Session Manager transport (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * BastionTunnel's listener hands each accepted client of its user to the current
 * BastionSsmSession, which carries it over its own smux stream (or, with an old agent, as the
 * session's one connection). A session that ends other than by stop() (the service's idle
 * timeout or maximum duration, a dropped WebSocket, an agent that stopped acknowledging) is
 * started again with backoff while the listener and its port stay: clients that connect
 * meanwhile wait for it; clients that were connected see their connection closed and connect
 * again, as after an SSH reconnect. Everything here runs on the I/O thread, where the session,
 * its BastionAws (curl) and its libsoup WebSocket are created and driven.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-io-thread.h"
#include "bastion-ssm-session.h"
#include "bastion-tunnel-private.h"

#define MAX_WAITING    64       /* clients queued while (re)connecting */
#define BACKOFF_MAX_S  30

struct _BastionTunnelSsm
{
  /* Settings: copied on the owner's thread, read only afterwards */
  char              *aws_profile;
  char              *aws_region;
  char              *name_prefix;
  char              *stage;

  /* I/O thread */
  BastionAws        *aws;
  char              *instance_id;
  BastionSsmSession *session;
  GQueue             waiting;       /* GSocketConnection */
  guint              retry_id;
  guint              backoff_s;
  guint64            bytes_in_done;  /* of earlier sessions */
  guint64            bytes_out_done;

  /* What the owner may ask for (bastion_tunnel_dup_ssm_session()) */
  GMutex             lock;
  char              *session_id;
  char              *agent_version;
};

static void start_session (BastionTunnel *self,
                           GCancellable  *cancellable);

BastionTunnelSsm *
bastion_tunnel_ssm_new (BastionProfile *profile)
{
  BastionTunnelSsm *ssm = g_new0 (BastionTunnelSsm, 1);

  ssm->aws_profile = g_strdup (bastion_profile_get_aws_profile (profile));
  ssm->aws_region = g_strdup (bastion_profile_get_aws_region (profile));
  ssm->name_prefix = g_strdup (bastion_profile_get_name_prefix (profile));
  ssm->stage = g_strdup (bastion_profile_get_stage (profile));
  g_queue_init (&ssm->waiting);
  g_mutex_init (&ssm->lock);

  return ssm;
}

void
bastion_tunnel_ssm_free (BastionTunnelSsm *ssm)
{
  /* stop() (on the I/O thread) released the session, the clients and the AWS client. */
  g_assert (ssm->session == NULL && ssm->waiting.length == 0);
  g_clear_object (&ssm->aws);
  g_free (ssm->aws_profile);
  g_free (ssm->aws_region);
  g_free (ssm->name_prefix);
  g_free (ssm->stage);
  g_free (ssm->instance_id);
  g_free (ssm->session_id);
  g_free (ssm->agent_version);
  g_mutex_clear (&ssm->lock);
  g_free (ssm);
}

char *
bastion_tunnel_dup_ssm_session (BastionTunnel  *self,
                                char          **agent_version)
{
  char *id = NULL;

  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);

  if (agent_version != NULL)
    *agent_version = NULL;
  if (self->ssm == NULL)
    return NULL;
  g_mutex_lock (&self->ssm->lock);
  id = g_strdup (self->ssm->session_id);
  if (agent_version != NULL)
    *agent_version = g_strdup (self->ssm->agent_version);
  g_mutex_unlock (&self->ssm->lock);

  return id;
}

/* ---- Stage and failure -------------------------------------------------------------------- */

static void
set_stage (BastionTunnel   *self,
           BastionSshStage  stage)
{
  if (self->stage == stage)
    return;
  self->stage = stage;
  bastion_tunnel_report (self);
}

static void
close_waiting (BastionTunnelSsm *ssm)
{
  GSocketConnection *conn;

  while ((conn = g_queue_pop_head (&ssm->waiting)) != NULL)
    {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      g_object_unref (conn);
    }
}

/* Errors that another attempt will not cure (AccessDenied, TargetNotConnected, clock skew,
 * a missing name_prefix): the tunnel fails and says why. */
static gboolean
is_permanent (const GError *error)
{
  return error->domain == BASTION_AWS_ERROR &&
         error->code != BASTION_AWS_ERROR_NETWORK && error->code != BASTION_AWS_ERROR_SERVICE;
}

static void
fail (BastionTunnel *self,
      GError        *error)
{
  g_clear_error (&self->error);
  self->error = error;
  g_debug ("Tunnel 127.0.0.1:%u (Session Manager) failed: %s", self->local_port,
           error->message);
  close_waiting (self->ssm);
  self->n_carried = 0;
  if (self->start_task != NULL)
    {
      /* Nothing listens after a failed start, as with SSH. */
      if (self->service != NULL)
        {
          g_socket_service_stop (self->service);
          g_socket_listener_close (G_SOCKET_LISTENER (self->service));
        }
      self->stage = BASTION_SSH_STAGE_FAILED;
      bastion_tunnel_report_done (self, g_steal_pointer (&self->start_task),
                                  g_error_copy (error));
      return;
    }
  set_stage (self, BASTION_SSH_STAGE_FAILED);
}

/* ---- Clients ------------------------------------------------------------------------------ */

static void
hand_over (BastionTunnel     *self,
           GSocketConnection *conn)
{
  g_autoptr(GError) error = NULL;

  if (!bastion_ssm_session_add_client (self->ssm->session, G_IO_STREAM (conn), &error))
    {
      g_message ("Tunnel 127.0.0.1:%u: %s", self->local_port, error->message);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    }
}

static void
ssm_carry (BastionTunnel     *self,
           GSocketConnection *conn)
{
  BastionTunnelSsm *ssm = self->ssm;
  int one = 1;

  /* A query's few bytes leave at once, as through the SSH relay. */
  setsockopt (g_socket_get_fd (g_socket_connection_get_socket (conn)), IPPROTO_TCP, TCP_NODELAY,
              &one, sizeof one);

  if (ssm->session != NULL && bastion_ssm_session_is_connected (ssm->session))
    hand_over (self, conn);
  else if (ssm->waiting.length < MAX_WAITING)
    g_queue_push_tail (&ssm->waiting, g_object_ref (conn));
  else
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
}

/* ---- Sessions ----------------------------------------------------------------------------- */

static void
forget_session (BastionTunnel *self)
{
  BastionTunnelSsm *ssm = self->ssm;

  if (ssm->session == NULL)
    return;
  ssm->bytes_in_done += bastion_ssm_session_get_bytes_in (ssm->session);
  ssm->bytes_out_done += bastion_ssm_session_get_bytes_out (ssm->session);
  g_signal_handlers_disconnect_by_data (ssm->session, self);
  bastion_ssm_session_close (ssm->session);
  g_clear_object (&ssm->session);
}

static gboolean
retry_cb (gpointer data)
{
  BastionTunnel *self = data;

  self->ssm->retry_id = 0;
  start_session (self, NULL);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (BastionTunnel *self)
{
  BastionTunnelSsm *ssm = self->ssm;

  ssm->backoff_s = ssm->backoff_s == 0 ? 1 : MIN (ssm->backoff_s * 2, BACKOFF_MAX_S);
  if (ssm->retry_id == 0)
    ssm->retry_id = bastion_source_add_timeout (self->context, ssm->backoff_s * 1000, retry_cb,
                                                self);
}

static void
on_session_closed (BastionSsmSession *session,
                   const GError      *error,
                   gpointer           user_data)
{
  BastionTunnel *self = user_data;

  /* A session that fails while connecting is handled by session_connected(). */
  if (session != self->ssm->session || self->stopped ||
      !bastion_ssm_session_get_session_id (session) || self->stage != BASTION_SSH_STAGE_READY)
    return;

  g_message ("Tunnel 127.0.0.1:%u: %s Reconnecting; the port stays open.", self->local_port,
             error->message);
  forget_session (self);
  set_stage (self, BASTION_SSH_STAGE_RECONNECTING);
  start_session (self, NULL);
}

static void
session_connected (BastionTunnel     *self,
                   BastionSsmSession *session,
                   GAsyncResult      *result)
{
  BastionTunnelSsm *ssm = self->ssm;
  g_autoptr(GError) error = NULL;
  GSocketConnection *conn;

  if (!bastion_ssm_session_connect_finish (session, result, &error))
    {
      if (self->stopped || session != ssm->session)
        return;
      forget_session (self);
      if (self->start_task != NULL || is_permanent (error))
        {
          fail (self, g_steal_pointer (&error));
          return;
        }
      g_message ("Tunnel 127.0.0.1:%u: %s Next try in %u s.", self->local_port, error->message,
                 ssm->backoff_s == 0 ? 1 : MIN (ssm->backoff_s * 2, BACKOFF_MAX_S));
      set_stage (self, BASTION_SSH_STAGE_RECONNECTING);
      schedule_retry (self);
      return;
    }
  if (self->stopped || session != ssm->session)
    return;

  ssm->backoff_s = 0;
  g_clear_error (&self->error);
  g_mutex_lock (&ssm->lock);
  g_free (ssm->session_id);
  ssm->session_id = g_strdup (bastion_ssm_session_get_session_id (session));
  g_free (ssm->agent_version);
  ssm->agent_version = g_strdup (bastion_ssm_session_get_agent_version (session));
  g_mutex_unlock (&ssm->lock);
  g_debug ("Tunnel 127.0.0.1:%u: Session Manager session %s (agent %s%s)", self->local_port,
           ssm->session_id, ssm->agent_version,
           bastion_ssm_session_is_multiplexed (session) ? "" : ", one connection at a time");

  self->stage = BASTION_SSH_STAGE_READY;
  if (self->start_task != NULL)
    bastion_tunnel_report_done (self, g_steal_pointer (&self->start_task), NULL);
  else
    bastion_tunnel_report (self);

  while ((conn = g_queue_pop_head (&ssm->waiting)) != NULL && ssm->session == session)
    {
      hand_over (self, conn);
      g_object_unref (conn);
    }
  g_clear_object (&conn);
}

/* Each callback holds a reference of the tunnel, dropped on the owner's thread. */
static void
on_session_connected (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  BastionTunnel *self = user_data;

  session_connected (self, BASTION_SSM_SESSION (object), result);
  bastion_tunnel_unref_on_owner (self);
}

static void
start_session (BastionTunnel *self,
               GCancellable  *cancellable)
{
  BastionTunnelSsm *ssm = self->ssm;

  if (self->stopped)
    return;
  forget_session (self);
  ssm->session = bastion_ssm_session_new (ssm->aws, ssm->instance_id, self->db_host,
                                          self->db_port);
  g_signal_connect (ssm->session, "closed", G_CALLBACK (on_session_closed), self);
  bastion_ssm_session_connect_async (ssm->session, cancellable, on_session_connected,
                                     g_object_ref (self));
}

static void
on_instance_found (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  BastionTunnel *self = user_data;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;

  instance = bastion_aws_describe_instance_finish (BASTION_AWS (object), result, &error);
  if (!self->stopped)
    {
      if (instance == NULL)
        fail (self, g_steal_pointer (&error));
      else
        {
          self->ssm->instance_id = g_strdup (instance->instance_id);
          start_session (self, g_task_get_cancellable (self->start_task));
        }
    }
  bastion_tunnel_unref_on_owner (self);
}

static void
ssm_start (BastionTunnel *self,
           GCancellable  *cancellable)
{
  BastionTunnelSsm *ssm = self->ssm;
  g_autofree char *name = NULL;

  set_stage (self, BASTION_SSH_STAGE_CONNECTING);
  /* Created here: its curl requests run on the thread-default context, this thread's. */
  if (ssm->aws == NULL)
    ssm->aws = bastion_aws_new (ssm->aws_profile, ssm->aws_region);
  if (ssm->instance_id != NULL)
    {
      start_session (self, cancellable);
      return;
    }
  if (ssm->name_prefix == NULL || ssm->name_prefix[0] == '\0')
    {
      fail (self, g_error_new_literal (BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                                       _("The team names no name_prefix, so Bastion cannot find "
                                         "its bastion instance for AWS Session Manager; import "
                                         "the team again or use the SSH transport")));
      return;
    }
  name = bastion_aws_bastion_instance_name (ssm->name_prefix, ssm->stage);
  bastion_aws_describe_instance_async (ssm->aws, name, cancellable, on_instance_found,
                                       g_object_ref (self));
}

static void
ssm_stop (BastionTunnel *self)
{
  BastionTunnelSsm *ssm = self->ssm;

  bastion_source_clear (self->context, &ssm->retry_id);
  close_waiting (ssm);
  /* ssm:TerminateSession goes out from here; its call keeps the AWS client alive until AWS
   * answered (bastion_ssm_session_get_pending_terminations()). */
  forget_session (self);
  g_clear_object (&ssm->aws);
  self->n_carried = 0;
  self->n_channels = 0;
}

static void
ssm_stats (BastionTunnel *self)
{
  BastionTunnelSsm *ssm = self->ssm;
  BastionSsmSession *session = ssm->session;
  guint n = session != NULL ? bastion_ssm_session_get_n_clients (session) : 0;

  self->bytes_in = ssm->bytes_in_done + (session ? bastion_ssm_session_get_bytes_in (session) : 0);
  self->bytes_out = ssm->bytes_out_done +
                    (session ? bastion_ssm_session_get_bytes_out (session) : 0);
  if (session != NULL && bastion_ssm_session_get_rtt (session) > 0)
    self->rtt = bastion_ssm_session_get_rtt (session);
  self->window = 0;
  self->n_carried = n + ssm->waiting.length;
  if (self->n_channels != n)
    {
      self->n_channels = n;
      bastion_tunnel_report (self);
    }
}

const BastionTunnelTransport bastion_tunnel_ssm_transport = {
  .kind  = BASTION_TRANSPORT_SSM,
  .start = ssm_start,
  .stop  = ssm_stop,
  .carry = ssm_carry,
  .stats = ssm_stats,
};
