/* fuzz-ssm-frame.c: one Session Manager WebSocket binary message (the ClientMessage frame), then
 * its payload handed to the parser its type selects, as the data channel does (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-ssm-message.h"

#include "fuzz-common.h"

static void
parse_payload (const BastionSsmMessage *msg)
{
  g_autoptr(GError) error = NULL;

  if (g_str_equal (msg->message_type, BASTION_SSM_TYPE_ACK))
    {
      BastionSsmAck ack = { NULL };

      if (bastion_ssm_ack_parse (msg->payload, msg->payload_length, &ack, &error) &&
          (ack.message_id == NULL || ack.sequence_number < 0))
        abort ();
      bastion_ssm_ack_clear (&ack);
    }
  else if (g_str_equal (msg->message_type, BASTION_SSM_TYPE_CLOSED))
    {
      BastionSsmChannelClosed closed = { NULL };

      (void) bastion_ssm_channel_closed_parse (msg->payload, msg->payload_length, &closed, &error);
      bastion_ssm_channel_closed_clear (&closed);
    }
  else if (msg->payload_type == BASTION_SSM_PAYLOAD_HANDSHAKE_REQUEST)
    {
      BastionSsmHandshakeRequest req = { NULL };

      if (bastion_ssm_handshake_request_parse (msg->payload, msg->payload_length, &req, &error))
        {
          g_autoptr(GBytes) response = bastion_ssm_handshake_response_build (&req, "1.0");

          (void) bastion_ssm_agent_supports_mux (req.agent_version);
        }
      bastion_ssm_handshake_request_clear (&req);
    }
  else if (msg->payload_type == BASTION_SSM_PAYLOAD_HANDSHAKE_COMPLETE)
    {
      BastionSsmHandshakeComplete done = { NULL };

      (void) bastion_ssm_handshake_complete_parse (msg->payload, msg->payload_length, &done, &error);
      bastion_ssm_handshake_complete_clear (&done);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *copy = g_memdup2 (data, size);
  BastionSsmMessage msg;
  g_autoptr(GBytes) again = NULL;
  BastionSsmMessage back;

  fuzz_common_init ();

  /* The message as libsoup hands it over: an exact-size heap copy. */
  if (!bastion_ssm_message_decode (copy, size, &msg, &error))
    {
      if (error == NULL || error->domain != BASTION_SSM_ERROR)
        abort ();
      return 0;
    }
  if (msg.payload_length > BASTION_SSM_MAX_PAYLOAD || msg.payload + msg.payload_length != copy + size)
    abort ();

  /* What was accepted encodes back to something that decodes to the same fields. */
  again = bastion_ssm_message_encode (&msg);
  if (!bastion_ssm_message_decode (g_bytes_get_data (again, NULL), g_bytes_get_size (again),
                                   &back, NULL) ||
      strcmp (back.message_type, msg.message_type) != 0 ||
      back.sequence_number != msg.sequence_number ||
      memcmp (back.message_id, msg.message_id, 16) != 0 ||
      back.payload_length != msg.payload_length)
    abort ();

  parse_payload (&msg);
  return 0;
}
