/* bastion-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-profile-store.h"

G_BEGIN_DECLS

#define BASTION_TYPE_APPLICATION (bastion_application_get_type())

G_DECLARE_FINAL_TYPE (BastionApplication, bastion_application, BASTION, APPLICATION, AdwApplication)

BastionApplication *bastion_application_new            (void);
/* The text for --version and the About window's troubleshooting page: our version and the
 * versions of the libraries as loaded at run time. */
char               *bastion_application_dup_versions   (void);
/* The profiles, loaded at startup, with the SimpleIOT teams imported and watched. */
BastionProfileStore *bastion_application_get_profile_store (BastionApplication *self);
/* Problems found while loading profiles and importing teams (GError*), for the first window to
 * show; transfer full, NULL when there were none. Emptied by the call. */
GPtrArray          *bastion_application_take_startup_errors (BastionApplication *self);
/* The window closes but open tunnels keep serving: Bastion stays until they are closed. */
void                bastion_application_keep_tunnels   (BastionApplication *self);

G_END_DECLS
