/* ops_norm.c - inference-time BatchNormalization and per-channel affine maps. */
#include <math.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "engine/ops.h"

/* Applies y = (x - sub[ch]) * mul[ch] + add[ch] over (outer, C, inner); sub/add NULL = 0. */
static void per_channel(float *x, int64_t outer, int64_t c, int64_t inner, const float *sub,
                        const float *mul, const float *add)
{
    for (int64_t o = 0; o < outer; o++) {
        float *blk = x + o * c * inner; // (C, inner)
        if (inner == 1) {
            for (int64_t ch = 0; ch < c; ch++) {
                float v = sub ? blk[ch] - sub[ch] : blk[ch];
                blk[ch] = add ? v * mul[ch] + add[ch] : v * mul[ch];
            }
            continue;
        }
        for (int64_t ch = 0; ch < c; ch++) {
            float *row = blk + ch * inner;
            float s = sub ? sub[ch] : 0.0f, m = mul[ch], a = add ? add[ch] : 0.0f;
            for (int64_t j = 0; j < inner; j++)
                row[j] = (row[j] - s) * m + a;
        }
    }
}

/* Same arithmetic as TensorFlow's fused batch norm at inference (the path Keras takes for
 * image tensors): factor = rsqrt(var + eps) * gamma once per channel, then
 * y = (x - mean) * factor + beta, all in float. */
void tlr_op_batchnorm(float *x, int64_t outer, int64_t c, int64_t inner, const float *gamma,
                      const float *beta, const float *mean, const float *var, float eps)
{
    float *factor = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *factor);
    for (int64_t ch = 0; ch < c; ch++) {
        float inv = 1.0f / sqrtf(var[ch] + eps);
        factor[ch] = gamma ? inv * gamma[ch] : inv;
    }
    per_channel(x, outer, c, inner, mean, factor, beta);
    free(factor);
}

void tlr_op_channel_affine(float *x, int64_t outer, int64_t c, int64_t inner,
                           const float *scale, const float *shift)
{
    if (!scale && !shift)
        return;
    if (scale) {
        per_channel(x, outer, c, inner, NULL, scale, shift);
        return;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < c; ch++) {
            float *row = x + (o * c + ch) * inner;
            for (int64_t j = 0; j < inner; j++)
                row[j] += shift[ch];
        }
}
