/* bastion-export-folder.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "bastion-result-writer.h"

G_BEGIN_DECLS

/* Where an export goes by default: the tab's name (made safe for a file name) with the format's
 * extension, in the XDG Documents folder (the home folder when there is none). */
char  *bastion_export_dup_default_name   (const char          *title,
                                          BastionResultFormat  format);
GFile *bastion_export_dup_default_folder (void);
/* The toast of a finished export, with "Open Folder" (the file manager shows the file, through
 * org.freedesktop.FileManager1; the folder is opened through the OpenURI portal otherwise).
 * Returns the toast (owned by the overlay), or NULL when @widget has no toast overlay. */
AdwToast *bastion_export_show_done       (GtkWidget           *widget,
                                          const char          *text,
                                          GFile               *file);

G_END_DECLS
