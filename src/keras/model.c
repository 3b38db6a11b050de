/* model.c - the layer graph: names, lookup, freeing. */
#include "keras/model.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "keras/expr.h"

const char *tlr_op_name(tlr_op op)
{
    static const char *const names[TLR_OP_COUNT] = {
        [TLR_OP_UNKNOWN] = "unknown", [TLR_OP_INPUT] = "input", [TLR_OP_MODEL] = "model",
        [TLR_OP_CONV] = "conv", [TLR_OP_DEPTHWISE_CONV] = "depthwise_conv",
        [TLR_OP_SEPARABLE_CONV] = "separable_conv", [TLR_OP_CONV_TRANSPOSE] = "conv_transpose",
        [TLR_OP_DENSE] = "dense", [TLR_OP_BATCHNORM] = "batchnorm",
        [TLR_OP_ACTIVATION] = "activation", [TLR_OP_RELU] = "relu", [TLR_OP_PRELU] = "prelu",
        [TLR_OP_MAXPOOL] = "maxpool", [TLR_OP_AVGPOOL] = "avgpool",
        [TLR_OP_GLOBAL_AVGPOOL] = "global_avgpool", [TLR_OP_GLOBAL_MAXPOOL] = "global_maxpool",
        [TLR_OP_ZEROPAD] = "zeropad", [TLR_OP_CROPPING] = "cropping",
        [TLR_OP_UPSAMPLING] = "upsampling", [TLR_OP_FLATTEN] = "flatten",
        [TLR_OP_RESHAPE] = "reshape", [TLR_OP_PERMUTE] = "permute",
        [TLR_OP_IDENTITY] = "identity", [TLR_OP_MERGE] = "merge", [TLR_OP_CONCAT] = "concat",
        [TLR_OP_RESCALING] = "rescaling", [TLR_OP_NORMALIZATION] = "normalization",
        [TLR_OP_RESIZING] = "resizing", [TLR_OP_REPEAT_VECTOR] = "repeat_vector",
        [TLR_OP_EMBEDDING] = "embedding", [TLR_OP_RNN] = "rnn",
        [TLR_OP_BIDIRECTIONAL] = "bidirectional", [TLR_OP_LAMBDA] = "lambda",
    };
    _Static_assert(TLR_OP_COUNT == 33, "update names");
    return op >= 0 && op < TLR_OP_COUNT ? names[op] : "?";
}

void tlr_weight_drop_data(tlr_weight *w)
{
    if (!w->borrowed)
        free(w->data);
    w->data = NULL;
    w->borrowed = 0;
}

static void free_layer(tlr_layer *l)
{
    free(l->name);
    free(l->class_name);
    free(l->shape_note);
    free(l->cannot_run);
    for (int c = 0; c < l->n_calls; c++)
        free(l->calls[c].in);
    free(l->calls);
    for (int w = 0; w < l->n_weights; w++) {
        free(l->weights[w].role);
        free(l->weights[w].stored_name);
        free(l->weights[w].path);
        tlr_weight_drop_data(&l->weights[w]);
    }
    free(l->weights);
    tlr_model_free(l->inner);
    tlr_expr_free(l->lambda);
    if (l->op == TLR_OP_NORMALIZATION) {
        free(l->cfg.norm.mean);
        free(l->cfg.norm.variance);
    }
}

void tlr_model_free(tlr_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_layers; i++)
        free_layer(&m->layers[i]);
    free(m->layers);
    free(m->inputs);
    free(m->outputs);
    free(m->order);
    free(m->name);
    free(m->class_name);
    free(m);
}

int tlr_model_holds(const tlr_model *m, const tlr_model *inner)
{
    if (m == inner)
        return 1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].inner && tlr_model_holds(m->layers[i].inner, inner))
            return 1;
    return 0;
}

int tlr_model_find(const tlr_model *m, const char *name)
{
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return i;
    return -1;
}

int tlr_model_visible_layers(const tlr_model *m, int *idx, int cap)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (m->is_sequential && m->layers[i].op == TLR_OP_INPUT)
            continue;
        if (idx && n < cap)
            idx[n] = i;
        n++;
    }
    return n;
}

int *tlr_model_visible_alloc(const tlr_model *m, int *n)
{
    *n = tlr_model_visible_layers(m, NULL, 0);
    int *idx = tlr_xcalloc((size_t)*n + 1, sizeof *idx);
    tlr_model_visible_layers(m, idx, *n);
    return idx;
}

int tlr_model_resolve(const tlr_model *m, const char *path, const tlr_model **owner, int *index)
{
    const char *slash = strchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (strlen(l->name) != len || strncmp(l->name, path, len) != 0)
            continue;
        if (!slash) {
            *owner = m;
            *index = i;
            return 0;
        }
        if (l->inner)
            return tlr_model_resolve(l->inner, slash + 1, owner, index);
        return -1;
    }
    /* A layer name that itself contains '/' (Keras 3 allows none, but be lenient). */
    int i = tlr_model_find(m, path);
    if (i >= 0) {
        *owner = m;
        *index = i;
        return 0;
    }
    return -1;
}

int64_t tlr_layer_param_count(const tlr_layer *l)
{
    return l->params < 0 ? 0 : l->params;
}

int tlr_model_output_activation(const tlr_model *m)
{
    if (m->n_outputs < 1)
        return -1;
    const tlr_ref *r = &m->outputs[0];
    for (int hops = 0; hops < 64; hops++) {
        const tlr_layer *l = &m->layers[r->layer];
        switch (l->op) {
        case TLR_OP_MODEL: return l->inner ? tlr_model_output_activation(l->inner) : -1;
        case TLR_OP_DENSE: return (int)l->cfg.dense.act.kind;
        case TLR_OP_CONV: return (int)l->cfg.conv.act.kind;
        case TLR_OP_ACTIVATION: return (int)l->cfg.act.act.kind;
        case TLR_OP_IDENTITY:
            if (r->call >= l->n_calls || l->calls[r->call].n_in != 1)
                return -1;
            r = &l->calls[r->call].in[0];
            break;
        default: return -1;
        }
    }
    return -1;
}

static void leaf_paths(const tlr_model *m, const char *prefix, int (*keep)(const tlr_layer *),
                       tlr_strlist *out)
{
    for (int k = 0; k < m->n_order; k++) {
        const tlr_layer *l = &m->layers[m->order[k]];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->op == TLR_OP_MODEL)
            leaf_paths(l->inner, p, keep, out);
        else if (!keep || keep(l))
            tlr_strlist_push(out, p);
        free(p);
    }
}

void tlr_model_leaf_paths(const tlr_model *m, int (*keep)(const tlr_layer *), tlr_strlist *out)
{
    leaf_paths(m, "", keep, out);
}
