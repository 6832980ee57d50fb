/* bastion-profile-store.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-profile.h"
#include "bastion-secrets.h"

G_BEGIN_DECLS

#define BASTION_PROFILE_STORE_ERROR (bastion_profile_store_error_quark ())

typedef enum
{
  BASTION_PROFILE_STORE_ERROR_MALFORMED = 1,   /* profiles.json is not what we wrote */
  BASTION_PROFILE_STORE_ERROR_TOO_NEW,         /* written by a newer Bastion */
  BASTION_PROFILE_STORE_ERROR_NOT_LOADED,      /* save refused: the file failed to load */
  BASTION_PROFILE_STORE_ERROR_DUPLICATE,       /* add: the id is already there */
  BASTION_PROFILE_STORE_ERROR_LOCKED,          /* save: another process held the lock too long */
} BastionProfileStoreError;

#define BASTION_PROFILE_STORE_VERSION 1

#define BASTION_TYPE_PROFILE_STORE (bastion_profile_store_get_type ())

/* A GListModel of BastionProfile, in display order (SimpleIOT teams and manual profiles sorted by
 * display name, case-insensitively). items-changed is emitted for add/remove/import; a property
 * change of a profile in the store emits "profile-changed".
 *
 * Signals:
 *   profile-changed (BastionProfile *profile, GParamSpec *pspec)
 *   simpleiot-imported (GPtrArray *warnings)   after a watch-triggered re-import; warnings of
 *                                              GError*, possibly empty
 *   save-failed (GError *error)                an autosave failed
 */
G_DECLARE_FINAL_TYPE (BastionProfileStore, bastion_profile_store, BASTION, PROFILE_STORE, GObject)

GQuark               bastion_profile_store_error_quark      (void);

/* path NULL = $XDG_CONFIG_HOME/bastion/profiles.json. */
BastionProfileStore *bastion_profile_store_new              (const char           *path);
const char          *bastion_profile_store_get_path         (BastionProfileStore  *self);

/* A missing file is an empty store, not an error. The file is read through the bounded reader
 * (bastion-bounded-file.h): a FIFO or device is refused without blocking, at most 8 MiB, JSON at
 * most 64 levels deep. On error the store is left empty and save()
 * refuses to overwrite the file, so nothing saved is lost. */
gboolean             bastion_profile_store_load             (BastionProfileStore  *self,
                                                             GError              **error);
/* Atomic (write to a temporary file, fsync, rename), mode 0600 in a 0700 directory. Members of
 * the file this version does not know (top level and per profile) are written back unchanged.
 * Read–modify–write under an advisory lock (flock on profiles.json.lock beside it): what other
 * processes saved since this store read the file is merged in (their new profiles added, their
 * changes and removals taken where this store did not change the same profile), so parallel
 * imports of different teams keep both. Temporary files of killed saves older than a minute
 * are removed. Refuses (NOT_LOADED) when the file on disk cannot be read: it is never
 * overwritten. */
gboolean             bastion_profile_store_save             (BastionProfileStore  *self,
                                                             GError              **error);

/* Reloads (merging as save() does) when another process changes the file; a file that failed
 * to load is loaded once it is fixed. An unreadable change emits save-failed with the reason. */
gboolean             bastion_profile_store_watch_file       (BastionProfileStore  *self,
                                                             GError              **error);
/* When TRUE, any change (add, remove, import, a profile property) saves shortly after, on the
 * main loop; a failure emits save-failed. Default FALSE. */
gboolean             bastion_profile_store_get_autosave     (BastionProfileStore  *self);
void                 bastion_profile_store_set_autosave     (BastionProfileStore  *self,
                                                             gboolean              autosave);

/* By id first, then exact display name, then display name ignoring case. Transfer none. */
BastionProfile      *bastion_profile_store_lookup           (BastionProfileStore  *self,
                                                             const char           *id_or_name);
/* FALSE with error DUPLICATE when the id is already in the store. */
gboolean             bastion_profile_store_add              (BastionProfileStore  *self,
                                                             BastionProfile       *profile,
                                                             GError              **error);
/* Removes the profile from the list only (for undo: add it back). Returns FALSE if absent. */
gboolean             bastion_profile_store_remove           (BastionProfileStore  *self,
                                                             BastionProfile       *profile);
/* Removes the profile and deletes all its secrets (secrets NULL = the default). For delete with
 * undo: call _remove() first, and this (or bastion_secrets_clear_profile_async()) once the undo
 * is no longer offered. */
void                 bastion_profile_store_delete_async     (BastionProfileStore  *self,
                                                             BastionProfile       *profile,
                                                             BastionSecrets       *secrets,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             bastion_profile_store_delete_finish    (BastionProfileStore  *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

/* Imports every SimpleIOT team under dir (NULL = $BASTION_SIMPLEIOT_DIR or ~/.simpleiot): new
 * teams are added, known ones refreshed keeping the user's edits. A team that fails to parse is a
 * warning and its saved profile is kept. warnings (may be NULL) gets a GPtrArray of GError*
 * (free with g_ptr_array_unref), imported (may be NULL) the profiles imported or refreshed
 * (transfer container). Fails only when dir itself cannot be read. Does not save by itself. */
gboolean             bastion_profile_store_import_simpleiot (BastionProfileStore  *self,
                                                             const char           *dir,
                                                             GPtrArray           **warnings,
                                                             GError              **error);
gboolean             bastion_profile_store_import_simpleiot_full
                                                            (BastionProfileStore  *self,
                                                             const char           *dir,
                                                             GPtrArray           **imported,
                                                             GPtrArray           **warnings,
                                                             GError              **error);
/* Watches dir (NULL = default) and its team folders; re-imports (debounced) on change and emits
 * simpleiot-imported. A dir that does not exist yet is watched for creation. */
gboolean             bastion_profile_store_watch_simpleiot  (BastionProfileStore  *self,
                                                             const char           *dir,
                                                             GError              **error);
void                 bastion_profile_store_unwatch_simpleiot (BastionProfileStore *self);

G_END_DECLS
