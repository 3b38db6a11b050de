/* test_contract.c - the report data and the templates agree: every key a template uses
 * resolves in the data tlreport builds.
 *
 * Each scenario runs the real binary on a fixture model (so the data is exactly what a user
 * gets in report.json), then renders report.md and index.html from that report.json in every
 * language of templates/, recording each look-up (tlr_template_trace).  Two rules:
 *   - a value tag ({{name}}, {{{name}}}) that is rendered must find its name: a missing key
 *     would print as nothing;
 *   - a section tag ({{#name}}, {{^name}}) must find its name in at least one scenario: a
 *     name no scenario provides is a typo or a key the data no longer has, and its section
 *     could never show. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "report/report.h"

typedef struct {
    const char *name;
    const char *args; /* after the model path, before -o */
} scenario;

static const scenario scenarios[] = {
    { "course_k3.h5", "tests/fixtures/images/rgb8.png tests/fixtures/images/rgb_32x32.png" },
    { "course_k3.h5", "tests/fixtures/images/rgb8.png --lang en --features all --cmap viridis "
                      "--kernel-norm layer" },
    { "course_tf29.h5", "tests/fixtures/images/rgb8.png --labels @LABELS@" },
    { "course_k3.keras", "" },
    { "k1_seq_th.h5", "" },
    { "k1_functional.h5", "" },
    { "unknown_layer.h5", "" },
    { "tf26_nested_partial.h5", "" },
    { "tf213_seq.keras", "tests/fixtures/images/rgb8.png --author 'A. Teacher' --title T" },
    { "course_tf215.h5", "tests/fixtures/images/rgb8.png --preprocess caffe --resize bilinear" },
    { "course_tf215.h5", "tests/fixtures/images/rgb8.png --preprocess tf --crop center" },
    { "course_tf215.h5", "tests/fixtures/images/rgb8.png --preprocess torch --lang en" },
    { "single_value.json", "tests/fixtures/images/rgb8.png" },
    /* a one-pixel image is uniform once resized: filters dead on every image (p5_dead) */
    { "k3_functional.h5", "tests/fixtures/images/rgb8_i_1x1.png" },
    /* --compare and --check (tests/fixtures/compare/): every status, architecture difference
     * and check result the templates word */
    { "../compare/added.h5", "tests/fixtures/images/rgb8.png --compare "
                             "tests/fixtures/compare/base.h5 --check @CHECKS@ --labels @LABELS3@" },
    { "../compare/base.h5", "tests/fixtures/images/rgb8.png --compare "
                            "tests/fixtures/compare/added.h5 --lang en" },
    { "../compare/wider.h5", "--compare tests/fixtures/compare/base.h5" },
    { "../compare/bn_moved.h5", "tests/fixtures/images/rgb8.png --compare "
                                "tests/fixtures/compare/base.h5" },
    { "../compare/frozen_touched.h5", "--compare tests/fixtures/compare/base.h5 --lang en" },
    { "../compare/base.h5", "--compare tests/fixtures/compare/base.h5 --check @CHECKS@" },
    /* reports with gaps (test_degrade.c) */
    { "k1_unbound.h5", "tests/fixtures/images/rgb8.png" },
    { "subclassed_vae.keras", "" },
    { "flat_mlp.h5", "tests/fixtures/images/gray4x4.png" },
    { "flat_mlp.h5", "tests/fixtures/images/rgb8.png" },
    { "flat_conv.h5", "tests/fixtures/images/gray4x4.png" },
    { "two_inputs.h5", "tests/fixtures/images/rgb8.png" },
    { "../eval/colour.h5", "tests/fixtures/eval/colours" }, /* a labelled folder: evaluation */
    /* Grad-CAM of a layer without a map (its reason), a chosen class; patterns refused */
    { "course_tf29.h5", "tests/fixtures/images/rgb8.png --gradcam flatten --class 1 "
                        "--patterns 2 --lang en" },
    { "tf29_shared.h5", "" },
};

/* What the @NAME@ placeholders of the scenarios stand for (files in the scratch folder). */
typedef struct {
    const char *labels, *labels3, *checks;
} placeholders;

/* 'args' with every @NAME@ replaced; free() the result. */
static char *substitute(const char *args, const placeholders *ph)
{
    const char *names[][2] = { { "@LABELS@", ph->labels }, { "@LABELS3@", ph->labels3 },
                               { "@CHECKS@", ph->checks } };
    char *s = tlr_xstrdup(args);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *at;
        while ((at = strstr(s, names[k][0])) != NULL) {
            char *t = tlr_xasprintf("%.*s%s%s", (int)(at - s), s, names[k][1],
                                    at + strlen(names[k][0]));
            free(s);
            s = t;
        }
    }
    return s;
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

/* Runs tlreport for scenario 's' into 'dir' and returns its report.json, or NULL.  Exit
 * status 3 (a check failed) still writes the whole report. */
static tlr_json *run_scenario(const scenario *s, const char *dir, const placeholders *ph)
{
    char *args = substitute(s->args, ph);
    char *cmd = tlr_xasprintf("cd '%s' && '%s' tests/fixtures/models/%s %s -o '%s' --quiet "
                              "--date 2026-01-01 >/dev/null 2>&1", tlr_t_root(), binary(),
                              s->name, args, dir);
    int rc = system(cmd);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3)
        rc = 0;
    free(cmd);
    free(args);
    char *path = tlr_xasprintf("%s/report.json", dir);
    size_t n = 0;
    char *text = rc == 0 ? tlr_t_slurp(path, &n) : NULL;
    tlr_err err = {0};
    tlr_json *data = text ? tlr_json_parse(text, n, path, &err) : NULL;
    CHECK(data != NULL, "%s %s: tlreport exited %d, report.json %s", s->name, s->args, rc,
          text ? err.msg : "missing");
    free(text);
    free(path);
    return data;
}

/* Renders report.md, index.html, the condensed pages and the pull-request digest of 'data' in 'lang' with the trace on. */
static void render_traced(const tlr_json *data, const char *lang, tlr_template_trace *trace,
                          const char *what)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/templates", tlr_t_root());
    tlr_report_opts o;
    memset(&o, 0, sizeof o);
    o.template_dir = dir;
    o.lang = lang;
    o.trace = trace;
    tlr_err err = {0};
    char *md = tlr_report_markdown(data, &o, &err);
    char *html = md ? tlr_report_html(md, data, &o, &err) : NULL;
    CHECK(html != NULL, "%s (%s): render failed: %s", what, lang, err.msg);
    char *digest = tlr_report_render(data, "summary.md", &o, &err);
    CHECK(digest != NULL, "%s (%s): summary.md: %s", what, lang, err.msg);
    /* index.html and layers.html come from the condensed view (report/condense.h) */
    static const char *const pages[] = { "report.md", "layers.md" };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char *page = tlr_report_page_markdown(data, pages[i], &o, &err);
        CHECK(page != NULL, "%s (%s): page %s: %s", what, lang, pages[i], err.msg);
        free(page);
    }
    free(md);
    free(html);
    free(digest);
}

/* The language folders of templates/ (every directory but the hidden ones). */
static void languages(tlr_strlist *out)
{
    char *dir = tlr_xasprintf("%s/templates", tlr_t_root());
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char *p = tlr_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            tlr_strlist_push(out, e->d_name);
        free(p);
    }
    if (d)
        closedir(d);
    tlr_strlist_sort(out);
    free(dir);
}

/* Writes 'text' into the scratch file 'name'; returns its path (free it). */
static char *write_file(const char *name, const char *text)
{
    char *path = tlr_xasprintf("%s/%s", tlr_t_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* A check file reaching every result: passed, failed for each reason, not applicable. */
static const char contract_checks[] =
    "total_params <= 100000\n"
    "trainable_params == 1\n"
    "layers == 7\n"
    "changed dense*\n"
    "unchanged nothing_matches*\n"
    "rel_change dense_2 <= 1\n"
    "predict rgb8.png class 2 >= 0\n"
    "predict nothere.png class 0 >= 0.5\n"
    "predict rgb8.png class 9 >= 0.5\n"
    "accuracy >= 0.9\n";

void test_contract(void)
{
    tlr_strlist langs = TLR_STRLIST_INIT;
    languages(&langs);
    CHECK(langs.n >= 2, "templates/ has %zu languages, want es and en at least", langs.n);
    placeholders ph = { write_file("contract-labels.txt", "cat\ndog\n"),
                        write_file("contract-labels3.txt", "cat\ndog\nbird\n"),
                        write_file("contract.checks", contract_checks) };
    tlr_template_trace all = TLR_TEMPLATE_TRACE_INIT;
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        char *dir = tlr_xasprintf("%s/contract-%zu", tlr_t_tmpdir(), s);
        tlr_json *data = run_scenario(&scenarios[s], dir, &ph);
        for (size_t l = 0; data && l < langs.n; l++) {
            tlr_template_trace t = TLR_TEMPLATE_TRACE_INIT;
            render_traced(data, langs.items[l], &t, scenarios[s].name);
            for (size_t i = 0; i < t.missing_values.n; i++)
                tlr_t_fail(__FILE__, __LINE__, "%s %s: %s resolves to nothing",
                           scenarios[s].name, scenarios[s].args, t.missing_values.items[i]);
            tlr_t_pass();
            for (size_t i = 0; i < t.found_sections.n; i++)
                if (tlr_strlist_find(&all.found_sections, t.found_sections.items[i]) < 0)
                    tlr_strlist_push(&all.found_sections, t.found_sections.items[i]);
            for (size_t i = 0; i < t.missing_sections.n; i++)
                if (tlr_strlist_find(&all.missing_sections, t.missing_sections.items[i]) < 0)
                    tlr_strlist_push(&all.missing_sections, t.missing_sections.items[i]);
            tlr_template_trace_free(&t);
        }
        tlr_json_free(data);
        free(dir);
    }
    for (size_t i = 0; i < all.missing_sections.n; i++)
        CHECK(tlr_strlist_find(&all.found_sections, all.missing_sections.items[i]) >= 0,
              "%s: no scenario's data has this section's key", all.missing_sections.items[i]);
    CHECK(all.found_sections.n > 50, "only %zu section tags were reached", all.found_sections.n);
    tlr_template_trace_free(&all);
    tlr_strlist_free(&langs);
    free((char *)ph.labels);
    free((char *)ph.labels3);
    free((char *)ph.checks);
}
