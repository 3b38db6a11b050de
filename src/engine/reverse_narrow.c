/* reverse_narrow.c - the score's layer cut down to the filters a TLR_SCORE_FILTER request
 * reads (reverse_parts.h).
 *
 * A filter's mean activation depends on that filter's output channel alone, and its seed is
 * zero on every other channel.  So the layer can run with only the filters asked for: a
 * gradient ascent on 16 of block2_conv2's 128 filters computes 16 output channels forward and
 * takes 16 back, instead of 128 each way -- the same numbers, since each channel of a
 * convolution is computed on its own.  The cut layers are kept in the grad cache: their
 * kernels then stay at one address, which the flipped-kernel cache uses as its key. */
#include "engine/reverse_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct tlr_rev_narrow {
    const tlr_layer *orig;
    int *filters;            /* distinct, ascending */
    int n;
    tlr_layer layer;         /* orig with only those output channels */
    tlr_weight *weights;
    float *kernel, *bias;
    tlr_rev_narrow *next;
};

void tlr_rev_narrow_free(tlr_rev_narrow *list)
{
    while (list) {
        tlr_rev_narrow *next = list->next;
        free(list->filters);
        free(list->weights);
        free(list->kernel);
        free(list->bias);
        free(list);
        list = next;
    }
}

static const tlr_weight *weight_of(const tlr_layer *l, const char *role)
{
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, role) == 0 && l->weights[i].data)
            return &l->weights[i];
    return NULL;
}

/* A 2-D channels-last Conv2D without groups, its weights loaded. */
static int can_narrow(const tlr_layer *l)
{
    const tlr_conv_cfg *c = &l->cfg.conv;
    const tlr_weight *k = weight_of(l, "kernel");
    return l->op == TLR_OP_CONV && c->rank == 2 && c->groups <= 1 && !c->channels_first &&
           k && k->ndim == 4 && k->shape[3] == c->filters &&
           (!c->use_bias || weight_of(l, "bias"));
}

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* The distinct filters of 'want' (n), ascending, into *out; their count, or 0 when one is
 * out of range (the caller's own check then reports it). */
static int distinct(const int *want, int n, int filters, int **out)
{
    int *f = tlr_xmalloc((size_t)n * sizeof *f), k = 0;
    memcpy(f, want, (size_t)n * sizeof *f);
    qsort(f, (size_t)n, sizeof *f, cmp_int);
    for (int i = 0; i < n; i++) {
        if (f[i] < 0 || f[i] >= filters) {
            free(f);
            return 0;
        }
        if (k == 0 || f[k - 1] != f[i])
            f[k++] = f[i];
    }
    *out = f;
    return k;
}

/* kernel (kh, kw, cin, cout) -> (kh, kw, cin, n); bias (cout) -> (n). */
static void cut_weights(tlr_rev_narrow *e)
{
    const tlr_layer *l = e->orig;
    const tlr_weight *k = weight_of(l, "kernel"), *b = weight_of(l, "bias");
    int64_t rows = k->shape[0] * k->shape[1] * k->shape[2], cout = k->shape[3];
    e->kernel = tlr_xmalloc((size_t)(rows * e->n) * sizeof *e->kernel);
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < e->n; j++)
            e->kernel[r * e->n + j] = k->data[r * cout + e->filters[j]];
    if (b) {
        e->bias = tlr_xmalloc((size_t)e->n * sizeof *e->bias);
        for (int j = 0; j < e->n; j++)
            e->bias[j] = b->data[e->filters[j]];
    }
    e->weights = tlr_xcalloc((size_t)l->n_weights + 1, sizeof *e->weights);
    for (int i = 0; i < l->n_weights; i++) {
        tlr_weight *w = &e->weights[i];
        *w = l->weights[i];
        if (&l->weights[i] == k) {
            w->data = e->kernel;
            w->shape[3] = e->n;
        } else if (&l->weights[i] == b) {
            w->data = e->bias;
            w->shape[0] = e->n;
        }
    }
    e->layer = *l;
    e->layer.weights = e->weights;
    e->layer.cfg.conv.filters = e->n;
}

static int same_filters(const tlr_rev_narrow *e, const int *f, int n)
{
    return e->n == n && memcmp(e->filters, f, (size_t)n * sizeof *f) == 0;
}

const tlr_rev_narrow *tlr_rev_narrow_get(tlr_rev_narrow **list, const tlr_layer *l,
                                         const int *want, int n)
{
    int *f = NULL, k;
    if (!can_narrow(l) || n < 1 || !(k = distinct(want, n, l->cfg.conv.filters, &f)))
        return NULL;
    if (k * 2 > l->cfg.conv.filters) { /* little to gain */
        free(f);
        return NULL;
    }
    for (tlr_rev_narrow *e = *list; e; e = e->next)
        if (e->orig == l && same_filters(e, f, k)) {
            free(f);
            return e;
        }
    tlr_rev_narrow *e = tlr_xcalloc(1, sizeof *e);
    *e = (tlr_rev_narrow){ .orig = l, .filters = f, .n = k, .next = *list };
    cut_weights(e);
    *list = e;
    return e;
}

const tlr_layer *tlr_rev_narrow_layer(const tlr_rev_narrow *e)
{
    return &e->layer;
}

int tlr_rev_narrow_channel(const tlr_rev_narrow *e, int filter)
{
    const int *at = bsearch(&filter, e->filters, (size_t)e->n, sizeof filter, cmp_int);
    return at ? (int)(at - e->filters) : -1;
}
