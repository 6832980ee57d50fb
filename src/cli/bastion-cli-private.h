/* bastion-cli-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "bastion-connection.h"
#include "bastion-profile-store.h"

G_BEGIN_DECLS

/* One command of bastion-cli: argv[0] is the command name. Returns the exit status. */
typedef int (*BastionCliCommandFunc) (int argc, char **argv);

typedef struct
{
  const char            *name;
  const char            *summary;
  BastionCliCommandFunc  func;
} BastionCliCommand;

/* TEXT for a terminal: controls (ESC, BEL, line breaks) shown as \x1B, \n … (bastion-printable.h). */
char *bastion_cli_dup_printable (const char *text);
/* Prints "bastion-cli: STEP: MESSAGE" on stderr (one line, controls escaped) and returns 1. */
int  bastion_cli_fail        (const char *step,
                              const char *format,
                              ...) G_GNUC_PRINTF (2, 3);
int  bastion_cli_fail_error  (const char *step,
                              const GError *error);

/* Profiles (bastion-cli-teams.c): the store loaded from profiles.json, or NULL after printing
 * the error under STEP; a profile by id or display name, or NULL after printing the error. */
BastionProfileStore *bastion_cli_load_store    (const char           *step);
BastionProfile      *bastion_cli_find_profile  (BastionProfileStore  *store,
                                                const char           *step,
                                                const char           *team);
/* A port option's value: strict decimal digits, 0 to 65535 (no sign, blank, "0x" or octal).
 * FALSE after printing "STEP: --OPTION …" when it is not. */
gboolean             bastion_cli_parse_port    (const char           *step,
                                                const char           *option,
                                                const char           *text,
                                                guint                *port);
/* Parses a command's options (argv[0] is the command); FALSE with *status set on bad options. */
gboolean             bastion_cli_parse_options (int                  *argc,
                                                char               ***argv,
                                                const char           *parameter_string,
                                                const char           *summary,
                                                GOptionEntry         *entries,
                                                int                  *status);

/* Shared by the commands that connect (bastion-cli-connect.c). */
GAsyncResult       *bastion_cli_wait                  (GAsyncResult          **slot);
void                bastion_cli_store_result          (GObject                *source,
                                                       GAsyncResult           *result,
                                                       gpointer                user_data);
const char         *bastion_cli_stage_step            (BastionConnectionStage  stage);
char               *bastion_cli_dup_connection_error  (BastionConnection      *connection,
                                                       const char             *team,
                                                       const GError           *error);
/* What to do about an error of the core (bastion-cli-hints.c). */
const char         *bastion_cli_error_step            (const GError           *error);
char               *bastion_cli_dup_error_hint        (const GError           *error,
                                                       BastionProfile         *profile);
/* Opens the profile's connection; NULL after printing the failed step and what to do. */
BastionConnection  *bastion_cli_connect               (BastionProfile         *profile,
                                                       const char             *team,
                                                       BastionConnectionFlags  flags,
                                                       int                     local_port);
/* The same through TRANSPORT (-1: the team's; --via). */
BastionConnection  *bastion_cli_connect_via           (BastionProfile         *profile,
                                                       const char             *team,
                                                       BastionConnectionFlags  flags,
                                                       int                     local_port,
                                                       int                     transport);

int  bastion_cli_query       (int argc, char **argv);
int  bastion_cli_readonly_role (int argc, char **argv);
int  bastion_cli_check       (int argc, char **argv);
int  bastion_cli_teams       (int argc, char **argv);
int  bastion_cli_profile     (int argc, char **argv);

/* Questions on the terminal (bastion-cli-prompt.c): only when stdin is one. */
gboolean  bastion_cli_can_prompt     (void);
gboolean  bastion_cli_open           (BastionConnection       *connection,
                                      BastionProfile          *profile,
                                      BastionConnectionFlags   flags,
                                      GError                 **error);
char     *bastion_cli_prompt_secret  (const char *question);
gboolean  bastion_cli_prompt_yes_no  (const char *question);
int  bastion_cli_import      (int argc, char **argv);
int  bastion_cli_secret      (int argc, char **argv);
int  bastion_cli_launch      (int argc, char **argv);
int  bastion_cli_aws         (int argc, char **argv);
int  bastion_cli_tunnel      (int argc, char **argv);
/* bastion-cli-ssm.c: --via's value (NULL: -1, the team's transport); FALSE after printing the
 * error under STEP. What carries an open connection, when it is Session Manager, on stderr.
 * A wait of at most 5 s for ssm:TerminateSession calls still on their way. */
gboolean bastion_cli_parse_via         (const char *step, const char *text, int *transport);
void     bastion_cli_print_transport   (BastionConnection *connection);
void     bastion_cli_wait_terminations (void);
gboolean bastion_cli_check_ssm (BastionProfile *profile, char **detail, GError **error);
int  bastion_cli_hostkey     (int argc, char **argv);

G_END_DECLS
