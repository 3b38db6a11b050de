/* plan.c - plans the run of one model: which calls are needed, in what order, who reads
 * each value and when last, which paddings and chains fold into a convolution and which
 * layers run as one block (fusion.c).
 * The plan is plain data: the forward run walks it; a reverse pass can walk it backwards. */
#include "engine/exec.h"

#include <stdlib.h>

#include "base/xalloc.h"

static int n_calls_of(const tlr_layer *l)
{
    return l->n_calls ? l->n_calls : 1;
}

/* Value slots, and which are needed and how often read: model outputs, captures in this
 * model (call 0), nested models holding a capture, and all they read, back to the inputs. */
static void plan_values(const tlr_exec *X, const tlr_model *m, int want_outputs, tlr_plan *p)
{
    int n = m->n_layers;
    p->first = tlr_xcalloc((size_t)n + 1, sizeof *p->first);
    for (int i = 0; i < n; i++)
        p->first[i + 1] = p->first[i] + n_calls_of(&m->layers[i]);
    p->n_values = p->first[n];
    p->values = tlr_xcalloc((size_t)p->n_values + 1, sizeof *p->values);
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            p->values[tlr_plan_slot(p, &m->outputs[k])].needed = 1;
    for (int c = 0; c < X->n_caps; c++) {
        if (X->caps[c].owner == m)
            p->values[p->first[X->caps[c].layer]].needed = 1;
        for (int i = 0; i < n; i++)
            if (m->layers[i].inner && tlr_model_holds(m->layers[i].inner, X->caps[c].owner))
                p->values[p->first[i]].needed = 1;
    }
    for (int oi = m->n_order - 1; oi >= 0; oi--) {
        const tlr_layer *l = &m->layers[m->order[oi]];
        for (int c = 0; c < l->n_calls; c++) {
            if (!p->values[p->first[m->order[oi]] + c].needed)
                continue;
            for (int k = 0; k < l->calls[c].n_in; k++) {
                tlr_plan_value *v = &p->values[tlr_plan_slot(p, &l->calls[c].in[k])];
                v->needed = 1;
                v->readers[l->calls[c].in[k].tensor]++;
            }
        }
    }
    if (want_outputs)
        for (int k = 0; k < m->n_outputs; k++)
            p->values[tlr_plan_slot(p, &m->outputs[k])].readers[m->outputs[k].tensor]++;
    for (int i = 0; i < p->n_values; i++)
        for (int t = 0; t < TLR_MAX_OUTPUTS; t++)
            p->values[i].last_read[t] = -1;
}

/* Where each layer's first output is first read, scanning layers, calls and inputs in
 * order (what fusion.c asks of a layer's reader). */
static tlr_first_reader *first_readers(const tlr_model *m)
{
    tlr_first_reader *fr = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *fr);
    for (int i = 0; i < m->n_layers; i++)
        fr[i] = (tlr_first_reader){ .layer = -1, .chain = -2 };
    for (int j = 0; j < m->n_layers; j++) {
        const tlr_layer *l = &m->layers[j];
        for (int c = 0; c < l->n_calls; c++)
            for (int k = 0; k < l->calls[c].n_in; k++) {
                const tlr_ref *r = &l->calls[c].in[k];
                if (r->call == 0 && r->tensor == 0 && fr[r->layer].layer < 0)
                    fr[r->layer] = (tlr_first_reader){ j, c, k, -2 };
            }
    }
    return fr;
}

static int model_input_index(const tlr_model *m, int layer)
{
    for (int k = 0; k < m->n_inputs; k++)
        if (m->inputs[k].layer == layer)
            return k;
    return -1;
}

/* The step of call 'c' of layer 'i'. */
static tlr_step plan_step(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int i, int c)
{
    const tlr_model *m = p->m;
    const tlr_layer *l = &m->layers[i];
    tlr_step s = { .layer = i, .call = c, .kind = TLR_STEP_CALL, .path = p->paths[i],
                   .out = p->first[i] + c, .input = -1, .chain = -1, .block = -1 };
    if (l->op == TLR_OP_INPUT) {
        s.kind = TLR_STEP_INPUT;
        s.input = model_input_index(m, i);
        return s;
    }
    if (l->n_calls) {
        s.in = l->calls[c].in;
        s.n_in = l->calls[c].n_in;
    }
    if (c == 0 && tlr_fusion_pad_defer(X, p, fr, i)) {
        s.kind = TLR_STEP_PAD_DEFERRED;
        p->values[s.out].deferred = 1;
        return s;
    }
    if (s.n_in == 1 && p->values[tlr_plan_slot(p, &s.in[0])].deferred) {
        const tlr_layer *pl = &m->layers[s.in[0].layer];
        s.pad_in = &pl->calls[0].in[0];
        s.pad = &pl->cfg.pad;
    }
    if (c == 0)
        s.chain = tlr_fusion_chain_of(X, p, fr, i);
    tlr_block b;
    if (c == 0 && tlr_fusion_block(X, p, fr, i, s.pad_in ? s.pad : NULL, &b)) {
        s.block = p->n_blocks;
        p->blocks[p->n_blocks++] = b;
    }
    return s;
}

/* "prefix/name", or "name" at the top (planned on every pass: no printf machinery). */
static char *layer_path(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = tlr_xmalloc(a + b + 2), *e = s;
    if (a) {
        memcpy(e, prefix, a);
        e += a;
        *e++ = '/';
    }
    memcpy(e, name, b + 1);
    return s;
}

/* The steps: the needed calls in topological order, calls of a layer in index order. */
static void plan_steps(const tlr_exec *X, const char *prefix, tlr_plan *p)
{
    const tlr_model *m = p->m;
    tlr_first_reader *fr = first_readers(m);
    p->steps = tlr_xcalloc((size_t)p->n_values + 1, sizeof *p->steps);
    p->chains = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *p->chains);
    p->blocks = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *p->blocks);
    p->paths = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *p->paths);
    for (int oi = 0; oi < m->n_order; oi++) {
        int i = m->order[oi];
        const tlr_layer *l = &m->layers[i];
        for (int c = 0; c < n_calls_of(l); c++) {
            if (!p->values[p->first[i] + c].needed)
                continue;
            if (!p->paths[i])
                p->paths[i] = layer_path(prefix, l->name);
            tlr_step *s = &p->steps[p->n_steps];
            *s = plan_step(X, p, fr, i, c);
            for (int k = 0; k < s->n_in; k++)
                p->values[tlr_plan_slot(p, &s->in[k])].last_read[s->in[k].tensor] = p->n_steps;
            p->n_steps++;
        }
    }
    free(fr);
}

void tlr_plan_build(const tlr_exec *X, const tlr_model *m, const char *prefix,
                    int want_outputs, tlr_plan *p)
{
    *p = (tlr_plan){ .m = m };
    plan_values(X, m, want_outputs, p);
    plan_steps(X, prefix, p);
}

void tlr_plan_free(tlr_plan *p)
{
    for (int i = 0; i < p->n_chains; i++)
        free(p->chains[i].scale);
    for (int i = 0; i < p->n_blocks; i++)
        tlr_fusion_block_free(&p->blocks[i]);
    free(p->blocks);
    for (int i = 0; p->paths && i < p->m->n_layers; i++)
        free(p->paths[i]);
    free(p->paths);
    free(p->chains);
    free(p->steps);
    free(p->values);
    free(p->first);
    *p = (tlr_plan){ 0 };
}
