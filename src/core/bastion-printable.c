/* bastion-printable.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include "bastion-printable.h"

/* The escape for the character at P (its UTF-8 length in *step), or NULL to copy it. */
static const char *
escape_at (const char            *p,
           const char            *end,
           BastionPrintableFlags  flags,
           char                   buf[8],
           gsize                 *step)
{
  guchar c = (guchar) *p;
  gunichar u;

  *step = 1;
  if (c >= 0x20 && c < 0x7f)
    return NULL;

  if (c < 0x80)
    {
      gboolean keep = (flags & BASTION_PRINTABLE_KEEP_LF_TAB) != 0;

      switch (c)
        {
        case '\n':
          return keep ? NULL : "\\n";
        case '\t':
          return keep ? NULL : "\\t";
        case '\r':
          return "\\r";
        default:
          g_snprintf (buf, 8, "\\x%02X", c);
          return buf;
        }
    }

  u = g_utf8_get_char_validated (p, end - p);
  if (u == (gunichar) -1 || u == (gunichar) -2)
    {
      g_snprintf (buf, 8, "\\x%02X", c);
      return buf;
    }

  *step = g_utf8_next_char (p) - p;
  if (u >= 0x80 && u <= 0x9f)
    {
      g_snprintf (buf, 8, "\\u%04X", u);
      return buf;
    }

  return NULL;
}

void
bastion_printable_append (GString               *out,
                          const char            *text,
                          gssize                 len,
                          BastionPrintableFlags  flags)
{
  const char *p, *end, *run;
  char buf[8];

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL || len == 0);

  if (len < 0)
    len = strlen (text);
  end = text + len;

  for (p = run = text; p < end;)
    {
      gsize step;
      const char *esc = escape_at (p, end, flags, buf, &step);

      if (esc != NULL)
        {
          g_string_append_len (out, run, p - run);
          g_string_append (out, esc);
          run = p + step;
        }
      p += step;
    }
  g_string_append_len (out, run, end - run);
}

char *
bastion_printable_dup (const char            *text,
                       gssize                 len,
                       BastionPrintableFlags  flags)
{
  GString *out;

  if (text == NULL)
    return NULL;

  out = g_string_new (NULL);
  bastion_printable_append (out, text, len, flags);

  return g_string_free (out, FALSE);
}

gboolean
bastion_printable_needs_escape (const char            *text,
                                gsize                  len,
                                BastionPrintableFlags  flags)
{
  const char *end = text + len;
  char buf[8];

  for (const char *p = text; p < end;)
    {
      gsize step;

      if (escape_at (p, end, flags, buf, &step) != NULL)
        return TRUE;
      p += step;
    }

  return FALSE;
}
