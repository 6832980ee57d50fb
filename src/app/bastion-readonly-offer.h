/* bastion-readonly-offer.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-database.h"

G_BEGIN_DECLS

/* Offers, once per team, to make the team's read-only login (bastion-readonly-role.h): the
 * first time writes are allowed on @database as the admin role of a team without one, an
 * AdwMessageDialog over @widget's window explains it and asks; Create makes it through
 * @database (the consent given in write mode). Who was asked is kept in the
 * "readonly-role-offered" setting. The watch ends with @widget. */
void  bastion_readonly_offer_watch  (GtkWidget        *widget,
                                     BastionDatabase  *database,
                                     const char       *profile_id,
                                     const char       *team);

G_END_DECLS
