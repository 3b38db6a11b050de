/* gemm.h - single-precision matrix multiply, the one door to OpenBLAS.
 *
 * All matrices are row-major.  op(X) is X or its transpose as 'trans' says:
 *   c (m, n) = op(a) (m, k) x op(b) (k, n) + beta * c
 * a is stored (m, k) with row stride lda, or (k, m) when transposed; b likewise (k, n) or
 * (n, k); c is (m, n) with row stride ldc.  beta is 0 (c is overwritten; its old contents
 * are never read, so it may be uninitialised) or 1 (accumulate into c).
 * The fast version runs on OpenBLAS threads and is deterministic for a given thread
 * count; the reference version is a plain triple loop for tests. */
#ifndef TLR_GEMM_H
#define TLR_GEMM_H

#include <stdint.h>

typedef enum { TLR_NO_TRANS = 0, TLR_TRANS = 1 } tlr_trans;

void tlr_gemm(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

void tlr_gemm_ref(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

#endif
