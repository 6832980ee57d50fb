/* test-ui-grid.c
 *
 * The query view while the window never stops drawing (issue 16), under
 * tests/harness/with-servers --xvfb --postgres (GSK_RENDERER=cairo): a spinner animates the whole
 * time and every frame costs longer than the refresh interval, as software rendering of a large
 * window does; a 5-row query's rows still appear, Cancel still stops pg_sleep(30) and a stream
 * of rows while they arrive. Then the
 * grid's recycled cells: a cell bound to a NULL and then to a value is not italic, binding sets
 * no tooltip, and the tooltip of a shortened value is computed when asked for.
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
#include "bastion-result-grid.h"
#include "bastion-result-row.h"
#include "bastion-ui-test.h"

/* Hang detectors, not timings: the stall this guards against lasted as long as the animation. */
#define ROWS_LIMIT_USEC   (20 * G_USEC_PER_SEC)
#define CANCEL_LIMIT_USEC (20 * G_USEC_PER_SEC)
/* What a frame of a large window costs under software rendering on a slow machine. */
#define SLOW_FRAME_USEC   (30 * G_TIME_SPAN_MILLISECOND)

static BastionDatabase *database;
static GtkWidget *window;
static GtkWidget *spinner;
static BastionQueryView *view;
static guint slow_tick_id;
static guint n_frames;

/* Setup */

static void
open_view (void)
{
  database = bastion_ui_test_connect_database ();
  view = BASTION_QUERY_VIEW (bastion_query_view_new (database, "ui-grid-test", TRUE));
  spinner = gtk_spinner_new ();
  window = bastion_ui_test_present_with_header (GTK_WIDGET (view), NULL, spinner);
}

/* Every frame takes longer than the refresh interval, so the next one is due as soon as it
 * ends: the frame clock's sources are ready on every iteration of the main loop. */
static gboolean
slow_tick (GtkWidget     *widget,
           GdkFrameClock *clock,
           gpointer       user_data)
{
  gint64 until = g_get_monotonic_time () + SLOW_FRAME_USEC;

  n_frames++;
  while (g_get_monotonic_time () < until)
    ;
  gtk_widget_queue_draw (widget);
  return G_SOURCE_CONTINUE;
}

static void
start_animating (void)
{
  n_frames = 0;
  gtk_spinner_start (GTK_SPINNER (spinner));
  slow_tick_id = gtk_widget_add_tick_callback (spinner, slow_tick, NULL, NULL);
}

static void
stop_animating (void)
{
  gtk_widget_remove_tick_callback (spinner, slow_tick_id);
  slow_tick_id = 0;
  gtk_spinner_stop (GTK_SPINNER (spinner));
}

/* Helpers */

static gboolean
animating (gpointer user_data)
{
  return n_frames >= 3;
}

typedef gboolean (*Condition) (gpointer user_data);

/* Iterates the main loop until @condition holds, or fails after @limit_usec. */
static void
wait_within (Condition   condition,
             gpointer    user_data,
             gint64      limit_usec,
             const char *what)
{
  gint64 limit = g_get_monotonic_time () + limit_usec;

  while (!condition (user_data))
    {
      if (g_get_monotonic_time () > limit)
        g_error ("%s did not happen within %" G_GINT64_FORMAT " s (%u frames meanwhile)",
                 what, limit_usec / G_USEC_PER_SEC, n_frames);
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
five_rows_shown (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED
         && g_strcmp0 (bastion_query_page_get_result_kind (page), "grid") == 0
         && bastion_result_grid_get_n_bound_rows (grid) == 5;
}

static gboolean
query_sleeping (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && bastion_query_get_state (query) == BASTION_QUERY_STATE_RUNNING
         && bastion_query_get_elapsed_usec (query) > 300 * G_TIME_SPAN_MILLISECOND;
}

static gboolean
rows_arriving (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && bastion_query_get_state (query) == BASTION_QUERY_STATE_RUNNING
         && bastion_query_get_n_rows (query) >= 200
         && bastion_result_grid_get_n_bound_rows (bastion_query_page_get_grid (page)) > 0;
}

static gboolean
page_idle_any (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && !bastion_query_page_get_running (page)
         && bastion_query_get_state (query) != BASTION_QUERY_STATE_RUNNING
         && bastion_query_get_state (query) != BASTION_QUERY_STATE_PAUSED
         && !bastion_database_get_busy (bastion_query_page_get_database (page));
}

/* Tests */

static void
test_grid_rows_while_animating (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionQuery *query;
  gint64 started;

  bastion_ui_test_settle (window);
  start_animating ();
  /* The query starts once frames already come back to back. */
  wait_within (animating, NULL, ROWS_LIMIT_USEC, "the animation");

  started = g_get_monotonic_time ();
  bastion_ui_test_type_and_run_all (page, "select * from device");
  wait_within (five_rows_shown, page, ROWS_LIMIT_USEC, "the 5 devices on screen");
  g_test_message ("5 rows on screen after %" G_GINT64_FORMAT " ms, %u frames meanwhile",
                  (g_get_monotonic_time () - started) / 1000, n_frames);
  /* The window kept drawing all along: the rows did not wait for the animation to pause. */
  g_assert_true (gtk_spinner_get_spinning (GTK_SPINNER (spinner)));
  g_assert_true (g_str_has_prefix (bastion_query_page_get_status_text (page), "5 rows"));

  bastion_ui_test_type_and_run_all (page, "select pg_sleep(30)");
  wait_within (query_sleeping, page, ROWS_LIMIT_USEC, "pg_sleep(30) running");
  started = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.cancel", NULL));
  wait_within (bastion_ui_test_page_finished, page, CANCEL_LIMIT_USEC, "the cancel");
  g_test_message ("cancelled after %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - started) / 1000);
  query = bastion_query_page_get_query (page);
  g_assert_error (bastion_query_get_error (query), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (bastion_query_get_elapsed_usec (query), <, 25 * G_USEC_PER_SEC);

  /* And while rows are arriving (one a millisecond, for 100 s if nothing stops them). */
  bastion_ui_test_type_and_run_all (page,
                                    "select g, pg_sleep(0.001) from generate_series(1, 100000) g");
  wait_within (rows_arriving, page, ROWS_LIMIT_USEC, "the first rows of the slow stream");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.cancel", NULL));
  wait_within (bastion_ui_test_page_finished, page, CANCEL_LIMIT_USEC,
               "the cancel while rows arrive");
  query = bastion_query_page_get_query (page);
  g_test_message ("cancelled after %" G_GUINT64_FORMAT " rows", bastion_query_get_n_rows (query));
  g_assert_error (bastion_query_get_error (query), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (bastion_query_get_n_rows (query), <, 100000);

  stop_animating ();
  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

/* Cells */

static gboolean
has_italic (GtkInscription *cell)
{
  PangoAttrList *attrs = gtk_inscription_get_attributes (cell);
  g_autoptr(PangoAttrIterator) iter = NULL;

  if (attrs == NULL)
    return FALSE;
  iter = pango_attr_list_get_iterator (attrs);
  do
    {
      PangoAttrInt *style = (PangoAttrInt *) pango_attr_iterator_get (iter, PANGO_ATTR_STYLE);

      if (style != NULL && style->value != PANGO_STYLE_NORMAL)
        return TRUE;
    }
  while (pango_attr_iterator_next (iter));
  return FALSE;
}

typedef struct
{
  BastionResultGrid *grid;
  GHashTable *was_null;   /* cells seen showing a NULL */
  guint       n_cells;
  guint       n_nulls;
  guint       n_recycled; /* cells seen with a NULL, later with a value */
} CellCheck;

/* Every bound cell shows what its row holds: italic and dim exactly when the value is NULL,
 * and no tooltip set. */
static void
check_cells (GtkWidget *widget,
             CellCheck *check)
{
  GtkListItem *item = g_object_get_data (G_OBJECT (widget), "bastion-list-item");

  if (GTK_IS_INSCRIPTION (widget) && item != NULL && gtk_list_item_get_item (item) != NULL)
    {
      GtkInscription *cell = GTK_INSCRIPTION (widget);
      guint position = gtk_list_item_get_position (item);
      gboolean is_null = FALSE;
      guint column;

      /* Which column: the one whose text at this row is what the cell shows. */
      check->n_cells++;
      for (column = 0; column < 4; column++)
        {
          g_autofree char *text = bastion_result_grid_dup_cell_text (check->grid, position,
                                                                    column, &is_null);

          if (g_strcmp0 (gtk_inscription_get_text (cell), text) == 0)
            break;
        }
      g_assert_cmpuint (column, <, 4);

      g_assert_cmpint (has_italic (cell), ==, is_null);
      g_assert_cmpint (gtk_widget_has_css_class (widget, "null-value"), ==, is_null);
      g_assert_cmpint (gtk_widget_has_css_class (widget, "dim-label"), ==, is_null);
      g_assert_null (gtk_widget_get_tooltip_text (widget));
      g_assert_null (gtk_widget_get_tooltip_markup (widget));

      if (is_null)
        {
          check->n_nulls++;
          g_hash_table_add (check->was_null, widget);
        }
      else if (g_hash_table_contains (check->was_null, widget))
        check->n_recycled++;
    }

  for (GtkWidget *c = gtk_widget_get_first_child (widget);
       c != NULL;
       c = gtk_widget_get_next_sibling (c))
    check_cells (c, check);
}

static gboolean
cell_starts_with (GtkWidget *widget,
                  gpointer   prefix)
{
  return gtk_widget_get_mapped (widget)
         && g_object_get_data (G_OBJECT (widget), "bastion-list-item") != NULL
         && g_str_has_prefix (gtk_inscription_get_text (GTK_INSCRIPTION (widget)) ?: "", prefix);
}

static gboolean
finished_with_rows (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED
         && !bastion_query_page_get_running (page)
         && bastion_result_grid_get_n_bound_rows (bastion_query_page_get_grid (page)) > 0;
}

static GtkAdjustment *
grid_vadjustment (BastionResultGrid *grid)
{
  GtkWidget *scroller = bastion_ui_test_find_widget (GTK_WIDGET (grid),
                                                     GTK_TYPE_SCROLLED_WINDOW, NULL, NULL);

  return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
}

static void
test_grid_recycled_cells (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  GtkAdjustment *adjustment;
  CellCheck check = { grid, g_hash_table_new (NULL, NULL), 0, 0, 0 };
  double upper;

  /* NULLs in every column but the first, at different rows, so scrolling hands cells that
   * showed a NULL to values ("soil probe", dates: what came out italic before). */
  bastion_ui_test_type_and_run_all (page, "select g as id,\n"
                      "       case when g % 3 = 0 then null else 'soil probe ' || g end as note,\n"
                      "       case when g % 2 = 0 then null\n"
                      "            else date '2023-05-28' + g end as day,\n"
                      "       case when g % 5 = 0 then null else repeat('long text ', 30) end\n"
                      "         as long\n"
                      "  from generate_series(1, 3000) g");
  wait_within (finished_with_rows, page, ROWS_LIMIT_USEC, "the 3000 rows");
  bastion_ui_test_settle (window);

  adjustment = grid_vadjustment (grid);
  upper = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);
  g_assert_cmpfloat (upper, >, 0);
  for (guint i = 0; i <= 12; i++)
    {
      gtk_adjustment_set_value (adjustment, upper * (i % 2 ? i : 12 - i) / 12);
      bastion_ui_test_settle (window);
      check_cells (GTK_WIDGET (grid), &check);
    }
  g_test_message ("%u cells checked, %u NULLs, %u cells showed a NULL and then a value",
                  check.n_cells, check.n_nulls, check.n_recycled);
  g_assert_cmpuint (check.n_nulls, >, 0);
  /* The point of the test: cells were bound to a NULL, then to a value. */
  g_assert_cmpuint (check.n_recycled, >, 0);

  /* Tooltips are computed when asked for, and only for what does not show whole. */
  {
    GtkColumnView *column_view = bastion_result_grid_get_column_view (grid);
    g_autoptr(GtkColumnViewColumn) note = g_list_model_get_item (
      gtk_column_view_get_columns (column_view), 1);
    g_autofree char *long_tip = NULL;
    g_autofree char *id_tip = NULL;
    g_autofree char *note_tip = NULL;
    GtkWidget *cell;

    cell = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_INSCRIPTION,
                                        cell_starts_with, (gpointer) "long text");
    g_assert_nonnull (cell);
    long_tip = bastion_result_grid_dup_cell_tooltip (grid, cell);
    g_assert_nonnull (long_tip);
    g_assert_true (g_str_has_prefix (long_tip, "long text long text"));
    cell = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_INSCRIPTION,
                                        cell_starts_with, (gpointer) "1");
    g_assert_nonnull (cell);
    id_tip = bastion_result_grid_dup_cell_tooltip (grid, cell);
    g_assert_null (id_tip);

    /* Cut by a narrow column (not shortened by the grid): that too has a tooltip. */
    gtk_column_view_column_set_fixed_width (note, 40);
    bastion_ui_test_settle (window);
    cell = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_INSCRIPTION,
                                        cell_starts_with, (gpointer) "soil probe");
    g_assert_nonnull (cell);
    note_tip = bastion_result_grid_dup_cell_tooltip (grid, cell);
    g_assert_true (g_str_has_prefix (note_tip, "soil probe "));
  }

  g_hash_table_unref (check.was_null);
  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

static gboolean
page_paused_or_finished (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && !bastion_query_page_get_running (page)
         && (bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED
             || bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED);
}

static gboolean
cell_in_column (GtkWidget *widget,
                gpointer   user_data)
{
  GtkListItem *item = g_object_get_data (G_OBJECT (widget), "bastion-list-item");
  guint column = GPOINTER_TO_UINT (user_data);
  g_autofree char *text = NULL;

  if (!gtk_widget_get_mapped (widget) || item == NULL || gtk_list_item_get_item (item) == NULL)
    return FALSE;
  text = bastion_result_grid_dup_cell_text (
    BASTION_RESULT_GRID (gtk_widget_get_ancestor (widget, BASTION_TYPE_RESULT_GRID)),
    gtk_list_item_get_position (item), column, NULL);
  return g_strcmp0 (text, gtk_inscription_get_text (GTK_INSCRIPTION (widget))) == 0;
}

/* A double-click on the divider right of @column's header, as the grid's click gesture sees it. */
static void
double_click_divider (BastionResultGrid *grid,
                      guint              column)
{
  GtkWidget *column_view = GTK_WIDGET (bastion_result_grid_get_column_view (grid));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (column_view);
  GtkWidget *header = gtk_widget_get_first_child (column_view);
  GtkWidget *title;
  graphene_rect_t bounds;

  while (g_strcmp0 (gtk_widget_get_css_name (header), "header") != 0)
    header = gtk_widget_get_next_sibling (header);
  title = gtk_widget_get_first_child (header);
  for (guint i = 0; i < column; i++)
    title = gtk_widget_get_next_sibling (title);
  g_assert_true (gtk_widget_compute_bounds (title, column_view, &bounds));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        g_signal_emit_by_name (controller, "pressed", 2,
                               (double) bounds.origin.x + bounds.size.width - 2,
                               (double) bounds.origin.y + bounds.size.height / 2);
    }
}

static void
test_grid_widths (void)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  GListModel *columns = gtk_column_view_get_columns (bastion_result_grid_get_column_view (grid));
  g_autoptr(GtkColumnViewColumn) wide = NULL;
  GtkAdjustment *adjustment;
  GtkWidget *cell;
  int capped;
  int fitted;

  /* The first rows have short ids and counters; the last ones are longer. */
  bastion_ui_test_type_and_run_all (page, "select g as id,\n"
                      "       g::int8 * 32155761 as counter,\n"
                      "       md5(g::text)::uuid as uuid,\n"
                      "       repeat('w', 200) as wide\n"
                      "  from generate_series(1, 100000) g");
  wait_within (page_paused_or_finished, page, 60 * G_USEC_PER_SEC, "100 000 rows");
  bastion_ui_test_settle (window);
  adjustment = grid_vadjustment (grid);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  bastion_ui_test_settle (window);
  bastion_ui_test_settle (window);

  /* At the end of the result, ids, counters and UUIDs show whole: no tooltip to ask for. */
  for (guint c = 0; c < 3; c++)
    {
      g_autofree char *tip = NULL;

      cell = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_INSCRIPTION,
                                          cell_in_column, GUINT_TO_POINTER (c));
      g_assert_nonnull (cell);
      tip = bastion_result_grid_dup_cell_tooltip (grid, cell);
      g_test_message ("column %u: '%s', %s", c, gtk_inscription_get_text (GTK_INSCRIPTION (cell)),
                      tip == NULL ? "whole" : "cut");
      g_assert_null (tip);
      if (c < 2)
        g_assert_cmpfloat (gtk_inscription_get_xalign (GTK_INSCRIPTION (cell)), ==, 1.0);
    }

  /* A long value is capped; a double-click on its header's divider widens it. */
  wide = g_list_model_get_item (columns, 3);
  capped = gtk_column_view_column_get_fixed_width (wide);
  double_click_divider (grid, 3);
  fitted = gtk_column_view_column_get_fixed_width (wide);
  g_test_message ("the 200-character column: %d px, fitted %d px", capped, fitted);
  g_assert_cmpint (capped, <, fitted);
  g_assert_cmpint (fitted, <, 4000);

  bastion_query_cancel (bastion_query_page_get_query (page));
  wait_within (page_idle_any, page, CANCEL_LIMIT_USEC, "the query to end");
  adw_tab_view_close_page (bastion_query_view_get_tab_view (view),
                           adw_tab_view_get_page (bastion_query_view_get_tab_view (view),
                                                  GTK_WIDGET (page)));
}

int
main (int    argc,
      char **argv)
{
  int status;

  bastion_ui_test_init (&argc, &argv);
  open_view ();

  g_test_add_func ("/bastion/ui/grid/rows-while-animating", test_grid_rows_while_animating);
  g_test_add_func ("/bastion/ui/grid/recycled-cells", test_grid_recycled_cells);
  g_test_add_func ("/bastion/ui/grid/widths", test_grid_widths);

  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&database);
  return status;
}
