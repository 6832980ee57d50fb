/* bastion-pgpass.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "bastion-pgpass.h"
#include "bastion-secure.h"

/**
 * bastion_pgpass_escape:
 *
 * Escapes one field of a pgpass line the way libpq reads it: “\” and “:” get a backslash.
 */
char *
bastion_pgpass_escape (const char *field)
{
  GString *out;

  g_return_val_if_fail (field != NULL, NULL);

  /* Room for the worst case: a GString that grows leaves an unwiped copy of a password behind. */
  out = g_string_sized_new (2 * strlen (field) + 1);
  for (const char *p = field; *p; p++)
    {
      if (*p == '\\' || *p == ':')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }

  return g_string_free (out, FALSE);
}

/**
 * bastion_pgpass_check_value:
 * @what: what the value is, for the message (“the password”, “the database name”)
 *
 * libpq's files are line based and have no quoting: a value must not hold a line break (or any
 * other control character).
 */
gboolean
bastion_pgpass_check_value (const char  *what,
                            const char  *value,
                            GError     **error)
{
  if (value == NULL)
    return TRUE;

  for (const char *p = value; *p; p++)
    {
      if ((guchar)*p < 0x20 || *p == 0x7f)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s holds a line break or another control character, which a libpq "
                         "password or service file cannot carry; change it in the profile"),
                       what);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * bastion_pgpass_format_line:
 * @host: (nullable): host name, %NULL for any (“*”)
 *
 * Returns: (transfer full): one line “host:port:db:user:password\n”, escaped, or %NULL
 */
char *
bastion_pgpass_format_line (const char  *host,
                            guint        port,
                            const char  *dbname,
                            const char  *user,
                            const char  *password,
                            GError     **error)
{
  g_autofree char *e_host = NULL;
  g_autofree char *e_db = NULL;
  g_autofree char *e_user = NULL;
  g_autofree char *e_password = NULL;
  char *line;

  g_return_val_if_fail (dbname != NULL, NULL);
  g_return_val_if_fail (user != NULL, NULL);
  g_return_val_if_fail (password != NULL, NULL);

  if (!bastion_pgpass_check_value (_("The host name"), host, error) ||
      !bastion_pgpass_check_value (_("The database name"), dbname, error) ||
      !bastion_pgpass_check_value (_("The user name"), user, error) ||
      !bastion_pgpass_check_value (_("The database password"), password, error))
    return NULL;

  e_host = host ? bastion_pgpass_escape (host) : g_strdup ("*");
  e_db = bastion_pgpass_escape (dbname);
  e_user = bastion_pgpass_escape (user);
  e_password = bastion_pgpass_escape (password);

  line = g_strdup_printf ("%s:%u:%s:%s:%s\n", e_host, port, e_db, e_user, e_password);

  /* The escaped copy held the password too. */
  bastion_secure_wipe (e_password, strlen (e_password));

  return line;
}

/**
 * bastion_pgpass_sanitize_name:
 *
 * A name that is safe as a file name and as a pg_service.conf section: letters, digits, “_”,
 * “-” and “.” (not first); anything else becomes “_”.
 */
char *
bastion_pgpass_sanitize_name (const char *name)
{
  GString *out;

  g_return_val_if_fail (name != NULL, NULL);

  out = g_string_new (NULL);
  for (const char *p = name; *p; p++)
    {
      char c = *p;

      if (g_ascii_isalnum (c) || c == '_' || c == '-' || (c == '.' && out->len > 0))
        g_string_append_c (out, c);
      else
        g_string_append_c (out, '_');
    }

  if (out->len == 0)
    g_string_append (out, "profile");

  return g_string_free (out, FALSE);
}
