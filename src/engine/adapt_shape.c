/* adapt_shape.c - adapters of the layers that move values rather than compute them:
 * Flatten, Reshape, Permute, RepeatVector, and the merges (Add, ..., Concatenate). */
#include "engine/exec.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* Flatten of a channels_first image flattens it in channels-last order, as Keras does. */
tlr_status tlr_adapt_flatten(tlr_exec *X, const tlr_layer *l, const char *path,
                             tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    if (x->ndim > 2 && l->cfg.flatten.channels_first) {
        tlr_tensor *xc = tlr_exec_to_channels_last(X, x, path);
        if (!xc)
            return X->err->code;
        memcpy(y->data, xc->data, tlr_exec_bytes(y));
        tlr_exec_drop(X, xc);
        return TLR_OK;
    }
    memcpy(y->data, x->data, tlr_exec_bytes(y));
    return TLR_OK;
}

/* Reshape: the same values under another shape. */
tlr_status tlr_adapt_copy(tlr_exec *X, const tlr_layer *l, const char *path,
                          tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    return TLR_OK;
}

tlr_status tlr_adapt_permute(tlr_exec *X, const tlr_layer *l, const char *path,
                             tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    int perm[8] = { 0 };
    for (int i = 0; i < l->cfg.permute.ndim; i++)
        perm[i + 1] = l->cfg.permute.dims[i];
    tlr_tensor_transpose(x->ndim, x->shape, perm, x->data, y->data);
    return TLR_OK;
}

tlr_status tlr_adapt_repeat(tlr_exec *X, const tlr_layer *l, const char *path,
                            tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    int64_t n = x->shape[0], f = x->shape[1];
    for (int64_t b = 0; b < n; b++)
        for (int r = 0; r < l->cfg.repeat_n; r++)
            memcpy(y->data + (b * l->cfg.repeat_n + r) * f, x->data + b * f,
                   (size_t)f * sizeof(float));
    return TLR_OK;
}

/* Add, Subtract, ...: inputs of the output's shape merge element by element; others
 * broadcast, a lower rank expanded with 1s after the batch axis as Keras's _Merge.call does
 * (shape_elementwise in shape.c has checked that they broadcast). */
tlr_status tlr_adapt_merge(tlr_exec *X, const tlr_layer *l, const char *path,
                           tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const float *ptrs[TLR_MAX_CALL_INPUTS];
    int same = 1;
    for (int i = 0; i < n_in; i++) {
        ptrs[i] = in[i]->data;
        same = same && in[i]->ndim == y->ndim &&
               memcmp(in[i]->shape, y->shape, (size_t)y->ndim * sizeof *y->shape) == 0;
    }
    if (same) {
        tlr_op_merge(l->cfg.merge.kind, ptrs, n_in, tlr_tensor_numel(y), y->data);
        return TLR_OK;
    }
    int64_t *shapes = tlr_xmalloc((size_t)n_in * (size_t)y->ndim * sizeof *shapes); // (n_in, ndim)
    for (int i = 0; i < n_in; i++) {
        int64_t *s = shapes + (size_t)i * (size_t)y->ndim;
        int extra = y->ndim - in[i]->ndim;
        s[0] = in[i]->shape[0];
        for (int d = 1; d < y->ndim; d++)
            s[d] = d <= extra ? 1 : in[i]->shape[d - extra];
    }
    tlr_op_merge_broadcast(l->cfg.merge.kind, ptrs, n_in, y->ndim, shapes, y->shape, y->data);
    free(shapes);
    return TLR_OK;
}

tlr_status tlr_adapt_concat(tlr_exec *X, const tlr_layer *l, const char *path,
                            tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    int ax = tlr_exec_axis(l->cfg.merge.axis, in[0]->ndim);
    const float *ptrs[TLR_MAX_CALL_INPUTS];
    int64_t lens[TLR_MAX_CALL_INPUTS], outer = 1, inner = 1, len;
    for (int i = 0; i < n_in; i++) {
        ptrs[i] = in[i]->data;
        tlr_exec_split_axis(in[i], ax, &outer, &len, &inner);
        lens[i] = len;
    }
    tlr_op_concat(ptrs, lens, n_in, outer, inner, y->data);
    return TLR_OK;
}
