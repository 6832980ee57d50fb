/* bastion-ssm-message.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Frame layout (big-endian), learnt from the session-manager-plugin's documentation of its
 * ClientMessage:
 *
 *   0  header length (116)     4   message type, 32 bytes padded
 *   36 schema version          40  created date (ms)      48 sequence number
 *   56 flags                   64  message id (low 8 bytes of the UUID, then the high 8)
 *   80 SHA-256 of the payload  112 payload type           116 payload length
 *   120 payload
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-ssm-message.h"

G_DEFINE_QUARK (bastion-ssm-error-quark, bastion_ssm_error)

enum
{
  OFF_HL = 0,
  OFF_TYPE = 4,
  OFF_SCHEMA = 36,
  OFF_CREATED = 40,
  OFF_SEQ = 48,
  OFF_FLAGS = 56,
  OFF_ID = 64,
  OFF_DIGEST = 80,
  OFF_PTYPE = 112,
  OFF_PLEN = 116,
};

static guint32
get_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint64
get_u64 (const guint8 *p)
{
  return ((guint64) get_u32 (p) << 32) | get_u32 (p + 4);
}

static void
put_u32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
put_u64 (guint8 *p, guint64 v)
{
  put_u32 (p, v >> 32);
  put_u32 (p + 4, (guint32) v);
}

static gboolean
decode_type (const guint8 *p, char out[BASTION_SSM_TYPE_LENGTH + 1], GError **error)
{
  gsize end = BASTION_SSM_TYPE_LENGTH;

  while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\0'))
    end--;
  if (end == 0)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A Session Manager message has no message type"));
      return FALSE;
    }
  for (gsize i = 0; i < end; i++)
    if (p[i] < 0x21 || p[i] > 0x7e)
      {
        g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                     _("A Session Manager message type holds a byte that is not printable"));
        return FALSE;
      }
  memcpy (out, p, end);
  out[end] = '\0';
  return TRUE;
}

static void
payload_digest (const guint8 *payload, gsize length, guint8 digest[BASTION_SSM_DIGEST_LENGTH])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize len = BASTION_SSM_DIGEST_LENGTH;

  g_checksum_update (sum, payload, length);
  g_checksum_get_digest (sum, digest, &len);
}

static gboolean
check_lengths (const guint8 *data, gsize length, gsize *payload_offset, GError **error)
{
  guint32 header_length;
  guint32 payload_length;

  if (length < BASTION_SSM_FRAME_OVERHEAD)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A Session Manager message is too short (%zu bytes)"), (size_t) length);
      return FALSE;
    }
  header_length = get_u32 (data + OFF_HL);
  payload_length = get_u32 (data + OFF_PLEN);
  /* Only the layout Bastion knows: a longer header would move the payload-length field. */
  if (header_length != BASTION_SSM_HEADER_LENGTH)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A Session Manager message has an unknown header length (%u)"),
                   header_length);
      return FALSE;
    }
  if (payload_length > BASTION_SSM_MAX_PAYLOAD)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_TOO_LARGE,
                   _("A Session Manager message announces a payload of %u bytes, over the limit of %u"),
                   payload_length, (guint) BASTION_SSM_MAX_PAYLOAD);
      return FALSE;
    }
  if ((gsize) payload_length != length - BASTION_SSM_FRAME_OVERHEAD)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A Session Manager message announces %u payload bytes but carries %zu"),
                   payload_length, (size_t) (length - BASTION_SSM_FRAME_OVERHEAD));
      return FALSE;
    }
  *payload_offset = BASTION_SSM_FRAME_OVERHEAD;
  return TRUE;
}

gboolean
bastion_ssm_message_decode (const guint8       *data,
                            gsize               length,
                            BastionSsmMessage  *out,
                            GError            **error)
{
  gsize offset = 0;
  BastionSsmMessage msg = { { 0 } };

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (!check_lengths (data, length, &offset, error))
    return FALSE;
  if (!decode_type (data + OFF_TYPE, msg.message_type, error))
    return FALSE;

  msg.schema_version = get_u32 (data + OFF_SCHEMA);
  msg.created_date = get_u64 (data + OFF_CREATED);
  msg.sequence_number = (gint64) get_u64 (data + OFF_SEQ);
  msg.flags = get_u64 (data + OFF_FLAGS);
  memcpy (msg.message_id, data + OFF_ID + 8, 8);
  memcpy (msg.message_id + 8, data + OFF_ID, 8);
  msg.payload_type = get_u32 (data + OFF_PTYPE);
  msg.payload = data + offset;
  msg.payload_length = length - offset;

  if (msg.sequence_number < 0)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A Session Manager message has a negative sequence number"));
      return FALSE;
    }
  if (msg.payload_length > 0)
    {
      guint8 digest[BASTION_SSM_DIGEST_LENGTH];

      payload_digest (msg.payload, msg.payload_length, digest);
      if (memcmp (digest, data + OFF_DIGEST, sizeof digest) != 0)
        {
          g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_DIGEST,
                       _("A Session Manager message (%s, sequence %" G_GINT64_FORMAT ") failed its SHA-256 check"),
                       msg.message_type, msg.sequence_number);
          return FALSE;
        }
    }

  *out = msg;
  return TRUE;
}

GBytes *
bastion_ssm_message_encode (const BastionSsmMessage *msg)
{
  gsize type_len;
  guint8 *buf;
  gsize total;

  g_return_val_if_fail (msg != NULL, NULL);
  g_return_val_if_fail (msg->payload_length <= BASTION_SSM_MAX_PAYLOAD, NULL);
  type_len = strnlen (msg->message_type, BASTION_SSM_TYPE_LENGTH + 1);
  g_return_val_if_fail (type_len > 0 && type_len <= BASTION_SSM_TYPE_LENGTH, NULL);

  total = BASTION_SSM_FRAME_OVERHEAD + msg->payload_length;
  buf = g_malloc0 (total);
  put_u32 (buf + OFF_HL, BASTION_SSM_HEADER_LENGTH);
  memset (buf + OFF_TYPE, ' ', BASTION_SSM_TYPE_LENGTH);
  memcpy (buf + OFF_TYPE, msg->message_type, type_len);
  put_u32 (buf + OFF_SCHEMA, msg->schema_version);
  put_u64 (buf + OFF_CREATED, msg->created_date);
  put_u64 (buf + OFF_SEQ, (guint64) msg->sequence_number);
  put_u64 (buf + OFF_FLAGS, msg->flags);
  memcpy (buf + OFF_ID, msg->message_id + 8, 8);
  memcpy (buf + OFF_ID + 8, msg->message_id, 8);
  payload_digest (msg->payload, msg->payload_length, buf + OFF_DIGEST);
  put_u32 (buf + OFF_PTYPE, msg->payload_type);
  put_u32 (buf + OFF_PLEN, (guint32) msg->payload_length);
  if (msg->payload_length > 0)
    memcpy (buf + BASTION_SSM_FRAME_OVERHEAD, msg->payload, msg->payload_length);

  return g_bytes_new_take (buf, total);
}

void
bastion_ssm_message_init (BastionSsmMessage *msg,
                          const char        *message_type,
                          gint64             sequence_number,
                          guint32            payload_type,
                          const guint8      *payload,
                          gsize              payload_length)
{
  g_return_if_fail (msg != NULL);
  g_return_if_fail (strlen (message_type) <= BASTION_SSM_TYPE_LENGTH);

  memset (msg, 0, sizeof *msg);
  g_strlcpy (msg->message_type, message_type, sizeof msg->message_type);
  msg->schema_version = 1;
  msg->created_date = (guint64) (g_get_real_time () / 1000);
  msg->sequence_number = sequence_number;
  for (guint i = 0; i < 4; i++)
    {
      guint32 r = g_random_int ();
      memcpy (msg->message_id + i * 4, &r, 4);
    }
  msg->message_id[6] = (msg->message_id[6] & 0x0f) | 0x40;   /* version 4 */
  msg->message_id[8] = (msg->message_id[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
  msg->payload_type = payload_type;
  msg->payload = payload;
  msg->payload_length = payload_length;
}

char *
bastion_ssm_message_id_to_string (const guint8 id[16])
{
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7],
                          id[8], id[9], id[10], id[11], id[12], id[13], id[14], id[15]);
}

/* JSON payloads */

static JsonObject *
parse_json_object (const guint8  *payload,
                   gsize          length,
                   const char    *what,
                   JsonParser   **parser_out,
                   GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (length > BASTION_SSM_MAX_JSON_PAYLOAD)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_TOO_LARGE,
                   _("The Session Manager %s is too large (%zu bytes)"), what, (size_t) length);
      return NULL;
    }
  if (payload == NULL || length == 0)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                   _("The Session Manager %s is empty"), what);
      return NULL;
    }
  if (bastion_json_find_nul_escape ((const char *) payload, length) >= 0 ||
      memchr (payload, '\0', length) != NULL)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                   _("The Session Manager %s holds a NUL character"), what);
      return NULL;
    }
  if (!bastion_json_check_depth ((const char *) payload, length, BASTION_SSM_MAX_JSON_DEPTH,
                                 what, &local_error) ||
      !(parser = bastion_json_parse_bounded ((const char *) payload, length, what, &local_error)))
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                   _("The Session Manager %s is not usable: %s"), what, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                   _("The Session Manager %s is not a JSON object"), what);
      return NULL;
    }
  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

/* A string member, or NULL when missing or not a string. */
static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *obj, const char *name, gint64 *out)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
missing (const char *what, const char *field, GError **error)
{
  g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
               /* Translators: the payload, then the JSON field name */
               _("The Session Manager %s lacks a valid “%s”"), what, field);
  return FALSE;
}

static GBytes *
builder_to_bytes (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize len = 0;
  char *text;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

GBytes *
bastion_ssm_ack_build (const BastionSsmMessage *acked)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *id = NULL;

  g_return_val_if_fail (acked != NULL, NULL);

  id = bastion_ssm_message_id_to_string (acked->message_id);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "AcknowledgedMessageType");
  json_builder_add_string_value (b, acked->message_type);
  json_builder_set_member_name (b, "AcknowledgedMessageId");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "AcknowledgedMessageSequenceNumber");
  json_builder_add_int_value (b, acked->sequence_number);
  json_builder_set_member_name (b, "IsSequentialMessage");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  return builder_to_bytes (b);
}

gboolean
bastion_ssm_ack_parse (const guint8   *payload,
                       gsize           length,
                       BastionSsmAck  *out,
                       GError        **error)
{
  g_autoptr(JsonParser) parser = NULL;
  const char *what = _("acknowledgement");
  JsonObject *obj;
  const char *type, *id;
  gint64 seq = -1;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(obj = parse_json_object (payload, length, what, &parser, error)))
    return FALSE;
  if (!(type = member_string (obj, "AcknowledgedMessageType")))
    return missing (what, "AcknowledgedMessageType", error);
  if (!(id = member_string (obj, "AcknowledgedMessageId")))
    return missing (what, "AcknowledgedMessageId", error);
  if (!member_int (obj, "AcknowledgedMessageSequenceNumber", &seq) || seq < 0)
    return missing (what, "AcknowledgedMessageSequenceNumber", error);

  out->message_type = g_strdup (type);
  out->message_id = g_strdup (id);
  out->sequence_number = seq;
  return TRUE;
}

void
bastion_ssm_ack_clear (BastionSsmAck *ack)
{
  g_clear_pointer (&ack->message_type, g_free);
  g_clear_pointer (&ack->message_id, g_free);
}

/* Bounded: the agent asks for two actions at most today. */
#define MAX_ACTIONS 16

static gboolean
read_actions (JsonArray *actions, BastionSsmHandshakeRequest *req, const char *what, GError **error)
{
  g_autoptr(GStrvBuilder) types = g_strv_builder_new ();
  guint n = json_array_get_length (actions);

  if (n > MAX_ACTIONS)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD,
                   _("The Session Manager %s asks for %u actions, over the limit of %u"),
                   what, n, (guint) MAX_ACTIONS);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (actions, i);
      JsonObject *action;
      const char *type;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return missing (what, "RequestedClientActions", error);
      action = json_node_get_object (node);
      if (!(type = member_string (action, "ActionType")))
        return missing (what, "ActionType", error);
      g_strv_builder_add (types, type);
      if (g_str_equal (type, "SessionType") && req->session_type == NULL)
        {
          JsonNode *params = json_object_get_member (action, "ActionParameters");
          const char *session_type = NULL;

          if (params != NULL && JSON_NODE_HOLDS_OBJECT (params))
            session_type = member_string (json_node_get_object (params), "SessionType");
          if (session_type == NULL)
            return missing (what, "SessionType", error);
          req->session_type = g_strdup (session_type);
        }
    }
  req->action_types = g_strv_builder_end (types);
  return TRUE;
}

gboolean
bastion_ssm_handshake_request_parse (const guint8                *payload,
                                     gsize                        length,
                                     BastionSsmHandshakeRequest  *out,
                                     GError                     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  BastionSsmHandshakeRequest req = { NULL };
  const char *what = _("handshake request");
  JsonObject *obj;
  JsonNode *actions;
  const char *version;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(obj = parse_json_object (payload, length, what, &parser, error)))
    return FALSE;
  if (!(version = member_string (obj, "AgentVersion")) || strlen (version) > 64)
    return missing (what, "AgentVersion", error);
  actions = json_object_get_member (obj, "RequestedClientActions");
  if (actions == NULL || !JSON_NODE_HOLDS_ARRAY (actions))
    return missing (what, "RequestedClientActions", error);
  if (!read_actions (json_node_get_array (actions), &req, what, error))
    {
      bastion_ssm_handshake_request_clear (&req);
      return FALSE;
    }
  req.agent_version = g_strdup (version);
  *out = req;
  return TRUE;
}

void
bastion_ssm_handshake_request_clear (BastionSsmHandshakeRequest *req)
{
  g_clear_pointer (&req->agent_version, g_free);
  g_clear_pointer (&req->session_type, g_free);
  g_clear_pointer (&req->action_types, g_strfreev);
}

GBytes *
bastion_ssm_handshake_response_build (const BastionSsmHandshakeRequest *req,
                                      const char                       *client_version)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (req != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ClientVersion");
  json_builder_add_string_value (b, client_version);
  json_builder_set_member_name (b, "ProcessedClientActions");
  json_builder_begin_array (b);
  for (guint i = 0; req->action_types != NULL && req->action_types[i] != NULL; i++)
    {
      const char *type = req->action_types[i];
      gboolean ok = g_str_equal (type, "SessionType");

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ActionType");
      json_builder_add_string_value (b, type);
      json_builder_set_member_name (b, "ActionStatus");
      json_builder_add_int_value (b, ok ? 1 : 3);
      json_builder_set_member_name (b, "ActionResult");
      json_builder_add_null_value (b);
      json_builder_set_member_name (b, "Error");
      if (ok)
        json_builder_add_string_value (b, "");
      else
        {
          char *msg = g_strdup_printf ("Unsupported action %s", type);
          json_builder_add_string_value (b, msg);
          g_ptr_array_add (errors, msg);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "Errors");
  json_builder_begin_array (b);
  for (guint i = 0; i < errors->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (errors, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return builder_to_bytes (b);
}

gboolean
bastion_ssm_handshake_complete_parse (const guint8                 *payload,
                                      gsize                         length,
                                      BastionSsmHandshakeComplete  *out,
                                      GError                      **error)
{
  g_autoptr(JsonParser) parser = NULL;
  const char *what = _("handshake completion");
  JsonObject *obj;
  const char *message;
  gint64 ns = 0;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(obj = parse_json_object (payload, length, what, &parser, error)))
    return FALSE;
  if (json_object_has_member (obj, "HandshakeTimeToComplete") &&
      !member_int (obj, "HandshakeTimeToComplete", &ns))
    return missing (what, "HandshakeTimeToComplete", error);
  message = member_string (obj, "CustomerMessage");
  if (message != NULL && strlen (message) > 4096)
    return missing (what, "CustomerMessage", error);
  out->customer_message = (message != NULL && *message != '\0') ? g_strdup (message) : NULL;
  out->time_to_complete_ns = ns;
  return TRUE;
}

void
bastion_ssm_handshake_complete_clear (BastionSsmHandshakeComplete *done)
{
  g_clear_pointer (&done->customer_message, g_free);
}

gboolean
bastion_ssm_channel_closed_parse (const guint8             *payload,
                                  gsize                     length,
                                  BastionSsmChannelClosed  *out,
                                  GError                  **error)
{
  g_autoptr(JsonParser) parser = NULL;
  const char *what = _("channel_closed message");
  JsonObject *obj;
  const char *session_id, *output;

  g_return_val_if_fail (out != NULL, FALSE);

  if (!(obj = parse_json_object (payload, length, what, &parser, error)))
    return FALSE;
  if (!(session_id = member_string (obj, "SessionId")))
    return missing (what, "SessionId", error);
  output = member_string (obj, "Output");
  out->session_id = g_strdup (session_id);
  out->output = g_strdup (output != NULL ? output : "");
  return TRUE;
}

void
bastion_ssm_channel_closed_clear (BastionSsmChannelClosed *closed)
{
  g_clear_pointer (&closed->session_id, g_free);
  g_clear_pointer (&closed->output, g_free);
}

char *
bastion_ssm_open_data_channel_build (const char *token,
                                     const char *client_id,
                                     const char *client_version)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *request_id = g_uuid_string_random ();

  g_return_val_if_fail (token != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "MessageSchemaVersion");
  json_builder_add_string_value (b, "1.0");
  json_builder_set_member_name (b, "RequestId");
  json_builder_add_string_value (b, request_id);
  json_builder_set_member_name (b, "TokenValue");
  json_builder_add_string_value (b, token);
  json_builder_set_member_name (b, "ClientId");
  json_builder_add_string_value (b, client_id);
  json_builder_set_member_name (b, "ClientVersion");
  json_builder_add_string_value (b, client_version);
  json_builder_end_object (b);
  bytes = builder_to_bytes (b);
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* "3.0.196.0" → four numbers; FALSE for anything else. */
static gboolean
parse_version (const char *text, guint64 parts[4])
{
  g_auto(GStrv) fields = g_strsplit (text, ".", 5);

  if (g_strv_length (fields) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    if (!g_ascii_string_to_unsigned (fields[i], 10, 0, G_MAXUINT32, &parts[i], NULL))
      return FALSE;
  return TRUE;
}

gboolean
bastion_ssm_agent_supports_mux (const char *agent_version)
{
  static const guint64 first_without[4] = { 3, 0, 196, 0 };
  guint64 v[4];

  if (agent_version == NULL || !parse_version (agent_version, v))
    return FALSE;
  for (guint i = 0; i < 4; i++)
    if (v[i] != first_without[i])
      return v[i] > first_without[i];
  return FALSE;
}
