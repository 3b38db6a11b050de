/* kern_pointwise.c - threading and instruction-set choice for the 1x1 convolution; the
 * register tiles are in kern_pointwise_isa.inc, once per vector width. */
#include "engine/kern_pointwise.h"

#include <string.h>

#include "base/cpu.h"
#include "base/err.h"
#include "base/threads.h"
#include "engine/kern_simd.h"

/* Below this many multiply-adds one thread is faster (as PARALLEL_MIN_MACS in gemm.c). */
#define PW_PARALLEL_MIN_MACS ((int64_t)1 << 17)

/* Input floats of one pixel block: kept in L1 while every channel chunk reads it. */
#define PW_BLOCK_FLOATS 4096

/* A multiple of every tile height (16, 12, 8, 6 pixels with AVX-512; 8, 6, 4 with AVX2). */
#define PW_BLOCK_UNIT 48

typedef struct {
    int64_t pixels, k, n;
    int64_t k0, k1;   /* the slice of k a tile sums: [0, k) unless k is deeper than the
                         GEMM's slice (TLR_POINTWISE_K_SLICE) */
    const float *in;
    int64_t ld_in;
    const float *w;
    int64_t ld_w;
    const tlr_conv_post *post;
    float *out;
    int64_t ld_out;
    int64_t block;  /* pixels per work item */
    int64_t chunks; /* channel chunks per pixel block */
    void (*items)(const void *J, int64_t begin, int64_t end, int tid);
} pw_job;

#ifdef TLR_KERN_X86
#define PW_MR_MAX 16

/* AVX-512: tiles of 16 x 16, 12 x 32, 8 x 48, 6 x 64 (24 accumulators at most) */
#define PW_NV_MAX 4
#define PW_MR(nv) ((nv) == 1 ? 16 : (nv) == 2 ? 12 : (nv) == 3 ? 8 : 6)
#include "engine/kern_simd_avx512.inc"
#include "engine/kern_pointwise_isa.inc"
#include "engine/kern_simd_undef.inc"
#undef PW_NV_MAX
#undef PW_MR

/* AVX2: tiles of 8 x 8, 6 x 16, 4 x 24 (12 accumulators of the 16 registers) */
#define PW_NV_MAX 3
#define PW_MR(nv) ((nv) == 1 ? 8 : (nv) == 2 ? 6 : 4)
#include "engine/kern_simd_avx2.inc"
#include "engine/kern_pointwise_isa.inc"
#include "engine/kern_simd_undef.inc"
#undef PW_NV_MAX
#undef PW_MR

static void items_avx512_v(const void *J, int64_t b, int64_t e, int tid) { items_avx512(J, b, e, tid); }
static void items_avx2_v(const void *J, int64_t b, int64_t e, int tid) { items_avx2(J, b, e, tid); }
#endif

int tlr_kern_pointwise_applies(int64_t pixels, int64_t k)
{
#ifdef TLR_KERN_X86
    /* a few pixels take the GEMM's row-streaming path, whose sums run in another order */
    return tlr_cpu_isa() >= TLR_ISA_AVX2 && pixels > 4 && k > 0 && k <= TLR_POINTWISE_K_MAX;
#else
    (void)pixels;
    (void)k;
    return 0;
#endif
}

static void items_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const pw_job *J = ctx;
    J->items(J, begin, end, tid);
}

/* The job for a product, split into pixel blocks x channel chunks. */
static pw_job make_job(int64_t pixels, int64_t k, int64_t n, const float *in, int64_t ld_in,
                       const float *w, int64_t ld_w, const tlr_conv_post *post, float *out,
                       int64_t ld_out)
{
    TLR_ASSERT(tlr_kern_pointwise_applies(pixels, k) && n > 0);
    pw_job J = { pixels, k, n, 0, k, in, ld_in, w, ld_w, post, out, ld_out, 0, 0, NULL };
    int64_t chunk = 24; /* channels per chunk: PW_NV_MAX vectors */
#ifdef TLR_KERN_X86
    J.items = items_avx2_v;
    if (tlr_cpu_isa() >= TLR_ISA_AVX512) {
        J.items = items_avx512_v;
        chunk = 64;
    }
#endif
    J.chunks = (n + chunk - 1) / chunk;
    J.block = PW_BLOCK_FLOATS / k / PW_BLOCK_UNIT * PW_BLOCK_UNIT;
    if (J.block < PW_BLOCK_UNIT)
        J.block = PW_BLOCK_UNIT;
    return J;
}

void tlr_kern_pointwise(int64_t pixels, int64_t k, int64_t n, const float *in, int64_t ld_in,
                        const float *w, int64_t ld_w, const tlr_conv_post *post, float *out,
                        int64_t ld_out)
{
    pw_job J = make_job(pixels, k, n, in, ld_in, w, ld_w, post, out, ld_out);
    int64_t items = (pixels + J.block - 1) / J.block * J.chunks;
    int64_t macs = pixels * k * n;
    tlr_parallel_for_n(items, macs < PW_PARALLEL_MIN_MACS ? 1 : TLR_THREADS_MAX, items_task, &J);
}

void tlr_kern_pointwise_serial(int64_t pixels, int64_t k, int64_t n, const float *in,
                               int64_t ld_in, const float *w, int64_t ld_w,
                               const tlr_conv_post *post, float *out, int64_t ld_out, int tid)
{
    pw_job J = make_job(pixels, k, n, in, ld_in, w, ld_w, post, out, ld_out);
    J.items(&J, 0, (pixels + J.block - 1) / J.block * J.chunks, tid);
}
