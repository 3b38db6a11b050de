/* image_io.h - decode PNG/JPEG into tlr_image and encode tlr_image as PNG.
 * The only module that includes libpng and libjpeg-turbo.
 *
 * Decoding follows what Pillow gives for img.convert("RGB") (keras.utils.load_img):
 *   gray (1/2/4/8-bit)          -> 1 channel, levels scaled to 0..255
 *   gray 16-bit                 -> 1 channel, values above 255 clipped to 255 (Pillow's mode I)
 *   gray+alpha                  -> 4 channels, gray replicated, alpha kept
 *   RGB                         -> 3 channels
 *   RGBA                        -> 4 channels
 *   palette                     -> 3 channels, or 4 when a tRNS chunk gives alpha
 *   other 16-bit                -> high byte of each sample (Pillow's ";16B" raw modes)
 *   tRNS on gray or RGB images  -> ignored (Pillow's convert("RGB") drops it too)
 *   JPEG gray / YCbCr / CMYK    -> 1 / 3 / 3 channels (CMYK as Pillow converts it)
 * Callers convert with preprocess.h (tlr_preprocess_to_rgb / _to_gray). */
#ifndef TLR_IMAGE_IO_H
#define TLR_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/image.h"

#define TLR_IMAGE_MAX_PIXELS 100000000LL /* 100 megapixels */
#define TLR_IMAGE_MAX_SIDE 65535
#define TLR_IMAGE_MAX_FILE_BYTES (1LL << 30) /* files read by tlr_image_load */

/* Safety bounds checked from the header, before any pixel buffer is allocated.
 * A zero field means the default above; a NULL limits pointer means all defaults. */
typedef struct {
    int64_t max_pixels; /* width * height */
    int max_side;       /* width and height each */
} tlr_image_limits;

typedef enum { TLR_IMAGE_UNKNOWN = 0, TLR_IMAGE_PNG, TLR_IMAGE_JPEG } tlr_image_format;

/* Format from the first bytes (never from a file name). */
tlr_image_format tlr_image_sniff(const void *buf, size_t len);

/* Decodes a PNG or JPEG held in memory. 'what' names the source in messages (a path).
 * Returns a new image (free with tlr_image_free) or NULL with 'err' set. */
tlr_image *tlr_image_decode(const void *buf, size_t len, const char *what,
                            const tlr_image_limits *lim, tlr_err *err);

/* Reads the file at 'path' and decodes it. */
tlr_image *tlr_image_load(const char *path, const tlr_image_limits *lim, tlr_err *err);

/* PNG of an image with 1, 3 or 4 channels. The bytes depend only on the pixels (fixed
 * zlib level and filter, no time or text chunks). On success '*out' is a new buffer the
 * caller frees with free(), '*len' its size. */
tlr_status tlr_image_encode_png(const tlr_image *img, unsigned char **out, size_t *len,
                                tlr_err *err);

/* Encodes as above and writes the file at 'path'. */
tlr_status tlr_image_write_png(const tlr_image *img, const char *path, tlr_err *err);

#endif
