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
#include "bastion-launcher.h"
#include "bastion-launcher-pgadmin-private.h"
#include "bastion-pgpass.h"

/* pgAdmin's dump-servers output for a few hundred servers is well below this. */
#define MAX_DUMP_SIZE (16 * 1024 * 1024)

#define READ_ONLY_OPTIONS "-c default_transaction_read_only=on"
#define DBEAVER_FLATPAK_ID "io.dbeaver.DBeaverCommunity"
#define DEFAULT_WATCH_MS 2000
#define FLATPAK_INFO "/.flatpak-info"

struct _BastionLauncher
{
  GObject parent_instance;

  /* Owned */
  BastionRuntimeDir *runtime_dir;
  char *root;
  char *search_path;
  char *home_dir;
  char *data_dir;
  char *cli_path;
  char *flatpak_info;
  char *sandbox_app_id;   /* set inside a Flatpak sandbox */
  char *terminal;         /* the user's choice of terminal, or NULL; under terminal_lock */
  GMutex terminal_lock;   /* read by the detection threads */

  guint watch_ms;
};

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

/* pgAdmin's install, as the Debian/Ubuntu package (or a layout like it) lays it out. */
typedef struct
{
  char *bin;
  char *setup;
  char *python;
  int   major;
  int   minor;
} PgadminLayout;

static void
pgadmin_layout_clear (PgadminLayout *layout)
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

static const char *
target_sslmode (const BastionLaunchTarget *target)
{
  return target->sslmode != NULL && target->sslmode[0] != '\0' ? target->sslmode : "prefer";
}

static const char *
target_local_host (const BastionLaunchTarget *target)
{
  return target->local_host != NULL && target->local_host[0] != '\0'
         ? target->local_host : "127.0.0.1";
}

/* The name TLS verifies: the real DB host when known, else the local address. */
static const char *
target_tls_host (const BastionLaunchTarget *target)
{
  return target->db_host != NULL && target->db_host[0] != '\0'
         ? target->db_host : target_local_host (target);
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

  sslmode = target_sslmode (target);
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
                              target_local_host (target), sslmode);
    }
  else
    {
      host = g_uri_escape_string (target_local_host (target), NULL, FALSE);
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

/* --- The host, seen from here or from inside a Flatpak sandbox ------------------------------ */

static char *
rooted (BastionLauncher *self,
        const char      *path)
{
  if (self->root == NULL || g_str_equal (self->root, "/"))
    return g_strdup (path);

  return g_build_filename (self->root, path, NULL);
}

static const char *
home_dir (BastionLauncher *self)
{
  return self->home_dir ? self->home_dir : g_get_home_dir ();
}

static gboolean
is_executable_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (path, G_FILE_TEST_IS_DIR);
}

/* A program on Bastion's own PATH (in a sandbox: the sandbox's, e.g. flatpak-spawn). */
static char *
find_program (BastionLauncher *self,
              const char      *name)
{
  const char *path = self->search_path ? self->search_path : g_getenv ("PATH");
  g_auto(GStrv) dirs = NULL;

  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";

  dirs = g_strsplit (path, ":", -1);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *candidate = NULL;

      if (dirs[i][0] != '/')
        continue;

      candidate = g_build_filename (dirs[i], name, NULL);
      if (is_executable_file (candidate))
        return g_steal_pointer (&candidate);
    }

  return NULL;
}

/* Questions about the machine the tools run on. Outside a sandbox they are answered here;
 * inside one, by a small sh script run on the host through flatpak-spawn --host, several
 * questions per call (each costs a D-Bus round trip and a fork on the host). Queries are
 * "OP:ARG", passed as arguments, never pasted into the script:
 *   w:NAME  the program's path on PATH      x:PATH  an executable regular file
 *   f:PATH  a regular file                  e:PATH  exists
 *   r:PATH  the path with symlinks resolved v:PATH  the APP_RELEASE/APP_REVISION lines
 * Detection runs on worker threads (list_tools_async, launch_async), so the host calls wait
 * there, never on the main loop. */
typedef struct
{
  BastionLauncher *self;
  GHashTable      *answers;       /* query -> answer ("" for no); sandbox only */
  char            *spawn;         /* flatpak-spawn */
  char            *failure;       /* why the host could not be asked */
} HostView;

static const char host_probe_script[] =
  "if [ -n \"$1\" ]; then PATH=$1; export PATH; fi\n"
  "shift\n"
  "for q in \"$@\"; do\n"
  "  a=${q#?:}\n"
  "  r=\n"
  "  case $q in\n"
  "    w:*) r=$(command -v -- \"$a\" 2>/dev/null) || r= ;;\n"
  "    x:*) if [ -f \"$a\" ] && [ -x \"$a\" ]; then r=1; fi ;;\n"
  "    f:*) if [ -f \"$a\" ]; then r=1; fi ;;\n"
  "    e:*) if [ -e \"$a\" ]; then r=1; fi ;;\n"
  "    r:*) r=$(readlink -f -- \"$a\" 2>/dev/null) || r= ;;\n"
  "    v:*) r=$(grep -E '^APP_(RELEASE|REVISION)[[:space:]]*=' -- \"$a\" 2>/dev/null"
  " | tr '\\n' ';') ;;\n"
  "  esac\n"
  "  printf '%s\\n' \"$r\"\n"
  "done\n";

static void
host_view_init (HostView        *view,
                BastionLauncher *self)
{
  view->self = self;
  view->answers = NULL;
  view->spawn = NULL;
  view->failure = NULL;

  if (self->sandbox_app_id != NULL)
    {
      view->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      view->spawn = find_program (self, "flatpak-spawn");
      if (view->spawn == NULL)
        view->failure = g_strdup (_("the flatpak-spawn command is missing from the sandbox"));
    }
}

static void
host_view_clear (HostView *view)
{
  g_clear_pointer (&view->answers, g_hash_table_unref);
  g_clear_pointer (&view->spawn, g_free);
  g_clear_pointer (&view->failure, g_free);
}

/* The argv that runs @argv on the host: flatpak-spawn --host, the working folder (the sandbox's
 * own may not exist there) and the variables, which flatpak-spawn does not forward by itself. */
static GStrv
host_argv (BastionLauncher    *self,
           const char         *spawn,
           const char * const *argv,
           const char * const *env)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  if (self->sandbox_app_id != NULL)
    {
      g_autofree char *dir = g_strdup_printf ("--directory=%s", home_dir (self));

      g_strv_builder_add (b, spawn ? spawn : "flatpak-spawn");
      g_strv_builder_add (b, "--host");
      g_strv_builder_add (b, dir);
      for (guint i = 0; env != NULL && env[i] != NULL; i++)
        {
          g_autofree char *opt = g_strconcat ("--env=", env[i], NULL);

          g_strv_builder_add (b, opt);
        }
    }

  g_strv_builder_addv (b, (const char **)argv);

  return g_strv_builder_end (b);
}

static char *
answer_here (BastionLauncher *self,
             const char      *query)
{
  const char *arg = query + 2;

  switch (query[0])
    {
    case 'w':
      return find_program (self, arg);
    case 'x':
      return is_executable_file (arg) ? g_strdup ("1") : NULL;
    case 'f':
      return g_file_test (arg, G_FILE_TEST_IS_REGULAR) ? g_strdup ("1") : NULL;
    case 'e':
      return g_file_test (arg, G_FILE_TEST_EXISTS) ? g_strdup ("1") : NULL;
    case 'r':
      {
        char *real = realpath (arg, NULL);
        char *ret = g_strdup (real);

        free (real);
        return ret;
      }
    case 'v':
      {
        char *contents = NULL;

        /* pgAdmin's version.py / config.py: small text files, never a FIFO. */
        return bastion_bounded_file_read (arg, 1024 * 1024, &contents, NULL, NULL)
               ? contents : NULL;
      }
    default:
      g_assert_not_reached ();
    }
}

/* Asks the host every query of @queries not answered yet, in one flatpak-spawn call. */
static void
host_view_prefetch (HostView           *view,
                    const char * const *queries)
{
  g_autoptr(GStrvBuilder) b = NULL;
  g_autoptr(GPtrArray) asked = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) cmd = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) lines = NULL;

  if (view->answers == NULL || view->failure != NULL)
    return;

  asked = g_ptr_array_new ();
  for (guint i = 0; queries[i] != NULL; i++)
    if (!g_hash_table_contains (view->answers, queries[i]) && strchr (queries[i], '\n') == NULL)
      g_ptr_array_add (asked, (gpointer)queries[i]);
  if (asked->len == 0)
    return;

  b = g_strv_builder_new ();
  g_strv_builder_add_many (b, "sh", "-c", host_probe_script, "sh",
                           view->self->search_path ? view->self->search_path : "", NULL);
  for (guint i = 0; i < asked->len; i++)
    g_strv_builder_add (b, g_ptr_array_index (asked, i));
  cmd = g_strv_builder_end (b);
  argv = host_argv (view->self, view->spawn, (const char * const *)cmd, NULL);

  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error))
    {
      view->failure = g_strdup (error->message);
      return;
    }

  if (!g_subprocess_get_successful (proc))
    {
      view->failure = g_strstrip (g_strdup (err != NULL && err[0] ? err : _("no output")));
      return;
    }

  lines = g_strsplit (out ? out : "", "\n", -1);
  if (g_strv_length (lines) != asked->len + 1)
    {
      view->failure = g_strdup (_("the host gave an answer Bastion did not understand"));
      return;
    }

  for (guint i = 0; i < asked->len; i++)
    {
      const char *q = g_ptr_array_index (asked, i);
      char *answer = g_strdup (lines[i]);

      /* A program must be a path: "command -v" also names shell builtins. */
      if (q[0] == 'w' && answer[0] != '/')
        answer[0] = '\0';
      if (q[0] == 'v')
        g_strdelimit (answer, ";", '\n');

      g_hash_table_insert (view->answers, g_strdup (q), answer);
    }
}

/* Returns: (nullable): the answer, or %NULL for no */
static char *
host_view_ask (HostView   *view,
               char        op,
               const char *arg)
{
  g_autofree char *query = g_strdup_printf ("%c:%s", op, arg);
  const char *answer;

  if (view->answers == NULL)
    return answer_here (view->self, query);

  if (!g_hash_table_contains (view->answers, query))
    {
      const char *one[] = { query, NULL };

      host_view_prefetch (view, one);
    }

  answer = g_hash_table_lookup (view->answers, query);

  return answer != NULL && answer[0] != '\0' ? g_strdup (answer) : NULL;
}

static gboolean
host_view_test (HostView   *view,
                char        op,
                const char *arg)
{
  g_autofree char *answer = host_view_ask (view, op, arg);

  return answer != NULL;
}

/* The hint for a tool that could not be looked for on the host at all. */
static char *
host_failure_hint (HostView   *view,
                   const char *title)
{
  return g_strdup_printf (_("Bastion runs in a Flatpak sandbox and could not look for %s on "
                            "your computer (%s). Allow it to talk to org.freedesktop.Flatpak, "
                            "e.g. with “flatpak override --user "
                            "--talk-name=org.freedesktop.Flatpak %s”."),
                          title, view->failure, view->self->sandbox_app_id);
}

/* --- Detection ------------------------------------------------------------------------------ */

/* Reads "NAME = 12" from pgAdmin's version.py (or config.py in old releases). */
static gboolean
parse_version_assignment (const char *contents,
                          const char *name,
                          int        *value)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = lines[i];
      char *end = NULL;
      gint64 v;

      if (!g_str_has_prefix (p, name))
        continue;
      p += strlen (name);
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        continue;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;

      v = g_ascii_strtoll (p, &end, 10);
      if (end == p || v < 0 || v > 1000)
        return FALSE;

      *value = (int)v;
      return TRUE;
    }

  return FALSE;
}

static void
detect_pgadmin_version (HostView      *view,
                        const char    *web_dir,
                        PgadminLayout *layout)
{
  const char *files[] = { "version.py", "config.py" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (web_dir, files[i], NULL);
      g_autofree char *contents = host_view_ask (view, 'v', path);
      int major = -1, minor = -1;

      if (contents == NULL)
        continue;

      if (parse_version_assignment (contents, "APP_RELEASE", &major) &&
          parse_version_assignment (contents, "APP_REVISION", &minor))
        {
          layout->major = major;
          layout->minor = minor;
          return;
        }
    }
}

static char *
pgadmin_sqlite_path (BastionLauncher *self)
{
  return g_build_filename (home_dir (self), ".pgadmin", "pgadmin4.db", NULL);
}

static void
detect_pgadmin (HostView        *view,
                BastionToolInfo *info,
                PgadminLayout   *layout)
{
  BastionLauncher *self = view->self;
  g_autofree char *bin = rooted (self, "/usr/pgadmin4/bin/pgadmin4");
  g_autofree char *prefix = NULL;
  g_autofree char *bin_dir = NULL;
  g_autofree char *web = NULL;
  g_autofree char *setup = NULL;
  g_autofree char *venv_python = NULL;
  g_autofree char *q_bin = g_strconcat ("x:", bin, NULL);
  const char *first[] = { q_bin, "w:pgadmin4", "w:python3", NULL };

  layout->major = layout->minor = -1;
  host_view_prefetch (view, first);

  if (!host_view_test (view, 'x', bin))
    {
      g_autofree char *found = host_view_ask (view, 'w', "pgadmin4");

      g_clear_pointer (&bin, g_free);
      if (found != NULL)
        {
          char *real = host_view_ask (view, 'r', found);

          bin = real ? real : g_steal_pointer (&found);
        }
    }

  if (bin == NULL)
    {
      if (view->failure != NULL)
        info->install_hint = host_failure_hint (view, "pgAdmin 4");
      else
        info->install_hint = g_strdup (_("pgAdmin 4 is not installed. Install the desktop "
                                         "package from the pgAdmin APT repository "
                                         "(“sudo apt install pgadmin4-desktop”)."));
      return;
    }

  bin_dir = g_path_get_dirname (bin);
  prefix = g_path_get_dirname (bin_dir);
  web = g_build_filename (prefix, "web", NULL);
  setup = g_build_filename (web, "setup.py", NULL);
  venv_python = g_build_filename (prefix, "venv", "bin", "python3", NULL);

  {
    g_autofree char *sqlite = pgadmin_sqlite_path (self);
    g_autofree char *version = g_build_filename (web, "version.py", NULL);
    g_autofree char *config = g_build_filename (web, "config.py", NULL);
    g_autofree char *q_setup = g_strconcat ("f:", setup, NULL);
    g_autofree char *q_venv = g_strconcat ("x:", venv_python, NULL);
    g_autofree char *q_version = g_strconcat ("v:", version, NULL);
    g_autofree char *q_config = g_strconcat ("v:", config, NULL);
    g_autofree char *q_sqlite = g_strconcat ("f:", sqlite, NULL);
    const char *second[] = { q_setup, q_venv, q_version, q_config, q_sqlite, NULL };

    host_view_prefetch (view, second);
  }

  info->path = g_strdup (bin);

  if (!host_view_test (view, 'f', setup))
    {
      info->install_hint = g_strdup_printf (_("pgAdmin 4 at “%s” has no web/setup.py beside "
                                              "it, so Bastion cannot add the server; install "
                                              "the pgadmin4-desktop package."), bin);
      return;
    }

  layout->bin = g_strdup (bin);
  layout->setup = g_strdup (setup);
  layout->python = host_view_test (view, 'x', venv_python)
                   ? g_strdup (venv_python) : host_view_ask (view, 'w', "python3");
  detect_pgadmin_version (view, web, layout);

  if (layout->major >= 0)
    info->version = g_strdup_printf ("%d.%d", layout->major, layout->minor);

  if (layout->python == NULL)
    {
      info->install_hint = g_strdup (_("pgAdmin 4 is installed, but no Python 3 to run its "
                                       "setup.py was found; reinstall pgadmin4-desktop."));
      return;
    }

  info->available = TRUE;
}

/* The folders where Flatpak exports its apps' launchers: the user's, then the system's. In a
 * sandbox the user's data folder is the app's own; the host's is in HOST_XDG_DATA_HOME. */
static void
flatpak_export_paths (BastionLauncher *self,
                      const char      *app_id,
                      char           **user,
                      char           **system)
{
  const char *data = self->data_dir;
  g_autofree char *host_data = NULL;

  if (data == NULL && self->sandbox_app_id != NULL)
    {
      data = g_getenv ("HOST_XDG_DATA_HOME");
      if (data == NULL || data[0] != '/')
        data = host_data = g_build_filename (g_get_home_dir (), ".local", "share", NULL);
    }
  if (data == NULL)
    data = g_get_user_data_dir ();

  *user = g_build_filename (data, "flatpak", "exports", "bin", app_id, NULL);
  {
    g_autofree char *system_dir = rooted (self, "/var/lib/flatpak/exports/bin");

    *system = g_build_filename (system_dir, app_id, NULL);
  }
}

static void
detect_dbeaver (HostView        *view,
                BastionToolInfo *info)
{
  BastionLauncher *self = view->self;
  const char *names[] = { "dbeaver", "dbeaver-ce" };
  g_autofree char *user = NULL;
  g_autofree char *system = NULL;
  g_autofree char *q_user = NULL;
  g_autofree char *q_system = NULL;

  flatpak_export_paths (self, DBEAVER_FLATPAK_ID, &user, &system);
  q_user = g_strconcat ("e:", user, NULL);
  q_system = g_strconcat ("e:", system, NULL);
  {
    const char *queries[] = { "w:dbeaver", "w:dbeaver-ce", q_user, q_system, "w:flatpak", NULL };

    host_view_prefetch (view, queries);
  }

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      info->path = host_view_ask (view, 'w', names[i]);
      if (info->path != NULL)
        {
          info->available = TRUE;
          return;
        }
    }

  if (host_view_test (view, 'e', user) || host_view_test (view, 'e', system))
    {
      g_autofree char *flatpak = host_view_ask (view, 'w', "flatpak");

      info->flatpak = TRUE;
      info->path = g_strdup (DBEAVER_FLATPAK_ID);
      if (flatpak != NULL)
        info->available = TRUE;
      else
        info->install_hint = g_strdup (_("DBeaver is installed as a Flatpak, but the "
                                         "“flatpak” command was not found."));
      return;
    }

  if (view->failure != NULL)
    info->install_hint = host_failure_hint (view, "DBeaver");
  else
    info->install_hint = g_strdup (_("DBeaver is not installed. Install DBeaver Community "
                                     "from Flathub (“flatpak install flathub "
                                     "io.dbeaver.DBeaverCommunity”) or its .deb package."));
}

/* The user's terminal and how it takes a command. */
typedef struct
{
  const char *name;
  const char *separator;   /* NULL: the command follows directly */
} TerminalKind;

static const TerminalKind terminals[] = {
  { "xdg-terminal-exec", NULL },
  { "kgx", "--" },
  { "gnome-terminal", "--" },
  { "ptyxis", "--" },
  { "konsole", "-e" },
  { "xterm", "-e" },
};

static char *
find_terminal (HostView            *view,
               const TerminalKind **kind)
{
  g_autofree char *chosen = NULL;

  g_mutex_lock (&view->self->terminal_lock);
  chosen = g_strdup (view->self->terminal);
  g_mutex_unlock (&view->self->terminal_lock);

  /* The user's choice first, when it is installed; else the first one found. */
  for (guint i = 0; chosen != NULL && i < G_N_ELEMENTS (terminals); i++)
    {
      char *path;

      if (!g_str_equal (chosen, terminals[i].name)
          || (path = host_view_ask (view, 'w', terminals[i].name)) == NULL)
        continue;
      if (kind != NULL)
        *kind = &terminals[i];
      return path;
    }

  for (guint i = 0; i < G_N_ELEMENTS (terminals); i++)
    {
      char *path = host_view_ask (view, 'w', terminals[i].name);

      if (path != NULL)
        {
          if (kind != NULL)
            *kind = &terminals[i];
          return path;
        }
    }

  return NULL;
}

static void
detect_terminal_tool (HostView        *view,
                      BastionToolInfo *info,
                      const char      *name)
{
  g_autofree char *q_name = g_strconcat ("w:", name, NULL);
  const char *queries[] = {
    q_name, "w:env", "w:xdg-terminal-exec", "w:kgx", "w:gnome-terminal", "w:ptyxis",
    "w:konsole", "w:xterm", NULL
  };

  G_STATIC_ASSERT (G_N_ELEMENTS (terminals) == 6);
  host_view_prefetch (view, queries);

  info->path = host_view_ask (view, 'w', name);
  info->terminal = find_terminal (view, NULL);

  if (info->path == NULL)
    {
      if (view->failure != NULL)
        info->install_hint = host_failure_hint (view, name);
      else if (g_str_equal (name, "psql"))
        info->install_hint = g_strdup (_("psql is not installed. Install it with "
                                         "“sudo apt install postgresql-client”."));
      else
        info->install_hint = g_strdup (_("pgcli is not installed. Install it with "
                                         "“sudo apt install pgcli”."));
      return;
    }

  if (info->terminal == NULL)
    {
      info->install_hint = g_strdup (_("No terminal was found to run it in. Install one, "
                                       "e.g. GNOME Console (“sudo apt install gnome-console”)."));
      return;
    }

  info->available = TRUE;
}

static BastionToolInfo *
detect_tool_full (HostView            *view,
                  BastionLauncherTool  tool,
                  PgadminLayout       *layout)
{
  BastionToolInfo *info = g_new0 (BastionToolInfo, 1);

  info->tool = tool;

  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN:
      detect_pgadmin (view, info, layout);
      break;
    case BASTION_LAUNCHER_TOOL_DBEAVER:
      detect_dbeaver (view, info);
      break;
    case BASTION_LAUNCHER_TOOL_PSQL:
      detect_terminal_tool (view, info, "psql");
      break;
    case BASTION_LAUNCHER_TOOL_PGCLI:
      detect_terminal_tool (view, info, "pgcli");
      break;
    default:
      g_assert_not_reached ();
    }

  return info;
}

/**
 * bastion_launcher_detect_tool:
 *
 * Looks for one tool: a few stat() calls, or inside a Flatpak sandbox one or two
 * `flatpak-spawn --host` calls (bastion_launcher_list_tools_async() does it off the main
 * thread).
 */
BastionToolInfo *
bastion_launcher_detect_tool (BastionLauncher     *self,
                              BastionLauncherTool  tool)
{
  PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };
  HostView view;
  BastionToolInfo *info;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (bastion_launcher_tool_to_string (tool) != NULL, NULL);

  host_view_init (&view, self);
  info = detect_tool_full (&view, tool, &layout);
  pgadmin_layout_clear (&layout);
  host_view_clear (&view);

  return info;
}

static void
list_tools_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  g_autoptr(GPtrArray) tools = g_ptr_array_new_with_free_func ((GDestroyNotify)bastion_tool_info_free);
  HostView view;

  /* One view for all: psql and pgcli share the terminal questions. */
  host_view_init (&view, self);
  for (BastionLauncherTool t = BASTION_LAUNCHER_TOOL_PGADMIN; t <= BASTION_LAUNCHER_TOOL_PGCLI; t++)
    {
      PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };

      g_ptr_array_add (tools, detect_tool_full (&view, t, &layout));
      pgadmin_layout_clear (&layout);
    }
  host_view_clear (&view);

  g_task_return_pointer (task, g_steal_pointer (&tools), (GDestroyNotify)g_ptr_array_unref);
}

void
bastion_launcher_list_tools_async (BastionLauncher     *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_list_tools_async);
  g_task_run_in_thread (task, list_tools_thread);
}

/**
 * bastion_launcher_list_tools_finish:
 *
 * Returns: (transfer container) (element-type BastionToolInfo): one entry per tool, available
 *   or not (with an install hint)
 */
GPtrArray *
bastion_launcher_list_tools_finish (BastionLauncher  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* --- Plans ---------------------------------------------------------------------------------- */

static gboolean
check_target (const BastionLaunchTarget  *target,
              GError                    **error)
{
  struct { const char *what; const char *value; } fields[] = {
    { N_("The team name"), target->team },
    { N_("The profile id"), target->profile_id },
    { N_("The local address"), target->local_host },
    { N_("The database host name"), target->db_host },
    { N_("The database name"), target->db_name },
    { N_("The database user"), target->db_user },
    { N_("The SSL mode"), target->sslmode },
  };

  if (target->profile_id == NULL || target->profile_id[0] == '\0' ||
      target->team == NULL || target->team[0] == '\0')
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The profile has no team name or id; re-import the team"));
      return FALSE;
    }

  if (target->db_name == NULL || target->db_name[0] == '\0' ||
      target->db_user == NULL || target->db_user[0] == '\0')
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The profile of “%s” has no database name or user; set db_name and "
                     "db_username in the profile"), target->team);
      return FALSE;
    }

  if (target->local_port == 0 || target->local_port > 65535)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The tunnel of “%s” has no local port yet; connect first"), target->team);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (!bastion_pgpass_check_value (_(fields[i].what), fields[i].value, &local_error))
        {
          g_set_error_literal (error, BASTION_LAUNCHER_ERROR,
                               BASTION_LAUNCHER_ERROR_INVALID_TARGET, local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

static char *
file_name_for (const BastionLaunchTarget *target,
               const char                *suffix)
{
  g_autofree char *id = bastion_pgpass_sanitize_name (target->profile_id);

  return g_strconcat (id, suffix, NULL);
}

#define PGPASS_SUFFIX ".pgpass"
#define SERVICE_SUFFIX ".pg_service.conf"
#define SERVERS_SUFFIX "-servers.json"
#define DUMP_SUFFIX "-pgadmin-dump.json"

static const char *all_suffixes[] = { PGPASS_SUFFIX, SERVICE_SUFFIX, SERVERS_SUFFIX, DUMP_SUFFIX };

static char *
dup_cli_path (BastionLauncher *self)
{
  g_autofree char *exe = NULL;
  g_autofree char *found = NULL;

  if (self->cli_path != NULL)
    return g_strdup (self->cli_path);

  /* Next to the running binary: installed side by side, or the build tree's src/cli. */
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (exe);
      g_autofree char *beside = g_build_filename (dir, "bastion-cli", NULL);
      g_autofree char *build = g_build_filename (dir, "..", "cli", "bastion-cli", NULL);

      if (is_executable_file (beside))
        return g_steal_pointer (&beside);
      if (is_executable_file (build))
        {
          char *real = realpath (build, NULL);
          char *ret = g_strdup (real ? real : build);

          free (real);
          return ret;
        }
    }

  found = find_program (self, "bastion-cli");
  if (found != NULL)
    return g_steal_pointer (&found);

  return g_strdup ("bastion-cli");
}

static char *
dup_password_command (BastionLauncher           *self,
                      const BastionLaunchTarget *target)
{
  g_autofree char *cli = NULL;
  g_autofree char *q_cli = NULL;
  /* The id: unique, and what `bastion-cli` looks a profile up by first. */
  g_autofree char *q_team = g_shell_quote (target->profile_id);
  /* The read-only login's password where the target logs in as that role. */
  const char *kind = g_strcmp0 (target->password_kind, "readonly-password") == 0
                     ? "readonly-password" : "db-password";

  /* pgAdmin runs the command on the host, where the sandbox's bastion-cli is reached through
   * flatpak run; it prints the password on pgAdmin's pipe, as outside. */
  if (self->sandbox_app_id != NULL)
    {
      g_autofree char *q_app = g_shell_quote (self->sandbox_app_id);

      return g_strdup_printf ("flatpak run --command=bastion-cli %s secret print %s %s",
                              q_app, q_team, kind);
    }

  cli = dup_cli_path (self);
  q_cli = g_shell_quote (cli);

  return g_strdup_printf ("%s secret print %s %s", q_cli, q_team, kind);
}

/**
 * bastion_launcher_dup_servers_json:
 *
 * pgAdmin's servers.json for the target: one server in the group "SimpleIOT — TEAM". Both the
 * pre-7.0 keys (HostAddr, SSLMode) and 7.0's ConnectionParameters are written; each pgAdmin
 * reads the one it knows. The password comes from PasswordExecCommand.
 */
char *
bastion_launcher_dup_servers_json (BastionLauncher           *self,
                                   const BastionLaunchTarget *target,
                                   GError                   **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *group = NULL;
  g_autofree char *command = NULL;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  if (!check_target (target, error))
    return NULL;

  group = g_strdup_printf ("SimpleIOT — %s", target->team);
  command = dup_password_command (self, target);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Servers");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "1");
  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "Name");
  json_builder_add_string_value (builder, target->team);
  json_builder_set_member_name (builder, "Group");
  json_builder_add_string_value (builder, group);
  json_builder_set_member_name (builder, "Host");
  json_builder_add_string_value (builder, target_tls_host (target));
  json_builder_set_member_name (builder, "HostAddr");
  json_builder_add_string_value (builder, target_local_host (target));
  json_builder_set_member_name (builder, "Port");
  json_builder_add_int_value (builder, target->local_port);
  json_builder_set_member_name (builder, "MaintenanceDB");
  json_builder_add_string_value (builder, target->db_name);
  json_builder_set_member_name (builder, "Username");
  json_builder_add_string_value (builder, target->db_user);
  json_builder_set_member_name (builder, "SSLMode");
  json_builder_add_string_value (builder, target_sslmode (target));
  json_builder_set_member_name (builder, "PasswordExecCommand");
  json_builder_add_string_value (builder, command);
  json_builder_set_member_name (builder, "Comment");
  json_builder_add_string_value (builder, _("Added by Bastion: reached through its SSH tunnel"));

  json_builder_set_member_name (builder, "ConnectionParameters");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sslmode");
  json_builder_add_string_value (builder, target_sslmode (target));
  json_builder_set_member_name (builder, "hostaddr");
  json_builder_add_string_value (builder, target_local_host (target));
  json_builder_set_member_name (builder, "connect_timeout");
  json_builder_add_int_value (builder, 10);
  if (target->read_only)
    {
      json_builder_set_member_name (builder, "options");
      json_builder_add_string_value (builder, READ_ONLY_OPTIONS);
    }
  json_builder_end_object (builder);

  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);

  return json_generator_to_data (generator, NULL);
}

/**
 * bastion_launcher_dup_dbeaver_spec:
 *
 * The value of DBeaver's -con: the new postgres-jdbc driver, pgpass authentication (never a
 * password=), and for a read-only profile the JDBC driver's "options" property.
 */
char *
bastion_launcher_dup_dbeaver_spec (BastionLauncher           *self,
                                   const BastionLaunchTarget *target,
                                   GError                   **error)
{
  GString *spec;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  if (!check_target (target, error))
    return NULL;

  /* -con is split on "|" with no escape. */
  if (strchr (target->team, '|') || strchr (target->db_name, '|') ||
      strchr (target->db_user, '|') || strchr (target_local_host (target), '|'))
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_INVALID_TARGET,
                   _("The team, database or user name of “%s” holds a “|”, which DBeaver's "
                     "command line cannot carry; rename it or use the connection URI"),
                   target->team);
      return NULL;
    }

  /* DBeaver's -con looks a connection up by name first and, when one exists, uses it without
   * taking the new host or port (older versions change nothing; newer ones only the database,
   * user, password and properties). So the name carries everything Bastion may change: a
   * tunnel on another port (or a read-only profile) gets a connection of its own, and a
   * connection of that name always points where its name says. -con connections are
   * temporary: DBeaver does not save them, so old ones do not pile up. */
  spec = g_string_new (NULL);
  g_string_append_printf (spec,
                          "driver=postgres-jdbc|host=%s|port=%u|database=%s|user=%s"
                          "|name=Bastion: %s (%s@%s, %s:%u%s)|folder=SimpleIOT"
                          "|auth=postgres_pgpass|openConsole=true",
                          target_local_host (target), target->local_port,
                          target->db_name, target->db_user, target->team,
                          target->db_user, target->db_name, target_local_host (target),
                          target->local_port, target->read_only ? ", read-only" : "");
  if (target->read_only)
    g_string_append (spec, "|prop.options=" READ_ONLY_OPTIONS);

  return g_string_free (spec, FALSE);
}

static char *
dup_service_entry (const BastionLaunchTarget *target,
                   const char                *service,
                   const char                *passfile)
{
  GString *s = g_string_new (NULL);

  g_string_append (s, "# Written by Bastion while the tunnel is open; removed when it closes.\n");
  g_string_append_printf (s, "[%s]\n", service);
  g_string_append_printf (s, "host=%s\n", target_tls_host (target));
  g_string_append_printf (s, "hostaddr=%s\n", target_local_host (target));
  g_string_append_printf (s, "port=%u\n", target->local_port);
  g_string_append_printf (s, "dbname=%s\n", target->db_name);
  g_string_append_printf (s, "user=%s\n", target->db_user);
  g_string_append_printf (s, "sslmode=%s\n", target_sslmode (target));
  g_string_append_printf (s, "passfile=%s\n", passfile);
  g_string_append_printf (s, "application_name=%s\n", "bastion");
  if (target->read_only)
    g_string_append (s, "options=" READ_ONLY_OPTIONS "\n");

  return g_string_free (s, FALSE);
}

static char *
dup_pgpass (const BastionLaunchTarget  *target,
            const char                 *password,
            GError                    **error)
{
  /* Any host: libpq matches the "host" name (the real DB host when hostaddr is set), DBeaver
   * the local address; the port, database and user pin it to this tunnel. */
  return bastion_pgpass_format_line (NULL, target->local_port, target->db_name,
                                     target->db_user, password, error);
}

static void
plan_set_env (GPtrArray  *names,
              GPtrArray  *env,
              const char *name,
              const char *value)
{
  g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (env, g_strdup_printf ("%s=%s", name, value));
}

static GStrv
ptr_array_to_strv (GPtrArray *array)
{
  g_ptr_array_add (array, NULL);
  return (GStrv)g_ptr_array_free (array, FALSE);
}

/* Wraps argv for the host when in a sandbox: flatpak-spawn --host --env=NAME=PATH… TOOL… */
static GStrv
plan_host_argv (HostView  *view,
                GPtrArray *argv,
                GPtrArray *env)
{
  g_ptr_array_add (argv, NULL);
  g_ptr_array_add (env, NULL);

  return host_argv (view->self, view->spawn, (const char * const *)argv->pdata,
                    (const char * const *)env->pdata);
}

static BastionLaunchPlan *
build_plan (HostView                   *view,
            BastionLauncherTool         tool,
            const BastionLaunchTarget  *target,
            const BastionToolInfo      *info,
            const PgadminLayout        *layout,
            GError                    **error)
{
  g_autoptr(BastionLaunchPlan) plan = g_new0 (BastionLaunchPlan, 1);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) setup = NULL;
  BastionLauncher *self = view->self;
  g_autofree char *id = NULL;
  g_autofree char *pgpass_name = file_name_for (target, PGPASS_SUFFIX);
  g_autofree char *pgpass = bastion_runtime_dir_build_path (self->runtime_dir, pgpass_name);

  if (!check_target (target, error))
    return NULL;

  if (!info->available)
    {
      g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NOT_INSTALLED,
                   "%s", info->install_hint ? info->install_hint : _("The tool is not installed"));
      return NULL;
    }

  id = bastion_pgpass_sanitize_name (target->profile_id);
  plan->tool = tool;

  switch (tool)
    {
    case BASTION_LAUNCHER_TOOL_PGADMIN:
      {
        g_autofree char *servers_name = file_name_for (target, SERVERS_SUFFIX);
        g_autofree char *servers = bastion_runtime_dir_build_path (self->runtime_dir,
                                                                   servers_name);
        g_autofree char *sqlite = pgadmin_sqlite_path (self);
        gboolean new_cli;

        if (layout->major < 0)
          {
            g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNKNOWN_VERSION,
                         _("Could not tell which version of pgAdmin 4 is installed at “%s” "
                           "(no APP_RELEASE/APP_REVISION in web/version.py or web/config.py), "
                           "so Bastion cannot add the server safely; reinstall pgadmin4-desktop"),
                         layout->bin);
            return NULL;
          }

        if (target->read_only && layout->major < 7)
          {
            g_set_error (error, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_UNSUPPORTED,
                         _("pgAdmin %d.%d cannot carry the read-only setting (it needs pgAdmin "
                           "7 or newer); upgrade pgAdmin or turn off read-only for “%s”"),
                         layout->major, layout->minor, target->team);
            return NULL;
          }

        /* setup.py became a typer app in 8.2: "load-servers"; up to 8.1, "--load-servers". */
        new_cli = layout->major > 8 || (layout->major == 8 && layout->minor >= 2);

        setup = g_ptr_array_new_with_free_func (g_free);
        g_ptr_array_add (setup, g_strdup (layout->python));
        g_ptr_array_add (setup, g_strdup (layout->setup));
        g_ptr_array_add (setup, g_strdup (new_cli ? "load-servers" : "--load-servers"));
        g_ptr_array_add (setup, g_strdup (servers));
        g_ptr_array_add (setup, g_strdup ("--sqlite-path"));
        g_ptr_array_add (setup, g_strdup (sqlite));

        g_ptr_array_add (argv, g_strdup (layout->bin));
        g_ptr_array_add (files, g_steal_pointer (&servers));
        break;
      }

    case BASTION_LAUNCHER_TOOL_DBEAVER:
      {
        g_autofree char *spec = bastion_launcher_dup_dbeaver_spec (self, target, error);

        if (spec == NULL)
          return NULL;

        if (info->flatpak)
          {
            BastionRuntimeDir *rd = self->runtime_dir;
            const char *relative = bastion_runtime_dir_get_xdg_relative (rd);

            g_ptr_array_add (argv, host_view_ask (view, 'w', "flatpak"));
            g_ptr_array_add (argv, g_strdup ("run"));
            /* The sandbox sees only the runtime folder, read-only. */
            if (relative != NULL)
              g_ptr_array_add (argv, g_strdup_printf ("--filesystem=xdg-run/%s:ro", relative));
            else
              g_ptr_array_add (argv, g_strdup_printf ("--filesystem=%s:ro",
                                                      bastion_runtime_dir_get_base (rd)));
            g_ptr_array_add (argv, g_strdup_printf ("--env=PGPASSFILE=%s", pgpass));
            g_ptr_array_add (argv, g_strdup (info->path));
          }
        else
          {
            g_ptr_array_add (argv, g_strdup (info->path));
          }

        g_ptr_array_add (argv, g_strdup ("-con"));
        g_ptr_array_add (argv, g_steal_pointer (&spec));
        plan_set_env (names, env, "PGPASSFILE", pgpass);
        g_ptr_array_add (files, g_strdup (pgpass));
        break;
      }

    case BASTION_LAUNCHER_TOOL_PSQL:
    case BASTION_LAUNCHER_TOOL_PGCLI:
      {
        g_autofree char *service_name = file_name_for (target, SERVICE_SUFFIX);
        g_autofree char *service = bastion_runtime_dir_build_path (self->runtime_dir,
                                                                   service_name);
        g_autofree char *env_prog = host_view_ask (view, 'w', "env");
        g_autofree char *terminal = NULL;
        const TerminalKind *kind = NULL;

        terminal = find_terminal (view, &kind);
        g_assert (terminal != NULL);

        plan_set_env (names, env, "PGSERVICEFILE", service);
        plan_set_env (names, env, "PGSERVICE", id);

        g_ptr_array_add (argv, g_steal_pointer (&terminal));
        if (kind->separator != NULL)
          g_ptr_array_add (argv, g_strdup (kind->separator));

        /* Terminals that hand the command to a running server (gnome-terminal, kgx) may not
         * pass our environment on: "env" carries the two paths into the command itself. */
        g_ptr_array_add (argv, env_prog ? g_steal_pointer (&env_prog) : g_strdup ("env"));
        g_ptr_array_add (argv, g_strdup_printf ("PGSERVICEFILE=%s", service));
        g_ptr_array_add (argv, g_strdup_printf ("PGSERVICE=%s", id));
        g_ptr_array_add (argv, g_strdup (info->path));
        g_ptr_array_add (argv, g_strdup_printf ("service=%s", id));

        g_ptr_array_add (files, g_strdup (pgpass));
        g_ptr_array_add (files, g_steal_pointer (&service));
        break;
      }

    default:
      g_assert_not_reached ();
    }

  plan->argv = plan_host_argv (view, argv, env);
  g_ptr_array_set_size (env, env->len - 1);
  if (setup != NULL)
    {
      g_autoptr(GPtrArray) no_env = g_ptr_array_new ();

      plan->setup_argv = plan_host_argv (view, setup, no_env);
    }
  plan->env_names = ptr_array_to_strv (g_steal_pointer (&names));
  plan->env = ptr_array_to_strv (g_steal_pointer (&env));
  plan->files = ptr_array_to_strv (g_steal_pointer (&files));

  return g_steal_pointer (&plan);
}

/**
 * bastion_launcher_describe:
 *
 * What bastion_launcher_launch_async() would run and write (for `--dry-run`); writes nothing.
 */
BastionLaunchPlan *
bastion_launcher_describe (BastionLauncher            *self,
                           BastionLauncherTool         tool,
                           const BastionLaunchTarget  *target,
                           GError                    **error)
{
  PgadminLayout layout = { NULL, NULL, NULL, -1, -1 };
  g_autoptr(BastionToolInfo) info = NULL;
  BastionLaunchPlan *plan;
  HostView view;

  g_return_val_if_fail (BASTION_IS_LAUNCHER (self), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  host_view_init (&view, self);
  info = detect_tool_full (&view, tool, &layout);
  plan = build_plan (&view, tool, target, info, &layout, error);
  pgadmin_layout_clear (&layout);
  host_view_clear (&view);

  return plan;
}

/* --- Launching ------------------------------------------------------------------------------ */

typedef struct
{
  BastionLauncherTool  tool;
  BastionLaunchTarget *target;
  char                *password;
  BastionToolInfo     *info;
  PgadminLayout        layout;
  BastionLaunchPlan   *plan;
  GPtrArray           *created;          /* file names this launch created */
  char                *spawn;            /* flatpak-spawn, in a sandbox */
  gboolean             pgadmin_has_db;   /* pgAdmin ran before: it may know the server */
  GSubprocess         *child;
  GCancellable        *wait_cancellable;
  int                  stderr_fd;
  guint                timeout_id;
  gboolean             returned;
} LaunchData;

static void
launch_data_free (LaunchData *data)
{
  if (data->password != NULL)
    {
      explicit_bzero (data->password, strlen (data->password));
      g_free (data->password);
    }
  g_clear_pointer (&data->target, bastion_launch_target_free);
  g_clear_pointer (&data->info, bastion_tool_info_free);
  g_clear_pointer (&data->plan, bastion_launch_plan_free);
  g_clear_pointer (&data->created, g_ptr_array_unref);
  g_clear_pointer (&data->spawn, g_free);
  g_clear_object (&data->child);
  g_clear_object (&data->wait_cancellable);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  if (data->stderr_fd >= 0)
    close (data->stderr_fd);
  pgadmin_layout_clear (&data->layout);
  g_free (data);
}

/* Removes what this launch wrote, so a failure leaves nothing behind. */
static void
launch_remove_created (BastionLauncher *self,
                       LaunchData      *data)
{
  for (guint i = 0; i < data->created->len; i++)
    bastion_runtime_dir_remove_file (self->runtime_dir, g_ptr_array_index (data->created, i));
  g_ptr_array_set_size (data->created, 0);
}

static void
launch_fail (GTask  *task,
             GError *error)
{
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);

  launch_remove_created (self, data);
  {
    g_autofree char *dump_name = file_name_for (data->target, DUMP_SUFFIX);
    g_autofree char *servers_name = file_name_for (data->target, SERVERS_SUFFIX);

    bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);
    bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);
  }
  data->returned = TRUE;
  g_task_return_error (task, error);
}

static gboolean
write_runtime_file (BastionLauncher  *self,
                    LaunchData       *data,
                    const char       *suffix,
                    const char       *contents,
                    GError          **error)
{
  g_autofree char *name = file_name_for (data->target, suffix);
  gboolean existed = bastion_runtime_dir_has_file (self->runtime_dir, name);
  g_autofree char *path = NULL;

  path = bastion_runtime_dir_write_file (self->runtime_dir, name, contents, strlen (contents),
                                         error);
  if (path == NULL)
    return FALSE;

  /* A file an earlier launch wrote may be in use by that tool: keep it on failure. */
  if (!existed)
    g_ptr_array_add (data->created, g_steal_pointer (&name));

  return TRUE;
}

static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  LaunchData *data = task_data;
  GError *error = NULL;
  HostView view;

  host_view_init (&view, self);
  data->info = detect_tool_full (&view, data->tool, &data->layout);
  data->plan = build_plan (&view, data->tool, data->target, data->info, &data->layout, &error);
  data->spawn = g_strdup (view.spawn);
  if (data->plan != NULL && data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    {
      g_autofree char *sqlite = pgadmin_sqlite_path (self);

      data->pgadmin_has_db = host_view_test (&view, 'f', sqlite);
    }
  host_view_clear (&view);

  if (data->plan == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    {
      g_autofree char *json = bastion_launcher_dup_servers_json (self, data->target, &error);

      if (json == NULL || !write_runtime_file (self, data, SERVERS_SUFFIX, json, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  else
    {
      g_autofree char *pgpass = NULL;

      if (data->password == NULL || data->password[0] == '\0')
        {
          g_task_return_new_error (task, BASTION_LAUNCHER_ERROR,
                                   BASTION_LAUNCHER_ERROR_NO_PASSWORD,
                                   _("The database password of “%s” is not known; connect "
                                     "first or store it with “bastion-cli secret set”"),
                                   data->target->team);
          return;
        }

      pgpass = dup_pgpass (data->target, data->password, &error);
      if (pgpass == NULL || !write_runtime_file (self, data, PGPASS_SUFFIX, pgpass, &error))
        {
          if (pgpass != NULL)
            explicit_bzero (pgpass, strlen (pgpass));
          g_task_return_error (task, error);
          return;
        }
      explicit_bzero (pgpass, strlen (pgpass));

      if (data->tool == BASTION_LAUNCHER_TOOL_PSQL || data->tool == BASTION_LAUNCHER_TOOL_PGCLI)
        {
          g_autofree char *pgpass_name = file_name_for (data->target, PGPASS_SUFFIX);
          g_autofree char *passfile = bastion_runtime_dir_build_path (self->runtime_dir,
                                                                      pgpass_name);
          g_autofree char *id = bastion_pgpass_sanitize_name (data->target->profile_id);
          g_autofree char *entry = dup_service_entry (data->target, id, passfile);

          if (!write_runtime_file (self, data, SERVICE_SUFFIX, entry, &error))
            {
              g_task_return_error (task, error);
              return;
            }
        }
    }

  g_task_return_boolean (task, TRUE);
}

/* The last part of what a tool wrote on stderr, for the error message. */
static char *
read_stderr_tail (int fd)
{
  char buf[2048];
  struct stat st;
  off_t start;
  gssize n;

  if (fd < 0 || fstat (fd, &st) != 0)
    return g_strdup ("");

  start = st.st_size > (off_t)sizeof buf - 1 ? st.st_size - (off_t)(sizeof buf - 1) : 0;
  n = pread (fd, buf, sizeof buf - 1, start);
  if (n <= 0)
    return g_strdup ("");
  buf[n] = '\0';

  return g_strstrip (g_utf8_make_valid (buf, n));
}

static gboolean
child_watch_timeout (gpointer user_data)
{
  GTask *task = user_data;
  LaunchData *data = g_task_get_task_data (task);

  data->timeout_id = 0;

  /* Still running after the watch: it started. Stop waiting; the child lives on. */
  if (!data->returned)
    {
      data->returned = TRUE;
      g_task_return_boolean (task, TRUE);
    }
  g_cancellable_cancel (data->wait_cancellable);

  return G_SOURCE_REMOVE;
}

static void
child_exited (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error) || data->returned)
    return;

  g_clear_handle_id (&data->timeout_id, g_source_remove);

  /* Many launchers hand the work to a running instance and exit 0 at once: that is success. */
  if (g_subprocess_get_successful (data->child))
    {
      data->returned = TRUE;
      g_task_return_boolean (task, TRUE);
      return;
    }

  {
    g_autofree char *tail = read_stderr_tail (data->stderr_fd);
    g_autofree char *status = NULL;

    if (g_subprocess_get_if_exited (data->child))
      status = g_strdup_printf (_("exit status %d"), g_subprocess_get_exit_status (data->child));
    else
      status = g_strdup_printf (_("signal %d"), g_subprocess_get_term_sig (data->child));

    launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                    _("%s stopped right after it started (%s): %s"),
                                    bastion_launcher_tool_get_title (data->tool), status,
                                    tail[0] ? tail : _("it printed nothing")));
  }
}

static char **
tool_environment (BastionLauncher         *self,
                  const BastionLaunchPlan *plan)
{
  char **env = g_get_environ ();
  const char *scrub[] = { "PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE" };

  /* A PGPASSWORD of the user's would win over our pgpass file. */
  for (guint i = 0; i < G_N_ELEMENTS (scrub); i++)
    env = g_environ_unsetenv (env, scrub[i]);

  /* In a sandbox the variables ride on flatpak-spawn's --env= options instead: flatpak-spawn
   * --host does not pass its own environment on. */
  if (self->sandbox_app_id != NULL)
    return env;

  for (guint i = 0; plan->env[i] != NULL; i++)
    {
      const char *eq = strchr (plan->env[i], '=');
      g_autofree char *name = g_strndup (plan->env[i], eq - plan->env[i]);

      env = g_environ_setenv (env, name, eq + 1, TRUE);
    }

  return env;
}

static void
spawn_tool (GTask *task)
{
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_auto(GStrv) env = tool_environment (self, data->plan);
  GError *error = NULL;
  int fd;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_environ (launcher, env);

  /* stderr goes to an anonymous memory file: readable if the tool fails at once, never a pipe
   * that could fill up and block a tool that keeps running, never a file left behind. */
  fd = memfd_create ("bastion-tool-stderr", MFD_CLOEXEC);
  if (fd >= 0)
    {
      int child_fd = dup (fd);

      data->stderr_fd = fd;
      if (child_fd >= 0)
        g_subprocess_launcher_take_stderr_fd (launcher, child_fd);
    }

  data->child = g_subprocess_launcher_spawnv (launcher,
                                              (const char * const *)data->plan->argv, &error);
  if (data->child == NULL)
    {
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR,
                                      BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not start %s: %s"),
                                      bastion_launcher_tool_get_title (data->tool),
                                      error->message));
      g_error_free (error);
      g_object_unref (task);
      return;
    }

  data->wait_cancellable = g_cancellable_new ();
  data->timeout_id = g_timeout_add (self->watch_ms, child_watch_timeout, task);
  g_subprocess_wait_async (data->child, data->wait_cancellable, child_exited, task);
}

/* --- pgAdmin: add the server with its own setup.py, once ---------------------------------- */

static void pgadmin_load (GTask *task);

static char *
stderr_tail_of (const char *text)
{
  gsize len;

  if (text == NULL)
    return g_strdup ("");

  len = strlen (text);
  if (len > 1500)
    text += len - 1500;

  return g_strstrip (g_utf8_make_valid (text, -1));
}

static void
pgadmin_load_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *servers_name = file_name_for (data->target, SERVERS_SUFFIX);
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  /* Loaded (or not): servers.json has done its job either way. */
  bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("pgAdmin's setup.py could not add the server of “%s”: "
                                        "%s"), data->target->team, tail));
      g_object_unref (task);
      return;
    }

  spawn_tool (task);
}

static void
pgadmin_load (GTask *task)
{
  LaunchData *data = g_task_get_task_data (task);
  g_autoptr(GSubprocess) proc = NULL;
  GError *error = NULL;

  proc = g_subprocess_newv ((const char * const *)data->plan->setup_argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  g_subprocess_communicate_utf8_async (proc, NULL, g_task_get_cancellable (task),
                                       pgadmin_load_done, task);
}

static void
pgadmin_remove_done (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not update pgAdmin's server of “%s” (removing "
                                        "Bastion's old entry from %s failed): %s. Close pgAdmin "
                                        "and try again, or delete the server “%s” in pgAdmin"),
                                      data->target->team, ".pgadmin/pgadmin4.db", tail,
                                      data->target->team));
      g_object_unref (task);
      return;
    }

  g_debug ("pgAdmin: %s", out != NULL ? g_strstrip (out) : "");
  pgadmin_load (task);
}

/* Removes only Bastion's own entry (see bastion-launcher-pgadmin.c), then loads it again. */
static void
pgadmin_remove (GTask      *task,
                const char *group)
{
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *sqlite = pgadmin_sqlite_path (self);
  g_auto(GStrv) cmd = bastion_pgadmin_remove_argv (data->layout.python, sqlite, group,
                                                   data->target->team);
  g_auto(GStrv) argv = host_argv (self, data->spawn, (const char * const *)cmd, NULL);
  g_autoptr(GSubprocess) proc = NULL;
  GError *error = NULL;

  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  g_subprocess_communicate_utf8_async (proc, NULL, g_task_get_cancellable (task),
                                       pgadmin_remove_done, task);
}

static void
pgadmin_dump_done (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *dump_name = file_name_for (data->target, DUMP_SUFFIX);
  g_autofree char *dump = bastion_runtime_dir_build_path (self->runtime_dir, dump_name);
  g_autofree char *group = g_strdup_printf ("SimpleIOT — %s", data->target->team);
  g_autoptr(GError) parse_error = NULL;
  GError *error = NULL;
  BastionPgadminEntry entry;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (object), result, &out, &err, &error))
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (!g_subprocess_get_successful (G_SUBPROCESS (object)))
    {
      g_autofree char *tail = stderr_tail_of (err && err[0] ? err : out);

      bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("pgAdmin's setup.py could not list its servers: %s"),
                                      tail));
      g_object_unref (task);
      return;
    }

  {
    g_autofree char *wanted = bastion_launcher_dup_servers_json (self, data->target, NULL);

    entry = bastion_pgadmin_find_entry (dump, wanted, &parse_error);
  }
  bastion_runtime_dir_remove_file (self->runtime_dir, dump_name);

  if (parse_error != NULL)
    {
      launch_fail (task, g_error_new (BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_TOOL_FAILED,
                                      _("Could not read the server list pgAdmin wrote: %s"),
                                      parse_error->message));
      g_object_unref (task);
      return;
    }

  switch (entry)
    {
    case BASTION_PGADMIN_ENTRY_CURRENT:
      {
        g_autofree char *servers_name = file_name_for (data->target, SERVERS_SUFFIX);

        g_debug ("pgAdmin already has the server of %s; not adding it again",
                 data->target->team);
        bastion_runtime_dir_remove_file (self->runtime_dir, servers_name);
        spawn_tool (task);
        return;
      }
    case BASTION_PGADMIN_ENTRY_STALE:
      g_debug ("pgAdmin's server of %s points elsewhere: replacing Bastion's entry",
               data->target->team);
      pgadmin_remove (task, group);
      return;
    case BASTION_PGADMIN_ENTRY_ABSENT:
    default:
      pgadmin_load (task);
      return;
    }
}

/* Asks pgAdmin's own setup.py for the servers it has: it knows its database schema in every
 * version, where reading pgadmin4.db directly would depend on it. */
static void
pgadmin_dump (GTask *task)
{
  BastionLauncher *self = g_task_get_source_object (task);
  LaunchData *data = g_task_get_task_data (task);
  g_autofree char *dump_name = file_name_for (data->target, DUMP_SUFFIX);
  g_autofree char *dump = bastion_runtime_dir_build_path (self->runtime_dir, dump_name);
  g_autofree char *sqlite = pgadmin_sqlite_path (self);
  gboolean new_cli = data->layout.major > 8 || (data->layout.major == 8 && data->layout.minor >= 2);
  const char *cmd[] = {
    data->layout.python, data->layout.setup,
    new_cli ? "dump-servers" : "--dump-servers", dump,
    "--sqlite-path", sqlite, NULL
  };
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  GError *error = NULL;

  /* No database yet: pgAdmin never ran, so it has no servers at all. */
  if (!data->pgadmin_has_db)
    {
      pgadmin_load (task);
      return;
    }

  /* In a sandbox, setup.py runs on the host and writes the list into the shared folder. */
  argv = host_argv (self, data->spawn, cmd, NULL);
  proc = g_subprocess_newv ((const char * const *)argv,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  g_subprocess_communicate_utf8_async (proc, NULL, g_task_get_cancellable (task),
                                       pgadmin_dump_done, task);
}

static void
prepare_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  LaunchData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      launch_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (data->tool == BASTION_LAUNCHER_TOOL_PGADMIN)
    pgadmin_dump (task);
  else
    spawn_tool (task);
}

/**
 * bastion_launcher_launch_async:
 * @password: (nullable): the database password (not needed for pgAdmin, which asks
 *   `bastion-cli secret print`)
 *
 * Writes what the tool needs into the runtime folder and starts it. A tool that exits with an
 * error within the watch time (2 s) fails the launch with what it printed on stderr, and the
 * files this launch wrote are removed.
 */
void
bastion_launcher_launch_async (BastionLauncher           *self,
                               BastionLauncherTool        tool,
                               const BastionLaunchTarget *target,
                               const char                *password,
                               GCancellable              *cancellable,
                               GAsyncReadyCallback        callback,
                               gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) prepare = NULL;
  GError *error = NULL;
  LaunchData *data;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));
  g_return_if_fail (bastion_launcher_tool_to_string (tool) != NULL);
  g_return_if_fail (target != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_launch_async);

  data = g_new0 (LaunchData, 1);
  data->tool = tool;
  data->target = bastion_launch_target_copy (target);
  data->password = g_strdup (password);
  data->created = g_ptr_array_new_with_free_func (g_free);
  data->stderr_fd = -1;
  data->layout.major = data->layout.minor = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)launch_data_free);

  /* Take the lock here, on the calling thread; the worker only writes files. */
  if (!bastion_runtime_dir_ensure (self->runtime_dir, &error))
    {
      data->returned = TRUE;
      g_task_return_error (task, error);
      return;
    }

  prepare = g_task_new (self, cancellable, prepare_done, g_object_ref (task));
  g_task_set_source_tag (prepare, bastion_launcher_launch_async);
  g_task_set_task_data (prepare, data, NULL);
  g_task_run_in_thread (prepare, prepare_thread);
}

gboolean
bastion_launcher_launch_finish (BastionLauncher  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * bastion_launcher_set_terminal:
 * @terminal: (nullable): one of xdg-terminal-exec, kgx, gnome-terminal, ptyxis, konsole, xterm;
 *   NULL or "auto" for the first one found
 *
 * The terminal psql and pgcli open in, when it is installed.
 */
void
bastion_launcher_set_terminal (BastionLauncher *self,
                               const char      *terminal)
{
  g_return_if_fail (BASTION_IS_LAUNCHER (self));

  g_mutex_lock (&self->terminal_lock);
  g_free (self->terminal);
  self->terminal = terminal != NULL && !g_str_equal (terminal, "auto") ? g_strdup (terminal)
                                                                       : NULL;
  g_mutex_unlock (&self->terminal_lock);
}

/* --- A command for any terminal ----------------------------------------------------------- */

static void
command_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  BastionLauncher *self = source_object;
  LaunchData *data = task_data;
  GError *error = NULL;
  g_autofree char *pgpass = NULL;
  g_autofree char *pgpass_name = file_name_for (data->target, PGPASS_SUFFIX);
  g_autofree char *passfile = bastion_runtime_dir_build_path (self->runtime_dir, pgpass_name);
  g_autofree char *service_name = file_name_for (data->target, SERVICE_SUFFIX);
  g_autofree char *service = bastion_runtime_dir_build_path (self->runtime_dir, service_name);
  g_autofree char *id = bastion_pgpass_sanitize_name (data->target->profile_id);
  g_autofree char *entry = NULL;
  g_autofree char *quoted = NULL;

  pgpass = dup_pgpass (data->target, data->password, &error);
  if (pgpass == NULL || !write_runtime_file (self, data, PGPASS_SUFFIX, pgpass, &error))
    {
      if (pgpass != NULL)
        explicit_bzero (pgpass, strlen (pgpass));
      launch_fail (task, error);
      return;
    }
  explicit_bzero (pgpass, strlen (pgpass));

  entry = dup_service_entry (data->target, id, passfile);
  if (!write_runtime_file (self, data, SERVICE_SUFFIX, entry, &error))
    {
      launch_fail (task, error);
      return;
    }

  /* The program by name: the command is meant for whatever terminal the user pastes it in. */
  quoted = g_shell_quote (service);
  g_task_return_pointer (task,
                         g_strdup_printf ("PGSERVICEFILE=%s %s service=%s", quoted,
                                          data->tool == BASTION_LAUNCHER_TOOL_PGCLI ? "pgcli"
                                                                                    : "psql",
                                          id),
                         g_free);
}

/**
 * bastion_launcher_write_command_async:
 * @tool: %BASTION_LAUNCHER_TOOL_PSQL or %BASTION_LAUNCHER_TOOL_PGCLI
 * @password: the database password, written only to the 0600 pgpass file
 *
 * Writes the pg_service.conf entry and pgpass file a launch of @tool would use, and gives a
 * one-line command that works in any terminal while the tunnel is open
 * (`PGSERVICEFILE=… psql service=…`): paths only, never the password. The files go when the
 * profile's tunnel closes (bastion_launcher_cleanup()).
 */
void
bastion_launcher_write_command_async (BastionLauncher           *self,
                                      BastionLauncherTool        tool,
                                      const BastionLaunchTarget *target,
                                      const char                *password,
                                      GCancellable              *cancellable,
                                      GAsyncReadyCallback        callback,
                                      gpointer                   user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  LaunchData *data;

  g_return_if_fail (BASTION_IS_LAUNCHER (self));
  g_return_if_fail (tool == BASTION_LAUNCHER_TOOL_PSQL || tool == BASTION_LAUNCHER_TOOL_PGCLI);
  g_return_if_fail (target != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bastion_launcher_write_command_async);

  if (password == NULL || password[0] == '\0')
    {
      g_task_return_new_error (task, BASTION_LAUNCHER_ERROR, BASTION_LAUNCHER_ERROR_NO_PASSWORD,
                               _("The database password of “%s” is not known; connect first or "
                                 "store it with “bastion-cli secret set”"), target->team);
      return;
    }

  data = g_new0 (LaunchData, 1);
  data->tool = tool;
  data->target = bastion_launch_target_copy (target);
  data->password = g_strdup (password);
  data->created = g_ptr_array_new_with_free_func (g_free);
  data->stderr_fd = -1;
  data->layout.major = data->layout.minor = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)launch_data_free);

  if (!bastion_runtime_dir_ensure (self->runtime_dir, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_run_in_thread (task, command_thread);
}

char *
bastion_launcher_write_command_finish (BastionLauncher  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

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
