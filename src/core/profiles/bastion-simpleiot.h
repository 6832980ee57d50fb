/* bastion-simpleiot.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "bastion-profile.h"

G_BEGIN_DECLS

#define BASTION_SIMPLEIOT_ERROR (bastion_simpleiot_error_quark ())

typedef enum
{
  BASTION_SIMPLEIOT_ERROR_NO_CONFIG = 1,  /* no config.json nor config.sys (or an empty folder) */
  BASTION_SIMPLEIOT_ERROR_TOO_LARGE,      /* config over 1 MB */
  BASTION_SIMPLEIOT_ERROR_NOT_UTF8,
  BASTION_SIMPLEIOT_ERROR_MALFORMED,      /* not JSON, or not a JSON object */
  BASTION_SIMPLEIOT_ERROR_WRONG_TYPE,     /* a key with a value of the wrong type ("abc" port) */
  BASTION_SIMPLEIOT_ERROR_UNREADABLE,     /* folder or file we may not read */
  BASTION_SIMPLEIOT_ERROR_SYMLINK_LOOP,
  BASTION_SIMPLEIOT_ERROR_MISSING_KEY,    /* a key we need is missing (warning) */
  BASTION_SIMPLEIOT_ERROR_DUPLICATE,      /* two folders for the same team */
  BASTION_SIMPLEIOT_ERROR_NOT_FOUND,      /* the SimpleIOT folder itself does not exist */
  BASTION_SIMPLEIOT_ERROR_KEY_TOO_OPEN,   /* the team's key file is readable by others (warning) */
} BastionSimpleiotError;

#define BASTION_SIMPLEIOT_MAX_CONFIG_SIZE (1024 * 1024)

GQuark          bastion_simpleiot_error_quark      (void);

/* $BASTION_SIMPLEIOT_DIR, else ~/.simpleiot. */
char           *bastion_simpleiot_dup_default_dir  (void);

/* Parses a team config already read into memory. filename is only used in messages. Problems that
 * still leave a usable profile (a missing "team", a cut-down member config) are appended to
 * warnings (GError*, may be NULL). Every message names the file and, where there is one, the
 * key. */
BastionProfile *bastion_simpleiot_parse_config     (const char     *team_dir,
                                                    const char     *filename,
                                                    const char     *data,
                                                    gssize          length,
                                                    GPtrArray      *warnings,
                                                    GError        **error);
/* Reads team_dir/config.json (preferred) or team_dir/config.sys and parses it. */
BastionProfile *bastion_simpleiot_load_team        (const char     *team_dir,
                                                    GPtrArray      *warnings,
                                                    GError        **error);
/* Every team folder under dir (NULL = the default dir), skipping names starting with "_" or ".".
 * Returns the profiles (sorted by id) or NULL with error when dir itself cannot be read; a team
 * that fails adds a GError to warnings (may be NULL) and the others still load. */
GPtrArray      *bastion_simpleiot_scan             (const char     *dir,
                                                    GPtrArray      *warnings,
                                                    GError        **error);

G_END_DECLS
