/* bastion-color-chip.c
 *
 * A small round swatch in an environment's colour. It never carries information alone: the
 * environment's label, or else the colour's name, is always shown beside it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "Bastion"

#include "config.h"

#include <glib/gi18n.h>

#include "bastion-color-chip.h"

#define CHIP_SIZE 12

struct _BastionColorChip
{
  GtkWidget  parent_instance;

  char      *color;
  GdkRGBA    rgba;
  guint      valid : 1;
};

enum {
  PROP_0,
  PROP_COLOR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (BastionColorChip, bastion_color_chip, GTK_TYPE_WIDGET)

static void
bastion_color_chip_measure (GtkWidget      *widget,
                            GtkOrientation  orientation,
                            int             for_size,
                            int            *minimum,
                            int            *natural,
                            int            *minimum_baseline,
                            int            *natural_baseline)
{
  *minimum = *natural = CHIP_SIZE;
}

static void
bastion_color_chip_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  BastionColorChip *self = BASTION_COLOR_CHIP (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  int size = MIN (width, height);
  GskRoundedRect circle;
  graphene_rect_t bounds;

  if (!self->valid)
    return;

  graphene_rect_init (&bounds, (width - size) / 2.0f, (height - size) / 2.0f, size, size);
  gsk_rounded_rect_init_from_rect (&circle, &bounds, size / 2.0f);
  gtk_snapshot_push_rounded_clip (snapshot, &circle);
  gtk_snapshot_append_color (snapshot, &self->rgba, &bounds);
  gtk_snapshot_pop (snapshot);
}

static void
bastion_color_chip_finalize (GObject *object)
{
  BastionColorChip *self = BASTION_COLOR_CHIP (object);

  g_clear_pointer (&self->color, g_free);

  G_OBJECT_CLASS (bastion_color_chip_parent_class)->finalize (object);
}

static void
bastion_color_chip_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  BastionColorChip *self = BASTION_COLOR_CHIP (object);

  switch (prop_id)
    {
    case PROP_COLOR:
      g_value_set_string (value, self->color);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_color_chip_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  BastionColorChip *self = BASTION_COLOR_CHIP (object);

  switch (prop_id)
    {
    case PROP_COLOR:
      bastion_color_chip_set_color (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bastion_color_chip_class_init (BastionColorChipClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = bastion_color_chip_finalize;
  object_class->get_property = bastion_color_chip_get_property;
  object_class->set_property = bastion_color_chip_set_property;

  widget_class->measure = bastion_color_chip_measure;
  widget_class->snapshot = bastion_color_chip_snapshot;

  properties[PROP_COLOR] =
    g_param_spec_string ("color", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "colorchip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_PRESENTATION);
}

static void
bastion_color_chip_init (BastionColorChip *self)
{
}

/* The environment colours of the profile editor, from the GNOME palette. */
static const struct
{
  const char *color;
  const char *name;
} palette[] = {
  { "#e01b24", N_("Red") },
  { "#ff7800", N_("Orange") },
  { "#f6d32d", N_("Yellow") },
  { "#33d17a", N_("Green") },
  { "#3584e4", N_("Blue") },
  { "#9141ac", N_("Purple") },
  { "#77767b", N_("Grey") },
};

const char *
bastion_color_chip_get_color_name (BastionColorChip *self)
{
  g_return_val_if_fail (BASTION_IS_COLOR_CHIP (self), NULL);

  if (!self->valid)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (palette); i++)
    if (g_ascii_strcasecmp (self->color, palette[i].color) == 0)
      return _(palette[i].name);

  return self->color;
}

GtkWidget *
bastion_color_chip_new (void)
{
  return g_object_new (BASTION_TYPE_COLOR_CHIP, NULL);
}

const char *
bastion_color_chip_get_color (BastionColorChip *self)
{
  g_return_val_if_fail (BASTION_IS_COLOR_CHIP (self), NULL);

  return self->color;
}

void
bastion_color_chip_set_color (BastionColorChip *self,
                              const char       *color)
{
  g_return_if_fail (BASTION_IS_COLOR_CHIP (self));

  if (g_strcmp0 (self->color, color) != 0)
    {
      g_free (self->color);
      self->color = g_strdup (color);
      self->valid = color != NULL && gdk_rgba_parse (&self->rgba, color);
      gtk_widget_set_opacity (GTK_WIDGET (self), self->valid ? 1.0 : 0.0);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLOR]);
    }
}
