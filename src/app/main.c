/* main.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <locale.h>
#include <signal.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "bastion-application.h"
#include "bastion-secure.h"

/* Tests only (tests/ui/test-ui-tunnel-block.py): with BASTION_TEST_UI_BLOCK_MS set, SIGUSR1
 * freezes the UI thread that long, as a slow frame or a stuck handler would. The tunnel must
 * not notice. */
static gboolean
on_block_ui (gpointer data)
{
  guint ms = GPOINTER_TO_UINT (data);

  g_printerr ("bastion: test hook: the UI thread blocks for %u ms\n", ms);
  g_usleep ((gulong)ms * 1000);
  g_printerr ("bastion: test hook: the UI thread is back\n");

  return G_SOURCE_CONTINUE;
}

static void
install_test_hooks (void)
{
  const char *block = g_getenv ("BASTION_TEST_UI_BLOCK_MS");
  guint64 ms;

  if (block == NULL || !g_ascii_string_to_unsigned (block, 10, 1, 60000, &ms, NULL))
    return;
  g_unix_signal_add (SIGUSR1, on_block_ui, GUINT_TO_POINTER ((guint)ms));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(BastionApplication) app = NULL;

  /* Before any secret can arrive: no core dumps, no ptrace or /proc/PID/mem by others. */
  bastion_secure_process_init ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  install_test_hooks ();
  app = bastion_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
