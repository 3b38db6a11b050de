/* test_ops_rnn.c - SimpleRNN, GRU, LSTM, Bidirectional and Embedding (ops_rnn.c).
 *
 * Two kinds of expectations, neither produced by tlreport:
 *   - worked examples (one sample, T = 2, F = 2, u = 2): SimpleRNN with a linear activation
 *     by hand in exact binary fractions; GRU and LSTM step by step with scalar Python math
 *     (tests/gen/rnn_hand_values.py prints every intermediate value quoted below);
 *   - randomized cases against tests/gen/rnn_ref.py, an independent float64 NumPy
 *     implementation written from the Keras layer code (its GRU reset_after, LSTM and
 *     SimpleRNN were also checked against torch.nn.GRU/LSTM/RNN), stored under
 *     tests/ref/rnn/<case>/ and compared at max relative error 1e-5. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "engine/ops.h"
#include "io/npy.h"

#define LEN(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static tlr_act_params act_of(tlr_act kind)
{
    tlr_act_params a = {.kind = kind, .alpha = 0.0f, .max_value = -1.0f, .threshold = 0.0f};
    return a;
}

static tlr_rnn_params params(tlr_rnn_kind kind, int64_t units, tlr_act act, tlr_act ract,
                             int reset_after, int go_backwards, int return_sequences)
{
    tlr_rnn_params p = {
        .kind = kind, .units = units, .act = act_of(act), .recurrent_act = act_of(ract),
        .reset_after = reset_after, .go_backwards = go_backwards,
        .return_sequences = return_sequences,
    };
    return p;
}

/* ---- worked examples ------------------------------------------------------------------ */

/* SimpleRNN, linear activation, x = [[1, 2], [3, -1]] (T, F),
 * W = [[1, 0.5], [0, 1]], U = [[0.5, 0], [1, -1]], b = [0.25, -0.5]:
 *   forward   t0: x0 W + b = [1, 2.5] + b = [1.25, 2]                      -> h = [1.25, 2]
 *             t1: x1 W + b = [3, 0.5] + b = [3.25, 0]; h U = [2.625, -2]   -> h = [5.875, -2]
 *   backwards t1 first: h = [3.25, 0];
 *             then t0: [1.25, 2] + [3.25, 0] U = [1.25, 2] + [1.625, 0]    -> h = [2.875, 2] */
static const float S_X[4] = {1, 2, 3, -1};
static const float S_W[4] = {1, 0.5f, 0, 1};
static const float S_U[4] = {0.5f, 0, 1, -1};
static const float S_B[2] = {0.25f, -0.5f};

static void simple_rnn_by_hand(void)
{
    float out[4];
    tlr_rnn_params p = params(TLR_RNN_SIMPLE, 2, TLR_ACT_LINEAR, TLR_ACT_SIGMOID, 0, 0, 0);
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, S_B, out);
    static const float last[2] = {5.875f, -2};
    FLOATS_NEAR(out, last, 2, 1e-7, "SimpleRNN last state");

    p.return_sequences = 1;
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, S_B, out);
    static const float seq[4] = {1.25f, 2, 5.875f, -2};
    FLOATS_NEAR(out, seq, 4, 1e-7, "SimpleRNN sequence");

    /* go_backwards: the sequence comes back in processing order (Keras does not flip it). */
    p.go_backwards = 1;
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, S_B, out);
    static const float back[4] = {3.25f, 0, 2.875f, 2};
    FLOATS_NEAR(out, back, 4, 1e-7, "SimpleRNN go_backwards sequence");

    p.return_sequences = 0;
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, S_B, out);
    FLOATS_NEAR(out, back + 2, 2, 1e-7, "SimpleRNN go_backwards last state");

    /* No bias: t0 h = [1, 2.5]; t1 [3, 0.5] + [1, 2.5] U = [3, 0.5] + [3, -2.5] */
    p.go_backwards = 0;
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, NULL, out);
    static const float nobias[2] = {6, -2};
    FLOATS_NEAR(out, nobias, 2, 1e-7, "SimpleRNN without bias");

    /* tanh on the same numbers: t0 h = tanh([1.25, 2]) = [0.8482836400, 0.9640275801];
     * t1 tanh([3.25, 0] + [0.4241418200 + 0.9640275801, -0.9640275801])
     *    = tanh([4.638169400, -0.9640275801]) = [0.9998127911, -0.7460679984] */
    p.act = act_of(TLR_ACT_TANH);
    tlr_op_rnn(&p, 1, 2, 2, S_X, S_W, S_U, S_B, out);
    static const float tanh_last[2] = {0.9998127911f, -0.7460679984f};
    FLOATS_NEAR(out, tanh_last, 2, 1e-6, "SimpleRNN tanh last state");

    /* Two samples in a batch do not mix: the second is the first again. */
    float x2[8], out2[4];
    memcpy(x2, S_X, sizeof S_X);
    memcpy(x2 + 4, S_X, sizeof S_X);
    tlr_op_rnn(&p, 2, 2, 2, x2, S_W, S_U, S_B, out2);
    FLOATS_NEAR(out2, tanh_last, 2, 1e-6, "SimpleRNN batch sample 0");
    FLOATS_NEAR(out2 + 2, tanh_last, 2, 1e-6, "SimpleRNN batch sample 1");
}

/* GRU, tanh / sigmoid, x = [[1, 0], [0, 1]]; weights as in rnn_hand_values.py:
 *   W (2, 6) = [[0.5, -0.5, 0.25, 0, 1, -1], [0, 0.5, -0.25, 0.5, 0.5, 0.5]]   z | r | h
 *   U (2, 6) = [[1, 0, 0.5, -0.5, 1, 0.5], [0, 1, 0.5, 0.5, -1, 1]]
 *   input bias [0.1, -0.1, 0.2, 0, 0, 0.3]; recurrent bias [0, 0.2, -0.2, 0.1, 0.5, -0.5]
 * t0 (h = 0): x W + b = [0.6, -0.6, 0.45, 0, 1, -0.7]
 *   reset_after: z = sig([0.6, -0.4]) = [0.6456563062, 0.4013123399],
 *     r = sig([0.25, 0.1]) = [0.5621765009, 0.5249791875],
 *     h~ = tanh([1 + r0 * 0.5, -0.7 + r1 * -0.5]) = [0.8567745918, -0.7453852993],
 *     h = (1 - z) * h~ = [0.3035926736, -0.4462529807]
 *   reset before: z = sig([0.6, -0.6]), r = sig([0.45, 0]), h~ = tanh([1, -0.7]),
 *     h = [0.2698660864, -0.3902138666]
 * t1: reset_after h = [0.4911848049, -0.08159071782] (z = [0.5995505317, 0.5383612189],
 *     r = [0.4203516135, 0.5560329415], h~ = [0.7720466138, 0.3436768905]);
 *     reset before h = [0.4396263068, 0.08907948487] (z = [0.5914266198, 0.5024465138],
 *     r = [0.4724843546, 0.5423880185], h~ = [0.6853611447, 0.5730862906]) */
static const float G_X[4] = {1, 0, 0, 1};
static const float G_W[12] = {0.5f, -0.5f, 0.25f, 0, 1, -1, 0, 0.5f, -0.25f, 0.5f, 0.5f, 0.5f};
static const float G_U[12] = {1, 0, 0.5f, -0.5f, 1, 0.5f, 0, 1, 0.5f, 0.5f, -1, 1};
static const float G_B2[12] = {0.1f, -0.1f, 0.2f, 0, 0, 0.3f,     /* input bias */
                               0, 0.2f, -0.2f, 0.1f, 0.5f, -0.5f}; /* recurrent bias */

static void gru_by_hand(void)
{
    float out[4];
    tlr_rnn_params p = params(TLR_RNN_GRU, 2, TLR_ACT_TANH, TLR_ACT_SIGMOID, 1, 0, 1);
    tlr_op_rnn(&p, 1, 2, 2, G_X, G_W, G_U, G_B2, out);
    static const float after[4] = {0.3035926736f, -0.4462529807f, 0.4911848049f,
                                   -0.08159071782f};
    FLOATS_NEAR(out, after, 4, 1e-6, "GRU reset_after sequence");

    /* reset_after False reads only the first 3u bias values (the input bias). */
    p.reset_after = 0;
    tlr_op_rnn(&p, 1, 2, 2, G_X, G_W, G_U, G_B2, out);
    static const float before[4] = {0.2698660864f, -0.3902138666f, 0.4396263068f,
                                    0.08907948487f};
    FLOATS_NEAR(out, before, 4, 1e-6, "GRU reset before sequence");

    p.return_sequences = 0;
    tlr_op_rnn(&p, 1, 2, 2, G_X, G_W, G_U, G_B2, out);
    FLOATS_NEAR(out, before + 2, 2, 1e-6, "GRU reset before last state");
}

/* LSTM, tanh / sigmoid, x as for the GRU; gates i | f | c | o:
 *   W (2, 8) = [[0.5, 0, 1, -1, 0.25, 0.5, 0, 1], [0, 0.5, 0.5, 0.5, -0.5, 1, 0.5, 0]]
 *   U (2, 8) = [[0.5, 0, 0, 1, 1, 0, -0.5, 0.5], [0, 0.5, 1, 0, 0, 1, 0.5, -0.5]]
 *   b = [0, 0.1, 1, 1, 0, -0.1, 0.2, 0]
 * t0: pre = [0.5, 0.1, 2, 0, 0.25, 0.4, 0.2, 1]; i = [0.6224593312, 0.5249791875],
 *   f = [0.880797078, 0.5], g = [0.2449186624, 0.3799489623], o = [0.5498339973, 0.7310585786]
 *   c = i * g = [0.1524519068, 0.1994652975], h = o * tanh(c) = [0.08317982727, 0.1439172108]
 * t1: c = [-0.07345775763, 0.6814245394], h = [-0.04948664634, 0.2917247604] */
static const float L_W[16] = {0.5f, 0, 1, -1, 0.25f, 0.5f, 0, 1,
                              0, 0.5f, 0.5f, 0.5f, -0.5f, 1, 0.5f, 0};
static const float L_U[16] = {0.5f, 0, 0, 1, 1, 0, -0.5f, 0.5f,
                              0, 0.5f, 1, 0, 0, 1, 0.5f, -0.5f};
static const float L_B[8] = {0, 0.1f, 1, 1, 0, -0.1f, 0.2f, 0};

static void lstm_by_hand(void)
{
    float out[4];
    tlr_rnn_params p = params(TLR_RNN_LSTM, 2, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 1);
    tlr_op_rnn(&p, 1, 2, 2, G_X, L_W, L_U, L_B, out);
    static const float seq[4] = {0.08317982727f, 0.1439172108f, -0.04948664634f,
                                 0.2917247604f};
    FLOATS_NEAR(out, seq, 4, 1e-6, "LSTM sequence");
}

/* Bidirectional over the SimpleRNN example (both directions with its weights):
 *   y = [[1.25, 2], [5.875, -2]];  backward layer (go_backwards) gives [[3.25, 0], [2.875, 2]]
 *   in processing order, flipped back in time: y_rev = [[2.875, 2], [3.25, 0]]. */
static void bidirectional_by_hand(void)
{
    tlr_rnn_params fw = params(TLR_RNN_SIMPLE, 2, TLR_ACT_LINEAR, TLR_ACT_SIGMOID, 0, 0, 1);
    tlr_rnn_weights w = {S_W, S_U, S_B};
    float out[8];
    tlr_op_bidirectional(&fw, NULL, TLR_BIDI_CONCAT, 1, 2, 2, S_X, &w, &w, out);
    static const float concat[8] = {1.25f, 2, 2.875f, 2, 5.875f, -2, 3.25f, 0};
    FLOATS_NEAR(out, concat, 8, 1e-7, "Bidirectional concat sequence");

    tlr_op_bidirectional(&fw, NULL, TLR_BIDI_SUM, 1, 2, 2, S_X, &w, &w, out);
    static const float sum[4] = {4.125f, 4, 9.125f, -2};
    FLOATS_NEAR(out, sum, 4, 1e-7, "Bidirectional sum");

    tlr_op_bidirectional(&fw, NULL, TLR_BIDI_MUL, 1, 2, 2, S_X, &w, &w, out);
    static const float mul[4] = {3.59375f, 4, 19.09375f, 0};
    FLOATS_NEAR(out, mul, 4, 1e-7, "Bidirectional mul");

    tlr_op_bidirectional(&fw, NULL, TLR_BIDI_AVE, 1, 2, 2, S_X, &w, &w, out);
    static const float ave[4] = {2.0625f, 2, 4.5625f, -1};
    FLOATS_NEAR(out, ave, 4, 1e-7, "Bidirectional ave");

    /* Last states: [5.875, -2] and the backward layer's [2.875, 2]. */
    fw.return_sequences = 0;
    tlr_op_bidirectional(&fw, NULL, TLR_BIDI_CONCAT, 1, 2, 2, S_X, &w, &w, out);
    static const float last[4] = {5.875f, -2, 2.875f, 2};
    FLOATS_NEAR(out, last, 4, 1e-7, "Bidirectional concat last states");

    /* A given backward layer (Keras 3 stores one) is used as it is: here it runs forward
     * too, so both halves are the forward result. */
    tlr_rnn_params bw = fw;
    tlr_op_bidirectional(&fw, &bw, TLR_BIDI_CONCAT, 1, 2, 2, S_X, &w, &w, out);
    static const float same[4] = {5.875f, -2, 5.875f, -2};
    FLOATS_NEAR(out, same, 4, 1e-7, "Bidirectional with a given backward layer");
}

static void empty_sequence(void)
{
    /* No time steps: the last state is the zero initial state. */
    float out[2] = {7, 7};
    tlr_rnn_params p = params(TLR_RNN_LSTM, 2, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 0);
    tlr_op_rnn(&p, 1, 0, 2, S_X, L_W, L_U, L_B, out);
    static const float zero[2] = {0, 0};
    FLOATS_NEAR(out, zero, 2, 0.0, "T = 0 gives the zero state");
    INT_EQ(tlr_rnn_gates(TLR_RNN_SIMPLE) + 10 * tlr_rnn_gates(TLR_RNN_GRU) +
               100 * tlr_rnn_gates(TLR_RNN_LSTM), 431, "gates per kind");
}

/* ---- Embedding ------------------------------------------------------------------------ */

static void embedding_by_hand(void)
{
    static const float table[6] = {1, 2, 3, 4, 5, 6}; /* (3, 2) */
    /* int32 casting truncates toward zero: 0.9 -> 0, -0.5 -> 0, 2.99 -> 2 */
    static const float ids[4] = {2, 0.9f, -0.5f, 2.99f};
    float out[16];
    int bad = 99;
    tlr_op_embedding(ids, 4, table, 3, 2, out, &bad);
    static const float want[8] = {5, 6, 1, 2, 1, 2, 5, 6};
    FLOATS_NEAR(out, want, 8, 0.0, "Embedding rows");
    INT_EQ(bad, -1, "Embedding: all ids valid");

    /* Out of range (3, -1, 1e10, inf, NaN) gives zero rows; the first bad position is 1. */
    const float nan = NAN, inf = INFINITY;
    const float ids2[8] = {1, 3, -1, 1e10f, inf, nan, -inf, 0};
    for (int i = 0; i < 16; i++)
        out[i] = 42;
    tlr_op_embedding(ids2, 8, table, 3, 2, out, &bad);
    static const float want2[16] = {3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2};
    FLOATS_NEAR(out, want2, 16, 0.0, "Embedding: bad ids give zero rows");
    INT_EQ(bad, 1, "Embedding: first bad position");

    tlr_op_embedding(ids, 4, table, 3, 2, out, NULL);   /* bad_index may be NULL */
    FLOATS_NEAR(out, want, 8, 0.0, "Embedding without bad_index");
}

/* ---- randomized cases against rnn_ref.py --------------------------------------------- */

#define REF "tests/ref/rnn"

typedef struct {
    const char *name;
    tlr_rnn_kind kind;
    int units;
    tlr_act act, ract;
    int reset_after, go_backwards, return_sequences, use_bias;
    /* Bidirectional: 0 none, 1 backward derived from the forward layer, 2 given below */
    int bidi;
    tlr_bidi_merge merge;
    int bw_units;
    tlr_act bw_act;
} ref_case;

/* The same table as CASES in tests/gen/rnn_ref.py. */
static const ref_case CASES[] = {
    {"simple_last", TLR_RNN_SIMPLE, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 0, 1, 0, 0, 0, 0},
    {"simple_seq_back_relu", TLR_RNN_SIMPLE, 4, TLR_ACT_RELU, TLR_ACT_SIGMOID, 0, 1, 1, 1, 0,
     0, 0, 0},
    {"gru_after_seq", TLR_RNN_GRU, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 1, 0, 1, 1, 0, 0, 0, 0},
    {"gru_before_last_hard", TLR_RNN_GRU, 4, TLR_ACT_TANH, TLR_ACT_HARD_SIGMOID, 0, 0, 0, 1, 0,
     0, 0, 0},
    {"gru_before_seq_back_nobias", TLR_RNN_GRU, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 1, 1, 0,
     0, 0, 0, 0},
    {"gru_after_last_nobias", TLR_RNN_GRU, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 1, 0, 0, 0, 0, 0,
     0, 0},
    {"lstm_last", TLR_RNN_LSTM, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 0, 1, 0, 0, 0, 0},
    {"lstm_seq_back_hard", TLR_RNN_LSTM, 4, TLR_ACT_TANH, TLR_ACT_HARD_SIGMOID, 0, 1, 1, 1, 0,
     0, 0, 0},
    {"lstm_big", TLR_RNN_LSTM, 37, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 0, 1, 0, 0, 0, 0},
    {"gru_big", TLR_RNN_GRU, 33, TLR_ACT_TANH, TLR_ACT_SIGMOID, 1, 0, 1, 1, 0, 0, 0, 0},
    {"bidi_lstm_concat_seq", TLR_RNN_LSTM, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 1, 1, 1,
     TLR_BIDI_CONCAT, 0, 0},
    {"bidi_gru_sum_last", TLR_RNN_GRU, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 1, 0, 0, 1, 1,
     TLR_BIDI_SUM, 0, 0},
    {"bidi_simple_ave_seq", TLR_RNN_SIMPLE, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 1, 1, 1,
     TLR_BIDI_AVE, 0, 0},
    {"bidi_simple_mul_last", TLR_RNN_SIMPLE, 4, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 0, 1, 1,
     TLR_BIDI_MUL, 0, 0},
    {"bidi_lstm_given_backward", TLR_RNN_LSTM, 3, TLR_ACT_TANH, TLR_ACT_SIGMOID, 0, 0, 1, 1, 2,
     TLR_BIDI_CONCAT, 5, TLR_ACT_RELU},
};

typedef struct {
    float *data;
    int ndim;
    int64_t shape[TLR_NPY_MAX_DIMS];
    int64_t numel;
} array;

/* Loads <REF>/<case>/<name>.npy; data NULL (and a failure counted when 'required') if
 * missing. */
static array load(const char *cas, const char *name, int required)
{
    array a = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/" REF "/%s/%s.npy", tlr_t_root(), cas, name);
    tlr_err err = {0};
    a.data = tlr_npy_read(path, &a.ndim, a.shape, &err);
    if (!a.data) {
        if (required)
            CHECK(0, "%s: %s", path, err.msg);
        return a;
    }
    a.numel = 1;
    for (int i = 0; i < a.ndim; i++)
        a.numel *= a.shape[i];
    return a;
}

static void run_ref_case(const ref_case *c)
{
    array x = load(c->name, "x", 1), want = load(c->name, "out", 1);
    array fk = load(c->name, "fw_kernel", 1), fr = load(c->name, "fw_recurrent", 1);
    array fb = load(c->name, "fw_bias", c->use_bias);
    array bk = {0}, br = {0}, bb = {0};
    if (c->bidi) {
        bk = load(c->name, "bw_kernel", 1);
        br = load(c->name, "bw_recurrent", 1);
        bb = load(c->name, "bw_bias", c->use_bias);
    }
    if (!x.data || !want.data || !fk.data || !fr.data || (c->use_bias && !fb.data) ||
        (c->bidi && (!bk.data || !br.data || (c->use_bias && !bb.data))))
        goto out;
    INT_EQ(x.ndim, 3, c->name);
    const int64_t n = x.shape[0], t = x.shape[1], f = x.shape[2];
    INT_EQ(fk.numel, f * tlr_rnn_gates(c->kind) * c->units, "forward kernel size");

    tlr_rnn_params fw = params(c->kind, c->units, c->act, c->ract, c->reset_after,
                               c->go_backwards, c->return_sequences);
    const int64_t steps = c->return_sequences ? t : 1;
    int64_t width = c->units;
    if (c->bidi && c->merge == TLR_BIDI_CONCAT)
        width += c->bidi == 2 ? c->bw_units : c->units;
    INT_EQ(want.numel, n * steps * width, "reference output size");
    INT_EQ(want.shape[want.ndim - 1], width, "reference output width");
    float *got = calloc((size_t)(n * steps * width), sizeof *got);

    if (!c->bidi) {
        tlr_op_rnn(&fw, n, t, f, x.data, fk.data, fr.data, fb.data, got);
    } else {
        tlr_rnn_weights wf = {fk.data, fr.data, fb.data}, wb = {bk.data, br.data, bb.data};
        tlr_rnn_params bw = params(c->kind, c->bw_units, c->bw_act, c->ract, c->reset_after,
                                   !c->go_backwards, c->return_sequences);
        tlr_op_bidirectional(&fw, c->bidi == 2 ? &bw : NULL, c->merge, n, t, f, x.data, &wf,
                             &wb, got);
    }
    FLOATS_NEAR(got, want.data, (size_t)want.numel, 1e-5, c->name);
    free(got);
out:
    free(x.data);
    free(want.data);
    free(fk.data);
    free(fr.data);
    free(fb.data);
    free(bk.data);
    free(br.data);
    free(bb.data);
}

static void embedding_ref(void)
{
    array ids = load("embedding", "x", 1), table = load("embedding", "table", 1);
    array want = load("embedding", "out", 1);
    if (ids.data && table.data && want.data && table.ndim == 2) {
        const int64_t dim = table.shape[1];
        float *got = calloc((size_t)(ids.numel * dim), sizeof *got);
        int bad = 99;
        tlr_op_embedding(ids.data, ids.numel, table.data, table.shape[0], dim, got, &bad);
        INT_EQ(want.numel, ids.numel * dim, "embedding reference size");
        FLOATS_NEAR(got, want.data, (size_t)want.numel, 0.0, "embedding reference");
        INT_EQ(bad, -1, "embedding reference ids all valid");
        free(got);
    }
    free(ids.data);
    free(table.data);
    free(want.data);
}

void test_ops_rnn(void)
{
    simple_rnn_by_hand();
    gru_by_hand();
    lstm_by_hand();
    bidirectional_by_hand();
    empty_sequence();
    embedding_by_hand();
    for (int64_t i = 0; i < LEN(CASES); i++)
        run_ref_case(&CASES[i]);
    embedding_ref();
}
