/* test_shape.c - Keras's output-shape and parameter rules for the layers whose rules are
 * easy to get wrong: broadcasting merges, recurrent layers with return_state, Bidirectional
 * with its own backward_layer, RandomCrop, Resizing channels_first.
 *
 * Each case is an architecture JSON written here (tf.keras 2.9 or Keras 3 style) and opened
 * with tlr_kfile_open_buffer; the expectations are worked out by hand from the Keras sources
 * cited next to each group, never taken from tlreport's output. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "engine/forward.h"
#include "engine/ops.h"
#include "harness.h"
#include "base/xalloc.h"
#include "io/npy.h"
#include "keras/kfile.h"
#include "keras/shape.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* A tf.keras 2.9 Functional model: 'inputs' are batch shapes without the leading null, e.g.
 * "8, 8, 16" (named i0, i1, ...); 'layer' is the JSON of one layer fed by all of them; the
 * model outputs its tensors 0 .. n_out - 1. */
static char *functional(const char *const *inputs, int n_in, const char *layer, int n_out)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": [");
    for (int i = 0; i < n_in; i++)
        tlr_buf_printf(&b, "{\"class_name\": \"InputLayer\", \"name\": \"i%d\", \"config\": "
                       "{\"name\": \"i%d\", \"batch_input_shape\": [null, %s]}, "
                       "\"inbound_nodes\": []}, ", i, i, inputs[i]);
    tlr_buf_puts(&b, layer);
    tlr_buf_puts(&b, "], \"input_layers\": [");
    for (int i = 0; i < n_in; i++)
        tlr_buf_printf(&b, "%s[\"i%d\", 0, 0]", i ? ", " : "", i);
    tlr_buf_puts(&b, "], \"output_layers\": [");
    for (int k = 0; k < n_out; k++)
        tlr_buf_printf(&b, "%s[\"x\", 0, %d]", k ? ", " : "", k);
    tlr_buf_puts(&b, "]}, \"keras_version\": \"2.9.0\", \"backend\": \"tensorflow\"}");
    return tlr_buf_detach(&b);
}

/* The inbound node of layer "x" taking i0 .. i(n-1). */
static char *inbound(int n)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, "\"inbound_nodes\": [[");
    for (int i = 0; i < n; i++)
        tlr_buf_printf(&b, "%s[\"i%d\", 0, 0, {}]", i ? ", " : "", i);
    tlr_buf_puts(&b, "]]");
    return tlr_buf_detach(&b);
}

static tlr_kfile *open_json(const char *text, const char *label, tlr_err *err)
{
    return tlr_kfile_open_buffer(text, strlen(text), label, NULL, err);
}

/* Layer "x" of a model. */
static const tlr_layer *layer_x(const tlr_kfile *f)
{
    int i = tlr_model_find(f->model, "x");
    return i >= 0 ? &f->model->layers[i] : NULL;
}

/* "(None, 8, 8, 16)" for output k of layer x's first call, or "" when it has none. */
static void out_shape(const tlr_layer *l, int k, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (l && l->shape_ok && l->n_calls > 0 && k < l->calls[0].n_out)
        tlr_shape_str(&l->calls[0].out[k], buf, cap);
}

/* ---- merges ----------------------------------------------------------------------------------
 * keras/src/layers/merging/base_merge.py: the shapes without the batch axis broadcast
 * right-aligned (_compute_elemwise_op_output_shape; call() expands a lower rank at axis 1),
 * and two sizes that are neither equal nor 1 raise "Inputs have incompatible shapes". */

typedef struct {
    const char *cls;
    const char *inputs[3];
    int n_in;
    const char *want;        /* output shape, or NULL when the model must be refused */
} merge_case;

static const merge_case merge_cases[] = {
    { "Multiply", { "8, 8, 16", "1, 1, 16" }, 2, "(None, 8, 8, 16)" },      /* SE gate */
    { "Multiply", { "1, 1, 16", "8, 8, 16" }, 2, "(None, 8, 8, 16)" },      /* gate first */
    { "Add", { "16", "8, 8, 16" }, 2, "(None, 8, 8, 16)" },                 /* rank 2 + 4 */
    { "Add", { "8, 8, 16", "16" }, 2, "(None, 8, 8, 16)" },
    { "Add", { "8, 8, 1", "1, 1, 16" }, 2, "(None, 8, 8, 16)" },            /* both expand */
    { "Subtract", { "5, 1", "1, 7" }, 2, "(None, 5, 7)" },
    { "Maximum", { "3, 16", "16", "3, 1" }, 3, "(None, 3, 16)" },
    { "Average", { "null, null, 16", "1, 1, 16" }, 2, "(None, None, None, 16)" },
    { "Minimum", { "null, 16", "5, 16" }, 2, "(None, 5, 16)" },             /* None vs 5 */
    { "Add", { "null, 16", "1, 16" }, 2, "(None, None, 16)" },              /* None vs 1 */
    { "Add", { "4, 4, 8", "4, 4, 8" }, 2, "(None, 4, 4, 8)" },
    { "Add", { "4, 4, 8", "3, 3, 8" }, 2, NULL },
    { "Multiply", { "8", "4, 6" }, 2, NULL },                               /* 8 vs 6 */
    { "Add", { "4, 4, 8", "4, 4, 8", "4, 4, 2" }, 3, NULL },               /* third fails */
};

static void merges(void)
{
    for (size_t c = 0; c < sizeof merge_cases / sizeof merge_cases[0]; c++) {
        const merge_case *mc = &merge_cases[c];
        char *in = inbound(mc->n_in);
        char *layer = tlr_xasprintf("{\"class_name\": \"%s\", \"name\": \"x\", \"config\": "
                                    "{\"name\": \"x\"}, %s}", mc->cls, in);
        char *text = functional(mc->inputs, mc->n_in, layer, 1);
        char label[64], got[128] = "";
        snprintf(label, sizeof label, "merge_case_%zu.json", c);
        tlr_err err = { 0 };
        tlr_kfile *f = open_json(text, label, &err);
        if (mc->want) {
            CHECK(f != NULL, "%s %s: %s", label, mc->cls, err.msg);
            if (f)
                out_shape(layer_x(f), 0, got, sizeof got);
            STR_EQ(got, mc->want, label);
        } else {
            CHECK(f == NULL && err.code == TLR_E_SHAPE, "%s: %s must be refused", label, mc->cls);
            /* the message names the layer and both shapes that do not broadcast */
            STR_CONTAINS(err.msg, "layer 'x'", label);
            STR_CONTAINS(err.msg, "cannot be broadcast", label);
            char a[64], b[64];
            int last = mc->n_in - 1;
            snprintf(a, sizeof a, "(None, %s)", mc->inputs[last]);
            STR_CONTAINS(err.msg, a, label);
            snprintf(b, sizeof b, "(None, %s)", mc->inputs[last - 1]);
            STR_CONTAINS(err.msg, b, label);
        }
        tlr_kfile_free(f);
        free(text);
        free(layer);
        free(in);
    }
}

/* The broadcasting op itself, values worked out by hand.
 * A (2, 1, 3) = [[0 1 2]], [[10 11 12]];  B (2, 2, 1) = [[100] [200]], [[101] [201]];
 * C (2, 1, 1) = [[150]], [[205]];  every output (2, 2, 3). */
static void merge_op(void)
{
    static const float a[6] = { 0, 1, 2, 10, 11, 12 }, b[4] = { 100, 200, 101, 201 },
                       c[2] = { 150, 205 };
    static const int64_t ab_shapes[6] = { 2, 1, 3, 2, 2, 1 }, ba_shapes[6] = { 2, 2, 1, 2, 1, 3 };
    static const int64_t abc_shapes[9] = { 2, 1, 3, 2, 2, 1, 2, 1, 1 };
    static const int64_t out_shape3[3] = { 2, 2, 3 };
    const float *ab[2] = { a, b }, *ba[2] = { b, a }, *abc[3] = { a, b, c };
    float out[12];
    static const float w_add[12] = { 100, 101, 102, 200, 201, 202,
                                     111, 112, 113, 211, 212, 213 };
    tlr_op_merge_broadcast(TLR_MERGE_ADD, ab, 2, 3, ab_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_add, 12, 0.0, "A + B");
    static const float w_sub[12] = { 100, 99, 98, 200, 199, 198, 91, 90, 89, 191, 190, 189 };
    tlr_op_merge_broadcast(TLR_MERGE_SUBTRACT, ba, 2, 3, ba_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_sub, 12, 0.0, "B - A");
    static const float w_max[12] = { 150, 150, 150, 200, 200, 200,
                                     205, 205, 205, 205, 205, 205 };
    tlr_op_merge_broadcast(TLR_MERGE_MAXIMUM, abc, 3, 3, abc_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_max, 12, 0.0, "max(A, B, C)");
    static const float w_min[12] = { 0, 1, 2, 0, 1, 2, 10, 11, 12, 10, 11, 12 };
    tlr_op_merge_broadcast(TLR_MERGE_MINIMUM, abc, 3, 3, abc_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_min, 12, 0.0, "min(A, B, C)");
    static const float w_avg[12] = { 250.0f / 3, 251.0f / 3, 252.0f / 3, 350.0f / 3, 351.0f / 3,
                                     352.0f / 3, 316.0f / 3, 317.0f / 3, 318.0f / 3, 416.0f / 3,
                                     417.0f / 3, 418.0f / 3 };
    tlr_op_merge_broadcast(TLR_MERGE_AVERAGE, abc, 3, 3, abc_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_avg, 12, 1e-7, "average(A, B, C)");
    static const float w_mul[12] = { 0, 100, 200, 0, 200, 400, 1010, 1111, 1212, 2010, 2211, 2412 };
    tlr_op_merge_broadcast(TLR_MERGE_MULTIPLY, ab, 2, 3, ab_shapes, out_shape3, out);
    FLOATS_NEAR(out, w_mul, 12, 0.0, "A * B");

    /* SE gate on a larger map: x (1, 5, 6, 7) * g (1, 1, 1, 7), and a (1, 5, 6, 1) mask */
    enum { H = 5, W = 6, C = 7 };
    float x[H * W * C], g[C], mk[H * W], y[H * W * C];
    for (int i = 0; i < H * W * C; i++)
        x[i] = (float)(i % 13) - 6.0f;
    for (int k = 0; k < C; k++)
        g[k] = 0.5f + (float)k;
    for (int i = 0; i < H * W; i++)
        mk[i] = (float)(i % 4);
    static const int64_t se_shapes[12] = { 1, H, W, C, 1, 1, 1, C, 1, H, W, 1 };
    static const int64_t se_out[4] = { 1, H, W, C };
    const float *se[3] = { x, g, mk };
    tlr_op_merge_broadcast(TLR_MERGE_MULTIPLY, se, 3, 4, se_shapes, se_out, y);
    int bad = -1;
    for (int h = 0; h < H && bad < 0; h++)
        for (int w = 0; w < W && bad < 0; w++)
            for (int k = 0; k < C && bad < 0; k++) {
                int i = (h * W + w) * C + k;
                if (y[i] != x[i] * g[k] * mk[h * W + w])
                    bad = i;
            }
    INT_EQ(bad, -1, "x * gate * mask, first wrong element");
}

/* ---- recurrent layers -------------------------------------------------------------------------
 * keras/src/layers/rnn/rnn.py (compute_output_shape, return_state) and bidirectional.py (call:
 * output(s), then the forward layer's states, then the backward layer's); tf.keras 2
 * keras/layers/rnn/base_rnn.py and bidirectional.py return the same list. */

#define RNN_CFG(cls, extra) "{\"class_name\": \"" cls "\", \"config\": {\"name\": \"" cls \
    "_l\", \"activation\": \"tanh\", \"recurrent_activation\": \"sigmoid\", " extra "}}"

typedef struct {
    const char *name;
    const char *inputs[3];
    int n_in;
    const char *cls;         /* "LSTM", ... or "Bidirectional" */
    const char *config;      /* the layer's config members after "name" */
    int n_out;
    const char *want[6];     /* output shapes; want[0] NULL: the shape is unknown */
    const char *note;        /* with want[0] NULL: a part of the shape note */
} rnn_case;

static const rnn_case rnn_cases[] = {
    { "lstm_state", { "5, 3" }, 1, "LSTM",
      "\"units\": 4, \"return_state\": true, \"activation\": \"tanh\"", 3,
      { "(None, 4)", "(None, 4)", "(None, 4)" }, NULL },
    { "lstm_seq_state", { "5, 3" }, 1, "LSTM",
      "\"units\": 4, \"return_sequences\": true, \"return_state\": true", 3,
      { "(None, 5, 4)", "(None, 4)", "(None, 4)" }, NULL },
    { "gru_state", { "5, 3" }, 1, "GRU",
      "\"units\": 3, \"return_state\": true, \"reset_after\": true", 2,
      { "(None, 3)", "(None, 3)" }, NULL },
    { "simple_seq_state", { "5, 3" }, 1, "SimpleRNN",
      "\"units\": 2, \"return_sequences\": true, \"return_state\": true", 2,
      { "(None, 5, 2)", "(None, 2)" }, NULL },
    { "lstm_no_state", { "5, 3" }, 1, "LSTM", "\"units\": 4", 1, { "(None, 4)" }, NULL },
    /* a decoder: the sequence, then initial states h and c */
    { "lstm_initial_state", { "5, 3", "4", "4" }, 3, "LSTM",
      "\"units\": 4, \"return_sequences\": true", 1, { "(None, 5, 4)" }, NULL },
    { "bidi_gru_state_concat", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": \"concat\", \"layer\": "
      RNN_CFG("GRU", "\"units\": 3, \"return_sequences\": true, \"return_state\": true"), 3,
      { "(None, 5, 6)", "(None, 3)", "(None, 3)" }, NULL },
    { "bidi_simple_state_none", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": null, \"layer\": "
      RNN_CFG("SimpleRNN", "\"units\": 2, \"return_state\": true"), 4,
      { "(None, 2)", "(None, 2)", "(None, 2)", "(None, 2)" }, NULL },
    { "bidi_lstm_none", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": null, \"layer\": "
      RNN_CFG("LSTM", "\"units\": 4, \"return_sequences\": true"), 2,
      { "(None, 5, 4)", "(None, 5, 4)" }, NULL },
    /* concat of 4 forward and 3 backward units, states of each */
    { "bidi_own_backward_state", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": \"concat\", \"layer\": "
      RNN_CFG("GRU", "\"units\": 4, \"return_state\": true") ", \"backward_layer\": "
      RNN_CFG("GRU", "\"units\": 3, \"return_state\": true, \"go_backwards\": true"), 3,
      { "(None, 7)", "(None, 4)", "(None, 3)" }, NULL },
    /* output + 2 LSTM states per direction = 5 tensors */
    { "bidi_lstm_state", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": \"sum\", \"layer\": "
      RNN_CFG("LSTM", "\"units\": 4, \"return_state\": true"), 5,
      { "(None, 4)", "(None, 4)", "(None, 4)", "(None, 4)", "(None, 4)" }, NULL },
    /* unmerged: both sequences, then h, c forward and h, c backward = 6 tensors */
    { "bidi_lstm_state_none", { "5, 3" }, 1, "Bidirectional",
      "\"merge_mode\": null, \"layer\": "
      RNN_CFG("LSTM", "\"units\": 4, \"return_sequences\": true, \"return_state\": true"), 6,
      { "(None, 5, 4)", "(None, 5, 4)", "(None, 4)", "(None, 4)", "(None, 4)", "(None, 4)" },
      NULL },
};

static void recurrent_outputs(void)
{
    for (size_t c = 0; c < sizeof rnn_cases / sizeof rnn_cases[0]; c++) {
        const rnn_case *rc = &rnn_cases[c];
        char *in = inbound(rc->n_in);
        char *layer = tlr_xasprintf("{\"class_name\": \"%s\", \"name\": \"x\", \"config\": "
                                    "{\"name\": \"x\", %s}, %s}", rc->cls, rc->config, in);
        char *text = functional(rc->inputs, rc->n_in, layer, rc->n_out);
        tlr_err err = { 0 };
        tlr_kfile *f = open_json(text, rc->name, &err);
        CHECK(f != NULL, "%s: %s", rc->name, err.msg);
        const tlr_layer *l = f ? layer_x(f) : NULL;
        if (l && rc->want[0]) {
            INT_EQ(l->calls[0].n_out, rc->n_out, rc->name);
            for (int k = 0; k < rc->n_out && k < l->calls[0].n_out; k++) {
                char got[128], what[128];
                out_shape(l, k, got, sizeof got);
                snprintf(what, sizeof what, "%s output %d", rc->name, k);
                STR_EQ(got, rc->want[k], what);
            }
        } else if (l) {
            OK(!l->shape_ok, rc->name);
            STR_CONTAINS(l->shape_note, rc->note, rc->name);
        }
        tlr_kfile_free(f);
        free(text);
        free(layer);
        free(in);
    }
}

/* Outputs 1 and 2 of an LSTM with return_state feed a Concatenate; a layer that takes a
 * state from a layer without return_state is refused. */
static void state_consumers(void)
{
    const char *in3[] = { "5, 3" };
    char *layer = tlr_xstrdup(
        "{\"class_name\": \"LSTM\", \"name\": \"x\", \"config\": {\"name\": \"x\", "
        "\"units\": 4, \"return_state\": true}, \"inbound_nodes\": [[[\"i0\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Concatenate\", \"name\": \"cat\", \"config\": {\"name\": "
        "\"cat\", \"axis\": -1}, \"inbound_nodes\": [[[\"x\", 0, 1, {}], [\"x\", 0, 2, {}]]]}");
    char *text = functional(in3, 1, layer, 1);
    tlr_err err = { 0 };
    tlr_kfile *f = open_json(text, "state_consumers", &err);
    CHECK(f != NULL, "state_consumers: %s", err.msg);
    if (f) {
        int i = tlr_model_find(f->model, "cat");
        char got[128] = "";
        if (i >= 0 && f->model->layers[i].shape_ok)
            tlr_shape_str(&f->model->layers[i].calls[0].out[0], got, sizeof got);
        STR_EQ(got, "(None, 8)", "Concatenate of h and c");
    }
    tlr_kfile_free(f);
    free(text);
    free(layer);

    char *no_state = tlr_xstrdup(
        "{\"class_name\": \"GRU\", \"name\": \"x\", \"config\": {\"name\": \"x\", "
        "\"units\": 4}, \"inbound_nodes\": [[[\"i0\", 0, 0, {}]]]}, "
        "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"name\": \"d\", "
        "\"units\": 2}, \"inbound_nodes\": [[[\"x\", 0, 1, {}]]]}");
    text = functional(in3, 1, no_state, 1);
    f = open_json(text, "no_state", &err);
    CHECK(f == NULL, "a GRU without return_state has no output 1");
    STR_CONTAINS(err.msg, "'x' has 1 output", "no_state message");
    tlr_kfile_free(f);
    free(text);
    free(no_state);

    /* an LSTM takes two initial states, not one */
    const char *in2[] = { "5, 3", "4" };
    char *one_state = tlr_xstrdup(
        "{\"class_name\": \"LSTM\", \"name\": \"x\", \"config\": {\"name\": \"x\", "
        "\"units\": 4}, \"inbound_nodes\": [[[\"i0\", 0, 0, {}], [\"i1\", 0, 0, {}]]]}");
    text = functional(in2, 2, one_state, 1);
    f = open_json(text, "one_state", &err);
    CHECK(f == NULL, "an LSTM with one initial state is refused");
    STR_CONTAINS(err.msg, "takes 2 initial states, called with 1", "one_state message");
    tlr_kfile_free(f);
    free(text);
    free(one_state);
}

/* The forward pass starts every recurrent layer from a zero state: a decoder LSTM fed
 * initial states is listed as not computed, never computed from zeros. */
static void initial_state_not_run(void)
{
    const char *ins[] = { "5, 3", "4", "4" };
    char *layer = tlr_xstrdup(
        "{\"class_name\": \"LSTM\", \"name\": \"x\", \"config\": {\"name\": \"x\", "
        "\"units\": 4, \"return_sequences\": true}, \"inbound_nodes\": [[[\"i0\", 0, 0, {}], "
        "[\"i1\", 0, 0, {}], [\"i2\", 0, 0, {}]]]}");
    char *text = functional(ins, 3, layer, 1);
    tlr_err err = { 0 };
    tlr_kfile *f = open_json(text, "decoder", &err);
    CHECK(f != NULL, "decoder: %s", err.msg);
    if (f) {
        int64_t s0[3] = { 1, 5, 3 }, s1[2] = { 1, 4 };
        tlr_tensor *t[3] = { tlr_tensor_new(3, s0), tlr_tensor_new(2, s1), tlr_tensor_new(2, s1) };
        const tlr_tensor *in[3] = { t[0], t[1], t[2] };
        tlr_forward_result r;
        tlr_status st = tlr_forward_run(f->model, in, 3, NULL, 0, 1, NULL, &r, &err);
        CHECK(st == TLR_OK, "decoder forward: %s", err.msg);
        if (st == TLR_OK) {
            INT_EQ(r.n_skipped, 1, "decoder: one layer not computed");
            if (r.n_skipped == 1)
                STR_CONTAINS(r.skipped[0], "initial_state", "decoder skip reason");
            OK(r.n_outputs == 1 && r.outputs[0] == NULL, "decoder: no output");
            tlr_forward_result_free(&r);
        }
        for (int i = 0; i < 3; i++)
            tlr_tensor_free(t[i]);
    }
    tlr_kfile_free(f);
    free(text);
    free(layer);
}

/* ---- Bidirectional with its own backward_layer: parameters ----------------------------------
 * Each direction builds its own cell (bidirectional.py build()): kernel (F, g*u),
 * recurrent_kernel (u, g*u) and, with use_bias, bias (g*u) or (2, g*u) for GRU reset_after;
 * g = 1 SimpleRNN, 3 GRU, 4 LSTM.  Input (None, 5, 6), F = 6. */

typedef struct {
    const char *name;
    const char *config;
    int64_t params;          /* worked out in the comment */
    const char *out;
} bidi_param_case;

static const bidi_param_case bidi_param_cases[] = {
    /* forward LSTM u=4 with bias: 6*16 + 4*16 + 16 = 176;
     * backward GRU u=3, no bias: 6*9 + 3*9 = 81;  176 + 81 = 257; concat 4 + 3 */
    { "lstm4_gru3_nobias",
      "\"merge_mode\": \"concat\", \"layer\": "
      RNN_CFG("LSTM", "\"units\": 4, \"return_sequences\": true, \"use_bias\": true")
      ", \"backward_layer\": "
      RNN_CFG("GRU", "\"units\": 3, \"return_sequences\": true, \"use_bias\": false, "
              "\"reset_after\": true, \"go_backwards\": true"),
      257, "(None, 5, 7)" },
    /* forward SimpleRNN u=3, no bias: 6*3 + 3*3 = 27;
     * backward SimpleRNN u=5 with bias: 6*5 + 5*5 + 5 = 60;  27 + 60 = 87 */
    { "simple3_nobias_simple5",
      "\"merge_mode\": \"concat\", \"layer\": "
      RNN_CFG("SimpleRNN", "\"units\": 3, \"use_bias\": false") ", \"backward_layer\": "
      RNN_CFG("SimpleRNN", "\"units\": 5, \"use_bias\": true, \"go_backwards\": true"),
      87, "(None, 8)" },
    /* forward GRU u=2 reset_after: 6*6 + 2*6 + 2*6 = 60;
     * backward GRU u=2, reset_after False: 6*6 + 2*6 + 6 = 54;  60 + 54 = 114; sum keeps 2 */
    { "gru_after_gru_before",
      "\"merge_mode\": \"sum\", \"layer\": "
      RNN_CFG("GRU", "\"units\": 2, \"reset_after\": true") ", \"backward_layer\": "
      RNN_CFG("GRU", "\"units\": 2, \"reset_after\": false, \"go_backwards\": true"),
      114, "(None, 2)" },
    /* no backward_layer: twice the forward LSTM u=2: 2 * (6*8 + 2*8 + 8) = 2 * 72 = 144 */
    { "implicit_backward",
      "\"merge_mode\": \"ave\", \"layer\": " RNN_CFG("LSTM", "\"units\": 2"),
      144, "(None, 2)" },
};

static void bidirectional_params(void)
{
    const char *in[] = { "5, 6" };
    for (size_t c = 0; c < sizeof bidi_param_cases / sizeof bidi_param_cases[0]; c++) {
        const bidi_param_case *bc = &bidi_param_cases[c];
        char *layer = tlr_xasprintf("{\"class_name\": \"Bidirectional\", \"name\": \"x\", "
                                    "\"config\": {\"name\": \"x\", %s}, \"inbound_nodes\": "
                                    "[[[\"i0\", 0, 0, {}]]]}", bc->config);
        char *text = functional(in, 1, layer, 1);
        tlr_err err = { 0 };
        tlr_kfile *f = open_json(text, bc->name, &err);
        CHECK(f != NULL, "%s: %s", bc->name, err.msg);
        const tlr_layer *l = f ? layer_x(f) : NULL;
        if (l) {
            int64_t n = 0;
            for (int w = 0; w < l->n_weights; w++) {
                int64_t e = 1;
                for (int d = 0; d < l->weights[w].ndim; d++)
                    e *= l->weights[w].shape[d];
                n += e;
            }
            INT_EQ(n, bc->params, bc->name);
            char got[128];
            out_shape(l, 0, got, sizeof got);
            STR_EQ(got, bc->out, bc->name);
        }
        tlr_kfile_free(f);
        free(text);
        free(layer);
    }
}

/* The forward pass of the stored model against tests/gen/bidi_backward_ref.py (numpy, float64):
 * the 4 LSTM columns, then the 3 GRU columns flipped back in time. */
static void bidirectional_stored_values(const tlr_model *m)
{
    char xp[1024], yp[1024];
    snprintf(xp, sizeof xp, "%s/tests/ref/rnn/bidi_backward_model/x.npy", tlr_t_root());
    snprintf(yp, sizeof yp, "%s/tests/ref/rnn/bidi_backward_model/out.npy", tlr_t_root());
    tlr_err err = { 0 };
    int xn, yn;
    int64_t xs[8], ys[8];
    float *x = tlr_npy_read(xp, &xn, xs, &err), *want = tlr_npy_read(yp, &yn, ys, &err);
    CHECK(x && want && xn == 3 && yn == 3, "bidi_backward references: %s", err.msg);
    if (x && want && xn == 3 && yn == 3) {
        tlr_tensor *in = tlr_tensor_new(3, xs);
        memcpy(in->data, x, (size_t)tlr_tensor_numel(in) * sizeof(float));
        const tlr_tensor *ins = in;
        tlr_forward_result r;
        tlr_forward_opts fo = { (int64_t)1 << 30, 0 };
        tlr_status st = tlr_forward_run(m, &ins, 1, NULL, 0, 1, &fo, &r, &err);
        CHECK(st == TLR_OK, "bidi_backward forward: %s", err.msg);
        if (st == TLR_OK) {
            CHECK(r.outputs[0] != NULL, "bidi_backward: the output was computed (%s)",
                  r.n_skipped ? r.skipped[0] : "");
            if (r.outputs[0] && tlr_tensor_numel(r.outputs[0]) == ys[0] * ys[1] * ys[2])
                FLOATS_NEAR(r.outputs[0]->data, want, ys[0] * ys[1] * ys[2], 1e-5,
                            "bidi_backward output vs numpy");
            tlr_forward_result_free(&r);
        }
        tlr_tensor_free(in);
    }
    free(x);
    free(want);
}

/* The same rule through a stored file (tests/gen/make_bidi_backward.py): the backward GRU's
 * weights bind to shapes of their own, and the layer counts 176 + 81 = 257 parameters. */
static void bidirectional_stored(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/rnn/bidi_backward.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "bidi_backward.h5: %s", err.msg);
    if (!f)
        return;
    CHECK(tlr_kfile_load_weights(f, &err) == TLR_OK, "bidi_backward.h5 weights: %s", err.msg);
    int i = tlr_model_find(f->model, "bidirectional");
    const tlr_layer *l = i >= 0 ? &f->model->layers[i] : NULL;
    CHECK(l != NULL, "bidi_backward.h5: no layer 'bidirectional'");
    if (l) {
        INT_EQ(l->params, 257, "stored parameters");
        INT_EQ(l->params_trainable, 257, "trainable parameters");
        static const int64_t want[5][2] = { { 6, 16 }, { 4, 16 }, { 16, 0 }, { 6, 9 }, { 3, 9 } };
        INT_EQ(l->n_weights, 5, "weights");
        for (int w = 0; w < l->n_weights && w < 5; w++) {
            const tlr_weight *wt = &l->weights[w];
            int nd = want[w][1] ? 2 : 1;
            int ok = wt->stored_ndim == nd && wt->data != NULL;
            for (int d = 0; ok && d < nd; d++)
                ok = wt->stored_shape[d] == want[w][d];
            CHECK(ok, "weight %d (%s) is not bound as (%lld, %lld)", w,
                  wt->stored_name ? wt->stored_name : "?", (long long)want[w][0],
                  (long long)want[w][1]);
        }
        char got[128] = "";
        out_shape(l, 0, got, sizeof got);
        STR_EQ(got, "(None, 5, 7)", "bidi_backward.h5 output");
        bidirectional_stored_values(f->model);
    }
    tlr_kfile_free(f);
}

/* ---- RandomCrop and Resizing -----------------------------------------------------------------
 * Output shape: keras/src/layers/preprocessing/image_preprocessing/resizing.py and
 * random_crop.py compute_output_shape set the height and width axes, which are 2 and 3 for
 * data_format channels_first (Keras 3), else 1 and 2; tf.keras 2.9 has channels_last only.
 * Values at inference: Resizing is tf.image.resize (half-pixel centres); RandomCrop is
 * smart_resize (centred window of the target's aspect ratio, then bilinear resize). */

/* A Keras 3 Functional (model.to_json) of input i0 with batch shape 'input' and layer "x". */
static char *functional_k3(const char *input, const char *cls, const char *config)
{
    return tlr_xasprintf(
        "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": "
        "\"m\", \"trainable\": true, \"layers\": [{\"module\": \"keras.layers\", "
        "\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %s], \"dtype\": "
        "\"float32\", \"sparse\": false, \"name\": \"i0\"}, \"registered_name\": null, "
        "\"name\": \"i0\", \"inbound_nodes\": []}, {\"module\": \"keras.layers\", "
        "\"class_name\": \"%s\", \"config\": {\"name\": \"x\", \"trainable\": true, "
        "\"dtype\": \"float32\", %s}, \"registered_name\": null, \"name\": \"x\", "
        "\"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": "
        "{\"shape\": [null, %s], \"dtype\": \"float32\", \"keras_history\": [\"i0\", 0, 0]}}], "
        "\"kwargs\": {}}]}], \"input_layers\": [[\"i0\", 0, 0]], \"output_layers\": [[\"x\", 0, "
        "0]]}, \"registered_name\": \"Functional\"}", input, cls, config, input);
}

#define K3_RESIZING(h, w, interp, crop, fmt) "\"height\": " h ", \"width\": " w ", " \
    "\"interpolation\": \"" interp "\", \"crop_to_aspect_ratio\": " crop ", " \
    "\"pad_to_aspect_ratio\": false, \"fill_mode\": \"constant\", \"fill_value\": 0.0, " \
    "\"data_format\": \"" fmt "\""
#define K3_RANDOM_CROP(h, w, fmt) "\"height\": " h ", \"width\": " w ", \"seed\": 7, " \
    "\"data_format\": \"" fmt "\""

typedef struct {
    const char *name;
    int keras3;
    const char *input;
    const char *cls, *config;
    const char *want;        /* NULL: refused, with 'msg' in the message */
    const char *msg;
} image_case;

static const image_case image_cases[] = {
    { "tf29_random_crop", 0, "10, 12, 3", "RandomCrop", "\"height\": 5, \"width\": 7, "
      "\"seed\": null", "(None, 5, 7, 3)", NULL },
    { "tf29_random_crop_upsize", 0, "4, 4, 3", "RandomCrop", "\"height\": 6, \"width\": 9",
      "(None, 6, 9, 3)", NULL },
    { "tf29_random_crop_none", 0, "null, null, 3", "RandomCrop", "\"height\": 5, \"width\": 7",
      "(None, 5, 7, 3)", NULL },
    { "k3_random_crop_cf", 1, "3, 10, 12", "RandomCrop", K3_RANDOM_CROP("5", "7", "channels_first"),
      "(None, 3, 5, 7)", NULL },
    { "k3_random_crop_cl", 1, "10, 12, 3", "RandomCrop", K3_RANDOM_CROP("5", "7", "channels_last"),
      "(None, 5, 7, 3)", NULL },
    { "k3_resizing_cf", 1, "3, 8, 12", "Resizing",
      K3_RESIZING("4", "6", "bilinear", "false", "channels_first"), "(None, 3, 4, 6)", NULL },
    { "k3_resizing_cl", 1, "8, 12, 3", "Resizing",
      K3_RESIZING("4", "6", "bilinear", "false", "channels_last"), "(None, 4, 6, 3)", NULL },
    { "random_crop_no_height", 0, "10, 12, 3", "RandomCrop", "\"width\": 7", NULL, "height" },
    { "random_crop_3d", 0, "10, 12", "RandomCrop", "\"height\": 5, \"width\": 7", NULL,
      "expects a 4D input" },
};

static void image_shapes(void)
{
    for (size_t c = 0; c < sizeof image_cases / sizeof image_cases[0]; c++) {
        const image_case *ic = &image_cases[c];
        char *text;
        if (ic->keras3) {
            text = functional_k3(ic->input, ic->cls, ic->config);
        } else {
            const char *ins[] = { ic->input };
            char *layer = tlr_xasprintf("{\"class_name\": \"%s\", \"name\": \"x\", \"config\": "
                                        "{\"name\": \"x\", %s}, \"inbound_nodes\": [[[\"i0\", 0, 0, "
                                        "{}]]]}", ic->cls, ic->config);
            text = functional(ins, 1, layer, 1);
            free(layer);
        }
        tlr_err err = { 0 };
        tlr_kfile *f = open_json(text, ic->name, &err);
        if (ic->want) {
            CHECK(f != NULL, "%s: %s", ic->name, err.msg);
            char got[128] = "";
            if (f)
                out_shape(layer_x(f), 0, got, sizeof got);
            STR_EQ(got, ic->want, ic->name);
            if (f)
                INT_EQ(layer_x(f)->n_weights, 0, ic->name);
        } else {
            CHECK(f == NULL, "%s must be refused", ic->name);
            STR_CONTAINS(err.msg, "layer 'x'", ic->name);
            STR_CONTAINS(err.msg, ic->msg, ic->name);
        }
        tlr_kfile_free(f);
        free(text);
    }
}

/* Runs the one-layer model in 'text' on 'x' (shape 'shape') and compares its output with
 * 'want' (shape 'wshape'). */
static void run_image_case(const char *name, const char *text, int nd, const int64_t *shape,
                           const float *x, const int64_t *wshape, const float *want)
{
    tlr_err err = { 0 };
    tlr_kfile *f = open_json(text, name, &err);
    CHECK(f != NULL, "%s: %s", name, err.msg);
    if (!f)
        return;
    tlr_tensor *t = tlr_tensor_new(nd, shape);
    memcpy(t->data, x, (size_t)tlr_tensor_numel(t) * sizeof *x);
    const tlr_tensor *in = t;
    tlr_forward_result r;
    tlr_status st = tlr_forward_run(f->model, &in, 1, NULL, 0, 1, NULL, &r, &err);
    CHECK(st == TLR_OK, "%s: forward: %s", name, err.msg);
    if (st == TLR_OK) {
        const tlr_tensor *y = r.n_outputs ? r.outputs[0] : NULL;
        CHECK(y != NULL, "%s: no output (%s)", name, r.n_skipped ? r.skipped[0] : "");
        int same = y && y->ndim == nd;
        for (int d = 0; same && d < nd; d++)
            same = y->shape[d] == wshape[d];
        CHECK(same, "%s: output shape differs", name);
        if (same)
            FLOATS_NEAR(y->data, want, (size_t)tlr_tensor_numel(y), 1e-6, name);
        tlr_forward_result_free(&r);
    }
    tlr_tensor_free(t);
    tlr_kfile_free(f);
}

static void image_values(void)
{
    /* Resizing nearest, channels_first, (1, 2, 2, 4) -> (1, 2, 2, 2): TF's nearest picks
     * source column floor((x + 0.5) * 4 / 2) = 1, 3 and row floor((y + 0.5) * 2 / 2) = y. */
    static const int64_t s1[4] = { 1, 2, 2, 4 }, w1s[4] = { 1, 2, 2, 2 };
    static const float x1[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17 };
    static const float w1[8] = { 1, 3, 5, 7, 11, 13, 15, 17 };
    char *t1 = functional_k3("2, 2, 4", "Resizing",
                             K3_RESIZING("2", "2", "nearest", "false", "channels_first"));
    run_image_case("k3_resizing_cf_nearest", t1, 4, s1, x1, w1s, w1);
    free(t1);

    /* Resizing bilinear, channels_first, 4x4 -> 2x2: source (2x + 0.5, 2y + 0.5), the mean of
     * each 2x2 block.  Channel 0 is 0..15 row by row, channel 1 its negative. */
    static const int64_t s2[4] = { 1, 2, 4, 4 }, w2s[4] = { 1, 2, 2, 2 };
    float x2[32];
    for (int i = 0; i < 16; i++) {
        x2[i] = (float)i;
        x2[16 + i] = -(float)i;
    }
    static const float w2[8] = { 2.5f, 4.5f, 10.5f, 12.5f, -2.5f, -4.5f, -10.5f, -12.5f };
    char *t2 = functional_k3("2, 4, 4", "Resizing",
                             K3_RESIZING("2", "2", "bilinear", "false", "channels_first"));
    run_image_case("k3_resizing_cf_bilinear", t2, 4, s2, x2, w2s, w2);
    free(t2);

    /* RandomCrop 4x6 -> 2x2 (value 10 y + x): the window of aspect 1 is int(6*2/2) = 6 -> 4
     * rows and int(4*2/2) = 4 columns, left = (6 - 4) / 2 = 1, so columns 1..4; then the
     * 2x2 block means: (1+2+11+12)/4 = 6.5, 8.5, 26.5, 28.5. */
    static const int64_t s3[4] = { 1, 4, 6, 1 }, w3s[4] = { 1, 2, 2, 1 };
    float x3[24];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
            x3[y * 6 + x] = (float)(10 * y + x);
    static const float w3[4] = { 6.5f, 8.5f, 26.5f, 28.5f };
    const char *in3[] = { "4, 6, 1" };
    char *l3 = tlr_xstrdup("{\"class_name\": \"RandomCrop\", \"name\": \"x\", \"config\": "
                           "{\"name\": \"x\", \"height\": 2, \"width\": 2, \"seed\": null}, "
                           "\"inbound_nodes\": [[[\"i0\", 0, 0, {}]]]}");
    char *t3 = functional(in3, 1, l3, 1);
    run_image_case("tf29_random_crop_values", t3, 4, s3, x3, w3s, w3);
    free(t3);
    free(l3);

    /* RandomCrop 3x5 -> 2x3, an upsizing window: int(5*2/3) = 3 rows, int(3*3/2) = 4
     * columns, top 0, left int(1/2) = 0.  Bilinear from 3x4 to 2x3 samples rows
     * (y + 0.5) * 1.5 - 0.5 = 0.25, 1.75 and columns (x + 0.5) * 4/3 - 0.5 = 1/6, 1.5, 17/6;
     * on 10 y + x that is exact: 10 * row + column. */
    static const int64_t s4[4] = { 1, 3, 5, 1 }, w4s[4] = { 1, 2, 3, 1 };
    float x4[15];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            x4[y * 5 + x] = (float)(10 * y + x);
    static const float w4[6] = { 2.5f + 1.0f / 6, 4.0f, 2.5f + 17.0f / 6,
                                 17.5f + 1.0f / 6, 19.0f, 17.5f + 17.0f / 6 };
    const char *in4[] = { "3, 5, 1" };
    char *l4 = tlr_xstrdup("{\"class_name\": \"RandomCrop\", \"name\": \"x\", \"config\": "
                           "{\"name\": \"x\", \"height\": 2, \"width\": 3}, \"inbound_nodes\": "
                           "[[[\"i0\", 0, 0, {}]]]}");
    char *t4 = functional(in4, 1, l4, 1);
    run_image_case("tf29_random_crop_upsize_values", t4, 4, s4, x4, w4s, w4);
    free(t4);
    free(l4);

    /* Keras 3 RandomCrop channels_first: case 3 on two channels, the second negated. */
    static const int64_t s5[4] = { 1, 2, 4, 6 }, w5s[4] = { 1, 2, 2, 2 };
    float x5[48];
    for (int i = 0; i < 24; i++) {
        x5[i] = x3[i];
        x5[24 + i] = -x3[i];
    }
    static const float w5[8] = { 6.5f, 8.5f, 26.5f, 28.5f, -6.5f, -8.5f, -26.5f, -28.5f };
    char *t5 = functional_k3("2, 4, 6", "RandomCrop", K3_RANDOM_CROP("2", "2", "channels_first"));
    run_image_case("k3_random_crop_cf_values", t5, 4, s5, x5, w5s, w5);
    free(t5);
}

void test_shape(void)
{
    merges();
    merge_op();
    recurrent_outputs();
    state_consumers();
    initial_state_not_run();
    bidirectional_params();
    bidirectional_stored();
    image_shapes();
    image_values();
}
