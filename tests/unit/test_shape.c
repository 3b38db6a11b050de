/* test_shape.c - Keras's output-shape and parameter rules for the layers whose rules are
 * easy to get wrong: broadcasting merges, recurrent layers with return_state, Bidirectional
 * with its own backward_layer, RandomCrop, Resizing channels_first.
 *
 * Each case is an architecture JSON written here (tf.keras 2.9 or Keras 3 style) and opened
 * with tlr_kfile_open_buffer; the expectations are worked out by hand from the Keras sources
 * cited next to each group, never taken from tlreport's output. */
#include <stdlib.h>

#include "buf.h"
#include "harness.h"
#include "kfile.h"
#include "shape.h"
#include "xalloc.h"

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

void test_shape(void)
{
    merges();
    merge_op();
}
