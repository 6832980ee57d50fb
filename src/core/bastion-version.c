/* bastion-version.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <libssh2.h>

#include <gio/gio.h>

#include "bastion-build-id.h"
#include "bastion-version.h"

/* The header of libssh2 1.10 claims "1.9.0_DEV", so only what the loaded library says counts. */
const char *
bastion_version_get_libssh2 (void)
{
  return libssh2_version (0);
}

const char *
bastion_version_get_libcurl (void)
{
  return curl_version_info (CURLVERSION_NOW)->version;
}

char *
bastion_version_dup_libpq (void)
{
  int v = PQlibVersion ();

  if (v >= 100000)
    return g_strdup_printf ("%d.%d", v / 10000, v % 10000);

  return g_strdup_printf ("%d.%d.%d", v / 10000, (v / 100) % 100, v % 100);
}

char *
bastion_version_dup_glib (void)
{
  return g_strdup_printf ("%u.%u.%u", glib_major_version, glib_minor_version, glib_micro_version);
}

/* The libssh2 that libcurl uses, as libcurl reports it ("libssh2/1.11.1"), or NULL. */
static const char *
curl_libssh2_version (void)
{
  const curl_version_info_data *info = curl_version_info (CURLVERSION_NOW);

  return info->libssh_version;
}

char *
bastion_version_dup_summary (void)
{
  g_autofree char *pq = bastion_version_dup_libpq ();
  g_autofree char *glib = bastion_version_dup_glib ();
  const char *curl_ssh = curl_libssh2_version ();

  return g_strdup_printf ("build %s\n"
                          "libssh2 %s\n"
                          "libpq %s\n"
                          "libcurl %s%s%s%s\n"
                          "GLib %s",
                          BASTION_BUILD_ID,
                          bastion_version_get_libssh2 (),
                          pq,
                          bastion_version_get_libcurl (),
                          curl_ssh ? " (with " : "",
                          curl_ssh ? curl_ssh : "",
                          curl_ssh ? ")" : "",
                          glib);
}

gboolean
bastion_version_check_libssh2 (GError **error)
{
  if (libssh2_version (0x010b00) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "libssh2 %s is loaded, but Bastion needs %s or newer to sign with "
                   "rsa-sha2-256/512; rebuild Bastion with its bundled libssh2",
                   libssh2_version (0), LIBSSH2_MIN_VERSION);
      return FALSE;
    }

  return TRUE;
}
