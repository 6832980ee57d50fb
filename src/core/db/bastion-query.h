/* bastion-query.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-database.h"
#include "bastion-result-batch.h"
#include "bastion-result-model.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_QUERY_STATE_NEW = 0,
  BASTION_QUERY_STATE_RUNNING,
  BASTION_QUERY_STATE_PAUSED,    /* the row cap is reached and more rows are waiting */
  BASTION_QUERY_STATE_FINISHED,  /* done, failed or cancelled */
} BastionQueryState;

#define BASTION_QUERY_DEFAULT_MAX_ROWS   100000
#define BASTION_QUERY_DEFAULT_BATCH_SIZE 1000

#define BASTION_TYPE_QUERY (bastion_query_get_type ())

G_DECLARE_FINAL_TYPE (BastionQuery, bastion_query, BASTION, QUERY, GObject)

/* One run of SQL text (one or more statements) on a BastionDatabase. Rows stream in batches:
 * the ::batch signal sees every batch; with :retain-rows (the default) they also go into
 * bastion_query_get_model() up to :max-rows, where the query pauses (:more-available) until
 * bastion_query_fetch_more_async(). A paused query still holds the connection: fetch more,
 * or bastion_query_cancel() it (dropping the last reference to a paused query closes the
 * connection instead, since its unread rows would block it). A running query keeps itself
 * alive until it finishes. The query's sources run on the thread-default main context of
 * bastion_query_run_async(). */
BastionQuery        *bastion_query_new                  (BastionDatabase      *database,
                                                         const char           *sql);
/* Runs a single statement with $1… text parameters (PQsendQueryParams). */
BastionQuery        *bastion_query_new_with_params      (BastionDatabase      *database,
                                                         const char           *sql,
                                                         const char * const   *params);
BastionDatabase     *bastion_query_get_database         (BastionQuery         *self);
const char          *bastion_query_get_sql              (BastionQuery         *self);

guint                bastion_query_get_max_rows         (BastionQuery         *self);
void                 bastion_query_set_max_rows         (BastionQuery         *self,
                                                         guint                 max_rows);
gboolean             bastion_query_get_retain_rows      (BastionQuery         *self);
void                 bastion_query_set_retain_rows      (BastionQuery         *self,
                                                         gboolean              retain_rows);
guint                bastion_query_get_batch_size       (BastionQuery         *self);
void                 bastion_query_set_batch_size       (BastionQuery         *self,
                                                         guint                 batch_size);
/* Flow control for a consumer slower than the server (an export to a slow disk). While
 * :held, a running query delivers no batch and does not read its socket, so the socket's
 * buffers fill and TCP makes the server wait (pg_stat_activity shows it in ClientWrite);
 * releasing it delivers the rows libpq had buffered already and reads on. May be set from a
 * ::batch handler and at any time before or during the run; it takes effect for reading once
 * the SQL is sent, and for a paused query once it is fetched more. A held query still holds
 * the connection and keeps itself alive: errors and the end of the statement show only after
 * release. bastion_query_cancel() ends a held query without releasing it (the rows not yet
 * delivered are dropped). */
gboolean             bastion_query_get_held             (BastionQuery         *self);
void                 bastion_query_set_held             (BastionQuery         *self,
                                                         gboolean              held);

/* Completes when the query finished, failed, or paused at the row cap. */
void                 bastion_query_run_async            (BastionQuery         *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             bastion_query_run_finish           (BastionQuery         *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
/* Raises the cap by :max-rows and continues a paused query. */
void                 bastion_query_fetch_more_async     (BastionQuery         *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             bastion_query_fetch_more_finish    (BastionQuery         *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
/* Stops the statement on the server (running) or drops the waiting rows (paused). */
void                 bastion_query_cancel               (BastionQuery         *self);

BastionQueryState    bastion_query_get_state            (BastionQuery         *self);
gboolean             bastion_query_get_more_available   (BastionQuery         *self);
BastionResultModel  *bastion_query_get_model            (BastionQuery         *self);
/* The current result set's columns (the last statement that returned rows). */
guint                bastion_query_get_n_columns        (BastionQuery         *self);
const char * const  *bastion_query_get_column_names     (BastionQuery         *self);
const guint32       *bastion_query_get_column_types     (BastionQuery         *self);
/* Rows received for the current result set, retained or not. */
guint64              bastion_query_get_n_rows           (BastionQuery         *self);
/* From sending to the last result (or now, while running). */
gint64               bastion_query_get_elapsed_usec     (BastionQuery         *self);
/* e.g. "SELECT 3", "INSERT 0 1" for the last statement. */
const char          *bastion_query_get_command_status   (BastionQuery         *self);
/* The failure, when there was one. */
const GError        *bastion_query_get_error            (BastionQuery         *self);
const char          *bastion_query_get_sqlstate         (BastionQuery         *self);
/* 1-based character position of the error in the SQL text, 0 when the server gave none. */
guint                bastion_query_get_error_position   (BastionQuery         *self);
const char          *bastion_query_get_error_detail     (BastionQuery         *self);
const char          *bastion_query_get_error_hint       (BastionQuery         *self);

G_END_DECLS
