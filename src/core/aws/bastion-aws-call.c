/* bastion-aws-call.c
 *
 * Signed calls to AWS: SigV4 through libcurl, retries on throttling, errors read from EC2's XML
 * and the JSON protocol's replies.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <curl/curl.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-aws-private.h"
#include "bastion-bounded-file.h"
#include "bastion-secure.h"

#define EC2_API_VERSION   "2016-11-15"
/* The AWS SDKs' standard retry mode: 3 attempts, backoff capped at 20 s. */
#define MAX_ATTEMPTS           3
#define MAX_RETRY_BACKOFF_USEC (20 * G_USEC_PER_SEC)

/* ---------------------------------------------------------------------------------------------
 * EC2's XML replies (the bounded reader is bastion-aws-reply.c)
 */


BastionAwsXmlNode *
_bastion_aws_xml_parse_bytes (GBytes  *bytes,
                              GError **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr(GError) local_error = NULL;
  BastionAwsXmlNode *root = bastion_aws_xml_parse (data, len, &local_error);

  if (root == NULL)
    {
      g_debug ("Unreadable XML from AWS: %s", local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }

  return root;
}

int
_bastion_aws_xml_int (BastionAwsXmlNode *node,
                      const char        *path)
{
  g_autofree char *text = bastion_aws_xml_dup_text (node, path);
  gint64 value;

  if (text == NULL || !g_ascii_string_to_signed (text, 10, -1, 65535, &value, NULL))
    return -1;

  return (int) value;
}

/* json-glib recurses once per level: every JSON reply (and the secret inside one) goes through
 * the shared depth scan of bastion-bounded-file.c first. */
gboolean
_bastion_aws_json_depth_ok (const char *data,
                            gsize       len)
{
  return bastion_json_check_depth (data, len, BASTION_JSON_MAX_DEPTH, NULL, NULL);
}

/* A string member of a JSON reply, or fallback when it is absent or not a string ({} or [] where
 * a string belongs must not reach json-glib's own getter, which is critical about it). */
const char *
_bastion_aws_json_member_string (JsonObject *object,
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

static void
call_free (BastionAwsCall *call)
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

/* A refusal of who asks or when (permission, clock, token, keys): the error, else NULL. */
static GError *
credentials_error_new (BastionAwsCall *call,
                       const char     *code,
                       const char     *message,
                       const char     *permission)
{
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

  return NULL;
}

/* What the call was about is missing, or the state does not allow it: the error, else NULL. */
static GError *
resource_error_new (BastionAwsCall *call,
                    const char     *code,
                    const char     *message)
{
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

  return NULL;
}

static GError *
aws_error_new (BastionAwsCall *call,
               long            status,
               const char     *code,
               const char     *message)
{
  g_autofree char *permission = g_strdup_printf ("%s:%s", call->service, call->action);
  GError *error;

  if (message == NULL)
    message = "";

  g_debug ("AWS %s %s: HTTP %ld, %s", call->service, call->action, status, code);

  if ((error = credentials_error_new (call, code, message, permission)) != NULL ||
      (error = resource_error_new (call, code, message)) != NULL)
    return error;

  return g_error_new (BASTION_AWS_ERROR, BASTION_AWS_ERROR_SERVICE,
                      _("AWS answered %s with %s (HTTP %ld): %s"),
                      call->action, code, status, message);
}

/* The error in an AWS reply: EC2's XML <Response><Errors><Error>, or the JSON protocol's
 * {"__type", "message"}. */
static GError *
aws_error_from_reply (BastionAwsCall *call,
                      long            status,
                      GBytes         *body)
{
  if (g_str_equal (call->service, "ec2"))
    {
      g_autoptr(BastionAwsXmlNode) root = _bastion_aws_xml_parse_bytes (body, NULL);
      BastionAwsXmlNode *error = bastion_aws_xml_path (root, "Response/Errors/Error");
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

      if (_bastion_aws_json_depth_ok (data, len) &&
          json_parser_load_from_data (parser, data, len, NULL) &&
          json_parser_get_root (parser) != NULL &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          const char *code = _bastion_aws_json_member_string (object, "__type", NULL);
          const char *message =
            _bastion_aws_json_member_string (object, "message",
                           _bastion_aws_json_member_string (object, "Message", NULL));

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
network_error_new (BastionAwsCall *call,
                   const GError   *error,
                   guint           reply_timeout)
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
reply_error_code (BastionAwsCall *call,
                  GBytes         *body)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  if (g_str_equal (call->service, "ec2"))
    {
      g_autoptr(BastionAwsXmlNode) root = _bastion_aws_xml_parse_bytes (body, NULL);

      return bastion_aws_xml_dup_text (root, "Response/Errors/Error/Code");
    }
  if (_bastion_aws_json_depth_ok (data, len))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, data, len, NULL) &&
          json_parser_get_root (parser) != NULL &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          const char *code = _bastion_aws_json_member_string (object, "__type", NULL);

          return code != NULL ? g_strdup (strip_type_prefix (code)) : NULL;
        }
    }

  return NULL;
}

/* What the AWS SDKs' standard retry mode treats as throttling. */
static gboolean
reply_is_throttling (BastionAwsCall *call,
                     long            status,
                     GBytes         *body)
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
  BastionAwsCall *call = g_task_get_task_data (task);
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
  BastionAwsCall *call = g_task_get_task_data (task);
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

void
_bastion_aws_restrict_protocols (CURL *easy)
{
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt (easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* The headers the signature covers (set here, not left to curl's defaults): the protocol's
 * content type, X-Amz-Target and the session token. */
static struct curl_slist *
call_headers (const char            *target,
              BastionAwsCredentials *creds)
{
  struct curl_slist *headers = NULL;

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
      g_autoptr(BastionSecureStr) token_header = g_strdup_printf ("X-Amz-Security-Token: %s",
                                                                  creds->session_token);

      headers = curl_slist_append (headers, token_header);
    }

  return headers;
}

/* _bastion_aws_call_async(), once the credentials are read. */
static void
on_call_credentials (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  BastionAwsCall *call = g_task_get_task_data (task);
  const char *service = call->service;
  const char *action = call->action;
  const char *target = call->target;
  const char *body = call->body;
  g_autoptr(BastionAwsCredentials) creds = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sigv4 = NULL;
  g_autofree char *user_agent = NULL;
  struct curl_slist *headers;
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
  _bastion_aws_restrict_protocols (easy);
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

  headers = call_headers (target, creds);
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
void
_bastion_aws_call_async (BastionAws          *self,
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
  BastionAwsCall *call;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, _bastion_aws_call_async);
  call = g_new0 (BastionAwsCall, 1);
  call->service = g_strdup (service);
  call->action = g_strdup (action);
  call->resource = g_strdup (resource);
  call->target = g_strdup (target);
  call->body = g_strdup (body);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  bastion_aws_credentials_load_async (self->profile, self->region, cancellable,
                                      on_call_credentials, g_steal_pointer (&task));
}

GBytes *
_bastion_aws_call_finish (BastionAws    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_assert (g_task_is_valid (result, self));

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* EC2 query-protocol body: Action, Version, then the given key/value pairs (NULL-terminated). */
G_GNUC_NULL_TERMINATED
char *
_bastion_aws_ec2_body (const char *action,
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

BastionAwsXmlNode *
_bastion_aws_ec2_parse_reply (BastionAwsCall  *call,
                              GBytes          *body,
                              GError         **error)
{
  g_autoptr(GError) xml_error = NULL;
  BastionAwsXmlNode *root = _bastion_aws_xml_parse_bytes (body, &xml_error);

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
      !g_str_has_suffix (((BastionAwsXmlNode *) g_ptr_array_index (root->children, 0))->name,
                         "Response"))
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
BastionAwsXmlNode *
_bastion_aws_xml_top (BastionAwsXmlNode *root)
{
  return g_ptr_array_index (root->children, 0);
}
