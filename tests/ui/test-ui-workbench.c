/* test-ui-workbench.c
 *
 * The query workbench (issue 20) against the harness PostgreSQL, under
 * tests/harness/with-servers --xvfb --postgres: completion from the real catalogue ("d." after
 * "from device d" offers device's columns, a mixed-case column proposed quoted, completing
 * while the database does not answer keeps the main loop ticking), the history of each outcome
 * with search, filter, re-run and masking, charts of the demo's device data rendered to PNG
 * (and 100,000 points within a hang detector's bound), EXPLAIN ANALYZE as a tree, and
 * screenshots.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <libpq-fe.h>

#include "bastion-catalog.h"
#include "bastion-chart-view.h"
#include "bastion-explain-view.h"
#include "bastion-database.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-sql-completion.h"
#include "bastion-ui-test.h"

#define PROFILE_ID "ui-workbench-test"

static BastionDatabase *database;
static GtkWidget *window;
static BastionQueryView *view;

/* Setup */

/* Whether @needle is anywhere in @len bytes (an SQLite file has NULs: not a string search). */
static gboolean
bytes_contain (const char *haystack,
               gsize       len,
               const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= len; i++)
    if (memcmp (haystack + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

/* Test set-up only, so plain blocking libpq. */
static void
exec_admin (const char *sql)
{
  g_autofree char *password = bastion_ui_test_dup_pg_password ();
  const char *keys[] = { "host", "port", "dbname", "user", "password", NULL };
  const char *values[] = { "127.0.0.1", g_getenv ("BASTION_TEST_PG_PORT"),
                           g_getenv ("BASTION_TEST_PG_DB"), g_getenv ("BASTION_TEST_PG_USER"),
                           password, NULL };
  PGconn *conn = PQconnectdbParams (keys, values, 0);
  PGresult *res;

  g_assert_cmpint (PQstatus (conn), ==, CONNECTION_OK);
  res = PQexec (conn, sql);
  g_assert_cmpint (PQresultStatus (res), ==, PGRES_COMMAND_OK);
  PQclear (res);
  PQfinish (conn);
}

static void
open_view (void)
{
  /* The demo's schema has no mixed-case name (Pony writes lower case): add a view with one, as
   * a hand-made report table would have. */
  exec_admin ("CREATE OR REPLACE VIEW device_health AS"
              " SELECT d.name, d.battery_level AS \"batteryLevel\", d.status FROM device d");
  database = bastion_ui_test_connect_database ();
  view = BASTION_QUERY_VIEW (bastion_query_view_new (database, PROFILE_ID, TRUE));
  window = bastion_ui_test_present_with_header (GTK_WIDGET (view),
                                                adw_window_title_new ("demo", "simpleiot"),
                                                NULL);
}

/* Helpers */

static BastionQueryPage *
current_page (void)
{
  BastionQueryPage *page = bastion_query_view_get_current_page (view);

  g_assert_nonnull (page);
  return page;
}

static gboolean
catalog_loaded (gpointer user_data)
{
  BastionCatalog *catalog = user_data;

  return bastion_catalog_get_loaded (catalog) && !bastion_catalog_get_loading (catalog);
}

/* The proposals' texts for @text with the cursor at the first "|" (which is removed). */
static GPtrArray *
propose (BastionSqlCompletion *completion,
         const char           *marked)
{
  const char *bar = strchr (marked, '|');
  g_autoptr(GString) text = g_string_new (marked);
  g_autoptr(GListModel) model = NULL;
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);

  g_assert_nonnull (bar);
  g_string_erase (text, bar - marked, 1);
  model = bastion_sql_completion_propose (completion, text->str, bar - marked);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(BastionSqlProposal) proposal = g_list_model_get_item (model, i);

      g_ptr_array_add (texts, g_strdup (bastion_sql_proposal_get_text (proposal)));
    }
  return texts;
}

static gboolean
texts_have (GPtrArray  *texts,
            const char *text)
{
  for (guint i = 0; i < texts->len; i++)
    if (g_str_equal (g_ptr_array_index (texts, i), text))
      return TRUE;
  return FALSE;
}

/* Completion */

static void
test_completion_columns (void)
{
  BastionCatalog *catalog = bastion_query_view_get_catalog (view);
  g_autoptr(BastionSqlCompletion) completion = NULL;
  g_autoptr(GPtrArray) columns = NULL;
  g_autoptr(GPtrArray) texts = NULL;

  g_assert_nonnull (catalog);
  bastion_ui_test_wait_for (catalog_loaded, catalog, "the catalogue");
  completion = bastion_sql_completion_new (catalog);
  columns = bastion_catalog_dup_columns (catalog, NULL, "device");
  g_assert_cmpuint (columns->len, ==, 29);

  /* "d." after "from device d": device's columns, and nothing else, in table order. */
  texts = propose (completion, "select d.| from device d");
  g_assert_cmpuint (texts->len, ==, columns->len);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "id");
  g_assert_cmpstr (g_ptr_array_index (texts, 1), ==, "serial_number");
  /* Reserved words are proposed quoted. */
  g_assert_true (texts_have (texts, "\"desc\""));
  g_assert_true (texts_have (texts, "\"position\""));
  g_assert_false (texts_have (texts, "desc"));

  /* With a prefix, a join and AS: the alias of the joined table. */
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select m.na| from device d\n  join model AS m on m.id = d.model");
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "name");

  /* No qualifier: the FROM tables' columns come first, then tables, functions, keywords. */
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select ser| from device");
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "serial_number");
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select * from dev|");
  g_assert_true (texts_have (texts, "device"));
  g_assert_true (texts_have (texts, "devicegroup"));
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "sel|");
  g_assert_true (texts_have (texts, "select"));
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select date_tr|");
  g_assert_true (texts_have (texts, "date_trunc"));
  /* A schema qualifier: its tables. */
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select * from public.us|");
  g_assert_true (texts_have (texts, "\"user\""));
}

static void
test_completion_quoted (void)
{
  BastionCatalog *catalog = bastion_query_view_get_catalog (view);
  g_autoptr(BastionSqlCompletion) completion = bastion_sql_completion_new (catalog);
  g_autoptr(GPtrArray) texts = NULL;

  /* The mixed-case column: proposed quoted, whether typed plain or with the quote. */
  texts = propose (completion, "select h.bat| from device_health h");
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "\"batteryLevel\"");
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select h.\"batt| from device_health h");
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "\"batteryLevel\"");
  g_clear_pointer (&texts, g_ptr_array_unref);
  /* Inside quotes the case matters. */
  texts = propose (completion, "select h.\"Bat| from device_health h");
  g_assert_cmpuint (texts->len, ==, 0);
}


static gboolean
catalog_has_table (gpointer user_data)
{
  BastionCatalog *catalog = bastion_query_view_get_catalog (view);
  g_autoptr(GPtrArray) columns = bastion_catalog_dup_columns (catalog, NULL, user_data);

  return columns->len > 0;
}

/* Read once per connection: a table made later is unknown until the schema browser's Refresh. */
static void
test_completion_refresh (void)
{
  BastionCatalog *catalog = bastion_query_view_get_catalog (view);
  g_autoptr(BastionSqlCompletion) completion = bastion_sql_completion_new (catalog);
  g_autoptr(GPtrArray) texts = NULL;

  exec_admin ("CREATE TABLE IF NOT EXISTS sensor_calibration (device uuid, \"offsetMv\" int)");
  texts = propose (completion, "select * from sensor_cal|");
  g_assert_cmpuint (texts->len, ==, 0);
  g_assert_false (bastion_catalog_get_loading (catalog));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "view.refresh-schema", NULL));
  bastion_ui_test_wait_for (catalog_has_table, "sensor_calibration", "the refreshed catalogue");
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select * from sensor_cal|");
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "sensor_calibration");
  g_clear_pointer (&texts, g_ptr_array_unref);
  texts = propose (completion, "select s.off| from sensor_calibration s");
  g_assert_cmpstr (g_ptr_array_index (texts, 0), ==, "\"offsetMv\"");
  exec_admin ("DROP TABLE sensor_calibration");
}

static gboolean
completion_shown (gpointer user_data)
{
  BastionSqlCompletion *completion = user_data;
  GListModel *last = bastion_sql_completion_get_last_proposals (completion);

  return last != NULL && g_list_model_get_n_items (last) > 0;
}

/* The editor's own completion: the provider is attached and the window shows device's
 * columns. */
static void
test_completion_editor (void)
{
  BastionQueryPage *page = current_page ();
  GtkSourceView *source_view = bastion_query_page_get_source_view (page);
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  BastionSqlCompletion *completion = g_object_get_data (G_OBJECT (source_view),
                                                        "bastion-sql-completion");
  GListModel *last;
  g_autoptr(BastionSqlProposal) desc = NULL;
  GtkTextIter iter;

  g_assert_nonnull (completion);
  gtk_text_buffer_set_text (buffer, "select d.\n  from device d\n order by 1;", -1);
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, strlen ("select d."));
  gtk_text_buffer_place_cursor (buffer, &iter);
  gtk_widget_grab_focus (GTK_WIDGET (source_view));
  g_signal_emit_by_name (source_view, "show-completion");
  bastion_ui_test_wait_for (completion_shown, completion, "the completion window");
  bastion_ui_test_settle (window);

  last = bastion_sql_completion_get_last_proposals (completion);
  g_assert_cmpuint (g_list_model_get_n_items (last), ==, 29);
  for (guint i = 0; i < g_list_model_get_n_items (last) && desc == NULL; i++)
    {
      g_autoptr(BastionSqlProposal) p = g_list_model_get_item (last, i);

      if (g_str_equal (bastion_sql_proposal_get_name (p), "desc"))
        desc = g_steal_pointer (&p);
    }
  g_assert_nonnull (desc);

  /* Screenshot of the whole screen: the completion window is a popup of its own. */
  {
    g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
    g_autofree char *file = g_build_filename (dir, "workbench-completion.png", NULL);
    const char *argv[] = { "import", "-window", "root", file, NULL };
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_mkdir_with_parents (dir, 0755);
    bastion_ui_test_wait_drawn (window);
    if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, &error))
      g_test_message ("screenshot: %s", file);
    else
      g_test_message ("no screenshot of the screen: %s", error->message);
  }

  gtk_source_completion_hide (gtk_source_view_get_completion (source_view));
  g_signal_emit_by_name (source_view, "show-completion");
  bastion_ui_test_settle (window);
  gtk_source_completion_hide (gtk_source_view_get_completion (source_view));
}

/* A TCP relay to PostgreSQL that can stop passing bytes: a database that does not answer. */
typedef struct
{
  int           listen_fd;
  int           port;
  int           target_port;
  volatile gint blocked;
  volatile gint stop;
  GThread      *thread;
} Relay;

static void
relay_pump (Relay *relay,
            int    a,
            int    b)
{
  char buf[16384];

  while (!g_atomic_int_get (&relay->stop))
    {
      struct pollfd fds[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

      if (g_atomic_int_get (&relay->blocked))
        {
          g_usleep (20000);
          continue;
        }
      if (poll (fds, 2, 50) <= 0)
        continue;
      for (int i = 0; i < 2; i++)
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
          {
            ssize_t n = read (fds[i].fd, buf, sizeof buf);

            if (n <= 0 || write (i == 0 ? b : a, buf, n) != n)
              return;
          }
    }
}

static gpointer
relay_thread (gpointer data)
{
  Relay *relay = data;

  while (!g_atomic_int_get (&relay->stop))
    {
      struct pollfd pfd = { relay->listen_fd, POLLIN, 0 };
      struct sockaddr_in addr = { 0 };
      int client, server;

      if (poll (&pfd, 1, 50) <= 0)
        continue;
      client = accept (relay->listen_fd, NULL, NULL);
      server = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      addr.sin_family = AF_INET;
      addr.sin_port = htons (relay->target_port);
      addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      if (client >= 0 && connect (server, (struct sockaddr *) &addr, sizeof addr) == 0)
        relay_pump (relay, client, server);
      if (client >= 0)
        close (client);
      close (server);
    }
  return NULL;
}

static Relay *
relay_start (int target_port)
{
  Relay *relay = g_new0 (Relay, 1);
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;

  relay->target_port = target_port;
  relay->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (relay->listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (relay->listen_fd, 4), ==, 0);
  g_assert_cmpint (getsockname (relay->listen_fd, (struct sockaddr *) &addr, &len), ==, 0);
  relay->port = ntohs (addr.sin_port);
  relay->thread = g_thread_new ("relay", relay_thread, relay);
  return relay;
}

static void
relay_free (Relay *relay)
{
  g_atomic_int_set (&relay->stop, 1);
  g_thread_join (relay->thread);
  close (relay->listen_fd);
  g_free (relay);
}

static gboolean
tick_cb (gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
deadline_passed (gpointer user_data)
{
  return g_get_monotonic_time () >= *(gint64 *) user_data;
}

/* The database stops answering while the catalogue is read again: completing still answers at
 * once from what was loaded, and the main loop keeps ticking throughout. */
static void
test_completion_unreachable (void)
{
  Relay *relay = relay_start (atoi (g_getenv ("BASTION_TEST_PG_PORT")));
  g_autoptr(BastionDatabase) db = bastion_ui_test_connect_database_full (NULL, relay->port,
                                                                         FALSE);
  g_autoptr(BastionCatalog) catalog = bastion_catalog_new (db);
  g_autoptr(BastionSqlCompletion) completion = bastion_sql_completion_new (catalog);
  guint ticks = 0;
  guint rounds = 0;
  gint64 longest = 0;
  gint64 deadline;
  guint tick_id;

  bastion_catalog_refresh (catalog);
  bastion_ui_test_wait_for (catalog_loaded, catalog, "the catalogue through the relay");

  g_atomic_int_set (&relay->blocked, 1);
  bastion_catalog_refresh (catalog);
  g_assert_true (bastion_catalog_get_loading (catalog));

  tick_id = g_timeout_add (10, tick_cb, &ticks);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(GPtrArray) texts = propose (completion, "select d.| from device d");

      longest = MAX (longest, g_get_monotonic_time () - start);
      g_assert_cmpuint (texts->len, ==, 29);
      rounds++;
      g_main_context_iteration (NULL, FALSE);
    }
  /* Let the 10 ms timeout show how the loop ran. */
  deadline = g_get_monotonic_time () + 200 * 1000;
  bastion_ui_test_wait_for (deadline_passed, &deadline, "a short wait");
  g_source_remove (tick_id);
  g_test_message ("database silent for 1.2 s: %u completions (longest %" G_GINT64_FORMAT
                  " us), %u ticks of 10 ms", rounds, longest, ticks);
  /* Generous: a blocked loop would show 0 ticks and one long completion. */
  g_assert_cmpuint (ticks, >=, 20);
  g_assert_cmpint (longest, <, G_USEC_PER_SEC / 2);
  g_assert_true (bastion_catalog_get_loading (catalog));

  /* Answering again, the read completes. */
  g_atomic_int_set (&relay->blocked, 0);
  bastion_ui_test_wait_for (catalog_loaded, catalog, "the catalogue after the stall");
  g_clear_object (&completion);
  g_clear_object (&catalog);
  bastion_database_disconnect (db);
  relay_free (relay);
}


/* History */

static GPtrArray *
history_search (BastionHistory        *history,
                const char            *text,
                BastionHistoryOutcome  outcome)
{
  GPtrArray *entries = NULL;

  bastion_history_search_async (history, text, outcome, 0, NULL, bastion_ui_test_store_history,
                                &entries);
  while (entries == NULL)
    g_main_context_iteration (NULL, TRUE);
  return entries;
}

static BastionHistoryEntry *
history_find (const char *sql_start)
{
  g_autoptr(GPtrArray) entries = history_search (bastion_query_view_get_history (view), NULL,
                                                 BASTION_HISTORY_OUTCOME_ANY);

  for (guint i = 0; i < entries->len; i++)
    if (g_str_has_prefix (bastion_history_entry_get_sql (g_ptr_array_index (entries, i)),
                          sql_start))
      return g_object_ref (g_ptr_array_index (entries, i));
  return NULL;
}

static gboolean
history_has_cb (gpointer user_data)
{
  g_autoptr(BastionHistoryEntry) entry = history_find (user_data);

  return entry != NULL;
}

static GPtrArray *
shown_entries (BastionHistoryView *history_view)
{
  GPtrArray *entries = g_ptr_array_new ();

  bastion_ui_test_wait_for (bastion_ui_test_history_view_idle, history_view, "the history list");
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (
         bastion_history_view_get_list (history_view)));
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    g_ptr_array_add (entries, g_object_get_data (G_OBJECT (row), "bastion-entry"));
  return entries;
}

static void
run_and_wait (BastionQueryPage *page,
              const char       *sql)
{
  bastion_query_page_run_sql (page, sql);
  bastion_ui_test_wait_page_idle (page);
  bastion_ui_test_wait_for (history_has_cb, (gpointer) sql, "the statement in the history");
}

/* Each outcome recorded with what it says, a password masked, never result data. */
static void
test_history_outcomes (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  g_autoptr(BastionHistoryEntry) ok = NULL;
  g_autoptr(BastionHistoryEntry) error = NULL;
  g_autoptr(BastionHistoryEntry) cancelled = NULL;
  g_autoptr(BastionHistoryEntry) masked = NULL;
  g_autofree char *path = bastion_query_view_dup_history_path (PROFILE_ID);
  g_autofree char *contents = NULL;
  gsize len = 0;
  GStatBuf st;

  run_and_wait (page, "select serial_number from device where name like 'Living%'");
  run_and_wait (page, "selec 1");
  bastion_query_page_run_sql (page, "ALTER ROLE bastion_nobody PASSWORD 'hunter2-not-kept'");
  bastion_ui_test_wait_page_idle (page);
  bastion_ui_test_wait_for (history_has_cb, "ALTER ROLE bastion_nobody PASSWORD '*",
                            "the masked statement in the history");

  bastion_query_page_run_sql (page, "select pg_sleep(60)");
  bastion_ui_test_wait_for (bastion_ui_test_query_running, page, "pg_sleep to run");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.cancel", NULL));
  bastion_ui_test_wait_page_idle (page);
  bastion_ui_test_wait_for (history_has_cb, "select pg_sleep(60)", "the cancelled statement");

  ok = history_find ("select serial_number from device");
  g_assert_cmpint (bastion_history_entry_get_outcome (ok), ==, BASTION_HISTORY_OUTCOME_OK);
  g_assert_cmpint (bastion_history_entry_get_rows (ok), ==, 1);
  g_assert_false (bastion_history_entry_get_writes_allowed (ok));
  g_assert_cmpint (bastion_history_entry_get_duration (ok), >, 0);
  g_assert_cmpint (ABS (bastion_history_entry_get_started (ok) - g_get_real_time ()), <,
                   600 * G_USEC_PER_SEC);
  error = history_find ("selec 1");
  g_assert_cmpint (bastion_history_entry_get_outcome (error), ==, BASTION_HISTORY_OUTCOME_ERROR);
  g_assert_cmpstr (bastion_history_entry_get_sqlstate (error), ==, "42601");
  cancelled = history_find ("select pg_sleep(60)");
  g_assert_cmpint (bastion_history_entry_get_outcome (cancelled), ==,
                   BASTION_HISTORY_OUTCOME_CANCELLED);
  masked = history_find ("ALTER ROLE bastion_nobody");
  g_assert_cmpstr (bastion_history_entry_get_sql (masked), ==,
                   "ALTER ROLE bastion_nobody PASSWORD '********'");
  g_assert_cmpint (bastion_history_entry_get_outcome (masked), ==, BASTION_HISTORY_OUTCOME_ERROR);

  /* The file: 0600, no password, no result data (the serial number the query returned). */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_false (bytes_contain (contents, len, "hunter2"));
  g_assert_false (bytes_contain (contents, len, "TP1000-0001"));
  g_assert_true (bytes_contain (contents, len, "selec 1"));

  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

/* The History popover: search, the outcome filter, back into the editor and run again,
 * delete one, clear all. */
static void
test_history_view (void)
{
  GtkMenuButton *button = GTK_MENU_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (view),
                                                                          BASTION_TYPE_QUERY_VIEW,
                                                                          "history_button"));
  BastionHistoryView *history_view = bastion_query_view_get_history_view (view);
  BastionHistory *history = bastion_query_view_get_history (view);
  BastionQueryPage *page = current_page ();
  g_autoptr(GPtrArray) shown = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) after = NULL;
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  BastionHistoryEntry *first;
  gint64 deleted_id;

  gtk_menu_button_popup (button);
  bastion_ui_test_wait_drawn (GTK_WIDGET (history_view));

  /* Search: what the store finds, and only that. */
  bastion_history_view_set_filter (history_view, "DEVICE", BASTION_HISTORY_OUTCOME_ANY);
  shown = shown_entries (history_view);
  g_assert_cmpuint (shown->len, >=, 1);
  for (guint i = 0; i < shown->len; i++)
    g_assert_nonnull (strstr (bastion_history_entry_get_sql (g_ptr_array_index (shown, i)),
                              "device"));
  g_clear_pointer (&shown, g_ptr_array_unref);

  /* The outcome filter. */
  bastion_history_view_set_filter (history_view, NULL, BASTION_HISTORY_OUTCOME_ERROR);
  shown = shown_entries (history_view);
  g_assert_cmpuint (shown->len, ==, 2);
  for (guint i = 0; i < shown->len; i++)
    g_assert_cmpint (bastion_history_entry_get_outcome (g_ptr_array_index (shown, i)), ==,
                     BASTION_HISTORY_OUTCOME_ERROR);
  g_clear_pointer (&shown, g_ptr_array_unref);

  bastion_history_view_set_filter (history_view, NULL, BASTION_HISTORY_OUTCOME_ANY);
  shown = shown_entries (history_view);
  all = history_search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (shown->len, ==, all->len);
  bastion_ui_test_settle (GTK_WIDGET (history_view));
  bastion_ui_test_screenshot (GTK_WIDGET (gtk_menu_button_get_popover (button)),
                              "workbench-history");

  /* Re-run: a row goes into the editor, then runs from there. */
  {
    GtkListBox *list = bastion_history_view_get_list (history_view);
    GtkListBoxRow *row = NULL;

    for (guint i = 0; i < shown->len && row == NULL; i++)
      if (g_str_has_prefix (bastion_history_entry_get_sql (g_ptr_array_index (shown, i)),
                            "select serial_number"))
        row = gtk_list_box_get_row_at_index (list, i);
    g_assert_nonnull (row);
    g_signal_emit_by_name (list, "row-activated", row);
  }
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  g_assert_cmpstr (text, ==, "select serial_number from device where name like 'Living%'");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  bastion_ui_test_wait_page_idle (page);
  g_assert_null (bastion_query_get_error (bastion_query_page_get_query (page)));
  g_assert_cmpuint (bastion_query_get_n_rows (bastion_query_page_get_query (page)), ==, 1);

  /* Delete one. */
  gtk_menu_button_popup (button);
  g_clear_pointer (&shown, g_ptr_array_unref);
  bastion_history_view_reload (history_view);
  shown = shown_entries (history_view);
  first = g_ptr_array_index (shown, 0);
  deleted_id = bastion_history_entry_get_id (first);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (history_view), "history.delete", "x",
                                             deleted_id));
  bastion_ui_test_settle (GTK_WIDGET (history_view));
  g_clear_pointer (&shown, g_ptr_array_unref);
  bastion_history_view_reload (history_view);
  shown = shown_entries (history_view);
  after = history_search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  for (guint i = 0; i < after->len; i++)
    g_assert_cmpint (bastion_history_entry_get_id (g_ptr_array_index (after, i)), !=, deleted_id);
  g_assert_cmpuint (after->len, ==, all->len);  /* the re-run added one, the delete took one */

  /* Clear all (what the dialog's "Clear All" does). */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (history_view), "history.delete", "x",
                                             (gint64) 0));
  g_clear_pointer (&after, g_ptr_array_unref);
  after = history_search (history, NULL, BASTION_HISTORY_OUTCOME_ANY);
  g_assert_cmpuint (after->len, ==, 0);
  gtk_popover_popdown (gtk_menu_button_get_popover (button));
}

/* A damaged history file: moved aside, the view says where, a new history works. */
static void
test_history_corrupt (void)
{
  const char *profile = "ui-workbench-damaged";
  g_autofree char *path = bastion_history_dup_path_for_profile (profile);
  g_autofree char *dir = g_path_get_dirname (path);
  const char *garbage = "SQLite format 3\nbut not really; the user's old history\n";
  BastionQueryView *second;
  BastionHistoryView *history_view;
  GtkWidget *popup_window;
  g_autoptr(GDir) listing = NULL;
  const char *name;
  const char *message = NULL;
  guint moved = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, garbage, -1, NULL));

  second = BASTION_QUERY_VIEW (bastion_query_view_new (database, profile, FALSE));
  popup_window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (popup_window), GTK_WIDGET (second));
  gtk_window_present (GTK_WINDOW (popup_window));
  history_view = bastion_query_view_get_history_view (second);
  bastion_history_view_reload (history_view);
  g_ptr_array_unref (shown_entries (history_view));

  message = bastion_history_get_recovery_message (bastion_query_view_get_history (second));
  g_assert_nonnull (message);
  g_test_message ("%s", message);
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (history_view), message));

  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, "ui-workbench-damaged.sqlite.damaged-"))
      {
        g_autofree char *moved_path = g_build_filename (dir, name, NULL);
        g_autofree char *contents = NULL;

        g_assert_true (g_file_get_contents (moved_path, &contents, NULL, NULL));
        g_assert_cmpstr (contents, ==, garbage);
        moved++;
      }
  g_assert_cmpuint (moved, ==, 1);

  gtk_window_destroy (GTK_WINDOW (popup_window));
}

/* EXPLAIN */

static BastionQueryPage *
explain (const char *sql,
         const char *action)
{
  BastionQueryPage *page = current_page ();
  BastionQueryPage *plan_page;

  bastion_query_page_set_sql (page, sql);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), action, NULL));
  plan_page = current_page ();
  if (plan_page == page)
    return NULL;
  bastion_ui_test_wait_for (bastion_ui_test_page_shows_plan, plan_page, "the plan");
  bastion_ui_test_wait_page_idle (plan_page);
  return plan_page;
}

static void
collect_nodes (GListModel *nodes,
               GPtrArray  *all)
{
  for (guint i = 0; i < g_list_model_get_n_items (nodes); i++)
    {
      BastionExplainNode *node = g_list_model_get_item (nodes, i);

      g_ptr_array_add (all, node);
      collect_nodes (bastion_explain_node_get_children (node), all);
    }
}

/* EXPLAIN ANALYZE of a join as a tree: every node with its own time, the shares adding up, the
 * costliest highlighted; ANALYZE of a write refused while the session is read-only. */
static void
test_explain_tree (void)
{
  BastionQueryPage *plan_page =
    explain ("select d.name, m.name, count(g)\n"
             "  from device d join model m on m.id = d.model\n"
             " cross join generate_series(1, 50000) g\n"
             " group by d.name, m.name order by 3 desc", "view.explain-analyze");
  BastionExplainView *tree = bastion_query_page_get_explain_view (plan_page);
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *rows = bastion_explain_view_get_rows (tree);
  double shares = 0;
  guint costly = 0;
  gboolean has_join = FALSE;

  g_assert_nonnull (plan_page);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (tree)));
  collect_nodes (bastion_explain_view_get_roots (tree), nodes);
  g_assert_cmpuint (nodes->len, >=, 4);
  /* Expanded: every node is a row. */
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, nodes->len);
  for (guint i = 0; i < nodes->len; i++)
    {
      BastionExplainNode *node = g_ptr_array_index (nodes, i);

      g_test_message ("%-50s %8.3f ms %5.1f %%", bastion_explain_node_get_title (node),
                      bastion_explain_node_get_self_ms (node),
                      bastion_explain_node_get_share (node) * 100);
      g_assert_cmpfloat (bastion_explain_node_get_self_ms (node), >=, 0);
      shares += bastion_explain_node_get_share (node);
      costly += bastion_explain_node_get_share (node) >= BASTION_EXPLAIN_COSTLY;
      has_join |= strstr (bastion_explain_node_get_title (node), "Join") != NULL;
    }
  g_assert_true (has_join);
  g_assert_cmpfloat (ABS (shares - 1.0), <, 0.01);
  g_assert_cmpuint (costly, >=, 1);
  g_assert_true (g_str_has_prefix (bastion_explain_view_get_summary (tree), "Planning "));

  /* The costliest node's labels carry the highlight. */
  {
    gboolean found = FALSE;

    bastion_ui_test_settle (GTK_WIDGET (tree));
    for (GtkWidget *w = GTK_WIDGET (tree); w != NULL && !found;)
      {
        if (GTK_IS_LABEL (w) && gtk_widget_get_mapped (w) && gtk_widget_has_css_class (w, "heading"))
          found = TRUE;
        if (gtk_widget_get_first_child (w) != NULL)
          w = gtk_widget_get_first_child (w);
        else
          {
            while (w != NULL && w != GTK_WIDGET (tree) && gtk_widget_get_next_sibling (w) == NULL)
              w = gtk_widget_get_parent (w);
            w = (w == NULL || w == GTK_WIDGET (tree)) ? NULL : gtk_widget_get_next_sibling (w);
          }
      }
    g_assert_true (found);
  }
  bastion_ui_test_screenshot (window, "workbench-explain");

  /* Plain EXPLAIN: estimates only, shares of the cost. */
  plan_page = explain ("select * from device where name = 'x'", "view.explain");
  tree = bastion_query_page_get_explain_view (plan_page);
  g_assert_cmpuint (g_list_model_get_n_items (bastion_explain_view_get_roots (tree)), ==, 1);
  g_assert_true (g_str_has_prefix (bastion_explain_view_get_summary (tree), "Estimated"));

  /* ANALYZE would run the DELETE: refused in a read-only session, no tab opened. */
  g_assert_null (explain ("delete from device", "view.explain-analyze"));
}

/* Charts */

static guint
count_colours (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint32 *pixels = g_new (guint32, width * height);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);

  gdk_texture_download (texture, (guchar *) pixels, width * 4);
  for (int i = 0; i < width * height && g_hash_table_size (colours) < 1000; i++)
    g_hash_table_add (colours, GUINT_TO_POINTER (pixels[i]));
  return g_hash_table_size (colours);
}

/* Pixels of the first series' colour (Adwaita blue, #3584e4), give or take antialiasing. */
static guint
count_blue (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guchar *pixels = g_new (guchar, width * height * 4);
  guint n = 0;

  gdk_texture_download (texture, pixels, width * 4);
  for (int i = 0; i < width * height; i++)
    {
      /* CAIRO_FORMAT_ARGB32 in memory: B G R A on little endian */
      guchar b = pixels[i * 4], g = pixels[i * 4 + 1], r = pixels[i * 4 + 2];

      if (ABS (r - 0x35) < 24 && ABS (g - 0x84) < 24 && ABS (b - 0xe4) < 24)
        n++;
    }
  return n;
}

static char *
screenshot_path (const char *name)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);

  g_mkdir_with_parents (dir, 0755);
  return g_strconcat (dir, G_DIR_SEPARATOR_S, name, ".png", NULL);
}

static gboolean
chart_shown (gpointer user_data)
{
  BastionQueryPage *page = user_data;

  return g_strcmp0 (bastion_query_page_get_result_kind (page), "chart") == 0
         && bastion_chart_get_data (bastion_chart_view_get_chart (
              bastion_query_page_get_chart_view (page))) != NULL;
}

static void
export_chart (BastionChartView         *chart_view,
              const char               *path,
              BastionChartExportFormat  format)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_chart_view_export_async (chart_view, file, format, NULL, test_store_result, &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "the chart export");
  g_assert_true (bastion_chart_view_export_finish (chart_view, result, &error));
  g_assert_no_error (error);
}

/* The Device Data view opens as a chart: a line per device and data type over the timestamp;
 * rendered to PNG it is not blank, has the series' colour, and its axes have labels. */
static void
test_chart_device_data (void)
{
  BastionQueryPage *page = bastion_query_view_open_entity (view, "device-data");
  BastionChartView *chart_view;
  BastionChart *chart;
  BastionChartData *data;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *png = screenshot_path ("workbench-chart-render");
  g_autofree char *svg_path = g_build_filename (g_get_tmp_dir (), "bastion-chart-test.svg", NULL);
  g_autofree char *png_path = g_build_filename (g_get_tmp_dir (), "bastion-chart-test.png", NULL);
  g_autofree char *svg = NULL;
  g_autofree char *png_bytes = NULL;
  g_autofree char *readout = NULL;
  gsize png_len = 0;
  gboolean has_time_label = FALSE;

  g_assert_nonnull (page);
  bastion_ui_test_wait_for (chart_shown, page, "the Device Data chart");
  bastion_ui_test_wait_page_idle (page);
  chart_view = bastion_query_page_get_chart_view (page);
  chart = bastion_chart_view_get_chart (chart_view);
  data = bastion_chart_get_data (chart);

  g_assert_cmpint (data->kind, ==, BASTION_CHART_LINE);
  g_assert_true (data->x_is_time);
  g_assert_cmpuint (data->n_points, ==, 9);
  /* 8 distinct device · data type pairs in the seed's 9 rows. */
  g_test_message ("%u series", data->series->len);
  g_assert_cmpuint (data->series->len, >=, 5);
  g_assert_cmpstr (bastion_chart_view_get_spec (chart_view)->split >= 0 ? "split" : "none", ==,
                   "split");
  g_assert_cmpfloat (data->y_max, ==, 1016.4);

  texture = bastion_chart_render_texture (chart, 900, 500, &error);
  g_assert_no_error (error);
  g_assert_true (gdk_texture_save_to_png (texture, png));
  g_test_message ("chart: %s, %u colours, %u blue pixels", png, count_colours (texture),
                  count_blue (texture));
  g_assert_cmpuint (count_colours (texture), >, 16);
  g_assert_cmpuint (count_blue (texture), >, 10);

  labels = bastion_chart_dup_axis_labels (chart, 900, 500);
  g_assert_cmpuint (labels->len, >=, 4);
  for (guint i = 0; i < labels->len; i++)
    {
      g_test_message ("axis label: %s", (char *) g_ptr_array_index (labels, i));
      has_time_label |= strstr (g_ptr_array_index (labels, i), "18:0") != NULL;
    }
  g_assert_true (has_time_label);
  g_assert_true (texts_have (labels, "1000"));

  /* Hover: the readout names the point under the pointer. */
  bastion_ui_test_wait_drawn (GTK_WIDGET (chart));
  readout = bastion_chart_hover (chart, gtk_widget_get_width (GTK_WIDGET (chart)) / 2.0,
                                 gtk_widget_get_height (GTK_WIDGET (chart)) / 2.0);
  g_assert_nonnull (readout);
  g_test_message ("readout: %s", readout);
  g_assert_true (g_str_has_prefix (readout, "timestamp: 2023-06-01 18:0"));
  bastion_ui_test_screenshot (window, "workbench-chart");

  /* Exports: SVG written here, PNG through a GdkTexture. */
  export_chart (chart_view, svg_path, BASTION_CHART_EXPORT_SVG);
  g_assert_true (g_file_get_contents (svg_path, &svg, NULL, NULL));
  g_assert_true (g_str_has_prefix (svg, "<?xml"));
  g_assert_nonnull (strstr (svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  g_assert_nonnull (strstr (svg, "<path fill=\"none\" stroke=\"#3584e4\""));
  g_assert_nonnull (strstr (svg, ">1000</text>"));
  g_assert_nonnull (strstr (svg, "</svg>"));
  export_chart (chart_view, png_path, BASTION_CHART_EXPORT_PNG);
  g_assert_true (g_file_get_contents (png_path, &png_bytes, &png_len, NULL));
  g_assert_cmpuint (png_len, >, 1000);
  g_assert_cmpint (memcmp (png_bytes, "\x89PNG\r\n\x1a\n", 8), ==, 0);
  g_unlink (svg_path);
  g_unlink (png_path);
}

/* A chart of the devices' temperatures on screen, hovered (with --bulk: 100,000 readings). */
static void
test_chart_screenshot (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionChart *chart;
  g_autofree char *readout = NULL;

  bastion_chart_view_prefer_columns (bastion_query_page_get_chart_view (page), "timestamp",
                                     "temperature", "device");
  bastion_query_page_set_show_chart (page, TRUE);
  bastion_query_page_run_sql (page,
                              "SELECT v.\"timestamp\", d.name AS device,\n"
                              "       v.value::float8 AS temperature\n"
                              "  FROM data v\n"
                              "  JOIN device d ON d.id = v.device\n"
                              "  JOIN datatype t ON t.id = v.type\n"
                              " WHERE t.name = 'temperature'\n"
                              " ORDER BY v.\"timestamp\" DESC\n"
                              " LIMIT 100000;");
  bastion_query_page_set_title (page, "Temperatures");
  bastion_ui_test_wait_for (chart_shown, page, "the temperature chart");
  bastion_ui_test_wait_page_idle (page);
  gtk_paned_set_position (GTK_PANED (bastion_ui_test_find_widget (GTK_WIDGET (page),
                                                                  GTK_TYPE_PANED, NULL, NULL)),
                          90);
  chart = bastion_chart_view_get_chart (bastion_query_page_get_chart_view (page));
  bastion_ui_test_wait_drawn (GTK_WIDGET (chart));
  readout = bastion_chart_hover (chart, gtk_widget_get_width (GTK_WIDGET (chart)) * 0.6,
                                 gtk_widget_get_height (GTK_WIDGET (chart)) * 0.5);
  g_assert_nonnull (readout);
  bastion_ui_test_screenshot (window, "workbench-chart-screen");
}

/* A numeric column by a text column: bars, chosen automatically. */
static void
test_chart_bars (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionChartView *chart_view = bastion_query_page_get_chart_view (page);
  BastionChartData *data;
  g_autoptr(GdkTexture) texture = NULL;

  bastion_query_page_set_show_chart (page, TRUE);
  bastion_query_page_run_sql (page, "select name, battery_level from device order by serial_number");
  bastion_ui_test_wait_for (chart_shown, page, "the bar chart");
  bastion_ui_test_wait_page_idle (page);
  data = bastion_chart_get_data (bastion_chart_view_get_chart (chart_view));
  g_assert_cmpint (data->kind, ==, BASTION_CHART_BAR);
  g_assert_cmpuint (data->n_points, ==, 5);
  g_assert_cmpstr (data->categories[0], ==, "Garage gateway");
  texture = bastion_chart_render_texture (bastion_chart_view_get_chart (chart_view), 600, 400,
                                          NULL);
  g_assert_cmpuint (count_blue (texture), >, 100);

  /* Nothing numeric: the view says so instead of drawing. */
  bastion_query_page_run_sql (page, "select name, status from device");
  bastion_ui_test_wait_page_idle (page);
  bastion_ui_test_settle (GTK_WIDGET (page));
  g_assert_null (bastion_chart_get_data (bastion_chart_view_get_chart (chart_view)));

  bastion_query_page_set_show_chart (page, FALSE);
  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

/* 100,000 points draw within a hang detector's bound (the figures: bench-chart). */
static void
test_chart_100k (void)
{
  g_autoptr(BastionChartData) data = bastion_chart_data_new_synthetic (100000, 3);
  BastionChart *chart = g_object_ref_sink (bastion_chart_new ());
  g_autoptr(GdkTexture) texture = NULL;
  gint64 start;
  gint64 elapsed;

  bastion_chart_set_data (chart, data);
  start = g_get_monotonic_time ();
  texture = bastion_chart_render_texture (chart, 1200, 700, NULL);
  elapsed = g_get_monotonic_time () - start;
  g_test_message ("100,000 points × 3 series drawn in %.1f ms", elapsed / 1000.0);
  g_assert_nonnull (texture);
  {
    g_autofree char *png = screenshot_path ("workbench-chart-100k");

    g_assert_true (gdk_texture_save_to_png (texture, png));
  }
  g_assert_cmpuint (count_blue (texture), >, 500);
  /* A hang detector, not a performance goal. */
  g_assert_cmpint (elapsed, <, 20 * G_USEC_PER_SEC);
  g_object_unref (chart);
}

int
main (int    argc,
      char **argv)
{
  int status;

  bastion_ui_test_init (&argc, &argv);
  open_view ();

  g_test_add_func ("/bastion/ui/workbench/completion/columns", test_completion_columns);
  g_test_add_func ("/bastion/ui/workbench/completion/quoted", test_completion_quoted);
  g_test_add_func ("/bastion/ui/workbench/completion/refresh", test_completion_refresh);
  g_test_add_func ("/bastion/ui/workbench/completion/editor", test_completion_editor);
  g_test_add_func ("/bastion/ui/workbench/completion/unreachable", test_completion_unreachable);
  g_test_add_func ("/bastion/ui/workbench/history/outcomes", test_history_outcomes);
  g_test_add_func ("/bastion/ui/workbench/history/view", test_history_view);
  g_test_add_func ("/bastion/ui/workbench/history/corrupt", test_history_corrupt);
  g_test_add_func ("/bastion/ui/workbench/explain/tree", test_explain_tree);
  g_test_add_func ("/bastion/ui/workbench/chart/device-data", test_chart_device_data);
  g_test_add_func ("/bastion/ui/workbench/chart/screenshot", test_chart_screenshot);
  g_test_add_func ("/bastion/ui/workbench/chart/bars", test_chart_bars);
  g_test_add_func ("/bastion/ui/workbench/chart/100k", test_chart_100k);

  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&database);
  return status;
}
