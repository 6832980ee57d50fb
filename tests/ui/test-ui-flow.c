/* test-ui-flow.c: the newcomer's path through the whole window, against the real sshd and
 * PostgreSQL: the demo team opens by itself, Connect (as `bastion --connect demo` does), the
 * query view appears under the connected team, the Devices view lists the demo's five devices,
 * Disconnect closes the port. Screenshots of the connected window go to the build dir.
 *
 * The host key is trusted and the DB password stored with bastion-cli first, as an admin who
 * has connected once before would have them (the prompts have their own test, test-ui-connect).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "bastion-connections.h"
#include "bastion-query-page.h"
#include "bastion-query-view.h"
#include "bastion-result-grid.h"
#include "bastion-team-page.h"
#include "bastion-ui-test.h"
#include "bastion-window.h"

static gboolean
port_closed (gpointer data)
{
  guint16 port = GPOINTER_TO_UINT (data);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);

  return connection == NULL;
}

static gboolean
is_connected_state (GtkWidget *widget,
                    gpointer   data)
{
  return gtk_widget_get_visible (widget) &&
         g_strcmp0 (gtk_widget_get_tooltip_text (widget), "Connected") == 0;
}

static gboolean
has_close_dialog (gpointer data)
{
  return bastion_ui_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG) != NULL;
}

static gboolean
no_window (gpointer data)
{
  return bastion_ui_test_find_toplevel (BASTION_TYPE_WINDOW) == NULL;
}

static void
test_flow_connect_query_disconnect (void)
{
  const char *cli = g_getenv ("BASTION_CLI");
  const char *team = g_getenv ("BASTION_TEST_TEAM");
  const char *import_args[] = { cli, "import", NULL };
  const char *trust_args[] = { cli, "hostkey", team, "--trust", NULL };
  const char *secret_args[] = { cli, "secret", "set", team, "db-password", NULL };
  g_autofree char *password = NULL;
  g_autofree char *shot = NULL;
  BastionWindow *window;
  BastionQueryView *view;
  BastionConnection *connection;
  BastionProfile *profile;
  BastionQueryPage *page;
  guint16 port;
  GListModel *rows;
  guint n_rows;

  g_assert_nonnull (cli);
  g_assert_true (g_file_get_contents (g_getenv ("BASTION_TEST_PG_PASSWORD_FILE"), &password, NULL,
                                      NULL));
  bastion_ui_test_run_cli (import_args, NULL);
  bastion_ui_test_run_cli (trust_args, NULL);
  bastion_ui_test_run_cli (secret_args, password);

  window = bastion_ui_test_activate ();
  bastion_window_open_team (window, team, TRUE);

  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window,
                            "the query view under the connected team");
  view = BASTION_QUERY_VIEW (bastion_ui_test_find_widget (GTK_WIDGET (window),
                                                          BASTION_TYPE_QUERY_VIEW, NULL, NULL));

  profile = bastion_team_page_get_profile (
    BASTION_TEAM_PAGE (bastion_ui_test_find_widget (GTK_WIDGET (window), BASTION_TYPE_TEAM_PAGE,
                                                    NULL, NULL)));
  g_assert_cmpstr (bastion_profile_get_display_name (profile), ==, team);
  connection = bastion_connections_peek (bastion_connections_get_default (), profile);
  g_assert_nonnull (connection);
  g_assert_cmpint (bastion_connection_get_stage (connection), ==, BASTION_CONNECTION_STAGE_READY);
  port = bastion_connection_get_local_port (connection);
  g_assert_cmpuint (port, >, 0);

  /* The sidebar says so too, in words (tooltip, accessible name), not only by colour. */
  g_assert_nonnull (bastion_ui_test_find_widget (GTK_WIDGET (window), GTK_TYPE_IMAGE,
                                                 is_connected_state, NULL));

  /* The SimpleIOT one-click view of the devices, with their model and project by name. */
  page = bastion_query_view_open_entity (view, "devices");
  g_assert_nonnull (page);
  bastion_ui_test_wait_for (bastion_ui_test_page_has_rows, page, "the devices in the grid");
  rows = G_LIST_MODEL (bastion_result_grid_get_model (bastion_query_page_get_grid (page)));
  n_rows = g_list_model_get_n_items (rows);
  g_assert_cmpuint (n_rows, ==, 5);

  bastion_ui_test_wait_drawn (GTK_WIDGET (window));
  shot = bastion_ui_test_screenshot (GTK_WIDGET (window), "flow-connected-devices");
  g_test_message ("screenshot: %s", shot);

  /* Disconnect (its shortcut's action): the view goes, and so does the port. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_no_query_view, window,
                            "the query view gone after Disconnect");
  bastion_ui_test_wait_for (port_closed, GUINT_TO_POINTER (port), "the local port closed");

  /* Connect again from the keyboard's action: no prompt, the view comes back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.connect", NULL));
  bastion_ui_test_wait_for (bastion_ui_test_has_query_view, window,
                            "the query view after win.connect");
  port = bastion_connection_get_local_port (connection);

  /* Closing the window with a tunnel open asks; "Keep in Background" keeps the tunnel serving
   * after the window is gone. */
  gtk_window_close (GTK_WINDOW (window));
  bastion_ui_test_wait_for (has_close_dialog, NULL, "the keep-tunnels question");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (bastion_ui_test_find_toplevel (
                                 ADW_TYPE_MESSAGE_DIALOG)), "keep");
  bastion_ui_test_wait_for (no_window, NULL, "the window closed");
  g_assert_cmpint (bastion_connection_get_stage (connection), ==, BASTION_CONNECTION_STAGE_READY);
  g_assert_false (port_closed (GUINT_TO_POINTER (port)));

  bastion_connections_disconnect_all (bastion_connections_get_default ());
  bastion_ui_test_wait_for (port_closed, GUINT_TO_POINTER (port), "the port closed at the end");
}

int
main (int    argc,
      char **argv)
{
  bastion_ui_test_init (&argc, &argv);

  g_test_add_func ("/bastion/ui/flow/connect-query-disconnect", test_flow_connect_query_disconnect);

  return g_test_run ();
}
