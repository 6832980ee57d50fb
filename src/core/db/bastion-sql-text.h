/* bastion-sql-text.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A statement inside SQL text, as byte offsets: [start, end) without the surrounding white
 * space and without the closing ';'. */
typedef struct
{
  gsize start;
  gsize end;
} BastionSqlRange;

/* Splits @text into statements the way the server reads them: a ';' inside a string, a quoted
 * identifier, a dollar-quoted body, a comment or a CREATE FUNCTION … BEGIN ATOMIC … END body
 * does not end one. Statements holding nothing but white space and comments are left out. */
GArray   *bastion_sql_split                  (const char       *text);
/* The tokens of @sql for checking it: bare words and quoted identifiers folded to lower case
 * (quotes removed), "(", ")", ".", "," and ";" as themselves, every other token (strings,
 * numbers, operators) as "". White space and comments are left out. */
GStrv     bastion_sql_words                  (const char       *sql);
/* The statement the cursor (a byte offset) is in; between two statements, the one before it.
 * FALSE when @text holds no statement. */
gboolean  bastion_sql_statement_at           (const char       *text,
                                              gsize             cursor,
                                              BastionSqlRange  *range);
/* TRUE when @sql holds a statement that changes or removes data or schema (INSERT, UPDATE,
 * DELETE, MERGE, DROP, TRUNCATE, ALTER, CREATE, GRANT, REVOKE, COPY, …), outside strings,
 * quoted identifiers and comments. On TRUE, *keyword (may be NULL) is the upper-case word. */
gboolean  bastion_sql_changes_data           (const char       *sql,
                                              const char      **keyword);
/* A double-quoted identifier when @name needs it (upper case, a key word such as user, desc or
 * position, anything but [a-z0-9_]); otherwise a copy. */
char     *bastion_sql_quote_identifier       (const char       *name);

G_END_DECLS
