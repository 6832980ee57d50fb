/* aws-test-control.c
 *
 * Shared by the GTest programs that run against tests/harness/aws_endpoint.py: its control API
 * (blocking calls are fine in a test) and waiting for async results.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <curl/curl.h>

#include "aws-test-control.h"


/* ---------------------------------------------------------------------------------------------
 * The endpoint's control API (blocking calls are fine in the test itself)
 */

static size_t
collect (char   *ptr,
         size_t  size,
         size_t  nmemb,
         void   *userdata)
{
  g_string_append_len (userdata, ptr, size * nmemb);
  return size * nmemb;
}

JsonNode *
control (const char *path,
         const char *json)
{
  const char *base = g_getenv ("BASTION_TEST_AWS_CONTROL_URL");
  g_autofree char *url = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  struct curl_slist *headers = NULL;
  CURL *easy;
  CURLcode code;
  long status = 0;

  g_assert_nonnull (base);
  url = g_strdup_printf ("%s/%s", base, path);
  easy = curl_easy_init ();
  curl_easy_setopt (easy, CURLOPT_URL, url);
  curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (easy, CURLOPT_WRITEDATA, reply);
  if (json != NULL)
    {
      headers = curl_slist_append (headers, "Content-Type: application/json");
      curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt (easy, CURLOPT_POSTFIELDS, json);
    }
  code = curl_easy_perform (easy);
  curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (easy);
  curl_slist_free_all (headers);
  g_assert_cmpint (code, ==, CURLE_OK);
  g_assert_cmpint (status, ==, 200);

  json_parser_load_from_data (parser, reply->str, reply->len, &error);
  g_assert_no_error (error);

  return json_node_copy (json_parser_get_root (parser));
}

void
control_set (const char *json)
{
  g_autoptr(JsonNode) node = control ("state", json);
}

JsonObject *
state_get (void)
{
  JsonNode *node = control ("state", NULL);
  JsonObject *object = json_object_ref (json_node_get_object (node));

  json_node_unref (node);
  return object;
}

guint
count_requests (JsonObject *state,
                const char *action)
{
  JsonArray *requests = json_object_get_array_member (state, "requests");
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (requests); i++)
    {
      JsonObject *request = json_array_get_object_element (requests, i);

      if (g_strcmp0 (json_object_get_string_member (request, "action"), action) == 0)
        n++;
    }

  return n;
}

void
assert_signatures_verified (guint min_requests)
{
  g_autoptr(JsonObject) state = state_get ();
  JsonArray *failures = json_object_get_array_member (state, "signature_failures");
  JsonArray *requests = json_object_get_array_member (state, "requests");

  for (guint i = 0; i < json_array_get_length (failures); i++)
    {
      JsonObject *failure = json_array_get_object_element (failures, i);

      g_printerr ("signature failure for %s: %s\n",
                  json_object_get_string_member (failure, "action"),
                  json_object_get_string_member (failure, "reason"));
    }
  g_assert_cmpuint (json_array_get_length (failures), ==, 0);
  g_assert_cmpuint (json_array_get_length (requests), >=, min_requests);
  for (guint i = 0; i < json_array_get_length (requests); i++)
    {
      JsonObject *request = json_array_get_object_element (requests, i);

      g_assert_true (json_object_get_boolean_member_with_default (request, "signature_ok",
                                                                  FALSE));
    }
}

/* The group's rules as "cidr|description" strings. */
GPtrArray *
group_rules (void)
{
  g_autoptr(JsonObject) state = state_get ();
  JsonArray *groups = json_object_get_array_member (state, "security_groups");
  JsonArray *rules = json_object_get_array_member (json_array_get_object_element (groups, 0),
                                                   "rules");
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (rules); i++)
    {
      JsonObject *rule = json_array_get_object_element (rules, i);

      g_ptr_array_add (out, g_strdup_printf ("%s|%s",
                                             json_object_get_string_member (rule, "cidr"),
                                             json_object_get_string_member (rule, "description")));
    }

  return out;
}

const char *
find_rule (GPtrArray  *rules,
           const char *cidr)
{
  g_autofree char *prefix = g_strconcat (cidr, "|", NULL);

  for (guint i = 0; i < rules->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (rules, i), prefix))
      return g_ptr_array_index (rules, i);

  return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Running async calls
 */

void
on_ready (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
  }

GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *result;
}
