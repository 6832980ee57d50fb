/* test-ssm-codec.c — the Session Manager frame, its JSON payloads and smux frames (issue 21).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-smux.h"
#include "bastion-ssm-message.h"

/* A frame written byte by byte here, independent of the encoder. */
static GByteArray *
hand_frame (const char *type, gint64 seq, guint32 ptype, const char *payload)
{
  GByteArray *a = g_byte_array_new ();
  gsize plen = strlen (payload);
  guint8 hdr[120] = { 0 };
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize dlen = 32;

  hdr[3] = 116;
  memset (hdr + 4, ' ', 32);
  memcpy (hdr + 4, type, strlen (type));
  hdr[39] = 1;
  hdr[47] = 0x42;                       /* created date */
  for (int i = 0; i < 8; i++)
    hdr[48 + i] = (guint8) (seq >> (56 - 8 * i));
  for (int i = 0; i < 16; i++)
    hdr[64 + i] = (guint8) (i + 1);     /* low half 01..08, high half 09..10 */
  g_checksum_update (sum, (const guint8 *) payload, plen);
  g_checksum_get_digest (sum, hdr + 80, &dlen);
  hdr[115] = (guint8) ptype;
  hdr[118] = (guint8) (plen >> 8);
  hdr[119] = (guint8) plen;
  g_byte_array_append (a, hdr, sizeof hdr);
  g_byte_array_append (a, (const guint8 *) payload, plen);
  return a;
}

static void
test_decode_hand_made (void)
{
  g_autoptr(GByteArray) a = hand_frame ("output_stream_data", 7, 1, "hello");
  g_autofree char *id = NULL;
  BastionSsmMessage msg;
  g_autoptr(GError) error = NULL;

  g_assert_true (bastion_ssm_message_decode (a->data, a->len, &msg, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (msg.message_type, ==, "output_stream_data");
  g_assert_cmpint (msg.schema_version, ==, 1);
  g_assert_cmpuint (msg.created_date, ==, 0x42);
  g_assert_cmpint (msg.sequence_number, ==, 7);
  g_assert_cmpuint (msg.payload_type, ==, 1);
  g_assert_cmpuint (msg.payload_length, ==, 5);
  g_assert_cmpmem (msg.payload, 5, "hello", 5);
  id = bastion_ssm_message_id_to_string (msg.message_id);
  /* The high half comes second on the wire. */
  g_assert_cmpstr (id, ==, "090a0b0c-0d0e-0f10-0102-030405060708");
}

static void
test_roundtrip (void)
{
  BastionSsmMessage msg, back;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *payload = "SELECT 1";

  bastion_ssm_message_init (&msg, BASTION_SSM_TYPE_INPUT, 123456789012, BASTION_SSM_PAYLOAD_OUTPUT,
                            (const guint8 *) payload, strlen (payload));
  bytes = bastion_ssm_message_encode (&msg);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 120 + strlen (payload));
  g_assert_true (bastion_ssm_message_decode (g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes), &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.message_type, ==, BASTION_SSM_TYPE_INPUT);
  g_assert_cmpint (back.sequence_number, ==, 123456789012);
  g_assert_cmpmem (back.message_id, 16, msg.message_id, 16);
  g_assert_cmpuint (back.created_date, ==, msg.created_date);
  g_assert_cmpmem (back.payload, back.payload_length, payload, strlen (payload));
}

typedef struct
{
  const char *name;
  gsize       offset;     /* byte to change, or G_MAXSIZE to cut */
  guint8      value;
  gssize      cut;        /* new length when >= 0 */
  gint        code;
} BadFrame;

static void
test_decode_rejects (void)
{
  static const BadFrame cases[] = {
    { "too short",            G_MAXSIZE, 0,    119, BASTION_SSM_ERROR_BAD_FRAME },
    { "empty",                G_MAXSIZE, 0,    0,   BASTION_SSM_ERROR_BAD_FRAME },
    { "payload cut",          G_MAXSIZE, 0,    123, BASTION_SSM_ERROR_BAD_FRAME },
    { "header length 115",    3,         115,  -1,  BASTION_SSM_ERROR_BAD_FRAME },
    { "header length huge",   0,         0xff, -1,  BASTION_SSM_ERROR_BAD_FRAME },
    { "payload length huge",  116,       0x7f, -1,  BASTION_SSM_ERROR_TOO_LARGE },
    { "payload length +1",    119,       6,    -1,  BASTION_SSM_ERROR_BAD_FRAME },
    { "digest flipped",       80,        0x00, -1,  BASTION_SSM_ERROR_BAD_DIGEST },
    { "payload flipped",      121,       'X',  -1,  BASTION_SSM_ERROR_BAD_DIGEST },
    { "type control byte",    5,         '\n', -1,  BASTION_SSM_ERROR_BAD_FRAME },
    { "type high byte",       4,         0xc3, -1,  BASTION_SSM_ERROR_BAD_FRAME },
    { "negative sequence",    48,        0x80, -1,  BASTION_SSM_ERROR_BAD_FRAME },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) a = hand_frame ("output_stream_data", 1, 1, "hello");
      g_autoptr(GError) error = NULL;
      BastionSsmMessage msg;
      gsize len = a->len;

      g_test_message ("case %s", cases[i].name);
      if (cases[i].cut >= 0)
        len = (gsize) cases[i].cut;
      else if (cases[i].offset == 80)
        a->data[80] ^= 0xff;
      else
        a->data[cases[i].offset] = cases[i].value;
      g_assert_false (bastion_ssm_message_decode (a->data, len, &msg, &error));
      g_assert_error (error, BASTION_SSM_ERROR, cases[i].code);
    }

  /* An all-blank type. */
  {
    g_autoptr(GByteArray) a = hand_frame ("x", 1, 1, "");
    g_autoptr(GError) error = NULL;
    BastionSsmMessage msg;

    a->data[4] = ' ';
    g_assert_false (bastion_ssm_message_decode (a->data, a->len, &msg, &error));
    g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME);
  }
}

static void
test_ack (void)
{
  BastionSsmMessage msg;
  BastionSsmAck ack = { NULL };
  g_autoptr(GBytes) json = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  bastion_ssm_message_init (&msg, BASTION_SSM_TYPE_OUTPUT, 42, 1, NULL, 0);
  json = bastion_ssm_ack_build (&msg);
  g_assert_true (bastion_ssm_ack_parse (g_bytes_get_data (json, NULL), g_bytes_get_size (json),
                                        &ack, &error));
  g_assert_no_error (error);
  id = bastion_ssm_message_id_to_string (msg.message_id);
  g_assert_cmpstr (ack.message_type, ==, BASTION_SSM_TYPE_OUTPUT);
  g_assert_cmpstr (ack.message_id, ==, id);
  g_assert_cmpint (ack.sequence_number, ==, 42);
  bastion_ssm_ack_clear (&ack);
}

typedef struct
{
  const char *json;
  gboolean    ok;
} JsonCase;

static void
test_ack_rejects (void)
{
  static const JsonCase cases[] = {
    { "", FALSE },
    { "[]", FALSE },
    { "{}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\",\"AcknowledgedMessageId\":\"b\"}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\",\"AcknowledgedMessageId\":\"b\","
      "\"AcknowledgedMessageSequenceNumber\":-1}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\",\"AcknowledgedMessageId\":\"b\","
      "\"AcknowledgedMessageSequenceNumber\":\"3\"}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\\u0000\",\"AcknowledgedMessageId\":\"b\","
      "\"AcknowledgedMessageSequenceNumber\":3}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\",\"AcknowledgedMessageId\":\"b\","
      "\"AcknowledgedMessageSequenceNumber\":3,\"x\":[[[[[[[[[[1]]]]]]]]]]}", FALSE },
    { "{\"AcknowledgedMessageType\":\"a\",\"AcknowledgedMessageId\":\"b\","
      "\"AcknowledgedMessageSequenceNumber\":3,\"IsSequentialMessage\":true}", TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BastionSsmAck ack = { NULL };
      g_autoptr(GError) error = NULL;
      gboolean ok = bastion_ssm_ack_parse ((const guint8 *) cases[i].json, strlen (cases[i].json),
                                           &ack, &error);

      g_test_message ("case %s", cases[i].json);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD);
      bastion_ssm_ack_clear (&ack);
    }

  /* An empty payload, as a zero-length frame carries it (found by fuzz-ssm-payload). */
  {
    BastionSsmAck ack = { NULL };
    BastionSsmHandshakeRequest req = { NULL };
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;

    g_assert_false (bastion_ssm_ack_parse (NULL, 0, &ack, &error));
    g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD);
    g_assert_false (bastion_ssm_handshake_request_parse (NULL, 0, &req, &error2));
    g_assert_error (error2, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD);
  }

  {
    g_autofree char *big = g_strnfill (BASTION_SSM_MAX_JSON_PAYLOAD + 1, ' ');
    BastionSsmAck ack = { NULL };
    g_autoptr(GError) error = NULL;

    g_assert_false (bastion_ssm_ack_parse ((const guint8 *) big, strlen (big), &ack, &error));
    g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_TOO_LARGE);
  }
}

static void
test_handshake (void)
{
  const char *request =
    "{\"AgentVersion\":\"3.2.582.0\",\"RequestedClientActions\":["
    "{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Port\","
    "\"Properties\":{\"portNumber\":\"5432\",\"type\":\"LocalPortForwarding\"}}},"
    "{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":\"k\"}}]}";
  BastionSsmHandshakeRequest req = { NULL };
  BastionSsmHandshakeComplete done = { NULL };
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *complete = "{\"HandshakeTimeToComplete\":1500000,\"CustomerMessage\":\"hi\"}";

  g_assert_true (bastion_ssm_handshake_request_parse ((const guint8 *) request, strlen (request),
                                                      &req, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (req.agent_version, ==, "3.2.582.0");
  g_assert_cmpstr (req.session_type, ==, "Port");
  g_assert_cmpuint (g_strv_length (req.action_types), ==, 2);

  response = bastion_ssm_handshake_response_build (&req, "1.0.0");
  text = g_strndup (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
  g_assert_nonnull (strstr (text, "\"ClientVersion\":\"1.0.0\""));
  g_assert_nonnull (strstr (text, "\"ActionType\":\"SessionType\",\"ActionStatus\":1"));
  g_assert_nonnull (strstr (text, "\"ActionType\":\"KMSEncryption\",\"ActionStatus\":3"));
  g_assert_nonnull (strstr (text, "\"Errors\":[\"Unsupported action KMSEncryption\"]"));
  bastion_ssm_handshake_request_clear (&req);

  g_assert_true (bastion_ssm_handshake_complete_parse ((const guint8 *) complete, strlen (complete),
                                                       &done, &error));
  g_assert_cmpstr (done.customer_message, ==, "hi");
  g_assert_cmpint (done.time_to_complete_ns, ==, 1500000);
  bastion_ssm_handshake_complete_clear (&done);
}

static void
test_handshake_rejects (void)
{
  static const char *bad[] = {
    "{}",
    "{\"AgentVersion\":3,\"RequestedClientActions\":[]}",
    "{\"AgentVersion\":\"1\",\"RequestedClientActions\":{}}",
    "{\"AgentVersion\":\"1\",\"RequestedClientActions\":[1]}",
    "{\"AgentVersion\":\"1\",\"RequestedClientActions\":[{\"ActionType\":\"SessionType\"}]}",
    "{\"AgentVersion\":\"1\",\"RequestedClientActions\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      BastionSsmHandshakeRequest req = { NULL };
      g_autoptr(GError) error = NULL;

      g_test_message ("case %s", bad[i]);
      g_assert_false (bastion_ssm_handshake_request_parse ((const guint8 *) bad[i], strlen (bad[i]),
                                                           &req, &error));
      g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_PAYLOAD);
      g_assert_null (req.agent_version);
      g_assert_null (req.action_types);
    }
}

static void
test_channel_closed (void)
{
  const char *json = "{\"MessageId\":\"m\",\"SessionId\":\"s-1\",\"MessageType\":\"channel_closed\","
                     "\"SchemaVersion\":1,\"Output\":\"Session terminated: idle timeout\"}";
  BastionSsmChannelClosed closed = { NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (bastion_ssm_channel_closed_parse ((const guint8 *) json, strlen (json),
                                                   &closed, &error));
  g_assert_cmpstr (closed.session_id, ==, "s-1");
  g_assert_cmpstr (closed.output, ==, "Session terminated: idle timeout");
  bastion_ssm_channel_closed_clear (&closed);

  g_assert_false (bastion_ssm_channel_closed_parse ((const guint8 *) "{\"Output\":\"x\"}", 14,
                                                    &closed, &error));
}

static void
test_open_data_channel (void)
{
  g_autofree char *text = bastion_ssm_open_data_channel_build ("tok\"en", "client-1", "1.2");

  g_assert_nonnull (strstr (text, "\"TokenValue\":\"tok\\\"en\""));
  g_assert_nonnull (strstr (text, "\"MessageSchemaVersion\":\"1.0\""));
  g_assert_nonnull (strstr (text, "\"ClientId\":\"client-1\""));
}

static void
test_agent_mux (void)
{
  static const struct { const char *v; gboolean mux; } cases[] = {
    { "3.0.196.0", FALSE }, { "3.0.196.1", TRUE }, { "3.0.197.0", TRUE }, { "3.1.0.0", TRUE },
    { "2.3.722.0", FALSE }, { "10.0.0.0", TRUE }, { "3.0.195.99", FALSE }, { "", FALSE },
    { "3.1", FALSE }, { "3.1.x.0", FALSE }, { "3.1.0.0.0", FALSE }, { "-3.1.0.0", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (bastion_ssm_agent_supports_mux (cases[i].v), ==, cases[i].mux);
  g_assert_false (bastion_ssm_agent_supports_mux (NULL));
}

static void
test_smux_header (void)
{
  static const struct { guint8 b[8]; gboolean ok; guint8 cmd; guint16 len; guint32 sid; } cases[] = {
    { { 1, 0, 0, 0, 3, 0, 0, 0 }, TRUE, BASTION_SMUX_SYN, 0, 3 },
    { { 1, 2, 0x10, 0x01, 0x04, 0x03, 0x02, 0x01 }, TRUE, BASTION_SMUX_PSH, 0x110, 0x01020304 },
    { { 1, 1, 0, 0, 5, 0, 0, 0 }, TRUE, BASTION_SMUX_FIN, 0, 5 },
    { { 1, 3, 0, 0, 0, 0, 0, 0 }, TRUE, BASTION_SMUX_NOP, 0, 0 },
    { { 2, 4, 8, 0, 1, 0, 0, 0 }, TRUE, BASTION_SMUX_UPD, 8, 1 },
    { { 0, 0, 0, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* version 0 */
    { { 3, 0, 0, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* version 3 */
    { { 1, 4, 8, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* UPD in v1 */
    { { 1, 5, 0, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* unknown command */
    { { 1, 0, 1, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* SYN with data */
    { { 1, 1, 0, 1, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* FIN with data */
    { { 2, 4, 7, 0, 1, 0, 0, 0 }, FALSE, 0, 0, 0 },     /* UPD of 7 bytes */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BastionSmuxHeader h;
      g_autoptr(GError) error = NULL;
      gboolean ok = bastion_smux_header_decode (cases[i].b, &h, &error);

      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        {
          g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME);
          continue;
        }
      g_assert_cmpuint (h.cmd, ==, cases[i].cmd);
      g_assert_cmpuint (h.length, ==, cases[i].len);
      g_assert_cmpuint (h.stream_id, ==, cases[i].sid);
      if (h.version == 1)
        {
          guint8 out[8];

          bastion_smux_header_encode (out, h.cmd, h.length, h.stream_id);
          g_assert_cmpmem (out, 8, cases[i].b, 8);
        }
    }
}

static void
test_smux_reader_split (void)
{
  g_autoptr(BastionSmuxReader) reader = bastion_smux_reader_new ();
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GBytes) f1 = bastion_smux_frame_build (BASTION_SMUX_SYN, 1, NULL, 0);
  g_autoptr(GBytes) f2 = bastion_smux_frame_build (BASTION_SMUX_PSH, 1, (const guint8 *) "abcdef", 6);
  g_autoptr(GBytes) f3 = bastion_smux_frame_build (BASTION_SMUX_FIN, 1, NULL, 0);
  GBytes *frames[] = { f1, f2, f3 };
  guint seen = 0;

  for (guint i = 0; i < 3; i++)
    g_byte_array_append (stream, g_bytes_get_data (frames[i], NULL), g_bytes_get_size (frames[i]));

  /* One byte at a time: every frame still comes out whole, in order. */
  for (guint i = 0; i < stream->len; i++)
    {
      BastionSmuxHeader h;
      GBytes *payload = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (bastion_smux_reader_push (reader, stream->data + i, 1, &error));
      while (bastion_smux_reader_next (reader, &h, &payload, &error))
        {
          g_assert_cmpuint (h.cmd, ==, seen == 0 ? BASTION_SMUX_SYN : seen == 1 ? BASTION_SMUX_PSH : BASTION_SMUX_FIN);
          if (seen == 1)
            g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "abcdef", 6);
          else
            g_assert_null (payload);
          g_clear_pointer (&payload, g_bytes_unref);
          seen++;
        }
      g_assert_no_error (error);
    }
  g_assert_cmpuint (seen, ==, 3);
}

static void
test_smux_reader_bounds (void)
{
  g_autoptr(BastionSmuxReader) reader = bastion_smux_reader_new ();
  g_autofree guint8 *junk = g_malloc0 (BASTION_SMUX_MAX_BUFFER + 1);
  static const guint8 bad[8] = { 1, 9, 0, 0, 0, 0, 0, 0 };
  BastionSmuxHeader h;
  GBytes *payload = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (bastion_smux_reader_push (reader, junk, BASTION_SMUX_MAX_BUFFER + 1, &error));
  g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_assert_true (bastion_smux_reader_push (reader, bad, 8, &error));
  g_assert_false (bastion_smux_reader_next (reader, &h, &payload, &error));
  g_assert_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME);
  g_assert_null (payload);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/ssm/frame/decode", test_decode_hand_made);
  g_test_add_func ("/bastion/ssm/frame/roundtrip", test_roundtrip);
  g_test_add_func ("/bastion/ssm/frame/rejects", test_decode_rejects);
  g_test_add_func ("/bastion/ssm/ack", test_ack);
  g_test_add_func ("/bastion/ssm/ack/rejects", test_ack_rejects);
  g_test_add_func ("/bastion/ssm/handshake", test_handshake);
  g_test_add_func ("/bastion/ssm/handshake/rejects", test_handshake_rejects);
  g_test_add_func ("/bastion/ssm/channel-closed", test_channel_closed);
  g_test_add_func ("/bastion/ssm/open-data-channel", test_open_data_channel);
  g_test_add_func ("/bastion/ssm/agent-mux", test_agent_mux);
  g_test_add_func ("/bastion/smux/header", test_smux_header);
  g_test_add_func ("/bastion/smux/reader/split", test_smux_reader_split);
  g_test_add_func ("/bastion/smux/reader/bounds", test_smux_reader_bounds);

  return g_test_run ();
}
