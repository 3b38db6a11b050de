/* ops_act.c - elementwise activations, softmax, the Keras ReLU layer and PReLU.
 *
 * Each formula follows what Keras runs on the TensorFlow backend (tf.nn.* kernels), so a
 * float32 model gives the same numbers here as in Keras to within a few ulps. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/vectorize.h"
#include "base/xalloc.h"
#include "engine/ops.h"

/* ---- scalar formulas ------------------------------------------------------------------ */

static inline float sigmoid_f(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* fmaxf(v, 0.0f) and fminf(v, m) exactly as glibc computes them (a NaN gives the other
 * operand, a -0 is kept), as selects the compiler can vectorise instead of calls. */
static inline float max0(float v)
{
    return v >= 0.0f ? v : 0.0f;
}

static inline float min_of(float v, float m)
{
    return v <= m ? v : m;
}

static inline float relu6_f(float x)
{
    return min_of(max0(x), 6.0f);
}

/* tf.math.softplus: past |x| > -log(eps) - 2 the exact value rounds to x or exp(x). */
static inline float softplus_f(float x)
{
    const float cut = 13.9423847f; /* -(log(FLT_EPSILON) + 2) */
    if (x > cut)
        return x;
    if (x < -cut)
        return expf(x);
    return log1pf(expf(x));
}

/* tf.nn.selu constants (Klambauer et al.): scale and scale * alpha. */
#define SELU_SCALE 1.05070098735548049f
#define SELU_SCALE_ALPHA 1.75809934084737686f

/* One pass over n values with a scalar formula; kept as a macro so the switch below stays
 * outside the loop and each loop body is inlined. */
#define MAP(expr) \
    do { for (int64_t i_ = 0; i_ < n; i_++) { float v = x[i_]; x[i_] = (expr); } } while (0)

/* ---- softmax -------------------------------------------------------------------------- */

/* Subtracting the row max keeps exp() from overflowing (1000, 1001 -> e^-1, e^0); the sum
 * is kept in double because a row can hold thousands of terms. */
static void softmax_row(float *x, int64_t len, int take_log)
{
    float mx = x[0];
    for (int64_t i = 1; i < len; i++)
        mx = fmaxf(mx, x[i]);
    double sum = 0.0;
    if (take_log) {
        for (int64_t i = 0; i < len; i++)
            sum += (double)expf(x[i] - mx);
        float lse = (float)log(sum);
        for (int64_t i = 0; i < len; i++)
            x[i] = (x[i] - mx) - lse;
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        x[i] = expf(x[i] - mx);
        sum += (double)x[i];
    }
    for (int64_t i = 0; i < len; i++)
        x[i] = (float)((double)x[i] / sum);
}

static void softmax_rows(float *x, int64_t n, int64_t len, int take_log)
{
    if (len <= 0)
        len = n;
    for (int64_t r = 0; r + len <= n; r += len)
        softmax_row(x + r, len, take_log);
}

void tlr_op_softmax_axis(float *x, int64_t outer, int64_t len, int64_t inner)
{
    if (len <= 0 || outer <= 0 || inner <= 0)
        return;
    if (inner == 1) {
        softmax_rows(x, outer * len, len, 0);
        return;
    }
    /* Walk whole rows of 'inner' contiguous values so memory is read in order. */
    float *mx = tlr_xmalloc((size_t)inner * sizeof *mx);
    double *sum = tlr_xmalloc((size_t)inner * sizeof *sum);
    for (int64_t o = 0; o < outer; o++) {
        float *base = x + o * len * inner; // (len, inner)
        for (int64_t j = 0; j < inner; j++) {
            mx[j] = base[j];
            sum[j] = 0.0;
        }
        for (int64_t l = 1; l < len; l++)
            for (int64_t j = 0; j < inner; j++)
                mx[j] = fmaxf(mx[j], base[l * inner + j]);
        for (int64_t l = 0; l < len; l++) {
            float *row = base + l * inner;
            for (int64_t j = 0; j < inner; j++) {
                row[j] = expf(row[j] - mx[j]);
                sum[j] += (double)row[j];
            }
        }
        for (int64_t l = 0; l < len; l++) {
            float *row = base + l * inner;
            for (int64_t j = 0; j < inner; j++)
                row[j] = (float)((double)row[j] / sum[j]);
        }
    }
    free(mx);
    free(sum);
}

/* ---- ReLU family ---------------------------------------------------------------------- */

/* tf.nn.leaky_relu: x or alpha*x by sign; for alpha > 1 TF computes max(alpha*x, x). */
static void leaky_relu(float *x, int64_t n, float alpha)
{
    if (alpha > 1.0f)
        MAP(fmaxf(alpha * v, v));
    else
        MAP(v > 0.0f ? v : alpha * v);
}

/* The ReLU layers of nearly every model: relu(x), clipped at max_value when it is >= 0
 * (MobileNet's ReLU6). */
TLR_VECTORIZE static void relu_clipped(float *x, int64_t n, float max_value)
{
    if (max_value >= 0.0f)
        MAP(min_of(max0(v), max_value));
    else
        MAP(max0(v));
}

/* Keras backend.relu (Keras 2) and activations.ReLU.static_call (Keras 3), step by step:
 *   neg = relu(threshold - x)                     (only when the slope is non-zero)
 *   y   = threshold != 0 ? (x > threshold ? x : 0) : relu(x)
 *   y   = clip(y, 0, max_value)                   (when max_value is given)
 *   y  -= slope * neg
 * This differs from the documented piecewise formula at the edges (x == threshold gives 0,
 * and with a negative threshold and a max_value, values in (threshold, 0) clip to 0), so
 * the steps are reproduced literally rather than the formula. */
void tlr_op_relu_layer(float *x, int64_t n, float max_value, float negative_slope,
                       float threshold)
{
    int has_max = max_value >= 0.0f;
    if (negative_slope != 0.0f && !has_max && threshold == 0.0f) {
        leaky_relu(x, n, negative_slope);
        return;
    }
    if (negative_slope == 0.0f && threshold == 0.0f) {
        relu_clipped(x, n, max_value);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float neg = fmaxf(threshold - v, 0.0f);
        float y = threshold != 0.0f ? (v > threshold ? v : 0.0f) : fmaxf(v, 0.0f);
        if (has_max)
            y = fminf(fmaxf(y, 0.0f), max_value);
        if (negative_slope != 0.0f)
            y -= negative_slope * neg;
        x[i] = y;
    }
}

void tlr_op_prelu(float *x, int64_t n, const float *alpha, int64_t alpha_n)
{
    if (alpha_n <= 0)
        return;
    for (int64_t base = 0; base < n; base += alpha_n) {
        int64_t m = n - base < alpha_n ? n - base : alpha_n;
        float *row = x + base;
        for (int64_t j = 0; j < m; j++)
            if (!(row[j] > 0.0f))
                row[j] *= alpha[j];
    }
}

/* ---- dispatcher ----------------------------------------------------------------------- */

/* The plain "relu" string activation leaves every parameter at its default; a ReLU layer
 * routed through here may set them.  max_value counts only when > 0, so a zero-filled
 * params struct means plain relu. */
static void relu_activation(const tlr_act_params *p, float *x, int64_t n)
{
    tlr_op_relu_layer(x, n, p->max_value > 0.0f ? p->max_value : -1.0f, p->alpha,
                      p->threshold);
}

void tlr_op_activation(const tlr_act_params *p, float *x, int64_t n, int64_t axis_len)
{
    const float a = p->alpha;
    switch (p->kind) {
    case TLR_ACT_LINEAR:
        break;
    case TLR_ACT_RELU:
        relu_activation(p, x, n);
        break;
    case TLR_ACT_RELU6:
        MAP(relu6_f(v));
        break;
    case TLR_ACT_SIGMOID:
        MAP(sigmoid_f(v));
        break;
    case TLR_ACT_HARD_SIGMOID:
        MAP(fminf(fmaxf(0.2f * v + 0.5f, 0.0f), 1.0f));
        break;
    case TLR_ACT_HARD_SIGMOID_K3:
        MAP(relu6_f(v + 3.0f) / 6.0f);
        break;
    case TLR_ACT_HARD_SWISH:
        MAP(v * (relu6_f(v + 3.0f) / 6.0f));
        break;
    case TLR_ACT_SOFTMAX:
        softmax_rows(x, n, axis_len, 0);
        break;
    case TLR_ACT_LOG_SOFTMAX:
        softmax_rows(x, n, axis_len, 1);
        break;
    case TLR_ACT_TANH:
        MAP(tanhf(v));
        break;
    case TLR_ACT_ELU:
        MAP(v > 0.0f ? v : a * expm1f(v));
        break;
    case TLR_ACT_SELU:
        MAP(v > 0.0f ? SELU_SCALE * v : SELU_SCALE_ALPHA * expm1f(v));
        break;
    case TLR_ACT_SOFTPLUS:
        MAP(softplus_f(v));
        break;
    case TLR_ACT_SOFTSIGN:
        MAP(v / (1.0f + fabsf(v)));
        break;
    case TLR_ACT_SWISH:
        MAP(v * sigmoid_f(v));
        break;
    case TLR_ACT_GELU:
        /* 0.5x(1 + erf(x/sqrt2)) written with erfc, which keeps precision for x << 0 */
        MAP(0.5f * v * erfcf(-v * 0.70710678118654752f));
        break;
    case TLR_ACT_GELU_TANH:
        MAP(0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))));
        break;
    case TLR_ACT_EXPONENTIAL:
        MAP(expf(v));
        break;
    case TLR_ACT_LEAKY_RELU:
        leaky_relu(x, n, a);
        break;
    case TLR_ACT_MISH:
        MAP(v * tanhf(softplus_f(v)));
        break;
    case TLR_ACT_COUNT:
    default:
        TLR_ASSERT(!"unknown activation kind");
    }
}
