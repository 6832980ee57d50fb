/* bastion-ssh-session-host-key.c
 *
 * The bastion's host key: the known_hosts files read in a thread, the check against them and
 * a pinned fingerprint, and recording a new key (accept-new, trust) in a thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-ssh-session-impl-private.h"

/* As OpenSSH: what was expected, what arrived, and where the old key is. */
static GError *
changed_key_error (BastionSshSession *self,
                   const guint8      *blob,
                   gsize              len,
                   const char        *user_file,
                   const char        *own_file)
{
  const char *files[] = { user_file, own_file };
  g_autofree char *old = NULL;
  guint source = 0, line_no = 0;

  if (!bastion_known_hosts_find_old_key_contents ((const char * const *)self->known_hosts,
                                                  self->host, self->port, blob, len,
                                                  &old, &source, &line_no)
      || source >= G_N_ELEMENTS (files))
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED,
                        _("WARNING: the host key of the bastion %s has CHANGED (it is now %s). "
                          "Someone may be intercepting the connection, or the bastion was "
                          "rebuilt. Refusing to connect. Once its administrator has confirmed "
                          "the new key, remove the old one from %s or %s."),
                        self->host, self->fingerprint, user_file, own_file);

  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED,
                      /* Translators: host, expected fingerprint, offered fingerprint, file:line */
                      _("WARNING: the host key of the bastion %s has CHANGED. Expected %s, the "
                        "server offered %s. Someone may be intercepting the connection, or the "
                        "bastion was rebuilt. Refusing to connect. Once its administrator has "
                        "confirmed the new key, remove the old one from %s:%u."),
                      self->host, old, self->fingerprint, files[source], line_no);
}

/* The key against the known_hosts files as read in a thread when the connection started (no
 * file I/O here), then against the profile's pinned fingerprint. */
static BastionHostKeyStatus
host_key_status (BastionSshSession *self,
                 const guint8      *blob,
                 gsize              len)
{
  BastionHostKeyStatus status =
    bastion_known_hosts_check_contents ((const char * const *)self->known_hosts,
                                        self->host, self->port, blob, len);

  if (status == BASTION_HOST_KEY_CHANGED || status == BASTION_HOST_KEY_REVOKED ||
      self->host_key_pin == NULL || self->host_key_pin[0] == '\0')
    return status;

  return bastion_known_hosts_fingerprint_equal (self->host_key_pin, blob, len)
         ? BASTION_HOST_KEY_PIN_MATCH : BASTION_HOST_KEY_PIN_MISMATCH;
}

/* *save_new is set when the key is new and to be recorded (accept-new): the caller writes it
 * off the main loop (start_host_key_save()). */
GError *
_bastion_ssh_check_host_key (BastionSshSession *self,
                             gboolean          *save_new)
{
  g_autofree char *user_file = self->user_known_hosts ? g_strdup (self->user_known_hosts)
                                                      : bastion_known_hosts_dup_user_file ();
  g_autofree char *own_file = self->bastion_known_hosts ? g_strdup (self->bastion_known_hosts)
                                                        : bastion_known_hosts_dup_bastion_file ();
  const char *blob;
  size_t len = 0;
  int type = 0;
  BastionHostKeyStatus status;

  blob = libssh2_session_hostkey (self->session, &len, &type);
  if (blob == NULL)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                        _("The bastion %s sent no host key"), self->host);

  g_clear_pointer (&self->host_key, g_bytes_unref);
  self->host_key = g_bytes_new (blob, len);
  _bastion_ssh_set_fingerprint (self, bastion_known_hosts_fingerprint ((const guint8 *)blob, len));

  status = host_key_status (self, (const guint8 *)blob, len);
  self->host_key_status = status;
  g_debug ("SSH %s:%u: host key %s, status %d", self->host, self->port, self->fingerprint,
           status);

  if (self->flags & BASTION_SSH_CONNECT_HOST_KEY_ONLY)
    return NULL;

  switch (status)
    {
    case BASTION_HOST_KEY_TRUSTED:
    case BASTION_HOST_KEY_PIN_MATCH:
      return NULL;

    case BASTION_HOST_KEY_UNKNOWN:
      if (self->accept_new)
        {
          *save_new = TRUE;
          return NULL;
        }
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN,
                          _("The host key of the bastion %s is not known yet; its fingerprint "
                            "is %s"),
                          self->host, self->fingerprint);

    case BASTION_HOST_KEY_PIN_MISMATCH:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH,
                          _("The host key of the bastion %s (%s) does not match the fingerprint "
                            "pinned in the profile (%s). Refusing to connect."),
                          self->host, self->fingerprint, self->host_key_pin);

    case BASTION_HOST_KEY_REVOKED:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED,
                          _("WARNING: the host key of the bastion %s (%s) is marked @revoked in "
                            "your known hosts files (%s or %s). Refusing to connect; ask the "
                            "bastion’s administrator for its current key."),
                          self->host, self->fingerprint, user_file, own_file);

    case BASTION_HOST_KEY_CHANGED:
      return changed_key_error (self, (const guint8 *)blob, len, user_file, own_file);

    case BASTION_HOST_KEY_UNCHECKED:
    default:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED,
                          _("WARNING: the host key of the bastion %s has CHANGED (it is now %s). "
                            "Someone may be intercepting the connection, or the bastion was "
                            "rebuilt. Refusing to connect. Once its administrator has confirmed "
                            "the new key, remove the old one from %s or %s."),
                          self->host, self->fingerprint, user_file, own_file);
    }
}

/* The host key passed: a probe (HOST_KEY_ONLY) ends here, a connection goes on to log in. */
void
_bastion_ssh_host_key_accepted (BastionSshSession *self)
{
  if (self->flags & BASTION_SSH_CONNECT_HOST_KEY_ONLY)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->task);

      _bastion_ssh_drop_user_cancellable (self);
      _bastion_ssh_teardown (self, TRUE);
      self->phase = PHASE_IDLE;
      _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_CLOSED);
      g_task_return_boolean (task, TRUE);
      return;
    }
  _bastion_ssh_start_auth (self);
}

typedef struct
{
  char    *file;
  char    *host;
  guint16  port;
  GBytes  *blob;
} HostKeySave;

static void
host_key_save_free (HostKeySave *save)
{
  g_free (save->file);
  g_free (save->host);
  g_bytes_unref (save->blob);
  g_free (save);
}

static void
host_key_save_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  HostKeySave *save = task_data;
  GError *error = NULL;
  gsize len = 0;
  const guint8 *blob = g_bytes_get_data (save->blob, &len);

  if (bastion_known_hosts_add (save->file, save->host, save->port, blob, len, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_host_key_saved (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSshSession *self = g_task_get_source_object (task);
  GError *error = NULL;
  gboolean saved = g_task_propagate_boolean (G_TASK (result), &error);

  /* Cancelled, failed or reconnected meanwhile: this answer is for nobody. */
  if (self->task != task || self->phase != PHASE_HOST_KEY_SAVE)
    {
      g_clear_error (&error);
      return;
    }
  if (!saved)
    {
      _bastion_ssh_fail_task (self, error);
      return;
    }

  self->host_key_status = BASTION_HOST_KEY_TRUSTED;
  self->watch = bastion_fd_watch_new (_bastion_ssh_raw_fd (self), G_IO_IN | G_IO_OUT,
                                      _bastion_ssh_on_socket_event, self);
  _bastion_ssh_host_key_accepted (self);
  if (self->phase == PHASE_AUTH_LIST)
    _bastion_ssh_advance (self);
}

/* What the thread writing the host key needs, copied: it never touches the session. */
static HostKeySave *
host_key_save_new (BastionSshSession *self)
{
  HostKeySave *save = g_new0 (HostKeySave, 1);

  save->file = self->bastion_known_hosts ? g_strdup (self->bastion_known_hosts)
                                         : bastion_known_hosts_dup_bastion_file ();
  save->host = g_strdup (self->host);
  save->port = self->port;
  save->blob = g_bytes_ref (self->host_key);

  return save;
}

/* Appends the new host key to Bastion's known_hosts file in a thread (it ends with fsync). */
void
_bastion_ssh_start_host_key_save (BastionSshSession *self)
{
  g_autoptr(GTask) task = NULL;
  HostKeySave *save = host_key_save_new (self);

  self->phase = PHASE_HOST_KEY_SAVE;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  task = g_task_new (NULL, NULL, on_host_key_saved, g_object_ref (self->task));
  g_task_set_source_tag (task, _bastion_ssh_start_host_key_save);
  g_task_set_task_data (task, save, (GDestroyNotify) host_key_save_free);
  g_task_run_in_thread (task, host_key_save_thread);
}

static void
known_hosts_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  g_task_return_pointer (task, bastion_known_hosts_read_files (task_data),
                         (GDestroyNotify) g_strfreev);
}

static void
on_known_hosts_read (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSshSession *self = g_task_get_source_object (task);
  g_auto(GStrv) contents = g_task_propagate_pointer (G_TASK (result), NULL);

  /* Cancelled, failed or reconnected meanwhile: this answer is for nobody. */
  if (self->task != task)
    return;

  g_strfreev (self->known_hosts);
  self->known_hosts = g_steal_pointer (&contents);
  if (self->known_hosts == NULL)
    self->known_hosts = g_new0 (char *, 1);
  self->known_hosts_ready = TRUE;
  if (self->phase == PHASE_KNOWN_HOSTS)
    _bastion_ssh_start_handshake (self);
}

/* known_hosts files may sit on a slow or network file system (or be a FIFO): read them in a
 * thread while the TCP connection is made. */
void
_bastion_ssh_start_known_hosts_read (BastionSshSession *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *user_file = self->user_known_hosts ? g_strdup (self->user_known_hosts)
                                                      : bastion_known_hosts_dup_user_file ();
  g_autofree char *own_file = self->bastion_known_hosts ? g_strdup (self->bastion_known_hosts)
                                                        : bastion_known_hosts_dup_bastion_file ();
  char **files = g_new0 (char *, 3);

  files[0] = g_steal_pointer (&user_file);
  files[1] = g_steal_pointer (&own_file);
  g_clear_pointer (&self->known_hosts, g_strfreev);
  self->known_hosts_ready = FALSE;

  task = g_task_new (NULL, NULL, on_known_hosts_read, g_object_ref (self->task));
  g_task_set_source_tag (task, _bastion_ssh_start_known_hosts_read);
  g_task_set_task_data (task, files, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, known_hosts_thread);
}

static void
on_host_key_trusted (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSshSession *self = g_task_get_source_object (task);
  HostKeySave *save = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* Unless a new connection met another key meanwhile: the status is about that one. */
  if (self->host_key != NULL && g_bytes_equal (self->host_key, save->blob))
    self->host_key_status = BASTION_HOST_KEY_TRUSTED;
  g_task_return_boolean (task, TRUE);
}

void
bastion_ssh_session_trust_host_key_async (BastionSshSession   *self,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) save_task = NULL;

  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_ssh_session_trust_host_key_async);

  if (self->host_key == NULL)
    {
      g_task_return_new_error (task, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                               _("The bastion’s host key has not been seen yet"));
      return;
    }

  if (self->host_key_status == BASTION_HOST_KEY_CHANGED ||
      self->host_key_status == BASTION_HOST_KEY_REVOKED)
    {
      g_task_return_new_error (task, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED,
                               _("The host key of %s has changed; Bastion will not record the "
                                 "new one while the old one is known. Remove the old key "
                                 "first."), self->host);
      return;
    }

  /* Cancelled already: nothing written. Once started, the write is not stopped: it completes
   * and sets the status, and a caller who cancelled meanwhile gets G_IO_ERROR_CANCELLED. */
  if (g_task_return_error_if_cancelled (task))
    return;
  save_task = g_task_new (NULL, NULL, on_host_key_trusted, g_steal_pointer (&task));
  g_task_set_source_tag (save_task, bastion_ssh_session_trust_host_key_async);
  g_task_set_task_data (save_task, host_key_save_new (self), (GDestroyNotify) host_key_save_free);
  g_task_run_in_thread (save_task, host_key_save_thread);
}

gboolean
bastion_ssh_session_trust_host_key_finish (BastionSshSession  *self,
                                           GAsyncResult       *result,
                                           GError            **error)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
