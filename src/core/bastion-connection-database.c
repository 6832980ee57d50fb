/* bastion-connection-database.c
 *
 * BastionConnection's last step, the database login through the tunnel (the password from the
 * keyring, or fetched again from Secrets Manager once rotated; the read-only role), and the
 * database and launch target it hands out.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-connection-private.h"
#include "bastion-readonly-role.h"

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
      _bastion_connection_fail_task_new (self, task, BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG,
                                         message);
      return;
    }

  bastion_secure_clear_str (&self->db_password);
  self->db_password = g_strdup (secret->password);
  _bastion_connection_remember_secret (self, BASTION_SECRET_KIND_DB_PASSWORD, self->db_password);
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
          _bastion_connection_fail_task (self, task,
                                         g_error_new (BASTION_CONNECTION_ERROR,
                                                      BASTION_CONNECTION_ERROR_DB_PASSWORD_WRONG,
                                                      _("The database refused the password for "
                                                        "“%s”: %s"),
                                                      bastion_profile_get_db_user (self->profile),
                                                      error->message));
          return;
        }
      _bastion_connection_fail_task (self, task, g_steal_pointer (&error));
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
  _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_READY);
  g_task_return_boolean (task, TRUE);
}

static void
on_readonly_password_found (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  char *password;

  password = bastion_secrets_lookup_finish (BASTION_SECRETS (source), result, &error);
  if (error != NULL)
    g_debug ("No read-only login from the keyring: %s", error->message);
  bastion_secure_clear_str (&self->readonly_password);
  self->readonly_password = password;
  self->readonly_looked_up = TRUE;
  open_login_database (g_steal_pointer (&task));
}

/* Takes TASK_IN over, as every step does. */
static void
open_login_database (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  /* A read-only profile logs in as the team's read-only role when one was made. */
  if (!self->readonly_looked_up && bastion_profile_get_read_only (self->profile))
    {
      bastion_secrets_lookup_async (self->secrets, bastion_profile_get_id (self->profile),
                                    BASTION_SECRET_KIND_READONLY_PASSWORD, cancellable,
                                    on_readonly_password_found, g_steal_pointer (&task));
      return;
    }

  if (self->db_password == NULL)
    {
      if (can_refetch (self, data))
        {
          refetch_password (g_steal_pointer (&task));
          return;
        }
      _bastion_connection_fail_task (self, task,
                                     g_error_new (BASTION_CONNECTION_ERROR,
                                                  BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED,
                                                  _("No database password is stored for “%s”"),
                                                  bastion_profile_get_display_name
                                                    (self->profile)));
      return;
    }

  data->database = bastion_connection_create_database (self);
  bastion_database_connect_async (data->database, cancellable, on_database_connected,
                                  g_steal_pointer (&task));
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
      bastion_secure_clear_str (&self->db_password);
      self->db_password = password;
    }
  else if (g_error_matches (error, BASTION_SECRETS_ERROR, BASTION_SECRETS_ERROR_LOCKED))
    {
      /* "No password stored" would be wrong: it is there, behind the lock. The code still
       * lets a UI ask for the password instead. */
      _bastion_connection_fail_task_new (self, task, BASTION_CONNECTION_ERROR_DB_PASSWORD_NEEDED,
                                         error->message);
      return;
    }
  else if (error != NULL)
    g_debug ("No database password from the keyring: %s", error->message);

  open_login_database (g_steal_pointer (&task));
}

void
_bastion_connection_open_database_step (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  BastionConnection *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if ((data->flags & BASTION_CONNECTION_FLAGS_VERIFY_DATABASE) == 0)
    {
      _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_READY);
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (!data->keep_database)
    _bastion_connection_set_stage (self, BASTION_CONNECTION_STAGE_DATABASE_LOGIN);
  /* The read-only login may have been made or dropped since the last login: look again. */
  self->readonly_looked_up = FALSE;
  if (self->db_password != NULL)
    {
      open_login_database (g_steal_pointer (&task));
      return;
    }

  bastion_secrets_lookup_async (self->secrets, bastion_profile_get_id (self->profile),
                                BASTION_SECRET_KIND_DB_PASSWORD, cancellable,
                                on_db_password_found, g_steal_pointer (&task));
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
  if (!_bastion_connection_field_missing (root_cert))
    bastion_database_set_sslrootcert (database, root_cert);
  if (!_bastion_connection_field_missing (ssl_mode))
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

char *
bastion_connection_dup_db_password (BastionConnection *self)
{
  g_return_val_if_fail (BASTION_IS_CONNECTION (self), NULL);

  return g_strdup (self->db_password);
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
  target->sslmode = _bastion_connection_field_missing (ssl_mode) ? NULL : g_strdup (ssl_mode);
  target->read_only = bastion_profile_get_read_only (self->profile);
  if (uses_readonly_role (self))
    {
      g_free (target->db_user);
      target->db_user = g_strdup (BASTION_READONLY_ROLE);
      target->password_kind = g_strdup ("readonly-password");
    }

  return target;
}
