/* bastion-team-page.c
 *
 * The selected team: where it connects, how, and whether its key file is usable.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-app-util.h"
#include "bastion-color-chip.h"
#include "bastion-connection-view.h"
#include "bastion-key-file.h"
#include "bastion-query-view.h"
#include "bastion-readonly-offer.h"
#include "bastion-secrets.h"
#include "bastion-tab-keeper.h"
#include "bastion-team-page.h"

struct _BastionTeamPage
{
  GtkWidget         parent_instance;

  /* Owned */
  BastionProfile   *profile;
  GCancellable     *key_check;
  GCancellable     *query_login;
  BastionTabKeeper *tab_keeper;

  /* Not owned: the query view of the connected profile, inside query_box */
  GtkWidget        *query_view;

  /* Template widgets */
  GtkWidget        *page_box;
  GtkWidget        *scroller;
  BastionConnectionView *connection_view;
  GtkWidget        *query_box;
  BastionColorChip *chip;
  GtkLabel         *title_label;
  GtkLabel         *subtitle_label;
  GtkLabel         *env_label;
  AdwStatusPage    *no_access_page;
  GtkWidget        *connection_group;
  AdwActionRow     *bastion_row;
  AdwActionRow     *auth_row;
  AdwActionRow     *database_row;
  AdwActionRow     *local_row;
  AdwActionRow     *access_row;
  GtkWidget        *key_group;
  AdwActionRow     *key_row;
  GtkImage         *key_icon;
  GtkWidget        *fix_button;
  GtkWidget        *passphrase_button;

  guint             showing_connected : 1;
  guint             writes_allowed : 1;
};

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_WORKSPACE_CONNECTION,
  PROP_WRITES_ALLOWED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionTeamPage, bastion_team_page, GTK_TYPE_WIDGET)

typedef struct
{
  BastionKeyFileStatus status;
  BastionKeyFileInfo   info;
  char                *message;
} KeyCheck;

static void
key_check_free (KeyCheck *check)
{
  g_free (check->message);
  g_free (check);
}

static const char *
or_unset (const char *value)
{
  /* Translators: shown for a profile field that has no value yet */
  return value != NULL && *value != '\0' ? value : _("not set");
}

static void
key_check_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  KeyCheck *check = g_new0 (KeyCheck, 1);

  check->status = bastion_key_file_check (task_data, &check->info, &check->message);
  g_task_return_pointer (task, check, (GDestroyNotify) key_check_free);
}

static void
key_check_done (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  BastionTeamPage *self = BASTION_TEAM_PAGE (object);
  KeyCheck *check = g_task_propagate_pointer (G_TASK (result), NULL);
  const char *title;
  gboolean ok;

  if (check == NULL)
    return;

  /* An encrypted key is fine: it only needs its passphrase, which the profile can keep. */
  ok = check->status == BASTION_KEY_FILE_OK || check->status == BASTION_KEY_FILE_ENCRYPTED;
  if (check->status == BASTION_KEY_FILE_OK)
    title = _("The key file is ready");
  else if (check->status == BASTION_KEY_FILE_ENCRYPTED)
    title = _("The key file is protected by a passphrase");
  else
    title = _("The key file needs attention");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->key_row), title);
  if (check->message != NULL)
    adw_action_row_set_subtitle (self->key_row, check->message);
  else
    {
      const char *key_file = bastion_profile_get_key_file (self->profile);
      g_autofree char *path = bastion_app_dup_display_path (key_file);

      adw_action_row_set_subtitle (self->key_row, path);
    }
  if (check->status == BASTION_KEY_FILE_ENCRYPTED)
    gtk_image_set_from_icon_name (self->key_icon, "dialog-password-symbolic");
  else
    gtk_image_set_from_icon_name (self->key_icon,
                                  ok ? "emblem-ok-symbolic" : "dialog-warning-symbolic");
  gtk_widget_set_visible (self->fix_button,
                          check->status == BASTION_KEY_FILE_TOO_OPEN && check->info.can_fix);
  gtk_widget_set_visible (self->passphrase_button, check->status == BASTION_KEY_FILE_ENCRYPTED);
  if (ok)
    gtk_widget_remove_css_class (GTK_WIDGET (self->key_icon), "warning");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->key_icon), "warning");

  key_check_free (check);
}

void
bastion_team_page_recheck_key (BastionTeamPage *self)
{
  g_autoptr(GTask) task = NULL;
  const char *key_file;

  g_return_if_fail (BASTION_IS_TEAM_PAGE (self));

  g_cancellable_cancel (self->key_check);
  g_clear_object (&self->key_check);

  key_file = self->profile != NULL ? bastion_profile_get_key_file (self->profile) : NULL;
  if (self->profile == NULL
      || !bastion_profile_get_has_db_access (self->profile)
      || bastion_profile_get_auth_method (self->profile) != BASTION_AUTH_METHOD_KEY)
    {
      gtk_widget_set_visible (self->key_group, FALSE);
      return;
    }

  gtk_widget_set_visible (self->key_group, TRUE);
  gtk_widget_set_visible (self->fix_button, FALSE);
  gtk_widget_set_visible (self->passphrase_button, FALSE);

  if (key_file == NULL || *key_file == '\0')
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->key_row),
                                     _("No key file chosen"));
      adw_action_row_set_subtitle (self->key_row,
                                   _("Choose the team’s private key in the profile"));
      gtk_image_set_from_icon_name (self->key_icon, "dialog-warning-symbolic");
      return;
    }

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->key_row),
                                 _("Checking the key file…"));
  {
    g_autofree char *path = bastion_app_dup_display_path (key_file);

    adw_action_row_set_subtitle (self->key_row, path);
  }

  /* The check reads the file: keep it off the main loop. */
  self->key_check = g_cancellable_new ();
  task = g_task_new (self, self->key_check, key_check_done, NULL);
  g_task_set_source_tag (task, bastion_team_page_recheck_key);
  g_task_set_task_data (task, g_strdup (key_file), g_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, key_check_thread);
}

/* The heading: name, where the profile comes from, the environment's colour and label. */
static void
update_heading (BastionTeamPage *self,
                BastionProfile  *profile)
{
  const char *env_label = bastion_profile_get_env_label (profile);
  g_autofree char *subtitle = NULL;

  gtk_label_set_label (self->title_label, bastion_profile_get_display_name (profile));
  if (bastion_profile_get_source (profile) == BASTION_PROFILE_SOURCE_SIMPLEIOT)
    {
      g_autofree char *dir = bastion_app_dup_display_path (bastion_profile_get_team_dir (profile));

      /* Translators: %s is the team's folder, e.g. ~/.simpleiot/acme */
      subtitle = g_strdup_printf (_("SimpleIOT team in %s"), or_unset (dir));
    }
  else
    subtitle = g_strdup (_("Profile added by hand"));
  gtk_label_set_label (self->subtitle_label, subtitle);
  bastion_color_chip_set_color (self->chip, bastion_profile_get_env_color (profile));
  gtk_widget_set_visible (GTK_WIDGET (self->chip), bastion_profile_get_env_color (profile) != NULL);
  /* A colour without a label still says in words what it is: never colour alone. */
  if (env_label == NULL || *env_label == '\0')
    env_label = bastion_color_chip_get_color_name (self->chip);
  gtk_label_set_label (self->env_label, env_label != NULL ? env_label : "");
  gtk_widget_set_visible (GTK_WIDGET (self->env_label), env_label != NULL && *env_label != '\0');
}

static const char *
auth_method_label (BastionAuthMethod method)
{
  switch (method)
    {
    case BASTION_AUTH_METHOD_KEY:
      return _("Key file");
    case BASTION_AUTH_METHOD_AGENT:
      return _("SSH agent");
    case BASTION_AUTH_METHOD_PASSWORD:
      return _("Password");
    default:
      g_assert_not_reached ();
    }
}

/* The connection rows: bastion, authentication, database, local port, access. */
static void
update_connection_rows (BastionTeamPage *self,
                        BastionProfile  *profile)
{
  gboolean read_only = bastion_profile_get_read_only (profile);
  g_autofree char *bastion = NULL;
  g_autofree char *database = NULL;
  g_autofree char *local = NULL;

  bastion = g_strdup_printf ("%s@%s:%u",
                             or_unset (bastion_profile_get_ssh_user (profile)),
                             or_unset (bastion_profile_get_ssh_host (profile)),
                             bastion_profile_get_ssh_port (profile));
  adw_action_row_set_subtitle (self->bastion_row, bastion);
  adw_action_row_set_subtitle (self->auth_row,
                               auth_method_label (bastion_profile_get_auth_method (profile)));

  database = g_strdup_printf ("%s@%s:%u/%s",
                              or_unset (bastion_profile_get_db_user (profile)),
                              or_unset (bastion_profile_get_db_host (profile)),
                              bastion_profile_get_db_port (profile),
                              or_unset (bastion_profile_get_db_name (profile)));
  adw_action_row_set_subtitle (self->database_row, database);

  if (bastion_profile_get_local_port (profile) != 0)
    local = g_strdup_printf ("127.0.0.1:%u", bastion_profile_get_local_port (profile));
  else
    local = g_strdup (_("127.0.0.1, a free port chosen when connecting"));
  adw_action_row_set_subtitle (self->local_row, local);

  adw_action_row_set_icon_name (self->access_row,
                                read_only ? "changes-prevent-symbolic" : "changes-allow-symbolic");
  adw_action_row_set_subtitle (self->access_row,
                               read_only ? _("Read-only: changes need your confirmation")
                                         : _("Read and write"));
}

static void
bastion_team_page_update (BastionTeamPage *self)
{
  BastionProfile *profile = self->profile;
  gboolean access;

  if (profile == NULL)
    return;

  update_heading (self, profile);

  access = bastion_profile_get_has_db_access (profile);
  gtk_widget_set_visible (GTK_WIDGET (self->no_access_page), !access);
  gtk_widget_set_visible (self->connection_group, access);
  if (!access)
    {
      const char *reason = bastion_profile_get_no_access_reason (profile);

      if (reason == NULL)
        reason = _("This team’s configuration has no bastion host or database.");
      adw_status_page_set_description (self->no_access_page, reason);
    }

  update_connection_rows (self, profile);
}

static void
on_profile_notify (BastionTeamPage *self,
                   GParamSpec      *pspec)
{
  bastion_team_page_update (self);

  if (g_str_equal (pspec->name, "key-file")
      || g_str_equal (pspec->name, "auth-method")
      || g_str_equal (pspec->name, "has-db-access"))
    bastion_team_page_recheck_key (self);
}

static void
fix_key_permissions_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  BastionTeamPage *self = BASTION_TEAM_PAGE (widget);
  g_autoptr(GError) error = NULL;

  if (self->profile == NULL)
    return;

  if (!bastion_key_file_fix_permissions (bastion_profile_get_key_file (self->profile), &error))
    {
      adw_action_row_set_subtitle (self->key_row, error->message);
      return;
    }

  bastion_team_page_recheck_key (self);
}

/* ---- The query view below a connected team ---------------------------------------------- */

static void
set_writes_allowed (BastionTeamPage *self,
                    gboolean         writes_allowed)
{
  if (self->writes_allowed == !!writes_allowed)
    return;
  self->writes_allowed = !!writes_allowed;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WRITES_ALLOWED]);
}

/* The tabs are kept (titles and SQL) before their view goes: Connect brings them back. */
static void
drop_tab_keeper (BastionTeamPage *self)
{
  if (self->tab_keeper == NULL)
    return;

  bastion_tab_keeper_save_now (self->tab_keeper);
  g_signal_handlers_disconnect_by_data (self->tab_keeper, self);
  g_clear_object (&self->tab_keeper);
}

static void
drop_query_view (BastionTeamPage *self)
{
  g_cancellable_cancel (self->query_login);
  g_clear_object (&self->query_login);
  drop_tab_keeper (self);
  if (self->query_view != NULL)
    {
      gtk_box_remove (GTK_BOX (self->query_box), self->query_view);
      self->query_view = NULL;
    }
  set_writes_allowed (self, FALSE);
  gtk_widget_set_visible (self->query_box, FALSE);
  gtk_widget_set_visible (self->scroller, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE_CONNECTION]);
}

static void
on_writes_allowed (BastionTeamPage *self)
{
  set_writes_allowed (self, bastion_tab_keeper_get_writes_allowed (self->tab_keeper));
}

static void
on_query_database (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  BastionConnection *connection = BASTION_CONNECTION (source);
  g_autoptr(BastionTeamPage) self = user_data;
  g_autoptr(BastionDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  BastionProfile *profile;

  database = bastion_connection_connect_database_finish (connection, result, &error);
  if (database == NULL)
    {
      /* The connection view already said why a login fails; a cancel needs no word. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No query view: %s", error->message);
      return;
    }
  if (self->profile == NULL || bastion_connection_get_profile (connection) != self->profile ||
      self->query_view != NULL)
    return;

  profile = self->profile;
  self->query_view = bastion_query_view_new (database, bastion_profile_get_id (profile),
                                             bastion_profile_get_source (profile) ==
                                             BASTION_PROFILE_SOURCE_SIMPLEIOT);
  bastion_query_view_set_connection (BASTION_QUERY_VIEW (self->query_view), connection);
  /* A read-only team without its read-only login: offered once, when writes are allowed. */
  if (bastion_profile_get_read_only (profile))
    {
      char *readonly = bastion_connection_dup_readonly_password (connection);

      if (readonly == NULL)
        bastion_readonly_offer_watch (self->query_view, database,
                                      bastion_profile_get_id (profile),
                                      bastion_profile_get_display_name (profile));
      bastion_secret_free (readonly);
    }
  gtk_widget_set_vexpand (self->query_view, TRUE);
  gtk_box_append (GTK_BOX (self->query_box), self->query_view);

  self->tab_keeper = bastion_tab_keeper_new (BASTION_QUERY_VIEW (self->query_view),
                                             bastion_profile_get_id (profile),
                                             bastion_profile_get_env_color (profile));
  g_signal_connect_object (self->tab_keeper, "notify::writes-allowed",
                           G_CALLBACK (on_writes_allowed), self, G_CONNECT_SWAPPED);
  bastion_tab_keeper_restore (self->tab_keeper);
}

static void
on_connected_changed (BastionTeamPage *self)
{
  BastionConnection *connection = bastion_connection_view_get_connection (self->connection_view);
  gboolean connected = bastion_connection_view_get_connected (self->connection_view);

  if (!connected || connection == NULL)
    {
      drop_query_view (self);
      if (self->showing_connected)
        {
          /* The profile's rows come back. */
          self->showing_connected = FALSE;
          bastion_team_page_update (self);
          bastion_team_page_recheck_key (self);
        }
      return;
    }

  /* Connected, the whole page is the workspace: the connection bar, then the query view. */
  self->showing_connected = TRUE;
  gtk_widget_set_visible (self->connection_group, FALSE);
  gtk_widget_set_visible (self->key_group, FALSE);
  gtk_widget_set_visible (self->scroller, FALSE);
  gtk_widget_set_visible (self->query_box, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE_CONNECTION]);
  if (self->query_view != NULL || self->query_login != NULL)
    return;

  self->query_login = g_cancellable_new ();
  bastion_connection_connect_database_async (connection, self->query_login, on_query_database,
                                             g_object_ref (self));
}

void
bastion_team_page_connect (BastionTeamPage *self)
{
  g_return_if_fail (BASTION_IS_TEAM_PAGE (self));

  gtk_widget_activate_action (GTK_WIDGET (self->connection_view), "view.connect", NULL);
}

void
bastion_team_page_disconnect (BastionTeamPage *self)
{
  g_return_if_fail (BASTION_IS_TEAM_PAGE (self));

  gtk_widget_activate_action (GTK_WIDGET (self->connection_view), "view.disconnect", NULL);
}

static void
bastion_team_page_dispose (GObject *object)
{
  BastionTeamPage *self = BASTION_TEAM_PAGE (object);

  g_cancellable_cancel (self->key_check);
  g_clear_object (&self->key_check);
  g_cancellable_cancel (self->query_login);
  g_clear_object (&self->query_login);
  drop_tab_keeper (self);
  self->query_view = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_TEAM_PAGE);
  g_clear_object (&self->profile);

  G_OBJECT_CLASS (bastion_team_page_parent_class)->dispose (object);
}

static void
bastion_team_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  BastionTeamPage *self = BASTION_TEAM_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_object (value, self->profile);
      break;

    case PROP_WORKSPACE_CONNECTION:
      g_value_set_object (value, bastion_team_page_get_workspace_connection (self));
      break;

    case PROP_WRITES_ALLOWED:
      g_value_set_boolean (value, self->writes_allowed);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_team_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  BastionTeamPage *self = BASTION_TEAM_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      bastion_team_page_set_profile (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_team_page_class_init (BastionTeamPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_team_page_dispose;
  object_class->get_property = bastion_team_page_get_property;
  object_class->set_property = bastion_team_page_set_property;

  properties[PROP_PROFILE] =
    g_param_spec_object ("profile", NULL, NULL,
                         BASTION_TYPE_PROFILE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_WORKSPACE_CONNECTION] =
    g_param_spec_object ("workspace-connection", NULL, NULL, BASTION_TYPE_CONNECTION,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_WRITES_ALLOWED] =
    g_param_spec_boolean ("writes-allowed", NULL, NULL, FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (BASTION_TYPE_COLOR_CHIP);
  g_type_ensure (BASTION_TYPE_CONNECTION_VIEW);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/bastiongtk/Bastion/bastion-team-page.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, page_box);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, connection_view);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, query_box);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, chip);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, env_label);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, no_access_page);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, connection_group);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, bastion_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, auth_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, database_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, local_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, access_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, key_group);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, key_row);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, key_icon);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, fix_button);
  gtk_widget_class_bind_template_child (widget_class, BastionTeamPage, passphrase_button);

  gtk_widget_class_install_action (widget_class, "team.fix-key-permissions", NULL,
                                   fix_key_permissions_action);
}

static void
bastion_team_page_init (BastionTeamPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->connection_view, "notify::connected",
                           G_CALLBACK (on_connected_changed), self, G_CONNECT_SWAPPED);
}

GtkWidget *
bastion_team_page_new (void)
{
  return g_object_new (BASTION_TYPE_TEAM_PAGE, NULL);
}

BastionConnection *
bastion_team_page_get_workspace_connection (BastionTeamPage *self)
{
  g_return_val_if_fail (BASTION_IS_TEAM_PAGE (self), NULL);

  return self->showing_connected && gtk_widget_get_visible (self->query_box)
         ? bastion_connection_view_get_connection (self->connection_view) : NULL;
}

gboolean
bastion_team_page_get_writes_allowed (BastionTeamPage *self)
{
  g_return_val_if_fail (BASTION_IS_TEAM_PAGE (self), FALSE);

  return self->writes_allowed;
}

BastionProfile *
bastion_team_page_get_profile (BastionTeamPage *self)
{
  g_return_val_if_fail (BASTION_IS_TEAM_PAGE (self), NULL);

  return self->profile;
}

void
bastion_team_page_set_profile (BastionTeamPage *self,
                               BastionProfile  *profile)
{
  g_return_if_fail (BASTION_IS_TEAM_PAGE (self));
  g_return_if_fail (profile == NULL || BASTION_IS_PROFILE (profile));

  if (self->profile == profile)
    return;

  if (self->profile != NULL)
    g_signal_handlers_disconnect_by_func (self->profile, on_profile_notify, self);
  g_set_object (&self->profile, profile);
  if (profile != NULL)
    g_signal_connect_object (profile, "notify", G_CALLBACK (on_profile_notify), self,
                             G_CONNECT_SWAPPED);

  drop_query_view (self);
  bastion_connection_view_set_profile (self->connection_view, profile);
  bastion_team_page_update (self);
  bastion_team_page_recheck_key (self);
  on_connected_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROFILE]);
}
