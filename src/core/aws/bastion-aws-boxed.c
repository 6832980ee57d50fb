/* bastion-aws-boxed.c
 *
 * The boxed results of BastionAws: secrets, security groups, instances, diagnoses.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-aws-private.h"
#include "bastion-secure.h"

/* ---------------------------------------------------------------------------------------------
 * Boxed results
 */

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
  bastion_secure_str_free (secret->password);
  g_free (secret->engine);
  g_free (secret->host);
  g_free (secret->dbname);
  g_free (secret->db_instance_identifier);
  g_free (secret);
}

G_DEFINE_BOXED_TYPE (BastionAwsSecret, bastion_aws_secret,
                     bastion_aws_secret_copy, bastion_aws_secret_free)

void
_bastion_aws_rule_free (BastionAwsRule *rule)
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

BastionAwsSecurityGroup *
_bastion_aws_security_group_new (void)
{
  BastionAwsSecurityGroup *group = g_new0 (BastionAwsSecurityGroup, 1);

  group->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) _bastion_aws_rule_free);

  return group;
}

BastionAwsSecurityGroup *
bastion_aws_security_group_copy (const BastionAwsSecurityGroup *group)
{
  BastionAwsSecurityGroup *copy = _bastion_aws_security_group_new ();

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

gboolean
_bastion_aws_parse_ipv4 (const char *str,
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
  if (!_bastion_aws_parse_ipv4 (parts[0], &net) || !_bastion_aws_parse_ipv4 (ip, &addr))
    return FALSE;
  if (parts[1] != NULL &&
      !g_ascii_string_to_unsigned (parts[1], 10, 0, 32, &bits, NULL))
    return FALSE;

  mask = bits == 0 ? 0 : G_MAXUINT32 << (32 - bits);

  return (net & mask) == (addr & mask);
}
