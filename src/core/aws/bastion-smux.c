/* bastion-smux.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-smux.h"
#include "bastion-ssm-message.h"

struct _BastionSmuxReader
{
  GByteArray *buffer;
  gsize       start;    /* bytes at the front already handed out */
};

gboolean
bastion_smux_header_decode (const guint8        data[BASTION_SMUX_HEADER_SIZE],
                            BastionSmuxHeader  *out,
                            GError            **error)
{
  BastionSmuxHeader h;

  g_return_val_if_fail (data != NULL && out != NULL, FALSE);

  h.version = data[0];
  h.cmd = data[1];
  h.length = (guint16) (data[2] | (data[3] << 8));
  h.stream_id = (guint32) data[4] | ((guint32) data[5] << 8) | ((guint32) data[6] << 16) |
                ((guint32) data[7] << 24);

  if (h.version != 1 && h.version != 2)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A multiplexed stream frame has an unknown version (%u)"), h.version);
      return FALSE;
    }
  if (h.cmd > BASTION_SMUX_UPD || (h.cmd == BASTION_SMUX_UPD && h.version != 2))
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A multiplexed stream frame has an unknown command (%u)"), h.cmd);
      return FALSE;
    }
  if ((h.cmd == BASTION_SMUX_UPD && h.length != 8) ||
      ((h.cmd == BASTION_SMUX_SYN || h.cmd == BASTION_SMUX_FIN || h.cmd == BASTION_SMUX_NOP) &&
       h.length != 0))
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_BAD_FRAME,
                   _("A multiplexed stream frame (command %u) has a wrong length (%u)"),
                   h.cmd, h.length);
      return FALSE;
    }
  *out = h;
  return TRUE;
}

void
bastion_smux_header_encode (guint8   out[BASTION_SMUX_HEADER_SIZE],
                            guint8   cmd,
                            guint16  length,
                            guint32  stream_id)
{
  out[0] = 1;
  out[1] = cmd;
  out[2] = length & 0xff;
  out[3] = length >> 8;
  out[4] = stream_id & 0xff;
  out[5] = (stream_id >> 8) & 0xff;
  out[6] = (stream_id >> 16) & 0xff;
  out[7] = stream_id >> 24;
}

GBytes *
bastion_smux_frame_build (guint8        cmd,
                          guint32       stream_id,
                          const guint8 *payload,
                          gsize         length)
{
  guint8 *buf;

  g_return_val_if_fail (length <= BASTION_SMUX_MAX_PAYLOAD, NULL);
  g_return_val_if_fail (payload != NULL || length == 0, NULL);

  buf = g_malloc (BASTION_SMUX_HEADER_SIZE + length);
  bastion_smux_header_encode (buf, cmd, (guint16) length, stream_id);
  if (length > 0)
    memcpy (buf + BASTION_SMUX_HEADER_SIZE, payload, length);
  return g_bytes_new_take (buf, BASTION_SMUX_HEADER_SIZE + length);
}

BastionSmuxReader *
bastion_smux_reader_new (void)
{
  BastionSmuxReader *reader = g_new0 (BastionSmuxReader, 1);

  reader->buffer = g_byte_array_new ();
  return reader;
}

void
bastion_smux_reader_free (BastionSmuxReader *reader)
{
  if (reader == NULL)
    return;
  g_byte_array_unref (reader->buffer);
  g_free (reader);
}

static void
compact (BastionSmuxReader *reader)
{
  if (reader->start == 0)
    return;
  g_byte_array_remove_range (reader->buffer, 0, reader->start);
  reader->start = 0;
}

gboolean
bastion_smux_reader_push (BastionSmuxReader  *reader,
                          const guint8       *data,
                          gsize               length,
                          GError            **error)
{
  g_return_val_if_fail (reader != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  compact (reader);
  if (length > BASTION_SMUX_MAX_BUFFER - reader->buffer->len)
    {
      g_set_error (error, BASTION_SSM_ERROR, BASTION_SSM_ERROR_TOO_LARGE,
                   _("Too many multiplexed stream bytes are waiting to be read"));
      return FALSE;
    }
  g_byte_array_append (reader->buffer, data, length);
  return TRUE;
}

gboolean
bastion_smux_reader_next (BastionSmuxReader  *reader,
                          BastionSmuxHeader  *header,
                          GBytes            **payload,
                          GError            **error)
{
  const guint8 *p;
  gsize avail;
  BastionSmuxHeader h;

  g_return_val_if_fail (reader != NULL && header != NULL && payload != NULL, FALSE);

  *payload = NULL;
  avail = reader->buffer->len - reader->start;
  p = reader->buffer->data + reader->start;
  if (avail < BASTION_SMUX_HEADER_SIZE)
    return FALSE;
  if (!bastion_smux_header_decode (p, &h, error))
    return FALSE;
  if (avail - BASTION_SMUX_HEADER_SIZE < h.length)
    return FALSE;
  if (h.length > 0)
    *payload = g_bytes_new (p + BASTION_SMUX_HEADER_SIZE, h.length);
  reader->start += BASTION_SMUX_HEADER_SIZE + h.length;
  *header = h;
  return TRUE;
}
