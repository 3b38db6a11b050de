/* test_weight_layout.c - when a stored weight's shape differs from the layer's.
 *
 * Keras 1 files may hold Theano-layout kernels (filters, channels, rows, cols) that
 * tlreport rearranges by matching shapes.  Keras 2 and 3 store every weight in the shape
 * the layer builds and refuse any other when loading, so for them a different shape is an
 * error naming the file, the layer, the stored and the expected shape.  The files are
 * written here with hand-chosen values. */
#include <stdlib.h>

#include "h5model.h"
#include "harness.h"
#include "keras/kfile.h"

/* Conv2D(filters, 3x3) on (None, 4, 4, cin): Keras 2 config, or Keras 1 with dim_ordering
 * 'tf'. */
static char *conv_cfg(int keras1, int filters, int cin)
{
    if (keras1)
        return tlr_xasprintf(
            "{'class_name': 'Sequential', 'config': [{'class_name': 'Convolution2D', 'config': "
            "{'name': 'conv2d_1', 'nb_filter': %d, 'nb_row': 3, 'nb_col': 3, 'border_mode': "
            "'valid', 'subsample': [1, 1], 'dim_ordering': 'tf', 'activation': 'linear', "
            "'bias': true, 'batch_input_shape': [null, 4, 4, %d], 'input_dtype': 'float32'}}]}",
            filters, cin);
    return tlr_xasprintf(
        "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': "
        "'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 4, 4, %d]}}, "
        "{'class_name': 'Conv2D', 'config': {'name': 'conv2d_1', 'filters': %d, 'kernel_size': "
        "[3, 3], 'strides': [1, 1], 'padding': 'valid'}}]}}", cin, filters);
}

/* Opening must fail with exactly "<path>: layer '<layer>': <role> <stored>, expected <want>". */
static void expect_mismatch(const char *path, const char *tail)
{
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f == NULL, "%s: opened despite a shape mismatch", path);
    char *want = tlr_xasprintf("%s: %s", path, tail);
    STR_EQ(err.msg, want, "mismatch message");
    free(want);
    tlr_kfile_free(f);
}

/* The reviewer's case: a (3,3,1,16) kernel for a layer on 3 channels, Keras 2 and 3. */
static void channel_mismatch(void)
{
    const char *versions[] = { "2.4.0", "3.3.3" };
    for (int v = 0; v < 2; v++) {
        char path[1024], name[64];
        snprintf(name, sizeof name, "conv_channels_%d.h5", v);
        tlr_t_path(path, sizeof path, name);
        char *cfg = conv_cfg(0, 16, 3);
        const tlr_t_weight ws[] = {
            { "conv2d_1", "conv2d_1/kernel:0", 4, { 3, 3, 1, 16 }, NULL },
            { "conv2d_1", "conv2d_1/bias:0", 1, { 16 }, NULL },
        };
        int bad = tlr_t_write_model_h5(path, cfg, versions[v], ws, 2);
        free(cfg);
        if (!bad)
            expect_mismatch(path, "layer 'conv2d_1': kernel (3,3,1,16), expected (3,3,3,16)");
    }
}

/* A Theano-layout kernel (filters, channels, rows, cols) = (2, 1, 3, 3) with the value
 * 1000*o + 100*i + 10*y + x at [o][i][y][x]. */
static void th_kernel(float *k)
{
    for (int o = 0; o < 2; o++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                k[(o * 3 + y) * 3 + x] = (float)(1000 * o + 10 * y + x);
}

/* Keras 2 and 3 files do not get their kernels guessed into shape: the Theano-layout kernel
 * is an error (Keras 2 and 3 fail to assign it too). */
static void no_guess_after_keras1(void)
{
    const char *versions[] = { "2.4.0", "3.3.3" };
    float k[18];
    th_kernel(k);
    for (int v = 0; v < 2; v++) {
        char path[1024], name[64];
        snprintf(name, sizeof name, "conv_th_%d.h5", v);
        tlr_t_path(path, sizeof path, name);
        char *cfg = conv_cfg(0, 2, 1);
        const tlr_t_weight ws[] = {
            { "conv2d_1", "conv2d_1/kernel:0", 4, { 2, 1, 3, 3 }, k },
            { "conv2d_1", "conv2d_1/bias:0", 1, { 2 }, NULL },
        };
        int bad = tlr_t_write_model_h5(path, cfg, versions[v], ws, 2);
        free(cfg);
        if (!bad)
            expect_mismatch(path, "layer 'conv2d_1': kernel (2,1,3,3), expected (3,3,1,2)");
    }
    /* nor is a bias that differs only by a size-1 axis reshaped */
    char path[1024];
    tlr_t_path(path, sizeof path, "conv_bias_k2.h5");
    char *cfg = conv_cfg(0, 2, 1);
    const tlr_t_weight ws[] = {
        { "conv2d_1", "conv2d_1/kernel:0", 4, { 3, 3, 1, 2 }, NULL },
        { "conv2d_1", "conv2d_1/bias:0", 2, { 1, 2 }, NULL },
    };
    int bad = tlr_t_write_model_h5(path, cfg, "2.4.0", ws, 2);
    free(cfg);
    if (!bad)
        expect_mismatch(path, "layer 'conv2d_1': bias (1,2), expected (2,)");
}

/* A Keras 1 file (no keras_version) with the same Theano-layout kernel on a 'tf' layer loads,
 * rearranged to (rows, cols, channels, filters): [y][x][0][o] = 1000*o + 10*y + x. */
static void keras1_guess(void)
{
    char path[1024];
    tlr_t_path(path, sizeof path, "conv_th_k1.h5");
    float k[18];
    th_kernel(k);
    char *cfg = conv_cfg(1, 2, 1);
    const tlr_t_weight ws[] = {
        { "conv2d_1", "conv2d_1_W", 4, { 2, 1, 3, 3 }, k },
        { "conv2d_1", "conv2d_1_b", 1, { 2 }, NULL },
    };
    int bad = tlr_t_write_model_h5(path, cfg, NULL, ws, 2);
    free(cfg);
    if (bad)
        return;
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "Keras 1 Theano-layout kernel: %s", err.msg);
    if (!f)
        return;
    INT_EQ(f->keras_major, 1, "Keras 1 file");
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "weights: %s", err.msg);
    int i = tlr_model_find(f->model, "conv2d_1");
    const tlr_weight *w = i >= 0 ? &f->model->layers[i].weights[0] : NULL;
    CHECK(w && strcmp(w->role, "kernel") == 0 && w->data, "kernel loaded");
    if (w && w->data) {
        float want[18];
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                for (int o = 0; o < 2; o++)
                    want[(y * 3 + x) * 2 + o] = (float)(1000 * o + 10 * y + x);
        FLOATS_NEAR(w->data, want, 18, 0, "kernel as (rows, cols, channels, filters)");
    }
    tlr_kfile_free(f);
}

void test_weight_layout(void)
{
    channel_mismatch();
    no_guess_after_keras1();
    keras1_guess();
}
