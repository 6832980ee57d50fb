/* bastion-ssh-config.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BASTION_SSH_CONFIG_ERROR (bastion_ssh_config_error_quark ())

typedef enum
{
  BASTION_SSH_CONFIG_ERROR_NO_SSH = 1,   /* no OpenSSH client to ask */
  BASTION_SSH_CONFIG_ERROR_BAD_ALIAS,    /* not a host name ssh would take */
  BASTION_SSH_CONFIG_ERROR_FAILED,       /* ssh -G failed (a broken config) */
  BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT,   /* too big, too slow, or not what ssh -G prints */
} BastionSshConfigError;

typedef enum
{
  BASTION_SSH_STRICT_ASK,                /* "ask" or "yes": Bastion's own rules */
  BASTION_SSH_STRICT_ACCEPT_NEW,         /* "accept-new", and "no" (never a changed key) */
} BastionSshStrict;

/* What OpenSSH makes of `ssh ALIAS` for the fields Bastion uses. */
typedef struct
{
  char              *alias;
  char              *hostname;
  char              *user;
  guint16            port;
  GStrv              identity_files;     /* expanded (~, %h, %r, %p, %u, %d, %n, %%) */
  char              *identity_file;      /* the first of them that exists (resolve only) */
  gboolean           identities_only;
  char              *proxy_jump;         /* NULL when none */
  GStrv              user_known_hosts;
  BastionSshStrict   strict;
} BastionSshConfig;

GQuark             bastion_ssh_config_error_quark (void);
void               bastion_ssh_config_free        (BastionSshConfig    *config);
gboolean           bastion_ssh_config_alias_is_valid (const char       *alias);
/* NULL when ssh reads the same ~/.ssh/config as Bastion (and /etc/ssh/ssh_config); else
 * $HOME/.ssh/config, for its -F (Bastion's $HOME differs from the password database's home). */
char              *bastion_ssh_config_dup_user_file  (void);

/* Parses what `ssh -G ALIAS` printed (hostile: bounded, every value checked). */
BastionSshConfig  *bastion_ssh_config_parse       (const char          *alias,
                                                   const char          *output,
                                                   gsize                length,
                                                   GError             **error);

/* Runs `ssh -G` (CONFIG_FILE: its -F, or NULL for OpenSSH's own choice) with a 5 s bound.
 * Blocks: call it in a thread, or use the async pair. */
BastionSshConfig  *bastion_ssh_config_resolve     (const char          *alias,
                                                   const char          *config_file,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
void               bastion_ssh_config_resolve_async  (const char          *alias,
                                                      const char          *config_file,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
BastionSshConfig  *bastion_ssh_config_resolve_finish (GAsyncResult        *result,
                                                      GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BastionSshConfig, bastion_ssh_config_free)

G_END_DECLS
