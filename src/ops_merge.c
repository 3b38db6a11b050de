/* ops_merge.c - elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
 * Minimum) and Concatenate. */
#include <math.h>
#include <string.h>

#include "err.h"
#include "ops.h"

/* Folds the inputs left to right per element, in the order Keras does
 * (output = inputs[0]; output = output op inputs[i]), so rounding matches.  Reading every
 * input before writing makes 'out' safe to alias any input. */
#define FOLD(step) \
    do { \
        for (int64_t i = 0; i < n; i++) { \
            float acc = in[0][i]; \
            for (int k = 1; k < n_in; k++) { \
                float v = in[k][i]; \
                acc = (step); \
            } \
            out[i] = acc; \
        } \
    } while (0)

void tlr_op_merge(tlr_merge kind, const float *const *in, int n_in, int64_t n, float *out)
{
    TLR_ASSERT(n_in >= 1);
    switch (kind) {
    case TLR_MERGE_ADD:
        FOLD(acc + v);
        break;
    case TLR_MERGE_SUBTRACT:
        TLR_ASSERT(n_in == 2);
        FOLD(acc - v);
        break;
    case TLR_MERGE_MULTIPLY:
        FOLD(acc * v);
        break;
    case TLR_MERGE_AVERAGE: {
        /* Keras sums, then divides by the count (not a multiply by 1/count). */
        float cnt = (float)n_in;
        FOLD(acc + v);
        for (int64_t i = 0; i < n; i++)
            out[i] /= cnt;
        break;
    }
    case TLR_MERGE_MAXIMUM:
        FOLD(v > acc ? v : acc);
        break;
    case TLR_MERGE_MINIMUM:
        FOLD(v < acc ? v : acc);
        break;
    case TLR_MERGE_COUNT:
    default:
        TLR_ASSERT(!"unknown merge kind");
    }
}

void tlr_op_concat(const float *const *in, const int64_t *len, int n_in, int64_t outer,
                   int64_t inner, float *out)
{
    int64_t total = 0;
    for (int k = 0; k < n_in; k++)
        total += len[k];
    for (int64_t o = 0; o < outer; o++) {
        float *dst = out + o * total * inner; // (total, inner)
        for (int k = 0; k < n_in; k++) {
            size_t cnt = (size_t)(len[k] * inner);
            memcpy(dst, in[k] + o * len[k] * inner, cnt * sizeof *dst);
            dst += cnt;
        }
    }
}
