/* bastion-shortcuts.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Who installs a shortcut: the application (app., win., window. actions) or a widget class. */
typedef enum
{
  BASTION_SHORTCUT_APP,
  BASTION_SHORTCUT_QUERY_VIEW,
  BASTION_SHORTCUT_QUERY_PAGE,   /* capture phase: before the editor sees the key */
  BASTION_SHORTCUT_RESULT_GRID,
} BastionShortcutOwner;

typedef struct
{
  BastionShortcutOwner  owner;
  const char           *group;      /* untranslated; N_() */
  const char           *title;      /* untranslated; N_() */
  const char           *action;
  const char           *target;     /* GVariant text of the action's parameter, or NULL */
  const char           *accels[3];  /* the first is the one shown; NULL-terminated */
} BastionShortcut;

/* The one table of Bastion's keyboard shortcuts: what installs them and what the shortcuts
 * window lists come from here, so the two cannot diverge. */
const BastionShortcut *bastion_shortcuts_get               (guint                  *n_shortcuts);
void                   bastion_shortcuts_install_app       (GtkApplication         *app);
void                   bastion_shortcuts_add_bindings      (GtkWidgetClass         *widget_class,
                                                            BastionShortcutOwner    owner);
void                   bastion_shortcuts_add_to_controller (GtkShortcutController  *controller,
                                                            BastionShortcutOwner    owner);
/* The shortcuts window, generated from the table. */
GtkWindow             *bastion_shortcuts_window_new        (void);

G_END_DECLS
