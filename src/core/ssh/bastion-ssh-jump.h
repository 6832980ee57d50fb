/* bastion-ssh-jump.h: ProxyJump, a chain of SSH jump hosts in front of the bastion
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-ssh-session.h"

G_BEGIN_DECLS

/* OpenSSH sets no limit; eight hops is far beyond any real bastion setup and bounds the work
 * (and the sessions) one profile can make Bastion hold. */
#define BASTION_SSH_JUMP_MAX_HOPS 8

typedef struct
{
  char    *user;     /* NULL: the profile's SSH user */
  char    *host;
  guint16  port;
  gboolean port_set; /* given in the spec: wins over ~/.ssh/config */
} BastionSshHop;

#define BASTION_TYPE_SSH_JUMP (bastion_ssh_jump_get_type ())

/* A BastionSshSession with a jump (bastion_ssh_session_set_jump(), -private.h) connects through
 * the chain: an SSH session to the first hop, a direct-tcpip channel through it to the next
 * hop's SSH port, a session over that channel, and so on; the last hop's channel reaches the
 * bastion. A hop's name goes through ~/.ssh/config as ssh does (ssh -G: HostName, Port, User,
 * IdentityFile when the team has no key file, UserKnownHostsFile, StrictHostKeyChecking,
 * IdentitiesOnly; a user@ or :port in the spec wins). Each hop is its own BastionSshSession: its
 * host key is checked against known_hosts
 * as that host's ([host]:port when the port is not 22), with the bastion's rules (a changed key
 * is refused, an unknown one only accepted with accept-new), and it logs in as its own user
 * with the bastion's key file or agent (never the bastion's SSH password). The hops live on the
 * bastion session's thread and go when it disconnects; its reconnection rebuilds the chain. */
G_DECLARE_FINAL_TYPE (BastionSshJump, bastion_ssh_jump, BASTION, SSH_JUMP, GObject)

void               bastion_ssh_hop_free               (BastionSshHop        *hop);
/* "[user@]host[:port],…" as ssh's -J takes it (also ssh://[user@]host[:port] and [v6]:port);
 * "none" or "" give an empty array. NULL with an error that names the bad hop. */
GPtrArray         *bastion_ssh_jump_parse             (const char           *spec,
                                                       GError              **error);
/* DEFAULT_USER logs in to hops that name none. */
BastionSshJump    *bastion_ssh_jump_new               (const char           *spec,
                                                       const char           *default_user,
                                                       GError              **error);
guint              bastion_ssh_jump_get_n_hops        (BastionSshJump       *self);
/* "user@host:port" of hop I (0-based), for messages; NULL past the end. */
char              *bastion_ssh_jump_dup_hop_name      (BastionSshJump       *self,
                                                       guint                 i);
/* The key file's passphrase, for the hops that log in with it (kept in memory until finalize:
 * a reconnection rebuilds the chain). */
void               bastion_ssh_jump_set_passphrase    (BastionSshJump       *self,
                                                       const char           *passphrase);
/* The hop whose host key stopped the last connection (unknown, changed), else NULL: its
 * fingerprint is shown and trusted in place of the bastion's. */
BastionSshSession *bastion_ssh_jump_get_failed_hop    (BastionSshJump       *self);

/* The session's socket comes from JUMP's chain instead of a TCP connection (NULL: direct). Set
 * while the session is not connecting or connected. */
void               bastion_ssh_session_set_jump       (BastionSshSession    *self,
                                                       BastionSshJump       *jump);
/* The session's chain (bastion-ssh-session.c), or NULL when it connects directly. */
BastionSshJump    *bastion_ssh_session_get_jump       (BastionSshSession    *self);

/* For bastion-ssh-session.c: a socket that reaches TARGET's host and port through the chain,
 * on the thread-default context; TARGET shows the hops' steps meanwhile. CANCELLABLE names the
 * attempt (the result carries it); close() is what stops it. */
void               bastion_ssh_jump_connect_async     (BastionSshJump       *self,
                                                       BastionSshSession    *target,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
GSocketConnection *bastion_ssh_jump_connect_finish    (BastionSshJump       *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
/* Drops the chain at once (a connect in progress completes with G_IO_ERROR_CANCELLED). */
void               bastion_ssh_jump_close             (BastionSshJump       *self);

G_END_DECLS
