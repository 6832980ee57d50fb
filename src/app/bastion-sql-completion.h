/* bastion-sql-completion.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtksourceview/gtksource.h>

#include "bastion-catalog.h"

G_BEGIN_DECLS

#define BASTION_TYPE_SQL_PROPOSAL (bastion_sql_proposal_get_type ())

G_DECLARE_FINAL_TYPE (BastionSqlProposal, bastion_sql_proposal, BASTION, SQL_PROPOSAL, GObject)

/* BASTION_CATALOG_* kinds, or 0 for an SQL keyword. */
int          bastion_sql_proposal_get_kind    (BastionSqlProposal *self);
/* The name as the catalogue spells it. */
const char  *bastion_sql_proposal_get_name    (BastionSqlProposal *self);
/* What activating it inserts (quoted where the name needs it). */
const char  *bastion_sql_proposal_get_text    (BastionSqlProposal *self);
/* A column's type; a table's comment or, for SimpleIOT's tables, what the table holds. */
const char  *bastion_sql_proposal_get_detail  (BastionSqlProposal *self);

#define BASTION_TYPE_SQL_COMPLETION (bastion_sql_completion_get_type ())

/* A GtkSourceCompletionProvider for SQL: keywords, and from the connection's catalogue the
 * schemas, tables, views, functions, and the columns of the tables the statement names in
 * FROM / JOIN / UPDATE / INTO (aliases followed: "d." after "from device d" offers device's
 * columns). Proposals come from memory only: completion never waits on the network. */
G_DECLARE_FINAL_TYPE (BastionSqlCompletion, bastion_sql_completion, BASTION, SQL_COMPLETION, GObject)

BastionSqlCompletion *bastion_sql_completion_new          (BastionCatalog       *catalog);
BastionCatalog       *bastion_sql_completion_get_catalog  (BastionSqlCompletion *self);
/* Adds a provider on @catalog to @view's completion (interactive, "." triggers). */
BastionSqlCompletion *bastion_sql_completion_attach       (GtkSourceView        *view,
                                                           BastionCatalog       *catalog);
/* The proposals for @text with the cursor at byte @cursor (a GListModel of
 * BastionSqlProposal, best first). */
GListModel           *bastion_sql_completion_propose      (BastionSqlCompletion *self,
                                                           const char           *text,
                                                           gsize                 cursor);
/* The proposals the completion window got last (tests); may be NULL. */
GListModel           *bastion_sql_completion_get_last_proposals (BastionSqlCompletion *self);

G_END_DECLS
