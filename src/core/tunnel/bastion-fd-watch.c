/* bastion-fd-watch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-fd-watch.h"

/* The fd is polled through a GPollFD we own (g_source_add_poll) rather than
 * g_source_add_unix_fd(): g_source_modify_unix_fd() signals the context's wake-up eventfd on
 * every change (a write(), a read() and one more empty loop iteration each time), while a
 * GPollFD's events are read afresh by the next g_main_context_query(). The relay changes
 * conditions from callbacks on the context's own thread, where the next poll is always still
 * to come, so nothing needs waking. Conditions must therefore only be changed from the thread
 * that runs the watch's main context. */
typedef struct
{
  GSource             source;
  GPollFD             pollfd;
  BastionFdWatchFunc  func;
  gpointer            user_data;
} FdSource;

struct _BastionFdWatch
{
  FdSource     *source;
  GIOCondition  condition;
};

static gboolean
fd_source_check (GSource *source)
{
  FdSource *fds = (FdSource *)source;

  return fds->pollfd.revents != 0;
}

static gboolean
fd_source_dispatch (GSource     *source,
                    GSourceFunc  callback,
                    gpointer     user_data)
{
  FdSource *fds = (FdSource *)source;
  GIOCondition revents = fds->pollfd.revents;

  fds->pollfd.revents = 0;
  if (revents != 0)
    fds->func (fds->pollfd.fd, revents, fds->user_data);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_source_funcs = {
  NULL,
  fd_source_check,
  fd_source_dispatch,
  NULL,
  NULL,
  NULL,
};

BastionFdWatch *
bastion_fd_watch_new (int                 fd,
                      GIOCondition        condition,
                      BastionFdWatchFunc  func,
                      gpointer            user_data)
{
  BastionFdWatch *watch;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  watch = g_new0 (BastionFdWatch, 1);
  watch->source = (FdSource *)g_source_new (&fd_source_funcs, sizeof (FdSource));
  watch->source->func = func;
  watch->source->user_data = user_data;
  watch->source->pollfd.fd = fd;
  watch->source->pollfd.events = condition;
  watch->condition = condition;
  g_source_add_poll ((GSource *)watch->source, &watch->source->pollfd);
  /* GLib blocks a non-recursive source while it dispatches: it removes the source's poll
   * records and adds them back afterwards, and each of those signals the wake-up eventfd -
   * two write()s, a read() and one more loop iteration per event. Our callbacks never run a
   * nested main loop, so there is nothing to protect. */
  g_source_set_can_recurse ((GSource *)watch->source, TRUE);
  g_source_set_static_name ((GSource *)watch->source, "[bastion] fd watch");
  g_source_attach ((GSource *)watch->source, g_main_context_get_thread_default ());

  return watch;
}

void
bastion_fd_watch_set_condition (BastionFdWatch *watch,
                                GIOCondition    condition)
{
  g_return_if_fail (watch != NULL);

  if (watch->condition == condition)
    return;

  watch->condition = condition;
  watch->source->pollfd.events = condition;
}

GIOCondition
bastion_fd_watch_get_condition (BastionFdWatch *watch)
{
  g_return_val_if_fail (watch != NULL, 0);

  return watch->condition;
}

void
bastion_fd_watch_free (BastionFdWatch *watch)
{
  if (watch == NULL)
    return;

  g_source_destroy ((GSource *)watch->source);
  g_source_unref ((GSource *)watch->source);
  g_free (watch);
}
