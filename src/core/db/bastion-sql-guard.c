/* bastion-sql-guard.c: which statements a read-only session refuses before sending them, and
 * which statements of a writing session change what every other session sees.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-sql-guard.h"
#include "bastion-sql-text.h"

typedef enum
{
  REASON_TRANSACTION = 1,
  REASON_SETTING,
  REASON_SESSION,
  REASON_PREPARED,
  REASON_NOTIFY,
  REASON_CODE,
  REASON_COPY,
  REASON_FUNCTION,
} Reason;

typedef struct
{
  const char *word;
  Reason      reason;
} Rule;

/* The statement's first word. */
static const Rule statement_rules[] = {
  { "begin", REASON_TRANSACTION },
  { "start", REASON_TRANSACTION },
  { "commit", REASON_TRANSACTION },
  { "end", REASON_TRANSACTION },
  { "rollback", REASON_TRANSACTION },
  { "abort", REASON_TRANSACTION },
  { "savepoint", REASON_TRANSACTION },
  { "release", REASON_TRANSACTION },
  { "prepare", REASON_PREPARED },
  { "execute", REASON_PREPARED },
  { "deallocate", REASON_PREPARED },
  { "listen", REASON_NOTIFY },
  { "unlisten", REASON_NOTIFY },
  { "notify", REASON_NOTIFY },
  { "do", REASON_CODE },
  { "call", REASON_CODE },
  { "load", REASON_CODE },
  { "copy", REASON_COPY },
  { "discard", REASON_SESSION },
};

/* What SET and RESET may not touch (after SESSION or LOCAL). */
static const Rule setting_rules[] = {
  { "transaction", REASON_TRANSACTION },
  { "transaction_read_only", REASON_SETTING },
  { "default_transaction_read_only", REASON_SETTING },
  { "characteristics", REASON_SETTING },
  { "all", REASON_SETTING },
  { "authorization", REASON_SESSION },
  { "session_authorization", REASON_SESSION },
};

/* Functions that write or act outside the transaction although it is read-only (PostgreSQL
 * lets lo_unlink() delete a large object in a READ ONLY transaction), act on other sessions or
 * the server, or run SQL text that no check here can see. A name ending in '*' is a prefix. */
static const Rule function_rules[] = {
  { "lo_unlink", REASON_FUNCTION },
  { "lo_import", REASON_FUNCTION },
  { "lo_export", REASON_FUNCTION },
  { "lo_create", REASON_FUNCTION },
  { "lo_creat", REASON_FUNCTION },
  { "lo_from_bytea", REASON_FUNCTION },
  { "lo_put", REASON_FUNCTION },
  { "lo_truncate*", REASON_FUNCTION },
  { "lowrite", REASON_FUNCTION },
  { "nextval", REASON_FUNCTION },
  { "setval", REASON_FUNCTION },
  { "set_config", REASON_SETTING },
  { "pg_terminate_backend", REASON_FUNCTION },
  { "pg_cancel_backend", REASON_FUNCTION },
  { "pg_reload_conf", REASON_FUNCTION },
  { "pg_rotate_logfile", REASON_FUNCTION },
  { "pg_switch_wal", REASON_FUNCTION },
  { "pg_promote", REASON_FUNCTION },
  { "pg_start_backup", REASON_FUNCTION },
  { "pg_stop_backup", REASON_FUNCTION },
  { "pg_backup_*", REASON_FUNCTION },
  { "pg_wal_replay_*", REASON_FUNCTION },
  { "pg_create_*", REASON_FUNCTION },
  { "pg_copy_*", REASON_FUNCTION },
  { "pg_drop_replication_slot", REASON_FUNCTION },
  { "pg_replication_slot_advance", REASON_FUNCTION },
  { "pg_replication_origin_*", REASON_FUNCTION },
  { "pg_logical_*", REASON_FUNCTION },
  { "pg_advisory_*", REASON_FUNCTION },
  { "pg_try_advisory_*", REASON_FUNCTION },
  { "pg_notify", REASON_NOTIFY },
  { "pg_stat_reset*", REASON_FUNCTION },
  { "pg_log_backend_memory_contexts", REASON_FUNCTION },
  { "pg_import_system_collations", REASON_FUNCTION },
  { "pg_file_*", REASON_FUNCTION },
  { "dblink*", REASON_CODE },
  { "query_to_xml*", REASON_CODE },
  { "ts_stat", REASON_CODE },
};

static const Rule *
find_rule (const Rule *rules,
           gsize       n_rules,
           const char *word)
{
  for (gsize i = 0; i < n_rules; i++)
    {
      const char *name = rules[i].word;
      gsize len = strlen (name);

      if (name[len - 1] == '*' ? strncmp (word, name, len - 1) == 0 : strcmp (word, name) == 0)
        return &rules[i];
    }
  return NULL;
}

static char *
explain (Reason      reason,
         const char *what)
{
  g_autofree char *upper = g_ascii_strup (what, -1);

  switch (reason)
    {
    case REASON_TRANSACTION:
      return g_strdup_printf (_("“%s” is refused in a read-only session: Bastion runs each "
                                "statement in a read-only transaction of its own, and "
                                "transaction control would end or change it. Allow writes to "
                                "manage transactions yourself."), upper);
    case REASON_SETTING:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it would change "
                                "whether this or later transactions may write. Allow writes to "
                                "change it."), upper);
    case REASON_SESSION:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it would reset or "
                                "change who the session is. Allow writes to use it."), upper);
    case REASON_PREPARED:
      return g_strdup_printf (_("“%s” is refused in a read-only session: a prepared statement "
                                "outlives the read-only transaction it was made in. Allow "
                                "writes to use PREPARE and EXECUTE."), upper);
    case REASON_NOTIFY:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it reaches other "
                                "sessions. Allow writes to use it."), upper);
    case REASON_CODE:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it runs code or SQL "
                                "text Bastion cannot check. Allow writes to run it."), upper);
    case REASON_COPY:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it reads or writes "
                                "files or programs on the server. Use SELECT instead, or allow "
                                "writes."), upper);
    case REASON_FUNCTION:
    default:
      return g_strdup_printf (_("“%s” is refused in a read-only session: it changes data, files "
                                "or other sessions even inside a read-only transaction. Allow "
                                "writes to call it."), upper);
    }
}

/* SET [SESSION | LOCAL] name … and RESET name: @words start after SET or RESET. SESSION
 * CHARACTERISTICS and SESSION AUTHORIZATION are rules of their own. */
static char *
check_setting (const char * const *words,
               const char         *verb)
{
  g_autofree char *shown = NULL;
  const Rule *rule;
  guint i = 0;

  if (g_strcmp0 (words[0], "session") == 0 || g_strcmp0 (words[0], "local") == 0)
    i = 1;
  if (words[i] == NULL)
    return NULL;

  rule = find_rule (setting_rules, G_N_ELEMENTS (setting_rules), words[i]);
  if (rule == NULL)
    return NULL;

  shown = g_strdup_printf ("%s %s%s%s", verb, i > 0 ? words[0] : "", i > 0 ? " " : "",
                           words[i]);
  return explain (rule->reason, shown);
}

/* EXPLAIN [ANALYZE] [VERBOSE] or EXPLAIN (…): where the explained statement starts. */
static guint
skip_explain (const char * const *words)
{
  guint i = 1;

  if (g_strcmp0 (words[i], "(") == 0)
    {
      guint depth = 0;

      for (; words[i] != NULL; i++)
        {
          if (strcmp (words[i], "(") == 0)
            depth++;
          else if (strcmp (words[i], ")") == 0 && --depth == 0)
            return i + 1;
        }
      return i;
    }
  while (words[i] != NULL
         && (strcmp (words[i], "analyze") == 0 || strcmp (words[i], "analyse") == 0
             || strcmp (words[i], "verbose") == 0))
    i++;
  return i;
}

char *
bastion_sql_guard_read_only (const char *statement)
{
  g_auto(GStrv) words = bastion_sql_words (statement);
  const char * const *w = (const char * const *)words;
  const Rule *rule;
  guint first = 0;

  if (w[0] != NULL && strcmp (w[0], "explain") == 0)
    first = skip_explain (w);

  if (w[first] != NULL)
    {
      rule = find_rule (statement_rules, G_N_ELEMENTS (statement_rules), w[first]);
      if (rule != NULL)
        return explain (rule->reason, w[first]);
      if (strcmp (w[first], "set") == 0 || strcmp (w[first], "reset") == 0)
        {
          char *refused = check_setting (w + first + 1, w[first]);

          if (refused != NULL)
            return refused;
        }
    }

  /* A function called anywhere, schema-qualified or quoted or not. */
  for (guint i = 0; w[i] != NULL; i++)
    {
      if (w[i + 1] == NULL || strcmp (w[i + 1], "(") != 0 || w[i][0] == '\0')
        continue;
      rule = find_rule (function_rules, G_N_ELEMENTS (function_rules), w[i]);
      if (rule != NULL)
        {
          g_autofree char *call = g_strdup_printf ("%s()", w[i]);

          return explain (rule->reason, call);
        }
    }

  return NULL;
}

static const char *
statement_changes_settings (const char * const *w)
{
  if (w[0] == NULL || strcmp (w[0], "alter") != 0 || w[1] == NULL)
    return NULL;

  if (strcmp (w[1], "role") == 0 || strcmp (w[1], "user") == 0 || strcmp (w[1], "group") == 0)
    return "ALTER ROLE";
  if (strcmp (w[1], "system") == 0)
    return "ALTER SYSTEM";
  if (strcmp (w[1], "database") == 0)
    {
      for (guint i = 2; w[i] != NULL; i++)
        if (strcmp (w[i], "set") == 0 || strcmp (w[i], "reset") == 0)
          return "ALTER DATABASE … SET";
    }
  return NULL;
}

const char *
bastion_sql_guard_changes_settings (const char *sql)
{
  g_autoptr(GArray) ranges = NULL;

  if (sql == NULL)
    return NULL;

  ranges = bastion_sql_split (sql);
  for (guint i = 0; i < ranges->len; i++)
    {
      const BastionSqlRange *r = &g_array_index (ranges, BastionSqlRange, i);
      g_autofree char *statement = g_strndup (sql + r->start, r->end - r->start);
      g_auto(GStrv) words = bastion_sql_words (statement);
      const char *found = statement_changes_settings ((const char * const *)words);

      if (found != NULL)
        return found;
    }
  return NULL;
}
