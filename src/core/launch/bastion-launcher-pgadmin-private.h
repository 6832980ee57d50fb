/* bastion-launcher-pgadmin-private.h: how Bastion's own pgAdmin entry is found and replaced.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  BASTION_PGADMIN_ENTRY_ABSENT,   /* pgAdmin has no server of Bastion's for the team */
  BASTION_PGADMIN_ENTRY_CURRENT,  /* it has one, pointing where the tunnel is now */
  BASTION_PGADMIN_ENTRY_STALE,    /* it has one (or more) with another host, port, user… */
} BastionPgadminEntry;

BastionPgadminEntry  bastion_pgadmin_find_entry  (const char  *dump_path,
                                                  const char  *wanted_json,
                                                  GError     **error);
GStrv                bastion_pgadmin_remove_argv (const char  *python,
                                                  const char  *sqlite_path,
                                                  const char  *group,
                                                  const char  *name);

G_END_DECLS
