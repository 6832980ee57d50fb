/* bastion-sql-guard.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The read-only session's second wall. The first is the server: each statement runs alone in
 * a READ ONLY transaction that Bastion opened and took a snapshot in (see BastionQuery). This
 * refuses, before anything is sent, what would end or loosen that transaction (BEGIN, COMMIT,
 * SET transaction_read_only, SET SESSION CHARACTERISTICS, RESET ALL…), what outlives it
 * (PREPARE/EXECUTE/DEALLOCATE, LISTEN), code Bastion cannot read (DO, CALL, query_to_xml()…),
 * COPY, and functions that write or reach other sessions even inside a read-only transaction
 * (lo_unlink(), pg_terminate_backend(), pg_advisory_lock(), set_config()…).
 *
 * Returns NULL when @statement (one statement) may run, otherwise the reason for the user
 * (translated, naming the key word and what to do). */
char        *bastion_sql_guard_read_only         (const char *statement);
/* For a session that may write: the key words ("ALTER ROLE", "ALTER DATABASE … SET",
 * "ALTER SYSTEM") of the first statement in @sql that changes settings every other session
 * sees, or NULL. */
const char  *bastion_sql_guard_changes_settings  (const char *sql);

G_END_DECLS
