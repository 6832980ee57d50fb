/* bastion-connection-tunnel.c
 *
 * BastionConnection's steps up to the tunnel: ~/.ssh/config, the SSH credentials (key file,
 * passphrase, password from the keyring), the SSH session and the tunnel, whose stages become
 * the connection's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-connection-private.h"
#include "bastion-defaults.h"
#include "bastion-key-file.h"
#include "bastion-ssh-config.h"
#include "bastion-ssh-jump.h"

static BastionConnectionStage
stage_from_ssh (BastionSshStage stage)
{
  switch (stage)
    {
    case BASTION_SSH_STAGE_RESOLVING:
      return BASTION_CONNECTION_STAGE_RESOLVING;
    case BASTION_SSH_STAGE_CONNECTING:
      return BASTION_CONNECTION_STAGE_CONNECTING;
    case BASTION_SSH_STAGE_VERIFYING_HOST_KEY:
      return BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY;
    case BASTION_SSH_STAGE_AUTHENTICATING:
      return BASTION_CONNECTION_STAGE_AUTHENTICATING;
    case BASTION_SSH_STAGE_READY:
      return BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
    case BASTION_SSH_STAGE_RECONNECTING:
      return BASTION_CONNECTION_STAGE_RECONNECTING;
    case BASTION_SSH_STAGE_FAILED:
      return BASTION_CONNECTION_STAGE_FAILED;
    case BASTION_SSH_STAGE_CLOSED:
    default:
      return BASTION_CONNECTION_STAGE_IDLE;
    }
}

static void
on_tunnel_stage (BastionConnection *self,
                 GParamSpec        *pspec,
                 BastionTunnel     *tunnel)
{
  BastionSshStage ssh_stage = bastion_tunnel_get_stage (tunnel);

  /* While opening, the steps show as they happen; once open, the tunnel's health does. */
  switch (self->stage)
    {
    case BASTION_CONNECTION_STAGE_RESOLVING:
    case BASTION_CONNECTION_STAGE_CONNECTING:
    case BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY:
    case BASTION_CONNECTION_STAGE_AUTHENTICATING:
      if (ssh_stage != BASTION_SSH_STAGE_FAILED && ssh_stage != BASTION_SSH_STAGE_CLOSED)
        _bastion_connection_set_stage (self, stage_from_ssh (ssh_stage));
      break;

    case BASTION_CONNECTION_STAGE_READY:
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      if (ssh_stage == BASTION_SSH_STAGE_READY)
        _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_READY);
      else if (ssh_stage == BASTION_SSH_STAGE_RECONNECTING && self->no_reconnect)
        {
          /* The user turned reconnection off: a drop is the end of this connection. */
          g_clear_error (&self->error);
          self->error = g_error_new_literal (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                                             _("The connection to the bastion was lost"));
          self->failed_stage = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
          bastion_tunnel_stop (tunnel);
          _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
        }
      else if (ssh_stage == BASTION_SSH_STAGE_RECONNECTING ||
               ssh_stage == BASTION_SSH_STAGE_RESOLVING ||
               ssh_stage == BASTION_SSH_STAGE_CONNECTING ||
               ssh_stage == BASTION_SSH_STAGE_VERIFYING_HOST_KEY ||
               ssh_stage == BASTION_SSH_STAGE_AUTHENTICATING)
        _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_RECONNECTING);
      else if (ssh_stage == BASTION_SSH_STAGE_FAILED)
        {
          const GError *error = bastion_tunnel_get_error (tunnel);

          g_clear_error (&self->error);
          if (error != NULL)
            self->error = g_error_copy (error);
          self->failed_stage = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
          _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
        }
      break;

    case BASTION_CONNECTION_STAGE_IDLE:
    case BASTION_CONNECTION_STAGE_PROFILE:
    case BASTION_CONNECTION_STAGE_CREDENTIALS:
    case BASTION_CONNECTION_STAGE_OPENING_TUNNEL:
    case BASTION_CONNECTION_STAGE_DATABASE_LOGIN:
    case BASTION_CONNECTION_STAGE_FAILED:
    default:
      break;
    }
}

void
_bastion_connection_drop_tunnel (BastionConnection *self)
{
  if (self->tunnel != NULL)
    {
      g_clear_signal_handler (&self->tunnel_stage_handler, self->tunnel);
      bastion_tunnel_stop (self->tunnel);
      g_clear_object (&self->tunnel);
      _bastion_connection_notify_tunnel (self);
    }
  g_clear_object (&self->session);
}

gboolean
_bastion_connection_tunnel_is_up (BastionConnection *self)
{
  BastionSshStage stage;

  if (self->tunnel == NULL)
    return FALSE;

  stage = bastion_tunnel_get_stage (self->tunnel);

  return stage == BASTION_SSH_STAGE_READY || stage == BASTION_SSH_STAGE_RECONNECTING;
}

static const char *effective_key_file        (BastionConnection *self);
static char       *passphrase_needed_message (BastionConnection *self);

/* auto: port 22 does not answer (dropped, refused, unreachable) and the team names the AWS
 * side Session Manager needs, so the same tunnel is tried through Session Manager. */
static gboolean
should_fall_back (BastionConnection *self,
                  GTask             *task,
                  const GError      *error)
{
  OpenData *data = g_task_get_task_data (task);
  const char *prefix = bastion_profile_get_name_prefix (self->profile);

  if (data->transport != BASTION_TRANSPORT_AUTO || data->ssh_error != NULL ||
      error->domain != BASTION_SSH_ERROR || prefix == NULL || prefix[0] == '\0')
    return FALSE;

  return error->code == BASTION_SSH_ERROR_TIMEOUT || error->code == BASTION_SSH_ERROR_REFUSED ||
         error->code == BASTION_SSH_ERROR_UNREACHABLE;
}

/* auto, after SSH and Session Manager both failed: both reasons. */
static GError *
both_failed_error (GTask  *task,
                   GError *error)
{
  OpenData *data = g_task_get_task_data (task);
  GError *both;

  if (data->ssh_error == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  both = g_error_new (error->domain, error->code,
                      _("Port 22 of the bastion does not answer (%s), and AWS Session Manager "
                        "failed too: %s"), data->ssh_error->message, error->message);
  g_error_free (error);
  return both;
}

static void
on_tunnel_started (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (!bastion_tunnel_start_finish (BASTION_TUNNEL (source), result, &error))
    {
      /* The step that failed is the one the tunnel was in. The session stays for its host key
       * fingerprint (the GUI shows it), but nothing keeps listening. */
      bastion_tunnel_stop (BASTION_TUNNEL (source));
      /* Tried without the passphrase because the agent came first (on_ssh_secret_found): now
       * it is needed, as if the keyring had been asked. */
      if (g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED))
        {
          g_autofree char *message = passphrase_needed_message (self);

          g_clear_error (&error);
          error = g_error_new_literal (BASTION_CONNECTION_ERROR,
                                       BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED, message);
        }
      if (should_fall_back (self, task, error))
        {
          OpenData *data = g_task_get_task_data (task);

          g_message ("%s", _("Port 22 of the bastion does not answer; trying AWS Session "
                             "Manager."));
          data->ssh_error = g_steal_pointer (&error);
          _bastion_connection_open_ssm_step (g_steal_pointer (&task));
          return;
        }
      _bastion_connection_fail_task (self, task, both_failed_error (task, g_steal_pointer (&error)));
      return;
    }

  g_clear_pointer (&self->transport_note, g_free);
  if (((OpenData *) g_task_get_task_data (task))->ssh_error != NULL)
    self->transport_note = g_strdup (_("Connected through AWS Session Manager; port 22 is "
                                       "closed to you"));

  if (self->remember_passphrase && self->passphrase != NULL)
    _bastion_connection_remember_secret (self, BASTION_SECRET_KIND_KEY_PASSPHRASE,
                                         self->passphrase);
  if (self->remember_ssh_password && self->ssh_password != NULL)
    _bastion_connection_remember_secret (self, BASTION_SECRET_KIND_SSH_PASSWORD,
                                         self->ssh_password);
  self->remember_passphrase = self->remember_ssh_password = FALSE;

  _bastion_connection_open_database_step (g_steal_pointer (&task));
}

static char *
passphrase_needed_message (BastionConnection *self)
{
  return g_strdup_printf (_("The key file “%s” is protected by a passphrase, and none is stored "
                            "for “%s”"),
                          effective_key_file (self),
                          bastion_profile_get_display_name (self->profile));
}

/* ---- ~/.ssh/config (bastion-ssh-config.c) ----------------------------------------------- */

static const char *
effective_ssh_host (BastionConnection *self)
{
  return self->ssh_config != NULL ? self->ssh_config->hostname
                                  : bastion_profile_get_ssh_host (self->profile);
}

static guint16
effective_ssh_port (BastionConnection *self)
{
  return self->ssh_config != NULL ? self->ssh_config->port
                                  : bastion_profile_get_ssh_port (self->profile);
}

/* The team's own key file wins; else the first IdentityFile of the alias that exists. */
static const char *
effective_key_file (BastionConnection *self)
{
  const char *key_file = bastion_profile_get_key_file (self->profile);

  if ((key_file == NULL || key_file[0] == '\0') && self->ssh_config != NULL)
    return self->ssh_config->identity_file;

  return key_file;
}

/* ProxyJump: the alias's (ssh -G), else the team's own setting; NULL when direct. */
static const char *
effective_proxy_jump (BastionConnection *self)
{
  const char *jump = self->ssh_config != NULL ? self->ssh_config->proxy_jump : NULL;

  if (_bastion_connection_field_missing (jump))
    jump = bastion_profile_get_proxy_jump (self->profile);
  if (_bastion_connection_field_missing (jump) || g_ascii_strcasecmp (jump, "none") == 0)
    return NULL;

  return jump;
}

/* The hops in front of the bastion (bastion-ssh-jump.c), each logging in as its own user@ or
 * as USER; they use the key file's passphrase, never the SSH password. */
static void
apply_proxy_jump (BastionConnection *self,
                  const char        *user)
{
  const char *spec = effective_proxy_jump (self);
  g_autoptr(BastionSshJump) jump = NULL;
  g_autoptr(GError) error = NULL;

  if (spec == NULL)
    return;
  /* Checked before the credentials step (check_proxy_jump()). */
  jump = bastion_ssh_jump_new (spec, user, &error);
  g_return_if_fail (jump != NULL);
  if (self->passphrase != NULL)
    bastion_ssh_jump_set_passphrase (jump, self->passphrase);
  bastion_ssh_session_set_jump (self->session, jump);
}

static void
apply_ssh_config (BastionConnection      *self,
                  BastionConnectionFlags  flags)
{
  BastionSshConfig *config = self->ssh_config;

  if (config == NULL)
    return;
  if (config->user_known_hosts[0] != NULL)
    g_object_set (self->session, "user-known-hosts", config->user_known_hosts[0], NULL);
  /* StrictHostKeyChecking accept-new (or no): a new key is recorded, a changed one is still
   * refused. */
  if (config->strict == BASTION_SSH_STRICT_ACCEPT_NEW)
    g_object_set (self->session, "accept-new-host-key", TRUE, NULL);
  bastion_ssh_session_set_identities_only (self->session, config->identities_only);
}

static void
open_tunnel_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  const char *user = bastion_profile_get_ssh_user (self->profile);
  guint16 port;

  _bastion_connection_drop_tunnel (self);

  if (user == NULL || user[0] == '\0')
    user = BASTION_DEFAULT_SSH_USER;

  if (self->ssh_config != NULL)
    user = self->ssh_config->user;
  self->session = bastion_ssh_session_new (effective_ssh_host (self), effective_ssh_port (self),
                                           user);
  apply_ssh_config (self, data->flags);
  apply_proxy_jump (self, user);
  g_object_set (self->session,
                "auth-method", bastion_profile_get_auth_method (self->profile),
                "key-file", effective_key_file (self),
                "host-key-pin", bastion_profile_get_host_key_pin (self->profile),
                "accept-new-host-key",
                (data->flags & BASTION_CONNECTION_FLAGS_ACCEPT_NEW_HOST_KEY) != 0,
                NULL);
  if (self->keepalive_interval > 0)
    g_object_set (self->session, "keepalive-interval", self->keepalive_interval, NULL);
  if (self->passphrase != NULL)
    bastion_ssh_session_set_passphrase (self->session, self->passphrase);
  if (self->ssh_password != NULL)
    bastion_ssh_session_set_password (self->session, self->ssh_password);

  port = self->local_port >= 0 ? self->local_port : bastion_profile_get_local_port (self->profile);
  self->tunnel = bastion_tunnel_new (self->session, bastion_profile_get_db_host (self->profile),
                                     bastion_profile_get_db_port (self->profile), port);
  self->tunnel_stage_handler =
    g_signal_connect_object (self->tunnel, "notify::stage", G_CALLBACK (on_tunnel_stage), self,
                             G_CONNECT_SWAPPED);
  _bastion_connection_notify_tunnel (self);

  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_RESOLVING);
  bastion_tunnel_start_async (self->tunnel, g_task_get_cancellable (task), on_tunnel_started,
                              task);
}

/* ---- Credentials -------------------------------------------------------------------------- */

void
_bastion_connection_open_ssm_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  guint16 port;

  _bastion_connection_drop_tunnel (self);
  port = self->local_port >= 0 ? self->local_port : bastion_profile_get_local_port (self->profile);
  self->tunnel = bastion_tunnel_new_ssm (self->profile, port);
  self->tunnel_stage_handler =
    g_signal_connect_object (self->tunnel, "notify::stage", G_CALLBACK (on_tunnel_stage), self,
                             G_CONNECT_SWAPPED);
  _bastion_connection_notify_tunnel (self);

  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_OPENING_TUNNEL);
  bastion_tunnel_start_async (self->tunnel, g_task_get_cancellable (task), on_tunnel_started,
                              task);
}

static void
on_ssh_secret_found (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  BastionSecretKind kind = data->secret_kind;
  g_autoptr(GError) error = NULL;
  char *secret;

  secret = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (g_error_matches (error, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_LOCKED))
    {
      _bastion_connection_fail_task_new (self, task,
                                         kind == BASTION_SECRET_KIND_KEY_PASSPHRASE
                                         ? BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED
                                         : BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED,
                                         error->message);
      return;
    }
  if (secret == NULL)
    {
      g_autofree char *message = NULL;
      int code;

      if (kind == BASTION_SECRET_KIND_KEY_PASSPHRASE)
        {
          const char *sock = g_getenv ("SSH_AUTH_SOCK");

          /* As ssh: an agent that holds the key logs in without the passphrase. */
          if (sock != NULL && sock[0] != '\0')
            {
              open_tunnel_step (g_steal_pointer (&task));
              return;
            }
          code = BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED;
          message = passphrase_needed_message (self);
        }
      else
        {
          code = BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED;
          message = g_strdup_printf (_("No SSH password is stored for “%s”"),
                                     bastion_profile_get_display_name (self->profile));
        }
      _bastion_connection_fail_task_new (self, task, code, message);
      return;
    }

  if (kind == BASTION_SECRET_KIND_KEY_PASSPHRASE)
    {
      bastion_secure_clear_str (&self->passphrase);
      self->passphrase = secret;
    }
  else
    {
      bastion_secure_clear_str (&self->ssh_password);
      self->ssh_password = secret;
    }

  open_tunnel_step (g_steal_pointer (&task));
}

static void
lookup_ssh_secret (GTask             *task,
                   BastionSecretKind  kind)
{
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);

  data->secret_kind = kind;
  bastion_secrets_lookup_async (self->secrets, bastion_profile_get_id (self->profile), kind,
                                g_task_get_cancellable (task), on_ssh_secret_found, task);
}

static void
on_key_file_checked (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  BastionKeyFileInfo info = { 0 };
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  BastionKeyFileStatus status;

  status = bastion_key_file_check_finish (result, &info, &message, &error);
  if (error != NULL)
    {
      _bastion_connection_fail_task (self, task, g_steal_pointer (&error));
      return;
    }

  switch (status)
    {
    case BASTION_KEY_FILE_OK:
      open_tunnel_step (g_steal_pointer (&task));
      return;

    case BASTION_KEY_FILE_ENCRYPTED:
      if (self->passphrase != NULL)
        open_tunnel_step (g_steal_pointer (&task));
      else
        lookup_ssh_secret (g_steal_pointer (&task), BASTION_SECRET_KIND_KEY_PASSPHRASE);
      return;

    case BASTION_KEY_FILE_TOO_OPEN:
      /* As OpenSSH: refused, with the fix named (the team page offers it). */
    case BASTION_KEY_FILE_MISSING:
    case BASTION_KEY_FILE_UNREADABLE:
    case BASTION_KEY_FILE_NOT_A_KEY:
    default:
      /* The session tries the agent first: it may hold the team's key (issue 18). It reports
       * the key file's problem if the agent cannot log in either. */
      if (g_getenv ("SSH_AUTH_SOCK") != NULL && g_getenv ("SSH_AUTH_SOCK")[0] != '\0')
        {
          open_tunnel_step (g_steal_pointer (&task));
          return;
        }
      _bastion_connection_fail_task_new (self, task, BASTION_CONNECTION_ERROR_FAILED,
                                         message ? message : _("The SSH key file cannot be used"));
      return;
    }
}

static void open_credentials_step (GTask *task);

/* A ProxyJump that cannot be parsed fails the profile step, naming the bad hop. */
static gboolean
check_proxy_jump (BastionConnection *self,
                  GTask             *task)
{
  const char *spec = effective_proxy_jump (self);
  g_autoptr(GPtrArray) hops = NULL;
  GError *error = NULL;

  if (spec == NULL)
    return TRUE;
  hops = bastion_ssh_jump_parse (spec, &error);
  if (hops != NULL)
    return TRUE;

  _bastion_connection_fail_task (self, task,
                                 g_error_new_literal (BASTION_CONNECTION_ERROR,
                                                      BASTION_CONNECTION_ERROR_INCOMPLETE,
                                                      error->message));
  g_error_free (error);
  return FALSE;
}

static void
on_ssh_config_resolved (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  BastionSshConfig *config = bastion_ssh_config_resolve_finish (result, &error);

  if (config == NULL)
    {
      _bastion_connection_fail_task (self, task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&self->ssh_config, bastion_ssh_config_free);
  self->ssh_config = config;

  if (!check_proxy_jump (self, task))
    return;

  open_credentials_step (g_steal_pointer (&task));
}

/* A profile that names an alias of ~/.ssh/config: OpenSSH says what it means (in a thread). */
void
_bastion_connection_open_ssh_config_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  const char *alias = bastion_profile_get_ssh_alias (self->profile);

  g_clear_pointer (&self->ssh_config, bastion_ssh_config_free);

  if (alias != NULL && alias[0] != '\0')
    {
      g_autofree char *config_file = bastion_ssh_config_dup_user_file ();

      bastion_ssh_config_resolve_async (alias, config_file, g_task_get_cancellable (task),
                                        on_ssh_config_resolved, task);
      return;
    }

  if (!check_proxy_jump (self, task))
    {
      g_object_unref (task);
      return;
    }

  open_credentials_step (task);
}

static void
open_credentials_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  const char *key_file;

  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_CREDENTIALS);

  switch (bastion_profile_get_auth_method (self->profile))
    {
    case BASTION_AUTH_METHOD_AGENT:
      open_tunnel_step (task);
      return;

    case BASTION_AUTH_METHOD_PASSWORD:
      if (self->ssh_password != NULL)
        open_tunnel_step (task);
      else
        lookup_ssh_secret (task, BASTION_SECRET_KIND_SSH_PASSWORD);
      return;

    case BASTION_AUTH_METHOD_KEY:
    default:
      key_file = effective_key_file (self);
      if (key_file == NULL || key_file[0] == '\0')
        {
          _bastion_connection_fail_task (self, task,
                                         g_error_new (BASTION_CONNECTION_ERROR,
                                                      BASTION_CONNECTION_ERROR_NO_KEY_FILE,
                                                      _("No SSH key file is set for “%s”"),
                                                      bastion_profile_get_display_name
                                                        (self->profile)));
          g_object_unref (task);
          return;
        }
      bastion_key_file_check_async (key_file, g_task_get_cancellable (task),
                                    on_key_file_checked, task);
      return;
    }
}

/* ---- The session's answers, for the faces --------------------------------------------------- */

const char *
bastion_connection_get_auth_used (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  return self->session != NULL ? bastion_ssh_session_get_auth_used (self->session) : NULL;
}

const char *
bastion_connection_get_host_key_fingerprint (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  return self->session != NULL ? bastion_ssh_session_get_host_key_fingerprint (self->session)
                               : NULL;
}

const char *
bastion_connection_get_host_key_jump_host (BastionConnection *self,
                                           guint16           *port)
{
  BastionSshJump *jump;
  BastionSshSession *hop;

  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (port != NULL, NULL);

  jump = self->session != NULL ? bastion_ssh_session_get_jump (self->session) : NULL;
  hop = jump != NULL ? bastion_ssh_jump_get_failed_hop (jump) : NULL;
  if (hop == NULL)
    return NULL;
  *port = bastion_ssh_session_get_port (hop);

  return bastion_ssh_session_get_host (hop);
}

static void
on_host_key_trusted (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (bastion_ssh_session_trust_host_key_finish (BASTION_SSH_SESSION (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
bastion_connection_trust_host_key_async (BastionConnection   *self,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_CONNECTION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_connection_trust_host_key_async);

  if (self->session == NULL)
    {
      g_task_return_new_error (task, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                               _("The bastion’s host key has not been seen yet"));
      return;
    }

  bastion_ssh_session_trust_host_key_async (self->session, cancellable, on_host_key_trusted,
                                            g_steal_pointer (&task));
}

gboolean
bastion_connection_trust_host_key_finish (BastionConnection  *self,
                                          GAsyncResult       *result,
                                          GError            **error)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
