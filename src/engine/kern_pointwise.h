/* kern_pointwise.h - the fast 1x1 convolution (MobileNet's expand and project layers, the
 * last Conv_1): out (P, N) = post(in (P, K) x w (K, N)), the Keras kernel (1, 1, K, N) read in
 * place as the (K, N) matrix, so nothing is packed per call (the GEMM driver repacks the
 * weights on every pass, which costs as much as the product on the small late layers).
 *
 * Register tiles of MR pixels x NV vectors of output channels, K summed in one register
 * from zero with fused multiply-adds over each slice of the GEMM's depth (256), the slices
 * added as the GEMM driver adds them, then the post-op (scale, shift, residual, clamp) in
 * the same order as the GEMM kernels: the results are bit for bit those of the GEMM path
 * (tlr_gemm_rows) on the same instruction set.  Work is
 * split between threads by blocks of pixels (or, with very few pixels, of channels). */
#ifndef TLR_KERN_POINTWISE_H
#define TLR_KERN_POINTWISE_H

#include <stdint.h>

#include "engine/ops.h"

/* The GEMM's slice of k (its kc), whose partial sums it adds one after another. */
#define TLR_POINTWISE_K_SLICE 256

/* Deeper products go to the GEMM: the weights of a 64-channel strip no longer stay in L2. */
#define TLR_POINTWISE_K_MAX 1024

/* Whether the kernel takes a product of this shape on this machine (AVX2 or AVX-512, more
 * than a handful of pixels, K within TLR_POINTWISE_K_MAX). */
int tlr_kern_pointwise_applies(int64_t pixels, int64_t k);

/* out (P, N), rows ld_out apart = post(in (P, K), rows ld_in apart, x w (K, N), rows ld_w
 * apart); post as tlr_conv_post (a bias already in its shift; residual laid out as out), or
 * NULL.  Call only where tlr_kern_pointwise_applies. */
void tlr_kern_pointwise(int64_t pixels, int64_t k, int64_t n, const float *in, int64_t ld_in,
                        const float *w, int64_t ld_w, const tlr_conv_post *post, float *out,
                        int64_t ld_out);

/* The same on the calling thread only, 'tid' being its thread id (for its scratch): for a
 * caller that splits the work itself (kern_mbconv.c). */
void tlr_kern_pointwise_serial(int64_t pixels, int64_t k, int64_t n, const float *in,
                               int64_t ld_in, const float *w, int64_t ld_w,
                               const tlr_conv_post *post, float *out, int64_t ld_out, int tid);

#endif
