/* bastion-bounded-file.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "bastion-bounded-file.h"

G_DEFINE_QUARK (bastion-bounded-file-error-quark, bastion_bounded_file_error)

static const char *
kind_of_file (mode_t mode)
{
  if (S_ISFIFO (mode))
    return _("a named pipe (FIFO)");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  if (S_ISSOCK (mode))
    return _("a socket");
  if (S_ISDIR (mode))
    return _("a folder");
  return _("not a regular file");
}

static void
set_errno_error (GError     **error,
                 const char  *path,
                 int          saved_errno)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               /* Translators: a file name, then the system's reason */
               _("Cannot read %s: %s"), path, g_strerror (saved_errno));
}

static gboolean
check_stat (const char   *path,
            struct stat  *st,
            gsize         max_size,
            GError      **error)
{
  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, BASTION_BOUNDED_FILE_ERROR, BASTION_BOUNDED_FILE_ERROR_NOT_REGULAR,
                   /* Translators: a file name, then what it is ("a named pipe (FIFO)") */
                   _("%s is %s, not a regular file; Bastion does not read it. Replace it with "
                     "the file it should be"),
                   path, kind_of_file (st->st_mode));
      return FALSE;
    }

  if ((guint64) st->st_size > max_size)
    {
      g_autofree char *cap = g_format_size (max_size);

      g_set_error (error, BASTION_BOUNDED_FILE_ERROR, BASTION_BOUNDED_FILE_ERROR_TOO_LARGE,
                   /* Translators: a file name, then a size such as "8.4 MB" */
                   _("%s is larger than %s, too large for what it should hold; check that it "
                     "is the right file"),
                   path, cap);
      return FALSE;
    }

  return TRUE;
}

int
bastion_bounded_file_open (const char   *path,
                           gsize         max_size,
                           struct stat  *st,
                           GError      **error)
{
  struct stat before, after;
  int fd;

  g_return_val_if_fail (path != NULL, -1);

  /* stat() first: a FIFO or a device is refused without being opened at all. */
  if (stat (path, &before) != 0)
    {
      set_errno_error (error, path, errno);
      return -1;
    }
  if (!check_stat (path, &before, max_size, error))
    return -1;

  /* Swapped for a FIFO since the stat(): O_NONBLOCK makes that open return at once. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      set_errno_error (error, path, errno);
      return -1;
    }

  if (fstat (fd, &after) != 0)
    {
      set_errno_error (error, path, errno);
      close (fd);
      return -1;
    }
  if (!check_stat (path, &after, max_size, error))
    {
      close (fd);
      return -1;
    }
  if (after.st_dev != before.st_dev || after.st_ino != before.st_ino)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_AGAIN,
                   _("%s was replaced while Bastion opened it; try again"), path);
      close (fd);
      return -1;
    }

  if (st != NULL)
    *st = after;

  return fd;
}

gboolean
bastion_bounded_file_read (const char  *path,
                           gsize        max_size,
                           char       **contents,
                           gsize       *length,
                           GError     **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gsize capacity, n = 0;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL, FALSE);

  fd = bastion_bounded_file_open (path, max_size, &st, error);
  if (fd < 0)
    return FALSE;

  /* One byte past the cap tells a file that grew after the fstat(). */
  capacity = MIN ((gsize) st.st_size, max_size) + 1;
  data = g_malloc (capacity + 1);
  for (;;)
    {
      gssize r;

      if (n == capacity)
        {
          if (capacity > max_size)
            break;
          capacity = MIN (capacity * 2, max_size + 1);
          data = g_realloc (data, capacity + 1);
        }

      r = read (fd, data + n, capacity - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved_errno = errno;

          close (fd);
          set_errno_error (error, path, saved_errno);
          return FALSE;
        }
      if (r == 0)
        break;
      n += r;
    }
  close (fd);

  if (n > max_size)
    {
      st.st_size = n;
      check_stat (path, &st, max_size, error);
      return FALSE;
    }

  data[n] = '\0';
  *contents = g_steal_pointer (&data);
  if (length != NULL)
    *length = n;

  return TRUE;
}

gboolean
bastion_json_check_depth (const char  *data,
                          gsize        length,
                          guint        max_depth,
                          const char  *what,
                          GError     **error)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;

        case '[':
        case '{':
          if (++depth > max_depth)
            {
              g_set_error (error, BASTION_BOUNDED_FILE_ERROR, BASTION_BOUNDED_FILE_ERROR_TOO_DEEP,
                           /* Translators: what was read (a file name), then a number */
                           _("%s nests lists or objects more than %u levels deep (at byte %lu), "
                             "which no file Bastion reads does; check that it is the right "
                             "file"),
                           what, max_depth, (gulong) i);
              return FALSE;
            }
          break;

        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;

        default:
          break;
        }
    }

  return TRUE;
}

gssize
bastion_json_find_nul_escape (const char *data,
                              gsize       length)
{
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      if (!in_string)
        in_string = data[i] == '"';
      else if (data[i] == '"')
        in_string = FALSE;
      else if (data[i] == '\\')
        {
          if (length - i >= 6 && memcmp (data + i + 1, "u0000", 5) == 0)
            return i;
          i++;
        }
    }

  return -1;
}

JsonParser *
bastion_json_parse_bounded (const char  *data,
                            gsize        length,
                            const char  *what,
                            GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (!bastion_json_check_depth (data, length, BASTION_JSON_MAX_DEPTH, what, error))
    return NULL;

  parser = json_parser_new ();
  if (length > 0 && !json_parser_load_from_data (parser, data, length, &local_error))
    {
      g_set_error (error, BASTION_BOUNDED_FILE_ERROR, BASTION_BOUNDED_FILE_ERROR_NOT_JSON,
                   /* Translators: what was read, then json-glib's reason */
                   _("%s is not valid JSON (%s)"), what, local_error->message);
      return NULL;
    }
  /* json-glib 1.6 accepts an empty or blank document with a NULL root. */
  if (length == 0 || json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, BASTION_BOUNDED_FILE_ERROR, BASTION_BOUNDED_FILE_ERROR_NOT_JSON,
                   _("%s is not valid JSON (it is empty)"), what);
      return NULL;
    }

  return g_steal_pointer (&parser);
}
