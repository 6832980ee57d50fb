/* bastion-chart.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "bastion-chart.h"

#define CHAR_WIDTH   7.0    /* estimate for margins, the same on screen and in SVG */
#define FONT_SIZE    11.0
#define LEGEND_ROW   20.0

/* Adwaita's palette: blue, green, orange, purple, red, brown, yellow, teal, … */
static const char * const palette[] = {
  "#3584e4", "#2ec27e", "#ff7800", "#9141ac", "#e01b24", "#986a44", "#e5a50a", "#2190a4",
  "#c061cb", "#63452c", "#1a5fb4", "#26a269",
};

typedef struct
{
  double  px, py, pw, ph;      /* the plot area */
  double  x0, x1, y0, y1;      /* data at its edges */
  guint   legend_rows;
  GArray *x_ticks;
  GArray *y_ticks;
} Geometry;

struct _BastionChart
{
  GtkWidget         parent_instance;

  /* Owned */
  BastionChartData *data;
  char             *readout;

  double            hover_x;    /* widget coordinates, NAN when the pointer is away */
  guint             no_decimation : 1;
};

G_DEFINE_FINAL_TYPE (BastionChart, bastion_chart, GTK_TYPE_WIDGET)

static void
geometry_clear (Geometry *g)
{
  g_clear_pointer (&g->x_ticks, g_array_unref);
  g_clear_pointer (&g->y_ticks, g_array_unref);
}

static char *
x_title (BastionChartData *data)
{
  if (data->x_is_time && data->x_has_zone)
    /* TRANSLATORS: an axis title: "timestamp (UTC)" */
    return g_strdup_printf (_("%s (UTC)"), data->x_label);
  return g_strdup (data->x_label);
}

/* Where series @index's legend entry goes (rows wrap at the width); returns the rows used by
 * every entry when @index is the number of series. */
static guint
legend_place (BastionChartData *data,
              int               width,
              guint             index,
              double           *x_out,
              double           *y_out)
{
  double x = 8;
  guint row = 0;

  if (data->kind != BASTION_CHART_LINE)
    return 0;
  for (guint s = 0; s <= index && s < data->series->len; s++)
    {
      BastionChartSeries *series = g_ptr_array_index (data->series, s);
      double entry = 14 + g_utf8_strlen (series->name, -1) * CHAR_WIDTH + 16;

      if (x > 8 && x + entry > width)
        {
          x = 8;
          row++;
        }
      if (s == index)
        break;
      x += entry;
    }
  if (x_out != NULL)
    *x_out = x;
  if (y_out != NULL)
    *y_out = 12 + row * LEGEND_ROW + LEGEND_ROW / 2;
  return data->series->len > 0 ? row + 1 : 0;
}

static void
compute_geometry (BastionChartData *data,
                  int               width,
                  int               height,
                  Geometry         *g)
{
  guint longest = 4;
  double pad;

  g->y0 = data->y_min;
  g->y1 = data->y_max;
  pad = (g->y1 - g->y0) * 0.05;
  if (pad == 0)
    pad = g->y0 != 0 ? fabs (g->y0) * 0.1 : 1;
  if (data->kind != BASTION_CHART_BAR || g->y0 < 0)
    g->y0 -= pad;
  g->y1 += pad;

  g->y_ticks = bastion_chart_ticks (g->y0, g->y1, MAX (height / 50, 2), FALSE);
  for (guint i = 0; i < g->y_ticks->len; i++)
    longest = MAX (longest, strlen (g_array_index (g->y_ticks, BastionChartTick, i).label));

  g->px = 16 + longest * CHAR_WIDTH;
  g->legend_rows = legend_place (data, width, data->series->len, NULL, NULL);
  g->py = 12 + LEGEND_ROW * g->legend_rows + LEGEND_ROW;
  g->pw = MAX (width - g->px - 20, 10);
  g->ph = MAX (height - g->py - 48, 10);

  if (data->kind == BASTION_CHART_BAR)
    {
      g->x0 = -0.5;
      g->x1 = data->n_points - 0.5;
      g->x_ticks = g_array_new (FALSE, FALSE, sizeof (BastionChartTick));
    }
  else
    {
      g->x0 = data->x_min;
      g->x1 = data->x_max;
      if (g->x1 <= g->x0)
        {
          g->x0 -= data->x_is_time ? 3600 : 1;
          g->x1 += data->x_is_time ? 3600 : 1;
        }
      g->x_ticks = bastion_chart_ticks (g->x0, g->x1, MAX (g->pw / 110, 2), data->x_is_time);
    }
}

static double
map_x (const Geometry *g,
       double          x)
{
  return g->px + (x - g->x0) / (g->x1 - g->x0) * g->pw;
}

static double
map_y (const Geometry *g,
       double          y)
{
  return g->py + g->ph - (y - g->y0) / (g->y1 - g->y0) * g->ph;
}

/* Cairo drawing (screen and PNG) */

static void
set_colour (cairo_t    *cr,
            const char *spec,
            double      alpha)
{
  GdkRGBA rgba;

  gdk_rgba_parse (&rgba, spec);
  cairo_set_source_rgba (cr, rgba.red, rgba.green, rgba.blue, alpha);
}

static void
draw_text (BastionChart  *self,
           cairo_t       *cr,
           const char    *text,
           double         x,
           double         y,
           double         xalign)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoFontDescription *font = pango_font_description_from_string ("Sans");
  int w, h;

  pango_font_description_set_absolute_size (font, FONT_SIZE * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, x - w * xalign, y - h / 2.0);
  pango_cairo_show_layout (cr, layout);
  pango_font_description_free (font);
  g_object_unref (layout);
}

static void
draw_axes (BastionChart   *self,
           cairo_t        *cr,
           const Geometry *g,
           const GdkRGBA  *fg)
{
  g_autofree char *title = x_title (self->data);

  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < g->y_ticks->len; i++)
    {
      BastionChartTick *tick = &g_array_index (g->y_ticks, BastionChartTick, i);
      double y = round (map_y (g, tick->value)) + 0.5;

      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.12);
      cairo_move_to (cr, g->px, y);
      cairo_line_to (cr, g->px + g->pw, y);
      cairo_stroke (cr);
      gdk_cairo_set_source_rgba (cr, fg);
      draw_text (self, cr, tick->label, g->px - 6, y, 1.0);
    }
  for (guint i = 0; i < g->x_ticks->len; i++)
    {
      BastionChartTick *tick = &g_array_index (g->x_ticks, BastionChartTick, i);
      double x = round (map_x (g, tick->value)) + 0.5;

      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.5);
      cairo_move_to (cr, x, g->py + g->ph);
      cairo_line_to (cr, x, g->py + g->ph + 4);
      cairo_stroke (cr);
      gdk_cairo_set_source_rgba (cr, fg);
      draw_text (self, cr, tick->label, x, g->py + g->ph + 14, 0.5);
    }

  cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.6);
  cairo_move_to (cr, g->px + 0.5, g->py);
  cairo_line_to (cr, g->px + 0.5, g->py + g->ph + 0.5);
  cairo_line_to (cr, g->px + g->pw, g->py + g->ph + 0.5);
  cairo_stroke (cr);

  gdk_cairo_set_source_rgba (cr, fg);
  draw_text (self, cr, title, g->px + g->pw / 2, g->py + g->ph + 34, 0.5);
  if (self->data->y_label != NULL)
    draw_text (self, cr, self->data->y_label, 8, 12 + LEGEND_ROW / 2 + g->legend_rows * LEGEND_ROW,
               0);
}

static void
draw_legend (BastionChart  *self,
             cairo_t       *cr,
             int            width,
             const GdkRGBA *fg)
{
  if (self->data->kind != BASTION_CHART_LINE)
    return;
  for (guint s = 0; s < self->data->series->len; s++)
    {
      BastionChartSeries *series = g_ptr_array_index (self->data->series, s);
      double x, y;

      legend_place (self->data, width, s, &x, &y);
      set_colour (cr, palette[s % G_N_ELEMENTS (palette)], 1);
      cairo_rectangle (cr, x, y - 5, 10, 10);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, fg);
      draw_text (self, cr, series->name, x + 14, y, 0);
    }
}

static void
draw_series_all_points (cairo_t                  *cr,
                        const Geometry           *g,
                        const BastionChartData   *data,
                        const BastionChartSeries *series)
{
  gboolean started = FALSE;

  for (guint i = 0; i < data->n_points; i++)
    if (!isnan (series->y[i]))
      {
        if (started)
          cairo_line_to (cr, map_x (g, data->x[i]), map_y (g, series->y[i]));
        else
          cairo_move_to (cr, map_x (g, data->x[i]), map_y (g, series->y[i]));
        started = TRUE;
      }
}

static void
draw_series (BastionChart             *self,
             cairo_t                  *cr,
             const Geometry           *g,
             const BastionChartSeries *series)
{
  BastionChartData *data = self->data;
  guint columns = (guint) ceil (g->pw);
  g_autofree double *lo = g_new (double, columns * 4);
  double *hi = lo + columns, *first = hi + columns, *last = first + columns;
  gboolean started = FALSE;
  guint drawn = 0;

  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

  if (self->no_decimation)
    {
      draw_series_all_points (cr, g, data, series);
      cairo_stroke (cr);
      return;
    }

  bastion_chart_decimate (data->x, series->y, data->n_points, g->x0, g->x1, columns,
                          lo, hi, first, last);

  /* Each column's spread as a filled pixel-wide box, and the line between neighbouring
   * columns' last and first values: a zig-zag stroked as one path costs cairo's stroker
   * far more (every segment overlaps the next). */
  for (guint c = 0; c < columns; c++)
    if (!isnan (first[c]) && hi[c] > lo[c])
      {
        double top = map_y (g, hi[c]);

        cairo_rectangle (cr, floor (g->px) + c, floor (top), 1, ceil (map_y (g, lo[c]) - top) + 1);
      }
  cairo_fill (cr);
  for (guint c = 0, prev = 0; c < columns; c++)
    {
      double x = g->px + c + 0.5;

      if (isnan (first[c]))
        continue;
      /* One segment per pair of columns: separate subpaths never overlap each other much. */
      if (started)
        {
          cairo_move_to (cr, g->px + prev + 0.5, map_y (g, last[prev]));
          cairo_line_to (cr, x, map_y (g, first[c]));
        }
      started = TRUE;
      prev = c;
      drawn++;
    }
  cairo_stroke (cr);

  /* Few points: each one visible as a dot. */
  if (drawn * 8 < columns)
    for (guint c = 0; c < columns; c++)
      if (!isnan (first[c]))
        {
          cairo_arc (cr, g->px + c + 0.5, map_y (g, first[c]), 3, 0, 2 * G_PI);
          cairo_fill (cr);
        }
}

static void
draw_bars (BastionChart   *self,
           cairo_t        *cr,
           const Geometry *g,
           const GdkRGBA  *fg)
{
  BastionChartData *data = self->data;
  BastionChartSeries *series = g_ptr_array_index (data->series, 0);
  double slot = g->pw / MAX (data->n_points, 1);
  guint every = (guint) ceil (12 * CHAR_WIDTH / slot);

  for (guint i = 0; i < data->n_points; i++)
    {
      double x = map_x (g, i) - slot * 0.35;
      double y = map_y (g, isnan (series->y[i]) ? 0 : series->y[i]);
      double base = map_y (g, 0);

      set_colour (cr, palette[0], 1);
      cairo_rectangle (cr, x, MIN (y, base), slot * 0.7, fabs (base - y));
      cairo_fill (cr);
      if (i % MAX (every, 1) == 0)
        {
          g_autofree char *label = g_utf8_strlen (data->categories[i], -1) > 12
                                   ? g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (
                                                        data->categories[i], 11)
                                                      - data->categories[i]),
                                                      data->categories[i])
                                   : g_strdup (data->categories[i]);

          gdk_cairo_set_source_rgba (cr, fg);
          draw_text (self, cr, label, map_x (g, i), g->py + g->ph + 14, 0.5);
        }
    }
}

static void
draw_readout (BastionChart   *self,
              cairo_t        *cr,
              const Geometry *g,
              const GdkRGBA  *fg)
{
  PangoLayout *layout;
  int w, h;

  if (self->readout == NULL || isnan (self->hover_x))
    return;

  cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.4);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, round (self->hover_x) + 0.5, g->py);
  cairo_line_to (cr, round (self->hover_x) + 0.5, g->py + g->ph);
  cairo_stroke (cr);

  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->readout);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_rectangle (cr, g->px + 8, g->py + 4, w + 12, h + 8);
  cairo_set_source_rgba (cr, 0.1, 0.1, 0.1, 0.8);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_move_to (cr, g->px + 14, g->py + 8);
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static void
draw_chart (BastionChart  *self,
            cairo_t       *cr,
            int            width,
            int            height,
            const GdkRGBA *fg)
{
  Geometry g = { 0, };

  if (self->data == NULL || self->data->n_points == 0)
    return;

  compute_geometry (self->data, width, height, &g);
  draw_axes (self, cr, &g, fg);
  draw_legend (self, cr, width, fg);

  cairo_save (cr);
  cairo_rectangle (cr, g.px, g.py - 2, g.pw + 2, g.ph + 4);
  cairo_clip (cr);
  if (self->data->kind == BASTION_CHART_BAR)
    draw_bars (self, cr, &g, fg);
  else
    for (guint s = 0; s < self->data->series->len; s++)
      {
        set_colour (cr, palette[s % G_N_ELEMENTS (palette)], 1);
        draw_series (self, cr, &g, g_ptr_array_index (self->data->series, s));
      }
  cairo_restore (cr);

  draw_readout (self, cr, &g, fg);
  geometry_clear (&g);
}

static void
foreground (BastionChart *self,
            GdkRGBA      *fg)
{
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), fg);
}

static void
bastion_chart_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  BastionChart *self = BASTION_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GdkRGBA fg;
  cairo_t *cr;

  if (self->data == NULL || width <= 0 || height <= 0)
    return;
  foreground (self, &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw_chart (self, cr, width, height, &fg);
  cairo_destroy (cr);
}

/* Hover */

static guint
nearest_index (const double *x,
               guint         n,
               double        value)
{
  guint lo = 0, hi = n;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (x[mid] < value)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo > 0 && (lo == n || fabs (x[lo - 1] - value) <= fabs (x[lo] - value)))
    lo--;
  return lo;
}

static char *
readout_at (BastionChart *self,
            double        px,
            double        py)
{
  BastionChartData *data = self->data;
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *x_text = NULL;
  Geometry g = { 0, };
  guint i;

  if (data == NULL || data->n_points == 0)
    return NULL;
  compute_geometry (data, MAX (width, 100), MAX (height, 100), &g);
  if (px < g.px || px > g.px + g.pw || py < g.py || py > g.py + g.ph)
    {
      geometry_clear (&g);
      return NULL;
    }

  i = nearest_index (data->x, data->n_points, g.x0 + (px - g.px) / g.pw * (g.x1 - g.x0));
  geometry_clear (&g);

  x_text = data->kind == BASTION_CHART_BAR ? g_strdup (data->categories[i])
                                           : bastion_chart_format_value (data->x[i],
                                                                         data->x_is_time);
  g_string_append_printf (text, "%s: %s", data->x_label, x_text);
  for (guint s = 0; s < data->series->len; s++)
    {
      BastionChartSeries *series = g_ptr_array_index (data->series, s);
      g_autofree char *y = NULL;
      guint j = i;

      /* Rows split into series fill one series each: the nearest reading of each. */
      for (guint d = 1; isnan (series->y[j]) && d <= 256; d++)
        {
          if (i >= d && !isnan (series->y[i - d]))
            j = i - d;
          else if (i + d < data->n_points && !isnan (series->y[i + d]))
            j = i + d;
        }
      if (isnan (series->y[j]) && data->series->len > 3)
        continue;
      y = bastion_chart_format_value (series->y[j], FALSE);
      g_string_append_printf (text, "\n%s: %s", series->name, y);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char *
bastion_chart_hover (BastionChart *self,
                     double        x,
                     double        y)
{
  g_return_val_if_fail (BASTION_IS_CHART (self), NULL);

  g_free (self->readout);
  self->readout = readout_at (self, x, y);
  self->hover_x = self->readout != NULL ? x : NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return g_strdup (self->readout);
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           BastionChart             *self)
{
  g_free (bastion_chart_hover (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *motion,
          BastionChart             *self)
{
  g_clear_pointer (&self->readout, g_free);
  self->hover_x = NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* GObject */

static void
bastion_chart_finalize (GObject *object)
{
  BastionChart *self = BASTION_CHART (object);

  g_clear_pointer (&self->data, bastion_chart_data_unref);
  g_free (self->readout);

  G_OBJECT_CLASS (bastion_chart_parent_class)->finalize (object);
}

static void
bastion_chart_class_init (BastionChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bastion_chart_finalize;
  widget_class->snapshot = bastion_chart_snapshot;
  gtk_widget_class_set_css_name (widget_class, "bastion-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
bastion_chart_init (BastionChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->hover_x = NAN;
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 160);
}

BastionChart *
bastion_chart_new (void)
{
  return g_object_new (BASTION_TYPE_CHART, NULL);
}

BastionChartData *
bastion_chart_get_data (BastionChart *self)
{
  g_return_val_if_fail (BASTION_IS_CHART (self), NULL);
  return self->data;
}

void
bastion_chart_set_data (BastionChart     *self,
                        BastionChartData *data)
{
  g_return_if_fail (BASTION_IS_CHART (self));

  if (data != NULL)
    bastion_chart_data_ref (data);
  g_clear_pointer (&self->data, bastion_chart_data_unref);
  self->data = data;
  g_clear_pointer (&self->readout, g_free);
  self->hover_x = NAN;

  if (data != NULL)
    {
      g_autofree char *description =
        g_strdup_printf (data->kind == BASTION_CHART_BAR ? _("Bar chart of %s by %s")
                                                         : _("Line chart of %s over %s"),
                         data->y_label != NULL ? data->y_label : _("several columns"),
                         data->x_label);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      description, -1);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bastion_chart_set_decimate (BastionChart *self,
                            gboolean      decimate)
{
  g_return_if_fail (BASTION_IS_CHART (self));
  self->no_decimation = !decimate;
}

GPtrArray *
bastion_chart_dup_axis_labels (BastionChart *self,
                               int           width,
                               int           height)
{
  GPtrArray *labels = g_ptr_array_new_with_free_func (g_free);
  Geometry g = { 0, };

  g_return_val_if_fail (BASTION_IS_CHART (self), labels);

  if (self->data == NULL || self->data->n_points == 0)
    return labels;
  compute_geometry (self->data, width, height, &g);
  if (self->data->kind == BASTION_CHART_BAR)
    for (guint i = 0; i < self->data->n_points; i++)
      g_ptr_array_add (labels, g_strdup (self->data->categories[i]));
  for (guint i = 0; i < g.x_ticks->len; i++)
    g_ptr_array_add (labels, g_strdup (g_array_index (g.x_ticks, BastionChartTick, i).label));
  for (guint i = 0; i < g.y_ticks->len; i++)
    g_ptr_array_add (labels, g_strdup (g_array_index (g.y_ticks, BastionChartTick, i).label));
  geometry_clear (&g);
  return labels;
}

GdkTexture *
bastion_chart_render_texture (BastionChart  *self,
                              int            width,
                              int            height,
                              GError       **error)
{
  g_autoptr(GskRenderer) renderer = gsk_cairo_renderer_new ();
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  GdkTexture *texture;
  GdkRGBA fg;
  cairo_t *cr;

  g_return_val_if_fail (BASTION_IS_CHART (self), NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  if (!gsk_renderer_realize (renderer, NULL, error))
    return NULL;

  foreground (self, &fg);
  snapshot = gtk_snapshot_new ();
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  /* A picture on its own needs its own background. */
  if (fg.red + fg.green + fg.blue > 1.5)
    cairo_set_source_rgb (cr, 0.14, 0.14, 0.14);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw_chart (self, cr, width, height, &fg);
  cairo_destroy (cr);
  node = gtk_snapshot_free_to_node (snapshot);

  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width,
                                                                              height));
  gsk_renderer_unrealize (renderer);
  return texture;
}

/* SVG */

static void
svg_text (GString    *svg,
          const char *text,
          double      x,
          double      y,
          const char *anchor)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  g_string_append_printf (svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                          "dominant-baseline=\"middle\">%s</text>\n", x, y, anchor, escaped);
}

static void
svg_series (GString                  *svg,
            const Geometry           *g,
            const BastionChartData   *data,
            const BastionChartSeries *series,
            const char               *colour)
{
  guint columns = (guint) ceil (g->pw);
  g_autofree double *lo = g_new (double, columns * 4);
  double *hi = lo + columns, *first = hi + columns, *last = first + columns;
  gboolean started = FALSE;

  bastion_chart_decimate (data->x, series->y, data->n_points, g->x0, g->x1, columns,
                          lo, hi, first, last);
  g_string_append_printf (svg, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                          "stroke-linejoin=\"round\" d=\"", colour);
  for (guint c = 0; c < columns; c++)
    {
      double x = g->px + c + 0.5;

      if (isnan (first[c]))
        continue;
      g_string_append_printf (svg, "%s%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f ",
                              started ? "L" : "M", x, map_y (g, first[c]), x, map_y (g, lo[c]),
                              x, map_y (g, hi[c]), x, map_y (g, last[c]));
      started = TRUE;
    }
  g_string_append (svg, "\"/>\n");
}

static void
svg_axes (GString                *svg,
          const Geometry         *g,
          const BastionChartData *data)
{
  g_autofree char *title = x_title ((BastionChartData *) data);

  for (guint i = 0; i < g->y_ticks->len; i++)
    {
      BastionChartTick *tick = &g_array_index (g->y_ticks, BastionChartTick, i);
      double y = map_y (g, tick->value);

      g_string_append_printf (svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"#000\" stroke-opacity=\"0.12\"/>\n",
                              g->px, y, g->px + g->pw, y);
      svg_text (svg, tick->label, g->px - 6, y, "end");
    }
  for (guint i = 0; i < g->x_ticks->len; i++)
    {
      BastionChartTick *tick = &g_array_index (g->x_ticks, BastionChartTick, i);

      svg_text (svg, tick->label, map_x (g, tick->value), g->py + g->ph + 14, "middle");
    }
  g_string_append_printf (svg, "<path fill=\"none\" stroke=\"#555\" d=\"M%.1f %.1f V%.1f H%.1f\"/>\n",
                          g->px, g->py, g->py + g->ph, g->px + g->pw);
  svg_text (svg, title, g->px + g->pw / 2, g->py + g->ph + 34, "middle");
  if (data->y_label != NULL)
    svg_text (svg, data->y_label, 8, 12 + LEGEND_ROW / 2 + g->legend_rows * LEGEND_ROW, "start");
}

char *
bastion_chart_to_svg (BastionChart *self,
                      int           width,
                      int           height)
{
  BastionChartData *data;
  GString *svg;
  Geometry g = { 0, };

  g_return_val_if_fail (BASTION_IS_CHART (self), NULL);

  data = self->data;
  svg = g_string_new (NULL);
  g_string_append_printf (svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"%g\">\n"
                          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
                          width, height, width, height, FONT_SIZE);
  if (data == NULL || data->n_points == 0)
    {
      g_string_append (svg, "</svg>\n");
      return g_string_free (svg, FALSE);
    }

  compute_geometry (data, width, height, &g);
  svg_axes (svg, &g, data);
  if (data->kind == BASTION_CHART_BAR)
    {
      BastionChartSeries *series = g_ptr_array_index (data->series, 0);
      double slot = g.pw / MAX (data->n_points, 1);

      for (guint i = 0; i < data->n_points; i++)
        {
          double y = map_y (&g, isnan (series->y[i]) ? 0 : series->y[i]);
          double base = map_y (&g, 0);

          g_string_append_printf (svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                  "height=\"%.1f\" fill=\"%s\"/>\n", map_x (&g, i) - slot * 0.35,
                                  MIN (y, base), slot * 0.7, fabs (base - y), palette[0]);
          svg_text (svg, data->categories[i], map_x (&g, i), g.py + g.ph + 14, "middle");
        }
    }
  else
    {
      for (guint s = 0; s < data->series->len; s++)
        {
          BastionChartSeries *series = g_ptr_array_index (data->series, s);
          const char *colour = palette[s % G_N_ELEMENTS (palette)];
          double x, y;

          legend_place (data, width, s, &x, &y);
          svg_series (svg, &g, data, series, colour);
          g_string_append_printf (svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
                                  "fill=\"%s\"/>\n", x, y - 5, colour);
          svg_text (svg, series->name, x + 14, y, "start");
        }
    }
  g_string_append (svg, "</svg>\n");
  geometry_clear (&g);
  return g_string_free (svg, FALSE);
}
