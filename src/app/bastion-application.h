/* bastion-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define BASTION_TYPE_APPLICATION (bastion_application_get_type())

G_DECLARE_FINAL_TYPE (BastionApplication, bastion_application, BASTION, APPLICATION, AdwApplication)

BastionApplication *bastion_application_new (void);

G_END_DECLS
