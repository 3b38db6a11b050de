/* reverse.h - reverse-mode gradients through the forward pass: the gradient of one scalar
 * per image (a class score, or a filter's mean activation) with respect to any layer's
 * output or to the model's input.  Weights are constants: no weight gradients.
 *
 * One call runs the forward pass over the layers the scalar needs, keeping only the values
 * the reverse ops read (a ReLU's output, a max pool's input, the pre-activation of a
 * non-ReLU activation...), then walks the same steps backwards, from the scalar to the
 * requested layer, through nested models at any depth and shared layers (each call is its
 * own step).  Both directions count their tensors against opts->max_memory.
 *
 * What the scalars are (the definitions of shared/oracle/oracle_grad.py, after keras.io's
 * Grad-CAM example and Chollet, "Deep Learning with Python" 2nd ed., section 9.4):
 *   TLR_SCORE_CLASS   the model's first output for class C before its final softmax or
 *                     sigmoid (the logit): that activation of the output layer, or an
 *                     Activation / Softmax layer ending the model, is left out.  C is the
 *                     arg-max of that output per image unless given; a single unit has C = 0.
 *   TLR_SCORE_FILTER  mean(A[b, border:-border, border:-border, F]) over one image's map of
 *                     the target layer (border 0 keeps it all; a map that is not 4-D
 *                     averages A[b, ..., F]).
 * Items of a batch are independent: each image gets the gradient of its own scalar.
 *
 * Implementation: reverse.c (the walk), reverse_ops.c and reverse_ops_shape.c (one reverse
 * op per layer kind, over the op gradients of grad.h), reverse_use.c (Grad-CAM maps and
 * gradient ascent). */
#ifndef TLR_REVERSE_H
#define TLR_REVERSE_H

#include <stdint.h>

#include "base/err.h"
#include "base/tensor.h"
#include "engine/forward.h"
#include "keras/model.h"

typedef enum { TLR_SCORE_CLASS, TLR_SCORE_FILTER } tlr_score_kind;

typedef struct {
    tlr_score_kind kind;
    const char *target;   /* TLR_SCORE_FILTER: the layer path of A ("vgg16/block1_conv1") */
    const int *index;     /* per image: the class (CLASS) or filter (FILTER); NULL: 'fixed' */
    int fixed;            /* the class or filter for every image; CLASS: -1 is the arg-max */
    int negate;           /* CLASS: the score is minus the logit (a sigmoid's class 0) */
    int border;           /* FILTER */
    const char *wrt;      /* the layer whose output's gradient is wanted; NULL: the input */
    /* The same forward pass also serves as tlr_forward_run's: copies of these layers'
     * outputs go to res->fwd.captured, and with want_output the model's first output (its
     * final activation applied) to res->fwd.outputs[0]. */
    const char *const *capture;
    int n_capture;
    int want_output;
} tlr_grad_request;

typedef struct {
    tlr_tensor *value;    /* wrt's forward value (the input, or the layer's output) */
    tlr_tensor *grad;     /* d score / d value, the same shape */
    double *score;        /* per image: the scalar */
    int *index;           /* per image: the class or filter it was taken for */
    int n;                /* images */
    tlr_forward_result fwd; /* what could not be computed, peak memory */
} tlr_grad_result;

/* Flipped kernels and other per-layer preparations, kept between runs on one model (the
 * steps of a gradient ascent).  Not thread-safe: one run at a time. */
typedef struct tlr_grad_cache tlr_grad_cache;
tlr_grad_cache *tlr_grad_cache_new(void);
void tlr_grad_cache_free(tlr_grad_cache *c);

/* Runs 'm' (weights loaded) on x (N, ...) and fills 'res' (free with
 * tlr_grad_result_free).  'cache' may be NULL.  Errors: an unknown layer path, an index out
 * of range, a layer the scalar needs that could not be computed (TLR_E_UNSUPPORTED, with
 * res->fwd.skipped saying why), a layer with no gradient on the way (TLR_E_UNSUPPORTED,
 * naming it and why: tlr_grad_cannot), the memory budget. */
tlr_status tlr_grad_run(const tlr_model *m, const tlr_tensor *x, const tlr_grad_request *rq,
                        const tlr_forward_opts *opts, tlr_grad_cache *cache,
                        tlr_grad_result *res, tlr_err *err);
void tlr_grad_result_free(tlr_grad_result *res);

/* Where TLR_SCORE_CLASS takes its score: the layer making the first output (through nested
 * models), and the final activation left out. */
typedef struct {
    const tlr_model *owner;
    int layer;
    tlr_act final_act;    /* TLR_ACT_SOFTMAX or TLR_ACT_SIGMOID when left out, else LINEAR */
    int whole_layer;      /* that activation is an Activation / Softmax layer of its own */
} tlr_score_info;
void tlr_grad_score_info(const tlr_model *m, tlr_score_info *out);

/* Why the gradient cannot go back through 'l', or NULL when it can. */
const char *tlr_grad_cannot(const tlr_layer *l);

/* ---- uses (reverse_use.c) ------------------------------------------------------------------- */

/* Grad-CAM of image 'b' from A (N, H, W, K) and g = d score / d A: with
 * alpha_k = mean over (H, W) of g[b, ..., k], cam = max(sum_k alpha_k A[b, ..., k], 0)
 * divided by its maximum (all zeros when that is 0).  cam: (H, W). */
void tlr_gradcam_map(const tlr_tensor *A, const tlr_tensor *g, int b, float *cam);

/* Chollet's starting point for filter patterns: values uniform in [0.4, 0.6) from a
 * generator seeded with 'seed' (the same image on every run). */
void tlr_ascent_init(float *x, int64_t n, uint64_t seed);

/* One gradient-ascent step on each image of x (N, ...): x_b += lr * g_b / ||g_b||_2 (g_b
 * left out when it is all zeros). */
void tlr_ascent_step(float *x, const float *g, int64_t n_img, int64_t per_img, float lr);

#endif
