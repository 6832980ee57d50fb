/* test-ui-german.c
 *
 * The German translation builds and is used: the window in German, with its screenshot.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "bastion-ui-test.h"

static void
test_window_german (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  g_autofree char *shot = NULL;

  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Bastion");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (window), "Keine Teams"));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (window), "Wählen Sie ein Team"));
  g_assert_null (bastion_ui_test_find_label (GTK_WIDGET (window), "No Teams"));

  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "window-empty-de");
  bastion_ui_test_close_windows ();
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *localedir = g_build_filename (g_getenv ("BASTION_BUILD_ROOT"), "po", NULL);

  /* The catalog as built, not as installed. C.UTF-8 is the one locale every machine has;
   * LANGUAGE picks the translation. */
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  bastion_ui_test_init (&argc, &argv);

  g_test_add_func ("/bastion/ui/german/window", test_window_german);

  return g_test_run ();
}
