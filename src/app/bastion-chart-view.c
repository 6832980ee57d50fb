/* bastion-chart-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "bastion-app-util.h"
#include "bastion-chart-view.h"

#define EXPORT_WIDTH  1200
#define EXPORT_HEIGHT 700
/* Rows arriving redraw the chart at most this often (ms). */
#define REBUILD_DELAY 300

struct _BastionChartView
{
  GtkWidget           parent_instance;

  /* Owned */
  BastionResultModel *model;
  BastionChartSpec    spec;
  GArray             *x_columns;      /* int: the x chooser's entries */
  GArray             *y_columns;      /* int; -1 = every numeric column */
  GArray             *split_columns;  /* int; -1 = no split */
  guint               rebuild_id;
  gulong              items_id;
  char               *prefer[3];      /* x, y, split column names to use when present */

  /* Widgets */
  GtkWidget          *box;
  GtkDropDown        *kind_dropdown;
  GtkDropDown        *x_dropdown;
  GtkDropDown        *y_dropdown;
  GtkDropDown        *split_dropdown;
  GtkWidget          *split_label;
  GtkLabel           *status_label;
  GtkStack           *stack;
  BastionChart       *chart;
  AdwStatusPage      *empty_page;

  guint               updating : 1;
  guint               stale : 1;
};

G_DEFINE_FINAL_TYPE (BastionChartView, bastion_chart_view, GTK_TYPE_WIDGET)

static void
rebuild (BastionChartView *self)
{
  g_autoptr(BastionChartData) data = NULL;

  g_clear_handle_id (&self->rebuild_id, g_source_remove);
  if (self->model != NULL)
    data = bastion_chart_data_new (self->model, &self->spec);

  if (data == NULL || data->n_points == 0)
    {
      bastion_chart_set_data (self->chart, NULL);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      gtk_label_set_text (self->status_label, "");
      return;
    }

  bastion_chart_set_data (self->chart, data);
  gtk_stack_set_visible_child_name (self->stack, "chart");
  if (data->n_skipped > 0)
    {
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                            "%u row left out",
                                                            "%u rows left out",
                                                            data->n_skipped),
                                               data->n_skipped);

      gtk_label_set_text (self->status_label, text);
    }
  else
    gtk_label_set_text (self->status_label, "");
}

static gboolean
rebuild_cb (gpointer user_data)
{
  BastionChartView *self = user_data;

  self->rebuild_id = 0;
  /* Rows arriving while the grid is shown: read them when the chart is shown again. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    rebuild (self);
  else
    self->stale = TRUE;
  return G_SOURCE_REMOVE;
}

static void
bastion_chart_view_map (GtkWidget *widget)
{
  BastionChartView *self = BASTION_CHART_VIEW (widget);

  GTK_WIDGET_CLASS (bastion_chart_view_parent_class)->map (widget);
  if (self->stale)
    {
      self->stale = FALSE;
      rebuild (self);
    }
}

static void
on_items_changed (BastionChartView *self)
{
  if (self->rebuild_id == 0)
    self->rebuild_id = g_timeout_add (REBUILD_DELAY, rebuild_cb, self);
}

/* Choosers */

static BastionChartColumnClass
column_class (BastionChartView *self,
              guint             column)
{
  return bastion_chart_classify_type (bastion_result_model_get_column_type (self->model, column));
}

static void
fill_dropdown (GtkDropDown *dropdown,
               GArray      *columns,
               GtkStringList *names,
               int          selected)
{
  guint position = 0;

  for (guint i = 0; i < columns->len; i++)
    if (g_array_index (columns, int, i) == selected)
      position = i;
  gtk_drop_down_set_model (dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (dropdown, position);
}

static void
add_choice (GArray        *columns,
            GtkStringList *names,
            int            column,
            const char    *name)
{
  g_array_append_val (columns, column);
  gtk_string_list_append (names, name);
}

static void
fill_choosers (BastionChartView *self)
{
  g_autoptr(GtkStringList) x_names = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) y_names = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) split_names = gtk_string_list_new (NULL);
  gboolean bar = self->spec.kind == BASTION_CHART_BAR;
  guint n = self->model != NULL ? bastion_result_model_get_n_columns (self->model) : 0;

  self->updating = TRUE;
  g_array_set_size (self->x_columns, 0);
  g_array_set_size (self->y_columns, 0);
  g_array_set_size (self->split_columns, 0);

  if (!bar)
    add_choice (self->y_columns, y_names, -1, _("All Numbers"));
  add_choice (self->split_columns, split_names, -1, _("No Split"));
  for (guint i = 0; i < n; i++)
    {
      BastionChartColumnClass c = column_class (self, i);
      const char *name = bastion_result_model_get_column_name (self->model, i);

      if ((bar && c == BASTION_CHART_COLUMN_TEXT)
          || (!bar && (c == BASTION_CHART_COLUMN_TIME || c == BASTION_CHART_COLUMN_NUMBER)))
        add_choice (self->x_columns, x_names, i, name);
      if (c == BASTION_CHART_COLUMN_NUMBER)
        add_choice (self->y_columns, y_names, i, name);
      if (c == BASTION_CHART_COLUMN_TEXT)
        add_choice (self->split_columns, split_names, i, name);
    }

  gtk_drop_down_set_selected (self->kind_dropdown, bar ? 1 : 0);
  fill_dropdown (self->x_dropdown, self->x_columns, x_names, self->spec.x);
  fill_dropdown (self->y_dropdown, self->y_columns, y_names,
                 !bar && self->spec.n_y > 1 ? -1 : self->spec.y[0]);
  fill_dropdown (self->split_dropdown, self->split_columns, split_names, self->spec.split);
  gtk_widget_set_visible (GTK_WIDGET (self->split_dropdown), !bar);
  gtk_widget_set_visible (self->split_label, !bar);
  self->updating = FALSE;
}

static int
chosen (GtkDropDown *dropdown,
        GArray      *columns)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  return selected < columns->len ? g_array_index (columns, int, selected) : -1;
}

static void
spec_from_choosers (BastionChartView *self)
{
  BastionChartSpec spec = { self->spec.kind, -1, { -1 }, 0, -1 };
  int y = chosen (self->y_dropdown, self->y_columns);
  guint n = bastion_result_model_get_n_columns (self->model);

  spec.x = chosen (self->x_dropdown, self->x_columns);
  spec.split = spec.kind == BASTION_CHART_LINE ? chosen (self->split_dropdown,
                                                         self->split_columns) : -1;
  if (y >= 0)
    spec.y[spec.n_y++] = y;
  else
    for (guint i = 0; i < n && spec.n_y < BASTION_CHART_MAX_SERIES; i++)
      if ((int) i != spec.x && column_class (self, i) == BASTION_CHART_COLUMN_NUMBER)
        spec.y[spec.n_y++] = i;
  if (spec.x < 0 || spec.n_y == 0)
    spec.kind = BASTION_CHART_NONE;
  self->spec = spec;
}

static void
on_kind_changed (BastionChartView *self)
{
  BastionChartKind kind;

  if (self->updating || self->model == NULL)
    return;
  kind = gtk_drop_down_get_selected (self->kind_dropdown) == 1 ? BASTION_CHART_BAR
                                                               : BASTION_CHART_LINE;
  /* Start from the automatic pick's columns where they fit the new kind. */
  self->spec.kind = kind;
  self->spec.x = -1;
  self->spec.split = -1;
  fill_choosers (self);
  spec_from_choosers (self);
  self->spec.kind = self->spec.kind == BASTION_CHART_NONE ? BASTION_CHART_NONE : kind;
  rebuild (self);
}

static void
on_column_changed (BastionChartView *self)
{
  BastionChartKind kind = gtk_drop_down_get_selected (self->kind_dropdown) == 1
                          ? BASTION_CHART_BAR : BASTION_CHART_LINE;

  if (self->updating || self->model == NULL)
    return;
  self->spec.kind = kind;
  spec_from_choosers (self);
  rebuild (self);
}

/* Export */

static void
export_written (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
bastion_chart_view_export_async (BastionChartView         *self,
                                 GFile                    *file,
                                 BastionChartExportFormat  format,
                                 GCancellable             *cancellable,
                                 GAsyncReadyCallback       callback,
                                 gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  int width = gtk_widget_get_width (GTK_WIDGET (self->chart));
  int height = gtk_widget_get_height (GTK_WIDGET (self->chart));

  g_return_if_fail (BASTION_IS_CHART_VIEW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_chart_view_export_async);
  if (width < 100 || height < 100)
    {
      width = EXPORT_WIDTH;
      height = EXPORT_HEIGHT;
    }

  /* Drawing is quick (decimated); the file is written in GIO's thread. */
  if (format == BASTION_CHART_EXPORT_SVG)
    {
      char *svg = bastion_chart_to_svg (self->chart, width, height);

      bytes = g_bytes_new_take (svg, strlen (svg));
    }
  else
    {
      g_autoptr(GdkTexture) texture = bastion_chart_render_texture (self->chart, width, height,
                                                                    &error);

      if (texture == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      bytes = gdk_texture_save_to_png_bytes (texture);
    }

  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       cancellable, export_written, g_steal_pointer (&task));
}

gboolean
bastion_chart_view_export_finish (BastionChartView  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
export_done (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  BastionChartView *self = BASTION_CHART_VIEW (object);
  g_autoptr(GFile) file = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (bastion_chart_view_export_finish (self, result, &error))
    text = g_strdup_printf (_("Saved to %s"), g_file_peek_path (file));
  else
    text = g_strdup_printf (_("Could not save the chart to %s: %s. Choose another file."),
                            g_file_peek_path (file), error->message);
  gtk_label_set_text (self->status_label, text);
}

static void
on_export_chosen (GtkWidget *owner,
                  GFile     *file,
                  int        format)
{
  bastion_chart_view_export_async (BASTION_CHART_VIEW (owner), file, format, NULL, export_done,
                                   g_object_ref (file));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  BastionChartView *self = BASTION_CHART_VIEW (widget);
  gboolean svg = g_strcmp0 (g_variant_get_string (param, NULL), "svg") == 0;
  GtkFileChooserNative *chooser;

  if (bastion_chart_get_data (self->chart) == NULL)
    return;
  chooser = gtk_file_chooser_native_new (svg ? _("Export the Chart as SVG")
                                             : _("Export the Chart as PNG"),
                                         GTK_WINDOW (gtk_widget_get_root (widget)),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), svg ? "chart.svg" : "chart.png");
  bastion_app_run_save_chooser (chooser, widget,
                                svg ? BASTION_CHART_EXPORT_SVG : BASTION_CHART_EXPORT_PNG,
                                on_export_chosen);
}

/* GObject */

static void
bastion_chart_view_dispose (GObject *object)
{
  BastionChartView *self = BASTION_CHART_VIEW (object);

  bastion_chart_view_set_model (self, NULL);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (bastion_chart_view_parent_class)->dispose (object);
}

static void
bastion_chart_view_finalize (GObject *object)
{
  BastionChartView *self = BASTION_CHART_VIEW (object);

  g_array_unref (self->x_columns);
  g_array_unref (self->y_columns);
  g_array_unref (self->split_columns);
  for (guint i = 0; i < G_N_ELEMENTS (self->prefer); i++)
    g_free (self->prefer[i]);

  G_OBJECT_CLASS (bastion_chart_view_parent_class)->finalize (object);
}

static void
bastion_chart_view_class_init (BastionChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_chart_view_dispose;
  object_class->finalize = bastion_chart_view_finalize;
  widget_class->map = bastion_chart_view_map;

  gtk_widget_class_install_action (widget_class, "chart.export", "s", export_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static GtkDropDown *
add_chooser (GtkWidget  *toolbar,
             const char *label_text,
             GtkWidget **label_out)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (label_text);
  GtkWidget *dropdown = gtk_drop_down_new (NULL, NULL);

  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), dropdown);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (dropdown), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  label, NULL, -1);
  /* GTK 4.8's drop-down names only itself: its button needs the name too. */
  for (GtkWidget *child = gtk_widget_get_first_child (dropdown);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_TOGGLE_BUTTON (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      gtk_label_get_text (GTK_LABEL (label)), -1);
  gtk_box_append (GTK_BOX (toolbar), label);
  gtk_box_append (GTK_BOX (toolbar), dropdown);
  if (label_out != NULL)
    *label_out = label;
  return GTK_DROP_DOWN (dropdown);
}

static GtkWidget *
export_button_new (void)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  GtkWidget *button = gtk_menu_button_new ();

  g_menu_append (menu, _("Export as _PNG…"), "chart.export::png");
  g_menu_append (menu, _("Export as _SVG…"), "chart.export::svg");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "document-save-symbolic");
  gtk_widget_set_tooltip_text (button, _("Export the Chart"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Export the Chart"), -1);
  gtk_widget_add_css_class (button, "flat");
  return button;
}

static void
bastion_chart_view_init (BastionChartView *self)
{
  const char * const kinds[] = { N_("Line"), N_("Bar"), NULL };
  GtkWidget *toolbar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_autoptr(GtkStringList) kind_names = gtk_string_list_new (NULL);

  self->x_columns = g_array_new (FALSE, FALSE, sizeof (int));
  self->y_columns = g_array_new (FALSE, FALSE, sizeof (int));
  self->split_columns = g_array_new (FALSE, FALSE, sizeof (int));
  self->spec.x = self->spec.split = -1;

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  gtk_widget_set_margin_start (toolbar, 6);
  gtk_widget_set_margin_end (toolbar, 6);
  gtk_widget_set_margin_top (toolbar, 6);
  gtk_widget_set_margin_bottom (toolbar, 6);
  self->kind_dropdown = add_chooser (toolbar, _("_Chart"), NULL);
  for (guint i = 0; kinds[i] != NULL; i++)
    gtk_string_list_append (kind_names, _(kinds[i]));
  gtk_drop_down_set_model (self->kind_dropdown, G_LIST_MODEL (kind_names));
  self->x_dropdown = add_chooser (toolbar, _("_X"), NULL);
  self->y_dropdown = add_chooser (toolbar, _("_Y"), NULL);
  self->split_dropdown = add_chooser (toolbar, _("_Series by"), &self->split_label);
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_ellipsize (self->status_label, PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (self->status_label, 1);
  gtk_widget_set_hexpand (GTK_WIDGET (self->status_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "caption");
  gtk_box_append (GTK_BOX (toolbar), GTK_WIDGET (self->status_label));
  gtk_box_append (GTK_BOX (toolbar), export_button_new ());
  gtk_box_append (GTK_BOX (self->box), toolbar);

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  self->chart = bastion_chart_new ();
  gtk_widget_set_margin_start (GTK_WIDGET (self->chart), 6);
  gtk_widget_set_margin_end (GTK_WIDGET (self->chart), 6);
  gtk_stack_add_named (self->stack, GTK_WIDGET (self->chart), "chart");
  self->empty_page = ADW_STATUS_PAGE (adw_status_page_new ());
  adw_status_page_set_icon_name (self->empty_page, "applications-graphics-symbolic");
  adw_status_page_set_title (self->empty_page, _("Nothing to Chart"));
  adw_status_page_set_description (self->empty_page,
                                   _("A chart needs a column of numbers, and a timestamp, number "
                                     "or text column to plot it against. Choose them above or "
                                     "change the query."));
  gtk_widget_add_css_class (GTK_WIDGET (self->empty_page), "compact");
  gtk_stack_add_named (self->stack, GTK_WIDGET (self->empty_page), "empty");
  gtk_stack_set_visible_child_name (self->stack, "empty");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->stack));

  g_signal_connect_swapped (self->kind_dropdown, "notify::selected",
                            G_CALLBACK (on_kind_changed), self);
  g_signal_connect_swapped (self->x_dropdown, "notify::selected",
                            G_CALLBACK (on_column_changed), self);
  g_signal_connect_swapped (self->y_dropdown, "notify::selected",
                            G_CALLBACK (on_column_changed), self);
  g_signal_connect_swapped (self->split_dropdown, "notify::selected",
                            G_CALLBACK (on_column_changed), self);
}

static int
column_named (BastionResultModel *model,
              const char         *name)
{
  for (guint i = 0; name != NULL && i < bastion_result_model_get_n_columns (model); i++)
    if (g_strcmp0 (bastion_result_model_get_column_name (model, i), name) == 0)
      return i;
  return -1;
}

static void
apply_preferred (BastionChartView *self)
{
  int x = column_named (self->model, self->prefer[0]);
  int y = column_named (self->model, self->prefer[1]);
  int split = column_named (self->model, self->prefer[2]);

  if (x < 0 || y < 0 || (self->prefer[2] != NULL && split < 0))
    return;
  self->spec.kind = column_class (self, x) == BASTION_CHART_COLUMN_TEXT ? BASTION_CHART_BAR
                                                                        : BASTION_CHART_LINE;
  self->spec.x = x;
  self->spec.y[0] = y;
  self->spec.n_y = 1;
  self->spec.split = split;
}

void
bastion_chart_view_prefer_columns (BastionChartView *self,
                                   const char       *x,
                                   const char       *y,
                                   const char       *split)
{
  const char *names[] = { x, y, split };

  g_return_if_fail (BASTION_IS_CHART_VIEW (self));

  for (guint i = 0; i < G_N_ELEMENTS (self->prefer); i++)
    {
      g_free (self->prefer[i]);
      self->prefer[i] = g_strdup (names[i]);
    }
}

BastionChartView *
bastion_chart_view_new (void)
{
  return g_object_new (BASTION_TYPE_CHART_VIEW, NULL);
}

void
bastion_chart_view_set_model (BastionChartView   *self,
                              BastionResultModel *model)
{
  g_return_if_fail (BASTION_IS_CHART_VIEW (self));
  g_return_if_fail (model == NULL || BASTION_IS_RESULT_MODEL (model));

  if (self->model != NULL)
    g_clear_signal_handler (&self->items_id, self->model);
  g_clear_handle_id (&self->rebuild_id, g_source_remove);
  self->stale = FALSE;
  g_set_object (&self->model, model);
  if (model == NULL)
    {
      bastion_chart_set_data (self->chart, NULL);
      return;
    }

  self->items_id = g_signal_connect_swapped (model, "items-changed",
                                             G_CALLBACK (on_items_changed), self);
  self->spec = bastion_chart_pick (model);
  apply_preferred (self);
  fill_choosers (self);
  rebuild (self);
}

BastionChart *
bastion_chart_view_get_chart (BastionChartView *self)
{
  g_return_val_if_fail (BASTION_IS_CHART_VIEW (self), NULL);
  return self->chart;
}

const BastionChartSpec *
bastion_chart_view_get_spec (BastionChartView *self)
{
  g_return_val_if_fail (BASTION_IS_CHART_VIEW (self), NULL);
  return &self->spec;
}

void
bastion_chart_view_set_spec (BastionChartView       *self,
                             const BastionChartSpec *spec)
{
  g_return_if_fail (BASTION_IS_CHART_VIEW (self));
  g_return_if_fail (spec != NULL);

  self->spec = *spec;
  fill_choosers (self);
  rebuild (self);
}
