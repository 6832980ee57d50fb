/* test-aws.c
 *
 * BastionAws against tests/harness/aws_endpoint.py (run under `with-servers --aws`), which
 * recomputes every request's SigV4 signature with botocore: a badly signed request fails here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "aws-test-control.h"
#include "bastion-aws.h"

static BastionAws *
aws_new (const char *profile)
{
  BastionAws *aws = bastion_aws_new (profile, NULL);

  bastion_aws_set_poll_interval (aws, 20);
  bastion_aws_set_wait_timeout (aws, 60);

  return aws;
}

static void
setup (void)
{
  g_autoptr(JsonNode) node = control ("reset", "{}");
}

/* ---------------------------------------------------------------------------------------------
 * Credentials and the INI reader
 */

static const char tolerant_config[] =
  "\xef\xbb\xbf# written by hand\r\n"
  "[default]\r\n"
  "region = eu-central-1\r\n"
  "; a comment GKeyFile does not know\r\n"
  "s3 =\r\n"
  "    max_concurrent_requests = 20\r\n"
  "cli_pager=\r\n"
  "\r\n"
  "[profile   team-x ]\n"
  "region=us-west-2\n"
  "output = json\n"
  "a line without an equals sign\n"
  "[sso-session corp]\n"
  "sso_start_url = https://example.awsapps.com/start\n";

static void
test_ini_tolerant (void)
{
  g_autoptr(GHashTable) sections = bastion_aws_ini_parse (tolerant_config);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  GHashTable *section;

  /* Why our own reader: GKeyFile refuses what aws writes and people type. */
  g_assert_false (g_key_file_load_from_data (key_file, tolerant_config, -1, 0, NULL));

  section = g_hash_table_lookup (sections, "default");
  g_assert_nonnull (section);
  g_assert_cmpstr (g_hash_table_lookup (section, "region"), ==, "eu-central-1");
  g_assert_cmpstr (g_hash_table_lookup (section, "s3.max_concurrent_requests"), ==, "20");
  g_assert_cmpstr (g_hash_table_lookup (section, "cli_pager"), ==, "");
  section = g_hash_table_lookup (sections, "profile team-x");
  g_assert_nonnull (section);
  g_assert_cmpstr (g_hash_table_lookup (section, "region"), ==, "us-west-2");
  g_assert_cmpstr (g_hash_table_lookup (section, "output"), ==, "json");
  g_assert_nonnull (g_hash_table_lookup (sections, "sso-session corp"));
}

static char *
write_tmp (const char *name,
           const char *text)
{
  char *path = g_build_filename (g_getenv ("BASTION_TEST_TMP"), name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);

  return path;
}

typedef struct
{
  char *name;
  char *value;
} SavedEnv;

static const char *chain_vars[] = {
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
  "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
};

static GArray *
save_env (void)
{
  GArray *saved = g_array_new (FALSE, FALSE, sizeof (SavedEnv));

  for (guint i = 0; i < G_N_ELEMENTS (chain_vars); i++)
    {
      SavedEnv entry = { g_strdup (chain_vars[i]), g_strdup (g_getenv (chain_vars[i])) };

      g_array_append_val (saved, entry);
      g_unsetenv (chain_vars[i]);
    }

  return saved;
}

static void
restore_env (GArray *saved)
{
  for (guint i = 0; i < saved->len; i++)
    {
      SavedEnv *entry = &g_array_index (saved, SavedEnv, i);

      if (entry->value != NULL)
        g_setenv (entry->name, entry->value, TRUE);
      else
        g_unsetenv (entry->name);
      g_free (entry->name);
      g_free (entry->value);
    }
  g_array_unref (saved);
}

static void
test_credentials_chain (void)
{
  GArray *saved = save_env ();
  g_autofree char *credentials = write_tmp ("chain-credentials",
    "[default]\n"
    "aws_access_key_id = AKIDEFAULT\n"
    "aws_secret_access_key = default-secret\n"
    "\n"
    "[team]\n"
    "aws_access_key_id = AKITEAM\n"
    "aws_secret_access_key = team-secret\n"
    "aws_session_token = team-token\n");
  g_autofree char *config = write_tmp ("chain-config",
    "[default]\n"
    "region = eu-west-1\n"
    "[profile team]\n"
    "region = ap-southeast-2\n"
    "[profile keys-in-config]\n"
    "aws_access_key_id = AKICONFIG\n"
    "aws_secret_access_key = config-secret\n"
    "region = us-east-2\n"
    "endpoint_url = http://127.0.0.1:1\n"
    "[profile sso]\n"
    "sso_session = corp\n"
    "sso_account_id = 123456789012\n"
    "region = us-west-2\n"
    "[profile process]\n"
    "credential_process = /usr/bin/get-creds\n"
    "[profile role]\n"
    "role_arn = arn:aws:iam::123456789012:role/x\n"
    "source_profile = default\n"
    "[profile noregion-keys]\n"
    "aws_access_key_id = AKINOREGION\n"
    "aws_secret_access_key = x\n");
  g_autoptr(GError) error = NULL;
  BastionAwsCredentials *creds;

  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", credentials, TRUE);
  g_setenv ("AWS_CONFIG_FILE", config, TRUE);

  /* No profile named, nothing in the environment: [default] and its region. */
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->access_key_id, ==, "AKIDEFAULT");
  g_assert_cmpstr (creds->secret_access_key, ==, "default-secret");
  g_assert_null (creds->session_token);
  g_assert_cmpstr (creds->region, ==, "eu-west-1");
  g_assert_cmpstr (creds->source, ==, credentials);
  bastion_aws_credentials_free (creds);

  /* AWS_PROFILE, with a session token; the caller's region wins over the profile's. */
  g_setenv ("AWS_PROFILE", "team", TRUE);
  creds = bastion_aws_credentials_load (NULL, "ca-central-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->access_key_id, ==, "AKITEAM");
  g_assert_cmpstr (creds->session_token, ==, "team-token");
  g_assert_cmpstr (creds->region, ==, "ca-central-1");
  bastion_aws_credentials_free (creds);

  /* AWS_REGION over the profile's, AWS_DEFAULT_REGION after it. */
  g_setenv ("AWS_DEFAULT_REGION", "sa-east-1", TRUE);
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->region, ==, "sa-east-1");
  bastion_aws_credentials_free (creds);
  g_setenv ("AWS_REGION", "us-east-1", TRUE);
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->region, ==, "us-east-1");
  bastion_aws_credentials_free (creds);
  g_unsetenv ("AWS_REGION");
  g_unsetenv ("AWS_DEFAULT_REGION");
  g_unsetenv ("AWS_PROFILE");

  /* Keys in the environment win over AWS_PROFILE… */
  g_setenv ("AWS_ACCESS_KEY_ID", "AKIENV", TRUE);
  g_setenv ("AWS_SECRET_ACCESS_KEY", "env-secret", TRUE);
  g_setenv ("AWS_SESSION_TOKEN", "env-token", TRUE);
  g_setenv ("AWS_PROFILE", "team", TRUE);
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->access_key_id, ==, "AKIENV");
  g_assert_cmpstr (creds->session_token, ==, "env-token");
  g_assert_null (creds->profile);
  g_assert_cmpstr (creds->region, ==, "ap-southeast-2");
  bastion_aws_credentials_free (creds);
  g_unsetenv ("AWS_PROFILE");

  /* …but not over the profile the team names. */
  creds = bastion_aws_credentials_load ("keys-in-config", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (creds->access_key_id, ==, "AKICONFIG");
  g_assert_cmpstr (creds->region, ==, "us-east-2");
  g_assert_cmpstr (creds->endpoint_url, ==, "http://127.0.0.1:1");
  g_assert_cmpstr (creds->source, ==, config);
  bastion_aws_credentials_free (creds);
  g_unsetenv ("AWS_ACCESS_KEY_ID");
  g_unsetenv ("AWS_SECRET_ACCESS_KEY");
  g_unsetenv ("AWS_SESSION_TOKEN");

  /* Half of the environment pair. */
  g_setenv ("AWS_ACCESS_KEY_ID", "AKIENV", TRUE);
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NO_CREDENTIALS);
  g_assert_nonnull (strstr (error->message, "AWS_SECRET_ACCESS_KEY"));
  g_assert_null (creds);
  g_clear_error (&error);
  g_unsetenv ("AWS_ACCESS_KEY_ID");

  /* Not supported yet, said plainly. */
  creds = bastion_aws_credentials_load ("sso", NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "SSO"));
  g_assert_nonnull (strstr (error->message, "not support yet"));
  g_clear_error (&error);
  creds = bastion_aws_credentials_load ("process", NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "credential_process"));
  g_clear_error (&error);
  creds = bastion_aws_credentials_load ("role", NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* A profile that is nowhere, and one without a region. */
  creds = bastion_aws_credentials_load ("nobody", NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "“nobody”"));
  g_assert_nonnull (strstr (error->message, "aws configure --profile nobody"));
  g_clear_error (&error);
  creds = bastion_aws_credentials_load ("noregion-keys", NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "AWS_REGION"));
  g_clear_error (&error);

  /* A region that is not one (it would end up in a host name). */
  creds = bastion_aws_credentials_load (NULL, "evil.example.com/x", &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_null (creds);
  g_clear_error (&error);

  /* No files at all. */
  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", TRUE);
  g_setenv ("AWS_CONFIG_FILE", "/nonexistent/config", TRUE);
  creds = bastion_aws_credentials_load (NULL, NULL, &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NO_CREDENTIALS);
  g_assert_nonnull (strstr (error->message, "aws configure"));
  g_clear_error (&error);

  restore_env (saved);
}

static void
test_names_and_cidrs (void)
{
  g_autofree char *group = bastion_aws_security_group_name ("iot", "dev");
  g_autofree char *instance = bastion_aws_bastion_instance_name ("iot", "dev");
  g_autofree char *bare = bastion_aws_security_group_name ("iot", NULL);
  g_autofree char *description = bastion_aws_dup_rule_description (0);
  g_autofree char *temporary = bastion_aws_dup_rule_description (1790000000);

  g_assert_cmpstr (group, ==, "iot_dev_bastion_ssh_sg");
  g_assert_cmpstr (instance, ==, "iot_dev_db_bastion_host");
  g_assert_cmpstr (bare, ==, "iot_bastion_ssh_sg");
  g_assert_true (bastion_aws_cidr_contains ("203.0.113.45/32", "203.0.113.45"));
  g_assert_false (bastion_aws_cidr_contains ("203.0.113.45/32", "203.0.113.46"));
  g_assert_true (bastion_aws_cidr_contains ("10.0.0.0/16", "10.0.255.1"));
  g_assert_false (bastion_aws_cidr_contains ("10.0.0.0/16", "10.1.0.1"));
  g_assert_true (bastion_aws_cidr_contains ("0.0.0.0/0", "198.51.100.7"));
  g_assert_false (bastion_aws_cidr_contains ("garbage", "198.51.100.7"));
  g_assert_true (g_regex_match_simple ("^bastion:[^ ]+@[^ ]+ added \\d{4}-\\d\\d-\\d\\d$",
                                       description, 0, 0));
  g_assert_true (g_regex_match_simple ("^bastion:[^ ]+@[^ ]+ temporary until "
                                       "2026-09-21T14:13:20Z$", temporary, 0, 0));
}

/* ---------------------------------------------------------------------------------------------
 * Calls against the endpoint
 */

static gboolean
on_tick (gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

static void
test_secret (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *expected;
  guint ticks = 0;
  guint tick_id;

  setup ();
  state = state_get ();
  json_parser_load_from_data (parser,
                              json_object_get_string_member (
                                json_object_get_object_member (state, "secrets"),
                                "SimpleIOT-db-password"), -1, &error);
  g_assert_no_error (error);
  expected = json_node_get_object (json_parser_get_root (parser));

  /* The reply comes late: the main loop must keep running meanwhile. */
  control_set ("{\"delay_ms\": 300}");
  tick_id = g_timeout_add (10, on_tick, &ticks);
  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_source_remove (tick_id);
  control_set ("{\"delay_ms\": 0}");
  g_assert_no_error (error);
  g_assert_cmpuint (ticks, >=, 3);

  g_assert_cmpstr (secret->username, ==, json_object_get_string_member (expected, "username"));
  g_assert_cmpstr (secret->password, ==, json_object_get_string_member (expected, "password"));
  g_assert_cmpstr (secret->engine, ==, "postgres");
  g_assert_cmpstr (secret->host, ==, json_object_get_string_member (expected, "host"));
  g_assert_cmpuint (secret->port, ==, json_object_get_int_member (expected, "port"));
  g_assert_cmpstr (secret->dbname, ==, json_object_get_string_member (expected, "dbname"));
  g_assert_cmpstr (secret->db_instance_identifier, ==, "iot-dev-db");

  assert_signatures_verified (1);
}

static void
test_session_token (void)
{
  g_autoptr(BastionAws) aws = aws_new ("session");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = NULL;
  JsonObject *request;

  setup ();
  bastion_aws_describe_instance_async (aws, "iot_dev_db_bastion_host", NULL, on_ready, &result);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (instance->instance_id, ==, "i-0bastion000000001");
  g_assert_cmpstr (instance->state, ==, "running");
  g_assert_cmpstr (instance->name, ==, "iot_dev_db_bastion_host");
  g_assert_cmpstr (instance->public_dns, ==, "ec2-203-0-113-10.us-west-2.compute.amazonaws.com");
  g_assert_cmpstr (instance->public_ip, ==, "203.0.113.10");

  assert_signatures_verified (1);
  state = state_get ();
  request = json_array_get_object_element (json_object_get_array_member (state, "requests"), 0);
  g_assert_cmpstr (json_object_get_string_member (request, "access_key"), ==,
                   "ASIABASTIONTEST00002");
}

/* Writes the credentials into the FIFO once the test says so (or after a guard that only stops a
 * hung test): opening it blocks until the reader opens the other end. */
typedef struct
{
  GMutex    lock;
  GCond     cond;
  char     *fifo;
  char     *text;
  gboolean  released;
  gboolean  released_by_test;
} FifoWriter;

static gpointer
fifo_writer_thread (gpointer data)
{
  FifoWriter *writer = data;
  gint64 guard = g_get_monotonic_time () + 120 * G_TIME_SPAN_SECOND;
  int fd;

  g_mutex_lock (&writer->lock);
  while (!writer->released)
    if (!g_cond_wait_until (&writer->cond, &writer->lock, guard))
      break;
  writer->released_by_test = writer->released;
  g_mutex_unlock (&writer->lock);

  fd = open (writer->fifo, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, writer->text, strlen (writer->text)), ==, strlen (writer->text));
  close (fd);

  return NULL;
}

/* Nothing blocks the main loop: ~/.aws/credentials is a FIFO that nobody writes to yet, so a
 * read of it blocks. A call must not wait on the main loop for it; once the test writes the
 * credentials, the call completes with them. */
static void
test_credentials_off_main_loop (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("AWS_SHARED_CREDENTIALS_FILE"));
  g_autofree char *harness_credentials = saved != NULL
                                         ? g_strdup (saved)
                                         : g_build_filename (g_get_home_dir (), ".aws",
                                                             "credentials", NULL);
  g_autofree char *fifo = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "credentials.fifo",
                                            NULL);
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(GError) error = NULL;
  FifoWriter writer = { 0 };
  GThread *thread;
  guint ticks = 0;
  guint tick_id;

  g_assert_true (g_file_get_contents (harness_credentials, &writer.text, NULL, NULL));
  g_unlink (fifo);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  writer.fifo = fifo;
  g_mutex_init (&writer.lock);
  g_cond_init (&writer.cond);

  setup ();
  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", fifo, TRUE);
  thread = g_thread_new ("fifo-writer", fifo_writer_thread, &writer);

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  /* A blocking read would never come back here until the writer's guard ran out. */
  tick_id = g_timeout_add (10, on_tick, &ticks);
  while (ticks < 3 && result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  g_assert_null (result);
  g_assert_cmpuint (ticks, >=, 3);

  g_mutex_lock (&writer.lock);
  writer.released = TRUE;
  g_cond_signal (&writer.cond);
  g_mutex_unlock (&writer.lock);

  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_thread_join (thread);
  g_assert_true (writer.released_by_test);
  g_assert_no_error (error);
  g_assert_nonnull (secret);
  g_assert_nonnull (secret->password);

  if (saved != NULL)
    g_setenv ("AWS_SHARED_CREDENTIALS_FILE", saved, TRUE);
  else
    g_unsetenv ("AWS_SHARED_CREDENTIALS_FILE");
  g_unlink (fifo);
  g_free (writer.text);
  g_mutex_clear (&writer.lock);
  g_cond_clear (&writer.cond);
}

static void
test_wrong_secret_key_fails (void)
{
  g_autofree char *credentials = write_tmp ("wrong-credentials",
    "[default]\n"
    "aws_access_key_id = AKIABASTIONTEST00001\n"
    "aws_secret_access_key = not-the-right-secret-key\n");
  g_autofree char *saved = g_strdup (g_getenv ("AWS_SHARED_CREDENTIALS_FILE"));
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = NULL;

  setup ();
  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", credentials, TRUE);

  bastion_aws_describe_security_group_async (aws, "iot_dev_bastion_ssh_sg", NULL, on_ready,
                                             &result);
  group = bastion_aws_describe_security_group_finish (aws, wait_for (&result), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_INVALID_CREDENTIALS);
  g_assert_nonnull (strstr (error->message, "DescribeSecurityGroups"));
  g_assert_nonnull (strstr (error->message, "aws configure"));
  g_clear_error (&error);

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result2);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result2), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_INVALID_CREDENTIALS);
  g_assert_nonnull (strstr (error->message, "GetSecretValue"));

  /* The endpoint really did check, and caught both. */
  state = state_get ();
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (state,
                                                                         "signature_failures")),
                    ==, 2);

  if (saved != NULL)
    g_setenv ("AWS_SHARED_CREDENTIALS_FILE", saved, TRUE);
  else
    g_unsetenv ("AWS_SHARED_CREDENTIALS_FILE");
}

static BastionAwsDiagnosis *
diagnose (BastionAws *aws)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  BastionAwsDiagnosis *diagnosis;

  bastion_aws_diagnose_async (aws, "iot_dev_bastion_ssh_sg", NULL, on_ready, &result);
  diagnosis = bastion_aws_diagnose_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);

  return diagnosis;
}

static void
test_diagnose (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(BastionAwsDiagnosis) again = NULL;
  g_autofree char *summary = NULL;

  setup ();
  diagnosis = diagnose (aws);
  g_assert_cmpstr (diagnosis->my_ip, ==, "198.51.100.7");
  g_assert_cmpstr (diagnosis->group_id, ==, "sg-0bastion0000000001");
  g_assert_cmpuint (g_strv_length (diagnosis->admitted), ==, 1);
  g_assert_cmpstr (diagnosis->admitted[0], ==, "203.0.113.45/32");
  g_assert_false (diagnosis->admits_me);
  summary = bastion_aws_diagnosis_dup_summary (diagnosis);
  g_assert_cmpstr (summary, ==, "The bastion admits 203.0.113.45/32, you are 198.51.100.7.");

  /* The ISP gave us the address the rule names. */
  control_set ("{\"ip\": \"203.0.113.45\"}");
  again = diagnose (aws);
  g_assert_true (again->admits_me);

  assert_signatures_verified (2);
}

static char *
allow (BastionAws          *aws,
       BastionAwsAllowMode  mode,
       gboolean            *added)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *cidr;

  bastion_aws_allow_my_ip_async (aws, "iot_dev_bastion_ssh_sg", mode, NULL, on_ready, &result);
  cidr = bastion_aws_allow_my_ip_finish (aws, wait_for (&result), added, &error);
  g_assert_no_error (error);

  return cidr;
}

/* Issue 17: of three rules on port 22 (the install IP without a mark, a teammate's Bastion rule
 * and my own old Bastion rule) only mine goes; an office range stays too. */
static void
test_allow_replace (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GPtrArray) rules = NULL;
  g_autoptr(BastionAwsDiagnosis) before = NULL;
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) removed = NULL;
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autofree char *state = NULL;
  g_autofree char *cidr = NULL;
  g_autofree char *expected_description = bastion_aws_dup_rule_description (0);
  g_autofree char *expected_rule = NULL;
  gboolean added = FALSE;

  setup ();
  state = g_strdup_printf (
    "{\"security_groups\": [{\"group_id\": \"sg-0bastion0000000001\","
    " \"group_name\": \"iot_dev_bastion_ssh_sg\", \"description\": \"x\","
    " \"vpc_id\": \"vpc-1\", \"rules\": ["
    "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22,"
    " \"cidr\": \"203.0.113.45/32\", \"description\": \"SimpleIOT install IP\"},"
    "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22,"
    " \"cidr\": \"203.0.113.60/32\", \"description\": \"bastion:alice@alice-laptop added 2026-11-02\"},"
    "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22,"
    " \"cidr\": \"203.0.113.50/32\", \"description\": \"bastion:%s added 2026-11-01\"},"
    "{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22,"
    " \"cidr\": \"192.0.2.0/24\", \"description\": \"Office\"}]}]}", owner);
  control_set (state);

  /* What it will remove is known before anything is changed: only my old rule. */
  before = diagnose (aws);
  g_assert_cmpuint (g_strv_length (before->to_replace), ==, 1);
  g_assert_cmpstr (before->to_replace[0], ==, "203.0.113.50/32");

  bastion_aws_allow_my_ip_async (aws, "iot_dev_bastion_ssh_sg", BASTION_AWS_ALLOW_REPLACE, NULL,
                                 on_ready, &result);
  cidr = bastion_aws_allow_my_ip_finish (aws, wait_for (&result), &added, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cidr, ==, "198.51.100.7/32");
  g_assert_true (added);
  removed = bastion_aws_allow_my_ip_dup_removed (result);
  g_assert_cmpstrv (removed, ((const char * const []) { "203.0.113.50/32", NULL }));

  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 4);
  expected_rule = g_strdup_printf ("198.51.100.7/32|%s", expected_description);
  g_assert_cmpstr (find_rule (rules, "198.51.100.7/32"), ==, expected_rule);
  g_assert_cmpstr (find_rule (rules, "203.0.113.45/32"), ==,
                   "203.0.113.45/32|SimpleIOT install IP");
  g_assert_cmpstr (find_rule (rules, "203.0.113.60/32"), ==,
                   "203.0.113.60/32|bastion:alice@alice-laptop added 2026-11-02");
  g_assert_null (find_rule (rules, "203.0.113.50/32"));
  g_assert_nonnull (find_rule (rules, "192.0.2.0/24"));

  diagnosis = diagnose (aws);
  g_assert_true (diagnosis->admits_me);

  /* Again: nothing to do, nothing added. */
  g_clear_pointer (&cidr, g_free);
  cidr = allow (aws, BASTION_AWS_ALLOW_REPLACE, &added);
  g_assert_false (added);
  g_ptr_array_unref (g_steal_pointer (&rules));
  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 4);

  assert_signatures_verified (5);
}

static void
test_allow_temporary (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GPtrArray) rules = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cidr = NULL;
  g_autofree char *second = NULL;
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autofree char *prefix = g_strdup_printf ("198.51.100.7/32|bastion:%s ", owner);
  gboolean added = FALSE;

  setup ();
  cidr = allow (aws, BASTION_AWS_ALLOW_TEMPORARY, &added);
  g_assert_cmpstr (cidr, ==, "198.51.100.7/32");
  g_assert_true (added);
  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 2);
  g_assert_nonnull (find_rule (rules, "203.0.113.45/32"));
  g_assert_true (g_str_has_prefix (find_rule (rules, "198.51.100.7/32"), prefix));
  g_assert_nonnull (strstr (find_rule (rules, "198.51.100.7/32"), " temporary until 20"));

  /* My own temporary rule for this address (as a killed run leaves it) is taken over: this
   * caller removes it when done, rather than calling it "already allowed" for good. */
  second = allow (aws, BASTION_AWS_ALLOW_TEMPORARY, &added);
  g_assert_true (added);
  g_ptr_array_unref (g_steal_pointer (&rules));
  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 2);

  bastion_aws_remove_rule_async (aws, "iot_dev_bastion_ssh_sg", cidr, NULL, on_ready, &result);
  g_assert_true (bastion_aws_remove_rule_finish (aws, wait_for (&result), &error));
  g_assert_no_error (error);
  after = group_rules ();
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_null (find_rule (after, "198.51.100.7/32"));
  g_assert_nonnull (find_rule (after, "203.0.113.45/32"));

  assert_signatures_verified (5);
}

static void
test_start_bastion (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = NULL;
  const char *old_dns = "ec2-203-0-113-10.us-west-2.compute.amazonaws.com";

  setup ();
  control_set ("{\"instances\": [{\"instance_id\": \"i-0bastion000000001\","
               " \"name\": \"iot_dev_db_bastion_host\", \"state\": \"stopped\","
               " \"dns\": \"ec2-203-0-113-10.us-west-2.compute.amazonaws.com\","
               " \"ip\": \"203.0.113.10\","
               " \"next_dns\": \"ec2-203-0-113-99.us-west-2.compute.amazonaws.com\","
               " \"next_ip\": \"203.0.113.99\", \"transition_polls\": 3, \"polls_left\": 0}]}");

  bastion_aws_start_bastion_async (aws, "iot_dev_db_bastion_host", NULL, on_ready, &result);
  instance = bastion_aws_start_bastion_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (instance->state, ==, "running");
  g_assert_cmpstr (instance->public_dns, ==, "ec2-203-0-113-99.us-west-2.compute.amazonaws.com");
  g_assert_cmpstr (instance->public_ip, ==, "203.0.113.99");

  /* No Elastic IP: the new name is noticed. */
  g_assert_true (bastion_aws_instance_dns_changed (instance, old_dns));
  g_assert_false (bastion_aws_instance_dns_changed (instance, instance->public_dns));

  state = state_get ();
  g_assert_cmpuint (count_requests (state, "StartInstances"), ==, 1);
  /* The first look, then polls through "pending" until it runs. */
  g_assert_cmpuint (count_requests (state, "DescribeInstances"), >=, 5);
  assert_signatures_verified (6);
}

static void
test_stop_bastion (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(BastionAwsInstance) stopped = NULL;
  g_autoptr(GError) error = NULL;

  setup ();
  bastion_aws_stop_bastion_async (aws, "iot_dev_db_bastion_host", TRUE, NULL, on_ready, &result);
  instance = bastion_aws_stop_bastion_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (instance->state, ==, "stopped");
  g_assert_null (instance->public_dns);
  g_assert_false (bastion_aws_instance_dns_changed (instance, "old"));

  /* Stopping a stopped one is no error. */
  bastion_aws_stop_bastion_async (aws, "iot_dev_db_bastion_host", FALSE, NULL, on_ready,
                                  &result2);
  stopped = bastion_aws_stop_bastion_finish (aws, wait_for (&result2), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stopped->state, ==, "stopped");

  assert_signatures_verified (4);
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 */

static void
test_access_denied (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  g_autofree char *cidr = NULL;

  setup ();
  control_set ("{\"deny\": [\"AuthorizeSecurityGroupIngress\", \"GetSecretValue\"]}");

  bastion_aws_allow_my_ip_async (aws, "iot_dev_bastion_ssh_sg", BASTION_AWS_ALLOW_REPLACE, NULL,
                                 on_ready, &result);
  cidr = bastion_aws_allow_my_ip_finish (aws, wait_for (&result), NULL, &error);
  g_assert_null (cidr);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (error->message, "“ec2:AuthorizeSecurityGroupIngress”"));
  g_assert_nonnull (strstr (error->message, "administrator"));
  g_clear_error (&error);
  /* Nothing was revoked when the new rule could not be added. */
  rules = group_rules ();
  g_assert_nonnull (find_rule (rules, "203.0.113.45/32"));

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result2);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result2), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (error->message, "“secretsmanager:GetSecretValue”"));

  assert_signatures_verified (3);
}

static void
test_expired_token (void)
{
  g_autoptr(BastionAws) aws = aws_new ("session");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;

  setup ();
  control_set ("{\"expired\": [\"ASIABASTIONTEST00002\"]}");

  bastion_aws_start_bastion_async (aws, "iot_dev_db_bastion_host", NULL, on_ready, &result);
  instance = bastion_aws_start_bastion_finish (aws, wait_for (&result), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_EXPIRED_TOKEN);
  g_assert_nonnull (strstr (error->message, "DescribeInstances"));
  g_assert_nonnull (strstr (error->message, "expired"));
  g_clear_error (&error);

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result2);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result2), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_EXPIRED_TOKEN);
  g_assert_nonnull (strstr (error->message, "GetSecretValue"));

  assert_signatures_verified (2);
}

static void
test_unknown_secret (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;

  setup ();
  bastion_aws_get_secret_async (aws, "No-Such-Secret", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_null (secret);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "GetSecretValue"));
  g_assert_nonnull (strstr (error->message, "“No-Such-Secret”"));
  g_assert_nonnull (strstr (error->message, "db_password_key"));

  assert_signatures_verified (1);
}

static void
test_unknown_group_and_instance (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;

  setup ();
  bastion_aws_diagnose_async (aws, "iot_prod_bastion_ssh_sg", NULL, on_ready, &result);
  diagnosis = bastion_aws_diagnose_finish (aws, wait_for (&result), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "iot_prod_bastion_ssh_sg"));
  g_clear_error (&error);

  bastion_aws_describe_instance_async (aws, "iot_prod_db_bastion_host", NULL, on_ready, &result2);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result2), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "iot_prod_db_bastion_host"));

  assert_signatures_verified (2);
}

static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  /* Closed when the socket goes: nothing listens there afterwards. */
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_network_failure (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GAsyncResult) result3 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autofree char *ip = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("AWS_ENDPOINT_URL"));
  g_autofree char *saved_checkip = g_strdup (g_getenv ("BASTION_CHECKIP_URL"));
  g_autofree char *dead = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autofree char *dead_checkip = g_strconcat (dead, "/checkip", NULL);

  g_setenv ("AWS_ENDPOINT_URL", dead, TRUE);
  g_setenv ("BASTION_CHECKIP_URL", dead_checkip, TRUE);

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "GetSecretValue"));
  g_assert_nonnull (strstr (error->message, dead));
  g_assert_nonnull (strstr (error->message, "network"));
  g_clear_error (&error);

  /* The service's own variable wins over AWS_ENDPOINT_URL. */
  g_setenv ("AWS_ENDPOINT_URL_EC2", saved, TRUE);
  bastion_aws_describe_instance_async (aws, "iot_dev_db_bastion_host", NULL, on_ready, &result2);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result2), &error);
  g_assert_no_error (error);
  g_unsetenv ("AWS_ENDPOINT_URL_EC2");

  bastion_aws_get_public_ip_async (aws, NULL, on_ready, &result3);
  ip = bastion_aws_get_public_ip_finish (aws, wait_for (&result3), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "BASTION_CHECKIP_URL"));

  g_setenv ("AWS_ENDPOINT_URL", saved, TRUE);
  g_setenv ("BASTION_CHECKIP_URL", saved_checkip, TRUE);
}

static gboolean
cancel_once_sent (gpointer user_data)
{
  g_autoptr(JsonObject) state = state_get ();

  /* Cancelled while the endpoint holds the request: curl must drop a live transfer. */
  if (count_requests (state, "GetSecretValue") == 0)
    return G_SOURCE_CONTINUE;
  g_cancellable_cancel (user_data);

  return G_SOURCE_REMOVE;
}

static void
test_cancel (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;

  setup ();
  control_set ("{\"delay_ms\": 3000}");
  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", cancellable, on_ready, &result);
  g_timeout_add (20, cancel_once_sent, cancellable);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  control_set ("{\"delay_ms\": 0}");
}

static gboolean
cancel_once_started (gpointer user_data)
{
  g_autoptr(JsonObject) state = state_get ();

  if (count_requests (state, "StartInstances") == 0)
    return G_SOURCE_CONTINUE;
  g_cancellable_cancel (user_data);

  return G_SOURCE_REMOVE;
}

static void
test_cancel_start_wait (void)
{
  g_autoptr(BastionAws) aws = aws_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(JsonObject) state = NULL;

  setup ();
  /* It stays "pending" for good; we give up while waiting between polls. */
  control_set ("{\"instances\": [{\"instance_id\": \"i-0bastion000000001\","
               " \"name\": \"iot_dev_db_bastion_host\", \"state\": \"stopped\","
               " \"dns\": \"\", \"ip\": \"\", \"next_dns\": \"x\", \"next_ip\": \"x\","
               " \"transition_polls\": 1000000, \"polls_left\": 0}]}");
  bastion_aws_set_poll_interval (aws, 5000);
  bastion_aws_start_bastion_async (aws, "iot_dev_db_bastion_host", cancellable, on_ready,
                                   &result);
  g_timeout_add (20, cancel_once_started, cancellable);
  instance = bastion_aws_start_bastion_finish (aws, wait_for (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (instance);

  state = state_get ();
  g_assert_cmpuint (count_requests (state, "StartInstances"), ==, 1);
  assert_signatures_verified (2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/aws/ini/tolerant", test_ini_tolerant);
  g_test_add_func ("/bastion/aws/credentials/chain", test_credentials_chain);
  g_test_add_func ("/bastion/aws/names", test_names_and_cidrs);
  g_test_add_func ("/bastion/aws/secret", test_secret);
  g_test_add_func ("/bastion/aws/session-token", test_session_token);
  g_test_add_func ("/bastion/aws/wrong-secret-key", test_wrong_secret_key_fails);
  g_test_add_func ("/bastion/aws/credentials/off-main-loop", test_credentials_off_main_loop);
  g_test_add_func ("/bastion/aws/diagnose", test_diagnose);
  g_test_add_func ("/bastion/aws/allow/replace", test_allow_replace);
  g_test_add_func ("/bastion/aws/allow/temporary", test_allow_temporary);
  g_test_add_func ("/bastion/aws/bastion/start", test_start_bastion);
  g_test_add_func ("/bastion/aws/bastion/stop", test_stop_bastion);
  g_test_add_func ("/bastion/aws/error/access-denied", test_access_denied);
  g_test_add_func ("/bastion/aws/error/expired-token", test_expired_token);
  g_test_add_func ("/bastion/aws/error/unknown-secret", test_unknown_secret);
  g_test_add_func ("/bastion/aws/error/not-found", test_unknown_group_and_instance);
  g_test_add_func ("/bastion/aws/error/network", test_network_failure);
  g_test_add_func ("/bastion/aws/cancel", test_cancel);
  g_test_add_func ("/bastion/aws/bastion/cancel-wait", test_cancel_start_wait);

  return g_test_run ();
}
