/* winograd.c - F(4x4, 3x3) convolution: tiling, the batched matrix products and the
 * threading; the transforms themselves are in winograd_tf.h, once per vector width.
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
#include "winograd.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "err.h"
#include "gemm.h"
#include "tensor.h"
#include "threads.h"

#define WG_POS 36                      /* 6 x 6 transformed tile positions */
#define FUSED_U_BYTES ((int64_t)3 << 20) /* largest U for the fused schedule */
#define SUPER_V_BYTES ((int64_t)8 << 20) /* largest V super-block of the chunked schedule */
#define BLOCK_V_BYTES ((int64_t)96 << 10) /* aim for a tile block's V per position set */
#define CHUNK_COUT 64                  /* output channels per task, chunked schedule */

typedef struct wg_job wg_job;

typedef struct {
    void (*input)(const wg_job *J, int64_t t0, int64_t nt, float *V, int64_t pstride);
    void (*output)(const wg_job *J, int64_t t0, int64_t nt, const float *M, int64_t pstride,
                   int64_t ldm, int64_t co0, int64_t nco);
    void (*kernel)(const wg_job *J, int64_t co0, int64_t nco, float *U);
} wg_transforms;

struct wg_job {
    const tlr_conv2d_params *p;
    const float *in, *kernel, *bias;
    tlr_epilogue epi;
    float *out;
    const tlr_gemm_kernel *kr;
    const wg_transforms *tf;
    int64_t ty, tx, tiles;  /* tiles down, across (per image) and in all */
    int64_t ldv;            /* row stride of V */
    int64_t tblk;           /* tiles per block (a multiple of MR) */
    /* fused schedule */
    const float *U;         /* all output channels */
    int64_t npan;           /* its panels */
    /* chunked schedule */
    float *V;               /* super-block: tiles [s0, s0 + ns) */
    int64_t s0, ns, vps;    /* first tile, count, position stride of V */
};

#define WT_SUFFIX generic
#define WT_LANES 4
#define WT_TARGET
#include "winograd_tf.h"
#undef WT_SUFFIX
#undef WT_LANES
#undef WT_TARGET

#if defined(__x86_64__) && defined(__GNUC__)
#define WT_SUFFIX avx2
#define WT_LANES 8
#define WT_TARGET __attribute__((target("avx2,fma")))
#include "winograd_tf.h"
#undef WT_SUFFIX
#undef WT_LANES
#undef WT_TARGET

#define WT_SUFFIX avx512
#define WT_LANES 16
#define WT_TARGET __attribute__((target("avx512f,avx2,fma")))
#include "winograd_tf.h"
#undef WT_SUFFIX
#undef WT_LANES
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

int tlr_winograd_applies(const tlr_conv2d_params *p)
{
    return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 &&
           p->groups <= 1 && p->n > 0 && p->oh > 0 && p->ow > 0 && p->pad_top <= 2 &&
           p->pad_left <= 2;
}

int tlr_winograd_worth(const tlr_conv2d_params *p)
{
    /* The transforms cost per channel what the products cost per channel pair: with few
     * channels the direct GEMM wins (VGG's first layer has cin = 3). */
    return tlr_winograd_applies(p) && p->cin >= 16 && p->cout >= 16 &&
           p->n * p->oh * p->ow >= 64;
}

/* M[p] (nt x panels*NR) = V[p] (nt x cin) x U[p] for the 36 positions. */
static void products(const wg_job *J, const float *V, int64_t vps, int64_t nt, const float *U,
                     int64_t npan, float *M, int64_t mps, int64_t ldm)
{
    const tlr_gemm_kernel *kr = J->kr;
    int64_t cin = J->p->cin, mr = kr->mr, nr = kr->nr;
    for (int pos = 0; pos < WG_POS; pos++) {
        const float *Vp = V + pos * vps;
        float *Mp = M + pos * mps;
        for (int64_t j = 0; j < npan; j++) {
            const float *panel = U + (pos * npan + j) * cin * nr;
            for (int64_t ir = 0; ir < nt; ir += mr)
                kr->run(cin, Vp + ir * J->ldv, J->ldv, panel, Mp + ir * ldm + j * nr, ldm,
                        (int)min64(mr, nt - ir), (int)nr, 0, NULL, TLR_EPI_NONE);
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
    int64_t vps = J->tblk * J->ldv, mps = J->tblk * ldm;
    float *V = tlr_thread_scratch(tid, 0, (size_t)(WG_POS * vps) * sizeof(float));
    float *M = tlr_thread_scratch(tid, 1, (size_t)(WG_POS * mps) * sizeof(float));
    for (int64_t b = begin; b < end; b++) {
        int64_t t0 = b * J->tblk, nt = min64(J->tblk, J->tiles - t0);
        J->tf->input(J, t0, nt, V, vps);
        zero_pad_rows(J, V, vps, nt);
        products(J, V, vps, nt, J->U, J->npan, M, mps, ldm);
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

/* Phase 2: one task per slice of CHUNK_COUT output channels, all tiles of the super-block. */
static void chunk_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const wg_job *J = ctx;
    int64_t cin = J->p->cin, nr = J->kr->nr;
    int64_t chunk = round_up(CHUNK_COUT, nr);
    int64_t mps = J->tblk * chunk;
    float *U = tlr_thread_scratch(tid, 2, (size_t)(WG_POS * cin * chunk) * sizeof(float));
    float *M = tlr_thread_scratch(tid, 1, (size_t)(WG_POS * mps) * sizeof(float));
    for (int64_t ck = begin; ck < end; ck++) {
        int64_t co0 = ck * chunk, nco = min64(chunk, J->p->cout - co0);
        int64_t npan = (nco + nr - 1) / nr;
        J->tf->kernel(J, co0, nco, U);
        for (int64_t off = 0; off < J->ns; off += J->tblk) {
            int64_t nt = min64(J->tblk, J->ns - off);
            products(J, J->V + off * J->ldv, J->vps, nt, U, npan, M, mps, chunk);
            J->tf->output(J, J->s0 + off, nt, M, mps, chunk, co0, nco);
        }
    }
}

/* Fused schedule: U made in parallel by slices of panels. */
static void kernel_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    wg_job *J = ctx;
    int64_t nr = J->kr->nr, cin = J->p->cin;
    /* panels [begin, end) of every position: transform them into a private layout and
     * scatter, since kernel() writes (36, its panels, cin, NR) */
    int64_t npan = end - begin;
    float *tmp = tlr_thread_scratch(tid, 2, (size_t)(WG_POS * npan * cin * nr) * sizeof(float));
    int64_t co0 = begin * nr, nco = min64(end * nr, J->p->cout) - co0;
    J->tf->kernel(J, co0, nco, tmp);
    float *U = (float *)J->U;
    for (int pos = 0; pos < WG_POS; pos++)
        memcpy(U + (pos * J->npan + begin) * cin * nr, tmp + pos * npan * cin * nr,
               (size_t)(npan * cin * nr) * sizeof *U);
}

void tlr_winograd_conv3x3(const tlr_conv2d_params *p, const float *in, const float *kernel,
                          const float *bias, tlr_epilogue epi, float *out)
{
    TLR_ASSERT(tlr_winograd_applies(p));
    tlr_isa isa = tlr_cpu_isa();
    wg_job J = { .p = p, .in = in, .kernel = kernel, .bias = bias, .epi = epi, .out = out,
                 .kr = tlr_gemm_kernel_for(isa), .tf = transforms_for(isa) };
    int64_t mr = J.kr->mr, nr = J.kr->nr;
    J.ty = (p->oh + 3) / 4;
    J.tx = (p->ow + 3) / 4;
    J.tiles = p->n * J.ty * J.tx;
    J.ldv = round_up(p->cin, 16);
    J.npan = (p->cout + nr - 1) / nr;
    int64_t u_bytes = WG_POS * p->cin * J.npan * nr * (int64_t)sizeof(float);
    int threads = tlr_threads_count();
    /* tile blocks: about BLOCK_V_BYTES of V per position set, whole MR blocks, and enough
     * blocks to keep every thread busy */
    int64_t tblk = BLOCK_V_BYTES / (J.ldv * (int64_t)sizeof(float));
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
    J.tblk = tblk;
    int64_t super = SUPER_V_BYTES / (WG_POS * J.ldv * (int64_t)sizeof(float));
    super = super < J.tblk ? J.tblk : super / J.tblk * J.tblk;
    int64_t chunks = (p->cout + round_up(CHUNK_COUT, nr) - 1) / round_up(CHUNK_COUT, nr);
    float *V = tlr_falloc((size_t)(WG_POS * round_up(min64(super, J.tiles), mr) * J.ldv));
    for (int64_t s0 = 0; s0 < J.tiles; s0 += super) {
        J.s0 = s0;
        J.ns = min64(super, J.tiles - s0);
        J.V = V;
        J.vps = round_up(J.ns, mr) * J.ldv;
        tlr_parallel_for((J.ns + J.tblk - 1) / J.tblk, super_input_task, &J);
        tlr_parallel_for(chunks, chunk_task, &J);
    }
    tlr_falloc_free(V);
}
