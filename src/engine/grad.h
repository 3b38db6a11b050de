/* grad.h - the reverse of each forward op: given dy = dL/d(out), the gradient with respect
 * to the op's input(s), dx = dL/d(in).  Only data gradients: weights are constants here
 * (Grad-CAM, input gradients, filter patterns by gradient ascent need nothing else).
 *
 * Each function is the exact derivative of what the matching tlr_op_X in ops.h computes,
 * with the same parameter structs and layouts: explicit pad_top / pad_left with the
 * padding after implied by the output size, half-pixel resize taps, the Keras activation
 * formulas as ops_act.c writes them.  Where the forward op has a kink (ReLU at 0, a clip at
 * its bounds) the derivative there is the one TensorFlow's gradient takes: the flat side.
 * Where the forward op picks one input (max pooling, Maximum), dy goes to the one it picked,
 * ties included (the first in scan order, as the forward's "later only if greater" rule).
 *
 * dx is written completely (never accumulated into); dy and the saved forward values are
 * borrowed.  Linear ops are the transposes (adjoints) of their forward op:
 * <dy, op(x)> = <grad(dy), x>, which is how the tests check them.
 *
 * Implementations: grad_conv.c (convolutions, Dense), grad_pool.c, grad_act.c,
 * grad_norm.c, grad_layout.c (pad, crop, resize, upsample, transpose, concat),
 * grad_merge.c. */
#ifndef TLR_GRAD_H
#define TLR_GRAD_H

#include <stdint.h>

#include "engine/ops.h"

/* ---- convolutions and Dense (grad_conv.c) ---------------------------------------------- */

/* Conv2D: dx (N, H, W, Cin) from dy (N, OH, OW, Cout) and the forward kernel
 * (kh, kw, cin/groups, cout); p is the forward op's params, unchanged.
 * Stride 1 runs as a forward convolution (GEMM / Winograd) of dy with the flipped kernel
 * (tlr_grad_conv2d_kernel) and padding (k-1)*d - pad_before; strides > 1 run as a
 * transposed convolution (a GEMM then a scatter-add).  One input channel per group
 * (groups == cin) is a depthwise convolution and goes to tlr_grad_depthwise_conv2d. */
void tlr_grad_conv2d(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                     float *dx);

/* The same with the flipped kernel prepared once by the caller (NULL: made here when the
 * chosen path needs it).  A reverse pass over many images keeps it per layer. */
void tlr_grad_conv2d_prepared(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                              const float *flipped, float *dx);

/* The kernel of the stride-1 gradient convolution: flipped in space, input and output
 * channels swapped within each group:
 *   flipped[ky', kx', co, g*cin_g + ci] = kernel[kh-1-ky', kw-1-kx', ci, g*cout_g + co]
 * (kh, kw, cout/groups, cin) for co in [0, cout_g).  A new buffer: free() it. */
float *tlr_grad_conv2d_kernel(const tlr_conv2d_params *p, const float *kernel);

/* Plain loop for the same (every output tap added to the input cell it read), in double;
 * the tests hold the fast path against it. */
void tlr_grad_conv2d_ref(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                         float *dx);

/* DepthwiseConv2D: dx (N, H, W, Cin) from dy (N, OH, OW, Cin*dm), kernel (kh, kw, cin, dm);
 * p->cout = cin * dm as in the forward op.  Stride 1 with dm 1 is the fast depthwise
 * forward kernel on the flipped taps; anything else a loop in which each dx row gathers from
 * the outputs that read it (rows split between threads). */
void tlr_grad_depthwise_conv2d(const tlr_conv2d_params *p, int depth_multiplier,
                               const float *dy, const float *kernel, float *dx);

/* Conv2DTranspose: dx (N, H, W, Cin) from dy (N, OH, OW, Cout), kernel (kh, kw, cout, cin):
 * a forward Conv2D of dy with the same kernel, strides, dilation and pad_before. */
void tlr_grad_conv2d_transpose(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                               float *dx);

/* Dense: dx (rows, n_in) = dy (rows, n_out) x kernel^T, kernel (n_in, n_out) as stored. */
void tlr_grad_dense(int64_t rows, int64_t n_in, int64_t n_out, const float *dy,
                    const float *kernel, float *dx);

/* ---- pooling (grad_pool.c) --------------------------------------------------------------- */

/* MaxPooling2D: x is the forward input (N, H, W, C); each dy goes to the cell the forward
 * kept (the window's first cell unless a later one compares greater; padding never). */
void tlr_grad_maxpool2d(const tlr_pool2d_params *p, const float *x, const float *dy, float *dx);

/* AveragePooling2D: each dy spread over its window's real cells, divided by their count. */
void tlr_grad_avgpool2d(const tlr_pool2d_params *p, const float *dy, float *dx);

/* GlobalAveragePooling: dy (N, C) -> dx (N, HW, C) = dy / hw. */
void tlr_grad_global_avgpool(int64_t n, int64_t hw, int64_t c, const float *dy, float *dx);

/* GlobalMaxPooling: dy (N, C) to the first pixel holding each channel's maximum of x. */
void tlr_grad_global_maxpool(int64_t n, int64_t hw, int64_t c, const float *x, const float *dy,
                             float *dx);

/* ---- activations (grad_act.c) ------------------------------------------------------------ */

/* Which saved forward value an activation's gradient reads: softmax and log-softmax read
 * the output y, every other kind the input x. */
int tlr_grad_act_needs_output(tlr_act kind);

/* dx = dy * f'(x) elementwise, or the softmax / log-softmax Jacobian product over rows of
 * axis_len (n a multiple of it; axis_len <= 0: one row of n).  x is the forward input
 * (NULL allowed for softmax kinds), y the forward output (NULL allowed for the others).
 * dx may be dy. */
void tlr_grad_activation(const tlr_act_params *p, const float *x, const float *y,
                         const float *dy, float *dx, int64_t n, int64_t axis_len);

/* Keras ReLU layer, same parameters as tlr_op_relu_layer; x the forward input.  dx may be dy. */
void tlr_grad_relu_layer(const float *x, const float *dy, float *dx, int64_t n,
                         float max_value, float negative_slope, float threshold);

/* Softmax over a middle axis, data (outer, len, inner); y the forward output.  dx may be dy. */
void tlr_grad_softmax_axis(const float *y, const float *dy, float *dx, int64_t outer,
                           int64_t len, int64_t inner);

/* PReLU with respect to its input x (alpha as in tlr_op_prelu).  dx may be dy. */
void tlr_grad_prelu(const float *x, const float *dy, float *dx, int64_t n, const float *alpha,
                    int64_t alpha_n);

/* ---- normalisation (grad_norm.c) -------------------------------------------------------- */

/* Inference BatchNormalization over (outer, C, inner): dx = dy * gamma / sqrt(var + eps),
 * the factor rounded as the forward op rounds it.  gamma NULL: scale=False.  dx may be dy. */
void tlr_grad_batchnorm(const float *dy, float *dx, int64_t outer, int64_t c, int64_t inner,
                        const float *gamma, const float *var, float eps);

/* tlr_op_channel_affine (Rescaling, Normalization): dx = dy * scale[ch] (scale NULL: dx =
 * dy; the shift has no gradient).  dx may be dy. */
void tlr_grad_channel_affine(const float *dy, float *dx, int64_t outer, int64_t c,
                             int64_t inner, const float *scale);

/* ---- layout (grad_layout.c) -------------------------------------------------------------- */

/* ZeroPadding2D: dx (N, H, W, C) = dy (N, H+top+bottom, W+left+right, C) cropped. */
void tlr_grad_pad2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                    int right, const float *dy, float *dx);

/* Cropping2D: dx (N, H, W, C) = dy (N, H-top-bottom, W-left-right, C) zero-padded back. */
void tlr_grad_crop2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                     int right, const float *dy, float *dx);

/* tlr_op_resize2d: dx (N, H, W, C) from dy (N, OH, OW, C), each output's dy scattered onto
 * the cells it read with the weights it read them with (nearest: weight 1). */
void tlr_grad_resize2d(tlr_resize_mode mode, int64_t n, int64_t h, int64_t w, int64_t c,
                       int64_t oh, int64_t ow, const float *dy, float *dx);

/* UpSampling2D nearest: dx (N, H, W, C) = the sum of dy over each (fh, fw) block. */
void tlr_grad_upsample_nearest(int64_t n, int64_t h, int64_t w, int64_t c, int fh, int fw,
                               const float *dy, float *dx);

/* Permute / transpose: 'shape' is the forward input's, perm the forward permutation;
 * dx (shape) = dy (shape permuted) transposed back by the inverse permutation. */
void tlr_grad_transpose(int ndim, const int64_t *shape, const int *perm, const float *dy,
                        float *dx);

/* Concatenate: dy (outer, sum len, inner) split back into dx[k] (outer, len[k], inner). */
void tlr_grad_concat(const float *dy, const int64_t *len, int n_in, int64_t outer,
                     int64_t inner, float *const *dx);

/* ---- merges (grad_merge.c) -------------------------------------------------------------- */

/* tlr_op_merge: one dx[k] (n) per input in[k] (n): Add dy; Subtract dy, -dy; Average
 * dy / n_in; Multiply dy times the product of the other inputs; Maximum / Minimum dy to the
 * input the forward fold kept, 0 to the rest.  Any dx[k] may be dy or in[k] (each element's
 * values are all read before any is written). */
void tlr_grad_merge(tlr_merge kind, const float *const *in, int n_in, int64_t n,
                    const float *dy, float *const *dx);

/* tlr_op_merge_broadcast: as tlr_grad_merge per output element, each dx[k] (shape of input
 * k) the sum of its elements' contributions over the axes it was broadcast along (summed in
 * double).  dy has out_shape; no dx may alias dy or an input. */
void tlr_grad_merge_broadcast(tlr_merge kind, const float *const *in, int n_in, int ndim,
                              const int64_t *in_shapes, const int64_t *out_shape,
                              const float *dy, float *const *dx);

#endif
