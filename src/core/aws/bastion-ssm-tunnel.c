/* bastion-ssm-tunnel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Signals: "status" (a translated line for the user: reconnecting, refused clients) and
 * "failed" (a GError: a session could not be started again and the error is not one that
 * waiting cures, such as AccessDenied).
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-ssm-tunnel.h"

#define MAX_WAITING   64        /* clients queued while (re)connecting */
#define MAX_BACKOFF_S 30

struct _BastionSsmTunnel
{
  GObject            parent_instance;

  /* Owned */
  BastionAws        *aws;
  char              *instance_id;
  char              *db_host;
  GSocketService    *service;
  BastionSsmSession *session;
  GQueue             waiting;       /* GSocketConnection */
  GTask             *start_task;
  guint              retry_id;

  guint16            db_port;
  guint16            local_port;
  guint              backoff_s;
  guint              reconnects;
  guint64            bytes_in_done;  /* of earlier sessions */
  guint64            bytes_out_done;

  guint              stopped : 1;
  guint              connecting : 1;
};

G_DEFINE_FINAL_TYPE (BastionSsmTunnel, bastion_ssm_tunnel, G_TYPE_OBJECT)

enum
{
  SIGNAL_STATUS,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_session (BastionSsmTunnel *self);

static void
status (BastionSsmTunnel *self,
        const char       *line)
{
  g_signal_emit (self, signals[SIGNAL_STATUS], 0, line);
}

static void
hand_over (BastionSsmTunnel  *self,
           GSocketConnection *conn)
{
  g_autoptr(GError) error = NULL;

  if (!bastion_ssm_session_add_client (self->session, G_IO_STREAM (conn), &error))
    {
      status (self, error->message);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    }
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *conn,
             GObject           *source,
             gpointer           user_data)
{
  BastionSsmTunnel *self = user_data;

  if (self->session != NULL && bastion_ssm_session_is_connected (self->session))
    hand_over (self, conn);
  else if (self->waiting.length < MAX_WAITING)
    g_queue_push_tail (&self->waiting, g_object_ref (conn));
  else
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return TRUE;
}

/* Errors that another attempt will not cure. */
static gboolean
is_permanent (const GError *error)
{
  return error->domain == BASTION_AWS_ERROR &&
         error->code != BASTION_AWS_ERROR_NETWORK && error->code != BASTION_AWS_ERROR_SERVICE;
}

static gboolean
on_retry (gpointer user_data)
{
  BastionSsmTunnel *self = user_data;

  self->retry_id = 0;
  start_session (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (BastionSsmTunnel *self)
{
  self->backoff_s = self->backoff_s == 0 ? 1 : MIN (self->backoff_s * 2, MAX_BACKOFF_S);
  self->retry_id = g_timeout_add_seconds (self->backoff_s, on_retry, self);
}

static void
on_session_closed (BastionSsmSession *session,
                   const GError      *error,
                   gpointer           user_data)
{
  BastionSsmTunnel *self = user_data;
  g_autofree char *line = NULL;

  /* A session that fails while connecting is reported by on_session_connected(). */
  if (session != self->session || self->stopped || self->connecting)
    return;
  self->bytes_in_done += bastion_ssm_session_get_bytes_in (session);
  self->bytes_out_done += bastion_ssm_session_get_bytes_out (session);
  g_signal_handlers_disconnect_by_data (session, self);
  g_clear_object (&self->session);
  line = g_strdup_printf (_("%s Reconnecting; the port stays open."), error->message);
  status (self, line);
  self->reconnects++;
  start_session (self);
}

static void
on_session_connected (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(BastionSsmTunnel) self = user_data;
  BastionSsmSession *session = BASTION_SSM_SESSION (object);
  g_autoptr(GError) error = NULL;

  if (session == self->session)
    self->connecting = FALSE;
  if (!bastion_ssm_session_connect_finish (session, result, &error))
    {
      if (self->stopped || session != self->session)
        return;
      g_signal_handlers_disconnect_by_data (session, self);
      g_clear_object (&self->session);
      if (self->start_task != NULL)
        {
          g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (is_permanent (error))
        {
          g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
          return;
        }
      status (self, error->message);
      schedule_retry (self);
      return;
    }
  if (self->stopped || session != self->session)
    return;
  self->backoff_s = 0;
  if (self->start_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

      g_task_return_boolean (task, TRUE);
    }
  while (self->waiting.length > 0 && self->session != NULL)
    {
      g_autoptr(GSocketConnection) conn = g_queue_pop_head (&self->waiting);

      hand_over (self, conn);
    }
}

static void
start_session (BastionSsmTunnel *self)
{
  if (self->stopped)
    return;
  g_clear_object (&self->session);
  self->session = bastion_ssm_session_new (self->aws, self->instance_id, self->db_host,
                                           self->db_port);
  g_signal_connect (self->session, "closed", G_CALLBACK (on_session_closed), self);
  self->connecting = TRUE;
  bastion_ssm_session_connect_async (self->session, NULL, on_session_connected,
                                     g_object_ref (self));
}

BastionSsmTunnel *
bastion_ssm_tunnel_new (BastionAws *aws,
                        const char *instance_id,
                        const char *db_host,
                        guint16     db_port,
                        guint16     local_port)
{
  BastionSsmTunnel *self;

  g_return_val_if_fail (BASTION_IS_AWS (aws), NULL);
  g_return_val_if_fail (instance_id != NULL && db_host != NULL, NULL);

  self = g_object_new (BASTION_TYPE_SSM_TUNNEL, NULL);
  self->aws = g_object_ref (aws);
  self->instance_id = g_strdup (instance_id);
  self->db_host = g_strdup (db_host);
  self->db_port = db_port;
  self->local_port = local_port;
  return self;
}

static gboolean
listen_local (BastionSsmTunnel  *self,
              GError           **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->local_port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) local_error = NULL;

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, &local_error))
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                   _("Cannot listen on 127.0.0.1:%u (%s). Choose another port with --port."),
                   self->local_port, local_error->message);
      return FALSE;
    }
  self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);
  return TRUE;
}

void
bastion_ssm_tunnel_start_async (BastionSsmTunnel   *self,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (BASTION_IS_SSM_TUNNEL (self));
  g_return_if_fail (self->start_task == NULL && self->service == NULL);

  self->start_task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->start_task, bastion_ssm_tunnel_start_async);
  if (!listen_local (self, &error))
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start_session (self);
}

gboolean
bastion_ssm_tunnel_start_finish (BastionSsmTunnel  *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_ssm_tunnel_stop (BastionSsmTunnel *self)
{
  g_return_if_fail (BASTION_IS_SSM_TUNNEL (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    }
  g_queue_clear_full (&self->waiting, g_object_unref);
  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      bastion_ssm_session_close (self->session);
    }
}

static void
bastion_ssm_tunnel_dispose (GObject *object)
{
  BastionSsmTunnel *self = BASTION_SSM_TUNNEL (object);

  bastion_ssm_tunnel_stop (self);
  g_clear_object (&self->session);
  g_clear_object (&self->service);
  g_clear_object (&self->aws);

  G_OBJECT_CLASS (bastion_ssm_tunnel_parent_class)->dispose (object);
}

static void
bastion_ssm_tunnel_finalize (GObject *object)
{
  BastionSsmTunnel *self = BASTION_SSM_TUNNEL (object);

  g_free (self->instance_id);
  g_free (self->db_host);

  G_OBJECT_CLASS (bastion_ssm_tunnel_parent_class)->finalize (object);
}

static void
bastion_ssm_tunnel_class_init (BastionSsmTunnelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_ssm_tunnel_dispose;
  object_class->finalize = bastion_ssm_tunnel_finalize;

  signals[SIGNAL_STATUS] = g_signal_new ("status", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
bastion_ssm_tunnel_init (BastionSsmTunnel *self)
{
  g_queue_init (&self->waiting);
}

guint16
bastion_ssm_tunnel_get_local_port (BastionSsmTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_TUNNEL (self), 0);
  return self->local_port;
}

BastionSsmSession *
bastion_ssm_tunnel_get_session (BastionSsmTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_TUNNEL (self), NULL);
  return self->session;
}

guint
bastion_ssm_tunnel_get_reconnects (BastionSsmTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_TUNNEL (self), 0);
  return self->reconnects;
}

guint64
bastion_ssm_tunnel_get_bytes_in (BastionSsmTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_TUNNEL (self), 0);
  return self->bytes_in_done + (self->session ? bastion_ssm_session_get_bytes_in (self->session) : 0);
}

guint64
bastion_ssm_tunnel_get_bytes_out (BastionSsmTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_TUNNEL (self), 0);
  return self->bytes_out_done +
         (self->session ? bastion_ssm_session_get_bytes_out (self->session) : 0);
}
