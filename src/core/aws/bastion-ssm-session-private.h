/* bastion-ssm-session-private.h: shared by bastion-ssm-session.c (connecting, ending, the
 * object) and bastion-ssm-session-data.c (the data channel: frames, acknowledgements, resend,
 * flow control, smux streams and the local clients)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "bastion-smux.h"
#include "bastion-ssm-session.h"

G_BEGIN_DECLS

#define WINDOW            256                 /* input messages in flight */
#define READ_CHUNK        (1024 - BASTION_SMUX_HEADER_SIZE)  /* as the AWS plugin sends */
#define MAX_EARLY         1024                /* out-of-order messages kept … */
#define MAX_EARLY_BYTES   (8 * 1024 * 1024)   /* … and their bytes */
#define MAX_PENDING_WRITE (16 * 1024 * 1024)  /* bytes queued towards one local client */
#define ACK_GIVE_UP_US    (60 * G_USEC_PER_SEC)
#define HANDSHAKE_TIMEOUT 30                  /* seconds */
#define MAX_REPLY         (64 * 1024)
#define MAX_RESUMES       8                   /* ResumeSession calls per session */

typedef struct
{
  gint64  seq;
  GBytes *frame;
  gint64  first_sent;     /* 0: not sent yet (paused) */
  gint64  sent_at;
  guint   resent : 1;
} OutMsg;

typedef struct
{
  BastionSsmSession *session;   /* unowned: the session frees its streams first */
  guint32            sid;
  GIOStream         *conn;
  GCancellable      *cancellable;
  GQueue             writes;    /* GBytes */
  gsize              queued;
  guint              reading : 1;
  guint              writing : 1;
  guint              blocked : 1;
  guint              remote_fin : 1;
  guint              gone : 1;
} Stream;

struct _BastionSsmSession
{
  GObject             parent_instance;

  /* Owned */
  GMainContext       *context;       /* the thread-default one at creation: every source */
  BastionAws         *aws;
  char               *instance_id;
  char               *db_host;
  guint16             db_port;
  char               *session_id;
  char               *agent_version;
  SoupSession        *soup;
  SoupWebsocketConnection *ws;
  GTask              *connect_task;
  GCancellable       *cancellable;
  BastionSmuxReader  *smux;
  GHashTable         *streams;       /* sid → Stream (mux) */
  Stream             *raw;           /* an old agent's one client */
  GQueue              unacked;       /* OutMsg, in sequence order */
  GHashTable         *early;         /* seq → GBytes frame */
  gsize               early_bytes;
  guint               resend_id;
  guint               handshake_timeout_id;

  gint64              out_seq;
  gint64              expected_in;
  gint64              srtt_us;
  guint32             next_sid;
  guint64             bytes_in;
  guint64             bytes_out;
  guint               resends;
  guint               bad_frames;
  guint               resumes;
  GError             *resume_error;  /* why the channel dropped, while resuming */

  guint               paused : 1;
  guint               multiplexed : 1;
  guint               connected : 1;
  guint               closed : 1;
  guint               terminated : 1;
};

/* bastion-ssm-session-data.c */
void      bastion_ssm_out_msg_free              (OutMsg                  *msg);
Stream   *bastion_ssm_stream_new                (BastionSsmSession       *self,
                                                 guint32                  sid,
                                                 GIOStream               *conn);
void      bastion_ssm_stream_unref              (Stream                  *stream);
void      bastion_ssm_stream_read               (Stream                  *stream);
void      bastion_ssm_stream_remove             (Stream                  *stream);
void      bastion_ssm_session_send_smux         (BastionSsmSession       *self,
                                                 guint8                   cmd,
                                                 guint32                  sid,
                                                 const guint8            *data,
                                                 gsize                    length);
gboolean  bastion_ssm_session_resend_tick       (gpointer                 user_data);
void      bastion_ssm_session_complete_connect  (BastionSsmSession       *self,
                                                 GError                  *error);
void      bastion_ssm_session_on_ws_message     (SoupWebsocketConnection *ws,
                                                 gint                     type,
                                                 GBytes                  *message,
                                                 gpointer                 user_data);
void      bastion_ssm_session_on_ws_closed      (SoupWebsocketConnection *ws,
                                                 gpointer                 user_data);

/* bastion-ssm-session.c */
/* Ends the session with ERROR (taken): clients closed, TerminateSession sent, "closed". */
void      bastion_ssm_session_fail              (BastionSsmSession       *self,
                                                 GError                  *error);
/* The data channel dropped with WHY (taken): ResumeSession, else fail with WHY. */
void      bastion_ssm_session_resume            (BastionSsmSession       *self,
                                                 GError                  *why);

G_END_DECLS
