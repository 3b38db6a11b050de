/* test_loader.c - every loader fixture (tests/fixtures/models) against the expectations its
 * generator wrote (expect.json, weights.json; tests/gen/make_fixtures.py, which uses only
 * h5py/numpy): format, version, backend, top-level and nested layers as model.summary() lists
 * them, output shapes as Keras prints them, parameter counts, storage facts, and every weight
 * bound to the right layer with the right shape and values.  Plus the course-notes summary
 * text, byte for byte. */
#include <stdlib.h>

#include "base/buf.h"
#include "engine/forward.h"
#include "io/h5file.h"
#include "course_summary.h"
#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "keras/kfile.h"
#include "keras/shape.h"
#include "report/inspect.h"
#include "report/storage.h"
#include "report/summary.h"

#define FIX "tests/fixtures/models"

static tlr_json *lt_load_json(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tlr_t_root(), rel);
    size_t len;
    char *text = tlr_t_slurp(path, &len);
    tlr_err err = { 0 };
    tlr_json *j = text ? tlr_json_parse(text, len, path, &err) : NULL;
    CHECK(j != NULL, "cannot read %s: %s", path, text ? err.msg : "missing");
    free(text);
    return j;
}

static const char *strip_slash(const char *p)
{
    while (p && *p == '/')
        p++;
    return p;
}

static int streq_null(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ---- known tlreport failures ----------------------------------------------------------------
 * Checks that fail because tlreport is wrong (not the expectation) are listed here, so the
 * suite stays usable while the lead fixes them: such a failure prints one visible
 * "KNOWN FAILURE" skip line instead of a FAIL.  A listed check that passes counts as a pass. */
static const struct {
    const char *file, *key, *why;
} known_failures[] = {
    { "", "", "" }, /* none left */
};
#define N_KNOWN (sizeof known_failures / sizeof known_failures[0])
static int known_seen[N_KNOWN];

static int known_failure(const char *file, const char *key)
{
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (strcmp(known_failures[i].key, key) != 0)
            continue;
        if (strcmp(known_failures[i].file, "*") != 0 && strcmp(known_failures[i].file, file) != 0)
            continue;
        if (!known_seen[i]++) {
            char what[512];
            snprintf(what, sizeof what, "%s %s", file, key);
            char why[512];
            snprintf(why, sizeof why, "KNOWN FAILURE: %s", known_failures[i].why);
            tlr_t_skip(what, why);
        }
        return 1;
    }
    return 0;
}

/* CHECK, except that a failure listed in known_failures prints a visible skip. */
#define KCHECK(file, key, cond, ...) do { \
    if (cond) tlr_t_pass(); \
    else if (!known_failure((file), (key))) tlr_t_fail(__FILE__, __LINE__, __VA_ARGS__); \
} while (0)

/* ---- summary rows by path ------------------------------------------------------------------ */

/* The printed "Output Shape" cell of a summary row, as Keras writes it. */
static void row_shape_text(const tlr_summary_row *r, const tlr_layer *l, char *out, size_t cap)
{
    char plain[512];
    tlr_inspect_layer_shape(l, plain, sizeof plain);
    switch (r->shape_kind) {
    case TLR_SHAPE_LIST: snprintf(out, cap, "[%s]", plain); break;
    case TLR_SHAPE_MULTIPLE: snprintf(out, cap, "multiple"); break;
    case TLR_SHAPE_UNKNOWN: snprintf(out, cap, "?"); break;
    default: snprintf(out, cap, "%s", plain); break;
    }
}

/* Finds the summary row of layer 'name' at depth 'depth' (rows of an expanded summary come
 * in model.summary(expand_nested=True) order: a nested model's rows follow its own row). */
static const tlr_summary_row *find_row(const tlr_summary *s, const char *parent, const char *name)
{
    int in_parent = parent == NULL;
    int parent_depth = -1;
    for (int i = 0; i < s->n_rows; i++) {
        const tlr_summary_row *r = &s->rows[i];
        if (parent) {
            if (r->depth == 0 && strcmp(r->name, parent) == 0) {
                in_parent = 1;
                parent_depth = 0;
                continue;
            }
            if (in_parent && r->depth <= parent_depth)
                in_parent = 0;
            if (in_parent && r->depth == parent_depth + 1 && strcmp(r->name, name) == 0)
                return r;
        } else if (r->depth == 0 && strcmp(r->name, name) == 0) {
            return r;
        }
    }
    return NULL;
}

/* ---- layer rows ---------------------------------------------------------------------------- */

static void check_rows(const char *file, const tlr_summary *s, const tlr_model *m,
                       const char *parent, const tlr_json *rows)
{
    int vis[1024];
    int n = tlr_model_visible_layers(m, vis, 1024);
    char what[512];
    snprintf(what, sizeof what, "%s%s%s: layer count", file, parent ? " nested " : "",
             parent ? parent : "");
    INT_EQ(n, (long long)tlr_json_size(rows), what);
    int k = 0, after_unknown = 0;
    for (const tlr_json *e = tlr_json_first(rows); e; e = tlr_json_next(e), k++) {
        const char *name = tlr_json_get_string(e, "name", "");
        const char *cls = tlr_json_get_string(e, "class", "");
        if (k >= n) {
            CHECK(0, "%s: expected layer '%s' (%s) at position %d is missing", file, name, cls, k);
            continue;
        }
        const tlr_layer *l = &m->layers[vis[k]];
        CHECK(strcmp(l->name, name) == 0, "%s: layer %d%s%s: name '%s', want '%s'", file, k,
              parent ? " in " : "", parent ? parent : "", l->name, name);
        CHECK(strcmp(l->class_name, cls) == 0, "%s: layer '%s': class '%s', want '%s'", file,
              name, l->class_name, cls);
        /* A custom or Lambda layer's shape cannot be derived from the file: the reader must
         * print "?" for it; layers after it may be "?" too (their input rank is unknown). */
        int inferable = tlr_json_get_bool(e, "output_shape_inferable", 1);
        const char *want_shape = inferable ? tlr_json_get_string(e, "output_shape", "") : "?";
        const tlr_summary_row *r = find_row(s, parent, l->name);
        CHECK(r != NULL, "%s: layer '%s' has no summary row", file, name);
        if (r) {
            char got[600], key[300];
            row_shape_text(r, l, got, sizeof got);
            snprintf(key, sizeof key, "shape:%s", name);
            KCHECK(file, key, strcmp(got, want_shape) == 0 ||
                   (after_unknown && strcmp(got, "?") == 0),
                   "%s: layer '%s': output shape %s, want %s", file, name, got, want_shape);
            INT_EQ(r->params, (long long)tlr_json_get_number(e, "params", -1), name);
        }
        /* tlr_inspect_layer_shape alone gives the shape without the InputLayer list brackets */
        if (inferable && want_shape[0] == '[') {
            char plain[512], want_plain[512];
            tlr_inspect_layer_shape(l, plain, sizeof plain);
            snprintf(want_plain, sizeof want_plain, "%.*s", (int)strlen(want_shape) - 2,
                     want_shape + 1);
            CHECK(strcmp(plain, want_plain) == 0, "%s: '%s': tlr_inspect_layer_shape %s, want %s",
                  file, name, plain, want_plain);
        }
        INT_EQ(tlr_layer_param_count(l), (long long)tlr_json_get_number(e, "params", -1), name);
        CHECK(l->params_trainable == (int64_t)tlr_json_get_number(e, "trainable_params", -1),
              "%s: layer '%s': trainable params %lld, want %lld", file, name,
              (long long)l->params_trainable,
              (long long)tlr_json_get_number(e, "trainable_params", -1));
        /* The layer's own flag, where the file records it: InputLayer configs and (before
         * tf.keras 2.15) nested model configs carry no 'trainable' key. */
        if (tlr_json_get(l->config, "trainable"))
            CHECK(!!l->trainable == tlr_json_get_bool(e, "trainable", -1),
                  "%s: layer '%s': trainable flag %d, want %d", file, name, l->trainable,
                  tlr_json_get_bool(e, "trainable", -1));
        if (!inferable)
            after_unknown = 1;
    }
}

/* ---- weights ------------------------------------------------------------------------------- */

typedef struct {
    tlr_weight *w;
    const tlr_layer *leaf;    /* the layer owning the weight */
    const tlr_layer *top;     /* its top-level ancestor */
} found_w;

static int find_weight(tlr_model *m, const tlr_layer *top, const char *path, found_w *out)
{
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        const tlr_layer *t = top ? top : l;
        if (l->op == TLR_OP_MODEL && l->inner && find_weight(l->inner, t, path, out))
            return 1;
        for (int j = 0; j < l->n_weights; j++)
            if (l->weights[j].path && strcmp(strip_slash(l->weights[j].path), path) == 0) {
                out->w = &l->weights[j];
                out->leaf = l;
                out->top = t;
                return 1;
            }
    }
    return 0;
}

static int count_bound(const tlr_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->op == TLR_OP_MODEL && l->inner)
            n += count_bound(l->inner);
        for (int j = 0; j < l->n_weights; j++)
            n += l->weights[j].path != NULL;
    }
    return n;
}

static int64_t numel_of(int nd, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= d[i];
    return n;
}

static void shape_txt(int nd, const int64_t *d, char *out, size_t cap)
{
    size_t u = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < nd && u < cap; i++)
        u += (size_t)snprintf(out + u, cap - u, "%s%lld", i ? "," : "", (long long)d[i]);
    if (u < cap)
        snprintf(out + u, cap - u, ")");
}

static int json_shape(const tlr_json *a, int64_t *d)
{
    int n = 0;
    for (const tlr_json *e = tlr_json_first(a); e && n < 8; e = tlr_json_next(e))
        d[n++] = tlr_json_is_null(e) ? -1 : (int64_t)tlr_json_number(e, -2);
    return n;
}

/* Values of one weight against the record: float64 sum of the float32 values and the first
 * element (C order of the STORED array); unwritten datasets read as the fill value. */
static void check_values(const char *file, const char *name, const float *v, int64_t n,
                         const tlr_json *rec, double fill, int first_is_stored_first)
{
    if (!v) {
        CHECK(0, "%s: weight %s: no data after loading", file, name);
        return;
    }
    if (!tlr_json_get_bool(rec, "written", 1)) {
        int bad = 0;
        for (int64_t i = 0; i < n && !bad; i++)
            bad = v[i] != (float)fill;
        CHECK(!bad, "%s: unwritten weight %s does not read as the fill value %g", file, name,
              fill);
        return;
    }
    double sum = 0, sabs = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += (double)v[i];
        sabs += fabs((double)v[i]);
    }
    double want = tlr_json_get_number(rec, "sum", 0);
    CHECK(fabs(sum - want) <= 1e-9 * (1.0 + sabs), "%s: weight %s: sum %.12g, want %.12g", file,
          name, sum, want);
    if (first_is_stored_first)
        CHECK(v[0] == (float)tlr_json_get_number(rec, "first", 0),
              "%s: weight %s: first %.9g, want %.9g", file, name, (double)v[0],
              tlr_json_get_number(rec, "first", 0));
}

/* Keras 1 'th' Convolution2D kernels: stored (nb_filter, stack, rows, cols); Keras 2 layout is
 * (rows, cols, stack, nb_filter): transpose (2,3,1,0), no flip (the file has no 'backend'
 * attribute, so Keras 2's loader does not convert the kernel for Theano). */
static void check_th_kernel(const char *file, tlr_kfile *f, const tlr_weight *w, const int64_t *s)
{
    int64_t n = numel_of(4, s);
    float *raw = tlr_xmalloc((size_t)n * sizeof *raw);
    tlr_err err = { 0 };
    tlr_status st = tlr_h5_dataset_read_f32(f->h5, w->path, raw, n, &err);
    CHECK(st == TLR_OK, "%s: raw read of %s: %s", file, w->path, err.msg);
    int bad = 0;
    for (int64_t o = 0; o < s[0] && !st && !bad; o++)
        for (int64_t i = 0; i < s[1] && !bad; i++)
            for (int64_t r = 0; r < s[2] && !bad; r++)
                for (int64_t c = 0; c < s[3] && !bad; c++) {
                    float stored = raw[((o * s[1] + i) * s[2] + r) * s[3] + c];
                    float conv = w->data[((r * s[3] + c) * s[1] + i) * s[0] + o];
                    if (stored != conv) {
                        bad = 1;
                        CHECK(0, "%s: th kernel %s: converted[%lld,%lld,%lld,%lld] = %g, stored "
                              "[%lld,%lld,%lld,%lld] = %g", file, w->stored_name, (long long)r,
                              (long long)c, (long long)i, (long long)o, (double)conv,
                              (long long)o, (long long)i, (long long)r, (long long)c,
                              (double)stored);
                    }
                }
    if (!bad && !st)
        tlr_t_pass();
    free(raw);
}

static void check_model_weights(const char *file, tlr_kfile *f, const tlr_json *ex,
                                const tlr_json *recs, double fill)
{
    int th = streq_null(tlr_json_get_string(ex, "dim_ordering", NULL), "th");
    INT_EQ(count_bound(f->model), (long long)tlr_json_get_number(ex, "n_weight_arrays", -1),
           "bound weight arrays");
    tlr_err err = { 0 };
    tlr_status st = tlr_kfile_load_weights(f, &err);
    CHECK(st == TLR_OK, "%s: load weights: %s", file, err.msg);
    for (const tlr_json *r = tlr_json_first(recs); r; r = tlr_json_next(r)) {
        const char *path = tlr_json_get_string(r, "path", "");
        const char *layer = tlr_json_get_string(r, "layer", "");
        found_w fw;
        if (!find_weight(f->model, NULL, path, &fw)) {
            CHECK(0, "%s: weight %s (layer %s) is not bound to any layer", file, path, layer);
            continue;
        }
        tlr_weight *w = fw.w;
        CHECK(strcmp(fw.leaf->name, layer) == 0 || strcmp(fw.top->name, layer) == 0,
              "%s: weight %s bound to layer '%s' (in '%s'), want '%s'", file, path,
              fw.leaf->name, fw.top->name, layer);
        int64_t want[8];
        int nd = json_shape(tlr_json_get(r, "shape"), want);
        char g[128], wt[128];
        shape_txt(w->stored_ndim, w->stored_shape, g, sizeof g);
        shape_txt(nd, want, wt, sizeof wt);
        CHECK(strcmp(g, wt) == 0, "%s: weight %s: stored shape %s, want %s", file, path, g, wt);
        /* the layout the layer uses */
        int is_th_kernel = th && nd == 4;
        int64_t conv[8];
        memcpy(conv, want, sizeof conv);
        if (is_th_kernel) {
            conv[0] = want[2];
            conv[1] = want[3];
            conv[2] = want[1];
            conv[3] = want[0];
        }
        shape_txt(w->ndim, w->shape, g, sizeof g);
        shape_txt(nd, conv, wt, sizeof wt);
        CHECK(strcmp(g, wt) == 0, "%s: weight %s: layer-layout shape %s, want %s", file, path, g,
              wt);
        int want_tr = tlr_json_get_bool(r, "trainable", -1);
        KCHECK(file, "weight-trainable", !!w->trainable == want_tr,
               "%s: weight %s: trainable %d, want %d", file, path, w->trainable, want_tr);
        /* what the counts use: a trainable variable of an effectively trainable layer */
        int derived = fw.leaf->eff_trainable && tlr_weight_role_trainable(w->role);
        CHECK(derived == want_tr, "%s: weight %s (role %s): counted as %strainable", file, path,
              w->role ? w->role : "?", derived ? "" : "non-");
        if (st == TLR_OK && w->ndim == nd) {
            check_values(file, path, w->data, numel_of(nd, want), r, fill, 1);
            if (is_th_kernel && w->data && tlr_json_get_bool(r, "written", 1))
                check_th_kernel(file, f, w, want);
        }
    }
}

/* ---- storage (all files) ------------------------------------------------------------------- */

static const tlr_json *storage_group_of(const tlr_json *storage, const char *wpath,
                                        const tlr_json **wout)
{
    const tlr_json *groups = tlr_json_get(tlr_json_get(storage, "weights"), "groups");
    for (const tlr_json *g = tlr_json_first(groups); g; g = tlr_json_next(g))
        for (const tlr_json *w = tlr_json_first(tlr_json_get(g, "weights")); w;
             w = tlr_json_next(w))
            if (strcmp(strip_slash(tlr_json_get_string(w, "path", "")), wpath) == 0) {
                *wout = w;
                return g;
            }
    return NULL;
}

/* The stored layer_names (legacy layouts): the count, then the groups in that order. */
static void check_storage_layer_names(const char *file, const tlr_json *wj, const tlr_json *ex)
{
    const tlr_json *ln = tlr_json_get(ex, "layer_names");
    if (ln && tlr_json_get(wj, "layer_names")) {
        INT_EQ(tlr_json_get_number(wj, "layer_names", -1), (long long)tlr_json_size(ln),
               "layer_names count");
        const tlr_json *a = tlr_json_first(tlr_json_get(wj, "groups")), *b = tlr_json_first(ln);
        for (; a && b; a = tlr_json_next(a), b = tlr_json_next(b))
            STR_EQ(tlr_json_get_string(a, "name", ""), tlr_json_string(b, ""),
                   "group in layer_names order");
        CHECK(!a && !b, "%s: storage lists %s groups than layer_names", file, a ? "more" : "fewer");
    } else if (ln) {
        CHECK(0, "%s: storage JSON has no layer_names", file);
    }
}

/* Weights-only files: each expected layer has its storage group, holding its parameters. */
static void check_storage_groups(const char *file, const tlr_json *wj, const tlr_json *ex)
{
    const tlr_json *groups = tlr_json_get(wj, "groups");
    for (const tlr_json *e = tlr_json_first(tlr_json_get(ex, "layers")); e;
         e = tlr_json_next(e)) {
        const char *name = tlr_json_get_string(e, "name", "");
        const char *grp = tlr_json_get_string(e, "group", NULL);
        const tlr_json *g = NULL;
        for (const tlr_json *c = tlr_json_first(groups); c && !g; c = tlr_json_next(c)) {
            const char *gn = tlr_json_get_string(c, grp ? "group" : "name", "");
            if (strcmp(strip_slash(gn), grp ? grp : name) == 0)
                g = c;
        }
        if (!g && tlr_json_get_number(e, "params", 0) == 0 && grp)
            continue; /* a weightless Keras 3 layer has no weights group to list */
        CHECK(g != NULL, "%s: no storage group for layer '%s'", file, name);
        if (!g)
            continue;
        if (grp) {
            /* Keras >= 3.6 names the layer in the vars group's 'name' attribute */
            const char *gname = tlr_json_get_string(g, "name", NULL);
            KCHECK(file, "vars-name", gname && strcmp(gname, name) == 0,
                   "%s: group %s: layer name %s, want %s", file, grp,
                   gname ? gname : "(none)", name);
        }
        int64_t params = 0;
        for (const tlr_json *w = tlr_json_first(tlr_json_get(g, "weights")); w;
             w = tlr_json_next(w)) {
            int64_t d[8];
            params += numel_of(json_shape(tlr_json_get(w, "shape"), d), d);
        }
        INT_EQ(params, tlr_json_get_number(e, "params", -1), name);
    }
}

/* Weights-only files: every recorded weight is listed under its layer with its shape, and
 * its values read back from the file. */
static void check_storage_weights(const char *file, tlr_kfile *f, const tlr_json *s,
                                  const tlr_json *recs, double fill)
{
    tlr_err err = { 0 };
    for (const tlr_json *r = tlr_json_first(recs); r; r = tlr_json_next(r)) {
        const char *path = tlr_json_get_string(r, "path", "");
        const tlr_json *w = NULL;
        const tlr_json *g = storage_group_of(s, path, &w);
        CHECK(g != NULL, "%s: weight %s not listed in the storage JSON", file, path);
        if (!g)
            continue;
        const char *gname = tlr_json_get_string(g, "name", NULL);
        const char *layer = tlr_json_get_string(r, "layer", "");
        if (gname)
            STR_EQ(gname, layer, "weight's layer group");
        int64_t want[8], got[8];
        int nd = json_shape(tlr_json_get(r, "shape"), want);
        int ng = json_shape(tlr_json_get(w, "shape"), got);
        CHECK(ng == nd && memcmp(got, want, (size_t)nd * sizeof *got) == 0,
              "%s: weight %s: shape differs", file, path);
        int64_t n = numel_of(nd, want);
        float *v = tlr_xmalloc((size_t)n * sizeof *v + 4);
        char h5path[1024];
        snprintf(h5path, sizeof h5path, "/%s", path);
        tlr_status st = tlr_h5_dataset_read_f32(f->h5, h5path, v, n, &err);
        CHECK(st == TLR_OK, "%s: read %s: %s", file, path, err.msg);
        if (!st)
            check_values(file, path, v, n, r, fill, 1);
        free(v);
    }
}

static void check_storage(const char *file, tlr_kfile *f, const tlr_json *ex, const tlr_json *recs,
                          int weights_only, double fill)
{
    tlr_err err = { 0 };
    tlr_storage *sto = tlr_inspect_storage_build(f, &err);
    tlr_json *s = sto ? tlr_storage_to_json(sto) : NULL;
    tlr_storage_free(sto);
    CHECK(s != NULL, "%s: storage: %s", file, err.msg);
    if (!s)
        return;
    const tlr_json *wj = tlr_json_get(s, "weights");
    INT_EQ(tlr_json_get_number(wj, "params", -1), tlr_json_get_number(ex, "total_params", -2),
           "storage params");
    INT_EQ(tlr_json_get_number(wj, "arrays", -1), tlr_json_get_number(ex, "n_weight_arrays", -2),
           "storage arrays");
    const tlr_json *ow = tlr_json_get(s, "optimizer_weights");
    CHECK(tlr_json_get_bool(ow, "present", -1) == tlr_json_get_bool(ex, "has_optimizer_weights", -2),
          "%s: optimizer weights present %d, want %d", file, tlr_json_get_bool(ow, "present", -1),
          tlr_json_get_bool(ex, "has_optimizer_weights", -2));
    KCHECK(file, "optimizer-count", tlr_json_get_number(ow, "count", -1) ==
           tlr_json_get_number(ex, "n_optimizer_weight_arrays", -2),
           "%s: optimizer arrays %g, want %g", file, tlr_json_get_number(ow, "count", -1),
           tlr_json_get_number(ex, "n_optimizer_weight_arrays", -2));
    const tlr_json *tc = tlr_json_get(s, "training_config");
    CHECK(tlr_json_get_bool(tc, "present", -1) == tlr_json_get_bool(ex, "has_training_config", -2),
          "%s: training config present %d, want %d", file, tlr_json_get_bool(tc, "present", -1),
          tlr_json_get_bool(ex, "has_training_config", -2));
    const char *opt = tlr_json_get_string(ex, "optimizer", NULL);
    if (opt)
        STR_EQ(tlr_json_get_string(tc, "optimizer", NULL), opt, file);
    check_storage_layer_names(file, wj, ex);
    if (weights_only) {
        check_storage_groups(file, wj, ex);
        check_storage_weights(file, f, s, recs, fill);
    }
    tlr_json_free(s);
}

/* ---- one fixture --------------------------------------------------------------------------- */

static tlr_format format_of(const char *name)
{
    if (strcmp(name, "h5") == 0)
        return TLR_FMT_H5_MODEL;
    if (strcmp(name, "json") == 0)
        return TLR_FMT_JSON;
    if (strcmp(name, "keras") == 0)
        return TLR_FMT_KERAS_ZIP;
    return TLR_FMT_H5_WEIGHTS; /* h5-weights, keras-weights-h5 */
}

static void check_model(const char *file, tlr_kfile *f, const tlr_json *ex, const tlr_json *recs,
                        double fill)
{
    tlr_model *m = f->model;
    STR_EQ(m->class_name, tlr_json_get_string(ex, "model_class", ""), "model class");
    /* a bare-list Sequential config (Keras 1, Keras <= 2.2.2) stores no model name; Keras
     * invents one on load ("sequential_1"), which no file-level reader can know */
    if (!tlr_json_is_array(tlr_json_get(f->config_root, "config")))
        STR_EQ(m->name, tlr_json_get_string(ex, "model_name", ""), "model name");
    const tlr_json *inputs = tlr_json_get(ex, "inputs");
    INT_EQ(m->n_inputs, (long long)tlr_json_size(inputs), "input count");
    int i = 0;
    for (const tlr_json *in = tlr_json_first(inputs); in; in = tlr_json_next(in), i++) {
        int64_t want[8];
        int nd = json_shape(in, want);
        tlr_shape got = tlr_forward_input_shape(m, i);
        char g[128], w[128];
        shape_txt(got.ndim, got.d, g, sizeof g);
        shape_txt(nd, want, w, sizeof w);
        CHECK(strcmp(g, w) == 0, "%s: input %d shape %s, want %s", file, i, g, w);
    }
    tlr_summary *s = tlr_inspect_summary(f, -1, 1, 0);
    check_rows(file, s, m, NULL, tlr_json_get(ex, "layers"));
    const tlr_json *nested = tlr_json_get(ex, "nested");
    for (const tlr_json *n = tlr_json_first(nested); n; n = tlr_json_next(n)) {
        const char *name = tlr_json_key(n);
        int idx = tlr_model_find(m, name);
        CHECK(idx >= 0 && m->layers[idx].inner, "%s: nested model '%s' not found", file, name);
        if (idx < 0 || !m->layers[idx].inner)
            continue;
        const tlr_model *inner = m->layers[idx].inner;
        STR_EQ(m->layers[idx].class_name, tlr_json_get_string(n, "class", ""), "nested class");
        check_rows(file, s, inner, name, tlr_json_get(n, "layers"));
    }
    INT_EQ(s->total_params - s->optimizer_params, tlr_json_get_number(ex, "total_params", -1),
           "total params");
    INT_EQ(s->trainable_params, tlr_json_get_number(ex, "trainable_params", -1),
           "trainable params");
    INT_EQ(s->non_trainable_params, tlr_json_get_number(ex, "non_trainable_params", -1),
           "non-trainable params");
    tlr_inspect_summary_free(s);
    CHECK((f->training_config != NULL) == tlr_json_get_bool(ex, "has_training_config", -1),
          "%s: training config %s", file, f->training_config ? "present" : "absent");
    check_model_weights(file, f, ex, recs, fill);
}

static void check_fixture(const char *file, const tlr_json *ex, const tlr_json *recs, double fill)
{
    char path[1024], aux[1024];
    snprintf(path, sizeof path, "%s/" FIX "/%s", tlr_t_root(), file);
    const char *fmt = tlr_json_get_string(ex, "format", "");
    const char *wfile = tlr_json_get_string(ex, "weights_file", NULL);
    const char *afile = tlr_json_get_string(ex, "architecture_file", NULL);
    tlr_kfile_opts opts = { 0 };
    if (wfile) {
        snprintf(aux, sizeof aux, "%s/" FIX "/%s", tlr_t_root(), wfile);
        opts.weights_path = aux;
    }
    tlr_err err = { 0 };
    /* as the file comes: weights-only files without their architecture */
    tlr_kfile *f = tlr_kfile_open(path, wfile ? &opts : NULL, &err);
    CHECK(f != NULL, "%s: open: %s", file, err.msg);
    if (!f)
        return;
    CHECK(f->format == format_of(fmt), "%s: format %s, want %s", file, tlr_format_name(f->format),
          fmt);
    const char *kv = tlr_json_get_string(ex, "keras_version", NULL);
    CHECK(streq_null(f->keras_version, kv), "%s: keras_version %s, want %s", file,
          f->keras_version ? f->keras_version : "(null)", kv ? kv : "(null)");
    /* .keras archives record no backend (metadata.json holds keras_version and date_saved
     * only): unknown is right there, and so is the expected backend when a reader infers it */
    const char *be = tlr_json_get_string(ex, "backend", NULL);
    CHECK(streq_null(f->backend, be) || (strcmp(fmt, "keras") == 0 && !f->backend),
          "%s: backend %s, want %s", file, f->backend ? f->backend : "(null)", be ? be : "(null)");
    const char *mc = tlr_json_get_string(ex, "model_class", NULL);
    int weights_only = mc == NULL;
    CHECK((f->model != NULL) == !weights_only, "%s: model %s", file, f->model ? "present" : "absent");
    if (weights_only && strncmp(fmt, "keras", 5) == 0 && f->keras_major)
        INT_EQ(f->keras_major, 3, "Keras 3 weights store");
    check_storage(file, f, ex, recs, weights_only, fill);
    if (f->model && !weights_only)
        check_model(file, f, ex, recs, fill);
    tlr_kfile_free(f);
    /* a weights-only file with its architecture (--config) */
    if (afile) {
        snprintf(aux, sizeof aux, "%s/" FIX "/%s", tlr_t_root(), afile);
        tlr_kfile_opts o2 = { .config_path = aux };
        f = tlr_kfile_open(path, &o2, &err);
        CHECK(f != NULL && f->model != NULL, "%s --config %s: %s", file, afile,
              f ? "no model" : err.msg);
        if (f && f->model) {
            CHECK(f->format == TLR_FMT_H5_WEIGHTS, "%s --config: format %s", file,
                  tlr_format_name(f->format));
            const tlr_json *arch = NULL;
            /* the architecture's expectations live under its own name */
            (void)arch;
            INT_EQ(tlr_layer_param_count(&f->model->layers[0]) >= 0, 1, "params known");
            tlr_summary *s = tlr_inspect_summary(f, -1, 0, 0);
            INT_EQ(s->total_params, tlr_json_get_number(ex, "total_params", -1),
                   "total params with --config");
            tlr_inspect_summary_free(s);
            tlr_err e2 = { 0 };
            CHECK(tlr_kfile_load_weights(f, &e2) == TLR_OK, "%s --config: load: %s", file, e2.msg);
            /* the values reached the architecture's layers */
            for (const tlr_json *r = tlr_json_first(recs); r; r = tlr_json_next(r)) {
                found_w fw;
                const char *p = tlr_json_get_string(r, "path", "");
                if (!find_weight(f->model, NULL, p, &fw)) {
                    CHECK(0, "%s --config: weight %s not bound", file, p);
                    continue;
                }
                STR_EQ(fw.leaf->name, tlr_json_get_string(r, "layer", ""), p);
                check_values(file, p, fw.w->data, numel_of(fw.w->ndim, fw.w->shape), r, fill, 1);
            }
        }
        tlr_kfile_free(f);
    }
}

/* ---- the course-notes summary -------------------------------------------------------------- */

/* Keras 2.3.1 print_summary of course_k23.h5, derived by hand from print_row (positions
 * [29, 55, 65], each field cut to its column end; the next column first replaces the last kept
 * character with a space), with the fixture's standalone-Keras names: the 30-character
 * "max_pooling2d_1 (MaxPooling2D)" is cut to "max_pooling2d_1 (MaxPooling2". */
static const char course_k23_text[] =
    "Model: \"sequential_1\"\n"
    "_________________________________________________________________\n"
    "Layer (type)                 Output Shape              Param #   \n"
    "=================================================================\n"
    "vgg16 (Model)                (None, 4, 4, 512)         14714688  \n"
    "_________________________________________________________________\n"
    "conv2d_1 (Conv2D)            (None, 2, 2, 128)         589952    \n"
    "_________________________________________________________________\n"
    "max_pooling2d_1 (MaxPooling2 (None, 1, 1, 128)         0         \n"
    "_________________________________________________________________\n"
    "flatten_1 (Flatten)          (None, 128)               0         \n"
    "_________________________________________________________________\n"
    "dense_1 (Dense)              (None, 128)               16512     \n"
    "_________________________________________________________________\n"
    "dense_2 (Dense)              (None, 1)                 129       \n"
    "=================================================================\n"
    "Total params: 15,321,281\n"
    "Trainable params: 606,593\n"
    "Non-trainable params: 14,714,688\n"
    "_________________________________________________________________\n";

/* The course notes (Keras's documented format), verbatim: tests/course_summary.h. */
#define course_notes_text COURSE_SUMMARY

static char *summary_text(const char *path, const tlr_kfile_opts *opts, int style,
                          const char **version)
{
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, opts, &err);
    CHECK(f != NULL && f->model != NULL, "%s: %s", path, f ? "no model" : err.msg);
    if (!f || !f->model) {
        tlr_kfile_free(f);
        return NULL;
    }
    static char ver[64];
    snprintf(ver, sizeof ver, "%s", f->keras_version ? f->keras_version : "");
    if (version)
        *version = ver;
    tlr_summary *s = tlr_inspect_summary(f, style, 0, 0);
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    tlr_inspect_summary_free(s);
    tlr_kfile_free(f);
    return tlr_buf_detach(&b);
}

/* The course model as tf.keras 2.3 (keras_version "2.3.0-tf") writes model.to_json(): its
 * default names (sequential, conv2d, ..., dense_1) are the ones the course notes show, and
 * the nested base model's class is still "Model".  The freeze is stored on every VGG16
 * layer, as conv_base.trainable = False leaves it in the config. */
static void write_course_json(const char *path)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", "
                     "\"layers\": [{\"class_name\": \"Model\", \"config\": {\"name\": \"vgg16\", "
                     "\"layers\": [{\"name\": \"input_1\", \"class_name\": \"InputLayer\", "
                     "\"config\": {\"batch_input_shape\": [null, 150, 150, 3], \"dtype\": "
                     "\"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"input_1\"}, "
                     "\"inbound_nodes\": []}");
    static const int convs[5] = { 2, 2, 3, 3, 3 }, filters[5] = { 64, 128, 256, 512, 512 };
    char prev[64] = "input_1";
    for (int blk = 0; blk < 5; blk++) {
        for (int c = 0; c < convs[blk]; c++) {
            char name[64];
            snprintf(name, sizeof name, "block%d_conv%d", blk + 1, c + 1);
            tlr_buf_printf(&b, ", {\"name\": \"%s\", \"class_name\": \"Conv2D\", \"config\": "
                           "{\"name\": \"%s\", \"trainable\": false, \"dtype\": \"float32\", "
                           "\"filters\": %d, \"kernel_size\": [3, 3], \"strides\": [1, 1], "
                           "\"padding\": \"same\", \"data_format\": \"channels_last\", "
                           "\"dilation_rate\": [1, 1], \"activation\": \"relu\", \"use_bias\": "
                           "true}, \"inbound_nodes\": [[[\"%s\", 0, 0, {}]]]}", name, name,
                           filters[blk], prev);
            snprintf(prev, sizeof prev, "%s", name);
        }
        char pool[64];
        snprintf(pool, sizeof pool, "block%d_pool", blk + 1);
        tlr_buf_printf(&b, ", {\"name\": \"%s\", \"class_name\": \"MaxPooling2D\", \"config\": "
                       "{\"name\": \"%s\", \"trainable\": false, \"dtype\": \"float32\", "
                       "\"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": [2, 2], "
                       "\"data_format\": \"channels_last\"}, \"inbound_nodes\": "
                       "[[[\"%s\", 0, 0, {}]]]}", pool, pool, prev);
        snprintf(prev, sizeof prev, "%s", pool);
    }
    tlr_buf_puts(&b, "], \"input_layers\": [[\"input_1\", 0, 0]], \"output_layers\": "
                     "[[\"block5_pool\", 0, 0]]}}, "
                     "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", "
                     "\"trainable\": true, \"dtype\": \"float32\", \"filters\": 128, "
                     "\"kernel_size\": [3, 3], \"strides\": [1, 1], \"padding\": \"valid\", "
                     "\"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], "
                     "\"activation\": \"relu\", \"use_bias\": true}}, "
                     "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"max_pooling2d\", "
                     "\"trainable\": true, \"dtype\": \"float32\", \"pool_size\": [2, 2], "
                     "\"padding\": \"valid\", \"strides\": [2, 2], \"data_format\": "
                     "\"channels_last\"}}, "
                     "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", "
                     "\"trainable\": true, \"dtype\": \"float32\", \"data_format\": "
                     "\"channels_last\"}}, "
                     "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": "
                     "true, \"dtype\": \"float32\", \"units\": 128, \"activation\": \"relu\", "
                     "\"use_bias\": true}}, "
                     "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", "
                     "\"trainable\": true, \"dtype\": \"float32\", \"units\": 1, \"activation\": "
                     "\"sigmoid\", \"use_bias\": true}}]}, \"keras_version\": \"2.3.0-tf\", "
                     "\"backend\": \"tensorflow\"}\n");
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL, "cannot write %s", path);
    if (fp) {
        fwrite(b.data, 1, b.len, fp);
        fclose(fp);
    }
    tlr_buf_free(&b);
}

static void check_course_summaries(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/" FIX "/course_k23.h5", tlr_t_root());
    const char *ver = NULL;
    char *text = summary_text(path, NULL, -1, &ver);
    /* the generator wrote 2.3.1: standalone Keras 2 style, with the 'Model:' line (>= 2.2.5) */
    STR_EQ(ver, "2.3.1", "course_k23.h5 keras_version");
    INT_EQ(tlr_summary_style_for_version(ver), TLR_SUMMARY_KERAS2, "style for 2.3.1");
    STR_EQ(text, course_k23_text, "course_k23.h5 summary (Keras 2.3.1 print_summary)");
    free(text);
    text = summary_text(path, NULL, TLR_SUMMARY_KERAS2, NULL);
    STR_EQ(text, course_k23_text, "course_k23.h5 summary, style keras2 forced");
    free(text);

    /* the course-notes text itself: same model, names as the notes show them */
    snprintf(path, sizeof path, "%s/course_notes.json", tlr_t_tmpdir());
    write_course_json(path);
    text = summary_text(path, NULL, -1, &ver);
    STR_EQ(ver, "2.3.0-tf", "course notes JSON keras_version");
    STR_EQ(text, course_notes_text, "course-notes summary, byte for byte");
    free(text);
}

void test_loader(void)
{
    tlr_json *ex = lt_load_json(FIX "/expect.json");
    tlr_json *wj = lt_load_json(FIX "/weights.json");
    if (!ex || !wj) {
        tlr_json_free(ex);
        tlr_json_free(wj);
        return;
    }
    double fill = tlr_json_get_number(ex, "fill_value", 0.01);
    const tlr_json *fx = tlr_json_get(ex, "fixtures");
    const tlr_json *wfx = tlr_json_get(wj, "fixtures");
    int n = 0;
    for (const tlr_json *e = tlr_json_first(fx); e; e = tlr_json_next(e), n++) {
        const char *file = tlr_json_key(e);
        const tlr_json *recs = tlr_json_get(wfx, file);
        CHECK(recs != NULL, "%s: no weights.json records", file);
        check_fixture(file, e, recs, fill);
    }
    CHECK(n >= 24, "expect.json lists %d fixtures, want >= 24", n);
    check_course_summaries();
    tlr_json_free(ex);
    tlr_json_free(wj);
}
