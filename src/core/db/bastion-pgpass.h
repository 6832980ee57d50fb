/* bastion-pgpass.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The text of libpq's password file and connection service file.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

char     *bastion_pgpass_escape             (const char  *field);
char     *bastion_pgpass_format_line        (const char  *host,
                                             guint        port,
                                             const char  *dbname,
                                             const char  *user,
                                             const char  *password,
                                             GError     **error);
gboolean  bastion_pgpass_check_value        (const char  *what,
                                             const char  *value,
                                             GError     **error);
char     *bastion_pgpass_sanitize_name      (const char  *name);

G_END_DECLS
