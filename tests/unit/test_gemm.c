/* test_gemm.c - tlr_gemm (OpenBLAS) and tlr_gemm_ref: a hand-worked product in all four
 * transpose combinations, accumulation, sub-matrices (leading dimensions), the single-row
 * matrix-vector path, then random sizes against the reference loop. */
#include <stdlib.h>

#include "engine/gemm.h"
#include "harness.h"

/* Fixed-seed LCG: uniform floats in [-1, 1). */
static float next_float(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(*s >> 40) / (float)(1 << 23) - 1.0f;
}

/* A (2, 3) = [[1,2,3],[4,5,6]], B (3, 2) = [[7,8],[9,10],[11,12]]:
 * C = [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]] = [[58,64],[139,154]]. */
static void hand_product(void)
{
    const float a[6] = {1, 2, 3, 4, 5, 6}, at[6] = {1, 4, 2, 5, 3, 6};
    const float b[6] = {7, 8, 9, 10, 11, 12}, bt[6] = {7, 9, 11, 8, 10, 12};
    const float want[4] = {58, 64, 139, 154};
    float c[4];
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            char msg[64];
            c[0] = c[1] = c[2] = c[3] = NAN; /* beta 0 must not read c */
            tlr_gemm((tlr_trans)ta, (tlr_trans)tb, 2, 2, 3, ta ? at : a, ta ? 2 : 3,
                     tb ? bt : b, tb ? 3 : 2, 0.0f, c, 2);
            snprintf(msg, sizeof msg, "gemm hand ta %d tb %d", ta, tb);
            FLOATS_NEAR(c, want, 4, 0.0, msg);
            c[0] = c[1] = c[2] = c[3] = NAN;
            tlr_gemm_ref((tlr_trans)ta, (tlr_trans)tb, 2, 2, 3, ta ? at : a, ta ? 2 : 3,
                         tb ? bt : b, tb ? 3 : 2, 0.0f, c, 2);
            snprintf(msg, sizeof msg, "gemm_ref hand ta %d tb %d", ta, tb);
            FLOATS_NEAR(c, want, 4, 0.0, msg);
        }
    /* beta 1 adds onto c: [[1,1],[1,1]] + C */
    const float want_acc[4] = {59, 65, 140, 155};
    c[0] = c[1] = c[2] = c[3] = 1;
    tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, 2, 2, 3, a, 3, b, 2, 1.0f, c, 2);
    FLOATS_NEAR(c, want_acc, 4, 0.0, "gemm beta 1");
    /* one row (matrix-vector path), transposed a: row 0 of A^T stored (3, 2) is [1, 2] */
    const float want_row[2] = {1 * 7 + 2 * 9, 1 * 8 + 2 * 10};
    float row[2] = {NAN, NAN};
    tlr_gemm(TLR_TRANS, TLR_NO_TRANS, 1, 2, 2, at + 0, 2, b, 2, 0.0f, row, 2);
    FLOATS_NEAR(row, want_row, 2, 0.0, "gemm single row, transposed a");
    /* one row against transposed b, accumulating: 0.5 + [1,2,3] x B, B^T stored (2, 3) */
    row[0] = row[1] = 0.5f;
    tlr_gemm(TLR_NO_TRANS, TLR_TRANS, 1, 2, 3, a, 3, bt, 3, 1.0f, row, 2);
    const float want_row_bt_acc[2] = {58.5f, 64.5f};
    FLOATS_NEAR(row, want_row_bt_acc, 2, 0.0, "gemm single row, transposed b, beta 1");
    /* k = 0: the product is empty, so c becomes zeros (beta 0) */
    c[0] = c[1] = c[2] = c[3] = NAN;
    const float zeros[4] = {0, 0, 0, 0};
    tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, 2, 2, 0, a, 3, b, 2, 0.0f, c, 2);
    FLOATS_NEAR(c, zeros, 4, 0.0, "gemm k = 0");
}

/* Random sizes, transposes and padded leading dimensions (ld = cols + 3), with the gap
 * columns of c checked to stay untouched. */
static void random_against_ref(void)
{
    static const int64_t sizes[] = {1, 2, 7, 33, 130};
    uint64_t s = 4242;
    for (int mi = 0; mi < 5; mi++)
        for (int ni = 0; ni < 5; ni++)
            for (int ki = 1; ki < 5; ki++)
                for (int t = 0; t < 8; t++) {
                    int64_t m = sizes[mi], n = sizes[ni], k = sizes[ki];
                    tlr_trans ta = (tlr_trans)(t & 1), tb = (tlr_trans)((t >> 1) & 1);
                    float beta = (t >> 2) ? 1.0f : 0.0f;
                    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 3, ldc = n + 3;
                    int64_t na = (ta ? k : m) * lda, nb = (tb ? n : k) * ldb, nc = m * ldc;
                    float *a = malloc((size_t)na * sizeof *a), *b = malloc((size_t)nb * sizeof *b);
                    float *c = malloc((size_t)nc * sizeof *c), *r = malloc((size_t)nc * sizeof *r);
                    for (int64_t i = 0; i < na; i++)
                        a[i] = next_float(&s);
                    for (int64_t i = 0; i < nb; i++)
                        b[i] = next_float(&s);
                    for (int64_t i = 0; i < nc; i++)
                        c[i] = r[i] = next_float(&s);
                    tlr_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
                    tlr_gemm_ref(ta, tb, m, n, k, a, lda, b, ldb, beta, r, ldc);
                    char msg[96];
                    snprintf(msg, sizeof msg, "gemm m %lld n %lld k %lld ta %d tb %d beta %d",
                             (long long)m, (long long)n, (long long)k, ta, tb, (int)beta);
                    FLOATS_NEAR(c, r, (size_t)nc, 1e-5, msg); /* gap columns included */
                    free(a);
                    free(b);
                    free(c);
                    free(r);
                }
}

void test_gemm(void)
{
    hand_product();
    random_against_ref();
}
