/* bastion-ssh-jump.c: ProxyJump, a chain of SSH jump hosts in front of the bastion
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A jump of N hops owns the session to the last hop, N; that session has a jump of N - 1 hops
 * of its own, down to the first hop, which connects over TCP. So each hop is an ordinary
 * BastionSshSession (host key, login, keepalive, its own timeouts), whose socket is a socket
 * pair that the previous hop's bridge (bastion-ssh-bridge.c) carries over a direct-tcpip
 * channel. The bastion session's teardown drops its jump, which drops its hop, whose teardown
 * drops the jump below: the chain goes, and a reconnection builds it again.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "bastion-secure.h"
#include "bastion-ssh-bridge.h"
#include "bastion-ssh-config.h"
#include "bastion-ssh-jump.h"
#include "bastion-ssh-session-private.h"

#define HOST_MAX 255
#define USER_MAX 64

struct _BastionSshJump
{
  GObject             parent_instance;

  /* Settings */
  GPtrArray          *hops;          /* BastionSshHop, shared with the jumps below */
  guint               n;             /* this jump reaches its target through hops[0 .. n-1] */
  char               *default_user;
  char               *passphrase;

  /* One connection */
  GTask              *task;
  BastionSshSession  *target;        /* not owned: it owns us, and outlives the connection */
  BastionSshSession  *hop;           /* hops[n-1] */
  BastionSshBridge   *bridge;
  BastionSshSession  *failed_hop;    /* whose host key stopped the last connection */
  BastionSshConfig   *config;        /* the hop's name through ~/.ssh/config, or NULL */
  GCancellable       *resolving;
  gulong              stage_id;
  gulong              disconnected_id;

  guint               failed : 1;    /* the last connection failed here (or below) */
};

G_DEFINE_FINAL_TYPE (BastionSshJump, bastion_ssh_jump, G_TYPE_OBJECT)

/* ---- Parsing -------------------------------------------------------------------------------- */

void
bastion_ssh_hop_free (BastionSshHop *hop)
{
  if (hop == NULL)
    return;
  g_free (hop->user);
  g_free (hop->host);
  g_free (hop);
}

static gboolean
name_ok (const char *s,
         gsize       max,
         const char *extra)
{
  gsize len = strlen (s);

  if (len == 0 || len > max || s[0] == '-')
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (extra, *p) == NULL)
      return FALSE;

  return TRUE;
}

static gboolean
parse_port (const char *text,
            guint16    *port)
{
  guint64 value = 0;

  if (text[0] == '\0' || strlen (text) > 5)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  value = g_ascii_strtoull (text, NULL, 10);
  if (value < 1 || value > 65535)
    return FALSE;
  *port = value;

  return TRUE;
}

/* One "[user@]host[:port]", "[user@][v6]:port" or ssh:// form; NULL when it is not one. */
static BastionSshHop *
parse_hop (const char *text)
{
  g_autoptr(GString) rest = g_string_new (text);
  g_autofree char *user = NULL;
  g_autofree char *host = NULL;
  const char *at;
  const char *colon;
  guint16 port = 22;
  gboolean port_set = FALSE;
  BastionSshHop *hop;

  if (g_str_has_prefix (rest->str, "ssh://"))
    g_string_erase (rest, 0, strlen ("ssh://"));
  at = strrchr (rest->str, '@');
  if (at != NULL)
    {
      user = g_strndup (rest->str, at - rest->str);
      g_string_erase (rest, 0, at - rest->str + 1);
      if (!name_ok (user, USER_MAX, "._-"))
        return NULL;
    }

  if (rest->str[0] == '[')
    {
      const char *close = strchr (rest->str, ']');

      if (close == NULL)
        return NULL;
      host = g_strndup (rest->str + 1, close - rest->str - 1);
      if (close[1] == ':' && !parse_port (close + 2, &port))
        return NULL;
      port_set = close[1] == ':';
      if (close[1] != '\0' && close[1] != ':')
        return NULL;
      if (!name_ok (host, HOST_MAX, ":.%"))
        return NULL;
    }
  else
    {
      colon = strchr (rest->str, ':');
      host = colon ? g_strndup (rest->str, colon - rest->str) : g_strdup (rest->str);
      if (colon != NULL && !parse_port (colon + 1, &port))
        return NULL;
      port_set = colon != NULL;
      if (!name_ok (host, HOST_MAX, ".-_"))
        return NULL;
    }

  hop = g_new0 (BastionSshHop, 1);
  hop->user = g_steal_pointer (&user);
  hop->host = g_steal_pointer (&host);
  hop->port = port;
  hop->port_set = port_set;

  return hop;
}

GPtrArray *
bastion_ssh_jump_parse (const char  *spec,
                        GError     **error)
{
  g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func ((GDestroyNotify) bastion_ssh_hop_free);
  g_auto(GStrv) parts = NULL;

  if (spec == NULL || spec[0] == '\0' || g_ascii_strcasecmp (spec, "none") == 0)
    return g_steal_pointer (&hops);

  if (strlen (spec) > (HOST_MAX + USER_MAX + 16) * BASTION_SSH_JUMP_MAX_HOPS)
    {
      g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                   _("ProxyJump is too long; give at most %u jump hosts"),
                   BASTION_SSH_JUMP_MAX_HOPS);
      return NULL;
    }

  parts = g_strsplit (spec, ",", -1);
  if (g_strv_length (parts) > BASTION_SSH_JUMP_MAX_HOPS)
    {
      g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                   _("ProxyJump names %u jump hosts; Bastion goes through at most %u"),
                   g_strv_length (parts), BASTION_SSH_JUMP_MAX_HOPS);
      return NULL;
    }

  for (guint i = 0; parts[i] != NULL; i++)
    {
      BastionSshHop *hop = parse_hop (parts[i]);

      if (hop == NULL)
        {
          g_autofree char *shown = g_strescape (parts[i], NULL);

          g_set_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                       _("ProxyJump hop %u (“%s”) is not [user@]host[:port]; correct the "
                         "team’s ProxyJump setting or its ssh-alias in ~/.ssh/config"),
                       i + 1, shown);
          return NULL;
        }
      g_ptr_array_add (hops, hop);
    }

  return g_steal_pointer (&hops);
}

/* ---- Naming ------------------------------------------------------------------------------- */

static const char *
hop_user (BastionSshJump *self,
          guint           i)
{
  BastionSshHop *hop = g_ptr_array_index (self->hops, i);

  return hop->user != NULL ? hop->user : self->default_user;
}

char *
bastion_ssh_jump_dup_hop_name (BastionSshJump *self,
                               guint           i)
{
  BastionSshHop *hop;
  GString *name;

  g_return_val_if_fail (BASTION_IS_SSH_JUMP (self), NULL);

  if (i >= self->hops->len)
    return NULL;
  hop = g_ptr_array_index (self->hops, i);
  /* As the spec wrote it: ~/.ssh/config may turn the name into another host. */
  name = g_string_new (NULL);
  if (hop->user != NULL)
    g_string_append_printf (name, "%s@", hop->user);
  if (hop->port_set && strchr (hop->host, ':') != NULL)
    g_string_append_printf (name, "[%s]:%u", hop->host, hop->port);
  else if (hop->port_set)
    g_string_append_printf (name, "%s:%u", hop->host, hop->port);
  else
    g_string_append (name, hop->host);

  return g_string_free (name, FALSE);
}

/* The hop's error, with the hop named first: "Jump host a (hop 1 of 2): …". */
static GError *
hop_error_new (BastionSshJump *self,
               const GError   *error)
{
  g_autofree char *name = bastion_ssh_jump_dup_hop_name (self, self->n - 1);

  return g_error_new (error->domain, error->code, _("Jump host %s (hop %u of %u): %s"), name,
                      self->n, self->hops->len, error->message);
}

/* The hop could not open the channel onward: the server's reason and the fix. */
static GError *
channel_error_new (BastionSshJump *self,
                   BastionSshIo    io)
{
  g_autofree char *name = bastion_ssh_jump_dup_hop_name (self, self->n - 1);
  g_autofree char *msg = bastion_ssh_session_dup_last_error (self->hop);
  const char *host = bastion_ssh_session_get_host (self->target);
  guint port = bastion_ssh_session_get_port (self->target);
  guint n = self->n, total = self->hops->len;

  if (io == BASTION_SSH_IO_AGAIN)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_TIMEOUT,
                        _("Jump host %s (hop %u of %u) did not open a connection to %s port %u "
                          "in time; check that %s is reachable from the jump host"),
                        name, n, total, host, port, host);
  if (io != BASTION_SSH_IO_DENIED)
    return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_DISCONNECTED,
                        _("Jump host %s (hop %u of %u) failed while opening a connection to %s "
                          "port %u (%s); try again"), name, n, total, host, port, msg);

  switch (bastion_ssh_channel_open_failure_reason (self->hop))
    {
    case 1:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_CHANNEL_OPEN,
                          _("Jump host %s (hop %u of %u) refused to forward to %s port %u "
                            "(administratively prohibited): its sshd has AllowTcpForwarding no, "
                            "or a PermitOpen rule that leaves %s:%u out; ask its administrator "
                            "to allow forwarding there"), name, n, total, host, port, host, port);
    case 2:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_REFUSED,
                          _("Jump host %s (hop %u of %u) cannot reach %s port %u (connect "
                            "failed): check the host name and port after it in ProxyJump, and "
                            "that its SSH server runs"), name, n, total, host, port);
    case 3:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_CHANNEL_OPEN,
                          _("Jump host %s (hop %u of %u) does not offer TCP forwarding (unknown "
                            "channel type direct-tcpip); ask its administrator for an OpenSSH "
                            "server that allows forwarding to %s:%u"),
                          name, n, total, host, port);
    case 4:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                          _("Jump host %s (hop %u of %u) refused a connection to %s port %u for "
                            "lack of resources (resource shortage); try again later"),
                          name, n, total, host, port);
    default:
      return g_error_new (BASTION_SSH_ERROR, BASTION_SSH_ERROR_CHANNEL_OPEN,
                          _("Jump host %s (hop %u of %u) refused to open a connection to %s "
                            "port %u (%s); ask its administrator to allow forwarding there"),
                          name, n, total, host, port, msg);
    }
}

/* ---- The connection ------------------------------------------------------------------------ */

/* Drops this connection's hop and bridge (and, through the hop's teardown, the jumps below). */
static void
drop_chain (BastionSshJump *self)
{
  if (self->resolving != NULL)
    g_cancellable_cancel (self->resolving);
  g_clear_object (&self->resolving);
  g_clear_pointer (&self->config, bastion_ssh_config_free);
  g_clear_pointer (&self->bridge, bastion_ssh_bridge_free);
  if (self->hop != NULL)
    {
      g_clear_signal_handler (&self->stage_id, self->hop);
      g_clear_signal_handler (&self->disconnected_id, self->hop);
      bastion_ssh_session_set_io_func (self->hop, NULL, NULL);
      bastion_ssh_session_disconnect (self->hop);
      g_clear_object (&self->hop);
    }
}

static void
fail_connect (BastionSshJump *self,
              GError         *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  g_debug ("SSH jump: %s", error->message);
  self->failed = !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  drop_chain (self);
  self->target = NULL;
  g_task_return_error (task, error);
}

static gboolean
is_host_key_error (const GError *error)
{
  return g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_UNKNOWN) ||
         g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_CHANGED) ||
         g_error_matches (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_HOST_KEY_PIN_MISMATCH);
}

static void
on_bridge_open (BastionSshBridge  *bridge,
                BastionSshIo       io,
                GSocketConnection *connection,
                gpointer           user_data)
{
  BastionSshJump *self = user_data;
  g_autoptr(GTask) task = NULL;

  if (io != BASTION_SSH_IO_OK)
    {
      fail_connect (self, channel_error_new (self, io));
      return;
    }

  g_debug ("SSH jump: hop %u of %u carries the connection to %s:%u", self->n, self->hops->len,
           bastion_ssh_session_get_host (self->target),
           bastion_ssh_session_get_port (self->target));
  task = g_steal_pointer (&self->task);
  self->target = NULL;
  g_task_return_pointer (task, connection, g_object_unref);
}

static void
on_hop_disconnected (BastionSshSession *hop,
                     const GError      *error,
                     BastionSshJump    *self)
{
  /* The session above sees its socket close and reconnects, which rebuilds the chain. */
  g_message ("SSH jump host %s: %s", bastion_ssh_session_get_host (hop),
             error ? error->message : "disconnected");
  if (self->bridge != NULL)
    bastion_ssh_bridge_drop (self->bridge);
}

static void
on_hop_stage (BastionSshSession *hop,
              GParamSpec        *pspec,
              BastionSshJump    *self)
{
  BastionSshStage stage = bastion_ssh_session_get_stage (hop);

  if (self->task == NULL || self->target == NULL)
    return;
  /* The hop is in: what follows is reaching the next host's SSH port through it. */
  if (stage == BASTION_SSH_STAGE_READY)
    stage = BASTION_SSH_STAGE_CONNECTING;
  if (stage != BASTION_SSH_STAGE_FAILED && stage != BASTION_SSH_STAGE_CLOSED)
    bastion_ssh_session_set_jump_stage (self->target, stage);
}

static void
on_hop_connected (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(BastionSshJump) self = user_data;
  BastionSshSession *hop = BASTION_SSH_SESSION (object);
  g_autoptr(GError) error = NULL;
  BastionSshJump *below;
  guint timeout = 15;

  if (!bastion_ssh_session_connect_finish (hop, result, &error))
    {
      if (self->task == NULL || hop != self->hop)
        return;
      below = bastion_ssh_session_get_jump (hop);
      /* A hop further down failed: its error names it already. */
      if (below != NULL && bastion_ssh_jump_get_failed_hop (below) != NULL)
        g_set_object (&self->failed_hop, bastion_ssh_jump_get_failed_hop (below));
      else if (is_host_key_error (error))
        g_set_object (&self->failed_hop, hop);
      if (below != NULL && below->failed)
        fail_connect (self, g_steal_pointer (&error));
      else
        fail_connect (self, hop_error_new (self, error));
      return;
    }
  if (self->task == NULL || hop != self->hop)
    return;

  self->disconnected_id = g_signal_connect_object (hop, "disconnected",
                                                   G_CALLBACK (on_hop_disconnected), self, 0);
  g_object_get (hop, "connect-timeout", &timeout, NULL);
  self->bridge = bastion_ssh_bridge_new (hop, bastion_ssh_session_get_host (self->target),
                                         bastion_ssh_session_get_port (self->target), timeout,
                                         on_bridge_open, self);
}

/* The hop's session: its own host, port and user, the target's rules for host keys and login.
 * Never the target's SSH password: a jump host is someone else's server. */
static BastionSshSession *
hop_session_new (BastionSshJump    *self,
                 BastionSshSession *target)
{
  BastionSshHop *hop = g_ptr_array_index (self->hops, self->n - 1);
  BastionSshConfig *config = self->config;
  const char *host = config ? config->hostname : hop->host;
  guint16 port = config && !hop->port_set ? config->port : hop->port;
  const char *user = hop_user (self, self->n - 1);
  BastionSshSession *session;
  g_autofree char *key_file = NULL;
  g_autofree char *user_known_hosts = NULL;
  g_autofree char *bastion_known_hosts = NULL;
  gboolean accept_new = FALSE;
  guint timeout = 15, keepalive = 15;

  /* ssh -G names the local user when the config sets none: then the profile's user. */
  if (config != NULL && hop->user == NULL && g_strcmp0 (config->user, g_get_user_name ()) != 0)
    user = config->user;
  session = bastion_ssh_session_new (host, port, user);

  g_object_get (target,
                "key-file", &key_file,
                "user-known-hosts", &user_known_hosts,
                "bastion-known-hosts", &bastion_known_hosts,
                "accept-new-host-key", &accept_new,
                "connect-timeout", &timeout,
                "keepalive-interval", &keepalive,
                NULL);
  if (config != NULL)
    {
      if ((key_file == NULL || key_file[0] == '\0') && config->identity_file != NULL)
        {
          g_free (key_file);
          key_file = g_strdup (config->identity_file);
        }
      if (config->user_known_hosts != NULL && config->user_known_hosts[0] != NULL)
        {
          g_free (user_known_hosts);
          user_known_hosts = g_strdup (config->user_known_hosts[0]);
        }
      accept_new |= config->strict == BASTION_SSH_STRICT_ACCEPT_NEW;
    }
  g_object_set (session,
                "auth-method", key_file != NULL && key_file[0] != '\0'
                               ? BASTION_AUTH_METHOD_KEY : BASTION_AUTH_METHOD_AGENT,
                "key-file", key_file,
                "user-known-hosts", user_known_hosts,
                "bastion-known-hosts", bastion_known_hosts,
                "accept-new-host-key", accept_new,
                "connect-timeout", timeout,
                "keepalive-interval", keepalive,
                NULL);
  bastion_ssh_session_set_identities_only (session,
                                           config != NULL ? config->identities_only
                                           : bastion_ssh_session_get_identities_only (target));
  if (self->passphrase != NULL)
    bastion_ssh_session_set_passphrase (session, self->passphrase);

  return session;
}

static BastionSshJump *
jump_below (BastionSshJump *self)
{
  BastionSshJump *below = g_object_new (BASTION_TYPE_SSH_JUMP, NULL);

  below->hops = g_ptr_array_ref (self->hops);
  below->n = self->n - 1;
  below->default_user = g_strdup (self->default_user);
  bastion_secure_replace_str (&below->passphrase, self->passphrase);

  return below;
}

static void resolve_hop     (BastionSshJump *self);
static void start_hop       (BastionSshJump *self);
static void on_hop_resolved (GObject        *object,
                             GAsyncResult   *result,
                             gpointer        user_data);

void
bastion_ssh_jump_connect_async (BastionSshJump      *self,
                                BastionSshSession   *target,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_SSH_JUMP (self));
  g_return_if_fail (BASTION_IS_SSH_SESSION (target));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_ssh_jump_connect_async);
  /* The chain's own outcome, even once the attempt was cancelled: close() is what stops it. */
  g_task_set_check_cancellable (task, FALSE);
  if (self->task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The jump hosts are already connecting"));
      return;
    }

  drop_chain (self);
  g_clear_object (&self->failed_hop);
  self->failed = FALSE;
  self->task = g_steal_pointer (&task);
  self->target = target;
  resolve_hop (self);
}

/* In a thread: the hop's name through ~/.ssh/config (ssh -G, bounded in size and time). No
 * config file (where Bastion names it: a $HOME that is not the password database's) means the
 * name as written. */
static void
resolve_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  const char *alias = ((char **) task_data)[0];
  const char *config_file = ((char **) task_data)[1];
  GError *error = NULL;
  BastionSshConfig *config = NULL;

  if (config_file == NULL || g_file_test (config_file, G_FILE_TEST_EXISTS))
    config = bastion_ssh_config_resolve (alias, config_file, cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, config, (GDestroyNotify) bastion_ssh_config_free);
}

static void
resolve_hop (BastionSshJump *self)
{
  BastionSshHop *hop = g_ptr_array_index (self->hops, self->n - 1);
  g_autoptr(GTask) task = NULL;
  char **data = g_new0 (char *, 3);

  data[0] = g_strdup (hop->host);
  data[1] = bastion_ssh_config_dup_user_file ();
  self->resolving = g_cancellable_new ();
  task = g_task_new (NULL, self->resolving, on_hop_resolved, g_object_ref (self));
  g_task_set_source_tag (task, resolve_hop);
  g_task_set_task_data (task, data, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, resolve_thread);
}

static void
on_hop_resolved (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(BastionSshJump) self = user_data;
  g_autoptr(GError) error = NULL;
  BastionSshConfig *config = g_task_propagate_pointer (G_TASK (result), &error);

  /* Closed (or connecting again) meanwhile: this answer is for nobody. */
  if (self->task == NULL || self->resolving == NULL ||
      g_task_get_cancellable (G_TASK (result)) != self->resolving)
    {
      g_clear_pointer (&config, bastion_ssh_config_free);
      return;
    }
  g_clear_object (&self->resolving);

  /* Without an OpenSSH client, or for a name ssh would not take as an alias (an IPv6 scope),
   * the hop is used as written; a config ssh cannot read is the user's to fix. */
  if (error != NULL &&
      !g_error_matches (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_NO_SSH) &&
      !g_error_matches (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_ALIAS))
    {
      fail_connect (self, hop_error_new (self, error));
      return;
    }
  self->config = config;
  start_hop (self);
}

static void
start_hop (BastionSshJump *self)
{
  BastionSshSession *target = self->target;

  self->hop = hop_session_new (self, target);
  if (self->n > 1)
    {
      g_autoptr(BastionSshJump) below = jump_below (self);

      bastion_ssh_session_set_jump (self->hop, below);
    }
  self->stage_id = g_signal_connect_object (self->hop, "notify::stage",
                                            G_CALLBACK (on_hop_stage), self, 0);
  g_debug ("SSH jump: hop %u of %u, %s:%u", self->n, self->hops->len,
           bastion_ssh_session_get_host (self->hop), bastion_ssh_session_get_port (self->hop));
  bastion_ssh_session_connect_async (self->hop, BASTION_SSH_CONNECT_NONE, NULL,
                                     on_hop_connected, g_object_ref (self));
}

GSocketConnection *
bastion_ssh_jump_connect_finish (BastionSshJump  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (BASTION_IS_SSH_JUMP (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_ssh_jump_close (BastionSshJump *self)
{
  g_return_if_fail (BASTION_IS_SSH_JUMP (self));

  if (self->task != NULL)
    {
      fail_connect (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               _("The connection was cancelled")));
      return;
    }
  drop_chain (self);
}

/* ---- Accessors ---------------------------------------------------------------------------- */

guint
bastion_ssh_jump_get_n_hops (BastionSshJump *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_JUMP (self), 0);
  return self->hops->len;
}

void
bastion_ssh_jump_set_passphrase (BastionSshJump *self,
                                 const char     *passphrase)
{
  g_return_if_fail (BASTION_IS_SSH_JUMP (self));

  bastion_secure_replace_str (&self->passphrase, passphrase);
}

BastionSshSession *
bastion_ssh_jump_get_failed_hop (BastionSshJump *self)
{
  g_return_val_if_fail (BASTION_IS_SSH_JUMP (self), NULL);
  return self->failed_hop;
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
bastion_ssh_jump_dispose (GObject *object)
{
  BastionSshJump *self = BASTION_SSH_JUMP (object);

  drop_chain (self);
  g_clear_object (&self->failed_hop);

  G_OBJECT_CLASS (bastion_ssh_jump_parent_class)->dispose (object);
}

static void
bastion_ssh_jump_finalize (GObject *object)
{
  BastionSshJump *self = BASTION_SSH_JUMP (object);

  g_clear_pointer (&self->hops, g_ptr_array_unref);
  g_clear_pointer (&self->default_user, g_free);
  bastion_secure_clear_str (&self->passphrase);

  G_OBJECT_CLASS (bastion_ssh_jump_parent_class)->finalize (object);
}

static void
bastion_ssh_jump_class_init (BastionSshJumpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_ssh_jump_dispose;
  object_class->finalize = bastion_ssh_jump_finalize;
}

static void
bastion_ssh_jump_init (BastionSshJump *self)
{
}

BastionSshJump *
bastion_ssh_jump_new (const char  *spec,
                      const char  *default_user,
                      GError     **error)
{
  g_autoptr(GPtrArray) hops = bastion_ssh_jump_parse (spec, error);
  BastionSshJump *self;

  g_return_val_if_fail (default_user != NULL, NULL);

  if (hops == NULL)
    return NULL;
  if (hops->len == 0)
    {
      g_set_error_literal (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED,
                           _("ProxyJump names no jump host"));
      return NULL;
    }

  self = g_object_new (BASTION_TYPE_SSH_JUMP, NULL);
  self->hops = g_steal_pointer (&hops);
  self->n = self->hops->len;
  self->default_user = g_strdup (default_user);

  return self;
}
