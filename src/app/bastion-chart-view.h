/* bastion-chart-view.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-chart.h"
#include "bastion-result-model.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_CHART_EXPORT_PNG,
  BASTION_CHART_EXPORT_SVG,
} BastionChartExportFormat;

#define BASTION_TYPE_CHART_VIEW (bastion_chart_view_get_type ())

/* The Chart view beside the result grid: a BastionChart of the current result with a chooser
 * (kind, x column, y column, a column whose values split the lines into series) picked
 * automatically from the column types, and export to PNG or SVG. Follows the rows as they
 * arrive (redrawn at most a few times a second). */
G_DECLARE_FINAL_TYPE (BastionChartView, bastion_chart_view, BASTION, CHART_VIEW, GtkWidget)

BastionChartView *bastion_chart_view_new          (void);
void              bastion_chart_view_set_model    (BastionChartView          *self,
                                                   BastionResultModel        *model);
BastionChart     *bastion_chart_view_get_chart    (BastionChartView          *self);
const BastionChartSpec *bastion_chart_view_get_spec (BastionChartView        *self);
void              bastion_chart_view_set_spec     (BastionChartView          *self,
                                                   const BastionChartSpec    *spec);
/* Results that have these columns (@split may be NULL) are charted with them instead of the
 * automatic pick (a one-click view that knows its columns). */
void              bastion_chart_view_prefer_columns (BastionChartView        *self,
                                                     const char              *x,
                                                     const char              *y,
                                                     const char              *split);
/* Writes the chart (at its size on screen, or 1200×700 when not shown) in a thread. */
void              bastion_chart_view_export_async (BastionChartView          *self,
                                                   GFile                     *file,
                                                   BastionChartExportFormat   format,
                                                   GCancellable              *cancellable,
                                                   GAsyncReadyCallback        callback,
                                                   gpointer                   user_data);
gboolean          bastion_chart_view_export_finish (BastionChartView         *self,
                                                    GAsyncResult             *result,
                                                    GError                  **error);

G_END_DECLS
