/* shape.c - Keras's output-shape rules (conv_utils.conv_output_length and friends) and the
 * weights each layer class creates in build(). */
#include "keras/shape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

#define NONE (-1)

/* No real model has a tensor or weight of 2^40 elements (4 TB of floats; the largest real
 * tensors are near 2^32).  Refusing those here gives a clear error long before anything is
 * allocated, and keeps all later size arithmetic (products, sums, strides, parameter counts)
 * far from int64 overflow. */
#define MAX_ELEMS (((int64_t)1 << 40) - 1)

/* Product of the known dims (None counts as 1) is over MAX_ELEMS, or a dim is invalid. */
static int too_large(int ndim, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (d[i] < NONE)
            return 1;
        if (d[i] > 0 && n > MAX_ELEMS / d[i])
            return 1;
        if (d[i] > 0)
            n *= d[i];
    }
    return 0;
}

void tlr_shape_str(const tlr_shape *s, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < s->ndim && n < cap; i++) {
        if (s->d[i] < 0)
            n += (size_t)snprintf(out + n, cap - n, "%sNone", i ? ", " : "");
        else
            n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    }
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, s->ndim == 1 ? ",)" : ")");
}

int64_t tlr_shape_numel_of(const tlr_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0 || (s->d[i] && n > ((int64_t)1 << 62) / s->d[i]))
            return -1;
        n *= s->d[i];
    }
    return n;
}

int64_t tlr_shape_output_size(const tlr_model *m, int k)
{
    if (k < 0 || k >= m->n_outputs)
        return -1;
    const tlr_ref *r = &m->outputs[k];
    const tlr_layer *src = &m->layers[r->layer];
    if (!src->shape_ok || r->call >= src->n_calls || r->tensor >= src->calls[r->call].n_out)
        return -1;
    tlr_shape s = src->calls[r->call].out[r->tensor];
    if (s.ndim < 1)
        return -1;
    s.d[0] = 1;
    return tlr_shape_numel_of(&s);
}

int tlr_weight_role_trainable(const char *role)
{
    static const char *const state[] = {
        "moving_mean", "moving_variance", "running_mean", "running_std", "mean", "variance",
        "count", "seed_generator_state",
    };
    for (size_t i = 0; i < sizeof state / sizeof state[0]; i++)
        if (strcmp(role, state[i]) == 0)
            return 0;
    return 1;
}

int tlr_shape_channels_first(const tlr_layer *l)
{
    /* Keras lower-cases data_format, as keras_config.c's parser does */
    return strcasecmp(tlr_json_get_string(l->config, "data_format", "channels_last"),
                      "channels_first") == 0;
}

int tlr_shape_random_crop(const tlr_layer *l, int *height, int *width)
{
    if (l->op != TLR_OP_IDENTITY || strcmp(l->class_name, "RandomCrop") != 0)
        return 0;
    double h = tlr_json_get_number(l->config, "height", -1.0);
    double w = tlr_json_get_number(l->config, "width", -1.0);
    if (!(h >= 1.0 && h <= 65536.0 && w >= 1.0 && w <= 65536.0) || h != (int)h || w != (int)w)
        return -1;
    *height = (int)h;
    *width = (int)w;
    return 1;
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct {
    const tlr_layer *l;
    const char *what;
    tlr_err *err;
} ctx;

static tlr_status fail(const ctx *C, tlr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tlr_status fail(const ctx *C, tlr_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tlr_err_set(C->err, code, "%s: layer '%s' (%s): %s", C->what, C->l->name,
                       C->l->class_name, msg);
}

static tlr_status fail_shape(const ctx *C, const char *why, const tlr_shape *s)
{
    char buf[128];
    tlr_shape_str(s, buf, sizeof buf);
    return fail(C, TLR_E_SHAPE, "%s %s", why, buf);
}

/* conv_utils.conv_output_length */
static int64_t conv_len(int64_t in, int k, tlr_padding pad, int stride, int dilation)
{
    if (in < 0)
        return NONE;
    int64_t dk = (int64_t)(k - 1) * dilation + 1;
    int64_t out;
    switch (pad) {
    case TLR_PAD_SAME: case TLR_PAD_CAUSAL: out = in; break;
    case TLR_PAD_FULL: out = in + dk - 1; break;
    default: out = in - dk + 1; break;
    }
    if (out <= 0)
        return 0;
    return (out + stride - 1) / stride;
}

/* conv_utils.deconv_output_length */
static int64_t deconv_len(int64_t in, int k, tlr_padding pad, int has_op, int op, int stride,
                          int dilation)
{
    if (in < 0)
        return NONE;
    int64_t ks = k + (int64_t)(k - 1) * (dilation - 1);
    if (!has_op) {
        if (pad == TLR_PAD_VALID)
            return in * stride + (ks - stride > 0 ? ks - stride : 0);
        if (pad == TLR_PAD_FULL)
            return in * stride - (stride + ks - 2);
        return in * stride;
    }
    int64_t p = pad == TLR_PAD_SAME ? ks / 2 : pad == TLR_PAD_FULL ? ks - 1 : 0;
    return (in - 1) * stride + ks - 2 * p + op;
}

/* Axis indices of the spatial dims and channels for a rank-1/2 layer. */
static void layout(int rank, int channels_first, int *sp0, int *ch)
{
    /* rank 2: (N,H,W,C) or (N,C,H,W); rank 1: (N,T,C) or (N,C,T) */
    *ch = channels_first ? 1 : rank + 1;
    *sp0 = channels_first ? 2 : 1;
}

static tlr_status need_rank(const ctx *C, const tlr_shape *s, int ndim)
{
    if (s->ndim != ndim) {
        char buf[160];
        snprintf(buf, sizeof buf, "expects a %dD input, got", ndim);
        return fail_shape(C, buf, s);
    }
    return TLR_OK;
}

/* ---- per-op shape rules -------------------------------------------------------------------- */

static tlr_status shape_conv(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    const tlr_conv_cfg *k = &C->l->cfg.conv;
    tlr_status st = need_rank(C, in, k->rank + 2);
    if (st)
        return st;
    int sp0, ch;
    layout(k->rank, k->channels_first, &sp0, &ch);
    *out = *in;
    int64_t cin = in->d[ch];
    if (cin < 0)
        return fail(C, TLR_E_SHAPE, "the number of input channels is unknown");
    for (int i = 0; i < k->rank; i++) {
        int ki = k->rank == 1 ? 1 : i;
        int64_t len;
        if (C->l->op == TLR_OP_CONV_TRANSPOSE)
            len = deconv_len(in->d[sp0 + i], k->kernel[ki], k->padding, k->has_output_padding,
                             k->output_padding[ki], k->strides[ki], k->dilation[ki]);
        else
            len = conv_len(in->d[sp0 + i], k->kernel[ki], k->padding, k->strides[ki],
                           k->dilation[ki]);
        if (len == 0)
            return fail_shape(C, "kernel is larger than its input", in);
        out->d[sp0 + i] = len;
    }
    int64_t cout = k->filters;
    if (C->l->op == TLR_OP_DEPTHWISE_CONV)
        cout = cin * k->depth_multiplier;
    if (C->l->op == TLR_OP_CONV && (cin % k->groups || k->filters % k->groups)) {
        char g[64];
        snprintf(g, sizeof g, "%d groups do not divide %lld input channels", k->groups, (long long)cin);
        return fail(C, TLR_E_SHAPE, "%s", g);
    }
    out->d[ch] = cout;
    return TLR_OK;
}

static tlr_status shape_pool(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    const tlr_pool_cfg *p = &C->l->cfg.pool;
    tlr_status st = need_rank(C, in, p->rank + 2);
    if (st)
        return st;
    int sp0, ch;
    layout(p->rank, p->channels_first, &sp0, &ch);
    if (C->l->op == TLR_OP_GLOBAL_AVGPOOL || C->l->op == TLR_OP_GLOBAL_MAXPOOL) {
        if (p->keepdims) {
            *out = *in;
            for (int i = 0; i < p->rank; i++)
                out->d[sp0 + i] = 1;
        } else {
            out->ndim = 2;
            out->d[0] = in->d[0];
            out->d[1] = in->d[ch];
        }
        return TLR_OK;
    }
    *out = *in;
    for (int i = 0; i < p->rank; i++) {
        int ki = p->rank == 1 ? 1 : i;
        int64_t len = conv_len(in->d[sp0 + i], p->pool[ki], p->padding, p->strides[ki], 1);
        if (len == 0)
            return fail_shape(C, "pool window is larger than its input", in);
        out->d[sp0 + i] = len;
    }
    return TLR_OK;
}

static tlr_status shape_pad(const ctx *C, const tlr_shape *in, tlr_shape *out, int sign)
{
    const tlr_pad_cfg *p = &C->l->cfg.pad;
    tlr_status st = need_rank(C, in, p->rank + 2);
    if (st)
        return st;
    int sp0, ch;
    layout(p->rank, p->channels_first, &sp0, &ch);
    *out = *in;
    for (int i = 0; i < p->rank; i++) {
        int a = p->rank == 1 ? 2 : 2 * i;
        if (in->d[sp0 + i] < 0)
            continue;
        out->d[sp0 + i] = in->d[sp0 + i] + sign * (p->amount[a] + p->amount[a + 1]);
        if (out->d[sp0 + i] <= 0)
            return fail_shape(C, "crops away its whole input", in);
    }
    return TLR_OK;
}

static tlr_status shape_upsampling(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    const tlr_upsample_cfg *u = &C->l->cfg.up;
    tlr_status st = need_rank(C, in, u->rank + 2);
    if (st)
        return st;
    int sp0, ch;
    layout(u->rank, u->channels_first, &sp0, &ch);
    *out = *in;
    for (int i = 0; i < u->rank; i++) {
        int si = u->rank == 1 ? 1 : i;
        if (in->d[sp0 + i] >= 0)
            out->d[sp0 + i] = in->d[sp0 + i] * u->size[si];
    }
    return TLR_OK;
}

static tlr_status shape_flatten(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    if (in->ndim < 2)
        return fail_shape(C, "cannot flatten", in);
    int64_t n = 1;
    for (int i = 1; i < in->ndim; i++) {
        if (in->d[i] < 0) {
            n = NONE;
            break;
        }
        if (in->d[i] && n > ((int64_t)1 << 40) / in->d[i])
            return fail_shape(C, "input is too large to flatten", in);
        n *= in->d[i];
    }
    out->ndim = 2;
    out->d[0] = in->d[0];
    out->d[1] = in->ndim == 2 ? in->d[1] : n;
    return TLR_OK;
}

static tlr_status shape_reshape(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    const tlr_reshape_cfg *r = &C->l->cfg.reshape;
    int64_t total = 1;
    for (int i = 1; i < in->ndim; i++)
        total = (total < 0 || in->d[i] < 0) ? NONE : total * in->d[i];
    int64_t known = 1;
    int unknown = -1;
    out->ndim = r->ndim + 1;
    out->d[0] = in->d[0];
    for (int i = 0; i < r->ndim; i++) {
        out->d[i + 1] = r->shape[i];
        if (r->shape[i] < 0) {
            if (unknown >= 0)
                return fail(C, TLR_E_FORMAT, "target_shape has more than one -1");
            unknown = i + 1;
        } else if (r->shape[i] > 0 && known > MAX_ELEMS / r->shape[i]) {
            return fail(C, TLR_E_SHAPE, "target_shape is too large");
        } else {
            known *= r->shape[i];
        }
    }
    if (total < 0)
        return TLR_OK;
    if (unknown >= 0) {
        if (known == 0 || total % known)
            return fail_shape(C, "cannot reshape", in);
        out->d[unknown] = total / known;
    } else if (known != total) {
        return fail_shape(C, "target shape does not hold the elements of", in);
    }
    return TLR_OK;
}

static tlr_status shape_permute(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    const tlr_permute_cfg *p = &C->l->cfg.permute;
    if (in->ndim != p->ndim + 1)
        return fail_shape(C, "dims do not match the input rank of", in);
    out->ndim = in->ndim;
    out->d[0] = in->d[0];
    for (int i = 0; i < p->ndim; i++)
        out->d[i + 1] = in->d[p->dims[i]];
    return TLR_OK;
}

static int norm_axis(int axis, int ndim)
{
    return axis < 0 ? axis + ndim : axis;
}

static int same_dims(const tlr_shape *a, const tlr_shape *b, int skip_axis)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 1; i < a->ndim; i++)
        if (i != skip_axis && a->d[i] >= 0 && b->d[i] >= 0 && a->d[i] != b->d[i])
            return 0;
    return 1;
}

/* Resizing and RandomCrop (keras/src/layers/preprocessing/image_preprocessing/resizing.py,
 * random_crop.py compute_output_shape): the spatial axes become (height, width), which are
 * axes 2 and 3 for data_format channels_first (Keras 3), else 1 and 2. */
static tlr_status shape_resize(const ctx *C, const tlr_shape *in, int height, int width,
                               tlr_shape *out)
{
    tlr_status st = need_rank(C, in, 4);
    if (st)
        return st;
    int sp0 = tlr_shape_channels_first(C->l) ? 2 : 1;
    *out = *in;
    out->d[sp0] = height;
    out->d[sp0 + 1] = width;
    return TLR_OK;
}

/* One axis of Keras's elementwise merge rule (_Merge._compute_elemwise_op_output_shape):
 * equal sizes, or one of them 1.  None against a size above 1 gives that size, as
 * TensorFlow's broadcast shape function does for tf.keras (it is what the tensor will have;
 * Keras 3's compute_output_shape writes None there).  Returns 0 when they cannot broadcast. */
static int broadcast_dim(int64_t a, int64_t b, int64_t *out)
{
    if (a == b || b == 1)
        *out = a;
    else if (a == 1)
        *out = b;
    else if (a < 0 || b < 0)
        *out = a < 0 ? b : a;
    else
        return 0;
    return 1;
}

/* Add, Subtract, Multiply, Average, Maximum, Minimum: the shapes without the batch axis
 * broadcast right-aligned, so an input of lower rank counts as having 1s after its batch
 * axis, which is where Keras's call() inserts them (expand_dims at axis 1), e.g.
 * (N, H, W, C) x (N, 1, 1, C) and (N, H, W, C) x (N, C) both give (N, H, W, C). */
static tlr_status shape_elementwise(const ctx *C, const tlr_shape *in, int n_in, tlr_shape *out)
{
    *out = in[0];
    for (int i = 1; i < n_in; i++) {
        const tlr_shape *a = out, *b = &in[i];
        tlr_shape r = a->ndim >= b->ndim ? *a : *b;
        int ok = a->ndim >= 1 && b->ndim >= 1;
        for (int k = 1; ok && k < r.ndim; k++) {
            /* axis k of the longer one, counted from the end in both */
            int ka = a->ndim - r.ndim + k, kb = b->ndim - r.ndim + k;
            int64_t da = ka >= 1 ? a->d[ka] : 1, db = kb >= 1 ? b->d[kb] : 1;
            ok = broadcast_dim(da, db, &r.d[k]);
        }
        if (!ok) {
            char sa[128], sb[128];
            tlr_shape_str(a, sa, sizeof sa);
            tlr_shape_str(b, sb, sizeof sb);
            return fail(C, TLR_E_SHAPE, "inputs %s and %s cannot be broadcast together", sa, sb);
        }
        r.d[0] = a->d[0] >= 0 ? a->d[0] : b->d[0]; /* the first known batch size */
        *out = r;
    }
    return TLR_OK;
}

static tlr_status shape_merge(const ctx *C, const tlr_shape *in, int n_in, tlr_shape *out)
{
    if (n_in < 2 && C->l->op == TLR_OP_MERGE)
        return fail(C, TLR_E_SHAPE, "needs at least 2 inputs");
    if (C->l->cfg.merge.kind == TLR_MERGE_SUBTRACT && C->l->op == TLR_OP_MERGE && n_in != 2)
        return fail(C, TLR_E_SHAPE, "needs exactly 2 inputs");
    if (C->l->op == TLR_OP_MERGE)
        return shape_elementwise(C, in, n_in, out);
    *out = in[0];
    int ax = norm_axis(C->l->cfg.merge.axis, in[0].ndim);
    if (ax <= 0 || ax >= in[0].ndim)
        return fail(C, TLR_E_SHAPE, "concatenation axis is out of range");
    for (int i = 1; i < n_in; i++) {
        if (!same_dims(&in[0], &in[i], ax)) {
            char a[128], b[128];
            tlr_shape_str(&in[0], a, sizeof a);
            tlr_shape_str(&in[i], b, sizeof b);
            return fail(C, TLR_E_SHAPE, "cannot concatenate %s and %s", a, b);
        }
        out->d[ax] = (out->d[ax] < 0 || in[i].d[ax] < 0) ? NONE : out->d[ax] + in[i].d[ax];
    }
    return TLR_OK;
}

/* return_state, which keras_config.c leaves unparsed (it only marks such layers as not
 * runnable).  A Bidirectional takes it from the layer it wraps, as Keras does (the backward
 * layer must agree). */
static int rnn_return_state(const tlr_layer *l)
{
    const tlr_json *c = l->config;
    if (l->op == TLR_OP_BIDIRECTIONAL)
        c = tlr_json_get(tlr_json_get(l->config, "layer"), "config");
    return tlr_json_get_bool(c, "return_state", 0);
}

/* The output of one recurrent layer: (N, T, u) with return_sequences, else (N, u). */
static tlr_shape rnn_output(const tlr_shape *in, const tlr_rnn_cfg *r, int64_t units)
{
    tlr_shape s = { r->return_sequences ? 3 : 2, { in->d[0] } };
    if (r->return_sequences)
        s.d[1] = in->d[1];
    s.d[s.ndim - 1] = units;
    return s;
}

/* SimpleRNN, GRU, LSTM (keras/src/layers/rnn/rnn.py RNN.compute_output_shape) and
 * Bidirectional (bidirectional.py call()).  The output is followed, with return_state, by
 * the final states, (N, u) each: h for SimpleRNN and GRU, h and c for LSTM.  Bidirectional
 * returns the merged output (concat: the two layers' units side by side), or both outputs
 * for merge_mode None, then the forward layer's states and the backward layer's.  Inputs
 * after the first are initial states (tf.keras lists them in the inbound node). */
static tlr_status shape_rnn(const ctx *C, const tlr_shape *in, int n_in, tlr_shape *out,
                            int *n_out)
{
    tlr_status st = need_rank(C, &in[0], 3);
    if (st)
        return st;
    const tlr_layer *l = C->l;
    int ret_state = rnn_return_state(l);
    if (l->op == TLR_OP_RNN) {
        const tlr_rnn_cfg *r = &l->cfg.rnn;
        int n_states = r->kind == 2 ? 2 : 1;
        if (n_in > 1 && n_in != 1 + n_states)
            return fail(C, TLR_E_SHAPE, "takes %d initial states, called with %d", n_states,
                        n_in - 1);
        *n_out = 1 + (ret_state ? n_states : 0);
        out[0] = rnn_output(&in[0], r, r->units);
        for (int k = 1; k < *n_out; k++)
            out[k] = (tlr_shape){ 2, { in[0].d[0], r->units } };
        return TLR_OK;
    }
    const tlr_rnn_cfg *fw = &l->rnn_inner, *bw = l->has_backward ? &l->rnn_backward : fw;
    int fs = fw->kind == 2 ? 2 : 1, bs = bw->kind == 2 ? 2 : 1;
    if (fw->return_sequences != bw->return_sequences)
        return fail(C, TLR_E_SHAPE, "its forward and backward layers differ in return_sequences");
    if (n_in > 1 && n_in != 1 + fs + bs)
        return fail(C, TLR_E_SHAPE, "takes %d initial states, called with %d", fs + bs, n_in - 1);
    int merge_none = l->cfg.rnn.merge < 0, k = 0;
    int total = (merge_none ? 2 : 1) + (ret_state ? fs + bs : 0);
    if (total > TLR_MAX_OUTPUTS)
        return fail(C, TLR_E_UNSUPPORTED, "returns %d tensors (outputs and states); tlreport "
                    "handles up to %d per layer", total, TLR_MAX_OUTPUTS);
    if (l->cfg.rnn.merge != TLR_BIDI_CONCAT && !merge_none && fw->units != bw->units)
        return fail(C, TLR_E_SHAPE, "merges outputs of %d and %d units", fw->units, bw->units);
    if (merge_none) {
        out[k++] = rnn_output(&in[0], fw, fw->units);
        out[k++] = rnn_output(&in[0], bw, bw->units);
    } else {
        int64_t u = l->cfg.rnn.merge == TLR_BIDI_CONCAT ? (int64_t)fw->units + bw->units
                                                       : fw->units;
        out[k++] = rnn_output(&in[0], fw, u);
    }
    for (int i = 0; ret_state && i < fs + bs; i++)
        out[k++] = (tlr_shape){ 2, { in[0].d[0], i < fs ? fw->units : bw->units } };
    *n_out = k;
    return TLR_OK;
}

/* Dense acts on the last axis: (..., in) -> (..., units). */
static tlr_status shape_dense(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    if (in->ndim < 2)
        return fail_shape(C, "needs at least a 2D input, got", in);
    *out = *in;
    out->d[out->ndim - 1] = C->l->cfg.dense.units;
    return TLR_OK;
}

/* Layers that pass their input through at inference; a RandomCrop among them crops to its
 * size (see tlr_shape_random_crop). */
static tlr_status shape_identity(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    int h, w, crop = tlr_shape_random_crop(C->l, &h, &w);
    if (crop < 0)
        return fail(C, TLR_E_FORMAT, "height and width must be integers from 1 to 65536");
    if (crop)
        return shape_resize(C, in, h, w, out);
    *out = *in;
    return TLR_OK;
}

/* RepeatVector: (N, F) -> (N, n, F). */
static tlr_status shape_repeat_vector(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    if (in->ndim != 2)
        return fail_shape(C, "expects a 2D input, got", in);
    out->ndim = 3;
    out->d[0] = in->d[0];
    out->d[1] = C->l->cfg.repeat_n;
    out->d[2] = in->d[1];
    return TLR_OK;
}

/* Embedding: (N, ...) of indices -> (N, ..., output_dim). */
static tlr_status shape_embedding(const ctx *C, const tlr_shape *in, tlr_shape *out)
{
    *out = *in;
    if (out->ndim >= 8)
        return fail_shape(C, "input rank too high:", in);
    out->d[out->ndim++] = C->l->cfg.embed.output_dim;
    return TLR_OK;
}

/* A Lambda tlreport can run is an elementwise formula of one input, so it keeps the shape; a
 * declared output_shape must agree with that. */
static tlr_status shape_lambda(const ctx *C, const tlr_shape *in, int n_in, tlr_shape *out)
{
    if (!C->l->lambda || n_in != 1)
        return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "Lambda layers run Python code");
    const tlr_json *os = tlr_json_get(C->l->config, "output_shape");
    if (tlr_json_is_array(os)) {
        int same = (int)tlr_json_size(os) == in->ndim - 1;
        int k = 1;
        for (const tlr_json *e = tlr_json_first(os); e && same; e = tlr_json_next(e), k++)
            same = tlr_json_is_null(e) || in->d[k] < 0 ||
                   (int64_t)tlr_json_number(e, -2) == in->d[k];
        if (!same)
            return tlr_err_set(C->err, TLR_E_UNSUPPORTED, "its output_shape differs from its "
                               "input, so it is not an elementwise formula");
    }
    *out = *in;
    return TLR_OK;
}

/* 1 for the layer kinds a call may give more than one input. */
static int takes_several_inputs(tlr_op op)
{
    return op == TLR_OP_MERGE || op == TLR_OP_CONCAT || op == TLR_OP_MODEL ||
           op == TLR_OP_UNKNOWN || op == TLR_OP_LAMBDA || op == TLR_OP_RNN ||
           op == TLR_OP_BIDIRECTIONAL;
}

tlr_status tlr_shape_of_call(const tlr_layer *l, const tlr_shape *in, int n_in, tlr_shape *out,
                             int *n_out, const char *what, tlr_err *err)
{
    ctx C = { l, what, err };
    *n_out = 1;
    if (n_in < 1 && l->op != TLR_OP_INPUT)
        return fail(&C, TLR_E_FORMAT, "has no input");
    if (n_in > 1 && !takes_several_inputs(l->op))
        return fail(&C, TLR_E_UNSUPPORTED, "is called with several inputs");
    switch (l->op) {
    case TLR_OP_INPUT:
        *out = l->input_shape;
        return TLR_OK;
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        return shape_conv(&C, &in[0], out);
    case TLR_OP_DENSE: return shape_dense(&C, &in[0], out);
    case TLR_OP_MAXPOOL: case TLR_OP_AVGPOOL: case TLR_OP_GLOBAL_AVGPOOL:
    case TLR_OP_GLOBAL_MAXPOOL:
        return shape_pool(&C, &in[0], out);
    case TLR_OP_IDENTITY: return shape_identity(&C, &in[0], out);
    case TLR_OP_BATCHNORM: case TLR_OP_ACTIVATION: case TLR_OP_RELU: case TLR_OP_PRELU:
    case TLR_OP_RESCALING: case TLR_OP_NORMALIZATION:
        *out = in[0];
        return TLR_OK;
    case TLR_OP_ZEROPAD: return shape_pad(&C, &in[0], out, 1);
    case TLR_OP_CROPPING: return shape_pad(&C, &in[0], out, -1);
    case TLR_OP_UPSAMPLING: return shape_upsampling(&C, &in[0], out);
    case TLR_OP_FLATTEN: return shape_flatten(&C, &in[0], out);
    case TLR_OP_RESHAPE: return shape_reshape(&C, &in[0], out);
    case TLR_OP_PERMUTE: return shape_permute(&C, &in[0], out);
    case TLR_OP_MERGE: case TLR_OP_CONCAT: return shape_merge(&C, in, n_in, out);
    case TLR_OP_RESIZING:
        return shape_resize(&C, &in[0], l->cfg.resizing.height, l->cfg.resizing.width, out);
    case TLR_OP_REPEAT_VECTOR: return shape_repeat_vector(&C, &in[0], out);
    case TLR_OP_EMBEDDING: return shape_embedding(&C, &in[0], out);
    case TLR_OP_RNN: case TLR_OP_BIDIRECTIONAL:
        return shape_rnn(&C, in, n_in, out, n_out);
    case TLR_OP_MODEL:
        return fail(&C, TLR_E_UNSUPPORTED, "nested models are shaped by tlr_shape_model");
    case TLR_OP_LAMBDA: return shape_lambda(&C, in, n_in, out);
    default:
        if (l->cannot_run) /* a known class with a setting tlreport does not know */
            return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s", l->cannot_run);
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "class '%s' is not known to tlreport",
                           l->class_name);
    }
}

/* ---- expected weights ---------------------------------------------------------------------- */

static void add_weight(tlr_layer *l, const char *role, int ndim, const int64_t *shape)
{
    l->weights = tlr_xrealloc(l->weights, (size_t)(l->n_weights + 1) * sizeof *l->weights);
    tlr_weight *w = &l->weights[l->n_weights++];
    memset(w, 0, sizeof *w);
    w->role = tlr_xstrdup(role);
    w->ndim = ndim;
    memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
}

#define W(role, ...) do { int64_t s_[] = { __VA_ARGS__ }; \
    add_weight(l, role, (int)(sizeof s_ / sizeof s_[0]), s_); } while (0)

static void clear_weights(tlr_layer *l)
{
    for (int i = 0; i < l->n_weights; i++) {
        free(l->weights[i].role);
        free(l->weights[i].stored_name);
        free(l->weights[i].path);
        tlr_weight_drop_data(&l->weights[i]);
    }
    free(l->weights);
    l->weights = NULL;
    l->n_weights = 0;
}

static int64_t channels_of(const tlr_layer *l, const tlr_shape *in)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    return k->channels_first ? in->d[1] : in->d[in->ndim - 1];
}

static void rnn_weights(tlr_layer *l, const tlr_rnn_cfg *r, int64_t feat)
{
    int64_t g = r->kind == 2 ? 4 : r->kind == 1 ? 3 : 1, u = r->units;
    W("kernel", feat, g * u);
    W("recurrent_kernel", u, g * u);
    if (r->use_bias) {
        if (r->kind == 1 && r->reset_after)
            W("bias", 2, g * u);
        else
            W("bias", g * u);
    }
}

/* The four convolution classes: kernels in Keras's (kh, kw, in, out) layout. */
static void conv_weights(tlr_layer *l, const tlr_shape *in)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    int64_t cin = channels_of(l, in);
    switch (l->op) {
    case TLR_OP_CONV:
        if (k->rank == 1)
            W("kernel", k->kernel[1], cin / k->groups, k->filters);
        else
            W("kernel", k->kernel[0], k->kernel[1], cin / k->groups, k->filters);
        break;
    case TLR_OP_DEPTHWISE_CONV:
        W("depthwise_kernel", k->kernel[0], k->kernel[1], cin, k->depth_multiplier);
        if (k->use_bias)
            W("bias", cin * k->depth_multiplier);
        return;
    case TLR_OP_SEPARABLE_CONV:
        W("depthwise_kernel", k->kernel[0], k->kernel[1], cin, k->depth_multiplier);
        W("pointwise_kernel", 1, 1, cin * k->depth_multiplier, k->filters);
        break;
    default: /* TLR_OP_CONV_TRANSPOSE: (kh, kw, out, in) */
        W("kernel", k->kernel[0], k->kernel[1], k->filters, cin);
        break;
    }
    if (k->use_bias)
        W("bias", k->filters);
}

static void batchnorm_weights(tlr_layer *l, const tlr_shape *in)
{
    int ax = norm_axis(l->cfg.bn.axis, in->ndim);
    int64_t c = ax > 0 && ax < in->ndim ? in->d[ax] : -1;
    if (l->cfg.bn.scale)
        W("gamma", c);
    if (l->cfg.bn.center)
        W("beta", c);
    W("moving_mean", c);
    W("moving_variance", c);
}

/* alpha has the input's shape without the batch, with shared axes set to 1. */
static void prelu_weights(tlr_layer *l, const tlr_shape *in)
{
    tlr_shape a = { in->ndim - 1, { 0 } };
    for (int i = 1; i < in->ndim; i++)
        a.d[i - 1] = in->d[i];
    const tlr_json *sh = tlr_json_get(l->config, "shared_axes");
    if (tlr_json_is_number(sh) && tlr_json_number(sh, 0) >= 1 && tlr_json_number(sh, 0) < in->ndim)
        a.d[tlr_json_int(sh, 0) - 1] = 1;
    for (const tlr_json *e = tlr_json_first(sh); e; e = tlr_json_next(e)) {
        int ax = tlr_json_int(e, 0);
        if (ax >= 1 && ax < in->ndim)
            a.d[ax - 1] = 1;
    }
    add_weight(l, "alpha", a.ndim, a.d);
}

/* The weights Layer.build() creates for input shape 'in'.  Sets weights_known. */
static void expected_weights(tlr_layer *l, const tlr_shape *in)
{
    clear_weights(l);
    l->weights_known = 1;
    int64_t feat = in->ndim > 0 ? in->d[in->ndim - 1] : NONE; /* last axis: features */
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        conv_weights(l, in);
        break;
    case TLR_OP_DENSE:
        W("kernel", feat, l->cfg.dense.units);
        if (l->cfg.dense.use_bias)
            W("bias", l->cfg.dense.units);
        break;
    case TLR_OP_BATCHNORM: batchnorm_weights(l, in); break;
    case TLR_OP_PRELU: prelu_weights(l, in); break;
    case TLR_OP_EMBEDDING:
        W("embeddings", l->cfg.embed.input_dim, l->cfg.embed.output_dim);
        break;
    case TLR_OP_RNN: rnn_weights(l, &l->cfg.rnn, feat); break;
    case TLR_OP_BIDIRECTIONAL: /* the forward layer's weights, then the backward layer's */
        rnn_weights(l, &l->rnn_inner, feat);
        rnn_weights(l, l->has_backward ? &l->rnn_backward : &l->rnn_inner, feat);
        break;
    case TLR_OP_NORMALIZATION:
        /* Shapes vary across versions (C) vs (1,1,1,C); weights.c takes the stored ones. */
        if (!l->cfg.norm.has_values)
            l->weights_known = 0;
        break;
    case TLR_OP_UNKNOWN: l->weights_known = 0; break;
    case TLR_OP_LAMBDA: l->weights_known = l->lambda != NULL; break; /* a formula: none */
    default: break;
    }
}

/* ---- whole models -------------------------------------------------------------------------- */

static tlr_status shape_nested_call(tlr_layer *l, const tlr_shape *in, int n_in, tlr_shape *out,
                                    int *n_out, const char *what, int parent_trainable,
                                    tlr_err *err);

static void mark_unknown(tlr_layer *l, const char *why)
{
    l->shape_ok = 0;
    if (!l->shape_note)
        l->shape_note = tlr_xstrdup(why);
}

/* A config asking for a 2^50-element tensor fails here, long before anything is allocated:
 * the shapes a layer takes (declared inputs included) and the shapes it gives. */
static tlr_status check_size(const tlr_layer *l, const tlr_shape *s, int n, const char *kind,
                             const char *what, tlr_err *err)
{
    for (int k = 0; k < n; k++)
        if (too_large(s[k].ndim, s[k].d)) {
            char buf[200];
            tlr_shape_str(&s[k], buf, sizeof buf);
            return tlr_err_set(err, TLR_E_LIMIT, "%s: layer '%s' (%s): %s shape %s is too "
                               "large (2^40 elements or more)", what, l->name, l->class_name,
                               kind, buf);
        }
    return TLR_OK;
}

static tlr_status check_weights_size(const tlr_layer *l, const char *what, tlr_err *err)
{
    for (int k = 0; k < l->n_weights; k++)
        if (too_large(l->weights[k].ndim, l->weights[k].shape)) {
            tlr_shape s = { l->weights[k].ndim, { 0 } };
            memcpy(s.d, l->weights[k].shape, sizeof s.d);
            char buf[200];
            tlr_shape_str(&s, buf, sizeof buf);
            return tlr_err_set(err, TLR_E_LIMIT, "%s: layer '%s' (%s): weight '%s' %s is too "
                               "large (2^40 values or more)", what, l->name, l->class_name,
                               l->weights[k].role, buf);
        }
    return TLR_OK;
}

/* Shapes every layer of 'm' given the shapes of its inputs (NULL: their declared shapes). */
static tlr_status shape_graph(tlr_model *m, const tlr_shape *inputs, int parent_trainable,
                              const char *what, tlr_err *err)
{
    for (int oi = 0; oi < m->n_order; oi++) {
        tlr_layer *l = &m->layers[m->order[oi]];
        l->eff_trainable = parent_trainable && l->trainable;
        l->shape_ok = 1;
        free(l->shape_note);
        l->shape_note = NULL;
        for (int c = 0; c < l->n_calls; c++) {
            tlr_call *call = &l->calls[c];
            tlr_shape in[TLR_MAX_CALL_INPUTS];
            int n_in = call->n_in, known = 1; /* <= TLR_MAX_CALL_INPUTS (keras_config.c) */
            for (int k = 0; k < n_in; k++) {
                const tlr_layer *src = &m->layers[call->in[k].layer];
                const tlr_call *sc = &src->calls[call->in[k].call];
                if (src->shape_ok && call->in[k].tensor >= sc->n_out)
                    return tlr_err_set(err, TLR_E_FORMAT, "%s: layer '%s' takes input %s[%d][%d], "
                                       "but '%s' has %d output%s", what, l->name, src->name,
                                       call->in[k].node, call->in[k].tensor, src->name, sc->n_out,
                                       sc->n_out == 1 ? "" : "s");
                if (!src->shape_ok) {
                    known = 0;
                    break;
                }
                in[k] = sc->out[call->in[k].tensor];
            }
            if (l->op == TLR_OP_INPUT) {
                l->weights_known = 1; /* an InputLayer has no weights */
                call->n_out = 1;
                call->out[0] = l->input_shape;
                if (inputs) {
                    for (int k = 0; k < m->n_inputs; k++)
                        if (m->inputs[k].layer == m->order[oi])
                            call->out[0] = inputs[k];
                }
                continue;
            }
            if (!known) {
                mark_unknown(l, "its input shape is unknown");
                call->n_out = 0;
                continue;
            }
            tlr_status st = check_size(l, in, n_in, "input", what, err);
            if (st)
                return st;
            if (l->op == TLR_OP_MODEL)
                st = shape_nested_call(l, in, n_in, call->out, &call->n_out, what,
                                       l->eff_trainable, err);
            else
                st = tlr_shape_of_call(l, in, n_in, call->out, &call->n_out, what, err);
            if (st == TLR_E_UNSUPPORTED && (l->op == TLR_OP_UNKNOWN || l->op == TLR_OP_LAMBDA ||
                                            l->op == TLR_OP_BIDIRECTIONAL)) {
                mark_unknown(l, err->msg);
                call->n_out = 0;
                if (c == 0 && l->op == TLR_OP_BIDIRECTIONAL)
                    expected_weights(l, &in[0]); /* they do not depend on the outputs */
                continue;
            }
            if (st || (st = check_size(l, call->out, call->n_out, "output", what, err)))
                return st;
            if (c == 0 && l->op != TLR_OP_MODEL) {
                expected_weights(l, &in[0]);
                if ((st = check_weights_size(l, what, err)))
                    return st;
            }
        }
        if ((l->op == TLR_OP_UNKNOWN || l->op == TLR_OP_LAMBDA) && l->n_calls == 0) {
            expected_weights(l, NULL);
            mark_unknown(l, l->op == TLR_OP_LAMBDA ? "Lambda layers run Python code"
                            : l->cannot_run ? l->cannot_run
                                            : "this layer class is not known to tlreport");
        }
    }
    return TLR_OK;
}

static tlr_status shape_nested_call(tlr_layer *l, const tlr_shape *in, int n_in, tlr_shape *out,
                                    int *n_out, const char *what, int parent_trainable,
                                    tlr_err *err)
{
    tlr_model *m = l->inner;
    if (n_in != m->n_inputs)
        return tlr_err_set(err, TLR_E_SHAPE, "%s: nested model '%s' takes %d inputs, called with %d",
                           what, l->name, m->n_inputs, n_in);
    tlr_status st = shape_graph(m, in, parent_trainable && m->trainable, what, err);
    if (st)
        return st;
    *n_out = m->n_outputs; /* <= TLR_MAX_OUTPUTS (keras_config.c) */
    for (int k = 0; k < *n_out; k++) {
        const tlr_layer *src = &m->layers[m->outputs[k].layer];
        const tlr_call *sc = &src->calls[m->outputs[k].call];
        if (!src->shape_ok || m->outputs[k].tensor >= sc->n_out) {
            *n_out = 0;
            l->shape_ok = 0;
            if (!l->shape_note)
                l->shape_note = tlr_xasprintf("layer '%s' inside it has an unknown shape", src->name);
            return TLR_OK;
        }
        out[k] = sc->out[m->outputs[k].tensor];
    }
    return TLR_OK;
}

tlr_status tlr_shape_model(tlr_model *m, const char *what, tlr_err *err)
{
    return shape_graph(m, NULL, 1, what, err);
}
