/* reverse_use.c - what the gradients are for: Grad-CAM maps and the steps of a gradient
 * ascent (filter patterns), as shared/oracle/oracle_grad.py defines them. */
#include "engine/reverse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void tlr_gradcam_map(const tlr_tensor *A, const tlr_tensor *g, int b, float *cam)
{
    int64_t h = A->shape[1], w = A->shape[2], k = A->shape[3], hw = h * w;
    const float *a = A->data + (int64_t)b * hw * k, *d = g->data + (int64_t)b * hw * k;
    double *alpha = tlr_xcalloc((size_t)k, sizeof *alpha);
    for (int64_t i = 0; i < hw; i++)
        for (int64_t c = 0; c < k; c++)
            alpha[c] += (double)d[i * k + c];
    for (int64_t c = 0; c < k; c++)
        alpha[c] /= (double)hw;
    double top = 0.0;
    for (int64_t i = 0; i < hw; i++) {
        double s = 0.0;
        for (int64_t c = 0; c < k; c++)
            s += alpha[c] * (double)a[i * k + c];
        s = s > 0.0 ? s : 0.0;
        cam[i] = (float)s;
        top = s > top ? s : top;
    }
    for (int64_t i = 0; i < hw; i++)
        cam[i] = top > 0.0 ? (float)((double)cam[i] / top) : 0.0f;
    free(alpha);
}

/* splitmix64: a small generator with a fixed sequence per seed, so patterns are the same on
 * every run and machine. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tlr_ascent_init(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.4f + 0.2f * (float)((double)(next_random(&s) >> 11) / 9007199254740992.0);
}

void tlr_ascent_step(float *x, const float *g, int64_t n_img, int64_t per_img, float lr)
{
    for (int64_t b = 0; b < n_img; b++) {
        const float *gb = g + b * per_img;
        float *xb = x + b * per_img;
        double ss = 0.0;
        for (int64_t i = 0; i < per_img; i++)
            ss += (double)gb[i] * (double)gb[i];
        if (ss <= 0.0)
            continue;
        double f = (double)lr / sqrt(ss);
        for (int64_t i = 0; i < per_img; i++)
            xb[i] = (float)((double)xb[i] + f * (double)gb[i]);
    }
}
