/* bastion-key-file.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Checked in this order; the first that applies is returned. */
typedef enum
{
  BASTION_KEY_FILE_OK,
  BASTION_KEY_FILE_MISSING,      /* no such file (or not a regular file) */
  BASTION_KEY_FILE_UNREADABLE,   /* exists but we may not read it (root-owned after Docker) */
  BASTION_KEY_FILE_NOT_A_KEY,    /* readable, but no private key we know */
  BASTION_KEY_FILE_TOO_OPEN,     /* readable or writable by group or others, or another user's:
                                  * refused, as OpenSSH refuses it */
  BASTION_KEY_FILE_ENCRYPTED,    /* a private key that needs a passphrase */
} BastionKeyFileStatus;

typedef enum
{
  BASTION_KEY_FORMAT_UNKNOWN,
  BASTION_KEY_FORMAT_PEM,        /* "BEGIN RSA/EC/DSA PRIVATE KEY" (PKCS#1 / SEC1) */
  BASTION_KEY_FORMAT_PKCS8,      /* PKCS#8, plain or encrypted */
  BASTION_KEY_FORMAT_OPENSSH,    /* OpenSSH's own format (openssh-key-v1) */
} BastionKeyFormat;

#define BASTION_KEY_FILE_ERROR (bastion_key_file_error_quark ())

typedef enum
{
  BASTION_KEY_FILE_ERROR_FAILED = 1,
  BASTION_KEY_FILE_ERROR_NOT_OWNER,
} BastionKeyFileError;

typedef struct
{
  BastionKeyFileStatus status;
  BastionKeyFormat     format;
  /* Also set when status is TOO_OPEN: the key needs a passphrase. */
  guint                encrypted : 1;
  /* TOO_OPEN only: we own the file, so bastion_key_file_fix_permissions() can make it 0600. */
  guint                can_fix : 1;
  /* Bastion's own copy (under $XDG_DATA_HOME/bastion/) was too open and made 0600 by the check;
   * the message says so. */
  guint                fixed : 1;
} BastionKeyFileInfo;

GQuark               bastion_key_file_error_quark      (void);

/* Checks path (blocking but cheap: one stat and a read of at most 64 KiB; call it from a thread
 * or on user action). info may be NULL. message (may be NULL) gets a translated sentence that says
 * what is wrong and what to do, or NULL when status is OK. */
BastionKeyFileStatus bastion_key_file_check            (const char          *path,
                                                        BastionKeyFileInfo  *info,
                                                        char               **message);
/* The same check in a GTask thread, for the main loop. */
void                 bastion_key_file_check_async      (const char          *path,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
BastionKeyFileStatus bastion_key_file_check_finish     (GAsyncResult        *result,
                                                        BastionKeyFileInfo  *info,
                                                        char               **message,
                                                        GError             **error);
/* The same check in a GTask thread that also hands over the file's contents when the status is
 * OK or ENCRYPTED (else *contents is NULL): read once, for libssh2's _frommemory calls,
 * so that nothing reads the file on the main loop. The contents are a private key: wipe them
 * (explicit_bzero) before g_free. */
void                 bastion_key_file_load_async       (const char          *path,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
BastionKeyFileStatus bastion_key_file_load_finish      (GAsyncResult        *result,
                                                        BastionKeyFileInfo  *info,
                                                        char               **message,
                                                        char               **contents,
                                                        gsize               *contents_length,
                                                        GError             **error);
/* The same as bastion_key_file_load_finish(), and public_key (may be NULL) gets the public key
 * line "TYPE BASE64" of an OpenSSH-format key (it is stored unencrypted in the file, read in the
 * thread), or NULL for other formats: libssh2 then need not derive it from the private key, which
 * for a passphrase-protected key costs a bcrypt KDF run. */
BastionKeyFileStatus bastion_key_file_load_finish_full (GAsyncResult        *result,
                                                        BastionKeyFileInfo  *info,
                                                        char               **message,
                                                        char               **contents,
                                                        gsize               *contents_length,
                                                        char               **public_key,
                                                        GError             **error);
/* The public key line "TYPE BASE64" of an OpenSSH-format private key (openssh-key-v1), or NULL
 * when data is not one. No passphrase is needed: OpenSSH stores the public key in clear. */
char                *bastion_key_file_dup_public_key   (const char          *data,
                                                        gsize                length);
/* Parses key text already in memory (no permission checks): NOT_A_KEY, ENCRYPTED or OK. */
BastionKeyFileStatus bastion_key_file_check_data       (const char          *data,
                                                        gsize                length,
                                                        BastionKeyFormat    *format);
/* chmod 0600; fails with BASTION_KEY_FILE_ERROR_NOT_OWNER when the file is not ours. */
gboolean             bastion_key_file_fix_permissions  (const char          *path,
                                                        GError             **error);

G_END_DECLS
