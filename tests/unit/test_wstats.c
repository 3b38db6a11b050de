/* test_wstats.c - the weight statistics of the report (report/wstats.c) against numpy: the
 * reference tests/fixtures/numeric/wstats_branches.json was computed with h5py and numpy
 * straight from branches.h5 (wstats_ref.py); plus small arrays whose answers are known
 * (near-zero weights, NaN, a constant kernel) and the figure's determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "harness.h"
#include "keras/kfile.h"
#include "report/wstats.h"

static const tlr_weight *find_weight(const tlr_model *m, const char *layer, const char *role)
{
    const tlr_model *owner;
    int idx;
    if (tlr_model_resolve(m, layer, &owner, &idx))
        return NULL;
    for (int j = 0; j < owner->layers[idx].n_weights; j++)
        if (strcmp(owner->layers[idx].weights[j].role, role) == 0)
            return &owner->layers[idx].weights[j];
    return NULL;
}

static void against_numpy(void)
{
    char *mp = tlr_xasprintf("%s/tests/fixtures/numeric/branches.h5", tlr_t_root());
    char *rp = tlr_xasprintf("%s/tests/fixtures/numeric/wstats_branches.json", tlr_t_root());
    size_t len;
    char *text = tlr_t_slurp(rp, &len);
    tlr_err err = { 0 };
    tlr_json *ref = text ? tlr_json_parse(text, len, rp, &err) : NULL;
    tlr_kfile *f = tlr_kfile_open(mp, NULL, &err);
    OK(ref && f && f->model, "fixture and reference open");
    OK(f && tlr_kfile_load_weights(f, &err) == TLR_OK, "weights load");
    int n = 0;
    for (const tlr_json *e = ref ? tlr_json_first(ref) : NULL; e && f; e = tlr_json_next(e)) {
        const char *layer = tlr_json_get_string(e, "layer", "");
        const tlr_weight *w = find_weight(f->model, layer, tlr_json_get_string(e, "role", ""));
        CHECK(w && w->data, "%s: kernel found and loaded", layer);
        if (!w || !w->data)
            continue;
        tlr_wstats s;
        tlr_wstats_compute(w->data, tlr_shape_numel(w->ndim, w->shape), &s);
        INT_EQ(s.count, (int64_t)tlr_json_get_number(e, "count", -1), layer);
        INT_EQ(s.near_zero, (int64_t)tlr_json_get_number(e, "near_zero", -1), layer);
        NEAR(s.min, tlr_json_get_number(e, "min", 0), 1e-7, layer);
        NEAR(s.max, tlr_json_get_number(e, "max", 0), 1e-7, layer);
        NEAR(s.mean, tlr_json_get_number(e, "mean", 0), 1e-9, layer);
        NEAR(s.std, tlr_json_get_number(e, "std", 0), 1e-9, layer);
        int64_t in_bins = 0;
        for (int b = 0; b < TLR_WSTATS_BINS; b++)
            in_bins += s.hist[b];
        INT_EQ(in_bins, s.count, "every weight in a bin");
        n++;
    }
    INT_EQ(n, 10, "kernels in the reference (conv, dense, depthwise, separable twice)");
    tlr_kfile_free(f);
    tlr_json_free(ref);
    free(text);
    free(rp);
    free(mp);
}

static void known_arrays(void)
{
    /* max|w| = 4: 0, 0.001 and -0.003 are below 0.004; the NaN is left out */
    const float w[] = { 0.0f, 0.001f, -0.003f, 4.0f, -2.0f, NAN, 1.0f };
    tlr_wstats s;
    tlr_wstats_compute(w, 7, &s);
    INT_EQ(s.count, 6, "finite values");
    INT_EQ(s.nonfinite, 1, "the NaN");
    INT_EQ(s.near_zero, 3, "near zero below 1e-3 * max|w|");
    NEAR(s.min, -2.0, 1e-12, "min");
    NEAR(s.max, 4.0, 1e-12, "max");
    INT_EQ(s.hist[0], 1, "the minimum in the first bin");
    INT_EQ(s.hist[TLR_WSTATS_BINS - 1], 1, "the maximum in the last bin");
    const float flat[] = { 0.5f, 0.5f, 0.5f };
    tlr_wstats_compute(flat, 3, &s);
    NEAR(s.std, 0.0, 0, "a constant kernel");
    INT_EQ(s.hist[0], 3, "a constant kernel: one bin");
    tlr_wstats_compute(NULL, 0, &s);
    INT_EQ(s.count, 0, "nothing");
}

static void figure(void)
{
    const float w[] = { -1.0f, 0.0f, 0.5f, 2.0f };
    tlr_wstats s;
    tlr_wstats_compute(w, 4, &s);
    tlr_wstats_panel p[2] = { { "a<b", &s }, { "a_very_long_layer_name_that_goes_on_and_on", &s } };
    char *a = tlr_wstats_svg(p, 2), *b = tlr_wstats_svg(p, 2);
    STR_EQ(a, b, "same panels, same bytes");
    STR_CONTAINS(a, "a&lt;b", "labels escaped");
    STR_CONTAINS(a, "...", "long labels cut");
    free(a);
    free(b);
}

void test_wstats(void)
{
    against_numpy();
    known_arrays();
    figure();
}
