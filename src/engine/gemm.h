/* gemm.h - single-precision matrix multiply: a packed, blocked GEMM of our own with
 * hand-written register kernels (AVX-512, AVX2+FMA, plain C) chosen at run time, running
 * on the thread pool (threads.h).
 *
 * All matrices are row-major.  op(X) is X or its transpose as 'trans' says:
 *   c (m, n) = op(a) (m, k) x op(b) (k, n) + beta * c
 * a is stored (m, k) with row stride lda, or (k, m) when transposed; b likewise (k, n) or
 * (n, k); c is (m, n) with row stride ldc.  beta is 0 (c is overwritten; its old contents
 * are never read, so it may be uninitialised) or 1 (accumulate into c).
 *
 * Every element of c is summed over k in the same order whatever the thread count or the
 * way the work is split, so results are deterministic for a given instruction set.  The
 * reference version is a plain triple loop in double precision for tests. */
#ifndef TLR_GEMM_H
#define TLR_GEMM_H

#include <stdint.h>

#include "base/cpu.h"
#include "engine/ops.h"

typedef enum { TLR_NO_TRANS = 0, TLR_TRANS = 1 } tlr_trans;


void tlr_gemm(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

void tlr_gemm_ref(tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* ---- building blocks for ops that lay out their own matrices (Winograd, im2col) ------- */

/* Register kernel: c (rows, cols) = post(a (MR, k) x b (k, NR)) where
 *   a: row i at a + i * lda, all MR rows are read (pad short panels), k contiguous floats;
 *   b: one packed panel, element (p, j) at b[p * NR + j];
 *   c: row i at c + i * ldc; only rows < 'rows' (<= MR) and cols < 'cols' (<= NR) are
 *      written; the old values are added when 'accumulate' is set;
 *   post: NULL, or per column (scale, shift, from the block's first column), a residual
 *      laid out as c (same row stride, from the block's first element) and a clamp:
 *      c = clamp((product + old c) * scale + shift + residual); the old c being, in the
 *      GEMM driver, the sum over the earlier slices of k. */
typedef void (*tlr_gemm_kernel_fn)(int64_t k, const float *a, int64_t lda, const float *b,
                                   float *c, int64_t ldc, int rows, int cols, int accumulate,
                                   const tlr_conv_post *post);

typedef struct {
    tlr_isa isa;
    int mr, nr;          /* register block */
    int mc, kc, nc;      /* cache blocks of the GEMM driver (multiples of mr, -, nr) */
    tlr_gemm_kernel_fn run;
    int mr_small;        /* a kernel for short blocks: reads only mr_small rows */
    tlr_gemm_kernel_fn run_small;
} tlr_gemm_kernel;

/* The kernel for an instruction set (the best one at or below 'isa'). */
const tlr_gemm_kernel *tlr_gemm_kernel_for(tlr_isa isa);

/* The same for products with n columns: a narrower register block when n is just over a
 * multiple of the wide one (16 or 48 columns with AVX-512). */
const tlr_gemm_kernel *tlr_gemm_kernel_for_n(tlr_isa isa, int64_t n);

/* Packs rows [k0, k0 + kc) x cols [j0, j0 + nc) of op(b) into ceil(nc / NR) panels of
 * (kc, NR) floats, one after another; columns past nc are zeros. */
void tlr_gemm_pack_b(const tlr_gemm_kernel *kr, tlr_trans tb, const float *b, int64_t ldb,
                     int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *dst);

/* Fills 'dst' (rows padded to a multiple of MR, row stride kc) with rows [i0, i0 + rows)
 * and cols [k0, k0 + kc) of the A matrix; padding rows are the driver's job. */
typedef void (*tlr_gemm_pack_a_fn)(void *ctx, int64_t i0, int64_t rows, int64_t k0,
                                   int64_t kc, float *dst);

/* c (m, n) = post(A (m, k) x op(b) + beta * c), with A produced block by block by 'pack_a'
 * (e.g. an im2col gather straight from an image, so the whole matrix never exists); post
 * as the kernel's (per column of c), or NULL; a post with a scale needs beta 0. */
void tlr_gemm_packed_a(int64_t m, int64_t n, int64_t k, tlr_gemm_pack_a_fn pack_a, void *ctx,
                       tlr_trans tb, const float *b, int64_t ldb, float beta, float *c,
                       int64_t ldc, const tlr_conv_post *post);

/* The same with A row-major (m, k) at 'a', row stride lda, read in place (no copy): the
 * input of a 1x1 convolution is already that matrix. */
void tlr_gemm_rows(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, tlr_trans tb,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                   const tlr_conv_post *post);

/* The post-op on one value v: column j (scale, shift), element offset 'at' (residual); for
 * plain loops. */
static inline float tlr_post_apply(const tlr_conv_post *post, int64_t j, int64_t at, float v)
{
    if (!post)
        return v;
    if (post->scale)
        v *= post->scale[j];
    if (post->shift)
        v += post->shift[j];
    if (post->residual)
        v += post->residual[at];
    if (post->clamp) {
        v = v > post->lo ? v : post->lo; /* NaN -> lo, as fmaxf */
        v = v < post->hi ? v : post->hi;
    }
    return v;
}

/* The same post-op moved to a block starting at row i, column j of a matrix whose rows are
 * ld floats apart (what the GEMM driver hands each kernel call). */
static inline tlr_conv_post tlr_post_at(const tlr_conv_post *post, int64_t i, int64_t j,
                                        int64_t ld)
{
    tlr_conv_post q = *post;
    q.scale = q.scale ? q.scale + j : NULL;
    q.shift = q.shift ? q.shift + j : NULL;
    q.residual = q.residual ? q.residual + i * ld + j : NULL;
    return q;
}

#endif
