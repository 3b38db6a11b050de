/* kern_mbconv.h - MobileNetV2's inverted residual block as one kernel:
 *
 *   e = clamp(expand_1x1(x) * scale + shift)          (N, H, W, cexp)   optional
 *   d = clamp(depthwise_3x3(e, stride) * scale + shift) (N, OH, OW, cexp)
 *   y = project_1x1(d) * scale + shift [+ residual] [clamp]  (N, OH, OW, cout)
 *
 * computed band by band of output rows while the expanded rows are in cache, as XNNPACK and
 * ONNX Runtime run these blocks: e and d never exist whole (block_1 of a 224x224 MobileNetV2
 * would write and read back 2.4 MB of e; here a few rows of it stay in L2).  Each thread
 * takes contiguous bands; within them every expanded row is computed once and kept for the
 * next band's overlap.
 *
 * The numbers are those of the three separate ops (tlr_op_conv2d_post, then
 * tlr_op_depthwise_conv2d_post, then tlr_op_conv2d_post with the residual), bit for bit
 * wherever the 1x1 products go through kern_pointwise (AVX2 / AVX-512, cin and cexp within
 * TLR_POINTWISE_K_MAX, more than 4 pixels per band): the same per-output sums in the same
 * order.  Otherwise the block runs as the separate ops.
 *
 * The executor calls it for every such block whose values in between nobody else reads
 * (fusion.c finds them, exec_block.c maps them onto the parameters): each conv's folded
 * post-op (tlr_conv_post with the bias folded into the shift), a ZeroPadding2D as the
 * depthwise pad_top / pad_left, the Add's other input as project.residual. */
#ifndef TLR_KERN_MBCONV_H
#define TLR_KERN_MBCONV_H

#include <stdint.h>

#include "engine/ops.h"

typedef struct {
    int64_t n, h, w, cin;    /* input x (N, H, W, cin) */
    int64_t cexp;            /* expanded channels (== cin without an expand) */
    int64_t oh, ow, cout;    /* output y (N, OH, OW, cout) */
    int stride;              /* of the depthwise 3x3: 1 or 2 */
    int pad_top, pad_left;   /* zero padding before the depthwise input (after is implied) */
    const float *expand;     /* (cin, cexp), or NULL: no expand (cexp == cin) */
    tlr_conv_post expand_post;  /* its residual must be NULL */
    const float *depthwise;  /* (3, 3, cexp) */
    tlr_conv_post depthwise_post; /* its residual must be NULL */
    const float *project;    /* (cexp, cout) */
    tlr_conv_post project_post; /* residual (N, OH, OW, cout) like y, or NULL */
} tlr_mbconv_params;

/* Whether tlr_kern_mbconv runs 'm' band by band (else it runs the three separate ops, the
 * expanded tensors made whole). */
int tlr_kern_mbconv_banded(const tlr_mbconv_params *m);

/* y = the block on x.  x and y must not overlap; nor may the residual and y. */
void tlr_kern_mbconv(const tlr_mbconv_params *m, const float *x, float *y);

#endif
