/* tensor.h - dense float32 tensors in Keras layout, batch first: (N, H, W, C) for images,
 * (N, units) for vectors.  Ownership rule for the whole project: functions borrow their
 * arguments (never free them); a function that returns a new tensor says so, and the
 * caller frees it with tlr_tensor_free(). */
#ifndef TLR_TENSOR_H
#define TLR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TLR_MAX_DIMS 8

typedef struct {
    int ndim;
    int64_t shape[TLR_MAX_DIMS]; /* Keras order; shape[0] is the batch */
    float *data;                 /* owned, 64-byte aligned, numel floats */
} tlr_tensor;

/* Product of dims, or -1 when a dim is negative or the product would exceed 2^62. */
int64_t tlr_shape_numel(int ndim, const int64_t *shape);

/* New zero-filled tensor; free with tlr_tensor_free(). Aborts on OOM: bound sizes first. */
tlr_tensor *tlr_tensor_new(int ndim, const int64_t *shape);
/* New tensor of the same shape with the data copied. */
tlr_tensor *tlr_tensor_clone(const tlr_tensor *t);
void tlr_tensor_free(tlr_tensor *t);
int64_t tlr_tensor_numel(const tlr_tensor *t);

/* Writes "(1, 75, 75, 128)" into 'out'. */
void tlr_shape_format(int ndim, const int64_t *shape, char *out, size_t cap);

/* Aligned allocation for large float buffers (activations, scratch); free with tlr_falloc_free. */
float *tlr_falloc(size_t n);
void tlr_falloc_free(float *p);

/* General axis permutation: out = transpose(in, perm) for a tensor of rank 'ndim' (at most 16). */
void tlr_tensor_transpose(int ndim, const int64_t *shape, const int *perm, const float *in,
                          float *out);

#endif
