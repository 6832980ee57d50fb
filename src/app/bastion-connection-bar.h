/* bastion-connection-bar.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-connection.h"
#include "bastion-launcher.h"
#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_TYPE_CONNECTION_BAR (bastion_connection_bar_get_type ())

G_DECLARE_FINAL_TYPE (BastionConnectionBar, bastion_connection_bar, BASTION, CONNECTION_BAR,
                      GtkWidget)

/* A connected team's controls for the window's header bar: the current tab's read/write state as
 * a pill, the tunnel's numbers in a popover, "Open In" (tools, Copy URI, Copy Command, Install
 * for missing tools) and Disconnect (win.disconnect); "summary" gives the state and the route as
 * the team's settings name them (bastion host, database endpoint) for the window's subtitle.
 *
 * Actions: bar.copy-address, bar.copy-uri, bar.open-tool (i), bar.copy-command (i),
 * bar.install-tool (i). */
GtkWidget  *bastion_connection_bar_new                (void);
void        bastion_connection_bar_set_connection     (BastionConnectionBar *self,
                                                       BastionProfile       *profile,
                                                       BastionConnection    *connection);
/* The current tab's mode: the pill says "read-only" or "writes allowed". */
void        bastion_connection_bar_set_writes_allowed (BastionConnectionBar *self,
                                                       gboolean              writes_allowed);
const char *bastion_connection_bar_get_mode_text      (BastionConnectionBar *self);
/* "Connected · Bastion host:port · Database host:port/name", "" when not connected. */
const char *bastion_connection_bar_get_summary        (BastionConnectionBar *self);
/* "Connected" or "Reconnecting…". */
const char *bastion_connection_bar_get_state_text     (BastionConnectionBar *self);
/* The Flathub id GNOME Software opens for a missing tool, or NULL (psql, pgcli). */
const char *bastion_connection_bar_tool_flathub_id    (BastionLauncherTool   tool);

G_END_DECLS
