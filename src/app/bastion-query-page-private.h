/* bastion-query-page-private.h: the state the query page's files share
 *
 *   bastion-query-page.c          the widget: editor, a query's progress, its result, properties
 *   bastion-query-page-actions.c  running statements (queue, confirmations), the session's mode,
 *                                 the actions and their enablement
 *   bastion-query-page-export.c   query.export through the core's BastionExport
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-export.h"
#include "bastion-query-page.h"

G_BEGIN_DECLS

typedef enum
{
  PENDING_NONE,
  PENDING_RUN,
  PENDING_EXPORT,
} PendingKind;

struct _BastionQueryPage
{
  GtkWidget            parent_instance;

  /* Owned */
  BastionDatabase     *database;
  BastionQuery        *query;
  GCancellable        *cancellable;
  char                *title;
  char                *status_text;
  GtkTextTag          *error_tag;
  guint                tick_id;
  gulong               read_only_id;
  gulong               busy_id;
  gulong               transaction_id;
  gulong               connected_id;

  /* A statement (or an export) waiting for the running or paused query to end. */
  PendingKind          pending;
  char                *pending_sql;
  int                  pending_base;

  /* An export: export_file is set from the request until it ended (it may wait for the
   * connection), export only while it runs (the pipeline is the core's BastionExport). */
  BastionExport       *export;
  GFile               *export_file;
  GCancellable        *export_cancellable;
  BastionResultFormat  export_format;
  gsize                export_peak_queued;

  /* Where the running statement starts in the buffer (characters), -1 when not from it. */
  int                  run_base;

  /* Template widgets */
  GtkWidget           *box;
  GtkSourceView       *source_view;
  GtkStack            *result_stack;
  BastionResultGrid   *grid;
  AdwStatusPage       *message_page;
  GtkTextView         *plan_view;
  GtkLabel            *status_label;
  GtkSpinner          *spinner;
  GtkWidget           *fetch_more_button;
  GtkWidget           *export_button;
  GtkWidget           *transaction_box;
  GtkLabel            *transaction_label;
  GtkImage            *mode_icon;
  GtkLabel            *mode_label;
  GtkSwitch           *writes_switch;
  BastionChartView    *chart_view;
  GtkToggleButton     *chart_button;
  BastionExplainView  *explain_view;
  GtkExpander         *plan_expander;
  GtkPaned            *paned;

  guint                syncing_switch : 1;
  guint                running : 1;
  guint                run_when_connected : 1;
  guint                fixed_title : 1;
};

/* bastion-query-page.c */
char    *_bastion_query_page_format_rows         (guint64 n);
void     _bastion_query_page_set_status          (BastionQueryPage *self,
                                                  const char       *text,
                                                  gboolean          is_error);
void     _bastion_query_page_set_running         (BastionQueryPage *self,
                                                  gboolean          running);
gboolean _bastion_query_page_preference_boolean  (const char *key,
                                                  gboolean    fallback);
gboolean _bastion_query_page_query_is_active     (BastionQuery *query);
void     _bastion_query_page_start_query         (BastionQueryPage *self,
                                                  const char       *sql,
                                                  int               base);
void     _bastion_query_page_start_pending       (BastionQueryPage *self);
void     _bastion_query_page_run_text            (BastionQueryPage *self,
                                                  const char       *sql,
                                                  int               base);
void     _bastion_query_page_update_mode         (BastionQueryPage *self);
void     _bastion_query_page_update_actions      (BastionQueryPage *self);
void     _bastion_query_page_on_writes_switch    (BastionQueryPage *self,
                                                  GParamSpec       *pspec,
                                                  GtkSwitch        *widget);
void     _bastion_query_page_on_database_changed (BastionQueryPage *self);
void     _bastion_query_page_class_actions_init  (GtkWidgetClass *widget_class);
void     _bastion_query_page_start_export        (BastionQueryPage *self);
void     _bastion_query_page_export_cancel       (BastionQueryPage *self);
void     _bastion_query_page_export_clear        (BastionQueryPage *self);
void     _bastion_query_page_export_action       (GtkWidget  *widget,
                                                  const char *action_name,
                                                  GVariant   *param);
/* Tests: the most bytes the last export had waiting for its file (stays after it ended). */
gsize               _bastion_query_page_get_export_peak_queued (BastionQueryPage *self);

G_END_DECLS
