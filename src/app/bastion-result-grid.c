/* bastion-result-grid.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>

#include "bastion-result-grid-private.h"
#include "bastion-result-row.h"
#include "bastion-shortcuts.h"

/* What a cell shows of a long value; the tooltip and the side panel show more. */
#define CELL_MAX_CHARS    120
#define TOOLTIP_MAX_CHARS 2000

/* Column widths come from rows spread over the result, measured in the grid's font: at most
 * WIDTH_CAP_CHARS wide on their own, FIT_CAP_CHARS when a double-click on the header's divider
 * asks for the whole value. */
#define WIDTH_SAMPLE_ROWS 256
#define BATCH_SAMPLE_ROWS 64
#define FIT_SAMPLE_ROWS   2000
#define WIDTH_CAP_CHARS   40
#define FIT_CAP_CHARS     120
#define CELL_PADDING_PX   24
#define HEADER_PADDING_PX 32
/* How near the divider between two headers a double-click fits the column on its left. */
#define DIVIDER_SLOP_PX   6

/* PostgreSQL type OIDs (pg_type.dat) the grid treats specially. */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_OID     26
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_MONEY   790
#define OID_NUMERIC 1700

G_DEFINE_FINAL_TYPE (BastionResultGrid, bastion_result_grid, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_MODEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
type_is_numeric (guint32 oid)
{
  switch (oid)
    {
    case OID_INT8:
    case OID_INT2:
    case OID_INT4:
    case OID_OID:
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_MONEY:
    case OID_NUMERIC:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Cell text */

/* One line, at most @max_chars characters, with "…" when shortened; *shortened says so. */
static char *
shorten_value (const char *value,
               gsize       len,
               guint       max_chars,
               gboolean   *shortened)
{
  GString *out = g_string_sized_new (MIN (len, (gsize) max_chars * 2) + 8);
  const char *p = value;
  const char *end = value + len;
  guint n = 0;

  *shortened = FALSE;
  while (p < end && *p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (n == max_chars)
        {
          *shortened = TRUE;
          g_string_append (out, "…");
          break;
        }
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_unichar (out, 0xFFFD);
          p++;
        }
      else
        {
          if (c == '\n' || c == '\r' || c == '\t')
            {
              *shortened = TRUE;
              g_string_append_c (out, ' ');
            }
          else
            g_string_append_unichar (out, c);
          p = g_utf8_next_char (p);
        }
      n++;
    }

  return g_string_free (out, FALSE);
}
static char *
cell_text (const char *value,
           gsize       len,
           guint32     type_oid,
           gboolean   *shortened)
{
  if (type_oid == OID_BOOL && len == 1)
    {
      *shortened = FALSE;
      return g_strdup (value[0] == 't' ? "true" : value[0] == 'f' ? "false" : value);
    }

  if (type_oid == OID_BYTEA && len > 2 && value[0] == '\\' && value[1] == 'x')
    {
      guint64 n_bytes = (len - 2) / 2;
      gboolean cut = FALSE;
      g_autofree char *hex = shorten_value (value, len, 34, &cut);

      *shortened = cut;
      if (!cut)
        return g_steal_pointer (&hex);
      /* TRANSLATORS: a shortened binary value and its size, e.g. "\x89504e… (2048 bytes)" */
      /* The count is formatted first: gettext cannot see through G_GUINT64_FORMAT. */
      {
        g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, n_bytes);

        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s (%s byte)", "%s (%s bytes)",
                                             n_bytes),
                                hex, count);
      }
    }

  return shorten_value (value, len, CELL_MAX_CHARS, shortened);
}

/* Cells */

/* The italic of a NULL, shared by every cell that shows one (cells live on the UI thread). */
static PangoAttrList *
null_attributes (void)
{
  static PangoAttrList *attrs;

  if (attrs == NULL)
    {
      attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, pango_attr_style_new (PANGO_STYLE_ITALIC));
    }
  return attrs;
}
/* The whole value for a tooltip, keeping the line breaks the cell flattened, bounded. */
static char *
tooltip_text (const char *value,
              gsize       len)
{
  g_autofree char *tip = g_utf8_make_valid (value, MIN (len, (gsize) TOOLTIP_MAX_CHARS * 4));
  glong n_chars = g_utf8_strlen (tip, -1);

  if (len <= (gsize) TOOLTIP_MAX_CHARS * 4 && n_chars <= TOOLTIP_MAX_CHARS)
    return g_steal_pointer (&tip);

  *g_utf8_offset_to_pointer (tip, MIN (n_chars, TOOLTIP_MAX_CHARS)) = '\0';
  return g_strconcat (tip, "…\n", _("Right-click and choose Show Value for all of it"), NULL);
}
/* The tooltip of a cell whose value does not show whole (shortened, or cut by the column's
 * width), or NULL. Computed only when GTK asks for it, never while binding. */
static char *
cell_tooltip (GtkWidget *cell)
{
  GtkListItem *item = g_object_get_data (G_OBJECT (cell), "bastion-list-item");
  ColumnData *data = g_object_get_data (G_OBJECT (cell), "bastion-column");
  BastionResultRow *row;
  g_autoptr(PangoLayout) layout = NULL;
  g_autofree char *text = NULL;
  gboolean is_null = FALSE;
  gboolean shortened = FALSE;
  gsize len = 0;
  const char *value;
  int width = 0;

  if (item == NULL || data == NULL || (row = gtk_list_item_get_item (item)) == NULL)
    return NULL;

  value = bastion_result_row_get_value (row, data->column, &len, &is_null);
  if (is_null)
    return NULL;

  text = cell_text (value, len, data->type_oid, &shortened);
  if (!shortened)
    {
      layout = gtk_widget_create_pango_layout (cell, text);
      pango_layout_get_pixel_size (layout, &width, NULL);
      if (width <= gtk_widget_get_width (cell))
        return NULL;
    }

  return tooltip_text (value, len);
}
static gboolean
on_cell_query_tooltip (GtkWidget  *cell,
                       int         x,
                       int         y,
                       gboolean    keyboard_mode,
                       GtkTooltip *tooltip,
                       gpointer    user_data)
{
  g_autofree char *tip = cell_tooltip (cell);

  if (tip == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, tip);
  return TRUE;
}

/* Factories */

/* Everything a cell keeps for its life is set here, once; bind_cell() sets only what depends
 * on the value, and sets all of it every time. */
static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            ColumnData               *data)
{
  GtkWidget *label = gtk_inscription_new (NULL);

  gtk_inscription_set_text_overflow (GTK_INSCRIPTION (label),
                                     GTK_INSCRIPTION_OVERFLOW_ELLIPSIZE_END);
  gtk_inscription_set_min_chars (GTK_INSCRIPTION (label), 1);
  gtk_inscription_set_nat_chars (GTK_INSCRIPTION (label), 12);
  gtk_inscription_set_xalign (GTK_INSCRIPTION (label),
                              type_is_numeric (data->type_oid) ? 1.0 : 0.0);
  if (type_is_numeric (data->type_oid))
    gtk_widget_add_css_class (label, "numeric");
  gtk_widget_set_has_tooltip (label, TRUE);
  g_signal_connect (label, "query-tooltip", G_CALLBACK (on_cell_query_tooltip), NULL);
  gtk_list_item_set_child (item, label);
  g_object_set_data (G_OBJECT (label), "bastion-list-item", item);
  g_object_set_data (G_OBJECT (label), "bastion-column", data);
}
/* Runs for every cell that scrolls into view: nothing here may reach the display server. */
static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           ColumnData               *data)
{
  GtkInscription *label = GTK_INSCRIPTION (gtk_list_item_get_child (item));
  BastionResultRow *row = gtk_list_item_get_item (item);
  gboolean is_null = FALSE;
  gboolean shortened = FALSE;
  gsize len = 0;
  const char *value = bastion_result_row_get_value (row, data->column, &len, &is_null);

  if (data->column == 0)
    data->grid->n_bound_rows++;

  if (is_null)
    {
      gtk_inscription_set_text (label, "NULL");
      gtk_inscription_set_attributes (label, null_attributes ());
      gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (label), "null-value");
    }
  else
    {
      g_autofree char *text = cell_text (value, len, data->type_oid, &shortened);

      gtk_inscription_set_attributes (label, NULL);
      gtk_inscription_set_text (label, text);
      gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
      gtk_widget_remove_css_class (GTK_WIDGET (label), "null-value");
    }
}
static void
unbind_cell (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             ColumnData               *data)
{
  if (data->column == 0 && data->grid->n_bound_rows > 0)
    data->grid->n_bound_rows--;
}

/* Sorting */

static int
compare_rows (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  ColumnData *data = user_data;
  gboolean null_a = FALSE;
  gboolean null_b = FALSE;
  const char *va = bastion_result_row_get_value ((BastionResultRow *) a, data->column, NULL,
                                                 &null_a);
  const char *vb = bastion_result_row_get_value ((BastionResultRow *) b, data->column, NULL,
                                                 &null_b);
  int cmp;

  /* NULLs sort last, as PostgreSQL does by default. */
  if (null_a || null_b)
    return null_a == null_b ? GTK_ORDERING_EQUAL
                            : null_a ? GTK_ORDERING_LARGER : GTK_ORDERING_SMALLER;

  if (type_is_numeric (data->type_oid) && data->type_oid != OID_MONEY)
    {
      double da = g_ascii_strtod (va, NULL);
      double db = g_ascii_strtod (vb, NULL);

      return gtk_ordering_from_cmpfunc ((da > db) - (da < db));
    }

  /* Byte order, not the locale's collation: fast enough for 100 000 rows on every click. */
  cmp = strcmp (va, vb);
  return gtk_ordering_from_cmpfunc (cmp);
}

/* Columns */

static void
remove_columns (BastionResultGrid *self)
{
  GListModel *columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (self->column_view));

  while (g_list_model_get_n_items (columns) > 0)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, 0);

      gtk_column_view_remove_column (GTK_COLUMN_VIEW (self->column_view), column);
    }
}
static int
char_width_px (BastionResultGrid *self)
{
  PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  PangoFontMetrics *metrics = pango_context_get_metrics (context, NULL, NULL);
  int char_width = MAX (pango_font_metrics_get_approximate_char_width (metrics),
                        pango_font_metrics_get_approximate_digit_width (metrics));

  pango_font_metrics_unref (metrics);
  return MAX (char_width / PANGO_SCALE, 6);
}
static int
text_width_px (BastionResultGrid *self,
               const char        *text)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (self->column_view, text);
  int width = 0;

  pango_layout_get_pixel_size (layout, &width, NULL);
  return width;
}
static ColumnData *
column_data (GtkColumnViewColumn *column)
{
  GtkListItemFactory *factory = gtk_column_view_column_get_factory (column);

  return factory != NULL ? g_object_get_data (G_OBJECT (factory), "bastion-column-data") : NULL;
}
/* The width a column needs for its header and the longest (in characters) of @n_samples rows
 * spread evenly over rows [@first, @first + @n), at most @cap_chars wide. Only the longest
 * value is laid out: a layout per sampled cell would cost more than it tells. */
static int
sampled_width (BastionResultGrid *self,
               ColumnData        *data,
               guint              first,
               guint              n,
               guint              n_samples,
               guint              cap_chars)
{
  const char *name = bastion_result_model_get_column_name (self->model, data->column);
  const char *longest = NULL;
  gsize longest_len = 0;
  glong longest_chars = -1;
  int width = text_width_px (self, name) + HEADER_PADDING_PX;
  guint step = MAX (1, n / MAX (n_samples, 1));

  for (guint r = first; r < first + n; r += step)
    {
      gboolean is_null = FALSE;
      gsize len = 0;
      const char *value = bastion_result_model_get_value (self->model, r, data->column, &len,
                                                          &is_null);
      glong chars = is_null ? 4 : g_utf8_strlen (value, MIN (len, (gsize) cap_chars * 4));

      if (chars > longest_chars)
        {
          longest_chars = chars;
          longest = is_null ? "NULL" : value;
          longest_len = is_null ? 4 : len;
        }
    }

  if (longest != NULL)
    {
      gboolean shortened = FALSE;
      g_autofree char *text = cell_text (longest, longest_len, data->type_oid, &shortened);

      width = MAX (width, MIN (text_width_px (self, text), char_width_px (self) * (int) cap_chars)
                          + CELL_PADDING_PX);
    }
  return width;
}
static gboolean
user_sized (GtkColumnViewColumn *column,
            ColumnData          *data)
{
  return data->fitted_width > 0
         && gtk_column_view_column_get_fixed_width (column) != data->fitted_width;
}
static void
set_fitted_width (GtkColumnViewColumn *column,
                  ColumnData          *data,
                  int                  width)
{
  data->fitted_width = width;
  gtk_column_view_column_set_fixed_width (column, width);
}
/* Sizes columns from their header and rows [@first, @first + @n): the first time from a sample
 * over all of them, then (as batches stream in) only ever wider, so widths do not jump while
 * the user reads, and never once the user chose a width. */
static void
fit_column_widths (BastionResultGrid *self,
                   guint              first,
                   guint              n,
                   guint              n_samples)
{
  GListModel *columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (self->column_view));
  guint n_columns = g_list_model_get_n_items (columns);

  for (guint c = 0; c < n_columns; c++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, c);
      ColumnData *data = column_data (column);
      int width;

      if (data == NULL || user_sized (column, data))
        continue;
      width = sampled_width (self, data, first, n, n_samples, WIDTH_CAP_CHARS);
      if (width > data->fitted_width)
        set_fitted_width (column, data, width);
    }
}
/* What a double-click on the divider right of @column's header does. */
void
_bastion_result_grid_fit_column (BastionResultGrid   *self,
                                 GtkColumnViewColumn *column)
{
  ColumnData *data = column_data (column);
  guint n_rows;

  if (data == NULL || self->model == NULL)
    return;
  n_rows = bastion_result_model_get_n_rows (self->model);
  set_fitted_width (column, data,
                    sampled_width (self, data, 0, n_rows, FIT_SAMPLE_ROWS, FIT_CAP_CHARS));
}
/* The column whose header's right edge is within DIVIDER_SLOP_PX of (@x, @y), in the column
 * view's coordinates, or NULL. The titles are the children of the header row, in the order
 * of the columns. */
GtkColumnViewColumn *
_bastion_result_grid_divider_at (BastionResultGrid *self,
                                 double             x,
                                 double             y)
{
  GListModel *columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (self->column_view));
  GtkWidget *header = gtk_widget_get_first_child (self->column_view);
  graphene_rect_t bounds;
  guint i = 0;

  while (header != NULL && g_strcmp0 (gtk_widget_get_css_name (header), "header") != 0)
    header = gtk_widget_get_next_sibling (header);
  if (header == NULL || !gtk_widget_compute_bounds (header, self->column_view, &bounds)
      || y < bounds.origin.y || y > bounds.origin.y + bounds.size.height)
    return NULL;

  for (GtkWidget *title = gtk_widget_get_first_child (header);
       title != NULL;
       title = gtk_widget_get_next_sibling (title), i++)
    {
      if (gtk_widget_compute_bounds (title, self->column_view, &bounds)
          && ABS (x - (bounds.origin.x + bounds.size.width)) <= DIVIDER_SLOP_PX)
        return g_list_model_get_item (columns, i);
    }
  return NULL;
}
static void
add_columns (BastionResultGrid *self)
{
  guint n = bastion_result_model_get_n_columns (self->model);

  for (guint c = 0; c < n; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) column = NULL;
      g_autoptr(GtkSorter) sorter = NULL;
      ColumnData *data = g_new0 (ColumnData, 1);

      data->grid = self;
      data->column = c;
      data->type_oid = bastion_result_model_get_column_type (self->model, c);

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), data);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), data);
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell), data);
      /* The data lives as long as the factory, which lives as long as the column. */
      g_object_set_data_full (G_OBJECT (factory), "bastion-column-data", data, g_free);

      column = gtk_column_view_column_new (bastion_result_model_get_column_name (self->model, c),
                                           factory);
      gtk_column_view_column_set_resizable (column, TRUE);
      sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, data, NULL));
      gtk_column_view_column_set_sorter (column, sorter);
      gtk_column_view_append_column (GTK_COLUMN_VIEW (self->column_view), column);
    }

  fit_column_widths (self, 0, bastion_result_model_get_n_rows (self->model), WIDTH_SAMPLE_ROWS);
}
static void
on_columns_changed (BastionResultGrid  *self,
                    BastionResultModel *model)
{
  gtk_column_view_sort_by_column (GTK_COLUMN_VIEW (self->column_view), NULL,
                                  GTK_SORT_ASCENDING);
  remove_columns (self);
  add_columns (self);
  self->has_context = FALSE;
}
static void
on_items_changed (BastionResultGrid *self,
                  guint              position,
                  guint              removed,
                  guint              added,
                  GListModel        *model)
{
  if (added > 0 && self->model != NULL)
    fit_column_widths (self, position, added, BATCH_SAMPLE_ROWS);
}

/* GObject */

static void
bastion_result_grid_dispose (GObject *object)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (object);

  bastion_result_grid_set_model (self, NULL);
  g_clear_pointer (&self->popover, gtk_widget_unparent);
  g_clear_pointer (&self->paned, gtk_widget_unparent);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->context_menu);

  G_OBJECT_CLASS (bastion_result_grid_parent_class)->dispose (object);
}
static void
bastion_result_grid_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}
static void
bastion_result_grid_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      bastion_result_grid_set_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}
static void
bastion_result_grid_class_init (BastionResultGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_result_grid_dispose;
  object_class->get_property = bastion_result_grid_get_property;
  object_class->set_property = bastion_result_grid_set_property;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, BASTION_TYPE_RESULT_MODEL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  _bastion_result_grid_class_actions_init (widget_class);
  bastion_shortcuts_add_bindings (widget_class, BASTION_SHORTCUT_RESULT_GRID);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "resultgrid");
}
static GtkWidget *
build_panel (BastionResultGrid *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *close = gtk_button_new_from_icon_name ("window-close-symbolic");
  GtkWidget *scroller = gtk_scrolled_window_new ();

  gtk_widget_set_margin_start (header, 12);
  gtk_widget_set_margin_end (header, 6);
  gtk_widget_set_margin_top (header, 6);
  gtk_widget_set_margin_bottom (header, 6);

  self->panel_title = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->panel_title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->panel_title), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (self->panel_title, TRUE);
  gtk_widget_add_css_class (self->panel_title, "heading");
  gtk_box_append (GTK_BOX (header), self->panel_title);

  gtk_widget_add_css_class (close, "flat");
  gtk_widget_set_tooltip_text (close, _("Close"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (close), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Close the Value"), -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (close), "grid.close-value");
  gtk_box_append (GTK_BOX (header), close);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));

  self->panel_text = gtk_text_view_new ();
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->panel_text),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Value"), -1);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (self->panel_text), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (self->panel_text), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (self->panel_text), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (self->panel_text), 12);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (self->panel_text), 12);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (self->panel_text), 6);
  gtk_text_buffer_create_tag (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->panel_text)),
                              "no-hyphens", "insert-hyphens", FALSE, NULL);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), self->panel_text);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (box), scroller);

  gtk_widget_set_size_request (box, 220, -1);
  gtk_widget_set_visible (box, FALSE);
  return box;
}
static void
bastion_result_grid_init (BastionResultGrid *self)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  self->paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_widget_set_parent (self->paned, GTK_WIDGET (self));
  gtk_paned_set_resize_end_child (GTK_PANED (self->paned), FALSE);
  gtk_paned_set_shrink_end_child (GTK_PANED (self->paned), FALSE);

  self->column_view = gtk_column_view_new (NULL);
  gtk_column_view_set_show_column_separators (GTK_COLUMN_VIEW (self->column_view), TRUE);
  gtk_column_view_set_show_row_separators (GTK_COLUMN_VIEW (self->column_view), TRUE);
  gtk_column_view_set_reorderable (GTK_COLUMN_VIEW (self->column_view), TRUE);
  gtk_widget_add_css_class (self->column_view, "data-table");
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), self->column_view);
  gtk_widget_set_hexpand (scroller, TRUE);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_paned_set_start_child (GTK_PANED (self->paned), scroller);

  self->panel = build_panel (self);
  gtk_paned_set_end_child (GTK_PANED (self->paned), self->panel);

  self->context_menu = _bastion_result_grid_build_context_menu ();
  self->popover = gtk_popover_menu_new_from_model (self->context_menu);
  gtk_popover_set_has_arrow (GTK_POPOVER (self->popover), FALSE);
  gtk_widget_set_halign (self->popover, GTK_ALIGN_START);
  gtk_widget_set_parent (self->popover, GTK_WIDGET (self));

  /* Capture phase: the click is seen before the row's own selection handling, which still runs. */
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (_bastion_result_grid_on_click_pressed), self);
  gtk_widget_add_controller (self->column_view, GTK_EVENT_CONTROLLER (click));

  /* The selection model exists from the start so the view is never without one. */
  self->sort_model = gtk_sort_list_model_new (NULL, NULL);
  gtk_sort_list_model_set_sorter (self->sort_model,
                                  gtk_column_view_get_sorter (GTK_COLUMN_VIEW (self->column_view)));
  /* One pass: incremental sorting advances a step per frame, far slower for 100 000 rows. */
  gtk_sort_list_model_set_incremental (self->sort_model, FALSE);
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_column_view_set_model (GTK_COLUMN_VIEW (self->column_view),
                             GTK_SELECTION_MODEL (self->selection));
}
GtkWidget *
bastion_result_grid_new (void)
{
  return g_object_new (BASTION_TYPE_RESULT_GRID, NULL);
}
BastionResultModel *
bastion_result_grid_get_model (BastionResultGrid *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);
  return self->model;
}
void
bastion_result_grid_set_model (BastionResultGrid  *self,
                               BastionResultModel *model)
{
  g_return_if_fail (BASTION_IS_RESULT_GRID (self));
  g_return_if_fail (model == NULL || BASTION_IS_RESULT_MODEL (model));

  if (self->model == model)
    return;

  if (self->model != NULL)
    {
      g_clear_signal_handler (&self->columns_changed_id, self->model);
      g_clear_signal_handler (&self->items_changed_id, self->model);
    }

  gtk_sort_list_model_set_model (self->sort_model, NULL);
  remove_columns (self);

  g_set_object (&self->model, model);
  self->has_context = FALSE;

  if (model != NULL)
    {
      self->columns_changed_id =
        g_signal_connect_swapped (model, "columns-changed", G_CALLBACK (on_columns_changed), self);
      self->items_changed_id =
        g_signal_connect_swapped (model, "items-changed", G_CALLBACK (on_items_changed), self);
      add_columns (self);
      gtk_sort_list_model_set_model (self->sort_model, G_LIST_MODEL (model));
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}
GtkColumnView *
bastion_result_grid_get_column_view (BastionResultGrid *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);
  return GTK_COLUMN_VIEW (self->column_view);
}
GListModel *
bastion_result_grid_get_rows (BastionResultGrid *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);
  return G_LIST_MODEL (self->sort_model);
}
char *
bastion_result_grid_dup_cell_text (BastionResultGrid *self,
                                   guint              position,
                                   guint              column,
                                   gboolean          *is_null)
{
  g_autoptr(BastionResultRow) row = NULL;
  gboolean null_value = FALSE;
  gboolean shortened = FALSE;
  gsize len = 0;
  const char *value;

  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);

  if (self->model == NULL || column >= bastion_result_model_get_n_columns (self->model))
    return NULL;
  row = g_list_model_get_item (G_LIST_MODEL (self->sort_model), position);
  if (row == NULL)
    return NULL;

  value = bastion_result_row_get_value (row, column, &len, &null_value);
  if (is_null != NULL)
    *is_null = null_value;
  if (null_value)
    return g_strdup ("NULL");
  return cell_text (value, len, bastion_result_model_get_column_type (self->model, column),
                    &shortened);
}
char *
bastion_result_grid_dup_cell_tooltip (BastionResultGrid *self,
                                      GtkWidget         *cell)
{
  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);
  g_return_val_if_fail (GTK_IS_WIDGET (cell), NULL);

  return cell_tooltip (cell);
}
guint
bastion_result_grid_get_n_bound_rows (BastionResultGrid *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), 0);
  return self->n_bound_rows;
}
