/* bastion-auth-method.h
 *
 * How a team logs in to its bastion: the profile keeps it, the SSH session uses it. Its GType
 * (BASTION_TYPE_AUTH_METHOD) is generated with the core's other enums: bastion-core-enums.h.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The nicks ("key", "agent", "password") are the values in profiles.json and bastion-cli. */
typedef enum
{
  BASTION_AUTH_METHOD_KEY,       /* a key file (the agent is tried first when it runs) */
  BASTION_AUTH_METHOD_AGENT,     /* the SSH agent alone */
  BASTION_AUTH_METHOD_PASSWORD,  /* a password or keyboard-interactive answers */
} BastionAuthMethod;

G_END_DECLS
