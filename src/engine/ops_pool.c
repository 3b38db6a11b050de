/* ops_pool.c - 2-D max / average pooling and the global pools.
 *
 * 'same' padding arrives as pad_top / pad_left (the caller resolved it).  Like TensorFlow,
 * padded cells never take part: max pooling looks only at real cells, and average pooling
 * divides by the number of real cells in the window (a 3x3 corner window with one row and
 * one column of padding divides by 4, not 9). */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/ops.h"

/* Clips the window [start, start + k) to [0, size). */
static void window(int64_t start, int k, int64_t size, int64_t *lo, int64_t *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

void tlr_op_maxpool2d_ref(const tlr_pool2d_params *p, const float *in, float *out)
{
    const int64_t c = p->c;
    for (int64_t b = 0; b < p->n; b++) {
        const float *img = in + b * p->h * p->w * c; // (H, W, C)
        for (int64_t oy = 0; oy < p->oh; oy++) {
            int64_t y0, y1;
            window(oy * p->sh - p->pad_top, p->kh, p->h, &y0, &y1);
            for (int64_t ox = 0; ox < p->ow; ox++) {
                int64_t x0, x1;
                window(ox * p->sw - p->pad_left, p->kw, p->w, &x0, &x1);
                float *o = out + ((b * p->oh + oy) * p->ow + ox) * c; // (C)
                if (y0 >= y1 || x0 >= x1) { /* no real cell: cannot happen with 'same' */
                    memset(o, 0, (size_t)c * sizeof *o);
                    continue;
                }
                memcpy(o, img + (y0 * p->w + x0) * c, (size_t)c * sizeof *o);
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t x = x0; x < x1; x++) {
                        const float *v = img + (y * p->w + x) * c;
                        for (int64_t ch = 0; ch < c; ch++)
                            if (v[ch] > o[ch])
                                o[ch] = v[ch];
                    }
            }
        }
    }
}

void tlr_op_avgpool2d(const tlr_pool2d_params *p, const float *in, float *out)
{
    const int64_t c = p->c;
    for (int64_t b = 0; b < p->n; b++) {
        const float *img = in + b * p->h * p->w * c; // (H, W, C)
        for (int64_t oy = 0; oy < p->oh; oy++) {
            int64_t y0, y1;
            window(oy * p->sh - p->pad_top, p->kh, p->h, &y0, &y1);
            for (int64_t ox = 0; ox < p->ow; ox++) {
                int64_t x0, x1;
                window(ox * p->sw - p->pad_left, p->kw, p->w, &x0, &x1);
                float *o = out + ((b * p->oh + oy) * p->ow + ox) * c; // (C)
                memset(o, 0, (size_t)c * sizeof *o);
                int64_t count = (y1 - y0) * (x1 - x0);
                if (y0 >= y1 || x0 >= x1)
                    continue;
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t x = x0; x < x1; x++) {
                        const float *v = img + (y * p->w + x) * c;
                        for (int64_t ch = 0; ch < c; ch++)
                            o[ch] += v[ch];
                    }
                float cnt = (float)count;
                for (int64_t ch = 0; ch < c; ch++)
                    o[ch] /= cnt;
            }
        }
    }
}

/* Sums in double: a 150x150 map is 22500 terms, enough to lose digits in float. */
void tlr_op_global_avgpool_ref(int64_t n, int64_t hw, int64_t c, const float *in, float *out)
{
    double *acc = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *acc);
    for (int64_t b = 0; b < n; b++) {
        const float *img = in + b * hw * c; // (HW, C)
        for (int64_t ch = 0; ch < c; ch++)
            acc[ch] = 0.0;
        for (int64_t i = 0; i < hw; i++)
            for (int64_t ch = 0; ch < c; ch++)
                acc[ch] += (double)img[i * c + ch];
        for (int64_t ch = 0; ch < c; ch++)
            out[b * c + ch] = hw > 0 ? (float)(acc[ch] / (double)hw) : 0.0f;
    }
    free(acc);
}

void tlr_op_global_maxpool(int64_t n, int64_t hw, int64_t c, const float *in, float *out)
{
    for (int64_t b = 0; b < n; b++) {
        const float *img = in + b * hw * c; // (HW, C)
        float *o = out + b * c;
        if (hw <= 0) {
            memset(o, 0, (size_t)c * sizeof *o);
            continue;
        }
        memcpy(o, img, (size_t)c * sizeof *o);
        for (int64_t i = 1; i < hw; i++)
            for (int64_t ch = 0; ch < c; ch++)
                if (img[i * c + ch] > o[ch])
                    o[ch] = img[i * c + ch];
    }
}
