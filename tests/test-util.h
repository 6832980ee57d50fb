/* test-util.h: small helpers shared by the GTest programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The uid and gid of "nobody" on Debian. */
#define TEST_NOBODY 65534

void  test_become_unprivileged (void);
char *test_make_tmp_dir        (const char *tmpl);
void  test_rm_rf               (const char *path);
void  test_write_file          (const char *path,
                                const char *contents,
                                gssize      length);

G_END_DECLS
