/* bastion-cli-prompt.c: asking for an SSH secret on the terminal, as ssh and ssh-add do.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Only when standard input is a terminal: the answer is read with echo off (restored on
 * SIGINT/SIGTERM/SIGHUP too), at most 1 KiB, and wiped from the buffers. A secret never reaches
 * argv, the environment or a file; the keyring keeps it only when the user says so.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "bastion-cli-private.h"
#include "bastion-secure.h"

#define MAX_ANSWER 1024

static struct termios saved_termios;
static volatile sig_atomic_t echo_off;

static void
restore_echo_and_die (int sig)
{
  if (echo_off)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  signal (sig, SIG_DFL);
  raise (sig);
}

gboolean
bastion_cli_can_prompt (void)
{
  return isatty (STDIN_FILENO) && isatty (STDERR_FILENO);
}

/* Reads one line from standard input into BUF (NUL-terminated, newline removed). */
static gboolean
read_line (char  *buf,
           gsize  size)
{
  gsize len = 0;

  while (len + 1 < size)
    {
      char c;
      ssize_t n = read (STDIN_FILENO, &c, 1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return len > 0;
      if (c == '\n' || c == '\r')
        break;
      buf[len++] = c;
    }
  buf[len] = '\0';
  return TRUE;
}

/**
 * bastion_cli_prompt_secret:
 *
 * Asks QUESTION on the terminal and reads the answer without echo. Returns NULL when there is no
 * terminal or the input ended.
 */
char *
bastion_cli_prompt_secret (const char *question)
{
  struct sigaction sa = { 0 };
  struct sigaction old_int, old_term, old_hup;
  struct termios quiet;
  char buf[MAX_ANSWER];
  gboolean ok;
  char *answer = NULL;

  if (!bastion_cli_can_prompt () || tcgetattr (STDIN_FILENO, &saved_termios) != 0)
    return NULL;

  sa.sa_handler = restore_echo_and_die;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);
  sigaction (SIGHUP, &sa, &old_hup);

  quiet = saved_termios;
  quiet.c_lflag &= ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  echo_off = 1;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);

  g_printerr ("%s", question);
  ok = read_line (buf, sizeof buf);
  g_printerr ("\n");

  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  echo_off = 0;
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  sigaction (SIGHUP, &old_hup, NULL);

  if (ok)
    answer = g_strdup (buf);
  bastion_secure_wipe (buf, sizeof buf);

  return answer;
}

/* A yes/no question on the terminal; anything but y/yes is no. */
gboolean
bastion_cli_prompt_yes_no (const char *question)
{
  char buf[64];

  if (!bastion_cli_can_prompt ())
    return FALSE;

  g_printerr ("%s", question);
  if (!read_line (buf, sizeof buf))
    return FALSE;

  g_strstrip (buf);
  return g_ascii_strcasecmp (buf, "y") == 0 || g_ascii_strcasecmp (buf, "yes") == 0 ||
         g_str_equal (buf, _("y")) || g_str_equal (buf, _("yes"));
}
