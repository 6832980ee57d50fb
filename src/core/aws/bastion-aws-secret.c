/* bastion-aws-secret.c
 *
 * Reading a secret from AWS Secrets Manager.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-aws-private.h"
#include "bastion-bounded-file.h"
#include "bastion-secure.h"

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

/* The fields of the JSON secret RDS keeps for a database. */
static void
read_secret_fields (BastionAwsSecret *secret,
                    JsonObject       *object)
{
  g_autofree char *port = NULL;

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
}

static BastionAwsSecret *
parse_secret (BastionAwsCall  *call,
              GBytes          *body,
              GError         **error)
{
  g_autoptr(JsonParser) reply_parser = json_parser_new ();
  g_autoptr(JsonParser) secret_parser = json_parser_new ();
  g_autoptr(BastionAwsSecret) secret = g_new0 (BastionAwsSecret, 1);
  JsonObject *reply;
  const char *string;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  /* json-glib recurses once per level: the nesting is bounded before it sees the text. */
  if (!_bastion_aws_json_depth_ok (data, len))
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
  string = _bastion_aws_json_member_string (reply, "SecretString", NULL);
  if (string == NULL)
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_BAD_REPLY,
                   _("The secret “%s” holds no text (SecretString), so it is not the JSON secret "
                     "RDS keeps for a database. Check db_password_key in the team config."),
                   call->resource);
      return NULL;
    }

  if (!_bastion_aws_json_depth_ok (string, strlen (string)))
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

  read_secret_fields (secret, json_node_get_object (json_parser_get_root (secret_parser)));
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

  body = _bastion_aws_call_finish (BASTION_AWS (object), result, &error);
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

  _bastion_aws_call_async (self, "secretsmanager", "GetSecretValue",
                           "secretsmanager.GetSecretValue", secret_id, body, cancellable,
                           on_get_secret_done, g_steal_pointer (&task));
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
