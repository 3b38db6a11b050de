/* ops_rnn.c - the recurrent layers (SimpleRNN, GRU, LSTM), the Bidirectional wrapper and
 * Embedding, with Keras's equations (Keras 3 keras/src/layers/rnn/{simple_rnn,gru,lstm}.py;
 * tf.keras 2 and standalone Keras 2.x recurrent.py compute the same ones).
 *
 * The input part x W + b of every time step does not depend on the state, so it is one GEMM
 * over all N*T rows before the loop.  Each step then multiplies the (N, u) state by the
 * recurrent kernel and applies the gates.  Gate values are gathered into contiguous (N, u)
 * buffers so each activation runs once per gate and step through tlr_op_activation (the
 * same formulas as the Activation layer, softmax over the u units of a sample). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "engine/gemm.h"
#include "engine/ops.h"

/* ---- Embedding ------------------------------------------------------------------------ */

void tlr_op_embedding(const float *ids, int64_t n, const float *table, int64_t input_dim,
                      int64_t output_dim, float *out, int *bad_index)
{
    TLR_ASSERT(n >= 0 && input_dim >= 0 && output_dim >= 0);
    int64_t first_bad = -1;
    const size_t row_bytes = (size_t)output_dim * sizeof *out;
    for (int64_t i = 0; i < n; i++) {
        const double v = (double)ids[i];
        float *row = out + i * output_dim;
        /* Truncation maps exactly (-1, input_dim) into [0, input_dim).  Testing the float
         * before the cast keeps the cast defined, and NaN fails both comparisons. */
        if (v > -1.0 && v < (double)input_dim) {
            memcpy(row, table + (int64_t)v * output_dim, row_bytes);
            continue;
        }
        memset(row, 0, row_bytes);
        if (first_bad < 0)
            first_bad = i;
    }
    if (bad_index)
        *bad_index = first_bad > INT_MAX ? INT_MAX : (int)first_bad;
}

/* ---- one recurrent layer -------------------------------------------------------------- */

int tlr_rnn_gates(tlr_rnn_kind kind)
{
    switch (kind) {
    case TLR_RNN_SIMPLE: return 1;
    case TLR_RNN_GRU: return 3;
    case TLR_RNN_LSTM: return 4;
    }
    TLR_ASSERT(!"unknown recurrent kind");
    return 0;
}

/* Everything one time step reads and writes. */
typedef struct {
    const tlr_rnn_params *p;
    int64_t n, u, g_u;           /* batch, units, gates * units */
    const float *recurrent;      /* (u, g_u) */
    const float *rbias;          /* GRU reset_after: recurrent bias (g_u); else NULL */
    float *h;                    /* (N, u) state */
    float *c;                    /* (N, u) LSTM cell state */
    float *hu;                   /* (N, g_u) h x recurrent */
    float *gate[4];              /* (N, u) each */
} rnn_state;

/* gate[k][b, j] = xw[b, k*u + j] + hu[b, k*u + j], where xw row b starts at xs + b * xstride. */
static void gather_gate(rnn_state *S, int k, const float *xs, int64_t xstride)
{
    const int64_t u = S->u;
    for (int64_t b = 0; b < S->n; b++) {
        const float *xr = xs + b * xstride + k * u;
        const float *hr = S->hu + b * S->g_u + k * u;
        float *o = S->gate[k] + b * u;
        for (int64_t j = 0; j < u; j++)
            o[j] = xr[j] + hr[j];
    }
}

static void activate(const tlr_act_params *a, float *v, int64_t n, int64_t u)
{
    tlr_op_activation(a, v, n * u, u);
}

/* hu (N, g_u) = h (N, u) x recurrent (u, g_u) */
static void project_state(rnn_state *S)
{
    tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, S->n, S->g_u, S->u, S->h, S->u, S->recurrent, S->g_u,
             0.0f, S->hu, S->g_u);
}

static void simple_step(rnn_state *S, const float *xs, int64_t xstride)
{
    project_state(S);
    gather_gate(S, 0, xs, xstride);
    activate(&S->p->act, S->gate[0], S->n, S->u);
    memcpy(S->h, S->gate[0], (size_t)(S->n * S->u) * sizeof *S->h);
}

static void lstm_step(rnn_state *S, const float *xs, int64_t xstride)
{
    const int64_t nu = S->n * S->u;
    project_state(S);
    for (int k = 0; k < 4; k++)
        gather_gate(S, k, xs, xstride);
    float *i = S->gate[0], *f = S->gate[1], *cc = S->gate[2], *o = S->gate[3];
    activate(&S->p->recurrent_act, i, S->n, S->u);
    activate(&S->p->recurrent_act, f, S->n, S->u);
    activate(&S->p->act, cc, S->n, S->u);
    activate(&S->p->recurrent_act, o, S->n, S->u);
    for (int64_t e = 0; e < nu; e++)
        S->c[e] = f[e] * S->c[e] + i[e] * cc[e];
    /* The candidate is spent: its buffer takes act(c). */
    memcpy(cc, S->c, (size_t)nu * sizeof *cc);
    activate(&S->p->act, cc, S->n, S->u);
    for (int64_t e = 0; e < nu; e++)
        S->h[e] = o[e] * cc[e];
}

static void gru_step(rnn_state *S, const float *xs, int64_t xstride)
{
    const int64_t n = S->n, u = S->u, g_u = S->g_u, nu = n * u;
    float *z = S->gate[0], *r = S->gate[1], *hh = S->gate[2];
    if (S->p->reset_after) {
        project_state(S);
        if (S->rbias)
            for (int64_t b = 0; b < n; b++)
                for (int64_t j = 0; j < g_u; j++)
                    S->hu[b * g_u + j] += S->rbias[j];
    } else {
        /* Only z and r see h itself; the candidate sees r * h, known after them. */
        tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, n, 2 * u, u, S->h, u, S->recurrent, g_u, 0.0f,
                 S->hu, g_u);
    }
    gather_gate(S, 0, xs, xstride);
    gather_gate(S, 1, xs, xstride);
    activate(&S->p->recurrent_act, z, n, u);
    activate(&S->p->recurrent_act, r, n, u);
    if (S->p->reset_after) {
        /* h~ = act(x W_h + b_h + r * (h U_h + b'_h)) */
        for (int64_t b = 0; b < n; b++)
            for (int64_t j = 0; j < u; j++)
                hh[b * u + j] = xs[b * xstride + 2 * u + j] +
                                r[b * u + j] * S->hu[b * g_u + 2 * u + j];
    } else {
        /* h~ = act(x W_h + b_h + (r * h) U_h): r * h goes through hh, then the product
         * lands in the candidate's columns of hu. */
        for (int64_t e = 0; e < nu; e++)
            hh[e] = r[e] * S->h[e];
        tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, n, u, u, hh, u, S->recurrent + 2 * u, g_u, 0.0f,
                 S->hu + 2 * u, g_u);
        gather_gate(S, 2, xs, xstride);
    }
    activate(&S->p->act, hh, n, u);
    for (int64_t e = 0; e < nu; e++)
        S->h[e] = z[e] * S->h[e] + (1.0f - z[e]) * hh[e];
}

void tlr_op_rnn(const tlr_rnn_params *p, int64_t n, int64_t t, int64_t f, const float *x,
                const float *kernel, const float *recurrent, const float *bias, float *out)
{
    TLR_ASSERT(p->units > 0 && n >= 0 && t >= 0 && f > 0);
    const int64_t u = p->units, g_u = tlr_rnn_gates(p->kind) * u;
    if (n == 0)
        return;
    if (t == 0) {
        /* No step runs: the last state is the zero initial state. */
        if (!p->return_sequences)
            memset(out, 0, (size_t)(n * u) * sizeof *out);
        return;
    }
    const int two_biases = p->kind == TLR_RNN_GRU && p->reset_after;
    rnn_state S = {
        .p = p, .n = n, .u = u, .g_u = g_u, .recurrent = recurrent,
        .rbias = two_biases && bias ? bias + g_u : NULL,
        .h = tlr_xcalloc((size_t)(n * u), sizeof(float)),
        .c = tlr_xcalloc((size_t)(n * u), sizeof(float)),
        .hu = tlr_xmalloc((size_t)(n * g_u) * sizeof(float)),
    };
    for (int k = 0; k < 4; k++)
        S.gate[k] = tlr_xmalloc((size_t)(n * u) * sizeof(float));

    float *xw = tlr_xmalloc((size_t)(n * t * g_u) * sizeof *xw); // (N, T, g*u)
    tlr_op_dense(n * t, f, g_u, x, kernel, bias, xw);

    for (int64_t s = 0; s < t; s++) {
        const int64_t ti = p->go_backwards ? t - 1 - s : s;
        const float *xs = xw + ti * g_u;          /* sample b's row at xs + b * t * g_u */
        switch (p->kind) {
        case TLR_RNN_SIMPLE: simple_step(&S, xs, t * g_u); break;
        case TLR_RNN_GRU: gru_step(&S, xs, t * g_u); break;
        case TLR_RNN_LSTM: lstm_step(&S, xs, t * g_u); break;
        }
        if (p->return_sequences)
            for (int64_t b = 0; b < n; b++)
                memcpy(out + (b * t + s) * u, S.h + b * u, (size_t)u * sizeof *out);
    }
    if (!p->return_sequences)
        memcpy(out, S.h, (size_t)(n * u) * sizeof *out);

    free(xw);
    for (int k = 0; k < 4; k++)
        free(S.gate[k]);
    free(S.hu);
    free(S.c);
    free(S.h);
}

/* ---- Bidirectional -------------------------------------------------------------------- */

static void merge_row(tlr_bidi_merge merge, const float *y, const float *yr, int64_t uf,
                      int64_t ub, float *o)
{
    switch (merge) {
    case TLR_BIDI_CONCAT:
        memcpy(o, y, (size_t)uf * sizeof *o);
        memcpy(o + uf, yr, (size_t)ub * sizeof *o);
        return;
    case TLR_BIDI_SUM:
        for (int64_t j = 0; j < uf; j++)
            o[j] = y[j] + yr[j];
        return;
    case TLR_BIDI_MUL:
        for (int64_t j = 0; j < uf; j++)
            o[j] = y[j] * yr[j];
        return;
    case TLR_BIDI_AVE:
        for (int64_t j = 0; j < uf; j++)
            o[j] = (y[j] + yr[j]) / 2.0f;
        return;
    }
    TLR_ASSERT(!"unknown Bidirectional merge");
}

void tlr_op_bidirectional(const tlr_rnn_params *fw, const tlr_rnn_params *bw,
                          tlr_bidi_merge merge, int64_t n, int64_t t, int64_t f,
                          const float *x, const tlr_rnn_weights *fw_w,
                          const tlr_rnn_weights *bw_w, float *out)
{
    tlr_rnn_params derived;
    if (!bw) {
        derived = *fw;
        derived.go_backwards = !fw->go_backwards;
        bw = &derived;
    }
    TLR_ASSERT(!fw->return_sequences == !bw->return_sequences);
    TLR_ASSERT(merge == TLR_BIDI_CONCAT || fw->units == bw->units);
    const int64_t uf = fw->units, ub = bw->units;
    const int64_t steps = fw->return_sequences ? t : 1;
    const int64_t uo = merge == TLR_BIDI_CONCAT ? uf + ub : uf;
    if (n == 0 || steps == 0)
        return;
    float *y = tlr_xmalloc((size_t)(n * steps * uf) * sizeof *y);   // (N, steps, uf)
    float *yr = tlr_xmalloc((size_t)(n * steps * ub) * sizeof *yr); // (N, steps, ub)
    tlr_op_rnn(fw, n, t, f, x, fw_w->kernel, fw_w->recurrent, fw_w->bias, y);
    tlr_op_rnn(bw, n, t, f, x, bw_w->kernel, bw_w->recurrent, bw_w->bias, yr);
    /* Step s of the merged sequence pairs y[s] with yr[steps - 1 - s]: the backward
     * sequence flipped back in time (a single last state pairs with itself). */
    for (int64_t b = 0; b < n; b++)
        for (int64_t s = 0; s < steps; s++)
            merge_row(merge, y + (b * steps + s) * uf, yr + (b * steps + steps - 1 - s) * ub,
                      uf, ub, out + (b * steps + s) * uo);
    free(yr);
    free(y);
}
