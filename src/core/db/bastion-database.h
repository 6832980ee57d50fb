/* bastion-database.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BASTION_DATABASE_ERROR (bastion_database_error_quark ())

typedef enum
{
  BASTION_DATABASE_ERROR_FAILED = 1,
  /* SQLSTATE 28P01/28000 or no password: ask for (or fetch) the password again. */
  BASTION_DATABASE_ERROR_AUTH,
  /* The server could not be reached, or the connect timed out. */
  BASTION_DATABASE_ERROR_CONNECT,
  /* The connection dropped; bastion_database_connect_async() again reconnects. */
  BASTION_DATABASE_ERROR_CONNECTION_LOST,
  BASTION_DATABASE_ERROR_NOT_CONNECTED,
  /* Another query still runs (or is paused at its row cap) on this connection. */
  BASTION_DATABASE_ERROR_BUSY,
  /* The server refused a statement; see bastion_query_get_sqlstate() and friends. */
  BASTION_DATABASE_ERROR_SERVER,
  /* SQLSTATE 25006: a write in a read-only session. */
  BASTION_DATABASE_ERROR_READ_ONLY,
  /* TLS could not be set up or verified (CA file, host name, server without TLS). */
  BASTION_DATABASE_ERROR_TLS,
  /* A read-only session refused a statement before sending it (see bastion-sql-guard.h). */
  BASTION_DATABASE_ERROR_REFUSED,
} BastionDatabaseError;

typedef enum
{
  BASTION_TRANSACTION_IDLE = 0,  /* no connection, or outside a transaction */
  BASTION_TRANSACTION_ACTIVE,    /* a command runs */
  BASTION_TRANSACTION_IN_BLOCK,  /* inside BEGIN … COMMIT */
  BASTION_TRANSACTION_FAILED,    /* inside a failed transaction: only ROLLBACK helps */
  BASTION_TRANSACTION_UNKNOWN,
} BastionTransactionStatus;

#define BASTION_TYPE_DATABASE (bastion_database_get_type ())

G_DECLARE_FINAL_TYPE (BastionDatabase, bastion_database, BASTION, DATABASE, GObject)

GQuark                    bastion_database_error_quark         (void);

BastionDatabase          *bastion_database_new                 (const char           *hostaddr,
                                                                guint                 port,
                                                                const char           *host,
                                                                const char           *dbname,
                                                                const char           *user);
const char               *bastion_database_get_hostaddr        (BastionDatabase      *self);
guint                     bastion_database_get_port            (BastionDatabase      *self);
const char               *bastion_database_get_host            (BastionDatabase      *self);
const char               *bastion_database_get_dbname          (BastionDatabase      *self);
const char               *bastion_database_get_user            (BastionDatabase      *self);
/* Kept in memory only, handed to libpq in its parameter array, wiped on change and dispose. */
void                      bastion_database_set_password        (BastionDatabase      *self,
                                                                const char           *password);
void                      bastion_database_clear_password      (BastionDatabase      *self);
const char               *bastion_database_get_sslmode         (BastionDatabase      *self);
void                      bastion_database_set_sslmode         (BastionDatabase      *self,
                                                                const char           *sslmode);
const char               *bastion_database_get_sslrootcert     (BastionDatabase      *self);
void                      bastion_database_set_sslrootcert     (BastionDatabase      *self,
                                                                const char           *path);
guint                     bastion_database_get_connect_timeout (BastionDatabase      *self);
void                      bastion_database_set_connect_timeout (BastionDatabase      *self,
                                                                guint                 seconds);

void                      bastion_database_connect_async       (BastionDatabase      *self,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
gboolean                  bastion_database_connect_finish      (BastionDatabase      *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);
void                      bastion_database_disconnect          (BastionDatabase      *self);
gboolean                  bastion_database_get_connected       (BastionDatabase      *self);
gboolean                  bastion_database_get_busy            (BastionDatabase      *self);
int                       bastion_database_get_server_version  (BastionDatabase      *self);

/* A role the server keeps read-only (see bastion-readonly-role.h) to log in as while the
 * session is read-only; the constructor's user logs in only while writes are allowed, and
 * switching between the two logs in again. NULL @user: always the constructor's. */
void                      bastion_database_set_read_only_login (BastionDatabase      *self,
                                                                const char           *user,
                                                                const char           *password);
/* The role logged in (or to log in) now. */
const char               *bastion_database_get_login_user      (BastionDatabase      *self);
gboolean                  bastion_database_get_read_only       (BastionDatabase      *self);
/* The explicit switch: when connected, runs SET default_transaction_read_only on the server. */
void                      bastion_database_set_read_only_async (BastionDatabase      *self,
                                                                gboolean              read_only,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
gboolean                  bastion_database_set_read_only_finish (BastionDatabase     *self,
                                                                 GAsyncResult        *result,
                                                                 GError             **error);
BastionTransactionStatus  bastion_database_get_transaction_status (BastionDatabase   *self);

/* Asks the server to cancel the running statement (PQcancel, in a thread). */
void                      bastion_database_cancel_async        (BastionDatabase      *self,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
gboolean                  bastion_database_cancel_finish       (BastionDatabase      *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);

G_END_DECLS
