/* preprocess.h - turn a decoded image into a model input, as Keras users do in Python:
 *   img = keras.utils.load_img(path, color_mode, target_size, interpolation,
 *                              keep_aspect_ratio)          # Pillow convert + resize
 *   x = preprocess_input(np.array(img)[None])              # or rescale=1./255
 * Every function is pure (no I/O) and reproduces Pillow 9.x byte for byte: RGB and "L"
 * conversion (Convert.c), NEAREST resize (Geometry.c ImagingScaleAffine) and BILINEAR
 * resize (Resample.c: separable, support widened when shrinking, 22-bit fixed-point
 * coefficients, horizontal pass first, 8-bit rounding between the passes).
 * Functions returning tlr_image give a new image; free it with tlr_image_free(). */
#ifndef TLR_PREPROCESS_H
#define TLR_PREPROCESS_H

#include "base/err.h"
#include "base/image.h"

typedef enum {
    TLR_PIL_NEAREST = 0, /* keras load_img's default interpolation */
    TLR_PIL_BILINEAR,
    TLR_PIL_RESIZE_COUNT
} tlr_resize_method;

/* What preprocess_input / ImageDataGenerator applies to the 0..255 pixels. */
typedef enum {
    TLR_PREP_RESCALE = 0, /* x * float32(1/255), ImageDataGenerator(rescale=1./255) */
    TLR_PREP_CAFFE,       /* RGB -> BGR, minus [103.939, 116.779, 123.68] (BGR order) */
    TLR_PREP_TF,          /* x / 127.5 - 1 */
    TLR_PREP_TORCH,       /* (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] */
    TLR_PREP_NONE,        /* raw 0..255 */
    TLR_PREP_COUNT
} tlr_prep_mode;

/* Pillow img.convert("RGB"): gray replicated, alpha dropped (not composited). */
tlr_image *tlr_preprocess_to_rgb(const tlr_image *img);

/* Pillow img.convert("L"): (R*19595 + G*38470 + B*7471 + 32768) >> 16, alpha dropped. */
tlr_image *tlr_preprocess_to_gray(const tlr_image *img);

/* Pillow img.resize((w, h), method). A 4-channel image is resized channel by channel
 * (Pillow would premultiply alpha for BILINEAR; convert to RGB first, as Keras does). */
tlr_image *tlr_preprocess_resize(const tlr_image *img, int w, int h, tlr_resize_method method);

/* Pillow img.resize((w, h), method, box=box): only the region box = (x0, y0, x1, y1) is
 * scaled to w x h, but the BILINEAR filter still reads pixels just outside the box. The box
 * must lie inside the image and be non-empty. */
tlr_image *tlr_preprocess_resize_box(const tlr_image *img, const float box[4], int w, int h,
                                     tlr_resize_method method);

/* The largest centred box of the target aspect ratio out_w:out_h, as keras load_img with
 * keep_aspect_ratio=True computes it (integer arithmetic): box = (x0, y0, x1, y1). */
void tlr_preprocess_center_box(int in_w, int in_h, int out_w, int out_h, int box[4]);

/* Centre crop then resize, Teachable Machine / keras keep_aspect_ratio style: resize_box
 * with tlr_preprocess_center_box. */
tlr_image *tlr_preprocess_resize_center(const tlr_image *img, int w, int h,
                                        tlr_resize_method method);

/* Plain crop of the w x h region at (x, y), which must lie inside the image. */
tlr_image *tlr_preprocess_crop(const tlr_image *img, int x, int y, int w, int h);

/* Writes the float input for one image into 'out' (img->h * img->w * img->channels floats,
 * layout (H, W, C)); the caller adds the batch dimension. CAFFE and TORCH need 3 channels
 * (TLR_E_SHAPE otherwise). Arithmetic is float32 in Keras's order of operations. */
tlr_status tlr_preprocess_to_input(const tlr_image *img, tlr_prep_mode mode,
                                   float *out, // (H, W, C)
                                   tlr_err *err);

/* "rescale", "caffe", "tf", "torch", "none". */
const char *tlr_prep_mode_name(tlr_prep_mode mode);
tlr_status tlr_prep_mode_parse(const char *name, tlr_prep_mode *mode, tlr_err *err);

/* "nearest", "bilinear". */
const char *tlr_resize_method_name(tlr_resize_method method);
tlr_status tlr_resize_method_parse(const char *name, tlr_resize_method *method, tlr_err *err);

#endif
