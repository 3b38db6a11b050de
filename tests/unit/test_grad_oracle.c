/* test_grad_oracle.c - the reverse pass against the PyTorch autograd oracle
 * (shared/oracle/oracle_grad.py, float64; references in tests/ref/grad made by
 * tests/gen/make_grad_refs.py): Grad-CAM maps, the layer gradients behind them (d score /
 * d A), input gradients of a filter's mean activation, and a 30-step gradient ascent, each
 * within 1e-4 relative (max |a - b| / max |b|).
 *
 * The committed numeric fixtures always run.  The five seed models of make_keras_h5.py are
 * too big to commit (VGG16 is 64 MB): tests/cli/grad_seed.sh regenerates them and runs this
 * suite again with TLR_GRAD_SEEDS naming their folder; without it they are skipped. */
#include <stdlib.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "engine/reverse.h"
#include "harness.h"
#include "io/npy.h"
#include "keras/kfile.h"

#define TOL 1e-4

/* A reference array, NULL (and a failure) when it cannot be read. */
static float *load_ref(const char *dir, const char *file, int64_t *n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tlr_err err = { 0 };
    int nd;
    int64_t shape[8];
    float *v = tlr_npy_read(path, &nd, shape, &err);
    CHECK(v != NULL, "%s: %s", path, err.msg);
    *n = 1;
    for (int i = 0; v && i < nd; i++)
        *n *= shape[i];
    return v;
}

static void near_ref(const char *dir, const char *file, const float *got, int64_t n,
                     const char *what)
{
    int64_t rn = 0;
    float *want = load_ref(dir, file, &rn);
    if (!want)
        return;
    INT_EQ(n, rn, what);
    if (n == rn)
        FLOATS_NEAR(got, want, (size_t)n, TOL, what);
    free(want);
}

/* d score / d A elementwise, except where float32 ties a max pool's window that float64
 * does not (VGG16's block5_pool on seed_vgg16: 0.27106742 and 0.27106774 both round to
 * 0.2710677): the gradient then goes to another cell of the window.  Such cells must come
 * in groups of equal A in one channel, and each channel's sum (Grad-CAM's alpha) must still
 * match. */
static void near_layer_grad(const char *dir, const tlr_tensor *A, const float *got,
                            const char *what)
{
    int64_t n = tlr_tensor_numel(A), rn = 0, k = A->shape[A->ndim - 1], bad = 0, unexplained = 0;
    float *want = load_ref(dir, "gradcam_grads.npy", &rn);
    if (!want || rn != n) {
        INT_EQ(rn, n, what);
        free(want);
        return;
    }
    double top = 0.0, atop = 0.0;
    for (int64_t i = 0; i < n; i++) {
        top = fmax(top, fabs((double)want[i]));
        atop = fmax(atop, fabs((double)A->data[i]));
    }
    double *chan = tlr_xcalloc((size_t)k, sizeof *chan);
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        chan[i % k] += d;
        if (fabs(d) <= TOL * top)
            continue;
        bad++;
        int64_t j = i % k;
        while (j < n && (j == i || fabs((double)A->data[j] - (double)A->data[i]) > 1e-6 * atop ||
                         fabs((double)got[j] - (double)want[j]) <= TOL * top))
            j += k;
        unexplained += j >= n;
    }
    double worst = 0.0;
    for (int64_t c = 0; c < k; c++)
        worst = fmax(worst, fabs(chan[c]));
    CHECK(unexplained == 0 && bad * 100 <= n && worst <= TOL * top * (double)(n / k),
          "%s: layer gradient: %lld cells differ (%lld not max-pool ties), channel sums off "
          "by up to %g", what, (long long)bad, (long long)unexplained, worst);
    if (bad)
        printf("note [grad_oracle] %s: %lld cells took a float32 max-pool tie\n", what,
               (long long)bad);
    free(chan);
    free(want);
}

static void check_gradcam(const tlr_model *m, const tlr_tensor *x, const tlr_json *c,
                          const char *dir, const char *what)
{
    tlr_grad_request rq = { .kind = TLR_SCORE_CLASS, .fixed = -1,
                            .wrt = tlr_json_get_string(c, "layer", "") };
    tlr_grad_result r;
    tlr_err err = { 0 };
    tlr_status st = tlr_grad_run(m, x, &rq, NULL, NULL, &r, &err);
    CHECK(st == TLR_OK, "%s: %s", what, err.msg);
    if (st)
        return;
    INT_EQ(r.index[0], (int)tlr_json_get_number(c, "cls", -1), what);
    double score = tlr_json_get_number(c, "score", 0);
    NEAR(r.score[0], score, 1e-4 * (fabs(score) > 1 ? fabs(score) : 1), what);
    near_layer_grad(dir, r.value, r.grad->data, what);
    if (r.value->ndim == 4) {
        float *cam = tlr_xmalloc((size_t)(r.value->shape[1] * r.value->shape[2]) * sizeof *cam);
        tlr_gradcam_map(r.value, r.grad, 0, cam);
        near_ref(dir, "gradcam.npy", cam, r.value->shape[1] * r.value->shape[2], what);
        free(cam);
    }
    tlr_grad_result_free(&r);
}

static tlr_grad_request filter_request(const tlr_json *c)
{
    tlr_grad_request rq = { .kind = TLR_SCORE_FILTER, .target = tlr_json_get_string(c, "layer", ""),
                            .fixed = (int)tlr_json_get_number(c, "filter", 0), .border = 2 };
    return rq;
}

static void check_input(const tlr_model *m, const tlr_tensor *x, const tlr_json *c,
                        const char *dir, const char *what)
{
    tlr_grad_request rq = filter_request(c);
    tlr_grad_result r;
    tlr_err err = { 0 };
    tlr_status st = tlr_grad_run(m, x, &rq, NULL, NULL, &r, &err);
    CHECK(st == TLR_OK, "%s: %s", what, err.msg);
    if (st)
        return;
    NEAR(r.score[0], tlr_json_get_number(c, "loss", 0), 1e-4, what);
    near_ref(dir, "input_grad.npy", r.grad->data, tlr_tensor_numel(r.grad), what);
    tlr_grad_result_free(&r);
}

/* The same image three times, asking for filters (f, another, f): the score's layer then runs
 * cut to two filters (reverse_narrow.c), and images 0 and 2 must still give the oracle's
 * single-filter gradient -- the cut's channels are found again by filter, repeats included. */
static void check_input_batch(const tlr_model *m, const tlr_tensor *x, const tlr_json *c,
                              const char *dir, const char *what)
{
    int64_t shape[TLR_MAX_DIMS], per = tlr_tensor_numel(x);
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = 3;
    tlr_tensor *xb = tlr_tensor_new(x->ndim, shape);
    for (int b = 0; b < 3; b++)
        memcpy(xb->data + b * per, x->data, (size_t)per * sizeof(float));
    tlr_grad_request rq = filter_request(c);
    int f = rq.fixed, idx[3] = { f, f == 0 ? 1 : 0, f };
    rq.index = idx;
    tlr_grad_result r;
    tlr_err err = { 0 };
    tlr_status st = tlr_grad_run(m, xb, &rq, NULL, NULL, &r, &err);
    CHECK(st == TLR_OK, "%s (batch): %s", what, err.msg);
    if (!st) {
        for (int b = 0; b < 3; b += 2) {
            INT_EQ(r.index[b], f, what);
            NEAR(r.score[b], tlr_json_get_number(c, "loss", 0), 1e-4, what);
            near_ref(dir, "input_grad.npy", r.grad->data + b * per, per, what);
        }
        INT_EQ(r.index[1], idx[1], what);
        tlr_grad_result_free(&r);
    }
    tlr_tensor_free(xb);
}

/* 30 steps from tlreport's seeded start, one flipped-kernel cache for all of them. */
static void check_ascent(const tlr_model *m, const tlr_tensor *like, const tlr_json *c,
                         const char *dir, const char *what)
{
    tlr_grad_request rq = filter_request(c);
    tlr_tensor *x = tlr_tensor_new(like->ndim, like->shape);
    int64_t n = tlr_tensor_numel(x);
    tlr_ascent_init(x->data, n, (uint64_t)tlr_json_get_number(c, "seed", 0));
    tlr_grad_cache *cache = tlr_grad_cache_new();
    int steps = (int)tlr_json_get_number(c, "steps", 30);
    tlr_status st = TLR_OK;
    tlr_err err = { 0 };
    for (int s = 0; s < steps && !st; s++) {
        tlr_grad_result r;
        if (!(st = tlr_grad_run(m, x, &rq, NULL, cache, &r, &err))) {
            tlr_ascent_step(x->data, r.grad->data, 1, n, (float)tlr_json_get_number(c, "lr", 10));
            tlr_grad_result_free(&r);
        }
    }
    CHECK(st == TLR_OK, "%s: %s", what, err.msg);
    if (!st)
        near_ref(dir, "ascent.npy", x->data, n, what);
    tlr_grad_cache_free(cache);
    tlr_tensor_free(x);
}

static void check_cases(const tlr_model *m, const tlr_tensor *x, const tlr_json *entry,
                        const char *name)
{
    for (const tlr_json *c = tlr_json_first(tlr_json_get(entry, "cases")); c;
         c = tlr_json_next(c)) {
        char dir[1100], what[600];
        snprintf(dir, sizeof dir, "%s/tests/ref/grad/%s/%s", tlr_t_root(), name,
                 tlr_json_get_string(c, "dir", ""));
        snprintf(what, sizeof what, "%s %s %s", name, tlr_json_get_string(c, "dir", ""),
                 tlr_json_get_string(c, "layer", ""));
        const char *kind = tlr_json_get_string(c, "kind", "");
        if (strcmp(kind, "gradcam") == 0)
            check_gradcam(m, x, c, dir, what);
        else if (strcmp(kind, "input") == 0)
            check_input(m, x, c, dir, what), check_input_batch(m, x, c, dir, what);
        else
            check_ascent(m, x, c, dir, what);
    }
}

/* The model file and input of one manifest entry; 0 (with a visible skip) when absent. */
static int entry_paths(const tlr_json *e, char *model, char *input, size_t cap)
{
    const char *name = tlr_json_get_string(e, "name", "");
    if (strcmp(tlr_json_get_string(e, "where", ""), "numeric") == 0) {
        snprintf(model, cap, "%s/tests/fixtures/numeric/%s.h5", tlr_t_root(), name);
        snprintf(input, cap, "%s/tests/fixtures/numeric/%s_input.npy", tlr_t_root(), name);
        return 1;
    }
    const char *seeds = getenv("TLR_GRAD_SEEDS");
    if (!seeds || !*seeds)
        return 0; /* tests/cli/grad_seed.sh runs these */
    snprintf(model, cap, "%s/%s.h5", seeds, name);
    snprintf(input, cap, "%s/inputs/%s.npy", seeds, name);
    size_t len = 0;
    char *bytes = tlr_t_slurp(model, &len);
    free(bytes);
    if (!bytes || (double)len != tlr_json_get_number(e, "model_bytes", -1)) {
        tlr_t_skip(name, "the seed model is missing or is not the one the references were "
                         "made from (tests/gen/make_grad_refs.py)");
        return 0;
    }
    return 1;
}

static void check_model(const tlr_json *e)
{
    char model[1024], input[1024];
    if (!entry_paths(e, model, input, sizeof model))
        return;
    const char *name = tlr_json_get_string(e, "name", "");
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(model, NULL, &err);
    CHECK(f && tlr_kfile_load_weights(f, &err) == TLR_OK, "%s: %s", name, err.msg);
    int nd;
    int64_t shape[8];
    float *v = f ? tlr_npy_read(input, &nd, shape, &err) : NULL;
    CHECK(v != NULL, "%s: input: %s", name, err.msg);
    if (f && v) {
        tlr_tensor *x = tlr_tensor_new(nd, shape);
        memcpy(x->data, v, (size_t)tlr_tensor_numel(x) * sizeof(float));
        check_cases(f->model, x, e, name);
        tlr_tensor_free(x);
    }
    free(v);
    tlr_kfile_free(f);
}

void test_grad_oracle(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ref/grad/manifest.json", tlr_t_root());
    size_t len;
    char *text = tlr_t_slurp(path, &len);
    tlr_err err = { 0 };
    tlr_json *man = text ? tlr_json_parse(text, len, path, &err) : NULL;
    CHECK(man != NULL, "%s: %s", path, err.msg);
    int seeds = 0;
    for (const tlr_json *e = tlr_json_first(tlr_json_get(man, "models")); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "where", ""), "seed") == 0)
            seeds++;
        else if (!getenv("TLR_GRAD_SEEDS"))
            check_model(e);
    for (const tlr_json *e = tlr_json_first(tlr_json_get(man, "models")); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "where", ""), "seed") == 0)
            check_model(e);
    if (seeds && !getenv("TLR_GRAD_SEEDS")) /* not a skip: that script runs them */
        printf("note [grad_oracle] the %d seed models run in tests/cli/grad_seed.sh\n", seeds);
    tlr_json_free(man);
    free(text);
}
