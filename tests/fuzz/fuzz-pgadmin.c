/* fuzz-pgadmin.c: what Bastion reads from pgAdmin 4: the version assignments in web/version.py
 * (or config.py), the JSON that setup.py dump-servers writes, and the tail of its error output
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The version reader is static in bastion-launcher-detect.c and the stderr tail in
 * bastion-launcher-launch.c, so this target compiles those files into itself; the dump is read by
 * bastion_pgadmin_find_entry() (bastion-launcher-pgadmin.c).
 */

#include "../../src/core/launch/bastion-launcher-detect.c"
#include "../../src/core/launch/bastion-launcher-launch.c"

#include "fuzz-common.h"

/* One server, as the plan's servers.json has it. */
#define WANTED_SERVERS_JSON \
  "{\"Servers\": {\"1\": {\"Name\": \"Bastion\", \"Group\": \"acme\", " \
  "\"Host\": \"127.0.0.1\", \"Port\": 6543, \"MaintenanceDB\": \"simpleiot\", " \
  "\"Username\": \"dbadmin\"}}}"

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

    (void) bastion_pgadmin_find_entry (dump_path, WANTED_SERVERS_JSON, &error);
  }

  return 0;
}
