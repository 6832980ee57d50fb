/* bastion-cli-query.c: `bastion-cli query TEAM SQL`
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <signal.h>
#include <unistd.h>

#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "bastion-cli-private.h"
#include "bastion-export.h"
#include "bastion-query.h"
#include "bastion-result-writer.h"
#include "bastion-sql-guard.h"

/* A failed statement, with the way to allow a change when the session refused it. */
static int
fail_query (const GError *error)
{
  if (g_error_matches (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY)
      || g_error_matches (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_REFUSED))
    return bastion_cli_fail ("query", _("%s (add --write to allow changes)"), error->message);
  return bastion_cli_fail_error ("query", error);
}

static gboolean
on_output_signal (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_CONTINUE;
}

/* --output: the app's export pipeline (a temporary file renamed into place once complete,
 * back-pressure on a slow disk); Ctrl+C or SIGTERM leave no partial file. */
static int
query_to_file (BastionConnection   *connection,
               BastionDatabase     *database,
               const char          *sql,
               const char          *path,
               BastionResultFormat  format)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr(BastionExport) export = bastion_export_new (database, sql, file, format);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint sigint_id = g_unix_signal_add (SIGINT, on_output_signal, cancellable);
  guint sigterm_id = g_unix_signal_add (SIGTERM, on_output_signal, cancellable);

  bastion_export_run_async (export, cancellable, bastion_cli_store_result, &result);
  bastion_cli_wait (&result);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  if (bastion_export_run_finish (export, result, &error))
    {
      bastion_database_disconnect (database);
      bastion_connection_close (connection);
      return 0;
    }
  if (error->domain == BASTION_DATABASE_ERROR)
    return fail_query (error);
  return bastion_cli_fail_error ("output", error);
}

/* The database login through the tunnel, writes allowed with --write; NULL after printing
 * why. */
static BastionDatabase *
log_in (BastionConnection *connection,
        gboolean           write)
{
  g_autoptr(BastionDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_connection_connect_database_async (connection, NULL, bastion_cli_store_result, &result);
  database = bastion_connection_connect_database_finish (connection, bastion_cli_wait (&result),
                                                         &error);
  g_clear_object (&result);
  if (database == NULL)
    {
      bastion_cli_fail_error ("database login", error);
      return NULL;
    }

  if (!write)
    return g_steal_pointer (&database);

  bastion_database_set_read_only_async (database, FALSE, NULL, bastion_cli_store_result,
                                        &result);
  if (!bastion_database_set_read_only_finish (database, bastion_cli_wait (&result), &error))
    {
      bastion_cli_fail_error ("query", error);
      return NULL;
    }
  return g_steal_pointer (&database);
}

/* Streams the rows to standard output: none is held in memory. */
static int
query_to_stdout (BastionDatabase     *database,
                 const char          *sql,
                 BastionResultFormat  format)
{
  g_autoptr(GOutputStream) out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
  g_autoptr(BastionResultWriter) writer = bastion_result_writer_new (format, out);
  g_autoptr(BastionQuery) query = bastion_query_new (database, sql);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const GError *write_error;

  /* Data for a program stays byte-exact; a terminal must not be driven by a value. */
  bastion_result_writer_set_escape_controls (writer, isatty (STDOUT_FILENO));
  bastion_query_set_retain_rows (query, FALSE);
  bastion_result_writer_follow (writer, query);

  bastion_query_run_async (query, NULL, bastion_cli_store_result, &result);
  bastion_query_run_finish (query, bastion_cli_wait (&result), &error);

  /* A write error cancels the query: it is the cause, so it is what counts. */
  write_error = bastion_result_writer_get_error (writer);
  if (write_error != NULL)
    {
      if (g_error_matches (write_error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        return 0;
      return bastion_cli_fail_error ("output", write_error);
    }
  if (error != NULL)
    return fail_query (error);

  return 0;
}

/* What can be refused before connecting; says why on stderr. */
static gboolean
check_arguments (int                   argc,
                 char                **argv,
                 const char           *format_name,
                 const char           *via,
                 gboolean              guard_settings,
                 BastionResultFormat  *format,
                 int                  *transport)
{
  const char *settings;

  if (argc != 3)
    {
      bastion_cli_fail ("query", _("give a team and one SQL text; see “bastion-cli query "
                                   "--help”"));
      return FALSE;
    }
  if (format_name != NULL && !bastion_result_format_parse (format_name, format))
    {
      bastion_cli_fail ("query", _("unknown format “%s”; use table, csv or json"),
                        format_name);
      return FALSE;
    }
  if (!bastion_cli_parse_via ("query", via, transport))
    return FALSE;

  /* A role's or database's settings reach every later session of every tool, so --write alone
   * does not change them. */
  settings = guard_settings ? bastion_sql_guard_changes_settings (argv[2]) : NULL;
  if (settings != NULL)
    {
      bastion_cli_fail ("query", _("“%s” changes settings that every other session of the "
                                   "role or database gets from its next login on; add "
                                   "--allow-settings to run it"), settings);
      return FALSE;
    }
  return TRUE;
}

int
bastion_cli_query (int    argc,
                   char **argv)
{
  g_autofree char *format_name = NULL;
  g_autofree char *output = NULL;
  gboolean write = FALSE;
  gboolean allow_settings = FALSE;
  gboolean accept_new = FALSE;
  g_autofree char *via = NULL;
  int transport = -1;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name,
      N_("Output format: table (default), csv or json"), "FORMAT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the result to FILE (replaced only once every row is written) instead of "
         "standard output"), "FILE" },
    { "write", 0, 0, G_OPTION_ARG_NONE, &write,
      N_("Allow statements that change data (the session is read-only otherwise)"), NULL },
    { "allow-settings", 0, 0, G_OPTION_ARG_NONE, &allow_settings,
      N_("With --write: also allow ALTER ROLE, ALTER DATABASE … SET and ALTER SYSTEM, which "
         "change what every other session sees"), NULL },
    { "accept-new", 0, 0, G_OPTION_ARG_NONE, &accept_new,
      N_("Trust the bastion’s host key if it is not known yet (never a changed one)"), NULL },
    { "via", 0, 0, G_OPTION_ARG_STRING, &via,
      N_("Carry the connection through ssh, ssm (AWS Session Manager) or auto (default: the "
         "team’s transport)"), "ssh|ssm|auto" },
    { NULL }
  };
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(BastionConnection) connection = NULL;
  g_autoptr(BastionDatabase) database = NULL;
  BastionResultFormat format = BASTION_RESULT_FORMAT_TABLE;
  BastionConnectionFlags flags = BASTION_CONNECTION_FLAGS_NONE;
  BastionProfile *profile;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("TEAM SQL"),
                                  _("Run SQL on the team’s database through the tunnel. The "
                                    "session is read-only unless --write is given."),
                                  entries, &status))
    return status;

  if (!check_arguments (argc, argv, format_name, via, write && !allow_settings,
                        &format, &transport))
    return 1;

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[1]);
  if (profile == NULL)
    return 1;

  /* A reader that goes away (| head) ends the query, it does not kill us mid-write. */
  signal (SIGPIPE, SIG_IGN);

  if (accept_new)
    flags |= BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY;
  /* An ephemeral port: a tunnel already serving the team's port stays untouched. */
  connection = bastion_cli_connect_via (profile, argv[1], flags, 0, transport);
  if (connection == NULL)
    return 1;

  database = log_in (connection, write);
  if (database == NULL)
    return 1;

  if (output != NULL)
    return query_to_file (connection, database, argv[2], output, format);

  status = query_to_stdout (database, argv[2], format);
  bastion_database_disconnect (database);
  bastion_connection_close (connection);

  return status;
}
