/* keras_config_graph.c - how a model's layers connect: inbound nodes in every dialect
 * Keras wrote them, a Sequential's chain, a functional model's calls, inputs and outputs;
 * the layers a mask reaches; the order layers run in. */
#include <string.h>

#include "base/xalloc.h"
#include "keras/keras_config_parse.h"

/* ---- inbound nodes ------------------------------------------------------------------------- */

/* A named reference before resolution. */
typedef struct {
    char *layer;
    int node, tensor;
    int dict_form;   /* from a Keras 3 keras_history: the node index as Keras ran it */
} raw_ref;

typedef struct {
    raw_ref *refs;
    int n, cap;
} raw_refs;

static void refs_push(raw_refs *r, const char *name, int node, int tensor, int dict_form)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->refs = tlr_xrealloc(r->refs, (size_t)r->cap * sizeof *r->refs);
    }
    r->refs[r->n].layer = tlr_xstrdup(name);
    r->refs[r->n].node = node;
    r->refs[r->n].tensor = tensor;
    r->refs[r->n].dict_form = dict_form;
    r->n++;
}

static void refs_free(raw_refs *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->refs[i].layer);
    free(r->refs);
    r->refs = NULL;
    r->n = r->cap = 0;
}

/* [name, node, tensor] with a string and two numbers. */
static int is_ref_triple(const tlr_json *v)
{
    return tlr_json_is_array(v) && tlr_json_size(v) == 3 && tlr_json_is_string(tlr_json_at(v, 0)) &&
           tlr_json_is_number(tlr_json_at(v, 1)) && tlr_json_is_number(tlr_json_at(v, 2));
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(tlr_json_key(*(const tlr_json *const *)a),
                  tlr_json_key(*(const tlr_json *const *)b));
}

/* Every tensor reference in a serialised structure, in the order Keras's tree.flatten gives:
 * lists in order, dicts by sorted key.  A __keras_tensor__ object is a reference (its
 * keras_history); with 'triples' (model inputs and outputs) so is a [name, node, tensor]
 * list.  __tuple__ wrappers are walked; other serialised objects, strings, numbers are
 * constants.  Returns 0, or -1 when malformed. */
static int collect_refs(const tlr_json *v, int triples, raw_refs *out, int depth)
{
    if (depth > 16)
        return -1;
    if (tlr_json_is_array(v)) {
        if (triples && tlr_json_is_string(tlr_json_first(v))) {
            if (!is_ref_triple(v))
                return -1;
            refs_push(out, tlr_json_string(tlr_json_at(v, 0), ""),
                      tlr_json_int(tlr_json_at(v, 1), 0), tlr_json_int(tlr_json_at(v, 2), 0), 0);
            return 0;
        }
        for (const tlr_json *e = tlr_json_first(v); e; e = tlr_json_next(e))
            if (collect_refs(e, triples, out, depth + 1))
                return -1;
        return 0;
    }
    if (!tlr_json_is_object(v))
        return 0;
    const char *cls = tlr_json_get_string(v, "class_name", NULL);
    const tlr_json *cfg = tlr_json_get(v, "config");
    if (cls && strcmp(cls, "__keras_tensor__") == 0) {
        const tlr_json *h = tlr_json_get(cfg, "keras_history");
        if (!is_ref_triple(h))
            return -1;
        refs_push(out, tlr_json_string(tlr_json_at(h, 0), ""), tlr_json_int(tlr_json_at(h, 1), 0),
                  tlr_json_int(tlr_json_at(h, 2), 0), 1);
        return 0;
    }
    if (cls && strcmp(cls, "__tuple__") == 0) {
        /* tf.keras json_utils: {"items": [...]}; {"config": {"value": [...]}} otherwise */
        const tlr_json *items = tlr_json_get(v, "items");
        return collect_refs(items ? items : tlr_json_get(cfg, "value"), triples, out, depth + 1);
    }
    if (cls && cfg)
        return 0; /* a serialised object (__numpy__, __tensor__, ...): a constant */
    /* a plain dict of tensors, as a model with named inputs is called */
    size_t n = tlr_json_size(v);
    const tlr_json **kids = tlr_xcalloc(n + 1, sizeof *kids);
    size_t k = 0;
    for (const tlr_json *e = tlr_json_first(v); e && k < n; e = tlr_json_next(e))
        kids[k++] = e;
    qsort(kids, k, sizeof *kids, cmp_keys);
    int st = 0;
    for (size_t i = 0; i < k && !st; i++)
        st = collect_refs(kids[i], triples, out, depth + 1);
    free(kids);
    return st;
}

/* 1 when 'v' holds a tensor reference (in 'triples' form or as a keras_history). */
static int holds_refs(const tlr_json *v, int triples)
{
    raw_refs r = { 0 };
    int found = collect_refs(v, triples, &r, 0) == 0 && r.n > 0;
    refs_free(&r);
    return found;
}

/* For a Keras 3 node whose args hold no tensor (layer(inputs=x)): the keyword argument that
 * carries the inputs, "inputs" or else the first one holding a tensor; NULL when none does. */
static const tlr_json *inputs_kwarg(const tlr_json *node)
{
    const tlr_json *kw = tlr_json_get(node, "kwargs");
    const tlr_json *named = tlr_json_get(kw, "inputs");
    if (named && holds_refs(named, 0))
        return named;
    for (const tlr_json *e = tlr_json_first(kw); e; e = tlr_json_next(e))
        if (holds_refs(e, 0))
            return e;
    return NULL;
}

/* One inbound node in any dialect into a list of references.  Returns 0 on success. */
static int parse_node(const tlr_json *node, raw_refs *out)
{
    if (tlr_json_is_object(node)) {
        /* Keras 3: {"args": [...], "kwargs": {...}}; a layer called as layer(inputs=x) has its
         * tensors in one keyword argument (other kwargs tensors, such as a mask, are not
         * inputs: kwarg_tensor flags them) */
        if (collect_refs(tlr_json_get(node, "args"), 0, out, 0))
            return -1;
        const tlr_json *in = out->n ? NULL : inputs_kwarg(node);
        return in ? collect_refs(in, 0, out, 0) : 0;
    }
    if (!tlr_json_is_array(node))
        return -1;
    /* Keras 1/2: [[name, node, tensor(, kwargs)], ...]; a single flat triple also occurs. */
    const tlr_json *first = tlr_json_first(node);
    if (tlr_json_is_string(first)) {
        refs_push(out, tlr_json_string(first, ""), tlr_json_int(tlr_json_at(node, 1), 0),
                  tlr_json_int(tlr_json_at(node, 2), 0), 0);
        return 0;
    }
    for (const tlr_json *e = first; e; e = tlr_json_next(e)) {
        if (!tlr_json_is_array(e) || tlr_json_size(e) < 3 || !tlr_json_is_string(tlr_json_at(e, 0)) ||
            !tlr_json_is_number(tlr_json_at(e, 1)) || !tlr_json_is_number(tlr_json_at(e, 2)))
            return -1;
        refs_push(out, tlr_json_string(tlr_json_at(e, 0), ""),
                  tlr_json_int(tlr_json_at(e, 1), 0),
                  tlr_json_int(tlr_json_at(e, 2), 0), 0);
    }
    return 0;
}

/* The name of a keyword argument that passes a tensor besides the inputs (initial_state,
 * mask, constants), or NULL.  Such a tensor changes what the layer computes, and tlreport
 * does not feed it in. */
static const char *kwarg_tensor(const tlr_json *node)
{
    const tlr_json *kw = NULL, *inputs = NULL;
    int triples = 1;
    if (tlr_json_is_object(node)) {
        if (!holds_refs(tlr_json_get(node, "args"), 0))
            inputs = inputs_kwarg(node); /* layer(inputs=x): that one is no extra */
        kw = tlr_json_get(node, "kwargs");
        triples = 0;
    } else if (tlr_json_is_array(node)) {
        for (const tlr_json *e = tlr_json_first(node); e && !kw; e = tlr_json_next(e))
            if (tlr_json_is_array(e) && tlr_json_is_object(tlr_json_at(e, 3)))
                kw = tlr_json_at(e, 3);
    }
    if (!tlr_json_is_object(kw))
        return NULL;
    for (const tlr_json *e = tlr_json_first(kw); e; e = tlr_json_next(e))
        if (e != inputs && holds_refs(e, triples))
            return tlr_json_key(e);
    return NULL;
}

/* Keras 1 and 2 serialise a nested graph model's calls counting from 1 in list-form
 * references, because such a model starts with a node of its own ("kept_nodes = 1" for
 * Containers/Networks, _should_skip_first_node in tf.keras).  Keras 3 keras_history entries
 * hold the node index as it ran and are never shifted; its list-form references (model
 * inputs and outputs) count from 1 for a Functional only: a Keras 3 Sequential is not a
 * Functional and has no node of its own (functional.py, get_config / functional_from_config). */
static int skips_first_node(const tlr_layer *l, const tlr_config_ctx *ctx)
{
    if (l->op != TLR_OP_MODEL || !l->inner)
        return 0;
    if (l->inner->is_sequential)
        return ctx->keras_major < 3 && l->inner->n_layers > 0 &&
               l->inner->layers[0].op == TLR_OP_INPUT;
    return 1;
}

static tlr_status resolve_ref(tlr_kcfg_parser *P, tlr_model *m, const char *user,
                              const raw_ref *r, tlr_ref *out)
{
    int li = tlr_model_find(m, r->layer);
    if (li < 0)
        return tlr_err_set(P->err, TLR_E_FORMAT,
                           "%s: layer '%s' takes its input from '%s', which is not in the model",
                           P->ctx->what, user, r->layer);
    const tlr_layer *src = &m->layers[li];
    int node = r->node;
    if (!r->dict_form && src->op != TLR_OP_INPUT && skips_first_node(src, P->ctx) && node >= 1)
        node -= 1;
    if (src->op == TLR_OP_INPUT && node != 0)
        node = -1; /* an InputLayer has exactly one node */
    /* A layer with no inbound nodes has no call to take an output from. */
    if (node < 0 || node >= src->n_calls || r->tensor < 0 || r->tensor >= TLR_MAX_OUTPUTS)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s' takes input %s[%d][%d], but "
                           "layer '%s' has no such node or tensor", P->ctx->what, user, r->layer,
                           r->node, r->tensor, r->layer);
    out->layer = li;
    out->call = node;
    out->tensor = r->tensor;
    out->node = r->node;
    return TLR_OK;
}


/* ---- wiring ------------------------------------------------------------------------------- */

static void add_call(tlr_layer *l, int n_in)
{
    l->calls = tlr_xrealloc(l->calls, (size_t)(l->n_calls + 1) * sizeof *l->calls);
    tlr_call *c = &l->calls[l->n_calls++];
    memset(c, 0, sizeof *c);
    c->n_in = n_in;
    c->in = n_in ? tlr_xcalloc((size_t)n_in, sizeof *c->in) : NULL;
}

/* Sequential: each layer consumes the previous one; an implicit InputLayer is created from
 * the first layer's declared shape, as Keras does. */
tlr_status tlr_kcfg_link_sequential(tlr_kcfg_parser *P, tlr_model *m)
{
    if (m->n_layers == 0)
        return tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s' has no layers", P->ctx->what, m->name);
    if (m->layers[0].op != TLR_OP_INPUT) {
        tlr_layer *first = &m->layers[0];
        tlr_shape shape = first->input_shape;
        if (!shape.ndim && first->op == TLR_OP_MODEL && first->inner->n_inputs)
            shape = first->inner->layers[first->inner->inputs[0].layer].input_shape;
        if (shape.ndim) {
            /* Insert the implicit InputLayer at the front. */
            m->layers = tlr_xrealloc(m->layers, (size_t)(m->n_layers + 1) * sizeof *m->layers);
            memmove(m->layers + 1, m->layers, (size_t)m->n_layers * sizeof *m->layers);
            tlr_layer *in = &m->layers[0];
            memset(in, 0, sizeof *in);
            in->name = tlr_xasprintf("%s_input", m->layers[1].name);
            in->class_name = tlr_xstrdup("InputLayer");
            in->op = TLR_OP_INPUT;
            in->trainable = 1;
            in->params = -1;
            in->input_shape = shape;
            in->config = NULL;
            m->n_layers++;
        }
    }
    if (m->layers[0].op != TLR_OP_INPUT)
        return tlr_err_set(P->err, TLR_E_UNSUPPORTED, "%s: model '%s' does not declare its input "
                           "shape (first layer '%s' has no input_shape)", P->ctx->what, m->name,
                           m->layers[0].name);
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        if (i > 0 && l->op == TLR_OP_INPUT)
            return tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': input layer '%s' in the "
                               "middle of a Sequential", P->ctx->what, m->name, l->name);
        add_call(l, i == 0 ? 0 : 1);
        if (i > 0)
            l->calls[0].in[0] = (tlr_ref){ i - 1, 0, 0, 0 };
    }
    m->inputs = tlr_xcalloc(1, sizeof *m->inputs);
    m->n_inputs = 1;
    m->outputs = tlr_xcalloc(1, sizeof *m->outputs);
    m->outputs[0] = (tlr_ref){ m->n_layers - 1, 0, 0, 0 };
    m->n_outputs = 1;
    return TLR_OK;
}

/* "input_layers" / "output_layers": any structure Keras's Functional.get_config maps the
 * model's inputs to: [[name, node, tensor], ...], a single [name, node, tensor] (one tensor),
 * a dict {key: [name, node, tensor]} (named inputs; flattened by sorted key, as Keras orders
 * them), or lists and dicts nested. */
static tlr_status parse_endpoints(tlr_kcfg_parser *P, tlr_model *m, const tlr_json *v,
                                  const char *key, tlr_ref **out, int *n)
{
    raw_refs raw = { 0 };
    tlr_status st = TLR_OK;
    if ((!tlr_json_is_array(v) && !tlr_json_is_object(v)) || collect_refs(v, 1, &raw, 0) ||
        raw.n == 0) {
        st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': '%s' is missing or invalid",
                         P->ctx->what, m->name, key);
        goto out;
    }
    *out = tlr_xcalloc((size_t)raw.n, sizeof **out);
    *n = raw.n;
    for (int i = 0; i < raw.n && !st; i++)
        st = resolve_ref(P, m, m->name, &raw.refs[i], &(*out)[i]);
out:
    refs_free(&raw);
    return st;
}

tlr_status tlr_kcfg_link_functional(tlr_kcfg_parser *P, tlr_model *m,
                                    const tlr_json *layers_json, const tlr_json *cfg)
{
    /* First create every call (so forward references resolve), then resolve refs. */
    size_t n_nodes = 0;
    for (const tlr_json *e = tlr_json_first(layers_json); e; e = tlr_json_next(e))
        n_nodes += tlr_json_size(tlr_json_get(e, "inbound_nodes"));
    raw_refs *pending = tlr_xcalloc(n_nodes + 1, sizeof *pending);
    int *pending_layer = tlr_xcalloc(n_nodes + 1, sizeof *pending_layer);
    int n_pending = 0;
    tlr_status st = TLR_OK;
    int i = 0;
    for (const tlr_json *e = tlr_json_first(layers_json); e && !st; e = tlr_json_next(e), i++) {
        tlr_layer *l = &m->layers[i];
        const tlr_json *nodes = tlr_json_get(e, "inbound_nodes");
        if (l->op == TLR_OP_INPUT) {
            add_call(l, 0);
            continue;
        }
        if (nodes && !tlr_json_is_array(nodes)) {
            st = bad_value(P, l->name, "inbound_nodes");
            break;
        }
        if (tlr_json_size(nodes) > 64) {
            st = tlr_err_set(P->err, TLR_E_LIMIT, "%s: layer '%s' is called %zu times (limit 64)",
                             P->ctx->what, l->name, tlr_json_size(nodes));
            break;
        }
        for (const tlr_json *nd = tlr_json_first(nodes); nd; nd = tlr_json_next(nd)) {
            raw_refs *r = &pending[n_pending];
            if (parse_node(nd, r) || r->n == 0) {
                st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: layer '%s': inbound node is invalid",
                                 P->ctx->what, l->name);
                refs_free(r);
                break;
            }
            if (r->n > TLR_MAX_CALL_INPUTS) {
                st = tlr_err_set(P->err, TLR_E_LIMIT, "%s: layer '%s' takes %d inputs (tlreport "
                                 "handles up to %d)", P->ctx->what, l->name, r->n,
                                 TLR_MAX_CALL_INPUTS);
                refs_free(r);
                break;
            }
            const char *kw = kwarg_tensor(nd);
            if (kw && !l->cannot_run)
                l->cannot_run = tlr_xasprintf("the tensor passed as '%s' is not fed in by "
                                              "tlreport", kw);
            pending_layer[n_pending++] = i;
            add_call(l, r->n);
        }
    }
    int *next_call = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *next_call);
    for (int k = 0; k < n_pending && !st; k++) {
        tlr_layer *l = &m->layers[pending_layer[k]];
        tlr_call *c = &l->calls[next_call[pending_layer[k]]++];
        for (int j = 0; j < pending[k].n && !st; j++)
            st = resolve_ref(P, m, l->name, &pending[k].refs[j], &c->in[j]);
    }
    for (int k = 0; k < n_pending; k++)
        refs_free(&pending[k]);
    free(pending);
    free(pending_layer);
    free(next_call);
    if (st)
        return st;
    if ((st = parse_endpoints(P, m, tlr_json_get(cfg, "input_layers"), "input_layers", &m->inputs,
                              &m->n_inputs)))
        return st;
    return parse_endpoints(P, m, tlr_json_get(cfg, "output_layers"), "output_layers", &m->outputs,
                           &m->n_outputs);
}

/* ---- masking ------------------------------------------------------------------------------ */

/* A layer whose output carries a Keras mask: Masking, Embedding(mask_zero=True), or a nested
 * model holding one (its outputs may carry the mask out). */
static int mask_source(const tlr_layer *l)
{
    if (strcmp(l->class_name, "Masking") == 0 ||
        (l->op == TLR_OP_EMBEDDING && l->cfg.embed.mask_zero))
        return 1;
    if (l->op == TLR_OP_MODEL)
        for (int i = 0; i < l->inner->n_layers; i++)
            if (mask_source(&l->inner->layers[i]))
                return 1;
    return 0;
}

/* Keras passes the mask downstream to layers that use it: recurrent layers skip masked time
 * steps and GlobalAveragePooling1D averages over the unmasked steps only.  The engine has no
 * masks, so those layers are not run when a mask may reach them: anything downstream of a
 * mask source (in the graph, through nested models), counted generously since some layers
 * drop the mask.  'masked_inputs': the model is called on masked tensors. */
void tlr_kcfg_mark_masked(tlr_model *m, int masked_inputs)
{
    int *masked = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *masked);
    for (int k = 0; k < m->n_order; k++) {
        int i = m->order[k];
        tlr_layer *l = &m->layers[i];
        int in = l->op == TLR_OP_INPUT && masked_inputs;
        for (int c = 0; c < l->n_calls; c++)
            for (int j = 0; j < l->calls[c].n_in; j++)
                in |= masked[l->calls[c].in[j].layer];
        if (l->op == TLR_OP_MODEL)
            tlr_kcfg_mark_masked(l->inner, in);
        if (in && (l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL))
            l->cfg.rnn.cannot_run = "input masking (mask_zero, Masking) is not supported";
        if (in && l->op == TLR_OP_GLOBAL_AVGPOOL && l->cfg.pool.rank == 1)
            set_cannot_run(l, tlr_xstrdup("its input is masked (Masking or mask_zero) and Keras "
                                          "averages only the unmasked steps, which is not "
                                          "supported"));
        masked[i] = in || mask_source(l);
    }
    free(masked);
}

/* ---- order --------------------------------------------------------------------------------- */

tlr_status tlr_kcfg_topo_sort(tlr_kcfg_parser *P, tlr_model *m)
{
    int n = m->n_layers;
    int *indeg = tlr_xcalloc((size_t)n + 1, sizeof *indeg);
    int *done = tlr_xcalloc((size_t)n + 1, sizeof *done);
    m->order = tlr_xcalloc((size_t)n + 1, sizeof *m->order);
    m->n_order = 0;
    for (int progress = 1; progress && m->n_order < n;) {
        progress = 0;
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            int ready = 1;
            for (int c = 0; c < m->layers[i].n_calls && ready; c++)
                for (int k = 0; k < m->layers[i].calls[c].n_in && ready; k++) {
                    int src = m->layers[i].calls[c].in[k].layer;
                    if (src != i && !done[src])
                        ready = 0;
                    if (src == i)
                        ready = 0;
                }
            if (ready) {
                done[i] = 1;
                m->order[m->n_order++] = i;
                progress = 1;
            }
        }
    }
    tlr_status st = TLR_OK;
    if (m->n_order < n) {
        int bad = 0;
        while (done[bad])
            bad++;
        st = tlr_err_set(P->err, TLR_E_FORMAT, "%s: model '%s': the layer graph has a cycle "
                         "through layer '%s'", P->ctx->what, m->name, m->layers[bad].name);
    }
    free(indeg);
    free(done);
    return st;
}

