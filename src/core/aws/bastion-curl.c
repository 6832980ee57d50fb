/* bastion-curl.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "bastion-curl.h"
#include "bastion-io-thread.h"
#include "bastion-secure.h"

struct _BastionCurl
{
  GObject       parent_instance;

  /* Owned */
  CURLM        *multi;
  GMainContext *context;
  GSource      *timer;
  GHashTable   *sockets;   /* fd → GSource */
  GHashTable   *requests;  /* CURL * → Request * (in flight) */
};

G_DEFINE_FINAL_TYPE (BastionCurl, bastion_curl, G_TYPE_OBJECT)

typedef struct
{
  BastionCurl       *self;        /* the task's source object holds the reference */
  GTask             *task;
  CURL              *easy;
  struct curl_slist *headers;
  GByteArray        *body;
  GCancellable      *cancellable;
  gulong             cancel_id;
  guint              cancel_idle;
  char               errbuf[CURL_ERROR_SIZE];

  guint              too_large : 1;
} Request;

typedef struct
{
  gsize len;
  char  data[];
} WipedBlock;

static void bastion_curl_drive (BastionCurl   *self,
                                curl_socket_t  fd,
                                int            ev_bitmask);

/* Reply bodies may hold a secret (the DB password): wipe them before the memory goes back. */
static void
wiped_block_free (gpointer data)
{
  WipedBlock *block = data;

  bastion_secure_wipe (block->data, block->len);
  g_free (block);
}

static GBytes *
bytes_new_wiped (const guint8 *data,
                 gsize         len)
{
  WipedBlock *block = g_malloc (sizeof (WipedBlock) + len + 1);

  block->len = len + 1;
  if (len > 0)
    memcpy (block->data, data, len);
  block->data[len] = '\0';

  return g_bytes_new_with_free_func (block->data, len, wiped_block_free, block);
}

static void
request_free (Request *req)
{
  if (req->cancellable != NULL && req->cancel_id != 0)
    g_cancellable_disconnect (req->cancellable, req->cancel_id);
  /* On the curl context, which need not be the global default one (the tunnel's I/O thread). */
  bastion_source_clear (req->self->context, &req->cancel_idle);
  g_clear_object (&req->cancellable);
  g_clear_pointer (&req->easy, curl_easy_cleanup);
  g_clear_pointer (&req->headers, curl_slist_free_all);
  if (req->body != NULL)
    {
      /* An empty array may have no storage at all: bastion_secure_wipe() skips it. */
      bastion_secure_wipe (req->body->data, req->body->len);
      g_byte_array_unref (req->body);
    }
  g_clear_object (&req->task);
  g_free (req);
}

static size_t
on_write (char   *ptr,
          size_t  size,
          size_t  nmemb,
          void   *userdata)
{
  Request *req = userdata;
  gsize len = size * nmemb;

  /* AWS replies are small; a runaway body is not one of them (and must not fill memory). */
  if (len > BASTION_CURL_MAX_REPLY_SIZE - req->body->len)
    {
      req->too_large = TRUE;
      return 0;
    }

  g_byte_array_append (req->body, (const guint8 *) ptr, len);

  return len;
}

/* Detaches req from the multi handle and completes its task. */
static void
request_complete (Request  *req,
                  CURLcode  result,
                  GError   *error)
{
  BastionCurl *self = req->self;
  GTask *task = g_object_ref (req->task);

  g_hash_table_steal (self->requests, req->easy);
  curl_multi_remove_handle (self->multi, req->easy);

  if (error != NULL)
    {
      g_task_return_error (task, error);
    }
  else if (req->too_large || result == CURLE_FILESIZE_EXCEEDED)
    {
      g_debug ("HTTP reply larger than %d bytes: transfer aborted", BASTION_CURL_MAX_REPLY_SIZE);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               _("the reply is larger than %d MiB, the most Bastion accepts"),
                               BASTION_CURL_MAX_REPLY_SIZE / (1024 * 1024));
    }
  else if (result != CURLE_OK)
    {
      const char *detail = req->errbuf[0] != '\0' ? req->errbuf : curl_easy_strerror (result);

      g_debug ("HTTP request failed: %s", detail);
      g_task_return_new_error (task, G_IO_ERROR,
                               result == CURLE_OPERATION_TIMEDOUT ? G_IO_ERROR_TIMED_OUT
                                                                  : G_IO_ERROR_FAILED,
                               "%s", detail);
    }
  else
    {
      long status = 0;

      curl_easy_getinfo (req->easy, CURLINFO_RESPONSE_CODE, &status);
      g_task_set_task_data (task, GSIZE_TO_POINTER ((gsize) status), NULL);
      g_task_return_pointer (task, bytes_new_wiped (req->body->data, req->body->len),
                             (GDestroyNotify) g_bytes_unref);
    }

  request_free (req);
  g_object_unref (task);
}

static void
bastion_curl_check_info (BastionCurl *self)
{
  g_autoptr(GPtrArray) done = g_ptr_array_new ();
  g_autoptr(GArray) results = g_array_new (FALSE, FALSE, sizeof (CURLcode));
  CURLMsg *msg;
  int left;

  while ((msg = curl_multi_info_read (self->multi, &left)) != NULL)
    {
      Request *req = NULL;

      if (msg->msg != CURLMSG_DONE)
        continue;

      curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
      if (req == NULL)
        continue;
      g_ptr_array_add (done, req);
      g_array_append_val (results, msg->data.result);
    }

  /* Completed after the loop: a callback may well start the next request. */
  for (guint i = 0; i < done->len; i++)
    request_complete (g_ptr_array_index (done, i), g_array_index (results, CURLcode, i), NULL);
}

static void
bastion_curl_drive (BastionCurl   *self,
                    curl_socket_t  fd,
                    int            ev_bitmask)
{
  int running = 0;

  g_object_ref (self);
  curl_multi_socket_action (self->multi, fd, ev_bitmask, &running);
  bastion_curl_check_info (self);
  g_object_unref (self);
}

static gboolean
on_socket_ready (int           fd,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  BastionCurl *self = user_data;
  int ev = 0;

  if (condition & G_IO_IN)
    ev |= CURL_CSELECT_IN;
  if (condition & G_IO_OUT)
    ev |= CURL_CSELECT_OUT;
  if (condition & (G_IO_ERR | G_IO_HUP))
    ev |= CURL_CSELECT_ERR;

  bastion_curl_drive (self, fd, ev);

  return G_SOURCE_CONTINUE;
}

static void
socket_source_drop (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

static int
on_curl_socket (CURL          *easy,
                curl_socket_t  fd,
                int            what,
                void          *userp,
                void          *socketp)
{
  BastionCurl *self = userp;
  GIOCondition condition = 0;
  GSource *source;

  g_hash_table_remove (self->sockets, GINT_TO_POINTER (fd));
  if (what == CURL_POLL_REMOVE)
    return 0;

  if (what & CURL_POLL_IN)
    condition |= G_IO_IN;
  if (what & CURL_POLL_OUT)
    condition |= G_IO_OUT;

  source = g_unix_fd_source_new (fd, condition | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (source, (GSourceFunc) on_socket_ready, self, NULL);
  g_source_set_static_name (source, "[bastion] curl socket");
  g_source_attach (source, self->context);
  g_hash_table_insert (self->sockets, GINT_TO_POINTER (fd), source);

  return 0;
}

static gboolean
on_timer (gpointer user_data)
{
  BastionCurl *self = user_data;

  /* Cleared first: the socket action may well ask for a new timer. */
  g_clear_pointer (&self->timer, g_source_unref);
  bastion_curl_drive (self, CURL_SOCKET_TIMEOUT, 0);

  return G_SOURCE_REMOVE;
}

static int
on_curl_timer (CURLM *multi,
               long   timeout_ms,
               void  *userp)
{
  BastionCurl *self = userp;

  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }

  if (timeout_ms >= 0)
    {
      self->timer = g_timeout_source_new ((guint) timeout_ms);
      g_source_set_callback (self->timer, on_timer, self, NULL);
      g_source_set_static_name (self->timer, "[bastion] curl timer");
      g_source_attach (self->timer, self->context);
    }

  return 0;
}

static void
bastion_curl_dispose (GObject *object)
{
  BastionCurl *self = (BastionCurl *) object;

  g_hash_table_remove_all (self->sockets);
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }

  G_OBJECT_CLASS (bastion_curl_parent_class)->dispose (object);
}

static void
bastion_curl_finalize (GObject *object)
{
  BastionCurl *self = (BastionCurl *) object;

  /* Every request holds a reference on us, so none is in flight here. */
  g_assert (g_hash_table_size (self->requests) == 0);
  g_clear_pointer (&self->requests, g_hash_table_unref);
  g_clear_pointer (&self->multi, curl_multi_cleanup);
  g_clear_pointer (&self->sockets, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (bastion_curl_parent_class)->finalize (object);
}

static void
bastion_curl_class_init (BastionCurlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bastion_curl_dispose;
  object_class->finalize = bastion_curl_finalize;

  curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
bastion_curl_init (BastionCurl *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->sockets = g_hash_table_new_full (NULL, NULL, NULL, socket_source_drop);
  self->requests = g_hash_table_new (NULL, NULL);
  self->multi = curl_multi_init ();
  curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
}

BastionCurl *
bastion_curl_new (void)
{
  return g_object_new (BASTION_TYPE_CURL, NULL);
}

static gboolean
on_cancel_idle (gpointer user_data)
{
  Request *req = user_data;

  req->cancel_idle = 0;
  request_complete (req, CURLE_OK,
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                         _("The operation was cancelled")));

  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  Request *req = user_data;
  GSource *source;

  /* May run in any thread; the request is only touched again on our context. */
  if (req->cancel_idle != 0)
    return;
  source = g_idle_source_new ();
  g_source_set_callback (source, on_cancel_idle, req, NULL);
  req->cancel_idle = g_source_attach (source, req->self->context);
  g_source_unref (source);
}

void
bastion_curl_perform_async (BastionCurl         *self,
                            CURL                *easy,
                            struct curl_slist   *headers,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Request *req;
  CURLMcode code;

  g_return_if_fail (BASTION_IS_CURL (self));
  g_return_if_fail (easy != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  req = g_new0 (Request, 1);
  req->self = self;
  req->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (req->task, bastion_curl_perform_async);
  req->easy = easy;
  req->headers = headers;
  req->body = g_byte_array_new ();

  curl_easy_setopt (easy, CURLOPT_PRIVATE, req);
  curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt (easy, CURLOPT_WRITEDATA, req);
  curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
  /* Refused up front when the reply announces its size; on_write stops the others. */
  curl_easy_setopt (easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) BASTION_CURL_MAX_REPLY_SIZE);
  if (headers != NULL)
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);

  if (g_task_return_error_if_cancelled (req->task))
    {
      request_free (req);
      return;
    }

  code = curl_multi_add_handle (self->multi, easy);
  if (code != CURLM_OK)
    {
      g_task_return_new_error (req->task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "%s", curl_multi_strerror (code));
      request_free (req);
      return;
    }
  g_hash_table_insert (self->requests, easy, req);

  if (cancellable != NULL)
    {
      req->cancellable = g_object_ref (cancellable);
      req->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), req, NULL);
    }
}

GBytes *
bastion_curl_perform_finish (BastionCurl   *self,
                             GAsyncResult  *result,
                             long          *status,
                             GError       **error)
{
  GBytes *bytes;

  g_return_val_if_fail (BASTION_IS_CURL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  bytes = g_task_propagate_pointer (G_TASK (result), error);
  if (status != NULL)
    *status = bytes != NULL ? (long) GPOINTER_TO_SIZE (g_task_get_task_data (G_TASK (result))) : 0;

  return bytes;
}
