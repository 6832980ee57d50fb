/* fuzz-ssm-payload.c: the JSON payloads inside Session Manager frames (acknowledgement,
 * handshake request and completion, channel_closed), fed straight to their parsers so the
 * fuzzer need not forge a SHA-256 digest first (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "bastion-ssm-message.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *copy = NULL;
  gsize len;

  fuzz_common_init ();
  if (size == 0)
    return 0;
  len = size - 1;
  copy = g_memdup2 (data + 1, len);

  switch (data[0] % 4)
    {
    case 0:
      {
        BastionSsmAck ack = { NULL };

        if (bastion_ssm_ack_parse (copy, len, &ack, &error) &&
            (ack.message_type == NULL || ack.message_id == NULL || ack.sequence_number < 0))
          abort ();
        bastion_ssm_ack_clear (&ack);
      }
      break;
    case 1:
      {
        BastionSsmHandshakeRequest req = { NULL };

        if (bastion_ssm_handshake_request_parse (copy, len, &req, &error))
          {
            g_autoptr(GBytes) response = bastion_ssm_handshake_response_build (&req, "1.0");

            if (req.agent_version == NULL || req.action_types == NULL)
              abort ();
            (void) bastion_ssm_agent_supports_mux (req.agent_version);
          }
        bastion_ssm_handshake_request_clear (&req);
      }
      break;
    case 2:
      {
        BastionSsmHandshakeComplete done = { NULL };

        (void) bastion_ssm_handshake_complete_parse (copy, len, &done, &error);
        bastion_ssm_handshake_complete_clear (&done);
      }
      break;
    default:
      {
        BastionSsmChannelClosed closed = { NULL };

        if (bastion_ssm_channel_closed_parse (copy, len, &closed, &error) &&
            (closed.session_id == NULL || closed.output == NULL))
          abort ();
        bastion_ssm_channel_closed_clear (&closed);
      }
      break;
    }
  if (error != NULL && error->domain != BASTION_SSM_ERROR)
    abort ();

  return 0;
}
