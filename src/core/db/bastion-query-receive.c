/* bastion-query-receive.c
 *
 * Receiving: libpq's results in single-row mode, copied into batches, read in slices that
 * leave the main loop time to draw, paused at the row cap or while held.
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

PGconn *
_bastion_query_get_conn (BastionQuery *self)
{
  return bastion_database_get_pgconn (self->database);
}

static void
record_error (BastionQuery   *self,
              const PGresult *res)
{
  const char *primary;
  const char *state;
  const char *position;

  if (self->error != NULL)
    return;

  primary = PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY);
  state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
  position = PQresultErrorField (res, PG_DIAG_STATEMENT_POSITION);

  self->sqlstate = g_strdup (state);
  self->detail = g_strdup (PQresultErrorField (res, PG_DIAG_MESSAGE_DETAIL));
  self->hint = g_strdup (PQresultErrorField (res, PG_DIAG_MESSAGE_HINT));
  self->position = position ? (guint)g_ascii_strtoull (position, NULL, 10) : 0;
  if (self->position > 0)
    self->position += self->position_offset;

  if (primary == NULL)
    {
      /* libpq's own errors (a lost connection) have no fields, only the text. */
      g_autofree char *text = g_strstrip (g_strdup (PQresultErrorMessage (res)));

      self->error = g_error_new (BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_SERVER,
                                 "%s", *text ? text : _("Unknown error"));
    }
  else if (g_strcmp0 (state, "25006") == 0)
    self->error = g_error_new (BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY,
                               _("The session is read-only (%s). Enable writes to change data."),
                               primary);
  else
    self->error = g_error_new_literal (BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_SERVER,
                                       primary);
}

void
_bastion_query_record_client_error (BastionQuery *self,
                                    int           code,
                                    const char   *message)
{
  if (self->error == NULL)
    self->error = g_error_new_literal (BASTION_DATABASE_ERROR, code, message);
}

static void
pause_at_cap (BastionQuery *self,
              PGresult     *row)
{
  g_autoptr(GTask) task = NULL;

  self->pending = row;
  _bastion_query_emit_batch (self);
  _bastion_query_stop_watching (self);
  _bastion_query_disconnect_cancellable (self);
  _bastion_query_set_state (self, BASTION_QUERY_STATE_PAUSED);

  task = g_steal_pointer (&self->task);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
add_row (BastionQuery   *self,
         const PGresult *res)
{
  if (self->batch == NULL)
    self->batch = bastion_result_batch_new (self->n_columns, self->batch_size);

  for (guint i = 0; i < self->n_columns; i++)
    {
      if (PQgetisnull (res, 0, i))
        bastion_result_batch_append_cell (self->batch, NULL, 0, TRUE);
      else
        bastion_result_batch_append_cell (self->batch, PQgetvalue (res, 0, i),
                                          PQgetlength (res, 0, i), FALSE);
    }

  self->n_rows++;
  self->n_retained++;

  if (bastion_result_batch_get_n_rows (self->batch) >= self->batch_size)
    _bastion_query_emit_batch (self);
}

/* Bastion's own commands around a read-only statement: only their errors count. */
static gboolean
handle_envelope_result (BastionQuery *self,
                        PGresult     *res)
{
  ExecStatusType status = PQresultStatus (res);

  if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE)
    {
      self->position_offset = 0;
      record_error (self, res);
      self->position = 0;
    }
  PQclear (res);
  return TRUE;
}

/* The end of a row set (in single-row mode it carries no rows). */
static void
end_result_set (BastionQuery *self,
                PGresult     *res)
{
  if (!self->discard)
    {
      if (!self->in_result)
        _bastion_query_begin_result_set (self, res);
      for (int r = 0; r < PQntuples (res); r++)
        {
          /* Not reached in single-row mode; kept for completeness. */
          if (self->batch == NULL)
            self->batch = bastion_result_batch_new (self->n_columns, self->batch_size);
          for (guint i = 0; i < self->n_columns; i++)
            bastion_result_batch_append_cell (self->batch, PQgetvalue (res, r, i),
                                              PQgetlength (res, r, i), PQgetisnull (res, r, i));
          self->n_rows++;
        }
      _bastion_query_emit_batch (self);
    }
  self->in_result = FALSE;
  g_free (self->command_status);
  self->command_status = g_strdup (PQcmdStatus (res));
}

/* Returns FALSE when the query paused and keeps @res. */
static gboolean
handle_result (BastionQuery *self,
               PGresult     *res)
{
  PGconn *conn = _bastion_query_get_conn (self);

  if (self->step != STEP_NONE && self->step != STEP_STATEMENT)
    return handle_envelope_result (self, res);

  switch (PQresultStatus (res))
    {
    case PGRES_SINGLE_TUPLE:
      if (self->discard)
        break;
      if (!self->in_result)
        _bastion_query_begin_result_set (self, res);
      if (self->retain_rows && self->cap > 0 && self->n_retained >= self->cap)
        {
          pause_at_cap (self, res);
          return FALSE;
        }
      add_row (self, res);
      break;

    case PGRES_TUPLES_OK:
      end_result_set (self, res);
      break;

    case PGRES_COMMAND_OK:
      g_free (self->command_status);
      self->command_status = g_strdup (PQcmdStatus (res));
      break;

    case PGRES_EMPTY_QUERY:
      break;

    case PGRES_COPY_IN:
      _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_FAILED,
                                          _("COPY … FROM STDIN is not supported here. Use INSERT "
                                            "instead."));
      PQputCopyEnd (conn, "COPY FROM STDIN is not supported by Bastion");
      break;

    case PGRES_COPY_OUT:
      _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_FAILED,
                                          _("COPY … TO STDOUT is not supported here. Use SELECT "
                                            "instead."));
      self->in_copy_out = TRUE;
      break;

    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
      _bastion_query_emit_batch (self);
      self->in_result = FALSE;
      record_error (self, res);
      break;

    case PGRES_NONFATAL_ERROR:
    case PGRES_COPY_BOTH:
    case PGRES_PIPELINE_SYNC:
    case PGRES_PIPELINE_ABORTED:
    default:
      break;
    }

  PQclear (res);
  return TRUE;
}
static gboolean continue_cb (gpointer user_data);

/* Ends a slice: the socket is not watched until the next one, which starts from an idle (at
 * once when nothing else is waiting) or from a timeout above redraw (when frames never stop). */
static void
continue_later (BastionQuery *self)
{
  if (self->resume != NULL)
    return;

  /* While the SQL is still going out the watch also sends; it stays. */
  if (!self->sending)
    _bastion_query_clear_source (&self->watch);

  self->resume = g_idle_source_new ();
  g_source_set_callback (self->resume, continue_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->resume, "[bastion] query continue");
  g_source_set_priority (self->resume, G_PRIORITY_DEFAULT_IDLE);
  g_source_attach (self->resume, self->context);

  self->nudge = g_timeout_source_new (SLICE_GAP_MSEC);
  g_source_set_callback (self->nudge, continue_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->nudge, "[bastion] query continue (due)");
  g_source_set_priority (self->nudge, QUERY_PRIORITY);
  g_source_attach (self->nudge, self->context);
}

/* Takes every result libpq can hand out without waiting. */
static void
process (BastionQuery *self)
{
  PGconn *conn = _bastion_query_get_conn (self);
  gint64 slice_end = g_get_monotonic_time () + SLICE_USEC;
  gboolean first_slice = !self->first_batch_sent;

  g_object_ref (self);
  self->batch_emitted = FALSE;

  while (self->state == BASTION_QUERY_STATE_RUNNING)
    {
      PGresult *res;

      /* Held: not another row (nor a continue_later()) until bastion_query_set_held(). */
      if (_bastion_query_is_held (self))
        break;

      /* One slice per dispatch: libpq may hold many more rows, but a window gets to paint
       * (and the user to scroll or cancel) between slices. */
      if ((first_slice && self->batch_emitted) || g_get_monotonic_time () > slice_end)
        {
          continue_later (self);
          break;
        }

      if (conn == NULL)
        {
          _bastion_query_finish (self);
          break;
        }

      if (self->pending != NULL)
        res = g_steal_pointer (&self->pending);
      else if (self->in_copy_out)
        {
          char *buf = NULL;
          int r = PQgetCopyData (conn, &buf, TRUE);

          if (buf != NULL)
            PQfreemem (buf);
          if (r == 0)
            break;
          if (r < 0)
            self->in_copy_out = FALSE;
          continue;
        }
      else if (PQisBusy (conn))
        {
          /* Waiting for the network: let early rows of a slow query show. */
          if (self->batch != NULL &&
              (!self->first_batch_sent ||
               g_get_monotonic_time () - self->last_emit > PARTIAL_BATCH_USEC))
            _bastion_query_emit_batch (self);
          if (PQstatus (conn) == CONNECTION_BAD)
            _bastion_query_finish (self);
          break;
        }
      else
        res = PQgetResult (conn);

      if (res == NULL)
        {
          _bastion_query_step_done (self);
          break;
        }

      if (!handle_result (self, res))
        break;
    }

  g_object_unref (self);
}

static gboolean
watch_cb (int           fd,
          GIOCondition  condition,
          gpointer      user_data)
{
  BastionQuery *self = user_data;
  PGconn *conn = _bastion_query_get_conn (self);

  if (conn == NULL)
    {
      _bastion_query_finish (self);
      return G_SOURCE_REMOVE;
    }

  if (condition & G_IO_OUT)
    {
      int r = PQflush (conn);

      if (r < 0)
        {
          _bastion_query_finish (self);
          return G_SOURCE_REMOVE;
        }
      if (r == 0)
        {
          /* Everything is sent: from now on only reading matters (not at all while held). */
          g_source_destroy (self->watch);
          g_clear_pointer (&self->watch, g_source_unref);
          self->sending = FALSE;
          if (_bastion_query_is_held (self))
            return G_SOURCE_REMOVE;
          self->watch = g_unix_fd_source_new (PQsocket (conn), G_IO_IN | G_IO_ERR | G_IO_HUP);
          g_source_set_callback (self->watch, G_SOURCE_FUNC (watch_cb),
                                 g_object_ref (self), g_object_unref);
          g_source_set_static_name (self->watch, "[bastion] query");
          g_source_set_priority (self->watch, QUERY_PRIORITY);
          g_source_attach (self->watch, self->context);
        }
    }

  if (condition & (G_IO_IN | G_IO_ERR | G_IO_HUP))
    {
      if (!PQconsumeInput (conn))
        {
          g_autofree char *why = g_strstrip (g_strdup (PQerrorMessage (conn)));

          /* Keep the server's last words (e.g. "terminating connection due to administrator
           * command"), which come as a result before the socket closed. */
          while (!PQisBusy (conn))
            {
              PGresult *res = PQgetResult (conn);

              if (res == NULL)
                break;
              if (PQresultStatus (res) == PGRES_FATAL_ERROR)
                record_error (self, res);
              PQclear (res);
              if (PQstatus (conn) == CONNECTION_BAD && self->error != NULL)
                break;
            }
          _bastion_query_record_client_error (self, BASTION_DATABASE_ERROR_CONNECTION_LOST, why);
          if (PQstatus (conn) != CONNECTION_BAD)
            g_warning ("Reading from the database failed on a good connection: %s", why);
          _bastion_query_finish (self);
          return G_SOURCE_REMOVE;
        }
    }

  process (self);

  return G_SOURCE_CONTINUE;
}

void
_bastion_query_watch_socket (BastionQuery *self,
                             gboolean      want_write)
{
  PGconn *conn = _bastion_query_get_conn (self);
  GIOCondition condition = G_IO_IN | G_IO_ERR | G_IO_HUP;

  _bastion_query_stop_watching (self);

  self->sending = !!want_write;
  if (want_write)
    condition |= G_IO_OUT;
  else if (_bastion_query_is_held (self))
    /* Unread, the socket fills and TCP makes the server wait (see bastion_query_set_held()). */
    return;

  self->watch = g_unix_fd_source_new (PQsocket (conn), condition);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (watch_cb), g_object_ref (self),
                         g_object_unref);
  g_source_set_static_name (self->watch, "[bastion] query");
  g_source_set_priority (self->watch, QUERY_PRIORITY);
  g_source_attach (self->watch, self->context);
}

static gboolean
continue_cb (gpointer user_data)
{
  g_autoptr(BastionQuery) self = g_object_ref (user_data);

  /* Whichever of the two came first; the other is dropped. */
  _bastion_query_clear_source (&self->resume);
  _bastion_query_clear_source (&self->nudge);
  if (self->state != BASTION_QUERY_STATE_RUNNING)
    return G_SOURCE_REMOVE;

  process (self);

  /* The slice ended waiting for the network: watch the socket again. */
  if (self->state == BASTION_QUERY_STATE_RUNNING && self->resume == NULL && self->watch == NULL)
    _bastion_query_watch_socket (self, FALSE);

  return G_SOURCE_REMOVE;
}

static gboolean
resume_cb (gpointer user_data)
{
  BastionQuery *self = user_data;

  g_clear_pointer (&self->resume, g_source_unref);
  process (self);

  return G_SOURCE_REMOVE;
}

/* Reads again after a pause or a hold: rows may already wait in libpq's buffer, where no
 * socket event would announce them. */
void
_bastion_query_read_again (BastionQuery *self)
{
  _bastion_query_watch_socket (self, FALSE);
  _bastion_query_clear_source (&self->resume);
  _bastion_query_clear_source (&self->nudge);
  self->resume = g_idle_source_new ();
  g_source_set_callback (self->resume, resume_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->resume, "[bastion] query resume");
  g_source_set_priority (self->resume, QUERY_PRIORITY);
  g_source_attach (self->resume, self->context);
}

void
_bastion_query_resume (BastionQuery *self)
{
  _bastion_query_set_state (self, BASTION_QUERY_STATE_RUNNING);
  _bastion_query_read_again (self);
}
