/* exec.c - runs one layer call: its output shape, then its adapter (adapt_*.c); why a layer
 * cannot run; the record of layers not computed; the profile's operation counts. */
#include "engine/exec.h"

#include <string.h>

#include "base/xalloc.h"
#include "keras/shape.h"

/* The adapter of each op that runs (INPUT and MODEL are the executor's own). */
static tlr_adapter adapter_of(tlr_op op)
{
    static const tlr_adapter table[TLR_OP_COUNT] = {
        [TLR_OP_CONV] = tlr_adapt_conv, [TLR_OP_DEPTHWISE_CONV] = tlr_adapt_conv,
        [TLR_OP_SEPARABLE_CONV] = tlr_adapt_conv, [TLR_OP_CONV_TRANSPOSE] = tlr_adapt_conv,
        [TLR_OP_DENSE] = tlr_adapt_dense, [TLR_OP_BATCHNORM] = tlr_adapt_batchnorm,
        [TLR_OP_ACTIVATION] = tlr_adapt_activation, [TLR_OP_RELU] = tlr_adapt_relu,
        [TLR_OP_PRELU] = tlr_adapt_prelu,
        [TLR_OP_MAXPOOL] = tlr_adapt_pool, [TLR_OP_AVGPOOL] = tlr_adapt_pool,
        [TLR_OP_GLOBAL_AVGPOOL] = tlr_adapt_pool, [TLR_OP_GLOBAL_MAXPOOL] = tlr_adapt_pool,
        [TLR_OP_ZEROPAD] = tlr_adapt_pad, [TLR_OP_CROPPING] = tlr_adapt_pad,
        [TLR_OP_UPSAMPLING] = tlr_adapt_upsample, [TLR_OP_FLATTEN] = tlr_adapt_flatten,
        [TLR_OP_RESHAPE] = tlr_adapt_copy, [TLR_OP_PERMUTE] = tlr_adapt_permute,
        [TLR_OP_IDENTITY] = tlr_adapt_identity, [TLR_OP_MERGE] = tlr_adapt_merge,
        [TLR_OP_CONCAT] = tlr_adapt_concat, [TLR_OP_RESCALING] = tlr_adapt_rescaling,
        [TLR_OP_NORMALIZATION] = tlr_adapt_normalization,
        [TLR_OP_RESIZING] = tlr_adapt_resizing, [TLR_OP_REPEAT_VECTOR] = tlr_adapt_repeat,
        [TLR_OP_EMBEDDING] = tlr_adapt_embedding, [TLR_OP_RNN] = tlr_adapt_recurrent,
        [TLR_OP_BIDIRECTIONAL] = tlr_adapt_recurrent, [TLR_OP_LAMBDA] = tlr_adapt_lambda,
    };
    _Static_assert(TLR_OP_COUNT == 33, "give the new op an adapter");
    return op >= 0 && op < TLR_OP_COUNT ? table[op] : NULL;
}

static tlr_status exec_nested(tlr_exec *X, const tlr_layer *l, const char *path,
                              tlr_tensor **in, int n_in, tlr_tensor **out)
{
    tlr_status st = tlr_exec_model(X, l->inner, path, in, n_in, 1, out);
    if (st == TLR_E_UNSUPPORTED)
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "a layer inside it could not be computed");
    return st;
}

tlr_status tlr_exec_call(tlr_exec *X, const tlr_layer *l, const char *path, tlr_tensor **in,
                         int n_in, tlr_tensor **out)
{
    out[0] = NULL;
    if (l->op == TLR_OP_MODEL)
        return exec_nested(X, l, path, in, n_in, out);
    tlr_shape ins[TLR_MAX_CALL_INPUTS], os[TLR_MAX_OUTPUTS];
    for (int i = 0; i < n_in; i++)
        ins[i] = i == 0 && X->in0_shape ? *X->in0_shape : tlr_exec_shape(in[i]);
    int no;
    tlr_status st = tlr_shape_of_call(l, ins, n_in, os, &no, path, X->err);
    if (st)
        return tlr_err_prefix(X->err, "while running");
    /* The ops compute one output from one sequence and a zero initial state: a recurrent
     * layer fed initial states, or one returning its states, is not computed rather than
     * computed wrong. */
    if ((l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL) && n_in > 1)
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "initial_state inputs are not supported");
    if (no != 1)
        return tlr_err_set(X->err, TLR_E_UNSUPPORTED, "it returns %d tensors; the forward pass "
                           "computes layers with one output", no);
    tlr_tensor *y = tlr_exec_new(X, &os[0], path);
    if (!y)
        return X->err->code;
    tlr_adapter fn = adapter_of(l->op);
    st = fn ? fn(X, l, path, in, n_in, y)
            : tlr_err_set(X->err, TLR_E_UNSUPPORTED, "layer '%s' (%s) cannot run", path,
                          l->class_name);
    if (st) {
        tlr_exec_drop(X, y);
        return st;
    }
    out[0] = y;
    return TLR_OK;
}

tlr_status tlr_exec_capture_ref(const tlr_model *m, const char *path, tlr_capture_ref *ref,
                                tlr_err *err)
{
    if (tlr_model_resolve(m, path, &ref->owner, &ref->layer))
        return tlr_err_set(err, TLR_E_USAGE, "no layer '%s' in the model", path);
    while (ref->owner->layers[ref->layer].op == TLR_OP_MODEL) {
        const tlr_model *inner = ref->owner->layers[ref->layer].inner;
        ref->owner = inner;
        ref->layer = inner->outputs[0].layer;
    }
    return TLR_OK;
}

const char *tlr_exec_cannot_run(const tlr_layer *l)
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

void tlr_exec_skip(tlr_exec *X, const char *path, const tlr_layer *l, int input_missing,
                   const char *why)
{
    tlr_forward_result *r = X->res;
    for (int i = 0; i < r->n_skipped; i++)
        if (strcmp(r->skips[i].path, path) == 0)
            return;
    r->skipped = tlr_xrealloc(r->skipped, (size_t)(r->n_skipped + 1) * sizeof *r->skipped);
    r->skips = tlr_xrealloc(r->skips, (size_t)(r->n_skipped + 1) * sizeof *r->skips);
    tlr_skip_reason reason = input_missing ? TLR_SKIP_INPUT
                           : l->weights_unbound ? TLR_SKIP_WEIGHTS
                           : l->op == TLR_OP_LAMBDA ? TLR_SKIP_LAMBDA
                           : l->op == TLR_OP_UNKNOWN && !l->cannot_run ? TLR_SKIP_UNKNOWN_CLASS
                           : l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL
                               ? TLR_SKIP_RECURRENT
                           : l->op == TLR_OP_EMBEDDING ? TLR_SKIP_EMBEDDING
                                                       : TLR_SKIP_OTHER;
    r->skips[r->n_skipped] = (tlr_skip){ tlr_xstrdup(path), l->class_name, reason,
                                         tlr_xstrdup(why) };
    r->skipped[r->n_skipped++] = tlr_xasprintf("%s (%s): %s", path, l->class_name, why);
}

static int64_t conv_flops(const tlr_layer *l, const tlr_tensor *x, const tlr_tensor *y)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    if (l->op == TLR_OP_CONV || l->op == TLR_OP_CONV_TRANSPOSE) {
        int64_t cin = k->channels_first ? x->shape[1] : x->shape[x->ndim - 1];
        const tlr_tensor *big = l->op == TLR_OP_CONV ? y : x;
        int64_t cout = l->op == TLR_OP_CONV
                           ? (k->channels_first ? y->shape[1] : y->shape[y->ndim - 1])
                           : k->filters;
        return 2 * tlr_tensor_numel(big) / (l->op == TLR_OP_CONV ? cout : cin) * cout *
               (cin / k->groups) * k->kernel[0] * k->kernel[1];
    }
    int64_t f = 2 * tlr_tensor_numel(y) * k->kernel[0] * k->kernel[1];
    if (l->op == TLR_OP_SEPARABLE_CONV) {
        int64_t cin = x->shape[x->ndim - 1] * k->depth_multiplier;
        f = 2 * tlr_tensor_numel(y) / y->shape[y->ndim - 1] * cin *
            (k->kernel[0] * k->kernel[1] + y->shape[y->ndim - 1]);
    }
    return f;
}

int64_t tlr_exec_flops(const tlr_layer *l, const tlr_tensor *x, const tlr_tensor *y)
{
    if (!x || !y)
        return 0;
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_CONV_TRANSPOSE: case TLR_OP_DEPTHWISE_CONV:
    case TLR_OP_SEPARABLE_CONV:
        return conv_flops(l, x, y);
    case TLR_OP_DENSE:
        return 2 * tlr_tensor_numel(x) * l->cfg.dense.units;
    default:
        return 0;
    }
}
