/* test_compare.c - `tlreport AFTER --compare BEFORE` against the numbers that
 * tests/gen/make_compare_fixtures.py computed from the two files with h5py and numpy
 * (tests/fixtures/compare/expect.json), for pairs with known changes: the head retrained, a
 * block unfrozen, a layer added and one renamed, a frozen BatchNormalization whose moving
 * statistics moved, a frozen convolution that changed, a layer widened, a .h5 against a
 * .keras.  Also the chart writer on its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "report/chart.h"

static const char *binary(void)
{
    static char path[4096];
    const char *b = getenv("TLREPORT");
    if (b && b[0])
        return b;
    snprintf(path, sizeof path, "%s/tlreport", tlr_t_root());
    return path;
}

static tlr_json *load_json(const char *path)
{
    size_t n = 0;
    char *text = tlr_t_slurp(path, &n);
    tlr_err err = { 0 };
    tlr_json *j = text ? tlr_json_parse(text, n, path, &err) : NULL;
    free(text);
    return j;
}

/* Runs the comparison of one pair into 'dir'; its report.json, or NULL. */
static tlr_json *run_pair(const char *before, const char *after, const char *dir)
{
    char *cmd = tlr_xasprintf("cd '%s' && '%s' tests/fixtures/compare/%s "
                              "tests/fixtures/images/rgb8.png --compare tests/fixtures/compare/%s "
                              "-o '%s' --quiet --date 2026-01-01 >/dev/null 2>&1",
                              tlr_t_root(), binary(), after, before, dir);
    int rc = system(cmd);
    free(cmd);
    CHECK(rc == 0, "%s --compare %s: exit status %d", after, before, rc);
    char *path = tlr_xasprintf("%s/report.json", dir);
    tlr_json *j = rc == 0 ? load_json(path) : NULL;
    free(path);
    return j;
}

static const tlr_json *find_by(const tlr_json *arr, const char *key, const char *value)
{
    for (const tlr_json *e = tlr_json_first(arr); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, key, ""), value) == 0)
            return e;
    return NULL;
}

/* Numbers agree to 1e-9 relative (the sums run in another order), or 1e-12 absolute. */
static void number_eq(const tlr_json *got, const tlr_json *want, const char *key,
                      const char *what)
{
    const tlr_json *w = tlr_json_get(want, key);
    if (!w)
        return;
    const tlr_json *g = tlr_json_get(got, key);
    double gv = tlr_json_number(g, NAN), wv = tlr_json_number(w, 0);
    CHECK(tlr_json_is_number(g) && fabs(gv - wv) <= 1e-9 * fabs(wv) + 1e-12,
          "%s: %s = %.17g, want %.17g", what, key, gv, wv);
}

static void layer_eq(const tlr_json *layers, const tlr_json *want, const char *pair)
{
    const char *path = tlr_json_get_string(want, "path", "");
    char what[512];
    snprintf(what, sizeof what, "%s: %s", pair, path);
    const tlr_json *got = find_by(layers, "path", path);
    CHECK(got != NULL, "%s: not in comparison.layers", what);
    if (!got)
        return;
    STR_EQ(tlr_json_get_string(got, "status", ""), tlr_json_get_string(want, "status", "?"), what);
    static const char *const keys[] = { "rel_change", "max_abs_change", "changed_share",
                                        "stats_rel_change", "stats_max_abs_change" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        number_eq(got, want, keys[k], what);
    if (tlr_json_get(want, "frozen_changed"))
        INT_EQ(tlr_json_get_bool(got, "frozen_changed", -1),
               tlr_json_get_bool(want, "frozen_changed", 0), what);
    if (tlr_json_get(want, "before_path"))
        STR_EQ(tlr_json_get_string(got, "before_path", ""),
               tlr_json_get_string(want, "before_path", ""), what);
    else
        OK(!tlr_json_get(got, "before_path"), what);
    const char *st = tlr_json_get_string(want, "status", "");
    if (strcmp(st, "same") && strcmp(st, "changed"))
        OK(tlr_json_is_null(tlr_json_get(got, "rel_change")), "not comparable: rel_change null");
}

/* The paths of 'got' (objects, by 'key') are exactly the strings of 'want'. */
static void paths_eq(const tlr_json *got, const char *key, const tlr_json *want,
                     const char *what)
{
    INT_EQ(tlr_json_size(got), tlr_json_size(want), what);
    for (const tlr_json *w = tlr_json_first(want); w; w = tlr_json_next(w))
        CHECK(find_by(got, key, tlr_json_string(w, "")) != NULL, "%s: %s missing", what,
              tlr_json_string(w, ""));
}

static void totals_eq(const tlr_json *cmp, const tlr_json *want, const char *pair)
{
    for (const tlr_json *w = tlr_json_first(want); w; w = tlr_json_next(w)) {
        const tlr_json *g = find_by(tlr_json_get(cmp, "totals"), "key", tlr_json_key(w));
        CHECK(g != NULL, "%s: totals.%s missing", pair, tlr_json_key(w));
        INT_EQ(tlr_json_get_number(g, "before", -1), tlr_json_number(tlr_json_at(w, 0), -2), pair);
        INT_EQ(tlr_json_get_number(g, "after", -1), tlr_json_number(tlr_json_at(w, 1), -2), pair);
    }
}

static void architecture_eq(const tlr_json *ar, const tlr_json *want, const char *pair)
{
    paths_eq(tlr_json_get(ar, "added"), "path", tlr_json_get(want, "added"), pair);
    paths_eq(tlr_json_get(ar, "removed"), "path", tlr_json_get(want, "removed"), pair);
    const tlr_json *ren = tlr_json_get(ar, "renamed");
    INT_EQ(tlr_json_size(ren), tlr_json_size(tlr_json_get(want, "renamed")), pair);
    for (const tlr_json *w = tlr_json_first(tlr_json_get(want, "renamed")); w; w = tlr_json_next(w)) {
        const tlr_json *g = find_by(ren, "after", tlr_json_string(tlr_json_at(w, 1), ""));
        STR_EQ(tlr_json_get_string(g, "before", ""), tlr_json_string(tlr_json_at(w, 0), "?"), pair);
    }
    /* every setting the generator saw change is listed (tlreport also compares "class") */
    const tlr_json *cfg = tlr_json_get(ar, "config_changes");
    int listed = 0;
    for (const tlr_json *g = tlr_json_first(cfg); g; g = tlr_json_next(g))
        listed += strcmp(tlr_json_get_string(g, "key", ""), "class") != 0;
    INT_EQ(listed, tlr_json_size(tlr_json_get(want, "config_changes")), pair);
    for (const tlr_json *w = tlr_json_first(tlr_json_get(want, "config_changes")); w;
         w = tlr_json_next(w)) {
        const char *path = tlr_json_string(tlr_json_at(w, 0), ""), *key = tlr_json_string(tlr_json_at(w, 1), "");
        int found = 0;
        for (const tlr_json *g = tlr_json_first(cfg); g; g = tlr_json_next(g))
            found |= strcmp(tlr_json_get_string(g, "path", ""), path) == 0 &&
                     strcmp(tlr_json_get_string(g, "key", ""), key) == 0;
        CHECK(found, "%s: config change %s.%s not listed", pair, path, key);
    }
}

static void one_pair(const tlr_json *want, int index)
{
    const char *before = tlr_json_get_string(want, "before", ""), *after = tlr_json_get_string(want, "after", "");
    char pair[256];
    snprintf(pair, sizeof pair, "%s vs %s (%s)", after, before, tlr_json_get_string(want, "what", ""));
    char *dir = tlr_xasprintf("%s/compare-%d", tlr_t_tmpdir(), index);
    tlr_json *d = run_pair(before, after, dir);
    const tlr_json *cmp = tlr_json_get(d, "comparison");
    CHECK(cmp != NULL, "%s: no comparison in report.json", pair);
    if (cmp) {
        totals_eq(cmp, tlr_json_get(want, "totals"), pair);
        for (const tlr_json *l = tlr_json_first(tlr_json_get(want, "layers")); l; l = tlr_json_next(l))
            layer_eq(tlr_json_get(cmp, "layers"), l, pair);
        paths_eq(tlr_json_get(cmp, "frozen_changed"), "path", tlr_json_get(want, "frozen_changed"), pair);
        architecture_eq(tlr_json_get(cmp, "architecture"), want, pair);
        char *svg_path = tlr_xasprintf("%s/img/comparison.svg", dir);
        char *svg = tlr_t_slurp(svg_path, NULL);
        CHECK(svg && strncmp(svg, "<svg ", 5) == 0, "%s: img/comparison.svg missing", pair);
        free(svg);
        free(svg_path);
        /* one image through both models: the Pregunta 5 maps of the same base move with it */
        const tlr_json *img = tlr_json_at(tlr_json_get(cmp, "images"), 0);
        CHECK(img && tlr_json_get_bool(img, "has_features", 0), "%s: image comparison", pair);
    }
    tlr_json_free(d);
    free(dir);
}

/* ---- the chart on its own ------------------------------------------------------------------ */

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void chart_points(void)
{
    tlr_chart_point p[] = {
        { "vgg16/block1_conv1", 0, NAN, TLR_CHART_FROZEN },
        { "vgg16/block1_conv2", 0, NAN, TLR_CHART_FROZEN },
        { "batch_normalization", 0, 0.25, TLR_CHART_WARNING },
        { "dense_2 <added>", NAN, NAN, TLR_CHART_TRAINABLE },
        { "dense", 0.3, NAN, TLR_CHART_TRAINABLE },
        { "dense_1", 1e-4, NAN, TLR_CHART_TRAINABLE },
    };
    char *a = tlr_chart_svg(p, 6), *b = tlr_chart_svg(p, 6);
    STR_EQ(a, b, "the same points give the same bytes");
    INT_EQ(count(a, "<circle"), 5, "a circle per value (the added layer has none)");
    INT_EQ(count(a, "<rect x="), 1, "a square per second value");
    INT_EQ(count(a, "<polyline"), 2, "the line breaks at the missing value");
    INT_EQ(count(a, "fill=\"#d62728\""), 1, "the frozen layer that changed is red");
    STR_CONTAINS(a, "dense_2 &lt;added&gt;", "labels are escaped");
    STR_CONTAINS(a, ">1e-4</text>", "the scale starts at the smallest decade");
    STR_CONTAINS(a, ">1e0</text>", "and ends above the largest value");
    free(a);
    free(b);
    tlr_chart_point none[] = { { "x", 0, NAN, TLR_CHART_FROZEN } };
    char *c = tlr_chart_svg(none, 1);
    STR_CONTAINS(c, ">0</text>", "all zero: the zero line");
    free(c);
}

void test_compare(void)
{
    chart_points();
    char *path = tlr_xasprintf("%s/tests/fixtures/compare/expect.json", tlr_t_root());
    tlr_json *e = load_json(path);
    CHECK(e != NULL, "%s: cannot read", path);
    int i = 0;
    for (const tlr_json *p = tlr_json_first(tlr_json_get(e, "pairs")); p; p = tlr_json_next(p))
        one_pair(p, i++);
    CHECK(i >= 8, "only %d pairs in expect.json", i);
    tlr_json_free(e);
    free(path);
}
