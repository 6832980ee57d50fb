/* bastion-tunnel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The owner's side of a tunnel: the GObject, its public API and the reports that carry the
 * relay's state (bastion-tunnel-relay.c, on the I/O thread) to the owner's context.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "bastion-defaults.h"
#include "bastion-io-thread.h"
#include "bastion-tunnel-private.h"

G_DEFINE_FINAL_TYPE (BastionTunnel, bastion_tunnel, G_TYPE_OBJECT)
G_DEFINE_QUARK (bastion-tunnel-error-quark, bastion_tunnel_error)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_DB_HOST,
  PROP_DB_PORT,
  PROP_LOCAL_ADDRESS,
  PROP_LOCAL_PORT,
  PROP_STAGE,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_N_CHANNELS,
  PROP_RTT,
  PROP_RECEIVE_WINDOW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Reports to the owner's thread --------------------------------------------------------- */

typedef struct
{
  BastionTunnel *self;
  State          state;
  GTask         *task;
  GError        *task_error;
} Report;

static void
state_clear (State *state)
{
  g_clear_error (&state->error);
}

/* Owner's thread. Reports may overtake each other (the one stop() applies at once): only a
 * newer state counts. */
static void
apply_state (BastionTunnel *self,
             State         *state)
{
  State old;

  if (state->seq <= self->pub.seq)
    return;

  old = self->pub;
  self->pub = *state;
  state->error = old.error;

  g_object_freeze_notify (G_OBJECT (self));
  if (old.local_port != self->pub.local_port)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL_PORT]);
  if (old.bytes_in != self->pub.bytes_in)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_IN]);
  if (old.bytes_out != self->pub.bytes_out)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_OUT]);
  if (old.n_channels != self->pub.n_channels)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
  if (old.rtt != self->pub.rtt)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RTT]);
  if (old.window != self->pub.window)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECEIVE_WINDOW]);
  if (old.stage != self->pub.stage)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
  g_object_thaw_notify (G_OBJECT (self));
}

static State
snapshot (BastionTunnel *self)
{
  State state = {
    .seq = ++self->seq,
    .stage = self->stage,
    .local_port = self->local_port,
    .bytes_in = self->bytes_in,
    .bytes_out = self->bytes_out,
    .n_channels = self->n_channels,
    .rtt = self->rtt,
    .window = self->window,
    .n_clients = self->clients.length + self->n_carried,
    .n_refused = self->n_refused,
    .error = self->error != NULL ? g_error_copy (self->error) : NULL,
  };

  return state;
}

static gboolean
report_cb (gpointer data)
{
  Report *report = data;

  apply_state (report->self, &report->state);
  if (report->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&report->task);

      if (report->task_error != NULL)
        g_task_return_error (task, g_steal_pointer (&report->task_error));
      else
        g_task_return_boolean (task, TRUE);
    }

  return G_SOURCE_REMOVE;
}

/* Runs on the owner's thread, after report_cb(): the last reference may go there. */
static void
report_free (gpointer data)
{
  Report *report = data;

  state_clear (&report->state);
  g_clear_error (&report->task_error);
  g_clear_object (&report->task);
  g_object_unref (report->self);
  g_free (report);
}

/* Relay: tells the owner the current state and, with TASK, completes the owner's start task. */
void
bastion_tunnel_report_done (BastionTunnel *self,
                            GTask         *task,
                            GError        *error)
{
  Report *report = g_new0 (Report, 1);

  report->self = g_object_ref (self);
  report->state = snapshot (self);
  report->task = task;
  report->task_error = error;
  bastion_source_add_idle (self->owner_context, G_PRIORITY_DEFAULT, report_cb, report,
                           report_free);
}

void
bastion_tunnel_report (BastionTunnel *self)
{
  bastion_tunnel_report_done (self, NULL, NULL);
}

/* Relay: a reference the relay took is dropped on the owner's thread, so the tunnel is never
 * disposed on the I/O thread. */
static gboolean
nothing_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

void
bastion_tunnel_unref_on_owner (BastionTunnel *self)
{
  bastion_source_add_idle (self->owner_context, G_PRIORITY_DEFAULT, nothing_cb, self,
                           g_object_unref);
}

/* ---- Marshalling to the I/O thread ---------------------------------------------------------- */

static gboolean
relay_start_cb (gpointer data)
{
  GTask *task = data;
  BastionTunnel *self = g_task_get_source_object (task);

  bastion_tunnel_relay_start (self, task);

  return G_SOURCE_REMOVE;
}

typedef struct
{
  BastionTunnel *self;
  State          state;
} StopCall;

static gboolean
relay_stop_cb (gpointer data)
{
  StopCall *call = data;

  bastion_tunnel_relay_stop (call->self);
  call->state = snapshot (call->self);

  return G_SOURCE_REMOVE;
}

/* ---- Public API: the owner's thread ---------------------------------------------------------- */

void
bastion_tunnel_start_async (BastionTunnel       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_TUNNEL (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_tunnel_start_async);

  if (self->running)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The tunnel is already started"));
      return;
    }

  /* The task (and through it the tunnel) is held until the relay reports it done; the report
   * returns it here, on the owner's thread. */
  self->running = TRUE;
  bastion_io_thread_invoke (relay_start_cb, g_steal_pointer (&task), NULL);
}

gboolean
bastion_tunnel_start_finish (BastionTunnel  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Synchronous: when it returns, the I/O thread has closed the listener, every client and the
 * session, and holds no pointer into the tunnel but the reports already on their way. It waits
 * at most for one pass of the relay (which never blocks), never for the network. */
void
bastion_tunnel_stop (BastionTunnel *self)
{
  StopCall call = { self };

  g_return_if_fail (BASTION_IS_TUNNEL (self));

  self->running = FALSE;
  bastion_io_thread_invoke_sync (relay_stop_cb, &call);
  apply_state (self, &call.state);
  state_clear (&call.state);
}

/* ---- Accessors ----------------------------------------------------------------------------- */

BastionSshSession *
bastion_tunnel_get_session (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return self->session;
}

BastionTransport
bastion_tunnel_get_transport (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), BASTION_TRANSPORT_SSH);
  return self->transport->kind;
}

BastionSshStage
bastion_tunnel_get_stage (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), BASTION_SSH_STAGE_CLOSED);
  return self->pub.stage;
}

const char *
bastion_tunnel_get_local_address (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return "127.0.0.1";
}

guint16
bastion_tunnel_get_local_port (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.local_port;
}

guint64
bastion_tunnel_get_bytes_in (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.bytes_in;
}

guint64
bastion_tunnel_get_bytes_out (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.bytes_out;
}

guint
bastion_tunnel_get_n_channels (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.n_channels;
}

gint64
bastion_tunnel_get_rtt (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.rtt;
}

guint64
bastion_tunnel_get_receive_window (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.window;
}

guint
bastion_tunnel_get_n_clients (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.n_clients;
}

const GError *
bastion_tunnel_get_channel_error (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);

  g_mutex_lock (&self->channel_lock);
  g_clear_error (&self->channel_error_copy);
  if (self->channel_error != NULL)
    self->channel_error_copy = g_error_copy (self->channel_error);
  g_mutex_unlock (&self->channel_lock);

  return self->channel_error_copy;
}

guint
bastion_tunnel_get_n_refused (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), 0);
  return self->pub.n_refused;
}

const GError *
bastion_tunnel_get_error (BastionTunnel *self)
{
  g_return_val_if_fail (BASTION_IS_TUNNEL (self), NULL);
  return self->pub.error;
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_tunnel_dispose (GObject *object)
{
  BastionTunnel *self = (BastionTunnel *)object;

  bastion_tunnel_stop (self);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (bastion_tunnel_parent_class)->dispose (object);
}

static void
bastion_tunnel_finalize (GObject *object)
{
  BastionTunnel *self = (BastionTunnel *)object;

  g_clear_pointer (&self->db_host, g_free);
  g_clear_pointer (&self->ssm, bastion_tunnel_ssm_free);
  g_clear_pointer (&self->refused_uids, g_hash_table_unref);
  g_clear_error (&self->error);
  g_clear_error (&self->channel_error);
  g_clear_error (&self->channel_error_copy);
  g_mutex_clear (&self->channel_lock);
  state_clear (&self->pub);
  g_main_context_unref (self->owner_context);

  G_OBJECT_CLASS (bastion_tunnel_parent_class)->finalize (object);
}

static void
bastion_tunnel_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  BastionTunnel *self = BASTION_TUNNEL (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_DB_HOST:
      g_value_set_string (value, self->db_host);
      break;
    case PROP_DB_PORT:
      g_value_set_uint (value, self->db_port);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_string (value, "127.0.0.1");
      break;
    case PROP_LOCAL_PORT:
      g_value_set_uint (value, self->pub.local_port);
      break;
    case PROP_STAGE:
      g_value_set_enum (value, self->pub.stage);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, self->pub.bytes_in);
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, self->pub.bytes_out);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->pub.n_channels);
      break;
    case PROP_RTT:
      g_value_set_int64 (value, self->pub.rtt);
      break;
    case PROP_RECEIVE_WINDOW:
      g_value_set_uint64 (value, self->pub.window);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_tunnel_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  BastionTunnel *self = BASTION_TUNNEL (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    case PROP_DB_HOST:
      self->db_host = g_value_dup_string (value);
      break;
    case PROP_DB_PORT:
      self->db_port = g_value_get_uint (value);
      break;
    case PROP_LOCAL_PORT:
      self->local_port = self->pub.local_port = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_tunnel_class_init (BastionTunnelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = bastion_tunnel_dispose;
  object_class->finalize = bastion_tunnel_finalize;
  object_class->get_property = bastion_tunnel_get_property;
  object_class->set_property = bastion_tunnel_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, BASTION_TYPE_SSH_SESSION, co);
  properties[PROP_DB_HOST] = g_param_spec_string ("db-host", NULL, NULL, NULL, co);
  properties[PROP_DB_PORT] = g_param_spec_uint ("db-port", NULL, NULL, 1, 65535,
                                                BASTION_DEFAULT_DB_PORT, co);
  properties[PROP_LOCAL_ADDRESS] = g_param_spec_string ("local-address", NULL, NULL, NULL, ro);
  properties[PROP_LOCAL_PORT] =
    g_param_spec_uint ("local-port", NULL, NULL, 0, 65535, 0,
                       co | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STAGE] =
    g_param_spec_enum ("stage", NULL, NULL, BASTION_TYPE_SSH_STAGE, BASTION_SSH_STAGE_CLOSED, ro);
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_BYTES_OUT] =
    g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0, ro);
  /* The link's round trip (µs, 0 until measured) and the largest receive window of an open
   * channel (bytes, 0 with none): the window grows with the path (bastion-ssh-channel.c). */
  properties[PROP_RTT] = g_param_spec_int64 ("rtt", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_RECEIVE_WINDOW] =
    g_param_spec_uint64 ("receive-window", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_tunnel_init (BastionTunnel *self)
{
  self->stage = self->pub.stage = BASTION_SSH_STAGE_CLOSED;
  self->owner_context = g_main_context_ref_thread_default ();
  self->transport = &bastion_tunnel_ssh_transport;
  g_mutex_init (&self->channel_lock);
  self->context = bastion_io_thread_get_context ();
  g_queue_init (&self->clients);
  g_queue_init (&self->queue);
}

BastionTunnel *
bastion_tunnel_new (BastionSshSession *session,
                    const char        *db_host,
                    guint16            db_port,
                    guint16            local_port)
{
  g_return_val_if_fail (BASTION_IS_SSH_SESSION (session), NULL);
  g_return_val_if_fail (db_host != NULL, NULL);

  return g_object_new (BASTION_TYPE_TUNNEL,
                       "session", session,
                       "db-host", db_host,
                       "db-port", (guint)db_port,
                       "local-port", (guint)local_port,
                       NULL);
}

BastionTunnel *
bastion_tunnel_new_ssm (BastionProfile *profile,
                        guint16         local_port)
{
  BastionTunnel *self;

  g_return_val_if_fail (BASTION_IS_PROFILE (profile), NULL);
  g_return_val_if_fail (bastion_profile_get_db_host (profile) != NULL, NULL);

  self = g_object_new (BASTION_TYPE_TUNNEL,
                       "db-host", bastion_profile_get_db_host (profile),
                       "db-port", bastion_profile_get_db_port (profile),
                       "local-port", (guint)local_port,
                       NULL);
  self->transport = &bastion_tunnel_ssm_transport;
  self->ssm = bastion_tunnel_ssm_new (profile);

  return self;
}

/* ---- Port owner --------------------------------------------------------------------------- */

gboolean
bastion_tunnel_find_port_owner (guint16   port,
                                int      *pid,
                                char    **command)
{
  const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  g_autofree char *inode = NULL;
  guint64 socket_uid = G_MAXUINT64;
  g_autoptr(GDir) proc = NULL;
  const char *name;

  g_return_val_if_fail (pid != NULL, FALSE);
  g_return_val_if_fail (command != NULL, FALSE);

  for (guint t = 0; t < G_N_ELEMENTS (tables) && inode == NULL; t++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (tables[t], &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 1; lines[i] != NULL && inode == NULL; i++)
        {
          g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          GPtrArray *fields = g_ptr_array_new ();
          const char *local;
          const char *colon;

          for (guint j = 0; f[j] != NULL; j++)
            if (f[j][0] != '\0')
              g_ptr_array_add (fields, f[j]);

          /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
          if (fields->len >= 10 && g_str_equal (g_ptr_array_index (fields, 3), "0A"))
            {
              local = g_ptr_array_index (fields, 1);
              colon = strrchr (local, ':');
              if (colon != NULL && strtoul (colon + 1, NULL, 16) == port)
                {
                  inode = g_strdup_printf ("socket:[%s]",
                                           (char *)g_ptr_array_index (fields, 9));
                  socket_uid = g_ascii_strtoull (g_ptr_array_index (fields, 7), NULL, 10);
                }
            }
          g_ptr_array_free (fields, TRUE);
        }
    }

  if (inode == NULL)
    return FALSE;

  proc = g_dir_open ("/proc", 0, NULL);
  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fddir = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fdname;

      if (!g_ascii_isdigit (name[0]))
        continue;
      fddir = g_build_filename ("/proc", name, "fd", NULL);
      fds = g_dir_open (fddir, 0, NULL);
      while (fds != NULL && (fdname = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *path = g_build_filename (fddir, fdname, NULL);
          g_autofree char *target = g_file_read_link (path, NULL);

          if (target != NULL && g_str_equal (target, inode))
            {
              g_autofree char *cmdfile = g_build_filename ("/proc", name, "cmdline", NULL);
              g_autofree char *cmdline = NULL;
              gsize len = 0;

              *pid = atoi (name);
              if (g_file_get_contents (cmdfile, &cmdline, &len, NULL) && len > 0)
                {
                  for (gsize k = 0; k + 1 < len; k++)
                    if (cmdline[k] == '\0')
                      cmdline[k] = ' ';
                  *command = g_strdup (cmdline);
                }
              else
                *command = g_strdup (name);
              return TRUE;
            }
        }
    }

  /* A Bastion of the same user is not dumpable (bastion-secure.c), so its /proc/PID/fd cannot
   * be read; the socket is still this user's own. Another user's socket stays "not found". */
  if (socket_uid == (guint64) geteuid ())
    {
      *pid = 0;
      *command = NULL;
      return TRUE;
    }

  return FALSE;
}
