/* bastion-result-batch.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* A block of result rows (about a thousand) whose cells live in one arena: each cell is a
 * NUL-terminated string in the server's text format, or NULL. Immutable once handed out. */
typedef struct _BastionResultBatch BastionResultBatch;

#define BASTION_TYPE_RESULT_BATCH (bastion_result_batch_get_type ())

GType               bastion_result_batch_get_type       (void) G_GNUC_CONST;
BastionResultBatch *bastion_result_batch_new            (guint                n_columns,
                                                         guint                expected_rows);
BastionResultBatch *bastion_result_batch_ref            (BastionResultBatch  *self);
void                bastion_result_batch_unref          (BastionResultBatch  *self);

/* Building (before the batch is shared): cells are appended row by row, left to right. */
void                bastion_result_batch_append_cell    (BastionResultBatch  *self,
                                                         const char          *value,
                                                         gsize                len,
                                                         gboolean             is_null);
void                bastion_result_batch_seal           (BastionResultBatch  *self);

guint               bastion_result_batch_get_n_rows     (BastionResultBatch  *self);
guint               bastion_result_batch_get_n_columns  (BastionResultBatch  *self);
/* Returns NULL for SQL NULL (and sets *is_null); never NULL otherwise, "" for an empty string. */
const char         *bastion_result_batch_get_value      (BastionResultBatch  *self,
                                                         guint                row,
                                                         guint                column,
                                                         gsize               *len,
                                                         gboolean            *is_null);
gsize               bastion_result_batch_get_memory_size (BastionResultBatch *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionResultBatch, bastion_result_batch_unref)

G_END_DECLS
