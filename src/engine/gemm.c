/* gemm.c - the blocked GEMM driver, packing, the one-row (matrix-vector) case and the naive
 * reference loop.
 *
 * Classic three-level blocking: for each nc-wide column block and kc-deep slice of k, the
 * slice of op(b) is packed into kc x NR panels (kept in L1 by the register kernel) and each
 * mc-row block of a into an MR-padded row-major buffer (kept in L2); the kernel then sweeps
 * the MR x NR blocks of c.  Work is split between threads by rows of c (or by columns when
 * c has few rows); each thread packs what it needs into its own scratch.  Slices of k are
 * always added in the same order, so the split never changes a result. */
#include "engine/gemm.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/threads.h"
#include "base/xalloc.h"

/* Rows of b fetched ahead while packing (tlr_gemm_pack_b). */
#define PACK_AHEAD 16

/* Up to this many rows of c, b is streamed once instead of packed (gemm_small). */
#define SMALL_M 4

/* Below this many multiply-adds (about a microsecond of work) one thread is faster than
 * handing work over.  Measured on seed_mnv2 (layers of 0.1-2.4 M multiply-adds): two
 * threads 0.21 ms against 0.32 on one, the same from 2^15 to 2^17 here, 0.22 at 2^19. */
#define PARALLEL_MIN_MACS ((int64_t)1 << 17)

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t round_up(int64_t x, int64_t m)
{
    return (x + m - 1) / m * m;
}

/* ---- packing ------------------------------------------------------------------------------- */

void tlr_gemm_pack_b(const tlr_gemm_kernel *kr, tlr_trans tb, const float *b, int64_t ldb,
                     int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *dst)
{
    int nr = kr->nr;
    for (int64_t jp = 0; jp < nc; jp += nr, dst += kc * nr) {
        int64_t w = min64(nr, nc - jp);
        if (tb == TLR_NO_TRANS) {
            const float *src = b + k0 * ldb + j0 + jp;
            /* constant-size copies for whole panels: inlined, where a memcpy call per
             * 128-byte row would cost more than the copy (small-m GEMMs pack all of b).
             * The rows are ldb apart, too far for the hardware to fetch ahead, and b is
             * often weights read once per pass from memory: fetched PACK_AHEAD rows ahead
             * (VGG16's block 5: 6.7 -> 5.8 ms) */
            if (w == 32 && nr == 32) {
                for (int64_t p = 0; p < kc; p++) {
                    if (p + PACK_AHEAD < kc) {
                        __builtin_prefetch(src + (p + PACK_AHEAD) * ldb, 0, 2);
                        __builtin_prefetch(src + (p + PACK_AHEAD) * ldb + 16, 0, 2);
                    }
                    memcpy(dst + p * 32, src + p * ldb, 32 * sizeof *dst);
                }
            } else if (w == 16 && nr == 16) {
                for (int64_t p = 0; p < kc; p++) {
                    if (p + PACK_AHEAD < kc)
                        __builtin_prefetch(src + (p + PACK_AHEAD) * ldb, 0, 2);
                    memcpy(dst + p * 16, src + p * ldb, 16 * sizeof *dst);
                }
            } else {
                for (int64_t p = 0; p < kc; p++) {
                    float *d = dst + p * nr;
                    memcpy(d, src + p * ldb, (size_t)w * sizeof *d);
                    if (w < nr)
                        memset(d + w, 0, (size_t)(nr - w) * sizeof *d);
                }
            }
        } else {
            /* b stored (n, k): column j of op(b) is row j of b */
            for (int64_t j = 0; j < nr; j++) {
                if (j >= w) {
                    for (int64_t p = 0; p < kc; p++)
                        dst[p * nr + j] = 0.0f;
                    continue;
                }
                const float *src = b + (j0 + jp + j) * ldb + k0;
                for (int64_t p = 0; p < kc; p++)
                    dst[p * nr + j] = src[p];
            }
        }
    }
}

typedef struct {
    tlr_trans ta;
    const float *a;
    int64_t lda;
} plain_a;

static void pack_plain_a(void *ctx, int64_t i0, int64_t rows, int64_t k0, int64_t kc, float *dst)
{
    const plain_a *A = ctx;
    if (A->ta == TLR_NO_TRANS) {
        for (int64_t i = 0; i < rows; i++)
            memcpy(dst + i * kc, A->a + (i0 + i) * A->lda + k0, (size_t)kc * sizeof *dst);
        return;
    }
    /* a stored (k, m) */
    for (int64_t p = 0; p < kc; p++) {
        const float *src = A->a + (k0 + p) * A->lda + i0;
        for (int64_t i = 0; i < rows; i++)
            dst[i * kc + p] = src[i];
    }
}

/* ---- the blocked driver ----------------------------------------------------------------- */

typedef struct {
    const tlr_gemm_kernel *kr;
    int64_t m, n, k;
    tlr_gemm_pack_a_fn pack_a;
    void *a_ctx;
    const float *a_rows; /* or A is row-major here (stride lda) and read in place */
    int64_t lda;
    tlr_trans tb;
    const float *b;
    int64_t ldb;
    int accumulate;
    float *c;
    int64_t ldc;
    const tlr_conv_post *post; /* or NULL */
    int split_rows; /* parts are row ranges (else column ranges) */
    int parts;
} gemm_job;

/* c rows [i0, i1) x cols [j0, j1) on thread 'tid'. */
static void gemm_block(const gemm_job *J, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int tid)
{
    const tlr_gemm_kernel *kr = J->kr;
    int mr = kr->mr, nr = kr->nr;
    int64_t kcb = min64(kr->kc, J->k), ncb = min64(kr->nc, round_up(j1 - j0, nr));
    int64_t mcb = min64(kr->mc, round_up(i1 - i0, mr));
    float *bp = tlr_thread_scratch(tid, 0, (size_t)(kcb * round_up(ncb, nr)) * sizeof(float));
    float *ap = tlr_thread_scratch(tid, 1, (size_t)(mcb * kcb) * sizeof(float));
    for (int64_t jc = j0; jc < j1; jc += kr->nc) {
        int64_t nc = min64(kr->nc, j1 - jc);
        for (int64_t pc = 0; pc < J->k; pc += kr->kc) {
            int64_t kc = min64(kr->kc, J->k - pc);
            int acc = J->accumulate || pc > 0, last = pc + kc == J->k;
            tlr_gemm_pack_b(kr, J->tb, J->b, J->ldb, pc, kc, jc, nc, bp);
            for (int64_t ic = i0; ic < i1; ic += kr->mc) {
                int64_t mc = min64(kr->mc, i1 - ic);
                int64_t full = J->a_rows ? mc / mr * mr : 0; /* rows read in place */
                if (!J->a_rows)
                    J->pack_a(J->a_ctx, ic, mc, pc, kc, ap);
                else if (full < mc) /* the short last block: copied, padded below */
                    for (int64_t i = full; i < mc; i++)
                        memcpy(ap + i * kc, J->a_rows + (ic + i) * J->lda + pc,
                               (size_t)kc * sizeof *ap);
                int64_t mpad = round_up(mc, mr);
                if (mpad > mc)
                    memset(ap + mc * kc, 0, (size_t)((mpad - mc) * kc) * sizeof *ap);
                for (int64_t jr = 0; jr < nc; jr += nr) {
                    const float *bpanel = bp + (jr / nr) * kc * nr;
                    int cols = (int)min64(nr, nc - jr);
                    for (int64_t ir = 0; ir < mc; ir += mr) {
                        const float *a = ir < full ? J->a_rows + (ic + ir) * J->lda + pc
                                                   : ap + ir * kc;
                        /* the post-op goes with the last slice of k, moved to this block */
                        tlr_conv_post post;
                        if (last && J->post)
                            post = tlr_post_at(J->post, ic + ir, jc + jr, J->ldc);
                        kr->run(kc, a, ir < full ? J->lda : kc, bpanel,
                                J->c + (ic + ir) * J->ldc + jc + jr, J->ldc,
                                (int)min64(mr, mc - ir), cols, acc,
                                last && J->post ? &post : NULL);
                    }
                }
            }
        }
    }
}

static void gemm_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const gemm_job *J = ctx;
    int64_t unit = J->split_rows ? J->kr->mr : J->kr->nr;
    int64_t total = J->split_rows ? J->m : J->n;
    int64_t units = (total + unit - 1) / unit;
    for (int64_t part = begin; part < end; part++) {
        int64_t u0 = units * part / J->parts, u1 = units * (part + 1) / J->parts;
        int64_t lo = u0 * unit, hi = min64(u1 * unit, total);
        if (lo >= hi)
            continue;
        if (J->split_rows)
            gemm_block(J, lo, hi, 0, J->n, tid);
        else
            gemm_block(J, 0, J->m, lo, hi, tid);
    }
}

static void zero_rows(float *c, int64_t m, int64_t n, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        memset(c + i * ldc, 0, (size_t)n * sizeof *c);
}

static void gemm_small(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc);

static void post_rows(float *c, int64_t m, int64_t n, int64_t ldc, const tlr_conv_post *post)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            c[i * ldc + j] = tlr_post_apply(post, j, i * ldc + j, c[i * ldc + j]);
}

/* The driver behind both entry points: A from 'pack_a' or, when a_rows is set, in place. */
static void gemm_drive(int64_t m, int64_t n, int64_t k, tlr_gemm_pack_a_fn pack_a, void *ctx,
                       const float *a_rows, int64_t lda, tlr_trans tb, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, const tlr_conv_post *post)
{
    TLR_ASSERT(m >= 0 && n >= 0 && k >= 0);
    TLR_ASSERT(beta == 0.0f || beta == 1.0f);
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (beta == 0.0f)
            zero_rows(c, m, n, ldc);
        if (post) /* scale multiplies the (empty) product only */
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    tlr_conv_post q = *post;
                    q.scale = NULL;
                    c[i * ldc + j] = tlr_post_apply(&q, j, i * ldc + j, c[i * ldc + j]);
                }
        return;
    }
    TLR_ASSERT(!post || !post->scale || beta == 0.0f);
    if (m <= SMALL_M) {
        /* the whole A is a few rows: stream b once */
        float *a = NULL;
        if (!a_rows) {
            a = tlr_xmalloc((size_t)(m * k) * sizeof *a);
            pack_a(ctx, 0, m, 0, k, a);
        }
        gemm_small(TLR_NO_TRANS, tb, m, n, k, a ? a : a_rows, a ? k : lda, b, ldb, beta, c, ldc);
        free(a);
        if (post)
            post_rows(c, m, n, ldc, post);
        return;
    }
    gemm_job J = { tlr_gemm_kernel_for_n(tlr_cpu_isa(), n), m, n, k, pack_a, ctx, a_rows, lda, tb, b,
                   ldb, beta != 0.0f, c, ldc, post, 1, 1 };
    int64_t mu = (m + J.kr->mr - 1) / J.kr->mr, nu = (n + J.kr->nr - 1) / J.kr->nr;
    /* split the dimension with more register blocks; duplicated packing of the other
     * operand is then the smaller cost */
    J.split_rows = mu >= nu;
    int64_t units = J.split_rows ? mu : nu;
    int threads = m * n * k < PARALLEL_MIN_MACS ? 1 : tlr_threads_count();
    /* a few parts per thread, so a thread that starts late takes fewer; only while b is
     * small: row parts each pack all of b again, and column parts read b (the weights,
     * cold once per pass) in runs as wide as the part, which are slow to fetch when short
     * (VGG16's block 5: 7.4 -> 6.7 ms with 256 columns a part instead of 64) */
    int per = threads == 1 || k * n > ((int64_t)1 << 18) ? 1 : 4;
    J.parts = (int)min64((int64_t)threads * per, units);
    tlr_parallel_for(J.parts, gemm_task, &J);
}

void tlr_gemm_packed_a(int64_t m, int64_t n, int64_t k, tlr_gemm_pack_a_fn pack_a, void *ctx,
                       tlr_trans tb, const float *b, int64_t ldb, float beta, float *c,
                       int64_t ldc, const tlr_conv_post *post)
{
    gemm_drive(m, n, k, pack_a, ctx, NULL, 0, tb, b, ldb, beta, c, ldc, post);
}

void tlr_gemm_rows(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, tlr_trans tb,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   const tlr_conv_post *post)
{
    gemm_drive(m, n, k, NULL, NULL, a, lda, tb, b, ldb, beta, c, ldc, post);
}

/* ---- a few rows: c (m <= SMALL_M, n) = op(a) x op(b) ------------------------------------- */

/* With a handful of rows (Dense on one image, a conv on a 2 x 2 map) packing b costs as much
 * as the product: b is streamed once instead, row by row, into c kept in L1.  The loops are
 * written once with 8-float GCC vectors and inlined into an AVX2 and a portable caller. */
#define SMALL_COLS 1024 /* c columns per pass: SMALL_M rows of them stay in L1 */

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* any float address */

typedef struct {
    int64_t m, n, k;
    tlr_trans ta;
    const float *a;
    int64_t lda;
    tlr_trans tb;
    const float *b;
    int64_t ldb;
    int accumulate;
    float *c;
    int64_t ldc;
} small_job;

static inline float small_a(const small_job *J, int64_t i, int64_t p)
{
    return J->ta == TLR_TRANS ? J->a[p * J->lda + i] : J->a[i * J->lda + p];
}

/* c (i, j0 .. j1-1) for b stored (k, n): rows of b added into c, four at a time in k order. */
static inline __attribute__((always_inline)) void small_rows(const small_job *J, int64_t j0,
                                                             int64_t j1)
{
    float acc[SMALL_M][SMALL_COLS] __attribute__((aligned(32)));
    for (int64_t jb = j0; jb < j1; jb += SMALL_COLS) {
        int64_t w = min64(SMALL_COLS, j1 - jb), wv = w / 8 * 8;
        for (int64_t i = 0; i < J->m; i++)
            memset(acc[i], 0, (size_t)w * sizeof(float));
        int64_t p = 0;
        for (; p + 4 <= J->k; p += 4) {
            const float *b0 = J->b + p * J->ldb + jb, *b1 = b0 + J->ldb;
            const float *b2 = b1 + J->ldb, *b3 = b2 + J->ldb;
            for (int64_t i = 0; i < J->m; i++) {
                float x0 = small_a(J, i, p), x1 = small_a(J, i, p + 1);
                float x2 = small_a(J, i, p + 2), x3 = small_a(J, i, p + 3);
                float *ci = acc[i];
                int64_t j = 0;
                for (; j < wv; j += 8)
                    *(v8 *)(ci + j) += (*(const v8u *)(b0 + j) * x0 + *(const v8u *)(b1 + j) * x1) +
                                       (*(const v8u *)(b2 + j) * x2 + *(const v8u *)(b3 + j) * x3);
                for (; j < w; j++)
                    ci[j] += (b0[j] * x0 + b1[j] * x1) + (b2[j] * x2 + b3[j] * x3);
            }
        }
        for (; p < J->k; p++) {
            const float *b0 = J->b + p * J->ldb + jb;
            for (int64_t i = 0; i < J->m; i++) {
                float x0 = small_a(J, i, p), *ci = acc[i];
                int64_t j = 0;
                for (; j < wv; j += 8)
                    *(v8 *)(ci + j) += *(const v8u *)(b0 + j) * x0;
                for (; j < w; j++)
                    ci[j] += b0[j] * x0;
            }
        }
        for (int64_t i = 0; i < J->m; i++) {
            float *ci = J->c + i * J->ldc + jb;
            for (int64_t j = 0; j < w; j++)
                ci[j] = J->accumulate ? ci[j] + acc[i][j] : acc[i][j];
        }
    }
}

/* c (i, j) for b stored (n, k): dot products of contiguous rows, eight partial sums. */
static inline __attribute__((always_inline)) void small_dots(const small_job *J, int64_t j0,
                                                             int64_t j1)
{
    for (int64_t j = j0; j < j1; j++) {
        const float *bj = J->b + j * J->ldb;
        for (int64_t i = 0; i < J->m; i++) {
            v8 s = { 0 };
            int64_t p = 0;
            if (J->ta == TLR_NO_TRANS) {
                const float *ai = J->a + i * J->lda;
                for (; p + 8 <= J->k; p += 8)
                    s += *(const v8u *)(ai + p) * *(const v8u *)(bj + p);
            }
            float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            for (; p < J->k; p++)
                t += small_a(J, i, p) * bj[p];
            float *cij = J->c + i * J->ldc + j;
            *cij = J->accumulate ? *cij + t : t;
        }
    }
}

static inline __attribute__((always_inline)) void small_range(const small_job *J, int64_t begin,
                                                              int64_t end)
{
    /* tasks are blocks of 64 columns */
    int64_t j0 = begin * 64, j1 = min64(end * 64, J->n);
    if (J->tb == TLR_NO_TRANS)
        small_rows(J, j0, j1);
    else
        small_dots(J, j0, j1);
}

static void small_task_generic(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    small_range(ctx, begin, end);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void small_task_avx2(void *ctx, int64_t begin,
                                                            int64_t end, int tid)
{
    (void)tid;
    small_range(ctx, begin, end);
}
#endif

static void gemm_small(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc)
{
    small_job J = { m, n, k, ta, a, lda, tb, b, ldb, beta != 0.0f, c, ldc };
    tlr_task_fn fn = small_task_generic;
#if defined(__x86_64__) && defined(__GNUC__)
    if (tlr_cpu_isa() >= TLR_ISA_AVX2)
        fn = small_task_avx2;
#endif
    int64_t blocks = (n + 63) / 64;
    int threads = m * n * k < PARALLEL_MIN_MACS ? 1 : tlr_threads_count();
    tlr_parallel_for_n(blocks, threads, fn, &J);
}

/* ---- public entry points ------------------------------------------------------------------- */

void tlr_gemm(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    TLR_ASSERT(m >= 0 && n >= 0 && k >= 0);
    TLR_ASSERT(beta == 0.0f || beta == 1.0f);
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (beta == 0.0f)
            zero_rows(c, m, n, ldc);
        return;
    }
    if (m <= SMALL_M) {
        gemm_small(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (ta == TLR_NO_TRANS) {
        tlr_gemm_rows(m, n, k, a, lda, tb, b, ldb, beta, c, ldc, NULL);
        return;
    }
    plain_a A = { ta, a, lda };
    tlr_gemm_packed_a(m, n, k, pack_plain_a, &A, tb, b, ldb, beta, c, ldc, NULL);
}

/* Element (i, j) of op(x) where x is stored row-major with row stride ld. */
static float elem(const float *x, int64_t ld, tlr_trans t, int64_t i, int64_t j)
{
    return t == TLR_TRANS ? x[j * ld + i] : x[i * ld + j];
}

void tlr_gemm_ref(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    TLR_ASSERT(beta == 0.0f || beta == 1.0f);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = beta == 0.0f ? 0.0 : (double)c[i * ldc + j];
            for (int64_t p = 0; p < k; p++)
                acc += (double)elem(a, lda, ta, i, p) * (double)elem(b, ldb, tb, p, j);
            c[i * ldc + j] = (float)acc;
        }
}
