/* bastion-peer-uid.c: which user owns the other end of a loopback TCP connection
 *
 * A local listener on 127.0.0.1 admits every user of the machine. The kernel knows who owns the
 * client's socket: sock_diag (NETLINK_SOCK_DIAG, an exact lookup by the peer's 4-tuple) says,
 * and /proc/net/tcp{,6} (its uid column) when netlink is not there.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "bastion-peer-uid.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  int      family;
  guint8   peer[16];
  guint16  peer_port;
  guint8   local[16];
  guint16  local_port;
} FourTuple;

static gboolean
address_bytes (GSocketAddress *address,
               int            *family,
               guint8          bytes[16],
               guint16        *port)
{
  GInetAddress *inet;
  gsize size;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return FALSE;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  *family = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
  size = g_inet_address_get_native_size (inet);
  memset (bytes, 0, 16);
  memcpy (bytes, g_inet_address_to_bytes (inet), MIN (size, 16));
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  return TRUE;
}

static gboolean
lookup_netlink (const FourTuple *t,
                uid_t           *uid)
{
  struct
  {
    struct nlmsghdr       nlh;
    struct inet_diag_req_v2 req;
  } request = { 0 };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  guint8 reply[8192];
  struct timeval tv = { .tv_sec = 1 };
  gboolean found = FALSE;
  ssize_t n;
  int fd;

  fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return FALSE;
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST;
  request.req.sdiag_family = t->family;
  request.req.sdiag_protocol = IPPROTO_TCP;
  request.req.idiag_states = ~0u;
  /* The client's socket: its own end is the peer address, its remote end the listener's. */
  request.req.id.idiag_sport = htons (t->peer_port);
  request.req.id.idiag_dport = htons (t->local_port);
  memcpy (request.req.id.idiag_src, t->peer, 16);
  memcpy (request.req.id.idiag_dst, t->local, 16);
  request.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  if (sendto (fd, &request, sizeof request, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    {
      close (fd);
      return FALSE;
    }

  n = recv (fd, reply, sizeof reply, 0);
  if (n >= (ssize_t) NLMSG_LENGTH (sizeof (struct inet_diag_msg)))
    {
      const struct nlmsghdr *h = (const struct nlmsghdr *) reply;
      const struct inet_diag_msg *msg = NLMSG_DATA (h);

      /* An exact lookup answers with the one socket, or with NLMSG_ERROR (ENOENT). */
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
          h->nlmsg_len >= NLMSG_LENGTH (sizeof *msg) && h->nlmsg_len <= (size_t) n &&
          ntohs (msg->id.idiag_sport) == t->peer_port &&
          ntohs (msg->id.idiag_dport) == t->local_port)
        {
          *uid = msg->idiag_uid;
          found = TRUE;
        }
    }
  close (fd);

  return found;
}

/* /proc/net/tcp: "sl local_address rem_address st tx:rx tr:when retrnsmt uid …", addresses as
 * the kernel's 32-bit words in hex (host byte order), ports in hex. */
static void
format_proc_address (const guint8 *bytes,
                     int           family,
                     guint16       port,
                     char         *out,
                     gsize         out_size)
{
  GString *s = g_string_sized_new (40);
  int words = family == AF_INET6 ? 4 : 1;

  for (int i = 0; i < words; i++)
    {
      guint32 w;

      memcpy (&w, bytes + 4 * i, 4);
      g_string_append_printf (s, "%08X", w);
    }
  g_snprintf (out, out_size, "%s:%04X", s->str, port);
  g_string_free (s, TRUE);
}

static gboolean
lookup_proc (const FourTuple *t,
             uid_t           *uid)
{
  char own[64], remote[64], line[512];
  gboolean found = FALSE;
  FILE *f;

  format_proc_address (t->peer, t->family, t->peer_port, own, sizeof own);
  format_proc_address (t->local, t->family, t->local_port, remote, sizeof remote);
  f = fopen (t->family == AF_INET6 ? "/proc/net/tcp6" : "/proc/net/tcp", "re");
  if (f == NULL)
    return FALSE;
  while (!found && fgets (line, sizeof line, f) != NULL)
    {
      char a[64], b[64];
      unsigned int u;

      if (sscanf (line, " %*u: %63s %63s %*x %*s %*s %*s %u", a, b, &u) == 3 &&
          g_ascii_strcasecmp (a, own) == 0 && g_ascii_strcasecmp (b, remote) == 0)
        {
          *uid = u;
          found = TRUE;
        }
    }
  fclose (f);

  return found;
}

gboolean
bastion_peer_uid_lookup (GSocketConnection *connection,
                         uid_t             *uid)
{
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  FourTuple t = { 0 };
  int family2 = 0;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (connection), FALSE);

  local = g_socket_connection_get_local_address (connection, NULL);
  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (local == NULL || remote == NULL ||
      !address_bytes (remote, &t.family, t.peer, &t.peer_port) ||
      !address_bytes (local, &family2, t.local, &t.local_port) || family2 != t.family)
    return FALSE;

  return lookup_netlink (&t, uid) || lookup_proc (&t, uid);
}
