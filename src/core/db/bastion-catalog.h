/* bastion-catalog.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-database.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_CATALOG_SCHEMA = 1,
  BASTION_CATALOG_TABLE,
  BASTION_CATALOG_VIEW,
  BASTION_CATALOG_COLUMN,
  BASTION_CATALOG_FUNCTION,
} BastionCatalogKind;

typedef struct
{
  BastionCatalogKind kind;
  char              *schema;
  char              *table;    /* columns only */
  char              *name;
  char              *detail;   /* a column's type, a table's comment; may be NULL */
} BastionCatalogItem;

/* Rows read at most; a larger catalogue is used as far as it was read. */
#define BASTION_CATALOG_MAX_ITEMS 200000

#define BASTION_TYPE_CATALOG (bastion_catalog_get_type ())

/* What a connected database holds (schemas, tables, views, their columns, functions), read from
 * pg_catalog in one query on the database's own asynchronous path, whenever the database is
 * free. Lookups only read what was last loaded: they never wait on the network.
 *
 * Signals: changed () after a load replaced the contents. */
G_DECLARE_FINAL_TYPE (BastionCatalog, bastion_catalog, BASTION, CATALOG, GObject)

BastionCatalog           *bastion_catalog_new          (BastionDatabase *database);
BastionDatabase          *bastion_catalog_get_database (BastionCatalog  *self);
/* Reads the catalogue again (as soon as the database is connected and not busy). */
void                      bastion_catalog_refresh      (BastionCatalog  *self);
gboolean                  bastion_catalog_get_loaded   (BastionCatalog  *self);
gboolean                  bastion_catalog_get_loading  (BastionCatalog  *self);
/* Every item (borrowed, valid until the next "changed"). */
const BastionCatalogItem * const *bastion_catalog_get_items (BastionCatalog *self,
                                                             guint          *n_items);
/* The columns of @table (in @schema, or the first schema that has it, "public" first), in
 * table order; borrowed items. */
GPtrArray                *bastion_catalog_dup_columns  (BastionCatalog  *self,
                                                        const char      *schema,
                                                        const char      *table);
gboolean                  bastion_catalog_has_schema   (BastionCatalog  *self,
                                                        const char      *schema);

G_END_DECLS
