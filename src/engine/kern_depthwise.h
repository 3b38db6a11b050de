/* kern_depthwise.h - the fast DepthwiseConv2D (depth_multiplier 1): vectors along the channel
 * axis, the kernel taps of one channel block kept in registers across a row of outputs,
 * output rows split between threads.  Any size, stride, dilation and padding. */
#ifndef TLR_KERN_DEPTHWISE_H
#define TLR_KERN_DEPTHWISE_H

#include "engine/gemm.h"
#include "engine/ops.h"

/* out (N, OH, OW, C) = post(depthwise(in (N, H, W, C), kernel (kh, kw, C, 1))), post as the
 * GEMM kernels' (a bias is its shift), or NULL; p->cout == p->cin. */
void tlr_kern_depthwise_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                               const tlr_conv_post *post, float *out);

/* The same for output rows [r0, r1) only (over N, OH), on the calling thread: for a caller
 * that splits the work itself (kern_mbconv.c); each output is computed as above. */
void tlr_kern_depthwise_rows(const tlr_conv2d_params *p, const float *in, const float *kernel,
                             const tlr_conv_post *post, float *out, int64_t r0, int64_t r1);

#endif
