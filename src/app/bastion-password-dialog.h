/* bastion-password-dialog.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define BASTION_TYPE_PASSWORD_DIALOG (bastion_password_dialog_get_type())

G_DECLARE_FINAL_TYPE (BastionPasswordDialog, bastion_password_dialog, BASTION, PASSWORD_DIALOG,
                      AdwMessageDialog)

/* Asks for a passphrase or password, and whether to keep it in the keyring: Connect is
 * enabled once something is typed. The dialog owns its task and resolves it on the response;
 * closed any other way (Cancel, Escape, destroyed, @cancellable) it ends with
 * G_IO_ERROR_CANCELLED. The typed text leaves the entry on the response. */
BastionPasswordDialog *bastion_password_dialog_new        (GtkWindow              *parent,
                                                           const char             *heading,
                                                           const char             *body,
                                                           const char             *entry_title,
                                                           gboolean                keyring);
void                   bastion_password_dialog_run_async  (BastionPasswordDialog  *self,
                                                           GCancellable           *cancellable,
                                                           GAsyncReadyCallback     callback,
                                                           gpointer                user_data);
/* The secret typed, to wipe with bastion_secure_str_free(); *@remember: keep it in the
 * keyring. */
char                  *bastion_password_dialog_run_finish (BastionPasswordDialog  *self,
                                                           GAsyncResult           *result,
                                                           gboolean               *remember,
                                                           GError                **error);

G_END_DECLS
