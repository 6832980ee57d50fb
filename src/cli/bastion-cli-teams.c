/* bastion-cli-teams.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-cli-private.h"
#include "bastion-profile-store.h"
#include "bastion-simpleiot.h"

BastionProfileStore *
bastion_cli_load_store (const char *step)
{
  g_autoptr(BastionProfileStore) store = bastion_profile_store_new (NULL);
  g_autoptr(GError) error = NULL;

  if (!bastion_profile_store_load (store, &error))
    {
      bastion_cli_fail_error (step, error);
      return NULL;
    }

  return g_steal_pointer (&store);
}

BastionProfile *
bastion_cli_find_profile (BastionProfileStore *store,
                          const char          *step,
                          const char          *team)
{
  BastionProfile *profile = bastion_profile_store_lookup (store, team);

  if (profile == NULL)
    bastion_cli_fail (step,
                      _("no team or profile “%s”; run “bastion-cli teams” to list them, or "
                        "“bastion-cli import” to import the SimpleIOT teams"),
                      team);

  return profile;
}

gboolean
bastion_cli_parse_port (const char *step,
                        const char *option,
                        const char *text,
                        guint      *port)
{
  guint64 value = 0;
  gboolean digits = text[0] != '\0' && strlen (text) <= 5;

  for (const char *p = text; digits && *p != '\0'; p++)
    digits = g_ascii_isdigit (*p);

  if (!digits || !g_ascii_string_to_unsigned (text, 10, 0, 65535, &value, NULL))
    {
      g_autofree char *shown = bastion_cli_dup_printable (text);

      bastion_cli_fail (step, _("%s must be a port number from 0 to 65535 in decimal digits, "
                                "not “%s”"),
                        option, shown);
      return FALSE;
    }

  *port = value;
  return TRUE;
}

/* Parses argv with options; argv[0] is the command. FALSE when --help was handled or the
 * arguments were wrong (status set). */
gboolean
bastion_cli_parse_options (int           *argc,
                           char        ***argv,
                           const char    *parameter_string,
                           const char    *summary,
                           GOptionEntry  *entries,
                           int           *status)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *step = g_strdup ((*argv)[0]);
  g_autofree char *prgname = g_strdup_printf ("bastion-cli %s", step);

  /* stdout carries data (JSON, a secret for pgAdmin): log lines, debug ones too, go to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  /* "Usage: bastion-cli COMMAND …" in --help. */
  g_set_prgname (prgname);
  context = g_option_context_new (parameter_string);
  g_option_context_set_summary (context, summary);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = bastion_cli_fail (step, _("%s; run “bastion-cli %s --help”"), error->message,
                                  step);
      return FALSE;
    }

  return TRUE;
}

static void
print_profile_line (BastionProfile *profile)
{
  const char *name = bastion_profile_get_display_name (profile);
  g_autofree char *where = NULL;
  g_autofree char *id = NULL;
  g_autofree char *shown_name = NULL;
  g_autofree char *shown_where = NULL;

  if (!bastion_profile_get_has_db_access (profile))
    where = g_strdup_printf (_("no database access: %s"),
                             bastion_profile_get_no_access_reason (profile)
                             ? bastion_profile_get_no_access_reason (profile) : "");
  else
    where = g_strdup_printf ("%s@%s:%u → %s:%u/%s",
                             bastion_profile_get_ssh_user (profile)
                             ? bastion_profile_get_ssh_user (profile) : "?",
                             bastion_profile_get_ssh_host (profile)
                             ? bastion_profile_get_ssh_host (profile) : "?",
                             bastion_profile_get_ssh_port (profile),
                             bastion_profile_get_db_host (profile)
                             ? bastion_profile_get_db_host (profile) : "?",
                             bastion_profile_get_db_port (profile),
                             bastion_profile_get_db_name (profile)
                             ? bastion_profile_get_db_name (profile) : "?");

  /* profiles.json and team configs are outside input: no ESC, BEL or line break of theirs
   * reaches the terminal or forges a line. */
  id = bastion_cli_dup_printable (bastion_profile_get_id (profile));
  shown_name = bastion_cli_dup_printable (name ? name : "");
  shown_where = bastion_cli_dup_printable (where);
  g_print ("%-24s %-20s %-9s %s\n",
           id, shown_name,
           bastion_profile_source_to_string (bastion_profile_get_source (profile)),
           shown_where);
}

int
bastion_cli_teams (int    argc,
                   char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the profiles as JSON"), NULL },
    { NULL }
  };
  int status = 0;
  guint n;

  if (!bastion_cli_parse_options (&argc, &argv, NULL,
                                  _("List the team profiles (SimpleIOT teams and manual ones)."),
                                  entries, &status))
    return status;

  if (argc > 1)
    return bastion_cli_fail ("teams", _("unexpected argument “%s”; run “bastion-cli teams "
                                        "--help”"), argv[1]);

  store = bastion_cli_load_store ("teams");
  if (store == NULL)
    return 1;

  n = g_list_model_get_n_items (G_LIST_MODEL (store));

  if (json)
    {
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;
      JsonArray *array = json_array_new ();

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(BastionProfile) profile = g_list_model_get_item (G_LIST_MODEL (store), i);

          json_array_add_object_element (array, bastion_profile_to_json (profile));
        }

      root = json_node_init_array (json_node_alloc (), array);
      json_array_unref (array);
      json_generator_set_pretty (generator, TRUE);
      json_generator_set_indent (generator, 2);
      json_generator_set_root (generator, root);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
      return 0;
    }

  if (n == 0)
    {
      g_print ("%s\n", _("No profiles yet; run “bastion-cli import” to import the SimpleIOT "
                         "teams."));
      return 0;
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(BastionProfile) profile = g_list_model_get_item (G_LIST_MODEL (store), i);

      print_profile_line (profile);
    }

  return 0;
}

int
bastion_cli_import (int    argc,
                    char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(GPtrArray) imported = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *from = NULL;
  g_autofree char *dir = NULL;
  GOptionEntry entries[] = {
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &from,
      N_("The SimpleIOT folder (default: $BASTION_SIMPLEIOT_DIR or ~/.simpleiot)"), N_("DIR") },
    { NULL }
  };
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, NULL,
                                  _("Import the SimpleIOT teams: new teams are added, known ones "
                                    "refreshed, keeping what you changed."),
                                  entries, &status))
    return status;

  if (argc > 1)
    return bastion_cli_fail ("import", _("unexpected argument “%s”; run “bastion-cli import "
                                         "--help”"), argv[1]);

  dir = from ? g_steal_pointer (&from) : bastion_simpleiot_dup_default_dir ();

  store = bastion_cli_load_store ("import");
  if (store == NULL)
    return 1;

  if (!bastion_profile_store_import_simpleiot_full (store, dir, &imported, &warnings, &error))
    return bastion_cli_fail_error ("import", error);

  for (guint i = 0; i < warnings->len; i++)
    {
      const GError *warning = g_ptr_array_index (warnings, i);
      g_autofree char *line = g_strdup (warning->message);
      g_autofree char *shown = NULL;

      g_strdelimit (line, "\r\n", ' ');
      shown = bastion_cli_dup_printable (line);
      g_printerr ("bastion-cli: import: %s %s\n", _("warning:"), shown);
    }

  if (!bastion_profile_store_save (store, &error))
    return bastion_cli_fail_error ("import", error);

  for (guint i = 0; i < imported->len; i++)
    {
      BastionProfile *profile = g_ptr_array_index (imported, i);
      g_autofree char *name = bastion_cli_dup_printable (bastion_profile_get_display_name (profile));
      g_autofree char *id = bastion_cli_dup_printable (bastion_profile_get_id (profile));

      if (bastion_profile_get_has_db_access (profile))
        g_print (_("imported %s (%s)\n"), name, id);
      else
        g_print (_("imported %s (%s), no database access\n"), name, id);
    }

  if (imported->len == 0)
    {
      g_autofree char *shown = bastion_cli_dup_printable (dir);

      g_print (_("no teams found in %s\n"), shown);
    }

  return 0;
}
