/* bastion-app-util.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-connection.h"

G_BEGIN_DECLS

/* path as a person reads it: under the home folder as "~/…". NULL stays NULL. */
char     *bastion_app_dup_display_path        (const char        *path);
/* The connection stopped at a question for the user (trust a new host key, type a password or
 * passphrase): a question, not a failure. */
gboolean  bastion_app_connection_awaits_user (BastionConnection *connection);

/* A save dialog's answer: the file chosen for @owner, in the format asked for. */
typedef void (*BastionSaveChosenFunc) (GtkWidget *owner,
                                       GFile     *file,
                                       int        format);

/* Shows @chooser (taken) and, on Accept, calls @func with the file, unless @owner is gone by
 * then: what the export is for travels with the dialog, not on it. */
void      bastion_app_run_save_chooser       (GtkFileChooserNative  *chooser,
                                              GtkWidget             *owner,
                                              int                    format,
                                              BastionSaveChosenFunc  func);

G_END_DECLS
