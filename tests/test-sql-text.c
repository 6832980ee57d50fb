/* test-sql-text.c: the query page's statement splitter and key-word check (no display).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-sql-text.h"

static char *
join_statements (const char *text)
{
  g_autoptr(GArray) ranges = bastion_sql_split (text);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < ranges->len; i++)
    {
      const BastionSqlRange *r = &g_array_index (ranges, BastionSqlRange, i);

      if (i > 0)
        g_string_append (out, " | ");
      g_string_append_len (out, text + r->start, r->end - r->start);
    }
  return g_string_free (out, FALSE);
}

static void
test_split (void)
{
  static const struct
  {
    const char *text;
    const char *expected;
  } cases[] = {
    { "", "" },
    { "  ;; \n ; ", "" },
    { "select 1", "select 1" },
    { "select 1;select 2;", "select 1 | select 2" },
    { "  select 1 ;\n\n  select 2  ", "select 1 | select 2" },
    { "select ';' as a; select 2", "select ';' as a | select 2" },
    { "select 'it''s;' ; x", "select 'it''s;' | x" },
    { "select E'\\';' ; x", "select E'\\';' | x" },
    { "select \"a;b\" from t; x", "select \"a;b\" from t | x" },
    { "select 1 -- ; not here\n; x", "select 1 | x" },
    { "/* ; */ select 1; x", "select 1 | x" },
    { "select /* a /* nested ; */ ; */ 1; x", "select /* a /* nested ; */ ; */ 1 | x" },
    { "do $$ begin; end $$; x", "do $$ begin; end $$ | x" },
    { "do $fn$ a $$ ; $fn$; x", "do $fn$ a $$ ; $fn$ | x" },
    { "select $1; x", "select $1 | x" },
    { "-- only a comment\n", "" },
    { "select 'unterminated; x", "select 'unterminated; x" },
    { "select 'é;' ; ü", "select 'é;' | ü" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = join_statements (cases[i].text);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpstr (got, ==, cases[i].expected);
    }
}

static void
test_statement_at (void)
{
  const char *text = "select 1;\n\nselect 2;  \nselect 3";
  static const struct
  {
    const char *at;      /* the cursor sits just before this text (NULL: at the end) */
    int         offset;  /* added to it */
    const char *expected;
  } cases[] = {
    { "select 1", 0, "select 1" },
    { "1;", 1, "select 1" },       /* right after the ';' */
    { "\n\nselect 2", 1, "select 1" },  /* the blank line between: the one before */
    { "select 2", 0, "select 2" },
    { "select 2", 3, "select 2" },
    { "  \nselect 3", 1, "select 2" },
    { "select 3", 0, "select 3" },
    { NULL, 0, "select 3" },
  };
  BastionSqlRange range;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize cursor = strlen (text);
      g_autofree char *got = NULL;

      if (cases[i].at != NULL)
        cursor = (gsize) (strstr (text, cases[i].at) - text) + cases[i].offset;
      g_assert_true (bastion_sql_statement_at (text, cursor, &range));
      got = g_strndup (text + range.start, range.end - range.start);
      g_assert_cmpstr (got, ==, cases[i].expected);
    }

  g_assert_false (bastion_sql_statement_at ("  -- nothing\n", 3, &range));
  g_assert_false (bastion_sql_statement_at ("", 0, &range));
  /* Before the first statement: that one. */
  g_assert_true (bastion_sql_statement_at ("\n\n  select 9", 0, &range));
  g_assert_cmpuint (range.start, ==, 4);
}

static void
test_changes_data (void)
{
  static const struct
  {
    const char *sql;
    const char *keyword;  /* NULL: reads only */
  } cases[] = {
    { "select * from device", NULL },
    { "SELECT name FROM \"update\" WHERE status = 'delete me'", NULL },
    { "select 1 -- drop table x", NULL },
    { "select /* truncate */ 1", NULL },
    { "select model_security, updated_at from model", NULL },
    { "explain select 1", NULL },
    { "update device set status = 'x'", "UPDATE" },
    { "  Delete from data", "DELETE" },
    { "insert into project values (1)", "INSERT" },
    { "drop table t", "DROP" },
    { "truncate data", "TRUNCATE" },
    { "alter table device add column x int", "ALTER" },
    { "with d as (delete from data returning *) select count(*) from d", "DELETE" },
    { "explain analyze delete from data", "DELETE" },
    { "select 1; drop table x", "DROP" },
    { "create index on device (name)", "CREATE" },
    { "grant select on device to bob", "GRANT" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *keyword = NULL;
      gboolean changes = bastion_sql_changes_data (cases[i].sql, &keyword);

      g_test_message ("%s", cases[i].sql);
      g_assert_cmpint (changes, ==, cases[i].keyword != NULL);
      if (changes)
        g_assert_cmpstr (keyword, ==, cases[i].keyword);
    }
}

static void
test_quote_identifier (void)
{
  static const char * const cases[][2] = {
    { "device", "device" },
    { "serial_number", "serial_number" },
    { "user", "\"user\"" },
    { "desc", "\"desc\"" },
    { "position", "\"position\"" },
    { "timestamp", "\"timestamp\"" },
    { "Device", "\"Device\"" },
    { "a b", "\"a b\"" },
    { "we\"ird", "\"we\"\"ird\"" },
    { "1st", "\"1st\"" },
    { "", "\"\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *quoted = bastion_sql_quote_identifier (cases[i][0]);

      g_assert_cmpstr (quoted, ==, cases[i][1]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/sql-text/split", test_split);
  g_test_add_func ("/bastion/sql-text/statement-at", test_statement_at);
  g_test_add_func ("/bastion/sql-text/changes-data", test_changes_data);
  g_test_add_func ("/bastion/sql-text/quote-identifier", test_quote_identifier);

  return g_test_run ();
}
