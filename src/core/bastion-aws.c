/* bastion-aws.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <curl/curl.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-aws.h"
#include "bastion-aws-reply-private.h"
#include "bastion-bounded-file.h"
#include "bastion-curl.h"

#define EC2_API_VERSION   "2016-11-15"
#define SSH_PORT          22
#define DEFAULT_CHECKIP   "https://checkip.amazonaws.com"
/* The AWS SDKs' standard retry mode: 3 attempts, backoff capped at 20 s. */
#define MAX_ATTEMPTS           3
#define MAX_RETRY_BACKOFF_USEC (20 * G_USEC_PER_SEC)

struct _BastionAws
{
  GObject      parent_instance;

  /* Owned */
  char        *profile;
  char        *region;
  BastionCurl *curl;

  guint        poll_interval;
  guint        wait_timeout;
  guint        temporary_lifetime;
  guint        reply_timeout;
};

G_DEFINE_FINAL_TYPE (BastionAws, bastion_aws, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_REGION,
  PROP_POLL_INTERVAL,
  PROP_WAIT_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_QUARK (bastion-aws-error-quark, bastion_aws_error)

/* ---------------------------------------------------------------------------------------------
 * Boxed results
 */

static void
wipe_free (char *str)
{
  if (str != NULL)
    {
      explicit_bzero (str, strlen (str));
      g_free (str);
    }
}

BastionAwsSecret *
bastion_aws_secret_copy (const BastionAwsSecret *secret)
{
  BastionAwsSecret *copy = g_new0 (BastionAwsSecret, 1);

  copy->username = g_strdup (secret->username);
  copy->password = g_strdup (secret->password);
  copy->engine = g_strdup (secret->engine);
  copy->host = g_strdup (secret->host);
  copy->port = secret->port;
  copy->dbname = g_strdup (secret->dbname);
  copy->db_instance_identifier = g_strdup (secret->db_instance_identifier);

  return copy;
}

void
bastion_aws_secret_free (BastionAwsSecret *secret)
{
  if (secret == NULL)
    return;
  g_free (secret->username);
  wipe_free (secret->password);
  g_free (secret->engine);
  g_free (secret->host);
  g_free (secret->dbname);
  g_free (secret->db_instance_identifier);
  g_free (secret);
}

G_DEFINE_BOXED_TYPE (BastionAwsSecret, bastion_aws_secret,
                     bastion_aws_secret_copy, bastion_aws_secret_free)

static void
rule_free (BastionAwsRule *rule)
{
  g_free (rule->protocol);
  g_free (rule->cidr);
  g_free (rule->description);
  g_free (rule);
}

static BastionAwsRule *
rule_copy (const BastionAwsRule *rule)
{
  BastionAwsRule *copy = g_new0 (BastionAwsRule, 1);

  copy->protocol = g_strdup (rule->protocol);
  copy->from_port = rule->from_port;
  copy->to_port = rule->to_port;
  copy->cidr = g_strdup (rule->cidr);
  copy->description = g_strdup (rule->description);

  return copy;
}

static BastionAwsSecurityGroup *
security_group_new (void)
{
  BastionAwsSecurityGroup *group = g_new0 (BastionAwsSecurityGroup, 1);

  group->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);

  return group;
}

BastionAwsSecurityGroup *
bastion_aws_security_group_copy (const BastionAwsSecurityGroup *group)
{
  BastionAwsSecurityGroup *copy = security_group_new ();

  copy->group_id = g_strdup (group->group_id);
  copy->group_name = g_strdup (group->group_name);
  for (guint i = 0; i < group->rules->len; i++)
    g_ptr_array_add (copy->rules, rule_copy (g_ptr_array_index (group->rules, i)));

  return copy;
}

void
bastion_aws_security_group_free (BastionAwsSecurityGroup *group)
{
  if (group == NULL)
    return;
  g_free (group->group_id);
  g_free (group->group_name);
  g_ptr_array_unref (group->rules);
  g_free (group);
}

G_DEFINE_BOXED_TYPE (BastionAwsSecurityGroup, bastion_aws_security_group,
                     bastion_aws_security_group_copy, bastion_aws_security_group_free)

BastionAwsInstance *
bastion_aws_instance_copy (const BastionAwsInstance *instance)
{
  BastionAwsInstance *copy = g_new0 (BastionAwsInstance, 1);

  copy->instance_id = g_strdup (instance->instance_id);
  copy->name = g_strdup (instance->name);
  copy->state = g_strdup (instance->state);
  copy->public_dns = g_strdup (instance->public_dns);
  copy->public_ip = g_strdup (instance->public_ip);
  copy->private_ip = g_strdup (instance->private_ip);
  copy->private_dns = g_strdup (instance->private_dns);

  return copy;
}

void
bastion_aws_instance_free (BastionAwsInstance *instance)
{
  if (instance == NULL)
    return;
  g_free (instance->instance_id);
  g_free (instance->name);
  g_free (instance->state);
  g_free (instance->public_dns);
  g_free (instance->public_ip);
  g_free (instance->private_ip);
  g_free (instance->private_dns);
  g_free (instance);
}

G_DEFINE_BOXED_TYPE (BastionAwsInstance, bastion_aws_instance,
                     bastion_aws_instance_copy, bastion_aws_instance_free)

BastionAwsDiagnosis *
bastion_aws_diagnosis_copy (const BastionAwsDiagnosis *diagnosis)
{
  BastionAwsDiagnosis *copy = g_new0 (BastionAwsDiagnosis, 1);

  copy->my_ip = g_strdup (diagnosis->my_ip);
  copy->group_id = g_strdup (diagnosis->group_id);
  copy->group_name = g_strdup (diagnosis->group_name);
  copy->admitted = g_strdupv (diagnosis->admitted);
  copy->admits_me = diagnosis->admits_me;
  copy->to_replace = g_strdupv (diagnosis->to_replace);
  copy->expired = g_strdupv (diagnosis->expired);

  return copy;
}

void
bastion_aws_diagnosis_free (BastionAwsDiagnosis *diagnosis)
{
  if (diagnosis == NULL)
    return;
  g_free (diagnosis->my_ip);
  g_free (diagnosis->group_id);
  g_free (diagnosis->group_name);
  g_strfreev (diagnosis->admitted);
  g_strfreev (diagnosis->to_replace);
  g_strfreev (diagnosis->expired);
  g_free (diagnosis);
}

G_DEFINE_BOXED_TYPE (BastionAwsDiagnosis, bastion_aws_diagnosis,
                     bastion_aws_diagnosis_copy, bastion_aws_diagnosis_free)

char *
bastion_aws_diagnosis_dup_summary (const BastionAwsDiagnosis *diagnosis)
{
  g_autofree char *admitted = NULL;

  g_return_val_if_fail (diagnosis != NULL, NULL);

  if (diagnosis->admitted == NULL || diagnosis->admitted[0] == NULL)
    return g_strdup_printf (_("The bastion admits no address on port 22, you are %s."),
                            diagnosis->my_ip);

  admitted = g_strjoinv (", ", diagnosis->admitted);
  if (diagnosis->admits_me)
    return g_strdup_printf (_("The bastion admits %s, which includes you (%s)."),
                            admitted, diagnosis->my_ip);

  return g_strdup_printf (_("The bastion admits %s, you are %s."), admitted, diagnosis->my_ip);
}

gboolean
bastion_aws_instance_dns_changed (const BastionAwsInstance *instance,
                                  const char               *known_dns)
{
  g_return_val_if_fail (instance != NULL, FALSE);

  return g_strcmp0 (instance->state, "running") == 0 &&
         instance->public_dns != NULL &&
         g_strcmp0 (instance->public_dns, known_dns) != 0;
}

static char *
simpleiot_name (const char *name_prefix,
                const char *stage,
                const char *suffix)
{
  g_return_val_if_fail (name_prefix != NULL, NULL);

  if (stage == NULL || stage[0] == '\0')
    return g_strconcat (name_prefix, "_", suffix, NULL);

  return g_strconcat (name_prefix, "_", stage, "_", suffix, NULL);
}

char *
bastion_aws_security_group_name (const char *name_prefix,
                                 const char *stage)
{
  return simpleiot_name (name_prefix, stage, "bastion_ssh_sg");
}

char *
bastion_aws_bastion_instance_name (const char *name_prefix,
                                   const char *stage)
{
  return simpleiot_name (name_prefix, stage, "db_bastion_host");
}

static gboolean
parse_ipv4 (const char *str,
            guint32    *out)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (str);
  const guint8 *bytes;

  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return FALSE;

  bytes = g_inet_address_to_bytes (address);
  *out = ((guint32) bytes[0] << 24) | ((guint32) bytes[1] << 16) |
         ((guint32) bytes[2] << 8) | (guint32) bytes[3];

  return TRUE;
}

gboolean
bastion_aws_cidr_contains (const char *cidr,
                           const char *ip)
{
  g_auto(GStrv) parts = NULL;
  guint32 net, addr, mask;
  guint64 bits = 32;

  g_return_val_if_fail (cidr != NULL, FALSE);
  g_return_val_if_fail (ip != NULL, FALSE);

  parts = g_strsplit (cidr, "/", 2);
  if (!parse_ipv4 (parts[0], &net) || !parse_ipv4 (ip, &addr))
    return FALSE;
  if (parts[1] != NULL &&
      !g_ascii_string_to_unsigned (parts[1], 10, 0, 32, &bits, NULL))
    return FALSE;

  mask = bits == 0 ? 0 : G_MAXUINT32 << (32 - bits);

  return (net & mask) == (addr & mask);
}

/* ---------------------------------------------------------------------------------------------
 * EC2's XML replies (the bounded reader is bastion-aws-reply.c)
 */

typedef BastionAwsXmlNode XmlNode;

static XmlNode *
xml_parse (GBytes  *bytes,
           GError **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr(GError) local_error = NULL;
  XmlNode *root = bastion_aws_xml_parse (data, len, &local_error);

  if (root == NULL)
    {
      g_debug ("Unreadable XML from AWS: %s", local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }

  return root;
}

static int
xml_int (XmlNode    *node,
         const char *path)
{
  g_autofree char *text = bastion_aws_xml_dup_text (node, path);
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, -1, 65535, &value, NULL))
    return -1;

  return (int) value;
}

/* json-glib recurses once per level: every JSON reply (and the secret inside one) goes through
 * the shared depth scan of bastion-bounded-file.c first. */
static gboolean
json_depth_ok (const char *data,
               gsize       len)
{
  return bastion_json_check_depth (data, len, BASTION_JSON_MAX_DEPTH, NULL, NULL);
}

/* A string member of a JSON reply, or fallback when it is absent or not a string ({} or [] where
 * a string belongs must not reach json-glib's own getter, which is critical about it). */
static const char *
json_member_string (JsonObject *object,
                    const char *name,
                    const char *fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;

  return json_node_get_string (node);
}

/* ---------------------------------------------------------------------------------------------
 * Signed calls
 */

typedef struct
{
  char *service;     /* the SigV4 service name: "ec2", "secretsmanager" */
  char *action;
  char *resource;    /* what it is about, for messages */
  char *url;
  char *region;
  char *target;      /* until the credentials are read */
  char *body;
  guint attempts;    /* requests sent so far (throttling is retried) */
} Call;

static void
call_free (Call *call)
{
  g_free (call->service);
  g_free (call->action);
  g_free (call->resource);
  g_free (call->url);
  g_free (call->region);
  g_free (call->target);
  g_free (call->body);
  g_free (call);
}

static char *
endpoint_url (const char                  *service,
              const BastionAwsCredentials *creds)
{
  const char *env_name = g_str_equal (service, "ec2") ? "AWS_ENDPOINT_URL_EC2"
                         : g_str_equal (service, "ssm") ? "AWS_ENDPOINT_URL_SSM"
                         : "AWS_ENDPOINT_URL_SECRETS_MANAGER";
  const char *value = g_getenv (env_name);

  if (value == NULL || value[0] == '\0')
    value = g_getenv ("AWS_ENDPOINT_URL");
  if (value == NULL || value[0] == '\0')
    value = creds->endpoint_url;
  if (value != NULL && value[0] != '\0')
    return g_strdup (value);

  return g_strdup_printf ("https://%s.%s.amazonaws.com%s", service, creds->region,
                          g_str_has_prefix (creds->region, "cn-") ? ".cn" : "");
}

static const char *
strip_type_prefix (const char *code)
{
  /* JSON services may say "com.amazonaws.secretsmanager#ResourceNotFoundException". */
  const char *hash = code != NULL ? strrchr (code, '#') : NULL;

  return hash != NULL ? hash + 1 : code;
}

static GError *
aws_error_new (Call       *call,
               long        status,
               const char *code,
               const char *message)
{
  g_autofree char *permission = g_strdup_printf ("%s:%s", call->service, call->action);

  if (message == NULL)
    message = "";

  g_debug ("AWS %s %s: HTTP %ld, %s", call->service, call->action, status, code);

  if (g_str_equal (code, "AccessDenied") ||
      g_str_equal (code, "AccessDeniedException") ||
      g_str_equal (code, "UnauthorizedOperation"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_ACCESS_DENIED,
                        _("AWS refused %s: your AWS user or role lacks the permission “%s”. Ask "
                          "your AWS administrator to grant it, or use a profile that has it."),
                        call->action, permission);

  /* Not the token: the request's own timestamp, i.e. this computer's clock. The JSON protocol
   * says so as an InvalidSignatureException "Signature expired: …". */
  if (g_str_equal (code, "RequestExpired") ||
      g_str_equal (code, "RequestTimeTooSkewed") ||
      (g_str_equal (code, "InvalidSignatureException") &&
       g_str_has_prefix (message, "Signature expired")))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_SERVICE,
                        _("AWS refused %s because the request’s time is too far from AWS’s: set "
                          "this computer’s clock right (turn on automatic time) and try again."),
                        call->action);

  if (g_str_equal (code, "ExpiredToken") ||
      g_str_equal (code, "ExpiredTokenException"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_EXPIRED_TOKEN,
                        _("AWS refused %s because your session token has expired. Get fresh "
                          "temporary credentials (aws_session_token) and try again."),
                        call->action);

  if (g_str_equal (code, "InvalidClientTokenId") ||
      g_str_equal (code, "UnrecognizedClientException") ||
      g_str_equal (code, "AuthFailure") ||
      g_str_equal (code, "InvalidAccessKeyId") ||
      g_str_equal (code, "SignatureDoesNotMatch") ||
      g_str_equal (code, "InvalidSignatureException") ||
      g_str_equal (code, "IncompleteSignature") ||
      g_str_equal (code, "MissingAuthenticationToken"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_INVALID_CREDENTIALS,
                        _("AWS did not accept your credentials for %s (%s): the access key id or "
                          "secret access key is wrong, or the key is no longer active. Check "
                          "them with “aws configure”."),
                        call->action, code);

  if (g_str_equal (code, "ResourceNotFoundException"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                        _("%s: Secrets Manager in %s has no secret “%s”. Check db_password_key "
                          "in the team config, and that the region is right."),
                        call->action, call->region, call->resource);

  if (g_str_has_suffix (code, ".NotFound") && !g_str_has_prefix (code, "InvalidPermission"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                        _("%s: AWS cannot find %s in %s (%s). Check the team's name prefix, "
                          "stage and region."),
                        call->action, call->resource, call->region, message);

  if (g_str_equal (code, "InvalidPermission.NotFound"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                        _("%s: the security group has no such rule (%s)."),
                        call->action, message);

  if (g_str_equal (code, "InvalidPermission.Duplicate"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_RULE_EXISTS,
                        _("%s: the security group already has this rule (%s)."),
                        call->action, message);

  if (g_str_equal (code, "TargetNotConnected"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                        _("%s: the bastion %s is not registered with Session Manager: its SSM "
                          "agent is not running, or its instance role lacks the policy "
                          "AmazonSSMManagedInstanceCore. Check it with “aws ssm "
                          "describe-instance-information”, or connect through SSH."),
                        call->action, call->resource);

  if (g_str_equal (code, "IncorrectInstanceState"))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_INCORRECT_STATE,
                        _("%s: %s Wait a minute and try again."), call->action, message);

  return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_SERVICE,
                      _("AWS answered %s with %s (HTTP %ld): %s"),
                      call->action, code, status, message);
}

/* The error in an AWS reply: EC2's XML <Response><Errors><Error>, or the JSON protocol's
 * {"__type", "message"}. */
static GError *
aws_error_from_reply (Call   *call,
                      long    status,
                      GBytes *body)
{
  if (g_str_equal (call->service, "ec2"))
    {
      g_autoptr(BastionAwsXmlNode) root = xml_parse (body, NULL);
      XmlNode *error = bastion_aws_xml_path (root, "Response/Errors/Error");
      g_autofree char *code = bastion_aws_xml_dup_text (error, "Code");
      g_autofree char *message = bastion_aws_xml_dup_text (error, "Message");

      if (code != NULL)
        return aws_error_new (call, status, code, message);
    }
  else
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len;
      const char *data = g_bytes_get_data (body, &len);

      if (json_depth_ok (data, len) &&
          json_parser_load_from_data (parser, data, len, NULL) &&
          json_parser_get_root (parser) != NULL &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          const char *code = json_member_string (object, "__type", NULL);
          const char *message =
            json_member_string (object, "message",
              json_member_string (object, "Message", NULL));

          if (code != NULL)
            return aws_error_new (call, status, strip_type_prefix (code), message);
        }
    }

  return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                      _("AWS answered %s with HTTP %ld and a reply Bastion cannot read. Check "
                        "AWS_ENDPOINT_URL if it is set."),
                      call->action, status);
}

static GError *
network_error_new (Call         *call,
                   const GError *error,
                   guint         reply_timeout)
{
  /* Connected but never finished: a slow or stalled endpoint, not an unreachable one. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK,
                        _("AWS did not answer %s at %s within %u seconds, so Bastion gave up. "
                          "Check your network connection (and AWS_ENDPOINT_URL if it is set), "
                          "then try again."),
                        call->action, call->url, reply_timeout);

  return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK,
                      _("Could not reach AWS for %s at %s: %s. Check your network connection "
                        "(and AWS_ENDPOINT_URL if it is set), then try again."),
                      call->action, call->url, error->message);
}

/* The error code of a non-2xx reply, or NULL. */
static char *
reply_error_code (Call   *call,
                  GBytes *body)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  if (g_str_equal (call->service, "ec2"))
    {
      g_autoptr(BastionAwsXmlNode) root = xml_parse (body, NULL);

      return bastion_aws_xml_dup_text (root, "Response/Errors/Error/Code");
    }
  if (json_depth_ok (data, len))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, data, len, NULL) &&
          json_parser_get_root (parser) != NULL &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          const char *code = json_member_string (object, "__type", NULL);

          return code != NULL ? g_strdup (strip_type_prefix (code)) : NULL;
        }
    }

  return NULL;
}

/* What the AWS SDKs' standard retry mode treats as throttling. */
static gboolean
reply_is_throttling (Call   *call,
                     long    status,
                     GBytes *body)
{
  static const char * const codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
  };
  g_autofree char *code = NULL;

  if (status == 429 || status == 503)
    return TRUE;
  code = reply_error_code (call, body);

  return code != NULL && g_strv_contains ((const char * const *) codes, code);
}

static void on_call_credentials (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data);

static gboolean
on_call_retry (GCancellable *cancellable,
               gpointer      user_data)
{
  GTask *task = user_data;
  BastionAws *self = g_task_get_source_object (task);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return G_SOURCE_REMOVE;
    }

  /* Signed afresh (a new X-Amz-Date), with the credentials read again. */
  bastion_aws_credentials_load_async (self->profile, self->region, cancellable,
                                      on_call_credentials, task);

  return G_SOURCE_REMOVE;
}

/* Capped exponential backoff with full jitter, as the SDKs' standard mode: before retry i
 * (from 1) a uniform random wait in [0, min(20 s, 2^(i-1) s)). A cancel ends the wait at once.
 * Owns task. */
static void
call_retry_later (GTask *task)
{
  Call *call = g_task_get_task_data (task);
  gint64 cap = MIN ((gint64) G_USEC_PER_SEC << (call->attempts - 1), MAX_RETRY_BACKOFF_USEC);
  gint64 delay = (gint64) (g_random_double () * (double) cap);
  GSource *source = g_cancellable_source_new (g_task_get_cancellable (task));

  g_debug ("AWS %s %s throttled (attempt %u); retrying in %" G_GINT64_FORMAT " ms",
           call->service, call->action, call->attempts, delay / 1000);
  g_source_set_ready_time (source, g_get_monotonic_time () + delay);
  g_source_set_callback (source, G_SOURCE_FUNC (on_call_retry), task, NULL);
  g_source_set_static_name (source, "[bastion] AWS retry");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
on_call_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  long status = 0;

  body = bastion_curl_perform_finish (BASTION_CURL (object), result, &status, &error);
  if (body == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                                 _("AWS answered %s with a reply larger than %d MiB, so Bastion "
                                   "stopped reading it. Check AWS_ENDPOINT_URL if it is set."),
                                 call->action, BASTION_CURL_MAX_REPLY_SIZE / (1024 * 1024));
      else
        g_task_return_error (task, network_error_new (call, error,
                                                      bastion_aws_get_reply_timeout (
                                                        g_task_get_source_object (task))));
      return;
    }

  g_debug ("AWS %s %s: HTTP %ld", call->service, call->action, status);

  if ((status < 200 || status > 299) && reply_is_throttling (call, status, body))
    {
      g_autofree char *code = reply_error_code (call, body);

      if (call->attempts < MAX_ATTEMPTS)
        {
          call_retry_later (g_steal_pointer (&task));
          return;
        }
      /* A 503 page of a proxy is said as what it is, not as AWS throttling. */
      if (code == NULL)
        {
          g_task_return_error (task, aws_error_from_reply (call, status, body));
          return;
        }
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_SERVICE,
                               _("AWS throttled %s (HTTP %ld) %u times in a row, so Bastion "
                                 "stopped trying: too many requests are being made with this "
                                 "account. Wait a minute and try again."),
                               call->action, status, call->attempts);
      return;
    }

  if (status < 200 || status > 299)
    {
      g_task_return_error (task, aws_error_from_reply (call, status, body));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
}

static void
restrict_protocols (CURL *easy)
{
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt (easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* aws_call_async(), once the credentials are read. */
static void
on_call_credentials (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  Call *call = g_task_get_task_data (task);
  const char *service = call->service;
  const char *action = call->action;
  const char *target = call->target;
  const char *body = call->body;
  g_autoptr(BastionAwsCredentials) creds = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sigv4 = NULL;
  g_autofree char *user_agent = NULL;
  struct curl_slist *headers = NULL;
  CURL *easy;

  creds = bastion_aws_credentials_load_finish (result, &error);
  if (creds == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_free (call->region);
  call->region = g_strdup (creds->region);
  g_free (call->url);
  call->url = endpoint_url (service, creds);
  call->attempts++;

  g_debug ("AWS %s %s (profile %s, region %s) → %s", service, action,
           creds->profile ? creds->profile : "from environment", creds->region, call->url);

  easy = curl_easy_init ();
  if (easy == NULL)
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK,
                               _("Could not set up an HTTP request for %s."), action);
      return;
    }

  sigv4 = g_strdup_printf ("aws:amz:%s:%s", creds->region, service);
  user_agent = g_strdup_printf ("bastion/%s", PACKAGE_VERSION);

  curl_easy_setopt (easy, CURLOPT_URL, call->url);
  restrict_protocols (easy);
  curl_easy_setopt (easy, CURLOPT_POST, 1L);
  curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE, (long) strlen (body));
  curl_easy_setopt (easy, CURLOPT_COPYPOSTFIELDS, body);
  curl_easy_setopt (easy, CURLOPT_AWS_SIGV4, sigv4);
  curl_easy_setopt (easy, CURLOPT_USERNAME, creds->access_key_id);
  curl_easy_setopt (easy, CURLOPT_PASSWORD, creds->secret_access_key);
  curl_easy_setopt (easy, CURLOPT_USERAGENT, user_agent);
  /* Every reply has a total bound (connecting, sending, a slow or stalled answer). */
  curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT, (long) MIN (20, self->reply_timeout));
  curl_easy_setopt (easy, CURLOPT_TIMEOUT, (long) self->reply_timeout);

  /* Set as headers (not left to curl's defaults) so that the signature covers them. */
  if (target != NULL)
    {
      g_autofree char *target_header = g_strdup_printf ("X-Amz-Target: %s", target);

      headers = curl_slist_append (headers, "Content-Type: application/x-amz-json-1.1");
      headers = curl_slist_append (headers, target_header);
    }
  else
    {
      headers = curl_slist_append (headers,
                                   "Content-Type: application/x-www-form-urlencoded; "
                                   "charset=utf-8");
    }
  if (creds->session_token != NULL)
    {
      g_autofree char *token_header = g_strdup_printf ("X-Amz-Security-Token: %s",
                                                       creds->session_token);

      headers = curl_slist_append (headers, token_header);
      explicit_bzero (token_header, strlen (token_header));
    }
  /* No "Expect:" entry to switch off 100-continue: libcurl 7.88 would sign that removed header
   * as an empty one it never sends, and AWS would reject the signature. Our bodies are far
   * below the size where curl asks for 100-continue. */

  bastion_curl_perform_async (self->curl, easy, headers, cancellable, on_call_done,
                              g_steal_pointer (&task));
}

/* POSTs body to service, signed with SigV4 by libcurl. target: the JSON protocol's X-Amz-Target
 * (the body is then JSON), or NULL for EC2's form-encoded query protocol. The query protocol goes
 * in the body because libcurl 7.88 signs an unsorted query string as it is, not sorted as SigV4
 * requires.
 * The AWS files are read in a thread first (bastion_aws_credentials_load_async): nothing blocks
 * the main loop, even on a network home directory. */
static void
aws_call_async (BastionAws          *self,
                const char          *service,
                const char          *action,
                const char          *target,
                const char          *resource,
                const char          *body,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Call *call;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, aws_call_async);
  call = g_new0 (Call, 1);
  call->service = g_strdup (service);
  call->action = g_strdup (action);
  call->resource = g_strdup (resource);
  call->target = g_strdup (target);
  call->body = g_strdup (body);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  bastion_aws_credentials_load_async (self->profile, self->region, cancellable,
                                      on_call_credentials, g_steal_pointer (&task));
}

static GBytes *
aws_call_finish (BastionAws    *self,
                 GAsyncResult  *result,
                 GError       **error)
{
  g_assert (g_task_is_valid (result, self));

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* EC2 query-protocol body: Action, Version, then the given key/value pairs (NULL-terminated). */
G_GNUC_NULL_TERMINATED
static char *
ec2_body (const char *action,
          ...)
{
  GString *body = g_string_new (NULL);
  const char *key;
  va_list args;

  g_string_append_printf (body, "Action=%s&Version=%s", action, EC2_API_VERSION);
  va_start (args, action);
  while ((key = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);
      g_autofree char *escaped_key = g_uri_escape_string (key, NULL, FALSE);
      g_autofree char *escaped_value = g_uri_escape_string (value, NULL, FALSE);

      g_string_append_printf (body, "&%s=%s", escaped_key, escaped_value);
    }
  va_end (args);

  return g_string_free (body, FALSE);
}

static XmlNode *
ec2_parse_reply (Call    *call,
                 GBytes  *body,
                 GError **error)
{
  g_autoptr(GError) xml_error = NULL;
  XmlNode *root = xml_parse (body, &xml_error);

  /* Nesting or size beyond any EC2 reply: said as such, so that nobody hunts a parser bug. */
  if (root == NULL && g_error_matches (xml_error, BASTION_AWS_REPLY_ERROR,
                                       BASTION_AWS_REPLY_ERROR_TOO_DEEP))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("AWS answered %s with a reply Bastion refuses: %s. No EC2 reply looks like "
                     "that; check AWS_ENDPOINT_URL if it is set."),
                   call->action, xml_error->message);
      return NULL;
    }

  /* Well-formed XML of something else (a proxy's XHTML page, S3's ListBucketResult) is not an
   * EC2 reply either: those are all <ActionResponse>. */
  if (root == NULL || root->children->len == 0 ||
      !g_str_has_suffix (((XmlNode *) g_ptr_array_index (root->children, 0))->name, "Response"))
    {
      g_clear_pointer (&root, bastion_aws_xml_free);
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("AWS answered %s with a reply Bastion cannot read. Check AWS_ENDPOINT_URL "
                     "if it is set."), call->action);
      return NULL;
    }

  return root;
}

/* The reply's top element ("DescribeInstancesResponse"). */
static XmlNode *
xml_top (XmlNode *root)
{
  return g_ptr_array_index (root->children, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Secrets Manager
 */

static char *
json_dup_member_string (JsonObject *object,
                        const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));

  return NULL;
}

static BastionAwsSecret *
parse_secret (Call    *call,
              GBytes  *body,
              GError **error)
{
  g_autoptr(JsonParser) reply_parser = json_parser_new ();
  g_autoptr(JsonParser) secret_parser = json_parser_new ();
  g_autoptr(BastionAwsSecret) secret = g_new0 (BastionAwsSecret, 1);
  g_autofree char *port = NULL;
  JsonObject *reply;
  JsonObject *object;
  const char *string;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  /* json-glib recurses once per level: the nesting is bounded before it sees the text. */
  if (!json_depth_ok (data, len))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("AWS answered %s with JSON nested deeper than %d levels, which no AWS reply "
                     "is. Check AWS_ENDPOINT_URL if it is set."),
                   call->action, BASTION_JSON_MAX_DEPTH);
      return NULL;
    }
  if (!json_parser_load_from_data (reply_parser, data, len, NULL) ||
      json_parser_get_root (reply_parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (reply_parser)))
    goto bad_reply;

  reply = json_node_get_object (json_parser_get_root (reply_parser));
  string = json_member_string (reply, "SecretString", NULL);
  if (string == NULL)
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("The secret “%s” holds no text (SecretString), so it is not the JSON secret "
                     "RDS keeps for a database. Check db_password_key in the team config."),
                   call->resource);
      return NULL;
    }

  if (!json_depth_ok (string, strlen (string)))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("The secret “%s” is JSON nested deeper than %d levels, not the secret RDS "
                     "keeps for a database. Check db_password_key in the team config."),
                   call->resource, BASTION_JSON_MAX_DEPTH);
      return NULL;
    }
  if (!json_parser_load_from_data (secret_parser, string, -1, NULL) ||
      json_parser_get_root (secret_parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (secret_parser)))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("The secret “%s” is not JSON with “username” and “password”. Check "
                     "db_password_key in the team config."), call->resource);
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (secret_parser));
  secret->username = json_dup_member_string (object, "username");
  secret->password = json_dup_member_string (object, "password");
  secret->engine = json_dup_member_string (object, "engine");
  secret->host = json_dup_member_string (object, "host");
  secret->dbname = json_dup_member_string (object, "dbname");
  secret->db_instance_identifier = json_dup_member_string (object, "dbInstanceIdentifier");
  port = json_dup_member_string (object, "port");
  if (port != NULL)
    {
      guint64 value;

      if (g_ascii_string_to_unsigned (port, 10, 1, 65535, &value, NULL))
        secret->port = (guint) value;
    }

  if (secret->password == NULL)
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("The secret “%s” has no “password”. Check db_password_key in the team "
                     "config."), call->resource);
      return NULL;
    }

  return g_steal_pointer (&secret);

bad_reply:
  g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
               _("AWS answered %s with a reply Bastion cannot read."), call->action);
  return NULL;
}

static void
on_get_secret_done (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  BastionAwsSecret *secret;

  body = aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  secret = parse_secret (g_task_get_task_data (G_TASK (result)), body, &error);
  if (secret == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, secret, (GDestroyNotify) bastion_aws_secret_free);
}

void
bastion_aws_get_secret_async (BastionAws          *self,
                              const char          *secret_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (secret_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_get_secret_async);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "SecretId");
  json_builder_add_string_value (builder, secret_id);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);

  aws_call_async (self, "secretsmanager", "GetSecretValue", "secretsmanager.GetSecretValue",
                  secret_id, body, cancellable, on_get_secret_done, g_steal_pointer (&task));
}

BastionAwsSecret *
bastion_aws_get_secret_finish (BastionAws    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------
 * Systems Manager (Session Manager's API; the session itself is bastion-ssm-session.c)
 */

void
bastion_aws_ssm_call_async (BastionAws          *self,
                            const char          *action,
                            const char          *resource,
                            const char          *body,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autofree char *target = NULL;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (action != NULL && body != NULL);

  target = g_strdup_printf ("AmazonSSM.%s", action);
  aws_call_async (self, "ssm", action, target, resource, body, cancellable, callback, user_data);
}

GBytes *
bastion_aws_ssm_call_finish (BastionAws    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);

  return aws_call_finish (self, result, error);
}

/* ---------------------------------------------------------------------------------------------
 * Public IP
 */

static void
on_public_ip_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  const char *url = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;
  guint32 unused;
  long status = 0;

  body = bastion_curl_perform_finish (BASTION_CURL (object), result, &status, &error);
  if (body == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NETWORK,
                                 _("Could not find your public IP address at %s: %s. Check your "
                                   "network connection (and BASTION_CHECKIP_URL if it is set)."),
                                 url, error->message);
      return;
    }

  /* "198.51.100.7\n" and nothing else: a longer answer is not one. */
  if (g_bytes_get_size (body) <= 64)
    text = g_strstrip (g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)));
  if (status != 200 || text == NULL || !parse_ipv4 (text, &unused))
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                               _("%s did not answer with an IPv4 address (HTTP %ld). Check "
                                 "BASTION_CHECKIP_URL if it is set."), url, status);
      return;
    }
  /* A rule for 0.0.0.0 or 127.0.0.1 would admit nobody (or everyone) and replace the rule
   * that works: such an answer is refused before anything is changed. */
  if (!bastion_aws_ip_is_public (text))
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                               _("%s answered %s as your public IP address, which cannot be one "
                                 "(it is a private, loopback, link-local, shared, multicast or "
                                 "reserved address). Nothing was changed. Check "
                                 "BASTION_CHECKIP_URL if it is set, and your network’s proxy."),
                               url, text);
      return;
    }

  g_debug ("Public IP: %s", text);
  g_task_return_pointer (task, g_steal_pointer (&text), g_free);
}

void
bastion_aws_get_public_ip_async (BastionAws          *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  const char *url = g_getenv ("BASTION_CHECKIP_URL");
  CURL *easy;

  g_return_if_fail (BASTION_IS_AWS (self));

  if (url == NULL || url[0] == '\0')
    url = DEFAULT_CHECKIP;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_get_public_ip_async);
  g_task_set_task_data (task, g_strdup (url), g_free);

  easy = curl_easy_init ();
  curl_easy_setopt (easy, CURLOPT_URL, url);
  restrict_protocols (easy);
  curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT, (long) MIN (20, self->reply_timeout));
  curl_easy_setopt (easy, CURLOPT_TIMEOUT, (long) MIN (30, self->reply_timeout));

  bastion_curl_perform_async (self->curl, easy, NULL, cancellable, on_public_ip_done,
                              g_steal_pointer (&task));
}

char *
bastion_aws_get_public_ip_finish (BastionAws    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------
 * EC2 security groups
 */

/* One <item> of DescribeSecurityGroups: its inbound rules with an IPv4 range. */
static BastionAwsSecurityGroup *
parse_security_group (XmlNode *item)
{
  BastionAwsSecurityGroup *group = security_group_new ();
  XmlNode *permissions;

  group->group_id = bastion_aws_xml_dup_text (item, "groupId");
  group->group_name = bastion_aws_xml_dup_text (item, "groupName");
  permissions = bastion_aws_xml_child (item, "ipPermissions");
  for (guint i = 0; permissions != NULL && i < permissions->children->len; i++)
    {
      XmlNode *perm = g_ptr_array_index (permissions->children, i);
      XmlNode *ranges = bastion_aws_xml_child (perm, "ipRanges");

      for (guint j = 0; ranges != NULL && j < ranges->children->len; j++)
        {
          XmlNode *range = g_ptr_array_index (ranges->children, j);
          BastionAwsRule *rule = g_new0 (BastionAwsRule, 1);

          rule->protocol = bastion_aws_xml_dup_text (perm, "ipProtocol");
          rule->from_port = xml_int (perm, "fromPort");
          rule->to_port = xml_int (perm, "toPort");
          rule->cidr = bastion_aws_xml_dup_text (range, "cidrIp");
          rule->description = bastion_aws_xml_dup_text (range, "description");
          if (rule->cidr == NULL)
            rule_free (rule);
          else
            g_ptr_array_add (group->rules, rule);
        }
    }

  return group;
}

static void
on_describe_group_done (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  XmlNode *item;

  body = aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  item = bastion_aws_xml_path (xml_top (root), "securityGroupInfo/item");
  if (item == NULL)
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                               _("There is no security group “%s” in %s. Check the team's name "
                                 "prefix, stage and region."), call->resource, call->region);
      return;
    }

  group = parse_security_group (item);

  if (group->group_id == NULL)
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                               _("AWS answered %s without a group id."), call->action);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&group),
                         (GDestroyNotify) bastion_aws_security_group_free);
}

void
bastion_aws_describe_security_group_async (BastionAws          *self,
                                           const char          *group_name,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *body = NULL;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_name != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_describe_security_group_async);

  body = ec2_body ("DescribeSecurityGroups",
                   "Filter.1.Name", "group-name",
                   "Filter.1.Value.1", group_name,
                   NULL);
  aws_call_async (self, "ec2", "DescribeSecurityGroups", NULL, group_name, body, cancellable,
                  on_describe_group_done, g_steal_pointer (&task));
}

BastionAwsSecurityGroup *
bastion_aws_describe_security_group_finish (BastionAws    *self,
                                            GAsyncResult  *result,
                                            GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_boolean_call_done (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;

  /* A 200 page that is not EC2's reply (a captive portal) must not pass for "rule added". */
  body = aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = ec2_parse_reply (call, body, &error)) == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
ssh_rule_call_async (BastionAws          *self,
                     const char          *action,
                     const char          *group_id,
                     const char          *cidr,
                     const char          *description,
                     GCancellable        *cancellable,
                     GTask               *task)
{
  g_autofree char *port = g_strdup_printf ("%d", SSH_PORT);
  g_autofree char *body = NULL;

  if (description != NULL)
    body = ec2_body (action,
                     "GroupId", group_id,
                     "IpPermissions.1.IpProtocol", "tcp",
                     "IpPermissions.1.FromPort", port,
                     "IpPermissions.1.ToPort", port,
                     "IpPermissions.1.IpRanges.1.CidrIp", cidr,
                     "IpPermissions.1.IpRanges.1.Description", description,
                     NULL);
  else
    body = ec2_body (action,
                     "GroupId", group_id,
                     "IpPermissions.1.IpProtocol", "tcp",
                     "IpPermissions.1.FromPort", port,
                     "IpPermissions.1.ToPort", port,
                     "IpPermissions.1.IpRanges.1.CidrIp", cidr,
                     NULL);

  aws_call_async (self, "ec2", action, NULL, group_id, body, cancellable,
                  on_boolean_call_done, task);
}

void
bastion_aws_authorize_ssh_async (BastionAws          *self,
                                 const char          *group_id,
                                 const char          *cidr,
                                 const char          *description,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_id != NULL);
  g_return_if_fail (cidr != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_authorize_ssh_async);
  ssh_rule_call_async (self, "AuthorizeSecurityGroupIngress", group_id, cidr,
                       description != NULL ? description : "", cancellable, task);
}

gboolean
bastion_aws_authorize_ssh_finish (BastionAws    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_aws_revoke_ssh_async (BastionAws          *self,
                              const char          *group_id,
                              const char          *cidr,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_id != NULL);
  g_return_if_fail (cidr != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_revoke_ssh_async);
  ssh_rule_call_async (self, "RevokeSecurityGroupIngress", group_id, cidr, NULL, cancellable,
                       task);
}

gboolean
bastion_aws_revoke_ssh_finish (BastionAws    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------
 * EC2 instances
 */

static BastionAwsInstance *
parse_instance (XmlNode *item)
{
  BastionAwsInstance *instance = g_new0 (BastionAwsInstance, 1);
  XmlNode *tags = bastion_aws_xml_child (item, "tagSet");

  instance->instance_id = bastion_aws_xml_dup_text (item, "instanceId");
  instance->state = bastion_aws_xml_dup_text (item, "instanceState/name");
  instance->public_dns = bastion_aws_xml_dup_text (item, "dnsName");
  instance->public_ip = bastion_aws_xml_dup_text (item, "ipAddress");
  instance->private_ip = bastion_aws_xml_dup_text (item, "privateIpAddress");
  instance->private_dns = bastion_aws_xml_dup_text (item, "privateDnsName");
  for (guint i = 0; tags != NULL && i < tags->children->len; i++)
    {
      XmlNode *tag = g_ptr_array_index (tags->children, i);
      g_autofree char *key = bastion_aws_xml_dup_text (tag, "key");

      if (g_strcmp0 (key, "Name") == 0)
        instance->name = bastion_aws_xml_dup_text (tag, "value");
    }
  if (instance->state == NULL)
    instance->state = g_strdup ("unknown");

  return instance;
}

static void
on_describe_instance_done (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  g_autoptr(BastionAwsInstance) found = NULL;
  XmlNode *reservations;

  body = aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  reservations = bastion_aws_xml_child (xml_top (root), "reservationSet");
  for (guint i = 0; reservations != NULL && i < reservations->children->len; i++)
    {
      XmlNode *instances = bastion_aws_xml_child (g_ptr_array_index (reservations->children, i),
                                      "instancesSet");

      for (guint j = 0; instances != NULL && j < instances->children->len; j++)
        {
          g_autoptr(BastionAwsInstance) instance =
            parse_instance (g_ptr_array_index (instances->children, j));

          /* A terminated predecessor keeps its Name tag for a while: never that one. */
          if (g_str_equal (instance->state, "terminated") ||
              g_str_equal (instance->state, "shutting-down") ||
              instance->instance_id == NULL)
            continue;
          if (found == NULL || g_str_equal (instance->state, "running"))
            {
              g_clear_pointer (&found, bastion_aws_instance_free);
              found = g_steal_pointer (&instance);
            }
        }
    }

  if (found == NULL)
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND,
                               _("There is no EC2 instance named “%s” in %s. Check the team's "
                                 "name prefix, stage and region."),
                               call->resource, call->region);
      return;
    }

  g_debug ("Instance %s is %s", found->instance_id, found->state);
  g_task_return_pointer (task, g_steal_pointer (&found),
                         (GDestroyNotify) bastion_aws_instance_free);
}

void
bastion_aws_describe_instance_async (BastionAws          *self,
                                     const char          *name_tag,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *body = NULL;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (name_tag != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_describe_instance_async);

  body = ec2_body ("DescribeInstances",
                   "Filter.1.Name", "tag:Name",
                   "Filter.1.Value.1", name_tag,
                   NULL);
  aws_call_async (self, "ec2", "DescribeInstances", NULL, name_tag, body, cancellable,
                  on_describe_instance_done, g_steal_pointer (&task));
}

BastionAwsInstance *
bastion_aws_describe_instance_finish (BastionAws    *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_instance_state_call_done (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  char *state;

  body = aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  state = bastion_aws_xml_dup_text (xml_top (root), "instancesSet/item/currentState/name");
  if (state == NULL)
    state = g_strdup ("unknown");
  g_task_return_pointer (task, state, g_free);
}

static void
instance_state_call_async (BastionAws          *self,
                           const char          *action,
                           const char          *instance_id,
                           GCancellable        *cancellable,
                           GTask               *task)
{
  g_autofree char *body = ec2_body (action, "InstanceId.1", instance_id, NULL);

  aws_call_async (self, "ec2", action, NULL, instance_id, body, cancellable,
                  on_instance_state_call_done, task);
}

void
bastion_aws_start_instance_async (BastionAws          *self,
                                  const char          *instance_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (instance_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_start_instance_async);
  instance_state_call_async (self, "StartInstances", instance_id, cancellable, task);
}

char *
bastion_aws_start_instance_finish (BastionAws    *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_aws_stop_instance_async (BastionAws          *self,
                                 const char          *instance_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (instance_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_stop_instance_async);
  instance_state_call_async (self, "StopInstances", instance_id, cancellable, task);
}

char *
bastion_aws_stop_instance_finish (BastionAws    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------
 * The object
 */

BastionAws *
bastion_aws_new (const char *profile,
                 const char *region)
{
  return g_object_new (BASTION_TYPE_AWS,
                       "profile", profile,
                       "region", region,
                       NULL);
}

const char *
bastion_aws_get_profile (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);

  return self->profile;
}

const char *
bastion_aws_get_region (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);

  return self->region;
}

guint
bastion_aws_get_poll_interval (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), 0);

  return self->poll_interval;
}

void
bastion_aws_set_poll_interval (BastionAws *self,
                               guint       poll_interval)
{
  g_return_if_fail (BASTION_IS_AWS (self));

  if (self->poll_interval != poll_interval)
    {
      self->poll_interval = poll_interval;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLL_INTERVAL]);
    }
}

guint
bastion_aws_get_wait_timeout (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), 0);

  return self->wait_timeout;
}

void
bastion_aws_set_wait_timeout (BastionAws *self,
                              guint       wait_timeout)
{
  g_return_if_fail (BASTION_IS_AWS (self));

  if (self->wait_timeout != wait_timeout)
    {
      self->wait_timeout = wait_timeout;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WAIT_TIMEOUT]);
    }
}

guint
bastion_aws_get_reply_timeout (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), 0);

  return self->reply_timeout;
}

void
bastion_aws_set_reply_timeout (BastionAws *self,
                               guint       seconds)
{
  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (seconds > 0);

  self->reply_timeout = seconds;
}

guint
bastion_aws_get_temporary_lifetime (BastionAws *self)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), 0);

  return self->temporary_lifetime;
}

void
bastion_aws_set_temporary_lifetime (BastionAws *self,
                                    guint       lifetime)
{
  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (lifetime > 0);

  self->temporary_lifetime = lifetime;
}

BastionAwsCredentials *
bastion_aws_dup_credentials (BastionAws  *self,
                             GError     **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);

  return bastion_aws_credentials_load (self->profile, self->region, error);
}

static void
bastion_aws_finalize (GObject *object)
{
  BastionAws *self = (BastionAws *) object;

  g_clear_pointer (&self->profile, g_free);
  g_clear_pointer (&self->region, g_free);
  g_clear_object (&self->curl);

  G_OBJECT_CLASS (bastion_aws_parent_class)->finalize (object);
}

static void
bastion_aws_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  BastionAws *self = BASTION_AWS (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_string (value, self->profile);
      break;
    case PROP_REGION:
      g_value_set_string (value, self->region);
      break;
    case PROP_POLL_INTERVAL:
      g_value_set_uint (value, self->poll_interval);
      break;
    case PROP_WAIT_TIMEOUT:
      g_value_set_uint (value, self->wait_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_aws_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  BastionAws *self = BASTION_AWS (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      self->profile = g_value_dup_string (value);
      break;
    case PROP_REGION:
      self->region = g_value_dup_string (value);
      break;
    case PROP_POLL_INTERVAL:
      bastion_aws_set_poll_interval (self, g_value_get_uint (value));
      break;
    case PROP_WAIT_TIMEOUT:
      bastion_aws_set_wait_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_aws_class_init (BastionAwsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_aws_finalize;
  object_class->get_property = bastion_aws_get_property;
  object_class->set_property = bastion_aws_set_property;

  properties[PROP_PROFILE] =
    g_param_spec_string ("profile", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REGION] =
    g_param_spec_string ("region", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_POLL_INTERVAL] =
    g_param_spec_uint ("poll-interval", NULL, NULL, 1, BASTION_AWS_MAX_POLL_INTERVAL, 2000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_WAIT_TIMEOUT] =
    g_param_spec_uint ("wait-timeout", NULL, NULL, 1, 3600, 600,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_aws_init (BastionAws *self)
{
  self->poll_interval = 2000;
  self->wait_timeout = 600;
  self->temporary_lifetime = 12 * 60 * 60;
  self->reply_timeout = 60;
  self->curl = bastion_curl_new ();
}
