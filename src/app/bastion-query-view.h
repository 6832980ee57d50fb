/* bastion-query-view.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-catalog.h"
#include "bastion-connection.h"
#include "bastion-database.h"
#include "bastion-history-view.h"
#include "bastion-query-page.h"

G_BEGIN_DECLS

#define BASTION_TYPE_QUERY_VIEW (bastion_query_view_get_type ())

G_DECLARE_FINAL_TYPE (BastionQueryView, bastion_query_view, BASTION, QUERY_VIEW, GtkWidget)

/* The query view of one connection: tabs of BastionQueryPage, a schema sidebar (schemas >
 * tables > columns), for SimpleIOT one-click views of its entities, EXPLAIN, completion from
 * the connection's catalogue, and the profile's history of statements (BastionHistory).
 *
 * @database must be connected (bastion_connection_connect_database_finish() gives one). The
 * first tab and the sidebar use it. Without a connection every tab shares it too (one statement
 * at a time); after bastion_query_view_set_connection() each further tab logs in on its own
 * through the tunnel, so tabs run side by side and each has its own read-only switch.
 *
 * Actions: view.new-tab (Ctrl+T), view.close-tab (Ctrl+W), view.explain,
 * view.explain-analyze, view.open-entity ("projects", "models", "datatypes", "devices",
 * "device-data": telemetry, shown as a chart),
 * view.refresh-schema. */
GtkWidget        *bastion_query_view_new              (BastionDatabase   *database,
                                                       const char        *profile_id,
                                                       gboolean           is_simpleiot);
void              bastion_query_view_set_connection   (BastionQueryView  *self,
                                                       BastionConnection *connection);
BastionDatabase  *bastion_query_view_get_database     (BastionQueryView  *self);
const char       *bastion_query_view_get_profile_id   (BastionQueryView  *self);
AdwTabView       *bastion_query_view_get_tab_view     (BastionQueryView  *self);
BastionQueryPage *bastion_query_view_get_current_page (BastionQueryView  *self);
/* A new tab (made current); it shares @database when given, else as described above. */
BastionQueryPage *bastion_query_view_add_page         (BastionQueryView  *self,
                                                       BastionDatabase   *database);
/* Opens a tab showing a SimpleIOT entity ("projects", "models", "datatypes", "devices"). */
BastionQueryPage *bastion_query_view_open_entity      (BastionQueryView  *self,
                                                       const char        *entity);
/* The SQL behind an entity view, or NULL. */
const char       *bastion_query_view_get_entity_sql   (const char        *entity);
/* What completion proposes from (refreshed with view.refresh-schema). */
BastionCatalog   *bastion_query_view_get_catalog      (BastionQueryView  *self);
/* The sidebar's rows (GtkTreeListRow items holding GtkStringObject). */
GListModel       *bastion_query_view_get_schema_model (BastionQueryView  *self);
/* The profile's query history (SQLite, $XDG_DATA_HOME/bastion/history/<profile id>.sqlite):
 * every statement run here, recorded when it ends; and the History popover's view of it. */
BastionHistory   *bastion_query_view_get_history      (BastionQueryView  *self);
BastionHistoryView *bastion_query_view_get_history_view (BastionQueryView *self);
/* Where the history of @profile_id is kept. */
char             *bastion_query_view_dup_history_path (const char        *profile_id);

G_END_DECLS
