/* test-secure.c: the one wipe helper every secret goes through.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib.h>

#include "bastion-secure.h"

static gboolean
all_zero (const guint8 *data,
          gsize         length)
{
  for (gsize i = 0; i < length; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

static void
test_wipe (void)
{
  guint8 buffer[64];

  memset (buffer, 0xa5, sizeof buffer);
  bastion_secure_wipe (buffer + 8, 48);
  g_assert_true (all_zero (buffer + 8, 48));
  /* Only the range asked for. */
  g_assert_cmpuint (buffer[7], ==, 0xa5);
  g_assert_cmpuint (buffer[56], ==, 0xa5);

  bastion_secure_wipe (NULL, 10);
  bastion_secure_wipe (buffer, 0);
  g_assert_cmpuint (buffer[0], ==, 0xa5);
}

static void
test_clear_and_replace (void)
{
  char *secret = g_strdup ("hunter2");
  char *other;

  bastion_secure_replace_str (&secret, "correct horse");
  g_assert_cmpstr (secret, ==, "correct horse");

  /* Replacing with itself keeps it. */
  other = secret;
  bastion_secure_replace_str (&secret, secret);
  g_assert_true (secret == other);
  g_assert_cmpstr (secret, ==, "correct horse");

  bastion_secure_clear_str (&secret);
  g_assert_null (secret);
  bastion_secure_clear_str (&secret);
  g_assert_null (secret);

  bastion_secure_replace_str (&secret, NULL);
  g_assert_null (secret);
  bastion_secure_str_free (NULL);
}

static void
test_autoptr (void)
{
  char *seen;

  {
    g_autoptr(BastionSecureStr) secret = g_strdup ("s3cr3t");

    seen = secret;
    g_assert_cmpstr (seen, ==, "s3cr3t");
  }
  /* Freed (and wiped) at the end of the scope: nothing to assert on freed memory, but Valgrind
   * and ASan runs of this test catch a double free or a leak. */
  (void) seen;
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/secure/wipe", test_wipe);
  g_test_add_func ("/bastion/secure/clear-and-replace", test_clear_and_replace);
  g_test_add_func ("/bastion/secure/autoptr", test_autoptr);

  return g_test_run ();
}
