/* pool_fast.h - the fast MaxPooling2D and GlobalAveragePooling2D: vectors along the channel
 * axis, MaxPooling2D's output rows split between threads.  Same contracts and results as
 * tlr_op_maxpool2d and tlr_op_global_avgpool (ops_pool.c), which stay the plain references
 * the tests compare against.  MaxPooling2D: windows clipped to the image ('same' padding
 * never takes part), each output the first cell of its window raised by every later cell
 * that compares greater (so NaN handling is the same, lane by lane). */
#ifndef TLR_POOL_FAST_H
#define TLR_POOL_FAST_H

#include "engine/ops.h"

void tlr_maxpool2d_fast(const tlr_pool2d_params *p, const float *in, float *out);

/* The fast GlobalAveragePooling2D, (N, HW, C) -> (N, C): bit for bit tlr_op_global_avgpool
 * (sums in double, pixel order), vectors across channels. */
void tlr_global_avgpool_fast(int64_t n, int64_t hw, int64_t c, const float *in, float *out);

#endif
