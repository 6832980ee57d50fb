/* fuzz-key-file.c: the content check of an SSH private key file (bastion_key_file_check_data)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * No key is committed as a seed: tools/run-fuzz generates throwaway keys with ssh-keygen into the
 * build directory at run time.
 */

#include "config.h"

#include "bastion-key-file.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  BastionKeyFormat format = BASTION_KEY_FORMAT_UNKNOWN;
  BastionKeyFileStatus status;

  fuzz_common_init ();

  status = bastion_key_file_check_data ((const char *) data, size, &format);
  if (status != BASTION_KEY_FILE_OK && status != BASTION_KEY_FILE_ENCRYPTED &&
      status != BASTION_KEY_FILE_NOT_A_KEY)
    g_error ("bastion_key_file_check_data() returned %d", status);
  if (status == BASTION_KEY_FILE_NOT_A_KEY && format != BASTION_KEY_FORMAT_UNKNOWN)
    g_error ("Not a key, yet a key format (%d)", format);

  return 0;
}
