/* weights_parts.h - what weights.c (binding by name and position, legacy layouts, loading)
 * and weights_archive.c (the .keras layer tree) share; not an API for other modules. */
#ifndef TLR_WEIGHTS_PARTS_H
#define TLR_WEIGHTS_PARTS_H

#include "base/err.h"
#include "io/h5file.h"
#include "keras/model.h"
#include "keras/weights.h"

/* One dataset the file stores for a layer. */
typedef struct {
    char *name;            /* as listed (weight_names entry, or "vars/<i>") */
    char *path;            /* dataset path */
    tlr_h5_dsinfo info;
    int used;
} stored_w;

typedef struct {
    stored_w *w;
    int n;
} stored_list;

void tlr_wp_stored_free(stored_list *s);
tlr_status tlr_wp_stored_add(stored_list *s, tlr_h5 *h, const char *name, const char *path,
                             tlr_err *err);

/* Assigns stored weights (all belonging to plain layer 'l') by role, then by position.  A
 * Keras 1 layer whose arrays cannot be paired with its weights is left unbound instead
 * (tlr_layer.weights_unbound), not an error. */
tlr_status tlr_wp_bind_layer(tlr_layer *l, stored_w **s, int n, const char *lpath,
                             const tlr_weights_ctx *ctx, tlr_err *err);

/* 1 when the layer (or a layer inside it) has weights to bind. */
int tlr_wp_has_weights(const tlr_layer *l);

/* Every expected weight of a bound layer found its data. */
tlr_status tlr_wp_check_complete(tlr_model *m, const char *prefix, const tlr_weights_ctx *ctx,
                                 tlr_err *err);

/* Parameter counts from the stored shapes ('use_stored') or the expected ones. */
void tlr_wp_count_params(tlr_model *m, int use_stored);

#endif
