/* inspect.c - the summary table, the layer list and the storage anatomy of a Keras file. */
#include "report/inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "keras/shape.h"
#include "report/cost.h"
#include "report/reportdata.h"

/* ---- shapes as Keras prints them ----------------------------------------------------------- */

static int shapes_equal(const tlr_shape *a, const tlr_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

/* Output shape of the layer over all its calls: one shape, "multiple", or unknown. */
static tlr_shape_kind layer_shape(const tlr_layer *l, const tlr_shape **shape, int *n_out)
{
    *shape = NULL;
    *n_out = 0;
    if (!l->shape_ok || l->n_calls == 0 || l->calls[0].n_out == 0)
        return TLR_SHAPE_UNKNOWN;
    for (int c = 1; c < l->n_calls; c++) {
        if (l->calls[c].n_out != l->calls[0].n_out)
            return TLR_SHAPE_MULTIPLE;
        for (int k = 0; k < l->calls[0].n_out; k++)
            if (!shapes_equal(&l->calls[c].out[k], &l->calls[0].out[k]))
                return TLR_SHAPE_MULTIPLE;
    }
    *shape = l->calls[0].out;
    *n_out = l->calls[0].n_out;
    return TLR_SHAPE_PLAIN;
}

void tlr_inspect_layer_shape(const tlr_layer *l, char *out, size_t cap)
{
    const tlr_shape *s;
    int n;
    tlr_shape_kind k = layer_shape(l, &s, &n);
    if (k == TLR_SHAPE_UNKNOWN) {
        snprintf(out, cap, "?");
    } else if (k == TLR_SHAPE_MULTIPLE) {
        snprintf(out, cap, "multiple");
    } else if (n == 1) {
        tlr_shape_str(&s[0], out, cap);
    } else {
        size_t used = (size_t)snprintf(out, cap, "[");
        for (int i = 0; i < n && used < cap; i++) {
            char one[160];
            tlr_shape_str(&s[i], one, sizeof one);
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", one);
        }
        if (used < cap)
            snprintf(out + used, cap - used, "]");
    }
}

/* ---- summary ------------------------------------------------------------------------------- */

typedef struct {
    tlr_summary s;
    tlr_summary_row *rows;
    int n, cap;
    tlr_strlist strings;     /* owned strings the rows point into */
    char ***conn;            /* per row, owned connection string arrays */
    tlr_optimizer_state opt; /* built only when the summary prints its line */
} summary_build;

static const char *keep(summary_build *b, char *s)
{
    tlr_strlist_push_owned(&b->strings, s);
    return s;
}

/* Keras's sequential-like test: one node per depth, each with one input, no shared layers. */
static int sequential_like(const tlr_model *m)
{
    if (m->is_sequential)
        return 1;
    int n = m->n_layers;
    for (int i = 0; i < n; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->n_calls > 1)
            return 0;
        if (l->n_calls == 1 && l->calls[0].n_in > 1)
            return 0;
    }
    /* depth = longest distance to an output; two layers at one depth break the chain */
    int *depth = tlr_xcalloc((size_t)n + 1, sizeof *depth);
    for (int i = 0; i < n; i++)
        depth[i] = -1;
    for (int k = 0; k < m->n_outputs; k++)
        depth[m->outputs[k].layer] = 0;
    for (int oi = m->n_order - 1; oi >= 0; oi--) {
        int i = m->order[oi];
        if (depth[i] < 0)
            continue;
        const tlr_layer *l = &m->layers[i];
        for (int c = 0; c < l->n_calls; c++)
            for (int k = 0; k < l->calls[c].n_in; k++) {
                int src = l->calls[c].in[k].layer;
                if (depth[src] < depth[i] + 1)
                    depth[src] = depth[i] + 1;
            }
    }
    int ok = 1;
    for (int i = 0; i < n && ok; i++)
        for (int j = i + 1; j < n && ok; j++)
            if (depth[i] >= 0 && depth[i] == depth[j])
                ok = 0;
    free(depth);
    return ok;
}

static void add_rows(summary_build *b, const tlr_kfile *f, const tlr_model *m, int depth,
                     int expand)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    for (int k = 0; k < n; k++) {
        const tlr_layer *l = &m->layers[vis[k]];
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 32;
            b->rows = tlr_xrealloc(b->rows, (size_t)b->cap * sizeof *b->rows);
            b->conn = tlr_xrealloc(b->conn, (size_t)b->cap * sizeof *b->conn);
        }
        tlr_summary_row *r = &b->rows[b->n];
        memset(r, 0, sizeof *r);
        b->conn[b->n] = NULL;
        r->name = l->name;
        r->class_name = l->class_name;
        r->params = l->params;
        r->depth = depth;
        r->trainable = l->eff_trainable;
        const tlr_shape *s;
        int n_out;
        r->shape_kind = layer_shape(l, &s, &n_out);
        _Static_assert(TLR_SUMMARY_MAX_OUTPUTS >= TLR_MAX_OUTPUTS, "summary rows hold every output");
        r->n_outputs = n_out;
        for (int i = 0; i < r->n_outputs; i++) {
            r->ndim[i] = s[i].ndim;
            memcpy(r->dims[i], s[i].d, sizeof r->dims[i]);
        }
        /* tf.keras shows a functional InputLayer's output_shape as a list of one shape. */
        if (l->op == TLR_OP_INPUT && !m->is_sequential && f->is_tf_keras && f->keras_major == 2)
            r->shape_kind = TLR_SHAPE_LIST;
        /* Connected to: every inbound tensor of every call */
        int total = 0;
        for (int c = 0; c < l->n_calls; c++)
            total += l->calls[c].n_in;
        if (total) {
            char **conn = tlr_xcalloc((size_t)total, sizeof *conn);
            int j = 0;
            for (int c = 0; c < l->n_calls; c++)
                for (int i = 0; i < l->calls[c].n_in; i++) {
                    const tlr_ref *ref = &l->calls[c].in[i];
                    conn[j++] = tlr_xasprintf("%s[%d][%d]", m->layers[ref->layer].name, ref->node,
                                              ref->tensor);
                }
            b->conn[b->n] = conn;
            r->connected = (const char *const *)conn;
            r->n_connected = total;
        }
        b->n++;
        if (expand && l->op == TLR_OP_MODEL)
            add_rows(b, f, l->inner, depth + 1, expand);
    }
    free(vis);
}

static void totals(const tlr_model *m, int64_t *total, int64_t *trainable)
{
    for (int i = 0; i < m->n_layers; i++) {
        *total += tlr_layer_param_count(&m->layers[i]);
        *trainable += m->layers[i].params_trainable;
    }
}

/* Keras 3's print_summary (keras/src/utils/summary_utils.py): once model.optimizer is built,
 * count_params and weight_memory_size of its variables go on their own line and into the
 * total.  Other styles never print it, so their totals stay the model's. */
static void add_optimizer(summary_build *b, const tlr_kfile *f)
{
    tlr_summary *s = &b->s;
    tlr_optimizer_state_of(f, &b->opt);
    if (!b->opt.built || s->style != TLR_SUMMARY_KERAS3) {
        b->opt.built = 0;
        return;
    }
    s->optimizer_params = b->opt.params;
    s->optimizer_bytes = b->opt.bytes;
    s->total_params += b->opt.params;
    s->total_bytes += b->opt.bytes;
}

const tlr_optimizer_state *tlr_inspect_summary_optimizer(const tlr_summary *s)
{
    return &((const summary_build *)s)->opt; /* 's' is the first member */
}

tlr_summary *tlr_inspect_summary(const tlr_kfile *f, int style, int expand_nested,
                                 int show_trainable)
{
    summary_build *b = tlr_xcalloc(1, sizeof *b);
    const tlr_model *m = f->model;
    add_rows(b, f, m, 0, expand_nested);
    tlr_summary *s = &b->s;
    s->model_name = m->name;
    s->keras_version = f->keras_version ? f->keras_version : (f->keras_major == 1 ? "1" : NULL);
    s->style = style < 0 ? tlr_summary_style_for_version(s->keras_version) : (tlr_summary_style)style;
    s->sequential_like = sequential_like(m);
    s->expand_nested = expand_nested;
    s->show_trainable = show_trainable;
    totals(m, &s->total_params, &s->trainable_params);
    s->non_trainable_params = s->total_params - s->trainable_params;
    s->total_bytes = s->total_params * 4;
    s->trainable_bytes = s->trainable_params * 4;
    s->non_trainable_bytes = s->non_trainable_params * 4;
    add_optimizer(b, f);
    s->rows = b->rows;
    s->n_rows = b->n;
    (void)keep;
    return s; /* 's' is the first member of 'b' */
}

void tlr_inspect_summary_free(tlr_summary *s)
{
    if (!s)
        return;
    summary_build *b = (summary_build *)s;
    for (int i = 0; i < b->n; i++) {
        for (int j = 0; b->conn[i] && j < b->rows[i].n_connected; j++)
            free(b->conn[i][j]);
        free(b->conn[i]);
    }
    free(b->conn);
    free(b->rows);
    tlr_strlist_free(&b->strings);
    free(b);
}

static void shape_json(tlr_json *obj, const char *key, int ndim, const int64_t *d)
{
    tlr_json *a = tlr_json_add_array(obj, key);
    for (int i = 0; i < ndim; i++) {
        if (d[i] < 0)
            tlr_json_add_null(a, NULL);
        else
            tlr_json_push_number(a, (double)d[i]);
    }
}

tlr_json *tlr_summary_to_json(const tlr_summary *s)
{
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_string(j, "model", s->model_name);
    tlr_json_add_string(j, "style", tlr_summary_style_name(s->style));
    tlr_json_add_bool(j, "sequential_like", s->sequential_like);
    tlr_json *rows = tlr_json_add_array(j, "rows");
    for (int i = 0; i < s->n_rows; i++) {
        const tlr_summary_row *r = &s->rows[i];
        tlr_json *o = tlr_json_push_object(rows);
        tlr_json_add_string(o, "name", r->name);
        tlr_json_add_string(o, "class", r->class_name);
        if (r->shape_kind == TLR_SHAPE_UNKNOWN)
            tlr_json_add_null(o, "output_shape");
        else if (r->shape_kind == TLR_SHAPE_MULTIPLE)
            tlr_json_add_string(o, "output_shape", "multiple");
        else
            shape_json(o, "output_shape", r->ndim[0], r->dims[0]);
        tlr_json_add_number(o, "params", (double)r->params);
        tlr_json_add_bool(o, "trainable", r->trainable);
        tlr_json_add_number(o, "depth", r->depth);
        tlr_json *c = tlr_json_add_array(o, "connected_to");
        for (int k = 0; k < r->n_connected; k++)
            tlr_json_push_string(c, r->connected[k]);
    }
    tlr_json_add_number(j, "total_params", (double)(s->total_params - s->optimizer_params));
    tlr_json_add_number(j, "trainable_params", (double)s->trainable_params);
    tlr_json_add_number(j, "non_trainable_params", (double)s->non_trainable_params);
    if (s->optimizer_params > 0) {
        tlr_json_add_number(j, "optimizer_params", (double)s->optimizer_params);
        tlr_json_add_number(j, "optimizer_bytes", (double)s->optimizer_bytes);
    }
    return j;
}

static void add_count_str(tlr_json *o, const char *key, int64_t v)
{
    char text[48];
    tlr_format_thousands(v, text, sizeof text);
    tlr_json_add_string(o, key, text);
}

void tlr_inspect_optimizer_json(tlr_json *parent, const tlr_summary *s)
{
    const tlr_optimizer_state *op = tlr_inspect_summary_optimizer(s);
    if (!op->built)
        return;
    tlr_json *o = tlr_json_add_object(parent, "optimizer");
    tlr_json_add_bool(o, "built", 1);
    tlr_json_add_string(o, "class", op->class_name);
    tlr_json_add_bool(o, "known", op->known);
    tlr_json_add_bool(o, "on_trainable", op->on_trainable);
    tlr_json_add_bool(o, "on_none", !op->on_trainable);
    tlr_json_add_bool(o, "lr_variable", op->lr_variable);
    tlr_json_add_number(o, "slots", op->slots);
    tlr_json_add_number(o, "variables", op->n_variables);
    tlr_json_add_number(o, "params", (double)op->params);
    add_count_str(o, "params_str", op->params);
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_size_text(op->bytes, 1, &b);
    tlr_json_add_string(o, "size_str", tlr_buf_cstr(&b));
    tlr_buf_free(&b);
    add_count_str(o, "model_total_str", s->total_params - s->optimizer_params);
    add_count_str(o, "summary_total_str", s->total_params);
}

/* ---- layer table --------------------------------------------------------------------------- */

static tlr_layer_row *push_row(tlr_layer_table *t)
{
    t->rows = tlr_xrealloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
    tlr_layer_row *r = &t->rows[t->n_rows++];
    memset(r, 0, sizeof *r);
    return r;
}

/* "(None, 8)" -> "[(None, 8)]", in place. */
static void bracket_shape(char *shape, size_t cap)
{
    size_t len = strlen(shape);
    if (shape[0] != '(' || len + 2 >= cap)
        return;
    memmove(shape + 1, shape, len);
    shape[0] = '[';
    shape[len + 1] = ']';
    shape[len + 2] = '\0';
}

/* 'input_as_list': tf.keras 2 prints a functional InputLayer's output_shape as a list. */
static void list_layers(const tlr_model *m, const char *prefix, int depth, int expand,
                        int input_as_list, tlr_layer_table *t)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    for (int k = 0; k < n; k++) {
        const tlr_layer *l = &m->layers[vis[k]];
        tlr_layer_row *r = push_row(t);
        r->index = k;
        r->name = l->name;
        r->path = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        r->class_name = l->class_name;
        char shape[512];
        tlr_inspect_layer_shape(l, shape, sizeof shape);
        if (input_as_list && l->op == TLR_OP_INPUT && !m->is_sequential)
            bracket_shape(shape, sizeof shape);
        r->output_shape = tlr_xstrdup(shape);
        r->params = tlr_layer_param_count(l);
        r->trainable = l->eff_trainable;
        r->depth = depth;
        r->note = l->shape_note;
        r->macs = tlr_cost_macs(l);
        r->activations = tlr_cost_activations(l);
        r->leaf = l->op != TLR_OP_MODEL;
        if (expand && l->op == TLR_OP_MODEL) {
            char *path = tlr_xstrdup(r->path); /* 'r' moves as the table grows */
            list_layers(l->inner, path, depth + 1, expand, input_as_list, t);
            free(path);
        }
    }
    free(vis);
}

tlr_layer_table *tlr_inspect_layer_table(const tlr_kfile *f, int expand_nested)
{
    tlr_layer_table *t = tlr_xcalloc(1, sizeof *t);
    t->count = tlr_model_visible_layers(f->model, NULL, 0);
    list_layers(f->model, "", 0, expand_nested, f->is_tf_keras && f->keras_major == 2, t);
    return t;
}

void tlr_layer_table_free(tlr_layer_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_rows; i++) {
        free(t->rows[i].path);
        free(t->rows[i].output_shape);
    }
    free(t->rows);
    free(t);
}

tlr_json *tlr_layer_table_to_json(const tlr_layer_table *t)
{
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_number(j, "count", t->count);
    tlr_json *arr = tlr_json_add_array(j, "layers");
    for (int i = 0; i < t->n_rows; i++) {
        const tlr_layer_row *r = &t->rows[i];
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_number(o, "index", r->index);
        tlr_json_add_string(o, "name", r->name);
        tlr_json_add_string(o, "path", r->path);
        tlr_json_add_string(o, "class", r->class_name);
        tlr_json_add_string(o, "output_shape", r->output_shape);
        tlr_json_add_number(o, "params", (double)r->params);
        tlr_json_add_bool(o, "trainable", r->trainable);
        tlr_json_add_number(o, "depth", r->depth);
        if (r->note)
            tlr_json_add_string(o, "note", r->note);
    }
    return j;
}

void tlr_layer_table_text(const tlr_layer_table *t, tlr_buf *out)
{
    tlr_buf_printf(out, "Total de capas del Modelo: %d\n", t->count);
    for (int i = 0; i < t->n_rows; i++) {
        const tlr_layer_row *r = &t->rows[i];
        tlr_buf_repeat(out, ' ', (size_t)r->depth * 2);
        tlr_buf_printf(out, "%d %s %s\n", r->index, r->depth ? r->path : r->name, r->output_shape);
    }
}
