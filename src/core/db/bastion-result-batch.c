/* bastion-result-batch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-result-batch.h"

#define NULL_OFFSET G_MAXUINT32

typedef struct
{
  guint32 offset;  /* into the arena, NULL_OFFSET for SQL NULL */
  guint32 len;
} Cell;

struct _BastionResultBatch
{
  gatomicrefcount  ref_count;
  guint            n_columns;
  guint            n_rows;
  guint            n_cells;
  guint            cells_alloc;
  Cell            *cells;
  char            *arena;
  gsize            arena_len;
  gsize            arena_alloc;
  guint            sealed : 1;
};

G_DEFINE_BOXED_TYPE (BastionResultBatch, bastion_result_batch,
                     bastion_result_batch_ref, bastion_result_batch_unref)

BastionResultBatch *
bastion_result_batch_new (guint n_columns,
                          guint expected_rows)
{
  BastionResultBatch *self = g_new0 (BastionResultBatch, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->n_columns = n_columns;
  self->cells_alloc = MAX (1, n_columns * MAX (expected_rows, 1));
  self->cells = g_new (Cell, self->cells_alloc);
  self->arena_alloc = 16 * self->cells_alloc;
  self->arena = g_malloc (self->arena_alloc);

  return self;
}

BastionResultBatch *
bastion_result_batch_ref (BastionResultBatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
bastion_result_batch_unref (BastionResultBatch *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_free (self->cells);
      g_free (self->arena);
      g_free (self);
    }
}

void
bastion_result_batch_append_cell (BastionResultBatch *self,
                                  const char         *value,
                                  gsize               len,
                                  gboolean            is_null)
{
  Cell *cell;

  g_return_if_fail (self != NULL);
  g_return_if_fail (!self->sealed);
  g_return_if_fail (self->n_columns > 0);
  g_return_if_fail (len < G_MAXUINT32);

  if (self->n_cells == self->cells_alloc)
    {
      self->cells_alloc *= 2;
      self->cells = g_renew (Cell, self->cells, self->cells_alloc);
    }

  cell = &self->cells[self->n_cells++];

  if (is_null)
    {
      cell->offset = NULL_OFFSET;
      cell->len = 0;
    }
  else
    {
      if (self->arena_len + len + 1 > self->arena_alloc)
        {
          while (self->arena_len + len + 1 > self->arena_alloc)
            self->arena_alloc *= 2;
          self->arena = g_realloc (self->arena, self->arena_alloc);
        }

      /* The arena must stay addressable by 32-bit offsets. */
      g_assert (self->arena_len + len + 1 < NULL_OFFSET);

      cell->offset = self->arena_len;
      cell->len = len;
      if (len > 0)
        memcpy (self->arena + self->arena_len, value, len);
      self->arena[self->arena_len + len] = '\0';
      self->arena_len += len + 1;
    }

  if (self->n_cells % self->n_columns == 0)
    self->n_rows++;
}

/* Gives back the slack of the growing buffers; the batch is read-only from now on. */
void
bastion_result_batch_seal (BastionResultBatch *self)
{
  g_return_if_fail (self != NULL);

  if (self->sealed)
    return;

  g_return_if_fail (self->n_cells % MAX (self->n_columns, 1) == 0);

  self->sealed = TRUE;
  if (self->cells_alloc > self->n_cells)
    {
      self->cells_alloc = MAX (self->n_cells, 1);
      self->cells = g_renew (Cell, self->cells, self->cells_alloc);
    }
  if (self->arena_alloc > self->arena_len)
    {
      self->arena_alloc = MAX (self->arena_len, 1);
      self->arena = g_realloc (self->arena, self->arena_alloc);
    }
}

guint
bastion_result_batch_get_n_rows (BastionResultBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_rows;
}

guint
bastion_result_batch_get_n_columns (BastionResultBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_columns;
}

const char *
bastion_result_batch_get_value (BastionResultBatch *self,
                                guint               row,
                                guint               column,
                                gsize              *len,
                                gboolean           *is_null)
{
  const Cell *cell;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (row < self->n_rows, NULL);
  g_return_val_if_fail (column < self->n_columns, NULL);

  cell = &self->cells[row * self->n_columns + column];

  if (cell->offset == NULL_OFFSET)
    {
      if (len)
        *len = 0;
      if (is_null)
        *is_null = TRUE;
      return NULL;
    }

  if (len)
    *len = cell->len;
  if (is_null)
    *is_null = FALSE;
  return self->arena + cell->offset;
}

gsize
bastion_result_batch_get_memory_size (BastionResultBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return sizeof *self + self->cells_alloc * sizeof (Cell) + self->arena_alloc;
}
