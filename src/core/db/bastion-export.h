/* bastion-export.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-database.h"
#include "bastion-result-writer.h"

G_BEGIN_DECLS

/* While more than this many bytes wait for the file, the export holds its query
 * (bastion_query_set_held()), so a disk slower than the database does not fill the memory. */
#define BASTION_EXPORT_HIGH_WATER (8 * 1024 * 1024)

#define BASTION_TYPE_EXPORT (bastion_export_get_type ())

G_DECLARE_FINAL_TYPE (BastionExport, bastion_export, BASTION, EXPORT, GObject)

/* Runs @sql on @database and streams every row (none kept in memory) to @file in @format.
 *
 * The text goes to a temporary file beside @file, written by a worker thread one chunk at a
 * time, so nothing blocks the main loop; only a complete export is renamed over @file (after
 * an fsync). On failure or cancellation the temporary file is removed: a file that was there
 * keeps its contents and no half-written file is left. @file must be a local file; a file
 * that is there must be a regular one, and its permissions carry over.
 *
 * Back-pressure: above BASTION_EXPORT_HIGH_WATER bytes waiting for the disk the query is held
 * (the server waits on TCP); it goes on below a quarter of that.
 *
 * One run per object; the database must be free (not busy) when the query starts. */
BastionExport   *bastion_export_new              (BastionDatabase      *database,
                                                  const char           *sql,
                                                  GFile                *file,
                                                  BastionResultFormat   format);
GFile           *bastion_export_get_file         (BastionExport        *self);
/* The rows written so far (notify::n-rows after each batch). */
guint64          bastion_export_get_n_rows       (BastionExport        *self);
/* TRUE once the temporary file was created: a failure before that is about the file. */
gboolean         bastion_export_get_opened       (BastionExport        *self);
/* The most bytes that waited for the file at once (queued or being written). */
gsize            bastion_export_get_peak_queued  (BastionExport        *self);
/* Cancelling stops the query and discards the temporary file; cancel it from the thread
 * whose main context runs the export. */
void             bastion_export_run_async        (BastionExport        *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
/* TRUE once the file holds every row (bastion_export_get_n_rows()). */
gboolean         bastion_export_run_finish       (BastionExport        *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

G_END_DECLS
