/* kern_winograd.h - 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3).
 *
 * Each 4x4 block of outputs is computed from a 6x6 block of inputs as
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A
 * so the channel sums become 36 independent matrix products (tiles x cin) x (cin x cout):
 * 36 multiplications per 16 outputs and channel pair instead of 144, a 4x saving (less
 * the tiles that stick out past the image edge).  Rounding differs from the direct sum by
 * a few units in the last place of the layer's largest values (the transforms scale by up
 * to 8); the tests bound it against the double-precision reference.
 *
 * Used by tlr_op_conv2d_post (ops_conv.c) for Conv2D 3x3, stride 1, dilation 1, groups 1
 * with enough channels and pixels to pay for the transforms; see tlr_kern_winograd_worth(). */
#ifndef TLR_KERN_WINOGRAD_H
#define TLR_KERN_WINOGRAD_H

#include "engine/gemm.h"
#include "engine/ops.h"

/* Whether F(4x4, 3x3) can compute this convolution at all (3x3, stride 1, dilation 1,
 * groups 1, at most 2 rows / columns of padding before; any after). */
int tlr_kern_winograd_applies(const tlr_conv2d_params *p);

/* Whether it is also expected to be faster than the direct GEMM here. */
int tlr_kern_winograd_worth(const tlr_conv2d_params *p);

/* out (N, OH, OW, Cout) = post(conv(in, kernel (3, 3, Cin, Cout))), post as the GEMM
 * kernels' (a bias is its shift), or NULL.  Requires tlr_kern_winograd_applies(p). */
void tlr_kern_winograd_conv3x3(const tlr_conv2d_params *p, const float *in, const float *kernel,
                          const tlr_conv_post *post, float *out);

#endif
