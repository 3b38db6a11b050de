/* adapt_channel.c - adapters of the layers that work value by value or channel by channel:
 * Dense, BatchNormalization, activations, PReLU, Rescaling, Normalization, Lambda formulas,
 * Embedding.  Those that work in place start from a copy of their input. */
#include "engine/exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "keras/expr.h"

static void apply_act(const tlr_act_params *a, tlr_tensor *t)
{
    if (a->kind == TLR_ACT_LINEAR)
        return;
    tlr_op_activation(a, t->data, tlr_tensor_numel(t), t->shape[t->ndim - 1]);
}

tlr_status tlr_adapt_dense(tlr_exec *X, const tlr_layer *l, const char *path,
                           tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    const float *kern;
    tlr_status st = tlr_exec_need_weight(X, l, path, "kernel", &kern);
    if (st)
        return st;
    int64_t nin = x->shape[x->ndim - 1];
    tlr_op_dense(tlr_tensor_numel(x) / nin, nin, l->cfg.dense.units, x->data, kern,
                 l->cfg.dense.use_bias ? tlr_exec_weight(l, "bias") : NULL, y->data);
    apply_act(&l->cfg.dense.act, y);
    return TLR_OK;
}

tlr_status tlr_adapt_batchnorm(tlr_exec *X, const tlr_layer *l, const char *path,
                               tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_bn_cfg *b = &l->cfg.bn;
    int ax = tlr_exec_axis(b->axis, y->ndim);
    int64_t outer, c, inner;
    tlr_exec_split_axis(y, ax, &outer, &c, &inner);
    const float *mean, *var;
    tlr_status st;
    if ((st = tlr_exec_need_weight(X, l, path, "moving_mean", &mean)) ||
        (st = tlr_exec_need_weight(X, l, path, "moving_variance", &var)))
        return st;
    tlr_op_batchnorm_to(in[0]->data, y->data, outer, c, inner,
                        b->scale ? tlr_exec_weight(l, "gamma") : NULL,
                        b->center ? tlr_exec_weight(l, "beta") : NULL, mean, var, b->epsilon);
    return TLR_OK;
}

tlr_status tlr_adapt_activation(tlr_exec *X, const tlr_layer *l, const char *path,
                                tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    int ax = tlr_exec_axis(l->cfg.act.axis, y->ndim);
    if (l->cfg.act.act.kind == TLR_ACT_SOFTMAX && ax != y->ndim - 1) {
        int64_t outer, len, inner;
        tlr_exec_split_axis(y, ax, &outer, &len, &inner);
        tlr_op_softmax_axis(y->data, outer, len, inner);
    } else {
        apply_act(&l->cfg.act.act, y);
    }
    return TLR_OK;
}

tlr_status tlr_adapt_relu(tlr_exec *X, const tlr_layer *l, const char *path,
                          tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    tlr_op_relu_layer(y->data, tlr_tensor_numel(y), l->cfg.act.act.max_value,
                      l->cfg.act.act.alpha, l->cfg.act.act.threshold);
    return TLR_OK;
}

float *tlr_adapt_prelu_alpha(tlr_exec *X, const tlr_layer *l, const char *path,
                             const tlr_tensor *y, int64_t *out_per)
{
    const tlr_weight *w = NULL;
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, "alpha") == 0)
            w = &l->weights[i];
    if (!w || !w->data) {
        tlr_err_set(X->err, TLR_E_FORMAT, "layer '%s': weight 'alpha' is not loaded", path);
        return NULL;
    }
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
    *out_per = per;
    return full;
}

tlr_status tlr_adapt_prelu(tlr_exec *X, const tlr_layer *l, const char *path,
                           tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    int64_t per;
    float *full = tlr_adapt_prelu_alpha(X, l, path, y, &per);
    if (!full)
        return X->err->code;
    tlr_op_prelu(y->data, tlr_tensor_numel(y), full, per);
    free(full);
    return TLR_OK;
}

tlr_status tlr_adapt_rescaling(tlr_exec *X, const tlr_layer *l, const char *path,
                               tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    const tlr_rescale_cfg *r = &l->cfg.rescale;
    int64_t c = y->shape[y->ndim - 1];
    if (r->n == 1)
        tlr_op_channel_affine(y->data, tlr_tensor_numel(y), 1, 1, r->scale, r->offset);
    else if (r->n == c)
        tlr_op_channel_affine(y->data, tlr_tensor_numel(y) / c, c, 1, r->scale, r->offset);
    else
        return tlr_err_set(X->err, TLR_E_SHAPE, "layer '%s': Rescaling has %d scales for %lld "
                           "channels", path, r->n, (long long)c);
    return TLR_OK;
}

/* ---- Normalization --------------------------------------------------------------------------- */

/* Entry i of a statistic the config gives (see tlr_norm_cfg). */
static float given_value(const float *v, int64_t n, int64_t i, float dflt)
{
    return n == 0 ? dflt : n == 1 ? v[0] : i < n ? v[i] : dflt;
}

/* The mean and variance of each of 'c' channels, from the config or the weights. */
static tlr_status norm_stats(tlr_exec *X, const tlr_layer *l, const char *path, int64_t c,
                             float *mean, float *var)
{
    const tlr_norm_cfg *n = &l->cfg.norm;
    if (n->has_values) {
        for (int64_t i = 0; i < c; i++) {
            mean[i] = given_value(n->mean, n->n_mean, i, 0.0f);
            var[i] = given_value(n->variance, n->n_variance, i, 1.0f);
        }
        return TLR_OK;
    }
    const tlr_weight *wm = NULL, *wv = NULL;
    for (int i = 0; i < l->n_weights; i++) {
        const char *role = l->weights[i].role;
        if (strcmp(role, "mean") == 0 || strcmp(role, "vars/0") == 0)
            wm = &l->weights[i];
        if (strcmp(role, "variance") == 0 || strcmp(role, "vars/1") == 0)
            wv = &l->weights[i];
    }
    int64_t nm = 1, nv = 1;
    for (int i = 0; wm && i < wm->ndim; i++)
        nm *= wm->shape[i];
    for (int i = 0; wv && i < wv->ndim; i++)
        nv *= wv->shape[i];
    if (!wm || !wv || !wm->data || !wv->data || (nm != c && nm != 1) || (nv != c && nv != 1))
        return tlr_err_set(X->err, TLR_E_FORMAT, "layer '%s': Normalization mean/variance are "
                           "missing or do not match %lld channels", path, (long long)c);
    for (int64_t i = 0; i < c; i++) {
        mean[i] = wm->data[nm == 1 ? 0 : i];
        var[i] = wv->data[nv == 1 ? 0 : i];
    }
    return TLR_OK;
}

tlr_status tlr_adapt_norm_affine(tlr_exec *X, const tlr_layer *l, const char *path,
                                 const tlr_tensor *y, int *axis, int64_t *cp, float **scale,
                                 float **shift)
{
    const tlr_norm_cfg *n = &l->cfg.norm;
    int64_t c = y->shape[y->ndim - 1];
    int ax = y->ndim - 1;
    if (n->n_axis > 1)
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "layer '%s': Normalization over several "
                           "axes is not supported", path);
    if (n->n_axis == 1) {
        ax = tlr_exec_axis(n->axis[0], y->ndim);
        c = y->shape[ax];
    }
    float *mean = tlr_xcalloc((size_t)c, sizeof *mean), *var = tlr_xcalloc((size_t)c, sizeof *var);
    tlr_status st = norm_stats(X, l, path, c, mean, var);
    if (!st) {
        float *sc = tlr_xmalloc((size_t)c * sizeof *sc), *sh = tlr_xmalloc((size_t)c * sizeof *sh);
        for (int64_t i = 0; i < c; i++) {
            float sd = sqrtf(var[i]);
            if (sd < 1e-7f)
                sd = 1e-7f;
            sc[i] = n->invert ? sd : 1.0f / sd;
            sh[i] = n->invert ? mean[i] : -mean[i] / sd;
        }
        *scale = sc;
        *shift = sh;
        *axis = ax;
        *cp = c;
    }
    free(mean);
    free(var);
    return st;
}

/* Normalization: (x - mean) / max(sqrt(var), 1e-7) over the configured axis (default last). */
tlr_status tlr_adapt_normalization(tlr_exec *X, const tlr_layer *l, const char *path,
                                   tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    memcpy(y->data, in[0]->data, tlr_exec_bytes(y));
    int ax;
    int64_t c, outer, len, inner;
    float *scale, *shift;
    tlr_status st = tlr_adapt_norm_affine(X, l, path, y, &ax, &c, &scale, &shift);
    if (st)
        return st;
    tlr_exec_split_axis(y, ax, &outer, &len, &inner);
    tlr_op_channel_affine(y->data, outer, len, inner, scale, shift);
    free(scale);
    free(shift);
    return TLR_OK;
}

/* ---- Lambda, Embedding ----------------------------------------------------------------------- */

tlr_status tlr_adapt_lambda(tlr_exec *X, const tlr_layer *l, const char *path,
                            tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    tlr_expr_apply(l->lambda, in[0]->data, y->data, tlr_tensor_numel(y));
    return TLR_OK;
}

tlr_status tlr_adapt_embedding(tlr_exec *X, const tlr_layer *l, const char *path,
                               tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    const float *table;
    int bad = -1;
    tlr_status st = tlr_exec_need_weight(X, l, path, "embeddings", &table);
    if (st)
        return st;
    tlr_op_embedding(x->data, tlr_tensor_numel(x), table, l->cfg.embed.input_dim,
                     l->cfg.embed.output_dim, y->data, &bad);
    if (bad >= 0)
        return tlr_err_set(X->err, TLR_E_SHAPE, "layer '%s': input value %g at position %d "
                           "is not an index below input_dim %d", path, (double)x->data[bad],
                           bad, l->cfg.embed.input_dim);
    return TLR_OK;
}
