/* test_config_robust.c - configs tlreport can describe but not fully compute.
 *
 * A setting the engine lacks (a custom activation, an unknown padding or interpolation)
 * must not stop the summary: the layer is listed with its shape and parameters, and only
 * its forward pass is skipped with a reason naming it.  Every expected value is worked out
 * by hand from the hand-written config (Keras's rules: Dense params = in * units + units,
 * ...). */
#include <stdlib.h>

#include "forward.h"
#include "h5model.h"
#include "harness.h"
#include "keras_config.h"
#include "kfile.h"
#include "shape.h"
#include "weights.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Parses 'text' (quotes as ') as written by Keras 'major', and shapes it. */
static tlr_model *parse_cfg(const char *text, int major, tlr_json **json, tlr_err *err)
{
    char *t = tlr_t_q(text);
    *json = tlr_json_parse(t, strlen(t), "cfg", err);
    free(t);
    if (!*json)
        return NULL;
    tlr_config_ctx ctx = { major, 0, "cfg" };
    tlr_model *m = tlr_keras_config_parse(*json, &ctx, err);
    if (m && tlr_shape_model(m, "cfg", err) != TLR_OK) {
        tlr_model_free(m);
        return NULL;
    }
    if (m)
        tlr_weights_count_expected(m);
    return m;
}

static const tlr_layer *layer(const tlr_model *m, const char *name)
{
    int i = tlr_model_find(m, name);
    return i >= 0 ? &m->layers[i] : NULL;
}

/* "(None, 4, 6, 1)" of call 0's first output, or "?" */
static void shape_of(const tlr_layer *l, char *out, size_t cap)
{
    if (!l || !l->shape_ok || l->n_calls < 1 || l->calls[0].n_out < 1) {
        snprintf(out, cap, "?");
        return;
    }
    tlr_shape_str(&l->calls[0].out[0], out, cap);
}

static void expect_shape(const tlr_model *m, const char *name, const char *want)
{
    char got[128];
    shape_of(layer(m, name), got, sizeof got);
    CHECK(strcmp(got, want) == 0, "layer '%s': shape %s, want %s", name, got, want);
}

static void expect_params(const tlr_model *m, const char *name, int64_t want)
{
    const tlr_layer *l = layer(m, name);
    CHECK(l && l->params == want, "layer '%s': %lld params, want %lld", name,
          l ? (long long)l->params : -1LL, (long long)want);
}

/* The layer cannot run, and its reason contains every string of 'subs' (NULL-terminated). */
static void expect_not_runnable(const tlr_model *m, const char *name, const char *const *subs)
{
    const tlr_layer *l = layer(m, name);
    CHECK(l && l->cannot_run, "layer '%s' should be marked not runnable", name);
    for (int i = 0; l && l->cannot_run && subs[i]; i++)
        STR_CONTAINS(l->cannot_run, subs[i], name);
}

static void expect_runnable(const tlr_model *m, const char *name)
{
    const tlr_layer *l = layer(m, name);
    CHECK(l && !l->cannot_run, "layer '%s' should run (reason given: %s)", name,
          l && l->cannot_run ? l->cannot_run : "no such layer");
}

/* The skip of 'path' in a forward result: its index, or -1. */
static int skip_of(const tlr_forward_result *r, const char *path)
{
    for (int i = 0; i < r->n_skipped; i++)
        if (strcmp(r->skips[i].path, path) == 0)
            return i;
    return -1;
}

/* Runs 'm' on one input of 'ndim' dims 'shape' holding 'x' (NULL: zeros) and checks that
 * 'path' was skipped with reason code 'reason' and a log line containing 'sub'. */
static void expect_skip(const tlr_model *m, int ndim, const int64_t *shape, const float *x,
                        const char *path, tlr_skip_reason reason, const char *sub)
{
    tlr_tensor *in = tlr_tensor_new(ndim, shape);
    if (x)
        memcpy(in->data, x, (size_t)tlr_tensor_numel(in) * sizeof *x);
    const tlr_tensor *inp = in;
    tlr_forward_result r;
    tlr_err err = { 0 };
    tlr_status st = tlr_forward_run(m, &inp, 1, NULL, 0, 1, NULL, &r, &err);
    CHECK(st == TLR_OK, "forward (%s): %s", path, err.msg);
    if (st == TLR_OK) {
        int k = skip_of(&r, path);
        CHECK(k >= 0, "forward: '%s' not among the %d skipped layers", path, r.n_skipped);
        if (k >= 0) {
            INT_EQ(r.skips[k].reason, reason, path);
            STR_CONTAINS(r.skipped[k], path, "skip line names the layer");
            STR_CONTAINS(r.skipped[k], sub, "skip line names the setting");
        }
        tlr_forward_result_free(&r);
    }
    tlr_tensor_free(in);
}

#define SEQ(layers) "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [" layers "]}}"
#define DENSE(name, units, act) \
    "{'class_name': 'Dense', 'config': {'name': '" name "', 'units': " #units \
    ", 'activation': " act "}}"

/* ---- 1. names tlreport does not know ------------------------------------------------------- */

/* Dense(3, relu) -> Activation('my_custom_act') -> Dense(2) on (None, 4), stored in a
 * tf.keras 2.4 file: the summary is Keras's (15 and 8 params), d1 still runs, the custom
 * activation is skipped with its name, d2 misses its input. */
static void unknown_activation_h5(void)
{
    char path[1024];
    tlr_t_path(path, sizeof path, "custom_activation.h5");
    const char *cfg =
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 4]}},"
            DENSE("d1", 3, "'relu'") ","
            "{'class_name': 'Activation', 'config': {'name': 'act', 'activation': 'my_custom_act'}},"
            DENSE("d2", 2, "'linear'"));
    /* d1 = identity on the first 3 inputs, bias (0.5, -5, 0) */
    static const float k1[12] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 }, b1[3] = { 0.5f, -5, 0 };
    const tlr_t_weight ws[] = {
        { "d1", "d1/kernel:0", 2, { 4, 3 }, k1 }, { "d1", "d1/bias:0", 1, { 3 }, b1 },
        { "d2", "d2/kernel:0", 2, { 3, 2 }, NULL }, { "d2", "d2/bias:0", 1, { 2 }, NULL },
    };
    if (tlr_t_write_model_h5(path, cfg, "2.4.0", ws, 4))
        return;
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "custom activation: open: %s", err.msg);
    if (!f)
        return;
    expect_shape(f->model, "d1", "(None, 3)");
    expect_shape(f->model, "act", "(None, 3)");
    expect_shape(f->model, "d2", "(None, 2)");
    expect_params(f->model, "d1", 15);
    expect_params(f->model, "act", 0);
    expect_params(f->model, "d2", 8);
    expect_runnable(f->model, "d1");
    const char *subs[] = { "activation", "'my_custom_act'", NULL };
    expect_not_runnable(f->model, "act", subs);
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "weights: %s", err.msg);
    int64_t shape[2] = { 1, 4 };
    static const float x[4] = { 1, 2, 3, 4 };
    tlr_tensor *in = tlr_tensor_new(2, shape);
    memcpy(in->data, x, sizeof x);
    const tlr_tensor *inp = in;
    const char *cap[] = { "d1" };
    tlr_forward_result r;
    tlr_status st = tlr_forward_run(f->model, &inp, 1, cap, 1, 1, NULL, &r, &err);
    CHECK(st == TLR_OK, "forward: %s", err.msg);
    if (st == TLR_OK) {
        /* relu((1, 2, 3) + (0.5, -5, 0)) */
        static const float want[3] = { 1.5f, 0, 3 };
        CHECK(r.captured[0] != NULL, "d1 was computed");
        if (r.captured[0])
            FLOATS_NEAR(r.captured[0]->data, want, 3, 1e-6, "d1 runs");
        int k = skip_of(&r, "act");
        CHECK(k >= 0, "act skipped");
        if (k >= 0) {
            INT_EQ(r.skips[k].reason, TLR_SKIP_OTHER, "act: reason code");
            STR_CONTAINS(r.skipped[k], "act (Activation)", "skip line");
            STR_CONTAINS(r.skipped[k], "'my_custom_act'", "skip line");
        }
        k = skip_of(&r, "d2");
        CHECK(k >= 0 && r.skips[k].reason == TLR_SKIP_INPUT, "d2 skipped for its input");
        CHECK(r.n_outputs == 1 && r.outputs[0] == NULL, "no model output");
        tlr_forward_result_free(&r);
    }
    tlr_tensor_free(in);
    tlr_kfile_free(f);
}

/* Conv2D(2, 3x3, padding='reflect') on (None, 5, 5, 1), then Flatten and Dense(1): the
 * output size depends on the padding, so that layer and the ones after it have unknown
 * shapes, their parameters are the stored ones (3*3*1*2 + 2 = 20, 18 + 1 = 19), and the
 * forward pass names the padding (not "unknown class"). */
static void unknown_padding_h5(void)
{
    char path[1024];
    tlr_t_path(path, sizeof path, "reflect_padding.h5");
    const char *cfg =
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 5, 5, 1]}},"
            "{'class_name': 'Conv2D', 'config': {'name': 'c1', 'filters': 2, 'kernel_size': [3, 3], "
            "'strides': [1, 1], 'padding': 'reflect', 'activation': 'relu'}},"
            "{'class_name': 'Flatten', 'config': {'name': 'f'}},"
            DENSE("d", 1, "'sigmoid'"));
    const tlr_t_weight ws[] = {
        { "c1", "c1/kernel:0", 4, { 3, 3, 1, 2 }, NULL }, { "c1", "c1/bias:0", 1, { 2 }, NULL },
        { "d", "d/kernel:0", 2, { 18, 1 }, NULL }, { "d", "d/bias:0", 1, { 1 }, NULL },
    };
    if (tlr_t_write_model_h5(path, cfg, "2.4.0", ws, 4))
        return;
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "reflect padding: open: %s", err.msg);
    if (!f)
        return;
    expect_shape(f->model, "c1", "?");
    expect_shape(f->model, "d", "?");
    expect_params(f->model, "c1", 20);
    expect_params(f->model, "d", 19);
    const char *subs[] = { "padding", "'reflect'", NULL };
    expect_not_runnable(f->model, "c1", subs);
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "weights: %s", err.msg);
    int64_t shape[4] = { 1, 5, 5, 1 };
    expect_skip(f->model, 4, shape, NULL, "c1", TLR_SKIP_OTHER, "'reflect'");
    tlr_kfile_free(f);
}

/* Keras lower-cases padding and data_format: 'Same' is 'same'. */
static void padding_case(void)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 5, 5, 1]}},"
            "{'class_name': 'Conv2D', 'config': {'name': 'c', 'filters': 2, 'kernel_size': [3, 3], "
            "'padding': 'Same', 'data_format': 'Channels_Last'}},"
            "{'class_name': 'MaxPooling2D', 'config': {'name': 'p', 'pool_size': [2, 2], "
            "'padding': 'SAME'}}"), 2, &j, &err);
    CHECK(m != NULL, "padding 'Same': %s", err.msg);
    if (m) {
        expect_shape(m, "c", "(None, 5, 5, 2)");     /* same: 5 */
        expect_shape(m, "p", "(None, 3, 3, 2)");     /* same, stride 2: ceil(5 / 2) */
        expect_params(m, "c", 3 * 3 * 1 * 2 + 2);
        expect_runnable(m, "c");
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

/* UpSampling2D(interpolation='bicubic') and Resizing(interpolation='lanczos5'): the shapes
 * do not depend on the interpolation (2x3 -> 4x6; 4x4 -> 2x3); only the forward pass stops. */
static void unknown_interpolation(void)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 2, 3, 1]}},"
            "{'class_name': 'UpSampling2D', 'config': {'name': 'up', 'size': [2, 2], "
            "'interpolation': 'bicubic'}}"), 2, &j, &err);
    CHECK(m != NULL, "bicubic upsampling: %s", err.msg);
    if (m) {
        expect_shape(m, "up", "(None, 4, 6, 1)");
        const char *subs[] = { "interpolation", "'bicubic'", NULL };
        expect_not_runnable(m, "up", subs);
        int64_t shape[4] = { 1, 2, 3, 1 };
        expect_skip(m, 4, shape, NULL, "up", TLR_SKIP_OTHER, "'bicubic'");
    }
    tlr_model_free(m);
    tlr_json_free(j);
    m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 4, 4, 3]}},"
            "{'class_name': 'Resizing', 'config': {'name': 'rs', 'height': 2, 'width': 3, "
            "'interpolation': 'lanczos5'}}"), 3, &j, &err);
    CHECK(m != NULL, "lanczos5 resizing: %s", err.msg);
    if (m) {
        expect_shape(m, "rs", "(None, 2, 3, 3)");
        const char *subs[] = { "interpolation", "'lanczos5'", NULL };
        expect_not_runnable(m, "rs", subs);
        int64_t shape[4] = { 1, 4, 4, 3 };
        expect_skip(m, 4, shape, NULL, "rs", TLR_SKIP_OTHER, "'lanczos5'");
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

/* Keras 3 serialises a registered custom activation as an object; an LSTM's custom
 * recurrent_activation is named too; the shapes and params stay Keras's (Dense 4*5+5 = 25,
 * LSTM 4 * (3*2 + 2*2 + 2) = 48). */
static void unknown_activation_forms(void)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_shape': [null, 4]}},"
            DENSE("d", 5, "{'module': 'builtins', 'class_name': 'function', 'config': 'my_act', "
                  "'registered_name': 'my_act'}")), 3, &j, &err);
    CHECK(m != NULL, "Keras 3 custom activation object: %s", err.msg);
    if (m) {
        expect_shape(m, "d", "(None, 5)");
        expect_params(m, "d", 25);
        const char *subs[] = { "'my_act'", NULL };
        expect_not_runnable(m, "d", subs);
    }
    tlr_model_free(m);
    tlr_json_free(j);
    m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 7, 3]}},"
            "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 2, 'activation': 'tanh', "
            "'recurrent_activation': 'hard_tanh_custom'}}"), 2, &j, &err);
    CHECK(m != NULL, "LSTM custom activation: %s", err.msg);
    if (m) {
        expect_shape(m, "lstm", "(None, 2)");
        expect_params(m, "lstm", 48);
        const char *subs[] = { "'hard_tanh_custom'", NULL };
        expect_not_runnable(m, "lstm", subs);
    }
    tlr_model_free(m);
    tlr_json_free(j);
    /* a value that is no activation at all is still a broken config */
    m = parse_cfg(SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_shape': [null, 4]}},"
                      DENSE("d", 5, "42")), 2, &j, &err);
    CHECK(m == NULL && strstr(err.msg, "'activation'"), "activation 42: %s",
          m ? "accepted" : err.msg);
    tlr_model_free(m);
    tlr_json_free(j);
}

void test_config_robust(void)
{
    unknown_activation_h5();
    unknown_padding_h5();
    padding_case();
    unknown_interpolation();
    unknown_activation_forms();
}
