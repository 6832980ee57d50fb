/* bastion-ssh-bridge.h: one direct-tcpip channel of a session, carried to a socket pair
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-ssh-session-private.h"

G_BEGIN_DECLS

typedef struct _BastionSshBridge BastionSshBridge;

/* Called once the channel opened (IO OK, CONNECTION the socket pair's other end, owned by the
 * callee) or could not (IO DENIED, DEAD, FAILED, or AGAIN when TIMEOUT_S passed first). */
typedef void (*BastionSshBridgeFunc) (BastionSshBridge  *bridge,
                                      BastionSshIo       io,
                                      GSocketConnection *connection,
                                      gpointer           user_data);

/* Opens a channel through SESSION (ready, on this thread, with no other channel user) to
 * HOST:PORT and relays it to a socket pair until either side closes. The bridge is SESSION's
 * only channel user (its I/O callback). */
BastionSshBridge *bastion_ssh_bridge_new  (BastionSshSession     *session,
                                           const char            *host,
                                           guint16                port,
                                           guint                  timeout_s,
                                           BastionSshBridgeFunc   func,
                                           gpointer               user_data);
/* The session died (its channels are freed): close our end so the far side sees EOF. */
void              bastion_ssh_bridge_drop (BastionSshBridge      *bridge);
/* Frees the bridge without network I/O; the session frees the channel when it goes. */
void              bastion_ssh_bridge_free (BastionSshBridge      *bridge);

G_END_DECLS
