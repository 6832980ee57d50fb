/* bastion-shortcuts.c
 *
 * Bastion's keyboard shortcuts in one table, installed from it and listed from it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-shortcuts.h"

/* Ctrl+W closes the query tab, as in every tabbed GNOME app; the window is Shift+Ctrl+W. */
static const BastionShortcut shortcuts[] = {
  { BASTION_SHORTCUT_APP, N_("General"), N_("Show Shortcuts"), "win.show-help-overlay", NULL,
    { "<primary>question", NULL } },
  { BASTION_SHORTCUT_APP, N_("General"), N_("Preferences"), "app.preferences", NULL,
    { "<primary>comma", NULL } },
  { BASTION_SHORTCUT_APP, N_("General"), N_("Close Window"), "window.close", NULL,
    { "<primary><shift>w", NULL } },
  { BASTION_SHORTCUT_APP, N_("General"), N_("Quit"), "win.quit", NULL,
    { "<primary>q", NULL } },
  { BASTION_SHORTCUT_APP, N_("Connection"), N_("Connect"), "win.connect", NULL,
    { "<primary>k", NULL } },
  { BASTION_SHORTCUT_APP, N_("Connection"), N_("Disconnect"), "win.disconnect", NULL,
    { "<primary><shift>k", NULL } },
  { BASTION_SHORTCUT_QUERY_PAGE, N_("Queries"),
    N_("Run the Statement at the Cursor or the Selection"), "query.run", NULL,
    { "<primary>Return", "<primary>KP_Enter", NULL } },
  { BASTION_SHORTCUT_QUERY_PAGE, N_("Queries"), N_("Run All Statements"), "query.run-all", NULL,
    { "<primary><shift>Return", NULL } },
  { BASTION_SHORTCUT_QUERY_PAGE, N_("Queries"), N_("Cancel the Running Query"), "query.cancel",
    NULL, { "Escape", NULL } },
  { BASTION_SHORTCUT_QUERY_VIEW, N_("Queries"), N_("New Query Tab"), "view.new-tab", NULL,
    { "<primary>t", NULL } },
  { BASTION_SHORTCUT_QUERY_VIEW, N_("Queries"), N_("Close Query Tab"), "view.close-tab", NULL,
    { "<primary>w", NULL } },
  { BASTION_SHORTCUT_RESULT_GRID, N_("Results"), N_("Copy the Selected Cells"),
    "grid.copy-cells", NULL, { "<primary>c", NULL } },
  { BASTION_SHORTCUT_RESULT_GRID, N_("Results"), N_("Copy the Selected Rows with Their Headers"),
    "grid.copy-rows", "'tsv'", { "<primary><shift>c", NULL } },
  { BASTION_SHORTCUT_APP, N_("Profiles"), N_("Add Profile"), "win.add-profile", NULL,
    { "<primary>n", NULL } },
  { BASTION_SHORTCUT_APP, N_("Profiles"), N_("Search Teams"), "win.search", NULL,
    { "<primary>f", NULL } },
  { BASTION_SHORTCUT_APP, N_("Profiles"), N_("Edit Profile"), "win.edit-profile", NULL,
    { "<primary>e", NULL } },
};

const BastionShortcut *
bastion_shortcuts_get (guint *n_shortcuts)
{
  if (n_shortcuts != NULL)
    *n_shortcuts = G_N_ELEMENTS (shortcuts);
  return shortcuts;
}

static GVariant *
parse_target (const BastionShortcut *shortcut)
{
  g_autoptr(GError) error = NULL;
  GVariant *target;

  if (shortcut->target == NULL)
    return NULL;

  target = g_variant_parse (NULL, shortcut->target, NULL, NULL, &error);
  if (target == NULL)
    g_critical ("Shortcut for %s: bad target %s: %s", shortcut->action, shortcut->target,
                error->message);
  return target;
}

void
bastion_shortcuts_install_app (GtkApplication *app)
{
  g_return_if_fail (GTK_IS_APPLICATION (app));

  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    {
      g_autoptr(GVariant) target = NULL;
      g_autofree char *detailed = NULL;

      if (shortcuts[i].owner != BASTION_SHORTCUT_APP)
        continue;
      target = parse_target (&shortcuts[i]);
      detailed = g_action_print_detailed_name (shortcuts[i].action, target);
      gtk_application_set_accels_for_action (app, detailed, shortcuts[i].accels);
    }
}

static GtkShortcut *
new_shortcut (const BastionShortcut *shortcut,
              const char            *accel)
{
  GtkShortcutTrigger *trigger = gtk_shortcut_trigger_parse_string (accel);
  GtkShortcut *result;

  g_assert (trigger != NULL);
  result = gtk_shortcut_new (trigger, gtk_named_action_new (shortcut->action));
  gtk_shortcut_set_arguments (result, parse_target (shortcut));
  return result;
}

void
bastion_shortcuts_add_bindings (GtkWidgetClass       *widget_class,
                                BastionShortcutOwner  owner)
{
  g_return_if_fail (GTK_IS_WIDGET_CLASS (widget_class));

  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    for (guint a = 0; shortcuts[i].owner == owner && shortcuts[i].accels[a] != NULL; a++)
      {
        g_autoptr(GtkShortcut) shortcut = new_shortcut (&shortcuts[i], shortcuts[i].accels[a]);

        gtk_widget_class_add_shortcut (widget_class, shortcut);
      }
}

void
bastion_shortcuts_add_to_controller (GtkShortcutController *controller,
                                     BastionShortcutOwner   owner)
{
  g_return_if_fail (GTK_IS_SHORTCUT_CONTROLLER (controller));

  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    for (guint a = 0; shortcuts[i].owner == owner && shortcuts[i].accels[a] != NULL; a++)
      gtk_shortcut_controller_add_shortcut (controller,
                                            new_shortcut (&shortcuts[i], shortcuts[i].accels[a]));
}

static void
append_group (GString    *xml,
              const char *group)
{
  g_autofree char *name = g_markup_escape_text (_(group), -1);

  g_string_append_printf (xml, "<child><object class='GtkShortcutsGroup'>"
                               "<property name='title'>%s</property>", name);
  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    {
      g_autofree char *title = NULL;
      g_autofree char *accels = NULL;
      g_autofree char *accel = NULL;

      if (!g_str_equal (shortcuts[i].group, group))
        continue;
      title = g_markup_escape_text (_(shortcuts[i].title), -1);
      /* The first accelerator: the others are the same key elsewhere (the keypad's Enter). */
      accels = g_strdup (shortcuts[i].accels[0]);
      accel = g_markup_escape_text (accels, -1);
      g_string_append_printf (xml, "<child><object class='GtkShortcutsShortcut'>"
                                   "<property name='title'>%s</property>"
                                   "<property name='accelerator'>%s</property>"
                                   "</object></child>", title, accel);
    }
  g_string_append (xml, "</object></child>");
}

/* GtkShortcutsWindow is filled through GtkBuilder only, so the table becomes its XML; groups
 * come in the order they first appear. A column of 16 rows: with fewer, GTK 4.8 lays out the
 * second column's titles with a negative width (a critical warning). */
static char *
dup_window_xml (void)
{
  GString *xml = g_string_new ("<interface><object class='GtkShortcutsWindow' id='window'>"
                               "<property name='modal'>True</property><child>"
                               "<object class='GtkShortcutsSection'>"
                               "<property name='section-name'>shortcuts</property>"
                               "<property name='max-height'>16</property>");

  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < i && !seen; j++)
        seen = g_str_equal (shortcuts[j].group, shortcuts[i].group);
      if (!seen)
        append_group (xml, shortcuts[i].group);
    }
  g_string_append (xml, "</object></child></object></interface>");

  return g_string_free (xml, FALSE);
}

GtkWindow *
bastion_shortcuts_window_new (void)
{
  g_autofree char *xml = dup_window_xml ();
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_string (xml, -1);
  GtkWindow *window = GTK_WINDOW (gtk_builder_get_object (builder, "window"));

  return g_object_ref_sink (window);
}
