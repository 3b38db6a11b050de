/* grad_merge.c - gradients of the elementwise merges (Add, Subtract, Multiply, Average,
 * Maximum, Minimum), plain and broadcast.
 *
 * Per output element, with v[k] the inputs' values there, input k receives
 *   Add dy, Subtract dy and -dy, Average dy / n_in (the forward divides the sum by the
 *   count), Multiply dy times the product of the other inputs (no division, so zeros are
 *   fine), Maximum / Minimum dy to the input the forward's left-to-right fold kept: a later
 *   input replaces the kept one only when strictly greater (smaller), so ties go to the
 *   first and NaNs are never picked after the first input.
 * The broadcast form sums each input's contributions over the axes it was broadcast along,
 * in double. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "engine/grad.h"

/* g[k] = dL/dv[k] for one element with upstream gradient d. */
static void local_grads(tlr_merge kind, const float *v, int n_in, float d, float *g)
{
    int kept = 0;
    switch (kind) {
    case TLR_MERGE_ADD:
        for (int k = 0; k < n_in; k++)
            g[k] = d;
        return;
    case TLR_MERGE_SUBTRACT:
        g[0] = d;
        g[1] = -d;
        return;
    case TLR_MERGE_AVERAGE:
        for (int k = 0; k < n_in; k++)
            g[k] = d / (float)n_in;
        return;
    case TLR_MERGE_MULTIPLY:
        for (int k = 0; k < n_in; k++) {
            float prod = d;
            for (int j = 0; j < n_in; j++)
                if (j != k)
                    prod *= v[j];
            g[k] = prod;
        }
        return;
    case TLR_MERGE_MAXIMUM:
    case TLR_MERGE_MINIMUM:
        for (int k = 1; k < n_in; k++)
            if (kind == TLR_MERGE_MAXIMUM ? v[k] > v[kept] : v[k] < v[kept])
                kept = k;
        for (int k = 0; k < n_in; k++)
            g[k] = k == kept ? d : 0.0f;
        return;
    case TLR_MERGE_COUNT:
    default:
        TLR_ASSERT(!"unknown merge kind");
    }
}

void tlr_grad_merge(tlr_merge kind, const float *const *in, int n_in, int64_t n,
                    const float *dy, float *const *dx)
{
    TLR_ASSERT(n_in >= 1);
    TLR_ASSERT(kind != TLR_MERGE_SUBTRACT || n_in == 2);
    float *v = tlr_xmalloc((size_t)n_in * sizeof *v);
    float *g = tlr_xmalloc((size_t)n_in * sizeof *g);
    for (int64_t i = 0; i < n; i++) {
        /* every value of element i is read before any is written (dx may alias) */
        for (int k = 0; k < n_in; k++)
            v[k] = in[k][i];
        local_grads(kind, v, n_in, dy[i], g);
        for (int k = 0; k < n_in; k++)
            dx[k][i] = g[k];
    }
    free(v);
    free(g);
}

/* ---- broadcast ------------------------------------------------------------------------- */

/* Walks every output element of one broadcast merge; input k's element for output index
 * idx is at sum over d of idx[d] * st[k][d] (stride 0 along an axis it broadcasts). */
typedef struct {
    tlr_merge kind;
    const float *const *in;
    int n_in, ndim;
    const int64_t *out_shape;
    int64_t *st;    /* (n_in, ndim) */
    double **acc;   /* per input, its own element count */
} bcast_walk;

/* Input strides over the output's index space: dense strides of the input's shape, 0 where
 * the input has 1 and the output more (the forward's broadcast rule). */
static void bcast_strides(const int64_t *in_shapes, const int64_t *out_shape, int n_in,
                          int ndim, int64_t *st, int64_t *numel)
{
    for (int k = 0; k < n_in; k++) {
        int64_t stride = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t n = in_shapes[k * ndim + d];
            TLR_ASSERT(n == out_shape[d] || n == 1);
            st[k * ndim + d] = n == 1 ? 0 : stride;
            stride *= n;
        }
        numel[k] = stride;
    }
}

/* Rows along the last axis, an odometer over the others. */
static void bcast_accumulate(const bcast_walk *W, const float *dy, int64_t total)
{
    int n_in = W->n_in, nd = W->ndim;
    int64_t len = W->out_shape[nd - 1], idx[8] = { 0 };
    float *v = tlr_xmalloc((size_t)n_in * sizeof *v), *g = tlr_xmalloc((size_t)n_in * sizeof *g);
    int64_t *off = tlr_xmalloc((size_t)n_in * sizeof *off);
    for (int64_t row = 0; len > 0 && row * len < total; row++) {
        for (int k = 0; k < n_in; k++) {
            off[k] = 0;
            for (int d = 0; d < nd - 1; d++)
                off[k] += idx[d] * W->st[k * nd + d];
        }
        for (int64_t i = 0; i < len; i++) {
            for (int k = 0; k < n_in; k++)
                v[k] = W->in[k][off[k] + i * W->st[k * nd + nd - 1]];
            local_grads(W->kind, v, n_in, dy[row * len + i], g);
            for (int k = 0; k < n_in; k++)
                W->acc[k][off[k] + i * W->st[k * nd + nd - 1]] += (double)g[k];
        }
        for (int d = nd - 2; d >= 0; d--) { /* next row */
            if (++idx[d] < W->out_shape[d])
                break;
            idx[d] = 0;
        }
    }
    free(v);
    free(g);
    free(off);
}

void tlr_grad_merge_broadcast(tlr_merge kind, const float *const *in, int n_in, int ndim,
                              const int64_t *in_shapes, const int64_t *out_shape,
                              const float *dy, float *const *dx)
{
    TLR_ASSERT(n_in >= 1 && ndim >= 1 && ndim <= 8);
    TLR_ASSERT(kind != TLR_MERGE_SUBTRACT || n_in == 2);
    int64_t *st = tlr_xmalloc((size_t)(n_in * ndim) * sizeof *st);
    int64_t *numel = tlr_xmalloc((size_t)n_in * sizeof *numel);
    double **acc = tlr_xmalloc((size_t)n_in * sizeof *acc);
    bcast_strides(in_shapes, out_shape, n_in, ndim, st, numel);
    int64_t total = 1;
    for (int d = 0; d < ndim; d++)
        total *= out_shape[d];
    for (int k = 0; k < n_in; k++)
        acc[k] = tlr_xcalloc((size_t)(numel[k] > 0 ? numel[k] : 1), sizeof **acc);
    bcast_walk W = { kind, in, n_in, ndim, out_shape, st, acc };
    if (total > 0)
        bcast_accumulate(&W, dy, total);
    for (int k = 0; k < n_in; k++) {
        for (int64_t i = 0; i < numel[k]; i++)
            dx[k][i] = (float)acc[k][i];
        free(acc[k]);
    }
    free(acc);
    free(numel);
    free(st);
}
