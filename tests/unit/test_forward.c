/* test_forward.c - every layer of every numeric fixture against the reference activations
 * made by independent implementations (PyTorch float64 oracle, numpy reference; see
 * tests/ref/numeric/README.md).  Tolerance: max relative error 1e-4 per layer. */
#include <stdlib.h>

#include "engine/forward.h"
#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "io/npy.h"
#include "keras/kfile.h"

static const char *const models[] = {
    "mini_vgg", "branches", "mnv2_mini", "seqflat", "nested_functional", "merges_misc",
    "extra_layers", "conv1d", "se_block",
};

static void check_model(const char *name)
{
    char path[1024], in_path[1024], man_path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/numeric/%s.h5", tlr_t_root(), name);
    snprintf(in_path, sizeof in_path, "%s/tests/fixtures/numeric/%s_input.npy", tlr_t_root(), name);
    snprintf(man_path, sizeof man_path, "%s/tests/ref/numeric/%s/manifest.json", tlr_t_root(), name);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "%s: open: %s", name, err.msg);
    if (!f)
        return;
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "%s: weights: %s", name, err.msg);
    int nd;
    int64_t shape[8];
    float *x = tlr_npy_read(in_path, &nd, shape, &err);
    CHECK(x != NULL, "%s: input: %s", name, err.msg);
    size_t mlen;
    char *mtext = tlr_t_slurp(man_path, &mlen);
    tlr_json *man = mtext ? tlr_json_parse(mtext, mlen, man_path, &err) : NULL;
    CHECK(man != NULL, "%s: manifest: %s", name, err.msg);
    if (!x || !man) {
        free(x);
        free(mtext);
        tlr_json_free(man);
        tlr_kfile_free(f);
        return;
    }
    /* every layer path the oracle dumped, except the implicit inputs and model outputs */
    const tlr_json *layers = tlr_json_get(man, "layers");
    const char *paths[256];
    int n = 0;
    for (const tlr_json *e = tlr_json_first(layers); e && n < 256; e = tlr_json_next(e)) {
        const char *p = tlr_json_key(e);
        if (strncmp(p, "__output__", 10) == 0)
            continue;
        const tlr_model *owner;
        int idx;
        if (tlr_model_resolve(f->model, p, &owner, &idx) != 0)
            continue; /* e.g. the Sequential's implicit 'x_input' that tfjs names */
        paths[n++] = p;
    }
    tlr_tensor *in = tlr_tensor_new(nd, shape);
    memcpy(in->data, x, (size_t)tlr_tensor_numel(in) * sizeof(float));
    tlr_forward_result r;
    const tlr_tensor *inp = in;
    tlr_forward_opts fo = { 0, 0 };
    tlr_status st = tlr_forward_run(f->model, &inp, 1, paths, n, 1, &fo, &r, &err);
    CHECK(st == TLR_OK, "%s: forward: %s", name, err.msg);
    if (st == TLR_OK) {
        CHECK(r.n_skipped == 0, "%s: %d layers skipped (%s)", name, r.n_skipped,
              r.n_skipped ? r.skipped[0] : "");
        for (int i = 0; i < n; i++) {
            char ref_path[1200], msg[512];
            snprintf(ref_path, sizeof ref_path, "%s/tests/ref/numeric/%s/%s.npy", tlr_t_root(), name,
                     paths[i]);
            int rnd;
            int64_t rshape[8];
            float *ref = tlr_npy_read(ref_path, &rnd, rshape, &err);
            snprintf(msg, sizeof msg, "%s: %s", name, paths[i]);
            CHECK(ref && r.captured[i], "%s: missing reference or output (%s)", msg, err.msg);
            if (ref && r.captured[i]) {
                const tlr_tensor *got = r.captured[i];
                int same = got->ndim == rnd;
                for (int d = 0; same && d < rnd; d++)
                    same = got->shape[d] == rshape[d];
                CHECK(same, "%s: shape differs from the reference", msg);
                if (same)
                    FLOATS_NEAR(got->data, ref, (size_t)tlr_tensor_numel(got), 1e-4, msg);
            }
            free(ref);
        }
        /* the model output against __output__0 */
        char out_path[1200];
        snprintf(out_path, sizeof out_path, "%s/tests/ref/numeric/%s/__output__0.npy", tlr_t_root(), name);
        int ond;
        int64_t oshape[8];
        float *oref = tlr_npy_read(out_path, &ond, oshape, &err);
        if (oref && r.n_outputs && r.outputs[0])
            FLOATS_NEAR(r.outputs[0]->data, oref, (size_t)tlr_tensor_numel(r.outputs[0]), 1e-4,
                        "model output");
        free(oref);
        tlr_forward_result_free(&r);
    }
    tlr_tensor_free(in);
    free(x);
    free(mtext);
    tlr_json_free(man);
    tlr_kfile_free(f);
}

/* An unknown capture path is an error; a budget too small is an error before compute. */
static void errors(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/numeric/mini_vgg.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    if (!f || tlr_kfile_load_weights(f, &err)) {
        CHECK(0, "mini_vgg: %s", err.msg);
        tlr_kfile_free(f);
        return;
    }
    int64_t shape[4] = { 1, 24, 24, 3 };
    tlr_tensor *in = tlr_tensor_new(4, shape);
    const tlr_tensor *inp = in;
    const char *bad[] = { "vgg_mini/nope" };
    tlr_forward_result r;
    OK(tlr_forward_run(f->model, &inp, 1, bad, 1, 0, NULL, &r, &err) == TLR_E_USAGE, "bad path");
    STR_CONTAINS(err.msg, "vgg_mini/nope", "message names the path");
    tlr_forward_opts tiny = { 1000, 0 };
    OK(tlr_forward_run(f->model, &inp, 1, NULL, 0, 1, &tiny, &r, &err) == TLR_E_LIMIT, "budget");
    STR_CONTAINS(err.msg, "memory budget", "budget message");
    tlr_tensor_free(in);
    tlr_kfile_free(f);
}

void test_forward(void)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        check_model(models[i]);
    errors();
}
