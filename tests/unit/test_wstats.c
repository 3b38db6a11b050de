/* test_wstats.c - the weight statistics of the report (report/wstats.c) against numpy: the
 * reference tests/fixtures/numeric/wstats_branches.json was computed with h5py and numpy
 * straight from branches.h5 (wstats_ref.py); plus small arrays whose answers are known
 * (near-zero weights, NaN, a constant kernel) and the figure's determinism. */
#include <math.h>
#include <stdint.h>
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

/* The bins by their definition, (v - min) / (max - min) * bins in double, the last closed:
 * written out here with the division, against the library's edges. */
static void naive_hist(const float *w, int64_t n, int64_t *hist)
{
    double mn = w[0], mx = w[0];
    for (int64_t i = 1; i < n; i++) {
        double v = w[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    memset(hist, 0, TLR_WSTATS_BINS * sizeof *hist);
    for (int64_t i = 0; i < n; i++) {
        int k = mx > mn ? (int)(((double)w[i] - mn) / (mx - mn) * TLR_WSTATS_BINS) : 0;
        hist[k >= TLR_WSTATS_BINS ? TLR_WSTATS_BINS - 1 : k]++;
    }
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

/* n values: random in [lo, hi], plus every bin boundary min + j * span / bins as a float and
 * its two neighbours, where rounding decides the bin. */
static void hist_case(uint64_t seed, float lo, float hi, int64_t n, const char *what)
{
    float *w = tlr_xmalloc((size_t)(n + 3 * TLR_WSTATS_BINS + 2) * sizeof *w);
    int64_t m = 0;
    w[m++] = lo;
    w[m++] = hi;
    for (int64_t i = 0; i < n; i++)
        w[m++] = lo + (hi - lo) * (float)((double)next_rand(&seed) / 9007199254740992.0);
    for (int j = 1; j < TLR_WSTATS_BINS; j++) {
        float b = (float)((double)lo + ((double)hi - (double)lo) * j / TLR_WSTATS_BINS);
        w[m++] = b;
        w[m++] = nextafterf(b, -INFINITY);
        w[m++] = nextafterf(b, INFINITY);
    }
    for (int64_t i = 0; i < m; i++) /* neighbours may step outside [lo, hi] */
        w[i] = w[i] < lo ? lo : w[i] > hi ? hi : w[i];
    int64_t want[TLR_WSTATS_BINS];
    naive_hist(w, m, want);
    tlr_wstats s;
    tlr_wstats_compute(w, m, &s);
    int bad = 0;
    for (int k = 0; k < TLR_WSTATS_BINS; k++)
        bad += s.hist[k] != want[k];
    CHECK(bad == 0, "%s: %d of %d bins differ from the definition", what, bad, TLR_WSTATS_BINS);
    free(w);
}

static void bins_by_definition(void)
{
    hist_case(1, -0.05f, 0.07f, 300000, "a conv kernel's range, parallel");
    hist_case(2, -3.0f, -1.0f, 1000, "negative only");
    hist_case(3, 1.0f, 1.0000100f, 5000, "a span of a few dozen floats");
    hist_case(4, -1e30f, 3e30f, 70000, "huge values");
    hist_case(5, 0.0f, 1e-40f, 2000, "subnormals");
}

void test_wstats(void)
{
    against_numpy();
    known_arrays();
    bins_by_definition();
    figure();
}
