/* test_reportdata.c - the typed values of the report stage (storage anatomy, summary rows,
 * layer table) and the report data built from them, for the course-model fixture
 * tests/fixtures/models/course_k23.h5.
 *
 * Expected numbers are worked out by hand from the model's definition, not taken from a run:
 * Sequential[VGG16(include_top=False, input 150x150x3, frozen), Conv2D(128, 3), MaxPooling2D,
 * Flatten, Dense(128), Dense(1)], written by Keras 2.3.1 without weight data (every value
 * reads back as the fill value 0.01).
 *   VGG16 base: 14,714,688 params in 13 convolutions (26 arrays); output (None, 4, 4, 512).
 *   conv2d_1: 3*3*512*128 + 128 = 589,952; output (None, 2, 2, 128).
 *   dense_1: 128*128 + 128 = 16,512; dense_2: 128 + 1 = 129.
 *   Trainable 589,952 + 16,512 + 129 = 606,593; total 15,321,281; 32 arrays, 4 bytes each value.
 *   VGG16 shows 19 layers (input, 13 convolutions, 5 poolings): 6 + 19 = 25 expanded rows.
 *   Kernel grid: tiles of kw * cell = 3 * 8 = 24 pixels with 2-pixel gutters, so R rows and C
 *   columns take C*24 + (C-1)*2 by R*24 + (R-1)*2 pixels. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "keras/kfile.h"
#include "report/inspect.h"
#include "report/reportdata.h"
#include "report/storage.h"

static tlr_kfile *open_course(int load)
{
    char *path = tlr_xasprintf("%s/tests/fixtures/models/course_k23.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "course_k23.h5: %s", err.msg);
    if (f && load)
        CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "course_k23.h5 weights: %s", err.msg);
    free(path);
    return f;
}

static const tlr_storage_group *group_named(const tlr_storage *s, const char *name)
{
    for (int i = 0; i < s->weights.n_groups; i++)
        if (s->weights.groups[i].name && strcmp(s->weights.groups[i].name, name) == 0)
            return &s->weights.groups[i];
    return NULL;
}

static void storage_struct(const tlr_kfile *f)
{
    tlr_err err = { 0 };
    tlr_storage *s = tlr_inspect_storage_build(f, &err);
    CHECK(s != NULL, "storage: %s", err.msg);
    if (!s)
        return;
    INT_EQ(s->weights.layout, TLR_STORAGE_LEGACY, "HDF5 model: legacy layout");
    INT_EQ(s->weights.n_groups, 6, "one group per top-level layer");
    INT_EQ(s->weights.arrays, 32, "weight arrays");
    INT_EQ(s->weights.params, 15321281, "stored values");
    INT_EQ(s->weights.bytes, 15321281LL * 4, "float32 bytes");
    INT_EQ(s->training.present, 1, "compiled");
    STR_EQ(s->training.optimizer, "RMSprop", "optimizer");
    INT_EQ(s->optimizer.count, 7, "optimizer arrays");
    const tlr_storage_group *vgg = group_named(s, "vgg16");
    CHECK(vgg != NULL, "a vgg16 group");
    if (vgg) {
        INT_EQ(vgg->n_arrays, 26, "vgg16: 13 kernels and 13 biases");
        INT_EQ(vgg->params, 14714688, "vgg16 params");
        INT_EQ(vgg->nested, 1, "vgg16 is a nested model");
    }
    const tlr_storage_group *conv = group_named(s, "conv2d_1");
    CHECK(conv != NULL && conv->n_arrays == 2, "conv2d_1: kernel and bias");
    if (conv && conv->n_arrays == 2) {
        const tlr_storage_array *k = &conv->arrays[0];
        INT_EQ(k->shape.ndim, 4, "conv2d_1 kernel rank");
        CHECK(k->shape.d[0] == 3 && k->shape.d[1] == 3 && k->shape.d[2] == 512 &&
              k->shape.d[3] == 128, "conv2d_1 kernel (3, 3, 512, 128)");
        INT_EQ(k->bytes, 3 * 3 * 512 * 128 * 4, "conv2d_1 kernel bytes");
        STR_EQ(k->layer, "conv2d_1", "kernel bound to conv2d_1");
        INT_EQ(conv->arrays[1].shape.d[0], 128, "conv2d_1 bias (128,)");
        INT_EQ(conv->params, 589952, "conv2d_1 params");
    }
    /* standalone Keras 2.3: trainable first; the frozen VGG16 gives its arrays in layer order */
    INT_EQ(s->get_weights_trainable_first, 1, "Keras 2.3.1 order");
    INT_EQ(s->n_get_weights, 6, "get_weights() per top-level layer");
    if (s->n_get_weights == 6) {
        INT_EQ(s->get_weights[0].n_vars, 26, "vgg16.get_weights()");
        if (s->get_weights[0].n_vars)
            STR_EQ(s->get_weights[0].vars[0].name, "block1_conv1/kernel", "first VGG16 array");
        INT_EQ(s->get_weights[2].n_vars, 0, "max pooling has no weights");
    }
    tlr_storage_free(s);
}

static void summary_and_layers(const tlr_kfile *f)
{
    tlr_summary *s = tlr_inspect_summary(f, -1, 0, 0);
    INT_EQ(s->n_rows, 6, "summary rows");
    INT_EQ(s->total_params, 15321281, "total");
    INT_EQ(s->trainable_params, 606593, "trainable");
    INT_EQ(s->non_trainable_params, 14714688, "non-trainable");
    if (s->n_rows == 6) {
        static const int64_t params[6] = { 14714688, 589952, 0, 0, 16512, 129 };
        for (int i = 0; i < 6; i++)
            INT_EQ(s->rows[i].params, params[i], s->rows[i].name);
        const tlr_summary_row *c = &s->rows[1];
        CHECK(c->n_outputs == 1 && c->ndim[0] == 4 && c->dims[0][0] == -1 && c->dims[0][1] == 2 &&
              c->dims[0][2] == 2 && c->dims[0][3] == 128, "conv2d_1 output (None, 2, 2, 128)");
        INT_EQ(s->rows[3].dims[0][1], 128, "flatten output (None, 128)");
    }
    tlr_inspect_summary_free(s);

    tlr_layer_table *t = tlr_inspect_layer_table(f, 1);
    INT_EQ(t->count, 6, "top-level layers");
    INT_EQ(t->n_rows, 25, "rows with VGG16 expanded");
    int found = 0;
    for (int i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i].path, "vgg16/block2_conv2") == 0) {
            found = 1;
            INT_EQ(t->rows[i].depth, 1, "block2_conv2 depth");
            INT_EQ(t->rows[i].index, 5, "block2_conv2 is VGG16's layers[5]");
            INT_EQ(t->rows[i].params, 3 * 3 * 128 * 128 + 128, "block2_conv2 params (128 -> 128)");
            STR_EQ(t->rows[i].output_shape, "(None, 75, 75, 128)", "block2_conv2 shape");
        }
    CHECK(found, "vgg16/block2_conv2 listed");
    tlr_layer_table_free(t);
}

static tlr_report_request course_request(void)
{
    tlr_report_request rq = { .lang = "en", .summary_style = -1, .kernel_rows = 10,
                              .kernel_cols = 20, .max_images = 3, .top_k = 5,
                              .max_memory = (int64_t)1 << 30 };
    return rq;
}

static double num_at(const tlr_json *d, const char *obj, const char *key)
{
    return tlr_json_get_number(tlr_json_get(d, obj), key, -1);
}

static void report_data(tlr_kfile *f)
{
    tlr_report_request rq = course_request();
    tlr_input_opts io = { 0 };
    tlr_report_content c;
    tlr_err err = { 0 };
    tlr_status st = tlr_reportdata_build(f, &rq, NULL, 0, &io, NULL, NULL, &c, &err);
    CHECK(st == TLR_OK, "report data: %s", err.msg);
    if (st) {
        tlr_report_content_free(&c);
        return;
    }
    const tlr_json *d = c.data;
    INT_EQ(num_at(d, "model", "total_params"), 15321281, "model.total_params");
    STR_EQ(tlr_json_get_string(tlr_json_get(d, "model"), "total_params_str", ""), "15,321,281",
           "thousands separators");
    INT_EQ(num_at(d, "model", "layer_count"), 6, "model.layer_count");
    INT_EQ(num_at(d, "layers", "count_expanded"), 25, "layers.count_expanded");
    INT_EQ(tlr_json_size(tlr_json_get(tlr_json_get(d, "summary"), "rows")), 25,
           "summary rows: the expanded table");
    INT_EQ(num_at(d, "storage", "weights_count"), 32, "storage.weights_count");
    const tlr_json *k = tlr_json_get(d, "kernels");
    STR_EQ(tlr_json_get_string(k, "layer", ""), "vgg16/block2_conv2", "default kernels layer");
    INT_EQ(num_at(d, "kernels", "rows"), 10, "kernel grid rows");
    INT_EQ(num_at(d, "kernels", "cols"), 20, "kernel grid cols");
    INT_EQ(num_at(d, "kernels", "width"), 20 * 24 + 19 * 2, "kernel grid width");
    INT_EQ(num_at(d, "kernels", "height"), 10 * 24 + 9 * 2, "kernel grid height");
    INT_EQ(num_at(d, "kernels", "channels"), 128, "block2_conv2 input channels");
    INT_EQ(num_at(d, "kernels", "filters"), 128, "block2_conv2 filters");
    INT_EQ(num_at(d, "kernels", "flat_tiles"), 200, "constant weights: every tile flat");
    /* colour tiles of block1_conv1: 64 filters, 16 per row -> 4 rows */
    INT_EQ(num_at(d, "kernels", "rgb_width"), 16 * 24 + 15 * 2, "colour tiles width");
    INT_EQ(num_at(d, "kernels", "rgb_height"), 4 * 24 + 3 * 2, "colour tiles height");
    /* kernels and colour tiles (PNG); the drawings of the model and of vgg16, the weight
     * histograms (SVG) */
    INT_EQ(c.n_figures, 5, "five figures: kernels, colour tiles, two drawings, histograms");
    INT_EQ(tlr_json_get_bool(tlr_json_get(d, "features"), "present", -1), 0, "no images");
    tlr_report_content_free(&c);
}

static void report_requests(tlr_kfile *f)
{
    tlr_report_request rq = course_request();
    rq.kernels_layer = "conv2d_1";
    rq.kernel_rows = 4;
    rq.kernel_cols = 5;
    tlr_input_opts io = { 0 };
    tlr_report_content c;
    tlr_err err = { 0 };
    tlr_status st = tlr_reportdata_build(f, &rq, NULL, 0, &io, NULL, NULL, &c, &err);
    CHECK(st == TLR_OK, "--kernels conv2d_1: %s", err.msg);
    if (!st) {
        INT_EQ(num_at(c.data, "kernels", "width"), 5 * 24 + 4 * 2, "4x5 grid width");
        INT_EQ(num_at(c.data, "kernels", "height"), 4 * 24 + 3 * 2, "4x5 grid height");
        INT_EQ(num_at(c.data, "kernels", "channels"), 512, "conv2d_1 input channels");
    }
    tlr_report_content_free(&c);

    rq.kernels_layer = "max_pooling2d_1";
    err = (tlr_err){ 0 };
    st = tlr_reportdata_build(f, &rq, NULL, 0, &io, NULL, NULL, &c, &err);
    INT_EQ(st, TLR_E_USAGE, "--kernels on a pooling layer");
    STR_CONTAINS(err.msg, "max_pooling2d_1", "the error names the layer");
    tlr_report_content_free(&c);
}

void test_reportdata(void)
{
    tlr_kfile *f = open_course(0);
    if (!f)
        return;
    storage_struct(f);
    summary_and_layers(f);
    tlr_kfile_free(f);
    f = open_course(1);
    if (!f)
        return;
    report_data(f);
    report_requests(f);
    tlr_kfile_free(f);
}
