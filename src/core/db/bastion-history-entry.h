/* bastion-history-entry.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  BASTION_HISTORY_OUTCOME_ANY = 0,       /* filters only */
  BASTION_HISTORY_OUTCOME_OK,
  BASTION_HISTORY_OUTCOME_ERROR,
  BASTION_HISTORY_OUTCOME_CANCELLED,
} BastionHistoryOutcome;

#define BASTION_TYPE_HISTORY_ENTRY (bastion_history_entry_get_type ())

G_DECLARE_FINAL_TYPE (BastionHistoryEntry, bastion_history_entry, BASTION, HISTORY_ENTRY, GObject)

/* One statement the user ran: what, when, how long, how many rows, how it ended. Never the
 * result's data. @rows is -1 when unknown. Times are microseconds (start: since the epoch). */
BastionHistoryEntry   *bastion_history_entry_new              (const char           *sql,
                                                               gint64                started_usec,
                                                               gint64                duration_usec,
                                                               gint64                rows,
                                                               BastionHistoryOutcome outcome,
                                                               const char           *sqlstate,
                                                               gboolean              writes_allowed);
gint64                 bastion_history_entry_get_id           (BastionHistoryEntry  *self);
const char            *bastion_history_entry_get_sql          (BastionHistoryEntry  *self);
gint64                 bastion_history_entry_get_started      (BastionHistoryEntry  *self);
gint64                 bastion_history_entry_get_duration     (BastionHistoryEntry  *self);
gint64                 bastion_history_entry_get_rows         (BastionHistoryEntry  *self);
BastionHistoryOutcome  bastion_history_entry_get_outcome      (BastionHistoryEntry  *self);
const char            *bastion_history_entry_get_sqlstate     (BastionHistoryEntry  *self);
gboolean               bastion_history_entry_get_writes_allowed (BastionHistoryEntry *self);

/* Store only. */
void                   bastion_history_entry_set_id           (BastionHistoryEntry  *self,
                                                               gint64                id);

G_END_DECLS
