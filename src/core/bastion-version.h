/* bastion-version.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

const char *bastion_version_get_libssh2  (void);
const char *bastion_version_get_libcurl  (void);
char       *bastion_version_dup_libpq    (void);
char       *bastion_version_dup_glib     (void);
char       *bastion_version_dup_summary  (void);
gboolean    bastion_version_check_libssh2 (GError **error);

G_END_DECLS
