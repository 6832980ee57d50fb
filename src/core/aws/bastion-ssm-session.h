/* bastion-ssm-session.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One AWS Session Manager port-forwarding session (document
 * AWS-StartPortForwardingSessionToRemoteHost) to DB_HOST:DB_PORT through the bastion instance:
 * ssm:StartSession, the WebSocket data channel (libsoup 3), the handshake, sequence numbers,
 * acknowledgements, resend after a timeout, start/pause_publication, and smux streams, one per
 * local client. Asynchronous on the thread-default main context it was created in.
 */

#pragma once

#include <gio/gio.h>

#include "bastion-aws.h"
#include "bastion-ssm-message.h"

G_BEGIN_DECLS

#define BASTION_TYPE_SSM_SESSION (bastion_ssm_session_get_type ())

G_DECLARE_FINAL_TYPE (BastionSsmSession, bastion_ssm_session, BASTION, SSM_SESSION, GObject)

BastionSsmSession *bastion_ssm_session_new              (BastionAws         *aws,
                                                         const char         *instance_id,
                                                         const char         *db_host,
                                                         guint16             db_port);
/* StartSession, the data channel and the handshake; done once the agent completed it. */
void               bastion_ssm_session_connect_async    (BastionSsmSession  *self,
                                                         GCancellable       *cancellable,
                                                         GAsyncReadyCallback callback,
                                                         gpointer            user_data);
gboolean           bastion_ssm_session_connect_finish   (BastionSsmSession  *self,
                                                         GAsyncResult       *result,
                                                         GError            **error);
/* Carries CONNECTION (a local client) over a new stream. FALSE when the session is not
 * connected, or is an old agent's single connection that is already in use (ONE_CLIENT). */
gboolean           bastion_ssm_session_add_client       (BastionSsmSession  *self,
                                                         GIOStream          *connection,
                                                         GError            **error);
/* Ends the session: every client is closed and ssm:TerminateSession is sent. "closed" is
 * emitted with a STOPPED error. Idempotent. */
void               bastion_ssm_session_close            (BastionSsmSession  *self);

gboolean           bastion_ssm_session_is_connected     (BastionSsmSession  *self);
gboolean           bastion_ssm_session_is_multiplexed   (BastionSsmSession  *self);
const char        *bastion_ssm_session_get_session_id   (BastionSsmSession  *self);
const char        *bastion_ssm_session_get_agent_version (BastionSsmSession *self);
guint              bastion_ssm_session_get_n_clients    (BastionSsmSession  *self);
guint64            bastion_ssm_session_get_bytes_in     (BastionSsmSession  *self);
guint64            bastion_ssm_session_get_bytes_out    (BastionSsmSession  *self);
guint              bastion_ssm_session_get_resends      (BastionSsmSession  *self);
guint              bastion_ssm_session_get_bad_frames   (BastionSsmSession  *self);
/* ResumeSession calls that brought a dropped data channel back. */
guint              bastion_ssm_session_get_resumes      (BastionSsmSession  *self);
/* The smoothed round trip of an input message to its acknowledgement (µs; 0: not yet). */
gint64             bastion_ssm_session_get_rtt          (BastionSsmSession  *self);
/* TerminateSession calls still on their way (a program about to exit lets them finish). */
guint              bastion_ssm_session_get_pending_terminations (void);

G_END_DECLS
