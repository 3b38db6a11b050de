/* k1rnn.h - Keras 1 recurrent layers stored gate by gate, read in Keras 2's layout.
 *
 * Keras 1 kept one W (in, u), U (u, u) and b (u,) per gate and listed them gate after gate:
 * LSTM W_i U_i b_i W_c U_c b_c W_f U_f b_f W_o U_o b_o, GRU W_z U_z b_z W_r U_r b_r W_h U_h b_h.
 * Keras 2's legacy loader (keras/engine/saving.py, preprocess_weights_for_loading, Keras
 * 2.2.4) joins them by position along the last axis into kernel, recurrent_kernel and bias:
 * LSTM gates stored i c f o become i f c o (weights[0], [6], [3], [9] for the kernel), GRU
 * keeps z r h; a Bidirectional's list is halved first (convert_nested_bidirectional).  It
 * transposes nothing: both backends stored these matrices (in, out), and the Theano kernel
 * flip is for convolutions only.  SimpleRNN and consume_less='gpu' layers stored the joined
 * arrays themselves and need nothing.
 *
 * weights.c binds a joined weight with 'path' = its first gate's dataset and 'stored_name' =
 * every gate dataset's name, in joined order, separated by TLR_K1RNN_SEP (all gates live in
 * one layer group); tlr_k1rnn_load reads them back side by side. */
#ifndef TLR_K1RNN_H
#define TLR_K1RNN_H

#include <stdint.h>

#include "base/err.h"
#include "io/h5file.h"
#include "keras/model.h"

#define TLR_K1RNN_SEP '+'

/* Gates of one direction of 'r' that stores 'n' gate-wise arrays, 0 when it does not store
 * them so.  '*order' receives, for each joined gate, the stored gate it comes from. */
int tlr_k1rnn_gates(const tlr_rnn_cfg *r, int n, const int **order);

/* 'names' (may be NULL, consumed) with 'name' appended to the list; free() the result. */
char *tlr_k1rnn_names_add(char *names, const char *name);

/* Whether bound weight 'w' (of a Keras 1 file) was joined from gate datasets. */
int tlr_k1rnn_is_joined(const tlr_layer *l, const tlr_weight *w);

/* Reads joined weight 'w' into w->data: each gate dataset in its columns of the last axis.
 * Refuses more than 'max_floats' values; 'what' names the file in messages. */
tlr_status tlr_k1rnn_load(tlr_weight *w, tlr_h5 *h, int64_t max_floats, const char *what,
                          tlr_err *err);

#endif
