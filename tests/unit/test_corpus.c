/* test_corpus.c - every model of the real corpus (../shared/corpus, files written by Keras
 * itself) opens, and its parameter total and layer count equal the corpus manifest's, which
 * was made independently from the raw files (total_params = scalars in all layer weight
 * datasets; n_layers = top-level entries of model_config, or the layer_names length for
 * weights-only files).  Skipped, visibly, when the corpus is not there. */
#include <stdlib.h>

#include "base/buf.h"
#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "keras/kfile.h"
#include "report/inspect.h"
#include "report/storage.h"
#include "report/summary.h"

typedef struct {
    char *file, *format, *total, *n_layers, *top_class;
} corpus_row;

/* Splits a TSV line in place; returns the number of fields. */
static int tsv_split(char *line, char **f, int cap)
{
    int n = 0;
    char *p = line;
    while (n < cap) {
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int col_of(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    return -1;
}

/* Reads the manifest's model rows (format full, keras-zip, json-arch, weights-only). */
static corpus_row *read_manifest(const char *path, int *n_rows)
{
    *n_rows = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char line[8192];
    char *hdr[32];
    int nh = 0, c_file = -1, c_fmt = -1, c_tot = -1, c_nl = -1, c_cls = -1;
    corpus_row *rows = NULL;
    int n = 0, cap = 0;
    char hline[8192];
    if (fgets(hline, sizeof hline, fp)) {
        hline[strcspn(hline, "\r\n")] = '\0';
        nh = tsv_split(hline, hdr, 32);
        c_file = col_of(hdr, nh, "file");
        c_fmt = col_of(hdr, nh, "format");
        c_tot = col_of(hdr, nh, "total_params");
        c_nl = col_of(hdr, nh, "n_layers");
        c_cls = col_of(hdr, nh, "top_class");
    }
    CHECK(c_file >= 0 && c_fmt >= 0 && c_tot >= 0 && c_nl >= 0 && c_cls >= 0,
          "manifest header lacks a needed column");
    while (c_file >= 0 && c_fmt >= 0 && c_tot >= 0 && c_nl >= 0 && c_cls >= 0 &&
           fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *f[32];
        int nf = tsv_split(line, f, 32);
        if (nf < nh)
            continue;
        const char *fmt = f[c_fmt];
        if (strcmp(fmt, "full") && strcmp(fmt, "keras-zip") && strcmp(fmt, "json-arch") &&
            strcmp(fmt, "weights-only"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rows = tlr_xrealloc(rows, (size_t)cap * sizeof *rows);
        }
        rows[n].file = tlr_xstrdup(f[c_file]);
        rows[n].format = tlr_xstrdup(fmt);
        rows[n].total = tlr_xstrdup(f[c_tot]);
        rows[n].n_layers = tlr_xstrdup(f[c_nl]);
        rows[n].top_class = tlr_xstrdup(f[c_cls]);
        n++;
    }
    fclose(fp);
    *n_rows = n;
    return rows;
}

static void free_rows(corpus_row *r, int n)
{
    for (int i = 0; i < n; i++) {
        free(r[i].file);
        free(r[i].format);
        free(r[i].total);
        free(r[i].n_layers);
        free(r[i].top_class);
    }
    free(r);
}

static const corpus_row *find_row(const corpus_row *r, int n, const char *file)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].file, file) == 0)
            return &r[i];
    return NULL;
}

/* What the manifest's n_layers means for Keras's model.layers: the top-level config entries,
 * less a Sequential's InputLayer entry (model.layers hides it).  Counted from the raw config. */
static int expected_visible(const tlr_kfile *f, int n_layers)
{
    const tlr_json *root = f->config_root;
    const char *cls = tlr_json_get_string(root, "class_name", "");
    const tlr_json *cfg = tlr_json_get(root, "config");
    const tlr_json *layers = tlr_json_is_array(cfg) ? cfg : tlr_json_get(cfg, "layers");
    if (strcmp(cls, "Sequential") != 0 && !tlr_json_is_array(root))
        return n_layers;
    if (tlr_json_is_array(root))
        layers = root;
    int inputs = 0;
    for (const tlr_json *e = tlr_json_first(layers); e; e = tlr_json_next(e))
        inputs += strcmp(tlr_json_get_string(e, "class_name", ""), "InputLayer") == 0;
    return n_layers - inputs;
}

typedef struct {
    int opened, params_match, skipped, checked;
} corpus_counts;

static void check_model_file(const char *dir, const corpus_row *row, const corpus_row *wrow,
                             corpus_counts *c)
{
    char path[4200], wpath[4200];
    snprintf(path, sizeof path, "%s/%s", dir, row->file);
    tlr_kfile_opts opts = { 0 };
    if (wrow) {
        snprintf(wpath, sizeof wpath, "%s/%s", dir, wrow->file);
        opts.weights_path = wpath;
    }
    const char *total_s = wrow ? wrow->total : row->total;
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, wrow ? &opts : NULL, &err);
    CHECK(f != NULL && f->model != NULL, "%s: open: %s", row->file, f ? "no model" : err.msg);
    c->checked++;
    if (!f || !f->model) {
        tlr_kfile_free(f);
        return;
    }
    c->opened++;
    tlr_summary *s = tlr_inspect_summary(f, -1, 0, 0);
    if (strcmp(total_s, "-") != 0) {
        /* the manifest counts the model's weights; Keras 3 also totals its optimizer's */
        long long want = atoll(total_s), model = s->total_params - s->optimizer_params;
        CHECK(model == want, "%s: total params %lld, manifest %lld", row->file, model, want);
        if (model == want)
            c->params_match++;
        CHECK(s->trainable_params + s->non_trainable_params + s->optimizer_params ==
              s->total_params, "%s: trainable + non-trainable + optimizer != total", row->file);
    }
    if (strcmp(row->n_layers, "-") != 0) {
        int want = expected_visible(f, atoi(row->n_layers));
        int got = tlr_model_visible_layers(f->model, NULL, 0);
        CHECK(got == want, "%s: %d layers in model.layers, want %d (manifest n_layers %s)",
              row->file, got, want, row->n_layers);
    }
    if (strcmp(row->top_class, "-") != 0)
        STR_EQ(f->model->class_name, row->top_class, row->file);
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    /* the text has the totals and a row per layer (names may be cut at the column end) */
    int vis[4096];
    int nv = tlr_model_visible_layers(f->model, vis, 4096);
    int rows_ok = 1;
    for (int i = 0; i < nv && i < 4096 && rows_ok; i++) {
        char head[24];
        snprintf(head, sizeof head, "%.20s", f->model->layers[vis[i]].name);
        rows_ok = strstr(tlr_buf_cstr(&b), head) != NULL;
    }
    CHECK(b.len > 0 && strstr(tlr_buf_cstr(&b), "Total params: ") && rows_ok,
          "%s: summary text lacks the totals or a layer row", row->file);
    tlr_buf_free(&b);
    tlr_inspect_summary_free(s);
    tlr_kfile_free(f);
}

/* A weights-only file alone: the storage report, with every stored parameter counted. */
static void check_weights_file(const char *dir, const corpus_row *row, corpus_counts *c)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, row->file);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "%s: open: %s", row->file, err.msg);
    c->checked++;
    if (!f)
        return;
    c->opened++;
    CHECK(f->format == TLR_FMT_H5_WEIGHTS, "%s: format %s", row->file, tlr_format_name(f->format));
    tlr_storage *sto = tlr_inspect_storage_build(f, &err);
    tlr_json *st = sto ? tlr_storage_to_json(sto) : NULL;
    tlr_storage_free(sto);
    CHECK(st != NULL, "%s: storage: %s", row->file, err.msg);
    if (st) {
        const tlr_json *w = tlr_json_get(st, "weights");
        long long got = (long long)tlr_json_get_number(w, "params", -1);
        long long want = atoll(row->total);
        CHECK(got == want, "%s: storage params %lld, manifest %lld", row->file, got, want);
        if (got == want)
            c->params_match++;
        if (strcmp(row->n_layers, "-") != 0)
            INT_EQ(tlr_json_get_number(w, "layer_names", -1), atoi(row->n_layers), row->file);
        char *text = tlr_json_print(st, 0);
        CHECK(text && text[0] == '{', "%s: storage JSON does not print", row->file);
        free(text);
        tlr_json_free(st);
    }
    tlr_kfile_free(f);
}

void test_corpus(void)
{
    const char *shared = tlr_t_shared();
    char man[2048], dir[2048];
    if (shared)
        snprintf(man, sizeof man, "%s/corpus/manifest.tsv", shared);
    FILE *probe = shared ? fopen(man, "r") : NULL;
    if (!probe) {
        tlr_t_skip("corpus", "../shared/corpus/manifest.tsv not found");
        printf("corpus: 0 models opened, 0 params match, all skipped\n");
        return;
    }
    fclose(probe);
    snprintf(dir, sizeof dir, "%s/corpus", shared);
    int n;
    corpus_row *rows = read_manifest(man, &n);
    corpus_counts c = { 0, 0, 0, 0 };
    for (int i = 0; i < n; i++) {
        const corpus_row *r = &rows[i];
        char pfile[2048];
        if (strcmp(r->format, "json-arch") == 0) {
            /* NNN-x.json pairs with NNN-x.h5 */
            snprintf(pfile, sizeof pfile, "%.*s.h5", (int)(strlen(r->file) - 5), r->file);
            const corpus_row *w = find_row(rows, n, pfile);
            CHECK(w != NULL, "%s: no weights file %s in the manifest", r->file, pfile);
            if (w)
                check_model_file(dir, r, w, &c);
            else
                c.skipped++;
        } else if (strcmp(r->format, "weights-only") == 0) {
            check_weights_file(dir, r, &c);
        } else {
            check_model_file(dir, r, NULL, &c);
        }
    }
    CHECK(c.checked >= 40, "only %d corpus files checked", c.checked);
    printf("corpus: %d models opened, %d params match, %d skipped\n", c.opened, c.params_match,
           c.skipped);
    free_rows(rows, n);
}
