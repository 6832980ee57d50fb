/* test-ui-readonly.c
 *
 * Issue 17 through the GUI, under tests/harness/with-servers --xvfb --postgres: every statement
 * the review used to change data through a read-only session (and the rest of its list) typed
 * into a read-only query page and run with query.run-all; each is refused on the page, and a
 * checksum of every table and sequence, the large objects and pg_db_role_setting, read by the
 * superuser on a connection of its own, is the same afterwards. Then, with writes allowed, the
 * once-per-team offer of a read-only login (Create makes the role), and ALTER ROLE … SET asks
 * its own confirmation naming every other session: Cancel leaves the role's settings alone,
 * Change Settings changes them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bastion-database.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-readonly-offer.h"
#include "bastion-ui-test.h"

static BastionDatabase *database;   /* the page's: the admin role, read-only */
static BastionDatabase *superuser;  /* the test's own view of the data */
static GtkWidget *window;
static BastionQueryView *view;
static char *large_object;

/* The first cell of the last row of @sql on @db. */
static char *
run_value (BastionDatabase *db,
           const char      *sql)
{
  g_autoptr(BastionQuery) query = bastion_query_new (db, sql);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  BastionResultModel *model;
  guint n;

  bastion_query_run_async (query, NULL, test_store_result, &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, sql);
  bastion_query_run_finish (query, result, &error);
  g_assert_no_error (error);

  model = bastion_query_get_model (query);
  n = bastion_result_model_get_n_rows (model);
  if (n == 0)
    return NULL;
  return g_strdup (bastion_result_model_get_value (model, n - 1, 0, NULL, NULL));
}

#define CHECKSUM_SQL \
  "select md5(string_agg(x, '|' order by x)) from (" \
  " select format('%s=%s', c.oid::regclass, (xpath('/row/h/text()', query_to_xml(" \
  "  format(case c.relkind when 'S' then 'select last_value || ''/'' || is_called as h from %s'" \
  "   else 'select count(*) || ''/'' || coalesce(md5(string_agg(t::text, '','' order by " \
  "t::text)), '''') as h from %s t' end, c.oid::regclass), false, true, '')))[1]::text) as x" \
  " from pg_class c join pg_namespace n on n.oid = c.relnamespace" \
  " where c.relkind in ('r', 'p', 'S') and n.nspname not in ('pg_catalog', 'information_schema')" \
  "  and n.nspname not like 'pg_toast%'" \
  " union all select 'lo=' || coalesce(md5(string_agg(loid || ':' || pageno || ':' || md5(data)," \
  "  ',' order by loid, pageno)), '') from pg_largeobject" \
  " union all select 'lom=' || coalesce(string_agg(oid || ':' || lomowner, ',' order by oid), '')" \
  "  from pg_largeobject_metadata" \
  " union all select 'settings=' || coalesce(string_agg(setdatabase || ':' || setrole || ':' ||" \
  "  array_to_string(setconfig, ';'), ',' order by setdatabase, setrole), '')" \
  "  from pg_db_role_setting) s"

static char *
checksum (void)
{
  return run_value (superuser, CHECKSUM_SQL);
}

static void
open_view (void)
{
  g_autofree char *setup = NULL;

  superuser = bastion_ui_test_connect_database_full ("postgres", 0, TRUE);
  large_object = run_value (superuser, "select lo_from_bytea(0, 'bastion large object')");
  setup = g_strdup_printf ("alter large object %s owner to %s; "
                           "create sequence bastion_probe_seq; "
                           "alter sequence bastion_probe_seq owner to %s; "
                           "select nextval('bastion_probe_seq')",
                           large_object, g_getenv ("BASTION_TEST_PG_USER"),
                           g_getenv ("BASTION_TEST_PG_USER"));
  g_free (run_value (superuser, setup));

  database = bastion_ui_test_connect_database ();
  g_assert_true (bastion_database_get_read_only (database));
  view = BASTION_QUERY_VIEW (bastion_query_view_new (database, "ui-readonly-test", TRUE));
  /* As the team page does for a read-only profile without a read-only login. */
  bastion_readonly_offer_watch (GTK_WIDGET (view), database, "ui-readonly-test", "demo");

  window = adw_application_window_new (GTK_APPLICATION (bastion_ui_test_get_app ()));
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), GTK_WIDGET (view));
  gtk_window_present (GTK_WINDOW (window));
  bastion_ui_test_wait_drawn (GTK_WIDGET (view));
}

/* Types @sql and runs all of it; returns once it ended. */
static void
run_all (BastionQueryPage *page,
         const char       *sql)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));

  gtk_text_buffer_set_text (buffer, sql, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_page_finished, page, sql);
  bastion_ui_test_settle (GTK_WIDGET (page));
}

static void
test_bypasses_refused (void)
{
  static const char * const bypasses[] = {
    "BEGIN READ WRITE; DELETE FROM data; COMMIT",
    "START TRANSACTION READ WRITE; DELETE FROM data; COMMIT",
    "SET transaction_read_only = off; DELETE FROM data",
    "SET default_transaction_read_only = off; COMMIT; DELETE FROM data",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM data",
    "BEGIN READ WRITE; PREPARE p AS DELETE FROM data; EXECUTE p; COMMIT",
    "SELECT lo_unlink(LO)",
    "BEGIN READ WRITE; ALTER ROLE ADMIN SET default_transaction_read_only = off; COMMIT",
    "DELETE FROM data",
    "TRUNCATE data",
    "COPY (SELECT 1) TO PROGRAM 'true'",
    "SELECT nextval('bastion_probe_seq')",
    "SELECT setval('bastion_probe_seq', 100)",
    "DO $$ BEGIN DELETE FROM data; END $$",
    "DO $$ BEGIN PERFORM lo_unlink(LO); END $$",
    "WITH d AS (DELETE FROM data RETURNING *) SELECT count(*) FROM d",
    "ALTER ROLE ADMIN SET default_transaction_read_only = off",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "PREPARE q AS DELETE FROM data; EXECUTE q",
    "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM data; COMMIT",
    "select 1;\n/* ; */ commit -- x\n; delete from data",
    "SELECT set_config('default_transaction_read_only', 'off', false); COMMIT; DELETE FROM data",
    "SELECT query_to_xml('select lo_unlink(LO)', true, true, '')",
    "SET U&\"transaction\\005fread\\005fonly\" = off; DELETE FROM data",
    "RESET ALL; COMMIT; DELETE FROM data",
    "END; SET default_transaction_read_only = off; DELETE FROM data",
    "SELECT pg_advisory_lock(1)",
  };
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  g_autofree char *before = checksum ();
  const char *admin = g_getenv ("BASTION_TEST_PG_USER");

  g_assert_nonnull (before);

  for (guint i = 0; i < G_N_ELEMENTS (bypasses); i++)
    {
      g_autofree char *sql = NULL;
      g_autofree char *after = NULL;
      const GError *error;

      GString *text = g_string_new (bypasses[i]);

      g_string_replace (text, "LO", large_object, 0);
      g_string_replace (text, "ADMIN", admin, 0);
      sql = g_string_free (text, FALSE);

      g_test_message ("%s", sql);
      run_all (page, sql);
      error = bastion_query_get_error (bastion_query_page_get_query (page));
      g_assert_nonnull (error);
      g_test_message ("refused: %s", error->message);
      g_assert_cmpstr (bastion_query_page_get_result_kind (page), ==, "message");
      g_assert_true (bastion_database_get_read_only (database));

      after = checksum ();
      g_assert_cmpstr (after, ==, before);
    }

  /* The guard's refusal reads on the page, naming the statement and what to do. */
  run_all (page, "select 1;\ncommit");
  g_assert_error (bastion_query_get_error (bastion_query_page_get_query (page)),
                  BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_REFUSED);
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "“COMMIT”"));
  bastion_ui_test_screenshot (window, "query-refused");

  /* And reading still works, statement after statement. */
  run_all (page, "select 1; select count(*) from device");
  g_assert_no_error (bastion_query_get_error (bastion_query_page_get_query (page)));
}

static gboolean
read_only_is (gpointer user_data)
{
  return bastion_database_get_read_only (database) == GPOINTER_TO_INT (user_data);
}

static char *
role_settings (void)
{
  return run_value (superuser, "select coalesce(string_agg(array_to_string(setconfig, ';'), ','),"
                               " '') from pg_db_role_setting");
}

static AdwMessageDialog *
wait_dialog (void)
{
  bastion_ui_test_wait_for (bastion_ui_test_message_dialog_shown, NULL, "the confirmation");
  return ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
}

static void
test_settings_confirmed (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  g_autofree char *sql = g_strdup_printf ("ALTER ROLE %s SET work_mem = '7MB'",
                                          g_getenv ("BASTION_TEST_PG_USER"));
  g_autofree char *settings = NULL;
  GtkWidget *writes_switch;
  AdwMessageDialog *dialog;

  writes_switch = (GtkWidget *) gtk_widget_get_template_child (GTK_WIDGET (page),
                                                               BASTION_TYPE_QUERY_PAGE,
                                                               "writes_switch");
  gtk_switch_set_active (GTK_SWITCH (writes_switch), TRUE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (FALSE), "writes to be allowed");

  /* Writes allowed as the admin of a team without a read-only login: the offer, once. */
  dialog = wait_dialog ();
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==,
                   "Make a Read-Only Login for This Team?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "bastion_readonly"));
  bastion_ui_test_screenshot (GTK_WIDGET (dialog), "readonly-offer");
  adw_message_dialog_response (dialog, "create");
  gtk_window_destroy (GTK_WINDOW (dialog));
  dialog = wait_dialog ();
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Read-Only Login Ready");
  gtk_window_destroy (GTK_WINDOW (dialog));
  settings = run_value (superuser, "select rolcanlogin::text || '/' || "
                                   "pg_has_role('bastion_readonly', 'pg_read_all_data', 'member')"
                                   " from pg_roles where rolname = 'bastion_readonly'");
  g_assert_cmpstr (settings, ==, "true/true");
  g_clear_pointer (&settings, g_free);

  /* Only once: read-only and back asks nothing. */
  gtk_switch_set_active (GTK_SWITCH (writes_switch), FALSE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (TRUE), "read-only");
  gtk_switch_set_active (GTK_SWITCH (writes_switch), TRUE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (FALSE), "writes allowed again");
  bastion_ui_test_settle (GTK_WIDGET (page));
  g_assert_false (bastion_ui_test_message_dialog_shown (NULL));

  gtk_text_buffer_set_text (buffer, sql, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  dialog = wait_dialog ();
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==,
                   "Change Settings for Every Session?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "ALTER ROLE"));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "every other session"));
  bastion_ui_test_screenshot (GTK_WIDGET (dialog), "query-confirm-settings");
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  bastion_ui_test_settle (GTK_WIDGET (page));
  g_assert_cmpstr (bastion_query_page_get_status_text (page), ==, "Not run");
  settings = role_settings ();
  g_assert_null (strstr (settings, "work_mem"));
  g_clear_pointer (&settings, g_free);

  /* Confirmed: it runs at once (not a second, ordinary write confirmation). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  dialog = wait_dialog ();
  adw_message_dialog_response (dialog, "run");
  gtk_window_destroy (GTK_WINDOW (dialog));
  bastion_ui_test_wait_for (bastion_ui_test_page_finished, page, sql);
  g_assert_no_error (bastion_query_get_error (bastion_query_page_get_query (page)));
  settings = role_settings ();
  g_assert_nonnull (strstr (settings, "work_mem=7MB"));

  g_free (run_value (superuser, "alter role dbadmin reset work_mem; "
                                "drop owned by bastion_readonly; drop role bastion_readonly"));
  gtk_switch_set_active (GTK_SWITCH (writes_switch), FALSE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (TRUE), "read-only again");
}

int
main (int    argc,
      char **argv)
{
  int status;

  bastion_ui_test_init (&argc, &argv);
  open_view ();

  g_test_add_func ("/bastion/ui/readonly/bypasses-refused", test_bypasses_refused);
  g_test_add_func ("/bastion/ui/readonly/settings-confirmed", test_settings_confirmed);

  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&database);
  g_clear_object (&superuser);
  g_free (large_object);
  return status;
}
