/* bastion-ssh-channel.c: the session's channels, the only other place that calls libssh2
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libssh2's non-blocking rules (../shared/LIBSSH2-NOTES.md) are turned into BastionSshIo here, so
 * the relay decides from one value: EAGAIN with the OUTBOUND direction set means a half-sent
 * packet (BLOCKED), a code that means the transport is gone marks the session dead (DEAD).
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <libssh2.h>

#include "bastion-ssh-session-private.h"

struct _BastionSshChannel
{
  GList              link;      /* in the session's list */
  BastionSshSession *session;   /* not owned: the session outlives its channels */
  LIBSSH2_CHANNEL   *raw;
};

static BastionSshIo
classify (BastionSshSession *session,
          int                rc)
{
  LIBSSH2_SESSION *s = bastion_ssh_session_get_raw (session);

  if (rc == LIBSSH2_ERROR_EAGAIN)
    {
      if (s != NULL && (libssh2_session_block_directions (s) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        return BASTION_SSH_IO_BLOCKED;
      return BASTION_SSH_IO_AGAIN;
    }
  if (rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT)
    return BASTION_SSH_IO_CLOSED;
  if (!bastion_ssh_session_check_rc (session, rc))
    return BASTION_SSH_IO_DEAD;

  return BASTION_SSH_IO_FAILED;
}

BastionSshIo
bastion_ssh_channel_open_direct (BastionSshSession  *session,
                                 const char         *host,
                                 guint16             port,
                                 guint16             source_port,
                                 BastionSshChannel **channel)
{
  LIBSSH2_SESSION *s;
  LIBSSH2_CHANNEL *raw;
  int rc;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (session), BASTION_SSH_IO_DEAD);
  g_return_val_if_fail (host != NULL, BASTION_SSH_IO_FAILED);
  g_return_val_if_fail (channel != NULL && *channel == NULL, BASTION_SSH_IO_FAILED);

  if ((s = bastion_ssh_session_get_raw (session)) == NULL)
    return BASTION_SSH_IO_DEAD;

  /* libssh2's default window (2 MiB, as OpenSSH's) and 32 KiB packets. Measured: an 8 MiB
   * window (libssh2_channel_open_ex) made downloads 2-3x slower, because libssh2 drains and
   * decrypts everything the socket holds before it returns any of it; 0.5-1 MiB were no
   * faster than 2 MiB. */
  raw = libssh2_channel_direct_tcpip_ex (s, host, port, "127.0.0.1", source_port);
  if (raw != NULL)
    {
      BastionSshChannel *c = g_new0 (BastionSshChannel, 1);

      c->link.data = c;
      c->session = session;
      c->raw = raw;
      g_queue_push_tail_link (bastion_ssh_session_get_channels (session), &c->link);
      *channel = c;
      return BASTION_SSH_IO_OK;
    }

  rc = libssh2_session_last_errno (s);
  if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE || rc == LIBSSH2_ERROR_CHANNEL_UNKNOWN ||
      rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED)
    return BASTION_SSH_IO_DENIED;

  return classify (session, rc);
}

gssize
bastion_ssh_channel_read (BastionSshChannel *channel,
                          void              *buffer,
                          gsize              size)
{
  ssize_t n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  n = libssh2_channel_read (channel->raw, buffer, size);

  return n >= 0 ? n : classify (channel->session, n);
}

gssize
bastion_ssh_channel_write (BastionSshChannel *channel,
                           const void        *buffer,
                           gsize              size)
{
  ssize_t n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  n = libssh2_channel_write (channel->raw, buffer, size);

  return n >= 0 ? n : classify (channel->session, n);
}

BastionSshIo
bastion_ssh_channel_send_eof (BastionSshChannel *channel)
{
  int n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  n = libssh2_channel_send_eof (channel->raw);

  return n == 0 ? BASTION_SSH_IO_OK : classify (channel->session, n);
}

gboolean
bastion_ssh_channel_has_data (BastionSshChannel *channel)
{
  g_return_val_if_fail (channel != NULL, FALSE);

  return libssh2_poll_channel_read (channel->raw, 0) != 0;
}

gboolean
bastion_ssh_channel_is_eof (BastionSshChannel *channel)
{
  g_return_val_if_fail (channel != NULL, FALSE);

  return libssh2_channel_eof (channel->raw) == 1;
}

/* libssh2_channel_close() waits for the server's CLOSE (EAGAIN until then); when the server
 * closed first it only marks the channel, which must still be closed and freed. */
BastionSshIo
bastion_ssh_channel_close (BastionSshChannel *channel)
{
  BastionSshSession *session;
  int n;

  g_return_val_if_fail (channel != NULL, BASTION_SSH_IO_FAILED);

  session = channel->session;
  n = libssh2_channel_close (channel->raw);
  if (n == LIBSSH2_ERROR_EAGAIN)
    return classify (session, n);
  if (n < 0 && !bastion_ssh_session_check_rc (session, n))
    return BASTION_SSH_IO_DEAD;

  if (libssh2_channel_free (channel->raw) == LIBSSH2_ERROR_EAGAIN)
    return BASTION_SSH_IO_AGAIN;

  g_queue_unlink (bastion_ssh_session_get_channels (session), &channel->link);
  g_free (channel);

  return BASTION_SSH_IO_OK;
}

/* The session's teardown: libssh2_session_free() frees the libssh2 channels themselves. */
void
bastion_ssh_channels_drop (GQueue *channels)
{
  GList *link;

  while ((link = g_queue_pop_head_link (channels)) != NULL)
    g_free (link->data);
}
