/* test-ui-window.c
 *
 * The main window with no profiles: the empty state, the About window, the shortcuts window, the
 * saved window size and the narrow (folded) layout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-ui-test.h"

static gboolean
window_is_gone (gpointer user_data)
{
  GType type = GPOINTER_TO_SIZE (user_data);

  return bastion_ui_test_find_toplevel (type) == NULL;
}

static gboolean
window_is_shown (gpointer user_data)
{
  GType type = GPOINTER_TO_SIZE (user_data);
  GtkWindow *window = bastion_ui_test_find_toplevel (type);

  return window != NULL && gtk_widget_get_mapped (GTK_WIDGET (window));
}

static void
test_window_empty (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  GtkStack *sidebar_stack;
  GtkStack *content_stack;
  GtkWidget *empty_page;
  g_autofree char *shot = NULL;

  sidebar_stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                            BASTION_TYPE_WINDOW,
                                                            "sidebar_stack"));
  content_stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                            BASTION_TYPE_WINDOW,
                                                            "content_stack"));
  empty_page = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                          BASTION_TYPE_WINDOW,
                                                          "empty_page"));

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Bastion");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (sidebar_stack), ==, "empty");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (content_stack), ==, "placeholder");
  g_assert_true (gtk_widget_get_mapped (empty_page));
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (empty_page)), ==, "No Teams");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (window), "Select a Team"));

  /* The development build looks different, so it is never mistaken for the real one. */
  g_assert_cmpint (gtk_widget_has_css_class (GTK_WIDGET (window), "devel"), ==, DEVELOPMENT_BUILD);

  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "window-empty");
  g_assert_true (g_file_test (shot, G_FILE_TEST_IS_REGULAR));

  bastion_ui_test_close_windows ();
}

static void
test_window_about (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  AdwAboutWindow *about;
  const char *debug_info;
  g_autofree char *shot = NULL;

  g_action_group_activate_action (G_ACTION_GROUP (bastion_ui_test_get_app ()), "about", NULL);
  bastion_ui_test_wait_for (window_is_shown, GSIZE_TO_POINTER (ADW_TYPE_ABOUT_WINDOW),
                            "the About window");
  about = ADW_ABOUT_WINDOW (bastion_ui_test_find_toplevel (ADW_TYPE_ABOUT_WINDOW));

  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (about)) == GTK_WINDOW (window));
  g_assert_cmpstr (adw_about_window_get_application_name (about), ==, "Bastion");
  g_assert_cmpstr (adw_about_window_get_version (about), ==, PACKAGE_VERSION);
  g_assert_cmpstr (adw_about_window_get_application_icon (about), ==, APP_ID);
  debug_info = adw_about_window_get_debug_info (about);
  /* The version, then the build's `git describe`, then the libraries. */
  g_assert_true (g_str_has_prefix (debug_info, "bastion " PACKAGE_VERSION "\nbuild "));
  g_assert_nonnull (strstr (debug_info, "\nlibssh2 1.1"));
  g_assert_nonnull (strstr (debug_info, "\nlibpq "));
  g_assert_nonnull (strstr (debug_info, "\nlibcurl "));
  g_assert_nonnull (strstr (debug_info, "\nGTK 4."));
  g_assert_nonnull (strstr (debug_info, "\nlibadwaita 1."));

  /* The icon is found in the uninstalled build too (from the resource bundle). */
  g_assert_true (gtk_icon_theme_has_icon (
                   gtk_icon_theme_get_for_display (gdk_display_get_default ()), APP_ID));

  shot = bastion_ui_test_screenshot (GTK_WIDGET (about), "about");

  gtk_window_close (GTK_WINDOW (about));
  bastion_ui_test_wait_for (window_is_gone, GSIZE_TO_POINTER (ADW_TYPE_ABOUT_WINDOW),
                            "the About window to close");
  bastion_ui_test_close_windows ();
}

static void
test_window_shortcuts (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  GtkWindow *shortcuts;
  g_autofree char *shot = NULL;
  const char * const *accels;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL));
  bastion_ui_test_wait_for (window_is_shown, GSIZE_TO_POINTER (GTK_TYPE_SHORTCUTS_WINDOW),
                            "the shortcuts window");
  shortcuts = bastion_ui_test_find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (shortcuts), "Quit"));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (shortcuts), "Add Profile"));

  accels = (const char * const *) gtk_application_get_accels_for_action (
    GTK_APPLICATION (bastion_ui_test_get_app ()), "win.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");
  g_strfreev ((char **) accels);

  shot = bastion_ui_test_screenshot (GTK_WIDGET (shortcuts), "shortcuts");

  gtk_window_destroy (shortcuts);
  bastion_ui_test_close_windows ();
}

static void
test_window_size_saved (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  BastionWindow *window;
  int width;
  int height;

  g_settings_set_int (settings, "window-width", 1100);
  g_settings_set_int (settings, "window-height", 700);

  window = bastion_ui_test_activate ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 1100);
  g_assert_cmpint (height, ==, 700);

  /* What the user sets (a resize) is stored for the next start. */
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 660);
  bastion_ui_test_close_windows ();
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 1000);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 660);
  g_settings_reset (settings, "window-width");
  g_settings_reset (settings, "window-height");
}

static gboolean
leaflet_folded (gpointer user_data)
{
  return adw_leaflet_get_folded (user_data);
}

static void
test_window_narrow (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  AdwLeaflet *leaflet = ADW_LEAFLET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                    BASTION_TYPE_WINDOW,
                                                                    "leaflet"));
  GtkWidget *empty_page = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                     BASTION_TYPE_WINDOW,
                                                                     "empty_page"));
  g_autofree char *shot = NULL;

  g_assert_false (adw_leaflet_get_folded (leaflet));

  gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
  bastion_ui_test_wait_for (leaflet_folded, leaflet, "the sidebar to fold");
  /* Folded, the window shows the team list first. */
  bastion_ui_test_wait_drawn (empty_page);
  g_assert_true (gtk_widget_is_drawable (empty_page));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "window-narrow");

  bastion_ui_test_close_windows ();
}

int
main (int    argc,
      char **argv)
{
  bastion_ui_test_init (&argc, &argv);

  g_test_add_func ("/bastion/ui/window/empty", test_window_empty);
  g_test_add_func ("/bastion/ui/window/about", test_window_about);
  g_test_add_func ("/bastion/ui/window/shortcuts", test_window_shortcuts);
  g_test_add_func ("/bastion/ui/window/size-saved", test_window_size_saved);
  g_test_add_func ("/bastion/ui/window/narrow", test_window_narrow);

  return g_test_run ();
}
