/* bastion-chart-data.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "bastion-result-model.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_CHART_NONE = 0,   /* nothing in the result can be drawn */
  BASTION_CHART_LINE,       /* numeric columns over a timestamp or numeric x */
  BASTION_CHART_BAR,        /* a numeric column by a text column */
} BastionChartKind;

typedef enum
{
  BASTION_CHART_COLUMN_OTHER = 0,
  BASTION_CHART_COLUMN_NUMBER,
  BASTION_CHART_COLUMN_TIME,
  BASTION_CHART_COLUMN_TEXT,
} BastionChartColumnClass;

/* Series drawn at most (a split column with more distinct values keeps the first ones). */
#define BASTION_CHART_MAX_SERIES 20
/* Bars drawn at most. */
#define BASTION_CHART_MAX_BARS   200

/* Which columns a chart uses; -1 for none. */
typedef struct
{
  BastionChartKind kind;
  int              x;          /* LINE: time or number; BAR: the category (text) */
  int              y[BASTION_CHART_MAX_SERIES];
  guint            n_y;
  int              split;      /* LINE: a text column whose values make one series each */
} BastionChartSpec;

typedef struct
{
  char   *name;
  double *y;                   /* n_points values, NAN where NULL or not a number */
} BastionChartSeries;

/* The numbers of one chart, read once from a result (immutable, shared by reference). */
typedef struct
{
  gatomicrefcount     ref_count;
  BastionChartKind    kind;
  gboolean            x_is_time;   /* x in seconds since the epoch */
  gboolean            x_has_zone;  /* the timestamps carried an offset: shown in UTC */
  char               *x_label;
  char               *y_label;
  guint               n_points;
  double             *x;           /* LINE: ascending; BAR: 0 … n-1 */
  char              **categories;  /* BAR: n_points labels */
  GPtrArray          *series;      /* BastionChartSeries */
  double              x_min, x_max, y_min, y_max;
  guint               n_skipped;   /* rows without a usable x */
} BastionChartData;

#define BASTION_TYPE_CHART_DATA (bastion_chart_data_get_type ())

GType                   bastion_chart_data_get_type        (void) G_GNUC_CONST;
BastionChartData       *bastion_chart_data_ref             (BastionChartData       *data);
void                    bastion_chart_data_unref           (BastionChartData       *data);

BastionChartColumnClass bastion_chart_classify_type        (guint32                 type_oid);
/* The chart the result suggests: a time column → lines of every numeric column over it;
 * else a text and a numeric column → bars; else two numeric columns → lines. */
BastionChartSpec        bastion_chart_pick                 (BastionResultModel     *model);
BastionChartData       *bastion_chart_data_new             (BastionResultModel     *model,
                                                            const BastionChartSpec *spec);
/* Test data: @n points of @n_series sines over a day of seconds. */
BastionChartData       *bastion_chart_data_new_synthetic   (guint                   n,
                                                            guint                   n_series);

/* PostgreSQL's text output of date / timestamp / timestamptz → seconds since the epoch (UTC);
 * @has_zone tells whether an offset was given. */
gboolean                bastion_chart_parse_time           (const char             *text,
                                                            double                 *seconds,
                                                            gboolean               *has_zone);

typedef struct
{
  double value;
  char  *label;
} BastionChartTick;

/* At most about @max_ticks round values covering [@min, @max]; for times, steps from seconds to
 * years with labels that fit the step. Returns a GArray of BastionChartTick (labels owned). */
GArray                 *bastion_chart_ticks                (double                  min,
                                                            double                  max,
                                                            guint                   max_ticks,
                                                            gboolean                is_time);
char                   *bastion_chart_format_value         (double                  value,
                                                            gboolean                is_time);

/* Per pixel column min/max of one series over [@x0, @x1] (@x ascending): fills @lo, @hi,
 * @first, @last (NAN where the column has no point) for @width columns. O(n). */
void                    bastion_chart_decimate             (const double           *x,
                                                            const double           *y,
                                                            guint                   n,
                                                            double                  x0,
                                                            double                  x1,
                                                            guint                   width,
                                                            double                 *lo,
                                                            double                 *hi,
                                                            double                 *first,
                                                            double                 *last);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionChartData, bastion_chart_data_unref)

G_END_DECLS
