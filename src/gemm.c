/* gemm.c - the blocked GEMM driver, packing, the one-row (matrix-vector) case and the naive
 * reference loop.
 *
 * Classic three-level blocking: for each nc-wide column block and kc-deep slice of k, the
 * slice of op(b) is packed into kc x NR panels (kept in L1 by the register kernel) and each
 * mc-row block of a into an MR-padded row-major buffer (kept in L2); the kernel then sweeps
 * the MR x NR blocks of c.  Work is split between threads by rows of c (or by columns when
 * c has few rows); each thread packs what it needs into its own scratch.  Slices of k are
 * always added in the same order, so the split never changes a result. */
#include "gemm.h"

#include <string.h>

#include "err.h"
#include "threads.h"

/* Below this many multiply-adds one thread is faster than waking the others. */
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
            for (int64_t p = 0; p < kc; p++) {
                const float *src = b + (k0 + p) * ldb + j0 + jp;
                float *d = dst + p * nr;
                memcpy(d, src, (size_t)w * sizeof *d);
                if (w < nr)
                    memset(d + w, 0, (size_t)(nr - w) * sizeof *d);
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
    tlr_trans tb;
    const float *b;
    int64_t ldb;
    int accumulate;
    float *c;
    int64_t ldc;
    const float *bias;
    tlr_epilogue epi;
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
                J->pack_a(J->a_ctx, ic, mc, pc, kc, ap);
                int64_t mpad = round_up(mc, mr);
                if (mpad > mc)
                    memset(ap + mc * kc, 0, (size_t)((mpad - mc) * kc) * sizeof *ap);
                for (int64_t jr = 0; jr < nc; jr += nr) {
                    const float *bpanel = bp + (jr / nr) * kc * nr;
                    int cols = (int)min64(nr, nc - jr);
                    const float *bias = last && J->bias ? J->bias + jc + jr : NULL;
                    tlr_epilogue epi = last ? J->epi : TLR_EPI_NONE;
                    for (int64_t ir = 0; ir < mc; ir += mr)
                        kr->run(kc, ap + ir * kc, kc, bpanel, J->c + (ic + ir) * J->ldc + jc + jr,
                                J->ldc, (int)min64(mr, mc - ir), cols, acc, bias, epi);
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

static void epilogue_rows(float *c, int64_t m, int64_t n, int64_t ldc, const float *bias,
                          tlr_epilogue epi)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float v = c[i * ldc + j] + (bias ? bias[j] : 0.0f);
            if (epi != TLR_EPI_NONE)
                v = v > 0.0f ? v : 0.0f;
            if (epi == TLR_EPI_RELU6)
                v = v < 6.0f ? v : 6.0f;
            c[i * ldc + j] = v;
        }
}

void tlr_gemm_packed_a(int64_t m, int64_t n, int64_t k, tlr_gemm_pack_a_fn pack_a, void *ctx,
                       tlr_trans tb, const float *b, int64_t ldb, float beta, float *c,
                       int64_t ldc, const float *bias, tlr_epilogue epi)
{
    TLR_ASSERT(m >= 0 && n >= 0 && k >= 0);
    TLR_ASSERT(beta == 0.0f || beta == 1.0f);
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (beta == 0.0f)
            zero_rows(c, m, n, ldc);
        if (bias || epi != TLR_EPI_NONE)
            epilogue_rows(c, m, n, ldc, bias, epi);
        return;
    }
    gemm_job J = { tlr_gemm_kernel_for(tlr_cpu_isa()), m, n, k, pack_a, ctx, tb, b, ldb,
                   beta != 0.0f, c, ldc, bias, epi, 1, 1 };
    int64_t mu = (m + J.kr->mr - 1) / J.kr->mr, nu = (n + J.kr->nr - 1) / J.kr->nr;
    /* split the dimension with more register blocks; duplicated packing of the other
     * operand is then the smaller cost */
    J.split_rows = mu >= nu;
    int64_t units = J.split_rows ? mu : nu;
    int threads = m * n * k < PARALLEL_MIN_MACS ? 1 : tlr_threads_count();
    J.parts = (int)min64(threads, units);
    tlr_parallel_for(J.parts, gemm_task, &J);
}

/* ---- one row: c (1, n) = a (1, k) x op(b) ------------------------------------------------- */

typedef struct {
    int64_t n, k;
    const float *a;
    int64_t a_step;
    tlr_trans tb;
    const float *b;
    int64_t ldb;
    int accumulate;
    float *c;
} gemv_job;

/* Column blocks of 64 keep a block of c in L1 while whole rows of b stream past. */
#define GEMV_COLS 64

static void gemv_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gemv_job *J = ctx;
    int64_t j0 = begin * GEMV_COLS, j1 = min64(end * GEMV_COLS, J->n);
    if (J->tb == TLR_TRANS) {
        /* b stored (n, k): each output is a dot product of two contiguous rows */
        for (int64_t j = j0; j < j1; j++) {
            const float *bj = J->b + j * J->ldb;
            float s[8] = { 0 };
            int64_t p = 0;
            for (; p + 8 <= J->k; p += 8)
                for (int l = 0; l < 8; l++)
                    s[l] += J->a[(p + l) * J->a_step] * bj[p + l];
            float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            for (; p < J->k; p++)
                t += J->a[p * J->a_step] * bj[p];
            J->c[j] = J->accumulate ? J->c[j] + t : t;
        }
        return;
    }
    float acc[GEMV_COLS];
    for (int64_t jb = j0; jb < j1; jb += GEMV_COLS) {
        int64_t w = min64(GEMV_COLS, j1 - jb);
        memset(acc, 0, sizeof acc);
        for (int64_t p = 0; p < J->k; p++) {
            float x = J->a[p * J->a_step];
            const float *bp = J->b + p * J->ldb + jb;
            for (int64_t j = 0; j < w; j++)
                acc[j] += x * bp[j];
        }
        for (int64_t j = 0; j < w; j++)
            J->c[jb + j] = J->accumulate ? J->c[jb + j] + acc[j] : acc[j];
    }
}

static void gemv(int64_t n, int64_t k, const float *a, int64_t a_step, tlr_trans tb,
                 const float *b, int64_t ldb, float beta, float *c)
{
    gemv_job J = { n, k, a, a_step, tb, b, ldb, beta != 0.0f, c };
    int64_t blocks = (n + GEMV_COLS - 1) / GEMV_COLS;
    int threads = n * k < PARALLEL_MIN_MACS ? 1 : tlr_threads_count();
    tlr_parallel_for_n(blocks, threads, gemv_task, &J);
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
    if (m == 1) {
        gemv(n, k, a, ta == TLR_TRANS ? lda : 1, tb, b, ldb, beta, c);
        return;
    }
    plain_a A = { ta, a, lda };
    tlr_gemm_packed_a(m, n, k, pack_plain_a, &A, tb, b, ldb, beta, c, ldc, NULL, TLR_EPI_NONE);
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
