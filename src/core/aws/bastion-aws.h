/* bastion-aws.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-aws-credentials.h"

G_BEGIN_DECLS

#define BASTION_AWS_ERROR (bastion_aws_error_quark ())
/* The longest delay between polls of a starting or stopping instance, in ms. */
#define BASTION_AWS_MAX_POLL_INTERVAL 15000

typedef enum
{
  BASTION_AWS_ERROR_NO_CREDENTIALS = 1,  /* nothing in the chain */
  BASTION_AWS_ERROR_UNSUPPORTED,         /* SSO, credential_process, role assumption */
  BASTION_AWS_ERROR_CONFIG,              /* unreadable file, unknown profile, no region */
  BASTION_AWS_ERROR_ACCESS_DENIED,       /* AccessDenied(Exception), UnauthorizedOperation */
  BASTION_AWS_ERROR_EXPIRED_TOKEN,       /* ExpiredToken(Exception), RequestExpired */
  BASTION_AWS_ERROR_INVALID_CREDENTIALS, /* InvalidClientTokenId, AuthFailure, bad signature */
  BASTION_AWS_ERROR_NOT_FOUND,           /* unknown secret, group or instance */
  BASTION_AWS_ERROR_NETWORK,             /* no HTTP reply at all */
  BASTION_AWS_ERROR_INCORRECT_STATE,     /* the instance cannot do that now */
  BASTION_AWS_ERROR_RULE_EXISTS,         /* InvalidPermission.Duplicate */
  BASTION_AWS_ERROR_SERVICE,             /* any other AWS error */
  BASTION_AWS_ERROR_BAD_REPLY,           /* a reply we cannot read */
  BASTION_AWS_ERROR_TIMED_OUT,           /* the instance did not reach the state in time */
} BastionAwsError;

typedef enum
{
  BASTION_AWS_ALLOW_REPLACE = 1,  /* replace the group's old /32 SSH rules with my IP */
  BASTION_AWS_ALLOW_TEMPORARY,    /* add a rule for my IP; the caller removes it later */
} BastionAwsAllowMode;

/* The Secrets Manager secret RDS keeps for the database. password is a secret. */
typedef struct
{
  char  *username;
  char  *password;
  char  *engine;
  char  *host;
  guint  port;                  /* 0 when absent */
  char  *dbname;
  char  *db_instance_identifier;
} BastionAwsSecret;

typedef struct
{
  char *protocol;               /* "tcp", "udp", "-1" (all) … */
  int   from_port;              /* -1 when absent */
  int   to_port;
  char *cidr;                   /* IPv4 CIDR */
  char *description;
} BastionAwsRule;

typedef struct
{
  char      *group_id;
  char      *group_name;
  GPtrArray *rules;             /* BastionAwsRule, inbound only */
} BastionAwsSecurityGroup;

typedef struct
{
  char *instance_id;
  char *name;
  char *state;                  /* "pending", "running", "stopping", "stopped" … */
  char *public_dns;             /* NULL when it has none (stopped, or in a private subnet) */
  char *public_ip;
  char *private_ip;             /* inside its VPC; NULL when stopped long enough */
  char *private_dns;
} BastionAwsInstance;

typedef struct
{
  char     *my_ip;              /* e.g. "198.51.100.7" */
  char     *group_id;
  char     *group_name;
  char    **admitted;           /* the CIDRs the group admits on tcp/22 */
  gboolean  admits_me;
  char    **to_replace;         /* my own Bastion rules for other addresses: what REPLACE revokes */
  char    **expired;            /* my own temporary rules past their expiry: revoked by any op */
} BastionAwsDiagnosis;

#define BASTION_TYPE_AWS_SECRET         (bastion_aws_secret_get_type ())
#define BASTION_TYPE_AWS_SECURITY_GROUP (bastion_aws_security_group_get_type ())
#define BASTION_TYPE_AWS_INSTANCE       (bastion_aws_instance_get_type ())
#define BASTION_TYPE_AWS_DIAGNOSIS      (bastion_aws_diagnosis_get_type ())
#define BASTION_TYPE_AWS                (bastion_aws_get_type ())

G_DECLARE_FINAL_TYPE (BastionAws, bastion_aws, BASTION, AWS, GObject)

GQuark                   bastion_aws_error_quark             (void);

GType                    bastion_aws_secret_get_type         (void) G_GNUC_CONST;
BastionAwsSecret        *bastion_aws_secret_copy             (const BastionAwsSecret *secret);
/* Wipes the password before freeing it. */
void                     bastion_aws_secret_free             (BastionAwsSecret       *secret);
GType                    bastion_aws_security_group_get_type (void) G_GNUC_CONST;
BastionAwsSecurityGroup *bastion_aws_security_group_copy     (const BastionAwsSecurityGroup *group);
void                     bastion_aws_security_group_free     (BastionAwsSecurityGroup *group);
GType                    bastion_aws_instance_get_type       (void) G_GNUC_CONST;
BastionAwsInstance      *bastion_aws_instance_copy           (const BastionAwsInstance *instance);
void                     bastion_aws_instance_free           (BastionAwsInstance     *instance);
GType                    bastion_aws_diagnosis_get_type      (void) G_GNUC_CONST;
BastionAwsDiagnosis     *bastion_aws_diagnosis_copy          (const BastionAwsDiagnosis *diagnosis);
void                     bastion_aws_diagnosis_free          (BastionAwsDiagnosis    *diagnosis);

/* "the bastion admits 203.0.113.45/32, you are 198.51.100.7", translated. */
char                    *bastion_aws_diagnosis_dup_summary   (const BastionAwsDiagnosis *diagnosis);
/* TRUE when the instance runs and has a public DNS name other than known_dns (may be NULL). */
gboolean                 bastion_aws_instance_dns_changed    (const BastionAwsInstance *instance,
                                                              const char             *known_dns);

/* SimpleIOT's names: "<name_prefix>_<stage>_bastion_ssh_sg" and
 * "<name_prefix>_<stage>_db_bastion_host" (stage may be NULL or empty). */
char                    *bastion_aws_security_group_name     (const char             *name_prefix,
                                                              const char             *stage);
char                    *bastion_aws_bastion_instance_name   (const char             *name_prefix,
                                                              const char             *stage);
/* TRUE when the IPv4 address ip lies inside the IPv4 CIDR cidr. */
gboolean                 bastion_aws_cidr_contains           (const char             *cidr,
                                                              const char             *ip);
/* The caller's mark in rule descriptions: "user@host" (characters EC2 refuses replaced). */
char                    *bastion_aws_dup_rule_owner          (void);
/* "bastion:user@host added 2026-11-27", or with expires (Unix time, > 0)
 * "bastion:user@host temporary until 2026-11-27T18:00:00Z". */
char                    *bastion_aws_dup_rule_description    (gint64                  expires);
/* TRUE when description is a Bastion mark; owner ("user@host"), whether it is temporary, and
 * its expiry (Unix time; 0 when it has none). */
gboolean                 bastion_aws_rule_parse_description  (const char             *description,
                                                              char                  **owner,
                                                              gboolean               *temporary,
                                                              gint64                 *expires);
/* FALSE for what a checkip answer must never be: not IPv4, 0.0.0.0/8, 255.255.255.255 (and
 * 240/4), loopback, private, link-local, carrier-grade NAT, multicast. */
gboolean                 bastion_aws_ip_is_public            (const char             *ip);
/* my_ip against group's rules (as bastion_aws_diagnose_async() reports it). */
BastionAwsDiagnosis     *bastion_aws_diagnosis_new           (const char             *my_ip,
                                                              const BastionAwsSecurityGroup *group);

/* profile: the team's aws_profile or NULL (then the environment / AWS_PROFILE / default);
 * region: the team's region or NULL (then AWS_REGION / AWS_DEFAULT_REGION / the profile's).
 * Credentials are read again at each call, so a fixed ~/.aws file is picked up. */
BastionAws              *bastion_aws_new                     (const char             *profile,
                                                              const char             *region);
const char              *bastion_aws_get_profile             (BastionAws             *self);
const char              *bastion_aws_get_region              (BastionAws             *self);
/* First delay between DescribeInstances polls while waiting for a state, in ms (doubles up to
 * 15 s); and how long to wait in all, in seconds. */
guint                    bastion_aws_get_poll_interval       (BastionAws             *self);
void                     bastion_aws_set_poll_interval       (BastionAws             *self,
                                                              guint                   interval);
guint                    bastion_aws_get_wait_timeout        (BastionAws             *self);
void                     bastion_aws_set_wait_timeout        (BastionAws             *self,
                                                              guint                   wait_timeout);
/* The most one AWS reply may take, connecting included, in seconds (default 60; the public-IP
 * lookup at most 30). */
guint                    bastion_aws_get_reply_timeout       (BastionAws             *self);
void                     bastion_aws_set_reply_timeout       (BastionAws             *self,
                                                              guint                   seconds);
/* How long a TEMPORARY rule is valid, in seconds (written into its description; default
 * 12 hours). After that any Bastion of the same user@host removes it. */
guint                    bastion_aws_get_temporary_lifetime  (BastionAws             *self);
void                     bastion_aws_set_temporary_lifetime  (BastionAws             *self,
                                                              guint                   lifetime);
/* The credentials the next call would use (for `bastion-cli check`). */
BastionAwsCredentials   *bastion_aws_dup_credentials         (BastionAws             *self,
                                                              GError                **error);

/* Secrets Manager GetSecretValue; the SecretString's JSON parsed. */
void                     bastion_aws_get_secret_async        (BastionAws             *self,
                                                              const char             *secret_id,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
BastionAwsSecret        *bastion_aws_get_secret_finish       (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* The public IPv4 address, from BASTION_CHECKIP_URL or https://checkip.amazonaws.com. */
void                     bastion_aws_get_public_ip_async     (BastionAws             *self,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
char                    *bastion_aws_get_public_ip_finish    (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* EC2 DescribeSecurityGroups filtered by group-name; NOT_FOUND when there is none. */
void                     bastion_aws_describe_security_group_async  (BastionAws     *self,
                                                                     const char     *group_name,
                                                                     GCancellable   *cancellable,
                                                                     GAsyncReadyCallback callback,
                                                                     gpointer        user_data);
BastionAwsSecurityGroup *bastion_aws_describe_security_group_finish (BastionAws     *self,
                                                                     GAsyncResult   *result,
                                                                     GError        **error);

/* EC2 AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress for tcp/22 from cidr. */
void                     bastion_aws_authorize_ssh_async     (BastionAws             *self,
                                                              const char             *group_id,
                                                              const char             *cidr,
                                                              const char             *description,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
gboolean                 bastion_aws_authorize_ssh_finish    (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);
void                     bastion_aws_revoke_ssh_async        (BastionAws             *self,
                                                              const char             *group_id,
                                                              const char             *cidr,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
gboolean                 bastion_aws_revoke_ssh_finish       (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* EC2 DescribeInstances filtered by tag:Name (terminated instances ignored); NOT_FOUND when
 * there is none. */
void                     bastion_aws_describe_instance_async (BastionAws             *self,
                                                              const char             *name_tag,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
BastionAwsInstance      *bastion_aws_describe_instance_finish (BastionAws            *self,
                                                               GAsyncResult          *result,
                                                               GError               **error);

/* EC2 StartInstances / StopInstances; the result is the instance's new state ("pending"…). */
void                     bastion_aws_start_instance_async    (BastionAws             *self,
                                                              const char             *instance_id,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
char                    *bastion_aws_start_instance_finish   (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);
void                     bastion_aws_stop_instance_async     (BastionAws             *self,
                                                              const char             *instance_id,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
char                    *bastion_aws_stop_instance_finish    (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* My public IP against the group's tcp/22 rules. */
void                     bastion_aws_diagnose_async          (BastionAws             *self,
                                                              const char             *group_name,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
BastionAwsDiagnosis     *bastion_aws_diagnose_finish         (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* Lets my public IP in on tcp/22. REPLACE adds my /32 (if missing) and then revokes my own
 * Bastion rules (marked with my user@host) for other addresses, never a rule without the mark
 * or someone else's; TEMPORARY only adds it, with an expiry (if no rule admits me yet; my own
 * temporary rule for this address, left by a killed run, is taken over). Both also revoke my
 * expired temporary rules. Returns my CIDR; added says whether a rule was added (for TEMPORARY:
 * whether the caller must remove it). */
void                     bastion_aws_allow_my_ip_async       (BastionAws             *self,
                                                              const char             *group_name,
                                                              BastionAwsAllowMode     mode,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
char                    *bastion_aws_allow_my_ip_finish      (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              gboolean               *added,
                                                              GError                **error);
/* The CIDRs the finished allow_my_ip call revoked (or found already gone). */
char                   **bastion_aws_allow_my_ip_dup_removed (GAsyncResult           *result);
/* Revokes my own temporary rules whose expiry has passed; returns their CIDRs (maybe none). */
void                     bastion_aws_remove_expired_rules_async  (BastionAws          *self,
                                                                  const char          *group_name,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
char                   **bastion_aws_remove_expired_rules_finish (BastionAws          *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);
/* Removes the tcp/22 rule for cidr (a temporary rule) from the named group. */
void                     bastion_aws_remove_rule_async       (BastionAws             *self,
                                                              const char             *group_name,
                                                              const char             *cidr,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
gboolean                 bastion_aws_remove_rule_finish      (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

/* The bastion instance by Name tag: start it if stopped and wait (polling with backoff, at most
 * the wait timeout) until it runs, with or without a public DNS name (a bastion in a private
 * subnet has none: then private_ip says where it is); or stop it (waiting until stopped when
 * wait is TRUE). */
void                     bastion_aws_start_bastion_async     (BastionAws             *self,
                                                              const char             *name_tag,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
BastionAwsInstance      *bastion_aws_start_bastion_finish    (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);
void                     bastion_aws_stop_bastion_async      (BastionAws             *self,
                                                              const char             *name_tag,
                                                              gboolean                wait,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
BastionAwsInstance      *bastion_aws_stop_bastion_finish     (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsSecret, bastion_aws_secret_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsSecurityGroup, bastion_aws_security_group_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsInstance, bastion_aws_instance_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsDiagnosis, bastion_aws_diagnosis_free)

/* Systems Manager's JSON protocol (X-Amz-Target AmazonSSM.ACTION), signed with SigV4 for
 * service "ssm"; RESOURCE names the target in error messages. The reply body, unparsed. */
void                     bastion_aws_ssm_call_async          (BastionAws             *self,
                                                              const char             *action,
                                                              const char             *resource,
                                                              const char             *body,
                                                              GCancellable           *cancellable,
                                                              GAsyncReadyCallback     callback,
                                                              gpointer                user_data);
GBytes                  *bastion_aws_ssm_call_finish         (BastionAws             *self,
                                                              GAsyncResult           *result,
                                                              GError                **error);

G_END_DECLS
