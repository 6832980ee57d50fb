/* bastion-aws-rules.c
 *
 * The bastion's security group: which SSH rules are Bastion's and whose, letting my public IP
 * in, and taking away only what the caller itself added (issue 17).
 *
 * Every rule Bastion adds is described "bastion:<user>@<host> …"; a temporary one also carries
 * "temporary until <UTC time>". Replacing an old address revokes only rules with the caller's
 * own mark; rules without a mark, and other people's, are never touched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-aws.h"

#define SSH_PORT         22
#define RULE_MARK        "bastion:"
#define LEGACY_MARK      "Bastion: "
#define LEGACY_TEMPORARY "Bastion (temporary): "
#define UNTIL            " temporary until "

/* What EC2 accepts in a rule description (a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*) without the space,
 * which separates the owner from the rest. */
static const char owner_chars[] =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/()#,@[]+=&;{}!$*";

/* ---------------------------------------------------------------------------------------------
 * Marks
 */

char *
bastion_aws_dup_rule_owner (void)
{
  char *owner = g_strdup_printf ("%s@%s", g_get_user_name (), g_get_host_name ());

  g_strcanon (owner, owner_chars, '_');
  /* Room for the mark and an expiry within EC2's 255 characters. */
  if (strlen (owner) > 180)
    owner[180] = '\0';

  return owner;
}

char *
bastion_aws_dup_rule_description (gint64 expires)
{
  g_autofree char *owner = bastion_aws_dup_rule_owner ();
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *text = NULL;

  if (expires <= 0)
    {
      when = g_date_time_new_now_utc ();
      text = g_date_time_format (when, "%Y-%m-%d");
      /* Who and when, so an admin looking at the console knows where the rule came from. */
      return g_strdup_printf (RULE_MARK "%s added %s", owner, text);
    }

  when = g_date_time_new_from_unix_utc (expires);
  text = g_date_time_format (when, "%Y-%m-%dT%H:%M:%SZ");

  return g_strdup_printf (RULE_MARK "%s" UNTIL "%s", owner, text);
}

gboolean
bastion_aws_rule_parse_description (const char  *description,
                                    char       **owner,
                                    gboolean    *temporary,
                                    gint64      *expires)
{
  const char *rest;
  const char *space;
  const char *until;

  if (owner != NULL)
    *owner = NULL;
  if (temporary != NULL)
    *temporary = FALSE;
  if (expires != NULL)
    *expires = 0;
  if (description == NULL)
    return FALSE;

  /* Rules of Bastion 0.x ("Bastion: user@host date") are Bastion's too; their temporary kind
   * has no expiry, so it never counts as expired. */
  if (g_str_has_prefix (description, RULE_MARK))
    rest = description + strlen (RULE_MARK);
  else if (g_str_has_prefix (description, LEGACY_MARK))
    rest = description + strlen (LEGACY_MARK);
  else if (g_str_has_prefix (description, LEGACY_TEMPORARY))
    {
      rest = description + strlen (LEGACY_TEMPORARY);
      if (temporary != NULL)
        *temporary = TRUE;
    }
  else
    return FALSE;

  space = strchr (rest, ' ');
  if (space == rest || rest[0] == '\0')
    return FALSE;
  if (owner != NULL)
    *owner = space != NULL ? g_strndup (rest, space - rest) : g_strdup (rest);

  until = space != NULL && g_str_has_prefix (description, RULE_MARK)
          ? strstr (space, UNTIL) : NULL;
  if (until != NULL)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_iso8601 (until + strlen (UNTIL), NULL);

      if (temporary != NULL)
        *temporary = TRUE;
      /* An unreadable expiry is treated as already past: it is ours and temporary. */
      if (expires != NULL)
        *expires = when != NULL ? MAX (g_date_time_to_unix (when), 1) : 1;
    }

  return TRUE;
}

typedef enum
{
  RULE_OTHER,          /* no mark, or someone else's */
  RULE_MINE,           /* the caller's, permanent */
  RULE_MINE_TEMPORARY, /* the caller's, temporary and not yet expired (or no expiry) */
  RULE_MINE_EXPIRED,   /* the caller's, temporary and expired */
} RuleKind;

static RuleKind
rule_kind (const BastionAwsRule *rule,
           const char           *me,
           gint64                now)
{
  g_autofree char *owner = NULL;
  gboolean temporary;
  gint64 expires;

  if (!bastion_aws_rule_parse_description (rule->description, &owner, &temporary, &expires) ||
      g_strcmp0 (owner, me) != 0)
    return RULE_OTHER;
  if (!temporary)
    return RULE_MINE;
  if (expires != 0 && expires <= now)
    return RULE_MINE_EXPIRED;

  return RULE_MINE_TEMPORARY;
}

/* Exactly tcp/22: the only rules Bastion adds, so the only ones it may take away. */
static gboolean
rule_is_exact_ssh (const BastionAwsRule *rule)
{
  return g_strcmp0 (rule->protocol, "tcp") == 0 &&
         rule->from_port == SSH_PORT && rule->to_port == SSH_PORT;
}

static gboolean
rule_is_ssh (const BastionAwsRule *rule)
{
  if (g_strcmp0 (rule->protocol, "-1") == 0)
    return TRUE;

  return g_strcmp0 (rule->protocol, "tcp") == 0 &&
         rule->from_port <= SSH_PORT && rule->to_port >= SSH_PORT;
}

/* ---------------------------------------------------------------------------------------------
 * The public-IP answer is hostile input
 */

static gboolean
ipv4_in (guint32     addr,
         const char *net,
         guint       bits)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (net);
  const guint8 *b = g_inet_address_to_bytes (address);
  guint32 base = ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
  guint32 mask = bits == 0 ? 0 : G_MAXUINT32 << (32 - bits);

  return (addr & mask) == (base & mask);
}

gboolean
bastion_aws_ip_is_public (const char *ip)
{
  /* Addresses no checkip service can truthfully answer: a rule for one of them would open the
   * bastion to the wrong network (or to nobody) and replace the caller's working rule. */
  static const struct { const char *net; guint bits; } refused[] = {
    { "0.0.0.0", 8 },        /* "this network", 0.0.0.0 */
    { "10.0.0.0", 8 },       /* private */
    { "100.64.0.0", 10 },    /* carrier-grade NAT */
    { "127.0.0.0", 8 },      /* loopback */
    { "169.254.0.0", 16 },   /* link-local */
    { "172.16.0.0", 12 },    /* private */
    { "192.168.0.0", 16 },   /* private */
    { "224.0.0.0", 4 },      /* multicast */
    { "240.0.0.0", 4 },      /* reserved, and 255.255.255.255 */
  };
  g_autoptr(GInetAddress) address = NULL;
  const guint8 *b;
  guint32 addr;

  if (ip == NULL || strlen (ip) > 15)
    return FALSE;
  address = g_inet_address_new_from_string (ip);
  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return FALSE;
  b = g_inet_address_to_bytes (address);
  addr = ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    if (ipv4_in (addr, refused[i].net, refused[i].bits))
      return FALSE;

  return TRUE;
}

/* ---------------------------------------------------------------------------------------------
 * My IP against the security group
 */

typedef struct
{
  char                    *group_name;
  BastionAwsAllowMode      mode;
  char                    *my_ip;
  char                    *my_cidr;
  BastionAwsSecurityGroup *group;
  GPtrArray               *to_revoke;  /* CIDRs, in order */
  GPtrArray               *removed;    /* CIDRs revoked (or already gone) */
  gboolean                 added;
} IpOp;

static void
ip_op_free (IpOp *op)
{
  g_free (op->group_name);
  g_free (op->my_ip);
  g_free (op->my_cidr);
  g_clear_pointer (&op->group, bastion_aws_security_group_free);
  g_clear_pointer (&op->to_revoke, g_ptr_array_unref);
  g_clear_pointer (&op->removed, g_ptr_array_unref);
  g_free (op);
}

static char **
strv_from_array (GPtrArray *array)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; array != NULL && i < array->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (array, i));

  return g_strv_builder_end (builder);
}

BastionAwsDiagnosis *
bastion_aws_diagnosis_new (const char                    *my_ip,
                           const BastionAwsSecurityGroup *group)
{
  BastionAwsDiagnosis *diagnosis = g_new0 (BastionAwsDiagnosis, 1);
  g_autoptr(GStrvBuilder) admitted = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) mine = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) expired = g_strv_builder_new ();
  g_autofree char *me = bastion_aws_dup_rule_owner ();
  g_autofree char *my_cidr = g_strdup_printf ("%s/32", my_ip);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  diagnosis->my_ip = g_strdup (my_ip);
  diagnosis->group_id = g_strdup (group->group_id);
  diagnosis->group_name = g_strdup (group->group_name);
  for (guint i = 0; i < group->rules->len; i++)
    {
      BastionAwsRule *rule = g_ptr_array_index (group->rules, i);
      RuleKind kind;

      if (!rule_is_ssh (rule))
        continue;
      kind = rule_is_exact_ssh (rule) ? rule_kind (rule, me, now) : RULE_OTHER;
      if (kind == RULE_MINE_EXPIRED)
        {
          /* Going anyway: it does not count as a way in. */
          g_strv_builder_add (expired, rule->cidr);
          continue;
        }
      g_strv_builder_add (admitted, rule->cidr);
      if (bastion_aws_cidr_contains (rule->cidr, my_ip))
        diagnosis->admits_me = TRUE;
      if (kind == RULE_MINE && !g_str_equal (rule->cidr, my_cidr))
        g_strv_builder_add (mine, rule->cidr);
    }
  diagnosis->admitted = g_strv_builder_end (admitted);
  diagnosis->to_replace = g_strv_builder_end (mine);
  diagnosis->expired = g_strv_builder_end (expired);

  return diagnosis;
}

static void ip_op_after_group (GTask *task);

static void
on_ip_op_group (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IpOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  op->group = bastion_aws_describe_security_group_finish (BASTION_AWS (object), result, &error);
  if (op->group == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ip_op_after_group (g_steal_pointer (&task));
}

static void
on_ip_op_public_ip (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IpOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;

  op->my_ip = bastion_aws_get_public_ip_finish (BASTION_AWS (object), result, &error);
  if (op->my_ip == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  op->my_cidr = g_strdup_printf ("%s/32", op->my_ip);

  cancellable = g_task_get_cancellable (task);
  bastion_aws_describe_security_group_async (BASTION_AWS (object), op->group_name, cancellable,
                                             on_ip_op_group, g_steal_pointer (&task));
}

static GTask *
ip_op_new (BastionAws          *self,
           const char          *group_name,
           BastionAwsAllowMode  mode,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data,
           gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  IpOp *op = g_new0 (IpOp, 1);

  g_task_set_source_tag (task, source_tag);
  op->group_name = g_strdup (group_name);
  op->mode = mode;
  op->to_revoke = g_ptr_array_new_with_free_func (g_free);
  op->removed = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, op, (GDestroyNotify) ip_op_free);

  return task;
}

void
bastion_aws_diagnose_async (BastionAws          *self,
                            const char          *group_name,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_name != NULL);

  task = ip_op_new (self, group_name, 0, cancellable, callback, user_data,
                    bastion_aws_diagnose_async);
  bastion_aws_get_public_ip_async (self, cancellable, on_ip_op_public_ip, task);
}

BastionAwsDiagnosis *
bastion_aws_diagnose_finish (BastionAws    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void ip_op_revoke_next (GTask *task);

static void
on_ip_op_revoked (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IpOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *cidr = g_ptr_array_steal_index (op->to_revoke, 0);

  /* Already gone (someone else removed it) is what we wanted. */
  if (!bastion_aws_revoke_ssh_finish (BASTION_AWS (object), result, &error) &&
      !g_error_matches (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_ptr_array_add (op->removed, g_steal_pointer (&cidr));

  ip_op_revoke_next (g_steal_pointer (&task));
}

/* Revokes op->to_revoke one by one, then returns: my CIDR (allow), or the removed CIDRs
 * (remove-expired). Takes TASK_IN over. */
static void
ip_op_revoke_next (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  IpOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  const char *cidr;

  if (op->to_revoke->len == 0)
    {
      if (g_task_get_source_tag (task) == bastion_aws_remove_expired_rules_async)
        g_task_return_pointer (task, strv_from_array (op->removed), (GDestroyNotify) g_strfreev);
      else
        g_task_return_pointer (task, g_strdup (op->my_cidr), g_free);
      return;
    }

  cidr = g_ptr_array_index (op->to_revoke, 0);
  g_debug ("Revoking the SSH rule for %s", cidr);
  bastion_aws_revoke_ssh_async (self, op->group->group_id, cidr, cancellable, on_ip_op_revoked,
                                g_steal_pointer (&task));
}

static void
on_ip_op_authorized (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  IpOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (bastion_aws_authorize_ssh_finish (BASTION_AWS (object), result, &error))
    op->added = TRUE;
  else if (!g_error_matches (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_RULE_EXISTS))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ip_op_revoke_next (g_steal_pointer (&task));
}

/* Sorts the group's exact tcp/22 rules: the caller's expired temporary ones always go; with
 * REPLACE, the caller's own permanent rules for another address go too. Returns the kind of the
 * rule for my address, or -1 when there is none. */
static int
ip_op_plan (IpOp *op)
{
  g_autofree char *me = bastion_aws_dup_rule_owner ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  int exact = -1;

  for (guint i = 0; i < op->group->rules->len; i++)
    {
      BastionAwsRule *rule = g_ptr_array_index (op->group->rules, i);
      RuleKind kind;

      if (!rule_is_exact_ssh (rule))
        continue;
      kind = rule_kind (rule, me, now);
      if (kind == RULE_MINE_EXPIRED)
        g_ptr_array_add (op->to_revoke, g_strdup (rule->cidr));
      else if (op->my_cidr != NULL && g_str_equal (rule->cidr, op->my_cidr))
        exact = kind;
      else if (kind == RULE_MINE && op->mode == BASTION_AWS_ALLOW_REPLACE)
        g_ptr_array_add (op->to_revoke, g_strdup (rule->cidr));
    }

  return exact;
}

/* Takes TASK_IN over. */
static void
ip_op_authorize (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  IpOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autofree char *description = NULL;
  gint64 expires = 0;

  if (op->mode == BASTION_AWS_ALLOW_TEMPORARY)
    expires = g_get_real_time () / G_USEC_PER_SEC + bastion_aws_get_temporary_lifetime (self);
  description = bastion_aws_dup_rule_description (expires);
  g_debug ("Authorizing SSH from %s (%s)", op->my_cidr, description);
  bastion_aws_authorize_ssh_async (self, op->group->group_id, op->my_cidr, description,
                                   cancellable, on_ip_op_authorized, g_steal_pointer (&task));
}

static void
on_ip_op_temporary_revoked (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_aws_revoke_ssh_finish (BASTION_AWS (object), result, &error) &&
      !g_error_matches (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ip_op_authorize (g_steal_pointer (&task));
}

/* Takes TASK_IN over. */
static void
ip_op_after_group (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  IpOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(BastionAwsDiagnosis) diagnosis = NULL;
  int exact;

  if (g_task_get_source_tag (task) == bastion_aws_diagnose_async)
    {
      g_task_return_pointer (task, bastion_aws_diagnosis_new (op->my_ip, op->group),
                             (GDestroyNotify) bastion_aws_diagnosis_free);
      return;
    }

  exact = ip_op_plan (op);
  if (g_task_get_source_tag (task) == bastion_aws_remove_expired_rules_async)
    {
      ip_op_revoke_next (g_steal_pointer (&task));
      return;
    }

  diagnosis = bastion_aws_diagnosis_new (op->my_ip, op->group);
  if (op->mode == BASTION_AWS_ALLOW_TEMPORARY && exact == RULE_MINE_TEMPORARY)
    {
      /* My own temporary rule for this address, left by a run that was killed: this run takes
       * it over and removes it when it ends, instead of calling it "already allowed". */
      g_debug ("Taking over my temporary rule for %s", op->my_cidr);
      op->added = TRUE;
      ip_op_revoke_next (g_steal_pointer (&task));
      return;
    }
  if (op->mode == BASTION_AWS_ALLOW_REPLACE && exact == RULE_MINE_TEMPORARY)
    {
      /* My temporary rule for this address would go at its expiry: it becomes permanent (EC2
       * has one rule per address and port, so it is revoked and added again). */
      g_debug ("Making my temporary rule for %s permanent", op->my_cidr);
      bastion_aws_revoke_ssh_async (self, op->group->group_id, op->my_cidr, cancellable,
                                    on_ip_op_temporary_revoked, g_steal_pointer (&task));
      return;
    }
  if ((op->mode == BASTION_AWS_ALLOW_TEMPORARY && diagnosis->admits_me) || exact != -1)
    {
      g_debug ("The security group already admits %s", op->my_ip);
      ip_op_revoke_next (g_steal_pointer (&task));
      return;
    }

  /* Added before the old rules go, so there is no moment without a way in. */
  ip_op_authorize (g_steal_pointer (&task));
}

void
bastion_aws_allow_my_ip_async (BastionAws          *self,
                               const char          *group_name,
                               BastionAwsAllowMode  mode,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_name != NULL);
  g_return_if_fail (mode == BASTION_AWS_ALLOW_REPLACE || mode == BASTION_AWS_ALLOW_TEMPORARY);

  task = ip_op_new (self, group_name, mode, cancellable, callback, user_data,
                    bastion_aws_allow_my_ip_async);
  bastion_aws_get_public_ip_async (self, cancellable, on_ip_op_public_ip, task);
}

char *
bastion_aws_allow_my_ip_finish (BastionAws    *self,
                                GAsyncResult  *result,
                                gboolean      *added,
                                GError       **error)
{
  char *cidr;

  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  cidr = g_task_propagate_pointer (G_TASK (result), error);
  if (added != NULL)
    *added = cidr != NULL && ((IpOp *) g_task_get_task_data (G_TASK (result)))->added;

  return cidr;
}

char **
bastion_aws_allow_my_ip_dup_removed (GAsyncResult *result)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_aws_allow_my_ip_async,
                        NULL);

  return strv_from_array (((IpOp *) g_task_get_task_data (G_TASK (result)))->removed);
}

void
bastion_aws_remove_expired_rules_async (BastionAws          *self,
                                        const char          *group_name,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_name != NULL);

  /* No public IP needed: expired rules go whatever address they name. */
  task = ip_op_new (self, group_name, 0, cancellable, callback, user_data,
                    bastion_aws_remove_expired_rules_async);
  bastion_aws_describe_security_group_async (self, group_name, cancellable, on_ip_op_group,
                                             task);
}

char **
bastion_aws_remove_expired_rules_finish (BastionAws    *self,
                                         GAsyncResult  *result,
                                         GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  char *group_name;
  char *cidr;
} RemoveOp;

static void
remove_op_free (RemoveOp *op)
{
  g_free (op->group_name);
  g_free (op->cidr);
  g_free (op);
}

static void
on_remove_revoked (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!bastion_aws_revoke_ssh_finish (BASTION_AWS (object), result, &error) &&
      !g_error_matches (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NOT_FOUND))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_remove_group (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RemoveOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionAwsSecurityGroup) group = NULL;
  GCancellable *cancellable;

  group = bastion_aws_describe_security_group_finish (BASTION_AWS (object), result, &error);
  if (group == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  cancellable = g_task_get_cancellable (task);
  bastion_aws_revoke_ssh_async (BASTION_AWS (object), group->group_id, op->cidr, cancellable,
                                on_remove_revoked, g_steal_pointer (&task));
}

void
bastion_aws_remove_rule_async (BastionAws          *self,
                               const char          *group_name,
                               const char          *cidr,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  RemoveOp *op;

  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (group_name != NULL);
  g_return_if_fail (cidr != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_aws_remove_rule_async);
  op = g_new0 (RemoveOp, 1);
  op->group_name = g_strdup (group_name);
  op->cidr = g_strdup (cidr);
  g_task_set_task_data (task, op, (GDestroyNotify) remove_op_free);

  bastion_aws_describe_security_group_async (self, group_name, cancellable, on_remove_group,
                                             task);
}

gboolean
bastion_aws_remove_rule_finish (BastionAws    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
