/* grad_norm.c - gradients of inference BatchNormalization and the per-channel affine map
 * (Rescaling, Normalization): both are y = x * factor[ch] + constant, so dx = dy * factor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/grad.h"

/* dx = dy * mul[ch] over (outer, C, inner). */
static void scale_channels(const float *dy, float *dx, int64_t outer, int64_t c, int64_t inner,
                           const float *mul)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t base = (o * c + ch) * inner;
            for (int64_t j = 0; j < inner; j++)
                dx[base + j] = dy[base + j] * mul[ch];
        }
}

void tlr_grad_batchnorm(const float *dy, float *dx, int64_t outer, int64_t c, int64_t inner,
                        const float *gamma, const float *var, float eps)
{
    /* the factor exactly as tlr_op_batchnorm rounds it: rsqrt(var + eps) * gamma in float */
    float *factor = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *factor);
    for (int64_t ch = 0; ch < c; ch++) {
        float inv = 1.0f / sqrtf(var[ch] + eps);
        factor[ch] = gamma ? inv * gamma[ch] : inv;
    }
    scale_channels(dy, dx, outer, c, inner, factor);
    free(factor);
}

void tlr_grad_channel_affine(const float *dy, float *dx, int64_t outer, int64_t c,
                             int64_t inner, const float *scale)
{
    if (!scale) {
        if (dx != dy)
            memcpy(dx, dy, (size_t)(outer * c * inner) * sizeof *dx);
        return;
    }
    scale_channels(dy, dx, outer, c, inner, scale);
}
