/* reportdata_gradcam.c - "Where does the network look?": a Grad-CAM heatmap for each sample
 * image, for its predicted class, upsampled and blended over the image; and the facts the
 * text and its tf.keras code need (the layer, the score, the final activation left out). */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/ops.h"
#include "engine/reverse.h"
#include "io/labels.h"
#include "keras/shape.h"

/* ---- the layer ------------------------------------------------------------------------------ */

/* A 2-D channels-last convolution whose map (for the model's own input size) is at least
 * 3 x 3: coarser maps make a heatmap of a few blocks. */
static int gradcam_worthy(const tlr_layer *l)
{
    if ((l->op != TLR_OP_CONV && l->op != TLR_OP_DEPTHWISE_CONV &&
         l->op != TLR_OP_SEPARABLE_CONV) || l->cfg.conv.rank != 2 ||
        l->cfg.conv.channels_first || !l->shape_ok || l->n_calls < 1)
        return 0;
    const tlr_shape *s = &l->calls[0].out[0];
    return s->ndim == 4 && (s->d[1] < 0 || s->d[1] >= 3) && (s->d[2] < 0 || s->d[2] >= 3);
}

/* --gradcam LAYER, else the last convolution worth it in execution order (NULL: none). */
static tlr_status choose_layer(const tlr_model *m, const char *asked, char **path, tlr_err *err)
{
    *path = NULL;
    if (asked) {
        const tlr_model *owner;
        int idx;
        if (tlr_model_resolve(m, asked, &owner, &idx))
            return tlr_err_set(err, TLR_E_USAGE, "--gradcam: no layer '%s' in the model (see "
                               "--layers --expand-nested)", asked);
        *path = tlr_xstrdup(asked);
        return TLR_OK;
    }
    tlr_strlist all = TLR_STRLIST_INIT;
    tlr_model_leaf_paths(m, gradcam_worthy, &all);
    if (all.n)
        *path = tlr_xstrdup(all.items[all.n - 1]);
    tlr_strlist_free(&all);
    return TLR_OK;
}

/* layer, layer_name, parent of a path, for the text and the code. */
static void add_path(tlr_json *o, const char *prefix, const char *path)
{
    char key[64];
    const char *slash = strrchr(path, '/');
    snprintf(key, sizeof key, "%s", prefix);
    tlr_json_add_string(o, key, path);
    snprintf(key, sizeof key, "%s_name", prefix);
    tlr_json_add_string(o, key, slash ? slash + 1 : path);
    snprintf(key, sizeof key, "%s_parent", prefix);
    char *parent = tlr_xstrdup(path);
    parent[slash ? slash - path : 0] = '\0';
    tlr_json_add_string(o, key, parent);
    free(parent);
}

/* ---- the picture ---------------------------------------------------------------------------- */

/* matplotlib's "jet" colormap, from its segment data, at v in [0, 1]. */
static float jet_channel(const float (*pts)[2], int n, float v)
{
    for (int i = 1; i < n; i++)
        if (v <= pts[i][0]) {
            float t = (v - pts[i - 1][0]) / (pts[i][0] - pts[i - 1][0]);
            return pts[i - 1][1] + t * (pts[i][1] - pts[i - 1][1]);
        }
    return pts[n - 1][1];
}

static void jet(float v, float rgb[3])
{
    static const float r[][2] = { { 0, 0 }, { 0.35f, 0 }, { 0.66f, 1 }, { 0.89f, 1 }, { 1, 0.5f } };
    static const float g[][2] = { { 0, 0 }, { 0.125f, 0 }, { 0.375f, 1 }, { 0.64f, 1 },
                                  { 0.91f, 0 }, { 1, 0 } };
    static const float b[][2] = { { 0, 0.5f }, { 0.11f, 1 }, { 0.34f, 1 }, { 0.65f, 0 }, { 1, 0 } };
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    rgb[0] = jet_channel(r, 5, v);
    rgb[1] = jet_channel(g, 6, v);
    rgb[2] = jet_channel(b, 5, v);
}

#define BLEND 0.4f /* the heatmap's share of each pixel */

/* The heatmap (h, w) resized bilinearly to the image (as tf.image.resize) and blended over
 * it, both scaled up by a whole factor to at most 300 pixels a side when the image is
 * smaller.  'seen' may be NULL (a .npy input): then a mid-gray background of 16 pixels per
 * map cell. */
static tlr_image *overlay(const float *cam, int64_t h, int64_t w, const tlr_image *seen)
{
    int H = seen ? seen->h : (int)h * 16, W = seen ? seen->w : (int)w * 16;
    int s = 300 / (H > W ? H : W);
    s = s < 1 ? 1 : s;
    tlr_image *out = tlr_image_new(W * s, H * s, 3);
    float *big = tlr_xmalloc((size_t)out->w * (size_t)out->h * sizeof *big);
    tlr_op_resize2d(TLR_RESIZE_BILINEAR, 1, h, w, 1, out->h, out->w, cam, big);
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++) {
            float rgb[3];
            jet(big[(size_t)y * out->w + x], rgb);
            const uint8_t *px = seen ? seen->data + ((size_t)(y / s) * seen->w + x / s) *
                                                        (size_t)seen->channels : NULL;
            for (int c = 0; c < 3; c++) {
                float img = !px ? 128.0f : seen->channels >= 3 ? px[c] : px[0];
                float v = (1.0f - BLEND) * img + BLEND * 255.0f * rgb[c];
                out->data[((size_t)y * out->w + x) * 3 + c] = (uint8_t)lroundf(v);
            }
        }
    free(big);
    return out;
}

/* A single sigmoid unit: class 1 is its logit, class 0 minus it. */
static int single_sigmoid(const tlr_model *m)
{
    tlr_score_info si;
    tlr_grad_score_info(m, &si);
    return tlr_shape_output_size(m, 0) == 1 && si.final_act == TLR_ACT_SIGMOID;
}

static tlr_grad_request cam_request(const tlr_report_request *rq, const char *layer, int sigmoid)
{
    return (tlr_grad_request){ .kind = TLR_SCORE_CLASS, .wrt = layer,
                               .fixed = sigmoid ? 0 : rq->class_index };
}

void tlr_rd_gradcam_plan(const tlr_kfile *f, const tlr_report_request *rq, tlr_rd_cam_runs *cam)
{
    memset(cam, 0, sizeof *cam);
    tlr_err quiet = { 0 };
    char *path = NULL;
    if (!f->model || f->model->n_inputs != 1 || rq->max_images <= 0 ||
        choose_layer(f->model, rq->gradcam_layer, &path, &quiet) || !path)
        return;
    int sigmoid = single_sigmoid(f->model);
    if (sigmoid && rq->class_index > 1) {
        free(path); /* the section stops on it */
        return;
    }
    cam->layer = path;
    cam->rq = cam_request(rq, path, sigmoid);
}

void tlr_rd_cam_runs_free(tlr_rd_cam_runs *cam)
{
    for (int k = 0; k < cam->n_runs; k++)
        tlr_grad_result_free(&cam->runs[k].r);
    free(cam->runs);
    free(cam->layer);
    memset(cam, 0, sizeof *cam);
}

/* The pass the features section made for images [i0, i0 + n), taken; 0 when there is none. */
static int take_shared(tlr_rd_cam_runs *cam, int i0, int n, tlr_grad_result *r)
{
    for (int k = 0; cam && k < cam->n_runs; k++)
        if (cam->runs[k].i0 == i0 && cam->runs[k].n == n && cam->runs[k].r.value) {
            *r = cam->runs[k].r;
            memset(&cam->runs[k].r, 0, sizeof cam->runs[k].r);
            return 1;
        }
    return 0;
}

/* ---- one batch -------------------------------------------------------------------------------- */

/* What the images' results go into. */
typedef struct {
    const tlr_kfile *f;
    const tlr_report_request *rq;
    tlr_report_content *c;
    tlr_json *images;
    const tlr_strlist *labels;
    const char *layer;
    int sigmoid;               /* a single sigmoid unit: class 1 is the logit, class 0 minus it */
    tlr_rd_cam_runs *shared;   /* passes the features section made */
} cam_ctx;

/* The name of class k, or NULL (as tlr_labels_rank names a sigmoid's two classes). */
static const char *class_label(const cam_ctx *C, int k)
{
    if (!C->labels->n)
        return NULL;
    if (C->sigmoid && C->labels->n == 1)
        return k == 1 ? C->labels->items[0] : NULL;
    return (size_t)k < C->labels->n ? C->labels->items[k] : NULL;
}

/* A sigmoid's class 0 is explained by minus the logit: its gradient is the opposite. */
static int sigmoid_class(const cam_ctx *C, tlr_grad_result *r, int b, int64_t per)
{
    int k = C->rq->class_index >= 0 ? C->rq->class_index : r->score[b] >= 0.0;
    if (k == 0) {
        for (int64_t i = 0; i < per; i++)
            r->grad->data[b * per + i] = -r->grad->data[b * per + i];
        r->score[b] = -r->score[b];
    }
    return k;
}

static tlr_status image_entry(const cam_ctx *C, const tlr_input *in, int i, tlr_grad_result *r,
                              int b)
{
    int64_t h = r->value->shape[1], w = r->value->shape[2];
    int k = C->sigmoid ? sigmoid_class(C, r, b, tlr_tensor_numel(r->grad) / r->n) : r->index[b];
    float *cam = tlr_xmalloc((size_t)(h * w) * sizeof *cam);
    tlr_gradcam_map(r->value, r->grad, b, cam);
    int empty = 1;
    for (int64_t p = 0; p < h * w; p++)
        empty &= cam[p] == 0.0f;
    tlr_image *img = overlay(cam, h, w, in->seen);
    free(cam);
    char *name = tlr_xasprintf("img/gradcam-%d.png", i + 1);
    tlr_status st = tlr_rd_add_figure(C->c, name, img, NULL);
    tlr_json *e = tlr_json_push_object(C->images);
    tlr_json_add_string(e, "source", tlr_rd_base_name(in->source));
    tlr_json_add_string(e, "image", name);
    tlr_json_add_number(e, "width", img->w);
    tlr_json_add_number(e, "height", img->h);
    tlr_json_add_number(e, "class_index", k);
    if (class_label(C, k))
        tlr_json_add_string(e, "label", class_label(C, k));
    tlr_json_add_bool(e, "negated", C->sigmoid && k == 0);
    tlr_json_add_bool(e, "empty", empty);
    char num[32];
    snprintf(num, sizeof num, "%.4g", r->score[b]);
    tlr_json_add_string(e, "score_str", num);
    tlr_image_free(img);
    free(name);
    return st;
}

/* The Grad-CAM of images [i0, i0 + n), all of one shape, in one batch. */
static tlr_status run_batch(const cam_ctx *C, const tlr_input *in, int i0, int n,
                            tlr_grad_result *r, tlr_err *err)
{
    if (take_shared(C->shared, i0, n, r))
        return TLR_OK;
    int64_t shape[TLR_MAX_DIMS];
    memcpy(shape, in[i0].tensor->shape, sizeof shape);
    shape[0] = n;
    tlr_tensor *x = tlr_tensor_new(in[i0].tensor->ndim, shape);
    int64_t per = tlr_tensor_numel(in[i0].tensor);
    for (int k = 0; k < n; k++)
        memcpy(x->data + k * per, in[i0 + k].tensor->data, (size_t)per * sizeof(float));
    tlr_forward_opts fo = { C->rq->max_memory, 0 };
    tlr_grad_request gq = cam_request(C->rq, C->layer, C->sigmoid);
    tlr_status st = tlr_grad_run(C->f->model, x, &gq, &fo, NULL, r, err);
    tlr_tensor_free(x);
    return st;
}

static int same_shape(const tlr_tensor *a, const tlr_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape) == 0;
}

/* Every image, up to 8 of one shape per batch.  A gradient the engine cannot take is not an
 * error of the report: *why receives it and the section says so. */
static tlr_status run_images(const cam_ctx *C, const tlr_input *in, int n_img, char **why,
                             tlr_err *err)
{
    tlr_status st = TLR_OK;
    for (int i0 = 0; i0 < n_img && !st && !*why;) {
        int n = 1;
        while (i0 + n < n_img && n < 8 && same_shape(in[i0 + n].tensor, in[i0].tensor))
            n++;
        tlr_grad_result r;
        tlr_err e = { 0 };
        st = run_batch(C, in, i0, n, &r, &e);
        if (st == TLR_E_UNSUPPORTED || (!st && r.value->ndim != 4)) {
            *why = st ? tlr_xstrdup(e.msg)
                      : tlr_xasprintf("layer '%s' has no (N, H, W, C) map", C->layer);
            if (!st)
                tlr_grad_result_free(&r);
            return TLR_OK;
        }
        if (st) {
            *err = e;
            return st;
        }
        for (int b = 0; b < n && !st; b++)
            st = image_entry(C, &in[i0 + b], i0 + b, &r, b);
        tlr_grad_result_free(&r);
        i0 += n;
    }
    return st;
}

/* ---- the section ------------------------------------------------------------------------------ */

/* Writes into 'path' the path of nested model 'target' inside 'm' ("" for m, "a/b/" for a
 * model two levels down); 0 when it is not there. */
static int owner_path(const tlr_model *m, const tlr_model *target, char *path, size_t cap)
{
    if (m == target)
        return 1;
    size_t len = strlen(path);
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (!l->inner)
            continue;
        snprintf(path + len, cap - len, "%s/", l->name);
        if (owner_path(l->inner, target, path, cap))
            return 1;
        path[len] = '\0';
    }
    return 0;
}

/* The score: the output layer, the activation left out, and how the code reaches the logit. */
static void score_facts(tlr_json *g, const tlr_model *m, int sigmoid)
{
    tlr_score_info si;
    tlr_grad_score_info(m, &si);
    const tlr_layer *l = &si.owner->layers[si.layer];
    char path[2048] = "";
    if (!owner_path(m, si.owner, path, sizeof path))
        path[0] = '\0';
    size_t len = strlen(path);
    snprintf(path + len, sizeof path - len, "%s", l->name);
    tlr_json_add_string(g, "output_layer", path);
    tlr_json_add_string(g, "final_act", si.final_act == TLR_ACT_LINEAR ? ""
                                         : tlr_act_name(si.final_act));
    tlr_json_add_bool(g, "strip_act", si.final_act != TLR_ACT_LINEAR && !si.whole_layer);
    tlr_json_add_bool(g, "strip_layer", si.whole_layer);
    tlr_json_add_bool(g, "sigmoid", sigmoid);
    tlr_json_add_bool(g, "top_level_output", si.owner == m);
}

/* How the code builds the model up to the layer: "direct" (a top-level layer:
 * Model(model.inputs, [layer.output, model.output])) or "chain" (a layer of a nested model
 * that a Sequential runs first: that model, then the Sequential's later layers one by one). */
static void code_facts(tlr_json *g, const tlr_model *m, const char *path)
{
    const char *slash = strchr(path, '/');
    int direct = !slash;
    int chain = 0, start = 0;
    if (slash && !strchr(slash + 1, '/') && m->is_sequential) {
        int n, *vis = tlr_model_visible_alloc(m, &n);
        for (int k = 0; k < n && !chain; k++) {
            const tlr_layer *l = &m->layers[vis[k]];
            if (l->op == TLR_OP_MODEL && strlen(l->name) == (size_t)(slash - path) &&
                strncmp(l->name, path, (size_t)(slash - path)) == 0) {
                chain = 1;
                start = k + 1;
            }
        }
        free(vis);
    }
    tlr_json_add_bool(g, "code_direct", direct);
    tlr_json_add_bool(g, "code_chain", chain);
    tlr_json_add_number(g, "chain_start", start);
}

static tlr_status fill_section(tlr_json *g, const tlr_kfile *f, const tlr_report_request *rq,
                               const tlr_input *inputs, int n_img, const char *path,
                               tlr_report_content *c, tlr_rd_cam_runs *shared, tlr_err *err)
{
    tlr_strlist labels = TLR_STRLIST_INIT;
    int64_t n_out = tlr_shape_output_size(f->model, 0);
    int sigmoid = single_sigmoid(f->model);
    if (sigmoid && rq->class_index > 1)
        return tlr_err_set(err, TLR_E_USAGE, "--class %d: a single sigmoid output has classes "
                           "0 and 1", rq->class_index);
    tlr_status st = rq->labels_path ? tlr_labels_load(rq->labels_path, n_out, &labels, err)
                                    : TLR_OK;
    if (st)
        return st;
    add_path(g, "layer", path);
    score_facts(g, f->model, sigmoid);
    code_facts(g, f->model, path);
    tlr_json_add_bool(g, "fixed_class", rq->class_index >= 0);
    tlr_json_add_number(g, "class_index", rq->class_index);
    tlr_json_add_bool(g, "sigmoid_fixed_pos", sigmoid && rq->class_index == 1);
    tlr_json_add_bool(g, "sigmoid_fixed_neg", sigmoid && rq->class_index == 0);
    tlr_json *images = tlr_json_add_array(g, "images");
    cam_ctx C = { f, rq, c, images, &labels, path, sigmoid, shared };
    char *why = NULL;
    st = run_images(&C, inputs, n_img, &why, err);
    if (!st && why)
        tlr_json_add_string(g, "reason", why);
    tlr_json_add_bool(g, "present", !st && !why && tlr_json_size(images) > 0);
    free(why);
    tlr_strlist_free(&labels);
    return st;
}

/* The map's shape for the text, from the model's own input size. */
static void map_facts(tlr_json *g, const tlr_model *m, const char *path)
{
    const tlr_model *owner;
    int idx;
    if (tlr_model_resolve(m, path, &owner, &idx) || !owner->layers[idx].shape_ok)
        return;
    const tlr_layer *l = &owner->layers[idx];
    char sh[160];
    tlr_shape_str(&l->calls[0].out[0], sh, sizeof sh);
    tlr_json_add_string(g, "shape_str", sh);
    tlr_json_add_string(g, "class", l->class_name);
    const tlr_shape *s = &l->calls[0].out[0];
    if (s->ndim == 4) {
        tlr_json_add_number(g, "map_height", (double)s->d[1]);
        tlr_json_add_number(g, "map_width", (double)s->d[2]);
        tlr_json_add_number(g, "channels", (double)s->d[3]);
    }
}

tlr_status tlr_rd_gradcam_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  const tlr_input *inputs, int n_inputs, tlr_report_content *c,
                                  tlr_rd_cam_runs *cam, FILE *log, tlr_err *err)
{
    tlr_json *g = tlr_json_add_object(d, "gradcam");
    int n_img = n_inputs < rq->max_images ? n_inputs : rq->max_images;
    char *path;
    tlr_status st = choose_layer(f->model, rq->gradcam_layer, &path, err);
    if (st)
        return st;
    tlr_json_add_number(g, "image_count", n_img);
    tlr_json_add_bool(g, "has_layer", path != NULL);
    if (!path || n_img == 0) {
        tlr_json_add_bool(g, "present", 0);
        free(path);
        return TLR_OK;
    }
    if (rq->progress && log)
        fprintf(log, "tlreport: Grad-CAM of %s\n", path);
    map_facts(g, f->model, path);
    st = fill_section(g, f, rq, inputs, n_img, path, c, cam, err);
    free(path);
    return st;
}
