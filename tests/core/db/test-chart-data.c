/* test-chart-data.c
 *
 * The chart's numbers without a display (issue 20): PostgreSQL's timestamps parsed, round ticks
 * for numbers and times (the labels adapt to the span), per-pixel-column min/max decimation
 * that keeps every extreme, and the automatic choice of a chart from column types.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <math.h>
#include <string.h>

#include "bastion-chart-data.h"

static void
test_parse_time (void)
{
  const struct { const char *text; double seconds; gboolean zone; gboolean ok; } cases[] = {
    { "1970-01-01", 0, FALSE, TRUE },
    { "2023-06-01 18:05:00", 1685642700, FALSE, TRUE },
    { "2023-06-01 18:05:00.25", 1685642700.25, FALSE, TRUE },
    { "2023-06-01 20:05:00+02", 1685642700, TRUE, TRUE },
    { "2023-06-01 13:35:00-04:30", 1685642700, TRUE, TRUE },
    { "2024-02-29 00:00:00", 1709164800, FALSE, TRUE },
    { "1969-12-31 23:59:59", -1, FALSE, TRUE },
    { "infinity", 0, FALSE, FALSE },
    { "2023-13-01", 0, FALSE, FALSE },
    { "2023-06-01 18:05:00 BC", 0, FALSE, FALSE },
    { "", 0, FALSE, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double seconds = 0;
      gboolean zone = FALSE;
      gboolean ok = bastion_chart_parse_time (cases[i].text, &seconds, &zone);

      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_cmpfloat_with_epsilon (seconds, cases[i].seconds, 1e-6);
          g_assert_cmpint (zone, ==, cases[i].zone);
        }
    }
}

static GArray *
ticks (double min, double max, guint n, gboolean time)
{
  GArray *t = bastion_chart_ticks (min, max, n, time);

  for (guint i = 0; i < t->len; i++)
    {
      BastionChartTick *tick = &g_array_index (t, BastionChartTick, i);

      g_assert_cmpfloat (tick->value, >=, min - 1e-9);
      g_assert_cmpfloat (tick->value, <=, max + 1e-9);
      g_assert_nonnull (tick->label);
      if (i > 0)
        g_assert_cmpfloat (tick->value, >, g_array_index (t, BastionChartTick, i - 1).value);
    }
  return t;
}

static void
test_number_ticks (void)
{
  g_autoptr(GArray) a = ticks (0, 1016.4, 6, FALSE);
  g_autoptr(GArray) b = ticks (-0.3, 0.7, 5, FALSE);
  g_autoptr(GArray) c = bastion_chart_ticks (42, 42, 5, FALSE);  /* padded around 42 */

  g_assert_cmpuint (a->len, ==, 6);
  g_assert_cmpstr (g_array_index (a, BastionChartTick, 1).label, ==, "200");
  g_assert_cmpstr (g_array_index (a, BastionChartTick, 5).label, ==, "1000");
  g_assert_cmpstr (g_array_index (b, BastionChartTick, 0).label, ==, "-0.2");
  /* 0 is "0", not "-0.0" from rounding. */
  g_assert_cmpstr (g_array_index (b, BastionChartTick, 1).label, ==, "0.0");
  g_assert_cmpuint (c->len, >=, 2);
}

static void
test_time_ticks (void)
{
  double t0 = 1685642700;  /* 2023-06-01 18:05 UTC */
  g_autoptr(GArray) seconds = ticks (t0, t0 + 105, 8, TRUE);
  g_autoptr(GArray) hours = ticks (t0, t0 + 86400, 8, TRUE);
  g_autoptr(GArray) days = ticks (t0, t0 + 20 * 86400, 8, TRUE);
  g_autoptr(GArray) months = ticks (t0, t0 + 300 * 86400, 8, TRUE);
  g_autoptr(GArray) years = ticks (t0, t0 + 20 * 365.25 * 86400, 8, TRUE);

  g_assert_cmpstr (g_array_index (seconds, BastionChartTick, 0).label, ==, "18:05:00");
  g_assert_cmpstr (g_array_index (seconds, BastionChartTick, 1).label, ==, "18:05:15");
  g_assert_cmpstr (g_array_index (hours, BastionChartTick, 0).label, ==, "21:00");
  /* Midnight in an hours scale names the day. */
  g_assert_cmpstr (g_array_index (hours, BastionChartTick, 1).label, ==, "Jun 2");
  g_assert_cmpstr (g_array_index (days, BastionChartTick, 0).label, ==, "Jun 5");
  g_assert_true (g_str_has_suffix (g_array_index (months, BastionChartTick, 0).label, "2023"));
  g_assert_true (g_str_has_prefix (g_array_index (months, BastionChartTick, 0).label, "Jul"));
  g_assert_cmpstr (g_array_index (years, BastionChartTick, 0).label, ==, "2025");
  g_assert_cmpuint (years->len, <=, 8);
}

static void
test_decimate (void)
{
  const guint n = 100000;
  const guint width = 100;
  g_autofree double *x = g_new (double, n);
  g_autofree double *y = g_new (double, n);
  double lo[100], hi[100], first[100], last[100];

  for (guint i = 0; i < n; i++)
    {
      x[i] = i;
      y[i] = (i % 1000 == 500) ? 1000 + i : (double) (i % 7);
    }
  y[12345] = -5;
  y[99999] = NAN;

  bastion_chart_decimate (x, y, n, 0, n - 1, width, lo, hi, first, last);
  for (guint c = 0; c < width; c++)
    {
      /* Every column has points; each spike and the dip survive in their column. */
      g_assert_false (isnan (first[c]));
      g_assert_cmpfloat (hi[c], >=, 1000);
      g_assert_cmpfloat (lo[c], <=, first[c]);
      g_assert_cmpfloat (hi[c], >=, last[c]);
    }
  g_assert_cmpfloat (lo[12], ==, -5);
  g_assert_cmpfloat (first[0], ==, 0);
}

static BastionResultModel *
model_with (guint n, const char * const *names, const guint32 *types)
{
  BastionResultModel *model = bastion_result_model_new ();

  bastion_result_model_set_columns (model, n, names, types);
  return model;
}

static void
test_pick (void)
{
  const char *line_names[] = { "device", "timestamp", "value", "battery", NULL };
  const guint32 line_types[] = { 25, 1114, 701, 23 };
  const char *bar_names[] = { "name", "battery_level", NULL };
  const guint32 bar_types[] = { 25, 701 };
  const char *none_names[] = { "name", "status", NULL };
  const guint32 none_types[] = { 25, 25 };
  g_autoptr(BastionResultModel) line = model_with (4, line_names, line_types);
  g_autoptr(BastionResultModel) bar = model_with (2, bar_names, bar_types);
  g_autoptr(BastionResultModel) none = model_with (2, none_names, none_types);
  BastionChartSpec spec;

  spec = bastion_chart_pick (line);
  g_assert_cmpint (spec.kind, ==, BASTION_CHART_LINE);
  g_assert_cmpint (spec.x, ==, 1);
  g_assert_cmpuint (spec.n_y, ==, 2);
  g_assert_cmpint (spec.y[0], ==, 2);
  g_assert_cmpint (spec.y[1], ==, 3);

  spec = bastion_chart_pick (bar);
  g_assert_cmpint (spec.kind, ==, BASTION_CHART_BAR);
  g_assert_cmpint (spec.x, ==, 0);
  g_assert_cmpint (spec.y[0], ==, 1);

  spec = bastion_chart_pick (none);
  g_assert_cmpint (spec.kind, ==, BASTION_CHART_NONE);
  g_assert_null (bastion_chart_data_new (none, &spec));
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("LC_ALL", "C", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bastion/chart-data/parse-time", test_parse_time);
  g_test_add_func ("/bastion/chart-data/number-ticks", test_number_ticks);
  g_test_add_func ("/bastion/chart-data/time-ticks", test_time_ticks);
  g_test_add_func ("/bastion/chart-data/decimate", test_decimate);
  g_test_add_func ("/bastion/chart-data/pick", test_pick);
  return g_test_run ();
}
