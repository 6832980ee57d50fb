/* main.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "bastion-application.h"
#include "bastion-secure.h"

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

  app = bastion_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
