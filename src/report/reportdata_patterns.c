/* reportdata_patterns.c - filter patterns beside Pregunta 4's kernels: for the first N
 * filters of the kernels layer, the input that most excites each, by Chollet's procedure
 * ("Deep Learning with Python", 2nd ed., section 9.4): from a seeded 0.4..0.6 noise image,
 * 30 steps of gradient ascent on the filter's mean activation (a 2-pixel border left out),
 * each step the L2-normalised gradient times 10; then de-processed to 8 bits (centred,
 * scaled to a standard deviation of 64 around 128, clipped, the outer eighth cut off).
 *
 * The canvas is 40 x 40 (smaller when the model's input is), 30 x 30 once cut: the kernels
 * layer is an early one whose filters each see a patch of about 14 pixels (VGG16's
 * block2_conv2), so 30 pixels show each pattern twice over, at 1/14 of the work of the
 * course model's 150 x 150 -- about a second for 16 filters on two cores, all of them
 * ascending together as one batch. */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/reverse.h"
#include "input/input.h"

#define CANVAS 40
#define STEPS 30
#define LEARNING_RATE 10.0f
#define BORDER 2
#define PER_ROW 8
#define GUTTER 2
#define BACKGROUND 200
#define MAX_FALLBACK 256 /* the largest model input (per side) the ascent runs at */

/* One ascent: its batch, the filters and the engine's settings. */
typedef struct {
    const tlr_model *m;
    const char *layer;
    tlr_forward_opts fo;
    tlr_grad_cache *cache;
    int border;
    FILE *log;             /* progress, or NULL */
    int done, total;       /* steps so far and in all, for the progress line */
} ascent;

static tlr_status ascend_chunk(ascent *A, tlr_tensor *x, const int *filters, tlr_err *err)
{
    int64_t n = x->shape[0], per = tlr_tensor_numel(x) / n;
    tlr_grad_request rq = { .kind = TLR_SCORE_FILTER, .target = A->layer, .index = filters,
                            .border = A->border };
    for (int s = 0; s < STEPS; s++) {
        tlr_grad_result r;
        tlr_status st = tlr_grad_run(A->m, x, &rq, &A->fo, A->cache, &r, err);
        if (st)
            return st;
        tlr_ascent_step(x->data, r.grad->data, n, per, LEARNING_RATE);
        tlr_grad_result_free(&r);
        if (A->log)
            fprintf(A->log, "\rtlreport: filter patterns of %s: step %d of %d", A->layer,
                    ++A->done, A->total);
    }
    return TLR_OK;
}

/* All 'count' patterns into x (count, S, S, C), in batches as large as the memory budget
 * lets them be. */
static tlr_status ascend_all(ascent *A, tlr_tensor *x, int count, tlr_err *err)
{
    int64_t per = tlr_tensor_numel(x) / count;
    int *filters = tlr_xmalloc((size_t)count * sizeof *filters);
    for (int b = 0; b < count; b++) {
        filters[b] = b;
        tlr_ascent_init(x->data + b * per, per, (uint64_t)b);
    }
    int chunk = count;
    tlr_status st = TLR_OK;
    for (int b0 = 0; b0 < count && !st;) {
        int n = count - b0 < chunk ? count - b0 : chunk;
        tlr_tensor part = *x;
        part.shape[0] = n;
        part.data = x->data + b0 * per;
        float *start = tlr_xmalloc((size_t)(n * per) * sizeof *start);
        memcpy(start, part.data, (size_t)(n * per) * sizeof *start);
        A->total = STEPS * ((count - b0 + n - 1) / n) + A->done;
        st = ascend_chunk(A, &part, filters + b0, err);
        if (st == TLR_E_LIMIT && n > 1) { /* over --max-memory: smaller batches */
            memcpy(part.data, start, (size_t)(n * per) * sizeof *start);
            chunk = n / 2;
            st = TLR_OK;
        } else {
            b0 += n;
        }
        free(start);
    }
    free(filters);
    return st;
}

/* ---- the picture ------------------------------------------------------------------------------ */

/* The input the patterns live in: canvas size, channels and layout. */
typedef struct {
    int h, w, ch;
    int cf;                /* the model takes channels-first images */
    int64_t model_h, model_w; /* the model's own input size, -1 when free */
    int crop;              /* pixels cut from each edge for the picture */
} canvas;

/* Chollet's deprocess_image: centred, 64 gray levels per standard deviation around 128,
 * clipped, the border cut; RGB out of 1 or 3 channels (BGR for caffe input).  x is one
 * channels-last image of the canvas. */
static void deprocess(const float *x, const canvas *cv, int bgr, uint8_t *tile)
{
    int64_t n = (int64_t)cv->h * cv->w * cv->ch;
    double mean = 0.0, sq = 0.0;
    for (int64_t i = 0; i < n; i++)
        mean += (double)x[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        sq += ((double)x[i] - mean) * ((double)x[i] - mean);
    double sd = sqrt(sq / (double)n) + 1e-5;
    int th = cv->h - 2 * cv->crop, tw = cv->w - 2 * cv->crop;
    for (int y = 0; y < th; y++)
        for (int xx = 0; xx < tw; xx++)
            for (int c = 0; c < 3; c++) {
                int src = cv->ch >= 3 ? (bgr ? 2 - c : c) : 0;
                int64_t at = ((int64_t)(y + cv->crop) * cv->w + xx + cv->crop) * cv->ch + src;
                double v = ((double)x[at] - mean) / sd * 64.0 + 128.0;
                v = v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
                tile[((size_t)y * tw + xx) * 3 + c] = (uint8_t)v;
            }
}

/* The patterns (channels last) as one grid of tiles, PER_ROW to a row, each scaled by 'u'. */
static tlr_image *pattern_grid(const float *x, int count, const canvas *cv, int bgr, int u)
{
    int th = cv->h - 2 * cv->crop, tw = cv->w - 2 * cv->crop;
    int cols = count < PER_ROW ? count : PER_ROW, rows = (count + cols - 1) / cols;
    int sw = tw * u, sh = th * u;
    tlr_image *img = tlr_image_new(cols * sw + (cols - 1) * GUTTER,
                                   rows * sh + (rows - 1) * GUTTER, 3);
    memset(img->data, BACKGROUND, (size_t)img->w * (size_t)img->h * 3);
    uint8_t *tile = tlr_xmalloc((size_t)th * (size_t)tw * 3);
    for (int b = 0; b < count; b++) {
        deprocess(x + (int64_t)b * cv->h * cv->w * cv->ch, cv, bgr, tile);
        int x0 = (b % cols) * (sw + GUTTER), y0 = (b / cols) * (sh + GUTTER);
        for (int y = 0; y < sh; y++)
            for (int xx = 0; xx < sw; xx++)
                memcpy(img->data + ((size_t)(y0 + y) * img->w + x0 + xx) * 3,
                       tile + ((size_t)(y / u) * tw + xx / u) * 3, 3);
    }
    free(tile);
    return img;
}

/* ---- the section -------------------------------------------------------------------------------- */

/* The canvas for model 'm': CANVAS square, or the model's own size when smaller; 0 when
 * the model does not take images. */
static int canvas_of(const tlr_model *m, canvas *cv)
{
    tlr_shape in = tlr_forward_input_shape(m, 0);
    int64_t h, w, c;
    if (in.ndim != 4)
        return 0;
    cv->cf = tlr_input_channels_first(&in, &h, &w, &c);
    if (c < 1)
        return 0;
    cv->ch = (int)c;
    cv->model_h = h;
    cv->model_w = w;
    cv->h = h > 0 && h < CANVAS ? (int)h : CANVAS;
    cv->w = w > 0 && w < CANVAS ? (int)w : CANVAS;
    cv->crop = (cv->h < cv->w ? cv->h : cv->w) / 8;
    return 1;
}

/* Chollet's border of 2, or none when the layer's map on this canvas (estimated from its
 * map at the model's own input size) would be under 5 pixels a side: nothing would be left. */
static int border_for(const tlr_layer *l, const canvas *cv)
{
    if (!l->shape_ok || l->n_calls < 1 || l->calls[0].out[0].ndim != 4)
        return BORDER;
    const tlr_shape *s = &l->calls[0].out[0];
    int64_t mh = s->d[cv->cf ? 2 : 1], mw = s->d[cv->cf ? 3 : 2];
    if (mh > 0 && cv->model_h > 0)
        mh = mh * cv->h / cv->model_h;
    if (mw > 0 && cv->model_w > 0)
        mw = mw * cv->w / cv->model_w;
    return (mh >= 0 && mh < 2 * BORDER + 1) || (mw >= 0 && mw < 2 * BORDER + 1) ? 0 : BORDER;
}

static void add_facts(tlr_json *p, const tlr_rd_layer *kl, int count, int filters, int bgr)
{
    const char *slash = strrchr(kl->path, '/');
    tlr_json_add_string(p, "layer", kl->path);
    tlr_json_add_string(p, "layer_name", slash ? slash + 1 : kl->path);
    char *parent = tlr_xstrdup(kl->path);
    parent[slash ? slash - kl->path : 0] = '\0';
    tlr_json_add_string(p, "parent", parent);
    free(parent);
    tlr_json_add_number(p, "count", count);
    tlr_json_add_number(p, "last", count - 1);
    tlr_json_add_number(p, "filters", filters);
    tlr_json_add_number(p, "steps", STEPS);
    tlr_json_add_number(p, "learning_rate", (double)LEARNING_RATE);
    char lr[32];
    snprintf(lr, sizeof lr, "%.1f", (double)LEARNING_RATE); /* a Python float: "10.0" */
    tlr_json_add_string(p, "learning_rate_str", lr);
    tlr_json_add_number(p, "per_row", count < PER_ROW ? count : PER_ROW);
    tlr_json_add_number(p, "rows", (count + PER_ROW - 1) / PER_ROW);
    tlr_json_add_bool(p, "bgr", bgr);
}

static void canvas_facts(tlr_json *p, const tlr_rd_layer *kl, const canvas *cv)
{
    tlr_json_add_number(p, "border", border_for(kl->layer, cv));
    tlr_json_add_number(p, "canvas_h", cv->h);
    tlr_json_add_number(p, "canvas_w", cv->w);
    tlr_json_add_bool(p, "model_size", cv->h == cv->model_h && cv->w == cv->model_w);
    tlr_json_add_number(p, "crop", cv->crop);
    tlr_json_add_number(p, "channels", cv->ch);
    tlr_json_add_bool(p, "gray", cv->ch < 3);
    tlr_json_add_bool(p, "channels_first", cv->cf);
}

/* The ascent on a canvas, into a new channels-last tensor *out. */
static tlr_status run_canvas(const tlr_kfile *f, const tlr_report_request *rq,
                             const tlr_rd_layer *kl, int count, const canvas *cv, FILE *log,
                             tlr_tensor **out, tlr_err *err)
{
    int64_t shape[4] = { count, cv->h, cv->w, cv->ch };
    if (cv->cf)
        shape[1] = cv->ch, shape[2] = cv->h, shape[3] = cv->w;
    tlr_tensor *x = tlr_tensor_new(4, shape);
    ascent A = { f->model, kl->path, { rq->max_memory, 0 }, tlr_grad_cache_new(),
                 border_for(kl->layer, cv), rq->progress ? log : NULL, 0, 0 };
    tlr_status st = ascend_all(&A, x, count, err);
    if (A.log)
        fputc('\n', A.log);
    tlr_grad_cache_free(A.cache);
    if (!st && cv->cf) { /* channels last for the picture */
        int64_t nhwc[4] = { count, cv->h, cv->w, cv->ch };
        int perm[4] = { 0, 2, 3, 1 };
        tlr_tensor *t = tlr_tensor_new(4, nhwc);
        tlr_tensor_transpose(4, x->shape, perm, x->data, t->data);
        tlr_tensor_free(x);
        x = t;
    }
    if (st)
        tlr_tensor_free(x);
    *out = st ? NULL : x;
    return st;
}

/* The ascent on the small canvas, or on the model's own input size when the small one does
 * not go through the model (a Cropping2D or a Reshape that needs the full size). */
static tlr_status ascend_some_canvas(const tlr_kfile *f, const tlr_report_request *rq,
                                     const tlr_rd_layer *kl, int count, canvas *cv, FILE *log,
                                     tlr_tensor **x, tlr_err *err)
{
    tlr_status st = run_canvas(f, rq, kl, count, cv, log, x, err);
    int bigger = cv->model_h > cv->h && cv->model_w > cv->w;
    if ((st == TLR_E_SHAPE || st == TLR_E_USAGE) && bigger &&
        cv->model_h * cv->model_w <= (int64_t)MAX_FALLBACK * MAX_FALLBACK) {
        cv->h = (int)cv->model_h;
        cv->w = (int)cv->model_w;
        cv->crop = (cv->h < cv->w ? cv->h : cv->w) / 8;
        *err = (tlr_err){ 0 };
        st = run_canvas(f, rq, kl, count, cv, log, x, err);
    }
    return st;
}

/* Runs the ascent and draws it; a gradient the engine cannot take becomes 'reason'. */
static tlr_status draw(tlr_json *p, const tlr_kfile *f, const tlr_report_request *rq,
                       const tlr_rd_layer *kl, int count, canvas *cv, int bgr,
                       tlr_report_content *c, FILE *log, tlr_err *err)
{
    tlr_tensor *x = NULL;
    tlr_err e = { 0 };
    tlr_status st = ascend_some_canvas(f, rq, kl, count, cv, log, &x, &e);
    canvas_facts(p, kl, cv);
    if (st == TLR_E_UNSUPPORTED || st == TLR_E_USAGE || st == TLR_E_LIMIT || st == TLR_E_SHAPE) {
        tlr_json_add_string(p, "reason", e.msg);
        return TLR_OK;
    }
    if (st) {
        *err = e;
        return st;
    }
    int t = (cv->h < cv->w ? cv->h : cv->w) - 2 * cv->crop, u = t >= 96 ? 1 : 96 / t;
    tlr_image *img = pattern_grid(x->data, count, cv, bgr, u);
    st = tlr_rd_add_figure(c, "img/patterns.png", img, err);
    tlr_json_add_string(p, "image", "img/patterns.png");
    tlr_json_add_number(p, "width", img->w);
    tlr_json_add_number(p, "height", img->h);
    tlr_json_add_bool(p, "present", 1);
    tlr_image_free(img);
    tlr_tensor_free(x);
    return st;
}

tlr_status tlr_rd_patterns_section(tlr_json *d, const tlr_kfile *f,
                                   const tlr_report_request *rq, const tlr_input_opts *io,
                                   const tlr_rd_layer *kern_layer, tlr_report_content *c,
                                   FILE *log, tlr_err *err)
{
    tlr_json *p = tlr_json_add_object(d, "patterns");
    canvas cv = { 0 };
    int image_model = canvas_of(f->model, &cv);
    const tlr_layer *l = kern_layer->layer;
    int filters = l && l->n_weights && l->weights[0].ndim == 4 ? (int)l->weights[0].shape[3] : 0;
    int count = rq->patterns < filters ? rq->patterns : filters;
    tlr_json_add_bool(p, "asked", rq->patterns > 0);
    tlr_json_add_bool(p, "image_model", image_model);
    if (!kern_layer->path || count < 1 || !image_model) {
        tlr_json_add_bool(p, "present", 0);
        return TLR_OK;
    }
    int bgr = io->mode == TLR_PREP_CAFFE && cv.ch == 3;
    add_facts(p, kern_layer, count, filters, bgr);
    tlr_status st = draw(p, f, rq, kern_layer, count, &cv, bgr, c, log, err);
    if (!tlr_json_get(p, "present"))
        tlr_json_add_bool(p, "present", 0);
    return st;
}
