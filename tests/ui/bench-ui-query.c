/* bench-ui-query.c
 *
 * The query view's speed under software rendering (issues 6 and 16), in the real window
 * connected to the demo team through the app's own tunnel, under
 * tests/harness/with-servers --xvfb --sshd --postgres --bulk --keyring --team demo (the servers
 * and tables of tools/run-demo). The renderer is
 * the first argument: "cairo" (GSK_RENDERER=cairo) or "default" (GTK's own choice, GL on
 * Mesa's software rasterizer here). Prints, never asserts on time:
 *
 *   the Devices view: from opening it to its rows painted;
 *   (a) from Run to a 5-row result painted, while a spinner animates (5 runs);
 *   (b) scrolling 100 000 rows top to bottom in 400 frames (250 rows each, as a fast wheel
 *       or a dragged scrollbar moves between frames): frame time p50/p95 and the total;
 *   (c) an external psql COPY through the app's tunnel while the grid scrolls, against the same
 *       with the window idle;
 *   (d) the process's memory with the 100 000 rows loaded.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bastion-connections.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-result-grid.h"
#include "bastion-team-page.h"
#include "bastion-ui-test.h"

#define SCROLL_ROWS   100000
#define SCROLL_EVENTS 400
#define RUNS_5_ROWS   5

#define SCROLL_SQL \
  "select g as id,\n" \
  "       md5(g::text) as hash,\n" \
  "       g * 1.5 as amount,\n" \
  "       (g % 2 = 0) as even,\n" \
  "       case when g % 10 = 0 then null else 'note ' || g end as note,\n" \
  "       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' as at,\n" \
  "       (g % 1000)::numeric / 7 as ratio,\n" \
  "       case when g % 7 = 0 then null else g::float8 / 3 end as value\n" \
  "  from generate_series(1, 100000) g"

/* The demo's million readings (--bulk), as an admin's psql would export them. */
#define COPY_SQL "COPY data TO STDOUT"

typedef struct
{
  GtkWidget         *window;
  BastionQueryPage  *page;      /* the page being watched */
  guint              want_rows; /* painted when this many rows are bound */
  gint64             painted;   /* the first frame that showed them */
  gint64             last_paint;
  guint              n_frames;
} Bench;

static Bench bench;

/* Helpers */

static double
rss_mib (void)
{
  g_autofree char *statm = NULL;
  unsigned long size = 0;
  unsigned long resident = 0;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL)
      || sscanf (statm, "%lu %lu", &size, &resident) != 2)
    return 0;
  return resident * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static const char *
load_average (void)
{
  static char text[32];
  g_autofree char *loadavg = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    return "unknown";
  g_strlcpy (text, loadavg, MIN (sizeof text, (gsize) (strchr (loadavg, ' ') - loadavg + 1)));
  return text;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

static double
percentile (GArray *values,
            double  p)
{
  guint i;

  if (values->len == 0)
    return -1;
  g_array_sort (values, compare_doubles);
  /* The nearest-rank percentile. */
  i = (guint) (p / 100.0 * values->len + 0.999999);
  i = CLAMP (i, 1, values->len) - 1;
  return g_array_index (values, double, i);
}

static void
on_after_paint (GdkFrameClock *clock,
                Bench         *b)
{
  gint64 now = g_get_monotonic_time ();

  b->n_frames++;
  b->last_paint = now;
  if (b->page != NULL && b->painted == 0)
    {
      BastionQuery *query = bastion_query_page_get_query (b->page);
      BastionResultGrid *grid = bastion_query_page_get_grid (b->page);

      /* This run's rows, laid out in this frame. */
      if (query != NULL && bastion_result_grid_get_model (grid) == bastion_query_get_model (query)
          && g_strcmp0 (bastion_query_page_get_result_kind (b->page), "grid") == 0
          && bastion_result_grid_get_n_bound_rows (grid) >= b->want_rows)
        b->painted = now;
    }
}

static gboolean
rows_painted (gpointer user_data)
{
  return bench.painted != 0;
}

static gboolean
page_done (gpointer user_data)
{
  BastionQueryPage *page = user_data;
  BastionQuery *query = bastion_query_page_get_query (page);

  return query != NULL && !bastion_query_page_get_running (page)
         && (bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED
             || bastion_query_get_state (query) == BASTION_QUERY_STATE_FINISHED);
}

static gboolean
database_free (gpointer user_data)
{
  BastionDatabase *database = bastion_query_page_get_database (user_data);

  /* A new tab of a connected team logs in on its own connection first. */
  return database != NULL && !bastion_database_get_busy (database);
}

/* Runs @sql in @page and returns the microseconds from Run to the frame that showed
 * @want_rows rows. */
static gint64
run_until_painted (BastionQueryPage *page,
                   const char       *sql,
                   guint             want_rows)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
  gint64 started;

  /* The tab's connection is there and free (the last statement and its envelope over). */
  bastion_ui_test_wait_for (database_free, page, "the connection free");
  gtk_text_buffer_set_text (buffer, sql, -1);
  bench.page = page;
  bench.want_rows = want_rows;
  bench.painted = 0;
  started = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "query.run-all", NULL));
  while (!rows_painted (NULL))
    {
      if (g_get_monotonic_time () - started > 30 * G_USEC_PER_SEC)
        {
          BastionQuery *query = bastion_query_page_get_query (page);
          BastionResultGrid *grid = bastion_query_page_get_grid (page);

          g_error ("no rows painted after 30 s: kind %s, status '%s', %u bound, model %s, "
                   "query state %d, %u frames",
                   bastion_query_page_get_result_kind (page),
                   bastion_query_page_get_status_text (page),
                   bastion_result_grid_get_n_bound_rows (grid),
                   query != NULL && bastion_result_grid_get_model (grid)
                                    == bastion_query_get_model (query) ? "this run's" : "other",
                   query != NULL ? (int) bastion_query_get_state (query) : -1, bench.n_frames);
        }
      g_main_context_iteration (NULL, TRUE);
    }
  bench.page = NULL;
  return bench.painted - started;
}

static GtkScrolledWindow *
grid_scroller (BastionResultGrid *grid)
{
  return GTK_SCROLLED_WINDOW (bastion_ui_test_find_widget (GTK_WIDGET (grid),
                                                           GTK_TYPE_SCROLLED_WINDOW, NULL, NULL));
}

static gboolean
frame_after (gpointer user_data)
{
  return bench.last_paint > *(gint64 *) user_data;
}

/* Moves the view by @pixels, as a fast wheel does between two frames, then waits for the
 * frame that shows it; returns that frame's time. */
static gint64
scroll_and_paint (GtkAdjustment *adjustment,
                  double         pixels)
{
  gint64 sent = g_get_monotonic_time ();

  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + pixels);
  /* Not scrolling (the baseline), nothing changed: ask for the frame. */
  if (pixels == 0)
    gtk_widget_queue_draw (bench.window);
  bastion_ui_test_wait_for (frame_after, &sent, "a frame while scrolling");
  return bench.last_paint - sent;
}

/* (c): psql, outside this process, through the tunnel's port */

typedef struct
{
  gboolean done;
  double   seconds;
  guint64  bytes;
} CopyRun;

static void
copy_done (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  CopyRun *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  guint64 start = 0;
  guint64 end = 0;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, NULL, &error))
    g_error ("psql: %s", error->message);
  if (!g_subprocess_get_successful (G_SUBPROCESS (object)) || out == NULL)
    g_error ("psql through the tunnel failed");
  /* "BYTES START END" (nanoseconds), from the shell around psql. */
  if (sscanf (out, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
              &run->bytes, &start, &end) != 3 || end <= start)
    g_error ("unexpected output around psql: %s", out);
  run->seconds = (end - start) / 1e9;
  run->done = TRUE;
}

static GSubprocess *
start_copy (const char *pgpass,
            guint16     port,
            CopyRun    *run)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;
  /* The time is taken outside too, so this process's main loop does not count. */
  const char *script =
    "start=$(date +%s%N); "
    "bytes=$(psql -X -q -h 127.0.0.1 -p \"$1\" -d \"$2\" -U \"$3\" -c \"$4\" | wc -c); "
    "echo \"$bytes $start $(date +%s%N)\"";

  g_subprocess_launcher_setenv (launcher, "PGPASSFILE", pgpass, TRUE);
  g_subprocess_launcher_setenv (launcher, "PGSSLMODE", "prefer", TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", script, "copy",
                                      port_text, g_getenv ("BASTION_TEST_PG_DB"),
                                      g_getenv ("BASTION_TEST_PG_USER"), COPY_SQL, NULL);
  if (proc == NULL)
    g_error ("%s", error->message);
  run->done = FALSE;
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, copy_done, run);
  return proc;
}

static gboolean
copy_finished (gpointer user_data)
{
  return ((CopyRun *) user_data)->done;
}

static char *
write_pgpass (guint16     port,
              const char *password)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = g_strdup_printf ("127.0.0.1:%u:*:*:%s\n", port, password);
  char *path = NULL;
  int fd = g_file_open_tmp ("bench-pgpass-XXXXXX", &path, &error);

  if (fd < 0)
    g_error ("%s", error->message);
  close (fd);
  g_chmod (path, 0600);
  if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error))
    g_error ("%s", error->message);
  return path;
}

/* Main */

static BastionQueryView *
connect_demo (const char *password)
{
  const char *cli = g_getenv ("BASTION_CLI");
  const char *team = g_getenv ("BASTION_TEST_TEAM");
  const char *import_args[] = { cli, "import", NULL };
  const char *trust_args[] = { cli, "hostkey", team, "--trust", NULL };
  const char *secret_args[] = { cli, "secret", "set", team, "db-password", NULL };
  BastionWindow *window;

  if (cli == NULL || team == NULL)
    g_error ("run under tests/harness/with-servers --xvfb --sshd --postgres --bulk --keyring "
             "--team demo");
  bastion_ui_test_run_cli (import_args, NULL);
  bastion_ui_test_run_cli (trust_args, NULL);
  bastion_ui_test_run_cli (secret_args, password);

  window = bastion_ui_test_activate ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  bench.window = GTK_WIDGET (window);
  g_signal_connect (gtk_widget_get_frame_clock (bench.window), "after-paint",
                    G_CALLBACK (on_after_paint), &bench);
  bastion_window_open_team (window, team, TRUE);
  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window,
                            "the query view of the connected team");
  return BASTION_QUERY_VIEW (bastion_ui_test_find_widget (GTK_WIDGET (window),
                                                          BASTION_TYPE_QUERY_VIEW, NULL, NULL));
}

static guint16
tunnel_port (void)
{
  BastionTeamPage *team_page =
    BASTION_TEAM_PAGE (bastion_ui_test_find_widget (bench.window, BASTION_TYPE_TEAM_PAGE,
                                                    NULL, NULL));
  BastionConnection *connection =
    bastion_connections_peek (bastion_connections_get_default (),
                              bastion_team_page_get_profile (team_page));

  g_assert_nonnull (connection);
  return bastion_connection_get_local_port (connection);
}

static void
bench_devices (BastionQueryView *view)
{
  gint64 started = g_get_monotonic_time ();

  bench.want_rows = 5;
  bench.painted = 0;
  bench.page = bastion_query_view_open_entity (view, "devices");
  bastion_ui_test_wait_for (rows_painted, NULL, "the devices painted");
  bench.page = NULL;
  g_print ("  Devices view, opened to rows painted: %8.1f ms\n",
           (bench.painted - started) / 1000.0);
}

static void
bench_5_rows (BastionQueryView *view)
{
  BastionQueryPage *page = bastion_query_view_add_page (view, NULL);
  GtkWidget *header = bastion_ui_test_find_widget (bench.window, ADW_TYPE_HEADER_BAR, NULL, NULL);
  GtkWidget *spinner = gtk_spinner_new ();
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

  adw_header_bar_pack_end (ADW_HEADER_BAR (header), spinner);
  gtk_spinner_start (GTK_SPINNER (spinner));
  bastion_ui_test_settle (bench.window);
  if (!gtk_widget_get_mapped (spinner))
    g_error ("the spinner is not on screen");

  for (guint i = 0; i < RUNS_5_ROWS; i++)
    {
      double ms = run_until_painted (page, "select * from device", 5) / 1000.0;

      g_array_append_val (times, ms);
      bastion_ui_test_wait_for (page_done, page, "the 5-row query to end");
    }
  gtk_spinner_stop (GTK_SPINNER (spinner));
  adw_header_bar_remove (ADW_HEADER_BAR (header), spinner);

  g_print ("  (a) Run to 5 rows painted, spinner on: %7.1f ms median, %.1f ms worst of %u "
           "(goal <= 300 ms)\n", percentile (times, 50), percentile (times, 100), RUNS_5_ROWS);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *password = NULL;
  g_autofree char *pgpass = NULL;
  g_autoptr(GArray) frames = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) idle_frames = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GSubprocess) copy = NULL;
  const char *renderer = argc > 1 ? argv[1] : "cairo";
  BastionQueryView *view;
  BastionQueryPage *page;
  GtkScrolledWindow *scroller;
  GtkAdjustment *adjustment;
  CopyRun idle_run = { 0 };
  CopyRun busy_run = { 0 };
  double rss_before;
  double rss_loaded;
  double step;
  gint64 started;
  gint64 loaded;
  guint n_scroll_frames = 0;

  /* The harness asks for cairo; "default" leaves the choice to GTK. */
  if (g_strcmp0 (renderer, "default") == 0)
    g_unsetenv ("GSK_RENDERER");
  else
    g_setenv ("GSK_RENDERER", renderer, TRUE);
  bastion_ui_test_init (&argc, &argv);

  if (!g_file_get_contents (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"), &password, NULL, NULL))
    g_error ("no database password file");
  g_strstrip (password);

  view = connect_demo (password);
  bastion_ui_test_wait_drawn (bench.window);
  g_print ("query view, renderer %s (%s), load average %s\n", renderer,
           G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (bench.window))),
           load_average ());

  bench_devices (view);
  bench_5_rows (view);

  /* (d) and (b): 100 000 rows. */
  page = bastion_query_view_add_page (view, NULL);
  bastion_ui_test_settle (bench.window);
  rss_before = rss_mib ();
  started = g_get_monotonic_time ();
  run_until_painted (page, SCROLL_SQL, 1);
  bastion_ui_test_wait_for (page_done, page, "the 100 000 rows");
  loaded = g_get_monotonic_time () - started;
  bastion_ui_test_settle (bench.window);
  rss_loaded = rss_mib ();
  g_print ("  100 000 rows x 8 columns loaded in:    %8.1f ms\n", loaded / 1000.0);
  g_print ("  (d) memory with 100 000 rows loaded:   %8.1f MiB (+%.1f MiB; the model's "
           "arenas %.1f MiB)\n", rss_loaded, rss_loaded - rss_before,
           bastion_result_model_get_memory_size (
             bastion_result_grid_get_model (bastion_query_page_get_grid (page)))
           / (1024.0 * 1024.0));

  scroller = grid_scroller (bastion_query_page_get_grid (page));
  adjustment = gtk_scrolled_window_get_vadjustment (scroller);
  /* The baseline: frames that redraw the window without scrolling. */
  for (guint i = 0; i < 50; i++)
    {
      double ms = scroll_and_paint (adjustment, 0) / 1000.0;

      g_array_append_val (idle_frames, ms);
    }
  g_print ("  (b) baseline, a window redraw without scrolling: frame p50 %.1f ms, p95 %.1f ms\n",
           percentile (idle_frames, 50), percentile (idle_frames, 95));

  step = (gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment))
         / SCROLL_EVENTS;
  started = g_get_monotonic_time ();
  while (gtk_adjustment_get_value (adjustment)
         < gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 1
         && n_scroll_frames < SCROLL_EVENTS * 2)
    {
      double ms = scroll_and_paint (adjustment, step) / 1000.0;

      g_array_append_val (frames, ms);
      n_scroll_frames++;
    }
  g_print ("  (b) top to bottom in %u frames of %.0f rows each: %.1f ms in all, frame "
           "p50 %.1f ms, p95 %.1f ms, worst %.1f ms (goal p95 <= 50 ms with cairo)\n",
           n_scroll_frames, SCROLL_ROWS / (double) SCROLL_EVENTS,
           (g_get_monotonic_time () - started) / 1000.0,
           percentile (frames, 50), percentile (frames, 95), percentile (frames, 100));

  /* (c): the same COPY through the tunnel, the window idle, then while the grid scrolls. */
  pgpass = write_pgpass (tunnel_port (), password);
  copy = start_copy (pgpass, tunnel_port (), &idle_run);
  bastion_ui_test_wait_for (copy_finished, &idle_run, "psql with the window idle");
  g_clear_object (&copy);

  copy = start_copy (pgpass, tunnel_port (), &busy_run);
  n_scroll_frames = 0;
  while (!busy_run.done)
    {
      /* Down to the end, then back up, as long as the COPY lasts. */
      double direction = (n_scroll_frames / SCROLL_EVENTS) % 2 == 0 ? 1 : -1;

      scroll_and_paint (adjustment, direction * step);
      n_scroll_frames++;
    }
  g_clear_object (&copy);
  g_unlink (pgpass);
  g_print ("  (c) psql COPY through the tunnel, %.1f MB: idle %.1f MB/s, grid scrolling "
           "%.1f MB/s (%u frames): %.2fx (goal >= 0.9x)\n", idle_run.bytes / 1e6,
           idle_run.bytes / 1e6 / idle_run.seconds, busy_run.bytes / 1e6 / busy_run.seconds,
           n_scroll_frames,
           (busy_run.bytes / busy_run.seconds) / (idle_run.bytes / idle_run.seconds));

  bastion_connections_disconnect_all (bastion_connections_get_default ());
  gtk_window_destroy (GTK_WINDOW (bench.window));
  return 0;
}
