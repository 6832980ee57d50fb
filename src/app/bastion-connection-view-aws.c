/* bastion-connection-view-aws.c
 *
 * The connection view asks AWS when the bastion cannot be reached: is my IP admitted, is the
 * instance running; and applies the fixes (allow my IP, for good or until disconnect; start it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-connection-view-private.h"
#include "bastion-connections.h"

/* ---- AWS ----------------------------------------------------------------------------------- */

void
bastion_connection_view_set_aws_busy (BastionConnectionView *self,
                                      gboolean               busy)
{
  self->aws_busy = busy;
  if (busy)
    g_clear_pointer (&self->aws_error, g_free);
  if (self->stack != NULL && bastion_connection_view_current_stage (self) == BASTION_CONNECTION_STAGE_FAILED)
    bastion_connection_view_update_fix (self);
}

static void
on_instance_described (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;
  BastionAwsInstance *instance;

  instance = bastion_aws_describe_instance_finish (BASTION_AWS (source), result, &error);
  if (instance == NULL)
    {
      /* Only a hint: the failure itself is already on screen. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot look up the bastion instance: %s", error->message);
      return;
    }

  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  self->instance = instance;
  if (self->stack != NULL && bastion_connection_view_current_stage (self) == BASTION_CONNECTION_STAGE_FAILED)
    bastion_connection_view_update_fix (self);
}

void
bastion_connection_view_describe_instance (BastionConnectionView *self)
{
  g_autoptr(BastionAws) aws = bastion_connection_view_new_aws (self);
  g_autofree char *name = bastion_connection_view_dup_instance_name (self);

  bastion_aws_describe_instance_async (aws, name, self->aws_cancellable, on_instance_described,
                                       g_object_ref (self));
}

static void
on_diagnosed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;
  BastionAwsDiagnosis *diagnosis;

  diagnosis = bastion_aws_diagnose_finish (BASTION_AWS (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  self->diagnosis = diagnosis;
  if (diagnosis == NULL)
    self->aws_error = g_strdup (error->message);
  bastion_connection_view_set_aws_busy (self, FALSE);
}

void
bastion_connection_view_check_ip_action (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  g_autoptr(BastionAws) aws = NULL;
  g_autofree char *group = NULL;

  if (self->profile == NULL || !bastion_connection_view_has_aws_names (self) || self->aws_busy)
    return;

  aws = bastion_connection_view_new_aws (self);
  group = bastion_connection_view_dup_group_name (self);
  bastion_connection_view_set_aws_busy (self, TRUE);
  bastion_aws_diagnose_async (aws, group, self->aws_cancellable, on_diagnosed,
                              g_object_ref (self));
}

typedef struct
{
  BastionConnectionView *self;
  BastionAwsAllowMode    mode;
  char                  *group;
} AllowData;

static void
allow_data_free (AllowData *data)
{
  g_object_unref (data->self);
  g_free (data->group);
  g_free (data);
}

static void
on_allowed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AllowData *data = user_data;
  BastionConnectionView *self = data->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *cidr = NULL;
  g_autofree char *message = NULL;
  gboolean added = FALSE;

  cidr = bastion_aws_allow_my_ip_finish (BASTION_AWS (source), result, &added, &error);
  if (cidr == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->aws_error = g_strdup (error->message);
          bastion_connection_view_set_aws_busy (self, FALSE);
        }
      allow_data_free (data);
      return;
    }

  if (data->mode == BASTION_AWS_ALLOW_TEMPORARY && added)
    bastion_connections_add_temporary_rule (bastion_connections_get_default (), self->profile,
                                            data->group, cidr);

  if (data->mode == BASTION_AWS_ALLOW_TEMPORARY)
    /* Translators: %s is an address, e.g. 198.51.100.7/32 */
    message = g_strdup_printf (_("The bastion admits %s until you disconnect"), cidr);
  else
    /* Translators: %s is an address, e.g. 198.51.100.7/32 */
    message = g_strdup_printf (_("The bastion now admits %s"), cidr);
  bastion_connection_view_show_toast (self, message);

  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  bastion_connection_view_set_aws_busy (self, FALSE);
  bastion_connection_view_start_connect (self);
  allow_data_free (data);
}

static void
allow_my_ip (BastionConnectionView *self,
             BastionAwsAllowMode    mode)
{
  g_autoptr(BastionAws) aws = bastion_connection_view_new_aws (self);
  AllowData *data = g_new0 (AllowData, 1);

  data->self = g_object_ref (self);
  data->mode = mode;
  data->group = bastion_connection_view_dup_group_name (self);
  bastion_connection_view_set_aws_busy (self, TRUE);
  bastion_aws_allow_my_ip_async (aws, data->group, mode, self->aws_cancellable, on_allowed,
                                 data);
}

static void
on_allow_confirmed (AdwMessageDialog      *dialog,
                    const char            *response,
                    BastionConnectionView *self)
{
  if (g_str_equal (response, "replace"))
    allow_my_ip (self, BASTION_AWS_ALLOW_REPLACE);
}

void
bastion_connection_view_allow_my_ip_action (GtkWidget  *widget,
                                            const char *action_name,
                                            GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  AdwMessageDialog *dialog;
  g_autofree char *old = NULL;
  g_autofree char *body = NULL;

  if (self->diagnosis == NULL || self->aws_busy)
    return;

  /* The same list bastion-cli prints before any revoke: only the caller's own rules. */
  if (self->diagnosis->to_replace != NULL && self->diagnosis->to_replace[0] != NULL)
    {
      old = g_strjoinv (", ", self->diagnosis->to_replace);
      body = g_strdup_printf (_("Bastion will change the security group “%s”: it adds an SSH "
                                "rule for %s/32 and removes your own old rule for %s. Rules "
                                "without your Bastion mark, such as your teammates’, stay."),
                              self->diagnosis->group_name, self->diagnosis->my_ip, old);
    }
  else
    {
      body = g_strdup_printf (_("Bastion will change the security group “%s”: it adds an SSH "
                                "rule for %s/32 and removes nothing (only your own Bastion rules "
                                "for other addresses would go, and there are none)."),
                              self->diagnosis->group_name, self->diagnosis->my_ip);
    }
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (bastion_connection_view_parent_window (self),
                                                       _("Replace the SSH Rule?"), body));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "replace", _("_Replace Rule"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "replace", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_allow_confirmed), self, 0);
  bastion_connection_view_present_dialog (self, dialog);
}

void
bastion_connection_view_allow_temporarily_action (GtkWidget  *widget,
                                                  const char *action_name,
                                                  GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);

  if (self->diagnosis == NULL || self->aws_busy)
    return;

  allow_my_ip (self, BASTION_AWS_ALLOW_TEMPORARY);
}

static void
on_bastion_started (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;
  BastionAwsInstance *instance;

  instance = bastion_aws_start_bastion_finish (BASTION_AWS (source), result, &error);
  if (instance == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->aws_error = g_strdup (error->message);
          bastion_connection_view_set_aws_busy (self, FALSE);
        }
      return;
    }

  /* Without an Elastic IP the bastion comes back under a new name. */
  if (bastion_aws_instance_dns_changed (instance, bastion_profile_get_ssh_host (self->profile)))
    {
      g_autofree char *message = g_strdup_printf (_("The bastion’s address is now %s"),
                                                  instance->public_dns);

      bastion_profile_set_ssh_host (self->profile, instance->public_dns);
      bastion_connection_view_show_toast (self, message);
    }

  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  self->instance = instance;
  bastion_connection_view_set_aws_busy (self, FALSE);
  bastion_connection_view_start_connect (self);
}

void
bastion_connection_view_start_bastion_action (GtkWidget  *widget,
                                              const char *action_name,
                                              GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  g_autoptr(BastionAws) aws = NULL;
  g_autofree char *name = NULL;

  if (self->profile == NULL || !bastion_connection_view_has_aws_names (self) || self->aws_busy)
    return;

  aws = bastion_connection_view_new_aws (self);
  name = bastion_connection_view_dup_instance_name (self);
  bastion_connection_view_set_aws_busy (self, TRUE);
  gtk_label_set_label (self->diagnosis_title,
                       _("Starting the bastion… this takes a minute or two"));
  bastion_aws_start_bastion_async (aws, name, self->aws_cancellable, on_bastion_started,
                                   g_object_ref (self));
}

/* ---- AWS Session Manager (issue 21) ------------------------------------------------------- */

/* Port 22 does not answer, the team names its AWS side, and SSH carried this attempt: Session
 * Manager needs neither the port nor a rule. A stopped bastion is no use to it either. */
gboolean
bastion_connection_view_can_use_ssm (BastionConnectionView *self,
                                     const GError          *error)
{
  if (error == NULL || error->domain != BASTION_SSH_ERROR || self->connection == NULL ||
      !bastion_connection_view_has_aws_names (self) ||
      bastion_connection_get_transport (self->connection) == BASTION_TRANSPORT_SSM)
    return FALSE;
  if (self->instance != NULL && g_strcmp0 (self->instance->state, "running") != 0)
    return FALSE;

  return error->code == BASTION_SSH_ERROR_TIMEOUT || error->code == BASTION_SSH_ERROR_REFUSED ||
         error->code == BASTION_SSH_ERROR_UNREACHABLE;
}

/* This connection only; once it works, the user is offered to keep it for the team. */
void
bastion_connection_view_use_ssm_action (GtkWidget  *widget,
                                        const char *action_name,
                                        GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);

  if (self->connection == NULL || self->aws_busy)
    return;

  bastion_connection_set_transport (self->connection, BASTION_TRANSPORT_SSM);
  self->offer_ssm = bastion_profile_get_transport (self->profile) != BASTION_TRANSPORT_SSM;
  bastion_connection_view_start_connect (self);
}

static void
on_ssm_default_clicked (BastionConnectionView *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "view.make-ssm-default", NULL);
}

void
bastion_connection_view_offer_ssm_default (BastionConnectionView *self)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *toast;

  if (overlay == NULL)
    return;

  toast = adw_toast_new (_("Connected through AWS Session Manager"));
  adw_toast_set_button_label (toast, _("_Always for This Team"));
  /* The toast lives in the window's overlay, outside the view and its actions. */
  g_signal_connect_object (toast, "button-clicked", G_CALLBACK (on_ssm_default_clicked), self,
                           G_CONNECT_SWAPPED);
  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
}

void
bastion_connection_view_ssm_default_action (GtkWidget  *widget,
                                            const char *action_name,
                                            GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);

  if (self->profile == NULL)
    return;

  /* Saved with the other profile changes (the store's autosave). */
  bastion_profile_set_transport (self->profile, BASTION_TRANSPORT_SSM);
  bastion_connection_view_show_toast (self, _("The team now connects through AWS Session "
                                               "Manager; change it in the team’s settings"));
}
