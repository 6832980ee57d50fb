/* test-ui-startup.c
 *
 * A profiles.json that cannot be loaded: the window says so in a dialog, the file is never
 * overwritten (not even when the user then adds a profile), and a broken team config is reported
 * while the good team still imports. Runs under with-servers --xvfb --team demo.
 *
 * With --deep (issue 25): both files nest 100,000 "[" (json-glib recursed until SIGSEGV and the
 * app never started): the app starts and says so, the demo team is listed, and once the user
 * fixes profiles.json the app reloads it (its file monitor) and merges it with the teams.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "bastion-ui-test.h"

#define BROKEN_PROFILES "{ \"version\": 1, \"profiles\": [ { \"id\": \"kept\", oops"

static char *profiles_path;
static char *broken_profiles;
static gboolean deep;

static gboolean
label_contains (GtkWidget *widget,
                gpointer   data)
{
  return strstr (gtk_label_get_text (GTK_LABEL (widget)), data) != NULL;
}

static gboolean
dialog_shown (gpointer user_data)
{
  GtkWindow *dialog = bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);

  return dialog != NULL && gtk_widget_get_mapped (GTK_WIDGET (dialog));
}

static gboolean
toast_shown (gpointer user_data)
{
  return bastion_ui_test_find_widget (user_data, GTK_TYPE_LABEL, label_contains,
                                      "broken") != NULL;
}

static void
assert_file_unchanged (void)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (profiles_path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, broken_profiles);
}

static gboolean
store_has_items (gpointer user_data)
{
  return g_list_model_get_n_items (user_data) > 0;
}

static gboolean
store_has (gpointer user_data)
{
  BastionProfileStore *store = user_data;

  return bastion_profile_store_lookup (store, "manual-fixed") != NULL;
}

/* profiles.json fixed by hand (or another Bastion) while the app runs: reloaded and merged. */
static void
test_deep_fixed_later (BastionProfileStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_strconcat (profiles_path, ".new", NULL);
  g_autofree char *saved = NULL;

  g_assert_false (bastion_profile_store_save (store, NULL));
  assert_file_unchanged ();
  g_file_set_contents (tmp, "{ \"version\": 1, \"profiles\": [ { \"id\": \"manual-fixed\", "
                       "\"source\": \"manual\", \"display-name\": \"Fixed\" } ] }", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, profiles_path), ==, 0);

  bastion_ui_test_wait_for (store_has, store, "the fixed profiles.json reloaded");
  g_assert_nonnull (bastion_profile_store_lookup (store, "simpleiot-demo"));
  /* Saving is allowed again, and keeps both. */
  g_assert_true (bastion_profile_store_save (store, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (profiles_path, &saved, NULL, NULL));
  g_assert_nonnull (strstr (saved, "manual-fixed"));
  g_assert_nonnull (strstr (saved, "simpleiot-demo"));
}

static void
test_broken_profiles (void)
{
  BastionWindow *window = bastion_ui_test_activate ();
  BastionProfileStore *store = bastion_application_get_profile_store (bastion_ui_test_get_app ());
  AdwMessageDialog *dialog;
  g_autofree char *shot = NULL;

  bastion_ui_test_wait_for (dialog_shown, NULL, "the load error dialog");
  dialog = ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), profiles_path));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (dialog), "load-error");
  adw_message_dialog_response (dialog, "close");

  /* The broken team config is named in a toast; the good team is listed. */
  bastion_ui_test_wait_for (toast_shown, window, "the toast about the broken team");
  bastion_ui_test_wait_for (store_has_items, store, "the demo team");
  g_assert_nonnull (bastion_profile_store_lookup (store, "simpleiot-demo"));

  if (deep)
    {
      test_deep_fixed_later (store);
      bastion_ui_test_close_windows ();
      return;
    }

  /* Adding a profile does not overwrite what could not be read. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.add-profile", NULL));
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_false (bastion_profile_store_save (store, NULL));
  assert_file_unchanged ();

  bastion_ui_test_close_windows ();
  assert_file_unchanged ();
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "bastion", NULL);
  g_autofree char *broken_team = NULL;
  g_autoptr(GError) error = NULL;

  g_autofree char *broken_config = NULL;

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--deep"))
      {
        deep = TRUE;
        memmove (argv + i, argv + i + 1, (argc - i) * sizeof *argv);
        argc--;
        break;
      }

  if (deep)
    {
      GString *nested = g_string_new ("{ \"version\": 1, \"profiles\": ");

      for (guint i = 0; i < 100000; i++)
        g_string_append_c (nested, '[');
      for (guint i = 0; i < 100000; i++)
        g_string_append_c (nested, ']');
      g_string_append (nested, " }");
      broken_profiles = g_string_free (nested, FALSE);
      broken_config = g_strdup (broken_profiles + strlen ("{ \"version\": 1, \"profiles\": "));
      broken_config[strlen (broken_config) - 2] = '\0';
    }
  else
    {
      broken_profiles = g_strdup (BROKEN_PROFILES);
      broken_config = g_strdup ("{ \"team\": \"broken\", \"bastion_ssh_port\": \"abc\" ");
    }

  /* Before the application starts: it loads profiles and imports teams at startup. */
  profiles_path = g_build_filename (dir, "profiles.json", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (profiles_path, broken_profiles, -1, &error);
  g_assert_no_error (error);

  broken_team = g_build_filename (g_getenv ("BASTION_SIMPLEIOT_DIR"), "broken", NULL);
  g_assert_cmpint (g_mkdir_with_parents (broken_team, 0700), ==, 0);
  {
    g_autofree char *config = g_build_filename (broken_team, "config.json", NULL);

    g_file_set_contents (config, broken_config, -1, &error);
    g_assert_no_error (error);
  }

  bastion_ui_test_init (&argc, &argv);
  /* The store logs a warning for each refused autosave, and here that refusal is the point:
   * warnings are not fatal in this program (criticals still are). */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  g_test_add_func ("/bastion/ui/startup/broken-profiles", test_broken_profiles);

  return g_test_run ();
}
