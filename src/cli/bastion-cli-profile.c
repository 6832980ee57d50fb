/* bastion-cli-profile.c: `bastion-cli profile show|set TEAM …`, what the team page's editor
 * changes, from the command line.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-cli-private.h"
#include "bastion-key-file.h"
#include "bastion-profile-store.h"
#include "bastion-ssh-config.h"

static int
usage (void)
{
  return bastion_cli_fail ("profile",
                           _("use “bastion-cli profile show TEAM” or “bastion-cli profile set "
                             "TEAM auth agent|key|password [--key-file FILE]” (or ssh-alias "
                             "ALIAS, proxy-jump HOPS; \"\" clears them; transport "
                             "ssh|ssm|auto); see “bastion-cli profile --help”"));
}

static const char *
or_empty (const char *s)
{
  return s != NULL ? s : "";
}

/* What ~/.ssh/config makes of the alias, as the connection will use it. */
static void
print_resolved (const char *alias)
{
  g_autofree char *config_file = bastion_ssh_config_dup_user_file ();
  g_autoptr(BastionSshConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *known = NULL;

  config = bastion_ssh_config_resolve (alias, config_file, NULL, &error);
  if (config == NULL)
    {
      g_print ("ssh-config: %s\n", error->message);
      return;
    }
  known = g_strjoinv (" ", config->user_known_hosts);
  g_print ("ssh-config: %s@%s:%u\n", config->user, config->hostname, config->port);
  g_print ("ssh-config-identity-file: %s\n", or_empty (config->identity_file));
  g_print ("ssh-config-identities-only: %s\n", config->identities_only ? "yes" : "no");
  g_print ("ssh-config-proxy-jump: %s\n", or_empty (config->proxy_jump));
  g_print ("ssh-config-known-hosts: %s\n", known);
  g_print ("ssh-config-strict-host-key-checking: %s\n",
           config->strict == BASTION_SSH_STRICT_ACCEPT_NEW ? "accept-new" : "ask");
}

static void
print_profile (BastionProfile *profile)
{
  const char *alias = bastion_profile_get_ssh_alias (profile);

  g_print ("id: %s\n", bastion_profile_get_id (profile));
  g_print ("auth: %s\n", bastion_auth_method_to_string (bastion_profile_get_auth_method (profile)));
  g_print ("key-file: %s\n", or_empty (bastion_profile_get_key_file (profile)));
  g_print ("ssh-alias: %s\n", or_empty (alias));
  g_print ("proxy-jump: %s\n", or_empty (bastion_profile_get_proxy_jump (profile)));
  g_print ("transport: %s\n",
           bastion_transport_to_string (bastion_profile_get_transport (profile)));
  if (alias != NULL && alias[0] != '\0')
    print_resolved (alias);
}

static int
set_text (BastionProfile *profile,
          const char     *field,
          const char     *value)
{
  if (g_str_equal (field, "ssh-alias"))
    {
      if (value[0] != '\0' && !bastion_ssh_config_alias_is_valid (value))
        return bastion_cli_fail ("profile", _("“%s” is not an SSH host alias (letters, digits, "
                                              "“.”, “_”, “-” and “:” only)"), value);
      bastion_profile_set_ssh_alias (profile, value[0] != '\0' ? value : NULL);
      return 0;
    }

  for (const char *p = value; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p) || g_ascii_isspace (*p))
      return bastion_cli_fail ("profile", _("ProxyJump hops are “[user@]host[:port]” separated "
                                            "by commas, without spaces"));
  bastion_profile_set_proxy_jump (profile, value[0] != '\0' ? value : NULL);
  return 0;
}

/* An absolute path: the profile is used from other working directories. */
static char *
absolute_key_file (const char *path)
{
  g_autofree char *cwd = NULL;

  if (g_path_is_absolute (path))
    return g_strdup (path);
  cwd = g_get_current_dir ();
  return g_build_filename (cwd, path, NULL);
}

static int
set_auth (BastionProfile *profile,
          const char     *value,
          const char     *key_file)
{
  BastionAuthMethod method;

  if (!bastion_auth_method_from_string (value, &method))
    return bastion_cli_fail ("profile", _("unknown authentication “%s”: use agent, key or "
                                          "password"), value);

  if (key_file != NULL)
    {
      g_autofree char *path = absolute_key_file (key_file);
      g_autofree char *message = NULL;
      BastionKeyFileInfo info = { 0 };
      BastionKeyFileStatus status = bastion_key_file_check (path, &info, &message);

      if (status == BASTION_KEY_FILE_MISSING || status == BASTION_KEY_FILE_NOT_A_KEY ||
          status == BASTION_KEY_FILE_UNREADABLE)
        return bastion_cli_fail ("profile", "%s", message);
      if (status == BASTION_KEY_FILE_TOO_OPEN)
        g_printerr ("bastion-cli: profile: %s %s\n", _("warning:"), message);
      bastion_profile_set_key_file (profile, path);
    }

  if (method == BASTION_AUTH_METHOD_KEY &&
      (bastion_profile_get_key_file (profile) == NULL ||
       bastion_profile_get_key_file (profile)[0] == '\0'))
    return bastion_cli_fail ("profile", _("“key” needs a key file: add --key-file FILE"));

  bastion_profile_set_auth_method (profile, method);
  return 0;
}

static int
set_transport (BastionProfile *profile,
               const char     *value)
{
  BastionTransport transport;

  if (!bastion_transport_from_string (value, &transport))
    return bastion_cli_fail ("profile", _("unknown transport “%s”: use ssh, ssm (AWS Session "
                                          "Manager) or auto"), value);
  bastion_profile_set_transport (profile, transport);
  return 0;
}

int
bastion_cli_profile (int    argc,
                     char **argv)
{
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_file = NULL;
  GOptionEntry entries[] = {
    { "key-file", 0, 0, G_OPTION_ARG_FILENAME, &key_file,
      N_("With “auth”: the private key file (PEM or OpenSSH)"), N_("FILE") },
    { NULL }
  };
  BastionProfile *profile;
  int status = 0;

  if (!bastion_cli_parse_options (&argc, &argv, _("show TEAM | set TEAM auth agent|key|password | set TEAM ssh-alias|proxy-jump VALUE | "
                                    "set TEAM transport ssh|ssm|auto"),
                                  _("Show or change how a team logs in to its bastion. The "
                                    "SSH agent is tried first whenever SSH_AUTH_SOCK is set; "
                                    "“auth” says what the team needs besides it: the agent "
                                    "alone, a key file, or a password (kept in the keyring with "
                                    "“bastion-cli secret set TEAM ssh-password”). "
                                    "“transport” says what carries the tunnel: SSH, AWS "
                                    "Session Manager (ssm), or auto (SSH, then Session Manager "
                                    "when port 22 does not answer)."),
                                  entries, &status))
    return status;

  if (argc < 3 || !(g_str_equal (argv[1], "show") || g_str_equal (argv[1], "set")))
    return usage ();
  if (g_str_equal (argv[1], "show") && argc != 3)
    return usage ();
  if (g_str_equal (argv[1], "set") &&
      (argc != 5 || !(g_str_equal (argv[3], "auth") || g_str_equal (argv[3], "ssh-alias") ||
                      g_str_equal (argv[3], "proxy-jump") ||
                      g_str_equal (argv[3], "transport"))))
    return usage ();

  store = bastion_cli_load_store ("profile");
  if (store == NULL)
    return 1;
  profile = bastion_cli_find_profile (store, "profile", argv[2]);
  if (profile == NULL)
    return 1;

  if (g_str_equal (argv[1], "show"))
    {
      print_profile (profile);
      return 0;
    }

  if (g_str_equal (argv[3], "auth"))
    status = set_auth (profile, argv[4], key_file);
  else if (g_str_equal (argv[3], "transport"))
    status = set_transport (profile, argv[4]);
  else
    status = set_text (profile, argv[3], argv[4]);
  if (status != 0)
    return status;

  if (!bastion_profile_store_save (store, &error))
    return bastion_cli_fail_error ("profile", error);

  print_profile (profile);
  return 0;
}
