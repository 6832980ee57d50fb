/* bastion-catalog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-catalog.h"
#include "bastion-query.h"

/* One query: the kind, schema, table, name and detail of everything completion offers. System
 * schemas are left out, but pg_catalog's callable functions are in (count, now, date_trunc). */
static const char catalog_sql[] =
  "SELECT 'S', n.nspname, NULL, NULL, NULL"
  "  FROM pg_catalog.pg_namespace n"
  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
  " UNION ALL "
  "SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'V' ELSE 'T' END, n.nspname, NULL, c.relname,"
  "       pg_catalog.obj_description(c.oid, 'pg_class')"
  "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
  " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
  "   AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
  " UNION ALL "
  "SELECT 'C', n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)"
  "  FROM pg_catalog.pg_attribute a"
  "  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
  "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
  " WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
  "   AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
  " UNION ALL "
  "SELECT * FROM (SELECT DISTINCT 'F', n.nspname, NULL::name, p.proname, NULL::text"
  "  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
  " WHERE p.prokind IN ('f', 'a', 'w')"
  "   AND p.prorettype NOT IN ('pg_catalog.internal'::pg_catalog.regtype,"
  "                            'pg_catalog.cstring'::pg_catalog.regtype,"
  "                            'pg_catalog.trigger'::pg_catalog.regtype,"
  "                            'pg_catalog.event_trigger'::pg_catalog.regtype,"
  "                            'pg_catalog.language_handler'::pg_catalog.regtype)"
  "   AND p.proname !~ '^_'"
  "   AND (n.nspname = 'pg_catalog'"
  "        OR (n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'))) f";

struct _BastionCatalog
{
  GObject          parent_instance;

  /* Owned */
  BastionDatabase *database;
  BastionQuery    *query;
  GPtrArray       *items;      /* BastionCatalogItem */
  GHashTable      *columns;    /* "schema\ttable" → GPtrArray of borrowed column items */
  GHashTable      *schemas;    /* set of schema names (borrowed from items) */
  gulong           busy_id;
  gulong           connected_id;

  guint            loaded : 1;
  guint            wanted : 1;  /* a load waits for the database */
};

G_DEFINE_FINAL_TYPE (BastionCatalog, bastion_catalog, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_load (BastionCatalog *self);

static void
item_free (BastionCatalogItem *item)
{
  g_free (item->schema);
  g_free (item->table);
  g_free (item->name);
  g_free (item->detail);
  g_free (item);
}

static char *
table_key (const char *schema,
           const char *table)
{
  return g_strconcat (schema, "\t", table, NULL);
}

static BastionCatalogKind
kind_of (const char *code)
{
  switch (code != NULL ? code[0] : 0)
    {
    case 'S':
      return BASTION_CATALOG_SCHEMA;
    case 'T':
      return BASTION_CATALOG_TABLE;
    case 'V':
      return BASTION_CATALOG_VIEW;
    case 'C':
      return BASTION_CATALOG_COLUMN;
    case 'F':
      return BASTION_CATALOG_FUNCTION;
    default:
      return 0;
    }
}

/* Replaces the contents with the query's rows. */
static void
take_rows (BastionCatalog *self,
           BastionQuery   *query)
{
  BastionResultModel *model = bastion_query_get_model (query);
  guint n = MIN (bastion_result_model_get_n_rows (model), BASTION_CATALOG_MAX_ITEMS);
  g_autoptr(GPtrArray) items = g_ptr_array_new_full (n, (GDestroyNotify) item_free);
  g_autoptr(GHashTable) columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GHashTable) schemas = g_hash_table_new (g_str_hash, g_str_equal);

  if (bastion_result_model_get_n_columns (model) != 5)
    return;

  for (guint i = 0; i < n; i++)
    {
      BastionCatalogKind kind = kind_of (bastion_result_model_get_value (model, i, 0, NULL, NULL));
      BastionCatalogItem *item;

      if (kind == 0)
        continue;
      item = g_new0 (BastionCatalogItem, 1);
      item->kind = kind;
      item->schema = g_strdup (bastion_result_model_get_value (model, i, 1, NULL, NULL));
      item->table = g_strdup (bastion_result_model_get_value (model, i, 2, NULL, NULL));
      item->name = g_strdup (bastion_result_model_get_value (model, i, 3, NULL, NULL));
      item->detail = g_strdup (bastion_result_model_get_value (model, i, 4, NULL, NULL));
      if (item->schema == NULL || (kind != BASTION_CATALOG_SCHEMA && item->name == NULL))
        {
          item_free (item);
          continue;
        }
      g_ptr_array_add (items, item);

      if (kind == BASTION_CATALOG_SCHEMA)
        g_hash_table_add (schemas, item->schema);
      else if (kind == BASTION_CATALOG_COLUMN && item->table != NULL)
        {
          g_autofree char *key = table_key (item->schema, item->table);
          GPtrArray *list = g_hash_table_lookup (columns, key);

          if (list == NULL)
            {
              list = g_ptr_array_new ();
              g_hash_table_insert (columns, g_steal_pointer (&key), list);
            }
          g_ptr_array_add (list, item);
        }
    }

  /* Columns index the items: swap them together. */
  g_clear_pointer (&self->columns, g_hash_table_unref);
  g_clear_pointer (&self->schemas, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  self->items = g_steal_pointer (&items);
  self->columns = g_steal_pointer (&columns);
  self->schemas = g_steal_pointer (&schemas);
  self->loaded = TRUE;
  g_debug ("Catalogue: %u items", self->items->len);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
load_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(BastionCatalog) self = user_data;
  BastionQuery *query = BASTION_QUERY (object);
  g_autoptr(GError) error = NULL;

  if (!bastion_query_run_finish (query, result, &error))
    g_debug ("Catalogue not read: %s", error->message);
  if (self->query != query)
    return;

  /* A cancelled or failed read keeps what was there (stale is fine). */
  if (error == NULL)
    take_rows (self, query);
  g_clear_object (&self->query);
  if (self->wanted)
    start_load (self);
}

static void
on_state (BastionCatalog *self,
          GParamSpec     *pspec,
          BastionQuery   *query)
{
  /* The row cap: use what came and let the connection go. */
  if (query == self->query && bastion_query_get_state (query) == BASTION_QUERY_STATE_PAUSED)
    {
      take_rows (self, query);
      bastion_query_cancel (query);
    }
}

static void
start_load (BastionCatalog *self)
{
  if (self->query != NULL || self->database == NULL
      || !bastion_database_get_connected (self->database)
      || bastion_database_get_busy (self->database))
    return;

  self->wanted = FALSE;
  self->query = bastion_query_new (self->database, catalog_sql);
  bastion_query_set_max_rows (self->query, BASTION_CATALOG_MAX_ITEMS);
  g_signal_connect_object (self->query, "notify::state", G_CALLBACK (on_state), self,
                           G_CONNECT_SWAPPED);
  bastion_query_run_async (self->query, NULL, load_cb, g_object_ref (self));
}

static void
on_database_changed (BastionCatalog *self)
{
  if (self->wanted)
    start_load (self);
}

static void
bastion_catalog_dispose (GObject *object)
{
  BastionCatalog *self = BASTION_CATALOG (object);

  if (self->database != NULL)
    {
      g_clear_signal_handler (&self->busy_id, self->database);
      g_clear_signal_handler (&self->connected_id, self->database);
    }
  if (self->query != NULL)
    bastion_query_cancel (self->query);
  g_clear_object (&self->query);
  g_clear_object (&self->database);

  G_OBJECT_CLASS (bastion_catalog_parent_class)->dispose (object);
}

static void
bastion_catalog_finalize (GObject *object)
{
  BastionCatalog *self = BASTION_CATALOG (object);

  g_clear_pointer (&self->columns, g_hash_table_unref);
  g_clear_pointer (&self->schemas, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (bastion_catalog_parent_class)->finalize (object);
}

static void
bastion_catalog_class_init (BastionCatalogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_catalog_dispose;
  object_class->finalize = bastion_catalog_finalize;

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bastion_catalog_init (BastionCatalog *self)
{
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  self->columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_ptr_array_unref);
  self->schemas = g_hash_table_new (g_str_hash, g_str_equal);
}

BastionCatalog *
bastion_catalog_new (BastionDatabase *database)
{
  BastionCatalog *self;

  g_return_val_if_fail (BASTION_IS_DATABASE (database), NULL);

  self = g_object_new (BASTION_TYPE_CATALOG, NULL);
  self->database = g_object_ref (database);
  self->busy_id = g_signal_connect_swapped (database, "notify::busy",
                                            G_CALLBACK (on_database_changed), self);
  self->connected_id = g_signal_connect_swapped (database, "notify::connected",
                                                 G_CALLBACK (on_database_changed), self);
  return self;
}

BastionDatabase *
bastion_catalog_get_database (BastionCatalog *self)
{
  g_return_val_if_fail (BASTION_IS_CATALOG (self), NULL);
  return self->database;
}

void
bastion_catalog_refresh (BastionCatalog *self)
{
  g_return_if_fail (BASTION_IS_CATALOG (self));

  self->wanted = TRUE;
  start_load (self);
}

gboolean
bastion_catalog_get_loaded (BastionCatalog *self)
{
  g_return_val_if_fail (BASTION_IS_CATALOG (self), FALSE);
  return self->loaded;
}

gboolean
bastion_catalog_get_loading (BastionCatalog *self)
{
  g_return_val_if_fail (BASTION_IS_CATALOG (self), FALSE);
  return self->query != NULL || self->wanted;
}

const BastionCatalogItem * const *
bastion_catalog_get_items (BastionCatalog *self,
                           guint          *n_items)
{
  g_return_val_if_fail (BASTION_IS_CATALOG (self), NULL);

  if (n_items != NULL)
    *n_items = self->items->len;
  return (const BastionCatalogItem * const *) self->items->pdata;
}

GPtrArray *
bastion_catalog_dup_columns (BastionCatalog *self,
                             const char     *schema,
                             const char     *table)
{
  GPtrArray *list = NULL;

  g_return_val_if_fail (BASTION_IS_CATALOG (self), NULL);
  g_return_val_if_fail (table != NULL, NULL);

  if (schema != NULL)
    {
      g_autofree char *key = table_key (schema, table);

      list = g_hash_table_lookup (self->columns, key);
    }
  else
    {
      g_autofree char *key = table_key ("public", table);
      GHashTableIter iter;
      gpointer k, v;

      list = g_hash_table_lookup (self->columns, key);
      g_hash_table_iter_init (&iter, self->columns);
      while (list == NULL && g_hash_table_iter_next (&iter, &k, &v))
        if (g_str_equal (strchr (k, '\t') + 1, table))
          list = v;
    }

  return list != NULL ? g_ptr_array_copy (list, NULL, NULL) : g_ptr_array_new ();
}

gboolean
bastion_catalog_has_schema (BastionCatalog *self,
                            const char     *schema)
{
  g_return_val_if_fail (BASTION_IS_CATALOG (self), FALSE);
  return schema != NULL && g_hash_table_contains (self->schemas, schema);
}
