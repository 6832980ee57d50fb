/* bastion-ssm-session-data.c: a Session Manager session's data channel
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both directions are sequence-numbered. Ours: every input_stream_data stays in `unacked` until
 * the agent acknowledges it, is resent after the retransmission timeout (twice the smoothed
 * round trip plus 200 ms, between 300 ms and 5 s), and the session fails when one waits 60 s.
 * At most WINDOW messages are in flight: beyond that, local clients are not read (back-pressure),
 * nor while the service paused publication. Theirs: every valid output_stream_data is
 * acknowledged; it is delivered only in sequence order (later ones wait, bounded; earlier ones
 * are duplicates). Frames failing decoding (length, digest) are dropped unacknowledged, so the
 * agent resends them.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-io-thread.h"
#include "bastion-ssm-session-private.h"

static void stream_close (Stream *stream, gboolean send_fin);

void
bastion_ssm_out_msg_free (OutMsg *msg)
{
  g_bytes_unref (msg->frame);
  g_free (msg);
}

/* Streams: ref-counted, each pending I/O call holds one reference --------------------------- */

static void
stream_clear (Stream *stream)
{
  g_queue_clear_full (&stream->writes, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&stream->conn);
  g_clear_object (&stream->cancellable);
}

static Stream *
stream_ref (Stream *stream)
{
  return g_rc_box_acquire (stream);
}

void
bastion_ssm_stream_unref (Stream *stream)
{
  g_rc_box_release_full (stream, (GDestroyNotify) stream_clear);
}

Stream *
bastion_ssm_stream_new (BastionSsmSession *self,
            guint32            sid,
            GIOStream         *conn)
{
  Stream *stream = g_rc_box_new0 (Stream);

  stream->session = self;
  stream->sid = sid;
  stream->conn = g_object_ref (conn);
  stream->cancellable = g_cancellable_new ();
  g_queue_init (&stream->writes);
  return stream;
}

/* Sending ----------------------------------------------------------------------------------- */

static gboolean
can_send (BastionSsmSession *self)
{
  return self->ws != NULL && !self->closed &&
         soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

static void
transmit (BastionSsmSession *self,
          OutMsg            *msg)
{
  gint64 now = g_get_monotonic_time ();

  if (!can_send (self))
    return;
  soup_websocket_connection_send_binary (self->ws, g_bytes_get_data (msg->frame, NULL),
                                         g_bytes_get_size (msg->frame));
  if (msg->first_sent == 0)
    msg->first_sent = now;
  msg->sent_at = now;
}

static void
send_input (BastionSsmSession *self,
            guint32            payload_type,
            const guint8      *payload,
            gsize              length)
{
  BastionSsmMessage msg;
  OutMsg *out = g_new0 (OutMsg, 1);

  bastion_ssm_message_init (&msg, BASTION_SSM_TYPE_INPUT, self->out_seq++, payload_type,
                            payload, length);
  out->seq = msg.sequence_number;
  out->frame = bastion_ssm_message_encode (&msg);
  g_queue_push_tail (&self->unacked, out);
  if (!self->paused)
    transmit (self, out);
}

static void
send_input_bytes (BastionSsmSession *self,
                  guint32            payload_type,
                  GBytes            *payload)
{
  send_input (self, payload_type, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
}

void
bastion_ssm_session_send_smux (BastionSsmSession *self,
           guint8             cmd,
           guint32            sid,
           const guint8      *data,
           gsize              length)
{
  g_autoptr(GBytes) frame = bastion_smux_frame_build (cmd, sid, data, length);

  send_input_bytes (self, BASTION_SSM_PAYLOAD_OUTPUT, frame);
}

static gboolean
window_open (BastionSsmSession *self)
{
  return !self->paused && !self->closed && self->unacked.length < WINDOW;
}

static void
unblock_streams (BastionSsmSession *self)
{
  GHashTableIter iter;
  Stream *stream;

  if (!window_open (self))
    return;
  if (self->raw != NULL && self->raw->blocked)
    bastion_ssm_stream_read (self->raw);
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream) && window_open (self))
    if (stream->blocked)
      bastion_ssm_stream_read (stream);
}

gboolean
bastion_ssm_session_resend_tick (gpointer user_data)
{
  BastionSsmSession *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 rto = CLAMP (2 * self->srtt_us + 200 * 1000, 300 * 1000, 5 * G_USEC_PER_SEC);

  if (self->paused)
    return G_SOURCE_CONTINUE;
  for (GList *l = self->unacked.head; l != NULL; l = l->next)
    {
      OutMsg *msg = l->data;

      if (msg->first_sent == 0)
        transmit (self, msg);
      else if (now - msg->first_sent > ACK_GIVE_UP_US)
        {
          self->resend_id = 0;
          bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                           _("The bastion’s SSM agent acknowledged nothing for "
                                             "%d seconds; the session is closed."),
                                           (int) (ACK_GIVE_UP_US / G_USEC_PER_SEC)));
          return G_SOURCE_REMOVE;
        }
      else if (now - msg->sent_at > rto)
        {
          msg->resent = TRUE;
          self->resends++;
          transmit (self, msg);
        }
    }
  return G_SOURCE_CONTINUE;
}

/* Local clients ----------------------------------------------------------------------------- */

void
bastion_ssm_stream_remove (Stream *stream)
{
  BastionSsmSession *self = stream->session;

  if (stream->gone)
    return;
  stream->gone = TRUE;
  g_cancellable_cancel (stream->cancellable);
  g_io_stream_close_async (stream->conn, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (self->raw == stream)
    {
      self->raw = NULL;
      bastion_ssm_stream_unref (stream);
    }
  else
    g_hash_table_remove (self->streams, GUINT_TO_POINTER (stream->sid));
}

static void
stream_close (Stream  *stream,
              gboolean send_fin)
{
  BastionSsmSession *self = stream->session;

  if (stream->gone)
    return;
  if (send_fin && !self->closed)
    {
      if (self->multiplexed)
        bastion_ssm_session_send_smux (self, BASTION_SMUX_FIN, stream->sid, NULL, 0);
      else
        {
          guint8 flag[4] = { 0, 0, 0, BASTION_SSM_FLAG_DISCONNECT_TO_PORT };

          send_input (self, BASTION_SSM_PAYLOAD_FLAG, flag, sizeof flag);
        }
    }
  bastion_ssm_stream_remove (stream);
}

static void
on_stream_read (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Stream *stream = user_data;
  BastionSsmSession *self = stream->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;

  data = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  stream->reading = FALSE;
  if (stream->gone)
    {
      bastion_ssm_stream_unref (stream);
      return;
    }
  if (data == NULL || g_bytes_get_size (data) == 0)
    {
      g_debug ("SSM stream %u: the local client closed (%s)", stream->sid,
               error ? error->message : "end of stream");
      stream_close (stream, TRUE);
      bastion_ssm_stream_unref (stream);
      return;
    }
  self->bytes_out += g_bytes_get_size (data);
  if (self->multiplexed)
    bastion_ssm_session_send_smux (self, BASTION_SMUX_PSH, stream->sid, g_bytes_get_data (data, NULL),
               g_bytes_get_size (data));
  else
    send_input_bytes (self, BASTION_SSM_PAYLOAD_OUTPUT, data);
  bastion_ssm_stream_read (stream);
  bastion_ssm_stream_unref (stream);
}

void
bastion_ssm_stream_read (Stream *stream)
{
  BastionSsmSession *self = stream->session;

  stream->blocked = FALSE;
  if (stream->reading || stream->gone)
    return;
  if (!window_open (self))
    {
      stream->blocked = TRUE;
      return;
    }
  stream->reading = TRUE;
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (stream->conn), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, stream->cancellable, on_stream_read,
                                   stream_ref (stream));
}

static void stream_write_next (Stream *stream);

static void
on_stream_written (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Stream *stream = user_data;
  g_autoptr(GError) error = NULL;

  stream->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      if (!stream->gone)
        stream_close (stream, TRUE);
      bastion_ssm_stream_unref (stream);
      return;
    }
  g_bytes_unref (g_queue_pop_head (&stream->writes));
  stream_write_next (stream);
  bastion_ssm_stream_unref (stream);
}

static void
stream_write_next (Stream *stream)
{
  GBytes *next;

  if (stream->writing || stream->gone)
    return;
  next = g_queue_peek_head (&stream->writes);
  if (next == NULL)
    {
      if (stream->remote_fin)
        bastion_ssm_stream_remove (stream);
      return;
    }
  stream->queued -= g_bytes_get_size (next);
  stream->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream->conn),
                                   g_bytes_get_data (next, NULL), g_bytes_get_size (next),
                                   G_PRIORITY_DEFAULT, stream->cancellable, on_stream_written,
                                   stream_ref (stream));
}

static void
stream_write (Stream *stream,
              GBytes *data)
{
  if (stream->gone || stream->remote_fin)
    return;
  if (stream->queued + g_bytes_get_size (data) > MAX_PENDING_WRITE)
    {
      g_debug ("SSM stream %u: the local client does not read; closing it", stream->sid);
      stream_close (stream, TRUE);
      return;
    }
  stream->queued += g_bytes_get_size (data);
  g_queue_push_tail (&stream->writes, g_bytes_ref (data));
  stream_write_next (stream);
}

/* Receiving --------------------------------------------------------------------------------- */

static void
send_ack (BastionSsmSession       *self,
          const BastionSsmMessage *acked)
{
  g_autoptr(GBytes) content = bastion_ssm_ack_build (acked);
  BastionSsmMessage msg;
  g_autoptr(GBytes) frame = NULL;

  bastion_ssm_message_init (&msg, BASTION_SSM_TYPE_ACK, 0, BASTION_SSM_PAYLOAD_NONE,
                            g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  frame = bastion_ssm_message_encode (&msg);
  if (can_send (self))
    soup_websocket_connection_send_binary (self->ws, g_bytes_get_data (frame, NULL),
                                           g_bytes_get_size (frame));
}

static void
handle_ack (BastionSsmSession       *self,
            const BastionSsmMessage *msg)
{
  BastionSsmAck ack = { NULL };
  g_autoptr(GError) error = NULL;

  if (!bastion_ssm_ack_parse (msg->payload, msg->payload_length, &ack, &error))
    {
      g_debug ("SSM: ignoring an acknowledgement: %s", error->message);
      self->bad_frames++;
      return;
    }
  for (GList *l = self->unacked.head; l != NULL; l = l->next)
    {
      OutMsg *out = l->data;

      if (out->seq != ack.sequence_number)
        continue;
      if (!out->resent && out->first_sent != 0)
        {
          gint64 rtt = g_get_monotonic_time () - out->first_sent;

          self->srtt_us = self->srtt_us == 0 ? rtt : (7 * self->srtt_us + rtt) / 8;
        }
      g_queue_delete_link (&self->unacked, l);
      bastion_ssm_out_msg_free (out);
      break;
    }
  bastion_ssm_ack_clear (&ack);
  unblock_streams (self);
}

void
bastion_ssm_session_complete_connect (BastionSsmSession *self,
                  GError            *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

  bastion_source_clear (self->context, &self->handshake_timeout_id);
  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
handle_handshake_request (BastionSsmSession       *self,
                          const BastionSsmMessage *msg)
{
  BastionSsmHandshakeRequest req = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) response = NULL;

  if (!bastion_ssm_handshake_request_parse (msg->payload, msg->payload_length, &req, &error))
    {
      bastion_ssm_session_fail (self, g_steal_pointer (&error));
      return;
    }
  g_free (self->agent_version);
  self->agent_version = g_strdup (req.agent_version);
  self->multiplexed = bastion_ssm_agent_supports_mux (req.agent_version);
  g_debug ("SSM: agent %s, session type %s, %s", req.agent_version,
           req.session_type ? req.session_type : "(none)",
           self->multiplexed ? "multiplexed" : "one connection at a time");
  response = bastion_ssm_handshake_response_build (&req, PACKAGE_VERSION);
  send_input_bytes (self, BASTION_SSM_PAYLOAD_HANDSHAKE_RESPONSE, response);
  bastion_ssm_handshake_request_clear (&req);
}

static void
handle_smux_bytes (BastionSsmSession *self,
                   const guint8      *data,
                   gsize              length)
{
  g_autoptr(GError) error = NULL;
  BastionSmuxHeader header;
  GBytes *payload = NULL;

  if (!bastion_smux_reader_push (self->smux, data, length, &error))
    {
      bastion_ssm_session_fail (self, g_steal_pointer (&error));
      return;
    }
  while (bastion_smux_reader_next (self->smux, &header, &payload, &error))
    {
      Stream *stream = g_hash_table_lookup (self->streams, GUINT_TO_POINTER (header.stream_id));

      if (stream != NULL && header.cmd == BASTION_SMUX_PSH && payload != NULL)
        stream_write (stream, payload);
      else if (stream != NULL && header.cmd == BASTION_SMUX_FIN)
        {
          stream->remote_fin = TRUE;
          stream_write_next (stream);
        }
      g_clear_pointer (&payload, g_bytes_unref);
    }
  if (error != NULL)
    bastion_ssm_session_fail (self, g_steal_pointer (&error));
}

static void
deliver (BastionSsmSession       *self,
         const BastionSsmMessage *msg)
{
  switch (msg->payload_type)
    {
    case BASTION_SSM_PAYLOAD_HANDSHAKE_REQUEST:
      if (!self->connected)
        handle_handshake_request (self, msg);
      break;
    case BASTION_SSM_PAYLOAD_HANDSHAKE_COMPLETE:
      {
        BastionSsmHandshakeComplete done = { NULL };
        g_autoptr(GError) error = NULL;

        if (self->agent_version == NULL)
          {
            bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_PROTOCOL,
                                             _("The bastion’s SSM agent completed a handshake "
                                               "it never started.")));
            return;
          }
        if (!bastion_ssm_handshake_complete_parse (msg->payload, msg->payload_length, &done,
                                                   &error))
          {
            bastion_ssm_session_fail (self, g_steal_pointer (&error));
            return;
          }
        bastion_ssm_handshake_complete_clear (&done);
        self->connected = TRUE;
        bastion_ssm_session_complete_connect (self, NULL);
      }
      break;
    case BASTION_SSM_PAYLOAD_OUTPUT:
      if (!self->connected)
        break;
      self->bytes_in += msg->payload_length;
      if (self->multiplexed)
        handle_smux_bytes (self, msg->payload, msg->payload_length);
      else if (self->raw != NULL)
        {
          g_autoptr(GBytes) data = g_bytes_new (msg->payload, msg->payload_length);

          stream_write (self->raw, data);
        }
      break;
    case BASTION_SSM_PAYLOAD_FLAG:
      /* DisconnectToPort or ConnectToPortError: the agent lost the database connection. */
      if (self->raw != NULL)
        {
          self->raw->remote_fin = TRUE;
          stream_write_next (self->raw);
        }
      break;
    default:
      g_debug ("SSM: ignoring payload type %u", msg->payload_type);
      break;
    }
}

static void
handle_output (BastionSsmSession       *self,
               const BastionSsmMessage *msg,
               GBytes                  *frame)
{
  send_ack (self, msg);
  if (msg->sequence_number < self->expected_in)
    return;   /* a duplicate: acknowledged again, not delivered again */
  if (msg->sequence_number > self->expected_in)
    {
      /* Beyond the bounds it is dropped, as if lost: the agent resends it. */
      if (msg->sequence_number - self->expected_in <= MAX_EARLY &&
          g_hash_table_size (self->early) < MAX_EARLY &&
          self->early_bytes + g_bytes_get_size (frame) <= MAX_EARLY_BYTES &&
          !g_hash_table_contains (self->early, &msg->sequence_number))
        {
          self->early_bytes += g_bytes_get_size (frame);
          g_hash_table_insert (self->early, g_memdup2 (&msg->sequence_number, sizeof (gint64)),
                               g_bytes_ref (frame));
        }
      return;
    }
  deliver (self, msg);
  self->expected_in++;
  while (!self->closed)
    {
      GBytes *next = g_hash_table_lookup (self->early, &self->expected_in);
      BastionSsmMessage later;

      if (next == NULL)
        break;
      g_bytes_ref (next);
      self->early_bytes -= g_bytes_get_size (next);
      g_hash_table_remove (self->early, &self->expected_in);
      if (bastion_ssm_message_decode (g_bytes_get_data (next, NULL), g_bytes_get_size (next),
                                      &later, NULL))
        deliver (self, &later);
      self->expected_in++;
      g_bytes_unref (next);
    }
}

static void
handle_channel_closed (BastionSsmSession       *self,
                       const BastionSsmMessage *msg)
{
  BastionSsmChannelClosed closed = { NULL };
  g_autoptr(GError) error = NULL;

  if (!bastion_ssm_channel_closed_parse (msg->payload, msg->payload_length, &closed, &error))
    {
      bastion_ssm_session_fail (self, g_steal_pointer (&error));
      return;
    }
  self->terminated = TRUE;   /* the service ended it already */
  bastion_ssm_session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                   _("AWS Session Manager closed the session: %s"),
                                   closed.output[0] ? closed.output : _("no reason given")));
  bastion_ssm_channel_closed_clear (&closed);
}

void
bastion_ssm_session_on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  g_autoptr(BastionSsmSession) self = g_object_ref (user_data);
  g_autoptr(GError) error = NULL;
  BastionSsmMessage msg;

  if (self->closed)
    return;
  if (type != SOUP_WEBSOCKET_DATA_BINARY ||
      !bastion_ssm_message_decode (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                                   &msg, &error))
    {
      self->bad_frames++;
      g_debug ("SSM: dropping a frame: %s", error ? error->message : "a text message");
      return;
    }
  if (g_str_equal (msg.message_type, BASTION_SSM_TYPE_ACK))
    handle_ack (self, &msg);
  else if (g_str_equal (msg.message_type, BASTION_SSM_TYPE_OUTPUT))
    handle_output (self, &msg, message);
  else if (g_str_equal (msg.message_type, BASTION_SSM_TYPE_CLOSED))
    handle_channel_closed (self, &msg);
  else if (g_str_equal (msg.message_type, BASTION_SSM_TYPE_PAUSE_PUB))
    self->paused = TRUE;
  else if (g_str_equal (msg.message_type, BASTION_SSM_TYPE_START_PUB))
    {
      self->paused = FALSE;
      for (GList *l = self->unacked.head; l != NULL; l = l->next)
        if (((OutMsg *) l->data)->first_sent == 0)
          transmit (self, l->data);
      unblock_streams (self);
    }
  else
    g_debug ("SSM: ignoring a %s message", msg.message_type);
}

void
bastion_ssm_session_on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  BastionSsmSession *self = user_data;
  GError *error = g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                               _("The Session Manager data channel closed (WebSocket code %u)."),
                               soup_websocket_connection_get_close_code (ws));

  /* A channel that dropped (not one the service closed: channel_closed came first then) may be
   * resumed: the agent keeps the session's streams, so connected clients carry on. */
  if (self->connected && !self->closed && self->resumes < MAX_RESUMES)
    bastion_ssm_session_resume (self, error);
  else
    bastion_ssm_session_fail (self, error);
}

