/* fuzz-known-hosts.c: OpenSSH known_hosts files (~/.ssh/known_hosts and Bastion's own), with
 * plain, "[host]:port", wildcard, negated, hashed ("|1|salt|hash") and @revoked lines, and SSH
 * public key blobs as a server sends them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-known-hosts.h"
#include "fuzz-common.h"

/* An ed25519 public key blob (string "ssh-ed25519", string 32 bytes). Public, made up. */
static const guint8 ed25519_blob[] = {
  0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
  0, 0, 0, 32,
  0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00,
  0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *path;
  const char *files[] = { NULL, "/nonexistent/known_hosts", NULL };
  static const struct { const char *host; guint16 port; } hosts[] = {
    { "bastion.example.com", 22 },
    { "ec2-54-190-12-34.us-west-2.compute.amazonaws.com", 22 },
    { "127.0.0.1", 2222 },
    { "54.190.12.34", 22 },
  };

  /* Until bastion-known-hosts.c stops handing non-UTF-8 patterns to g_pattern_match_simple()
   * (which aborts on them; corpus/known-hosts/crash-invalid-utf8-host-pattern-min), this lets
   * a fuzzing run look past that known crash: FUZZ_KNOWN_HOSTS_UTF8_ONLY=1 tools/run-fuzz. */
  if (g_getenv ("FUZZ_KNOWN_HOSTS_UTF8_ONLY") != NULL &&
      !g_utf8_validate ((const char *) data, size, NULL))
    return 0;

  if (path == NULL)
    path = fuzz_tmp_path ("known_hosts");
  fuzz_write_file (path, data, size);
  files[0] = path;

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      BastionHostKeyStatus status;
      g_auto(GStrv) types = NULL;

      status = bastion_known_hosts_check (files, hosts[i].host, hosts[i].port,
                                          ed25519_blob, sizeof ed25519_blob);
      if (status != BASTION_HOST_KEY_TRUSTED && status != BASTION_HOST_KEY_UNKNOWN &&
          status != BASTION_HOST_KEY_CHANGED && status != BASTION_HOST_KEY_REVOKED)
        g_error ("bastion_known_hosts_check() returned %d", status);

      /* A changed key: the old one is found, in the file, on a line that exists. */
      {
        g_auto(GStrv) contents = bastion_known_hosts_read_files (files);
        g_autofree char *old_fp = NULL;
        guint source = 0, line_no = 0;

        if (bastion_known_hosts_find_old_key_contents ((const char * const *) contents,
                                                       hosts[i].host, hosts[i].port,
                                                       ed25519_blob, sizeof ed25519_blob,
                                                       &old_fp, &source, &line_no))
          {
            if (source != 0 || line_no == 0 || !g_str_has_prefix (old_fp, "SHA256:"))
              g_error ("Old key reported at %u:%u (%s)", source, line_no, old_fp);
          }
        else if (status == BASTION_HOST_KEY_CHANGED)
          g_error ("CHANGED, yet no old key of that type was found");
      }

      types = bastion_known_hosts_known_types (files, hosts[i].host, hosts[i].port);
      /* A host with a key we trust has at least that key's type. */
      if (status == BASTION_HOST_KEY_TRUSTED &&
          (types == NULL || !g_strv_contains ((const char * const *) types, "ssh-ed25519")))
        g_error ("Trusted, yet ssh-ed25519 is not among the known types");
    }

  /* The same bytes as a server's host key blob and as a pinned fingerprint. */
  {
    g_autofree char *type = bastion_known_hosts_blob_type (data, size);
    g_autofree char *fingerprint = bastion_known_hosts_fingerprint (data, size);
    g_autofree char *text = fuzz_dup_text (data, size);

    if (fingerprint == NULL || !g_str_has_prefix (fingerprint, "SHA256:"))
      g_error ("Bad fingerprint");
    if (!bastion_known_hosts_fingerprint_equal (fingerprint, data, size))
      g_error ("A fingerprint does not equal itself");
    (void) bastion_known_hosts_fingerprint_equal (text, ed25519_blob, sizeof ed25519_blob);
    if (type != NULL && !g_utf8_validate (type, -1, NULL) && strlen (type) > 64)
      g_error ("Bad key type");
  }

  return 0;
}
