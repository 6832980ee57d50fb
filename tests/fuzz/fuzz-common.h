/* fuzz-common.h: shared helpers for Bastion's libFuzzer targets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each target defines LLVMFuzzerTestOneInput(). A GLib critical (a g_return_if_fail() tripped by
 * what a parser did with hostile bytes) aborts, so libFuzzer reports it as a crash.
 */

#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);
int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);

static char *fuzz_tmp_dir;

static G_GNUC_UNUSED void
fuzz_common_init (void)
{
  g_autoptr(GError) error = NULL;

  if (fuzz_tmp_dir != NULL)
    return;

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  g_unsetenv ("G_MESSAGES_DEBUG");

  fuzz_tmp_dir = g_dir_make_tmp ("bastion-fuzz-XXXXXX", &error);
  if (fuzz_tmp_dir == NULL)
    g_error ("Cannot make a temporary directory: %s", error->message);
}

/* A path inside this process's private temporary directory. */
static G_GNUC_UNUSED char *
fuzz_tmp_path (const char *name)
{
  fuzz_common_init ();
  return g_build_filename (fuzz_tmp_dir, name, NULL);
}

/* Writes the input to path (mode 0600), aborting on failure. */
static G_GNUC_UNUSED void
fuzz_write_file (const char    *path,
                 const uint8_t *data,
                 size_t         size)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents_full (path, (const char *) data, size, G_FILE_SET_CONTENTS_NONE, 0600,
                                 &error))
    g_error ("Cannot write %s: %s", path, error->message);
}

/* A NUL-terminated copy (parsers of text take C strings). */
static G_GNUC_UNUSED char *
fuzz_dup_text (const uint8_t *data,
               size_t         size)
{
  char *text = g_malloc (size + 1);

  memcpy (text, data, size);
  text[size] = '\0';

  return text;
}
