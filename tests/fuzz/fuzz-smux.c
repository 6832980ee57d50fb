/* fuzz-smux.c: smux frames as the Session Manager data channel delivers them: a byte stream cut
 * into pieces anywhere, reassembled by BastionSmuxReader (issue 21)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "bastion-smux.h"
#include "bastion-ssm-message.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(BastionSmuxReader) reader = bastion_smux_reader_new ();
  gsize pos = 1;
  guint chunk;

  fuzz_common_init ();
  if (size == 0)
    return 0;
  /* The first byte picks the piece size, as WebSocket messages would cut the stream. */
  chunk = 1 + data[0] * 7;

  while (pos < size)
    {
      gsize n = MIN (chunk, size - pos);
      g_autofree guint8 *piece = g_memdup2 (data + pos, n);
      g_autoptr(GError) error = NULL;
      BastionSmuxHeader h;
      GBytes *payload = NULL;

      pos += n;
      if (!bastion_smux_reader_push (reader, piece, n, &error))
        abort ();     /* the loop below drains every whole frame, so the buffer stays small */
      while (bastion_smux_reader_next (reader, &h, &payload, &error))
        {
          gsize got = payload ? g_bytes_get_size (payload) : 0;

          if (got != h.length || h.cmd > BASTION_SMUX_UPD)
            abort ();
          g_clear_pointer (&payload, g_bytes_unref);
        }
      if (error != NULL)
        {
          if (error->domain != BASTION_SSM_ERROR || payload != NULL)
            abort ();
          return 0;
        }
    }
  return 0;
}
