/* bastion-explain-view.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Plans larger than this are shown as text only. */
#define BASTION_EXPLAIN_MAX_JSON  (16 * 1024 * 1024)
/* Deeper plan trees are cut here (a hostile or broken server). */
#define BASTION_EXPLAIN_MAX_DEPTH 64

#define BASTION_TYPE_EXPLAIN_NODE (bastion_explain_node_get_type ())

G_DECLARE_FINAL_TYPE (BastionExplainNode, bastion_explain_node, BASTION, EXPLAIN_NODE, GObject)

/* "Index Scan using … on device d", "Hash Join (Inner)" */
const char  *bastion_explain_node_get_title      (BastionExplainNode *self);
/* Milliseconds spent in this node alone (its time × loops, minus its children's); -1 without
 * ANALYZE. */
double       bastion_explain_node_get_self_ms    (BastionExplainNode *self);
/* Share (0…1) of the whole plan's time (ANALYZE) or cost (plain EXPLAIN) spent in this node
 * alone. */
double       bastion_explain_node_get_share      (BastionExplainNode *self);
/* The nodes worth a look: at least this share of the plan. */
#define BASTION_EXPLAIN_COSTLY 0.2
GListModel  *bastion_explain_node_get_children   (BastionExplainNode *self);

#define BASTION_TYPE_EXPLAIN_VIEW (bastion_explain_view_get_type ())

/* EXPLAIN (FORMAT JSON) as a tree: one row per plan node with its own time and share of the
 * total, actual and estimated rows, loops, buffers and cost; the costly nodes (≥ 20 % of the
 * plan's time, or cost without ANALYZE) highlighted. */
G_DECLARE_FINAL_TYPE (BastionExplainView, bastion_explain_view, BASTION, EXPLAIN_VIEW, GtkWidget)

BastionExplainView *bastion_explain_view_new       (void);
/* FALSE (with @error) when @json is not a plan in PostgreSQL's JSON format. */
gboolean            bastion_explain_view_set_json  (BastionExplainView  *self,
                                                    const char          *json,
                                                    gsize                length,
                                                    GError             **error);
void                bastion_explain_view_clear     (BastionExplainView  *self);
/* The plan's top nodes (BastionExplainNode). */
GListModel         *bastion_explain_view_get_roots (BastionExplainView  *self);
/* The tree as shown (GtkTreeListRow items, expanded). */
GListModel         *bastion_explain_view_get_rows  (BastionExplainView  *self);
const char         *bastion_explain_view_get_summary (BastionExplainView *self);

G_END_DECLS
