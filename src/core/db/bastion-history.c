/* bastion-history.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-history.h"

#define SCHEMA_VERSION 1

typedef enum
{
  OP_OPEN,
  OP_ADD,
  OP_SEARCH,
  OP_DELETE,
} OpKind;

/* One call, run in the store's thread. */
typedef struct
{
  OpKind                kind;
  BastionHistoryEntry  *entry;
  char                 *text;
  BastionHistoryOutcome outcome;
  guint                 limit;
  gint64                id;
} Op;

struct _BastionHistory
{
  GObject      parent_instance;

  /* Owned */
  char        *path;
  GThreadPool *pool;             /* one thread: calls run in order */

  /* Only touched in the pool's thread (and finalize, after the pool ended). */
  sqlite3     *db;

  /* Written in the thread under lock, read on the main thread after a call finished. */
  GMutex       lock;
  char        *recovery_message;
};

G_DEFINE_FINAL_TYPE (BastionHistory, bastion_history, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-history-error-quark, bastion_history_error)

static void
op_free (Op *op)
{
  g_clear_object (&op->entry);
  g_free (op->text);
  g_free (op);
}

/* Paths and masking */

char *
bastion_history_dup_path_for_profile (const char *profile_id)
{
  g_autofree char *name = g_strdup (profile_id != NULL && *profile_id ? profile_id : "default");
  g_autofree char *file = NULL;

  /* A profile id is ours, but never let it leave the folder. */
  for (char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      *p = '_';
  if (name[0] == '.')
    name[0] = '_';

  file = g_strconcat (name, ".sqlite", NULL);
  return g_build_filename (g_get_user_data_dir (), "bastion", "history", file, NULL);
}

static GRegex *
password_literal_regex (void)
{
  static GRegex *regex;

  if (g_once_init_enter (&regex))
    {
      /* PASSWORD '…' (ALTER/CREATE ROLE, USER MAPPING options), with E'' or $$ quoting. */
      GRegex *r = g_regex_new ("(\\bpassword\\s+)"
                               "([eE]?'(?:[^']|'')*'?|\\$([A-Za-z_]*)\\$.*?(?:\\$\\3\\$|$))",
                               G_REGEX_CASELESS | G_REGEX_DOTALL | G_REGEX_OPTIMIZE, 0, NULL);

      g_once_init_leave (&regex, r);
    }
  return regex;
}

static GRegex *
password_keyword_regex (void)
{
  static GRegex *regex;

  if (g_once_init_enter (&regex))
    {
      /* password=… inside a connection string (dblink, postgres_fdw) */
      GRegex *r = g_regex_new ("(\\bpassword\\s*=\\s*)([^\\s']+)",
                               G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);

      g_once_init_leave (&regex, r);
    }
  return regex;
}

char *
bastion_history_mask_secrets (const char *sql)
{
  g_autofree char *first = NULL;

  g_return_val_if_fail (sql != NULL, NULL);

  first = g_regex_replace (password_literal_regex (), sql, -1, 0, "\\1'********'", 0, NULL);
  if (first == NULL)
    return g_strdup ("");
  return g_regex_replace (password_keyword_regex (), first, -1, 0, "\\1********", 0, NULL);
}

static char *
prepare_sql (const char *sql)
{
  g_autofree char *masked = bastion_history_mask_secrets (sql);
  const char *end;

  if (strlen (masked) <= BASTION_HISTORY_MAX_SQL)
    return g_steal_pointer (&masked);

  end = g_utf8_find_prev_char (masked, masked + BASTION_HISTORY_MAX_SQL);
  return g_strdup_printf ("%.*s\n-- … (cut: the statement was longer than %d KiB)",
                          (int) (end - masked), masked, BASTION_HISTORY_MAX_SQL / 1024);
}

/* Opening, in the thread */

static gboolean
set_sqlite_error (sqlite3     *db,
                  int          rc,
                  const char  *path,
                  GError     **error)
{
  g_set_error (error, BASTION_HISTORY_ERROR, BASTION_HISTORY_ERROR_FAILED,
               /* TRANSLATORS: "Could not use the query history “/…/demo.sqlite”: disk is full" */
               _("Could not use the query history “%s”: %s"), path,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

/* The file exists as a private regular file (created 0600 if missing), in a 0700 folder. */
static gboolean
prepare_file (const char  *path,
              GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create the folder “%s” for the query history: %s"),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, BASTION_HISTORY_ERROR, BASTION_HISTORY_ERROR_NOT_FILE,
                   _("The query history “%s” is not a regular file (%s). Remove it, then run "
                     "the statement again."), path, g_strerror (saved_errno));
      return FALSE;
    }
  if ((st.st_mode & 0077) != 0)
    fchmod (fd, 0600);
  close (fd);
  return TRUE;
}

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          const char  *path,
          GError     **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK || set_sqlite_error (db, rc, path, error);
}

/* -1: damaged; else the file's schema version (0 for a new file). */
static int
check_store (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  int version = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW
      || g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    {
      sqlite3_finalize (stmt);
      return -1;
    }
  sqlite3_finalize (stmt);

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return version;
}

static gboolean
move_aside (BastionHistory  *self,
            GError         **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *aside = g_strdup_printf ("%s.damaged-%s", self->path, stamp);
  g_autofree char *journal = g_strconcat (self->path, "-journal", NULL);
  g_autofree char *journal_aside = g_strconcat (aside, "-journal", NULL);

  if (g_rename (self->path, aside) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("The query history “%s” is damaged and could not be moved aside: %s. "
                     "Move or remove it, then try again."), self->path, g_strerror (saved_errno));
      return FALSE;
    }
  if (g_file_test (journal, G_FILE_TEST_EXISTS))
    g_rename (journal, journal_aside);

  g_mutex_lock (&self->lock);
  g_free (self->recovery_message);
  self->recovery_message =
    g_strdup_printf (_("The query history was damaged. It was moved to “%s” and a new history "
                       "was started."), aside);
  g_mutex_unlock (&self->lock);
  g_message ("Query history %s damaged; moved to %s", self->path, aside);
  return TRUE;
}

static sqlite3 *
open_db (const char  *path,
         GError     **error)
{
  sqlite3 *db = NULL;
  int rc;

  if (!prepare_file (path, error))
    return NULL;
  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (db, rc, path, error);
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 2000);
  /* Deleted statements leave no readable trace in free pages. */
  sqlite3_exec (db, "PRAGMA secure_delete = ON", NULL, NULL, NULL);
  return db;
}

static gboolean
ensure_open (BastionHistory  *self,
             GError         **error)
{
  sqlite3 *db;
  int version;

  if (self->db != NULL)
    return TRUE;

  if ((db = open_db (self->path, error)) == NULL)
    return FALSE;

  version = check_store (db);
  if (version < 0)
    {
      sqlite3_close (db);
      if (!move_aside (self, error) || (db = open_db (self->path, error)) == NULL)
        return FALSE;
      version = 0;
    }
  if (version > SCHEMA_VERSION)
    {
      sqlite3_close (db);
      g_set_error (error, BASTION_HISTORY_ERROR, BASTION_HISTORY_ERROR_TOO_NEW,
                   _("The query history “%s” was written by a newer Bastion; it is left as it "
                     "is. Update Bastion to keep a history."), self->path);
      return FALSE;
    }

  if (!exec_sql (db,
                 "CREATE TABLE IF NOT EXISTS history ("
                 "  id INTEGER PRIMARY KEY,"
                 "  sql TEXT NOT NULL,"
                 "  started INTEGER NOT NULL,"
                 "  duration INTEGER NOT NULL,"
                 "  rows INTEGER NOT NULL,"
                 "  outcome INTEGER NOT NULL,"
                 "  sqlstate TEXT,"
                 "  writes INTEGER NOT NULL);"
                 "PRAGMA user_version = 1;", self->path, error))
    {
      sqlite3_close (db);
      return FALSE;
    }

  self->db = db;
  return TRUE;
}

/* Calls, in the thread */

static gboolean
run_add (BastionHistory       *self,
         BastionHistoryEntry  *entry,
         GError              **error)
{
  g_autofree char *sql = prepare_sql (bastion_history_entry_get_sql (entry));
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db,
                           "INSERT INTO history (sql, started, duration, rows, outcome, sqlstate,"
                           " writes) VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (self->db, rc, self->path, error);

  sqlite3_bind_text (stmt, 1, sql, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, bastion_history_entry_get_started (entry));
  sqlite3_bind_int64 (stmt, 3, bastion_history_entry_get_duration (entry));
  sqlite3_bind_int64 (stmt, 4, bastion_history_entry_get_rows (entry));
  sqlite3_bind_int (stmt, 5, bastion_history_entry_get_outcome (entry));
  if (bastion_history_entry_get_sqlstate (entry) != NULL)
    sqlite3_bind_text (stmt, 6, bastion_history_entry_get_sqlstate (entry), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 7, bastion_history_entry_get_writes_allowed (entry));
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self->db, rc, self->path, error);

  bastion_history_entry_set_id (entry, sqlite3_last_insert_rowid (self->db));

  return exec_sql (self->db,
                   "DELETE FROM history WHERE id <= (SELECT id FROM history ORDER BY id DESC"
                   " LIMIT 1 OFFSET " G_STRINGIFY (BASTION_HISTORY_MAX_ENTRIES) ")",
                   self->path, error);
}

static char *
like_pattern (const char *text)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = text != NULL ? text : ""; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

static GPtrArray *
run_search (BastionHistory  *self,
            Op              *op,
            GError         **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *pattern = like_pattern (op->text);
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db,
                           "SELECT id, sql, started, duration, rows, outcome, sqlstate, writes"
                           "  FROM history"
                           " WHERE sql LIKE ?1 ESCAPE '\\' AND (?2 = 0 OR outcome = ?2)"
                           " ORDER BY started DESC, id DESC LIMIT ?3", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (self->db, rc, self->path, error);
      return NULL;
    }
  sqlite3_bind_text (stmt, 1, pattern, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, op->outcome);
  sqlite3_bind_int (stmt, 3, op->limit > 0 ? op->limit : BASTION_HISTORY_MAX_ENTRIES);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      BastionHistoryEntry *entry =
        bastion_history_entry_new ((const char *) sqlite3_column_text (stmt, 1),
                                   sqlite3_column_int64 (stmt, 2),
                                   sqlite3_column_int64 (stmt, 3),
                                   sqlite3_column_int64 (stmt, 4),
                                   CLAMP (sqlite3_column_int (stmt, 5),
                                          BASTION_HISTORY_OUTCOME_OK,
                                          BASTION_HISTORY_OUTCOME_CANCELLED),
                                   (const char *) sqlite3_column_text (stmt, 6),
                                   sqlite3_column_int (stmt, 7));

      bastion_history_entry_set_id (entry, sqlite3_column_int64 (stmt, 0));
      g_ptr_array_add (entries, entry);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (self->db, rc, self->path, error);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

static gboolean
run_delete (BastionHistory  *self,
            gint64           id,
            GError         **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "DELETE FROM history WHERE ?1 = 0 OR id = ?1", -1, &stmt,
                           NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (self->db, rc, self->path, error);
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (self->db, rc, self->path, error);
  return TRUE;
}

static void
run_op (gpointer data,
        gpointer user_data)
{
  g_autoptr(GTask) task = data;
  BastionHistory *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (!ensure_open (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  switch (op->kind)
    {
    case OP_OPEN:
      g_task_return_boolean (task, TRUE);
      break;
    case OP_ADD:
      if (run_add (self, op->entry, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      break;
    case OP_SEARCH:
      {
        GPtrArray *entries = run_search (self, op, &error);

        if (entries != NULL)
          g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
        else
          g_task_return_error (task, g_steal_pointer (&error));
      }
      break;
    case OP_DELETE:
      if (run_delete (self, op->id, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
push_op (BastionHistory      *self,
         Op                  *op,
         gpointer             source_tag,
         GCancellable        *cancellable,
         GAsyncReadyCallback  callback,
         gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  g_thread_pool_push (self->pool, task, NULL);
}

/* GObject */

static void
bastion_history_finalize (GObject *object)
{
  BastionHistory *self = BASTION_HISTORY (object);

  /* Each task holds a reference: the pool is idle by now. */
  g_thread_pool_free (self->pool, FALSE, TRUE);
  if (self->db != NULL)
    sqlite3_close (self->db);
  g_mutex_clear (&self->lock);
  g_free (self->recovery_message);
  g_free (self->path);

  G_OBJECT_CLASS (bastion_history_parent_class)->finalize (object);
}

static void
bastion_history_class_init (BastionHistoryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bastion_history_finalize;
}

static void
bastion_history_init (BastionHistory *self)
{
  g_mutex_init (&self->lock);
  self->pool = g_thread_pool_new (run_op, self, 1, FALSE, NULL);
}

BastionHistory *
bastion_history_new (const char *path)
{
  BastionHistory *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (BASTION_TYPE_HISTORY, NULL);
  self->path = g_strdup (path);
  return self;
}

const char *
bastion_history_get_path (BastionHistory *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY (self), NULL);
  return self->path;
}

const char *
bastion_history_get_recovery_message (BastionHistory *self)
{
  const char *message;

  g_return_val_if_fail (BASTION_IS_HISTORY (self), NULL);

  g_mutex_lock (&self->lock);
  message = self->recovery_message;
  g_mutex_unlock (&self->lock);
  return message;
}

void
bastion_history_open_async (BastionHistory      *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (BASTION_IS_HISTORY (self));

  op->kind = OP_OPEN;
  push_op (self, op, bastion_history_open_async, cancellable, callback, user_data);
}

gboolean
bastion_history_open_finish (BastionHistory  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_history_add_async (BastionHistory      *self,
                           BastionHistoryEntry *entry,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (BASTION_IS_HISTORY (self));
  g_return_if_fail (BASTION_IS_HISTORY_ENTRY (entry));

  op->kind = OP_ADD;
  op->entry = g_object_ref (entry);
  push_op (self, op, bastion_history_add_async, cancellable, callback, user_data);
}

gboolean
bastion_history_add_finish (BastionHistory  *self,
                            GAsyncResult    *result,
                            GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_history_search_async (BastionHistory        *self,
                              const char            *text,
                              BastionHistoryOutcome  outcome,
                              guint                  limit,
                              GCancellable          *cancellable,
                              GAsyncReadyCallback    callback,
                              gpointer               user_data)
{
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (BASTION_IS_HISTORY (self));

  op->kind = OP_SEARCH;
  op->text = g_strdup (text);
  op->outcome = outcome;
  op->limit = limit;
  push_op (self, op, bastion_history_search_async, cancellable, callback, user_data);
}

GPtrArray *
bastion_history_search_finish (BastionHistory  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_history_delete_async (BastionHistory      *self,
                              gint64               id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (BASTION_IS_HISTORY (self));

  op->kind = OP_DELETE;
  op->id = id;
  push_op (self, op, bastion_history_delete_async, cancellable, callback, user_data);
}

gboolean
bastion_history_delete_finish (BastionHistory  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
