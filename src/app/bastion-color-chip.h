/* bastion-color-chip.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BASTION_TYPE_COLOR_CHIP (bastion_color_chip_get_type())

G_DECLARE_FINAL_TYPE (BastionColorChip, bastion_color_chip, BASTION, COLOR_CHIP, GtkWidget)

GtkWidget  *bastion_color_chip_new       (void);
const char *bastion_color_chip_get_color (BastionColorChip *self);
void        bastion_color_chip_set_color (BastionColorChip *self,
                                          const char       *color);
/* The colour in words ("Red" for the palette's red, else the colour as given), or NULL when
 * there is no valid colour: what an environment label falls back to. */
const char *bastion_color_chip_get_color_name (BastionColorChip *self);

G_END_DECLS
