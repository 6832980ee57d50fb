/* bastion-key-file-private.h: what only tests may call
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-key-file.h"

G_BEGIN_DECLS

/* The hook is called with the path in the thread that checks or loads a key file, just before
 * it looks at the file (a test blocks in it to show that the main loop keeps running). Set it
 * while no check runs. */
typedef void (*BastionKeyFileReadHook) (const char *path,
                                        gpointer    user_data);
void _bastion_key_file_set_read_hook (BastionKeyFileReadHook hook,
                                      gpointer               user_data);

G_END_DECLS
