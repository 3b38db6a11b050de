/* compare.c - two models matched layer by layer, and the change of each layer's arrays
 * (see compare.h). */
#include "report/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "keras/shape.h"

const char *tlr_cmp_status_name(tlr_cmp_status s)
{
    static const char *const names[TLR_CMP_COUNT] = {
        [TLR_CMP_SAME] = "same", [TLR_CMP_CHANGED] = "changed", [TLR_CMP_ADDED] = "added",
        [TLR_CMP_REMOVED] = "removed", [TLR_CMP_RESHAPED] = "reshaped",
    };
    _Static_assert(TLR_CMP_COUNT == 5, "update names");
    return s < TLR_CMP_COUNT ? names[s] : "?";
}

double tlr_cmp_rel(const tlr_cmp_sums *s)
{
    if (s->sq_diff == 0)
        return 0;
    if (s->sq_before == 0)
        return INFINITY;
    return sqrt(s->sq_diff) / sqrt(s->sq_before);
}

int tlr_cmp_moved(const tlr_cmp_sums *s)
{
    return s->n_changed > 0;
}

/* ---- building the list ------------------------------------------------------------------ */

typedef struct {
    tlr_compare *c;
    int cap_layers, cap_configs;
} cmp_ctx;

static tlr_cmp_layer *push_layer(cmp_ctx *C)
{
    tlr_compare *c = C->c;
    if (c->n_layers == C->cap_layers) {
        C->cap_layers = C->cap_layers ? 2 * C->cap_layers : 64;
        c->layers = tlr_xrealloc(c->layers, (size_t)C->cap_layers * sizeof *c->layers);
    }
    tlr_cmp_layer *e = &c->layers[c->n_layers++];
    memset(e, 0, sizeof *e);
    return e;
}

static char *join_path(const char *prefix, const char *name)
{
    return prefix[0] ? tlr_xasprintf("%s/%s", prefix, name) : tlr_xstrdup(name);
}

static int layer_has_arrays(const tlr_layer *l)
{
    if (!l)
        return 0;
    if (l->op == TLR_OP_MODEL) {
        for (int i = 0; i < l->inner->n_layers; i++)
            if (layer_has_arrays(&l->inner->layers[i]))
                return 1;
        return 0;
    }
    return l->n_weights > 0;
}

/* Adds one value pair to the sums; two NaNs are equal, a NaN and a number are not. */
static void add_pair(tlr_cmp_sums *s, float a, float b)
{
    s->n_elems++;
    if (a == b || (isnan(a) && isnan(b))) {
        s->sq_before += (double)a * (double)a;
        return;
    }
    s->n_changed++;
    double d = (double)b - (double)a;
    if (isnan(d) || isinf(d)) {
        s->max_abs = INFINITY;
        return;
    }
    s->sq_before += isfinite(a) ? (double)a * (double)a : 0;
    s->sq_diff += d * d;
    if (fabs(d) > s->max_abs)
        s->max_abs = fabs(d);
}

static void add_sums(tlr_cmp_sums *to, const tlr_cmp_sums *from)
{
    to->n_arrays += from->n_arrays;
    to->n_elems += from->n_elems;
    to->n_changed += from->n_changed;
    to->sq_before += from->sq_before;
    to->sq_diff += from->sq_diff;
    if (from->max_abs > to->max_abs)
        to->max_abs = from->max_abs;
}

/* Same class, same number of arrays and the same shape for each. */
static int same_structure(const tlr_layer *a, const tlr_layer *b)
{
    if (strcmp(a->class_name, b->class_name) != 0 || a->n_weights != b->n_weights)
        return 0;
    for (int k = 0; k < a->n_weights; k++) {
        const tlr_weight *wa = &a->weights[k], *wb = &b->weights[k];
        if (wa->ndim != wb->ndim ||
            memcmp(wa->shape, wb->shape, (size_t)wa->ndim * sizeof wa->shape[0]) != 0)
            return 0;
    }
    return 1;
}

/* The sums of a matched plain layer (same structure). */
static void compare_arrays(tlr_cmp_layer *e, const tlr_layer *a, const tlr_layer *b)
{
    for (int k = 0; k < a->n_weights; k++) {
        const tlr_weight *wa = &a->weights[k], *wb = &b->weights[k];
        if (!wa->data || !wb->data)
            continue; /* not stored, or integer state that is never loaded */
        tlr_cmp_sums *s = tlr_weight_role_trainable(wb->role) ? &e->w : &e->stats;
        int64_t n = tlr_shape_numel(wb->ndim, wb->shape);
        s->n_arrays++;
        for (int64_t i = 0; i < n; i++)
            add_pair(s, wa->data[i], wb->data[i]);
    }
}

static const char *const config_keys[] = {
    "activation", "units", "filters", "kernel_size", "rate",
};

/* Compact JSON of a config member ("relu" without quotes), or "null". */
static char *config_value(const tlr_layer *l, const char *key)
{
    const tlr_json *v = tlr_json_get(l->config, key);
    if (!v)
        return tlr_xstrdup("null");
    if (tlr_json_is_string(v))
        return tlr_xstrdup(tlr_json_string(v, ""));
    return tlr_json_print(v, 0);
}

static void push_config(cmp_ctx *C, const char *path, const char *key, char *before, char *after)
{
    if (strcmp(before, after) == 0) {
        free(before);
        free(after);
        return;
    }
    tlr_compare *c = C->c;
    if (c->n_configs == C->cap_configs) {
        C->cap_configs = C->cap_configs ? 2 * C->cap_configs : 16;
        c->configs = tlr_xrealloc(c->configs, (size_t)C->cap_configs * sizeof *c->configs);
    }
    c->configs[c->n_configs++] = (tlr_cmp_config){ tlr_xstrdup(path), key, before, after };
}

/* The settings that matter, for a matched pair. */
static void compare_configs(cmp_ctx *C, const char *path, const tlr_layer *a, const tlr_layer *b)
{
    push_config(C, path, "class", tlr_xstrdup(a->class_name), tlr_xstrdup(b->class_name));
    push_config(C, path, "trainable", tlr_xstrdup(a->trainable ? "true" : "false"),
                tlr_xstrdup(b->trainable ? "true" : "false"));
    for (size_t k = 0; k < sizeof config_keys / sizeof config_keys[0]; k++)
        push_config(C, path, config_keys[k], config_value(a, config_keys[k]),
                    config_value(b, config_keys[k]));
}

static void free_layer_entry(tlr_cmp_layer *e)
{
    free(e->path);
    free(e->before_path);
}

/* ---- one level of nesting ---------------------------------------------------------------- */

typedef struct {
    const tlr_model *m;
    const char *prefix;   /* path of the enclosing model, "" at the top */
    int *idx;             /* visible layers */
    int n;
} level_side;

static void emit_one_sided(cmp_ctx *C, const tlr_layer *l, const char *prefix, int depth,
                           int removed);

/* Does not train: a nested model none of whose weights train (the freeze may be on the
 * model or on each inner layer), or a plain layer not trainable here or above. */
static int is_frozen(const tlr_layer *l)
{
    if (l->op == TLR_OP_MODEL)
        return tlr_layer_param_count(l) > 0 && l->params_trainable == 0;
    return !l->eff_trainable;
}

/* Every layer of a nested model, as added or removed. */
static void emit_inner_one_sided(cmp_ctx *C, const tlr_model *m, const char *prefix, int depth,
                                 int removed)
{
    int n;
    int *idx = tlr_model_visible_alloc(m, &n);
    for (int i = 0; i < n; i++)
        emit_one_sided(C, &m->layers[idx[i]], prefix, depth, removed);
    free(idx);
}

static void emit_one_sided(cmp_ctx *C, const tlr_layer *l, const char *prefix, int depth,
                           int removed)
{
    tlr_cmp_layer *e = push_layer(C);
    e->path = join_path(prefix, l->name);
    e->before = removed ? l : NULL;
    e->after = removed ? NULL : l;
    e->status = removed ? TLR_CMP_REMOVED : TLR_CMP_ADDED;
    e->depth = depth;
    e->is_model = l->op == TLR_OP_MODEL;
    e->has_weights = layer_has_arrays(l);
    e->frozen = e->has_weights && is_frozen(l);
    if (e->is_model) {
        char *p = tlr_xstrdup(e->path); /* 'e' moves when the list grows */
        emit_inner_one_sided(C, l->inner, p, depth + 1, removed);
        free(p);
    }
}

static void compare_pair(cmp_ctx *C, const tlr_layer *a, const tlr_layer *b, const char *pa,
                         const char *pb, int depth);

/* Pairs B's layers with A's: by name, then leftovers of the same class and shapes in order
 * (renamed).  pair[j] is the A position of B's layer j, or -1. */
static void match_level(const level_side *A, const level_side *B, int *pair)
{
    int *used = tlr_xcalloc((size_t)A->n + 1, sizeof *used);
    for (int j = 0; j < B->n; j++) {
        pair[j] = -1;
        const char *name = B->m->layers[B->idx[j]].name;
        for (int i = 0; i < A->n && pair[j] < 0; i++)
            if (!used[i] && strcmp(A->m->layers[A->idx[i]].name, name) == 0) {
                pair[j] = i;
                used[i] = 1;
            }
    }
    int floor = -1;
    for (int j = 0; j < B->n; j++) {
        if (pair[j] >= 0) {
            floor = pair[j];
            continue;
        }
        const tlr_layer *lb = &B->m->layers[B->idx[j]];
        for (int i = floor + 1; i < A->n; i++) {
            const tlr_layer *la = &A->m->layers[A->idx[i]];
            if (!used[i] && (la->op == TLR_OP_MODEL) == (lb->op == TLR_OP_MODEL) &&
                same_structure(la, lb)) {
                pair[j] = i;
                used[i] = 1;
                floor = i;
                break;
            }
        }
    }
    free(used);
}

/* A's layers not paired, from position *next up to (not including) 'until', as removed. */
static void emit_removed_until(cmp_ctx *C, const level_side *A, const int *a_used, int *next,
                               int until, int depth)
{
    for (; *next < until; (*next)++)
        if (!a_used[*next])
            emit_one_sided(C, &A->m->layers[A->idx[*next]], A->prefix, depth, 1);
}

static void compare_level(cmp_ctx *C, const level_side *A, const level_side *B, int depth)
{
    int *pair = tlr_xcalloc((size_t)B->n + 1, sizeof *pair);
    int *a_used = tlr_xcalloc((size_t)A->n + 1, sizeof *a_used);
    match_level(A, B, pair);
    for (int j = 0; j < B->n; j++)
        if (pair[j] >= 0)
            a_used[pair[j]] = 1;
    int next = 0;
    for (int j = 0; j < B->n; j++) {
        const tlr_layer *lb = &B->m->layers[B->idx[j]];
        if (pair[j] < 0) {
            emit_one_sided(C, lb, B->prefix, depth, 0);
            continue;
        }
        emit_removed_until(C, A, a_used, &next, pair[j], depth);
        compare_pair(C, &A->m->layers[A->idx[pair[j]]], lb, A->prefix, B->prefix, depth);
    }
    emit_removed_until(C, A, a_used, &next, A->n, depth);
    free(a_used);
    free(pair);
}

/* A nested model's sums and status from its direct children (entries first..end). */
static void aggregate_model(tlr_compare *c, int self, int first)
{
    tlr_cmp_layer *e = &c->layers[self];
    int any_changed = 0, any_structural = 0;
    for (int k = first; k < c->n_layers; k++) {
        const tlr_cmp_layer *x = &c->layers[k];
        if (x->depth != e->depth + 1)
            continue;
        if (x->status == TLR_CMP_CHANGED)
            any_changed = 1;
        else if (x->status != TLR_CMP_SAME)
            any_structural = 1;
        if (x->status == TLR_CMP_SAME || x->status == TLR_CMP_CHANGED) {
            add_sums(&e->w, &x->w);
            add_sums(&e->stats, &x->stats);
        }
    }
    e->status = any_structural ? TLR_CMP_RESHAPED : any_changed ? TLR_CMP_CHANGED : TLR_CMP_SAME;
}

static void compare_pair(cmp_ctx *C, const tlr_layer *a, const tlr_layer *b, const char *pa,
                         const char *pb, int depth)
{
    int self = C->c->n_layers;
    tlr_cmp_layer *e = push_layer(C);
    e->path = join_path(pb, b->name);
    char *before_path = join_path(pa, a->name);
    if (strcmp(before_path, e->path) != 0)
        e->before_path = before_path;
    else
        free(before_path);
    e->before = a;
    e->after = b;
    e->depth = depth;
    e->is_model = a->op == TLR_OP_MODEL && b->op == TLR_OP_MODEL;
    e->has_weights = layer_has_arrays(a) || layer_has_arrays(b);
    e->frozen = e->has_weights && is_frozen(b);
    compare_configs(C, e->path, a, b);
    if (e->is_model) {
        char *pa2 = join_path(pa, a->name), *pb2 = tlr_xstrdup(e->path);
        level_side A = { a->inner, pa2, NULL, 0 }, B = { b->inner, pb2, NULL, 0 };
        A.idx = tlr_model_visible_alloc(a->inner, &A.n);
        B.idx = tlr_model_visible_alloc(b->inner, &B.n);
        compare_level(C, &A, &B, depth + 1);
        free(A.idx);
        free(B.idx);
        free(pa2);
        free(pb2);
        aggregate_model(C->c, self, self + 1);
        return;
    }
    if ((a->op == TLR_OP_MODEL) != (b->op == TLR_OP_MODEL) || !same_structure(a, b)) {
        e->status = TLR_CMP_RESHAPED;
        return;
    }
    compare_arrays(e, a, b);
    e->status = tlr_cmp_moved(&e->w) || tlr_cmp_moved(&e->stats) ? TLR_CMP_CHANGED : TLR_CMP_SAME;
}

tlr_compare *tlr_compare_models(const tlr_model *before, const tlr_model *after)
{
    tlr_compare *c = tlr_xcalloc(1, sizeof *c);
    cmp_ctx C = { c, 0, 0 };
    level_side A = { before, "", NULL, 0 }, B = { after, "", NULL, 0 };
    A.idx = tlr_model_visible_alloc(before, &A.n);
    B.idx = tlr_model_visible_alloc(after, &B.n);
    compare_level(&C, &A, &B, 0);
    free(A.idx);
    free(B.idx);
    return c;
}

void tlr_compare_free(tlr_compare *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_layers; i++)
        free_layer_entry(&c->layers[i]);
    for (int i = 0; i < c->n_configs; i++) {
        free(c->configs[i].path);
        free(c->configs[i].before);
        free(c->configs[i].after);
    }
    free(c->layers);
    free(c->configs);
    free(c);
}
