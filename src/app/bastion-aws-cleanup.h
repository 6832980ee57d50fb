/* bastion-aws-cleanup.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* For each team of profiles (a GListModel of BastionProfile) that names its AWS resources,
 * removes the user's own temporary SSH rules whose expiry has passed, in the background, and
 * says so (log and desktop notification from app). Errors are only logged: the app starts
 * either way. */
void bastion_aws_cleanup_expired_rules (GApplication *app,
                                        GListModel   *profiles);

G_END_DECLS
