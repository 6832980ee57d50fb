/* bastion-result-row.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "bastion-result-model.h"

G_BEGIN_DECLS

#define BASTION_TYPE_RESULT_ROW (bastion_result_row_get_type ())

G_DECLARE_FINAL_TYPE (BastionResultRow, bastion_result_row, BASTION, RESULT_ROW, GObject)

/* A light handle on one row of a BastionResultModel: the model and an index, no cell data. */
BastionResultRow   *bastion_result_row_new        (BastionResultModel *model,
                                                   guint               index);
BastionResultModel *bastion_result_row_get_model  (BastionResultRow   *self);
guint               bastion_result_row_get_index  (BastionResultRow   *self);
const char         *bastion_result_row_get_value  (BastionResultRow   *self,
                                                   guint               column,
                                                   gsize              *len,
                                                   gboolean           *is_null);

G_END_DECLS
