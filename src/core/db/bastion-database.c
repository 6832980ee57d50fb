/* bastion-database.c
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
#include "bastion-defaults.h"
#include "bastion-query-private.h"
#include "bastion-query.h"
#include "bastion-secure.h"

/* One PostgreSQL connection driven by libpq's asynchronous API on the GLib main loop: no call here
 * waits on the network. The password lives only in this object's memory (wiped on change and
 * dispose) and reaches libpq through its parameter array. */

struct _BastionDatabase
{
  GObject                   parent_instance;

  /* Owned */
  char                     *hostaddr;
  char                     *host;
  char                     *dbname;
  char                     *user;
  char                     *password;
  char                     *read_only_user;      /* the login while read-only, if any */
  char                     *read_only_password;
  char                     *sslmode;
  char                     *sslrootcert;
  PGconn                   *conn;
  GTask                    *connect_task;

  /* Unowned: the query that holds the connection */
  gpointer                  owner;

  guint                     port;
  guint                     connect_timeout;
  BastionTransactionStatus  transaction_status;

  guint                     read_only : 1;
  guint                     connected : 1;
};

G_DEFINE_FINAL_TYPE (BastionDatabase, bastion_database, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-database-error-quark, bastion_database_error)

enum {
  PROP_0,
  PROP_HOSTADDR,
  PROP_PORT,
  PROP_HOST,
  PROP_DBNAME,
  PROP_USER,
  PROP_SSLMODE,
  PROP_SSLROOTCERT,
  PROP_CONNECT_TIMEOUT,
  PROP_READ_ONLY,
  PROP_CONNECTED,
  PROP_BUSY,
  PROP_TRANSACTION_STATUS,
  N_PROPS
};

enum {
  NOTICE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static gboolean
replace_string (char       **str,
                const char  *value)
{
  if (g_strcmp0 (*str, value) == 0)
    return FALSE;

  g_free (*str);
  *str = g_strdup (value);
  return TRUE;
}

static void
set_connected (BastionDatabase *self,
               gboolean         connected)
{
  connected = !!connected;
  if (self->connected == connected)
    return;

  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

static void
bastion_database_dispose (GObject *object)
{
  BastionDatabase *self = (BastionDatabase *)object;

  g_clear_pointer (&self->conn, PQfinish);
  bastion_secure_clear_str (&self->password);
  bastion_secure_clear_str (&self->read_only_password);
  g_clear_pointer (&self->read_only_user, g_free);

  G_OBJECT_CLASS (bastion_database_parent_class)->dispose (object);
}

static void
bastion_database_finalize (GObject *object)
{
  BastionDatabase *self = (BastionDatabase *)object;

  g_clear_pointer (&self->hostaddr, g_free);
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->dbname, g_free);
  g_clear_pointer (&self->user, g_free);
  g_clear_pointer (&self->sslmode, g_free);
  g_clear_pointer (&self->sslrootcert, g_free);

  G_OBJECT_CLASS (bastion_database_parent_class)->finalize (object);
}

static void
bastion_database_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  BastionDatabase *self = BASTION_DATABASE (object);

  switch (prop_id)
    {
    case PROP_HOSTADDR:
      g_value_set_string (value, self->hostaddr);
      break;

    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;

    case PROP_DBNAME:
      g_value_set_string (value, self->dbname);
      break;

    case PROP_USER:
      g_value_set_string (value, self->user);
      break;

    case PROP_SSLMODE:
      g_value_set_string (value, bastion_database_get_sslmode (self));
      break;

    case PROP_SSLROOTCERT:
      g_value_set_string (value, self->sslrootcert);
      break;

    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout);
      break;

    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;

    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;

    case PROP_BUSY:
      g_value_set_boolean (value, self->owner != NULL);
      break;

    case PROP_TRANSACTION_STATUS:
      g_value_set_int (value, self->transaction_status);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_database_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  BastionDatabase *self = BASTION_DATABASE (object);

  switch (prop_id)
    {
    case PROP_HOSTADDR:
      self->hostaddr = g_value_dup_string (value);
      break;

    case PROP_PORT:
      self->port = g_value_get_uint (value);
      break;

    case PROP_HOST:
      self->host = g_value_dup_string (value);
      break;

    case PROP_DBNAME:
      self->dbname = g_value_dup_string (value);
      break;

    case PROP_USER:
      self->user = g_value_dup_string (value);
      break;

    case PROP_SSLMODE:
      bastion_database_set_sslmode (self, g_value_get_string (value));
      break;

    case PROP_SSLROOTCERT:
      bastion_database_set_sslrootcert (self, g_value_get_string (value));
      break;

    case PROP_CONNECT_TIMEOUT:
      bastion_database_set_connect_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_database_class_init (BastionDatabaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = bastion_database_dispose;
  object_class->finalize = bastion_database_finalize;
  object_class->get_property = bastion_database_get_property;
  object_class->set_property = bastion_database_set_property;

  properties[PROP_HOSTADDR] = g_param_spec_string ("hostaddr", NULL, NULL, "127.0.0.1", construct);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, 65535,
                                             BASTION_DEFAULT_DB_PORT, construct);
  /* The real database host name: TLS verifies the certificate against it. */
  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, NULL, construct);
  properties[PROP_DBNAME] = g_param_spec_string ("dbname", NULL, NULL, NULL, construct);
  properties[PROP_USER] = g_param_spec_string ("user", NULL, NULL, NULL, construct);
  properties[PROP_SSLMODE] = g_param_spec_string ("sslmode", NULL, NULL, NULL, rw);
  properties[PROP_SSLROOTCERT] = g_param_spec_string ("sslrootcert", NULL, NULL, NULL, rw);
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, 3600, 15, rw);
  properties[PROP_READ_ONLY] = g_param_spec_boolean ("read-only", NULL, NULL, TRUE, ro);
  properties[PROP_CONNECTED] = g_param_spec_boolean ("connected", NULL, NULL, FALSE, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  /* A BastionTransactionStatus. */
  properties[PROP_TRANSACTION_STATUS] =
    g_param_spec_int ("transaction-status", NULL, NULL,
                      BASTION_TRANSACTION_IDLE, BASTION_TRANSACTION_UNKNOWN,
                      BASTION_TRANSACTION_IDLE, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A NOTICE or WARNING from the server: (severity, message), e.g. ("NOTICE", "…skipping"). */
  signals[NOTICE] =
    g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
bastion_database_init (BastionDatabase *self)
{
  self->read_only = TRUE;
  self->connect_timeout = 15;
  self->port = BASTION_DEFAULT_DB_PORT;
}

BastionDatabase *
bastion_database_new (const char *hostaddr,
                      guint       port,
                      const char *host,
                      const char *dbname,
                      const char *user)
{
  g_return_val_if_fail (port > 0 && port < 65536, NULL);

  return g_object_new (BASTION_TYPE_DATABASE,
                       "hostaddr", hostaddr ? hostaddr : "127.0.0.1",
                       "port", port,
                       "host", host,
                       "dbname", dbname,
                       "user", user,
                       NULL);
}

const char *
bastion_database_get_hostaddr (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->hostaddr;
}

guint
bastion_database_get_port (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), 0);
  return self->port;
}

const char *
bastion_database_get_host (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->host;
}

const char *
bastion_database_get_dbname (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->dbname;
}

static const char *
login_password (BastionDatabase *self)
{
  return self->read_only && self->read_only_user != NULL ? self->read_only_password
                                                         : self->password;
}

const char *
bastion_database_get_login_user (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);

  return self->read_only && self->read_only_user != NULL ? self->read_only_user : self->user;
}

const char *
bastion_database_get_user (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->user;
}

void
bastion_database_set_password (BastionDatabase *self,
                               const char      *password)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  bastion_secure_clear_str (&self->password);
  self->password = g_strdup (password);
}

void
bastion_database_clear_password (BastionDatabase *self)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  bastion_secure_clear_str (&self->password);
}

const char *
bastion_database_get_sslmode (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);

  if (self->sslmode != NULL)
    return self->sslmode;

  /* A CA file means the user wants the server's name checked. */
  return self->sslrootcert != NULL ? "verify-full" : "prefer";
}

void
bastion_database_set_sslmode (BastionDatabase *self,
                              const char      *sslmode)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  if (replace_string (&self->sslmode, sslmode))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SSLMODE]);
}

const char *
bastion_database_get_sslrootcert (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->sslrootcert;
}

void
bastion_database_set_sslrootcert (BastionDatabase *self,
                                  const char      *path)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  if (replace_string (&self->sslrootcert, path))
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SSLROOTCERT]);
      if (self->sslmode == NULL)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SSLMODE]);
    }
}

guint
bastion_database_get_connect_timeout (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), 0);
  return self->connect_timeout;
}

void
bastion_database_set_connect_timeout (BastionDatabase *self,
                                      guint            seconds)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  if (self->connect_timeout != seconds)
    {
      self->connect_timeout = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
    }
}

gboolean
bastion_database_get_connected (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);
  return self->connected;
}

gboolean
bastion_database_get_busy (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);
  return self->owner != NULL;
}

int
bastion_database_get_server_version (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), 0);
  return self->connected ? PQserverVersion (self->conn) : 0;
}

gboolean
bastion_database_get_read_only (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), TRUE);
  return self->read_only;
}

BastionTransactionStatus
bastion_database_get_transaction_status (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), BASTION_TRANSACTION_UNKNOWN);
  return self->transaction_status;
}

/* Private API for BastionQuery */

PGconn *
bastion_database_get_pgconn (BastionDatabase *self)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), NULL);
  return self->connected ? self->conn : NULL;
}

gboolean
bastion_database_acquire (BastionDatabase  *self,
                          gpointer          owner,
                          GError          **error)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);

  if (!self->connected)
    {
      g_set_error_literal (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_NOT_CONNECTED,
                           _("Not connected to the database. Connect first."));
      return FALSE;
    }

  if (self->owner != NULL && self->owner != owner)
    {
      g_set_error_literal (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_BUSY,
                           _("Another query is still running on this connection. Wait for it, "
                             "or cancel it first."));
      return FALSE;
    }

  if (self->owner == NULL)
    {
      self->owner = owner;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }

  return TRUE;
}

void
bastion_database_release (BastionDatabase *self,
                          gpointer         owner)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  if (self->owner != owner)
    return;

  self->owner = NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

void
bastion_database_update_transaction_status (BastionDatabase *self)
{
  BastionTransactionStatus status = BASTION_TRANSACTION_IDLE;

  g_return_if_fail (BASTION_IS_DATABASE (self));

  if (self->connected && self->conn != NULL)
    {
      switch (PQtransactionStatus (self->conn))
        {
        case PQTRANS_IDLE:
          status = BASTION_TRANSACTION_IDLE;
          break;

        case PQTRANS_ACTIVE:
          status = BASTION_TRANSACTION_ACTIVE;
          break;

        case PQTRANS_INTRANS:
          status = BASTION_TRANSACTION_IN_BLOCK;
          break;

        case PQTRANS_INERROR:
          status = BASTION_TRANSACTION_FAILED;
          break;

        case PQTRANS_UNKNOWN:
        default:
          status = BASTION_TRANSACTION_UNKNOWN;
          break;
        }
    }

  if (status != self->transaction_status)
    {
      self->transaction_status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSACTION_STATUS]);
    }
}

void
bastion_database_connection_lost (BastionDatabase *self)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  g_debug ("Connection to %s:%u lost", self->hostaddr, self->port);

  g_clear_pointer (&self->conn, PQfinish);
  set_connected (self, FALSE);
  bastion_database_update_transaction_status (self);
}

void
bastion_database_apply_read_only (BastionDatabase *self,
                                  gboolean         read_only)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  read_only = !!read_only;
  if (self->read_only != read_only)
    {
      self->read_only = read_only;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READ_ONLY]);
    }
}

void
bastion_database_disconnect (BastionDatabase *self)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  g_clear_pointer (&self->conn, PQfinish);
  set_connected (self, FALSE);
  bastion_database_update_transaction_status (self);
}

/* libpq would print notices on stderr; they belong to whoever shows the session. */
static void
notice_cb (void           *user_data,
           const PGresult *res)
{
  BastionDatabase *self = user_data;
  const char *severity = PQresultErrorField (res, PG_DIAG_SEVERITY);
  const char *message = PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY);

  g_debug ("Server %s: %s", severity ? severity : "notice", message ? message : "");
  g_signal_emit (self, signals[NOTICE], 0, severity, message);
}

/* Connecting */

typedef struct
{
  BastionDatabase *self;
  PGconn          *conn;
  GSource         *watch;
  GSource         *timeout;
  GCancellable    *cancellable;
  gulong           cancelled_id;
  int              fd;
} ConnectData;

/* Detaches everything that could fire once the task has an outcome. */
static void
connect_stop (ConnectData *data)
{
  if (data->watch != NULL)
    {
      g_source_destroy (data->watch);
      g_clear_pointer (&data->watch, g_source_unref);
    }
  if (data->timeout != NULL)
    {
      g_source_destroy (data->timeout);
      g_clear_pointer (&data->timeout, g_source_unref);
    }
  if (data->cancellable != NULL)
    {
      g_cancellable_disconnect (data->cancellable, data->cancelled_id);
      data->cancelled_id = 0;
      g_clear_object (&data->cancellable);
    }
}

static void
connect_data_free (ConnectData *data)
{
  connect_stop (data);
  g_clear_pointer (&data->conn, PQfinish);
  g_free (data);
}

/* Splits libpq's verbose connection error ('connection to server at "…" failed: FATAL:  28P01:
 * password …\nLOCATION: …') into the SQLSTATE and the server's own words. */
static char *
parse_connect_error (const char  *raw,
                     char       **sqlstate)
{
  static const char * const severities[] = { "FATAL:  ", "ERROR:  ", "PANIC:  " };
  g_auto(GStrv) lines = g_strsplit (raw ? raw : "", "\n", -1);
  g_autoptr(GString) message = g_string_new (NULL);

  *sqlstate = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);

      if (*line == '\0' || g_str_has_prefix (line, "LOCATION:"))
        continue;

      /* 'connection to server at "127.0.0.1", port 6543 failed: …': our message names both. */
      if (g_str_has_prefix (line, "connection to server") && strstr (line, " failed: ") != NULL)
        line = strstr (line, " failed: ") + strlen (" failed: ");

      for (guint s = 0; s < G_N_ELEMENTS (severities); s++)
        {
          const char *found = strstr (line, severities[s]);
          const char *code;
          gboolean is_state = TRUE;

          if (found == NULL)
            continue;

          code = found + strlen (severities[s]);
          if (strlen (code) < 7 || code[5] != ':' || code[6] != ' ')
            continue;
          for (guint j = 0; j < 5; j++)
            if (!g_ascii_isdigit (code[j]) && !g_ascii_isupper (code[j]))
              is_state = FALSE;
          if (!is_state)
            continue;

          if (*sqlstate == NULL)
            *sqlstate = g_strndup (code, 5);
          line = code + 7;
          break;
        }

      if (message->len > 0)
        g_string_append (message, " ");
      g_string_append (message, line);
    }

  return g_string_free (g_steal_pointer (&message), FALSE);
}

static void
connect_fail (GTask *task)
{
  ConnectData *data = g_task_get_task_data (task);
  BastionDatabase *self = data->self;
  g_autofree char *sqlstate = NULL;
  g_autofree char *message = parse_connect_error (PQerrorMessage (data->conn), &sqlstate);

  g_debug ("Connecting to %s:%u failed: %s (SQLSTATE %s)",
           self->hostaddr, self->port, message, sqlstate ? sqlstate : "none");

  if ((sqlstate != NULL && g_str_has_prefix (sqlstate, "28")) ||
      strstr (message, "no password supplied") != NULL)
    g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_AUTH,
                             _("The database refused the password of user “%s”: %s. "
                               "Enter the password again."),
                             self->user ? self->user : "", message);
  else if (sqlstate == NULL &&
           (strstr (message, "SSL") != NULL || strstr (message, "certificate") != NULL))
    g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_TLS,
                             _("The encrypted connection to the database could not be set up "
                               "or verified: %s. Check the CA file and the database host name "
                               "(%s)."),
                             message, self->host ? self->host : self->hostaddr);
  else if (sqlstate != NULL)
    g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                             _("The database refused the connection: %s"), message);
  else
    g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECT,
                             _("Could not reach the database at %s port %u: %s. "
                               "Check that the tunnel is open."),
                             self->hostaddr, self->port, message);
}

static gboolean connect_poll_cb (int fd, GIOCondition condition, gpointer user_data);

static void
connect_watch (GTask        *task,
               GIOCondition  condition)
{
  ConnectData *data = g_task_get_task_data (task);

  if (data->watch != NULL)
    {
      g_source_destroy (data->watch);
      g_clear_pointer (&data->watch, g_source_unref);
    }

  /* libpq may open a new socket while it tries the next address or falls back from SSL. */
  data->fd = PQsocket (data->conn);
  data->watch = g_unix_fd_source_new (data->fd, condition | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (data->watch, G_SOURCE_FUNC (connect_poll_cb), task, NULL);
  g_source_set_static_name (data->watch, "[bastion] database connect");
  g_source_attach (data->watch, g_task_get_context (task));
}

static gboolean
connect_poll_cb (int          fd,
                 GIOCondition condition,
                 gpointer     user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  BastionDatabase *self = data->self;

  switch (PQconnectPoll (data->conn))
    {
    case PGRES_POLLING_READING:
      connect_watch (task, G_IO_IN);
      break;

    case PGRES_POLLING_WRITING:
      connect_watch (task, G_IO_OUT);
      break;

    case PGRES_POLLING_OK:
      connect_stop (data);
      g_clear_pointer (&self->conn, PQfinish);
      self->conn = g_steal_pointer (&data->conn);
      PQsetErrorVerbosity (self->conn, PQERRORS_DEFAULT);
      PQsetNoticeReceiver (self->conn, notice_cb, self);
      if (PQsetnonblocking (self->conn, 1) != 0)
        g_warning ("Could not make the database connection non-blocking");
      g_clear_object (&self->connect_task);
      set_connected (self, TRUE);
      bastion_database_update_transaction_status (self);
      g_debug ("Connected to %s:%u (server %d, %s)", self->hostaddr, self->port,
               PQserverVersion (self->conn),
               PQsslInUse (self->conn) ? "TLS" : "no TLS");
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      break;

    case PGRES_POLLING_FAILED:
    case PGRES_POLLING_ACTIVE:
    default:
      connect_stop (data);
      g_clear_object (&self->connect_task);
      connect_fail (task);
      g_object_unref (task);
      break;
    }

  /* Each step attaches the watch it needs; this one is done. */
  return G_SOURCE_REMOVE;
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  BastionDatabase *self = data->self;

  if (self->connect_task != task)
    return G_SOURCE_REMOVE;

  connect_stop (data);
  g_clear_object (&self->connect_task);
  g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_CONNECT,
                           _("The database at %s port %u did not answer within %u seconds. "
                             "Check that the tunnel is open."),
                           self->hostaddr, self->port, self->connect_timeout);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

static gboolean
connect_cancelled_idle (gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);

  if (data->self->connect_task == task)
    {
      connect_stop (data);
      g_clear_object (&data->self->connect_task);
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }

  return G_SOURCE_REMOVE;
}

static void
connect_cancelled_cb (GCancellable *cancellable,
                      GTask        *task)
{
  g_autoptr(GSource) idle = g_idle_source_new ();

  /* May run in any thread, and the handler cannot be disconnected from inside its own
   * emission: finish the task from an idle in its own context. */
  g_source_set_callback (idle, connect_cancelled_idle, g_object_ref (task), g_object_unref);
  g_source_set_static_name (idle, "[bastion] database connect cancelled");
  g_source_attach (idle, g_task_get_context (task));
}

/* Starts libpq's connection with every parameter given, so nothing in the environment or the
 * user's files (PGPASSWORD, ~/.pgpass, PGOPTIONS) can change what it does. */
static PGconn *
connect_start (BastionDatabase *self)
{
  g_autofree char *port = g_strdup_printf ("%u", self->port);
  g_autofree char *timeout = g_strdup_printf ("%u", self->connect_timeout);
  const char *keys[16];
  const char *values[16];
  guint n = 0;

#define ADD(k, v) G_STMT_START { if ((v) != NULL) { keys[n] = (k); values[n] = (v); n++; } } G_STMT_END
  ADD ("hostaddr", self->hostaddr);
  ADD ("host", self->host);
  ADD ("port", port);
  ADD ("dbname", self->dbname);
  ADD ("user", bastion_database_get_login_user (self));
  /* Given even when empty, so libpq never falls back to PGPASSWORD or ~/.pgpass. */
  ADD ("password", login_password (self) ? login_password (self) : "");
  ADD ("sslmode", bastion_database_get_sslmode (self));
  ADD ("sslrootcert", self->sslrootcert);
  ADD ("application_name", "Bastion");
  ADD ("connect_timeout", timeout);
  /* Never let libpq read a password file of the user's behind our back. */
  ADD ("passfile", "/nonexistent/bastion/pgpass");
  ADD ("client_encoding", "UTF8");
  /* Given even when empty, so PGOPTIONS from the environment cannot override it. */
  ADD ("options", self->read_only ? "-c default_transaction_read_only=on" : "");
#undef ADD
  keys[n] = NULL;
  values[n] = NULL;
  g_assert (n < G_N_ELEMENTS (keys));

  return PQconnectStartParams (keys, values, 0);
}

void
bastion_database_connect_async (BastionDatabase     *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ConnectData *data;

  g_return_if_fail (BASTION_IS_DATABASE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_database_connect_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->owner != NULL || self->connect_task != NULL)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_BUSY,
                               _("The connection is busy. Cancel the running query first."));
      return;
    }

  /* A reconnect starts from scratch. */
  bastion_database_disconnect (self);

  data = g_new0 (ConnectData, 1);
  data->self = self;
  data->fd = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)connect_data_free);

  data->conn = connect_start (self);
  if (data->conn == NULL)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                               _("Out of memory while connecting to the database."));
      return;
    }

  if (PQstatus (data->conn) == CONNECTION_BAD)
    {
      connect_fail (task);
      return;
    }

  /* Verbose errors carry the SQLSTATE, so a refused password is told apart reliably. */
  PQsetErrorVerbosity (data->conn, PQERRORS_VERBOSE);

  self->connect_task = g_object_ref (task);

  if (cancellable != NULL)
    {
      data->cancellable = g_object_ref (cancellable);
      data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled_cb),
                                                  task, NULL);
    }

  /* libpq ignores connect_timeout in PQconnectPoll(): the timer is ours. */
  if (self->connect_timeout > 0)
    {
      data->timeout = g_timeout_source_new_seconds (self->connect_timeout);
      g_source_set_callback (data->timeout, connect_timeout_cb, task, NULL);
      g_source_set_static_name (data->timeout, "[bastion] database connect timeout");
      g_source_attach (data->timeout, g_task_get_context (task));
    }

  /* The first step after PQconnectStartParams() is to wait until the socket is writable. */
  connect_watch (g_steal_pointer (&task), G_IO_OUT);
}

gboolean
bastion_database_connect_finish (BastionDatabase  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Read-only switch */

void
bastion_database_set_read_only_login (BastionDatabase *self,
                                      const char      *user,
                                      const char      *password)
{
  g_return_if_fail (BASTION_IS_DATABASE (self));

  g_free (self->read_only_user);
  self->read_only_user = g_strdup (user);
  bastion_secure_clear_str (&self->read_only_password);
  self->read_only_password = user != NULL ? g_strdup (password) : NULL;
}

static void
relogin_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionDatabase *self = BASTION_DATABASE (object);
  GError *error = NULL;

  if (!bastion_database_connect_finish (self, result, &error))
    {
      /* Whatever failed, the session falls back to read-only, where it started or went. */
      bastion_database_apply_read_only (self, TRUE);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_read_only_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  BastionQuery *query = BASTION_QUERY (object);
  g_autoptr(GTask) task = user_data;
  BastionDatabase *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!bastion_query_run_finish (query, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  bastion_database_apply_read_only (self, GPOINTER_TO_INT (g_task_get_task_data (task)));
  g_task_return_boolean (task, TRUE);
}

void
bastion_database_set_read_only_async (BastionDatabase     *self,
                                      gboolean             read_only,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(BastionQuery) query = NULL;

  g_return_if_fail (BASTION_IS_DATABASE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  read_only = !!read_only;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_database_set_read_only_async);
  g_task_set_task_data (task, GINT_TO_POINTER (read_only), NULL);

  if (!self->connected)
    {
      /* Takes effect with the next connect. */
      bastion_database_apply_read_only (self, read_only);
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (self->read_only_user != NULL && read_only != self->read_only)
    {
      /* Another role: a new login (the admin's only while writes are allowed). */
      if (self->transaction_status == BASTION_TRANSACTION_IN_BLOCK
          || self->transaction_status == BASTION_TRANSACTION_FAILED)
        {
          g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_BUSY,
                                   _("A transaction is open. End it with COMMIT or ROLLBACK "
                                     "before switching between reading and writing."));
          return;
        }
      bastion_database_apply_read_only (self, read_only);
      bastion_database_connect_async (self, cancellable, relogin_cb, g_steal_pointer (&task));
      return;
    }

  query = bastion_query_new (self, read_only ? "SET default_transaction_read_only = on"
                                             : "SET default_transaction_read_only = off");
  bastion_query_set_trusted (query, TRUE);
  bastion_query_run_async (query, cancellable, set_read_only_cb, g_steal_pointer (&task));
}

gboolean
bastion_database_set_read_only_finish (BastionDatabase  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Cancel: PQcancel() opens its own connection and waits, so it runs in a thread. */

static void
cancel_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  PGcancel *cancel = task_data;
  char errbuf[256] = "";

  if (PQcancel (cancel, errbuf, sizeof errbuf))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                             _("Could not ask the database to cancel the query: %s"), errbuf);
}

void
bastion_database_cancel_async (BastionDatabase     *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PGcancel *cancel;

  g_return_if_fail (BASTION_IS_DATABASE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_database_cancel_async);

  if (!self->connected || self->conn == NULL)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_NOT_CONNECTED,
                               _("Not connected to the database."));
      return;
    }

  cancel = PQgetCancel (self->conn);
  if (cancel == NULL)
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                               _("Could not prepare the cancel request."));
      return;
    }

  g_task_set_task_data (task, cancel, (GDestroyNotify)PQfreeCancel);
  g_task_run_in_thread (task, cancel_thread);
}

gboolean
bastion_database_cancel_finish (BastionDatabase  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
