/* forward.c - executes the layer graph: Keras settings to op parameters (padding resolved
 * with TensorFlow's rules), activation lifetimes, nested models, captures. */
#include "engine/forward.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/xalloc.h"
#include "engine/ops.h"
#include "keras/expr.h"
#include "keras/shape.h"

typedef struct {
    const tlr_model *owner;
    int layer;
} capture_ref;

typedef struct {
    const tlr_forward_opts *opts;
    tlr_forward_result *res;
    tlr_err *err;
    const capture_ref *caps;
    int n_caps;
    int64_t live_bytes;
    const tlr_conv_post *post; /* a fused chain's BatchNormalization / ReLU (see fuse_chain) */
    const tlr_shape *in0_shape; /* a deferred ZeroPadding2D's output shape (see pad_defer) */
    int pad_top, pad_left;      /* and its padding, added by the convolution reading it */
} run_ctx;

/* ---- tensors with a memory budget ---------------------------------------------------------- */

static size_t tensor_bytes(const tlr_tensor *t)
{
    return (size_t)tlr_tensor_numel(t) * sizeof(float);
}

static tlr_tensor *new_tensor(run_ctx *C, const tlr_shape *s, const char *path)
{
    int64_t n = tlr_shape_numel_of(s);
    if (n < 0) {
        tlr_err_set(C->err, TLR_E_SHAPE, "layer '%s': output shape is not fully known", path);
        return NULL;
    }
    int64_t bytes = n * (int64_t)sizeof(float);
    if (C->opts && C->opts->max_memory > 0 && C->live_bytes + bytes > C->opts->max_memory) {
        tlr_err_set(C->err, TLR_E_LIMIT, "layer '%s': activations would need %lld MB, over the "
                    "memory budget of %lld MB (--max-memory)", path,
                    (long long)((C->live_bytes + bytes) >> 20),
                    (long long)(C->opts->max_memory >> 20));
        return NULL;
    }
    C->live_bytes += bytes;
    if (C->live_bytes > C->res->peak_bytes)
        C->res->peak_bytes = C->live_bytes;
    tlr_tensor *t = tlr_xcalloc(1, sizeof *t);
    t->ndim = s->ndim;
    memcpy(t->shape, s->d, (size_t)s->ndim * sizeof *s->d);
    t->data = tlr_falloc((size_t)n);
    return t;
}

static void drop_tensor(run_ctx *C, tlr_tensor *t)
{
    if (!t)
        return;
    C->live_bytes -= (int64_t)tensor_bytes(t);
    tlr_tensor_free(t);
}

static tlr_shape shape_of(const tlr_tensor *t)
{
    tlr_shape s = { t->ndim, { 0 } };
    memcpy(s.d, t->shape, (size_t)t->ndim * sizeof *t->shape);
    return s;
}

/* ---- weights ------------------------------------------------------------------------------- */

static const float *weight(const tlr_layer *l, const char *role)
{
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, role) == 0)
            return l->weights[i].data;
    return NULL;
}

static tlr_status need_weight(run_ctx *C, const tlr_layer *l, const char *path, const char *role,
                              const float **out)
{
    *out = weight(l, role);
    if (!*out)
        return tlr_err_set(C->err, TLR_E_FORMAT, "layer '%s': weight '%s' is not loaded", path, role);
    return TLR_OK;
}

/* ---- layout helpers ------------------------------------------------------------------------ */

/* A new tensor holding transpose(x, perm). */
static tlr_tensor *permuted(run_ctx *C, const tlr_tensor *x, const int *perm, const char *path)
{
    tlr_shape s = { x->ndim, { 0 } };
    for (int i = 0; i < x->ndim; i++)
        s.d[i] = x->shape[perm[i]];
    tlr_tensor *t = new_tensor(C, &s, path);
    if (t)
        tlr_tensor_transpose(x->ndim, x->shape, perm, x->data, t->data);
    return t;
}

/* Channels first (N, C, ...) to channels last (N, ..., C), and back, for ranks 3..5. */
static tlr_tensor *to_channels_last(run_ctx *C, const tlr_tensor *x, const char *path)
{
    int nd = x->ndim, perm[8] = { 0 };
    for (int i = 1; i < nd - 1; i++)
        perm[i] = i + 1;
    perm[nd - 1] = 1;
    return permuted(C, x, perm, path);
}

static tlr_tensor *to_channels_first(run_ctx *C, const tlr_tensor *x, const char *path)
{
    int nd = x->ndim, perm[8] = { 0 };
    perm[1] = nd - 1;
    for (int i = 2; i < nd; i++)
        perm[i] = i - 1;
    return permuted(C, x, perm, path);
}

/* View of a channels-last tensor as (N, H, W, C); rank-1 layers get H = 1. */
typedef struct {
    int64_t n, h, w, c;
} dims4;

static dims4 as4(const tlr_tensor *t, int rank)
{
    dims4 d = { t->shape[0], 1, 1, t->shape[t->ndim - 1] };
    if (rank == 1) {
        d.w = t->shape[1];
    } else {
        d.h = t->shape[1];
        d.w = t->shape[2];
    }
    return d;
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

/* ---- op families --------------------------------------------------------------------------- */

static void apply_act(const tlr_act_params *a, tlr_tensor *t)
{
    if (a->kind == TLR_ACT_LINEAR)
        return;
    tlr_op_activation(a, t->data, tlr_tensor_numel(t), t->shape[t->ndim - 1]);
}

/* Conv, depthwise, separable, transposed; 'x' and 'y' are channels-last. */
static tlr_status conv_cl(run_ctx *C, const tlr_layer *l, const char *path, const tlr_tensor *x,
                          tlr_tensor *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    dims4 in = as4(x, k->rank), out = as4(y, k->rank);
    tlr_conv2d_params p = {
        .n = in.n, .h = in.h, .w = in.w, .cin = in.c, .oh = out.h, .ow = out.w, .cout = out.c,
        .kh = k->kernel[0], .kw = k->kernel[1], .sh = k->strides[0], .sw = k->strides[1],
        .dh = k->dilation[0], .dw = k->dilation[1], .groups = k->groups,
    };
    const float *bias = k->use_bias ? weight(l, "bias") : NULL;
    const float *kern;
    tlr_status st;
    if (l->op == TLR_OP_CONV_TRANSPOSE) {
        int64_t full_h = (in.h - 1) * p.sh + (int64_t)(p.kh - 1) * p.dh + 1;
        int64_t full_w = (in.w - 1) * p.sw + (int64_t)(p.kw - 1) * p.dw + 1;
        int same = k->padding == TLR_PAD_SAME;
        p.pad_top = same && full_h > out.h ? (int)((full_h - out.h) / 2) : 0;
        p.pad_left = same && full_w > out.w ? (int)((full_w - out.w) / 2) : 0;
        if (k->padding == TLR_PAD_FULL) {
            p.pad_top = (p.kh - 1) * p.dh;
            p.pad_left = (p.kw - 1) * p.dw;
        }
        p.groups = 1;
        if ((st = need_weight(C, l, path, "kernel", &kern)))
            return st;
        tlr_op_conv2d_transpose(&p, x->data, kern, bias, y->data);
        return TLR_OK;
    }
    p.pad_top = k->rank == 1 ? 0 : pad_before(k->padding, in.h, out.h, p.kh, p.sh, p.dh);
    p.pad_left = pad_before(k->padding, in.w, out.w, p.kw, p.sw, p.dw);
    p.pad_top += C->pad_top; /* a ZeroPadding2D before it (pad_defer) */
    p.pad_left += C->pad_left;
    if (l->op == TLR_OP_CONV) {
        if ((st = need_weight(C, l, path, "kernel", &kern)))
            return st;
        if (C->post)
            tlr_op_conv2d_post(&p, x->data, kern, bias, C->post, y->data);
        else
            tlr_op_conv2d_act(&p, x->data, kern, bias, k->channels_first ? NULL : &k->act, y->data);
        return TLR_OK;
    }
    if ((st = need_weight(C, l, path, "depthwise_kernel", &kern)))
        return st;
    if (l->op == TLR_OP_DEPTHWISE_CONV) {
        tlr_op_depthwise_conv2d_post(&p, k->depth_multiplier, x->data, kern, bias, C->post,
                                     y->data);
        return TLR_OK;
    }
    /* Separable: depthwise (no bias) into a temporary, then a 1x1 pointwise conv. */
    const float *pw;
    if ((st = need_weight(C, l, path, "pointwise_kernel", &pw)))
        return st;
    tlr_shape mid = { 4, { in.n, out.h, out.w, in.c * k->depth_multiplier } };
    tlr_tensor *t = new_tensor(C, &mid, path);
    if (!t)
        return C->err->code;
    p.cout = mid.d[3];
    tlr_op_depthwise_conv2d(&p, k->depth_multiplier, x->data, kern, NULL, t->data);
    tlr_conv2d_params q = {
        .n = in.n, .h = out.h, .w = out.w, .cin = mid.d[3], .oh = out.h, .ow = out.w,
        .cout = out.c, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1,
    };
    tlr_op_conv2d_act(&q, t->data, pw, bias, k->channels_first ? NULL : &k->act, y->data);
    drop_tensor(C, t);
    return TLR_OK;
}

/* Runs 'fn' in channels-last layout, transposing around it for channels_first layers. */
typedef tlr_status (*cl_fn)(run_ctx *C, const tlr_layer *l, const char *path,
                            const tlr_tensor *x, tlr_tensor *y);

static tlr_status run_cl(run_ctx *C, const tlr_layer *l, const char *path, int channels_first,
                         const tlr_tensor *x, tlr_tensor *y, cl_fn fn)
{
    if (!channels_first)
        return fn(C, l, path, x, y);
    tlr_tensor *xc = to_channels_last(C, x, path);
    if (!xc)
        return C->err->code;
    tlr_shape ys = shape_of(y), yc = ys;
    for (int i = 1; i < ys.ndim - 1; i++)
        yc.d[i] = ys.d[i + 1];
    yc.d[ys.ndim - 1] = ys.d[1];
    tlr_tensor *tc = new_tensor(C, &yc, path);
    tlr_status st = tc ? fn(C, l, path, xc, tc) : C->err->code;
    if (!st) {
        tlr_tensor *back = to_channels_first(C, tc, path);
        if (back) {
            memcpy(y->data, back->data, tensor_bytes(y));
            drop_tensor(C, back);
        } else {
            st = C->err->code;
        }
    }
    drop_tensor(C, tc);
    drop_tensor(C, xc);
    return st;
}

static tlr_status pool_cl(run_ctx *C, const tlr_layer *l, const char *path, const tlr_tensor *x,
                          tlr_tensor *y)
{
    (void)C;
    (void)path;
    const tlr_pool_cfg *pc = &l->cfg.pool;
    dims4 in = as4(x, pc->rank);
    if (l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL) {
        if (l->op == TLR_OP_GLOBAL_AVGPOOL)
            tlr_op_global_avgpool(in.n, in.h * in.w, in.c, x->data, y->data);
        else
            tlr_op_global_maxpool(in.n, in.h * in.w, in.c, x->data, y->data);
        return TLR_OK;
    }
    dims4 out = as4(y, pc->rank);
    tlr_pool2d_params p = {
        .n = in.n, .h = in.h, .w = in.w, .c = in.c, .oh = out.h, .ow = out.w,
        .kh = pc->pool[0], .kw = pc->pool[1], .sh = pc->strides[0], .sw = pc->strides[1],
    };
    p.pad_top = pc->rank == 1 ? 0 : pad_before(pc->padding, in.h, out.h, p.kh, p.sh, 1);
    p.pad_left = pad_before(pc->padding, in.w, out.w, p.kw, p.sw, 1);
    if (l->op == TLR_OP_MAXPOOL)
        tlr_op_maxpool2d(&p, x->data, y->data);
    else
        tlr_op_avgpool2d(&p, x->data, y->data);
    return TLR_OK;
}

static tlr_status pad_cl(run_ctx *C, const tlr_layer *l, const char *path, const tlr_tensor *x,
                         tlr_tensor *y)
{
    (void)C;
    (void)path;
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

static tlr_status upsample_cl(run_ctx *C, const tlr_layer *l, const char *path,
                              const tlr_tensor *x, tlr_tensor *y)
{
    (void)C;
    (void)path;
    const tlr_upsample_cfg *u = &l->cfg.up;
    dims4 in = as4(x, u->rank), out = as4(y, u->rank);
    if (u->mode == TLR_RESIZE_NEAREST)
        tlr_op_upsample_nearest(in.n, in.h, in.w, in.c, u->size[0], u->size[1], x->data, y->data);
    else
        tlr_op_resize2d(TLR_RESIZE_BILINEAR, in.n, in.h, in.w, in.c, out.h, out.w, x->data, y->data);
    return TLR_OK;
}

static tlr_status conv_family(run_ctx *C, const tlr_layer *l, const char *path,
                              const tlr_tensor *x, tlr_tensor *y)
{
    tlr_status st = run_cl(C, l, path, l->cfg.conv.channels_first, x, y, conv_cl);
    /* channels_last Conv2D and SeparableConv2D apply it inside the op (one pass less) */
    int fused = (l->op == TLR_OP_CONV || l->op == TLR_OP_SEPARABLE_CONV) &&
                !l->cfg.conv.channels_first;
    if (!st && !fused)
        apply_act(&l->cfg.conv.act, y);
    return st;
}

/* Data viewed as (outer, len, inner) around 'axis'. */
static void split_axis(const tlr_tensor *t, int axis, int64_t *outer, int64_t *len,
                       int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= t->shape[i];
    *len = t->shape[axis];
    for (int i = axis + 1; i < t->ndim; i++)
        *inner *= t->shape[i];
}

static int norm_axis(int axis, int ndim)
{
    return axis < 0 ? axis + ndim : axis;
}

static tlr_status batchnorm(run_ctx *C, const tlr_layer *l, const char *path, tlr_tensor *y)
{
    const tlr_bn_cfg *b = &l->cfg.bn;
    int ax = norm_axis(b->axis, y->ndim);
    int64_t outer, c, inner;
    split_axis(y, ax, &outer, &c, &inner);
    const float *mean, *var;
    tlr_status st;
    if ((st = need_weight(C, l, path, "moving_mean", &mean)) ||
        (st = need_weight(C, l, path, "moving_variance", &var)))
        return st;
    tlr_op_batchnorm(y->data, outer, c, inner, b->scale ? weight(l, "gamma") : NULL,
                     b->center ? weight(l, "beta") : NULL, mean, var, b->epsilon);
    return TLR_OK;
}

static tlr_status prelu(run_ctx *C, const tlr_layer *l, const char *path, tlr_tensor *y)
{
    const tlr_weight *w = NULL;
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, "alpha") == 0)
            w = &l->weights[i];
    if (!w || !w->data)
        return tlr_err_set(C->err, TLR_E_FORMAT, "layer '%s': weight 'alpha' is not loaded", path);
    /* Broadcast alpha (shared axes stored as 1) to the full per-sample shape. */
    int nd = y->ndim - 1;
    int64_t per = 1;
    for (int i = 0; i < nd; i++)
        per *= y->shape[i + 1];
    float *full = tlr_xmalloc((size_t)per * sizeof *full);
    for (int64_t i = 0; i < per; i++) {
        int64_t rem = i, src = 0, stride = 1;
        int64_t idx[8];
        for (int a = nd - 1; a >= 0; a--) {
            idx[a] = rem % y->shape[a + 1];
            rem /= y->shape[a + 1];
        }
        for (int a = nd - 1; a >= 0; a--) {
            int64_t dim = a < w->ndim ? w->shape[a] : 1;
            src += (dim == 1 ? 0 : idx[a]) * stride;
            stride *= dim;
        }
        full[i] = w->data[src];
    }
    tlr_op_prelu(y->data, tlr_tensor_numel(y), full, per);
    free(full);
    return TLR_OK;
}

/* Normalization: (x - mean) / max(sqrt(var), 1e-7) over the configured axis (default last). */
static tlr_status normalization(run_ctx *C, const tlr_layer *l, const char *path, tlr_tensor *y)
{
    const tlr_norm_cfg *n = &l->cfg.norm;
    int64_t c = y->shape[y->ndim - 1];
    int ax = y->ndim - 1;
    if (n->n_axis > 1)
        return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "layer '%s': Normalization over several axes "
                           "is not supported", path);
    if (n->n_axis == 1) {
        ax = norm_axis(n->axis[0], y->ndim);
        c = y->shape[ax];
    }
    float *mean = tlr_xcalloc((size_t)c, sizeof *mean), *var = tlr_xcalloc((size_t)c, sizeof *var);
    tlr_status st = TLR_OK;
    if (n->has_values) {
        const tlr_json *mj = tlr_json_get(l->config, "mean"), *vj = tlr_json_get(l->config, "variance");
        for (int64_t i = 0; i < c; i++) {
            const tlr_json *m1 = tlr_json_is_array(mj) ? tlr_json_at(mj, (size_t)(tlr_json_size(mj) == 1 ? 0 : i)) : mj;
            const tlr_json *v1 = tlr_json_is_array(vj) ? tlr_json_at(vj, (size_t)(tlr_json_size(vj) == 1 ? 0 : i)) : vj;
            mean[i] = (float)tlr_json_number(m1, 0);
            var[i] = (float)tlr_json_number(v1, 1);
        }
    } else {
        const tlr_weight *wm = NULL, *wv = NULL;
        for (int i = 0; i < l->n_weights; i++) {
            if (strcmp(l->weights[i].role, "mean") == 0 || strcmp(l->weights[i].role, "vars/0") == 0)
                wm = &l->weights[i];
            if (strcmp(l->weights[i].role, "variance") == 0 || strcmp(l->weights[i].role, "vars/1") == 0)
                wv = &l->weights[i];
        }
        int64_t nm = 1, nv = 1;
        for (int i = 0; wm && i < wm->ndim; i++)
            nm *= wm->shape[i];
        for (int i = 0; wv && i < wv->ndim; i++)
            nv *= wv->shape[i];
        if (!wm || !wv || !wm->data || !wv->data || (nm != c && nm != 1) || (nv != c && nv != 1))
            st = tlr_err_set(C->err, TLR_E_FORMAT, "layer '%s': Normalization mean/variance are "
                             "missing or do not match %lld channels", path, (long long)c);
        for (int64_t i = 0; !st && i < c; i++) {
            mean[i] = wm->data[nm == 1 ? 0 : i];
            var[i] = wv->data[nv == 1 ? 0 : i];
        }
    }
    if (!st) {
        float *scale = tlr_xmalloc((size_t)c * sizeof *scale), *shift = tlr_xmalloc((size_t)c * sizeof *shift);
        for (int64_t i = 0; i < c; i++) {
            float sd = sqrtf(var[i]);
            if (sd < 1e-7f)
                sd = 1e-7f;
            if (n->invert) {
                scale[i] = sd;
                shift[i] = mean[i];
            } else {
                scale[i] = 1.0f / sd;
                shift[i] = -mean[i] / sd;
            }
        }
        int64_t outer, len, inner;
        split_axis(y, ax, &outer, &len, &inner);
        tlr_op_channel_affine(y->data, outer, len, inner, scale, shift);
        free(scale);
        free(shift);
    }
    free(mean);
    free(var);
    return st;
}

/* The largest centred window with the target's aspect ratio, cut as Keras cuts it for
 * Resizing(crop_to_aspect_ratio=True) and smart_resize (keras/src/backend/tensorflow/
 * image.py resize, keras/src/utils/image_utils.py smart_resize; tf.keras 2
 * keras/utils/image_utils.py): sizes in float32, truncated, at least 1 and at most the
 * input's; the offsets are half the rest, truncated.  Keras 3 computes in Python floats
 * (double): the two agree while w*th and h*tw stay below 2^24 (a 4096 x 4096 input). */
static void aspect_window(int64_t h, int64_t w, int th, int tw, int64_t *ch, int64_t *cw,
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
 * inference although the layer's output shape says (height, width) (keras-team/keras#21868). */
static tlr_status resize_cl(run_ctx *C, const tlr_layer *l, const char *path, const tlr_tensor *x,
                            tlr_tensor *y)
{
    tlr_resize_mode mode = TLR_RESIZE_BILINEAR;
    int crop = 1;
    if (l->op == TLR_OP_RESIZING) {
        const tlr_resizing_cfg *r = &l->cfg.resizing;
        if (!r->interpolation_ok)
            return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "layer '%s': Resizing interpolation "
                               "'%s' is not supported", path,
                               tlr_json_get_string(l->config, "interpolation", "?"));
        if (tlr_json_get_bool(l->config, "pad_to_aspect_ratio", 0))
            return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "layer '%s': Resizing with "
                               "pad_to_aspect_ratio is not supported", path);
        mode = r->mode;
        crop = r->crop_to_aspect_ratio;
    }
    int64_t n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];
    int64_t oh = y->shape[1], ow = y->shape[2];
    const tlr_tensor *src = x;
    tlr_tensor *win = NULL;
    if (crop) {
        int64_t ch, cw, top, left;
        aspect_window(h, w, (int)oh, (int)ow, &ch, &cw, &top, &left);
        tlr_shape cs = { 4, { n, ch, cw, c } };
        win = new_tensor(C, &cs, path);
        if (!win)
            return C->err->code;
        tlr_op_crop2d(n, h, w, c, (int)top, (int)(h - ch - top), (int)left, (int)(w - cw - left),
                      x->data, win->data);
        src = win;
    }
    tlr_op_resize2d(mode, n, src->shape[1], src->shape[2], c, oh, ow, src->data, y->data);
    drop_tensor(C, win);
    return TLR_OK;
}

static tlr_status rescaling(const tlr_layer *l, tlr_tensor *y)
{
    const tlr_rescale_cfg *r = &l->cfg.rescale;
    int64_t c = y->shape[y->ndim - 1];
    if (r->n == 1) {
        tlr_op_channel_affine(y->data, tlr_tensor_numel(y), 1, 1, r->scale, r->offset);
    } else if (r->n == c) {
        tlr_op_channel_affine(y->data, tlr_tensor_numel(y) / c, c, 1, r->scale, r->offset);
    } else {
        return TLR_E_SHAPE;
    }
    return TLR_OK;
}

/* Add, Subtract, ...: inputs of the output's shape merge element by element; others
 * broadcast, a lower rank expanded with 1s after the batch axis as Keras's _Merge.call does
 * (shape_elementwise in shape.c has checked that they broadcast). */
static void merge(const tlr_layer *l, tlr_tensor *const *in, int n_in, tlr_tensor *y)
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
        return;
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
}

/* ---- recurrent layers ----------------------------------------------------------------------- */

static tlr_rnn_params rnn_params(const tlr_rnn_cfg *r)
{
    tlr_rnn_params p = { (tlr_rnn_kind)r->kind, r->units, r->act, r->recurrent_act,
                         r->reset_after, r->go_backwards, r->return_sequences };
    return p;
}

/* The weights of one direction: 'first' is the index of its kernel among the layer's. */
static tlr_status rnn_weights_of(run_ctx *C, const tlr_layer *l, const char *path, int first,
                                 int use_bias, tlr_rnn_weights *w)
{
    int need = first + 2 + (use_bias ? 1 : 0);
    if (l->n_weights < need)
        return tlr_err_set(C->err, TLR_E_FORMAT, "layer '%s': %d weights, expected %d", path,
                           l->n_weights, need);
    w->kernel = l->weights[first].data;
    w->recurrent = l->weights[first + 1].data;
    w->bias = use_bias ? l->weights[first + 2].data : NULL;
    if (!w->kernel || !w->recurrent || (use_bias && !w->bias))
        return tlr_err_set(C->err, TLR_E_FORMAT, "layer '%s': weights are not loaded", path);
    return TLR_OK;
}

static tlr_status recurrent(run_ctx *C, const tlr_layer *l, const char *path,
                            const tlr_tensor *x, tlr_tensor *y)
{
    if (x->ndim != 3)
        return tlr_err_set(C->err, TLR_E_SHAPE, "layer '%s': expects (batch, steps, features)", path);
    int64_t n = x->shape[0], t = x->shape[1], f = x->shape[2];
    tlr_rnn_weights fw;
    if (l->op == TLR_OP_RNN) {
        tlr_status st = rnn_weights_of(C, l, path, 0, l->cfg.rnn.use_bias, &fw);
        if (st)
            return st;
        tlr_rnn_params p = rnn_params(&l->cfg.rnn);
        tlr_op_rnn(&p, n, t, f, x->data, fw.kernel, fw.recurrent, fw.bias, y->data);
        return TLR_OK;
    }
    const tlr_rnn_cfg *bc = l->has_backward ? &l->rnn_backward : &l->rnn_inner;
    tlr_rnn_weights bw;
    int fw_count = 2 + (l->rnn_inner.use_bias ? 1 : 0);
    tlr_status st = rnn_weights_of(C, l, path, 0, l->rnn_inner.use_bias, &fw);
    if (!st)
        st = rnn_weights_of(C, l, path, fw_count, bc->use_bias, &bw);
    if (st)
        return st;
    tlr_rnn_params pf = rnn_params(&l->rnn_inner), pb = rnn_params(bc);
    tlr_op_bidirectional(&pf, l->has_backward ? &pb : NULL, (tlr_bidi_merge)l->cfg.rnn.merge, n, t,
                         f, x->data, &fw, &bw, y->data);
    return TLR_OK;
}

/* ---- one layer call ------------------------------------------------------------------------ */

static tlr_status run_model(run_ctx *C, const tlr_model *m, const char *prefix,
                            tlr_tensor *const *inputs, int n_inputs, int want_outputs,
                            tlr_tensor **outputs);

static int64_t layer_flops(const tlr_layer *l, const tlr_tensor *x, const tlr_tensor *y)
{
    if (!x || !y)
        return 0;
    if (l->op == TLR_OP_CONV || l->op == TLR_OP_CONV_TRANSPOSE) {
        int64_t cin = l->cfg.conv.channels_first ? x->shape[1] : x->shape[x->ndim - 1];
        const tlr_tensor *big = l->op == TLR_OP_CONV ? y : x;
        int64_t cout = l->op == TLR_OP_CONV ? (l->cfg.conv.channels_first ? y->shape[1] : y->shape[y->ndim - 1])
                                            : l->cfg.conv.filters;
        return 2 * tlr_tensor_numel(big) / (l->op == TLR_OP_CONV ? cout : cin) * cout *
               (cin / l->cfg.conv.groups) * l->cfg.conv.kernel[0] * l->cfg.conv.kernel[1];
    }
    if (l->op == TLR_OP_DENSE)
        return 2 * tlr_tensor_numel(x) * l->cfg.dense.units;
    if (l->op == TLR_OP_DEPTHWISE_CONV || l->op == TLR_OP_SEPARABLE_CONV) {
        int64_t f = 2 * tlr_tensor_numel(y) * l->cfg.conv.kernel[0] * l->cfg.conv.kernel[1];
        if (l->op == TLR_OP_SEPARABLE_CONV) {
            int64_t cin = x->shape[x->ndim - 1] * l->cfg.conv.depth_multiplier;
            f = 2 * tlr_tensor_numel(y) / y->shape[y->ndim - 1] * cin *
                (l->cfg.conv.kernel[0] * l->cfg.conv.kernel[1] + y->shape[y->ndim - 1]);
        }
        return f;
    }
    return 0;
}

/* Why a layer class cannot run, or NULL when it can. */
static const char *cannot_run(const tlr_layer *l)
{
    if (l->cannot_run)
        return l->cannot_run;
    switch (l->op) {
    case TLR_OP_LAMBDA:
        return l->lambda ? NULL : "Lambda layers run Python code that the file does not contain "
                                  "(give its formula with --lambda NAME=EXPR)";
    case TLR_OP_UNKNOWN: return "this layer class is not known to tlreport";
    case TLR_OP_RNN: case TLR_OP_BIDIRECTIONAL:
        return l->cfg.rnn.cannot_run;
    default: return NULL;
    }
}

static tlr_status exec_call(run_ctx *C, const tlr_layer *l, const char *path, tlr_tensor **in,
                            int n_in, int want_out, tlr_tensor **out, int *n_out)
{
    *n_out = 1;
    out[0] = NULL;
    if (l->op == TLR_OP_MODEL) {
        tlr_status st = run_model(C, l->inner, path, in, n_in, 1, out);
        if (st == TLR_E_UNSUPPORTED)
            return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "a layer inside it could not be computed");
        *n_out = l->inner->n_outputs; /* <= TLR_MAX_OUTPUTS (keras_config.c) */
        return st;
    }
    tlr_shape ins[TLR_MAX_CALL_INPUTS], os[TLR_MAX_OUTPUTS];
    for (int i = 0; i < n_in; i++)
        ins[i] = i == 0 && C->in0_shape ? *C->in0_shape : shape_of(in[i]);
    int no;
    tlr_status st = tlr_shape_of_call(l, ins, n_in, os, &no, path, C->err);
    if (st)
        return tlr_err_prefix(C->err, "while running");
    (void)want_out;
    /* The ops compute one output from one sequence and a zero initial state: a recurrent
     * layer fed initial states, or one returning its states, is not computed rather than
     * computed wrong. */
    if ((l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL) && n_in > 1)
        return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "initial_state inputs are not supported");
    if (no != 1)
        return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "it returns %d tensors; the forward pass "
                           "computes layers with one output", no);
    tlr_tensor *y = new_tensor(C, &os[0], path);
    if (!y)
        return C->err->code;
    const tlr_tensor *x = in[0];
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        st = conv_family(C, l, path, x, y);
        break;
    case TLR_OP_DENSE: {
        const float *kern;
        if (!(st = need_weight(C, l, path, "kernel", &kern))) {
            int64_t nin = x->shape[x->ndim - 1];
            tlr_op_dense(tlr_tensor_numel(x) / nin, nin, l->cfg.dense.units, x->data, kern,
                         l->cfg.dense.use_bias ? weight(l, "bias") : NULL, y->data);
            apply_act(&l->cfg.dense.act, y);
        }
        break;
    }
    case TLR_OP_MAXPOOL: case TLR_OP_AVGPOOL: case TLR_OP_GLOBAL_AVGPOOL:
    case TLR_OP_GLOBAL_MAXPOOL: {
        tlr_shape ys = shape_of(y);
        int cf = l->cfg.pool.channels_first;
        int global = l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL;
        if (global && cf && l->cfg.pool.keepdims) {
            /* (N, C, 1, 1): same data as (N, C) */
            tlr_tensor flat = *y;
            flat.ndim = 2;
            flat.shape[1] = ys.d[1];
            tlr_tensor *xc = to_channels_last(C, x, path);
            st = xc ? pool_cl(C, l, path, xc, &flat) : C->err->code;
            drop_tensor(C, xc);
        } else if (global && cf) {
            tlr_tensor *xc = to_channels_last(C, x, path);
            st = xc ? pool_cl(C, l, path, xc, y) : C->err->code;
            drop_tensor(C, xc);
        } else {
            st = run_cl(C, l, path, cf, x, y, pool_cl);
        }
        break;
    }
    case TLR_OP_BATCHNORM:
        memcpy(y->data, x->data, tensor_bytes(y));
        st = batchnorm(C, l, path, y);
        break;
    case TLR_OP_ACTIVATION:
        memcpy(y->data, x->data, tensor_bytes(y));
        if (l->cfg.act.act.kind == TLR_ACT_SOFTMAX && norm_axis(l->cfg.act.axis, y->ndim) != y->ndim - 1) {
            int64_t outer, len, inner;
            split_axis(y, norm_axis(l->cfg.act.axis, y->ndim), &outer, &len, &inner);
            tlr_op_softmax_axis(y->data, outer, len, inner);
        } else {
            apply_act(&l->cfg.act.act, y);
        }
        break;
    case TLR_OP_RELU:
        memcpy(y->data, x->data, tensor_bytes(y));
        tlr_op_relu_layer(y->data, tlr_tensor_numel(y), l->cfg.act.act.max_value,
                          l->cfg.act.act.alpha, l->cfg.act.act.threshold);
        break;
    case TLR_OP_PRELU:
        memcpy(y->data, x->data, tensor_bytes(y));
        st = prelu(C, l, path, y);
        break;
    case TLR_OP_ZEROPAD: case TLR_OP_CROPPING:
        st = run_cl(C, l, path, l->cfg.pad.channels_first, x, y, pad_cl);
        break;
    case TLR_OP_UPSAMPLING:
        st = run_cl(C, l, path, l->cfg.up.channels_first, x, y, upsample_cl);
        break;
    case TLR_OP_FLATTEN:
        if (x->ndim > 2 && strcmp(tlr_json_get_string(l->config, "data_format", "channels_last"),
                                  "channels_first") == 0) {
            tlr_tensor *xc = to_channels_last(C, x, path);
            if (!xc)
                st = C->err->code;
            else
                memcpy(y->data, xc->data, tensor_bytes(y));
            drop_tensor(C, xc);
        } else {
            memcpy(y->data, x->data, tensor_bytes(y));
        }
        break;
    case TLR_OP_IDENTITY: {
        int h, w;
        if (tlr_shape_random_crop(l, &h, &w) == 1)
            st = run_cl(C, l, path, tlr_shape_channels_first(l), x, y, resize_cl);
        else
            memcpy(y->data, x->data, tensor_bytes(y));
        break;
    }
    case TLR_OP_RESHAPE:
        memcpy(y->data, x->data, tensor_bytes(y));
        break;
    case TLR_OP_PERMUTE: {
        int perm[8] = { 0 };
        for (int i = 0; i < l->cfg.permute.ndim; i++)
            perm[i + 1] = l->cfg.permute.dims[i];
        tlr_tensor_transpose(x->ndim, x->shape, perm, x->data, y->data);
        break;
    }
    case TLR_OP_MERGE:
        merge(l, in, n_in, y);
        break;
    case TLR_OP_CONCAT: {
        int ax = norm_axis(l->cfg.merge.axis, x->ndim);
        const float *ptrs[TLR_MAX_CALL_INPUTS];
        int64_t lens[TLR_MAX_CALL_INPUTS], outer = 1, inner = 1, len;
        for (int i = 0; i < n_in; i++) {
            ptrs[i] = in[i]->data;
            split_axis(in[i], ax, &outer, &len, &inner);
            lens[i] = len;
        }
        tlr_op_concat(ptrs, lens, n_in, outer, inner, y->data);
        break;
    }
    case TLR_OP_RESCALING:
        memcpy(y->data, x->data, tensor_bytes(y));
        if (rescaling(l, y))
            st = tlr_err_set(C->err, TLR_E_SHAPE, "layer '%s': Rescaling has %d scales for %lld "
                             "channels", path, l->cfg.rescale.n, (long long)y->shape[y->ndim - 1]);
        break;
    case TLR_OP_NORMALIZATION:
        memcpy(y->data, x->data, tensor_bytes(y));
        st = normalization(C, l, path, y);
        break;
    case TLR_OP_RESIZING:
        st = run_cl(C, l, path, tlr_shape_channels_first(l), x, y, resize_cl);
        break;
    case TLR_OP_LAMBDA:
        tlr_expr_apply(l->lambda, x->data, y->data, tlr_tensor_numel(y));
        break;
    case TLR_OP_EMBEDDING: {
        const float *table;
        int bad = -1;
        if (!(st = need_weight(C, l, path, "embeddings", &table))) {
            tlr_op_embedding(x->data, tlr_tensor_numel(x), table, l->cfg.embed.input_dim,
                             l->cfg.embed.output_dim, y->data, &bad);
            if (bad >= 0)
                st = tlr_err_set(C->err, TLR_E_SHAPE, "layer '%s': input value %g at position %d "
                                 "is not an index below input_dim %d", path,
                                 (double)x->data[bad], bad, l->cfg.embed.input_dim);
        }
        break;
    }
    case TLR_OP_RNN: case TLR_OP_BIDIRECTIONAL:
        st = recurrent(C, l, path, x, y);
        break;
    case TLR_OP_REPEAT_VECTOR: {
        int64_t n = x->shape[0], f = x->shape[1];
        for (int64_t b = 0; b < n; b++)
            for (int r = 0; r < l->cfg.repeat_n; r++)
                memcpy(y->data + (b * l->cfg.repeat_n + r) * f, x->data + b * f,
                       (size_t)f * sizeof(float));
        break;
    }
    default:
        st = tlr_err_set(C->err, TLR_E_UNSUPPORTED, "layer '%s' (%s) cannot run", path, l->class_name);
        break;
    }
    if (st) {
        drop_tensor(C, y);
        return st;
    }
    out[0] = y;
    return TLR_OK;
}

/* ---- graph execution ----------------------------------------------------------------------- */

static int model_contains(const tlr_model *m, const tlr_model *target)
{
    if (m == target)
        return 1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].inner && model_contains(m->layers[i].inner, target))
            return 1;
    return 0;
}

static void add_skipped(run_ctx *C, const char *path, const tlr_layer *l, int input_missing,
                        const char *why)
{
    tlr_forward_result *r = C->res;
    for (int i = 0; i < r->n_skipped; i++)
        if (strcmp(r->skips[i].path, path) == 0)
            return;
    r->skipped = tlr_xrealloc(r->skipped, (size_t)(r->n_skipped + 1) * sizeof *r->skipped);
    r->skips = tlr_xrealloc(r->skips, (size_t)(r->n_skipped + 1) * sizeof *r->skips);
    tlr_skip_reason reason = input_missing ? TLR_SKIP_INPUT
                           : l->op == TLR_OP_LAMBDA ? TLR_SKIP_LAMBDA
                           : l->op == TLR_OP_UNKNOWN && !l->cannot_run ? TLR_SKIP_UNKNOWN_CLASS
                           : l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL ? TLR_SKIP_RECURRENT
                           : l->op == TLR_OP_EMBEDDING ? TLR_SKIP_EMBEDDING : TLR_SKIP_OTHER;
    r->skips[r->n_skipped] = (tlr_skip){ tlr_xstrdup(path), l->class_name, reason,
                                         tlr_xstrdup(why) };
    r->skipped[r->n_skipped++] = tlr_xasprintf("%s (%s): %s", path, l->class_name, why);
}

typedef struct {
    tlr_tensor *t[TLR_MAX_OUTPUTS];
    int refs[TLR_MAX_OUTPUTS];
    int needed;
    int failed;   /* could not be computed */
    int fused;    /* 1: computed by the convolution heading its chain (fuse_chain);
                     2: a ZeroPadding2D its reader applies itself (pad_defer) */
} value;

/* ---- convolution chains ------------------------------------------------------------------- */

/* The one layer reading output (i, call 0, tensor 0) of 'm', and in *slot the input it
 * reads it as; -1 when that is not exactly one single-call layer with at most 'max_in'
 * inputs (several readers, a model output, a capture). */
static int sole_reader(const run_ctx *C, const tlr_model *m, value **v, int i, int max_in,
                       int *slot)
{
    if (v[i][0].refs[0] != 1)
        return -1;
    for (int k = 0; k < C->n_caps; k++)
        if (C->caps[k].owner == m && C->caps[k].layer == i)
            return -1;
    for (int j = 0; j < m->n_layers; j++) {
        const tlr_layer *l = &m->layers[j];
        for (int c = 0; c < l->n_calls; c++)
            for (int k = 0; k < l->calls[c].n_in; k++) {
                const tlr_ref *r = &l->calls[c].in[k];
                if (r->layer == i && r->call == 0 && r->tensor == 0) {
                    *slot = k;
                    /* a layer that cannot run is never folded into a convolution */
                    return l->n_calls == 1 && l->calls[c].n_in <= max_in && v[j][0].needed &&
                           !l->cannot_run ? j : -1;
                }
            }
    }
    return -1; /* read as a model output */
}

/* A plain ReLU / ReLU6 as a clamp; 0 when the layer is something else. */
static int relu_clamp(const tlr_layer *l, float *hi)
{
    const tlr_act_params *a = &l->cfg.act.act;
    if (l->op == TLR_OP_RELU && a->alpha == 0.0f && a->threshold == 0.0f) {
        *hi = a->max_value >= 0.0f ? a->max_value : INFINITY;
        return 1;
    }
    if (l->op == TLR_OP_ACTIVATION && a->kind == TLR_ACT_RELU6) {
        *hi = 6.0f;
        return 1;
    }
    if (l->op == TLR_OP_ACTIVATION && a->kind == TLR_ACT_RELU && a->alpha == 0.0f &&
        a->threshold == 0.0f && !(a->max_value > 0.0f)) {
        *hi = INFINITY;
        return 1;
    }
    return 0;
}

/* A chain the forward pass runs as one convolution (see fuse_chain). */
typedef struct {
    int layer[4];       /* the convolution, then the layers folded into it, in order */
    int n;
    const tlr_ref *add_other; /* the Add's other input, released after the run; or NULL */
} conv_chain;

/* A channels_last Conv2D / DepthwiseConv2D (linear) whose output only feeds a
 * BatchNormalization over its channels, then only an Add of a branch already computed,
 * then only a ReLU (each optional, in that order) runs as one op: the normalisation becomes
 * a per-channel scale and shift, the Add a residual and the ReLU a clamp, applied as the
 * convolution writes its outputs (see tlr_conv_post), and the values in between are never
 * made.  Returns 1 and fills 'post' (its scale and shift in *buf, 2 * channels floats the
 * caller frees) and 'ch' when there is a chain, 0 otherwise. */
static int fuse_chain(const run_ctx *C, const tlr_model *m, value **v, int i,
                      tlr_conv_post *post, float **buf, conv_chain *ch)
{
    const tlr_layer *l = &m->layers[i];
    *post = (tlr_conv_post){ .clamp = 0 };
    *buf = NULL;
    *ch = (conv_chain){ { i }, 1, NULL };
    if ((l->op != TLR_OP_CONV && l->op != TLR_OP_DEPTHWISE_CONV) || l->n_calls != 1 ||
        l->cfg.conv.channels_first || l->cfg.conv.act.kind != TLR_ACT_LINEAR ||
        l->cfg.conv.rank != 2)
        return 0;
    const tlr_shape *os = &l->calls[0].out[0];
    int64_t c = os->d[os->ndim - 1];
    int slot, j = sole_reader(C, m, v, i, 1, &slot);
    if (j >= 0 && m->layers[j].op == TLR_OP_BATCHNORM) {
        const tlr_layer *b = &m->layers[j];
        const float *mean = weight(b, "moving_mean"), *var = weight(b, "moving_variance");
        const float *gamma = b->cfg.bn.scale ? weight(b, "gamma") : NULL;
        const float *beta = b->cfg.bn.center ? weight(b, "beta") : NULL;
        int nd = b->calls[0].out[0].ndim;
        if (!mean || !var || (b->cfg.bn.scale && !gamma) || (b->cfg.bn.center && !beta) ||
            norm_axis(b->cfg.bn.axis, nd) != nd - 1 || c <= 0)
            return 0;
        /* the same factor as tlr_op_batchnorm: y = (x - mean) * factor + beta */
        float *sc = tlr_xmalloc(2 * (size_t)c * sizeof *sc), *sh = sc + c;
        for (int64_t k = 0; k < c; k++) {
            float inv = 1.0f / sqrtf(var[k] + b->cfg.bn.epsilon);
            sc[k] = gamma ? inv * gamma[k] : inv;
            sh[k] = (float)((beta ? (double)beta[k] : 0.0) - (double)mean[k] * (double)sc[k]);
        }
        *buf = sc;
        post->scale = sc;
        post->shift = sh;
        ch->layer[ch->n++] = j;
        j = sole_reader(C, m, v, j, 2, &slot);
    }
    const tlr_layer *a = j >= 0 ? &m->layers[j] : NULL;
    if (a && a->op == TLR_OP_MERGE && a->cfg.merge.kind == TLR_MERGE_ADD &&
        a->calls[0].n_in == 2) {
        const tlr_ref *o = &a->calls[0].in[1 - slot];
        const tlr_tensor *other = v[o->layer][o->call].t[o->tensor];
        int same = other && other->ndim == os->ndim;
        for (int d = 1; same && d < os->ndim; d++)
            same = other->shape[d] == os->d[d];
        if (same) {
            post->residual = other->data; /* x + h: one addition, in either order */
            ch->layer[ch->n++] = j;
            ch->add_other = o;
            j = sole_reader(C, m, v, j, 1, &slot);
        }
    } else if (a && a->calls[0].n_in != 1) {
        j = -1;
    }
    float hi;
    if (j >= 0 && relu_clamp(&m->layers[j], &hi)) {
        post->clamp = 1;
        post->lo = 0.0f;
        post->hi = hi;
        ch->layer[ch->n++] = j;
    }
    return ch->n > 1;
}

/* A channels_last ZeroPadding2D whose output only feeds a 'valid' channels_last Conv2D /
 * DepthwiseConv2D is not made: the convolution reads the unpadded input and counts the
 * padding as its own (taps outside the image read zeros), saving a copy of the image. */
static int pad_defer(const run_ctx *C, const tlr_model *m, value **v, int i)
{
    const tlr_layer *l = &m->layers[i];
    if (l->op != TLR_OP_ZEROPAD || l->n_calls != 1 || l->calls[0].n_in != 1 ||
        l->cfg.pad.channels_first || l->cfg.pad.rank != 2)
        return 0;
    int slot, j = sole_reader(C, m, v, i, 1, &slot);
    if (j < 0)
        return 0;
    const tlr_layer *k = &m->layers[j];
    return (k->op == TLR_OP_CONV || k->op == TLR_OP_DEPTHWISE_CONV) &&
           !k->cfg.conv.channels_first && k->cfg.conv.rank == 2 &&
           k->cfg.conv.padding == TLR_PAD_VALID;
}

static tlr_status run_model(run_ctx *C, const tlr_model *m, const char *prefix,
                            tlr_tensor *const *inputs, int n_inputs, int want_outputs,
                            tlr_tensor **outputs)
{
    int n = m->n_layers;
    if (n_inputs != m->n_inputs)
        return tlr_err_set(C->err, TLR_E_SHAPE, "%s: the model takes %d inputs, got %d",
                           prefix[0] ? prefix : m->name, m->n_inputs, n_inputs);
    value **v = tlr_xcalloc((size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = tlr_xcalloc((size_t)(m->layers[i].n_calls ? m->layers[i].n_calls : 1), sizeof **v);
    /* Which calls are needed: model outputs, captures in this model (call 0), and nested
     * models holding a capture. */
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            v[m->outputs[k].layer][m->outputs[k].call].needed = 1;
    for (int c = 0; c < C->n_caps; c++) {
        if (C->caps[c].owner == m)
            v[C->caps[c].layer][0].needed = 1;
        for (int i = 0; i < n; i++)
            if (m->layers[i].inner && model_contains(m->layers[i].inner, C->caps[c].owner))
                v[i][0].needed = 1;
    }
    for (int oi = m->n_order - 1; oi >= 0; oi--) {
        int i = m->order[oi];
        const tlr_layer *l = &m->layers[i];
        for (int c = 0; c < l->n_calls; c++) {
            if (!v[i][c].needed)
                continue;
            for (int k = 0; k < l->calls[c].n_in; k++) {
                const tlr_ref *r = &l->calls[c].in[k];
                v[r->layer][r->call].needed = 1;
                v[r->layer][r->call].refs[r->tensor]++;
            }
        }
    }
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            v[m->outputs[k].layer][m->outputs[k].call].refs[m->outputs[k].tensor]++;

    tlr_status st = TLR_OK;
    for (int oi = 0; oi < m->n_order && !st; oi++) {
        int i = m->order[oi];
        const tlr_layer *l = &m->layers[i];
        char *path = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        for (int c = 0; c < (l->n_calls ? l->n_calls : 1) && !st; c++) {
            value *val = &v[i][c];
            if (!val->needed)
                continue;
            struct timespec t0 = { 0 }, t1 = { 0 };
            int timed = C->opts && C->opts->profile; /* clock reads only for --profile */
            if (timed)
                clock_gettime(CLOCK_MONOTONIC, &t0);
            const tlr_tensor *made = NULL; /* this call's output, for the profile */
            if (!val->fused && c == 0 && pad_defer(C, m, v, i))
                val->fused = 2; /* its reader pads as it reads; the input stays held */
            if (val->fused) {
                /* made by the convolution heading its chain; only captures remain */
            } else if (l->op == TLR_OP_INPUT) {
                int k = 0;
                while (k < m->n_inputs && m->inputs[k].layer != i)
                    k++;
                if (k == m->n_inputs) {
                    st = tlr_err_set(C->err, TLR_E_FORMAT, "input layer '%s' is not a model input", path);
                    break;
                }
                tlr_shape s = shape_of(inputs[k]);
                val->t[0] = new_tensor(C, &s, path);
                if (!val->t[0]) {
                    st = C->err->code;
                    break;
                }
                memcpy(val->t[0]->data, inputs[k]->data, tensor_bytes(inputs[k]));
            } else {
                tlr_tensor *in[TLR_MAX_CALL_INPUTS];
                int n_in = l->calls[c].n_in, missing = 0;
                for (int k = 0; k < n_in; k++) {
                    const tlr_ref *r = &l->calls[c].in[k];
                    in[k] = v[r->layer][r->call].t[r->tensor];
                    if (!in[k])
                        missing = 1;
                }
                /* reading a deferred ZeroPadding2D: its input, and its padding (pad_defer) */
                const tlr_ref *pad_in = NULL;
                tlr_shape padded;
                if (n_in == 1 && v[l->calls[c].in[0].layer][l->calls[c].in[0].call].fused == 2) {
                    const tlr_layer *pl = &m->layers[l->calls[c].in[0].layer];
                    pad_in = &pl->calls[0].in[0];
                    in[0] = v[pad_in->layer][pad_in->call].t[pad_in->tensor];
                    missing = !in[0];
                    if (in[0]) {
                        padded = shape_of(in[0]);
                        padded.d[1] += pl->cfg.pad.amount[0] + pl->cfg.pad.amount[1];
                        padded.d[2] += pl->cfg.pad.amount[2] + pl->cfg.pad.amount[3];
                        C->in0_shape = &padded;
                        C->pad_top = pl->cfg.pad.amount[0];
                        C->pad_left = pl->cfg.pad.amount[2];
                    }
                }
                const char *why = cannot_run(l);
                if (missing || why) {
                    val->failed = 1;
                    add_skipped(C, path, l, missing && !why, why ? why : "an input could not be computed");
                } else {
                    int n_out = 0;
                    tlr_conv_post post;
                    float *post_buf = NULL;
                    conv_chain ch = { { 0 }, 0, NULL };
                    int chain = c == 0 && fuse_chain(C, m, v, i, &post, &post_buf, &ch);
                    C->post = chain ? &post : NULL;
                    st = exec_call(C, l, path, in, n_in, 1, val->t, &n_out);
                    C->post = NULL;
                    free(post_buf);
                    if (st == TLR_E_UNSUPPORTED) {
                        add_skipped(C, path, l, 0, C->err->msg);
                        st = TLR_OK;
                        val->failed = 1;
                    } else if (!st && chain && val->t[0]) {
                        /* the chain's result belongs to its last layer; the ones between
                         * are marked done and their values stay empty */
                        int last = ch.layer[ch.n - 1];
                        for (int k = 1; k < ch.n; k++)
                            v[ch.layer[k]][0].fused = 1;
                        v[last][0].t[0] = val->t[0];
                        val->t[0] = NULL;
                        made = v[last][0].t[0];
                        if (ch.add_other) { /* the Add's other input, as the Add would */
                            value *src = &v[ch.add_other->layer][ch.add_other->call];
                            if (--src->refs[ch.add_other->tensor] == 0) {
                                drop_tensor(C, src->t[ch.add_other->tensor]);
                                src->t[ch.add_other->tensor] = NULL;
                            }
                        }
                    }
                }
                C->in0_shape = NULL;
                C->pad_top = C->pad_left = 0;
                if (pad_in) { /* the input the deferred padding held */
                    value *src = &v[pad_in->layer][pad_in->call];
                    if (--src->refs[pad_in->tensor] == 0) {
                        drop_tensor(C, src->t[pad_in->tensor]);
                        src->t[pad_in->tensor] = NULL;
                    }
                }
                /* release inputs nobody else needs */
                for (int k = 0; k < n_in; k++) {
                    const tlr_ref *r = &l->calls[c].in[k];
                    value *src = &v[r->layer][r->call];
                    if (--src->refs[r->tensor] == 0) {
                        drop_tensor(C, src->t[r->tensor]);
                        src->t[r->tensor] = NULL;
                    }
                }
            }
            if (timed)
                clock_gettime(CLOCK_MONOTONIC, &t1);
            if (!made && !val->fused)
                made = val->t[0];
            if (!st && C->opts && C->opts->profile && l->op != TLR_OP_INPUT && l->op != TLR_OP_MODEL) {
                tlr_forward_result *r = C->res;
                r->times = tlr_xrealloc(r->times, (size_t)(r->n_times + 1) * sizeof *r->times);
                tlr_layer_time *lt = &r->times[r->n_times++];
                lt->path = tlr_xstrdup(path);
                lt->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
                const tlr_ref *r0 = l->n_calls && l->calls[c].n_in ? &l->calls[c].in[0] : NULL;
                lt->flops = 0;
                if (r0 && made) {
                    /* the input may be freed already; recompute from shapes */
                    const tlr_layer *src = &m->layers[r0->layer];
                    tlr_shape s = src->calls[r0->call].out[r0->tensor];
                    tlr_tensor fake = { s.ndim, { 0 }, NULL };
                    memcpy(fake.shape, s.d, sizeof s.d);
                    fake.shape[0] = made->shape[0];
                    lt->flops = layer_flops(l, &fake, made);
                }
            }
            if (st)
                break;
            /* captures take a copy of call 0 */
            if (c == 0 && val->t[0])
                for (int k = 0; k < C->n_caps; k++)
                    if (C->caps[k].owner == m && C->caps[k].layer == i && !C->res->captured[k])
                        C->res->captured[k] = tlr_tensor_clone(val->t[0]);
            for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
                if (val->t[t] && val->refs[t] == 0) {
                    drop_tensor(C, val->t[t]);
                    val->t[t] = NULL;
                }
        }
        free(path);
    }
    if (!st && want_outputs)
        for (int k = 0; k < m->n_outputs; k++) {
            const tlr_ref *r = &m->outputs[k];
            value *src = &v[r->layer][r->call];
            outputs[k] = src->t[r->tensor];
            if (--src->refs[r->tensor] == 0)
                src->t[r->tensor] = NULL; /* ownership moves to the caller */
            else
                outputs[k] = tlr_tensor_clone(outputs[k]), C->live_bytes += (int64_t)tensor_bytes(outputs[k]);
        }
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < (m->layers[i].n_calls ? m->layers[i].n_calls : 1); c++)
            for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
                drop_tensor(C, v[i][c].t[t]);
        free(v[i]);
    }
    free(v);
    if (st)
        return st;
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            if (!outputs[k])
                return TLR_E_UNSUPPORTED; /* an output could not be computed */
    return TLR_OK;
}

/* Activations are megabytes each and come and go layer by layer.  By default glibc hands
 * such blocks back to the kernel on free, and the next malloc faults fresh zeroed pages in
 * (about 1.5 us per 4 KB page here: 4 ms of a 90 ms VGG16 pass).  Keeping freed memory in
 * the heap lets the next layer and the next image reuse it; the peak is unchanged, as it is
 * what the largest layers needed anyway. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

tlr_status tlr_forward_run(const tlr_model *m, const tlr_tensor *const *inputs, int n_inputs,
                           const char *const *capture, int n_capture, int want_outputs,
                           const tlr_forward_opts *opts, tlr_forward_result *res, tlr_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, keep_freed_memory);
    memset(res, 0, sizeof *res);
    capture_ref *caps = tlr_xcalloc((size_t)n_capture + 1, sizeof *caps);
    for (int i = 0; i < n_capture; i++) {
        if (tlr_model_resolve(m, capture[i], &caps[i].owner, &caps[i].layer)) {
            free(caps);
            return tlr_err_set(err, TLR_E_USAGE, "no layer '%s' in the model", capture[i]);
        }
        if (caps[i].owner->layers[caps[i].layer].op == TLR_OP_MODEL) {
            /* a nested model's output: capture its last output layer instead */
            const tlr_model *inner = caps[i].owner->layers[caps[i].layer].inner;
            caps[i].owner = inner;
            caps[i].layer = inner->outputs[0].layer;
        }
    }
    res->captured = tlr_xcalloc((size_t)n_capture + 1, sizeof *res->captured);
    res->n_captured = n_capture;
    res->outputs = tlr_xcalloc((size_t)m->n_outputs + 1, sizeof *res->outputs);
    res->n_outputs = want_outputs ? m->n_outputs : 0;
    run_ctx C = { opts, res, err, caps, n_capture, 0, NULL, NULL, 0, 0 };
    tlr_tensor **in = tlr_xcalloc((size_t)n_inputs + 1, sizeof *in);
    for (int i = 0; i < n_inputs; i++)
        in[i] = (tlr_tensor *)inputs[i];
    tlr_status st = run_model(&C, m, "", in, n_inputs, want_outputs, res->outputs);
    if (st == TLR_E_UNSUPPORTED)
        st = TLR_OK; /* outputs missing: reported through res->skipped */
    free(in);
    free(caps);
    if (st)
        tlr_forward_result_free(res);
    return st;
}

void tlr_forward_result_free(tlr_forward_result *res)
{
    for (int i = 0; i < res->n_captured; i++)
        tlr_tensor_free(res->captured[i]);
    free(res->captured);
    for (int i = 0; res->outputs && i < res->n_outputs; i++)
        tlr_tensor_free(res->outputs[i]);
    free(res->outputs);
    for (int i = 0; i < res->n_skipped; i++) {
        free(res->skipped[i]);
        free(res->skips[i].path);
        free(res->skips[i].detail);
    }
    free(res->skipped);
    free(res->skips);
    for (int i = 0; i < res->n_times; i++)
        free(res->times[i].path);
    free(res->times);
    memset(res, 0, sizeof *res);
}

tlr_shape tlr_forward_input_shape(const tlr_model *m, int index)
{
    tlr_shape s = { 0, { 0 } };
    if (index < 0 || index >= m->n_inputs)
        return s;
    return m->layers[m->inputs[index].layer].input_shape;
}
