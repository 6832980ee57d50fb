/* bastion-aws-private.h
 *
 * What the parts of BastionAws share: the object's fields, a signed call's state, and the
 * helpers bastion-aws-boxed.c, bastion-aws-call.c, bastion-aws-secret.c and bastion-aws.c use
 * from each other. Not installed; the faces use bastion-aws.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <curl/curl.h>
#include <json-glib/json-glib.h>

#include "bastion-aws.h"
#include "bastion-aws-reply-private.h"
#include "bastion-curl.h"

G_BEGIN_DECLS

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
} BastionAwsCall;

void _bastion_aws_rule_free (BastionAwsRule *rule);
BastionAwsSecurityGroup *_bastion_aws_security_group_new (void);
gboolean _bastion_aws_parse_ipv4 (const char *str,
                                  guint32    *out);
BastionAwsXmlNode *_bastion_aws_xml_parse_bytes (GBytes  *bytes,
                                                 GError **error);
int _bastion_aws_xml_int (BastionAwsXmlNode *node,
                          const char        *path);
gboolean _bastion_aws_json_depth_ok (const char *data,
                                     gsize       len);
const char *_bastion_aws_json_member_string (JsonObject *object,
                                             const char *name,
                                             const char *fallback);
void _bastion_aws_restrict_protocols (CURL *easy);
void _bastion_aws_call_async (BastionAws          *self,
                              const char          *service,
                              const char          *action,
                              const char          *target,
                              const char          *resource,
                              const char          *body,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
GBytes *_bastion_aws_call_finish (BastionAws    *self,
                                  GAsyncResult  *result,
                                  GError       **error);
char *_bastion_aws_ec2_body (const char *action,
                             ...);
BastionAwsXmlNode *_bastion_aws_ec2_parse_reply (BastionAwsCall  *call,
                                                 GBytes          *body,
                                                 GError         **error);
BastionAwsXmlNode *_bastion_aws_xml_top (BastionAwsXmlNode *root);

G_END_DECLS
