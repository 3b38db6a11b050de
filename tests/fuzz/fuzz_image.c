/* fuzz_image.c - libFuzzer target: PNG/JPEG bytes -> tlr_image_decode -> conversions and
 * resizes to a few sizes (both filters, centre crop) -> float input. */
#include <stdint.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "input/preprocess.h"
#include "io/image_io.h"

/* Small bounds keep iterations fast; the real limits are exercised by tests/cli/hostile.sh. */
static const tlr_image_limits fuzz_image_limits = { 1 << 22, 4096 };

static void fuzz_image_sizes(const tlr_image *rgb)
{
    static const int sizes[][2] = { { 1, 1 }, { 7, 5 }, { 32, 32 }, { 3, 40 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tlr_resize_method m = i % 2 ? TLR_PIL_BILINEAR : TLR_PIL_NEAREST;
        tlr_image_free(tlr_preprocess_resize(rgb, sizes[i][0], sizes[i][1], m));
        tlr_image_free(tlr_preprocess_resize_center(rgb, sizes[i][1], sizes[i][0], m));
    }
}

static tlr_status fuzz_image_run(const uint8_t *data, size_t size, tlr_err *err)
{
    tlr_image *img = tlr_image_decode(data, size, "fuzz.img", &fuzz_image_limits, err);
    if (!img)
        return err->code;
    tlr_image *rgb = tlr_preprocess_to_rgb(img);
    tlr_image *gray = tlr_preprocess_to_gray(img);
    fuzz_image_sizes(rgb);
    tlr_image *small = tlr_preprocess_resize(rgb, 4, 3, TLR_PIL_BILINEAR);
    float *x = tlr_xmalloc((size_t)small->w * (size_t)small->h * 3 * sizeof *x);
    tlr_status st = tlr_preprocess_to_input(small, TLR_PREP_CAFFE, x, err);
    free(x);
    tlr_image_free(small);
    tlr_image_free(gray);
    tlr_image_free(rgb);
    tlr_image_free(img);
    return st;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_image_run(data, size, &err);
    return 0;
}
#endif
