/* bastion-query.c
 *
 * One statement text run on a BastionDatabase, its rows handed out in batches. Here: the
 * object, its properties and signals, and how a run ends. The parts live beside it:
 * bastion-query-receive.c (libpq's results, read in slices) and bastion-query-run.c (run,
 * fetch more, cancel, and the read-only envelope); they share bastion-query-impl-private.h.
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

G_DEFINE_FINAL_TYPE (BastionQuery, bastion_query, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DATABASE,
  PROP_SQL,
  PROP_MAX_ROWS,
  PROP_RETAIN_ROWS,
  PROP_BATCH_SIZE,
  PROP_STATE,
  PROP_MORE_AVAILABLE,
  PROP_N_ROWS,
  PROP_HELD,
  N_PROPS
};

enum {
  COLUMNS_CHANGED,
  FIRST_BATCH,
  BATCH,
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

void
_bastion_query_set_state (BastionQuery      *self,
                          BastionQueryState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MORE_AVAILABLE]);
}

/* A cancel reads on, held or not, until the server ended the statement. */
gboolean
_bastion_query_is_held (BastionQuery *self)
{
  return self->held && !self->cancel_requested;
}

void
_bastion_query_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
_bastion_query_stop_watching (BastionQuery *self)
{
  _bastion_query_clear_source (&self->watch);
  _bastion_query_clear_source (&self->resume);
  _bastion_query_clear_source (&self->nudge);
}

void
_bastion_query_disconnect_cancellable (BastionQuery *self)
{
  if (self->cancellable != NULL)
    {
      g_cancellable_disconnect (self->cancellable, self->cancelled_id);
      self->cancelled_id = 0;
      g_clear_object (&self->cancellable);
    }
}

static void
bastion_query_dispose (GObject *object)
{
  BastionQuery *self = (BastionQuery *)object;

  /* Running queries keep themselves alive through their watch; a paused one may be dropped. */
  _bastion_query_stop_watching (self);
  _bastion_query_disconnect_cancellable (self);
  if (self->cancel_timeout != NULL)
    {
      g_source_destroy (self->cancel_timeout);
      g_clear_pointer (&self->cancel_timeout, g_source_unref);
    }
  if (self->state == BASTION_QUERY_STATE_PAUSED && self->database != NULL)
    bastion_database_disconnect (self->database);
  if (self->database != NULL)
    bastion_database_release (self->database, self);
  g_clear_pointer (&self->pending, PQclear);
  g_clear_pointer (&self->batch, bastion_result_batch_unref);
  g_clear_object (&self->model);
  g_clear_object (&self->database);

  G_OBJECT_CLASS (bastion_query_parent_class)->dispose (object);
}

static void
bastion_query_finalize (GObject *object)
{
  BastionQuery *self = (BastionQuery *)object;

  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->sql, g_free);
  g_clear_pointer (&self->params, g_strfreev);
  g_clear_pointer (&self->statements, g_array_unref);
  g_clear_error (&self->error);
  g_clear_pointer (&self->sqlstate, g_free);
  g_clear_pointer (&self->detail, g_free);
  g_clear_pointer (&self->hint, g_free);
  g_clear_pointer (&self->command_status, g_free);
  g_clear_pointer (&self->column_names, g_strfreev);
  g_clear_pointer (&self->column_types, g_free);

  G_OBJECT_CLASS (bastion_query_parent_class)->finalize (object);
}

static void
bastion_query_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  BastionQuery *self = BASTION_QUERY (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      g_value_set_object (value, self->database);
      break;

    case PROP_SQL:
      g_value_set_string (value, self->sql);
      break;

    case PROP_MAX_ROWS:
      g_value_set_uint (value, self->max_rows);
      break;

    case PROP_RETAIN_ROWS:
      g_value_set_boolean (value, self->retain_rows);
      break;

    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;

    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;

    case PROP_MORE_AVAILABLE:
      g_value_set_boolean (value, bastion_query_get_more_available (self));
      break;

    case PROP_N_ROWS:
      g_value_set_uint64 (value, self->n_rows);
      break;

    case PROP_HELD:
      g_value_set_boolean (value, self->held);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  BastionQuery *self = BASTION_QUERY (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      self->database = g_value_dup_object (value);
      break;

    case PROP_SQL:
      self->sql = g_value_dup_string (value);
      break;

    case PROP_MAX_ROWS:
      bastion_query_set_max_rows (self, g_value_get_uint (value));
      break;

    case PROP_RETAIN_ROWS:
      bastion_query_set_retain_rows (self, g_value_get_boolean (value));
      break;

    case PROP_BATCH_SIZE:
      bastion_query_set_batch_size (self, g_value_get_uint (value));
      break;

    case PROP_HELD:
      bastion_query_set_held (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_class_init (BastionQueryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = bastion_query_dispose;
  object_class->finalize = bastion_query_finalize;
  object_class->get_property = bastion_query_get_property;
  object_class->set_property = bastion_query_set_property;

  properties[PROP_DATABASE] =
    g_param_spec_object ("database", NULL, NULL, BASTION_TYPE_DATABASE, construct);
  properties[PROP_SQL] = g_param_spec_string ("sql", NULL, NULL, NULL, construct);
  /* 0: no cap. */
  properties[PROP_MAX_ROWS] =
    g_param_spec_uint ("max-rows", NULL, NULL, 0, G_MAXUINT, BASTION_QUERY_DEFAULT_MAX_ROWS, rw);
  properties[PROP_RETAIN_ROWS] = g_param_spec_boolean ("retain-rows", NULL, NULL, TRUE, rw);
  properties[PROP_BATCH_SIZE] =
    g_param_spec_uint ("batch-size", NULL, NULL, 1, 1000000, BASTION_QUERY_DEFAULT_BATCH_SIZE, rw);
  /* A BastionQueryState. */
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, BASTION_QUERY_STATE_NEW, BASTION_QUERY_STATE_FINISHED,
                      BASTION_QUERY_STATE_NEW, ro);
  properties[PROP_MORE_AVAILABLE] =
    g_param_spec_boolean ("more-available", NULL, NULL, FALSE, ro);
  properties[PROP_N_ROWS] = g_param_spec_uint64 ("n-rows", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_HELD] = g_param_spec_boolean ("held", NULL, NULL, FALSE, rw);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A new result set began: the columns are known, earlier rows are gone from the model. */
  signals[COLUMNS_CHANGED] =
    g_signal_new ("columns-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The first rows of the query arrived (emitted before ::batch for them). */
  signals[FIRST_BATCH] =
    g_signal_new ("first-batch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Every batch of rows, retained or not: writers stream from here. */
  signals[BATCH] =
    g_signal_new ("batch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  BASTION_TYPE_RESULT_BATCH | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* Done, failed or cancelled: see :n-rows, bastion_query_get_elapsed_usec(), _get_error(). */
  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bastion_query_init (BastionQuery *self)
{
  self->max_rows = BASTION_QUERY_DEFAULT_MAX_ROWS;
  self->batch_size = BASTION_QUERY_DEFAULT_BATCH_SIZE;
  self->retain_rows = TRUE;
  self->model = bastion_result_model_new ();
  self->column_names = g_new0 (char *, 1);
}

BastionQuery *
bastion_query_new (BastionDatabase *database,
                   const char      *sql)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (database), NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  return g_object_new (BASTION_TYPE_QUERY, "database", database, "sql", sql, NULL);
}

BastionQuery *
bastion_query_new_with_params (BastionDatabase    *database,
                               const char         *sql,
                               const char * const *params)
{
  BastionQuery *self = bastion_query_new (database, sql);

  if (self != NULL)
    self->params = g_strdupv ((char **)(params ? params : (const char * const[]) { NULL }));

  return self;
}

BastionDatabase *
bastion_query_get_database (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->database;
}

const char *
bastion_query_get_sql (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->sql;
}

guint
bastion_query_get_max_rows (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);
  return self->max_rows;
}

void
bastion_query_set_max_rows (BastionQuery *self,
                            guint         max_rows)
{
  g_return_if_fail (BASTION_IS_QUERY (self));

  if (self->max_rows != max_rows)
    {
      self->max_rows = max_rows;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ROWS]);
    }
}

gboolean
bastion_query_get_retain_rows (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), FALSE);
  return self->retain_rows;
}

void
bastion_query_set_retain_rows (BastionQuery *self,
                               gboolean      retain_rows)
{
  g_return_if_fail (BASTION_IS_QUERY (self));
  g_return_if_fail (self->state == BASTION_QUERY_STATE_NEW);

  retain_rows = !!retain_rows;
  if (self->retain_rows != retain_rows)
    {
      self->retain_rows = retain_rows;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETAIN_ROWS]);
    }
}

guint
bastion_query_get_batch_size (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);
  return self->batch_size;
}

void
bastion_query_set_batch_size (BastionQuery *self,
                              guint         batch_size)
{
  g_return_if_fail (BASTION_IS_QUERY (self));
  g_return_if_fail (batch_size > 0);

  if (self->batch_size != batch_size)
    {
      self->batch_size = batch_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BATCH_SIZE]);
    }
}

gboolean
bastion_query_get_held (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), FALSE);
  return self->held;
}

void
bastion_query_set_held (BastionQuery *self,
                        gboolean      held)
{
  g_return_if_fail (BASTION_IS_QUERY (self));

  held = !!held;
  if (self->held == held)
    return;

  self->held = held;

  /* Only a running query reads; a paused one follows the flag once fetched more, a cancelled
   * one ignores it, and one still sending its SQL stops reading once that is out. */
  if (self->state == BASTION_QUERY_STATE_RUNNING && !self->cancel_requested && !self->sending)
    {
      if (held)
        _bastion_query_stop_watching (self);
      else
        _bastion_query_read_again (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HELD]);
}

BastionQueryState
bastion_query_get_state (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), BASTION_QUERY_STATE_NEW);
  return self->state;
}

gboolean
bastion_query_get_more_available (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), FALSE);
  return self->state == BASTION_QUERY_STATE_PAUSED;
}

BastionResultModel *
bastion_query_get_model (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->model;
}

guint
bastion_query_get_n_columns (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);
  return self->n_columns;
}

const char * const *
bastion_query_get_column_names (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return (const char * const *)self->column_names;
}

const guint32 *
bastion_query_get_column_types (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->column_types;
}

guint64
bastion_query_get_n_rows (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);
  return self->n_rows;
}

gint64
bastion_query_get_elapsed_usec (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);

  if (self->start_time == 0)
    return 0;
  if (self->end_time == 0)
    return g_get_monotonic_time () - self->start_time;
  return self->end_time - self->start_time;
}

const char *
bastion_query_get_command_status (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->command_status;
}

const GError *
bastion_query_get_error (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->error;
}

const char *
bastion_query_get_sqlstate (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->sqlstate;
}

guint
bastion_query_get_error_position (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), 0);
  return self->position;
}

const char *
bastion_query_get_error_detail (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->detail;
}

const char *
bastion_query_get_error_hint (BastionQuery *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY (self), NULL);
  return self->hint;
}

void
_bastion_query_emit_batch (BastionQuery *self)
{
  g_autoptr(BastionResultBatch) batch = NULL;

  if (self->batch == NULL || bastion_result_batch_get_n_rows (self->batch) == 0)
    return;

  batch = g_steal_pointer (&self->batch);
  bastion_result_batch_seal (batch);
  self->last_emit = g_get_monotonic_time ();
  self->batch_emitted = TRUE;

  if (!self->first_batch_sent)
    {
      self->first_batch_sent = TRUE;
      g_signal_emit (self, signals[FIRST_BATCH], 0);
    }

  if (self->retain_rows && !self->discard)
    bastion_result_model_append_batch (self->model, batch);

  g_signal_emit (self, signals[BATCH], 0, batch);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ROWS]);
}

void
_bastion_query_begin_result_set (BastionQuery   *self,
                                 const PGresult *res)
{
  guint n = PQnfields (res);

  _bastion_query_emit_batch (self);

  g_strfreev (self->column_names);
  g_free (self->column_types);
  self->column_names = g_new0 (char *, n + 1);
  self->column_types = g_new0 (guint32, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      self->column_names[i] = g_strdup (PQfname (res, i));
      self->column_types[i] = PQftype (res, i);
    }
  self->n_columns = n;
  self->n_rows = 0;
  self->n_retained = 0;
  self->cap = self->max_rows;
  self->in_result = TRUE;

  bastion_result_model_set_columns (self->model, n, (const char * const *)self->column_names,
                                    self->column_types);
  g_signal_emit (self, signals[COLUMNS_CHANGED], 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ROWS]);
}

static gboolean
cancel_timeout_cb (gpointer user_data)
{
  BastionQuery *self = user_data;

  g_debug ("The cancel request is still on its way; finishing the query anyway");
  g_clear_pointer (&self->cancel_timeout, g_source_unref);
  self->cancel_in_flight = FALSE;
  if (self->finish_deferred)
    _bastion_query_finish (self);

  return G_SOURCE_REMOVE;
}

/* A cancel request still travelling could hit the connection's next statement: the query ends
 * (and frees the connection) only once it arrived, or after 5 s. */
static void
defer_until_cancel_arrives (BastionQuery *self)
{
  _bastion_query_stop_watching (self);
  if (self->finish_deferred)
    return;

  self->finish_deferred = TRUE;
  self->cancel_timeout = g_timeout_source_new_seconds (5);
  g_source_set_callback (self->cancel_timeout, cancel_timeout_cb, g_object_ref (self),
                         g_object_unref);
  g_source_attach (self->cancel_timeout, self->context);
}

static void
end_lost (BastionQuery *self,
          PGconn       *conn)
{
  g_autofree char *why = NULL;

  if (self->error != NULL)
    why = g_strdup (self->error->message);
  else if (conn != NULL)
    why = g_strstrip (g_strdup (PQerrorMessage (conn)));
  g_strdelimit (why, "\r\n", ' ');

  g_clear_error (&self->error);
  self->error = g_error_new (BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECTION_LOST,
                             _("The connection to the database was lost (%s). "
                               "Connect again to continue."),
                             why && *why ? why : _("no reason given"));
  bastion_database_release (self->database, self);
  bastion_database_connection_lost (self->database);
}

static void
end_alive (BastionQuery *self)
{
  if (self->cancel_requested &&
      (self->error == NULL || g_strcmp0 (self->sqlstate, "57014") == 0))
    {
      /* A cancelled paused query has no server error when its rows were all sent already. */
      if (self->error != NULL || self->discard)
        {
          g_clear_error (&self->error);
          self->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             _("The query was cancelled."));
        }
    }
  bastion_database_release (self->database, self);
  bastion_database_update_transaction_status (self->database);
}

void
_bastion_query_finish (BastionQuery *self)
{
  g_autoptr(GTask) task = NULL;
  PGconn *conn;
  gboolean lost;

  if (self->cancel_in_flight)
    {
      defer_until_cancel_arrives (self);
      return;
    }

  if (self->cancel_timeout != NULL)
    {
      g_source_destroy (self->cancel_timeout);
      g_clear_pointer (&self->cancel_timeout, g_source_unref);
    }
  self->finish_deferred = FALSE;

  conn = _bastion_query_get_conn (self);
  lost = conn == NULL || PQstatus (conn) == CONNECTION_BAD;

  g_object_ref (self);

  _bastion_query_stop_watching (self);
  _bastion_query_disconnect_cancellable (self);
  g_clear_pointer (&self->pending, PQclear);
  _bastion_query_emit_batch (self);
  self->end_time = g_get_monotonic_time ();

  if (lost)
    end_lost (self, conn);
  else
    end_alive (self);

  _bastion_query_set_state (self, BASTION_QUERY_STATE_FINISHED);

  g_debug ("Query finished: %" G_GUINT64_FORMAT " rows in %" G_GINT64_FORMAT " us%s%s",
           self->n_rows, bastion_query_get_elapsed_usec (self),
           self->error ? ", " : "", self->error ? self->error->message : "");

  task = g_steal_pointer (&self->task);
  if (task != NULL)
    {
      if (self->error != NULL)
        g_task_return_error (task, g_error_copy (self->error));
      else
        g_task_return_boolean (task, TRUE);
    }

  g_signal_emit (self, signals[FINISHED], 0);
  g_object_unref (self);
}
