/* bastion-team-page.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-connection.h"
#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_TYPE_TEAM_PAGE (bastion_team_page_get_type())

G_DECLARE_FINAL_TYPE (BastionTeamPage, bastion_team_page, BASTION, TEAM_PAGE, GtkWidget)

GtkWidget      *bastion_team_page_new         (void);
BastionProfile *bastion_team_page_get_profile (BastionTeamPage *self);
void            bastion_team_page_set_profile (BastionTeamPage *self,
                                               BastionProfile  *profile);
/* Checks the key file again (after the user changed something outside Bastion). */
void            bastion_team_page_recheck_key (BastionTeamPage *self);

/* Connects the page's team (as its Connect button does). */
void             bastion_team_page_connect     (BastionTeamPage *self);
void             bastion_team_page_disconnect  (BastionTeamPage *self);
/* While the page shows its connected workspace: the connection (for the header's controls);
 * else NULL ("workspace-connection"). */
BastionConnection *bastion_team_page_get_workspace_connection (BastionTeamPage *self);
/* Whether the workspace's current tab allows writes ("writes-allowed"). */
gboolean           bastion_team_page_get_writes_allowed       (BastionTeamPage *self);

G_END_DECLS
