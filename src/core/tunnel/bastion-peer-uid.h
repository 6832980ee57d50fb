/* bastion-peer-uid.h: which user owns the other end of a loopback TCP connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* The owner uid of the socket at the other end of CONNECTION, an accepted TCP connection whose
 * peer lives on this machine in this network namespace (the kernel's sock_diag answers for the
 * peer's 4-tuple). FALSE when the kernel does not know such a socket (another namespace, a
 * connection already gone) or cannot say: the caller treats that as a stranger. */
gboolean bastion_peer_uid_lookup (GSocketConnection *connection,
                                  uid_t             *uid);

G_END_DECLS
