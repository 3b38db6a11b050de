/* test_summary.c - model.summary() text per Keras generation.
 *
 * Expected texts come from (a) documented outputs (the course notes, KERAS-NOTES.md) and
 * (b) the .txt files in tests/ref/summary, written by tests/gen/keras_summary_ref.py: a Python
 * re-statement of each Keras printer, checked there against documented outputs (DLwP 8.4,
 * the course notes), and for Keras 3 the real rich library drawing the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "course_summary.h"
#include "harness.h"
#include "base/json.h"
#include "report/summary.h"

static char *format(const tlr_summary *s)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    return tlr_buf_detach(&b);
}

static void set_shape(tlr_summary_row *r, int ndim, const int64_t *dims)
{
    r->n_outputs = 1;
    r->ndim[0] = ndim;
    for (int i = 0; i < ndim; i++)
        r->dims[0][i] = dims[i];
}

static void style_names_and_versions(void)
{
    INT_EQ(tlr_summary_style_for_version("1.2.2"), TLR_SUMMARY_KERAS1, "1.2.2");
    INT_EQ(tlr_summary_style_for_version("1.1.0"), TLR_SUMMARY_KERAS1, "1.1.0");
    INT_EQ(tlr_summary_style_for_version("2.0.8"), TLR_SUMMARY_KERAS2, "2.0.8");
    INT_EQ(tlr_summary_style_for_version("2.2.4-tf"), TLR_SUMMARY_KERAS2, "2.2.4-tf");
    INT_EQ(tlr_summary_style_for_version("2.3.1"), TLR_SUMMARY_KERAS2, "2.3.1");
    INT_EQ(tlr_summary_style_for_version("2.6.0"), TLR_SUMMARY_KERAS2, "2.6.0");
    INT_EQ(tlr_summary_style_for_version("2.7.0"), TLR_SUMMARY_TF27, "2.7.0");
    INT_EQ(tlr_summary_style_for_version("2.9.0"), TLR_SUMMARY_TF27, "2.9.0");
    INT_EQ(tlr_summary_style_for_version("2.12.0"), TLR_SUMMARY_TF27, "2.12.0");
    INT_EQ(tlr_summary_style_for_version("2.13.1"), TLR_SUMMARY_TF213, "2.13.1");
    INT_EQ(tlr_summary_style_for_version("2.15.0"), TLR_SUMMARY_TF213, "2.15.0");
    INT_EQ(tlr_summary_style_for_version("3.3.3"), TLR_SUMMARY_KERAS3, "3.3.3");
    INT_EQ(tlr_summary_style_for_version(NULL), TLR_SUMMARY_KERAS2, "NULL");
    INT_EQ(tlr_summary_style_for_version("unknown"), TLR_SUMMARY_KERAS2, "garbage");
    for (int i = TLR_SUMMARY_KERAS1; i < TLR_SUMMARY_COUNT; i++)
        INT_EQ(tlr_summary_style_parse(tlr_summary_style_name((tlr_summary_style)i)), i,
               "name/parse round trip");
    STR_EQ(tlr_summary_style_name(TLR_SUMMARY_TF213), "tf213", "name");
    INT_EQ(tlr_summary_style_parse("auto"), TLR_SUMMARY_AUTO, "auto");
    INT_EQ(tlr_summary_style_parse("keras4"), -1, "unknown name");
    INT_EQ(tlr_summary_style_parse(NULL), -1, "NULL name");
    STR_EQ(tlr_summary_style_name(TLR_SUMMARY_COUNT), "unknown", "out of range");
}

/* The course notes' summary: tests/course_summary.h. */
#define COURSE COURSE_SUMMARY

static void course_rows(tlr_summary_row *rows)
{
    static const struct {
        const char *name, *cls;
        int ndim;
        int64_t dims[4];
        int64_t params;
    } spec[6] = {
        {"vgg16", "Model", 4, {-1, 4, 4, 512}, 14714688},
        {"conv2d", "Conv2D", 4, {-1, 2, 2, 128}, 589952},
        {"max_pooling2d", "MaxPooling2D", 4, {-1, 1, 1, 128}, 0},
        {"flatten", "Flatten", 2, {-1, 128}, 0},
        {"dense", "Dense", 2, {-1, 128}, 16512},
        {"dense_1", "Dense", 2, {-1, 1}, 129},
    };
    for (int i = 0; i < 6; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        rows[i].name = spec[i].name;
        rows[i].class_name = spec[i].cls;
        set_shape(&rows[i], spec[i].ndim, spec[i].dims);
        rows[i].params = spec[i].params;
        rows[i].trainable = i > 0;
    }
}

static tlr_summary course_summary(const tlr_summary_row *rows, const char *version)
{
    tlr_summary s;
    memset(&s, 0, sizeof s);
    s.model_name = "sequential";
    s.keras_version = version;
    s.sequential_like = 1;
    s.total_params = 15321281;
    s.trainable_params = 606593;
    s.non_trainable_params = 14714688;
    s.total_bytes = 4 * s.total_params;
    s.trainable_bytes = 4 * s.trainable_params;
    s.non_trainable_bytes = 4 * s.non_trainable_params;
    s.rows = rows;
    s.n_rows = 6;
    return s;
}

static void documented_outputs(void)
{
    tlr_summary_row rows[6];
    course_rows(rows);
    tlr_summary s = course_summary(rows, "2.3.1");
    char *got = format(&s);
    STR_EQ(got, COURSE, "course notes summary (Keras 2.3.1, AUTO style)");
    free(got);

    s.style = TLR_SUMMARY_KERAS2;
    s.keras_version = "2.2.4";
    got = format(&s);
    OK(strncmp(got, "_____", 5) == 0, "no Model: line before Keras 2.2.5");
    STR_EQ(got, COURSE + strlen("Model: \"sequential\"\n"), "2.2.4 = course text minus title");
    free(got);

    /* KERAS-NOTES: tf.keras 2.13+ totals without separators, with 1024-based sizes */
    s.style = TLR_SUMMARY_TF213;
    got = format(&s);
    STR_CONTAINS(got, "Total params: 15321281 (58.45 MB)\n", "tf213 total");
    STR_CONTAINS(got, "Non-trainable params: 14714688 (56.13 MB)\n", "tf213 frozen");
    STR_CONTAINS(got, "\n max_pooling2d (MaxPooling2  (None, 1, 1, 128) ", "tf213 seq name cut");
    STR_CONTAINS(got, "\n D)                    ", "tf213 seq name continuation");
    free(got);
    s.total_params = 16812353;
    s.total_bytes = 4 * s.total_params;
    s.trainable_params = 2097665;
    s.trainable_bytes = 4 * s.trainable_params;
    s.non_trainable_bytes = 0;
    s.non_trainable_params = 0;
    got = format(&s);
    STR_CONTAINS(got, "Total params: 16812353 (64.13 MB)\nTrainable params: 2097665 (8.00 MB)\n",
                 "KERAS-NOTES sizes");
    STR_CONTAINS(got, "Non-trainable params: 0 (0.00 Byte)\n", "zero bytes");
    free(got);

    /* KERAS-NOTES: functional 2.13+ cuts names at 26 chars */
    s = course_summary(rows, "2.15.0");
    s.sequential_like = 0;
    got = format(&s);
    STR_CONTAINS(got, "\n max_pooling2d (MaxPooling2  (None, 1, 1, 128)", "tf213 name cut");
    STR_CONTAINS(got, "\n D)                    ", "tf213 name continuation");
    free(got);

    /* KERAS-NOTES: Keras 3 in a non-terminal: 76-char table, cells 33/24/15, footer */
    s = course_summary(rows, "3.3.3");
    got = format(&s);
    STR_CONTAINS(got, "\u250f", "box drawing");
    char top[512];
    snprintf(top, sizeof top, "Model: \"sequential\"\n\u250f%s\u2533%s\u2533%s\u2513\n",
             "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"
             "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"
             "\u2501\u2501\u2501\u2501\u2501",
             "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"
             "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501",
             "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"
             "\u2501");
    OK(strncmp(got, top, strlen(top)) == 0, "keras3 top rule 33/24/15");
    STR_CONTAINS(got, "\n Total params: 15,321,281 (58.45 MB)\n", "keras3 total line");
    STR_CONTAINS(got, "\u2502    14,714,688 \u2502\n", "keras3 params right-aligned");
    free(got);
}

/* ---- reference cases from tests/ref/summary ---------------------------------------------- */

static tlr_shape_kind kind_of(const char *k)
{
    if (strcmp(k, "list") == 0)
        return TLR_SHAPE_LIST;
    if (strcmp(k, "multiple") == 0)
        return TLR_SHAPE_MULTIPLE;
    if (strcmp(k, "unknown") == 0)
        return TLR_SHAPE_UNKNOWN;
    return TLR_SHAPE_PLAIN;
}

/* Fills one row from its JSON; the strings stay owned by the JSON tree. */
static void load_row(const tlr_json *j, tlr_summary_row *r, const char **links)
{
    memset(r, 0, sizeof *r);
    r->name = tlr_json_get_string(j, "name", "");
    r->class_name = tlr_json_get_string(j, "class_name", "");
    r->shape_kind = kind_of(tlr_json_get_string(j, "shape_kind", "plain"));
    const tlr_json *shapes = tlr_json_get(j, "shapes");
    r->n_outputs = (int)tlr_json_size(shapes);
    for (int o = 0; o < r->n_outputs && o < 4; o++) {
        const tlr_json *sh = tlr_json_at(shapes, (size_t)o);
        r->ndim[o] = (int)tlr_json_size(sh);
        for (int d = 0; d < r->ndim[o] && d < 8; d++) {
            const tlr_json *v = tlr_json_at(sh, (size_t)d);
            r->dims[o][d] = tlr_json_is_null(v) ? -1 : (int64_t)tlr_json_number(v, 0);
        }
    }
    if (r->n_outputs == 0)
        r->n_outputs = 1;
    const tlr_json *p = tlr_json_get(j, "params");
    r->params = tlr_json_is_null(p) ? -1 : (int64_t)tlr_json_number(p, 0);
    const tlr_json *c = tlr_json_get(j, "connected");
    r->n_connected = (int)tlr_json_size(c);
    if (r->n_connected > 8)
        r->n_connected = 8;
    for (int i = 0; i < r->n_connected; i++)
        links[i] = tlr_json_string(tlr_json_at(c, (size_t)i), "");
    r->connected = links;
    r->depth = (int)tlr_json_get_number(j, "depth", 0);
    r->trainable = tlr_json_get_bool(j, "trainable", 1);
}

static void run_case(const tlr_json *c, const char *dir)
{
    const char *name = tlr_json_get_string(c, "name", "?");
    char path[2304];
    snprintf(path, sizeof path, "%s/%.200s.txt", dir, name);
    char *want = tlr_t_slurp(path, NULL);
    CHECK(want != NULL, "%s: missing %s", name, path);
    if (!want)
        return;

    const tlr_json *jrows = tlr_json_get(c, "rows");
    int n = (int)tlr_json_size(jrows);
    tlr_summary_row *rows = calloc((size_t)n + 1, sizeof *rows);
    const char **links = calloc((size_t)n * 8 + 1, sizeof *links);
    for (int i = 0; i < n; i++)
        load_row(tlr_json_at(jrows, (size_t)i), &rows[i], links + 8 * i);

    tlr_summary s;
    memset(&s, 0, sizeof s);
    int style = tlr_summary_style_parse(tlr_json_get_string(c, "style", ""));
    CHECK(style > 0, "%s: unknown style", name);
    s.style = style > 0 ? (tlr_summary_style)style : TLR_SUMMARY_AUTO;
    s.model_name = tlr_json_get_string(c, "model_name", "");
    s.keras_version = tlr_json_get_string(c, "keras_version", NULL);
    s.sequential_like = tlr_json_get_bool(c, "sequential_like", 0);
    s.expand_nested = tlr_json_get_bool(c, "expand_nested", 0);
    s.show_trainable = tlr_json_get_bool(c, "show_trainable", 0);
    s.total_params = (int64_t)tlr_json_get_number(c, "total_params", 0);
    s.trainable_params = (int64_t)tlr_json_get_number(c, "trainable_params", 0);
    s.non_trainable_params = (int64_t)tlr_json_get_number(c, "non_trainable_params", 0);
    s.total_bytes = (int64_t)tlr_json_get_number(c, "total_bytes", 0);
    s.trainable_bytes = (int64_t)tlr_json_get_number(c, "trainable_bytes", 0);
    s.non_trainable_bytes = (int64_t)tlr_json_get_number(c, "non_trainable_bytes", 0);
    s.optimizer_params = (int64_t)tlr_json_get_number(c, "optimizer_params", 0);
    s.optimizer_bytes = (int64_t)tlr_json_get_number(c, "optimizer_bytes", 0);
    s.rows = rows;
    s.n_rows = n;

    char *got = format(&s);
    STR_EQ(got, want, name);
    free(got);

    /* the version alone must pick the same printer */
    s.style = TLR_SUMMARY_AUTO;
    got = format(&s);
    CHECK(strcmp(got, want) == 0, "%s: AUTO style from version '%s' differs", name,
          s.keras_version ? s.keras_version : "(null)");
    free(got);

    free(rows);
    free(links);
    free(want);
}

static void reference_cases(void)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/tests/ref/summary", tlr_t_root());
    snprintf(path, sizeof path, "%s/cases.json", dir);
    size_t len = 0;
    char *text = tlr_t_slurp(path, &len);
    CHECK(text != NULL, "cannot read %s", path);
    if (!text)
        return;
    tlr_err err = {0};
    tlr_json *cases = tlr_json_parse(text, len, path, &err);
    CHECK(cases != NULL, "%s", err.msg);
    OK(tlr_json_size(cases) >= 25, "all reference cases present");
    for (const tlr_json *c = tlr_json_first(cases); c; c = tlr_json_next(c))
        run_case(c, dir);
    tlr_json_free(cases);
    free(text);
}

/* Nested rows are dropped by printers that could not expand, and by any printer unless asked. */
static void nesting_is_opt_in(void)
{
    tlr_summary_row rows[6];
    course_rows(rows);
    rows[1].depth = 1; /* pretend conv2d lives inside vgg16 */
    tlr_summary s = course_summary(rows, "2.9.0");
    char *plain = format(&s);
    OK(strstr(plain, "conv2d (Conv2D)") == NULL, "collapsed by default");
    free(plain);
    s.expand_nested = 1;
    char *open = format(&s);
    STR_CONTAINS(open, "| conv2d (Conv2D)", "expanded in tf27");
    free(open);
    s.keras_version = "2.3.1";
    char *old = format(&s);
    OK(strstr(old, "conv2d (Conv2D)") == NULL, "Keras 2.3 could not expand");
    free(old);
    s.keras_version = "3.1.0";
    char *k3 = format(&s);
    STR_CONTAINS(k3, "\u2502    \u2514 conv2d (Conv2D)", "expanded in keras3");
    free(k3);
}

void test_summary(void)
{
    style_names_and_versions();
    documented_outputs();
    reference_cases();
    nesting_is_opt_in();
}
