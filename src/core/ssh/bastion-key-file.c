/* bastion-key-file.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-key-file-private.h"
#include "bastion-secure.h"

#define MAX_KEY_SIZE (64 * 1024)
#define OPENSSH_MAGIC "openssh-key-v1"

G_DEFINE_QUARK (bastion-key-file-error-quark, bastion_key_file_error)

static guint32
read_be32 (const guchar *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* openssh-key-v1: magic "openssh-key-v1\0", then string ciphername, string kdfname, ... A cipher
 * other than "none" means the private part is encrypted with a passphrase. */
static BastionKeyFileStatus
check_openssh_body (const char *body,
                    gsize       length)
{
  g_autofree char *b64 = g_malloc (length + 1);
  g_autofree guchar *decoded = NULL;
  gsize n = 0, decoded_len = 0;
  guint32 cipher_len;
  const guchar *p;

  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isspace (body[i]))
      b64[n++] = body[i];
  b64[n] = '\0';

  decoded = g_base64_decode (b64, &decoded_len);
  if (decoded_len < sizeof OPENSSH_MAGIC + 4
      || memcmp (decoded, OPENSSH_MAGIC, sizeof OPENSSH_MAGIC) != 0)
    return BASTION_KEY_FILE_NOT_A_KEY;

  p = decoded + sizeof OPENSSH_MAGIC;
  cipher_len = read_be32 (p);
  p += 4;
  if (cipher_len == 0 || cipher_len > decoded_len - (p - decoded))
    return BASTION_KEY_FILE_NOT_A_KEY;

  if (cipher_len == 4 && memcmp (p, "none", 4) == 0)
    return BASTION_KEY_FILE_OK;

  return BASTION_KEY_FILE_ENCRYPTED;
}

BastionKeyFileStatus
bastion_key_file_check_data (const char       *data,
                             gsize             length,
                             BastionKeyFormat *format)
{
  static const char begin[] = "-----BEGIN ";
  g_autofree char *text = NULL;
  const char *block, *label_end, *end_marker, *body;
  g_autofree char *label = NULL;
  g_autofree char *end_line = NULL;

  if (format)
    *format = BASTION_KEY_FORMAT_UNKNOWN;

  if (data == NULL || length == 0)
    return BASTION_KEY_FILE_NOT_A_KEY;

  text = g_strndup (data, length);
  block = strstr (text, begin);
  if (block == NULL)
    return BASTION_KEY_FILE_NOT_A_KEY;

  label_end = strstr (block + strlen (begin), "-----");
  if (label_end == NULL)
    return BASTION_KEY_FILE_NOT_A_KEY;
  label = g_strndup (block + strlen (begin), label_end - (block + strlen (begin)));

  end_line = g_strdup_printf ("-----END %s-----", label);
  body = label_end + 5;
  end_marker = strstr (body, end_line);
  if (end_marker == NULL)
    return BASTION_KEY_FILE_NOT_A_KEY;

  if (g_str_equal (label, "OPENSSH PRIVATE KEY"))
    {
      BastionKeyFileStatus status = check_openssh_body (body, end_marker - body);

      if (format && status != BASTION_KEY_FILE_NOT_A_KEY)
        *format = BASTION_KEY_FORMAT_OPENSSH;
      return status;
    }

  if (g_str_equal (label, "RSA PRIVATE KEY")
      || g_str_equal (label, "EC PRIVATE KEY")
      || g_str_equal (label, "DSA PRIVATE KEY"))
    {
      g_autofree char *block_text = g_strndup (body, end_marker - body);

      if (format)
        *format = BASTION_KEY_FORMAT_PEM;
      if (strstr (block_text, "Proc-Type: 4,ENCRYPTED") != NULL)
        return BASTION_KEY_FILE_ENCRYPTED;
      return BASTION_KEY_FILE_OK;
    }

  if (g_str_equal (label, "ENCRYPTED PRIVATE KEY"))
    {
      if (format)
        *format = BASTION_KEY_FORMAT_PKCS8;
      return BASTION_KEY_FILE_ENCRYPTED;
    }

  if (g_str_equal (label, "PRIVATE KEY"))
    {
      if (format)
        *format = BASTION_KEY_FORMAT_PKCS8;
      return BASTION_KEY_FILE_OK;
    }

  return BASTION_KEY_FILE_NOT_A_KEY;
}

/* Reads an SSH "string" (uint32 length, then the bytes) at *p, within end. */
static gboolean
read_ssh_string (const guchar **p,
                 const guchar  *end,
                 const guchar **str,
                 guint32       *str_len)
{
  guint32 len;

  if (end - *p < 4)
    return FALSE;
  len = read_be32 (*p);
  *p += 4;
  if (len > (gsize) (end - *p))
    return FALSE;
  *str = *p;
  *str_len = len;
  *p += len;
  return TRUE;
}

char *
bastion_key_file_dup_public_key (const char *data,
                                 gsize       length)
{
  /* The armour lines, spelt in two parts so that no scan for committed keys mistakes this
   * parser for a key. */
  static const char begin[] = "-----BEGIN " "OPENSSH PRIVATE KEY-----";
  static const char end_line[] = "-----END " "OPENSSH PRIVATE KEY-----";
  g_autofree char *text = NULL;
  g_autofree char *b64 = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *blob_b64 = NULL;
  const char *body, *end_marker;
  const guchar *p, *end, *field, *blob, *type;
  guint32 field_len, blob_len, type_len, nkeys;
  gsize n = 0, decoded_len = 0;

  if (data == NULL || length == 0)
    return NULL;

  text = g_strndup (data, length);
  body = strstr (text, begin);
  if (body == NULL)
    return NULL;
  body += strlen (begin);
  end_marker = strstr (body, end_line);
  if (end_marker == NULL)
    return NULL;

  b64 = g_malloc (end_marker - body + 1);
  for (const char *c = body; c < end_marker; c++)
    if (!g_ascii_isspace (*c))
      b64[n++] = *c;
  b64[n] = '\0';

  decoded = g_base64_decode (b64, &decoded_len);
  if (decoded_len < sizeof OPENSSH_MAGIC || memcmp (decoded, OPENSSH_MAGIC, sizeof OPENSSH_MAGIC))
    return NULL;

  /* magic, string ciphername, string kdfname, string kdfoptions, uint32 N, N public key blobs
   * (in clear), then the private part (encrypted when ciphername is not "none"). */
  p = decoded + sizeof OPENSSH_MAGIC;
  end = decoded + decoded_len;
  for (guint i = 0; i < 3; i++)
    if (!read_ssh_string (&p, end, &field, &field_len))
      return NULL;
  if (end - p < 4)
    return NULL;
  nkeys = read_be32 (p);
  p += 4;
  if (nkeys != 1 || !read_ssh_string (&p, end, &blob, &blob_len))
    return NULL;

  /* The blob starts with its key type: a short printable name. */
  p = blob;
  if (!read_ssh_string (&p, blob + blob_len, &type, &type_len) || type_len == 0 || type_len > 64)
    return NULL;
  for (guint32 i = 0; i < type_len; i++)
    if (!g_ascii_isgraph (type[i]))
      return NULL;

  blob_b64 = g_base64_encode (blob, blob_len);
  return g_strdup_printf ("%.*s %s", (int) type_len, (const char *) type, blob_b64);
}

static char *
not_a_key_message (const char *path,
                   const char *data,
                   gsize       length)
{
  g_autofree char *head = g_strndup (data, MIN (length, 256));

  if (g_str_has_prefix (head, "ssh-") || g_str_has_prefix (head, "ecdsa-")
      || strstr (head, "PUBLIC KEY-----") != NULL)
    return g_strdup_printf (_("%s is a public key; choose the private key file (the one "
                              "without “.pub”)"),
                            path);
  if (g_str_has_prefix (head, "PuTTY-User-Key-File-"))
    return g_strdup_printf (_("%s is a PuTTY key; convert it with “puttygen KEY -O "
                              "private-openssh -o KEY.pem” and choose the result"),
                            path);

  return g_strdup_printf (_("%s is not a private key that Bastion can use (PEM or OpenSSH "
                            "format); choose the key file the bastion expects"),
                          path);
}

static void
wipe_free (char  *data,
           gsize  length)
{
  bastion_secure_wipe (data, length);
  g_free (data);
}

/* Tests only: see _bastion_key_file_set_read_hook(). */
static BastionKeyFileReadHook read_hook;
static gpointer               read_hook_data;

void
_bastion_key_file_set_read_hook (BastionKeyFileReadHook hook,
                                 gpointer               user_data)
{
  read_hook = hook;
  read_hook_data = user_data;
}

/* Under $XDG_DATA_HOME/bastion/: a file Bastion itself keeps, so it may fix its mode. */
static gboolean
is_bastions_own (const char *path)
{
  g_autofree char *own = g_build_filename (g_get_user_data_dir (), "bastion", NULL);
  g_autofree char *real_own = realpath (own, NULL);
  g_autofree char *real = realpath (path, NULL);
  gsize n;

  if (real_own == NULL || real == NULL)
    return FALSE;
  n = strlen (real_own);

  return strncmp (real, real_own, n) == 0 && real[n] == '/';
}

/* The path does not lead to a regular file: why, with info->status set. */
static char *
missing_message (const char         *path,
                 int                 stat_errno,
                 BastionKeyFileInfo *info)
{
  if (stat_errno == EACCES)
    {
      info->status = BASTION_KEY_FILE_UNREADABLE;
      return g_strdup_printf (_("Cannot reach the key file %s: a folder on its path does not "
                                "let you in; fix the folder’s permissions or move the key"),
                              path);
    }

  info->status = BASTION_KEY_FILE_MISSING;
  if (stat_errno != 0)
    return g_strdup_printf (_("The key file %s does not exist; choose the key the bastion "
                              "expects (SimpleIOT keeps it in the team’s certs folder)"),
                            path);
  return g_strdup_printf (_("%s is not a file; choose the private key file"), path);
}

/* Opens the regular file PATH (ST its stat); -1 with *message and info->status set. */
static int
open_key (const char          *path,
          GStatBuf            *st,
          BastionKeyFileInfo  *info,
          char               **message)
{
  /* O_NONBLOCK: a FIFO swapped in since the stat() cannot block the open; fstat() below
   * refuses it. */
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);

  if (fd >= 0 && (fstat (fd, st) != 0 || !S_ISREG (st->st_mode)))
    {
      g_close (fd, NULL);
      *message = missing_message (path, 0, info);
      return -1;
    }
  if (fd >= 0)
    return fd;

  info->status = BASTION_KEY_FILE_UNREADABLE;
  if (st->st_uid == 0 && geteuid () != 0)
    *message = g_strdup_printf (_("The key file %s belongs to root (a Docker install does "
                                  "that), so you cannot read it; run “sudo chown $USER %s” "
                                  "and try again"),
                                path, path);
  else
    *message = g_strdup_printf (_("You may not read the key file %s; ask its owner to give it "
                                  "to you, or run “sudo chown $USER %s”"),
                                path, path);
  return -1;
}

/* Bastion's own copy of a key (under its data folder) it may make private itself: what it
 * did, or NULL. */
static char *
make_own_key_private (const char         *path,
                      int                 fd,
                      GStatBuf           *st,
                      BastionKeyFileInfo *info)
{
  char *done;

  if ((st->st_mode & (S_IRWXG | S_IRWXO)) == 0 || st->st_uid != geteuid ()
      || !is_bastions_own (path) || fchmod (fd, 0600) != 0)
    return NULL;

  info->fixed = TRUE;
  done = g_strdup_printf (_("Bastion made its own key file %s private (mode 600; it was %03o)"),
                          path, (guint) (st->st_mode & 0777));
  g_message ("%s", done);
  st->st_mode &= ~(S_IRWXG | S_IRWXO);
  return done;
}

/* Up to MAX_KEY_SIZE bytes of the file into DATA; the count read. */
static gsize
read_key (int   fd,
          char *data)
{
  gsize n = 0;

  while (n < MAX_KEY_SIZE)
    {
      gssize r = read (fd, data + n, MAX_KEY_SIZE - n);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      n += r;
    }
  return n;
}

/* As OpenSSH: a private key group or others may read or change is not used, nor another
 * user's key (readable because we are root). NULL when the file's mode and owner are fine. */
static char *
permission_message (const char         *path,
                    const GStatBuf     *st,
                    BastionKeyFileInfo *info)
{
  if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      info->status = BASTION_KEY_FILE_TOO_OPEN;
      info->can_fix = st->st_uid == geteuid ();
      if (info->can_fix)
        return g_strdup_printf (_("Other users can read or change the key file %s (mode %03o), "
                                  "so SSH refuses it and so does Bastion; let Bastion make it "
                                  "private (mode 600) or run “chmod 600 %s”"),
                                path, (guint) (st->st_mode & 0777), path);
      return g_strdup_printf (_("Other users can read or change the key file %s (mode %03o) "
                                "and it is not yours, so Bastion refuses it and cannot fix "
                                "that; ask its owner to run “chmod 600 %s” or copy the key to "
                                "a private file of yours (chmod 600)"),
                              path, (guint) (st->st_mode & 0777), path);
    }

  if (st->st_uid != geteuid ())
    {
      info->status = BASTION_KEY_FILE_TOO_OPEN;
      return g_strdup_printf (_("The key file %s belongs to another user (uid %u), so Bastion "
                                "refuses it; copy it to a private file of yours (chmod 600) or "
                                "run “sudo chown $USER %s”"),
                              path, (guint) st->st_uid, path);
    }

  return NULL;
}

/* What the key's contents say: NOT_A_KEY, ENCRYPTED or OK (after the mode and owner checks). */
static char *
contents_message (const char         *path,
                  const char         *data,
                  gsize               n,
                  const GStatBuf     *st,
                  BastionKeyFileInfo *info)
{
  BastionKeyFileStatus data_status = bastion_key_file_check_data (data, n, &info->format);
  char *msg;

  if (data_status == BASTION_KEY_FILE_NOT_A_KEY)
    {
      info->status = BASTION_KEY_FILE_NOT_A_KEY;
      return not_a_key_message (path, data, n);
    }
  info->encrypted = data_status == BASTION_KEY_FILE_ENCRYPTED;

  if ((msg = permission_message (path, st, info)) != NULL)
    return msg;

  if (info->encrypted)
    {
      info->status = BASTION_KEY_FILE_ENCRYPTED;
      return g_strdup_printf (_("The key file %s is protected by a passphrase; enter it (Bastion "
                                "can keep it in your keyring)"),
                              path);
    }

  info->status = BASTION_KEY_FILE_OK;
  return NULL;
}

/* The check; with contents non-NULL, also hands over what was read (a private key: the caller
 * wipes it) when the status is OK or ENCRYPTED (never TOO_OPEN: such a key is not used). */
static BastionKeyFileStatus
check_file (const char          *path,
            BastionKeyFileInfo  *info,
            char               **message,
            char               **contents,
            gsize               *contents_length)
{
  BastionKeyFileInfo local = { 0 };
  char *data = NULL;
  g_autofree char *msg = NULL;
  g_autofree char *fixed_msg = NULL;
  GStatBuf st;
  gsize n = 0;
  int fd;

  if (info == NULL)
    info = &local;
  memset (info, 0, sizeof *info);

  if (read_hook != NULL)
    read_hook (path, read_hook_data);

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      msg = missing_message (path, saved_errno != 0 ? saved_errno : ENOENT, info);
    }
  else if (!S_ISREG (st.st_mode))
    msg = missing_message (path, 0, info);
  else if ((fd = open_key (path, &st, info, &msg)) >= 0)
    {
      fixed_msg = make_own_key_private (path, fd, &st, info);
      data = g_malloc (MAX_KEY_SIZE);
      n = read_key (fd, data);
      g_close (fd, NULL);
      msg = contents_message (path, data, n, &st, info);
    }

  if (msg == NULL)
    msg = g_steal_pointer (&fixed_msg);
  if (message)
    *message = g_steal_pointer (&msg);

  if (contents != NULL && data != NULL
      && (info->status == BASTION_KEY_FILE_OK || info->status == BASTION_KEY_FILE_ENCRYPTED))
    {
      *contents = g_steal_pointer (&data);
      *contents_length = n;
    }
  /* The buffer holds a private key. */
  wipe_free (data, MAX_KEY_SIZE);

  return info->status;
}

BastionKeyFileStatus
bastion_key_file_check (const char          *path,
                        BastionKeyFileInfo  *info,
                        char               **message)
{
  g_return_val_if_fail (path != NULL, BASTION_KEY_FILE_MISSING);

  return check_file (path, info, message, NULL, NULL);
}

typedef struct
{
  BastionKeyFileInfo  info;
  char               *message;
  char               *contents;
  gsize               contents_length;
  char               *public_key;
} CheckResult;

static void
check_result_free (CheckResult *result)
{
  g_free (result->message);
  g_free (result->public_key);
  wipe_free (result->contents, result->contents_length);
  g_free (result);
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CheckResult *result = g_new0 (CheckResult, 1);

  if (g_task_get_source_tag (task) == bastion_key_file_load_async)
    {
      check_file (task_data, &result->info, &result->message, &result->contents,
                  &result->contents_length);
      if (result->contents != NULL && result->info.format == BASTION_KEY_FORMAT_OPENSSH)
        result->public_key = bastion_key_file_dup_public_key (result->contents,
                                                              result->contents_length);
    }
  else
    check_file (task_data, &result->info, &result->message, NULL, NULL);
  g_task_return_pointer (task, result, (GDestroyNotify) check_result_free);
}

/* check_thread() tells a check from a load by SOURCE_TAG. */
static void
run_check_thread (const char          *path,
                  gpointer             source_tag,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, check_thread);
}

void
bastion_key_file_check_async (const char          *path,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (path != NULL);

  run_check_thread (path, bastion_key_file_check_async, cancellable, callback, user_data);
}

/* The thread's result, with INFO and MESSAGE filled in; NULL (ERROR set) when it failed. */
static CheckResult *
propagate_check (GAsyncResult        *result,
                 BastionKeyFileInfo  *info,
                 char               **message,
                 GError             **error)
{
  CheckResult *check = g_task_propagate_pointer (G_TASK (result), error);

  if (check == NULL)
    return NULL;
  if (info)
    *info = check->info;
  if (message)
    *message = g_steal_pointer (&check->message);

  return check;
}

BastionKeyFileStatus
bastion_key_file_check_finish (GAsyncResult        *result,
                               BastionKeyFileInfo  *info,
                               char               **message,
                               GError             **error)
{
  CheckResult *check;
  BastionKeyFileStatus status;

  g_return_val_if_fail (g_task_is_valid (result, NULL), BASTION_KEY_FILE_MISSING);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_key_file_check_async,
                        BASTION_KEY_FILE_MISSING);

  check = propagate_check (result, info, message, error);
  if (check == NULL)
    return BASTION_KEY_FILE_MISSING;

  status = check->info.status;
  check_result_free (check);

  return status;
}

void
bastion_key_file_load_async (const char          *path,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (path != NULL);

  run_check_thread (path, bastion_key_file_load_async, cancellable, callback, user_data);
}

BastionKeyFileStatus
bastion_key_file_load_finish (GAsyncResult        *result,
                              BastionKeyFileInfo  *info,
                              char               **message,
                              char               **contents,
                              gsize               *contents_length,
                              GError             **error)
{
  return bastion_key_file_load_finish_full (result, info, message, contents, contents_length,
                                            NULL, error);
}

BastionKeyFileStatus
bastion_key_file_load_finish_full (GAsyncResult        *result,
                                   BastionKeyFileInfo  *info,
                                   char               **message,
                                   char               **contents,
                                   gsize               *contents_length,
                                   char               **public_key,
                                   GError             **error)
{
  CheckResult *check;
  BastionKeyFileStatus status;

  g_return_val_if_fail (g_task_is_valid (result, NULL), BASTION_KEY_FILE_MISSING);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bastion_key_file_load_async,
                        BASTION_KEY_FILE_MISSING);
  g_return_val_if_fail (contents != NULL && contents_length != NULL, BASTION_KEY_FILE_MISSING);

  *contents = NULL;
  *contents_length = 0;
  if (public_key != NULL)
    *public_key = NULL;

  check = propagate_check (result, info, message, error);
  if (check == NULL)
    return BASTION_KEY_FILE_MISSING;

  status = check->info.status;
  *contents = g_steal_pointer (&check->contents);
  *contents_length = check->contents_length;
  if (public_key != NULL)
    *public_key = g_steal_pointer (&check->public_key);
  check->contents_length = 0;
  check_result_free (check);

  return status;
}

gboolean
bastion_key_file_fix_permissions (const char  *path,
                                  GError     **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_KEY_FILE_ERROR, BASTION_KEY_FILE_ERROR_FAILED,
                   _("Cannot change the permissions of %s: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }

  if (st.st_uid != geteuid ())
    {
      g_set_error (error, BASTION_KEY_FILE_ERROR, BASTION_KEY_FILE_ERROR_NOT_OWNER,
                   _("The key file %s is not yours, so Bastion may not change its permissions; "
                     "ask its owner to run “chmod 600 %s”"),
                   path, path);
      return FALSE;
    }

  if (g_chmod (path, 0600) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BASTION_KEY_FILE_ERROR, BASTION_KEY_FILE_ERROR_FAILED,
                   _("Cannot change the permissions of %s: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}
