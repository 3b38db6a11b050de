/* forward.c - the forward pass: plans each model (plan.c), then walks the plan step by
 * step: runs the call (exec.c) or the block it heads (exec_block.c), applies a chain's
 * folding, releases what no later step reads, profiles, copies captures; nested models run
 * the same way, one plan each, reading their inputs where the caller holds them. */
#include "engine/forward.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "engine/exec.h"

/* The run-time state of one value slot. */
typedef struct {
    tlr_tensor *t[TLR_MAX_OUTPUTS];
    int refs[TLR_MAX_OUTPUTS]; /* reads still to come */
    int borrowed;              /* t[0] is one of the model's inputs: read, never freed here */
    int fused;                 /* made by the convolution heading its chain or block */
    int in_block;              /* made inside a block (no profile row of its own) */
    int block_n;               /* a block's head: how many layers it ran, and their */
    int64_t block_flops;       /* operations (its profile row) */
} slot;

/* One model's run: its plan, its slots and its inputs. */
typedef struct {
    tlr_exec *X;
    const tlr_plan *p;
    slot *s;
    tlr_tensor *const *inputs;
    int no_capture; /* a partial run for the reverse pass, which captures its own way */
} walk;

static slot *slot_of(const walk *W, const tlr_ref *r)
{
    return &W->s[tlr_plan_slot(W->p, r)];
}

/* Empties tensor 't' of slot 's', freeing it unless it is borrowed. */
static void drop(tlr_exec *X, slot *s, int t)
{
    if (!(t == 0 && s->borrowed))
        tlr_exec_drop(X, s->t[t]);
    s->t[t] = NULL;
}

/* One read of tensor 't' of slot 's' is done: frees it after its last. */
static void release(tlr_exec *X, slot *s, int t)
{
    if (--s->refs[t] == 0)
        drop(X, s, t);
}

static void release_ref(const walk *W, const tlr_ref *r)
{
    release(W->X, slot_of(W, r), r->tensor);
}

/* ---- one step -------------------------------------------------------------------------------- */

/* The model's input is read where it is: the caller's tensor outlives the run (a nested
 * model's input stays in its caller's slot until the call returns), and no op writes to
 * its inputs. */
static tlr_status run_input(const walk *W, const tlr_step *st)
{
    if (st->input < 0)
        return tlr_err_set(W->X->err, TLR_E_FORMAT, "input layer '%s' is not a model input",
                           st->path);
    W->s[st->out].t[0] = W->inputs[st->input];
    W->s[st->out].borrowed = 1;
    return TLR_OK;
}

/* The chain ran: its result belongs to its last layer ('n' folded); the ones between are
 * done with their values left empty; the Add's other branch is read, as the Add would. */
static const tlr_tensor *finish_chain(const walk *W, const tlr_step *st, const tlr_chain *ch,
                                      int n)
{
    slot *head = &W->s[st->out], *last = &W->s[W->p->first[ch->layer[n - 1]]];
    for (int k = 1; k < n; k++)
        W->s[W->p->first[ch->layer[k]]].fused = 1;
    last->t[0] = head->t[0];
    head->t[0] = NULL;
    if (ch->add && n > ch->add)
        release_ref(W, ch->add_other);
    return last->t[0];
}

/* Runs the block the step heads on 'x' when it applies (*done): its result belongs to the
 * last layer it computed, the ones between are done with their values left empty, and the
 * Add's other branch is read, as the Add would. */
static tlr_status run_block(const walk *W, const tlr_step *st, const tlr_tensor *x,
                            const tlr_tensor **made, int *done)
{
    const tlr_block *b = &W->p->blocks[st->block];
    const tlr_chain *pc = &b->part[2];
    const tlr_tensor *other = pc->add ? slot_of(W, pc->add_other)->t[pc->add_other->tensor]
                                      : NULL;
    tlr_block_run r;
    tlr_status rc = tlr_exec_block(W->X, W->p, b, x, other, &r);
    *done = r.n > 0;
    if (rc || !r.n)
        return rc;
    for (int k = 1; k < r.n; k++) {
        slot *in = &W->s[W->p->first[b->layer[k]]];
        in->fused = in->in_block = 1;
    }
    W->s[W->p->first[b->layer[r.n - 1]]].t[0] = r.y;
    if (pc->add && r.n > b->n - pc->n + pc->add)
        release_ref(W, pc->add_other);
    W->s[st->out].block_n = r.n;
    W->s[st->out].block_flops = r.flops;
    *made = r.y;
    return TLR_OK;
}

/* Runs the call with its inputs 'in', as the block or chain it heads when it has one.
 * *made: the value the block or chain made (NULL without one). */
static tlr_status run_call(const walk *W, const tlr_step *st, tlr_tensor **in,
                           const tlr_tensor **made)
{
    tlr_exec *X = W->X;
    const tlr_layer *l = &W->p->m->layers[st->layer];
    const tlr_chain *ch = st->chain >= 0 ? &W->p->chains[st->chain] : NULL;
    int done = 0;
    if (st->block >= 0) {
        tlr_status rc = run_block(W, st, in[0], made, &done);
        if (rc || done)
            return rc;
    }
    tlr_conv_post post;
    int n = 1;
    if (ch) {
        const tlr_tensor *other = NULL;
        if (ch->add)
            other = slot_of(W, ch->add_other)->t[ch->add_other->tensor];
        n = tlr_fusion_post(ch, &l->calls[0].out[0], other, &post);
    }
    X->post = n > 1 ? &post : NULL;
    tlr_status rc = tlr_exec_call(X, l, st->path, in, st->n_in, W->s[st->out].t);
    X->post = NULL;
    if (rc == TLR_E_UNSUPPORTED) {
        tlr_exec_skip(X, st->path, l, 0, X->err->msg);
        return TLR_OK;
    }
    if (!rc && n > 1 && W->s[st->out].t[0])
        *made = finish_chain(W, st, ch, n);
    return rc;
}

/* A call step: gathers the inputs (a deferred padding's input, padded by the reader), runs
 * or skips the call, then releases the inputs. */
static tlr_status run_step_call(const walk *W, const tlr_step *st, const tlr_tensor **made)
{
    tlr_exec *X = W->X;
    const tlr_layer *l = &W->p->m->layers[st->layer];
    tlr_tensor *in[TLR_MAX_CALL_INPUTS];
    int missing = 0;
    for (int k = 0; k < st->n_in; k++)
        if (!(in[k] = slot_of(W, &st->in[k])->t[st->in[k].tensor]))
            missing = 1;
    tlr_shape padded;
    if (st->pad_in) {
        in[0] = slot_of(W, st->pad_in)->t[st->pad_in->tensor];
        missing = !in[0];
        if (in[0]) {
            padded = tlr_exec_shape(in[0]);
            padded.d[1] += st->pad->amount[0] + st->pad->amount[1];
            padded.d[2] += st->pad->amount[2] + st->pad->amount[3];
            X->in0_shape = &padded;
            X->pad_top = st->pad->amount[0];
            X->pad_left = st->pad->amount[2];
        }
    }
    tlr_status rc = TLR_OK;
    const char *why = tlr_exec_cannot_run(l);
    if (missing || why)
        tlr_exec_skip(X, st->path, l, missing && !why,
                      why ? why : "an input could not be computed");
    else
        rc = run_call(W, st, in, made);
    X->in0_shape = NULL;
    X->pad_top = X->pad_left = 0;
    if (st->pad_in)
        release_ref(W, st->pad_in);
    for (int k = 0; k < st->n_in; k++)
        release_ref(W, &st->in[k]);
    return rc;
}

/* --profile: the time and operations of one step ('made': its output, if it made one); a
 * block's head stands for the whole block. */
static void profile(const walk *W, const tlr_step *st, const struct timespec *t0,
                    const struct timespec *t1, const tlr_tensor *made)
{
    const tlr_model *m = W->p->m;
    const tlr_layer *l = &m->layers[st->layer];
    const slot *val = &W->s[st->out];
    tlr_forward_result *r = W->X->res;
    if (val->in_block)
        return;
    r->times = tlr_xrealloc(r->times, (size_t)(r->n_times + 1) * sizeof *r->times);
    tlr_layer_time *lt = &r->times[r->n_times++];
    lt->ms = (double)(t1->tv_sec - t0->tv_sec) * 1e3 + (double)(t1->tv_nsec - t0->tv_nsec) / 1e6;
    lt->flops = 0;
    if (val->block_n) {
        lt->path = tlr_exec_block_name(W->p, &W->p->blocks[st->block], val->block_n, st->path);
        lt->flops = val->block_flops;
        return;
    }
    lt->path = tlr_xstrdup(st->path);
    const tlr_ref *r0 = l->n_calls && l->calls[st->call].n_in ? &l->calls[st->call].in[0] : NULL;
    if (r0 && made) {
        /* the input may be freed already; recompute from shapes */
        tlr_shape s = m->layers[r0->layer].calls[r0->call].out[r0->tensor];
        tlr_tensor fake = { s.ndim, { 0 }, NULL };
        memcpy(fake.shape, s.d, sizeof s.d);
        fake.shape[0] = made->shape[0];
        lt->flops = tlr_exec_flops(l, &fake, made);
    }
}

/* Captures take a copy of call 0. */
static void capture(const walk *W, const tlr_step *st)
{
    tlr_exec *X = W->X;
    const tlr_tensor *t = W->s[st->out].t[0];
    if (st->call != 0 || !t)
        return;
    for (int k = 0; k < X->n_caps; k++)
        if (X->caps[k].owner == W->p->m && X->caps[k].layer == st->layer &&
            !X->res->captured[k])
            X->res->captured[k] = tlr_tensor_clone(t);
}

static tlr_status run_step(const walk *W, const tlr_step *st)
{
    tlr_exec *X = W->X;
    const tlr_layer *l = &W->p->m->layers[st->layer];
    slot *val = &W->s[st->out];
    struct timespec t0 = { 0 }, t1 = { 0 };
    int timed = X->opts && X->opts->profile; /* clock reads only for --profile */
    if (timed)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    const tlr_tensor *made = NULL; /* this call's output, for the profile */
    int none = val->fused || st->kind == TLR_STEP_PAD_DEFERRED; /* nothing to compute */
    tlr_status rc = TLR_OK;
    if (!none && st->kind == TLR_STEP_INPUT) {
        if ((rc = run_input(W, st)))
            return rc;
    } else if (!none) {
        rc = run_step_call(W, st, &made);
    }
    if (timed)
        clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!made && !none)
        made = val->t[0];
    if (!rc && timed && l->op != TLR_OP_INPUT && l->op != TLR_OP_MODEL)
        profile(W, st, &t0, &t1, made);
    if (rc)
        return rc;
    if (!W->no_capture)
        capture(W, st);
    for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
        if (val->t[t] && val->refs[t] == 0)
            drop(X, val, t);
    return TLR_OK;
}

/* ---- one model ------------------------------------------------------------------------------- */

/* The model's outputs move to the caller (copied when a later read remains, or when the
 * output is an input). */
static void take_outputs(const walk *W, tlr_tensor **outputs)
{
    const tlr_model *m = W->p->m;
    for (int k = 0; k < m->n_outputs; k++) {
        const tlr_ref *r = &m->outputs[k];
        slot *src = slot_of(W, r);
        outputs[k] = src->t[r->tensor];
        int owned = !(r->tensor == 0 && src->borrowed);
        if (--src->refs[r->tensor] == 0 && owned) {
            src->t[r->tensor] = NULL;
        } else if (outputs[k]) {
            outputs[k] = tlr_tensor_clone(outputs[k]);
            W->X->live_bytes += (int64_t)tlr_exec_bytes(outputs[k]);
        }
    }
}

/* A walk of plan 'p' on 'inputs', every value waiting for all its reads. */
static walk walk_begin(tlr_exec *X, const tlr_plan *p, tlr_tensor *const *inputs, int no_capture)
{
    walk W = { X, p, tlr_xcalloc((size_t)p->n_values + 1, sizeof *W.s), inputs, no_capture };
    for (int i = 0; i < p->n_values; i++)
        memcpy(W.s[i].refs, p->values[i].readers, sizeof W.s[i].refs);
    return W;
}

tlr_status tlr_exec_model(tlr_exec *X, const tlr_model *m, const char *prefix,
                          tlr_tensor *const *inputs, int n_inputs, int want_outputs,
                          tlr_tensor **outputs)
{
    if (n_inputs != m->n_inputs)
        return tlr_err_set(X->err, TLR_E_SHAPE, "%s: the model takes %d inputs, got %d",
                           prefix[0] ? prefix : m->name, m->n_inputs, n_inputs);
    tlr_plan p;
    tlr_plan_build(X, m, prefix, want_outputs, &p);
    walk W = walk_begin(X, &p, inputs, 0);
    tlr_status rc = TLR_OK;
    for (int k = 0; k < p.n_steps && !rc; k++)
        rc = run_step(&W, &p.steps[k]);
    if (!rc && want_outputs)
        take_outputs(&W, outputs);
    for (int i = 0; i < p.n_values; i++)
        for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
            drop(X, &W.s[i], t);
    free(W.s);
    tlr_plan_free(&p);
    if (rc)
        return rc;
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            if (!outputs[k])
                return TLR_E_UNSUPPORTED; /* an output could not be computed */
    return TLR_OK;
}

tlr_status tlr_exec_prefix(tlr_exec *X, const tlr_plan *p, tlr_tensor *const *inputs, int end,
                           tlr_exec_value *values)
{
    walk W = walk_begin(X, p, inputs, 1);
    tlr_status rc = TLR_OK;
    for (int k = 0; k < end && !rc; k++)
        rc = run_step(&W, &p->steps[k]);
    for (int i = 0; i < p->n_values; i++) {
        slot *s = &W.s[i];
        memcpy(values[i].refs, s->refs, sizeof s->refs);
        for (int t = 0; t < TLR_MAX_OUTPUTS; t++) {
            values[i].t[t] = NULL;
            if (!s->t[t] || rc) {
                drop(X, s, t);
                continue;
            }
            if (t == 0 && s->borrowed) { /* the caller's input: the receiver frees its own */
                if (!(values[i].t[t] = tlr_exec_clone(X, s->t[t], p->m->name)))
                    rc = X->err->code;
            } else {
                values[i].t[t] = s->t[t];
            }
            s->t[t] = NULL;
        }
    }
    free(W.s);
    return rc;
}

/* 1 when step k, run by a partial run ending at 'end', would leave a value a later step
 * needs unmade: it heads a chain or block reaching past 'end', or it is a deferred padding
 * read past 'end'.  step_of: the step making each value slot. */
static int cut_at(const tlr_plan *p, const int *step_of, int k, int end)
{
    const tlr_step *st = &p->steps[k];
    const int *layers = NULL;
    int n = 0;
    if (st->block >= 0)
        layers = p->blocks[st->block].layer, n = p->blocks[st->block].n;
    else if (st->chain >= 0)
        layers = p->chains[st->chain].layer, n = p->chains[st->chain].n;
    for (int j = 0; j < n; j++)
        if (step_of[p->first[layers[j]]] >= end)
            return 1;
    if (st->kind == TLR_STEP_PAD_DEFERRED)
        for (int j = end; j < p->n_steps; j++)
            if (p->steps[j].pad_in && p->steps[j].n_in > 0 &&
                tlr_plan_slot(p, &p->steps[j].in[0]) == st->out)
                return 1;
    return 0;
}

int tlr_exec_prefix_fits(const tlr_plan *p, int end)
{
    int *step_of = tlr_xmalloc((size_t)(p->n_values + 1) * sizeof *step_of);
    for (int i = 0; i < p->n_values; i++)
        step_of[i] = -1;
    for (int k = 0; k < p->n_steps; k++)
        step_of[p->steps[k].out] = k;
    for (int k = end - 1; k >= 0; k--)
        if (cut_at(p, step_of, k, end)) {
            end = k; /* that step runs on its own after the partial run */
            k = end; /* and what came before is checked against the new end */
        }
    free(step_of);
    return end;
}

int tlr_forward_layerwise(const tlr_model *m)
{
    tlr_forward_result res = { 0 };
    tlr_err err = { 0 };
    tlr_exec X = { .res = &res, .err = &err };
    tlr_plan p;
    tlr_plan_build(&X, m, "", 1, &p);
    int alone = p.n_chains == 0 && p.n_blocks == 0;
    tlr_plan_free(&p);
    for (int i = 0; i < m->n_layers && alone; i++)
        if (m->layers[i].op == TLR_OP_MODEL && m->layers[i].inner)
            alone = tlr_forward_layerwise(m->layers[i].inner);
    return alone;
}

tlr_status tlr_forward_run(const tlr_model *m, const tlr_tensor *const *inputs, int n_inputs,
                           const char *const *capture, int n_capture, int want_outputs,
                           const tlr_forward_opts *opts, tlr_forward_result *res, tlr_err *err)
{
    tlr_exec_keep_freed_memory();
    memset(res, 0, sizeof *res);
    tlr_capture_ref *caps = tlr_xcalloc((size_t)n_capture + 1, sizeof *caps);
    for (int i = 0; i < n_capture; i++) {
        tlr_status st = tlr_exec_capture_ref(m, capture[i], &caps[i], err);
        if (st) {
            free(caps);
            return st;
        }
    }
    res->captured = tlr_xcalloc((size_t)n_capture + 1, sizeof *res->captured);
    res->n_captured = n_capture;
    res->outputs = tlr_xcalloc((size_t)m->n_outputs + 1, sizeof *res->outputs);
    res->n_outputs = want_outputs ? m->n_outputs : 0;
    tlr_exec X = { .opts = opts, .res = res, .err = err, .caps = caps, .n_caps = n_capture };
    tlr_tensor **in = tlr_xcalloc((size_t)n_inputs + 1, sizeof *in);
    for (int i = 0; i < n_inputs; i++)
        in[i] = (tlr_tensor *)inputs[i];
    tlr_status st = tlr_exec_model(&X, m, "", in, n_inputs, want_outputs, res->outputs);
    if (st == TLR_E_UNSUPPORTED)
        st = TLR_OK; /* outputs missing: reported through res->skipped */
    free(in);
    free(caps);
    if (st)
        tlr_forward_result_free(res);
    return st;
}

void tlr_forward_result_free(tlr_forward_result *res)
{
    for (int i = 0; i < res->n_captured; i++)
        tlr_tensor_free(res->captured[i]);
    free(res->captured);
    for (int i = 0; res->outputs && i < res->n_outputs; i++)
        tlr_tensor_free(res->outputs[i]);
    free(res->outputs);
    for (int i = 0; i < res->n_skipped; i++) {
        free(res->skipped[i]);
        free(res->skips[i].path);
        free(res->skips[i].detail);
    }
    free(res->skipped);
    free(res->skips);
    for (int i = 0; i < res->n_times; i++)
        free(res->times[i].path);
    free(res->times);
    memset(res, 0, sizeof *res);
}

tlr_shape tlr_forward_input_shape(const tlr_model *m, int index)
{
    tlr_shape s = { 0, { 0 } };
    if (index < 0 || index >= m->n_inputs)
        return s;
    return m->layers[m->inputs[index].layer].input_shape;
}
