/* kern_winograd.c - F(4x4, 3x3) convolution: tiling, the batched matrix products and the
 * threading; the transforms themselves are in kern_winograd_isa.inc, once per vector width.
 *
 * Data in flight (NR = the GEMM kernel's column block, MR its row block):
 *   V (36, tiles, ldv)      transformed input tiles, ldv = cin rounded up to 16
 *   U (36, panels, cin, NR) transformed kernel, packed as the GEMM kernel reads it
 *   M (36, tiles, ldm)      their products per tile position, before the output transform
 * Two schedules:
 *   fused   - the whole U fits a few MB: U is made once, then each task takes a block of
 *             tiles through input transform, the 36 products and the output transform
 *             while they are in its cache;
 *   chunked - wide layers (U would be tens of MB): V is made for a super-block of tiles,
 *             then each task takes a slice of output channels, transforms only its slice
 *             of the kernel and runs every tile of the super-block against it.
 * Each output value is computed by one task in a fixed order, so results do not depend on
 * the thread count. */
#include "engine/kern_winograd.h"

#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/err.h"
#include "base/tensor.h"
#include "base/threads.h"
#include "engine/gemm.h"

#define WG_POS 36                          /* 6 x 6 transformed tile positions */
#define FUSED_U_BYTES ((int64_t)3 << 20)   /* largest U for the fused schedule */
#define BLOCK_V_BYTES ((int64_t)192 << 10) /* a fused tile block's V (all positions) */
#define SUPER_V_BYTES ((int64_t)8 << 20)   /* a chunked super-block's V */
#define SUPER_M_BYTES ((int64_t)1 << 20)   /* a chunked task's M for the super-block */
#define CHUNK_COUT 32                      /* output channels per chunked task */
#define CHUNK_CIN 128                      /* input channels per slice of U (stays in L2) */

typedef struct wg_job wg_job;

typedef struct {
    void (*input)(const wg_job *J, int64_t t0, int64_t nt, float *V, int64_t pstride);
    void (*output)(const wg_job *J, int64_t t0, int64_t nt, const float *M, int64_t pstride,
                   int64_t ldm, int64_t co0, int64_t nco);
    void (*kernel)(const wg_job *J, int64_t co0, int64_t nco, int64_t ci0, int64_t nci,
                   float *U, int64_t pstride);
} wg_transforms;

struct wg_job {
    const tlr_conv2d_params *p;
    const float *in, *kernel;
    const tlr_conv_post *post; /* bias already folded into its shift */
    float *out;
    const tlr_gemm_kernel *kr;
    const wg_transforms *tf;
    int64_t ty, tx, tiles;  /* tiles down, across (per image) and in all */
    int64_t ldv;            /* row stride of V */
    int64_t tblk;           /* tiles per block (a multiple of MR) */
    /* fused schedule */
    const float *U;         /* all output channels */
    int64_t ups, npan;      /* its position stride and panels */
    /* chunked schedule */
    float *V;               /* super-block: tiles [s0, s0 + ns) */
    int64_t s0, ns, vps;    /* first tile, count, position stride of V */
};

#define WT_SUFFIX generic
#define WT_LANES 4
#define WT_NR 8
#define WT_TARGET
#include "engine/kern_winograd_isa.inc"
#undef WT_SUFFIX
#undef WT_LANES
#undef WT_NR
#undef WT_TARGET

#if defined(__x86_64__) && defined(__GNUC__)
#define WT_SUFFIX avx2
#define WT_LANES 8
#define WT_NR 16
#define WT_TARGET __attribute__((target("avx2,fma")))
#include "engine/kern_winograd_isa.inc"
#undef WT_SUFFIX
#undef WT_LANES
#undef WT_NR
#undef WT_TARGET

#define WT_SUFFIX avx512
#define WT_LANES 16
#define WT_NR 32
#define WT_TARGET __attribute__((target("avx512f,avx2,fma")))
#include "engine/kern_winograd_isa.inc"
#undef WT_SUFFIX
#undef WT_LANES
#undef WT_NR
#undef WT_TARGET
#endif

static const wg_transforms *transforms_for(tlr_isa isa)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == TLR_ISA_AVX512)
        return &transforms_avx512;
    if (isa == TLR_ISA_AVX2)
        return &transforms_avx2;
#endif
    (void)isa;
    return &transforms_generic;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t round_up(int64_t x, int64_t m)
{
    return (x + m - 1) / m * m;
}

int tlr_kern_winograd_applies(const tlr_conv2d_params *p)
{
    return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 &&
           p->groups <= 1 && p->n > 0 && p->oh > 0 && p->ow > 0 && p->pad_top <= 2 &&
           p->pad_left <= 2;
}

int tlr_kern_winograd_worth(const tlr_conv2d_params *p)
{
    if (!tlr_kern_winograd_applies(p))
        return 0;
    /* The input and output transforms cost per channel what the products cost per channel
     * pair: with few channels the direct GEMM wins (VGG's first layer has cin = 3). */
    if (p->cin < 16 || p->cout < 16)
        return 0;
    /* Multiplications against the direct 9 per output: 36 per tile, tiles rounded up to
     * the image edge and to whole register blocks, plus the kernel transform (about as
     * much as 8 more tile rows).  Small images (VGG's last block, 9 x 9) gain too little to
     * pay for the extra memory traffic. */
    int64_t tiles = p->n * ((p->oh + 3) / 4) * ((p->ow + 3) / 4);
    double wino = 36.0 * (double)(round_up(tiles, 4) + 8);
    double direct = 9.0 * (double)(p->n * p->oh * p->ow);
    return wino < 0.5 * direct;
}

/* Distance between the 36 position planes of V or M, in floats, for planes of 'floats':
 * an odd number of cache lines.  Plane sizes are multiples of large powers of two, and
 * the transforms touch all 36 planes at once: with an even stride the 36 lines fall into
 * a handful of L1 sets and evict each other on every vector. */
static int64_t plane_stride(int64_t floats)
{
    int64_t lines = (floats + 15) / 16;
    return (lines | 1) * 16;
}

/* M[p] (nt x panels*NR) (+)= V[p] (nt x k) x U[p] (k x panels*NR) for the 36 positions;
 * V rows at stride ldv, U as kernel() lays it out for k input channels (position stride
 * ups). */
static void products(const wg_job *J, const float *V, int64_t vps, int64_t nt, int64_t k,
                     const float *U, int64_t ups, int64_t npan, float *M, int64_t mps,
                     int64_t ldm, int accumulate)
{
    const tlr_gemm_kernel *kr = J->kr;
    int64_t mr = kr->mr, nr = kr->nr;
    for (int pos = 0; pos < WG_POS; pos++) {
        const float *Vp = V + pos * vps;
        float *Mp = M + pos * mps;
        for (int64_t j = 0; j < npan; j++) {
            const float *panel = U + pos * ups + j * k * nr;
            int64_t ir = 0;
            for (; ir + mr <= nt; ir += mr)
                kr->run(k, Vp + ir * J->ldv, J->ldv, panel, Mp + ir * ldm + j * nr, ldm, (int)mr,
                        (int)nr, accumulate, NULL);
            /* a short last block: the small kernel when it has enough rows */
            if (ir < nt) {
                tlr_gemm_kernel_fn run = nt - ir <= kr->mr_small ? kr->run_small : kr->run;
                run(k, Vp + ir * J->ldv, J->ldv, panel, Mp + ir * ldm + j * nr, ldm,
                    (int)(nt - ir), (int)nr, accumulate, NULL);
            }
        }
    }
}

/* Rows [nt, round_up(nt, MR)) of every position: the kernel reads whole MR-row blocks. */
static void zero_pad_rows(const wg_job *J, float *V, int64_t vps, int64_t nt)
{
    int64_t pad = round_up(nt, J->kr->mr) - nt;
    if (pad > 0)
        for (int pos = 0; pos < WG_POS; pos++)
            memset(V + pos * vps + nt * J->ldv, 0, (size_t)(pad * J->ldv) * sizeof *V);
}

/* ---- fused schedule: one task = one block of tiles -------------------------------------- */

static void fused_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const wg_job *J = ctx;
    int64_t ldm = J->npan * J->kr->nr;
    int64_t vps = plane_stride(J->tblk * J->ldv), mps = plane_stride(J->tblk * ldm);
    float *V = tlr_thread_scratch(tid, 0, (size_t)(WG_POS * vps) * sizeof(float));
    float *M = tlr_thread_scratch(tid, 1, (size_t)(WG_POS * mps) * sizeof(float));
    for (int64_t b = begin; b < end; b++) {
        int64_t t0 = b * J->tblk, nt = min64(J->tblk, J->tiles - t0);
        J->tf->input(J, t0, nt, V, vps);
        zero_pad_rows(J, V, vps, nt);
        products(J, V, vps, nt, J->p->cin, J->U, J->ups, J->npan, M, mps, ldm, 0);
        J->tf->output(J, t0, nt, M, mps, ldm, 0, J->p->cout);
    }
}

/* ---- chunked schedule --------------------------------------------------------------------- */

/* Phase 1: V of the super-block, one task per tile block. */
static void super_input_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const wg_job *J = ctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t off = b * J->tblk, nt = min64(J->tblk, J->ns - off);
        J->tf->input(J, J->s0 + off, nt, J->V + off * J->ldv, J->vps);
        if (off + nt == J->ns)
            zero_pad_rows(J, J->V + off * J->ldv, J->vps, nt);
    }
}

/* Phase 2: one task per slice of CHUNK_COUT output channels and every tile of the
 * super-block; U is made CHUNK_CIN input channels at a time so it stays in L2, and the
 * products accumulate over the slices in order. */
static void chunk_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const wg_job *J = ctx;
    int64_t cin = J->p->cin, nr = J->kr->nr;
    int64_t chunk = round_up(CHUNK_COUT, nr), kblk = min64(CHUNK_CIN, cin);
    int64_t mps = plane_stride(round_up(J->ns, J->kr->mr) * chunk);
    int64_t ups = plane_stride(kblk * chunk);
    float *U = tlr_thread_scratch(tid, 2, (size_t)(WG_POS * ups) * sizeof(float));
    float *M = tlr_thread_scratch(tid, 1, (size_t)(WG_POS * mps) * sizeof(float));
    for (int64_t ck = begin; ck < end; ck++) {
        int64_t co0 = ck * chunk, nco = min64(chunk, J->p->cout - co0);
        int64_t npan = (nco + nr - 1) / nr;
        for (int64_t k0 = 0; k0 < cin; k0 += kblk) {
            int64_t kc = min64(kblk, cin - k0);
            J->tf->kernel(J, co0, nco, k0, kc, U, ups);
            products(J, J->V + k0, J->vps, J->ns, kc, U, ups, npan, M, mps, chunk, k0 > 0);
        }
        J->tf->output(J, J->s0, J->ns, M, mps, chunk, co0, nco);
    }
}

/* Fused schedule: U made in parallel, by slices of panels written in place. */
static void kernel_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const wg_job *J = ctx;
    int64_t nr = J->kr->nr, cin = J->p->cin;
    int64_t co0 = begin * nr, nco = min64(end * nr, J->p->cout) - co0;
    J->tf->kernel(J, co0, nco, 0, cin, (float *)J->U + begin * cin * nr, J->ups);
}

void tlr_kern_winograd_conv3x3(const tlr_conv2d_params *p, const float *in, const float *kernel,
                          const tlr_conv_post *post, float *out)
{
    TLR_ASSERT(tlr_kern_winograd_applies(p));
    tlr_isa isa = tlr_cpu_isa();
    wg_job J = { .p = p, .in = in, .kernel = kernel, .post = post, .out = out,
                 .kr = tlr_gemm_kernel_for(isa), .tf = transforms_for(isa) };
    int64_t mr = J.kr->mr, nr = J.kr->nr;
    J.ty = (p->oh + 3) / 4;
    J.tx = (p->ow + 3) / 4;
    J.tiles = p->n * J.ty * J.tx;
    J.ldv = round_up(p->cin, 16);
    J.npan = (p->cout + nr - 1) / nr;
    J.ups = plane_stride(p->cin * J.npan * nr);
    int64_t u_bytes = WG_POS * J.ups * (int64_t)sizeof(float);
    int threads = tlr_threads_count();
    /* tile blocks: about BLOCK_V_BYTES of V per position set, whole MR blocks, and enough
     * blocks to keep every thread busy */
    int64_t tblk = BLOCK_V_BYTES / (WG_POS * J.ldv * (int64_t)sizeof(float));
    tblk = tblk < mr ? mr : tblk / mr * mr;
    if (u_bytes <= FUSED_U_BYTES) {
        int64_t per_thread = round_up((J.tiles + 2 * threads - 1) / (2 * threads), mr);
        J.tblk = min64(tblk, per_thread < mr ? mr : per_thread);
        float *U = tlr_falloc((size_t)(u_bytes / (int64_t)sizeof(float)));
        J.U = U;
        tlr_parallel_for(J.npan, kernel_task, &J);
        tlr_parallel_for((J.tiles + J.tblk - 1) / J.tblk, fused_task, &J);
        tlr_falloc_free(U);
        return;
    }
    /* super-blocks: V within SUPER_V_BYTES, each task's M within SUPER_M_BYTES */
    int64_t chunk = round_up(CHUNK_COUT, nr);
    int64_t super = min64(SUPER_V_BYTES / (WG_POS * J.ldv * (int64_t)sizeof(float)),
                          SUPER_M_BYTES / (WG_POS * chunk * (int64_t)sizeof(float)));
    super = super < mr ? mr : super / mr * mr;
    /* equal super-blocks rather than full ones and a stub */
    int64_t n_super = (J.tiles + super - 1) / super;
    super = round_up((J.tiles + n_super - 1) / n_super, mr);
    J.tblk = tblk;
    int64_t chunks = (p->cout + chunk - 1) / chunk;
    float *V = tlr_falloc((size_t)(WG_POS * plane_stride(min64(super, round_up(J.tiles, mr)) * J.ldv)));
    for (int64_t s0 = 0; s0 < J.tiles; s0 += super) {
        J.s0 = s0;
        J.ns = min64(super, J.tiles - s0);
        J.V = V;
        J.vps = plane_stride(round_up(J.ns, mr) * J.ldv);
        tlr_parallel_for((J.ns + J.tblk - 1) / J.tblk, super_input_task, &J);
        tlr_parallel_for(chunks, chunk_task, &J);
    }
    tlr_falloc_free(V);
}
