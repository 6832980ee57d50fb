/* bastion-aws.c
 *
 * BastionAws: the object, and the EC2 calls about the public IP, security groups and instances.
 * Signed calls are bastion-aws-call.c, Secrets Manager bastion-aws-secret.c, the boxed results
 * bastion-aws-boxed.c; rules and start/stop are bastion-aws-rules.c and bastion-aws-start-stop.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <curl/curl.h>
#include <glib/gi18n.h>

#include "bastion-aws-private.h"
#include "bastion-bounded-file.h"

#define SSH_PORT          22
#define DEFAULT_CHECKIP   "https://checkip.amazonaws.com"

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
  _bastion_aws_call_async (self, "ssm", action, target, resource, body, cancellable, callback,
                           user_data);
}

GBytes *
bastion_aws_ssm_call_finish (BastionAws    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);

  return _bastion_aws_call_finish (self, result, error);
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
  if (status != 200 || text == NULL || !_bastion_aws_parse_ipv4 (text, &unused))
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
  _bastion_aws_restrict_protocols (easy);
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
parse_security_group (BastionAwsXmlNode *item)
{
  BastionAwsSecurityGroup *group = _bastion_aws_security_group_new ();
  BastionAwsXmlNode *permissions;

  group->group_id = bastion_aws_xml_dup_text (item, "groupId");
  group->group_name = bastion_aws_xml_dup_text (item, "groupName");
  permissions = bastion_aws_xml_child (item, "ipPermissions");
  for (guint i = 0; permissions != NULL && i < permissions->children->len; i++)
    {
      BastionAwsXmlNode *perm = g_ptr_array_index (permissions->children, i);
      BastionAwsXmlNode *ranges = bastion_aws_xml_child (perm, "ipRanges");

      for (guint j = 0; ranges != NULL && j < ranges->children->len; j++)
        {
          BastionAwsXmlNode *range = g_ptr_array_index (ranges->children, j);
          BastionAwsRule *rule = g_new0 (BastionAwsRule, 1);

          rule->protocol = bastion_aws_xml_dup_text (perm, "ipProtocol");
          rule->from_port = _bastion_aws_xml_int (perm, "fromPort");
          rule->to_port = _bastion_aws_xml_int (perm, "toPort");
          rule->cidr = bastion_aws_xml_dup_text (range, "cidrIp");
          rule->description = bastion_aws_xml_dup_text (range, "description");
          if (rule->cidr == NULL)
            _bastion_aws_rule_free (rule);
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
  BastionAwsCall *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  BastionAwsXmlNode *item;

  body = _bastion_aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = _bastion_aws_ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  item = bastion_aws_xml_path (_bastion_aws_xml_top (root), "securityGroupInfo/item");
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

  body = _bastion_aws_ec2_body ("DescribeSecurityGroups",
                                "Filter.1.Name", "group-name",
                                "Filter.1.Value.1", group_name,
                                NULL);
  _bastion_aws_call_async (self, "ec2", "DescribeSecurityGroups", NULL, group_name, body,
                           cancellable, on_describe_group_done, g_steal_pointer (&task));
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
  BastionAwsCall *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;

  /* A 200 page that is not EC2's reply (a captive portal) must not pass for "rule added". */
  body = _bastion_aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = _bastion_aws_ec2_parse_reply (call, body, &error)) == NULL)
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
    body = _bastion_aws_ec2_body (action,
                                  "GroupId", group_id,
                                  "IpPermissions.1.IpProtocol", "tcp",
                                  "IpPermissions.1.FromPort", port,
                                  "IpPermissions.1.ToPort", port,
                                  "IpPermissions.1.IpRanges.1.CidrIp", cidr,
                                  "IpPermissions.1.IpRanges.1.Description", description,
                                  NULL);
  else
    body = _bastion_aws_ec2_body (action,
                                  "GroupId", group_id,
                                  "IpPermissions.1.IpProtocol", "tcp",
                                  "IpPermissions.1.FromPort", port,
                                  "IpPermissions.1.ToPort", port,
                                  "IpPermissions.1.IpRanges.1.CidrIp", cidr,
                                  NULL);

  _bastion_aws_call_async (self, "ec2", action, NULL, group_id, body, cancellable,
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
parse_instance (BastionAwsXmlNode *item)
{
  BastionAwsInstance *instance = g_new0 (BastionAwsInstance, 1);
  BastionAwsXmlNode *tags = bastion_aws_xml_child (item, "tagSet");

  instance->instance_id = bastion_aws_xml_dup_text (item, "instanceId");
  instance->state = bastion_aws_xml_dup_text (item, "instanceState/name");
  instance->public_dns = bastion_aws_xml_dup_text (item, "dnsName");
  instance->public_ip = bastion_aws_xml_dup_text (item, "ipAddress");
  instance->private_ip = bastion_aws_xml_dup_text (item, "privateIpAddress");
  instance->private_dns = bastion_aws_xml_dup_text (item, "privateDnsName");
  for (guint i = 0; tags != NULL && i < tags->children->len; i++)
    {
      BastionAwsXmlNode *tag = g_ptr_array_index (tags->children, i);
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
  BastionAwsCall *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  g_autoptr(BastionAwsInstance) found = NULL;
  BastionAwsXmlNode *reservations;

  body = _bastion_aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = _bastion_aws_ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  reservations = bastion_aws_xml_child (_bastion_aws_xml_top (root), "reservationSet");
  for (guint i = 0; reservations != NULL && i < reservations->children->len; i++)
    {
      BastionAwsXmlNode *reservation = g_ptr_array_index (reservations->children, i);
      BastionAwsXmlNode *instances = bastion_aws_xml_child (reservation, "instancesSet");

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

  body = _bastion_aws_ec2_body ("DescribeInstances",
                                "Filter.1.Name", "tag:Name",
                                "Filter.1.Value.1", name_tag,
                                NULL);
  _bastion_aws_call_async (self, "ec2", "DescribeInstances", NULL, name_tag, body, cancellable,
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
  BastionAwsCall *call = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(BastionAwsXmlNode) root = NULL;
  char *state;

  body = _bastion_aws_call_finish (BASTION_AWS (object), result, &error);
  if (body == NULL || (root = _bastion_aws_ec2_parse_reply (call, body, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  state = bastion_aws_xml_dup_text (_bastion_aws_xml_top (root),
                                    "instancesSet/item/currentState/name");
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
  g_autofree char *body = _bastion_aws_ec2_body (action, "InstanceId.1", instance_id, NULL);

  _bastion_aws_call_async (self, "ec2", action, NULL, instance_id, body, cancellable,
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
