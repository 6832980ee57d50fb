/* bastion-fd-watch.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A main-loop watch on one file descriptor whose condition can be changed in place, without
 * creating a new GSource each time (the relay changes conditions thousands of times a second). */
typedef struct _BastionFdWatch BastionFdWatch;

typedef void (*BastionFdWatchFunc) (int           fd,
                                    GIOCondition  revents,
                                    gpointer      user_data);

BastionFdWatch *bastion_fd_watch_new           (int                 fd,
                                                GIOCondition        condition,
                                                BastionFdWatchFunc  func,
                                                gpointer            user_data);
void            bastion_fd_watch_set_condition (BastionFdWatch     *watch,
                                                GIOCondition        condition);
GIOCondition    bastion_fd_watch_get_condition (BastionFdWatch     *watch);
void            bastion_fd_watch_free          (BastionFdWatch     *watch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionFdWatch, bastion_fd_watch_free)

G_END_DECLS
