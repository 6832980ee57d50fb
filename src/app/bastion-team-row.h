/* bastion-team-row.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_TYPE_TEAM_ROW (bastion_team_row_get_type())

G_DECLARE_FINAL_TYPE (BastionTeamRow, bastion_team_row, BASTION, TEAM_ROW, GtkListBoxRow)

GtkWidget      *bastion_team_row_new         (BastionProfile *profile);
BastionProfile *bastion_team_row_get_profile (BastionTeamRow *self);

G_END_DECLS
