/* bastion-result-model.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-result-batch.h"

G_BEGIN_DECLS

#define BASTION_TYPE_RESULT_MODEL (bastion_result_model_get_type ())

G_DECLARE_FINAL_TYPE (BastionResultModel, bastion_result_model, BASTION, RESULT_MODEL, GObject)

/* A GListModel of BastionResultRow. Rows are kept in BastionResultBatch arenas; the row objects
 * are made on demand by g_list_model_get_item(), so a view only pays for what it shows. */
BastionResultModel *bastion_result_model_new               (void);
void                bastion_result_model_set_columns       (BastionResultModel  *self,
                                                            guint                n_columns,
                                                            const char * const  *names,
                                                            const guint32       *type_oids);
void                bastion_result_model_append_batch      (BastionResultModel  *self,
                                                            BastionResultBatch  *batch);
void                bastion_result_model_clear             (BastionResultModel  *self);

guint               bastion_result_model_get_n_columns     (BastionResultModel  *self);
const char         *bastion_result_model_get_column_name   (BastionResultModel  *self,
                                                            guint                column);
guint32             bastion_result_model_get_column_type   (BastionResultModel  *self,
                                                            guint                column);
/* The column names, NULL-terminated, borrowed. */
const char * const *bastion_result_model_get_column_names  (BastionResultModel  *self);
const guint32      *bastion_result_model_get_column_types  (BastionResultModel  *self);
guint               bastion_result_model_get_n_rows        (BastionResultModel  *self);
const char         *bastion_result_model_get_value         (BastionResultModel  *self,
                                                            guint                row,
                                                            guint                column,
                                                            gsize               *len,
                                                            gboolean            *is_null);
/* The batch holding @row (borrowed) and the row's index inside it; NULL when out of range. */
BastionResultBatch *bastion_result_model_lookup_row        (BastionResultModel  *self,
                                                            guint                row,
                                                            guint               *batch_row);
guint               bastion_result_model_get_n_batches     (BastionResultModel  *self);
BastionResultBatch *bastion_result_model_get_batch         (BastionResultModel  *self,
                                                            guint                index);
/* Bytes held by the rows' arenas and index (not counting row objects a view holds). */
gsize               bastion_result_model_get_memory_size   (BastionResultModel  *self);

G_END_DECLS
