/* test_config_robust.c - configs tlreport can describe but not fully compute.
 *
 * A setting the engine lacks (a custom activation, an unknown padding or interpolation, a
 * Keras 1 BatchNormalization mode other than 0, a mask reaching a layer that would use it)
 * must not stop the summary: the layer is listed with its shape and parameters, and only
 * its forward pass is skipped with a reason naming it.  Also: every form Keras writes a
 * Functional's inputs and outputs in.  Every expected value is worked out by hand from the
 * hand-written config (Keras's rules: Dense params = in * units + units, ...). */
#include <stdlib.h>

#include "engine/forward.h"
#include "h5model.h"
#include "harness.h"
#include "keras/keras_config.h"
#include "keras/kfile.h"
#include "keras/shape.h"
#include "keras/weights.h"

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

/* A padding that is not even a name (explicit amounts) is no mode tlreport knows either: the
 * pooling's output size is unknown, the Dense before it keeps its (None, 2, 4, 3) shape. */
static void padding_not_a_name(void)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 2, 4, 1]}},"
            DENSE("d", 3, "'linear'") ","
            "{'class_name': 'MaxPooling2D', 'config': {'name': 'p', 'pool_size': [2, 2], "
            "'padding': [[1, 1], [1, 1]]}}"), 2, &j, &err);
    CHECK(m != NULL, "padding as a list: %s", err.msg);
    if (m) {
        expect_shape(m, "d", "(None, 2, 4, 3)");
        expect_shape(m, "p", "?");
        const char *subs[] = { "padding", "an array", NULL };
        expect_not_runnable(m, "p", subs);
    }
    tlr_model_free(m);
    tlr_json_free(j);
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

/* ---- 2. Functional inputs and outputs in every form --------------------------------------- */

#define K3_INPUT(name, dims) \
    "{'class_name': 'InputLayer', 'name': '" name "', 'config': {'name': '" name "', " \
    "'batch_shape': " dims "}, 'inbound_nodes': []}"
#define K3_TENSOR(layer, node) \
    "{'class_name': '__keras_tensor__', 'config': {'shape': [null, 2], 'dtype': 'float32', " \
    "'keras_history': ['" layer "', " #node ", 0]}}"
#define K3_DENSE(name, units, args) \
    "{'class_name': 'Dense', 'name': '" name "', 'config': {'name': '" name "', 'units': " #units \
    "}, 'inbound_nodes': [{'args': " args ", 'kwargs': {}}]}"
#define FUNCTIONAL(layers, ins, outs) \
    "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': [" layers "], " \
    "'input_layers': " ins ", 'output_layers': " outs "}}"

/* Two inputs a (None, 2) and b (None, 3), each with its own Dense. */
#define TWO_BRANCHES \
    K3_INPUT("in_b", "[null, 3]") "," K3_INPUT("in_a", "[null, 2]") "," \
    K3_DENSE("dense_x", 4, "[" K3_TENSOR("in_a", 0) "]") "," \
    K3_DENSE("dense_y", 5, "[" K3_TENSOR("in_b", 0) "]")

/* The layer names of the model's inputs (or outputs), joined by ','. */
static void endpoint_names(const tlr_model *m, int outputs, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    int n = outputs ? m->n_outputs : m->n_inputs;
    for (int i = 0; i < n && k < cap; i++) {
        const tlr_ref *r = outputs ? &m->outputs[i] : &m->inputs[i];
        k += (size_t)snprintf(out + k, cap - k, "%s%s#%d", i ? "," : "", m->layers[r->layer].name,
                              r->call);
    }
}

static void expect_endpoints(const char *what, const char *cfg, const char *ins,
                             const char *outs)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 3, &j, &err);
    CHECK(m != NULL, "%s: %s", what, err.msg);
    if (m) {
        char got[256];
        endpoint_names(m, 0, got, sizeof got);
        CHECK(strcmp(got, ins) == 0, "%s: inputs %s, want %s", what, got, ins);
        endpoint_names(m, 1, got, sizeof got);
        CHECK(strcmp(got, outs) == 0, "%s: outputs %s, want %s", what, got, outs);
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

static void expect_endpoints_fail(const char *what, const char *cfg, const char *sub)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 3, &j, &err);
    CHECK(m == NULL && strstr(err.msg, sub), "%s: want an error with '%s', got %s", what, sub,
          m ? "a model" : err.msg);
    tlr_model_free(m);
    tlr_json_free(j);
}

/* Keras's Functional.get_config maps the model's input and output structures with
 * [name, node, tensor] leaves (tree.map_structure), and functional_from_config accepts a
 * leaf, lists, tuples and dicts of them, nested; tree.flatten orders a dict by sorted key. */
static void endpoint_forms(void)
{
    expect_endpoints("list of triples",
                     FUNCTIONAL(TWO_BRANCHES, "[['in_a', 0, 0], ['in_b', 0, 0]]",
                                "[['dense_x', 0, 0], ['dense_y', 0, 0]]"),
                     "in_a#0,in_b#0", "dense_x#0,dense_y#0");
    expect_endpoints("one flat triple each",
                     FUNCTIONAL(K3_INPUT("in_a", "[null, 2]") ","
                                K3_DENSE("dense_x", 4, "[" K3_TENSOR("in_a", 0) "]"),
                                "['in_a', 0, 0]", "['dense_x', 0, 0]"),
                     "in_a#0", "dense_x#0");
    expect_endpoints("dicts, flattened by sorted key",
                     FUNCTIONAL(TWO_BRANCHES, "{'b': ['in_b', 0, 0], 'a': ['in_a', 0, 0]}",
                                "{'y': ['dense_y', 0, 0], 'x': ['dense_x', 0, 0]}"),
                     "in_a#0,in_b#0", "dense_x#0,dense_y#0");
    expect_endpoints("nested list and dict",
                     FUNCTIONAL(TWO_BRANCHES, "[[['in_a', 0, 0]], {'k': ['in_b', 0, 0]}]",
                                "{'z': [['dense_x', 0, 0], ['dense_y', 0, 0]]}"),
                     "in_a#0,in_b#0", "dense_x#0,dense_y#0");
    expect_endpoints("keras_history objects as leaves",
                     FUNCTIONAL(TWO_BRANCHES, "[" K3_TENSOR("in_a", 0) "," K3_TENSOR("in_b", 0) "]",
                                "{'o': " K3_TENSOR("dense_y", 0) "}"),
                     "in_a#0,in_b#0", "dense_y#0");
    expect_endpoints_fail("a name without node and tensor",
                          FUNCTIONAL(TWO_BRANCHES, "['in_a']", "['dense_x', 0, 0]"),
                          "'input_layers'");
    expect_endpoints_fail("an empty dict",
                          FUNCTIONAL(TWO_BRANCHES, "['in_a', 0, 0]", "{}"), "'output_layers'");
    expect_endpoints_fail("a layer that is not in the model",
                          FUNCTIONAL(TWO_BRANCHES, "['in_a', 0, 0]", "{'x': ['nope', 0, 0]}"),
                          "'nope'");
}

/* A nested Functional with named inputs {'a', 'b'} called with a dict of tensors; an Add
 * called as add(inputs=[x, y]) (tensors only in kwargs).  Shapes by hand: the inner model
 * concatenates a (None, 2) and b (None, 3) into (None, 5). */
static void node_forms(void)
{
    const char *inner =
        "{'class_name': 'Functional', 'name': 'inner', 'config': {'name': 'inner', 'layers': ["
        K3_INPUT("a", "[null, 2]") "," K3_INPUT("b", "[null, 3]") ","
        "{'class_name': 'Concatenate', 'name': 'cat', 'config': {'name': 'cat', 'axis': -1}, "
        "'inbound_nodes': [{'args': [[" K3_TENSOR("a", 0) "," K3_TENSOR("b", 0) "]], 'kwargs': {}}]}],"
        "'input_layers': {'b': ['b', 0, 0], 'a': ['a', 0, 0]}, 'output_layers': ['cat', 0, 0]}, "
        "'inbound_nodes': [{'args': [{'b': " K3_TENSOR("in_b", 0) ", 'a': " K3_TENSOR("in_a", 0)
        "}], 'kwargs': {}}]}";
    char *cfg = tlr_xasprintf(
        FUNCTIONAL("%s, %s, %s, %s",
                   "[['in_a', 0, 0], ['in_b', 0, 0]]", "[['add', 0, 0]]"),
        K3_INPUT("in_a", "[null, 2]"), K3_INPUT("in_b", "[null, 3]"), inner,
        "{'class_name': 'Add', 'name': 'add', 'config': {'name': 'add'}, 'inbound_nodes': "
        "[{'args': [], 'kwargs': {'inputs': [" K3_TENSOR("inner", 0) "," K3_TENSOR("inner", 0)
        "]}}]}");
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 3, &j, &err);
    CHECK(m != NULL, "dict arguments: %s", err.msg);
    if (m) {
        const tlr_layer *in = layer(m, "inner");
        CHECK(in && in->n_calls == 1 && in->calls[0].n_in == 2 &&
              strcmp(m->layers[in->calls[0].in[0].layer].name, "in_a") == 0 &&
              strcmp(m->layers[in->calls[0].in[1].layer].name, "in_b") == 0,
              "inner is called with in_a then in_b (sorted keys)");
        expect_shape(m, "inner", "(None, 5)");
        const tlr_layer *add = layer(m, "add");
        CHECK(add && add->n_calls == 1 && add->calls[0].n_in == 2, "add(inputs=[x, y]): 2 inputs");
        expect_shape(m, "add", "(None, 5)");
    }
    tlr_model_free(m);
    tlr_json_free(j);
    free(cfg);
}

/* An LSTM given its initial state as a keyword tensor (Keras 3: kwargs initial_state;
 * tf.keras 2 list form: the node's kwargs dict).  tlreport would start from zeros, so the
 * layer must not run; its shape is still known, and the Dense beside it still runs. */
static void kwarg_tensors(void)
{
    char *cfg = tlr_xasprintf(
        FUNCTIONAL("%s, %s, %s, %s",
                   "[['x', 0, 0], ['h', 0, 0]]", "[['lstm', 0, 0], ['d', 0, 0]]"),
        K3_INPUT("x", "[null, 5, 3]"), K3_INPUT("h", "[null, 2]"),
        "{'class_name': 'LSTM', 'name': 'lstm', 'config': {'name': 'lstm', 'units': 2}, "
        "'inbound_nodes': [{'args': [" K3_TENSOR("x", 0) "], 'kwargs': {'initial_state': ["
        K3_TENSOR("h", 0) "," K3_TENSOR("h", 0) "], 'training': false}}]}",
        "{'class_name': 'Dense', 'name': 'd', 'config': {'name': 'd', 'units': 1}, "
        "'inbound_nodes': [{'args': [" K3_TENSOR("h", 0) "], 'kwargs': {'mask': null}}]}");
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 3, &j, &err);
    CHECK(m != NULL, "kwargs initial_state: %s", err.msg);
    if (m) {
        expect_not_runnable(m, "lstm", (const char *const[]){ "'initial_state'", NULL });
        expect_shape(m, "lstm", "(None, 2)");
        expect_runnable(m, "d");
    }
    tlr_model_free(m);
    tlr_json_free(j);
    free(cfg);
    /* layer(inputs=x, mask=m): one input, x; the mask is flagged */
    cfg = tlr_xasprintf(
        FUNCTIONAL("%s, %s, %s", "[['x', 0, 0], ['mk', 0, 0]]", "[['g', 0, 0]]"),
        K3_INPUT("x", "[null, 5, 3]"), K3_INPUT("mk", "[null, 5]"),
        "{'class_name': 'GRU', 'name': 'g', 'config': {'name': 'g', 'units': 2}, "
        "'inbound_nodes': [{'args': [], 'kwargs': {'mask': " K3_TENSOR("mk", 0) ", 'inputs': "
        K3_TENSOR("x", 0) "}}]}");
    m = parse_cfg(cfg, 3, &j, &err);
    CHECK(m != NULL, "inputs= and mask= kwargs: %s", err.msg);
    if (m) {
        const tlr_layer *g = layer(m, "g");
        CHECK(g && g->n_calls == 1 && g->calls[0].n_in == 1 &&
              strcmp(m->layers[g->calls[0].in[0].layer].name, "x") == 0,
              "g(inputs=x, mask=m) has the one input x");
        expect_not_runnable(m, "g", (const char *const[]){ "'mask'", NULL });
        expect_shape(m, "g", "(None, 2)");
    }
    tlr_model_free(m);
    tlr_json_free(j);
    free(cfg);
    /* tf.keras 2: [['x', 0, 0, {'initial_state': [['h', 0, 0], ['h', 0, 0]]}]] */
    cfg = tlr_xasprintf(
        FUNCTIONAL("%s, %s, %s", "[['x', 0, 0], ['h', 0, 0]]", "[['lstm', 0, 0]]"),
        "{'class_name': 'InputLayer', 'name': 'x', 'config': {'name': 'x', "
        "'batch_input_shape': [null, 5, 3]}, 'inbound_nodes': []}",
        "{'class_name': 'InputLayer', 'name': 'h', 'config': {'name': 'h', "
        "'batch_input_shape': [null, 2]}, 'inbound_nodes': []}",
        "{'class_name': 'LSTM', 'name': 'lstm', 'config': {'name': 'lstm', 'units': 2}, "
        "'inbound_nodes': [[['x', 0, 0, {'initial_state': [['h', 0, 0], ['h', 0, 0]]}]]]}");
    m = parse_cfg(cfg, 2, &j, &err);
    CHECK(m != NULL, "tf.keras kwargs initial_state: %s", err.msg);
    if (m)
        expect_not_runnable(m, "lstm", (const char *const[]){ "'initial_state'", NULL });
    tlr_model_free(m);
    tlr_json_free(j);
    free(cfg);
}

/* A nested Sequential 'tower' called twice; the outputs are both calls.  Keras 3 counts a
 * Sequential's calls from 0 in output_layers (a Sequential is no Functional there, so it has
 * no node of its own); tf.keras counts them from 1 (its Sequential is a graph network). */
static void nested_sequential_outputs(void)
{
    const char *tower =
        "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'name': 't_in', 'batch_shape': [null, 2]}},"
        "{'class_name': 'Dense', 'config': {'name': 't_d', 'units': 3}}]}, 'inbound_nodes': ["
        "{'args': [" K3_TENSOR("in_a", 0) "], 'kwargs': {}}, "
        "{'args': [" K3_TENSOR("in_b", 0) "], 'kwargs': {}}]}";
    char *cfg = tlr_xasprintf(FUNCTIONAL("%s, %s, %s", "[['in_a', 0, 0], ['in_b', 0, 0]]",
                                         "[['tower', 0, 0], ['tower', 1, 0]]"),
                              K3_INPUT("in_a", "[null, 2]"), K3_INPUT("in_b", "[null, 2]"), tower);
    expect_endpoints("Keras 3 nested Sequential outputs", cfg, "in_a#0,in_b#0", "tower#0,tower#1");
    free(cfg);
    /* tf.keras 2.x: list-form nodes and outputs counted from 1 */
    const char *k2 =
        "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'in_a', 'config': {'name': 'in_a', "
        "'batch_input_shape': [null, 2]}, 'inbound_nodes': []},"
        "{'class_name': 'InputLayer', 'name': 'in_b', 'config': {'name': 'in_b', "
        "'batch_input_shape': [null, 2]}, 'inbound_nodes': []},"
        "{'class_name': 'Sequential', 'name': 'tower', 'config': {'name': 'tower', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'name': 't_in', 'batch_input_shape': [null, 2]}},"
        "{'class_name': 'Dense', 'config': {'name': 't_d', 'units': 3}}]}, 'inbound_nodes': "
        "[[['in_a', 0, 0, {}]], [['in_b', 0, 0, {}]]]}],"
        "'input_layers': [['in_a', 0, 0], ['in_b', 0, 0]], "
        "'output_layers': [['tower', 1, 0], ['tower', 2, 0]]}}";
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(k2, 2, &j, &err);
    CHECK(m != NULL, "tf.keras nested Sequential: %s", err.msg);
    if (m) {
        char got[256];
        endpoint_names(m, 1, got, sizeof got);
        STR_EQ(got, "tower#0,tower#1", "tf.keras nested Sequential outputs");
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

/* ---- 3. masks ------------------------------------------------------------------------------ */

/* Input (None, 3, 2) -> [Masking] -> GlobalAveragePooling1D.  Keras averages only the steps
 * the mask keeps; without a mask the plain mean of ((1,2), (3,4), (5,9)) is (3, 5). */
static void masked_global_average(void)
{
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 3, 2]}},"
            "{'class_name': 'Masking', 'config': {'name': 'mask', 'mask_value': 0.0}},"
            "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'gap'}}"), 2, &j, &err);
    CHECK(m != NULL, "Masking + GAP1D: %s", err.msg);
    if (m) {
        expect_shape(m, "gap", "(None, 2)");
        const char *subs[] = { "mask", NULL };
        expect_not_runnable(m, "gap", subs);
        int64_t shape[3] = { 1, 3, 2 };
        static const float x[6] = { 1, 2, 0, 0, 5, 9 };
        expect_skip(m, 3, shape, x, "gap", TLR_SKIP_OTHER, "mask");
    }
    tlr_model_free(m);
    tlr_json_free(j);
    /* the same without Masking runs: the plain mean */
    m = parse_cfg(
        SEQ("{'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [null, 3, 2]}},"
            "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'gap'}}"), 2, &j, &err);
    CHECK(m != NULL, "GAP1D: %s", err.msg);
    if (m) {
        expect_runnable(m, "gap");
        int64_t shape[3] = { 1, 3, 2 };
        static const float x[6] = { 1, 2, 3, 4, 5, 9 }, want[2] = { 3, 5 };
        tlr_tensor *in = tlr_tensor_new(3, shape);
        memcpy(in->data, x, sizeof x);
        const tlr_tensor *inp = in;
        tlr_forward_result r;
        tlr_status st = tlr_forward_run(m, &inp, 1, NULL, 0, 1, NULL, &r, &err);
        CHECK(st == TLR_OK && r.outputs[0], "GAP1D forward: %s", err.msg);
        if (st == TLR_OK && r.outputs[0])
            FLOATS_NEAR(r.outputs[0]->data, want, 2, 1e-6, "unmasked mean");
        if (st == TLR_OK)
            tlr_forward_result_free(&r);
        tlr_tensor_free(in);
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

/* Masks follow the graph: an Embedding(mask_zero) branch masks its own LSTM and the pooling
 * inside a nested model it feeds, but not the pooling of another branch. */
static void mask_follows_graph(void)
{
    const char *cfg =
        "{'class_name': 'Model', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'name': 'tok', 'config': {'name': 'tok', "
        "'batch_input_shape': [null, 6]}, 'inbound_nodes': []},"
        "{'class_name': 'InputLayer', 'name': 'seq', 'config': {'name': 'seq', "
        "'batch_input_shape': [null, 6, 4]}, 'inbound_nodes': []},"
        "{'class_name': 'Embedding', 'name': 'emb', 'config': {'name': 'emb', 'input_dim': 10, "
        "'output_dim': 4, 'mask_zero': true}, 'inbound_nodes': [[['tok', 0, 0, {}]]]},"
        "{'class_name': 'LSTM', 'name': 'lstm', 'config': {'name': 'lstm', 'units': 2, "
        "'return_sequences': true}, 'inbound_nodes': [[['emb', 0, 0, {}]]]},"
        "{'class_name': 'Sequential', 'name': 'head', 'config': {'name': 'head', 'layers': ["
        "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'head_gap', "
        "'batch_input_shape': [null, 6, 2]}}]}, 'inbound_nodes': [[['lstm', 0, 0, {}]]]},"
        "{'class_name': 'GlobalAveragePooling1D', 'name': 'plain_gap', 'config': "
        "{'name': 'plain_gap'}, 'inbound_nodes': [[['seq', 0, 0, {}]]]}],"
        "'input_layers': [['tok', 0, 0], ['seq', 0, 0]], "
        "'output_layers': [['head', 1, 0], ['plain_gap', 0, 0]]}}";
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 2, &j, &err);
    CHECK(m != NULL, "mask graph: %s", err.msg);
    if (m) {
        const tlr_layer *lstm = layer(m, "lstm");
        CHECK(lstm && lstm->cfg.rnn.cannot_run, "the LSTM after the Embedding is masked");
        const tlr_layer *head = layer(m, "head");
        const tlr_layer *gap = head && head->inner ? layer(head->inner, "head_gap") : NULL;
        CHECK(gap && gap->cannot_run, "the pooling inside the nested model is masked");
        expect_runnable(m, "plain_gap");
        expect_shape(m, "plain_gap", "(None, 4)");
    }
    tlr_model_free(m);
    tlr_json_free(j);
}

/* ---- 5. Keras 1 BatchNormalization modes --------------------------------------------------- */

/* Keras 1: Dense(input_dim=3, output_dim=4) -> BatchNormalization(mode=M).  All modes keep
 * gamma, beta, running mean and std: 4 * 4 = 16 parameters, Dense 3*4 + 4 = 16. */
static void bn_mode(int mode, int runnable)
{
    char *cfg = tlr_xasprintf(
        "{'class_name': 'Sequential', 'config': ["
        "{'class_name': 'Dense', 'config': {'name': 'dense_1', 'output_dim': 4, 'input_dim': 3, "
        "'activation': 'linear', 'batch_input_shape': [null, 3], 'input_dtype': 'float32'}},"
        "{'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'mode': %d, 'axis': -1, "
        "'epsilon': 0.001, 'momentum': 0.99}}]}", mode);
    tlr_err err = { 0 };
    tlr_json *j;
    tlr_model *m = parse_cfg(cfg, 1, &j, &err);
    CHECK(m != NULL, "BN mode %d: %s", mode, err.msg);
    if (m) {
        expect_shape(m, "bn", "(None, 4)");
        expect_params(m, "bn", 16);
        expect_params(m, "dense_1", 16);
        if (runnable) {
            expect_runnable(m, "bn");
        } else {
            char want[32];
            snprintf(want, sizeof want, "mode %d", mode);
            const char *subs[] = { "BatchNormalization", want, NULL };
            expect_not_runnable(m, "bn", subs);
        }
    }
    tlr_model_free(m);
    tlr_json_free(j);
    free(cfg);
}

/* Keras 1 Convolution2D(1, 1x1) -> BatchNormalization(mode=2) with stored weights: the
 * convolution runs (2x + 0.5 on (1, 2, 3, 4)); the normalisation, which the engine would
 * otherwise fold into the convolution, is skipped and no model output is made. */
static void bn_mode2_not_folded(void)
{
    char path[1024];
    tlr_t_path(path, sizeof path, "k1_bn_mode2.h5");
    const char *cfg =
        "{'class_name': 'Sequential', 'config': ["
        "{'class_name': 'Convolution2D', 'config': {'name': 'c', 'nb_filter': 1, 'nb_row': 1, "
        "'nb_col': 1, 'border_mode': 'valid', 'subsample': [1, 1], 'dim_ordering': 'tf', "
        "'activation': 'linear', 'bias': true, 'batch_input_shape': [null, 2, 2, 1], "
        "'input_dtype': 'float32'}},"
        "{'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'mode': 2, 'axis': -1, "
        "'epsilon': 0.001, 'momentum': 0.99}}]}";
    static const float w[1] = { 2 }, b[1] = { 0.5f }, one[1] = { 1 }, zero[1] = { 0 };
    const tlr_t_weight ws[] = {
        { "c", "c_W", 4, { 1, 1, 1, 1 }, w }, { "c", "c_b", 1, { 1 }, b },
        { "bn", "bn_gamma", 1, { 1 }, one }, { "bn", "bn_beta", 1, { 1 }, zero },
        { "bn", "bn_running_mean", 1, { 1 }, zero }, { "bn", "bn_running_std", 1, { 1 }, one },
    };
    if (tlr_t_write_model_h5(path, cfg, NULL, ws, 6))
        return;
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "Keras 1 BN mode 2: open: %s", err.msg);
    if (!f)
        return;
    INT_EQ(f->keras_major, 1, "no keras_version: Keras 1");
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "weights: %s", err.msg);
    int64_t shape[4] = { 1, 2, 2, 1 };
    static const float x[4] = { 1, 2, 3, 4 };
    tlr_tensor *in = tlr_tensor_new(4, shape);
    memcpy(in->data, x, sizeof x);
    const tlr_tensor *inp = in;
    tlr_forward_result r;
    tlr_status st = tlr_forward_run(f->model, &inp, 1, NULL, 0, 1, NULL, &r, &err);
    CHECK(st == TLR_OK, "forward: %s", err.msg);
    if (st == TLR_OK) {
        int k = skip_of(&r, "bn");
        CHECK(k >= 0, "bn skipped");
        if (k >= 0)
            STR_CONTAINS(r.skipped[k], "mode 2", "skip line");
        CHECK(r.n_outputs == 1 && r.outputs[0] == NULL, "no output through a mode 2 BN");
        tlr_forward_result_free(&r);
    }
    /* the convolution alone */
    const char *cap[] = { "c" };
    st = tlr_forward_run(f->model, &inp, 1, cap, 1, 0, NULL, &r, &err);
    CHECK(st == TLR_OK && r.captured[0], "forward c: %s", err.msg);
    if (st == TLR_OK && r.captured[0]) {
        static const float want[4] = { 2.5f, 4.5f, 6.5f, 8.5f };
        FLOATS_NEAR(r.captured[0]->data, want, 4, 1e-6, "c = 2x + 0.5");
    }
    if (st == TLR_OK)
        tlr_forward_result_free(&r);
    tlr_tensor_free(in);
    tlr_kfile_free(f);
}

static void bn_modes(void)
{
    bn_mode(0, 1);
    bn_mode(1, 0);
    bn_mode(2, 0);
    bn_mode2_not_folded();
}

void test_config_robust(void)
{
    kwarg_tensors();
    unknown_activation_h5();
    unknown_padding_h5();
    padding_not_a_name();
    padding_case();
    unknown_interpolation();
    unknown_activation_forms();
    endpoint_forms();
    node_forms();
    nested_sequential_outputs();
    masked_global_average();
    mask_follows_graph();
    bn_modes();
}
