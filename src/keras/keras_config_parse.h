/* keras_config_parse.h - private to the config parser (keras_config.c: models, layers,
 * entry points; keras_config_layers.c: each layer class's settings; keras_config_graph.c:
 * inbound nodes, wiring, masks, order): the parser's state and the small readers of
 * settings they all use. */
#ifndef TLR_KERAS_CONFIG_PARSE_H
#define TLR_KERAS_CONFIG_PARSE_H

#include <math.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/json.h"
#include "keras/keras_config.h"
#include "keras/model.h"

typedef struct {
    const tlr_config_ctx *ctx;
    tlr_err *err;
    int depth;
} tlr_kcfg_parser;

/* ---- small readers of settings (inline: each file uses a few of them) ------------------ */

/* Setting 'a', or else its other spelling 'b' (may be NULL); NULL when neither is there. */
static inline const tlr_json *member(const tlr_json *cfg, const char *a, const char *b)
{
    const tlr_json *v = tlr_json_get(cfg, a);
    if (!v && b)
        v = tlr_json_get(cfg, b);
    return v;
}

/* An int or a list of ints (tuples) into out[n]; a scalar is repeated.  Returns 0 on success. */
static inline int int_tuple(const tlr_json *v, int *out, int n)
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

static inline tlr_status bad_value(tlr_kcfg_parser *P, const char *layer, const char *key)
{
    return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': config '%s' has an invalid value",
                       P->ctx->what, layer, key);
}

static inline const char *json_kind(const tlr_json *v)
{
    return !v ? "missing" : tlr_json_is_number(v) ? "a number" : tlr_json_is_string(v) ? "a string"
         : tlr_json_is_object(v) ? "an object" : tlr_json_is_bool(v) ? "a boolean"
         : tlr_json_is_null(v) ? "null" : "an array";
}

/* Reads an int tuple setting (first of two spellings that is present), default 'dflt'. */
static inline tlr_status get_tuple(tlr_kcfg_parser *P, const char *layer, const tlr_json *cfg,
                                   const char *key, const char *alt, int *out, int n, int dflt)
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

static inline tlr_status get_int(tlr_kcfg_parser *P, const char *layer, const tlr_json *cfg,
                                 const char *key, const char *alt, int *out, int dflt,
                                 int required)
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

static inline int get_bool(const tlr_json *cfg, const char *key, const char *alt, int dflt)
{
    return tlr_json_bool(member(cfg, key, alt), dflt);
}

static inline float get_float(const tlr_json *cfg, const char *key, float dflt)
{
    return (float)tlr_json_number(tlr_json_get(cfg, key), (double)dflt);
}

/* The forward pass cannot compute 'l', but the summary, the layer list and the storage report
 * still describe it: 'why' (owned, taken) becomes its reason; the first reason given wins. */
static inline void set_cannot_run(tlr_layer *l, char *why)
{
    if (l->cannot_run)
        free(why);
    else
        l->cannot_run = why;
}

/* ---- across the parser's files ----------------------------------------------------------- */

/* keras_config_layers.c */

/* The op of a layer class ("Conv2D"), TLR_OP_UNKNOWN for classes tlreport does not know. */
tlr_op tlr_kcfg_class_op(const char *cls);

/* Fills l->cfg (and the layer's cannot_run reason) from its config. */
tlr_status tlr_kcfg_layer_settings(tlr_kcfg_parser *P, tlr_layer *l);

/* keras_config_graph.c */

/* Wires a Sequential's layers one after the other (adding its implicit InputLayer). */
tlr_status tlr_kcfg_link_sequential(tlr_kcfg_parser *P, tlr_model *m);

/* Wires a functional model's layers from their inbound nodes, and its inputs and outputs. */
tlr_status tlr_kcfg_link_functional(tlr_kcfg_parser *P, tlr_model *m,
                                    const tlr_json *layers_json, const tlr_json *cfg);

/* The order the layers run in (m->order); an error names a layer on a cycle. */
tlr_status tlr_kcfg_topo_sort(tlr_kcfg_parser *P, tlr_model *m);

/* Marks the layers a Keras mask reaches that the engine cannot run so. */
void tlr_kcfg_mark_masked(tlr_model *m, int masked_inputs);

#endif
