/* test-ui-query.c
 *
 * The query view (issue 6) against the harness PostgreSQL, under
 * tests/harness/with-servers --xvfb --postgres: SQL typed into the editor and run through the
 * page's action, the grid read back from the column view's model (the SimpleIOT devices), NULL
 * against '', numbers right-aligned, a write refused while read-only and confirmed once writes
 * are on, a transaction, cancel of pg_sleep(60) on the server, a syntax error marked in the
 * editor, exports (one to a disk slower than the database holds its query at the high-water
 * mark), EXPLAIN, the schema sidebar, copying rows, the history file, and screenshots.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "bastion-database.h"
#include "bastion-export-private.h"
#include "bastion-query-page-private.h"
#include "bastion-query-view.h"
#include "bastion-result-grid.h"
#include "bastion-result-row.h"
#include "bastion-ui-test.h"

#define PROFILE_ID "ui-query-test"

static BastionDatabase *database;
static GtkWidget *window;
static BastionQueryView *view;

/* Setup */

static void
open_view (void)
{
  database = bastion_ui_test_connect_database ();
  g_assert_true (bastion_database_get_read_only (database));
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
grid_shows_rows (gpointer user_data)
{
  BastionQueryPage *page = user_data;

  return g_strcmp0 (bastion_query_page_get_result_kind (page), "grid") == 0
         && bastion_result_grid_get_n_bound_rows (bastion_query_page_get_grid (page)) > 0
         && gtk_widget_get_mapped (GTK_WIDGET (bastion_query_page_get_grid (page)));
}

static int
column_index (BastionQueryPage *page,
              const char       *name)
{
  BastionResultModel *model = bastion_result_grid_get_model (bastion_query_page_get_grid (page));

  for (guint i = 0; i < bastion_result_model_get_n_columns (model); i++)
    if (g_strcmp0 (bastion_result_model_get_column_name (model, i), name) == 0)
      return i;
  return -1;
}

/* A cell's value as the column view's own model holds it. */
static const char *
view_cell (BastionQueryPage *page,
           guint             position,
           guint             column,
           gboolean         *is_null)
{
  GtkColumnView *column_view =
    bastion_result_grid_get_column_view (bastion_query_page_get_grid (page));
  GListModel *model = G_LIST_MODEL (gtk_column_view_get_model (column_view));
  g_autoptr(BastionResultRow) row = g_list_model_get_item (model, position);

  g_assert_nonnull (row);
  return bastion_result_row_get_value (row, column, NULL, is_null);
}

typedef struct
{
  const char *text;
  const char *css_class;
  GtkWidget  *found;
  guint       count;
} InscriptionSearch;

static void
find_inscriptions (GtkWidget         *widget,
                   InscriptionSearch *search)
{
  if (GTK_IS_INSCRIPTION (widget) && gtk_widget_get_mapped (widget)
      && g_strcmp0 (gtk_inscription_get_text (GTK_INSCRIPTION (widget)), search->text) == 0
      && (search->css_class == NULL || gtk_widget_has_css_class (widget, search->css_class)))
    {
      search->count++;
      search->found = widget;
    }

  for (GtkWidget *c = gtk_widget_get_first_child (widget);
       c != NULL;
       c = gtk_widget_get_next_sibling (c))
    find_inscriptions (c, search);
}

/* Tests */

static void
test_query_devices (void)
{
  BastionQueryPage *page = current_page ();
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  GtkColumnView *column_view = bastion_result_grid_get_column_view (grid);
  GListModel *columns = gtk_column_view_get_columns (column_view);
  const char *serials[] = {
    "GW5000-0001", "LT400-0001", "TP1000-0001", "TP1000-0002", "WS2100-0001",
  };
  g_autofree char *shot = NULL;
  g_autoptr(GtkColumnViewColumn) first = NULL;

  g_assert_cmpstr (bastion_query_page_get_result_kind (page), ==, "empty");

  bastion_ui_test_type_and_run (page, "select name, serial_number, battery_level\n"
                      "  from device\n"
                      " order by serial_number;", -1);
  bastion_ui_test_wait_for (grid_shows_rows, page, "the devices in the grid");
  bastion_ui_test_wait_page_idle (page);

  g_assert_cmpuint (g_list_model_get_n_items (bastion_result_grid_get_rows (grid)), ==, 5);
  g_assert_cmpuint (g_list_model_get_n_items (columns), ==, 3);
  first = g_list_model_get_item (columns, 0);
  g_assert_cmpstr (gtk_column_view_column_get_title (first), ==, "name");
  g_assert_true (gtk_column_view_column_get_resizable (first));
  g_assert_nonnull (gtk_column_view_column_get_sorter (first));

  /* The seed's five devices, in the server's order. */
  for (guint i = 0; i < 5; i++)
    {
      gboolean is_null = TRUE;
      const char *name = view_cell (page, i, 0, &is_null);

      g_assert_false (is_null);
      g_assert_nonnull (name);
      g_assert_cmpstr (view_cell (page, i, 1, NULL), ==, serials[i]);
      g_test_message ("device %u: %s", i, name);
    }
  g_assert_cmpstr (view_cell (page, 0, 0, NULL), ==, "Garage gateway");
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "5 rows"));
  g_assert_cmpstr (bastion_query_page_get_title (page), ==, "select name, serial_number,…");

  /* Sorting by a header: the view's order changes, the model's does not. */
  {
    g_autoptr(GtkColumnViewColumn) serial = g_list_model_get_item (columns, 1);
    g_autofree char *before = g_strdup (view_cell (page, 0, 1, NULL));
    const char *after;

    gtk_column_view_sort_by_column (column_view, serial, GTK_SORT_DESCENDING);
    bastion_ui_test_settle (GTK_WIDGET (grid));
    after = view_cell (page, 0, 1, NULL);
    for (guint i = 1; i < 5; i++)
      g_assert_cmpint (strcmp (view_cell (page, i, 1, NULL), after), <, 0);
    g_test_message ("serial first before sorting %s, after %s", before, after);
    gtk_column_view_sort_by_column (column_view, NULL, GTK_SORT_ASCENDING);
    bastion_ui_test_settle (GTK_WIDGET (grid));
  }

  /* Copy as CSV through the writer: the selection, header first. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *csv = NULL;
    g_autofree char *json = NULL;
    g_autofree char *line = NULL;

    gtk_selection_model_select_range (gtk_column_view_get_model (column_view), 0, 2, TRUE);
    csv = bastion_result_grid_dup_selection_text (grid, BASTION_RESULT_FORMAT_CSV, &error);
    g_assert_no_error (error);
    line = g_strdup_printf ("name,serial_number,battery_level\n%s,", view_cell (page, 0, 0, NULL));
    g_assert_true (g_str_has_prefix (csv, line));
    g_assert_cmpuint (g_strv_length (g_strsplit (csv, "\n", -1)), ==, 4);
    json = bastion_result_grid_dup_selection_text (grid, BASTION_RESULT_FORMAT_JSON, &error);
    g_assert_no_error (error);
    g_assert_nonnull (strstr (json, "\"name\":"));
    gtk_selection_model_unselect_all (gtk_column_view_get_model (column_view));
  }

  /* The one-click view: devices with their model and project by name. */
  page = bastion_query_view_open_entity (view, "devices");
  g_assert_true (page == current_page ());
  bastion_ui_test_wait_for (grid_shows_rows, page, "the Devices view");
  bastion_ui_test_wait_page_idle (page);
  grid = bastion_query_page_get_grid (page);
  g_assert_cmpuint (g_list_model_get_n_items (bastion_result_grid_get_rows (grid)), ==, 5);
  g_assert_cmpint (column_index (page, "model"), >=, 0);
  g_assert_cmpint (column_index (page, "project"), >=, 0);
  g_assert_cmpint (column_index (page, "desc"), >=, 0);
  g_assert_cmpint (column_index (page, "position"), >=, 0);
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpstr (view_cell (page, i, column_index (page, "project"), NULL), ==, "Sunshine");
      g_assert_nonnull (view_cell (page, i, column_index (page, "model"), NULL));
    }

  shot = bastion_ui_test_screenshot (window, "query-devices");
  g_assert_true (g_file_test (shot, G_FILE_TEST_IS_REGULAR));
}

static void
test_query_null (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  InscriptionSearch nulls = { "NULL", "null-value", NULL, 0 };
  InscriptionSearch number = { "42", NULL, NULL, 0 };
  InscriptionSearch text_null = { "NULL", NULL, NULL, 0 };
  gboolean is_null = FALSE;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *d = NULL;
  g_autofree char *e = NULL;
  g_autofree char *long_text = NULL;

  bastion_ui_test_type_and_run (page,
                                "select NULL::text as a, ''::text as b, 'NULL' as c, 42 as n,\n"
                      "       repeat('x', 5000) as long,\n"
                      "       '\\x0102030405060708090a0b0c0d0e0f10111213'::bytea as bin", 3);
  bastion_ui_test_wait_for (grid_shows_rows, page, "the NULL row");
  bastion_ui_test_wait_page_idle (page);

  a = bastion_result_grid_dup_cell_text (grid, 0, 0, &is_null);
  g_assert_true (is_null);
  g_assert_cmpstr (a, ==, "NULL");
  b = bastion_result_grid_dup_cell_text (grid, 0, 1, &is_null);
  g_assert_false (is_null);
  g_assert_cmpstr (b, ==, "");
  c = bastion_result_grid_dup_cell_text (grid, 0, 2, &is_null);
  g_assert_false (is_null);
  g_assert_cmpstr (c, ==, "NULL");
  long_text = bastion_result_grid_dup_cell_text (grid, 0, 4, &is_null);
  g_assert_true (g_str_has_suffix (long_text, "…"));
  g_assert_cmpint (g_utf8_strlen (long_text, -1), <, 200);
  e = bastion_result_grid_dup_cell_text (grid, 0, 5, &is_null);
  g_test_message ("bytea shows as %s", e);
  g_assert_true (g_str_has_prefix (e, "\\x0102"));
  g_assert_nonnull (strstr (e, "19 bytes"));

  /* On screen: exactly one dim italic NULL; the text 'NULL' looks like text. */
  find_inscriptions (GTK_WIDGET (grid), &nulls);
  g_assert_cmpuint (nulls.count, ==, 1);
  g_assert_true (gtk_widget_has_css_class (nulls.found, "dim-label"));
  find_inscriptions (GTK_WIDGET (grid), &text_null);
  g_assert_cmpuint (text_null.count, ==, 2);
  /* Numbers are right-aligned (int4). */
  find_inscriptions (GTK_WIDGET (grid), &number);
  g_assert_cmpuint (number.count, ==, 1);
  g_assert_cmpfloat (gtk_inscription_get_xalign (GTK_INSCRIPTION (number.found)), ==, 1.0);

  d = bastion_result_grid_dup_cell_text (grid, 0, 3, NULL);
  g_assert_cmpstr (d, ==, "42");

  /* A click on the long cell, then Show Value: the side panel holds all 5000 characters. */
  {
    InscriptionSearch long_cell = { long_text, NULL, NULL, 0 };
    GtkWidget *column_view = GTK_WIDGET (bastion_result_grid_get_column_view (grid));
    g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (column_view);
    GtkTextView *panel_text;
    GtkTextBuffer *panel_buffer;
    GtkTextIter start, end;
    g_autofree char *shown = NULL;
    g_autofree char *tip = NULL;
    double x, y;

    find_inscriptions (GTK_WIDGET (grid), &long_cell);
    g_assert_cmpuint (long_cell.count, ==, 1);
    g_assert_null (gtk_widget_get_tooltip_text (long_cell.found));
    /* No tooltip set while binding: the whole value is computed when GTK asks for it. */
    tip = bastion_result_grid_dup_cell_tooltip (grid, long_cell.found);
    g_assert_nonnull (tip);
    g_assert_true (g_str_has_prefix (tip, "xxxxxxxxxx"));
    g_assert_nonnull (strstr (tip, "Show Value"));
    g_assert_true (gtk_widget_translate_coordinates (long_cell.found, column_view, 4, 4, &x, &y));
    for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
      {
        g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

        if (GTK_IS_GESTURE_CLICK (controller))
          g_signal_emit_by_name (controller, "pressed", 1, x, y);
      }
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.show-value", NULL));
    bastion_ui_test_settle (GTK_WIDGET (grid));
    panel_text = GTK_TEXT_VIEW (bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_TEXT_VIEW,
                                                             NULL, NULL));
    g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (panel_text)));
    panel_buffer = gtk_text_view_get_buffer (panel_text);
    gtk_text_buffer_get_bounds (panel_buffer, &start, &end);
    shown = gtk_text_buffer_get_text (panel_buffer, &start, &end, FALSE);
    g_assert_cmpuint (strlen (shown), ==, 5000);
    g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (grid), "long"));
    bastion_ui_test_screenshot (window, "query-value-panel");
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (grid), "grid.close-value", NULL));
  }

  bastion_ui_test_screenshot (window, "query-null");
  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

static gboolean
read_only_is (gpointer user_data)
{
  return bastion_database_get_read_only (database) == GPOINTER_TO_INT (user_data);
}

static gboolean
transaction_is (gpointer user_data)
{
  return bastion_database_get_transaction_status (database) == GPOINTER_TO_INT (user_data);
}

static void
test_query_writes (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  const char *update = "update device set status = status where name = 'no such device'";
  GtkWidget *writes_switch;
  AdwMessageDialog *dialog;
  const GError *error;

  /* Read-only: the server refuses, the page says why. */
  bastion_ui_test_type_and_run (page, update, 0);
  bastion_ui_test_wait_page_idle (page);
  error = bastion_query_get_error (bastion_query_page_get_query (page));
  g_assert_error (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_READ_ONLY);
  g_assert_cmpstr (bastion_query_page_get_result_kind (page), ==, "message");
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "25006"));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (page), "Read-only"));
  bastion_ui_test_screenshot (window, "query-read-only");

  /* Allow writes: the switch sets the session's mode on the server. */
  writes_switch = (GtkWidget *) gtk_widget_get_template_child (GTK_WIDGET (page),
                                                               BASTION_TYPE_QUERY_PAGE,
                                                               "writes_switch");
  gtk_switch_set_active (GTK_SWITCH (writes_switch), TRUE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (FALSE), "writes to be allowed");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (page), "Writes Allowed"));

  /* A statement that changes data asks first; Cancel does not run it. */
  bastion_ui_test_type_and_run (page, update, 0);
  bastion_ui_test_wait_for (bastion_ui_test_message_dialog_shown, NULL, "the confirmation");
  dialog = ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Change Data?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "UPDATE"));
  bastion_ui_test_screenshot (GTK_WIDGET (dialog), "query-confirm");
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  bastion_ui_test_settle (GTK_WIDGET (page));
  g_assert_cmpstr (bastion_query_page_get_status_text (page), ==, "Not run");

  /* Run: inside a transaction, rolled back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.begin", NULL));
  bastion_ui_test_wait_for (transaction_is, GINT_TO_POINTER (BASTION_TRANSACTION_IN_BLOCK),
                            "the transaction to begin");
  bastion_ui_test_wait_page_idle (page);
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (page), "In Transaction"));

  bastion_ui_test_type_and_run (page, update, 0);
  bastion_ui_test_wait_for (bastion_ui_test_message_dialog_shown, NULL, "the confirmation");
  dialog = ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  adw_message_dialog_response (dialog, "run");
  gtk_window_destroy (GTK_WINDOW (dialog));
  bastion_ui_test_wait_page_idle (page);
  g_assert_no_error (bastion_query_get_error (bastion_query_page_get_query (page)));
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "UPDATE 0"));
  bastion_ui_test_screenshot (window, "query-writes");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.rollback", NULL));
  bastion_ui_test_wait_for (transaction_is, GINT_TO_POINTER (BASTION_TRANSACTION_IDLE),
                            "the rollback");
  bastion_ui_test_wait_page_idle (page);

  gtk_switch_set_active (GTK_SWITCH (writes_switch), FALSE);
  bastion_ui_test_wait_for (read_only_is, GINT_TO_POINTER (TRUE), "read-only again");
  g_assert_true (bastion_database_get_read_only (database));
}

static void
test_query_cancel (void)
{
  BastionQueryPage *page = current_page ();
  BastionQuery *query;
  gint64 started;
  gint64 took;

  bastion_ui_test_type_and_run (page, "select pg_sleep(60)", -1);
  bastion_ui_test_wait_for (bastion_ui_test_query_running, page, "the query to run");
  g_assert_true (bastion_query_page_get_running (page));

  started = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.cancel", NULL));
  bastion_ui_test_wait_page_idle (page);
  took = g_get_monotonic_time () - started;
  g_test_message ("cancel took %" G_GINT64_FORMAT " ms", took / 1000);

  query = bastion_query_page_get_query (page);
  g_assert_error (bastion_query_get_error (query), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Stopped on the server: far short of the 60 s the statement asked for. */
  g_assert_cmpint (bastion_query_get_elapsed_usec (query), <, 30 * G_USEC_PER_SEC);
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "Cancelled"));

  /* The connection is usable again. */
  bastion_ui_test_type_and_run (page, "select 1 as one", -1);
  bastion_ui_test_wait_for (grid_shows_rows, page, "a query after the cancel");
  bastion_ui_test_wait_page_idle (page);
  g_assert_cmpstr (view_cell (page, 0, 0, NULL), ==, "1");
}

static void
test_query_syntax_error (void)
{
  BastionQueryPage *page = current_page ();
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer),
                                               "bastion-error");
  const char *text = "select 1;\n\nselect name\n  from device\n where nme = 'x' and;\n";
  int bad = g_utf8_pointer_to_offset (text, strstr (text, "and;"));
  int nme = g_utf8_pointer_to_offset (text, strstr (text, "nme"));
  GtkTextIter iter;

  g_assert_nonnull (tag);

  /* The cursor in the second statement: only that one runs; the error is after "and". */
  bastion_ui_test_type_and_run (page, text, nme);
  bastion_ui_test_wait_page_idle (page);
  g_assert_cmpstr (bastion_query_get_sqlstate (bastion_query_page_get_query (page)), ==, "42601");
  g_assert_cmpstr (bastion_query_page_get_result_kind (page), ==, "message");
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "ERROR 42601"));

  /* The server points at the ";"… after "and": the mark is in the editor where the error is. */
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, bad + 3);
  g_assert_true (gtk_text_iter_has_tag (&iter, tag));
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, nme);
  g_assert_false (gtk_text_iter_has_tag (&iter, tag));
  gtk_text_buffer_get_iter_at_mark (buffer, &iter, gtk_text_buffer_get_insert (buffer));
  g_assert_cmpint (gtk_text_iter_get_offset (&iter), ==, bad + 3);
  bastion_ui_test_screenshot (window, "query-syntax-error");

  /* A wrong column: the server's position marks the name. */
  bastion_ui_test_type_and_run (page, text, 0);
  bastion_ui_test_wait_page_idle (page);
  g_assert_null (bastion_query_get_error (bastion_query_page_get_query (page)));
  gtk_text_buffer_set_text (buffer, "select nme from device", -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  bastion_ui_test_wait_page_idle (page);
  g_assert_cmpstr (bastion_query_get_sqlstate (bastion_query_page_get_query (page)), ==, "42703");
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, 7);
  g_assert_true (gtk_text_iter_has_tag (&iter, tag));
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, 10);
  g_assert_false (gtk_text_iter_has_tag (&iter, tag));

  /* Editing removes the mark. */
  gtk_text_buffer_insert_at_cursor (buffer, " ", 1);
  gtk_text_buffer_get_iter_at_offset (buffer, &iter, 7);
  g_assert_false (gtk_text_iter_has_tag (&iter, tag));
}

static gboolean
status_starts_with (gpointer user_data)
{
  const char *status = bastion_query_page_get_status_text (current_page ());

  return status != NULL && g_str_has_prefix (status, user_data);
}

static void
test_query_fetch_more_export (void)
{
  BastionQueryPage *page = current_page ();
  GtkWidget *fetch_more = (GtkWidget *) gtk_widget_get_template_child (GTK_WIDGET (page),
                                                                       BASTION_TYPE_QUERY_PAGE,
                                                                       "fetch_more_button");
  g_autofree char *dir = g_dir_make_tmp ("bastion-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "result.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  BastionQuery *query;

  /* More rows than the cap: the query pauses and says so. */
  bastion_ui_test_type_and_run (page, "select g, 'row ' || g as label, nullif(g % 3, 0) as third\n"
                      "  from generate_series(1, 150000) g", -1);
  bastion_ui_test_wait_page_idle (page);
  query = bastion_query_page_get_query (page);
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_PAUSED);
  g_assert_cmpuint (bastion_result_model_get_n_rows (bastion_query_get_model (query)), ==, 100000);
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "more available"));
  g_assert_true (gtk_widget_get_visible (fetch_more));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.fetch-more", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_page_idle, page, "the rest of the rows");
  g_assert_cmpint (bastion_query_get_state (query), ==, BASTION_QUERY_STATE_FINISHED);
  g_assert_cmpuint (bastion_result_model_get_n_rows (bastion_query_get_model (query)), ==, 150000);
  g_assert_false (gtk_widget_get_visible (fetch_more));
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "150"));

  /* The whole result, streamed to a file by running it again. */
  bastion_query_page_export_to_file (page, file, BASTION_RESULT_FORMAT_CSV);
  bastion_ui_test_wait_for (status_starts_with, "Exported", "the export");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 150002);
  g_assert_cmpstr (lines[0], ==, "g,label,third");
  g_assert_cmpstr (lines[1], ==, "1,row 1,1");
  g_assert_cmpstr (lines[3], ==, "3,row 3,");
  g_assert_cmpstr (lines[150000], ==, "150000,row 150000,");
  g_assert_cmpstr (lines[150001], ==, "");
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "result.csv"));

  g_unlink (path);
  g_rmdir (dir);
}

/* Holds the thread that writes an export's first chunk until the test lets it go. */
typedef struct
{
  GMutex    lock;
  GCond     cond;
  GThread  *main_thread;
  GThread  *writer;
  guint     entered : 1;
  guint     released : 1;
} WriteGate;

static void
write_gate_hook (gpointer user_data)
{
  WriteGate *gate = user_data;

  g_mutex_lock (&gate->lock);
  if (!gate->entered)
    {
      gate->writer = g_thread_self ();
      gate->entered = TRUE;
    }
  /* On the main thread, waiting would hang the test instead of failing it. */
  while (g_thread_self () != gate->main_thread && !gate->released)
    {
      g_main_context_wakeup (NULL);
      g_cond_wait (&gate->cond, &gate->lock);
    }
  g_mutex_unlock (&gate->lock);
}

static gboolean
write_gate_entered (gpointer user_data)
{
  WriteGate *gate = user_data;
  gboolean entered;

  g_mutex_lock (&gate->lock);
  entered = gate->entered;
  g_mutex_unlock (&gate->lock);

  return entered;
}

static gboolean
count_tick (gpointer data)
{
  guint *ticks = data;

  (*ticks)++;
  return G_SOURCE_CONTINUE;
}

/* Nothing blocks the main loop: an export's file is written in another thread. While that
 * thread is held, the loop runs on and the file that was there is untouched (the new text goes
 * to a temporary file); once it may go on, the file is replaced whole. */
static void
test_query_export_off_main_loop (void)
{
  BastionQueryPage *page = current_page ();
  g_autofree char *dir = g_dir_make_tmp ("bastion-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "held.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  WriteGate gate = { 0 };
  guint ticks = 0;
  guint tick_id;

  g_assert_true (g_file_set_contents (path, "ORIGINAL\n", -1, NULL));
  bastion_ui_test_type_and_run (page, "select g, repeat('x', 40) as pad "
                                      "from generate_series(1, 20000) g", -1);
  bastion_ui_test_wait_page_idle (page);

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.main_thread = g_thread_self ();
  _bastion_export_set_write_hook (write_gate_hook, &gate);

  bastion_query_page_export_to_file (page, file, BASTION_RESULT_FORMAT_CSV);
  bastion_ui_test_wait_for (write_gate_entered, &gate, "the first write");
  g_assert_true (gate.writer != gate.main_thread);

  tick_id = g_timeout_add (10, count_tick, &ticks);
  while (ticks < 3)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  g_assert_true (bastion_query_page_get_running (page));
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "Exporting"));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ORIGINAL\n");
  g_clear_pointer (&contents, g_free);

  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);

  bastion_ui_test_wait_for (status_starts_with, "Exported", "the export");
  _bastion_export_set_write_hook (NULL, NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 20002);
  g_assert_cmpstr (lines[0], ==, "g,pad");
  g_assert_cmpstr (lines[20000], ==, "20000,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), path));
  g_assert_cmpuint (test_count_other_files (dir, "held.csv"), ==, 0);

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  g_unlink (path);
  g_rmdir (dir);
}

static gboolean
file_missing (gpointer user_data)
{
  return !g_file_test (user_data, G_FILE_TEST_EXISTS);
}

/* A query that fails after many rows (some already written out): the status names the file,
 * a file that was there keeps its contents, and a new one is not left half-written. */
static void
test_query_export_failure_keeps_file (void)
{
  BastionQueryPage *page = current_page ();
  g_autofree char *dir = g_dir_make_tmp ("bastion-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "keep.csv", NULL);
  g_autofree char *new_path = g_build_filename (dir, "new.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) new_file = g_file_new_for_path (new_path);
  g_autofree char *contents = NULL;
  const char *status;

  g_assert_true (g_file_set_contents (path, "ORIGINAL\n", -1, NULL));
  /* Division by zero at row 30 000: about 1.5 MB of CSV come first. */
  bastion_ui_test_type_and_run (page, "select g, repeat('x', 40) as pad, 1 / (30000 - g) as boom\n"
                      "  from generate_series(1, 40000) g", -1);
  bastion_ui_test_wait_page_idle (page);

  bastion_query_page_export_to_file (page, file, BASTION_RESULT_FORMAT_CSV);
  bastion_ui_test_wait_for (status_starts_with, "Could not export", "the failed export");
  status = bastion_query_page_get_status_text (page);
  g_assert_nonnull (strstr (status, path));
  g_assert_nonnull (strstr (status, "division by zero"));
  g_assert_false (bastion_query_page_get_running (page));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "ORIGINAL\n");
  g_assert_cmpuint (test_count_other_files (dir, "keep.csv"), ==, 0);

  bastion_query_page_export_to_file (page, new_file, BASTION_RESULT_FORMAT_JSON);
  bastion_ui_test_wait_for (status_starts_with, "Could not export", "the failed export");
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), new_path));
  bastion_ui_test_wait_for (file_missing, new_path, "the half-written file to go");
  g_assert_cmpuint (test_count_other_files (dir, "keep.csv"), ==, 0);

  g_unlink (path);
  g_rmdir (dir);
}

/* A disk slower than the database: each write of an export waits, the first one until the test
 * saw the queue reach the high-water mark. */
static void
slow_write_hook (gpointer user_data)
{
  write_gate_hook (user_data);
  g_usleep (20 * G_TIME_SPAN_MILLISECOND);
}

static gboolean
export_queue_full (gpointer user_data)
{
  return _bastion_query_page_get_export_peak_queued (user_data)
         > BASTION_EXPORT_HIGH_WATER;
}

static gboolean
flag_set (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The SHA-256 of @path, and its number of lines. */
static char *
file_checksum (const char *path,
               guint64    *n_lines)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, NULL);
  g_autofree guchar *buf = g_malloc (1024 * 1024);
  gssize n;

  g_assert_nonnull (in);
  *n_lines = 0;
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1024 * 1024, NULL, NULL)) > 0)
    {
      g_checksum_update (checksum, buf, n);
      for (gssize i = 0; i < n; i++)
        *n_lines += buf[i] == '\n';
    }
  g_assert_cmpint (n, ==, 0);

  return g_strdup (g_checksum_get_string (checksum));
}

#define SLOW_ROWS 400000
/* g (up to 6 digits), ',', 16 MD5s and '\n'. */
#define SLOW_LINE_MAX (6 + 1 + 16 * 32 + 1)

/* Flow control: an export to a disk slower than the database holds its query, so no more than
 * the high-water mark and one chunk (a batch's text) wait in memory; the file is complete. */
static void
test_query_export_slow_disk (void)
{
  BastionQueryPage *page = current_page ();
  g_autofree char *dir = g_dir_make_tmp ("bastion-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "slow.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GChecksum) expected = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *checksum = NULL;
  const gsize bound = BASTION_EXPORT_HIGH_WATER
                      + BASTION_QUERY_DEFAULT_BATCH_SIZE * SLOW_LINE_MAX + 16;
  WriteGate gate = { 0 };
  gboolean waited = FALSE;
  guint64 n_lines = 0;
  gsize peak_held;
  gint64 started;

  bastion_ui_test_type_and_run (page, "select g, repeat(md5(g::text), 16) as pad\n"
                      "  from generate_series(1, 400000) g", -1);
  bastion_ui_test_wait_page_idle (page);

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.main_thread = g_thread_self ();
  _bastion_export_set_write_hook (slow_write_hook, &gate);

  started = g_get_monotonic_time ();
  bastion_query_page_export_to_file (page, file, BASTION_RESULT_FORMAT_CSV);

  /* Nothing is written yet: the queue grows to the mark, and there it stops. */
  bastion_ui_test_wait_for (export_queue_full, page, "the export queue to fill");
  g_timeout_add (500, flag_set, &waited);
  while (!waited)
    g_main_context_iteration (NULL, TRUE);
  peak_held = _bastion_query_page_get_export_peak_queued (page);
  g_assert_cmpuint (peak_held, <=, bound);
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "Exporting"));

  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);

  bastion_ui_test_wait_for (status_starts_with, "Exported", "the export");
  _bastion_export_set_write_hook (NULL, NULL);
  g_test_message ("exported %u rows in %" G_GINT64_FORMAT " ms; peak queued %" G_GSIZE_FORMAT
                  " bytes while the disk was stuck, %" G_GSIZE_FORMAT " in all (bound %"
                  G_GSIZE_FORMAT ")", SLOW_ROWS, (g_get_monotonic_time () - started) / 1000,
                  peak_held, _bastion_query_page_get_export_peak_queued (page), bound);
  g_assert_cmpuint (_bastion_query_page_get_export_peak_queued (page), <=, bound);
  g_assert_nonnull (strstr (bastion_query_page_get_status_text (page), "400"));

  /* Every row, in order, byte for byte. */
  g_checksum_update (expected, (const guchar *) "g,pad\n", -1);
  for (guint g = 1; g <= SLOW_ROWS; g++)
    {
      g_autofree char *number = g_strdup_printf ("%u", g);
      g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, number, -1);
      g_autoptr(GString) line = g_string_new (number);

      g_string_append_c (line, ',');
      for (guint i = 0; i < 16; i++)
        g_string_append (line, md5);
      g_string_append_c (line, '\n');
      g_assert_cmpuint (line->len, <=, SLOW_LINE_MAX);
      g_checksum_update (expected, (const guchar *) line->str, line->len);
    }
  checksum = file_checksum (path, &n_lines);
  g_assert_cmpuint (n_lines, ==, SLOW_ROWS + 1);
  g_assert_cmpstr (checksum, ==, g_checksum_get_string (expected));
  g_assert_cmpuint (test_count_other_files (dir, "slow.csv"), ==, 0);

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_query_explain (void)
{
  BastionQueryPage *page = current_page ();
  BastionQueryPage *plan_page;
  GtkTextView *plan_view;
  g_autofree char *plan = NULL;
  GtkTextIter start, end;

  bastion_query_page_set_sql (page, "select * from device where name = 'Garage gateway'");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "view.explain-analyze", NULL));
  plan_page = current_page ();
  g_assert_true (plan_page != page);
  bastion_ui_test_wait_for (bastion_ui_test_page_shows_plan, current_page (), "the plan");
  bastion_ui_test_wait_page_idle (plan_page);

  plan_view = GTK_TEXT_VIEW (gtk_widget_get_template_child (GTK_WIDGET (plan_page),
                                                            BASTION_TYPE_QUERY_PAGE, "plan_view"));
  gtk_text_buffer_get_bounds (gtk_text_view_get_buffer (plan_view), &start, &end);
  plan = gtk_text_buffer_get_text (gtk_text_view_get_buffer (plan_view), &start, &end, FALSE);
  g_test_message ("%s", plan);
  g_assert_nonnull (strstr (plan, "Scan"));
  /* FORMAT JSON, shown as a tree (test-ui-workbench checks the tree). */
  g_assert_nonnull (strstr (plan, "\"Actual Total Time\""));
  g_assert_cmpuint (g_list_model_get_n_items (bastion_explain_view_get_roots (
                      bastion_query_page_get_explain_view (plan_page))), ==, 1);
  bastion_ui_test_screenshot (window, "query-explain");
}

static gboolean
schema_has (gpointer user_data)
{
  GListModel *rows = bastion_query_view_get_schema_model (view);

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr(GtkStringObject) node = gtk_tree_list_row_get_item (row);

      if (g_strcmp0 (gtk_string_object_get_string (node), user_data) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
expand (const char *name)
{
  GListModel *rows = bastion_query_view_get_schema_model (view);

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr(GtkStringObject) node = gtk_tree_list_row_get_item (row);

      if (g_strcmp0 (gtk_string_object_get_string (node), name) == 0)
        {
          gtk_tree_list_row_set_expanded (row, TRUE);
          return;
        }
    }
  g_assert_not_reached ();
}

static void
test_query_schema (void)
{
  bastion_ui_test_wait_for (schema_has, "public", "the schema list");
  expand ("public");
  bastion_ui_test_wait_for (schema_has, "device", "the tables of public");
  g_assert_true (schema_has ("user"));
  expand ("device");
  bastion_ui_test_wait_for (schema_has, "serial_number", "the columns of device");
  g_assert_true (schema_has ("desc"));
  bastion_ui_test_screenshot (window, "query-schema");
}

static GPtrArray *
history_entries (void)
{
  GPtrArray *entries = NULL;

  bastion_history_search_async (bastion_query_view_get_history (view), NULL,
                                BASTION_HISTORY_OUTCOME_ANY, 0, NULL,
                                bastion_ui_test_store_history, &entries);
  while (entries == NULL)
    g_main_context_iteration (NULL, TRUE);
  return entries;
}

static gboolean
history_has (const char *sql)
{
  g_autoptr(GPtrArray) entries = history_entries ();

  for (guint i = 0; i < entries->len; i++)
    if (g_str_has_prefix (bastion_history_entry_get_sql (g_ptr_array_index (entries, i)), sql))
      return TRUE;
  return FALSE;
}

static gboolean
history_has_cb (gpointer user_data)
{
  return history_has (user_data);
}

static void
test_query_history (void)
{
  g_autofree char *path = bastion_query_view_dup_history_path (PROFILE_ID);
  g_autoptr(GPtrArray) entries = NULL;
  GStatBuf st;

  /* Recorded as each statement ended (the store's own tests: test-history, test-ui-workbench). */
  bastion_ui_test_wait_for (history_has_cb, "select pg_sleep(60)", "the cancelled statement");
  bastion_ui_test_wait_for (history_has_cb, "EXPLAIN", "the EXPLAIN");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_str_has_prefix (path, g_get_user_data_dir ()));

  /* The history button lists them, newest first; a click puts one into the editor. */
  {
    GtkMenuButton *button = GTK_MENU_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (view),
                                                                            BASTION_TYPE_QUERY_VIEW,
                                                                            "history_button"));
    BastionHistoryView *history_view = bastion_query_view_get_history_view (view);
    GtkListBox *list = bastion_history_view_get_list (history_view);
    GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (current_page ()));
    GtkTextIter start, end;
    g_autofree char *text = NULL;
    guint n_rows = 0;

    entries = history_entries ();
    gtk_menu_button_popup (button);
    bastion_ui_test_wait_drawn (GTK_WIDGET (history_view));
    bastion_ui_test_wait_for (bastion_ui_test_history_view_idle, history_view, "the history list");
    bastion_ui_test_settle (GTK_WIDGET (history_view));
    for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list));
         row != NULL;
         row = gtk_widget_get_next_sibling (row))
      n_rows++;
    g_assert_cmpuint (n_rows, ==, entries->len);
    bastion_ui_test_screenshot (GTK_WIDGET (gtk_menu_button_get_popover (button)), "query-history");

    g_signal_emit_by_name (list, "row-activated", gtk_list_box_get_row_at_index (list, 0));
    gtk_text_buffer_get_bounds (buffer, &start, &end);
    text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    g_assert_cmpstr (text, ==, bastion_history_entry_get_sql (g_ptr_array_index (entries, 0)));
  }
}

static void
test_query_dark (void)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  BastionQueryPage *page = bastion_query_view_open_entity (view, "models");
  GtkSourceStyleScheme *scheme;
  GListModel *rows;

  bastion_ui_test_wait_for (grid_shows_rows, page, "the Models view");
  bastion_ui_test_wait_page_idle (page);
  g_assert_cmpstr (bastion_query_page_get_title (page), ==, "Models");
  g_assert_cmpint (column_index (page, "project"), >=, 0);
  rows = bastion_result_grid_get_rows (bastion_query_page_get_grid (page));
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 6);

  /* The editor's colours follow the dark style. */
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  bastion_ui_test_settle (window);
  scheme = gtk_source_buffer_get_style_scheme (bastion_query_page_get_buffer (page));
  g_assert_cmpstr (gtk_source_style_scheme_get_id (scheme), ==, "Adwaita-dark");
  bastion_ui_test_screenshot (window, "query-models-dark");

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  bastion_ui_test_settle (window);
  scheme = gtk_source_buffer_get_style_scheme (bastion_query_page_get_buffer (page));
  g_assert_cmpstr (gtk_source_style_scheme_get_id (scheme), ==, "Adwaita");
}

int
main (int    argc,
      char **argv)
{
  int status;

  bastion_ui_test_init (&argc, &argv);
  open_view ();

  g_test_add_func ("/bastion/ui/query/devices", test_query_devices);
  g_test_add_func ("/bastion/ui/query/null", test_query_null);
  g_test_add_func ("/bastion/ui/query/writes", test_query_writes);
  g_test_add_func ("/bastion/ui/query/cancel", test_query_cancel);
  g_test_add_func ("/bastion/ui/query/syntax-error", test_query_syntax_error);
  g_test_add_func ("/bastion/ui/query/fetch-more-export", test_query_fetch_more_export);
  g_test_add_func ("/bastion/ui/query/export-off-main-loop", test_query_export_off_main_loop);
  g_test_add_func ("/bastion/ui/query/export-failure-keeps-file",
                   test_query_export_failure_keeps_file);
  g_test_add_func ("/bastion/ui/query/export-slow-disk", test_query_export_slow_disk);
  g_test_add_func ("/bastion/ui/query/explain", test_query_explain);
  g_test_add_func ("/bastion/ui/query/schema", test_query_schema);
  g_test_add_func ("/bastion/ui/query/history", test_query_history);
  g_test_add_func ("/bastion/ui/query/dark", test_query_dark);

  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&database);
  return status;
}
