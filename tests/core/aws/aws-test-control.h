/* aws-test-control.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* GET (json NULL) or POST json to $BASTION_TEST_AWS_CONTROL_URL/path; the reply's JSON. */
JsonNode     *control                    (const char    *path,
                                          const char    *json);
void          control_set                (const char    *json);
JsonObject   *state_get                  (void);
guint         count_requests             (JsonObject    *state,
                                          const char    *action);
/* No signature failure, at least min_requests requests, each verified. */
void          assert_signatures_verified (guint          min_requests);
/* The first group's rules as "cidr|description" strings. */
GPtrArray    *group_rules                (void);
const char   *find_rule                  (GPtrArray     *rules,
                                          const char    *cidr);
/* A GAsyncReadyCallback storing the result in *user_data; wait_for() iterates the default
 * context until it is there. */
void          on_ready                   (GObject       *object,
                                          GAsyncResult  *result,
                                          gpointer       user_data);
GAsyncResult *wait_for                   (GAsyncResult **result);

G_END_DECLS
