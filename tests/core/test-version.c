/* test-version.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "bastion-version.h"

static void
test_libssh2_new_enough (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parts = g_strsplit (bastion_version_get_libssh2 (), ".", 3);

  g_assert_true (bastion_version_check_libssh2 (&error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (parts), >=, 2);
  g_assert_cmpint (atoi (parts[0]) * 100 + atoi (parts[1]), >=, 111);
}

static void
test_summary_names_libraries (void)
{
  g_autofree char *summary = bastion_version_dup_summary ();

  /* The build's identity first: `git describe` of the tree, or the release's version. */
  g_assert_true (g_str_has_prefix (summary, "build "));
  g_assert_cmpuint (strcspn (summary + strlen ("build "), "\n"), >, 0);
  g_assert_nonnull (strstr (summary, "\nlibssh2 1."));
  g_assert_nonnull (strstr (summary, "\nlibpq 1"));
  g_assert_nonnull (strstr (summary, "\nlibcurl "));
  g_assert_nonnull (strstr (summary, "\nGLib 2."));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/version/libssh2-new-enough", test_libssh2_new_enough);
  g_test_add_func ("/bastion/version/summary", test_summary_names_libraries);

  return g_test_run ();
}
