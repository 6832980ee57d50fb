/* bastion-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-application.h"

G_BEGIN_DECLS

#define BASTION_TYPE_WINDOW (bastion_window_get_type())

G_DECLARE_FINAL_TYPE (BastionWindow, bastion_window, BASTION, WINDOW, AdwApplicationWindow)

BastionWindow *bastion_window_new       (BastionApplication *application);
/* Shows the team (by id or display name) and, when connect is TRUE, connects it. */
void           bastion_window_open_team (BastionWindow      *self,
                                         const char         *id_or_name,
                                         gboolean            connect);

G_END_DECLS
