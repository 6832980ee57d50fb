/* bastion-explain-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-explain-view.h"

/* Node */

struct _BastionExplainNode
{
  GObject     parent_instance;

  char       *title;
  GListStore *children;
  double      inclusive;   /* ms × loops with ANALYZE, else total cost */
  double      self;        /* the same, minus the children's */
  double      share;
  double      total_cost;
  double      actual_rows;
  double      plan_rows;
  double      loops;
  gint64      shared_hit;
  gint64      shared_read;
  guint       analyzed : 1;
};

G_DEFINE_FINAL_TYPE (BastionExplainNode, bastion_explain_node, G_TYPE_OBJECT)

static void
bastion_explain_node_finalize (GObject *object)
{
  BastionExplainNode *self = BASTION_EXPLAIN_NODE (object);

  g_free (self->title);
  g_clear_object (&self->children);

  G_OBJECT_CLASS (bastion_explain_node_parent_class)->finalize (object);
}

static void
bastion_explain_node_class_init (BastionExplainNodeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bastion_explain_node_finalize;
}

static void
bastion_explain_node_init (BastionExplainNode *self)
{
  self->children = g_list_store_new (BASTION_TYPE_EXPLAIN_NODE);
}

const char *
bastion_explain_node_get_title (BastionExplainNode *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_NODE (self), NULL);
  return self->title;
}

double
bastion_explain_node_get_self_ms (BastionExplainNode *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_NODE (self), -1);
  return self->analyzed ? self->self : -1;
}

double
bastion_explain_node_get_share (BastionExplainNode *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_NODE (self), 0);
  return self->share;
}

GListModel *
bastion_explain_node_get_children (BastionExplainNode *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_NODE (self), NULL);
  return G_LIST_MODEL (self->children);
}

static double
member_double (JsonObject *object,
               const char *name,
               double      fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  return json_node_get_value_type (node) == G_TYPE_STRING ? fallback
                                                          : json_node_get_double (node);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
}

static char *
node_title (JsonObject *plan)
{
  const char *type = member_string (plan, "Node Type");
  const char *join = member_string (plan, "Join Type");
  const char *strategy = member_string (plan, "Strategy");
  const char *index = member_string (plan, "Index Name");
  const char *relation = member_string (plan, "Relation Name");
  const char *alias = member_string (plan, "Alias");
  const char *cte = member_string (plan, "CTE Name");
  const char *function = member_string (plan, "Function Name");
  GString *title = g_string_new (type != NULL ? type : "?");

  if (join != NULL)
    g_string_append_printf (title, " (%s)", join);
  else if (strategy != NULL && g_strcmp0 (strategy, "Plain") != 0)
    g_string_append_printf (title, " (%s)", strategy);
  if (index != NULL)
    g_string_append_printf (title, " using %s", index);
  if (relation != NULL)
    {
      g_string_append_printf (title, " on %s", relation);
      if (alias != NULL && g_strcmp0 (alias, relation) != 0)
        g_string_append_printf (title, " %s", alias);
    }
  else if (cte != NULL || function != NULL)
    {
      g_string_append_printf (title, " on %s", cte != NULL ? cte : function);
      if (alias != NULL && g_strcmp0 (alias, cte != NULL ? cte : function) != 0)
        g_string_append_printf (title, " %s", alias);
    }
  return g_string_free (title, FALSE);
}

static BastionExplainNode *
node_from_json (JsonObject *plan,
                guint       depth)
{
  BastionExplainNode *node = g_object_new (BASTION_TYPE_EXPLAIN_NODE, NULL);
  JsonNode *plans = json_object_get_member (plan, "Plans");
  double children = 0;
  double time = member_double (plan, "Actual Total Time", -1);

  node->title = node_title (plan);
  node->analyzed = time >= 0;
  node->loops = member_double (plan, "Actual Loops", 1);
  node->actual_rows = member_double (plan, "Actual Rows", -1);
  node->plan_rows = member_double (plan, "Plan Rows", -1);
  node->total_cost = member_double (plan, "Total Cost", 0);
  node->shared_hit = (gint64) member_double (plan, "Shared Hit Blocks", -1);
  node->shared_read = (gint64) member_double (plan, "Shared Read Blocks", -1);
  node->inclusive = node->analyzed ? time * node->loops : node->total_cost;

  if (plans != NULL && JSON_NODE_HOLDS_ARRAY (plans) && depth < BASTION_EXPLAIN_MAX_DEPTH)
    {
      JsonArray *array = json_node_get_array (plans);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *child = json_array_get_element (array, i);
          g_autoptr(BastionExplainNode) sub = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (child))
            continue;
          sub = node_from_json (json_node_get_object (child), depth + 1);
          children += sub->inclusive;
          g_list_store_append (node->children, sub);
        }
    }
  node->self = MAX (node->inclusive - children, 0);
  return node;
}

static void
set_shares (BastionExplainNode *node,
            double              total)
{
  node->share = total > 0 ? node->self / total : 0;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (node->children)); i++)
    {
      g_autoptr(BastionExplainNode) child = g_list_model_get_item (G_LIST_MODEL (node->children),
                                                                   i);

      set_shares (child, total);
    }
}

/* View */

typedef enum
{
  COLUMN_NODE,
  COLUMN_SELF,
  COLUMN_SHARE,
  COLUMN_ROWS,
  COLUMN_LOOPS,
  COLUMN_BUFFERS,
  COLUMN_COST,
  N_COLUMNS
} Column;

struct _BastionExplainView
{
  GtkWidget         parent_instance;

  /* Owned */
  GListStore       *roots;
  GtkTreeListModel *tree;
  char             *summary;

  /* Widgets */
  GtkWidget        *box;
  GtkLabel         *summary_label;
  GtkColumnView    *column_view;
};

G_DEFINE_FINAL_TYPE (BastionExplainView, bastion_explain_view, GTK_TYPE_WIDGET)

static GListModel *
create_children (gpointer item,
                 gpointer user_data)
{
  BastionExplainNode *node = item;

  if (g_list_model_get_n_items (G_LIST_MODEL (node->children)) == 0)
    return NULL;
  return G_LIST_MODEL (g_object_ref (node->children));
}

static char *
cell_text (BastionExplainNode *node,
           Column              column)
{
  switch (column)
    {
    case COLUMN_SELF:
      return node->analyzed ? g_strdup_printf ("%.3f ms", node->self) : g_strdup ("–");
    case COLUMN_SHARE:
      return g_strdup_printf ("%.0f %%", node->share * 100);
    case COLUMN_ROWS:
      if (node->analyzed)
        /* TRANSLATORS: actual rows against the planner's estimate: "1 of 5" */
        return g_strdup_printf (_("%.0f of %.0f"), node->actual_rows, node->plan_rows);
      return g_strdup_printf ("%.0f", node->plan_rows);
    case COLUMN_LOOPS:
      return node->analyzed ? g_strdup_printf ("%.0f", node->loops) : g_strdup ("–");
    case COLUMN_BUFFERS:
      if (node->shared_hit < 0)
        return g_strdup ("–");
      {
        g_autofree char *hit = g_strdup_printf ("%" G_GINT64_FORMAT, node->shared_hit);
        g_autofree char *read = g_strdup_printf ("%" G_GINT64_FORMAT, MAX (node->shared_read, 0));

        /* TRANSLATORS: shared buffers found in memory and read from disk */
        return g_strdup_printf (_("%s hit, %s read"), hit, read);
      }
    case COLUMN_COST:
      return g_strdup_printf ("%.2f", node->total_cost);
    case COLUMN_NODE:
    case N_COLUMNS:
    default:
      return g_strdup (node->title);
    }
}

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), column == COLUMN_NODE ? 0 : 1);
  if (column == COLUMN_NODE)
    {
      GtkWidget *expander = gtk_tree_expander_new ();

      gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), label);
      gtk_list_item_set_child (item, expander);
    }
  else
    {
      gtk_widget_add_css_class (label, "numeric");
      gtk_list_item_set_child (item, label);
    }
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkTreeListRow *row = gtk_list_item_get_item (item);
  BastionExplainNode *node = gtk_tree_list_row_get_item (row);
  GtkWidget *child = gtk_list_item_get_child (item);
  GtkWidget *label = child;
  g_autofree char *text = cell_text (node, column);

  if (column == COLUMN_NODE)
    {
      gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (child), row);
      label = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (child));
    }
  gtk_label_set_text (GTK_LABEL (label), text);

  /* The costly nodes stand out: a fifth of the plan's time (or cost) and more. */
  gtk_widget_remove_css_class (label, "error");
  gtk_widget_remove_css_class (label, "warning");
  gtk_widget_remove_css_class (label, "heading");
  if (node->share >= 0.5)
    gtk_widget_add_css_class (label, "error");
  else if (node->share >= BASTION_EXPLAIN_COSTLY)
    gtk_widget_add_css_class (label, "warning");
  if (node->share >= BASTION_EXPLAIN_COSTLY)
    gtk_widget_add_css_class (label, "heading");
  g_object_unref (node);
}

static void
add_column (BastionExplainView *self,
            Column              column,
            const char         *title)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *view_column;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), GINT_TO_POINTER (column));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), GINT_TO_POINTER (column));
  view_column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_resizable (view_column, TRUE);
  gtk_column_view_column_set_expand (view_column, column == COLUMN_NODE);
  gtk_column_view_append_column (self->column_view, view_column);
  g_object_unref (view_column);
}

static void
bastion_explain_view_dispose (GObject *object)
{
  BastionExplainView *self = BASTION_EXPLAIN_VIEW (object);

  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->tree);
  g_clear_object (&self->roots);

  G_OBJECT_CLASS (bastion_explain_view_parent_class)->dispose (object);
}

static void
bastion_explain_view_finalize (GObject *object)
{
  g_free (BASTION_EXPLAIN_VIEW (object)->summary);
  G_OBJECT_CLASS (bastion_explain_view_parent_class)->finalize (object);
}

static void
bastion_explain_view_class_init (BastionExplainViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_explain_view_dispose;
  object_class->finalize = bastion_explain_view_finalize;
  gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
}

static void
bastion_explain_view_init (BastionExplainView *self)
{
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  g_autoptr(GtkNoSelection) selection = NULL;

  self->roots = g_list_store_new (BASTION_TYPE_EXPLAIN_NODE);
  self->tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (self->roots)), FALSE, TRUE,
                                        create_children, NULL, NULL);

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  self->summary_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->summary_label, 0);
  gtk_label_set_selectable (self->summary_label, TRUE);
  gtk_widget_set_margin_start (GTK_WIDGET (self->summary_label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->summary_label), 6);
  gtk_widget_add_css_class (GTK_WIDGET (self->summary_label), "dim-label");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->summary_label));

  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->tree)));
  self->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (GTK_SELECTION_MODEL (
                                                              g_steal_pointer (&selection))));
  gtk_column_view_set_show_column_separators (self->column_view, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->column_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Query Plan"), -1);
  add_column (self, COLUMN_NODE, _("Node"));
  add_column (self, COLUMN_SELF, _("Own Time"));
  add_column (self, COLUMN_SHARE, _("Share"));
  add_column (self, COLUMN_ROWS, _("Rows"));
  add_column (self, COLUMN_LOOPS, _("Loops"));
  add_column (self, COLUMN_BUFFERS, _("Buffers"));
  add_column (self, COLUMN_COST, _("Cost"));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->column_view));
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (self->box), scrolled);
}

BastionExplainView *
bastion_explain_view_new (void)
{
  return g_object_new (BASTION_TYPE_EXPLAIN_VIEW, NULL);
}

void
bastion_explain_view_clear (BastionExplainView *self)
{
  g_return_if_fail (BASTION_IS_EXPLAIN_VIEW (self));

  g_list_store_remove_all (self->roots);
  g_clear_pointer (&self->summary, g_free);
  gtk_label_set_text (self->summary_label, "");
}

static gboolean
not_a_plan (GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The plan is not in PostgreSQL’s JSON format; it is shown as text."));
  return FALSE;
}

gboolean
bastion_explain_view_set_json (BastionExplainView  *self,
                               const char          *json,
                               gsize                length,
                               GError             **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(BastionExplainNode) root = NULL;
  JsonNode *top;
  JsonObject *first;
  double planning, execution;

  g_return_val_if_fail (BASTION_IS_EXPLAIN_VIEW (self), FALSE);

  bastion_explain_view_clear (self);
  if (json == NULL || length > BASTION_EXPLAIN_MAX_JSON
      || !json_parser_load_from_data (parser, json, length, NULL))
    return not_a_plan (error);

  top = json_parser_get_root (parser);
  if (top == NULL || !JSON_NODE_HOLDS_ARRAY (top)
      || json_array_get_length (json_node_get_array (top)) == 0
      || !JSON_NODE_HOLDS_OBJECT (json_array_get_element (json_node_get_array (top), 0)))
    return not_a_plan (error);
  first = json_array_get_object_element (json_node_get_array (top), 0);
  if (!json_object_has_member (first, "Plan")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (first, "Plan")))
    return not_a_plan (error);

  root = node_from_json (json_object_get_object_member (first, "Plan"), 0);
  set_shares (root, root->inclusive);
  g_list_store_append (self->roots, root);

  planning = member_double (first, "Planning Time", -1);
  execution = member_double (first, "Execution Time", -1);
  if (execution >= 0)
    /* TRANSLATORS: the summary of EXPLAIN ANALYZE */
    self->summary = g_strdup_printf (_("Planning %.3f ms · Execution %.3f ms · highlighted: "
                                       "nodes with a fifth of the time or more"),
                                     MAX (planning, 0), execution);
  else
    self->summary = g_strdup_printf (_("Estimated total cost %.2f (not run: Explain Analyze "
                                       "measures time) · highlighted: a fifth of the cost or "
                                       "more"), root->total_cost);
  gtk_label_set_text (self->summary_label, self->summary);
  return TRUE;
}

GListModel *
bastion_explain_view_get_roots (BastionExplainView *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_VIEW (self), NULL);
  return G_LIST_MODEL (self->roots);
}

GListModel *
bastion_explain_view_get_rows (BastionExplainView *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_VIEW (self), NULL);
  return G_LIST_MODEL (self->tree);
}

const char *
bastion_explain_view_get_summary (BastionExplainView *self)
{
  g_return_val_if_fail (BASTION_IS_EXPLAIN_VIEW (self), NULL);
  return self->summary;
}
