/* bastion-ssh-session.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include <glib/gi18n.h>
#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-io-thread.h"
#include "bastion-key-file.h"
#include "bastion-ssh-agent.h"
#include "bastion-ssh-jump.h"
#include "bastion-ssh-session-private.h"

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

#define DEFAULT_CONNECT_TIMEOUT 15
/* Bytes libssh2 may pull from the socket per main-loop wake-up once the session is ready. Each
 * libssh2 read drains the socket and decrypts all of it before it hands back any data: the
 * budget makes it return after about this much, so what is decrypted reaches the client while
 * the rest waits in the kernel (and the socket, still readable, wakes the loop again at once). */
#define RECV_BUDGET             (256 * 1024)
/* Once the session is ready, the small packets that relay clients' data (the tunnel marks those
 * writes: bastion_ssh_session_batch_writes()) collect in out_buf during a main-loop iteration
 * and leave in one send() before the loop polls again (flush_source). With many clients one
 * wake-up relays a query from each: each used to go out in its own send(), 8 of them in one
 * send() now (test-tunnel /bastion/tunnel/batched-sends), ~12 % less CPU per query at 16
 * clients; sshd batches its own writes the same way. Everything else goes out at once, after
 * what is queued: a packet that would not fit (bulk data: libssh2 writes 32 KiB packets;
 * holding bulk back until the end of the iteration cost ~15 % of the upload throughput in A/B
 * runs) and the window adjustments of a download. */
#define OUT_BATCH_MAX           (16 * 1024)
/* Until the login is done, a server gets this many bytes in all (greeting lines, key exchange,
 * login replies: a real sshd sends ~3 KiB, a long login banner a few more) and this many per
 * wake-up of the loop. libssh2 reads the greeting and the key exchange packets until the socket
 * is empty: a hostile server that streams text lines, bytes without a line end or endless
 * SSH_MSG_IGNORE packets kept it (and a CPU) busy forever, the connect timeout never ran. */
#define LOGIN_BYTES_MAX         (256 * 1024)
#define LOGIN_ROUND_MAX         (16 * 1024)
#define DEFAULT_KEEPALIVE       15
#define KEEPALIVE_COUNT_MAX     3

typedef enum
{
  PHASE_IDLE,
  PHASE_CONNECTING,
  PHASE_KNOWN_HOSTS, /* connected; the known_hosts files are still read in a thread; the socket
                      * is not watched */
  PHASE_HANDSHAKE,
  PHASE_HOST_KEY_SAVE, /* a new host key (accept-new) is appended to a file in a thread; the
                        * socket is not watched */
  PHASE_KEY_CHECK,   /* the key file is read in a thread; the socket is not watched */
  PHASE_AUTH_LIST,
  PHASE_AUTH,
  PHASE_AUTH_THREAD, /* libssh2 logs in with an encrypted key in a thread (AuthJob) */
  PHASE_READY,
  PHASE_DEAD,
} Phase;

struct _BastionSshSession
{
  GObject                 parent_instance;

  /* Settings */
  char                   *host;
  char                   *user;
  char                   *key_file;
  char                   *host_key_pin;
  char                   *user_known_hosts;
  char                   *bastion_known_hosts;
  char                   *passphrase;
  char                   *password;
  char                   *ciphers;          /* NULL: BASTION_SSH_CIPHERS, else the default */
  BastionSshAuthMethod    auth_method;
  guint                   connect_timeout;
  guint                   keepalive_interval;

  /* State */
  BastionSshStage         stage;
  Phase                   phase;
  BastionSshConnectFlags  flags;
  GTask                  *task;
  /* The context the session was last connected on (a tunnel's: the I/O thread's); its
   * sources, the "disconnected" signal and every libssh2 call belong to that thread. */
  GMainContext           *context;
  GCancellable           *user_cancellable;
  gulong                  cancel_id;
  GCancellable           *connect_cancellable;
  GSocketConnection      *connection;
  LIBSSH2_SESSION        *session;
  GQueue                  channels;      /* BastionSshChannel, bastion-ssh-channel.c */
  BastionFdWatch         *watch;
  guint                   timeout_id;
  guint                   keepalive_id;
  guint                   dead_idle_id;
  gint64                  last_recv;
  gssize                  recv_budget;
  gsize                   login_bytes;      /* LOGIN_BYTES_MAX */
  gsize                   login_round;      /* LOGIN_ROUND_MAX */
  BastionHostKeyStatus    host_key_status;
  char                   *fingerprint;
  GBytes                 *host_key;
  GError                 *dead_error;

  /* Authentication */
  char                   *offered;
  GString                *tried;
  guint                   auth_try;         /* AuthTry: the method being tried */
  GError                 *auth_error;       /* the most telling failure so far */
  char                   *auth_used;        /* how the login succeeded, for the step */
  /* The key file as read off the main loop (a private key: wiped after use) */
  char                   *key_data;
  gsize                   key_data_len;
  /* "TYPE BASE64" of an OpenSSH-format key (read in the thread), else NULL */
  char                   *key_public;
  gboolean                key_encrypted;
  /* Non-NULL while a thread runs the login (busy in thread): the session and the socket belong
   * to it meanwhile; self->session is NULL so that nothing on the main loop touches it. */
  struct _AuthJob        *auth_job;
  gint64                  connect_started;

  /* The known_hosts files as read in a thread when the connection starts */
  GStrv                   known_hosts;
  gboolean                known_hosts_ready;

  BastionSshIoFunc        io_func;
  gpointer                io_data;

  /* ProxyJump: the chain that carries this session's socket (bastion-ssh-jump.c), or NULL */
  BastionSshJump         *jump;

  guint16                 port;
  guint                   timed_out : 1;
  guint                   accept_new : 1;
  guint                   send_busy : 1;
  guint                   idle : 1;
  guint                   idle_paused : 1;
  guint                   identities_only : 1;
  guint                   recv_empty : 1;
  guint                   login_overflow : 1;
  /* The io_func did not read the socket although it had input: every channel with data waits
   * for its local client (back-pressure). Input is not polled for until someone reads again. */
  guint                   input_paused : 1;
  guint                   recv_calls;

  /* Output batching (OUT_BATCH_MAX), from PHASE_READY on */
  gboolean                batch_writes;
  guint8                 *out_buf;
  gsize                   out_len;
  int                     out_errno;        /* a send failed: libssh2 gets this error */
  guint64                 out_packets;      /* what libssh2 handed to send_cb */
  guint64                 out_sends;        /* send() calls that carried them */
  GSource                *flush_source;
};

G_DEFINE_FINAL_TYPE (BastionSshSession, bastion_ssh_session, G_TYPE_OBJECT)

typedef struct
{
  GSource            source;
  BastionSshSession *self;      /* not a reference: the session destroys the source first */
} BastionFlushSource;
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

static void session_advance (BastionSshSession *self);
static void become_ready (BastionSshSession *self);

static const GEnumValue stage_values[] = {
  { BASTION_SSH_STAGE_CLOSED, "BASTION_SSH_STAGE_CLOSED", "closed" },
  { BASTION_SSH_STAGE_RESOLVING, "BASTION_SSH_STAGE_RESOLVING", "resolving" },
  { BASTION_SSH_STAGE_CONNECTING, "BASTION_SSH_STAGE_CONNECTING", "connecting" },
  { BASTION_SSH_STAGE_VERIFYING_HOST_KEY, "BASTION_SSH_STAGE_VERIFYING_HOST_KEY",
    "verifying-host-key" },
  { BASTION_SSH_STAGE_AUTHENTICATING, "BASTION_SSH_STAGE_AUTHENTICATING", "authenticating" },
  { BASTION_SSH_STAGE_READY, "BASTION_SSH_STAGE_READY", "ready" },
  { BASTION_SSH_STAGE_RECONNECTING, "BASTION_SSH_STAGE_RECONNECTING", "reconnecting" },
  { BASTION_SSH_STAGE_FAILED, "BASTION_SSH_STAGE_FAILED", "failed" },
  { 0, NULL, NULL },
};

static const GEnumValue auth_values[] = {
  { BASTION_SSH_AUTH_KEY_FILE, "BASTION_SSH_AUTH_KEY_FILE", "key-file" },
  { BASTION_SSH_AUTH_AGENT, "BASTION_SSH_AUTH_AGENT", "agent" },
  { BASTION_SSH_AUTH_PASSWORD, "BASTION_SSH_AUTH_PASSWORD", "password" },
  { 0, NULL, NULL },
};

GType
bastion_ssh_stage_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static (g_intern_static_string ("BastionSshStage"),
                                                      stage_values));
  return type;
}

GType
bastion_ssh_auth_method_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
                       g_enum_register_static (g_intern_static_string ("BastionSshAuthMethod"),
                                               auth_values));
  return type;
}

const char *
bastion_ssh_stage_to_string (BastionSshStage stage)
{
  if ((guint)stage < G_N_ELEMENTS (stage_values) - 1)
    return stage_values[stage].value_nick;
  return "unknown";
}

const char *
bastion_ssh_auth_method_to_string (BastionSshAuthMethod method)
{
  if ((guint)method < G_N_ELEMENTS (auth_values) - 1)
    return auth_values[method].value_nick;
  return "unknown";
}

gboolean
bastion_ssh_auth_method_from_string (const char           *str,
                                     BastionSshAuthMethod *method)
{
  g_return_val_if_fail (method != NULL, FALSE);

  if (str == NULL)
    return FALSE;

  for (guint i = 0; auth_values[i].value_nick != NULL; i++)
    {
      if (g_str_equal (str, auth_values[i].value_nick))
        {
          *method = auth_values[i].value;
          return TRUE;
        }
    }

  /* Spellings a profile may carry. */
  if (g_str_equal (str, "key") || g_str_equal (str, "publickey"))
    *method = BASTION_SSH_AUTH_KEY_FILE;
  else if (g_str_equal (str, "ssh-agent"))
    *method = BASTION_SSH_AUTH_AGENT;
  else if (g_str_equal (str, "keyboard-interactive"))
    *method = BASTION_SSH_AUTH_PASSWORD;
  else
    return FALSE;

  return TRUE;
}

static void
wipe_string (char **str)
{
  if (*str != NULL)
    {
      explicit_bzero (*str, strlen (*str));
      g_clear_pointer (str, g_free);
    }
}

static void
wipe_key_data (BastionSshSession *self)
{
  if (self->key_data != NULL)
    {
      explicit_bzero (self->key_data, self->key_data_len);
      g_clear_pointer (&self->key_data, g_free);
    }
  self->key_data_len = 0;
  g_clear_pointer (&self->key_public, g_free);
  self->key_encrypted = FALSE;
}

/* A login with a passphrase-protected OpenSSH key, run in a GTask thread: libssh2 runs the
 * key's bcrypt KDF to sign, ~0.3 s of CPU (seconds under Valgrind) that must not freeze the main
 * loop. The session runs in blocking mode there, bounded by what is left of the connect timeout.
 * The thread reads and writes only the job's fields; meanwhile the main loop only sets orphaned
 * and orphan_connection, which the thread never reads. */
typedef struct _AuthJob
{
  LIBSSH2_SESSION   *session;
  /* Set (with the socket) when the BastionSshSession gave up on the login meanwhile:
   * auth_job_free() frees the session and closes the socket once the thread is done. */
  GSocketConnection *orphan_connection;
  gboolean           orphaned;
  char              *user;
  char              *public_key;
  char              *key_data;
  gsize              key_data_len;
  char              *passphrase;
  int                rc;
  char              *message;
  /* A login through the SSH agent instead of a key (bastion-ssh-agent.c) */
  gboolean           agent;
  gboolean           agent_only_prefer;
  guint              agent_max_keys;
  BastionSshAgentResult agent_result;
  BastionSshAgentReport agent_report;
} AuthJob;

static BastionSshAuthThreadHook auth_thread_hook;
static gpointer                 auth_thread_hook_data;

void
bastion_ssh_session_set_auth_thread_hook (BastionSshAuthThreadHook hook,
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
  if (job->key_data != NULL)
    explicit_bzero (job->key_data, job->key_data_len);
  g_free (job->key_data);
  if (job->passphrase != NULL)
    explicit_bzero (job->passphrase, strlen (job->passphrase));
  g_free (job->passphrase);
  g_free (job->user);
  g_free (job->public_key);
  g_free (job->message);
  bastion_ssh_agent_report_clear (&job->agent_report);
  g_free (job);
}

static void
set_stage (BastionSshSession *self,
           BastionSshStage    stage)
{
  if (self->stage == stage)
    return;

  g_debug ("SSH %s:%u: stage %s", self->host, self->port, bastion_ssh_stage_to_string (stage));
  self->stage = stage;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
}

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

static int
raw_fd (BastionSshSession *self)
{
  return g_socket_get_fd (g_socket_connection_get_socket (self->connection));
}

/* Sends what out_buf holds, as far as the socket takes it. FALSE when bytes remain (the socket
 * is full) or the send failed (out_errno). */
static gboolean
flush_out (BastionSshSession *self)
{
  gsize done = 0;

  while (done < self->out_len && self->out_errno == 0)
    {
      ssize_t n = send (raw_fd (self), self->out_buf + done, self->out_len - done, MSG_NOSIGNAL);

      self->out_sends++;
      if (n > 0)
        done += n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      else
        self->out_errno = n < 0 ? errno : EPIPE;
    }
  if (done > 0)
    {
      memmove (self->out_buf, self->out_buf + done, self->out_len - done);
      self->out_len -= done;
    }
  return self->out_len == 0 && self->out_errno == 0;
}

static void update_condition (BastionSshSession *self);
static void mark_dead        (BastionSshSession *self,
                              GError            *error);

/* Runs before every poll of the loop, after the previous iteration's dispatches: what libssh2
 * queued during them leaves now. */
static gboolean
flush_source_prepare (GSource *source,
                      gint    *timeout)
{
  BastionSshSession *self = ((BastionFlushSource *)source)->self;

  *timeout = -1;
  if (self->out_len > 0 && self->phase == PHASE_READY)
    {
      flush_out (self);
      if (self->out_errno != 0)
        mark_dead (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                                      _("The connection to the bastion %s was lost (%s)"),
                                      self->host, g_strerror (self->out_errno)));
      else if (self->out_len > 0)
        update_condition (self);
    }
  return FALSE;
}

static GSourceFuncs flush_source_funcs = { flush_source_prepare, NULL, NULL, NULL, NULL, NULL };

static ssize_t
send_cb (libssh2_socket_t   sock,
         const void        *buffer,
         size_t             length,
         int                flags,
         void             **abstract)
{
  BastionSshSession *self = *abstract;
  ssize_t n;

  if (self->out_errno != 0)
    return -self->out_errno;

  self->out_packets++;
  if (self->batch_writes && self->flush_source != NULL && self->phase == PHASE_READY &&
      self->out_len + length <= OUT_BATCH_MAX)
    {
      memcpy (self->out_buf + self->out_len, buffer, length);
      self->out_len += length;
      return length;
    }

  /* Too big to hold, or unbatched (before the session is ready, or while it is torn down):
   * what waits goes first. */
  if (self->out_len > 0 && !flush_out (self))
    return self->out_errno != 0 ? -self->out_errno : -EAGAIN;
  self->out_sends++;
  n = send (sock, buffer, length, flags);
  return n < 0 ? -errno : n;
}

/* Frees libssh2 and the socket without waiting for anything: the caller's channels are gone. */
static void
teardown (BastionSshSession *self,
          gboolean           polite)
{
  bastion_source_clear (self->context, &self->timeout_id);
  bastion_source_clear (self->context, &self->keepalive_id);
  g_clear_pointer (&self->watch, bastion_fd_watch_free);

  /* A thread is in libssh2 with the session: it may not be freed now. Shutting the socket down
   * makes the thread's libssh2 call fail at once (after the KDF, if it runs); the thread's
   * callback frees the session and the socket. */
  if (self->auth_job != NULL)
    {
      self->auth_job->orphaned = TRUE;
      if (self->connection != NULL)
        {
          shutdown (raw_fd (self), SHUT_RDWR);
          self->auth_job->orphan_connection = g_steal_pointer (&self->connection);
        }
      self->auth_job = NULL;
    }

  /* Unbatched from here on; what is queued goes first, or the goodbye is not said. */
  if (self->flush_source != NULL)
    {
      g_source_destroy (self->flush_source);
      g_clear_pointer (&self->flush_source, g_source_unref);
    }
  if (self->out_len > 0 && self->connection != NULL && self->phase != PHASE_DEAD)
    flush_out (self);
  if (self->out_len > 0)
    polite = FALSE;

  /* Their owners forget them without a call (see bastion_ssh_channel_close()). */
  bastion_ssh_channels_drop (&self->channels);
  if (self->session != NULL)
    {
      if (polite && !self->send_busy && self->phase != PHASE_DEAD)
        libssh2_session_disconnect (self->session, "Bastion disconnects");
      /* A shut-down socket makes every remaining libssh2 write fail at once instead of
       * returning EAGAIN, so freeing never waits for the network. */
      if (self->connection != NULL)
        shutdown (raw_fd (self), SHUT_RDWR);
      libssh2_session_free (self->session);
      self->session = NULL;
    }

  if (self->connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
      g_clear_object (&self->connection);
    }
  if (self->jump != NULL)
    bastion_ssh_jump_close (self->jump);

  self->send_busy = FALSE;
  self->out_len = 0;
  self->out_errno = 0;
}

static void
drop_user_cancellable (BastionSshSession *self)
{
  if (self->user_cancellable != NULL)
    {
      g_cancellable_disconnect (self->user_cancellable, self->cancel_id);
      self->cancel_id = 0;
      g_clear_object (&self->user_cancellable);
    }
}

static GError *
login_overflow_error_new (BastionSshSession *self)
{
  return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_HANDSHAKE,
                      _("The SSH handshake with %s:%u failed: the server sent more than %u KiB "
                        "without completing the SSH greeting, key exchange and login (endless "
                        "text or packets), so Bastion stopped reading. Check that port %u is the "
                        "bastion’s SSH port"),
                      self->host, self->port, LOGIN_BYTES_MAX / 1024, self->port);
}

static void
fail_task (BastionSshSession *self,
           GError            *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  drop_user_cancellable (self);

  if (self->login_overflow)
    {
      g_error_free (error);
      error = login_overflow_error_new (self);
    }
  g_debug ("SSH %s:%u: %s", self->host, self->port, error->message);
  teardown (self, FALSE);
  self->phase = PHASE_IDLE;
  wipe_string (&self->passphrase);
  wipe_string (&self->password);
  wipe_key_data (self);
  set_stage (self, BASTION_SSH_STAGE_FAILED);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

static void
complete_task (BastionSshSession *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  drop_user_cancellable (self);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static char *
last_ssh_error (BastionSshSession *self)
{
  char *msg = NULL;

  if (self->session != NULL)
    libssh2_session_last_error (self->session, &msg, NULL, 0);

  return g_strdup (msg != NULL ? msg : "");
}

static void
update_condition (BastionSshSession *self)
{
  GIOCondition cond = G_IO_IN;
  int dirs;

  if (self->watch == NULL || self->session == NULL)
    return;

  dirs = libssh2_session_block_directions (self->session);
  if (self->phase == PHASE_READY && (self->idle_paused || self->input_paused))
    cond = 0;
  if ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) || self->send_busy || self->out_len > 0)
    cond |= G_IO_OUT;
  if (self->phase != PHASE_READY && !(dirs & LIBSSH2_SESSION_BLOCK_INBOUND) &&
      (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND))
    cond = G_IO_OUT;

  bastion_fd_watch_set_condition (self->watch, cond);
}

static gboolean
emit_disconnected_cb (gpointer data)
{
  BastionSshSession *self = data;
  g_autoptr(GError) error = NULL;

  self->dead_idle_id = 0;
  error = g_steal_pointer (&self->dead_error);
  teardown (self, FALSE);
  set_stage (self, BASTION_SSH_STAGE_FAILED);
  g_signal_emit (self, signals[DISCONNECTED], 0, error);

  return G_SOURCE_REMOVE;
}

static void
mark_dead (BastionSshSession *self,
           GError            *error)
{
  if (self->phase == PHASE_DEAD || self->phase != PHASE_READY)
    {
      g_error_free (error);
      return;
    }

  g_debug ("SSH %s:%u: session lost: %s", self->host, self->port, error->message);
  self->phase = PHASE_DEAD;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  bastion_source_clear (self->context, &self->keepalive_id);
  self->dead_error = error;
  self->dead_idle_id = bastion_source_add_idle (self->context, G_PRIORITY_HIGH,
                                                emit_disconnected_cb, g_object_ref (self),
                                                g_object_unref);
}

gboolean
bastion_ssh_session_check_rc (BastionSshSession *self,
                              int                rc)
{
  g_autofree char *msg = NULL;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  if (self->phase != PHASE_READY)
    return FALSE;

  switch (rc)
    {
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_USE:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_ALLOC:
    case LIBSSH2_ERROR_OUT_OF_BOUNDARY:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
      msg = last_ssh_error (self);
      mark_dead (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                                    _("The connection to the bastion %s was lost (%s)"),
                                    self->host, msg));
      return FALSE;

    default:
      return TRUE;
    }
}

gboolean
bastion_ssh_session_is_alive (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  return self->phase == PHASE_READY;
}

static void
on_socket_event (int          fd,
                 GIOCondition revents,
                 gpointer     user_data)
{
  BastionSshSession *self = user_data;

  if (self->phase == PHASE_READY)
    {
      g_object_ref (self);
      self->recv_budget = RECV_BUDGET;
      if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        self->recv_empty = FALSE;
      if (self->idle || self->io_func == NULL)
        {
          /* Nothing reads the session (no channel): only notice a closed or broken socket.
           * Whatever the server sent waits in the socket until the next channel's calls read
           * it; meanwhile stop polling for input so the loop does not spin. */
          char c;
          ssize_t n = (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
                      ? recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) : -1;

          if ((revents & G_IO_ERR) || n == 0 ||
              (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
               (revents & (G_IO_IN | G_IO_HUP))))
            bastion_ssh_session_check_rc (self, LIBSSH2_ERROR_SOCKET_DISCONNECT);
          else if (n > 0)
            self->idle_paused = TRUE;
        }
      else if (self->io_func != NULL)
        {
          self->recv_calls = 0;
          self->io_func (self, self->io_data);
          /* Input was there and nothing asked libssh2 for it: the tunnel's clients are all
           * back-pressured. Polling for input again would spin the loop (and starve lower
           * priority sources, such as a query reading its own tunnel) until a client reads;
           * recv_cb() resumes polling at the next read. A closed socket still shows. */
          if (self->phase == PHASE_READY && self->recv_calls == 0 &&
              (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
            {
              char c;
              ssize_t n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

              if ((revents & G_IO_ERR) || n == 0 ||
                  (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                bastion_ssh_session_check_rc (self, LIBSSH2_ERROR_SOCKET_DISCONNECT);
              else if (n > 0)
                self->input_paused = TRUE;
            }
        }
      if (self->phase == PHASE_READY)
        update_condition (self);
      g_object_unref (self);
      return;
    }

  session_advance (self);
}

static ssize_t
recv_cb (libssh2_socket_t   sock,
         void              *buffer,
         size_t             length,
         int                flags,
         void             **abstract)
{
  BastionSshSession *self = *abstract;
  ssize_t n;

  /* Someone reads again: poll for input again. */
  self->recv_calls++;
  if (self->input_paused)
    {
      self->input_paused = FALSE;
      update_condition (self);
    }

  /* Spent: as if the socket were empty. It is polled for input whenever the session is ready
   * and in use, so the next wake-up comes at once and refills the budget. */
  if (self->phase == PHASE_READY && (self->recv_budget <= 0 || self->recv_empty))
    return -EAGAIN;

  if (self->phase == PHASE_HANDSHAKE || self->phase == PHASE_AUTH_LIST ||
      self->phase == PHASE_AUTH)
    {
      if (self->login_bytes >= LOGIN_BYTES_MAX)
        {
          self->login_overflow = TRUE;
          return -ECONNABORTED;
        }
      /* Back to the loop: its timeout sources run, the socket's next poll comes at once. */
      if (self->login_round >= LOGIN_ROUND_MAX)
        return -EAGAIN;
      length = MIN (length, LOGIN_BYTES_MAX - self->login_bytes);
    }

  n = recv (sock, buffer, length, flags);
  if (n < 0)
    {
      int err = errno;

      /* libssh2 reads until the socket is empty, and every channel read or write starts with
       * such a read: for one small reply that was one recv() returning data and five or six
       * returning EAGAIN. While the tunnel uses the session, its socket is polled for input on
       * every loop iteration, so after an EAGAIN another recv() is pointless until that poll
       * reports input again (on_socket_event): answer EAGAIN without the system call. */
      if ((err == EAGAIN || err == EWOULDBLOCK) && self->phase == PHASE_READY &&
          self->io_func != NULL && !self->idle)
        self->recv_empty = TRUE;
      return -err;
    }
  if (n > 0)
    {
      self->last_recv = g_get_monotonic_time ();
      self->recv_budget -= n;
      self->login_bytes += n;
      self->login_round += n;
    }

  return n;
}

static gboolean
keepalive_cb (gpointer data)
{
  BastionSshSession *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 silent = now - self->last_recv;
  gint64 interval = (gint64)self->keepalive_interval * G_USEC_PER_SEC;

  if (self->phase != PHASE_READY || self->session == NULL)
    return G_SOURCE_CONTINUE;

  /* Back-pressured, the socket is not read, but bytes waiting in it are the peer's sign of
   * life (a peer that dies meanwhile shows when reading resumes, or as a socket error once
   * TCP_USER_TIMEOUT expires under the keepalives sent below). */
  if (self->input_paused)
    {
      int pending = 0;

      if (ioctl (raw_fd (self), FIONREAD, &pending) == 0 && pending > 0)
        self->last_recv = now;
      silent = now - self->last_recv;
    }

  /* Idle, nothing reads replies: keepalives go without want-reply and a dead peer shows as a
   * socket error (TCP_USER_TIMEOUT, TCP keepalive). */
  if (!self->idle && self->io_func != NULL && silent >= KEEPALIVE_COUNT_MAX * interval)
    {
      mark_dead (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                                    _("The bastion %s stopped answering (no reply for %u s)"),
                                    self->host, KEEPALIVE_COUNT_MAX * self->keepalive_interval));
      return G_SOURCE_CONTINUE;
    }

  /* libssh2 builds the keepalive packet on the stack: only send it when no packet is half-sent
   * and the kernel can surely take all of it at once. */
  if (silent >= interval && bastion_ssh_session_can_send_small (self))
    {
      int next = 0;
      int rc = libssh2_keepalive_send (self->session, &next);

      g_debug ("SSH %s:%u: keepalive sent (%d)", self->host, self->port, rc);
      if (rc < 0)
        bastion_ssh_session_check_rc (self, rc);
    }

  return G_SOURCE_CONTINUE;
}

/* ---- Authentication ---------------------------------------------------------------------- */

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

static GError *
auth_failed_error (BastionSshSession *self)
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
    return auth_failed_error (self);

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
                                 (libssh2_cb_generic *)recv_cb);
  self->phase = PHASE_AUTH;
  self->watch = bastion_fd_watch_new (raw_fd (self), G_IO_IN | G_IO_OUT, on_socket_event, self);

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
      become_ready (self);
    }
  else
    fail_task (self, key_file_auth_error (self, job->rc, job->message));
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
      job->agent_max_keys = self->auth_method == BASTION_SSH_AUTH_AGENT ? 5 : 3;
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
    g_autofree char *msg = last_ssh_error (self);
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
      g_autofree char *msg = last_ssh_error (self);
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
      if (self->auth_method == BASTION_SSH_AUTH_AGENT)
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
      become_ready (self);
      return;
    }

  switch (job->agent_result)
    {
    case BASTION_SSH_AGENT_UNREACHABLE:
      note_tried (self, _("publickey (agent, not reachable)"));
      if (self->auth_method == BASTION_SSH_AUTH_AGENT)
        keep_auth_error (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                            _("Cannot reach the SSH agent: is SSH_AUTH_SOCK set "
                                              "and the agent running?")));
      break;
    case BASTION_SSH_AGENT_NO_KEYS:
      note_tried (self, _("publickey (agent, which holds no key)"));
      break;
    case BASTION_SSH_AGENT_ERROR:
      fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                    _("Logging in to the bastion %s through the SSH agent "
                                      "failed: %s"), self->host, job->message));
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
  session_advance (self);
}

static gboolean
has_password (BastionSshSession *self)
{
  return self->password != NULL;
}

/* Runs the methods in order from self->auth_try. Returns LIBSSH2_ERROR_EAGAIN while one is in
 * progress (or runs in a thread), 0 once logged in, else sets ERROR. */
static int
auth_run (BastionSshSession  *self,
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
        if (self->auth_method != BASTION_SSH_AUTH_KEY_FILE || self->auth_error != NULL ||
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
        else if (self->auth_method == BASTION_SSH_AUTH_PASSWORD && !has_password (self))
          g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                       _("No SSH password was given for “%s” on the bastion %s"),
                       self->user, self->host);
        else
          g_propagate_error (error, auth_failed_error (self));
        return -1;
      }
}

/* ---- The connection steps ----------------------------------------------------------------- */


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

static void
set_method_prefs (BastionSshSession *self)
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

/* *save_new is set when the key is new and to be recorded (accept-new): the caller writes it
 * off the main loop (start_host_key_save()). */
static GError *
check_host_key (BastionSshSession *self,
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
  g_free (self->fingerprint);
  self->fingerprint = bastion_known_hosts_fingerprint ((const guint8 *)blob, len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOST_KEY_FINGERPRINT]);

  /* The files as read in a thread when the connection started: no file I/O here. */
  status = bastion_known_hosts_check_contents ((const char * const *)self->known_hosts,
                                               self->host, self->port, (const guint8 *)blob, len);
  if (status != BASTION_HOST_KEY_CHANGED && status != BASTION_HOST_KEY_REVOKED &&
      self->host_key_pin != NULL && self->host_key_pin[0] != '\0')
    {
      if (bastion_known_hosts_fingerprint_equal (self->host_key_pin, (const guint8 *)blob, len))
        status = BASTION_HOST_KEY_PIN_MATCH;
      else
        status = BASTION_HOST_KEY_PIN_MISMATCH;
    }
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
                            "is %s. Check it with the bastion’s administrator, then trust it "
                            "(bastion-cli hostkey TEAM --trust, or --accept-new)."),
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

static void
auth_list_phase (BastionSshSession *self)
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
      if (contents != NULL)
        explicit_bzero (contents, length);
      g_free (contents);
      return;
    }

  wipe_key_data (self);
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
                             _("The key file “%s” is protected by a passphrase; give it "
                               "to Bastion (bastion-cli secret set TEAM key-passphrase)"),
                             self->key_file);

  if (key_error != NULL)
    {
      const char *sock = g_getenv ("SSH_AUTH_SOCK");

      /* The agent comes first and may hold the team's key (a .pem removed once it was added
       * to the agent): the key file's problem is the answer only if the agent fails too. */
      if (sock == NULL || sock[0] == '\0')
        {
          fail_task (self, key_error);
          return;
        }
      g_debug ("SSH %s:%u: the key file cannot be used (%s); trying the agent first",
               self->host, self->port, key_error->message);
      auth_list_phase (self);
      self->auth_error = key_error;
    }
  else
    auth_list_phase (self);
  self->watch = bastion_fd_watch_new (raw_fd (self), G_IO_IN | G_IO_OUT, on_socket_event, self);
  session_advance (self);
}

/* Key files are read in a thread (bastion_key_file_load_async): nothing blocks the main loop on
 * a slow or network file system. Meanwhile the socket is not watched (the server waits for us),
 * so its events cannot spin the loop. */
static void
start_auth (BastionSshSession *self)
{
  set_stage (self, BASTION_SSH_STAGE_AUTHENTICATING);

  if (self->auth_method != BASTION_SSH_AUTH_KEY_FILE)
    {
      auth_list_phase (self);
      return;
    }

  if (self->key_file == NULL || self->key_file[0] == '\0')
    {
      fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_KEY_FILE,
                                    _("No SSH key file is set for this team")));
      return;
    }

  self->phase = PHASE_KEY_CHECK;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  bastion_key_file_load_async (self->key_file, NULL, on_key_loaded, g_object_ref (self->task));
}

static void
become_ready (BastionSshSession *self)
{
  wipe_string (&self->passphrase);
  wipe_string (&self->password);
  wipe_key_data (self);

  bastion_source_clear (self->context, &self->timeout_id);
  self->phase = PHASE_READY;
  self->last_recv = g_get_monotonic_time ();
  self->recv_budget = RECV_BUDGET;
  self->idle_paused = FALSE;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  if (self->out_buf == NULL)
    self->out_buf = g_malloc (OUT_BATCH_MAX);
  self->out_len = 0;
  self->out_errno = 0;
  self->flush_source = g_source_new (&flush_source_funcs, sizeof (BastionFlushSource));
  ((BastionFlushSource *)self->flush_source)->self = self;
  /* Highest priority: prepared on every iteration, even when other sources are ready. */
  g_source_set_priority (self->flush_source, G_PRIORITY_HIGH - 100);
  g_source_set_static_name (self->flush_source, "[bastion] ssh output batch");
  g_source_attach (self->flush_source, self->context);
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_SEND,
                                 (libssh2_cb_generic *)send_cb);
  g_debug ("SSH %s:%u: ready, cipher %s", self->host, self->port,
           libssh2_session_methods (self->session, LIBSSH2_METHOD_CRYPT_CS));
  libssh2_keepalive_config (self->session, self->idle ? 0 : 1, self->keepalive_interval);
  self->keepalive_id = bastion_source_add_timeout (self->context, 1000, keepalive_cb, self);
  set_stage (self, BASTION_SSH_STAGE_READY);
  update_condition (self);
  complete_task (self);
}

/* The host key passed: a probe (HOST_KEY_ONLY) ends here, a connection goes on to log in. */
static void
host_key_accepted (BastionSshSession *self)
{
  if (self->flags & BASTION_SSH_CONNECT_HOST_KEY_ONLY)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->task);

      drop_user_cancellable (self);
      teardown (self, TRUE);
      self->phase = PHASE_IDLE;
      set_stage (self, BASTION_SSH_STAGE_CLOSED);
      g_task_return_boolean (task, TRUE);
      return;
    }
  start_auth (self);
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
      fail_task (self, error);
      return;
    }

  self->host_key_status = BASTION_HOST_KEY_TRUSTED;
  self->watch = bastion_fd_watch_new (raw_fd (self), G_IO_IN | G_IO_OUT, on_socket_event, self);
  host_key_accepted (self);
  if (self->phase == PHASE_AUTH_LIST)
    session_advance (self);
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
static void
start_host_key_save (BastionSshSession *self)
{
  g_autoptr(GTask) task = NULL;
  HostKeySave *save = host_key_save_new (self);

  self->phase = PHASE_HOST_KEY_SAVE;
  g_clear_pointer (&self->watch, bastion_fd_watch_free);
  task = g_task_new (NULL, NULL, on_host_key_saved, g_object_ref (self->task));
  g_task_set_source_tag (task, start_host_key_save);
  g_task_set_task_data (task, save, (GDestroyNotify) host_key_save_free);
  g_task_run_in_thread (task, host_key_save_thread);
}

/* libssh2 reports most handshake failures as "Unable to exchange encryption keys": say which
 * kind it was (no common algorithm, not an SSH server, closed or garbled) and what to do. */
static GError *
handshake_error_new (BastionSshSession *self,
                     int                rc)
{
  g_autofree char *msg = last_ssh_error (self);
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

static void
session_advance (BastionSshSession *self)
{
  GError *error = NULL;
  int rc;

  g_object_ref (self);
  self->login_round = 0;

  switch (self->phase)
    {
    case PHASE_HANDSHAKE:
      rc = libssh2_session_handshake (self->session, raw_fd (self));
      if (rc == LIBSSH2_ERROR_EAGAIN)
        break;
      if (rc != 0)
        {
          fail_task (self, handshake_error_new (self, rc));
          break;
        }
      set_stage (self, BASTION_SSH_STAGE_VERIFYING_HOST_KEY);
      {
        gboolean save_new = FALSE;

        if ((error = check_host_key (self, &save_new)) != NULL)
          {
            fail_task (self, error);
            break;
          }
        if (save_new)
          {
            start_host_key_save (self);
            break;
          }
      }
      host_key_accepted (self);
      if (self->phase != PHASE_AUTH_LIST)
        break;
      G_GNUC_FALLTHROUGH;

    case PHASE_AUTH_LIST:
      {
        char *list = libssh2_userauth_list (self->session, self->user, strlen (self->user));

        if (list == NULL)
          {
            if (libssh2_userauth_authenticated (self->session))
              {
                become_ready (self);
                break;
              }
            rc = libssh2_session_last_errno (self->session);
            if (rc == LIBSSH2_ERROR_EAGAIN)
              break;
            {
              g_autofree char *msg = last_ssh_error (self);
              fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_AUTH_FAILED,
                                            _("The bastion %s did not list its login methods: "
                                              "%s"), self->host, msg));
            }
            break;
          }
        g_free (self->offered);
        self->offered = g_strdup (list);
        g_debug ("SSH %s:%u: server offers %s", self->host, self->port, list);
        self->phase = PHASE_AUTH;
      }
      G_GNUC_FALLTHROUGH;

    case PHASE_AUTH:
      rc = auth_run (self, &error);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        break;
      if (error != NULL)
        fail_task (self, error);
      else if (rc == 0)
        become_ready (self);
      else
        fail_task (self, auth_failed_error (self));
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

  if (self->phase != PHASE_IDLE && self->phase != PHASE_READY && self->phase != PHASE_DEAD &&
      self->phase != PHASE_KEY_CHECK && self->phase != PHASE_AUTH_THREAD &&
      self->phase != PHASE_KNOWN_HOSTS && self->phase != PHASE_HOST_KEY_SAVE)
    update_condition (self);

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
    set_stage (self, BASTION_SSH_STAGE_CONNECTING);
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
    fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                  _("The bastion %s accepted the connection on port %u but its "
                                    "SSH server did not answer within %u s"),
                                  self->host, self->port, self->connect_timeout));
  else if (self->phase == PHASE_KNOWN_HOSTS)
    {
      g_autofree char *user_file = self->user_known_hosts
                                   ? g_strdup (self->user_known_hosts)
                                   : bastion_known_hosts_dup_user_file ();
      g_autofree char *own_file = self->bastion_known_hosts
                                  ? g_strdup (self->bastion_known_hosts)
                                  : bastion_known_hosts_dup_bastion_file ();

      fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                    _("Reading the known hosts files %s and %s took longer than "
                                      "%u s; check that they are regular files on a disk that "
                                      "answers"),
                                    user_file, own_file, self->connect_timeout));
    }
  else if (self->phase == PHASE_HOST_KEY_SAVE || self->phase == PHASE_KEY_CHECK ||
           self->phase == PHASE_AUTH_LIST ||
           self->phase == PHASE_AUTH || self->phase == PHASE_AUTH_THREAD)
    fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                                  _("The bastion %s did not complete the login within %u s"),
                                  self->host, self->connect_timeout));

  return G_SOURCE_REMOVE;
}

static void
start_handshake (BastionSshSession *self)
{
  set_method_prefs (self);
  self->phase = PHASE_HANDSHAKE;
  self->watch = bastion_fd_watch_new (raw_fd (self), G_IO_IN | G_IO_OUT, on_socket_event, self);
  session_advance (self);
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
    start_handshake (self);
}

/* known_hosts files may sit on a slow or network file system (or be a FIFO): read them in a
 * thread while the TCP connection is made. */
static void
start_known_hosts_read (BastionSshSession *self)
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
  g_task_set_source_tag (task, start_known_hosts_read);
  g_task_set_task_data (task, files, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, known_hosts_thread);
}

static void start_session (BastionSshSession *self,
                           GSocketConnection *connection);

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
          drop_user_cancellable (self);
          g_clear_object (&self->task);
          self->phase = PHASE_IDLE;
          set_stage (self, BASTION_SSH_STAGE_CLOSED);
          return;
        }
      fail_task (self, map_connect_error (self, error));
      return;
    }

  start_session (self, connection);
}

/* The socket is there (TCP, or the ProxyJump chain's): libssh2 takes over. */
static void
start_session (BastionSshSession *self,
               GSocketConnection *connection)
{
  self->connection = connection;
  tune_socket (raw_fd (self));

  self->session = libssh2_session_init_ex (NULL, NULL, NULL, self);
  if (self->session == NULL)
    {
      fail_task (self, g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                                    _("Cannot create an SSH session (out of memory?)")));
      return;
    }
  libssh2_session_set_blocking (self->session, 0);
  libssh2_session_callback_set2 (self->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *)recv_cb);
  libssh2_session_flag (self->session, LIBSSH2_FLAG_COMPRESS, 0);
  set_method_prefs (self);

  /* The host key preferences come from the known_hosts files: wait for the thread reading them
   * (on_known_hosts_read()) without watching the socket; the server waits for us. */
  if (!self->known_hosts_ready)
    {
      self->phase = PHASE_KNOWN_HOSTS;
      return;
    }
  start_handshake (self);
}

/* The last hop of the ProxyJump chain opened a channel to us: its socket pair is our socket.
 * The hops' errors already name the hop and say what to do. */
static void
on_jump_connected (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(BastionSshSession) self = user_data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  connection = bastion_ssh_jump_connect_finish (BASTION_SSH_JUMP (object), result, &error);
  /* An earlier connection's chain (closed when this one started) answers late: not ours. */
  if (self->task == NULL || self->phase != PHASE_CONNECTING ||
      g_task_get_cancellable (G_TASK (result)) != self->connect_cancellable)
    {
      g_clear_object (&connection);
      return;
    }
  g_clear_object (&self->connect_cancellable);
  if (connection == NULL)
    {
      fail_task (self, g_steal_pointer (&error));
      return;
    }

  /* The hops had their own time; the bastion's handshake and login get the usual bound. */
  set_stage (self, BASTION_SSH_STAGE_CONNECTING);
  self->timeout_id = bastion_source_add_timeout (self->context, self->connect_timeout * 1000,
                                                 connect_timeout_cb, self);
  start_session (self, connection);
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
  teardown (self, FALSE);
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
  set_stage (self, BASTION_SSH_STAGE_RESOLVING);
  start_known_hosts_read (self);

  g_clear_object (&self->connect_cancellable);
  self->connect_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      self->user_cancellable = g_object_ref (cancellable);
      self->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_task_cancelled),
                                               self, NULL);
    }

  if (self->jump != NULL)
    {
      bastion_ssh_jump_connect_async (self->jump, self, self->connect_cancellable,
                                      on_jump_connected, g_object_ref (self));
      return;
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
      fail_task (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                    _("The connection was cancelled")));
    }

  bastion_source_clear (self->context, &self->dead_idle_id);
  g_clear_error (&self->dead_error);
  teardown (self, self->phase == PHASE_READY);
  self->phase = PHASE_IDLE;
  set_stage (self, BASTION_SSH_STAGE_CLOSED);
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
  wipe_string (&self->passphrase);
  self->passphrase = g_strdup (passphrase);
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
  wipe_string (&self->password);
  self->password = g_strdup (password);
}

/* The session whose host key the last connection stopped at: a jump host's, or our own. */
static BastionSshSession *
key_holder (BastionSshSession *self)
{
  BastionSshSession *hop = self->jump ? bastion_ssh_jump_get_failed_hop (self->jump) : NULL;

  return hop != NULL ? hop : self;
}

BastionHostKeyStatus
bastion_ssh_session_get_host_key_status (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), BASTION_HOST_KEY_UNCHECKED);
  return key_holder (self)->host_key_status;
}

const char *
bastion_ssh_session_get_host_key_fingerprint (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);
  return key_holder (self)->fingerprint;
}

static void
on_host_key_trusted (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BastionSshSession *self = key_holder (g_task_get_source_object (task));
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
  /* A jump host's unknown key is recorded as that host's (bastion-ssh-jump.c). */
  self = key_holder (self);

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

/**
 * bastion_ssh_session_batch_writes:
 * @batch: %TRUE around the libssh2 calls that relay a client's data
 *
 * While set, small packets wait for the end of the main-loop iteration and leave together.
 */
void
bastion_ssh_session_batch_writes (BastionSshSession *self,
                                  gboolean           batch)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->batch_writes = !!batch;
}

/**
 * bastion_ssh_session_get_output_stats:
 * @packets: (out) (optional): the writes libssh2 made to the socket since the session was ready
 * @sends: (out) (optional): the send() calls that carried them (see OUT_BATCH_MAX)
 */
void
bastion_ssh_session_get_output_stats (BastionSshSession *self,
                                      guint64           *packets,
                                      guint64           *sends)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  if (packets != NULL)
    *packets = self->out_packets;
  if (sends != NULL)
    *sends = self->out_sends;
}

const char *
bastion_ssh_session_get_cipher (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  if (self->session == NULL)
    return NULL;

  return libssh2_session_methods (self->session, LIBSSH2_METHOD_CRYPT_CS);
}

LIBSSH2_SESSION *
bastion_ssh_session_get_raw (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return self->phase == PHASE_READY ? self->session : NULL;
}

GQueue *
bastion_ssh_session_get_channels (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return &self->channels;
}

char *
bastion_ssh_session_dup_last_error (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);

  return last_ssh_error (self);
}

void
bastion_ssh_session_set_io_func (BastionSshSession *self,
                                 BastionSshIoFunc   func,
                                 gpointer           user_data)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->io_func = func;
  self->io_data = user_data;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  if (self->phase == PHASE_READY)
    update_condition (self);
}

void
bastion_ssh_session_set_send_busy (BastionSshSession *self,
                                   gboolean           busy)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  self->send_busy = !!busy;
  if (self->phase == PHASE_READY)
    update_condition (self);
}

void
bastion_ssh_session_set_idle (BastionSshSession *self,
                              gboolean           idle)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  idle = !!idle;
  if (self->idle == (guint)idle)
    return;

  self->idle = idle;
  self->idle_paused = FALSE;
  self->input_paused = FALSE;
  self->recv_empty = FALSE;
  self->recv_budget = RECV_BUDGET;
  if (!idle)
    self->last_recv = g_get_monotonic_time ();
  if (self->session != NULL)
    libssh2_keepalive_config (self->session, idle ? 0 : 1, self->keepalive_interval);
  if (self->phase == PHASE_READY)
    update_condition (self);
}

gboolean
bastion_ssh_session_can_send_small (BastionSshSession *self)
{
  int outq = 0;

  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);

  return self->phase == PHASE_READY && self->session != NULL && !self->send_busy &&
         !(libssh2_session_block_directions (self->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) &&
         ioctl (raw_fd (self), SIOCOUTQ, &outq) == 0 && outq < 16384;
}

void
bastion_ssh_session_set_jump (BastionSshSession *self,
                              BastionSshJump    *jump)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));
  g_return_if_fail (self->task == NULL && self->phase != PHASE_READY);

  g_set_object (&self->jump, jump);
}

BastionSshJump *
bastion_ssh_session_get_jump (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), NULL);
  return self->jump;
}

gboolean
bastion_ssh_session_get_identities_only (BastionSshSession *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (self), FALSE);
  return self->identities_only;
}

/* While the chain connects, the session shows the step its hops are at. */
void
bastion_ssh_session_set_jump_stage (BastionSshSession *self,
                                    BastionSshStage    stage)
{
  g_return_if_fail (BASTION_IS_SSH_SESSION (self));

  if (self->phase == PHASE_CONNECTING && self->task != NULL)
    set_stage (self, stage);
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
  teardown (self, self->phase == PHASE_READY);
  self->phase = PHASE_IDLE;

  G_OBJECT_CLASS (bastion_ssh_session_parent_class)->dispose (object);
}

static void
bastion_ssh_session_finalize (GObject *object)
{
  BastionSshSession *self = (BastionSshSession *)object;

  wipe_string (&self->passphrase);
  wipe_string (&self->password);
  wipe_key_data (self);
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
  g_clear_object (&self->jump);
  g_clear_object (&self->connect_cancellable);
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
      if (self->auth_method != (BastionSshAuthMethod)g_value_get_enum (value))
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
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 1, 65535, 22, rw);
  properties[PROP_USER] = g_param_spec_string ("user", NULL, NULL, NULL, rw);
  properties[PROP_AUTH_METHOD] =
    g_param_spec_enum ("auth-method", NULL, NULL, BASTION_TYPE_SSH_AUTH_METHOD,
                       BASTION_SSH_AUTH_KEY_FILE, rw);
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
  self->port = 22;
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
