/* bastion-aws-start-stop.c
 *
 * Starting and stopping the bastion instance, and waiting for it: polls DescribeInstances with
 * backoff (doubling up to 15 s), bounded by the wait timeout, ended at once by a cancel. Done
 * when the instance runs (a bastion in a private subnet has no public DNS name: the caller
 * reports its private address) or is stopped.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-aws.h"

typedef struct
{
  char               *name_tag;
  gboolean            want_running;
  gboolean            wait;
  gboolean            requested;   /* StartInstances / StopInstances sent */
  guint               delay;
  gint64              deadline;
  BastionAwsInstance *instance;
  GSource            *timeout;
  GCancellable       *cancellable;
  gulong              cancel_id;
} InstanceOp;

static void
instance_op_free (InstanceOp *op)
{
  if (op->cancel_id != 0)
    g_cancellable_disconnect (op->cancellable, op->cancel_id);
  g_clear_object (&op->cancellable);
  if (op->timeout != NULL)
    {
      g_source_destroy (op->timeout);
      g_source_unref (op->timeout);
    }
  g_free (op->name_tag);
  g_clear_pointer (&op->instance, bastion_aws_instance_free);
  g_free (op);
}

static void instance_op_check (GTask *task);

static void
on_instance_op_described (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  InstanceOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  BastionAwsInstance *instance;

  instance = bastion_aws_describe_instance_finish (BASTION_AWS (object), result, &error);
  if (instance == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&op->instance, bastion_aws_instance_free);
  op->instance = instance;

  instance_op_check (g_steal_pointer (&task));
}

static gboolean
on_instance_op_poll (gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  InstanceOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  g_clear_pointer (&op->timeout, g_source_unref);
  if (g_task_return_error_if_cancelled (task))
    return G_SOURCE_REMOVE;

  bastion_aws_describe_instance_async (self, op->name_tag, cancellable, on_instance_op_described,
                                       g_steal_pointer (&task));

  return G_SOURCE_REMOVE;
}

static gboolean
on_instance_op_cancel_idle (gpointer user_data)
{
  g_autoptr(GTask) task = user_data;

  g_task_return_error_if_cancelled (task);

  return G_SOURCE_REMOVE;
}

/* Waiting can take minutes: a cancel ends it at once, not at the next poll. */
static void
on_instance_op_cancelled (GCancellable *cancellable,
                          gpointer      user_data)
{
  GTask *task = user_data;
  InstanceOp *op = g_task_get_task_data (task);
  GSource *idle;

  if (op->timeout == NULL)
    return;  /* a request is in flight; curl ends it */

  g_source_destroy (op->timeout);
  g_clear_pointer (&op->timeout, g_source_unref);
  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_instance_op_cancel_idle, task, NULL);
  g_source_attach (idle, g_task_get_context (task));
  g_source_unref (idle);
}

/* Asks again after a delay. Takes TASK_IN over. */
static void
instance_op_poll_later (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  InstanceOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GMainContext *context;

  if (g_get_monotonic_time () > op->deadline)
    {
      /* Says what was waited for and what AWS last said, not just the state. */
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_TIMED_OUT,
                               _("The bastion instance %s did not become “%s” within %u seconds: "
                                 "AWS last reported it “%s”. Check it in the EC2 console, then "
                                 "try again."),
                               op->instance->instance_id,
                               op->want_running ? "running" : "stopped",
                               bastion_aws_get_wait_timeout (self), op->instance->state);
      return;
    }

  g_debug ("Instance %s is %s; asking again in %u ms", op->instance->instance_id,
           op->instance->state, op->delay);
  context = g_task_get_context (task);
  op->timeout = g_timeout_source_new (op->delay);
  /* The pending poll holds the task: on_instance_op_poll() or, on a cancel meanwhile,
   * on_instance_op_cancel_idle() takes it over. */
  g_source_set_callback (op->timeout, on_instance_op_poll, g_steal_pointer (&task), NULL);
  g_source_set_static_name (op->timeout, "[bastion] instance poll");
  g_source_attach (op->timeout, context);
  op->delay = MIN (op->delay * 2, BASTION_AWS_MAX_POLL_INTERVAL);
}

static void
on_instance_op_requested (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  InstanceOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;

  if (op->want_running)
    state = bastion_aws_start_instance_finish (BASTION_AWS (object), result, &error);
  else
    state = bastion_aws_stop_instance_finish (BASTION_AWS (object), result, &error);

  if (state == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_free (op->instance->state);
  op->instance->state = g_steal_pointer (&state);

  if (!op->wait)
    {
      g_task_return_pointer (task, bastion_aws_instance_copy (op->instance),
                             (GDestroyNotify) bastion_aws_instance_free);
      return;
    }

  instance_op_poll_later (g_steal_pointer (&task));
}

/* Decides, from the instance's state just described, what comes next. Takes TASK_IN over. */
static void
instance_op_check (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  InstanceOp *op = g_task_get_task_data (task);
  BastionAws *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  const char *state = op->instance->state;
  gboolean done;

  /* Running is enough: a bastion in a private subnet never gets a public DNS name, and the
   * caller reports its private address instead. */
  if (op->want_running)
    done = g_str_equal (state, "running");
  else
    done = g_str_equal (state, "stopped") || (!op->wait && g_str_equal (state, "stopping"));

  if (done)
    {
      g_task_return_pointer (task, bastion_aws_instance_copy (op->instance),
                             (GDestroyNotify) bastion_aws_instance_free);
      return;
    }

  if (g_str_equal (state, "terminated") || g_str_equal (state, "shutting-down"))
    {
      g_task_return_new_error (task, BASTION_AWS_ERROR, BASTION_AWS_ERROR_INCORRECT_STATE,
                               _("The bastion instance %s is %s. It has to be recreated (see the "
                                 "SimpleIOT documentation)."),
                               op->instance->instance_id, state);
      return;
    }

  if (!op->requested &&
      ((op->want_running && g_str_equal (state, "stopped")) ||
       (!op->want_running && (g_str_equal (state, "running") || g_str_equal (state, "pending")))))
    {
      op->requested = TRUE;
      g_debug ("%s instance %s", op->want_running ? "Starting" : "Stopping",
               op->instance->instance_id);
      if (op->want_running)
        bastion_aws_start_instance_async (self, op->instance->instance_id, cancellable,
                                          on_instance_op_requested, g_steal_pointer (&task));
      else
        bastion_aws_stop_instance_async (self, op->instance->instance_id, cancellable,
                                         on_instance_op_requested, g_steal_pointer (&task));
      return;
    }

  /* pending or stopping: wait for it to settle. */
  if (!op->wait && op->requested)
    {
      g_task_return_pointer (task, bastion_aws_instance_copy (op->instance),
                             (GDestroyNotify) bastion_aws_instance_free);
      return;
    }

  instance_op_poll_later (g_steal_pointer (&task));
}

static void
instance_op_start (BastionAws          *self,
                   const char          *name_tag,
                   gboolean             want_running,
                   gboolean             wait,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data,
                   gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  InstanceOp *op = g_new0 (InstanceOp, 1);

  g_task_set_source_tag (task, source_tag);
  op->name_tag = g_strdup (name_tag);
  op->want_running = want_running;
  op->wait = wait;
  op->delay = MAX (bastion_aws_get_poll_interval (self), 1);
  op->deadline = g_get_monotonic_time () + (gint64) bastion_aws_get_wait_timeout (self) * G_USEC_PER_SEC;
  g_task_set_task_data (task, op, (GDestroyNotify) instance_op_free);
  if (cancellable != NULL)
    {
      op->cancellable = g_object_ref (cancellable);
      op->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_instance_op_cancelled),
                                             task, NULL);
    }

  bastion_aws_describe_instance_async (self, name_tag, cancellable, on_instance_op_described,
                                       g_steal_pointer (&task));
}

void
bastion_aws_start_bastion_async (BastionAws          *self,
                                 const char          *name_tag,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (name_tag != NULL);

  instance_op_start (self, name_tag, TRUE, TRUE, cancellable, callback, user_data,
                     bastion_aws_start_bastion_async);
}

BastionAwsInstance *
bastion_aws_start_bastion_finish (BastionAws    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
bastion_aws_stop_bastion_async (BastionAws          *self,
                                const char          *name_tag,
                                gboolean             wait,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (BASTION_IS_AWS (self));
  g_return_if_fail (name_tag != NULL);

  instance_op_start (self, name_tag, FALSE, wait, cancellable, callback, user_data,
                     bastion_aws_stop_bastion_async);
}

BastionAwsInstance *
bastion_aws_stop_bastion_finish (BastionAws    *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (BASTION_IS_AWS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
