/* bastion-runtime-dir.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BASTION_RUNTIME_DIR_ERROR (bastion_runtime_dir_error_quark ())

typedef enum
{
  BASTION_RUNTIME_DIR_ERROR_NOT_PRIVATE = 1,
  BASTION_RUNTIME_DIR_ERROR_LOCKED,
  BASTION_RUNTIME_DIR_ERROR_FAILED,
} BastionRuntimeDirError;

#define BASTION_TYPE_RUNTIME_DIR (bastion_runtime_dir_get_type ())

G_DECLARE_FINAL_TYPE (BastionRuntimeDir, bastion_runtime_dir, BASTION, RUNTIME_DIR, GObject)

GQuark             bastion_runtime_dir_error_quark        (void);
BastionRuntimeDir *bastion_runtime_dir_new                (const char         *base);
BastionRuntimeDir *bastion_runtime_dir_new_for_sandbox    (const char         *app_id);
char              *bastion_runtime_dir_dup_sandbox_app_id (const char         *flatpak_info);
BastionRuntimeDir *bastion_runtime_dir_get_default        (void);
const char        *bastion_runtime_dir_get_base           (BastionRuntimeDir  *self);
const char        *bastion_runtime_dir_get_instance_path  (BastionRuntimeDir  *self);
gboolean           bastion_runtime_dir_is_xdg_runtime     (BastionRuntimeDir  *self);
const char        *bastion_runtime_dir_get_xdg_relative   (BastionRuntimeDir  *self);
char              *bastion_runtime_dir_build_path         (BastionRuntimeDir  *self,
                                                           const char         *name);
gboolean           bastion_runtime_dir_ensure             (BastionRuntimeDir  *self,
                                                           GError            **error);
char              *bastion_runtime_dir_write_file         (BastionRuntimeDir  *self,
                                                           const char         *name,
                                                           const char         *contents,
                                                           gsize               length,
                                                           GError            **error);
gboolean           bastion_runtime_dir_has_file           (BastionRuntimeDir  *self,
                                                           const char         *name);
void               bastion_runtime_dir_remove_file        (BastionRuntimeDir  *self,
                                                           const char         *name);
void               bastion_runtime_dir_release            (BastionRuntimeDir  *self);
gboolean           bastion_runtime_dir_cleanup_stale      (BastionRuntimeDir  *self,
                                                           guint              *n_removed,
                                                           GError            **error);

G_END_DECLS
