/* bastion-aws-credentials.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BASTION_TYPE_AWS_CREDENTIALS (bastion_aws_credentials_get_type ())

/* Resolved AWS credentials. secret_access_key and session_token are secrets: never log them. */
typedef struct
{
  char *profile;            /* the profile used, NULL when they came from the environment */
  char *source;             /* where they came from, for messages ("environment", a file path) */
  char *access_key_id;
  char *secret_access_key;
  char *session_token;      /* NULL unless temporary credentials */
  char *region;
  char *endpoint_url;       /* the profile's endpoint_url, if any */
} BastionAwsCredentials;

GType                  bastion_aws_credentials_get_type (void) G_GNUC_CONST;
BastionAwsCredentials *bastion_aws_credentials_copy     (const BastionAwsCredentials  *self);
/* Wipes the secrets before freeing them. */
void                   bastion_aws_credentials_free     (BastionAwsCredentials        *self);

/* The standard AWS chain, read from the files and environment as they are now:
 *  - profile given (the team's aws_profile): that profile from the shared files;
 *  - else AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when set;
 *  - else AWS_PROFILE, else "default", from the shared files.
 * Shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) "[NAME]" sections, and
 * AWS_CONFIG_FILE (~/.aws/config) "[profile NAME]" / "[default]" sections.
 * Region: region if given, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
 * Errors are BASTION_AWS_ERROR: NO_CREDENTIALS, UNSUPPORTED (SSO, credential_process, role
 * assumption), CONFIG (unreadable file, missing profile, no region). */
BastionAwsCredentials *bastion_aws_credentials_load     (const char                   *profile,
                                                         const char                   *region,
                                                         GError                      **error);

/* The same, with the files read in a GTask thread (the environment is read on the calling
 * thread); finish on the thread that started it. */
void                   bastion_aws_credentials_load_async  (const char           *profile,
                                                            const char           *region,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
BastionAwsCredentials *bastion_aws_credentials_load_finish (GAsyncResult         *result,
                                                            GError              **error);

/* The tolerant INI reader used for the AWS files (GKeyFile refuses some of what aws writes: ";"
 * comments, indented sub-settings, keys without values). Returns section name → (key → value),
 * keys lower-cased, later values winning. Never fails: lines it cannot read are skipped. */
GHashTable            *bastion_aws_ini_parse            (const char                   *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionAwsCredentials, bastion_aws_credentials_free)

G_END_DECLS
