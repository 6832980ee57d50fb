/* bastion-profile.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bastion-auth-method.h"
#include "bastion-core-enums.h"

G_BEGIN_DECLS

typedef enum
{
  BASTION_PROFILE_SOURCE_MANUAL,
  BASTION_PROFILE_SOURCE_SIMPLEIOT,
} BastionProfileSource;

/* What carries the team's tunnel (issue 21): SSH to the bastion, AWS Session Manager, or SSH
 * first and Session Manager when port 22 does not answer. The nicks ("ssh", "ssm", "auto") are
 * the values in profiles.json and bastion-cli. */
typedef enum
{
  BASTION_TRANSPORT_SSH,
  BASTION_TRANSPORT_SSM,
  BASTION_TRANSPORT_AUTO,
} BastionTransport;

#define BASTION_PROFILE_ERROR (bastion_profile_error_quark ())

typedef enum
{
  BASTION_PROFILE_ERROR_INVALID = 1,
} BastionProfileError;

#define BASTION_TYPE_PROFILE        (bastion_profile_get_type ())

G_DECLARE_FINAL_TYPE (BastionProfile, bastion_profile, BASTION, PROFILE, GObject)

GQuark               bastion_profile_error_quark          (void);

/* "manual" / "simpleiot"; "key" / "agent" / "password" (the values in profiles.json). */
const char          *bastion_profile_source_to_string     (BastionProfileSource  source);
gboolean             bastion_profile_source_from_string   (const char           *str,
                                                           BastionProfileSource *source);
const char          *bastion_auth_method_to_string        (BastionAuthMethod     method);
gboolean             bastion_auth_method_from_string      (const char           *str,
                                                           BastionAuthMethod    *method);
/* "ssh" / "ssm" / "auto". */
const char          *bastion_transport_to_string          (BastionTransport      transport);
gboolean             bastion_transport_from_string        (const char           *str,
                                                           BastionTransport     *transport);

/* A manual profile; id NULL makes a new random UUID. Defaults: ssh-port 22, ssh-user NULL,
 * auth-method key, db-port 5432, local-port 0 (0 = pick a free port), ssl-mode "prefer",
 * read-only TRUE, has-db-access TRUE. */
BastionProfile      *bastion_profile_new                  (const char           *id);
/* A SimpleIOT profile with id "simpleiot-<team>". */
BastionProfile      *bastion_profile_new_simpleiot        (const char           *team);
/* A copy as a MANUAL profile with a new random id, display name "<name> (copy)", and no
 * user-modified marks. */
BastionProfile      *bastion_profile_dup                  (BastionProfile       *self);

/* Serialisation as kept in profiles.json: every property under its kebab-case name (NULL strings
 * left out), "user-modified": [names], and every member this version does not know kept as it
 * was. Reading never marks a field as user-modified beyond the stored list. */
JsonObject          *bastion_profile_to_json              (BastionProfile       *self);
BastionProfile      *bastion_profile_new_from_json        (JsonObject           *object,
                                                           GError              **error);

/* User-edit tracking. Any setter (or g_object_set) that changes a value marks that property as
 * changed by the user, except while bastion_profile_update_from_team() runs. */
gboolean             bastion_profile_is_user_modified     (BastionProfile       *self,
                                                           const char           *property);
/* Forget the user's change, so the next import refreshes the field from the team config. */
void                 bastion_profile_clear_user_modified  (BastionProfile       *self,
                                                           const char           *property);
/* NULL-terminated, sorted list of property names; free with g_strfreev(). */
char               **bastion_profile_dup_user_modified    (BastionProfile       *self);
/* Refreshes every field that comes from the team config (all but id, display-name if the user
 * renamed it, and other user-modified fields) from team, a freshly parsed profile. Returns TRUE if
 * anything changed. */
gboolean             bastion_profile_update_from_team     (BastionProfile       *self,
                                                           BastionProfile       *team);

const char          *bastion_profile_get_id               (BastionProfile       *self);
const char          *bastion_profile_get_display_name     (BastionProfile       *self);
void                 bastion_profile_set_display_name     (BastionProfile       *self,
                                                           const char           *display_name);
BastionProfileSource bastion_profile_get_source           (BastionProfile       *self);
void                 bastion_profile_set_source           (BastionProfile       *self,
                                                           BastionProfileSource  source);
const char          *bastion_profile_get_team_dir         (BastionProfile       *self);
void                 bastion_profile_set_team_dir         (BastionProfile       *self,
                                                           const char           *team_dir);
const char          *bastion_profile_get_ssh_host         (BastionProfile       *self);
void                 bastion_profile_set_ssh_host         (BastionProfile       *self,
                                                           const char           *ssh_host);
guint                bastion_profile_get_ssh_port         (BastionProfile       *self);
void                 bastion_profile_set_ssh_port         (BastionProfile       *self,
                                                           guint                 ssh_port);
const char          *bastion_profile_get_ssh_user         (BastionProfile       *self);
void                 bastion_profile_set_ssh_user         (BastionProfile       *self,
                                                           const char           *ssh_user);
BastionAuthMethod    bastion_profile_get_auth_method      (BastionProfile       *self);
void                 bastion_profile_set_auth_method      (BastionProfile       *self,
                                                           BastionAuthMethod     auth_method);
BastionTransport     bastion_profile_get_transport        (BastionProfile       *self);
void                 bastion_profile_set_transport        (BastionProfile       *self,
                                                           BastionTransport      transport);
const char          *bastion_profile_get_key_file         (BastionProfile       *self);
void                 bastion_profile_set_key_file         (BastionProfile       *self,
                                                           const char           *key_file);
const char          *bastion_profile_get_host_key_pin     (BastionProfile       *self);
void                 bastion_profile_set_host_key_pin     (BastionProfile       *self,
                                                           const char           *host_key_pin);
const char          *bastion_profile_get_ssh_alias        (BastionProfile       *self);
void                 bastion_profile_set_ssh_alias        (BastionProfile       *self,
                                                           const char           *ssh_alias);
const char          *bastion_profile_get_proxy_jump       (BastionProfile       *self);
void                 bastion_profile_set_proxy_jump       (BastionProfile       *self,
                                                           const char           *proxy_jump);
const char          *bastion_profile_get_db_host          (BastionProfile       *self);
void                 bastion_profile_set_db_host          (BastionProfile       *self,
                                                           const char           *db_host);
guint                bastion_profile_get_db_port          (BastionProfile       *self);
void                 bastion_profile_set_db_port          (BastionProfile       *self,
                                                           guint                 db_port);
const char          *bastion_profile_get_db_name          (BastionProfile       *self);
void                 bastion_profile_set_db_name          (BastionProfile       *self,
                                                           const char           *db_name);
const char          *bastion_profile_get_db_user          (BastionProfile       *self);
void                 bastion_profile_set_db_user          (BastionProfile       *self,
                                                           const char           *db_user);
guint                bastion_profile_get_local_port       (BastionProfile       *self);
void                 bastion_profile_set_local_port       (BastionProfile       *self,
                                                           guint                 local_port);
const char          *bastion_profile_get_ssl_mode         (BastionProfile       *self);
void                 bastion_profile_set_ssl_mode         (BastionProfile       *self,
                                                           const char           *ssl_mode);
const char          *bastion_profile_get_ssl_root_cert    (BastionProfile       *self);
void                 bastion_profile_set_ssl_root_cert    (BastionProfile       *self,
                                                           const char           *ssl_root_cert);
const char          *bastion_profile_get_aws_profile      (BastionProfile       *self);
void                 bastion_profile_set_aws_profile      (BastionProfile       *self,
                                                           const char           *aws_profile);
const char          *bastion_profile_get_aws_region       (BastionProfile       *self);
void                 bastion_profile_set_aws_region       (BastionProfile       *self,
                                                           const char           *aws_region);
const char          *bastion_profile_get_aws_account      (BastionProfile       *self);
void                 bastion_profile_set_aws_account      (BastionProfile       *self,
                                                           const char           *aws_account);
const char          *bastion_profile_get_aws_secret_id    (BastionProfile       *self);
void                 bastion_profile_set_aws_secret_id    (BastionProfile       *self,
                                                           const char           *aws_secret_id);
const char          *bastion_profile_get_name_prefix      (BastionProfile       *self);
void                 bastion_profile_set_name_prefix      (BastionProfile       *self,
                                                           const char           *name_prefix);
const char          *bastion_profile_get_stage            (BastionProfile       *self);
void                 bastion_profile_set_stage            (BastionProfile       *self,
                                                           const char           *stage);
const char          *bastion_profile_get_allowed_ip       (BastionProfile       *self);
void                 bastion_profile_set_allowed_ip       (BastionProfile       *self,
                                                           const char           *allowed_ip);
gboolean             bastion_profile_get_read_only        (BastionProfile       *self);
void                 bastion_profile_set_read_only        (BastionProfile       *self,
                                                           gboolean              read_only);
const char          *bastion_profile_get_env_label        (BastionProfile       *self);
void                 bastion_profile_set_env_label        (BastionProfile       *self,
                                                           const char           *env_label);
const char          *bastion_profile_get_env_color        (BastionProfile       *self);
void                 bastion_profile_set_env_color        (BastionProfile       *self,
                                                           const char           *env_color);
gboolean             bastion_profile_get_has_db_access    (BastionProfile       *self);
void                 bastion_profile_set_has_db_access    (BastionProfile       *self,
                                                           gboolean              has_db_access);
const char          *bastion_profile_get_no_access_reason (BastionProfile       *self);
void                 bastion_profile_set_no_access_reason (BastionProfile       *self,
                                                           const char           *no_access_reason);

G_END_DECLS
