/* bastion-result-model.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-result-model.h"
#include "bastion-result-row.h"

struct _BastionResultModel
{
  GObject    parent_instance;

  /* Owned */
  GStrv      column_names;
  guint32   *column_types;
  GPtrArray *batches;      /* of BastionResultBatch */
  GArray    *batch_starts; /* guint: index of each batch's first row */

  guint      n_columns;
  guint      n_rows;
  guint      last_batch;   /* lookup hint: views read neighbouring rows */
};

enum {
  PROP_0,
  PROP_N_ITEMS,
  PROP_N_COLUMNS,
  N_PROPS
};

enum {
  COLUMNS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static GType
bastion_result_model_get_item_type (GListModel *model)
{
  return BASTION_TYPE_RESULT_ROW;
}

static guint
bastion_result_model_get_n_items (GListModel *model)
{
  return BASTION_RESULT_MODEL (model)->n_rows;
}

static gpointer
bastion_result_model_get_item (GListModel *model,
                               guint       position)
{
  BastionResultModel *self = BASTION_RESULT_MODEL (model);

  if (position >= self->n_rows)
    return NULL;

  return bastion_result_row_new (self, position);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = bastion_result_model_get_item_type;
  iface->get_n_items = bastion_result_model_get_n_items;
  iface->get_item = bastion_result_model_get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (BastionResultModel, bastion_result_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static void
bastion_result_model_finalize (GObject *object)
{
  BastionResultModel *self = (BastionResultModel *)object;

  g_clear_pointer (&self->column_names, g_strfreev);
  g_clear_pointer (&self->column_types, g_free);
  g_clear_pointer (&self->batches, g_ptr_array_unref);
  g_clear_pointer (&self->batch_starts, g_array_unref);

  G_OBJECT_CLASS (bastion_result_model_parent_class)->finalize (object);
}

static void
bastion_result_model_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  BastionResultModel *self = BASTION_RESULT_MODEL (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->n_rows);
      break;

    case PROP_N_COLUMNS:
      g_value_set_uint (value, self->n_columns);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_result_model_class_init (BastionResultModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_result_model_finalize;
  object_class->get_property = bastion_result_model_get_property;

  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_N_COLUMNS] =
    g_param_spec_uint ("n-columns", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted when the columns are replaced (the rows are gone by then). */
  signals[COLUMNS_CHANGED] =
    g_signal_new ("columns-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
bastion_result_model_init (BastionResultModel *self)
{
  self->column_names = g_new0 (char *, 1);
  self->batches = g_ptr_array_new_with_free_func ((GDestroyNotify)bastion_result_batch_unref);
  self->batch_starts = g_array_new (FALSE, FALSE, sizeof (guint));
}

BastionResultModel *
bastion_result_model_new (void)
{
  return g_object_new (BASTION_TYPE_RESULT_MODEL, NULL);
}

void
bastion_result_model_clear (BastionResultModel *self)
{
  guint removed;

  g_return_if_fail (BASTION_IS_RESULT_MODEL (self));

  removed = self->n_rows;
  g_ptr_array_set_size (self->batches, 0);
  g_array_set_size (self->batch_starts, 0);
  self->n_rows = 0;
  self->last_batch = 0;

  if (removed > 0)
    {
      g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
    }
}

void
bastion_result_model_set_columns (BastionResultModel *self,
                                  guint               n_columns,
                                  const char * const *names,
                                  const guint32      *type_oids)
{
  guint old_n_columns;

  g_return_if_fail (BASTION_IS_RESULT_MODEL (self));
  g_return_if_fail (n_columns == 0 || (names != NULL && type_oids != NULL));

  bastion_result_model_clear (self);

  old_n_columns = self->n_columns;
  g_strfreev (self->column_names);
  g_free (self->column_types);
  self->column_names = g_new0 (char *, n_columns + 1);
  for (guint i = 0; i < n_columns; i++)
    self->column_names[i] = g_strdup (names[i]);
  self->column_types = g_memdup2 (type_oids, sizeof (guint32) * n_columns);
  self->n_columns = n_columns;

  if (old_n_columns != n_columns)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_COLUMNS]);
  g_signal_emit (self, signals[COLUMNS_CHANGED], 0);
}

void
bastion_result_model_append_batch (BastionResultModel *self,
                                   BastionResultBatch *batch)
{
  guint start;
  guint added;

  g_return_if_fail (BASTION_IS_RESULT_MODEL (self));
  g_return_if_fail (batch != NULL);
  g_return_if_fail (bastion_result_batch_get_n_columns (batch) == self->n_columns);

  added = bastion_result_batch_get_n_rows (batch);
  if (added == 0)
    return;

  start = self->n_rows;
  g_ptr_array_add (self->batches, bastion_result_batch_ref (batch));
  g_array_append_val (self->batch_starts, start);
  self->n_rows += added;

  g_list_model_items_changed (G_LIST_MODEL (self), start, 0, added);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

guint
bastion_result_model_get_n_columns (BastionResultModel *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), 0);

  return self->n_columns;
}

const char *
bastion_result_model_get_column_name (BastionResultModel *self,
                                      guint               column)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);
  g_return_val_if_fail (column < self->n_columns, NULL);

  return self->column_names[column];
}

guint32
bastion_result_model_get_column_type (BastionResultModel *self,
                                      guint               column)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), 0);
  g_return_val_if_fail (column < self->n_columns, 0);

  return self->column_types[column];
}

const char * const *
bastion_result_model_get_column_names (BastionResultModel *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);

  return (const char * const *)self->column_names;
}

const guint32 *
bastion_result_model_get_column_types (BastionResultModel *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);

  return self->column_types;
}

guint
bastion_result_model_get_n_rows (BastionResultModel *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), 0);

  return self->n_rows;
}

static guint
find_batch (BastionResultModel *self,
            guint               row)
{
  const guint *starts = (const guint *)(gpointer)self->batch_starts->data;
  guint n = self->batch_starts->len;
  guint lo = 0;
  guint hi = n;

  g_assert (row < self->n_rows);

  if (self->last_batch < n &&
      row >= starts[self->last_batch] &&
      (self->last_batch + 1 == n || row < starts[self->last_batch + 1]))
    return self->last_batch;

  /* The last batch whose start is <= row. */
  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;

      if (starts[mid] <= row)
        lo = mid;
      else
        hi = mid;
    }

  self->last_batch = lo;
  return lo;
}

const char *
bastion_result_model_get_value (BastionResultModel *self,
                                guint               row,
                                guint               column,
                                gsize              *len,
                                gboolean           *is_null)
{
  guint b;

  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);
  g_return_val_if_fail (row < self->n_rows, NULL);
  g_return_val_if_fail (column < self->n_columns, NULL);

  b = find_batch (self, row);

  return bastion_result_batch_get_value (g_ptr_array_index (self->batches, b),
                                         row - g_array_index (self->batch_starts, guint, b),
                                         column, len, is_null);
}

BastionResultBatch *
bastion_result_model_lookup_row (BastionResultModel *self,
                                 guint               row,
                                 guint              *batch_row)
{
  guint b;

  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);

  if (row >= self->n_rows)
    return NULL;

  b = find_batch (self, row);
  if (batch_row != NULL)
    *batch_row = row - g_array_index (self->batch_starts, guint, b);

  return g_ptr_array_index (self->batches, b);
}

guint
bastion_result_model_get_n_batches (BastionResultModel *self)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), 0);

  return self->batches->len;
}

BastionResultBatch *
bastion_result_model_get_batch (BastionResultModel *self,
                                guint               index)
{
  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), NULL);
  g_return_val_if_fail (index < self->batches->len, NULL);

  return g_ptr_array_index (self->batches, index);
}

gsize
bastion_result_model_get_memory_size (BastionResultModel *self)
{
  gsize size;

  g_return_val_if_fail (BASTION_IS_RESULT_MODEL (self), 0);

  size = self->batch_starts->len * sizeof (guint);
  for (guint i = 0; i < self->batches->len; i++)
    size += bastion_result_batch_get_memory_size (g_ptr_array_index (self->batches, i));

  return size;
}
