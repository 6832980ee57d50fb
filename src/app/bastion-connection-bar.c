/* bastion-connection-bar.c
 *
 * A connected team's status strip: the whole window below it is the workspace, so the state,
 * the route, the read/write mode, the tunnel's numbers, the other tools and Disconnect live here
 * in one line (the numbers and tools in popovers, as Builder and Text Editor keep theirs).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-connection-bar.h"
#include "bastion-connections.h"

struct _BastionConnectionBar
{
  GtkWidget          parent_instance;

  /* Owned */
  BastionProfile    *profile;
  BastionConnection *connection;
  GPtrArray         *tools;             /* BastionToolInfo, once detected */
  GCancellable      *cancellable;
  gulong             stage_handler;
  guint              timer_id;

  char              *summary;           /* "Connected · Bastion … · Database …" */
  const char        *state_text;

  /* Template widgets */
  AdwSqueezer       *squeezer;
  GtkWidget         *box;
  GtkWidget         *medium_box;
  GtkMenuButton     *medium_tunnel_button;
  GtkMenuButton     *medium_open_button;
  GtkWidget         *narrow_box;
  GtkImage          *narrow_mode_icon;
  GtkMenuButton     *narrow_tunnel_button;
  GtkMenuButton     *narrow_open_button;
  GtkLabel          *mode_pill;
  GtkWidget         *tunnel_button;
  GtkPopover        *tunnel_popover;
  AdwActionRow      *bastion_row;
  AdwActionRow      *database_row;
  AdwActionRow      *address_row;
  AdwActionRow      *traffic_row;
  AdwActionRow      *channels_row;
  AdwActionRow      *uptime_row;
  GtkWidget         *open_button;
  GtkPopover        *open_popover;
  GtkBox            *tools_box;
  GtkWidget         *disconnect_button;

  BastionConnectionStage shown_stage;
  guint              writes_allowed : 1;
  guint              tools_loading : 1;
};

G_DEFINE_FINAL_TYPE (BastionConnectionBar, bastion_connection_bar, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SUMMARY,
  PROP_STATE_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const struct
{
  BastionLauncherTool tool;
  const char         *flathub_id;
} flathub_ids[] = {
  { BASTION_LAUNCHER_TOOL_PGADMIN, "org.pgadmin.pgadmin4" },
  { BASTION_LAUNCHER_TOOL_DBEAVER, "io.dbeaver.DBeaverCommunity" },
};

const char *
bastion_connection_bar_tool_flathub_id (BastionLauncherTool tool)
{
  for (guint i = 0; i < G_N_ELEMENTS (flathub_ids); i++)
    if (flathub_ids[i].tool == tool)
      return flathub_ids[i].flathub_id;
  return NULL;
}

static void
show_toast (BastionConnectionBar *self,
            const char           *title)
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

static BastionConnectionStage
current_stage (BastionConnectionBar *self)
{
  return self->connection != NULL ? bastion_connection_get_stage (self->connection)
                                  : BASTION_CONNECTION_STAGE_IDLE;
}

/* ---- The numbers --------------------------------------------------------------------------- */

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
update_stats (BastionConnectionBar *self)
{
  BastionTunnel *tunnel = self->connection ? bastion_connection_get_tunnel (self->connection)
                                           : NULL;
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
  if (bastion_tunnel_get_n_refused (tunnel) > 0)
    {
      guint refused = bastion_tunnel_get_n_refused (tunnel);
      char *both = g_strdup_printf (ngettext ("%s · %u refused (another user’s program)",
                                              "%s · %u refused (other users’ programs)",
                                              refused), channels, refused);

      g_free (channels);
      channels = both;
    }
  adw_action_row_set_subtitle (self->channels_row, channels);

  since = bastion_connections_get_ready_since (bastion_connections_get_default (), self->profile);
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

/* The numbers tick once a second, only while their popover is open. */
static void
on_tunnel_popover_show (BastionConnectionBar *self)
{
  update_stats (self);
  if (self->timer_id == 0)
    self->timer_id = g_timeout_add_seconds (1, on_timer, self);
}

static void
on_tunnel_popover_closed (BastionConnectionBar *self)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
}

/* ---- Open In ------------------------------------------------------------------------------- */

static GtkWidget *
new_tool_button (const char *label,
                 const char *icon,
                 const char *action,
                 int         tool,
                 const char *tooltip)
{
  GtkWidget *button = gtk_button_new ();
  GtkWidget *content = adw_button_content_new ();

  adw_button_content_set_icon_name (ADW_BUTTON_CONTENT (content), icon);
  adw_button_content_set_label (ADW_BUTTON_CONTENT (content), label);
  adw_button_content_set_use_underline (ADW_BUTTON_CONTENT (content), TRUE);
  gtk_widget_set_halign (content, GTK_ALIGN_START);
  gtk_button_set_child (GTK_BUTTON (button), content);
  gtk_widget_add_css_class (button, "flat");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  if (tool >= 0)
    gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "i", (gint32) tool);
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (button, tooltip);
  return button;
}

/* A tool Bastion cannot start: what is missing, and the way that is left (Install, or a command
 * to paste into any terminal). */
static GtkWidget *
new_missing_tool (const BastionToolInfo *info)
{
  const char *title = bastion_launcher_tool_get_title (info->tool);
  const char *flathub = bastion_connection_bar_tool_flathub_id (info->tool);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *name = gtk_label_new (title);
  GtkWidget *hint = gtk_label_new (info->install_hint ? info->install_hint : _("Not installed"));
  gboolean runnable = info->path != NULL
                      && (info->tool == BASTION_LAUNCHER_TOOL_PSQL
                          || info->tool == BASTION_LAUNCHER_TOOL_PGCLI);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (hint), 36);
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_widget_add_css_class (hint, "caption");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), hint);

  if (runnable)
    {
      g_autofree char *label = g_strdup_printf (_("Copy %s _Command"), title);
      GtkWidget *button = new_tool_button (label, "edit-copy-symbolic", "bar.copy-command",
                                           info->tool,
                                           _("A one-line command for any terminal, while the "
                                             "tunnel is open; no password in it"));

      gtk_widget_set_name (button, "copy-command");
      gtk_box_append (GTK_BOX (box), button);
    }
  else if (flathub != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("_Install %s…"), title);
      g_autofree char *steps = g_strdup_printf (_("Without GNOME Software: “flatpak install "
                                                  "flathub %s”"), flathub);
      GtkWidget *button = new_tool_button (label, "system-software-install-symbolic",
                                           "bar.install-tool", info->tool,
                                           _("Open it in GNOME Software, from Flathub"));
      GtkWidget *how = gtk_label_new (steps);

      gtk_widget_set_name (button, "install");
      gtk_label_set_xalign (GTK_LABEL (how), 0);
      gtk_label_set_wrap (GTK_LABEL (how), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (how), 36);
      gtk_widget_add_css_class (how, "caption");
      gtk_widget_add_css_class (how, "dim-label");
      gtk_box_append (GTK_BOX (box), button);
      gtk_box_append (GTK_BOX (box), how);
    }

  return box;
}

static void
populate_tools (BastionConnectionBar *self)
{
  GtkWidget *child;
  GtkWidget *copy_uri;
  gboolean any_missing = FALSE;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tools_box))) != NULL)
    gtk_box_remove (self->tools_box, child);

  for (guint i = 0; self->tools != NULL && i < self->tools->len; i++)
    {
      BastionToolInfo *info = g_ptr_array_index (self->tools, i);
      const char *title = bastion_launcher_tool_get_title (info->tool);
      g_autofree char *tooltip = NULL;
      GtkWidget *button;

      if (!info->available)
        continue;
      /* Translators: %s is a tool, e.g. "pgAdmin 4" */
      tooltip = g_strdup_printf (_("Open the database in %s, ready to use"), title);
      button = new_tool_button (title,
                                info->tool == BASTION_LAUNCHER_TOOL_PSQL
                                || info->tool == BASTION_LAUNCHER_TOOL_PGCLI
                                  ? "utilities-terminal-symbolic" : "document-open-symbolic",
                                "bar.open-tool", info->tool, tooltip);
      gtk_widget_set_name (button, bastion_launcher_tool_to_string (info->tool));
      gtk_box_append (self->tools_box, button);
    }

  copy_uri = new_tool_button (_("Copy _URI"), "edit-copy-symbolic", "bar.copy-uri", -1,
                              _("A postgresql:// URI for any other tool, without the password"));
  gtk_box_append (self->tools_box, copy_uri);

  for (guint i = 0; self->tools != NULL && i < self->tools->len; i++)
    {
      BastionToolInfo *info = g_ptr_array_index (self->tools, i);

      if (info->available)
        continue;
      if (!any_missing)
        gtk_box_append (self->tools_box, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
      any_missing = TRUE;
      gtk_box_append (self->tools_box, new_missing_tool (info));
    }
}

static void
on_tools_listed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionConnectionBar) self = user_data;
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
load_tools (BastionConnectionBar *self)
{
  BastionLauncher *launcher;

  if (self->tools != NULL || self->tools_loading)
    return;

  self->tools_loading = TRUE;
  launcher = bastion_connections_get_launcher (bastion_connections_get_default ());
  bastion_launcher_list_tools_async (launcher, self->cancellable, on_tools_listed,
                                     g_object_ref (self));
}

/* ---- State --------------------------------------------------------------------------------- */

/* Which transport carries the tunnel, as the details and the summary say it (issue 21). */
static char *
dup_bastion_text (BastionConnectionBar *self)
{
  BastionTunnel *tunnel = self->connection ? bastion_connection_get_tunnel (self->connection)
                                           : NULL;
  g_autofree char *session_id = NULL;

  if (tunnel == NULL || bastion_tunnel_get_transport (tunnel) != BASTION_TRANSPORT_SSM)
    /* Translators: the bastion's address and the transport, e.g. "bastion.example.com:22
     * through SSH" */
    return g_strdup_printf (_("%s:%u through SSH"), bastion_profile_get_ssh_host (self->profile),
                            bastion_profile_get_ssh_port (self->profile));

  session_id = bastion_tunnel_dup_ssm_session (tunnel, NULL);
  if (session_id == NULL)
    return g_strdup (_("Through AWS Session Manager"));
  /* Translators: %s is a Session Manager session id */
  return g_strdup_printf (_("Through AWS Session Manager (session %s)"), session_id);
}

static void
update_summary (BastionConnectionBar *self)
{
  g_autofree char *summary = NULL;

  if (self->profile != NULL)
    {
      g_autofree char *bastion = dup_bastion_text (self);
      g_autofree char *database = g_strdup_printf ("%s:%u/%s",
                                                   bastion_profile_get_db_host (self->profile),
                                                   bastion_profile_get_db_port (self->profile),
                                                   bastion_profile_get_db_name (self->profile));

      adw_action_row_set_subtitle (self->bastion_row, bastion);
      adw_action_row_set_subtitle (self->database_row, database);
    }

  if (self->profile != NULL && self->connection != NULL)
    {
      g_autofree char *bastion = dup_bastion_text (self);

      /* The names the team's settings use (config.json's bastion host and dbHostname): the
       * tunnel always ends on 127.0.0.1, which says nothing. */
      /* Translators: "Connected · Bastion bastion.example.com:22 through SSH · Database
       * db.example.com:5432/simpleiot"; the first %s is the state */
      summary = g_strdup_printf (_("%s · Bastion %s · Database %s:%u/%s"), self->state_text,
                                 bastion, bastion_profile_get_db_host (self->profile),
                                 bastion_profile_get_db_port (self->profile),
                                 bastion_profile_get_db_name (self->profile));
    }
  else
    summary = g_strdup ("");

  if (g_strcmp0 (summary, self->summary) == 0)
    return;
  g_free (self->summary);
  self->summary = g_steal_pointer (&summary);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_TEXT]);
}

/* The popovers belong to whichever set of buttons the header has room for. */
static void
on_squeezed (BastionConnectionBar *self)
{
  GtkWidget *shown = adw_squeezer_get_visible_child (self->squeezer);
  GtkMenuButton *tunnels[] = {
    GTK_MENU_BUTTON (self->tunnel_button), self->medium_tunnel_button, self->narrow_tunnel_button
  };
  GtkMenuButton *opens[] = {
    GTK_MENU_BUTTON (self->open_button), self->medium_open_button, self->narrow_open_button
  };
  guint which = shown == self->narrow_box ? 2 : shown == self->medium_box ? 1 : 0;

  g_object_ref (self->tunnel_popover);
  g_object_ref (self->open_popover);
  for (guint i = 0; i < G_N_ELEMENTS (tunnels); i++)
    if (i != which)
      {
        gtk_menu_button_set_popover (tunnels[i], NULL);
        gtk_menu_button_set_popover (opens[i], NULL);
      }
  gtk_menu_button_set_popover (tunnels[which], GTK_WIDGET (self->tunnel_popover));
  gtk_menu_button_set_popover (opens[which], GTK_WIDGET (self->open_popover));
  g_object_unref (self->tunnel_popover);
  g_object_unref (self->open_popover);
}

static void
update_mode (BastionConnectionBar *self)
{
  gtk_label_set_label (self->mode_pill,
                       self->writes_allowed ? _("Writes Allowed") : _("Read-only"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->mode_pill),
                               self->writes_allowed
                                 ? _("This tab may change data: statements that do ask first")
                                 : _("This tab cannot change data"));
  gtk_image_set_from_icon_name (self->narrow_mode_icon,
                                self->writes_allowed ? "changes-allow-symbolic"
                                                     : "changes-prevent-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->narrow_mode_icon),
                               gtk_label_get_label (self->mode_pill));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->narrow_mode_icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gtk_label_get_label (self->mode_pill), -1);
  if (self->writes_allowed)
    gtk_widget_add_css_class (GTK_WIDGET (self->narrow_mode_icon), "warning");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->narrow_mode_icon), "warning");
  if (self->writes_allowed)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->mode_pill), "read-only");
      gtk_widget_add_css_class (GTK_WIDGET (self->mode_pill), "writes-allowed");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->mode_pill), "writes-allowed");
      gtk_widget_add_css_class (GTK_WIDGET (self->mode_pill), "read-only");
    }
}

static void
update_state (BastionConnectionBar *self)
{
  BastionConnectionStage stage = current_stage (self);
  BastionConnectionStage previous = self->shown_stage;
  const char *team = self->profile ? bastion_profile_get_display_name (self->profile) : "";
  g_autofree char *status = NULL;

  if (self->squeezer == NULL)
    return;

  self->shown_stage = stage;
  if (stage == BASTION_CONNECTION_STAGE_RECONNECTING)
    {
      self->state_text = _("Reconnecting…");
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: The tunnel dropped, reconnecting"), team);
    }
  else
    {
      self->state_text = _("Connected");
      /* Translators: %s is a team's name */
      status = g_strdup_printf (_("%s: Connected"), team);
    }

  /* The strip is a group named after the state, so a screen reader hears each change, and
   * focus goes to Disconnect when the connection first serves (as it went to the steps'
   * Cancel while connecting). */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, status,
                                  -1);
  if (stage == BASTION_CONNECTION_STAGE_READY && previous != BASTION_CONNECTION_STAGE_READY
      && previous != BASTION_CONNECTION_STAGE_RECONNECTING
      && gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_widget_grab_focus (self->disconnect_button);

  update_summary (self);
  update_stats (self);
  if (stage == BASTION_CONNECTION_STAGE_READY || stage == BASTION_CONNECTION_STAGE_RECONNECTING)
    load_tools (self);
}

static void
bastion_connection_bar_map (GtkWidget *widget)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (widget);

  GTK_WIDGET_CLASS (bastion_connection_bar_parent_class)->map (widget);
  /* Mapped only now: the focus move of the first "Connected" happens here. */
  self->shown_stage = BASTION_CONNECTION_STAGE_IDLE;
  update_state (self);
}

/* ---- Actions ------------------------------------------------------------------------------- */

static void
copy_address_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (widget);
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
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (widget);
  g_autoptr(BastionLaunchTarget) target = NULL;
  g_autofree char *uri = NULL;

  if (self->connection == NULL
      || (target = bastion_connection_dup_launch_target (self->connection)) == NULL)
    return;

  uri = bastion_launch_target_dup_uri (target);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), uri);
  gtk_popover_popdown (self->open_popover);
  show_toast (self, _("Connection URI copied (without the password)"));
}

typedef struct
{
  BastionConnectionBar *self;
  BastionLauncherTool   tool;
  BastionLaunchTarget  *target;
  gboolean              command;   /* copy the command rather than launch */
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
on_command_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  LaunchData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;

  command = bastion_launcher_write_command_finish (BASTION_LAUNCHER (source), result, &error);
  if (command == NULL)
    show_toast (data->self, error->message);
  else
    {
      gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (data->self)), command);
      show_toast (data->self, _("Command copied: paste it into any terminal while connected"));
    }
  launch_data_free (data);
}

static void
on_launch_password (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  LaunchData *data = user_data;
  BastionConnections *registry = BASTION_CONNECTIONS (source);
  BastionLauncher *launcher = bastion_connections_get_launcher (registry);
  g_autoptr(GError) error = NULL;
  char *password;

  password = bastion_connections_lookup_db_password_finish (registry, result, &error);
  if (error != NULL)
    g_debug ("No database password for the tool: %s", error->message);

  if (data->command)
    bastion_launcher_write_command_async (launcher, data->tool, data->target, password, NULL,
                                          on_command_written, data);
  else
    bastion_launcher_launch_async (launcher, data->tool, data->target, password, NULL,
                                   on_tool_launched, data);
  bastion_secret_free (password);
}

static void
start_launch (BastionConnectionBar *self,
              BastionLauncherTool   tool,
              gboolean              command)
{
  BastionLaunchTarget *target;
  LaunchData *data;

  if (self->connection == NULL
      || (target = bastion_connection_dup_launch_target (self->connection)) == NULL)
    return;

  gtk_popover_popdown (self->open_popover);
  data = g_new0 (LaunchData, 1);
  data->self = g_object_ref (self);
  data->tool = tool;
  data->target = target;
  data->command = command;

  /* Logged in as the team's read-only role: the tool gets that role's password. */
  if (g_strcmp0 (target->password_kind, "readonly-password") == 0)
    {
      BastionConnections *registry = bastion_connections_get_default ();
      BastionLauncher *launcher = bastion_connections_get_launcher (registry);
      char *password = bastion_connection_dup_readonly_password (self->connection);

      if (command)
        bastion_launcher_write_command_async (launcher, tool, target, password, NULL,
                                              on_command_written, data);
      else
        bastion_launcher_launch_async (launcher, tool, target, password, NULL, on_tool_launched,
                                       data);
      bastion_secret_free (password);
      return;
    }

  bastion_connections_lookup_db_password_async (bastion_connections_get_default (),
                                                self->profile, NULL, on_launch_password, data);
}

static void
open_tool_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  start_launch (BASTION_CONNECTION_BAR (widget), g_variant_get_int32 (parameter), FALSE);
}

static void
copy_command_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionLauncherTool tool = g_variant_get_int32 (parameter);

  if (tool == BASTION_LAUNCHER_TOOL_PSQL || tool == BASTION_LAUNCHER_TOOL_PGCLI)
    start_launch (BASTION_CONNECTION_BAR (widget), tool, TRUE);
}

static void
on_software_shown (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(BastionConnectionBar) self = user_data;
  g_autoptr(GError) error = NULL;

  /* No GNOME Software (or no handler for appstream:): the popover's line says what to type. */
  if (!gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error))
    show_toast (self, _("GNOME Software could not be opened: install the tool with the "
                        "command shown under Open In"));
}

static void
install_tool_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (widget);
  const char *id = bastion_connection_bar_tool_flathub_id (g_variant_get_int32 (parameter));
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *uri = NULL;

  if (id == NULL || !GTK_IS_WINDOW (root))
    return;

  uri = g_strconcat ("appstream://", id, NULL);
  gtk_popover_popdown (self->open_popover);
  gtk_show_uri_full (GTK_WINDOW (root), uri, GDK_CURRENT_TIME, NULL, on_software_shown,
                     g_object_ref (self));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_connection_bar_dispose (GObject *object)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->stage_handler, self->connection);
  gtk_widget_dispose_template (GTK_WIDGET (self), BASTION_TYPE_CONNECTION_BAR);
  g_clear_object (&self->connection);
  g_clear_object (&self->profile);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->tools, g_ptr_array_unref);

  G_OBJECT_CLASS (bastion_connection_bar_parent_class)->dispose (object);
}

static void
bastion_connection_bar_finalize (GObject *object)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (object);

  g_free (self->summary);

  G_OBJECT_CLASS (bastion_connection_bar_parent_class)->finalize (object);
}

static void
bastion_connection_bar_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  BastionConnectionBar *self = BASTION_CONNECTION_BAR (object);

  switch (prop_id)
    {
    case PROP_SUMMARY:
      g_value_set_string (value, self->summary);
      break;
    case PROP_STATE_TEXT:
      g_value_set_string (value, self->connection != NULL ? self->state_text : NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_connection_bar_class_init (BastionConnectionBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bastion_connection_bar_dispose;
  object_class->finalize = bastion_connection_bar_finalize;
  object_class->get_property = bastion_connection_bar_get_property;
  widget_class->map = bastion_connection_bar_map;

  properties[PROP_SUMMARY] =
    g_param_spec_string ("summary", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE_TEXT] =
    g_param_spec_string ("state-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "connectionbar");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/bastiongtk/Bastion/bastion-connection-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, squeezer);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, medium_box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar,
                                        medium_tunnel_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, medium_open_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, narrow_box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, narrow_mode_icon);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar,
                                        narrow_tunnel_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, narrow_open_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, mode_pill);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, tunnel_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, tunnel_popover);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, bastion_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, database_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, address_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, traffic_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, channels_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, uptime_row);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, open_button);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, open_popover);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, tools_box);
  gtk_widget_class_bind_template_child (widget_class, BastionConnectionBar, disconnect_button);
  gtk_widget_class_bind_template_callback (widget_class, on_tunnel_popover_show);
  gtk_widget_class_bind_template_callback (widget_class, on_squeezed);

  gtk_widget_class_install_action (widget_class, "bar.copy-address", NULL, copy_address_action);
  gtk_widget_class_install_action (widget_class, "bar.copy-uri", NULL, copy_uri_action);
  gtk_widget_class_install_action (widget_class, "bar.open-tool", "i", open_tool_action);
  gtk_widget_class_install_action (widget_class, "bar.copy-command", "i", copy_command_action);
  gtk_widget_class_install_action (widget_class, "bar.install-tool", "i", install_tool_action);
}

static void
bastion_connection_bar_init (BastionConnectionBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  g_signal_connect_object (self->tunnel_popover, "closed",
                           G_CALLBACK (on_tunnel_popover_closed), self, G_CONNECT_SWAPPED);
  populate_tools (self);
  update_mode (self);
}

GtkWidget *
bastion_connection_bar_new (void)
{
  return g_object_new (BASTION_TYPE_CONNECTION_BAR, NULL);
}

static void
on_stage_changed (BastionConnectionBar *self)
{
  update_state (self);
}

void
bastion_connection_bar_set_connection (BastionConnectionBar *self,
                                       BastionProfile       *profile,
                                       BastionConnection    *connection)
{
  g_return_if_fail (BASTION_IS_CONNECTION_BAR (self));

  if (self->connection != NULL)
    g_clear_signal_handler (&self->stage_handler, self->connection);
  g_set_object (&self->profile, profile);
  g_set_object (&self->connection, connection);
  if (connection != NULL)
    self->stage_handler = g_signal_connect_object (connection, "notify::stage",
                                                   G_CALLBACK (on_stage_changed), self,
                                                   G_CONNECT_SWAPPED);
  update_state (self);
}

void
bastion_connection_bar_set_writes_allowed (BastionConnectionBar *self,
                                           gboolean              writes_allowed)
{
  g_return_if_fail (BASTION_IS_CONNECTION_BAR (self));

  self->writes_allowed = !!writes_allowed;
  update_mode (self);
}

const char *
bastion_connection_bar_get_mode_text (BastionConnectionBar *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_BAR (self), NULL);

  return gtk_label_get_label (self->mode_pill);
}

const char *
bastion_connection_bar_get_summary (BastionConnectionBar *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_BAR (self), NULL);

  return self->summary;
}

const char *
bastion_connection_bar_get_state_text (BastionConnectionBar *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION_BAR (self), NULL);

  return self->state_text;
}
