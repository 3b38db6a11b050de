/* exec.h - private to the engine: what the executor's parts share.
 *
 *   forward.c        tlr_forward_run: walks a plan, runs each step, releases, profiles
 *   plan.c           the plan: steps in order, value slots, liveness, fusion decisions
 *   fusion.c         which layers fold into a convolution (chains, deferred padding) and
 *                    which run as one inverted residual block (blocks)
 *   exec_block.c     runs a block as one kern_mbconv call
 *   exec.c           runs one layer call through its adapter; why a layer cannot run
 *   exec_tensor.c    activations under the memory budget, weights, layout changes
 *   adapt_*.c        the adapters: a layer's settings and weights to the ops of ops.h
 *
 * Nothing here reads layer-config JSON: the keras stage has parsed every setting into the
 * layer's typed cfg. */
#ifndef TLR_EXEC_H
#define TLR_EXEC_H

#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/tensor.h"
#include "engine/forward.h"
#include "engine/ops.h"
#include "keras/model.h"

/* A requested capture, resolved to the model holding the layer. */
typedef struct {
    const tlr_model *owner;
    int layer;
} tlr_capture_ref;

/* The layer at 'path' as a capture: a nested model's path names the layer making its first
 * output, at any depth.  TLR_E_USAGE when the model has no such layer. */
tlr_status tlr_exec_capture_ref(const tlr_model *m, const char *path, tlr_capture_ref *ref,
                                tlr_err *err);

/* One forward run: options, result, error and the state one call hands its adapter. */
typedef struct {
    const tlr_forward_opts *opts;
    tlr_forward_result *res;
    tlr_err *err;
    const tlr_capture_ref *caps;
    int n_caps;
    int64_t live_bytes;
    const tlr_conv_post *post;  /* a fused chain's BatchNormalization / Add / ReLU (fusion.c) */
    const tlr_shape *in0_shape; /* a deferred ZeroPadding2D's output shape (fusion.c) */
    int pad_top, pad_left;      /* and its padding, added by the convolution reading it */
    int no_blocks;              /* plan no fused blocks (a pass needing the values inside) */
} tlr_exec;

/* ---- activations, weights, layouts (exec_tensor.c) ------------------------------------------- */

/* Makes freed activations stay in the process for the next ones (once; every pass calls it). */
void tlr_exec_keep_freed_memory(void);

/* A new tensor of shape 's', counted against the memory budget; NULL + X->err when the shape
 * is not fully known or the budget is exceeded.  Free with tlr_exec_drop. */
tlr_tensor *tlr_exec_new(tlr_exec *X, const tlr_shape *s, const char *path);
void tlr_exec_drop(tlr_exec *X, tlr_tensor *t);

/* A copy of 'x' counted as tlr_exec_new counts it (NULL + X->err over the budget). */
tlr_tensor *tlr_exec_clone(tlr_exec *X, const tlr_tensor *x, const char *path);

/* The weight of 'role', or NULL when not loaded; the _need form sets the error. */
const float *tlr_exec_weight(const tlr_layer *l, const char *role);
tlr_status tlr_exec_need_weight(tlr_exec *X, const tlr_layer *l, const char *path,
                                const char *role, const float **out);

/* Channels first (N, C, ...) to channels last (N, ..., C) and back, as new tensors. */
tlr_tensor *tlr_exec_to_channels_last(tlr_exec *X, const tlr_tensor *x, const char *path);
tlr_tensor *tlr_exec_to_channels_first(tlr_exec *X, const tlr_tensor *x, const char *path);

static inline size_t tlr_exec_bytes(const tlr_tensor *t)
{
    return (size_t)tlr_tensor_numel(t) * sizeof(float);
}

static inline tlr_shape tlr_exec_shape(const tlr_tensor *t)
{
    tlr_shape s = { t->ndim, { 0 } };
    memcpy(s.d, t->shape, (size_t)t->ndim * sizeof *t->shape);
    return s;
}

/* A Keras axis (may be negative) as an index below ndim. */
static inline int tlr_exec_axis(int axis, int ndim)
{
    return axis < 0 ? axis + ndim : axis;
}

/* Data viewed as (outer, len, inner) around 'axis'. */
static inline void tlr_exec_split_axis(const tlr_tensor *t, int axis, int64_t *outer,
                                       int64_t *len, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= t->shape[i];
    *len = t->shape[axis];
    for (int i = axis + 1; i < t->ndim; i++)
        *inner *= t->shape[i];
}

/* ---- adapters (adapt_*.c) -------------------------------------------------------------------- */

/* Computes layer 'l' (one call, inputs 'in') into 'y', allocated with the call's output
 * shape.  Errors name 'path'; TLR_E_UNSUPPORTED means "not computed", not "failed". */
typedef tlr_status (*tlr_adapter)(tlr_exec *X, const tlr_layer *l, const char *path,
                                  tlr_tensor *const *in, int n_in, tlr_tensor *y);

/* adapt_spatial.c: images, channels last inside (channels_first layers are transposed) */
tlr_status tlr_adapt_conv(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                          tlr_tensor *);
tlr_status tlr_adapt_pool(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                          tlr_tensor *);
tlr_status tlr_adapt_pad(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                         tlr_tensor *);
tlr_status tlr_adapt_upsample(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                              int, tlr_tensor *);
tlr_status tlr_adapt_resizing(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                              int, tlr_tensor *);
tlr_status tlr_adapt_identity(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                              int, tlr_tensor *);
/* The op parameters of a convolution / pooling layer for channels-last input and output
 * shapes 'x' and 'y' (TensorFlow's padding rules; a deferred padding of X counted in). */
tlr_conv2d_params tlr_adapt_conv_params(const tlr_exec *X, const tlr_layer *l,
                                        const tlr_shape *x, const tlr_shape *y);
tlr_pool2d_params tlr_adapt_pool_params(const tlr_layer *l, const tlr_shape *x,
                                        const tlr_shape *y);
/* Resizing(crop_to_aspect_ratio=True): the centred window (ch, cw) at (top, left) of an
 * h x w image with the target's aspect ratio th : tw, cut as Keras cuts it. */
void tlr_adapt_aspect_window(int64_t h, int64_t w, int th, int tw, int64_t *ch, int64_t *cw,
                             int64_t *top, int64_t *left);
/* adapt_channel.c: per-value and per-channel layers */
tlr_status tlr_adapt_dense(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                           tlr_tensor *);
tlr_status tlr_adapt_batchnorm(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                               int, tlr_tensor *);
tlr_status tlr_adapt_activation(tlr_exec *, const tlr_layer *, const char *,
                                tlr_tensor *const *, int, tlr_tensor *);
tlr_status tlr_adapt_relu(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                          tlr_tensor *);
tlr_status tlr_adapt_prelu(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                           tlr_tensor *);
tlr_status tlr_adapt_rescaling(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                               int, tlr_tensor *);
tlr_status tlr_adapt_normalization(tlr_exec *, const tlr_layer *, const char *,
                                   tlr_tensor *const *, int, tlr_tensor *);
/* PReLU's alpha broadcast over one sample's shape (y's without the batch axis): a new array
 * of *per values (free it), or NULL with X->err set. */
float *tlr_adapt_prelu_alpha(tlr_exec *X, const tlr_layer *l, const char *path,
                             const tlr_tensor *y, int64_t *per);
/* Normalization as y = x * scale + shift over the channels of axis *axis of 'y' (*c of
 * them); scale and shift are new arrays (free them). */
tlr_status tlr_adapt_norm_affine(tlr_exec *X, const tlr_layer *l, const char *path,
                                 const tlr_tensor *y, int *axis, int64_t *c, float **scale,
                                 float **shift);
tlr_status tlr_adapt_lambda(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                            int, tlr_tensor *);
tlr_status tlr_adapt_embedding(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                               int, tlr_tensor *);
/* adapt_shape.c: layers that move values around */
tlr_status tlr_adapt_flatten(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                             int, tlr_tensor *);
tlr_status tlr_adapt_copy(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                          tlr_tensor *);
tlr_status tlr_adapt_permute(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                             int, tlr_tensor *);
tlr_status tlr_adapt_merge(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                           tlr_tensor *);
tlr_status tlr_adapt_concat(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                            tlr_tensor *);
tlr_status tlr_adapt_repeat(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *, int,
                            tlr_tensor *);
tlr_status tlr_adapt_recurrent(tlr_exec *, const tlr_layer *, const char *, tlr_tensor *const *,
                               int, tlr_tensor *);

/* ---- the plan (plan.c) ----------------------------------------------------------------------- */

/* What a step does. */
typedef enum {
    TLR_STEP_INPUT,        /* copies one of the model's inputs */
    TLR_STEP_CALL,         /* runs one layer call, or records why it cannot */
    TLR_STEP_PAD_DEFERRED, /* a ZeroPadding2D its only reader applies as it reads: no work */
} tlr_step_kind;

/* A convolution and the layers after it that fold into it (fusion.c): a BatchNormalization
 * becomes a per-channel scale and shift, an Add a residual, a ReLU a clamp, applied as the
 * convolution writes its outputs (tlr_conv_post); the values in between are never made.
 * Whether the Add folds is known only at run time (its other branch must be there, with
 * the convolution's shape): when it does not, the chain ends before it. */
typedef struct {
    int layer[4];           /* the convolution, then the folded layers, in order */
    int n;
    int add;                /* position of an Add in layer[], 0 when there is none */
    const tlr_ref *add_other; /* that Add's other input */
    float *scale;           /* the folded BatchNormalization: scale (C) then shift (C); or NULL */
    int clamp;              /* the last layer is a ReLU: the output is clamped to [0, hi] */
    float hi;
} tlr_chain;

/* MobileNet's inverted residual block run as one op (kern_mbconv.h), decided by fusion.c:
 *   [Conv2D 1x1 (expand) + its chain] -> [ZeroPadding2D] -> DepthwiseConv2D 3x3 + its chain
 *   -> Conv2D 1x1 (project) + its chain (BatchNormalization, Add of the block's input, ReLU)
 * whose values in between nobody else reads: the expanded rows live in cache a band at a
 * time and are never made whole.  It is headed by the expand (or, without one, by the
 * depthwise).  Whether it runs is settled at run time (the shapes must suit the kernel);
 * when it does not, its layers run as their own steps and chains.  Walking backwards, a
 * block is one op like a chain: its three parts in reverse order. */
#define TLR_BLOCK_MAX_LAYERS 12
typedef struct {
    int layer[TLR_BLOCK_MAX_LAYERS]; /* its layers in order, the head first */
    int n;
    tlr_chain part[3];      /* expand (n 0: none), depthwise, project: each conv with what
                               folds into it (part[2] may end in an Add and a ReLU); their
                               scale arrays are the plan's chains' */
    float *shift[3];        /* a conv's bias folded into its chain's shift (C floats; owned),
                               or NULL when it has no bias */
    int pad[4];             /* a ZeroPadding2D before the depthwise: top, bottom, left, right */
} tlr_block;

/* One call of one layer, in execution order. */
typedef struct {
    int layer, call;        /* m->layers[layer].calls[call] */
    tlr_step_kind kind;
    const char *path;       /* "vgg16/block1_conv1", owned by the plan */
    int out;                /* value slot of its outputs */
    const tlr_ref *in;      /* its inputs (borrowed from the call); slot: tlr_plan_slot */
    int n_in;
    int input;              /* TLR_STEP_INPUT: index among the model's inputs, -1 when none */
    int chain;              /* the chain it heads (plan.chains), -1 when none */
    const tlr_ref *pad_in;  /* reads a deferred ZeroPadding2D: that layer's input, read in
                               place of in[0] and padded by the reader; NULL otherwise */
    const tlr_pad_cfg *pad; /* and that layer's padding */
    int block;              /* the block it heads (plan.blocks), -1 when none */
} tlr_step;

/* A value: the output tensors of one layer call. */
typedef struct {
    int needed;             /* a step, a model output or a capture reads it */
    int deferred;           /* a deferred ZeroPadding2D: no step makes it */
    int readers[TLR_MAX_OUTPUTS];   /* reads of each tensor: by steps, and as a model output */
    int last_read[TLR_MAX_OUTPUTS]; /* the last step naming it as an input; -1 when none */
} tlr_plan_value;

/* How one model runs, decided before anything runs: the steps in order, their value slots,
 * which values are needed and who reads them, what folds into what.
 *
 * Liveness: the run gives each value a count of reads still to come (readers) and frees it
 * when the count reaches zero, which happens after its last_read step, or sooner when a
 * chain or block reads an Add's other branch at its head.  A model's inputs are the
 * caller's tensors, read in place and never freed by the run.
 *
 * A reverse (gradient) pass walks 'steps' from last to first with the same slots: at each
 * step it takes the gradient of step.out and adds the gradients of step.in[k] into their
 * slots.  A value's gradient starts at its last_read step (the first one met walking back)
 * and is complete when the walk reaches the step making it, so it can be freed there; the
 * forward run keeps what the backward ops read (the inputs of each step, or for a chain the
 * convolution's input and the folded layers' parameters) instead of freeing it.  Deferred
 * paddings and chains are one op each in both directions: a chain's gradient goes through
 * its clamp, residual and scale in reverse order, then through the convolution.  Blocks
 * keep no values inside them: a pass that needs those plans with tlr_exec.no_blocks (the
 * block's layers then run as their own steps and chains, as without blocks). */
typedef struct {
    const tlr_model *m;
    int *first;             /* value slot of (layer, call): first[layer] + call */
    tlr_plan_value *values;
    int n_values;
    tlr_step *steps;
    int n_steps;
    tlr_chain *chains;
    int n_chains;
    char **paths;           /* per layer, NULL for layers without a step */
    tlr_block *blocks;
    int n_blocks;
} tlr_plan;

static inline int tlr_plan_slot(const tlr_plan *p, const tlr_ref *r)
{
    return p->first[r->layer] + r->call;
}

/* Plans the run of 'm' for X's captures and, with want_outputs, its outputs; paths start
 * with 'prefix'.  Free with tlr_plan_free. */
void tlr_plan_build(const tlr_exec *X, const tlr_model *m, const char *prefix,
                    int want_outputs, tlr_plan *p);
void tlr_plan_free(tlr_plan *p);

/* ---- fusion (fusion.c) ----------------------------------------------------------------------- */

/* Scratch for planning, per layer: where (layer, call 0, tensor 0) is first read, and the
 * chain the layer heads once decided. */
typedef struct {
    int layer, call, slot;  /* layer -1: not read */
    int chain;              /* plan.chains index; -1 none, -2 not decided yet */
} tlr_first_reader;

/* 1 when ZeroPadding2D 'layer' can be left to its reader (TLR_STEP_PAD_DEFERRED). */
int tlr_fusion_pad_defer(const tlr_exec *X, const tlr_plan *p, const tlr_first_reader *fr,
                         int layer);

/* 1 and fills 'ch' when convolution 'layer' heads a chain (ch->scale: free it). */
int tlr_fusion_chain(const tlr_exec *X, const tlr_plan *p, const tlr_first_reader *fr,
                     int layer, tlr_chain *ch);

/* The chain 'layer' heads as an index into p->chains (added there when first asked), -1
 * when none: each chain is folded once however many times planning asks. */
int tlr_fusion_chain_of(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int layer);

/* At run time: the post-op of chain 'ch', whose convolution makes 'out', when the Add's
 * other branch is 'other' (NULL when not computed).  Returns how many of the chain's layers
 * the convolution computes (1: it runs alone). */
int tlr_fusion_post(const tlr_chain *ch, const tlr_shape *out, const tlr_tensor *other,
                    tlr_conv_post *post);

/* 1 and fills 'b' when 'layer' heads an inverted residual block; 'pad' is a ZeroPadding2D
 * deferred to it (NULL: none).  Free with tlr_fusion_block_free. */
int tlr_fusion_block(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int layer,
                     const tlr_pad_cfg *pad, tlr_block *b);
void tlr_fusion_block_free(tlr_block *b);

/* ---- fused blocks (exec_block.c) ------------------------------------------------------------- */

/* What running a block did: how many of its layers it computed (its Add and what follows
 * only when the other branch fits; 0 when the block does not apply to these shapes and
 * nothing was done), their floating-point operations, and the result (the caller's). */
typedef struct {
    int n;
    int64_t flops;
    tlr_tensor *y;
} tlr_block_run;

/* Runs block 'b' of plan 'p' on 'x' (the head's input, unpadded), the Add's other branch
 * being 'other' (NULL when not computed). */
tlr_status tlr_exec_block(tlr_exec *X, const tlr_plan *p, const tlr_block *b,
                          const tlr_tensor *x, const tlr_tensor *other, tlr_block_run *r);

/* The profile's name of block 'b' run over its first 'n' layers, from its head's 'path':
 * "m/block_1_expand..block_1_project_BN" (the caller frees). */
char *tlr_exec_block_name(const tlr_plan *p, const tlr_block *b, int n, const char *path);

/* ---- one call (exec.c) ----------------------------------------------------------------------- */

/* Runs a nested model (forward.c); outputs as tlr_forward_run's. */
tlr_status tlr_exec_model(tlr_exec *X, const tlr_model *m, const char *prefix,
                          tlr_tensor *const *inputs, int n_inputs, int want_outputs,
                          tlr_tensor **outputs);

/* What a partial run hands over of one value slot: its tensors (owned by the receiver; NULL
 * when not made or already freed) and the reads of each still to come. */
typedef struct {
    tlr_tensor *t[TLR_MAX_OUTPUTS];
    int refs[TLR_MAX_OUTPUTS];
} tlr_exec_value;

/* Runs steps [0, end) of plan 'p' on 'inputs' as tlr_exec_model would (chains, blocks,
 * deferred paddings, liveness; no captures), then hands every slot over into values[0 ..
 * p->n_values), inputs copied.  For a caller that runs the rest its own way: the chains,
 * blocks and deferred paddings started before 'end' must end before it (tlr_exec_prefix_fits). */
tlr_status tlr_exec_prefix(tlr_exec *X, const tlr_plan *p, tlr_tensor *const *inputs, int end,
                           tlr_exec_value *values);

/* The largest end <= 'end' at which no chain, block or deferred padding of 'p' is cut. */
int tlr_exec_prefix_fits(const tlr_plan *p, int end);

/* Runs one call of 'l' on 'in' into out[0] (a nested model: out[0 .. its outputs)).
 * TLR_E_UNSUPPORTED with X->err's message when the call cannot be computed. */
tlr_status tlr_exec_call(tlr_exec *X, const tlr_layer *l, const char *path, tlr_tensor **in,
                         int n_in, tlr_tensor **out);

/* Why 'l' cannot run at all, or NULL when it can. */
const char *tlr_exec_cannot_run(const tlr_layer *l);

/* Records that 'path' was not computed ('input_missing': because an input was not). */
void tlr_exec_skip(tlr_exec *X, const char *path, const tlr_layer *l, int input_missing,
                   const char *why);

/* Floating-point operations of one call of a conv or dense layer, 0 for the rest. */
int64_t tlr_exec_flops(const tlr_layer *l, const tlr_tensor *x, const tlr_tensor *y);

#endif
