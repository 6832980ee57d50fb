/* bastion-ssh-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A profile may name an alias of ~/.ssh/config. Rather than a second parser of OpenSSH's
 * grammar (Host and Match with their negations and wildcards, Include, tokens, first value
 * wins, canonicalisation, Match exec …), Bastion asks OpenSSH itself: `ssh -G ALIAS` prints the
 * configuration ssh would use. Its output is still treated as hostile: at most 256 KiB in 5 s,
 * lines of at most 4 KiB, every value checked. `ssh -G` prints IdentityFile unexpanded, so its
 * ~ and %-tokens are expanded here as ssh does when it loads the keys.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <gio/gunixinputstream.h>

#include "bastion-ssh-config.h"

#define MAX_OUTPUT (256 * 1024)
#define MAX_STDERR 4096
#define MAX_LINE 4096
#define MAX_IDENTITY_FILES 32
#define MAX_KNOWN_HOSTS 8
#define TIMEOUT_MS 5000

G_DEFINE_QUARK (bastion-ssh-config-error-quark, bastion_ssh_config_error)

void
bastion_ssh_config_free (BastionSshConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->alias);
  g_free (config->hostname);
  g_free (config->user);
  g_strfreev (config->identity_files);
  g_free (config->identity_file);
  g_free (config->proxy_jump);
  g_strfreev (config->user_known_hosts);
  g_free (config);
}

/* What ssh takes as a host on its command line, and nothing that could be read as an option. */
gboolean
bastion_ssh_config_alias_is_valid (const char *alias)
{
  gsize len;

  if (alias == NULL || alias[0] == '\0' || alias[0] == '-')
    return FALSE;
  len = strlen (alias);
  if (len > 255)
    return FALSE;
  for (const char *p = alias; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._-:", *p) == NULL)
      return FALSE;

  return TRUE;
}

static gboolean
is_printable_value (const char *value,
                    gsize       max)
{
  gsize len = strlen (value);

  if (len == 0 || len > max || !g_utf8_validate (value, len, NULL))
    return FALSE;
  for (const char *p = value; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      return FALSE;

  return TRUE;
}

static gboolean
is_host_value (const char *value)
{
  if (!is_printable_value (value, 255) || value[0] == '-')
    return FALSE;
  for (const char *p = value; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || strchr ("'\"`$\\;&<>|(){}", *p) != NULL)
      return FALSE;

  return TRUE;
}

static char *
dup_local_home (void)
{
  struct passwd pw, *result = NULL;
  char buf[4096];

  /* As ssh: the password database, not $HOME. */
  if (getpwuid_r (getuid (), &pw, buf, sizeof buf, &result) == 0 && result != NULL)
    return g_strdup (pw.pw_dir);

  return g_strdup (g_get_home_dir ());
}

static char *
dup_local_user (void)
{
  struct passwd pw, *result = NULL;
  char buf[4096];

  if (getpwuid_r (getuid (), &pw, buf, sizeof buf, &result) == 0 && result != NULL)
    return g_strdup (pw.pw_name);

  return g_strdup (g_get_user_name ());
}

char *
bastion_ssh_config_dup_user_file (void)
{
  g_autofree char *pw_home = dup_local_home ();
  const char *home = g_getenv ("HOME");

  if (home == NULL || g_str_equal (home, pw_home))
    return NULL;

  return g_build_filename (home, ".ssh", "config", NULL);
}

/* ~ and the tokens ssh expands in IdentityFile; NULL for a token Bastion does not know (the
 * file is then left out, as it cannot be the one ssh would read). */
static char *
expand_identity_file (const BastionSshConfig *config,
                      const char             *value)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *home = dup_local_home ();
  const char *p = value;

  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0'))
    {
      g_string_append (out, home);
      p++;
    }

  for (; *p != '\0'; p++)
    {
      if (*p != '%')
        {
          g_string_append_c (out, *p);
          continue;
        }
      switch (*++p)
        {
        case '%': g_string_append_c (out, '%'); break;
        case 'h': g_string_append (out, config->hostname); break;
        case 'r': g_string_append (out, config->user); break;
        case 'p': g_string_append_printf (out, "%u", config->port); break;
        case 'n': g_string_append (out, config->alias); break;
        case 'd': g_string_append (out, home); break;
        case 'i': g_string_append_printf (out, "%u", (guint)getuid ()); break;
        case 'u':
          {
            g_autofree char *user = dup_local_user ();
            g_string_append (out, user);
          }
          break;
        default:
          return NULL;
        }
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
parse_port (const char *value,
            guint16    *port)
{
  guint64 n = 0;

  if (!g_ascii_string_to_unsigned (value, 10, 1, 65535, &n, NULL))
    return FALSE;
  *port = (guint16)n;
  return TRUE;
}

static gboolean
bad_output (GError     **error,
            const char  *what)
{
  g_set_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT,
               _("“ssh -G” printed something that is not an SSH configuration (%s); check "
                 "~/.ssh/config, or enter the bastion’s host name instead of an alias"), what);
  return FALSE;
}

/* One "key value" line of ssh -G. */
static gboolean
parse_line (BastionSshConfig  *config,
            GPtrArray         *identity_files,
            const char        *line,
            GError           **error)
{
  const char *space = strchr (line, ' ');
  g_autofree char *key = NULL;
  const char *value;

  if (space == NULL)
    return TRUE;
  key = g_ascii_strdown (line, space - line);
  value = space + 1;

  if (g_str_equal (key, "hostname"))
    {
      if (!is_host_value (value))
        return bad_output (error, "hostname");
      g_free (config->hostname);
      config->hostname = g_strdup (value);
    }
  else if (g_str_equal (key, "user"))
    {
      if (!is_printable_value (value, 256) || strchr (value, ' ') != NULL)
        return bad_output (error, "user");
      g_free (config->user);
      config->user = g_strdup (value);
    }
  else if (g_str_equal (key, "port"))
    {
      if (!parse_port (value, &config->port))
        return bad_output (error, "port");
    }
  else if (g_str_equal (key, "identityfile"))
    {
      if (!is_printable_value (value, 1024))
        return bad_output (error, "identityfile");
      if (identity_files->len >= MAX_IDENTITY_FILES)
        return bad_output (error, "too many identity files");
      g_ptr_array_add (identity_files, g_strdup (value));
    }
  else if (g_str_equal (key, "identitiesonly"))
    config->identities_only = g_str_equal (value, "yes") || g_str_equal (value, "true");
  else if (g_str_equal (key, "proxyjump"))
    {
      if (!is_printable_value (value, 1024) || strchr (value, ' ') != NULL)
        return bad_output (error, "proxyjump");
      g_free (config->proxy_jump);
      config->proxy_jump = g_str_equal (value, "none") ? NULL : g_strdup (value);
    }
  else if (g_str_equal (key, "userknownhostsfile"))
    {
      g_auto(GStrv) files = NULL;

      if (!is_printable_value (value, 4096))
        return bad_output (error, "userknownhostsfile");
      files = g_strsplit (value, " ", MAX_KNOWN_HOSTS + 1);
      if (g_strv_length (files) > MAX_KNOWN_HOSTS)
        return bad_output (error, "too many known_hosts files");
      g_strfreev (config->user_known_hosts);
      config->user_known_hosts = g_steal_pointer (&files);
    }
  else if (g_str_equal (key, "stricthostkeychecking"))
    config->strict = (g_str_equal (value, "accept-new") || g_str_equal (value, "no") ||
                      g_str_equal (value, "false") || g_str_equal (value, "off"))
                     ? BASTION_SSH_STRICT_ACCEPT_NEW : BASTION_SSH_STRICT_ASK;

  return TRUE;
}

BastionSshConfig *
bastion_ssh_config_parse (const char  *alias,
                          const char  *output,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(BastionSshConfig) config = g_new0 (BastionSshConfig, 1);
  g_autoptr(GPtrArray) raw_files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  const char *p = output;
  const char *end = output + length;

  g_return_val_if_fail (alias != NULL, NULL);

  if (length > MAX_OUTPUT)
    {
      bad_output (error, "more than 256 KiB");
      return NULL;
    }
  config->alias = g_strdup (alias);

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize len = (nl != NULL ? nl : end) - p;
      g_autofree char *line = NULL;

      if (len > MAX_LINE)
        {
          bad_output (error, "a line longer than 4 KiB");
          return NULL;
        }
      line = g_strndup (p, len);
      if (strlen (line) != len)
        {
          bad_output (error, "a NUL byte");
          return NULL;
        }
      g_strchomp (line);
      if (!parse_line (config, raw_files, line, error))
        return NULL;
      p += len + 1;
    }

  if (config->hostname == NULL || config->port == 0 || config->user == NULL)
    {
      bad_output (error, "no hostname, port or user");
      return NULL;
    }

  for (guint i = 0; i < raw_files->len; i++)
    {
      char *path = expand_identity_file (config, g_ptr_array_index (raw_files, i));

      if (path != NULL)
        g_ptr_array_add (files, path);
      else
        g_debug ("ssh config %s: identity file %s has a token Bastion does not expand",
                 alias, (char *)g_ptr_array_index (raw_files, i));
    }
  g_ptr_array_add (files, NULL);
  config->identity_files = (GStrv)g_ptr_array_free (g_steal_pointer (&files), FALSE);
  if (config->user_known_hosts == NULL)
    config->user_known_hosts = g_new0 (char *, 1);

  return g_steal_pointer (&config);
}

/* Reads the child's stdout and stderr until both end, within the deadline and the bounds. */
static gboolean
read_child (GSubprocess  *proc,
            GString      *out,
            GString      *err,
            gint64        deadline,
            GError      **error)
{
  struct pollfd fds[2] = {
    { g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (proc))),
      POLLIN, 0 },
    { g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stderr_pipe (proc))),
      POLLIN, 0 },
  };
  GString *bufs[2] = { out, err };
  gsize caps[2] = { MAX_OUTPUT, MAX_STDERR };
  char chunk[8192];

  while (fds[0].fd >= 0 || fds[1].fd >= 0)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      int n;

      if (left <= 0)
        return bad_output (error, "no answer within 5 s");
      n = poll (fds, 2, (int)left);
      if (n < 0 && errno == EINTR)
        continue;
      for (guint i = 0; i < 2; i++)
        {
          ssize_t r;

          if (fds[i].fd < 0 || fds[i].revents == 0)
            continue;
          r = read (fds[i].fd, chunk, sizeof chunk);
          if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (r <= 0)
            {
              fds[i].fd = -1;
              continue;
            }
          if (bufs[i]->len + r > caps[i])
            return bad_output (error, i == 0 ? "more than 256 KiB" : "too many errors");
          g_string_append_len (bufs[i], chunk, r);
        }
    }

  return TRUE;
}

BastionSshConfig *
bastion_ssh_config_resolve (const char    *alias,
                            const char    *config_file,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autofree char *ssh = g_find_program_in_path ("ssh");
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) err = g_string_new (NULL);
  BastionSshConfig *config;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  if (!bastion_ssh_config_alias_is_valid (alias))
    {
      g_set_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_ALIAS,
                   _("“%s” is not an SSH host alias (letters, digits, “.”, “_”, “-” and “:” "
                     "only, not starting with “-”)"), alias);
      return NULL;
    }
  if (ssh == NULL)
    {
      g_set_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_NO_SSH,
                   _("The SSH alias “%s” needs OpenSSH’s client to read ~/.ssh/config, and "
                     "“ssh” is not installed: install openssh-client, or enter the bastion’s "
                     "host name, port and user instead of the alias"), alias);
      return NULL;
    }

  g_strv_builder_add_many (b, ssh, "-G", NULL);
  if (config_file != NULL)
    g_strv_builder_add_many (b, "-F", config_file, NULL);
  g_strv_builder_add_many (b, "--", alias, NULL);
  argv = g_strv_builder_end (b);

  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            error);
  if (proc == NULL)
    return NULL;

  if (!read_child (proc, out, err, deadline, error))
    {
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      return NULL;
    }
  /* Both pipes closed: the child is exiting (or handed them on, which it must not do). */
  if (!g_subprocess_wait (proc, cancellable, error))
    return NULL;

  if (!g_subprocess_get_successful (proc))
    {
      g_autofree char *msg = g_utf8_make_valid (err->str, err->len);

      g_strdelimit (msg, "\r\n\t", ' ');
      g_set_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_FAILED,
                   _("OpenSSH could not read the configuration of “%s”: %s"), alias,
                   g_strstrip (msg));
      return NULL;
    }

  config = bastion_ssh_config_parse (alias, out->str, out->len, error);
  /* Bastion logs in with one key file: the first one ssh would find (a stat, so here in the
   * caller's thread rather than on a main loop). */
  for (guint i = 0; config != NULL && config->identity_files[i] != NULL; i++)
    if (g_file_test (config->identity_files[i], G_FILE_TEST_IS_REGULAR))
      {
        config->identity_file = g_strdup (config->identity_files[i]);
        break;
      }

  return config;
}

typedef struct
{
  char *alias;
  char *config_file;
} ResolveData;

static void
resolve_data_free (ResolveData *data)
{
  g_free (data->alias);
  g_free (data->config_file);
  g_free (data);
}

static void
resolve_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ResolveData *data = task_data;
  GError *error = NULL;
  BastionSshConfig *config;

  config = bastion_ssh_config_resolve (data->alias, data->config_file, cancellable, &error);
  if (config == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, config, (GDestroyNotify) bastion_ssh_config_free);
}

void
bastion_ssh_config_resolve_async (const char          *alias,
                                  const char          *config_file,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  ResolveData *data = g_new0 (ResolveData, 1);

  data->alias = g_strdup (alias);
  data->config_file = g_strdup (config_file);
  g_task_set_source_tag (task, bastion_ssh_config_resolve_async);
  g_task_set_task_data (task, data, (GDestroyNotify) resolve_data_free);
  g_task_run_in_thread (task, resolve_thread);
}

BastionSshConfig *
bastion_ssh_config_resolve_finish (GAsyncResult  *result,
                                   GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
