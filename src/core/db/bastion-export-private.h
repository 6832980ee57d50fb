/* bastion-export-private.h: test hooks of BastionExport
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-export.h"

G_BEGIN_DECLS

/* Tests only: @hook runs in the worker thread before each chunk is written (a slow or stuck
 * disk). Set it while no export runs. */
typedef void (*BastionExportWriteHook) (gpointer user_data);

void _bastion_export_set_write_hook (BastionExportWriteHook hook,
                                     gpointer               user_data);

G_END_DECLS
