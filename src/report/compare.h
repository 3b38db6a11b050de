/* compare.h - what training changed: two models (the one before, A, and the one after, B)
 * matched layer by layer, with the size of each layer's weight change.
 *
 * Layers are matched by path ("vgg16/block1_conv1"), level by level inside matched nested
 * models; a layer left over on both sides with the same class and weight shapes, in the same
 * order, is the same layer renamed (Keras numbers names per session: dense_1 then dense_3).
 * Numbers are sums over float32 values in double, in a fixed order, so equal files give
 * equal bytes.  Pure data: no I/O, no JSON. */
#ifndef TLR_COMPARE_H
#define TLR_COMPARE_H

#include <stdint.h>

#include "keras/model.h"

typedef enum {
    TLR_CMP_SAME = 0,  /* every stored value equal */
    TLR_CMP_CHANGED,   /* same arrays and shapes, some values differ */
    TLR_CMP_ADDED,     /* only in B */
    TLR_CMP_REMOVED,   /* only in A */
    TLR_CMP_RESHAPED,  /* in both, but another class, array count or array shape */
    TLR_CMP_COUNT
} tlr_cmp_status;

/* "same", "changed", "added", "removed", "reshaped". */
const char *tlr_cmp_status_name(tlr_cmp_status s);

/* Sums of one kind of array (weights, or moving statistics) over a layer. */
typedef struct {
    int n_arrays;
    int64_t n_elems;
    int64_t n_changed;      /* elements whose value differs (NaN equals NaN) */
    double sq_before;       /* sum of A^2 */
    double sq_diff;         /* sum of (B - A)^2 */
    double max_abs;         /* largest |B - A| */
} tlr_cmp_sums;

typedef struct {
    char *path;             /* in B; in A for a removed layer */
    char *before_path;      /* the path in A when it differs (renamed or inside a renamed
                               model), else NULL */
    const tlr_layer *before, *after; /* borrowed; NULL on the side that lacks it */
    tlr_cmp_status status;
    int depth;              /* 0 = top level */
    int is_model;           /* a nested model: its sums cover the layers inside it */
    int has_weights;        /* holds arrays in A or B */
    int frozen;             /* has weights and does not train in B (A for a removed layer) */
    tlr_cmp_sums w;         /* arrays that train (kernel, bias, gamma, beta...) */
    tlr_cmp_sums stats;     /* moving statistics (moving_mean, moving_variance...) */
} tlr_cmp_layer;

/* A setting that differs between A and B for a matched layer. */
typedef struct {
    char *path;             /* in B */
    const char *key;        /* "trainable", "class", "activation", "units", "filters",
                               "kernel_size", "rate" (static) */
    char *before, *after;   /* compact JSON values ("relu", 128, true, [3, 3]); "null" when
                               the layer's config lacks the key */
} tlr_cmp_config;

typedef struct {
    tlr_cmp_layer *layers;  /* B's layer order, removed layers where they stood in A */
    int n_layers;
    tlr_cmp_config *configs;
    int n_configs;
} tlr_compare;

/* Compares 'before' (A) with 'after' (B); weights not loaded count as absent.  Free with
 * tlr_compare_free(). */
tlr_compare *tlr_compare_models(const tlr_model *before, const tlr_model *after);
void tlr_compare_free(tlr_compare *c);

/* sqrt(sq_diff) / sqrt(sq_before): 0 when nothing changed (and for no arrays at all),
 * INFINITY when A was all zeros and B is not. */
double tlr_cmp_rel(const tlr_cmp_sums *s);

/* The weights or statistics changed (any element differs). */
int tlr_cmp_moved(const tlr_cmp_sums *s);

#endif
