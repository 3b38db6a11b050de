/* preprocess.c - colour conversion, resizing and input scaling, matching Pillow and Keras.
 * The resize code follows Pillow's algorithms (read for their arithmetic, not copied): the
 * exact rounding of each step matters because tests compare bytes with Pillow's output. */
#include "input/preprocess.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* ---- colour ---- */

tlr_image *tlr_preprocess_to_rgb(const tlr_image *img)
{
    TLR_ASSERT(img->channels == 1 || img->channels == 3 || img->channels == 4);
    tlr_image *out = tlr_image_new(img->w, img->h, 3);
    size_t n = (size_t)img->w * (size_t)img->h;
    const uint8_t *s = img->data;
    uint8_t *d = out->data;
    for (size_t i = 0; i < n; i++, s += img->channels, d += 3) {
        d[0] = s[0];
        d[1] = img->channels == 1 ? s[0] : s[1];
        d[2] = img->channels == 1 ? s[0] : s[2];
    }
    return out;
}

tlr_image *tlr_preprocess_to_gray(const tlr_image *img)
{
    TLR_ASSERT(img->channels == 1 || img->channels == 3 || img->channels == 4);
    tlr_image *out = tlr_image_new(img->w, img->h, 1);
    size_t n = (size_t)img->w * (size_t)img->h;
    const uint8_t *s = img->data;
    for (size_t i = 0; i < n; i++, s += img->channels) {
        if (img->channels == 1) {
            out->data[i] = s[0];
            continue;
        }
        /* ITU-R 601-2 luma in 16-bit fixed point; the weights sum to 65536, so gray stays
         * gray, and +32768 rounds halves up. */
        uint32_t l = (uint32_t)s[0] * 19595u + (uint32_t)s[1] * 38470u +
                     (uint32_t)s[2] * 7471u + 0x8000u;
        out->data[i] = (uint8_t)(l >> 16);
    }
    return out;
}

/* ---- nearest ---- */

/* Pillow's NEAREST is an affine scale: source coordinate of output pixel k is the running
 * double sum x0 + step/2 + k*step, added one step at a time, truncated toward zero. The
 * running sum (not (k + 0.5) * step) decides ties at exact integers. */
static void nearest_table(float b0, float b1, int out, int *tab)
{
    double step = (double)(b1 - b0) / out;
    double pos = (double)b0 + step * 0.5;
    for (int k = 0; k < out; k++) {
        tab[k] = pos < 0.0 ? -1 : (int)pos;
        pos += step;
    }
}

static tlr_image *resize_nearest(const tlr_image *img, const float box[4], int w, int h)
{
    tlr_image *out = tlr_image_new(w, h, img->channels); /* unmapped pixels stay 0, as Pillow's fill */
    int *xs = tlr_xmalloc(sizeof *xs * (size_t)w);
    int *ys = tlr_xmalloc(sizeof *ys * (size_t)h);
    nearest_table(box[0], box[2], w, xs);
    nearest_table(box[1], box[3], h, ys);
    size_t c = (size_t)img->channels;
    for (int y = 0; y < h; y++) {
        if (ys[y] < 0 || ys[y] >= img->h)
            continue;
        const uint8_t *row = img->data + (size_t)ys[y] * (size_t)img->w * c;
        uint8_t *dst = out->data + (size_t)y * (size_t)w * c;
        for (int x = 0; x < w; x++)
            if (xs[x] >= 0 && xs[x] < img->w)
                memcpy(dst + (size_t)x * c, row + (size_t)xs[x] * c, c);
    }
    free(xs);
    free(ys);
    return out;
}

/* ---- bilinear ---- */

/* Coefficients are 8.22 fixed point: 32 bits minus 8 for the pixel value minus 2 spare
 * bits for filters whose partial sums leave 0..1. */
#define COEF_BITS 22

/* For each output pixel along one axis: the first source index, the number of taps, and
 * ksize integer weights. */
typedef struct {
    int ksize;
    int *first; /* (out) */
    int *count; /* (out) */
    int32_t *k; /* (out, ksize) */
} taps;

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for the triangle filter (support 1),
 * widened by the scale factor when shrinking so every source pixel contributes. */
static void taps_build(int in_size, float b0, float b1, int out_size, taps *t)
{
    double scale = (double)(b1 - b0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = tlr_xmalloc(sizeof *t->first * (size_t)out_size);
    t->count = tlr_xmalloc(sizeof *t->count * (size_t)out_size);
    t->k = tlr_xcalloc((size_t)out_size * (size_t)t->ksize, sizeof *t->k);
    double *w = tlr_xmalloc(sizeof *w * (size_t)t->ksize);
    for (int xx = 0; xx < out_size; xx++) {
        double center = (double)b0 + (xx + 0.5) * scale;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5); /* truncation, as Pillow */
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double sum = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = triangle((x + xmin - center + 0.5) * ss);
            sum += w[x];
        }
        int32_t *k = t->k + (size_t)xx * (size_t)t->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            double fixed = v * (1 << COEF_BITS);
            k[x] = (int32_t)(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        t->first[xx] = xmin;
        t->count[xx] = xmax;
    }
    free(w);
}

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->k);
}

/* Rounds a fixed-point sum (with its +0.5 already added) to 0..255. */
static uint8_t clip8(int32_t v)
{
    if (v < 0)
        return 0;
    v >>= COEF_BITS;
    return (uint8_t)(v > 255 ? 255 : v);
}

/* One pass: out[y][x][c] = sum_i k[i] * in at (first + i) along 'axis'. in_y0 offsets the
 * source rows (the horizontal pass only computes the rows the vertical pass reads). */
static void resample_pass(const tlr_image *in, int in_y0, tlr_image *out, const taps *t,
                          int vertical)
{
    int c = in->channels;
    size_t in_stride = (size_t)in->w * (size_t)c;
    for (int y = 0; y < out->h; y++) {
        for (int x = 0; x < out->w; x++) {
            int o = vertical ? y : x;
            const int32_t *k = t->k + (size_t)o * (size_t)t->ksize;
            const uint8_t *src;
            size_t step;
            if (vertical) {
                src = in->data + (size_t)t->first[o] * in_stride + (size_t)x * (size_t)c;
                step = in_stride;
            } else {
                src = in->data + (size_t)(y + in_y0) * in_stride + (size_t)t->first[o] * (size_t)c;
                step = (size_t)c;
            }
            uint8_t *dst = out->data + ((size_t)y * (size_t)out->w + (size_t)x) * (size_t)c;
            for (int ch = 0; ch < c; ch++) {
                int32_t acc = 1 << (COEF_BITS - 1);
                for (int i = 0; i < t->count[o]; i++)
                    acc += (int32_t)src[(size_t)i * step + (size_t)ch] * k[i];
                dst[ch] = clip8(acc);
            }
        }
    }
}

static tlr_image *image_copy(const tlr_image *img)
{
    tlr_image *out = tlr_image_new(img->w, img->h, img->channels);
    memcpy(out->data, img->data, (size_t)img->w * (size_t)img->h * (size_t)img->channels);
    return out;
}

/* Pillow's ImagingResampleInner: horizontal pass into 8-bit rows (only those the vertical
 * pass needs), then the vertical pass. A pass is skipped when it would be the identity. */
static tlr_image *resize_bilinear(const tlr_image *img, const float box[4], int w, int h)
{
    int need_h = w != img->w || box[0] != 0.0f || box[2] != (float)w;
    int need_v = h != img->h || box[1] != 0.0f || box[3] != (float)h;
    if (!need_h && !need_v)
        return image_copy(img);

    taps tv;
    taps_build(img->h, box[1], box[3], h, &tv);
    int y_first = tv.first[0];
    int y_last = tv.first[h - 1] + tv.count[h - 1];

    tlr_image *tmp = NULL;
    const tlr_image *src = img;
    if (need_h) {
        taps th;
        taps_build(img->w, box[0], box[2], w, &th);
        tmp = tlr_image_new(w, y_last - y_first, img->channels);
        resample_pass(img, y_first, tmp, &th, 0);
        taps_free(&th);
        for (int i = 0; i < h; i++)
            tv.first[i] -= y_first;
        src = tmp;
    }
    tlr_image *out;
    if (need_v) {
        out = tlr_image_new(src->w, h, img->channels);
        resample_pass(src, 0, out, &tv, 1);
        tlr_image_free(tmp);
    } else {
        out = tmp;
    }
    taps_free(&tv);
    return out;
}

/* ---- public resizing ---- */

tlr_image *tlr_preprocess_resize_box(const tlr_image *img, const float box[4], int w, int h,
                                     tlr_resize_method method)
{
    TLR_ASSERT(w > 0 && h > 0 && img->w > 0 && img->h > 0);
    TLR_ASSERT(box[0] >= 0.0f && box[1] >= 0.0f && box[2] <= (float)img->w &&
               box[3] <= (float)img->h && box[2] > box[0] && box[3] > box[1]);
    if (method == TLR_PIL_NEAREST) {
        /* Pillow copies when nothing changes (and its crop shortcut gives the same pixels). */
        if (w == img->w && h == img->h && box[0] == 0.0f && box[1] == 0.0f &&
            box[2] == (float)w && box[3] == (float)h)
            return image_copy(img);
        return resize_nearest(img, box, w, h);
    }
    TLR_ASSERT(method == TLR_PIL_BILINEAR);
    return resize_bilinear(img, box, w, h);
}

tlr_image *tlr_preprocess_resize(const tlr_image *img, int w, int h, tlr_resize_method method)
{
    const float box[4] = {0.0f, 0.0f, (float)img->w, (float)img->h};
    return tlr_preprocess_resize_box(img, box, w, h, method);
}

void tlr_preprocess_center_box(int in_w, int in_h, int out_w, int out_h, int box[4])
{
    TLR_ASSERT(out_w > 0 && out_h > 0);
    /* keras.utils.load_img(keep_aspect_ratio=True), integer floor division as there. */
    int64_t crop_h = (int64_t)in_w * out_h / out_w;
    int64_t crop_w = (int64_t)in_h * out_w / out_h;
    if (crop_h > in_h)
        crop_h = in_h;
    if (crop_w > in_w)
        crop_w = in_w;
    /* A very thin image (1 x 7 for a 5 x 7 target) floors to an empty crop: keep a pixel. */
    if (crop_h < 1)
        crop_h = 1;
    if (crop_w < 1)
        crop_w = 1;
    box[0] = (int)((in_w - crop_w) / 2);
    box[1] = (int)((in_h - crop_h) / 2);
    box[2] = box[0] + (int)crop_w;
    box[3] = box[1] + (int)crop_h;
}

tlr_image *tlr_preprocess_resize_center(const tlr_image *img, int w, int h,
                                        tlr_resize_method method)
{
    int b[4];
    tlr_preprocess_center_box(img->w, img->h, w, h, b);
    const float box[4] = {(float)b[0], (float)b[1], (float)b[2], (float)b[3]};
    return tlr_preprocess_resize_box(img, box, w, h, method);
}

tlr_image *tlr_preprocess_crop(const tlr_image *img, int x, int y, int w, int h)
{
    TLR_ASSERT(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= img->w && y + h <= img->h);
    tlr_image *out = tlr_image_new(w, h, img->channels);
    size_t c = (size_t)img->channels;
    for (int r = 0; r < h; r++)
        memcpy(out->data + (size_t)r * (size_t)w * c,
               img->data + ((size_t)(y + r) * (size_t)img->w + (size_t)x) * c, (size_t)w * c);
    return out;
}

/* ---- model input ---- */

tlr_status tlr_preprocess_to_input(const tlr_image *img, tlr_prep_mode mode, float *out,
                                   tlr_err *err)
{
    int c = img->channels;
    size_t n = (size_t)img->w * (size_t)img->h;
    const uint8_t *p = img->data;
    if ((mode == TLR_PREP_CAFFE || mode == TLR_PREP_TORCH) && c != 3)
        return tlr_err_set(err, TLR_E_SHAPE, "preprocess '%s' needs 3 channels (RGB), the image has %d",
                           tlr_prep_mode_name(mode), c);
    /* float32 constants and the operation order of Keras's numpy code: x *= rescale;
     * x /= 127.5, x -= 1; x -= mean (then x /= std). */
    static const float caffe_mean_bgr[3] = {103.939f, 116.779f, 123.68f};
    static const float torch_mean[3] = {0.485f, 0.456f, 0.406f};
    static const float torch_std[3] = {0.229f, 0.224f, 0.225f};
    const float rescale = (float)(1.0 / 255.0);
    size_t total = n * (size_t)c;
    switch (mode) {
    case TLR_PREP_NONE:
        for (size_t i = 0; i < total; i++)
            out[i] = (float)p[i];
        break;
    case TLR_PREP_RESCALE:
        for (size_t i = 0; i < total; i++)
            out[i] = (float)p[i] * rescale;
        break;
    case TLR_PREP_TF:
        for (size_t i = 0; i < total; i++)
            out[i] = (float)p[i] / 127.5f - 1.0f;
        break;
    case TLR_PREP_CAFFE:
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++) /* output k is BGR: read RGB channel 2 - k */
                out[i * 3 + (size_t)k] = (float)p[i * 3 + (size_t)(2 - k)] - caffe_mean_bgr[k];
        break;
    case TLR_PREP_TORCH:
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++)
                out[i * 3 + (size_t)k] =
                    ((float)p[i * 3 + (size_t)k] / 255.0f - torch_mean[k]) / torch_std[k];
        break;
    default:
        return tlr_err_set(err, TLR_E_USAGE, "unknown preprocess mode %d", (int)mode);
    }
    return TLR_OK;
}

/* ---- names ---- */

static const char *const prep_names[TLR_PREP_COUNT] = {
    [TLR_PREP_RESCALE] = "rescale", [TLR_PREP_CAFFE] = "caffe", [TLR_PREP_TF] = "tf",
    [TLR_PREP_TORCH] = "torch",     [TLR_PREP_NONE] = "none",
};
static_assert(TLR_PREP_COUNT == 5, "update prep_names");

static const char *const resize_names[TLR_PIL_RESIZE_COUNT] = {
    [TLR_PIL_NEAREST] = "nearest",
    [TLR_PIL_BILINEAR] = "bilinear",
};
static_assert(TLR_PIL_RESIZE_COUNT == 2, "update resize_names");

const char *tlr_prep_mode_name(tlr_prep_mode mode)
{
    return (unsigned)mode < TLR_PREP_COUNT ? prep_names[mode] : "?";
}

tlr_status tlr_prep_mode_parse(const char *name, tlr_prep_mode *mode, tlr_err *err)
{
    for (int i = 0; i < TLR_PREP_COUNT; i++)
        if (strcmp(name, prep_names[i]) == 0) {
            *mode = (tlr_prep_mode)i;
            return TLR_OK;
        }
    return tlr_err_set(err, TLR_E_USAGE,
                       "unknown preprocess mode '%s' (have: rescale, caffe, tf, torch, none)",
                       name);
}

const char *tlr_resize_method_name(tlr_resize_method method)
{
    return (unsigned)method < TLR_PIL_RESIZE_COUNT ? resize_names[method] : "?";
}

tlr_status tlr_resize_method_parse(const char *name, tlr_resize_method *method, tlr_err *err)
{
    for (int i = 0; i < TLR_PIL_RESIZE_COUNT; i++)
        if (strcmp(name, resize_names[i]) == 0) {
            *method = (tlr_resize_method)i;
            return TLR_OK;
        }
    return tlr_err_set(err, TLR_E_USAGE, "unknown resize method '%s' (have: nearest, bilinear)",
                       name);
}
