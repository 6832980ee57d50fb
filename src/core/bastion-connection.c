/* bastion-connection.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One profile's "Connect": every step from the profile's fields to a tunnel on 127.0.0.1 (and,
 * when asked, a proven database login through it). The GUI, `bastion-cli tunnel`, `query`,
 * `launch` and `check` all go through it, so they fail the same way, with the same words.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-connection.h"
#include "bastion-ssh-config.h"
#include "bastion-key-file.h"
#include "bastion-readonly-role.h"

struct _BastionConnection
{
  GObject                 parent_instance;

  /* Owned */
  BastionProfile         *profile;
  BastionSecrets         *secrets;
  BastionSshSession      *session;
  BastionTunnel          *tunnel;
  GError                 *error;
  char                   *passphrase;
  char                   *ssh_password;
  char                   *db_password;
  char                   *readonly_password;  /* the team's read-only login, if made */
  BastionSshConfig       *ssh_config;       /* the profile's ~/.ssh/config alias, resolved */

  BastionConnectionStage  stage;
  BastionConnectionStage  failed_stage;
  int                     local_port;
  guint                   keepalive_interval;
  gulong                  tunnel_stage_handler;
  int                     transport;        /* -1: the profile's; else a BastionTransport */
  char                   *transport_note;   /* "… port 22 is closed to you", or NULL */

  guint                   remember_passphrase : 1;
  guint                   remember_ssh_password : 1;
  guint                   remember_db_password : 1;
  guint                   no_reconnect : 1;
  guint                   readonly_looked_up : 1;
};

G_DEFINE_FINAL_TYPE (BastionConnection, bastion_connection, G_TYPE_OBJECT)
G_DEFINE_QUARK (bastion-connection-error-quark, bastion_connection_error)
G_DEFINE_ENUM_TYPE (BastionConnectionStage, bastion_connection_stage,
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_PROFILE, "profile"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_CREDENTIALS, "credentials"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_RESOLVING, "resolving"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_CONNECTING, "connecting"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_VERIFYING_HOST_KEY, "verifying-host-key"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_AUTHENTICATING, "authenticating"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_OPENING_TUNNEL, "opening-tunnel"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_DATABASE_LOGIN, "database-login"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_READY, "ready"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_RECONNECTING, "reconnecting"),
  G_DEFINE_ENUM_VALUE (BASTION_CONNECTION_STAGE_FAILED, "failed"))

enum {
  PROP_0,
  PROP_PROFILE,
  PROP_SECRETS,
  PROP_STAGE,
  PROP_TUNNEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  BastionConnectionFlags  flags;
  BastionDatabase        *database;
  BastionTransport        transport;        /* this attempt's choice */
  GError                 *ssh_error;        /* auto: why SSH did not answer */
  guint                   refetched : 1;
  /* connect_database(): hand the database to the caller; the connection's stage is the
   * tunnel's business only. */
  guint                   keep_database : 1;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_clear_object (&data->database);
  g_clear_error (&data->ssh_error);
  g_free (data);
}

static void
wipe_secret (char **secret)
{
  g_clear_pointer (secret, bastion_secret_free);
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

static void
set_stage (BastionConnection      *self,
           BastionConnectionStage  stage)
{
  if (self->stage == stage)
    return;

  g_debug ("Connection %s: %s", bastion_profile_get_id (self->profile),
           bastion_connection_stage_to_string (stage));
  self->stage = stage;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
}

/* Fails the open at the current step: stage FAILED, failed-stage the step. */
static void
fail_task (BastionConnection *self,
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
      set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
    }
  else
    {
      set_stage (self, BASTION_CONNECTION_STAGE_IDLE);
    }
  g_task_return_error (task, error);
}

static void
fail_task_new (BastionConnection *self,
               GTask             *task,
               int                code,
               const char        *message)
{
  fail_task (self, task, g_error_new_literal (BASTION_CONNECTION_ERROR, code, message));
}

static void
remember_secret (BastionConnection *self,
                 BastionSecretKind  kind,
                 const char        *secret)
{
  /* Fire and forget: a keyring that refuses only means we ask again next time. */
  bastion_secrets_store_async (self->secrets, bastion_profile_get_id (self->profile), kind,
                               NULL, secret, NULL, NULL, NULL);
}

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
        set_stage (self, stage_from_ssh (ssh_stage));
      break;

    case BASTION_CONNECTION_STAGE_READY:
    case BASTION_CONNECTION_STAGE_RECONNECTING:
      if (ssh_stage == BASTION_SSH_STAGE_READY)
        set_stage (self, BASTION_CONNECTION_STAGE_READY);
      else if (ssh_stage == BASTION_SSH_STAGE_RECONNECTING && self->no_reconnect)
        {
          /* The user turned reconnection off: a drop is the end of this connection. */
          g_clear_error (&self->error);
          self->error = g_error_new_literal (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                                             _("The connection to the bastion was lost"));
          self->failed_stage = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
          bastion_tunnel_stop (tunnel);
          set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
        }
      else if (ssh_stage == BASTION_SSH_STAGE_RECONNECTING ||
               ssh_stage == BASTION_SSH_STAGE_RESOLVING ||
               ssh_stage == BASTION_SSH_STAGE_CONNECTING ||
               ssh_stage == BASTION_SSH_STAGE_VERIFYING_HOST_KEY ||
               ssh_stage == BASTION_SSH_STAGE_AUTHENTICATING)
        set_stage (self, BASTION_CONNECTION_STAGE_RECONNECTING);
      else if (ssh_stage == BASTION_SSH_STAGE_FAILED)
        {
          const GError *error = bastion_tunnel_get_error (tunnel);

          g_clear_error (&self->error);
          if (error != NULL)
            self->error = g_error_copy (error);
          self->failed_stage = BASTION_CONNECTION_STAGE_OPENING_TUNNEL;
          set_stage (self, BASTION_CONNECTION_STAGE_FAILED);
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

static void
drop_tunnel (BastionConnection *self)
{
  if (self->tunnel != NULL)
    {
      g_clear_signal_handler (&self->tunnel_stage_handler, self->tunnel);
      bastion_tunnel_stop (self->tunnel);
      g_clear_object (&self->tunnel);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TUNNEL]);
    }
  g_clear_object (&self->session);
}

static gboolean
tunnel_is_up (BastionConnection *self)
{
  BastionSshStage stage;

  if (self->tunnel == NULL)
    return FALSE;

  stage = bastion_tunnel_get_stage (self->tunnel);

  return stage == BASTION_SSH_STAGE_READY || stage == BASTION_SSH_STAGE_RECONNECTING;
}

/* ---- Database login ---------------------------------------------------------------------- */

static void open_login_database (GTask *task);

static void
on_rotated_secret (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(BastionAwsSecret) secret = NULL;
  g_autoptr(GError) error = NULL;

  secret = bastion_aws_get_secret_finish (BASTION_AWS (source), result, &error);
  if (secret == NULL || secret->password == NULL)
    {
      g_autofree char *message =
        g_strdup_printf (_("The database refused the password, and fetching it again from AWS "
                           "Secrets Manager failed: %s"),
                         error ? error->message : _("the secret holds no password"));
      fail_task_new (self, task, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG, message);
      return;
    }

  wipe_secret (&self->db_password);
  self->db_password = g_strdup (secret->password);
  remember_secret (self, BASTION_SECRET_KIND_DB_PASSWORD, self->db_password);
  open_login_database (g_steal_pointer (&task));
}

static gboolean
can_refetch (BastionConnection *self,
             OpenData          *data)
{
  const char *secret_id = bastion_profile_get_aws_secret_id (self->profile);

  return (data->flags & BASTION_CONNECTION_FLAGS_REFETCH_ROTATED_PASSWORD) != 0 &&
         !data->refetched && secret_id != NULL && secret_id[0] != '\0';
}

static void
refetch_password (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  g_autoptr(BastionAws) aws = NULL;

  data->refetched = TRUE;
  g_debug ("Fetching the database password of %s from Secrets Manager",
           bastion_profile_get_id (self->profile));
  aws = bastion_aws_new (bastion_profile_get_aws_profile (self->profile),
                         bastion_profile_get_aws_region (self->profile));
  bastion_aws_get_secret_async (aws, bastion_profile_get_aws_secret_id (self->profile),
                                g_task_get_cancellable (task), on_rotated_secret, task);
}

static void
on_database_connected (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!bastion_database_connect_finish (BASTION_DATABASE (source), result, &error))
    {
      if (g_error_matches (error, BASTION_DATABASE_ERROR, BASTION_DATABASE_ERROR_AUTH))
        {
          if (can_refetch (self, data))
            {
              /* SimpleIOT's password may have been rotated in Secrets Manager: once. */
              g_clear_object (&data->database);
              refetch_password (g_steal_pointer (&task));
              return;
            }
          fail_task (self, task,
                     g_error_new (BASTION_CONNECTION_ERROR,
                                  BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG,
                                  _("The database refused the password for “%s”: %s"),
                                  bastion_profile_get_db_user (self->profile),
                                  error->message));
          return;
        }
      fail_task (self, task, g_steal_pointer (&error));
      return;
    }

  if (data->keep_database)
    {
      g_task_return_pointer (task, g_steal_pointer (&data->database), g_object_unref);
      return;
    }

  /* Proven: the whole chain works. This connection was only the proof. */
  bastion_database_disconnect (BASTION_DATABASE (source));
  g_clear_object (&data->database);
  set_stage (self, BASTION_CONNECTION_STAGE_READY);
  g_task_return_boolean (task, TRUE);
}

static void
on_readonly_password_found (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  GTask *task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  char *password;

  password = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (error != NULL)
    g_debug ("No read-only login from the keyring: %s", error->message);
  wipe_secret (&self->readonly_password);
  self->readonly_password = password;
  self->readonly_looked_up = TRUE;
  open_login_database (task);
}

static void
open_login_database (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);

  /* A read-only profile logs in as the team's read-only role when one was made. */
  if (!self->readonly_looked_up && bastion_profile_get_read_only (self->profile))
    {
      bastion_secrets_lookup_async (self->secrets, bastion_profile_get_id (self->profile),
                                    BASTION_SECRET_KIND_READONLY_PASSWORD,
                                    g_task_get_cancellable (task), on_readonly_password_found,
                                    task);
      return;
    }

  if (self->db_password == NULL)
    {
      if (can_refetch (self, data))
        {
          refetch_password (task);
          return;
        }
      fail_task (self, task,
                 g_error_new (BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED,
                              _("No database password is stored for “%s”; type it, or store it "
                                "with “bastion-cli secret set %s db-password” (or fetch it with "
                                "“bastion-cli aws secret %s”)"),
                              bastion_profile_get_display_name (self->profile),
                              bastion_profile_get_id (self->profile),
                              bastion_profile_get_id (self->profile)));
      g_object_unref (task);
      return;
    }

  data->database = bastion_connection_create_database (self);
  bastion_database_connect_async (data->database, g_task_get_cancellable (task),
                                  on_database_connected, task);
}

static void
on_db_password_found (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  char *password;

  password = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (password != NULL)
    {
      wipe_secret (&self->db_password);
      self->db_password = password;
    }
  else if (g_error_matches (error, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_LOCKED))
    {
      /* "No password stored" would be wrong: it is there, behind the lock. The code still
       * lets a UI ask for the password instead. */
      fail_task_new (self, task, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED, error->message);
      return;
    }
  else if (error != NULL)
    g_debug ("No database password from the keyring: %s", error->message);

  open_login_database (g_steal_pointer (&task));
}

static void
open_database_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);

  if ((data->flags & BASTION_CONNECTION_FLAGS_VERIFY_DATABASE) == 0)
    {
      set_stage (self, BASTION_CONNECTION_STAGE_READY);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  if (!data->keep_database)
    set_stage (self, BASTION_CONNECTION_STAGE_DATABASE_LOGIN);
  /* The read-only login may have been made or dropped since the last login: look again. */
  self->readonly_looked_up = FALSE;
  if (self->db_password != NULL)
    {
      open_login_database (task);
      return;
    }

  bastion_secrets_lookup_async (self->secrets, bastion_profile_get_id (self->profile),
                                BASTION_SECRET_KIND_DB_PASSWORD, g_task_get_cancellable (task),
                                on_db_password_found, task);
}

/* ---- SSH and the tunnel ------------------------------------------------------------------- */

static const char *effective_key_file        (BastionConnection *self);
static char       *passphrase_needed_message (BastionConnection *self);
static void        open_ssm_step             (GTask             *task);

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
          open_ssm_step (g_steal_pointer (&task));
          return;
        }
      fail_task (self, task, both_failed_error (task, g_steal_pointer (&error)));
      return;
    }

  g_clear_pointer (&self->transport_note, g_free);
  if (((OpenData *) g_task_get_task_data (task))->ssh_error != NULL)
    self->transport_note = g_strdup (_("Connected through AWS Session Manager; port 22 is "
                                       "closed to you"));

  if (self->remember_passphrase && self->passphrase != NULL)
    remember_secret (self, BASTION_SECRET_KIND_KEY_PASSPHRASE, self->passphrase);
  if (self->remember_ssh_password && self->ssh_password != NULL)
    remember_secret (self, BASTION_SECRET_KIND_SSH_PASSWORD, self->ssh_password);
  self->remember_passphrase = self->remember_ssh_password = FALSE;

  open_database_step (g_steal_pointer (&task));
}

static char *
passphrase_needed_message (BastionConnection *self)
{
  return g_strdup_printf (_("The key file “%s” is protected by a passphrase; type it, or store it "
                            "with “bastion-cli secret set %s key-passphrase”"),
                          effective_key_file (self), bastion_profile_get_id (self->profile));
}

static BastionSshAuthMethod
ssh_auth_method (BastionProfile *profile)
{
  switch (bastion_profile_get_auth_method (profile))
    {
    case BASTION_AUTH_METHOD_AGENT:
      return BASTION_SSH_AUTH_AGENT;
    case BASTION_AUTH_METHOD_PASSWORD:
      return BASTION_SSH_AUTH_PASSWORD;
    case BASTION_AUTH_METHOD_KEY:
    default:
      return BASTION_SSH_AUTH_KEY_FILE;
    }
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

  drop_tunnel (self);

  if (user == NULL || user[0] == '\0')
    user = "ec2-user";

  if (self->ssh_config != NULL)
    user = self->ssh_config->user;
  self->session = bastion_ssh_session_new (effective_ssh_host (self), effective_ssh_port (self),
                                           user);
  apply_ssh_config (self, data->flags);
  g_object_set (self->session,
                "auth-method", ssh_auth_method (self->profile),
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TUNNEL]);

  set_stage (self, BASTION_CONNECTION_STAGE_RESOLVING);
  bastion_tunnel_start_async (self->tunnel, g_task_get_cancellable (task), on_tunnel_started,
                              task);
}

/* The tunnel through AWS Session Manager (issue 21): no SSH step, the AWS identity instead. */
static void
open_ssm_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  guint16 port;

  drop_tunnel (self);
  port = self->local_port >= 0 ? self->local_port : bastion_profile_get_local_port (self->profile);
  self->tunnel = bastion_tunnel_new_ssm (self->profile, port);
  self->tunnel_stage_handler =
    g_signal_connect_object (self->tunnel, "notify::stage", G_CALLBACK (on_tunnel_stage), self,
                             G_CONNECT_SWAPPED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TUNNEL]);

  set_stage (self, BASTION_CONNECTION_STAGE_OPENING_TUNNEL);
  bastion_tunnel_start_async (self->tunnel, g_task_get_cancellable (task), on_tunnel_started,
                              task);
}

/* ---- Credentials -------------------------------------------------------------------------- */

static void
on_ssh_secret_found (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  BastionSecretKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "kind"));
  g_autoptr(GError) error = NULL;
  char *secret;

  secret = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (g_error_matches (error, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_LOCKED))
    {
      fail_task_new (self, task,
                     kind == BASTION_SECRET_KIND_KEY_PASSPHRASE
                     ? BASTION_CONNECTION_ERROR_PASSPHRASE_NEEDED
                     : BASTION_CONNECTION_ERROR_SSH_PASSWORD_NEEDED,
                     error->message);
      return;
    }
  if (secret == NULL)
    {
      const char *id = bastion_profile_get_id (self->profile);
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
          message = g_strdup_printf (_("No SSH password is stored for “%s”; type it, or store it "
                                       "with “bastion-cli secret set %s ssh-password”"),
                                     bastion_profile_get_display_name (self->profile), id);
        }
      fail_task_new (self, task, code, message);
      return;
    }

  if (kind == BASTION_SECRET_KIND_KEY_PASSPHRASE)
    {
      wipe_secret (&self->passphrase);
      self->passphrase = secret;
    }
  else
    {
      wipe_secret (&self->ssh_password);
      self->ssh_password = secret;
    }

  open_tunnel_step (g_steal_pointer (&task));
}

static void
lookup_ssh_secret (GTask             *task,
                   BastionSecretKind  kind)
{
  BastionConnection *self = g_task_get_source_object (task);

  g_object_set_data (G_OBJECT (task), "kind", GINT_TO_POINTER (kind));
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
      fail_task (self, task, g_steal_pointer (&error));
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
      fail_task_new (self, task, BASTION_CONNECTION_ERROR_FAILED,
                     message ? message : _("The SSH key file cannot be used"));
      return;
    }
}

static void open_credentials_step (GTask *task);

static void
on_ssh_config_resolved (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  BastionSshConfig *config = bastion_ssh_config_resolve_finish (result, &error);
  const char *jump;

  if (config == NULL)
    {
      fail_task (self, task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&self->ssh_config, bastion_ssh_config_free);
  self->ssh_config = config;

  jump = config->proxy_jump;
  if (jump == NULL)
    jump = bastion_profile_get_proxy_jump (self->profile);
  if (jump != NULL && jump[0] != '\0')
    {
      fail_task (self, task,
                 g_error_new (BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_INCOMPLETE,
                              _("The SSH alias “%s” reaches the bastion through ProxyJump %s, "
                                "which Bastion cannot do yet: use an alias without ProxyJump, "
                                "or open the hops with ssh -L and point the team at it"),
                              config->alias, jump));
      return;
    }

  open_credentials_step (g_steal_pointer (&task));
}

/* A profile that names an alias of ~/.ssh/config: OpenSSH says what it means (in a thread). */
static void
open_ssh_config_step (GTask *task)
{
  BastionConnection *self = g_task_get_source_object (task);
  const char *alias = bastion_profile_get_ssh_alias (self->profile);
  const char *jump = bastion_profile_get_proxy_jump (self->profile);

  g_clear_pointer (&self->ssh_config, bastion_ssh_config_free);

  if (alias != NULL && alias[0] != '\0')
    {
      g_autofree char *config_file = bastion_ssh_config_dup_user_file ();

      bastion_ssh_config_resolve_async (alias, config_file, g_task_get_cancellable (task),
                                        on_ssh_config_resolved, task);
      return;
    }

  if (jump != NULL && jump[0] != '\0')
    {
      fail_task (self, task,
                 g_error_new (BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_INCOMPLETE,
                              _("“%s” reaches the bastion through ProxyJump %s, which Bastion "
                                "cannot do yet: clear ProxyJump in the team’s settings, or open "
                                "the hops with ssh -L and point the team at it"),
                              bastion_profile_get_display_name (self->profile), jump));
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

  set_stage (self, BASTION_CONNECTION_STAGE_CREDENTIALS);

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
          fail_task_new (self, task, BASTION_CONNECTION_ERROR_INCOMPLETE,
                         _("No SSH key file is set; choose the team’s .pem key in the team’s "
                           "settings"));
          g_object_unref (task);
          return;
        }
      bastion_key_file_check_async (key_file, g_task_get_cancellable (task),
                                    on_key_file_checked, task);
      return;
    }
}

static gboolean
field_missing (const char *value)
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
  if (tunnel_is_up (self))
    {
      open_database_step (g_steal_pointer (&task));
      return;
    }

  set_stage (self, BASTION_CONNECTION_STAGE_PROFILE);

  if (!bastion_profile_get_has_db_access (self->profile))
    {
      reason = bastion_profile_get_no_access_reason (self->profile);
      fail_task (self, task,
                 g_error_new (BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_NO_DB_ACCESS,
                              _("“%s” has no database access: %s"),
                              bastion_profile_get_display_name (self->profile),
                              reason ? reason : _("its config names no bastion or database")));
      return;
    }
  if (data->transport == BASTION_TRANSPORT_SSM)
    {
      if (field_missing (bastion_profile_get_db_host (self->profile)))
        {
          fail_task_new (self, task, BASTION_CONNECTION_ERROR_INCOMPLETE,
                         _("No database host is set; enter it in the team’s settings"));
          return;
        }
      open_ssm_step (g_steal_pointer (&task));
      return;
    }
  if (field_missing (bastion_profile_get_ssh_host (self->profile)) &&
      field_missing (bastion_profile_get_ssh_alias (self->profile)))
    {
      fail_task_new (self, task, BASTION_CONNECTION_ERROR_INCOMPLETE,
                     _("No bastion host is set; enter it in the team’s settings, or import the "
                       "team again"));
      return;
    }
  if (field_missing (bastion_profile_get_db_host (self->profile)))
    {
      fail_task_new (self, task, BASTION_CONNECTION_ERROR_INCOMPLETE,
                     _("No database host is set; enter it in the team’s settings"));
      return;
    }

  open_ssh_config_step (g_steal_pointer (&task));
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

  if (!tunnel_is_up (self))
    {
      g_task_return_new_error (task, BASTION_CONNECTION_ERROR, BASTION_CONNECTION_ERROR_FAILED,
                               _("The tunnel is not open; connect first"));
      return;
    }

  open_database_step (g_steal_pointer (&task));
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

  drop_tunnel (self);
  wipe_secret (&self->passphrase);
  wipe_secret (&self->ssh_password);
  wipe_secret (&self->db_password);
  wipe_secret (&self->readonly_password);
  self->readonly_looked_up = FALSE;
  g_clear_error (&self->error);
  self->failed_stage = BASTION_CONNECTION_STAGE_IDLE;
  set_stage (self, BASTION_CONNECTION_STAGE_IDLE);
}

static gboolean
uses_readonly_role (BastionConnection *self)
{
  return self->readonly_password != NULL && bastion_profile_get_read_only (self->profile);
}

BastionDatabase *
bastion_connection_create_database (BastionConnection *self)
{
  BastionDatabase *database;
  const char *ssl_mode;
  const char *root_cert;

  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (self->tunnel != NULL, NULL);

  /* hostaddr is the tunnel; host is the real name, so TLS verifies the server it expects. */
  database = bastion_database_new ("127.0.0.1",
                                   bastion_tunnel_get_local_port (self->tunnel),
                                   bastion_profile_get_db_host (self->profile),
                                   bastion_profile_get_db_name (self->profile),
                                   bastion_profile_get_db_user (self->profile));
  ssl_mode = bastion_profile_get_ssl_mode (self->profile);
  root_cert = bastion_profile_get_ssl_root_cert (self->profile);
  if (!field_missing (root_cert))
    bastion_database_set_sslrootcert (database, root_cert);
  if (!field_missing (ssl_mode))
    bastion_database_set_sslmode (database, ssl_mode);
  if (self->db_password != NULL)
    bastion_database_set_password (database, self->db_password);
  if (uses_readonly_role (self))
    bastion_database_set_read_only_login (database, BASTION_READONLY_ROLE,
                                          self->readonly_password);

  return database;
}

char *
bastion_connection_dup_readonly_password (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  return uses_readonly_role (self) ? g_strdup (self->readonly_password) : NULL;
}

BastionLaunchTarget *
bastion_connection_dup_launch_target (BastionConnection *self)
{
  BastionLaunchTarget *target;
  const char *ssl_mode;

  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  if (self->tunnel == NULL || bastion_tunnel_get_local_port (self->tunnel) == 0)
    return NULL;

  ssl_mode = bastion_profile_get_ssl_mode (self->profile);
  target = bastion_launch_target_new ();
  target->team = g_strdup (bastion_profile_get_display_name (self->profile));
  target->profile_id = g_strdup (bastion_profile_get_id (self->profile));
  target->local_host = g_strdup ("127.0.0.1");
  target->local_port = bastion_tunnel_get_local_port (self->tunnel);
  target->db_host = g_strdup (bastion_profile_get_db_host (self->profile));
  target->db_name = g_strdup (bastion_profile_get_db_name (self->profile));
  target->db_user = g_strdup (bastion_profile_get_db_user (self->profile));
  target->sslmode = field_missing (ssl_mode) ? NULL : g_strdup (ssl_mode);
  target->read_only = bastion_profile_get_read_only (self->profile);
  if (uses_readonly_role (self))
    {
      g_free (target->db_user);
      target->db_user = g_strdup (BASTION_READONLY_ROLE);
      target->password_kind = g_strdup ("readonly-password");
    }

  return target;
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

  wipe_secret (&self->passphrase);
  self->passphrase = g_strdup (passphrase);
  self->remember_passphrase = remember;
}

void
bastion_connection_set_ssh_password (BastionConnection *self,
                                     const char        *password,
                                     gboolean           remember)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  wipe_secret (&self->ssh_password);
  self->ssh_password = g_strdup (password);
  self->remember_ssh_password = remember;
}

void
bastion_connection_set_db_password (BastionConnection *self,
                                    const char        *password,
                                    gboolean           remember)
{
  g_return_if_fail (BASTION_IS_CONNECTION (self));

  wipe_secret (&self->db_password);
  self->db_password = g_strdup (password);
  if (remember && password != NULL)
    remember_secret (self, BASTION_SECRET_KIND_DB_PASSWORD, password);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_connection_dispose (GObject *object)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  drop_tunnel (self);

  G_OBJECT_CLASS (bastion_connection_parent_class)->dispose (object);
}

static void
bastion_connection_finalize (GObject *object)
{
  BastionConnection *self = BASTION_CONNECTION (object);

  wipe_secret (&self->passphrase);
  wipe_secret (&self->ssh_password);
  wipe_secret (&self->db_password);
  wipe_secret (&self->readonly_password);
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
