/* bastion-readonly-role.c: the team's read-only login, made, rotated and dropped through the
 * admin's own connection.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <glib/gi18n.h>
#include <libpq-fe.h>

#include "bastion-database-private.h"
#include "bastion-query-private.h"
#include "bastion-readonly-role.h"
#include "bastion-secure.h"
#include "bastion-secrets.h"

/* 32 random bytes: 256 bits, 43 characters of URL-safe base64. */
#define PASSWORD_BYTES 32

typedef struct
{
  BastionDatabase           *admin;
  char                      *profile_id;
  char                      *team;
  char                      *password;
  BastionReadonlyRoleAction  action;
  guint                      schema_grants : 1;  /* older servers: SELECT on public */
} RoleData;

static void
role_data_free (RoleData *data)
{
  g_clear_object (&data->admin);
  g_free (data->profile_id);
  g_free (data->team);
  bastion_secure_str_free (data->password);
  g_free (data);
}

gboolean
bastion_readonly_role_action_from_string (const char                *str,
                                          BastionReadonlyRoleAction *action)
{
  static const char * const names[] = { "create", "rotate", "drop" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (g_strcmp0 (str, names[i]) == 0)
        {
          *action = i;
          return TRUE;
        }
    }
  return FALSE;
}

static char *
generate_password (GError **error)
{
  guchar bytes[PASSWORD_BYTES];
  gsize got = 0;
  char *password;

  while (got < sizeof bytes)
    {
      ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);

      if (n < 0)
        {
          g_set_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                       _("No random bytes for the read-only login’s password: %s"),
                       g_strerror (errno));
          return NULL;
        }
      got += n;
    }

  password = g_base64_encode (bytes, sizeof bytes);
  bastion_secure_wipe (bytes, sizeof bytes);
  g_strdelimit (password, "+", '-');
  g_strdelimit (password, "/", '_');
  g_strdelimit (password, "=", '\0');
  return password;
}

/* The password travels as a SCRAM verifier made here, never in clear text, so a server that
 * logs statements does not log it. */
static char *
password_literal (PGconn      *conn,
                  const char  *password,
                  GError     **error)
{
  char *verifier = PQencryptPasswordConn (conn, password, BASTION_READONLY_ROLE,
                                          "scram-sha-256");
  char *literal;
  char *copy;

  if (verifier == NULL)
    {
      g_set_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                   _("Could not prepare the read-only login’s password: %s"),
                   PQerrorMessage (conn));
      return NULL;
    }
  literal = PQescapeLiteral (conn, verifier, strlen (verifier));
  PQfreemem (verifier);
  copy = g_strdup (literal);
  PQfreemem (literal);
  return copy;
}

static char *
build_sql (RoleData  *data,
           GError   **error)
{
  PGconn *conn = bastion_database_get_pgconn (data->admin);
  g_autofree char *literal = NULL;
  GString *sql = g_string_new (NULL);

  if (data->action == BASTION_READONLY_ROLE_DROP)
    {
      /* Grants of the older servers' way go first; pg_read_all_data goes with the role. */
      g_string_append (sql,
        "DO $bastion$ BEGIN "
        "IF EXISTS (SELECT FROM pg_roles WHERE rolname = '" BASTION_READONLY_ROLE "') THEN "
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " BASTION_READONLY_ROLE "; "
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " BASTION_READONLY_ROLE "; "
        "REVOKE USAGE ON SCHEMA public FROM " BASTION_READONLY_ROLE "; "
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM "
        BASTION_READONLY_ROLE "; "
        "EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM " BASTION_READONLY_ROLE "', "
        "current_database()); "
        "DROP ROLE " BASTION_READONLY_ROLE "; "
        "END IF; END $bastion$");
      return g_string_free (sql, FALSE);
    }

  literal = password_literal (conn, data->password, error);
  if (literal == NULL)
    {
      g_string_free (sql, TRUE);
      return NULL;
    }

  if (data->action == BASTION_READONLY_ROLE_CREATE)
    g_string_append_printf (sql, "CREATE ROLE " BASTION_READONLY_ROLE " WITH LOGIN NOSUPERUSER "
                            "NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT "
                            "PASSWORD %s; ", literal);
  else
    g_string_append_printf (sql, "ALTER ROLE " BASTION_READONLY_ROLE " WITH LOGIN PASSWORD %s; ",
                            literal);
  g_string_append (sql, "ALTER ROLE " BASTION_READONLY_ROLE
                   " SET default_transaction_read_only = on");

  if (data->action == BASTION_READONLY_ROLE_CREATE && !data->schema_grants)
    g_string_append (sql, "; GRANT pg_read_all_data TO " BASTION_READONLY_ROLE);
  else if (data->action == BASTION_READONLY_ROLE_CREATE)
    {
      g_autofree char *db = NULL;
      char *quoted = PQescapeIdentifier (conn, bastion_database_get_dbname (data->admin),
                                         strlen (bastion_database_get_dbname (data->admin)));

      db = g_strdup (quoted);
      PQfreemem (quoted);
      g_string_append_printf (sql,
        "; GRANT CONNECT ON DATABASE %s TO " BASTION_READONLY_ROLE
        "; GRANT USAGE ON SCHEMA public TO " BASTION_READONLY_ROLE
        "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO " BASTION_READONLY_ROLE
        "; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO " BASTION_READONLY_ROLE
        "; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "
        BASTION_READONLY_ROLE, db);
    }

  return g_string_free (sql, FALSE);
}

static void run_sql (GTask *task);

static void
on_secret_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RoleData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean ok;

  if (data->action == BASTION_READONLY_ROLE_DROP)
    ok = bastion_secrets_clear_finish (BASTION_SECRETS (source), result, &error);
  else
    ok = bastion_secrets_store_finish (BASTION_SECRETS (source), result, &error);

  if (!ok)
    {
      g_prefix_error (&error, _("The read-only login is set on the server, but the keyring "
                                "failed (rotate it once the keyring works): "));
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_sql_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionQuery *query = BASTION_QUERY (source);
  RoleData *data = g_task_get_task_data (task);
  BastionSecrets *secrets = bastion_secrets_get_default ();
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!bastion_query_run_finish (query, result, &error))
    {
      const char *state = bastion_query_get_sqlstate (query);

      /* Not allowed to grant pg_read_all_data: the older servers' way. */
      if (data->action == BASTION_READONLY_ROLE_CREATE && !data->schema_grants
          && g_strcmp0 (state, "42501") == 0)
        {
          g_debug ("Granting pg_read_all_data was refused (%s); SELECT on public instead",
                   error->message);
          g_clear_error (&error);
          data->schema_grants = TRUE;
          run_sql (g_steal_pointer (&task));
          return;
        }
      if (g_strcmp0 (state, "42710") == 0)
        {
          g_clear_error (&error);
          error = g_error_new (BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_FAILED,
                               _("The role “%s” exists on the server already. Rotate it to give "
                                 "it a password Bastion keeps, or drop it."),
                               BASTION_READONLY_ROLE);
        }
      else
        g_prefix_error (&error, _("The server refused to change the read-only login “%s”: "),
                        BASTION_READONLY_ROLE);
      g_task_return_error (task, error);
      return;
    }

  if (data->action == BASTION_READONLY_ROLE_DROP)
    {
      bastion_secrets_clear_async (secrets, data->profile_id,
                                   BASTION_SECRET_KIND_READONLY_PASSWORD, cancellable,
                                   on_secret_done, g_steal_pointer (&task));
    }
  else
    {
      g_autofree char *label = g_strdup_printf (_("Read-only database login of %s"), data->team);

      bastion_secrets_store_async (secrets, data->profile_id,
                                   BASTION_SECRET_KIND_READONLY_PASSWORD, label, data->password,
                                   cancellable, on_secret_done, g_steal_pointer (&task));
    }
}

/* Takes TASK_IN over. */
static void
run_sql (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  RoleData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(BastionQuery) query = NULL;
  g_autofree char *sql = NULL;
  GError *error = NULL;

  sql = build_sql (data, &error);
  if (sql == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* One text, one implicit transaction: all of it or nothing. */
  query = bastion_query_new (data->admin, sql);
  bastion_query_set_trusted (query, TRUE);
  bastion_query_set_retain_rows (query, FALSE);
  bastion_secure_wipe (sql, strlen (sql));
  bastion_query_run_async (query, cancellable, on_sql_done, g_steal_pointer (&task));
}

void
bastion_readonly_role_run_async (BastionDatabase           *admin,
                                 const char                *profile_id,
                                 const char                *team,
                                 BastionReadonlyRoleAction  action,
                                 GCancellable              *cancellable,
                                 GAsyncReadyCallback        callback,
                                 gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  RoleData *data;
  GError *error = NULL;

  g_return_if_fail (BASTION_IS_DATABASE (admin));
  g_return_if_fail (profile_id != NULL);

  task = g_task_new (admin, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_readonly_role_run_async);

  if (!bastion_database_get_connected (admin))
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_NOT_CONNECTED,
                               _("Not connected to the database. Connect, allow writes, then "
                                 "try again."));
      return;
    }
  if (bastion_database_get_read_only (admin))
    {
      g_task_return_new_error (task, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY,
                               _("Allow writes first: the read-only login is a role on the "
                                 "server, which only the admin role may change."));
      return;
    }

  data = g_new0 (RoleData, 1);
  data->admin = g_object_ref (admin);
  data->profile_id = g_strdup (profile_id);
  data->team = g_strdup (team != NULL ? team : profile_id);
  data->action = action;
  /* PostgreSQL 14 brought pg_read_all_data. */
  data->schema_grants = bastion_database_get_server_version (admin) < 140000;
  g_task_set_task_data (task, data, (GDestroyNotify)role_data_free);

  if (action != BASTION_READONLY_ROLE_DROP)
    {
      data->password = generate_password (&error);
      if (data->password == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  run_sql (g_steal_pointer (&task));
}

gboolean
bastion_readonly_role_run_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
