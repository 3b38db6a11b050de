/* image.h - 8-bit images in memory: decoded inputs and rendered grids.
 * Pixels are row-major, interleaved: data[(y * w + x) * channels + k]. */
#ifndef TLR_IMAGE_H
#define TLR_IMAGE_H

#include <stdint.h>

typedef struct {
    int w, h;
    int channels;  /* 1 gray, 3 RGB, 4 RGBA */
    uint8_t *data; /* owned, w*h*channels bytes */
} tlr_image;

/* New zero-filled image; free with tlr_image_free(). The caller bounds w*h first. */
tlr_image *tlr_image_new(int w, int h, int channels);
void tlr_image_free(tlr_image *img);

#endif
