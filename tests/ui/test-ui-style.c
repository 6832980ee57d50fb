/* test-ui-style.c
 *
 * High contrast and dark style, forced the way GNOME Builder does it (libadwaita 1.2's
 * ADW_DEBUG_HIGH_CONTRAST=1 and ADW_DEBUG_COLOR_SCHEME=prefer-dark): the style manager reports
 * both, the window really renders dark (and light again when the application forces light), and
 * a team's environment is told in words beside its colour chip, in the sidebar and on the team
 * page (its label, or the colour's name when it has none). Screenshots:
 * <builddir>/tests/screenshots/style-hc-*.png. Runs under with-servers --xvfb --team demo.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-color-chip.h"
#include "bastion-team-row.h"
#include "bastion-ui-test.h"

static gboolean
has_profile (gpointer user_data)
{
  BastionProfileStore *store =
    bastion_application_get_profile_store (bastion_ui_test_get_app ());

  return bastion_profile_store_lookup (store, user_data) != NULL;
}

static gboolean
is_team_row (GtkWidget *widget,
             gpointer   data)
{
  BastionProfile *profile = bastion_team_row_get_profile (BASTION_TEAM_ROW (widget));

  return g_strcmp0 (bastion_profile_get_display_name (profile), data) == 0;
}

static gboolean
has_team_row (gpointer user_data)
{
  GtkWindow *window = bastion_ui_test_find_toplevel (BASTION_TYPE_WINDOW);

  return window != NULL && bastion_ui_test_find_widget (GTK_WIDGET (window),
                                                        BASTION_TYPE_TEAM_ROW, is_team_row,
                                                        user_data) != NULL;
}

/* Every colour chip on screen has a visible, non-empty environment label beside it (a sibling
 * GtkLabel with the env-label style). Returns how many chips it checked. */
static guint
assert_chips_labelled (GtkWidget *root)
{
  guint n = 0;

  if (BASTION_IS_COLOR_CHIP (root) && gtk_widget_get_mapped (root) &&
      gtk_widget_get_opacity (root) > 0 &&
      bastion_color_chip_get_color (BASTION_COLOR_CHIP (root)) != NULL)
    {
      GtkWidget *parent = gtk_widget_get_parent (root);
      const char *text = NULL;

      for (GtkWidget *sibling = gtk_widget_get_first_child (parent);
           sibling != NULL;
           sibling = gtk_widget_get_next_sibling (sibling))
        if (GTK_IS_LABEL (sibling) && gtk_widget_has_css_class (sibling, "env-label") &&
            gtk_widget_get_mapped (sibling))
          text = gtk_label_get_text (GTK_LABEL (sibling));

      if (text == NULL || *text == '\0')
        g_error ("a colour chip (%s) has no environment label beside it: colour alone",
                 bastion_color_chip_get_color (BASTION_COLOR_CHIP (root)));
      g_test_message ("colour chip %s labelled “%s”",
                      bastion_color_chip_get_color (BASTION_COLOR_CHIP (root)), text);
      n++;
    }

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += assert_chips_labelled (child);

  return n;
}

/* The mean brightness (0..1) of a screenshot. */
static double
mean_brightness (const char *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (file, &error);
  g_autofree guchar *pixels = NULL;
  gsize stride;
  int width;
  int height;
  double sum = 0;

  g_assert_no_error (error);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  stride = (gsize) width * 4;
  pixels = g_malloc (stride * height);
  gdk_texture_download (texture, pixels, stride);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guchar *p = pixels + y * stride + x * 4;

        /* Channel order does not matter for a mean of the three. */
        sum += (p[0] + p[1] + p[2]) / (3.0 * 255.0);
      }

  return sum / ((double) width * height);
}

static void
test_style_high_contrast_dark (void)
{
  const char *team = g_getenv ("BASTION_TEST_TEAM");
  AdwStyleManager *style = adw_style_manager_get_default ();
  BastionProfileStore *store;
  BastionProfile *profile;
  BastionWindow *window;
  g_autofree char *dark_shot = NULL;
  g_autofree char *light_shot = NULL;
  double dark;
  double light;
  guint chips;

  g_assert_nonnull (team);

  window = bastion_ui_test_activate ();

  /* The environment variables reached libadwaita, as a user's settings would. */
  g_assert_true (adw_style_manager_get_high_contrast (style));
  g_assert_true (adw_style_manager_get_dark (style));

  /* A production team, marked red: the colour never stands alone. */
  bastion_ui_test_wait_for (has_profile, (gpointer) team, "the demo team imported");
  store = bastion_application_get_profile_store (bastion_ui_test_get_app ());
  profile = bastion_profile_store_lookup (store, team);
  bastion_profile_set_env_label (profile, "production");
  bastion_profile_set_env_color (profile, "#e01b24");
  bastion_ui_test_wait_for (has_team_row, (gpointer) team, "the demo team in the sidebar");
  bastion_window_open_team (window, team, FALSE);
  bastion_ui_test_settle (GTK_WIDGET (window));

  chips = assert_chips_labelled (GTK_WIDGET (window));
  /* The sidebar row and the team page's header. */
  g_assert_cmpuint (chips, >=, 2);

  dark_shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "style-hc-dark-team");
  dark = mean_brightness (dark_shot);
  g_test_message ("high contrast dark: mean brightness %.2f", dark);
  g_assert_cmpfloat (dark, <, 0.4);

  /* The same window when the application asks for light: it follows at once. */
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_assert_false (adw_style_manager_get_dark (style));
  g_assert_true (adw_style_manager_get_high_contrast (style));
  bastion_ui_test_settle (GTK_WIDGET (window));
  light_shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "style-hc-light-team");
  light = mean_brightness (light_shot);
  g_test_message ("high contrast light: mean brightness %.2f", light);
  g_assert_cmpfloat (light, >, 0.6);
  g_assert_cmpuint (assert_chips_labelled (GTK_WIDGET (window)), ==, chips);

  /* A colour chosen without a label: its name is the label. */
  bastion_profile_set_env_label (profile, NULL);
  bastion_profile_set_env_color (profile, "#3584e4");
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_cmpuint (assert_chips_labelled (GTK_WIDGET (window)), ==, chips);
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (window), "Blue"));

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
  bastion_ui_test_close_windows ();
}

static gboolean
preferences_shown (gpointer user_data)
{
  GtkWindow *prefs = bastion_ui_test_find_toplevel (ADW_TYPE_PREFERENCES_WINDOW);

  return prefs != NULL && gtk_widget_get_mapped (GTK_WIDGET (prefs));
}

static void
test_style_preferences (void)
{
  GtkWindow *prefs;
  g_autofree char *shot = NULL;

  bastion_ui_test_activate ();
  g_assert_true (adw_style_manager_get_dark (adw_style_manager_get_default ()));
  g_action_group_activate_action (G_ACTION_GROUP (bastion_ui_test_get_app ()), "preferences",
                                  NULL);
  bastion_ui_test_wait_for (preferences_shown, NULL, "the preferences window");
  prefs = bastion_ui_test_find_toplevel (ADW_TYPE_PREFERENCES_WINDOW);
  shot = bastion_ui_test_screenshot (GTK_WIDGET (prefs), "style-hc-dark-preferences");
  g_assert_cmpfloat (mean_brightness (shot), <, 0.4);

  gtk_window_destroy (prefs);
  bastion_ui_test_close_windows ();
}

int
main (int    argc,
      char **argv)
{
  /* Before libadwaita starts (bastion_ui_test_init registers the application). */
  g_setenv ("ADW_DEBUG_HIGH_CONTRAST", "1", TRUE);
  g_setenv ("ADW_DEBUG_COLOR_SCHEME", "prefer-dark", TRUE);

  bastion_ui_test_init (&argc, &argv);

  g_test_add_func ("/bastion/ui/style/high-contrast-dark", test_style_high_contrast_dark);
  g_test_add_func ("/bastion/ui/style/preferences", test_style_preferences);

  return g_test_run ();
}
