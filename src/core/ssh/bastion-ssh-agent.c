/* bastion-ssh-agent.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libssh2's agent API talks to the agent socket with blocking reads and writes, and an agent
 * may wait for the user before it signs (ssh-add -c, a hardware key's touch). So the whole
 * login runs in the worker thread that BastionSshSession already hands the session to for a
 * passphrase-protected key (its AuthJob): the main loop never waits on the agent.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-ssh-agent.h"

/* More identities than this in one agent are not looked at. */
#define MAX_IDENTITIES 64

/* TRUE when the identity's blob is the public key "TYPE BASE64". */
static gboolean
identity_is (struct libssh2_agent_publickey *identity,
             const char                     *public_key)
{
  g_auto(GStrv) parts = NULL;
  g_autofree guchar *blob = NULL;
  gsize len = 0;

  if (public_key == NULL)
    return FALSE;
  parts = g_strsplit (public_key, " ", 3);
  if (parts[0] == NULL || parts[1] == NULL)
    return FALSE;
  blob = g_base64_decode (parts[1], &len);

  return len == identity->blob_len && memcmp (blob, identity->blob, len) == 0;
}

static guint
list_identities (LIBSSH2_AGENT                   *agent,
                 const char                      *prefer,
                 struct libssh2_agent_publickey **ids)
{
  struct libssh2_agent_publickey *identity = NULL;
  guint n = 0;

  while (n < MAX_IDENTITIES && libssh2_agent_get_identity (agent, &identity, identity) == 0)
    {
      /* The team's own key first, the others in the agent's order. */
      if (identity_is (identity, prefer))
        {
          memmove (ids + 1, ids, n * sizeof *ids);
          ids[0] = identity;
        }
      else
        {
          ids[n] = identity;
        }
      n++;
    }

  return n;
}

BastionSshAgentResult
bastion_ssh_agent_login (LIBSSH2_SESSION       *session,
                         const char            *user,
                         const char            *prefer,
                         gboolean               only_prefer,
                         guint                  max_keys,
                         BastionSshAgentReport *report)
{
  struct libssh2_agent_publickey *ids[MAX_IDENTITIES];
  BastionSshAgentResult result = BASTION_SSH_AGENT_REFUSED;
  LIBSSH2_AGENT *agent;

  memset (report, 0, sizeof *report);

  agent = libssh2_agent_init (session);
  if (agent == NULL)
    return BASTION_SSH_AGENT_UNREACHABLE;

  if (libssh2_agent_connect (agent) != 0)
    {
      libssh2_agent_free (agent);
      return BASTION_SSH_AGENT_UNREACHABLE;
    }

  if (libssh2_agent_list_identities (agent) != 0)
    {
      result = BASTION_SSH_AGENT_UNREACHABLE;
      goto out;
    }

  report->n_keys = list_identities (agent, prefer, ids);
  if (only_prefer && report->n_keys > 0 && !identity_is (ids[0], prefer))
    report->n_keys = 0;
  else if (only_prefer)
    report->n_keys = MIN (report->n_keys, 1);
  if (report->n_keys == 0)
    {
      result = BASTION_SSH_AGENT_NO_KEYS;
      goto out;
    }

  for (guint i = 0; i < report->n_keys && i < max_keys; i++)
    {
      report->n_tried++;
      report->rc = libssh2_agent_userauth (agent, user, ids[i]);
      if (report->rc == 0)
        {
          report->comment = g_strdup (ids[i]->comment != NULL ? ids[i]->comment : "");
          result = BASTION_SSH_AGENT_OK;
          break;
        }
      /* Refused, or the agent could not sign with that key: try the next one. */
      if (report->rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
          report->rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
          report->rc != LIBSSH2_ERROR_AGENT_PROTOCOL)
        {
          result = BASTION_SSH_AGENT_ERROR;
          break;
        }
    }

out:
  libssh2_agent_disconnect (agent);
  libssh2_agent_free (agent);

  return result;
}

void
bastion_ssh_agent_report_clear (BastionSshAgentReport *report)
{
  g_clear_pointer (&report->comment, g_free);
}
