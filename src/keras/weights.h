/* weights.h - binds the weights a file stores to the weights each layer expects.
 *
 * Legacy HDF5 (model.save('x.h5') and save_weights): model_weights/<layer>/ groups listed
 * by the layer_names attribute, each naming its datasets in weight_names.  A nested model
 * is one group whose weight names carry the inner layer names; weights are matched by
 * those names (a partly frozen model lists its trainable weights first).
 * Keras 3 .keras archives: layers/<snake_class>[_k]/vars/<i> (tf.keras 2.13:
 * _layer_checkpoint_dependencies/..., Windows writers: backslash separators; a subclassed
 * model's store keeps its attributes by name: encoder/layers/conv2d/vars/0).
 *
 * A weight that does not fit is an error (Keras 2 and 3 refuse such files too), except in a
 * Keras 1 file whose arrays for a layer cannot even be paired with its weights: Keras 2's
 * legacy loader converts layouts tlreport may not know, so that layer is left unbound
 * (tlr_layer.weights_unbound: not run, counted from its config) and the rest still loads. */
#ifndef TLR_WEIGHTS_H
#define TLR_WEIGHTS_H

#include "base/err.h"
#include "io/h5file.h"
#include "keras/model.h"

typedef struct {
    int keras_major;       /* writer's major version (1 triggers Keras 1 conversions) */
    int backend_theano;    /* writer's backend attribute said "theano": flip conv kernels */
    const char *what;      /* file name for messages */
    int64_t max_bytes;     /* float32 bytes all weights may take once loaded (0: 4 GiB),
                              checked before anything is allocated */
} tlr_weights_ctx;

#define TLR_WEIGHTS_DEFAULT_MAX_BYTES ((int64_t)4 << 30)

/* Legacy layout under 'root' ("model_weights", or "/" for save_weights files). */
tlr_status tlr_weights_bind_legacy(tlr_model *m, tlr_h5 *h, const char *root,
                                   const tlr_weights_ctx *ctx, tlr_err *err);

/* Keras 3 / tf.keras 2.13 archive layout of model.weights.h5. */
tlr_status tlr_weights_bind_archive(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx,
                                    tlr_err *err);

/* Reads every bound weight's data (float32, converted to the expected layout). */
tlr_status tlr_weights_load(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx, tlr_err *err);

/* Without a file: parameter counts from the expected shapes (architecture JSON alone). */
void tlr_weights_count_expected(tlr_model *m);

/* Keras's to_snake_case of a class name ("Conv2DTranspose" -> "conv2d_transpose"). */
void tlr_snake_case(const char *cls, char *out, size_t cap);

#endif
