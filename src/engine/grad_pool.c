/* grad_pool.c - input gradients of max / average pooling and the global pools.
 *
 * Windows are clipped to the image exactly as ops_pool.c clips them (padding never takes
 * part).  Max pooling sends each dy to the one cell the forward kept: the window's first
 * cell, replaced by every later cell (row by row) that compares greater; so on ties the
 * first maximum wins and a NaN first cell keeps the window. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/grad.h"

/* Clips the window [start, start + k) to [0, size). */
static void window(int64_t start, int k, int64_t size, int64_t *lo, int64_t *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

/* For one window of one image (H, W, C) image: per channel, the offset (y * W + x) * C of
 * the cell the forward max kept, into 'arg' (C), with 'best' (C) as scratch. */
static void window_argmax(const float *img, int64_t w, int64_t c, int64_t y0, int64_t y1,
                          int64_t x0, int64_t x1, float *best, int64_t *arg)
{
    const float *first = img + (y0 * w + x0) * c;
    for (int64_t ch = 0; ch < c; ch++) {
        best[ch] = first[ch];
        arg[ch] = (y0 * w + x0) * c + ch;
    }
    for (int64_t y = y0; y < y1; y++)
        for (int64_t x = x0; x < x1; x++) {
            const float *v = img + (y * w + x) * c;
            for (int64_t ch = 0; ch < c; ch++)
                if (v[ch] > best[ch]) {
                    best[ch] = v[ch];
                    arg[ch] = (y * w + x) * c + ch;
                }
        }
}

void tlr_grad_maxpool2d(const tlr_pool2d_params *p, const float *x, const float *dy, float *dx)
{
    const int64_t c = p->c, img_floats = p->h * p->w * c;
    memset(dx, 0, (size_t)(p->n * img_floats) * sizeof *dx);
    float *best = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *best);
    int64_t *arg = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *arg);
    for (int64_t b = 0; b < p->n; b++) {
        const float *img = x + b * img_floats; // (H, W, C)
        float *dimg = dx + b * img_floats;
        for (int64_t oy = 0; oy < p->oh; oy++) {
            int64_t y0, y1;
            window(oy * p->sh - p->pad_top, p->kh, p->h, &y0, &y1);
            for (int64_t ox = 0; ox < p->ow; ox++) {
                int64_t x0, x1;
                window(ox * p->sw - p->pad_left, p->kw, p->w, &x0, &x1);
                if (y0 >= y1 || x0 >= x1) /* no real cell: the forward wrote a constant 0 */
                    continue;
                window_argmax(img, p->w, c, y0, y1, x0, x1, best, arg);
                const float *d = dy + ((b * p->oh + oy) * p->ow + ox) * c; // (C)
                for (int64_t ch = 0; ch < c; ch++)
                    dimg[arg[ch]] += d[ch];
            }
        }
    }
    free(best);
    free(arg);
}

void tlr_grad_avgpool2d(const tlr_pool2d_params *p, const float *dy, float *dx)
{
    const int64_t c = p->c, img_floats = p->h * p->w * c;
    memset(dx, 0, (size_t)(p->n * img_floats) * sizeof *dx);
    for (int64_t b = 0; b < p->n; b++) {
        float *dimg = dx + b * img_floats; // (H, W, C)
        for (int64_t oy = 0; oy < p->oh; oy++) {
            int64_t y0, y1;
            window(oy * p->sh - p->pad_top, p->kh, p->h, &y0, &y1);
            for (int64_t ox = 0; ox < p->ow; ox++) {
                int64_t x0, x1;
                window(ox * p->sw - p->pad_left, p->kw, p->w, &x0, &x1);
                if (y0 >= y1 || x0 >= x1)
                    continue;
                /* the forward sums the real cells, then divides by their count */
                float cnt = (float)((y1 - y0) * (x1 - x0));
                const float *d = dy + ((b * p->oh + oy) * p->ow + ox) * c; // (C)
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++) {
                        float *g = dimg + (y * p->w + xx) * c;
                        for (int64_t ch = 0; ch < c; ch++)
                            g[ch] += d[ch] / cnt;
                    }
            }
        }
    }
}

void tlr_grad_global_avgpool(int64_t n, int64_t hw, int64_t c, const float *dy, float *dx)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < hw; i++)
            for (int64_t ch = 0; ch < c; ch++)
                dx[(b * hw + i) * c + ch] = (float)((double)dy[b * c + ch] / (double)hw);
}

void tlr_grad_global_maxpool(int64_t n, int64_t hw, int64_t c, const float *x, const float *dy,
                             float *dx)
{
    memset(dx, 0, (size_t)(n * hw * c) * sizeof *dx);
    if (hw <= 0 || c <= 0)
        return;
    float *best = tlr_xmalloc((size_t)c * sizeof *best);
    int64_t *arg = tlr_xmalloc((size_t)c * sizeof *arg);
    for (int64_t b = 0; b < n; b++) {
        /* the whole map is one window of hw cells in a row */
        window_argmax(x + b * hw * c, hw, c, 0, 1, 0, hw, best, arg);
        for (int64_t ch = 0; ch < c; ch++)
            dx[b * hw * c + arg[ch]] += dy[b * c + ch];
    }
    free(best);
    free(arg);
}
