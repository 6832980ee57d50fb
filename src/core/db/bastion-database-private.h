/* bastion-database-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libpq-fe.h>

#include "bastion-database.h"

G_BEGIN_DECLS

/* For BastionQuery: the live connection, or NULL. */
PGconn   *bastion_database_get_pgconn           (BastionDatabase *self);
/* Marks the connection busy with one query (FALSE if it already is, with error set). */
gboolean  bastion_database_acquire              (BastionDatabase *self,
                                                 gpointer         owner,
                                                 GError         **error);
void      bastion_database_release              (BastionDatabase *self,
                                                 gpointer         owner);
/* Called when a query found the connection dead: drop it, notify :connected. */
void      bastion_database_connection_lost      (BastionDatabase *self);
void      bastion_database_update_transaction_status (BastionDatabase *self);
/* The read-only flag now in effect on the server (after a successful SET). */
void      bastion_database_apply_read_only      (BastionDatabase *self,
                                                 gboolean         read_only);

G_END_DECLS
