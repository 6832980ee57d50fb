/* bastion-profile.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-defaults.h"
#include "bastion-profile.h"

enum {
  PROP_0,
  PROP_ID,
  PROP_DISPLAY_NAME,
  PROP_SOURCE,
  PROP_TEAM_DIR,
  PROP_SSH_HOST,
  PROP_SSH_PORT,
  PROP_SSH_USER,
  PROP_AUTH_METHOD,
  PROP_KEY_FILE,
  PROP_HOST_KEY_PIN,
  PROP_SSH_ALIAS,
  PROP_PROXY_JUMP,
  PROP_DB_HOST,
  PROP_DB_PORT,
  PROP_DB_NAME,
  PROP_DB_USER,
  PROP_LOCAL_PORT,
  PROP_SSL_MODE,
  PROP_SSL_ROOT_CERT,
  PROP_AWS_PROFILE,
  PROP_AWS_REGION,
  PROP_AWS_ACCOUNT,
  PROP_AWS_SECRET_ID,
  PROP_NAME_PREFIX,
  PROP_STAGE,
  PROP_ALLOWED_IP,
  PROP_READ_ONLY,
  PROP_ENV_LABEL,
  PROP_ENV_COLOR,
  PROP_HAS_DB_ACCESS,
  PROP_NO_ACCESS_REASON,
  PROP_TRANSPORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The fields a SimpleIOT team config provides: an import refreshes these unless the user changed
 * them. The others (auth method, pin, TLS, read-only, environment label) are the user's alone. */
static const guint team_fields[] = {
  PROP_DISPLAY_NAME, PROP_SOURCE, PROP_TEAM_DIR, PROP_SSH_HOST, PROP_SSH_PORT, PROP_SSH_USER,
  PROP_KEY_FILE, PROP_DB_HOST, PROP_DB_PORT, PROP_DB_NAME, PROP_DB_USER, PROP_LOCAL_PORT,
  PROP_AWS_PROFILE, PROP_AWS_REGION, PROP_AWS_ACCOUNT, PROP_AWS_SECRET_ID, PROP_NAME_PREFIX,
  PROP_STAGE, PROP_ALLOWED_IP, PROP_HAS_DB_ACCESS, PROP_NO_ACCESS_REASON,
};

struct _BastionProfile
{
  GObject parent_instance;

  /* Owned */
  char       *id;
  char       *strings[N_PROPS];   /* string properties, indexed by PROP_* */
  guint       uints[N_PROPS];     /* uint, enum and boolean properties */
  GHashTable *user_modified;      /* interned property names */
  JsonObject *extra;              /* members of profiles.json we do not know */

  guint       updating : 1;
};

G_DEFINE_FINAL_TYPE (BastionProfile, bastion_profile, G_TYPE_OBJECT)

G_DEFINE_QUARK (bastion-profile-error-quark, bastion_profile_error)

static const char *
enum_to_nick (GType type,
              int   value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *ev = g_enum_get_value (klass, value);
  const char *nick = ev ? ev->value_nick : NULL;

  g_type_class_unref (klass);
  return nick;
}

static gboolean
enum_from_nick (GType       type,
                const char *nick,
                int        *value)
{
  GEnumClass *klass;
  GEnumValue *ev;

  if (nick == NULL)
    return FALSE;

  klass = g_type_class_ref (type);
  ev = g_enum_get_value_by_nick (klass, nick);
  if (ev != NULL)
    *value = ev->value;
  g_type_class_unref (klass);

  return ev != NULL;
}

const char *
bastion_profile_source_to_string (BastionProfileSource source)
{
  return enum_to_nick (BASTION_TYPE_PROFILE_SOURCE, source);
}

gboolean
bastion_profile_source_from_string (const char           *str,
                                    BastionProfileSource *source)
{
  int value;

  if (!enum_from_nick (BASTION_TYPE_PROFILE_SOURCE, str, &value))
    return FALSE;
  if (source)
    *source = value;
  return TRUE;
}

const char *
bastion_auth_method_to_string (BastionAuthMethod method)
{
  return enum_to_nick (BASTION_TYPE_AUTH_METHOD, method);
}

gboolean
bastion_auth_method_from_string (const char        *str,
                                 BastionAuthMethod *method)
{
  int value;

  if (!enum_from_nick (BASTION_TYPE_AUTH_METHOD, str, &value))
    return FALSE;
  if (method)
    *method = value;
  return TRUE;
}

const char *
bastion_transport_to_string (BastionTransport transport)
{
  return enum_to_nick (BASTION_TYPE_TRANSPORT, transport);
}

gboolean
bastion_transport_from_string (const char       *str,
                               BastionTransport *transport)
{
  int value;

  if (!enum_from_nick (BASTION_TYPE_TRANSPORT, str, &value))
    return FALSE;
  if (transport)
    *transport = value;
  return TRUE;
}

static void
mark_modified (BastionProfile *self,
               guint           prop_id)
{
  if (self->updating)
    return;
  g_hash_table_add (self->user_modified,
                    (gpointer) g_intern_string (g_param_spec_get_name (properties[prop_id])));
}

static void
set_string (BastionProfile *self,
            guint           prop_id,
            const char     *value)
{
  g_assert (prop_id > PROP_ID && prop_id < N_PROPS);

  /* An empty string from an entry means "not set". */
  if (value != NULL && value[0] == '\0')
    value = NULL;

  if (g_strcmp0 (self->strings[prop_id], value) == 0)
    return;

  g_free (self->strings[prop_id]);
  self->strings[prop_id] = g_strdup (value);
  mark_modified (self, prop_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_uint (BastionProfile *self,
          guint           prop_id,
          guint           value)
{
  g_assert (prop_id > PROP_ID && prop_id < N_PROPS);

  if (self->uints[prop_id] == value)
    return;

  self->uints[prop_id] = value;
  mark_modified (self, prop_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
bastion_profile_finalize (GObject *object)
{
  BastionProfile *self = (BastionProfile *)object;

  g_clear_pointer (&self->id, g_free);
  for (guint i = 0; i < N_PROPS; i++)
    g_clear_pointer (&self->strings[i], g_free);
  g_clear_pointer (&self->user_modified, g_hash_table_unref);
  g_clear_pointer (&self->extra, json_object_unref);

  G_OBJECT_CLASS (bastion_profile_parent_class)->finalize (object);
}

static void
bastion_profile_constructed (GObject *object)
{
  BastionProfile *self = (BastionProfile *)object;

  G_OBJECT_CLASS (bastion_profile_parent_class)->constructed (object);

  if (self->id == NULL || self->id[0] == '\0')
    {
      g_free (self->id);
      self->id = g_uuid_string_random ();
    }
}

static void
bastion_profile_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  BastionProfile *self = BASTION_PROFILE (object);
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (prop_id == PROP_ID)
    g_value_set_string (value, self->id);
  else if (prop_id > PROP_ID && prop_id < N_PROPS)
    {
      if (type == G_TYPE_STRING)
        g_value_set_string (value, self->strings[prop_id]);
      else if (type == G_TYPE_UINT)
        g_value_set_uint (value, self->uints[prop_id]);
      else if (type == G_TYPE_BOOLEAN)
        g_value_set_boolean (value, self->uints[prop_id]);
      else
        g_value_set_enum (value, self->uints[prop_id]);
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bastion_profile_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  BastionProfile *self = BASTION_PROFILE (object);
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (prop_id == PROP_ID)
    self->id = g_value_dup_string (value);
  else if (prop_id > PROP_ID && prop_id < N_PROPS)
    {
      if (type == G_TYPE_STRING)
        set_string (self, prop_id, g_value_get_string (value));
      else if (type == G_TYPE_UINT)
        set_uint (self, prop_id, g_value_get_uint (value));
      else if (type == G_TYPE_BOOLEAN)
        set_uint (self, prop_id, !!g_value_get_boolean (value));
      else
        set_uint (self, prop_id, g_value_get_enum (value));
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static GParamSpec *
string_pspec (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
uint_pspec (const char *name,
            guint       max)
{
  return g_param_spec_uint (name, NULL, NULL, 0, max, 0,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
bool_pspec (const char *name,
            gboolean    default_value)
{
  return g_param_spec_boolean (name, NULL, NULL, default_value,
                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                               | G_PARAM_STATIC_STRINGS);
}

static void
bastion_profile_class_init (BastionProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bastion_profile_finalize;
  object_class->constructed = bastion_profile_constructed;
  object_class->get_property = bastion_profile_get_property;
  object_class->set_property = bastion_profile_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] = string_pspec ("display-name");
  properties[PROP_SOURCE] =
    g_param_spec_enum ("source", NULL, NULL,
                       BASTION_TYPE_PROFILE_SOURCE, BASTION_PROFILE_SOURCE_MANUAL,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEAM_DIR] = string_pspec ("team-dir");
  properties[PROP_SSH_HOST] = string_pspec ("ssh-host");
  properties[PROP_SSH_PORT] = uint_pspec ("ssh-port", 65535);
  properties[PROP_SSH_USER] = string_pspec ("ssh-user");
  properties[PROP_AUTH_METHOD] =
    g_param_spec_enum ("auth-method", NULL, NULL,
                       BASTION_TYPE_AUTH_METHOD, BASTION_AUTH_METHOD_KEY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KEY_FILE] = string_pspec ("key-file");
  properties[PROP_HOST_KEY_PIN] = string_pspec ("host-key-pin");
  /* An alias of ~/.ssh/config: its HostName, User, Port, IdentityFile … win (issue 18). */
  properties[PROP_SSH_ALIAS] = string_pspec ("ssh-alias");
  /* ProxyJump hops ("user@host:port,…"), as OpenSSH spells them. */
  properties[PROP_PROXY_JUMP] = string_pspec ("proxy-jump");
  properties[PROP_DB_HOST] = string_pspec ("db-host");
  properties[PROP_DB_PORT] = uint_pspec ("db-port", 65535);
  properties[PROP_DB_NAME] = string_pspec ("db-name");
  properties[PROP_DB_USER] = string_pspec ("db-user");
  properties[PROP_LOCAL_PORT] = uint_pspec ("local-port", 65535);
  properties[PROP_SSL_MODE] = string_pspec ("ssl-mode");
  properties[PROP_SSL_ROOT_CERT] = string_pspec ("ssl-root-cert");
  properties[PROP_AWS_PROFILE] = string_pspec ("aws-profile");
  properties[PROP_AWS_REGION] = string_pspec ("aws-region");
  properties[PROP_AWS_ACCOUNT] = string_pspec ("aws-account");
  properties[PROP_AWS_SECRET_ID] = string_pspec ("aws-secret-id");
  properties[PROP_NAME_PREFIX] = string_pspec ("name-prefix");
  properties[PROP_STAGE] = string_pspec ("stage");
  properties[PROP_ALLOWED_IP] = string_pspec ("allowed-ip");
  properties[PROP_READ_ONLY] = bool_pspec ("read-only", TRUE);
  properties[PROP_ENV_LABEL] = string_pspec ("env-label");
  properties[PROP_ENV_COLOR] = string_pspec ("env-color");
  properties[PROP_HAS_DB_ACCESS] = bool_pspec ("has-db-access", TRUE);
  properties[PROP_NO_ACCESS_REASON] = string_pspec ("no-access-reason");
  /* The user's alone, like the auth method; files without it load as "ssh". */
  properties[PROP_TRANSPORT] =
    g_param_spec_enum ("transport", NULL, NULL,
                       BASTION_TYPE_TRANSPORT, BASTION_TRANSPORT_SSH,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
bastion_profile_init (BastionProfile *self)
{
  self->user_modified = g_hash_table_new (NULL, NULL);
  self->extra = json_object_new ();
  self->uints[PROP_SOURCE] = BASTION_PROFILE_SOURCE_MANUAL;
  self->uints[PROP_AUTH_METHOD] = BASTION_AUTH_METHOD_KEY;
  self->uints[PROP_SSH_PORT] = BASTION_DEFAULT_SSH_PORT;
  self->uints[PROP_DB_PORT] = BASTION_DEFAULT_DB_PORT;
  self->uints[PROP_READ_ONLY] = TRUE;
  self->uints[PROP_HAS_DB_ACCESS] = TRUE;
  self->strings[PROP_SSL_MODE] = g_strdup ("prefer");
}

BastionProfile *
bastion_profile_new (const char *id)
{
  return g_object_new (BASTION_TYPE_PROFILE, "id", id, NULL);
}

BastionProfile *
bastion_profile_new_simpleiot (const char *team)
{
  g_autofree char *id = NULL;
  BastionProfile *self;

  g_return_val_if_fail (team != NULL, NULL);

  id = g_strconcat ("simpleiot-", team, NULL);
  self = g_object_new (BASTION_TYPE_PROFILE, "id", id, NULL);
  self->updating = TRUE;
  set_uint (self, PROP_SOURCE, BASTION_PROFILE_SOURCE_SIMPLEIOT);
  set_string (self, PROP_DISPLAY_NAME, team);
  self->updating = FALSE;

  return self;
}

static void
copy_property (BastionProfile *self,
               BastionProfile *from,
               guint           prop_id)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (properties[prop_id]);

  if (type == G_TYPE_STRING)
    set_string (self, prop_id, from->strings[prop_id]);
  else
    set_uint (self, prop_id, from->uints[prop_id]);
}

BastionProfile *
bastion_profile_dup (BastionProfile *self)
{
  BastionProfile *copy;
  g_autofree char *name = NULL;

  g_return_val_if_fail (BASTION_IS_PROFILE (self), NULL);

  copy = bastion_profile_new (NULL);
  copy->updating = TRUE;
  for (guint i = PROP_ID + 1; i < N_PROPS; i++)
    copy_property (copy, self, i);
  set_uint (copy, PROP_SOURCE, BASTION_PROFILE_SOURCE_MANUAL);
  /* Translators: the name of a duplicated profile */
  name = g_strdup_printf (_("%s (copy)"),
                          self->strings[PROP_DISPLAY_NAME] ? self->strings[PROP_DISPLAY_NAME]
                                                           : self->id);
  set_string (copy, PROP_DISPLAY_NAME, name);
  copy->updating = FALSE;

  return copy;
}

gboolean
bastion_profile_is_user_modified (BastionProfile *self,
                                  const char     *property)
{
  g_return_val_if_fail (BASTION_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (property != NULL, FALSE);

  return g_hash_table_contains (self->user_modified, g_intern_string (property));
}

void
bastion_profile_clear_user_modified (BastionProfile *self,
                                     const char     *property)
{
  g_return_if_fail (BASTION_IS_PROFILE (self));
  g_return_if_fail (property != NULL);

  g_hash_table_remove (self->user_modified, g_intern_string (property));
}

static int
compare_strings_indirect (gconstpointer a,
                          gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

char **
bastion_profile_dup_user_modified (BastionProfile *self)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;
  char **strv;

  g_return_val_if_fail (BASTION_IS_PROFILE (self), NULL);

  g_hash_table_iter_init (&iter, self->user_modified);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_strings_indirect);

  strv = g_new0 (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    strv[i] = g_strdup (g_ptr_array_index (names, i));

  return strv;
}

gboolean
bastion_profile_update_from_team (BastionProfile *self,
                                  BastionProfile *team)
{
  gboolean changed = FALSE;

  g_return_val_if_fail (BASTION_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (BASTION_IS_PROFILE (team), FALSE);

  g_object_freeze_notify (G_OBJECT (self));
  self->updating = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (team_fields); i++)
    {
      guint prop_id = team_fields[i];
      GType type = G_PARAM_SPEC_VALUE_TYPE (properties[prop_id]);

      if (g_hash_table_contains (self->user_modified,
                                 g_param_spec_get_name (properties[prop_id])))
        continue;

      if (type == G_TYPE_STRING)
        changed |= g_strcmp0 (self->strings[prop_id], team->strings[prop_id]) != 0;
      else
        changed |= self->uints[prop_id] != team->uints[prop_id];
      copy_property (self, team, prop_id);
    }
  self->updating = FALSE;
  g_object_thaw_notify (G_OBJECT (self));

  return changed;
}

JsonObject *
bastion_profile_to_json (BastionProfile *self)
{
  JsonObject *object;
  JsonArray *modified;
  g_autoptr(GList) members = NULL;
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (BASTION_IS_PROFILE (self), NULL);

  object = json_object_new ();

  /* Unknown members first, so a newer Bastion's fields survive our rewrite. */
  members = json_object_get_members (self->extra);
  for (const GList *l = members; l; l = l->next)
    json_object_set_member (object, l->data,
                            json_node_copy (json_object_get_member (self->extra, l->data)));

  json_object_set_string_member (object, "id", self->id);
  for (guint i = PROP_ID + 1; i < N_PROPS; i++)
    {
      const char *name = g_param_spec_get_name (properties[i]);
      GType type = G_PARAM_SPEC_VALUE_TYPE (properties[i]);

      if (type == G_TYPE_STRING)
        {
          if (self->strings[i] != NULL)
            json_object_set_string_member (object, name, self->strings[i]);
          else
            json_object_remove_member (object, name);
        }
      else if (type == G_TYPE_UINT)
        json_object_set_int_member (object, name, self->uints[i]);
      else if (type == G_TYPE_BOOLEAN)
        json_object_set_boolean_member (object, name, self->uints[i]);
      else
        json_object_set_string_member (object, name, enum_to_nick (type, self->uints[i]));
    }

  names = bastion_profile_dup_user_modified (self);
  modified = json_array_new ();
  for (guint i = 0; names[i]; i++)
    json_array_add_string_element (modified, names[i]);
  json_object_set_array_member (object, "user-modified", modified);

  return object;
}

static gboolean
load_member (BastionProfile *self,
             guint           prop_id,
             JsonNode       *node,
             GError        **error)
{
  const char *name = g_param_spec_get_name (properties[prop_id]);
  GType type = G_PARAM_SPEC_VALUE_TYPE (properties[prop_id]);
  GType vtype = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  if (JSON_NODE_HOLDS_NULL (node))
    {
      if (type == G_TYPE_STRING)
        set_string (self, prop_id, NULL);
      return TRUE;
    }

  if (type == G_TYPE_STRING && vtype == G_TYPE_STRING)
    {
      set_string (self, prop_id, json_node_get_string (node));
      return TRUE;
    }
  if (type == G_TYPE_UINT && vtype == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (node);
      GParamSpecUInt *uspec = G_PARAM_SPEC_UINT (properties[prop_id]);

      if (v >= 0 && v <= uspec->maximum)
        {
          set_uint (self, prop_id, v);
          return TRUE;
        }
    }
  if (type == G_TYPE_BOOLEAN && vtype == G_TYPE_BOOLEAN)
    {
      set_uint (self, prop_id, json_node_get_boolean (node));
      return TRUE;
    }
  if (G_TYPE_IS_ENUM (type) && vtype == G_TYPE_STRING)
    {
      int value;

      if (enum_from_nick (type, json_node_get_string (node), &value))
        {
          set_uint (self, prop_id, value);
          return TRUE;
        }
    }

  g_set_error (error, BASTION_PROFILE_ERROR, BASTION_PROFILE_ERROR_INVALID,
               /* Translators: %s is a field name of profiles.json */
               _("The value of “%s” is not valid; correct it or remove the line"), name);
  return FALSE;
}

BastionProfile *
bastion_profile_new_from_json (JsonObject  *object,
                               GError     **error)
{
  g_autoptr(BastionProfile) self = NULL;
  g_autoptr(GList) members = NULL;
  JsonNode *id_node;

  g_return_val_if_fail (object != NULL, NULL);

  id_node = json_object_get_member (object, "id");
  if (id_node == NULL || !JSON_NODE_HOLDS_VALUE (id_node)
      || json_node_get_value_type (id_node) != G_TYPE_STRING
      || json_node_get_string (id_node)[0] == '\0')
    {
      g_set_error (error, BASTION_PROFILE_ERROR, BASTION_PROFILE_ERROR_INVALID,
                   _("A profile has no “id”; give it one or remove it"));
      return NULL;
    }

  self = bastion_profile_new (json_node_get_string (id_node));
  self->updating = TRUE;

  members = json_object_get_members (object);
  for (const GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      GParamSpec *pspec;

      if (g_str_equal (name, "id"))
        continue;

      if (g_str_equal (name, "user-modified"))
        {
          JsonArray *array;

          if (!JSON_NODE_HOLDS_ARRAY (node))
            continue;
          array = json_node_get_array (node);
          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *element = json_array_get_element (array, i);

              if (JSON_NODE_HOLDS_VALUE (element)
                  && json_node_get_value_type (element) == G_TYPE_STRING
                  && g_object_class_find_property (G_OBJECT_GET_CLASS (self),
                                                   json_node_get_string (element)))
                g_hash_table_add (self->user_modified,
                                  (gpointer) g_intern_string (json_node_get_string (element)));
            }
          continue;
        }

      pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), name);
      if (pspec == NULL || pspec->owner_type != BASTION_TYPE_PROFILE)
        {
          json_object_set_member (self->extra, name, json_node_copy (node));
          continue;
        }

      for (guint i = PROP_ID + 1; i < N_PROPS; i++)
        {
          if (properties[i] == pspec)
            {
              g_autoptr(GError) local_error = NULL;

              if (!load_member (self, i, node, &local_error))
                {
                  g_set_error (error, BASTION_PROFILE_ERROR, BASTION_PROFILE_ERROR_INVALID,
                               /* Translators: %s is a profile id, then a message */
                               _("Profile “%s”: %s"), self->id, local_error->message);
                  return NULL;
                }
              break;
            }
        }
    }

  self->updating = FALSE;

  return g_steal_pointer (&self);
}

#define STRING_ACCESSORS(field, PROP)                                               \
const char *                                                                        \
bastion_profile_get_##field (BastionProfile *self)                                  \
{                                                                                   \
  g_return_val_if_fail (BASTION_IS_PROFILE (self), NULL);                           \
  return self->strings[PROP];                                                       \
}                                                                                   \
void                                                                                \
bastion_profile_set_##field (BastionProfile *self,                                  \
                             const char     *value)                                 \
{                                                                                   \
  g_return_if_fail (BASTION_IS_PROFILE (self));                                     \
  set_string (self, PROP, value);                                                   \
}

#define VALUE_ACCESSORS(field, PROP, ctype)                                         \
ctype                                                                               \
bastion_profile_get_##field (BastionProfile *self)                                  \
{                                                                                   \
  g_return_val_if_fail (BASTION_IS_PROFILE (self), 0);                              \
  return (ctype) self->uints[PROP];                                                 \
}                                                                                   \
void                                                                                \
bastion_profile_set_##field (BastionProfile *self,                                  \
                             ctype           value)                                 \
{                                                                                   \
  g_return_if_fail (BASTION_IS_PROFILE (self));                                     \
  set_uint (self, PROP, (guint) value);                                             \
}

const char *
bastion_profile_get_id (BastionProfile *self)
{
  g_return_val_if_fail (BASTION_IS_PROFILE (self), NULL);
  return self->id;
}

STRING_ACCESSORS (display_name, PROP_DISPLAY_NAME)
VALUE_ACCESSORS (source, PROP_SOURCE, BastionProfileSource)
STRING_ACCESSORS (team_dir, PROP_TEAM_DIR)
STRING_ACCESSORS (ssh_host, PROP_SSH_HOST)
VALUE_ACCESSORS (ssh_port, PROP_SSH_PORT, guint)
STRING_ACCESSORS (ssh_user, PROP_SSH_USER)
VALUE_ACCESSORS (auth_method, PROP_AUTH_METHOD, BastionAuthMethod)
STRING_ACCESSORS (key_file, PROP_KEY_FILE)
STRING_ACCESSORS (host_key_pin, PROP_HOST_KEY_PIN)
STRING_ACCESSORS (ssh_alias, PROP_SSH_ALIAS)
STRING_ACCESSORS (proxy_jump, PROP_PROXY_JUMP)
STRING_ACCESSORS (db_host, PROP_DB_HOST)
VALUE_ACCESSORS (db_port, PROP_DB_PORT, guint)
STRING_ACCESSORS (db_name, PROP_DB_NAME)
STRING_ACCESSORS (db_user, PROP_DB_USER)
VALUE_ACCESSORS (local_port, PROP_LOCAL_PORT, guint)
STRING_ACCESSORS (ssl_mode, PROP_SSL_MODE)
STRING_ACCESSORS (ssl_root_cert, PROP_SSL_ROOT_CERT)
STRING_ACCESSORS (aws_profile, PROP_AWS_PROFILE)
STRING_ACCESSORS (aws_region, PROP_AWS_REGION)
STRING_ACCESSORS (aws_account, PROP_AWS_ACCOUNT)
STRING_ACCESSORS (aws_secret_id, PROP_AWS_SECRET_ID)
STRING_ACCESSORS (name_prefix, PROP_NAME_PREFIX)
STRING_ACCESSORS (stage, PROP_STAGE)
STRING_ACCESSORS (allowed_ip, PROP_ALLOWED_IP)
VALUE_ACCESSORS (read_only, PROP_READ_ONLY, gboolean)
STRING_ACCESSORS (env_label, PROP_ENV_LABEL)
STRING_ACCESSORS (env_color, PROP_ENV_COLOR)
VALUE_ACCESSORS (has_db_access, PROP_HAS_DB_ACCESS, gboolean)
STRING_ACCESSORS (no_access_reason, PROP_NO_ACCESS_REASON)
VALUE_ACCESSORS (transport, PROP_TRANSPORT, BastionTransport)
