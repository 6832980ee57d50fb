/* bastion-team-row.c
 *
 * A team in the sidebar: its name, the environment's colour and label, and what it connects to
 * (or why it cannot).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-color-chip.h"
#include "bastion-connections.h"
#include "bastion-app-util.h"
#include "bastion-team-row.h"

struct _BastionTeamRow
{
  GtkListBoxRow     parent_instance;

  /* Owned */
  BastionProfile   *profile;

  /* Template widgets */
  BastionColorChip *chip;
  GtkLabel         *title_label;
  GtkLabel         *subtitle_label;
  GtkLabel         *env_label;
  GtkImage         *state_icon;
};

enum {
  PROP_0,
  PROP_PROFILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionTeamRow, bastion_team_row, GTK_TYPE_LIST_BOX_ROW)

static void
bastion_team_row_update (BastionTeamRow *self)
{
  BastionProfile *profile = self->profile;
  const char *env_label;
  const char *host;
  g_autofree char *subtitle = NULL;

  if (profile == NULL)
    return;

  env_label = bastion_profile_get_env_label (profile);
  host = bastion_profile_get_ssh_host (profile);

  if (!bastion_profile_get_has_db_access (profile))
    subtitle = g_strdup (_("No database access"));
  else if (host != NULL && *host != '\0')
    subtitle = g_strdup (host);
  else
    subtitle = g_strdup (_("No bastion host set"));

  gtk_label_set_label (self->title_label, bastion_profile_get_display_name (profile));
  gtk_label_set_label (self->subtitle_label, subtitle);
  bastion_color_chip_set_color (self->chip, bastion_profile_get_env_color (profile));
  /* A colour without a label still says in words what it is: never colour alone. */
  if (env_label == NULL || *env_label == '\0')
    env_label = bastion_color_chip_get_color_name (self->chip);
  gtk_label_set_label (self->env_label, env_label != NULL ? env_label : "");
  gtk_widget_set_visible (GTK_WIDGET (self->env_label), env_label != NULL && *env_label != '\0');

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  bastion_profile_get_display_name (profile),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  subtitle,
                                  -1);
}

static void
bastion_team_row_dispose (GObject *object)
{
  BastionTeamRow *self = BASTION_TEAM_ROW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_TEAM_ROW);
  g_clear_object (&self->profile);

  G_OBJECT_CLASS (bastion_team_row_parent_class)->dispose (object);
}

static void
bastion_team_row_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  BastionTeamRow *self = BASTION_TEAM_ROW (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_object (value, self->profile);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The connection's state beside the team: an icon, its tooltip and accessible name (never the
 * colour alone). */
static void
bastion_team_row_update_state (BastionTeamRow    *self,
                               GParamSpec        *pspec,
                               BastionConnection *connection)
{
  const char *icon = NULL;
  const char *text = NULL;
  const char *style = NULL;
  GtkWidget *widget = GTK_WIDGET (self->state_icon);

  switch (bastion_connection_get_stage (connection))
    {
    case BASTION_CONNECTION_STAGE_READY:
      icon = "emblem-ok-symbolic", text = _("Connected"), style = "success";
      break;
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      icon = "view-refresh-symbolic", text = _("Reconnecting"), style = "warning";
      break;
    case BASTION_CONNECTION_STAGE_FAILED:
      if (bastion_app_connection_awaits_user (connection))
        icon = "dialog-question-symbolic", text = _("Waiting for you"), style = "accent";
      else
        icon = "dialog-error-symbolic", text = _("Connection failed"), style = "error";
      break;
    case BASTION_CONNECTION_STAGE_IDLE:
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
      icon = "content-loading-symbolic", text = _("Connecting"), style = "dim-label";
      break;
    }

  gtk_widget_remove_css_class (widget, "success");
  gtk_widget_remove_css_class (widget, "warning");
  gtk_widget_remove_css_class (widget, "error");
  gtk_widget_remove_css_class (widget, "dim-label");
  gtk_widget_remove_css_class (widget, "accent");
  gtk_widget_set_visible (widget, icon != NULL);
  if (icon == NULL)
    return;

  gtk_image_set_from_icon_name (self->state_icon, icon);
  gtk_widget_add_css_class (widget, style);
  gtk_widget_set_tooltip_text (widget, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

static void
bastion_team_row_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  BastionTeamRow *self = BASTION_TEAM_ROW (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_assert (self->profile == NULL);
      self->profile = g_value_dup_object (value);
      if (self->profile != NULL)
        g_signal_connect_object (self->profile, "notify",
                                 G_CALLBACK (bastion_team_row_update), self,
                                 G_CONNECT_SWAPPED);
      bastion_team_row_update (self);
      if (self->profile != NULL)
        {
          BastionConnection *connection =
            bastion_connections_lookup (bastion_connections_get_default (), self->profile);

          g_signal_connect_object (connection, "notify::stage",
                                   G_CALLBACK (bastion_team_row_update_state), self,
                                   G_CONNECT_SWAPPED);
          bastion_team_row_update_state (self, NULL, connection);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_team_row_class_init (BastionTeamRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_team_row_dispose;
  object_class->get_property = bastion_team_row_get_property;
  object_class->set_property = bastion_team_row_set_property;

  properties[PROP_PROFILE] =
    g_param_spec_object ("profile", NULL, NULL,
                         BASTION_TYPE_PROFILE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (BASTION_TYPE_COLOR_CHIP);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/bastiongtk/Bastion/bastion-team-row.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionTeamRow, chip);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamRow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamRow, env_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamRow, state_icon);
}

static void
bastion_team_row_init (BastionTeamRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
bastion_team_row_new (BastionProfile *profile)
{
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);

  return g_object_new (BASTION_TYPE_TEAM_ROW, "profile", profile, NULL);
}

BastionProfile *
bastion_team_row_get_profile (BastionTeamRow *self)
{
  g_return_val_if_fail (BASTION_IS_TEAM_ROW (self), NULL);

  return self->profile;
}
