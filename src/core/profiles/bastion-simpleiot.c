/* bastion-simpleiot.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-defaults.h"
#include "bastion-simpleiot.h"

G_DEFINE_QUARK (bastion-simpleiot-error-quark, bastion_simpleiot_error)

#define DEFAULT_KEYPAIR_FILENAME "simpleiot-bastion-keypair.pem"

char *
bastion_simpleiot_dup_default_dir (void)
{
  const char *env = g_getenv ("BASTION_SIMPLEIOT_DIR");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);

  return g_build_filename (g_get_home_dir (), ".simpleiot", NULL);
}

static void
add_warning (GPtrArray  *warnings,
             GError     *warning)
{
  if (warnings != NULL)
    g_ptr_array_add (warnings, warning);
  else
    g_error_free (warning);
}

/* A string member: missing or null gives NULL; a number is taken as its decimal text (an account
 * id is sometimes written as a number); anything else is an error naming file and key. */
static gboolean
get_string (JsonObject  *object,
            const char  *filename,
            const char  *key,
            char       **out,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);
  GType type;

  *out = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_STRING)
    {
      const char *str = json_node_get_string (node);

      *out = str[0] != '\0' ? g_strdup (str) : NULL;
      return TRUE;
    }
  if (type == G_TYPE_INT64)
    {
      *out = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      return TRUE;
    }

  g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
               /* Translators: %s are a file name and a JSON key */
               _("%s: the value of “%s” must be text; correct the team config"),
               filename, key);
  return FALSE;
}

/* A port: a JSON number, or a string holding one ("22" is what CDK outputs look like). */
static gboolean
get_port (JsonObject  *object,
          const char  *filename,
          const char  *key,
          guint        default_value,
          guint       *out,
          GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);
  g_autofree char *shown = NULL;
  GType type;

  *out = default_value;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (node);

      if (v >= 1 && v <= 65535)
        {
          *out = v;
          return TRUE;
        }
      shown = g_strdup_printf ("%" G_GINT64_FORMAT, v);
    }
  else if (type == G_TYPE_DOUBLE)
    {
      double v = json_node_get_double (node);

      if (v >= 1 && v <= 65535 && v == (double) (guint) v)
        {
          *out = (guint) v;
          return TRUE;
        }
      shown = g_strdup_printf ("%g", v);
    }
  else if (type == G_TYPE_STRING)
    {
      const char *str = json_node_get_string (node);
      g_autofree char *stripped = g_strstrip (g_strdup (str));
      guint64 v;

      if (stripped[0] == '\0')
        return TRUE;
      if (g_ascii_string_to_unsigned (stripped, 10, 1, 65535, &v, NULL))
        {
          *out = v;
          return TRUE;
        }
      shown = g_strdup_printf ("“%s”", str);
    }

  if (shown != NULL)
    g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
                 /* Translators: a file name, a JSON key, then the value found */
                 _("%s: the value of “%s” must be a port number from 1 to 65535, not %s; "
                   "correct the team config"),
                 filename, key, shown);
  else
    g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
                 _("%s: the value of “%s” must be a port number from 1 to 65535; "
                   "correct the team config"),
                 filename, key);
  return FALSE;
}

/* A team name is printed in terminals and sorted in lists: a control character (an ANSI or OSC
 * sequence, a line break that forges a line of output) has no place in it. JSON's \u0000 would
 * silently cut the name at the NUL, so json-glib's string is checked against its length too. */
static gboolean
check_team_name (const char  *filename,
                 const char  *name,
                 gboolean     from_folder,
                 GError     **error)
{
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        {
          if (from_folder)
            g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
                         /* Translators: a file name, then a character code such as U+001B */
                         _("%s has no “team” key and its folder’s name holds the control "
                           "character U+%04X, which a team name cannot have; rename the folder "
                           "or add a “team” key"),
                         filename, c);
          else
            g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
                         /* Translators: a file name, then a character code such as U+001B */
                         _("%s: the value of “team” holds the control character U+%04X, which a "
                           "team name cannot have; correct the team config"),
                         filename, c);
          return FALSE;
        }
    }

  return TRUE;
}

enum {
  K_TEAM, K_DNS, K_IP, K_USER, K_KEYPAIR, K_DB_HOST, K_DB_NAME, K_DB_USER, K_SECRET,
  K_AWS_PROFILE, K_REGION, K_ACCOUNT, K_PREFIX, K_PREFIX2, K_STAGE, K_ALLOWED_IP, N_KEYS
};

static const char * const config_keys[N_KEYS] = {
  [K_TEAM] = "team",
  [K_DNS] = "bastionHostSSHDns",
  [K_IP] = "bastionHostSSHIp",
  [K_USER] = "bastion_ssh_user",
  [K_KEYPAIR] = "bastion_ssh_ec2_keypair_filename",
  [K_DB_HOST] = "dbHostname",
  [K_DB_NAME] = "db_name",
  [K_DB_USER] = "db_username",
  [K_SECRET] = "db_password_key",
  [K_AWS_PROFILE] = "aws_profile",
  [K_REGION] = "region",
  [K_ACCOUNT] = "account",
  [K_PREFIX] = "name_prefix",
  [K_PREFIX2] = "namePrefix",
  [K_STAGE] = "stage",
  [K_ALLOWED_IP] = "bastionSSHAllowedIP",
};

/* What a team config says, before it becomes a profile. */
typedef struct
{
  char  *values[N_KEYS];
  guint  ssh_port;
  guint  db_port;
  guint  local_port;
} ConfigValues;

static void
config_values_clear (ConfigValues *config)
{
  for (guint i = 0; i < N_KEYS; i++)
    g_clear_pointer (&config->values[i], g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConfigValues, config_values_clear)

/* Loads data into parser once it is known to be bounded, UTF-8 JSON holding an object. */
static gboolean
load_config (JsonParser  *parser,
             const char  *filename,
             const char  *data,
             gssize       length,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *end = NULL;
  JsonNode *root;

  if (length > BASTION_SIMPLEIOT_MAX_CONFIG_SIZE)
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_TOO_LARGE,
                   _("%s is larger than 1 MB, too large for a team config; "
                     "check that it is the right file"),
                   filename);
      return FALSE;
    }

  if (!g_utf8_validate (data, length, &end))
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_UTF8,
                   _("%s is not UTF-8 text (bad byte at offset %lu); save it as UTF-8"),
                   filename, (gulong) (end - data));
      return FALSE;
    }

  /* json-glib recurses per level: 100,000 nested "[" overflow its stack. */
  if (!bastion_json_check_depth (data, length, BASTION_JSON_MAX_DEPTH, filename, &local_error))
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MALFORMED,
                   _("%s; fix the file or reinstall the team"), local_error->message);
      return FALSE;
    }

  if (bastion_json_find_nul_escape (data, length) >= 0)
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_UTF8,
                   _("%s holds a NUL character (\\u0000 at offset %lu), which would cut a name "
                     "short; correct the team config"),
                   filename, (gulong) bastion_json_find_nul_escape (data, length));
      return FALSE;
    }

  if (length == 0 || !json_parser_load_from_data (parser, data, length, &local_error))
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MALFORMED,
                   _("%s is not valid JSON (%s); fix the file or reinstall the team"),
                   filename, local_error ? local_error->message : _("the file is empty"));
      return FALSE;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MALFORMED,
                   _("%s must hold a JSON object ({ … }); fix the file or reinstall the team"),
                   filename);
      return FALSE;
    }

  return TRUE;
}

/* The keys and ports of object; the team name is checked, or the folder's name taken. */
static gboolean
read_config (JsonObject    *object,
             const char    *team_dir,
             const char    *filename,
             GPtrArray     *warnings,
             ConfigValues  *config,
             GError       **error)
{
  g_autofree char *folder_name = NULL;
  gboolean ok = TRUE;

  for (guint i = 0; i < N_KEYS && ok; i++)
    ok = get_string (object, filename, config_keys[i], &config->values[i], error);
  ok = ok && get_port (object, filename, "bastion_ssh_port", 22, &config->ssh_port, error);
  ok = ok && get_port (object, filename, "database_tcp_port", BASTION_DEFAULT_DB_PORT, &config->db_port, error);
  ok = ok && get_port (object, filename, "ssh_db_local_port", BASTION_DEFAULT_LOCAL_PORT, &config->local_port, error);
  if (!ok)
    return FALSE;

  if (config->values[K_TEAM] != NULL &&
      !check_team_name (filename, config->values[K_TEAM], FALSE, error))
    return FALSE;

  folder_name = g_path_get_basename (team_dir);
  if (config->values[K_TEAM] == NULL && !check_team_name (filename, folder_name, TRUE, error))
    return FALSE;
  if (config->values[K_TEAM] == NULL)
    {
      config->values[K_TEAM] = g_strdup (folder_name);
      add_warning (warnings,
                   g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MISSING_KEY,
                                _("%s has no “team” key; using the folder name “%s”"),
                                filename, folder_name));
    }

  return TRUE;
}

/* The bastion host and the database, with SimpleIOT's defaults. */
static void
set_connection (BastionProfile     *profile,
                const char         *team_dir,
                const ConfigValues *config)
{
  char * const *keys = config->values;
  const char *keypair = keys[K_KEYPAIR] ? keys[K_KEYPAIR] : DEFAULT_KEYPAIR_FILENAME;
  g_autofree char *key_path = NULL;

  if (g_path_is_absolute (keypair))
    key_path = g_strdup (keypair);
  else
    key_path = g_build_filename (team_dir, "certs", keypair, NULL);

  bastion_profile_set_ssh_host (profile, keys[K_DNS] ? keys[K_DNS] : keys[K_IP]);
  bastion_profile_set_ssh_port (profile, config->ssh_port);
  bastion_profile_set_ssh_user (profile, keys[K_USER] ? keys[K_USER] : BASTION_DEFAULT_SSH_USER);
  bastion_profile_set_key_file (profile, key_path);
  bastion_profile_set_db_host (profile, keys[K_DB_HOST]);
  bastion_profile_set_db_port (profile, config->db_port);
  bastion_profile_set_db_name (profile, keys[K_DB_NAME] ? keys[K_DB_NAME] : "simpleiot");
  bastion_profile_set_db_user (profile, keys[K_DB_USER] ? keys[K_DB_USER] : "dbadmin");
  bastion_profile_set_local_port (profile, config->local_port);
  bastion_profile_set_aws_secret_id (profile, keys[K_SECRET] ? keys[K_SECRET]
                                                             : "SimpleIOT-db-password");
}

/* Why a config without a bastion host or a database gives no database access. */
static void
set_access (BastionProfile *profile,
            const char     *filename,
            gboolean        has_bastion,
            gboolean        has_db,
            GPtrArray      *warnings)
{
  if (!has_bastion && !has_db)
    {
      bastion_profile_set_has_db_access (profile, FALSE);
      bastion_profile_set_no_access_reason (profile,
        _("This is a team member’s configuration (joined by invite): it names no bastion host "
          "and no database. Ask the team’s administrator for database access."));
    }
  else if (!has_bastion || !has_db)
    {
      const char *missing = has_bastion ? "dbHostname" : "bastionHostSSHDns";
      g_autofree char *reason = NULL;

      reason = g_strdup_printf (_("%s has no “%s” key, so Bastion cannot reach the database; "
                                  "reinstall the team or enter the host in the profile"),
                                filename, missing);
      bastion_profile_set_has_db_access (profile, FALSE);
      bastion_profile_set_no_access_reason (profile, reason);
      add_warning (warnings, g_error_new_literal (BASTION_SIMPLEIOT_ERROR,
                                                  BASTION_SIMPLEIOT_ERROR_MISSING_KEY, reason));
    }
}

BastionProfile *
bastion_simpleiot_parse_config (const char  *team_dir,
                                const char  *filename,
                                const char  *data,
                                gssize       length,
                                GPtrArray   *warnings,
                                GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(BastionProfile) profile = NULL;
  g_auto(ConfigValues) config = { { NULL } };
  char **keys = config.values;
  gboolean has_bastion, has_db;

  g_return_val_if_fail (team_dir != NULL, NULL);
  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length < 0)
    length = strlen (data);

  parser = json_parser_new ();
  if (!load_config (parser, filename, data, length, error) ||
      !read_config (json_node_get_object (json_parser_get_root (parser)), team_dir, filename,
                    warnings, &config, error))
    return NULL;

  profile = bastion_profile_new_simpleiot (keys[K_TEAM]);
  /* Parsed values are the team's, not the user's: no user-modified marks. */
  bastion_profile_clear_user_modified (profile, "source");
  bastion_profile_clear_user_modified (profile, "display-name");

  has_bastion = keys[K_DNS] != NULL || keys[K_IP] != NULL;
  has_db = keys[K_DB_HOST] != NULL;

  bastion_profile_set_team_dir (profile, team_dir);
  bastion_profile_set_aws_profile (profile, keys[K_AWS_PROFILE]);
  bastion_profile_set_aws_region (profile, keys[K_REGION]);
  bastion_profile_set_aws_account (profile, keys[K_ACCOUNT]);
  bastion_profile_set_name_prefix (profile, keys[K_PREFIX] ? keys[K_PREFIX] : keys[K_PREFIX2]);
  bastion_profile_set_stage (profile, keys[K_STAGE]);
  bastion_profile_set_allowed_ip (profile, keys[K_ALLOWED_IP]);

  if (has_bastion || has_db)
    set_connection (profile, team_dir, &config);
  set_access (profile, filename, has_bastion, has_db, warnings);

  /* Nothing the parser set counts as a user edit. */
  {
    g_auto(GStrv) marked = bastion_profile_dup_user_modified (profile);

    for (guint i = 0; marked[i]; i++)
      bastion_profile_clear_user_modified (profile, marked[i]);
  }

  return g_steal_pointer (&profile);
}

static GError *
io_error (const char *path,
          int         saved_errno,
          gboolean    is_dir)
{
  if (saved_errno == ELOOP)
    return g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_SYMLINK_LOOP,
                        _("%s is a symbolic link that loops back on itself; remove or fix the "
                          "link"),
                        path);
  if (saved_errno == EACCES || saved_errno == EPERM)
    return g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_UNREADABLE,
                        is_dir
                        ? _("Cannot read the folder %s: permission denied. It may belong to "
                            "root after a Docker install; run “sudo chown -R $USER %s”")
                        : _("Cannot read %s: permission denied. It may belong to root after a "
                            "Docker install; run “sudo chown $USER %s”"),
                        path, path);
  if (saved_errno == ENOENT)
    return g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_FOUND,
                        _("%s does not exist"), path);

  return g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_UNREADABLE,
                      _("Cannot read %s: %s"), path, g_strerror (saved_errno));
}

/* g_dir_open() reports errno only through its GError. */
static int
errno_from_file_error (const GError *error)
{
  if (error == NULL || error->domain != G_FILE_ERROR)
    return EIO;

  switch (error->code)
    {
    case G_FILE_ERROR_ACCES:
    case G_FILE_ERROR_PERM:
      return EACCES;
    case G_FILE_ERROR_LOOP:
      return ELOOP;
    case G_FILE_ERROR_NOENT:
      return ENOENT;
    case G_FILE_ERROR_NOTDIR:
      return ENOTDIR;
    default:
      return EIO;
    }
}

/* SimpleIOT's installer often leaves the key at mode 0644 (or root's after a Docker install),
 * which SSH and Bastion refuse: say so at import, with the fix, not only at the first connect. */
static void
warn_open_key (BastionProfile *profile,
               GPtrArray      *warnings)
{
  const char *key = bastion_profile_get_key_file (profile);
  GStatBuf st;

  if (key == NULL || g_stat (key, &st) != 0 || !S_ISREG (st.st_mode)
      || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
    return;

  if (st.st_uid == geteuid ())
    add_warning (warnings,
                 g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_KEY_TOO_OPEN,
                              _("Other users can read or change the key file %s (mode %03o), so "
                                "Bastion and SSH refuse it; run “chmod 600 %s”"),
                              key, (guint) (st.st_mode & 0777), key));
  else
    add_warning (warnings,
                 g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_KEY_TOO_OPEN,
                              _("The key file %s belongs to another user and others can read "
                                "it (mode %03o), so Bastion and SSH refuse it; run “sudo chown "
                                "$USER %s” and “chmod 600 %s”"),
                              key, (guint) (st.st_mode & 0777), key, key));
}

BastionProfile *
bastion_simpleiot_load_team (const char  *team_dir,
                             GPtrArray   *warnings,
                             GError     **error)
{
  static const char *names[] = { "config.json", "config.sys" };
  g_autoptr(GError) dir_error = NULL;
  g_autoptr(GDir) dir = NULL;
  gboolean empty;
  GStatBuf st;

  g_return_val_if_fail (team_dir != NULL, NULL);

  if (g_stat (team_dir, &st) != 0)
    {
      g_propagate_error (error, io_error (team_dir, errno, TRUE));
      return NULL;
    }

  dir = g_dir_open (team_dir, 0, &dir_error);
  if (dir == NULL)
    {
      g_propagate_error (error, io_error (team_dir, errno_from_file_error (dir_error), TRUE));
      return NULL;
    }
  empty = g_dir_read_name (dir) == NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (team_dir, names[i], NULL);
      g_autofree char *contents = NULL;
      BastionProfile *profile;
      g_autoptr(GError) local_error = NULL;
      gsize length = 0;

      /* Never blocks: a FIFO or device is refused without being opened for reading. */
      if (!bastion_bounded_file_read (path, BASTION_SIMPLEIOT_MAX_CONFIG_SIZE, &contents, &length,
                                      &local_error))
        {
          if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            continue;
          if (local_error->domain == G_FILE_ERROR)
            g_propagate_error (error, io_error (path, errno_from_file_error (local_error), FALSE));
          else if (g_error_matches (local_error, BASTION_BOUNDED_FILE_ERROR,
                                    BASTION_BOUNDED_FILE_ERROR_TOO_LARGE))
            g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_TOO_LARGE,
                         _("%s is larger than 1 MB, too large for a team config; "
                           "check that it is the right file"),
                         path);
          else
            g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MALFORMED,
                         _("%s is not a regular file; replace it with the team config"), path);
          return NULL;
        }

      profile = bastion_simpleiot_parse_config (team_dir, path, contents, length, warnings, error);
      if (profile != NULL)
        warn_open_key (profile, warnings);
      return profile;
    }

  if (empty)
    g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NO_CONFIG,
                 _("The team folder %s is empty: it has no config.json; reinstall the team "
                   "or remove the folder"),
                 team_dir);
  else
    g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NO_CONFIG,
                 _("The team folder %s has no config.json (nor config.sys); reinstall the team "
                   "or remove the folder"),
                 team_dir);
  return NULL;
}

static int
compare_profiles (gconstpointer a,
                  gconstpointer b)
{
  BastionProfile *pa = *(BastionProfile * const *) a;
  BastionProfile *pb = *(BastionProfile * const *) b;

  return g_strcmp0 (bastion_profile_get_id (pa), bastion_profile_get_id (pb));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names in dir that may be teams, sorted; NULL (and error) when dir cannot be read. */
static GPtrArray *
list_team_folders (const char  *dir,
                   GError     **error)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) dir_error = NULL;
  g_autoptr(GDir) gdir = NULL;
  const char *name;
  GStatBuf st;

  if (g_stat (dir, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        g_set_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_FOUND,
                     _("The SimpleIOT folder %s does not exist; install a team with SimpleIOT’s "
                       "tools or choose another folder"),
                     dir);
      else
        g_propagate_error (error, io_error (dir, saved_errno, TRUE));
      return NULL;
    }

  gdir = g_dir_open (dir, 0, &dir_error);
  if (gdir == NULL)
    {
      g_propagate_error (error, io_error (dir, errno_from_file_error (dir_error), TRUE));
      return NULL;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (gdir)))
    {
      /* "_toolchain" and friends are SimpleIOT's own folders, not teams. */
      if (name[0] == '_' || name[0] == '.')
        continue;
      g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);

  return g_steal_pointer (&names);
}

GPtrArray *
bastion_simpleiot_scan (const char  *dir,
                        GPtrArray   *warnings,
                        GError     **error)
{
  g_autofree char *default_dir = NULL;
  g_autoptr(GPtrArray) profiles = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GHashTable) seen = NULL;
  GStatBuf st;

  if (dir == NULL)
    dir = default_dir = bastion_simpleiot_dup_default_dir ();

  names = list_team_folders (dir, error);
  if (names == NULL)
    return NULL;

  profiles = g_ptr_array_new_with_free_func (g_object_unref);
  seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autoptr(BastionProfile) profile = NULL;
      g_autoptr(GError) local_error = NULL;
      GStatBuf lst;

      if (g_stat (path, &st) != 0)
        {
          int saved_errno = errno;

          /* A dangling link is not a team; a looping one is worth saying. */
          if (saved_errno == ELOOP)
            add_warning (warnings, io_error (path, saved_errno, TRUE));
          else if (g_lstat (path, &lst) != 0 || !S_ISLNK (lst.st_mode))
            add_warning (warnings, io_error (path, saved_errno, TRUE));
          continue;
        }

      /* Files such as the last-install note live beside the teams. */
      if (!S_ISDIR (st.st_mode))
        continue;

      profile = bastion_simpleiot_load_team (path, warnings, &local_error);
      if (profile == NULL)
        {
          g_debug ("SimpleIOT team %s skipped: %s", path, local_error->message);
          add_warning (warnings, g_steal_pointer (&local_error));
          continue;
        }

      if (g_hash_table_contains (seen, bastion_profile_get_id (profile)))
        {
          add_warning (warnings,
                       g_error_new (BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_DUPLICATE,
                                    _("%s: team “%s” is already imported from another folder; "
                                      "this folder is skipped"),
                                    path, bastion_profile_get_display_name (profile)));
          continue;
        }

      g_hash_table_add (seen, (gpointer) bastion_profile_get_id (profile));
      g_ptr_array_add (profiles, g_steal_pointer (&profile));
    }

  g_ptr_array_sort (profiles, compare_profiles);
  g_hash_table_remove_all (seen);

  return g_steal_pointer (&profiles);
}
