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

gboolean
bastion_app_connection_awaits_user (BastionConnection *connection)
{
  const GError *error;

  if (connection == NULL
      || bastion_connection_get_stage (connection) != BASTION_CONNECTION_STAGE_FAILED)
    return FALSE;

  error = bastion_connection_get_error (connection);
  return error != NULL
         && (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN)
             || g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED)
             || g_error_matches (error, BASTION_CONNECTION_ERROR,
                                 BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED)
             || g_error_matches (error, BASTION_CONNECTION_ERROR,
                                 BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED)
             || g_error_matches (error, BASTION_CONNECTION_ERROR,
                                 BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED));
}
