/* bastion-launcher-pgadmin.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * pgAdmin's setup.py can list servers (dump-servers) and add them (load-servers), never update
 * or remove one: load-servers always appends, and its --replace first deletes every server of
 * the user. So when the tunnel moved (another local port, user, database or options), Bastion
 * removes only its own entry — the server named TEAM in its group "SimpleIOT — TEAM" — from
 * pgAdmin's SQLite database, with pgAdmin's own Python, then adds it again with load-servers.
 * The user's other servers are never read or written.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <sys/stat.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-launcher-pgadmin-private.h"

/* A dump bigger than this is not pgAdmin's list of servers. */
#define MAX_DUMP_SIZE (16 * 1024 * 1024)

/* Run by pgAdmin's interpreter as: python -I -c SCRIPT DB GROUP NAME. Only rows of the group
 * Bastion named are touched; SQLite's busy timeout covers a pgAdmin that is writing. */
static const char remove_script[] =
  "import sqlite3, sys\n"
  "db, group, name = sys.argv[1:4]\n"
  "con = sqlite3.connect(db, timeout=10)\n"
  "with con:\n"
  "    cur = con.execute('DELETE FROM server WHERE name = ? AND servergroup_id IN '\n"
  "                      '(SELECT id FROM servergroup WHERE name = ?)', (name, group))\n"
  "print('removed %d' % cur.rowcount)\n";

static JsonObject *
servers_of (JsonNode *root)
{
  JsonObject *object;
  JsonNode *servers;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  object = json_node_get_object (root);
  servers = json_object_get_member (object, "Servers");
  if (servers == NULL || !JSON_NODE_HOLDS_OBJECT (servers))
    return NULL;

  return json_node_get_object (servers);
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gint64
int_member (JsonObject *object,
            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return -1;

  return json_node_get_int (node);
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* TRUE when HAVE (from pgAdmin) points where WANT (Bastion's servers.json entry) does. */
static gboolean
entry_is_current (JsonObject *have,
                  JsonObject *want)
{
  static const char *strings[] = { "Host", "Username", "MaintenanceDB" };
  static const char *params[] = { "hostaddr", "sslmode", "options" };
  JsonObject *have_params = object_member (have, "ConnectionParameters");
  JsonObject *want_params = object_member (want, "ConnectionParameters");

  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    if (g_strcmp0 (string_member (have, strings[i]), string_member (want, strings[i])) != 0)
      return FALSE;
  if (int_member (have, "Port") != int_member (want, "Port"))
    return FALSE;
  /* pgAdmin exports the password command only in desktop mode. */
  if (string_member (have, "PasswordExecCommand") != NULL &&
      g_strcmp0 (string_member (have, "PasswordExecCommand"),
                 string_member (want, "PasswordExecCommand")) != 0)
    return FALSE;

  /* pgAdmin < 7 has no ConnectionParameters: HostAddr and SSLMode. */
  if (have_params == NULL)
    return g_strcmp0 (string_member (have, "HostAddr"), string_member (want, "HostAddr")) == 0 &&
           g_strcmp0 (string_member (have, "SSLMode"), string_member (want, "SSLMode")) == 0;

  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    if (g_strcmp0 (string_member (have_params, params[i]),
                   string_member (want_params, params[i])) != 0)
      return FALSE;

  return TRUE;
}

static JsonObject *
first_server (JsonParser *parser)
{
  JsonObject *servers = servers_of (json_parser_get_root (parser));
  g_autoptr(GList) members = servers ? json_object_get_members (servers) : NULL;

  if (members == NULL)
    return NULL;

  return object_member (servers, members->data);
}

/**
 * bastion_pgadmin_find_entry:
 * @dump_path: what `setup.py dump-servers` wrote
 * @wanted_json: the servers.json Bastion loads (one server)
 *
 * Whether pgAdmin already has Bastion's server for the team, and whether it is current. Two or
 * more of them (an older Bastion loaded it twice) count as stale: they are all replaced by one.
 */
BastionPgadminEntry
bastion_pgadmin_find_entry (const char  *dump_path,
                            const char  *wanted_json,
                            GError     **error)
{
  g_autoptr(JsonParser) dump = json_parser_new ();
  g_autoptr(JsonParser) wanted = json_parser_new ();
  g_autofree char *contents = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *servers;
  JsonObject *want;
  const char *name;
  const char *group;
  guint found = 0;
  gboolean current = FALSE;
  gsize len = 0;

  if (!json_parser_load_from_data (wanted, wanted_json, -1, error))
    return BASTION_PGADMIN_ENTRY_ABSENT;
  want = first_server (wanted);
  g_return_val_if_fail (want != NULL, BASTION_PGADMIN_ENTRY_ABSENT);
  name = string_member (want, "Name");
  group = string_member (want, "Group");

  /* pgAdmin's file, but outside input all the same: bounded in size and depth. */
  if (!bastion_bounded_file_read (dump_path, MAX_DUMP_SIZE, &contents, &len, error))
    return BASTION_PGADMIN_ENTRY_ABSENT;
  g_clear_object (&dump);
  dump = bastion_json_parse_bounded (contents, len, dump_path, error);
  if (dump == NULL)
    return BASTION_PGADMIN_ENTRY_ABSENT;

  servers = servers_of (json_parser_get_root (dump));
  if (servers == NULL)
    return BASTION_PGADMIN_ENTRY_ABSENT;

  members = json_object_get_members (servers);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *server = object_member (servers, l->data);

      if (server == NULL || g_strcmp0 (string_member (server, "Name"), name) != 0 ||
          g_strcmp0 (string_member (server, "Group"), group) != 0)
        continue;
      found++;
      current = entry_is_current (server, want);
    }

  if (found == 0)
    return BASTION_PGADMIN_ENTRY_ABSENT;

  return found == 1 && current ? BASTION_PGADMIN_ENTRY_CURRENT : BASTION_PGADMIN_ENTRY_STALE;
}

/**
 * bastion_pgadmin_remove_argv:
 *
 * The command that removes Bastion's server NAME of GROUP from pgAdmin's database, run by
 * pgAdmin's own Python (-I: no user site packages, no PYTHON* variables).
 */
GStrv
bastion_pgadmin_remove_argv (const char *python,
                             const char *sqlite_path,
                             const char *group,
                             const char *name)
{
  const char *argv[] = { python, "-I", "-c", remove_script, sqlite_path, group, name, NULL };

  return g_strdupv ((char **)argv);
}
