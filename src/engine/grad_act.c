/* grad_act.c - gradients of the activations, the Keras ReLU layer, PReLU and softmax.
 *
 * Each derivative is of the formula ops_act.c evaluates (the same branch points, the same
 * constants), taken from the forward input x; softmax and log-softmax use the forward
 * output y instead, since their Jacobians are written in it:
 *   softmax      dx = y * (dy - sum(dy * y))
 *   log-softmax  dx = dy - exp(y) * sum(dy)
 * At a kink the flat side is taken (ReLU'(0) = 0, a clip passes only strictly inside its
 * bounds), as TensorFlow's gradients do. */
#include <math.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/grad.h"

/* tf.nn.selu constants, as ops_act.c */
#define SELU_SCALE 1.05070098735548049f
#define SELU_SCALE_ALPHA 1.75809934084737686f
/* where ops_act.c's softplus switches to x or exp(x) */
#define SOFTPLUS_CUT 13.9423847f

static inline float sigmoid_f(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* d/dx of ops_act.c's softplus, piece by piece. */
static inline float softplus_d(float x)
{
    if (x > SOFTPLUS_CUT)
        return 1.0f;
    if (x < -SOFTPLUS_CUT)
        return expf(x);
    return sigmoid_f(x);
}

static inline float softplus_f(float x)
{
    if (x > SOFTPLUS_CUT)
        return x;
    if (x < -SOFTPLUS_CUT)
        return expf(x);
    return log1pf(expf(x));
}

/* 1 strictly inside (lo, hi), else 0: the slope of a clip. */
static inline float inside(float v, float lo, float hi)
{
    return v > lo && v < hi ? 1.0f : 0.0f;
}

/* d/dx of 0.5x(1 + erf(x/sqrt2)) = Phi(x) + x phi(x). */
static inline float gelu_d(float x)
{
    return 0.5f * erfcf(-x * 0.70710678118654752f) +
           x * 0.39894228040143268f * expf(-0.5f * x * x);
}

/* d/dx of 0.5x(1 + tanh(c(x + a x^3))). */
static inline float gelu_tanh_d(float x)
{
    const float c = 0.79788456080286536f, a = 0.044715f;
    float t = tanhf(c * (x + a * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 3.0f * a * x * x);
}

/* d/dx of x tanh(softplus(x)). */
static inline float mish_d(float x)
{
    float t = tanhf(softplus_f(x));
    return t + x * (1.0f - t * t) * softplus_d(x);
}

/* ops_act.c's leaky ReLU: x or alpha*x by sign, max(alpha*x, x) for alpha > 1. */
static inline float leaky_d(float x, float alpha)
{
    if (alpha > 1.0f)
        return x > 0.0f ? alpha : 1.0f;
    return x > 0.0f ? 1.0f : alpha;
}

/* dx[i] = dy[i] * (expr of v = x[i]); dx may be dy (each element read before written). */
#define MAP_D(expr) \
    do { for (int64_t i_ = 0; i_ < n; i_++) { float v = x[i_]; dx[i_] = dy[i_] * (expr); } } \
    while (0)

/* ---- softmax -------------------------------------------------------------------------- */

static void softmax_rows_grad(const float *y, const float *dy, float *dx, int64_t n,
                              int64_t len, int take_log)
{
    if (len <= 0)
        len = n;
    for (int64_t r = 0; r + len <= n; r += len) {
        double s = 0.0;
        for (int64_t i = 0; i < len; i++)
            s += take_log ? (double)dy[r + i] : (double)dy[r + i] * (double)y[r + i];
        for (int64_t i = 0; i < len; i++) {
            float yi = y[r + i];
            dx[r + i] = take_log ? (float)((double)dy[r + i] - (double)expf(yi) * s)
                                 : (float)((double)yi * ((double)dy[r + i] - s));
        }
    }
}

void tlr_grad_softmax_axis(const float *y, const float *dy, float *dx, int64_t outer,
                           int64_t len, int64_t inner)
{
    if (len <= 0 || outer <= 0 || inner <= 0)
        return;
    if (inner == 1) {
        softmax_rows_grad(y, dy, dx, outer * len, len, 0);
        return;
    }
    double *sum = tlr_xmalloc((size_t)inner * sizeof *sum);
    for (int64_t o = 0; o < outer; o++) {
        int64_t base = o * len * inner; // (len, inner)
        for (int64_t j = 0; j < inner; j++)
            sum[j] = 0.0;
        for (int64_t l = 0; l < len; l++)
            for (int64_t j = 0; j < inner; j++)
                sum[j] += (double)dy[base + l * inner + j] * (double)y[base + l * inner + j];
        for (int64_t l = 0; l < len; l++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t i = base + l * inner + j;
                dx[i] = (float)((double)y[i] * ((double)dy[i] - sum[j]));
            }
    }
    free(sum);
}

/* ---- ReLU family ---------------------------------------------------------------------- */

/* The literal steps of tlr_op_relu_layer differentiated: y = x passes where x > threshold
 * (and, with a max_value, where the clip to [0, max_value] passes it); the slope term
 * -slope * relu(threshold - x) adds slope where x < threshold. */
void tlr_grad_relu_layer(const float *x, const float *dy, float *dx, int64_t n,
                         float max_value, float negative_slope, float threshold)
{
    int has_max = max_value >= 0.0f;
    if (negative_slope != 0.0f && !has_max && threshold == 0.0f) {
        MAP_D(leaky_d(v, negative_slope));
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float d = v > threshold && (!has_max || inside(v, 0.0f, max_value)) ? 1.0f : 0.0f;
        if (negative_slope != 0.0f && v < threshold)
            d += negative_slope;
        dx[i] = dy[i] * d;
    }
}

void tlr_grad_prelu(const float *x, const float *dy, float *dx, int64_t n, const float *alpha,
                    int64_t alpha_n)
{
    if (alpha_n <= 0) {
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i];
        return;
    }
    for (int64_t base = 0; base < n; base += alpha_n) {
        int64_t m = n - base < alpha_n ? n - base : alpha_n;
        for (int64_t j = 0; j < m; j++)
            dx[base + j] = x[base + j] > 0.0f ? dy[base + j] : alpha[j] * dy[base + j];
    }
}

/* dx = dy * (x > 0), in blocks of 64 through local arrays: the compiler vectorises those
 * (no aliasing to rule out), and a vector compare has no branch to mispredict on a ReLU's
 * as-good-as-random signs.  dx may be dy. */
static void relu_mask_grad(const float *x, const float *dy, float *dx, int64_t n)
{
    enum { B = 64 };
    int64_t i0 = 0;
    for (; i0 + B <= n; i0 += B) {
        float m[B], d[B];
        for (int i = 0; i < B; i++) {
            m[i] = x[i0 + i] > 0.0f ? 1.0f : 0.0f;
            d[i] = dy[i0 + i];
        }
        for (int i = 0; i < B; i++)
            dx[i0 + i] = d[i] * m[i];
    }
    for (; i0 < n; i0++)
        dx[i0] = dy[i0] * (x[i0] > 0.0f ? 1.0f : 0.0f);
}

/* The plain "relu" string activation, or a ReLU layer routed through the activation
 * params, as ops_act.c's relu_activation decides. */
static void relu_grad(const tlr_act_params *p, const float *x, const float *dy, float *dx,
                      int64_t n)
{
    if (p->alpha != 0.0f || p->threshold != 0.0f || p->max_value > 0.0f) {
        tlr_grad_relu_layer(x, dy, dx, n, p->max_value > 0.0f ? p->max_value : -1.0f, p->alpha,
                            p->threshold);
        return;
    }
    relu_mask_grad(x, dy, dx, n);
}

/* ---- dispatcher ----------------------------------------------------------------------- */

int tlr_grad_act_needs_output(tlr_act kind)
{
    return kind == TLR_ACT_SOFTMAX || kind == TLR_ACT_LOG_SOFTMAX;
}

/* The elementwise kinds on n values. */
static void elementwise(const tlr_act_params *p, const float *x, const float *dy, float *dx,
                        int64_t n)
{
    const float a = p->alpha;
    switch (p->kind) {
    case TLR_ACT_LINEAR:
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i];
        break;
    case TLR_ACT_RELU: relu_grad(p, x, dy, dx, n); break;
    case TLR_ACT_RELU6: MAP_D(inside(v, 0.0f, 6.0f)); break;
    case TLR_ACT_SIGMOID: MAP_D(sigmoid_f(v) * (1.0f - sigmoid_f(v))); break;
    case TLR_ACT_HARD_SIGMOID: MAP_D(0.2f * inside(0.2f * v + 0.5f, 0.0f, 1.0f)); break;
    case TLR_ACT_HARD_SIGMOID_K3: MAP_D(inside(v + 3.0f, 0.0f, 6.0f) / 6.0f); break;
    case TLR_ACT_HARD_SWISH:
        MAP_D(fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f + v * inside(v + 3.0f, 0.0f, 6.0f) / 6.0f);
        break;
    case TLR_ACT_TANH: MAP_D(1.0f - tanhf(v) * tanhf(v)); break;
    case TLR_ACT_ELU: MAP_D(v > 0.0f ? 1.0f : a * expf(v)); break;
    case TLR_ACT_SELU: MAP_D(v > 0.0f ? SELU_SCALE : SELU_SCALE_ALPHA * expf(v)); break;
    case TLR_ACT_SOFTPLUS: MAP_D(softplus_d(v)); break;
    case TLR_ACT_SOFTSIGN: MAP_D(1.0f / ((1.0f + fabsf(v)) * (1.0f + fabsf(v)))); break;
    case TLR_ACT_SWISH: MAP_D(sigmoid_f(v) * (1.0f + v * (1.0f - sigmoid_f(v)))); break;
    case TLR_ACT_GELU: MAP_D(gelu_d(v)); break;
    case TLR_ACT_GELU_TANH: MAP_D(gelu_tanh_d(v)); break;
    case TLR_ACT_EXPONENTIAL: MAP_D(expf(v)); break;
    case TLR_ACT_LEAKY_RELU: MAP_D(leaky_d(v, a)); break;
    case TLR_ACT_MISH: MAP_D(mish_d(v)); break;
    case TLR_ACT_SOFTMAX: case TLR_ACT_LOG_SOFTMAX: case TLR_ACT_COUNT:
    default:
        TLR_ASSERT(!"not an elementwise activation kind");
    }
}

typedef struct {
    const tlr_act_params *p;
    const float *x, *dy;
    float *dx;
} act_job;

static void act_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const act_job *j = ctx;
    elementwise(j->p, j->x + begin, j->dy + begin, j->dx + begin, end - begin);
}

/* Below this many values one thread does it all (waking the others costs more). */
#define PARALLEL_MIN 65536

void tlr_grad_activation(const tlr_act_params *p, const float *x, const float *y,
                         const float *dy, float *dx, int64_t n, int64_t axis_len)
{
    TLR_ASSERT(tlr_grad_act_needs_output(p->kind) ? y != NULL : x != NULL);
    if (p->kind == TLR_ACT_SOFTMAX || p->kind == TLR_ACT_LOG_SOFTMAX) {
        softmax_rows_grad(y, dy, dx, n, axis_len, p->kind == TLR_ACT_LOG_SOFTMAX);
        return;
    }
    act_job j = { p, x, dy, dx };
    if (n >= PARALLEL_MIN)
        tlr_parallel_for(n, act_task, &j); /* each value on its own: any split is exact */
    else
        elementwise(p, x, dy, dx, n);
}
