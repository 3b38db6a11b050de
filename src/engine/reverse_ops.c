/* reverse_ops.c - the reverse op of each computing layer (convolutions, Dense,
 * BatchNormalization, activations, PReLU, pooling, Rescaling, Normalization): the layer's
 * settings and weights to the op gradients of grad.h, as its adapter (adapt_*.c) maps them
 * to the forward ops.  Layers that move values are in reverse_ops_shape.c. */
#include "engine/reverse_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/grad.h"
#include "keras/expr.h"

tlr_tensor *tlr_rev_new_dx(tlr_rev *r, int k)
{
    return tlr_exec_new(r->X, &r->in_shape[k], r->path);
}

const tlr_act_params *tlr_rev_own_act(const tlr_layer *l)
{
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        return &l->cfg.conv.act;
    case TLR_OP_DENSE:
        return &l->cfg.dense.act;
    default:
        return NULL;
    }
}

/* A ReLU clipped or not has the same derivative on its output as on its input (positive
 * inside the clip): the output, which the next layer reads anyway, serves. */
static int act_from_output(const tlr_act_params *a)
{
    return (a->kind == TLR_ACT_RELU && a->alpha == 0.0f && a->threshold == 0.0f) ||
           a->kind == TLR_ACT_RELU6;
}

static int merge_reads_inputs(const tlr_layer *l, tlr_tensor *const *in, int n_in,
                              const tlr_tensor *y)
{
    tlr_merge k = l->cfg.merge.kind;
    if (k == TLR_MERGE_MULTIPLY || k == TLR_MERGE_MAXIMUM || k == TLR_MERGE_MINIMUM)
        return 1;
    for (int i = 0; i < n_in; i++) /* the broadcast form takes the inputs' shapes from them */
        if (in[i]->ndim != y->ndim ||
            memcmp(in[i]->shape, y->shape, (size_t)y->ndim * sizeof *y->shape) != 0)
            return 1;
    return 0;
}

int tlr_rev_needs(const tlr_layer *l, tlr_tensor *const *in, int n_in, const tlr_tensor *y)
{
    const tlr_act_params *own = tlr_rev_own_act(l);
    if (own)
        return own->kind == TLR_ACT_LINEAR ? 0
               : act_from_output(own) || tlr_grad_act_needs_output(own->kind) ? TLR_REV_NEED_OUT
                                                                              : TLR_REV_NEED_Z;
    switch (l->op) {
    case TLR_OP_ACTIVATION:
        return tlr_grad_act_needs_output(l->cfg.act.act.kind) ? TLR_REV_NEED_OUT
                                                              : TLR_REV_NEED_IN;
    case TLR_OP_RELU: case TLR_OP_PRELU: case TLR_OP_MAXPOOL: case TLR_OP_GLOBAL_MAXPOOL:
    case TLR_OP_LAMBDA:
        return TLR_REV_NEED_IN;
    case TLR_OP_MERGE:
        return merge_reads_inputs(l, in, n_in, y) ? TLR_REV_NEED_IN : 0;
    default:
        return 0;
    }
}

const char *tlr_grad_cannot(const tlr_layer *l)
{
    switch (l->op) {
    case TLR_OP_RNN: case TLR_OP_BIDIRECTIONAL:
        return "recurrent layers are not differentiated (that needs backpropagation through "
               "time, which tlreport does not implement)";
    case TLR_OP_EMBEDDING:
        return "an Embedding reads whole-number ids, which have no gradient";
    case TLR_OP_LAMBDA:
        return l->lambda ? NULL : "the Lambda's formula is not known (--lambda gives it)";
    case TLR_OP_UNKNOWN:
        return "the layer class is not known to tlreport";
    default:
        return NULL;
    }
}

/* ---- channels_first layers ------------------------------------------------------------------ */

typedef tlr_status (*rev_fn)(tlr_rev *r);

static tlr_tensor *cl_or_null(tlr_rev *r, const tlr_tensor *t)
{
    return t ? tlr_exec_to_channels_last(r->X, t, r->path) : NULL;
}

/* Runs a one-input reverse op in channels-last layout, transposing around it for
 * channels_first layers (as run_cl does in the forward direction). */
static tlr_status rev_cl(tlr_rev *r, int channels_first, rev_fn fn)
{
    if (!channels_first)
        return fn(r);
    tlr_shape in_cl = r->in_shape[0];
    for (int i = 1; i < in_cl.ndim - 1; i++)
        in_cl.d[i] = r->in_shape[0].d[i + 1];
    in_cl.d[in_cl.ndim - 1] = r->in_shape[0].d[1];
    tlr_tensor *x = cl_or_null(r, r->x ? r->x[0] : NULL), *dy = cl_or_null(r, r->dy);
    tlr_tensor *dx = NULL;
    tlr_rev c = *r;
    c.in_shape = &in_cl;
    c.x = &x;
    c.y = c.z = NULL; /* their activation is undone already, in their own layout */
    c.dy = dy;
    c.dx = &dx;
    tlr_status st = dy && (x || !r->x || !r->x[0]) ? fn(&c) : r->X->err->code;
    if (!st && !(r->dx[0] = tlr_exec_to_channels_first(r->X, dx, r->path)))
        st = r->X->err->code;
    tlr_exec_drop(r->X, dx);
    tlr_exec_drop(r->X, dy);
    tlr_exec_drop(r->X, x);
    return st;
}

/* ---- convolutions and Dense ----------------------------------------------------------------- */

/* dy *= f'(value before f), in place: the layer's own activation. */
static void undo_own_act(tlr_rev *r, const tlr_act_params *a)
{
    if (a->kind == TLR_ACT_LINEAR)
        return;
    const tlr_tensor *v = r->z ? r->z : r->y;
    TLR_ASSERT(v != NULL);
    tlr_grad_activation(a, v->data, r->y ? r->y->data : NULL, r->dy->data, r->dy->data, tlr_tensor_numel(r->dy),
                        r->dy->shape[r->dy->ndim - 1]);
}

/* Separable: back through the 1x1 pointwise kernel (a Dense over pixels), then the depthwise. */
static tlr_status rev_separable(tlr_rev *r, tlr_conv2d_params *p, const float *dw, float *dx)
{
    const tlr_conv_cfg *k = &r->l->cfg.conv;
    const float *pw;
    tlr_status st = tlr_exec_need_weight(r->X, r->l, r->path, "pointwise_kernel", &pw);
    if (st)
        return st;
    tlr_shape mid = { 4, { p->n, p->oh, p->ow, p->cin * k->depth_multiplier } };
    tlr_tensor *dmid = tlr_exec_new(r->X, &mid, r->path);
    if (!dmid)
        return r->X->err->code;
    tlr_grad_dense(p->n * p->oh * p->ow, mid.d[3], p->cout, r->dy->data, pw, dmid->data);
    p->cout = mid.d[3];
    tlr_grad_depthwise_conv2d(p, k->depth_multiplier, dmid->data, dw, dx);
    tlr_exec_drop(r->X, dmid);
    return TLR_OK;
}

static tlr_status conv_cl(tlr_rev *r)
{
    const tlr_layer *l = r->l;
    tlr_shape ys = tlr_exec_shape(r->dy);
    tlr_conv2d_params p = tlr_adapt_conv_params(r->X, l, &r->in_shape[0], &ys);
    const char *role = l->op == TLR_OP_CONV || l->op == TLR_OP_CONV_TRANSPOSE
                           ? "kernel" : "depthwise_kernel";
    const float *kern;
    tlr_status st = tlr_exec_need_weight(r->X, l, r->path, role, &kern);
    if (st || !(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return st ? st : r->X->err->code;
    float *dx = r->dx[0]->data;
    switch (l->op) {
    case TLR_OP_CONV: {
        int depthwise = p.groups > 1 && p.groups == p.cin; /* grad.h's depthwise route */
        const float *flipped = p.sh == 1 && p.sw == 1 && !depthwise
                                   ? tlr_grad_cache_flipped(r->cache, &p, kern) : NULL;
        tlr_grad_conv2d_prepared(&p, r->dy->data, kern, flipped, dx);
        return TLR_OK;
    }
    case TLR_OP_DEPTHWISE_CONV:
        tlr_grad_depthwise_conv2d(&p, l->cfg.conv.depth_multiplier, r->dy->data, kern, dx);
        return TLR_OK;
    case TLR_OP_CONV_TRANSPOSE:
        tlr_grad_conv2d_transpose(&p, r->dy->data, kern, dx);
        return TLR_OK;
    default:
        return rev_separable(r, &p, kern, dx);
    }
}

static tlr_status rev_conv(tlr_rev *r)
{
    undo_own_act(r, &r->l->cfg.conv.act);
    return rev_cl(r, r->l->cfg.conv.channels_first, conv_cl);
}

static tlr_status rev_dense(tlr_rev *r)
{
    undo_own_act(r, &r->l->cfg.dense.act);
    const float *kern;
    tlr_status st = tlr_exec_need_weight(r->X, r->l, r->path, "kernel", &kern);
    if (st || !(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return st ? st : r->X->err->code;
    int64_t nin = r->in_shape[0].d[r->in_shape[0].ndim - 1];
    tlr_grad_dense(tlr_tensor_numel(r->dx[0]) / nin, nin, r->l->cfg.dense.units, r->dy->data,
                   kern, r->dx[0]->data);
    return TLR_OK;
}

/* ---- per value and per channel -------------------------------------------------------------- */

static tlr_status rev_batchnorm(tlr_rev *r)
{
    const tlr_bn_cfg *b = &r->l->cfg.bn;
    const float *var;
    tlr_status st = tlr_exec_need_weight(r->X, r->l, r->path, "moving_variance", &var);
    if (st || !(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return st ? st : r->X->err->code;
    int64_t outer, c, inner;
    tlr_exec_split_axis(r->dy, tlr_exec_axis(b->axis, r->dy->ndim), &outer, &c, &inner);
    tlr_grad_batchnorm(r->dy->data, r->dx[0]->data, outer, c, inner,
                       b->scale ? tlr_exec_weight(r->l, "gamma") : NULL, var, b->epsilon);
    return TLR_OK;
}

static tlr_status rev_activation(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    const tlr_act_params *a = &r->l->cfg.act.act;
    int nd = r->dy->ndim, ax = tlr_exec_axis(r->l->cfg.act.axis, nd);
    if (a->kind == TLR_ACT_SOFTMAX && ax != nd - 1) {
        int64_t outer, len, inner;
        tlr_exec_split_axis(r->dy, ax, &outer, &len, &inner);
        tlr_grad_softmax_axis(r->y->data, r->dy->data, r->dx[0]->data, outer, len, inner);
        return TLR_OK;
    }
    tlr_grad_activation(a, r->x ? r->x[0]->data : NULL, r->y ? r->y->data : NULL, r->dy->data,
                        r->dx[0]->data, tlr_tensor_numel(r->dy), r->dy->shape[nd - 1]);
    return TLR_OK;
}

static tlr_status rev_relu(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    const tlr_act_params *a = &r->l->cfg.act.act;
    tlr_grad_relu_layer(r->x[0]->data, r->dy->data, r->dx[0]->data, tlr_tensor_numel(r->dy),
                        a->max_value, a->alpha, a->threshold);
    return TLR_OK;
}

static tlr_status rev_prelu(tlr_rev *r)
{
    int64_t per;
    float *alpha = tlr_adapt_prelu_alpha(r->X, r->l, r->path, r->dy, &per);
    if (!alpha)
        return r->X->err->code;
    if ((r->dx[0] = tlr_rev_new_dx(r, 0)))
        tlr_grad_prelu(r->x[0]->data, r->dy->data, r->dx[0]->data, tlr_tensor_numel(r->dy),
                       alpha, per);
    free(alpha);
    return r->dx[0] ? TLR_OK : r->X->err->code;
}

static tlr_status rev_rescaling(tlr_rev *r)
{
    const tlr_rescale_cfg *rc = &r->l->cfg.rescale;
    int64_t n = tlr_tensor_numel(r->dy), c = r->dy->shape[r->dy->ndim - 1];
    if (rc->n != 1 && rc->n != c)
        return tlr_err_set(r->X->err, TLR_E_SHAPE, "layer '%s': Rescaling has %d scales for "
                           "%lld channels", r->path, rc->n, (long long)c);
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    if (rc->n == 1)
        tlr_grad_channel_affine(r->dy->data, r->dx[0]->data, n, 1, 1, rc->scale);
    else
        tlr_grad_channel_affine(r->dy->data, r->dx[0]->data, n / c, c, 1, rc->scale);
    return TLR_OK;
}

static tlr_status rev_normalization(tlr_rev *r)
{
    int ax;
    int64_t c, outer, len, inner;
    float *scale, *shift;
    tlr_status st = tlr_adapt_norm_affine(r->X, r->l, r->path, r->dy, &ax, &c, &scale, &shift);
    if (st)
        return st;
    if ((r->dx[0] = tlr_rev_new_dx(r, 0))) {
        tlr_exec_split_axis(r->dy, ax, &outer, &len, &inner);
        tlr_grad_channel_affine(r->dy->data, r->dx[0]->data, outer, len, inner, scale);
    }
    free(scale);
    free(shift);
    return r->dx[0] ? TLR_OK : r->X->err->code;
}

/* A Lambda formula (keras/expr.h), elementwise: its derivative by a central difference,
 * f'(x) ~ (f(x + h) - f(x - h)) / (2h) with h 1% of |x| (at least 0.01).  Exact up to
 * rounding for the affine formulas Lambdas usually hold (x / 127.5 - 1); within about 1e-4
 * for the smooth ones (tanh, sigmoid, exp) away from their kinks. */
static tlr_status rev_lambda(tlr_rev *r)
{
    int64_t n = tlr_tensor_numel(r->dy);
    float *lo = tlr_xmalloc((size_t)n * sizeof *lo), *hi = tlr_xmalloc((size_t)n * sizeof *hi);
    const float *x = r->x[0]->data;
    for (int64_t i = 0; i < n; i++) {
        float h = 0.01f * (fabsf(x[i]) > 1.0f ? fabsf(x[i]) : 1.0f);
        lo[i] = x[i] - h;
        hi[i] = x[i] + h;
    }
    if ((r->dx[0] = tlr_rev_new_dx(r, 0))) {
        float *d = r->dx[0]->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = hi[i] - lo[i]; /* the step as rounded */
        tlr_expr_apply(r->l->lambda, lo, lo, n);
        tlr_expr_apply(r->l->lambda, hi, hi, n);
        for (int64_t i = 0; i < n; i++)
            d[i] = r->dy->data[i] * ((hi[i] - lo[i]) / d[i]);
    }
    free(lo);
    free(hi);
    return r->dx[0] ? TLR_OK : r->X->err->code;
}

/* ---- pooling -------------------------------------------------------------------------------- */

static tlr_status pool_cl(tlr_rev *r)
{
    if (!(r->dx[0] = tlr_rev_new_dx(r, 0)))
        return r->X->err->code;
    const tlr_shape *xs = &r->in_shape[0];
    const tlr_layer *l = r->l;
    if (l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL) {
        int64_t c = xs->d[xs->ndim - 1], hw = tlr_tensor_numel(r->dx[0]) / (xs->d[0] * c);
        if (l->op == TLR_OP_GLOBAL_AVGPOOL)
            tlr_grad_global_avgpool(xs->d[0], hw, c, r->dy->data, r->dx[0]->data);
        else
            tlr_grad_global_maxpool(xs->d[0], hw, c, r->x[0]->data, r->dy->data, r->dx[0]->data);
        return TLR_OK;
    }
    tlr_shape ys = tlr_exec_shape(r->dy);
    tlr_pool2d_params p = tlr_adapt_pool_params(l, xs, &ys);
    if (l->op == TLR_OP_MAXPOOL)
        tlr_grad_maxpool2d(&p, r->x[0]->data, r->dy->data, r->dx[0]->data);
    else
        tlr_grad_avgpool2d(&p, r->dy->data, r->dx[0]->data);
    return TLR_OK;
}

static tlr_status rev_pool(tlr_rev *r)
{
    const tlr_layer *l = r->l;
    int global = l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL;
    if (!global || !l->cfg.pool.channels_first)
        return rev_cl(r, l->cfg.pool.channels_first, pool_cl);
    /* a global pool's output has no spatial axes: (N, C) whether channels first or last */
    tlr_tensor dy = *r->dy;
    dy.ndim = 2;
    dy.shape[1] = r->dy->shape[1];
    tlr_rev c = *r;
    c.dy = &dy;
    return rev_cl(&c, 1, pool_cl);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

tlr_status tlr_rev_op(tlr_rev *r)
{
    for (int k = 0; k < r->n_in; k++)
        r->dx[k] = NULL;
    switch (r->l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        return rev_conv(r);
    case TLR_OP_DENSE: return rev_dense(r);
    case TLR_OP_BATCHNORM: return rev_batchnorm(r);
    case TLR_OP_ACTIVATION: return rev_activation(r);
    case TLR_OP_RELU: return rev_relu(r);
    case TLR_OP_PRELU: return rev_prelu(r);
    case TLR_OP_RESCALING: return rev_rescaling(r);
    case TLR_OP_NORMALIZATION: return rev_normalization(r);
    case TLR_OP_LAMBDA:
        if (r->l->lambda)
            return rev_lambda(r);
        break;
    case TLR_OP_MAXPOOL: case TLR_OP_AVGPOOL: case TLR_OP_GLOBAL_AVGPOOL:
    case TLR_OP_GLOBAL_MAXPOOL:
        return rev_pool(r);
    default:
        break;
    }
    const char *why = tlr_grad_cannot(r->l);
    if (why)
        return tlr_err_set(r->X->err, TLR_E_UNSUPPORTED, "layer '%s' (%s) is not "
                           "differentiable: %s", r->path, r->l->class_name, why);
    return tlr_rev_shape_op(r);
}
