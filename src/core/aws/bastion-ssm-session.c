/* bastion-ssm-session.c
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
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bastion-bounded-file.h"
#include "bastion-io-thread.h"
#include "bastion-smux.h"
#include "bastion-ssm-session.h"

#define WINDOW            256                 /* input messages in flight */
#define READ_CHUNK        (1024 - BASTION_SMUX_HEADER_SIZE)  /* as the AWS plugin sends */
#define MAX_EARLY         1024                /* out-of-order messages kept … */
#define MAX_EARLY_BYTES   (8 * 1024 * 1024)   /* … and their bytes */
#define MAX_PENDING_WRITE (16 * 1024 * 1024)  /* bytes queued towards one local client */
#define ACK_GIVE_UP_US    (60 * G_USEC_PER_SEC)
#define HANDSHAKE_TIMEOUT 30                  /* seconds */
#define MAX_REPLY         (64 * 1024)

typedef struct
{
  gint64  seq;
  GBytes *frame;
  gint64  first_sent;     /* 0: not sent yet (paused) */
  gint64  sent_at;
  guint   resent : 1;
} OutMsg;

typedef struct
{
  BastionSsmSession *session;   /* unowned: the session frees its streams first */
  guint32            sid;
  GIOStream         *conn;
  GCancellable      *cancellable;
  GQueue             writes;    /* GBytes */
  gsize              queued;
  guint              reading : 1;
  guint              writing : 1;
  guint              blocked : 1;
  guint              remote_fin : 1;
  guint              gone : 1;
} Stream;

struct _BastionSsmSession
{
  GObject             parent_instance;

  /* Owned */
  GMainContext       *context;       /* the thread-default one at creation: every source */
  BastionAws         *aws;
  char               *instance_id;
  char               *db_host;
  guint16             db_port;
  char               *session_id;
  char               *agent_version;
  SoupSession        *soup;
  SoupWebsocketConnection *ws;
  GTask              *connect_task;
  GCancellable       *cancellable;
  BastionSmuxReader  *smux;
  GHashTable         *streams;       /* sid → Stream (mux) */
  Stream             *raw;           /* an old agent's one client */
  GQueue              unacked;       /* OutMsg, in sequence order */
  GHashTable         *early;         /* seq → GBytes frame */
  gsize               early_bytes;
  guint               resend_id;
  guint               handshake_timeout_id;

  gint64              out_seq;
  gint64              expected_in;
  gint64              srtt_us;
  guint32             next_sid;
  guint64             bytes_in;
  guint64             bytes_out;
  guint               resends;
  guint               bad_frames;

  guint               paused : 1;
  guint               multiplexed : 1;
  guint               connected : 1;
  guint               closed : 1;
  guint               terminated : 1;
};

G_DEFINE_FINAL_TYPE (BastionSsmSession, bastion_ssm_session, G_TYPE_OBJECT)

enum
{
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void session_fail (BastionSsmSession *self, GError *error);
static void stream_read (Stream *stream);
static void stream_close (Stream *stream, gboolean send_fin);

static void
out_msg_free (OutMsg *msg)
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

static void
stream_unref (Stream *stream)
{
  g_rc_box_release_full (stream, (GDestroyNotify) stream_clear);
}

static Stream *
stream_new (BastionSsmSession *self,
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

static void
send_smux (BastionSsmSession *self,
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
    stream_read (self->raw);
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream) && window_open (self))
    if (stream->blocked)
      stream_read (stream);
}

static gboolean
on_resend_tick (gpointer user_data)
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
          session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
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

static void
remove_stream (Stream *stream)
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
      stream_unref (stream);
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
        send_smux (self, BASTION_SMUX_FIN, stream->sid, NULL, 0);
      else
        {
          guint8 flag[4] = { 0, 0, 0, BASTION_SSM_FLAG_DISCONNECT_TO_PORT };

          send_input (self, BASTION_SSM_PAYLOAD_FLAG, flag, sizeof flag);
        }
    }
  remove_stream (stream);
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
      stream_unref (stream);
      return;
    }
  if (data == NULL || g_bytes_get_size (data) == 0)
    {
      g_debug ("SSM stream %u: the local client closed (%s)", stream->sid,
               error ? error->message : "end of stream");
      stream_close (stream, TRUE);
      stream_unref (stream);
      return;
    }
  self->bytes_out += g_bytes_get_size (data);
  if (self->multiplexed)
    send_smux (self, BASTION_SMUX_PSH, stream->sid, g_bytes_get_data (data, NULL),
               g_bytes_get_size (data));
  else
    send_input_bytes (self, BASTION_SSM_PAYLOAD_OUTPUT, data);
  stream_read (stream);
  stream_unref (stream);
}

static void
stream_read (Stream *stream)
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
      stream_unref (stream);
      return;
    }
  g_bytes_unref (g_queue_pop_head (&stream->writes));
  stream_write_next (stream);
  stream_unref (stream);
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
        remove_stream (stream);
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
      out_msg_free (out);
      break;
    }
  bastion_ssm_ack_clear (&ack);
  unblock_streams (self);
}

static void
complete_connect (BastionSsmSession *self,
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
      session_fail (self, g_steal_pointer (&error));
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
      session_fail (self, g_steal_pointer (&error));
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
    session_fail (self, g_steal_pointer (&error));
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
            session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_PROTOCOL,
                                             _("The bastion’s SSM agent completed a handshake "
                                               "it never started.")));
            return;
          }
        if (!bastion_ssm_handshake_complete_parse (msg->payload, msg->payload_length, &done,
                                                   &error))
          {
            session_fail (self, g_steal_pointer (&error));
            return;
          }
        bastion_ssm_handshake_complete_clear (&done);
        self->connected = TRUE;
        complete_connect (self, NULL);
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
      session_fail (self, g_steal_pointer (&error));
      return;
    }
  self->terminated = TRUE;   /* the service ended it already */
  session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                   _("AWS Session Manager closed the session: %s"),
                                   closed.output[0] ? closed.output : _("no reason given")));
  bastion_ssm_channel_closed_clear (&closed);
}

static void
on_ws_message (SoupWebsocketConnection *ws,
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

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  BastionSsmSession *self = user_data;

  session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                   _("The Session Manager data channel closed (WebSocket code "
                                     "%u).")
                                   , soup_websocket_connection_get_close_code (ws)));
}

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

static void
session_fail (BastionSsmSession *self,
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
    remove_stream (self->raw);
  streams = g_hash_table_get_values (self->streams);
  for (GList *l = streams; l != NULL; l = l->next)
    remove_stream (l->data);
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  terminate_session (self);
  complete_connect (self, g_error_copy (error));
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, error);
  g_object_unref (self);
}

void
bastion_ssm_session_close (BastionSsmSession *self)
{
  g_return_if_fail (BASTION_IS_SSM_SESSION (self));

  session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_STOPPED,
                                   _("The Session Manager session was closed.")));
}

/* Connecting -------------------------------------------------------------------------------- */

static gboolean
on_handshake_timeout (gpointer user_data)
{
  BastionSsmSession *self = user_data;

  self->handshake_timeout_id = 0;
  session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_PROTOCOL,
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
        session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_CLOSED,
                                         _("Could not open the Session Manager data channel: "
                                           "%s. Check your network connection."),
                                         error ? error->message : ""));
      return;
    }
  soup_websocket_connection_set_max_incoming_payload_size (
    self->ws, BASTION_SSM_FRAME_OVERHEAD + BASTION_SSM_MAX_PAYLOAD);
  soup_websocket_connection_set_keepalive_interval (self->ws, 60);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_ws_closed), self);

  client_id = g_uuid_string_random ();
  open = bastion_ssm_open_data_channel_build (token, client_id, PACKAGE_VERSION);
  explicit_bzero (token, strlen (token));
  g_free (token);
  soup_websocket_connection_send_text (self->ws, open);
  explicit_bzero (open, strlen (open));
  self->resend_id = bastion_source_add_timeout (self->context, 100, on_resend_tick, self);
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

static void
on_session_started (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(BastionSsmSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;
  char *token = NULL;

  reply = bastion_aws_ssm_call_finish (BASTION_AWS (object), result, &error);
  if (self->closed)
    return;
  if (reply == NULL)
    {
      self->terminated = TRUE;
      session_fail (self, g_steal_pointer (&error));
      return;
    }
  if (!parse_start_reply (self, reply, &url, &token, &error))
    {
      session_fail (self, g_steal_pointer (&error));
      return;
    }
  g_debug ("SSM: session %s started", self->session_id);
  g_object_set_data_full (G_OBJECT (self), "token", token, g_free);
  msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      session_fail (self, g_error_new (BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
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
      self->raw = stream_new (self, 0, connection);
      stream_read (self->raw);
      return TRUE;
    }
  stream = stream_new (self, self->next_sid, connection);
  self->next_sid += 2;
  g_hash_table_insert (self->streams, GUINT_TO_POINTER (stream->sid), stream);
  send_smux (self, BASTION_SMUX_SYN, stream->sid, NULL, 0);
  stream_read (stream);
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
    stream_unref (self->raw);
  g_queue_clear_full (&self->unacked, (GDestroyNotify) out_msg_free);
  g_clear_pointer (&self->early, g_hash_table_unref);
  g_clear_pointer (&self->smux, bastion_smux_reader_free);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->instance_id);
  g_free (self->db_host);
  g_free (self->session_id);
  g_free (self->agent_version);

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
  self->streams = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) stream_unref);
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
