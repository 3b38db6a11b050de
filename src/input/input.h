/* input.h - sample inputs into model input tensors: images decoded, converted, resized and
 * preprocessed as a Keras user does in Python, or .npy arrays taken as they are. */
#ifndef TLR_INPUT_H
#define TLR_INPUT_H

#include "base/err.h"
#include "base/image.h"
#include "base/tensor.h"
#include "input/preprocess.h"
#include "keras/model.h"

typedef struct {
    tlr_prep_mode mode;
    tlr_resize_method resize;
    int crop_center;
    int max_side;            /* cap for models with None spatial input (default 1024) */
} tlr_input_opts;

typedef struct {
    char *source;            /* the file ("a=x.npy b=y.npy" for named arrays) */
    tlr_tensor *tensor;      /* (1, H, W, C) float32 in the model's layout; the first input's
                                array of a model with several */
    tlr_image *seen;         /* the image as the model saw it (after resize), NULL for .npy */
    tlr_tensor **more;       /* the arrays of inputs 2..n of a model with several, or NULL */
    int n_more;
    int flattened;           /* an image fed to a flat input (None, N) as x.reshape(1, -1) */
    int flat_channels;       /* with 'flattened': 1 grayscale, 3 RGB */
} tlr_input;

/* The default preprocessing for a model: none when it scales its input itself first
 * (Rescaling, Normalization or a Lambda formula, possibly after augmentation layers or inside
 * a first nested model), else rescale (x/255). */
tlr_prep_mode tlr_input_default_mode(const tlr_model *m);

/* A short description of the recipe: "keras.utils.load_img(target_size=(150, 150),
 * interpolation='nearest'), x / 255". Caller frees. */
char *tlr_input_describe(const tlr_input_opts *o, const tlr_shape *in);

/* How a rank-4 input (batch first) lays out an image: returns 1 for channels first, taken
 * when dim 1 is 1 or 3 and the last dim is neither ((None, 3, 150, 150) from Theano-era
 * Keras), else 0.  'h', 'w' and 'c' (each may be NULL) receive the image height, width and
 * channels (-1 = None).  Any other rank returns 0 and sets nothing. */
int tlr_input_channels_first(const tlr_shape *in, int64_t *h, int64_t *w, int64_t *c);

/* 1 when the file starts with the .npy magic. */
int tlr_input_is_npy(const char *path);

/* The images that fit a flat input of n values: '*side_gray' x '*side_gray' grayscale and
 * '*side_rgb' x '*side_rgb' RGB (0 when n is no such square). */
void tlr_input_flat_sides(int64_t n, int *side_gray, int *side_rgb);

/* Loads one input for a model whose (first) input shape is 'in' (batch first, -1 = None).
 * Images need a rank-4 input with 1 or 3 channels (channels first or last), or a flat input
 * (None, N) whose N is the image's pixel count (grayscale) or three times it (RGB): then the
 * image, preprocessed as usual, is fed as x.reshape(1, -1).  An image that fits neither is
 * TLR_E_SHAPE.  Free with tlr_input_free(). */
tlr_status tlr_input_load(const char *path, const tlr_shape *in, const tlr_input_opts *o,
                          tlr_input *out, tlr_err *err);
void tlr_input_free(tlr_input *in);

/* tlr_input_load for paths[0 .. n) on the threads (decoding is most of it): out[i], or
 * errs[i] with a code when that one fails (errs[i].code 0 when it loaded). */
void tlr_input_load_each(const char *const *paths, int n, const tlr_shape *in,
                         const tlr_input_opts *o, tlr_input *out, tlr_err *errs);

/* Inputs a sample feeds at most (--input NAME=FILE.npy is repeatable up to this). */
#define TLR_MAX_INPUTS 64

/* The sample's arrays in the model's input order into 'out' (up to 'cap'); returns how many. */
int tlr_input_tensors(const tlr_input *in, const tlr_tensor **out, int cap);

/* One sample of a model with named inputs from "NAME=FILE.npy" specs, one per model input
 * (input layer names), each checked against its input's shape.  Free with tlr_input_free(). */
tlr_status tlr_input_load_named(const tlr_model *m, const char *const *specs, int n_specs,
                                tlr_input *out, tlr_err *err);

#endif
