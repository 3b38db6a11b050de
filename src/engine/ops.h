/* ops.h - the numeric operations of the forward pass, one function per op.
 *
 * Every op works on plain float arrays in Keras channels_last layout with explicit sizes,
 * so it can be tested alone against hand-computed values.  Padding is always resolved by
 * the caller (shape inference) into explicit before/after amounts; ops never see
 * 'same'/'valid'.  Inputs are borrowed and never modified unless the function says
 * "in place"; outputs are written completely (no accumulation into garbage).
 *
 * Layouts (shape comments):
 *   images  (N, H, W, C)        1-D data is passed as H = 1
 *   kernels (kh, kw, cin/groups, cout)   Keras order, as stored in the file
 *   depthwise kernels (kh, kw, cin, depth_multiplier), output channel c*dm + m
 *   transposed-conv kernels (kh, kw, cout, cin)  (Keras Conv2DTranspose order)
 *   dense kernels (in, out)
 *
 * Implementations: ops_conv.c (convolutions), ops_dense.c (Dense, GEMM glue),
 * ops_pool.c, ops_norm.c (BatchNormalization, Normalization, affine), ops_act.c,
 * ops_merge.c, ops_layout.c (pad, crop, upsample, resize, permute, transpose), ops_rnn.c
 * (SimpleRNN, GRU, LSTM, Bidirectional, Embedding).
 * Heavy ops may use both cores; they are deterministic for a given thread count.
 *
 * Names: tlr_op_X is the op as the engine runs it (it picks the fastest path);
 * tlr_op_X_ref is the plain loop the tests hold the fast paths against; tlr_kern_* are
 * the fast kernels behind an op (kern_winograd.c, kern_depthwise.c, with one text per
 * instruction set in kern_*_isa.inc) and tlr_gemm_* the packed matrix product (gemm.c). */
#ifndef TLR_OPS_H
#define TLR_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "keras/vocab.h"

/* ---- activations ------------------------------------------------------------------- */


/* Applies an elementwise activation in place on n values.  Softmax/log-softmax take the
 * last axis of length 'axis_len' (n must be a multiple of it); ignored otherwise. */
void tlr_op_activation(const tlr_act_params *p, float *x, int64_t n, int64_t axis_len);

/* Keras ReLU layer: x >= max_value -> max_value; threshold <= x < max_value -> x;
 * x < threshold -> negative_slope * (x - threshold).  In place. */
void tlr_op_relu_layer(float *x, int64_t n, float max_value /* <0: none */,
                       float negative_slope, float threshold);

/* Softmax over a middle axis: data viewed as (outer, len, inner). In place. */
void tlr_op_softmax_axis(float *x, int64_t outer, int64_t len, int64_t inner);

/* PReLU: y = x > 0 ? x : alpha[i % alpha_n] * x, alpha already broadcast over the
 * non-batch shape (alpha_n = H*W*C or C etc.). In place. */
void tlr_op_prelu(float *x, int64_t n, const float *alpha, int64_t alpha_n);

/* ---- convolutions -------------------------------------------------------------------- */

typedef struct {
    int64_t n, h, w, cin;        /* input (N, H, W, Cin) */
    int64_t oh, ow, cout;        /* output (N, OH, OW, Cout) */
    int kh, kw;                  /* kernel size */
    int sh, sw;                  /* strides */
    int dh, dw;                  /* dilation */
    int pad_top, pad_left;       /* zero padding before (after is implied by oh/ow) */
    int groups;                  /* cin and cout divisible by groups */
} tlr_conv2d_params;

/* Aborts on params no caller may build (negative sizes, zero strides); shared by the forward
 * convolutions and their gradients. */
void tlr_conv2d_params_check(const tlr_conv2d_params *p);
/* The group count: groups == 0 is read as 1, so a zero-initialised struct means "not
 * grouped"; cin and cout must divide by it. */
int64_t tlr_conv2d_groups(const tlr_conv2d_params *p);

/* out (N,OH,OW,Cout) = conv(in (N,H,W,Cin), kernel (kh,kw,cin/groups,cout)) + bias (Cout or NULL).
 * No activation. */
void tlr_op_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                   const float *bias, float *out);

/* The same followed by an activation (NULL: none).  Plain ReLU and ReLU6 are applied as
 * the results are written; anything else runs as tlr_op_activation afterwards. */
void tlr_op_conv2d_act(const tlr_conv2d_params *p, const float *in, const float *kernel,
                       const float *bias, const tlr_act_params *act, float *out);

/* What a convolution does to each output on its way out, per output channel c:
 *   y = conv + bias[c], then y = y * scale[c] + shift[c], then y += residual (the element
 *   at the same place), then if clamp y = min(max(y, lo), hi)
 * (scale, shift, residual NULL: none; max() as fmaxf, so NaN becomes lo).  A
 * BatchNormalization (scale = gamma / sqrt(var + eps), shift = beta - mean * scale), an Add
 * of a residual branch and a ReLU / ReLU6 right after a convolution fold into it, saving a
 * pass over memory each. */
typedef struct {
    const float *scale, *shift; /* (Cout) each, or NULL */
    int clamp;
    float lo, hi;
    const float *residual;      /* (N, OH, OW, Cout) like the output, or NULL */
} tlr_conv_post;

/* Conv2D / DepthwiseConv2D with a post-op (NULL: none). */
void tlr_op_conv2d_post(const tlr_conv2d_params *p, const float *in, const float *kernel,
                        const float *bias, const tlr_conv_post *post, float *out);
void tlr_op_depthwise_conv2d_post(const tlr_conv2d_params *p, int depth_multiplier,
                                  const float *in, const float *kernel, const float *bias,
                                  const tlr_conv_post *post, float *out);

/* Plain reference loop for the same op (tests compare fast paths against it). */
void tlr_op_conv2d_ref(const tlr_conv2d_params *p, const float *in, const float *kernel,
                       const float *bias, float *out);

/* Depthwise: p->cout = cin * depth_multiplier, p->groups ignored;
 * kernel (kh, kw, cin, dm), bias (cin*dm) or NULL. */
void tlr_op_depthwise_conv2d(const tlr_conv2d_params *p, int depth_multiplier, const float *in,
                             const float *kernel, const float *bias, float *out);
void tlr_op_depthwise_conv2d_ref(const tlr_conv2d_params *p, int depth_multiplier,
                                 const float *in, const float *kernel, const float *bias,
                                 float *out);

/* Transposed convolution (Keras Conv2DTranspose): kernel (kh, kw, cout, cin).
 * The full (uncropped) output has size (h-1)*s + (k-1)*d + 1 per axis; the op writes the
 * window starting at (pad_top, pad_left) of size (oh, ow) of that full output, with
 * zeros where the window extends past it (output_padding). */
void tlr_op_conv2d_transpose(const tlr_conv2d_params *p, const float *in, const float *kernel,
                             const float *bias, float *out);

/* ---- dense ---------------------------------------------------------------------------- */

/* out (rows, n_out) = in (rows, n_in) x kernel (n_in, n_out) + bias (n_out or NULL). */
void tlr_op_dense(int64_t rows, int64_t n_in, int64_t n_out, const float *in,
                  const float *kernel, const float *bias, float *out);
void tlr_op_dense_ref(int64_t rows, int64_t n_in, int64_t n_out, const float *in,
                      const float *kernel, const float *bias, float *out);

/* ---- pooling -------------------------------------------------------------------------- */

typedef struct {
    int64_t n, h, w, c;          /* input */
    int64_t oh, ow;              /* output (N, OH, OW, C) */
    int kh, kw, sh, sw;
    int pad_top, pad_left;       /* 'same' padding before; max ignores padded cells,
                                    average divides by the count of real cells */
} tlr_pool2d_params;

/* MaxPooling2D (ops_pool_fast.c): vectors along the channel axis, output rows split between
 * threads; windows clipped to the image ('same' padding never takes part), each output the
 * first cell of its window raised by every later cell that compares greater (so NaN handling
 * is the reference's, lane by lane).  The _ref loop is in ops_pool.c. */
void tlr_op_maxpool2d(const tlr_pool2d_params *p, const float *in, float *out);
void tlr_op_maxpool2d_ref(const tlr_pool2d_params *p, const float *in, float *out);
void tlr_op_avgpool2d(const tlr_pool2d_params *p, const float *in, float *out);
/* (N, H, W, C) -> (N, C).  The fast one (ops_pool_fast.c) is bit for bit the reference (sums
 * in double, pixel order), with vectors across channels. */
void tlr_op_global_avgpool(int64_t n, int64_t hw, int64_t c, const float *in, float *out);
void tlr_op_global_avgpool_ref(int64_t n, int64_t hw, int64_t c, const float *in, float *out);
void tlr_op_global_maxpool(int64_t n, int64_t hw, int64_t c, const float *in, float *out);

/* ---- normalisation -------------------------------------------------------------------- */

/* Data viewed as (outer, C, inner); channel axis is the middle one (inner = 1 for
 * channels_last).  y = (x - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be NULL
 * (scale=False / center=False).  In place. */
void tlr_op_batchnorm(float *x, int64_t outer, int64_t c, int64_t inner, const float *gamma,
                      const float *beta, const float *mean, const float *var, float eps);
/* The same from x into y (y may be x). */
void tlr_op_batchnorm_to(const float *x, float *y, int64_t outer, int64_t c, int64_t inner,
                         const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps);

/* y = x * scale[ch] + shift[ch] over (outer, C, inner); scale/shift NULL means 1/0.
 * Used for Rescaling (C = 1 for scalars) and Normalization.  In place. */
void tlr_op_channel_affine(float *x, int64_t outer, int64_t c, int64_t inner,
                           const float *scale, const float *shift);

/* ---- merges --------------------------------------------------------------------------- */


/* out[i] = in[0][i] op in[1][i] op ... for n elements (same shapes; Subtract takes 2). */
void tlr_op_merge(tlr_merge kind, const float *const *in, int n_in, int64_t n, float *out);

/* The same with broadcasting, as Keras merges an SE gate (N, 1, 1, C) into (N, H, W, C):
 * input k has the shape in_shapes[k * ndim .. k * ndim + ndim - 1] of rank 'ndim' (1..8;
 * the caller expands a lower-rank input with 1s after the batch axis, as Keras does), each
 * dim equal to the output's or 1; out has out_shape.  Inputs fold left to right per element
 * as in tlr_op_merge.  'out' must not alias an input. */
void tlr_op_merge_broadcast(tlr_merge kind, const float *const *in, int n_in, int ndim,
                            const int64_t *in_shapes, const int64_t *out_shape, float *out);

/* Concatenation along an axis: input k viewed as (outer, len[k], inner). */
void tlr_op_concat(const float *const *in, const int64_t *len, int n_in, int64_t outer,
                   int64_t inner, float *out);

/* ---- layout --------------------------------------------------------------------------- */

/* Zero padding (N,H,W,C) -> (N, H+top+bottom, W+left+right, C). */
void tlr_op_pad2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                  int right, const float *in, float *out);
/* Cropping (N,H,W,C) -> (N, H-top-bottom, W-left-right, C). */
void tlr_op_crop2d(int64_t n, int64_t h, int64_t w, int64_t c, int top, int bottom, int left,
                   int right, const float *in, float *out);

/* Image resize as tf.image.resize (half_pixel_centers, no antialias), used by UpSampling2D
 * (bilinear / nearest) and Resizing.  Nearest follows TF's rule:
 * src = min(floor((x + 0.5) * in / out), in - 1). */
void tlr_op_resize2d(tlr_resize_mode mode, int64_t n, int64_t h, int64_t w, int64_t c,
                     int64_t oh, int64_t ow, const float *in, float *out);
/* UpSampling2D nearest: every pixel repeated (fh, fw) times. */
void tlr_op_upsample_nearest(int64_t n, int64_t h, int64_t w, int64_t c, int fh, int fw,
                             const float *in, float *out);


/* ---- recurrent and embedding ---------------------------------------------------------- */
/* Implementation: ops_rnn.c.  Sequences are (N, T, F), batch first (Keras time_major=False);
 * weights in Keras order, as stored: kernel (F, g*u), recurrent_kernel (u, g*u), bias (g*u)
 * or, for GRU reset_after, (2, g*u): row 0 the input bias, row 1 the recurrent bias.  The
 * gates sit side by side in that order: GRU z, r, h (g = 3); LSTM i, f, c, o (g = 4);
 * SimpleRNN g = 1.  The initial state is zero and there is no masking. */

/* Embedding: out (n, output_dim) = table (input_dim, output_dim) rows picked by 'ids'
 * (n values).  Keras casts float ids to int32, which truncates toward zero (2.9 -> 2,
 * -0.5 -> 0).  An id outside [0, input_dim) after that (or NaN) gets a row of zeros;
 * Keras raises an error there, so *bad_index (may be NULL) receives the position of the
 * first such id, or -1 when every id is valid. */
void tlr_op_embedding(const float *ids, int64_t n, const float *table, int64_t input_dim,
                      int64_t output_dim, float *out, int *bad_index);

typedef enum { TLR_RNN_SIMPLE = 0, TLR_RNN_GRU = 1, TLR_RNN_LSTM = 2 } tlr_rnn_kind;

typedef struct {
    tlr_rnn_kind kind;            /* the same numbers as tlr_rnn_cfg.kind */
    int64_t units;                /* u */
    tlr_act_params act;           /* 'activation' (cell candidate and LSTM output) */
    tlr_act_params recurrent_act; /* 'recurrent_activation': GRU and LSTM gates */
    int reset_after;              /* GRU: h~ = act(xW_h + b_h + r * (hU_h + b'_h)), bias
                                     (2, 3u); else h~ = act(xW_h + b_h + (r * h)U_h), bias
                                     (3u) */
    int go_backwards;             /* read the input from t = T-1 down to 0; a returned
                                     sequence stays in that processing order (as Keras) */
    int return_sequences;         /* out (N, T, u); else the last state (N, u) */
} tlr_rnn_params;

/* Gates per kind: 1, 3 or 4. */
int tlr_rnn_gates(tlr_rnn_kind kind);

/* The Keras layers, step by step:
 *   SimpleRNN  h = act(x W + b + h U)
 *   GRU        z = ract(x W_z + b_z + h U_z [+ b'_z]), r likewise,
 *              h~ as in reset_after above, h = z * h + (1 - z) * h~
 *   LSTM       i, f, o = ract(x W_. + b_. + h U_.), c = f * c + i * act(x W_c + b_c + h U_c),
 *              h = o * act(c)
 * x (N, T, F); bias NULL when use_bias is False; out as return_sequences says. */
void tlr_op_rnn(const tlr_rnn_params *p, int64_t n, int64_t t, int64_t f, const float *x,
                const float *kernel, const float *recurrent, const float *bias, float *out);

/* One direction's weights, as tlr_op_rnn takes them. */
typedef struct {
    const float *kernel;          /* (F, g*u) */
    const float *recurrent;       /* (u, g*u) */
    const float *bias;            /* (g*u), (2, g*u) or NULL */
} tlr_rnn_weights;

/* Bidirectional: y = forward layer (fw), y_rev = backward layer (bw); when they return
 * sequences y_rev is flipped back in time; then concat [y, y_rev] on the last axis, or
 * y + y_rev, y * y_rev, (y + y_rev) / 2.
 * bw NULL: the backward layer is fw with go_backwards negated (tf.keras 2 builds it so;
 * Keras 3 stores 'backward_layer' with go_backwards True, pass it).  The caller checks that
 * both return sequences alike and, except for concat, have equal units.
 * out (N, [T,] uf + ub) for concat, else (N, [T,] u). */
void tlr_op_bidirectional(const tlr_rnn_params *fw, const tlr_rnn_params *bw,
                          tlr_bidi_merge merge, int64_t n, int64_t t, int64_t f,
                          const float *x, const tlr_rnn_weights *fw_w,
                          const tlr_rnn_weights *bw_w, float *out);

#endif
