/* bastion-query-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-history-view.h"
#include "bastion-query-view.h"
#include "bastion-shortcuts.h"
#include "bastion-sql-completion.h"
#include "bastion-sql-text.h"

/* Sidebar items are GtkStringObjects (the name shown) with these data keys. */
#define KIND_KEY   "bastion-kind"
#define SCHEMA_KEY "bastion-schema"
#define TABLE_KEY  "bastion-table"
#define DETAIL_KEY "bastion-detail"

typedef enum
{
  NODE_SCHEMA = 1,
  NODE_TABLE,
  NODE_COLUMN,
  NODE_MESSAGE,
} NodeKind;

/* A sidebar lookup waiting for the database. */
typedef struct
{
  NodeKind    kind;       /* what the rows become */
  char       *schema;
  char       *table;
  GListStore *store;
} SchemaRequest;

struct _BastionQueryView
{
  GtkWidget          parent_instance;

  /* Owned */
  BastionDatabase   *database;
  BastionConnection *connection;
  BastionCatalog    *catalog;     /* for completion, read once per connection */
  char              *profile_id;
  GCancellable      *cancellable;
  GListStore        *schema_root;
  GtkTreeListModel  *schema_tree;
  GQueue             requests;
  BastionQuery      *schema_query;
  gulong             busy_id;
  BastionHistory    *history;
  guint              is_simpleiot : 1;
  guint              history_message_shown : 1;

  /* Template widgets */
  AdwToastOverlay   *toast_overlay;
  GtkWidget         *simpleiot_box;
  GtkListBox        *entity_list;
  GtkListView       *schema_list;
  AdwTabView        *tab_view;
  GtkWidget         *history_button;
  GtkWidget         *history_popover;
  BastionHistoryView *history_view;
};

G_DEFINE_FINAL_TYPE (BastionQueryView, bastion_query_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DATABASE,
  PROP_PROFILE_ID,
  PROP_IS_SIMPLEIOT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void process_requests (BastionQueryView *self);

/* SimpleIOT's entities, joined so a person reads names, not uuids. */
static const struct
{
  const char *id;
  const char *title;
  const char *icon;
  const char *sql;
} entities[] = {
  { "projects", N_("Projects"), "folder-symbolic",
    "SELECT p.name,\n"
    "       p.\"desc\",\n"
    "       (SELECT count(*) FROM model m WHERE m.model_project = p.id) AS models,\n"
    "       (SELECT count(*) FROM device d WHERE d.device_project = p.id) AS devices,\n"
    "       p.is_gateway,\n"
    "       p.date_created,\n"
    "       p.last_modified,\n"
    "       p.id\n"
    "  FROM project p\n"
    " ORDER BY p.name;\n" },
  { "models", N_("Models"), "application-x-firmware-symbolic",
    "SELECT m.name,\n"
    "       m.display_name,\n"
    "       pr.name AS project,\n"
    "       CASE m.model_type WHEN 0 THEN 'none' WHEN 1 THEN 'device' WHEN 2 THEN 'gateway'\n"
    "                         WHEN 3 THEN 'mobile' END AS type,\n"
    "       m.revision,\n"
    "       m.\"desc\",\n"
    "       m.hw_version,\n"
    "       m.firmware_version,\n"
    "       (SELECT count(*) FROM device d WHERE d.model = m.id) AS devices,\n"
    "       m.date_created,\n"
    "       m.id\n"
    "  FROM model m\n"
    "  LEFT JOIN project pr ON pr.id = m.model_project\n"
    " ORDER BY pr.name, m.display_order NULLS LAST, m.name;\n" },
  { "datatypes", N_("Data Types"), "view-list-bullet-symbolic",
    "SELECT dt.name,\n"
    "       m.name AS model,\n"
    "       pr.name AS project,\n"
    "       dt.data_type,\n"
    "       dt.units,\n"
    "       dt.\"desc\",\n"
    "       dt.data_position,\n"
    "       dt.allow_modify,\n"
    "       dt.show_on_twin,\n"
    "       dt.date_created,\n"
    "       dt.id\n"
    "  FROM datatype dt\n"
    "  LEFT JOIN model m ON m.id = dt.model\n"
    "  LEFT JOIN project pr ON pr.id = m.model_project\n"
    " ORDER BY pr.name, m.name, dt.name;\n" },
  { "devices", N_("Devices"), "network-wireless-symbolic",
    "SELECT d.name,\n"
    "       d.serial_number,\n"
    "       m.name AS model,\n"
    "       pr.name AS project,\n"
    "       d.status,\n"
    "       d.\"desc\",\n"
    "       d.\"position\",\n"
    "       g.name AS gateway,\n"
    "       d.installed,\n"
    "       d.on_power,\n"
    "       d.battery_level,\n"
    "       d.firmware_version,\n"
    "       d.geo_lat,\n"
    "       d.geo_lng,\n"
    "       d.date_created,\n"
    "       d.id\n"
    "  FROM device d\n"
    "  LEFT JOIN model m ON m.id = d.model\n"
    "  LEFT JOIN project pr ON pr.id = d.device_project\n"
    "  LEFT JOIN device g ON g.id = d.gateway\n"
    " ORDER BY d.name;\n" },
  /* Telemetry, the latest first: one line per device and data type over time (the Chart view
   * opens). */
  { "device-data", N_("Device Data"), "applications-graphics-symbolic",
    "SELECT v.\"timestamp\",\n"
    "       d.name || ' · ' || t.name\n"
    "         || CASE WHEN t.units <> '' THEN ' (' || t.units || ')' ELSE '' END AS series,\n"
    "       CASE WHEN v.value ~ '^\\s*[-+]?[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?\\s*$'\n"
    "            THEN v.value::float8 END AS value,\n"
    "       v.value AS raw_value,\n"
    "       d.serial_number,\n"
    "       v.\"position\"\n"
    "  FROM data v\n"
    "  JOIN device d ON d.id = v.device\n"
    "  JOIN datatype t ON t.id = v.type\n"
    " ORDER BY v.\"timestamp\" DESC\n"
    " LIMIT 100000;\n" },
};

const char *
bastion_query_view_get_entity_sql (const char *entity)
{
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    if (g_strcmp0 (entities[i].id, entity) == 0)
      return entities[i].sql;
  return NULL;
}

/* History */

char *
bastion_query_view_dup_history_path (const char *profile_id)
{
  return bastion_history_dup_path_for_profile (profile_id);
}

/* A statement on its way to the history: recorded once it ends (or pauses at the row cap). */
typedef struct
{
  BastionQueryView *view;
  gint64            started;
  gulong            handler;
  guint             writes : 1;
} Recording;

static void
recording_free (gpointer  data,
                GClosure *closure)
{
  Recording *recording = data;

  g_clear_object (&recording->view);
  g_free (recording);
}

/* "UPDATE 3", "INSERT 0 5": the rows a command touched; -1 when it does not say. */
static gint64
command_rows (const char *status)
{
  const char *space = status != NULL ? strrchr (status, ' ') : NULL;
  char *end;
  gint64 n;

  if (space == NULL)
    return -1;
  n = g_ascii_strtoll (space + 1, &end, 10);
  return *end == '\0' && end != space + 1 ? n : -1;
}

static void
show_history_message (BastionQueryView *self,
                      const char       *message)
{
  if (message == NULL || self->history_message_shown)
    return;
  self->history_message_shown = TRUE;
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
history_added_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(BastionQueryView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_history_add_finish (BASTION_HISTORY (object), result, &error))
    show_history_message (self, error->message);
  show_history_message (self, bastion_history_get_recovery_message (self->history));
  if (self->history_view != NULL && gtk_widget_get_mapped (GTK_WIDGET (self->history_view)))
    bastion_history_view_reload (self->history_view);
}

static void
on_recorded_state (BastionQuery *query,
                   GParamSpec   *pspec,
                   Recording    *recording)
{
  BastionQueryState state = bastion_query_get_state (query);
  const GError *error = bastion_query_get_error (query);
  BastionHistoryOutcome outcome = BASTION_HISTORY_OUTCOME_OK;
  g_autoptr(BastionHistoryEntry) entry = NULL;
  gint64 rows;

  if (state != BASTION_QUERY_STATE_PAUSED && state != BASTION_QUERY_STATE_FINISHED)
    return;

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    outcome = BASTION_HISTORY_OUTCOME_CANCELLED;
  else if (error != NULL)
    outcome = BASTION_HISTORY_OUTCOME_ERROR;
  rows = bastion_query_get_n_columns (query) > 0
         ? (gint64) bastion_query_get_n_rows (query)
         : command_rows (bastion_query_get_command_status (query));
  if (outcome == BASTION_HISTORY_OUTCOME_ERROR && bastion_query_get_n_columns (query) == 0)
    rows = -1;

  /* Never the result: the statement (masked by the store) and how it went. */
  entry = bastion_history_entry_new (bastion_query_get_sql (query), recording->started,
                                     bastion_query_get_elapsed_usec (query), rows, outcome,
                                     outcome != BASTION_HISTORY_OUTCOME_OK
                                     ? bastion_query_get_sqlstate (query) : NULL,
                                     recording->writes);
  bastion_history_add_async (recording->view->history, entry, NULL, history_added_cb,
                             g_object_ref (recording->view));
  g_signal_handler_disconnect (query, recording->handler);
}

static void
on_page_executed (BastionQueryView *self,
                  const char       *sql,
                  BastionQueryPage *page)
{
  BastionQuery *query = bastion_query_page_get_query (page);
  Recording *recording;

  while (g_ascii_isspace (*sql))
    sql++;
  if (query == NULL || self->history == NULL || *sql == '\0')
    return;

  recording = g_new0 (Recording, 1);
  recording->view = g_object_ref (self);
  recording->started = g_get_real_time ();
  recording->writes = !bastion_database_get_read_only (bastion_query_get_database (query));
  recording->handler = g_signal_connect_data (query, "notify::state",
                                              G_CALLBACK (on_recorded_state), recording,
                                              recording_free, 0);
}

static void
history_opened_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(BastionQueryView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_history_open_finish (BASTION_HISTORY (object), result, &error))
    show_history_message (self, error->message);
  else
    show_history_message (self, bastion_history_get_recovery_message (self->history));
}

static void
on_history_show (BastionQueryView *self)
{
  bastion_history_view_reload (self->history_view);
}

static void
on_history_open_sql (BastionQueryView *self,
                     const char       *sql)
{
  BastionQueryPage *page = bastion_query_view_get_current_page (self);

  if (page == NULL)
    page = bastion_query_view_add_page (self, NULL);
  /* Into the editor, not run: the user looks before running a statement again. */
  bastion_query_page_set_sql (page, sql);
  gtk_popover_popdown (GTK_POPOVER (self->history_popover));
  gtk_widget_grab_focus (GTK_WIDGET (bastion_query_page_get_source_view (page)));
}

/* Schema sidebar */

static GtkStringObject *
new_node (NodeKind    kind,
          const char *name,
          const char *schema,
          const char *table,
          const char *detail)
{
  GtkStringObject *node = gtk_string_object_new (name);

  g_object_set_data (G_OBJECT (node), KIND_KEY, GINT_TO_POINTER (kind));
  g_object_set_data_full (G_OBJECT (node), SCHEMA_KEY, g_strdup (schema), g_free);
  g_object_set_data_full (G_OBJECT (node), TABLE_KEY, g_strdup (table), g_free);
  g_object_set_data_full (G_OBJECT (node), DETAIL_KEY, g_strdup (detail), g_free);
  return node;
}

static NodeKind
node_kind (gpointer node)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (node), KIND_KEY));
}

static void
schema_request_free (SchemaRequest *request)
{
  g_free (request->schema);
  g_free (request->table);
  g_clear_object (&request->store);
  g_free (request);
}

static void
queue_request (BastionQueryView *self,
               NodeKind          kind,
               const char       *schema,
               const char       *table,
               GListStore       *store)
{
  SchemaRequest *request = g_new0 (SchemaRequest, 1);

  request->kind = kind;
  request->schema = g_strdup (schema);
  request->table = g_strdup (table);
  request->store = g_object_ref (store);
  g_queue_push_tail (&self->requests, request);
  process_requests (self);
}

static void
fill_store (SchemaRequest *request,
            BastionQuery  *query)
{
  BastionResultModel *model = bastion_query_get_model (query);
  guint n = bastion_result_model_get_n_rows (model);
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func (g_object_unref);
  const GError *error = bastion_query_get_error (query);

  if (error != NULL)
    {
      g_ptr_array_add (nodes, new_node (NODE_MESSAGE, error->message, NULL, NULL, NULL));
    }
  else
    {
      for (guint i = 0; i < n; i++)
        {
          const char *name = bastion_result_model_get_value (model, i, 0, NULL, NULL);
          const char *detail = bastion_result_model_get_n_columns (model) > 1
                               ? bastion_result_model_get_value (model, i, 1, NULL, NULL) : NULL;

          switch (request->kind)
            {
            case NODE_SCHEMA:
              g_ptr_array_add (nodes, new_node (NODE_SCHEMA, name, name, NULL, NULL));
              break;
            case NODE_TABLE:
              g_ptr_array_add (nodes, new_node (NODE_TABLE, name, request->schema, name, detail));
              break;
            case NODE_COLUMN:
            case NODE_MESSAGE:
            default:
              g_ptr_array_add (nodes, new_node (NODE_COLUMN, name, request->schema,
                                                request->table, detail));
              break;
            }
        }
      if (n == 0)
        g_ptr_array_add (nodes, new_node (NODE_MESSAGE, _("Empty"), NULL, NULL, NULL));
    }

  g_list_store_splice (request->store, 0, g_list_model_get_n_items (G_LIST_MODEL (request->store)),
                       nodes->pdata, nodes->len);
}

static void
schema_query_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionQueryView) self = user_data;
  g_autoptr(GError) error = NULL;
  SchemaRequest *request;

  bastion_query_run_finish (BASTION_QUERY (object), result, &error);
  if (self->schema_query != BASTION_QUERY (object))
    return;

  request = g_queue_pop_head (&self->requests);
  if (request != NULL)
    {
      fill_store (request, self->schema_query);
      schema_request_free (request);
    }
  g_clear_object (&self->schema_query);
  process_requests (self);
}

static void
process_requests (BastionQueryView *self)
{
  SchemaRequest *request = g_queue_peek_head (&self->requests);
  const char *params[3] = { NULL, NULL, NULL };
  const char *sql;

  if (request == NULL || self->schema_query != NULL || self->database == NULL)
    return;
  /* Shared with a tab that runs a statement: wait for notify::busy. */
  if (!bastion_database_get_connected (self->database)
      || bastion_database_get_busy (self->database))
    return;

  switch (request->kind)
    {
    case NODE_SCHEMA:
      sql = "SELECT nspname FROM pg_catalog.pg_namespace "
            " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' "
            " ORDER BY nspname <> 'public', nspname";
      self->schema_query = bastion_query_new (self->database, sql);
      break;
    case NODE_TABLE:
      params[0] = request->schema;
      sql = "SELECT c.relname, "
            "       CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' "
            "                      WHEN 'f' THEN 'foreign table' ELSE NULL END "
            "  FROM pg_catalog.pg_class c "
            "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            " ORDER BY c.relname";
      self->schema_query = bastion_query_new_with_params (self->database, sql, params);
      break;
    case NODE_COLUMN:
    case NODE_MESSAGE:
    default:
      params[0] = request->schema;
      params[1] = request->table;
      sql = "SELECT column_name, data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' "
            "                                      ELSE '' END "
            "  FROM information_schema.columns "
            " WHERE table_schema = $1 AND table_name = $2 "
            " ORDER BY ordinal_position";
      self->schema_query = bastion_query_new_with_params (self->database, sql, params);
      break;
    }

  bastion_query_run_async (self->schema_query, self->cancellable, schema_query_cb,
                           g_object_ref (self));
}

static GListModel *
create_children (gpointer item,
                 gpointer user_data)
{
  BastionQueryView *self = user_data;
  NodeKind kind = node_kind (item);
  GListStore *store;
  g_autoptr(GtkStringObject) loading = NULL;

  if (kind != NODE_SCHEMA && kind != NODE_TABLE)
    return NULL;

  /* Filled once the lookup returns; the tree shows a "Loading…" row until then. */
  store = g_list_store_new (GTK_TYPE_STRING_OBJECT);
  loading = new_node (NODE_MESSAGE, _("Loading…"), NULL, NULL, NULL);
  g_list_store_append (store, loading);
  queue_request (self, kind == NODE_SCHEMA ? NODE_TABLE : NODE_COLUMN,
                 g_object_get_data (G_OBJECT (item), SCHEMA_KEY),
                 g_object_get_data (G_OBJECT (item), TABLE_KEY), store);
  return G_LIST_MODEL (store);
}

static void
setup_schema_row (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  gpointer                  user_data)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *detail = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  /* A small natural width: the name gets its room first, the type what is left. */
  gtk_label_set_max_width_chars (GTK_LABEL (detail), 1);
  gtk_widget_set_hexpand (detail, TRUE);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), box);
  gtk_list_item_set_child (item, expander);
}

static void
bind_schema_row (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkTreeListRow *row = gtk_list_item_get_item (item);
  GtkWidget *expander = gtk_list_item_get_child (item);
  GtkWidget *box = gtk_tree_expander_get_child (GTK_TREE_EXPANDER (expander));
  GtkWidget *icon = gtk_widget_get_first_child (box);
  GtkWidget *name = gtk_widget_get_next_sibling (icon);
  GtkWidget *detail = gtk_widget_get_next_sibling (name);
  GtkStringObject *node = gtk_tree_list_row_get_item (row);
  const char *detail_text = g_object_get_data (G_OBJECT (node), DETAIL_KEY);
  static const char * const icons[] = {
    NULL, "folder-symbolic", "view-grid-symbolic", "format-justify-left-symbolic", NULL,
  };
  NodeKind kind = node_kind (node);

  gtk_tree_expander_set_list_row (GTK_TREE_EXPANDER (expander), row);
  gtk_label_set_text (GTK_LABEL (name), gtk_string_object_get_string (node));
  gtk_label_set_text (GTK_LABEL (detail), detail_text != NULL ? detail_text : "");
  if (detail_text != NULL && kind == NODE_COLUMN)
    {
      g_autofree char *tip = g_strdup_printf ("%s · %s", gtk_string_object_get_string (node),
                                              detail_text);

      gtk_widget_set_tooltip_text (box, tip);
    }
  else
    gtk_widget_set_tooltip_text (box, NULL);
  /* GTK 4.8 has no GtkListItem:accessible-label: name the row widget itself, or a screen
   * reader finds an unnamed list item. */
  if (gtk_widget_get_parent (expander) != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_parent (expander)),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    gtk_string_object_get_string (node), -1);
  gtk_image_set_from_icon_name (GTK_IMAGE (icon), icons[kind]);
  gtk_widget_set_visible (icon, icons[kind] != NULL);
  if (kind == NODE_MESSAGE)
    gtk_widget_add_css_class (name, "dim-label");
  else
    gtk_widget_remove_css_class (name, "dim-label");
  g_object_unref (node);
}

static void
reload_schema (BastionQueryView *self)
{
  g_list_store_remove_all (self->schema_root);
  queue_request (self, NODE_SCHEMA, NULL, NULL, self->schema_root);
  if (self->catalog != NULL)
    bastion_catalog_refresh (self->catalog);
}

static void
on_schema_activated (GtkListView      *list,
                     guint             position,
                     BastionQueryView *self)
{
  g_autoptr(GtkTreeListRow) row = g_list_model_get_item (G_LIST_MODEL (self->schema_tree),
                                                        position);
  g_autoptr(GObject) node = gtk_tree_list_row_get_item (row);
  g_autofree char *schema = NULL;
  g_autofree char *table = NULL;
  g_autofree char *sql = NULL;
  BastionQueryPage *page;

  if (node_kind (node) != NODE_TABLE)
    {
      gtk_tree_list_row_set_expanded (row, !gtk_tree_list_row_get_expanded (row));
      return;
    }

  schema = bastion_sql_quote_identifier (g_object_get_data (node, SCHEMA_KEY));
  table = bastion_sql_quote_identifier (g_object_get_data (node, TABLE_KEY));
  sql = g_strdup_printf ("SELECT *\n  FROM %s.%s\n LIMIT 1000;\n", schema, table);
  page = bastion_query_view_add_page (self, NULL);
  bastion_query_page_run_sql (page, sql);
}

static void
on_database_busy (BastionQueryView *self)
{
  process_requests (self);
}

/* Tabs */

static void
on_page_connected (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(BastionQueryPage) page = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionDatabase) database =
    bastion_connection_connect_database_finish (BASTION_CONNECTION (object), result, &error);
  GtkWidget *view = gtk_widget_get_ancestor (GTK_WIDGET (page), BASTION_TYPE_QUERY_VIEW);

  if (database == NULL)
    {
      if (view != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("The new tab could not log in: %s"),
                                                   error->message);

          adw_toast_overlay_add_toast (BASTION_QUERY_VIEW (view)->toast_overlay,
                                       adw_toast_new (text));
        }
      return;
    }
  bastion_query_page_set_database (page, database);
}

BastionQueryPage *
bastion_query_view_add_page (BastionQueryView *self,
                             BastionDatabase  *database)
{
  BastionQueryPage *page;
  AdwTabPage *tab;

  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);

  if (database == NULL
      && (self->connection == NULL || adw_tab_view_get_n_pages (self->tab_view) == 0))
    database = self->database;

  page = bastion_query_page_new (database);
  g_signal_connect_object (page, "executed", G_CALLBACK (on_page_executed), self,
                           G_CONNECT_SWAPPED);
  if (self->catalog != NULL)
    bastion_sql_completion_attach (bastion_query_page_get_source_view (page), self->catalog);

  tab = adw_tab_view_append (self->tab_view, GTK_WIDGET (page));
  g_object_bind_property (page, "title", tab, "title", G_BINDING_SYNC_CREATE);
  g_object_bind_property (page, "running", tab, "loading", G_BINDING_SYNC_CREATE);
  g_object_bind_property (page, "status-text", tab, "tooltip", G_BINDING_DEFAULT);
  adw_tab_view_set_selected_page (self->tab_view, tab);

  if (database == NULL)
    bastion_connection_connect_database_async (self->connection, self->cancellable,
                                               on_page_connected, g_object_ref (page));

  gtk_widget_grab_focus (GTK_WIDGET (bastion_query_page_get_source_view (page)));
  return page;
}

static gboolean
on_close_page (BastionQueryView *self,
               AdwTabPage       *tab,
               AdwTabView       *view)
{
  adw_tab_view_close_page_finish (view, tab, TRUE);
  /* The view always has a tab to type in. */
  if (adw_tab_view_get_n_pages (view) == 0)
    bastion_query_view_add_page (self, NULL);
  return GDK_EVENT_STOP;
}

static void
new_tab_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  bastion_query_view_add_page (BASTION_QUERY_VIEW (widget), NULL);
}

static void
close_tab_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (widget);
  AdwTabPage *tab = adw_tab_view_get_selected_page (self->tab_view);

  if (tab != NULL)
    adw_tab_view_close_page (self->tab_view, tab);
}

static void
explain_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (widget);
  BastionQueryPage *page = bastion_query_view_get_current_page (self);
  g_autofree char *statement = NULL;
  g_autofree char *sql = NULL;
  BastionQueryPage *plan_page;

  if (page == NULL || (statement = bastion_query_page_dup_current_statement (page)) == NULL)
    {
      adw_toast_overlay_add_toast (self->toast_overlay,
                                   adw_toast_new (_("Type a statement to explain first")));
      return;
    }

  if (g_str_equal (action_name, "view.explain-analyze"))
    {
      BastionDatabase *database = bastion_query_page_get_database (page);
      const char *keyword = NULL;

      /* ANALYZE runs the statement: only a read, or a write where writes are allowed (then
       * the page asks, as for the statement itself). */
      if (bastion_sql_changes_data (statement, &keyword)
          && (database == NULL || bastion_database_get_read_only (database)))
        {
          g_autofree char *text =
            /* TRANSLATORS: %s is an SQL key word such as DELETE */
            g_strdup_printf (_("Explain Analyze runs the statement, and it uses %s: turn on "
                               "“Allow Writes” first, or use Explain."), keyword);

          adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
          return;
        }
      sql = g_strdup_printf ("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)\n%s", statement);
    }
  else
    sql = g_strdup_printf ("EXPLAIN (FORMAT JSON)\n%s", statement);

  /* The plan runs in the statement's own session, so it sees the same settings. */
  plan_page = bastion_query_view_add_page (self, bastion_query_page_get_database (page));
  bastion_query_page_run_sql (plan_page, sql);
  bastion_query_page_set_title (plan_page, g_str_equal (action_name, "view.explain-analyze")
                                           ? _("Explain Analyze") : _("Explain"));
}

BastionQueryPage *
bastion_query_view_open_entity (BastionQueryView *self,
                                const char       *entity)
{
  const char *sql = bastion_query_view_get_entity_sql (entity);
  BastionQueryPage *page;

  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);

  if (sql == NULL)
    return NULL;

  page = bastion_query_view_add_page (self, NULL);
  bastion_query_page_run_sql_when_connected (page, sql);
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    if (g_str_equal (entities[i].id, entity))
      bastion_query_page_set_title (page, _(entities[i].title));
  if (g_str_equal (entity, "device-data"))
    {
      bastion_chart_view_prefer_columns (bastion_query_page_get_chart_view (page), "timestamp",
                                         "value", "series");
      bastion_query_page_set_show_chart (page, TRUE);
    }
  return page;
}

static void
open_entity_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  bastion_query_view_open_entity (BASTION_QUERY_VIEW (widget), g_variant_get_string (param, NULL));
}

static void
on_entity_activated (GtkListBox       *list,
                     GtkListBoxRow    *row,
                     BastionQueryView *self)
{
  bastion_query_view_open_entity (self, gtk_widget_get_name (GTK_WIDGET (row)));
}

static void
refresh_schema_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  reload_schema (BASTION_QUERY_VIEW (widget));
}

/* GObject */

static void
bastion_query_view_constructed (GObject *object)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (object);

  G_OBJECT_CLASS (bastion_query_view_parent_class)->constructed (object);

  gtk_widget_set_visible (self->simpleiot_box, self->is_simpleiot);
  {
    g_autofree char *path = bastion_history_dup_path_for_profile (self->profile_id);

    self->history = bastion_history_new (path);
    bastion_history_view_set_history (self->history_view, self->history);
    bastion_history_open_async (self->history, self->cancellable, history_opened_cb,
                                g_object_ref (self));
  }
  if (self->database != NULL)
    {
      self->busy_id = g_signal_connect_swapped (self->database, "notify::busy",
                                                G_CALLBACK (on_database_busy), self);
      self->catalog = bastion_catalog_new (self->database);
      reload_schema (self);
    }
  bastion_query_view_add_page (self, NULL);
}

static void
bastion_query_view_dispose (GObject *object)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->database != NULL)
    g_clear_signal_handler (&self->busy_id, self->database);
  if (self->schema_query != NULL)
    bastion_query_cancel (self->schema_query);

  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_QUERY_VIEW);

  g_queue_clear_full (&self->requests, (GDestroyNotify) schema_request_free);
  g_clear_object (&self->schema_query);
  g_clear_object (&self->schema_tree);
  g_clear_object (&self->schema_root);
  g_clear_object (&self->catalog);
  g_clear_object (&self->history);
  g_clear_object (&self->database);
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (bastion_query_view_parent_class)->dispose (object);
}

static void
bastion_query_view_finalize (GObject *object)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (object);

  g_free (self->profile_id);

  G_OBJECT_CLASS (bastion_query_view_parent_class)->finalize (object);
}

static void
bastion_query_view_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      g_value_set_object (value, self->database);
      break;
    case PROP_PROFILE_ID:
      g_value_set_string (value, self->profile_id);
      break;
    case PROP_IS_SIMPLEIOT:
      g_value_set_boolean (value, self->is_simpleiot);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_view_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  BastionQueryView *self = BASTION_QUERY_VIEW (object);

  switch (prop_id)
    {
    case PROP_DATABASE:
      self->database = g_value_dup_object (value);
      break;
    case PROP_PROFILE_ID:
      self->profile_id = g_value_dup_string (value);
      break;
    case PROP_IS_SIMPLEIOT:
      self->is_simpleiot = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_query_view_class_init (BastionQueryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = bastion_query_view_constructed;
  object_class->dispose = bastion_query_view_dispose;
  object_class->finalize = bastion_query_view_finalize;
  object_class->get_property = bastion_query_view_get_property;
  object_class->set_property = bastion_query_view_set_property;

  properties[PROP_DATABASE] =
    g_param_spec_object ("database", NULL, NULL, BASTION_TYPE_DATABASE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROFILE_ID] =
    g_param_spec_string ("profile-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IS_SIMPLEIOT] =
    g_param_spec_boolean ("is-simpleiot", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (BASTION_TYPE_QUERY_PAGE);
  g_type_ensure (BASTION_TYPE_HISTORY_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/bastiongtk/Bastion/"
                                                             "bastion-query-view.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, simpleiot_box);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, entity_list);
  gtk_widget_class_bind_template_child_full (widget_class, "explain_button", FALSE, 0);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, schema_list);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, tab_view);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, history_button);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, history_popover);
  gtk_widget_class_bind_template_child (widget_class, BastionQueryView, history_view);
  gtk_widget_class_bind_template_callback (widget_class, on_entity_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_schema_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_history_show);
  gtk_widget_class_bind_template_callback (widget_class, on_history_open_sql);

  gtk_widget_class_install_action (widget_class, "view.new-tab", NULL, new_tab_action);
  gtk_widget_class_install_action (widget_class, "view.close-tab", NULL, close_tab_action);
  gtk_widget_class_install_action (widget_class, "view.explain", NULL, explain_action);
  gtk_widget_class_install_action (widget_class, "view.explain-analyze", NULL, explain_action);
  gtk_widget_class_install_action (widget_class, "view.open-entity", "s", open_entity_action);
  gtk_widget_class_install_action (widget_class, "view.refresh-schema", NULL,
                                   refresh_schema_action);
  bastion_shortcuts_add_bindings (widget_class, BASTION_SHORTCUT_QUERY_VIEW);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

/* AdwSplitButton 1.2 names its arrow only in a tooltip; a screen reader needs a name. */
static void
label_split_button_arrow (BastionQueryView *self)
{
  GtkWidget *split = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (self),
                                                                BASTION_TYPE_QUERY_VIEW,
                                                                "explain_button"));

  for (GtkWidget *child = gtk_widget_get_first_child (split);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_MENU_BUTTON (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("More Ways to Explain"), -1);
}

static void
build_entity_rows (BastionQueryView *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
    {
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      GtkWidget *label = gtk_label_new (_(entities[i].title));

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name (entities[i].icon));
      gtk_box_append (GTK_BOX (box), label);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_widget_set_name (row, entities[i].id);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _(entities[i].title), -1);
      gtk_list_box_append (self->entity_list, row);
    }
}

static void
bastion_query_view_init (BastionQueryView *self)
{
  GtkListItemFactory *factory;
  g_autoptr(GtkSingleSelection) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->requests);

  build_entity_rows (self);
  label_split_button_arrow (self);

  self->schema_root = g_list_store_new (GTK_TYPE_STRING_OBJECT);
  self->schema_tree = gtk_tree_list_model_new (G_LIST_MODEL (g_object_ref (self->schema_root)),
                                               FALSE, FALSE, create_children, self, NULL);
  selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->schema_tree)));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_list_view_set_model (self->schema_list, GTK_SELECTION_MODEL (selection));

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_schema_row), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_schema_row), NULL);
  gtk_list_view_set_factory (self->schema_list, factory);
  g_object_unref (factory);

  g_signal_connect_object (self->tab_view, "close-page", G_CALLBACK (on_close_page), self,
                           G_CONNECT_SWAPPED);
}

GtkWidget *
bastion_query_view_new (BastionDatabase *database,
                        const char      *profile_id,
                        gboolean         is_simpleiot)
{
  g_return_val_if_fail (BASTION_IS_DATABASE (database), NULL);

  return g_object_new (BASTION_TYPE_QUERY_VIEW,
                       "database", database,
                       "profile-id", profile_id,
                       "is-simpleiot", is_simpleiot,
                       NULL);
}

void
bastion_query_view_set_connection (BastionQueryView  *self,
                                   BastionConnection *connection)
{
  g_return_if_fail (BASTION_IS_QUERY_VIEW (self));
  g_return_if_fail (connection == NULL || BASTION_IS_CONNECTION (connection));

  g_set_object (&self->connection, connection);
}

BastionDatabase *
bastion_query_view_get_database (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->database;
}

const char *
bastion_query_view_get_profile_id (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->profile_id;
}

AdwTabView *
bastion_query_view_get_tab_view (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->tab_view;
}

BastionQueryPage *
bastion_query_view_get_current_page (BastionQueryView *self)
{
  AdwTabPage *tab;

  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);

  tab = adw_tab_view_get_selected_page (self->tab_view);
  return tab != NULL ? BASTION_QUERY_PAGE (adw_tab_page_get_child (tab)) : NULL;
}

BastionCatalog *
bastion_query_view_get_catalog (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->catalog;
}

GListModel *
bastion_query_view_get_schema_model (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return G_LIST_MODEL (self->schema_tree);
}

BastionHistory *
bastion_query_view_get_history (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->history;
}

BastionHistoryView *
bastion_query_view_get_history_view (BastionQueryView *self)
{
  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (self), NULL);
  return self->history_view;
}
