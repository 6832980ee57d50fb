/* bastion-history-view.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "bastion-history.h"

G_BEGIN_DECLS

#define BASTION_TYPE_HISTORY_VIEW (bastion_history_view_get_type ())

/* A team's query history, newest first: a search entry, an outcome filter, one row per
 * statement (when, how long, rows, outcome with SQLSTATE, whether writes were allowed), each
 * deletable, and "Clear All". Activating a row emits "open-sql" (the view puts it into the
 * editor: the user looks before running it again). Every read and write of the store runs in
 * its thread.
 *
 * Signals: open-sql (const char *sql) */
G_DECLARE_FINAL_TYPE (BastionHistoryView, bastion_history_view, BASTION, HISTORY_VIEW, GtkWidget)

BastionHistoryView *bastion_history_view_new        (void);
BastionHistory     *bastion_history_view_get_history (BastionHistoryView *self);
void                bastion_history_view_set_history (BastionHistoryView *self,
                                                      BastionHistory     *history);
/* Reads the store again with the current search and filter. */
void                bastion_history_view_reload     (BastionHistoryView *self);
/* The search text and outcome filter (what the entry and the drop-down set). */
void                bastion_history_view_set_filter (BastionHistoryView   *self,
                                                     const char           *text,
                                                     BastionHistoryOutcome outcome);
/* Tests: the rows shown (GtkListBoxRow, each with the entry as "bastion-entry" data). */
GtkListBox         *bastion_history_view_get_list   (BastionHistoryView *self);
/* Tests: TRUE while a read of the store is on its way. */
gboolean            bastion_history_view_get_loading (BastionHistoryView *self);

G_END_DECLS
