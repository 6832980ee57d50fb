/* bastion-ssh-session-impl-private.h
 *
 * What the parts of BastionSshSession share: the object's fields and the steps they call in
 * each other. Only bastion-ssh-session*.c include it; the tunnel uses
 * bastion-ssh-session-private.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libssh2.h>

#include "bastion-fd-watch.h"
#include "bastion-ssh-agent.h"
#include "bastion-ssh-session-private.h"

G_BEGIN_DECLS

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
  BastionAuthMethod       auth_method;
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
  /* Streaming (bastion-ssh-session-io.c): SO_RCVLOWAT while wake-ups bring much, and a timer
   * that reads the tail when no more comes. */
  GSource                *lowat_source;
  gsize                   wake_bytes;
  gsize                   lowat;            /* bytes; 0: never */
  guint64                 lowat_streams;    /* times it was turned on */
  guint64                 lowat_tails;      /* tails the timer read */
  guint                   lowat_on : 1;
  guint                   quickack : 1;     /* TCP_QUICKACK after reads (quickack()) */
};

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

typedef struct
{
  GSource            source;
  BastionSshSession *self;      /* not a reference: the session destroys the source first */
} BastionFlushSource;

typedef struct
{
  GSource            source;
  BastionSshSession *self;      /* not a reference: the session destroys the source first */
  gint64             deadline;  /* monotonic µs; -1: not armed */
} BastionLowatSource;

/* bastion-ssh-session.c */
void     _bastion_ssh_set_stage             (BastionSshSession  *self,
                                             BastionSshStage     stage);
/* The session whose host key the last connection stopped at: a jump host's, or SELF. */
BastionSshSession *_bastion_ssh_key_holder  (BastionSshSession  *self);
void     _bastion_ssh_set_fingerprint       (BastionSshSession  *self,
                                             char               *fingerprint);
void     _bastion_ssh_emit_disconnected     (BastionSshSession  *self,
                                             GError             *error);
void     _bastion_ssh_wipe_key_data         (BastionSshSession  *self);

/* bastion-ssh-session-io.c */
int      _bastion_ssh_raw_fd                (BastionSshSession  *self);
void     _bastion_ssh_teardown              (BastionSshSession  *self,
                                             gboolean            polite);
void     _bastion_ssh_drop_user_cancellable (BastionSshSession  *self);
void     _bastion_ssh_fail_task             (BastionSshSession  *self,
                                             GError             *error);
void     _bastion_ssh_complete_task         (BastionSshSession  *self);
char    *_bastion_ssh_last_error            (BastionSshSession  *self);
void     _bastion_ssh_update_condition      (BastionSshSession  *self);
void     _bastion_ssh_mark_dead             (BastionSshSession  *self,
                                             GError             *error);
void     _bastion_ssh_on_socket_event       (int                 fd,
                                             GIOCondition        revents,
                                             gpointer            user_data);
ssize_t  _bastion_ssh_recv_cb               (libssh2_socket_t    sock,
                                             void               *buffer,
                                             size_t              length,
                                             int                 flags,
                                             void              **abstract);
void     _bastion_ssh_become_ready          (BastionSshSession  *self);

/* bastion-ssh-session-connect.c */
void     _bastion_ssh_advance               (BastionSshSession  *self);
void     _bastion_ssh_set_method_prefs      (BastionSshSession  *self);
void     _bastion_ssh_start_handshake       (BastionSshSession  *self);

/* bastion-ssh-session-host-key.c */
GError  *_bastion_ssh_check_host_key        (BastionSshSession  *self,
                                             gboolean           *save_new);
void     _bastion_ssh_host_key_accepted     (BastionSshSession  *self);
void     _bastion_ssh_start_host_key_save   (BastionSshSession  *self);
void     _bastion_ssh_start_known_hosts_read (BastionSshSession *self);

/* bastion-ssh-session-auth.c */
void     _bastion_ssh_start_auth            (BastionSshSession  *self);
void     _bastion_ssh_auth_list_phase       (BastionSshSession  *self);
int      _bastion_ssh_auth_run              (BastionSshSession  *self,
                                             GError            **error);
GError  *_bastion_ssh_auth_failed_error     (BastionSshSession  *self);

G_END_DECLS
