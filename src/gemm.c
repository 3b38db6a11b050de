/* gemm.c - OpenBLAS sgemm/sgemv behind tlr_gemm, plus the naive reference loop.
 * This is the only file that includes <cblas.h>. */
#include "gemm.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "err.h"

/* OpenBLAS takes 32-bit sizes; rows of c are independent, so m is split when it is huge.
 * n, k and the leading dimensions must fit as they are (the callers bound them). */
#define GEMM_MAX_ROWS ((int64_t)INT_MAX)

/* Element (i, j) of op(x) where x is stored row-major with row stride ld. */
static float elem(const float *x, int64_t ld, tlr_trans t, int64_t i, int64_t j)
{
    return t == TLR_TRANS ? x[j * ld + i] : x[i * ld + j];
}

/* c (1, n) = a (1, k) x op(b) as a matrix-vector product: sgemm on one row wastes work. */
static void gemv_row(tlr_trans tb, int n, int k, const float *a, int lda_step, const float *b,
                     int ldb, float beta, float *c)
{
    if (beta == 0.0f)
        memset(c, 0, (size_t)n * sizeof *c); /* sgemv with beta 0 may still read c */
    /* b (k, n) row-major: c = b^T a.  b (n, k) (transposed op): c = b a. */
    if (tb == TLR_NO_TRANS)
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, b, ldb, a, lda_step, 1.0f, c, 1);
    else
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, b, ldb, a, lda_step, 1.0f, c, 1);
}

void tlr_gemm(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    TLR_ASSERT(m >= 0 && n >= 0 && k >= 0);
    TLR_ASSERT(beta == 0.0f || beta == 1.0f);
    TLR_ASSERT(n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
               ldc <= INT_MAX);
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        if (beta == 0.0f)
            for (int64_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    if (m == 1) {
        /* a's single row: contiguous, or a column of the stored (k, 1...) matrix. */
        gemv_row(tb, (int)n, (int)k, a, ta == TLR_TRANS ? (int)lda : 1, b, (int)ldb, beta, c);
        return;
    }
    for (int64_t i0 = 0; i0 < m; i0 += GEMM_MAX_ROWS) {
        int64_t rows = m - i0 < GEMM_MAX_ROWS ? m - i0 : GEMM_MAX_ROWS;
        const float *ai = ta == TLR_TRANS ? a + i0 : a + i0 * lda;
        cblas_sgemm(CblasRowMajor, ta == TLR_TRANS ? CblasTrans : CblasNoTrans,
                    tb == TLR_TRANS ? CblasTrans : CblasNoTrans, (int)rows, (int)n, (int)k,
                    1.0f, ai, (int)lda, b, (int)ldb, beta, c + i0 * ldc, (int)ldc);
    }
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
