/* bastion-connection-fix.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-connection.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_CONNECTION_FIX_ANY_LOGIN,
  BASTION_CONNECTION_FIX_PASSWORD_LOGIN,  /* the team logs in with an SSH password */
  BASTION_CONNECTION_FIX_OTHER_LOGIN,     /* the team logs in with a key or the agent */
} BastionConnectionFixLogin;

/* What the connection view says about a failure, and the button it offers. */
typedef struct
{
  GQuark                   (*domain) (void);
  int                        code;
  BastionConnectionFixLogin  login;
  const char                *title;
  const char                *description;  /* NULL: the failed step's row says it all */
  const char                *step_reason;  /* NULL: the core's message */
  const char                *icon;
  const char                *button;       /* a mnemonic label, or NULL */
  const char                *action;
  guint                      severe : 1;   /* a danger, not a question */
  guint                      check_ip : 1; /* offer "Check My IP" */
} BastionConnectionFix;

const BastionConnectionFix *bastion_connection_fix_lookup          (const GError               *error,
                                                                    BastionAuthMethod           method);
char                       *bastion_connection_fix_dup_description (const BastionConnectionFix *fix,
                                                                    BastionProfile             *profile);

G_END_DECLS
