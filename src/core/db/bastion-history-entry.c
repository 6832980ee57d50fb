/* bastion-history-entry.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include "bastion-history-entry.h"

struct _BastionHistoryEntry
{
  GObject               parent_instance;

  /* Owned */
  char                 *sql;
  char                 *sqlstate;

  gint64                id;
  gint64                started;
  gint64                duration;
  gint64                rows;
  BastionHistoryOutcome outcome;

  guint                 writes_allowed : 1;
};

G_DEFINE_FINAL_TYPE (BastionHistoryEntry, bastion_history_entry, G_TYPE_OBJECT)

static void
bastion_history_entry_finalize (GObject *object)
{
  BastionHistoryEntry *self = BASTION_HISTORY_ENTRY (object);

  g_free (self->sql);
  g_free (self->sqlstate);

  G_OBJECT_CLASS (bastion_history_entry_parent_class)->finalize (object);
}

static void
bastion_history_entry_class_init (BastionHistoryEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bastion_history_entry_finalize;
}

static void
bastion_history_entry_init (BastionHistoryEntry *self)
{
  self->rows = -1;
}

BastionHistoryEntry *
bastion_history_entry_new (const char           *sql,
                           gint64                started_usec,
                           gint64                duration_usec,
                           gint64                rows,
                           BastionHistoryOutcome outcome,
                           const char           *sqlstate,
                           gboolean              writes_allowed)
{
  BastionHistoryEntry *self;

  g_return_val_if_fail (sql != NULL, NULL);

  self = g_object_new (BASTION_TYPE_HISTORY_ENTRY, NULL);
  self->sql = g_strdup (sql);
  self->started = started_usec;
  self->duration = MAX (duration_usec, 0);
  self->rows = rows;
  self->outcome = outcome;
  self->sqlstate = sqlstate != NULL && *sqlstate != '\0' ? g_strdup (sqlstate) : NULL;
  self->writes_allowed = !!writes_allowed;
  return self;
}

gint64
bastion_history_entry_get_id (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), 0);
  return self->id;
}

void
bastion_history_entry_set_id (BastionHistoryEntry *self,
                              gint64               id)
{
  g_return_if_fail (BASTION_IS_HISTORY_ENTRY (self));
  self->id = id;
}

const char *
bastion_history_entry_get_sql (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), NULL);
  return self->sql;
}

gint64
bastion_history_entry_get_started (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), 0);
  return self->started;
}

gint64
bastion_history_entry_get_duration (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), 0);
  return self->duration;
}

gint64
bastion_history_entry_get_rows (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), -1);
  return self->rows;
}

BastionHistoryOutcome
bastion_history_entry_get_outcome (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), BASTION_HISTORY_OUTCOME_OK);
  return self->outcome;
}

const char *
bastion_history_entry_get_sqlstate (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), NULL);
  return self->sqlstate;
}

gboolean
bastion_history_entry_get_writes_allowed (BastionHistoryEntry *self)
{
  g_return_val_if_fail (BASTION_IS_HISTORY_ENTRY (self), FALSE);
  return self->writes_allowed;
}
