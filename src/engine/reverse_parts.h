/* reverse_parts.h - private to the engine: what reverse.c (the walk) shares with the reverse
 * ops of reverse_ops.c and reverse_ops_shape.c. */
#ifndef TLR_REVERSE_PARTS_H
#define TLR_REVERSE_PARTS_H

#include "engine/exec.h"
#include "engine/reverse.h"

/* What a layer's reverse op reads of the forward pass, besides the weights. */
enum {
    TLR_REV_NEED_IN = 1,  /* the inputs' values */
    TLR_REV_NEED_OUT = 2, /* the output's value */
    TLR_REV_NEED_Z = 4,   /* the value before the layer's own activation (Conv, Dense...) */
};

/* One reverse op: the gradient of one layer call's output back to its inputs. */
typedef struct {
    tlr_exec *X;
    const tlr_layer *l;
    const char *path;
    int n_in;
    const tlr_shape *in_shape;   /* the inputs' shapes (n_in) */
    tlr_tensor *const *x;        /* their forward values (NULL unless TLR_REV_NEED_IN) */
    const tlr_tensor *y;         /* the output's value (NULL unless TLR_REV_NEED_OUT) */
    const tlr_tensor *z;         /* before the activation (NULL unless TLR_REV_NEED_Z) */
    tlr_tensor *dy;              /* d score / d output; the op may overwrite it */
    tlr_tensor **dx;             /* out: d score / d input k, new tensors (n_in) */
    tlr_grad_cache *cache;
} tlr_rev;

/* What the reverse op of 'l' reads, for inputs 'in' (n_in) and output 'y'. */
int tlr_rev_needs(const tlr_layer *l, tlr_tensor *const *in, int n_in, const tlr_tensor *y);

/* The layer's own activation (Conv*, Dense), or NULL. */
const tlr_act_params *tlr_rev_own_act(const tlr_layer *l);

/* Runs r->l's reverse op: fills r->dx[0 .. n_in) (each counted by r->X's budget). */
tlr_status tlr_rev_op(tlr_rev *r);

/* reverse_ops_shape.c: the reverse ops of the layers that move values (Flatten, Reshape,
 * Permute, RepeatVector, merges, Concatenate, padding, cropping, upsampling, resizing). */
tlr_status tlr_rev_shape_op(tlr_rev *r);

/* A new tensor of input k's shape, or NULL with r->X->err set. */
tlr_tensor *tlr_rev_new_dx(tlr_rev *r, int k);

/* The flipped kernel of a stride-1 convolution, made once per kernel (reverse.c). */
const float *tlr_grad_cache_flipped(tlr_grad_cache *c, const tlr_conv2d_params *p,
                                    const float *kernel);

/* reverse_narrow.c: a Conv2D cut down to the output channels a TLR_SCORE_FILTER request
 * reads, kept in a list (the grad cache's) until tlr_rev_narrow_free. */
typedef struct tlr_rev_narrow tlr_rev_narrow;

/* The cut of 'l' to the filters want[0 .. n) (repeats allowed), made once per list; NULL
 * when 'l' cannot be cut (not a channels-last 2-D Conv2D without groups, a filter out of
 * range) or when cutting would save little. */
const tlr_rev_narrow *tlr_rev_narrow_get(tlr_rev_narrow **list, const tlr_layer *l,
                                         const int *want, int n);
const tlr_layer *tlr_rev_narrow_layer(const tlr_rev_narrow *e);
/* The channel of the cut layer that holds 'filter' of the original, or -1. */
int tlr_rev_narrow_channel(const tlr_rev_narrow *e, int filter);
void tlr_rev_narrow_free(tlr_rev_narrow *list);

#endif
