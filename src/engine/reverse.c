/* reverse.c - the reverse pass: a forward walk of each model's plan (plan.c) that keeps what
 * the reverse ops will read, then the walk back from the scalar to the requested layer.
 *
 * Each model run (the top one, and each call of a nested model) has a tape: its plan, its
 * value slots and, per step, what the way back needs.  Forward, a step is "active" when one
 * of its inputs depends on the variable (the input, or the wrt layer's output); an active
 * step holds the values its reverse op reads (tlr_rev_needs) instead of letting them go at
 * their last read, and keeps the pre-activation of a layer whose own activation's
 * derivative needs it.  Nothing else is kept: the forward run's liveness applies to the
 * rest.  Backward, the steps run last to first: a step's output gradient is complete when
 * the walk reaches it (all its readers come later), it goes through the step's reverse op
 * and is added into its inputs' gradients; then the step's held values and its gradient are
 * freed.  A nested model's step walks its own tape backwards.
 *
 * Fusion: the forward executor folds conv + BatchNormalization + Add + ReLU chains, MobileNet
 * blocks and deferred ZeroPadding2D into one op (fusion.c).  A model's first steps that no
 * gradient goes through and that make nothing the run looks at (the score, the wrt layer, a
 * capture) run that way, by the forward executor (plain_steps, tlr_exec_prefix); from the
 * first other step on, every layer runs on its own (the plan's chains, blocks and deferrals
 * are ignored): each reverse op needs its own layer's values (the ReLU's output, the padded
 * input's shape), and making them costs what recomputing them would. */
#include "engine/reverse_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/grad.h"

/* ---- the flipped-kernel cache ---------------------------------------------------------------- */

struct tlr_grad_cache {
    const float **key;   /* the forward kernel */
    float **flipped;
    int n;
    tlr_rev_narrow *narrows; /* score layers cut to the filters asked for */
};

tlr_grad_cache *tlr_grad_cache_new(void)
{
    return tlr_xcalloc(1, sizeof(tlr_grad_cache));
}

void tlr_grad_cache_free(tlr_grad_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        free(c->flipped[i]);
    free(c->key);
    free(c->flipped);
    tlr_rev_narrow_free(c->narrows);
    free(c);
}

const float *tlr_grad_cache_flipped(tlr_grad_cache *c, const tlr_conv2d_params *p,
                                    const float *kernel)
{
    if (!c)
        return NULL;
    for (int i = 0; i < c->n; i++)
        if (c->key[i] == kernel)
            return c->flipped[i];
    c->key = tlr_xrealloc(c->key, (size_t)(c->n + 1) * sizeof *c->key);
    c->flipped = tlr_xrealloc(c->flipped, (size_t)(c->n + 1) * sizeof *c->flipped);
    c->key[c->n] = kernel;
    c->flipped[c->n] = tlr_grad_conv2d_kernel(p, kernel);
    return c->flipped[c->n++];
}

/* ---- tapes ----------------------------------------------------------------------------------- */

/* How the score's layer leaves out the final softmax / sigmoid. */
enum { STRIP_NONE, STRIP_ACT /* runs with a linear activation */, STRIP_LAYER /* identity */ };

typedef struct tape tape;

/* One value slot in both directions. */
typedef struct {
    tlr_tensor *t[TLR_MAX_OUTPUTS];
    int refs[TLR_MAX_OUTPUTS];  /* forward reads still to come */
    int holds[TLR_MAX_OUTPUTS]; /* reverse ops still to read it */
    int wrt[TLR_MAX_OUTPUTS];   /* depends on the variable */
    tlr_tensor *g[TLR_MAX_OUTPUTS]; /* d score / d value, summed over its readers */
} rslot;

/* What the way back needs of one step. */
typedef struct {
    int active;         /* the gradient goes back through it */
    int needs;          /* TLR_REV_NEED_* it holds */
    int strip;          /* the score's layer */
    int is_wrt;         /* it makes the wrt value */
    tlr_tensor *z;      /* pre-activation (TLR_REV_NEED_Z) */
    tlr_shape *in_shape;
    tape *child;        /* a nested model's tape */
    const tlr_layer *cut; /* the score's layer cut to the filters asked for, or NULL */
} rstep;

struct tape {
    tlr_plan p;
    rslot *s;
    rstep *rs;
    int want_outputs;
};

/* The whole run. */
typedef struct {
    tlr_exec X;
    const tlr_grad_request *rq;
    tlr_capture_ref caps[2];    /* [0] the score's layer, [1] the wrt layer */
    int strip;
    tlr_grad_cache *cache;
    tlr_grad_result *res;
    int seeded, wrt_seen;
    const tlr_rev_narrow *narrow; /* the cut the score's layer runs as, or NULL */
    tlr_capture_ref *extra;       /* rq->capture resolved */
} run;

static tape *tape_new(run *R, const tlr_model *m, const char *prefix, int want_outputs)
{
    tape *T = tlr_xcalloc(1, sizeof *T);
    tlr_plan_build(&R->X, m, prefix, want_outputs, &T->p);
    T->s = tlr_xcalloc((size_t)T->p.n_values + 1, sizeof *T->s);
    T->rs = tlr_xcalloc((size_t)T->p.n_steps + 1, sizeof *T->rs);
    T->want_outputs = want_outputs;
    for (int i = 0; i < T->p.n_values; i++)
        memcpy(T->s[i].refs, T->p.values[i].readers, sizeof T->s[i].refs);
    return T;
}

static void tape_free(run *R, tape *T)
{
    if (!T)
        return;
    for (int i = 0; i < T->p.n_values; i++)
        for (int t = 0; t < TLR_MAX_OUTPUTS; t++) {
            tlr_exec_drop(&R->X, T->s[i].t[t]);
            tlr_exec_drop(&R->X, T->s[i].g[t]);
        }
    for (int k = 0; k < T->p.n_steps; k++) {
        tlr_exec_drop(&R->X, T->rs[k].z);
        free(T->rs[k].in_shape);
        tape_free(R, T->rs[k].child);
    }
    free(T->s);
    free(T->rs);
    tlr_plan_free(&T->p);
    free(T);
}

static rslot *slot_of(tape *T, const tlr_ref *r)
{
    return &T->s[tlr_plan_slot(&T->p, r)];
}

/* Frees tensor t of 's' once nothing reads it any more, in either direction. */
static void settle(run *R, rslot *s, int t)
{
    if (s->t[t] && s->refs[t] <= 0 && s->holds[t] <= 0) {
        tlr_exec_drop(&R->X, s->t[t]);
        s->t[t] = NULL;
    }
}

/* Adds 'g' (taken) into the gradient of tensor t of 's'. */
static void accumulate(run *R, rslot *s, int t, tlr_tensor *g)
{
    if (!g)
        return;
    if (!s->g[t]) {
        s->g[t] = g;
        return;
    }
    int64_t n = tlr_tensor_numel(g);
    for (int64_t i = 0; i < n; i++)
        s->g[t]->data[i] += g->data[i];
    tlr_exec_drop(&R->X, g);
}

/* ---- the scalar --------------------------------------------------------------------------- */

static int is_ref(const tlr_capture_ref *c, const tape *T, const tlr_step *st)
{
    return c->owner == T->p.m && c->layer == st->layer && st->call == 0;
}

/* CLASS: one image's class (the arg-max, first of equals, when idx < 0) and its gradient. */
static tlr_status class_seed(run *R, const float *y, float *g, int64_t per, int b, int idx)
{
    if (idx < 0) {
        idx = 0;
        for (int64_t k = 1; k < per; k++)
            if (y[k] > y[idx])
                idx = (int)k;
    }
    if (idx >= per)
        return tlr_err_set(R->X.err, TLR_E_USAGE, "class %d is out of range: the output has "
                           "%lld values", idx, (long long)per);
    g[idx] = R->rq->negate ? -1.0f : 1.0f;
    R->res->score[b] = R->rq->negate ? -(double)y[idx] : (double)y[idx];
    R->res->index[b] = idx;
    return TLR_OK;
}

/* FILTER: the mean of channel f over one image's map inside the border, and its gradient. */
static tlr_status filter_seed(run *R, const tlr_tensor *a, const float *y, float *g, int b,
                              int f)
{
    int64_t c = a->shape[a->ndim - 1], h = 1, w = tlr_tensor_numel(a) / a->shape[0] / c;
    int bd = a->ndim == 4 ? R->rq->border : 0;
    if (a->ndim == 4)
        h = a->shape[1], w = a->shape[2];
    if (f < 0 || f >= c)
        return tlr_err_set(R->X.err, TLR_E_USAGE, "filter %d is out of range: the layer has %lld "
                           "channels", f, (long long)c);
    if (h - 2 * bd < 1 || w - 2 * bd < 1)
        return tlr_err_set(R->X.err, TLR_E_USAGE, "the map (%lld x %lld) is too small for a "
                           "border of %d", (long long)h, (long long)w, bd);
    double count = (double)((h - 2 * bd) * (w - 2 * bd)), sum = 0.0;
    for (int64_t i = bd; i < h - bd; i++)
        for (int64_t j = bd; j < w - bd; j++) {
            int64_t at = (i * w + j) * c + f;
            sum += (double)y[at];
            g[at] = (float)(1.0 / count);
        }
    R->res->score[b] = sum / count;
    R->res->index[b] = f;
    return TLR_OK;
}

/* The scalar of each image of 'a' (the score layer's value) and its gradient, the seed of
 * the way back. */
static tlr_status seed(run *R, const tlr_tensor *a, rslot *out, const char *path)
{
    tlr_shape s = tlr_exec_shape(a);
    tlr_tensor *g = tlr_exec_new(&R->X, &s, path);
    if (!g)
        return R->X.err->code;
    memset(g->data, 0, tlr_exec_bytes(g));
    int64_t n = a->shape[0], per = n ? tlr_tensor_numel(a) / n : 0;
    tlr_status st = TLR_OK;
    for (int b = 0; b < n && !st; b++) {
        int idx = R->rq->index ? R->rq->index[b] : R->rq->fixed;
        if (R->rq->kind == TLR_SCORE_CLASS) {
            st = class_seed(R, a->data + b * per, g->data + b * per, per, b, idx);
        } else {
            int ch = R->narrow ? tlr_rev_narrow_channel(R->narrow, idx) : idx;
            st = filter_seed(R, a, a->data + b * per, g->data + b * per, b, ch);
            R->res->index[b] = idx;
        }
    }
    if (st) {
        tlr_exec_drop(&R->X, g);
        return st;
    }
    out->g[0] = g;
    R->seeded = 1;
    return TLR_OK;
}

/* After step 'st' made its value: the scalar's seed, the wrt value. */
static tlr_status note_targets(run *R, tape *T, const tlr_step *st, rstep *rs)
{
    rslot *out = &T->s[st->out];
    if (!out->t[0])
        return TLR_OK;
    if (R->rq->wrt && !R->wrt_seen && is_ref(&R->caps[1], T, st)) {
        R->wrt_seen = rs->is_wrt = out->wrt[0] = 1;
        R->res->value = tlr_tensor_clone(out->t[0]);
    }
    if (!R->seeded && is_ref(&R->caps[0], T, st))
        return seed(R, out->t[0], out, st->path);
    return TLR_OK;
}

/* ---- forward --------------------------------------------------------------------------------- */

static tlr_status tape_forward(run *R, tape *T, tlr_tensor *const *inputs, int n_inputs,
                               const int *in_wrt, tlr_tensor **outputs, int *out_wrt);

static void set_linear(tlr_layer *l)
{
    tlr_act_params *a = (tlr_act_params *)tlr_rev_own_act(l);
    if (a)
        *a = (tlr_act_params){ .kind = TLR_ACT_LINEAR, .max_value = -1.0f };
}

/* The layer as this step runs it: the score's layer without its final activation, or a
 * layer whose activation's input is kept (then z) without its activation. */
static const tlr_layer *step_layer(const tlr_layer *l, int strip, int want_z, tlr_layer *lin)
{
    if (strip != STRIP_ACT && !want_z)
        return l;
    *lin = *l;
    set_linear(lin);
    return lin;
}

/* y = act(z) as the adapters apply it (the last axis for softmax). */
static tlr_tensor *activate(run *R, const tlr_act_params *a, const tlr_tensor *z,
                            const char *path)
{
    tlr_tensor *y = tlr_exec_clone(&R->X, z, path);
    if (y)
        tlr_op_activation(a, y->data, tlr_tensor_numel(y), y->shape[y->ndim - 1]);
    return y;
}

/* Runs one layer call into out[0]; NULL there (and a note) when it cannot be computed. */
static tlr_status run_layer(run *R, const tlr_step *st, rstep *rs, const tlr_layer *l,
                            tlr_tensor **in, tlr_tensor **out)
{
    if (rs->strip == STRIP_LAYER) {
        *out = tlr_exec_clone(&R->X, in[0], st->path);
        return *out ? TLR_OK : R->X.err->code;
    }
    /* layers with their own activation decide without looking at tensors */
    int want_z = rs->active && rs->strip == STRIP_NONE && tlr_rev_own_act(l) &&
                 (tlr_rev_needs(l, in, st->n_in, NULL) & TLR_REV_NEED_Z);
    tlr_layer lin;
    tlr_status rc = tlr_exec_call(&R->X, step_layer(l, rs->strip, want_z, &lin), st->path, in,
                                  st->n_in, out);
    if (rc == TLR_E_UNSUPPORTED) {
        tlr_exec_skip(&R->X, st->path, l, 0, R->X.err->msg);
        return TLR_OK;
    }
    if (rc || !want_z)
        return rc;
    rs->z = *out;
    *out = activate(R, tlr_rev_own_act(l), rs->z, st->path);
    return *out ? TLR_OK : R->X.err->code;
}

/* An active step holds what its reverse op reads and notes its inputs' shapes. */
static void hold_for_reverse(tape *T, const tlr_step *st, rstep *rs, const tlr_layer *l,
                             tlr_tensor **in)
{
    rslot *out = &T->s[st->out];
    tlr_layer lin;
    rs->needs = tlr_rev_needs(step_layer(l, rs->strip, 0, &lin), in, st->n_in, out->t[0]);
    if (rs->strip == STRIP_LAYER)
        rs->needs = 0;
    rs->in_shape = tlr_xcalloc((size_t)st->n_in + 1, sizeof *rs->in_shape);
    for (int k = 0; k < st->n_in; k++) {
        rs->in_shape[k] = tlr_exec_shape(in[k]);
        if (rs->needs & TLR_REV_NEED_IN)
            slot_of(T, &st->in[k])->holds[st->in[k].tensor]++;
    }
    if (rs->needs & TLR_REV_NEED_OUT)
        out->holds[0]++;
}

/* A nested model: its own tape, run on this step's inputs. */
static tlr_status run_nested(run *R, tape *T, const tlr_step *st, rstep *rs, tlr_tensor **in,
                             const int *in_wrt)
{
    const tlr_layer *l = &T->p.m->layers[st->layer];
    rslot *out = &T->s[st->out];
    int want = 0;
    for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
        want |= T->p.values[st->out].readers[t] > 0;
    rs->child = tape_new(R, l->inner, st->path, want);
    rs->active = 1; /* its tape decides, step by step */
    tlr_status rc = tape_forward(R, rs->child, in, st->n_in, in_wrt, out->t, out->wrt);
    if (!rc && want && !out->t[0])
        tlr_exec_skip(&R->X, st->path, l, 0, "a layer inside it could not be computed");
    return rc;
}

static tlr_status run_input(run *R, tape *T, const tlr_step *st, tlr_tensor *const *inputs,
                            const int *in_wrt)
{
    if (st->input < 0)
        return tlr_err_set(R->X.err, TLR_E_FORMAT, "input layer '%s' is not a model input",
                           st->path);
    rslot *out = &T->s[st->out];
    if (!(out->t[0] = tlr_exec_clone(&R->X, inputs[st->input], st->path)))
        return R->X.err->code;
    out->wrt[0] = in_wrt[st->input];
    return TLR_OK;
}

/* The score's layer cut to the filters a FILTER request reads (reverse_narrow.c), when its
 * value goes nowhere else; NULL to run the layer as it is. */
static const tlr_layer *cut_layer(run *R, tape *T, const tlr_step *st)
{
    const tlr_grad_request *rq = R->rq;
    if (rq->kind != TLR_SCORE_FILTER || R->seeded || !is_ref(&R->caps[0], T, st) ||
        (rq->wrt && is_ref(&R->caps[1], T, st)) || T->want_outputs)
        return NULL;
    for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
        if (T->p.values[st->out].readers[t] > 0)
            return NULL;
    R->narrow = tlr_rev_narrow_get(&R->cache->narrows, &T->p.m->layers[st->layer],
                                   rq->index ? rq->index : &rq->fixed,
                                   rq->index ? R->res->n : 1);
    return R->narrow ? tlr_rev_narrow_layer(R->narrow) : NULL;
}

/* What this layer call gives as tlr_forward_run would, into *y: a copy of its output, or for
 * the score's layer run without its final activation, the layer run again as it is. */
static tlr_status forward_value(run *R, const tlr_step *st, const rstep *rs, const tlr_layer *l,
                                tlr_tensor **in, const tlr_tensor *out, tlr_tensor **y)
{
    if (rs->strip == STRIP_NONE) {
        *y = tlr_tensor_clone(out);
        return TLR_OK;
    }
    tlr_status rc = tlr_exec_call(&R->X, l, st->path, in, st->n_in, y);
    if (!rc)
        R->X.live_bytes -= (int64_t)tlr_exec_bytes(*y); /* the caller's now, not the pass's */
    return rc;
}

/* rq->capture and rq->want_output: the values this step makes for the caller. */
static tlr_status keep_for_caller(run *R, const tape *T, const tlr_step *st, const rstep *rs,
                                  const tlr_layer *l, tlr_tensor **in, const tlr_tensor *out)
{
    tlr_forward_result *f = &R->res->fwd;
    tlr_status rc = TLR_OK;
    for (int k = 0; k < R->rq->n_capture && !rc; k++)
        if (!f->captured[k] && R->extra[k].owner == T->p.m && R->extra[k].layer == st->layer)
            rc = forward_value(R, st, rs, l, in, out, &f->captured[k]);
    if (!rc && R->rq->want_output && !f->outputs && is_ref(&R->caps[0], T, st)) {
        f->outputs = tlr_xcalloc(1, sizeof *f->outputs);
        f->n_outputs = 1;
        rc = forward_value(R, st, rs, l, in, out, &f->outputs[0]);
    }
    return rc;
}

/* A call step: gathers its inputs, runs (or skips) it, holds, then releases the inputs. */
static tlr_status run_call(run *R, tape *T, const tlr_step *st, rstep *rs)
{
    const tlr_layer *l = &T->p.m->layers[st->layer];
    rslot *out = &T->s[st->out];
    tlr_tensor *in[TLR_MAX_CALL_INPUTS];
    int in_wrt[TLR_MAX_CALL_INPUTS], missing = 0, any_wrt = 0;
    for (int k = 0; k < st->n_in; k++) {
        rslot *s = slot_of(T, &st->in[k]);
        in[k] = s->t[st->in[k].tensor];
        in_wrt[k] = s->wrt[st->in[k].tensor];
        missing |= !in[k];
        any_wrt |= in_wrt[k];
    }
    const char *why = tlr_exec_cannot_run(l);
    tlr_status rc = TLR_OK;
    if (!missing && !why && (rs->cut = cut_layer(R, T, st)))
        l = rs->cut;
    if (missing || why) {
        tlr_exec_skip(&R->X, st->path, l, missing && !why,
                      why ? why : "an input could not be computed");
    } else if (l->op == TLR_OP_MODEL) {
        rc = run_nested(R, T, st, rs, in, in_wrt);
    } else {
        rs->strip = is_ref(&R->caps[0], T, st) ? R->strip : STRIP_NONE;
        rs->active = any_wrt;
        rc = run_layer(R, st, rs, l, in, out->t);
        out->wrt[0] = any_wrt;
        if (!rc && out->t[0] && (R->rq->n_capture || R->rq->want_output))
            rc = keep_for_caller(R, T, st, rs, l, in, out->t[0]);
        if (!rc && rs->active && out->t[0])
            hold_for_reverse(T, st, rs, l, in);
    }
    for (int k = 0; k < st->n_in; k++) {
        rslot *s = slot_of(T, &st->in[k]);
        s->refs[st->in[k].tensor]--;
        settle(R, s, st->in[k].tensor);
    }
    return rc;
}

/* The model's outputs go to the caller (copied when something here still reads them). */
static tlr_status take_outputs(run *R, tape *T, tlr_tensor **outputs, int *out_wrt)
{
    const tlr_model *m = T->p.m;
    for (int k = 0; k < m->n_outputs; k++) {
        const tlr_ref *r = &m->outputs[k];
        rslot *s = slot_of(T, r);
        tlr_tensor *t = s->t[r->tensor];
        out_wrt[k] = s->wrt[r->tensor];
        if (!t)
            continue;
        if (--s->refs[r->tensor] <= 0 && s->holds[r->tensor] <= 0) {
            outputs[k] = t;
            s->t[r->tensor] = NULL;
        } else if (!(outputs[k] = tlr_exec_clone(&R->X, t, m->name))) {
            return R->X.err->code;
        }
    }
    return TLR_OK;
}

/* 1 when step 'st' makes, or a model it runs holds, a value this run looks at: the score's
 * layer, the wrt layer, a capture. */
static int touches_target(const run *R, const tape *T, const tlr_step *st)
{
    const tlr_layer *l = &T->p.m->layers[st->layer];
    int n = R->rq->wrt ? 2 : 1;
    for (int c = 0; c < n + R->rq->n_capture; c++) {
        const tlr_capture_ref *ref = c < n ? &R->caps[c] : &R->extra[c - n];
        if ((ref->owner == T->p.m && ref->layer == st->layer) ||
            (l->op == TLR_OP_MODEL && l->inner && tlr_model_holds(l->inner, ref->owner)))
            return 1;
    }
    return 0;
}

/* How many first steps need no gradient and make nothing the run looks at: those run as the
 * forward pass runs them, with its chains and fused blocks (a MobileNetV2's Grad-CAM at its
 * last convolution: 10 ms an image layer by layer, about 1 fused). */
static int plain_steps(const run *R, const tape *T, const int *in_wrt)
{
    for (int i = 0; i < T->p.m->n_inputs; i++)
        if (in_wrt[i])
            return 0;
    int end = 0;
    while (end < T->p.n_steps && !touches_target(R, T, &T->p.steps[end]))
        end++;
    return tlr_exec_prefix_fits(&T->p, end);
}

/* Runs the plain first steps with the forward executor; their values go into the tape. */
static tlr_status run_plain(run *R, tape *T, tlr_tensor *const *inputs, int end)
{
    tlr_exec_value *v = tlr_xcalloc((size_t)T->p.n_values + 1, sizeof *v);
    tlr_status rc = tlr_exec_prefix(&R->X, &T->p, inputs, end, v);
    for (int i = 0; i < T->p.n_values; i++) {
        memcpy(T->s[i].t, v[i].t, sizeof v[i].t);
        memcpy(T->s[i].refs, v[i].refs, sizeof v[i].refs);
    }
    free(v);
    return rc;
}

static tlr_status tape_forward(run *R, tape *T, tlr_tensor *const *inputs, int n_inputs,
                               const int *in_wrt, tlr_tensor **outputs, int *out_wrt)
{
    if (n_inputs != T->p.m->n_inputs)
        return tlr_err_set(R->X.err, TLR_E_SHAPE, "%s: the model takes %d inputs, got %d",
                           T->p.m->name, T->p.m->n_inputs, n_inputs);
    int plain = plain_steps(R, T, in_wrt);
    tlr_status rc = plain > 1 ? run_plain(R, T, inputs, plain) : TLR_OK;
    for (int k = plain > 1 ? plain : 0; k < T->p.n_steps && !rc; k++) {
        const tlr_step *st = &T->p.steps[k];
        rc = st->kind == TLR_STEP_INPUT ? run_input(R, T, st, inputs, in_wrt)
                                        : run_call(R, T, st, &T->rs[k]);
        if (!rc)
            rc = note_targets(R, T, st, &T->rs[k]);
        for (int t = 0; t < TLR_MAX_OUTPUTS && !rc; t++)
            settle(R, &T->s[st->out], t);
    }
    if (!rc && T->want_outputs)
        rc = take_outputs(R, T, outputs, out_wrt);
    return rc;
}

/* ---- backward -------------------------------------------------------------------------------- */

static tlr_status tape_backward(run *R, tape *T, tlr_tensor **gout, tlr_tensor **gin);

/* The reverse op of an active call step, its input gradients added where they are wanted. */
static tlr_status back_call(run *R, tape *T, const tlr_step *st, rstep *rs)
{
    rslot *out = &T->s[st->out];
    tlr_tensor *dx[TLR_MAX_CALL_INPUTS] = { 0 }, *x[TLR_MAX_CALL_INPUTS];
    tlr_status rc = TLR_OK;
    if (rs->strip == STRIP_LAYER) {
        dx[0] = out->g[0];
        out->g[0] = NULL;
    } else {
        tlr_layer lin;
        for (int k = 0; k < st->n_in; k++)
            x[k] = slot_of(T, &st->in[k])->t[st->in[k].tensor];
        const tlr_layer *l = rs->cut ? rs->cut : &T->p.m->layers[st->layer];
        tlr_rev r = { &R->X, step_layer(l, rs->strip, 0, &lin),
                      st->path, st->n_in, rs->in_shape,
                      rs->needs & TLR_REV_NEED_IN ? x : NULL,
                      rs->needs & TLR_REV_NEED_OUT ? out->t[0] : NULL, rs->z, out->g[0], dx,
                      R->cache };
        rc = tlr_rev_op(&r);
    }
    for (int k = 0; k < st->n_in; k++) {
        rslot *s = slot_of(T, &st->in[k]);
        if (!rc && s->wrt[st->in[k].tensor])
            accumulate(R, s, st->in[k].tensor, dx[k]);
        else
            tlr_exec_drop(&R->X, dx[k]);
    }
    return rc;
}

/* A nested model's step: its outputs' gradients in, its inputs' gradients out. */
static tlr_status back_nested(run *R, tape *T, const tlr_step *st, rstep *rs)
{
    rslot *out = &T->s[st->out];
    tlr_tensor *gin[TLR_MAX_CALL_INPUTS] = { 0 };
    tlr_status rc = tape_backward(R, rs->child, out->g, gin);
    for (int t = 0; t < TLR_MAX_OUTPUTS; t++) { /* what the nested tape did not take */
        tlr_exec_drop(&R->X, out->g[t]);
        out->g[t] = NULL;
    }
    for (int k = 0; k < st->n_in; k++) {
        rslot *s = slot_of(T, &st->in[k]);
        if (!rc && s->wrt[st->in[k].tensor])
            accumulate(R, s, st->in[k].tensor, gin[k]);
        else
            tlr_exec_drop(&R->X, gin[k]);
    }
    return rc;
}

/* After step 'st' went back: what it held goes. */
static void release_holds(run *R, tape *T, const tlr_step *st, rstep *rs)
{
    rslot *out = &T->s[st->out];
    for (int k = 0; (rs->needs & TLR_REV_NEED_IN) && k < st->n_in; k++) {
        rslot *s = slot_of(T, &st->in[k]);
        s->holds[st->in[k].tensor]--;
        settle(R, s, st->in[k].tensor);
    }
    if (rs->needs & TLR_REV_NEED_OUT)
        out->holds[0]--;
    rs->needs = 0;
    tlr_exec_drop(&R->X, rs->z);
    rs->z = NULL;
    for (int t = 0; t < TLR_MAX_OUTPUTS; t++) {
        settle(R, out, t);
        tlr_exec_drop(&R->X, out->g[t]);
        out->g[t] = NULL;
    }
    tape_free(R, rs->child);
    rs->child = NULL;
}

static tlr_status back_step(run *R, tape *T, int k, tlr_tensor **gin)
{
    const tlr_step *st = &T->p.steps[k];
    rstep *rs = &T->rs[k];
    rslot *out = &T->s[st->out];
    tlr_status rc = TLR_OK;
    if (rs->is_wrt && !R->res->grad && out->g[0]) {
        R->res->grad = out->g[0];
        out->g[0] = NULL;
    }
    if (st->kind == TLR_STEP_INPUT) {
        if (st->input >= 0)
            gin[st->input] = out->g[0];
        out->g[0] = NULL;
    } else if (rs->child) {
        rc = back_nested(R, T, st, rs);
    } else if (rs->active && out->g[0]) {
        rc = back_call(R, T, st, rs);
    }
    release_holds(R, T, st, rs);
    return rc;
}

static tlr_status tape_backward(run *R, tape *T, tlr_tensor **gout, tlr_tensor **gin)
{
    if (T->want_outputs)
        for (int k = 0; k < T->p.m->n_outputs; k++) {
            const tlr_ref *r = &T->p.m->outputs[k];
            accumulate(R, slot_of(T, r), r->tensor, gout[k]);
            gout[k] = NULL;
        }
    tlr_status rc = TLR_OK;
    for (int k = T->p.n_steps - 1; k >= 0 && !rc; k--)
        rc = back_step(R, T, k, gin);
    return rc;
}

/* ---- the run --------------------------------------------------------------------------------- */

void tlr_grad_score_info(const tlr_model *m, tlr_score_info *out)
{
    const tlr_model *o = m;
    int i = m->outputs[0].layer;
    while (o->layers[i].op == TLR_OP_MODEL && o->layers[i].inner->n_outputs > 0) {
        o = o->layers[i].inner;
        i = o->outputs[0].layer;
    }
    const tlr_layer *l = &o->layers[i];
    const tlr_act_params *own = tlr_rev_own_act(l);
    tlr_act k = l->op == TLR_OP_ACTIVATION ? l->cfg.act.act.kind
                : own ? own->kind : TLR_ACT_LINEAR;
    int final = k == TLR_ACT_SOFTMAX || k == TLR_ACT_SIGMOID;
    *out = (tlr_score_info){ o, i, final ? k : TLR_ACT_LINEAR,
                             final && l->op == TLR_OP_ACTIVATION };
}

/* The layer making the model's first output, and how it leaves out a final softmax or
 * sigmoid (oracle_grad.py's output_leaf and GradRunner.layer). */
static void score_layer(const tlr_model *m, tlr_capture_ref *ref, int *strip)
{
    tlr_score_info si;
    tlr_grad_score_info(m, &si);
    *ref = (tlr_capture_ref){ si.owner, si.layer };
    *strip = si.final_act == TLR_ACT_LINEAR ? STRIP_NONE
             : si.whole_layer ? STRIP_LAYER : STRIP_ACT;
}

static tlr_status setup(run *R, const tlr_model *m, const tlr_tensor *x, tlr_err *err)
{
    const tlr_grad_request *rq = R->rq;
    if (m->n_inputs != 1)
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "gradients are computed for models with "
                           "one input; this one has %d", m->n_inputs);
    if (x->ndim < 1 || x->shape[0] < 1)
        return tlr_err_set(err, TLR_E_SHAPE, "the input holds no image");
    tlr_status st = TLR_OK;
    if (rq->kind == TLR_SCORE_CLASS) {
        if (m->n_outputs < 1)
            return tlr_err_set(err, TLR_E_FORMAT, "the model has no output");
        score_layer(m, &R->caps[0], &R->strip);
    } else {
        st = tlr_exec_capture_ref(m, rq->target ? rq->target : "", &R->caps[0], err);
    }
    if (!st && rq->wrt)
        st = tlr_exec_capture_ref(m, rq->wrt, &R->caps[1], err);
    if (rq->n_capture > 0) {
        R->extra = tlr_xcalloc((size_t)rq->n_capture, sizeof *R->extra);
        R->res->fwd.captured = tlr_xcalloc((size_t)rq->n_capture, sizeof *R->res->fwd.captured);
        R->res->fwd.n_captured = rq->n_capture;
    }
    for (int k = 0; k < rq->n_capture && !st; k++)
        st = tlr_exec_capture_ref(m, rq->capture[k], &R->extra[k], err);
    R->X.caps = R->caps;
    R->X.n_caps = rq->wrt ? 2 : 1;
    return st;
}

/* The error when the scalar or the wrt value was never made. */
static tlr_status not_computed(run *R, const char *what)
{
    const tlr_forward_result *f = &R->res->fwd;
    return tlr_err_set(R->X.err, TLR_E_UNSUPPORTED, "%s could not be computed%s%s%s", what,
                       f->n_skipped ? " (" : "", f->n_skipped ? f->skipped[0] : "",
                       f->n_skipped ? ")" : "");
}

static tlr_status forward_and_back(run *R, tape *top, const tlr_tensor *x)
{
    int in_wrt = R->rq->wrt == NULL;
    tlr_tensor *in = (tlr_tensor *)x;
    tlr_status st = tape_forward(R, top, &in, 1, &in_wrt, NULL, NULL);
    if (!st && !R->seeded)
        st = not_computed(R, R->rq->kind == TLR_SCORE_CLASS ? "the model's output"
                                                           : "the target layer");
    if (!st && R->rq->wrt && !R->wrt_seen)
        st = not_computed(R, "the layer of the gradient");
    tlr_tensor *gin = NULL;
    if (!st)
        st = tape_backward(R, top, NULL, &gin);
    if (!st && !R->rq->wrt) {
        R->res->grad = gin;
        gin = NULL;
    }
    tlr_exec_drop(&R->X, gin);
    return st;
}

tlr_status tlr_grad_run(const tlr_model *m, const tlr_tensor *x, const tlr_grad_request *rq,
                        const tlr_forward_opts *opts, tlr_grad_cache *cache,
                        tlr_grad_result *res, tlr_err *err)
{
    tlr_exec_keep_freed_memory();
    memset(res, 0, sizeof *res);
    run R = { .rq = rq, .res = res };
    /* fused blocks only where no gradient goes (plain_steps): each reverse op needs its own
     * layer's values */
    R.X = (tlr_exec){ .opts = opts, .res = &res->fwd, .err = err };
    tlr_status st = setup(&R, m, x, err);
    if (st) {
        free(R.extra);
        tlr_grad_result_free(res);
        return st;
    }
    res->n = (int)x->shape[0];
    res->score = tlr_xcalloc((size_t)res->n, sizeof *res->score);
    res->index = tlr_xcalloc((size_t)res->n, sizeof *res->index);
    R.cache = cache ? cache : tlr_grad_cache_new();
    tape *top = tape_new(&R, m, "", 0);
    st = forward_and_back(&R, top, x);
    tape_free(&R, top);
    free(R.extra);
    if (!cache)
        tlr_grad_cache_free(R.cache);
    if (!st && !rq->wrt)
        res->value = tlr_tensor_clone(x);
    if (!st && !res->grad) { /* the score does not depend on it */
        res->grad = tlr_tensor_new(res->value->ndim, res->value->shape);
        memset(res->grad->data, 0, tlr_exec_bytes(res->grad));
    }
    if (st)
        tlr_grad_result_free(res);
    return st;
}

void tlr_grad_result_free(tlr_grad_result *res)
{
    tlr_tensor_free(res->value);
    tlr_tensor_free(res->grad);
    free(res->score);
    free(res->index);
    tlr_forward_result_free(&res->fwd);
    memset(res, 0, sizeof *res);
}
