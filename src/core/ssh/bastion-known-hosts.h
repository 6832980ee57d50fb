/* bastion-known-hosts.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  BASTION_HOST_KEY_UNCHECKED,
  BASTION_HOST_KEY_TRUSTED,
  BASTION_HOST_KEY_UNKNOWN,
  BASTION_HOST_KEY_CHANGED,
  BASTION_HOST_KEY_REVOKED,
  BASTION_HOST_KEY_PIN_MATCH,
  BASTION_HOST_KEY_PIN_MISMATCH,
} BastionHostKeyStatus;

/* The OpenSSH-style known_hosts files Bastion reads: ~/.ssh/known_hosts and its own. */
char                 *bastion_known_hosts_dup_user_file     (void);
char                 *bastion_known_hosts_dup_bastion_file  (void);

/* "SHA256:" + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` prints it. */
char                 *bastion_known_hosts_fingerprint       (const guint8  *blob,
                                                             gsize          len);
/* TRUE when FINGERPRINT (with or without "SHA256:", padded or not) names BLOB. */
gboolean              bastion_known_hosts_fingerprint_equal (const char    *fingerprint,
                                                             const guint8  *blob,
                                                             gsize          len);
/* The key type name inside an SSH public key blob ("ssh-ed25519", …), or NULL. */
char                 *bastion_known_hosts_blob_type         (const guint8  *blob,
                                                             gsize          len);

/* Looks HOST:PORT up in FILES (NULL-terminated; missing files are skipped). Plain, [host]:port,
 * hashed (|1|) and wildcard host patterns, @revoked lines; @cert-authority lines are ignored.
 * Only keys of the blob's own type count: another type of key for the host is not a change. */
BastionHostKeyStatus  bastion_known_hosts_check             (const char * const *files,
                                                             const char    *host,
                                                             guint16        port,
                                                             const guint8  *blob,
                                                             gsize          len);
/* The key types ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", …) FILES hold for HOST:PORT,
 * in file order, without duplicates. */
GStrv                 bastion_known_hosts_known_types       (const char * const *files,
                                                             const char    *host,
                                                             guint16        port);
/* The contents of FILES (NULL-terminated; a missing or unreadable file, a FIFO or one over
 * 16 MiB reads as "", so contents[i] is files[i]), blocking:
 * call it in a thread. The _contents variants below parse such a snapshot without file I/O. */
GStrv                 bastion_known_hosts_read_files        (const char * const *files);
BastionHostKeyStatus  bastion_known_hosts_check_contents    (const char * const *contents,
                                                             const char    *host,
                                                             guint16        port,
                                                             const guint8  *blob,
                                                             gsize          len);
GStrv                 bastion_known_hosts_known_types_contents (const char * const *contents,
                                                                const char    *host,
                                                                guint16        port);
/* For a CHANGED key, the first line that holds another key of the blob's type for HOST:PORT:
 * its fingerprint (SHA256:…), the index of its contents in CONTENTS and its line (from 1). */
gboolean              bastion_known_hosts_find_old_key_contents
                                                            (const char * const *contents,
                                                             const char    *host,
                                                             guint16        port,
                                                             const guint8  *blob,
                                                             gsize          len,
                                                             char         **fingerprint,
                                                             guint         *source,
                                                             guint         *line_no);
/* Appends HOST:PORT with the key to FILE (created 0600 with its directory). A FILE that holds a
 * line Bastion cannot read (not "hosts type base64-key"), that is not a regular file or over
 * 16 MiB is refused (G_IO_ERROR_INVALID_DATA, naming file and line): nothing is appended to what
 * may be another program's file or garbage. */
gboolean              bastion_known_hosts_add               (const char    *file,
                                                             const char    *host,
                                                             guint16        port,
                                                             const guint8  *blob,
                                                             gsize          len,
                                                             GError       **error);

/* Tests only: called in the thread that reads (read_files(), per file) or appends (add()) a
 * known_hosts file, before it does, so a test can hold that thread and prove the main loop runs
 * on. NULL removes it. */
typedef void (*BastionKnownHostsIoHook) (const char *path,
                                         gpointer    user_data);
void                  bastion_known_hosts_set_io_hook       (BastionKnownHostsIoHook hook,
                                                             gpointer      user_data);

G_END_DECLS
