/* bastion-io-thread.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-io-thread.h"

static GMainContext *io_context;
static GThread      *io_thread;

static gpointer
io_thread_main (gpointer data)
{
  GMainContext *context = data;

  /* GTask, GSocketService and GSocketClient attach to the thread-default context. */
  g_main_context_push_thread_default (context);
  for (;;)
    g_main_context_iteration (context, TRUE);

  return NULL;
}

GMainContext *
bastion_io_thread_get_context (void)
{
  static gsize started;

  if (g_once_init_enter (&started))
    {
      io_context = g_main_context_new ();
      io_thread = g_thread_new ("bastion-io", io_thread_main, io_context);
      g_once_init_leave (&started, 1);
    }

  return io_context;
}

gboolean
bastion_io_thread_is_current (void)
{
  return io_thread != NULL && g_thread_self () == io_thread;
}

void
bastion_io_thread_invoke (GSourceFunc     func,
                          gpointer        data,
                          GDestroyNotify  notify)
{
  g_return_if_fail (func != NULL);

  bastion_source_add_idle (bastion_io_thread_get_context (), G_PRIORITY_HIGH, func, data,
                           notify);
}

typedef struct
{
  GSourceFunc  func;
  gpointer     data;
  GMutex       mutex;
  GCond        cond;
  gboolean     done;
} SyncCall;

static gboolean
sync_call_cb (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->data);
  g_mutex_lock (&call->mutex);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);

  return G_SOURCE_REMOVE;
}

void
bastion_io_thread_invoke_sync (GSourceFunc func,
                               gpointer    data)
{
  SyncCall call = { func, data };

  g_return_if_fail (func != NULL);

  if (bastion_io_thread_is_current ())
    {
      func (data);
      return;
    }

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  bastion_io_thread_invoke (sync_call_cb, &call, NULL);
  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);
}

static guint
attach (GMainContext *context,
        GSource      *source)
{
  guint id = g_source_attach (source, context);

  g_source_unref (source);
  return id;
}

guint
bastion_source_add_timeout (GMainContext *context,
                            guint         interval_ms,
                            GSourceFunc   func,
                            gpointer      data)
{
  GSource *source = interval_ms % 1000 == 0 ? g_timeout_source_new_seconds (interval_ms / 1000)
                                            : g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, NULL);
  return attach (context, source);
}

guint
bastion_source_add_idle (GMainContext   *context,
                         int             priority,
                         GSourceFunc     func,
                         gpointer        data,
                         GDestroyNotify  notify)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, notify);
  return attach (context, source);
}

void
bastion_source_clear (GMainContext *context,
                      guint        *id)
{
  GSource *source;

  if (*id == 0)
    return;

  source = g_main_context_find_source_by_id (context, *id);
  if (source != NULL)
    g_source_destroy (source);
  *id = 0;
}
