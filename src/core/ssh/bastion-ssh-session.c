/* bastion-ssh-session.c
 *
 * The SSH session object: its properties, accessors and lifetime. The parts live beside it:
 * -io.c (the socket, output batching, keepalives), -connect.c (TCP, handshake, the steps),
 * -host-key.c (known_hosts, trust), -auth.c (the login methods); they share
 * bastion-ssh-session-impl-private.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-defaults.h"
#include "bastion-io-thread.h"
#include "bastion-key-file.h"
#include "bastion-secure.h"
#include "bastion-ssh-session-impl-private.h"

G_DEFINE_FINAL_TYPE (BastionSshSession, bastion_ssh_session, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-ssh-error-quark, bastion_ssh_error)

enum {
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_USER,
  PROP_AUTH_METHOD,
  PROP_KEY_FILE,
  PROP_HOST_KEY_PIN,
  PROP_ACCEPT_NEW_HOST_KEY,
  PROP_USER_KNOWN_HOSTS,
  PROP_BASTION_KNOWN_HOSTS,
  PROP_CONNECT_TIMEOUT,
  PROP_KEEPALIVE_INTERVAL,
  PROP_STAGE,
  PROP_HOST_KEY_FINGERPRINT,
  N_PROPS
};

enum {
  DISCONNECTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

const char *
bastion_ssh_stage_to_string (BastionSshStage stage)
{
  GEnumClass *klass = g_type_class_ref (BASTION_TYPE_SSH_STAGE);
  GEnumValue *value = g_enum_get_value (klass, stage);

  g_type_class_unref (klass);

  return value ? value->value_nick : "unknown";
}

void
_bastion_ssh_wipe_key_data (BastionSshSession *self)
{
  bastion_secure_wipe (self->key_data, self->key_data_len);
  g_clear_pointer (&self->key_data, g_free);
  self->key_data_len = 0;
  g_clear_pointer (&self->key_public, g_free);
  self->key_encrypted = FALSE;
}

void
_bastion_ssh_set_stage (BastionSshSession *self,
                        BastionSshStage    stage)
{
  if (self->stage == stage)
    return;

  g_debug ("SSH %s:%u: stage %s", self->host, self->port, bastion_ssh_stage_to_string (stage));
  self->stage = stage;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
}

void
_bastion_ssh_set_fingerprint (BastionSshSession *self,
                                      char              *fingerprint)
{
  g_free (self->fingerprint);
  self->fingerprint = fingerprint;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOST_KEY_FINGERPRINT]);
}

void
_bastion_ssh_emit_disconnected (BastionSshSession *self,
                                        GError            *error)
{
  g_signal_emit (self, signals[DISCONNECTED], 0, error);
}

/* ---- Accessors ----------------------------------------------------------------------------- */

BastionSshStage
bastion_ssh_session_get_stage (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), BASTION_SSH_STAGE_CLOSED);
  return self->stage;
}

/**
 * bastion_ssh_session_set_identities_only:
 *
 * As OpenSSH's IdentitiesOnly: the agent is used only for the key file's own key (known for
 * OpenSSH-format keys, which carry it in clear), never for the agent's other keys.
 */
void
bastion_ssh_session_set_identities_only (BastionSshSession *self,
                                         gboolean           identities_only)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->identities_only = !!identities_only;
}

/**
 * bastion_ssh_session_get_auth_used:
 *
 * How the last login succeeded ("the SSH agent (key “…”)", "the key file …", "a password",
 * "keyboard-interactive"), for the authentication step; NULL before.
 */
const char *
bastion_ssh_session_get_auth_used (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return self->auth_used;
}

const char *
bastion_ssh_session_get_host (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);
  return self->host;
}

guint16
bastion_ssh_session_get_port (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), 0);
  return self->port;
}

void
bastion_ssh_session_set_passphrase (BastionSshSession *self,
                                    const char        *passphrase)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  bastion_secure_replace_str (&self->passphrase, passphrase);
}

/**
 * bastion_ssh_session_set_ciphers:
 * @ciphers: (nullable): comma-separated SSH cipher names, in order of preference, or %NULL for
 *   bastion_ssh_session_default_ciphers()
 *
 * Offers only these ciphers on the next connect.
 */
void
bastion_ssh_session_set_ciphers (BastionSshSession *self,
                                 const char        *ciphers)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  g_free (self->ciphers);
  self->ciphers = g_strdup (ciphers);
}

void
bastion_ssh_session_set_password (BastionSshSession *self,
                                  const char        *password)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  bastion_secure_replace_str (&self->password, password);
}

BastionHostKeyStatus
bastion_ssh_session_get_host_key_status (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), BASTION_HOST_KEY_UNCHECKED);
  return self->host_key_status;
}

const char *
bastion_ssh_session_get_host_key_fingerprint (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);
  return self->fingerprint;
}

const char *
bastion_ssh_session_get_cipher (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  if (self->session == NULL)
    return NULL;

  return libssh2_session_methods (self->session, LIBSSH2_METHOD_CRYPT_CS);
}

/* The key file's format is read by bastion-key-file.c (PEM, PKCS#8, OpenSSH): one parser. */
gboolean
bastion_ssh_key_file_is_encrypted (const char  *path,
                                   gboolean    *encrypted,
                                   GError     **error)
{
  BastionKeyFileInfo info = { 0 };
  g_autofree char *message = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (encrypted != NULL, FALSE);

  switch (bastion_key_file_check (path, &info, &message))
    {
    case BASTION_KEY_FILE_OK:
    case BASTION_KEY_FILE_TOO_OPEN:
    case BASTION_KEY_FILE_ENCRYPTED:
      *encrypted = info.encrypted;
      return TRUE;

    case BASTION_KEY_FILE_MISSING:
    case BASTION_KEY_FILE_UNREADABLE:
    case BASTION_KEY_FILE_NOT_A_KEY:
    default:
      *encrypted = FALSE;
      g_set_error_literal (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                           message != NULL ? message : _("The SSH key file cannot be used"));
      return FALSE;
    }
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_ssh_session_dispose (GObject *object)
{
  BastionSshSession *self = (BastionSshSession *)object;

  bastion_source_clear (self->context, &self->dead_idle_id);
  _bastion_ssh_teardown (self, self->phase == PHASE_READY);
  self->phase = PHASE_IDLE;

  G_OBJECT_CLASS (bastion_ssh_session_parent_class)->dispose (object);
}

static void
bastion_ssh_session_finalize (GObject *object)
{
  BastionSshSession *self = (BastionSshSession *)object;

  bastion_secure_clear_str (&self->passphrase);
  bastion_secure_clear_str (&self->password);
  _bastion_ssh_wipe_key_data (self);
  g_clear_pointer (&self->known_hosts, g_strfreev);
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->user, g_free);
  g_clear_pointer (&self->key_file, g_free);
  g_clear_pointer (&self->ciphers, g_free);
  g_clear_pointer (&self->out_buf, g_free);
  g_clear_pointer (&self->host_key_pin, g_free);
  g_clear_pointer (&self->user_known_hosts, g_free);
  g_clear_pointer (&self->bastion_known_hosts, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->host_key, g_bytes_unref);
  g_clear_pointer (&self->offered, g_free);
  g_clear_error (&self->dead_error);
  g_clear_error (&self->auth_error);
  g_clear_pointer (&self->auth_used, g_free);
  g_string_free (self->tried, TRUE);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (bastion_ssh_session_parent_class)->finalize (object);
}

static void
set_string (BastionSshSession  *self,
            char              **field,
            const char         *value,
            guint               prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
bastion_ssh_session_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  BastionSshSession *self = BASTION_SSH_SESSION (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_USER:
      g_value_set_string (value, self->user);
      break;
    case PROP_AUTH_METHOD:
      g_value_set_enum (value, self->auth_method);
      break;
    case PROP_KEY_FILE:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_HOST_KEY_PIN:
      g_value_set_string (value, self->host_key_pin);
      break;
    case PROP_ACCEPT_NEW_HOST_KEY:
      g_value_set_boolean (value, self->accept_new);
      break;
    case PROP_USER_KNOWN_HOSTS:
      g_value_set_string (value, self->user_known_hosts);
      break;
    case PROP_BASTION_KNOWN_HOSTS:
      g_value_set_string (value, self->bastion_known_hosts);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout);
      break;
    case PROP_KEEPALIVE_INTERVAL:
      g_value_set_uint (value, self->keepalive_interval);
      break;
    case PROP_STAGE:
      g_value_set_enum (value, self->stage);
      break;
    case PROP_HOST_KEY_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_ssh_session_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  BastionSshSession *self = BASTION_SSH_SESSION (object);

  switch (prop_id)
    {
    case PROP_HOST:
      set_string (self, &self->host, g_value_get_string (value), prop_id);
      break;
    case PROP_PORT:
      if (self->port != g_value_get_uint (value))
        {
          self->port = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_USER:
      set_string (self, &self->user, g_value_get_string (value), prop_id);
      break;
    case PROP_AUTH_METHOD:
      if (self->auth_method != (BastionAuthMethod)g_value_get_enum (value))
        {
          self->auth_method = g_value_get_enum (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_KEY_FILE:
      set_string (self, &self->key_file, g_value_get_string (value), prop_id);
      break;
    case PROP_HOST_KEY_PIN:
      set_string (self, &self->host_key_pin, g_value_get_string (value), prop_id);
      break;
    case PROP_ACCEPT_NEW_HOST_KEY:
      if (self->accept_new != g_value_get_boolean (value))
        {
          self->accept_new = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_USER_KNOWN_HOSTS:
      set_string (self, &self->user_known_hosts, g_value_get_string (value), prop_id);
      break;
    case PROP_BASTION_KNOWN_HOSTS:
      set_string (self, &self->bastion_known_hosts, g_value_get_string (value), prop_id);
      break;
    case PROP_CONNECT_TIMEOUT:
      if (self->connect_timeout != g_value_get_uint (value))
        {
          self->connect_timeout = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_KEEPALIVE_INTERVAL:
      if (self->keepalive_interval != g_value_get_uint (value))
        {
          self->keepalive_interval = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_ssh_session_class_init (BastionSshSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = bastion_ssh_session_dispose;
  object_class->finalize = bastion_ssh_session_finalize;
  object_class->get_property = bastion_ssh_session_get_property;
  object_class->set_property = bastion_ssh_session_set_property;

  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, NULL, rw);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 1, 65535,
                                             BASTION_DEFAULT_SSH_PORT, rw);
  properties[PROP_USER] = g_param_spec_string ("user", NULL, NULL, NULL, rw);
  properties[PROP_AUTH_METHOD] =
    g_param_spec_enum ("auth-method", NULL, NULL, BASTION_TYPE_AUTH_METHOD,
                       BASTION_AUTH_METHOD_KEY, rw);
  properties[PROP_KEY_FILE] = g_param_spec_string ("key-file", NULL, NULL, NULL, rw);
  properties[PROP_HOST_KEY_PIN] = g_param_spec_string ("host-key-pin", NULL, NULL, NULL, rw);
  properties[PROP_ACCEPT_NEW_HOST_KEY] =
    g_param_spec_boolean ("accept-new-host-key", NULL, NULL, FALSE, rw);
  properties[PROP_USER_KNOWN_HOSTS] =
    g_param_spec_string ("user-known-hosts", NULL, NULL, NULL, rw);
  properties[PROP_BASTION_KNOWN_HOSTS] =
    g_param_spec_string ("bastion-known-hosts", NULL, NULL, NULL, rw);
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 1, 600, DEFAULT_CONNECT_TIMEOUT, rw);
  properties[PROP_KEEPALIVE_INTERVAL] =
    g_param_spec_uint ("keepalive-interval", NULL, NULL, 1, 3600, DEFAULT_KEEPALIVE, rw);
  properties[PROP_STAGE] =
    g_param_spec_enum ("stage", NULL, NULL, BASTION_TYPE_SSH_STAGE, BASTION_SSH_STAGE_CLOSED, ro);
  properties[PROP_HOST_KEY_FINGERPRINT] =
    g_param_spec_string ("host-key-fingerprint", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted once when a ready session dies (socket closed, keepalive unanswered). */
  signals[DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
bastion_ssh_session_init (BastionSshSession *self)
{
  self->port = BASTION_DEFAULT_SSH_PORT;
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->keepalive_interval = DEFAULT_KEEPALIVE;
  self->tried = g_string_new (NULL);
  self->stage = BASTION_SSH_STAGE_CLOSED;
  self->context = g_main_context_ref_thread_default ();
  g_queue_init (&self->channels);
}

BastionSshSession *
bastion_ssh_session_new (const char *host,
                         guint16     port,
                         const char *user)
{
  return g_object_new (BASTION_TYPE_SSH_SESSION,
                       "host", host,
                       "port", (guint)port,
                       "user", user,
                       NULL);
}
