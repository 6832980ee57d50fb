/* bastion-launcher.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Starts pgAdmin 4, DBeaver, psql or pgcli preconfigured for a tunnel's local port. The
 * password travels only the ways those tools offer for it: pgAdmin asks `bastion-cli secret
 * print` (PasswordExecCommand); the others read a 0600 pgpass file in Bastion's private runtime
 * folder, named by a pg_service.conf entry or PGPASSFILE (paths, never the password). The files
 * live while the tunnel is up: bastion_launcher_cleanup() removes them when it closes, and
 * bastion_launcher_cleanup_stale() removes what a crashed Bastion left.
 *
 * Inside a Flatpak sandbox (/.flatpak-info exists, as GLib checks) the tools are the host's:
 * they are looked for on the host and started through `flatpak-spawn --host` (which needs
 * --talk-name=org.freedesktop.Flatpak), the files live in
 * $XDG_RUNTIME_DIR/app/$FLATPAK_ID/bastion/ (bastion-runtime-dir.c), which the host sees at the
 * same path, and the paths a tool needs travel as `--env=NAME=PATH` options of flatpak-spawn.
 * The password is still only in the 0600 file.
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

/* memfd_create() */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "bastion-bounded-file.h"
#include "bastion-launcher-private.h"
#include "bastion-launcher-pgadmin-private.h"
#include "bastion-pgpass.h"
#include "bastion-secure.h"




enum {
  PROP_0,
  PROP_ROOT,
  PROP_SEARCH_PATH,
  PROP_HOME_DIR,
  PROP_DATA_DIR,
  PROP_CLI_PATH,
  PROP_RUNTIME_DIR,
  PROP_WATCH_MS,
  PROP_FLATPAK_INFO,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionLauncher, bastion_launcher, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-launcher-error-quark, bastion_launcher_error)


void
_bastion_launcher_pgadmin_layout_clear (PgadminLayout *layout)
{
  g_clear_pointer (&layout->bin, g_free);
  g_clear_pointer (&layout->setup, g_free);
  g_clear_pointer (&layout->python, g_free);
  layout->major = layout->minor = -1;
}

/* --- Boxed types --------------------------------------------------------------------------- */

G_DEFINE_BOXED_TYPE (BastionLaunchTarget, bastion_launch_target,
                     bastion_launch_target_copy, bastion_launch_target_free)
G_DEFINE_BOXED_TYPE (BastionToolInfo, bastion_tool_info,
                     bastion_tool_info_copy, bastion_tool_info_free)
G_DEFINE_BOXED_TYPE (BastionLaunchPlan, bastion_launch_plan,
                     bastion_launch_plan_copy, bastion_launch_plan_free)

BastionLaunchTarget *
bastion_launch_target_new (void)
{
  BastionLaunchTarget *target = g_new0 (BastionLaunchTarget, 1);

  target->local_host = g_strdup ("127.0.0.1");

  return target;
}

BastionLaunchTarget *
bastion_launch_target_copy (const BastionLaunchTarget *target)
{
  BastionLaunchTarget *copy;

  g_return_val_if_fail (target != NULL, NULL);

  copy = g_new0 (BastionLaunchTarget, 1);
  copy->team = g_strdup (target->team);
  copy->profile_id = g_strdup (target->profile_id);
  copy->local_host = g_strdup (target->local_host);
  copy->local_port = target->local_port;
  copy->db_host = g_strdup (target->db_host);
  copy->db_name = g_strdup (target->db_name);
  copy->db_user = g_strdup (target->db_user);
  copy->sslmode = g_strdup (target->sslmode);
  copy->read_only = target->read_only;
  copy->password_kind = g_strdup (target->password_kind);

  return copy;
}

void
bastion_launch_target_free (BastionLaunchTarget *target)
{
  if (target == NULL)
    return;

  g_free (target->team);
  g_free (target->profile_id);
  g_free (target->local_host);
  g_free (target->db_host);
  g_free (target->db_name);
  g_free (target->db_user);
  g_free (target->sslmode);
  g_free (target->password_kind);
  g_free (target);
}

BastionToolInfo *
bastion_tool_info_copy (const BastionToolInfo *info)
{
  BastionToolInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (BastionToolInfo, 1);
  copy->tool = info->tool;
  copy->available = info->available;
  copy->flatpak = info->flatpak;
  copy->path = g_strdup (info->path);
  copy->version = g_strdup (info->version);
  copy->terminal = g_strdup (info->terminal);
  copy->install_hint = g_strdup (info->install_hint);

  return copy;
}

void
bastion_tool_info_free (BastionToolInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->path);
  g_free (info->version);
  g_free (info->terminal);
  g_free (info->install_hint);
  g_free (info);
}

BastionLaunchPlan *
bastion_launch_plan_copy (const BastionLaunchPlan *plan)
{
  BastionLaunchPlan *copy;

  g_return_val_if_fail (plan != NULL, NULL);

  copy = g_new0 (BastionLaunchPlan, 1);
  copy->tool = plan->tool;
  copy->argv = g_strdupv (plan->argv);
  copy->env_names = g_strdupv (plan->env_names);
  copy->env = g_strdupv (plan->env);
  copy->files = g_strdupv (plan->files);
  copy->setup_argv = g_strdupv (plan->setup_argv);

  return copy;
}

void
bastion_launch_plan_free (BastionLaunchPlan *plan)
{
  if (plan == NULL)
    return;

  g_strfreev (plan->argv);
  g_strfreev (plan->env_names);
  g_strfreev (plan->env);
  g_strfreev (plan->files);
  g_strfreev (plan->setup_argv);
  g_free (plan);
}

const char *
_bastion_launcher_target_sslmode (const BastionLaunchTarget *target)
{
  return target->sslmode != NULL && target->sslmode[0] != '\0' ? target->sslmode : "prefer";
}

const char *
_bastion_launcher_target_local_host (const BastionLaunchTarget *target)
{
  return target->local_host != NULL && target->local_host[0] != '\0'
         ? target->local_host : "127.0.0.1";
}

/* The name TLS verifies: the real DB host when known, else the local address. */
const char *
_bastion_launcher_target_tls_host (const BastionLaunchTarget *target)
{
  return target->db_host != NULL && target->db_host[0] != '\0'
         ? target->db_host : _bastion_launcher_target_local_host (target);
}

static gboolean
sslmode_verifies_name (const char *sslmode)
{
  return g_str_equal (sslmode, "verify-full") || g_str_equal (sslmode, "verify-ca");
}

/**
 * bastion_launch_target_dup_uri:
 *
 * A libpq connection URI for any other tool, without a password. When TLS must verify the
 * server's name, the URI names the real host and points libpq at the tunnel with hostaddr;
 * otherwise it names the local address, which every client understands.
 */
char *
bastion_launch_target_dup_uri (const BastionLaunchTarget *target)
{
  g_autofree char *user = NULL;
  g_autofree char *db = NULL;
  g_autofree char *host = NULL;
  const char *sslmode;
  GString *uri;

  g_return_val_if_fail (target != NULL, NULL);

  sslmode = _bastion_launcher_target_sslmode (target);
  user = g_uri_escape_string (target->db_user ? target->db_user : "", NULL, FALSE);
  db = g_uri_escape_string (target->db_name ? target->db_name : "", NULL, FALSE);

  uri = g_string_new ("postgresql://");
  if (user[0] != '\0')
    g_string_append_printf (uri, "%s@", user);

  if (sslmode_verifies_name (sslmode) && target->db_host != NULL && target->db_host[0] != '\0')
    {
      host = g_uri_escape_string (target->db_host, NULL, FALSE);
      g_string_append_printf (uri, "%s:%u/%s?hostaddr=%s&sslmode=%s",
                              host, target->local_port, db,
                              _bastion_launcher_target_local_host (target), sslmode);
    }
  else
    {
      host = g_uri_escape_string (_bastion_launcher_target_local_host (target), NULL, FALSE);
      g_string_append_printf (uri, "%s:%u/%s?sslmode=%s", host, target->local_port, db, sslmode);
    }

  if (target->read_only)
    {
      g_autofree char *options = g_uri_escape_string (READ_ONLY_OPTIONS, NULL, FALSE);

      g_string_append_printf (uri, "&options=%s", options);
    }

  return g_string_free (uri, FALSE);
}

/* --- Tools ---------------------------------------------------------------------------------- */

const char *
bastion_launcher_tool_to_string (BastionLauncherTool tool)
{
  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN: return "pgadmin";
    case BASTION_LAUNCHER_TOOL_DBEAVER: return "dbeaver";
    case BASTION_LAUNCHER_TOOL_PSQL: return "psql";
    case BASTION_LAUNCHER_TOOL_PGCLI: return "pgcli";
    default: return NULL;
    }
}

gboolean
bastion_launcher_tool_from_string (const char          *name,
                                   BastionLauncherTool *tool)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (BastionLauncherTool t = BASTION_LAUNCHER_TOOL_PGADMIN; t <= BASTION_LAUNCHER_TOOL_PGCLI; t++)
    {
      if (g_ascii_strcasecmp (name, bastion_launcher_tool_to_string (t)) == 0)
        {
          if (tool != NULL)
            *tool = t;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
bastion_launcher_tool_get_title (BastionLauncherTool tool)
{
  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN: return "pgAdmin 4";
    case BASTION_LAUNCHER_TOOL_DBEAVER: return "DBeaver";
    case BASTION_LAUNCHER_TOOL_PSQL: return "psql";
    case BASTION_LAUNCHER_TOOL_PGCLI: return "pgcli";
    default: return NULL;
    }
}

/* --- GObject -------------------------------------------------------------------------------- */

static void
bastion_launcher_finalize (GObject *object)
{
  BastionLauncher *self = (BastionLauncher *)object;

  g_clear_object (&self->runtime_dir);
  g_clear_pointer (&self->root, g_free);
  g_clear_pointer (&self->search_path, g_free);
  g_clear_pointer (&self->home_dir, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->cli_path, g_free);
  g_clear_pointer (&self->flatpak_info, g_free);
  g_clear_pointer (&self->sandbox_app_id, g_free);
  g_clear_pointer (&self->terminal, g_free);
  g_mutex_clear (&self->terminal_lock);

  G_OBJECT_CLASS (bastion_launcher_parent_class)->finalize (object);
}

static void
bastion_launcher_constructed (GObject *object)
{
  BastionLauncher *self = (BastionLauncher *)object;

  G_OBJECT_CLASS (bastion_launcher_parent_class)->constructed (object);

  self->sandbox_app_id =
    bastion_runtime_dir_dup_sandbox_app_id (self->flatpak_info ? self->flatpak_info
                                                               : FLATPAK_INFO);

  if (self->runtime_dir == NULL && self->flatpak_info != NULL && self->sandbox_app_id != NULL)
    self->runtime_dir = bastion_runtime_dir_new_for_sandbox (self->sandbox_app_id);
  else if (self->runtime_dir == NULL)
    self->runtime_dir = g_object_ref (bastion_runtime_dir_get_default ());
}

static void
bastion_launcher_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  BastionLauncher *self = BASTION_LAUNCHER (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      g_value_set_string (value, self->root);
      break;
    case PROP_SEARCH_PATH:
      g_value_set_string (value, self->search_path);
      break;
    case PROP_HOME_DIR:
      g_value_set_string (value, self->home_dir);
      break;
    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;
    case PROP_CLI_PATH:
      g_value_set_string (value, self->cli_path);
      break;
    case PROP_RUNTIME_DIR:
      g_value_set_object (value, self->runtime_dir);
      break;
    case PROP_WATCH_MS:
      g_value_set_uint (value, self->watch_ms);
      break;
    case PROP_FLATPAK_INFO:
      g_value_set_string (value, self->flatpak_info);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_launcher_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  BastionLauncher *self = BASTION_LAUNCHER (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      self->root = g_value_dup_string (value);
      break;
    case PROP_SEARCH_PATH:
      self->search_path = g_value_dup_string (value);
      break;
    case PROP_HOME_DIR:
      self->home_dir = g_value_dup_string (value);
      break;
    case PROP_DATA_DIR:
      self->data_dir = g_value_dup_string (value);
      break;
    case PROP_CLI_PATH:
      self->cli_path = g_value_dup_string (value);
      break;
    case PROP_RUNTIME_DIR:
      self->runtime_dir = g_value_dup_object (value);
      break;
    case PROP_WATCH_MS:
      self->watch_ms = g_value_get_uint (value);
      break;
    case PROP_FLATPAK_INFO:
      self->flatpak_info = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_launcher_class_init (BastionLauncherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  object_class->constructed = bastion_launcher_constructed;
  object_class->finalize = bastion_launcher_finalize;
  object_class->get_property = bastion_launcher_get_property;
  object_class->set_property = bastion_launcher_set_property;

  /* The search roots are construct-only so tests (and a Flatpak build) can point detection at
   * another tree; the product never reads a test variable to find them. */
  properties[PROP_ROOT] =
    g_param_spec_string ("root", NULL, NULL, NULL, flags);
  properties[PROP_SEARCH_PATH] =
    g_param_spec_string ("search-path", NULL, NULL, NULL, flags);
  properties[PROP_HOME_DIR] =
    g_param_spec_string ("home-dir", NULL, NULL, NULL, flags);
  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL, flags);
  properties[PROP_CLI_PATH] =
    g_param_spec_string ("cli-path", NULL, NULL, NULL, flags);
  properties[PROP_RUNTIME_DIR] =
    g_param_spec_object ("runtime-dir", NULL, NULL, BASTION_TYPE_RUNTIME_DIR, flags);
  properties[PROP_WATCH_MS] =
    g_param_spec_uint ("watch-ms", NULL, NULL, 0, G_MAXUINT, DEFAULT_WATCH_MS, flags);
  /* Where Flatpak's instance file would be (NULL: "/.flatpak-info", as in a real sandbox). A
   * test points it at a file of its own to run the sandbox code paths against stand-ins. */
  properties[PROP_FLATPAK_INFO] =
    g_param_spec_string ("flatpak-info", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_launcher_init (BastionLauncher *self)
{
  self->watch_ms = DEFAULT_WATCH_MS;
  g_mutex_init (&self->terminal_lock);
}

BastionLauncher *
bastion_launcher_new (void)
{
  return g_object_new (BASTION_TYPE_LAUNCHER, NULL);
}

BastionRuntimeDir *
bastion_launcher_get_runtime_dir (BastionLauncher *self)
{
  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);

  return self->runtime_dir;
}

static const char *all_suffixes[] = { PGPASS_SUFFIX, SERVICE_SUFFIX, SERVERS_SUFFIX, DUMP_SUFFIX };

/* --- Cleanup -------------------------------------------------------------------------------- */

/**
 * bastion_launcher_cleanup:
 *
 * Removes the files written for @profile_id (call it when its tunnel closes).
 */
void
bastion_launcher_cleanup (BastionLauncher *self,
                          const char      *profile_id)
{
  g_autofree char *id = NULL;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));
  g_return_if_fail (profile_id != NULL);

  id = bastion_pgpass_sanitize_name (profile_id);
  for (guint i = 0; i < G_N_ELEMENTS (all_suffixes); i++)
    {
      g_autofree char *name = g_strconcat (id, all_suffixes[i], NULL);

      bastion_runtime_dir_remove_file (self->runtime_dir, name);
    }
}

/**
 * bastion_launcher_cleanup_all:
 *
 * Removes every file of this process and its runtime folder (at exit).
 */
void
bastion_launcher_cleanup_all (BastionLauncher *self)
{
  g_return_if_fail (BASTION_IS_LAUNCHER (self));

  bastion_runtime_dir_release (self->runtime_dir);
}

/**
 * bastion_launcher_cleanup_stale:
 *
 * Removes what a crashed Bastion left (at startup); never another running instance's files.
 */
gboolean
bastion_launcher_cleanup_stale (BastionLauncher  *self,
                                guint            *n_removed,
                                GError          **error)
{
  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), FALSE);

  return bastion_runtime_dir_cleanup_stale (self->runtime_dir, n_removed, error);
}
