/* bastion-secure.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean bastion_secure_process_init (void);

/* Wiping secrets: explicit_bzero(), which the compiler may not remove as it may a memset()
 * before free(). Every secret Bastion holds (passwords, passphrases, key files, reply bodies)
 * goes through these. */
void     bastion_secure_wipe         (gpointer    data,
                                      gsize       length);
void     bastion_secure_str_free     (char       *str);
void     bastion_secure_clear_str    (char      **str);
void     bastion_secure_replace_str  (char      **str,
                                      const char *value);

typedef char BastionSecureStr;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionSecureStr, bastion_secure_str_free)

G_END_DECLS
