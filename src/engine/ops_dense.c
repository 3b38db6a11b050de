/* ops_dense.c - Dense: a matrix product of the (rows, n_in) input with the Keras kernel
 * (n_in, n_out) as stored, plus the bias. */
#include <string.h>

#include "base/err.h"
#include "engine/gemm.h"
#include "engine/ops.h"

void tlr_op_dense(int64_t rows, int64_t n_in, int64_t n_out, const float *in,
                  const float *kernel, const float *bias, float *out)
{
    TLR_ASSERT(rows >= 0 && n_in >= 0 && n_out >= 0);
    /* The bias goes in first and the product accumulates onto it. */
    if (bias)
        for (int64_t r = 0; r < rows; r++)
            memcpy(out + r * n_out, bias, (size_t)n_out * sizeof *out);
    tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, rows, n_out, n_in, in, n_in, kernel, n_out,
             bias ? 1.0f : 0.0f, out, n_out);
}

void tlr_op_dense_ref(int64_t rows, int64_t n_in, int64_t n_out, const float *in,
                      const float *kernel, const float *bias, float *out)
{
    TLR_ASSERT(rows >= 0 && n_in >= 0 && n_out >= 0);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n_out; j++) {
            double acc = bias ? (double)bias[j] : 0.0;
            for (int64_t i = 0; i < n_in; i++)
                acc += (double)in[r * n_in + i] * (double)kernel[i * n_out + j];
            out[r * n_out + j] = (float)acc;
        }
}
