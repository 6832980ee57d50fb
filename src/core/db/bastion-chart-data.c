/* bastion-chart-data.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bastion-chart-data.h"

G_DEFINE_BOXED_TYPE (BastionChartData, bastion_chart_data, bastion_chart_data_ref,
                     bastion_chart_data_unref)

static void
series_free (BastionChartSeries *series)
{
  g_free (series->name);
  g_free (series->y);
  g_free (series);
}

static BastionChartData *
data_new (BastionChartKind kind,
          guint            n_points)
{
  BastionChartData *data = g_new0 (BastionChartData, 1);

  g_atomic_ref_count_init (&data->ref_count);
  data->kind = kind;
  data->n_points = n_points;
  data->x = g_new0 (double, MAX (n_points, 1));
  data->series = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);
  return data;
}

BastionChartData *
bastion_chart_data_ref (BastionChartData *data)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_atomic_ref_count_inc (&data->ref_count);
  return data;
}

void
bastion_chart_data_unref (BastionChartData *data)
{
  g_return_if_fail (data != NULL);

  if (!g_atomic_ref_count_dec (&data->ref_count))
    return;
  g_free (data->x_label);
  g_free (data->y_label);
  g_free (data->x);
  g_strfreev (data->categories);
  g_ptr_array_unref (data->series);
  g_free (data);
}

/* Columns */

BastionChartColumnClass
bastion_chart_classify_type (guint32 type_oid)
{
  switch (type_oid)
    {
    case 20: case 21: case 23: case 26: case 700: case 701: case 1700:
      return BASTION_CHART_COLUMN_NUMBER;
    case 1082: case 1114: case 1184:
      return BASTION_CHART_COLUMN_TIME;
    case 18: case 19: case 25: case 1042: case 1043:
      return BASTION_CHART_COLUMN_TEXT;
    default:
      return BASTION_CHART_COLUMN_OTHER;
    }
}

static BastionChartColumnClass
column_class (BastionResultModel *model,
              guint               column)
{
  return bastion_chart_classify_type (bastion_result_model_get_column_type (model, column));
}

BastionChartSpec
bastion_chart_pick (BastionResultModel *model)
{
  BastionChartSpec spec = { BASTION_CHART_NONE, -1, { -1 }, 0, -1 };
  guint n = bastion_result_model_get_n_columns (model);
  int time = -1, text = -1, first_number = -1;

  for (guint i = 0; i < n; i++)
    {
      BastionChartColumnClass c = column_class (model, i);

      if (c == BASTION_CHART_COLUMN_TIME && time < 0)
        time = i;
      else if (c == BASTION_CHART_COLUMN_TEXT && text < 0)
        text = i;
      else if (c == BASTION_CHART_COLUMN_NUMBER && first_number < 0)
        first_number = i;
    }

  spec.x = time >= 0 ? time : text >= 0 ? text : first_number;
  spec.kind = time >= 0 ? BASTION_CHART_LINE
              : text >= 0 ? BASTION_CHART_BAR : BASTION_CHART_LINE;
  for (guint i = 0; i < n && spec.n_y < BASTION_CHART_MAX_SERIES; i++)
    if ((int) i != spec.x && column_class (model, i) == BASTION_CHART_COLUMN_NUMBER)
      {
        spec.y[spec.n_y++] = i;
        if (spec.kind == BASTION_CHART_BAR)
          break;
      }

  if (spec.x < 0 || spec.n_y == 0)
    spec.kind = BASTION_CHART_NONE;
  return spec;
}

/* Values */

static gint64
days_from_civil (gint64 y,
                 guint  m,
                 guint  d)
{
  gint64 era;
  guint yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (guint) (y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (gint64) doe - 719468;
}

gboolean
bastion_chart_parse_time (const char *text,
                          double     *seconds,
                          gboolean   *has_zone)
{
  int year, month, day, hour = 0, minute = 0, consumed = 0;
  double second = 0;
  const char *p;
  int zone = 0;

  *has_zone = FALSE;
  if (text == NULL || sscanf (text, "%d-%d-%d%n", &year, &month, &day, &consumed) != 3
      || month < 1 || month > 12 || day < 1 || day > 31)
    return FALSE;
  p = text + consumed;
  if (*p == ' ' || *p == 'T')
    {
      int more = 0;

      if (sscanf (p + 1, "%d:%d%n", &hour, &minute, &more) != 2)
        return FALSE;
      p += 1 + more;
      if (*p == ':')
        {
          char *end;

          second = g_ascii_strtod (p + 1, &end);
          p = end;
        }
    }
  if (*p == '+' || *p == '-')
    {
      int zh = 0, zm = 0, zs = 0;

      if (sscanf (p + 1, "%d:%d:%d", &zh, &zm, &zs) < 1)
        return FALSE;
      zone = (*p == '-' ? -1 : 1) * (zh * 3600 + zm * 60 + zs);
      *has_zone = TRUE;
      p += strspn (p + 1, "0123456789:") + 1;
    }
  if (*p != '\0')
    return FALSE;

  *seconds = (double) days_from_civil (year, month, day) * 86400.0
             + hour * 3600.0 + minute * 60.0 + second - zone;
  return TRUE;
}

static double
parse_number (const char *text)
{
  char *end;
  double value;

  if (text == NULL)
    return NAN;
  value = g_ascii_strtod (text, &end);
  return (end != text && *end == '\0' && isfinite (value)) ? value : NAN;
}

static gboolean
read_x (BastionChartData *data,
        const char       *text,
        double           *x)
{
  gboolean zone = FALSE;

  if (data->x_is_time)
    {
      if (!bastion_chart_parse_time (text, x, &zone))
        return FALSE;
      data->x_has_zone |= zone;
      return TRUE;
    }
  *x = parse_number (text);
  return !isnan (*x);
}

static void
update_ranges (BastionChartData *data)
{
  data->x_min = data->y_min = INFINITY;
  data->x_max = data->y_max = -INFINITY;
  for (guint i = 0; i < data->n_points; i++)
    {
      data->x_min = MIN (data->x_min, data->x[i]);
      data->x_max = MAX (data->x_max, data->x[i]);
    }
  for (guint s = 0; s < data->series->len; s++)
    {
      BastionChartSeries *series = g_ptr_array_index (data->series, s);

      for (guint i = 0; i < data->n_points; i++)
        if (!isnan (series->y[i]))
          {
            data->y_min = MIN (data->y_min, series->y[i]);
            data->y_max = MAX (data->y_max, series->y[i]);
          }
    }
  if (data->kind == BASTION_CHART_BAR)
    {
      data->y_min = MIN (data->y_min, 0);
      data->y_max = MAX (data->y_max, 0);
    }
}

static int
compare_by_x (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  const double *x = user_data;
  double xa = x[*(const guint *) a], xb = x[*(const guint *) b];

  return xa < xb ? -1 : xa > xb ? 1 : 0;
}

/* Lines are drawn left to right: order the points by x (rows come in any order). */
static void
sort_by_x (BastionChartData *data)
{
  g_autofree guint *order = g_new (guint, MAX (data->n_points, 1));
  g_autofree double *tmp = g_new (double, MAX (data->n_points, 1));
  gboolean sorted = TRUE;

  for (guint i = 1; i < data->n_points && sorted; i++)
    sorted = data->x[i - 1] <= data->x[i];
  if (sorted)
    return;

  for (guint i = 0; i < data->n_points; i++)
    order[i] = i;
  g_qsort_with_data (order, data->n_points, sizeof (guint), compare_by_x, data->x);

  for (guint i = 0; i < data->n_points; i++)
    tmp[i] = data->x[order[i]];
  memcpy (data->x, tmp, data->n_points * sizeof (double));
  for (guint s = 0; s < data->series->len; s++)
    {
      BastionChartSeries *series = g_ptr_array_index (data->series, s);

      for (guint i = 0; i < data->n_points; i++)
        tmp[i] = series->y[order[i]];
      memcpy (series->y, tmp, data->n_points * sizeof (double));
    }
}

static BastionChartSeries *
add_series (BastionChartData *data,
            const char       *name,
            guint             n)
{
  BastionChartSeries *series = g_new0 (BastionChartSeries, 1);

  series->name = g_strdup (name);
  series->y = g_new (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    series->y[i] = NAN;
  g_ptr_array_add (data->series, series);
  return series;
}

static BastionChartData *
new_line (BastionResultModel     *model,
          const BastionChartSpec *spec)
{
  guint n_rows = bastion_result_model_get_n_rows (model);
  BastionChartData *data = data_new (BASTION_CHART_LINE, n_rows);
  g_autoptr(GHashTable) split = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = 0;

  data->x_is_time = column_class (model, spec->x) == BASTION_CHART_COLUMN_TIME;
  data->x_label = g_strdup (bastion_result_model_get_column_name (model, spec->x));
  if (spec->split < 0)
    for (guint s = 0; s < spec->n_y; s++)
      add_series (data, bastion_result_model_get_column_name (model, spec->y[s]), n_rows);
  data->y_label = g_strdup (spec->n_y == 1 || spec->split >= 0
                            ? bastion_result_model_get_column_name (model, spec->y[0]) : NULL);

  for (guint r = 0; r < n_rows; r++)
    {
      if (!read_x (data, bastion_result_model_get_value (model, r, spec->x, NULL, NULL),
                   &data->x[n]))
        {
          data->n_skipped++;
          continue;
        }
      if (spec->split >= 0)
        {
          const char *key = bastion_result_model_get_value (model, r, spec->split, NULL, NULL);
          BastionChartSeries *series;

          key = key != NULL ? key : "NULL";
          series = g_hash_table_lookup (split, key);
          if (series == NULL && data->series->len < BASTION_CHART_MAX_SERIES)
            {
              series = add_series (data, key, n_rows);
              g_hash_table_insert (split, series->name, series);
            }
          if (series == NULL)
            {
              data->n_skipped++;
              continue;
            }
          series->y[n] = parse_number (bastion_result_model_get_value (model, r, spec->y[0],
                                                                       NULL, NULL));
        }
      else
        for (guint s = 0; s < spec->n_y; s++)
          ((BastionChartSeries *) g_ptr_array_index (data->series, s))->y[n] =
            parse_number (bastion_result_model_get_value (model, r, spec->y[s], NULL, NULL));
      n++;
    }
  data->n_points = n;
  sort_by_x (data);
  return data;
}

static BastionChartData *
new_bar (BastionResultModel     *model,
         const BastionChartSpec *spec)
{
  guint n_rows = bastion_result_model_get_n_rows (model);
  guint n = MIN (n_rows, BASTION_CHART_MAX_BARS);
  BastionChartData *data = data_new (BASTION_CHART_BAR, n);
  BastionChartSeries *series;

  data->x_label = g_strdup (bastion_result_model_get_column_name (model, spec->x));
  data->y_label = g_strdup (bastion_result_model_get_column_name (model, spec->y[0]));
  data->categories = g_new0 (char *, n + 1);
  series = add_series (data, data->y_label, n);
  for (guint r = 0; r < n; r++)
    {
      const char *label = bastion_result_model_get_value (model, r, spec->x, NULL, NULL);

      data->x[r] = r;
      data->categories[r] = g_strdup (label != NULL ? label : "NULL");
      series->y[r] = parse_number (bastion_result_model_get_value (model, r, spec->y[0],
                                                                   NULL, NULL));
    }
  data->n_skipped = n_rows - n;
  return data;
}

BastionChartData *
bastion_chart_data_new (BastionResultModel     *model,
                        const BastionChartSpec *spec)
{
  BastionChartData *data;
  guint n_columns;

  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (model), NULL);
  g_return_val_if_fail (spec != NULL, NULL);

  n_columns = bastion_result_model_get_n_columns (model);
  if (spec->kind == BASTION_CHART_NONE || spec->x < 0 || spec->x >= (int) n_columns
      || spec->n_y == 0 || spec->n_y > BASTION_CHART_MAX_SERIES
      || spec->split >= (int) n_columns)
    return NULL;
  for (guint s = 0; s < spec->n_y; s++)
    if (spec->y[s] < 0 || spec->y[s] >= (int) n_columns)
      return NULL;

  data = spec->kind == BASTION_CHART_BAR ? new_bar (model, spec) : new_line (model, spec);
  update_ranges (data);
  return data;
}

BastionChartData *
bastion_chart_data_new_synthetic (guint n,
                                  guint n_series)
{
  BastionChartData *data = data_new (BASTION_CHART_LINE, n);
  double t0 = 1685642400.0;  /* 2023-06-01 18:00 UTC */

  data->x_is_time = TRUE;
  data->x_label = g_strdup ("timestamp");
  for (guint i = 0; i < n; i++)
    data->x[i] = t0 + 86400.0 * i / MAX (n, 1);
  for (guint s = 0; s < n_series; s++)
    {
      g_autofree char *name = g_strdup_printf ("sensor %u", s + 1);
      BastionChartSeries *series = add_series (data, name, n);

      for (guint i = 0; i < n; i++)
        series->y[i] = 20 + 5 * s + 4 * sin (i * 6.283 / MAX (n, 1) * (s + 1))
                       + ((i * 7919u + s * 104729u) % 1000) / 500.0;
    }
  update_ranges (data);
  return data;
}

/* Axes */

static void
tick_clear (BastionChartTick *tick)
{
  g_free (tick->label);
}

static GArray *
new_ticks (void)
{
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (BastionChartTick));

  g_array_set_clear_func (ticks, (GDestroyNotify) tick_clear);
  return ticks;
}

static char *
format_number (double value,
               int    decimals)
{
  if (fabs (value) >= 1e7 || (fabs (value) < 1e-4 && value != 0))
    return g_strdup_printf ("%.3g", value);
  return g_strdup_printf ("%.*f", MAX (decimals, 0), value);
}

static char *
format_time (double      seconds,
             const char *format)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc ((gint64) floor (seconds));

  return time != NULL ? g_date_time_format (time, format) : g_strdup ("?");
}

char *
bastion_chart_format_value (double   value,
                            gboolean is_time)
{
  if (isnan (value))
    return g_strdup ("NULL");
  if (is_time)
    return format_time (value, "%Y-%m-%d %H:%M:%S");
  return g_strdup_printf ("%.6g", value);
}

static void
number_ticks (GArray *ticks,
              double  min,
              double  max,
              guint   max_ticks)
{
  double raw = (max - min) / MAX (max_ticks, 1);
  double magnitude = pow (10, floor (log10 (raw)));
  double norm = raw / magnitude;
  double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  int decimals = (int) -floor (log10 (step) + 1e-9);

  for (double v = ceil (min / step - 1e-9) * step; v <= max + step * 1e-9; v += step)
    {
      BastionChartTick tick = { fabs (v) < step * 1e-9 ? 0 : v, NULL };

      tick.label = format_number (tick.value, decimals);
      g_array_append_val (ticks, tick);
      if (ticks->len > 100)
        break;
    }
}

static void
calendar_ticks (GArray *ticks,
                double  min,
                double  max,
                guint   months,
                const char *format)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc ((gint64) floor (min));
  /* Months since year 0, rounded up to the step: quarters in Jan/Apr/…, 5 years in 2025/2030. */
  gint64 total = (gint64) g_date_time_get_year (start) * 12 + g_date_time_get_month (start) - 1;
  int year, month;

  if (g_date_time_get_day_of_month (start) > 1 || g_date_time_get_hour (start) > 0
      || g_date_time_get_minute (start) > 0 || g_date_time_get_second (start) > 0)
    total++;
  total = (total + months - 1) / months * months;
  year = total / 12;
  month = total % 12;
  for (guint i = 0; i < 100; i++)
    {
      double t = (double) days_from_civil (year, month + 1, 1) * 86400.0;
      BastionChartTick tick;

      if (t > max)
        break;
      if (t >= min)
        {
          tick.value = t;
          tick.label = format_time (t, format);
          g_array_append_val (ticks, tick);
        }
      month += months;
      year += month / 12;
      month %= 12;
    }
}

static void
time_ticks (GArray *ticks,
            double  min,
            double  max,
            guint   max_ticks)
{
  static const double steps[] = {
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
  };
  double span = max - min;
  double step = 0;
  double offset;
  const char *format;

  for (guint i = 0; i < G_N_ELEMENTS (steps) && step == 0; i++)
    if (span / steps[i] <= max_ticks)
      step = steps[i];

  if (step == 0)
    {
      /* Months, quarters, years. */
      guint months = span / (30.4 * 86400) <= max_ticks ? 1
                     : span / (91.3 * 86400) <= max_ticks ? 3
                     : span / (365.25 * 86400) <= max_ticks ? 12 : 60;

      calendar_ticks (ticks, min, max, months, months < 12 ? "%b %Y" : "%Y");
      return;
    }

  format = step < 60 ? "%H:%M:%S" : step < 86400 ? "%H:%M" : "%b %-d";
  /* Weeks start on Mondays (the epoch was a Thursday). */
  offset = step == 604800 ? 4 * 86400 : 0;
  for (double t = ceil ((min - offset) / step) * step + offset; t <= max && ticks->len < 100;
       t += step)
    {
      BastionChartTick tick = { t, NULL };

      /* Midnight in an hours scale: the day instead. */
      if (step < 86400 && step >= 60 && fmod (t, 86400) == 0)
        tick.label = format_time (t, "%b %-d");
      else
        tick.label = format_time (t, format);
      g_array_append_val (ticks, tick);
    }
}

GArray *
bastion_chart_ticks (double   min,
                     double   max,
                     guint    max_ticks,
                     gboolean is_time)
{
  GArray *ticks = new_ticks ();

  if (!isfinite (min) || !isfinite (max))
    return ticks;
  if (max <= min)
    {
      double pad = min != 0 ? fabs (min) * 0.1 : 1;

      min -= pad;
      max += pad;
    }
  max_ticks = MAX (max_ticks, 2);
  if (is_time)
    time_ticks (ticks, min, max, max_ticks);
  else
    number_ticks (ticks, min, max, max_ticks);
  return ticks;
}

void
bastion_chart_decimate (const double *x,
                        const double *y,
                        guint         n,
                        double        x0,
                        double        x1,
                        guint         width,
                        double       *lo,
                        double       *hi,
                        double       *first,
                        double       *last)
{
  double scale = x1 > x0 ? width / (x1 - x0) : 0;

  for (guint c = 0; c < width; c++)
    lo[c] = hi[c] = first[c] = last[c] = NAN;

  for (guint i = 0; i < n; i++)
    {
      double v = y[i];
      long c;

      if (isnan (v) || x[i] < x0 || x[i] > x1)
        continue;
      c = MIN ((long) ((x[i] - x0) * scale), (long) width - 1);
      if (isnan (first[c]))
        {
          first[c] = lo[c] = hi[c] = v;
        }
      else
        {
          lo[c] = MIN (lo[c], v);
          hi[c] = MAX (hi[c], v);
        }
      last[c] = v;
    }
}
