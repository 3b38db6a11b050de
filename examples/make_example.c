/* make_example.c - writes the inputs of `make demo`: the course's transfer-learning model as
 * tf.keras 2.9 model.save('x.h5') lays it out, and a few sample images drawn here.  Every
 * weight and pixel comes from fixed formulas and a fixed-seed generator, so the repository
 * holds no third-party files and two runs give byte-identical outputs.
 *
 *   make_example [OUTDIR]           OUTDIR/course_model.h5 (61 MB) and OUTDIR/images/NAME.png
 *                                   (default OUTDIR: examples/out)
 *   make_example --fill FILE [V]    the same layout with no weight written: every weight
 *                                   dataset reads as the HDF5 fill value V (default 0) and
 *                                   takes no space, so FILE is about 100 KB (for tests)
 *
 * The model (a Spanish course's cats-vs-dogs lesson, after DLwP 5.3):
 *   conv_base = VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
 *   model = Sequential([conv_base, Conv2D(128, 3, activation='relu'), MaxPooling2D(),
 *                       Flatten(), Dense(128, activation='relu'),
 *                       Dense(1, activation='sigmoid')])
 *   conv_base.trainable = False
 *   model.compile(RMSprop(learning_rate=2e-5), 'binary_crossentropy', metrics=['acc'])
 *   15,321,281 parameters, 606,593 trainable.
 *
 * Weights are not trained; they are built to make a readable report: block1_conv1 is a
 * bank of oriented edge, line, centre-surround and colour-opponent filters; block1_conv2 and
 * block2 mix smooth and edge 3x3 shapes with noise (so the default kernel grid,
 * vgg16/block2_conv2, shows structure); blocks 3-5 and the head are He-scaled uniform noise,
 * which keeps ReLU activations in range through all 13 convolutions. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/image.h"
#include "base/xalloc.h"
#include "h5write.h"
#include "io/image_io.h"

#define PI 3.14159265358979323846

/* ---- deterministic random numbers (splitmix64) ------------------------------------------- */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), exact multiples of 2^-23 (no libm involved). */
static double rng_sym(rng *r)
{
    return (double)((int64_t)(rng_next(r) >> 40) - (1 << 23)) / (double)(1 << 23);
}

static int rng_int(rng *r, int n)
{
    return (int)((rng_next(r) >> 33) % (uint64_t)n);
}

/* ---- the model ---------------------------------------------------------------------------- */

#define IMG_SIDE 150

typedef struct {
    const char *name;
    int cin, cout;
} conv_spec;

/* VGG16 without its top: 13 'same' 3x3 ReLU convolutions, a 2x2 max pool after each block. */
static const conv_spec vgg_convs[13] = {
    { "block1_conv1", 3, 64 },    { "block1_conv2", 64, 64 },
    { "block2_conv1", 64, 128 },  { "block2_conv2", 128, 128 },
    { "block3_conv1", 128, 256 }, { "block3_conv2", 256, 256 }, { "block3_conv3", 256, 256 },
    { "block4_conv1", 256, 512 }, { "block4_conv2", 512, 512 }, { "block4_conv3", 512, 512 },
    { "block5_conv1", 512, 512 }, { "block5_conv2", 512, 512 }, { "block5_conv3", 512, 512 },
};
static const int block_convs[5] = { 2, 2, 3, 3, 3 };

/* The trainable head after vgg16 (spatial 4x4x512 -> conv 2x2x128 -> pool 1x1x128). */
#define HEAD_CONV_IN 512
#define HEAD_CONV_OUT 128
#define DENSE_UNITS 128

/* ---- model_config and training_config JSON ---------------------------------------------
 * Byte for byte what Python's json.dumps writes for tf.keras 2.9 get_config() (keys in
 * Keras' order, ", " and ": " separators), so the file matches a real save. */

static void js_conv(tlr_buf *b, const char *name, int trainable, int filters,
                    const char *padding)
{
    tlr_buf_printf(b,
                   "{\"name\": \"%s\", \"trainable\": %s, \"dtype\": \"float32\", "
                   "\"filters\": %d, \"kernel_size\": [3, 3], \"strides\": [1, 1], "
                   "\"padding\": \"%s\", \"data_format\": \"channels_last\", "
                   "\"dilation_rate\": [1, 1], \"groups\": 1, \"activation\": \"relu\", "
                   "\"use_bias\": true, \"kernel_initializer\": {\"class_name\": "
                   "\"GlorotUniform\", \"config\": {\"seed\": null}}, \"bias_initializer\": "
                   "{\"class_name\": \"Zeros\", \"config\": {}}, \"kernel_regularizer\": null, "
                   "\"bias_regularizer\": null, \"activity_regularizer\": null, "
                   "\"kernel_constraint\": null, \"bias_constraint\": null}",
                   name, trainable ? "true" : "false", filters, padding);
}

static void js_pool(tlr_buf *b, const char *name, int trainable)
{
    tlr_buf_printf(b,
                   "{\"name\": \"%s\", \"trainable\": %s, \"dtype\": \"float32\", "
                   "\"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": [2, 2], "
                   "\"data_format\": \"channels_last\"}",
                   name, trainable ? "true" : "false");
}

static void js_dense(tlr_buf *b, const char *name, int units, const char *activation)
{
    tlr_buf_printf(b,
                   "{\"name\": \"%s\", \"trainable\": true, \"dtype\": \"float32\", "
                   "\"units\": %d, \"activation\": \"%s\", \"use_bias\": true, "
                   "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": "
                   "{\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", "
                   "\"config\": {}}, \"kernel_regularizer\": null, \"bias_regularizer\": null, "
                   "\"activity_regularizer\": null, \"kernel_constraint\": null, "
                   "\"bias_constraint\": null}",
                   name, units, activation);
}

static void js_input(tlr_buf *b, const char *name)
{
    tlr_buf_printf(b,
                   "{\"batch_input_shape\": [null, %d, %d, 3], \"dtype\": \"float32\", "
                   "\"sparse\": false, \"ragged\": false, \"name\": \"%s\"}",
                   IMG_SIDE, IMG_SIDE, name);
}

/* One layer of a Functional config: class, config, name and its single inbound node. */
static void js_functional_layer(tlr_buf *b, const char *cls, const char *name, const char *from,
                                int conv_filters)
{
    tlr_buf_printf(b, "{\"class_name\": \"%s\", \"config\": ", cls);
    if (strcmp(cls, "Conv2D") == 0)
        js_conv(b, name, 0, conv_filters, "same");
    else
        js_pool(b, name, 0);
    tlr_buf_printf(b, ", \"name\": \"%s\", \"inbound_nodes\": [[[\"%s\", 0, 0, {}]]]}", name,
                   from);
}

/* keras.applications.VGG16(include_top=False, input_shape=(150, 150, 3)), frozen. */
static void js_vgg16(tlr_buf *b)
{
    tlr_buf_puts(b, "{\"name\": \"vgg16\", \"layers\": [{\"class_name\": \"InputLayer\", "
                    "\"config\": ");
    js_input(b, "input_1");
    tlr_buf_puts(b, ", \"name\": \"input_1\", \"inbound_nodes\": []}");
    char prev[32] = "input_1", pool[32];
    int c = 0;
    for (int blk = 0; blk < 5; blk++) {
        for (int i = 0; i < block_convs[blk]; i++, c++) {
            tlr_buf_puts(b, ", ");
            js_functional_layer(b, "Conv2D", vgg_convs[c].name, prev, vgg_convs[c].cout);
            snprintf(prev, sizeof prev, "%s", vgg_convs[c].name);
        }
        snprintf(pool, sizeof pool, "block%d_pool", blk + 1);
        tlr_buf_puts(b, ", ");
        js_functional_layer(b, "MaxPooling2D", pool, prev, 0);
        snprintf(prev, sizeof prev, "%s", pool);
    }
    tlr_buf_printf(b, "], \"input_layers\": [[\"input_1\", 0, 0]], \"output_layers\": "
                      "[[\"%s\", 0, 0]]}", prev);
}

static char *model_config_json(void)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", "
                     "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": ");
    js_input(&b, "vgg16_input");
    tlr_buf_puts(&b, "}, {\"class_name\": \"Functional\", \"config\": ");
    js_vgg16(&b);
    tlr_buf_puts(&b, "}, {\"class_name\": \"Conv2D\", \"config\": ");
    js_conv(&b, "conv2d", 1, HEAD_CONV_OUT, "valid");
    tlr_buf_puts(&b, "}, {\"class_name\": \"MaxPooling2D\", \"config\": ");
    js_pool(&b, "max_pooling2d", 1);
    tlr_buf_puts(&b, "}, {\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", "
                     "\"trainable\": true, \"dtype\": \"float32\", \"data_format\": "
                     "\"channels_last\"}}, {\"class_name\": \"Dense\", \"config\": ");
    js_dense(&b, "dense", DENSE_UNITS, "relu");
    tlr_buf_puts(&b, "}, {\"class_name\": \"Dense\", \"config\": ");
    js_dense(&b, "dense_1", 1, "sigmoid");
    tlr_buf_puts(&b, "}]}}");
    return tlr_buf_detach(&b);
}

/* compile(RMSprop(learning_rate=2e-5), 'binary_crossentropy', metrics=['acc']); the float32
 * hyper-parameters print as Python prints them once widened to double. */
static const char training_config_json[] =
    "{\"loss\": \"binary_crossentropy\", \"metrics\": [[{\"class_name\": "
    "\"MeanMetricWrapper\", \"config\": {\"name\": \"acc\", \"dtype\": \"float32\", "
    "\"fn\": \"binary_accuracy\"}}]], \"weighted_metrics\": null, \"loss_weights\": null, "
    "\"optimizer_config\": {\"class_name\": \"RMSprop\", \"config\": {\"name\": \"RMSprop\", "
    "\"learning_rate\": 1.9999999494757503e-05, \"decay\": 0.0, \"rho\": 0.8999999761581421, "
    "\"momentum\": 0.0, \"epsilon\": 1e-07, \"centered\": false}}}";

/* ---- weights ------------------------------------------------------------------------------
 * Kernels are (kh, kw, cin, cout) as Keras stores them: index ((ky*3 + kx)*cin + ci)*cout + co. */

static size_t kidx(int ky, int kx, int ci, int co, int cin, int cout)
{
    return ((size_t)(ky * 3 + kx) * (size_t)cin + (size_t)ci) * (size_t)cout + (size_t)co;
}

/* Scales filter 'co' of a 3x3 kernel so its squared norm is 'sq' (He: 2, i.e. variance
 * 2/fan_in per weight, keeps the mean square of ReLU activations about constant). */
static void normalise_filter(float *k, int cin, int cout, int co, double sq)
{
    double s = 0;
    for (int p = 0; p < 9; p++)
        for (int ci = 0; ci < cin; ci++) {
            double v = k[kidx(p / 3, p % 3, ci, co, cin, cout)];
            s += v * v;
        }
    double f = s > 0 ? sqrt(sq / s) : 0;
    for (int p = 0; p < 9; p++)
        for (int ci = 0; ci < cin; ci++) {
            float *v = &k[kidx(p / 3, p % 3, ci, co, cin, cout)];
            *v = (float)((double)*v * f);
        }
}

/* 3x3 spatial profiles of the first layer at offsets (x, y) in {-1, 0, 1}. */
typedef enum { SP_ODD, SP_EVEN, SP_DOG, SP_FLAT } spatial_kind;

static double spatial(spatial_kind kind, double theta, int x, int y)
{
    double u = x * cos(theta) + y * sin(theta);
    double g = exp(-(x * x + y * y) / 2.0);
    switch (kind) {
    case SP_ODD:  return sin(2 * PI * u / 4.0) * g;  /* step edge across direction theta */
    case SP_EVEN: return cos(2 * PI * u / 3.0) * g;  /* thin line along theta (mean removed) */
    case SP_DOG:  return (x == 0 && y == 0) ? 1.0 : -0.125; /* centre minus surround */
    case SP_FLAT: return 1.0;
    }
    return 0;
}

/* Writes filter 'co' of block1_conv1 = spatial profile x colour vector, zero-mean in space for
 * all but flat filters, scaled to a unit norm. */
static void set_first(float *k, int co, spatial_kind kind, double theta, const double colour[3],
                      double sign)
{
    double prof[9], mean = 0;
    for (int p = 0; p < 9; p++) {
        prof[p] = spatial(kind, theta, p % 3 - 1, p / 3 - 1);
        mean += prof[p] / 9.0;
    }
    for (int p = 0; p < 9; p++) {
        double v = kind == SP_FLAT || kind == SP_DOG ? prof[p] : prof[p] - mean;
        for (int ci = 0; ci < 3; ci++)
            k[kidx(p / 3, p % 3, ci, co, 3, 64)] = (float)(sign * v * colour[ci]);
    }
    normalise_filter(k, 3, 64, co, 1.0);
}

/* block1_conv1: 64 filters a teacher can name (see the comments). */
static void make_block1_conv1(float *k, float *bias, rng *r)
{
    static const double lum[3] = { 1, 1, 1 }, rg[3] = { 1, -1, 0 }, by[3] = { -0.5, -0.5, 1 };
    static const double hues[6][3] = {
        { 2, -1, -1 }, { 1, 1, -2 }, { -1, 2, -1 }, { -2, 1, 1 }, { -1, -1, 2 }, { 1, -2, 1 },
    }; /* red, yellow, green, cyan, blue, magenta: that colour minus grey */
    static const double chan[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
    int co = 0;
    for (int i = 0; i < 16; i++) /* 0-15: light/dark edges in 16 directions */
        set_first(k, co++, SP_ODD, i * PI / 8, lum, 1);
    for (int i = 0; i < 8; i++) /* 16-23: light lines, then dark lines, in 4 orientations */
        set_first(k, co++, SP_EVEN, (i % 4) * PI / 4, lum, i < 4 ? 1 : -1);
    set_first(k, co++, SP_DOG, 0, lum, 1); /* 24: bright dot */
    set_first(k, co++, SP_DOG, 0, lum, -1); /* 25: dark dot */
    for (int i = 0; i < 6; i++) /* 26-31: areas of one colour */
        set_first(k, co++, SP_FLAT, 0, hues[i], 1);
    for (int i = 0; i < 8; i++) /* 32-39: red/green edges in 8 directions */
        set_first(k, co++, SP_ODD, i * PI / 4, rg, 1);
    for (int i = 0; i < 8; i++) /* 40-47: blue/yellow edges in 8 directions */
        set_first(k, co++, SP_ODD, i * PI / 4, by, 1);
    set_first(k, co++, SP_DOG, 0, rg, 1); /* 48-51: colour-opponent dots */
    set_first(k, co++, SP_DOG, 0, rg, -1);
    set_first(k, co++, SP_DOG, 0, by, 1);
    set_first(k, co++, SP_DOG, 0, by, -1);
    for (int i = 0; i < 12; i++) /* 52-63: edges in one channel (R, G, B) in 4 directions */
        set_first(k, co++, SP_ODD, (i % 4) * PI / 2 + PI / 4 * (i / 4 % 2), chan[i / 4], 1);
    TLR_ASSERT(co == 64);
    for (int i = 0; i < 64; i++)
        bias[i] = (float)(0.01 * rng_sym(r));
}

/* Smooth and edge 3x3 shapes that early layers of trained CNNs resemble. */
static const double basis[10][9] = {
    { 1, 2, 1, 2, 4, 2, 1, 2, 1 },          /* blob */
    { -1, 0, 1, -2, 0, 2, -1, 0, 1 },       /* vertical edge */
    { -1, -2, -1, 0, 0, 0, 1, 2, 1 },       /* horizontal edge */
    { 0, 1, 2, -1, 0, 1, -2, -1, 0 },       /* diagonal edge */
    { 2, 1, 0, 1, 0, -1, 0, -1, -2 },       /* other diagonal */
    { -1, 2, -1, -1, 2, -1, -1, 2, -1 },    /* vertical line */
    { -1, -1, -1, 2, 2, 2, -1, -1, -1 },    /* horizontal line */
    { -1, -1, -1, -1, 8, -1, -1, -1, -1 },  /* centre-surround */
    { 2, -1, -1, -1, 2, -1, -1, -1, 2 },    /* diagonal line */
    { 1, 1, 1, 1, 1, 1, 1, 1, 1 },          /* flat */
};

/* A filter with a theme: most of its 3x3 slices are its basis shape with random sign and
 * size, some another shape, all with a little noise; then He-scaled. */
static void make_structured(float *k, int cin, int cout, rng *r)
{
    for (int co = 0; co < cout; co++) {
        int theme = rng_int(r, 10);
        for (int ci = 0; ci < cin; ci++) {
            int shape = rng_int(r, 4) == 0 ? rng_int(r, 10) : theme;
            double norm = 0;
            for (int p = 0; p < 9; p++)
                norm += basis[shape][p] * basis[shape][p];
            double amp = (0.3 + 0.7 * (rng_sym(r) * 0.5 + 0.5)) / sqrt(norm);
            amp = rng_int(r, 2) ? amp : -amp;
            for (int p = 0; p < 9; p++)
                k[kidx(p / 3, p % 3, ci, co, cin, cout)] =
                    (float)(amp * basis[shape][p] + 0.12 * rng_sym(r));
        }
        normalise_filter(k, cin, cout, co, 2.0);
    }
}

/* Uniform noise with variance gain/fan_in (He uniform for gain 2, LeCun for 1). */
static void make_uniform(float *w, size_t n, int fan_in, double gain, rng *r)
{
    double lim = sqrt(3.0 * gain / fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(lim * rng_sym(r));
}

static void make_bias(float *b, int n, double scale, rng *r)
{
    for (int i = 0; i < n; i++)
        b[i] = (float)(scale * rng_sym(r));
}

/* ---- writing the file ----------------------------------------------------------------- */

typedef struct {
    tlr_h5w *w;
    int fill;         /* leave weights unwritten */
    float fill_value;
    tlr_err *err;
} writer;

static tlr_status put(writer *wr, const char *path, int ndim, const int64_t *dims,
                      const float *data)
{
    if (wr->fill)
        return tlr_h5w_dataset_f32_fill(wr->w, path, ndim, dims, wr->fill_value, wr->err);
    return tlr_h5w_dataset_f32(wr->w, path, ndim, dims, data, wr->err);
}

/* Datasets <group>/<layer>/kernel:0 and bias:0; with 'names', also the group's weight_names
 * [layer/kernel:0, layer/bias:0] (a top-level layer; vgg16 lists all 26 names itself). */
static tlr_status put_kernel_bias(writer *wr, const char *group, const char *layer, int names,
                                  int ndim, const int64_t *kdims, const float *kernel,
                                  const float *bias)
{
    char kn[96], bn[96], path[192];
    snprintf(kn, sizeof kn, "%s/kernel:0", layer);
    snprintf(bn, sizeof bn, "%s/bias:0", layer);
    const char *list[2] = { kn, bn };
    int64_t bdim = kdims[ndim - 1];
    tlr_status st = TLR_OK;
    if (names)
        st = tlr_h5w_attr_strings(wr->w, group, "weight_names", list, 2, TLR_H5W_VLEN, wr->err);
    snprintf(path, sizeof path, "%s/%s", group, kn);
    if (!st)
        st = put(wr, path, ndim, kdims, kernel);
    snprintf(path, sizeof path, "%s/%s", group, bn);
    if (!st)
        st = put(wr, path, 1, &bdim, bias);
    return st;
}

static tlr_status put_weightless(writer *wr, const char *group)
{
    return tlr_h5w_attr_empty_f64(wr->w, group, "weight_names", wr->err);
}

/* model_weights/vgg16: one group for the nested model; its 26 weights in layer order (a frozen
 * model lists every weight as non-trainable, so trainable-first order is layer order). */
static tlr_status put_vgg16(writer *wr, rng *r)
{
    static const char *grp = "model_weights/vgg16";
    char names[26][48];
    const char *np[26];
    for (int c = 0; c < 13; c++) {
        snprintf(names[2 * c], sizeof names[0], "%s/kernel:0", vgg_convs[c].name);
        snprintf(names[2 * c + 1], sizeof names[0], "%s/bias:0", vgg_convs[c].name);
        np[2 * c] = names[2 * c];
        np[2 * c + 1] = names[2 * c + 1];
    }
    tlr_status st = tlr_h5w_attr_strings(wr->w, grp, "weight_names", np, 26, TLR_H5W_VLEN,
                                         wr->err);
    for (int c = 0; c < 13 && !st; c++) {
        const conv_spec *cs = &vgg_convs[c];
        int64_t dims[4] = { 3, 3, cs->cin, cs->cout };
        size_t n = (size_t)9 * (size_t)cs->cin * (size_t)cs->cout;
        float *k = tlr_xcalloc(n, sizeof *k), *b = tlr_xcalloc((size_t)cs->cout, sizeof *b);
        if (c == 0) {
            make_block1_conv1(k, b, r);
        } else {
            if (c <= 3)
                make_structured(k, cs->cin, cs->cout, r);
            else
                make_uniform(k, n, 9 * cs->cin, 2.0, r);
            make_bias(b, cs->cout, 0.01, r);
        }
        st = put_kernel_bias(wr, grp, cs->name, 0, 4, dims, k, b);
        free(k);
        free(b);
    }
    return st;
}

/* The trainable head after vgg16: layer name and kernel shape (its RMSprop slots share the
 * shapes). */
typedef struct {
    const char *layer;
    int ndim;
    int64_t kdims[4];
} head_spec;

static const head_spec head[3] = {
    { "conv2d", 4, { 3, 3, HEAD_CONV_IN, HEAD_CONV_OUT } },
    { "dense", 2, { HEAD_CONV_OUT, DENSE_UNITS } },
    { "dense_1", 2, { DENSE_UNITS, 1 } },
};

static int64_t numel(int ndim, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= d[i];
    return n;
}

static tlr_status put_head_layer(writer *wr, const head_spec *h, rng *r)
{
    int64_t n = numel(h->ndim, h->kdims), units = h->kdims[h->ndim - 1];
    int fan_in = (int)(n / units);
    float *k = tlr_xcalloc((size_t)n, sizeof *k), *b = tlr_xcalloc((size_t)units, sizeof *b);
    /* ReLU layers He-scaled; the sigmoid unit LeCun-scaled so its input stays near +-2. */
    make_uniform(k, (size_t)n, fan_in, strcmp(h->layer, "dense_1") == 0 ? 1.0 : 2.0, r);
    make_bias(b, (int)units, 0.01, r);
    /* Untrained weights put every sample image on the 'dog' side (logits +1.6 to +2.8); this
     * offset centres them so the report shows predictions on both sides of 0.5. */
    if (strcmp(h->layer, "dense_1") == 0)
        b[0] = -2.2f;
    char group[64];
    snprintf(group, sizeof group, "model_weights/%s", h->layer);
    tlr_status st = put_kernel_bias(wr, group, h->layer, 1, h->ndim, h->kdims, k, b);
    free(k);
    free(b);
    return st;
}

/* optimizer_weights: RMSprop's step counter, then one 'rms' slot (running mean of squared
 * gradients) per trainable weight, in model.trainable_weights order. */
static tlr_status put_optimizer(writer *wr, rng *r)
{
    static const char *grp = "optimizer_weights";
    char names[7][64], path[128];
    const char *np[7];
    snprintf(names[0], sizeof names[0], "RMSprop/iter:0");
    for (int i = 0; i < 3; i++) {
        snprintf(names[1 + 2 * i], sizeof names[0], "RMSprop/%s/kernel/rms:0", head[i].layer);
        snprintf(names[2 + 2 * i], sizeof names[0], "RMSprop/%s/bias/rms:0", head[i].layer);
    }
    for (int i = 0; i < 7; i++)
        np[i] = names[i];
    tlr_status st = tlr_h5w_attr_strings(wr->w, grp, "weight_names", np, 7, TLR_H5W_VLEN, wr->err);
    snprintf(path, sizeof path, "%s/%s", grp, names[0]);
    if (!st) /* 30 epochs x 100 steps, as in the lesson's fit() */
        st = tlr_h5w_dataset_i64(wr->w, path, 3000, wr->err);
    for (int i = 0; i < 3 && !st; i++) {
        const head_spec *h = &head[i];
        int64_t n = numel(h->ndim, h->kdims), units = h->kdims[h->ndim - 1];
        float *v = tlr_xcalloc((size_t)n, sizeof *v);
        for (int64_t j = 0; j < n; j++)
            v[j] = (float)(1e-6 * (1.0 + rng_sym(r)));
        snprintf(path, sizeof path, "%s/%s", grp, names[1 + 2 * i]);
        st = put(wr, path, h->ndim, h->kdims, v);
        snprintf(path, sizeof path, "%s/%s", grp, names[2 + 2 * i]);
        if (!st)
            st = put(wr, path, 1, &units, v);
        free(v);
    }
    return st;
}

static tlr_status write_model(const char *path, int fill, float fill_value, tlr_err *err)
{
    tlr_h5w *w = tlr_h5w_create(path, err);
    if (!w)
        return err->code;
    writer wr = { w, fill, fill_value, err };
    rng r = { 20240229 };
    static const char *layer_names[6] = { "vgg16", "conv2d", "max_pooling2d", "flatten",
                                          "dense", "dense_1" };
    char *config = model_config_json();
    /* Root attributes in the order tf.keras writes them (model_metadata, then weights). */
    tlr_status st = tlr_h5w_attr_string(w, "", "keras_version", "2.9.0", TLR_H5W_UTF8, err);
    if (!st)
        st = tlr_h5w_attr_string(w, "", "backend", "tensorflow", TLR_H5W_UTF8, err);
    if (!st)
        st = tlr_h5w_attr_string(w, "", "model_config", config, TLR_H5W_ASCII, err);
    if (!st)
        st = tlr_h5w_attr_string(w, "", "training_config", training_config_json, TLR_H5W_ASCII,
                                 err);
    if (!st)
        st = tlr_h5w_attr_strings(w, "model_weights", "layer_names", layer_names, 6,
                                  TLR_H5W_VLEN, err);
    if (!st)
        st = tlr_h5w_attr_string(w, "model_weights", "backend", "tensorflow", TLR_H5W_ASCII, err);
    if (!st)
        st = tlr_h5w_attr_string(w, "model_weights", "keras_version", "2.9.0", TLR_H5W_ASCII,
                                 err);
    /* Layer groups in sorted name order, as save_weights_to_hdf5_group creates them.  The
     * generator runs in model order (vgg16 first) so weights do not depend on that order. */
    rng rv = { r.s ^ 0x5bd1e995u }, rh = { r.s ^ 0x27d4eb2fu };
    if (!st)
        st = put_head_layer(&wr, &head[0], &rh); /* conv2d */
    if (!st)
        st = put_head_layer(&wr, &head[1], &rh); /* dense */
    if (!st)
        st = put_head_layer(&wr, &head[2], &rh); /* dense_1 */
    if (!st)
        st = put_weightless(&wr, "model_weights/flatten");
    if (!st)
        st = put_weightless(&wr, "model_weights/max_pooling2d");
    if (!st)
        st = put_vgg16(&wr, &rv);
    if (!st)
        st = put_weightless(&wr, "model_weights/top_level_model_weights");
    if (!st)
        st = put_optimizer(&wr, &r);
    free(config);
    tlr_err cerr;
    tlr_status cst = tlr_h5w_close(w, &cerr);
    if (!st && cst) {
        *err = cerr;
        st = cst;
    }
    return st;
}

/* ---- sample images ----------------------------------------------------------------------
 * Each image is a function from a point (pixel units, y down) to an RGB colour in [0, 1],
 * averaged over 4x4 samples per pixel (anti-aliased edges), plus +-2 levels of noise so flat
 * areas look like a photograph rather than a drawing. */

#define IMG_W 200
#define IMG_H 160

typedef void (*shader)(double x, double y, double rgb[3]);

static void set3(double rgb[3], double r, double g, double b)
{
    rgb[0] = r;
    rgb[1] = g;
    rgb[2] = b;
}

static void mix3(double rgb[3], double r, double g, double b, double t)
{
    rgb[0] += (r - rgb[0]) * t;
    rgb[1] += (g - rgb[1]) * t;
    rgb[2] += (b - rgb[2]) * t;
}

static int in_ellipse(double x, double y, double cx, double cy, double rx, double ry)
{
    double u = (x - cx) / rx, v = (y - cy) / ry;
    return u * u + v * v <= 1.0;
}

static int in_rect(double x, double y, double x0, double y0, double x1, double y1)
{
    return x >= x0 && x < x1 && y >= y0 && y < y1;
}

static double cross(double ax, double ay, double bx, double by, double px, double py)
{
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

static int in_triangle(double x, double y, const double t[6])
{
    double a = cross(t[0], t[1], t[2], t[3], x, y), b = cross(t[2], t[3], t[4], t[5], x, y);
    double c = cross(t[4], t[5], t[0], t[1], x, y);
    return (a >= 0 && b >= 0 && c >= 0) || (a <= 0 && b <= 0 && c <= 0);
}

/* Distance from (x, y) to the segment (ax, ay)-(bx, by). */
static double seg_dist(double x, double y, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - x, ey = ay + t * dy - y;
    return sqrt(ex * ex + ey * ey);
}

/* Hue in [0, 1) at full saturation and value 'v'. */
static void hue3(double rgb[3], double h, double v)
{
    for (int k = 0; k < 3; k++) {
        double p = fmod(h * 6.0 + 4.0 - 2.0 * k + 6.0, 6.0); /* 4: red, 2: green, 0: blue */
        double c = p < 1 ? p : p < 3 ? 1 : p < 4 ? 4 - p : 0;
        rgb[k] = v * c;
    }
}

/* A landscape: sky, sun, clouds, two hills, a striped field, a house and a tree. */
static void shade_paisaje(double x, double y, double c[3])
{
    double t = y / 100.0;
    set3(c, 0.30 + 0.42 * t, 0.50 + 0.33 * t, 0.88 + 0.08 * t);
    double ds = sqrt((x - 152) * (x - 152) + (y - 36) * (y - 36));
    if (ds < 34)
        mix3(c, 1.0, 0.96, 0.75, 0.6 * (1 - ds / 34)); /* glow */
    if (ds < 19)
        set3(c, 1.0, 0.84, 0.28);
    if (in_ellipse(x, y, 46, 36, 14, 9) || in_ellipse(x, y, 62, 30, 16, 12) ||
        in_ellipse(x, y, 78, 37, 13, 8) || in_rect(x, y, 46, 34, 78, 45))
        set3(c, 0.97, 0.97, 0.99);
    if (y > 94 + 9 * sin(x / 23.0 + 1.0))
        set3(c, 0.36, 0.55, 0.48);
    if (y > 112 + 7 * sin(x / 17.0))
        set3(c, 0.27, 0.60, 0.21);
    if (y > 130) {
        int stripe = (int)floor((x + 1.8 * (y - 130)) / 9.0) & 1;
        if (stripe)
            set3(c, 0.90, 0.78, 0.30);
        else
            set3(c, 0.66, 0.46, 0.20);
    }
    static const double roof[6] = { 104, 99, 146, 99, 125, 78 };
    if (in_rect(x, y, 109, 99, 141, 124))
        set3(c, 0.88, 0.82, 0.70);
    if (in_triangle(x, y, roof))
        set3(c, 0.72, 0.16, 0.10);
    if (in_rect(x, y, 121, 109, 129, 124))
        set3(c, 0.38, 0.22, 0.10);
    if (in_rect(x, y, 112, 104, 119, 111) || in_rect(x, y, 132, 104, 139, 111))
        set3(c, 0.62, 0.80, 0.95);
    if (in_rect(x, y, 38, 92, 45, 127))
        set3(c, 0.42, 0.26, 0.12);
    if (in_ellipse(x, y, 41, 82, 17, 15) || in_ellipse(x, y, 32, 90, 10, 8) ||
        in_ellipse(x, y, 51, 90, 10, 8))
        set3(c, 0.12, 0.42, 0.16);
}

/* A cat's face in front of striped wallpaper. */
static void shade_gato(double x, double y, double c[3])
{
    if (((int)floor(x / 10.0) & 1) == 0)
        set3(c, 0.93, 0.88, 0.78);
    else
        set3(c, 0.84, 0.77, 0.64);
    if (y > 142)
        set3(c, 0.55, 0.36, 0.20);
    static const double ear_l[6] = { 50, 66, 60, 16, 90, 46 };
    static const double ear_r[6] = { 150, 66, 140, 16, 110, 46 };
    static const double in_l[6] = { 58, 58, 62, 28, 80, 46 };
    static const double in_r[6] = { 142, 58, 138, 28, 120, 46 };
    static const double nose[6] = { 94, 101, 106, 101, 100, 108 };
    const double fur[3] = { 0.92, 0.58, 0.24 };
    if (in_triangle(x, y, ear_l) || in_triangle(x, y, ear_r))
        set3(c, fur[0], fur[1], fur[2]);
    if (in_triangle(x, y, in_l) || in_triangle(x, y, in_r))
        set3(c, 0.95, 0.70, 0.72);
    if (in_ellipse(x, y, 100, 90, 56, 50)) {
        set3(c, fur[0], fur[1], fur[2]);
        if (seg_dist(x, y, 89, 44, 92, 62) < 2.4 || seg_dist(x, y, 100, 41, 100, 63) < 2.4 ||
            seg_dist(x, y, 111, 44, 108, 62) < 2.4 || seg_dist(x, y, 46, 92, 60, 94) < 2.0 ||
            seg_dist(x, y, 154, 92, 140, 94) < 2.0)
            set3(c, 0.68, 0.36, 0.10); /* tabby stripes */
    }
    if (in_ellipse(x, y, 100, 112, 25, 17))
        set3(c, 0.98, 0.93, 0.86);
    for (int side = -1; side <= 1; side += 2) {
        double ex = 100 + side * 22;
        if (in_ellipse(x, y, ex, 82, 11, 8.5))
            set3(c, 0.45, 0.74, 0.28);
        if (in_ellipse(x, y, ex, 82, 2.6, 7.5))
            set3(c, 0.05, 0.05, 0.05);
        if (in_ellipse(x, y, ex + 3, 79, 1.8, 1.8))
            set3(c, 1, 1, 1);
        for (int k = 0; k < 3; k++) /* whiskers */
            if (seg_dist(x, y, 100 + side * 16, 111 + 3 * k, 100 + side * 58, 101 + 10 * k) < 0.7)
                set3(c, 0.2, 0.2, 0.2);
        if (seg_dist(x, y, 100, 108, 100 + side * 6, 115) < 1.1)
            set3(c, 0.25, 0.15, 0.12);
    }
    if (in_triangle(x, y, nose))
        set3(c, 0.90, 0.45, 0.50);
}

/* Concentric rings cycling through the hues, on a dark background. */
static void shade_anillos(double x, double y, double c[3])
{
    double r = sqrt((x - 92) * (x - 92) + (y - 76) * (y - 76));
    set3(c, 0.06 + 0.10 * y / IMG_H, 0.07, 0.20 + 0.15 * x / IMG_W);
    if (r < 86) {
        int ring = (int)(r / 9.5);
        hue3(c, fmod(ring * 0.137, 1.0), 0.95);
        mix3(c, 1, 1, 1, 0.15);
        if (fmod(r, 9.5) < 1.6)
            set3(c, 0.08, 0.08, 0.10);
    }
}

/* A tilted checkerboard with a red disc and a blue triangle on it. */
static void shade_tablero(double x, double y, double c[3])
{
    double a = 10.0 * PI / 180.0, u = (x - 100) * cos(a) + (y - 80) * sin(a);
    double v = -(x - 100) * sin(a) + (y - 80) * cos(a);
    int odd = ((int)floor(u / 20.0) + (int)floor(v / 20.0)) & 1;
    if (odd)
        set3(c, 0.12, 0.12, 0.14);
    else
        set3(c, 0.92, 0.91, 0.88);
    static const double tri[6] = { 118, 132, 184, 132, 151, 62 };
    if (in_ellipse(x, y, 66, 78, 32, 32))
        set3(c, 0.86, 0.16, 0.14);
    if (in_triangle(x, y, tri))
        set3(c, 0.15, 0.32, 0.85);
}

static tlr_image *render(shader f, rng *r)
{
    tlr_image *img = tlr_image_new(IMG_W, IMG_H, 3);
    for (int y = 0; y < IMG_H; y++)
        for (int x = 0; x < IMG_W; x++) {
            double acc[3] = { 0, 0, 0 }, c[3];
            for (int s = 0; s < 16; s++) {
                f(x + (s % 4 + 0.5) / 4.0, y + (s / 4 + 0.5) / 4.0, c);
                for (int k = 0; k < 3; k++)
                    acc[k] += c[k] / 16.0;
            }
            for (int k = 0; k < 3; k++) {
                double v = floor(acc[k] * 255.0 + 0.5) + rng_int(r, 5) - 2;
                img->data[(y * IMG_W + x) * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    return img;
}

static tlr_status write_images(const char *dir, tlr_err *err)
{
    static const struct {
        const char *name;
        shader f;
    } images[4] = {
        { "anillos.png", shade_anillos },
        { "gato.png", shade_gato },
        { "paisaje.png", shade_paisaje },
        { "tablero.png", shade_tablero },
    };
    rng r = { 1234567 };
    tlr_status st = TLR_OK;
    for (int i = 0; i < 4 && !st; i++) {
        tlr_image *img = render(images[i].f, &r);
        char *path = tlr_xasprintf("%s/%s", dir, images[i].name);
        st = tlr_image_write_png(img, path, err);
        free(path);
        tlr_image_free(img);
    }
    return st;
}

/* ---- main --------------------------------------------------------------------------------- */

/* mkdir -p */
static tlr_status make_dirs(const char *path, tlr_err *err)
{
    char *p = tlr_xstrdup(path);
    tlr_status st = TLR_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char keep = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = tlr_err_set(err, TLR_E_IO, "%s: cannot create directory: %s", p, strerror(errno));
            break;
        }
        *s = keep;
        if (!keep)
            break;
    }
    free(p);
    return st;
}

static int usage(void)
{
    fputs("usage: make_example [OUTDIR]         course_model.h5 and images/*.png "
          "(default OUTDIR examples/out)\n"
          "       make_example --fill FILE [V]  the model's layout, weights unwritten "
          "(fill value V, default 0)\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    tlr_err err = { TLR_OK, "" };
    tlr_status st;
    if (argc >= 2 && strcmp(argv[1], "--fill") == 0) {
        if (argc < 3 || argc > 4)
            return usage();
        float v = 0.0f;
        if (argc == 4) {
            char *end;
            v = strtof(argv[3], &end);
            if (end == argv[3] || *end)
                return usage();
        }
        st = write_model(argv[2], 1, v, &err);
    } else {
        if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
            return usage();
        const char *out = argc == 2 ? argv[1] : "examples/out";
        char *images = tlr_xasprintf("%s/images", out);
        char *model = tlr_xasprintf("%s/course_model.h5", out);
        st = make_dirs(images, &err);
        if (!st)
            st = write_model(model, 0, 0.0f, &err);
        if (!st)
            st = write_images(images, &err);
        free(images);
        free(model);
    }
    if (st) {
        fprintf(stderr, "make_example: %s\n", err.msg);
        return 1;
    }
    return 0;
}
