/* bastion-query.c
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
#include "bastion-query-private.h"
#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

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

static void process   (BastionQuery *self);
static void finish    (BastionQuery *self);
static void step_done (BastionQuery *self);

static void
set_state (BastionQuery      *self,
           BastionQueryState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MORE_AVAILABLE]);
}

/* A cancel reads on, held or not, until the server ended the statement. */
static gboolean
is_held (BastionQuery *self)
{
  return self->held && !self->cancel_requested;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
stop_watching (BastionQuery *self)
{
  clear_source (&self->watch);
  clear_source (&self->resume);
  clear_source (&self->nudge);
}

static void
disconnect_cancellable (BastionQuery *self)
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
  stop_watching (self);
  disconnect_cancellable (self);
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

static void read_again (BastionQuery *self);

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
        stop_watching (self);
      else
        read_again (self);
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

/* Receiving */

static PGconn *
get_conn (BastionQuery *self)
{
  return bastion_database_get_pgconn (self->database);
}

static void
emit_batch (BastionQuery *self)
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

static void
begin_result_set (BastionQuery   *self,
                  const PGresult *res)
{
  guint n = PQnfields (res);

  emit_batch (self);

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

static void
record_client_error (BastionQuery *self,
                     int           code,
                     const char   *message)
{
  if (self->error == NULL)
    self->error = g_error_new_literal (BASTION_DATABASE_ERROR, code, message);
}

static gboolean
cancel_timeout_cb (gpointer user_data)
{
  BastionQuery *self = user_data;

  g_debug ("The cancel request is still on its way; finishing the query anyway");
  g_clear_pointer (&self->cancel_timeout, g_source_unref);
  self->cancel_in_flight = FALSE;
  if (self->finish_deferred)
    finish (self);

  return G_SOURCE_REMOVE;
}

static void
finish (BastionQuery *self)
{
  g_autoptr(GTask) task = NULL;
  PGconn *conn;
  gboolean lost;

  /* A cancel request still travelling could hit the connection's next statement: the query
   * ends (and frees the connection) only once it arrived. */
  if (self->cancel_in_flight)
    {
      stop_watching (self);
      if (!self->finish_deferred)
        {
          self->finish_deferred = TRUE;
          self->cancel_timeout = g_timeout_source_new_seconds (5);
          g_source_set_callback (self->cancel_timeout, cancel_timeout_cb, g_object_ref (self),
                                 g_object_unref);
          g_source_attach (self->cancel_timeout, self->context);
        }
      return;
    }

  if (self->cancel_timeout != NULL)
    {
      g_source_destroy (self->cancel_timeout);
      g_clear_pointer (&self->cancel_timeout, g_source_unref);
    }
  self->finish_deferred = FALSE;

  conn = get_conn (self);
  lost = conn == NULL || PQstatus (conn) == CONNECTION_BAD;

  g_object_ref (self);

  stop_watching (self);
  disconnect_cancellable (self);
  g_clear_pointer (&self->pending, PQclear);
  emit_batch (self);
  self->end_time = g_get_monotonic_time ();

  if (lost)
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
  else
    {
      if (self->cancel_requested && (self->error == NULL || g_strcmp0 (self->sqlstate, "57014") == 0))
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

  set_state (self, BASTION_QUERY_STATE_FINISHED);

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

static void
pause_at_cap (BastionQuery *self,
              PGresult     *row)
{
  g_autoptr(GTask) task = NULL;

  self->pending = row;
  emit_batch (self);
  stop_watching (self);
  disconnect_cancellable (self);
  set_state (self, BASTION_QUERY_STATE_PAUSED);

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
    emit_batch (self);
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

/* Returns FALSE when the query paused and keeps @res. */
static gboolean
handle_result (BastionQuery *self,
               PGresult     *res)
{
  PGconn *conn = get_conn (self);

  if (self->step != STEP_NONE && self->step != STEP_STATEMENT)
    return handle_envelope_result (self, res);

  switch (PQresultStatus (res))
    {
    case PGRES_SINGLE_TUPLE:
      if (self->discard)
        break;
      if (!self->in_result)
        begin_result_set (self, res);
      if (self->retain_rows && self->cap > 0 && self->n_retained >= self->cap)
        {
          pause_at_cap (self, res);
          return FALSE;
        }
      add_row (self, res);
      break;

    case PGRES_TUPLES_OK:
      /* The end of a row set (in single-row mode it carries no rows). */
      if (!self->discard)
        {
          if (!self->in_result)
            begin_result_set (self, res);
          for (int r = 0; r < PQntuples (res); r++)
            {
              /* Not reached in single-row mode; kept for completeness. */
              if (self->batch == NULL)
                self->batch = bastion_result_batch_new (self->n_columns, self->batch_size);
              for (guint i = 0; i < self->n_columns; i++)
                bastion_result_batch_append_cell (self->batch, PQgetvalue (res, r, i),
                                                  PQgetlength (res, r, i),
                                                  PQgetisnull (res, r, i));
              self->n_rows++;
            }
          emit_batch (self);
        }
      self->in_result = FALSE;
      g_free (self->command_status);
      self->command_status = g_strdup (PQcmdStatus (res));
      break;

    case PGRES_COMMAND_OK:
      g_free (self->command_status);
      self->command_status = g_strdup (PQcmdStatus (res));
      break;

    case PGRES_EMPTY_QUERY:
      break;

    case PGRES_COPY_IN:
      record_client_error (self, BASTION_DATABASE_ERROR_FAILED,
                           _("COPY … FROM STDIN is not supported here. Use INSERT instead."));
      PQputCopyEnd (conn, "COPY FROM STDIN is not supported by Bastion");
      break;

    case PGRES_COPY_OUT:
      record_client_error (self, BASTION_DATABASE_ERROR_FAILED,
                           _("COPY … TO STDOUT is not supported here. Use SELECT instead."));
      self->in_copy_out = TRUE;
      break;

    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
      emit_batch (self);
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
    clear_source (&self->watch);

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
  PGconn *conn = get_conn (self);
  gint64 slice_end = g_get_monotonic_time () + SLICE_USEC;
  gboolean first_slice = !self->first_batch_sent;

  g_object_ref (self);
  self->batch_emitted = FALSE;

  while (self->state == BASTION_QUERY_STATE_RUNNING)
    {
      PGresult *res;

      /* Held: not another row (nor a continue_later()) until bastion_query_set_held(). */
      if (is_held (self))
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
          finish (self);
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
            emit_batch (self);
          if (PQstatus (conn) == CONNECTION_BAD)
            finish (self);
          break;
        }
      else
        res = PQgetResult (conn);

      if (res == NULL)
        {
          step_done (self);
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
  PGconn *conn = get_conn (self);

  if (conn == NULL)
    {
      finish (self);
      return G_SOURCE_REMOVE;
    }

  if (condition & G_IO_OUT)
    {
      int r = PQflush (conn);

      if (r < 0)
        {
          finish (self);
          return G_SOURCE_REMOVE;
        }
      if (r == 0)
        {
          /* Everything is sent: from now on only reading matters (not at all while held). */
          g_source_destroy (self->watch);
          g_clear_pointer (&self->watch, g_source_unref);
          self->sending = FALSE;
          if (is_held (self))
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
          record_client_error (self, BASTION_DATABASE_ERROR_CONNECTION_LOST, why);
          if (PQstatus (conn) != CONNECTION_BAD)
            g_warning ("Reading from the database failed on a good connection: %s", why);
          finish (self);
          return G_SOURCE_REMOVE;
        }
    }

  process (self);

  return G_SOURCE_CONTINUE;
}

static void
watch_socket (BastionQuery *self,
              gboolean      want_write)
{
  PGconn *conn = get_conn (self);
  GIOCondition condition = G_IO_IN | G_IO_ERR | G_IO_HUP;

  stop_watching (self);

  self->sending = !!want_write;
  if (want_write)
    condition |= G_IO_OUT;
  else if (is_held (self))
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
  clear_source (&self->resume);
  clear_source (&self->nudge);
  if (self->state != BASTION_QUERY_STATE_RUNNING)
    return G_SOURCE_REMOVE;

  process (self);

  /* The slice ended waiting for the network: watch the socket again. */
  if (self->state == BASTION_QUERY_STATE_RUNNING && self->resume == NULL && self->watch == NULL)
    watch_socket (self, FALSE);

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
static void
read_again (BastionQuery *self)
{
  watch_socket (self, FALSE);
  clear_source (&self->resume);
  clear_source (&self->nudge);
  self->resume = g_idle_source_new ();
  g_source_set_callback (self->resume, resume_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->resume, "[bastion] query resume");
  g_source_set_priority (self->resume, QUERY_PRIORITY);
  g_source_attach (self->resume, self->context);
}

static void
resume (BastionQuery *self)
{
  set_state (self, BASTION_QUERY_STATE_RUNNING);
  read_again (self);
}

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
  PGconn *conn = get_conn (self);
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

      record_client_error (self, BASTION_DATABASE_ERROR_FAILED, why);
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

  watch_socket (self, flushed == 1);
  return TRUE;
}

static void
send_step (BastionQuery *self,
           EnvelopeStep  step)
{
  PGconn *conn = get_conn (self);
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
    finish (self);
}

static void
envelope_rollback (BastionQuery *self)
{
  PGconn *conn = get_conn (self);

  self->rollback_pending = FALSE;
  if (conn == NULL || PQstatus (conn) == CONNECTION_BAD
      || PQtransactionStatus (conn) == PQTRANS_IDLE)
    finish (self);
  else
    send_step (self, STEP_ROLLBACK);
}

/* The command of the current step returned all its results. */
static void
step_done (BastionQuery *self)
{
  PGconn *conn = get_conn (self);
  gboolean more = self->statements != NULL && self->next_statement < self->statements->len;

  if (self->step == STEP_NONE || self->step == STEP_CLOSE || self->step == STEP_ROLLBACK
      || conn == NULL || PQstatus (conn) == CONNECTION_BAD)
    {
      finish (self);
      return;
    }

  if (self->cancel_requested && self->error == NULL && (more || self->step == STEP_OPEN))
    self->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       _("The query was cancelled."));

  if (self->error != NULL)
    {
      /* A cancel request still on its way could hit the ROLLBACK: send it once it arrived. */
      stop_watching (self);
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
  PGconn *conn = get_conn (self);

  if (PQtransactionStatus (conn) == PQTRANS_INTRANS)
    {
      record_client_error (self, BASTION_DATABASE_ERROR_REFUSED,
                           _("A transaction begun while writes were allowed is still open. "
                             "Allow writes again and end it with COMMIT or ROLLBACK."));
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
          record_client_error (self, BASTION_DATABASE_ERROR_REFUSED, refused);
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
        finish (self);
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

  held = is_held (self);
  self->cancel_requested = TRUE;
  self->cancel_in_flight = TRUE;
  bastion_database_cancel_async (self->database, NULL, cancel_sent_cb, g_object_ref (self));

  if (self->state == BASTION_QUERY_STATE_PAUSED)
    {
      /* Drop what is left; the connection is free once the server says it is done. */
      self->discard = TRUE;
      g_clear_pointer (&self->pending, PQclear);
      resume (self);
    }
  else if (held)
    {
      /* Whoever held it takes no more rows: drop them, including a batch not yet out, and
       * read on until the server ends the statement. */
      self->discard = TRUE;
      g_clear_pointer (&self->batch, bastion_result_batch_unref);
      if (!self->sending)
        read_again (self);
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
  set_state (self, BASTION_QUERY_STATE_RUNNING);

  if (use_envelope (self))
    {
      if (!envelope_prepare (self))
        {
          finish (self);
          return;
        }
      if (self->statements->len == 0)
        {
          /* Nothing but comments and white space. */
          finish (self);
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
          finish (self);
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
  resume (self);
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
