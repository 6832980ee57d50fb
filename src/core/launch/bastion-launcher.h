/* bastion-launcher.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-runtime-dir.h"

G_BEGIN_DECLS

#define BASTION_LAUNCHER_ERROR (bastion_launcher_error_quark ())

typedef enum
{
  BASTION_LAUNCHER_ERROR_NOT_INSTALLED = 1,
  BASTION_LAUNCHER_ERROR_TOOL_FAILED,
  BASTION_LAUNCHER_ERROR_UNKNOWN_VERSION,
  BASTION_LAUNCHER_ERROR_INVALID_TARGET,
  BASTION_LAUNCHER_ERROR_NO_PASSWORD,
  BASTION_LAUNCHER_ERROR_UNSUPPORTED,
} BastionLauncherError;

typedef enum
{
  BASTION_LAUNCHER_TOOL_PGADMIN = 1,
  BASTION_LAUNCHER_TOOL_DBEAVER,
  BASTION_LAUNCHER_TOOL_PSQL,
  BASTION_LAUNCHER_TOOL_PGCLI,
} BastionLauncherTool;

#define BASTION_LAUNCHER_N_TOOLS 4

/* Where a tool connects: the tunnel's local end, plus the real database host for TLS. */
typedef struct
{
  char     *team;          /* display name, e.g. "acme" */
  char     *profile_id;    /* stable id: file names and the pg_service.conf section */
  char     *local_host;    /* "127.0.0.1" */
  guint     local_port;
  char     *db_host;       /* the real DB host name (TLS verification); may be NULL */
  char     *db_name;
  char     *db_user;
  char     *sslmode;       /* NULL means "prefer" */
  gboolean  read_only;
  char     *password_kind; /* the keyring's kind of db_user's password; NULL: "db-password" */
} BastionLaunchTarget;

typedef struct
{
  BastionLauncherTool  tool;
  gboolean             available;
  gboolean             flatpak;
  char                *path;          /* executable, or the Flatpak app id */
  char                *version;       /* pgAdmin: "8.4"; else NULL */
  char                *terminal;      /* psql, pgcli: the terminal used */
  char                *install_hint;  /* translated, when not available */
} BastionToolInfo;

/* What a launch runs and writes (for --dry-run): no secret in any of it. */
typedef struct
{
  BastionLauncherTool   tool;
  char                **argv;
  char                **env_names;   /* variables set for the tool (names only) */
  char                **env;         /* the same as NAME=VALUE (paths, never a password) */
  char                **files;       /* files written while connected */
  char                **setup_argv;  /* pgAdmin: the load-servers command, else NULL */
} BastionLaunchPlan;

#define BASTION_TYPE_LAUNCH_TARGET (bastion_launch_target_get_type ())
#define BASTION_TYPE_TOOL_INFO     (bastion_tool_info_get_type ())
#define BASTION_TYPE_LAUNCH_PLAN   (bastion_launch_plan_get_type ())

GType                bastion_launch_target_get_type  (void) G_GNUC_CONST;
BastionLaunchTarget *bastion_launch_target_new       (void);
BastionLaunchTarget *bastion_launch_target_copy      (const BastionLaunchTarget *target);
void                 bastion_launch_target_free      (BastionLaunchTarget       *target);
char                *bastion_launch_target_dup_uri   (const BastionLaunchTarget *target);

GType                bastion_tool_info_get_type      (void) G_GNUC_CONST;
BastionToolInfo     *bastion_tool_info_copy          (const BastionToolInfo     *info);
void                 bastion_tool_info_free          (BastionToolInfo           *info);

GType                bastion_launch_plan_get_type    (void) G_GNUC_CONST;
BastionLaunchPlan   *bastion_launch_plan_copy        (const BastionLaunchPlan   *plan);
void                 bastion_launch_plan_free        (BastionLaunchPlan         *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionLaunchTarget, bastion_launch_target_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionToolInfo, bastion_tool_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionLaunchPlan, bastion_launch_plan_free)

const char *bastion_launcher_tool_to_string     (BastionLauncherTool  tool);
gboolean    bastion_launcher_tool_from_string   (const char          *name,
                                                 BastionLauncherTool *tool);
const char *bastion_launcher_tool_get_title     (BastionLauncherTool  tool);

#define BASTION_TYPE_LAUNCHER (bastion_launcher_get_type ())

G_DECLARE_FINAL_TYPE (BastionLauncher, bastion_launcher, BASTION, LAUNCHER, GObject)

GQuark             bastion_launcher_error_quark        (void);
BastionLauncher   *bastion_launcher_new                (void);
BastionRuntimeDir *bastion_launcher_get_runtime_dir    (BastionLauncher            *self);

BastionToolInfo   *bastion_launcher_detect_tool        (BastionLauncher            *self,
                                                        BastionLauncherTool         tool);
void               bastion_launcher_list_tools_async   (BastionLauncher            *self,
                                                        GCancellable               *cancellable,
                                                        GAsyncReadyCallback         callback,
                                                        gpointer                    user_data);
GPtrArray         *bastion_launcher_list_tools_finish  (BastionLauncher            *self,
                                                        GAsyncResult               *result,
                                                        GError                    **error);

BastionLaunchPlan *bastion_launcher_describe           (BastionLauncher            *self,
                                                        BastionLauncherTool         tool,
                                                        const BastionLaunchTarget  *target,
                                                        GError                    **error);
char              *bastion_launcher_dup_dbeaver_spec   (BastionLauncher            *self,
                                                        const BastionLaunchTarget  *target,
                                                        GError                    **error);
char              *bastion_launcher_dup_servers_json   (BastionLauncher            *self,
                                                        const BastionLaunchTarget  *target,
                                                        GError                    **error);

void               bastion_launcher_launch_async       (BastionLauncher            *self,
                                                        BastionLauncherTool         tool,
                                                        const BastionLaunchTarget  *target,
                                                        const char                 *password,
                                                        GCancellable               *cancellable,
                                                        GAsyncReadyCallback         callback,
                                                        gpointer                    user_data);
gboolean           bastion_launcher_launch_finish      (BastionLauncher            *self,
                                                        GAsyncResult               *result,
                                                        GError                    **error);

void               bastion_launcher_set_terminal       (BastionLauncher            *self,
                                                        const char                 *terminal);
void               bastion_launcher_write_command_async (BastionLauncher          *self,
                                                         BastionLauncherTool       tool,
                                                         const BastionLaunchTarget *target,
                                                         const char               *password,
                                                         GCancellable             *cancellable,
                                                         GAsyncReadyCallback       callback,
                                                         gpointer                  user_data);
char              *bastion_launcher_write_command_finish (BastionLauncher         *self,
                                                          GAsyncResult            *result,
                                                          GError                 **error);

void               bastion_launcher_cleanup            (BastionLauncher            *self,
                                                        const char                 *profile_id);
void               bastion_launcher_cleanup_all        (BastionLauncher            *self);
gboolean           bastion_launcher_cleanup_stale      (BastionLauncher            *self,
                                                        guint                      *n_removed,
                                                        GError                    **error);

G_END_DECLS
