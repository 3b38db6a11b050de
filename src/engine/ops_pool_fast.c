/* ops_pool_fast.c - the fast MaxPooling2D (output rows on the thread pool) and
 * GlobalAveragePooling2D, vectors along the channel axis; contracts in ops.h.
 *
 * The row function is written once with 8-float GCC vectors and inlined into two callers:
 * one compiled for AVX2 (one register per vector) and a portable one (the compiler splits
 * each vector in two SSE halves, or plain floats elsewhere), picked with tlr_cpu_isa(). */

#include <string.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "engine/ops.h"

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* any float address */

typedef struct {
    const tlr_pool2d_params *p;
    const float *in;
    float *out;
} pool_job;

/* [lo, hi) = window [start, start + k) clipped to [0, size). */
static inline void clip(int64_t start, int k, int64_t size, int64_t *lo, int64_t *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

/* o = v where v compares greater (a macro: a function taking 32-byte vectors would have a
 * different ABI with and without AVX). */
#define VMAX_INTO(o, v)                                                                  \
    do {                                                                                 \
        v8 v_ = (v);                                                                     \
        v8i m_ = v_ > (o);                                                               \
        (o) = (v8)((m_ & (v8i)v_) | (~m_ & (v8i)(o)));                                   \
    } while (0)

/* Output row r (flattened over N, OH). */
static inline __attribute__((always_inline)) void pool_row(const pool_job *J, int64_t r)
{
    const tlr_pool2d_params *p = J->p;
    const int64_t c = p->c, b = r / p->oh, oy = r % p->oh;
    const float *img = J->in + b * p->h * p->w * c; // (H, W, C)
    float *orow = J->out + r * p->ow * c;           // (OW, C)
    int64_t y0, y1;
    clip(oy * p->sh - p->pad_top, p->kh, p->h, &y0, &y1);
    for (int64_t ox = 0; ox < p->ow; ox++) {
        int64_t x0, x1;
        clip(ox * p->sw - p->pad_left, p->kw, p->w, &x0, &x1);
        float *o = orow + ox * c;
        if (y0 >= y1 || x0 >= x1) { /* no real cell: cannot happen with 'same' */
            memset(o, 0, (size_t)c * sizeof *o);
            continue;
        }
        const float *first = img + (y0 * p->w + x0) * c;
        int64_t ch = 0;
        for (; ch + 8 <= c; ch += 8) {
            v8 m = *(const v8u *)(first + ch);
            for (int64_t y = y0; y < y1; y++)
                for (int64_t x = x0; x < x1; x++)
                    VMAX_INTO(m, *(const v8u *)(img + (y * p->w + x) * c + ch));
            *(v8u *)(o + ch) = m;
        }
        for (; ch < c; ch++) {
            float m = first[ch];
            for (int64_t y = y0; y < y1; y++)
                for (int64_t x = x0; x < x1; x++) {
                    float v = img[(y * p->w + x) * c + ch];
                    if (v > m)
                        m = v;
                }
            o[ch] = m;
        }
    }
}

static void rows_generic(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    for (int64_t r = begin; r < end; r++)
        pool_row(ctx, r);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void rows_avx2(void *ctx, int64_t begin, int64_t end,
                                                      int tid)
{
    (void)tid;
    for (int64_t r = begin; r < end; r++)
        pool_row(ctx, r);
}
#endif

/* ---- GlobalAveragePooling2D: sums in double, per channel in pixel order, as the reference;
 * vectors run across channels, so every sum is the same sequence of additions. */

typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16), aligned(4)));

static inline __attribute__((always_inline)) void gap_image(int64_t hw, int64_t c,
                                                            const float *img, float *o)
{
    int64_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
        v4d acc = { 0 };
        for (int64_t i = 0; i < hw; i++) {
            v4f x = *(const v4f *)(img + i * c + ch);
            acc += __builtin_convertvector(x, v4d);
        }
        for (int l = 0; l < 4; l++)
            o[ch + l] = hw > 0 ? (float)(acc[l] / (double)hw) : 0.0f;
    }
    for (; ch < c; ch++) {
        double acc = 0.0;
        for (int64_t i = 0; i < hw; i++)
            acc += (double)img[i * c + ch];
        o[ch] = hw > 0 ? (float)(acc / (double)hw) : 0.0f;
    }
}

static void gap_generic(int64_t n, int64_t hw, int64_t c, const float *in, float *out)
{
    for (int64_t b = 0; b < n; b++)
        gap_image(hw, c, in + b * hw * c, out + b * c);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void gap_avx2(int64_t n, int64_t hw, int64_t c,
                                                    const float *in, float *out)
{
    for (int64_t b = 0; b < n; b++)
        gap_image(hw, c, in + b * hw * c, out + b * c);
}
#endif

void tlr_op_global_avgpool(int64_t n, int64_t hw, int64_t c, const float *in, float *out)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (tlr_cpu_isa() >= TLR_ISA_AVX2) {
        gap_avx2(n, hw, c, in, out);
        return;
    }
#endif
    gap_generic(n, hw, c, in, out);
}

void tlr_op_maxpool2d(const tlr_pool2d_params *p, const float *in, float *out)
{
    pool_job J = { p, in, out };
    tlr_task_fn fn = rows_generic;
#if defined(__x86_64__) && defined(__GNUC__)
    if (tlr_cpu_isa() >= TLR_ISA_AVX2)
        fn = rows_avx2;
#endif
    int64_t rows = p->n * p->oh;
    /* one thread for small maps: waking the other and moving the data between the cores'
     * caches costs more than it saves */
    int64_t work = rows * p->ow * p->c * p->kh * p->kw;
    tlr_parallel_for_n(rows, work < ((int64_t)1 << 20) ? 1 : TLR_THREADS_MAX, fn, &J);
}
