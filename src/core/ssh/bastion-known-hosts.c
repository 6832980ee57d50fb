/* bastion-known-hosts.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-bounded-file.h"
#include "bastion-known-hosts.h"

/* known_hosts files of thousands of hosts stay far below this. */
#define MAX_KNOWN_HOSTS_SIZE (16 * 1024 * 1024)

char *
bastion_known_hosts_dup_user_file (void)
{
  return g_build_filename (g_get_home_dir (), ".ssh", "known_hosts", NULL);
}

char *
bastion_known_hosts_dup_bastion_file (void)
{
  return g_build_filename (g_get_user_data_dir (), "bastion", "known_hosts", NULL);
}

static char *
strip_padding (char *b64)
{
  gsize len = strlen (b64);

  while (len > 0 && b64[len - 1] == '=')
    b64[--len] = '\0';

  return b64;
}

char *
bastion_known_hosts_fingerprint (const guint8 *blob,
                                 gsize         len)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  g_autofree char *b64 = NULL;

  g_return_val_if_fail (blob != NULL, NULL);

  g_checksum_update (checksum, blob, len);
  g_checksum_get_digest (checksum, digest, &digest_len);
  b64 = strip_padding (g_base64_encode (digest, digest_len));

  return g_strconcat ("SHA256:", b64, NULL);
}

gboolean
bastion_known_hosts_fingerprint_equal (const char   *fingerprint,
                                       const guint8 *blob,
                                       gsize         len)
{
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;

  g_return_val_if_fail (blob != NULL, FALSE);

  if (fingerprint == NULL)
    return FALSE;

  ours = bastion_known_hosts_fingerprint (blob, len);
  theirs = g_strstrip (g_strdup (fingerprint));
  if (!g_str_has_prefix (theirs, "SHA256:"))
    {
      char *tmp = g_strconcat ("SHA256:", theirs, NULL);
      g_free (theirs);
      theirs = tmp;
    }
  strip_padding (theirs);

  return g_str_equal (ours, theirs);
}

char *
bastion_known_hosts_blob_type (const guint8 *blob,
                               gsize         len)
{
  guint32 n;

  if (blob == NULL || len < 4)
    return NULL;

  n = ((guint32)blob[0] << 24) | ((guint32)blob[1] << 16) | ((guint32)blob[2] << 8) | blob[3];
  if (n == 0 || n > len - 4 || n > 64)
    return NULL;

  return g_strndup ((const char *)blob + 4, n);
}

/* "|1|salt|hash": HMAC-SHA1 keyed with the salt over the host name as written. */
static gboolean
hashed_pattern_matches (const char *pattern,
                        const char *name)
{
  g_auto(GStrv) parts = g_strsplit (pattern, "|", -1);
  g_autofree guchar *salt = NULL;
  g_autofree guchar *want = NULL;
  gsize salt_len = 0;
  gsize want_len = 0;
  g_autoptr(GHmac) hmac = NULL;
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  /* ["", "1", salt, hash] */
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[1], "1"))
    return FALSE;

  salt = g_base64_decode (parts[2], &salt_len);
  want = g_base64_decode (parts[3], &want_len);
  if (salt_len == 0 || want_len != sizeof digest)
    return FALSE;

  hmac = g_hmac_new (G_CHECKSUM_SHA1, salt, salt_len);
  g_hmac_update (hmac, (const guchar *)name, strlen (name));
  g_hmac_get_digest (hmac, digest, &digest_len);

  return memcmp (digest, want, sizeof digest) == 0;
}

/* TRUE when the comma-separated HOSTS field names NAME (host or "[host]:port"); a matching
 * negated pattern wins over everything. */
static gboolean
hosts_field_matches (const char *field,
                     const char *name)
{
  g_auto(GStrv) patterns = NULL;
  gboolean matched = FALSE;

  if (field[0] == '|')
    return hashed_pattern_matches (field, name);

  patterns = g_strsplit (field, ",", -1);
  for (guint i = 0; patterns[i] != NULL; i++)
    {
      const char *p = patterns[i];
      gboolean negate = FALSE;
      g_autofree char *lower = NULL;

      if (p[0] == '!')
        {
          negate = TRUE;
          p++;
        }

      /* GLib's pattern matching asserts on invalid UTF-8: such a pattern matches nothing. */
      if (!g_utf8_validate (p, -1, NULL))
        continue;

      lower = g_ascii_strdown (p, -1);
      if (g_pattern_match_simple (lower, name))
        {
          if (negate)
            return FALSE;
          matched = TRUE;
        }
    }

  return matched;
}

typedef enum
{
  LINE_NORMAL,
  LINE_REVOKED,
  LINE_SKIP,
} LineKind;

/* SOURCE: the index of the file (or contents) in the list; LINE_NO counts from 1. */
typedef gboolean (*LineFunc) (LineKind    kind,
                              guint       source,
                              guint       line_no,
                              const char *type,
                              const char *key_b64,
                              gpointer    user_data);

/* Calls FUNC for each line of FILES (or, with are_contents, of these texts) that names
 * HOST:PORT; stops when FUNC returns FALSE. */
static void
foreach_matching_line_in (const char * const *files,
                          gboolean            are_contents,
                          const char         *host,
                          guint16             port,
                          LineFunc            func,
                          gpointer            user_data)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  g_autofree char *name = NULL;

  name = port == 22 ? g_strdup (lower) : g_strdup_printf ("[%s]:%u", lower, port);

  for (guint f = 0; files != NULL && files[f] != NULL; f++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (are_contents)
        contents = g_strdup (files[f]);
      else if (!bastion_bounded_file_read (files[f], MAX_KNOWN_HOSTS_SIZE, &contents, NULL, NULL))
        continue;

      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_auto(GStrv) fields = NULL;
          LineKind kind = LINE_NORMAL;
          guint first = 0;
          char *line = g_strstrip (lines[i]);

          if (line[0] == '\0' || line[0] == '#')
            continue;

          fields = g_strsplit_set (line, " \t", -1);
          /* Drop the empty fields runs of blanks leave. */
          {
            guint w = 0;
            for (guint r = 0; fields[r] != NULL; r++)
              {
                if (fields[r][0] != '\0')
                  fields[w++] = fields[r];
                else
                  g_free (fields[r]);
              }
            fields[w] = NULL;
          }

          if (fields[0] != NULL && fields[0][0] == '@')
            {
              if (g_str_equal (fields[0], "@revoked"))
                kind = LINE_REVOKED;
              else
                kind = LINE_SKIP;
              first = 1;
            }

          if (kind == LINE_SKIP || g_strv_length (fields) < first + 3)
            continue;

          if (!hosts_field_matches (fields[first], name))
            continue;

          if (!func (kind, f, i + 1, fields[first + 1], fields[first + 2], user_data))
            return;
        }
    }
}

static BastionKnownHostsIoHook io_hook;
static gpointer                io_hook_data;

void
bastion_known_hosts_set_io_hook (BastionKnownHostsIoHook hook,
                                 gpointer                user_data)
{
  io_hook = hook;
  io_hook_data = user_data;
}

GStrv
bastion_known_hosts_read_files (const char * const *files)
{
  GPtrArray *contents = g_ptr_array_new ();

  for (guint f = 0; files != NULL && files[f] != NULL; f++)
    {
      char *text = NULL;

      if (io_hook != NULL)
        io_hook (files[f], io_hook_data);
      /* A missing file stays in the list as "": contents[i] is files[i]. */
      if (!bastion_bounded_file_read (files[f], MAX_KNOWN_HOSTS_SIZE, &text, NULL, NULL))
        text = g_strdup ("");
      g_ptr_array_add (contents, text);
    }
  g_ptr_array_add (contents, NULL);

  return (GStrv)g_ptr_array_free (contents, FALSE);
}

typedef struct
{
  const guint8         *blob;
  gsize                 len;
  char                 *type;
  BastionHostKeyStatus  status;
} CheckState;

static gboolean
check_line (LineKind    kind,
            guint       source,
            guint       line_no,
            const char *type,
            const char *key_b64,
            gpointer    user_data)
{
  CheckState *state = user_data;
  g_autofree guchar *key = NULL;
  gsize key_len = 0;
  gboolean same;

  if (!g_str_equal (type, state->type))
    return TRUE;

  key = g_base64_decode (key_b64, &key_len);
  same = key_len == state->len && memcmp (key, state->blob, key_len) == 0;

  if (kind == LINE_REVOKED)
    {
      if (same)
        {
          state->status = BASTION_HOST_KEY_REVOKED;
          return FALSE;
        }
      return TRUE;
    }

  /* As OpenSSH: a matching line anywhere wins over other keys of the same type. */
  if (same)
    state->status = BASTION_HOST_KEY_TRUSTED;
  else if (state->status == BASTION_HOST_KEY_UNKNOWN)
    state->status = BASTION_HOST_KEY_CHANGED;

  return TRUE;
}

/* SOURCES: file names, or (are_contents) the files' texts. */
static BastionHostKeyStatus
check_in (const char * const *sources,
          gboolean            are_contents,
          const char         *host,
          guint16             port,
          const guint8       *blob,
          gsize               len)
{
  CheckState state = { blob, len, NULL, BASTION_HOST_KEY_UNKNOWN };

  g_return_val_if_fail (host != NULL, BASTION_HOST_KEY_UNKNOWN);
  g_return_val_if_fail (blob != NULL, BASTION_HOST_KEY_UNKNOWN);

  state.type = bastion_known_hosts_blob_type (blob, len);
  if (state.type == NULL)
    return BASTION_HOST_KEY_UNKNOWN;

  foreach_matching_line_in (sources, are_contents, host, port, check_line, &state);
  g_free (state.type);

  return state.status;
}

BastionHostKeyStatus
bastion_known_hosts_check (const char * const *files,
                           const char         *host,
                           guint16             port,
                           const guint8       *blob,
                           gsize               len)
{
  return check_in (files, FALSE, host, port, blob, len);
}

BastionHostKeyStatus
bastion_known_hosts_check_contents (const char * const *contents,
                                    const char         *host,
                                    guint16             port,
                                    const guint8       *blob,
                                    gsize               len)
{
  return check_in (contents, TRUE, host, port, blob, len);
}

typedef struct
{
  const guint8 *blob;
  gsize         len;
  char         *type;
  char         *fingerprint;
  guint         source;
  guint         line_no;
} OldKeyState;

static gboolean
find_old_line (LineKind    kind,
               guint       source,
               guint       line_no,
               const char *type,
               const char *key_b64,
               gpointer    user_data)
{
  OldKeyState *state = user_data;
  g_autofree guchar *key = NULL;
  gsize key_len = 0;

  if (kind != LINE_NORMAL || !g_str_equal (type, state->type))
    return TRUE;

  key = g_base64_decode (key_b64, &key_len);
  if (key_len == state->len && memcmp (key, state->blob, key_len) == 0)
    return TRUE;

  state->fingerprint = bastion_known_hosts_fingerprint (key, key_len);
  state->source = source;
  state->line_no = line_no;

  return FALSE;
}

gboolean
bastion_known_hosts_find_old_key_contents (const char * const *contents,
                                           const char         *host,
                                           guint16             port,
                                           const guint8       *blob,
                                           gsize               len,
                                           char              **fingerprint,
                                           guint              *source,
                                           guint              *line_no)
{
  OldKeyState state = { blob, len, NULL, NULL, 0, 0 };

  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (blob != NULL, FALSE);

  state.type = bastion_known_hosts_blob_type (blob, len);
  if (state.type == NULL)
    return FALSE;

  foreach_matching_line_in (contents, TRUE, host, port, find_old_line, &state);
  g_free (state.type);
  if (state.fingerprint == NULL)
    return FALSE;

  *fingerprint = state.fingerprint;
  *source = state.source;
  *line_no = state.line_no;

  return TRUE;
}

static gboolean
collect_type (LineKind    kind,
              guint       source,
              guint       line_no,
              const char *type,
              const char *key_b64,
              gpointer    user_data)
{
  GPtrArray *types = user_data;

  if (kind != LINE_NORMAL)
    return TRUE;

  for (guint i = 0; i < types->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (types, i), type))
        return TRUE;
    }
  g_ptr_array_add (types, g_strdup (type));

  return TRUE;
}

static GStrv
known_types_in (const char * const *sources,
                gboolean            are_contents,
                const char         *host,
                guint16             port)
{
  GPtrArray *types = g_ptr_array_new ();

  g_return_val_if_fail (host != NULL, NULL);

  foreach_matching_line_in (sources, are_contents, host, port, collect_type, types);
  g_ptr_array_add (types, NULL);

  return (GStrv)g_ptr_array_free (types, FALSE);
}

GStrv
bastion_known_hosts_known_types (const char * const *files,
                                 const char         *host,
                                 guint16             port)
{
  return known_types_in (files, FALSE, host, port);
}

GStrv
bastion_known_hosts_known_types_contents (const char * const *contents,
                                          const char         *host,
                                          guint16             port)
{
  return known_types_in (contents, TRUE, host, port);
}

/* 0 when every line of TEXT is a comment, blank or "[@marker] hosts type key" whose key decodes
 * to a blob of that type; else the number of the first line that is not. */
static guint
first_unreadable_line (const char *text,
                       gsize       length)
{
  g_auto(GStrv) lines = NULL;
  const char *nul = memchr (text, '\0', length);

  /* A NUL would hide the rest of the file from the line parser: the line holding it is bad. */
  if (nul != NULL)
    {
      guint line = 1;

      for (const char *p = text; p < nul; p++)
        line += *p == '\n';
      return line;
    }

  lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autofree guchar *key = NULL;
      g_autofree char *blob_type = NULL;
      char *line = g_strstrip (lines[i]);
      gsize key_len = 0;
      guint first = 0;

      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (!g_utf8_validate (line, -1, NULL))
        return i + 1;

      fields = g_strsplit_set (line, " \t", -1);
      {
        guint w = 0;
        for (guint r = 0; fields[r] != NULL; r++)
          {
            if (fields[r][0] != '\0')
              fields[w++] = fields[r];
            else
              g_free (fields[r]);
          }
        fields[w] = NULL;
      }

      if (fields[0][0] == '@')
        {
          if (!g_str_equal (fields[0], "@revoked") && !g_str_equal (fields[0], "@cert-authority"))
            return i + 1;
          first = 1;
        }
      if (g_strv_length (fields) < first + 3)
        return i + 1;

      key = g_base64_decode (fields[first + 2], &key_len);
      blob_type = bastion_known_hosts_blob_type (key, key_len);
      if (blob_type == NULL || !g_str_equal (blob_type, fields[first + 1]))
        return i + 1;
    }

  return 0;
}

/* --accept-new must not append to garbage or to a file that is not a known_hosts file. */
static gboolean
check_appendable (const char  *file,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  guint bad;

  if (!bastion_bounded_file_read (file, MAX_KNOWN_HOSTS_SIZE, &text, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("Bastion will not add a host key to “%s”: %s"), file, local_error->message);
      return FALSE;
    }

  bad = first_unreadable_line (text, length);
  if (bad != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   /* Translators: a file name, a line number, the same file name */
                   _("The known hosts file “%s” holds a line Bastion cannot read (line %u), so "
                     "Bastion will not add a host key to it; fix that line or move the file "
                     "away (mv “%s” “%s.bad”) and try again"),
                   file, bad, file, file);
      return FALSE;
    }

  return TRUE;
}

/* Appends LINE to FILE and syncs it to disk; FALSE with ERROR set (the file named). */
static gboolean
append_line (const char  *file,
             const char  *line,
             GError     **error)
{
  gsize line_len = strlen (line);
  gsize off = 0;
  int fd = g_open (file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int errsv = 0;

  if (fd < 0)
    errsv = errno;
  while (fd >= 0 && errsv == 0 && off < line_len)
    {
      ssize_t n = write (fd, line + off, line_len - off);

      if (n < 0 && errno != EINTR)
        errsv = errno;
      else if (n > 0)
        off += n;
    }
  if (fd >= 0 && errsv == 0 && fsync (fd) != 0)
    errsv = errno;
  if (fd >= 0 && close (fd) != 0 && errsv == 0)
    errsv = errno;

  if (errsv != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Cannot write the known hosts file “%s”: %s"), file, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

gboolean
bastion_known_hosts_add (const char    *file,
                         const char    *host,
                         guint16        port,
                         const guint8  *blob,
                         gsize          len,
                         GError       **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *type = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *line = NULL;
  g_autofree char *lower = NULL;

  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (blob != NULL, FALSE);

  type = bastion_known_hosts_blob_type (blob, len);
  if (type == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The server’s host key is malformed and cannot be recorded"));
      return FALSE;
    }

  dir = g_path_get_dirname (file);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Cannot create the folder “%s”: %s"), dir, g_strerror (errsv));
      return FALSE;
    }

  if (io_hook != NULL)
    io_hook (file, io_hook_data);
  if (!check_appendable (file, error))
    return FALSE;

  lower = g_ascii_strdown (host, -1);
  b64 = g_base64_encode (blob, len);
  if (port == 22)
    line = g_strdup_printf ("%s %s %s\n", lower, type, b64);
  else
    line = g_strdup_printf ("[%s]:%u %s %s\n", lower, port, type, b64);

  return append_line (file, line, error);
}
