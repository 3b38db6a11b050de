/* reportdata.c - the report's data: the document's header, model facts, summary and layer
 * table, warnings and preprocessing, assembled with the storage, kernel and feature
 * sections of the other reportdata_*.c files; the figures and number formats they share. */
#include "report/reportdata_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/threads.h"
#include "base/version.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "io/image_io.h"
#include "keras/expr.h"
#include "keras/shape.h"
#include "report/cost.h"
#include "report/inspect.h"


void tlr_format_thousands(int64_t v, char *out, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t k = 0;
    if (v < 0 && k + 1 < cap)
        out[k++] = '-';
    for (int i = 0; i < n && k + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

void tlr_rd_add_count(tlr_json *o, const char *key, int64_t v)
{
    char s[48], k[64];
    tlr_json_add_number(o, key, (double)v);
    tlr_format_thousands(v, s, sizeof s);
    snprintf(k, sizeof k, "%s_str", key);
    tlr_json_add_string(o, k, s);
}

void tlr_rd_bytes_str(double b, char *out, size_t cap)
{
    if (b >= 1024.0 * 1024)
        snprintf(out, cap, "%.2f MB", b / (1024.0 * 1024));
    else if (b >= 1024.0)
        snprintf(out, cap, "%.2f KB", b / 1024.0);
    else
        snprintf(out, cap, "%.0f B", b);
}

void tlr_rd_dims_str(int nd, const int64_t *d, char *out, size_t cap)
{
    tlr_shape s = { nd, { 0 } };
    memcpy(s.d, d, (size_t)nd * sizeof *d);
    tlr_shape_str(&s, out, cap);
}

const char *tlr_rd_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

tlr_ranked *tlr_reportdata_top(tlr_json *arr, const float *y, int64_t n,
                               const tlr_strlist *labels, int k, int binary, tlr_top_form form,
                               int *m)
{
    tlr_ranked *rk = tlr_xcalloc((size_t)k + 2, sizeof *rk);
    *m = tlr_labels_rank(y, n, labels, k, binary, rk);
    for (int a = 0; a < *m; a++) {
        tlr_json *t = tlr_json_push_object(arr);
        if (form == TLR_TOP_PREDICT) {
            tlr_json_add_number(t, "index", rk[a].index);
            tlr_json_add_string(t, "label", rk[a].label ? rk[a].label : "?");
            tlr_json_add_number(t, "probability", (double)rk[a].p);
            continue;
        }
        char ps[32];
        tlr_json_add_number(t, "rank", a + 1);
        if (rk[a].label)
            tlr_json_add_string(t, "label", rk[a].label);
        tlr_json_add_number(t, "index", rk[a].index);
        snprintf(ps, sizeof ps, "%.4f", (double)rk[a].p);
        tlr_json_add_string(t, "probability_str", ps);
        tlr_json_add_number(t, "value", (double)rk[a].p);
    }
    return rk;
}


/* ---- figures ------------------------------------------------------------------------------- */

/* Keeps a copy of the image; every figure is encoded at the end, on all threads (PNG
 * compression is most of the time the report itself takes). */
tlr_status tlr_rd_add_figure(tlr_report_content *c, const char *name, const tlr_image *img,
                             tlr_err *err)
{
    (void)err;
    tlr_image *copy = tlr_image_new(img->w, img->h, img->channels);
    memcpy(copy->data, img->data, (size_t)img->w * (size_t)img->h * (size_t)img->channels);
    c->figures = tlr_xrealloc(c->figures, (size_t)(c->n_figures + 1) * sizeof *c->figures);
    c->figures[c->n_figures++] = (tlr_figure){ tlr_xstrdup(name), NULL, 0, copy, TLR_OK };
    return TLR_OK;
}

static void encode_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    tlr_report_content *c = ctx;
    for (int64_t i = begin; i < end; i++) {
        tlr_figure *fg = &c->figures[i];
        tlr_err e = { 0 };
        fg->status = tlr_image_encode_png(fg->pending, &fg->data, &fg->len, &e);
        tlr_image_free(fg->pending);
        fg->pending = NULL;
    }
}

static tlr_status encode_figures(tlr_report_content *c, tlr_err *err)
{
    tlr_parallel_for(c->n_figures, encode_task, c);
    for (int i = 0; i < c->n_figures; i++)
        if (c->figures[i].status)
            return tlr_err_set(err, c->figures[i].status, "%s: cannot encode the PNG",
                               c->figures[i].name);
    return TLR_OK;
}

/* File-name-safe version of a layer path: "vgg16/block2_conv2" -> "vgg16-block2_conv2". */
char *tlr_rd_slug(const char *path)
{
    char *s = tlr_xstrdup(path);
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            *p = '-';
    if (strlen(s) > 80)
        s[80] = '\0';
    return s;
}

void tlr_rd_add_warning(tlr_json *d, const char *text)
{
    tlr_json *w = tlr_json_get(d, "warnings");
    for (const tlr_json *e = tlr_json_first(w); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "text", ""), text) == 0)
            return;
    tlr_json_add_string(tlr_json_push_object(w), "text", text);
}

/* ---- sections ----------------------------------------------------------------------------- */

/* ---- sections ----------------------------------------------------------------------------- */

static int count_arrays(const tlr_layer *l)
{
    int n = 0;
    if (l->op == TLR_OP_MODEL)
        for (int i = 0; i < l->inner->n_layers; i++)
            n += count_arrays(&l->inner->layers[i]);
    return n + (l->op == TLR_OP_MODEL ? 0 : l->n_weights);
}

static void model_section(tlr_json *d, const tlr_kfile *f, const tlr_summary *s)
{
    tlr_json *m = tlr_json_add_object(d, "model");
    const char *base = strrchr(f->path, '/');
    tlr_json_add_string(m, "file", base ? base + 1 : f->path);
    tlr_json_add_string(m, "name", f->model->name);
    tlr_json_add_string(m, "class", f->model->class_name);
    static const char *const codes[TLR_FMT_COUNT] = {
        [TLR_FMT_H5_MODEL] = "hdf5-model", [TLR_FMT_H5_WEIGHTS] = "hdf5-weights",
        [TLR_FMT_KERAS_ZIP] = "keras-zip", [TLR_FMT_JSON] = "json+weights",
    };
    tlr_json_add_string(m, "format", codes[f->format]);
    tlr_json_add_string(m, "format_description", tlr_format_name(f->format));
    tlr_json_add_string(m, "keras_version", f->keras_version ? f->keras_version
                                                             : f->keras_major == 1 ? "1.x" : "");
    tlr_json_add_string(m, "backend", f->backend ? f->backend : "");
    tlr_shape in = f->model->n_inputs ? f->model->layers[f->model->inputs[0].layer].input_shape
                                      : (tlr_shape){ 0, { 0 } };
    if (in.ndim) {
        char is[160];
        tlr_shape_str(&in, is, sizeof is);
        tlr_json_add_string(m, "input_shape", is);
    }
    tlr_rd_add_count(m, "total_params", s->total_params - s->optimizer_params);
    tlr_rd_add_count(m, "trainable_params", s->trainable_params);
    tlr_rd_add_count(m, "non_trainable_params", s->non_trainable_params);
    tlr_json_add_number(m, "layer_count", tlr_model_visible_layers(f->model, NULL, 0));
    tlr_json *nested = tlr_json_add_array(m, "nested");
    for (int i = 0; i < f->model->n_layers; i++) {
        const tlr_layer *l = &f->model->layers[i];
        if (l->op != TLR_OP_MODEL)
            continue;
        tlr_json *o = tlr_json_push_object(nested);
        char ps[48];
        tlr_json_add_string(o, "name", l->name);
        tlr_json_add_string(o, "class", l->class_name);
        tlr_json_add_number(o, "layers", tlr_model_visible_layers(l->inner, NULL, 0));
        tlr_format_thousands(tlr_layer_param_count(l), ps, sizeof ps);
        tlr_json_add_string(o, "params_str", ps);
        /* frozen = none of its weights train (a flag on the model or on each inner layer) */
        tlr_json_add_bool(o, "trainable", l->params_trainable > 0);
        if (f->weights_root) {
            char *g = strcmp(f->weights_root, "/") == 0 ? tlr_xasprintf("/%s", l->name)
                                                        : tlr_xasprintf("%s/%s", f->weights_root, l->name);
            tlr_json_add_string(o, "group", g);
            free(g);
        } else {
            tlr_json_add_string(o, "group", "");
        }
        tlr_json_add_number(o, "weights_count", count_arrays(l));
    }
}

/* One row of the layer table as the templates show it. */
static void layer_row_json(tlr_json *arr, const tlr_layer_row *r)
{
    tlr_json *o = tlr_json_push_object(arr);
    char ps[48];
    tlr_json_add_number(o, "index", r->index);
    tlr_json_add_string(o, "name", r->name);
    tlr_json_add_string(o, "path", r->path);
    tlr_json_add_string(o, "class", r->class_name);
    tlr_json_add_string(o, "output_shape", r->output_shape);
    tlr_format_thousands(r->params, ps, sizeof ps);
    tlr_json_add_string(o, "params_str", ps);
    tlr_json_add_bool(o, "trainable", r->trainable);
    tlr_json_add_number(o, "depth", r->depth);
    tlr_json_add_bool(o, "nested", r->depth > 0);
    if (r->note)
        tlr_json_add_string(o, "note", r->note);
    tlr_json_add_number(o, "macs", (double)r->macs);
    tlr_cost_format(r->macs, ps, sizeof ps);
    tlr_json_add_string(o, "macs_str", r->macs > 0 ? ps : r->macs == 0 ? "" : "?");
    tlr_json_add_number(o, "activations", (double)r->activations);
    tlr_cost_format(r->activations, ps, sizeof ps);
    tlr_json_add_string(o, "activations_str", ps);
}

/* Every row of the table (nested layers included) onto 'arr'. */
static void layer_rows_json(tlr_json *arr, const tlr_layer_table *t, int top_only)
{
    for (int i = 0; i < t->n_rows; i++)
        if (!top_only || t->rows[i].depth == 0)
            layer_row_json(arr, &t->rows[i]);
}

/* key: "6.62 GMAC", "812 MAC", "26.9 MB" (unit ""): a count with a metric prefix and unit. */
static void add_count_str(tlr_json *o, const char *key, int64_t n, const char *unit)
{
    char num[48], s[64];
    tlr_cost_format(n, num, sizeof num);
    int prefixed = n >= 1000;
    snprintf(s, sizeof s, "%s%s%s", num, prefixed || !unit[0] ? "" : " ", unit);
    tlr_json_add_string(o, key, s);
}

/* layers.macs (the top-level rows: a nested model's row sums its layers) and
 * layers.activations (every layer's output but the nested models', whose output is their
 * last layer's), each -1 when some shape is unknown. */
static void cost_totals(tlr_json *out, const tlr_layer_table *t)
{
    int64_t macs = 0, acts = 0;
    for (int i = 0; i < t->n_rows; i++) {
        const tlr_layer_row *r = &t->rows[i];
        if (r->depth == 0)
            macs = macs < 0 || r->macs < 0 ? -1 : macs + r->macs;
        if (r->leaf)
            acts = acts < 0 || r->activations < 0 ? -1 : acts + r->activations;
    }
    tlr_json_add_number(out, "macs", (double)macs);
    add_count_str(out, "macs_str", macs, "MAC");
    tlr_json_add_number(out, "activations", (double)acts);
    add_count_str(out, "activations_str", acts, "");
    add_count_str(out, "activations_bytes_str", acts < 0 ? -1 : acts * 4, "B");
}

static void layers_section(tlr_json *d, const tlr_layer_table *t)
{
    tlr_json *out = tlr_json_add_object(d, "layers");
    tlr_json_add_number(out, "count", t->count);
    layer_rows_json(tlr_json_add_array(out, "rows"), t, 1);
    layer_rows_json(tlr_json_add_array(out, "rows_expanded"), t, 0);
    tlr_json_add_number(out, "count_expanded", t->n_rows);
    cost_totals(out, t);
}


/* BatchNormalization layers and their moving statistics (never trainable). */
static void count_batchnorm(const tlr_model *m, int *n, int64_t *stats)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->inner)
            count_batchnorm(l->inner, n, stats);
        if (l->op != TLR_OP_BATCHNORM)
            continue;
        (*n)++;
        for (int k = 0; k < l->n_weights; k++)
            if (!tlr_weight_role_trainable(l->weights[k].role) && l->weights[k].ndim == 1)
                *stats += l->weights[k].shape[0];
    }
}

/* The summary text and totals, the layers holding frozen weights, the BatchNormalization
 * statistics, and the expanded table's rows. */
static void summary_section(tlr_json *d, const tlr_kfile *f, const tlr_summary *s,
                            const tlr_layer_table *t)
{
    tlr_json *out = tlr_json_add_object(d, "summary");
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    tlr_json_add_string(out, "text", tlr_buf_cstr(&b));
    tlr_buf_free(&b);
    tlr_json_add_string(out, "style", tlr_summary_style_name(s->style));
    tlr_rd_add_count(out, "total_params", s->total_params - s->optimizer_params);
    tlr_rd_add_count(out, "trainable_params", s->trainable_params);
    tlr_rd_add_count(out, "non_trainable_params", s->non_trainable_params);
    tlr_inspect_optimizer_json(out, s); /* Keras 3's " Optimizer params:" line, when printed */
    /* which layers hold frozen weights, for the explanation */
    tlr_json *frozen = tlr_json_add_array(out, "frozen");
    for (int i = 0; i < f->model->n_layers; i++) {
        const tlr_layer *l = &f->model->layers[i];
        if (tlr_layer_param_count(l) > 0 && l->params_trainable < tlr_layer_param_count(l)) {
            tlr_json *x = tlr_json_push_object(frozen);
            char ps[48];
            tlr_json_add_string(x, "name", l->name);
            tlr_json_add_string(x, "class", l->class_name);
            tlr_format_thousands(tlr_layer_param_count(l) - l->params_trainable, ps, sizeof ps);
            tlr_json_add_string(x, "params_str", ps);
            tlr_json_add_bool(x, "whole_layer", l->params_trainable == 0);
        }
    }
    int bn = 0;
    int64_t bn_stats = 0;
    count_batchnorm(f->model, &bn, &bn_stats);
    tlr_json *bj = tlr_json_add_object(out, "batchnorm");
    tlr_json_add_bool(bj, "present", bn > 0);
    tlr_json_add_number(bj, "count", bn);
    char bps[48];
    tlr_format_thousands(bn_stats, bps, sizeof bps);
    tlr_json_add_string(bj, "params_str", bps);
    layer_rows_json(tlr_json_add_array(out, "rows"), t, 0);
}

/* Lambda layers that run as a formula: say which, and where the formula came from. */
static void note_lambdas(tlr_json *d, const tlr_model *m, const char *prefix)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->inner)
            note_lambdas(d, l->inner, p);
        if (l->op == TLR_OP_LAMBDA && l->lambda) {
            tlr_json *e = tlr_json_push_object(tlr_json_get(d, "lambdas"));
            tlr_json_add_string(e, "layer", p);
            tlr_json_add_string(e, "formula", tlr_expr_text(l->lambda));
            tlr_json_add_bool(e, "recovered", l->lambda_recovered);
        }
        free(p);
    }
}

/* ---- the whole content -------------------------------------------------------------------- */

static void header_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                           const tlr_strlist *input_notes)
{
    char *title = rq->title ? tlr_xstrdup(rq->title) : tlr_xasprintf("%s", tlr_rd_base_name(f->path));
    tlr_json_add_string(d, "title", title);
    free(title);
    if (rq->author)
        tlr_json_add_string(d, "author", rq->author);
    if (rq->date)
        tlr_json_add_string(d, "date", rq->date);
    tlr_json_add_string(d, "lang", rq->lang);
    tlr_json_add_string(d, "tlreport_version", TLR_VERSION);
    tlr_json_add_array(d, "warnings");
    for (size_t i = 0; input_notes && i < input_notes->n; i++)
        tlr_rd_add_warning(d, input_notes->items[i]);
    tlr_json_add_array(d, "uncomputed");
    tlr_json_add_array(d, "lambdas");
    tlr_json_add_array(d, "unknown_shapes");
}

/* model, summary and layers: the facts that need the architecture. */
static void model_sections(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq)
{
    tlr_summary *s = tlr_inspect_summary(f, rq->summary_style, 0, 0);
    tlr_layer_table *t = tlr_inspect_layer_table(f, 1);
    model_section(d, f, s);
    summary_section(d, f, s, t);
    layers_section(d, t);
    tlr_layer_table_free(t);
    tlr_inspect_summary_free(s);
}

static void unknown_shapes(tlr_json *d, const tlr_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (!m->layers[i].shape_ok) {
            tlr_json *u = tlr_json_push_object(tlr_json_get(d, "unknown_shapes"));
            tlr_json_add_string(u, "layer", m->layers[i].name);
            tlr_json_add_string(u, "class", m->layers[i].class_name);
        }
}

/* How the sample images were turned into input: the Keras recipe in words and its pieces. */
static void preprocess_section(tlr_json *d, const tlr_kfile *f, const tlr_input_opts *io)
{
    tlr_json *pp = tlr_json_add_object(d, "preprocess");
    tlr_shape in = tlr_forward_input_shape(f->model, 0);
    char *desc = tlr_input_describe(io, &in);
    tlr_json_add_string(pp, "mode", tlr_prep_mode_name(io->mode));
    tlr_json_add_string(pp, "description", desc);
    tlr_json_add_string(pp, "resize", tlr_resize_method_name(io->resize));
    tlr_json_add_bool(pp, "crop", io->crop_center);
    if (in.ndim == 4) {
        int64_t h, w, ch;
        tlr_input_channels_first(&in, &h, &w, &ch);
        if (h > 0 && w > 0) {
            char ts[64];
            snprintf(ts, sizeof ts, "(%lld, %lld)", (long long)h, (long long)w);
            tlr_json_add_string(pp, "target_size_str", ts);
        }
        tlr_json_add_string(pp, "color_mode", ch == 1 ? "grayscale" : "rgb");
    }
    free(desc);
}

tlr_status tlr_reportdata_build(tlr_kfile *f, const tlr_report_request *rq,
                                const tlr_input *inputs, int n_inputs, const tlr_input_opts *io,
                                const tlr_strlist *input_notes, FILE *log,
                                tlr_report_content *out, tlr_err *err)
{
    memset(out, 0, sizeof *out);
    tlr_json *d = tlr_json_new_object();
    out->data = d;
    header_section(d, f, rq, input_notes);
    tlr_storage *storage = tlr_inspect_storage_build(f, err);
    if (!storage)
        return err->code;
    if (f->model)
        model_sections(d, f, rq);
    tlr_rd_storage_section(d, f, storage);
    tlr_rd_degrade_tree_section(d, f, storage);
    tlr_storage_free(storage);
    if (!f->model) {
        tlr_json_add_object(d, "kernels");
        tlr_json_add_object(d, "features");
        tlr_json_add_object(d, "predictions");
        tlr_json_add_object(d, "patterns");
        tlr_json_add_object(d, "gradcam");
        return TLR_OK;
    }
    unknown_shapes(d, f->model);
    note_lambdas(d, f->model, "");
    tlr_rd_layer kl = { 0 };
    tlr_rd_cam_runs cam = { 0 };
    if (rq->progress && log)
        fprintf(log, "tlreport: kernels\n");
    tlr_status st = tlr_rd_kernels_section(d, f, rq, out, &kl, err);
    if (!st)
        tlr_rd_gradcam_plan(f, rq, &cam);
    if (!st)
        st = tlr_rd_features_section(d, f, rq, inputs, n_inputs, &kl, out, &cam, log, err);
    if (!st && rq->evaluation)
        st = tlr_rd_eval_section(d, rq->evaluation, out, err);
    preprocess_section(d, f, io);
    tlr_rd_degrade_input_section(d, f, rq, inputs, n_inputs);
    tlr_json_add_bool(d, "has_warnings", tlr_json_size(tlr_json_get(d, "warnings")) > 0);
    if (!st)
        st = tlr_rd_patterns_section(d, f, rq, io, &kl, out, log, err);
    if (!st)
        st = tlr_rd_gradcam_section(d, f, rq, inputs, n_inputs, out, &cam, log, err);
    tlr_rd_cam_runs_free(&cam);
    if (!st)
        st = encode_figures(out, err);
    /* after the figures are encoded: the drawings and the chart are SVG text already */
    if (!st) {
        tlr_rd_diagram_section(d, f->model, out);
        tlr_rd_wstats_section(d, f->model, out);
        tlr_rd_dead_filters_finish(tlr_json_get(d, "features"));
    }
    if (!st && rq->compare)
        st = tlr_rd_comparison_section(d, f, rq, inputs, n_inputs, out, log, err);
    if (!st && rq->checks)
        st = tlr_rd_checks_section(d, f, rq, inputs, n_inputs, err);
    free(kl.path);
    return st;
}


void tlr_report_content_free(tlr_report_content *c)
{
    tlr_json_free(c->data);
    for (int i = 0; i < c->n_figures; i++) {
        free(c->figures[i].name);
        free(c->figures[i].data);
        tlr_image_free(c->figures[i].pending);
    }
    free(c->figures);
    memset(c, 0, sizeof *c);
}
