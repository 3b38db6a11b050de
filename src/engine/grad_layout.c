/* grad_layout.c - gradients of the data-movement ops: padding and cropping undo each other,
 * resizing scatters each output's dy back onto the cells it was read from, nearest
 * upsampling sums its blocks, a transpose runs backwards, a concatenation splits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "engine/grad.h"
#include "engine/resize_taps.h"

void tlr_grad_pad2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                    int right, const float *dy, float *dx)
{
    /* dy is the padded (N, H+top+bottom, W+left+right, C): crop it back */
    tlr_op_crop2d(n, h + top + bottom, w + left + right, c, top, bottom, left, right, dy, dx);
}

void tlr_grad_crop2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                     int right, const float *dy, float *dx)
{
    int64_t oh = h - top - bottom, ow = w - left - right;
    if (oh <= 0 || ow <= 0) { /* nothing survived the crop */
        memset(dx, 0, (size_t)(n * h * w * c) * sizeof *dx);
        return;
    }
    tlr_op_pad2d(n, oh, ow, c, top, bottom, left, right, dy, dx);
}

/* ---- resize --------------------------------------------------------------------------- */

/* The same taps as the forward resize (resize_taps.h), with dy scattered back along them. */
static void resize_nearest_grad(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                                int64_t ow, const float *dy, float *dx)
{
    int64_t *ys = tlr_resize_taps_nearest(oh, h), *xs = tlr_resize_taps_nearest(ow, w);
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++) {
                const float *d = dy + ((b * oh + y) * ow + x) * c;
                float *g = dx + ((b * h + ys[y]) * w + xs[x]) * c;
                for (int64_t ch = 0; ch < c; ch++)
                    g[ch] += d[ch];
            }
    free(ys);
    free(xs);
}

/* The forward o = t + (d - t) * yl with t, d the x-interpolations of the top and bottom
 * rows is linear in its four cells with weights (1-xl)(1-yl), xl(1-yl), (1-xl)yl, xl*yl. */
static void resize_bilinear_grad(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                                 int64_t ow, const float *dy, float *dx)
{
    tlr_resize_tap *ys = tlr_resize_taps_bilinear(oh, h), *xs = tlr_resize_taps_bilinear(ow, w);
    for (int64_t b = 0; b < n; b++) {
        float *img = dx + b * h * w * c; // (H, W, C)
        for (int64_t y = 0; y < oh; y++) {
            float *top = img + ys[y].lo * w * c, *bot = img + ys[y].hi * w * c;
            float yl = ys[y].lerp;
            for (int64_t x = 0; x < ow; x++) {
                float xl = xs[x].lerp;
                float wtl = (1.0f - xl) * (1.0f - yl), wtr = xl * (1.0f - yl);
                float wbl = (1.0f - xl) * yl, wbr = xl * yl;
                float *tl = top + xs[x].lo * c, *tr = top + xs[x].hi * c;
                float *bl = bot + xs[x].lo * c, *br = bot + xs[x].hi * c;
                const float *d = dy + ((b * oh + y) * ow + x) * c;
                for (int64_t ch = 0; ch < c; ch++) { /* taps may coincide: add one by one */
                    tl[ch] += d[ch] * wtl;
                    tr[ch] += d[ch] * wtr;
                    bl[ch] += d[ch] * wbl;
                    br[ch] += d[ch] * wbr;
                }
            }
        }
    }
    free(ys);
    free(xs);
}

void tlr_grad_resize2d(tlr_resize_mode mode, int64_t n, int64_t h, int64_t w, int64_t c,
                       int64_t oh, int64_t ow, const float *dy, float *dx)
{
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return;
    memset(dx, 0, (size_t)(n * h * w * c) * sizeof *dx);
    if (oh <= 0 || ow <= 0)
        return;
    if (oh == h && ow == w) { /* the forward copies a same-size resize */
        memcpy(dx, dy, (size_t)(n * h * w * c) * sizeof *dx);
        return;
    }
    if (mode == TLR_RESIZE_NEAREST)
        resize_nearest_grad(n, h, w, c, oh, ow, dy, dx);
    else
        resize_bilinear_grad(n, h, w, c, oh, ow, dy, dx);
}

void tlr_grad_upsample_nearest(int64_t n, int64_t h, int64_t w, int64_t c, int fh, int fw,
                               const float *dy, float *dx)
{
    int64_t ow = w * fw;
    memset(dx, 0, (size_t)(n * h * w * c) * sizeof *dx);
    for (int64_t b = 0; b < n; b++)
        for (int64_t y = 0; y < h; y++) {
            float *g = dx + (b * h + y) * w * c; // (W, C)
            for (int k = 0; k < fh; k++) {
                const float *row = dy + (b * h * fh + y * fh + k) * ow * c; // (OW, C)
                for (int64_t x = 0; x < w; x++)
                    for (int m = 0; m < fw; m++) {
                        const float *d = row + (x * fw + m) * c;
                        for (int64_t ch = 0; ch < c; ch++)
                            g[x * c + ch] += d[ch];
                    }
            }
        }
}

/* ---- transpose and concat ---------------------------------------------------------------- */

void tlr_grad_transpose(int ndim, const int64_t *shape, const int *perm, const float *dy,
                        float *dx)
{
    TLR_ASSERT(ndim >= 1 && ndim <= 16);
    /* dy has axis i of size shape[perm[i]]; dy's axis inv[j] is the input's axis j */
    int64_t dshape[16];
    int inv[16];
    for (int i = 0; i < ndim; i++) {
        dshape[i] = shape[perm[i]];
        inv[perm[i]] = i;
    }
    tlr_tensor_transpose(ndim, dshape, inv, dy, dx);
}

void tlr_grad_concat(const float *dy, const int64_t *len, int n_in, int64_t outer,
                     int64_t inner, float *const *dx)
{
    int64_t total = 0;
    for (int k = 0; k < n_in; k++)
        total += len[k];
    for (int64_t o = 0; o < outer; o++) {
        const float *src = dy + o * total * inner; // (total, inner)
        for (int k = 0; k < n_in; k++) {
            size_t cnt = (size_t)(len[k] * inner);
            memcpy(dx[k] + o * len[k] * inner, src, cnt * sizeof *src);
            src += cnt;
        }
    }
}
