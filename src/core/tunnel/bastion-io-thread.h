/* bastion-io-thread.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One thread per process that carries the tunnels' bytes: it runs its own GMainContext, on which
 * every BastionTunnel's listener, clients and SSH session live, so a busy or frozen UI thread
 * never delays a transfer. Started on first use; it lives until the process exits. */
GMainContext *bastion_io_thread_get_context (void);
gboolean      bastion_io_thread_is_current  (void);
/* Runs FUNC once on the I/O thread, soon (FUNC's return value is ignored). */
void          bastion_io_thread_invoke      (GSourceFunc     func,
                                             gpointer        data,
                                             GDestroyNotify  notify);
/* Runs FUNC on the I/O thread and waits until it returned; at once when called from it. The I/O
 * thread never waits for another thread, so this cannot deadlock. */
void          bastion_io_thread_invoke_sync (GSourceFunc     func,
                                             gpointer        data);

/* Sources on an explicit context (g_timeout_add() and friends always use the global default
 * context, which is not the thread's own); the id is unique within CONTEXT. */
guint         bastion_source_add_timeout    (GMainContext   *context,
                                             guint           interval_ms,
                                             GSourceFunc     func,
                                             gpointer        data);
guint         bastion_source_add_idle       (GMainContext   *context,
                                             int             priority,
                                             GSourceFunc     func,
                                             gpointer        data,
                                             GDestroyNotify  notify);
/* Destroys the source *ID of CONTEXT, if any, and sets *ID to 0. */
void          bastion_source_clear          (GMainContext   *context,
                                             guint          *id);

G_END_DECLS
