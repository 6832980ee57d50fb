/* bastion-sql-text.c: just enough of PostgreSQL's lexical rules to find statements and their
 * key words in editor text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-sql-text.h"

typedef enum
{
  TOKEN_END,
  TOKEN_WORD,       /* a bare key word or identifier */
  TOKEN_SEMICOLON,
  TOKEN_SPACE,      /* white space or a comment */
  TOKEN_QUOTED,     /* a double-quoted identifier */
  TOKEN_OTHER,      /* strings, operators, numbers */
} TokenKind;

static gboolean
is_ident_start (char c)
{
  return g_ascii_isalpha (c) || c == '_' || (guchar) c >= 0x80;
}

static gboolean
is_ident_char (char c)
{
  return is_ident_start (c) || g_ascii_isdigit (c) || c == '$';
}

/* Skips a quoted run that starts at @i (on the opening quote); returns the offset after it, or
 * the end of the text when it is not closed. */
static gsize
skip_quoted (const char *text,
             gsize       len,
             gsize       i,
             char        quote,
             gboolean    backslash_escapes)
{
  for (i = i + 1; i < len; i++)
    {
      if (backslash_escapes && text[i] == '\\' && i + 1 < len)
        i++;
      else if (text[i] == quote)
        {
          if (i + 1 < len && text[i + 1] == quote)
            i++;
          else
            return i + 1;
        }
    }
  return len;
}

/* At a '$': the length of a dollar-quote tag ("$$", "$body$") starting there, or 0. */
static gsize
dollar_tag_length (const char *text,
                   gsize       len,
                   gsize       i)
{
  gsize j = i + 1;

  if (j < len && text[j] == '$')
    return 2;
  if (j >= len || !is_ident_start (text[j]))
    return 0;
  while (j < len && (is_ident_start (text[j]) || g_ascii_isdigit (text[j])))
    j++;
  if (j < len && text[j] == '$')
    return j - i + 1;
  return 0;
}

/* At the start of a block comment: the offset after it (PostgreSQL's block comments nest), or
 * the end. */
static gsize
skip_block_comment (const char *text,
                    gsize       len,
                    gsize       i)
{
  guint depth = 1;

  i += 2;
  while (i < len && depth > 0)
    {
      if (text[i] == '/' && i + 1 < len && text[i + 1] == '*')
        depth++, i += 2;
      else if (text[i] == '*' && i + 1 < len && text[i + 1] == '/')
        depth--, i += 2;
      else
        i++;
    }
  return i;
}

/* At a dollar-quote tag: the offset after the same tag closes the string, or the end. */
static gsize
skip_dollar_quoted (const char *text,
                    gsize       len,
                    gsize       i)
{
  gsize tag_len = dollar_tag_length (text, len, i);
  const char *close = g_strstr_len (text + i + tag_len, len - i - tag_len, "$");

  while (close != NULL)
    {
      gsize at = close - text;

      if (at + tag_len <= len && memcmp (close, text + i, tag_len) == 0)
        return at + tag_len;
      close = g_strstr_len (close + 1, len - at - 1, "$");
    }
  return len;
}

static TokenKind
next_token (const char *text,
            gsize       len,
            gsize      *pos,
            gsize      *token_start)
{
  gsize i = *pos;
  char c;

  if (i >= len)
    return TOKEN_END;

  *token_start = i;
  c = text[i];

  if (g_ascii_isspace (c))
    {
      while (i < len && g_ascii_isspace (text[i]))
        i++;
      *pos = i;
      return TOKEN_SPACE;
    }

  if (c == '-' && i + 1 < len && text[i + 1] == '-')
    {
      while (i < len && text[i] != '\n')
        i++;
      *pos = i;
      return TOKEN_SPACE;
    }

  if (c == '/' && i + 1 < len && text[i + 1] == '*')
    {
      *pos = skip_block_comment (text, len, i);
      return TOKEN_SPACE;
    }

  if (c == ';')
    {
      *pos = i + 1;
      return TOKEN_SEMICOLON;
    }

  if (c == '\'')
    {
      *pos = skip_quoted (text, len, i, '\'', FALSE);
      return TOKEN_OTHER;
    }

  if (c == '"')
    {
      *pos = skip_quoted (text, len, i, '"', FALSE);
      return TOKEN_QUOTED;
    }

  if (c == '$' && dollar_tag_length (text, len, i) > 0)
    {
      *pos = skip_dollar_quoted (text, len, i);
      return TOKEN_OTHER;
    }

  if (is_ident_start (c))
    {
      /* E'…' strings take backslash escapes. */
      if ((c == 'e' || c == 'E') && i + 1 < len && text[i + 1] == '\'')
        {
          *pos = skip_quoted (text, len, i + 1, '\'', TRUE);
          return TOKEN_OTHER;
        }
      while (i < len && is_ident_char (text[i]))
        i++;
      *pos = i;
      return TOKEN_WORD;
    }

  *pos = i + 1;
  return TOKEN_OTHER;
}

static gboolean
word_is (const char *text,
         gsize       start,
         gsize       end,
         const char *word)
{
  gsize word_len = strlen (word);

  return end - start == word_len && g_ascii_strncasecmp (text + start, word, word_len) == 0;
}

/* CREATE FUNCTION/PROCEDURE … BEGIN ATOMIC … END holds ';' that do not end the statement
 * (PostgreSQL 14's SQL-standard bodies): inside such a statement, BEGIN and CASE open a block
 * and END closes one, as psql counts them. */
typedef struct
{
  guint n_words;
  guint depth;
  guint routine : 2;  /* 1: CREATE, 2: CREATE FUNCTION or PROCEDURE */
} RoutineBody;

static void
routine_body_word (RoutineBody *body,
                   const char  *text,
                   gsize        start,
                   gsize        end)
{
  guint n = body->n_words++;

  if (n == 0)
    {
      body->routine = word_is (text, start, end, "create");
      return;
    }
  if (!body->routine)
    return;
  if (n <= 3 && (word_is (text, start, end, "or") || word_is (text, start, end, "replace")))
    return;
  if (n <= 3 && (word_is (text, start, end, "function")
                 || word_is (text, start, end, "procedure")))
    {
      body->routine = 2;
      return;
    }
  if (n <= 3 && body->routine != 2)
    {
      body->routine = 0;
      return;
    }
  if (word_is (text, start, end, "begin")
      || (body->depth > 0 && word_is (text, start, end, "case")))
    body->depth++;
  else if (body->depth > 0 && word_is (text, start, end, "end"))
    body->depth--;
}

GArray *
bastion_sql_split (const char *text)
{
  GArray *ranges = g_array_new (FALSE, FALSE, sizeof (BastionSqlRange));
  gsize len = text != NULL ? strlen (text) : 0;
  gsize pos = 0;
  gsize token_start = 0;
  BastionSqlRange current = { 0, 0 };
  RoutineBody body = { 0, };
  gboolean in_statement = FALSE;

  for (;;)
    {
      TokenKind kind = next_token (text, len, &pos, &token_start);

      if (kind == TOKEN_SEMICOLON && body.depth > 0)
        current.end = pos;
      else if (kind == TOKEN_END || kind == TOKEN_SEMICOLON)
        {
          if (in_statement)
            g_array_append_val (ranges, current);
          in_statement = FALSE;
          body = (RoutineBody) { 0, };
          if (kind == TOKEN_END)
            break;
        }
      else if (kind != TOKEN_SPACE)
        {
          if (!in_statement)
            current.start = token_start;
          current.end = pos;
          in_statement = TRUE;
          if (kind == TOKEN_WORD)
            routine_body_word (&body, text, token_start, pos);
        }
    }

  return ranges;
}

GStrv
bastion_sql_words (const char *sql)
{
  GPtrArray *words = g_ptr_array_new ();
  gsize len = sql != NULL ? strlen (sql) : 0;
  gsize pos = 0;
  gsize token_start = 0;
  TokenKind kind;

  while ((kind = next_token (sql, len, &pos, &token_start)) != TOKEN_END)
    {
      const char *token = sql + token_start;
      gsize token_len = pos - token_start;

      if (kind == TOKEN_SPACE)
        continue;
      if (kind == TOKEN_WORD)
        g_ptr_array_add (words, g_ascii_strdown (token, token_len));
      else if (kind == TOKEN_QUOTED)
        {
          g_autofree char *inner = NULL;
          g_autoptr(GString) unquoted = NULL;

          /* Without the quotes and with "" as ", folded: a second wall errs on the side of
           * refusing ("Lo_Unlink" is not lo_unlink to the server, but it is here). */
          inner = g_strndup (token + 1, token_len >= 2 ? token_len - 2 : 0);
          unquoted = g_string_new (inner);
          g_string_replace (unquoted, "\"\"", "\"", 0);
          g_ptr_array_add (words, g_ascii_strdown (unquoted->str, unquoted->len));
        }
      else if (token_len == 1 && strchr ("().,;", token[0]) != NULL)
        g_ptr_array_add (words, g_strndup (token, 1));
      else
        g_ptr_array_add (words, g_strdup (""));
    }

  g_ptr_array_add (words, NULL);
  return (GStrv)g_ptr_array_free (words, FALSE);
}

gboolean
bastion_sql_statement_at (const char      *text,
                          gsize            cursor,
                          BastionSqlRange *range)
{
  g_autoptr(GArray) ranges = NULL;
  const BastionSqlRange *found = NULL;

  g_return_val_if_fail (range != NULL, FALSE);

  ranges = bastion_sql_split (text);
  for (guint i = 0; i < ranges->len; i++)
    {
      const BastionSqlRange *r = &g_array_index (ranges, BastionSqlRange, i);

      /* The statement before the cursor wins until the cursor reaches the next one. */
      if (r->start <= cursor || found == NULL)
        found = r;
      if (r->start > cursor)
        break;
    }

  if (found == NULL)
    return FALSE;

  *range = *found;
  return TRUE;
}

gboolean
bastion_sql_changes_data (const char  *sql,
                          const char **keyword)
{
  static const char * const words[] = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "DROP", "TRUNCATE", "ALTER", "CREATE",
    "GRANT", "REVOKE", "COPY", "VACUUM", "REINDEX", "CLUSTER", "COMMENT", "RENAME", "REFRESH",
    "IMPORT", "SECURITY", "LOCK", "CALL", "DO", NULL,
  };
  gsize len = sql != NULL ? strlen (sql) : 0;
  gsize pos = 0;
  gsize token_start = 0;
  TokenKind kind;

  while ((kind = next_token (sql, len, &pos, &token_start)) != TOKEN_END)
    {
      gsize word_len = pos - token_start;

      if (kind != TOKEN_WORD)
        continue;

      for (guint i = 0; words[i] != NULL; i++)
        {
          if (strlen (words[i]) == word_len
              && g_ascii_strncasecmp (sql + token_start, words[i], word_len) == 0)
            {
              if (keyword != NULL)
                *keyword = words[i];
              return TRUE;
            }
        }
    }

  return FALSE;
}

char *
bastion_sql_quote_identifier (const char *name)
{
  /* Reserved words a SimpleIOT schema uses as column or table names, and their kin. */
  static const char * const reserved[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "both", "case", "cast",
    "check", "collate", "column", "constraint", "create", "current_date", "current_role",
    "current_time", "current_timestamp", "current_user", "default", "desc", "distinct", "do",
    "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group",
    "having", "in", "initially", "intersect", "into", "leading", "limit", "localtime",
    "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing",
    "position", "primary", "references", "returning", "select", "session_user", "some",
    "symmetric", "table", "then", "timestamp", "to", "trailing", "true", "union", "unique",
    "user", "using", "variadic", "when", "where", "window", "with", NULL,
  };
  gboolean plain;
  GString *quoted;

  g_return_val_if_fail (name != NULL, NULL);

  plain = name[0] != '\0' && (g_ascii_islower (name[0]) || name[0] == '_');
  for (const char *p = name; plain && *p != '\0'; p++)
    plain = g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_';
  if (plain && g_strv_contains (reserved, name))
    plain = FALSE;
  if (plain)
    return g_strdup (name);

  quoted = g_string_new ("\"");
  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (quoted, '"');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}
