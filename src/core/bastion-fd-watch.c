/* bastion-fd-watch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-fd-watch.h"

typedef struct
{
  GSource             source;
  gpointer            tag;
  BastionFdWatchFunc  func;
  gpointer            user_data;
  int                 fd;
} FdSource;

struct _BastionFdWatch
{
  FdSource     *source;
  GIOCondition  condition;
};

static gboolean
fd_source_dispatch (GSource     *source,
                    GSourceFunc  callback,
                    gpointer     user_data)
{
  FdSource *fds = (FdSource *)source;
  GIOCondition revents = g_source_query_unix_fd (source, fds->tag);

  if (revents != 0)
    fds->func (fds->fd, revents, fds->user_data);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_source_funcs = {
  NULL,
  NULL,
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
  watch->source->fd = fd;
  watch->condition = condition;
  watch->source->tag = g_source_add_unix_fd ((GSource *)watch->source, fd, condition);
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
  g_source_modify_unix_fd ((GSource *)watch->source, watch->source->tag, condition);
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
