/* bastion-printable.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Text from outside (team names, database values) shown to a person in a terminal: control
 * characters become visible escapes, as psql shows them, so that no ANSI/OSC sequence, bell or
 * line break in the data can drive the terminal or forge a line of output.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  BASTION_PRINTABLE_DEFAULT      = 0,
  /* LF and TAB pass as they are (CSV on a terminal: its quoting already keeps them apart). */
  BASTION_PRINTABLE_KEEP_LF_TAB  = 1 << 0,
} BastionPrintableFlags;

/* Appends TEXT (LEN bytes, -1: NUL-terminated) to OUT: LF, CR and TAB as \n, \r and \t (unless
 * KEEP_LF_TAB keeps LF and TAB), other C0 controls and DEL as \xHH (ESC is \x1B), C1 controls
 * (U+0080–U+009F) as \u0080…\u009F, and each byte that is not UTF-8 as \xHH. */
void      bastion_printable_append       (GString               *out,
                                          const char            *text,
                                          gssize                 len,
                                          BastionPrintableFlags  flags);
/* The same into a new string. */
char     *bastion_printable_dup          (const char            *text,
                                          gssize                 len,
                                          BastionPrintableFlags  flags);
/* TRUE when bastion_printable_append() would change TEXT. */
gboolean  bastion_printable_needs_escape (const char            *text,
                                          gsize                  len,
                                          BastionPrintableFlags  flags);

G_END_DECLS
