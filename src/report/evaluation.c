/* evaluation.c - the streaming reduction of an evaluation and the merge of two of them. */
#include "report/evaluation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "input/preprocess.h"
#include "io/labels.h"

tlr_eval *tlr_eval_new(const tlr_strlist *classes, int binary, const char *filter_layer,
                       int max_samples)
{
    tlr_eval *ev = tlr_xcalloc(1, sizeof *ev);
    for (size_t i = 0; i < classes->n; i++)
        tlr_strlist_push(&ev->classes, classes->items[i]);
    ev->n_classes = (int)classes->n;
    ev->binary = binary;
    ev->confusion = tlr_xcalloc((size_t)ev->n_classes * (size_t)ev->n_classes + 1,
                                sizeof *ev->confusion);
    ev->mistakes.cap = TLR_EVAL_MISTAKES;
    ev->filter_layer = filter_layer ? tlr_xstrdup(filter_layer) : NULL;
    for (int f = 0; f < TLR_EVAL_FILTERS; f++)
        ev->filters[f].cap = TLR_EVAL_PER_FILTER;
    ev->max_samples = max_samples;
    return ev;
}

void tlr_eval_describe(tlr_eval *ev, const tlr_dataset *ds)
{
    size_t n = strlen(ds->root);
    while (n > 1 && ds->root[n - 1] == '/')
        n--;
    const char *base = ds->root + n;
    while (base > ds->root && base[-1] != '/')
        base--;
    free(ev->folder);
    ev->folder = tlr_xasprintf("%.*s", (int)(ds->root + n - base), base);
    ev->n_items = ds->n_items;
    ev->n_unlisted = (int)ds->notes.n;
}

static void pick_free(tlr_eval_pick *p)
{
    free(p->rel);
    tlr_image_free(p->thumb);
    memset(p, 0, sizeof *p);
}

static void best_free(tlr_eval_best *b)
{
    for (int i = 0; i < b->n; i++)
        pick_free(&b->items[i]);
    free(b->items);
    b->items = NULL;
    b->n = 0;
}

void tlr_eval_free(tlr_eval *ev)
{
    if (!ev)
        return;
    free(ev->folder);
    tlr_strlist_free(&ev->classes);
    free(ev->confusion);
    best_free(&ev->mistakes);
    for (int f = 0; f < TLR_EVAL_FILTERS; f++)
        best_free(&ev->filters[f]);
    free(ev->filter_layer);
    for (int i = 0; i < ev->n_samples; i++)
        tlr_input_free(&ev->samples[i].input);
    free(ev->samples);
    for (int i = 0; i < ev->n_skips; i++)
        free(ev->skips[i].text);
    free(ev->skips);
    free(ev);
}

void tlr_eval_count(tlr_eval *ev, const float *y, int64_t n, int true_cls, int *pred,
                    float *conf)
{
    if (ev->binary) {
        float p = y[0];
        *pred = p > 0.5f;
        *conf = *pred ? p : 1.0f - p;
        ev->topk_hits[1] += *pred == true_cls;
    } else {
        int idx[TLR_EVAL_TOPK];
        int m = tlr_top_k(y, n, TLR_EVAL_TOPK, idx);
        *pred = m > 0 ? idx[0] : 0;
        *conf = m > 0 ? y[idx[0]] : 0.0f;
        for (int k = 1; k <= TLR_EVAL_TOPK; k++) {
            int hit = 0;
            for (int j = 0; j < k && j < m; j++)
                hit |= idx[j] == true_cls;
            ev->topk_hits[k] += hit;
        }
    }
    if (*pred >= ev->n_classes)
        *pred = ev->n_classes - 1; /* an output wider than the classes: counted as the last */
    ev->confusion[(size_t)true_cls * (size_t)ev->n_classes + (size_t)*pred]++;
    ev->n_evaluated++;
}

/* 1 when a ranks before b: higher score first (NaN last), then lower index. */
static int before(float sa, int64_t ia, float sb, int64_t ib)
{
    int na = isnan(sa), nb = isnan(sb);
    if (na != nb)
        return nb;
    if (!na && sa != sb)
        return sa > sb;
    return ia < ib;
}

/* Where a pick with this key would go in 'b' (b->n when it would not be kept). */
static int best_slot(const tlr_eval_best *b, float score, int64_t index)
{
    int at = b->n;
    while (at > 0 && before(score, index, b->items[at - 1].score, b->items[at - 1].index))
        at--;
    return at < b->cap ? at : -1;
}

/* Puts 'p' (moved) at position 'at', dropping the last pick when full. */
static void best_insert(tlr_eval_best *b, int at, tlr_eval_pick *p)
{
    if (!b->items)
        b->items = tlr_xcalloc((size_t)b->cap + 1, sizeof *b->items);
    if (b->n == b->cap)
        pick_free(&b->items[--b->n]);
    memmove(&b->items[at + 1], &b->items[at], (size_t)(b->n - at) * sizeof *b->items);
    b->items[at] = *p;
    b->n++;
    memset(p, 0, sizeof *p);
}

tlr_image *tlr_eval_thumbnail(const tlr_image *seen)
{
    tlr_image *rgb = tlr_preprocess_to_rgb(seen);
    int side = rgb->w > rgb->h ? rgb->w : rgb->h;
    int w = (int)lround((double)rgb->w * TLR_EVAL_THUMB / side);
    int h = (int)lround((double)rgb->h * TLR_EVAL_THUMB / side);
    w = w < 1 ? 1 : w;
    h = h < 1 ? 1 : h;
    /* small inputs are enlarged without blurring, large ones reduced smoothly */
    tlr_image *t = tlr_preprocess_resize(rgb, w, h, side < TLR_EVAL_THUMB ? TLR_PIL_NEAREST
                                                                            : TLR_PIL_BILINEAR);
    tlr_image_free(rgb);
    return t;
}

void tlr_eval_offer(tlr_eval_best *b, int64_t index, const char *rel, int true_cls, int pred_cls,
                    float score, const tlr_image *seen)
{
    int at = best_slot(b, score, index);
    if (at < 0)
        return;
    tlr_eval_pick p = { index, tlr_xstrdup(rel), true_cls, pred_cls, score,
                        seen ? tlr_eval_thumbnail(seen) : NULL };
    best_insert(b, at, &p);
}

void tlr_eval_offer_sample(tlr_eval *ev, int64_t key, int64_t index, tlr_input *in)
{
    int at = ev->n_samples;
    while (at > 0 && ev->samples[at - 1].key > key)
        at--;
    if (at >= ev->max_samples) {
        tlr_input_free(in);
        return;
    }
    if (!ev->samples)
        ev->samples = tlr_xcalloc((size_t)ev->max_samples + 1, sizeof *ev->samples);
    if (ev->n_samples == ev->max_samples)
        tlr_input_free(&ev->samples[--ev->n_samples].input);
    memmove(&ev->samples[at + 1], &ev->samples[at],
            (size_t)(ev->n_samples - at) * sizeof *ev->samples);
    ev->samples[at] = (tlr_eval_sample){ key, index, *in };
    ev->n_samples++;
    memset(in, 0, sizeof *in);
}

void tlr_eval_skip_add(tlr_eval *ev, int64_t index, const char *text)
{
    if (ev->n_skips == ev->cap_skips) {
        ev->cap_skips = ev->cap_skips ? 2 * ev->cap_skips : 16;
        ev->skips = tlr_xrealloc(ev->skips, (size_t)ev->cap_skips * sizeof *ev->skips);
    }
    int at = ev->n_skips;
    while (at > 0 && ev->skips[at - 1].index > index)
        at--;
    memmove(&ev->skips[at + 1], &ev->skips[at], (size_t)(ev->n_skips - at) * sizeof *ev->skips);
    ev->skips[at] = (tlr_eval_skip){ index, tlr_xstrdup(text) };
    ev->n_skips++;
}

static void best_merge(tlr_eval_best *dst, tlr_eval_best *src)
{
    for (int i = 0; i < src->n; i++) {
        int at = best_slot(dst, src->items[i].score, src->items[i].index);
        if (at >= 0)
            best_insert(dst, at, &src->items[i]);
    }
    best_free(src);
}

static int same_classes(const tlr_eval *a, const tlr_eval *b)
{
    if (a->n_classes != b->n_classes || a->binary != b->binary)
        return 0;
    for (int i = 0; i < a->n_classes; i++)
        if (strcmp(a->classes.items[i], b->classes.items[i]) != 0)
            return 0;
    return 1;
}

tlr_status tlr_eval_merge(tlr_eval *dst, tlr_eval *src, tlr_err *err)
{
    if (!same_classes(dst, src))
        return tlr_err_set(err, TLR_E_USAGE, "the parts were made for different classes");
    if ((dst->filter_layer == NULL) != (src->filter_layer == NULL) ||
        (dst->filter_layer && strcmp(dst->filter_layer, src->filter_layer) != 0) ||
        dst->max_samples != src->max_samples)
        return tlr_err_set(err, TLR_E_USAGE, "the parts were made with different options "
                           "(--features, --kernels or --max-images)");
    size_t cells = (size_t)dst->n_classes * (size_t)dst->n_classes;
    for (size_t i = 0; i < cells; i++)
        dst->confusion[i] += src->confusion[i];
    for (int k = 0; k <= TLR_EVAL_TOPK; k++)
        dst->topk_hits[k] += src->topk_hits[k];
    dst->n_evaluated += src->n_evaluated;
    if (src->n_filters > dst->n_filters) /* a slice without readable images ranked none */
        dst->n_filters = src->n_filters;
    if (src->layer_channels > dst->layer_channels)
        dst->layer_channels = src->layer_channels;
    best_merge(&dst->mistakes, &src->mistakes);
    for (int f = 0; f < TLR_EVAL_FILTERS; f++)
        best_merge(&dst->filters[f], &src->filters[f]);
    for (int i = 0; i < src->n_samples; i++)
        tlr_eval_offer_sample(dst, src->samples[i].key, src->samples[i].index,
                              &src->samples[i].input);
    src->n_samples = 0;
    for (int i = 0; i < src->n_skips; i++)
        tlr_eval_skip_add(dst, src->skips[i].index, src->skips[i].text);
    return TLR_OK;
}
