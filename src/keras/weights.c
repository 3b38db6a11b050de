/* weights.c - stored weights to layer weights: matching by name, legacy conversions
 * (Keras 1 kernel layouts, the Theano kernel flip), shape checks and loading. */
#include "keras/weights.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/strlist.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "keras/k1rnn.h"
#include "keras/shape.h"
#include "keras/weights_parts.h"

/* ---- names ------------------------------------------------------------------------------- */

void tlr_snake_case(const char *cls, char *out, size_t cap)
{
    /* Keras: drop non-word chars; "(.)([A-Z][a-z]+)" -> "\1_\2"; "([a-z])([A-Z])" -> "\1_\2". */
    char a[256];
    size_t n = 0;
    for (const char *p = cls; *p && n + 1 < sizeof a; p++)
        if (isalnum((unsigned char)*p) || *p == '_')
            a[n++] = *p;
    a[n] = '\0';
    char b[512];
    size_t m = 0;
    for (size_t i = 0; i < n && m + 2 < sizeof b; i++) {
        if (i > 0 && isupper((unsigned char)a[i]) && i + 1 < n && islower((unsigned char)a[i + 1]))
            b[m++] = '_';
        b[m++] = a[i];
    }
    b[m] = '\0';
    size_t k = 0;
    for (size_t i = 0; i < m && k + 2 < cap; i++) {
        if (i > 0 && islower((unsigned char)b[i - 1]) && isupper((unsigned char)b[i]))
            out[k++] = '_';
        out[k++] = (char)tolower((unsigned char)b[i]);
    }
    out[k] = '\0';
}

/* "block1_conv1/kernel:0" -> "kernel"; Keras 1 "dense_1_W" -> "kernel". */
static void role_of(const char *stored, const char *layer_name, char *out, size_t cap)
{
    const char *slash = strrchr(stored, '/');
    const char *base = slash ? slash + 1 : stored;
    size_t len = strlen(base);
    const char *colon = strrchr(base, ':');
    if (colon)
        len = (size_t)(colon - base);
    if (!slash && layer_name) {
        size_t ln = strlen(layer_name);
        if (len > ln + 1 && strncmp(base, layer_name, ln) == 0 && base[ln] == '_') {
            base += ln + 1;
            len -= ln + 1;
        }
    }
    static const struct { const char *k1, *k2; } legacy[] = {
        { "W", "kernel" }, { "b", "bias" }, { "running_mean", "moving_mean" },
        { "running_std", "moving_variance" }, { "depthwise_kernel", "depthwise_kernel" },
        { "U", "recurrent_kernel" },
    };
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
        if (strlen(legacy[i].k1) == len && strncmp(base, legacy[i].k1, len) == 0) {
            snprintf(out, cap, "%s", legacy[i].k2);
            return;
        }
    snprintf(out, cap, "%.*s", (int)len, base);
}

/* ---- stored weights ------------------------------------------------------------------------ */

void tlr_wp_stored_free(stored_list *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->w[i].name);
        free(s->w[i].path);
    }
    free(s->w);
    s->w = NULL;
    s->n = 0;
}

tlr_status tlr_wp_stored_add(stored_list *s, tlr_h5 *h, const char *name, const char *path,
                             tlr_err *err)
{
    s->w = tlr_xrealloc(s->w, (size_t)(s->n + 1) * sizeof *s->w);
    stored_w *w = &s->w[s->n];
    memset(w, 0, sizeof *w);
    tlr_status st = tlr_h5_dataset_info(h, path, &w->info, err);
    if (st)
        return st;
    w->name = tlr_xstrdup(name);
    w->path = tlr_xstrdup(path);
    s->n++;
    return TLR_OK;
}

/* ---- layout conversions -------------------------------------------------------------------- */

typedef struct {
    int perm[8];      /* out axis i takes stored axis perm[i] */
    int has_perm;
    int flip;         /* reverse every axis but the last two (Theano kernels) */
} plan;

static int is_conv_kernel(const tlr_layer *l, const tlr_weight *w)
{
    return (l->op == TLR_OP_CONV || l->op == TLR_OP_CONV_TRANSPOSE) && strcmp(w->role, "kernel") == 0;
}

static int shape_eq(int na, const int64_t *a, int nb, const int64_t *b)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i] && !(a[i] < 0 || b[i] < 0))
            return 0;
    return 1;
}

static int try_perm(const int64_t *s, int ns, const tlr_weight *w, const int *perm, plan *p)
{
    if (ns != w->ndim)
        return 0;
    int64_t t[8];
    for (int i = 0; i < ns; i++)
        t[i] = s[perm[i]];
    if (!shape_eq(ns, t, w->ndim, w->shape))
        return 0;
    memcpy(p->perm, perm, (size_t)ns * sizeof *perm);
    p->has_perm = 1;
    return 1;
}

/* Only size-1 axes differ: a plain reshape. */
static int same_squeezed(int na, const int64_t *a, int nb, const int64_t *b)
{
    int i = 0, j = 0;
    for (;;) {
        while (i < na && a[i] == 1)
            i++;
        while (j < nb && b[j] == 1)
            j++;
        if (i == na || j == nb)
            return i == na && j == nb;
        if (a[i++] != b[j++])
            return 0;
    }
}

/* How stored data becomes the expected layout; 0 when it cannot. */
static int make_plan(const tlr_layer *l, const tlr_weight *w, const tlr_h5_dsinfo *s,
                     const tlr_weights_ctx *ctx, plan *p)
{
    memset(p, 0, sizeof *p);
    p->flip = ctx->backend_theano && is_conv_kernel(l, w) && w->ndim >= 3;
    static const int th2tf[4] = { 2, 3, 1, 0 }, tf_alt[4] = { 3, 2, 0, 1 };
    static const int deconv_last[4] = { 0, 1, 3, 2 }, deconv_first[4] = { 2, 3, 0, 1 };
    if (is_conv_kernel(l, w) && ctx->keras_major == 1 && s->ndim == 4 && w->ndim == 4) {
        if (l->op == TLR_OP_CONV && l->cfg.conv.channels_first && try_perm(s->dims, 4, w, th2tf, p))
            return 1;
        if (l->op == TLR_OP_CONV_TRANSPOSE &&
            try_perm(s->dims, 4, w, l->cfg.conv.channels_first ? deconv_first : deconv_last, p))
            return 1;
    }
    if (shape_eq(s->ndim, s->dims, w->ndim, w->shape))
        return 1;
    /* Only Keras 1 files need their layout guessed from the shapes (Theano 'th' kernels,
     * legacy Conv1D kernels).  Keras 2 and 3 store every weight in the shape the layer
     * builds, and refuse any other (variable assignment checks the shape; Keras 3's legacy
     * loader names the mismatch), so another shape is an error for them. */
    if (ctx->keras_major != 1)
        return 0;
    if (is_conv_kernel(l, w) && s->ndim == 4 && w->ndim == 4 &&
        (try_perm(s->dims, 4, w, tf_alt, p) || try_perm(s->dims, 4, w, th2tf, p)))
        return 1;
    if (is_conv_kernel(l, w) && s->ndim == 4 && w->ndim == 3) {
        /* Keras 1 Conv1D kernels: (k, 1, in, f), or legacy (f, in, k, 1). */
        if (s->dims[1] == 1 && s->dims[0] == w->shape[0] && s->dims[2] == w->shape[1] &&
            s->dims[3] == w->shape[2])
            return 1;
        if (s->dims[3] == 1 && s->dims[2] == w->shape[0] && s->dims[1] == w->shape[1] &&
            s->dims[0] == w->shape[2]) {
            static const int p1d[3] = { 2, 1, 0 };
            memcpy(p->perm, p1d, sizeof p1d);
            p->has_perm = 2; /* drop the trailing 1 first */
            return 1;
        }
    }
    return same_squeezed(s->ndim, s->dims, w->ndim, w->shape);
}

static void fmt_dims(int n, const int64_t *d, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    if (k < cap)
        snprintf(out + k, cap - k, n == 1 ? ",)" : ")");
}

static tlr_status attach(tlr_layer *l, tlr_weight *w, stored_w *s, const char *lpath,
                         const tlr_weights_ctx *ctx, tlr_err *err)
{
    plan p;
    if (w->ndim > 0 && !make_plan(l, w, &s->info, ctx, &p)) {
        char a[96], b[96];
        fmt_dims(s->info.ndim, s->info.dims, a, sizeof a);
        fmt_dims(w->ndim, w->shape, b, sizeof b);
        return tlr_err_set(err, TLR_E_SHAPE, "%s: layer '%s': %s %s, expected %s", ctx->what,
                           lpath, w->role, a, b);
    }
    s->used = 1;
    free(w->stored_name);
    free(w->path);
    w->stored_name = tlr_xstrdup(s->name);
    w->path = tlr_xstrdup(s->path);
    w->stored_ndim = s->info.ndim;
    memcpy(w->stored_shape, s->info.dims, sizeof w->stored_shape);
    w->stored_dtype = tlr_dtype_name(s->info.dtype, s->info.elem_size);
    if (s->info.dtype != TLR_DT_F32 && s->info.dtype != TLR_DT_F64 && s->info.dtype != TLR_DT_F16 &&
        !(s->info.dtype == TLR_DT_INT && strcmp(w->role, "count") == 0))
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: layer '%s': %s is stored as %s, not floats",
                           ctx->what, lpath, w->role, w->stored_dtype);
    return TLR_OK;
}

/* For classes whose weights tlreport cannot derive, the stored ones are the weights. */
static void adopt_stored(tlr_layer *l, stored_w *s, int n)
{
    for (int i = 0; i < n; i++) {
        l->weights = tlr_xrealloc(l->weights, (size_t)(l->n_weights + 1) * sizeof *l->weights);
        tlr_weight *w = &l->weights[l->n_weights++];
        memset(w, 0, sizeof *w);
        char role[128];
        role_of(s[i].name, l->name, role, sizeof role);
        w->role = tlr_xstrdup(role);
        w->ndim = s[i].info.ndim;
        memcpy(w->shape, s[i].info.dims, sizeof w->shape);
        w->stored_name = tlr_xstrdup(s[i].name);
        w->path = tlr_xstrdup(s[i].path);
        w->stored_ndim = s[i].info.ndim;
        memcpy(w->stored_shape, s[i].info.dims, sizeof w->stored_shape);
        w->stored_dtype = tlr_dtype_name(s[i].info.dtype, s[i].info.elem_size);
        s[i].used = 1;
    }
}

/* The file stores another number of arrays for the layer than it has weights. */
static tlr_status count_mismatch(const tlr_layer *l, int n, const char *lpath,
                                 const tlr_weights_ctx *ctx, int *unpaired, tlr_err *err)
{
    *unpaired = 1;
    return tlr_err_set(err, TLR_E_SHAPE, "%s: layer '%s' (%s): the file stores %d weights, the "
                       "layer has %d", ctx->what, lpath, l->class_name, n, l->n_weights);
}

/* ---- Keras 1 gate-wise recurrent weights (k1rnn.h) ------------------------------------------ */

/* A gate's stored array: the joined weight's shape with the last axis divided by 'g', and the
 * same as the first gate 'ref' (NULL for the first gate itself). */
static tlr_status k1_check_gate(const tlr_weight *t, const stored_w *p, const stored_w *ref, int g,
                                const char *lpath, const tlr_weights_ctx *ctx, tlr_err *err)
{
    int64_t want[8];
    memcpy(want, ref ? ref->info.dims : t->shape, sizeof want);
    if (!ref)
        want[t->ndim - 1] = t->shape[t->ndim - 1] < 0 ? -1 : t->shape[t->ndim - 1] / g;
    if (!shape_eq(p->info.ndim, p->info.dims, t->ndim, want)) {
        char a[96], b[96];
        fmt_dims(p->info.ndim, p->info.dims, a, sizeof a);
        fmt_dims(t->ndim, want, b, sizeof b);
        return tlr_err_set(err, TLR_E_SHAPE, "%s: layer '%s': %s gate %s %s, expected %s",
                           ctx->what, lpath, t->role, p->name, a, b);
    }
    if (p->info.dtype != TLR_DT_F32 && p->info.dtype != TLR_DT_F64 && p->info.dtype != TLR_DT_F16)
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: layer '%s': %s is stored as %s, not floats",
                           ctx->what, lpath, p->name, tlr_dtype_name(p->info.dtype, p->info.elem_size));
    if (strchr(p->name, TLR_K1RNN_SEP))
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: layer '%s': gate weight '%s' has a '%c' in "
                           "its name, which tlreport cannot join", ctx->what, lpath, p->name,
                           TLR_K1RNN_SEP);
    return TLR_OK;
}

/* Binds one direction's 3*g gate arrays 's' to its kernel, recurrent_kernel and bias 'w'. */
static tlr_status k1_join(tlr_weight *w, stored_w **s, int g, const int *order, const char *lpath,
                          const tlr_weights_ctx *ctx, tlr_err *err)
{
    for (int r = 0; r < 3; r++) {
        tlr_weight *t = &w[r];
        char *names = NULL;
        const stored_w *first = s[3 * order[0] + r];
        for (int k = 0; k < g; k++) {
            stored_w *p = s[3 * order[k] + r];
            tlr_status st = k1_check_gate(t, p, k ? first : NULL, g, lpath, ctx, err);
            if (st) {
                free(names);
                return st;
            }
            names = tlr_k1rnn_names_add(names, p->name);
            p->used = 1;
        }
        free(t->stored_name);
        free(t->path);
        t->stored_name = names;
        t->path = tlr_xstrdup(first->path);
        t->stored_ndim = first->info.ndim;
        memcpy(t->stored_shape, first->info.dims, sizeof t->stored_shape);
        t->stored_shape[t->stored_ndim - 1] *= g;
        t->stored_dtype = tlr_dtype_name(first->info.dtype, first->info.elem_size);
    }
    return TLR_OK;
}

/* A Keras 1 recurrent layer (or Bidirectional) with gate-wise weights: binds them joined and
 * sets '*done'.  Leaves everything else (and '*done' 0) to the ordinary binding. */
static tlr_status k1_rnn_bind(tlr_layer *l, stored_w **s, int n, const char *lpath,
                              const tlr_weights_ctx *ctx, int *done, int *unpaired, tlr_err *err)
{
    *done = 0;
    int dirs = l->op == TLR_OP_BIDIRECTIONAL ? 2 : 1;
    if (ctx->keras_major != 1 || (l->op != TLR_OP_RNN && dirs != 2) || n % dirs ||
        l->n_weights != 3 * dirs)
        return TLR_OK;
    const tlr_rnn_cfg *cfg[2] = { dirs == 1 ? &l->cfg.rnn : &l->rnn_inner,
                                  l->has_backward ? &l->rnn_backward : &l->rnn_inner };
    const int *order[2] = { NULL, NULL };
    int half = n / dirs, g[2] = { 0, 0 };
    for (int d = 0; d < dirs; d++)
        g[d] = tlr_k1rnn_gates(cfg[d], half, &order[d]);
    if (!g[0] && !g[1])
        return TLR_OK;
    *done = 1;
    tlr_status st = TLR_OK;
    for (int d = 0; d < dirs && !st; d++) {
        if (g[d])
            st = k1_join(&l->weights[3 * d], s + d * half, g[d], order[d], lpath, ctx, err);
        else if (half != 3)
            st = count_mismatch(l, n, lpath, ctx, unpaired, err);
        else /* by position, as Keras 2 */
            for (int i = 0; i < 3 && !st; i++)
                st = attach(l, &l->weights[3 * d + i], s[d * half + i], lpath, ctx, err);
    }
    return st;
}

/* Assigns stored weights (all belonging to plain layer 'l') by role, then by position;
 * '*unpaired' is set when the arrays cannot even be paired with the weights (their count). */
static tlr_status bind_strict(tlr_layer *l, stored_w **s, int n, const char *lpath,
                              const tlr_weights_ctx *ctx, int *unpaired, tlr_err *err)
{
    if (!l->weights_known) {
        for (int i = 0; i < n; i++)
            adopt_stored(l, s[i], 1);
        return TLR_OK;
    }
    int k1_done;
    tlr_status k1 = k1_rnn_bind(l, s, n, lpath, ctx, &k1_done, unpaired, err);
    if (k1 || k1_done)
        return k1;
    if (n != l->n_weights)
        return count_mismatch(l, n, lpath, ctx, unpaired, err);
    int *taken = tlr_xcalloc((size_t)n + 1, sizeof *taken);
    int *match = tlr_xcalloc((size_t)n + 1, sizeof *match);
    for (int i = 0; i < n; i++)
        match[i] = -1;
    for (int i = 0; i < n; i++) {
        char role[128];
        role_of(s[i]->name, l->name, role, sizeof role);
        for (int j = 0; j < l->n_weights; j++)
            if (!taken[j] && strcmp(role, l->weights[j].role) == 0) {
                taken[j] = 1;
                match[i] = j;
                break;
            }
    }
    /* Unrecognised names keep Keras's positional rule. */
    for (int i = 0; i < n; i++)
        if (match[i] < 0)
            for (int j = 0; j < l->n_weights; j++)
                if (!taken[j]) {
                    taken[j] = 1;
                    match[i] = j;
                    break;
                }
    tlr_status st = TLR_OK;
    for (int i = 0; i < n && !st; i++)
        st = attach(l, &l->weights[match[i]], s[i], lpath, ctx, err);
    free(taken);
    free(match);
    return st;
}

/* The reason in a binding message, without the file and layer it starts with. */
static const char *unbound_reason(const char *msg, const tlr_layer *l, const char *lpath,
                                  const tlr_weights_ctx *ctx)
{
    size_t n = strlen(ctx->what);
    if (strncmp(msg, ctx->what, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    char a[1024], b[1024];
    snprintf(a, sizeof a, "layer '%s': ", lpath);
    snprintf(b, sizeof b, "layer '%s' (%s): ", lpath, l->class_name);
    if (strncmp(msg, a, strlen(a)) == 0)
        return msg + strlen(a);
    if (strncmp(msg, b, strlen(b)) == 0)
        return msg + strlen(b);
    return msg;
}

/* Forgets whatever part of the binding succeeded: the layer keeps its expected weights (so
 * its parameter count comes from the configuration) and does not run. */
static void mark_unbound(tlr_layer *l, stored_w **s, int n, const char *reason)
{
    for (int k = 0; k < l->n_weights; k++) {
        tlr_weight *w = &l->weights[k];
        free(w->stored_name);
        free(w->path);
        tlr_weight_drop_data(w);
        w->stored_name = w->path = NULL;
        w->stored_ndim = 0;
        w->stored_dtype = NULL;
    }
    for (int i = 0; i < n; i++)
        s[i]->used = 1;
    free(l->cannot_run);
    l->cannot_run = tlr_xstrdup(reason);
    l->weights_unbound = 1;
}

tlr_status tlr_wp_bind_layer(tlr_layer *l, stored_w **s, int n, const char *lpath,
                             const tlr_weights_ctx *ctx, tlr_err *err)
{
    int unpaired = 0;
    tlr_status st = bind_strict(l, s, n, lpath, ctx, &unpaired, err);
    /* Keras 2 and 3 refuse weights that do not fit their layer, so from them a mismatch means
     * a damaged or mismatched file.  Keras 1 files pass through the legacy loader's layout
     * conversions, of which tlreport has only some: when a Keras 1 layer's arrays cannot be
     * paired with its weights at all, the layer is left unbound.  An array of the wrong
     * shape among arrays that pair is damage, and stays an error. */
    if (!st || !unpaired || ctx->keras_major != 1)
        return st;
    mark_unbound(l, s, n, unbound_reason(err->msg, l, lpath, ctx));
    tlr_err_clear(err);
    return TLR_OK;
}

/* ---- nested models ------------------------------------------------------------------------- */

typedef struct {
    tlr_layer *layer;
    char *path;  /* "block1_conv1" or "inner/dense" relative to the nested model */
    int depth;
} leaf;

typedef struct {
    leaf *v;
    int n;
} leaves;

static void collect_leaves(tlr_model *m, const char *prefix, int depth, leaves *out)
{
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->op == TLR_OP_MODEL) {
            collect_leaves(l->inner, p, depth + 1, out);
            free(p);
            continue;
        }
        out->v = tlr_xrealloc(out->v, (size_t)(out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (leaf){ l, p, depth };
    }
}

static void leaves_free(leaves *L)
{
    for (int i = 0; i < L->n; i++)
        free(L->v[i].path);
    free(L->v);
}

/* The leaf a stored name like "block1_conv1/kernel:0" or "model/inner/dense/kernel" is in. */
static int find_leaf(const leaves *L, const char *name)
{
    const char *last = strrchr(name, '/');
    if (!last)
        return -1;
    size_t dir_len = (size_t)(last - name);
    /* Longest suffix of the directory that is a leaf path. */
    for (size_t start = 0; start < dir_len; start++) {
        if (start > 0 && name[start - 1] != '/')
            continue;
        size_t len = dir_len - start;
        int found = -1, count = 0;
        for (int i = 0; i < L->n; i++) {
            const char *p = L->v[i].path;
            size_t pl = strlen(p);
            /* match the full leaf path, or its last component */
            const char *tail = strrchr(p, '/');
            tail = tail ? tail + 1 : p;
            if ((pl == len && strncmp(p, name + start, len) == 0) ||
                (strlen(tail) == len && strncmp(tail, name + start, len) == 0)) {
                found = i;
                count++;
            }
        }
        if (count == 1)
            return found;
    }
    return -1;
}

/* Keras's _legacy_weights order over a nested model: trainable then non-trainable. */
static void legacy_order(const leaves *L, tlr_weight ***out, tlr_layer ***owner, int *n)
{
    int cap = 0;
    for (int i = 0; i < L->n; i++)
        cap += L->v[i].layer->n_weights;
    *out = tlr_xcalloc((size_t)cap + 1, sizeof **out);
    *owner = tlr_xcalloc((size_t)cap + 1, sizeof **owner);
    *n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < L->n; i++) {
            tlr_layer *l = L->v[i].layer;
            for (int j = 0; j < l->n_weights; j++) {
                int tr = l->eff_trainable && tlr_weight_role_trainable(l->weights[j].role);
                if ((pass == 0) == (tr != 0)) {
                    (*out)[*n] = &l->weights[j];
                    (*owner)[(*n)++] = l;
                }
            }
        }
}

static tlr_status bind_nested(tlr_layer *nl, stored_list *S, const tlr_weights_ctx *ctx,
                              tlr_err *err)
{
    leaves L = { 0 };
    collect_leaves(nl->inner, "", 0, &L);
    int *owner = tlr_xcalloc((size_t)S->n + 1, sizeof *owner);
    int all_named = 1;
    for (int i = 0; i < S->n; i++) {
        owner[i] = find_leaf(&L, S->w[i].name);
        if (owner[i] < 0 || !L.v[owner[i]].layer->weights_known)
            all_named = 0;
    }
    tlr_status st = TLR_OK;
    if (all_named) {
        stored_w **group = tlr_xcalloc((size_t)S->n + 1, sizeof *group);
        for (int li = 0; li < L.n && !st; li++) {
            int k = 0;
            for (int i = 0; i < S->n; i++)
                if (owner[i] == li)
                    group[k++] = &S->w[i];
            char *p = tlr_xasprintf("%s/%s", nl->name, L.v[li].path);
            if (k || L.v[li].layer->n_weights)
                st = tlr_wp_bind_layer(L.v[li].layer, group, k, p, ctx, err);
            free(p);
        }
        free(group);
    } else {
        /* Names do not identify layers: Keras's positional rule over the nested model. */
        tlr_weight **ws;
        tlr_layer **lo;
        int n;
        legacy_order(&L, &ws, &lo, &n);
        if (n != S->n)
            st = tlr_err_set(err, TLR_E_SHAPE, "%s: nested model '%s': the file stores %d weights, "
                             "the model has %d", ctx->what, nl->name, S->n, n);
        for (int i = 0; i < n && !st; i++) {
            char *p = tlr_xasprintf("%s/%s", nl->name, lo[i]->name);
            st = attach(lo[i], ws[i], &S->w[i], p, ctx, err);
            free(p);
        }
        free(ws);
        free(lo);
    }
    free(owner);
    leaves_free(&L);
    return st;
}

/* ---- parameter counts ---------------------------------------------------------------------- */

void tlr_wp_count_params(tlr_model *m, int use_stored)
{
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        int64_t total = 0, tr = 0;
        if (l->op == TLR_OP_MODEL) {
            tlr_wp_count_params(l->inner, use_stored);
            for (int k = 0; k < l->inner->n_layers; k++) {
                total += tlr_layer_param_count(&l->inner->layers[k]);
                tr += l->inner->layers[k].params_trainable;
            }
        } else {
            for (int k = 0; k < l->n_weights; k++) {
                tlr_weight *w = &l->weights[k];
                w->trainable = l->eff_trainable && tlr_weight_role_trainable(w->role);
                int64_t n = 1;
                int nd = use_stored && w->path ? w->stored_ndim : w->ndim;
                const int64_t *d = use_stored && w->path ? w->stored_shape : w->shape;
                for (int j = 0; j < nd; j++)
                    n *= d[j] < 0 ? 0 : d[j];
                total += n;
                if (l->eff_trainable && tlr_weight_role_trainable(w->role))
                    tr += n;
            }
        }
        l->params = total;
        l->params_trainable = tr;
    }
}

void tlr_weights_count_expected(tlr_model *m)
{
    tlr_wp_count_params(m, 0);
}

/* Every expected weight must have found its data. */
tlr_status tlr_wp_check_complete(tlr_model *m, const char *prefix, const tlr_weights_ctx *ctx,
                                 tlr_err *err)
{
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        tlr_status st = TLR_OK;
        if (l->op == TLR_OP_MODEL)
            st = tlr_wp_check_complete(l->inner, p, ctx, err);
        for (int k = 0; k < l->n_weights && !st && !l->weights_unbound; k++)
            if (!l->weights[k].path)
                st = tlr_err_set(err, TLR_E_FORMAT, "%s: layer '%s': weight '%s' is not in the file",
                                 ctx->what, p, l->weights[k].role);
        free(p);
        if (st)
            return st;
    }
    return TLR_OK;
}

/* ---- legacy HDF5 --------------------------------------------------------------------------- */

static tlr_status read_layer_group(tlr_h5 *h, const char *root, const char *name,
                                   stored_list *out, const tlr_weights_ctx *ctx, tlr_err *err)
{
    char *g = strcmp(root, "/") == 0 ? tlr_xasprintf("/%s", name) : tlr_xasprintf("%s/%s", root, name);
    tlr_strlist names = TLR_STRLIST_INIT;
    tlr_status st = TLR_OK;
    if (!tlr_h5_is_group(h, g)) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: weights group '%s' is missing", ctx->what, g);
        goto out;
    }
    if ((st = tlr_h5_attr_strings(h, g, "weight_names", &names, err)))
        goto out;
    for (size_t i = 0; i < names.n && !st; i++) {
        char *path = tlr_xasprintf("%s/%s", g, names.items[i]);
        st = tlr_wp_stored_add(out, h, names.items[i], path, err);
        if (st == TLR_E_FORMAT && !tlr_h5_is_dataset(h, path))
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: layer '%s': weight '%s' is listed but the "
                             "dataset '%s' is missing", ctx->what, name, names.items[i], path);
        free(path);
    }
out:
    tlr_strlist_free(&names);
    free(g);
    return st;
}

int tlr_wp_has_weights(const tlr_layer *l)
{
    if (l->op == TLR_OP_INPUT)
        return 0;
    if (l->op == TLR_OP_MODEL) {
        for (int i = 0; i < l->inner->n_layers; i++)
            if (tlr_wp_has_weights(&l->inner->layers[i]))
                return 1;
        return 0;
    }
    return l->n_weights > 0 || !l->weights_known;
}

tlr_status tlr_weights_bind_legacy(tlr_model *m, tlr_h5 *h, const char *root,
                                   const tlr_weights_ctx *ctx, tlr_err *err)
{
    tlr_strlist layer_names = TLR_STRLIST_INIT;
    tlr_status st = tlr_h5_attr_strings(h, root, "layer_names", &layer_names, err);
    if (st)
        return st;
    /* Keras pairs stored groups with the model's weighted layers; match by name, and fall back
     * to Keras's positional pairing when the names differ (renamed layers). */
    int n_vis = m->n_layers;
    int *weighted = tlr_xcalloc((size_t)n_vis + 1, sizeof *weighted);
    int n_weighted = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (tlr_wp_has_weights(&m->layers[i]))
            weighted[n_weighted++] = i;
    int pos = 0;
    for (size_t k = 0; k < layer_names.n && !st; k++) {
        stored_list S = { 0 };
        st = read_layer_group(h, root, layer_names.items[k], &S, ctx, err);
        if (st || S.n == 0) {
            tlr_wp_stored_free(&S);
            continue;
        }
        int li = tlr_model_find(m, layer_names.items[k]);
        if (li < 0 || !tlr_wp_has_weights(&m->layers[li]))
            li = pos < n_weighted ? weighted[pos] : -1;
        pos++;
        if (li < 0) {
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: weights of layer '%s' do not belong to any "
                             "layer of the model", ctx->what, layer_names.items[k]);
        } else if (m->layers[li].op == TLR_OP_MODEL) {
            st = bind_nested(&m->layers[li], &S, ctx, err);
        } else {
            stored_w **ptrs = tlr_xcalloc((size_t)S.n, sizeof *ptrs);
            for (int i = 0; i < S.n; i++)
                ptrs[i] = &S.w[i];
            st = tlr_wp_bind_layer(&m->layers[li], ptrs, S.n, m->layers[li].name, ctx, err);
            free(ptrs);
        }
        tlr_wp_stored_free(&S);
    }
    free(weighted);
    tlr_strlist_free(&layer_names);
    if (!st)
        st = tlr_wp_check_complete(m, "", ctx, err);
    if (!st)
        tlr_wp_count_params(m, 1);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------- */

static int64_t budget(const tlr_weights_ctx *ctx)
{
    return ctx->max_bytes > 0 ? ctx->max_bytes : TLR_WEIGHTS_DEFAULT_MAX_BYTES;
}

/* Bytes the bound weights take as float32 (from their stored shapes), saturating at INT64_MAX. */
static int64_t weight_bytes(const tlr_model *m)
{
    int64_t total = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        int64_t b = l->op == TLR_OP_MODEL ? weight_bytes(l->inner) : 0;
        for (int k = 0; k < l->n_weights; k++) {
            const tlr_weight *w = &l->weights[k];
            if (!w->path || w->data)
                continue;
            int64_t n = tlr_shape_numel(w->stored_ndim, w->stored_shape);
            b = n < 0 || n > (INT64_MAX - b) / (int64_t)sizeof(float) ? INT64_MAX
                : b + n * (int64_t)sizeof(float);
        }
        total = b > INT64_MAX - total ? INT64_MAX : total + b;
    }
    return total;
}

static tlr_status load_weight(tlr_layer *l, tlr_weight *w, tlr_h5 *h, const tlr_weights_ctx *ctx,
                              tlr_err *err)
{
    if (ctx->keras_major == 1 && tlr_k1rnn_is_joined(l, w))
        return tlr_k1rnn_load(w, h, budget(ctx) / (int64_t)sizeof(float), ctx->what, err);
    tlr_h5_dsinfo info;
    tlr_status st = tlr_h5_dataset_info(h, w->path, &info, err);
    if (st)
        return st;
    if (info.dtype == TLR_DT_INT)
        return TLR_OK; /* integer state such as Normalization's count is not used */
    /* The file may have changed size claims since binding: check this dataset on its own too. */
    if (info.numel > budget(ctx) / (int64_t)sizeof(float))
        return tlr_err_set(err, TLR_E_LIMIT, "%s: weight '%s' has %lld values (over the %lld MiB "
                           "weights limit)", ctx->what, w->path, (long long)info.numel,
                           (long long)(budget(ctx) >> 20));
    plan p;
    if (!make_plan(l, w, &info, ctx, &p))
        p.has_perm = 0;
    if (!p.has_perm && !(p.flip && w->ndim >= 3)) {
        /* used where they lie: no copy, and no fresh pages to zero */
        const float *v = tlr_h5_dataset_view_f32(h, w->path, info.numel);
        if (v) {
            tlr_weight_drop_data(w);
            w->data = (float *)v;
            w->borrowed = 1;
            return TLR_OK;
        }
    }
    /* huge pages when the system offers them: a fault per 2 MB, not per 4 KB (bigmem.h) */
    float *raw = tlr_big_alloc((size_t)(info.numel ? info.numel : 1) * sizeof *raw);
    if ((st = tlr_h5_dataset_read_f32(h, w->path, raw, info.numel, err))) {
        free(raw);
        return st;
    }
    float *out = raw;
    if (p.has_perm) {
        int64_t sdims[8];
        int sn = info.ndim;
        memcpy(sdims, info.dims, sizeof sdims);
        if (p.has_perm == 2)
            sn--; /* trailing size-1 axis of a legacy Conv1D kernel */
        out = tlr_xmalloc((size_t)(info.numel ? info.numel : 1) * sizeof *out);
        tlr_tensor_transpose(sn, sdims, p.perm, raw, out);
        free(raw);
    }
    if (p.flip && w->ndim >= 3) {
        /* Reverse the spatial axes: all but the last two. */
        int64_t inner = w->shape[w->ndim - 1] * w->shape[w->ndim - 2];
        int64_t n_sp = info.numel / (inner ? inner : 1);
        float *tmp = tlr_xmalloc((size_t)(info.numel ? info.numel : 1) * sizeof *tmp);
        for (int64_t s = 0; s < n_sp; s++)
            memcpy(tmp + (n_sp - 1 - s) * inner, out + s * inner, (size_t)inner * sizeof *out);
        free(out);
        out = tmp;
    }
    tlr_weight_drop_data(w);
    w->data = out;
    return TLR_OK;
}

static tlr_status load_model(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx, tlr_err *err)
{
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        tlr_status st = TLR_OK;
        if (l->op == TLR_OP_MODEL)
            st = load_model(l->inner, h, ctx, err);
        for (int k = 0; k < l->n_weights && !st; k++)
            if (l->weights[k].path && !l->weights[k].data)
                st = load_weight(l, &l->weights[k], h, ctx, err);
        if (st)
            return st;
    }
    return TLR_OK;
}

tlr_status tlr_weights_load(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx, tlr_err *err)
{
    /* A file claiming 2^40 floats is refused here, before any buffer exists. */
    int64_t need = weight_bytes(m);
    if (need > budget(ctx))
        return tlr_err_set(err, TLR_E_LIMIT, "%s: the weights need %lld MiB as float32, over the "
                           "%lld MiB limit", ctx->what, (long long)(need >> 20),
                           (long long)(budget(ctx) >> 20));
    tlr_status st = load_model(m, h, ctx, err);
    tlr_h5_views_done(h);
    return st;
}
