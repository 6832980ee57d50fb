/* test-util.h: small helpers shared by the GTest programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The uid and gid of "nobody" on Debian. */
#define TEST_NOBODY 65534

void  test_become_unprivileged (void);
char *test_make_tmp_dir        (const char *tmpl);
void  test_rm_rf               (const char *path);
void  test_write_file          (const char *path,
                                const char *contents,
                                gssize      length);

/* The harness PostgreSQL's password (tests/harness/with-servers --postgres) and in *port its
 * port; ends the program with status 99 when the test does not run under the harness. */
char         *test_pg_password  (guint          *port);
/* How many names @dir holds other than @keep (NULL: all): a temporary file left behind shows. */
guint         test_count_other_files (const char *dir,
                                      const char *keep);

/* Async results: test_store_result() as the callback with &slot as its data, then
 * test_wait_result (&slot) iterates the thread-default context until it is there. */
void          test_store_result (GObject       *source,
                                 GAsyncResult  *result,
                                 gpointer       user_data);
GAsyncResult *test_wait_result  (GAsyncResult **slot);
/* Iterates the thread-default context until @done returns TRUE; fails the test naming @what
 * after @seconds (a hang detector, not a timing check). */
void          test_wait_until   (GSourceFunc    done,
                                 gpointer       user_data,
                                 guint          seconds,
                                 const char    *what);

G_END_DECLS
