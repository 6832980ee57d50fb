/* bastion-aws-credentials.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "bastion-aws.h"
#include "bastion-aws-credentials.h"
#include "bastion-secure.h"

/* ~/.aws files are a few KiB: a bigger one is not one (and /dev/zero must not fill memory). */
#define AWS_FILE_MAX_SIZE (1024 * 1024)
/* How long reading both files may take (a FIFO nobody writes, a hung network home). */
#define AWS_FILES_READ_TIMEOUT 10

G_DEFINE_BOXED_TYPE (BastionAwsCredentials, bastion_aws_credentials,
                     bastion_aws_credentials_copy, bastion_aws_credentials_free)

BastionAwsCredentials *
bastion_aws_credentials_copy (const BastionAwsCredentials *self)
{
  BastionAwsCredentials *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (BastionAwsCredentials, 1);
  copy->profile = g_strdup (self->profile);
  copy->source = g_strdup (self->source);
  copy->access_key_id = g_strdup (self->access_key_id);
  copy->secret_access_key = g_strdup (self->secret_access_key);
  copy->session_token = g_strdup (self->session_token);
  copy->region = g_strdup (self->region);
  copy->endpoint_url = g_strdup (self->endpoint_url);

  return copy;
}

void
bastion_aws_credentials_free (BastionAwsCredentials *self)
{
  if (self == NULL)
    return;

  g_free (self->profile);
  g_free (self->source);
  g_free (self->access_key_id);
  bastion_secure_str_free (self->secret_access_key);
  bastion_secure_str_free (self->session_token);
  g_free (self->region);
  g_free (self->endpoint_url);
  g_free (self);
}

static GHashTable *
section_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) bastion_secure_str_free);
}

/* The name in a "[…]" line, its words joined by one space ("[ profile   dev ]" is "profile
 * dev"), or NULL without the closing bracket. Writes into line. */
static char *
section_name (char *line)
{
  char *end = strrchr (line, ']');
  g_auto(GStrv) words = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) kept = NULL;

  if (end == NULL)
    return NULL;
  *end = '\0';
  words = g_strsplit_set (line + 1, " \t", -1);
  for (guint w = 0; words[w] != NULL; w++)
    if (words[w][0] != '\0')
      g_strv_builder_add (builder, words[w]);
  kept = g_strv_builder_end (builder);

  return g_strjoinv (" ", kept);
}

GHashTable *
bastion_aws_ini_parse (const char *text)
{
  g_autoptr(GHashTable) sections = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *current = NULL;
  g_autofree char *parent_key = NULL;

  sections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_hash_table_unref);
  if (text == NULL)
    return g_steal_pointer (&sections);

  /* A UTF-8 byte order mark, as Windows editors leave it. */
  if (g_str_has_prefix (text, "\xef\xbb\xbf"))
    text += 3;

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *raw = lines[i];
      gboolean indented = raw[0] == ' ' || raw[0] == '\t';
      char *line = g_strstrip (raw);
      char *eq;
      g_autofree char *key = NULL;

      if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        continue;

      if (line[0] == '[')
        {
          g_autofree char *name = section_name (line);

          g_clear_pointer (&parent_key, g_free);
          if (name == NULL)
            {
              current = NULL;
              continue;
            }
          current = g_hash_table_lookup (sections, name);
          if (current == NULL)
            {
              current = section_new ();
              g_hash_table_insert (sections, g_steal_pointer (&name), current);
            }
          continue;
        }

      if (current == NULL)
        continue;

      eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      key = g_ascii_strdown (g_strstrip (line), -1);
      if (key[0] == '\0')
        continue;

      /* "s3 =" followed by indented "max_concurrent_requests = 20": kept as "s3.max…". */
      if (indented && parent_key != NULL)
        {
          char *nested = g_strconcat (parent_key, ".", key, NULL);

          g_free (key);
          key = nested;
        }
      else
        {
          g_clear_pointer (&parent_key, g_free);
          if (g_strstrip (eq + 1)[0] == '\0')
            parent_key = g_strdup (key);
        }

      g_hash_table_insert (current, g_steal_pointer (&key), g_strdup (g_strstrip (eq + 1)));
    }

  return g_steal_pointer (&sections);
}

static char *
expand_home (const char *path)
{
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
    return g_build_filename (g_get_home_dir (), path + 1, NULL);
  return g_strdup (path);
}

static char *
aws_file_path (const char *env_name,
               const char *basename)
{
  const char *env = g_getenv (env_name);

  if (env != NULL && env[0] != '\0')
    return expand_home (env);

  return g_build_filename (g_get_home_dir (), ".aws", basename, NULL);
}

/* What reading one of the files gave: its text (holds secrets: wiped when freed), or why not. */
typedef struct
{
  char   *path;
  char   *text;
  GError *error;
} AwsFile;

static void
aws_file_clear (AwsFile *file)
{
  g_clear_pointer (&file->path, g_free);
  bastion_secure_clear_str (&file->text);
  g_clear_error (&file->error);
}

/* Reads fd to the end, at most AWS_FILE_MAX_SIZE bytes; NULL (and errno set) on error, or
 * (*too_large set) when there is more. The buffer is wiped when given up. */
static char *
read_bounded (int       fd,
              gboolean *too_large)
{
  gsize size = 4096;
  gsize len = 0;
  char *buf = g_malloc (size + 1);

  *too_large = FALSE;
  for (;;)
    {
      gssize n;

      if (len == size)
        {
          char *bigger;

          if (size > AWS_FILE_MAX_SIZE)
            {
              *too_large = TRUE;
              break;
            }
          /* Grown by hand so that the old copy is wiped, not left in freed memory. */
          bigger = g_malloc (size * 2 + 1);
          memcpy (bigger, buf, len);
          bastion_secure_wipe (buf, len);
          g_free (buf);
          buf = bigger;
          size *= 2;
        }
      n = read (fd, buf + len, size - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            {
              buf[len] = '\0';
              return buf;
            }
          break;
        }
      len += n;
      if (len > AWS_FILE_MAX_SIZE)
        {
          *too_large = TRUE;
          break;
        }
    }

  bastion_secure_wipe (buf, len);
  g_free (buf);
  return NULL;
}

/* The blocking part: in a GTask thread for bastion_aws_credentials_load_async(). A device or
 * folder is refused before it is read; a file is read up to AWS_FILE_MAX_SIZE. */
static void
aws_file_read (AwsFile *file)
{
  struct stat st;
  gboolean too_large = FALSE;
  int fd;

  g_clear_pointer (&file->text, g_free);
  g_clear_error (&file->error);

  fd = open (file->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error_literal (&file->error, G_FILE_ERROR, g_file_error_from_errno (saved),
                           g_strerror (saved));
      return;
    }
  if (fstat (fd, &st) < 0 || !(S_ISREG (st.st_mode) || S_ISFIFO (st.st_mode)))
    {
      g_set_error_literal (&file->error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                           _("it is not a regular file"));
      close (fd);
      return;
    }

  file->text = read_bounded (fd, &too_large);
  if (file->text == NULL && too_large)
    g_set_error (&file->error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                 _("it is larger than %d KiB, which no AWS file is"), AWS_FILE_MAX_SIZE / 1024);
  else if (file->text == NULL)
    g_set_error_literal (&file->error, G_FILE_ERROR, g_file_error_from_errno (errno),
                         g_strerror (errno));
  close (fd);
}

/* A missing file is an empty one; an unreadable one is an error. */
static GHashTable *
aws_file_parse (const AwsFile  *file,
                GError        **error)
{
  if (file->error != NULL)
    {
      if (g_error_matches (file->error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return bastion_aws_ini_parse (NULL);
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                   _("Could not read the AWS file %s: %s"), file->path, file->error->message);
      return NULL;
    }

  return bastion_aws_ini_parse (file->text);
}

static const char *
nonempty (const char *str)
{
  return str != NULL && str[0] != '\0' ? str : NULL;
}

static const char *
section_get (GHashTable *first,
             GHashTable *second,
             const char *key)
{
  const char *value = NULL;

  if (first != NULL)
    value = nonempty (g_hash_table_lookup (first, key));
  if (value == NULL && second != NULL)
    value = nonempty (g_hash_table_lookup (second, key));

  return value;
}

static const char *
first_env (const char *a,
           const char *b)
{
  const char *value = nonempty (g_getenv (a));

  if (value == NULL && b != NULL)
    value = nonempty (g_getenv (b));

  return value;
}

static gboolean
set_region (BastionAwsCredentials  *creds,
            const char             *region,
            const char             *from_profile,
            const char             *config_path,
            GError                **error)
{
  const char *value = nonempty (region);

  if (value == NULL)
    value = first_env ("AWS_REGION", "AWS_DEFAULT_REGION");
  if (value == NULL)
    value = nonempty (from_profile);
  if (value == NULL)
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                   _("No AWS region is set. Set “region” in the team config, export AWS_REGION, "
                     "or add “region = …” to the profile in %s."), config_path);
      return FALSE;
    }
  /* It becomes part of a host name the signed requests go to. */
  if (!g_regex_match_simple ("^[a-z]{2}(-[a-z]+)+-[0-9]+$", value, 0, 0))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                   _("“%s” is not an AWS region (like us-west-2). Correct “region” in the team "
                     "config, AWS_REGION, or the profile in %s."), value, config_path);
      return FALSE;
    }
  creds->region = g_strdup (value);

  return TRUE;
}

/* Why the profile named (or "default") is in neither file. */
static void
set_no_profile_error (GError     **error,
                      const char  *name,
                      gboolean     explicit_profile,
                      const char  *credentials_path,
                      const char  *config_path)
{
  if (!explicit_profile && g_str_equal (name, "default"))
    g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NO_CREDENTIALS,
                 _("No AWS credentials found: there is no profile in %s or %s and "
                   "AWS_ACCESS_KEY_ID is not set. Run “aws configure”, or export "
                   "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."),
                 credentials_path, config_path);
  else
    g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                 _("The AWS profile “%s” is in neither %s nor %s. Run “aws configure "
                   "--profile %s”, or correct aws_profile in the team config."),
                 name, credentials_path, config_path, name);
}

/* Why a profile without access keys cannot be used: a way Bastion does not support yet, or
 * none at all. */
static void
set_no_keys_error (GError     **error,
                   const char  *name,
                   GHashTable  *cred_sec,
                   GHashTable  *conf_sec,
                   const char  *credentials_path,
                   const char  *config_path)
{
  const char *how = NULL;

  if (section_get (conf_sec, cred_sec, "sso_start_url") != NULL ||
      section_get (conf_sec, cred_sec, "sso_session") != NULL ||
      section_get (conf_sec, cred_sec, "sso_account_id") != NULL)
    how = _("signs in through AWS IAM Identity Center (SSO)");
  else if (section_get (conf_sec, cred_sec, "credential_process") != NULL)
    how = _("gets its credentials from a credential_process");
  else if (section_get (conf_sec, cred_sec, "role_arn") != NULL)
    how = _("assumes an IAM role (role_arn)");
  else if (section_get (conf_sec, cred_sec, "web_identity_token_file") != NULL)
    how = _("uses a web identity token");

  if (how != NULL)
    g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_UNSUPPORTED,
                 _("The AWS profile “%s” %s, which Bastion does not support yet. Put access "
                   "keys for it in %s (aws_access_key_id, aws_secret_access_key, and "
                   "aws_session_token for temporary ones), or export AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY."),
                 name, how, credentials_path);
  else
    g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NO_CREDENTIALS,
                 _("The AWS profile “%s” has no aws_access_key_id and aws_secret_access_key "
                   "in %s or %s. Run “aws configure --profile %s”."),
                 name, credentials_path, config_path, name);
}

/* The keys of the profile NAME (the credentials file first, then the config file). */
static BastionAwsCredentials *
from_profile (BastionAwsCredentials  *found,
              const char             *name,
              gboolean                explicit_profile,
              const char             *region,
              GHashTable             *cred_sec,
              GHashTable             *conf_sec,
              const char             *credentials_path,
              const char             *config_path,
              GError                **error)
{
  g_autoptr(BastionAwsCredentials) creds = found;
  const char *access_key;
  const char *secret_key;

  if (cred_sec == NULL && conf_sec == NULL)
    {
      set_no_profile_error (error, name, explicit_profile, credentials_path, config_path);
      return NULL;
    }

  creds->profile = g_strdup (name);
  access_key = section_get (cred_sec, conf_sec, "aws_access_key_id");
  secret_key = section_get (cred_sec, conf_sec, "aws_secret_access_key");

  if (access_key == NULL || secret_key == NULL)
    {
      set_no_keys_error (error, name, cred_sec, conf_sec, credentials_path, config_path);
      return NULL;
    }

  creds->source = g_strdup (cred_sec != NULL && nonempty (g_hash_table_lookup (cred_sec,
                                                                               "aws_access_key_id"))
                            ? credentials_path : config_path);
  creds->access_key_id = g_strdup (access_key);
  creds->secret_access_key = g_strdup (secret_key);
  creds->session_token = g_strdup (section_get (cred_sec, conf_sec, "aws_session_token"));
  creds->endpoint_url = g_strdup (section_get (conf_sec, NULL, "endpoint_url"));
  if (!set_region (creds, region, section_get (conf_sec, cred_sec, "region"), config_path, error))
    return NULL;

  return g_steal_pointer (&creds);
}

/* The chain, from the files' contents as read. Runs where the caller runs (the environment is
 * read here, never from a worker thread). */
static BastionAwsCredentials *
resolve (const char     *profile,
         const char     *region,
         const AwsFile  *credentials_file,
         const AwsFile  *config_file,
         GError        **error)
{
  g_autoptr(BastionAwsCredentials) creds = g_new0 (BastionAwsCredentials, 1);
  const char *credentials_path = credentials_file->path;
  const char *config_path = config_file->path;
  g_autoptr(GHashTable) credentials_ini = NULL;
  g_autoptr(GHashTable) config_ini = NULL;
  g_autofree char *config_section = NULL;
  GHashTable *cred_sec;
  GHashTable *conf_sec;
  const char *env_key = nonempty (g_getenv ("AWS_ACCESS_KEY_ID"));
  const char *env_secret = nonempty (g_getenv ("AWS_SECRET_ACCESS_KEY"));
  const char *name;
  gboolean explicit_profile = nonempty (profile) != NULL;

  if ((env_key != NULL) != (env_secret != NULL))
    {
      g_set_error (error, BASTION_AWS_ERROR, BASTION_AWS_ERROR_NO_CREDENTIALS,
                   _("Only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set. Export "
                     "both, or neither to use ~/.aws/credentials."));
      return NULL;
    }

  name = explicit_profile ? profile : first_env ("AWS_PROFILE", NULL);
  if (name == NULL)
    name = "default";

  credentials_ini = aws_file_parse (credentials_file, error);
  if (credentials_ini == NULL)
    return NULL;
  config_ini = aws_file_parse (config_file, error);
  if (config_ini == NULL)
    return NULL;

  cred_sec = g_hash_table_lookup (credentials_ini, name);
  config_section = g_strconcat ("profile ", name, NULL);
  conf_sec = g_hash_table_lookup (config_ini, config_section);
  if (conf_sec == NULL && g_str_equal (name, "default"))
    conf_sec = g_hash_table_lookup (config_ini, "default");

  /* Keys in the environment win, unless the caller named a profile that exists. */
  if (env_key != NULL && (!explicit_profile || (cred_sec == NULL && conf_sec == NULL)))
    {
      creds->source = g_strdup (_("the environment (AWS_ACCESS_KEY_ID)"));
      creds->access_key_id = g_strdup (env_key);
      creds->secret_access_key = g_strdup (env_secret);
      creds->session_token = g_strdup (nonempty (g_getenv ("AWS_SESSION_TOKEN")));
      if (conf_sec != NULL)
        creds->endpoint_url = g_strdup (section_get (conf_sec, NULL, "endpoint_url"));
      if (!set_region (creds, region, section_get (conf_sec, cred_sec, "region"), config_path,
                       error))
        return NULL;
      return g_steal_pointer (&creds);
    }

  return from_profile (g_steal_pointer (&creds), name, explicit_profile, region, cred_sec,
                       conf_sec, credentials_path, config_path, error);
}

BastionAwsCredentials *
bastion_aws_credentials_load (const char  *profile,
                              const char  *region,
                              GError     **error)
{
  AwsFile credentials = { aws_file_path ("AWS_SHARED_CREDENTIALS_FILE", "credentials") };
  AwsFile config = { aws_file_path ("AWS_CONFIG_FILE", "config") };
  BastionAwsCredentials *creds;

  aws_file_read (&credentials);
  aws_file_read (&config);
  creds = resolve (profile, region, &credentials, &config, error);
  aws_file_clear (&credentials);
  aws_file_clear (&config);

  return creds;
}

typedef struct
{
  char    *profile;
  char    *region;
  AwsFile  credentials;
  AwsFile  config;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->profile);
  g_free (data->region);
  aws_file_clear (&data->credentials);
  aws_file_clear (&data->config);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;

  /* Only the files: a FIFO or a network home directory may keep this waiting. */
  aws_file_read (&data->credentials);
  if (!g_task_return_error_if_cancelled (task))
    {
      aws_file_read (&data->config);
      g_task_return_boolean (task, TRUE);
    }
}

/* The caller's task and the bound on the reading thread: whichever comes first answers it.
 * A thread stuck in read() cannot be stopped; it finishes (or not) on its own, unheard. */
typedef struct
{
  GTask   *outer;
  GSource *timeout;
} LoadRace;

static void
load_race_free (LoadRace *race)
{
  if (race->timeout != NULL)
    {
      g_source_destroy (race->timeout);
      g_source_unref (race->timeout);
    }
  g_clear_object (&race->outer);
  g_free (race);
}

static gboolean
on_load_timeout (gpointer user_data)
{
  LoadRace *race = user_data;
  LoadData *data = g_task_get_task_data (race->outer);
  GTask *outer = g_steal_pointer (&race->outer);

  g_clear_pointer (&race->timeout, g_source_unref);
  if (g_task_return_error_if_cancelled (outer))
    {
      g_object_unref (outer);
      return G_SOURCE_REMOVE;
    }
  g_task_return_new_error (outer, BASTION_AWS_ERROR, BASTION_AWS_ERROR_CONFIG,
                           _("Reading the AWS files %s and %s took longer than %d seconds. Check "
                             "that they are regular files on a disk that answers (or set "
                             "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE)."),
                           data->credentials.path, data->config.path, AWS_FILES_READ_TIMEOUT);
  g_object_unref (outer);

  return G_SOURCE_REMOVE;
}

static void
on_load_thread_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  LoadRace *race = user_data;
  g_autoptr(GError) error = NULL;
  LoadData *read_data = g_task_get_task_data (G_TASK (result));
  LoadData *data;

  if (race->outer == NULL)
    {
      load_race_free (race);  /* too late: the caller heard of the timeout */
      return;
    }

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_error (race->outer, g_steal_pointer (&error));
  else
    {
      /* What was read moves to the caller's task (the thread's goes with its task). */
      data = g_task_get_task_data (race->outer);
      data->credentials.text = g_steal_pointer (&read_data->credentials.text);
      data->credentials.error = g_steal_pointer (&read_data->credentials.error);
      data->config.text = g_steal_pointer (&read_data->config.text);
      data->config.error = g_steal_pointer (&read_data->config.error);
      g_task_return_boolean (race->outer, TRUE);
    }
  load_race_free (race);
}

static LoadData *
load_data_new (const char *profile,
               const char *region)
{
  LoadData *data = g_new0 (LoadData, 1);

  data->profile = g_strdup (profile);
  data->region = g_strdup (region);
  /* The paths now, on the caller's thread. */
  data->credentials.path = aws_file_path ("AWS_SHARED_CREDENTIALS_FILE", "credentials");
  data->config.path = aws_file_path ("AWS_CONFIG_FILE", "config");

  return data;
}

void
bastion_aws_credentials_load_async (const char          *profile,
                                    const char          *region,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) thread_task = NULL;
  LoadRace *race = g_new0 (LoadRace, 1);

  race->outer = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (race->outer, bastion_aws_credentials_load_async);
  g_task_set_task_data (race->outer, load_data_new (profile, region),
                        (GDestroyNotify) load_data_free);

  race->timeout = g_timeout_source_new_seconds (AWS_FILES_READ_TIMEOUT);
  g_source_set_callback (race->timeout, on_load_timeout, race, NULL);
  g_source_set_static_name (race->timeout, "[bastion] AWS files read bound");
  g_source_attach (race->timeout, g_task_get_context (race->outer));

  thread_task = g_task_new (NULL, cancellable, on_load_thread_done, race);
  g_task_set_task_data (thread_task, load_data_new (profile, region),
                        (GDestroyNotify) load_data_free);
  g_task_run_in_thread (thread_task, load_thread);
}

BastionAwsCredentials *
bastion_aws_credentials_load_finish (GAsyncResult  *result,
                                     GError       **error)
{
  LoadData *data;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        bastion_aws_credentials_load_async, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;

  data = g_task_get_task_data (G_TASK (result));

  return resolve (data->profile, data->region, &data->credentials, &data->config, error);
}
