/* input.c - building model inputs from image files and .npy arrays. */
#include "input/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "engine/ops.h"
#include "io/image_io.h"
#include "io/npy.h"
#include "keras/shape.h"

/* What the model does first to its input: 1 when it scales it itself (Rescaling,
 * Normalization, or a Lambda with a known formula, as behavioural-cloning models do), 0 when
 * it computes with it directly, -1 when only pass-through layers were seen (inputs, Dropout,
 * augmentation, Resizing, Cropping, padding, reshapes), so the scan goes on after a nested
 * model made only of those. */
static int scales_input_first(const tlr_model *m, int depth)
{
    if (depth > 8)
        return 0;
    for (int k = 0; k < m->n_order; k++) {
        const tlr_layer *l = &m->layers[m->order[k]];
        switch (l->op) {
        case TLR_OP_INPUT: case TLR_OP_IDENTITY: case TLR_OP_RESIZING: case TLR_OP_CROPPING:
        case TLR_OP_ZEROPAD: case TLR_OP_RESHAPE: case TLR_OP_PERMUTE:
            continue; /* these move values around without scaling them */
        case TLR_OP_RESCALING: case TLR_OP_NORMALIZATION:
            return 1;
        case TLR_OP_LAMBDA:
            return l->lambda ? 1 : 0;
        case TLR_OP_MODEL: {
            int r = scales_input_first(l->inner, depth + 1);
            if (r >= 0)
                return r;
            continue;
        }
        default:
            return 0;
        }
    }
    return -1;
}

tlr_prep_mode tlr_input_default_mode(const tlr_model *m)
{
    return scales_input_first(m, 0) == 1 ? TLR_PREP_NONE : TLR_PREP_RESCALE;
}

int tlr_input_channels_first(const tlr_shape *in, int64_t *h, int64_t *w, int64_t *c)
{
    if (in->ndim != 4)
        return 0;
    int cf = (in->d[1] == 1 || in->d[1] == 3) && in->d[3] != 1 && in->d[3] != 3;
    if (h)
        *h = cf ? in->d[2] : in->d[1];
    if (w)
        *w = cf ? in->d[3] : in->d[2];
    if (c)
        *c = cf ? in->d[1] : in->d[3];
    return cf;
}

char *tlr_input_describe(const tlr_input_opts *o, const tlr_shape *in)
{
    static const char *const what[TLR_PREP_COUNT] = {
        [TLR_PREP_RESCALE] = "x / 255 (ImageDataGenerator(rescale=1./255))",
        [TLR_PREP_CAFFE] = "preprocess_input(mode='caffe'): RGB to BGR, minus [103.939, 116.779, 123.68]",
        [TLR_PREP_TF] = "preprocess_input(mode='tf'): x / 127.5 - 1",
        [TLR_PREP_TORCH] = "preprocess_input(mode='torch'): x / 255, minus ImageNet mean, divided by std",
        [TLR_PREP_NONE] = "no scaling (pixels 0..255; the model rescales them itself)",
    };
    char size[64] = "its own size";
    if (in->ndim == 4) {
        int64_t h, w;
        tlr_input_channels_first(in, &h, &w, NULL);
        if (h > 0 && w > 0)
            snprintf(size, sizeof size, "target_size=(%lld, %lld)", (long long)h, (long long)w);
    }
    return tlr_xasprintf("keras.utils.load_img(%s, interpolation='%s'%s), then %s", size,
                         tlr_resize_method_name(o->resize),
                         o->crop_center ? ", keep_aspect_ratio=True" : "",
                         what[o->mode < TLR_PREP_COUNT ? o->mode : 0]);
}

int tlr_input_is_npy(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char head[6];
    size_t n = fread(head, 1, 6, f);
    fclose(f);
    return n == 6 && memcmp(head, "\x93NUMPY", 6) == 0;
}

static tlr_status load_npy(const char *path, const tlr_shape *in, tlr_input *out, tlr_err *err)
{
    int nd;
    int64_t shape[8];
    float *data = tlr_npy_read(path, &nd, shape, err);
    if (!data)
        return err->code;
    /* Accept the shape with or without the batch dimension. */
    int64_t full[8];
    int fn = nd;
    memcpy(full, shape, sizeof full);
    if (nd == in->ndim - 1) {
        full[0] = 1;
        memcpy(full + 1, shape, (size_t)nd * sizeof *shape);
        fn = nd + 1;
    }
    int ok = fn == in->ndim && fn <= 8;
    for (int i = 1; ok && i < fn; i++)
        if (in->d[i] >= 0 && in->d[i] != full[i])
            ok = 0;
    if (!ok || full[0] < 1) {
        free(data);
        char a[128], b[128];
        tlr_shape got = { nd, { 0 } };
        memcpy(got.d, shape, (size_t)nd * sizeof *shape);
        snprintf(a, sizeof a, "rank %d", nd);
        snprintf(b, sizeof b, "rank %d", in->ndim);
        return tlr_err_set(err, TLR_E_SHAPE, "%s: array shape does not match the model input "
                           "(%s, expected %s with matching sizes)", path, a, b);
    }
    tlr_tensor *t = tlr_tensor_new(fn, full);
    memcpy(t->data, data, (size_t)tlr_tensor_numel(t) * sizeof(float));
    free(data);
    out->tensor = t;
    return TLR_OK;
}

/* Channels and spatial size the model wants from an image. */
static tlr_status image_target(const char *path, const tlr_shape *in, int *cf, int64_t *h,
                               int64_t *w, int64_t *c, tlr_err *err)
{
    if (in->ndim != 4)
        return tlr_err_set(err, TLR_E_SHAPE, "%s: the model's input has rank %d, not an image "
                           "(give a .npy array instead)", path, in->ndim);
    *cf = tlr_input_channels_first(in, h, w, c);
    if (*c != 1 && *c != 3)
        return tlr_err_set(err, TLR_E_SHAPE, "%s: the model's input has %lld channels; images give "
                           "1 or 3 (give a .npy array instead)", path, (long long)*c);
    return TLR_OK;
}

/* A None height or width (-1) becomes the image's own, scaled down so that its longer side
 * is at most 'max_side'. */
static void free_size(const tlr_image *img, int max_side, int64_t *h, int64_t *w)
{
    if (*h >= 0 && *w >= 0)
        return;
    double scale = 1.0;
    int side = img->w > img->h ? img->w : img->h;
    if (side > max_side)
        scale = (double)max_side / side;
    *h = *h < 0 ? (int64_t)(img->h * scale + 0.5) : *h;
    *w = *w < 0 ? (int64_t)(img->w * scale + 0.5) : *w;
    if (*h < 1)
        *h = 1;
    if (*w < 1)
        *w = 1;
}

void tlr_input_flat_sides(int64_t n, int *side_gray, int *side_rgb)
{
    *side_gray = *side_rgb = 0;
    for (int64_t s = 1; s * s <= n && s < 65536; s++) {
        if (s * s == n)
            *side_gray = (int)s;
        if (3 * s * s == n)
            *side_rgb = (int)s;
    }
}

/* What fits a flat input of n values, for messages: "; a 28x28 grayscale image fits, as does
 * a .npy array of shape (1, 784)". */
static void flat_fit_words(int64_t n, char *out, size_t cap)
{
    int g, c;
    tlr_input_flat_sides(n, &g, &c);
    if (g && c)
        snprintf(out, cap, "; a %dx%d grayscale or %dx%d RGB image fits, as does a .npy array of "
                 "shape (1, %lld)", g, g, c, c, (long long)n);
    else if (g || c)
        snprintf(out, cap, "; a %dx%d %s image fits, as does a .npy array of shape (1, %lld)",
                 g ? g : c, g ? g : c, g ? "grayscale" : "RGB", (long long)n);
    else
        snprintf(out, cap, "; no image has that many pixels: give a .npy array of shape (1, %lld)",
                 (long long)n);
}

/* An image for a flat input (None, N), when its pixels (grayscale) or pixels x 3 (RGB) make
 * N: converted, preprocessed as any image, then fed whole as x.reshape(1, -1). */
static tlr_status load_flat(const char *path, const tlr_shape *in, const tlr_input_opts *o,
                            tlr_input *out, tlr_err *err)
{
    tlr_image *img = tlr_image_load(path, NULL, err);
    if (!img)
        return err->code;
    int64_t px = (int64_t)img->w * img->h, n = in->d[1];
    int c = px == n ? 1 : 3 * px == n ? 3 : 0;
    if (!c) {
        char fits[192];
        flat_fit_words(n, fits, sizeof fits);
        tlr_err_set(err, TLR_E_SHAPE, "%s: the model's input is a flat vector of %lld values and "
                    "this %dx%d image has %lld pixels%s", path, (long long)n, img->w, img->h,
                    (long long)px, fits);
        tlr_image_free(img);
        return TLR_E_SHAPE;
    }
    tlr_image *conv = c == 1 ? tlr_preprocess_to_gray(img) : tlr_preprocess_to_rgb(img);
    tlr_image_free(img);
    int64_t shape[4] = { 1, conv->h, conv->w, c };
    tlr_tensor *t = tlr_tensor_new(4, shape);
    tlr_status st = tlr_preprocess_to_input(conv, o->mode, t->data, err);
    if (st) {
        tlr_tensor_free(t);
        tlr_image_free(conv);
        return tlr_err_prefix(err, "%s", path);
    }
    t->ndim = 2; /* x.reshape(1, -1): the same values, one row */
    t->shape[1] = n;
    out->tensor = t;
    out->seen = conv;
    out->flattened = 1;
    out->flat_channels = c;
    return TLR_OK;
}

tlr_status tlr_input_load(const char *path, const tlr_shape *in, const tlr_input_opts *o,
                          tlr_input *out, tlr_err *err)
{
    memset(out, 0, sizeof *out);
    out->source = tlr_xstrdup(path);
    if (tlr_input_is_npy(path)) {
        tlr_status st = load_npy(path, in, out, err);
        if (st)
            tlr_input_free(out);
        return st;
    }
    if (in->ndim == 2 && in->d[1] > 0) {
        tlr_status st = load_flat(path, in, o, out, err);
        if (st)
            tlr_input_free(out);
        return st;
    }
    int cf = 0;
    int64_t h = 0, w = 0, c = 0;
    tlr_status st = image_target(path, in, &cf, &h, &w, &c, err);
    if (st) {
        tlr_input_free(out);
        return st;
    }
    tlr_image *img = tlr_image_load(path, NULL, err);
    if (!img) {
        tlr_input_free(out);
        return err->code;
    }
    /* Keras load_img: convert to RGB (or L) first, then resize. */
    tlr_image *conv = c == 1 ? tlr_preprocess_to_gray(img) : tlr_preprocess_to_rgb(img);
    tlr_image_free(img);
    free_size(conv, o->max_side > 0 ? o->max_side : 1024, &h, &w);
    if (h > 16384 || w > 16384) {
        tlr_image_free(conv);
        tlr_input_free(out);
        return tlr_err_set(err, TLR_E_LIMIT, "%s: model input %lldx%lld is too large", path,
                           (long long)h, (long long)w);
    }
    tlr_image *sized;
    if (conv->w == w && conv->h == h)
        sized = conv, conv = NULL;
    else if (o->crop_center)
        sized = tlr_preprocess_resize_center(conv, (int)w, (int)h, o->resize);
    else
        sized = tlr_preprocess_resize(conv, (int)w, (int)h, o->resize);
    tlr_image_free(conv);
    int64_t shape[4] = { 1, h, w, c };
    tlr_tensor *t = tlr_tensor_new(4, shape);
    st = tlr_preprocess_to_input(sized, o->mode, t->data, err);
    if (st) {
        tlr_tensor_free(t);
        tlr_image_free(sized);
        tlr_input_free(out);
        return tlr_err_prefix(err, "%s", path);
    }
    if (cf) {
        int64_t cshape[4] = { 1, c, h, w };
        tlr_tensor *tc = tlr_tensor_new(4, cshape);
        int perm[4] = { 0, 3, 1, 2 };
        tlr_tensor_transpose(4, t->shape, perm, t->data, tc->data);
        tlr_tensor_free(t);
        t = tc;
    }
    out->tensor = t;
    out->seen = sized;
    return TLR_OK;
}

/* The spec of input 'name' among "NAME=FILE" specs, or NULL. */
static const char *spec_for(const char *const *specs, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (strncmp(specs[i], name, len) == 0 && specs[i][len] == '=')
            return specs[i] + len + 1;
    return NULL;
}

static const char *input_name(const tlr_model *m, int i)
{
    return m->layers[m->inputs[i].layer].name;
}

/* Every spec names an input of the model. */
static tlr_status check_spec_names(const tlr_model *m, const char *const *specs, int n,
                                   tlr_err *err)
{
    for (int k = 0; k < n; k++) {
        size_t len = (size_t)(strchr(specs[k], '=') - specs[k]);
        int found = 0;
        for (int i = 0; i < m->n_inputs && !found; i++)
            found = strlen(input_name(m, i)) == len && strncmp(specs[k], input_name(m, i), len) == 0;
        if (!found)
            return tlr_err_set(err, TLR_E_USAGE, "--input %.*s: the model has no input of that "
                               "name (its inputs: %s%s)", (int)len, specs[k], input_name(m, 0),
                               m->n_inputs > 1 ? ", ..." : "");
    }
    return TLR_OK;
}

typedef struct {
    const char *const *paths;
    const tlr_shape *in;
    const tlr_input_opts *o;
    tlr_input *out;
    tlr_err *errs;
} load_job;

static void load_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const load_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        memset(&j->errs[i], 0, sizeof j->errs[i]);
        tlr_status st = tlr_input_load(j->paths[i], j->in, j->o, &j->out[i], &j->errs[i]);
        if (st && !j->errs[i].code)
            j->errs[i].code = st;
    }
}

void tlr_input_load_each(const char *const *paths, int n, const tlr_shape *in,
                         const tlr_input_opts *o, tlr_input *out, tlr_err *errs)
{
    load_job j = { paths, in, o, out, errs };
    tlr_parallel_for_n(n, n, load_task, &j);
}

tlr_status tlr_input_load_named(const tlr_model *m, const char *const *specs, int n_specs,
                                tlr_input *out, tlr_err *err)
{
    memset(out, 0, sizeof *out);
    tlr_status st = check_spec_names(m, specs, n_specs, err);
    tlr_buf src = TLR_BUF_INIT;
    out->more = tlr_xcalloc((size_t)m->n_inputs + 1, sizeof *out->more);
    for (int i = 0; i < m->n_inputs && !st; i++) {
        const char *file = spec_for(specs, n_specs, input_name(m, i));
        if (!file) {
            char sh[160];
            tlr_shape in = tlr_forward_input_shape(m, i);
            tlr_shape_str(&in, sh, sizeof sh);
            st = tlr_err_set(err, TLR_E_USAGE, "the model's input '%s' %s has no array: add "
                             "--input %s=FILE.npy", input_name(m, i), sh, input_name(m, i));
            break;
        }
        tlr_shape in = tlr_forward_input_shape(m, i);
        tlr_input one = { 0 };
        st = load_npy(file, &in, &one, err);
        if (st)
            break;
        if (i == 0)
            out->tensor = one.tensor;
        else
            out->more[out->n_more++] = one.tensor;
        const char *base = strrchr(file, '/'); /* the report shows the source's last part */
        tlr_buf_printf(&src, "%s%s=%s", i ? " " : "", input_name(m, i), base ? base + 1 : file);
    }
    out->source = tlr_buf_detach(&src);
    if (st)
        tlr_input_free(out);
    return st;
}

int tlr_input_tensors(const tlr_input *in, const tlr_tensor **out, int cap)
{
    int n = 0;
    if (cap > 0)
        out[n++] = in->tensor;
    for (int i = 0; i < in->n_more && n < cap; i++)
        out[n++] = in->more[i];
    return n;
}

void tlr_input_free(tlr_input *in)
{
    for (int i = 0; i < in->n_more; i++)
        tlr_tensor_free(in->more[i]);
    free(in->more);
    free(in->source);
    tlr_tensor_free(in->tensor);
    tlr_image_free(in->seen);
    memset(in, 0, sizeof *in);
}
