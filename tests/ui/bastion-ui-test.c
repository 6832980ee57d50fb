/* bastion-ui-test.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bastion-query-view.h"
#include "bastion-team-row.h"
#include "bastion-ui-test.h"

/* Only a hung test ever reaches this: every wait ends as soon as its condition holds. */
#define WAIT_LIMIT_USEC (90 * G_USEC_PER_SEC)

static BastionApplication *the_app;

void
bastion_ui_test_init (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;

  /* No accessibility bus in the test session; the accessible tree is still built and is what
   * the tests inspect. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("ADW_DISABLE_PORTAL", "1", TRUE);

  g_test_init (argc, argv, NULL);

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    g_error ("no display: run the ui tests under tests/harness/with-servers --xvfb");

  the_app = bastion_application_new ();
  /* Several test programs may run at once, each with its own instance. */
  g_application_set_flags (G_APPLICATION (the_app), G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (the_app), NULL, &error))
    g_error ("cannot register the application: %s", error->message);

  /* Screenshots show the state a test reached, not a transition half way. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
}

BastionApplication *
bastion_ui_test_get_app (void)
{
  g_assert_nonnull (the_app);
  return the_app;
}

static gboolean
have_active_window (gpointer user_data)
{
  return gtk_application_get_active_window (GTK_APPLICATION (the_app)) != NULL;
}

BastionWindow *
bastion_ui_test_activate (void)
{
  GtkWindow *window;

  g_application_activate (G_APPLICATION (the_app));
  bastion_ui_test_wait_for (have_active_window, NULL, "the main window");
  window = gtk_application_get_active_window (GTK_APPLICATION (the_app));
  g_assert_true (BASTION_IS_WINDOW (window));
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));

  return BASTION_WINDOW (window);
}

static gboolean
no_windows (gpointer user_data)
{
  return gtk_application_get_windows (GTK_APPLICATION (the_app)) == NULL;
}

void
bastion_ui_test_close_windows (void)
{
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (the_app)));

  for (const GList *l = windows; l != NULL; l = l->next)
    gtk_window_destroy (l->data);
  g_list_free (windows);

  bastion_ui_test_wait_for (no_windows, NULL, "the windows to close");
}

static gboolean
wake_up (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

void
bastion_ui_test_wait_for (BastionUiTestCondition  condition,
                          gpointer                user_data,
                          const char             *what)
{
  gint64 limit = g_get_monotonic_time () + WAIT_LIMIT_USEC;
  /* Re-checks the condition for changes that come from outside the main loop (a file written
   * by another process). */
  guint wake_id = g_timeout_add (20, wake_up, NULL);

  while (!condition (user_data))
    {
      if (g_get_monotonic_time () > limit)
        g_error ("gave up waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }

  g_source_remove (wake_id);
}

typedef struct
{
  GtkWidget *widget;
  gboolean   painted;
} DrawnWait;

static void
on_after_paint (GdkFrameClock *clock,
                DrawnWait     *wait)
{
  wait->painted = TRUE;
}

static gboolean
is_mapped (gpointer user_data)
{
  GtkWidget *widget = user_data;

  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

static gboolean
was_painted (gpointer user_data)
{
  DrawnWait *wait = user_data;

  return wait->painted;
}

void
bastion_ui_test_wait_drawn (GtkWidget *widget)
{
  DrawnWait wait = { widget, FALSE };
  GdkFrameClock *clock;
  gulong handler;

  bastion_ui_test_wait_for (is_mapped, widget, "the widget to be mapped");

  clock = gtk_widget_get_frame_clock (widget);
  g_assert_nonnull (clock);
  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &wait);
  gtk_widget_queue_draw (GTK_WIDGET (gtk_widget_get_root (widget)));
  bastion_ui_test_wait_for (was_painted, &wait, "a frame to be painted");
  g_signal_handler_disconnect (clock, handler);
}

void
bastion_ui_test_settle (GtkWidget *widget)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  bastion_ui_test_wait_drawn (widget);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

GtkWindow *
bastion_ui_test_find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type))
        return window;
    }

  return NULL;
}

GtkWidget *
bastion_ui_test_find_widget (GtkWidget  *root,
                             GType       type,
                             gboolean  (*match) (GtkWidget *widget,
                                                 gpointer   data),
                             gpointer    data)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && (match == NULL || match (root, data)))
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = bastion_ui_test_find_widget (child, type, match, data);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static gboolean
row_has_title (GtkWidget *widget,
               gpointer   data)
{
  return g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), data) == 0;
}

GtkWidget *
bastion_ui_test_find_row (GtkWidget  *root,
                          const char *title)
{
  return bastion_ui_test_find_widget (root, ADW_TYPE_PREFERENCES_ROW, row_has_title,
                                      (gpointer) title);
}

static gboolean
label_has_text (GtkWidget *widget,
                gpointer   data)
{
  return g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), data) == 0;
}

GtkWidget *
bastion_ui_test_find_label (GtkWidget  *root,
                            const char *text)
{
  return bastion_ui_test_find_widget (root, GTK_TYPE_LABEL, label_has_text, (gpointer) text);
}

static guint
count_colours (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y += 2)
    for (int x = 0; x < width; x += 2)
      {
        guint32 pixel;

        memcpy (&pixel, pixels + y * stride + x * 4, 4);
        g_hash_table_add (seen, GUINT_TO_POINTER (pixel));
      }

  return g_hash_table_size (seen);
}

char *
bastion_ui_test_screenshot (GtkWidget  *widget,
                            const char *name)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  graphene_rect_t viewport;
  int width;
  int height;

  bastion_ui_test_wait_drawn (widget);

  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);

  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_assert_nonnull (renderer);
  graphene_rect_init (&viewport, 0, 0, width, height);
  texture = gsk_renderer_render_texture (renderer, node, &viewport);

  dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_strconcat (dir, G_DIR_SEPARATOR_S, name, ".png", NULL);
  g_assert_true (gdk_texture_save_to_png (texture, file));
  g_test_message ("screenshot: %s", file);

  /* A blank or single-colour picture means nothing was drawn. */
  g_assert_cmpuint (count_colours (texture), >, 8);

  return g_steal_pointer (&file);
}

gboolean
bastion_ui_test_have_result (gpointer slot)
{
  return *(GAsyncResult **) slot != NULL;
}

gboolean
bastion_ui_test_message_dialog_shown (gpointer unused)
{
  GtkWindow *dialog = bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);

  return dialog != NULL && gtk_widget_get_mapped (GTK_WIDGET (dialog));
}

gboolean
bastion_ui_test_button_has_label (GtkWidget *widget,
                                  gpointer   label)
{
  return g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

gboolean
bastion_ui_test_has_query_view (gpointer root)
{
  return bastion_ui_test_find_widget (root, BASTION_TYPE_QUERY_VIEW, NULL, NULL) != NULL;
}

gboolean
bastion_ui_test_no_query_view (gpointer root)
{
  return !bastion_ui_test_has_query_view (root);
}

gpointer
bastion_ui_test_window_child (BastionWindow *window,
                              const char    *name)
{
  gpointer widget = gtk_widget_get_template_child (GTK_WIDGET (window), BASTION_TYPE_WINDOW, name);

  g_assert_nonnull (widget);
  return widget;
}

GtkListBoxRow *
bastion_ui_test_find_team_row (BastionWindow *window,
                               const char    *name)
{
  GtkListBox *list = bastion_ui_test_window_child (window, "team_list");

  for (int i = 0;; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, i);

      if (row == NULL)
        return NULL;
      if (g_strcmp0 (bastion_profile_get_display_name (
                       bastion_team_row_get_profile (BASTION_TEAM_ROW (row))), name) == 0)
        return row;
    }
}

void
bastion_ui_test_run_cli (const char * const *args,
                         const char         *input)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  proc = g_subprocess_newv (args, G_SUBPROCESS_FLAGS_STDIN_PIPE
                                  | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                  | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("%s %s failed: %s", args[1], args[2], err);
}
