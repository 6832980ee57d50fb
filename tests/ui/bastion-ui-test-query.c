/* bastion-ui-test-query.c: the ui suite's helpers for databases and query pages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>

#include "bastion-history.h"
#include "bastion-history-view.h"
#include "bastion-query.h"
#include "bastion-result-grid.h"
#include "bastion-ui-test.h"

char *
bastion_ui_test_dup_pg_password (void)
{
  const char *pwfile = g_getenv ("BASTION_TEST_PG_PASSWORD_FILE");
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  if (pwfile == NULL || g_getenv ("BASTION_TEST_PG_PORT") == NULL)
    g_error ("run under tests/harness/with-servers --postgres");
  g_assert_true (g_file_get_contents (pwfile, &password, NULL, &error));
  g_assert_no_error (error);

  return g_strstrip (password);
}

BastionDatabase *
bastion_ui_test_connect_database_full (const char *user,
                                       guint       port,
                                       gboolean    writes)
{
  g_autofree char *password = bastion_ui_test_dup_pg_password ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  BastionDatabase *db;

  /* The harness gives its superuser the admin role's generated password too. */
  db = bastion_database_new ("127.0.0.1",
                             port != 0 ? port : atoi (g_getenv ("BASTION_TEST_PG_PORT")),
                             "localhost", g_getenv ("BASTION_TEST_PG_DB"),
                             user != NULL ? user : g_getenv ("BASTION_TEST_PG_USER"));
  bastion_database_set_password (db, password);
  bastion_database_set_connect_timeout (db, 10);
  bastion_database_connect_async (db, NULL, test_store_result, &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "the database connection");
  g_assert_true (bastion_database_connect_finish (db, result, &error));
  g_assert_no_error (error);

  if (writes)
    {
      g_clear_object (&result);
      bastion_database_set_read_only_async (db, FALSE, NULL, test_store_result, &result);
      bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "writes allowed");
      g_assert_true (bastion_database_set_read_only_finish (db, result, &error));
      g_assert_no_error (error);
    }

  return db;
}

BastionDatabase *
bastion_ui_test_connect_database (void)
{
  return bastion_ui_test_connect_database_full (NULL, 0, FALSE);
}

GtkWidget *
bastion_ui_test_present_with_header (GtkWidget *content,
                                     GtkWidget *title,
                                     GtkWidget *start)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (bastion_ui_test_get_app ()));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 760);
  if (title != NULL)
    adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  if (start != NULL)
    adw_header_bar_pack_start (ADW_HEADER_BAR (header), start);
  gtk_box_append (GTK_BOX (box), header);
  gtk_widget_set_vexpand (content, TRUE);
  gtk_box_append (GTK_BOX (box), content);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_present (GTK_WINDOW (window));
  bastion_ui_test_wait_drawn (content);

  return window;
}

void
bastion_ui_test_type_and_run (BastionQueryPage *page,
                              const char       *sql,
                              int               cursor)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  GtkTextIter iter;

  gtk_text_buffer_set_text (buffer, sql, -1);
  if (cursor < 0)
    gtk_text_buffer_get_end_iter (buffer, &iter);
  else
    gtk_text_buffer_get_iter_at_offset (buffer, &iter, cursor);
  gtk_text_buffer_place_cursor (buffer, &iter);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run", NULL));
}

void
bastion_ui_test_type_and_run_all (BastionQueryPage *page,
                                  const char       *sql)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));

  gtk_text_buffer_set_text (buffer, sql, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
}

gboolean
bastion_ui_test_page_idle (gpointer page)
{
  BastionQuery *query = bastion_query_page_get_query (page);

  /* A paused query keeps the connection busy until it is fetched or cancelled. */
  return query != NULL && !bastion_query_page_get_running (page)
         && (bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED
             || (bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED
                 && !bastion_database_get_busy (bastion_query_page_get_database (page))));
}

gboolean
bastion_ui_test_page_finished (gpointer page)
{
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && !bastion_query_page_get_running (page)
         && bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED
         && !bastion_database_get_busy (bastion_query_page_get_database (page));
}

/* The statement is on the server (a cancel sent before it starts has nothing to stop). */
gboolean
bastion_ui_test_query_running (gpointer page)
{
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && bastion_query_get_state (query) == BASTION_QUERY_STATE_RUNNING
         && bastion_query_get_elapsed_usec (query) > G_USEC_PER_SEC / 2;
}

gboolean
bastion_ui_test_page_shows_plan (gpointer page)
{
  return g_strcmp0 (bastion_query_page_get_result_kind (page), "plan") == 0;
}

gboolean
bastion_ui_test_page_has_rows (gpointer page)
{
  BastionResultModel *model = bastion_result_grid_get_model (bastion_query_page_get_grid (page));

  return !bastion_query_page_get_running (page) && model != NULL
         && g_list_model_get_n_items (G_LIST_MODEL (model)) > 0;
}

void
bastion_ui_test_wait_page_idle (BastionQueryPage *page)
{
  bastion_ui_test_wait_for (bastion_ui_test_page_idle, page, "the query to end");
  bastion_ui_test_settle (GTK_WIDGET (page));
}

void
bastion_ui_test_store_history (GObject      *history,
                               GAsyncResult *result,
                               gpointer      slot)
{
  *(GPtrArray **) slot = bastion_history_search_finish (BASTION_HISTORY (history), result, NULL);
  g_assert_nonnull (*(GPtrArray **) slot);
}

gboolean
bastion_ui_test_history_view_idle (gpointer view)
{
  return !bastion_history_view_get_loading (view);
}
