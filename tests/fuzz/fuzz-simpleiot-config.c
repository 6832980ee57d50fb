/* fuzz-simpleiot-config.c: a team's ~/.simpleiot/<team>/config.json
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-profile.h"
#include "bastion-simpleiot.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(BastionProfile) profile = NULL;
  g_autoptr(GError) error = NULL;

  fuzz_common_init ();

  profile = bastion_simpleiot_parse_config ("/nonexistent/.simpleiot/acme", "config.json",
                                            (const char *) data, (gssize) size, warnings, &error);
  if (profile == NULL)
    {
      /* Every refusal must say why. */
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        abort ();
      return 0;
    }

  /* What we import must survive a round trip through profiles.json. */
  {
    JsonObject *object = bastion_profile_to_json (profile);
    g_autoptr(BastionProfile) again = NULL;
    g_autoptr(GError) again_error = NULL;

    again = bastion_profile_new_from_json (object, &again_error);
    json_object_unref (object);
    if (again == NULL)
      g_error ("An imported profile does not load back from JSON: %s", again_error->message);
  }

  return 0;
}
