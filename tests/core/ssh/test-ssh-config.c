/* test-ssh-config.c: ~/.ssh/config aliases resolve as OpenSSH resolves them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The corpus (tests/fixtures/ssh-config/, 24 configs with aliases, wildcards, negation, Include, Match
 * host, ProxyJump, IdentityFile with ~ and tokens) is resolved by Bastion and compared with
 * what OpenSSH says: `ssh -G` for the resolved fields, and `ssh -v` (the identity files it
 * actually loads, after its own ~ and %-token expansion) for IdentityFile, which `ssh -G`
 * prints unexpanded. Then a hostile `ssh` (huge, slow, garbled, failing, missing).
 */

#include "config.h"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bastion-ssh-config.h"
#include "test-util.h"

static char *corpus_dir;

/* The corpus with @DIR@ replaced by where it was copied (Include needs absolute paths: a
 * relative one is looked for in the real ~/.ssh). */
static void
copy_corpus (const char *from,
             const char *to)
{
  g_autoptr(GDir) dir = g_dir_open (from, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  g_assert_no_errno (g_mkdir_with_parents (to, 0700));
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *src = g_build_filename (from, name, NULL);
      g_autofree char *dst = g_build_filename (to, name, NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) parts = NULL;
      g_autofree char *joined = NULL;

      if (g_file_test (src, G_FILE_TEST_IS_DIR))
        {
          copy_corpus (src, dst);
          continue;
        }
      g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
      parts = g_strsplit (text, "@DIR@", -1);
      joined = g_strjoinv (corpus_dir, parts);
      test_write_file (dst, joined, -1);
    }
}

static char *
run (const char * const *argv,
     gboolean            want_stderr)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);

  if (want_stderr)
    return g_steal_pointer (&err);
  return g_steal_pointer (&out);
}

/* ssh -G's value of KEY ("" when it prints none). */
static char *
ssh_g_value (const char *output,
             const char *key)
{
  g_auto(GStrv) lines = g_strsplit (output, "\n", -1);
  g_autofree char *prefix = g_strconcat (key, " ", NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));

  return g_strdup ("");
}

/* The identity files ssh loads for ALIAS, as `ssh -v` reports them. */
static char *
ssh_identity_files (const char *path,
                    const char *alias)
{
  const char *argv[] = { "ssh", "-v", "-F", path, "-o", "ProxyCommand=true",
                         "-o", "BatchMode=yes", "--", alias, NULL };
  g_autofree char *err = run (argv, TRUE);
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);
  g_autoptr(GString) files = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = strstr (lines[i], "debug1: identity file ");
      const char *type;
      g_autofree char *file = NULL;

      if (p == NULL || (type = strstr (p, " type ")) == NULL)
        continue;
      p += strlen ("debug1: identity file ");
      file = g_strndup (p, type - p);
      if (g_str_has_suffix (file, "-cert"))
        continue;
      g_string_append_printf (files, "%s%s", files->len ? " " : "", file);
    }

  return g_string_free (g_steal_pointer (&files), FALSE);
}

static void
check_alias (const char *path,
             const char *alias)
{
  const char *argv[] = { "ssh", "-G", "-F", path, "--", alias, NULL };
  g_autofree char *out = run (argv, FALSE);
  g_autoptr(BastionSshConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;
  g_autofree char *known = NULL;
  g_autofree char *files = NULL;
  g_autofree char *want_files = ssh_identity_files (path, alias);
  g_autofree char *strict = ssh_g_value (out, "stricthostkeychecking");
  g_autofree char *jump = ssh_g_value (out, "proxyjump");
  g_autofree char *hostname = ssh_g_value (out, "hostname");
  g_autofree char *user = ssh_g_value (out, "user");
  g_autofree char *want_port = ssh_g_value (out, "port");
  g_autofree char *only = ssh_g_value (out, "identitiesonly");
  g_autofree char *want_known = ssh_g_value (out, "userknownhostsfile");

  config = bastion_ssh_config_resolve (alias, path, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s %s: %s@%s:%u jump=%s files=%s", path, alias, config->user,
                  config->hostname, config->port, config->proxy_jump, want_files);

  port = g_strdup_printf ("%u", config->port);
  known = g_strjoinv (" ", config->user_known_hosts);
  files = g_strjoinv (" ", config->identity_files);

  g_assert_cmpstr (config->hostname, ==, hostname);
  g_assert_cmpstr (config->user, ==, user);
  g_assert_cmpstr (port, ==, want_port);
  g_assert_cmpint (config->identities_only, ==, g_str_equal (only, "yes"));
  g_assert_cmpstr (config->proxy_jump ? config->proxy_jump : "", ==,
                   g_str_equal (jump, "none") ? "" : jump);
  g_assert_cmpstr (known, ==, want_known);
  g_assert_cmpint (config->strict == BASTION_SSH_STRICT_ACCEPT_NEW, ==,
                   g_str_equal (strict, "accept-new") || g_str_equal (strict, "false"));
  g_assert_cmpstr (files, ==, want_files);
}

static void
test_corpus (void)
{
  g_autoptr(GDir) dir = g_dir_open (corpus_dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint n_aliases = 0;
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".conf"))
      g_ptr_array_add (names, g_strdup (name));
  g_assert_cmpuint (names->len, >=, 20);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (corpus_dir, g_ptr_array_index (names, i), NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) aliases = NULL;

      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_true (g_str_has_prefix (text, "# aliases: "));
      *strchr (text, '\n') = '\0';
      aliases = g_strsplit (text + strlen ("# aliases: "), " ", -1);
      for (guint j = 0; aliases[j] != NULL; j++, n_aliases++)
        check_alias (path, aliases[j]);
    }

  g_test_message ("%u configs, %u aliases", names->len, n_aliases);
}

/* A hostile `ssh` first on PATH. */
static GError *
resolve_with_fake_ssh (const char *script)
{
  g_autofree char *bin = g_build_filename (corpus_dir, "fake-bin", NULL);
  g_autofree char *ssh = g_build_filename (bin, "ssh", NULL);
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *path = g_strdup_printf ("%s:%s", bin, old_path);
  g_autofree char *contents = g_strdup_printf ("#!/bin/sh\n%s\n", script);
  g_autoptr(BastionSshConfig) config = NULL;
  GError *error = NULL;

  g_assert_no_errno (g_mkdir_with_parents (bin, 0700));
  test_write_file (ssh, contents, -1);
  g_assert_no_errno (g_chmod (ssh, 0700));
  g_setenv ("PATH", path, TRUE);
  config = bastion_ssh_config_resolve ("db", NULL, NULL, &error);
  g_setenv ("PATH", old_path, TRUE);
  g_assert_null (config);

  return error;
}

static void
test_hostile (void)
{
  GError *error;
  gint64 start;

  error = resolve_with_fake_ssh ("head -c 400000 /dev/zero | tr '\\0' 'a'");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_clear_error (&error);

  error = resolve_with_fake_ssh ("printf 'hostname db\\nport 22\\nuser x\\nidentityfile a\\0b\\n'");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_clear_error (&error);

  error = resolve_with_fake_ssh ("echo 'hostname -oProxyCommand=evil'; echo 'port 22'; "
                                 "echo 'user x'");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_clear_error (&error);

  error = resolve_with_fake_ssh ("echo 'hostname db'; echo 'port 99999'; echo 'user x'");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_clear_error (&error);

  error = resolve_with_fake_ssh ("echo 'not ssh at all'");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_clear_error (&error);

  error = resolve_with_fake_ssh ("echo '/x/config line 3: Bad configuration option: Hots' >&2; "
                                 "exit 255");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "Bad configuration option"));
  g_clear_error (&error);

  /* Slow: given up after its 5 s bound (the hang detector is generous). */
  start = g_get_monotonic_time ();
  error = resolve_with_fake_ssh ("echo 'hostname db'; exec sleep 60");
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_OUTPUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_TIME_SPAN_SECOND);
  g_clear_error (&error);
}

static void
test_no_ssh_and_bad_alias (void)
{
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autoptr(BastionSshConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  config = bastion_ssh_config_resolve ("-oProxyCommand=touch /tmp/x", NULL, NULL, &error);
  g_assert_null (config);
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_BAD_ALIAS);
  g_clear_error (&error);

  g_setenv ("PATH", "/nonexistent", TRUE);
  config = bastion_ssh_config_resolve ("db", NULL, NULL, &error);
  g_setenv ("PATH", old_path, TRUE);
  g_assert_null (config);
  g_assert_error (error, BASTION_SSH_CONFIG_ERROR, BASTION_SSH_CONFIG_ERROR_NO_SSH);
  g_assert_nonnull (strstr (error->message, "openssh-client"));
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *src = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  src = g_test_build_filename (G_TEST_DIST, "fixtures", "ssh-config", NULL);
  corpus_dir = test_make_tmp_dir ("bastion-ssh-config-XXXXXX");
  copy_corpus (src, corpus_dir);

  g_test_add_func ("/bastion/ssh-config/corpus", test_corpus);
  g_test_add_func ("/bastion/ssh-config/hostile", test_hostile);
  g_test_add_func ("/bastion/ssh-config/no-ssh-bad-alias", test_no_ssh_and_bad_alias);

  ret = g_test_run ();
  test_rm_rf (corpus_dir);
  g_free (corpus_dir);
  return ret;
}
