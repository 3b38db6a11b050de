/* test_degrade.c - every readable model file gets a report (issue "degrade, never refuse").
 * Each class of gap on a generated fixture (tests/gen/make_degrade.py) and, where the corpus
 * has one, on a real file (skipped with a message when ../shared/corpus is absent):
 *   - a Keras 1 layer whose stored arrays cannot be paired with its weights: unbound, not
 *     run, counted from its config; everything before it still computed (k1_unbound.h5);
 *   - subclassed models: storage, the objects and layers of the weights tree, the report
 *     saying why shapes and feature maps are missing (subclassed_vae.keras,
 *     subclassed_net.h5 also with --config; corpus 028's custom ResNet layer);
 *   - images that do not fit: Preguntas 1-4 written, Pregunta 5 explaining; a flat input fed
 *     an image of its pixel count as x.reshape(1, -1) (flat_mlp.h5, corpus 039); several
 *     inputs fed with --input NAME=FILE.npy (two_inputs.h5, corpus 013);
 *   - status: exit 0 with one warning line per gap, 1 with --strict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "harness.h"
#include "io/npy.h"
#include "keras/kfile.h"

static const char *binary(void)
{
    static char path[4096];
    const char *b = getenv("TLREPORT");
    if (b && b[0])
        return b;
    snprintf(path, sizeof path, "%s/tlreport", tlr_t_root());
    return path;
}

typedef struct {
    int rc;
    char *out, *err;
    int warnings;  /* "tlreport: warning: " lines on stderr */
} run_result;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* Runs tlreport with 'args' (already quoted) from the repository root. */
static run_result run(const char *args)
{
    run_result r = { 0 };
    char *o = tlr_xasprintf("%s/degrade.out", tlr_t_tmpdir());
    char *e = tlr_xasprintf("%s/degrade.err", tlr_t_tmpdir());
    char *cmd = tlr_xasprintf("cd '%s' && '%s' %s >'%s' 2>'%s'", tlr_t_root(), binary(), args,
                              o, e);
    int st = system(cmd);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r.out = tlr_t_slurp(o, NULL);
    r.err = tlr_t_slurp(e, NULL);
    r.warnings = count_lines(r.err, "tlreport: warning: ");
    free(cmd);
    free(o);
    free(e);
    return r;
}

/* The report.json of a site written into the scratch dir 'name'. */
static tlr_json *site_json(const char *name)
{
    char *p = tlr_xasprintf("%s/%s/report.json", tlr_t_tmpdir(), name);
    size_t n;
    char *text = tlr_t_slurp(p, &n);
    tlr_err err = { 0 };
    tlr_json *j = text ? tlr_json_parse(text, n, p, &err) : NULL;
    CHECK(j != NULL, "%s: no report.json", p);
    free(text);
    free(p);
    return j;
}

static char *site_file(const char *name, const char *file)
{
    char *p = tlr_xasprintf("%s/%s/%s", tlr_t_tmpdir(), name, file);
    char *text = tlr_t_slurp(p, NULL);
    CHECK(text != NULL, "%s missing", p);
    free(p);
    return text;
}

/* A report of 'model' (+ args) into site 'name': exit 0, 'gaps' warning lines; with
 * --strict, exit 1 when there are gaps.  Returns its report.json. */
static tlr_json *report_with_gaps(const char *name, const char *model, const char *args, int gaps)
{
    char *a = tlr_xasprintf("'%s' %s -o '%s/%s' --quiet --force", model, args, tlr_t_tmpdir(), name);
    run_result r = run(a);
    CHECK(r.rc == 0, "%s: exit %d: %s", name, r.rc, r.err ? r.err : "");
    CHECK(r.warnings == gaps, "%s: %d warning lines, want %d: %s", name, r.warnings, gaps,
          r.err ? r.err : "");
    run_free(&r);
    char *s = tlr_xasprintf("%s --strict", a);
    r = run(s);
    CHECK(r.rc == (gaps ? 1 : 0), "%s --strict: exit %d, want %d", name, r.rc, gaps ? 1 : 0);
    if (gaps)
        STR_CONTAINS(r.err, "(--strict)", name);
    run_free(&r);
    free(s);
    free(a);
    return site_json(name);
}

/* ---- a Keras 1 layer whose weights do not bind ------------------------------------------- */

static void unbound_library(void)
{
    char *path = tlr_xasprintf("%s/tests/fixtures/models/k1_unbound.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "k1_unbound.h5 refused: %s", err.msg);
    if (f && tlr_kfile_load_weights(f, &err) == TLR_OK) {
        int ci = tlr_model_find(f->model, "convolution2d_1");
        int di = tlr_model_find(f->model, "dense_1");
        CHECK(ci >= 0 && di >= 0, "k1_unbound.h5: layers not found");
        if (ci < 0 || di < 0) {
            tlr_kfile_free(f);
            free(path);
            return;
        }
        const tlr_layer *conv = &f->model->layers[ci], *dense = &f->model->layers[di];
        OK(!conv->weights_unbound && conv->weights[0].data, "the convolution binds");
        OK(dense->weights_unbound, "dense_1 is unbound");
        STR_CONTAINS(dense->cannot_run, "the file stores 3 weights, the layer has 2", "reason");
        INT_EQ(dense->params, 144 * 3 + 3, "dense_1 params from its config");
        OK(dense->weights[0].data == NULL, "no data for an unbound layer");
        tlr_strlist gaps = TLR_STRLIST_INIT;
        tlr_kfile_gaps(f, &gaps);
        INT_EQ((int64_t)gaps.n, 1, "one gap");
        if (gaps.n)
            STR_CONTAINS(gaps.items[0], "layer 'dense_1' (Dense)", "gap names the layer");
        tlr_strlist_free(&gaps);
        /* what does not depend on it still runs */
        int64_t shape[4] = { 1, 8, 8, 1 };
        tlr_tensor *x = tlr_tensor_new(4, shape);
        for (int i = 0; i < 64; i++)
            x->data[i] = (float)i / 64.0f;
        const tlr_tensor *xs = x;
        const char *cap[] = { "convolution2d_1" };
        tlr_forward_opts fo = { 0, 0 };
        tlr_forward_result r;
        tlr_status st = tlr_forward_run(f->model, &xs, 1, cap, 1, 1, &fo, &r, &err);
        CHECK(st == TLR_OK, "forward: %s", err.msg);
        if (!st) {
            OK(r.captured[0] != NULL, "the convolution is computed");
            OK(r.outputs[0] == NULL, "the output, after dense_1, is not");
            int found = 0;
            for (int k = 0; k < r.n_skipped; k++)
                found |= r.skips[k].reason == TLR_SKIP_WEIGHTS &&
                         strcmp(r.skips[k].path, "dense_1") == 0;
            OK(found, "dense_1 skipped for its weights");
            tlr_forward_result_free(&r);
        }
        tlr_tensor_free(x);
    } else if (f) {
        CHECK(0, "k1_unbound.h5 weights: %s", err.msg);
    }
    tlr_kfile_free(f);
    free(path);
}

static void unbound_cli(void)
{
    const char *m = "tests/fixtures/models/k1_unbound.h5";
    char *a = tlr_xasprintf("'%s' --summary", m);
    run_result r = run(a);
    CHECK(r.rc == 0 && r.out && strstr(r.out, "Total params: 475"), "--summary: exit %d", r.rc);
    run_free(&r);
    free(a);
    a = tlr_xasprintf("'%s' --storage", m);
    r = run(a);
    CHECK(r.rc == 0 && r.out && strstr(r.out, "dense_1_gain"), "--storage: exit %d", r.rc);
    run_free(&r);
    free(a);
    tlr_json *d = report_with_gaps("k1_unbound", m, "tests/fixtures/images/rgb8.png", 1);
    const tlr_json *u = tlr_json_first(tlr_json_get(d, "unbound"));
    STR_EQ(tlr_json_get_string(u, "layer", ""), "dense_1", "report.json unbound");
    OK(tlr_json_get(d, "kernels") && tlr_json_get_bool(tlr_json_get(d, "features"), "present", 0),
       "the convolution's feature maps are in the report");
    tlr_json_free(d);
    char *md = site_file("k1_unbound", "report.md");
    STR_CONTAINS(md, "the file stores 3 weights, the layer has 2", "report.md gives the reason");
    free(md);
}

/* ---- subclassed models ------------------------------------------------------------------- */

static void subclassed_keras(void)
{
    const char *m = "tests/fixtures/models/subclassed_vae.keras";
    char *a = tlr_xasprintf("'%s' --summary", m);
    run_result r = run(a);
    CHECK(r.rc == 0, "--summary: exit %d: %s", r.rc, r.err);
    STR_CONTAINS(r.out, "Model: \"VAE\" (subclassed", "summary header");
    STR_CONTAINS(r.out, "    conv2d                      (3, 3, 1, 4), (4,)", "encoder/conv2d row");
    STR_CONTAINS(r.out, "Total params: 447 (the sum of the 10 stored arrays)", "total");
    STR_CONTAINS(r.out, "--config", "what the user can do");
    run_free(&r);
    free(a);
    a = tlr_xasprintf("'%s' --storage", m);
    r = run(a);
    CHECK(r.rc == 0, "--storage: exit %d", r.rc);
    STR_CONTAINS(r.out, "447 parameters", "storage total = the summary's");
    STR_CONTAINS(r.out, "a subclassed model: no layer list", "storage names the state");
    run_free(&r);
    free(a);
    a = tlr_xasprintf("'%s' tests/fixtures/images/rgb8.png --predict", m);
    r = run(a);
    CHECK(r.rc == 1 && count_lines(r.err, "tlreport: ") == 1, "--predict: exit %d", r.rc);
    STR_CONTAINS(r.err, "subclassed", "--predict says why");
    run_free(&r);
    free(a);
    tlr_json *d = report_with_gaps("vae", m, "", 1);
    const tlr_json *s = tlr_json_get(d, "subclassed");
    STR_EQ(tlr_json_get_string(s, "class", ""), "VAE", "report.json subclassed");
    NEAR(tlr_json_get_number(s, "total_params", 0), 447, 0, "subclassed total");
    NEAR(tlr_json_get_number(tlr_json_get(d, "layers"), "count", 0), 3, 0, "tracked objects");
    tlr_json_free(d);
    for (int en = 0; en < 2; en++) {
        char *name = tlr_xasprintf("vae%s", en ? "-en" : "");
        if (en) {
            tlr_json_free(report_with_gaps(name, m, "--lang en", 1));
        }
        char *md = site_file(name, "report.md");
        STR_CONTAINS(md, "encoder/conv2d", "report lists the layers of the tracked objects");
        STR_CONTAINS(md, "--config", "report says what to do");
        STR_CONTAINS(md, en ? "class VAE" : "clase VAE", "report names the class");
        free(md);
        free(name);
    }
}

static void subclassed_h5(void)
{
    const char *m = "tests/fixtures/models/subclassed_net.h5";
    char *a = tlr_xasprintf("'%s' --summary", m);
    run_result r = run(a);
    CHECK(r.rc == 0, "--summary: exit %d", r.rc);
    STR_CONTAINS(r.out, "    batch_normalization         (4,), (4,), (4,), (4,)", "block rows");
    STR_CONTAINS(r.out, " head                           (144, 3), (3,)", "head row");
    STR_CONTAINS(r.out, "Total params: 491", "total");
    run_free(&r);
    free(a);
    tlr_json_free(report_with_gaps("net", m, "", 1));
    /* --config with the Functional architecture: the whole report, no gap */
    a = tlr_xasprintf("'%s' --config tests/fixtures/models/subclassed_net_arch.json --summary", m);
    r = run(a);
    CHECK(r.rc == 0 && r.out && strstr(r.out, "block (Sequential)") &&
          strstr(r.out, "Total params: 491"), "--config: exit %d: %s", r.rc, r.err);
    run_free(&r);
    free(a);
    tlr_json *d = report_with_gaps("net-config", m, "--config tests/fixtures/models/"
                                   "subclassed_net_arch.json tests/fixtures/images/rgb8.png", 0);
    OK(tlr_json_get_bool(tlr_json_get(d, "features"), "present", 0), "feature maps with --config");
    tlr_json_free(d);
}

/* ---- inputs that are not images ---------------------------------------------------------- */

/* --predict's values for one input line, against a reference .npy. */
static void predict_matches(const char *args, const char *ref_name)
{
    run_result r = run(args);
    char *ref = tlr_xasprintf("%s/tests/ref/degrade/%s", tlr_t_root(), ref_name);
    tlr_err err = { 0 };
    int nd;
    int64_t sh[8];
    float *y = tlr_npy_read(ref, &nd, sh, &err);
    CHECK(r.rc == 0 && y, "%s: exit %d %s", args, r.rc, r.err);
    const char *p = r.out ? strchr(r.out, ':') : NULL;
    int64_t n = y ? sh[nd - 1] : 0;
    for (int64_t i = 0; p && i < n; i++) {
        char *end;
        double v = strtod(p + 1, &end);
        NEAR(v, (double)y[i], 1e-5, args);
        p = end;
    }
    free(y);
    free(ref);
    run_free(&r);
}

static void flat_inputs(void)
{
    predict_matches("tests/fixtures/models/flat_mlp.h5 tests/fixtures/images/gray4x4.png "
                    "--predict", "flat_mlp_out.npy");
    tlr_json *d = report_with_gaps("flat", "tests/fixtures/models/flat_mlp.h5",
                                   "tests/fixtures/images/gray4x4.png", 0);
    OK(tlr_json_get_bool(tlr_json_get(d, "preprocess"), "flatten", 0), "preprocess.flatten");
    OK(tlr_json_get_bool(tlr_json_get(d, "predictions"), "present", 0), "predictions");
    tlr_json_free(d);
    char *md = site_file("flat", "report.md");
    STR_CONTAINS(md, "x.reshape(1, -1)", "the report says how the image was fed");
    free(md);
    /* a flat input reshaped into an image by the model: feature maps from a flattened image */
    d = report_with_gaps("flat-conv", "tests/fixtures/models/flat_conv.h5",
                         "tests/fixtures/images/gray4x4.png", 0);
    OK(tlr_json_get_bool(tlr_json_get(d, "features"), "present", 0), "flat_conv: feature maps");
    tlr_json_free(d);
    /* an image of another size: a gap, Pregunta 5 says what fits */
    d = report_with_gaps("flat-unfit", "tests/fixtures/models/flat_mlp.h5",
                         "tests/fixtures/images/rgb8.png", 1);
    const tlr_json *u = tlr_json_get(tlr_json_get(d, "features"), "unfit");
    OK(tlr_json_get_bool(u, "flat", 0), "unfit.flat");
    NEAR(tlr_json_get_number(u, "side_gray", 0), 4, 0, "a 4x4 grayscale image fits");
    tlr_json_free(d);
}

static void named_inputs(void)
{
    predict_matches("tests/fixtures/models/two_inputs.h5 --input a=tests/fixtures/npy/"
                    "two_inputs_a.npy --input b=tests/fixtures/npy/two_inputs_b.npy --predict",
                    "two_inputs_out.npy");
    tlr_json *d = report_with_gaps("two", "tests/fixtures/models/two_inputs.h5",
                                   "--input a=tests/fixtures/npy/two_inputs_a.npy "
                                   "--input b=tests/fixtures/npy/two_inputs_b.npy", 0);
    OK(tlr_json_get_bool(tlr_json_get(d, "predictions"), "present", 0), "two inputs: predictions");
    tlr_json_free(d);
    d = report_with_gaps("two-images", "tests/fixtures/models/two_inputs.h5",
                         "tests/fixtures/images/rgb8.png", 1);
    const tlr_json *u = tlr_json_get(tlr_json_get(d, "features"), "unfit");
    OK(tlr_json_get_bool(u, "multi_input", 0), "unfit.multi_input");
    tlr_json_free(d);
    /* a missing or unknown input name is a usage error */
    run_result r = run("tests/fixtures/models/two_inputs.h5 --input a=tests/fixtures/npy/"
                       "two_inputs_a.npy --predict");
    CHECK(r.rc == 2 && r.err && strstr(r.err, "--input b=FILE.npy"), "missing input: exit %d", r.rc);
    run_free(&r);
    r = run("tests/fixtures/models/two_inputs.h5 --input c=tests/fixtures/npy/two_inputs_a.npy "
            "--predict");
    CHECK(r.rc == 2 && r.err && strstr(r.err, "no input of that name"), "unknown input: exit %d",
          r.rc);
    run_free(&r);
}

/* ---- the corpus ----------------------------------------------------------------------------- */

static char *corpus_model(const char *name)
{
    const char *shared = tlr_t_shared();
    char *p = shared ? tlr_xasprintf("%s/corpus/models/%s", shared, name) : NULL;
    FILE *f = p ? fopen(p, "rb") : NULL;
    if (!f) {
        tlr_t_skip(name, "../shared/corpus is not here");
        free(p);
        return NULL;
    }
    fclose(f);
    return p;
}

static void corpus_cases(void)
{
    char *m = corpus_model("028-siamese-subclassed.h5");
    if (m) {
        char *imgs = tlr_xasprintf("'%s/corpus/images/028-siamese-subclassed'", tlr_t_shared());
        tlr_json *d = report_with_gaps("c028", m, imgs, 2);
        const tlr_json *o = tlr_json_first(tlr_json_get(d, "opaque_layers"));
        STR_EQ(tlr_json_get_string(o, "layer", ""), "res_net", "028: the custom layer");
        NEAR(tlr_json_get_number(o, "total_params", 0), 300560, 0, "028: sum of its arrays");
        OK(tlr_json_get_bool(tlr_json_get(tlr_json_get(d, "features"), "unfit"), "multi_input", 0),
           "028: two inputs explained");
        tlr_json_free(d);
        char *a = tlr_xasprintf("'%s' --storage", m);
        run_result r = run(a);
        CHECK(r.rc == 0, "028 --storage: exit %d", r.rc);
        run_free(&r);
        free(a);
        free(imgs);
        free(m);
    }
    m = corpus_model("039-mnist-dense-k3.h5");
    if (m) {
        tlr_json *d = report_with_gaps("c039", m, "tests/fixtures/images/digit28.png", 0);
        OK(tlr_json_get_bool(tlr_json_get(d, "preprocess"), "flatten", 0), "039: flattened");
        OK(tlr_json_get_bool(tlr_json_get(d, "predictions"), "present", 0), "039: predictions");
        tlr_json_free(d);
        char *imgs = tlr_xasprintf("'%s/images'", tlr_t_shared());
        d = report_with_gaps("c039-photos", m, imgs, 1);
        NEAR(tlr_json_get_number(tlr_json_get(tlr_json_get(d, "features"), "unfit"), "side_gray",
                                 0), 28, 0, "039: a 28x28 digit fits");
        tlr_json_free(d);
        free(imgs);
        free(m);
    }
    m = corpus_model("013-concat-mlp-k2.h5");
    if (m) {
        /* one array per named input */
        char *a = tlr_xasprintf("%s/in784.npy", tlr_t_tmpdir());
        int64_t shape[2] = { 1, 784 };
        float *x = tlr_xcalloc(784, sizeof *x);
        tlr_err err = { 0 };
        CHECK(tlr_npy_write(a, 2, shape, x, &err) == TLR_OK, "npy: %s", err.msg);
        char *args = tlr_xasprintf("--input input_3='%s' --input aux_input='%s'", a, a);
        tlr_json *d = report_with_gaps("c013", m, args, 0);
        OK(tlr_json_get_bool(tlr_json_get(d, "predictions"), "present", 0), "013: predictions");
        tlr_json_free(d);
        free(args);
        free(x);
        free(a);
        free(m);
    }
}

void test_degrade(void)
{
    unbound_library();
    unbound_cli();
    subclassed_keras();
    subclassed_h5();
    flat_inputs();
    named_inputs();
    corpus_cases();
}
