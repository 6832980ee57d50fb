/* fuzz-profiles-json.c: $XDG_CONFIG_HOME/bastion/profiles.json, as BastionProfileStore loads it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-profile-store.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *path;
  g_autoptr(BastionProfileStore) store = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    path = fuzz_tmp_path ("profiles.json");
  fuzz_write_file (path, data, size);

  store = bastion_profile_store_new (path);
  if (!bastion_profile_store_load (store, &error))
    {
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        abort ();
      /* A store that failed to load must refuse to overwrite the user's file. */
      if (g_list_model_get_n_items (G_LIST_MODEL (store)) != 0)
        g_error ("A store that failed to load is not empty");
      return 0;
    }

  /* Every loaded profile serialises again, and lookups by id find it. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (store)); i++)
    {
      g_autoptr(BastionProfile) profile = g_list_model_get_item (G_LIST_MODEL (store), i);
      JsonObject *object = bastion_profile_to_json (profile);

      json_object_unref (object);
      if (bastion_profile_store_lookup (store, bastion_profile_get_id (profile)) == NULL)
        g_error ("Profile %s is loaded but not found by id", bastion_profile_get_id (profile));
    }

  return 0;
}
