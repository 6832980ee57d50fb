/* bastion-ssh-session.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-auth-method.h"
#include "bastion-core-enums.h"
#include "bastion-known-hosts.h"

G_BEGIN_DECLS

#define BASTION_SSH_ERROR (bastion_ssh_error_quark ())

typedef enum
{
  BASTION_SSH_ERROR_FAILED = 1,
  BASTION_SSH_ERROR_DNS,
  BASTION_SSH_ERROR_REFUSED,
  BASTION_SSH_ERROR_TIMEOUT,
  BASTION_SSH_ERROR_UNREACHABLE,
  BASTION_SSH_ERROR_HANDSHAKE,
  BASTION_SSH_ERROR_HOST_KEY_UNKNOWN,
  BASTION_SSH_ERROR_HOST_KEY_CHANGED,
  BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH,
  BASTION_SSH_ERROR_KEY_FILE,
  BASTION_SSH_ERROR_PASSPHRASE_REQUIRED,
  BASTION_SSH_ERROR_AUTH_FAILED,
  BASTION_SSH_ERROR_DISCONNECTED,
  BASTION_SSH_ERROR_CHANNEL_OPEN,
  BASTION_SSH_ERROR_CLOSED,
} BastionSshError;

typedef enum
{
  BASTION_SSH_STAGE_CLOSED,
  BASTION_SSH_STAGE_RESOLVING,
  BASTION_SSH_STAGE_CONNECTING,
  BASTION_SSH_STAGE_VERIFYING_HOST_KEY,
  BASTION_SSH_STAGE_AUTHENTICATING,
  BASTION_SSH_STAGE_READY,
  BASTION_SSH_STAGE_RECONNECTING,
  BASTION_SSH_STAGE_FAILED,
} BastionSshStage;

typedef enum
{
  BASTION_SSH_CONNECT_NONE          = 0,
  /* Stop once the host key is known (trusted or not): for `bastion-cli hostkey`. */
  BASTION_SSH_CONNECT_HOST_KEY_ONLY = 1 << 0,
} BastionSshConnectFlags;

#define BASTION_TYPE_SSH_SESSION     (bastion_ssh_session_get_type ())

/* A session belongs to the thread whose context it was connected on. One that a BastionTunnel
 * connects lives on the I/O thread (bastion-io-thread.h) until bastion_tunnel_stop() returns:
 * meanwhile its owner sets nothing and calls nothing on it. Friend API (channels, the relay's
 * event plumbing, test hooks): bastion-ssh-session-private.h. */
G_DECLARE_FINAL_TYPE (BastionSshSession, bastion_ssh_session, BASTION, SSH_SESSION, GObject)

GQuark                bastion_ssh_error_quark                (void);
const char           *bastion_ssh_stage_to_string            (BastionSshStage         stage);

BastionSshSession    *bastion_ssh_session_new                (const char             *host,
                                                              guint16                 port,
                                                              const char             *user);
BastionSshStage       bastion_ssh_session_get_stage          (BastionSshSession      *self);
const char           *bastion_ssh_session_get_host           (BastionSshSession      *self);
guint16               bastion_ssh_session_get_port           (BastionSshSession      *self);
const char           *bastion_ssh_session_get_auth_used      (BastionSshSession      *self);
void                  bastion_ssh_session_set_identities_only (BastionSshSession     *self,
                                                               gboolean               identities_only);
/* Secrets live in memory only and are wiped when replaced, after use, and at finalize. */
void                  bastion_ssh_session_set_passphrase     (BastionSshSession      *self,
                                                              const char             *passphrase);
void                  bastion_ssh_session_set_password       (BastionSshSession      *self,
                                                              const char             *password);
void                  bastion_ssh_session_set_ciphers        (BastionSshSession      *self,
                                                              const char             *ciphers);

void                  bastion_ssh_session_connect_async      (BastionSshSession      *self,
                                                              BastionSshConnectFlags  flags,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
gboolean              bastion_ssh_session_connect_finish     (BastionSshSession      *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);
void                  bastion_ssh_session_disconnect         (BastionSshSession      *self);

BastionHostKeyStatus  bastion_ssh_session_get_host_key_status      (BastionSshSession *self);
const char           *bastion_ssh_session_get_host_key_fingerprint (BastionSshSession *self);
/* Records the key the server presented in Bastion's known_hosts, written in a thread; the status
 * is TRUSTED once it is written. A cancelled call may still have written it. */
void                  bastion_ssh_session_trust_host_key_async  (BastionSshSession   *self,
                                                                 GCancellable        *cancellable,
                                                                 GAsyncReadyCallback  callback,
                                                                 gpointer             user_data);
gboolean              bastion_ssh_session_trust_host_key_finish (BastionSshSession   *self,
                                                                 GAsyncResult        *result,
                                                                 GError             **error);
/* "aes128-gcm@openssh.com" etc., once the handshake is done. */
const char           *bastion_ssh_session_get_cipher         (BastionSshSession      *self);
const char           *bastion_ssh_session_default_ciphers    (void);

/* TRUE when the private key file needs a passphrase. */
gboolean              bastion_ssh_key_file_is_encrypted      (const char             *path,
                                                              gboolean               *encrypted,
                                                              GError                **error);

G_END_DECLS
