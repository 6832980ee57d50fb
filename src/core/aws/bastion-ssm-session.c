/* bastion-ssm-session.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Starting a session (ssm:StartSession, the WebSocket, OpenDataChannelInput), resuming its data
 * channel (ssm:ResumeSession), ending it (ssm:TerminateSession), and the object. The data
 * channel itself is bastion-ssm-session-data.c.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-bounded-file.h"
#include "bastion-io-thread.h"
#include "bastion-ssm-session-private.h"

G_DEFINE_FINAL_TYPE (BastionSsmSession, bastion_ssm_session, G_TYPE_OBJECT)

enum
{
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Ending ------------------------------------------------------------------------------------ */

/* Sessions may run on any thread (the tunnel's I/O thread, a test's main thread). */
static gint pending_terminations;

guint
bastion_ssm_session_get_pending_terminations (void)
{
  return g_atomic_int_get (&pending_terminations);
}

static void
on_terminated (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *session_id = user_data;

  g_atomic_int_dec_and_test (&pending_terminations);
  reply = bastion_aws_ssm_call_finish (BASTION_AWS (object), result, &error);
  if (reply == NULL)
    g_debug ("SSM: TerminateSession %s: %s", session_id, error->message);
}

static void
terminate_session (BastionSsmSession *self)
{
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  if (self->session_id == NULL || self->terminated)
    return;
  self->terminated = TRUE;
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "SessionId");
  json_builder_add_string_value (b, self->session_id);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);
  /* Not cancelled with the session: it must reach AWS after the session is gone. */
  g_atomic_int_inc (&pending_terminations);
  bastion_aws_ssm_call_async (self->aws, "TerminateSession", self->session_id, body, NULL,
                              on_terminated, g_strdup (self->session_id));
}

void
bastion_ssm_session_fail (BastionSsmSession *self,
              GError            *error)
{
  g_autoptr(GError) owned = error;
  g_autoptr(GList) streams = NULL;

  if (self->closed)
    return;
  g_object_ref (self);
  self->closed = TRUE;
  g_debug ("SSM session %s ends: %s", self->session_id ? self->session_id : "(none)",
           error->message);
  g_cancellable_cancel (self->cancellable);
  bastion_source_clear (self->context, &self->resend_id);
  if (self->raw != NULL)
    bastion_ssm_stream_remove (self->raw);
  streams = g_hash_table_get_values (self->streams);
  for (GList *l = streams; l != NULL; l = l->next)
    bastion_ssm_stream_remove (l->data);
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  terminate_session (self);
  bastion_ssm_session_complete_connect (self, g_error_copy (error));
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, error);
  g_object_unref (self);
}

void
bastion_ssm_session_close (BastionSsmSession *self)
{
  g_return_if_fail (BASTION_IS_SSM_SESSION (self));

  bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_STOPPED,
                                   _("The Session Manager session was closed.")));
}

/* Connecting -------------------------------------------------------------------------------- */

static gboolean
on_handshake_timeout (gpointer user_data)
{
  BastionSsmSession *self = user_data;

  self->handshake_timeout_id = 0;
  bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_PROTOCOL,
                                   _("The bastion’s SSM agent did not complete the handshake "
                                     "within %d seconds. Check that the agent runs on %s."),
                                   HANDSHAKE_TIMEOUT, self->instance_id));
  return G_SOURCE_REMOVE;
}

static void
on_ws_connected (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionSsmSession) self = user_data;
  g_autoptr(GError) error = NULL;
  char *token = g_object_steal_data (G_OBJECT (self), "token");
  g_autofree char *open = NULL;
  g_autofree char *client_id = NULL;

  self->ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &error);
  if (self->ws != NULL && self->closed)
    {
      soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->ws);
    }
  if (self->ws == NULL)
    {
      explicit_bzero (token, strlen (token));
      g_free (token);
      if (!self->closed)
        bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                         _("Could not open the Session Manager data channel: "
                                           "%s. Check your network connection."),
                                         error ? error->message : ""));
      return;
    }
  soup_websocket_connection_set_max_incoming_payload_size (
    self->ws, BASTION_SSM_FRAME_OVERHEAD + BASTION_SSM_MAX_PAYLOAD);
  soup_websocket_connection_set_keepalive_interval (self->ws, 60);
  g_signal_connect (self->ws, "message", G_CALLBACK (bastion_ssm_session_on_ws_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (bastion_ssm_session_on_ws_closed), self);

  client_id = g_uuid_string_random ();
  open = bastion_ssm_open_data_channel_build (token, client_id, PACKAGE_VERSION);
  explicit_bzero (token, strlen (token));
  g_free (token);
  soup_websocket_connection_send_text (self->ws, open);
  explicit_bzero (open, strlen (open));
  if (self->resend_id == 0)
    self->resend_id = bastion_source_add_timeout (self->context, 100, bastion_ssm_session_resend_tick, self);
  if (self->resume_error != NULL)
    {
      /* Resumed: what the old channel may have lost goes again at the next tick. */
      g_clear_error (&self->resume_error);
      for (GList *l = self->unacked.head; l != NULL; l = l->next)
        ((OutMsg *) l->data)->sent_at = 0;
      g_message ("Session Manager: session %s resumed; its connections carry on",
                 self->session_id);
    }
}

/* Only wss:// (ws:// to this computer, for the test endpoint): the token travels in it. */
static gboolean
stream_url_ok (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host;

  if (uri == NULL || strlen (url) > 2048)
    return FALSE;
  host = g_uri_get_host (uri);
  if (g_strcmp0 (g_uri_get_scheme (uri), "wss") == 0)
    return host != NULL && *host != '\0';
  return g_strcmp0 (g_uri_get_scheme (uri), "ws") == 0 &&
         (g_strcmp0 (host, "127.0.0.1") == 0 || g_strcmp0 (host, "localhost") == 0 ||
          g_strcmp0 (host, "::1") == 0);
}

static const char *
string_member (JsonObject *obj,
               const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
parse_start_reply (BastionSsmSession  *self,
                   GBytes             *reply,
                   char              **stream_url,
                   char              **token,
                   GError            **error)
{
  g_autoptr(JsonParser) parser = NULL;
  gsize len;
  const char *data = g_bytes_get_data (reply, &len);
  JsonObject *obj;
  const char *id, *url, *tok;

  if (len > MAX_REPLY ||
      !(parser = bastion_json_parse_bounded (data, len, "StartSession", NULL)) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  obj = json_node_get_object (json_parser_get_root (parser));
  id = string_member (obj, "SessionId");
  url = string_member (obj, "StreamUrl");
  tok = string_member (obj, "TokenValue");
  if (id == NULL || url == NULL || tok == NULL || strlen (id) > 256 || strlen (tok) > 8192 ||
      *tok == '\0' || !stream_url_ok (url))
    goto bad;
  /* ResumeSession answers for the session it resumes, and no other. */
  if (self->session_id != NULL && !g_str_equal (self->session_id, id))
    goto bad;
  if (self->session_id == NULL)
    self->session_id = g_strdup (id);
  *stream_url = g_strdup (url);
  *token = g_strdup (tok);
  return TRUE;

bad:
  g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
               _("AWS answered StartSession with a reply Bastion cannot use (it needs SessionId, "
                 "a wss:// StreamUrl and TokenValue). Check AWS_ENDPOINT_URL_SSM if it is set."));
  return FALSE;
}

static void open_data_channel (BastionSsmSession *self,
                               const char        *url,
                               char              *token);

static void
on_session_started (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(BastionSsmSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *url = NULL;
  char *token = NULL;

  reply = bastion_aws_ssm_call_finish (BASTION_AWS (object), result, &error);
  if (self->closed)
    return;
  if (reply == NULL)
    {
      self->terminated = TRUE;
      bastion_ssm_session_fail (self, g_steal_pointer (&error));
      return;
    }
  if (!parse_start_reply (self, reply, &url, &token, &error))
    {
      bastion_ssm_session_fail (self, g_steal_pointer (&error));
      return;
    }
  g_debug ("SSM: session %s started", self->session_id);
  open_data_channel (self, url, token);
}

/* ResumeSession refused (the service ended the session, or the caller may not resume it): the
 * reason the channel dropped ends the session, and its owner starts a new one. */
static void
on_resumed (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(BastionSsmSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *url = NULL;
  char *token = NULL;

  reply = bastion_aws_ssm_call_finish (BASTION_AWS (object), result, &error);
  if (self->closed)
    return;
  if (reply == NULL || !parse_start_reply (self, reply, &url, &token, &error))
    {
      g_debug ("SSM: session %s cannot be resumed: %s", self->session_id, error->message);
      bastion_ssm_session_fail (self, g_steal_pointer (&self->resume_error));
      return;
    }
  self->resumes++;
  open_data_channel (self, url, token);
}

void
bastion_ssm_session_resume (BastionSsmSession *self,
        GError            *why)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  g_message ("Session Manager: %s Resuming session %s.", why->message, self->session_id);
  g_clear_error (&self->resume_error);
  self->resume_error = why;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  g_clear_object (&self->ws);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "SessionId");
  json_builder_add_string_value (b, self->session_id);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);
  bastion_aws_ssm_call_async (self->aws, "ResumeSession", self->instance_id, body,
                              self->cancellable, on_resumed, g_object_ref (self));
}

/* The WebSocket to STREAM_URL, then OpenDataChannelInput with TOKEN (taken, wiped after use). */
static void
open_data_channel (BastionSsmSession *self,
                   const char        *url,
                   char              *token)
{
  g_autoptr(SoupMessage) msg = NULL;

  g_object_set_data_full (G_OBJECT (self), "token", token, g_free);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                                       _("AWS answered StartSession with a StreamUrl Bastion "
                                         "cannot open.")));
      return;
    }
  soup_session_websocket_connect_async (self->soup, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->cancellable, on_ws_connected,
                                        g_object_ref (self));
}

static void
forward_cancel (GCancellable *cancellable,
                gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

void
bastion_ssm_session_connect_async (BastionSsmSession  *self,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autofree char *port = NULL;

  g_return_if_fail (BASTION_IS_SSM_SESSION (self));
  g_return_if_fail (self->connect_task == NULL && self->session_id == NULL);

  self->connect_task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->connect_task, bastion_ssm_session_connect_async);
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                           g_object_ref (self->cancellable), g_object_unref);

  port = g_strdup_printf ("%u", self->db_port);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Target");
  json_builder_add_string_value (b, self->instance_id);
  json_builder_set_member_name (b, "DocumentName");
  json_builder_add_string_value (b, "AWS-StartPortForwardingSessionToRemoteHost");
  json_builder_set_member_name (b, "Parameters");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "host");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, self->db_host);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "portNumber");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, port);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);

  self->handshake_timeout_id = bastion_source_add_timeout (self->context,
                                                           HANDSHAKE_TIMEOUT * 1000,
                                                           on_handshake_timeout, self);
  bastion_aws_ssm_call_async (self->aws, "StartSession", self->instance_id, body,
                              self->cancellable, on_session_started, g_object_ref (self));
}

gboolean
bastion_ssm_session_connect_finish (BastionSsmSession  *self,
                                    GAsyncResult       *result,
                                    GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
bastion_ssm_session_add_client (BastionSsmSession  *self,
                                GIOStream          *connection,
                                GError            **error)
{
  Stream *stream;

  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), FALSE);
  g_return_val_if_fail (G_IS_IO_STREAM (connection), FALSE);

  if (!self->connected || self->closed)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                   _("The Session Manager session is not connected."));
      return FALSE;
    }
  if (!self->multiplexed)
    {
      if (self->raw != NULL)
        {
          g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_ONE_CLIENT,
                       _("The bastion’s SSM agent (version %s) carries one connection at a "
                         "time, and one is open. Close the other client, or update the agent "
                         "(amazon-ssm-agent 3.0.222.0 or later multiplexes)."),
                       self->agent_version);
          return FALSE;
        }
      self->raw = bastion_ssm_stream_new (self, 0, connection);
      bastion_ssm_stream_read (self->raw);
      return TRUE;
    }
  stream = bastion_ssm_stream_new (self, self->next_sid, connection);
  self->next_sid += 2;
  g_hash_table_insert (self->streams, GUINT_TO_POINTER (stream->sid), stream);
  bastion_ssm_session_send_smux (self, BASTION_SMUX_SYN, stream->sid, NULL, 0);
  bastion_ssm_stream_read (stream);
  return TRUE;
}

/* Object ------------------------------------------------------------------------------------ */

BastionSsmSession *
bastion_ssm_session_new (BastionAws *aws,
                         const char *instance_id,
                         const char *db_host,
                         guint16     db_port)
{
  BastionSsmSession *self;

  g_return_val_if_fail (BASTION_IS_AWS (aws), NULL);
  g_return_val_if_fail (instance_id != NULL && db_host != NULL, NULL);

  self = g_object_new (BASTION_TYPE_SSM_SESSION, NULL);
  self->aws = g_object_ref (aws);
  self->instance_id = g_strdup (instance_id);
  self->db_host = g_strdup (db_host);
  self->db_port = db_port;
  return self;
}

static void
bastion_ssm_session_dispose (GObject *object)
{
  BastionSsmSession *self = BASTION_SSM_SESSION (object);

  if (!self->closed && self->session_id != NULL)
    bastion_ssm_session_close (self);
  bastion_source_clear (self->context, &self->resend_id);
  bastion_source_clear (self->context, &self->handshake_timeout_id);
  if (self->ws != NULL)
    g_signal_handlers_disconnect_by_data (self->ws, self);
  g_clear_object (&self->ws);
  g_clear_object (&self->soup);
  g_clear_object (&self->aws);

  G_OBJECT_CLASS (bastion_ssm_session_parent_class)->dispose (object);
}

static void
bastion_ssm_session_finalize (GObject *object)
{
  BastionSsmSession *self = BASTION_SSM_SESSION (object);

  g_clear_pointer (&self->streams, g_hash_table_unref);
  if (self->raw != NULL)
    bastion_ssm_stream_unref (self->raw);
  g_queue_clear_full (&self->unacked, (GDestroyNotify) bastion_ssm_out_msg_free);
  g_clear_pointer (&self->early, g_hash_table_unref);
  g_clear_pointer (&self->smux, bastion_smux_reader_free);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->instance_id);
  g_free (self->db_host);
  g_free (self->session_id);
  g_free (self->agent_version);
  g_clear_error (&self->resume_error);

  G_OBJECT_CLASS (bastion_ssm_session_parent_class)->finalize (object);
}

static void
bastion_ssm_session_class_init (BastionSsmSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_ssm_session_dispose;
  object_class->finalize = bastion_ssm_session_finalize;

  /* The session ended (the service closed it, the network dropped, a protocol error, or
   * bastion_ssm_session_close()). The argument says why. */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
bastion_ssm_session_init (BastionSsmSession *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = g_cancellable_new ();
  self->soup = soup_session_new_with_options ("timeout", 30, "idle-timeout", 0,
                                              "user-agent", "bastion/" PACKAGE_VERSION, NULL);
  self->smux = bastion_smux_reader_new ();
  self->streams = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) bastion_ssm_stream_unref);
  self->early = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify) g_bytes_unref);
  g_queue_init (&self->unacked);
  self->next_sid = 1;
}

gboolean
bastion_ssm_session_is_connected (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), FALSE);
  return self->connected && !self->closed;
}

gboolean
bastion_ssm_session_is_multiplexed (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), FALSE);
  return self->multiplexed;
}

const char *
bastion_ssm_session_get_session_id (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), NULL);
  return self->session_id;
}

const char *
bastion_ssm_session_get_agent_version (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), NULL);
  return self->agent_version;
}

guint
bastion_ssm_session_get_n_clients (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return g_hash_table_size (self->streams) + (self->raw != NULL ? 1 : 0);
}

guint64
bastion_ssm_session_get_bytes_in (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->bytes_in;
}

guint64
bastion_ssm_session_get_bytes_out (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->bytes_out;
}

guint
bastion_ssm_session_get_resends (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->resends;
}

guint
bastion_ssm_session_get_bad_frames (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->bad_frames;
}

gint64
bastion_ssm_session_get_rtt (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->srtt_us;
}

guint
bastion_ssm_session_get_resumes (BastionSsmSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSM_SESSION (self), 0);
  return self->resumes;
}
