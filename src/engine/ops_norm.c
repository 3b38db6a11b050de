/* ops_norm.c - inference-time BatchNormalization and per-channel affine maps. */
#include <math.h>
#include <stdlib.h>

#include "base/threads.h"
#include "base/vectorize.h"
#include "base/xalloc.h"
#include "engine/ops.h"

/* y = (x - sub[ch]) * mul[ch] + add[ch] over (outer, C, inner); sub/add NULL = 0.  y may be
 * x.  Each block of C x inner values on its own: rows of blocks run on the pool. */
typedef struct {
    const float *x;
    float *y;
    int64_t c, inner;
    const float *sub, *mul, *add;
} affine_job;

/* Channels last (inner == 1): one value per channel, a row of C per position. */
TLR_VECTORIZE static void affine_rows(const affine_job *J, int64_t o0, int64_t o1)
{
    const int64_t c = J->c;
    for (int64_t o = o0; o < o1; o++) {
        const float *src = J->x + o * c;
        float *dst = J->y + o * c;
        if (J->sub && J->add)
            for (int64_t ch = 0; ch < c; ch++)
                dst[ch] = (src[ch] - J->sub[ch]) * J->mul[ch] + J->add[ch];
        else if (J->add)
            for (int64_t ch = 0; ch < c; ch++)
                dst[ch] = src[ch] * J->mul[ch] + J->add[ch];
        else if (J->sub)
            for (int64_t ch = 0; ch < c; ch++)
                dst[ch] = (src[ch] - J->sub[ch]) * J->mul[ch];
        else
            for (int64_t ch = 0; ch < c; ch++)
                dst[ch] = src[ch] * J->mul[ch];
    }
}

/* Channels first: a plane of 'inner' values per channel. */
TLR_VECTORIZE static void affine_planes(const affine_job *J, int64_t o0, int64_t o1)
{
    const int64_t c = J->c, inner = J->inner;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float *src = J->x + (o * c + ch) * inner;
            float *dst = J->y + (o * c + ch) * inner;
            float s = J->sub ? J->sub[ch] : 0.0f, m = J->mul[ch], a = J->add ? J->add[ch] : 0.0f;
            for (int64_t j = 0; j < inner; j++)
                dst[j] = (src[j] - s) * m + a;
        }
}

static void affine_task(void *ctx, int64_t o0, int64_t o1, int tid)
{
    (void)tid;
    const affine_job *J = ctx;
    if (J->inner == 1)
        affine_rows(J, o0, o1);
    else
        affine_planes(J, o0, o1);
}

static void per_channel(const float *x, float *y, int64_t outer, int64_t c, int64_t inner,
                        const float *sub, const float *mul, const float *add)
{
    affine_job J = { x, y, c, inner, sub, mul, add };
    if (outer * c * inner < ((int64_t)1 << 16))
        affine_task(&J, 0, outer, 0);
    else
        tlr_parallel_for(outer, affine_task, &J);
}

/* Same arithmetic as TensorFlow's fused batch norm at inference (the path Keras takes for
 * image tensors): factor = rsqrt(var + eps) * gamma once per channel, then
 * y = (x - mean) * factor + beta, all in float. */
void tlr_op_batchnorm_to(const float *x, float *y, int64_t outer, int64_t c, int64_t inner,
                         const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps)
{
    float *factor = tlr_xmalloc((size_t)(c > 0 ? c : 1) * sizeof *factor);
    for (int64_t ch = 0; ch < c; ch++) {
        float inv = 1.0f / sqrtf(var[ch] + eps);
        factor[ch] = gamma ? inv * gamma[ch] : inv;
    }
    per_channel(x, y, outer, c, inner, mean, factor, beta);
    free(factor);
}

void tlr_op_batchnorm(float *x, int64_t outer, int64_t c, int64_t inner, const float *gamma,
                      const float *beta, const float *mean, const float *var, float eps)
{
    tlr_op_batchnorm_to(x, x, outer, c, inner, gamma, beta, mean, var, eps);
}

void tlr_op_channel_affine(float *x, int64_t outer, int64_t c, int64_t inner,
                           const float *scale, const float *shift)
{
    if (!scale && !shift)
        return;
    if (scale) {
        per_channel(x, x, outer, c, inner, NULL, scale, shift);
        return;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ch = 0; ch < c; ch++) {
            float *row = x + (o * c + ch) * inner;
            for (int64_t j = 0; j < inner; j++)
                row[j] += shift[ch];
        }
}
