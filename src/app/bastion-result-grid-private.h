/* bastion-result-grid-private.h: the state the result grid's files share
 *
 *   bastion-result-grid.c          the widget: cells, columns and their widths, sorting, the model
 *   bastion-result-grid-actions.c  copying (cells, rows as TSV/CSV/JSON), the value panel,
 *                                  clicks and the context menu
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-result-grid.h"

G_BEGIN_DECLS

struct _BastionResultGrid
{
  GtkWidget           parent_instance;

  /* Owned */
  BastionResultModel *model;
  GtkSortListModel   *sort_model;
  GtkMultiSelection  *selection;
  GMenuModel         *context_menu;

  /* Children */
  GtkWidget          *paned;
  GtkWidget          *column_view;
  GtkWidget          *panel;
  GtkWidget          *panel_title;
  GtkWidget          *panel_text;
  GtkWidget          *popover;

  gulong              columns_changed_id;
  gulong              items_changed_id;
  guint               n_bound_rows;
  /* The last clicked cell: a row of the model (not of the sorted view) and a column. */
  guint               context_row;
  guint               context_column;
  guint               has_context : 1;
};

typedef struct
{
  BastionResultGrid *grid;  /* unowned: the column lives inside it */
  guint              column;
  guint32            type_oid;
  int                fitted_width;  /* what the grid set; another width is the user's choice */
} ColumnData;

void                 _bastion_result_grid_fit_column         (BastionResultGrid   *self,
                                                              GtkColumnViewColumn *column);
GtkColumnViewColumn *_bastion_result_grid_divider_at         (BastionResultGrid *self,
                                                              double             x,
                                                              double             y);
void                 _bastion_result_grid_on_click_pressed   (GtkGestureClick   *gesture,
                                                              int                n_press,
                                                              double             x,
                                                              double             y,
                                                              BastionResultGrid *self);
GMenuModel          *_bastion_result_grid_build_context_menu (void);
void                 _bastion_result_grid_class_actions_init (GtkWidgetClass *widget_class);

G_END_DECLS
