/* bastion-query-impl-private.h
 *
 * What the parts of BastionQuery share: the object's fields and the steps they call in each
 * other. Only bastion-query*.c include it; the database and the read-only role use
 * bastion-query-private.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libpq-fe.h>

#include "bastion-query-private.h"
#include "bastion-result-batch.h"

G_BEGIN_DECLS

/* Rows come in libpq's single-row mode and are copied into batch arenas at once, so memory
 * follows the batch size and the row cap, not the size of the result. While a batch is
 * incomplete and the socket has nothing to read, the partial batch goes out if it is the first
 * one or the last one left a while ago, so slow queries still show rows early. */
#define PARTIAL_BATCH_USEC (100 * G_TIME_SPAN_MILLISECOND)

/* libpq's socket is read at the default priority, above GTK's redraw: a window whose frames
 * come back to back (an animation under software rendering) never lets a lower priority run,
 * and rows waited there for as long as the animation lasted. What keeps the window drawing
 * instead is the slice: SLICE_USEC of work per dispatch (the first batch alone, so it shows
 * at once). After a slice the socket is left alone, and the next slice starts when the loop is
 * idle or SLICE_GAP_MSEC later, whichever comes first; so frames and rows take turns and neither
 * waits for the other. */
#define QUERY_PRIORITY G_PRIORITY_DEFAULT
#define SLICE_USEC     (12 * G_TIME_SPAN_MILLISECOND)
#define SLICE_GAP_MSEC 10

struct _BastionQuery
{
  GObject              parent_instance;

  /* Owned */
  BastionDatabase     *database;
  char                *sql;
  GStrv                params;
  BastionResultModel  *model;
  GTask               *task;           /* the pending run or fetch-more */
  GSource             *watch;
  GSource             *resume;
  GSource             *nudge;          /* the next slice at the latest, when never idle */
  BastionResultBatch  *batch;          /* being filled */
  PGresult            *pending;        /* the row that met the cap */
  GError              *error;
  char                *sqlstate;
  char                *detail;
  char                *hint;
  char                *command_status;
  GStrv                column_names;
  guint32             *column_types;
  GCancellable        *cancellable;
  GSource             *cancel_timeout;
  GMainContext        *context;        /* the thread-default context of the run */
  GArray              *statements;     /* BastionSqlRange: the read-only envelope's statements */

  gulong               cancelled_id;
  guint64              n_rows;
  guint64              n_retained;
  guint64              cap;
  guint                max_rows;
  guint                batch_size;
  guint                n_columns;
  guint                position;
  gint64               start_time;
  gint64               end_time;
  gint64               last_emit;
  BastionQueryState    state;
  guint                step;             /* an EnvelopeStep */
  guint                next_statement;
  guint                position_offset;  /* characters before the statement running */

  guint                retain_rows : 1;
  guint                cancel_requested : 1;
  guint                cancel_in_flight : 1;
  guint                finish_deferred : 1;
  guint                discard : 1;
  guint                in_result : 1;
  guint                in_copy_out : 1;
  guint                first_batch_sent : 1;
  guint                batch_emitted : 1;
  guint                held : 1;
  guint                sending : 1;        /* the watch waits to send the rest of the SQL */
  guint                trusted : 1;        /* Bastion's own SQL: never enveloped */
  guint                rollback_pending : 1;  /* after the cancel request arrived */
};

/* Where a read-only run is (see "The read-only envelope" below). */
typedef enum
{
  STEP_NONE = 0,    /* not enveloped: the SQL went as one text */
  STEP_OPEN,        /* [COMMIT;] BEGIN READ ONLY; SELECT 1 */
  STEP_STATEMENT,   /* the user's statement, alone, through the extended protocol */
  STEP_CLOSE,       /* COMMIT */
  STEP_ROLLBACK,    /* ROLLBACK after an error or a cancel */
} EnvelopeStep;

/* bastion-query.c */
void     _bastion_query_set_state              (BastionQuery       *self,
                                                BastionQueryState   state);
gboolean _bastion_query_is_held                (BastionQuery       *self);
void     _bastion_query_clear_source           (GSource           **source);
void     _bastion_query_stop_watching          (BastionQuery       *self);
void     _bastion_query_disconnect_cancellable (BastionQuery       *self);
void     _bastion_query_emit_batch             (BastionQuery       *self);
void     _bastion_query_begin_result_set       (BastionQuery       *self,
                                                const PGresult     *res);
void     _bastion_query_finish                 (BastionQuery       *self);

/* bastion-query-receive.c */
PGconn  *_bastion_query_get_conn               (BastionQuery       *self);
void     _bastion_query_record_client_error    (BastionQuery       *self,
                                                int                 code,
                                                const char         *message);
void     _bastion_query_watch_socket           (BastionQuery       *self,
                                                gboolean            want_write);
void     _bastion_query_read_again             (BastionQuery       *self);
void     _bastion_query_resume                 (BastionQuery       *self);

/* bastion-query-run.c */
void     _bastion_query_step_done              (BastionQuery       *self);

G_END_DECLS
