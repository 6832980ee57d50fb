/* bastion-cli-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One command of bastion-cli: argv[0] is the command name. Returns the exit status. */
typedef int (*BastionCliCommandFunc) (int argc, char **argv);

typedef struct
{
  const char            *name;
  const char            *summary;
  BastionCliCommandFunc  func;
} BastionCliCommand;

/* Prints "bastion-cli: STEP: MESSAGE" on stderr (one line) and returns 1. */
int  bastion_cli_fail        (const char *step,
                              const char *format,
                              ...) G_GNUC_PRINTF (2, 3);
int  bastion_cli_fail_error  (const char *step,
                              const GError *error);

G_END_DECLS
