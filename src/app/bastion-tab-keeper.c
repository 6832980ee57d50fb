/* bastion-tab-keeper.c
 *
 * The query tabs of a connected team: marked when they allow writes, and kept (titles and SQL)
 * across Disconnect/Connect and restarts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-tab-keeper.h"

/* Bounds for the state file, which is read back: a file that grew past them is not ours. */
#define STATE_MAX_BYTES   (2 * 1024 * 1024)
#define STATE_MAX_TABS    32
#define STATE_MAX_SQL     (256 * 1024)
#define SAVE_DELAY_SECONDS 1

/* Writes allowed and no environment colour: the warning colour. */
#define DEFAULT_WRITE_COLOR "#ff7800"

struct _BastionTabKeeper
{
  GObject           parent_instance;

  /* Owned */
  BastionQueryView *view;
  char             *profile_id;
  char             *env_color;
  GIcon            *write_icon;
  GCancellable     *cancellable;
  GHashTable       *databases;   /* attached page (not owned) -> the database its mark watches */
  guint             save_id;

  /* Not owned */
  AdwTabView       *tab_view;

  guint             writes_allowed : 1;
  guint             restoring : 1;
};

enum {
  PROP_0,
  PROP_WRITES_ALLOWED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionTabKeeper, bastion_tab_keeper, G_TYPE_OBJECT)

typedef struct
{
  char *title;
  char *sql;
} KeptTab;

static void
kept_tab_free (KeptTab *tab)
{
  g_free (tab->title);
  g_free (tab->sql);
  g_free (tab);
}

/* profile id -> GPtrArray of KeptTab: what this process saw last, secrets included. */
static GHashTable *memory;

static GHashTable *
get_memory (void)
{
  if (memory == NULL)
    memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_ptr_array_unref);
  return memory;
}

void
bastion_tab_keeper_forget_memory (void)
{
  g_clear_pointer (&memory, g_hash_table_unref);
}

char *
bastion_tab_keeper_dup_state_path (const char *profile_id)
{
  g_autofree char *name = g_strdup (profile_id != NULL && *profile_id ? profile_id : "default");
  g_autofree char *file = NULL;

  /* A profile id is ours, but never let it leave the folder. */
  for (char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      *p = '_';
  if (name[0] == '.')
    name[0] = '_';

  file = g_strconcat (name, ".json", NULL);
  return g_build_filename (g_get_user_state_dir (), "bastion", "tabs", file, NULL);
}

static gboolean
may_write_to_disk (const char *sql)
{
  /* ALTER ROLE … PASSWORD '…' and friends: a secret never goes to a file. */
  g_autofree char *lower = g_ascii_strdown (sql, -1);

  return strstr (lower, "password") == NULL && strstr (lower, "secret") == NULL;
}

/* ---- The write marks ----------------------------------------------------------------------- */

static GIcon *
new_write_icon (const char *color)
{
  const int size = 16;
  g_autoptr(GBytes) bytes = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;
  GdkRGBA rgba;
  guchar *data;
  int stride;

  if (color == NULL || !gdk_rgba_parse (&rgba, color))
    gdk_rgba_parse (&rgba, DEFAULT_WRITE_COLOR);

  /* A filled disc in the environment's colour, ringed so it shows on any tab background. */
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, size, size);
  cr = cairo_create (surface);
  cairo_arc (cr, size / 2.0, size / 2.0, size / 2.0 - 1.5, 0, 2 * G_PI);
  cairo_set_source_rgba (cr, rgba.red, rgba.green, rgba.blue, 1.0);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 1.5);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.35);
  cairo_stroke (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);

  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  bytes = g_bytes_new (data, (gsize) stride * size);
  cairo_surface_destroy (surface);

  return G_ICON (gdk_memory_texture_new (size, size, GDK_MEMORY_DEFAULT, bytes, stride));
}

static gboolean
page_allows_writes (BastionQueryPage *page)
{
  BastionDatabase *database = bastion_query_page_get_database (page);

  return database != NULL && !bastion_database_get_read_only (database);
}

static void
refresh_marks (BastionTabKeeper *self)
{
  AdwTabPage *selected;
  gboolean writes = FALSE;
  int n;

  if (self->tab_view == NULL)
    return;

  n = adw_tab_view_get_n_pages (self->tab_view);
  for (int i = 0; i < n; i++)
    {
      AdwTabPage *tab = adw_tab_view_get_nth_page (self->tab_view, i);
      BastionQueryPage *page = BASTION_QUERY_PAGE (adw_tab_page_get_child (tab));
      gboolean allows = page_allows_writes (page);

      adw_tab_page_set_indicator_icon (tab, allows ? self->write_icon : NULL);
      adw_tab_page_set_indicator_tooltip (tab, allows ? _("Writes are allowed in this tab") : "");
    }

  selected = adw_tab_view_get_selected_page (self->tab_view);
  if (selected != NULL)
    writes = page_allows_writes (BASTION_QUERY_PAGE (adw_tab_page_get_child (selected)));

  if (writes != self->writes_allowed)
    {
      self->writes_allowed = writes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WRITES_ALLOWED]);
    }
}

static void
on_page_database (BastionTabKeeper *self,
                  GParamSpec       *pspec,
                  BastionQueryPage *page)
{
  BastionDatabase *old = g_hash_table_lookup (self->databases, page);
  BastionDatabase *database = bastion_query_page_get_database (page);

  if (old != database)
    {
      if (old != NULL)
        g_signal_handlers_disconnect_by_data (old, self);
      if (database != NULL)
        g_signal_connect_object (database, "notify::read-only", G_CALLBACK (refresh_marks),
                                 self, G_CONNECT_SWAPPED);
      if (database != NULL)
        g_hash_table_replace (self->databases, page, g_object_ref (database));
      else
        g_hash_table_remove (self->databases, page);
    }
  refresh_marks (self);
}

/* ---- Keeping ------------------------------------------------------------------------------- */

static GPtrArray *
snapshot (BastionTabKeeper *self)
{
  GPtrArray *tabs = g_ptr_array_new_with_free_func ((GDestroyNotify) kept_tab_free);
  int n = adw_tab_view_get_n_pages (self->tab_view);

  for (int i = 0; i < n && tabs->len < STATE_MAX_TABS; i++)
    {
      BastionQueryPage *page =
        BASTION_QUERY_PAGE (adw_tab_page_get_child (adw_tab_view_get_nth_page (self->tab_view, i)));
      GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (page));
      GtkTextIter start, end;
      KeptTab *tab;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      tab = g_new0 (KeptTab, 1);
      tab->title = g_strdup (bastion_query_page_get_title (page));
      tab->sql = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      g_ptr_array_add (tabs, tab);
    }
  return tabs;
}

static char *
to_json (GPtrArray *tabs,
         gsize     *len)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "tabs");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tabs->len; i++)
    {
      KeptTab *tab = g_ptr_array_index (tabs, i);

      if (!may_write_to_disk (tab->sql) || strlen (tab->sql) > STATE_MAX_SQL)
        continue;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "title");
      json_builder_add_string_value (builder, tab->title ? tab->title : "");
      json_builder_set_member_name (builder, "sql");
      json_builder_add_string_value (builder, tab->sql);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, len);
}

static gboolean
write_state (const char  *path,
             const char  *data,
             gsize        len,
             GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not create %s for the query tabs: %s"), dir,
                   g_strerror (saved_errno));
      return FALSE;
    }

  /* Atomic (a temporary file renamed over the old one), readable by the user only. */
  return g_file_set_contents_full (path, data, len,
                                   G_FILE_SET_CONTENTS_CONSISTENT
                                   | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                   0600, error);
}

typedef struct
{
  char  *path;
  char  *data;
  gsize  len;
} WriteJob;

static void
write_job_free (WriteJob *job)
{
  g_free (job->path);
  g_free (job->data);
  g_free (job);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteJob *job = task_data;
  GError *error = NULL;

  if (!write_state (job->path, job->data, job->len, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_written (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Could not keep the query tabs: %s", error->message);
}

static void
save (BastionTabKeeper *self,
      gboolean          now)
{
  g_autoptr(GPtrArray) tabs = NULL;
  g_autoptr(GError) error = NULL;
  WriteJob *job;

  g_clear_handle_id (&self->save_id, g_source_remove);
  if (self->tab_view == NULL || self->restoring)
    return;

  tabs = snapshot (self);
  job = g_new0 (WriteJob, 1);
  job->path = bastion_tab_keeper_dup_state_path (self->profile_id);
  job->data = to_json (tabs, &job->len);
  g_hash_table_replace (get_memory (), g_strdup (self->profile_id), g_steal_pointer (&tabs));

  if (now)
    {
      /* The view is going (Disconnect, the window closing, quitting): a small file, written
       * before the process may end. */
      if (!write_state (job->path, job->data, job->len, &error))
        g_warning ("Could not keep the query tabs: %s", error->message);
      write_job_free (job);
    }
  else
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, on_written, NULL);

      g_task_set_source_tag (task, save);
      g_task_set_task_data (task, job, (GDestroyNotify) write_job_free);
      g_task_run_in_thread (task, write_thread);
    }
}

static gboolean
save_later_cb (gpointer user_data)
{
  BastionTabKeeper *self = user_data;

  self->save_id = 0;
  save (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (BastionTabKeeper *self)
{
  if (self->restoring || self->save_id != 0)
    return;
  self->save_id = g_timeout_add_seconds (SAVE_DELAY_SECONDS, save_later_cb, self);
}

void
bastion_tab_keeper_save_now (BastionTabKeeper *self)
{
  g_return_if_fail (BASTION_IS_TAB_KEEPER (self));

  save (self, TRUE);
}

static void
watch_page (BastionTabKeeper *self,
            AdwTabPage       *tab)
{
  BastionQueryPage *page = BASTION_QUERY_PAGE (adw_tab_page_get_child (tab));

  g_signal_connect_object (page, "notify::database", G_CALLBACK (on_page_database), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::title", G_CALLBACK (schedule_save), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (bastion_query_page_get_buffer (page), "changed",
                           G_CALLBACK (schedule_save), self, G_CONNECT_SWAPPED);
  on_page_database (self, NULL, page);
}

static void
on_page_attached (BastionTabKeeper *self,
                  AdwTabPage       *tab,
                  int               position)
{
  watch_page (self, tab);
  schedule_save (self);
}

static void
on_page_detached (BastionTabKeeper *self,
                  AdwTabPage       *tab,
                  int               position)
{
  BastionQueryPage *page = BASTION_QUERY_PAGE (adw_tab_page_get_child (tab));
  BastionDatabase *database = g_hash_table_lookup (self->databases, page);

  g_signal_handlers_disconnect_by_data (page, self);
  g_signal_handlers_disconnect_by_data (bastion_query_page_get_buffer (page), self);
  if (database != NULL)
    g_signal_handlers_disconnect_by_data (database, self);
  g_hash_table_remove (self->databases, page);
  refresh_marks (self);
  schedule_save (self);
}

/* ---- Restoring ----------------------------------------------------------------------------- */

static void
apply (BastionTabKeeper *self,
       GPtrArray        *tabs)
{
  self->restoring = TRUE;
  for (guint i = 0; i < tabs->len; i++)
    {
      KeptTab *tab = g_ptr_array_index (tabs, i);
      BastionQueryPage *page = NULL;

      /* The view's first tab is there already; it is the first kept one if still untouched. */
      if (i == 0 && adw_tab_view_get_n_pages (self->tab_view) == 1)
        {
          BastionQueryPage *first = bastion_query_view_get_current_page (self->view);
          GtkTextBuffer *buffer = GTK_TEXT_BUFFER (bastion_query_page_get_buffer (first));

          if (gtk_text_buffer_get_char_count (buffer) == 0)
            page = first;
        }
      if (page == NULL)
        page = bastion_query_view_add_page (self->view, NULL);
      bastion_query_page_set_sql (page, tab->sql);
      if (tab->title != NULL && *tab->title != '\0')
        bastion_query_page_set_title (page, tab->title);
    }
  if (tabs->len > 0)
    adw_tab_view_set_selected_page (self->tab_view, adw_tab_view_get_nth_page (self->tab_view, 0));
  self->restoring = FALSE;
  refresh_marks (self);
}

static GPtrArray *
parse_state (GBytes  *bytes,
             GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) tabs = g_ptr_array_new_with_free_func ((GDestroyNotify) kept_tab_free);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  JsonNode *root;
  JsonObject *object;
  JsonArray *array;

  if (!json_parser_load_from_data (parser, data, len, error))
    return NULL;
  root = json_parser_get_root (parser);
  object = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  array = object != NULL && json_object_has_member (object, "tabs")
          && JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "tabs"))
          ? json_object_get_array_member (object, "tabs") : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array)
                    && tabs->len < STATE_MAX_TABS; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *title = item ? json_object_get_string_member_with_default (item, "title", "")
                               : NULL;
      const char *sql = item ? json_object_get_string_member_with_default (item, "sql", NULL)
                             : NULL;
      KeptTab *tab;

      if (sql == NULL || strlen (sql) > STATE_MAX_SQL || !g_utf8_validate (sql, -1, NULL)
          || !g_utf8_validate (title, -1, NULL))
        continue;
      tab = g_new0 (KeptTab, 1);
      tab->title = g_utf8_substring (title, 0, 80);
      tab->sql = g_strdup (sql);
      g_ptr_array_add (tabs, tab);
    }

  return g_steal_pointer (&tabs);
}

static void
on_state_read (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(BastionTabKeeper) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) tabs = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not read the kept query tabs: %s", error->message);
      return;
    }
  if (g_bytes_get_size (bytes) > STATE_MAX_BYTES)
    {
      g_warning ("The kept query tabs of %s are larger than %u bytes: not restored",
                 self->profile_id, STATE_MAX_BYTES);
      return;
    }
  tabs = parse_state (bytes, &error);
  if (tabs == NULL)
    {
      g_warning ("The kept query tabs of %s are not valid JSON (%s): not restored",
                 self->profile_id, error->message);
      return;
    }
  if (self->tab_view != NULL)
    apply (self, tabs);
}

static void
on_state_opened (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionTabKeeper) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileInputStream) stream = NULL;

  stream = g_file_read_finish (G_FILE (object), result, &error);
  if (stream == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not open the kept query tabs: %s", error->message);
      return;
    }

  /* One byte more than allowed tells a file that is too large. */
  g_input_stream_read_bytes_async (G_INPUT_STREAM (stream), STATE_MAX_BYTES + 1,
                                   G_PRIORITY_DEFAULT, self->cancellable, on_state_read,
                                   g_object_ref (self));
}

void
bastion_tab_keeper_restore (BastionTabKeeper *self)
{
  GPtrArray *kept;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;

  g_return_if_fail (BASTION_IS_TAB_KEEPER (self));

  kept = g_hash_table_lookup (get_memory (), self->profile_id);
  if (kept != NULL)
    {
      apply (self, kept);
      return;
    }

  path = bastion_tab_keeper_dup_state_path (self->profile_id);
  file = g_file_new_for_path (path);
  g_file_read_async (file, G_PRIORITY_DEFAULT, self->cancellable, on_state_opened,
                     g_object_ref (self));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_tab_keeper_dispose (GObject *object)
{
  BastionTabKeeper *self = BASTION_TAB_KEEPER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->save_id, g_source_remove);
  /* Nothing is saved from here on: the detaching below is not the user closing tabs. */
  self->restoring = TRUE;
  if (self->tab_view != NULL)
    {
      int n = adw_tab_view_get_n_pages (self->tab_view);

      for (int i = 0; i < n; i++)
        on_page_detached (self, adw_tab_view_get_nth_page (self->tab_view, i), i);
      g_signal_handlers_disconnect_by_data (self->tab_view, self);
      self->tab_view = NULL;
    }
  g_clear_object (&self->view);
  g_clear_object (&self->write_icon);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->databases, g_hash_table_unref);

  G_OBJECT_CLASS (bastion_tab_keeper_parent_class)->dispose (object);
}

static void
bastion_tab_keeper_finalize (GObject *object)
{
  BastionTabKeeper *self = BASTION_TAB_KEEPER (object);

  g_free (self->profile_id);
  g_free (self->env_color);

  G_OBJECT_CLASS (bastion_tab_keeper_parent_class)->finalize (object);
}

static void
bastion_tab_keeper_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  BastionTabKeeper *self = BASTION_TAB_KEEPER (object);

  switch (prop_id)
    {
    case PROP_WRITES_ALLOWED:
      g_value_set_boolean (value, self->writes_allowed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_tab_keeper_class_init (BastionTabKeeperClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_tab_keeper_dispose;
  object_class->finalize = bastion_tab_keeper_finalize;
  object_class->get_property = bastion_tab_keeper_get_property;

  properties[PROP_WRITES_ALLOWED] =
    g_param_spec_boolean ("writes-allowed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_tab_keeper_init (BastionTabKeeper *self)
{
  self->cancellable = g_cancellable_new ();
  self->databases = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
}

BastionTabKeeper *
bastion_tab_keeper_new (BastionQueryView *view,
                        const char       *profile_id,
                        const char       *env_color)
{
  BastionTabKeeper *self;
  int n;

  g_return_val_if_fail (BASTION_IS_QUERY_VIEW (view), NULL);

  self = g_object_new (BASTION_TYPE_TAB_KEEPER, NULL);
  self->view = g_object_ref (view);
  self->profile_id = g_strdup (profile_id != NULL ? profile_id : "");
  self->env_color = g_strdup (env_color);
  self->write_icon = new_write_icon (env_color);
  self->tab_view = bastion_query_view_get_tab_view (view);

  n = adw_tab_view_get_n_pages (self->tab_view);
  for (int i = 0; i < n; i++)
    watch_page (self, adw_tab_view_get_nth_page (self->tab_view, i));
  g_signal_connect_object (self->tab_view, "page-attached", G_CALLBACK (on_page_attached), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->tab_view, "page-detached", G_CALLBACK (on_page_detached), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->tab_view, "notify::selected-page", G_CALLBACK (refresh_marks),
                           self, G_CONNECT_SWAPPED);
  refresh_marks (self);

  return self;
}

gboolean
bastion_tab_keeper_get_writes_allowed (BastionTabKeeper *self)
{
  g_return_val_if_fail (BASTION_IS_TAB_KEEPER (self), FALSE);

  return self->writes_allowed;
}
