/* bastion-secrets.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-core-enums.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_SECRET_KIND_DB_PASSWORD,
  BASTION_SECRET_KIND_KEY_PASSPHRASE,
  BASTION_SECRET_KIND_SSH_PASSWORD,
  /* The team's read-only PostgreSQL login (see bastion-readonly-role.h). */
  BASTION_SECRET_KIND_READONLY_PASSWORD,
} BastionSecretKind;

#define BASTION_SECRET_KIND_LAST BASTION_SECRET_KIND_READONLY_PASSWORD

#define BASTION_SECRETS_ERROR (bastion_secrets_error_quark ())

typedef enum
{
  BASTION_SECRETS_ERROR_FAILED = 1,
  BASTION_SECRETS_ERROR_LOCKED,   /* the keyring is locked: unlock it and try again */
  BASTION_SECRETS_ERROR_TIMEOUT,  /* the Secret Service did not answer within 10 s */
} BastionSecretsError;

#define BASTION_SECRETS_SCHEMA_NAME "io.github.bastiongtk.Bastion.Secret"

#define BASTION_TYPE_SECRETS     (bastion_secrets_get_type ())

G_DECLARE_FINAL_TYPE (BastionSecrets, bastion_secrets, BASTION, SECRETS, GObject)

GQuark             bastion_secrets_error_quark            (void);

/* "db-password" / "key-passphrase" / "ssh-password" / "readonly-password". */
const char        *bastion_secret_kind_to_string          (BastionSecretKind    kind);
gboolean           bastion_secret_kind_from_string        (const char          *str,
                                                           BastionSecretKind   *kind);

/* Overwrites and frees a secret returned by bastion_secrets_lookup_finish(). NULL is fine. */
void               bastion_secret_free                    (char                *secret);

/* One per process, so the in-memory fallback is shared. Transfer none. */
BastionSecrets    *bastion_secrets_get_default            (void);
BastionSecrets    *bastion_secrets_new                    (void);

/* TRUE until a call has found no Secret Service; from then on secrets live in this process's
 * memory only (notify::keyring-available tells a UI to say so, once). */
gboolean           bastion_secrets_get_keyring_available  (BastionSecrets      *self);

void               bastion_secrets_store_async            (BastionSecrets      *self,
                                                           const char          *profile_id,
                                                           BastionSecretKind    kind,
                                                           const char          *label,
                                                           const char          *secret,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
gboolean           bastion_secrets_store_finish           (BastionSecrets      *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* The secret (free with bastion_secret_free()), or NULL with no error when none is stored. */
void               bastion_secrets_lookup_async           (BastionSecrets      *self,
                                                           const char          *profile_id,
                                                           BastionSecretKind    kind,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
char              *bastion_secrets_lookup_finish          (BastionSecrets      *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* TRUE on success, whether or not a secret was stored. */
void               bastion_secrets_clear_async            (BastionSecrets      *self,
                                                           const char          *profile_id,
                                                           BastionSecretKind    kind,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
gboolean           bastion_secrets_clear_finish           (BastionSecrets      *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* Every kind of secret of one profile (used when the profile is deleted). */
void               bastion_secrets_clear_profile_async    (BastionSecrets      *self,
                                                           const char          *profile_id,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
gboolean           bastion_secrets_clear_profile_finish   (BastionSecrets      *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);

G_END_DECLS
