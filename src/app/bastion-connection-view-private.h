/* bastion-connection-view-private.h
 *
 * What the connection view's files share: its structure, and the functions one part calls in
 * another (bastion-connection-view.c: steps, fix, state; -prompts.c: host key and password
 * prompts; -aws.c: asking AWS and its fixes).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "bastion-aws.h"
#include "bastion-connection-view.h"

G_BEGIN_DECLS

#define FIRST_STEP BASTION_CONNECTION_STAGE_PROFILE
#define LAST_STEP  BASTION_CONNECTION_STAGE_DATABASE_LOGIN
#define N_STEPS    (LAST_STEP - FIRST_STEP + 1)

typedef enum
{
  PROMPT_NONE,
  PROMPT_HOST_KEY,
  PROMPT_PASSPHRASE,
  PROMPT_SSH_PASSWORD,
  PROMPT_DB_PASSWORD,
} Prompt;

struct _BastionConnectionView
{
  GtkWidget            parent_instance;

  /* Owned */
  BastionProfile      *profile;
  BastionConnection   *connection;
  GCancellable        *open_cancellable;
  GCancellable        *aws_cancellable;
  GCancellable        *trust_cancellable;
  BastionAwsDiagnosis *diagnosis;
  BastionAwsInstance  *instance;
  char                *aws_error;
  gulong               stage_handler;

  /* Unowned */
  AdwMessageDialog    *dialog;             /* the prompt on screen, if any */
  GtkWidget           *step_rows[N_STEPS];
  GtkStack            *step_icons[N_STEPS];
  GtkSpinner          *step_spinners[N_STEPS];

  /* Template widgets */
  GtkStack            *stack;
  GtkWidget           *connect_button;
  GtkLabel            *idle_label;
  GtkWidget           *idle_read_only_tag;
  AdwPreferencesGroup *steps_group;
  GtkButton           *cancel_button;
  GtkListBox          *steps_list;
  GtkWidget           *fix_group;
  GtkImage            *fix_icon;
  GtkLabel            *fix_title;
  GtkLabel            *fix_description;
  GtkWidget           *diagnosis_box;
  GtkLabel            *diagnosis_title;
  GtkLabel            *diagnosis_subtitle;
  GtkSpinner          *diagnosis_spinner;
  GtkButton           *prompt_button;
  GtkWidget           *check_ip_button;
  GtkWidget           *allow_ip_button;
  GtkWidget           *allow_temporarily_button;
  GtkWidget           *ssm_button;
  GtkWidget           *start_button;
  GtkWidget           *retry_button;

  Prompt               last_prompt;
  BastionConnectionStage announced_stage;  /* what the accessible name last said */
  guint                connected : 1;
  guint                aws_busy : 1;
  guint                trusting : 1;        /* the host key is being written */
  guint                offer_ssm : 1;       /* "Use Session Manager" chosen: offer it for good */
};

/* bastion-connection-view.c */
gboolean               bastion_connection_view_is_empty          (const char            *value);
BastionConnectionStage bastion_connection_view_current_stage     (BastionConnectionView *self);
void                   bastion_connection_view_show_toast        (BastionConnectionView *self,
                                                                  const char            *title);
GtkWindow             *bastion_connection_view_parent_window     (BastionConnectionView *self);
gboolean               bastion_connection_view_has_aws_names     (BastionConnectionView *self);
char                  *bastion_connection_view_dup_group_name    (BastionConnectionView *self);
char                  *bastion_connection_view_dup_instance_name (BastionConnectionView *self);
BastionAws            *bastion_connection_view_new_aws           (BastionConnectionView *self);
void                   bastion_connection_view_update_fix        (BastionConnectionView *self);
void                   bastion_connection_view_update_state      (BastionConnectionView *self);
void                   bastion_connection_view_start_connect     (BastionConnectionView *self);

/* bastion-connection-view-prompts.c */
void                   bastion_connection_view_present_dialog    (BastionConnectionView *self,
                                                                  AdwMessageDialog      *dialog);
void                   bastion_connection_view_set_trusting      (BastionConnectionView *self,
                                                                  gboolean               trusting);
Prompt                 bastion_connection_view_prompt_for_error  (BastionConnectionView *self,
                                                                  const GError          *error);
void                   bastion_connection_view_show_prompt       (BastionConnectionView *self,
                                                                  Prompt                 prompt);

/* bastion-connection-view-aws.c */
void                   bastion_connection_view_set_aws_busy      (BastionConnectionView *self,
                                                                  gboolean               busy);
void                   bastion_connection_view_describe_instance (BastionConnectionView *self);
void                   bastion_connection_view_check_ip_action   (GtkWidget             *widget,
                                                                  const char            *action_name,
                                                                  GVariant              *parameter);
void                   bastion_connection_view_allow_my_ip_action (GtkWidget            *widget,
                                                                   const char           *action_name,
                                                                   GVariant             *parameter);
void                   bastion_connection_view_allow_temporarily_action (GtkWidget      *widget,
                                                                         const char     *action_name,
                                                                         GVariant       *parameter);
void                   bastion_connection_view_start_bastion_action (GtkWidget          *widget,
                                                                     const char         *action_name,
                                                                     GVariant           *parameter);
void                   bastion_connection_view_use_ssm_action    (GtkWidget             *widget,
                                                                  const char            *action_name,
                                                                  GVariant              *parameter);
void                   bastion_connection_view_ssm_default_action (GtkWidget            *widget,
                                                                   const char           *action_name,
                                                                   GVariant             *parameter);
gboolean               bastion_connection_view_can_use_ssm       (BastionConnectionView *self,
                                                                  const GError          *error);
void                   bastion_connection_view_offer_ssm_default (BastionConnectionView *self);

G_END_DECLS
