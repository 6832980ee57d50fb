/* test-ui-profiles.c
 *
 * Runs under tests/harness/with-servers --sshd --keyring --xvfb --team demo: the SimpleIOT team
 * "demo" is imported at start; the test selects it, edits it through the editor's rows and finds
 * the edit in profiles.json; a member team installed while the app runs appears by itself; manual
 * profiles are added, duplicated, deleted and restored with Undo; a key file readable by others is
 * fixed, an encrypted one offers its passphrase; a password set with bastion-cli is found by the
 * GUI and one set in the GUI by bastion-cli; the window folds to phone width.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-profile-editor.h"
#include "bastion-team-page.h"
#include "bastion-team-row.h"
#include "bastion-ui-test.h"

static BastionWindow *window;

static gpointer
child (const char *name)
{
  return bastion_ui_test_window_child (window, name);
}

static GtkListBoxRow *
find_team_row (const char *name)
{
  return bastion_ui_test_find_team_row (window, name);
}

static gpointer
page_child (const char *name)
{
  gpointer widget = gtk_widget_get_template_child (child ("team_page"), BASTION_TYPE_TEAM_PAGE,
                                                   name);

  g_assert_nonnull (widget);
  return widget;
}

static BastionProfileStore *
store (void)
{
  return bastion_application_get_profile_store (bastion_ui_test_get_app ());
}

/* The profile with this id as profiles.json has it now, or NULL. */
static JsonObject *
saved_profile (const char *id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *profiles;

  if (!json_parser_load_from_file (parser, bastion_profile_store_get_path (store ()), NULL))
    return NULL;

  root = json_node_get_object (json_parser_get_root (parser));
  profiles = json_object_get_array_member (root, "profiles");
  for (guint i = 0; i < json_array_get_length (profiles); i++)
    {
      JsonObject *profile = json_array_get_object_element (profiles, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (profile, "id", NULL), id) == 0)
        return json_object_ref (profile);
    }

  return NULL;
}

static gboolean
team_row_exists (gpointer name)
{
  return find_team_row (name) != NULL;
}

static gboolean
team_row_gone (gpointer name)
{
  return find_team_row (name) == NULL;
}

static void
open_team (const char *name)
{
  GtkListBoxRow *row;

  bastion_ui_test_wait_for (team_row_exists, (gpointer) name, name);
  row = find_team_row (name);
  /* As a click does: select and activate the row. */
  gtk_list_box_select_row (child ("team_list"), row);
  g_signal_emit_by_name (child ("team_list"), "row-activated", row);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child ("content_stack")), ==, "team");
  g_assert_true (bastion_team_page_get_profile (child ("team_page"))
                 == bastion_team_row_get_profile (BASTION_TEAM_ROW (row)));
}

static void
test_imported (void)
{
  GtkListBoxRow *row;
  BastionProfile *profile;
  g_autofree char *shot = NULL;

  window = bastion_ui_test_activate ();

  bastion_ui_test_wait_for (team_row_exists, "demo", "the demo team in the sidebar");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child ("sidebar_stack")), ==, "teams");
  row = find_team_row ("demo");
  profile = bastion_team_row_get_profile (BASTION_TEAM_ROW (row));
  g_assert_cmpstr (bastion_profile_get_id (profile), ==, "simpleiot-demo");
  g_assert_true (bastion_profile_get_has_db_access (profile));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (row), "demo"));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (row), "127.0.0.1"));

  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "teams");
}

static gboolean
key_ready (gpointer user_data)
{
  return bastion_ui_test_find_row (child ("team_page"), "The key file is ready") != NULL;
}

static void
test_team_page (void)
{
  BastionTeamPage *page = child ("team_page");
  g_autofree char *bastion = NULL;
  g_autofree char *shot = NULL;
  GtkWidget *row;

  open_team ("demo");

  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (page), "demo"));
  row = bastion_ui_test_find_row (GTK_WIDGET (page), "Bastion Host");
  g_assert_nonnull (row);
  bastion = g_strdup_printf ("%s@127.0.0.1:%s",
                             g_getenv ("BASTION_TEST_SSH_USER"),
                             g_getenv ("BASTION_TEST_SSH_PORT"));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, bastion);
  g_assert_true (gtk_widget_get_visible (page_child ("key_group")));
  bastion_ui_test_wait_for (key_ready, NULL, "the key check");
  g_assert_cmpstr (adw_window_title_get_title (child ("content_title")), ==, "demo");

  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-page");
}

static gboolean
fix_offered (gpointer user_data)
{
  return gtk_widget_get_visible (user_data);
}

static gboolean
fix_done (gpointer user_data)
{
  return !gtk_widget_get_visible (user_data) && key_ready (NULL);
}

static void
test_key_fix (void)
{
  BastionTeamPage *page = child ("team_page");
  GtkWidget *fix = page_child ("fix_button");
  BastionProfile *profile = bastion_team_page_get_profile (page);
  const char *key_file = bastion_profile_get_key_file (profile);
  g_autofree char *shot = NULL;
  struct stat st;

  g_assert_nonnull (key_file);
  /* As SimpleIOT often leaves it. */
  g_assert_cmpint (g_chmod (key_file, 0644), ==, 0);
  bastion_team_page_recheck_key (page);
  bastion_ui_test_wait_for (fix_offered, fix, "the Fix Permissions button");
  g_assert_nonnull (bastion_ui_test_find_row (GTK_WIDGET (page), "The key file needs attention"));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-page-key-too-open");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "team.fix-key-permissions", NULL));
  bastion_ui_test_wait_for (fix_done, fix, "the key file to be fixed");
  g_assert_cmpint (g_stat (key_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static gboolean
passphrase_offered (gpointer user_data)
{
  return gtk_widget_get_visible (page_child ("passphrase_button"))
         && bastion_ui_test_find_row (child ("team_page"),
                                      "The key file is protected by a passphrase") != NULL;
}

static void
test_key_encrypted (void)
{
  BastionProfile *profile = bastion_team_page_get_profile (child ("team_page"));
  g_autofree char *key_file = g_strdup (bastion_profile_get_key_file (profile));
  g_autofree char *shot = NULL;

  /* The harness's ed25519 key is encrypted: the page offers to keep its passphrase. */
  bastion_profile_set_key_file (profile, g_getenv ("BASTION_TEST_SSH_ED25519_KEY"));
  bastion_ui_test_wait_for (passphrase_offered, NULL, "the passphrase offer");
  g_assert_false (gtk_widget_get_visible (page_child ("fix_button")));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-page-key-encrypted");

  bastion_profile_set_key_file (profile, key_file);
  bastion_profile_clear_user_modified (profile, "key-file");
  bastion_ui_test_wait_for (key_ready, NULL, "the team's own key again");
  g_assert_false (gtk_widget_get_visible (page_child ("passphrase_button")));
}

static gboolean
editor_shown (gpointer user_data)
{
  GtkWindow *editor = bastion_ui_test_find_toplevel (BASTION_TYPE_PROFILE_EDITOR);

  return editor != NULL && gtk_widget_get_mapped (GTK_WIDGET (editor));
}

static gboolean
editor_gone (gpointer user_data)
{
  return bastion_ui_test_find_toplevel (BASTION_TYPE_PROFILE_EDITOR) == NULL;
}

static BastionProfileEditor *
open_editor (void)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.edit-profile", NULL));
  bastion_ui_test_wait_for (editor_shown, NULL, "the profile editor");
  return BASTION_PROFILE_EDITOR (bastion_ui_test_find_toplevel (BASTION_TYPE_PROFILE_EDITOR));
}

static void
close_editor (BastionProfileEditor *editor)
{
  gtk_window_close (GTK_WINDOW (editor));
  bastion_ui_test_wait_for (editor_gone, NULL, "the editor to close");
}

static void
set_entry (GtkWidget  *root,
           const char *title,
           const char *text)
{
  GtkWidget *row = bastion_ui_test_find_row (root, title);

  g_assert_nonnull (row);
  g_assert_true (ADW_IS_ENTRY_ROW (row));
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

static gpointer
row_suffix (GtkWidget  *root,
            const char *title,
            GType       type)
{
  GtkWidget *row = bastion_ui_test_find_row (root, title);
  GtkWidget *widget;

  g_assert_nonnull (row);
  widget = bastion_ui_test_find_widget (row, type, NULL, NULL);
  g_assert_nonnull (widget);
  return widget;
}

static gboolean
edit_saved (gpointer user_data)
{
  g_autoptr(JsonObject) saved = saved_profile ("simpleiot-demo");

  return saved != NULL
         && g_strcmp0 (json_object_get_string_member_with_default (saved, "ssh-host", NULL),
                       "bastion.example.net") == 0
         && json_object_get_int_member_with_default (saved, "ssh-port", 0) == 2222
         && g_strcmp0 (json_object_get_string_member_with_default (saved, "ssh-alias", NULL),
                       "demo-bastion") == 0
         && !json_object_get_boolean_member_with_default (saved, "read-only", TRUE)
         && g_strcmp0 (json_object_get_string_member_with_default (saved, "env-label", NULL),
                       "production") == 0
         && g_strcmp0 (json_object_get_string_member_with_default (saved, "env-color", NULL),
                       "#e01b24") == 0;
}

static void
test_edit_saved (void)
{
  BastionProfileEditor *editor;
  GtkWidget *root;
  g_autoptr(JsonObject) before = NULL;
  g_autofree char *shot = NULL;
  GtkListBoxRow *team_row;

  open_team ("demo");
  before = saved_profile ("simpleiot-demo");
  g_assert_nonnull (before);
  g_assert_true (json_object_get_boolean_member_with_default (before, "read-only", FALSE));

  editor = open_editor ();
  root = GTK_WIDGET (editor);
  g_assert_true (bastion_profile_editor_get_profile (editor)
                 == bastion_team_page_get_profile (child ("team_page")));

  /* Every field of the issue has its row. */
  {
    static const char *titles[] = {
      "Name", "Environment", "Environment Colour", "Bastion Host", "SSH Port", "SSH User",
      "Authentication", "Key File", "Database Host", "Database Port", "Database Name",
      "Database User", "Local Port", "Read-Only", "AWS Profile", "AWS Region", "Password Secret",
      "SSH Config Alias (~/.ssh/config Host)", "ProxyJump (not supported yet)",
    };

    for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
      if (bastion_ui_test_find_row (root, titles[i]) == NULL)
        g_error ("the editor has no row “%s”", titles[i]);
  }
  g_assert_true (gtk_switch_get_active (row_suffix (root, "Read-Only", GTK_TYPE_SWITCH)));

  /* The choices of “bastion-cli profile set TEAM auth agent|key|password”. */
  {
    GListModel *auth = adw_combo_row_get_model (ADW_COMBO_ROW (bastion_ui_test_find_row (
                                                  root, "Authentication")));

    g_assert_cmpuint (g_list_model_get_n_items (auth), ==, 3);
    g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (auth), 0), ==, "Key File");
    g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (auth), 1), ==, "SSH Agent");
    g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (auth), 2), ==, "Password");
  }
  set_entry (root, "SSH Config Alias (~/.ssh/config Host)", "demo-bastion");
  set_entry (root, "Bastion Host", "bastion.example.net");
  gtk_spin_button_set_value (row_suffix (root, "SSH Port", GTK_TYPE_SPIN_BUTTON), 2222);
  gtk_switch_set_active (row_suffix (root, "Read-Only", GTK_TYPE_SWITCH), FALSE);
  set_entry (root, "Environment", "production");
  adw_combo_row_set_selected (ADW_COMBO_ROW (bastion_ui_test_find_row (root,
                                                                       "Environment Colour")),
                              1);
  shot = bastion_ui_test_screenshot (root, "editor");

  bastion_ui_test_wait_for (edit_saved, NULL, "the edit in profiles.json");
  close_editor (editor);

  /* The sidebar and the page show the change. */
  team_row = find_team_row ("demo");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (team_row), "production"));
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (team_row), "bastion.example.net"));
  g_clear_pointer (&shot, g_free);
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-page-edited");
}

static void
test_member_team (void)
{
  const char *simpleiot = g_getenv ("BASTION_SIMPLEIOT_DIR");
  g_autofree char *member = g_build_filename (simpleiot, "member", NULL);
  g_autofree char *toolchain = g_build_filename (simpleiot, "_toolchain", NULL);
  g_autofree char *config = g_build_filename (member, "config.json", NULL);
  g_autofree char *toolchain_config = g_build_filename (toolchain, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  GtkListBoxRow *row;
  GtkWidget *no_access;
  g_autofree char *shot = NULL;

  g_assert_nonnull (simpleiot);
  g_assert_cmpint (g_mkdir_with_parents (toolchain, 0700), ==, 0);
  g_file_set_contents (toolchain_config, "{\"team\": \"toolchain\"}", -1, &error);
  g_assert_no_error (error);
  /* A team member's cut-down config, written while Bastion runs. */
  g_assert_cmpint (g_mkdir_with_parents (member, 0700), ==, 0);
  g_file_set_contents (config,
                       "{\"team\": \"member\", \"org_name\": \"Acme Widgets\", "
                       "\"use_sso\": false, \"region\": \"us-west-2\"}",
                       -1, &error);
  g_assert_no_error (error);

  bastion_ui_test_wait_for (team_row_exists, "member", "the member team to appear by itself");
  row = find_team_row ("member");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (row), "No database access"));
  g_assert_null (find_team_row ("toolchain"));
  g_assert_null (find_team_row ("_toolchain"));

  open_team ("member");
  no_access = page_child ("no_access_page");
  bastion_ui_test_wait_drawn (no_access);
  g_assert_true (gtk_widget_get_mapped (no_access));
  g_assert_false (gtk_widget_get_visible (page_child ("connection_group")));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-member");
}

typedef struct
{
  const char *id;
  gboolean    present;
} SavedWait;

static gboolean
saved_presence (gpointer user_data)
{
  SavedWait *wait = user_data;
  g_autoptr(JsonObject) saved = saved_profile (wait->id);

  return (saved != NULL) == wait->present;
}

static void
test_manual_profiles (void)
{
  BastionProfileEditor *editor;
  BastionProfile *profile;
  BastionProfile *copy;
  g_autofree char *copy_id = NULL;
  g_autofree char *shot = NULL;
  SavedWait wait;
  guint n;

  n = g_list_model_get_n_items (G_LIST_MODEL (store ()));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.add-profile", NULL));
  bastion_ui_test_wait_for (editor_shown, NULL, "the editor of the new profile");
  editor = BASTION_PROFILE_EDITOR (bastion_ui_test_find_toplevel (BASTION_TYPE_PROFILE_EDITOR));
  profile = bastion_profile_editor_get_profile (editor);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store ())), ==, n + 1);
  g_assert_cmpint (bastion_profile_get_source (profile), ==, BASTION_PROFILE_SOURCE_MANUAL);
  g_assert_true (gtk_switch_get_active (row_suffix (GTK_WIDGET (editor), "Read-Only",
                                                    GTK_TYPE_SWITCH)));
  set_entry (GTK_WIDGET (editor), "Name", "Staging");
  set_entry (GTK_WIDGET (editor), "Bastion Host", "staging.example.net");
  close_editor (editor);
  bastion_ui_test_wait_for (team_row_exists, "Staging", "the new profile in the sidebar");
  g_assert_true (bastion_team_page_get_profile (child ("team_page")) == profile);
  wait = (SavedWait) { bastion_profile_get_id (profile), TRUE };
  bastion_ui_test_wait_for (saved_presence, &wait, "the new profile in profiles.json");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.duplicate-profile", NULL));
  bastion_ui_test_wait_for (team_row_exists, "Staging (copy)", "the copy in the sidebar");
  copy = bastion_team_page_get_profile (child ("team_page"));
  g_assert_cmpstr (bastion_profile_get_ssh_host (copy), ==, "staging.example.net");
  g_assert_cmpstr (bastion_profile_get_id (copy), !=, bastion_profile_get_id (profile));
  copy_id = g_strdup (bastion_profile_get_id (copy));

  /* Delete, then Undo. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-profile", NULL));
  bastion_ui_test_wait_for (team_row_gone, "Staging (copy)", "the copy to leave the sidebar");
  wait = (SavedWait) { copy_id, FALSE };
  bastion_ui_test_wait_for (saved_presence, &wait, "the copy to leave profiles.json");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child ("content_stack")), ==, "placeholder");
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "deleted-undo-toast");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-delete", NULL));
  bastion_ui_test_wait_for (team_row_exists, "Staging (copy)", "the copy to come back");
  wait = (SavedWait) { copy_id, TRUE };
  bastion_ui_test_wait_for (saved_presence, &wait, "the copy back in profiles.json");

  /* A SimpleIOT team is not deleted by hand: it would come back with the next import. */
  open_team ("demo");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-profile", NULL);
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_nonnull (find_team_row ("demo"));
  g_assert_nonnull (bastion_profile_store_lookup (store (), "simpleiot-demo"));
}

/* Runs bastion-cli with input on stdin; returns its exit status and stdout. */
static int
run_cli (const char  *input,
         char       **out,
         const char  *first_arg,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  va_list args;

  g_ptr_array_add (argv, (char *) g_getenv ("BASTION_CLI"));
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                            | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_test_message ("bastion-cli: %s", err);

  return g_subprocess_get_exit_status (proc);
}

typedef struct
{
  GtkWidget  *root;
  const char *title;
  const char *subtitle;
} SubtitleWait;

static gboolean
row_has_subtitle (gpointer user_data)
{
  SubtitleWait *wait = user_data;
  GtkWidget *row = bastion_ui_test_find_row (wait->root, wait->title);

  return row != NULL
         && g_strcmp0 (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), wait->subtitle) == 0;
}

static void
click_row_button (GtkWidget  *root,
                  const char *title,
                  const char *label)
{
  GtkWidget *row = bastion_ui_test_find_row (root, title);
  GtkWidget *button;

  g_assert_nonnull (row);
  button = bastion_ui_test_find_widget (row, GTK_TYPE_BUTTON, bastion_ui_test_button_has_label,
                                        (gpointer) label);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_get_visible (button));
  gtk_widget_activate (button);
}

static void
test_secrets (void)
{
  BastionProfileEditor *editor;
  AdwMessageDialog *dialog;
  SubtitleWait wait;
  g_autofree char *out = NULL;
  g_autofree char *shot = NULL;

  open_team ("demo");
  editor = open_editor ();
  wait = (SubtitleWait) { GTK_WIDGET (editor), "Database Password",
                          "Not saved: Bastion asks for it when connecting" };
  bastion_ui_test_wait_for (row_has_subtitle, &wait, "the database password state");
  close_editor (editor);

  /* Set with the CLI, found by the GUI. */
  g_assert_cmpint (run_cli ("pw-from-cli", NULL, "secret", "set", "demo", "db-password", NULL),
                   ==, 0);
  editor = open_editor ();
  wait = (SubtitleWait) { GTK_WIDGET (editor), "Database Password", "Saved in the keyring" };
  bastion_ui_test_wait_for (row_has_subtitle, &wait, "the password set by bastion-cli");

  /* Set in the GUI, found by the CLI. */
  click_row_button (GTK_WIDGET (editor), "Key Passphrase", "_Set…");
  bastion_ui_test_wait_for (bastion_ui_test_message_dialog_shown, NULL, "the passphrase dialog");
  dialog = ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_true (GTK_IS_ENTRY (adw_message_dialog_get_extra_child (dialog)));
  g_assert_false (gtk_entry_get_visibility (
                    GTK_ENTRY (adw_message_dialog_get_extra_child (dialog))));
  gtk_editable_set_text (GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog)),
                         "pass-from-gui");
  shot = bastion_ui_test_screenshot (GTK_WIDGET (dialog), "secret-dialog");
  adw_message_dialog_response (dialog, "save");
  wait = (SubtitleWait) { GTK_WIDGET (editor), "Key Passphrase", "Saved in the keyring" };
  bastion_ui_test_wait_for (row_has_subtitle, &wait, "the passphrase in the keyring");
  g_assert_cmpint (run_cli (NULL, &out, "secret", "print", "demo", "key-passphrase", NULL), ==, 0);
  g_assert_cmpstr (g_strchomp (out), ==, "pass-from-gui");
  g_clear_pointer (&out, g_free);

  /* Forget, in the GUI. */
  click_row_button (GTK_WIDGET (editor), "Database Password", "_Forget");
  wait = (SubtitleWait) { GTK_WIDGET (editor), "Database Password",
                          "Not saved: Bastion asks for it when connecting" };
  bastion_ui_test_wait_for (row_has_subtitle, &wait, "the password to be forgotten");
  run_cli (NULL, &out, "secret", "print", "demo", "db-password", NULL);
  g_assert_null (strstr (out != NULL ? out : "", "pw-from-cli"));

  close_editor (editor);
}

static gboolean
search_shows_only_staging (gpointer user_data)
{
  return find_team_row ("Staging") != NULL && find_team_row ("Staging (copy)") != NULL
         && find_team_row ("demo") == NULL && find_team_row ("member") == NULL;
}

static gboolean
search_shows_only_demo (gpointer user_data)
{
  return find_team_row ("demo") != NULL && find_team_row ("Staging") == NULL
         && find_team_row ("member") == NULL;
}

static gboolean
search_shows_nothing (gpointer user_data)
{
  return gtk_list_box_get_row_at_index (child ("team_list"), 0) == NULL;
}

static gboolean
search_shows_all (gpointer user_data)
{
  return find_team_row ("Staging") != NULL && find_team_row ("demo") != NULL
         && find_team_row ("member") != NULL;
}

static void
test_search (void)
{
  GtkSearchBar *bar = child ("search_bar");
  GtkEditable *entry = child ("search_entry");
  g_autofree char *shot = NULL;

  open_team ("demo");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL));
  g_assert_true (gtk_search_bar_get_search_mode (bar));

  /* Matches names, environments and hosts, ignoring case. */
  gtk_editable_set_text (entry, "STAG");
  bastion_ui_test_wait_for (search_shows_only_staging, NULL, "the search results");
  /* The open team stays open although the list no longer shows it. */
  g_assert_cmpstr (bastion_profile_get_id (bastion_team_page_get_profile (child ("team_page"))), ==,
                   "simpleiot-demo");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child ("content_stack")), ==, "team");
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "search");

  gtk_editable_set_text (entry, "production");
  /* Setting the text empties the entry first, which shows every team for a moment. */
  bastion_ui_test_wait_for (search_shows_only_demo, NULL, "a match on the environment");

  gtk_editable_set_text (entry, "no such team");
  bastion_ui_test_wait_for (search_shows_nothing, NULL, "no results");
  bastion_ui_test_wait_drawn (child ("no_results_page"));
  g_assert_true (gtk_widget_get_mapped (child ("no_results_page")));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL));
  g_assert_false (gtk_search_bar_get_search_mode (bar));
  bastion_ui_test_wait_for (search_shows_all, NULL, "every team again");
  g_assert_true (gtk_list_box_get_selected_row (child ("team_list"))
                 == find_team_row ("demo"));
}

static gboolean
leaflet_shows (gpointer user_data)
{
  AdwLeaflet *leaflet = child ("leaflet");

  return adw_leaflet_get_folded (leaflet)
         && adw_leaflet_get_visible_child (leaflet) == user_data;
}

static void
test_narrow (void)
{
  g_autofree char *shot = NULL;
  GtkWidget *back = child ("back_button");

  /* Phone-sized: the sidebar folds and the open team stays in view; Back shows the list, and
   * a team opens full width from there. */
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 700);
  bastion_ui_test_wait_for (leaflet_shows, child ("content"), "the folded team page");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-teams", NULL));
  bastion_ui_test_wait_for (leaflet_shows, child ("sidebar"), "the folded team list");
  g_assert_nonnull (find_team_row ("demo"));
  g_clear_pointer (&shot, g_free);
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "teams-narrow");

  open_team ("demo");
  bastion_ui_test_wait_for (leaflet_shows, child ("content"), "the team page, folded");
  bastion_ui_test_wait_drawn (back);
  g_assert_true (gtk_widget_get_mapped (back));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "team-page-narrow");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-teams", NULL));
  bastion_ui_test_wait_for (leaflet_shows, child ("sidebar"), "the team list again");

  gtk_window_set_default_size (GTK_WINDOW (window), 960, 640);
}

static void
test_reopen (void)
{
  BastionProfile *shown;

  /* The next start shows the team that was open last. */
  open_team ("member");
  shown = bastion_team_page_get_profile (child ("team_page"));
  bastion_ui_test_close_windows ();

  window = bastion_ui_test_activate ();
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child ("content_stack")), ==, "team");
  g_assert_true (bastion_team_page_get_profile (child ("team_page")) == shown);
  g_assert_true (bastion_team_row_get_profile (BASTION_TEAM_ROW (
                   gtk_list_box_get_selected_row (child ("team_list")))) == shown);
  bastion_ui_test_close_windows ();
}

int
main (int    argc,
      char **argv)
{
  bastion_ui_test_init (&argc, &argv);

  g_test_add_func ("/bastion/ui/profiles/imported", test_imported);
  g_test_add_func ("/bastion/ui/profiles/team-page", test_team_page);
  g_test_add_func ("/bastion/ui/profiles/key-fix", test_key_fix);
  g_test_add_func ("/bastion/ui/profiles/key-encrypted", test_key_encrypted);
  g_test_add_func ("/bastion/ui/profiles/edit-saved", test_edit_saved);
  g_test_add_func ("/bastion/ui/profiles/secrets", test_secrets);
  g_test_add_func ("/bastion/ui/profiles/member-team", test_member_team);
  g_test_add_func ("/bastion/ui/profiles/manual", test_manual_profiles);
  g_test_add_func ("/bastion/ui/profiles/search", test_search);
  g_test_add_func ("/bastion/ui/profiles/narrow", test_narrow);
  g_test_add_func ("/bastion/ui/profiles/reopen", test_reopen);

  return g_test_run ();
}
