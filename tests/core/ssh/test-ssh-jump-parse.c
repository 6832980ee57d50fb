/* test-ssh-jump-parse.c: ProxyJump as ssh -J writes it (bastion_ssh_jump_parse())
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib.h>

#include "bastion-ssh-jump.h"

typedef struct
{
  const char *spec;
  /* "user@host:port(set)" for each hop, "|"-separated; NULL: refused */
  const char *want;
} Case;

static const Case cases[] = {
  { "", "" },
  { "none", "" },
  { "NONE", "" },
  { "jump", "(null)@jump:22" },
  { "admin@jump", "admin@jump:22" },
  { "jump:2222", "(null)@jump:2222(set)" },
  { "admin@jump.example.com:2222", "admin@jump.example.com:2222(set)" },
  { "a,b", "(null)@a:22|(null)@b:22" },
  { "a@h1:1,b@h2:65535,h3", "a@h1:1(set)|b@h2:65535(set)|(null)@h3:22" },
  { "ssh://admin@jump:2200", "admin@jump:2200(set)" },
  { "[::1]:2222", "(null)@::1:2222(set)" },
  { "u@[fe80::1%eth0]", "u@fe80::1%eth0:22" },
  { "first.last@jump", "first.last@jump:22" },
  { "u@h@jump", NULL },            /* '@' in the user */
  { "jump:0", NULL },
  { "jump:65536", NULL },
  { "jump:22x", NULL },
  { "jump:", NULL },
  { "jump:-1", NULL },
  { "-oProxyCommand=x", NULL },
  { "a,-oProxyCommand=x", NULL },
  { "a,,b", NULL },
  { "a,", NULL },
  { "@jump", NULL },
  { "jump host", NULL },
  { "jump;rm", NULL },
  { "jump\n", NULL },
  { "[::1", NULL },
  { "[::1]x", NULL },
  { "a,b,c,d,e,f,g,h", "(null)@a:22|(null)@b:22|(null)@c:22|(null)@d:22|(null)@e:22|"
                       "(null)@f:22|(null)@g:22|(null)@h:22" },
  { "a,b,c,d,e,f,g,h,i", NULL },   /* more than 8 hops */
};

static char *
describe (GPtrArray *hops)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < hops->len; i++)
    {
      BastionSshHop *hop = g_ptr_array_index (hops, i);

      g_string_append_printf (out, "%s%s@%s:%u%s", i > 0 ? "|" : "",
                              hop->user ? hop->user : "(null)", hop->host, hop->port,
                              hop->port_set ? "(set)" : "");
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_table (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) hops = bastion_ssh_jump_parse (cases[i].spec, &error);

      g_test_message ("spec “%s”", cases[i].spec);
      if (cases[i].want == NULL)
        {
          g_assert_null (hops);
          g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED);
        }
      else
        {
          g_autofree char *got = NULL;

          g_assert_no_error (error);
          got = describe (hops);
          g_assert_cmpstr (got, ==, cases[i].want);
        }
    }
}

/* The error names the bad hop (its place and its text), so the user finds it. */
static void
test_error_names_hop (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hops = bastion_ssh_jump_parse ("good,bad host,other", &error);

  g_assert_null (hops);
  g_assert_nonnull (strstr (error->message, "hop 2"));
  g_assert_nonnull (strstr (error->message, "bad host"));
}

/* Hostile sizes: a huge spec is refused before it is split; a huge name is refused. */
static void
test_bounds (void)
{
  g_autoptr(GString) many = g_string_new ("a");
  g_autofree char *long_host = g_strnfill (256, 'h');
  g_autofree char *users = g_strnfill (65, 'u');
  g_autofree char *long_user = g_strdup_printf ("%s@jump", users);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hops = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append (many, ",a");
  hops = bastion_ssh_jump_parse (many->str, &error);
  g_assert_null (hops);
  g_assert_nonnull (error);
  g_clear_error (&error);

  hops = bastion_ssh_jump_parse (long_host, &error);
  g_assert_null (hops);
  g_clear_error (&error);

  hops = bastion_ssh_jump_parse (long_user, &error);
  g_assert_null (hops);
}

static void
test_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BastionSshJump) jump = bastion_ssh_jump_new ("admin@jump:2222,inner,[::1]:22",
                                                         "ec2-user", &error);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (bastion_ssh_jump_get_n_hops (jump), ==, 3);
  first = bastion_ssh_jump_dup_hop_name (jump, 0);
  second = bastion_ssh_jump_dup_hop_name (jump, 1);
  third = bastion_ssh_jump_dup_hop_name (jump, 2);
  g_assert_cmpstr (first, ==, "admin@jump:2222");
  g_assert_cmpstr (second, ==, "inner");
  g_assert_cmpstr (third, ==, "[::1]:22");
  g_assert_null (bastion_ssh_jump_dup_hop_name (jump, 3));
  g_assert_null (bastion_ssh_jump_get_failed_hop (jump));

  g_clear_object (&jump);
  jump = bastion_ssh_jump_new ("none", "ec2-user", &error);
  g_assert_null (jump);
  g_assert_error (error, BASTION_SSH_ERROR, BASTION_SSH_ERROR_FAILED);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/bastion/ssh/jump/parse", test_table);
  g_test_add_func ("/bastion/ssh/jump/parse-error-names-hop", test_error_names_hop);
  g_test_add_func ("/bastion/ssh/jump/parse-bounds", test_bounds);
  g_test_add_func ("/bastion/ssh/jump/names", test_names);

  return g_test_run ();
}
