/* bastion-tunnel-listen.c: the tunnel's local listener, on the I/O thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Listens on 127.0.0.1, closes connections from other users before a byte is read, and hands
 * the user's own to the transport that carries the tunnel (the relay's SSH channels,
 * bastion-tunnel-relay.c, or Session Manager, bastion-tunnel-ssm.c).
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>

#include "bastion-peer-uid.h"
#include "bastion-tunnel-private.h"

/* Only the user's own programs reach the tunnel: a connection from another uid (or one the kernel
 * cannot place) is closed before a byte is read or relayed, logged once per uid, counted. */
static gboolean
peer_is_owner (BastionTunnel     *self,
               GSocketConnection *connection)
{
  uid_t uid = (uid_t) -1;
  gboolean known = bastion_peer_uid_lookup (connection, &uid);

  if (known && uid == getuid ())
    return TRUE;

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  self->n_refused++;
  if (self->refused_uids == NULL)
    self->refused_uids = g_hash_table_new (NULL, NULL);
  if (!g_hash_table_contains (self->refused_uids, GUINT_TO_POINTER (known ? uid + 1 : 0)))
    {
      g_hash_table_add (self->refused_uids, GUINT_TO_POINTER (known ? uid + 1 : 0));
      if (known)
        g_message ("Tunnel 127.0.0.1:%u: refused a connection from uid %u; only uid %u may use "
                   "this tunnel", self->local_port, (guint) uid, (guint) getuid ());
      else
        g_message ("Tunnel 127.0.0.1:%u: refused a connection whose user the kernel does not "
                   "know (another network namespace?)", self->local_port);
    }
  bastion_tunnel_report (self);

  return FALSE;
}

static gboolean
on_incoming (GSocketService    *service_,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  BastionTunnel *self = user_data;

  if (self->stopped || self->stage == BASTION_SSH_STAGE_FAILED)
    return TRUE;
  if (peer_is_owner (self, connection))
    self->transport->carry (self, connection);

  return TRUE;
}

gboolean
bastion_tunnel_listen (BastionTunnel  *self,
                       GError        **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, self->local_port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) local_error = NULL;

  self->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 128);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, &local_error))
    {
      int pid = 0;
      g_autofree char *command = NULL;

      g_clear_object (&self->service);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          if (bastion_tunnel_find_port_owner (self->local_port, &pid, &command) && pid > 0)
            g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_PORT_BUSY,
                         _("Port %u on 127.0.0.1 is already in use by process %d (%s). Stop "
                           "that process or choose another port (--port)."),
                         self->local_port, pid, command);
          else
            g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_PORT_BUSY,
                         _("Port %u on 127.0.0.1 is already in use by another program. Stop "
                           "it or choose another port (--port)."), self->local_port);
        }
      else
        g_set_error (error, BASTION_TUNNEL_ERROR, BASTION_TUNNEL_ERROR_FAILED,
                     _("Cannot listen on 127.0.0.1:%u: %s"), self->local_port,
                     local_error->message);
      return FALSE;
    }

  self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);

  return TRUE;
}
