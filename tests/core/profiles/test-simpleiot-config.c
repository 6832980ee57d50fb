/* test-simpleiot-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-simpleiot.h"

#include "test-util.h"


static JsonObject *
load_admin_fixture (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "simpleiot-config.json",
                                                 NULL);

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static char *
object_to_data (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, TRUE);
}

static gboolean
warnings_mention (GPtrArray  *warnings,
                  const char *text)
{
  for (guint i = 0; i < warnings->len; i++)
    {
      const GError *w = g_ptr_array_index (warnings, i);

      if (strstr (w->message, text) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* ---- One key of the real admin config changed: the table. ---- */

typedef void (*CheckFunc) (BastionProfile *profile, GPtrArray *warnings);

typedef struct
{
  const char *name;
  const char *key;
  const char *value_json;   /* NULL = remove the key */
  int         error_code;   /* 0 = parses */
  const char *in_message;   /* the error (or a warning) names this too */
  CheckFunc   check;
} KeyCase;

static void
check_admin_defaults (BastionProfile *p,
                      GPtrArray      *warnings)
{
  g_assert_cmpstr (bastion_profile_get_id (p), ==, "simpleiot-acme");
  g_assert_cmpstr (bastion_profile_get_display_name (p), ==, "acme");
  g_assert_cmpint (bastion_profile_get_source (p), ==, BASTION_PROFILE_SOURCE_SIMPLEIOT);
  g_assert_cmpstr (bastion_profile_get_team_dir (p), ==, "/teams/acme");
  g_assert_cmpstr (bastion_profile_get_ssh_host (p), ==,
                   "ec2-54-190-12-34.us-west-2.compute.amazonaws.com");
  g_assert_cmpuint (bastion_profile_get_ssh_port (p), ==, 22);
  g_assert_cmpstr (bastion_profile_get_ssh_user (p), ==, "ec2-user");
  g_assert_cmpint (bastion_profile_get_auth_method (p), ==, BASTION_AUTH_METHOD_KEY);
  g_assert_cmpstr (bastion_profile_get_key_file (p), ==,
                   "/teams/acme/certs/simpleiot-bastion-keypair.pem");
  g_assert_cmpstr (bastion_profile_get_db_host (p), ==,
                   "id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com");
  g_assert_cmpuint (bastion_profile_get_db_port (p), ==, 5432);
  g_assert_cmpstr (bastion_profile_get_db_name (p), ==, "simpleiot");
  g_assert_cmpstr (bastion_profile_get_db_user (p), ==, "dbadmin");
  g_assert_cmpuint (bastion_profile_get_local_port (p), ==, 6543);
  g_assert_cmpstr (bastion_profile_get_aws_profile (p), ==, "default");
  g_assert_cmpstr (bastion_profile_get_aws_region (p), ==, "us-west-2");
  g_assert_cmpstr (bastion_profile_get_aws_account (p), ==, "123456789012");
  g_assert_cmpstr (bastion_profile_get_aws_secret_id (p), ==, "SimpleIOT-db-password");
  g_assert_cmpstr (bastion_profile_get_name_prefix (p), ==, "iot");
  g_assert_cmpstr (bastion_profile_get_stage (p), ==, "dev");
  g_assert_cmpstr (bastion_profile_get_allowed_ip (p), ==, "203.0.113.45");
  g_assert_cmpstr (bastion_profile_get_ssl_mode (p), ==, "prefer");
  g_assert_true (bastion_profile_get_read_only (p));
  g_assert_true (bastion_profile_get_has_db_access (p));
  g_assert_null (bastion_profile_get_no_access_reason (p));
  g_assert_cmpuint (warnings->len, ==, 0);
  {
    g_auto(GStrv) modified = bastion_profile_dup_user_modified (p);
    g_assert_cmpuint (g_strv_length (modified), ==, 0);
  }
}

static void
check_ssh_port_2222 (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpuint (bastion_profile_get_ssh_port (p), ==, 2222);
}

static void
check_ssh_port_22 (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpuint (bastion_profile_get_ssh_port (p), ==, 22);
}

static void
check_db_port_5433 (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpuint (bastion_profile_get_db_port (p), ==, 5433);
}

static void
check_local_port_7000 (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpuint (bastion_profile_get_local_port (p), ==, 7000);
}

static void
check_host_is_ip (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_ssh_host (p), ==, "54.190.12.34");
  g_assert_true (bastion_profile_get_has_db_access (p));
}

static void
check_user_default (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_ssh_user (p), ==, "ec2-user");
}

static void
check_keypair_custom (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_key_file (p), ==, "/teams/acme/certs/team-key.pem");
}

static void
check_keypair_default (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_key_file (p), ==,
                   "/teams/acme/certs/simpleiot-bastion-keypair.pem");
}

static void
check_team_from_folder (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_id (p), ==, "simpleiot-acme");
  g_assert_cmpuint (w->len, ==, 1);
}

static void
check_no_db_host (BastionProfile *p, GPtrArray *w)
{
  g_assert_false (bastion_profile_get_has_db_access (p));
  g_assert_nonnull (strstr (bastion_profile_get_no_access_reason (p), "dbHostname"));
}

static void
check_account_number (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_aws_account (p), ==, "123456789012");
}

static void
check_db_defaults (BastionProfile *p, GPtrArray *w)
{
  g_assert_cmpstr (bastion_profile_get_db_name (p), ==, "simpleiot");
  g_assert_cmpstr (bastion_profile_get_db_user (p), ==, "dbadmin");
  g_assert_cmpuint (bastion_profile_get_db_port (p), ==, 5432);
  g_assert_cmpuint (bastion_profile_get_local_port (p), ==, 6543);
}

static const KeyCase key_cases[] = {
  { "unchanged", "team", "\"acme\"", 0, NULL, check_admin_defaults },
  { "port-number", "bastion_ssh_port", "2222", 0, NULL, check_ssh_port_2222 },
  { "port-string", "bastion_ssh_port", "\"22\"", 0, NULL, check_ssh_port_22 },
  { "port-string-spaces", "database_tcp_port", "\" 5433 \"", 0, NULL, check_db_port_5433 },
  { "port-integral-float", "ssh_db_local_port", "7000.0", 0, NULL, check_local_port_7000 },
  { "port-null", "bastion_ssh_port", "null", 0, NULL, check_ssh_port_22 },
  { "port-abc", "bastion_ssh_port", "\"abc\"", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
    "“abc”", NULL },
  { "port-zero", "database_tcp_port", "0", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "0", NULL },
  { "port-negative", "database_tcp_port", "-5", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "-5", NULL },
  { "port-too-big", "ssh_db_local_port", "70000", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "70000",
    NULL },
  { "port-string-too-big", "ssh_db_local_port", "\"65536\"", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,
    "65536", NULL },
  { "port-fraction", "bastion_ssh_port", "22.5", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "22.5",
    NULL },
  { "port-bool", "bastion_ssh_port", "true", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL, NULL },
  { "port-object", "ssh_db_local_port", "{}", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL, NULL },
  { "port-array", "database_tcp_port", "[5432]", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL, NULL },
  { "team-array", "team", "[\"acme\"]", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL, NULL },
  { "host-bool", "bastionHostSSHDns", "false", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL, NULL },
  { "user-object", "bastion_ssh_user", "{\"a\":1}", BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, NULL,
    NULL },
  { "dns-missing", "bastionHostSSHDns", NULL, 0, NULL, check_host_is_ip },
  { "dns-empty", "bastionHostSSHDns", "\"\"", 0, NULL, check_host_is_ip },
  { "user-missing", "bastion_ssh_user", NULL, 0, NULL, check_user_default },
  { "ssh-port-missing", "bastion_ssh_port", NULL, 0, NULL, check_ssh_port_22 },
  { "keypair-custom", "bastion_ssh_ec2_keypair_filename", "\"team-key.pem\"", 0, NULL,
    check_keypair_custom },
  { "keypair-missing", "bastion_ssh_ec2_keypair_filename", NULL, 0, NULL, check_keypair_default },
  { "team-missing", "team", NULL, 0, "team", check_team_from_folder },
  { "db-host-missing", "dbHostname", NULL, 0, "dbHostname", check_no_db_host },
  { "account-number", "account", "123456789012", 0, NULL, check_account_number },
  { "db-name-missing", "db_name", NULL, 0, NULL, check_db_defaults },
  { "db-user-missing", "db_username", NULL, 0, NULL, check_db_defaults },
};

static void
test_key_case (gconstpointer data)
{
  const KeyCase *c = data;
  g_autoptr(JsonObject) object = load_admin_fixture ();
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (c->value_json == NULL)
    json_object_remove_member (object, c->key);
  else
    json_object_set_member (object, c->key, json_from_string (c->value_json, NULL));
  text = object_to_data (object);

  profile = bastion_simpleiot_parse_config ("/teams/acme", "/teams/acme/config.json", text, -1,
                                            warnings, &error);

  if (c->error_code != 0)
    {
      g_assert_error (error, BASTION_SIMPLEIOT_ERROR, c->error_code);
      g_assert_null (profile);
      /* Every message names the file and the key. */
      g_assert_nonnull (strstr (error->message, "/teams/acme/config.json"));
      g_assert_nonnull (strstr (error->message, c->key));
      if (c->in_message)
        g_assert_nonnull (strstr (error->message, c->in_message));
      return;
    }

  g_assert_no_error (error);
  g_assert_nonnull (profile);
  if (c->in_message)
    {
      g_assert_true (warnings_mention (warnings, c->in_message));
      g_assert_true (warnings_mention (warnings, "/teams/acme/config.json"));
    }
  c->check (profile, warnings);
}

/* ---- Whole-file problems: the second table. ---- */

typedef struct
{
  const char *name;
  const char *data;
  gssize      length;
  int         error_code;
  const char *in_message;
} DataCase;

static const DataCase data_cases[] = {
  { "truncated", "{ \"team\": \"acme\", ", -1, BASTION_SIMPLEIOT_ERROR_MALFORMED, NULL },
  { "trailing-garbage", "{ \"team\": \"acme\" } }", -1, BASTION_SIMPLEIOT_ERROR_MALFORMED, NULL },
  { "empty", "", 0, BASTION_SIMPLEIOT_ERROR_MALFORMED, "empty" },
  { "whitespace", "  \n ", -1, BASTION_SIMPLEIOT_ERROR_MALFORMED, NULL },
  { "array", "[ { \"team\": \"acme\" } ]", -1, BASTION_SIMPLEIOT_ERROR_MALFORMED, "object" },
  { "string", "\"acme\"", -1, BASTION_SIMPLEIOT_ERROR_MALFORMED, "object" },
  { "latin1", "{ \"team\": \"caf\xe9\" }", -1, BASTION_SIMPLEIOT_ERROR_NOT_UTF8, "UTF-8" },
  { "nul-byte", "{ \"team\": \"a\0b\" }", 17, BASTION_SIMPLEIOT_ERROR_NOT_UTF8, "UTF-8" },
  { "utf16-bom", "\xff\xfe{\0}\0", 6, BASTION_SIMPLEIOT_ERROR_NOT_UTF8, "UTF-8" },
  /* Issue 25: names that could drive a terminal or be cut short. */
  { "team-escape", "{ \"team\": \"evil\\u001b]0;x\\u0007\" }", -1,
    BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "U+001B" },
  { "team-newline", "{ \"team\": \"a\\nb\" }", -1, BASTION_SIMPLEIOT_ERROR_WRONG_TYPE, "U+000A" },
  { "team-nul-escape", "{ \"team\": \"ab\\u0000cd\" }", -1, BASTION_SIMPLEIOT_ERROR_NOT_UTF8,
    "NUL" },
};

/* Issue 25: json-glib recurses once per level and overflowed its stack near 100,000 levels.
 * Above 64 the file is refused before json-glib sees it; 64 is read. */
static void
test_deep (void)
{
  const guint depths[] = { 100000, 65, 64 };

  for (guint i = 0; i < G_N_ELEMENTS (depths); i++)
    {
      g_autoptr(GString) text = g_string_new ("{ \"team\": \"acme\", \"x\": \"[[[\\\"[\", \"y\": ");
      g_autoptr(BastionProfile) profile = NULL;
      g_autoptr(GError) error = NULL;

      /* The top object is one level. */
      for (guint d = 1; d < depths[i]; d++)
        g_string_append_c (text, '[');
      for (guint d = 1; d < depths[i]; d++)
        g_string_append_c (text, ']');
      g_string_append (text, " }");

      profile = bastion_simpleiot_parse_config ("/teams/acme", "/teams/acme/config.json",
                                                text->str, text->len, NULL, &error);
      if (depths[i] > BASTION_JSON_MAX_DEPTH)
        {
          g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_MALFORMED);
          g_assert_nonnull (strstr (error->message, "/teams/acme/config.json"));
          g_assert_nonnull (strstr (error->message, "64 levels"));
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (profile);
        }
    }
}

static void
test_data_case (gconstpointer data)
{
  const DataCase *c = data;
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  profile = bastion_simpleiot_parse_config ("/teams/acme", "/teams/acme/config.json", c->data,
                                            c->length, NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, c->error_code);
  g_assert_null (profile);
  g_assert_nonnull (strstr (error->message, "/teams/acme/config.json"));
  if (c->in_message)
    g_assert_nonnull (strstr (error->message, c->in_message));
}

static void
test_too_large (void)
{
  g_autoptr(GString) big = g_string_new ("{ \"team\": \"acme\", \"pad\": \"");
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  while (big->len <= BASTION_SIMPLEIOT_MAX_CONFIG_SIZE)
    g_string_append (big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append (big, "\" }");

  profile = bastion_simpleiot_parse_config ("/teams/acme", "/teams/acme/config.json", big->str,
                                            big->len, NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "/teams/acme/config.json"));
  g_assert_nonnull (strstr (error->message, "1 MB"));
}

static void
test_member_config (void)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "simpleiot", "install",
                                                 "widgets", NULL);

  profile = bastion_simpleiot_load_team (path, warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_profile_get_id (profile), ==, "simpleiot-widgets");
  g_assert_cmpstr (bastion_profile_get_display_name (profile), ==, "widgets");
  g_assert_false (bastion_profile_get_has_db_access (profile));
  g_assert_nonnull (strstr (bastion_profile_get_no_access_reason (profile), "member"));
  g_assert_null (bastion_profile_get_ssh_host (profile));
  g_assert_null (bastion_profile_get_db_host (profile));
  g_assert_null (bastion_profile_get_key_file (profile));
  g_assert_cmpstr (bastion_profile_get_aws_region (profile), ==, "eu-west-1");
  /* A member's config is normal, not a problem to warn about. */
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_config_sys (void)
{
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "simpleiot", "legacy",
                                                 "oldteam", NULL);

  profile = bastion_simpleiot_load_team (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_profile_get_id (profile), ==, "simpleiot-oldteam");
  /* Ports as strings, the host from bastionHostSSHIp. */
  g_assert_cmpuint (bastion_profile_get_ssh_port (profile), ==, 2222);
  g_assert_cmpuint (bastion_profile_get_db_port (profile), ==, 5433);
  g_assert_cmpuint (bastion_profile_get_local_port (profile), ==, 7654);
  g_assert_cmpstr (bastion_profile_get_ssh_host (profile), ==, "54.190.12.34");
}

static void
test_config_json_preferred (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
  g_autofree char *team = g_build_filename (tmp, "t", NULL);
  g_autofree char *json = g_build_filename (team, "config.json", NULL);
  g_autofree char *sys = g_build_filename (team, "config.sys", NULL);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  test_write_file (json, "{ \"team\": \"from-json\" }", -1);
  test_write_file (sys, "{ \"team\": \"from-sys\" }", -1);

  profile = bastion_simpleiot_load_team (team, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bastion_profile_get_display_name (profile), ==, "from-json");

  test_rm_rf (tmp);
}

/* ---- Folder problems ---- */

static void
test_empty_folder (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
  g_autofree char *team = g_build_filename (tmp, "empty", NULL);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (team, 0755), ==, 0);
  profile = bastion_simpleiot_load_team (team, NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NO_CONFIG);
  g_assert_nonnull (strstr (error->message, team));
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);

  /* Other files but no config. */
  {
    g_autofree char *other = g_build_filename (team, "bootstrap.json", NULL);

    test_write_file (other, "{}", -1);
    profile = bastion_simpleiot_load_team (team, NULL, &error);
    g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NO_CONFIG);
    g_assert_nonnull (strstr (error->message, "config.json"));
  }

  test_rm_rf (tmp);
}

static void
test_symlink_loop_config (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
  g_autofree char *team = g_build_filename (tmp, "loopy", NULL);
  g_autofree char *json = g_build_filename (team, "config.json", NULL);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (team, 0755), ==, 0);
  g_assert_cmpint (symlink ("config.json", json), ==, 0);

  profile = bastion_simpleiot_load_team (team, NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_SYMLINK_LOOP);
  g_assert_nonnull (strstr (error->message, json));

  test_rm_rf (tmp);
}

static void
test_too_large_file (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
  g_autofree char *json = g_build_filename (tmp, "big", "config.json", NULL);
  g_autofree char *team = g_path_get_dirname (json);
  g_autofree char *data = g_malloc (BASTION_SIMPLEIOT_MAX_CONFIG_SIZE + 10);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  memset (data, ' ', BASTION_SIMPLEIOT_MAX_CONFIG_SIZE + 10);
  data[0] = '{';
  data[BASTION_SIMPLEIOT_MAX_CONFIG_SIZE + 9] = '}';
  test_write_file (json, data, BASTION_SIMPLEIOT_MAX_CONFIG_SIZE + 10);

  profile = bastion_simpleiot_load_team (team, NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, json));

  test_rm_rf (tmp);
}

/* A SimpleIOT folder with a good team next to each kind of broken one. */
static char *
make_mixed_install (void)
{
  g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
  g_autofree char *good = g_build_filename (tmp, "good", "config.json", NULL);
  g_autofree char *bad_json = g_build_filename (tmp, "broken", "config.json", NULL);
  g_autofree char *bad_port = g_build_filename (tmp, "badport", "config.json", NULL);
  g_autofree char *latin1 = g_build_filename (tmp, "latin1", "config.json", NULL);
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_autofree char *loop = g_build_filename (tmp, "loop", NULL);
  g_autofree char *dangling = g_build_filename (tmp, "dangling", NULL);
  g_autofree char *toolchain = g_build_filename (tmp, "_toolchain", "config.json", NULL);
  g_autofree char *note = g_build_filename (tmp, "simpleiot_last_install_team.txt", NULL);

  test_write_file (good, "{ \"team\": \"good\", \"bastionHostSSHIp\": \"192.0.2.1\", "
                    "\"dbHostname\": \"db.example\", \"bastion_ssh_port\": \"22\" }", -1);
  test_write_file (bad_json, "{ \"team\": \"broken\", ", -1);
  test_write_file (bad_port, "{ \"team\": \"badport\", \"bastion_ssh_port\": \"abc\" }", -1);
  test_write_file (latin1, "{ \"team\": \"caf\xe9\" }", -1);
  test_write_file (toolchain, "{ \"team\": \"toolchain\" }", -1);
  test_write_file (note, "good\n", -1);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_cmpint (symlink ("loop", loop), ==, 0);
  g_assert_cmpint (symlink ("does-not-exist", dangling), ==, 0);

  return g_steal_pointer (&tmp);
}

static void
test_scan_mixed (void)
{
  g_autofree char *tmp = make_mixed_install ();
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GPtrArray) profiles = NULL;
  g_autoptr(GError) error = NULL;
  gboolean seen[5] = { FALSE };

  profiles = bastion_simpleiot_scan (tmp, warnings, &error);
  g_assert_no_error (error);

  /* The good team still imports. */
  g_assert_cmpuint (profiles->len, ==, 1);
  g_assert_cmpstr (bastion_profile_get_id (g_ptr_array_index (profiles, 0)), ==, "simpleiot-good");
  g_assert_cmpuint (bastion_profile_get_ssh_port (g_ptr_array_index (profiles, 0)), ==, 22);

  /* One warning per broken team, each naming its file or folder. */
  g_assert_cmpuint (warnings->len, ==, 5);
  for (guint i = 0; i < warnings->len; i++)
    {
      const GError *w = g_ptr_array_index (warnings, i);

      g_test_message ("warning: %s", w->message);
      g_assert_true (w->domain == BASTION_SIMPLEIOT_ERROR);
      if (strstr (w->message, "broken/config.json") && w->code == BASTION_SIMPLEIOT_ERROR_MALFORMED)
        seen[0] = TRUE;
      else if (strstr (w->message, "badport/config.json") && strstr (w->message, "bastion_ssh_port")
               && w->code == BASTION_SIMPLEIOT_ERROR_WRONG_TYPE)
        seen[1] = TRUE;
      else if (strstr (w->message, "latin1/config.json")
               && w->code == BASTION_SIMPLEIOT_ERROR_NOT_UTF8)
        seen[2] = TRUE;
      else if (strstr (w->message, "/empty") && w->code == BASTION_SIMPLEIOT_ERROR_NO_CONFIG)
        seen[3] = TRUE;
      else if (strstr (w->message, "/loop") && w->code == BASTION_SIMPLEIOT_ERROR_SYMLINK_LOOP)
        seen[4] = TRUE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (seen); i++)
    g_assert_true (seen[i]);

  test_rm_rf (tmp);
}

static void
test_scan_install_fixture (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "fixtures", "simpleiot", "install",
                                                NULL);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GPtrArray) profiles = NULL;
  g_autoptr(GError) error = NULL;

  profiles = bastion_simpleiot_scan (dir, warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (warnings->len, ==, 0);
  /* _toolchain and the note file are not teams. */
  g_assert_cmpuint (profiles->len, ==, 2);
  g_assert_cmpstr (bastion_profile_get_id (g_ptr_array_index (profiles, 0)), ==, "simpleiot-acme");
  g_assert_cmpstr (bastion_profile_get_id (g_ptr_array_index (profiles, 1)), ==,
                   "simpleiot-widgets");
  g_assert_true (bastion_profile_get_has_db_access (g_ptr_array_index (profiles, 0)));
  g_assert_false (bastion_profile_get_has_db_access (g_ptr_array_index (profiles, 1)));
}

static void
test_scan_missing_dir (void)
{
  g_autoptr(GPtrArray) profiles = NULL;
  g_autoptr(GError) error = NULL;

  profiles = bastion_simpleiot_scan ("/nonexistent/bastion/.simpleiot", NULL, &error);
  g_assert_error (error, BASTION_SIMPLEIOT_ERROR, BASTION_SIMPLEIOT_ERROR_NOT_FOUND);
  g_assert_null (profiles);
  g_assert_nonnull (strstr (error->message, "/nonexistent/bastion/.simpleiot"));
}

static void
test_default_dir (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("BASTION_SIMPLEIOT_DIR"));
  g_autofree char *dir = NULL;
  g_autofree char *home_dir = NULL;

  g_setenv ("BASTION_SIMPLEIOT_DIR", "/srv/teams", TRUE);
  dir = bastion_simpleiot_dup_default_dir ();
  g_assert_cmpstr (dir, ==, "/srv/teams");

  g_unsetenv ("BASTION_SIMPLEIOT_DIR");
  home_dir = bastion_simpleiot_dup_default_dir ();
  g_assert_true (g_str_has_suffix (home_dir, "/.simpleiot"));

  if (saved)
    g_setenv ("BASTION_SIMPLEIOT_DIR", saved, TRUE);
}

/* Root reads anything: the child drops to "nobody" so the permission check is real. */
static void
test_unreadable (void)
{
  if (g_test_subprocess ())
    {
      const char *tmp = g_getenv ("BASTION_TEST_UNREADABLE_DIR");
      g_autofree char *locked = g_build_filename (tmp, "locked", NULL);
      g_autofree char *secret_cfg = g_build_filename (tmp, "rootcfg", "config.json", NULL);
      g_autoptr(GPtrArray) warnings =
        g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      g_autoptr(GPtrArray) profiles = NULL;
      g_autoptr(GError) error = NULL;
      gboolean saw_dir = FALSE, saw_file = FALSE;

      test_become_unprivileged ();
      profiles = bastion_simpleiot_scan (tmp, warnings, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (profiles->len, ==, 1);
      g_assert_cmpstr (bastion_profile_get_id (g_ptr_array_index (profiles, 0)), ==,
                       "simpleiot-open");
      for (guint i = 0; i < warnings->len; i++)
        {
          const GError *w = g_ptr_array_index (warnings, i);

          g_test_message ("warning: %s", w->message);
          g_assert_true (g_error_matches (w, BASTION_SIMPLEIOT_ERROR,
                                          BASTION_SIMPLEIOT_ERROR_UNREADABLE));
          saw_dir |= strstr (w->message, locked) != NULL;
          saw_file |= strstr (w->message, secret_cfg) != NULL;
        }
      g_assert_true (saw_dir);
      g_assert_true (saw_file);
      g_assert_cmpuint (warnings->len, ==, 2);
      return;
    }
  else
    {
      g_autofree char *tmp = test_make_tmp_dir ("bastion-simpleiot-XXXXXX");
      g_autofree char *open_cfg = g_build_filename (tmp, "open", "config.json", NULL);
      g_autofree char *locked_cfg = g_build_filename (tmp, "locked", "config.json", NULL);
      g_autofree char *locked = g_path_get_dirname (locked_cfg);
      g_autofree char *root_cfg = g_build_filename (tmp, "rootcfg", "config.json", NULL);

      test_write_file (open_cfg, "{ \"team\": \"open\" }", -1);
      test_write_file (locked_cfg, "{ \"team\": \"locked\" }", -1);
      test_write_file (root_cfg, "{ \"team\": \"rootcfg\" }", -1);
      g_assert_cmpint (g_chmod (locked, 0700), ==, 0);
      g_assert_cmpint (g_chmod (root_cfg, 0600), ==, 0);
      if (geteuid () != 0)
        {
          /* We own them: take our own rights away instead. */
          g_assert_cmpint (g_chmod (locked, 0), ==, 0);
          g_assert_cmpint (g_chmod (root_cfg, 0), ==, 0);
        }

      g_setenv ("BASTION_TEST_UNREADABLE_DIR", tmp, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      test_rm_rf (tmp);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (key_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/bastion/simpleiot/key/%s", key_cases[i].name);
      g_test_add_data_func (path, &key_cases[i], test_key_case);
    }
  g_test_add_func ("/bastion/simpleiot/data/deep", test_deep);
  for (guint i = 0; i < G_N_ELEMENTS (data_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/bastion/simpleiot/data/%s", data_cases[i].name);
      g_test_add_data_func (path, &data_cases[i], test_data_case);
    }
  g_test_add_func ("/bastion/simpleiot/data/too-large", test_too_large);
  g_test_add_func ("/bastion/simpleiot/member", test_member_config);
  g_test_add_func ("/bastion/simpleiot/config-sys", test_config_sys);
  g_test_add_func ("/bastion/simpleiot/config-json-preferred", test_config_json_preferred);
  g_test_add_func ("/bastion/simpleiot/folder/empty", test_empty_folder);
  g_test_add_func ("/bastion/simpleiot/folder/symlink-loop", test_symlink_loop_config);
  g_test_add_func ("/bastion/simpleiot/folder/too-large", test_too_large_file);
  g_test_add_func ("/bastion/simpleiot/folder/unreadable", test_unreadable);
  g_test_add_func ("/bastion/simpleiot/scan/mixed", test_scan_mixed);
  g_test_add_func ("/bastion/simpleiot/scan/install-fixture", test_scan_install_fixture);
  g_test_add_func ("/bastion/simpleiot/scan/missing-dir", test_scan_missing_dir);
  g_test_add_func ("/bastion/simpleiot/default-dir", test_default_dir);

  return g_test_run ();
}
