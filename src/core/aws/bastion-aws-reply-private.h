/* bastion-aws-reply-private.h
 *
 * Reading AWS replies as hostile input: a bounded XML tree for EC2's query protocol (the JSON
 * replies' nesting is checked with bastion_json_check_depth() of bastion-bounded-file.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* EC2 replies nest about 8 levels and hold a few hundred elements; these leave room for a
 * security group with every rule AWS allows and refuse what only an attacker sends. */
#define BASTION_AWS_XML_MAX_DEPTH    64
#define BASTION_AWS_XML_MAX_ELEMENTS 200000

#define BASTION_AWS_REPLY_ERROR (bastion_aws_reply_error_quark ())

typedef enum
{
  BASTION_AWS_REPLY_ERROR_TOO_DEEP = 1,  /* beyond the depth or element bound */
} BastionAwsReplyError;

GQuark bastion_aws_reply_error_quark (void);

typedef struct _BastionAwsXmlNode BastionAwsXmlNode;
struct _BastionAwsXmlNode
{
  char      *name;
  GString   *text;
  GPtrArray *children;  /* BastionAwsXmlNode, not owning: the tree is freed iteratively */
};

/* The document's tree under an unnamed root, or NULL (and error, G_MARKUP_ERROR) when the
 * bytes are not XML (G_MARKUP_ERROR) or go deeper or wider than the bounds above
 * (BASTION_AWS_REPLY_ERROR_TOO_DEEP). */
BastionAwsXmlNode *bastion_aws_xml_parse      (const char        *data,
                                               gsize              len,
                                               GError           **error);
/* Frees node and everything below it without recursion. */
void               bastion_aws_xml_free       (BastionAwsXmlNode *node);
BastionAwsXmlNode *bastion_aws_xml_child      (BastionAwsXmlNode *node,
                                               const char        *name);
/* "a/b/c": the first match at each step. */
BastionAwsXmlNode *bastion_aws_xml_path       (BastionAwsXmlNode *node,
                                               const char        *path);
/* The stripped text of the child at path, or NULL when absent or empty. */
char              *bastion_aws_xml_dup_text   (BastionAwsXmlNode *node,
                                               const char        *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsXmlNode, bastion_aws_xml_free)

G_END_DECLS
