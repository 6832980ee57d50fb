/* bastion-ui-test.h
 *
 * Helpers for the ui suite: the application runs in the test's own process under the Xvfb that
 * tests/harness/with-servers --xvfb starts, and is driven through its actions.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-application.h"
#include "bastion-database.h"
#include "bastion-query-page.h"
#include "bastion-window.h"
#include "test-util.h"

G_BEGIN_DECLS

typedef gboolean (*BastionUiTestCondition) (gpointer user_data);

void                bastion_ui_test_init            (int                    *argc,
                                                     char                 ***argv);
/* The one application of this test program, registered and started (not run). */
BastionApplication *bastion_ui_test_get_app         (void);
/* Activates the application as a launch would, and returns its window once it is on screen. */
BastionWindow      *bastion_ui_test_activate        (void);
/* Destroys every window of the application and waits until they are gone. */
void                bastion_ui_test_close_windows   (void);

/* Iterates the main loop until condition returns TRUE; fails the test after a generous limit
 * (a hang is a failure, not a slow pass). */
void                bastion_ui_test_wait_for        (BastionUiTestCondition  condition,
                                                     gpointer                user_data,
                                                     const char             *what);
/* Waits until widget is mapped and its toplevel has painted a frame since the call. */
void                bastion_ui_test_wait_drawn      (GtkWidget              *widget);
/* Lets pending idles, timeouts due now and one frame run. */
void                bastion_ui_test_settle          (GtkWidget              *widget);

/* The first toplevel window of the given type, or NULL. */
GtkWindow          *bastion_ui_test_find_toplevel   (GType                   type);
/* The first descendant of root (root included) of the given type for which match (may be
 * NULL) returns TRUE. */
GtkWidget          *bastion_ui_test_find_widget     (GtkWidget              *root,
                                                     GType                   type,
                                                     gboolean              (*match) (GtkWidget *widget,
                                                                                     gpointer   data),
                                                     gpointer                data);
/* A preferences or action row whose title is title, below root. */
GtkWidget          *bastion_ui_test_find_row        (GtkWidget              *root,
                                                     const char             *title);
/* A descendant GtkLabel showing exactly text, or NULL. */
GtkWidget          *bastion_ui_test_find_label      (GtkWidget              *root,
                                                     const char             *text);

/* Renders widget as it is on screen into <builddir>/tests/screenshots/NAME.png, checks that the
 * picture is not blank, and returns its path. */
char               *bastion_ui_test_screenshot      (GtkWidget              *widget,
                                                     const char             *name);

/* Conditions for bastion_ui_test_wait_for(). An async result stored by test_store_result()
 * (test-util.h) is there. */
gboolean            bastion_ui_test_have_result     (gpointer                slot);
/* An AdwMessageDialog is on screen. */
gboolean            bastion_ui_test_message_dialog_shown (gpointer           unused);
/* A GtkButton whose label is @label (a bastion_ui_test_find_widget() match). */
gboolean            bastion_ui_test_button_has_label (GtkWidget             *widget,
                                                      gpointer               label);
/* A BastionQueryView is below @root (a GtkWidget), or not. */
gboolean            bastion_ui_test_has_query_view  (gpointer                root);
gboolean            bastion_ui_test_no_query_view   (gpointer                root);

/* The window's template child @name (asserted to exist). */
gpointer            bastion_ui_test_window_child    (BastionWindow          *window,
                                                     const char             *name);
/* The sidebar row of the team whose display name is @name, or NULL. */
GtkListBoxRow      *bastion_ui_test_find_team_row   (BastionWindow          *window,
                                                     const char             *name);
/* Runs @args (bastion-cli and its arguments) with @input on stdin; fails the test if it fails. */
void                bastion_ui_test_run_cli         (const char * const     *args,
                                                     const char             *input);

/* Databases and query pages (bastion-ui-test-query.c) */

/* The harness PostgreSQL's password (tests/harness/with-servers --postgres). */
char               *bastion_ui_test_dup_pg_password (void);
/* A connected database as the harness's user on its port; bastion_ui_test_connect_database_full
 * takes another @user (NULL: the harness's), @port (0: the harness's) and allows writes. */
BastionDatabase    *bastion_ui_test_connect_database (void);
BastionDatabase    *bastion_ui_test_connect_database_full (const char       *user,
                                                           guint             port,
                                                           gboolean          writes);
/* A 1280×760 application window with a header bar (title widget and start widget may be NULL)
 * above @content, presented and drawn. */
GtkWidget          *bastion_ui_test_present_with_header (GtkWidget        *content,
                                                         GtkWidget        *title,
                                                         GtkWidget        *start);
/* Replaces the editor's text with @sql, puts the cursor at @cursor (characters, -1: the end)
 * and runs what query.run picks; _all runs all of it (query.run-all). */
void                bastion_ui_test_type_and_run    (BastionQueryPage       *page,
                                                     const char             *sql,
                                                     int                     cursor);
void                bastion_ui_test_type_and_run_all (BastionQueryPage      *page,
                                                      const char            *sql);
/* Conditions on a BastionQueryPage: its query paused at the row cap, or finished with the
 * connection free (page_idle); finished with the connection free (page_finished); running
 * on the server for half a second (query_running); showing a plan; a result with rows. */
gboolean            bastion_ui_test_page_idle       (gpointer                page);
gboolean            bastion_ui_test_page_finished   (gpointer                page);
gboolean            bastion_ui_test_query_running   (gpointer                page);
gboolean            bastion_ui_test_page_shows_plan (gpointer                page);
gboolean            bastion_ui_test_page_has_rows   (gpointer                page);
/* Waits for bastion_ui_test_page_idle(), then lets the page draw. */
void                bastion_ui_test_wait_page_idle  (BastionQueryPage       *page);
/* bastion_history_search_async()'s callback: stores the GPtrArray in *(GPtrArray **) slot. */
void                bastion_ui_test_store_history   (GObject                *history,
                                                     GAsyncResult           *result,
                                                     gpointer                slot);
/* A BastionHistoryView done loading. */
gboolean            bastion_ui_test_history_view_idle (gpointer              view);

G_END_DECLS
