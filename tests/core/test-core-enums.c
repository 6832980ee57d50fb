/* test-core-enums.c
 *
 * The core's enums as glib-mkenums registers them (bastion-core-enums.h): their type names and
 * nicks are what profiles.json, bastion-cli and the debug log use, so they must not drift; and
 * the SSH session, the profile and the connection share one auth method.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib-object.h>

#include "bastion-connection.h"

typedef struct
{
  GType        (*get_type) (void);
  const char    *name;
  const char    *nicks;  /* every value's nick, in order */
} EnumCase;

static void
test_nicks (void)
{
  const EnumCase cases[] = {
    { bastion_auth_method_get_type, "BastionAuthMethod", "key agent password" },
    { bastion_ssh_stage_get_type, "BastionSshStage",
      "closed resolving connecting verifying-host-key authenticating ready reconnecting failed" },
    { bastion_connection_stage_get_type, "BastionConnectionStage",
      "idle profile credentials resolving connecting verifying-host-key authenticating "
      "opening-tunnel database-login ready reconnecting failed" },
    { bastion_secret_kind_get_type, "BastionSecretKind",
      "db-password key-passphrase ssh-password readonly-password" },
    { bastion_profile_source_get_type, "BastionProfileSource", "manual simpleiot" },
    { bastion_transport_get_type, "BastionTransport", "ssh ssm auto" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GType type = cases[i].get_type ();
      g_autoptr(GEnumClass) klass = g_type_class_ref (type);
      g_auto(GStrv) nicks = g_strsplit (cases[i].nicks, " ", -1);

      g_assert_true (G_TYPE_IS_ENUM (type));
      g_assert_cmpstr (g_type_name (type), ==, cases[i].name);
      g_assert_cmpuint (klass->n_values, ==, g_strv_length (nicks));
      for (guint v = 0; v < klass->n_values; v++)
        {
          g_assert_cmpint (klass->values[v].value, ==, v);
          g_assert_cmpstr (klass->values[v].value_nick, ==, nicks[v]);
        }
    }
}

static void
test_one_auth_method (void)
{
  g_autoptr(BastionSshSession) session = bastion_ssh_session_new ("bastion.example", 22, "u");
  g_autoptr(BastionProfile) profile = bastion_profile_new (NULL);
  GParamSpec *session_spec = g_object_class_find_property (G_OBJECT_GET_CLASS (session),
                                                           "auth-method");
  GParamSpec *profile_spec = g_object_class_find_property (G_OBJECT_GET_CLASS (profile),
                                                           "auth-method");
  BastionAuthMethod method;

  /* The profile's value goes to the session as it is: no second enum to map it to. */
  g_assert_cmpuint (session_spec->value_type, ==, BASTION_TYPE_AUTH_METHOD);
  g_assert_cmpuint (profile_spec->value_type, ==, BASTION_TYPE_AUTH_METHOD);
  g_assert_true (bastion_auth_method_from_string ("agent", &method));
  g_assert_cmpint (method, ==, BASTION_AUTH_METHOD_AGENT);
  g_assert_cmpstr (bastion_auth_method_to_string (BASTION_AUTH_METHOD_PASSWORD), ==, "password");
  g_assert_cmpstr (bastion_ssh_stage_to_string (BASTION_SSH_STAGE_VERIFYING_HOST_KEY), ==,
                   "verifying-host-key");
  g_assert_cmpstr (bastion_connection_stage_to_string (BASTION_CONNECTION_STAGE_DATABASE_LOGIN),
                   ==, "database-login");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/enums/nicks", test_nicks);
  g_test_add_func ("/bastion/enums/one-auth-method", test_one_auth_method);

  return g_test_run ();
}
