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

/* One save dialog's question: for whom (gone if closed meanwhile), in which format. */
typedef struct
{
  GtkWidget             *owner;
  int                    format;
  BastionSaveChosenFunc  func;
} SaveCall;

static void
save_call_free (gpointer  data,
                GClosure *closure)
{
  SaveCall *call = data;

  g_clear_weak_pointer (&call->owner);
  g_free (call);
}

static void
on_save_chosen (GtkNativeDialog *chooser,
                int              response,
                SaveCall        *call)
{
  if (response == GTK_RESPONSE_ACCEPT && call->owner != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      call->func (call->owner, file, call->format);
    }
  g_object_unref (chooser);
}

void
bastion_app_run_save_chooser (GtkFileChooserNative  *chooser,
                              GtkWidget             *owner,
                              int                    format,
                              BastionSaveChosenFunc  func)
{
  SaveCall *call;

  g_return_if_fail (GTK_IS_FILE_CHOOSER_NATIVE (chooser));
  g_return_if_fail (GTK_IS_WIDGET (owner));
  g_return_if_fail (func != NULL);

  call = g_new0 (SaveCall, 1);
  g_set_weak_pointer (&call->owner, owner);
  call->format = format;
  call->func = func;
  g_signal_connect_data (chooser, "response", G_CALLBACK (on_save_chosen), call,
                         save_call_free, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
