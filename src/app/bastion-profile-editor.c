/* bastion-profile-editor.c
 *
 * Every field of a profile, as GNOME preferences rows that apply as you type.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-app-util.h"
#include "bastion-profile-editor.h"
#include "bastion-secrets.h"

typedef struct
{
  BastionProfileEditor *self;
  BastionSecretKind     kind;
  AdwActionRow         *row;
  GtkWidget            *set_button;
  GtkWidget            *forget_button;
} SecretRow;

#define N_SECRET_ROWS 3

struct _BastionProfileEditor
{
  AdwPreferencesWindow  parent_instance;

  /* Owned */
  BastionProfile       *profile;
  GtkFileChooserNative *chooser;
  GCancellable         *cancellable;
  SecretRow             secret_rows[N_SECRET_ROWS];

  /* Template widgets */
  AdwPreferencesGroup  *general_group;
  AdwEntryRow          *name_row;
  AdwEntryRow          *env_label_row;
  AdwComboRow          *env_color_row;
  AdwEntryRow          *ssh_host_row;
  GtkSpinButton        *ssh_port_spin;
  AdwEntryRow          *ssh_user_row;
  AdwComboRow          *auth_row;
  AdwComboRow          *transport_row;
  AdwActionRow         *key_file_row;
  AdwEntryRow          *ssh_alias_row;
  AdwEntryRow          *proxy_jump_row;
  AdwPreferencesGroup  *secrets_group;
  AdwEntryRow          *db_host_row;
  GtkSpinButton        *db_port_spin;
  AdwEntryRow          *db_name_row;
  AdwEntryRow          *db_user_row;
  GtkSpinButton        *local_port_spin;
  GtkSwitch            *read_only_switch;
  AdwEntryRow          *aws_profile_row;
  AdwEntryRow          *aws_region_row;
  AdwEntryRow          *aws_secret_row;
};

enum {
  PROP_0,
  PROP_PROFILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionProfileEditor, bastion_profile_editor, ADW_TYPE_PREFERENCES_WINDOW)

/* The environment colours, from the GNOME palette, in the order of the combo row's items. */
static const char *env_colors[] = {
  NULL,        /* None */
  "#e01b24",   /* Red */
  "#ff7800",   /* Orange */
  "#f6d32d",   /* Yellow */
  "#33d17a",   /* Green */
  "#3584e4",   /* Blue */
  "#9141ac",   /* Purple */
  "#77767b",   /* Grey */
};

static void secret_row_update_visible (BastionProfileEditor *self);

static const BastionAuthMethod auth_methods[] = {
  BASTION_AUTH_METHOD_KEY,
  BASTION_AUTH_METHOD_AGENT,
  BASTION_AUTH_METHOD_PASSWORD,
};

static gboolean
string_to_text (GBinding     *binding,
                const GValue *from,
                GValue       *to,
                gpointer      user_data)
{
  const char *str = g_value_get_string (from);

  g_value_set_string (to, str != NULL ? str : "");
  return TRUE;
}

static gboolean
text_to_string (GBinding     *binding,
                const GValue *from,
                GValue       *to,
                gpointer      user_data)
{
  const char *str = g_value_get_string (from);

  /* An emptied field is unset, as if it had never been filled in. */
  g_value_set_string (to, str != NULL && *str != '\0' ? str : NULL);
  return TRUE;
}

static void
bind_text (BastionProfileEditor *self,
           const char           *property,
           gpointer              row)
{
  g_object_bind_property_full (self->profile, property, row, "text",
                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                               string_to_text, text_to_string, NULL, NULL);
}

static void
update_key_file_row (BastionProfileEditor *self)
{
  BastionProfile *profile = self->profile;
  g_autofree char *key_file = bastion_app_dup_display_path (bastion_profile_get_key_file (profile));
  gboolean key_auth = bastion_profile_get_auth_method (profile) == BASTION_AUTH_METHOD_KEY;

  adw_action_row_set_subtitle (self->key_file_row,
                               key_file != NULL ? key_file : _("No key file chosen"));
  gtk_widget_set_visible (GTK_WIDGET (self->key_file_row), key_auth);
}

static void
update_combos (BastionProfileEditor *self)
{
  const char *color = bastion_profile_get_env_color (self->profile);
  guint color_index = 0;

  for (guint i = 1; i < G_N_ELEMENTS (env_colors); i++)
    if (color != NULL && g_ascii_strcasecmp (color, env_colors[i]) == 0)
      color_index = i;

  /* A colour set in profiles.json that is not in the palette stays as it is until the user
   * picks another one. */
  if (color == NULL || color_index != 0)
    adw_combo_row_set_selected (self->env_color_row, color_index);

  for (guint i = 0; i < G_N_ELEMENTS (auth_methods); i++)
    if (auth_methods[i] == bastion_profile_get_auth_method (self->profile))
      adw_combo_row_set_selected (self->auth_row, i);

  /* The rows are in BastionTransport's order. */
  adw_combo_row_set_selected (self->transport_row, bastion_profile_get_transport (self->profile));
}

static void
on_profile_notify (BastionProfileEditor *self,
                   GParamSpec           *pspec)
{
  if (g_str_equal (pspec->name, "key-file") || g_str_equal (pspec->name, "auth-method"))
    update_key_file_row (self);
  if (g_str_equal (pspec->name, "auth-method"))
    secret_row_update_visible (self);
  if (g_str_equal (pspec->name, "env-color") || g_str_equal (pspec->name, "auth-method") ||
      g_str_equal (pspec->name, "transport"))
    update_combos (self);
  if (g_str_equal (pspec->name, "display-name"))
    gtk_window_set_title (GTK_WINDOW (self), bastion_profile_get_display_name (self->profile));
}

static void
on_env_color_selected (BastionProfileEditor *self)
{
  guint selected = adw_combo_row_get_selected (self->env_color_row);
  const char *color = bastion_profile_get_env_color (self->profile);

  if (selected >= G_N_ELEMENTS (env_colors))
    return;
  /* "None" while a custom colour is set means the colour is simply not in our palette. */
  if (selected == 0 && color != NULL)
    {
      gboolean in_palette = FALSE;

      for (guint i = 1; i < G_N_ELEMENTS (env_colors); i++)
        in_palette |= g_ascii_strcasecmp (color, env_colors[i]) == 0;
      if (!in_palette)
        return;
    }

  bastion_profile_set_env_color (self->profile, env_colors[selected]);
}

static void
on_auth_selected (BastionProfileEditor *self)
{
  guint selected = adw_combo_row_get_selected (self->auth_row);

  if (selected < G_N_ELEMENTS (auth_methods))
    bastion_profile_set_auth_method (self->profile, auth_methods[selected]);
}

static void
on_transport_selected (BastionProfileEditor *self)
{
  guint selected = adw_combo_row_get_selected (self->transport_row);

  if (selected <= BASTION_TRANSPORT_AUTO)
    bastion_profile_set_transport (self->profile, selected);
}

static void
on_chooser_response (BastionProfileEditor *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        bastion_profile_set_key_file (self->profile, path);
    }

  g_clear_object (&self->chooser);
}

static void
on_key_file_button_clicked (BastionProfileEditor *self)
{
  const char *key_file = bastion_profile_get_key_file (self->profile);
  const char *team_dir = bastion_profile_get_team_dir (self->profile);
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GtkFileFilter) keys = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Choose the Private Key"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Choose"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);

  gtk_file_filter_set_name (keys, _("Private Keys"));
  gtk_file_filter_add_pattern (keys, "*.pem");
  gtk_file_filter_add_pattern (keys, "id_*");
  gtk_file_filter_add_pattern (keys, "*.key");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), keys);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);

  if (key_file != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (key_file);

      folder = g_file_get_parent (file);
    }
  else if (team_dir != NULL)
    folder = g_file_new_build_filename (team_dir, "certs", NULL);
  else
    folder = g_file_new_build_filename (g_get_home_dir (), ".ssh", NULL);
  if (folder != NULL && g_file_query_exists (folder, NULL))
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);

  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chooser_response), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static const char *
secret_title (BastionSecretKind kind)
{
  switch (kind)
    {
    case BASTION_SECRET_KIND_DB_PASSWORD:
      return _("Database Password");
    case BASTION_SECRET_KIND_KEY_PASSPHRASE:
      return _("Key Passphrase");
    case BASTION_SECRET_KIND_SSH_PASSWORD:
      return _("SSH Password");
    default:
      g_assert_not_reached ();
    }
}

static void
secret_row_update_visible (BastionProfileEditor *self)
{
  BastionAuthMethod method = bastion_profile_get_auth_method (self->profile);

  for (guint i = 0; i < N_SECRET_ROWS; i++)
    {
      SecretRow *secret = &self->secret_rows[i];
      gboolean visible = TRUE;

      if (secret->kind == BASTION_SECRET_KIND_KEY_PASSPHRASE)
        visible = method == BASTION_AUTH_METHOD_KEY;
      else if (secret->kind == BASTION_SECRET_KIND_SSH_PASSWORD)
        visible = method == BASTION_AUTH_METHOD_PASSWORD;
      gtk_widget_set_visible (GTK_WIDGET (secret->row), visible);
    }
}

static void
secret_lookup_done (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  SecretRow *secret = user_data;
  g_autoptr(GError) error = NULL;
  char *value;
  gboolean stored;
  const char *subtitle;

  value = bastion_secrets_lookup_finish (BASTION_SECRETS (object), result, &error);
  stored = value != NULL;
  /* Only whether there is one matters here: the secret itself is wiped at once. */
  bastion_secret_free (value);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (error != NULL)
    subtitle = error->message;
  else if (stored && bastion_secrets_get_keyring_available (BASTION_SECRETS (object)))
    subtitle = _("Saved in the keyring");
  else if (stored)
    subtitle = _("Kept in memory until Bastion quits: no keyring is available");
  else
    subtitle = _("Not saved: Bastion asks for it when connecting");

  adw_action_row_set_subtitle (secret->row, subtitle);
  gtk_widget_set_visible (secret->forget_button, stored);
}

static void
secret_row_refresh (SecretRow *secret)
{
  bastion_secrets_lookup_async (bastion_secrets_get_default (),
                                bastion_profile_get_id (secret->self->profile),
                                secret->kind,
                                secret->self->cancellable,
                                secret_lookup_done,
                                secret);
}

static void
secret_changed (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SecretRow *secret = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (g_async_result_is_tagged (result, bastion_secrets_store_async))
    ok = bastion_secrets_store_finish (BASTION_SECRETS (object), result, &error);
  else
    ok = bastion_secrets_clear_finish (BASTION_SECRETS (object), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (!ok)
    {
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (secret->self),
                                        adw_toast_new (escaped));
    }

  secret_row_refresh (secret);
}

static void
on_secret_dialog_response (AdwMessageDialog *dialog,
                           const char       *response,
                           SecretRow        *secret)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  const char *value = gtk_editable_get_text (entry);
  g_autofree char *label = NULL;

  if (g_strcmp0 (response, "save") != 0 || *value == '\0')
    return;

  /* Translators: the label of the secret in the keyring; first the kind of secret ("Database
   * Password"), then the profile's name */
  label = g_strdup_printf (_("Bastion: %s for %s"),
                           secret_title (secret->kind),
                           bastion_profile_get_display_name (secret->self->profile));
  bastion_secrets_store_async (bastion_secrets_get_default (),
                               bastion_profile_get_id (secret->self->profile),
                               secret->kind,
                               label,
                               value,
                               secret->self->cancellable,
                               secret_changed,
                               secret);
  /* The widget keeps no copy once the keyring has it. */
  gtk_editable_set_text (entry, "");
}

static void
on_secret_set_clicked (GtkButton *button,
                       SecretRow *secret)
{
  AdwMessageDialog *dialog;
  GtkWidget *entry;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (secret->self),
                                                       secret_title (secret->kind), NULL));
  adw_message_dialog_format_body (dialog,
                                  _("Bastion keeps it in your keyring for “%s”."),
                                  bastion_profile_get_display_name (secret->self->profile));
  /* A GtkEntry rather than GtkPasswordEntry: GTK 4.8's password entry can be notified after it is
   * gone when its dialog closes together with this window. */
  entry = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, secret_title (secret->kind),
                                  -1);
  adw_message_dialog_set_extra_child (dialog, entry);
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (on_secret_dialog_response), secret);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
on_secret_forget_clicked (GtkButton *button,
                          SecretRow *secret)
{
  bastion_secrets_clear_async (bastion_secrets_get_default (),
                               bastion_profile_get_id (secret->self->profile),
                               secret->kind,
                               secret->self->cancellable,
                               secret_changed,
                               secret);
}

static void
bastion_profile_editor_add_secret_rows (BastionProfileEditor *self)
{
  static const BastionSecretKind kinds[N_SECRET_ROWS] = {
    BASTION_SECRET_KIND_DB_PASSWORD,
    BASTION_SECRET_KIND_KEY_PASSPHRASE,
    BASTION_SECRET_KIND_SSH_PASSWORD,
  };

  for (guint i = 0; i < N_SECRET_ROWS; i++)
    {
      SecretRow *secret = &self->secret_rows[i];

      secret->self = self;
      secret->kind = kinds[i];
      secret->row = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (secret->row), secret_title (kinds[i]));
      adw_action_row_set_subtitle (secret->row, _("Looking in the keyring…"));

      secret->forget_button = gtk_button_new_with_mnemonic (_("_Forget"));
      gtk_widget_set_valign (secret->forget_button, GTK_ALIGN_CENTER);
      gtk_widget_set_visible (secret->forget_button, FALSE);
      gtk_widget_set_tooltip_text (secret->forget_button, _("Remove it from the keyring"));
      g_signal_connect (secret->forget_button, "clicked",
                        G_CALLBACK (on_secret_forget_clicked), secret);
      adw_action_row_add_suffix (secret->row, secret->forget_button);

      secret->set_button = gtk_button_new_with_mnemonic (_("_Set…"));
      gtk_widget_set_valign (secret->set_button, GTK_ALIGN_CENTER);
      g_signal_connect (secret->set_button, "clicked", G_CALLBACK (on_secret_set_clicked), secret);
      adw_action_row_add_suffix (secret->row, secret->set_button);

      adw_preferences_group_add (self->secrets_group, GTK_WIDGET (secret->row));
      secret_row_refresh (secret);
    }

  secret_row_update_visible (self);
}

static void
bastion_profile_editor_constructed (GObject *object)
{
  BastionProfileEditor *self = BASTION_PROFILE_EDITOR (object);

  G_OBJECT_CLASS (bastion_profile_editor_parent_class)->constructed (object);

  g_assert (BASTION_IS_PROFILE (self->profile));

  gtk_window_set_title (GTK_WINDOW (self), bastion_profile_get_display_name (self->profile));

  if (bastion_profile_get_source (self->profile) == BASTION_PROFILE_SOURCE_SIMPLEIOT)
    {
      const char *team_dir = bastion_profile_get_team_dir (self->profile);
      g_autofree char *dir = bastion_app_dup_display_path (team_dir);
      g_autofree char *description = NULL;

      /* Translators: %s is the team's folder, e.g. ~/.simpleiot/acme */
      description = g_strdup_printf (_("Imported from the SimpleIOT team in %s. Your changes are "
                                       "kept when the team is imported again."),
                                     dir);
      adw_preferences_group_set_description (self->general_group, description);
    }

  bind_text (self, "display-name", self->name_row);
  bind_text (self, "env-label", self->env_label_row);
  bind_text (self, "ssh-host", self->ssh_host_row);
  bind_text (self, "ssh-user", self->ssh_user_row);
  bind_text (self, "ssh-alias", self->ssh_alias_row);
  bind_text (self, "proxy-jump", self->proxy_jump_row);
  bind_text (self, "db-host", self->db_host_row);
  bind_text (self, "db-name", self->db_name_row);
  bind_text (self, "db-user", self->db_user_row);
  bind_text (self, "aws-profile", self->aws_profile_row);
  bind_text (self, "aws-region", self->aws_region_row);
  bind_text (self, "aws-secret-id", self->aws_secret_row);

  g_object_bind_property (self->profile, "ssh-port", self->ssh_port_spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->profile, "db-port", self->db_port_spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->profile, "local-port", self->local_port_spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->profile, "read-only", self->read_only_switch, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  update_combos (self);
  update_key_file_row (self);
  bastion_profile_editor_add_secret_rows (self);

  g_signal_connect_object (self->env_color_row, "notify::selected",
                           G_CALLBACK (on_env_color_selected), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->auth_row, "notify::selected",
                           G_CALLBACK (on_auth_selected), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->transport_row, "notify::selected",
                           G_CALLBACK (on_transport_selected), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->profile, "notify", G_CALLBACK (on_profile_notify), self,
                           G_CONNECT_SWAPPED);
}

static void
bastion_profile_editor_dispose (GObject *object)
{
  BastionProfileEditor *self = BASTION_PROFILE_EDITOR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_PROFILE_EDITOR);
  g_clear_object (&self->profile);

  G_OBJECT_CLASS (bastion_profile_editor_parent_class)->dispose (object);
}

static void
bastion_profile_editor_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  BastionProfileEditor *self = BASTION_PROFILE_EDITOR (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_object (value, self->profile);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_profile_editor_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  BastionProfileEditor *self = BASTION_PROFILE_EDITOR (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      self->profile = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_profile_editor_class_init (BastionProfileEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = bastion_profile_editor_constructed;
  object_class->dispose = bastion_profile_editor_dispose;
  object_class->get_property = bastion_profile_editor_get_property;
  object_class->set_property = bastion_profile_editor_set_property;

  properties[PROP_PROFILE] =
    g_param_spec_object ("profile", NULL, NULL,
                         BASTION_TYPE_PROFILE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/bastiongtk/Bastion/bastion-profile-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, general_group);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, env_label_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, env_color_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, ssh_host_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, ssh_port_spin);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, ssh_user_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, auth_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, transport_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, key_file_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, ssh_alias_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, proxy_jump_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, secrets_group);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, db_host_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, db_port_spin);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, db_name_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, db_user_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, local_port_spin);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, read_only_switch);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, aws_profile_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, aws_region_row);
  gtk_widget_class_bind_template_child (widget_class, BastionProfileEditor, aws_secret_row);
  gtk_widget_class_bind_template_callback (widget_class, on_key_file_button_clicked);
}

static void
bastion_profile_editor_init (BastionProfileEditor *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

BastionProfileEditor *
bastion_profile_editor_new (GtkWindow      *parent,
                            BastionProfile *profile)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);

  return g_object_new (BASTION_TYPE_PROFILE_EDITOR,
                       "transient-for", parent,
                       "profile", profile,
                       NULL);
}

BastionProfile *
bastion_profile_editor_get_profile (BastionProfileEditor *self)
{
  g_return_val_if_fail (BASTION_IS_PROFILE_EDITOR (self), NULL);

  return self->profile;
}
