/* bastion-connection-view.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-connection.h"
#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_TYPE_CONNECTION_VIEW (bastion_connection_view_get_type ())

G_DECLARE_FINAL_TYPE (BastionConnectionView, bastion_connection_view, BASTION, CONNECTION_VIEW,
                      GtkWidget)

/* One profile's "Connect": the button, the steps as they happen, the failed step with its fix,
 * and once connected the tunnel's address, traffic, tools and Disconnect. Actions (for
 * shortcuts and tests): view.connect, view.disconnect, view.cancel. "connected" turns TRUE
 * while the tunnel serves, so a page can show a query view below. */
GtkWidget         *bastion_connection_view_new            (void);
BastionProfile    *bastion_connection_view_get_profile    (BastionConnectionView *self);
void               bastion_connection_view_set_profile    (BastionConnectionView *self,
                                                           BastionProfile        *profile);
/* The profile's shared connection (from BastionConnections), or NULL without a profile. */
BastionConnection *bastion_connection_view_get_connection (BastionConnectionView *self);
gboolean           bastion_connection_view_get_connected  (BastionConnectionView *self);

G_END_DECLS
