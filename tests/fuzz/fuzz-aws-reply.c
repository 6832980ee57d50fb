/* fuzz-aws-reply.c: the bodies of AWS replies: EC2's XML (DescribeInstances,
 * DescribeSecurityGroups, Start/StopInstances, <Response><Errors>) and Secrets Manager's JSON
 * (GetSecretValue and its SecretString, {"__type": …} errors)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The reply parsers are static in bastion-aws.c (EC2), bastion-aws-secret.c (Secrets Manager)
 * and bastion-aws-call.c (errors), so this target compiles those files into itself (the static
 * library's copies of them are then never linked) and walks each parsed reply exactly as the
 * completion callbacks there do.
 */

#include "../../src/core/aws/bastion-aws.c"
#include "../../src/core/aws/bastion-aws-call.c"
#include "../../src/core/aws/bastion-aws-secret.c"

#include "fuzz-common.h"

static void
fuzz_ec2_success (BastionAwsCall *call,
                  GBytes         *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsXmlNode) root = _bastion_aws_ec2_parse_reply (call, body, &error);
  BastionAwsXmlNode *reservations;
  BastionAwsXmlNode *item;
  g_autofree char *state = NULL;

  if (root == NULL)
    {
      if (error == NULL)
        abort ();
      return;
    }

  /* on_describe_instance_done() */
  reservations = bastion_aws_xml_child (_bastion_aws_xml_top (root), "reservationSet");
  for (guint i = 0; reservations != NULL && i < reservations->children->len; i++)
    {
      BastionAwsXmlNode *reservation = g_ptr_array_index (reservations->children, i);
      BastionAwsXmlNode *instances = bastion_aws_xml_child (reservation, "instancesSet");

      for (guint j = 0; instances != NULL && j < instances->children->len; j++)
        {
          g_autoptr(BastionAwsInstance) instance =
            parse_instance (g_ptr_array_index (instances->children, j));
          g_autoptr(BastionAwsInstance) copy = bastion_aws_instance_copy (instance);

          (void) bastion_aws_instance_dns_changed (copy, "ec2-54-190-12-34.example.com");
        }
    }

  /* on_describe_group_done() */
  item = bastion_aws_xml_path (_bastion_aws_xml_top (root), "securityGroupInfo/item");
  if (item != NULL)
    {
      g_autoptr(BastionAwsSecurityGroup) group = parse_security_group (item);
      g_autoptr(BastionAwsSecurityGroup) copy = bastion_aws_security_group_copy (group);

      if (copy->rules->len != group->rules->len)
        abort ();
      for (guint i = 0; i < group->rules->len; i++)
        {
          BastionAwsRule *rule = g_ptr_array_index (group->rules, i);

          (void) bastion_aws_cidr_contains (rule->cidr, "198.51.100.7");
        }
    }

  /* on_instance_op_done(): Start/StopInstances */
  state = bastion_aws_xml_dup_text (_bastion_aws_xml_top (root),
                                    "instancesSet/item/currentState/name");
}

static void
fuzz_secret (BastionAwsCall *call,
             GBytes         *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecret) secret = parse_secret (call, body, &error);

  if (secret == NULL && error == NULL)
    abort ();
  if (secret != NULL && secret->password == NULL)
    g_error ("A secret without a password was accepted");
  if (secret != NULL)
    {
      g_autoptr(BastionAwsSecret) copy = bastion_aws_secret_copy (secret);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  BastionAwsCall call = { 0 };
  g_autoptr(GBytes) body = NULL;
  guint8 mode;

  fuzz_common_init ();
  if (size == 0)
    return 0;

  /* The first byte picks the reply kind; the rest is the body, as curl hands it over. */
  mode = data[0] % 4;
  /* As bastion-curl.c hands it over: never a NULL pointer, a NUL after the end. */
  {
    char *copy = fuzz_dup_text (data + 1, size - 1);

    body = g_bytes_new_take (copy, size - 1);
  }
  call.service = (char *) (mode < 2 ? "ec2" : "secretsmanager");
  call.action = (char *) (mode < 2 ? "DescribeInstances" : "GetSecretValue");
  call.resource = (char *) "iot_dev_bastion";
  call.url = (char *) "https://ec2.us-west-2.amazonaws.com";
  call.region = (char *) "us-west-2";

  switch (mode)
    {
    case 0:
      fuzz_ec2_success (&call, body);
      break;
    case 2:
      fuzz_secret (&call, body);
      break;
    default:
      {
        /* An HTTP error status with this body (XML for EC2, JSON for Secrets Manager). */
        g_autoptr(GError) error = aws_error_from_reply (&call, 400, body);

        if (error == NULL || error->domain != BASTION_AWS_ERROR || error->message[0] == '\0')
          abort ();
      }
      break;
    }

  return 0;
}
