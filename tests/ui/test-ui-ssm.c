/* test-ui-ssm.c
 *
 * Runs under tests/harness/with-servers --xvfb --postgres --keyring --aws --ssm --team demo
 * (issue 21): the demo team's bastion port answers nothing (no sshd), so Connect fails at
 * "Connect" and the fix card offers "Use Session Manager" beside Check My IP; choosing it
 * connects the same team through the harness's Session Manager endpoint, the workspace's first
 * tab runs a query whose rows reach the grid, a real psql reads through the app's tunnel, the
 * connection details say Session Manager carries it, and "Always for This Team" makes it the
 * team's transport; with the team's transport "auto" the same failure falls back to Session
 * Manager by itself and says why. Screenshots go to <builddir>/tests/screenshots/ssm-*.png.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "bastion-connection-bar.h"
#include "bastion-connection-view.h"
#include "bastion-connections.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-result-grid.h"
#include "bastion-team-page.h"
#include "bastion-ui-test.h"
#include "test-util.h"
#include "bastion-window.h"

static BastionWindow *window;
static const char    *team;
static const char    *cli;

/* ---- Helpers ------------------------------------------------------------------------------- */

static GtkWidget *
find (GType type)
{
  return bastion_ui_test_find_widget (GTK_WIDGET (window), type, NULL, NULL);
}

static BastionConnectionView *
view (void)
{
  return BASTION_CONNECTION_VIEW (find (BASTION_TYPE_CONNECTION_VIEW));
}

static gpointer
view_child (const char *name)
{
  gpointer widget = gtk_widget_get_template_child (GTK_WIDGET (view ()),
                                                   BASTION_TYPE_CONNECTION_VIEW, name);

  g_assert_nonnull (widget);
  return widget;
}

static BastionConnection *
connection (void)
{
  return bastion_connection_view_get_connection (view ());
}

static gboolean
stage_settled (gpointer user_data)
{
  BastionConnectionStage s = bastion_connection_get_stage (connection ());

  return s == BASTION_CONNECTION_STAGE_IDLE || s == BASTION_CONNECTION_STAGE_READY ||
         s == BASTION_CONNECTION_STAGE_FAILED;
}

static gboolean
widget_visible (gpointer widget)
{
  return gtk_widget_get_visible (widget);
}

static gboolean
page_has_database (gpointer data)
{
  return bastion_query_page_get_database (data) != NULL;
}

/* The tunnel publishes its byte counts from the I/O thread on a timer, so they trail the
 * traffic by up to one tick. */
static gboolean
tunnel_counted_bytes (gpointer data)
{
  return bastion_tunnel_get_bytes_in (data) > 0;
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

/* The real psql through the app's tunnel, asynchronously (the app's main loop keeps running). */
static char *
psql_through (BastionProfile *profile,
              guint16         port,
              const char     *sql)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = bastion_ui_test_dup_pg_password ();
  g_autofree char *port_str = g_strdup_printf ("%u", port);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_setenv (launcher, "PGPASSWORD", password, TRUE);
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

/* ---- Test ---------------------------------------------------------------------------------- */

static void
test_use_session_manager (void)
{
  const char *import_args[] = { cli, "import", NULL };
  const char *secret_args[] = { cli, "secret", "set", team, "db-password", NULL };
  g_autofree char *password = bastion_ui_test_dup_pg_password ();
  g_autofree char *shot = NULL;
  g_autofree char *answer = NULL;
  BastionConnectionBar *bar;
  BastionQueryPage *page;
  BastionQueryView *queries;
  BastionProfile *profile;
  BastionTunnel *tunnel;

  bastion_ui_test_run_cli (import_args, NULL);
  bastion_ui_test_run_cli (secret_args, password);

  window = bastion_ui_test_activate ();
  bastion_window_open_team (window, team, FALSE);
  profile = bastion_team_page_get_profile (BASTION_TEAM_PAGE (find (BASTION_TYPE_TEAM_PAGE)));
  g_assert_nonnull (profile);
  g_assert_cmpint (bastion_profile_get_transport (profile), ==, BASTION_TRANSPORT_SSH);
  /* Port 22 of the bastion does not answer (and no sshd means no key file either). */
  bastion_profile_set_auth_method (profile, BASTION_AUTH_METHOD_AGENT);
  bastion_profile_set_ssh_host (profile, "127.0.0.1");
  bastion_profile_set_ssh_port (profile, closed_port ());

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.connect", NULL));
  bastion_ui_test_wait_for (stage_settled, NULL, "the SSH failure");
  g_assert_cmpint (bastion_connection_get_stage (connection ()), ==,
                   BASTION_CONNECTION_STAGE_FAILED);
  g_test_message ("failed: %s (%s)", bastion_connection_get_error (connection ())->message,
                  gtk_label_get_text (view_child ("fix_title")));
  bastion_ui_test_wait_for (widget_visible, view_child ("ssm_button"), "Use Session Manager");
  g_assert_true (gtk_widget_get_visible (view_child ("retry_button")));
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "ssm-offered");

  /* This connection only: the team keeps SSH until the user says otherwise. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.use-ssm", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window, "the workspace's query view");
  g_assert_cmpint (bastion_connection_get_stage (connection ()), ==,
                   BASTION_CONNECTION_STAGE_READY);
  tunnel = bastion_connection_get_tunnel (connection ());
  g_assert_cmpint (bastion_tunnel_get_transport (tunnel), ==, BASTION_TRANSPORT_SSM);
  g_assert_null (bastion_connection_get_session (connection ()));
  g_assert_cmpint (bastion_profile_get_transport (profile), ==, BASTION_TRANSPORT_SSH);

  queries = BASTION_QUERY_VIEW (find (BASTION_TYPE_QUERY_VIEW));
  page = bastion_query_view_get_current_page (queries);
  bastion_ui_test_wait_for (page_has_database, page, "the first tab's session");
  bastion_query_page_run_sql (page, "SELECT d.name, m.name AS model FROM device d\n"
                                    "  JOIN model m ON m.id = d.model ORDER BY d.name;\n");
  bastion_ui_test_wait_for (bastion_ui_test_page_has_rows, page, "the rows through Session Manager");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (bastion_result_grid_get_model (
                      bastion_query_page_get_grid (page)))), ==, 5);

  answer = psql_through (profile, bastion_tunnel_get_local_port (tunnel),
                         "select name from project");
  g_assert_cmpstr (answer, ==, "Sunshine");

  /* The details and the summary name the transport. */
  bar = BASTION_CONNECTION_BAR (find (BASTION_TYPE_CONNECTION_BAR));
  g_assert_nonnull (strstr (bastion_connection_bar_get_summary (bar),
                            "Through AWS Session Manager (session "));
  bastion_ui_test_wait_for (tunnel_counted_bytes, tunnel, "the tunnel's byte count");
  g_clear_pointer (&shot, g_free);
  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "ssm-connected");

  /* The toast's "Always for This Team". */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.make-ssm-default", NULL));
  g_assert_cmpint (bastion_profile_get_transport (profile), ==, BASTION_TRANSPORT_SSM);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.disconnect", NULL));
  g_assert_cmpint (bastion_connection_get_stage (connection ()), ==,
                   BASTION_CONNECTION_STAGE_IDLE);

  /* auto: SSH first, and with port 22 refused, Session Manager on its own, saying why. */
  bastion_profile_set_transport (profile, BASTION_TRANSPORT_AUTO);
  bastion_connection_set_transport (connection (), -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.connect", NULL));
  bastion_ui_test_wait_for (stage_settled, NULL, "auto's connection");
  g_assert_cmpint (bastion_connection_get_stage (connection ()), ==,
                   BASTION_CONNECTION_STAGE_READY);
  g_assert_cmpint (bastion_tunnel_get_transport (bastion_connection_get_tunnel (connection ())),
                   ==, BASTION_TRANSPORT_SSM);
  g_assert_cmpstr (bastion_connection_get_transport_note (connection ()), ==,
                   "Connected through AWS Session Manager; port 22 is closed to you");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view ()), "view.disconnect", NULL));
}

int
main (int    argc,
      char **argv)
{
  bastion_ui_test_init (&argc, &argv);
  team = g_getenv ("BASTION_TEST_TEAM");
  cli = g_getenv ("BASTION_CLI");
  g_assert_nonnull (team);
  g_assert_nonnull (cli);

  g_test_add_func ("/bastion/ui/ssm/use-session-manager", test_use_session_manager);

  return g_test_run ();
}
