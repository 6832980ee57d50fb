/* bastion-smux.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * smux (xtaci/smux) frames, the stream multiplexing the Session Manager agent uses to carry many
 * TCP connections over one port-forwarding session. Header, 8 bytes, little-endian:
 * version (1), command (1), payload length (2), stream id (4). Pure codec, no I/O.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BASTION_SMUX_HEADER_SIZE  8
#define BASTION_SMUX_MAX_PAYLOAD  65535
/* Bytes a reader buffers before it refuses: one whole frame plus one message's worth. */
#define BASTION_SMUX_MAX_BUFFER   (2 * (BASTION_SMUX_HEADER_SIZE + BASTION_SMUX_MAX_PAYLOAD))

typedef enum
{
  BASTION_SMUX_SYN = 0,   /* stream open */
  BASTION_SMUX_FIN = 1,   /* stream end */
  BASTION_SMUX_PSH = 2,   /* data */
  BASTION_SMUX_NOP = 3,   /* keepalive */
  BASTION_SMUX_UPD = 4,   /* version 2 only: window update, 8 bytes */
} BastionSmuxCmd;

typedef struct
{
  guint8   version;
  guint8   cmd;
  guint16  length;
  guint32  stream_id;
} BastionSmuxHeader;

typedef struct _BastionSmuxReader BastionSmuxReader;

/* Checks one header: version 1 or 2, a known command (UPD only in version 2), no payload on
 * SYN, FIN and NOP, exactly 8 bytes on UPD. Errors in BASTION_SSM_ERROR. */
gboolean            bastion_smux_header_decode  (const guint8        data[BASTION_SMUX_HEADER_SIZE],
                                                 BastionSmuxHeader  *out,
                                                 GError            **error);
void                bastion_smux_header_encode  (guint8              out[BASTION_SMUX_HEADER_SIZE],
                                                 guint8              cmd,
                                                 guint16             length,
                                                 guint32             stream_id);
/* A version 1 frame with PAYLOAD (at most BASTION_SMUX_MAX_PAYLOAD bytes). */
GBytes             *bastion_smux_frame_build    (guint8              cmd,
                                                 guint32             stream_id,
                                                 const guint8       *payload,
                                                 gsize               length);

/* Reassembles frames from a byte stream cut anywhere. */
BastionSmuxReader  *bastion_smux_reader_new     (void);
void                bastion_smux_reader_free    (BastionSmuxReader  *reader);
/* Appends bytes; FALSE (TOO_LARGE) when more than BASTION_SMUX_MAX_BUFFER would be waiting. */
gboolean            bastion_smux_reader_push    (BastionSmuxReader  *reader,
                                                 const guint8       *data,
                                                 gsize               length,
                                                 GError            **error);
/* The next whole frame: TRUE with HEADER and PAYLOAD (owned by the caller, NULL when empty);
 * FALSE without error when more bytes are needed; FALSE with error on a bad header (the
 * stream cannot be resynchronised after that). */
gboolean            bastion_smux_reader_next    (BastionSmuxReader  *reader,
                                                 BastionSmuxHeader  *header,
                                                 GBytes            **payload,
                                                 GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionSmuxReader, bastion_smux_reader_free)

G_END_DECLS
