/* bastion-connection-view.c
 *
 * One profile's "Connect": a big button; while connecting, every step with a spinner on the
 * current one; on failure, the failed step, why, and the fix (trust a new host key, type a
 * password, let my IP in, start a stopped bastion); once connected, the local address, traffic,
 * open connections, uptime, the installed tools and Disconnect.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-connection-view.h"
#include "bastion-connections.h"

#define FIRST_STEP BASTION_CONNECTION_STAGE_PROFILE
#define LAST_STEP  BASTION_CONNECTION_STAGE_DATABASE_LOGIN
#define N_STEPS    (LAST_STEP - FIRST_STEP + 1)

typedef enum
{
  PROMPT_NONE,
  PROMPT_HOST_KEY,
  PROMPT_PASSPHRASE,
  PROMPT_SSH_PASSWORD,
  PROMPT_DB_PASSWORD,
} Prompt;

struct _BastionConnectionView
{
  GtkWidget            parent_instance;

  /* Owned */
  BastionProfile      *profile;
  BastionConnection   *connection;
  GCancellable        *open_cancellable;
  GCancellable        *aws_cancellable;
  GCancellable        *tools_cancellable;
  GCancellable        *trust_cancellable;
  GPtrArray           *tools;              /* BastionToolInfo, once detected */
  BastionAwsDiagnosis *diagnosis;
  BastionAwsInstance  *instance;
  char                *aws_error;
  gulong               stage_handler;
  guint                timer_id;

  /* Unowned */
  AdwMessageDialog    *dialog;             /* the prompt on screen, if any */
  GtkWidget           *step_rows[N_STEPS];
  GtkStack            *step_icons[N_STEPS];
  GtkSpinner          *step_spinners[N_STEPS];

  /* Template widgets */
  GtkStack            *stack;
  GtkWidget           *connect_button;
  GtkLabel            *idle_label;
  GtkWidget           *idle_read_only_tag;
  AdwPreferencesGroup *steps_group;
  GtkButton           *cancel_button;
  GtkListBox          *steps_list;
  GtkWidget           *fix_group;
  GtkImage            *fix_icon;
  GtkLabel            *fix_title;
  GtkLabel            *fix_description;
  GtkWidget           *diagnosis_box;
  GtkLabel            *diagnosis_title;
  GtkLabel            *diagnosis_subtitle;
  GtkSpinner          *diagnosis_spinner;
  GtkButton           *prompt_button;
  GtkWidget           *check_ip_button;
  GtkWidget           *allow_ip_button;
  GtkWidget           *allow_temporarily_button;
  GtkWidget           *start_button;
  GtkWidget           *retry_button;
  AdwPreferencesGroup *connected_group;
  GtkWidget           *connected_read_only_tag;
  GtkWidget           *disconnect_button;
  AdwActionRow        *address_row;
  AdwActionRow        *traffic_row;
  AdwActionRow        *channels_row;
  AdwActionRow        *uptime_row;
  GtkFlowBox          *tools_box;
  GtkWidget           *copy_uri_button;
  GtkWidget           *more_tools_button;
  GtkBox              *more_tools_box;

  Prompt               last_prompt;
  BastionConnectionStage announced_stage;  /* what the accessible name last said */
  guint                connected : 1;
  guint                aws_busy : 1;
  guint                tools_loading : 1;
  guint                trusting : 1;        /* the host key is being written */
};

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_CONNECTION,
  PROP_CONNECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionConnectionView, bastion_connection_view, GTK_TYPE_WIDGET)

static void update_state (BastionConnectionView *self);
static void start_connect (BastionConnectionView *self);

static gboolean
is_empty (const char *value)
{
  return value == NULL || value[0] == '\0';
}

static gboolean
stage_serves (BastionConnectionStage stage)
{
  return stage == BASTION_CONNECTION_STAGE_READY || stage == BASTION_CONNECTION_STAGE_RECONNECTING;
}

static BastionConnectionStage
current_stage (BastionConnectionView *self)
{
  return self->connection != NULL ? bastion_connection_get_stage (self->connection)
                                  : BASTION_CONNECTION_STAGE_IDLE;
}

static void
show_toast (BastionConnectionView *self,
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

static GtkWindow *
parent_window (BastionConnectionView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static gboolean
has_aws_names (BastionConnectionView *self)
{
  return self->profile != NULL && !is_empty (bastion_profile_get_name_prefix (self->profile));
}

static char *
dup_group_name (BastionConnectionView *self)
{
  return bastion_aws_security_group_name (bastion_profile_get_name_prefix (self->profile),
                                          bastion_profile_get_stage (self->profile));
}

static char *
dup_instance_name (BastionConnectionView *self)
{
  return bastion_aws_bastion_instance_name (bastion_profile_get_name_prefix (self->profile),
                                            bastion_profile_get_stage (self->profile));
}

static BastionAws *
new_aws (BastionConnectionView *self)
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
  BastionSshSession *session = bastion_connection_get_session (self->connection);

  if (step != BASTION_CONNECTION_STAGE_AUTHENTICATING || session == NULL ||
      bastion_ssh_session_get_auth_used (session) == NULL)
    return NULL;

  return g_strdup_printf (_("Through %s"), bastion_ssh_session_get_auth_used (session));
}

static void
update_steps (BastionConnectionView *self)
{
  BastionConnectionStage stage = current_stage (self);
  BastionConnectionStage failed = BASTION_CONNECTION_STAGE_IDLE;
  const GError *error = NULL;

  if (stage == BASTION_CONNECTION_STAGE_FAILED)
    {
      failed = bastion_connection_get_failed_stage (self->connection);
      error = bastion_connection_get_error (self->connection);
      /* A tunnel that fails for good after it served: the tunnel step. */
      if (failed < FIRST_STEP || failed > LAST_STEP)
        failed = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
    }

  for (guint i = 0; i < N_STEPS; i++)
    {
      BastionConnectionStage step = FIRST_STEP + i;

      if (failed != BASTION_CONNECTION_STAGE_IDLE)
        {
          if (step < failed)
            set_step (self, i, "done", NULL);
          else if (step == failed)
            set_step (self, i, "failed", error ? error->message : NULL);
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

static void
update_fix (BastionConnectionView *self)
{
  const GError *error = bastion_connection_get_error (self->connection);
  BastionConnectionStage failed = bastion_connection_get_failed_stage (self->connection);
  g_autofree char *title = NULL;
  g_autofree char *description = NULL;
  const char *icon = "dialog-warning-symbolic";
  gboolean severe = FALSE;
  gboolean check_ip = FALSE;

  set_prompt_button (self, NULL, NULL);

  if (error != NULL && error->domain == BASTION_SSH_ERROR)
    {
      switch (error->code)
        {
        case BASTION_SSH_ERROR_HOST_KEY_UNKNOWN:
          title = g_strdup (_("The bastion’s identity is not confirmed yet"));
          description = g_strdup (_("Compare its fingerprint with the one your administrator "
                                    "gives you, then trust it."));
          icon = "security-medium-symbolic";
          set_prompt_button (self, _("_Review Host Key…"), "view.prompt-again");
          break;

        case BASTION_SSH_ERROR_HOST_KEY_CHANGED:
        case BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH:
          title = g_strdup (_("The bastion’s host key has changed"));
          description =
            g_strdup_printf (_("This can mean that someone is intercepting the connection, or "
                               "that the bastion was rebuilt. Bastion will not connect. Ask "
                               "your administrator for the bastion’s new SHA256 fingerprint. "
                               "Once it is confirmed, remove the old key (“ssh-keygen -R "
                               "%s”, and its line in Bastion’s own known_hosts file) and "
                               "connect again."),
                             bastion_profile_get_ssh_host (self->profile));
          icon = "security-low-symbolic";
          severe = TRUE;
          break;

        case BASTION_SSH_ERROR_TIMEOUT:
          title = g_strdup (_("The bastion’s security group probably no longer admits your IP"));
          description = g_strdup (_("Port 22 did not answer. When your public IP changed, the "
                                    "bastion’s SSH rule still names the old one."));
          icon = "network-wired-no-route-symbolic";
          check_ip = TRUE;
          break;

        case BASTION_SSH_ERROR_REFUSED:
          title = g_strdup (_("The bastion refused the connection"));
          description = g_strdup (_("Nothing listens for SSH there: check the bastion’s host "
                                    "and port in the team’s settings, and that its SSH server "
                                    "runs."));
          icon = "network-wired-disconnected-symbolic";
          break;

        case BASTION_SSH_ERROR_DNS:
          title = g_strdup (_("The bastion’s name cannot be found"));
          description = g_strdup (_("A bastion without an Elastic IP gets a new name each time "
                                    "it starts: import the team again, or ask AWS below."));
          icon = "network-offline-symbolic";
          break;

        case BASTION_SSH_ERROR_AUTH_FAILED:
          title = g_strdup (_("The bastion refused the login"));
          if (bastion_profile_get_auth_method (self->profile) == BASTION_AUTH_METHOD_PASSWORD)
            set_prompt_button (self, _("Enter _Password…"), "view.prompt-again");
          else
            {
              description = g_strdup (_("Check the SSH user and the key file in the team’s "
                                        "settings: the bastion must know this key for this "
                                        "user."));
              set_prompt_button (self, _("_Edit Profile…"), "win.edit-profile");
            }
          icon = "dialog-password-symbolic";
          break;

        case BASTION_SSH_ERROR_PASSPHRASE_REQUIRED:
          title = g_strdup (_("The key’s passphrase is needed"));
          icon = "dialog-password-symbolic";
          set_prompt_button (self, _("Enter _Passphrase…"), "view.prompt-again");
          break;

        default:
          break;
        }
    }
  else if (error != NULL && error->domain == BASTION_CONNECTION_ERROR)
    {
      switch (error->code)
        {
        case BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED:
          title = g_strdup (_("The key’s passphrase is needed"));
          icon = "dialog-password-symbolic";
          set_prompt_button (self, _("Enter _Passphrase…"), "view.prompt-again");
          break;

        case BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED:
          title = g_strdup (_("The SSH password is needed"));
          icon = "dialog-password-symbolic";
          set_prompt_button (self, _("Enter _Password…"), "view.prompt-again");
          break;

        case BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED:
          title = g_strdup (_("The database password is needed"));
          icon = "dialog-password-symbolic";
          set_prompt_button (self, _("Enter _Password…"), "view.prompt-again");
          break;

        case BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG:
          title = g_strdup (_("The database refused the password"));
          icon = "dialog-password-symbolic";
          set_prompt_button (self, _("Enter _Password…"), "view.prompt-again");
          break;

        case BASTION_CONNECTION_ERROR_INCOMPLETE:
        case BASTION_CONNECTION_ERROR_NO_DB_ACCESS:
          title = g_strdup (_("The team’s settings are incomplete"));
          set_prompt_button (self, _("_Edit Profile…"), "win.edit-profile");
          break;

        default:
          break;
        }
    }

  if (title == NULL)
    {
      /* Translators: %s is a step, e.g. "Authenticate" */
      title = g_strdup_printf (_("Connecting failed at “%s”"),
                               bastion_connection_stage_to_label (failed));
      if (error == NULL)
        description = g_strdup (_("No reason was given."));
    }

  /* A stopped bastion explains any failure to reach it. */
  if (self->instance != NULL && g_strcmp0 (self->instance->state, "running") != 0 &&
      failed <= BASTION_CONNECTION_STAGE_CONNECTING)
    {
      g_clear_pointer (&title, g_free);
      g_clear_pointer (&description, g_free);
      title = g_strdup (_("The bastion is stopped"));
      description = g_strdup_printf (_("Its EC2 instance “%s” is %s, perhaps stopped to save "
                                       "money. Start it, and Bastion connects once it runs."),
                                     self->instance->name ? self->instance->name
                                                          : self->instance->instance_id,
                                     self->instance->state);
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
  gtk_image_set_from_icon_name (self->fix_icon, icon);
  if (severe)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->fix_icon), "warning");
      gtk_widget_add_css_class (GTK_WIDGET (self->fix_icon), "error");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->fix_icon), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->fix_icon), "warning");
    }

  show_fix_button (self->check_ip_button,
                   check_ip && has_aws_names (self) && self->diagnosis == NULL);
  update_diagnosis (self);
}

/* ---- Connected ----------------------------------------------------------------------------- */

static char *
format_duration (gint64 seconds)
{
  if (seconds < 60)
    /* Translators: a duration in seconds */
    return g_strdup_printf (_("%u s"), (guint) seconds);
  if (seconds < 3600)
    /* Translators: a duration in minutes and seconds */
    return g_strdup_printf (_("%u min %02u s"), (guint) (seconds / 60), (guint) (seconds % 60));
  /* Translators: a duration in hours and minutes */
  return g_strdup_printf (_("%u h %02u min"), (guint) (seconds / 3600),
                          (guint) ((seconds % 3600) / 60));
}

static void
update_stats (BastionConnectionView *self)
{
  BastionTunnel *tunnel = self->connection ? bastion_connection_get_tunnel (self->connection)
                                           : NULL;
  BastionConnections *registry = bastion_connections_get_default ();
  g_autofree char *address = NULL;
  g_autofree char *in = NULL;
  g_autofree char *out = NULL;
  g_autofree char *traffic = NULL;
  g_autofree char *channels = NULL;
  g_autofree char *uptime = NULL;
  gint64 since;
  guint n;

  if (tunnel == NULL)
    return;

  address = g_strdup_printf ("127.0.0.1:%u", bastion_tunnel_get_local_port (tunnel));
  adw_action_row_set_subtitle (self->address_row, address);

  in = g_format_size (bastion_tunnel_get_bytes_in (tunnel));
  out = g_format_size (bastion_tunnel_get_bytes_out (tunnel));
  /* Translators: traffic through the tunnel, e.g. "1.2 MB received · 20 kB sent" */
  traffic = g_strdup_printf (_("%s received · %s sent"), in, out);
  adw_action_row_set_subtitle (self->traffic_row, traffic);

  n = bastion_tunnel_get_n_channels (tunnel);
  if (n == 0)
    channels = g_strdup (_("None"));
  else
    channels = g_strdup_printf (ngettext ("%u open", "%u open", n), n);
  if (n > 0 && bastion_tunnel_get_rtt (tunnel) > 0)
    {
      g_autofree char *window = g_format_size (bastion_tunnel_get_receive_window (tunnel));
      g_autofree char *open = g_steal_pointer (&channels);

      /* Translators: "2 open · 51.2 ms round trip · 8.4 MB window": the tunnel's channels, the
       * measured round trip to the server and the receive window the download uses */
      channels = g_strdup_printf (_("%s · %.1f ms round trip · %s window"), open,
                                  bastion_tunnel_get_rtt (tunnel) / 1000.0, window);
    }
  adw_action_row_set_subtitle (self->channels_row, channels);

  since = bastion_connections_get_ready_since (registry, self->profile);
  if (since > 0)
    uptime = format_duration ((g_get_monotonic_time () - since) / G_USEC_PER_SEC);
  adw_action_row_set_subtitle (self->uptime_row, uptime ? uptime : "");
}

static gboolean
on_timer (gpointer user_data)
{
  update_stats (user_data);
  return G_SOURCE_CONTINUE;
}

/* The numbers tick once a second, only while someone can see them. */
static void
sync_timer (BastionConnectionView *self)
{
  gboolean want = gtk_widget_get_mapped (GTK_WIDGET (self)) && stage_serves (current_stage (self));

  if (want && self->timer_id == 0)
    self->timer_id = g_timeout_add_seconds (1, on_timer, self);
  else if (!want)
    g_clear_handle_id (&self->timer_id, g_source_remove);
}

static const char *
tool_icon (BastionLauncherTool tool)
{
  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PSQL:
    case BASTION_LAUNCHER_TOOL_PGCLI:
      return "utilities-terminal-symbolic";
    case BASTION_LAUNCHER_TOOL_PGADMIN:
    case BASTION_LAUNCHER_TOOL_DBEAVER:
    default:
      return "document-open-symbolic";
    }
}

static void
populate_tools (BastionConnectionView *self)
{
  GtkWidget *child;
  int position = 0;
  guint n_missing = 0;

  if (self->tools_box == NULL)
    return;

  /* Start again from the template's one child, Copy URI. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tools_box))) != NULL
         && gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (child)) != self->copy_uri_button)
    gtk_flow_box_remove (self->tools_box, child);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->more_tools_box))) != NULL)
    gtk_box_remove (self->more_tools_box, child);

  for (guint i = 0; self->tools != NULL && i < self->tools->len; i++)
    {
      BastionToolInfo *info = g_ptr_array_index (self->tools, i);
      const char *title = bastion_launcher_tool_get_title (info->tool);

      if (info->available)
        {
          GtkWidget *button = gtk_button_new ();
          GtkWidget *content = adw_button_content_new ();
          g_autofree char *tooltip = NULL;

          adw_button_content_set_icon_name (ADW_BUTTON_CONTENT (content), tool_icon (info->tool));
          adw_button_content_set_label (ADW_BUTTON_CONTENT (content), title);
          gtk_button_set_child (GTK_BUTTON (button), content);
          gtk_widget_add_css_class (button, "pill");
          gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "view.open-tool");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "i", (gint32) info->tool);
          /* Translators: %s is a tool, e.g. "pgAdmin 4" */
          tooltip = g_strdup_printf (_("Open the database in %s, ready to use"), title);
          gtk_widget_set_tooltip_text (button, tooltip);
          gtk_widget_set_name (button, bastion_launcher_tool_to_string (info->tool));
          gtk_flow_box_insert (self->tools_box, button, position++);
        }
      else
        {
          GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
          GtkWidget *name = gtk_label_new (title);
          GtkWidget *hint = gtk_label_new (info->install_hint ? info->install_hint
                                                              : _("Not installed"));

          gtk_label_set_xalign (GTK_LABEL (name), 0);
          gtk_widget_add_css_class (name, "heading");
          gtk_label_set_xalign (GTK_LABEL (hint), 0);
          gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
          gtk_label_set_max_width_chars (GTK_LABEL (hint), 40);
          gtk_label_set_selectable (GTK_LABEL (hint), TRUE);
          gtk_widget_add_css_class (hint, "dim-label");
          gtk_box_append (GTK_BOX (box), name);
          gtk_box_append (GTK_BOX (box), hint);
          gtk_box_append (self->more_tools_box, box);
          n_missing++;
        }
    }

  gtk_widget_set_visible (self->more_tools_button, n_missing > 0);
}

static void
on_tools_listed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *tools;

  tools = bastion_launcher_list_tools_finish (BASTION_LAUNCHER (source), result, &error);
  self->tools_loading = FALSE;
  if (tools == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot look for database tools: %s", error->message);
      return;
    }

  g_clear_pointer (&self->tools, g_ptr_array_unref);
  self->tools = tools;
  populate_tools (self);
}

static void
load_tools (BastionConnectionView *self)
{
  BastionLauncher *launcher;

  if (self->tools != NULL || self->tools_loading)
    return;

  self->tools_loading = TRUE;
  launcher = bastion_connections_get_launcher (bastion_connections_get_default ());
  g_clear_object (&self->tools_cancellable);
  self->tools_cancellable = g_cancellable_new ();
  bastion_launcher_list_tools_async (launcher, self->tools_cancellable, on_tools_listed,
                                     g_object_ref (self));
}

static void
update_connected (BastionConnectionView *self)
{
  BastionConnectionStage stage = current_stage (self);
  g_autofree char *description = NULL;

  if (stage == BASTION_CONNECTION_STAGE_RECONNECTING)
    {
      adw_preferences_group_set_title (self->connected_group, _("Reconnecting…"));
      adw_preferences_group_set_description (self->connected_group,
                                             _("The tunnel dropped. Local connections wait until "
                                               "it is back."));
    }
  else
    {
      adw_preferences_group_set_title (self->connected_group, _("Connected"));
      /* Translators: the first %s is the bastion host, the second the database's */
      description = g_strdup_printf (_("Through %s to %s"),
                                     bastion_profile_get_ssh_host (self->profile),
                                     bastion_profile_get_db_host (self->profile));
      adw_preferences_group_set_description (self->connected_group, description);
    }

  update_stats (self);
  load_tools (self);
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
      if (previous != BASTION_CONNECTION_STAGE_READY
          && previous != BASTION_CONNECTION_STAGE_RECONNECTING)
        target = self->disconnect_button;
      break;

    case BASTION_CONNECTION_STAGE_RECONNECTING:
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: The tunnel dropped, reconnecting"), team);
      break;

    case BASTION_CONNECTION_STAGE_FAILED:
      /* Translators: the first %s is a team's name, the second what went wrong */
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

static void
update_state (BastionConnectionView *self)
{
  BastionConnectionStage stage = current_stage (self);
  gboolean read_only = self->profile != NULL && bastion_profile_get_read_only (self->profile);
  gboolean connected = stage_serves (stage);

  /* A late reply after dispose: nothing left to show it in. */
  if (self->stack == NULL)
    return;

  gtk_widget_set_visible (self->idle_read_only_tag, read_only);
  gtk_widget_set_visible (self->connected_read_only_tag, read_only);

  switch (stage)
    {
    case BASTION_CONNECTION_STAGE_IDLE:
      gtk_stack_set_visible_child_name (self->stack, "idle");
      break;

    case BASTION_CONNECTION_STAGE_READY:
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      update_connected (self);
      gtk_stack_set_visible_child_name (self->stack, "connected");
      break;

    case BASTION_CONNECTION_STAGE_FAILED:
      adw_preferences_group_set_title (self->steps_group, _("Connection Failed"));
      gtk_button_set_label (self->cancel_button, _("_Close"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "view.disconnect");
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->cancel_button),
                                   _("Close the connection and start again"));
      update_steps (self);
      update_fix (self);
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

  sync_timer (self);

  if (connected != self->connected)
    {
      self->connected = connected;
      gtk_accessible_update_state (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_STATE_BUSY,
                                   !connected && stage != BASTION_CONNECTION_STAGE_IDLE
                                   && stage != BASTION_CONNECTION_STAGE_FAILED, -1);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
    }

  /* Last: the team page adds or removes the query view on notify::connected, and focus in a
   * query view that is gone is focus to move. */
  announce_state (self, stage);
}

static void
on_stage_changed (BastionConnectionView *self)
{
  update_state (self);
}

/* ---- Prompts ------------------------------------------------------------------------------- */

static void
set_trusting (BastionConnectionView *self,
              gboolean               trusting)
{
  self->trusting = trusting;
  update_state (self);
}

static void
on_host_key_trusted (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(BastionConnectionView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_ssh_session_trust_host_key_finish (BASTION_SSH_SESSION (source), result, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_trusting (self, FALSE);
  if (error != NULL)
    {
      show_toast (self, error->message);
      return;
    }

  start_connect (self);
}

static void
on_host_key_response (AdwMessageDialog      *dialog,
                      const char            *response,
                      BastionConnectionView *self)
{
  BastionSshSession *session;

  if (!g_str_equal (response, "trust") || self->connection == NULL)
    return;

  session = bastion_connection_get_session (self->connection);
  if (session == NULL)
    {
      show_toast (self, _("The host key is no longer known"));
      return;
    }

  /* Records exactly the key the user was shown, not whatever the next connection meets; the
   * file is written in a thread. */
  g_cancellable_cancel (self->trust_cancellable);
  g_clear_object (&self->trust_cancellable);
  self->trust_cancellable = g_cancellable_new ();
  set_trusting (self, TRUE);
  bastion_ssh_session_trust_host_key_async (session, self->trust_cancellable, on_host_key_trusted,
                                            g_object_ref (self));
}

static void
on_dialog_destroyed (BastionConnectionView *self,
                     GtkWidget             *dialog)
{
  if (self->dialog == ADW_MESSAGE_DIALOG (dialog))
    self->dialog = NULL;
}

static void
present_dialog (BastionConnectionView *self,
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
  BastionSshSession *session = bastion_connection_get_session (self->connection);
  const char *fingerprint = session ? bastion_ssh_session_get_host_key_fingerprint (session) : NULL;
  AdwMessageDialog *dialog;
  GtkWidget *box;
  GtkWidget *label;
  g_autofree char *body = NULL;

  if (fingerprint == NULL)
    return;

  body = g_strdup_printf (_("This is the first connection to %s:%u. Make sure that its SHA256 "
                            "fingerprint is the one your administrator gives you (on the "
                            "bastion: “ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub”)."),
                          bastion_profile_get_ssh_host (self->profile),
                          bastion_profile_get_ssh_port (self->profile));
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent_window (self),
                                                       _("Trust This Bastion?"), body));

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
  present_dialog (self, dialog);
}

static void
on_password_changed (AdwMessageDialog *dialog,
                     GtkEditable      *entry)
{
  adw_message_dialog_set_response_enabled (dialog, "connect",
                                           gtk_editable_get_text (entry)[0] != '\0');
}

static void
on_password_activated (AdwMessageDialog *dialog,
                       GtkEditable      *entry)
{
  if (gtk_editable_get_text (entry)[0] != '\0')
    adw_message_dialog_response (dialog, "connect");
}

static void
on_password_response (AdwMessageDialog      *dialog,
                      const char            *response,
                      BastionConnectionView *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  GtkSwitch *remember = g_object_get_data (G_OBJECT (dialog), "remember");
  Prompt prompt = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "prompt"));
  const char *text = gtk_editable_get_text (entry);
  gboolean keep = gtk_switch_get_active (remember);

  if (g_str_equal (response, "connect") && text[0] != '\0' && self->connection != NULL)
    {
      switch (prompt)
        {
        case PROMPT_PASSPHRASE:
          bastion_connection_set_passphrase (self->connection, text, keep);
          break;
        case PROMPT_SSH_PASSWORD:
          bastion_connection_set_ssh_password (self->connection, text, keep);
          break;
        case PROMPT_DB_PASSWORD:
          bastion_connection_set_db_password (self->connection, text, keep);
          bastion_connections_remember_db_password (bastion_connections_get_default (),
                                                    self->profile, text);
          break;
        case PROMPT_NONE:
        case PROMPT_HOST_KEY:
        default:
          g_assert_not_reached ();
        }
      gtk_editable_set_text (entry, "");
      start_connect (self);
      return;
    }

  gtk_editable_set_text (entry, "");
}

static void
prompt_password (BastionConnectionView *self,
                 Prompt                 prompt)
{
  const GError *error = bastion_connection_get_error (self->connection);
  BastionSecrets *secrets = bastion_connections_get_secrets (bastion_connections_get_default ());
  gboolean keyring = bastion_secrets_get_keyring_available (secrets);
  AdwMessageDialog *dialog;
  GtkWidget *list;
  GtkWidget *entry;
  GtkWidget *row;
  GtkWidget *toggle;
  const char *heading;
  const char *entry_title;
  g_autofree char *body = NULL;
  const char *name = bastion_profile_get_display_name (self->profile);

  switch (prompt)
    {
    case PROMPT_PASSPHRASE:
      heading = _("Key Passphrase");
      entry_title = _("Passphrase");
      body = g_strdup_printf (_("The SSH key of “%s” is protected by a passphrase."), name);
      break;
    case PROMPT_SSH_PASSWORD:
      heading = _("SSH Password");
      entry_title = _("Password");
      body = g_strdup_printf (_("Log in to the bastion of “%s” as “%s”."), name,
                              bastion_profile_get_ssh_user (self->profile));
      break;
    case PROMPT_DB_PASSWORD:
    default:
      heading = _("Database Password");
      entry_title = _("Password");
      if (error != NULL && g_error_matches (error, BASTION_CONNECTION_ERROR,
                                            BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG))
        body = g_strdup_printf (_("The database refused the password for “%s”. Type the "
                                  "current one."), bastion_profile_get_db_user (self->profile));
      else
        body = g_strdup_printf (_("The tunnel is open. Log in to the database “%s” as “%s”."),
                                bastion_profile_get_db_name (self->profile),
                                bastion_profile_get_db_user (self->profile));
      break;
    }

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent_window (self), heading, body));

  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");

  entry = adw_password_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (entry), entry_title);
  gtk_list_box_append (GTK_LIST_BOX (list), entry);

  row = adw_action_row_new ();
  toggle = gtk_switch_new ();
  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Remember in the Keyring"), -1);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Remember in the Keyring"));
  if (!keyring)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   _("No keyring is available: kept until you disconnect"));
      gtk_widget_set_sensitive (row, FALSE);
    }
  gtk_switch_set_active (GTK_SWITCH (toggle), keyring);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
  gtk_list_box_append (GTK_LIST_BOX (list), row);
  adw_message_dialog_set_extra_child (dialog, list);

  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "connect", _("C_onnect"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "connect", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_response_enabled (dialog, "connect", FALSE);
  adw_message_dialog_set_default_response (dialog, "connect");
  adw_message_dialog_set_close_response (dialog, "cancel");

  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_object_set_data (G_OBJECT (dialog), "remember", toggle);
  g_object_set_data (G_OBJECT (dialog), "prompt", GINT_TO_POINTER (prompt));
  g_signal_connect_object (entry, "changed", G_CALLBACK (on_password_changed), dialog,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (entry, "entry-activated", G_CALLBACK (on_password_activated), dialog,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_password_response), self, 0);

  self->last_prompt = prompt;
  present_dialog (self, dialog);
  gtk_widget_grab_focus (entry);
}

static Prompt
prompt_for_error (BastionConnectionView *self,
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

static void
show_prompt (BastionConnectionView *self,
             Prompt                 prompt)
{
  if (prompt == PROMPT_HOST_KEY)
    prompt_host_key (self);
  else if (prompt != PROMPT_NONE)
    prompt_password (self, prompt);
}

/* ---- AWS ----------------------------------------------------------------------------------- */

static void
set_aws_busy (BastionConnectionView *self,
              gboolean               busy)
{
  self->aws_busy = busy;
  if (busy)
    g_clear_pointer (&self->aws_error, g_free);
  if (self->stack != NULL && current_stage (self) == BASTION_CONNECTION_STAGE_FAILED)
    update_fix (self);
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
  if (self->stack != NULL && current_stage (self) == BASTION_CONNECTION_STAGE_FAILED)
    update_fix (self);
}

static void
describe_instance (BastionConnectionView *self)
{
  g_autoptr(BastionAws) aws = new_aws (self);
  g_autofree char *name = dup_instance_name (self);

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
  set_aws_busy (self, FALSE);
}

static void
check_ip_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  g_autoptr(BastionAws) aws = NULL;
  g_autofree char *group = NULL;

  if (self->profile == NULL || !has_aws_names (self) || self->aws_busy)
    return;

  aws = new_aws (self);
  group = dup_group_name (self);
  set_aws_busy (self, TRUE);
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
          set_aws_busy (self, FALSE);
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
  show_toast (self, message);

  g_clear_pointer (&self->diagnosis, bastion_aws_diagnosis_free);
  set_aws_busy (self, FALSE);
  start_connect (self);
  allow_data_free (data);
}

static void
allow_my_ip (BastionConnectionView *self,
             BastionAwsAllowMode    mode)
{
  g_autoptr(BastionAws) aws = new_aws (self);
  AllowData *data = g_new0 (AllowData, 1);

  data->self = g_object_ref (self);
  data->mode = mode;
  data->group = dup_group_name (self);
  set_aws_busy (self, TRUE);
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

static void
allow_my_ip_action (GtkWidget  *widget,
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
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent_window (self),
                                                       _("Replace the SSH Rule?"), body));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "replace", _("_Replace Rule"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "replace", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_allow_confirmed), self, 0);
  present_dialog (self, dialog);
}

static void
allow_temporarily_action (GtkWidget  *widget,
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
          set_aws_busy (self, FALSE);
        }
      return;
    }

  /* Without an Elastic IP the bastion comes back under a new name. */
  if (bastion_aws_instance_dns_changed (instance, bastion_profile_get_ssh_host (self->profile)))
    {
      g_autofree char *message = g_strdup_printf (_("The bastion’s address is now %s"),
                                                  instance->public_dns);

      bastion_profile_set_ssh_host (self->profile, instance->public_dns);
      show_toast (self, message);
    }

  g_clear_pointer (&self->instance, bastion_aws_instance_free);
  self->instance = instance;
  set_aws_busy (self, FALSE);
  start_connect (self);
}

static void
start_bastion_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  g_autoptr(BastionAws) aws = NULL;
  g_autofree char *name = NULL;

  if (self->profile == NULL || !has_aws_names (self) || self->aws_busy)
    return;

  aws = new_aws (self);
  name = dup_instance_name (self);
  set_aws_busy (self, TRUE);
  gtk_label_set_label (self->diagnosis_title,
                       _("Starting the bastion… this takes a minute or two"));
  bastion_aws_start_bastion_async (aws, name, self->aws_cancellable, on_bastion_started,
                                   g_object_ref (self));
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
    return;

  /* The page moved on to another team, or the user cancelled. */
  if (connection != self->connection || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* A failure to reach the bastion may be a stopped instance: ask AWS (a read, no change). */
  if (has_aws_names (self)
      && bastion_connection_get_failed_stage (connection) <= BASTION_CONNECTION_STAGE_CONNECTING
      && (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_REFUSED)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_DNS)
          || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_UNREACHABLE)))
    describe_instance (self);

  show_prompt (self, prompt_for_error (self, error));
}

static void
start_connect (BastionConnectionView *self)
{
  BastionConnectionStage stage = current_stage (self);

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
  start_connect (BASTION_CONNECTION_VIEW (widget));
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
  update_state (self);
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

  show_prompt (self, prompt_for_error (self, bastion_connection_get_error (self->connection)));
}

static void
copy_address_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  BastionTunnel *tunnel = self->connection ? bastion_connection_get_tunnel (self->connection)
                                           : NULL;
  g_autofree char *address = NULL;

  if (tunnel == NULL)
    return;

  address = g_strdup_printf ("127.0.0.1:%u", bastion_tunnel_get_local_port (tunnel));
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), address);
  show_toast (self, _("Address copied"));
}

static void
copy_uri_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  g_autoptr(BastionLaunchTarget) target = NULL;
  g_autofree char *uri = NULL;

  if (self->connection == NULL)
    return;

  target = bastion_connection_dup_launch_target (self->connection);
  if (target == NULL)
    return;

  uri = bastion_launch_target_dup_uri (target);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), uri);
  show_toast (self, _("Connection URI copied (without the password)"));
}

typedef struct
{
  BastionConnectionView *self;
  BastionLauncherTool    tool;
  BastionLaunchTarget   *target;
} LaunchData;

static void
launch_data_free (LaunchData *data)
{
  g_object_unref (data->self);
  bastion_launch_target_free (data->target);
  g_free (data);
}

static void
on_tool_launched (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  LaunchData *data = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_launcher_launch_finish (BASTION_LAUNCHER (source), result, &error))
    show_toast (data->self, error->message);
  launch_data_free (data);
}

static void
on_launch_password (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  LaunchData *data = user_data;
  BastionConnections *registry = BASTION_CONNECTIONS (source);
  g_autoptr(GError) error = NULL;
  char *password;

  password = bastion_connections_lookup_db_password_finish (registry, result, &error);
  if (error != NULL)
    g_debug ("No database password for the tool: %s", error->message);

  bastion_launcher_launch_async (bastion_connections_get_launcher (registry), data->tool,
                                 data->target, password, NULL, on_tool_launched, data);
  bastion_secret_free (password);
}

static void
open_tool_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (widget);
  BastionLaunchTarget *target;
  LaunchData *data;

  if (self->connection == NULL)
    return;

  target = bastion_connection_dup_launch_target (self->connection);
  if (target == NULL)
    return;

  data = g_new0 (LaunchData, 1);
  data->self = g_object_ref (self);
  data->tool = g_variant_get_int32 (parameter);
  data->target = target;

  /* Logged in as the team's read-only role: the tool gets that role's password. */
  if (g_strcmp0 (target->password_kind, "readonly-password") == 0)
    {
      BastionConnections *registry = bastion_connections_get_default ();
      char *password = bastion_connection_dup_readonly_password (self->connection);

      bastion_launcher_launch_async (bastion_connections_get_launcher (registry), data->tool,
                                     data->target, password, NULL, on_tool_launched, data);
      bastion_secret_free (password);
      return;
    }

  bastion_connections_lookup_db_password_async (bastion_connections_get_default (),
                                                self->profile, NULL, on_launch_password, data);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_connection_view_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (bastion_connection_view_parent_class)->map (widget);
  sync_timer (BASTION_CONNECTION_VIEW (widget));
  update_stats (BASTION_CONNECTION_VIEW (widget));
}

static void
bastion_connection_view_unmap (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (bastion_connection_view_parent_class)->unmap (widget);
  sync_timer (BASTION_CONNECTION_VIEW (widget));
}

static void
bastion_connection_view_dispose (GObject *object)
{
  BastionConnectionView *self = BASTION_CONNECTION_VIEW (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_cancellable_cancel (self->aws_cancellable);
  g_cancellable_cancel (self->tools_cancellable);
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
  g_clear_object (&self->tools_cancellable);
  g_clear_object (&self->trust_cancellable);
  g_clear_pointer (&self->tools, g_ptr_array_unref);
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
  widget_class->map = bastion_connection_view_map;
  widget_class->unmap = bastion_connection_view_unmap;

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
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView,
                                        allow_temporarily_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, start_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, retry_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, connected_group);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView,
                                        connected_read_only_tag);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, disconnect_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, address_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, traffic_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, channels_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, uptime_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, tools_box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, copy_uri_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, more_tools_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionView, more_tools_box);

  gtk_widget_class_install_action (widget_class, "view.connect", NULL, connect_action);
  gtk_widget_class_install_action (widget_class, "view.disconnect", NULL, disconnect_action);
  gtk_widget_class_install_action (widget_class, "view.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "view.prompt-again", NULL, prompt_again_action);
  gtk_widget_class_install_action (widget_class, "view.check-ip", NULL, check_ip_action);
  gtk_widget_class_install_action (widget_class, "view.allow-my-ip", NULL, allow_my_ip_action);
  gtk_widget_class_install_action (widget_class, "view.allow-temporarily", NULL,
                                   allow_temporarily_action);
  gtk_widget_class_install_action (widget_class, "view.start-bastion", NULL,
                                   start_bastion_action);
  gtk_widget_class_install_action (widget_class, "view.copy-address", NULL, copy_address_action);
  gtk_widget_class_install_action (widget_class, "view.copy-uri", NULL, copy_uri_action);
  gtk_widget_class_install_action (widget_class, "view.open-tool", "i", open_tool_action);
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
  show_fix_button (self->allow_temporarily_button, FALSE);
  show_fix_button (self->start_button, FALSE);
  self->aws_cancellable = g_cancellable_new ();
  update_state (self);
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
  update_state (self);
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
  self->announced_stage = current_stage (self);

  update_idle_label (self);
  update_state (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROFILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
}
