/* bastion-aws-cleanup.c
 *
 * At start, the app removes what a killed Bastion left behind in AWS: the user's temporary
 * SSH rules past their expiry (issue 17). bastion-cli does the same before each AWS command.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-aws-cleanup.h"
#include "bastion-profile.h"

typedef struct
{
  GApplication *app;
  char         *group_name;
} Cleanup;

static void
cleanup_free (Cleanup *cleanup)
{
  g_clear_object (&cleanup->app);
  g_free (cleanup->group_name);
  g_free (cleanup);
}

static void
on_expired_removed (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Cleanup *cleanup = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) removed = NULL;

  removed = bastion_aws_remove_expired_rules_finish (BASTION_AWS (source), result, &error);
  if (removed == NULL)
    g_debug ("Could not look for expired temporary rules in %s: %s", cleanup->group_name,
             error->message);

  for (guint i = 0; removed != NULL && removed[i] != NULL; i++)
    {
      g_autoptr(GNotification) notification = NULL;
      g_autofree char *body = NULL;

      /* Translators: the first %s is an address (198.51.100.7/32), the second a group name */
      body = g_strdup_printf (_("Removed your expired temporary SSH rule for %s from %s."),
                              removed[i], cleanup->group_name);
      g_message ("%s", body);
      notification = g_notification_new (_("Expired SSH Rule Removed"));
      g_notification_set_body (notification, body);
      g_application_send_notification (cleanup->app, NULL, notification);
    }

  g_application_release (cleanup->app);
  cleanup_free (cleanup);
}

void
bastion_aws_cleanup_expired_rules (GApplication *app,
                                   GListModel   *profiles)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = g_list_model_get_n_items (profiles);

  g_return_if_fail (G_IS_APPLICATION (app));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(BastionProfile) profile = g_list_model_get_item (profiles, i);
      const char *prefix = bastion_profile_get_name_prefix (profile);
      g_autoptr(BastionAws) aws = NULL;
      g_autofree char *key = NULL;
      Cleanup *cleanup;

      if (prefix == NULL || prefix[0] == '\0')
        continue;

      cleanup = g_new0 (Cleanup, 1);
      cleanup->app = g_object_ref (app);
      cleanup->group_name = bastion_aws_security_group_name (prefix,
                                                              bastion_profile_get_stage (profile));
      /* Teams sharing an account, region and group are looked at once. */
      key = g_strdup_printf ("%s|%s|%s", bastion_profile_get_aws_profile (profile),
                             bastion_profile_get_aws_region (profile), cleanup->group_name);
      if (!g_hash_table_add (seen, g_steal_pointer (&key)))
        {
          cleanup_free (cleanup);
          continue;
        }

      aws = bastion_aws_new (bastion_profile_get_aws_profile (profile),
                             bastion_profile_get_aws_region (profile));
      g_application_hold (app);
      bastion_aws_remove_expired_rules_async (aws, cleanup->group_name, NULL,
                                              on_expired_removed, cleanup);
    }
}
