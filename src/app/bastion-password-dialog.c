/* bastion-password-dialog.c
 *
 * The connection's question for a passphrase or password: one entry and "Remember in the
 * Keyring". The answer comes back through the dialog's own task, so no caller keeps its
 * widgets to read them again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-password-dialog.h"
#include "bastion-secure.h"

struct _BastionPasswordDialog
{
  AdwMessageDialog  parent_instance;

  /* Owned */
  GTask            *task;               /* run_async() until the answer */

  /* Template widgets */
  GtkEditable      *entry;
  AdwActionRow     *remember_row;
  GtkSwitch        *remember_switch;

  guint             remember : 1;       /* the switch at the response */
};

G_DEFINE_FINAL_TYPE (BastionPasswordDialog, bastion_password_dialog, ADW_TYPE_MESSAGE_DIALOG)

/* Resolves the task once, with the secret or (NULL) as cancelled. */
static void
return_answer (BastionPasswordDialog *self,
               char                  *secret)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  if (task == NULL)
    {
      bastion_secure_str_free (secret);
      return;
    }
  if (secret == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The password dialog was closed"));
  else
    g_task_return_pointer (task, secret, (GDestroyNotify) bastion_secure_str_free);
}

static void
on_entry_changed (GtkEditable           *entry,
                  BastionPasswordDialog *self)
{
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "connect",
                                           gtk_editable_get_text (entry)[0] != '\0');
}

static void
on_entry_activated (GtkEditable           *entry,
                    BastionPasswordDialog *self)
{
  if (gtk_editable_get_text (entry)[0] != '\0')
    adw_message_dialog_response (ADW_MESSAGE_DIALOG (self), "connect");
}

static void
bastion_password_dialog_response (AdwMessageDialog *dialog,
                                  const char       *response)
{
  BastionPasswordDialog *self = BASTION_PASSWORD_DIALOG (dialog);
  const char *text = gtk_editable_get_text (self->entry);
  char *secret = NULL;

  self->remember = gtk_switch_get_active (self->remember_switch);
  if (g_str_equal (response, "connect") && text[0] != '\0')
    secret = g_strdup (text);
  /* The typed text does not linger in the widget. */
  gtk_editable_set_text (self->entry, "");
  return_answer (self, secret);
}

/* Destroyed or closed without a response: the caller still hears back. */
static void
bastion_password_dialog_hide (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (bastion_password_dialog_parent_class)->hide (widget);
  return_answer (BASTION_PASSWORD_DIALOG (widget), NULL);
}

static void
bastion_password_dialog_dispose (GObject *object)
{
  BastionPasswordDialog *self = BASTION_PASSWORD_DIALOG (object);

  return_answer (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_PASSWORD_DIALOG);

  G_OBJECT_CLASS (bastion_password_dialog_parent_class)->dispose (object);
}

static void
bastion_password_dialog_class_init (BastionPasswordDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  AdwMessageDialogClass *dialog_class = ADW_MESSAGE_DIALOG_CLASS (klass);

  object_class->dispose = bastion_password_dialog_dispose;
  widget_class->hide = bastion_password_dialog_hide;
  dialog_class->response = bastion_password_dialog_response;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/bastiongtk/Bastion/"
                                               "bastion-password-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionPasswordDialog, entry);
  gtk_widget_class_bind_template_child (widget_class, BastionPasswordDialog, remember_row);
  gtk_widget_class_bind_template_child (widget_class, BastionPasswordDialog, remember_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activated);
}

static void
bastion_password_dialog_init (BastionPasswordDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* Without a keyring the switch stays off and says why: the secret is kept until disconnect. */
static void
set_keyring (BastionPasswordDialog *self,
             gboolean               keyring)
{
  gtk_switch_set_active (self->remember_switch, keyring);
  if (keyring)
    return;
  adw_action_row_set_subtitle (self->remember_row,
                               _("No keyring is available: kept until you disconnect"));
  gtk_widget_set_sensitive (GTK_WIDGET (self->remember_row), FALSE);
}

BastionPasswordDialog *
bastion_password_dialog_new (GtkWindow  *parent,
                             const char *heading,
                             const char *body,
                             const char *entry_title,
                             gboolean    keyring)
{
  BastionPasswordDialog *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (BASTION_TYPE_PASSWORD_DIALOG,
                       "transient-for", parent,
                       "heading", heading,
                       "body", body,
                       NULL);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->entry), entry_title);
  set_keyring (self, keyring);

  return self;
}

void
bastion_password_dialog_run_async (BastionPasswordDialog *self,
                                   GCancellable          *cancellable,
                                   GAsyncReadyCallback    callback,
                                   gpointer               user_data)
{
  g_return_if_fail (BASTION_IS_PASSWORD_DIALOG (self));
  g_return_if_fail (self->task == NULL);

  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, bastion_password_dialog_run_async);
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (gtk_window_destroy), self,
                             G_CONNECT_SWAPPED);

  gtk_window_present (GTK_WINDOW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
}

char *
bastion_password_dialog_run_finish (BastionPasswordDialog  *self,
                                    GAsyncResult           *result,
                                    gboolean               *remember,
                                    GError                **error)
{
  char *secret;

  g_return_val_if_fail (BASTION_IS_PASSWORD_DIALOG (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  secret = g_task_propagate_pointer (G_TASK (result), error);
  if (remember != NULL)
    *remember = secret != NULL && self->remember;

  return secret;
}
