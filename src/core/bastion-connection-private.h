/* bastion-connection-private.h
 *
 * What the parts of BastionConnection share: the object's fields, an open's state and the
 * steps they call in each other (bastion-connection.c, -tunnel.c, -database.c). The faces use
 * bastion-connection.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-connection.h"
#include "bastion-secure.h"
#include "bastion-ssh-config.h"

G_BEGIN_DECLS

struct _BastionConnection
{
  GObject                 parent_instance;

  /* Owned */
  BastionProfile         *profile;
  BastionSecrets         *secrets;
  BastionSshSession      *session;
  BastionTunnel          *tunnel;
  GError                 *error;
  char                   *passphrase;
  char                   *ssh_password;
  char                   *db_password;
  char                   *readonly_password;  /* the team's read-only login, if made */
  BastionSshConfig       *ssh_config;       /* the profile's ~/.ssh/config alias, resolved */

  BastionConnectionStage  stage;
  BastionConnectionStage  failed_stage;
  int                     local_port;
  guint                   keepalive_interval;
  gulong                  tunnel_stage_handler;
  int                     transport;        /* -1: the profile's; else a BastionTransport */
  char                   *transport_note;   /* "… port 22 is closed to you", or NULL */

  guint                   remember_passphrase : 1;
  guint                   remember_ssh_password : 1;
  guint                   remember_db_password : 1;
  guint                   no_reconnect : 1;
  guint                   readonly_looked_up : 1;
};

typedef struct
{
  BastionConnectionFlags  flags;
  BastionDatabase        *database;
  BastionTransport        transport;        /* this attempt's choice */
  GError                 *ssh_error;        /* auto: why SSH did not answer */
  BastionSecretKind       secret_kind;      /* lookup_ssh_secret(): which one is looked up */
  guint                   refetched : 1;
  /* connect_database(): hand the database to the caller; the connection's stage is the
   * tunnel's business only. */
  guint                   keep_database : 1;
} OpenData;

/* bastion-connection.c */
void     _bastion_connection_set_stage            (BastionConnection      *self,
                                                   BastionConnectionStage  stage);
void     _bastion_connection_notify_tunnel        (BastionConnection      *self);
void     _bastion_connection_fail_task            (BastionConnection      *self,
                                                   GTask                  *task,
                                                   GError                 *error);
void     _bastion_connection_fail_task_new        (BastionConnection      *self,
                                                   GTask                  *task,
                                                   int                     code,
                                                   const char             *message);
void     _bastion_connection_remember_secret      (BastionConnection      *self,
                                                   BastionSecretKind       kind,
                                                   const char             *secret);
gboolean _bastion_connection_field_missing        (const char             *value);

/* bastion-connection-tunnel.c */
void     _bastion_connection_drop_tunnel          (BastionConnection      *self);
gboolean _bastion_connection_tunnel_is_up         (BastionConnection      *self);
void     _bastion_connection_open_ssh_config_step (GTask                  *task);
/* The tunnel through AWS Session Manager (issue 21): no SSH step. */
void     _bastion_connection_open_ssm_step        (GTask                  *task);

/* bastion-connection-database.c */
void     _bastion_connection_open_database_step   (GTask                  *task);

G_END_DECLS
