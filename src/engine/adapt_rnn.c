/* adapt_rnn.c - the adapter of SimpleRNN, GRU, LSTM and Bidirectional: their settings and
 * weights to the recurrent ops (zero initial state, one output). */
#include "engine/exec.h"

static tlr_rnn_params rnn_params(const tlr_rnn_cfg *r)
{
    tlr_rnn_params p = { (tlr_rnn_kind)r->kind, r->units, r->act, r->recurrent_act,
                         r->reset_after, r->go_backwards, r->return_sequences };
    return p;
}

/* The weights of one direction: 'first' is the index of its kernel among the layer's. */
static tlr_status rnn_weights_of(tlr_exec *X, const tlr_layer *l, const char *path, int first,
                                 int use_bias, tlr_rnn_weights *w)
{
    int need = first + 2 + (use_bias ? 1 : 0);
    if (l->n_weights < need)
        return tlr_err_set(X->err, TLR_E_FORMAT, "layer '%s': %d weights, expected %d", path,
                           l->n_weights, need);
    w->kernel = l->weights[first].data;
    w->recurrent = l->weights[first + 1].data;
    w->bias = use_bias ? l->weights[first + 2].data : NULL;
    if (!w->kernel || !w->recurrent || (use_bias && !w->bias))
        return tlr_err_set(X->err, TLR_E_FORMAT, "layer '%s': weights are not loaded", path);
    return TLR_OK;
}

tlr_status tlr_adapt_recurrent(tlr_exec *X, const tlr_layer *l, const char *path,
                               tlr_tensor *const *in, int n_in, tlr_tensor *y)
{
    const tlr_tensor *x = in[0];
    if (x->ndim != 3)
        return tlr_err_set(X->err, TLR_E_SHAPE, "layer '%s': expects (batch, steps, features)",
                           path);
    int64_t n = x->shape[0], t = x->shape[1], f = x->shape[2];
    tlr_rnn_weights fw;
    if (l->op == TLR_OP_RNN) {
        tlr_status st = rnn_weights_of(X, l, path, 0, l->cfg.rnn.use_bias, &fw);
        if (st)
            return st;
        tlr_rnn_params p = rnn_params(&l->cfg.rnn);
        tlr_op_rnn(&p, n, t, f, x->data, fw.kernel, fw.recurrent, fw.bias, y->data);
        return TLR_OK;
    }
    const tlr_rnn_cfg *bc = l->has_backward ? &l->rnn_backward : &l->rnn_inner;
    tlr_rnn_weights bw;
    int fw_count = 2 + (l->rnn_inner.use_bias ? 1 : 0);
    tlr_status st = rnn_weights_of(X, l, path, 0, l->rnn_inner.use_bias, &fw);
    if (!st)
        st = rnn_weights_of(X, l, path, fw_count, bc->use_bias, &bw);
    if (st)
        return st;
    tlr_rnn_params pf = rnn_params(&l->rnn_inner), pb = rnn_params(bc);
    tlr_op_bidirectional(&pf, l->has_backward ? &pb : NULL, (tlr_bidi_merge)l->cfg.rnn.merge, n, t,
                         f, x->data, &fw, &bw, y->data);
    return TLR_OK;
}
