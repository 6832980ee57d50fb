/* bastion-ssh-agent.h: logging in through the SSH agent (a worker thread's part).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <libssh2.h>

G_BEGIN_DECLS

typedef enum
{
  BASTION_SSH_AGENT_OK,
  BASTION_SSH_AGENT_UNREACHABLE,  /* no SSH_AUTH_SOCK, or nobody answers on it */
  BASTION_SSH_AGENT_NO_KEYS,      /* the agent holds no key */
  BASTION_SSH_AGENT_REFUSED,      /* the server accepted none of the keys tried */
  BASTION_SSH_AGENT_ERROR,        /* the session failed meanwhile (see libssh2's last error) */
} BastionSshAgentResult;

typedef struct
{
  char  *comment;       /* the key that logged in (OK), as the agent names it */
  guint  n_tried;       /* keys offered to the server */
  guint  n_keys;        /* keys the agent holds */
  int    rc;            /* libssh2's last return code */
} BastionSshAgentReport;

/* Blocks on the agent socket and, for a blocking session, on the network: call it in a worker
 * thread that owns the session. PREFER ("TYPE BASE64", nullable) is the team's public key:
 * that identity is tried first (ONLY_PREFER: only that one, as IdentitiesOnly). At most MAX_KEYS identities are offered (sshd counts each
 * refused one against MaxAuthTries). */
BastionSshAgentResult  bastion_ssh_agent_login          (LIBSSH2_SESSION        *session,
                                                         const char             *user,
                                                         const char             *prefer,
                                                         gboolean                only_prefer,
                                                         guint                   max_keys,
                                                         BastionSshAgentReport  *report);
void                   bastion_ssh_agent_report_clear   (BastionSshAgentReport  *report);

G_END_DECLS
