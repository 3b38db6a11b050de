/* pool_fast.h - the fast MaxPooling2D: vectors along the channel axis, output rows split
 * between threads.  Same contract and results as tlr_op_maxpool2d (ops_pool.c), which stays
 * the plain reference the tests compare against: windows clipped to the image ('same'
 * padding never takes part), each output the first cell of its window raised by every
 * later cell that compares greater (so NaN handling is the same, lane by lane). */
#ifndef TLR_POOL_FAST_H
#define TLR_POOL_FAST_H

#include "ops.h"

void tlr_maxpool2d_fast(const tlr_pool2d_params *p, const float *in, float *out);

#endif
