/* evaluation_run.c - streams a slice of a labelled folder through the model: a block of
 * TLR_DATASET_BLOCK images is decoded (in parallel), run as one batch and reduced into the
 * evaluation before the next is read, so memory stays flat however many images there are. */
#include "report/evaluation.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/forward.h"

/* Images per forward pass: batching amortises each layer's setup (Winograd kernel transforms,
 * weight packing).  On the course model 8 takes about 12% less CPU per image than 4, for a
 * peak of about 270 MB instead of 170 MB; more would raise the peak for little gain. */
#ifndef TLR_EVAL_BATCH
#define TLR_EVAL_BATCH 8
#endif

typedef struct {
    const tlr_model *m;
    const tlr_dataset *ds;
    const tlr_eval_run_opts *o;
    tlr_eval *ev;
    const tlr_layer *flayer;    /* Pregunta 5 layer, or NULL */
    tlr_shape in_shape;
} run_ctx;

static int layer_channels_first(const tlr_layer *l)
{
    switch (l->op) {
    case TLR_OP_CONV: case TLR_OP_DEPTHWISE_CONV: case TLR_OP_SEPARABLE_CONV:
    case TLR_OP_CONV_TRANSPOSE:
        return l->cfg.conv.channels_first;
    case TLR_OP_MAXPOOL: case TLR_OP_AVGPOOL:
        return l->cfg.pool.channels_first;
    default:
        return 0;
    }
}

/* Mean of channel 'c' of batch item 'b' of activation 'a' (channels last, or first when
 * 'cf' and rank 4); *n_ch receives the channel count. */
static float channel_mean(const tlr_tensor *a, int b, int64_t c, int cf, int64_t *n_ch)
{
    int64_t per = tlr_tensor_numel(a) / a->shape[0];
    const float *x = a->data + (int64_t)b * per;
    int64_t ch = cf && a->ndim == 4 ? a->shape[1] : a->shape[a->ndim - 1];
    *n_ch = ch;
    if (c >= ch || ch == 0)
        return 0.0f;
    int64_t spatial = per / ch;
    double sum = 0;
    if (cf && a->ndim == 4)
        for (int64_t i = 0; i < spatial; i++)
            sum += (double)x[c * spatial + i];
    else
        for (int64_t i = 0; i < spatial; i++)
            sum += (double)x[i * ch + c];
    return (float)(sum / (double)(spatial ? spatial : 1));
}

/* The filters of one image: its mean activation offered to each filter's list. */
static void reduce_filters(run_ctx *R, const tlr_tensor *act, int b, const tlr_dataset_item *it,
                           int pred, const tlr_image *seen)
{
    int cf = layer_channels_first(R->flayer);
    int64_t ch = 0;
    channel_mean(act, b, 0, cf, &ch);
    R->ev->layer_channels = ch;
    R->ev->n_filters = ch < TLR_EVAL_FILTERS ? (int)ch : TLR_EVAL_FILTERS;
    for (int f = 0; f < R->ev->n_filters; f++) {
        float mean = channel_mean(act, b, f, cf, &ch);
        tlr_eval_offer(&R->ev->filters[f], it - R->ds->items, it->rel, it->cls, pred, mean, seen);
    }
}

/* Everything one image adds: counts, mistakes, filters and (maybe) a sample. */
static void reduce_image(run_ctx *R, const tlr_forward_result *r, int b, tlr_input *in,
                         const tlr_dataset_item *it)
{
    const tlr_tensor *y = r->outputs[0];
    int64_t n = tlr_tensor_numel(y) / y->shape[0];
    int pred;
    float conf;
    tlr_eval_count(R->ev, y->data + (int64_t)b * n, n, it->cls, &pred, &conf);
    int64_t index = it - R->ds->items;
    if (pred != it->cls)
        tlr_eval_offer(&R->ev->mistakes, index, it->rel, it->cls, pred, conf, in->seen);
    if (R->flayer && r->captured[0])
        reduce_filters(R, r->captured[0], b, it, pred, in->seen);
    tlr_eval_offer_sample(R->ev, it->rank * R->ev->n_classes + it->cls, index, in);
}

/* in[0..n) (one shape, batch 1 each) stacked into one batch tensor. */
static tlr_tensor *stack(tlr_input *const *in, int n)
{
    int64_t shape[TLR_MAX_DIMS];
    memcpy(shape, in[0]->tensor->shape, sizeof shape);
    shape[0] = n;
    tlr_tensor *t = tlr_tensor_new(in[0]->tensor->ndim, shape);
    int64_t per = tlr_tensor_numel(in[0]->tensor);
    for (int i = 0; i < n; i++)
        memcpy(t->data + i * per, in[i]->tensor->data, (size_t)per * sizeof(float));
    return t;
}

static int same_shape(const tlr_tensor *a, const tlr_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape) == 0;
}

/* Runs one batch (inputs of one shape) and reduces it. */
static tlr_status run_batch(run_ctx *R, tlr_input **in, const tlr_dataset_item **items, int n,
                            tlr_err *err)
{
    tlr_tensor *x = stack(in, n);
    const tlr_tensor *xs = x;
    const char *cap = R->ev->filter_layer;
    tlr_forward_opts fo = { R->o->max_memory, 0 };
    tlr_forward_result r;
    tlr_status st = tlr_forward_run(R->m, &xs, 1, cap ? &cap : NULL, cap ? 1 : 0, 1, &fo, &r, err);
    tlr_tensor_free(x);
    if (st)
        return st;
    const tlr_tensor *y = r.n_outputs ? r.outputs[0] : NULL;
    if (!y)
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "the model's output could not be computed (%s), "
                         "so it cannot be evaluated", r.n_skipped ? r.skipped[0] : "unsupported layer");
    else if (y->ndim != 2)
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "the model's output has rank %d; evaluating a "
                         "labelled folder needs one class vector per image", y->ndim);
    for (int b = 0; b < n && !st; b++)
        reduce_image(R, &r, b, in[b], items[b]);
    tlr_forward_result_free(&r);
    return st;
}

/* Loads, runs and reduces items [b0, b0 + n). */
static tlr_status run_block(run_ctx *R, int64_t b0, int n, tlr_err *err)
{
    tlr_input in[TLR_DATASET_BLOCK];
    tlr_err errs[TLR_DATASET_BLOCK];
    memset(in, 0, sizeof in);
    const tlr_dataset_item *items = &R->ds->items[b0];
    tlr_dataset_load(items, n, &R->in_shape, R->o->io, in, errs);
    tlr_input *ok[TLR_DATASET_BLOCK];
    const tlr_dataset_item *ok_items[TLR_DATASET_BLOCK];
    int n_ok = 0;
    for (int i = 0; i < n; i++) {
        if (in[i].tensor) {
            ok[n_ok] = &in[i];
            ok_items[n_ok++] = &items[i];
            continue;
        }
        tlr_eval_skip_add(R->ev, b0 + i, errs[i].msg);
        if (R->o->skipped)
            R->o->skipped(R->o->ctx, errs[i].msg);
    }
    tlr_status st = TLR_OK;
    /* consecutive images of one shape run together (all of them, unless the input has None
     * dimensions and the images differ in size) */
    for (int i = 0; i < n_ok && !st;) {
        int k = 1;
        while (i + k < n_ok && k < TLR_EVAL_BATCH && same_shape(ok[i + k]->tensor, ok[i]->tensor))
            k++;
        st = run_batch(R, ok + i, ok_items + i, k, err);
        i += k;
    }
    for (int i = 0; i < n; i++)
        tlr_input_free(&in[i]);
    return st;
}

tlr_status tlr_eval_run(const tlr_model *m, const tlr_dataset *ds, const tlr_eval_run_opts *o,
                        tlr_eval *ev, tlr_err *err)
{
    run_ctx R = { m, ds, o, ev, NULL, tlr_forward_input_shape(m, 0) };
    if (ev->filter_layer) {
        const tlr_model *owner;
        int idx;
        if (tlr_model_resolve(m, ev->filter_layer, &owner, &idx) == 0)
            R.flayer = &owner->layers[idx];
    }
    if (!R.flayer) {
        free(ev->filter_layer);
        ev->filter_layer = NULL;
    }
    tlr_status st = TLR_OK;
    for (int64_t b0 = o->begin; b0 < o->end && !st; b0 += TLR_DATASET_BLOCK) {
        int n = (int)(o->end - b0 < TLR_DATASET_BLOCK ? o->end - b0 : TLR_DATASET_BLOCK);
        st = run_block(&R, b0, n, err);
        if (!st && o->progress)
            o->progress(o->ctx, b0 + n - o->begin, o->end - o->begin);
    }
    return st;
}
