/* bastion-connection-view.c
 *
 * One profile's "Connect": a big button; while connecting, every step with a spinner on the
 * current one; on failure, the failed step, why, and the fix (trust a new host key, type a
 * password, let my IP in, start a stopped bastion). Once connected, the team page shows its
 * workspace instead, with a BastionConnectionBar for the tunnel's state.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-app-util.h"
#include "bastion-connection-fix.h"
#include "bastion-connection-view-private.h"
#include "bastion-connections.h"

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_CONNECTION,
  PROP_CONNECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionConnectionView, bastion_connection_view, GTK_TYPE_WIDGET)


gboolean
bastion_connection_view_is_empty (const char *value)
{
  return value == NULL || value[0] == '\0';
}

static gboolean
stage_serves (BastionConnectionStage stage)
{
  return stage == BASTION_CONNECTION_STAGE_READY || stage == BASTION_CONNECTION_STAGE_RECONNECTING;
}

BastionConnectionStage
bastion_connection_view_current_stage (BastionConnectionView *self)
{
  return self->connection != NULL ? bastion_connection_get_stage (self->connection)
                                  : BASTION_CONNECTION_STAGE_IDLE;
}

void
bastion_connection_view_show_toast (BastionConnectionView *self,
                                    const char            *title)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *toast;

  if (overlay == NULL)
    {
      g_message ("%s", title);
      return;
    }

  toast = adw_toast_new (title);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
}

GtkWindow *
bastion_connection_view_parent_window (BastionConnectionView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

gboolean
bastion_connection_view_has_aws_names (BastionConnectionView *self)
{
  return self->profile != NULL && !bastion_connection_view_is_empty (bastion_profile_get_name_prefix (self->profile));
}

char *
bastion_connection_view_dup_group_name (BastionConnectionView *self)
{
  return bastion_aws_security_group_name (bastion_profile_get_name_prefix (self->profile),
                                          bastion_profile_get_stage (self->profile));
}

char *
bastion_connection_view_dup_instance_name (BastionConnectionView *self)
{
  return bastion_aws_bastion_instance_name (bastion_profile_get_name_prefix (self->profile),
                                            bastion_profile_get_stage (self->profile));
}

BastionAws *
bastion_connection_view_new_aws (BastionConnectionView *self)
{
  return bastion_aws_new (bastion_profile_get_aws_profile (self->profile),
                          bastion_profile_get_aws_region (self->profile));
}

/* ---- The steps ----------------------------------------------------------------------------- */

static void
build_steps (BastionConnectionView *self)
{
  for (guint i = 0; i < N_STEPS; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icons = gtk_stack_new ();
      GtkWidget *image;
      GtkWidget *spinner;

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     bastion_connection_stage_to_label (FIRST_STEP + i));
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
      gtk_widget_set_valign (icons, GTK_ALIGN_CENTER);

      image = gtk_image_new_from_icon_name ("media-record-symbolic");
      gtk_widget_add_css_class (image, "dim-label");
      gtk_stack_add_named (GTK_STACK (icons), image, "pending");
      spinner = gtk_spinner_new ();
      gtk_stack_add_named (GTK_STACK (icons), spinner, "running");
      image = gtk_image_new_from_icon_name ("emblem-ok-symbolic");
      gtk_widget_add_css_class (image, "success");
      gtk_stack_add_named (GTK_STACK (icons), image, "done");
      image = gtk_image_new_from_icon_name ("dialog-error-symbolic");
      gtk_widget_add_css_class (image, "error");
      gtk_stack_add_named (GTK_STACK (icons), image, "failed");
      image = gtk_image_new_from_icon_name ("dialog-question-symbolic");
      gtk_widget_add_css_class (image, "accent");
      gtk_stack_add_named (GTK_STACK (icons), image, "question");

      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icons);
      gtk_list_box_append (self->steps_list, row);

      self->step_rows[i] = row;
      self->step_icons[i] = GTK_STACK (icons);
      self->step_spinners[i] = GTK_SPINNER (spinner);
    }
}

static void
set_step (BastionConnectionView *self,
          guint                  i,
          const char            *state,
          const char            *subtitle)
{
  const char *description;

  gtk_stack_set_visible_child_name (self->step_icons[i], state);
  gtk_spinner_set_spinning (self->step_spinners[i], g_str_equal (state, "running"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->step_rows[i]), subtitle ? subtitle : "");
  if (g_str_equal (state, "pending"))
    gtk_widget_add_css_class (self->step_rows[i], "dim-label");
  else
    gtk_widget_remove_css_class (self->step_rows[i], "dim-label");

  /* The icon's meaning in words, so it does not rest on shape and colour alone. */
  if (g_str_equal (state, "running"))
    description = _("In progress");
  else if (g_str_equal (state, "done"))
    description = _("Done");
  else if (g_str_equal (state, "failed"))
    description = _("Failed");
  else if (g_str_equal (state, "question"))
    description = _("Waiting for you");
  else
    description = _("Not started");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->step_rows[i]),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
}

/* How the login went, under a done "Authenticate" step (issue 18: "through the SSH agent"). */
static char *
dup_done_detail (BastionConnectionView  *self,
                 BastionConnectionStage  step)
{
  const char *how = bastion_connection_get_auth_used (self->connection);

  if (step != BASTION_CONNECTION_STAGE_AUTHENTICATING || how == NULL)
    return NULL;

  return g_strdup_printf (_("Through %s"), how);
}

/* What the failed step says: the reason, except for a question, which names the button that
 * answers it. */
static char *
dup_step_reason (BastionConnectionView *self,
                 const GError          *error)
{
  const BastionConnectionFix *fix =
    bastion_connection_fix_lookup (error, bastion_profile_get_auth_method (self->profile));

  if (fix != NULL && fix->step_reason != NULL)
    return g_strdup (_(fix->step_reason));
  return g_strdup (error != NULL ? error->message : NULL);
}

/* The step that reaches the bastion names the port this team uses. */
static void
label_connect_step (BastionConnectionView *self)
{
  guint i = BASTION_CONNECTION_STAGE_CONNECTING - FIRST_STEP;
  g_autofree char *title = NULL;

  if (self->profile == NULL)
    return;

  /* Translators: a connection step; %u is the bastion's SSH port */
  title = g_strdup_printf (_("Reach the bastion (port %u)"),
                           bastion_profile_get_ssh_port (self->profile));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->step_rows[i]), title);
}

static void
update_steps (BastionConnectionView *self)
{
  BastionConnectionStage stage = bastion_connection_view_current_stage (self);
  BastionConnectionStage failed = BASTION_CONNECTION_STAGE_IDLE;
  const GError *error = NULL;
  gboolean question = bastion_app_connection_awaits_user (self->connection);
  g_autofree char *reason = NULL;

  label_connect_step (self);

  if (stage == BASTION_CONNECTION_STAGE_FAILED)
    {
      failed = bastion_connection_get_failed_stage (self->connection);
      error = bastion_connection_get_error (self->connection);
      /* A tunnel that fails for good after it served: the tunnel step. */
      if (failed < FIRST_STEP || failed > LAST_STEP)
        failed = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
      reason = dup_step_reason (self, error);
    }

  for (guint i = 0; i < N_STEPS; i++)
    {
      BastionConnectionStage step = FIRST_STEP + i;

      if (failed != BASTION_CONNECTION_STAGE_IDLE)
        {
          if (step < failed)
            set_step (self, i, "done", NULL);
          else if (step == failed)
            set_step (self, i, question ? "question" : "failed", reason);
          else
            set_step (self, i, "pending", NULL);
        }
      else if (step < stage)
        {
          g_autofree char *detail = dup_done_detail (self, step);

          set_step (self, i, "done", detail);
        }
      else if (step == stage)
        set_step (self, i, "running", NULL);
      else
        set_step (self, i, "pending", NULL);
    }
}

/* ---- The failure and its fix --------------------------------------------------------------- */

/* The fix's buttons wrap on a narrow window; a hidden one must not leave a gap. */
static void
show_fix_button (GtkWidget *button,
                 gboolean   visible)
{
  GtkWidget *parent = gtk_widget_get_parent (button);

  gtk_widget_set_visible (button, visible);
  if (GTK_IS_FLOW_BOX_CHILD (parent))
    gtk_widget_set_visible (parent, visible);
}

static void
set_prompt_button (BastionConnectionView *self,
                   const char            *label,
                   const char            *action)
{
  show_fix_button (GTK_WIDGET (self->prompt_button), label != NULL);
  if (label != NULL)
    {
      gtk_button_set_label (self->prompt_button, label);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->prompt_button), action);
    }
}

static void
update_diagnosis (BastionConnectionView *self)
{
  gboolean show_allow = FALSE;

  gtk_widget_set_visible (self->diagnosis_box,
                          self->aws_busy || self->diagnosis != NULL || self->aws_error != NULL);
  gtk_spinner_set_spinning (self->diagnosis_spinner, self->aws_busy);
  gtk_widget_set_visible (GTK_WIDGET (self->diagnosis_spinner), self->aws_busy);

  if (self->aws_busy)
    {
      gtk_label_set_label (self->diagnosis_title, _("Asking AWS…"));
      gtk_label_set_label (self->diagnosis_subtitle, "");
    }
  else if (self->aws_error != NULL)
    {
      gtk_label_set_label (self->diagnosis_title, _("AWS could not answer"));
      gtk_label_set_label (self->diagnosis_subtitle, self->aws_error);
    }
  else if (self->diagnosis != NULL)
    {
      g_autofree char *summary = bastion_aws_diagnosis_dup_summary (self->diagnosis);

      gtk_label_set_label (self->diagnosis_title, summary);
      if (self->diagnosis->admits_me)
        gtk_label_set_label (self->diagnosis_subtitle,
                                     _("Your IP is admitted, so the rule is not the problem: "
                                       "check that the bastion runs and that your network "
                                       "lets SSH out"));
      else
        {
          g_autofree char *subtitle =
            g_strdup_printf (_("Security group “%s”: allow your IP to connect"),
                             self->diagnosis->group_name);

          gtk_label_set_label (self->diagnosis_subtitle, subtitle);
          show_allow = TRUE;
        }
    }

  show_fix_button (self->allow_ip_button, show_allow);
  show_fix_button (self->allow_temporarily_button, show_allow);
  gtk_widget_set_sensitive (self->fix_group, !self->aws_busy);
}

/* A stopped bastion explains any failure to reach it: the fix is to start it. */
static gboolean
explain_stopped (BastionConnectionView  *self,
                 BastionConnectionStage  failed,
                 char                  **title,
                 char                  **description)
{
  if (self->instance == NULL || g_strcmp0 (self->instance->state, "running") == 0 ||
      failed > BASTION_CONNECTION_STAGE_CONNECTING)
    return FALSE;

  g_free (*title);
  g_free (*description);
  *title = g_strdup (_("The bastion is stopped"));
  *description = g_strdup_printf (_("Its EC2 instance “%s” is %s, perhaps stopped to save "
                                    "money. Start it, and Bastion connects once it runs."),
                                  self->instance->name ? self->instance->name
                                                       : self->instance->instance_id,
                                  self->instance->state);
  return TRUE;
}

/* A question (a new host key, a password) is asked neutrally; only failures warn. */
static void
set_fix_icon (BastionConnectionView *self,
              const char            *icon,
              gboolean               severe)
{
  GtkWidget *image = GTK_WIDGET (self->fix_icon);

  gtk_image_set_from_icon_name (self->fix_icon, icon);
  gtk_widget_remove_css_class (image, "warning");
  gtk_widget_remove_css_class (image, "error");
  gtk_widget_remove_css_class (image, "accent");
  if (severe)
    gtk_widget_add_css_class (image, "error");
  else if (bastion_app_connection_awaits_user (self->connection))
    gtk_widget_add_css_class (image, "accent");
  else
    gtk_widget_add_css_class (image, "warning");
}

void
bastion_connection_view_update_fix (BastionConnectionView *self)
{
  const GError *error = bastion_connection_get_error (self->connection);
  BastionConnectionStage failed = bastion_connection_get_failed_stage (self->connection);
  const BastionConnectionFix *fix =
    bastion_connection_fix_lookup (error, bastion_profile_get_auth_method (self->profile));
  g_autofree char *title = fix ? g_strdup (_(fix->title)) : NULL;
  g_autofree char *description = bastion_connection_fix_dup_description (fix, self->profile);
  const char *icon = fix ? fix->icon : "dialog-warning-symbolic";
  gboolean check_ip = fix && fix->check_ip;

  set_prompt_button (self, fix && fix->button ? _(fix->button) : NULL, fix ? fix->action : NULL);

  if (title == NULL)
    {
      /* Translators: %s is a step, e.g. "Authenticate" */
      title = g_strdup_printf (_("Connecting failed at “%s”"),
                               bastion_connection_stage_to_label (failed));
      if (error == NULL)
        description = g_strdup (_("No reason was given."));
    }

  if (explain_stopped (self, failed, &title, &description))
    {
      icon = "system-run-symbolic";
      check_ip = FALSE;
    }
  show_fix_button (self->start_button,
                   self->instance != NULL
                   && (g_strcmp0 (self->instance->state, "stopped") == 0
                       || g_strcmp0 (self->instance->state, "stopping") == 0));

  gtk_label_set_label (self->fix_title, title);
  /* The reason itself is on the failed step's row; this says what to do about it. */
  gtk_label_set_label (self->fix_description, description ? description : "");
  gtk_widget_set_visible (GTK_WIDGET (self->fix_description), description != NULL);
  set_fix_icon (self, icon, fix && fix->severe);

  show_fix_button (self->check_ip_button,
                   check_ip && bastion_connection_view_has_aws_names (self) && self->diagnosis == NULL);
  show_fix_button (self->ssm_button, bastion_connection_view_can_use_ssm (self, error));
  update_diagnosis (self);
}

/* ---- State --------------------------------------------------------------------------------- */

/* GTK 4.8 has no announcement API. A screen reader still hears each change: the view (a
 * group) is named after the connection's state, and focus moves to the control the new state is
 * about (Cancel, Disconnect, the fix, Connect), so the group's new name is spoken with it. Focus
 * never moves away from text the user is typing elsewhere (the query editor, the search). */
static gboolean
focus_is_free (BastionConnectionView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return FALSE;

  if (focus == NULL || !gtk_widget_get_mapped (focus)
      || gtk_widget_is_ancestor (focus, GTK_WIDGET (self)))
    return TRUE;

  return !GTK_IS_EDITABLE (focus) && !GTK_IS_TEXT_VIEW (focus);
}

static GtkWidget *
primary_fix_button (BastionConnectionView *self)
{
  GtkWidget *buttons[] = {
    GTK_WIDGET (self->prompt_button), self->start_button, self->allow_ip_button,
    self->check_ip_button, self->retry_button,
  };

  for (guint i = 0; i < G_N_ELEMENTS (buttons); i++)
    if (gtk_widget_get_visible (buttons[i]) && gtk_widget_is_sensitive (buttons[i]))
      return buttons[i];

  return self->retry_button;
}

static void
announce_state (BastionConnectionView *self,
                BastionConnectionStage stage)
{
  BastionConnectionStage previous = self->announced_stage;
  const char *team = self->profile != NULL ? bastion_profile_get_display_name (self->profile) : "";
  g_autofree char *status = NULL;
  GtkWidget *target = NULL;

  self->announced_stage = stage;

  switch (stage)
    {
    case BASTION_CONNECTION_STAGE_IDLE:
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: Not connected"), team);
      if (previous != BASTION_CONNECTION_STAGE_IDLE)
        target = self->connect_button;
      break;

    case BASTION_CONNECTION_STAGE_READY:
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: Connected"), team);
      /* The workspace's connection bar takes focus to its Disconnect. */
      break;

    case BASTION_CONNECTION_STAGE_RECONNECTING:
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: The tunnel dropped, reconnecting"), team);
      break;

    case BASTION_CONNECTION_STAGE_FAILED:
      /* Translators: the first %s is a team's name, the second what went wrong */
      if (bastion_app_connection_awaits_user (self->connection))
        /* Translators: the first %s is a team's name, the second the question */
        status = g_strdup_printf (_("%s: Waiting for you: %s"), team,
                                  gtk_label_get_label (self->fix_title));
      else
        status = g_strdup_printf (_("%s: Connection failed: %s"), team,
                                  gtk_label_get_label (self->fix_title));
      if (previous != BASTION_CONNECTION_STAGE_FAILED)
        target = primary_fix_button (self);
      break;

    case BASTION_CONNECTION_STAGE_PROFILE:
    case BASTION_CONNECTION_STAGE_CREDENTIALS:
    case BASTION_CONNECTION_STAGE_RESOLVING:
    case BASTION_CONNECTION_STAGE_CONNECTING:
    case BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY:
    case BASTION_CONNECTION_STAGE_AUTHENTICATING:
    case BASTION_CONNECTION_STAGE_OPENING_TUNNEL:
    case BASTION_CONNECTION_STAGE_DATABASE_LOGIN:
    default:
      /* Translators: the first %s is a team's name, the second a step, e.g. "Authenticate" */
      status = g_strdup_printf (_("%s: Connecting: %s"), team,
                                bastion_connection_stage_to_label (stage));
      if (previous == BASTION_CONNECTION_STAGE_IDLE || previous == BASTION_CONNECTION_STAGE_FAILED)
        target = GTK_WIDGET (self->cancel_button);
      break;
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, status,
                                  -1);

  if (target != NULL && focus_is_free (self))
    gtk_widget_grab_focus (target);
}

/* A prompt ends with its cause: once the connection serves, stops, moves on, or fails for
 * another reason, the question it asked is gone. */
static void
close_stale_dialog (BastionConnectionView *self,
                    BastionConnectionStage stage)
{
  if (self->dialog == NULL)
    return;

  if (stage == BASTION_CONNECTION_STAGE_FAILED
      && bastion_connection_view_prompt_for_error (self, bastion_connection_get_error (self->connection))
         == self->last_prompt)
    return;

  gtk_window_destroy (GTK_WINDOW (self->dialog));
}

void
bastion_connection_view_update_state (BastionConnectionView *self)
{
  BastionConnectionStage stage = bastion_connection_view_current_stage (self);
  gboolean read_only = self->profile != NULL && bastion_profile_get_read_only (self->profile);
  gboolean connected = stage_serves (stage);

  /* A late reply after dispose: nothing left to show it in. */
  if (self->stack == NULL)
    return;

  gtk_widget_set_visible (self->idle_read_only_tag, read_only);

  switch (stage)
    {
    case BASTION_CONNECTION_STAGE_IDLE:
      gtk_stack_set_visible_child_name (self->stack, "idle");
      break;

    case BASTION_CONNECTION_STAGE_READY:
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      gtk_stack_set_visible_child_name (self->stack, "connected");
      break;

    case BASTION_CONNECTION_STAGE_FAILED:
      adw_preferences_group_set_title (self->steps_group,
                                       bastion_app_connection_awaits_user (self->connection)
                                         ? _("Waiting for You") : _("Connection Failed"));
      gtk_button_set_label (self->cancel_button, _("_Close"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "view.disconnect");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->cancel_button),
                                   _("Close the connection and start again"));
      update_steps (self);
      bastion_connection_view_update_fix (self);
      gtk_widget_set_visible (self->fix_group, TRUE);
      gtk_stack_set_visible_child_name (self->stack, "steps");
      break;

    case BASTION_CONNECTION_STAGE_PROFILE:
    case BASTION_CONNECTION_STAGE_CREDENTIALS:
    case BASTION_CONNECTION_STAGE_RESOLVING:
    case BASTION_CONNECTION_STAGE_CONNECTING:
    case BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY:
    case BASTION_CONNECTION_STAGE_AUTHENTICATING:
    case BASTION_CONNECTION_STAGE_OPENING_TUNNEL:
    case BASTION_CONNECTION_STAGE_DATABASE_LOGIN:
    default:
      adw_preferences_group_set_title (self->steps_group, _("Connecting…"));
      gtk_button_set_label (self->cancel_button, _("C_ancel"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "view.cancel");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->cancel_button), NULL);
      update_steps (self);
      gtk_widget_set_visible (self->fix_group, FALSE);
      gtk_stack_set_visible_child_name (self->stack, "steps");
      break;
    }

  /* While the host key is written, nothing offers to trust it again or to connect without it. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "view.connect",
                                 self->connection != NULL && !self->trusting
                                 && (stage == BASTION_CONNECTION_STAGE_IDLE
                                     || stage == BASTION_CONNECTION_STAGE_FAILED));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "view.prompt-again", !self->trusting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "view.disconnect",
                                 self->connection != NULL
                                 && stage != BASTION_CONNECTION_STAGE_IDLE);

  if (connected != self->connected)
    {
      self->connected = connected;
      gtk_accessible_update_state (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_STATE_BUSY,
                                   !connected && stage != BASTION_CONNECTION_STAGE_IDLE
                                   && stage != BASTION_CONNECTION_STAGE_FAILED, -1);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
    }

  close_stale_dialog (self, stage);

  /* Last: the team page adds or removes the query view on notify::connected, and focus in a
   * query view that is gone is focus to move. */
  announce_state (self, stage);
}

static void
on_stage_changed (BastionConnectionView *self)
{
  bastion_connection_view_update_state (self);
}

/* ---- Connect and disconnect ---------------------------------------------------------------- */

static void
on_open_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  BastionConnection *connection = BASTION_CONNECTION (source);
  g_autoptr(GError) error = NULL;

  if (bastion_connection_open_finish (connection, result, &error))
    {
      /* auto chose Session Manager: "… port 22 is closed to you". */
      if (bastion_connection_get_transport_note (connection) != NULL)
        bastion_connection_view_show_toast (self, bastion_connection_get_transport_note (connection));
      if (self->offer_ssm && connection == self->connection)
        bastion_connection_view_offer_ssm_default (self);
      self->offer_ssm = FALSE;
      return;
    }

  /* The page moved on to another team, or the user cancelled. */
  if (connection != self->connection || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* A failure to reach the bastion may be a stopped instance: ask AWS (a read, no change). */
  if (bastion_connection_view_has_aws_names (self)
      && bastion_connection_get_failed_stage (connection) <= BASTION_CONNECTION_STAGE_CONNECTING
      && (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_REFUSED)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_DNS)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_UNREACHABLE)))
    bastion_connection_view_describe_instance (self);

  bastion_connection_view_show_prompt (self, bastion_connection_view_prompt_for_error (self, error));
}

void
bastion_connection_view_start_connect (BastionConnectionView *self)
{
  BastionConnectionStage stage = bastion_connection_view_current_stage (self);

  if (self->connection == NULL
      || (stage != BASTION_CONNECTION_STAGE_IDLE && stage != BASTION_CONNECTION_STAGE_FAILED))
    return;

  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  g_clear_pointer (&self->aws_error, g_free);
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();

  bastion_connection_open_async (self->connection,
                                 BASTION_CONNECTION_FLAGS_VERIFY_DATABASE |
                                 BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD,
                                 self->open_cancellable, on_open_done, g_object_ref (self));
}

static void
connect_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  bastion_connection_view_start_connect (BASTION_CONNECTION_VIEW (widget));
}

static void
disconnect_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);

  if (self->profile == NULL)
    return;

  g_cancellable_cancel (self->open_cancellable);
  g_cancellable_cancel (self->trust_cancellable);
  self->trusting = FALSE;
  g_cancellable_cancel (self->aws_cancellable);
  g_clear_object (&self->aws_cancellable);
  self->aws_cancellable = g_cancellable_new ();
  self->aws_busy = FALSE;
  bastion_connections_disconnect (bastion_connections_get_default (), self->profile);
  bastion_connection_view_update_state (self);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  disconnect_action (widget, action_name, parameter);
}

static void
prompt_again_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);

  if (self->connection == NULL)
    return;

  bastion_connection_view_show_prompt (self, bastion_connection_view_prompt_for_error (self, bastion_connection_get_error (self->connection)));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_connection_view_dispose (GObject *object)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (object);

  g_cancellable_cancel (self->aws_cancellable);
  g_cancellable_cancel (self->trust_cancellable);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->stage_handler, self->connection);
  if (self->dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->dialog));

  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_CONNECTION_VIEW);

  g_clear_object (&self->connection);
  g_clear_object (&self->profile);
  g_clear_object (&self->open_cancellable);
  g_clear_object (&self->aws_cancellable);
  g_clear_object (&self->trust_cancellable);
  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  g_clear_pointer (&self->aws_error, g_free);

  G_OBJECT_CLASS (bastion_connection_view_parent_class)->dispose (object);
}

static void
bastion_connection_view_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_object (value, self->profile);
      break;

    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;

    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_connection_view_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      bastion_connection_view_set_profile (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_connection_view_class_init (BastionConnectionViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_connection_view_dispose;
  object_class->get_property = bastion_connection_view_get_property;
  object_class->set_property = bastion_connection_view_set_property;

  properties[PROP_PROFILE] =
    g_param_spec_object ("profile", NULL, NULL, BASTION_TYPE_PROFILE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, BASTION_TYPE_CONNECTION,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "connectionview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/bastiongtk/Bastion/bastion-connection-view.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, stack);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, connect_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, idle_label);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, idle_read_only_tag);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, steps_group);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, steps_list);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, fix_group);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, fix_icon);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, fix_title);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, fix_description);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, diagnosis_box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, diagnosis_title);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, diagnosis_subtitle);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, diagnosis_spinner);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, prompt_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, check_ip_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, allow_ip_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, ssm_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView,
                                        allow_temporarily_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, start_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, retry_button);

  gtk_widget_class_install_action (widget_class, "view.connect", NULL, connect_action);
  gtk_widget_class_install_action (widget_class, "view.disconnect", NULL, disconnect_action);
  gtk_widget_class_install_action (widget_class, "view.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "view.prompt-again", NULL, prompt_again_action);
  gtk_widget_class_install_action (widget_class, "view.check-ip", NULL, bastion_connection_view_check_ip_action);
  gtk_widget_class_install_action (widget_class, "view.allow-my-ip", NULL, bastion_connection_view_allow_my_ip_action);
  gtk_widget_class_install_action (widget_class, "view.use-ssm", NULL, bastion_connection_view_use_ssm_action);
  gtk_widget_class_install_action (widget_class, "view.make-ssm-default", NULL, bastion_connection_view_ssm_default_action);
  gtk_widget_class_install_action (widget_class, "view.allow-temporarily", NULL,
                                   bastion_connection_view_allow_temporarily_action);
  gtk_widget_class_install_action (widget_class, "view.start-bastion", NULL,
                                   bastion_connection_view_start_bastion_action);
}

static void
load_css (void)
{
  static gboolean loaded;
  g_autoptr(GtkCssProvider) provider = NULL;
  GdkDisplay *display = gdk_display_get_default ();

  if (loaded || display == NULL)
    return;

  loaded = TRUE;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider,
                                       "/io/github/bastiongtk/Bastion/bastion-connection-view.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
bastion_connection_view_init (BastionConnectionView *self)
{
  load_css ();
  gtk_widget_init_template (GTK_WIDGET (self));
  build_steps (self);
  show_fix_button (GTK_WIDGET (self->prompt_button), FALSE);
  show_fix_button (self->check_ip_button, FALSE);
  show_fix_button (self->allow_ip_button, FALSE);
  show_fix_button (self->ssm_button, FALSE);
  show_fix_button (self->allow_temporarily_button, FALSE);
  show_fix_button (self->start_button, FALSE);
  self->aws_cancellable = g_cancellable_new ();
  bastion_connection_view_update_state (self);
}

GtkWidget *
bastion_connection_view_new (void)
{
  return g_object_new (BASTION_TYPE_CONNECTION_VIEW, NULL);
}

BastionProfile *
bastion_connection_view_get_profile (BastionConnectionView *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_VIEW (self), NULL);

  return self->profile;
}

BastionConnection *
bastion_connection_view_get_connection (BastionConnectionView *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_VIEW (self), NULL);

  return self->connection;
}

gboolean
bastion_connection_view_get_connected (BastionConnectionView *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_VIEW (self), FALSE);

  return self->connected;
}

static void
update_idle_label (BastionConnectionView *self)
{
  g_autofree char *text = NULL;

  if (self->profile == NULL)
    return;

  /* Translators: %s is the bastion's host name */
  text = g_strdup_printf (_("Opens an SSH tunnel through %s and logs in to the database"),
                          bastion_profile_get_ssh_host (self->profile)
                            ? bastion_profile_get_ssh_host (self->profile) : _("the bastion"));
  gtk_label_set_label (self->idle_label, text);
}

static void
on_profile_notify (BastionConnectionView *self,
                   GParamSpec            *pspec)
{
  update_idle_label (self);
  bastion_connection_view_update_state (self);
}

void
bastion_connection_view_set_profile (BastionConnectionView *self,
                                     BastionProfile        *profile)
{
  BastionConnection *connection = NULL;

  g_return_if_fail (BASTION_IS_CONNECTION_VIEW (self));
  g_return_if_fail (profile == NULL || BASTION_IS_PROFILE (profile));

  if (self->profile == profile)
    return;

  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_func (self->profile, on_profile_notify, self);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->stage_handler, self->connection);
  if (self->dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->dialog));

  /* What the view found out about the last team does not apply to this one. */
  g_cancellable_cancel (self->aws_cancellable);
  g_clear_object (&self->aws_cancellable);
  self->aws_cancellable = g_cancellable_new ();
  self->aws_busy = FALSE;
  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  g_clear_pointer (&self->aws_error, g_free);
  g_clear_object (&self->open_cancellable);
  /* A host key being written still is, but the view no longer connects that team with it. */
  g_cancellable_cancel (self->trust_cancellable);
  self->trusting = FALSE;

  g_set_object (&self->profile, profile);
  if (profile != NULL)
    {
      connection = bastion_connections_lookup (bastion_connections_get_default (), profile);
      g_signal_connect_object (profile, "notify", G_CALLBACK (on_profile_notify), self,
                               G_CONNECT_SWAPPED);
    }
  g_set_object (&self->connection, connection);
  if (connection != NULL)
    self->stage_handler = g_signal_connect_object (connection, "notify::stage",
                                                   G_CALLBACK (on_stage_changed), self,
                                                   G_CONNECT_SWAPPED);
  /* Another team's state is no change of this one's: nothing to move focus for. */
  self->announced_stage = bastion_connection_view_current_stage (self);

  update_idle_label (self);
  bastion_connection_view_update_state (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROFILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
}
