/* reverse_ops_shape.c - the reverse ops of the layers that move values rather than compute
 * them: Flatten, Reshape, identities, Permute, RepeatVector, the merges and Concatenate,
 * padding, cropping, upsampling and resizing.  Each mirrors its adapter in adapt_shape.c or
 * adapt_spatial.c. */
#include "engine/reverse_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/grad.h"

/* (N, H, W, C) of a channels-last shape; rank-1 layers get H = 1. */
static void dims_of(const tlr_shape *s, int rank, int64_t *n, int64_t *h, int64_t *w,
                    int64_t *c)
{
    *n = s->d[0];
    *c = s->d[s->ndim - 1];
    *h = rank == 1 ? 1 : s->d[1];
    *w = rank == 1 ? s->d[1] : s->d[2];
}

static tlr_status rev_copy(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    memcpy(r->dx[0]->data, r->dy->data, tlr_exec_bytes(r->dx[0]));
    return TLR_OK;
}

/* Flatten of a channels_first image flattened its channels-last form. */
static tlr_status rev_flatten(tlr_rev *r)
{
    if (r->in_shape[0].ndim <= 2 || !r->l->cfg.flatten.channels_first)
        return rev_copy(r);
    tlr_tensor cl = *r->dy;
    const tlr_shape *s = &r->in_shape[0];
    cl.ndim = s->ndim;
    cl.shape[0] = s->d[0];
    for (int i = 1; i < s->ndim - 1; i++)
        cl.shape[i] = s->d[i + 1];
    cl.shape[s->ndim - 1] = s->d[1];
    return (r->dx[0] = tlr_exec_to_channels_first(r->X, &cl, r->path)) ? TLR_OK
                                                                       : r->X->err->code;
}

static tlr_status rev_permute(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    int perm[8] = { 0 };
    for (int i = 0; i < r->l->cfg.permute.ndim; i++)
        perm[i + 1] = r->l->cfg.permute.dims[i];
    tlr_grad_transpose(r->in_shape[0].ndim, r->in_shape[0].d, perm, r->dy->data,
                       r->dx[0]->data);
    return TLR_OK;
}

static tlr_status rev_repeat(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    int64_t n = r->in_shape[0].d[0], f = r->in_shape[0].d[1];
    int reps = r->l->cfg.repeat_n;
    for (int64_t b = 0; b < n; b++)
        for (int64_t j = 0; j < f; j++) {
            double s = 0.0;
            for (int k = 0; k < reps; k++)
                s += (double)r->dy->data[(b * reps + k) * f + j];
            r->dx[0]->data[b * f + j] = (float)s;
        }
    return TLR_OK;
}

/* ---- merges --------------------------------------------------------------------------------- */

static tlr_status alloc_all_dx(tlr_rev *r)
{
    for (int k = 0; k < r->n_in; k++)
        if (!(r->dx[k] = tlr_rev_new_dx(r, k)))
            return r->X->err->code;
    return TLR_OK;
}

/* Add, Subtract, Average of same-shaped inputs read only dy (grad_merge.c's formulas). */
static void linear_merge(tlr_rev *r)
{
    int64_t n = tlr_tensor_numel(r->dy);
    tlr_merge kind = r->l->cfg.merge.kind;
    const float *dy = r->dy->data;
    for (int k = 0; k < r->n_in; k++) {
        float *dx = r->dx[k]->data;
        for (int64_t i = 0; i < n; i++)
            dx[i] = kind == TLR_MERGE_AVERAGE ? dy[i] / (float)r->n_in
                    : kind == TLR_MERGE_SUBTRACT && k == 1 ? -dy[i] : dy[i];
    }
}

static tlr_status rev_merge(tlr_rev *r)
{
    tlr_status st = alloc_all_dx(r);
    if (st)
        return st;
    if (!r->x) {
        linear_merge(r);
        return TLR_OK;
    }
    const float *in[TLR_MAX_CALL_INPUTS];
    float *dx[TLR_MAX_CALL_INPUTS];
    int nd = r->dy->ndim, same = 1;
    for (int k = 0; k < r->n_in; k++) {
        in[k] = r->x[k]->data;
        dx[k] = r->dx[k]->data;
        same = same && r->in_shape[k].ndim == nd &&
               memcmp(r->in_shape[k].d, r->dy->shape, (size_t)nd * sizeof *r->dy->shape) == 0;
    }
    if (same) {
        tlr_grad_merge(r->l->cfg.merge.kind, in, r->n_in, tlr_tensor_numel(r->dy), r->dy->data,
                       dx);
        return TLR_OK;
    }
    int64_t *shapes = tlr_xmalloc((size_t)r->n_in * (size_t)nd * sizeof *shapes); // (n_in, nd)
    for (int k = 0; k < r->n_in; k++) { /* lower ranks take 1s after the batch axis */
        int64_t *s = shapes + (size_t)k * (size_t)nd;
        int extra = nd - r->in_shape[k].ndim;
        s[0] = r->in_shape[k].d[0];
        for (int d = 1; d < nd; d++)
            s[d] = d <= extra ? 1 : r->in_shape[k].d[d - extra];
    }
    tlr_grad_merge_broadcast(r->l->cfg.merge.kind, in, r->n_in, nd, shapes, r->dy->shape,
                             r->dy->data, dx);
    free(shapes);
    return TLR_OK;
}

static tlr_status rev_concat(tlr_rev *r)
{
    tlr_status st = alloc_all_dx(r);
    if (st)
        return st;
    int ax = tlr_exec_axis(r->l->cfg.merge.axis, r->in_shape[0].ndim);
    int64_t lens[TLR_MAX_CALL_INPUTS], outer = 1, inner = 1, len;
    float *dx[TLR_MAX_CALL_INPUTS];
    for (int k = 0; k < r->n_in; k++) {
        tlr_exec_split_axis(r->dx[k], ax, &outer, &len, &inner);
        lens[k] = len;
        dx[k] = r->dx[k]->data;
    }
    tlr_grad_concat(r->dy->data, lens, r->n_in, outer, inner, dx);
    return TLR_OK;
}

/* ---- padding, cropping, upsampling, resizing (channels last) -------------------------------- */

typedef tlr_status (*rev_fn)(tlr_rev *r);

/* rev_cl of reverse_ops.c for these layers: their inputs' values are never read. */
static tlr_status shape_cl(tlr_rev *r, int channels_first, rev_fn fn)
{
    if (!channels_first)
        return fn(r);
    tlr_shape in_cl = r->in_shape[0];
    for (int i = 1; i < in_cl.ndim - 1; i++)
        in_cl.d[i] = r->in_shape[0].d[i + 1];
    in_cl.d[in_cl.ndim - 1] = r->in_shape[0].d[1];
    tlr_tensor *dy = tlr_exec_to_channels_last(r->X, r->dy, r->path), *dx = NULL;
    if (!dy)
        return r->X->err->code;
    tlr_rev c = *r;
    c.in_shape = &in_cl;
    c.dy = dy;
    c.dx = &dx;
    tlr_status st = fn(&c);
    if (!st && !(r->dx[0] = tlr_exec_to_channels_first(r->X, dx, r->path)))
        st = r->X->err->code;
    tlr_exec_drop(r->X, dx);
    tlr_exec_drop(r->X, dy);
    return st;
}

static tlr_status pad_cl(tlr_rev *r)
{
    const tlr_pad_cfg *pc = &r->l->cfg.pad;
    int64_t n, h, w, c;
    dims_of(&r->in_shape[0], pc->rank, &n, &h, &w, &c);
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    int top = pc->rank == 1 ? 0 : pc->amount[0], bottom = pc->rank == 1 ? 0 : pc->amount[1];
    if (r->l->op == TLR_OP_ZEROPAD)
        tlr_grad_pad2d(n, h, w, c, top, bottom, pc->amount[2], pc->amount[3], r->dy->data,
                       r->dx[0]->data);
    else
        tlr_grad_crop2d(n, h, w, c, top, bottom, pc->amount[2], pc->amount[3], r->dy->data,
                        r->dx[0]->data);
    return TLR_OK;
}

static tlr_status upsample_cl(tlr_rev *r)
{
    const tlr_upsample_cfg *u = &r->l->cfg.up;
    int64_t n, h, w, c, on, oh, ow, oc;
    tlr_shape ys = tlr_exec_shape(r->dy);
    dims_of(&r->in_shape[0], u->rank, &n, &h, &w, &c);
    dims_of(&ys, u->rank, &on, &oh, &ow, &oc);
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    if (u->mode == TLR_RESIZE_NEAREST)
        tlr_grad_upsample_nearest(n, h, w, c, u->size[0], u->size[1], r->dy->data,
                                  r->dx[0]->data);
    else
        tlr_grad_resize2d(TLR_RESIZE_BILINEAR, n, h, w, c, oh, ow, r->dy->data, r->dx[0]->data);
    return TLR_OK;
}

/* Resizing (and RandomCrop at inference): back through the resize, then through the window
 * crop_to_aspect_ratio cut. */
static tlr_status resize_cl(tlr_rev *r)
{
    const tlr_resizing_cfg *rc = &r->l->cfg.resizing;
    const tlr_shape *xs = &r->in_shape[0];
    int64_t n = xs->d[0], h = xs->d[1], w = xs->d[2], c = xs->d[3];
    int64_t oh = r->dy->shape[1], ow = r->dy->shape[2], ch = h, cw = w, top = 0, left = 0;
    if (rc->crop_to_aspect_ratio)
        tlr_adapt_aspect_window(h, w, (int)oh, (int)ow, &ch, &cw, &top, &left);
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    if (!rc->crop_to_aspect_ratio) {
        tlr_grad_resize2d(rc->mode, n, h, w, c, oh, ow, r->dy->data, r->dx[0]->data);
        return TLR_OK;
    }
    tlr_shape ws = { 4, { n, ch, cw, c } };
    tlr_tensor *dwin = tlr_exec_new(r->X, &ws, r->path);
    if (!dwin)
        return r->X->err->code;
    tlr_grad_resize2d(rc->mode, n, ch, cw, c, oh, ow, r->dy->data, dwin->data);
    tlr_grad_crop2d(n, h, w, c, (int)top, (int)(h - ch - top), (int)left, (int)(w - cw - left),
                    dwin->data, r->dx[0]->data);
    tlr_exec_drop(r->X, dwin);
    return TLR_OK;
}

tlr_status tlr_rev_shape_op(tlr_rev *r)
{
    const tlr_layer *l = r->l;
    switch (l->op) {
    case TLR_OP_FLATTEN: return rev_flatten(r);
    case TLR_OP_RESHAPE: return rev_copy(r);
    case TLR_OP_IDENTITY:
        if (l->cfg.resizing.random_crop == 1)
            return shape_cl(r, l->cfg.resizing.channels_first, resize_cl);
        return rev_copy(r);
    case TLR_OP_PERMUTE: return rev_permute(r);
    case TLR_OP_REPEAT_VECTOR: return rev_repeat(r);
    case TLR_OP_MERGE: return rev_merge(r);
    case TLR_OP_CONCAT: return rev_concat(r);
    case TLR_OP_ZEROPAD: case TLR_OP_CROPPING:
        return shape_cl(r, l->cfg.pad.channels_first, pad_cl);
    case TLR_OP_UPSAMPLING: return shape_cl(r, l->cfg.up.channels_first, upsample_cl);
    case TLR_OP_RESIZING: return shape_cl(r, l->cfg.resizing.channels_first, resize_cl);
    default:
        return tlr_err_set(r->X->err, TLR_E_UNSUPPORTED, "layer '%s' (%s): no gradient for "
                           "this layer kind", r->path, l->class_name);
    }
}
