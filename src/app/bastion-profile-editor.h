/* bastion-profile-editor.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_TYPE_PROFILE_EDITOR (bastion_profile_editor_get_type())

G_DECLARE_FINAL_TYPE (BastionProfileEditor, bastion_profile_editor,
                      BASTION, PROFILE_EDITOR, AdwPreferencesWindow)

/* Edits profile in place: every change applies at once (the store saves it). */
BastionProfileEditor *bastion_profile_editor_new         (GtkWindow            *parent,
                                                          BastionProfile       *profile);
BastionProfile       *bastion_profile_editor_get_profile (BastionProfileEditor *self);

G_END_DECLS
