/* ops_merge.c - elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
 * Minimum) and Concatenate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "engine/ops.h"

/* Folds the inputs left to right per element, in the order Keras does
 * (output = inputs[0]; output = output op inputs[i]), so rounding matches.  Reading every
 * input before writing makes 'out' safe to alias any input. */
#define FOLD(step) \
    do { \
        for (int64_t i = 0; i < n; i++) { \
            float acc = in[0][i]; \
            for (int k = 1; k < n_in; k++) { \
                float v = in[k][i]; \
                acc = (step); \
            } \
            out[i] = acc; \
        } \
    } while (0)

void tlr_op_merge(tlr_merge kind, const float *const *in, int n_in, int64_t n, float *out)
{
    TLR_ASSERT(n_in >= 1);
    switch (kind) {
    case TLR_MERGE_ADD:
        FOLD(acc + v);
        break;
    case TLR_MERGE_SUBTRACT:
        TLR_ASSERT(n_in == 2);
        FOLD(acc - v);
        break;
    case TLR_MERGE_MULTIPLY:
        FOLD(acc * v);
        break;
    case TLR_MERGE_AVERAGE: {
        /* Keras sums, then divides by the count (not a multiply by 1/count). */
        float cnt = (float)n_in;
        FOLD(acc + v);
        for (int64_t i = 0; i < n; i++)
            out[i] /= cnt;
        break;
    }
    case TLR_MERGE_MAXIMUM:
        FOLD(v > acc ? v : acc);
        break;
    case TLR_MERGE_MINIMUM:
        FOLD(v < acc ? v : acc);
        break;
    case TLR_MERGE_COUNT:
    default:
        TLR_ASSERT(!"unknown merge kind");
    }
}

/* One row of a broadcast merge: element i of input k is p[k][i * s[k]], s[k] being 1, or 0
 * along a broadcast axis.  The same left-to-right fold as FOLD. */
#define FOLD_ROW(step) \
    do { \
        for (int64_t i = 0; i < len; i++) { \
            float acc = p[0][i * s[0]]; \
            for (int k = 1; k < n_in; k++) { \
                float v = p[k][i * s[k]]; \
                acc = (step); \
            } \
            o[i] = acc; \
        } \
    } while (0)

static void merge_row(tlr_merge kind, const float *const *p, const int64_t *s, int n_in,
                      int64_t len, float *o)
{
    switch (kind) {
    case TLR_MERGE_ADD: FOLD_ROW(acc + v); break;
    case TLR_MERGE_SUBTRACT: FOLD_ROW(acc - v); break;
    case TLR_MERGE_MULTIPLY: FOLD_ROW(acc * v); break;
    case TLR_MERGE_AVERAGE: {
        float cnt = (float)n_in;
        FOLD_ROW(acc + v);
        for (int64_t i = 0; i < len; i++)
            o[i] /= cnt;
        break;
    }
    case TLR_MERGE_MAXIMUM: FOLD_ROW(v > acc ? v : acc); break;
    case TLR_MERGE_MINIMUM: FOLD_ROW(v < acc ? v : acc); break;
    case TLR_MERGE_COUNT:
    default:
        TLR_ASSERT(!"unknown merge kind");
    }
}

void tlr_op_merge_broadcast(tlr_merge kind, const float *const *in, int n_in, int ndim,
                            const int64_t *in_shapes, const int64_t *out_shape, float *out)
{
    TLR_ASSERT(n_in >= 1 && ndim >= 1 && ndim <= 8);
    TLR_ASSERT(kind != TLR_MERGE_SUBTRACT || n_in == 2);
    /* Each input's strides over the output's index space, 0 along an axis it broadcasts.
     * Output axes of size 1 drop out, and neighbouring axes that every input walks the same
     * way (contiguously, or not at all) join into one, so that the inner loop is as long as
     * possible: (N, H, W, C) x (N, 1, 1, C) becomes (N, H*W, C) x (N, 0, 1) strides. */
    int64_t *own = tlr_xmalloc((size_t)n_in * 8 * sizeof *own); // (n_in, 8) dense strides
    int64_t *st = tlr_xmalloc((size_t)n_in * 8 * sizeof *st);   // (n_in, 8) joined strides
    int64_t od[8], total = 1;
    for (int k = 0; k < n_in; k++) {
        int64_t stride = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t n = in_shapes[k * ndim + d];
            TLR_ASSERT(n == out_shape[d] || n == 1);
            own[k * 8 + d] = stride;
            stride *= n;
        }
    }
    int r = 0;
    for (int d = 0; d < ndim; d++) {
        int64_t n = out_shape[d];
        total *= n;
        if (n == 1)
            continue;
        int join = r > 0;
        for (int k = 0; k < n_in && join; k++) {
            int64_t sk = in_shapes[k * ndim + d] == 1 ? 0 : own[k * 8 + d];
            join = st[k * 8 + r - 1] == sk * n;
        }
        if (join) {
            od[r - 1] *= n;
        } else {
            od[r] = n;
            r++;
        }
        for (int k = 0; k < n_in; k++)
            st[k * 8 + r - 1] = in_shapes[k * ndim + d] == 1 ? 0 : own[k * 8 + d];
    }
    if (r == 0) { /* one element */
        od[0] = 1;
        for (int k = 0; k < n_in; k++)
            st[k * 8] = 0;
        r = 1;
    }
    const float **p = tlr_xmalloc((size_t)n_in * sizeof *p);
    int64_t *s = tlr_xmalloc((size_t)n_in * sizeof *s);
    for (int k = 0; k < n_in; k++)
        s[k] = st[k * 8 + r - 1];
    const int64_t len = od[r - 1], rows = total / (len ? len : 1);
    int64_t idx[8] = { 0 };
    for (int64_t row = 0; total > 0 && row < rows; row++) {
        for (int k = 0; k < n_in; k++) {
            int64_t off = 0;
            for (int d = 0; d < r - 1; d++)
                off += idx[d] * st[k * 8 + d];
            p[k] = in[k] + off;
        }
        merge_row(kind, p, s, n_in, len, out + row * len);
        for (int d = r - 2; d >= 0; d--) { /* next row: the odometer over the outer axes */
            if (++idx[d] < od[d])
                break;
            idx[d] = 0;
        }
    }
    free(s);
    free(p);
    free(st);
    free(own);
}

void tlr_op_concat(const float *const *in, const int64_t *len, int n_in, int64_t outer,
                   int64_t inner, float *out)
{
    int64_t total = 0;
    for (int k = 0; k < n_in; k++)
        total += len[k];
    for (int64_t o = 0; o < outer; o++) {
        float *dst = out + o * total * inner; // (total, inner)
        for (int k = 0; k < n_in; k++) {
            size_t cnt = (size_t)(len[k] * inner);
            memcpy(dst, in[k] + o * len[k] * inner, cnt * sizeof *dst);
            dst += cnt;
        }
    }
}
