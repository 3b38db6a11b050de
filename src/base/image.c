/* image.c - 8-bit image buffers. */
#include "base/image.h"

#include <stdlib.h>

#include "base/err.h"
#include "base/xalloc.h"

tlr_image *tlr_image_new(int w, int h, int channels)
{
    TLR_ASSERT(w >= 0 && h >= 0 && channels >= 1 && channels <= 4);
    tlr_image *img = tlr_xcalloc(1, sizeof *img);
    img->w = w;
    img->h = h;
    img->channels = channels;
    img->data = tlr_xcalloc((size_t)w * (size_t)h * (size_t)channels, 1);
    return img;
}

void tlr_image_free(tlr_image *img)
{
    if (!img)
        return;
    free(img->data);
    free(img);
}
