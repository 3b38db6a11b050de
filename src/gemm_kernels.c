/* gemm_kernels.c - the register kernels of the GEMM (see tlr_gemm_kernel in gemm.h).
 *
 * Each kernel keeps an MR x NR block of c in vector registers and walks k: per step it
 * loads one row of the packed b panel (NR floats) and broadcasts one a value per row.
 *   AVX-512: 12 x 32 (24 zmm accumulators), masked stores for short column blocks;
 *   AVX2+FMA: 6 x 16 (12 ymm accumulators), masked stores likewise;
 *   plain C: 4 x 16, for CPUs without either.
 * The a rows are addressed from four base pointers and the row stride, so the kernel reads
 * the image-shaped matrices of the Winograd transform without packing them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TLR_HAVE_X86_KERNELS 1
#endif

/* ---- plain C ------------------------------------------------------------------------------ */

#define G_MR 4
#define G_NR 16

static float epilogue_f(float v, tlr_epilogue epi)
{
    if (epi != TLR_EPI_NONE)
        v = v > 0.0f ? v : 0.0f; /* NaN -> 0, as fmaxf */
    if (epi == TLR_EPI_RELU6)
        v = v < 6.0f ? v : 6.0f;
    return v;
}

static void kernel_generic(int64_t k, const float *a, int64_t lda, const float *b, float *c,
                           int64_t ldc, int rows, int cols, int accumulate, const float *bias,
                           tlr_epilogue epi)
{
    float acc[G_MR][G_NR];
    memset(acc, 0, sizeof acc);
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + p * G_NR;
        for (int i = 0; i < G_MR; i++) {
            float x = a[i * lda + p];
            for (int j = 0; j < G_NR; j++)
                acc[i][j] += x * bp[j];
        }
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
            if (bias)
                v += bias[j];
            c[i * ldc + j] = epilogue_f(v, epi);
        }
}

#ifdef TLR_HAVE_X86_KERNELS

/* ---- AVX2 + FMA: 6 x 16 ------------------------------------------------------------------- */

#define T_AVX2 __attribute__((target("avx2,fma")))

T_AVX2 static inline __m256i avx2_mask(int n)
{
    /* lanes 0 .. n-1 set (n clamped to 0..8) */
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Epilogue of one vector: + old c, + bias, activation; then a (masked) store. */
typedef struct {
    int accumulate, has_bias;
    tlr_epilogue epi;
} post_op;

T_AVX2 static inline void avx2_store(float *c, __m256 v, __m256i mask, int full, __m256 bias,
                                     post_op po)
{
    if (po.accumulate)
        v = _mm256_add_ps(v, full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask));
    if (po.has_bias)
        v = _mm256_add_ps(v, bias);
    if (po.epi != TLR_EPI_NONE) /* max(v, 0) with the 0 second: NaN -> 0 as fmaxf */
        v = _mm256_max_ps(v, _mm256_setzero_ps());
    if (po.epi == TLR_EPI_RELU6)
        v = _mm256_min_ps(v, _mm256_set1_ps(6.0f));
    if (full)
        _mm256_storeu_ps(c, v);
    else
        _mm256_maskstore_ps(c, mask, v);
}

#define AVX2_ROW(r, ptr)                                                                     \
    do {                                                                                     \
        __m256 x_ = _mm256_broadcast_ss(ptr);                                                \
        c##r##0 = _mm256_fmadd_ps(x_, b0, c##r##0);                                           \
        c##r##1 = _mm256_fmadd_ps(x_, b1, c##r##1);                                           \
    } while (0)

#define AVX2_STORE(r)                                                                        \
    do {                                                                                     \
        if (r < rows) {                                                                      \
            avx2_store(c + r * ldc, c##r##0, m0, full0, bias0, po);                          \
            if (cols > 8)                                                                    \
                avx2_store(c + r * ldc + 8, c##r##1, m1, full1, bias1, po);                  \
        }                                                                                    \
    } while (0)

T_AVX2 static void kernel_avx2(int64_t k, const float *a, int64_t lda, const float *b, float *c,
                               int64_t ldc, int rows, int cols, int accumulate,
                               const float *bias, tlr_epilogue epi)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = a, *a3 = a + 3 * lda;
    for (int64_t p = 0; p < k; p++, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        AVX2_ROW(0, a0 + p);
        AVX2_ROW(1, a0 + lda + p);
        AVX2_ROW(2, a0 + 2 * lda + p);
        AVX2_ROW(3, a3 + p);
        AVX2_ROW(4, a3 + lda + p);
        AVX2_ROW(5, a3 + 2 * lda + p);
    }
    int full0 = cols >= 8, full1 = cols >= 16;
    __m256i m0 = avx2_mask(cols), m1 = avx2_mask(cols - 8);
    post_op po = { accumulate, bias != NULL, epi };
    __m256 bias0 = _mm256_setzero_ps(), bias1 = bias0;
    if (bias) {
        bias0 = _mm256_maskload_ps(bias, m0);
        bias1 = _mm256_maskload_ps(bias + 8, m1);
    }
    AVX2_STORE(0);
    AVX2_STORE(1);
    AVX2_STORE(2);
    AVX2_STORE(3);
    AVX2_STORE(4);
    AVX2_STORE(5);
}

/* ---- AVX-512: 12 x 32 --------------------------------------------------------------------- */

#define T_AVX512 __attribute__((target("avx512f,avx2,fma")))

#define Z_ROW(r, ptr)                                                                        \
    do {                                                                                     \
        __m512 x_ = _mm512_set1_ps(*(ptr));                                                  \
        c##r##a = _mm512_fmadd_ps(x_, b0, c##r##a);                                           \
        c##r##b = _mm512_fmadd_ps(x_, b1, c##r##b);                                           \
    } while (0)

#define Z_STORE(r, idx)                                                                      \
    do {                                                                                     \
        if (idx < rows) {                                                                    \
            float *cr_ = c + idx * ldc;                                                        \
            _mm512_mask_storeu_ps(cr_, m0, z_post(c##r##a, cr_, m0, bias0, po));             \
            _mm512_mask_storeu_ps(cr_ + 16, m1, z_post(c##r##b, cr_ + 16, m1, bias1, po));   \
        }                                                                                    \
    } while (0)

T_AVX512 static inline __m512 z_post(__m512 v, const float *c, __mmask16 m, __m512 bias,
                                     post_op po)
{
    if (po.accumulate)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    if (po.has_bias)
        v = _mm512_add_ps(v, bias);
    if (po.epi != TLR_EPI_NONE) /* max(v, 0) with the 0 second: NaN -> 0 as fmaxf */
        v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (po.epi == TLR_EPI_RELU6)
        v = _mm512_min_ps(v, _mm512_set1_ps(6.0f));
    return v;
}

T_AVX512 static void kernel_avx512(int64_t k, const float *a, int64_t lda, const float *b,
                                   float *c, int64_t ldc, int rows, int cols, int accumulate,
                                   const float *bias, tlr_epilogue epi)
{
    __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m512 c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    __m512 c6a = c0a, c6b = c0a, c7a = c0a, c7b = c0a, c8a = c0a, c8b = c0a;
    __m512 c9a = c0a, c9b = c0a, cAa = c0a, cAb = c0a, cBa = c0a, cBb = c0a;
    const float *a0 = a, *a3 = a + 3 * lda, *a6 = a + 6 * lda, *a9 = a + 9 * lda;
    for (int64_t p = 0; p < k; p++, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        Z_ROW(0, a0 + p);
        Z_ROW(1, a0 + lda + p);
        Z_ROW(2, a0 + 2 * lda + p);
        Z_ROW(3, a3 + p);
        Z_ROW(4, a3 + lda + p);
        Z_ROW(5, a3 + 2 * lda + p);
        Z_ROW(6, a6 + p);
        Z_ROW(7, a6 + lda + p);
        Z_ROW(8, a6 + 2 * lda + p);
        Z_ROW(9, a9 + p);
        Z_ROW(A, a9 + lda + p);
        Z_ROW(B, a9 + 2 * lda + p);
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xFFFF : cols > 16 ? (1u << (cols - 16)) - 1 : 0);
    post_op po = { accumulate, bias != NULL, epi };
    __m512 bias0 = _mm512_setzero_ps(), bias1 = bias0;
    if (bias) {
        bias0 = _mm512_maskz_loadu_ps(m0, bias);
        bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    Z_STORE(0, 0);
    Z_STORE(1, 1);
    Z_STORE(2, 2);
    Z_STORE(3, 3);
    Z_STORE(4, 4);
    Z_STORE(5, 5);
    Z_STORE(6, 6);
    Z_STORE(7, 7);
    Z_STORE(8, 8);
    Z_STORE(9, 9);
    Z_STORE(A, 10);
    Z_STORE(B, 11);
}

/* 4 x 32 for short row blocks (a layer's last few Winograd tiles): 8 accumulators. */
T_AVX512 static void kernel_avx512_small(int64_t k, const float *a, int64_t lda, const float *b,
                                         float *c, int64_t ldc, int rows, int cols,
                                         int accumulate, const float *bias, tlr_epilogue epi)
{
    __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m512 c3a = c0a, c3b = c0a;
    const float *a0 = a, *a2 = a + 2 * lda;
    for (int64_t p = 0; p < k; p++, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        Z_ROW(0, a0 + p);
        Z_ROW(1, a0 + lda + p);
        Z_ROW(2, a2 + p);
        Z_ROW(3, a2 + lda + p);
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xFFFF : cols > 16 ? (1u << (cols - 16)) - 1 : 0);
    post_op po = { accumulate, bias != NULL, epi };
    __m512 bias0 = _mm512_setzero_ps(), bias1 = bias0;
    if (bias) {
        bias0 = _mm512_maskz_loadu_ps(m0, bias);
        bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    Z_STORE(0, 0);
    Z_STORE(1, 1);
    Z_STORE(2, 2);
    Z_STORE(3, 3);
}

#endif /* TLR_HAVE_X86_KERNELS */

/* mc is a multiple of every mr; the kc x nr panel of b fits L1 and the mc x kc block of a
 * fits L2 with room to spare. */
static const tlr_gemm_kernel kernels[TLR_ISA_COUNT] = {
    { TLR_ISA_GENERIC, G_MR, G_NR, 96, 256, 1024, kernel_generic, G_MR, kernel_generic },
#ifdef TLR_HAVE_X86_KERNELS
    { TLR_ISA_AVX2, 6, 16, 96, 256, 1024, kernel_avx2, 6, kernel_avx2 },
    { TLR_ISA_AVX512, 12, 32, 96, 256, 1024, kernel_avx512, 4, kernel_avx512_small },
#else
    { TLR_ISA_GENERIC, G_MR, G_NR, 96, 256, 1024, kernel_generic, G_MR, kernel_generic },
    { TLR_ISA_GENERIC, G_MR, G_NR, 96, 256, 1024, kernel_generic, G_MR, kernel_generic },
#endif
};

const tlr_gemm_kernel *tlr_gemm_kernel_for(tlr_isa isa)
{
    if ((unsigned)isa >= TLR_ISA_COUNT)
        isa = TLR_ISA_GENERIC;
    return &kernels[isa];
}
