/* kern_depthwise.c - threading and instruction-set choice for the fast depthwise convolution;
 * the row kernel is in kern_depthwise_isa.inc, once per vector width. */
#include "engine/kern_depthwise.h"

#include <string.h>

#include "base/cpu.h"
#include "base/err.h"
#include "base/threads.h"

typedef struct {
    const tlr_conv2d_params *p;
    const float *in, *kernel;
    const tlr_conv_post *post; /* bias already folded into its shift */
    float *out;
    void (*rows)(const void *J, int64_t r0, int64_t r1);
} dw_job;

#define DW_SUFFIX generic
#define DW_LANES 4
#define DW_TARGET
#define DW_FMA(acc, x, k) ((acc) + (x) * (k))
#include "engine/kern_depthwise_isa.inc"
#undef DW_SUFFIX
#undef DW_LANES
#undef DW_TARGET
#undef DW_FMA

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define DW_SUFFIX avx2
#define DW_LANES 8
#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_FMA(acc, x, k) ((VF)_mm256_fmadd_ps((__m256)(x), (__m256)(k), (__m256)(acc)))
#include "engine/kern_depthwise_isa.inc"
#undef DW_SUFFIX
#undef DW_LANES
#undef DW_TARGET
#undef DW_FMA

#define DW_SUFFIX avx512
#define DW_LANES 16
#define DW_TARGET __attribute__((target("avx512f,avx2,fma")))
#define DW_FMA(acc, x, k) ((VF)_mm512_fmadd_ps((__m512)(x), (__m512)(k), (__m512)(acc)))
#include "engine/kern_depthwise_isa.inc"
#undef DW_SUFFIX
#undef DW_LANES
#undef DW_TARGET
#undef DW_FMA
#endif

static void rows_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const dw_job *J = ctx;
    J->rows(J, begin, end);
}

static void rows_generic_v(const void *J, int64_t r0, int64_t r1) { rows_generic(J, r0, r1); }
#if defined(__x86_64__) && defined(__GNUC__)
static void rows_avx2_v(const void *J, int64_t r0, int64_t r1) { rows_avx2(J, r0, r1); }
static void rows_avx512_v(const void *J, int64_t r0, int64_t r1) { rows_avx512(J, r0, r1); }
#endif

static dw_job make_job(const tlr_conv2d_params *p, const float *in, const float *kernel,
                       const tlr_conv_post *post, float *out)
{
    TLR_ASSERT(p->cout == p->cin);
    dw_job J = { p, in, kernel, post, out, rows_generic_v };
#if defined(__x86_64__) && defined(__GNUC__)
    tlr_isa isa = tlr_cpu_isa();
    if (isa == TLR_ISA_AVX512)
        J.rows = rows_avx512_v;
    else if (isa == TLR_ISA_AVX2)
        J.rows = rows_avx2_v;
#endif
    return J;
}

void tlr_kern_depthwise_rows(const tlr_conv2d_params *p, const float *in, const float *kernel,
                             const tlr_conv_post *post, float *out, int64_t r0, int64_t r1)
{
    dw_job J = make_job(p, in, kernel, post, out);
    if (r0 < r1)
        J.rows(&J, r0, r1);
}

void tlr_kern_depthwise_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                               const tlr_conv_post *post, float *out)
{
    dw_job J = make_job(p, in, kernel, post, out);
    int64_t rows = p->n * p->oh;
    /* one thread for small maps: waking the others and moving the data between the cores'
     * caches costs more than it saves (see PARALLEL_MIN_MACS in gemm.c) */
    int64_t macs = rows * p->ow * p->cin * p->kh * p->kw;
    tlr_parallel_for_n(rows, macs < ((int64_t)1 << 16) ? 1 : TLR_THREADS_MAX, rows_task, &J);
}
