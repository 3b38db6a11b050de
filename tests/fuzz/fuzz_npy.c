/* fuzz_npy.c - libFuzzer target: .npy bytes -> tlr_npy_read_mem.
 * Every value is read back so ASan sees a buffer shorter than the shape claims. */
#include <stdint.h>
#include <stdlib.h>

#include "base/tensor.h"
#include "io/npy.h"

static tlr_status fuzz_npy_run(const uint8_t *data, size_t size, tlr_err *err)
{
    int nd = 0;
    int64_t shape[TLR_NPY_MAX_DIMS];
    float *x = tlr_npy_read_mem(data, size, "fuzz.npy", &nd, shape, err);
    if (!x)
        return err->code;
    int64_t n = tlr_shape_numel(nd, shape);
    volatile float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    (void)sum;
    free(x);
    return TLR_OK;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_npy_run(data, size, &err);
    return 0;
}
#endif
