/* test-ui-workspace.c: the connected workspace (issue 19), against the real sshd, PostgreSQL
 * and gnome-keyring under Xvfb.
 *
 * At 960×640 the workspace fills the window (the team's header and settings are gone) and a
 * loaded result shows at least 15 grid rows; after Allow Writes the connection bar's pill, the
 * page's toolbar and the tab's mark agree; the tabs and their SQL survive Disconnect/Connect and
 * a restart (their state file, 0600, holds no result); Ctrl+Q (app.quit) with a tunnel open asks
 * the close button's question; at 400 px the schema sidebar is folded away and no widget
 * reaches past the window's edge; the shortcuts window lists no accelerator twice and matches
 * what is installed; Export proposes the tab's name in Documents; a database password prompt
 * closes once a retry connects.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

#include "bastion-connection-bar.h"
#include "bastion-connection-view.h"
#include "bastion-connections.h"
#include "bastion-export-folder.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-result-grid.h"
#include "bastion-shortcuts.h"
#include "bastion-tab-keeper.h"
#include "bastion-team-page.h"
#include "bastion-ui-test.h"
#include "bastion-window.h"

static BastionWindow *window;
static const char    *team;
static const char    *cli;

static void dump_minimums (GtkWidget *widget,
                           int        depth);

/* ---- Helpers ------------------------------------------------------------------------------- */

static void
store_db_password (const char *password)
{
  const char *args[] = { cli, "secret", "set", team, "db-password", NULL };

  bastion_ui_test_run_cli (args, password);
}

static char *
real_password (void)
{
  char *password = NULL;

  g_assert_true (g_file_get_contents (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"), &password,
                                      NULL, NULL));
  return g_strstrip (password);
}

static GtkWidget *
find (GType type)
{
  return bastion_ui_test_find_widget (GTK_WIDGET (window), type, NULL, NULL);
}

static BastionQueryView *
query_view (void)
{
  return BASTION_QUERY_VIEW (find (BASTION_TYPE_QUERY_VIEW));
}

static BastionConnectionBar *
bar (void)
{
  return BASTION_CONNECTION_BAR (find (BASTION_TYPE_CONNECTION_BAR));
}

static BastionConnection *
connection (void)
{
  BastionTeamPage *page = BASTION_TEAM_PAGE (find (BASTION_TYPE_TEAM_PAGE));

  return bastion_connections_peek (bastion_connections_get_default (),
                                   bastion_team_page_get_profile (page));
}

static gboolean
page_has_database (gpointer data)
{
  return bastion_query_page_get_database (data) != NULL;
}

static gboolean
page_writes (gpointer data)
{
  BastionDatabase *database = bastion_query_page_get_database (data);

  return database != NULL && !bastion_database_get_read_only (database);
}

static gpointer
page_child (BastionQueryPage *page,
            const char       *name)
{
  gpointer widget = gtk_widget_get_template_child (GTK_WIDGET (page), BASTION_TYPE_QUERY_PAGE,
                                                   name);

  g_assert_nonnull (widget);
  return widget;
}

static char *
page_sql (BastionQueryPage *page)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static BastionQueryPage *
nth_page (int n)
{
  AdwTabView *tabs = bastion_query_view_get_tab_view (query_view ());

  return BASTION_QUERY_PAGE (adw_tab_page_get_child (adw_tab_view_get_nth_page (tabs, n)));
}

static void
connect_team (void)
{
  bastion_window_open_team (window, team, TRUE);
  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window, "the workspace's query view");
  bastion_ui_test_wait_for (page_has_database,
                            bastion_query_view_get_current_page (query_view ()),
                            "the first tab's session");
}

static void
resize (int width,
        int height)
{
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  /* The window manager-less X server applies it at once; give GTK the frames to lay out. */
  for (int i = 0; i < 10; i++)
    bastion_ui_test_settle (GTK_WIDGET (window));
}

static gboolean
has_dialog (gpointer heading)
{
  GtkWindow *dialog = bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);

  return dialog != NULL && (heading == NULL || g_strcmp0 (adw_message_dialog_get_heading (
                                                             ADW_MESSAGE_DIALOG (dialog)),
                                                           heading) == 0);
}

static gboolean
no_dialog (gpointer data)
{
  return bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG) == NULL;
}

static gboolean
stage_is (gpointer data)
{
  BastionConnection *conn = connection ();

  return conn != NULL && bastion_connection_get_stage (conn) == GPOINTER_TO_INT (data);
}

/* ---- The layout at 960×640 ----------------------------------------------------------------- */

/* The grid's rows wholly on screen below its header. */
static guint
visible_grid_rows (BastionResultGrid *grid)
{
  GtkWidget *column_view = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_COLUMN_VIEW,
                                                        NULL, NULL);
  GtkWidget *scroller = gtk_widget_get_ancestor (column_view, GTK_TYPE_SCROLLED_WINDOW);
  double top = 0;
  double bottom = gtk_widget_get_height (scroller);
  guint n = 0;
  g_autoptr(GQueue) queue = g_queue_new ();

  g_assert_nonnull (scroller);
  g_queue_push_tail (queue, column_view);
  while (!g_queue_is_empty (queue))
    {
      GtkWidget *w = g_queue_pop_head (queue);
      const char *css = gtk_widget_get_css_name (w);
      graphene_rect_t bounds;

      if (g_str_equal (css, "header") && gtk_widget_compute_bounds (w, scroller, &bounds))
        top = MAX (top, bounds.origin.y + bounds.size.height);
      if (g_str_equal (css, "row") && gtk_widget_get_mapped (w)
          && gtk_widget_compute_bounds (w, scroller, &bounds)
          && bounds.origin.y >= top - 0.5 && bounds.origin.y + bounds.size.height <= bottom + 0.5)
        n++;
      for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
        if (!g_str_equal (gtk_widget_get_css_name (w), "row"))
          g_queue_push_tail (queue, c);
    }
  return n;
}

static void
test_workspace_rows (void)
{
  const char *import_args[] = { cli, "import", NULL };
  const char *trust_args[] = { cli, "hostkey", team, "--trust", NULL };
  g_autofree char *password = real_password ();
  g_autofree char *shot = NULL;
  BastionQueryPage *page;
  guint rows;

  bastion_ui_test_run_cli (import_args, NULL);
  bastion_ui_test_run_cli (trust_args, NULL);
  store_db_password (password);

  window = bastion_ui_test_activate ();
  resize (960, 640);
  connect_team ();

  /* The whole window is the workspace: the team's header and connection steps are gone. */
  g_assert_false (gtk_widget_get_mapped (find (BASTION_TYPE_CONNECTION_VIEW)));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (bar ())));
  /* The route as the team's settings call it, not the tunnel's 127.0.0.1 ends alone. */
  {
    AdwWindowTitle *title = ADW_WINDOW_TITLE (find (ADW_TYPE_WINDOW_TITLE));
    const char *summary = bastion_connection_bar_get_summary (bar ());

    g_assert_true (g_str_has_prefix (summary, "Connected · Bastion "));
    g_assert_nonnull (strstr (summary, " · Database "));
    g_assert_true (g_str_has_suffix (summary, "/simpleiot"));
    (void) title;
  }

  page = bastion_query_view_get_current_page (query_view ());
  bastion_query_page_run_sql (page, "SELECT g AS n, 'device ' || g AS name\n"
                                    "  FROM generate_series (1, 200) AS g;\n");
  bastion_ui_test_wait_for (bastion_ui_test_page_has_rows, page, "the result");
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  {
    GtkWidget *content = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
    int width = 0, height = 0;

    gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
    g_assert_cmpint (width, ==, 960);
    g_assert_cmpint (height, ==, 640);
    g_test_message ("window content: %d×%d", gtk_widget_get_width (content),
                    gtk_widget_get_height (content));
    g_assert_cmpint (gtk_widget_get_height (content), <=, 640);
  }
  rows = visible_grid_rows (bastion_query_page_get_grid (page));
  g_test_message ("grid rows wholly visible at 960×640: %u", rows);
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "workspace-960x640");
  g_test_message ("screenshot: %s", shot);
  g_assert_cmpuint (rows, >=, 15);
}

/* ---- Copy Command ---------------------------------------------------------------------- */

static void
on_text_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(char **) user_data = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
}

static gboolean
have_text (gpointer user_data)
{
  return *(char **) user_data != NULL;
}

static gboolean
clipboard_changed (gpointer user_data)
{
  return gdk_clipboard_get_content (gdk_display_get_clipboard (gdk_display_get_default ()))
         != user_data;
}

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, NULL, &error);
  g_assert_no_error (error);
  *(char **) user_data = out != NULL ? out : g_strdup ("");
}

/* "Copy psql Command": a line for any terminal that reaches the database while connected. */
static void
test_workspace_copy_command (void)
{
  GdkClipboard *clipboard = gdk_display_get_clipboard (gdk_display_get_default ());
  g_autofree char *password = real_password ();
  g_autofree char *command = NULL;
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  GdkContentProvider *before;

  gdk_clipboard_set_text (clipboard, "");
  before = gdk_clipboard_get_content (clipboard);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (bar ()), "bar.copy-command", "i",
                                             BASTION_LAUNCHER_TOOL_PSQL));
  bastion_ui_test_wait_for (clipboard_changed, before, "the command on the clipboard");
  gdk_clipboard_read_text_async (clipboard, NULL, on_text_read, &command);
  bastion_ui_test_wait_for (have_text, &command, "the clipboard's text");
  g_test_message ("copied: %s", command);
  g_assert_true (g_str_has_prefix (command, "PGSERVICEFILE="));
  g_assert_nonnull (strstr (command, " psql service="));
  g_assert_null (strstr (command, password));

  script = g_strdup_printf ("%s -tAc 'select name from project'", command);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "/bin/sh", "-c", script, NULL);
  g_assert_no_error (error);
  /* The tunnel runs in this process's main loop: wait for psql without blocking it. */
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_communicated, &out);
  bastion_ui_test_wait_for (have_text, &out, "psql through the copied command");
  g_assert_cmpstr (g_strstrip (out), ==, "Sunshine");
}

/* ---- Ctrl+C / Shift+Ctrl+C ------------------------------------------------------------- */

static char *
copy_with (BastionResultGrid *grid,
           const char        *action,
           GVariant          *target)
{
  GdkClipboard *clipboard = gdk_display_get_clipboard (gdk_display_get_default ());
  char *text = NULL;
  GdkContentProvider *before;

  gdk_clipboard_set_text (clipboard, "");
  before = gdk_clipboard_get_content (clipboard);
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (grid), action, target));
  bastion_ui_test_wait_for (clipboard_changed, before, "the copy on the clipboard");
  gdk_clipboard_read_text_async (clipboard, NULL, on_text_read, &text);
  bastion_ui_test_wait_for (have_text, &text, "the clipboard's text");
  return text;
}

static gboolean
inscription_is (GtkWidget *widget,
                gpointer   text)
{
  return g_strcmp0 (gtk_inscription_get_text (GTK_INSCRIPTION (widget)), text) == 0;
}

/* A primary click on the cell showing @text, through the grid's own click handler. */
static void
click_cell (BastionResultGrid *grid,
            const char        *text)
{
  GtkWidget *column_view = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_COLUMN_VIEW,
                                                        NULL, NULL);
  GtkWidget *label = bastion_ui_test_find_widget (column_view, GTK_TYPE_INSCRIPTION,
                                                  inscription_is, (gpointer) text);
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (column_view);
  graphene_point_t point = GRAPHENE_POINT_INIT (4, 4);
  graphene_point_t at;

  g_assert_nonnull (label);
  g_assert_true (gtk_widget_compute_point (label, column_view, &point, &at));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        g_signal_emit_by_name (controller, "pressed", 1, (double) at.x, (double) at.y);
    }
}

static void
test_workspace_copy_cells (void)
{
  BastionQueryPage *page = bastion_query_view_get_current_page (query_view ());
  BastionResultGrid *grid = bastion_query_page_get_grid (page);
  GtkWidget *column_view = bastion_ui_test_find_widget (GTK_WIDGET (grid), GTK_TYPE_COLUMN_VIEW,
                                                        NULL, NULL);
  GtkSelectionModel *selection = gtk_column_view_get_model (GTK_COLUMN_VIEW (column_view));
  g_autofree char *one = NULL;
  g_autofree char *several = NULL;
  g_autofree char *rows = NULL;

  /* One cell: its value as it is. */
  gtk_selection_model_select_item (selection, 1, TRUE);
  click_cell (grid, "device 2");
  one = copy_with (grid, "grid.copy-cells", NULL);
  g_assert_cmpstr (one, ==, "device 2");

  /* Several rows: that column's cells, one per line. */
  gtk_selection_model_select_range (selection, 0, 3, TRUE);
  several = copy_with (grid, "grid.copy-cells", NULL);
  g_assert_cmpstr (several, ==, "device 1\ndevice 2\ndevice 3\n");

  /* Shift+Ctrl+C's action: the rows with their headers. */
  rows = copy_with (grid, "grid.copy-rows", g_variant_new_string ("tsv"));
  g_assert_true (g_str_has_prefix (rows, "n\tname\n1\tdevice 1\n"));
}

/* ---- One truth for read/write ------------------------------------------------------------- */

static void
test_workspace_one_truth (void)
{
  BastionQueryPage *first = nth_page (0);
  AdwTabView *tabs = bastion_query_view_get_tab_view (query_view ());
  AdwTabPage *first_tab = adw_tab_view_get_page (tabs, GTK_WIDGET (first));
  BastionQueryPage *second;
  g_autofree char *shot = NULL;

  g_assert_cmpstr (bastion_connection_bar_get_mode_text (bar ()), ==, "Read-only");
  g_assert_cmpstr (gtk_label_get_label (page_child (first, "mode_label")), ==, "Read-only");
  g_assert_null (adw_tab_page_get_indicator_icon (first_tab));

  gtk_switch_set_active (page_child (first, "writes_switch"), TRUE);
  bastion_ui_test_wait_for (page_writes, first, "writes allowed on the server");
  bastion_ui_test_settle (GTK_WIDGET (window));

  /* The pill, the toolbar and the tab say the same. */
  g_assert_cmpstr (bastion_connection_bar_get_mode_text (bar ()), ==, "Writes Allowed");
  g_assert_cmpstr (gtk_label_get_label (page_child (first, "mode_label")), ==, "Writes Allowed");
  g_assert_nonnull (adw_tab_page_get_indicator_icon (first_tab));
  g_assert_cmpstr (adw_tab_page_get_indicator_tooltip (first_tab), ==,
                   "Writes are allowed in this tab");
  {
    GtkWidget *content = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
    int minimum = 0;

    gtk_widget_measure (content, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
    g_test_message ("writes allowed: content %d px wide, its minimum %d px",
                    gtk_widget_get_width (content), minimum);
    if (minimum > 400)
      dump_minimums (content, 0);
    /* The transaction's controls that come with writes fit too: nothing folds at 960 px. */
    g_assert_cmpint (minimum, <=, 400);
    g_assert_false (adw_leaflet_get_folded (ADW_LEAFLET (find (ADW_TYPE_LEAFLET))));
  }
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "workspace-writes-allowed");

  /* Another tab is its own session, read-only: the pill follows the selected tab. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (query_view ()), "view.new-tab", NULL));
  second = bastion_query_view_get_current_page (query_view ());
  g_assert_true (second != first);
  bastion_ui_test_wait_for (page_has_database, second, "the second tab's session");
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_cmpstr (bastion_connection_bar_get_mode_text (bar ()), ==, "Read-only");
  g_assert_null (adw_tab_page_get_indicator_icon (adw_tab_view_get_page (tabs,
                                                                          GTK_WIDGET (second))));
  adw_tab_view_set_selected_page (tabs, first_tab);
  g_assert_cmpstr (bastion_connection_bar_get_mode_text (bar ()), ==, "Writes Allowed");
}

/* ---- Work kept ------------------------------------------------------------------------------ */

static void
assert_kept_tabs (void)
{
  AdwTabView *tabs = bastion_query_view_get_tab_view (query_view ());
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  g_assert_cmpint (adw_tab_view_get_n_pages (tabs), ==, 2);
  first = page_sql (nth_page (0));
  second = page_sql (nth_page (1));
  g_assert_cmpstr (first, ==, "SELECT 1 AS kept_one;");
  g_assert_cmpstr (second, ==, "SELECT 2 AS kept_two;");
  /* Writes were allowed in the first tab: it comes back read-only. */
  for (int i = 0; i < 2; i++)
    {
      bastion_ui_test_wait_for (page_has_database, nth_page (i), "a restored tab's session");
      g_assert_true (bastion_database_get_read_only (bastion_query_page_get_database (nth_page (i))));
    }
  g_assert_cmpstr (bastion_connection_bar_get_mode_text (bar ()), ==, "Read-only");
}

static gboolean
two_tabs (gpointer data)
{
  return adw_tab_view_get_n_pages (bastion_query_view_get_tab_view (query_view ())) == 2;
}

static void
test_workspace_keep_tabs (void)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  struct stat st;

  bastion_query_page_set_sql (nth_page (0), "SELECT 1 AS kept_one;");
  bastion_query_page_set_sql (nth_page (1), "SELECT 2 AS kept_two;");

  /* Disconnect and Connect: the same tabs and SQL. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_no_query_view, window,
                            "the workspace gone after Disconnect");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.connect", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window,
                            "the workspace back after Connect");
  assert_kept_tabs ();

  /* A restart: the window goes (and with it everything in memory), a new one connects. */
  bastion_ui_test_close_windows ();
  bastion_connections_disconnect_all (bastion_connections_get_default ());
  bastion_tab_keeper_forget_memory ();

  path = bastion_tab_keeper_dup_state_path ("simpleiot-demo");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "kept_two"));
  /* The SQL, never its results. */
  g_assert_null (strstr (contents, "device 17"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  window = bastion_ui_test_activate ();
  resize (960, 640);
  connect_team ();
  bastion_ui_test_wait_for (two_tabs, NULL, "the tabs read back from their file");
  assert_kept_tabs ();
}

/* ---- Quit with a tunnel open ------------------------------------------------------------- */

static void
test_workspace_quit_asks (void)
{
  GtkWindow *dialog;

  g_assert_true (stage_is (GINT_TO_POINTER (BASTION_CONNECTION_STAGE_READY)));
  /* Ctrl+Q's action. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.quit", NULL));
  bastion_ui_test_wait_for (has_dialog, "Keep the Tunnel Open?", "Quit's question");
  dialog = bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "keep"));
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "disconnect"));
  /* Escape (the close response is Cancel). */
  gtk_window_close (dialog);
  bastion_ui_test_wait_for (no_dialog, NULL, "the question answered");

  /* Cancel: nothing closed. */
  g_assert_true (bastion_ui_test_find_toplevel (BASTION_TYPE_WINDOW) == GTK_WINDOW (window));
  g_assert_true (stage_is (GINT_TO_POINTER (BASTION_CONNECTION_STAGE_READY)));
}

/* ---- 400 px ------------------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *root;
  double     width;
  GString   *offenders;
} ClipCheck;

static void
check_inside (ClipCheck *check,
              GtkWidget *widget)
{
  graphene_rect_t bounds;

  if (!gtk_widget_get_mapped (widget))
    return;
  /* Popovers and other surfaces of their own are not inside the window. */
  if (GTK_IS_NATIVE (widget) && widget != check->root)
    return;
  if (gtk_widget_compute_bounds (widget, check->root, &bounds)
      && (bounds.origin.x < -0.5 || bounds.origin.x + bounds.size.width > check->width + 0.5)
      && bounds.size.width > 0)
    g_string_append_printf (check->offenders, " %s(%s x=%.0f w=%.0f)",
                            G_OBJECT_TYPE_NAME (widget), gtk_widget_get_css_name (widget),
                            bounds.origin.x, bounds.size.width);
  /* Children of a scrolled or clipped view may lie outside it by design. */
  if (GTK_IS_SCROLLABLE (widget) || GTK_IS_SCROLLED_WINDOW (widget) || GTK_IS_VIEWPORT (widget)
      || ADW_IS_TAB_BAR (widget) || GTK_IS_STACK (widget))
    return;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    check_inside (check, c);
}

/* The window's content (a window without a window manager keeps a few pixels of frame). */
static gboolean
window_is (gpointer width)
{
  GtkWidget *content = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
  int w = gtk_widget_get_width (content);

  return w <= GPOINTER_TO_INT (width) && w > GPOINTER_TO_INT (width) - 20;
}

/* Which widgets ask for more than the window has (printed when the window cannot narrow). */
static void
dump_minimums (GtkWidget *widget,
               int        depth)
{
  int minimum = 0;

  if (!gtk_widget_get_visible (widget) || depth > 40)
    return;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  if (minimum <= 340)
    return;
  g_test_message ("%*s%s (%s): minimum %d", depth, "", G_OBJECT_TYPE_NAME (widget),
                  gtk_widget_get_name (widget), minimum);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    dump_minimums (c, depth + 1);
}

static gboolean
flap_mapped (gpointer data)
{
  GtkWidget *flap = bastion_ui_test_find_widget (GTK_WIDGET (query_view ()), ADW_TYPE_FLAP, NULL,
                                                 NULL);

  return gtk_widget_get_mapped (flap) && gtk_widget_get_width (flap) <= 400;
}

static void
test_workspace_narrow (void)
{
  AdwFlap *flap;
  ClipCheck check = { NULL, 0, g_string_new (NULL) };
  g_autofree char *shot = NULL;

  /* GNOME's own window buttons (close only), as the test's X server has no desktop to ask. */
  g_object_set (gtk_settings_get_default (), "gtk-decoration-layout", "appmenu:close", NULL);
  resize (400, 640);
  {
    GtkWidget *content = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
    int minimum = 0;

    gtk_widget_measure (content, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
    g_test_message ("at 400 px: content %d px wide, its minimum %d px",
                    gtk_widget_get_width (content), minimum);
    if (minimum > 400)
      {
        g_autofree char *early = bastion_ui_test_screenshot (GTK_WIDGET (window), "workspace-400");
        dump_minimums (content, 0);
      }
  }
  bastion_ui_test_wait_for (window_is, GINT_TO_POINTER (400), "the window at 400 px");
  /* Folded, the window shows one pane: the team, as a tap on it in the list does. */
  bastion_window_open_team (window, team, FALSE);
  bastion_ui_test_wait_for (flap_mapped, NULL, "the workspace on the narrow window");
  for (int i = 0; i < 10; i++)
    bastion_ui_test_settle (GTK_WIDGET (window));
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  check.root = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
  check.width = gtk_widget_get_width (check.root);

  /* The schema sidebar folds away; the tabs, toolbar and editor keep the width. */
  flap = ADW_FLAP (bastion_ui_test_find_widget (GTK_WIDGET (query_view ()), ADW_TYPE_FLAP, NULL,
                                                NULL));
  {
    int fmin = 0, cmin = 0;

    gtk_widget_measure (adw_flap_get_flap (flap), GTK_ORIENTATION_HORIZONTAL, -1, &fmin, NULL,
                        NULL, NULL);
    gtk_widget_measure (adw_flap_get_content (flap), GTK_ORIENTATION_HORIZONTAL, -1, &cmin, NULL,
                        NULL, NULL);
    g_test_message ("flap %d px wide: sidebar minimum %d, content minimum %d",
                    gtk_widget_get_width (GTK_WIDGET (flap)), fmin, cmin);
  }
  g_assert_true (adw_flap_get_folded (flap));
  g_assert_false (adw_flap_get_reveal_flap (flap));
  check_inside (&check, GTK_WIDGET (window));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "workspace-400");
  g_assert_cmpstr (check.offenders->str, ==, "");
  g_string_free (check.offenders, TRUE);

  resize (960, 640);
  bastion_ui_test_wait_for (window_is, GINT_TO_POINTER (960), "the window at 960 px");
  g_assert_false (adw_flap_get_folded (flap));
}

/* ---- Shortcuts ----------------------------------------------------------------------------- */

/* The sections' shortcuts (the window's search page holds copies of them all). */
static void
collect_accels (GtkWidget  *widget,
                GHashTable *seen,
                GString    *twice)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget)
      && gtk_widget_get_ancestor (widget, GTK_TYPE_SHORTCUTS_SECTION) != NULL)
    {
      g_autofree char *accels = NULL;
      g_auto(GStrv) parts = NULL;

      g_object_get (widget, "accelerator", &accels, NULL);
      parts = g_strsplit (accels ? accels : "", " ", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          guint key = 0;
          GdkModifierType mods = 0;
          g_autofree char *name = NULL;

          if (*parts[i] == '\0')
            continue;
          g_assert_true (gtk_accelerator_parse (parts[i], &key, &mods));
          name = gtk_accelerator_name (key, mods);
          if (!g_hash_table_add (seen, g_strdup (name)))
            g_string_append_printf (twice, " %s", name);
        }
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    collect_accels (c, seen, twice);
}

static gboolean
same_accel (const char *a,
            const char *b)
{
  guint key_a = 0, key_b = 0;
  GdkModifierType mods_a = 0, mods_b = 0;

  return gtk_accelerator_parse (a, &key_a, &mods_a) && gtk_accelerator_parse (b, &key_b, &mods_b)
         && key_a == key_b && mods_a == mods_b;
}

static void
test_workspace_shortcuts (void)
{
  GtkShortcutsWindow *overlay =
    gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) twice = g_string_new (NULL);
  const BastionShortcut *table;
  guint n;

  g_assert_nonnull (overlay);
  collect_accels (GTK_WIDGET (overlay), seen, twice);
  g_assert_cmpstr (twice->str, ==, "");
  g_assert_true (g_hash_table_contains (seen, "<Control>w"));
  g_assert_true (g_hash_table_contains (seen, "<Shift><Control>w"));
  g_assert_true (g_hash_table_contains (seen, "<Control>c"));

  /* What the application installed is what the window lists. */
  table = bastion_shortcuts_get (&n);
  g_assert_cmpuint (g_hash_table_size (seen), >=, n);
  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) installed = NULL;

      if (table[i].owner != BASTION_SHORTCUT_APP || table[i].target != NULL)
        continue;
      installed = gtk_application_get_accels_for_action (
        GTK_APPLICATION (bastion_ui_test_get_app ()), table[i].action);
      g_assert_nonnull (installed[0]);
      g_assert_true (same_accel (installed[0], table[i].accels[0]));
    }
  {
    g_auto(GStrv) quit = gtk_application_get_accels_for_action (
      GTK_APPLICATION (bastion_ui_test_get_app ()), "win.quit");

    g_assert_true (same_accel (quit[0], "<primary>q"));
  }
  {
    g_auto(GStrv) close = gtk_application_get_accels_for_action (
      GTK_APPLICATION (bastion_ui_test_get_app ()), "window.close");

    g_assert_true (same_accel (close[0], "<primary><shift>w"));
  }
}

/* ---- Export ------------------------------------------------------------------------------- */

static gboolean
has_chooser (gpointer data)
{
  return bastion_ui_test_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG) != NULL;
}

static gboolean
no_chooser (gpointer data)
{
  return !has_chooser (data);
}

static gboolean
export_done_on (gpointer page)
{
  const char *status = bastion_query_page_get_status_text (page);

  return status != NULL && g_str_has_prefix (status, "Exported");
}

static gboolean
chooser_has_folder (gpointer chooser)
{
  g_autoptr(GFile) folder = gtk_file_chooser_get_current_folder (chooser);

  return folder != NULL;
}

static void
test_workspace_export_default (void)
{
  g_autofree char *config = g_build_filename (g_get_user_config_dir (), "user-dirs.dirs", NULL);
  g_autofree char *documents = g_build_filename (g_get_home_dir (), "Dokumente", NULL);
  g_autofree char *dirs = g_strdup_printf ("XDG_DOCUMENTS_DIR=\"%s\"\n", documents);
  g_autofree char *name = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GFile) expected = g_file_new_for_path (documents);
  BastionQueryPage *page;
  GtkWindow *chooser;

  g_assert_cmpint (g_mkdir_with_parents (documents, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (config, dirs, -1, NULL));
  g_reload_user_special_dirs_cache ();

  page = bastion_query_view_open_entity (query_view (), "devices");
  bastion_ui_test_wait_for (bastion_ui_test_page_has_rows, page, "the devices");
  g_assert_cmpstr (bastion_query_page_get_title (page), ==, "Devices");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.export", "s", "csv"));
  bastion_ui_test_wait_for (has_chooser, NULL, "the export's file chooser");
  chooser = bastion_ui_test_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));
  bastion_ui_test_wait_for (chooser_has_folder, chooser, "the chooser's folder");
  folder = gtk_file_chooser_get_current_folder (GTK_FILE_CHOOSER (chooser));
  g_assert_cmpstr (name, ==, "Devices.csv");
  g_assert_nonnull (folder);
  g_assert_true (g_file_equal (folder, expected));
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_CANCEL);
  bastion_ui_test_wait_for (no_chooser, NULL, "the cancelled chooser closed");

  /* Accepted, the file gets the format the action asked for: it travels with the dialog. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.export", "s", "json"));
  bastion_ui_test_wait_for (has_chooser, NULL, "the JSON export's file chooser");
  chooser = bastion_ui_test_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  g_clear_pointer (&name, g_free);
  name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));
  g_assert_cmpstr (name, ==, "Devices.json");
  {
    g_autofree char *path = g_build_filename (documents, "Devices.json", NULL);
    g_autofree char *contents = NULL;

    bastion_ui_test_wait_for (chooser_has_folder, chooser, "the JSON chooser's folder");
    gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
    bastion_ui_test_wait_for (export_done_on, page, "the JSON export");
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_true (contents[0] == '[');
    g_unlink (path);
  }

  /* A statement's start as the title becomes a file name a file manager can hold. */
  name = (g_free (name), bastion_export_dup_default_name ("SELECT * FROM a/b…", 1));
  g_assert_null (strchr (name, '/'));
}

/* ---- A prompt ends with its cause --------------------------------------------------------- */

static void
test_workspace_password_dialog_closes (void)
{
  g_autofree char *password = real_password ();
  BastionConnectionView *view;
  BastionProfile *profile;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_no_query_view, window, "disconnected");
  view = BASTION_CONNECTION_VIEW (find (BASTION_TYPE_CONNECTION_VIEW));
  profile = bastion_connection_view_get_profile (view);
  /* No Secrets Manager to fetch a rotated one from: the wrong password is all there is. */
  bastion_profile_set_aws_secret_id (profile, NULL);
  store_db_password ("not-the-password");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "view.connect", NULL));
  bastion_ui_test_wait_for (has_dialog, "Database Password", "the password prompt");

  /* The password set another way than through this prompt (the keyring, and the connection
   * told as a rotated secret's refetch does), then Try Again: it connects, and the prompt that
   * asked for it goes. */
  store_db_password (password);
  bastion_connection_set_db_password (connection (), password, FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "view.connect", NULL));
  bastion_ui_test_wait_for (stage_is, GINT_TO_POINTER (BASTION_CONNECTION_STAGE_READY),
                            "the connection");
  bastion_ui_test_wait_for (no_dialog, NULL, "the stale prompt closed");
}

/* ---- The metainfo's pictures ------------------------------------------------------------ */

static void
test_workspace_screenshots (void)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *light = NULL;
  g_autofree char *dark = NULL;
  BastionQueryPage *page;

  resize (1280, 800);
  page = bastion_query_view_open_entity (query_view (), "devices");
  bastion_ui_test_wait_for (bastion_ui_test_page_has_rows, page, "the devices");
  adw_tab_view_close_other_pages (bastion_query_view_get_tab_view (query_view ()),
                                  adw_tab_view_get_page (bastion_query_view_get_tab_view (
                                                           query_view ()), GTK_WIDGET (page)));

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  light = bastion_ui_test_screenshot (GTK_WIDGET (window), "metainfo-workspace-light");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  dark = bastion_ui_test_screenshot (GTK_WIDGET (window), "metainfo-workspace-dark");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
  g_test_message ("metainfo screenshots: %s %s", light, dark);
}

int
main (int    argc,
      char **argv)
{
  bastion_ui_test_init (&argc, &argv);
  team = g_getenv ("BASTION_TEST_TEAM");
  cli = g_getenv ("BASTION_CLI");
  g_assert_nonnull (team);
  g_assert_nonnull (cli);

  g_test_add_func ("/bastion/ui/workspace/rows-960x640", test_workspace_rows);
  g_test_add_func ("/bastion/ui/workspace/copy-command", test_workspace_copy_command);
  g_test_add_func ("/bastion/ui/workspace/copy-cells", test_workspace_copy_cells);
  g_test_add_func ("/bastion/ui/workspace/one-truth", test_workspace_one_truth);
  g_test_add_func ("/bastion/ui/workspace/keep-tabs", test_workspace_keep_tabs);
  g_test_add_func ("/bastion/ui/workspace/quit-asks", test_workspace_quit_asks);
  g_test_add_func ("/bastion/ui/workspace/narrow-400", test_workspace_narrow);
  g_test_add_func ("/bastion/ui/workspace/shortcuts", test_workspace_shortcuts);
  g_test_add_func ("/bastion/ui/workspace/export-default", test_workspace_export_default);
  g_test_add_func ("/bastion/ui/workspace/password-dialog-closes",
                   test_workspace_password_dialog_closes);
  g_test_add_func ("/bastion/ui/workspace/screenshots", test_workspace_screenshots);

  return g_test_run ();
}
