/* forward.h - the forward pass: runs a model (with weights loaded) on input tensors and
 * returns the outputs of requested layers, at any nesting depth.
 *
 * Layers run in topological order; an activation is freed as soon as no later layer, output
 * or capture needs it.  Layers that cannot run (Lambda, custom classes, recurrent layers)
 * do not stop the pass: everything not downstream of them still runs, and the result lists
 * what could not be computed and why. */
#ifndef TLR_FORWARD_H
#define TLR_FORWARD_H

#include <stdint.h>

#include "base/err.h"
#include "base/tensor.h"
#include "keras/model.h"

typedef struct {
    int64_t max_memory;     /* bytes of live activations allowed (0: no limit) */
    int profile;            /* record per-layer timings */
} tlr_forward_opts;

typedef struct {
    char *path;             /* "vgg16/block2_conv2" */
    double ms;
    int64_t flops;          /* 2 * multiply-adds of conv/dense layers, 0 otherwise */
} tlr_layer_time;

/* Why a layer was not computed (the report words each in its own language). */
typedef enum {
    TLR_SKIP_LAMBDA,        /* Lambda without a known formula */
    TLR_SKIP_UNKNOWN_CLASS, /* custom or subclassed layer */
    TLR_SKIP_RECURRENT,     /* SimpleRNN / GRU / LSTM / Bidirectional */
    TLR_SKIP_EMBEDDING,
    TLR_SKIP_INPUT,         /* an input of it could not be computed */
    TLR_SKIP_OTHER,
    TLR_SKIP_WEIGHTS,       /* its stored weights do not fit the layer */
} tlr_skip_reason;

typedef struct {
    char *path;             /* "vgg16/lambda_1" */
    const char *class_name; /* borrowed from the model */
    tlr_skip_reason reason;
    char *detail;           /* why, in words: "activation 'swishy' is not supported" */
} tlr_skip;

typedef struct {
    tlr_tensor **captured;  /* one per requested path (NULL when it could not be computed) */
    int n_captured;
    tlr_tensor **outputs;   /* model outputs (NULL entries when not computed) */
    int n_outputs;
    char **skipped;         /* "lambda_1 (Lambda): Lambda layers run Python code", for logs */
    tlr_skip *skips;        /* the same, as data (n_skipped entries) */
    int n_skipped;
    tlr_layer_time *times;  /* with opts.profile */
    int n_times;
    int64_t peak_bytes;     /* largest total of live activations */
} tlr_forward_result;

/* Runs 'm' on 'inputs' (one tensor per model input, Keras layout, batch first).  'capture'
 * lists layer paths whose outputs are returned (copied); want_outputs asks for the model
 * outputs too.  The model's weights must be loaded.  Free the result with
 * tlr_forward_result_free().  Errors: unknown capture path, shape mismatch, memory budget. */
tlr_status tlr_forward_run(const tlr_model *m, const tlr_tensor *const *inputs, int n_inputs,
                           const char *const *capture, int n_capture, int want_outputs,
                           const tlr_forward_opts *opts, tlr_forward_result *res, tlr_err *err);
void tlr_forward_result_free(tlr_forward_result *res);

/* 1 when the forward pass runs every layer of 'm' on its own: no convolution has a
 * BatchNormalization, Add or ReLU folded into it and no block runs as one op, so its values
 * are, to the last bit, those of a layer-by-layer pass such as the reverse pass's. */
int tlr_forward_layerwise(const tlr_model *m);

/* The model's first input shape (batch first; -1 for None) or ndim 0 when unknown. */
tlr_shape tlr_forward_input_shape(const tlr_model *m, int index);

#endif
