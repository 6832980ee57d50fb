/* fuzz-pgadmin.c: what Bastion reads from pgAdmin 4: the version assignments in web/version.py
 * (or config.py), the JSON that setup.py dump-servers writes, and the tail of its error output
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Those readers are static in bastion-launcher.c, so this target compiles that file into itself.
 */

#include "../../src/core/bastion-launcher.c"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *dump_path;
  g_autofree char *text = fuzz_dup_text (data, size);
  g_autofree char *tail = NULL;
  int major = -1;
  int minor = -1;

  fuzz_common_init ();

  if (parse_version_assignment (text, "APP_RELEASE", &major) && (major < 0 || major > 1000))
    g_error ("APP_RELEASE out of range: %d", major);
  if (parse_version_assignment (text, "APP_REVISION", &minor) && (minor < 0 || minor > 1000))
    g_error ("APP_REVISION out of range: %d", minor);

  tail = stderr_tail_of (text);
  if (!g_utf8_validate (tail, -1, NULL))
    g_error ("stderr_tail_of() returned invalid UTF-8");

  if (dump_path == NULL)
    dump_path = fuzz_tmp_path ("pgadmin-dump.json");
  fuzz_write_file (dump_path, data, size);
  {
    g_autoptr(GError) error = NULL;

    (void) dump_has_server (dump_path, "Bastion", "acme", &error);
  }

  return 0;
}
