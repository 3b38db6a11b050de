/* kern_stem.c - threading and instruction-set choice for the few-channel direct
 * convolution; the tiles are in kern_stem_isa.inc, once per vector width. */
#include "engine/kern_stem.h"

#include "base/cpu.h"
#include "base/err.h"
#include "base/threads.h"
#include "engine/kern_simd.h"

/* Vectors of output channels per chunk (AVX-512 64 channels, AVX2 24). */
#define ST_NV_MAX (SV_LANES == 16 ? 4 : 3)

/* Input channels and kernel rows the tiles take. */
#define ST_CIN_MAX 8
#define ST_KH_MAX 16


typedef struct {
    const tlr_conv2d_params *p;
    const float *in, *kernel;
    const tlr_conv_post *post; /* bias already folded into its shift */
    float *out;
    void (*rows)(const void *J, int64_t r0, int64_t r1);
} st_job;

#ifdef TLR_KERN_X86
#include "engine/kern_simd_avx512.inc"
#include "engine/kern_stem_isa.inc"
#include "engine/kern_simd_undef.inc"

#include "engine/kern_simd_avx2.inc"
#include "engine/kern_stem_isa.inc"
#include "engine/kern_simd_undef.inc"

static void rows_avx512_v(const void *J, int64_t r0, int64_t r1) { rows_avx512(J, r0, r1); }
static void rows_avx2_v(const void *J, int64_t r0, int64_t r1) { rows_avx2(J, r0, r1); }

static void rows_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const st_job *J = ctx;
    J->rows(J, begin, end);
}
#endif

int tlr_kern_stem_applies(const tlr_conv2d_params *p)
{
#ifdef TLR_KERN_X86
    tlr_isa isa = tlr_cpu_isa();
    if (isa < TLR_ISA_AVX2 || p->groups > 1 || p->cin > ST_CIN_MAX || p->dw != 1 ||
        p->kh > ST_KH_MAX || (p->kh == 1 && p->kw == 1))
        return 0;
    return 1;
#else
    (void)p;
    return 0;
#endif
}

void tlr_kern_stem_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                          const tlr_conv_post *post, float *out)
{
    TLR_ASSERT(tlr_kern_stem_applies(p));
#ifdef TLR_KERN_X86
    tlr_isa isa = tlr_cpu_isa();
    st_job J = { p, in, kernel, post, out, isa >= TLR_ISA_AVX512 ? rows_avx512_v : rows_avx2_v };
    int64_t macs = p->n * p->oh * p->ow * p->kh * p->kw * p->cin * p->cout;
    tlr_parallel_for_n(p->n * p->oh, macs < ((int64_t)1 << 17) ? 1 : TLR_THREADS_MAX, rows_task,
                       &J);
#else
    (void)in, (void)kernel, (void)post, (void)out;
#endif
}
