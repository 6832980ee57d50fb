/* test-ui-connect.c
 *
 * Runs under tests/harness/with-servers --xvfb --sshd --postgres --keyring --aws --team demo:
 * the demo team is connected through the connection view's actions, as a user would click
 * through it. The host-key prompt shows the harness's fingerprint and its reject path leaves the
 * team disconnected; accepted, the database password is asked, and once typed the tunnel serves
 * a real psql; Disconnect closes the port. A bastion port that refuses names the failed step,
 * "Check my IP" asks the AWS endpoint and a temporary rule is removed on disconnect; a stopped
 * bastion is started and its new DNS name lands in the profile. Screenshots of each state go to
 * <builddir>/tests/screenshots/connect-*.png.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-connection-bar.h"
#include "bastion-connection-view.h"
#include "bastion-connections.h"
#include "bastion-team-page.h"
#include "bastion-team-row.h"
#include "bastion-ui-test.h"

static BastionWindow         *window;
static BastionConnectionView *view;
static GtkWidget             *shot_root;   /* what the screenshots show */
static BastionProfile        *profile;
static char                  *recorder_dir;

static gboolean notified (gpointer summary);

/* ---- Helpers ------------------------------------------------------------------------------- */

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
view_child (const char *name)
{
  gpointer widget = gtk_widget_get_template_child (GTK_WIDGET (view), BASTION_TYPE_CONNECTION_VIEW,
                                                   name);

  g_assert_nonnull (widget);
  return widget;
}

/* The connected workspace's strip (the team page shows it once connected). */
static gpointer
bar_child (const char *name)
{
  GtkWidget *bar = bastion_ui_test_find_widget (GTK_WIDGET (window), BASTION_TYPE_CONNECTION_BAR,
                                                NULL, NULL);
  gpointer widget;

  g_assert_nonnull (bar);
  widget = gtk_widget_get_template_child (bar, BASTION_TYPE_CONNECTION_BAR, name);
  g_assert_nonnull (widget);
  return widget;
}

static void
bar_activate (const char *action)
{
  GtkWidget *bar = bastion_ui_test_find_widget (GTK_WIDGET (window), BASTION_TYPE_CONNECTION_BAR,
                                                NULL, NULL);

  g_assert_true (gtk_widget_activate_action (bar, action, NULL));
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return g_strstrip (contents);
}

static gboolean
team_row_exists (gpointer name)
{
  return find_team_row (name) != NULL;
}

static BastionConnection *
connection (void)
{
  return bastion_connection_view_get_connection (view);
}

static BastionConnectionStage
stage (void)
{
  return bastion_connection_get_stage (connection ());
}

static gboolean
stage_is (gpointer user_data)
{
  return stage () == (BastionConnectionStage) GPOINTER_TO_INT (user_data);
}

static gboolean
stage_settled (gpointer user_data)
{
  BastionConnectionStage s = stage ();

  return s == BASTION_CONNECTION_STAGE_IDLE || s == BASTION_CONNECTION_STAGE_READY ||
         s == BASTION_CONNECTION_STAGE_FAILED;
}

static gboolean
no_message_dialog (gpointer user_data)
{
  return bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG) == NULL;
}

static AdwMessageDialog *
wait_for_dialog (const char *heading)
{
  AdwMessageDialog *dialog;

  bastion_ui_test_wait_for (bastion_ui_test_message_dialog_shown, NULL, heading);
  dialog = ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, heading);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) != NULL);

  return dialog;
}

static gboolean
click_cb (gpointer button)
{
  g_signal_emit_by_name (button, "clicked");
  return G_SOURCE_REMOVE;
}

static void
respond (AdwMessageDialog *dialog,
         const char       *response)
{
  GtkWidget *button;
  const char *label;

  g_assert_true (adw_message_dialog_has_response (dialog, response));
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, response));
  /* As a click does, from the main loop (where a dialog's answer reaches its caller at once,
   * GTask's rule): the response's button emits the response and closes the dialog. */
  label = adw_message_dialog_get_response_label (dialog, response);
  button = bastion_ui_test_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON,
                                        bastion_ui_test_button_has_label,
                                        (gpointer) label);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, click_cb, g_object_ref (button), g_object_unref);
  bastion_ui_test_wait_for (no_message_dialog, NULL, "the dialog to close");
}

static void
activate (const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), action, NULL));
}

static void
disconnect (void)
{
  if (stage () != BASTION_CONNECTION_STAGE_IDLE)
    activate ("view.disconnect");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_IDLE);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_child ("stack")), ==, "idle");
}

static void
clear_db_password (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  bastion_secrets_clear_async (bastion_secrets_get_default (), bastion_profile_get_id (profile),
                               BASTION_SECRET_KIND_DB_PASSWORD, NULL, test_store_result, &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "the keyring");
  g_assert_true (bastion_secrets_clear_finish (bastion_secrets_get_default (), result, &error));
  g_assert_no_error (error);
}

/* Can a client reach 127.0.0.1:port? (asynchronously: the tunnel runs on this main loop) */
static gboolean
port_accepts (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_client_connect_to_host_async (client, "127.0.0.1", port, NULL, test_store_result,
                                         &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "a TCP connect");
  connection = g_socket_client_connect_to_host_finish (client, result, &error);
  if (connection == NULL)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  return connection != NULL;
}

/* The real psql, through the tunnel, asynchronously. */
static char *
psql_through (guint16     port,
              const char *sql)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = read_file (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"));
  g_autofree char *port_str = g_strdup_printf ("%u", port);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_setenv (launcher, "PGPASSWORD", password, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "PGHOST");
  g_subprocess_launcher_unsetenv (launcher, "PGPORT");
  process = g_subprocess_launcher_spawn (launcher, &error, "psql", "-X", "-w", "-tA",
                                         "-h", "127.0.0.1", "-p", port_str,
                                         "-U", bastion_profile_get_db_user (profile),
                                         "-d", bastion_profile_get_db_name (profile),
                                         "-c", sql, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, test_store_result, &result);
  bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "psql");
  g_subprocess_communicate_utf8_finish (process, result, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("psql through the tunnel failed: %s", err);

  return g_strdup (g_strstrip (out));
}

/* The AWS endpoint's control API (another process, so a blocking call is fine here). */
static JsonObject *
aws_control_at (const char *method,
                const char *what,
                const char *body)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *request = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  const char *url = g_getenv ("BASTION_TEST_AWS_CONTROL_URL");
  g_autofree char *full = NULL;
  GOutputStream *out;
  GInputStream *in;
  char buffer[4096];
  gssize n;
  const char *json;

  g_assert_nonnull (url);
  full = g_strconcat (url, "/", what, NULL);
  uri = g_uri_parse (full, G_URI_FLAGS_NONE, &error);
  g_assert_no_error (error);
  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri),
                                                g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("%s %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             method, g_uri_get_path (uri), g_uri_get_host (uri),
                             body ? strlen (body) : 0, body ? body : "");
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_output_stream_write_all (out, request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error)) > 0)
    g_string_append_len (reply, buffer, n);
  g_assert_no_error (error);

  json = strstr (reply->str, "\r\n\r\n");
  g_assert_nonnull (json);
  if (!json_parser_load_from_data (parser, json + 4, -1, NULL))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static JsonObject *
aws_control (const char *method,
             const char *body)
{
  return aws_control_at (method, "state", body);
}

/* Whether the bastion's security group admits cidr on tcp/22, per the AWS endpoint. */
static gboolean
aws_group_admits (const char *cidr)
{
  g_autoptr(JsonObject) state = aws_control ("GET", NULL);
  JsonArray *groups = json_object_get_array_member (state, "security_groups");
  JsonObject *group = json_array_get_object_element (groups, 0);
  JsonArray *rules = json_object_get_array_member (group, "rules");

  for (guint i = 0; i < json_array_get_length (rules); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (rules, i),
                                                  "cidr"), cidr) == 0)
      return TRUE;

  return FALSE;
}

static gboolean
aws_rule_gone (gpointer cidr)
{
  return !aws_group_admits (cidr);
}

static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  /* Closed when this returns: nothing listens there. */
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
widget_visible (gpointer widget)
{
  return gtk_widget_get_visible (widget);
}

static gboolean
tools_listed (gpointer user_data)
{
  GtkWidget *box = bar_child ("tools_box");

  /* Copy URI alone until the tools were looked for. */
  return gtk_widget_get_first_child (box) != gtk_widget_get_last_child (box);
}

/* The view fits a phone-width window (360 px, less the page's margins) in any state. */
static void
assert_fits_narrow (void)
{
  int minimum = 0;

  gtk_widget_measure (GTK_WIDGET (view), GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL,
                      NULL);
  g_assert_cmpint (minimum, <=, 360 - 24);
}

static gboolean
widget_hidden (gpointer widget)
{
  return !gtk_widget_get_visible (widget);
}

/* ---- Set-up -------------------------------------------------------------------------------- */

static void
on_host_destroyed (gpointer data)
{
  view = NULL;
}

/* The team page shows the connection view once it is integrated there; until then the view is
 * shown in a window of its own, over the same profile and registry. */
static void
show_demo_team (void)
{
  GtkListBoxRow *row;

  if (view != NULL)
    return;

  window = bastion_ui_test_activate ();
  bastion_ui_test_wait_for (team_row_exists, "demo", "the demo team");
  row = find_team_row ("demo");
  gtk_list_box_select_row (child ("team_list"), row);
  g_signal_emit_by_name (child ("team_list"), "row-activated", row);
  profile = bastion_team_row_get_profile (BASTION_TEAM_ROW (row));

  view = (BastionConnectionView *) bastion_ui_test_find_widget (GTK_WIDGET (window),
                                                               BASTION_TYPE_CONNECTION_VIEW,
                                                               NULL, NULL);
  if (view != NULL)
    {
      shot_root = GTK_WIDGET (window);
    }
  else
    {
      GtkWidget *host = adw_window_new ();
      GtkWidget *overlay = adw_toast_overlay_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
      GtkWidget *scroller = gtk_scrolled_window_new ();
      GtkWidget *clamp = adw_clamp_new ();

      gtk_window_set_title (GTK_WINDOW (host), "demo");
      gtk_window_set_default_size (GTK_WINDOW (host), 640, 760);
      gtk_window_set_transient_for (GTK_WINDOW (host), GTK_WINDOW (window));
      gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
      gtk_widget_set_vexpand (scroller, TRUE);
      gtk_box_append (GTK_BOX (box), scroller);
      adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), box);
      gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), clamp);
      view = BASTION_CONNECTION_VIEW (bastion_connection_view_new ());
      gtk_widget_set_margin_top (GTK_WIDGET (view), 24);
      gtk_widget_set_margin_bottom (GTK_WIDGET (view), 24);
      gtk_widget_set_margin_start (GTK_WIDGET (view), 12);
      gtk_widget_set_margin_end (GTK_WIDGET (view), 12);
      adw_clamp_set_child (ADW_CLAMP (clamp), GTK_WIDGET (view));
      adw_window_set_content (ADW_WINDOW (host), overlay);
      bastion_connection_view_set_profile (view, profile);
      g_object_weak_ref (G_OBJECT (view), (GWeakNotify) on_host_destroyed, NULL);
      gtk_window_present (GTK_WINDOW (host));
      shot_root = host;
    }

  bastion_ui_test_wait_drawn (GTK_WIDGET (view));
  g_assert_true (bastion_connection_view_get_profile (view) == profile);
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_connect_idle (void)
{
  g_autofree char *shot = NULL;

  show_demo_team ();
  disconnect ();

  g_assert_true (gtk_widget_get_mapped (view_child ("connect_button")));
  g_assert_true (gtk_widget_has_css_class (view_child ("connect_button"), "suggested-action"));
  g_assert_false (bastion_connection_view_get_connected (view));
  /* The demo team is read-only by default, and says so in words. */
  g_assert_true (bastion_profile_get_read_only (profile));
  g_assert_true (gtk_widget_get_visible (view_child ("idle_read_only_tag")));

  shot = bastion_ui_test_screenshot (shot_root, "connect-idle");
}

static gboolean
tooltip_is (GtkWidget *widget,
            gpointer   text)
{
  return gtk_widget_get_visible (widget)
         && g_strcmp0 (gtk_widget_get_tooltip_text (widget), text) == 0;
}

static void
test_connect_reject_host_key (void)
{
  AdwMessageDialog *dialog;
  GtkWidget *label;
  g_autofree char *shot = NULL;

  show_demo_team ();
  disconnect ();

  activate ("view.connect");
  dialog = wait_for_dialog ("Trust This Bastion?");
  label = bastion_ui_test_find_label (GTK_WIDGET (dialog),
                                      g_getenv ("BASTION_TEST_SSH_FINGERPRINT"));
  g_assert_nonnull (label);
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (label)), "SHA256:"));
  g_assert_true (adw_message_dialog_has_response (dialog, "trust"));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (dialog), "connect-host-key");

  respond (dialog, "cancel");

  /* Not trusted: nothing serves, and the page names the step and offers to look again. */
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_FAILED);
  g_assert_cmpint (bastion_connection_get_failed_stage (connection ()),
                   ==, BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY);
  g_assert_false (bastion_connection_view_get_connected (view));
  g_assert_false (port_accepts (bastion_profile_get_local_port (profile)));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_child ("stack")), ==, "steps");
  g_assert_true (gtk_widget_get_visible (view_child ("prompt_button")));
  g_assert_cmpstr (gtk_label_get_text (view_child ("fix_title")), ==,
                   "The bastion’s identity is not confirmed yet");

  /* A question, not a failure: the heading and the sidebar wait for the user, the fix is not a
   * warning, and the step names the button that answers it, not a terminal command. */
  g_assert_cmpstr (adw_preferences_group_get_title (view_child ("steps_group")), ==,
                   "Waiting for You");
  g_assert_true (gtk_widget_has_css_class (view_child ("fix_icon"), "accent"));
  g_assert_false (gtk_widget_has_css_class (view_child ("fix_icon"), "warning"));
  g_assert_nonnull (bastion_ui_test_find_widget (GTK_WIDGET (window), GTK_TYPE_IMAGE,
                                                 tooltip_is, (gpointer) "Waiting for you"));
  g_assert_null (bastion_ui_test_find_widget (GTK_WIDGET (window), GTK_TYPE_IMAGE, tooltip_is,
                                              (gpointer) "Connection failed"));
  {
    GtkWidget *row = bastion_ui_test_find_row (GTK_WIDGET (view), "Verify the host key");
    const char *subtitle;

    g_assert_nonnull (row);
    subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
    g_assert_nonnull (strstr (subtitle, "“Review Host Key”"));
    g_assert_null (strstr (subtitle, "bastion-cli"));
    g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (view_child ("prompt_button"))), ==,
                     "_Review Host Key…");
  }
  g_clear_pointer (&shot, g_free);
  shot = bastion_ui_test_screenshot (shot_root, "connect-host-key-question");

  disconnect ();
}

static void
test_connect_accept (void)
{
  AdwMessageDialog *dialog;
  GtkWidget *entry;
  BastionTunnel *tunnel;
  g_autofree char *password = read_file (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"));
  g_autofree char *secret_id = NULL;
  g_autofree char *address = NULL;
  g_autofree char *name = NULL;
  g_autofree char *shot = NULL;
  pid_t sshd = atoi (g_getenv ("BASTION_TEST_SSHD_PID"));
  guint16 port;

  show_demo_team ();
  disconnect ();
  /* Nothing stored and no Secrets Manager secret to fetch: the password must be asked for. */
  clear_db_password ();
  secret_id = g_strdup (bastion_profile_get_aws_secret_id (profile));
  bastion_profile_set_aws_secret_id (profile, NULL);

  /* A paused sshd holds the connection mid-way, so the steps can be seen as they are. */
  g_assert_cmpint (kill (sshd, SIGSTOP), ==, 0);
  activate ("view.connect");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_child ("stack")), ==, "steps");
  bastion_ui_test_wait_for (stage_is, GINT_TO_POINTER (BASTION_CONNECTION_STAGE_CONNECTING),
                            "the connecting step");
  bastion_ui_test_settle (GTK_WIDGET (view));
  g_assert_cmpstr (adw_preferences_group_get_title (view_child ("steps_group")), ==,
                   "Connecting…");
  {
    g_autofree char *reach = g_strdup_printf ("Reach the bastion (port %u)",
                                              bastion_profile_get_ssh_port (profile));

    g_assert_nonnull (bastion_ui_test_find_row (GTK_WIDGET (view), reach));
  }
  assert_fits_narrow ();
  shot = bastion_ui_test_screenshot (shot_root, "connect-steps");
  g_clear_pointer (&shot, g_free);
  g_assert_cmpint (kill (sshd, SIGCONT), ==, 0);

  dialog = wait_for_dialog ("Trust This Bastion?");
  g_assert_nonnull (bastion_ui_test_find_label (GTK_WIDGET (dialog),
                                                g_getenv ("BASTION_TEST_SSH_FINGERPRINT")));
  respond (dialog, "trust");

  dialog = wait_for_dialog ("Database Password");
  g_assert_cmpint (bastion_connection_get_failed_stage (connection ()),
                   ==, BASTION_CONNECTION_STAGE_DATABASE_LOGIN);
  entry = bastion_ui_test_find_widget (GTK_WIDGET (dialog), ADW_TYPE_PASSWORD_ENTRY_ROW, NULL,
                                       NULL);
  g_assert_nonnull (entry);
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "connect"));

  /* A mistyped password: the database refuses it and the dialog asks again, saying so. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "not-the-password");
  respond (dialog, "connect");
  dialog = wait_for_dialog ("Database Password");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "refused"));
  g_assert_error ((GError *) bastion_connection_get_error (connection ()),
                  BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG);
  entry = bastion_ui_test_find_widget (GTK_WIDGET (dialog), ADW_TYPE_PASSWORD_ENTRY_ROW, NULL,
                                       NULL);
  gtk_editable_set_text (GTK_EDITABLE (entry), password);
  shot = bastion_ui_test_screenshot (GTK_WIDGET (dialog), "connect-db-password");
  g_clear_pointer (&shot, g_free);
  respond (dialog, "connect");
  /* The typed password does not linger in the widget. */
  bastion_ui_test_wait_for (stage_settled, NULL, "the connection");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_READY);
  g_assert_true (bastion_connection_view_get_connected (view));
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_child ("stack")), ==, "connected");

  tunnel = bastion_connection_get_tunnel (bastion_connection_view_get_connection (view));
  port = bastion_tunnel_get_local_port (tunnel);
  g_assert_cmpuint (port, >, 0);
  address = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_cmpstr (adw_action_row_get_subtitle (bar_child ("address_row")), ==, address);
  g_assert_cmpstr (gtk_label_get_label (bar_child ("mode_pill")), ==, "Read-only");
  /* The authentication step says how the login went (issue 18). */
  {
    GtkWidget *auth_row = bastion_ui_test_find_row (
      GTK_WIDGET (view), bastion_connection_stage_to_label (BASTION_CONNECTION_STAGE_AUTHENTICATING));

    g_assert_nonnull (auth_row);
    g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (auth_row)),
                                     "Through the key file "));
  }

  /* Copy URI: the address for any other tool, never the password. */
  {
    GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (view));
    g_autoptr(GAsyncResult) result = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *port_part = g_strdup_printf (":%u/", port);

    bar_activate ("bar.copy-uri");
    gdk_clipboard_read_text_async (clipboard, NULL, test_store_result, &result);
    bastion_ui_test_wait_for (bastion_ui_test_have_result, &result, "the clipboard");
    uri = gdk_clipboard_read_text_finish (clipboard, result, NULL);
    g_assert_nonnull (uri);
    g_assert_true (g_str_has_prefix (uri, "postgresql://"));
    g_assert_nonnull (strstr (uri, port_part));
    g_assert_null (strstr (uri, password));
  }

  /* A real client gets through to the real database. */
  name = psql_through (port, "select name from project");
  g_assert_cmpstr (name, ==, "Sunshine");
  g_assert_cmpuint (bastion_tunnel_get_bytes_in (tunnel) + bastion_tunnel_get_bytes_out (tunnel),
                    >, 0);

  /* The tools were looked for: found ones have a button, the others are in the popover. */
  bastion_ui_test_wait_for (tools_listed, NULL, "the tools");
  assert_fits_narrow ();
  shot = bastion_ui_test_screenshot (shot_root, "connect-connected");
  g_clear_pointer (&shot, g_free);
  /* The connection's controls in the header bar. */
  shot = bastion_ui_test_screenshot (bastion_ui_test_find_widget (GTK_WIDGET (window),
                                                                  BASTION_TYPE_CONNECTION_BAR,
                                                                  NULL, NULL),
                                     "connect-connected-bar");
  g_clear_pointer (&shot, g_free);

  activate ("view.disconnect");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_IDLE);
  g_assert_false (bastion_connection_view_get_connected (view));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_child ("stack")), ==, "idle");
  g_assert_false (port_accepts (port));

  bastion_profile_set_aws_secret_id (profile, secret_id);
}

static gboolean
name_is (GtkWidget *widget,
         gpointer   name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

/* A pgpass file under dir (each Bastion process has its own sub-folder), or NULL. */
static char *
find_pgpass (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      char *found;

      if (g_str_has_suffix (name, ".pgpass"))
        return g_steal_pointer (&path);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && (found = find_pgpass (path)) != NULL)
        return found;
    }

  return NULL;
}

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* The host key is trusted now and the password remembered: one click connects, and "psql"
 * opens the real psql in a terminal, through the tunnel, read-only. */
static void
test_connect_again (void)
{
  g_autofree char *password = read_file (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"));
  g_autofree char *record = g_build_filename (recorder_dir, "000-xdg-terminal-exec",
                                              "record.json", NULL);
  g_autofree char *output = g_build_filename (recorder_dir, "000-xdg-terminal-exec",
                                              "output.txt", NULL);
  g_autofree char *runtime = g_build_filename (g_getenv ("XDG_RUNTIME_DIR"), "bastion", NULL);
  g_autofree char *pgpass = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *said = NULL;
  GtkWidget *button;
  struct stat st;

  show_demo_team ();
  disconnect ();

  activate ("view.connect");
  bastion_ui_test_wait_for (stage_settled, NULL, "the connection");
  g_assert_null (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_READY);
  g_assert_cmpuint (bastion_connections_get_n_open (bastion_connections_get_default ()), ==, 1);

  bastion_ui_test_wait_for (tools_listed, NULL, "the tools");
  button = bastion_ui_test_find_widget (bar_child ("tools_box"), GTK_TYPE_BUTTON, name_is,
                                        "psql");
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  bastion_ui_test_wait_for (file_exists, record, "psql in the terminal");
  said = read_file (output);
  g_assert_cmpstr (said, ==, "on");

  /* The password went through a 0600 pgpass file only, never argv or the environment. */
  pgpass = find_pgpass (runtime);
  g_assert_nonnull (pgpass);
  g_assert_cmpint (g_stat (pgpass, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  recorded = read_file (record);
  g_assert_null (strstr (recorded, password));

  disconnect ();
  g_assert_false (g_file_test (pgpass, G_FILE_TEST_EXISTS));
  g_clear_pointer (&pgpass, g_free);
  pgpass = find_pgpass (runtime);
  g_assert_null (pgpass);
  g_assert_cmpuint (bastion_connections_get_n_open (bastion_connections_get_default ()), ==, 0);
}

/* The pids of every process below pid (sshd's per-connection processes). */
static void
collect_descendants (int     pid,
                     GArray *pids)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *contents = NULL;
      const char *after;
      int child = atoi (name);
      int ppid;

      if (child <= 0)
        continue;
      path = g_strdup_printf ("/proc/%d/stat", child);
      if (!g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      /* "pid (comm) state ppid ...": comm may hold spaces, so start after its last ')'. */
      after = strrchr (contents, ')');
      if (after == NULL || sscanf (after + 1, " %*c %d", &ppid) != 1 || ppid != pid)
        continue;
      g_array_append_val (pids, child);
      collect_descendants (child, pids);
    }
}

static void
on_stage_seen (BastionConnection *conn,
               GParamSpec        *pspec,
               GArray            *seen)
{
  BastionConnectionStage s = bastion_connection_get_stage (conn);

  g_array_append_val (seen, s);
}

static gboolean
reconnected (gpointer user_data)
{
  GArray *seen = user_data;

  for (guint i = 0; i < seen->len; i++)
    if (g_array_index (seen, BastionConnectionStage, i) == BASTION_CONNECTION_STAGE_RECONNECTING)
      return stage () == BASTION_CONNECTION_STAGE_READY;

  return FALSE;
}

static gboolean
shows_reconnecting (gpointer user_data)
{
  GtkWidget *bar = bastion_ui_test_find_widget (GTK_WIDGET (window), BASTION_TYPE_CONNECTION_BAR,
                                                NULL, NULL);

  return g_strcmp0 (bastion_connection_bar_get_state_text (BASTION_CONNECTION_BAR (bar)),
                    "Reconnecting…") == 0;
}

/* The bastion drops the SSH connection: the page says it reconnects, keeps the same address,
 * a desktop notification says it dropped and came back, and a real client gets through. */
static void
test_connect_reconnect (void)
{
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (BastionConnectionStage));
  g_autoptr(GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *name = NULL;
  g_autofree char *shot = NULL;
  gulong handler;
  guint16 port;

  show_demo_team ();
  disconnect ();
  activate ("view.connect");
  bastion_ui_test_wait_for (stage_settled, NULL, "the connection");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_READY);
  port = bastion_tunnel_get_local_port (bastion_connection_get_tunnel (connection ()));

  handler = g_signal_connect (connection (), "notify::stage", G_CALLBACK (on_stage_seen), seen);
  collect_descendants (atoi (g_getenv ("BASTION_TEST_SSHD_PID")), pids);
  g_assert_cmpuint (pids->len, >, 0);
  /* Paused first, so the reconnecting state holds still for its picture. */
  for (guint i = 0; i < pids->len; i++)
    kill (g_array_index (pids, int, i), SIGKILL);
  g_assert_cmpint (kill (atoi (g_getenv ("BASTION_TEST_SSHD_PID")), SIGSTOP), ==, 0);
  bastion_ui_test_wait_for (shows_reconnecting, NULL, "the reconnecting state");
  g_assert_true (bastion_connection_view_get_connected (view));
  shot = bastion_ui_test_screenshot (shot_root, "connect-reconnecting");
  g_assert_cmpint (kill (atoi (g_getenv ("BASTION_TEST_SSHD_PID")), SIGCONT), ==, 0);

  bastion_ui_test_wait_for (reconnected, seen, "the tunnel to come back");
  /* The window is not in front (no window manager gives it focus here): the desktop was told,
   * both times. */
  g_assert_false (gtk_window_is_active (GTK_WINDOW (window)));
  bastion_ui_test_wait_for (notified, "The tunnel to “demo” dropped", "a notification");
  bastion_ui_test_wait_for (notified, "The tunnel to “demo” is back", "a notification");
  g_signal_handler_disconnect (connection (), handler);
  bastion_ui_test_settle (GTK_WIDGET (window));
  g_assert_cmpstr (bastion_connection_bar_get_state_text (
                     BASTION_CONNECTION_BAR (bastion_ui_test_find_widget (
                       GTK_WIDGET (window), BASTION_TYPE_CONNECTION_BAR, NULL, NULL))),
                   ==, "Connected");
  g_assert_cmpuint (bastion_tunnel_get_local_port (bastion_connection_get_tunnel (connection ())),
                    ==, port);
  name = psql_through (port, "select name from project");
  g_assert_cmpstr (name, ==, "Sunshine");

  disconnect ();
}

static void
test_connect_refused (void)
{
  guint ssh_port = bastion_profile_get_ssh_port (profile);
  g_autofree char *shot = NULL;
  const char *summary;

  show_demo_team ();
  disconnect ();
  bastion_profile_set_ssh_port (profile, closed_port ());

  activate ("view.connect");
  bastion_ui_test_wait_for (stage_settled, NULL, "the failure");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_FAILED);
  g_assert_cmpint (bastion_connection_get_failed_stage (connection ()),
                   ==, BASTION_CONNECTION_STAGE_CONNECTING);
  g_assert_cmpstr (adw_preferences_group_get_title (view_child ("steps_group")), ==,
                   "Connection Failed");
  g_assert_cmpstr (gtk_label_get_text (view_child ("fix_title")), ==,
                   "The bastion refused the connection");
  g_assert_true (gtk_widget_get_visible (view_child ("retry_button")));
  g_assert_null (bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));

  /* Check my IP: what the security group admits against this machine's public IP. */
  activate ("view.check-ip");
  bastion_ui_test_wait_for (widget_visible, view_child ("allow_ip_button"), "the diagnosis");
  summary = gtk_label_get_text (view_child ("diagnosis_title"));
  g_assert_nonnull (strstr (summary, "203.0.113.45/32"));
  g_assert_nonnull (strstr (summary, "198.51.100.7"));
  g_assert_true (gtk_widget_get_visible (view_child ("allow_temporarily_button")));
  shot = bastion_ui_test_screenshot (shot_root, "connect-failure");

  /* Allowed for this connection only: the rule is there, and gone after Disconnect. */
  g_assert_false (aws_group_admits ("198.51.100.7/32"));
  activate ("view.allow-temporarily");
  /* Once the rule is in, the diagnosis is done with and the view connects again. */
  bastion_ui_test_wait_for (widget_hidden, view_child ("diagnosis_box"), "the rule");
  bastion_ui_test_wait_for (stage_settled, NULL, "the retry");
  g_assert_true (aws_group_admits ("198.51.100.7/32"));
  g_assert_true (aws_group_admits ("203.0.113.45/32"));
  disconnect ();
  bastion_ui_test_wait_for (aws_rule_gone, "198.51.100.7/32", "the temporary rule to go");
  g_assert_true (aws_group_admits ("203.0.113.45/32"));

  bastion_profile_set_ssh_port (profile, ssh_port);
}

/* A listener whose accept queue is full: the kernel drops every new SYN, so a connect times
 * out, as one to a bastion whose security group no longer admits this IP. */
typedef struct
{
  GSocket *listener;
  GSocket *fillers[4];
  guint16  port;
} BlackHole;

static void
black_hole_open (BlackHole *hole)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  hole->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (hole->listener, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (hole->listener, 0);
  g_socket_listen (hole->listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (hole->listener, &error);
  g_assert_no_error (error);
  hole->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  for (guint i = 0; i < G_N_ELEMENTS (hole->fillers); i++)
    {
      hole->fillers[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_socket_set_blocking (hole->fillers[i], FALSE);
      if (!g_socket_connect (hole->fillers[i], bound, NULL, &error))
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
          g_clear_error (&error);
        }
    }
}

static void
black_hole_close (BlackHole *hole)
{
  for (guint i = 0; i < G_N_ELEMENTS (hole->fillers); i++)
    g_clear_object (&hole->fillers[i]);
  g_clear_object (&hole->listener);
}

static gboolean
allow_done (gpointer user_data)
{
  return aws_group_admits ("198.51.100.7/32");
}

static void
test_connect_timeout (void)
{
  guint ssh_port = bastion_profile_get_ssh_port (profile);
  BlackHole hole = { 0 };
  AdwMessageDialog *dialog;
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *shot = NULL;
  const char *body;

  show_demo_team ();
  disconnect ();
  black_hole_open (&hole);
  bastion_profile_set_ssh_port (profile, hole.port);

  activate ("view.connect");
  bastion_ui_test_wait_for (stage_settled, NULL, "the connect timeout");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_FAILED);
  g_assert_error ((GError *) bastion_connection_get_error (connection ()),
                  BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT);
  g_assert_cmpstr (gtk_label_get_text (view_child ("fix_title")), ==,
                   "The bastion’s security group probably no longer admits your IP");
  g_assert_true (gtk_widget_get_visible (view_child ("check_ip_button")));
  g_assert_false (gtk_widget_get_visible (view_child ("allow_ip_button")));

  activate ("view.check-ip");
  bastion_ui_test_wait_for (widget_visible, view_child ("allow_ip_button"), "the diagnosis");
  g_assert_false (gtk_widget_get_visible (view_child ("check_ip_button")));
  assert_fits_narrow ();
  shot = bastion_ui_test_screenshot (shot_root, "connect-timeout");
  g_clear_pointer (&shot, g_free);

  /* Replacing the rule is a decision: it is asked first, naming what it adds and what it
   * removes, which is only ever the user's own Bastion rules: the install IP's rule (no mark)
   * stays (issue 17). */
  activate ("view.allow-my-ip");
  dialog = wait_for_dialog ("Replace the SSH Rule?");
  body = adw_message_dialog_get_body (dialog);
  g_assert_nonnull (strstr (body, "iot_dev_bastion_ssh_sg"));
  g_assert_nonnull (strstr (body, "198.51.100.7/32"));
  g_assert_nonnull (strstr (body, "removes nothing"));
  g_assert_null (strstr (body, "203.0.113.45/32"));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (dialog), "connect-allow-my-ip");
  g_assert_true (aws_group_admits ("203.0.113.45/32"));
  respond (dialog, "replace");

  bastion_ui_test_wait_for (allow_done, NULL, "the rule to be replaced");
  /* The view connects again by itself; a closed port now answers at once. */
  bastion_ui_test_wait_for (widget_hidden, view_child ("diagnosis_box"), "the retry");
  black_hole_close (&hole);
  bastion_ui_test_wait_for (stage_settled, NULL, "the retry");

  disconnect ();
  /* The rule replaced for good stays after disconnect; the unmarked rule was not touched. */
  g_assert_true (aws_group_admits ("198.51.100.7/32"));
  g_assert_true (aws_group_admits ("203.0.113.45/32"));
  /* The starting rules again, for the tests after this one. */
  reply = aws_control_at ("POST", "reset", "{}");
  g_assert_true (aws_group_admits ("203.0.113.45/32"));
  bastion_profile_set_ssh_port (profile, ssh_port);
}

static gboolean
instance_stopping (gpointer user_data)
{
  g_autoptr(JsonObject) state = aws_control ("GET", NULL);
  JsonArray *instances = json_object_get_array_member (state, "instances");
  const char *now = json_object_get_string_member (json_array_get_object_element (instances, 0),
                                                   "state");

  return g_strcmp0 (now, "stopping") == 0 || g_strcmp0 (now, "stopped") == 0;
}

/* Preferences: stop the bastion when done. The last tunnel to it closes, and it is stopped. */
static void
test_connect_stop_when_done (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(JsonObject) reply = NULL;

  show_demo_team ();
  disconnect ();
  g_settings_set_boolean (settings, "stop-bastion-when-done", TRUE);

  activate ("view.connect");
  bastion_ui_test_wait_for (stage_settled, NULL, "the connection");
  g_assert_cmpint (stage (), ==, BASTION_CONNECTION_STAGE_READY);
  g_assert_false (instance_stopping (NULL));
  disconnect ();
  bastion_ui_test_wait_for (instance_stopping, NULL, "the bastion instance to stop");

  g_settings_reset (settings, "stop-bastion-when-done");
  reply = aws_control_at ("POST", "reset", "{}");
}

static gboolean
host_is (gpointer host)
{
  return g_strcmp0 (bastion_profile_get_ssh_host (profile), host) == 0;
}

static void
test_connect_stopped_bastion (void)
{
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *host = g_strdup (bastion_profile_get_ssh_host (profile));
  guint ssh_port = bastion_profile_get_ssh_port (profile);
  g_autofree char *shot = NULL;

  show_demo_team ();
  disconnect ();
  reply = aws_control ("POST",
                       "{\"instances\": [{\"instance_id\": \"i-0bastion000000001\","
                       " \"name\": \"iot_dev_db_bastion_host\", \"state\": \"stopped\","
                       " \"dns\": null, \"ip\": null,"
                       " \"next_dns\": \"ec2-203-0-113-99.us-west-2.compute.amazonaws.com\","
                       " \"next_ip\": \"203.0.113.99\", \"transition_polls\": 0,"
                       " \"polls_left\": 0}]}");
  bastion_profile_set_ssh_port (profile, closed_port ());

  activate ("view.connect");
  bastion_ui_test_wait_for (widget_visible, view_child ("start_button"), "the stopped bastion");
  g_assert_cmpstr (gtk_label_get_text (view_child ("fix_title")), ==, "The bastion is stopped");
  shot = bastion_ui_test_screenshot (shot_root, "connect-stopped-bastion");

  activate ("view.start-bastion");
  bastion_ui_test_wait_for (host_is, "ec2-203-0-113-99.us-west-2.compute.amazonaws.com",
                            "the new DNS name in the profile");
  bastion_ui_test_wait_for (stage_settled, NULL, "the retry");

  disconnect ();
  bastion_profile_set_ssh_host (profile, host);
  bastion_profile_set_ssh_port (profile, ssh_port);
}

/* A desktop notification server of our own on the test's session bus, that keeps what it is
 * shown. */
static GPtrArray *notifications;

static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
  "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "<method name='GetServerInformation'><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/><arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "</method></interface></node>";

static void
on_notification_call (GDBusConnection       *bus,
                      const char            *sender,
                      const char            *path,
                      const char            *interface,
                      const char            *method,
                      GVariant              *parameters,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  if (g_str_equal (method, "Notify"))
    {
      const char *summary;
      const char *body;

      g_variant_get (parameters, "(&su&s&s&s@as@a{sv}i)", NULL, NULL, NULL, &summary, &body,
                     NULL, NULL, NULL);
      g_ptr_array_add (notifications, g_strdup (summary));
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u)", notifications->len));
    }
  else if (g_str_equal (method, "GetCapabilities"))
    {
      const char *caps[] = { "body", NULL };

      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", caps));
    }
  else if (g_str_equal (method, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "test", "bastion", "1",
                                                          "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
set_up_notifications (void)
{
  static const GDBusInterfaceVTable vtable = { on_notification_call, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus;
  guint flags;

  notifications = g_ptr_array_new_with_free_func (g_free);
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  info = g_dbus_node_info_new_for_xml (notifications_xml, &error);
  g_assert_no_error (error);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications",
                                     info->interfaces[0], &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications",
                                                      4 /* DO_NOT_QUEUE */),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &flags);
  g_assert_cmpuint (flags, ==, 1 /* PRIMARY_OWNER */);
}

static gboolean
notified (gpointer summary)
{
  for (guint i = 0; i < notifications->len; i++)
    if (g_strcmp0 (g_ptr_array_index (notifications, i), summary) == 0)
      return TRUE;

  return FALSE;
}

/* The terminal psql opens in is the launcher tests' recorder, which runs the real psql with
 * a script; set before the application looks for tools. */

static void
set_up_recorder (void)
{
  g_autofree char *bin = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "ui-bin", NULL);
  g_autofree char *terminal = g_build_filename (bin, "xdg-terminal-exec", NULL);
  g_autofree char *recorder = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "fixtures",
                                                "launcher", "recorder", NULL);
  g_autofree char *script = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "ui-psql.sql",
                                              NULL);
  g_autofree char *path = NULL;

  recorder_dir = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "ui-records", NULL);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (recorder_dir, 0700), ==, 0);
  g_assert_cmpint (symlink (recorder, terminal), ==, 0);
  g_assert_true (g_file_set_contents (script,
                                      "\\set QUIET on\n\\pset format unaligned\n"
                                      "\\pset tuples_only on\n"
                                      "show default_transaction_read_only;\n", -1, NULL));
  path = g_strdup_printf ("%s:/usr/bin:/bin", bin);
  g_setenv ("PATH", path, TRUE);
  g_setenv ("BASTION_RECORDER_DIR", recorder_dir, TRUE);
  g_setenv ("BASTION_RECORDER_EXEC", "1", TRUE);
  g_setenv ("BASTION_RECORDER_STDIN", script, TRUE);
}

int
main (int    argc,
      char **argv)
{
  set_up_recorder ();
  bastion_ui_test_init (&argc, &argv);
  set_up_notifications ();

  g_test_add_func ("/bastion/ui/connect/idle", test_connect_idle);
  g_test_add_func ("/bastion/ui/connect/reject-host-key", test_connect_reject_host_key);
  g_test_add_func ("/bastion/ui/connect/accept", test_connect_accept);
  g_test_add_func ("/bastion/ui/connect/again", test_connect_again);
  g_test_add_func ("/bastion/ui/connect/reconnect", test_connect_reconnect);
  g_test_add_func ("/bastion/ui/connect/stop-when-done", test_connect_stop_when_done);
  g_test_add_func ("/bastion/ui/connect/refused", test_connect_refused);
  g_test_add_func ("/bastion/ui/connect/timeout", test_connect_timeout);
  g_test_add_func ("/bastion/ui/connect/stopped-bastion", test_connect_stopped_bastion);

  return g_test_run ();
}
