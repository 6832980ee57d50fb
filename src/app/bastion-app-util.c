/* bastion-app-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-app-util.h"

char *
bastion_app_dup_display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize len;

  if (path == NULL)
    return NULL;

  len = home != NULL ? strlen (home) : 0;
  if (len > 1 && strncmp (path, home, len) == 0 && (path[len] == '/' || path[len] == '\0'))
    return g_strconcat ("~", path + len, NULL);

  return g_strdup (path);
}
