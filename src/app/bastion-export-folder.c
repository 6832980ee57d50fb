/* bastion-export-folder.c
 *
 * An export's default place and its "Open Folder" afterwards.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-export-folder.h"

#define NAME_MAX_CHARS 60

char *
bastion_export_dup_default_name (const char          *title,
                                 BastionResultFormat  format)
{
  const char *extension = format == BASTION_RESULT_FORMAT_JSON ? "json" : "csv";
  g_autofree char *base = NULL;
  GString *name = g_string_new (NULL);

  /* A tab's title may be the start of a statement: keep what a file name can hold. */
  for (const char *p = title != NULL && g_utf8_validate (title, -1, NULL) ? title : "";
       *p != '\0' && g_utf8_strlen (name->str, -1) < NAME_MAX_CHARS;
       p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<'
          || c == '>' || c == '|' || c == 0x2026 /* … */ || g_unichar_iscntrl (c))
        c = ' ';
      if (c == ' ' && (name->len == 0 || name->str[name->len - 1] == ' '))
        continue;
      g_string_append_unichar (name, c);
    }
  base = g_strstrip (g_string_free (name, FALSE));
  while (base[0] == '.')
    memmove (base, base + 1, strlen (base));
  if (base[0] == '\0')
    {
      g_free (base);
      /* Translators: the default file name of an exported result, without extension */
      base = g_strdup (_("result"));
    }

  return g_strdup_printf ("%s.%s", base, extension);
}

GFile *
bastion_export_dup_default_folder (void)
{
  const char *documents = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);

  /* XDG falls back to the home folder itself when Documents is not configured. */
  if (documents == NULL || !g_file_test (documents, G_FILE_TEST_IS_DIR))
    documents = g_get_home_dir ();
  return g_file_new_for_path (documents);
}

static void
on_folder_shown (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error))
    g_warning ("Could not open the export's folder: %s", error->message);
}

typedef struct
{
  GtkWindow *parent;
  GFile     *file;
} ShowData;

static void
show_data_free (ShowData *data)
{
  g_clear_object (&data->parent);
  g_clear_object (&data->file);
  g_free (data);
}

/* No file manager on the bus (or it refused): the folder through the OpenURI portal. */
static void
open_folder_uri (ShowData *data)
{
  g_autoptr(GFile) folder = g_file_get_parent (data->file);
  g_autofree char *uri = g_file_get_uri (folder);

  gtk_show_uri_full (data->parent, uri, GDK_CURRENT_TIME, NULL, on_folder_shown, NULL);
  show_data_free (data);
}

static void
on_items_shown (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ShowData *data = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      show_data_free (data);
      return;
    }
  g_debug ("FileManager1.ShowItems failed: %s", error->message);
  open_folder_uri (data);
}

static void
on_open_folder (AdwToast *toast,
                ShowData *template)
{
  GDBusConnection *bus = g_application_get_dbus_connection (g_application_get_default ());
  ShowData *data = g_new0 (ShowData, 1);
  g_autofree char *uri = g_file_get_uri (template->file);
  const char *uris[] = { uri, NULL };

  data->parent = template->parent ? g_object_ref (template->parent) : NULL;
  data->file = g_object_ref (template->file);
  if (bus == NULL)
    {
      open_folder_uri (data);
      return;
    }
  g_dbus_connection_call (bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1", "ShowItems",
                          g_variant_new ("(^ass)", uris, ""), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_items_shown, data);
}

AdwToast *
bastion_export_show_done (GtkWidget  *widget,
                          const char *text,
                          GFile      *file)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (widget, ADW_TYPE_TOAST_OVERLAY);
  GtkRoot *root = gtk_widget_get_root (widget);
  ShowData *data;
  AdwToast *toast;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  if (overlay == NULL)
    return NULL;

  toast = adw_toast_new (text);
  adw_toast_set_timeout (toast, 8);
  adw_toast_set_button_label (toast, _("_Open Folder"));
  data = g_new0 (ShowData, 1);
  data->parent = GTK_IS_WINDOW (root) ? GTK_WINDOW (g_object_ref (root)) : NULL;
  data->file = g_object_ref (file);
  g_signal_connect_data (toast, "button-clicked", G_CALLBACK (on_open_folder), data,
                         (GClosureNotify) show_data_free, G_CONNECT_DEFAULT);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
  return toast;
}
