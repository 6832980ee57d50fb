/* bastion-result-grid.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-result-model.h"
#include "bastion-result-writer.h"

G_BEGIN_DECLS

#define BASTION_TYPE_RESULT_GRID (bastion_result_grid_get_type ())

G_DECLARE_FINAL_TYPE (BastionResultGrid, bastion_result_grid, BASTION, RESULT_GRID, GtkWidget)

/* A GtkColumnView over a BastionResultModel: one column per result column, made when the
 * model's columns arrive; cells are only built for the rows on screen. Clicking a header sorts
 * the rows the model holds (client side, so a capped result sorts its first rows only).
 *
 * Actions: grid.copy-cell, grid.copy-rows ("tsv", "csv" or "json"; the selected rows, Ctrl+C
 * for TSV), grid.show-value (the full value of the last clicked cell in the side panel). */
GtkWidget          *bastion_result_grid_new               (void);
BastionResultModel *bastion_result_grid_get_model         (BastionResultGrid   *self);
void                bastion_result_grid_set_model         (BastionResultGrid   *self,
                                                           BastionResultModel  *model);
GtkColumnView      *bastion_result_grid_get_column_view   (BastionResultGrid   *self);
/* The rows in the order shown (sorted), as BastionResultRow items. */
GListModel         *bastion_result_grid_get_rows          (BastionResultGrid   *self);
/* What the cell at @position (in the order shown) and @column shows; *is_null (may be NULL)
 * tells a NULL (shown as a dim italic "NULL") from the text "NULL". */
char               *bastion_result_grid_dup_cell_text     (BastionResultGrid   *self,
                                                           guint                position,
                                                           guint                column,
                                                           gboolean            *is_null);
/* What the tooltip of @cell (a cell widget of the grid) shows when asked for: the whole value
 * when the cell does not show it whole, or NULL. Cells set no tooltip while binding. */
char               *bastion_result_grid_dup_cell_tooltip  (BastionResultGrid   *self,
                                                           GtkWidget           *cell);
/* Bound row widgets: the rows the view has built for the screen. */
guint               bastion_result_grid_get_n_bound_rows  (BastionResultGrid   *self);
/* Writes the selected rows (or, with none selected, the last clicked one) in @format. */
char               *bastion_result_grid_dup_selection_text (BastionResultGrid  *self,
                                                            BastionResultFormat format,
                                                            GError            **error);
/* What Ctrl+C copies: the clicked column's cells in the selected rows (one value as it is,
 * several one per line), or "" when no cell was clicked. */
char               *bastion_result_grid_dup_cells_text    (BastionResultGrid   *self);

G_END_DECLS
