/* kern_stem.h - the direct convolution for few input channels: a network's first layer on
 * an RGB or grey image (MobileNet's 3x3 stride-2 Conv1, VGG's block1_conv1).
 *
 * A tile of output pixels along a row reads its kernel rows from the image in place (with
 * cin channels, one kernel row's kw * cin taps of consecutive pixels are runs sw * cin floats
 * apart) and keeps MR pixels x NV vectors of output channels in registers.  Every output is
 * one fused multiply-add chain over its taps inside the image in (ky, kx, ci) order, then
 * the post-op, so the result depends neither on the tiling nor on the thread count.  The
 * GEMM path it replaces (conv_rows_direct in ops_conv.c, still there for machines without
 * AVX2) added one chain per kernel row through the output: the results differ from it by
 * float rounding (one or two units in the last place of the layer's outputs).  Keeping
 * those sums exactly, with the partial sums in L1 between kernel rows, measured 50 % slower
 * than this on MobileNetV2's Conv1. */
#ifndef TLR_KERN_STEM_H
#define TLR_KERN_STEM_H

#include "engine/ops.h"

/* Whether the kernel takes this convolution on this machine (AVX2 or AVX-512, one group,
 * cin <= 8, kh <= 16, no dilation along x, not 1x1). */
int tlr_kern_stem_applies(const tlr_conv2d_params *p);

/* out (N, OH, OW, Cout) = post(conv(in, kernel (kh, kw, cin, cout))), post with any bias in
 * its shift, or NULL.  Call only where tlr_kern_stem_applies. */
void tlr_kern_stem_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                          const tlr_conv_post *post, float *out);

#endif
