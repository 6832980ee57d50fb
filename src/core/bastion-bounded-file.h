/* bastion-bounded-file.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One reader for every file and JSON document that comes from outside: a size cap, no FIFO or
 * device ever opened for reading, and JSON nesting bounded before json-glib (which recurses)
 * sees it.
 */

#pragma once

#include <sys/stat.h>

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define BASTION_BOUNDED_FILE_ERROR (bastion_bounded_file_error_quark ())

/* Operating-system failures (missing file, permission denied, a loop of links) are reported in
 * G_FILE_ERROR with the code g_file_error_from_errno() gives; these are the reader's own. */
typedef enum
{
  BASTION_BOUNDED_FILE_ERROR_NOT_REGULAR = 1,  /* a FIFO, device, socket or folder */
  BASTION_BOUNDED_FILE_ERROR_TOO_LARGE,        /* over the caller's size cap */
  BASTION_BOUNDED_FILE_ERROR_TOO_DEEP,         /* JSON nested deeper than the bound */
  BASTION_BOUNDED_FILE_ERROR_NOT_JSON,         /* json-glib refused it, or it is empty */
} BastionBoundedFileError;

/* JSON Bastion reads is shallow (profiles.json: 3 levels, a team config: 2); json-glib recurses
 * once per level and overflows the stack near 100,000. */
#define BASTION_JSON_MAX_DEPTH 64

GQuark      bastion_bounded_file_error_quark (void);

/* Opens PATH for reading (O_CLOEXEC) only when it is a regular file: lstat-free stat first (links
 * are followed, a loop is ELOOP), then open with O_NONBLOCK so that a FIFO swapped in meanwhile
 * cannot block, then fstat to check it is still a regular file and the same one. Returns the fd
 * (st, may be NULL, gets its fstat) or -1 with error set. Never blocks on a FIFO or device. */
int         bastion_bounded_file_open        (const char   *path,
                                              gsize         max_size,
                                              struct stat  *st,
                                              GError      **error);
/* Reads all of PATH through bastion_bounded_file_open(): at most max_size bytes (a file that
 * grows past it while read is TOO_LARGE too). contents is NUL-terminated. */
gboolean    bastion_bounded_file_read        (const char   *path,
                                              gsize         max_size,
                                              char        **contents,
                                              gsize        *length,
                                              GError      **error);
/* TRUE when DATA nests arrays and objects at most max_depth deep (strings and their escapes
 * skipped). A linear scan without recursion; on FALSE, error is TOO_DEEP naming WHAT. */
gboolean    bastion_json_check_depth         (const char   *data,
                                              gsize         length,
                                              guint         max_depth,
                                              const char   *what,
                                              GError      **error);
/* The offset of the first \u0000 escape inside a JSON string of DATA, or -1. json-glib keeps
 * such a string whole but hands it out as a C string, silently cut at the NUL. */
gssize      bastion_json_find_nul_escape     (const char   *data,
                                              gsize         length);
/* The depth check, then json-glib. WHAT names the input in messages (a file name, "the reply to
 * X"). An empty document is NOT_JSON; the root is never NULL on success. */
JsonParser *bastion_json_parse_bounded       (const char   *data,
                                              gsize         length,
                                              const char   *what,
                                              GError      **error);

G_END_DECLS
