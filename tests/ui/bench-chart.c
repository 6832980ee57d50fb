/* bench-chart.c
 *
 * The chart's drawing speed (issue 20), under tests/harness/with-servers --xvfb: the time to
 * draw 100,000 points (one and three series, 1200×700, to a texture through GTK's cairo
 * renderer), with per-pixel-column min/max decimation and, as the baseline in the same run,
 * with every point drawn. Also the time to read 100,000 rows into chart data. Figures and
 * ratios only: it never fails on time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>

#include "bastion-chart.h"
#include "bastion-ui-test.h"

#define WIDTH  1200
#define HEIGHT 700

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The median of @runs draws, in milliseconds. */
static double
time_draws (BastionChart *chart,
            guint         runs)
{
  g_autofree gint64 *times = g_new (gint64, runs);

  for (guint i = 0; i < runs; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(GdkTexture) texture = bastion_chart_render_texture (chart, WIDTH, HEIGHT, NULL);

      times[i] = g_get_monotonic_time () - start;
      g_assert_nonnull (texture);
    }
  qsort (times, runs, sizeof (gint64), compare_gint64);
  return times[runs / 2] / 1000.0;
}

int
main (int    argc,
      char **argv)
{
  static const guint series[] = { 1, 3 };

  bastion_ui_test_init (&argc, &argv);

  {
    g_autoptr(BastionChartData) tiny = bastion_chart_data_new_synthetic (2, 1);
    BastionChart *chart = g_object_ref_sink (bastion_chart_new ());

    bastion_chart_set_data (chart, tiny);
    g_print ("2 points: %.1f ms\n", time_draws (chart, 9));
    g_object_unref (chart);
  }
  g_print ("Chart drawing, %d×%d, median of the runs (GSK cairo renderer)\n", WIDTH, HEIGHT);
  g_print ("%-10s %-7s %14s %14s %8s\n", "points", "series", "decimated ms", "every point ms",
           "ratio");
  for (guint p = 0; p < 2; p++)
    for (guint s = 0; s < G_N_ELEMENTS (series); s++)
      {
        guint n = p == 0 ? 10000 : 100000;
        g_autoptr(BastionChartData) data = bastion_chart_data_new_synthetic (n, series[s]);
        BastionChart *chart = g_object_ref_sink (bastion_chart_new ());
        double decimated, all;

        bastion_chart_set_data (chart, data);
        decimated = time_draws (chart, 9);
        bastion_chart_set_decimate (chart, FALSE);
        all = time_draws (chart, 3);
        g_print ("%-10u %-7u %14.1f %14.1f %7.1fx\n", n, series[s], decimated, all,
                 all / decimated);
        g_object_unref (chart);
      }
  return 0;
}
