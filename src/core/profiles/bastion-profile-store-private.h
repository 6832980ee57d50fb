/* bastion-profile-store-private.h: what bastion-profile-store.c (the list, import, watch) and
 * bastion-profile-store-file.c (profiles.json: load, locked merge-and-save, reload) share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "bastion-profile-store.h"

G_BEGIN_DECLS

struct _BastionProfileStore
{
  GObject     parent_instance;

  /* Owned */
  char       *path;
  GPtrArray  *profiles;          /* BastionProfile, sorted */
  JsonObject *extra;             /* top-level members we do not know */
  char       *watch_dir;
  GFileMonitor *watch_monitor;
  GHashTable *team_monitors;     /* team dir path -> GFileMonitor */
  GFileMonitor *file_monitor;    /* profiles.json itself, for changes by other processes */
  /* Merging with what other processes saved (read–modify–write under the lock): */
  GHashTable *disk_ids;          /* ids the file held when last read or written */
  GHashTable *dirty_ids;         /* ids changed here since then */

  /* Sources */
  guint       autosave_source;
  guint       reimport_source;
  guint       reload_source;

  guint       autosave : 1;
  guint       load_failed : 1;
};

void bastion_profile_store_insert           (BastionProfileStore *self,
                                             BastionProfile      *profile);
/* Removes the profile at POS (its notify handler too) and emits items-changed. */
void bastion_profile_store_detach           (BastionProfileStore *self,
                                             guint                pos);
void bastion_profile_store_clear            (BastionProfileStore *self);
void bastion_profile_store_schedule_autosave (BastionProfileStore *self);
void bastion_profile_store_emit_save_failed (BastionProfileStore *self,
                                             const GError        *error);

G_END_DECLS
