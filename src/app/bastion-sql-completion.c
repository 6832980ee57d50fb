/* bastion-sql-completion.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-sql-completion.h"
#include "bastion-sql-text.h"

/* Proposals shown at most: a catalogue of thousands of functions filtered by one letter. */
#define MAX_PROPOSALS 500

/* Proposal */

struct _BastionSqlProposal
{
  GObject  parent_instance;

  int      kind;
  char    *name;
  char    *text;
  char    *detail;
};

static void bastion_sql_proposal_iface_init (GtkSourceCompletionProposalInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BastionSqlProposal, bastion_sql_proposal, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GTK_SOURCE_TYPE_COMPLETION_PROPOSAL,
                                                      bastion_sql_proposal_iface_init))

static char *
bastion_sql_proposal_get_typed_text (GtkSourceCompletionProposal *proposal)
{
  return g_strdup (BASTION_SQL_PROPOSAL (proposal)->text);
}

static void
bastion_sql_proposal_iface_init (GtkSourceCompletionProposalInterface *iface)
{
  iface->get_typed_text = bastion_sql_proposal_get_typed_text;
}

static void
bastion_sql_proposal_finalize (GObject *object)
{
  BastionSqlProposal *self = BASTION_SQL_PROPOSAL (object);

  g_free (self->name);
  g_free (self->text);
  g_free (self->detail);

  G_OBJECT_CLASS (bastion_sql_proposal_parent_class)->finalize (object);
}

static void
bastion_sql_proposal_class_init (BastionSqlProposalClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bastion_sql_proposal_finalize;
}

static void
bastion_sql_proposal_init (BastionSqlProposal *self)
{
}

static BastionSqlProposal *
proposal_new (int         kind,
              const char *name,
              const char *text,
              const char *detail)
{
  BastionSqlProposal *self = g_object_new (BASTION_TYPE_SQL_PROPOSAL, NULL);

  self->kind = kind;
  self->name = g_strdup (name);
  self->text = g_strdup (text);
  self->detail = g_strdup (detail);
  return self;
}

int
bastion_sql_proposal_get_kind (BastionSqlProposal *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_PROPOSAL (self), 0);
  return self->kind;
}

const char *
bastion_sql_proposal_get_name (BastionSqlProposal *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_PROPOSAL (self), NULL);
  return self->name;
}

const char *
bastion_sql_proposal_get_text (BastionSqlProposal *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_PROPOSAL (self), NULL);
  return self->text;
}

const char *
bastion_sql_proposal_get_detail (BastionSqlProposal *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_PROPOSAL (self), NULL);
  return self->detail;
}

/* Statement analysis */

static const char * const keywords[] = {
  "SELECT", "FROM", "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS",
  "NATURAL", "LATERAL", "ON", "USING", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET",
  "FETCH FIRST", "WINDOW", "OVER", "PARTITION BY", "INSERT INTO", "VALUES", "UPDATE", "SET",
  "DELETE FROM", "RETURNING", "WITH", "RECURSIVE", "AS", "DISTINCT", "DISTINCT ON", "CASE",
  "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "NULL", "IS NULL", "IS NOT NULL", "IN",
  "EXISTS", "BETWEEN", "LIKE", "ILIKE", "SIMILAR TO", "ANY", "ALL", "UNION", "UNION ALL",
  "EXCEPT", "INTERSECT", "ASC", "DESC", "NULLS FIRST", "NULLS LAST", "CAST", "TRUE", "FALSE",
  "INTERVAL", "DATE", "TIMESTAMP", "EXPLAIN", "ANALYZE", "BEGIN", "COMMIT", "ROLLBACK",
  "CREATE", "TABLE", "VIEW", "INDEX", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE",
  "FILTER", "COLLATE", "DEFAULT", "PRIMARY KEY", "REFERENCES", "CONSTRAINT", "COPY",
  "SHOW", "VACUUM",
};

/* Words after a table reference that are not its alias. */
static const char * const not_alias[] = {
  "where", "join", "left", "right", "inner", "outer", "full", "cross", "natural", "on",
  "using", "group", "order", "having", "limit", "offset", "fetch", "window", "union",
  "except", "intersect", "set", "returning", "values", "select", "for", "tablesample",
  "default", "as", NULL,
};

/* Words that end a FROM list (after them a "," is not another table). */
static const char * const end_from[] = {
  "where", "group", "order", "having", "limit", "offset", "fetch", "window", "union",
  "except", "intersect", "set", "returning", "values", "select", "on", "using", NULL,
};

/* What SimpleIOT's tables hold (SIMPLEIOT-FACTS.md), for tables without a comment. */
static const struct { const char *table; const char *meaning; } simpleiot_tables[] = {
  { "project", N_("SimpleIOT project: groups models and devices") },
  { "model", N_("Device model of a project (hardware, firmware, protocols)") },
  { "datatype", N_("A value a model's devices report (name, units)") },
  { "device", N_("A device of a model: serial number, status, location") },
  { "data", N_("Device telemetry: one value of a data type at a timestamp") },
  { "setting", N_("Project setting (name, value)") },
  { "systemsetting", N_("Installation setting, one per config.json key") },
  { "role", N_("User role (Administrator, User)") },
  { "user", N_("Dashboard user") },
  { "role_user", N_("Which user has which role") },
  { "firmware", N_("Firmware release for a model or a device") },
  { "updatesession", N_("Firmware update campaign") },
  { "updatetarget", N_("A device in a firmware update session") },
  { "devicegroup", N_("Named group of devices") },
  { "devicetag", N_("Name and value tagged on a device") },
  { "location", N_("Place where devices are installed") },
  { "template", N_("Project template") },
  { "generator", N_("Code generator for a device platform") },
};

typedef enum
{
  TOKEN_WORD,       /* a plain identifier or keyword, folded to lower case */
  TOKEN_QUOTED,     /* a "quoted" identifier, as written inside the quotes */
  TOKEN_PUNCT,
} TokenKind;

typedef struct
{
  TokenKind kind;
  char     *text;
} Token;

typedef struct
{
  char *schema;
  char *table;
  char *alias;
} TableRef;

static void
token_clear (Token *token)
{
  g_free (token->text);
}

static void
table_ref_clear (TableRef *ref)
{
  g_free (ref->schema);
  g_free (ref->table);
  g_free (ref->alias);
}

static gboolean
is_ident_char (gunichar c)
{
  return g_unichar_isalnum (c) || c == '_' || c == '$';
}

/* Skips a string, dollar-quoted string or comment starting at p; returns where it ends, or p
 * when none starts there. */
static const char *
skip_literal (const char *p,
              const char *end)
{
  if (*p == '\'' || ((*p == 'e' || *p == 'E') && p + 1 < end && p[1] == '\''))
    {
      p += *p == '\'' ? 1 : 2;
      while (p < end && !(*p == '\'' && (p + 1 >= end || p[1] != '\'')))
        p += (*p == '\'' || *p == '\\') ? 2 : 1;
      return MIN (p + 1, end);
    }
  if (*p == '-' && p + 1 < end && p[1] == '-')
    {
      const char *nl = memchr (p, '\n', end - p);

      return nl != NULL ? nl + 1 : end;
    }
  if (*p == '/' && p + 1 < end && p[1] == '*')
    {
      const char *close = g_strstr_len (p + 2, end - p - 2, "*/");

      return close != NULL ? close + 2 : end;
    }
  if (*p == '$')
    {
      const char *q = p + 1;
      g_autofree char *tag = NULL;
      const char *close;

      while (q < end && (g_ascii_isalnum (*q) || *q == '_'))
        q++;
      if (q >= end || *q != '$' || (q > p + 1 && g_ascii_isdigit (p[1])))
        return p;
      tag = g_strndup (p, q - p + 1);
      close = g_strstr_len (q + 1, end - q - 1, tag);
      return close != NULL ? close + strlen (tag) : end;
    }
  return p;
}

static GArray *
tokenize (const char *text,
          gsize       len)
{
  GArray *tokens = g_array_new (FALSE, FALSE, sizeof (Token));
  const char *p = text;
  const char *end = text + len;

  g_array_set_clear_func (tokens, (GDestroyNotify) token_clear);

  while (p < end)
    {
      const char *after = skip_literal (p, end);
      Token token;

      if (after != p)
        {
          p = after;
          continue;
        }
      if (g_ascii_isspace (*p))
        {
          p++;
          continue;
        }
      if (*p == '"')
        {
          GString *name = g_string_new (NULL);

          for (p++; p < end; p++)
            {
              if (*p == '"' && p + 1 < end && p[1] == '"')
                g_string_append_c (name, *p++);
              else if (*p == '"')
                break;
              else
                g_string_append_c (name, *p);
            }
          p = MIN (p + 1, end);
          token.kind = TOKEN_QUOTED;
          token.text = g_string_free (name, FALSE);
        }
      else if (is_ident_char (g_utf8_get_char_validated (p, end - p)))
        {
          const char *start = p;

          while (p < end && is_ident_char (g_utf8_get_char_validated (p, end - p)))
            p = g_utf8_next_char (p);
          token.kind = TOKEN_WORD;
          token.text = g_utf8_strdown (start, p - start);
        }
      else
        {
          token.kind = TOKEN_PUNCT;
          token.text = g_strndup (p, 1);
          p++;
        }
      g_array_append_val (tokens, token);
    }
  return tokens;
}

static gboolean
token_is (GArray     *tokens,
          guint       i,
          const char *word)
{
  Token *token;

  if (i >= tokens->len)
    return FALSE;
  token = &g_array_index (tokens, Token, i);
  return token->kind != TOKEN_QUOTED && g_str_equal (token->text, word);
}

static gboolean
token_is_name (GArray *tokens,
               guint   i)
{
  Token *token;

  if (i >= tokens->len)
    return FALSE;
  token = &g_array_index (tokens, Token, i);
  return token->kind == TOKEN_QUOTED
         || (token->kind == TOKEN_WORD && !g_ascii_isdigit (token->text[0]));
}

/* Parses "[schema.]table [[AS] alias]" at *i. */
static gboolean
parse_table_ref (GArray   *tokens,
                 guint    *i,
                 TableRef *ref)
{
  const char *first;

  while (token_is (tokens, *i, "only") || token_is (tokens, *i, "lateral"))
    (*i)++;
  if (!token_is_name (tokens, *i))
    return FALSE;

  first = g_array_index (tokens, Token, *i).text;
  (*i)++;
  if (token_is (tokens, *i, ".") && token_is_name (tokens, *i + 1))
    {
      ref->schema = g_strdup (first);
      ref->table = g_strdup (g_array_index (tokens, Token, *i + 1).text);
      *i += 2;
    }
  else if (token_is (tokens, *i, "."))
    /* "schema." being typed: not a table yet. */
    return FALSE;
  else
    ref->table = g_strdup (first);

  if (token_is (tokens, *i, "as"))
    (*i)++;
  if (token_is_name (tokens, *i)
      && (g_array_index (tokens, Token, *i).kind == TOKEN_QUOTED
          || !g_strv_contains (not_alias, g_array_index (tokens, Token, *i).text)))
    {
      ref->alias = g_strdup (g_array_index (tokens, Token, *i).text);
      (*i)++;
    }
  return TRUE;
}

/* The tables a statement reads or writes, with their aliases. */
static GArray *
find_table_refs (GArray *tokens)
{
  GArray *refs = g_array_new (FALSE, TRUE, sizeof (TableRef));
  gboolean in_from = FALSE;

  g_array_set_clear_func (refs, (GDestroyNotify) table_ref_clear);

  for (guint i = 0; i < tokens->len;)
    {
      gboolean starts = token_is (tokens, i, "from") || token_is (tokens, i, "join")
                        || token_is (tokens, i, "update") || token_is (tokens, i, "into")
                        || (in_from && token_is (tokens, i, ","));
      TableRef ref = { NULL, NULL, NULL };

      if (!starts)
        {
          Token *token = &g_array_index (tokens, Token, i);

          if (token->kind == TOKEN_WORD && g_strv_contains (end_from, token->text))
            in_from = FALSE;
          i++;
          continue;
        }

      in_from = token_is (tokens, i, "from") || token_is (tokens, i, "join") || in_from;
      i++;
      if (parse_table_ref (tokens, &i, &ref))
        g_array_append_val (refs, ref);
    }
  return refs;
}

/* Where the word being typed starts (a leading '"' included), and the name before a '.' in
 * front of it, if any. */
static gsize
find_word (const char  *text,
           gsize        cursor,
           char       **qualifier)
{
  gsize start = cursor;

  *qualifier = NULL;
  while (start > 0)
    {
      const char *prev = g_utf8_find_prev_char (text, text + start);

      if (prev == NULL || !is_ident_char (g_utf8_get_char (prev)))
        break;
      start = prev - text;
    }
  if (start > 0 && text[start - 1] == '"')
    start--;

  if (start > 0 && text[start - 1] == '.')
    {
      gsize q_end = start - 1;
      gsize q_start = q_end;

      if (q_end > 0 && text[q_end - 1] == '"')
        {
          const char *open = g_strrstr_len (text, q_end - 1, "\"");

          if (open != NULL)
            *qualifier = g_strndup (open + 1, text + q_end - 1 - open - 1);
        }
      else
        {
          while (q_start > 0)
            {
              const char *prev = g_utf8_find_prev_char (text, text + q_start);

              if (prev == NULL || !is_ident_char (g_utf8_get_char (prev)))
                break;
              q_start = prev - text;
            }
          if (q_start < q_end)
            *qualifier = g_utf8_strdown (text + q_start, q_end - q_start);
        }
    }
  return start;
}

/* Provider */

struct _BastionSqlCompletion
{
  GObject         parent_instance;

  /* Owned */
  BastionCatalog *catalog;
  GListModel     *last_proposals;
};

static void bastion_sql_completion_provider_init (GtkSourceCompletionProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BastionSqlCompletion, bastion_sql_completion, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GTK_SOURCE_TYPE_COMPLETION_PROVIDER,
                                                      bastion_sql_completion_provider_init))

typedef struct
{
  GListStore *store;
  GHashTable *seen;       /* kind + text already proposed */
  const char *prefix;     /* as typed; a leading '"' matches case-sensitively */
  gboolean    lower;      /* the prefix is lower case: keywords too */
} Collector;

static gboolean
matches (Collector  *collector,
         const char *name)
{
  const char *prefix = collector->prefix;

  if (*prefix == '"')
    return g_str_has_prefix (name, prefix + 1);
  return g_ascii_strncasecmp (name, prefix, strlen (prefix)) == 0;
}

static void
collect (Collector  *collector,
         int         kind,
         const char *name,
         const char *detail)
{
  g_autofree char *text = NULL;
  g_autofree char *key = NULL;
  g_autoptr(BastionSqlProposal) proposal = NULL;

  if (g_list_model_get_n_items (G_LIST_MODEL (collector->store)) >= MAX_PROPOSALS
      || !matches (collector, name))
    return;

  if (kind == 0)
    text = collector->lower ? g_ascii_strdown (name, -1) : g_strdup (name);
  else
    text = bastion_sql_quote_identifier (name);
  key = g_strdup_printf ("%d:%s", kind, text);
  if (!g_hash_table_add (collector->seen, g_steal_pointer (&key)))
    return;

  proposal = proposal_new (kind, name, text, detail);
  g_list_store_append (collector->store, proposal);
}

static const char *
table_detail (const BastionCatalogItem *item)
{
  if (item->detail != NULL && *item->detail != '\0')
    return item->detail;
  if (g_strcmp0 (item->schema, "public") == 0)
    for (guint i = 0; i < G_N_ELEMENTS (simpleiot_tables); i++)
      if (g_str_equal (simpleiot_tables[i].table, item->name))
        return _(simpleiot_tables[i].meaning);
  return item->kind == BASTION_CATALOG_VIEW ? _("view") : NULL;
}

static void
collect_columns (BastionSqlCompletion *self,
                 Collector            *collector,
                 const TableRef       *ref)
{
  g_autoptr(GPtrArray) columns = bastion_catalog_dup_columns (self->catalog, ref->schema,
                                                              ref->table);

  for (guint i = 0; i < columns->len; i++)
    {
      const BastionCatalogItem *item = g_ptr_array_index (columns, i);

      collect (collector, BASTION_CATALOG_COLUMN, item->name, item->detail);
    }
}

static void
collect_in_schema (BastionSqlCompletion *self,
                   Collector            *collector,
                   const char           *schema)
{
  guint n;
  const BastionCatalogItem * const *items = bastion_catalog_get_items (self->catalog, &n);

  for (guint i = 0; i < n; i++)
    if (items[i]->kind != BASTION_CATALOG_SCHEMA && items[i]->kind != BASTION_CATALOG_COLUMN
        && g_strcmp0 (items[i]->schema, schema) == 0)
      collect (collector, items[i]->kind, items[i]->name,
               items[i]->kind == BASTION_CATALOG_FUNCTION ? NULL : table_detail (items[i]));
}

/* Objects visible without a qualifier: public's and pg_catalog's, and the schemas. */
static void
collect_unqualified (BastionSqlCompletion *self,
                     Collector            *collector,
                     GArray               *refs)
{
  static const BastionCatalogKind order[] = {
    BASTION_CATALOG_TABLE, BASTION_CATALOG_VIEW, BASTION_CATALOG_SCHEMA,
    BASTION_CATALOG_FUNCTION,
  };
  guint n;
  const BastionCatalogItem * const *items = bastion_catalog_get_items (self->catalog, &n);

  for (guint r = 0; r < refs->len; r++)
    collect_columns (self, collector, &g_array_index (refs, TableRef, r));

  for (guint k = 0; k < G_N_ELEMENTS (order); k++)
    for (guint i = 0; i < n; i++)
      {
        const BastionCatalogItem *item = items[i];

        if (item->kind != order[k])
          continue;
        if (item->kind == BASTION_CATALOG_SCHEMA)
          collect (collector, item->kind, item->schema, NULL);
        else if (g_strcmp0 (item->schema, "public") == 0
                 || g_strcmp0 (item->schema, "pg_catalog") == 0)
          collect (collector, item->kind, item->name,
                   item->kind == BASTION_CATALOG_FUNCTION ? NULL : table_detail (item));
      }

  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    collect (collector, 0, keywords[i], NULL);
}

GListModel *
bastion_sql_completion_propose (BastionSqlCompletion *self,
                                const char           *text,
                                gsize                 cursor)
{
  g_autofree char *qualifier = NULL;
  g_autofree char *prefix = NULL;
  g_autoptr(GArray) tokens = NULL;
  g_autoptr(GArray) refs = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GListStore *store = g_list_store_new (BASTION_TYPE_SQL_PROPOSAL);
  BastionSqlRange range = { 0, strlen (text) };
  Collector collector;
  gsize word;

  g_return_val_if_fail (BASTION_IS_SQL_COMPLETION (self), NULL);
  g_return_val_if_fail (cursor <= strlen (text), NULL);

  word = find_word (text, cursor, &qualifier);
  prefix = g_strndup (text + word, cursor - word);
  if (!bastion_sql_statement_at (text, cursor, &range))
    range.start = 0, range.end = strlen (text);
  {
    /* The word being typed is left out: an unclosed quote would swallow the rest. */
    g_autoptr(GString) statement = g_string_new_len (text + range.start,
                                                     MAX (word, range.start) - range.start);

    if (cursor < range.end)
      g_string_append_len (statement, text + cursor, range.end - cursor);
    tokens = tokenize (statement->str, statement->len);
  }
  refs = find_table_refs (tokens);

  collector.store = store;
  collector.seen = seen;
  collector.prefix = prefix;
  collector.lower = *prefix != '\0' && g_ascii_islower (*prefix);

  if (qualifier != NULL)
    {
      gboolean found = FALSE;

      /* An alias or a table named in the statement, else a schema. */
      for (guint r = 0; r < refs->len && !found; r++)
        {
          TableRef *ref = &g_array_index (refs, TableRef, r);

          if (g_strcmp0 (ref->alias, qualifier) == 0
              || (ref->alias == NULL && g_strcmp0 (ref->table, qualifier) == 0))
            {
              collect_columns (self, &collector, ref);
              found = TRUE;
            }
        }
      if (!found && bastion_catalog_has_schema (self->catalog, qualifier))
        collect_in_schema (self, &collector, qualifier);
      else if (!found)
        {
          TableRef ref = { NULL, qualifier, NULL };

          collect_columns (self, &collector, &ref);
        }
    }
  else
    collect_unqualified (self, &collector, refs);

  return G_LIST_MODEL (store);
}

static char *
dup_text_and_cursor (GtkSourceCompletionContext *context,
                     gsize                      *cursor)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (gtk_source_completion_context_get_buffer (context));
  GtkTextIter start, end, insert;
  g_autofree char *before = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_get_iter_at_mark (buffer, &insert, gtk_text_buffer_get_insert (buffer));
  before = gtk_text_iter_get_slice (&start, &insert);
  *cursor = strlen (before);
  return gtk_text_iter_get_slice (&start, &end);
}

static GListModel *
populate (BastionSqlCompletion       *self,
          GtkSourceCompletionContext *context)
{
  gsize cursor;
  g_autofree char *text = dup_text_and_cursor (context, &cursor);
  GListModel *model = bastion_sql_completion_propose (self, text, cursor);

  g_set_object (&self->last_proposals, model);
  return model;
}

static void
provider_populate_async (GtkSourceCompletionProvider *provider,
                         GtkSourceCompletionContext  *context,
                         GCancellable                *cancellable,
                         GAsyncReadyCallback          callback,
                         gpointer                     user_data)
{
  BastionSqlCompletion *self = BASTION_SQL_COMPLETION (provider);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, provider_populate_async);
  /* From memory: the catalogue is read in the background, never here. */
  g_task_return_pointer (task, populate (self, context), g_object_unref);
}

static GListModel *
provider_populate_finish (GtkSourceCompletionProvider *provider,
                          GAsyncResult                *result,
                          GError                     **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
provider_refilter (GtkSourceCompletionProvider *provider,
                   GtkSourceCompletionContext  *context,
                   GListModel                  *model)
{
  BastionSqlCompletion *self = BASTION_SQL_COMPLETION (provider);
  g_autoptr(GListModel) proposals = populate (self, context);

  gtk_source_completion_context_set_proposals_for_provider (context, provider, proposals);
}

static const char *
kind_icon (int kind)
{
  switch (kind)
    {
    case BASTION_CATALOG_SCHEMA:
      return "folder-symbolic";
    case BASTION_CATALOG_TABLE:
      return "view-grid-symbolic";
    case BASTION_CATALOG_VIEW:
      return "view-reveal-symbolic";
    case BASTION_CATALOG_COLUMN:
      return "format-justify-left-symbolic";
    case BASTION_CATALOG_FUNCTION:
      return "system-run-symbolic";
    default:
      return "format-text-bold-symbolic";
    }
}

static void
provider_display (GtkSourceCompletionProvider *provider,
                  GtkSourceCompletionContext  *context,
                  GtkSourceCompletionProposal *proposal,
                  GtkSourceCompletionCell     *cell)
{
  BastionSqlProposal *p = BASTION_SQL_PROPOSAL (proposal);

  switch (gtk_source_completion_cell_get_column (cell))
    {
    case GTK_SOURCE_COMPLETION_COLUMN_ICON:
      gtk_source_completion_cell_set_icon_name (cell, kind_icon (p->kind));
      break;
    case GTK_SOURCE_COMPLETION_COLUMN_TYPED_TEXT:
      gtk_source_completion_cell_set_text (cell, p->text);
      break;
    case GTK_SOURCE_COMPLETION_COLUMN_AFTER:
      gtk_source_completion_cell_set_text (cell, p->kind == BASTION_CATALOG_COLUMN
                                                 ? p->detail : NULL);
      break;
    case GTK_SOURCE_COMPLETION_COLUMN_COMMENT:
      gtk_source_completion_cell_set_text (cell, p->kind != BASTION_CATALOG_COLUMN
                                                 ? p->detail : NULL);
      break;
    case GTK_SOURCE_COMPLETION_COLUMN_BEFORE:
    case GTK_SOURCE_COMPLETION_COLUMN_DETAILS:
    default:
      gtk_source_completion_cell_set_text (cell, NULL);
      break;
    }
}

static void
provider_activate (GtkSourceCompletionProvider *provider,
                   GtkSourceCompletionContext  *context,
                   GtkSourceCompletionProposal *proposal)
{
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER (gtk_source_completion_context_get_buffer (context));
  g_autofree char *qualifier = NULL;
  g_autofree char *text = NULL;
  GtkTextIter start, insert;
  gsize cursor;
  gsize word;

  text = dup_text_and_cursor (context, &cursor);
  word = find_word (text, cursor, &qualifier);

  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_get_iter_at_mark (buffer, &insert, gtk_text_buffer_get_insert (buffer));
  gtk_text_buffer_get_iter_at_offset (buffer, &start, g_utf8_pointer_to_offset (text,
                                                                                text + word));
  gtk_text_buffer_delete (buffer, &start, &insert);
  gtk_text_buffer_insert (buffer, &start, BASTION_SQL_PROPOSAL (proposal)->text, -1);
  gtk_text_buffer_end_user_action (buffer);
}

static gboolean
provider_is_trigger (GtkSourceCompletionProvider *provider,
                     const GtkTextIter           *iter,
                     gunichar                     ch)
{
  return ch == '.';
}

static char *
provider_get_title (GtkSourceCompletionProvider *provider)
{
  return g_strdup (_("SQL"));
}

static void
bastion_sql_completion_provider_init (GtkSourceCompletionProviderInterface *iface)
{
  iface->get_title = provider_get_title;
  iface->is_trigger = provider_is_trigger;
  iface->populate_async = provider_populate_async;
  iface->populate_finish = provider_populate_finish;
  iface->refilter = provider_refilter;
  iface->display = provider_display;
  iface->activate = provider_activate;
}

static void
bastion_sql_completion_dispose (GObject *object)
{
  BastionSqlCompletion *self = BASTION_SQL_COMPLETION (object);

  g_clear_object (&self->catalog);
  g_clear_object (&self->last_proposals);

  G_OBJECT_CLASS (bastion_sql_completion_parent_class)->dispose (object);
}

static void
bastion_sql_completion_class_init (BastionSqlCompletionClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bastion_sql_completion_dispose;
}

static void
bastion_sql_completion_init (BastionSqlCompletion *self)
{
}

BastionSqlCompletion *
bastion_sql_completion_new (BastionCatalog *catalog)
{
  BastionSqlCompletion *self;

  g_return_val_if_fail (BASTION_IS_CATALOG (catalog), NULL);

  self = g_object_new (BASTION_TYPE_SQL_COMPLETION, NULL);
  self->catalog = g_object_ref (catalog);
  return self;
}

BastionCatalog *
bastion_sql_completion_get_catalog (BastionSqlCompletion *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_COMPLETION (self), NULL);
  return self->catalog;
}

BastionSqlCompletion *
bastion_sql_completion_attach (GtkSourceView  *view,
                               BastionCatalog *catalog)
{
  GtkSourceCompletion *completion;
  g_autoptr(BastionSqlCompletion) self = NULL;

  g_return_val_if_fail (GTK_SOURCE_IS_VIEW (view), NULL);
  g_return_val_if_fail (BASTION_IS_CATALOG (catalog), NULL);

  self = bastion_sql_completion_new (catalog);
  completion = gtk_source_view_get_completion (view);
  gtk_source_completion_add_provider (completion, GTK_SOURCE_COMPLETION_PROVIDER (self));
  g_object_set (completion, "show-icons", TRUE, "select-on-show", TRUE, NULL);
  g_object_set_data_full (G_OBJECT (view), "bastion-sql-completion", g_object_ref (self),
                          g_object_unref);
  return self;
}

GListModel *
bastion_sql_completion_get_last_proposals (BastionSqlCompletion *self)
{
  g_return_val_if_fail (BASTION_IS_SQL_COMPLETION (self), NULL);
  return self->last_proposals;
}
