/* test_k1_rnn.c - Keras 1 recurrent layers stored gate by gate (tests/gen/make_k1_rnn.py).
 * The joined weights must reproduce tests/gen/k1_rnn_ref.py, which runs NumPy on the
 * per-gate arrays as stored; every layer's parameter count must be the sum of its stored
 * arrays; --summary, --storage and --predict must work on the files. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "harness.h"
#include "io/npy.h"
#include "keras/kfile.h"
#include "report/inspect.h"
#include "report/storage.h"

typedef struct {
    const char *name;  /* tests/fixtures/rnn/<name>.h5, tests/ref/rnn/<name>/{x,out}.npy */
    int64_t params;    /* by hand from the generator's shapes */
    int runs;          /* 0: the model has a layer tlreport cannot run (TimeDistributed) */
} k1_case;

/* LSTM 4 (F u + u u + u), GRU 3 (...), SimpleRNN F u + u u + u; Bidirectional twice. */
static const k1_case cases[] = {
    { "k1_lstm_tf", 50 + 4 * (5 * 4 + 4 * 4 + 4) + (4 * 3 + 3), 1 },
    { "k1_gru_tf", 3 * (4 * 5 + 5 * 5 + 5) + (5 * 2 + 2), 1 },
    { "k1_simplernn_th", (4 * 3 + 3 * 3 + 3) + (3 * 4 + 4 * 4 + 4) + (4 * 2 + 2), 1 },
    { "k1_lstm_gru_th", 4 * (3 * 4 + 4 * 4 + 4) + 3 * (4 * 3 + 3 * 3 + 3) + (3 * 2 + 2), 1 },
    { "k1_gru_th_backend", 4 * (3 * 4 + 4 * 4 + 4) + 3 * (4 * 3 + 3 * 3 + 3) + (3 * 2 + 2), 1 },
    { "k1_bidi_lstm", 2 * 4 * (4 * 3 + 3 * 3 + 3) + (6 * 2 + 2), 1 },
    { "k1_bidi_gru_th", 2 * 3 * (2 * 3 + 3 * 3 + 3) + 3 * (3 * 2 + 2 * 2 + 2), 1 },
    { "k1_lstm_gpu", 4 * (2 * 3 + 3 * 3 + 3) + (3 * 1 + 1), 1 },
    { "k1_td_lstm", 4 * (3 * 4 + 4 * 4 + 4) + (4 * 2 + 2), 0 },
};

static char *fixture(const k1_case *c)
{
    return tlr_xasprintf("%s/tests/fixtures/rnn/%s.h5", tlr_t_root(), c->name);
}

static char *ref(const k1_case *c, const char *what)
{
    return tlr_xasprintf("%s/tests/ref/rnn/%s/%s.npy", tlr_t_root(), c->name, what);
}

static const char *binary(void)
{
    static char path[4096];
    const char *b = getenv("TLREPORT");
    if (b && b[0])
        return b;
    snprintf(path, sizeof path, "%s/tlreport", tlr_t_root());
    return path;
}

/* Largest |got - want| over n values. */
static double max_abs_diff(const float *got, const float *want, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs((double)got[i] - (double)want[i]) > m)
            m = fabs((double)got[i] - (double)want[i]);
    return m;
}

/* The forward pass on x.npy against out.npy. */
static void check_forward(const k1_case *c, const tlr_model *m)
{
    char *xp = ref(c, "x"), *yp = ref(c, "out");
    tlr_err err = { 0 };
    int xn = 0, yn = 0;
    int64_t xs[8], ys[8];
    float *x = tlr_npy_read(xp, &xn, xs, &err), *want = tlr_npy_read(yp, &yn, ys, &err);
    CHECK(x && want, "%s: references: %s", c->name, err.msg);
    if (x && want) {
        tlr_tensor *in = tlr_tensor_new(xn, xs);
        memcpy(in->data, x, (size_t)tlr_tensor_numel(in) * sizeof(float));
        const tlr_tensor *ins = in;
        tlr_forward_result r;
        tlr_forward_opts fo = { (int64_t)1 << 30, 0 };
        tlr_status st = tlr_forward_run(m, &ins, 1, NULL, 0, 1, &fo, &r, &err);
        CHECK(st == TLR_OK, "%s: forward: %s", c->name, err.msg);
        if (st == TLR_OK) {
            const tlr_tensor *y = r.outputs[0];
            CHECK(y != NULL, "%s: output not computed (%s)", c->name,
                  r.n_skipped ? r.skipped[0] : "");
            if (y) {
                INT_EQ(tlr_tensor_numel(y), tlr_shape_numel(yn, ys), c->name);
                if (tlr_tensor_numel(y) == tlr_shape_numel(yn, ys)) {
                    double d = max_abs_diff(y->data, want, tlr_tensor_numel(y));
                    CHECK(d <= 1e-5, "%s: output differs from numpy by %g", c->name, d);
                }
            }
            tlr_forward_result_free(&r);
        }
        tlr_tensor_free(in);
    }
    free(x);
    free(want);
    free(xp);
    free(yp);
}

/* Each layer's parameters against its group's stored arrays, as --storage counts them
 * straight from the datasets. */
static void check_params(const k1_case *c, const tlr_kfile *f)
{
    tlr_err err = { 0 };
    tlr_storage *sto = tlr_inspect_storage_build(f, &err);
    tlr_json *s = sto ? tlr_storage_to_json(sto) : NULL;
    tlr_storage_free(sto);
    CHECK(s != NULL, "%s: storage: %s", c->name, err.msg);
    const tlr_json *groups = tlr_json_get(tlr_json_get(s, "weights"), "groups");
    int64_t total = 0;
    int n = 0;
    for (const tlr_json *g = tlr_json_first(groups); g; g = tlr_json_next(g), n++) {
        const char *name = tlr_json_get_string(g, "name", "");
        int li = tlr_model_find(f->model, name);
        int64_t stored = (int64_t)tlr_json_get_number(g, "params", -1);
        CHECK(li >= 0, "%s: group '%s' has no layer", c->name, name);
        if (li >= 0)
            CHECK(f->model->layers[li].params == stored, "%s: layer '%s' has %lld params, its "
                  "group stores %lld", c->name, name, (long long)f->model->layers[li].params,
                  (long long)stored);
        total += stored;
    }
    CHECK(n > 0, "%s: storage lists no weight groups", c->name);
    INT_EQ(total, c->params, c->name);
    tlr_json_free(s);
}

/* Runs tlreport with 'args' after the file; returns its stdout (free) or NULL on failure. */
static char *run_cli(const k1_case *c, const char *args)
{
    char *h5 = fixture(c);
    char *out = tlr_xasprintf("%s/%s.out", tlr_t_tmpdir(), c->name);
    char *cmd = tlr_xasprintf("cd '%s' && '%s' '%s' %s >'%s' 2>/dev/null", tlr_t_root(),
                              binary(), h5, args, out);
    int rc = system(cmd);
    char *text = rc == 0 ? tlr_t_slurp(out, NULL) : NULL;
    CHECK(text != NULL, "%s: tlreport %s exited %d", c->name, args, rc);
    free(cmd);
    free(out);
    free(h5);
    return text;
}

/* --summary's total, --storage's count and --predict's values. */
static void check_cli(const k1_case *c)
{
    char want[96];
    char *text = run_cli(c, "--summary");
    snprintf(want, sizeof want, "Total params: %lld\n", (long long)c->params);
    STR_CONTAINS(text, want, c->name);
    free(text);
    text = run_cli(c, "--storage");
    snprintf(want, sizeof want, "%lld parameters", (long long)c->params);
    STR_CONTAINS(text, want, c->name);
    free(text);
    if (!c->runs)
        return;
    char *xp = ref(c, "x"), *yp = ref(c, "out");
    char *args = tlr_xasprintf("'%s' --predict", xp);
    text = run_cli(c, args);
    tlr_err err = { 0 };
    int yn;
    int64_t ys[8];
    float *y = tlr_npy_read(yp, &yn, ys, &err);
    const char *p = text ? strchr(text, ':') : NULL;
    int64_t n = y ? tlr_shape_numel(yn, ys) : 0, i = 0;
    double worst = 0;
    for (char *end; p && i < n; i++, p = end) {
        double v = strtod(p + 1, &end);
        if (end == p + 1)
            break;
        worst = fabs(v - (double)y[i]) > worst ? fabs(v - (double)y[i]) : worst;
    }
    CHECK(y && i == n && worst <= 1e-5, "%s: --predict printed %lld of %lld values, off by %g",
          c->name, (long long)i, (long long)n, worst);
    free(y);
    free(text);
    free(args);
    free(xp);
    free(yp);
}

/* A gate array of the wrong shape is named in the error (k1_bad_gate.h5: gru_1_U_r is (5, 4)). */
static void wrong_gate_shape(void)
{
    char *path = tlr_xasprintf("%s/tests/fixtures/rnn/k1_bad_gate.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f == NULL, "k1_bad_gate.h5 opened");
    STR_CONTAINS(err.msg, "layer 'gru_1': recurrent_kernel gate gru_1_U_r:0 (5,4), expected (5,5)",
                 "wrong gate shape");
    tlr_kfile_free(f);
    free(path);
}

void test_k1_rnn(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const k1_case *c = &cases[i];
        char *path = fixture(c);
        tlr_err err = { 0 };
        tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
        CHECK(f != NULL, "%s: %s", c->name, err.msg);
        if (f) {
            tlr_status st = tlr_kfile_load_weights(f, &err);
            CHECK(st == TLR_OK, "%s: weights: %s", c->name, err.msg);
            check_params(c, f);
            if (!st && c->runs)
                check_forward(c, f->model);
            tlr_kfile_free(f);
        }
        check_cli(c);
        free(path);
    }
    wrong_gate_shape();
}
