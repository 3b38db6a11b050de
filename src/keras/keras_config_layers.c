/* keras_config_layers.c - each layer class's settings from its config into the layer's
 * typed cfg (model.h), normalised across Keras 1/2/3 spellings: activations, padding,
 * data_format, and one parser per family; the table of classes tlreport knows. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "keras/keras_config_parse.h"
#include "keras/shape.h"

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
static tlr_status parse_activation(tlr_kcfg_parser *P, tlr_layer *l, const tlr_json *v,
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

static tlr_status parse_data_format(tlr_kcfg_parser *P, const char *layer, const tlr_json *cfg,
                                    int *cf)
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

static tlr_status parse_conv(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
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
        int ks = 0, s = 0, d = 0;
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

static tlr_status parse_dense(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_pool(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
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
        int ps = 0, s = 0;
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

static tlr_status parse_batchnorm(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_pad_or_crop(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
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

static tlr_status parse_upsampling(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
{
    tlr_upsample_cfg *u = &l->cfg.up;
    tlr_status st = parse_data_format(P, l->name, l->config, &u->channels_first);
    if (st)
        return st;
    u->rank = strstr(cls, "1D") ? 1 : 2;
    if (u->rank == 1) {
        int s = 0;
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

static tlr_status parse_reshape(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_permute(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_act_layer(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
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

static tlr_status parse_relu(tlr_kcfg_parser *P, tlr_layer *l)
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
static tlr_status parse_keras1_merge(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_merge(tlr_kcfg_parser *P, tlr_layer *l, const char *cls)
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

static tlr_status parse_rescaling(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_normalization(tlr_kcfg_parser *P, tlr_layer *l)
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

static tlr_status parse_resizing(tlr_kcfg_parser *P, tlr_layer *l)
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
static tlr_status parse_rnn_cfg(tlr_kcfg_parser *P, tlr_layer *l, const char *cls,
                                const tlr_json *c, tlr_rnn_cfg *r)
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

static tlr_status parse_bidirectional(tlr_kcfg_parser *P, tlr_layer *l)
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

tlr_op tlr_kcfg_class_op(const char *cls)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(cls, classes[i].cls) == 0)
            return classes[i].op;
    return TLR_OP_UNKNOWN;
}

tlr_status tlr_kcfg_layer_settings(tlr_kcfg_parser *P, tlr_layer *l)
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

