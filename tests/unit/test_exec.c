/* test_exec.c - the executor's parts: the plan (steps, slots, last reads, deferred padding
 * and chains), and the settings the engine takes from the layer's typed cfg rather than
 * from its config JSON (Normalization statistics, Resizing pad_to_aspect_ratio, Flatten of
 * channels_first data), each run through the forward pass and checked against hand values. */
#include <stdlib.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/exec.h"
#include "engine/forward.h"
#include "harness.h"
#include "keras/kfile.h"

/* A tf.keras 2.9 Functional model: input "i0" of batch shape (null, 'input'), then the
 * layers of 'layers' (JSON objects, each naming its inbound node); the output is "x". */
static char *functional(const char *input, const char *layers)
{
    return tlr_xasprintf(
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"i0\", \"config\": {\"name\": \"i0\", "
        "\"batch_input_shape\": [null, %s]}, \"inbound_nodes\": []}, %s], "
        "\"input_layers\": [[\"i0\", 0, 0]], \"output_layers\": [[\"x\", 0, 0]]}, "
        "\"keras_version\": \"2.9.0\", \"backend\": \"tensorflow\"}", input, layers);
}

/* One layer "x" of class 'cls' with 'config' (without braces), reading i0. */
static char *one_layer(const char *input, const char *cls, const char *config)
{
    char *layer = tlr_xasprintf("{\"class_name\": \"%s\", \"name\": \"x\", \"config\": "
                                "{\"name\": \"x\", %s}, \"inbound_nodes\": "
                                "[[[\"i0\", 0, 0, {}]]]}", cls, config);
    char *text = functional(input, layer);
    free(layer);
    return text;
}

/* Runs 'text' on 'x' of shape 'shape'; *r receives the result (free it) on TLR_OK. */
static tlr_kfile *run(const char *name, const char *text, int nd, const int64_t *shape,
                      const float *x, tlr_forward_result *r)
{
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open_buffer(text, strlen(text), name, NULL, &err);
    CHECK(f != NULL, "%s: %s", name, err.msg);
    if (!f)
        return NULL;
    tlr_tensor *t = tlr_tensor_new(nd, shape);
    memcpy(t->data, x, (size_t)tlr_tensor_numel(t) * sizeof *x);
    const tlr_tensor *in = t;
    tlr_status st = tlr_forward_run(f->model, &in, 1, NULL, 0, 1, NULL, r, &err);
    CHECK(st == TLR_OK, "%s: forward: %s", name, err.msg);
    tlr_tensor_free(t);
    if (st) {
        tlr_kfile_free(f);
        return NULL;
    }
    return f;
}

static void expect_values(const char *name, const char *text, const float *want)
{
    static const int64_t shape[2] = { 1, 4 };
    static const float x[4] = { 1, 2, 3, 4 };
    tlr_forward_result r;
    tlr_kfile *f = run(name, text, 2, shape, x, &r);
    if (!f)
        return;
    const tlr_tensor *y = r.n_outputs ? r.outputs[0] : NULL;
    CHECK(y && tlr_tensor_numel(y) == 4, "%s: no output (%s)", name,
          r.n_skipped ? r.skipped[0] : "");
    if (y && tlr_tensor_numel(y) == 4)
        FLOATS_NEAR(y->data, want, 4, 1e-6, name);
    tlr_forward_result_free(&r);
    tlr_kfile_free(f);
}

/* Normalization's mean and variance as the config writes them: one per channel, one for
 * all (a number or a list of one), a list shorter than the channels (the rest read as
 * mean 0, variance 1), entries that are not numbers (read the same way). */
static void normalization_values(void)
{
    struct {
        const char *name, *config;
        float want[4];
    } cases[] = {
        { "per_channel", "\"axis\": -1, \"mean\": [1, 2, 3, 4], \"variance\": [1, 4, 9, 16]",
          { 0, 0, 0, 0 } },
        { "scalar", "\"axis\": -1, \"mean\": 1, \"variance\": 4", { 0, 0.5f, 1, 1.5f } },
        { "list_of_one", "\"axis\": -1, \"mean\": [1], \"variance\": [4]",
          { 0, 0.5f, 1, 1.5f } },
        { "short_list", "\"axis\": -1, \"mean\": [1, 1], \"variance\": [4, 4]",
          { 0, 0.5f, 3, 4 } },
        { "not_numbers", "\"axis\": -1, \"mean\": [\"a\", 2, null, 1], \"variance\": "
          "[4, \"b\", 4, 1]", { 0.5f, 0, 1.5f, 3 } },
        { "no_variance", "\"axis\": -1, \"mean\": 1", { 0, 1, 2, 3 } },
        { "invert", "\"axis\": -1, \"invert\": true, \"mean\": 1, \"variance\": 4",
          { 3, 5, 7, 9 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = one_layer("4", "Normalization", cases[i].config);
        expect_values(cases[i].name, text, cases[i].want);
        free(text);
    }
}

/* Resizing with pad_to_aspect_ratio is not computed, and says why. */
static void resizing_pad_to_aspect(void)
{
    static const int64_t shape[4] = { 1, 2, 4, 1 };
    static const float x[8] = { 0 };
    char *text = one_layer("2, 4, 1", "Resizing", "\"height\": 2, \"width\": 2, "
                           "\"interpolation\": \"bilinear\", \"pad_to_aspect_ratio\": true");
    tlr_forward_result r;
    tlr_kfile *f = run("pad_to_aspect_ratio", text, 4, shape, x, &r);
    if (f) {
        CHECK(r.n_skipped == 1 && !r.outputs[0], "pad_to_aspect_ratio: not computed");
        if (r.n_skipped == 1)
            STR_EQ(r.skips[0].detail, "layer 'x': Resizing with pad_to_aspect_ratio is not "
                   "supported", "pad_to_aspect_ratio: reason");
        tlr_forward_result_free(&r);
        tlr_kfile_free(f);
    }
    free(text);
}

/* Flatten of channels_first data flattens in channels-last order; only the exact spelling
 * "channels_first" counts, as it always did. */
static void flatten_channels_first(void)
{
    static const int64_t shape[4] = { 1, 2, 1, 2 }; /* (N, C, H, W) */
    static const float x[4] = { 1, 2, 3, 4 };
    static const float cl[4] = { 1, 3, 2, 4 }, plain[4] = { 1, 2, 3, 4 };
    const char *formats[] = { "channels_first", "channels_last", "Channels_First" };
    const float *want[] = { cl, plain, plain };
    for (int i = 0; i < 3; i++) {
        char *cfg = tlr_xasprintf("\"data_format\": \"%s\"", formats[i]);
        char *text = one_layer("2, 1, 2", "Flatten", cfg);
        tlr_forward_result r;
        tlr_kfile *f = run(formats[i], text, 4, shape, x, &r);
        if (f && r.outputs[0])
            FLOATS_NEAR(r.outputs[0]->data, want[i], 4, 0, formats[i]);
        if (f) {
            tlr_forward_result_free(&r);
            tlr_kfile_free(f);
        }
        free(text);
        free(cfg);
    }
}

/* Input -> ZeroPadding2D -> Conv2D (valid, linear) -> ReLU: the padding is deferred to the
 * convolution, which heads a chain ending in the ReLU's clamp. */
static void plan_chain(void)
{
    char *text = functional("4, 4, 1",
        "{\"class_name\": \"ZeroPadding2D\", \"name\": \"p\", \"config\": {\"name\": \"p\", "
        "\"padding\": [[1, 1], [1, 1]]}, \"inbound_nodes\": [[[\"i0\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Conv2D\", \"name\": \"c\", \"config\": {\"name\": \"c\", "
        "\"filters\": 2, \"kernel_size\": [3, 3], \"padding\": \"valid\", \"activation\": "
        "\"linear\"}, \"inbound_nodes\": [[[\"p\", 0, 0, {}]]]}, "
        "{\"class_name\": \"ReLU\", \"name\": \"x\", \"config\": {\"name\": \"x\"}, "
        "\"inbound_nodes\": [[[\"c\", 0, 0, {}]]]}");
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open_buffer(text, strlen(text), "plan", NULL, &err);
    CHECK(f != NULL, "plan: %s", err.msg);
    free(text);
    if (!f)
        return;
    tlr_forward_result res = { 0 };
    tlr_exec X = { .res = &res, .err = &err };
    tlr_plan p;
    tlr_plan_build(&X, f->model, "", 1, &p);
    INT_EQ(p.n_steps, 4, "plan: one step per layer");
    if (p.n_steps == 4) {
        INT_EQ(p.steps[0].kind, TLR_STEP_INPUT, "plan: input");
        INT_EQ(p.steps[0].input, 0, "plan: input index");
        INT_EQ(p.steps[1].kind, TLR_STEP_PAD_DEFERRED, "plan: padding deferred");
        OK(p.steps[2].pad_in && p.steps[2].pad_in->layer == p.steps[0].layer,
           "plan: the convolution reads the padding's input");
        OK(p.steps[2].chain >= 0, "plan: the convolution heads a chain");
        if (p.steps[2].chain >= 0) {
            const tlr_chain *ch = &p.chains[p.steps[2].chain];
            INT_EQ(ch->n, 2, "plan: conv + relu");
            OK(ch->clamp && !ch->add && !ch->scale, "plan: a clamp, no add, no scale");
        }
        STR_EQ(p.steps[3].path, "x", "plan: path");
        INT_EQ(p.values[p.steps[0].out].last_read[0], 1, "plan: input last read by the pad");
        INT_EQ(p.values[p.steps[2].out].last_read[0], 3, "plan: conv last read by the relu");
        INT_EQ(p.values[p.steps[3].out].readers[0], 1, "plan: output read once");
        INT_EQ(p.values[p.steps[3].out].last_read[0], -1, "plan: output read by no step");
    }
    tlr_plan_free(&p);
    tlr_kfile_free(f);
}

void test_exec(void)
{
    normalization_values();
    resizing_pad_to_aspect();
    flatten_channels_first();
    plan_chain();
}
