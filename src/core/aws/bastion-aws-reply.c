/* bastion-aws-reply.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-aws-reply-private.h"

G_DEFINE_QUARK (bastion-aws-reply-error-quark, bastion_aws_reply_error)

typedef struct
{
  GPtrArray *stack;     /* open elements, the innermost last */
  guint      elements;
} XmlBuilder;

static BastionAwsXmlNode *
xml_node_new (const char *name)
{
  BastionAwsXmlNode *node = g_new0 (BastionAwsXmlNode, 1);

  node->name = g_strdup (name);
  node->text = g_string_new (NULL);
  node->children = g_ptr_array_new ();

  return node;
}

void
bastion_aws_xml_free (BastionAwsXmlNode *node)
{
  g_autoptr(GPtrArray) todo = NULL;

  if (node == NULL)
    return;

  /* A work list instead of recursion: a hostile tree costs memory, never the stack. */
  todo = g_ptr_array_new ();
  g_ptr_array_add (todo, node);
  while (todo->len > 0)
    {
      BastionAwsXmlNode *next = g_ptr_array_steal_index_fast (todo, todo->len - 1);

      for (guint i = 0; i < next->children->len; i++)
        g_ptr_array_add (todo, g_ptr_array_index (next->children, i));
      g_ptr_array_unref (next->children);
      g_string_free (next->text, TRUE);
      g_free (next->name);
      g_free (next);
    }
}

static void
xml_start (GMarkupParseContext  *context,
           const char           *element_name,
           const char          **attribute_names,
           const char          **attribute_values,
           gpointer              user_data,
           GError              **error)
{
  XmlBuilder *builder = user_data;
  BastionAwsXmlNode *parent = g_ptr_array_index (builder->stack, builder->stack->len - 1);
  BastionAwsXmlNode *node;

  /* The stack holds the unnamed root too. */
  if (builder->stack->len > BASTION_AWS_XML_MAX_DEPTH)
    {
      g_set_error (error, BASTION_AWS_REPLY_ERROR, BASTION_AWS_REPLY_ERROR_TOO_DEEP,
                   _("its XML elements nest deeper than %d levels"), BASTION_AWS_XML_MAX_DEPTH);
      return;
    }
  if (++builder->elements > BASTION_AWS_XML_MAX_ELEMENTS)
    {
      g_set_error (error, BASTION_AWS_REPLY_ERROR, BASTION_AWS_REPLY_ERROR_TOO_DEEP,
                   _("it has more than %d XML elements"), BASTION_AWS_XML_MAX_ELEMENTS);
      return;
    }

  node = xml_node_new (element_name);
  g_ptr_array_add (parent->children, node);
  g_ptr_array_add (builder->stack, node);
}

static void
xml_end (GMarkupParseContext  *context,
         const char           *element_name,
         gpointer              user_data,
         GError              **error)
{
  XmlBuilder *builder = user_data;

  if (builder->stack->len > 1)
    g_ptr_array_set_size (builder->stack, builder->stack->len - 1);
}

static void
xml_text (GMarkupParseContext  *context,
          const char           *text,
          gsize                 text_len,
          gpointer              user_data,
          GError              **error)
{
  XmlBuilder *builder = user_data;
  BastionAwsXmlNode *node = g_ptr_array_index (builder->stack, builder->stack->len - 1);

  g_string_append_len (node->text, text, text_len);
}

BastionAwsXmlNode *
bastion_aws_xml_parse (const char  *data,
                       gsize        len,
                       GError     **error)
{
  static const GMarkupParser parser = { xml_start, xml_end, xml_text, NULL, NULL };
  g_autoptr(BastionAwsXmlNode) root = xml_node_new ("");
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  XmlBuilder builder = { stack, 0 };

  /* GMarkup keeps its own stack of open tags on the heap; ours is bounded above. */
  g_ptr_array_add (stack, root);
  context = g_markup_parse_context_new (&parser, G_MARKUP_IGNORE_QUALIFIED, &builder, NULL);
  if (!g_markup_parse_context_parse (context, data, len, error) ||
      !g_markup_parse_context_end_parse (context, error))
    return NULL;

  return g_steal_pointer (&root);
}

BastionAwsXmlNode *
bastion_aws_xml_child (BastionAwsXmlNode *node,
                       const char        *name)
{
  if (node == NULL)
    return NULL;

  for (guint i = 0; i < node->children->len; i++)
    {
      BastionAwsXmlNode *child = g_ptr_array_index (node->children, i);

      if (g_str_equal (child->name, name))
        return child;
    }

  return NULL;
}

BastionAwsXmlNode *
bastion_aws_xml_path (BastionAwsXmlNode *node,
                      const char        *path)
{
  g_auto(GStrv) steps = g_strsplit (path, "/", -1);

  for (guint i = 0; steps[i] != NULL && node != NULL; i++)
    node = bastion_aws_xml_child (node, steps[i]);

  return node;
}

char *
bastion_aws_xml_dup_text (BastionAwsXmlNode *node,
                          const char        *path)
{
  BastionAwsXmlNode *child = bastion_aws_xml_path (node, path);
  g_autofree char *text = NULL;

  if (child == NULL)
    return NULL;
  text = g_strstrip (g_strdup (child->text->str));
  if (text[0] == '\0')
    return NULL;

  return g_steal_pointer (&text);
}
