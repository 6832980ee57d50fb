/* fuzz-aws-ini.c: ~/.aws/credentials and ~/.aws/config (the tolerant INI reader and the
 * credential chain that reads them)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "bastion-aws-credentials.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autofree char *credentials = fuzz_tmp_path ("credentials");
  g_autofree char *config = fuzz_tmp_path ("config");

  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", credentials, TRUE);
  g_setenv ("AWS_CONFIG_FILE", config, TRUE);
  g_unsetenv ("AWS_ACCESS_KEY_ID");
  g_unsetenv ("AWS_SECRET_ACCESS_KEY");
  g_unsetenv ("AWS_SESSION_TOKEN");
  g_unsetenv ("AWS_PROFILE");
  g_unsetenv ("AWS_REGION");
  g_unsetenv ("AWS_DEFAULT_REGION");

  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = fuzz_dup_text (data, size);
  g_autoptr(GHashTable) sections = NULL;
  const char *profiles[] = { NULL, "default", "acme", "profile acme" };

  fuzz_common_init ();

  sections = bastion_aws_ini_parse (text);
  if (sections == NULL)
    g_error ("bastion_aws_ini_parse() returned NULL");

  /* The same bytes as both files, through the whole chain. */
  {
    g_autofree char *credentials = g_strdup (g_getenv ("AWS_SHARED_CREDENTIALS_FILE"));
    g_autofree char *config = g_strdup (g_getenv ("AWS_CONFIG_FILE"));

    fuzz_write_file (credentials, data, size);
    fuzz_write_file (config, data, size);
  }

  for (guint i = 0; i < G_N_ELEMENTS (profiles); i++)
    {
      g_autoptr(BastionAwsCredentials) creds = NULL;
      g_autoptr(GError) error = NULL;

      creds = bastion_aws_credentials_load (profiles[i], i % 2 ? "us-west-2" : NULL, &error);
      if (creds == NULL && (error == NULL || error->message[0] == '\0'))
        g_error ("Credentials refused without a message");
      if (creds != NULL && (creds->access_key_id == NULL || creds->secret_access_key == NULL))
        g_error ("Credentials without a key id or secret");
    }

  return 0;
}
