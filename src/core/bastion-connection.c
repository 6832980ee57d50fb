/* bastion-connection.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One profile's "Connect": every step from the profile's fields to a tunnel on 127.0.0.1 (and,
 * when asked, a proven database login through it). The GUI, `bastion-cli tunnel`, `query`,
 * `launch` and `check` all go through it, so they fail the same way, with the same words.
 *
 * Here: the object, its stages and how an open fails. The steps live beside it:
 * bastion-connection-tunnel.c (~/.ssh/config, credentials, SSH and the tunnel) and
 * bastion-connection-database.c (the database login); they share bastion-connection-private.h.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-connection-private.h"

G_DEFINE_FINAL_TYPE (BastionConnection, bastion_connection, G_TYPE_OBJECT)
G_DEFINE_QUARK (bastion-connection-error-quark, bastion_connection_error)

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_SECRETS,
  PROP_STAGE,
  PROP_TUNNEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
open_data_free (OpenData *data)
{
  g_clear_object (&data->database);
  g_clear_error (&data->ssh_error);
  g_free (data);
}

const char *
bastion_connection_stage_to_string (BastionConnectionStage stage)
{
  GEnumClass *klass = g_type_class_ref (BASTION_TYPE_CONNECTION_STAGE);
  GEnumValue *value = g_enum_get_value (klass, stage);

  g_type_class_unref (klass);

  return value ? value->value_nick : "unknown";
}

const char *
bastion_connection_stage_to_label (BastionConnectionStage stage)
{
  switch (stage)
    {
    case BASTION_CONNECTION_STAGE_IDLE:
      return _("Not connected");
    case BASTION_CONNECTION_STAGE_PROFILE:
      return _("Check the team’s settings");
    case BASTION_CONNECTION_STAGE_CREDENTIALS:
      return _("Find the SSH key and secrets");
    case BASTION_CONNECTION_STAGE_RESOLVING:
      return _("Resolve the bastion’s name");
    case BASTION_CONNECTION_STAGE_CONNECTING:
      return _("Reach port 22");
    case BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY:
      return _("Verify the host key");
    case BASTION_CONNECTION_STAGE_AUTHENTICATING:
      return _("Authenticate");
    case BASTION_CONNECTION_STAGE_OPENING_TUNNEL:
      return _("Open the tunnel");
    case BASTION_CONNECTION_STAGE_DATABASE_LOGIN:
      return _("Log in to the database");
    case BASTION_CONNECTION_STAGE_READY:
      return _("Connected");
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      return _("Reconnecting");
    case BASTION_CONNECTION_STAGE_FAILED:
      return _("Failed");
    default:
      return "";
    }
}

void
_bastion_connection_set_stage (BastionConnection      *self,
                               BastionConnectionStage  stage)
{
  if (self->stage == stage)
    return;

  g_debug ("Connection %s: %s", bastion_profile_get_id (self->profile),
           bastion_connection_stage_to_string (stage));
  self->stage = stage;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
}

void
_bastion_connection_notify_tunnel (BastionConnection *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TUNNEL]);
}

/* Fails the open at the current step: stage FAILED, failed-stage the step. */
void
_bastion_connection_fail_task (BastionConnection *self,
                               GTask             *task,
                               GError            *error)
{
  OpenData *data = g_task_get_task_data (task);
  /* The database login failed because the bastion refused the channel: that is the tunnel's
   * step, and the bastion's reason says what to do. */
  gboolean refused = self->tunnel != NULL &&
                     bastion_tunnel_get_channel_error (self->tunnel) != NULL &&
                     (data->keep_database ||
                      self->stage == BASTION_CONNECTION_STAGE_DATABASE_LOGIN);

  if (refused && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      error = g_error_copy (bastion_tunnel_get_channel_error (self->tunnel));
    }

  if (data->keep_database)
    {
      g_task_return_error (task, error);
      return;
    }

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      self->failed_stage = refused ? BASTION_CONNECTION_STAGE_OPENING_TUNNEL : self->stage;
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
      _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
    }
  else
    {
      _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_IDLE);
    }
  g_task_return_error (task, error);
}

void
_bastion_connection_fail_task_new (BastionConnection *self,
                                   GTask             *task,
                                   int                code,
                                   const char        *message)
{
  _bastion_connection_fail_task (self, task,
                                 g_error_new_literal (BASTION_CONNECTION_ERROR, code, message));
}

void
_bastion_connection_remember_secret (BastionConnection *self,
                                     BastionSecretKind  kind,
                                     const char        *secret)
{
  /* Fire and forget: a keyring that refuses only means we ask again next time. */
  bastion_secrets_store_async (self->secrets, bastion_profile_get_id (self->profile), kind,
                               NULL, secret, NULL, NULL, NULL);
}

gboolean
_bastion_connection_field_missing (const char *value)
{
  return value == NULL || value[0] == '\0';
}

void
bastion_connection_open_async (BastionConnection      *self,
                               BastionConnectionFlags  flags,
                               GCancellable           *cancellable,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenData *data;
  const char *reason;

  g_return_if_fail (BASTION_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_connection_open_async);
  data = g_new0 (OpenData, 1);
  data->flags = flags;
  data->transport = self->transport >= 0 ? (BastionTransport) self->transport
                                          : bastion_profile_get_transport (self->profile);
  g_task_set_task_data (task, data, (GDestroyNotify) open_data_free);

  g_clear_error (&self->error);
  self->failed_stage = BASTION_CONNECTION_STAGE_IDLE;

  /* Already serving: only the database login may be left to prove. */
  if (_bastion_connection_tunnel_is_up (self))
    {
      _bastion_connection_open_database_step (g_steal_pointer (&task));
      return;
    }

  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_PROFILE);

  if (!bastion_profile_get_has_db_access (self->profile))
    {
      reason = bastion_profile_get_no_access_reason (self->profile);
      _bastion_connection_fail_task (self, task,
                                     g_error_new (BASTION_CONNECTION_ERROR,
                                                  BASTION_CONNECTION_ERROR_NO_DB_ACCESS,
                                                  _("“%s” has no database access: %s"),
                                                  bastion_profile_get_display_name (self->profile),
                                                  reason ? reason
                                                         : _("its config names no bastion or "
                                                             "database")));
      return;
    }
  /* Session Manager needs no SSH host: the instance is found by its Name tag. */
  if (data->transport != BASTION_TRANSPORT_SSM &&
      _bastion_connection_field_missing (bastion_profile_get_ssh_host (self->profile)) &&
      _bastion_connection_field_missing (bastion_profile_get_ssh_alias (self->profile)))
    {
      _bastion_connection_fail_task (self, task,
                                     g_error_new (BASTION_CONNECTION_ERROR,
                                                  BASTION_CONNECTION_ERROR_INCOMPLETE,
                                                  _("No bastion host is set for “%s”"),
                                                  bastion_profile_get_display_name
                                                    (self->profile)));
      return;
    }
  if (_bastion_connection_field_missing (bastion_profile_get_db_host (self->profile)))
    {
      _bastion_connection_fail_task (self, task,
                                     g_error_new (BASTION_CONNECTION_ERROR,
                                                  BASTION_CONNECTION_ERROR_INCOMPLETE,
                                                  _("No database host is set for “%s”"),
                                                  bastion_profile_get_display_name
                                                    (self->profile)));
      return;
    }

  if (data->transport == BASTION_TRANSPORT_SSM)
    _bastion_connection_open_ssm_step (g_steal_pointer (&task));
  else
    _bastion_connection_open_ssh_config_step (g_steal_pointer (&task));
}

gboolean
bastion_connection_open_finish (BastionConnection  *self,
                                GAsyncResult       *result,
                                GError            **error)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_connection_connect_database_async (BastionConnection   *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenData *data;

  g_return_if_fail (BASTION_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_connection_connect_database_async);
  data = g_new0 (OpenData, 1);
  data->flags = BASTION_CONNECTION_FLAGS_VERIFY_DATABASE |
                BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD;
  data->keep_database = TRUE;
  g_task_set_task_data (task, data, (GDestroyNotify) open_data_free);

  if (!_bastion_connection_tunnel_is_up (self))
    {
      g_task_return_new_error (task, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_FAILED,
                               _("The tunnel is not open; connect first"));
      return;
    }

  _bastion_connection_open_database_step (g_steal_pointer (&task));
}

BastionDatabase *
bastion_connection_connect_database_finish (BastionConnection  *self,
                                            GAsyncResult       *result,
                                            GError            **error)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_connection_close (BastionConnection *self)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  _bastion_connection_drop_tunnel (self);
  bastion_secure_clear_str (&self->passphrase);
  bastion_secure_clear_str (&self->ssh_password);
  bastion_secure_clear_str (&self->db_password);
  bastion_secure_clear_str (&self->readonly_password);
  self->readonly_looked_up = FALSE;
  g_clear_error (&self->error);
  self->failed_stage = BASTION_CONNECTION_STAGE_IDLE;
  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_IDLE);
}

/* ---- Accessors ----------------------------------------------------------------------------- */

BastionProfile *
bastion_connection_get_profile (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  return self->profile;
}

BastionConnectionStage
bastion_connection_get_stage (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), BASTION_CONNECTION_STAGE_IDLE);
  return self->stage;
}

BastionConnectionStage
bastion_connection_get_failed_stage (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), BASTION_CONNECTION_STAGE_IDLE);
  return self->failed_stage;
}

const GError *
bastion_connection_get_error (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  return self->error;
}

BastionTunnel *
bastion_connection_get_tunnel (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  return self->tunnel;
}

BastionSshSession *
bastion_connection_get_session (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  return self->session;
}

void
bastion_connection_set_local_port (BastionConnection *self,
                                   int                port)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));
  self->local_port = port;
}

void
bastion_connection_set_transport (BastionConnection *self,
                                  int                transport)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));
  g_return_if_fail (transport >= -1 && transport <= BASTION_TRANSPORT_AUTO);

  self->transport = transport;
}

BastionTransport
bastion_connection_get_transport (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), BASTION_TRANSPORT_SSH);

  if (self->tunnel != NULL)
    return bastion_tunnel_get_transport (self->tunnel);
  return self->transport >= 0 ? (BastionTransport) self->transport
                              : bastion_profile_get_transport (self->profile);
}

const char *
bastion_connection_get_transport_note (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  return self->tunnel != NULL ? self->transport_note : NULL;
}

void
bastion_connection_set_keepalive_interval (BastionConnection *self,
                                           guint              seconds)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));
  self->keepalive_interval = seconds;
}

void
bastion_connection_set_reconnect (BastionConnection *self,
                                  gboolean           reconnect)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));
  self->no_reconnect = !reconnect;
}

guint16
bastion_connection_get_local_port (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), 0);

  if (self->tunnel != NULL)
    return bastion_tunnel_get_local_port (self->tunnel);

  return 0;
}

void
bastion_connection_set_passphrase (BastionConnection *self,
                                   const char        *passphrase,
                                   gboolean           remember)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  bastion_secure_replace_str (&self->passphrase, passphrase);
  self->remember_passphrase = remember;
}

void
bastion_connection_set_ssh_password (BastionConnection *self,
                                     const char        *password,
                                     gboolean           remember)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  bastion_secure_replace_str (&self->ssh_password, password);
  self->remember_ssh_password = remember;
}

void
bastion_connection_set_db_password (BastionConnection *self,
                                    const char        *password,
                                    gboolean           remember)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  bastion_secure_replace_str (&self->db_password, password);
  if (remember && password != NULL)
    _bastion_connection_remember_secret (self, BASTION_SECRET_KIND_DB_PASSWORD, password);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_connection_dispose (GObject *object)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  _bastion_connection_drop_tunnel (self);

  G_OBJECT_CLASS (bastion_connection_parent_class)->dispose (object);
}

static void
bastion_connection_finalize (GObject *object)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  bastion_secure_clear_str (&self->passphrase);
  bastion_secure_clear_str (&self->ssh_password);
  bastion_secure_clear_str (&self->db_password);
  bastion_secure_clear_str (&self->readonly_password);
  g_clear_error (&self->error);
  g_clear_pointer (&self->transport_note, g_free);
  g_clear_pointer (&self->ssh_config, bastion_ssh_config_free);
  g_clear_object (&self->profile);
  g_clear_object (&self->secrets);

  G_OBJECT_CLASS (bastion_connection_parent_class)->finalize (object);
}

static void
bastion_connection_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      g_value_set_object (value, self->profile);
      break;
    case PROP_SECRETS:
      g_value_set_object (value, self->secrets);
      break;
    case PROP_STAGE:
      g_value_set_enum (value, self->stage);
      break;
    case PROP_TUNNEL:
      g_value_set_object (value, self->tunnel);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_connection_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_PROFILE:
      self->profile = g_value_dup_object (value);
      break;
    case PROP_SECRETS:
      self->secrets = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_connection_constructed (GObject *object)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  G_OBJECT_CLASS (bastion_connection_parent_class)->constructed (object);

  if (self->secrets == NULL)
    self->secrets = g_object_ref (bastion_secrets_get_default ());
}

static void
bastion_connection_class_init (BastionConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_connection_dispose;
  object_class->finalize = bastion_connection_finalize;
  object_class->get_property = bastion_connection_get_property;
  object_class->set_property = bastion_connection_set_property;
  object_class->constructed = bastion_connection_constructed;

  properties[PROP_PROFILE] =
    g_param_spec_object ("profile", NULL, NULL, BASTION_TYPE_PROFILE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SECRETS] =
    g_param_spec_object ("secrets", NULL, NULL, BASTION_TYPE_SECRETS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STAGE] =
    g_param_spec_enum ("stage", NULL, NULL, BASTION_TYPE_CONNECTION_STAGE,
                       BASTION_CONNECTION_STAGE_IDLE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TUNNEL] =
    g_param_spec_object ("tunnel", NULL, NULL, BASTION_TYPE_TUNNEL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_connection_init (BastionConnection *self)
{
  self->local_port = -1;
  self->transport = -1;
}

BastionConnection *
bastion_connection_new (BastionProfile *profile,
                        BastionSecrets *secrets)
{
  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);
  g_return_val_if_fail (secrets == NULL || BASTION_IS_SECRETS (secrets), NULL);

  return g_object_new (BASTION_TYPE_CONNECTION,
                       "profile", profile,
                       "secrets", secrets,
                       NULL);
}
