/* bastion-launcher-private.h
 *
 * What the parts of BastionLauncher share: the object's fields, the view of the host (here or
 * through flatpak-spawn), pgAdmin's layout, a launch's state, and the helpers that
 * bastion-launcher.c, -host.c, -detect.c, -plan.c and -launch.c use from each other. Not
 * installed; the faces use bastion-launcher.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-launcher.h"

G_BEGIN_DECLS

/* pgAdmin's dump-servers output for a few hundred servers is well below this. */
#define MAX_DUMP_SIZE (16 * 1024 * 1024)
#define READ_ONLY_OPTIONS "-c default_transaction_read_only=on"
#define DBEAVER_FLATPAK_ID "io.dbeaver.DBeaverCommunity"
#define DEFAULT_WATCH_MS 2000
#define FLATPAK_INFO "/.flatpak-info"
#define PGPASS_SUFFIX ".pgpass"
#define SERVICE_SUFFIX ".pg_service.conf"
#define SERVERS_SUFFIX "-servers.json"
#define DUMP_SUFFIX "-pgadmin-dump.json"

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

/* pgAdmin's install, as the Debian/Ubuntu package (or a layout like it) lays it out. */
typedef struct
{
  char *bin;
  char *setup;
  char *python;
  int   major;
  int   minor;
} PgadminLayout;

/* The machine the tools run on, asked here or through flatpak-spawn (bastion-launcher-host.c). */
typedef struct
{
  BastionLauncher *self;
  GHashTable      *answers;       /* query -> answer ("" for no); sandbox only */
  char            *spawn;         /* flatpak-spawn */
  char            *failure;       /* why the host could not be asked */
} HostView;

/* The user's terminal and how it takes a command. */
typedef struct
{
  const char *name;
  const char *separator;   /* NULL: the command follows directly */
} TerminalKind;

void _bastion_launcher_pgadmin_layout_clear (PgadminLayout *layout);

const char *_bastion_launcher_target_sslmode (const BastionLaunchTarget *target);

const char *_bastion_launcher_target_local_host (const BastionLaunchTarget *target);

const char *_bastion_launcher_target_tls_host (const BastionLaunchTarget *target);

char *_bastion_launcher_rooted (BastionLauncher *self,
                                const char      *path);

const char *_bastion_launcher_home_dir (BastionLauncher *self);

gboolean _bastion_launcher_is_executable_file (const char *path);

char *_bastion_launcher_find_program (BastionLauncher *self,
                                      const char      *name);

void _bastion_launcher_host_view_init (HostView        *view,
                                       BastionLauncher *self);

void _bastion_launcher_host_view_clear (HostView *view);

GStrv _bastion_launcher_host_argv (BastionLauncher    *self,
                                   const char         *spawn,
                                   const char * const *argv,
                                   const char * const *env);

void _bastion_launcher_host_view_prefetch (HostView           *view,
                                           const char * const *queries);

char *_bastion_launcher_host_view_ask (HostView   *view,
                                       char        op,
                                       const char *arg);

gboolean _bastion_launcher_host_view_test (HostView   *view,
                                           char        op,
                                           const char *arg);

char *_bastion_launcher_host_failure_hint (HostView   *view,
                                           const char *title);

char *_bastion_launcher_pgadmin_sqlite_path (BastionLauncher *self);

char *_bastion_launcher_find_terminal (HostView            *view,
                                       const TerminalKind **kind);

BastionToolInfo *_bastion_launcher_detect_tool_full (HostView            *view,
                                                     BastionLauncherTool  tool,
                                                     PgadminLayout       *layout);

char *_bastion_launcher_file_name_for (const BastionLaunchTarget *target,
                                       const char                *suffix);

char *_bastion_launcher_dup_service_entry (const BastionLaunchTarget *target,
                                           const char                *service,
                                           const char                *passfile);

char *_bastion_launcher_dup_pgpass (const BastionLaunchTarget  *target,
                                    const char                 *password,
                                    GError                    **error);

BastionLaunchPlan *_bastion_launcher_build_plan (HostView                   *view,
                                                 BastionLauncherTool         tool,
                                                 const BastionLaunchTarget  *target,
                                                 const BastionToolInfo      *info,
                                                 const PgadminLayout        *layout,
                                                 GError                    **error);

G_END_DECLS
