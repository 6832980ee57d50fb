/* bastion-connection.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-core-enums.h"
#include "bastion-database.h"
#include "bastion-launcher.h"
#include "bastion-profile.h"
#include "bastion-secrets.h"
#include "bastion-ssh-session.h"
#include "bastion-tunnel.h"

G_BEGIN_DECLS

#define BASTION_TYPE_CONNECTION       (bastion_connection_get_type ())
#define BASTION_CONNECTION_ERROR      (bastion_connection_error_quark ())

/* Every step of "Connect", in order, as the GUI and `bastion-cli check` show them. */
typedef enum
{
  BASTION_CONNECTION_STAGE_IDLE,
  BASTION_CONNECTION_STAGE_PROFILE,           /* the profile has what a connection needs */
  BASTION_CONNECTION_STAGE_CREDENTIALS,       /* key file, passphrase, SSH password */
  BASTION_CONNECTION_STAGE_RESOLVING,
  BASTION_CONNECTION_STAGE_CONNECTING,        /* TCP to port 22 */
  BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY,
  BASTION_CONNECTION_STAGE_AUTHENTICATING,
  BASTION_CONNECTION_STAGE_OPENING_TUNNEL,
  BASTION_CONNECTION_STAGE_DATABASE_LOGIN,
  BASTION_CONNECTION_STAGE_READY,
  BASTION_CONNECTION_STAGE_RECONNECTING,
  BASTION_CONNECTION_STAGE_FAILED,
} BastionConnectionStage;

typedef enum
{
  BASTION_CONNECTION_ERROR_FAILED = 1,
  BASTION_CONNECTION_ERROR_NO_DB_ACCESS,      /* a team member's cut-down config */
  BASTION_CONNECTION_ERROR_INCOMPLETE,        /* a field the connection needs is empty */
  BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED, /* ask, then set_passphrase() and open again */
  BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED,
  BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED,
  BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG,
  BASTION_CONNECTION_ERROR_NO_KEY_FILE,       /* the key-file login names no key file */
} BastionConnectionError;

typedef enum
{
  BASTION_CONNECTION_FLAGS_NONE = 0,
  /* Log in to the database once the tunnel is up, to prove the whole chain works. */
  BASTION_CONNECTION_FLAGS_VERIFY_DATABASE = 1 << 0,
  /* Trust an unknown host key (never a changed one). */
  BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY = 1 << 1,
  /* On a wrong DB password, fetch it again from AWS Secrets Manager once (it may have been
   * rotated), when the profile names a secret. */
  BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD = 1 << 2,
} BastionConnectionFlags;

GQuark bastion_connection_error_quark (void);

G_DECLARE_FINAL_TYPE (BastionConnection, bastion_connection, BASTION, CONNECTION, GObject)

const char             *bastion_connection_stage_to_string   (BastionConnectionStage  stage);
/* The step's name as a user reads it ("Verify host key"), translated. */
const char             *bastion_connection_stage_to_label    (BastionConnectionStage  stage);

BastionConnection      *bastion_connection_new               (BastionProfile         *profile,
                                                              BastionSecrets         *secrets);
BastionProfile         *bastion_connection_get_profile       (BastionConnection      *self);
BastionConnectionStage  bastion_connection_get_stage         (BastionConnection      *self);
/* The step that failed (stage is then FAILED), or IDLE. */
BastionConnectionStage  bastion_connection_get_failed_stage  (BastionConnection      *self);
const GError           *bastion_connection_get_error         (BastionConnection      *self);
BastionTunnel          *bastion_connection_get_tunnel        (BastionConnection      *self);
BastionSshSession      *bastion_connection_get_session       (BastionConnection      *self);
/* How the last SSH login succeeded ("the SSH agent (key …)"), or NULL: for the step's detail. */
const char             *bastion_connection_get_auth_used     (BastionConnection      *self);
/* The SHA256 fingerprint of the host key the bastion presented, or NULL. */
const char             *bastion_connection_get_host_key_fingerprint (BastionConnection *self);
/* Records the host key the bastion presented (the one the fingerprint names) as trusted; fails
 * when no key was seen. Written in a thread; then open() again. */
void                    bastion_connection_trust_host_key_async  (BastionConnection   *self,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
gboolean                bastion_connection_trust_host_key_finish (BastionConnection   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);
/* -1 (the default) listens on the profile's local port, 0 on any free port. */
void                    bastion_connection_set_local_port    (BastionConnection      *self,
                                                              int                     port);
guint16                 bastion_connection_get_local_port    (BastionConnection      *self);
/* What carries the tunnel for this connection: -1 (the default) the profile's transport, else
 * a BastionTransport (`--via`, the GUI's "Use Session Manager"); applies from the next open. */
void                    bastion_connection_set_transport     (BastionConnection      *self,
                                                              int                     transport);
/* What carries the tunnel (SSH or SSM) once one exists, else the choice for the next open. */
BastionTransport        bastion_connection_get_transport     (BastionConnection      *self);
/* Why the tunnel took the transport it did when auto chose Session Manager ("Connected through
 * AWS Session Manager; port 22 is closed to you"), else NULL. */
const char             *bastion_connection_get_transport_note (BastionConnection     *self);
/* Seconds between keepalives (0: the session's default, 15); applies from the next open. */
void                    bastion_connection_set_keepalive_interval (BastionConnection *self,
                                                                   guint              seconds);
/* FALSE: a dropped SSH connection fails the connection instead of reconnecting (default TRUE). */
void                    bastion_connection_set_reconnect     (BastionConnection      *self,
                                                              gboolean                reconnect);

/* Secrets the user typed (kept in memory only, wiped on close); the connection also stores them
 * in the keyring when remember is TRUE. */
void                    bastion_connection_set_passphrase    (BastionConnection      *self,
                                                              const char             *passphrase,
                                                              gboolean                remember);
void                    bastion_connection_set_ssh_password  (BastionConnection      *self,
                                                              const char             *password,
                                                              gboolean                remember);
void                    bastion_connection_set_db_password   (BastionConnection      *self,
                                                              const char             *password,
                                                              gboolean                remember);

/* Runs every step; the tunnel then serves on 127.0.0.1 until close(). May be called again after
 * a failure (say, once the user typed the passphrase or trusted the host key). */
void                    bastion_connection_open_async        (BastionConnection      *self,
                                                              BastionConnectionFlags  flags,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
gboolean                bastion_connection_open_finish       (BastionConnection      *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);
void                    bastion_connection_close             (BastionConnection      *self);

/* Logs in to the database through the open tunnel (password from memory, the keyring, or - once,
 * on a wrong password - AWS Secrets Manager when the profile names a secret) and returns the
 * connected database, read-only as the profile says. The connection's stage does not change. */
void                    bastion_connection_connect_database_async  (BastionConnection   *self,
                                                                    GCancellable        *cancellable,
                                                                    GAsyncReadyCallback  callback,
                                                                    gpointer             user_data);
BastionDatabase        *bastion_connection_connect_database_finish (BastionConnection   *self,
                                                                    GAsyncResult        *result,
                                                                    GError             **error);

/* A new database connection through the tunnel, with the password found at open() (or NULL
 * when none is known yet), read-only as the profile says. Not connected yet. */
BastionDatabase        *bastion_connection_create_database   (BastionConnection      *self);
/* What a launched tool connects to (the tunnel's local port, the real DB host name for TLS, the
 * profile's database, user and read-only flag); never a password. NULL until the tunnel
 * listens. bastion_launch_target_dup_uri() turns it into a postgresql:// URI. */
BastionLaunchTarget    *bastion_connection_dup_launch_target (BastionConnection      *self);
/* The team's read-only login's password when the launch target logs in as that role
 * (password_kind "readonly-password"), else NULL. Free with bastion_secret_free(). */
char                   *bastion_connection_dup_readonly_password (BastionConnection  *self);
/* The database password the connection holds (typed, or found in the keyring or Secrets
 * Manager while opening), else NULL; wiped at close(). Free with bastion_secret_free(). */
char                   *bastion_connection_dup_db_password   (BastionConnection      *self);

G_END_DECLS
