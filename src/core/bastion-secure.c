/* bastion-secure.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keeps the secrets in this process's memory (the database password, the key passphrase, the
 * SSH password, the AWS secret key) out of core dumps and away from other processes.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <glib.h>

#include "bastion-secure.h"

/**
 * bastion_secure_process_init:
 *
 * Call first thing in main(), before any secret can reach the process. For the whole life of
 * the process (a secret can arrive at any moment: a keyring lookup, a prompt, a password
 * fetched again after a rotation, and freed copies stay in the heap):
 *
 * - it is not dumpable (`PR_SET_DUMPABLE` 0): the kernel writes no core dump of it, and other
 *   processes of the same user, without `CAP_SYS_PTRACE`, can neither attach to it (ptrace,
 *   gdb -p) nor read its `/proc/PID/mem`, `environ`, `maps` (those files belong to root);
 * - its soft core size limit is 0, for systems whose `fs.suid_dumpable` is 2 and whose crash
 *   collector (systemd-coredump) honours the limit. The hard limit stays as it was; children
 *   start with a soft limit of 0 too and may raise it.
 *
 * A program started through execve() becomes dumpable again (psql, pgAdmin, a terminal):
 * they are not ours and hold no secret of ours in memory.
 *
 * Inside the Flatpak sandbox (`/.flatpak-info` exists) the process stays dumpable and only the
 * core size limit is set: xdg-desktop-portal tells which app calls it by opening the caller's
 * `/proc/PID/root`, which fails for a non-dumpable process, and then refuses every request
 * (flatpak/xdg-desktop-portal issues 785, 1490, 2141). Bastion needs the Secret portal (the
 * keyring), the notification and file chooser portals there. SECURITY.md has the trade-off.
 *
 * Returns: %TRUE if both settings took effect (a warning is logged otherwise)
 */
gboolean
bastion_secure_process_init (void)
{
  struct rlimit limit;
  gboolean ok = TRUE;

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS))
    g_debug ("In the Flatpak sandbox: staying dumpable, or the portals refuse Bastion");
  else if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
      int saved = errno;

      g_warning ("Cannot make the process non-dumpable (prctl: %s): a core dump could hold "
                 "secrets", g_strerror (saved));
      ok = FALSE;
    }

  if (getrlimit (RLIMIT_CORE, &limit) == 0)
    {
      limit.rlim_cur = 0;
      if (setrlimit (RLIMIT_CORE, &limit) != 0)
        {
          int saved = errno;

          g_warning ("Cannot set the core size limit to 0: %s", g_strerror (saved));
          ok = FALSE;
        }
    }
  else
    {
      int saved = errno;

      g_warning ("Cannot read the core size limit: %s", g_strerror (saved));
      ok = FALSE;
    }

  return ok;
}

void
bastion_secure_wipe (gpointer data,
                     gsize    length)
{
  if (data != NULL && length > 0)
    explicit_bzero (data, length);
}

/* Wipes a NUL-terminated secret, then frees it. NULL is fine. */
void
bastion_secure_str_free (char *str)
{
  if (str == NULL)
    return;

  explicit_bzero (str, strlen (str));
  g_free (str);
}

/* Wipes and frees *STR and sets it to NULL. */
void
bastion_secure_clear_str (char **str)
{
  g_return_if_fail (str != NULL);

  bastion_secure_str_free (g_steal_pointer (str));
}

/* Replaces the secret in *STR with a copy of VALUE (or NULL), wiping the old one. */
void
bastion_secure_replace_str (char       **str,
                            const char  *value)
{
  g_return_if_fail (str != NULL);

  if (*str == value)
    return;

  bastion_secure_clear_str (str);
  *str = g_strdup (value);
}
