/* vocab.c - Keras names of the activation kinds. */
#include <assert.h>

#include "keras/vocab.h"

static const char *const act_names[TLR_ACT_COUNT] = {
    [TLR_ACT_LINEAR] = "linear",
    [TLR_ACT_RELU] = "relu",
    [TLR_ACT_RELU6] = "relu6",
    [TLR_ACT_SIGMOID] = "sigmoid",
    [TLR_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [TLR_ACT_HARD_SIGMOID_K3] = "hard_sigmoid", /* same Keras name, Keras 3 formula */
    [TLR_ACT_HARD_SWISH] = "hard_swish",
    [TLR_ACT_SOFTMAX] = "softmax",
    [TLR_ACT_LOG_SOFTMAX] = "log_softmax",
    [TLR_ACT_TANH] = "tanh",
    [TLR_ACT_ELU] = "elu",
    [TLR_ACT_SELU] = "selu",
    [TLR_ACT_SOFTPLUS] = "softplus",
    [TLR_ACT_SOFTSIGN] = "softsign",
    [TLR_ACT_SWISH] = "swish",
    [TLR_ACT_GELU] = "gelu",
    [TLR_ACT_GELU_TANH] = "gelu_approximate", /* Keras: gelu(approximate=True) */
    [TLR_ACT_EXPONENTIAL] = "exponential",
    [TLR_ACT_LEAKY_RELU] = "leaky_relu",
    [TLR_ACT_MISH] = "mish",
};
static_assert(TLR_ACT_COUNT == 20, "update act_names");

const char *tlr_act_name(tlr_act a)
{
    if ((int)a < 0 || a >= TLR_ACT_COUNT)
        return "unknown";
    return act_names[a];
}
