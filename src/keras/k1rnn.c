/* k1rnn.c - Keras 1 gate-wise recurrent weights: Keras 2's join order and reading joined
 * weights (k1rnn.h). */
#include "keras/k1rnn.h"

#include <stdlib.h>
#include <string.h>

#include "base/bigmem.h"
#include "base/tensor.h"
#include "base/xalloc.h"

/* Stored gate per joined gate: LSTM i f c o from stored i c f o; GRU z r h unchanged. */
static const int lstm_order[4] = { 0, 2, 1, 3 }, gru_order[3] = { 0, 1, 2 };
static const char sep[2] = { TLR_K1RNN_SEP, '\0' };

int tlr_k1rnn_gates(const tlr_rnn_cfg *r, int n, const int **order)
{
    if (r->kind == 2 && n == 12) {
        *order = lstm_order;
        return 4;
    }
    if (r->kind == 1 && n == 9) {
        *order = gru_order;
        return 3;
    }
    return 0;
}

char *tlr_k1rnn_names_add(char *names, const char *name)
{
    char *out = names ? tlr_xasprintf("%s%c%s", names, TLR_K1RNN_SEP, name) : tlr_xstrdup(name);
    free(names);
    return out;
}

/* 'path' names only the first gate, so it does not end in "/<whole list>". */
int tlr_k1rnn_is_joined(const tlr_layer *l, const tlr_weight *w)
{
    if ((l->op != TLR_OP_RNN && l->op != TLR_OP_BIDIRECTIONAL) || !w->path || !w->stored_name ||
        !strchr(w->stored_name, TLR_K1RNN_SEP))
        return 0;
    size_t pl = strlen(w->path), nl = strlen(w->stored_name);
    return pl <= nl || w->path[pl - nl - 1] != '/' || strcmp(w->path + pl - nl, w->stored_name) != 0;
}

/* Reads gate 'k' of 'g' into its columns of 'out' (rows, g * cols). */
static tlr_status read_gate(tlr_h5 *h, const char *path, int64_t rows, int64_t cols, int k, int g,
                            float *out, const char *what, tlr_err *err)
{
    tlr_h5_dsinfo info;
    tlr_status st = tlr_h5_dataset_info(h, path, &info, err);
    if (st)
        return st;
    int64_t n = rows * cols;
    if (info.numel != n)
        return tlr_err_set(err, TLR_E_SHAPE, "%s: gate weight '%s' has %lld values, bound with "
                           "%lld", what, path, (long long)info.numel, (long long)n);
    float *tmp = tlr_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    st = tlr_h5_dataset_read_f32(h, path, tmp, n, err);
    for (int64_t r = 0; r < rows && !st; r++)
        memcpy(out + (r * g + k) * cols, tmp + r * cols, (size_t)cols * sizeof *out);
    free(tmp);
    return st;
}

tlr_status tlr_k1rnn_load(tlr_weight *w, tlr_h5 *h, int64_t max_floats, const char *what,
                          tlr_err *err)
{
    int g = 1;
    for (const char *c = w->stored_name; (c = strchr(c, TLR_K1RNN_SEP)); c++)
        g++;
    int64_t numel = tlr_shape_numel(w->stored_ndim, w->stored_shape);
    if (numel < 0 || numel > max_floats)
        return tlr_err_set(err, TLR_E_LIMIT, "%s: weight '%s' has %lld values (over the weights "
                           "limit)", what, w->path, (long long)numel);
    /* weights.c bound it as (..., g * cols); every gate is (..., cols) */
    int64_t cols = w->stored_shape[w->stored_ndim - 1] / g;
    int64_t rows = cols > 0 ? numel / (g * cols) : 0;
    size_t dir = strlen(w->path) - strcspn(w->stored_name, sep);
    float *out = tlr_big_alloc((size_t)(numel > 0 ? numel : 1) * sizeof *out);
    tlr_status st = TLR_OK;
    const char *name = w->stored_name;
    for (int k = 0; k < g && !st; k++) {
        size_t len = strcspn(name, sep);
        char *p = tlr_xasprintf("%.*s%.*s", (int)dir, w->path, (int)len, name);
        st = read_gate(h, p, rows, cols, k, g, out, what, err);
        free(p);
        name += len + 1;
    }
    if (st) {
        free(out);
        return st;
    }
    tlr_weight_drop_data(w);
    w->data = out;
    return TLR_OK;
}
