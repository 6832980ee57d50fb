/* bastion-ssh-session-auth.c
 *
 * Logging in: the key file (read in a thread), the SSH agent and passphrase-protected keys in
 * a thread (AuthJob), keyboard-interactive and password, in OpenSSH's order.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-key-file.h"
#include "bastion-secure.h"
#include "bastion-ssh-agent.h"
#include "bastion-ssh-session-impl-private.h"

static BastionSshAuthThreadHook auth_thread_hook;
static gpointer                 auth_thread_hook_data;

void
_bastion_ssh_session_set_auth_thread_hook (BastionSshAuthThreadHook hook,
                                           gpointer                 user_data)
{
  auth_thread_hook = hook;
  auth_thread_hook_data = user_data;
}

static void
auth_job_free (AuthJob *job)
{
  /* Normally the callback took the session back; a task dropped without it leaves it here. */
  if (job->session != NULL)
    libssh2_session_free (job->session);
  if (job->orphan_connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (job->orphan_connection), NULL, NULL);
      g_clear_object (&job->orphan_connection);
    }
  bastion_secure_wipe (job->key_data, job->key_data_len);
  g_free (job->key_data);
  bastion_secure_str_free (job->passphrase);
  g_free (job->user);
  g_free (job->public_key);
  g_free (job->message);
  bastion_ssh_agent_report_clear (&job->agent_report);
  g_free (job);
}

static gboolean
offered (BastionSshSession *self,
         const char        *method)
{
  g_auto(GStrv) methods = NULL;

  if (self->offered == NULL)
    return FALSE;

  methods = g_strsplit (self->offered, ",", -1);
  return g_strv_contains ((const char * const *)methods, method);
}

static void
note_tried (BastionSshSession *self,
            const char        *what)
{
  if (self->tried->len > 0)
    g_string_append (self->tried, ", ");
  g_string_append (self->tried, what);
}

GError *
_bastion_ssh_auth_failed_error (BastionSshSession *self)
{
  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                      _("The bastion %s refused to log in as “%s”. It accepts: %s; tried: %s. "
                        "Check the user name and the key or password of this team."),
                      self->host, self->user,
                      self->offered != NULL && self->offered[0] ? self->offered : _("nothing"),
                      self->tried->len > 0 ? self->tried->str : _("nothing"));
}

static void
kbdint_cb (const char                              *name,
           int                                      name_len,
           const char                              *instruction,
           int                                      instruction_len,
           int                                      num_prompts,
           const LIBSSH2_USERAUTH_KBDINT_PROMPT    *prompts,
           LIBSSH2_USERAUTH_KBDINT_RESPONSE        *responses,
           void                                   **abstract)
{
  BastionSshSession *self = *abstract;

  for (int i = 0; i < num_prompts; i++)
    {
      /* libssh2 frees the answers with free(). */
      if (self->password != NULL && !prompts[i].echo)
        {
          responses[i].text = strdup (self->password);
          responses[i].length = strlen (self->password);
        }
      else
        {
          responses[i].text = strdup ("");
          responses[i].length = 0;
        }
    }
}

/* The error for a failed key file login; msg is libssh2's last error message. */
static GError *
key_file_auth_error (BastionSshSession *self,
                     int                rc,
                     const char        *msg)
{
  note_tried (self, _("publickey (key file)"));
  if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED ||
      rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                        self->passphrase != NULL
                        ? _("Cannot use the key file “%s”: the passphrase is wrong or the format "
                            "is not supported (%s)")
                        : _("Cannot use the key file “%s”: the format is not supported (%s)"),
                        self->key_file, msg);

  /* With the public key given, libssh2 reads the private key only to sign, once the server
   * accepted the public key; when that fails (a wrong passphrase), userauth.c reports this
   * message with LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED. */
  if (rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && g_strcmp0 (msg, "Callback returned error") == 0)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                        self->passphrase != NULL
                        ? _("Cannot use the key file “%s”: the passphrase is wrong, or this kind "
                            "of key cannot sign")
                        : _("Cannot use the key file “%s”: this kind of key cannot sign"),
                        self->key_file);

  if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
    return _bastion_ssh_auth_failed_error (self);

  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                      _("Logging in to the bastion %s with the key file “%s” failed: %s"),
                      self->host, self->key_file, msg);
}

static ssize_t
recv_plain_cb (libssh2_socket_t   sock,
               void              *buffer,
               size_t             length,
               int                flags,
               void             **abstract)
{
  ssize_t n = recv (sock, buffer, length, flags);

  return n < 0 ? -errno : n;
}

static void
auth_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  AuthJob *job = task_data;

  if (auth_thread_hook != NULL)
    auth_thread_hook (auth_thread_hook_data);

  if (job->agent)
    {
      job->agent_result = bastion_ssh_agent_login (job->session, job->user, job->public_key,
                                                   job->agent_only_prefer, job->agent_max_keys,
                                                   &job->agent_report);
      job->rc = job->agent_result == BASTION_SSH_AGENT_OK ? 0 : -1;
    }
  else
    job->rc = libssh2_userauth_publickey_frommemory (job->session, job->user, strlen (job->user),
                                                     job->public_key, strlen (job->public_key),
                                                     job->key_data, job->key_data_len,
                                                     job->passphrase);
  if (job->rc != 0)
    {
      char *msg = NULL;

      libssh2_session_last_error (job->session, &msg, NULL, 0);
      job->message = g_strdup (msg != NULL ? msg : "");
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_auth_used (BastionSshSession *self,
               char              *how)
{
  g_free (self->auth_used);
  self->auth_used = how;
  g_debug ("SSH %s:%u: logged in through %s", self->host, self->port, how);
}

static void agent_login_done (BastionSshSession *self,
                              AuthJob           *job);

static void
on_auth_thread_done (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(BastionSshSession) self = user_data;
  AuthJob *job = g_task_get_task_data (G_TASK (result));

  /* Cancelled, timed out or disposed meanwhile: auth_job_free() frees the session and the
   * socket teardown() left to the job. */
  if (job->orphaned)
    {
      g_debug ("SSH %s:%u: a key login in a thread ended after it was abandoned (%d)", self->host,
               self->port, job->rc);
      return;
    }

  g_assert (self->auth_job == job);
  self->auth_job = NULL;
  self->session = g_steal_pointer (&job->session);
  libssh2_session_set_timeout (self->session, 0);
  libssh2_session_set_blocking (self->session, 0);
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *)_bastion_ssh_recv_cb);
  self->phase = PHASE_AUTH;
  self->watch = bastion_fd_watch_new (_bastion_ssh_raw_fd (self), G_IO_IN | G_IO_OUT,
                                      _bastion_ssh_on_socket_event, self);

  g_debug ("SSH %s:%u: %s login in a thread: %d", self->host, self->port,
           job->agent ? "agent" : "key", job->rc);
  if (job->agent)
    {
      agent_login_done (self, job);
      return;
    }
  if (job->rc == 0)
    {
      set_auth_used (self, g_strdup_printf (_("the key file %s"), self->key_file));
      _bastion_ssh_become_ready (self);
    }
  else
    _bastion_ssh_fail_task (self, key_file_auth_error (self, job->rc, job->message));
}

/* Hands the session to a thread for the login (see AuthJob). Nothing is half-sent here: the
 * last call, libssh2_userauth_list(), completed. */
static void
start_auth_thread (BastionSshSession *self,
                   gboolean           agent)
{
  g_autoptr(GTask) task = NULL;
  AuthJob *job = g_new0 (AuthJob, 1);
  gint64 elapsed_ms = (g_get_monotonic_time () - self->connect_started) / 1000;
  gint64 left_ms = (gint64)self->connect_timeout * 1000 - elapsed_ms;

  job->user = g_strdup (self->user);
  job->public_key = g_strdup (self->key_public);
  job->agent = agent;
  if (agent)
    {
      /* sshd counts each refused key against MaxAuthTries (6 by default): leave room for the
       * methods that come after the agent. */
      job->agent_max_keys = self->auth_method == BASTION_AUTH_METHOD_AGENT ? 5 : 3;
      job->agent_only_prefer = self->identities_only;
    }
  else
    {
      job->key_data = g_steal_pointer (&self->key_data);
      job->key_data_len = self->key_data_len;
      self->key_data_len = 0;
      job->passphrase = g_strdup (self->passphrase != NULL ? self->passphrase : "");
    }

  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  /* recv_cb reads and writes the object: the thread gets a callback that does not. */
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *)recv_plain_cb);
  libssh2_session_set_blocking (self->session, 1);
  libssh2_session_set_timeout (self->session, MAX (left_ms, 1));
  job->session = g_steal_pointer (&self->session);

  self->auth_job = job;
  self->phase = PHASE_AUTH_THREAD;

  /* The callback holds a reference to self: dispose cannot run while the thread does, and the
   * last reference is dropped on the main loop, not in the worker thread (GTask's own source
   * object reference may be released there). */
  task = g_task_new (NULL, NULL, on_auth_thread_done, g_object_ref (self));
  g_task_set_source_tag (task, start_auth_thread);
  g_task_set_task_data (task, job, (GDestroyNotify) auth_job_free);
  g_task_run_in_thread (task, auth_thread);
}

/* Returns LIBSSH2_ERROR_EAGAIN while in progress, 0 on success, else sets ERROR. */
static int
auth_key_file (BastionSshSession  *self,
               GError            **error)
{
  int rc;

  /* A passphrase-protected OpenSSH key: its KDF runs in a thread. */
  if (self->key_encrypted && self->key_public != NULL)
    {
      start_auth_thread (self, FALSE);
      return LIBSSH2_ERROR_EAGAIN;
    }

  /* From the copy start_auth() read in a thread: libssh2's _fromfile reads the file again (twice)
   * on the main loop. With the public key given (OpenSSH-format keys hold it in clear), libssh2
   * does not derive it from the private key. */
  rc = libssh2_userauth_publickey_frommemory (self->session, self->user, strlen (self->user),
                                              self->key_public,
                                              self->key_public != NULL
                                              ? strlen (self->key_public) : 0,
                                              self->key_data, self->key_data_len,
                                              self->passphrase != NULL ? self->passphrase : "");
  if (rc == LIBSSH2_ERROR_EAGAIN || rc == 0)
    return rc;

  {
    g_autofree char *msg = _bastion_ssh_last_error (self);
    g_propagate_error (error, key_file_auth_error (self, rc, msg));
  }
  return rc;
}

static int
auth_kbdint (BastionSshSession  *self,
             GError            **error)
{
  int rc = libssh2_userauth_keyboard_interactive_ex (self->session, self->user,
                                                     strlen (self->user), kbdint_cb);

  if (rc == LIBSSH2_ERROR_EAGAIN || rc == 0)
    return rc;
  note_tried (self, "keyboard-interactive");
  return rc;
}

static int
auth_password (BastionSshSession  *self,
               GError            **error)
{
  int rc = libssh2_userauth_password_ex (self->session, self->user, strlen (self->user),
                                         self->password, strlen (self->password), NULL);

  if (rc == LIBSSH2_ERROR_EAGAIN || rc == 0)
    return rc;
  note_tried (self, "password");
  if (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED && rc != LIBSSH2_ERROR_PASSWORD_EXPIRED)
    {
      g_autofree char *msg = _bastion_ssh_last_error (self);
      g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                   _("Logging in to the bastion %s with a password failed: %s"),
                   self->host, msg);
    }
  return rc;
}

/* The methods in OpenSSH's order (publickey, keyboard-interactive, password), each only when
 * the server offers it and Bastion has what it needs. */
typedef enum
{
  AUTH_TRY_AGENT,
  AUTH_TRY_KEY_FILE,
  AUTH_TRY_KBDINT,
  AUTH_TRY_PASSWORD,
  AUTH_TRY_DONE,
} AuthTry;

static void
keep_auth_error (BastionSshSession *self,
                 GError            *error)
{
  g_clear_error (&self->auth_error);
  self->auth_error = error;
}

static gboolean
agent_wanted (BastionSshSession *self)
{
  const char *sock = g_getenv ("SSH_AUTH_SOCK");

  if (sock == NULL || sock[0] == '\0')
    {
      if (self->auth_method == BASTION_AUTH_METHOD_AGENT)
        keep_auth_error (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                            _("Cannot reach the SSH agent: is SSH_AUTH_SOCK set "
                                              "and the agent running?")));
      return FALSE;
    }

  /* IdentitiesOnly: only the agent's copy of the team's key, which must be known. */
  if (self->identities_only && self->key_public == NULL)
    return FALSE;

  return offered (self, "publickey");
}

static void
agent_login_done (BastionSshSession *self,
                  AuthJob           *job)
{
  BastionSshAgentReport *report = &job->agent_report;

  if (job->agent_result == BASTION_SSH_AGENT_OK)
    {
      set_auth_used (self, g_strdup_printf (_("the SSH agent (key “%s”)"), report->comment));
      _bastion_ssh_become_ready (self);
      return;
    }

  switch (job->agent_result)
    {
    case BASTION_SSH_AGENT_UNREACHABLE:
      note_tried (self, _("publickey (agent, not reachable)"));
      if (self->auth_method == BASTION_AUTH_METHOD_AGENT)
        keep_auth_error (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                            _("Cannot reach the SSH agent: is SSH_AUTH_SOCK set "
                                              "and the agent running?")));
      break;
    case BASTION_SSH_AGENT_NO_KEYS:
      note_tried (self, _("publickey (agent, which holds no key)"));
      break;
    case BASTION_SSH_AGENT_ERROR:
      _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                                 _("Logging in to the bastion %s through the "
                                                   "SSH agent failed: %s"),
                                                 self->host, job->message));
      return;
    case BASTION_SSH_AGENT_REFUSED:
    case BASTION_SSH_AGENT_OK:
    default:
      {
        g_autofree char *what = g_strdup_printf (_("publickey (agent, %u of its %u keys)"),
                                                 report->n_tried, report->n_keys);
        note_tried (self, what);
      }
      break;
    }

  self->auth_try = AUTH_TRY_KEY_FILE;
  _bastion_ssh_advance (self);
}

static gboolean
has_password (BastionSshSession *self)
{
  return self->password != NULL;
}

/* Runs the methods in order from self->auth_try. Returns LIBSSH2_ERROR_EAGAIN while one is in
 * progress (or runs in a thread), 0 once logged in, else sets ERROR. */
int
_bastion_ssh_auth_run (BastionSshSession  *self,
                       GError            **error)
{
  GError *local = NULL;
  int rc;

  for (;; self->auth_try++)
    switch ((AuthTry)self->auth_try)
      {
      case AUTH_TRY_AGENT:
        if (!agent_wanted (self))
          break;
        start_auth_thread (self, TRUE);
        return LIBSSH2_ERROR_EAGAIN;

      case AUTH_TRY_KEY_FILE:
        if (self->auth_method != BASTION_AUTH_METHOD_KEY || self->auth_error != NULL ||
            !offered (self, "publickey"))
          break;
        rc = auth_key_file (self, &local);
        if (rc == LIBSSH2_ERROR_EAGAIN)
          return rc;
        if (rc == 0)
          {
            set_auth_used (self, g_strdup_printf (_("the key file %s"), self->key_file));
            return 0;
          }
        keep_auth_error (self, local);
        local = NULL;
        /* A key that cannot be used at all is the message, whatever else is left. */
        if (!has_password (self) ||
            !g_error_matches (self->auth_error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED))
          {
            g_propagate_error (error, g_steal_pointer (&self->auth_error));
            return rc;
          }
        break;

      case AUTH_TRY_KBDINT:
        if (!has_password (self) || !offered (self, "keyboard-interactive"))
          break;
        rc = auth_kbdint (self, &local);
        if (rc == LIBSSH2_ERROR_EAGAIN || rc == 0)
          {
            if (rc == 0)
              set_auth_used (self, g_strdup (_("keyboard-interactive")));
            return rc;
          }
        break;

      case AUTH_TRY_PASSWORD:
        if (!has_password (self) || !offered (self, "password"))
          break;
        rc = auth_password (self, &local);
        if (rc == LIBSSH2_ERROR_EAGAIN || rc == 0)
          {
            if (rc == 0)
              set_auth_used (self, g_strdup (_("a password")));
            return rc;
          }
        if (local != NULL)
          {
            g_propagate_error (error, local);
            return rc;
          }
        break;

      case AUTH_TRY_DONE:
      default:
        if (self->auth_error != NULL)
          g_propagate_error (error, g_steal_pointer (&self->auth_error));
        else if (self->auth_method == BASTION_AUTH_METHOD_PASSWORD && !has_password (self))
          g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                       _("No SSH password was given for “%s” on the bastion %s"),
                       self->user, self->host);
        else
          g_propagate_error (error, _bastion_ssh_auth_failed_error (self));
        return -1;
      }
}

void
_bastion_ssh_auth_list_phase (BastionSshSession *self)
{
  g_clear_error (&self->auth_error);
  g_clear_pointer (&self->auth_used, g_free);
  self->phase = PHASE_AUTH_LIST;
  self->auth_try = AUTH_TRY_AGENT;
}

static void
on_key_loaded (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSshSession *self = g_task_get_source_object (task);
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  BastionKeyFileInfo info = { 0 };
  char *contents = NULL;
  gsize length = 0;
  g_autofree char *public_key = NULL;
  GError *key_error = NULL;

  bastion_key_file_load_finish_full (result, &info, &message, &contents, &length, &public_key,
                                     &error);

  /* Cancelled, failed or reconnected meanwhile: this answer is for nobody. */
  if (self->task != task || self->phase != PHASE_KEY_CHECK)
    {
      bastion_secure_wipe (contents, length);
      g_free (contents);
      return;
    }

  _bastion_ssh_wipe_key_data (self);
  self->key_data = contents;
  self->key_data_len = length;
  self->key_public = g_steal_pointer (&public_key);
  self->key_encrypted = info.encrypted;

  if (error != NULL)
    key_error = g_error_new_literal (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                                     error->message);
  else if (contents == NULL)
    key_error = g_error_new_literal (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                                     message != NULL
                                     ? message : _("The SSH key file cannot be used"));
  else if (info.encrypted && self->passphrase == NULL)
    key_error = g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_PASSPHRASE_REQUIRED,
                             _("The key file “%s” is protected by a passphrase, and none was "
                               "given"),
                             self->key_file);

  if (key_error != NULL)
    {
      const char *sock = g_getenv ("SSH_AUTH_SOCK");

      /* The agent comes first and may hold the team's key (a .pem removed once it was added
       * to the agent): the key file's problem is the answer only if the agent fails too. */
      if (sock == NULL || sock[0] == '\0')
        {
          _bastion_ssh_fail_task (self, key_error);
          return;
        }
      g_debug ("SSH %s:%u: the key file cannot be used (%s); trying the agent first",
               self->host, self->port, key_error->message);
      _bastion_ssh_auth_list_phase (self);
      self->auth_error = key_error;
    }
  else
    _bastion_ssh_auth_list_phase (self);
  self->watch = bastion_fd_watch_new (_bastion_ssh_raw_fd (self), G_IO_IN | G_IO_OUT,
                                      _bastion_ssh_on_socket_event, self);
  _bastion_ssh_advance (self);
}

/* Key files are read in a thread (bastion_key_file_load_async): nothing blocks the main loop on
 * a slow or network file system. Meanwhile the socket is not watched (the server waits for us),
 * so its events cannot spin the loop. */
void
_bastion_ssh_start_auth (BastionSshSession *self)
{
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_AUTHENTICATING);

  if (self->auth_method != BASTION_AUTH_METHOD_KEY)
    {
      _bastion_ssh_auth_list_phase (self);
      return;
    }

  if (self->key_file == NULL || self->key_file[0] == '\0')
    {
      _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                                                 _("No SSH key file is set for this team")));
      return;
    }

  self->phase = PHASE_KEY_CHECK;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  bastion_key_file_load_async (self->key_file, NULL, on_key_loaded, g_object_ref (self->task));
}
