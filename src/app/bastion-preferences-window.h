/* bastion-preferences-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define BASTION_TYPE_PREFERENCES_WINDOW (bastion_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (BastionPreferencesWindow, bastion_preferences_window, BASTION,
                      PREFERENCES_WINDOW, AdwPreferencesWindow)

BastionPreferencesWindow *bastion_preferences_window_new (GtkWindow *parent);

G_END_DECLS
