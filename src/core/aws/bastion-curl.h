/* bastion-curl.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <curl/curl.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define BASTION_TYPE_CURL (bastion_curl_get_type ())

/* The largest reply body accepted: a longer transfer is aborted and fails with
 * G_IO_ERROR_MESSAGE_TOO_LARGE. AWS replies Bastion reads are a few kB. */
#define BASTION_CURL_MAX_REPLY_SIZE (8 * 1024 * 1024)

G_DECLARE_FINAL_TYPE (BastionCurl, bastion_curl, BASTION, CURL, GObject)

/* One libcurl multi handle driven by the thread-default GLib main context of the thread that
 * created it (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION become GSources): no call blocks. */
BastionCurl *bastion_curl_new            (void);

/* Runs easy, which the caller has set up (URL, method, headers, signing) and gives away. The
 * reply body is collected here. Fails (G_IO_ERROR) only when no HTTP reply came: the message
 * then holds curl's own words; or with G_IO_ERROR_MESSAGE_TOO_LARGE when the body exceeds
 * BASTION_CURL_MAX_REPLY_SIZE. */
void         bastion_curl_perform_async  (BastionCurl          *self,
                                          CURL                 *easy,
                                          struct curl_slist    *headers,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
/* The reply body (NUL-terminated past its length), and its HTTP status in status. */
GBytes      *bastion_curl_perform_finish (BastionCurl          *self,
                                          GAsyncResult         *result,
                                          long                 *status,
                                          GError              **error);

G_END_DECLS
