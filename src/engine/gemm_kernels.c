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

#include "engine/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TLR_HAVE_X86_KERNELS 1
#endif

/* ---- plain C ------------------------------------------------------------------------------ */

/* 6 x 8 in 4-float GCC vectors: two per row, twelve accumulators, which with the two b
 * vectors and a broadcast fit the sixteen 128-bit registers of SSE2 / NEON. */
#define G_MR 6
#define G_NR 8

typedef float g_v4 __attribute__((vector_size(16)));
typedef float g_v4u __attribute__((vector_size(16), aligned(4)));

static void kernel_generic(int64_t k, const float *a, int64_t lda, const float *b, float *c,
                           int64_t ldc, int rows, int cols, int accumulate,
                           const tlr_conv_post *post)
{
    g_v4 acc[G_MR][2];
    memset(acc, 0, sizeof acc);
    for (int64_t p = 0; p < k; p++) {
        g_v4 b0 = *(const g_v4u *)(b + p * G_NR), b1 = *(const g_v4u *)(b + p * G_NR + 4);
#pragma GCC unroll 6
        for (int i = 0; i < G_MR; i++) {
            g_v4 x = (g_v4){ 0 } + a[i * lda + p];
            acc[i][0] += x * b0;
            acc[i][1] += x * b1;
        }
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = acc[i][j / 4][j % 4];
            if (accumulate)
                v += c[i * ldc + j];
            if (post && post->scale)
                v *= post->scale[j];
            if (post && post->shift)
                v += post->shift[j];
            if (post && post->residual)
                v += post->residual[i * ldc + j];
            if (post && post->clamp) {
                v = v > post->lo ? v : post->lo; /* NaN -> lo, as fmaxf */
                v = v < post->hi ? v : post->hi;
            }
            c[i * ldc + j] = v;
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

/* The post-op in vector form: per-lane scale and shift of the block's columns, clamp. */
typedef struct {
    int accumulate, scale, clamp;
    const float *residual; /* row 0 of the block, rows ldc apart, or NULL */
} post_flags;

/* Epilogue of one vector: + old c, * scale + shift, clamp; then a (masked) store. */
T_AVX2 static inline void avx2_store(float *c, __m256 v, __m256i mask, int full, __m256 sc,
                                     __m256 sh, __m256 lo, __m256 hi, post_flags pf,
                                     const float *res)
{
    if (pf.accumulate)
        v = _mm256_add_ps(v, full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask));
    v = pf.scale ? _mm256_fmadd_ps(v, sc, sh) : _mm256_add_ps(v, sh);
    if (res)
        v = _mm256_add_ps(v, full ? _mm256_loadu_ps(res) : _mm256_maskload_ps(res, mask));
    if (pf.clamp) /* max(v, lo) with lo second: NaN -> lo as fmaxf */
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
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
            const float *res_ = pf.residual ? pf.residual + r * ldc : NULL;                  \
            avx2_store(c + r * ldc, c##r##0, m0, full0, sc0, sh0, lo, hi, pf, res_);         \
            if (cols > 8)                                                                    \
                avx2_store(c + r * ldc + 8, c##r##1, m1, full1, sc1, sh1, lo, hi, pf,        \
                           res_ ? res_ + 8 : NULL);                                          \
        }                                                                                    \
    } while (0)

T_AVX2 static void kernel_avx2(int64_t k, const float *a, int64_t lda, const float *b, float *c,
                               int64_t ldc, int rows, int cols, int accumulate,
                               const tlr_conv_post *post)
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
    post_flags pf = { accumulate, post && post->scale, post && post->clamp,
                      post ? post->residual : NULL };
    __m256 sc0 = _mm256_set1_ps(1.0f), sc1 = sc0, sh0 = _mm256_setzero_ps(), sh1 = sh0;
    __m256 lo = sh0, hi = sh0;
    if (post && post->scale) {
        sc0 = _mm256_maskload_ps(post->scale, m0);
        sc1 = _mm256_maskload_ps(post->scale + 8, m1);
    }
    if (post && post->shift) {
        sh0 = _mm256_maskload_ps(post->shift, m0);
        sh1 = _mm256_maskload_ps(post->shift + 8, m1);
    }
    if (post && post->clamp) {
        lo = _mm256_set1_ps(post->lo);
        hi = _mm256_set1_ps(post->hi);
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
            const float *res_ = pf.residual ? pf.residual + idx * ldc : NULL;                \
            _mm512_mask_storeu_ps(cr_, m0, z_post(c##r##a, cr_, m0, sc0, sh0, lo, hi, pf, res_)); \
            _mm512_mask_storeu_ps(cr_ + 16, m1, z_post(c##r##b, cr_ + 16, m1, sc1, sh1, lo, hi,  \
                                                       pf, res_ ? res_ + 16 : NULL));        \
        }                                                                                    \
    } while (0)

T_AVX512 static inline __m512 z_post(__m512 v, const float *c, __mmask16 m, __m512 sc, __m512 sh,
                                     __m512 lo, __m512 hi, post_flags pf, const float *res)
{
    if (pf.accumulate)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    v = pf.scale ? _mm512_fmadd_ps(v, sc, sh) : _mm512_add_ps(v, sh);
    if (res)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res));
    if (pf.clamp) /* max(v, lo) with lo second: NaN -> lo as fmaxf */
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return v;
}

/* The post-op vectors of one 32-column block. */
#define Z_POST_SETUP()                                                                       \
    post_flags pf = { accumulate, post && post->scale, post && post->clamp,                  \
                      post ? post->residual : NULL };                                        \
    __m512 sc0 = _mm512_set1_ps(1.0f), sc1 = sc0, sh0 = _mm512_setzero_ps(), sh1 = sh0;     \
    __m512 lo = sh0, hi = sh0;                                                               \
    if (post && post->scale) {                                                               \
        sc0 = _mm512_maskz_loadu_ps(m0, post->scale);                                        \
        sc1 = _mm512_maskz_loadu_ps(m1, post->scale + 16);                                   \
    }                                                                                        \
    if (post && post->shift) {                                                               \
        sh0 = _mm512_maskz_loadu_ps(m0, post->shift);                                        \
        sh1 = _mm512_maskz_loadu_ps(m1, post->shift + 16);                                   \
    }                                                                                        \
    if (post && post->clamp) {                                                               \
        lo = _mm512_set1_ps(post->lo);                                                       \
        hi = _mm512_set1_ps(post->hi);                                                       \
    }

T_AVX512 static void kernel_avx512(int64_t k, const float *a, int64_t lda, const float *b,
                                   float *c, int64_t ldc, int rows, int cols, int accumulate,
                                   const tlr_conv_post *post)
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
    Z_POST_SETUP()
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
                                         int accumulate, const tlr_conv_post *post)
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
    Z_POST_SETUP()
    Z_STORE(0, 0);
    Z_STORE(1, 1);
    Z_STORE(2, 2);
    Z_STORE(3, 3);
}

/* 16 x 16 for narrow products (16 or 48 output channels: MobileNet's 1x1 convolutions,
 * first layers): a 32-wide block would waste half its multiplications there. */
#define N_ROW(r, ptr) c##r = _mm512_fmadd_ps(_mm512_set1_ps(*(ptr)), b0, c##r)

#define N_STORE(r, idx)                                                                      \
    do {                                                                                     \
        if (idx < rows) {                                                                    \
            float *cr_ = c + idx * ldc;                                                      \
            const float *res_ = pf.residual ? pf.residual + idx * ldc : NULL;                \
            _mm512_mask_storeu_ps(cr_, m0, z_post(c##r, cr_, m0, sc0, sh0, lo, hi, pf, res_)); \
        }                                                                                    \
    } while (0)

T_AVX512 static void kernel_avx512_n16(int64_t k, const float *a, int64_t lda, const float *b,
                                       float *c, int64_t ldc, int rows, int cols,
                                       int accumulate, const tlr_conv_post *post)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0;
    __m512 c7 = c0, c8 = c0, c9 = c0, cA = c0, cB = c0, cC = c0, cD = c0, cE = c0, cF = c0;
    const float *a0 = a, *a3 = a + 3 * lda, *a6 = a + 6 * lda, *a9 = a + 9 * lda;
    const float *aC = a + 12 * lda, *aF = a + 15 * lda;
    for (int64_t p = 0; p < k; p++, b += 16) {
        __m512 b0 = _mm512_loadu_ps(b);
        N_ROW(0, a0 + p);
        N_ROW(1, a0 + lda + p);
        N_ROW(2, a0 + 2 * lda + p);
        N_ROW(3, a3 + p);
        N_ROW(4, a3 + lda + p);
        N_ROW(5, a3 + 2 * lda + p);
        N_ROW(6, a6 + p);
        N_ROW(7, a6 + lda + p);
        N_ROW(8, a6 + 2 * lda + p);
        N_ROW(9, a9 + p);
        N_ROW(A, a9 + lda + p);
        N_ROW(B, a9 + 2 * lda + p);
        N_ROW(C, aC + p);
        N_ROW(D, aC + lda + p);
        N_ROW(E, aC + 2 * lda + p);
        N_ROW(F, aF + p);
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    post_flags pf = { accumulate, post && post->scale, post && post->clamp,
                      post ? post->residual : NULL };
    __m512 sc0 = _mm512_set1_ps(1.0f), sh0 = _mm512_setzero_ps(), lo = sh0, hi = sh0;
    if (post && post->scale)
        sc0 = _mm512_maskz_loadu_ps(m0, post->scale);
    if (post && post->shift)
        sh0 = _mm512_maskz_loadu_ps(m0, post->shift);
    if (post && post->clamp) {
        lo = _mm512_set1_ps(post->lo);
        hi = _mm512_set1_ps(post->hi);
    }
    N_STORE(0, 0);
    N_STORE(1, 1);
    N_STORE(2, 2);
    N_STORE(3, 3);
    N_STORE(4, 4);
    N_STORE(5, 5);
    N_STORE(6, 6);
    N_STORE(7, 7);
    N_STORE(8, 8);
    N_STORE(9, 9);
    N_STORE(A, 10);
    N_STORE(B, 11);
    N_STORE(C, 12);
    N_STORE(D, 13);
    N_STORE(E, 14);
    N_STORE(F, 15);
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

#ifdef TLR_HAVE_X86_KERNELS
static const tlr_gemm_kernel narrow512 = { TLR_ISA_AVX512, 16, 16, 96, 256, 1024,
                                           kernel_avx512_n16, 16, kernel_avx512_n16 };
#endif

const tlr_gemm_kernel *tlr_gemm_kernel_for_n(tlr_isa isa, int64_t n)
{
#ifdef TLR_HAVE_X86_KERNELS
    /* the 16-wide kernel when the 32-wide one would leave more columns unused */
    const tlr_gemm_kernel *wide = tlr_gemm_kernel_for(isa);
    if (wide->isa == TLR_ISA_AVX512 && n % 32 != 0 && n % 32 <= 16)
        return &narrow512;
    return wide;
#else
    (void)n;
    return tlr_gemm_kernel_for(isa);
#endif
}

const tlr_gemm_kernel *tlr_gemm_kernel_for(tlr_isa isa)
{
    if ((unsigned)isa >= TLR_ISA_COUNT)
        isa = TLR_ISA_GENERIC;
    return &kernels[isa];
}
