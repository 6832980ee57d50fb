/* fuzz-pgpass.c: the pgpass line and service names Bastion writes from values that come from
 * outside (the database user and name from a team config, the password from Secrets Manager)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is split at NUL bytes into host, dbname, user and password. A line that is accepted
 * must read back (by libpq's rules: fields split at unescaped ':', "\\" and "\:" unescaped) as
 * exactly those values, on exactly one line.
 */

#include "config.h"

#include <string.h>

#include "bastion-pgpass.h"
#include "fuzz-common.h"

/* libpq's reading of one .pgpass line (fe-connect.c passwordFromFile()), done again here. */
static GStrv
split_pgpass_line (const char *line)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GString) field = g_string_new (NULL);

  for (const char *p = line; *p != '\0'; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          p++;
          g_string_append_c (field, *p);
        }
      else if (*p == ':')
        {
          g_strv_builder_add (builder, field->str);
          g_string_truncate (field, 0);
        }
      else
        g_string_append_c (field, *p);
    }
  g_strv_builder_add (builder, field->str);

  return g_strv_builder_end (builder);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  const char *fields[4] = { "", "", "", "" };
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 0;
  size_t start = 0;

  fuzz_common_init ();

  /* text holds the input with a NUL after it, so each field is a C string. */
  text = fuzz_dup_text (data, size);
  for (size_t i = 0; i <= size && n < G_N_ELEMENTS (fields); i++)
    {
      if (text[i] == '\0')
        {
          fields[n++] = text + start;
          start = i + 1;
        }
    }

  {
    g_autofree char *escaped = bastion_pgpass_escape (fields[3]);
    g_autofree char *name = bastion_pgpass_sanitize_name (fields[0]);

    if (escaped == NULL || name == NULL)
      g_error ("escape/sanitize returned NULL");
    for (const char *p = name; *p != '\0'; p++)
      if (*p == '/' || *p == '\n')
        g_error ("sanitize_name() let through a '/' or a newline: %s", name);
  }

  (void) bastion_pgpass_check_value ("user", fields[2], NULL);

  /* libpq skips a line that starts with '#': the host is ours (127.0.0.1), never outside input,
   * so such hosts are not tried. */
  if (fields[0][0] == '#')
    return 0;

  line = bastion_pgpass_format_line (fields[0], 6543, fields[1], fields[2], fields[3], &error);
  if (line == NULL)
    {
      if (error == NULL || error->message[0] == '\0')
        abort ();
      return 0;
    }

  {
    g_autofree char *body = g_strdup (line);
    g_auto(GStrv) parts = NULL;
    gsize len = strlen (body);

    if (len > 0 && body[len - 1] == '\n')
      body[len - 1] = '\0';
    if (strchr (body, '\n') != NULL || strchr (body, '\r') != NULL)
      g_error ("A pgpass line with a line break: %s", line);

    parts = split_pgpass_line (body);
    if (g_strv_length (parts) != 5)
      g_error ("A pgpass line with %u fields: %s", g_strv_length (parts), line);
    if (!g_str_equal (parts[0], fields[0]) || !g_str_equal (parts[1], "6543") ||
        !g_str_equal (parts[2], fields[1]) || !g_str_equal (parts[3], fields[2]) ||
        !g_str_equal (parts[4], fields[3]))
      g_error ("The pgpass line does not read back as written: %s", line);
  }

  return 0;
}
