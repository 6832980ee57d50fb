/* bastion-ssh-session-connect.c
 *
 * The connection steps: the TCP connection, libssh2's method preferences, the handshake, and
 * the state machine (session_advance) that walks host key, login method list and login.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-io-thread.h"
#include "bastion-ssh-session-impl-private.h"

/* libssh2 drops names it does not support from a preference list. With our libssh2 patches
 * both AEAD ciphers go through OpenSSL a whole run of a packet per call. AES-GCM first where the
 * CPU has AES and carry-less multiply instructions: there OpenSSL's AES-GCM costs the bastion's
 * sshd a fraction of what ChaCha20-Poly1305 does (sshd is the bottleneck of a download: ~85 % of
 * a core on chacha20-poly1305, see README "Tunnel speed"); elsewhere ChaCha20-Poly1305, which is
 * fast in software, as OpenSSH orders them. */
#define CIPHER_PREFS_AES_NI "aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
                            "chacha20-poly1305@openssh.com," \
                            "aes128-ctr,aes192-ctr,aes256-ctr"
#define CIPHER_PREFS_SOFT "chacha20-poly1305@openssh.com," \
                          "aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
                          "aes128-ctr,aes192-ctr,aes256-ctr"
/* Key exchanges and MACs without SHA-1 (issue 18): libssh2's defaults also offer
 * diffie-hellman-group1-sha1, -group14-sha1, -group-exchange-sha1 and the hmac-sha1 family.
 * libssh2 adds ext-info-c and kex-strict-c-v00@openssh.com to a KEX preference itself. It has no
 * post-quantum exchange (sntrup761x25519-sha512, mlkem768x25519-sha256). */
#define KEX_PREFS "curve25519-sha256,curve25519-sha256@libssh.org," \
                  "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
                  "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," \
                  "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
#define MAC_PREFS "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," \
                  "hmac-sha2-256,hmac-sha2-512"
#define HOSTKEY_DEFAULT_PREFS "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
                              "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa"

static void
ensure_libssh2_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      libssh2_init (0);
      g_once_init_leave (&done, 1);
    }
}

/**
 * bastion_ssh_session_default_ciphers:
 *
 * The cipher preference Bastion offers when `BASTION_SSH_CIPHERS` does not override it: AES-GCM
 * first on a CPU with AES and carry-less multiply instructions, ChaCha20-Poly1305 first
 * elsewhere.
 *
 * Returns: a comma-separated list of SSH cipher names
 */
const char *
bastion_ssh_session_default_ciphers (void)
{
  gboolean aes_ni = FALSE;

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_cpu_init ();
  aes_ni = __builtin_cpu_supports ("aes") && __builtin_cpu_supports ("pclmul");
#elif defined(__aarch64__) && defined(__linux__) && defined(HWCAP_AES) && defined(HWCAP_PMULL)
  aes_ni = (getauxval (AT_HWCAP) & (HWCAP_AES | HWCAP_PMULL)) == (HWCAP_AES | HWCAP_PMULL);
#endif
  return aes_ni ? CIPHER_PREFS_AES_NI : CIPHER_PREFS_SOFT;
}

void
_bastion_ssh_set_method_prefs (BastionSshSession *self)
{
  /* From the files as read in a thread (start_known_hosts_read()). */
  g_auto(GStrv) known = bastion_known_hosts_known_types_contents
                          ((const char * const *)self->known_hosts, self->host, self->port);
  g_auto(GStrv) defaults = g_strsplit (HOSTKEY_DEFAULT_PREFS, ",", -1);
  g_autoptr(GString) prefs = g_string_new (NULL);
  const char *ciphers;

  /* Ask first for a key type we already know, so a host known by one type of key is not
   * reported unknown because the server offered another type first. */
  for (guint i = 0; known[i] != NULL; i++)
    {
      if (g_str_equal (known[i], "ssh-rsa"))
        g_string_append (prefs, "rsa-sha2-512,rsa-sha2-256,ssh-rsa,");
      else if (g_strv_contains ((const char * const *)defaults, known[i]))
        g_string_append_printf (prefs, "%s,", known[i]);
    }
  for (guint i = 0; defaults[i] != NULL; i++)
    {
      g_autofree char *item = g_strdup_printf ("%s,", defaults[i]);
      if (strstr (prefs->str, item) == NULL)
        g_string_append (prefs, item);
    }
  g_string_truncate (prefs, prefs->len - 1);

  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_HOSTKEY, prefs->str);
  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_KEX, KEX_PREFS);
  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_MAC_CS, MAC_PREFS);
  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_MAC_SC, MAC_PREFS);
  /* set_ciphers() (tests), or BASTION_SSH_CIPHERS (tools/bench-tunnel): measure another cipher
   * preference. */
  ciphers = self->ciphers != NULL ? self->ciphers : g_getenv ("BASTION_SSH_CIPHERS");
  if (ciphers == NULL || *ciphers == '\0')
    ciphers = bastion_ssh_session_default_ciphers ();
  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_CRYPT_CS, ciphers);
  libssh2_session_method_pref (self->session, LIBSSH2_METHOD_CRYPT_SC, ciphers);
}

/* libssh2 reports most handshake failures as "Unable to exchange encryption keys": say which
 * kind it was (no common algorithm, not an SSH server, closed or garbled) and what to do. */
static GError *
handshake_error_new (BastionSshSession *self,
                     int                rc)
{
  g_autofree char *msg = _bastion_ssh_last_error (self);
  const char *raw = self->session != NULL ? libssh2_session_banner_get (self->session) : NULL;
  g_autofree char *banner = NULL;

  /* The server's greeting ("SSH-2.0-OpenSSH_9.2p1"), made printable: it may be hostile. */
  if (raw != NULL && g_str_has_prefix (raw, "SSH-"))
    {
      banner = g_utf8_make_valid (raw, -1);
      for (char *p = banner; *p != '\0'; p++)
        if (g_ascii_iscntrl (*p))
          *p = '?';
    }

  if (rc == LIBSSH2_ERROR_KEX_FAILURE)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                        _("The SSH handshake with %s:%u failed: the server (%s) offers no key "
                          "exchange, host key or cipher algorithm that Bastion supports. Ask the "
                          "bastion’s administrator to allow curve25519-sha256 and an ed25519, "
                          "ECDSA or RSA (rsa-sha2-256) host key"),
                        self->host, self->port, banner != NULL ? banner : "?");
  if (banner == NULL && rc == LIBSSH2_ERROR_SOCKET_DISCONNECT)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                        _("The SSH handshake with %s:%u failed: the server closed the connection "
                          "without sending an SSH greeting. Check that port %u is the bastion’s "
                          "SSH port, or try again later if the bastion is busy"),
                        self->host, self->port, self->port);
  if (banner == NULL)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                        _("The SSH handshake with %s:%u failed: the server did not answer as an "
                          "SSH server does (%s). Check that port %u is the bastion’s SSH port"),
                        self->host, self->port, msg, self->port);

  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                      _("The SSH handshake with %s:%u failed: the server (%s) closed the "
                        "connection or sent data that is not valid SSH during the key exchange "
                        "(%s). Try again; if it keeps failing, ask the bastion’s administrator "
                        "to check its SSH server’s log"),
                      self->host, self->port, banner, msg);
}

/* The handshake, then the host key: TRUE when the login may start at once. */
static gboolean
handshake_step (BastionSshSession *self)
{
  GError *error = NULL;
  gboolean save_new = FALSE;
  int rc = libssh2_session_handshake (self->session, _bastion_ssh_raw_fd (self));

  if (rc == LIBSSH2_ERROR_EAGAIN)
    return FALSE;
  if (rc != 0)
    {
      _bastion_ssh_fail_task (self, handshake_error_new (self, rc));
      return FALSE;
    }

  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_VERIFYING_HOST_KEY);
  if ((error = _bastion_ssh_check_host_key (self, &save_new)) != NULL)
    {
      _bastion_ssh_fail_task (self, error);
      return FALSE;
    }
  if (save_new)
    {
      _bastion_ssh_start_host_key_save (self);
      return FALSE;
    }
  _bastion_ssh_host_key_accepted (self);

  return self->phase == PHASE_AUTH_LIST;
}

/* The login methods the server offers: TRUE when the login may start at once. */
static gboolean
auth_list_step (BastionSshSession *self)
{
  char *list = libssh2_userauth_list (self->session, self->user, strlen (self->user));
  g_autofree char *msg = NULL;
  int rc;

  if (list != NULL)
    {
      g_free (self->offered);
      self->offered = g_strdup (list);
      g_debug ("SSH %s:%u: server offers %s", self->host, self->port, list);
      self->phase = PHASE_AUTH;
      return TRUE;
    }

  if (libssh2_userauth_authenticated (self->session))
    {
      _bastion_ssh_become_ready (self);
      return FALSE;
    }
  rc = libssh2_session_last_errno (self->session);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return FALSE;

  msg = _bastion_ssh_last_error (self);
  _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                             _("The bastion %s did not list its login methods: "
                                               "%s"), self->host, msg));
  return FALSE;
}

static void
auth_step (BastionSshSession *self)
{
  GError *error = NULL;
  int rc = _bastion_ssh_auth_run (self, &error);

  if (rc == LIBSSH2_ERROR_EAGAIN)
    return;
  if (error != NULL)
    _bastion_ssh_fail_task (self, error);
  else if (rc == 0)
    _bastion_ssh_become_ready (self);
  else
    _bastion_ssh_fail_task (self, _bastion_ssh_auth_failed_error (self));
}

/* While the socket is watched (handshake, login): wait for what libssh2 waits for. */
static gboolean
watches_socket (Phase phase)
{
  return phase == PHASE_HANDSHAKE || phase == PHASE_AUTH_LIST || phase == PHASE_AUTH ||
         phase == PHASE_CONNECTING;
}

void
_bastion_ssh_advance (BastionSshSession *self)
{
  g_object_ref (self);
  self->login_round = 0;

  switch (self->phase)
    {
    case PHASE_HANDSHAKE:
      if (!handshake_step (self))
        break;
      G_GNUC_FALLTHROUGH;

    case PHASE_AUTH_LIST:
      if (!auth_list_step (self))
        break;
      G_GNUC_FALLTHROUGH;

    case PHASE_AUTH:
      auth_step (self);
      break;

    case PHASE_IDLE:
    case PHASE_CONNECTING:
    case PHASE_KNOWN_HOSTS:
    case PHASE_HOST_KEY_SAVE:
    case PHASE_KEY_CHECK:
    case PHASE_AUTH_THREAD:
    case PHASE_READY:
    case PHASE_DEAD:
    default:
      break;
    }

  if (watches_socket (self->phase))
    _bastion_ssh_update_condition (self);

  g_object_unref (self);
}

static void
tune_socket (int fd)
{
  int one = 1;
  int idle = 15;
  int intvl = 5;
  int cnt = 3;
  unsigned int user_timeout = 45000;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt (fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt (fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  setsockopt (fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  /* Unacknowledged data for this long means the path is gone. */
  setsockopt (fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static GError *
map_connect_error (BastionSshSession *self,
                   const GError      *error)
{
  if (self->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                        _("No answer from the bastion %s on port %u within %u s. Its security "
                          "group probably no longer admits this computer’s public IP address "
                          "(or the bastion is stopped)."),
                        self->host, self->port, self->connect_timeout);

  if (error->domain == G_RESOLVER_ERROR)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DNS,
                        _("Cannot resolve the bastion’s host name “%s”: %s. If the bastion was "
                          "stopped and started, its DNS name changed: refresh the team."),
                        self->host, error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_REFUSED,
                        _("The bastion %s refused the connection on port %u: no SSH server "
                          "listens there. Check the host name and port of this team."),
                        self->host, self->port);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_UNREACHABLE,
                        _("The bastion %s is unreachable: %s. Check the network connection."),
                        self->host, error->message);

  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                      _("Cannot connect to the bastion %s on port %u: %s"),
                      self->host, self->port, error->message);
}

static void
on_client_event (GSocketClient      *client,
                 GSocketClientEvent  event,
                 GSocketConnectable *connectable,
                 GIOStream          *connection,
                 gpointer            user_data)
{
  BastionSshSession *self = user_data;

  if (event == G_SOCKET_CLIENT_CONNECTING)
    _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_CONNECTING);
}

static gboolean
connect_timeout_cb (gpointer data)
{
  BastionSshSession *self = data;

  self->timeout_id = 0;
  self->timed_out = TRUE;
  if (self->phase == PHASE_CONNECTING)
    g_cancellable_cancel (self->connect_cancellable);
  else if (self->phase == PHASE_HANDSHAKE)
    _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                               _("The bastion %s accepted the connection on "
                                                 "port %u but its SSH server did not answer "
                                                 "within %u s"),
                                               self->host, self->port, self->connect_timeout));
  else if (self->phase == PHASE_KNOWN_HOSTS)
    {
      g_autofree char *user_file = self->user_known_hosts
                                   ? g_strdup (self->user_known_hosts)
                                   : bastion_known_hosts_dup_user_file ();
      g_autofree char *own_file = self->bastion_known_hosts
                                  ? g_strdup (self->bastion_known_hosts)
                                  : bastion_known_hosts_dup_bastion_file ();

      _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                                 _("Reading the known hosts files %s and %s "
                                                   "took longer than %u s; check that they are "
                                                   "regular files on a disk that answers"),
                                                 user_file, own_file, self->connect_timeout));
    }
  else if (self->phase == PHASE_HOST_KEY_SAVE || self->phase == PHASE_KEY_CHECK ||
           self->phase == PHASE_AUTH_LIST ||
           self->phase == PHASE_AUTH || self->phase == PHASE_AUTH_THREAD)
    _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                               _("The bastion %s did not complete the login "
                                                 "within %u s"),
                                               self->host, self->connect_timeout));

  return G_SOURCE_REMOVE;
}

void
_bastion_ssh_start_handshake (BastionSshSession *self)
{
  _bastion_ssh_set_method_prefs (self);
  self->phase = PHASE_HANDSHAKE;
  self->watch = bastion_fd_watch_new (_bastion_ssh_raw_fd (self), G_IO_IN | G_IO_OUT,
                                      _bastion_ssh_on_socket_event, self);
  _bastion_ssh_advance (self);
}

static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(BastionSshSession) self = user_data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &error);
  g_clear_object (&self->connect_cancellable);

  if (self->task == NULL)
    {
      g_clear_object (&connection);
      return;
    }

  if (connection == NULL)
    {
      bastion_source_clear (self->context, &self->timeout_id);
      if (g_task_return_error_if_cancelled (self->task))
        {
          _bastion_ssh_drop_user_cancellable (self);
          g_clear_object (&self->task);
          self->phase = PHASE_IDLE;
          _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_CLOSED);
          return;
        }
      _bastion_ssh_fail_task (self, map_connect_error (self, error));
      return;
    }

  self->connection = connection;
  tune_socket (_bastion_ssh_raw_fd (self));

  self->session = libssh2_session_init_ex (NULL, NULL, NULL, self);
  if (self->session == NULL)
    {
      _bastion_ssh_fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                                                 _("Cannot create an SSH session (out of "
                                                   "memory?)")));
      return;
    }
  libssh2_session_set_blocking (self->session, 0);
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *)_bastion_ssh_recv_cb);
  libssh2_session_flag (self->session, LIBSSH2_FLAG_COMPRESS, 0);
  _bastion_ssh_set_method_prefs (self);

  /* The host key preferences come from the known_hosts files: wait for the thread reading them
   * (on_known_hosts_read()) without watching the socket; the server waits for us. */
  if (!self->known_hosts_ready)
    {
      self->phase = PHASE_KNOWN_HOSTS;
      return;
    }
  _bastion_ssh_start_handshake (self);
}

static gboolean
cancel_idle_cb (gpointer data)
{
  BastionSshSession *self = data;

  if (self->task != NULL && g_cancellable_is_cancelled (g_task_get_cancellable (self->task)))
    bastion_ssh_session_disconnect (self);

  return G_SOURCE_REMOVE;
}

static void
on_task_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  BastionSshSession *self = user_data;

  /* May run inside g_cancellable_cancel() on any thread: act from the session's own context. */
  bastion_source_add_idle (self->context, G_PRIORITY_DEFAULT, cancel_idle_cb,
                           g_object_ref (self), g_object_unref);
}

void
bastion_ssh_session_connect_async (BastionSshSession      *self,
                                   BastionSshConnectFlags  flags,
                                   GCancellable           *cancellable,
                                   GAsyncReadyCallback     callback,
                                   gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketClient) client = NULL;

  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_ssh_session_connect_async);

  if (self->task != NULL || self->phase == PHASE_READY)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The SSH session is already connecting or connected"));
      return;
    }

  ensure_libssh2_init ();
  _bastion_ssh_teardown (self, FALSE);
  bastion_source_clear (self->context, &self->dead_idle_id);
  g_clear_error (&self->dead_error);
  g_main_context_unref (self->context);
  self->context = g_main_context_ref_thread_default ();

  self->flags = flags;
  self->timed_out = FALSE;
  self->login_overflow = FALSE;
  self->login_bytes = 0;
  self->host_key_status = BASTION_HOST_KEY_UNCHECKED;
  g_clear_pointer (&self->offered, g_free);
  g_string_truncate (self->tried, 0);
  self->task = g_steal_pointer (&task);
  self->phase = PHASE_CONNECTING;
  self->connect_started = g_get_monotonic_time ();
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_RESOLVING);
  _bastion_ssh_start_known_hosts_read (self);

  self->connect_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      self->user_cancellable = g_object_ref (cancellable);
      self->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_task_cancelled),
                                               self, NULL);
    }

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, self->connect_timeout);
  g_socket_client_set_enable_proxy (client, FALSE);
  g_signal_connect_object (client, "event", G_CALLBACK (on_client_event), self, 0);
  self->timeout_id = bastion_source_add_timeout (self->context, self->connect_timeout * 1000,
                                                 connect_timeout_cb, self);
  g_socket_client_connect_to_host_async (client, self->host, self->port,
                                         self->connect_cancellable, on_connected,
                                         g_object_ref (self));
}

gboolean
bastion_ssh_session_connect_finish (BastionSshSession  *self,
                                    GAsyncResult       *result,
                                    GError            **error)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bastion_ssh_session_disconnect (BastionSshSession *self)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  if (self->task != NULL)
    {
      if (self->connect_cancellable != NULL)
        g_cancellable_cancel (self->connect_cancellable);
      _bastion_ssh_fail_task (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 _("The connection was cancelled")));
    }

  bastion_source_clear (self->context, &self->dead_idle_id);
  g_clear_error (&self->dead_error);
  _bastion_ssh_teardown (self, self->phase == PHASE_READY);
  self->phase = PHASE_IDLE;
  _bastion_ssh_set_stage (self, BASTION_SSH_STAGE_CLOSED);
}
