/* keras_config.c - model_config JSON into a tlr_model graph: the entry points, models and
 * layers.  Settings are normalised (Keras 1 spellings, defaults per version) so later stages
 * see one vocabulary: each class's in keras_config_layers.c; the wiring of calls, inputs and
 * outputs in keras_config_graph.c. */
#include "keras/keras_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "keras/expr.h"
#include "keras/keras_config_parse.h"
#include "keras/pylambda.h"

#define MAX_NEST 32

static tlr_model *parse_model(tlr_kcfg_parser *P, const char *class_name,
                              const tlr_json *cfg, const char *fallback_name);

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

static tlr_status parse_layer(tlr_kcfg_parser *P, const tlr_json *entry, tlr_layer *l,
                              int index)
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
    l->op = tlr_kcfg_class_op(cls);
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
    return tlr_kcfg_layer_settings(P, l);
}


static int check_unique_names(tlr_kcfg_parser *P, tlr_model *m)
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

static tlr_model *parse_model(tlr_kcfg_parser *P, const char *class_name,
                              const tlr_json *cfg, const char *fallback_name)
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
    st = m->is_sequential ? tlr_kcfg_link_sequential(P, m)
                          : tlr_kcfg_link_functional(P, m, layers, cfg);
    if (!st)
        st = tlr_kcfg_topo_sort(P, m);
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

tlr_model *tlr_keras_config_parse(const tlr_json *root, const tlr_config_ctx *ctx, tlr_err *err)
{
    tlr_kcfg_parser P = { ctx, err, 0 };
    if (tlr_json_is_array(root)) {
        tlr_model *m = parse_model(&P, "Sequential", root, "sequential");
        if (m)
            tlr_kcfg_mark_masked(m, 0);
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
    if (tlr_keras_config_subclassed(root)) {
        tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: model class '%s' has no layer list (a subclassed "
                    "model cannot be read without its Python code)", ctx->what, cls);
        return NULL;
    }
    tlr_model *m = parse_model(&P, cls, cfg, strcmp(cls, "Sequential") == 0 ? "sequential"
                                                                             : "model");
    if (m)
        tlr_kcfg_mark_masked(m, 0);
    return m;
}

int tlr_keras_config_subclassed(const tlr_json *root)
{
    const char *cls = tlr_json_get_string(root, "class_name", NULL);
    const tlr_json *cfg = tlr_json_get(root, "config");
    return tlr_json_is_object(root) && cls && cfg && tlr_kcfg_class_op(cls) != TLR_OP_MODEL &&
           !tlr_json_get(cfg, "layers");
}

tlr_json *tlr_keras_config_unwrap(const tlr_json *j, const char *what, tlr_err *err)
{
    const char *s = tlr_json_string(j, NULL);
    if (!s)
        return NULL;
    return tlr_json_parse(s, strlen(s), what, err);
}
