/* bastion-readonly-offer.c: the once-per-team offer of a read-only login.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "bastion-readonly-offer.h"
#include "bastion-readonly-role.h"

typedef struct
{
  GtkWidget       *widget;    /* weak */
  BastionDatabase *database;  /* owned by a dialog's copy only: the watch's would be a cycle */
  char            *profile_id;
  char            *team;
} Offer;

static Offer *
offer_new (GtkWidget       *widget,
           BastionDatabase *database,
           const char      *profile_id,
           const char      *team)
{
  Offer *offer = g_new0 (Offer, 1);

  g_set_weak_pointer (&offer->widget, widget);
  offer->database = database != NULL ? g_object_ref (database) : NULL;
  offer->profile_id = g_strdup (profile_id);
  offer->team = g_strdup (team != NULL ? team : profile_id);
  return offer;
}

static void
offer_free (gpointer  user_data,
            GClosure *closure)
{
  Offer *offer = user_data;

  g_clear_weak_pointer (&offer->widget);
  g_clear_object (&offer->database);
  g_free (offer->profile_id);
  g_free (offer->team);
  g_free (offer);
}

static GSettings *
settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL || !g_settings_schema_has_key (schema, "readonly-role-offered"))
    return NULL;
  return g_settings_new (APP_ID);
}

/* TRUE the first time for @profile_id (and remembers it). */
static gboolean
first_time (const char *profile_id)
{
  g_autoptr(GSettings) prefs = settings ();
  g_auto(GStrv) asked = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) now = NULL;

  if (prefs == NULL)
    return FALSE;
  asked = g_settings_get_strv (prefs, "readonly-role-offered");
  if (g_strv_contains ((const char * const *)asked, profile_id))
    return FALSE;

  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **)asked);
  g_strv_builder_add (builder, profile_id);
  now = g_strv_builder_end (builder);
  g_settings_set_strv (prefs, "readonly-role-offered", (const char * const *)now);
  return TRUE;
}

static GtkWindow *
parent_window (Offer *offer)
{
  GtkRoot *root = offer->widget != NULL ? gtk_widget_get_root (offer->widget) : NULL;

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
tell (Offer      *offer,
      const char *heading,
      const char *body)
{
  GtkWidget *dialog = adw_message_dialog_new (parent_window (offer), heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
created_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Offer *offer = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;

  if (!bastion_readonly_role_run_finish (result, &error))
    {
      body = g_strdup_printf (_("The read-only login was not made: %s"), error->message);
      tell (offer, _("No Read-Only Login"), body);
    }
  else
    {
      body = g_strdup_printf (_("The role “%s” can only read, and its password is in the "
                                "keyring. From the next connection on, read-only tabs and the "
                                "tools Bastion opens for %s log in as it."),
                              BASTION_READONLY_ROLE, offer->team);
      tell (offer, _("Read-Only Login Ready"), body);
    }
  offer_free (offer, NULL);
}

static void
on_response (AdwMessageDialog *dialog,
             const char       *response,
             Offer            *offer)
{
  if (g_strcmp0 (response, "create") != 0 || offer->widget == NULL)
    return;

  bastion_readonly_role_run_async (offer->database, offer->profile_id, offer->team,
                                   BASTION_READONLY_ROLE_CREATE, NULL, created_cb,
                                   offer_new (offer->widget, offer->database, offer->profile_id,
                                              offer->team));
}

static void
on_read_only (BastionDatabase *database,
              GParamSpec      *pspec,
              Offer           *offer)
{
  GtkWidget *dialog;

  if (bastion_database_get_read_only (database) || offer->widget == NULL
      || !bastion_database_get_connected (database)
      || !first_time (offer->profile_id))
    return;

  dialog = adw_message_dialog_new (parent_window (offer),
                                   _("Make a Read-Only Login for This Team?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("Bastion can create a PostgreSQL role, “%s”, that may only "
                                    "read: it owns nothing, has "
                                    "default_transaction_read_only = on, and its generated "
                                    "password stays in your keyring. Read-only tabs and the "
                                    "pgAdmin, DBeaver, psql and pgcli that Bastion opens for %s "
                                    "then log in as it, so the server itself refuses their "
                                    "writes; the admin role is used only while writes are "
                                    "allowed.\n\nThis asks once. Later: “bastion-cli "
                                    "readonly-role %s create|rotate|drop”."),
                                  BASTION_READONLY_ROLE, offer->team, offer->profile_id);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "not-now", _("_Not Now"),
                                    "create", _("_Create Read-Only Login"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "create",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "not-now");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "not-now");
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_response),
                         offer_new (offer->widget, database, offer->profile_id, offer->team),
                         offer_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
bastion_readonly_offer_watch (GtkWidget       *widget,
                              BastionDatabase *database,
                              const char      *profile_id,
                              const char      *team)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));
  g_return_if_fail (BASTION_IS_DATABASE (database));
  g_return_if_fail (profile_id != NULL);

  /* Lives as long as the database; once @widget is gone the handler does nothing. */
  g_signal_connect_data (database, "notify::read-only", G_CALLBACK (on_read_only),
                         offer_new (widget, NULL, profile_id, team), offer_free, 0);
}
