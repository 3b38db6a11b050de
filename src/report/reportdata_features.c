/* reportdata_features.c - the forward pass over the sample images: feature-map grids
 * (Pregunta 5), predictions and the layers that could not be computed. */
#include "report/reportdata_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "io/labels.h"
#include "keras/shape.h"
#include "report/grid.h"

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

/* What every image's results go into. */
typedef struct {
    const tlr_kfile *f;
    const tlr_report_request *rq;
    tlr_report_content *c;
    tlr_err *err;
    tlr_json *d;               /* the whole document (for "uncomputed") */
    tlr_json *pr;              /* d.predictions */
    tlr_json *pimgs;           /* d.predictions.images */
    const tlr_strlist *paths;  /* layers drawn */
    tlr_json **lay_json;       /* per path: the object its images go into */
    const tlr_strlist *labels;
    tlr_rd_cam_runs *cam;      /* the Grad-CAM passes, kept for the Grad-CAM section */
    int layerwise;             /* the forward pass gives the reverse pass's values exactly */
} feat_ctx;

static tlr_status one_feature_grid(const feat_ctx *F, const tlr_layer *l, const char *path, int img_i,
                                   const tlr_tensor *act, tlr_json *entry, tlr_json *lay_obj)
{
    int64_t h, w, ch;
    float *hwc = activation_hwc(l, act, &h, &w, &ch);
    tlr_rd_dead_filters_note(lay_obj, hwc, h, w, ch);
    tlr_grid_fmap_opts go = tlr_grid_fmap_defaults();
    go.cmap = F->rq->cmap_viridis ? TLR_GRID_VIRIDIS : TLR_GRID_GRAY;
    tlr_grid_layout lay = { 0 };
    tlr_image *img = tlr_grid_fmaps(hwc, h, w, ch, &go, &lay, F->err);
    free(hwc);
    if (!img)
        return F->err->code;
    char *sl = tlr_rd_slug(path);
    char *name = tlr_xasprintf("img/features-%d-%s.png", img_i, sl);
    tlr_status st = tlr_rd_add_figure(F->c, name, img, F->err);
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
                                   const tlr_strlist *labels, int binary, const tlr_report_request *rq,
                                   tlr_err *err)
{
    int64_t n = tlr_tensor_numel(y) / (y->shape[0] ? y->shape[0] : 1);
    if (n < 1 || y->ndim != 2)
        return TLR_OK;
    tlr_status st = tlr_labels_check(labels, n, rq->labels_path, err);
    if (st)
        return st;
    tlr_json *e = tlr_json_push_object(images);
    tlr_json_add_string(e, "source", tlr_rd_base_name(source));
    int m;
    free(tlr_reportdata_top(tlr_json_add_array(e, "top"), y->data, n, labels, rq->top_k, binary,
                            TLR_TOP_REPORT, &m));
    return TLR_OK;
}

/* A layer the forward pass could not compute, once: {layer, class, reason} with the reason
 * as a code the templates word ("lambda", "unknown_class", "recurrent", "embedding",
 * "input", "other"); a layer whose weights do not bind is in d.unbound instead. */
static void add_uncomputed(tlr_json *d, const tlr_skip *sk)
{
    static const char *const codes[] = {
        [TLR_SKIP_LAMBDA] = "lambda", [TLR_SKIP_UNKNOWN_CLASS] = "unknown_class",
        [TLR_SKIP_RECURRENT] = "recurrent", [TLR_SKIP_EMBEDDING] = "embedding",
        [TLR_SKIP_INPUT] = "input", [TLR_SKIP_OTHER] = "other", [TLR_SKIP_WEIGHTS] = "weights",
    };
    if (sk->reason == TLR_SKIP_WEIGHTS)
        return; /* d.unbound lists it, with its parameters */
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

/* How many images from 'i0' on have the same input shape (at most 8 per batch). */
static int batch_run(const tlr_input *in, int i0, int n)
{
    if (in[i0].tensor->shape[0] != 1 || in[i0].n_more)
        return 1; /* an .npy holding several samples, or a sample of several inputs, runs
                     alone; its first is shown */
    int k = 1;
    while (i0 + k < n && k < 8 && in[i0 + k].tensor->ndim == in[i0].tensor->ndim &&
           memcmp(in[i0 + k].tensor->shape, in[i0].tensor->shape,
                  (size_t)in[i0].tensor->ndim * sizeof(int64_t)) == 0)
        k++;
    return k;
}

/* The inputs (each batch 1, one shape) stacked into one batch; a single input as it is. */
static tlr_tensor *batch_of(const tlr_input *in, int n)
{
    if (n == 1)
        return tlr_tensor_clone(in[0].tensor);
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
static tlr_status image_results(const feat_ctx *F, const tlr_input *in, int i, int b,
                                const tlr_forward_result *r)
{
    tlr_status st = TLR_OK;
    char *input_name = NULL;
    if (in->seen) {
        input_name = tlr_xasprintf("img/input-%d.png", i + 1);
        st = tlr_rd_add_figure(F->c, input_name, in->seen, F->err);
    }
    for (size_t k = 0; k < F->paths->n && !st; k++) {
        if (!r->captured[k])
            continue;
        tlr_json *e = tlr_json_push_object(tlr_json_get(F->lay_json[k], "images"));
        tlr_json_add_string(e, "source", tlr_rd_base_name(in->source));
        if (input_name)
            tlr_json_add_string(e, "input_image", input_name);
        const tlr_model *owner;
        int idx;
        tlr_model_resolve(F->f->model, F->paths->items[k], &owner, &idx);
        tlr_tensor act = batch_item(r->captured[k], b);
        char sh[160];
        tlr_rd_dims_str(act.ndim, act.shape, sh, sizeof sh);
        if (!tlr_json_get(F->lay_json[k], "shape_str"))
            tlr_json_add_string(F->lay_json[k], "shape_str", sh);
        st = one_feature_grid(F, &owner->layers[idx], F->paths->items[k], i + 1, &act, e,
                              F->lay_json[k]);
    }
    if (r->n_outputs && r->outputs[0]) {
        tlr_tensor y = batch_item(r->outputs[0], b);
        int single = tlr_tensor_numel(&y) == 1;
        int binary = single && tlr_model_output_activation(F->f->model) == TLR_ACT_SIGMOID;
        if (!st)
            st = prediction_entry(F->pimgs, in->source, &y, F->labels, binary, F->rq, F->err);
        tlr_json_set_bool(F->pr, !single ? "many_classes" : binary ? "sigmoid" : "single_value", 1);
    }
    free(input_name);
    return st;
}

/* The layers whose maps are drawn: --features LAYER or all, else the kernels layer, else the
 * first layer worth drawing. */
static tlr_status feature_paths(const tlr_model *m, const tlr_report_request *rq,
                                const tlr_rd_layer *kern_layer, tlr_strlist *paths, tlr_err *err)
{
    if (rq->features_layer && strcmp(rq->features_layer, "all") == 0) {
        tlr_model_leaf_paths(m, feature_worthy, paths);
    } else if (rq->features_layer) {
        tlr_rd_layer fl;
        tlr_status st = tlr_rd_resolve_layer(m, rq->features_layer, &fl, err);
        if (st)
            return st;
        tlr_strlist_push(paths, fl.path);
        free(fl.path);
    } else if (kern_layer->path) {
        tlr_strlist_push(paths, kern_layer->path);
    } else {
        tlr_model_leaf_paths(m, feature_worthy, paths);
        while (paths->n > 1)
            free(paths->items[--paths->n]);
    }
    return TLR_OK;
}

tlr_status tlr_reportdata_feature_layer(const tlr_model *m, const tlr_report_request *rq,
                                        char **path, tlr_err *err)
{
    tlr_rd_layer kl = { 0 };
    *path = NULL;
    tlr_status st = tlr_rd_choose_kernel_layer(m, rq->kernels_layer, &kl, err);
    tlr_strlist paths = TLR_STRLIST_INIT;
    if (!st)
        st = feature_paths(m, rq, &kl, &paths, err);
    if (!st && paths.n)
        *path = tlr_xstrdup(paths.items[0]);
    tlr_strlist_free(&paths);
    free(kl.path);
    return st;
}

/* Per layer, the object its images go into: the first layer's at top level, further layers
 * (--features all) in extra_layers.  Free the array. */
static tlr_json **layer_objects(tlr_json *fe, const tlr_model *m, const tlr_strlist *paths)
{
    tlr_json **lay_json = tlr_xcalloc(paths->n + 1, sizeof *lay_json);
    tlr_json *extra = tlr_json_add_array(fe, "extra_layers");
    for (size_t k = 0; k < paths->n; k++) {
        lay_json[k] = k == 0 ? fe : tlr_json_push_object(extra);
        tlr_json_add_string(lay_json[k], "layer", paths->items[k]);
        const tlr_model *owner;
        int idx;
        tlr_model_resolve(m, paths->items[k], &owner, &idx);
        tlr_json_add_string(lay_json[k], "class", owner->layers[idx].class_name);
        tlr_json_add_array(lay_json[k], "images");
    }
    return lay_json;
}

/* The Grad-CAM section's pass over the batch, which gives what the forward pass would
 * (captures, the output) as well: one pass instead of two.  Only where the forward pass runs
 * layer by layer too (tlr_forward_layerwise): folded layers round differently in the last
 * bit.  0 when it does not apply or does not go through (the Grad-CAM section then runs,
 * and explains, on its own). */
static int cam_pass(const feat_ctx *F, const tlr_tensor *batch, tlr_grad_result *g)
{
    if (!F->cam || !F->cam->layer || !F->layerwise)
        return 0;
    tlr_grad_request gq = F->cam->rq;
    gq.capture = (const char *const *)F->paths->items;
    gq.n_capture = (int)F->paths->n;
    gq.want_output = 1;
    tlr_forward_opts fo = { F->rq->max_memory, 0 };
    tlr_err quiet = { 0 };
    if (tlr_grad_run(F->f->model, batch, &gq, &fo, NULL, g, &quiet))
        return 0;
    if (g->fwd.n_skipped == 0 && g->value->ndim == 4)
        return 1;
    tlr_grad_result_free(g);
    return 0;
}

/* Keeps a Grad-CAM pass for the Grad-CAM section, without what only the features needed. */
static void keep_cam(tlr_rd_cam_runs *cam, int i0, int n, tlr_grad_result *g)
{
    tlr_forward_result_free(&g->fwd);
    cam->runs = tlr_xrealloc(cam->runs, (size_t)(cam->n_runs + 1) * sizeof *cam->runs);
    cam->runs[cam->n_runs++] = (tlr_rd_cam_run){ i0, n, *g };
}

/* Images of one size run together: the pass is cheaper per image in a batch. */
static tlr_status run_images(const feat_ctx *F, const tlr_input *inputs, int n_img, FILE *log)
{
    tlr_forward_opts fo = { F->rq->max_memory, 0 };
    tlr_status st = TLR_OK;
    for (int i0 = 0; i0 < n_img && !st;) {
        int nb = batch_run(inputs, i0, n_img);
        if (F->rq->progress && log)
            fprintf(log, "tlreport: images %d-%d of %d\n", i0 + 1, i0 + nb, n_img);
        tlr_tensor *batch = batch_of(inputs + i0, nb);
        const tlr_tensor *x[TLR_MAX_INPUTS];
        int nx = tlr_input_tensors(&inputs[i0], x, TLR_MAX_INPUTS);
        x[0] = batch;
        tlr_grad_result g;
        tlr_forward_result plain;
        int shared = nx == 1 && cam_pass(F, batch, &g);
        if (!shared)
            st = tlr_forward_run(F->f->model, x, nx, (const char *const *)F->paths->items,
                                 (int)F->paths->n, 1, &fo, &plain, F->err);
        tlr_tensor_free(batch);
        if (st)
            break;
        const tlr_forward_result *r = shared ? &g.fwd : &plain;
        for (int s = 0; s < r->n_skipped; s++)
            add_uncomputed(F->d, &r->skips[s]);
        for (int b = 0; b < nb && !st; b++)
            st = image_results(F, &inputs[i0 + b], i0 + b, b, r);
        if (shared)
            keep_cam(F->cam, i0, nb, &g);
        else
            tlr_forward_result_free(&plain);
        i0 += nb;
    }
    return st;
}

/* The grid layout of the first image, for the text; no image means no feature section. */
static void features_summary(tlr_json *fe)
{
    const tlr_json *first_img = tlr_json_first(tlr_json_get(fe, "images"));
    if (first_img) {
        tlr_json_add_number(fe, "channels_shown", tlr_json_get_number(first_img, "channels_shown", 0));
        tlr_json_add_number(fe, "channels", tlr_json_get_number(first_img, "channels", 0));
        tlr_json_add_number(fe, "per_row", tlr_json_get_number(first_img, "per_row", 0));
    } else {
        tlr_json_set_bool(fe, "present", 0);
    }
}

tlr_status tlr_rd_features_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                   const tlr_input *inputs, int n_inputs,
                                   const tlr_rd_layer *kern_layer, tlr_report_content *c,
                                   tlr_rd_cam_runs *cam, FILE *log, tlr_err *err)
{
    tlr_json *fe = tlr_json_add_object(d, "features");
    tlr_json *pr = tlr_json_add_object(d, "predictions");
    tlr_json *pimgs = tlr_json_add_array(pr, "images");
    tlr_strlist paths = TLR_STRLIST_INIT;
    tlr_status st = feature_paths(f->model, rq, kern_layer, &paths, err);
    if (st)
        return st;
    int n_img = n_inputs < rq->max_images ? n_inputs : rq->max_images;
    tlr_json_add_bool(fe, "present", paths.n > 0 && n_img > 0);
    tlr_json_add_number(fe, "image_count", n_img);
    tlr_json_add_string(fe, "cmap", rq->cmap_viridis ? "viridis" : "gray");
    tlr_json **lay_json = layer_objects(fe, f->model, &paths);
    tlr_strlist labels = TLR_STRLIST_INIT;
    int64_t n_out = tlr_shape_output_size(f->model, 0);
    if (rq->labels_path)
        st = tlr_labels_load(rq->labels_path, n_out, &labels, err);
    if (!st) {
        feat_ctx F = { f, rq, c, err, d, pr, pimgs, &paths, lay_json, &labels, cam,
                       cam && cam->layer && tlr_forward_layerwise(f->model) };
        st = run_images(&F, inputs, n_img, log);
        features_summary(fe);
        if (rq->labels_path && labels.n)
            tlr_json_add_string(pr, "labels_file", tlr_rd_base_name(rq->labels_path));
        tlr_json_add_bool(pr, "present", tlr_json_size(pimgs) > 0);
        tlr_json_add_bool(pr, "has_labels", labels.n > 0);
    }
    free(lay_json);
    tlr_strlist_free(&labels);
    tlr_strlist_free(&paths);
    return st;
}
