/* bastion-history.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-history-entry.h"

G_BEGIN_DECLS

#define BASTION_HISTORY_ERROR (bastion_history_error_quark ())

typedef enum
{
  BASTION_HISTORY_ERROR_FAILED = 1,   /* SQLite refused (disk full, locked, …) */
  BASTION_HISTORY_ERROR_NOT_FILE,     /* the store's path is a link or not a regular file */
  BASTION_HISTORY_ERROR_TOO_NEW,      /* written by a newer Bastion: left alone */
} BastionHistoryError;

/* Entries kept per team; the oldest go first. */
#define BASTION_HISTORY_MAX_ENTRIES 10000
/* Longer statements are kept cut to this many bytes, marked as cut. */
#define BASTION_HISTORY_MAX_SQL     (64 * 1024)

#define BASTION_TYPE_HISTORY (bastion_history_get_type ())

/* A team's query history: one SQLite file, mode 0600 in a 0700 folder. Every call runs in a
 * GTask thread (one at a time, in order of the calls); the first opens the file. A damaged file
 * is moved aside (never emptied) and a new one started; get_recovery_message() then says where
 * the old one went. Secrets in statements (PASSWORD '…', password=… in a connection string)
 * are masked before they are written. */
G_DECLARE_FINAL_TYPE (BastionHistory, bastion_history, BASTION, HISTORY, GObject)

GQuark               bastion_history_error_quark        (void);

/* $XDG_DATA_HOME/bastion/history/<profile id>.sqlite */
char                *bastion_history_dup_path_for_profile (const char          *profile_id);
/* @sql with every password literal replaced by '********'. */
char                *bastion_history_mask_secrets       (const char           *sql);

BastionHistory      *bastion_history_new                (const char           *path);
const char          *bastion_history_get_path           (BastionHistory       *self);
/* After any call has finished: a sentence for the user when the file was damaged and moved
 * aside, else NULL. */
const char          *bastion_history_get_recovery_message (BastionHistory     *self);

void                 bastion_history_open_async         (BastionHistory       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             bastion_history_open_finish        (BastionHistory       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
/* Sets the entry's id once stored. */
void                 bastion_history_add_async          (BastionHistory       *self,
                                                         BastionHistoryEntry  *entry,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             bastion_history_add_finish         (BastionHistory       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
/* Newest first; @text (may be NULL) is matched anywhere in the SQL, case-insensitively;
 * @outcome ANY for all. Returns a GPtrArray of BastionHistoryEntry. */
void                 bastion_history_search_async       (BastionHistory       *self,
                                                         const char           *text,
                                                         BastionHistoryOutcome outcome,
                                                         guint                 limit,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GPtrArray           *bastion_history_search_finish      (BastionHistory       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
/* @id 0 deletes every entry. */
void                 bastion_history_delete_async       (BastionHistory       *self,
                                                         gint64                id,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             bastion_history_delete_finish      (BastionHistory       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

G_END_DECLS
