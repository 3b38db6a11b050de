/* reportdata.c - the report's data: model facts, storage, layers, summary, kernel grid,
 * feature maps and predictions, formatted for the templates. */
#include "report/reportdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/threads.h"
#include "base/version.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "io/image_io.h"
#include "io/labels.h"
#include "keras/expr.h"
#include "keras/shape.h"
#include "report/grid.h"
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

static void add_count(tlr_json *o, const char *key, int64_t v)
{
    char s[48], k[64];
    tlr_json_add_number(o, key, (double)v);
    tlr_format_thousands(v, s, sizeof s);
    snprintf(k, sizeof k, "%s_str", key);
    tlr_json_add_string(o, k, s);
}

static void bytes_str(double b, char *out, size_t cap)
{
    if (b >= 1024.0 * 1024)
        snprintf(out, cap, "%.2f MB", b / (1024.0 * 1024));
    else if (b >= 1024.0)
        snprintf(out, cap, "%.2f KB", b / 1024.0);
    else
        snprintf(out, cap, "%.0f B", b);
}

static void shape_arr_str(const tlr_json *a, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "(");
    int i = 0;
    for (const tlr_json *e = tlr_json_first(a); e && k < cap; e = tlr_json_next(e), i++) {
        if (tlr_json_is_null(e))
            k += (size_t)snprintf(out + k, cap - k, "%sNone", i ? ", " : "");
        else
            k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? ", " : "",
                                  (long long)tlr_json_number(e, 0));
    }
    if (k < cap)
        snprintf(out + k, cap - k, i == 1 ? ",)" : ")");
}

static void dims_str(int nd, const int64_t *d, char *out, size_t cap)
{
    tlr_shape s = { nd, { 0 } };
    memcpy(s.d, d, (size_t)nd * sizeof *d);
    tlr_shape_str(&s, out, cap);
}

static const char *base_name(const char *p)
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
static tlr_status add_figure(tlr_report_content *c, const char *name, const tlr_image *img,
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
static char *slug(const char *path)
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

/* ---- choosing layers ------------------------------------------------------------------------ */

typedef struct {
    const tlr_layer *layer;
    char *path;
} found_layer;

static int is_conv(const tlr_layer *l)
{
    return l->op == TLR_OP_CONV && l->cfg.conv.rank == 2;
}

static int64_t conv_cin(const tlr_layer *l)
{
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, "kernel") == 0 && l->weights[i].ndim == 4)
            return l->weights[i].shape[2];
    return 0;
}

/* First layer (depth first, in execution order) matching 'pred'. */
static int find_first(const tlr_model *m, const char *prefix, int (*pred)(const tlr_layer *),
                      found_layer *out)
{
    for (int k = 0; k < m->n_order; k++) {
        const tlr_layer *l = &m->layers[m->order[k]];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->op == TLR_OP_MODEL && find_first(l->inner, p, pred, out)) {
            free(p);
            return 1;
        }
        if (pred(l)) {
            out->layer = l;
            out->path = p;
            return 1;
        }
        free(p);
    }
    return 0;
}

static int conv_multi_channel(const tlr_layer *l)
{
    return is_conv(l) && conv_cin(l) >= 2 && l->n_weights && l->weights[0].data;
}

static int conv_rgb(const tlr_layer *l)
{
    return is_conv(l) && conv_cin(l) == 3 && l->n_weights && l->weights[0].data;
}

/* A convolution named block2_conv2 inside a nested model: the course's choice (layers[5] of
 * the VGG16 base, which VGG19 shares), found by name since other bases number differently. */
static int nested_block2_conv2(const tlr_model *m, found_layer *out)
{
    for (int k = 0; k < m->n_order; k++) {
        const tlr_layer *l = &m->layers[m->order[k]];
        if (l->op != TLR_OP_MODEL)
            continue;
        int i = tlr_model_find(l->inner, "block2_conv2");
        if (i >= 0 && conv_multi_channel(&l->inner->layers[i])) {
            out->layer = &l->inner->layers[i];
            out->path = tlr_xasprintf("%s/block2_conv2", l->name);
            return 1;
        }
    }
    return 0;
}

/* block2_conv2 of a nested VGG base, else the first convolution with at least two input
 * channels (the first has only the image's channels, whose kernels say little). */
static int default_kernel_layer(const tlr_model *m, found_layer *out)
{
    return nested_block2_conv2(m, out) || find_first(m, "", conv_multi_channel, out);
}

static tlr_status resolve_layer(const tlr_model *m, const char *path, found_layer *out,
                                tlr_err *err)
{
    const tlr_model *owner;
    int idx;
    if (tlr_model_resolve(m, path, &owner, &idx))
        return tlr_err_set(err, TLR_E_USAGE, "no layer '%s' in the model (see --layers "
                           "--expand-nested)", path);
    out->layer = &owner->layers[idx];
    out->path = tlr_xstrdup(path);
    return TLR_OK;
}

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
    add_count(m, "total_params", s->total_params);
    add_count(m, "trainable_params", s->trainable_params);
    add_count(m, "non_trainable_params", s->non_trainable_params);
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

static void example_layer(tlr_json *s, const tlr_kfile *f);

static void storage_section(tlr_json *d, const tlr_kfile *f, const tlr_json *st)
{
    tlr_json *s = tlr_json_add_object(d, "storage");
    tlr_json_add_string(s, "format", tlr_json_get_string(st, "format", ""));
    tlr_json_add_string(s, "format_description", tlr_json_get_string(st, "format_description", ""));
    tlr_json_add_bool(s, "weights_only", f->format == TLR_FMT_H5_WEIGHTS || f->format == TLR_FMT_JSON);
    tlr_json_add_bool(s, "keras_zip", f->format == TLR_FMT_KERAS_ZIP);
    tlr_json_add_bool(s, "hdf5", f->format == TLR_FMT_H5_MODEL || f->format == TLR_FMT_H5_WEIGHTS);
    if (f->format == TLR_FMT_JSON)
        tlr_json_add_string(s, "architecture_file", base_name(f->path));
    const tlr_json *mcj = tlr_json_get(st, "model_config");
    tlr_json *mc = tlr_json_add_object(s, "model_config");
    tlr_json_add_bool(mc, "present", mcj != NULL && f->format == TLR_FMT_H5_MODEL);
    tlr_json_add_string(mc, "class", tlr_json_get_string(mcj, "class_name", ""));
    tlr_json_add_string(mc, "name", tlr_json_get_string(mcj, "name", ""));
    char jb[48];
    tlr_format_thousands((int64_t)tlr_json_get_number(mcj, "json_bytes", 0), jb, sizeof jb);
    tlr_json_add_string(mc, "json_bytes_str", jb);
    char b[48];
    bytes_str(tlr_json_get_number(st, "bytes", 0), b, sizeof b);
    tlr_json_add_string(s, "file_bytes_str", b);
    tlr_json *ra = tlr_json_add_array(s, "root_attributes");
    for (const tlr_json *a = tlr_json_first(tlr_json_get(st, "root_attributes")); a; a = tlr_json_next(a)) {
        tlr_json *o = tlr_json_push_object(ra);
        tlr_json_add_string(o, "name", tlr_json_get_string(a, "name", ""));
        tlr_json_add_string(o, "type", tlr_json_get_string(a, "type", ""));
        tlr_json_add_string(o, "value", tlr_json_get_string(a, "value", ""));
    }
    tlr_json_add_bool(s, "has_root_attributes", tlr_json_size(ra) > 0);
    /* training */
    const tlr_json *tc = tlr_json_get(st, "training_config");
    tlr_json *t = tlr_json_add_object(s, "training");
    tlr_json_add_bool(t, "present", tlr_json_get_bool(tc, "present", 0));
    tlr_json_add_string(t, "loss", tlr_json_get_string(tc, "loss", "?"));
    tlr_json_add_string(t, "optimizer", tlr_json_get_string(tc, "optimizer", "?"));
    const tlr_json *oc = tlr_json_get(tc, "optimizer_config");
    const tlr_json *lr = tlr_json_get(oc, "learning_rate");
    if (!lr)
        lr = tlr_json_get(oc, "lr");
    if (tlr_json_is_number(lr)) {
        char lrs[48];
        snprintf(lrs, sizeof lrs, "%g", tlr_json_number(lr, 0));
        tlr_json_add_string(t, "learning_rate", lrs);
    }
    tlr_buf mb = TLR_BUF_INIT;
    for (const tlr_json *x = tlr_json_first(tlr_json_get(tc, "metrics")); x; x = tlr_json_next(x)) {
        if (mb.len)
            tlr_buf_puts(&mb, ", ");
        tlr_buf_puts(&mb, tlr_json_string(x, "?"));
    }
    tlr_json_add_string(t, "metrics_str", tlr_buf_cstr(&mb));
    tlr_json_add_bool(t, "has_metrics", mb.len > 0);
    tlr_buf_free(&mb);
    /* weight groups */
    const tlr_json *w = tlr_json_get(st, "weights");
    tlr_json_add_string(s, "weights_group", tlr_json_get_string(w, "group", ""));
    tlr_json_add_number(s, "weights_count", tlr_json_get_number(w, "arrays", 0));
    add_count(s, "weights_params", (int64_t)tlr_json_get_number(w, "params", 0));
    bytes_str(tlr_json_get_number(w, "bytes", 0), b, sizeof b);
    tlr_json_add_string(s, "weights_bytes_str", b);
    tlr_json_add_bool(s, "top_level_model_weights", tlr_json_get_bool(w, "top_level_model_weights", 0));
    tlr_json *groups = tlr_json_add_array(s, "weight_groups");
    for (const tlr_json *g = tlr_json_first(tlr_json_get(w, "groups")); g; g = tlr_json_next(g)) {
        tlr_json *o = tlr_json_push_object(groups);
        tlr_json_add_string(o, "group", tlr_json_get_string(g, "group", ""));
        tlr_json_add_string(o, "layer", tlr_json_get_string(g, "name", tlr_json_get_string(g, "group", "")));
        tlr_json_add_string(o, "class", tlr_json_get_string(g, "class", ""));
        tlr_json_add_bool(o, "nested", tlr_json_get_bool(g, "nested", 0));
        tlr_json_add_number(o, "count", (double)tlr_json_size(tlr_json_get(g, "weights")));
        double gbytes = 0;
        for (const tlr_json *x = tlr_json_first(tlr_json_get(g, "weights")); x; x = tlr_json_next(x))
            gbytes += tlr_json_get_number(x, "bytes", 0);
        bytes_str(gbytes, b, sizeof b);
        tlr_json_add_string(o, "bytes_str", b);
        tlr_json *ws = tlr_json_add_array(o, "weights");
        for (const tlr_json *x = tlr_json_first(tlr_json_get(g, "weights")); x; x = tlr_json_next(x)) {
            tlr_json *wo = tlr_json_push_object(ws);
            char sh[160];
            shape_arr_str(tlr_json_get(x, "shape"), sh, sizeof sh);
            tlr_json_add_string(wo, "name", tlr_json_get_string(x, "name", ""));
            tlr_json_add_string(wo, "shape_str", sh);
            tlr_json_add_string(wo, "dtype", tlr_json_get_string(x, "dtype", ""));
            bytes_str(tlr_json_get_number(x, "bytes", 0), b, sizeof b);
            tlr_json_add_string(wo, "bytes_str", b);
            tlr_json_add_string(wo, "layer_path", tlr_json_get_string(x, "layer", ""));
            tlr_json_add_bool(wo, "trainable", tlr_json_get_bool(x, "trainable", 0));
        }
        tlr_json_add_bool(o, "empty", tlr_json_size(ws) == 0);
    }
    /* optimizer */
    const tlr_json *op = tlr_json_get(st, "optimizer_weights");
    tlr_json *oo = tlr_json_add_object(s, "optimizer");
    tlr_json_add_bool(oo, "present", tlr_json_get_bool(op, "present", 0));
    tlr_json_add_string(oo, "group", f->format == TLR_FMT_KERAS_ZIP ? "optimizer/vars"
                                                                     : "/optimizer_weights");
    tlr_json_add_number(oo, "count", tlr_json_get_number(op, "count", 0));
    add_count(oo, "params", (int64_t)tlr_json_get_number(op, "params", 0));
    bytes_str(tlr_json_get_number(op, "bytes", 0), b, sizeof b);
    tlr_json_add_string(oo, "bytes_str", b);
    /* get_weights order */
    tlr_json_add_bool(s, "get_weights_trainable_first",
                      tlr_json_get_bool(st, "get_weights_trainable_first", 0));
    tlr_json *gw = tlr_json_add_array(s, "get_weights");
    for (const tlr_json *l = tlr_json_first(tlr_json_get(st, "get_weights")); l; l = tlr_json_next(l)) {
        tlr_json *o = tlr_json_push_object(gw);
        tlr_json_add_string(o, "layer", tlr_json_get_string(l, "layer", ""));
        tlr_buf ab = TLR_BUF_INIT;
        int i = 0;
        const tlr_json *arr = tlr_json_get(l, "arrays");
        for (const tlr_json *a = tlr_json_first(arr); a; a = tlr_json_next(a), i++) {
            char sh[160];
            shape_arr_str(tlr_json_get(a, "shape"), sh, sizeof sh);
            if (i)
                tlr_buf_puts(&ab, ", ");
            if (i == 6) {
                tlr_buf_printf(&ab, "... (%zu arrays)", tlr_json_size(arr));
                break;
            }
            tlr_buf_puts(&ab, sh);
        }
        tlr_json_add_string(o, "arrays_str", ab.len ? tlr_buf_cstr(&ab) : "[]");
        tlr_json_add_number(o, "count", (double)tlr_json_size(arr));
        tlr_buf_free(&ab);
    }
    tlr_json *am = tlr_json_add_array(s, "archive_members");
    for (int i = 0; i < f->n_archive_members; i++) {
        tlr_json *o = tlr_json_push_object(am);
        tlr_json_add_string(o, "name", f->archive_members[i]);
        bytes_str((double)f->archive_sizes[i], b, sizeof b);
        tlr_json_add_string(o, "bytes_str", b);
    }
    example_layer(s, f);
}

/* The layer used in Pregunta 1's code sample: the first top-level layer with weights that is
 * not a nested model (conv2d in the course model), with its get_config() essentials. */
static void example_layer(tlr_json *s, const tlr_kfile *f)
{
    if (!f->model)
        return;
    const tlr_layer *ex = NULL;
    for (int k = 0; k < f->model->n_order && !ex; k++) {
        const tlr_layer *l = &f->model->layers[f->model->order[k]];
        if (l->op != TLR_OP_MODEL && l->n_weights > 0)
            ex = l;
    }
    if (!ex)
        return;
    tlr_json *e = tlr_json_add_object(s, "example");
    tlr_json_add_string(e, "layer", ex->name);
    tlr_json_add_string(e, "class", ex->class_name);
    tlr_json_add_number(e, "count", ex->n_weights);
    tlr_buf ab = TLR_BUF_INIT, cb = TLR_BUF_INIT;
    for (int i = 0; i < ex->n_weights; i++) {
        char sh[160];
        dims_str(ex->weights[i].ndim, ex->weights[i].shape, sh, sizeof sh);
        tlr_buf_printf(&ab, "%s%s", i ? ", " : "", sh);
    }
    tlr_json_add_string(e, "arrays_str", tlr_buf_cstr(&ab));
    /* a few get_config() entries, as Python prints a dict */
    static const char *const keys[] = { "name", "trainable", "filters", "kernel_size", "strides",
                                        "padding", "activation", "units", "use_bias" };
    tlr_buf_putc(&cb, '{');
    int n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const tlr_json *v = tlr_json_get(ex->config, keys[i]);
        if (!v)
            continue;
        char *txt = tlr_json_is_bool(v) ? tlr_xstrdup(tlr_json_is_true(v) ? "True" : "False")
                  : tlr_json_is_string(v) ? tlr_xasprintf("'%s'", tlr_json_string(v, ""))
                  : tlr_json_print(v, 0);
        for (char *c = txt; *c; c++)
            if (*c == '[')
                *c = '(';
            else if (*c == ']')
                *c = ')';
        tlr_buf_printf(&cb, "%s'%s': %s", n++ ? ",\n " : "", keys[i], txt);
        free(txt);
    }
    tlr_buf_puts(&cb, ", ...}");
    tlr_json_add_string(e, "config_code", tlr_buf_cstr(&cb));
    tlr_buf_free(&ab);
    tlr_buf_free(&cb);
}

static void layers_section(tlr_json *d, const tlr_kfile *f)
{
    tlr_json *lj = tlr_inspect_layers(f, 1);
    tlr_json *out = tlr_json_add_object(d, "layers");
    tlr_json_add_number(out, "count", tlr_json_get_number(lj, "count", 0));
    tlr_json *top_rows = tlr_json_add_array(out, "rows");
    tlr_json *rows = tlr_json_add_array(out, "rows_expanded");
    int top = 0, all = 0;
    for (const tlr_json *l = tlr_json_first(tlr_json_get(lj, "layers")); l; l = tlr_json_next(l)) {
        tlr_json *o = tlr_json_push_object(rows);
        char ps[48];
        int depth = (int)tlr_json_get_number(l, "depth", 0);
        tlr_json_add_number(o, "index", tlr_json_get_number(l, "index", 0));
        tlr_json_add_string(o, "name", tlr_json_get_string(l, "name", ""));
        tlr_json_add_string(o, "path", tlr_json_get_string(l, "path", ""));
        tlr_json_add_string(o, "class", tlr_json_get_string(l, "class", ""));
        tlr_json_add_string(o, "output_shape", tlr_json_get_string(l, "output_shape", "?"));
        tlr_format_thousands((int64_t)tlr_json_get_number(l, "params", 0), ps, sizeof ps);
        tlr_json_add_string(o, "params_str", ps);
        tlr_json_add_bool(o, "trainable", tlr_json_get_bool(l, "trainable", 1));
        tlr_json_add_number(o, "depth", depth);
        tlr_json_add_bool(o, "nested", depth > 0);
        if (tlr_json_get(l, "note"))
            tlr_json_add_string(o, "note", tlr_json_get_string(l, "note", ""));
        if (depth == 0)
            tlr_json_add_item(top_rows, NULL, tlr_json_copy(o));
        top += depth == 0;
        all++;
    }
    tlr_json_add_number(out, "count_expanded", all);
    (void)top;
    tlr_json_free(lj);
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

static void summary_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *o,
                            const tlr_summary *s)
{
    tlr_json *out = tlr_json_add_object(d, "summary");
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    tlr_json_add_string(out, "text", tlr_buf_cstr(&b));
    tlr_buf_free(&b);
    tlr_json_add_string(out, "style", tlr_summary_style_name(s->style));
    add_count(out, "total_params", s->total_params);
    add_count(out, "trainable_params", s->trainable_params);
    add_count(out, "non_trainable_params", s->non_trainable_params);
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
    (void)o;
}

/* ---- kernels ------------------------------------------------------------------------------ */

static tlr_status kernels_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *o,
                                  tlr_report_content *c, found_layer *chosen, tlr_err *err)
{
    tlr_json *k = tlr_json_add_object(d, "kernels");
    found_layer fl = { 0 };
    tlr_status st = TLR_OK;
    if (o->kernels_layer) {
        if ((st = resolve_layer(f->model, o->kernels_layer, &fl, err)))
            return st;
        if (!is_conv(fl.layer) || !fl.layer->n_weights || !fl.layer->weights[0].data) {
            free(fl.path);
            return tlr_err_set(err, TLR_E_USAGE, "--kernels: layer '%s' is not a 2-D convolution "
                               "with weights", o->kernels_layer);
        }
    } else if (!default_kernel_layer(f->model, &fl)) {
        tlr_json_add_bool(k, "present", 0);
        return TLR_OK;
    }
    const tlr_weight *w = &fl.layer->weights[0];
    tlr_grid_kernel_opts go = tlr_grid_kernel_defaults();
    go.rows = o->kernel_rows;
    go.cols = o->kernel_cols;
    go.norm = (tlr_grid_norm)o->kernel_norm;
    tlr_grid_layout lay = { 0 };
    tlr_image *img = tlr_grid_kernels(w->data, w->shape[0], w->shape[1], w->shape[2], w->shape[3],
                                      &go, &lay, err);
    if (!img) {
        free(fl.path);
        return err->code;
    }
    char *sl = slug(fl.path);
    char *name = tlr_xasprintf("img/kernels-%s.png", sl);
    st = add_figure(c, name, img, err);
    char sh[160];
    dims_str(w->ndim, w->shape, sh, sizeof sh);
    tlr_json_add_bool(k, "present", 1);
    tlr_json_add_string(k, "layer", fl.path);
    tlr_json_add_string(k, "class", fl.layer->class_name);
    tlr_json_add_string(k, "shape_str", sh);
    tlr_json_add_string(k, "image", name);
    tlr_json_add_number(k, "width", img->w);
    tlr_json_add_number(k, "height", img->h);
    tlr_json_add_number(k, "rows", lay.rows);
    tlr_json_add_number(k, "cols", lay.cols);
    tlr_json_add_number(k, "row_first", 0);
    tlr_json_add_number(k, "row_last", lay.rows - 1);
    tlr_json_add_number(k, "col_first", 0);
    tlr_json_add_number(k, "col_last", lay.cols - 1);
    tlr_json_add_number(k, "filters", (double)w->shape[3]);
    tlr_json_add_number(k, "channels", (double)w->shape[2]);
    tlr_json_add_number(k, "kh", (double)w->shape[0]);
    tlr_json_add_number(k, "kw", (double)w->shape[1]);
    static const char *const norms[] = { "kernel", "layer", "symmetric" };
    tlr_json_add_string(k, "norm", norms[o->kernel_norm % 3]);
    tlr_json_add_bool(k, "norm_kernel", o->kernel_norm == 0);
    tlr_json_add_bool(k, "norm_layer", o->kernel_norm == 1);
    tlr_json_add_bool(k, "norm_symmetric", o->kernel_norm == 2);
    tlr_json_add_number(k, "flat_tiles", lay.flat);
    tlr_json_add_number(k, "nonfinite", (double)lay.nonfinite);
    /* weight statistics over the whole kernel */
    int64_t n = 1;
    for (int i = 0; i < w->ndim; i++)
        n *= w->shape[i];
    double lo = HUGE_VAL, hi = -HUGE_VAL, sum = 0, sq = 0;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)w->data[i];
        if (!isfinite(v))
            continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
        sq += v * v;
        finite++;
    }
    char num[64];
    tlr_json_add_number(k, "min", finite ? lo : 0.0);
    tlr_json_add_number(k, "max", finite ? hi : 0.0);
    snprintf(num, sizeof num, "%.4g", finite ? lo : 0.0);
    tlr_json_add_string(k, "min_str", num);
    snprintf(num, sizeof num, "%.4g", finite ? hi : 0.0);
    tlr_json_add_string(k, "max_str", num);
    double mean = finite ? sum / (double)finite : 0.0;
    snprintf(num, sizeof num, "%.4g", mean);
    tlr_json_add_string(k, "mean_str", num);
    snprintf(num, sizeof num, "%.4g", finite ? sqrt(fmax(sq / (double)finite - mean * mean, 0.0)) : 0.0);
    tlr_json_add_string(k, "std_str", num);
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
    free(name);
    free(sl);
    /* first-layer colour tiles when the first convolution sees RGB */
    found_layer first = { 0 };
    if (!st && find_first(f->model, "", conv_rgb, &first)) {
        const tlr_weight *fw = &first.layer->weights[0];
        tlr_grid_kernel_opts ro = tlr_grid_kernel_defaults();
        ro.rows = 8;
        ro.cols = 16;
        tlr_image *rgb = tlr_grid_kernels_rgb(fw->data, fw->shape[0], fw->shape[1], 3, fw->shape[3],
                                              &ro, NULL, err);
        if (rgb) {
            char *s2 = slug(first.path);
            char *n2 = tlr_xasprintf("img/kernels-rgb-%s.png", s2);
            st = add_figure(c, n2, rgb, err);
            tlr_json_add_string(k, "rgb_image", n2);
            tlr_json_add_string(k, "rgb_layer", first.path);
            tlr_json_add_number(k, "rgb_width", rgb->w);
            tlr_json_add_number(k, "rgb_height", rgb->h);
            free(n2);
            free(s2);
            tlr_image_free(rgb);
        }
        free(first.path);
    }
    *chosen = fl;
    return st;
}

/* ---- feature maps ------------------------------------------------------------------------- */

static int feature_worthy(const tlr_layer *l)
{
    return (l->op == TLR_OP_CONV || l->op == TLR_OP_DEPTHWISE_CONV || l->op == TLR_OP_SEPARABLE_CONV ||
            l->op == TLR_OP_CONV_TRANSPOSE || l->op == TLR_OP_MAXPOOL || l->op == TLR_OP_AVGPOOL) &&
           l->shape_ok;
}

/* Activation (1, ...) of one image to the (H, W, C) the grid wants. */
static float *activation_hwc(const tlr_layer *l, const tlr_tensor *t, int64_t *h, int64_t *w,
                             int64_t *c)
{
    int cf = 0;
    if (l->op == TLR_OP_CONV || l->op == TLR_OP_DEPTHWISE_CONV || l->op == TLR_OP_SEPARABLE_CONV ||
        l->op == TLR_OP_CONV_TRANSPOSE)
        cf = l->cfg.conv.channels_first;
    else if (l->op == TLR_OP_MAXPOOL || l->op == TLR_OP_AVGPOOL)
        cf = l->cfg.pool.channels_first;
    int64_t n = tlr_tensor_numel(t);
    float *out = tlr_xmalloc((size_t)n * sizeof *out);
    if (t->ndim == 4 && cf) {
        *c = t->shape[1], *h = t->shape[2], *w = t->shape[3];
        int perm[4] = { 0, 2, 3, 1 };
        tlr_tensor_transpose(4, t->shape, perm, t->data, out);
        return out;
    }
    memcpy(out, t->data, (size_t)n * sizeof *out);
    if (t->ndim == 4) {
        *h = t->shape[1], *w = t->shape[2], *c = t->shape[3];
    } else if (t->ndim == 3) {
        *h = 1, *w = t->shape[1], *c = t->shape[2];
    } else {
        *h = 1, *w = n / t->shape[0], *c = 1;
    }
    return out;
}

typedef struct {
    const tlr_report_request *o;
    tlr_report_content *c;
    tlr_err *err;
} feat_ctx;

static tlr_status one_feature_grid(feat_ctx *F, const tlr_layer *l, const char *path, int img_i,
                                   const tlr_tensor *act, tlr_json *entry)
{
    int64_t h, w, ch;
    float *hwc = activation_hwc(l, act, &h, &w, &ch);
    tlr_grid_fmap_opts go = tlr_grid_fmap_defaults();
    go.cmap = F->o->cmap_viridis ? TLR_GRID_VIRIDIS : TLR_GRID_GRAY;
    tlr_grid_layout lay = { 0 };
    tlr_image *img = tlr_grid_fmaps(hwc, h, w, ch, &go, &lay, F->err);
    free(hwc);
    if (!img)
        return F->err->code;
    char *sl = slug(path);
    char *name = tlr_xasprintf("img/features-%d-%s.png", img_i, sl);
    tlr_status st = add_figure(F->c, name, img, F->err);
    tlr_json_add_string(entry, "grid", name);
    tlr_json_add_number(entry, "width", img->w);
    tlr_json_add_number(entry, "height", img->h);
    int shown = ch < go.max_channels ? (int)ch : go.max_channels;
    tlr_json_add_number(entry, "channels_shown", shown);
    tlr_json_add_number(entry, "channels", (double)ch);
    tlr_json_add_number(entry, "dead", lay.flat);
    tlr_json_add_number(entry, "per_row", go.per_row);
    tlr_json_add_number(entry, "map_height", (double)h);
    tlr_json_add_number(entry, "map_width", (double)w);
    free(name);
    free(sl);
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
    return st;
}


/* The top classes of one image's output y (batch item, 2-D) as the report lists them; a
 * labels file that does not fit the output is an error naming it. */
static tlr_status prediction_entry(tlr_json *images, const char *source, const tlr_tensor *y,
                                   const tlr_strlist *labels, int binary, const tlr_report_request *o,
                                   tlr_err *err)
{
    int64_t n = tlr_tensor_numel(y) / (y->shape[0] ? y->shape[0] : 1);
    if (n < 1 || y->ndim != 2)
        return TLR_OK;
    tlr_status st = tlr_labels_check(labels, n, o->labels_path, err);
    if (st)
        return st;
    tlr_json *e = tlr_json_push_object(images);
    tlr_json_add_string(e, "source", base_name(source));
    int m;
    free(tlr_reportdata_top(tlr_json_add_array(e, "top"), y->data, n, labels, o->top_k, binary,
                            TLR_TOP_REPORT, &m));
    return TLR_OK;
}

/* A layer the forward pass could not compute, once: {layer, class, reason} with the reason
 * as a code the templates word ("lambda", "unknown_class", "recurrent", "embedding",
 * "input", "other"). */
static void add_uncomputed(tlr_json *d, const tlr_skip *sk)
{
    static const char *const codes[] = {
        [TLR_SKIP_LAMBDA] = "lambda", [TLR_SKIP_UNKNOWN_CLASS] = "unknown_class",
        [TLR_SKIP_RECURRENT] = "recurrent", [TLR_SKIP_EMBEDDING] = "embedding",
        [TLR_SKIP_INPUT] = "input", [TLR_SKIP_OTHER] = "other",
    };
    tlr_json *u = tlr_json_get(d, "uncomputed");
    for (const tlr_json *e = tlr_json_first(u); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "layer", ""), sk->path) == 0)
            return;
    tlr_json *o = tlr_json_push_object(u);
    tlr_json_add_string(o, "layer", sk->path);
    tlr_json_add_string(o, "class", sk->class_name);
    tlr_json_add_string(o, "reason", codes[sk->reason]);
    tlr_json_add_string(o, "detail", sk->detail);
    char flag[64];
    snprintf(flag, sizeof flag, "reason_%s", codes[sk->reason]);
    tlr_json_add_bool(o, flag, 1);
}

static void add_warning(tlr_json *d, const char *text)
{
    tlr_json *w = tlr_json_get(d, "warnings");
    for (const tlr_json *e = tlr_json_first(w); e; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "text", ""), text) == 0)
            return;
    tlr_json_add_string(tlr_json_push_object(w), "text", text);
}

/* How many images from 'i0' on have the same input shape (at most 8 per batch). */
static int batch_run(const tlr_input *in, int i0, int n)
{
    int k = 1;
    while (i0 + k < n && k < 8 && in[i0 + k].tensor->ndim == in[i0].tensor->ndim &&
           memcmp(in[i0 + k].tensor->shape, in[i0].tensor->shape,
                  (size_t)in[i0].tensor->ndim * sizeof(int64_t)) == 0)
        k++;
    return k;
}

/* The inputs (each batch 1, one shape) stacked into one batch. */
static tlr_tensor *batch_of(const tlr_input *in, int n)
{
    int64_t shape[TLR_MAX_DIMS];
    memcpy(shape, in[0].tensor->shape, sizeof shape);
    shape[0] = n;
    tlr_tensor *t = tlr_tensor_new(in[0].tensor->ndim, shape);
    int64_t per = tlr_tensor_numel(in[0].tensor);
    for (int i = 0; i < n; i++)
        memcpy(t->data + i * per, in[i].tensor->data, (size_t)per * sizeof(float));
    return t;
}

/* Item 'b' of a batch tensor, as a batch-1 view (borrowed data). */
static tlr_tensor batch_item(const tlr_tensor *t, int b)
{
    tlr_tensor v = *t;
    v.shape[0] = 1;
    v.data = t->data + (int64_t)b * (tlr_tensor_numel(t) / t->shape[0]);
    return v;
}

/* Figures and predictions of image 'i', item 'b' of the batch result 'r'. */
static tlr_status image_results(tlr_json *d, const tlr_kfile *f, const tlr_report_request *o,
                                feat_ctx *F, const tlr_input *in, int i, int b,
                                const tlr_forward_result *r, const tlr_strlist *paths,
                                tlr_json **lay_json, const tlr_strlist *labels, tlr_json *pimgs,
                                tlr_json *pr, tlr_report_content *c, tlr_err *err)
{
    (void)d;
    tlr_status st = TLR_OK;
    char *input_name = NULL;
    if (in->seen) {
        input_name = tlr_xasprintf("img/input-%d.png", i + 1);
        st = add_figure(c, input_name, in->seen, err);
    }
    for (size_t k = 0; k < paths->n && !st; k++) {
        if (!r->captured[k])
            continue;
        tlr_json *e = tlr_json_push_object(tlr_json_get(lay_json[k], "images"));
        tlr_json_add_string(e, "source", base_name(in->source));
        if (input_name)
            tlr_json_add_string(e, "input_image", input_name);
        const tlr_model *owner;
        int idx;
        tlr_model_resolve(f->model, paths->items[k], &owner, &idx);
        tlr_tensor act = batch_item(r->captured[k], b);
        char sh[160];
        dims_str(act.ndim, act.shape, sh, sizeof sh);
        if (!tlr_json_get(lay_json[k], "shape_str"))
            tlr_json_add_string(lay_json[k], "shape_str", sh);
        st = one_feature_grid(F, &owner->layers[idx], paths->items[k], i + 1, &act, e);
    }
    if (r->n_outputs && r->outputs[0]) {
        tlr_tensor y = batch_item(r->outputs[0], b);
        int single = tlr_tensor_numel(&y) == 1;
        int binary = single && tlr_model_output_activation(f->model) == TLR_ACT_SIGMOID;
        if (!st)
            st = prediction_entry(pimgs, in->source, &y, labels, binary, o, err);
        tlr_json_set_bool(pr, !single ? "many_classes" : binary ? "sigmoid" : "single_value", 1);
    }
    free(input_name);
    return st;
}

static tlr_status features_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *o,
                                   const tlr_input *inputs, int n_inputs,
                                   const found_layer *kern_layer, tlr_report_content *c,
                                   FILE *log, tlr_err *err)
{
    tlr_json *fe = tlr_json_add_object(d, "features");
    tlr_json *pr = tlr_json_add_object(d, "predictions");
    tlr_json *pimgs = tlr_json_add_array(pr, "images");
    tlr_strlist paths = TLR_STRLIST_INIT;
    tlr_status st = TLR_OK;
    if (o->features_layer && strcmp(o->features_layer, "all") == 0) {
        tlr_model_leaf_paths(f->model, feature_worthy, &paths);
    } else if (o->features_layer) {
        found_layer fl;
        if ((st = resolve_layer(f->model, o->features_layer, &fl, err)))
            return st;
        tlr_strlist_push(&paths, fl.path);
        free(fl.path);
    } else if (kern_layer->path) {
        tlr_strlist_push(&paths, kern_layer->path);
    } else {
        tlr_model_leaf_paths(f->model, feature_worthy, &paths);
        while (paths.n > 1)
            free(paths.items[--paths.n]);
    }
    int n_img = n_inputs < o->max_images ? n_inputs : o->max_images;
    tlr_json_add_bool(fe, "present", paths.n > 0 && n_img > 0);
    tlr_json_add_number(fe, "image_count", n_img);
    tlr_json_add_string(fe, "cmap", o->cmap_viridis ? "viridis" : "gray");
    /* the first layer's images at top level; further layers (--features all) in extra_layers */
    tlr_json **lay_json = tlr_xcalloc(paths.n + 1, sizeof *lay_json);
    tlr_json *extra = tlr_json_add_array(fe, "extra_layers");
    for (size_t k = 0; k < paths.n; k++) {
        lay_json[k] = k == 0 ? fe : tlr_json_push_object(extra);
        tlr_json_add_string(lay_json[k], "layer", paths.items[k]);
        const tlr_model *owner;
        int idx;
        tlr_model_resolve(f->model, paths.items[k], &owner, &idx);
        tlr_json_add_string(lay_json[k], "class", owner->layers[idx].class_name);
        tlr_json_add_array(lay_json[k], "images");
    }
    tlr_strlist labels = TLR_STRLIST_INIT;
    int64_t n_out = tlr_shape_output_size(f->model, 0);
    if (o->labels_path && (st = tlr_labels_load(o->labels_path, n_out, &labels, err))) {
        free(lay_json);
        tlr_strlist_free(&paths);
        return st;
    }
    tlr_forward_opts fo = { o->max_memory, 0 };
    feat_ctx F = { o, c, err };
    /* Images of one size run together: the pass is cheaper per image in a batch. */
    for (int i0 = 0; i0 < n_img && !st;) {
        int nb = batch_run(inputs, i0, n_img);
        if (o->progress && log)
            fprintf(log, "tlreport: images %d-%d of %d\n", i0 + 1, i0 + nb, n_img);
        tlr_tensor *batch = batch_of(inputs + i0, nb);
        const tlr_tensor *x = batch;
        tlr_forward_result r;
        st = tlr_forward_run(f->model, &x, 1, (const char *const *)paths.items, (int)paths.n, 1,
                             &fo, &r, err);
        tlr_tensor_free(batch);
        if (st)
            break;
        for (int s = 0; s < r.n_skipped; s++)
            add_uncomputed(d, &r.skips[s]);
        for (int b = 0; b < nb && !st; b++)
            st = image_results(d, f, o, &F, &inputs[i0 + b], i0 + b, b, &r, &paths, lay_json, &labels,
                               pimgs, pr, c, err);
        tlr_forward_result_free(&r);
        i0 += nb;
    }
    const tlr_json *first_img = tlr_json_first(tlr_json_get(fe, "images"));
    if (first_img) {
        tlr_json_add_number(fe, "channels_shown", tlr_json_get_number(first_img, "channels_shown", 0));
        tlr_json_add_number(fe, "channels", tlr_json_get_number(first_img, "channels", 0));
        tlr_json_add_number(fe, "per_row", tlr_json_get_number(first_img, "per_row", 0));
    } else {
        tlr_json_set_bool(fe, "present", 0);
    }
    if (o->labels_path && labels.n)
        tlr_json_add_string(pr, "labels_file", base_name(o->labels_path));
    tlr_json_add_bool(pr, "present", tlr_json_size(pimgs) > 0);
    tlr_json_add_bool(pr, "has_labels", labels.n > 0);
    free(lay_json);
    tlr_strlist_free(&labels);
    tlr_strlist_free(&paths);
    return st;
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

tlr_status tlr_reportdata_build(tlr_kfile *f, const tlr_report_request *o, const tlr_input *inputs,
                                int n_inputs, const tlr_input_opts *io,
                                const tlr_strlist *input_notes, FILE *log,
                                tlr_report_content *out, tlr_err *err)
{
    memset(out, 0, sizeof *out);
    tlr_json *d = tlr_json_new_object();
    out->data = d;
    const char *base = base_name(f->path);
    char *title = o->title ? tlr_xstrdup(o->title) : tlr_xasprintf("%s", base);
    tlr_json_add_string(d, "title", title);
    free(title);
    if (o->author)
        tlr_json_add_string(d, "author", o->author);
    if (o->date)
        tlr_json_add_string(d, "date", o->date);
    tlr_json_add_string(d, "lang", o->lang);
    tlr_json_add_string(d, "tlreport_version", TLR_VERSION);
    tlr_json_add_array(d, "warnings");
    for (size_t i = 0; input_notes && i < input_notes->n; i++)
        add_warning(d, input_notes->items[i]);
    tlr_json_add_array(d, "uncomputed");
    tlr_json_add_array(d, "lambdas");
    tlr_json_add_array(d, "unknown_shapes");
    tlr_json *storage = tlr_inspect_storage(f, err);
    if (!storage)
        return err->code;
    tlr_status st = TLR_OK;
    if (f->model) {
        tlr_summary *s = tlr_inspect_summary(f, o->summary_style, 0, 0);
        model_section(d, f, s);
        summary_section(d, f, o, s);
        tlr_inspect_summary_free(s);
        layers_section(d, f);
        /* the expanded summary table comes from the layer rows */
        tlr_json_add_item(tlr_json_get(d, "summary"), "rows",
                          tlr_json_copy(tlr_json_get(tlr_json_get(d, "layers"), "rows_expanded")));
    }
    storage_section(d, f, storage);
    tlr_json_free(storage);
    if (!f->model) {
        tlr_json_add_object(d, "kernels");
        tlr_json_add_object(d, "features");
        tlr_json_add_object(d, "predictions");
        return TLR_OK;
    }
    for (int i = 0; i < f->model->n_layers; i++)
        if (!f->model->layers[i].shape_ok) {
            tlr_json *u = tlr_json_push_object(tlr_json_get(d, "unknown_shapes"));
            tlr_json_add_string(u, "layer", f->model->layers[i].name);
            tlr_json_add_string(u, "class", f->model->layers[i].class_name);
        }
    note_lambdas(d, f->model, "");
    found_layer kl = { 0 };
    if (o->progress && log)
        fprintf(log, "tlreport: kernels\n");
    st = kernels_section(d, f, o, out, &kl, err);
    if (!st)
        st = features_section(d, f, o, inputs, n_inputs, &kl, out, log, err);
    free(kl.path);
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
    tlr_json_add_bool(d, "has_warnings", tlr_json_size(tlr_json_get(d, "warnings")) > 0);
    if (!st)
        st = encode_figures(out, err);
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
