/* ops_layout.c - data movement: zero padding, cropping, resizing, nearest upsampling and
 * general transposes.  No arithmetic except bilinear interpolation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "engine/ops.h"
#include "engine/resize_taps.h"

void tlr_op_pad2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                  int right, const float *in, float *out)
{
    int64_t oh = h + top + bottom, ow = w + left + right;
    memset(out, 0, (size_t)(n * oh * ow * c) * sizeof *out);
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < h; y++)
            memcpy(out + ((b * oh + y + top) * ow + left) * c, in + (b * h + y) * w * c,
                   (size_t)(w * c) * sizeof *out);
}

void tlr_op_crop2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                   int right, const float *in, float *out)
{
    int64_t oh = h - top - bottom, ow = w - left - right;
    if (oh <= 0 || ow <= 0)
        return;
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < oh; y++)
            memcpy(out + (b * oh + y) * ow * c, in + ((b * h + y + top) * w + left) * c,
                   (size_t)(ow * c) * sizeof *out);
}

/* ---- resize --------------------------------------------------------------------------- */

static void resize_nearest(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                           int64_t ow, const float *in, float *out)
{
    int64_t *ys = tlr_resize_taps_nearest(oh, h), *xs = tlr_resize_taps_nearest(ow, w);
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++)
                memcpy(out + ((b * oh + y) * ow + x) * c, in + ((b * h + ys[y]) * w + xs[x]) * c,
                       (size_t)c * sizeof *out);
    free(ys);
    free(xs);
}

/* Interpolates along x on both rows, then along y, in TF's order of operations. */
static void resize_bilinear(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                            int64_t ow, const float *in, float *out)
{
    tlr_resize_tap *ys = tlr_resize_taps_bilinear(oh, h), *xs = tlr_resize_taps_bilinear(ow, w);
    for (int64_t b = 0; b < n; b++) {
        const float *img = in + b * h * w * c; // (H, W, C)
        for (int64_t y = 0; y < oh; y++) {
            const float *top = img + ys[y].lo * w * c, *bot = img + ys[y].hi * w * c;
            float yl = ys[y].lerp;
            for (int64_t x = 0; x < ow; x++) {
                const float *tl = top + xs[x].lo * c, *tr = top + xs[x].hi * c;
                const float *bl = bot + xs[x].lo * c, *br = bot + xs[x].hi * c;
                float xl = xs[x].lerp;
                float *o = out + ((b * oh + y) * ow + x) * c;
                for (int64_t ch = 0; ch < c; ch++) {
                    float t = tl[ch] + (tr[ch] - tl[ch]) * xl;
                    float d = bl[ch] + (br[ch] - bl[ch]) * xl;
                    o[ch] = t + (d - t) * yl;
                }
            }
        }
    }
    free(ys);
    free(xs);
}

void tlr_op_resize2d(tlr_resize_mode mode, int64_t n, int64_t h, int64_t w, int64_t c,
                     int64_t oh, int64_t ow, const float *in, float *out)
{
    if (oh <= 0 || ow <= 0 || n <= 0 || c <= 0)
        return;
    if (oh == h && ow == w) { /* TF returns the input unchanged for a same-size resize */
        memcpy(out, in, (size_t)(n * h * w * c) * sizeof *out);
        return;
    }
    if (mode == TLR_RESIZE_NEAREST)
        resize_nearest(n, h, w, c, oh, ow, in, out);
    else
        resize_bilinear(n, h, w, c, oh, ow, in, out);
}

void tlr_op_upsample_nearest(int64_t n, int64_t h, int64_t w, int64_t c, int fh, int fw,
                             const float *in, float *out)
{
    int64_t ow = w * fw;
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < h; y++) {
            float *row = out + (b * h * fh + y * fh) * ow * c; // first copy of the row
            for (int64_t x = 0; x < w; x++) {
                const float *src = in + ((b * h + y) * w + x) * c;
                for (int k = 0; k < fw; k++)
                    memcpy(row + (x * fw + k) * c, src, (size_t)c * sizeof *row);
            }
            for (int k = 1; k < fh; k++)
                memcpy(row + k * ow * c, row, (size_t)(ow * c) * sizeof *row);
        }
}

/* ---- resize taps (resize_taps.h) ---------------------------------------------------------- */

tlr_resize_tap *tlr_resize_taps_bilinear(int64_t out_size, int64_t in_size)
{
    tlr_resize_tap *t = tlr_xmalloc((size_t)(out_size > 0 ? out_size : 1) * sizeof *t);
    float scale = (float)in_size / (float)out_size;
    for (int64_t i = 0; i < out_size; i++) {
        float src = ((float)i + 0.5f) * scale - 0.5f;
        float fl = floorf(src);
        int64_t lo = (int64_t)fl, hi = (int64_t)ceilf(src);
        t[i].lo = lo < 0 ? 0 : lo;
        t[i].hi = hi > in_size - 1 ? in_size - 1 : hi;
        t[i].lerp = src - fl;
    }
    return t;
}

int64_t *tlr_resize_taps_nearest(int64_t out_size, int64_t in_size)
{
    int64_t *t = tlr_xmalloc((size_t)(out_size > 0 ? out_size : 1) * sizeof *t);
    float scale = (float)in_size / (float)out_size;
    for (int64_t i = 0; i < out_size; i++) {
        int64_t s = (int64_t)floorf(((float)i + 0.5f) * scale);
        s = s > in_size - 1 ? in_size - 1 : s;
        t[i] = s < 0 ? 0 : s;
    }
    return t;
}
