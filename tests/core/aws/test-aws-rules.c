/* test-aws-rules.c
 *
 * Issues 17, 18 and 25 against tests/harness/aws_endpoint.py (run under `with-servers --aws`):
 * expired temporary rules, hostile checkip answers, throttling, a bastion without a public DNS
 * name, an honest wait timeout, and replies nested a million levels deep.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "aws-test-control.h"
#include "bastion-aws.h"

#define GROUP    "iot_dev_bastion_ssh_sg"
#define INSTANCE "iot_dev_db_bastion_host"

static BastionAws *
aws_new (void)
{
  BastionAws *aws = bastion_aws_new (NULL, NULL);

  bastion_aws_set_poll_interval (aws, 20);
  bastion_aws_set_wait_timeout (aws, 60);

  return aws;
}

static void
setup (void)
{
  g_autoptr(JsonNode) node = control ("reset", "{}");
}

/* The harness group with the rules given as JSON objects (comma-separated). */
static void
set_rules (const char *rules)
{
  g_autofree char *json = g_strdup_printf (
    "{\"security_groups\": [{\"group_id\": \"sg-0bastion0000000001\","
    " \"group_name\": \"" GROUP "\", \"description\": \"x\", \"vpc_id\": \"vpc-1\","
    " \"rules\": [%s]}]}", rules);

  control_set (json);
}

static char *
ssh_rule (const char *cidr,
          const char *description)
{
  return g_strdup_printf ("{\"protocol\": \"tcp\", \"from_port\": 22, \"to_port\": 22,"
                          " \"cidr\": \"%s\", \"description\": \"%s\"}", cidr, description);
}

/* ---------------------------------------------------------------------------------------------
 * Marks and expiry
 */

static void
test_descriptions (void)
{
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autofree char *permanent = bastion_aws_dup_rule_description (0);
  g_autofree char *temporary = bastion_aws_dup_rule_description (1790000000);
  g_autofree char *parsed_owner = NULL;
  gboolean is_temporary = TRUE;
  gint64 expires = -1;

  g_assert_null (strchr (owner, ' '));
  g_assert_nonnull (strchr (owner, '@'));
  g_assert_true (g_str_has_prefix (permanent, "bastion:"));
  g_assert_cmpuint (strlen (temporary), <=, 255);
  g_assert_true (g_str_has_suffix (temporary, " temporary until 2026-09-21T14:13:20Z"));

  g_assert_true (bastion_aws_rule_parse_description (permanent, &parsed_owner, &is_temporary,
                                                     &expires));
  g_assert_cmpstr (parsed_owner, ==, owner);
  g_assert_false (is_temporary);
  g_assert_cmpint (expires, ==, 0);
  g_clear_pointer (&parsed_owner, g_free);

  g_assert_true (bastion_aws_rule_parse_description (temporary, &parsed_owner, &is_temporary,
                                                     &expires));
  g_assert_cmpstr (parsed_owner, ==, owner);
  g_assert_true (is_temporary);
  g_assert_cmpint (expires, ==, 1790000000);

  /* Without the mark: not Bastion's, whatever it says. */
  g_assert_false (bastion_aws_rule_parse_description ("SimpleIOT install IP", NULL, NULL, NULL));
  g_assert_false (bastion_aws_rule_parse_description ("", NULL, NULL, NULL));
  g_assert_false (bastion_aws_rule_parse_description ("bastion:", NULL, NULL, NULL));
  g_assert_false (bastion_aws_rule_parse_description ("my bastion: me@x", NULL, NULL, NULL));
}

/* A --temporary run that was SIGKILLed left its rule; once it has expired, the next call of any
 * kind removes it, and only it: not a teammate's expired rule, not my unexpired one. */
static void
test_remove_expired (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  g_auto(GStrv) removed = NULL;
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autofree char *mine_expired = NULL;
  g_autofree char *mine_live = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL, *all = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  setup ();
  mine_expired = bastion_aws_dup_rule_description (now - 5);
  mine_live = bastion_aws_dup_rule_description (now + 3600);
  theirs = g_strdup_printf ("bastion:alice@alice-laptop temporary until 2020-01-01T00:00:00Z");
  r1 = ssh_rule ("203.0.113.45/32", "SimpleIOT install IP");
  r2 = ssh_rule ("203.0.113.70/32", mine_expired);
  r3 = ssh_rule ("203.0.113.71/32", mine_live);
  r4 = ssh_rule ("203.0.113.72/32", theirs);
  all = g_strjoin (",", r1, r2, r3, r4, NULL);
  set_rules (all);

  bastion_aws_remove_expired_rules_async (aws, GROUP, NULL, on_ready, &result);
  removed = bastion_aws_remove_expired_rules_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (removed, ((const char * const []) { "203.0.113.70/32", NULL }));

  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 3);
  g_assert_null (find_rule (rules, "203.0.113.70/32"));
  g_assert_nonnull (find_rule (rules, "203.0.113.71/32"));
  g_assert_nonnull (find_rule (rules, "203.0.113.72/32"));
  g_assert_nonnull (find_rule (rules, "203.0.113.45/32"));
  assert_signatures_verified (2);
}

/* allow-my-ip (permanent) while my own temporary rule admits this address: the rule becomes
 * permanent instead of "already allowed" until the temporary one expires. */
static void
test_temporary_made_permanent (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autofree char *temporary = NULL;
  g_autofree char *r1 = NULL, *r2 = NULL, *all = NULL;
  g_autofree char *cidr = NULL;
  g_autofree char *expected = NULL;
  gboolean added = FALSE;

  setup ();
  temporary = bastion_aws_dup_rule_description (g_get_real_time () / G_USEC_PER_SEC + 3600);
  r1 = ssh_rule ("203.0.113.45/32", "SimpleIOT install IP");
  r2 = ssh_rule ("198.51.100.7/32", temporary);
  all = g_strjoin (",", r1, r2, NULL);
  set_rules (all);

  bastion_aws_allow_my_ip_async (aws, GROUP, BASTION_AWS_ALLOW_REPLACE, NULL, on_ready, &result);
  cidr = bastion_aws_allow_my_ip_finish (aws, wait_for (&result), &added, &error);
  g_assert_no_error (error);
  g_assert_true (added);

  rules = group_rules ();
  g_assert_cmpuint (rules->len, ==, 2);
  expected = g_strdup_printf ("198.51.100.7/32|bastion:%s added ", owner);
  g_assert_true (g_str_has_prefix (find_rule (rules, "198.51.100.7/32"), expected));
  g_assert_nonnull (find_rule (rules, "203.0.113.45/32"));
  /* DescribeSecurityGroups, RevokeSecurityGroupIngress, AuthorizeSecurityGroupIngress */
  assert_signatures_verified (3);
}

/* ---------------------------------------------------------------------------------------------
 * Hostile checkip answers
 */

static void
test_hostile_checkip (void)
{
  static const char * const refused[] = {
    "0.0.0.0", "255.255.255.255", "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.20",
    "169.254.169.254", "100.64.0.1", "224.0.0.251", "240.0.0.1",
    "198.51.100.7 203.0.113.45", "::1", "a.b.c.d",
  };
  g_autoptr(GPtrArray) before = NULL;

  g_assert_true (bastion_aws_ip_is_public ("198.51.100.7"));
  g_assert_true (bastion_aws_ip_is_public ("8.8.8.8"));

  setup ();
  before = group_rules ();
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(BastionAws) aws = aws_new ();
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) after = NULL;
      g_autofree char *json = NULL;
      g_autofree char *cidr = NULL;
      g_autoptr(JsonObject) state = NULL;

      g_assert_false (bastion_aws_ip_is_public (refused[i]));
      json = g_strdup_printf ("{\"ip\": \"%s\", \"requests\": []}", refused[i]);
      control_set (json);
      bastion_aws_allow_my_ip_async (aws, GROUP, BASTION_AWS_ALLOW_REPLACE, NULL, on_ready,
                                     &result);
      cidr = bastion_aws_allow_my_ip_finish (aws, wait_for (&result), NULL, &error);
      g_assert_null (cidr);
      g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
      g_assert_nonnull (strstr (error->message, "BASTION_CHECKIP_URL"));

      /* Refused before any AWS call: the group is as it was. */
      state = state_get ();
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (state, "requests")),
                        ==, 0);
      after = group_rules ();
      g_assert_cmpuint (after->len, ==, before->len);
      for (guint j = 0; j < before->len; j++)
        g_assert_cmpstr (g_ptr_array_index (after, j), ==, g_ptr_array_index (before, j));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Throttling
 */

static void
test_throttling_retried (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GAsyncResult) result3 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(JsonObject) state = NULL;

  setup ();
  /* Two throttles, then the real answer: success on the third attempt. */
  control_set ("{\"throttle\": {\"DescribeSecurityGroups\": [\"RequestLimitExceeded\", \"429\"],"
               " \"GetSecretValue\": [\"ThrottlingException\", \"503\"]}}");
  bastion_aws_describe_security_group_async (aws, GROUP, NULL, on_ready, &result);
  group = bastion_aws_describe_security_group_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (group->group_id, ==, "sg-0bastion0000000001");

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result2);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result2), &error);
  g_assert_no_error (error);
  g_assert_nonnull (secret->password);

  state = state_get ();
  g_assert_cmpuint (count_requests (state, "DescribeSecurityGroups"), ==, 3);
  g_assert_cmpuint (count_requests (state, "GetSecretValue"), ==, 3);
  assert_signatures_verified (6);
  g_clear_pointer (&state, json_object_unref);

  /* Bounded: the SDKs' three attempts, then a message that says what happened. */
  control_set ("{\"requests\": [], \"throttle\": {\"DescribeInstances\": "
               "[\"RequestLimitExceeded\", \"RequestLimitExceeded\", \"RequestLimitExceeded\","
               " \"RequestLimitExceeded\"]}}");
  bastion_aws_describe_instance_async (aws, INSTANCE, NULL, on_ready, &result3);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result3), &error);
  g_assert_null (instance);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_SERVICE);
  g_assert_nonnull (strstr (error->message, "throttled DescribeInstances"));
  g_assert_nonnull (strstr (error->message, "3 times"));
  state = state_get ();
  g_assert_cmpuint (count_requests (state, "DescribeInstances"), ==, 3);
}

/* ---------------------------------------------------------------------------------------------
 * Private bastions and waits
 */

static void
test_start_private_bastion (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  g_autoptr(JsonObject) state = NULL;

  setup ();
  control_set ("{\"instances\": [{\"instance_id\": \"i-0bastion000000001\","
               " \"name\": \"" INSTANCE "\", \"state\": \"stopped\", \"dns\": \"\", \"ip\": \"\","
               " \"next_dns\": \"\", \"next_ip\": \"\", \"private_ip\": \"10.0.3.17\","
               " \"transition_polls\": 2, \"polls_left\": 0}]}");
  /* Were it to wait for a public name, the 600 s default would show as a timeout here. */
  bastion_aws_set_wait_timeout (aws, 20);

  bastion_aws_start_bastion_async (aws, INSTANCE, NULL, on_ready, &result);
  instance = bastion_aws_start_bastion_finish (aws, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (instance->state, ==, "running");
  g_assert_null (instance->public_dns);
  g_assert_cmpstr (instance->private_ip, ==, "10.0.3.17");
  g_assert_false (bastion_aws_instance_dns_changed (instance, "old.example"));

  state = state_get ();
  g_assert_cmpuint (count_requests (state, "StartInstances"), ==, 1);
  assert_signatures_verified (3);
}

static void
test_wait_timeout_message (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;

  setup ();
  control_set ("{\"instances\": [{\"instance_id\": \"i-0bastion000000001\","
               " \"name\": \"" INSTANCE "\", \"state\": \"stopped\", \"dns\": \"\", \"ip\": \"\","
               " \"next_dns\": \"x\", \"next_ip\": \"x\", \"transition_polls\": 1000000,"
               " \"polls_left\": 0}]}");
  bastion_aws_set_wait_timeout (aws, 1);

  bastion_aws_start_bastion_async (aws, INSTANCE, NULL, on_ready, &result);
  instance = bastion_aws_start_bastion_finish (aws, wait_for (&result), &error);
  g_assert_null (instance);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "did not become “running” within 1 seconds"));
  g_assert_nonnull (strstr (error->message, "last reported it “pending”"));
}

/* A stalled endpoint: every reply has a total bound, and the message says it was slow, not
 * unreachable. */
static void
test_reply_time_bound (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;
  gint64 start;

  setup ();
  control_set ("{\"delay_ms\": 4000}");
  bastion_aws_set_reply_timeout (aws, 1);

  start = g_get_monotonic_time ();
  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_null (secret);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "did not answer GetSecretValue"));
  g_assert_nonnull (strstr (error->message, "within 1 seconds"));
  /* A hang detector, generous: the endpoint holds the reply 4 s. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3800 * G_TIME_SPAN_MILLISECOND);
  g_clear_error (&error);

  bastion_aws_describe_instance_async (aws, INSTANCE, NULL, on_ready, &result2);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result2), &error);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "did not answer DescribeInstances"));

  control_set ("{\"delay_ms\": 0}");
}

/* The AWS files are outside input too: a device is refused unread, a huge file is refused at
 * 1 MiB, and a FIFO nobody writes costs a clear error within the bound, not a hang. */
static GError *
secret_error_with_credentials (const char *path)
{
  g_autofree char *saved = g_strdup (g_getenv ("AWS_SHARED_CREDENTIALS_FILE"));
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  GError *error = NULL;

  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", path, TRUE);
  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_null (secret);
  if (saved != NULL)
    g_setenv ("AWS_SHARED_CREDENTIALS_FILE", saved, TRUE);
  else
    g_unsetenv ("AWS_SHARED_CREDENTIALS_FILE");

  return error;
}

static void
test_hostile_aws_files (void)
{
  g_autofree char *fifo = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "creds.fifo", NULL);
  g_autofree char *huge = g_build_filename (g_getenv ("BASTION_TEST_TMP"), "creds.huge", NULL);
  g_autofree char *text = g_strnfill (2 * 1024 * 1024, '#');
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = NULL;
  gint64 start;

  setup ();
  error = secret_error_with_credentials ("/dev/zero");
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "/dev/zero"));
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (huge, text, -1, NULL));
  error = secret_error_with_credentials (huge);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "larger than 1024 KiB"));
  g_clear_error (&error);

  g_unlink (fifo);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  start = g_get_monotonic_time ();
  error = secret_error_with_credentials (fifo);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "took longer than 10 seconds"));
  /* A hang detector only. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 60 * G_TIME_SPAN_SECOND);

  /* No request went out with whatever was (not) read. */
  state = state_get ();
  g_assert_cmpuint (count_requests (state, "GetSecretValue"), ==, 0);

  /* Let the reading thread finish (it is still blocked in open()). */
  {
    int fd = open (fifo, O_WRONLY | O_NONBLOCK);

    if (fd >= 0)
      close (fd);
  }
  g_unlink (fifo);
  g_unlink (huge);
}

/* ---------------------------------------------------------------------------------------------
 * Replies nested a million deep (issue 25): a clear error, not SIGSEGV
 */

static void
test_nested_xml (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;

  setup ();
  before = group_rules ();
  /* 1,000,000 nested <a> (3 MB, under the 8 MiB reply cap), answered with HTTP 200. */
  control_set ("{\"canned\": {\"DescribeSecurityGroups\": {\"status\": 200,"
               " \"content_type\": \"text/xml\", \"body\": \"<a>\", \"size\": 3000000}}}");
  bastion_aws_describe_security_group_async (aws, GROUP, NULL, on_ready, &result);
  group = bastion_aws_describe_security_group_finish (aws, wait_for (&result), &error);
  g_assert_null (group);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  g_assert_nonnull (strstr (error->message, "DescribeSecurityGroups"));
  g_assert_nonnull (strstr (error->message, "deeper than 64 levels"));
  g_clear_error (&error);

  /* The same as an error reply (HTTP 400) and through allow-my-ip: nothing changes. */
  control_set ("{\"canned\": {\"DescribeSecurityGroups\": {\"status\": 400,"
               " \"content_type\": \"text/xml\", \"body\": \"<a>\", \"size\": 3000000}}}");
  bastion_aws_allow_my_ip_async (aws, GROUP, BASTION_AWS_ALLOW_REPLACE, NULL, on_ready, &result2);
  g_assert_null (bastion_aws_allow_my_ip_finish (aws, wait_for (&result2), NULL, &error));
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  after = group_rules ();
  g_assert_cmpuint (after->len, ==, before->len);
}

static void
test_wide_xml (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsInstance) instance = NULL;

  setup ();
  /* Flat but huge: 750,000 empty elements. */
  control_set ("{\"canned\": {\"DescribeInstances\": {\"status\": 200,"
               " \"content_type\": \"text/xml\", \"body\": \"<a/>\", \"size\": 3000000}}}");
  bastion_aws_describe_instance_async (aws, INSTANCE, NULL, on_ready, &result);
  instance = bastion_aws_describe_instance_finish (aws, wait_for (&result), &error);
  g_assert_null (instance);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  g_assert_nonnull (strstr (error->message, "more than 200000 XML elements"));
}

static void
test_nested_secret (void)
{
  g_autoptr(BastionAws) aws = aws_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(BastionAwsSecret) secret2 = NULL;
  g_autoptr(GString) value = g_string_new (NULL);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *saved = NULL;
  g_autoptr(JsonObject) state = NULL;
  g_autoptr(JsonNode) secrets = NULL;

  setup ();
  /* The harness keeps the secrets over a reset: the real one goes back at the end. */
  state = state_get ();
  secrets = json_node_init_object (json_node_alloc (), json_object_get_object_member (state,
                                                                                     "secrets"));
  json = json_to_string (secrets, FALSE);
  saved = g_strdup_printf ("{\"secrets\": %s, \"canned\": {}}", json);
  g_clear_pointer (&json, g_free);

  /* The secret's text is 1,000,000 nested arrays: a valid reply around an evil SecretString. */
  for (guint i = 0; i < 1000000; i++)
    g_string_append_c (value, '[');
  for (guint i = 0; i < 1000000; i++)
    g_string_append_c (value, ']');
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "secrets");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "SimpleIOT-db-password");
  json_builder_add_string_value (builder, value->str);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  control_set (json);

  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result);
  secret = bastion_aws_get_secret_finish (aws, wait_for (&result), &error);
  g_assert_null (secret);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  g_assert_nonnull (strstr (error->message, "“SimpleIOT-db-password”"));
  g_assert_nonnull (strstr (error->message, "deeper than 64 levels"));
  g_clear_error (&error);

  /* And the reply itself nested a million deep. */
  control_set ("{\"canned\": {\"GetSecretValue\": {\"status\": 200,"
               " \"content_type\": \"application/x-amz-json-1.1\", \"body\": \"[\","
               " \"size\": 1000000}}}");
  bastion_aws_get_secret_async (aws, "SimpleIOT-db-password", NULL, on_ready, &result2);
  secret2 = bastion_aws_get_secret_finish (aws, wait_for (&result2), &error);
  g_assert_null (secret2);
  g_assert_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY);
  g_assert_nonnull (strstr (error->message, "GetSecretValue"));

  control_set (saved);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/aws/rules/descriptions", test_descriptions);
  g_test_add_func ("/bastion/aws/rules/remove-expired", test_remove_expired);
  g_test_add_func ("/bastion/aws/rules/temporary-made-permanent", test_temporary_made_permanent);
  g_test_add_func ("/bastion/aws/rules/hostile-checkip", test_hostile_checkip);
  g_test_add_func ("/bastion/aws/throttling", test_throttling_retried);
  g_test_add_func ("/bastion/aws/bastion/start-private", test_start_private_bastion);
  g_test_add_func ("/bastion/aws/bastion/wait-timeout", test_wait_timeout_message);
  g_test_add_func ("/bastion/aws/reply/time-bound", test_reply_time_bound);
  g_test_add_func ("/bastion/aws/credentials/hostile-files", test_hostile_aws_files);
  g_test_add_func ("/bastion/aws/reply/nested-xml", test_nested_xml);
  g_test_add_func ("/bastion/aws/reply/wide-xml", test_wide_xml);
  g_test_add_func ("/bastion/aws/reply/nested-secret", test_nested_secret);

  return g_test_run ();
}
