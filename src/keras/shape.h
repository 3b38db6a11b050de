/* shape.h - output shapes and expected weights of every layer, as Keras computes them.
 *
 * Inference runs before any arithmetic, so a model that cannot work fails with a message
 * naming the layer.  Layers whose shape cannot be known (Lambda, custom classes) are marked
 * (shape_ok = 0, shape_note says why) and everything downstream of them too; that is not an
 * error, since the rest of the report still works. */
#ifndef TLR_SHAPE_H
#define TLR_SHAPE_H

#include "base/err.h"
#include "keras/model.h"

/* Output shapes of one call of 'l' given its input shapes.  Returns TLR_OK, an error, or
 * TLR_E_UNSUPPORTED with err set when the class's shape is unknowable (Lambda, custom). */
tlr_status tlr_shape_of_call(const tlr_layer *l, const tlr_shape *in, int n_in, tlr_shape *out,
                             int *n_out, const char *what, tlr_err *err);

/* Infers the shapes of every call of every layer (recursing into nested models) and fills each
 * layer's expected weights.  'what' names the file in messages. */
tlr_status tlr_shape_model(tlr_model *m, const char *what, tlr_err *err);

/* Formats "(None, 4, 4, 512)". */
void tlr_shape_str(const tlr_shape *s, char *out, size_t cap);

/* Number of elements, -1 with a None or on overflow. */
int64_t tlr_shape_numel_of(const tlr_shape *s);

/* Values per sample of the model's output k (batch dimension left out), -1 when unknown. */
int64_t tlr_shape_output_size(const tlr_model *m, int k);

/* 1 when the layer's config sets data_format "channels_first" (read from the config for
 * the image preprocessing layers: Keras 3 Resizing and RandomCrop). */
int tlr_shape_channels_first(const tlr_layer *l);

/* RandomCrop changes the shape, though keras_config.c files it with the augmentation layers
 * (TLR_OP_IDENTITY): at inference it crops the centre to the target's aspect ratio and
 * resizes to (height, width).  Returns 1 and fills its settings when 'l' is a RandomCrop, 0
 * when it is another class, -1 when its height or width is missing or out of range. */
int tlr_shape_random_crop(const tlr_layer *l, int *height, int *width);

/* 1 when the weight role is a trainable variable (kernel, bias, gamma, ...), 0 for moving
 * statistics and other state. */
int tlr_weight_role_trainable(const char *role);

#endif
