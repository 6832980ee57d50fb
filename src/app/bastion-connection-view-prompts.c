/* bastion-connection-view-prompts.c
 *
 * The connection view's questions: trust a new host key (its fingerprint shown, the trust
 * written in a thread), type a passphrase or password (kept in the keyring if asked).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-connection-view-private.h"
#include "bastion-connections.h"
#include "bastion-password-dialog.h"
#include "bastion-secure.h"

/* ---- Prompts ------------------------------------------------------------------------------- */

void
bastion_connection_view_set_trusting (BastionConnectionView *self,
                                      gboolean               trusting)
{
  self->trusting = trusting;
  bastion_connection_view_update_state (self);
}

static void
on_host_key_trusted (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_connection_trust_host_key_finish (BASTION_CONNECTION (source), result, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  bastion_connection_view_set_trusting (self, FALSE);
  if (error != NULL)
    {
      bastion_connection_view_show_toast (self, error->message);
      return;
    }

  bastion_connection_view_start_connect (self);
}

static void
on_host_key_response (AdwMessageDialog      *dialog,
                      const char            *response,
                      BastionConnectionView *self)
{
  if (!g_str_equal (response, "trust") || self->connection == NULL)
    return;

  if (bastion_connection_get_host_key_fingerprint (self->connection) == NULL)
    {
      bastion_connection_view_show_toast (self, _("The host key is no longer known"));
      return;
    }

  /* Records exactly the key the user was shown, not whatever the next connection meets; the
   * file is written in a thread. */
  g_cancellable_cancel (self->trust_cancellable);
  g_clear_object (&self->trust_cancellable);
  self->trust_cancellable = g_cancellable_new ();
  bastion_connection_view_set_trusting (self, TRUE);
  bastion_connection_trust_host_key_async (self->connection, self->trust_cancellable,
                                           on_host_key_trusted, g_object_ref (self));
}

static void
on_dialog_destroyed (BastionConnectionView *self,
                     GtkWidget             *dialog)
{
  if (self->dialog == ADW_MESSAGE_DIALOG (dialog))
    self->dialog = NULL;
}

void
bastion_connection_view_present_dialog (BastionConnectionView *self,
                                        AdwMessageDialog      *dialog)
{
  if (self->dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->dialog));
  self->dialog = dialog;
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (on_dialog_destroyed), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
prompt_host_key (BastionConnectionView *self)
{
  const char *fingerprint = bastion_connection_get_host_key_fingerprint (self->connection);
  guint16 jump_port = 0;
  /* ProxyJump: the key may be a jump host's (the connection trusts that one then). */
  const char *jump_host = bastion_connection_get_host_key_jump_host (self->connection,
                                                                     &jump_port);
  AdwMessageDialog *dialog;
  GtkWidget *box;
  GtkWidget *label;
  g_autofree char *body = NULL;

  if (fingerprint == NULL)
    return;

  body = g_strdup_printf (_("This is the first connection to %s:%u. Make sure that its SHA256 "
                            "fingerprint is the one your administrator gives you (on the "
                            "bastion: “ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub”)."),
                          jump_host ? jump_host : bastion_profile_get_ssh_host (self->profile),
                          jump_host ? jump_port : bastion_profile_get_ssh_port (self->profile));
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (bastion_connection_view_parent_window (self),
                                                       jump_host ? _("Trust This Jump Host?")
                                                                 : _("Trust This Bastion?"),
                                                       body));

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  label = gtk_label_new (fingerprint);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (label, "monospace");
  gtk_widget_add_css_class (label, "host-key-fingerprint");
  gtk_widget_set_name (label, "fingerprint");
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Host key fingerprint"), -1);
  gtk_box_append (GTK_BOX (box), label);
  adw_message_dialog_set_extra_child (dialog, box);

  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "trust", _("_Trust and Connect"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "trust", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_host_key_response), self, 0);

  self->last_prompt = PROMPT_HOST_KEY;
  bastion_connection_view_present_dialog (self, dialog);
}

/* One password question: for which view (gone if closed meanwhile), and which secret. */
typedef struct
{
  BastionConnectionView *self;
  Prompt                 prompt;
} PasswordCall;

static void
password_call_free (PasswordCall *call)
{
  g_clear_weak_pointer (&call->self);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PasswordCall, password_call_free)

static void
on_password_answered (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(PasswordCall) call = user_data;
  BastionConnectionView *self = call->self;
  gboolean keep = FALSE;
  g_autoptr(BastionSecureStr) secret =
    bastion_password_dialog_run_finish (BASTION_PASSWORD_DIALOG (source), result, &keep, NULL);

  if (secret == NULL || self == NULL || self->connection == NULL)
    return;

  switch (call->prompt)
    {
    case PROMPT_PASSPHRASE:
      bastion_connection_set_passphrase (self->connection, secret, keep);
      break;
    case PROMPT_SSH_PASSWORD:
      bastion_connection_set_ssh_password (self->connection, secret, keep);
      break;
    case PROMPT_DB_PASSWORD:
      bastion_connection_set_db_password (self->connection, secret, keep);
      break;
    case PROMPT_NONE:
    case PROMPT_HOST_KEY:
    default:
      g_assert_not_reached ();
    }
  bastion_connection_view_start_connect (self);
}

/* What the dialog for @prompt says: its heading, the entry's title and the body. */
static char *
prompt_dup_body (BastionConnectionView  *self,
                 Prompt                  prompt,
                 const char            **heading,
                 const char            **entry_title)
{
  const GError *error = bastion_connection_get_error (self->connection);
  const char *name = bastion_profile_get_display_name (self->profile);

  switch (prompt)
    {
    case PROMPT_PASSPHRASE:
      *heading = _("Key Passphrase");
      *entry_title = _("Passphrase");
      return g_strdup_printf (_("The SSH key of “%s” is protected by a passphrase."), name);
    case PROMPT_SSH_PASSWORD:
      *heading = _("SSH Password");
      *entry_title = _("Password");
      return g_strdup_printf (_("Log in to the bastion of “%s” as “%s”."), name,
                              bastion_profile_get_ssh_user (self->profile));
    case PROMPT_DB_PASSWORD:
    default:
      *heading = _("Database Password");
      *entry_title = _("Password");
      if (error != NULL && g_error_matches (error, BASTION_CONNECTION_ERROR,
                                            BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG))
        return g_strdup_printf (_("The database refused the password for “%s”. Type the "
                                  "current one."), bastion_profile_get_db_user (self->profile));
      return g_strdup_printf (_("The tunnel is open. Log in to the database “%s” as “%s”."),
                              bastion_profile_get_db_name (self->profile),
                              bastion_profile_get_db_user (self->profile));
    }
}

static void
prompt_password (BastionConnectionView *self,
                 Prompt                 prompt)
{
  BastionSecrets *secrets = bastion_connections_get_secrets (bastion_connections_get_default ());
  const char *heading = NULL;
  const char *entry_title = NULL;
  g_autofree char *body = prompt_dup_body (self, prompt, &heading, &entry_title);
  BastionPasswordDialog *dialog;
  PasswordCall *call;

  dialog = bastion_password_dialog_new (bastion_connection_view_parent_window (self), heading,
                                        body, entry_title,
                                        bastion_secrets_get_keyring_available (secrets));
  call = g_new0 (PasswordCall, 1);
  g_set_weak_pointer (&call->self, self);
  call->prompt = prompt;

  self->last_prompt = prompt;
  bastion_connection_view_present_dialog (self, ADW_MESSAGE_DIALOG (dialog));
  bastion_password_dialog_run_async (dialog, NULL, on_password_answered, call);
}

Prompt
bastion_connection_view_prompt_for_error (BastionConnectionView *self,
                                          const GError          *error)
{
  if (error == NULL)
    return PROMPT_NONE;
  /* A refused SSH password: ask again rather than only say so. */
  if (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED) &&
      self->profile != NULL &&
      bastion_profile_get_auth_method (self->profile) == BASTION_AUTH_METHOD_PASSWORD)
    return PROMPT_SSH_PASSWORD;
  if (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN))
    return PROMPT_HOST_KEY;
  if (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED) ||
      g_error_matches (error, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED))
    return PROMPT_PASSPHRASE;
  if (g_error_matches (error, BASTION_CONNECTION_ERROR,
                       BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED))
    return PROMPT_SSH_PASSWORD;
  if (g_error_matches (error, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED)
      || g_error_matches (error, BASTION_CONNECTION_ERROR,
                          BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG))
    return PROMPT_DB_PASSWORD;

  return PROMPT_NONE;
}

void
bastion_connection_view_show_prompt (BastionConnectionView *self,
                                     Prompt                 prompt)
{
  if (prompt == PROMPT_HOST_KEY)
    prompt_host_key (self);
  else if (prompt != PROMPT_NONE)
    prompt_password (self, prompt);
}
