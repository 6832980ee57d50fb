/* test-key-file.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keys are made with ssh-keygen at run time: no private key is ever committed.
 */

#include "config.h"

#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bastion-key-file-private.h"

#include "test-util.h"

#define PASSPHRASE "correct horse battery"

static char *tmp_dir;

/* ssh-keygen -t TYPE [-m FORMAT] -N PASSPHRASE; returns the private key's path, mode 0600. */
static char *
keygen (const char *name,
        const char *type,
        const char *format,
        const char *passphrase)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (args, (gpointer) "ssh-keygen");
  g_ptr_array_add (args, (gpointer) "-q");
  g_ptr_array_add (args, (gpointer) "-t");
  g_ptr_array_add (args, (gpointer) type);
  if (g_str_equal (type, "rsa"))
    {
      g_ptr_array_add (args, (gpointer) "-b");
      g_ptr_array_add (args, (gpointer) "2048");
    }
  if (format != NULL)
    {
      g_ptr_array_add (args, (gpointer) "-m");
      g_ptr_array_add (args, (gpointer) format);
    }
  g_ptr_array_add (args, (gpointer) "-N");
  g_ptr_array_add (args, (gpointer) passphrase);
  g_ptr_array_add (args, (gpointer) "-C");
  g_ptr_array_add (args, (gpointer) "bastion-test");
  g_ptr_array_add (args, (gpointer) "-f");
  g_ptr_array_add (args, path);
  g_ptr_array_add (args, NULL);

  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("ssh-keygen failed: %s", err);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);

  return g_steal_pointer (&path);
}

typedef struct
{
  const char           *name;
  const char           *type;
  const char           *format;      /* ssh-keygen -m, NULL = OpenSSH */
  const char           *passphrase;
  BastionKeyFileStatus  status;
  BastionKeyFormat      key_format;
} KeyCase;

static const KeyCase key_cases[] = {
  { "rsa-pem", "rsa", "PEM", "", BASTION_KEY_FILE_OK, BASTION_KEY_FORMAT_PEM },
  { "rsa-pem-encrypted", "rsa", "PEM", PASSPHRASE, BASTION_KEY_FILE_ENCRYPTED,
    BASTION_KEY_FORMAT_PEM },
  { "rsa-pkcs8", "rsa", "PKCS8", "", BASTION_KEY_FILE_OK, BASTION_KEY_FORMAT_PKCS8 },
  { "rsa-pkcs8-encrypted", "rsa", "PKCS8", PASSPHRASE, BASTION_KEY_FILE_ENCRYPTED,
    BASTION_KEY_FORMAT_PKCS8 },
  { "rsa-openssh", "rsa", NULL, "", BASTION_KEY_FILE_OK, BASTION_KEY_FORMAT_OPENSSH },
  { "ecdsa-pem", "ecdsa", "PEM", "", BASTION_KEY_FILE_OK, BASTION_KEY_FORMAT_PEM },
  { "ecdsa-openssh-encrypted", "ecdsa", NULL, PASSPHRASE, BASTION_KEY_FILE_ENCRYPTED,
    BASTION_KEY_FORMAT_OPENSSH },
  { "ed25519-openssh", "ed25519", NULL, "", BASTION_KEY_FILE_OK, BASTION_KEY_FORMAT_OPENSSH },
  { "ed25519-openssh-encrypted", "ed25519", NULL, PASSPHRASE, BASTION_KEY_FILE_ENCRYPTED,
    BASTION_KEY_FORMAT_OPENSSH },
};

static void
test_key_case (gconstpointer data)
{
  const KeyCase *c = data;
  g_autofree char *path = keygen (c->name, c->type, c->format, c->passphrase);
  g_autofree char *pub = g_strconcat (path, ".pub", NULL);
  g_autofree char *message = NULL;
  BastionKeyFileInfo info;

  g_assert_cmpint (bastion_key_file_check (path, &info, &message), ==, c->status);
  g_assert_cmpint (info.status, ==, c->status);
  g_assert_cmpint (info.format, ==, c->key_format);
  g_assert_cmpint (info.encrypted, ==, c->status == BASTION_KEY_FILE_ENCRYPTED);
  if (c->status == BASTION_KEY_FILE_OK)
    g_assert_null (message);
  else
    {
      g_assert_nonnull (strstr (message, path));
      g_assert_nonnull (strstr (message, "passphrase"));
    }
  g_clear_pointer (&message, g_free);

  /* Its public half is not a private key, and the message says so. */
  g_assert_cmpint (g_chmod (pub, 0600), ==, 0);
  g_assert_cmpint (bastion_key_file_check (pub, &info, &message), ==,
                   BASTION_KEY_FILE_NOT_A_KEY);
  g_assert_nonnull (strstr (message, "public key"));

  g_unlink (path);
  g_unlink (pub);
}

static void
test_missing (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "no-such-key.pem", NULL);
  g_autofree char *message = NULL;

  g_assert_cmpint (bastion_key_file_check (path, NULL, &message), ==, BASTION_KEY_FILE_MISSING);
  g_assert_nonnull (strstr (message, path));

  /* A folder is not a key file either. */
  g_clear_pointer (&message, g_free);
  g_assert_cmpint (bastion_key_file_check (tmp_dir, NULL, &message), ==,
                   BASTION_KEY_FILE_MISSING);
  g_assert_nonnull (message);
}

static void
test_not_a_key (void)
{
  static const struct {
    const char *name;
    const char *contents;
  } cases[] = {
    { "empty", "" },
    { "text", "hello, this is not a key\n" },
    { "json", "{ \"team\": \"acme\" }\n" },
    { "certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
    { "no-end", "-----BEGIN RSA PRIVATE" " KEY-----\nMIIEpAIBAAKCAQEA\n" },
    { "openssh-garbage", "-----BEGIN OPENSSH PRIVATE" " KEY-----\nAAAA\n"
                         "-----END OPENSSH PRIVATE KEY-----\n" },
    { "putty", "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (tmp_dir, cases[i].name, NULL);
      g_autofree char *message = NULL;
      g_autoptr(GError) error = NULL;

      g_file_set_contents (path, cases[i].contents, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (path, 0600), ==, 0);
      g_assert_cmpint (bastion_key_file_check (path, NULL, &message), ==,
                       BASTION_KEY_FILE_NOT_A_KEY);
      g_assert_nonnull (strstr (message, path));
      if (g_str_equal (cases[i].name, "putty"))
        g_assert_nonnull (strstr (message, "puttygen"));
      g_unlink (path);
    }
}

static void
test_too_open_fixable (void)
{
  g_autofree char *path = keygen ("open-pem", "rsa", "PEM", "");
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  BastionKeyFileInfo info;
  GStatBuf st;

  /* As SimpleIOT leaves its .pem. */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_cmpint (bastion_key_file_check (path, &info, &message), ==, BASTION_KEY_FILE_TOO_OPEN);
  g_assert_true (info.can_fix);
  g_assert_false (info.encrypted);
  g_assert_nonnull (strstr (message, "644"));
  g_assert_nonnull (strstr (message, "chmod 600"));

  g_assert_true (bastion_key_file_fix_permissions (path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (bastion_key_file_check (path, &info, NULL), ==, BASTION_KEY_FILE_OK);

  /* Group-readable only is too open as well; an encrypted key says so alongside. */
  g_unlink (path);
  g_free (path);
  path = keygen ("open-enc", "ed25519", NULL, PASSPHRASE);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_cmpint (bastion_key_file_check (path, &info, NULL), ==, BASTION_KEY_FILE_TOO_OPEN);
  g_assert_true (info.encrypted);
  g_assert_true (bastion_key_file_fix_permissions (path, NULL));
  g_assert_cmpint (bastion_key_file_check (path, &info, NULL), ==, BASTION_KEY_FILE_ENCRYPTED);
}

/* A key that belongs to someone else: we may not fix it, and we say so. */
static void
test_too_open_not_ours (void)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("BASTION_TEST_KEY");
      g_autofree char *message = NULL;
      g_autoptr(GError) error = NULL;
      BastionKeyFileInfo info;

      test_become_unprivileged ();
      g_assert_cmpint (bastion_key_file_check (path, &info, &message), ==,
                       BASTION_KEY_FILE_TOO_OPEN);
      g_assert_false (info.can_fix);
      g_assert_nonnull (strstr (message, "not yours"));
      g_assert_false (bastion_key_file_fix_permissions (path, &error));
      g_assert_error (error, BASTION_KEY_FILE_ERROR, BASTION_KEY_FILE_ERROR_NOT_OWNER);
      return;
    }
  else
    {
      g_autofree char *path = keygen ("others-key", "rsa", "PEM", "");

      if (geteuid () != 0)
        {
          g_test_skip ("needs root to make a file owned by someone else");
          return;
        }
      /* Owned by root, readable by all: the unprivileged child is not the owner. */
      g_assert_cmpint (g_chmod (path, 0644), ==, 0);
      g_setenv ("BASTION_TEST_KEY", path, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
    }
}

/* Root-owned after a Docker install: unreadable to the user. */
static void
test_unreadable (void)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("BASTION_TEST_KEY");
      g_autofree char *message = NULL;

      test_become_unprivileged ();
      g_assert_cmpint (bastion_key_file_check (path, NULL, &message), ==,
                       BASTION_KEY_FILE_UNREADABLE);
      g_assert_nonnull (strstr (message, path));
      g_assert_nonnull (strstr (message, "chown"));
      if (g_getenv ("BASTION_TEST_KEY_ROOT"))
        g_assert_nonnull (strstr (message, "root"));
      return;
    }
  else
    {
      g_autofree char *path = keygen ("root-key", "rsa", "PEM", "");

      if (geteuid () == 0)
        g_setenv ("BASTION_TEST_KEY_ROOT", "1", TRUE);
      else
        g_assert_cmpint (g_chmod (path, 0000), ==, 0);
      g_setenv ("BASTION_TEST_KEY", path, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
    }
}

static void
on_checked (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_check_async (void)
{
  g_autofree char *path = keygen ("async-key", "ed25519", NULL, PASSPHRASE);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  BastionKeyFileInfo info;

  bastion_key_file_check_async (path, NULL, on_checked, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (bastion_key_file_check_finish (result, &info, &message, &error), ==,
                   BASTION_KEY_FILE_ENCRYPTED);
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, BASTION_KEY_FORMAT_OPENSSH);
  g_assert_nonnull (strstr (message, path));
}

static void
note_reader_thread (const char *path,
                    gpointer    user_data)
{
  g_atomic_pointer_set ((GThread **) user_data, g_thread_self ());
}

/* The load reads in a GTask thread and hands over exactly the file's bytes (what libssh2 gets);
 * a file that is no key gives no contents. */
static void
test_load_async (void)
{
  g_autofree char *path = keygen ("load-key", "ed25519", NULL, "");
  g_autofree char *expected = NULL;
  g_autofree char *not_key = g_build_filename (tmp_dir, "load-not-a-key", NULL);
  gsize expected_len = 0;
  GThread *reader = NULL;

  g_assert_true (g_file_get_contents (path, &expected, &expected_len, NULL));
  g_assert_true (g_file_set_contents (not_key, "hello\n", -1, NULL));
  g_assert_cmpint (g_chmod (not_key, 0600), ==, 0);
  _bastion_key_file_set_read_hook (note_reader_thread, &reader);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *message = NULL;
      g_autofree char *contents = NULL;
      gsize length = 0;
      BastionKeyFileInfo info;

      reader = NULL;
      bastion_key_file_load_async (i == 0 ? path : not_key, NULL, on_checked, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_nonnull (g_atomic_pointer_get (&reader));
      g_assert_true (g_atomic_pointer_get (&reader) != g_thread_self ());

      if (i == 0)
        {
          g_assert_cmpint (bastion_key_file_load_finish (result, &info, &message, &contents,
                                                         &length, &error),
                           ==, BASTION_KEY_FILE_OK);
          g_assert_no_error (error);
          g_assert_null (message);
          g_assert_false (info.encrypted);
          g_assert_cmpmem (contents, length, expected, expected_len);
        }
      else
        {
          g_assert_cmpint (bastion_key_file_load_finish (result, &info, &message, &contents,
                                                         &length, &error),
                           ==, BASTION_KEY_FILE_NOT_A_KEY);
          g_assert_no_error (error);
          g_assert_null (contents);
          g_assert_cmpuint (length, ==, 0);
          g_assert_nonnull (strstr (message, not_key));
        }
    }

  _bastion_key_file_set_read_hook (NULL, NULL);
}

static void
test_check_data_header_only (void)
{
  /* The OpenSSH header says the cipher: nothing else needs to be valid to see encryption. */
  static const char aes_header[] =
    "-----BEGIN OPENSSH PRIVATE" " KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABA=\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
  BastionKeyFormat format;

  g_assert_cmpint (bastion_key_file_check_data (aes_header, strlen (aes_header), &format), ==,
                   BASTION_KEY_FILE_ENCRYPTED);
  g_assert_cmpint (format, ==, BASTION_KEY_FORMAT_OPENSSH);
  g_assert_cmpint (bastion_key_file_check_data ("", 0, &format), ==, BASTION_KEY_FILE_NOT_A_KEY);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* A subprocess child only checks the paths its parent made. */
  if (!g_test_subprocess ())
    {
      tmp_dir = g_dir_make_tmp ("bastion-key-XXXXXX", &error);
      g_assert_no_error (error);
      /* The unprivileged child must reach the keys. */
      g_assert_cmpint (g_chmod (tmp_dir, 0755), ==, 0);
    }

  for (guint i = 0; i < G_N_ELEMENTS (key_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/bastion/key-file/format/%s", key_cases[i].name);
      g_test_add_data_func (path, &key_cases[i], test_key_case);
    }
  g_test_add_func ("/bastion/key-file/missing", test_missing);
  g_test_add_func ("/bastion/key-file/not-a-key", test_not_a_key);
  g_test_add_func ("/bastion/key-file/too-open-fixable", test_too_open_fixable);
  g_test_add_func ("/bastion/key-file/too-open-not-ours", test_too_open_not_ours);
  g_test_add_func ("/bastion/key-file/unreadable", test_unreadable);
  g_test_add_func ("/bastion/key-file/check-data", test_check_data_header_only);
  g_test_add_func ("/bastion/key-file/check-async", test_check_async);
  g_test_add_func ("/bastion/key-file/load-async", test_load_async);

  ret = g_test_run ();

  if (!g_test_subprocess ())
    {
      g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
          g_unlink (path);
        }
      g_rmdir (tmp_dir);
    }
  g_free (tmp_dir);

  return ret;
}
