/* test-sql-text.c: the statement splitter, the key-word checks and the read-only session's
 * statement guard (no display, no server).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-sql-guard.h"
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
    { "begin; delete from t; commit", "begin | delete from t | commit" },
    { "select E'\\\\'; x", "select E'\\\\' | x" },
    { "select e'it\\'s;' ; x", "select e'it\\'s;' | x" },
    { "select U&\"a;b\" ; x", "select U&\"a;b\" | x" },
    { "select \"a\"\";\" ; x", "select \"a\"\";\" | x" },
    { "do $a$ x $b$ ; $b$ ; $a$; x", "do $a$ x $b$ ; $b$ ; $a$ | x" },
    { "select $$;$$, $x$;$x$; x", "select $$;$$, $x$;$x$ | x" },
    { "select a$$b; x", "select a$$b | x" },
    { "create function f() returns int language sql begin atomic select 1; select 2; end; x",
      "create function f() returns int language sql begin atomic select 1; select 2; end | x" },
    { "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC "
      "SELECT CASE WHEN true THEN 1 END; SELECT 2; END; x",
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC "
      "SELECT CASE WHEN true THEN 1 END; SELECT 2; END | x" },
    { "create table t (x int); begin; x", "create table t (x int) | begin | x" },
    { "create function f() returns int as $$ begin; $$ language sql; x",
      "create function f() returns int as $$ begin; $$ language sql | x" },
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
test_words (void)
{
  g_auto(GStrv) words = bastion_sql_words ("SELECT \"Lo_Unlink\" (1), 'x' /* c */ -- d\n, "
                                           "pg_catalog.\"a\"\"b\";");
  g_autofree char *joined = g_strjoinv ("|", words);

  g_assert_cmpstr (joined, ==, "select|lo_unlink|(||)|,||,|pg_catalog|.|a\"b|;");
}

/* Every statement the issue 17 review used to change data through a read-only session, and
 * the rest of its list, each refused with the key word named; reading stays allowed. */
static void
test_guard_read_only (void)
{
  static const struct
  {
    const char *sql;
    const char *named;  /* in the reason; NULL: allowed */
  } cases[] = {
    { "select * from device", NULL },
    { "select name, \"desc\" from device where name = 'commit; begin'", NULL },
    { "with d as (delete from data returning *) select count(*) from d", NULL },
    { "explain analyze select 1", NULL },
    { "set search_path = public", NULL },
    { "show transaction_read_only", NULL },
    { "select lo_get(16384)", NULL },
    { "select 1 -- commit\n", NULL },
    { "select pg_advisory /* not a call */", NULL },
    { "BEGIN READ WRITE", "“BEGIN”" },
    { "begin", "“BEGIN”" },
    { "START TRANSACTION READ WRITE", "“START”" },
    { "commit", "“COMMIT”" },
    { "end", "“END”" },
    { "rollback", "“ROLLBACK”" },
    { "abort", "“ABORT”" },
    { "savepoint a", "“SAVEPOINT”" },
    { "release savepoint a", "“RELEASE”" },
    { "SET transaction_read_only = off", "“SET TRANSACTION_READ_ONLY”" },
    { "set local transaction_read_only to off", "“SET LOCAL TRANSACTION_READ_ONLY”" },
    { "SET \"transaction_read_only\" = off", "“SET TRANSACTION_READ_ONLY”" },
    { "SET default_transaction_read_only = off", "“SET DEFAULT_TRANSACTION_READ_ONLY”" },
    { "set session default_transaction_read_only = off",
      "“SET SESSION DEFAULT_TRANSACTION_READ_ONLY”" },
    { "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
      "“SET SESSION CHARACTERISTICS”" },
    { "set transaction read write", "“SET TRANSACTION”" },
    { "set session authorization postgres", "“SET SESSION AUTHORIZATION”" },
    { "RESET ALL", "“RESET ALL”" },
    { "reset transaction_read_only", "“RESET TRANSACTION_READ_ONLY”" },
    { "reset session authorization", "“RESET SESSION AUTHORIZATION”" },
    { "PREPARE p AS DELETE FROM data", "“PREPARE”" },
    { "execute p", "“EXECUTE”" },
    { "explain analyze execute p", "“EXECUTE”" },
    { "explain (analyze, buffers) execute p", "“EXECUTE”" },
    { "deallocate all", "“DEALLOCATE”" },
    { "LISTEN c", "“LISTEN”" },
    { "notify c", "“NOTIFY”" },
    { "DO $$ BEGIN DELETE FROM data; END $$", "“DO”" },
    { "call p()", "“CALL”" },
    { "COPY (select 1) TO PROGRAM 'touch /tmp/x'", "“COPY”" },
    { "discard all", "“DISCARD”" },
    { "SELECT lo_unlink(16384)", "“LO_UNLINK()”" },
    { "select pg_catalog.lo_unlink (16384)", "“LO_UNLINK()”" },
    { "select \"lo_unlink\"(16384)", "“LO_UNLINK()”" },
    { "select * from lo_import('/etc/passwd')", "“LO_IMPORT()”" },
    { "select lo_truncate64(1, 0)", "“LO_TRUNCATE64()”" },
    { "select nextval('s')", "“NEXTVAL()”" },
    { "select setval('s', 1)", "“SETVAL()”" },
    { "select set_config('transaction_read_only', 'off', true)", "“SET_CONFIG()”" },
    { "select pg_terminate_backend(pid) from pg_stat_activity", "“PG_TERMINATE_BACKEND()”" },
    { "select pg_advisory_lock(1)", "“PG_ADVISORY_LOCK()”" },
    { "select pg_try_advisory_xact_lock(1)", "“PG_TRY_ADVISORY_XACT_LOCK()”" },
    { "select pg_notify('c', 'x')", "“PG_NOTIFY()”" },
    { "select pg_reload_conf()", "“PG_RELOAD_CONF()”" },
    { "select pg_stat_reset()", "“PG_STAT_RESET()”" },
    { "select query_to_xml('select lo_unlink(1)', true, true, '')", "“QUERY_TO_XML()”" },
    { "select ts_stat('select 1')", "“TS_STAT()”" },
    { "select dblink_exec('', 'delete from data')", "“DBLINK_EXEC()”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *reason = bastion_sql_guard_read_only (cases[i].sql);

      g_test_message ("%s -> %s", cases[i].sql, reason ? reason : "allowed");
      if (cases[i].named == NULL)
        g_assert_null (reason);
      else
        {
          g_assert_nonnull (reason);
          g_assert_nonnull (strstr (reason, cases[i].named));
          g_assert_nonnull (strstr (reason, "read-only"));
        }
    }
}

static void
test_guard_settings (void)
{
  static const struct
  {
    const char *sql;
    const char *found;
  } cases[] = {
    { "select 1", NULL },
    { "alter table device add column x int", NULL },
    { "alter database simpleiot rename to x", NULL },
    { "select 'alter role x set y = 1'", NULL },
    { "ALTER ROLE dbadmin SET default_transaction_read_only = off", "ALTER ROLE" },
    { "select 1; alter user bob set work_mem = '1MB'", "ALTER ROLE" },
    { "alter database simpleiot set default_transaction_read_only = off",
      "ALTER DATABASE … SET" },
    { "ALTER DATABASE simpleiot RESET ALL", "ALTER DATABASE … SET" },
    { "alter system set work_mem = '1MB'", "ALTER SYSTEM" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].sql);
      g_assert_cmpstr (bastion_sql_guard_changes_settings (cases[i].sql), ==, cases[i].found);
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
  g_test_add_func ("/bastion/sql-text/words", test_words);
  g_test_add_func ("/bastion/sql-guard/read-only", test_guard_read_only);
  g_test_add_func ("/bastion/sql-guard/settings", test_guard_settings);

  return g_test_run ();
}
