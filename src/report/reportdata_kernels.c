/* reportdata_kernels.c - which convolution the report draws, and its kernel grid (Pregunta 4)
 * with the first layer's colour tiles. */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/grid.h"

/* ---- choosing layers ------------------------------------------------------------------------ */

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
                      tlr_rd_layer *out)
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
static int nested_block2_conv2(const tlr_model *m, tlr_rd_layer *out)
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
static int default_kernel_layer(const tlr_model *m, tlr_rd_layer *out)
{
    return nested_block2_conv2(m, out) || find_first(m, "", conv_multi_channel, out);
}

tlr_status tlr_rd_resolve_layer(const tlr_model *m, const char *path, tlr_rd_layer *out,
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

tlr_status tlr_rd_choose_kernel_layer(const tlr_model *m, const char *asked, tlr_rd_layer *out,
                                      tlr_err *err)
{
    if (!asked) {
        default_kernel_layer(m, out);
        return TLR_OK;
    }
    tlr_status st = tlr_rd_resolve_layer(m, asked, out, err);
    if (st)
        return st;
    if (!is_conv(out->layer) || !out->layer->n_weights || !out->layer->weights[0].data) {
        free(out->path);
        out->path = NULL;
        return tlr_err_set(err, TLR_E_USAGE, "--kernels: layer '%s' is not a 2-D convolution "
                           "with weights", asked);
    }
    return TLR_OK;
}

/* ---- the kernels section -------------------------------------------------------------------- */

/* The grid's geometry and normalisation, for the text around the picture. */
static void grid_facts(tlr_json *k, const tlr_weight *w, const tlr_grid_layout *lay,
                       int kernel_norm)
{
    tlr_json_add_number(k, "rows", lay->rows);
    tlr_json_add_number(k, "cols", lay->cols);
    tlr_json_add_number(k, "row_first", 0);
    tlr_json_add_number(k, "row_last", lay->rows - 1);
    tlr_json_add_number(k, "col_first", 0);
    tlr_json_add_number(k, "col_last", lay->cols - 1);
    tlr_json_add_number(k, "filters", (double)w->shape[3]);
    tlr_json_add_number(k, "channels", (double)w->shape[2]);
    tlr_json_add_number(k, "kh", (double)w->shape[0]);
    tlr_json_add_number(k, "kw", (double)w->shape[1]);
    static const char *const norms[] = { "kernel", "layer", "symmetric" };
    tlr_json_add_string(k, "norm", norms[kernel_norm % 3]);
    tlr_json_add_bool(k, "norm_kernel", kernel_norm == 0);
    tlr_json_add_bool(k, "norm_layer", kernel_norm == 1);
    tlr_json_add_bool(k, "norm_symmetric", kernel_norm == 2);
    tlr_json_add_number(k, "flat_tiles", lay->flat);
    tlr_json_add_number(k, "nonfinite", (double)lay->nonfinite);
}

/* Minimum, maximum, mean and standard deviation over the finite weights of the kernel. */
static void weight_stats(tlr_json *k, const tlr_weight *w)
{
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
}

/* The grid of filters x input channels of the chosen layer, as a figure. */
static tlr_status kernel_grid(tlr_json *k, const tlr_rd_layer *fl, const tlr_report_request *rq,
                              tlr_report_content *c, tlr_err *err)
{
    const tlr_weight *w = &fl->layer->weights[0];
    tlr_grid_kernel_opts go = tlr_grid_kernel_defaults();
    go.rows = rq->kernel_rows;
    go.cols = rq->kernel_cols;
    go.norm = (tlr_grid_norm)rq->kernel_norm;
    tlr_grid_layout lay = { 0 };
    tlr_image *img = tlr_grid_kernels(w->data, w->shape[0], w->shape[1], w->shape[2], w->shape[3],
                                      &go, &lay, err);
    if (!img)
        return err->code;
    char *sl = tlr_rd_slug(fl->path);
    char *name = tlr_xasprintf("img/kernels-%s.png", sl);
    tlr_status st = tlr_rd_add_figure(c, name, img, err);
    char sh[160];
    tlr_rd_dims_str(w->ndim, w->shape, sh, sizeof sh);
    tlr_json_add_bool(k, "present", 1);
    tlr_json_add_string(k, "layer", fl->path);
    tlr_json_add_string(k, "class", fl->layer->class_name);
    tlr_json_add_string(k, "shape_str", sh);
    tlr_json_add_string(k, "image", name);
    tlr_json_add_number(k, "width", img->w);
    tlr_json_add_number(k, "height", img->h);
    grid_facts(k, w, &lay, rq->kernel_norm);
    weight_stats(k, w);
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
    free(name);
    free(sl);
    return st;
}

/* Colour tiles of the first convolution that sees RGB, when there is one.  They are an extra:
 * when they cannot be drawn the report says so among its warnings and goes on. */
static tlr_status rgb_tiles(tlr_json *d, tlr_json *k, const tlr_model *m, tlr_report_content *c,
                            tlr_err *err)
{
    tlr_rd_layer first = { 0 };
    if (!find_first(m, "", conv_rgb, &first))
        return TLR_OK;
    const tlr_weight *fw = &first.layer->weights[0];
    tlr_grid_kernel_opts ro = tlr_grid_kernel_defaults();
    ro.rows = 8;
    ro.cols = 16;
    tlr_err e = { 0 };
    tlr_status st = TLR_OK;
    tlr_image *rgb = tlr_grid_kernels_rgb(fw->data, fw->shape[0], fw->shape[1], 3, fw->shape[3],
                                          &ro, NULL, &e);
    if (rgb) {
        char *sl = tlr_rd_slug(first.path);
        char *name = tlr_xasprintf("img/kernels-rgb-%s.png", sl);
        st = tlr_rd_add_figure(c, name, rgb, err);
        tlr_json_add_string(k, "rgb_image", name);
        tlr_json_add_string(k, "rgb_layer", first.path);
        tlr_json_add_number(k, "rgb_width", rgb->w);
        tlr_json_add_number(k, "rgb_height", rgb->h);
        free(name);
        free(sl);
        tlr_image_free(rgb);
    } else {
        char *text = tlr_xasprintf("%s: colour kernel tiles not drawn: %s", first.path, e.msg);
        tlr_rd_add_warning(d, text);
        free(text);
    }
    free(first.path);
    return st;
}

tlr_status tlr_rd_kernels_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  tlr_report_content *c, tlr_rd_layer *chosen, tlr_err *err)
{
    tlr_json *k = tlr_json_add_object(d, "kernels");
    tlr_rd_layer fl = { 0 };
    tlr_status st = tlr_rd_choose_kernel_layer(f->model, rq->kernels_layer, &fl, err);
    if (st)
        return st;
    if (!fl.path) {
        tlr_json_add_bool(k, "present", 0);
        return TLR_OK;
    }
    st = kernel_grid(k, &fl, rq, c, err);
    if (st) {
        free(fl.path);
        return st;
    }
    *chosen = fl;
    return rgb_tiles(d, k, f->model, c, err);
}
