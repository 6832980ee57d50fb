/* bastion-query-page.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>
#include <gtksourceview/gtksource.h>

#include "bastion-chart-view.h"
#include "bastion-database.h"
#include "bastion-explain-view.h"
#include "bastion-query.h"
#include "bastion-result-grid.h"
#include "bastion-result-writer.h"

G_BEGIN_DECLS

#define BASTION_TYPE_QUERY_PAGE (bastion_query_page_get_type ())

G_DECLARE_FINAL_TYPE (BastionQueryPage, bastion_query_page, BASTION, QUERY_PAGE, GtkWidget)

/* One query tab: an SQL editor, the result grid and a status line, on one BastionDatabase
 * (which several pages may share; a page whose database is busy with another page's query
 * says so).
 *
 * Actions: query.run (Ctrl+Enter: the selection, or the statement at the cursor),
 * query.run-all (Ctrl+Shift+Enter), query.cancel (Esc: cancels on the server),
 * query.fetch-more, query.export ("csv" or "json": the whole result, streamed to a file by
 * running the statement again), query.begin, query.commit, query.rollback.
 *
 * Writes: the session is read-only until the "Allow Writes" switch is turned on; then a
 * statement that changes data asks first (AdwMessageDialog). */
BastionQueryPage   *bastion_query_page_new              (BastionDatabase   *database);
BastionDatabase    *bastion_query_page_get_database     (BastionQueryPage  *self);
/* For a page made before its connection was ready (NULL database). */
void                bastion_query_page_set_database     (BastionQueryPage  *self,
                                                         BastionDatabase   *database);
GtkSourceBuffer    *bastion_query_page_get_buffer       (BastionQueryPage  *self);
GtkSourceView      *bastion_query_page_get_source_view  (BastionQueryPage  *self);
BastionResultGrid  *bastion_query_page_get_grid         (BastionQueryPage  *self);
/* The last query started (running, paused, or finished), or NULL. */
BastionQuery       *bastion_query_page_get_query        (BastionQueryPage  *self);
const char         *bastion_query_page_get_title        (BastionQueryPage  *self);
/* The tab's title until the next statement runs (by default, the start of the statement). */
void                bastion_query_page_set_title        (BastionQueryPage  *self,
                                                         const char        *title);
gboolean            bastion_query_page_get_running      (BastionQueryPage  *self);
const char         *bastion_query_page_get_status_text  (BastionQueryPage  *self);
/* "empty", "grid", "message" (a command's status or an error) or "plan". */
const char         *bastion_query_page_get_result_kind  (BastionQueryPage  *self);
/* Replaces the editor's text. */
void                bastion_query_page_set_sql          (BastionQueryPage  *self,
                                                         const char        *sql);
/* Sets the text and runs all of it (the one-click views, EXPLAIN). */
void                bastion_query_page_run_sql          (BastionQueryPage  *self,
                                                         const char        *sql);
/* What query.export does once a file is chosen: runs the last query again with no rows kept and
 * streams every row to @file in @format (CSV or JSON); the status line reports the outcome. */
void                bastion_query_page_export_to_file   (BastionQueryPage    *self,
                                                         GFile               *file,
                                                         BastionResultFormat  format);
/* The statement query.run would run now (the selection, or the one at the cursor). */
char               *bastion_query_page_dup_current_statement (BastionQueryPage *self);

/* Runs sql now, or as soon as the page has its database (a tab still logging in). */
void                bastion_query_page_run_sql_when_connected (BastionQueryPage *self,
                                                               const char       *sql);

/* The rows as a chart (the "Chart" button); shown for this and later results until turned off. */
BastionChartView   *bastion_query_page_get_chart_view        (BastionQueryPage *self);
void                bastion_query_page_set_show_chart        (BastionQueryPage *self,
                                                              gboolean          show_chart);
/* The plan of an EXPLAIN (FORMAT JSON) as a tree (result kind "plan"). */
BastionExplainView *bastion_query_page_get_explain_view      (BastionQueryPage *self);

G_END_DECLS
