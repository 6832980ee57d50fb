/* fuzz-ssh-config.c: what `ssh -G ALIAS` printed (bastion_ssh_config_parse)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The output of a program on the user's PATH is outside input. An accepted configuration must
 * hold only values Bastion can pass on safely: a host name without spaces, control characters or
 * a leading "-", a port in 1..65535, a user and identity files without control characters.
 */

#include "config.h"

#include <string.h>

#include "bastion-ssh-config.h"
#include "fuzz-common.h"

static void
assert_clean (const char *value)
{
  g_assert_nonnull (value);
  g_assert_true (g_utf8_validate (value, -1, NULL));
  for (const char *p = value; *p != '\0'; p++)
    g_assert_true ((guchar)*p >= 0x20 && *p != 0x7f);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(BastionSshConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  fuzz_common_init ();

  config = bastion_ssh_config_parse ("db", (const char *)data, size, &error);
  if (config == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }

  g_assert_no_error (error);
  assert_clean (config->hostname);
  g_assert_true (config->hostname[0] != '-');
  g_assert_null (strpbrk (config->hostname, " \t;&|$`'\"\\<>(){}"));
  g_assert_cmpuint (config->port, >=, 1);
  assert_clean (config->user);
  for (guint i = 0; config->identity_files[i] != NULL; i++)
    assert_clean (config->identity_files[i]);
  for (guint i = 0; config->user_known_hosts[i] != NULL; i++)
    assert_clean (config->user_known_hosts[i]);
  if (config->proxy_jump != NULL)
    assert_clean (config->proxy_jump);

  return 0;
}
