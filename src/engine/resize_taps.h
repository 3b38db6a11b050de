/* resize_taps.h - where each output pixel of tf.image.resize (half-pixel centres, no
 * antialias) reads along one axis; shared by the forward resize (ops_layout.c) and its
 * gradient (grad_layout.c), so the two can never disagree. */
#ifndef TLR_RESIZE_TAPS_H
#define TLR_RESIZE_TAPS_H

#include <stdint.h>

/* One output coordinate's bilinear source taps, as TF's ResizeBilinear caches them. */
typedef struct {
    int64_t lo, hi;
    float lerp;
} tlr_resize_tap;

/* TF half-pixel mapping in float: src = (i + 0.5) * (in / out) - 0.5, taps floor(src) and
 * ceil(src) clamped to the image, weight src - floor(src) (before clamping).  free() it. */
tlr_resize_tap *tlr_resize_taps_bilinear(int64_t out_size, int64_t in_size);

/* TF ResizeNearestNeighbor with half_pixel_centers: src = min(floor((i + 0.5) * in / out),
 * in - 1), never below 0.  free() it. */
int64_t *tlr_resize_taps_nearest(int64_t out_size, int64_t in_size);

#endif
