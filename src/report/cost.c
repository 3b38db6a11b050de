/* cost.c - multiply-accumulates and activation sizes per layer, from the inferred shapes. */
#include "report/cost.h"

#include <stdio.h>
#include <string.h>

/* Values per sample (the batch dimension left out); -1 with a None. */
static int64_t per_sample(const tlr_shape *s)
{
    int64_t n = 1;
    for (int i = 1; i < s->ndim; i++) {
        if (s->d[i] < 0)
            return -1;
        n *= s->d[i];
    }
    return n;
}

/* Weights that are multiplied by every position: the kernels (not bias, not statistics). */
static int64_t kernel_weights(const tlr_layer *l)
{
    int64_t n = 0;
    for (int i = 0; i < l->n_weights; i++) {
        const tlr_weight *w = &l->weights[i];
        if (!w->role || !strstr(w->role, "kernel"))
            continue;
        int64_t k = 1;
        for (int j = 0; j < w->ndim; j++)
            k *= w->shape[j];
        n += k;
    }
    return n;
}

/* Output positions of one call's first output: values per sample over the channels. */
static int64_t positions(const tlr_layer *l, const tlr_shape *s)
{
    int first = l->op != TLR_OP_DENSE && l->cfg.conv.channels_first;
    int64_t vals = per_sample(s);
    int64_t ch = s->ndim > 1 ? s->d[first ? 1 : s->ndim - 1] : 1;
    return vals < 0 || ch <= 0 ? -1 : vals / ch;
}

/* A transposed convolution applies its kernel once per input position: undo the strides
 * (and, for 'valid', the kernel overhang) on each spatial dimension. */
static int64_t transpose_positions(const tlr_layer *l, const tlr_shape *s)
{
    const tlr_conv_cfg *c = &l->cfg.conv;
    int64_t out = positions(l, s);
    if (out < 0)
        return -1;
    int64_t in = 1;
    for (int k = 0; k < c->rank; k++) {
        int axis = c->channels_first ? 2 + k : 1 + k;
        int kd = c->rank == 1 ? 1 : k;
        int64_t o = s->d[axis], st = c->strides[kd] > 0 ? c->strides[kd] : 1;
        int64_t i = c->padding == TLR_PAD_VALID ? (o - c->kernel[kd]) / st + 1 : o / st;
        in *= i > 0 ? i : 1;
    }
    return in;
}

int64_t tlr_cost_macs(const tlr_layer *l)
{
    if (l->op == TLR_OP_MODEL) {
        int64_t sum = 0;
        for (int i = 0; l->inner && i < l->inner->n_layers; i++) {
            int64_t m = tlr_cost_macs(&l->inner->layers[i]);
            if (m < 0)
                return -1;
            sum += m;
        }
        return sum;
    }
    int counted = l->op == TLR_OP_CONV || l->op == TLR_OP_DEPTHWISE_CONV ||
                  l->op == TLR_OP_SEPARABLE_CONV || l->op == TLR_OP_CONV_TRANSPOSE ||
                  l->op == TLR_OP_DENSE;
    if (!counted || !l->weights_known)
        return 0;
    if (!l->shape_ok)
        return -1;
    int64_t k = kernel_weights(l), sum = 0;
    for (int c = 0; c < l->n_calls; c++) {
        if (l->calls[c].n_out < 1)
            return -1;
        const tlr_shape *s = &l->calls[c].out[0];
        int64_t p = l->op == TLR_OP_CONV_TRANSPOSE ? transpose_positions(l, s) : positions(l, s);
        if (p < 0)
            return -1;
        sum += p * k;
    }
    return sum;
}

int64_t tlr_cost_activations(const tlr_layer *l)
{
    if (!l->shape_ok)
        return -1;
    int64_t sum = 0;
    for (int c = 0; c < l->n_calls; c++)
        for (int k = 0; k < l->calls[c].n_out; k++) {
            int64_t n = per_sample(&l->calls[c].out[k]);
            if (n < 0)
                return -1;
            sum += n;
        }
    return sum;
}

void tlr_cost_format(int64_t n, char *out, size_t cap)
{
    static const char *const prefix[] = { "", " k", " M", " G", " T" };
    if (n < 0) {
        snprintf(out, cap, "?");
        return;
    }
    double v = (double)n;
    int p = 0;
    while (v >= 1000.0 && p < 4) {
        v /= 1000.0;
        p++;
    }
    if (p == 0)
        snprintf(out, cap, "%lld", (long long)n);
    else
        snprintf(out, cap, "%.*f%s", v < 10.0 ? 2 : v < 100.0 ? 1 : 0, v, prefix[p]);
}
