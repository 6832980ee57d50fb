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
#include "bastion-window.h"

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

G_END_DECLS
