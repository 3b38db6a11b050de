/* adapt_spatial.c - adapters of the image layers: convolutions, pooling, padding and
 * cropping, upsampling, resizing.  The ops work channels last; a channels_first layer is
 * transposed around its op (run_cl).  Padding is resolved here with TensorFlow's rules. */
#include "engine/exec.h"

#include <string.h>

/* View of a channels-last tensor as (N, H, W, C); rank-1 layers get H = 1. */
typedef struct {
    int64_t n, h, w, c;
} dims4;

static dims4 shape4(const int64_t *shape, int ndim, int rank)
{
    dims4 d = { shape[0], 1, 1, shape[ndim - 1] };
    if (rank == 1) {
        d.w = shape[1];
    } else {
        d.h = shape[1];
        d.w = shape[2];
    }
    return d;
}

static dims4 as4(const tlr_tensor *t, int rank)
{
    return shape4(t->shape, t->ndim, rank);
}

/* TensorFlow 'same': out = ceil(in / s), extra padding goes after. */
static int pad_before(tlr_padding p, int64_t in, int64_t out, int k, int s, int d)
{
    int64_t dk = (int64_t)(k - 1) * d + 1;
    switch (p) {
    case TLR_PAD_SAME: {
        int64_t total = (out - 1) * s + dk - in;
        return total > 0 ? (int)(total / 2) : 0;
    }
    case TLR_PAD_CAUSAL: return (int)(dk - 1);
    case TLR_PAD_FULL: return (int)(dk - 1);
    default: return 0;
    }
}

static void apply_act(const tlr_act_params *a, tlr_tensor *t)
{
    if (a->kind == TLR_ACT_LINEAR)
        return;
    tlr_op_activation(a, t->data, tlr_tensor_numel(t), t->shape[t->ndim - 1]);
}

/* Runs 'fn' on channels-last 'x' and 'y'. */
typedef tlr_status (*cl_fn)(tlr_exec *X, const tlr_layer *l, const char *path,
                            const tlr_tensor *x, tlr_tensor *y);

/* Runs 'fn' in channels-last layout, transposing around it for channels_first layers. */
static tlr_status run_cl(tlr_exec *X, const tlr_layer *l, const char *path, int channels_first,
                         const tlr_tensor *x, tlr_tensor *y, cl_fn fn)
{
    if (!channels_first)
        return fn(X, l, path, x, y);
    tlr_tensor *xc = tlr_exec_to_channels_last(X, x, path);
    if (!xc)
        return X->err->code;
    tlr_shape ys = tlr_exec_shape(y), yc = ys;
    for (int i = 1; i < ys.ndim - 1; i++)
        yc.d[i] = ys.d[i + 1];
    yc.d[ys.ndim - 1] = ys.d[1];
    tlr_tensor *tc = tlr_exec_new(X, &yc, path);
    tlr_status st = tc ? fn(X, l, path, xc, tc) : X->err->code;
    if (!st) {
        tlr_tensor *back = tlr_exec_to_channels_first(X, tc, path);
        if (back) {
            memcpy(y->data, back->data, tlr_exec_bytes(y));
            tlr_exec_drop(X, back);
        } else {
            st = X->err->code;
        }
    }
    tlr_exec_drop(X, tc);
    tlr_exec_drop(X, xc);
    return st;
}

/* ---- convolutions ---------------------------------------------------------------------------- */

/* Conv2DTranspose: the window of the full output it keeps. */
static void transpose_pads(const tlr_conv_cfg *k, tlr_conv2d_params *p)
{
    int64_t full_h = (p->h - 1) * p->sh + (int64_t)(p->kh - 1) * p->dh + 1;
    int64_t full_w = (p->w - 1) * p->sw + (int64_t)(p->kw - 1) * p->dw + 1;
    int same = k->padding == TLR_PAD_SAME;
    p->pad_top = same && full_h > p->oh ? (int)((full_h - p->oh) / 2) : 0;
    p->pad_left = same && full_w > p->ow ? (int)((full_w - p->ow) / 2) : 0;
    if (k->padding == TLR_PAD_FULL) {
        p->pad_top = (p->kh - 1) * p->dh;
        p->pad_left = (p->kw - 1) * p->dw;
    }
    p->groups = 1;
}

tlr_conv2d_params tlr_adapt_conv_params(const tlr_exec *X, const tlr_layer *l,
                                        const tlr_shape *x, const tlr_shape *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    dims4 in = shape4(x->d, x->ndim, k->rank), out = shape4(y->d, y->ndim, k->rank);
    tlr_conv2d_params p = {
        .n = in.n, .h = in.h, .w = in.w, .cin = in.c, .oh = out.h, .ow = out.w, .cout = out.c,
        .kh = k->kernel[0], .kw = k->kernel[1], .sh = k->strides[0], .sw = k->strides[1],
        .dh = k->dilation[0], .dw = k->dilation[1], .groups = k->groups,
    };
    if (l->op == TLR_OP_CONV_TRANSPOSE) {
        transpose_pads(k, &p);
        return p;
    }
    p.pad_top = k->rank == 1 ? 0 : pad_before(k->padding, in.h, out.h, p.kh, p.sh, p.dh);
    p.pad_left = pad_before(k->padding, in.w, out.w, p.kw, p.sw, p.dw);
    p.pad_top += X->pad_top; /* a ZeroPadding2D before it (fusion.c, deferred padding) */
    p.pad_left += X->pad_left;
    return p;
}

static tlr_status conv_transpose(tlr_exec *X, const tlr_layer *l, const char *path,
                                 const tlr_conv2d_params *p, const tlr_tensor *x, tlr_tensor *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    const float *kern;
    tlr_status st = tlr_exec_need_weight(X, l, path, "kernel", &kern);
    if (st)
        return st;
    tlr_op_conv2d_transpose(p, x->data, kern, k->use_bias ? tlr_exec_weight(l, "bias") : NULL,
                            y->data);
    return TLR_OK;
}

/* Separable: depthwise (no bias) into a temporary, then a 1x1 pointwise conv. */
static tlr_status separable(tlr_exec *X, const tlr_layer *l, const char *path,
                            tlr_conv2d_params *p, const float *kern, const tlr_tensor *x,
                            tlr_tensor *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    const float *pw;
    tlr_status st = tlr_exec_need_weight(X, l, path, "pointwise_kernel", &pw);
    if (st)
        return st;
    tlr_shape mid = { 4, { p->n, p->oh, p->ow, p->cin * k->depth_multiplier } };
    tlr_tensor *t = tlr_exec_new(X, &mid, path);
    if (!t)
        return X->err->code;
    int64_t cout = p->cout;
    p->cout = mid.d[3];
    tlr_op_depthwise_conv2d(p, k->depth_multiplier, x->data, kern, NULL, t->data);
    tlr_conv2d_params q = {
        .n = p->n, .h = p->oh, .w = p->ow, .cin = mid.d[3], .oh = p->oh, .ow = p->ow,
        .cout = cout, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1,
    };
    tlr_op_conv2d_act(&q, t->data, pw, k->use_bias ? tlr_exec_weight(l, "bias") : NULL,
                      k->channels_first ? NULL : &k->act, y->data);
    tlr_exec_drop(X, t);
    return TLR_OK;
}

/* Conv, depthwise, separable, transposed; 'x' and 'y' are channels-last. */
static tlr_status conv_cl(tlr_exec *X, const tlr_layer *l, const char *path,
                          const tlr_tensor *x, tlr_tensor *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    tlr_shape xs = tlr_exec_shape(x), ys = tlr_exec_shape(y);
    tlr_conv2d_params p = tlr_adapt_conv_params(X, l, &xs, &ys);
    if (l->op == TLR_OP_CONV_TRANSPOSE)
        return conv_transpose(X, l, path, &p, x, y);
    const float *bias = k->use_bias ? tlr_exec_weight(l, "bias") : NULL;
    const float *kern;
    tlr_status st;
    if (l->op == TLR_OP_CONV) {
        if ((st = tlr_exec_need_weight(X, l, path, "kernel", &kern)))
            return st;
        if (X->post)
            tlr_op_conv2d_post(&p, x->data, kern, bias, X->post, y->data);
        else
            tlr_op_conv2d_act(&p, x->data, kern, bias, k->channels_first ? NULL : &k->act,
                              y->data);
        return TLR_OK;
    }
    if ((st = tlr_exec_need_weight(X, l, path, "depthwise_kernel", &kern)))
        return st;
    if (l->op == TLR_OP_DEPTHWISE_CONV) {
        tlr_op_depthwise_conv2d_post(&p, k->depth_multiplier, x->data, kern, bias, X->post,
                                     y->data);
        return TLR_OK;
    }
    return separable(X, l, path, &p, kern, x, y);
}

tlr_status tlr_adapt_conv(tlr_exec *X, const tlr_layer *l, const char *path,
                          tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    tlr_status st = run_cl(X, l, path, l->cfg.conv.channels_first, in[0], y, conv_cl);
    /* channels_last Conv2D and SeparableConv2D apply it inside the op (one pass less) */
    int fused = (l->op == TLR_OP_CONV || l->op == TLR_OP_SEPARABLE_CONV) &&
                !l->cfg.conv.channels_first;
    if (!st && !fused)
        apply_act(&l->cfg.conv.act, y);
    return st;
}

/* ---- pooling, padding, upsampling ------------------------------------------------------------ */

tlr_pool2d_params tlr_adapt_pool_params(const tlr_layer *l, const tlr_shape *x,
                                        const tlr_shape *y)
{
    const tlr_pool_cfg *pc = &l->cfg.pool;
    dims4 in = shape4(x->d, x->ndim, pc->rank), out = shape4(y->d, y->ndim, pc->rank);
    tlr_pool2d_params p = {
        .n = in.n, .h = in.h, .w = in.w, .c = in.c, .oh = out.h, .ow = out.w,
        .kh = pc->pool[0], .kw = pc->pool[1], .sh = pc->strides[0], .sw = pc->strides[1],
    };
    p.pad_top = pc->rank == 1 ? 0 : pad_before(pc->padding, in.h, out.h, p.kh, p.sh, 1);
    p.pad_left = pad_before(pc->padding, in.w, out.w, p.kw, p.sw, 1);
    return p;
}

static tlr_status pool_cl(tlr_exec *X, const tlr_layer *l, const char *path, const tlr_tensor *x,
                          tlr_tensor *y)
{
    const tlr_pool_cfg *pc = &l->cfg.pool;
    dims4 in = as4(x, pc->rank);
    if (l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL) {
        if (l->op == TLR_OP_GLOBAL_AVGPOOL)
            tlr_op_global_avgpool(in.n, in.h * in.w, in.c, x->data, y->data);
        else
            tlr_op_global_maxpool(in.n, in.h * in.w, in.c, x->data, y->data);
        return TLR_OK;
    }
    tlr_shape xs = tlr_exec_shape(x), ys = tlr_exec_shape(y);
    tlr_pool2d_params p = tlr_adapt_pool_params(l, &xs, &ys);
    if (l->op == TLR_OP_MAXPOOL)
        tlr_op_maxpool2d(&p, x->data, y->data);
    else
        tlr_op_avgpool2d(&p, x->data, y->data);
    return TLR_OK;
}

tlr_status tlr_adapt_pool(tlr_exec *X, const tlr_layer *l, const char *path,
                          tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    int cf = l->cfg.pool.channels_first;
    int global = l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL;
    if (!global || !cf)
        return run_cl(X, l, path, cf, x, y, pool_cl);
    /* a global pool's output has no spatial axes to move: only the input is transposed */
    tlr_tensor flat = *y;
    if (l->cfg.pool.keepdims) { /* (N, C, 1, 1): same data as (N, C) */
        flat.ndim = 2;
        flat.shape[1] = y->shape[1];
    }
    tlr_tensor *xc = tlr_exec_to_channels_last(X, x, path);
    tlr_status st = xc ? pool_cl(X, l, path, xc, &flat) : X->err->code;
    tlr_exec_drop(X, xc);
    return st;
}

static tlr_status pad_cl(tlr_exec *X, const tlr_layer *l, const char *path, const tlr_tensor *x,
                         tlr_tensor *y)
{
    const tlr_pad_cfg *pc = &l->cfg.pad;
    dims4 in = as4(x, pc->rank);
    int top = pc->rank == 1 ? 0 : pc->amount[0], bottom = pc->rank == 1 ? 0 : pc->amount[1];
    if (l->op == TLR_OP_ZEROPAD)
        tlr_op_pad2d(in.n, in.h, in.w, in.c, top, bottom, pc->amount[2], pc->amount[3], x->data,
                     y->data);
    else
        tlr_op_crop2d(in.n, in.h, in.w, in.c, top, bottom, pc->amount[2], pc->amount[3], x->data,
                      y->data);
    return TLR_OK;
}

tlr_status tlr_adapt_pad(tlr_exec *X, const tlr_layer *l, const char *path,
                         tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    return run_cl(X, l, path, l->cfg.pad.channels_first, in[0], y, pad_cl);
}

static tlr_status upsample_cl(tlr_exec *X, const tlr_layer *l, const char *path,
                              const tlr_tensor *x, tlr_tensor *y)
{
    const tlr_upsample_cfg *u = &l->cfg.up;
    dims4 in = as4(x, u->rank), out = as4(y, u->rank);
    if (u->mode == TLR_RESIZE_NEAREST)
        tlr_op_upsample_nearest(in.n, in.h, in.w, in.c, u->size[0], u->size[1], x->data, y->data);
    else
        tlr_op_resize2d(TLR_RESIZE_BILINEAR, in.n, in.h, in.w, in.c, out.h, out.w, x->data,
                        y->data);
    return TLR_OK;
}

tlr_status tlr_adapt_upsample(tlr_exec *X, const tlr_layer *l, const char *path,
                              tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    return run_cl(X, l, path, l->cfg.up.channels_first, in[0], y, upsample_cl);
}

/* ---- resizing -------------------------------------------------------------------------------- */

/* The largest centred window with the target's aspect ratio, cut as Keras cuts it for
 * Resizing(crop_to_aspect_ratio=True) and smart_resize (keras/src/backend/tensorflow/
 * image.py resize, keras/src/utils/image_utils.py smart_resize; tf.keras 2
 * keras/utils/image_utils.py): sizes in float32, truncated, at least 1 and at most the
 * input's; the offsets are half the rest, truncated.  Keras 3 computes in Python floats
 * (double): the two agree while w*th and h*tw stay below 2^24 (a 4096 x 4096 input). */
void tlr_adapt_aspect_window(int64_t h, int64_t w, int th, int tw, int64_t *ch, int64_t *cw,
                             int64_t *top, int64_t *left)
{
    int64_t a = (int64_t)((float)(w * th) / (float)tw), b = (int64_t)((float)(h * tw) / (float)th);
    *ch = a < 1 ? 1 : a > h ? h : a;
    *cw = b < 1 ? 1 : b > w ? w : b;
    *top = (int64_t)((float)(h - *ch) / 2.0f);
    *left = (int64_t)((float)(w - *cw) / 2.0f);
}

/* Resizing, and RandomCrop at inference, on a channels-last 'x'.  RandomCrop (keras 2.7+
 * keras/layers/preprocessing/image_preprocessing.py, Keras 3 random_crop.py) then resizes
 * its input with smart_resize: the centred window of the target's aspect ratio, resized
 * bilinearly to (height, width), whatever the input's size.  Not reproduced: tf.keras 2.6
 * and older resized the shorter side first and cropped after; the Keras 3 releases whose
 * RandomCrop derives from BaseImagePreprocessingLayer return the input unchanged at
 * inference although the layer's output shape says (height, width) (keras-team/keras#21868).
 * The keras stage gives RandomCrop the settings of such a Resizing. */
static tlr_status resize_cl(tlr_exec *X, const tlr_layer *l, const char *path,
                            const tlr_tensor *x, tlr_tensor *y)
{
    const tlr_resizing_cfg *r = &l->cfg.resizing;
    if (!r->interpolation_ok) /* the keras stage marks it cannot_run: a guard */
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "layer '%s': Resizing interpolation "
                           "'%s' is not supported", path, r->interpolation);
    if (r->pad_to_aspect_ratio)
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "layer '%s': Resizing with "
                           "pad_to_aspect_ratio is not supported", path);
    int64_t n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];
    int64_t oh = y->shape[1], ow = y->shape[2];
    const tlr_tensor *src = x;
    tlr_tensor *win = NULL;
    if (r->crop_to_aspect_ratio) {
        int64_t ch, cw, top, left;
        tlr_adapt_aspect_window(h, w, (int)oh, (int)ow, &ch, &cw, &top, &left);
        tlr_shape cs = { 4, { n, ch, cw, c } };
        win = tlr_exec_new(X, &cs, path);
        if (!win)
            return X->err->code;
        tlr_op_crop2d(n, h, w, c, (int)top, (int)(h - ch - top), (int)left, (int)(w - cw - left),
                      x->data, win->data);
        src = win;
    }
    tlr_op_resize2d(r->mode, n, src->shape[1], src->shape[2], c, oh, ow, src->data, y->data);
    tlr_exec_drop(X, win);
    return TLR_OK;
}

tlr_status tlr_adapt_resizing(tlr_exec *X, const tlr_layer *l, const char *path,
                              tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    return run_cl(X, l, path, l->cfg.resizing.channels_first, in[0], y, resize_cl);
}

/* Dropout, noise and augmentation layers pass their input on; RandomCrop resizes. */
tlr_status tlr_adapt_identity(tlr_exec *X, const tlr_layer *l, const char *path,
                              tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    if (l->cfg.resizing.random_crop == 1)
        return run_cl(X, l, path, l->cfg.resizing.channels_first, in[0], y, resize_cl);
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    return TLR_OK;
}
