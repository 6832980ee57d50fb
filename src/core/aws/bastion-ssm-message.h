/* bastion-ssm-message.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The AWS Session Manager data channel's wire format, pure codecs without I/O: the binary
 * ClientMessage frame every WebSocket message carries, and the JSON payloads Bastion reads or
 * writes inside it (acknowledgements, the handshake, channel_closed, OpenDataChannelInput).
 * Every byte handed to a decoder is treated as hostile: lengths are bounded, the SHA-256 digest
 * of the payload is checked, JSON nesting and size are bounded before json-glib sees them.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BASTION_SSM_ERROR (bastion_ssm_error_quark ())

typedef enum
{
  BASTION_SSM_ERROR_BAD_FRAME = 1,   /* too short, inconsistent lengths, bad type name */
  BASTION_SSM_ERROR_TOO_LARGE,       /* payload over the bound */
  BASTION_SSM_ERROR_BAD_DIGEST,      /* SHA-256 of the payload does not match */
  BASTION_SSM_ERROR_BAD_PAYLOAD,     /* JSON payload malformed or missing a field */
  BASTION_SSM_ERROR_PROTOCOL,        /* a valid frame at the wrong time, or no answer */
  BASTION_SSM_ERROR_CLOSED,          /* the service or the network ended the session */
  BASTION_SSM_ERROR_ONE_CLIENT,      /* an old agent without multiplexing is busy */
  BASTION_SSM_ERROR_STOPPED,         /* closed by us */
} BastionSsmError;

/* Header length as written on the wire: the offset of the payload-length field. */
#define BASTION_SSM_HEADER_LENGTH     116
/* Bytes before the payload. */
#define BASTION_SSM_FRAME_OVERHEAD    120
#define BASTION_SSM_TYPE_LENGTH       32
#define BASTION_SSM_DIGEST_LENGTH     32
/* The agent sends at most a few KiB per message; anything near this is hostile. */
#define BASTION_SSM_MAX_PAYLOAD       (256 * 1024)
/* JSON payloads (acks, handshake, channel_closed) are small and shallow. */
#define BASTION_SSM_MAX_JSON_PAYLOAD  (64 * 1024)
#define BASTION_SSM_MAX_JSON_DEPTH    8

#define BASTION_SSM_TYPE_INPUT        "input_stream_data"
#define BASTION_SSM_TYPE_OUTPUT       "output_stream_data"
#define BASTION_SSM_TYPE_ACK          "acknowledge"
#define BASTION_SSM_TYPE_CLOSED       "channel_closed"
#define BASTION_SSM_TYPE_START_PUB    "start_publication"
#define BASTION_SSM_TYPE_PAUSE_PUB    "pause_publication"

typedef enum
{
  BASTION_SSM_PAYLOAD_NONE               = 0,
  BASTION_SSM_PAYLOAD_OUTPUT             = 1,
  BASTION_SSM_PAYLOAD_ERROR              = 2,
  BASTION_SSM_PAYLOAD_SIZE               = 3,
  BASTION_SSM_PAYLOAD_PARAMETER          = 4,
  BASTION_SSM_PAYLOAD_HANDSHAKE_REQUEST  = 5,
  BASTION_SSM_PAYLOAD_HANDSHAKE_RESPONSE = 6,
  BASTION_SSM_PAYLOAD_HANDSHAKE_COMPLETE = 7,
  BASTION_SSM_PAYLOAD_FLAG               = 10,
} BastionSsmPayloadType;

/* Payload of a BASTION_SSM_PAYLOAD_FLAG message (4 bytes, big-endian). */
typedef enum
{
  BASTION_SSM_FLAG_DISCONNECT_TO_PORT    = 1,
  BASTION_SSM_FLAG_TERMINATE_SESSION     = 2,
  BASTION_SSM_FLAG_CONNECT_TO_PORT_ERROR = 3,
} BastionSsmFlag;

typedef struct
{
  char          message_type[BASTION_SSM_TYPE_LENGTH + 1]; /* trimmed, NUL-terminated */
  guint32       schema_version;
  guint64       created_date;      /* milliseconds since the epoch */
  gint64        sequence_number;
  guint64       flags;
  guint8        message_id[16];    /* canonical UUID byte order */
  guint32       payload_type;
  const guint8 *payload;           /* borrowed: points into the decoded buffer */
  gsize         payload_length;
} BastionSsmMessage;

typedef struct
{
  char    *message_type;
  char    *message_id;             /* UUID text */
  gint64   sequence_number;
} BastionSsmAck;

typedef struct
{
  char     *agent_version;
  char     *session_type;          /* from the SessionType action; NULL when absent */
  GStrv     action_types;          /* every requested action, in order */
} BastionSsmHandshakeRequest;

typedef struct
{
  char     *customer_message;      /* may be NULL */
  gint64    time_to_complete_ns;
} BastionSsmHandshakeComplete;

typedef struct
{
  char     *session_id;
  char     *output;                /* the service's reason; may be empty */
} BastionSsmChannelClosed;

GQuark    bastion_ssm_error_quark                 (void);

/* Decodes one WebSocket binary message. On success OUT points into DATA. The frame must be
 * exactly header + payload (no trailing bytes), the payload at most BASTION_SSM_MAX_PAYLOAD, the
 * message type printable ASCII, the sequence number not negative and a non-empty payload's
 * digest right. */
gboolean  bastion_ssm_message_decode              (const guint8               *data,
                                                   gsize                       length,
                                                   BastionSsmMessage          *out,
                                                   GError                    **error);
/* Encodes MSG; the header length, payload digest and payload length are computed. */
GBytes   *bastion_ssm_message_encode              (const BastionSsmMessage    *msg);
/* Fills MSG for sending: type, a fresh id, now as created date, schema version 1. */
void      bastion_ssm_message_init                (BastionSsmMessage          *msg,
                                                   const char                 *message_type,
                                                   gint64                      sequence_number,
                                                   guint32                     payload_type,
                                                   const guint8               *payload,
                                                   gsize                       payload_length);
char     *bastion_ssm_message_id_to_string        (const guint8                id[16]);

/* The payloads. Parsers take the raw payload bytes and bound them. */
GBytes   *bastion_ssm_ack_build                   (const BastionSsmMessage    *acked);
gboolean  bastion_ssm_ack_parse                   (const guint8               *payload,
                                                   gsize                       length,
                                                   BastionSsmAck              *out,
                                                   GError                    **error);
void      bastion_ssm_ack_clear                   (BastionSsmAck              *ack);

gboolean  bastion_ssm_handshake_request_parse     (const guint8               *payload,
                                                   gsize                       length,
                                                   BastionSsmHandshakeRequest *out,
                                                   GError                    **error);
void      bastion_ssm_handshake_request_clear     (BastionSsmHandshakeRequest *req);
/* The response: every SessionType action succeeded, every other action (KMS encryption)
 * unsupported, as a client without encryption answers. */
GBytes   *bastion_ssm_handshake_response_build    (const BastionSsmHandshakeRequest *req,
                                                   const char                 *client_version);
gboolean  bastion_ssm_handshake_complete_parse    (const guint8               *payload,
                                                   gsize                       length,
                                                   BastionSsmHandshakeComplete *out,
                                                   GError                    **error);
void      bastion_ssm_handshake_complete_clear    (BastionSsmHandshakeComplete *done);

gboolean  bastion_ssm_channel_closed_parse        (const guint8               *payload,
                                                   gsize                       length,
                                                   BastionSsmChannelClosed    *out,
                                                   GError                    **error);
void      bastion_ssm_channel_closed_clear        (BastionSsmChannelClosed    *closed);

/* The first (text) WebSocket message: carries the session token (a secret: never log it). */
char     *bastion_ssm_open_data_channel_build     (const char                 *token,
                                                   const char                 *client_id,
                                                   const char                 *client_version);

/* TRUE when an agent of AGENT_VERSION multiplexes TCP connections with smux (after 3.0.196.0). */
gboolean  bastion_ssm_agent_supports_mux          (const char                 *agent_version);

G_END_DECLS
