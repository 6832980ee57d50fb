/* bastion-chart.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-chart-data.h"

G_BEGIN_DECLS

#define BASTION_TYPE_CHART (bastion_chart_get_type ())

/* A line or bar chart of a BastionChartData, drawn with GTK's snapshot (cairo nodes): axes with
 * round ticks (times adapt from seconds to years), a legend, a readout of the point under the
 * pointer. Lines are decimated per pixel column (min/max), so 100,000 points draw as fast as a
 * few thousand. Exports to PNG (through a GdkTexture) and SVG (written here). */
G_DECLARE_FINAL_TYPE (BastionChart, bastion_chart, BASTION, CHART, GtkWidget)

BastionChart     *bastion_chart_new             (void);
BastionChartData *bastion_chart_get_data        (BastionChart  *self);
void              bastion_chart_set_data        (BastionChart  *self,
                                                 BastionChartData *data);
/* What the readout shows for the pointer at (@x, @y) in widget coordinates (NULL outside the
 * plot); also sets the readout, as pointer motion does. */
char             *bastion_chart_hover           (BastionChart  *self,
                                                 double         x,
                                                 double         y);
/* The tick labels of both axes at this size, x first (tests, accessibility). */
GPtrArray        *bastion_chart_dup_axis_labels (BastionChart  *self,
                                                 int            width,
                                                 int            height);
GdkTexture       *bastion_chart_render_texture  (BastionChart  *self,
                                                 int            width,
                                                 int            height,
                                                 GError       **error);
char             *bastion_chart_to_svg          (BastionChart  *self,
                                                 int            width,
                                                 int            height);
/* Benchmarks only: FALSE draws every point instead of per-column min/max. */
void              bastion_chart_set_decimate    (BastionChart  *self,
                                                 gboolean       decimate);

G_END_DECLS
