/* bastion-secrets.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <libsecret/secret.h>

#include "bastion-secrets.h"
#include "bastion-secure.h"

struct _BastionSecrets
{
  GObject     parent_instance;

  /* Owned */
  GHashTable *memory;   /* "profile\nkind" -> secret, used without a Secret Service */

  guint       keyring_available : 1;
};

enum {
  PROP_0,
  PROP_KEYRING_AVAILABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionSecrets, bastion_secrets, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-secrets-error-quark, bastion_secrets_error)

typedef enum
{
  OP_STORE,
  OP_LOOKUP,
  OP_CLEAR,
  OP_CLEAR_PROFILE,
} Op;

typedef struct
{
  Op                 op;
  char              *profile_id;
  BastionSecretKind  kind;
  char              *label;
  char              *secret;
  GError            *keyring_error;   /* while asking whether the keyring is locked */
  /* Every D-Bus call of a request is bounded: a bus that accepts and never answers ends in
   * DBUS_TIMEOUT_S with an error, never a hang. */
  GCancellable      *cancellable;     /* ours, cancelled by the caller's or the timeout */
  GCancellable      *caller_cancellable;
  gulong             caller_handler;
  guint              timeout_id;
  GTask             *task;            /* unowned: the task owns the request */
  guint              timed_out : 1;
} Request;

#define DBUS_TIMEOUT_S 10

static void
request_free (Request *request)
{
  g_clear_handle_id (&request->timeout_id, g_source_remove);
  if (request->caller_cancellable != NULL)
    g_cancellable_disconnect (request->caller_cancellable, request->caller_handler);
  g_clear_object (&request->caller_cancellable);
  g_clear_object (&request->cancellable);
  g_clear_error (&request->keyring_error);
  g_free (request->profile_id);
  g_free (request->label);
  bastion_secret_free (request->secret);
  g_free (request);
}

const char *
bastion_secret_kind_to_string (BastionSecretKind kind)
{
  switch (kind)
    {
    case BASTION_SECRET_KIND_DB_PASSWORD:
      return "db-password";
    case BASTION_SECRET_KIND_KEY_PASSPHRASE:
      return "key-passphrase";
    case BASTION_SECRET_KIND_SSH_PASSWORD:
      return "ssh-password";
    case BASTION_SECRET_KIND_READONLY_PASSWORD:
      return "readonly-password";
    default:
      return NULL;
    }
}

gboolean
bastion_secret_kind_from_string (const char        *str,
                                 BastionSecretKind *kind)
{
  for (guint i = BASTION_SECRET_KIND_DB_PASSWORD; i <= BASTION_SECRET_KIND_LAST; i++)
    {
      if (g_strcmp0 (str, bastion_secret_kind_to_string (i)) == 0)
        {
          if (kind)
            *kind = i;
          return TRUE;
        }
    }

  return FALSE;
}

void
bastion_secret_free (char *secret)
{
  bastion_secure_str_free (secret);
}

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    BASTION_SECRETS_SCHEMA_NAME, SECRET_SCHEMA_NONE,
    {
      { "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

static void
bastion_secrets_finalize (GObject *object)
{
  BastionSecrets *self = (BastionSecrets *)object;

  g_clear_pointer (&self->memory, g_hash_table_unref);

  G_OBJECT_CLASS (bastion_secrets_parent_class)->finalize (object);
}

static void
bastion_secrets_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  BastionSecrets *self = BASTION_SECRETS (object);

  switch (prop_id)
    {
    case PROP_KEYRING_AVAILABLE:
      g_value_set_boolean (value, self->keyring_available);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_secrets_class_init (BastionSecretsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_secrets_finalize;
  object_class->get_property = bastion_secrets_get_property;

  properties[PROP_KEYRING_AVAILABLE] =
    g_param_spec_boolean ("keyring-available", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_secrets_init (BastionSecrets *self)
{
  self->keyring_available = TRUE;
  self->memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) bastion_secret_free);
}

BastionSecrets *
bastion_secrets_new (void)
{
  return g_object_new (BASTION_TYPE_SECRETS, NULL);
}

BastionSecrets *
bastion_secrets_get_default (void)
{
  static BastionSecrets *instance;

  if (g_once_init_enter (&instance))
    g_once_init_leave (&instance, bastion_secrets_new ());

  return instance;
}

gboolean
bastion_secrets_get_keyring_available (BastionSecrets *self)
{
  g_return_val_if_fail (BASTION_IS_SECRETS (self), FALSE);

  return self->keyring_available;
}

static char *
memory_key (const char        *profile_id,
            BastionSecretKind  kind)
{
  return g_strconcat (profile_id, "\n", bastion_secret_kind_to_string (kind), NULL);
}

/* Without a Secret Service the same operations run on this process's memory. */
static void
run_in_memory (BastionSecrets *self,
               GTask          *task,
               Request        *request)
{
  g_autofree char *key = NULL;

  switch (request->op)
    {
    case OP_STORE:
      key = memory_key (request->profile_id, request->kind);
      g_hash_table_replace (self->memory, g_steal_pointer (&key), g_strdup (request->secret));
      g_task_return_boolean (task, TRUE);
      break;

    case OP_LOOKUP:
      key = memory_key (request->profile_id, request->kind);
      g_task_return_pointer (task, g_strdup (g_hash_table_lookup (self->memory, key)),
                             (GDestroyNotify) bastion_secret_free);
      break;

    case OP_CLEAR:
      key = memory_key (request->profile_id, request->kind);
      g_hash_table_remove (self->memory, key);
      g_task_return_boolean (task, TRUE);
      break;

    case OP_CLEAR_PROFILE:
      for (guint i = BASTION_SECRET_KIND_DB_PASSWORD; i <= BASTION_SECRET_KIND_LAST; i++)
        {
          g_autofree char *k = memory_key (request->profile_id, i);

          g_hash_table_remove (self->memory, k);
        }
      g_task_return_boolean (task, TRUE);
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
fall_back (BastionSecrets *self,
           GTask          *task,
           Request        *request,
           const GError   *error)
{
  if (self->keyring_available)
    {
      /* The reason only, never the secret. */
      g_debug ("No Secret Service (%s); keeping secrets in memory only", error->message);
      self->keyring_available = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEYRING_AVAILABLE]);
    }

  run_in_memory (self, task, request);
}

/* TRUE when the request ran out of time: the task has returned its error already, and a late
 * answer of libsecret is for nobody. */
static gboolean
return_if_timed_out (GTask *task)
{
  Request *request = g_task_get_task_data (task);

  return request->timed_out;
}

static gboolean
on_request_timeout (gpointer user_data)
{
  Request *request = user_data;

  request->timeout_id = 0;
  request->timed_out = TRUE;
  /* Answered now, not when (or if) libsecret gives up on the cancelled call. */
  g_task_return_new_error (request->task, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_TIMEOUT,
                           _("The keyring (the Secret Service on the session bus) did not "
                             "answer within %u s; check that gnome-keyring-daemon (or another "
                             "keyring) is running, or log out and in again"),
                           DBUS_TIMEOUT_S);
  g_cancellable_cancel (request->cancellable);

  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller,
                     gpointer      user_data)
{
  GCancellable *ours = user_data;

  g_cancellable_cancel (ours);
}

static void
on_default_collection (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSecrets *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(SecretCollection) collection = NULL;
  g_autoptr(GError) error = NULL;

  collection = secret_collection_for_alias_finish (result, &error);
  if (return_if_timed_out (task) || g_task_return_error_if_cancelled (task))
    return;
  if (collection != NULL && secret_collection_get_locked (collection))
    {
      g_autofree char *label = secret_collection_get_label (collection);

      g_task_return_new_error (task, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_LOCKED,
                               _("The keyring “%s” is locked, so Bastion can neither read nor "
                                 "store its secrets; unlock it (log in again, or open Passwords "
                                 "and Keys) and try again"),
                               label != NULL && label[0] != '\0' ? label : "default");
      return;
    }

  /* Not locked: the first outcome stands. */
  if (request->keyring_error != NULL)
    fall_back (self, task, request, request->keyring_error);
  else
    g_task_return_pointer (task, NULL, NULL);
}

/* A locked keyring hides its items (a lookup finds nothing) and refuses new ones unless a
 * prompt unlocks it, which fails without a desktop: both would be reported as "nothing stored"
 * or "no keyring". Ask the default collection first, so the user is told to unlock it. */
static void
check_locked (GTask  *task,
              GError *error)
{
  Request *request = g_task_get_task_data (task);

  request->keyring_error = error;
  secret_collection_for_alias (NULL, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE,
                               request->cancellable, on_default_collection, task);
}

static void
on_keyring_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSecrets *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  char *secret = NULL;

  switch (request->op)
    {
    case OP_STORE:
      secret_password_store_finish (result, &error);
      break;

    case OP_LOOKUP:
      secret = secret_password_lookup_finish (result, &error);
      break;

    case OP_CLEAR:
    case OP_CLEAR_PROFILE:
      secret_password_clear_finish (result, &error);
      break;

    default:
      g_assert_not_reached ();
    }

  if (return_if_timed_out (task))
    {
      if (secret != NULL)
        secret_password_free (secret);
      return;
    }

  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (request->op == OP_STORE || request->op == OP_LOOKUP)
        check_locked (g_steal_pointer (&task), g_steal_pointer (&error));
      else
        fall_back (self, task, request, error);
      return;
    }

  if (request->op == OP_LOOKUP && secret == NULL)
    {
      check_locked (g_steal_pointer (&task), NULL);
      return;
    }

  g_debug ("Secret Service: %s of %s for profile %s done",
           request->op == OP_STORE ? "store" : request->op == OP_LOOKUP ? "lookup" : "clear",
           request->op == OP_CLEAR_PROFILE ? "all secrets"
                                           : bastion_secret_kind_to_string (request->kind),
           request->profile_id);

  if (request->op == OP_LOOKUP)
    {
      char *copy = g_strdup (secret);

      secret_password_free (secret);
      g_task_return_pointer (task, copy, (GDestroyNotify) bastion_secret_free);
    }
  else
    g_task_return_boolean (task, TRUE);
}

static void
start (BastionSecrets      *self,
       Request             *request,
       gpointer             source_tag,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  if (!self->keyring_available)
    {
      run_in_memory (self, task, request);
      return;
    }

  request->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      request->caller_cancellable = g_object_ref (cancellable);
      request->caller_handler = g_cancellable_connect (cancellable,
                                                       G_CALLBACK (on_caller_cancelled),
                                                       request->cancellable, NULL);
    }
  request->task = task;
  request->timeout_id = g_timeout_add_seconds (DBUS_TIMEOUT_S, on_request_timeout, request);
  cancellable = request->cancellable;

  attributes = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (attributes, (gpointer) "profile", request->profile_id);
  if (request->op != OP_CLEAR_PROFILE)
    g_hash_table_insert (attributes, (gpointer) "kind",
                         (gpointer) bastion_secret_kind_to_string (request->kind));

  switch (request->op)
    {
    case OP_STORE:
      secret_password_storev (get_schema (), attributes, SECRET_COLLECTION_DEFAULT,
                              request->label, request->secret, cancellable,
                              on_keyring_done, g_steal_pointer (&task));
      break;

    case OP_LOOKUP:
      secret_password_lookupv (get_schema (), attributes, cancellable,
                               on_keyring_done, g_steal_pointer (&task));
      break;

    case OP_CLEAR:
    case OP_CLEAR_PROFILE:
      secret_password_clearv (get_schema (), attributes, cancellable,
                              on_keyring_done, g_steal_pointer (&task));
      break;

    default:
      g_assert_not_reached ();
    }
}

static Request *
request_new (Op                 op,
             const char        *profile_id,
             BastionSecretKind  kind)
{
  Request *request = g_new0 (Request, 1);

  request->op = op;
  request->profile_id = g_strdup (profile_id);
  request->kind = kind;

  return request;
}

void
bastion_secrets_store_async (BastionSecrets      *self,
                             const char          *profile_id,
                             BastionSecretKind    kind,
                             const char          *label,
                             const char          *secret,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Request *request;

  g_return_if_fail (BASTION_IS_SECRETS (self));
  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (secret != NULL);
  g_return_if_fail (bastion_secret_kind_to_string (kind) != NULL);

  request = request_new (OP_STORE, profile_id, kind);
  request->secret = g_strdup (secret);
  if (label != NULL)
    request->label = g_strdup (label);
  else
    /* Translators: the label of a keyring item; a kind of secret, then a profile id */
    request->label = g_strdup_printf (_("Bastion %s for %s"),
                                      bastion_secret_kind_to_string (kind), profile_id);

  start (self, request, bastion_secrets_store_async, cancellable, callback, user_data);
}

gboolean
bastion_secrets_store_finish (BastionSecrets  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_secrets_store_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_secrets_lookup_async (BastionSecrets      *self,
                              const char          *profile_id,
                              BastionSecretKind    kind,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (BASTION_IS_SECRETS (self));
  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (bastion_secret_kind_to_string (kind) != NULL);

  start (self, request_new (OP_LOOKUP, profile_id, kind), bastion_secrets_lookup_async,
         cancellable, callback, user_data);
}

char *
bastion_secrets_lookup_finish (BastionSecrets  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_secrets_lookup_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_secrets_clear_async (BastionSecrets      *self,
                             const char          *profile_id,
                             BastionSecretKind    kind,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (BASTION_IS_SECRETS (self));
  g_return_if_fail (profile_id != NULL);
  g_return_if_fail (bastion_secret_kind_to_string (kind) != NULL);

  start (self, request_new (OP_CLEAR, profile_id, kind), bastion_secrets_clear_async,
         cancellable, callback, user_data);
}

gboolean
bastion_secrets_clear_finish (BastionSecrets  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_secrets_clear_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_secrets_clear_profile_async (BastionSecrets      *self,
                                     const char          *profile_id,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (BASTION_IS_SECRETS (self));
  g_return_if_fail (profile_id != NULL);

  start (self, request_new (OP_CLEAR_PROFILE, profile_id, 0),
         bastion_secrets_clear_profile_async, cancellable, callback, user_data);
}

gboolean
bastion_secrets_clear_profile_finish (BastionSecrets  *self,
                                      GAsyncResult    *result,
                                      GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == bastion_secrets_clear_profile_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
