/* tensor.c - float tensors. */
#include "base/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/xalloc.h"

int64_t tlr_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] && n > ((int64_t)1 << 62) / shape[i])
            return -1;
        n *= shape[i];
    }
    return n;
}

/* Activations of a few MB are fresh memory for every layer of a first pass: on huge pages
 * (bigmem.h) their page faults are 512 times fewer (VGG16 at 150 x 150, a cold pass: 4,200
 * faults, most of them here and in the weights). */
float *tlr_falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    if (bytes >= TLR_BIG_ALLOC_MIN)
        return tlr_big_alloc(bytes);
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "tlreport: out of memory (%zu bytes)\n", bytes);
        abort();
    }
    return p;
}

void tlr_falloc_free(float *p)
{
    free(p);
}

tlr_tensor *tlr_tensor_new(int ndim, const int64_t *shape)
{
    TLR_ASSERT(ndim >= 0 && ndim <= TLR_MAX_DIMS);
    int64_t n = tlr_shape_numel(ndim, shape);
    TLR_ASSERT(n >= 0);
    tlr_tensor *t = tlr_xcalloc(1, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = tlr_falloc((size_t)n);
    memset(t->data, 0, (size_t)n * sizeof(float));
    return t;
}

tlr_tensor *tlr_tensor_clone(const tlr_tensor *t)
{
    tlr_tensor *c = tlr_tensor_new(t->ndim, t->shape);
    memcpy(c->data, t->data, (size_t)tlr_tensor_numel(t) * sizeof(float));
    return c;
}

void tlr_tensor_free(tlr_tensor *t)
{
    if (!t)
        return;
    tlr_falloc_free(t->data);
    free(t);
}

int64_t tlr_tensor_numel(const tlr_tensor *t)
{
    return tlr_shape_numel(t->ndim, t->shape);
}

void tlr_shape_format(int ndim, const int64_t *shape, char *out, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "(");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%sNone", i ? ", " : "");
        else
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%lld", i ? ", " : "",
                                  (long long)shape[i]);
    }
    if (ndim == 1)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, ",");
    snprintf(out + n, n < cap ? cap - n : 0, ")");
}

#define MAX_RANK 16

/* Walks the output in order with an odometer over its indices; 'step[d]' is how far the
 * input offset moves when output index d advances by one. */
void tlr_tensor_transpose(int ndim, const int64_t *shape, const int *perm, const float *in,
                          float *out)
{
    TLR_ASSERT(ndim >= 0 && ndim <= MAX_RANK);
    int64_t in_stride[MAX_RANK], oshape[MAX_RANK], step[MAX_RANK], idx[MAX_RANK];
    int64_t total = 1, s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        in_stride[d] = s;
        s *= shape[d];
    }
    for (int d = 0; d < ndim; d++) {
        TLR_ASSERT(perm[d] >= 0 && perm[d] < ndim);
        oshape[d] = shape[perm[d]];
        step[d] = in_stride[perm[d]];
        idx[d] = 0;
        total *= oshape[d];
    }
    if (total <= 0)
        return;
    if (ndim == 0) {
        out[0] = in[0];
        return;
    }
    int64_t last = oshape[ndim - 1], last_step = step[ndim - 1], off = 0;
    for (int64_t o = 0; o < total; o += last) {
        float *dst = out + o;
        if (last_step == 1)
            memcpy(dst, in + off, (size_t)last * sizeof *dst);
        else
            for (int64_t j = 0; j < last; j++)
                dst[j] = in[off + j * last_step];
        for (int d = ndim - 2; d >= 0; d--) {
            off += step[d];
            if (++idx[d] < oshape[d])
                break;
            off -= step[d] * oshape[d];
            idx[d] = 0;
        }
    }
}
