/* bastion-tab-keeper.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-query-view.h"

G_BEGIN_DECLS

#define BASTION_TYPE_TAB_KEEPER (bastion_tab_keeper_get_type ())

G_DECLARE_FINAL_TYPE (BastionTabKeeper, bastion_tab_keeper, BASTION, TAB_KEEPER, GObject)

/* Looks after a connected team's query tabs:
 *
 * - marks each tab whose session allows writes, on the tab itself, with the profile's
 *   environment colour (and says so in the indicator's tooltip); "writes-allowed" follows the
 *   selected tab, for the workspace's header pill;
 * - keeps the tabs' titles and SQL (never results) for the team: in memory across Disconnect and
 *   Connect, and in $XDG_STATE_HOME/bastion/tabs/<profile-id>.json (0600) across restarts. A
 *   statement that mentions a password or secret stays in memory only. Restored tabs start
 *   read-only, as every new session does. */
BastionTabKeeper *bastion_tab_keeper_new                (BastionQueryView *view,
                                                         const char       *profile_id,
                                                         const char       *env_color);
gboolean          bastion_tab_keeper_get_writes_allowed (BastionTabKeeper *self);
/* Reopens the team's kept tabs in the view (from memory, else from the file, asynchronously). */
void              bastion_tab_keeper_restore            (BastionTabKeeper *self);
/* Records the tabs now (memory and file); call before the view goes. */
void              bastion_tab_keeper_save_now           (BastionTabKeeper *self);
/* Tests: the file, and forgetting what memory holds (as a new process would). */
char             *bastion_tab_keeper_dup_state_path     (const char       *profile_id);
void              bastion_tab_keeper_forget_memory      (void);

G_END_DECLS
