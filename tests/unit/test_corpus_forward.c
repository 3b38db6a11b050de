/* test_corpus_forward.c - the forward pass on the real corpus: every model whose layers all run
 * goes end to end on a synthetic input of its input size, and its outputs must match the
 * reference (tests/ref/corpus, made by tests/gen/make_corpus_refs.py with the PyTorch float64
 * oracle or, for layers that oracle lacks, tests/gen/numpy_ref.py) within 1e-4 relative, and
 * so must the inner layers the reference also stores (captures: recurrent states whose head
 * saturates).  Inputs an Embedding consumes hold token ids.  Models the references call not
 * runnable (a Lambda without a known formula, custom classes) must be refused cleanly: the
 * pass reports the layers it could not run instead of an output.
 * Skipped, visibly, when the corpus is not there. */
#include <stdlib.h>

#include "engine/forward.h"
#include "harness.h"
#include "base/json.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "io/npy.h"
#include "keras/kfile.h"

#define REF "tests/ref/corpus"
#define NONE_DIM 16

/* The synthetic input k, element i in C order (the formula of make_corpus_refs.py):
 * h = ((i + 1 + 7919 k) * 2654435761) mod 2^32, x = (h >> 8) / 2^24, exact in float32.
 * An input feeding an Embedding (input_dim > 0) holds token ids floor(x * input_dim),
 * computed in integers so that no rounding can move an id. */
static void fill_input(tlr_tensor *t, int k, int input_dim)
{
    int64_t n = tlr_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint32_t h = (uint32_t)(((uint64_t)i + 1u + 7919u * (uint64_t)k) * 2654435761u);
        if (input_dim > 0)
            t->data[i] = (float)(((uint64_t)(h >> 8) * (uint64_t)input_dim) >> 24);
        else
            t->data[i] = (float)(h >> 8) / 16777216.0f;
    }
}

/* input_dim of the Embedding that consumes input k directly (top-level graph), or 0. */
static int embedding_input_dim(const tlr_model *m, int k)
{
    int in = m->inputs[k].layer;
    for (int j = 0; j < m->n_layers; j++) {
        const tlr_layer *l = &m->layers[j];
        for (int c = 0; l->op == TLR_OP_EMBEDDING && c < l->n_calls; c++)
            for (int i = 0; i < l->calls[c].n_in; i++)
                if (l->calls[c].in[i].layer == in)
                    return l->cfg.embed.input_dim;
    }
    return 0;
}

/* The reference's input_dim for input k ('id_inputs' of the manifest entry), or 0. */
static int reference_input_dim(const tlr_json *ids, int k)
{
    for (const tlr_json *e = tlr_json_first(ids); e; e = tlr_json_next(e))
        if ((int)tlr_json_get_number(e, "input", -1) == k)
            return (int)tlr_json_get_number(e, "input_dim", 0);
    return 0;
}

static tlr_kfile *open_entry(const char *corpus, const tlr_json *e, tlr_err *err)
{
    char path[2048], wpath[2048];
    snprintf(path, sizeof path, "%s/%s", corpus, tlr_json_get_string(e, "file", ""));
    const char *w = tlr_json_get_string(e, "weights", NULL);
    tlr_kfile_opts o = { 0 };
    if (w) {
        snprintf(wpath, sizeof wpath, "%s/%s", corpus, w);
        o.weights_path = wpath;
    }
    tlr_kfile *f = tlr_kfile_open(path, w ? &o : NULL, err);
    if (f && !f->model) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: no model", path);
        tlr_kfile_free(f);
        return NULL;
    }
    if (f && tlr_kfile_load_weights(f, err) != TLR_OK) {
        tlr_kfile_free(f);
        return NULL;
    }
    return f;
}

/* Inputs of the model's input sizes (None dims: NONE_DIM), filled by the formula.  The
 * reference's shapes ('inputs', without the batch) must agree with the model's, and so must
 * the inputs that hold token ids ('id_inputs'). */
static int make_inputs(const char *name, const tlr_model *m, const tlr_json *want,
                       const tlr_json *want_ids, tlr_tensor **in, int cap)
{
    int n = m->n_inputs < cap ? m->n_inputs : cap;
    if (want)
        INT_EQ(n, (long long)tlr_json_size(want), name);
    for (int k = 0; k < n; k++) {
        tlr_shape s = tlr_forward_input_shape(m, k);
        int64_t d[8];
        d[0] = 1;
        for (int i = 1; i < s.ndim; i++)
            d[i] = s.d[i] < 0 ? NONE_DIM : s.d[i];
        const tlr_json *w = want ? tlr_json_at(want, (size_t)k) : NULL;
        if (w) {
            int same = (int)tlr_json_size(w) == s.ndim - 1;
            for (int i = 1; same && i < s.ndim; i++)
                same = tlr_json_number(tlr_json_at(w, (size_t)(i - 1)), -1) == (double)d[i];
            CHECK(same, "%s: input %d shape differs from the reference's", name, k);
        }
        int dim = embedding_input_dim(m, k);
        if (want)
            CHECK(dim == reference_input_dim(want_ids, k),
                  "%s: input %d: Embedding input_dim %d here, %d in the reference", name, k, dim,
                  reference_input_dim(want_ids, k));
        in[k] = tlr_tensor_new(s.ndim, d);
        fill_input(in[k], k, dim);
    }
    return n;
}

/* One computed tensor against one stored reference ({file, shape, stride}); 'what' names
 * it in messages ("output 0", "layer gru_1"). */
static int compare_one(const char *name, const char *what, const tlr_tensor *t,
                       const tlr_json *o)
{
    if (!t) {
        CHECK(0, "%s: %s not computed", name, what);
        return 0;
    }
    const tlr_json *shape = tlr_json_get(o, "shape");
    int same = (int)tlr_json_size(shape) == t->ndim;
    for (int i = 0; same && i < t->ndim; i++)
        same = tlr_json_number(tlr_json_at(shape, (size_t)i), -1) == (double)t->shape[i];
    char got[160];
    tlr_shape_format(t->ndim, t->shape, got, sizeof got);
    CHECK(same, "%s: %s shape %s differs from the reference", name, what, got);
    if (!same)
        return 0;
    /* values (every 'stride'-th, as stored) */
    char path[1024];
    snprintf(path, sizeof path, "%s/" REF "/%s", tlr_t_root(), tlr_json_get_string(o, "file", ""));
    tlr_err err = { 0 };
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *want = tlr_npy_read(path, &nd, sh, &err);
    CHECK(want != NULL, "%s: reference %s: %s", name, path, err.msg);
    if (!want)
        return 0;
    int ok = 0;
    int64_t stride = (int64_t)tlr_json_get_number(o, "stride", 1);
    int64_t n = tlr_tensor_numel(t), m = (n + stride - 1) / stride;
    INT_EQ(sh[0], m, "reference length");
    if (sh[0] == m) {
        float *g = tlr_xmalloc((size_t)(m ? m : 1) * sizeof *g);
        for (int64_t i = 0; i < m; i++)
            g[i] = t->data[i * stride];
        char msg[300];
        snprintf(msg, sizeof msg, "%s %s", name, what);
        ok = FLOATS_NEAR(g, want, (size_t)m, 1e-4, msg);
        free(g);
    }
    free(want);
    return ok;
}

/* The model outputs, then the inner layers the reference also stores ('captures'). */
static int compare_outputs(const char *name, const tlr_forward_result *r, const tlr_json *outs,
                           const tlr_json *caps)
{
    int ok = 1, k = 0;
    char what[200];
    for (const tlr_json *o = tlr_json_first(outs); o; o = tlr_json_next(o), k++) {
        snprintf(what, sizeof what, "output %d", k);
        ok &= compare_one(name, what, k < r->n_outputs ? r->outputs[k] : NULL, o);
    }
    k = 0;
    for (const tlr_json *o = tlr_json_first(caps); o; o = tlr_json_next(o), k++) {
        snprintf(what, sizeof what, "layer %s", tlr_json_get_string(o, "layer", ""));
        ok &= compare_one(name, what, k < r->n_captured ? r->captured[k] : NULL, o);
    }
    return ok;
}

typedef struct {
    int match, mismatch, not_runnable, no_reference, refused_ok;
} fwd_counts;

static void run_reference(const char *corpus, const tlr_json *e, fwd_counts *c)
{
    const char *name = tlr_json_get_string(e, "file", "");
    tlr_err err = { 0 };
    tlr_kfile *f = open_entry(corpus, e, &err);
    CHECK(f != NULL, "%s: %s", name, err.msg);
    if (!f) {
        c->mismatch++;
        return;
    }
    tlr_tensor *in[8] = { 0 };
    int n = make_inputs(name, f->model, tlr_json_get(e, "inputs"), tlr_json_get(e, "id_inputs"),
                        in, 8);
    const tlr_json *caps = tlr_json_get(e, "captures");
    const char *cap[8];
    int n_cap = 0;
    for (const tlr_json *o = tlr_json_first(caps); o && n_cap < 8; o = tlr_json_next(o))
        cap[n_cap++] = tlr_json_get_string(o, "layer", "");
    tlr_forward_result r;
    tlr_forward_opts fo = { 0, 0 };
    tlr_status st = tlr_forward_run(f->model, (const tlr_tensor *const *)in, n, cap, n_cap, 1, &fo,
                                    &r, &err);
    CHECK(st == TLR_OK, "%s: forward: %s", name, err.msg);
    if (st == TLR_OK) {
        CHECK(r.n_skipped == 0, "%s: %d layers not run (first: %s)", name, r.n_skipped,
              r.n_skipped ? r.skipped[0] : "");
        if (compare_outputs(name, &r, tlr_json_get(e, "outputs"), caps))
            c->match++;
        else
            c->mismatch++;
        tlr_forward_result_free(&r);
    } else {
        c->mismatch++;
    }
    for (int k = 0; k < n; k++)
        tlr_tensor_free(in[k]);
    tlr_kfile_free(f);
}

/* A model with layers no engine can run: the pass must say which, without an output. */
static void run_not_runnable(const char *corpus, const tlr_json *e, fwd_counts *c)
{
    const char *name = tlr_json_get_string(e, "file", "");
    const char *why = tlr_json_get_string(e, "reason", "");
    printf("corpus forward: %s not runnable (%s)\n", name, why);
    c->not_runnable++;
    tlr_err err = { 0 };
    tlr_kfile *f = open_entry(corpus, e, &err);
    CHECK(f != NULL, "%s: %s", name, err.msg);
    if (!f)
        return;
    tlr_tensor *in[8] = { 0 };
    int n = make_inputs(name, f->model, NULL, NULL, in, 8);
    tlr_forward_result r;
    tlr_forward_opts fo = { 0, 0 };
    tlr_status st = tlr_forward_run(f->model, (const tlr_tensor *const *)in, n, NULL, 0, 1, &fo,
                                    &r, &err);
    if (st == TLR_OK) {
        int any_out = 0;
        for (int k = 0; k < r.n_outputs; k++)
            any_out |= r.outputs[k] != NULL;
        CHECK(r.n_skipped > 0 && !any_out, "%s: not runnable, yet %d layers skipped and %s output",
              name, r.n_skipped, any_out ? "an" : "no");
        c->refused_ok += r.n_skipped > 0 && !any_out;
        tlr_forward_result_free(&r);
    } else {
        /* an error value is a clean refusal too (e.g. a non-image input it cannot fill) */
        CHECK(err.msg[0] != '\0', "%s: forward failed without a message", name);
        c->refused_ok++;
    }
    for (int k = 0; k < n; k++)
        tlr_tensor_free(in[k]);
    tlr_kfile_free(f);
}

void test_corpus_forward(void)
{
    const char *shared = tlr_t_shared();
    char corpus[2048], man[1024];
    snprintf(corpus, sizeof corpus, "%s/corpus", shared ? shared : ".");
    snprintf(man, sizeof man, "%s/corpus/manifest.tsv", shared ? shared : ".");
    FILE *probe = shared ? fopen(man, "r") : NULL;
    if (!probe) {
        tlr_t_skip("corpus forward", "../shared/corpus not found");
        return;
    }
    fclose(probe);
    char rpath[1024];
    snprintf(rpath, sizeof rpath, "%s/" REF "/manifest.json", tlr_t_root());
    size_t len;
    char *text = tlr_t_slurp(rpath, &len);
    tlr_err err = { 0 };
    tlr_json *refs = text ? tlr_json_parse(text, len, rpath, &err) : NULL;
    free(text);
    CHECK(refs != NULL, "cannot read %s: %s", rpath, err.msg);
    if (!refs)
        return;
    fwd_counts c = { 0, 0, 0, 0, 0 };
    for (const tlr_json *e = tlr_json_first(tlr_json_get(refs, "models")); e;
         e = tlr_json_next(e)) {
        const char *status = tlr_json_get_string(e, "status", "");
        if (strcmp(status, "reference") == 0) {
            run_reference(corpus, e, &c);
        } else if (strcmp(status, "not runnable") == 0) {
            run_not_runnable(corpus, e, &c);
        } else {
            printf("corpus forward: %s no reference (%s)\n", tlr_json_get_string(e, "file", ""),
                   tlr_json_get_string(e, "reason", ""));
            c.no_reference++;
        }
    }
    CHECK(c.match + c.mismatch >= 30, "only %d models with references", c.match + c.mismatch);
    printf("corpus forward: %d match, %d differ, %d not runnable (%d refused cleanly), "
           "%d no reference\n", c.match, c.mismatch, c.not_runnable, c.refused_ok,
           c.no_reference);
    tlr_json_free(refs);
}
