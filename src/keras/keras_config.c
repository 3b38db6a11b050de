/* keras_config.c - model_config JSON into a tlr_model graph.  Settings are normalised here
 * (Keras 1 spellings, defaults per version) so later stages see one vocabulary. */
#include "keras/keras_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "keras/expr.h"
#include "keras/pylambda.h"
#include "keras/shape.h"

#define MAX_NEST 32

typedef struct {
    const tlr_config_ctx *ctx;
    tlr_err *err;
    int depth;
} parser;

static tlr_model *parse_model(parser *P, const char *class_name, const tlr_json *cfg,
                              const char *fallback_name);

/* ---- small JSON helpers ------------------------------------------------------------------ */

static const tlr_json *member(const tlr_json *cfg, const char *a, const char *b)
{
    const tlr_json *v = tlr_json_get(cfg, a);
    if (!v && b)
        v = tlr_json_get(cfg, b);
    return v;
}

/* An int or a list of ints (tuples) into out[n]; a scalar is repeated.  Returns 0 on success. */
static int int_tuple(const tlr_json *v, int *out, int n)
{
    if (tlr_json_is_number(v)) {
        for (int i = 0; i < n; i++)
            out[i] = tlr_json_int(v, 0);
        return 0;
    }
    if (!tlr_json_is_array(v) || (int)tlr_json_size(v) != n)
        return -1;
    int i = 0;
    for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e), i++) {
        if (!tlr_json_is_number(e))
            return -1;
        out[i] = tlr_json_int(e, 0);
    }
    return 0;
}

static tlr_status bad_value(parser *P, const char *layer, const char *key)
{
    return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': config '%s' has an invalid value",
                       P->ctx->what, layer, key);
}

static const char *json_kind(const tlr_json *v)
{
    return !v ? "missing" : tlr_json_is_number(v) ? "a number" : tlr_json_is_string(v) ? "a string"
         : tlr_json_is_object(v) ? "an object" : tlr_json_is_bool(v) ? "a boolean"
         : tlr_json_is_null(v) ? "null" : "an array";
}

/* Reads an int tuple setting (first of two spellings that is present), default 'dflt'. */
static tlr_status get_tuple(parser *P, const char *layer, const tlr_json *cfg, const char *key,
                            const char *alt, int *out, int n, int dflt)
{
    const tlr_json *v = member(cfg, key, alt);
    if (!v || tlr_json_is_null(v)) {
        for (int i = 0; i < n; i++)
            out[i] = dflt;
        return TLR_OK;
    }
    if (int_tuple(v, out, n))
        return bad_value(P, layer, key);
    return TLR_OK;
}

static tlr_status get_int(parser *P, const char *layer, const tlr_json *cfg, const char *key,
                          const char *alt, int *out, int dflt, int required)
{
    const tlr_json *v = member(cfg, key, alt);
    if (!v || tlr_json_is_null(v)) {
        if (required)
            return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': config '%s' is missing",
                               P->ctx->what, layer, key);
        *out = dflt;
        return TLR_OK;
    }
    if (!tlr_json_is_number(v))
        return bad_value(P, layer, key);
    double d = tlr_json_number(v, 0);
    if (d != floor(d) || d < -1e9 || d > 1e9)
        return bad_value(P, layer, key);
    *out = (int)d;
    return TLR_OK;
}

static int get_bool(const tlr_json *cfg, const char *key, const char *alt, int dflt)
{
    return tlr_json_bool(member(cfg, key, alt), dflt);
}

static float get_float(const tlr_json *cfg, const char *key, float dflt)
{
    return (float)tlr_json_number(tlr_json_get(cfg, key), (double)dflt);
}

/* The forward pass cannot compute 'l', but the summary, the layer list and the storage report
 * still describe it: 'why' (owned, taken) becomes its reason; the first reason given wins. */
static void set_cannot_run(tlr_layer *l, char *why)
{
    if (l->cannot_run)
        free(why);
    else
        l->cannot_run = why;
}

/* ---- activations ------------------------------------------------------------------------- */

static const struct { const char *name; tlr_act act; } act_names[] = {
    { "linear", TLR_ACT_LINEAR }, { "relu", TLR_ACT_RELU }, { "relu6", TLR_ACT_RELU6 },
    { "sigmoid", TLR_ACT_SIGMOID }, { "softmax", TLR_ACT_SOFTMAX },
    { "log_softmax", TLR_ACT_LOG_SOFTMAX }, { "tanh", TLR_ACT_TANH }, { "elu", TLR_ACT_ELU },
    { "selu", TLR_ACT_SELU }, { "softplus", TLR_ACT_SOFTPLUS }, { "softsign", TLR_ACT_SOFTSIGN },
    { "swish", TLR_ACT_SWISH }, { "silu", TLR_ACT_SWISH }, { "gelu", TLR_ACT_GELU },
    { "exponential", TLR_ACT_EXPONENTIAL }, { "leaky_relu", TLR_ACT_LEAKY_RELU },
    { "hard_swish", TLR_ACT_HARD_SWISH }, { "hard_silu", TLR_ACT_HARD_SWISH },
    { "mish", TLR_ACT_MISH },
};

/* Activation given by name, or by a serialised activation object.  A name tlreport does not
 * know (a custom activation) leaves the layer described but not runnable. */
static tlr_status parse_activation(parser *P, tlr_layer *l, const tlr_json *v,
                                   tlr_act_params *out)
{
    memset(out, 0, sizeof *out);
    out->max_value = -1.0f;
    if (!v || tlr_json_is_null(v)) {
        out->kind = TLR_ACT_LINEAR;
        return TLR_OK;
    }
    const char *name = tlr_json_string(v, NULL);
    if (!name && tlr_json_is_object(v)) {
        /* {"class_name": "function", "config": "relu"} or a layer object like LeakyReLU. */
        const tlr_json *c = tlr_json_get(v, "config");
        const char *cls = tlr_json_get_string(v, "class_name", "");
        name = tlr_json_string(c, NULL);
        if (!name) {
            if (strcmp(cls, "LeakyReLU") == 0) {
                out->kind = TLR_ACT_LEAKY_RELU;
                out->alpha = (float)tlr_json_number(member(c, "negative_slope", "alpha"), 0.3);
                return TLR_OK;
            }
            if (strcmp(cls, "ReLU") == 0) {
                out->kind = TLR_ACT_RELU;
                return TLR_OK;
            }
            name = tlr_json_get_string(c, "name", cls);
        }
    }
    if (!name)
        return bad_value(P, l->name, "activation");
    if (strcmp(name, "hard_sigmoid") == 0) {
        out->kind = P->ctx->keras_major >= 3 ? TLR_ACT_HARD_SIGMOID_K3 : TLR_ACT_HARD_SIGMOID;
        return TLR_OK;
    }
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (strcmp(name, act_names[i].name) == 0) {
            out->kind = act_names[i].act;
            out->alpha = out->kind == TLR_ACT_ELU ? 1.0f
                       : out->kind == TLR_ACT_LEAKY_RELU ? 0.2f : 0.0f;
            return TLR_OK;
        }
    }
    out->kind = TLR_ACT_LINEAR; /* never applied: the layer does not run */
    set_cannot_run(l, tlr_xasprintf("activation '%.100s' is not supported", name));
    return TLR_OK;
}

/* ---- common settings --------------------------------------------------------------------- */

/* Keras lower-cases the padding it is given ("SAME" is "same").  Returns 1 for a padding
 * tlreport does not know: the output size depends on it, so the caller makes the layer one of
 * unknown shape that does not run (the reason is set here). */
static int parse_padding(tlr_layer *l, const tlr_json *cfg, tlr_padding *out)
{
    const tlr_json *v = member(cfg, "padding", "border_mode");
    const char *s = tlr_json_string(v, "valid");
    *out = TLR_PAD_VALID;
    if (v && !tlr_json_is_string(v)) {
        /* explicit amounts ([[1, 1], [2, 2]]) are no Keras padding mode either */
        set_cannot_run(l, tlr_xasprintf("padding given as %s is not supported", json_kind(v)));
        return 1;
    }
    if (!v || strcasecmp(s, "valid") == 0)
        *out = TLR_PAD_VALID;
    else if (strcasecmp(s, "same") == 0)
        *out = TLR_PAD_SAME;
    else if (strcasecmp(s, "causal") == 0)
        *out = TLR_PAD_CAUSAL;
    else if (strcasecmp(s, "full") == 0)
        *out = TLR_PAD_FULL;
    else {
        set_cannot_run(l, tlr_xasprintf("padding '%.100s' is not supported", s));
        return 1;
    }
    return 0;
}

static tlr_status parse_data_format(parser *P, const char *layer, const tlr_json *cfg, int *cf)
{
    const char *df = tlr_json_get_string(cfg, "data_format", NULL);
    const char *dim = tlr_json_get_string(cfg, "dim_ordering", NULL);
    *cf = 0;
    if (df) {
        /* Keras lower-cases it too */
        if (strcasecmp(df, "channels_first") == 0)
            *cf = 1;
        else if (strcasecmp(df, "channels_last") != 0)
            return tlr_err_set(P->err, TLR_E_UNSUPPORTED,
                               "%s: layer '%s': data_format '%s' is not supported", P->ctx->what,
                               layer, df);
    } else if (dim) {
        /* Keras 1: 'th' is channels first; 'default' followed the backend's setting. */
        *cf = strcmp(dim, "th") == 0 || (strcmp(dim, "default") == 0 && P->ctx->backend_theano);
    }
    return TLR_OK;
}

/* ---- per-family parsers -------------------------------------------------------------------- */

static tlr_status parse_conv(parser *P, tlr_layer *l, const char *cls)
{
    const tlr_json *c = l->config;
    tlr_conv_cfg *k = &l->cfg.conv;
    const char *n = l->name;
    tlr_status st;
    int one_d = strstr(cls, "1D") != NULL;
    k->rank = one_d ? 1 : 2;
    k->groups = 1;
    k->depth_multiplier = 1;
    int pad_unknown = parse_padding(l, c, &k->padding);
    if ((st = parse_data_format(P, n, c, &k->channels_first)) ||
        (st = parse_activation(P, l, tlr_json_get(c, "activation"), &k->act)))
        return st;
    k->use_bias = get_bool(c, "use_bias", "bias", 1);
    if (l->op != TLR_OP_DEPTHWISE_CONV &&
        (st = get_int(P, n, c, "filters", "nb_filter", &k->filters, 0, 1)))
        return st;
    if (l->op == TLR_OP_DEPTHWISE_CONV || l->op == TLR_OP_SEPARABLE_CONV)
        if ((st = get_int(P, n, c, "depth_multiplier", NULL, &k->depth_multiplier, 1, 0)))
            return st;
    if ((st = get_int(P, n, c, "groups", NULL, &k->groups, 1, 0)))
        return st;
    if (one_d) {
        int ks, s, d;
        if ((st = get_tuple(P, n, c, "kernel_size", "filter_length", &ks, 1, 0)) ||
            (st = get_tuple(P, n, c, "strides", "subsample_length", &s, 1, 1)) ||
            (st = get_tuple(P, n, c, "dilation_rate", "atrous_rate", &d, 1, 1)))
            return st;
        k->kernel[0] = 1, k->kernel[1] = ks;
        k->strides[0] = 1, k->strides[1] = s;
        k->dilation[0] = 1, k->dilation[1] = d;
    } else {
        if (tlr_json_get(c, "nb_row")) {
            if ((st = get_int(P, n, c, "nb_row", NULL, &k->kernel[0], 0, 1)) ||
                (st = get_int(P, n, c, "nb_col", NULL, &k->kernel[1], 0, 1)))
                return st;
        } else if ((st = get_tuple(P, n, c, "kernel_size", NULL, k->kernel, 2, 0))) {
            return st;
        }
        if ((st = get_tuple(P, n, c, "strides", "subsample", k->strides, 2, 1)) ||
            (st = get_tuple(P, n, c, "dilation_rate", "atrous_rate", k->dilation, 2, 1)))
            return st;
        const tlr_json *op = tlr_json_get(c, "output_padding");
        if (op && !tlr_json_is_null(op)) {
            if (int_tuple(op, k->output_padding, 2))
                return bad_value(P, n, "output_padding");
            k->has_output_padding = 1;
        }
    }
    k->theano_kernel = P->ctx->keras_major == 1 && k->channels_first;
    for (int i = 0; i < 2; i++)
        if (k->kernel[i] < 1 || k->strides[i] < 1 || k->dilation[i] < 1 || k->kernel[i] > 4096 ||
            k->strides[i] > 4096 || k->dilation[i] > 4096)
            return tlr_err_set(P->err, TLR_E_FORMAT,
                               "%s: layer '%s': kernel %dx%d, strides %dx%d, dilation %dx%d are "
                               "not valid", P->ctx->what, n, k->kernel[0], k->kernel[1],
                               k->strides[0], k->strides[1], k->dilation[0], k->dilation[1]);
    if ((l->op != TLR_OP_DEPTHWISE_CONV && (k->filters < 1 || k->filters > (1 << 24))) ||
        k->groups < 1 || k->depth_multiplier < 1 || k->depth_multiplier > (1 << 16))
        return tlr_err_set(P->err, TLR_E_FORMAT,
                           "%s: layer '%s': filters %d, groups %d, depth_multiplier %d are not valid",
                           P->ctx->what, n, k->filters, k->groups, k->depth_multiplier);
    if (pad_unknown)
        l->op = TLR_OP_UNKNOWN; /* no output size without the padding rule */
    return TLR_OK;
}

static tlr_status parse_dense(parser *P, tlr_layer *l)
{
    tlr_dense_cfg *d = &l->cfg.dense;
    tlr_status st = get_int(P, l->name, l->config, "units", "output_dim", &d->units, 0, 1);
    if (st)
        return st;
    if (d->units < 1 || d->units > (1 << 26))
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': units %d is not valid",
                           P->ctx->what, l->name, d->units);
    d->use_bias = get_bool(l->config, "use_bias", "bias", 1);
    return parse_activation(P, l, tlr_json_get(l->config, "activation"), &d->act);
}

static tlr_status parse_pool(parser *P, tlr_layer *l, const char *cls)
{
    const tlr_json *c = l->config;
    tlr_pool_cfg *p = &l->cfg.pool;
    tlr_status st;
    p->rank = strstr(cls, "1D") ? 1 : 2;
    p->keepdims = get_bool(c, "keepdims", NULL, 0);
    if ((st = parse_data_format(P, l->name, c, &p->channels_first)))
        return st;
    if (l->op == TLR_OP_GLOBAL_AVGPOOL || l->op == TLR_OP_GLOBAL_MAXPOOL)
        return TLR_OK;
    int pad_unknown = parse_padding(l, c, &p->padding);
    if (p->rank == 1) {
        int ps, s;
        if ((st = get_tuple(P, l->name, c, "pool_size", "pool_length", &ps, 1, 2)))
            return st;
        if ((st = get_tuple(P, l->name, c, "strides", "stride", &s, 1, ps)))
            return st;
        p->pool[0] = 1, p->pool[1] = ps;
        p->strides[0] = 1, p->strides[1] = s;
    } else {
        if ((st = get_tuple(P, l->name, c, "pool_size", NULL, p->pool, 2, 2)))
            return st;
        const tlr_json *s = member(c, "strides", NULL);
        if (!s || tlr_json_is_null(s))
            memcpy(p->strides, p->pool, sizeof p->strides);
        else if (int_tuple(s, p->strides, 2))
            return bad_value(P, l->name, "strides");
    }
    for (int i = 0; i < 2; i++)
        if (p->pool[i] < 1 || p->strides[i] < 1 || p->pool[i] > 65536 || p->strides[i] > 65536)
            return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': pool %dx%d strides %dx%d "
                               "are not valid", P->ctx->what, l->name, p->pool[0], p->pool[1],
                               p->strides[0], p->strides[1]);
    if (pad_unknown)
        l->op = TLR_OP_UNKNOWN; /* no output size without the padding rule */
    return TLR_OK;
}

static tlr_status parse_batchnorm(parser *P, tlr_layer *l)
{
    tlr_bn_cfg *b = &l->cfg.bn;
    const tlr_json *axis = tlr_json_get(l->config, "axis");
    b->axis = -1;
    if (tlr_json_is_array(axis)) {
        if (tlr_json_size(axis) != 1)
            return tlr_err_set(P->err, TLR_E_UNSUPPORTED, "%s: layer '%s': BatchNormalization "
                               "over several axes is not supported", P->ctx->what, l->name);
        b->axis = tlr_json_int(tlr_json_first(axis), -1);
    } else if (axis) {
        b->axis = tlr_json_int(axis, -1);
    }
    b->epsilon = get_float(l->config, "epsilon", 1e-3f);
    b->center = get_bool(l->config, "center", NULL, 1);
    b->scale = get_bool(l->config, "scale", NULL, 1);
    /* Keras 1 modes 1 and 2 normalise with statistics of the sample or of the batch being
     * run, at inference too; only mode 0 uses the stored moving mean and variance. */
    int mode = 0;
    if (get_int(P, l->name, l->config, "mode", NULL, &mode, 0, 0))
        return P->err->code;
    if (mode == 1 || mode == 2)
        set_cannot_run(l, tlr_xasprintf("Keras 1 BatchNormalization mode %d (%s) is not "
                                        "supported, only mode 0", mode,
                                        mode == 1 ? "per-sample statistics"
                                                  : "statistics of the batch"));
    else if (mode != 0)
        return bad_value(P, l->name, "mode");
    return TLR_OK;
}

static tlr_status parse_pad_or_crop(parser *P, tlr_layer *l, const char *cls)
{
    tlr_pad_cfg *p = &l->cfg.pad;
    const char *key = l->op == TLR_OP_ZEROPAD ? "padding" : "cropping";
    const tlr_json *v = tlr_json_get(l->config, key);
    tlr_status st = parse_data_format(P, l->name, l->config, &p->channels_first);
    if (st)
        return st;
    p->rank = strstr(cls, "1D") ? 1 : 2;
    int dflt = l->op == TLR_OP_ZEROPAD ? 1 : 0;
    if (p->rank == 1) {
        int two[2];
        if (!v)
            two[0] = two[1] = dflt;
        else if (int_tuple(v, two, 2) && int_tuple(v, two, 1) == 0)
            two[1] = two[0];
        else if (int_tuple(v, two, 2))
            return bad_value(P, l->name, key);
        p->amount[0] = p->amount[1] = 0;
        p->amount[2] = two[0], p->amount[3] = two[1];
    } else if (!v) {
        for (int i = 0; i < 4; i++)
            p->amount[i] = dflt;
    } else if (tlr_json_is_number(v)) {
        for (int i = 0; i < 4; i++)
            p->amount[i] = tlr_json_int(v, 0);
    } else if (tlr_json_is_array(v) && tlr_json_size(v) == 2 &&
               tlr_json_is_number(tlr_json_at(v, 0))) {
        /* (symmetric_height, symmetric_width) */
        p->amount[0] = p->amount[1] = tlr_json_int(tlr_json_at(v, 0), 0);
        p->amount[2] = p->amount[3] = tlr_json_int(tlr_json_at(v, 1), 0);
    } else if (tlr_json_is_array(v) && tlr_json_size(v) == 2) {
        if (int_tuple(tlr_json_at(v, 0), p->amount, 2) ||
            int_tuple(tlr_json_at(v, 1), p->amount + 2, 2))
            return bad_value(P, l->name, key);
    } else if (tlr_json_is_array(v) && tlr_json_size(v) == 4) {
        /* Keras 1 ZeroPadding2D could be (top, bottom, left, right). */
        if (int_tuple(v, p->amount, 4))
            return bad_value(P, l->name, key);
    } else {
        return bad_value(P, l->name, key);
    }
    for (int i = 0; i < 4; i++)
        if (p->amount[i] < 0 || p->amount[i] > (1 << 20))
            return bad_value(P, l->name, key);
    return TLR_OK;
}

static tlr_status parse_upsampling(parser *P, tlr_layer *l, const char *cls)
{
    tlr_upsample_cfg *u = &l->cfg.up;
    tlr_status st = parse_data_format(P, l->name, l->config, &u->channels_first);
    if (st)
        return st;
    u->rank = strstr(cls, "1D") ? 1 : 2;
    if (u->rank == 1) {
        int s;
        if ((st = get_tuple(P, l->name, l->config, "size", "length", &s, 1, 2)))
            return st;
        u->size[0] = 1, u->size[1] = s;
    } else if ((st = get_tuple(P, l->name, l->config, "size", NULL, u->size, 2, 2))) {
        return st;
    }
    const char *interp = tlr_json_get_string(l->config, "interpolation", "nearest");
    if (strcmp(interp, "nearest") == 0)
        u->mode = TLR_RESIZE_NEAREST;
    else if (strcmp(interp, "bilinear") == 0)
        u->mode = TLR_RESIZE_BILINEAR;
    else /* bicubic, lanczos3, ...: the output shape does not depend on it */
        set_cannot_run(l, tlr_xasprintf("interpolation '%.100s' is not supported", interp));
    if (u->size[0] < 1 || u->size[1] < 1 || u->size[0] > 4096 || u->size[1] > 4096)
        return bad_value(P, l->name, "size");
    return TLR_OK;
}

static tlr_status parse_reshape(parser *P, tlr_layer *l)
{
    const tlr_json *t = tlr_json_get(l->config, "target_shape");
    tlr_reshape_cfg *r = &l->cfg.reshape;
    if (!tlr_json_is_array(t) || tlr_json_size(t) > 7)
        return bad_value(P, l->name, "target_shape");
    for (const tlr_json *e = tlr_json_first(t); e; e = tlr_json_next(e)) {
        double d = tlr_json_number(e, -2);
        if (tlr_json_is_null(e))
            d = -1;
        if (d < -1 || d > 1e12 || d != floor(d))
            return bad_value(P, l->name, "target_shape");
        r->shape[r->ndim++] = (int64_t)d;
    }
    return TLR_OK;
}

static tlr_status parse_permute(parser *P, tlr_layer *l)
{
    const tlr_json *d = tlr_json_get(l->config, "dims");
    tlr_permute_cfg *p = &l->cfg.permute;
    if (!tlr_json_is_array(d) || tlr_json_size(d) > 7)
        return bad_value(P, l->name, "dims");
    int seen = 0;
    for (const tlr_json *e = tlr_json_first(d); e; e = tlr_json_next(e)) {
        int v = tlr_json_int(e, 0);
        if (v < 1 || v > (int)tlr_json_size(d) || (seen & (1 << v)))
            return bad_value(P, l->name, "dims");
        seen |= 1 << v;
        p->dims[p->ndim++] = v;
    }
    return TLR_OK;
}

static tlr_status parse_act_layer(parser *P, tlr_layer *l, const char *cls)
{
    tlr_act_cfg *a = &l->cfg.act;
    const tlr_json *c = l->config;
    memset(&a->act, 0, sizeof a->act);
    a->act.max_value = -1.0f;
    a->axis = -1;
    if (strcmp(cls, "Activation") == 0)
        return parse_activation(P, l, tlr_json_get(c, "activation"), &a->act);
    if (strcmp(cls, "LeakyReLU") == 0) {
        a->act.kind = TLR_ACT_LEAKY_RELU;
        a->act.alpha = (float)tlr_json_number(member(c, "negative_slope", "alpha"), 0.3);
    } else if (strcmp(cls, "ELU") == 0) {
        a->act.kind = TLR_ACT_ELU;
        a->act.alpha = get_float(c, "alpha", 1.0f);
    } else if (strcmp(cls, "Softmax") == 0) {
        a->act.kind = TLR_ACT_SOFTMAX;
        const tlr_json *ax = tlr_json_get(c, "axis");
        if (tlr_json_is_array(ax)) {
            if (tlr_json_size(ax) != 1)
                return tlr_err_set(P->err, TLR_E_UNSUPPORTED, "%s: layer '%s': softmax over "
                                   "several axes is not supported", P->ctx->what, l->name);
            ax = tlr_json_first(ax);
        }
        a->axis = tlr_json_int(ax, -1);
    } else if (strcmp(cls, "ThresholdedReLU") == 0) {
        a->act.kind = TLR_ACT_RELU;
        a->act.threshold = get_float(c, "theta", 1.0f);
    }
    return TLR_OK;
}

static tlr_status parse_relu(parser *P, tlr_layer *l)
{
    tlr_act_params *a = &l->cfg.act.act;
    const tlr_json *mv = tlr_json_get(l->config, "max_value");
    a->kind = TLR_ACT_RELU;
    a->max_value = (mv && !tlr_json_is_null(mv)) ? (float)tlr_json_number(mv, -1) : -1.0f;
    if (mv && !tlr_json_is_null(mv) && !tlr_json_is_number(mv))
        return bad_value(P, l->name, "max_value");
    a->alpha = (float)tlr_json_number(member(l->config, "negative_slope", NULL), 0.0);
    a->threshold = get_float(l->config, "threshold", 0.0f);
    return TLR_OK;
}

/* Keras 1 Merge(mode=...): the merge modes tlreport runs; dot/cos/custom stay unknown. */
static tlr_status parse_keras1_merge(parser *P, tlr_layer *l)
{
    const char *mode = tlr_json_get_string(l->config, "mode", "sum");
    static const struct { const char *mode; tlr_merge kind; } modes[] = {
        { "sum", TLR_MERGE_ADD }, { "mul", TLR_MERGE_MULTIPLY }, { "ave", TLR_MERGE_AVERAGE },
        { "max", TLR_MERGE_MAXIMUM },
    };
    if (strcmp(mode, "concat") == 0) {
        l->op = TLR_OP_CONCAT;
        l->cfg.merge.axis = (int)tlr_json_get_number(l->config, "concat_axis", -1);
        return TLR_OK;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(mode, modes[i].mode) == 0) {
            l->cfg.merge.kind = modes[i].kind;
            return TLR_OK;
        }
    (void)P;
    l->op = TLR_OP_UNKNOWN;
    return TLR_OK;
}

static tlr_status parse_merge(parser *P, tlr_layer *l, const char *cls)
{
    if (strcmp(cls, "Merge") == 0)
        return parse_keras1_merge(P, l);
    static const struct { const char *cls; tlr_merge kind; } kinds[] = {
        { "Add", TLR_MERGE_ADD }, { "Subtract", TLR_MERGE_SUBTRACT },
        { "Multiply", TLR_MERGE_MULTIPLY }, { "Average", TLR_MERGE_AVERAGE },
        { "Maximum", TLR_MERGE_MAXIMUM }, { "Minimum", TLR_MERGE_MINIMUM },
    };
    if (l->op == TLR_OP_CONCAT) {
        l->cfg.merge.axis = tlr_json_get_int(l->config, "axis", -1);
        return TLR_OK;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(cls, kinds[i].cls) == 0)
            l->cfg.merge.kind = kinds[i].kind;
    (void)P;
    return TLR_OK;
}

/* A float or a list of floats (Rescaling scale/offset). */
static int float_list(const tlr_json *v, float *out, int cap, int *n)
{
    if (tlr_json_is_number(v)) {
        out[0] = (float)tlr_json_number(v, 0);
        *n = 1;
        return 0;
    }
    if (!tlr_json_is_array(v) || tlr_json_size(v) > (size_t)cap || tlr_json_size(v) == 0)
        return -1;
    int i = 0;
    for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e))
        out[i++] = (float)tlr_json_number(e, 0);
    *n = i;
    return 0;
}

static tlr_status parse_rescaling(parser *P, tlr_layer *l)
{
    tlr_rescale_cfg *r = &l->cfg.rescale;
    int ns = 1, no = 1;
    r->scale[0] = 1.0f;
    r->offset[0] = 0.0f;
    const tlr_json *s = tlr_json_get(l->config, "scale"), *o = tlr_json_get(l->config, "offset");
    if (s && float_list(s, r->scale, 8, &ns))
        return bad_value(P, l->name, "scale");
    if (o && float_list(o, r->offset, 8, &no))
        return bad_value(P, l->name, "offset");
    r->n = ns > no ? ns : no;
    if ((ns != 1 && ns != r->n) || (no != 1 && no != r->n))
        return bad_value(P, l->name, "scale");
    for (int i = 1; i < r->n; i++) {
        if (ns == 1)
            r->scale[i] = r->scale[0];
        if (no == 1)
            r->offset[i] = r->offset[0];
    }
    return TLR_OK;
}

/* A Normalization statistic given in the config: a number or a list of them; 'dflt' for
 * entries that are not numbers. */
static void norm_values(const tlr_json *v, double dflt, float **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    if (tlr_json_is_number(v)) {
        *out = tlr_xmalloc(sizeof **out);
        (*out)[0] = (float)tlr_json_number(v, dflt);
        *n = 1;
    } else if (tlr_json_is_array(v) && tlr_json_size(v) > 0) {
        *out = tlr_xmalloc(tlr_json_size(v) * sizeof **out);
        for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e))
            (*out)[(*n)++] = (float)tlr_json_number(e, dflt);
    }
}

static tlr_status parse_normalization(parser *P, tlr_layer *l)
{
    tlr_norm_cfg *n = &l->cfg.norm;
    const tlr_json *ax = tlr_json_get(l->config, "axis");
    n->invert = get_bool(l->config, "invert", NULL, 0);
    if (!ax || tlr_json_is_null(ax)) {
        n->n_axis = 0;
    } else if (tlr_json_is_number(ax)) {
        n->axis[0] = tlr_json_int(ax, -1);
        n->n_axis = 1;
    } else if (tlr_json_is_array(ax) && tlr_json_size(ax) <= 8) {
        for (const tlr_json *e = tlr_json_first(ax); e; e = tlr_json_next(e))
            n->axis[n->n_axis++] = tlr_json_int(e, -1);
    } else {
        return bad_value(P, l->name, "axis");
    }
    const tlr_json *mean = tlr_json_get(l->config, "mean");
    n->has_values = mean && !tlr_json_is_null(mean);
    if (n->has_values) {
        norm_values(mean, 0.0, &n->mean, &n->n_mean);
        norm_values(tlr_json_get(l->config, "variance"), 1.0, &n->variance, &n->n_variance);
    }
    return TLR_OK;
}

static tlr_status parse_resizing(parser *P, tlr_layer *l)
{
    tlr_resizing_cfg *r = &l->cfg.resizing;
    tlr_status st;
    if ((st = get_int(P, l->name, l->config, "height", NULL, &r->height, 0, 1)) ||
        (st = get_int(P, l->name, l->config, "width", NULL, &r->width, 0, 1)))
        return st;
    if (r->height < 1 || r->width < 1 || r->height > 65536 || r->width > 65536)
        return bad_value(P, l->name, "height");
    const char *interp = tlr_json_get_string(l->config, "interpolation", "bilinear");
    r->interpolation_ok = 1;
    if (strcmp(interp, "bilinear") == 0)
        r->mode = TLR_RESIZE_BILINEAR;
    else if (strcmp(interp, "nearest") == 0)
        r->mode = TLR_RESIZE_NEAREST;
    else {
        r->interpolation_ok = 0;
        set_cannot_run(l, tlr_xasprintf("interpolation '%.100s' is not supported", interp));
    }
    r->interpolation = interp;
    r->crop_to_aspect_ratio = get_bool(l->config, "crop_to_aspect_ratio", NULL, 0);
    r->pad_to_aspect_ratio = get_bool(l->config, "pad_to_aspect_ratio", NULL, 0);
    r->channels_first = tlr_shape_channels_first(l);
    return TLR_OK;
}

/* RandomCrop runs at inference as a Resizing that crops to the aspect ratio (adapt_spatial.c);
 * its settings are read by shape.c's rule, which the shapes follow too. */
static void parse_random_crop(tlr_layer *l)
{
    tlr_resizing_cfg *r = &l->cfg.resizing;
    r->random_crop = tlr_shape_random_crop(l, &r->height, &r->width);
    r->mode = TLR_RESIZE_BILINEAR;
    r->crop_to_aspect_ratio = 1;
    r->interpolation_ok = 1;
    r->interpolation = "bilinear";
    r->channels_first = tlr_shape_channels_first(l);
}

/* The settings of a recurrent layer (or of a Bidirectional's inner layer) 'c' of layer 'l'. */
static tlr_status parse_rnn_cfg(parser *P, tlr_layer *l, const char *cls, const tlr_json *c,
                                tlr_rnn_cfg *r)
{
    const char *name = l->name;
    tlr_status st = get_int(P, name, c, "units", "output_dim", &r->units, 0, 1);
    if (st)
        return st;
    r->kind = strcmp(cls, "GRU") == 0 || strcmp(cls, "CuDNNGRU") == 0 ? 1
            : strcmp(cls, "LSTM") == 0 || strcmp(cls, "CuDNNLSTM") == 0 ? 2 : 0;
    r->return_sequences = get_bool(c, "return_sequences", NULL, 0);
    r->use_bias = get_bool(c, "use_bias", "bias", 1);
    /* A missing reset_after is Keras 2.0-2.2's False; CuDNNGRU always resets after. */
    r->reset_after = get_bool(c, "reset_after", NULL, 0) || strcmp(cls, "CuDNNGRU") == 0;
    r->go_backwards = get_bool(c, "go_backwards", NULL, 0);
    if (r->units < 1 || r->units > (1 << 24))
        return bad_value(P, name, "units");
    const tlr_json *a = tlr_json_get(c, "activation");
    const tlr_json *ra = member(c, "recurrent_activation", "inner_activation");
    tlr_status ast = TLR_OK;
    if (a)
        ast = parse_activation(P, l, a, &r->act);
    else
        r->act = (tlr_act_params){ TLR_ACT_TANH, 0.0f, -1.0f, 0.0f }; /* CuDNN layers */
    if (!ast && ra)
        ast = parse_activation(P, l, ra, &r->recurrent_act);
    else if (!ast)
        r->recurrent_act = (tlr_act_params){ TLR_ACT_SIGMOID, 0.0f, -1.0f, 0.0f };
    if (ast) {
        /* an activation that is not even a name does not stop the summary either */
        tlr_err_clear(P->err);
        set_cannot_run(l, tlr_xstrdup("its activation is not valid"));
    }
    if (get_bool(c, "return_state", NULL, 0) || get_bool(c, "stateful", NULL, 0) ||
        get_bool(c, "time_major", NULL, 0))
        r->cannot_run = "return_state, stateful and time_major are not supported";
    if (strcmp(cls, "CuDNNLSTM") == 0)
        r->cannot_run = "CuDNNLSTM biases are not supported";
    return TLR_OK;
}

static tlr_status parse_bidirectional(parser *P, tlr_layer *l)
{
    const tlr_json *inner = tlr_json_get(l->config, "layer");
    const char *cls = tlr_json_get_string(inner, "class_name", "");
    const tlr_json *ic = tlr_json_get(inner, "config");
    if (!ic)
        return bad_value(P, l->name, "layer");
    const tlr_json *mm = tlr_json_get(l->config, "merge_mode");
    const char *mode = tlr_json_is_null(mm) && mm ? "none" : tlr_json_string(mm, "concat");
    static const struct { const char *name; int merge; } modes[] = {
        { "concat", TLR_BIDI_CONCAT }, { "sum", TLR_BIDI_SUM }, { "mul", TLR_BIDI_MUL },
        { "ave", TLR_BIDI_AVE }, { "none", -1 },
    };
    l->cfg.rnn.merge = -2;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(mode, modes[i].name) == 0)
            l->cfg.rnn.merge = modes[i].merge;
    if (l->cfg.rnn.merge == -2)
        return bad_value(P, l->name, "merge_mode");
    l->cfg.rnn.merge_concat = l->cfg.rnn.merge == TLR_BIDI_CONCAT;
    tlr_status st = parse_rnn_cfg(P, l, cls, ic, &l->rnn_inner);
    const tlr_json *back = tlr_json_get(l->config, "backward_layer");
    if (!st && back) {
        st = parse_rnn_cfg(P, l, tlr_json_get_string(back, "class_name", ""),
                           tlr_json_get(back, "config"), &l->rnn_backward);
        l->has_backward = 1;
        /* concat joins directions of any widths; the other merges add them up */
        if (!st && l->rnn_backward.return_sequences != l->rnn_inner.return_sequences)
            l->rnn_inner.cannot_run = "its two directions differ in return_sequences";
        else if (!st && l->rnn_backward.units != l->rnn_inner.units && !l->cfg.rnn.merge_concat)
            l->rnn_inner.cannot_run = "its two directions differ in units, so they cannot be "
                                      "summed, multiplied or averaged";
    }
    l->cfg.rnn.units = l->rnn_inner.units;
    l->cfg.rnn.return_sequences = l->rnn_inner.return_sequences;
    l->cfg.rnn.cannot_run = l->cfg.rnn.merge < 0 ? "merge_mode None (two outputs) is not supported"
                          : l->rnn_inner.cannot_run ? l->rnn_inner.cannot_run
                          : l->has_backward ? l->rnn_backward.cannot_run : NULL;
    return st;
}

/* ---- class table --------------------------------------------------------------------------- */

typedef struct {
    const char *cls;
    tlr_op op;
} class_entry;

static const class_entry classes[] = {
    { "InputLayer", TLR_OP_INPUT },
    { "Conv2D", TLR_OP_CONV }, { "Convolution2D", TLR_OP_CONV },
    { "AtrousConvolution2D", TLR_OP_CONV },
    { "Conv1D", TLR_OP_CONV }, { "Convolution1D", TLR_OP_CONV },
    { "AtrousConvolution1D", TLR_OP_CONV },
    { "DepthwiseConv2D", TLR_OP_DEPTHWISE_CONV },
    { "SeparableConv2D", TLR_OP_SEPARABLE_CONV }, { "SeparableConvolution2D", TLR_OP_SEPARABLE_CONV },
    { "Conv2DTranspose", TLR_OP_CONV_TRANSPOSE }, { "Deconvolution2D", TLR_OP_CONV_TRANSPOSE },
    { "Dense", TLR_OP_DENSE },
    { "BatchNormalization", TLR_OP_BATCHNORM },
    { "Activation", TLR_OP_ACTIVATION }, { "LeakyReLU", TLR_OP_ACTIVATION },
    { "ELU", TLR_OP_ACTIVATION }, { "Softmax", TLR_OP_ACTIVATION },
    { "ThresholdedReLU", TLR_OP_ACTIVATION },
    { "ReLU", TLR_OP_RELU }, { "PReLU", TLR_OP_PRELU },
    { "MaxPooling2D", TLR_OP_MAXPOOL }, { "MaxPool2D", TLR_OP_MAXPOOL },
    { "MaxPooling1D", TLR_OP_MAXPOOL }, { "MaxPool1D", TLR_OP_MAXPOOL },
    { "AveragePooling2D", TLR_OP_AVGPOOL }, { "AvgPool2D", TLR_OP_AVGPOOL },
    { "AveragePooling1D", TLR_OP_AVGPOOL }, { "AvgPool1D", TLR_OP_AVGPOOL },
    { "GlobalAveragePooling2D", TLR_OP_GLOBAL_AVGPOOL }, { "GlobalAvgPool2D", TLR_OP_GLOBAL_AVGPOOL },
    { "GlobalAveragePooling1D", TLR_OP_GLOBAL_AVGPOOL }, { "GlobalAvgPool1D", TLR_OP_GLOBAL_AVGPOOL },
    { "GlobalMaxPooling2D", TLR_OP_GLOBAL_MAXPOOL }, { "GlobalMaxPool2D", TLR_OP_GLOBAL_MAXPOOL },
    { "GlobalMaxPooling1D", TLR_OP_GLOBAL_MAXPOOL }, { "GlobalMaxPool1D", TLR_OP_GLOBAL_MAXPOOL },
    { "ZeroPadding2D", TLR_OP_ZEROPAD }, { "ZeroPadding1D", TLR_OP_ZEROPAD },
    { "Cropping2D", TLR_OP_CROPPING }, { "Cropping1D", TLR_OP_CROPPING },
    { "UpSampling2D", TLR_OP_UPSAMPLING }, { "UpSampling1D", TLR_OP_UPSAMPLING },
    { "Flatten", TLR_OP_FLATTEN },
    { "Reshape", TLR_OP_RESHAPE },
    { "Permute", TLR_OP_PERMUTE },
    { "Dropout", TLR_OP_IDENTITY }, { "SpatialDropout1D", TLR_OP_IDENTITY },
    { "SpatialDropout2D", TLR_OP_IDENTITY }, { "GaussianNoise", TLR_OP_IDENTITY },
    { "GaussianDropout", TLR_OP_IDENTITY }, { "AlphaDropout", TLR_OP_IDENTITY },
    { "ActivityRegularization", TLR_OP_IDENTITY }, { "Masking", TLR_OP_IDENTITY },
    { "RandomFlip", TLR_OP_IDENTITY }, { "RandomRotation", TLR_OP_IDENTITY },
    { "RandomZoom", TLR_OP_IDENTITY }, { "RandomTranslation", TLR_OP_IDENTITY },
    { "RandomContrast", TLR_OP_IDENTITY }, { "RandomBrightness", TLR_OP_IDENTITY },
    { "RandomCrop", TLR_OP_IDENTITY }, { "RandomHeight", TLR_OP_IDENTITY },
    { "RandomWidth", TLR_OP_IDENTITY },
    { "Add", TLR_OP_MERGE }, { "Subtract", TLR_OP_MERGE }, { "Multiply", TLR_OP_MERGE },
    { "Average", TLR_OP_MERGE }, { "Maximum", TLR_OP_MERGE }, { "Minimum", TLR_OP_MERGE },
    { "Concatenate", TLR_OP_CONCAT },
    { "Merge", TLR_OP_MERGE },
    { "Rescaling", TLR_OP_RESCALING },
    { "Normalization", TLR_OP_NORMALIZATION },
    { "Resizing", TLR_OP_RESIZING },
    { "RepeatVector", TLR_OP_REPEAT_VECTOR },
    { "Embedding", TLR_OP_EMBEDDING },
    { "SimpleRNN", TLR_OP_RNN }, { "GRU", TLR_OP_RNN }, { "LSTM", TLR_OP_RNN },
    { "CuDNNGRU", TLR_OP_RNN }, { "CuDNNLSTM", TLR_OP_RNN },
    { "Bidirectional", TLR_OP_BIDIRECTIONAL },
    { "Lambda", TLR_OP_LAMBDA },
    { "Sequential", TLR_OP_MODEL }, { "Functional", TLR_OP_MODEL }, { "Model", TLR_OP_MODEL },
};

static tlr_op class_op(const char *cls)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(cls, classes[i].cls) == 0)
            return classes[i].op;
    return TLR_OP_UNKNOWN;
}

static tlr_status parse_layer_settings(parser *P, tlr_layer *l)
{
    const char *cls = l->class_name;
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        return parse_conv(P, l, cls);
    case TLR_OP_DENSE: return parse_dense(P, l);
    case TLR_OP_MAXPOOL: case TLR_OP_AVGPOOL: case TLR_OP_GLOBAL_AVGPOOL:
    case TLR_OP_GLOBAL_MAXPOOL:
        return parse_pool(P, l, cls);
    case TLR_OP_BATCHNORM: return parse_batchnorm(P, l);
    case TLR_OP_ACTIVATION: return parse_act_layer(P, l, cls);
    case TLR_OP_RELU: return parse_relu(P, l);
    case TLR_OP_ZEROPAD: case TLR_OP_CROPPING: return parse_pad_or_crop(P, l, cls);
    case TLR_OP_UPSAMPLING: return parse_upsampling(P, l, cls);
    case TLR_OP_RESHAPE: return parse_reshape(P, l);
    case TLR_OP_PERMUTE: return parse_permute(P, l);
    case TLR_OP_MERGE: case TLR_OP_CONCAT: return parse_merge(P, l, cls);
    case TLR_OP_RESCALING: return parse_rescaling(P, l);
    case TLR_OP_NORMALIZATION: return parse_normalization(P, l);
    case TLR_OP_RESIZING: return parse_resizing(P, l);
    case TLR_OP_IDENTITY:
        if (strcmp(cls, "RandomCrop") == 0)
            parse_random_crop(l);
        return TLR_OK;
    case TLR_OP_FLATTEN: /* Keras's own spelling only, as Flatten always read it */
        l->cfg.flatten.channels_first =
            strcmp(tlr_json_get_string(l->config, "data_format", "channels_last"),
                   "channels_first") == 0;
        return TLR_OK;
    case TLR_OP_RNN: return parse_rnn_cfg(P, l, cls, l->config, &l->cfg.rnn);
    case TLR_OP_BIDIRECTIONAL: return parse_bidirectional(P, l);
    case TLR_OP_EMBEDDING:
        l->cfg.embed.mask_zero = get_bool(l->config, "mask_zero", NULL, 0);
        return get_int(P, l->name, l->config, "input_dim", NULL, &l->cfg.embed.input_dim, 0, 1)
            ? P->err->code
            : get_int(P, l->name, l->config, "output_dim", NULL, &l->cfg.embed.output_dim, 0, 1);
    case TLR_OP_REPEAT_VECTOR:
        return get_int(P, l->name, l->config, "n", NULL, &l->cfg.repeat_n, 1, 1);
    default:
        return TLR_OK;
    }
}

/* ---- input shapes -------------------------------------------------------------------------- */

/* Shape declared on a layer (batch_input_shape / batch_shape / input_shape / input_dim).
 * Returns 1 when found. */
static int declared_input(const tlr_json *c, tlr_shape *out, int *bad)
{
    const tlr_json *v = member(c, "batch_input_shape", "batch_shape");
    int64_t *shape = out->d;
    int with_batch = 1;
    if (!v || tlr_json_is_null(v)) {
        v = tlr_json_get(c, "input_shape");
        with_batch = 0;
    }
    *bad = 0;
    if (tlr_json_is_array(v)) {
        int n = 0;
        if (!with_batch)
            shape[n++] = -1;
        if (tlr_json_size(v) + (size_t)n > 8) {
            *bad = 1;
            return 0;
        }
        for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e)) {
            double d = tlr_json_is_null(e) ? -1 : tlr_json_number(e, -2e12);
            if (d < -1e12 || d > 1e12 || d != floor(d)) {
                *bad = 1;
                return 0;
            }
            /* None (-1) or a positive size: zero or negative dims are refused (bad = 2) */
            if (d < 1 && d != -1 && !(with_batch && n == 0))
                *bad = 2;
            shape[n++] = (int64_t)d;
        }
        if (with_batch && n > 0)
            shape[0] = -1; /* the batch is always shown as None */
        out->ndim = n;
        return *bad ? 0 : 1;
    }
    /* Keras 1 Dense(input_dim=...), Embedding(input_length=...). */
    const tlr_json *dim = tlr_json_get(c, "input_dim");
    if (tlr_json_is_number(dim) && !tlr_json_get(c, "output_dim")) {
        shape[0] = -1;
        shape[1] = tlr_json_int(dim, 0);
        if (shape[1] < 1) {
            *bad = 1;
            return 0;
        }
        out->ndim = 2;
        return 1;
    }
    return 0;
}

/* ---- inbound nodes ------------------------------------------------------------------------- */

/* A named reference before resolution. */
typedef struct {
    char *layer;
    int node, tensor;
    int dict_form;   /* from a Keras 3 keras_history: the node index as Keras ran it */
} raw_ref;

typedef struct {
    raw_ref *refs;
    int n, cap;
} raw_refs;

static void refs_push(raw_refs *r, const char *name, int node, int tensor, int dict_form)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->refs = tlr_xrealloc(r->refs, (size_t)r->cap * sizeof *r->refs);
    }
    r->refs[r->n].layer = tlr_xstrdup(name);
    r->refs[r->n].node = node;
    r->refs[r->n].tensor = tensor;
    r->refs[r->n].dict_form = dict_form;
    r->n++;
}

static void refs_free(raw_refs *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->refs[i].layer);
    free(r->refs);
    r->refs = NULL;
    r->n = r->cap = 0;
}

/* [name, node, tensor] with a string and two numbers. */
static int is_ref_triple(const tlr_json *v)
{
    return tlr_json_is_array(v) && tlr_json_size(v) == 3 && tlr_json_is_string(tlr_json_at(v, 0)) &&
           tlr_json_is_number(tlr_json_at(v, 1)) && tlr_json_is_number(tlr_json_at(v, 2));
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(tlr_json_key(*(const tlr_json *const *)a),
                  tlr_json_key(*(const tlr_json *const *)b));
}

/* Every tensor reference in a serialised structure, in the order Keras's tree.flatten gives:
 * lists in order, dicts by sorted key.  A __keras_tensor__ object is a reference (its
 * keras_history); with 'triples' (model inputs and outputs) so is a [name, node, tensor]
 * list.  __tuple__ wrappers are walked; other serialised objects, strings, numbers are
 * constants.  Returns 0, or -1 when malformed. */
static int collect_refs(const tlr_json *v, int triples, raw_refs *out, int depth)
{
    if (depth > 16)
        return -1;
    if (tlr_json_is_array(v)) {
        if (triples && tlr_json_is_string(tlr_json_first(v))) {
            if (!is_ref_triple(v))
                return -1;
            refs_push(out, tlr_json_string(tlr_json_at(v, 0), ""),
                      tlr_json_int(tlr_json_at(v, 1), 0), tlr_json_int(tlr_json_at(v, 2), 0), 0);
            return 0;
        }
        for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e))
            if (collect_refs(e, triples, out, depth + 1))
                return -1;
        return 0;
    }
    if (!tlr_json_is_object(v))
        return 0;
    const char *cls = tlr_json_get_string(v, "class_name", NULL);
    const tlr_json *cfg = tlr_json_get(v, "config");
    if (cls && strcmp(cls, "__keras_tensor__") == 0) {
        const tlr_json *h = tlr_json_get(cfg, "keras_history");
        if (!is_ref_triple(h))
            return -1;
        refs_push(out, tlr_json_string(tlr_json_at(h, 0), ""), tlr_json_int(tlr_json_at(h, 1), 0),
                  tlr_json_int(tlr_json_at(h, 2), 0), 1);
        return 0;
    }
    if (cls && strcmp(cls, "__tuple__") == 0) {
        /* tf.keras json_utils: {"items": [...]}; {"config": {"value": [...]}} otherwise */
        const tlr_json *items = tlr_json_get(v, "items");
        return collect_refs(items ? items : tlr_json_get(cfg, "value"), triples, out, depth + 1);
    }
    if (cls && cfg)
        return 0; /* a serialised object (__numpy__, __tensor__, ...): a constant */
    /* a plain dict of tensors, as a model with named inputs is called */
    size_t n = tlr_json_size(v);
    const tlr_json **kids = tlr_xcalloc(n + 1, sizeof *kids);
    size_t k = 0;
    for (const tlr_json *e = tlr_json_first(v); e && k < n; e = tlr_json_next(e))
        kids[k++] = e;
    qsort(kids, k, sizeof *kids, cmp_keys);
    int st = 0;
    for (size_t i = 0; i < k && !st; i++)
        st = collect_refs(kids[i], triples, out, depth + 1);
    free(kids);
    return st;
}

/* 1 when 'v' holds a tensor reference (in 'triples' form or as a keras_history). */
static int holds_refs(const tlr_json *v, int triples)
{
    raw_refs r = { 0 };
    int found = collect_refs(v, triples, &r, 0) == 0 && r.n > 0;
    refs_free(&r);
    return found;
}

/* For a Keras 3 node whose args hold no tensor (layer(inputs=x)): the keyword argument that
 * carries the inputs, "inputs" or else the first one holding a tensor; NULL when none does. */
static const tlr_json *inputs_kwarg(const tlr_json *node)
{
    const tlr_json *kw = tlr_json_get(node, "kwargs");
    const tlr_json *named = tlr_json_get(kw, "inputs");
    if (named && holds_refs(named, 0))
        return named;
    for (const tlr_json *e = tlr_json_first(kw); e; e = tlr_json_next(e))
        if (holds_refs(e, 0))
            return e;
    return NULL;
}

/* One inbound node in any dialect into a list of references.  Returns 0 on success. */
static int parse_node(const tlr_json *node, raw_refs *out)
{
    if (tlr_json_is_object(node)) {
        /* Keras 3: {"args": [...], "kwargs": {...}}; a layer called as layer(inputs=x) has its
         * tensors in one keyword argument (other kwargs tensors, such as a mask, are not
         * inputs: kwarg_tensor flags them) */
        if (collect_refs(tlr_json_get(node, "args"), 0, out, 0))
            return -1;
        const tlr_json *in = out->n ? NULL : inputs_kwarg(node);
        return in ? collect_refs(in, 0, out, 0) : 0;
    }
    if (!tlr_json_is_array(node))
        return -1;
    /* Keras 1/2: [[name, node, tensor(, kwargs)], ...]; a single flat triple also occurs. */
    const tlr_json *first = tlr_json_first(node);
    if (tlr_json_is_string(first)) {
        refs_push(out, tlr_json_string(first, ""), tlr_json_int(tlr_json_at(node, 1), 0),
                  tlr_json_int(tlr_json_at(node, 2), 0), 0);
        return 0;
    }
    for (const tlr_json *e = first; e; e = tlr_json_next(e)) {
        if (!tlr_json_is_array(e) || tlr_json_size(e) < 3 || !tlr_json_is_string(tlr_json_at(e, 0)) ||
            !tlr_json_is_number(tlr_json_at(e, 1)) || !tlr_json_is_number(tlr_json_at(e, 2)))
            return -1;
        refs_push(out, tlr_json_string(tlr_json_at(e, 0), ""),
                  tlr_json_int(tlr_json_at(e, 1), 0),
                  tlr_json_int(tlr_json_at(e, 2), 0), 0);
    }
    return 0;
}

/* The name of a keyword argument that passes a tensor besides the inputs (initial_state,
 * mask, constants), or NULL.  Such a tensor changes what the layer computes, and tlreport
 * does not feed it in. */
static const char *kwarg_tensor(const tlr_json *node)
{
    const tlr_json *kw = NULL, *inputs = NULL;
    int triples = 1;
    if (tlr_json_is_object(node)) {
        if (!holds_refs(tlr_json_get(node, "args"), 0))
            inputs = inputs_kwarg(node); /* layer(inputs=x): that one is no extra */
        kw = tlr_json_get(node, "kwargs");
        triples = 0;
    } else if (tlr_json_is_array(node)) {
        for (const tlr_json *e = tlr_json_first(node); e && !kw; e = tlr_json_next(e))
            if (tlr_json_is_array(e) && tlr_json_is_object(tlr_json_at(e, 3)))
                kw = tlr_json_at(e, 3);
    }
    if (!tlr_json_is_object(kw))
        return NULL;
    for (const tlr_json *e = tlr_json_first(kw); e; e = tlr_json_next(e))
        if (e != inputs && holds_refs(e, triples))
            return tlr_json_key(e);
    return NULL;
}

/* Keras 1 and 2 serialise a nested graph model's calls counting from 1 in list-form
 * references, because such a model starts with a node of its own ("kept_nodes = 1" for
 * Containers/Networks, _should_skip_first_node in tf.keras).  Keras 3 keras_history entries
 * hold the node index as it ran and are never shifted; its list-form references (model
 * inputs and outputs) count from 1 for a Functional only: a Keras 3 Sequential is not a
 * Functional and has no node of its own (functional.py, get_config / functional_from_config). */
static int skips_first_node(const tlr_layer *l, const tlr_config_ctx *ctx)
{
    if (l->op != TLR_OP_MODEL || !l->inner)
        return 0;
    if (l->inner->is_sequential)
        return ctx->keras_major < 3 && l->inner->n_layers > 0 &&
               l->inner->layers[0].op == TLR_OP_INPUT;
    return 1;
}

static tlr_status resolve_ref(parser *P, tlr_model *m, const char *user, const raw_ref *r,
                              tlr_ref *out)
{
    int li = tlr_model_find(m, r->layer);
    if (li < 0)
        return tlr_err_set(P->err, TLR_E_FORMAT,
                           "%s: layer '%s' takes its input from '%s', which is not in the model",
                           P->ctx->what, user, r->layer);
    const tlr_layer *src = &m->layers[li];
    int node = r->node;
    if (!r->dict_form && src->op != TLR_OP_INPUT && skips_first_node(src, P->ctx) && node >= 1)
        node -= 1;
    if (src->op == TLR_OP_INPUT && node != 0)
        node = -1; /* an InputLayer has exactly one node */
    /* A layer with no inbound nodes has no call to take an output from. */
    if (node < 0 || node >= src->n_calls || r->tensor < 0 || r->tensor >= TLR_MAX_OUTPUTS)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s' takes input %s[%d][%d], but "
                           "layer '%s' has no such node or tensor", P->ctx->what, user, r->layer,
                           r->node, r->tensor, r->layer);
    out->layer = li;
    out->call = node;
    out->tensor = r->tensor;
    out->node = r->node;
    return TLR_OK;
}

/* ---- layers and models --------------------------------------------------------------------- */

static const char *layer_name_of(const tlr_json *entry, const tlr_json *cfg)
{
    const char *n = tlr_json_get_string(cfg, "name", NULL);
    return n ? n : tlr_json_get_string(entry, "name", NULL);
}

/* A Lambda whose bytecode is plain arithmetic of x runs as that formula (shape.c checks that
 * a declared output_shape keeps the input's shape). */
static void recover_lambda(tlr_layer *l)
{
    const char *type = tlr_json_get_string(l->config, "function_type", "lambda");
    if (strcmp(type, "lambda") != 0)
        return;
    char *formula = tlr_pylambda_formula(tlr_json_get(l->config, "function"));
    if (!formula)
        return;
    l->lambda = tlr_expr_compile(formula, NULL);
    l->lambda_recovered = l->lambda != NULL;
    free(formula);
}

static tlr_status parse_layer(parser *P, const tlr_json *entry, tlr_layer *l, int index)
{
    if (!tlr_json_is_object(entry))
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer %d of the config is not an object",
                           P->ctx->what, index);
    const char *cls = tlr_json_get_string(entry, "class_name", NULL);
    const tlr_json *cfg = tlr_json_get(entry, "config");
    if (!cls)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer %d of the config has no class_name",
                           P->ctx->what, index);
    const char *name = layer_name_of(entry, cfg);
    l->name = name ? tlr_xstrdup(name) : tlr_xasprintf("layer_%d", index);
    l->class_name = tlr_xstrdup(cls);
    l->config = cfg;
    l->trainable = tlr_json_get_bool(cfg, "trainable", 1);
    l->params = -1;
    l->op = class_op(cls);
    if (cfg && !tlr_json_is_object(cfg) && !(l->op == TLR_OP_MODEL && tlr_json_is_array(cfg)))
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': config is not an object",
                           P->ctx->what, l->name);
    if (l->op == TLR_OP_MODEL) {
        /* Subclassed models serialise as a model class with no layers: treat as unknown. */
        if (!tlr_json_is_array(cfg) && !tlr_json_is_array(tlr_json_get(cfg, "layers"))) {
            l->op = TLR_OP_UNKNOWN;
            return TLR_OK;
        }
        l->inner = parse_model(P, cls, cfg, l->name);
        if (!l->inner)
            return P->err->code;
        if (l->inner->n_outputs > TLR_MAX_OUTPUTS)
            return tlr_err_set(P->err, TLR_E_UNSUPPORTED, "%s: nested model '%s' has %d outputs "
                               "(tlreport handles up to %d)", P->ctx->what, l->name,
                               l->inner->n_outputs, TLR_MAX_OUTPUTS);
        l->trainable = l->inner->trainable;
        return TLR_OK;
    }
    int bad = 0;
    if (cfg && declared_input(cfg, &l->input_shape, &bad) == 0 && bad == 2) {
        char buf[200];
        size_t k = (size_t)snprintf(buf, sizeof buf, "(None");
        for (int i = 1; i < l->input_shape.ndim && k < sizeof buf; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, ", %lld",
                                  (long long)l->input_shape.d[i]);
        return tlr_err_set(P->err, TLR_E_SHAPE, "%s: layer '%s': batch_input_shape %s) has a "
                           "dimension below 1", P->ctx->what, l->name, buf);
    }
    if (bad)
        return bad_value(P, l->name, "batch_input_shape");
    if (l->op == TLR_OP_INPUT && l->input_shape.ndim == 0)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: input layer '%s' has no shape",
                           P->ctx->what, l->name);
    if (l->op == TLR_OP_LAMBDA)
        recover_lambda(l);
    if (l->op == TLR_OP_UNKNOWN || !cfg)
        return TLR_OK;
    return parse_layer_settings(P, l);
}

static void add_call(tlr_layer *l, int n_in)
{
    l->calls = tlr_xrealloc(l->calls, (size_t)(l->n_calls + 1) * sizeof *l->calls);
    tlr_call *c = &l->calls[l->n_calls++];
    memset(c, 0, sizeof *c);
    c->n_in = n_in;
    c->in = n_in ? tlr_xcalloc((size_t)n_in, sizeof *c->in) : NULL;
}

/* Sequential: each layer consumes the previous one; an implicit InputLayer is created from
 * the first layer's declared shape, as Keras does. */
static tlr_status link_sequential(parser *P, tlr_model *m)
{
    if (m->n_layers == 0)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s' has no layers", P->ctx->what, m->name);
    if (m->layers[0].op != TLR_OP_INPUT) {
        tlr_layer *first = &m->layers[0];
        tlr_shape shape = first->input_shape;
        if (!shape.ndim && first->op == TLR_OP_MODEL && first->inner->n_inputs)
            shape = first->inner->layers[first->inner->inputs[0].layer].input_shape;
        if (shape.ndim) {
            /* Insert the implicit InputLayer at the front. */
            m->layers = tlr_xrealloc(m->layers, (size_t)(m->n_layers + 1) * sizeof *m->layers);
            memmove(m->layers + 1, m->layers, (size_t)m->n_layers * sizeof *m->layers);
            tlr_layer *in = &m->layers[0];
            memset(in, 0, sizeof *in);
            in->name = tlr_xasprintf("%s_input", m->layers[1].name);
            in->class_name = tlr_xstrdup("InputLayer");
            in->op = TLR_OP_INPUT;
            in->trainable = 1;
            in->params = -1;
            in->input_shape = shape;
            in->config = NULL;
            m->n_layers++;
        }
    }
    if (m->layers[0].op != TLR_OP_INPUT)
        return tlr_err_set(P->err, TLR_E_UNSUPPORTED, "%s: model '%s' does not declare its input "
                           "shape (first layer '%s' has no input_shape)", P->ctx->what, m->name,
                           m->layers[0].name);
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        if (i > 0 && l->op == TLR_OP_INPUT)
            return tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': input layer '%s' in the "
                               "middle of a Sequential", P->ctx->what, m->name, l->name);
        add_call(l, i == 0 ? 0 : 1);
        if (i > 0)
            l->calls[0].in[0] = (tlr_ref){ i - 1, 0, 0, 0 };
    }
    m->inputs = tlr_xcalloc(1, sizeof *m->inputs);
    m->n_inputs = 1;
    m->outputs = tlr_xcalloc(1, sizeof *m->outputs);
    m->outputs[0] = (tlr_ref){ m->n_layers - 1, 0, 0, 0 };
    m->n_outputs = 1;
    return TLR_OK;
}

/* "input_layers" / "output_layers": any structure Keras's Functional.get_config maps the
 * model's inputs to: [[name, node, tensor], ...], a single [name, node, tensor] (one tensor),
 * a dict {key: [name, node, tensor]} (named inputs; flattened by sorted key, as Keras orders
 * them), or lists and dicts nested. */
static tlr_status parse_endpoints(parser *P, tlr_model *m, const tlr_json *v, const char *key,
                                  tlr_ref **out, int *n)
{
    raw_refs raw = { 0 };
    tlr_status st = TLR_OK;
    if ((!tlr_json_is_array(v) && !tlr_json_is_object(v)) || collect_refs(v, 1, &raw, 0) ||
        raw.n == 0) {
        st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': '%s' is missing or invalid",
                         P->ctx->what, m->name, key);
        goto out;
    }
    *out = tlr_xcalloc((size_t)raw.n, sizeof **out);
    *n = raw.n;
    for (int i = 0; i < raw.n && !st; i++)
        st = resolve_ref(P, m, m->name, &raw.refs[i], &(*out)[i]);
out:
    refs_free(&raw);
    return st;
}

static tlr_status link_functional(parser *P, tlr_model *m, const tlr_json *layers_json,
                                  const tlr_json *cfg)
{
    /* First create every call (so forward references resolve), then resolve refs. */
    size_t n_nodes = 0;
    for (const tlr_json *e = tlr_json_first(layers_json); e; e = tlr_json_next(e))
        n_nodes += tlr_json_size(tlr_json_get(e, "inbound_nodes"));
    raw_refs *pending = tlr_xcalloc(n_nodes + 1, sizeof *pending);
    int *pending_layer = tlr_xcalloc(n_nodes + 1, sizeof *pending_layer);
    int n_pending = 0;
    tlr_status st = TLR_OK;
    int i = 0;
    for (const tlr_json *e = tlr_json_first(layers_json); e && !st; e = tlr_json_next(e), i++) {
        tlr_layer *l = &m->layers[i];
        const tlr_json *nodes = tlr_json_get(e, "inbound_nodes");
        if (l->op == TLR_OP_INPUT) {
            add_call(l, 0);
            continue;
        }
        if (nodes && !tlr_json_is_array(nodes)) {
            st = bad_value(P, l->name, "inbound_nodes");
            break;
        }
        if (tlr_json_size(nodes) > 64) {
            st = tlr_err_set(P->err, TLR_E_LIMIT, "%s: layer '%s' is called %zu times (limit 64)",
                             P->ctx->what, l->name, tlr_json_size(nodes));
            break;
        }
        for (const tlr_json *nd = tlr_json_first(nodes); nd; nd = tlr_json_next(nd)) {
            raw_refs *r = &pending[n_pending];
            if (parse_node(nd, r) || r->n == 0) {
                st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': inbound node is invalid",
                                 P->ctx->what, l->name);
                refs_free(r);
                break;
            }
            if (r->n > TLR_MAX_CALL_INPUTS) {
                st = tlr_err_set(P->err, TLR_E_LIMIT, "%s: layer '%s' takes %d inputs (tlreport "
                                 "handles up to %d)", P->ctx->what, l->name, r->n,
                                 TLR_MAX_CALL_INPUTS);
                refs_free(r);
                break;
            }
            const char *kw = kwarg_tensor(nd);
            if (kw && !l->cannot_run)
                l->cannot_run = tlr_xasprintf("the tensor passed as '%s' is not fed in by "
                                              "tlreport", kw);
            pending_layer[n_pending++] = i;
            add_call(l, r->n);
        }
    }
    int *next_call = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *next_call);
    for (int k = 0; k < n_pending && !st; k++) {
        tlr_layer *l = &m->layers[pending_layer[k]];
        tlr_call *c = &l->calls[next_call[pending_layer[k]]++];
        for (int j = 0; j < pending[k].n && !st; j++)
            st = resolve_ref(P, m, l->name, &pending[k].refs[j], &c->in[j]);
    }
    for (int k = 0; k < n_pending; k++)
        refs_free(&pending[k]);
    free(pending);
    free(pending_layer);
    free(next_call);
    if (st)
        return st;
    if ((st = parse_endpoints(P, m, tlr_json_get(cfg, "input_layers"), "input_layers", &m->inputs,
                              &m->n_inputs)))
        return st;
    return parse_endpoints(P, m, tlr_json_get(cfg, "output_layers"), "output_layers", &m->outputs,
                           &m->n_outputs);
}

/* ---- masking ------------------------------------------------------------------------------ */

/* A layer whose output carries a Keras mask: Masking, Embedding(mask_zero=True), or a nested
 * model holding one (its outputs may carry the mask out). */
static int mask_source(const tlr_layer *l)
{
    if (strcmp(l->class_name, "Masking") == 0 ||
        (l->op == TLR_OP_EMBEDDING && l->cfg.embed.mask_zero))
        return 1;
    if (l->op == TLR_OP_MODEL)
        for (int i = 0; i < l->inner->n_layers; i++)
            if (mask_source(&l->inner->layers[i]))
                return 1;
    return 0;
}

/* Keras passes the mask downstream to layers that use it: recurrent layers skip masked time
 * steps and GlobalAveragePooling1D averages over the unmasked steps only.  The engine has no
 * masks, so those layers are not run when a mask may reach them: anything downstream of a
 * mask source (in the graph, through nested models), counted generously since some layers
 * drop the mask.  'masked_inputs': the model is called on masked tensors. */
static void mark_masked(tlr_model *m, int masked_inputs)
{
    int *masked = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *masked);
    for (int k = 0; k < m->n_order; k++) {
        int i = m->order[k];
        tlr_layer *l = &m->layers[i];
        int in = l->op == TLR_OP_INPUT && masked_inputs;
        for (int c = 0; c < l->n_calls; c++)
            for (int j = 0; j < l->calls[c].n_in; j++)
                in |= masked[l->calls[c].in[j].layer];
        if (l->op == TLR_OP_MODEL)
            mark_masked(l->inner, in);
        if (in && (l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL))
            l->cfg.rnn.cannot_run = "input masking (mask_zero, Masking) is not supported";
        if (in && l->op == TLR_OP_GLOBAL_AVGPOOL && l->cfg.pool.rank == 1)
            set_cannot_run(l, tlr_xstrdup("its input is masked (Masking or mask_zero) and Keras "
                                          "averages only the unmasked steps, which is not "
                                          "supported"));
        masked[i] = in || mask_source(l);
    }
    free(masked);
}

static int check_unique_names(parser *P, tlr_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        for (int j = i + 1; j < m->n_layers; j++)
            if (strcmp(m->layers[i].name, m->layers[j].name) == 0) {
                tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s' has two layers named '%s'",
                            P->ctx->what, m->name, m->layers[i].name);
                return -1;
            }
    return 0;
}

static tlr_status topo_sort(parser *P, tlr_model *m);

static tlr_model *parse_model(parser *P, const char *class_name, const tlr_json *cfg,
                              const char *fallback_name)
{
    if (++P->depth > MAX_NEST) {
        tlr_err_set(P->err, TLR_E_LIMIT, "%s: models nested more than %d deep", P->ctx->what,
                    MAX_NEST);
        P->depth--;
        return NULL;
    }
    tlr_model *m = tlr_xcalloc(1, sizeof *m);
    m->class_name = tlr_xstrdup(class_name);
    m->is_sequential = strcmp(class_name, "Sequential") == 0 || tlr_json_is_array(cfg);
    const tlr_json *layers = tlr_json_is_array(cfg) ? cfg : tlr_json_get(cfg, "layers");
    const char *name = tlr_json_is_object(cfg) ? tlr_json_get_string(cfg, "name", NULL) : NULL;
    m->name = tlr_xstrdup(name ? name : fallback_name);
    m->trainable = tlr_json_is_object(cfg) ? tlr_json_get_bool(cfg, "trainable", 1) : 1;
    tlr_status st = TLR_OK;
    if (!tlr_json_is_array(layers)) {
        st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': 'layers' is not a list (it is %s)",
                         P->ctx->what, m->name, json_kind(layers));
        goto out;
    }
    if (tlr_json_size(layers) > 100000) {
        st = tlr_err_set(P->err, TLR_E_LIMIT, "%s: model '%s' has too many layers", P->ctx->what,
                         m->name);
        goto out;
    }
    m->n_layers = (int)tlr_json_size(layers);
    m->layers = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *m->layers);
    int i = 0;
    for (const tlr_json *e = tlr_json_first(layers); e && !st; e = tlr_json_next(e), i++)
        st = parse_layer(P, e, &m->layers[i], i);
    if (st)
        goto out;
    if (check_unique_names(P, m)) {
        st = P->err->code;
        goto out;
    }
    st = m->is_sequential ? link_sequential(P, m) : link_functional(P, m, layers, cfg);
    if (!st)
        st = topo_sort(P, m);
out:
    P->depth--;
    if (st) {
        tlr_model_free(m);
        return NULL;
    }
    return m;
}

/* Kahn's algorithm over layers (a layer runs once all layers feeding any of its calls ran);
 * ties keep config order, which is Keras's depth order. */
static tlr_status topo_sort(parser *P, tlr_model *m)
{
    int n = m->n_layers;
    int *indeg = tlr_xcalloc((size_t)n + 1, sizeof *indeg);
    int *done = tlr_xcalloc((size_t)n + 1, sizeof *done);
    m->order = tlr_xcalloc((size_t)n + 1, sizeof *m->order);
    m->n_order = 0;
    for (int progress = 1; progress && m->n_order < n;) {
        progress = 0;
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            int ready = 1;
            for (int c = 0; c < m->layers[i].n_calls && ready; c++)
                for (int k = 0; k < m->layers[i].calls[c].n_in && ready; k++) {
                    int src = m->layers[i].calls[c].in[k].layer;
                    if (src != i && !done[src])
                        ready = 0;
                    if (src == i)
                        ready = 0;
                }
            if (ready) {
                done[i] = 1;
                m->order[m->n_order++] = i;
                progress = 1;
            }
        }
    }
    tlr_status st = TLR_OK;
    if (m->n_order < n) {
        int bad = 0;
        while (done[bad])
            bad++;
        st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': the layer graph has a cycle "
                         "through layer '%s'", P->ctx->what, m->name, m->layers[bad].name);
    }
    free(indeg);
    free(done);
    return st;
}

tlr_model *tlr_keras_config_parse(const tlr_json *root, const tlr_config_ctx *ctx, tlr_err *err)
{
    parser P = { ctx, err, 0 };
    if (tlr_json_is_array(root)) {
        tlr_model *m = parse_model(&P, "Sequential", root, "sequential");
        if (m)
            mark_masked(m, 0);
        return m;
    }
    if (!tlr_json_is_object(root)) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: model config is not a JSON object", ctx->what);
        return NULL;
    }
    const char *cls = tlr_json_get_string(root, "class_name", NULL);
    const tlr_json *cfg = tlr_json_get(root, "config");
    if (!cls || !cfg) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: model config lacks 'class_name' or 'config'", ctx->what);
        return NULL;
    }
    if (class_op(cls) != TLR_OP_MODEL && !tlr_json_get(cfg, "layers")) {
        tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: model class '%s' has no layer list (a subclassed "
                    "model cannot be read without its Python code)", ctx->what, cls);
        return NULL;
    }
    tlr_model *m = parse_model(&P, cls, cfg, strcmp(cls, "Sequential") == 0 ? "sequential"
                                                                             : "model");
    if (m)
        mark_masked(m, 0);
    return m;
}

tlr_json *tlr_keras_config_unwrap(const tlr_json *j, const char *what, tlr_err *err)
{
    const char *s = tlr_json_string(j, NULL);
    if (!s)
        return NULL;
    return tlr_json_parse(s, strlen(s), what, err);
}
