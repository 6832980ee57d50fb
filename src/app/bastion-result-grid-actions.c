/* bastion-result-grid-actions.c: copying, the value panel, clicks and the context menu
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-result-grid-private.h"
#include "bastion-result-row.h"
#include "bastion-result-writer.h"

/* The side panel shows a value up to this size (the cell and its tooltip show less). */
#define PANEL_MAX_BYTES (4 * 1024 * 1024)

/* Copying */

static gboolean
write_rows (BastionResultGrid    *self,
            BastionResultFormat   format,
            const guint          *rows,
            guint                 n_rows,
            char                **text,
            GError              **error)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(BastionResultWriter) writer = bastion_result_writer_new (format, stream);

  if (!bastion_result_writer_write_model_rows (writer, self->model, rows, n_rows, error))
    return FALSE;
  if (!g_output_stream_write_all (stream, "", 1, NULL, NULL, error)
      || !g_output_stream_close (stream, NULL, error))
    return FALSE;

  *text = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (stream));
  return TRUE;
}
char *
bastion_result_grid_dup_selection_text (BastionResultGrid    *self,
                                        BastionResultFormat   format,
                                        GError              **error)
{
  g_autoptr(GtkBitset) selected = NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint));
  GtkBitsetIter iter;
  guint position;
  char *text = NULL;

  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);

  if (self->model == NULL)
    return g_strdup ("");

  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  for (gboolean more = gtk_bitset_iter_init_first (&iter, selected, &position);
       more;
       more = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr(BastionResultRow) row = g_list_model_get_item (G_LIST_MODEL (self->sort_model),
                                                               position);
      guint index = bastion_result_row_get_index (row);

      g_array_append_val (rows, index);
    }

  if (rows->len == 0 && self->has_context)
    g_array_append_val (rows, self->context_row);

  if (!write_rows (self, format, (const guint *) rows->data, rows->len, &text, error))
    return NULL;
  return text;
}
static void
set_clipboard (BastionResultGrid *self,
               const char        *text)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
}
static void
copy_rows_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (widget);
  BastionResultFormat format = BASTION_RESULT_FORMAT_TSV;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (!bastion_result_format_parse (g_variant_get_string (param, NULL), &format))
    format = BASTION_RESULT_FORMAT_TSV;

  text = bastion_result_grid_dup_selection_text (self, format, &error);
  if (text == NULL)
    g_warning ("Could not copy the rows: %s", error->message);
  else
    set_clipboard (self, text);
}
static void
copy_cell_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (widget);
  gboolean is_null = FALSE;
  const char *value;

  if (self->model == NULL || !self->has_context)
    return;

  value = bastion_result_model_get_value (self->model, self->context_row, self->context_column,
                                          NULL, &is_null);
  /* A NULL copies as nothing: "NULL" would paste as a four-letter string. */
  set_clipboard (self, is_null ? "" : value);
}
/* One value of a copied column: a tab or line break inside it would split the cell. */
static void
append_cell (GString    *text,
             const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    switch (*p)
      {
      case '\t':
        g_string_append (text, "\\t");
        break;
      case '\n':
        g_string_append (text, "\\n");
        break;
      case '\r':
        g_string_append (text, "\\r");
        break;
      case '\\':
        g_string_append (text, "\\\\");
        break;
      default:
        g_string_append_c (text, *p);
      }
}
char *
bastion_result_grid_dup_cells_text (BastionResultGrid *self)
{
  g_autoptr(GtkBitset) selected = NULL;
  GString *text = g_string_new (NULL);
  GtkBitsetIter iter;
  guint position;
  guint n = 0;

  g_return_val_if_fail (BASTION_IS_RESULT_GRID (self), NULL);

  if (self->model == NULL || !self->has_context)
    return g_string_free (text, FALSE);

  /* The cells of the clicked column in every selected row: one value as it is, several as a
   * TSV column (tabs and line breaks escaped as COPY does). */
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  if (gtk_bitset_get_size (selected) <= 1)
    {
      gboolean is_null = FALSE;
      const char *value = bastion_result_model_get_value (self->model, self->context_row,
                                                          self->context_column, NULL, &is_null);

      g_string_append (text, is_null || value == NULL ? "" : value);
      return g_string_free (text, FALSE);
    }

  for (gboolean more = gtk_bitset_iter_init_first (&iter, selected, &position);
       more;
       more = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr(BastionResultRow) row = g_list_model_get_item (G_LIST_MODEL (self->sort_model),
                                                               position);
      gboolean is_null = FALSE;
      const char *value = bastion_result_model_get_value (self->model,
                                                          bastion_result_row_get_index (row),
                                                          self->context_column, NULL, &is_null);

      if (n++ > 0)
        g_string_append_c (text, '\n');
      if (!is_null && value != NULL)
        append_cell (text, value);
    }
  g_string_append_c (text, '\n');
  return g_string_free (text, FALSE);
}
static void
copy_cells_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (widget);
  g_autofree char *text = NULL;

  /* No cell was chosen (rows picked by keyboard only): the rows, as Shift+Ctrl+C copies them. */
  if (!self->has_context)
    {
      gtk_widget_activate_action (widget, "grid.copy-rows", "s", "tsv");
      return;
    }

  text = bastion_result_grid_dup_cells_text (self);
  set_clipboard (self, text);
}
static void
show_value_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (widget);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->panel_text));
  gboolean is_null = FALSE;
  gsize len = 0;
  const char *value;

  if (self->model == NULL || !self->has_context)
    return;

  value = bastion_result_model_get_value (self->model, self->context_row, self->context_column,
                                          &len, &is_null);
  gtk_label_set_text (GTK_LABEL (self->panel_title),
                      bastion_result_model_get_column_name (self->model, self->context_column));
  gtk_text_buffer_set_text (buffer, "", 0);
  if (is_null)
    gtk_text_buffer_set_text (buffer, "NULL", -1);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (value, MIN (len, PANEL_MAX_BYTES));
      GtkTextIter start;

      /* A value is data: a line broken inside a word gets no hyphen that is not in it. */
      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_insert_with_tags_by_name (buffer, &start, valid, -1, "no-hyphens", NULL);
    }
  gtk_widget_set_visible (self->panel, TRUE);
}
static void
close_panel_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  BastionResultGrid *self = BASTION_RESULT_GRID (widget);

  gtk_widget_set_visible (self->panel, FALSE);
}

/* Clicks on cells */

static gboolean
context_from_cell (BastionResultGrid *self,
                   GtkWidget         *cell)
{
  GtkListItem *item = g_object_get_data (G_OBJECT (cell), "bastion-list-item");
  ColumnData *data = g_object_get_data (G_OBJECT (cell), "bastion-column");
  BastionResultRow *row;

  if (item == NULL || data == NULL || (row = gtk_list_item_get_item (item)) == NULL)
    return FALSE;

  self->context_row = bastion_result_row_get_index (row);
  self->context_column = data->column;
  self->has_context = TRUE;

  if (gtk_widget_get_visible (self->panel))
    show_value_action (GTK_WIDGET (self), NULL, NULL);

  return TRUE;
}
/* @x, @y in the column view's coordinates (where the gesture is). */
static GtkWidget *
find_cell (BastionResultGrid *self,
           double             x,
           double             y)
{
  GtkWidget *picked = gtk_widget_pick (self->column_view, x, y, GTK_PICK_DEFAULT);

  while (picked != NULL && picked != self->column_view)
    {
      if (g_object_get_data (G_OBJECT (picked), "bastion-list-item") != NULL)
        return picked;
      picked = gtk_widget_get_parent (picked);
    }
  return NULL;
}
void
_bastion_result_grid_on_click_pressed (GtkGestureClick   *gesture,
                                       int                n_press,
                                       double             x,
                                       double             y,
                                       BastionResultGrid *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  GtkWidget *cell;

  if (n_press == 2 && button != GDK_BUTTON_SECONDARY)
    {
      g_autoptr(GtkColumnViewColumn) column = _bastion_result_grid_divider_at (self, x, y);

      if (column != NULL)
        {
          _bastion_result_grid_fit_column (self, column);
          gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
          return;
        }
    }

  cell = find_cell (self, x, y);
  if (cell == NULL || !context_from_cell (self, cell))
    return;

  if (button == GDK_BUTTON_SECONDARY)
    {
      GtkListItem *item = g_object_get_data (G_OBJECT (cell), "bastion-list-item");
      guint position = gtk_list_item_get_position (item);
      GdkRectangle rect = { 0, 0, 1, 1 };
      double gx = x;
      double gy = y;

      /* The popover hangs off the grid. */
      gtk_widget_translate_coordinates (self->column_view, GTK_WIDGET (self), x, y, &gx, &gy);
      rect.x = (int) gx;
      rect.y = (int) gy;

      /* Right-clicking outside the selection selects that row, as file managers do. */
      if (!gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), position))
        gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);

      gtk_popover_set_pointing_to (GTK_POPOVER (self->popover), &rect);
      gtk_popover_popup (GTK_POPOVER (self->popover));
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
    }
}
GMenuModel *
_bastion_result_grid_build_context_menu (void)
{
  GMenu *menu = g_menu_new ();
  g_autoptr(GMenu) cell = g_menu_new ();
  g_autoptr(GMenu) rows = g_menu_new ();

  g_menu_append (cell, _("Copy _Value"), "grid.copy-cell");
  g_menu_append (cell, _("_Show Value"), "grid.show-value");
  g_menu_append (rows, _("Copy Rows as _TSV"), "grid.copy-rows::tsv");
  g_menu_append (rows, _("Copy Rows as _CSV"), "grid.copy-rows::csv");
  g_menu_append (rows, _("Copy Rows as _JSON"), "grid.copy-rows::json");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (cell));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (rows));

  return G_MENU_MODEL (menu);
}

void
_bastion_result_grid_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "grid.copy-cell", NULL, copy_cell_action);
  gtk_widget_class_install_action (widget_class, "grid.copy-rows", "s", copy_rows_action);
  gtk_widget_class_install_action (widget_class, "grid.show-value", NULL, show_value_action);
  gtk_widget_class_install_action (widget_class, "grid.close-value", NULL, close_panel_action);
  gtk_widget_class_install_action (widget_class, "grid.copy-cells", NULL, copy_cells_action);
}
