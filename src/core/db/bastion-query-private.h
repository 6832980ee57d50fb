/* bastion-query-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-query.h"

G_BEGIN_DECLS

/* For Bastion's own statements (e.g. the switch to writes): sent as they are, never split,
 * checked or put in the read-only envelope. Before the run only. */
void      bastion_query_set_trusted (BastionQuery *self,
                                     gboolean      trusted);

G_END_DECLS
