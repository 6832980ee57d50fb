/* bastion-query-run.c
 *
 * Running: run and fetch more, cancel, and the read-only envelope each statement of a
 * read-only session runs in.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <libpq-fe.h>

#include "bastion-database-private.h"
#include "bastion-query-impl-private.h"
#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

/* The read-only envelope. In a read-only session each statement of the user's text runs
 * alone (the extended protocol refuses a second statement in one string) in a transaction
 * Bastion opened READ ONLY and took a snapshot in, so the server refuses to make it
 * read-write (SET transaction_read_only = off: "must be set before any query"). The guard
 * (bastion-sql-guard.c) refuses, before anything is sent, what would end or escape that
 * transaction; the server stays the judge of everything else. */

static gboolean
use_envelope (BastionQuery *self)
{
  return !self->trusted && bastion_database_get_read_only (self->database);
}

/* Sends one command and watches the socket; FALSE (the error recorded) if libpq refused. */
static gboolean
send_command (BastionQuery *self,
              const char   *sql,
              gboolean      extended)
{
  PGconn *conn = _bastion_query_get_conn (self);
  int n_params = self->params != NULL ? g_strv_length (self->params) : 0;
  int sent;
  int flushed;

  if (conn == NULL)
    return FALSE;

  if (extended)
    sent = PQsendQueryParams (conn, sql, n_params, NULL, (const char * const *)self->params,
                              NULL, NULL, 0);
  else
    sent = PQsendQuery (conn, sql);

  if (!sent)
    {
      g_autofree char *why = g_strstrip (g_strdup (PQerrorMessage (conn)));

      _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_FAILED, why);
      return FALSE;
    }

  if (self->step == STEP_NONE || self->step == STEP_STATEMENT)
    {
      if (!PQsetSingleRowMode (conn))
        g_warning ("Could not switch to single-row mode; the whole result is held in memory");
    }

  flushed = PQflush (conn);
  if (flushed < 0)
    return FALSE;

  _bastion_query_watch_socket (self, flushed == 1);
  return TRUE;
}

static void
send_step (BastionQuery *self,
           EnvelopeStep  step)
{
  PGconn *conn = _bastion_query_get_conn (self);
  PGTransactionStatusType status = conn ? PQtransactionStatus (conn) : PQTRANS_UNKNOWN;
  g_autofree char *sql = NULL;
  gboolean extended = FALSE;

  self->step = step;
  switch (step)
    {
    case STEP_OPEN:
      /* The previous statement's transaction ends in the same round trip; so does one a
       * cancelled run left failed. SELECT 1 takes the snapshot. */
      sql = g_strdup_printf ("%sBEGIN TRANSACTION READ ONLY; SELECT 1",
                             status == PQTRANS_INTRANS ? "COMMIT; "
                             : status == PQTRANS_INERROR ? "ROLLBACK; " : "");
      break;

    case STEP_STATEMENT:
      {
        const BastionSqlRange *range = &g_array_index (self->statements, BastionSqlRange,
                                                       self->next_statement);

        sql = g_strndup (self->sql + range->start, range->end - range->start);
        self->position_offset = g_utf8_strlen (self->sql, range->start);
        self->next_statement++;
        extended = TRUE;
      }
      break;

    case STEP_CLOSE:
      sql = g_strdup ("COMMIT");
      break;

    case STEP_ROLLBACK:
      sql = g_strdup ("ROLLBACK");
      break;

    case STEP_NONE:
    default:
      g_assert_not_reached ();
    }

  if (!send_command (self, sql, extended))
    _bastion_query_finish (self);
}

static void
envelope_rollback (BastionQuery *self)
{
  PGconn *conn = _bastion_query_get_conn (self);

  self->rollback_pending = FALSE;
  if (conn == NULL || PQstatus (conn) == CONNECTION_BAD
      || PQtransactionStatus (conn) == PQTRANS_IDLE)
    _bastion_query_finish (self);
  else
    send_step (self, STEP_ROLLBACK);
}

/* The command of the current step returned all its results. */
void
_bastion_query_step_done (BastionQuery *self)
{
  PGconn *conn = _bastion_query_get_conn (self);
  gboolean more = self->statements != NULL && self->next_statement < self->statements->len;

  if (self->step == STEP_NONE || self->step == STEP_CLOSE || self->step == STEP_ROLLBACK
      || conn == NULL || PQstatus (conn) == CONNECTION_BAD)
    {
      _bastion_query_finish (self);
      return;
    }

  if (self->cancel_requested && self->error == NULL && (more || self->step == STEP_OPEN))
    self->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       _("The query was cancelled."));

  if (self->error != NULL)
    {
      /* A cancel request still on its way could hit the ROLLBACK: send it once it arrived. */
      _bastion_query_stop_watching (self);
      if (self->cancel_in_flight)
        self->rollback_pending = TRUE;
      else
        envelope_rollback (self);
      return;
    }

  if (self->step == STEP_OPEN)
    send_step (self, STEP_STATEMENT);
  else if (more)
    send_step (self, STEP_OPEN);
  else
    send_step (self, STEP_CLOSE);
}

/* FALSE (the error recorded) when the text may not run in a read-only session. */
static gboolean
envelope_prepare (BastionQuery *self)
{
  PGconn *conn = _bastion_query_get_conn (self);

  if (PQtransactionStatus (conn) == PQTRANS_INTRANS)
    {
      _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_REFUSED,
                                          _("A transaction begun while writes were allowed is "
                                            "still open. Allow writes again and end it with COMMIT "
                                            "or ROLLBACK."));
      return FALSE;
    }

  if (self->params != NULL)
    {
      /* One statement with its parameters: not split. */
      BastionSqlRange whole = { 0, strlen (self->sql) };

      self->statements = g_array_new (FALSE, FALSE, sizeof (BastionSqlRange));
      g_array_append_val (self->statements, whole);
    }
  else
    self->statements = bastion_sql_split (self->sql);

  for (guint i = 0; i < self->statements->len; i++)
    {
      const BastionSqlRange *range = &g_array_index (self->statements, BastionSqlRange, i);
      g_autofree char *statement = g_strndup (self->sql + range->start,
                                              range->end - range->start);
      g_autofree char *refused = bastion_sql_guard_read_only (statement);

      if (refused != NULL)
        {
          _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_REFUSED, refused);
          self->position = g_utf8_strlen (self->sql, range->start) + 1;
          return FALSE;
        }
    }

  return TRUE;
}

void
bastion_query_set_trusted (BastionQuery *self,
                           gboolean      trusted)
{
  g_return_if_fail (BASTION_IS_QUERY (self));
  g_return_if_fail (self->state == BASTION_QUERY_STATE_NEW);

  self->trusted = !!trusted;
}

static void
cancel_sent_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(BastionQuery) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_database_cancel_finish (BASTION_DATABASE (object), result, &error))
    g_debug ("Cancel request failed: %s", error->message);

  if (self->cancel_in_flight)
    {
      self->cancel_in_flight = FALSE;
      if (self->rollback_pending)
        envelope_rollback (self);
      else if (self->finish_deferred)
        _bastion_query_finish (self);
    }
}

void
bastion_query_cancel (BastionQuery *self)
{
  gboolean held;

  g_return_if_fail (BASTION_IS_QUERY (self));

  if (self->state != BASTION_QUERY_STATE_RUNNING && self->state != BASTION_QUERY_STATE_PAUSED)
    return;

  if (self->cancel_requested && self->state == BASTION_QUERY_STATE_RUNNING)
    return;

  held = _bastion_query_is_held (self);
  self->cancel_requested = TRUE;
  self->cancel_in_flight = TRUE;
  bastion_database_cancel_async (self->database, NULL, cancel_sent_cb, g_object_ref (self));

  if (self->state == BASTION_QUERY_STATE_PAUSED)
    {
      /* Drop what is left; the connection is free once the server says it is done. */
      self->discard = TRUE;
      g_clear_pointer (&self->pending, PQclear);
      _bastion_query_resume (self);
    }
  else if (held)
    {
      /* Whoever held it takes no more rows: drop them, including a batch not yet out, and
       * read on until the server ends the statement. */
      self->discard = TRUE;
      g_clear_pointer (&self->batch, bastion_result_batch_unref);
      if (!self->sending)
        _bastion_query_read_again (self);
    }
}

static gboolean
cancel_idle_cb (gpointer user_data)
{
  bastion_query_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
cancelled_cb (GCancellable *cancellable,
              BastionQuery *self)
{
  g_autoptr(GSource) idle = g_idle_source_new ();

  /* May be called from another thread, and must not disconnect itself: go through an idle
   * (above redraw, like the rest of the query's work). */
  g_source_set_callback (idle, cancel_idle_cb, g_object_ref (self), g_object_unref);
  g_source_set_priority (idle, QUERY_PRIORITY);
  g_source_set_static_name (idle, "[bastion] query cancelled");
  g_source_attach (idle, self->context);
}

static void
watch_cancellable (BastionQuery *self,
                   GCancellable *cancellable)
{
  if (cancellable == NULL)
    return;

  self->cancellable = g_object_ref (cancellable);
  self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);
}

void
bastion_query_run_async (BastionQuery        *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (BASTION_IS_QUERY (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_query_run_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->state != BASTION_QUERY_STATE_NEW)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                               _("This query has already run. Run it again as a new query."));
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  if (!bastion_database_acquire (self->database, self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  self->context = g_main_context_ref_thread_default ();
  self->start_time = g_get_monotonic_time ();
  self->task = g_steal_pointer (&task);
  _bastion_query_set_state (self, BASTION_QUERY_STATE_RUNNING);

  if (use_envelope (self))
    {
      if (!envelope_prepare (self))
        {
          _bastion_query_finish (self);
          return;
        }
      if (self->statements->len == 0)
        {
          /* Nothing but comments and white space. */
          _bastion_query_finish (self);
          return;
        }
      watch_cancellable (self, cancellable);
      send_step (self, STEP_OPEN);
    }
  else
    {
      watch_cancellable (self, cancellable);
      if (!send_command (self, self->sql, self->params != NULL))
        {
          _bastion_query_finish (self);
          return;
        }
    }

  if (self->state == BASTION_QUERY_STATE_RUNNING)
    bastion_database_update_transaction_status (self->database);
}

gboolean
bastion_query_run_finish (BastionQuery  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_query_fetch_more_async (BastionQuery        *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_QUERY (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_query_fetch_more_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->state != BASTION_QUERY_STATE_PAUSED)
    {
      /* Nothing more to fetch. */
      if (self->error != NULL)
        g_task_return_error (task, g_error_copy (self->error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  if (self->task != NULL)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_BUSY,
                               _("More rows are already being fetched."));
      return;
    }

  self->cap += self->max_rows;
  self->task = g_steal_pointer (&task);
  watch_cancellable (self, cancellable);
  _bastion_query_resume (self);
}

gboolean
bastion_query_fetch_more_finish (BastionQuery  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
