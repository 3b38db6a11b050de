/* kern_simd.h - what the kern_simd_*.inc vector sets share: the AVX2 lane mask. */
#ifndef TLR_KERN_SIMD_H
#define TLR_KERN_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TLR_KERN_X86 1

/* Lanes 0 .. n-1 of an AVX2 mask (n clamped to 0 .. 8). */
__attribute__((target("avx2,fma"))) static inline __m256i sv_mask8(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

#endif
