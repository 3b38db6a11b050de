/* model.h - a Keras model as a graph of layers: what the config says (classes, settings,
 * connections), what shape inference derives (output shapes, expected weights) and what the
 * file stores (weights).  Nested models are layers that own an inner tlr_model.
 *
 * Built in stages: keras_config.c parses JSON into layers; shape.c infers shapes and the
 * weights each layer expects; weights.c binds stored weights to them. */
#ifndef TLR_MODEL_H
#define TLR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"
#include "base/strlist.h"
#include "keras/vocab.h"

typedef enum {
    TLR_OP_UNKNOWN = 0,   /* a class tlreport does not know (custom, subclassed) */
    TLR_OP_INPUT,
    TLR_OP_MODEL,         /* nested Sequential / Functional / Model */
    TLR_OP_CONV,          /* Conv1D, Conv2D (incl. groups) */
    TLR_OP_DEPTHWISE_CONV,
    TLR_OP_SEPARABLE_CONV,
    TLR_OP_CONV_TRANSPOSE,
    TLR_OP_DENSE,
    TLR_OP_BATCHNORM,
    TLR_OP_ACTIVATION,    /* Activation, and ELU / LeakyReLU / Softmax layers */
    TLR_OP_RELU,          /* ReLU layer (max_value, negative_slope, threshold) */
    TLR_OP_PRELU,
    TLR_OP_MAXPOOL,       /* 1-D and 2-D */
    TLR_OP_AVGPOOL,
    TLR_OP_GLOBAL_AVGPOOL,
    TLR_OP_GLOBAL_MAXPOOL,
    TLR_OP_ZEROPAD,
    TLR_OP_CROPPING,
    TLR_OP_UPSAMPLING,
    TLR_OP_FLATTEN,
    TLR_OP_RESHAPE,
    TLR_OP_PERMUTE,
    TLR_OP_IDENTITY,      /* Dropout, noise, augmentation layers: identity at inference */
    TLR_OP_MERGE,         /* Add, Subtract, Multiply, Average, Maximum, Minimum */
    TLR_OP_CONCAT,
    TLR_OP_RESCALING,
    TLR_OP_NORMALIZATION,
    TLR_OP_RESIZING,
    TLR_OP_REPEAT_VECTOR,
    TLR_OP_EMBEDDING,     /* shapes and params only */
    TLR_OP_RNN,           /* SimpleRNN, GRU, LSTM: shapes and params only */
    TLR_OP_BIDIRECTIONAL, /* shapes and params only */
    TLR_OP_LAMBDA,        /* shapes unknown, never run */
    TLR_OP_COUNT
} tlr_op;

const char *tlr_op_name(tlr_op op);

typedef enum { TLR_PAD_VALID, TLR_PAD_SAME, TLR_PAD_CAUSAL, TLR_PAD_FULL } tlr_padding;

/* Settings per layer family, normalised across Keras 1/2/3 spellings. */
typedef struct {
    int rank;                /* 1 or 2 spatial dims */
    int filters;             /* output channels (0 for depthwise: derived) */
    int kernel[2];           /* (kh, kw); 1-D uses kernel[1], kernel[0] = 1 */
    int strides[2];
    int dilation[2];
    tlr_padding padding;
    int channels_first;
    int use_bias;
    int groups;
    int depth_multiplier;
    int output_padding[2];
    int has_output_padding;
    tlr_act_params act;
    int theano_kernel;       /* Keras 1 'th' kernel layout (filters, in, rows, cols) */
} tlr_conv_cfg;

typedef struct {
    int units;
    int use_bias;
    tlr_act_params act;
} tlr_dense_cfg;

typedef struct {
    int rank;
    int pool[2];
    int strides[2];
    tlr_padding padding;
    int channels_first;
    int keepdims;            /* global pooling */
} tlr_pool_cfg;

typedef struct {
    int axis;                /* as configured (may be negative) */
    float epsilon;
    int center, scale;
} tlr_bn_cfg;

typedef struct {
    tlr_act_params act;      /* TLR_OP_ACTIVATION; for RELU: alpha=negative_slope etc. */
    int axis;                /* Softmax layer axis */
} tlr_act_cfg;

typedef struct {
    int rank;
    int amount[4];           /* top, bottom, left, right (1-D: left, right) */
    int channels_first;
} tlr_pad_cfg;

typedef struct {
    int rank;
    int size[2];
    tlr_resize_mode mode;
    int channels_first;
} tlr_upsample_cfg;

typedef struct {
    int ndim;                /* without the batch dim */
    int64_t shape[8];        /* -1 is "infer" */
} tlr_reshape_cfg;

typedef struct {
    int ndim;
    int dims[8];             /* 1-based, as Keras */
} tlr_permute_cfg;

typedef struct {
    tlr_merge kind;
    int axis;                /* Concatenate */
} tlr_merge_cfg;

typedef struct {
    int n;                   /* 1 for scalars, else per channel */
    float scale[8], offset[8];
} tlr_rescale_cfg;

typedef struct {
    int axis[8];
    int n_axis;
    int invert;
    int has_values;          /* mean/variance given in the config, not as weights */
    float *mean, *variance;  /* with has_values: as the config lists them, owned; entries
                                that are not numbers read as 0 (mean) and 1 (variance) */
    int64_t n_mean, n_variance; /* 1: one value for every channel; 0: none given (mean 0,
                                   variance 1); n: one per channel, beyond n as none */
} tlr_norm_cfg;

typedef struct {
    int height, width;
    tlr_resize_mode mode;
    int crop_to_aspect_ratio;
    int pad_to_aspect_ratio; /* the forward pass does not compute this one */
    int interpolation_ok;    /* 0 when the interpolation is one we cannot run */
    const char *interpolation; /* as configured, for messages (borrowed from the JSON) */
    int channels_first;
    int random_crop;         /* RandomCrop, a TLR_OP_IDENTITY layer: 1 when its height and
                                width are valid (then it resizes with crop_to_aspect_ratio at
                                inference, and the fields above say so), -1 when not */
} tlr_resizing_cfg;

typedef struct {
    int channels_first;      /* data_format spelled exactly "channels_first" */
} tlr_flatten_cfg;

typedef struct {
    int units;
    int kind;                /* 0 SimpleRNN, 1 GRU, 2 LSTM */
    int return_sequences;
    int use_bias;
    int reset_after;         /* GRU */
    int go_backwards;
    tlr_act_params act, recurrent_act;
    int merge;               /* Bidirectional: a tlr_bidi_merge, or -1 for merge_mode None */
    int merge_concat;        /* Bidirectional merge_mode == concat */
    const char *cannot_run;  /* why the forward pass cannot run it (static text), or NULL */
} tlr_rnn_cfg;

typedef struct {
    int input_dim, output_dim;
    int mask_zero;
} tlr_embedding_cfg;

/* Bounds of the graph: inputs of one call (Concatenate of 64 tensors) and output tensors of
 * one layer (a Bidirectional LSTM with return_state and merge_mode None has 6).  Configs
 * beyond them are refused when parsed. */
#define TLR_MAX_CALL_INPUTS 64
#define TLR_MAX_OUTPUTS 8

/* A tensor shape in Keras order, batch first; -1 is None. */
typedef struct {
    int ndim;
    int64_t d[8];
} tlr_shape;

/* A reference to a tensor: output 'tensor' of call 'call' of layer 'layer' (indices into the
 * model's layer array and that layer's calls). */
typedef struct {
    int layer;
    int call;
    int tensor;
    int node;                /* node index as written in the config (for 'Connected to') */
} tlr_ref;

/* One call of a layer (a Keras "inbound node"): the tensors it consumed. */
typedef struct {
    tlr_ref *in;
    int n_in;
    /* Filled by shape inference: */
    int n_out;
    tlr_shape out[TLR_MAX_OUTPUTS]; /* output shapes */
} tlr_call;

/* A weight as the layer defines it (role and shape) and as the file stores it. */
typedef struct {
    char *role;              /* "kernel", "bias", "gamma", "moving_mean", ... */
    int ndim;
    int64_t shape[8];        /* expected shape (Keras order, after any legacy conversion) */
    int trainable;           /* trainable variable of a trainable layer in a trainable model */
    /* Binding (weights.c): */
    char *stored_name;       /* name in weight_names, e.g. "block1_conv1/kernel:0" */
    char *path;              /* dataset path in the weights file */
    int stored_ndim;
    int64_t stored_shape[8];
    const char *stored_dtype;/* "float32", ... */
    float *data;             /* loaded values in the expected shape, or NULL */
    int borrowed;            /* data lies in the open file's pages: read-only, not freed */
} tlr_weight;

typedef struct tlr_model tlr_model;

typedef struct {
    char *name;
    char *class_name;        /* as in the config ("Conv2D", "Convolution2D", "Functional") */
    tlr_op op;
    const tlr_json *config;  /* the layer's "config" object, borrowed from the model's JSON */
    int trainable;           /* the layer's own flag */
    union {
        tlr_conv_cfg conv;
        tlr_dense_cfg dense;
        tlr_pool_cfg pool;
        tlr_bn_cfg bn;
        tlr_act_cfg act;
        tlr_pad_cfg pad;
        tlr_upsample_cfg up;
        tlr_reshape_cfg reshape;
        tlr_permute_cfg permute;
        tlr_merge_cfg merge;
        tlr_rescale_cfg rescale;
        tlr_norm_cfg norm;
        tlr_resizing_cfg resizing;  /* Resizing, and RandomCrop (TLR_OP_IDENTITY) */
        tlr_flatten_cfg flatten;
        tlr_rnn_cfg rnn;
        tlr_embedding_cfg embed;
        int repeat_n;
    } cfg;
    tlr_rnn_cfg rnn_inner;   /* Bidirectional's wrapped (forward) layer */
    tlr_rnn_cfg rnn_backward;/* Bidirectional's backward_layer when the config has one */
    int has_backward;
    tlr_model *inner;        /* TLR_OP_MODEL */
    struct tlr_expr *lambda; /* TLR_OP_LAMBDA's formula: recovered from its bytecode or given
                                with --lambda (owned); NULL when unknown */
    int lambda_recovered;    /* the formula came from the stored bytecode */
    char *cannot_run;        /* why the forward pass cannot compute this layer although the
                                summary shows it (an activation, padding or interpolation
                                tlreport lacks, input masking, Keras 1 BatchNormalization
                                mode 1 or 2), or NULL; owned */
    tlr_shape input_shape;   /* declared batch shape (InputLayer, or first layer of a
                                Sequential); ndim 0 when none */
    tlr_call *calls;         /* one per inbound node (InputLayer: exactly one, no inputs) */
    int n_calls;
    tlr_weight *weights;     /* expected weights (shape.c), bound by weights.c */
    int n_weights;
    int weights_known;       /* 0 when the class's weights cannot be derived (custom, Lambda):
                                then 'weights' lists what the file stores */
    int weights_unbound;     /* the stored weights do not fit the layer (a Keras 1 layout
                                tlreport does not convert): 'weights' keeps the expected
                                shapes, none is loaded, and cannot_run says why */
    int eff_trainable;       /* trainable here and in every enclosing model */
    int shape_ok;            /* 1 when output shapes are known */
    char *shape_note;        /* why not, when not */
    int64_t params;          /* stored parameter count (sum of stored weights), -1 unknown */
    int64_t params_trainable;
} tlr_layer;

struct tlr_model {
    char *name;
    char *class_name;        /* "Sequential", "Functional", "Model" */
    int is_sequential;       /* the config was a Sequential (list of layers) */
    tlr_layer *layers;       /* config order (Sequential: includes InputLayer if any) */
    int n_layers;
    tlr_ref *inputs;         /* input layers */
    int n_inputs;
    tlr_ref *outputs;
    int n_outputs;
    int trainable;           /* the model's own flag when nested */
    int *order;              /* topological order of (layer) indices; calls in index order */
    int n_order;
};

/* Frees a model and everything it owns (not the JSON it borrows from). */
/* Lets go of a weight's values (freed unless borrowed). */
void tlr_weight_drop_data(tlr_weight *w);

void tlr_model_free(tlr_model *m);

/* Index of the layer named 'name', or -1. */
int tlr_model_find(const tlr_model *m, const char *name);

/* 1 when 'm' is 'inner' or holds it as a nested model at any depth. */
int tlr_model_holds(const tlr_model *m, const tlr_model *inner);

/* Layers as Keras's model.layers lists them: a Sequential hides its InputLayer.
 * Returns the count; 'idx' (may be NULL) receives up to 'cap' layer indices. */
int tlr_model_visible_layers(const tlr_model *m, int *idx, int cap);

/* tlr_model_visible_layers into a new array (free it); '*n' receives the count. */
int *tlr_model_visible_alloc(const tlr_model *m, int *n);

/* Appends the paths ("vgg16/block1_conv1") of the layers below nested models, in execution
 * order, that 'keep' accepts (every one when 'keep' is NULL). */
void tlr_model_leaf_paths(const tlr_model *m, int (*keep)(const tlr_layer *), tlr_strlist *out);

/* Resolves a path like "vgg16/block2_conv2" to the model holding the layer and its index.
 * Returns 0 on success. */
int tlr_model_resolve(const tlr_model *m, const char *path, const tlr_model **owner, int *index);

/* The activation that ends the model's first output (through nested models, Dropout and
 * other identity layers): a Dense/Conv 'activation' or an Activation layer; -1 when the
 * output ends in anything else. */
int tlr_model_output_activation(const tlr_model *m);

/* Sum of stored parameters (all, trainable) of a layer including nested layers. */
int64_t tlr_layer_param_count(const tlr_layer *l);

#endif
