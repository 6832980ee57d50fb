/* bastion-result-row.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-result-row.h"

struct _BastionResultRow
{
  GObject             parent_instance;

  /* Owned */
  BastionResultModel *model;

  guint               index;
};

G_DEFINE_FINAL_TYPE (BastionResultRow, bastion_result_row, G_TYPE_OBJECT)

static void
bastion_result_row_dispose (GObject *object)
{
  BastionResultRow *self = (BastionResultRow *)object;

  g_clear_object (&self->model);

  G_OBJECT_CLASS (bastion_result_row_parent_class)->dispose (object);
}

static void
bastion_result_row_class_init (BastionResultRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_result_row_dispose;
}

static void
bastion_result_row_init (BastionResultRow *self)
{
}

BastionResultRow *
bastion_result_row_new (BastionResultModel *model,
                        guint               index)
{
  BastionResultRow *self;

  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (model), NULL);

  self = g_object_new (BASTION_TYPE_RESULT_ROW, NULL);
  self->model = g_object_ref (model);
  self->index = index;

  return self;
}

BastionResultModel *
bastion_result_row_get_model (BastionResultRow *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_ROW (self), NULL);

  return self->model;
}

guint
bastion_result_row_get_index (BastionResultRow *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_ROW (self), 0);

  return self->index;
}

const char *
bastion_result_row_get_value (BastionResultRow *self,
                              guint             column,
                              gsize            *len,
                              gboolean         *is_null)
{
  g_return_val_if_fail (BASTION_IS_RESULT_ROW (self), NULL);

  return bastion_result_model_get_value (self->model, self->index, column, len, is_null);
}
