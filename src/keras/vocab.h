/* vocab.h - the words a layer configuration is parsed into, shared by the keras stage (which
 * reads them from configs) and the engine (which runs them): activations, merge kinds and resampling. */
#ifndef TLR_VOCAB_H
#define TLR_VOCAB_H

typedef enum {
    TLR_ACT_LINEAR = 0,
    TLR_ACT_RELU,         /* max(x, 0) */
    TLR_ACT_RELU6,        /* min(max(x, 0), 6) */
    TLR_ACT_SIGMOID,
    TLR_ACT_HARD_SIGMOID, /* Keras 2: clip(0.2x + 0.5, 0, 1) */
    TLR_ACT_HARD_SIGMOID_K3, /* Keras 3: relu6(x + 3) / 6 */
    TLR_ACT_HARD_SWISH,   /* x * relu6(x + 3) / 6 */
    TLR_ACT_SOFTMAX,      /* over the last axis */
    TLR_ACT_LOG_SOFTMAX,
    TLR_ACT_TANH,
    TLR_ACT_ELU,          /* alpha (default 1) */
    TLR_ACT_SELU,
    TLR_ACT_SOFTPLUS,
    TLR_ACT_SOFTSIGN,
    TLR_ACT_SWISH,        /* x * sigmoid(x), also 'silu' */
    TLR_ACT_GELU,         /* exact erf form (Keras default approximate=False) */
    TLR_ACT_GELU_TANH,    /* tanh approximation */
    TLR_ACT_EXPONENTIAL,
    TLR_ACT_LEAKY_RELU,   /* alpha = negative slope */
    TLR_ACT_MISH,
    TLR_ACT_COUNT
} tlr_act;

typedef struct {
    tlr_act kind;
    float alpha;     /* ELU alpha, leaky slope (ReLU negative_slope) */
    float max_value; /* ReLU layer max_value; <0 (e.g. -1) means none */
    float threshold; /* ReLU layer threshold */
} tlr_act_params;

/* Keras name ("relu", "hard_sigmoid", ...) of an activation, for messages and reports. */
const char *tlr_act_name(tlr_act a);

typedef enum {
    TLR_MERGE_ADD, TLR_MERGE_SUBTRACT, TLR_MERGE_MULTIPLY, TLR_MERGE_AVERAGE,
    TLR_MERGE_MAXIMUM, TLR_MERGE_MINIMUM, TLR_MERGE_COUNT
} tlr_merge;

/* How Bidirectional joins its two directions (merge_mode). */
typedef enum { TLR_BIDI_CONCAT, TLR_BIDI_SUM, TLR_BIDI_MUL, TLR_BIDI_AVE } tlr_bidi_merge;

/* Resampling of UpSampling2D and Resizing (tf.image.resize, half-pixel centres). */
typedef enum { TLR_RESIZE_NEAREST, TLR_RESIZE_BILINEAR } tlr_resize_mode;

#endif
