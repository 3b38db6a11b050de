/* inspect.c - the summary table, the layer list and the storage anatomy of a Keras file. */
#include "report/inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "keras/shape.h"

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

tlr_json *tlr_inspect_summary_json(const tlr_summary *s)
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
    tlr_json_add_number(j, "total_params", (double)s->total_params);
    tlr_json_add_number(j, "trainable_params", (double)s->trainable_params);
    tlr_json_add_number(j, "non_trainable_params", (double)s->non_trainable_params);
    return j;
}

/* ---- layer list ---------------------------------------------------------------------------- */

/* 'input_as_list': tf.keras 2 prints a functional InputLayer's output_shape as a list. */
static void list_layers(const tlr_model *m, const char *prefix, int depth, int expand,
                        int input_as_list, tlr_json *arr)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    for (int k = 0; k < n; k++) {
        const tlr_layer *l = &m->layers[vis[k]];
        tlr_json *o = tlr_json_push_object(arr);
        char *path = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        char shape[512];
        tlr_inspect_layer_shape(l, shape, sizeof shape);
        if (input_as_list && l->op == TLR_OP_INPUT && !m->is_sequential && shape[0] == '(') {
            size_t len = strlen(shape);
            if (len + 2 < sizeof shape) {
                memmove(shape + 1, shape, len);
                shape[0] = '[';
                shape[len + 1] = ']';
                shape[len + 2] = '\0';
            }
        }
        tlr_json_add_number(o, "index", k);
        tlr_json_add_string(o, "name", l->name);
        tlr_json_add_string(o, "path", path);
        tlr_json_add_string(o, "class", l->class_name);
        tlr_json_add_string(o, "output_shape", shape);
        tlr_json_add_number(o, "params", (double)tlr_layer_param_count(l));
        tlr_json_add_bool(o, "trainable", l->eff_trainable);
        tlr_json_add_number(o, "depth", depth);
        if (l->shape_note)
            tlr_json_add_string(o, "note", l->shape_note);
        if (expand && l->op == TLR_OP_MODEL)
            list_layers(l->inner, path, depth + 1, expand, input_as_list, arr);
        free(path);
    }
    free(vis);
}

tlr_json *tlr_inspect_layers(const tlr_kfile *f, int expand_nested)
{
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_number(j, "count", tlr_model_visible_layers(f->model, NULL, 0));
    list_layers(f->model, "", 0, expand_nested, f->is_tf_keras && f->keras_major == 2,
                tlr_json_add_array(j, "layers"));
    return j;
}

void tlr_inspect_layers_text(const tlr_json *layers, tlr_buf *out)
{
    tlr_buf_printf(out, "Total de capas del Modelo: %d\n",
                   (int)tlr_json_get_number(layers, "count", 0));
    for (const tlr_json *l = tlr_json_first(tlr_json_get(layers, "layers")); l; l = tlr_json_next(l)) {
        int depth = (int)tlr_json_get_number(l, "depth", 0);
        tlr_buf_repeat(out, ' ', (size_t)depth * 2);
        tlr_buf_printf(out, "%d %s %s\n", (int)tlr_json_get_number(l, "index", 0),
                       tlr_json_get_string(l, depth ? "path" : "name", ""),
                       tlr_json_get_string(l, "output_shape", "?"));
    }
}

/* ---- storage ------------------------------------------------------------------------------- */

static void attrs_json(tlr_h5 *h, const char *obj, tlr_json *parent, const char *key)
{
    tlr_h5_attr *a;
    size_t n;
    tlr_json *arr = tlr_json_add_array(parent, key);
    if (tlr_h5_attrs(h, obj, &a, &n, NULL) != TLR_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_string(o, "name", a[i].name);
        tlr_json_add_string(o, "type", a[i].type);
        /* Long JSON configs are summarised; the parsed content is reported separately. */
        if (strlen(a[i].value) > 120) {
            char *s = tlr_xasprintf("%.100s... (%zu characters)", a[i].value, strlen(a[i].value));
            tlr_json_add_string(o, "value", s);
            free(s);
        } else {
            tlr_json_add_string(o, "value", a[i].value);
        }
        tlr_json_add_number(o, "bytes", (double)a[i].bytes);
    }
    tlr_h5_attrs_free(a, n);
}

/* The layer path and role a bound dataset belongs to, found through the model's weights. */
static const tlr_weight *weight_by_path(const tlr_model *m, const char *path, char *lpath,
                                        size_t cap, const char *prefix, const tlr_layer **owner)
{
    if (!m)
        return NULL;
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        char p[1024];
        snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "/" : "", l->name);
        if (l->inner) {
            const tlr_weight *w = weight_by_path(l->inner, path, lpath, cap, p, owner);
            if (w)
                return w;
        }
        for (int k = 0; k < l->n_weights; k++)
            if (l->weights[k].path && strcmp(l->weights[k].path + (l->weights[k].path[0] == '/'),
                                             path + (path[0] == '/')) == 0) {
                snprintf(lpath, cap, "%s", p);
                *owner = l;
                return &l->weights[k];
            }
    }
    return NULL;
}

/* One dataset as JSON, annotated with the layer it belongs to. */
static void dataset_json(const tlr_kfile *f, const char *name, const char *path, tlr_json *arr,
                         int64_t *params, uint64_t *bytes)
{
    tlr_h5_dsinfo info;
    if (tlr_h5_dataset_info(f->h5, path, &info, NULL) != TLR_OK)
        return;
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "name", name);
    tlr_json_add_string(o, "path", path);
    shape_json(o, "shape", info.ndim, info.dims);
    tlr_json_add_string(o, "dtype", tlr_dtype_name(info.dtype, info.elem_size));
    uint64_t b = (uint64_t)info.numel * info.elem_size;
    tlr_json_add_number(o, "bytes", (double)b);
    char lpath[1024] = "";
    const tlr_layer *owner = NULL;
    const tlr_weight *w = weight_by_path(f->model, path, lpath, sizeof lpath, "", &owner);
    if (w) {
        tlr_json_add_string(o, "layer", lpath);
        tlr_json_add_string(o, "role", w->role);
        tlr_json_add_bool(o, "trainable", owner->eff_trainable && tlr_weight_role_trainable(w->role));
    }
    *params += info.numel;
    *bytes += b;
}

static void legacy_groups(const tlr_kfile *f, tlr_json *wj)
{
    const char *root = f->weights_root;
    tlr_strlist names = TLR_STRLIST_INIT;
    tlr_json *groups = tlr_json_add_array(wj, "groups");
    int64_t params = 0;
    uint64_t bytes = 0;
    int arrays = 0;
    if (tlr_h5_attr_strings(f->h5, root, "layer_names", &names, NULL) == TLR_OK) {
        tlr_json_add_number(wj, "layer_names", (double)names.n);
        tlr_json_add_bool(wj, "layer_names_chunked", !tlr_h5_has_attr(f->h5, root, "layer_names"));
        for (size_t i = 0; i < names.n; i++) {
            char *g = strcmp(root, "/") == 0 ? tlr_xasprintf("/%s", names.items[i])
                                             : tlr_xasprintf("%s/%s", root, names.items[i]);
            tlr_json *go = tlr_json_push_object(groups);
            tlr_json_add_string(go, "group", g);
            tlr_json_add_string(go, "name", names.items[i]);
            int li = f->model ? tlr_model_find(f->model, names.items[i]) : -1;
            if (li >= 0) {
                tlr_json_add_string(go, "class", f->model->layers[li].class_name);
                tlr_json_add_bool(go, "nested", f->model->layers[li].op == TLR_OP_MODEL);
            }
            tlr_strlist wn = TLR_STRLIST_INIT;
            tlr_json *ds = tlr_json_add_array(go, "weights");
            int64_t gp = 0;
            uint64_t gb = 0;
            if (tlr_h5_attr_strings(f->h5, g, "weight_names", &wn, NULL) == TLR_OK) {
                for (size_t k = 0; k < wn.n; k++) {
                    char *p = tlr_xasprintf("%s/%s", g, wn.items[k]);
                    dataset_json(f, wn.items[k], p, ds, &gp, &gb);
                    free(p);
                }
                arrays += (int)wn.n;
            }
            tlr_json_add_number(go, "params", (double)gp);
            tlr_json_add_number(go, "bytes", (double)gb);
            params += gp;
            bytes += gb;
            tlr_strlist_free(&wn);
            free(g);
        }
    }
    tlr_strlist_free(&names);
    tlr_json_add_number(wj, "arrays", arrays);
    tlr_json_add_number(wj, "params", (double)params);
    tlr_json_add_number(wj, "bytes", (double)bytes);
}

/* .keras: datasets under the layer tree, plus optimizer/metrics state. */
static void archive_groups(const tlr_kfile *f, tlr_json *wj, tlr_json *opt)
{
    tlr_strlist all = TLR_STRLIST_INIT;
    tlr_json *groups = tlr_json_add_array(wj, "groups");
    tlr_json *current = NULL;
    char cur_key[1024] = "";
    int64_t params = 0, oparams = 0;
    uint64_t bytes = 0, obytes = 0;
    int arrays = 0, oarrays = 0;
    tlr_json *onames = tlr_json_add_array(opt, "names");
    if (tlr_h5_datasets_under(f->h5, "/", &all, NULL) == TLR_OK) {
        for (size_t i = 0; i < all.n; i++) {
            const char *rel = all.items[i];
            char *path = tlr_xasprintf("/%s", rel);
            if (strncmp(rel, "metrics", 7) == 0) {
                free(path);
                continue; /* metric state (counts, totals) is neither weights nor optimizer */
            }
            if (strncmp(rel, "optimizer", 9) == 0) {
                tlr_h5_dsinfo info;
                if (tlr_h5_dataset_info(f->h5, path, &info, NULL) == TLR_OK) {
                    oparams += info.numel;
                    obytes += (uint64_t)info.numel * info.elem_size;
                    oarrays++;
                    if (oarrays <= 12)
                        tlr_json_push_string(onames, rel);
                }
                free(path);
                continue;
            }
            /* group key = path up to "/vars" */
            const char *vars = strstr(rel, "/vars/");
            size_t klen = vars ? (size_t)(vars - rel) : strlen(rel);
            if (!current || strlen(cur_key) != klen || strncmp(cur_key, rel, klen) != 0) {
                snprintf(cur_key, sizeof cur_key, "%.*s", (int)klen, rel);
                current = tlr_json_push_object(groups);
                tlr_json_add_string(current, "group", cur_key);
                /* Keras >= 3.6 names the layer on its vars group */
                char *vg = tlr_xasprintf("/%s/vars", cur_key);
                if (tlr_h5_has_attr(f->h5, vg, "name")) {
                    char *nm = tlr_h5_attr_string(f->h5, vg, "name", NULL);
                    if (nm)
                        tlr_json_add_string(current, "name", nm);
                    free(nm);
                }
                free(vg);
                tlr_json_add_array(current, "weights");
            }
            int64_t gp = 0;
            uint64_t gb = 0;
            dataset_json(f, vars ? vars + 1 : rel, path, tlr_json_get(current, "weights"), &gp, &gb);
            params += gp;
            bytes += gb;
            arrays++;
            free(path);
        }
    }
    tlr_strlist_free(&all);
    tlr_json_add_number(wj, "arrays", arrays);
    tlr_json_add_number(wj, "params", (double)params);
    tlr_json_add_number(wj, "bytes", (double)bytes);
    tlr_json_add_bool(opt, "present", oarrays > 0);
    tlr_json_add_number(opt, "count", oarrays);
    tlr_json_add_number(opt, "params", (double)oparams);
    tlr_json_add_number(opt, "bytes", (double)obytes);
}

static void optimizer_json(const tlr_kfile *f, tlr_json *opt)
{
    tlr_strlist wn = TLR_STRLIST_INIT;
    int64_t params = 0;
    uint64_t bytes = 0;
    int present = tlr_h5_is_group(f->h5, "/optimizer_weights");
    tlr_json_add_bool(opt, "present", present);
    tlr_json *names = tlr_json_add_array(opt, "names");
    if (present && tlr_h5_attr_strings(f->h5, "/optimizer_weights", "weight_names", &wn, NULL) == TLR_OK) {
        for (size_t i = 0; i < wn.n; i++) {
            char *p = tlr_xasprintf("/optimizer_weights/%s", wn.items[i]);
            tlr_h5_dsinfo info;
            if (tlr_h5_dataset_info(f->h5, p, &info, NULL) == TLR_OK) {
                params += info.numel;
                bytes += (uint64_t)info.numel * info.elem_size;
            }
            if (i < 12)
                tlr_json_push_string(names, wn.items[i]);
            free(p);
        }
    }
    tlr_json_add_number(opt, "count", (double)wn.n);
    tlr_json_add_number(opt, "params", (double)params);
    tlr_json_add_number(opt, "bytes", (double)bytes);
    tlr_strlist_free(&wn);
}

/* Metric names from any of the forms Keras wrote: "acc", ["acc"], [[{MeanMetricWrapper
 * {name: "acc"}}]], {"output": [...]}. */
static void add_metric_names(const tlr_json *m, tlr_json *out, int depth)
{
    if (!m || depth > 8)
        return;
    if (tlr_json_is_string(m)) {
        tlr_json_push_string(out, tlr_json_string(m, ""));
    } else if (tlr_json_is_object(m) && tlr_json_get(m, "class_name")) {
        const tlr_json *c = tlr_json_get(m, "config");
        tlr_json_push_string(out, tlr_json_is_string(c) ? tlr_json_string(c, "?")
                                  : tlr_json_get_string(c, "name", tlr_json_get_string(m, "class_name", "?")));
    } else {
        for (const tlr_json *x = tlr_json_first(m); x; x = tlr_json_next(x))
            add_metric_names(x, out, depth + 1);
    }
}

static void training_json(const tlr_kfile *f, tlr_json *j)
{
    tlr_json *t = tlr_json_add_object(j, "training_config");
    const tlr_json *tc = f->training_config;
    tlr_json_add_bool(t, "present", tc != NULL && !tlr_json_is_null(tc));
    if (!tc || tlr_json_is_null(tc))
        return;
    const tlr_json *loss = tlr_json_get(tc, "loss");
    if (tlr_json_is_string(loss))
        tlr_json_add_string(t, "loss", tlr_json_string(loss, ""));
    else if (loss)
        tlr_json_add_string(t, "loss", tlr_json_get_string(loss, "class_name", "(custom)"));
    const tlr_json *opt = tlr_json_get(tc, "optimizer_config");
    if (!opt)
        opt = tlr_json_get(tc, "optimizer");
    if (tlr_json_is_string(opt)) {
        tlr_json_add_string(t, "optimizer", tlr_json_string(opt, ""));
    } else if (opt) {
        tlr_json_add_string(t, "optimizer", tlr_json_get_string(opt, "class_name", "?"));
        const tlr_json *oc = tlr_json_get(opt, "config");
        if (oc)
            tlr_json_add_item(t, "optimizer_config", tlr_json_copy(oc));
    }
    tlr_json *ma = tlr_json_add_array(t, "metrics");
    add_metric_names(tlr_json_get(tc, "metrics"), ma, 0);
    tlr_json_add_item(t, "raw", tlr_json_copy(tc));
}

static void gw_push(const tlr_layer *x, const tlr_weight *w, tlr_json *arr)
{
    tlr_json *a = tlr_json_push_object(arr);
    char *wn = tlr_xasprintf("%s/%s", x->name, w->role);
    tlr_json_add_string(a, "name", wn);
    free(wn);
    shape_json(a, "shape", w->ndim, w->shape);
    tlr_json_add_bool(a, "trainable", x->eff_trainable && tlr_weight_role_trainable(w->role));
}

/* A plain layer's variables whose role is trainable (want 1) or not (want 0), as created. */
static void gw_plain(const tlr_layer *x, int want, tlr_json *arr)
{
    for (int w = 0; w < x->n_weights; w++)
        if (!tlr_weight_role_trainable(x->weights[w].role) == !want)
            gw_push(x, &x->weights[w], arr);
}

/* Layer order (tf.keras 2.x, Keras 3): every variable, layer after layer, as created. */
static void gw_layer_order(const tlr_layer *x, tlr_json *arr)
{
    if (x->op == TLR_OP_MODEL) {
        for (int i = 0; i < x->inner->n_layers; i++)
            gw_layer_order(&x->inner->layers[i], arr);
        return;
    }
    for (int w = 0; w < x->n_weights; w++)
        gw_push(x, &x->weights[w], arr);
}

/* Standalone Keras 1/2 (keras/engine/network.py, topology.py): weights = trainable_weights
 * + non_trainable_weights, where for a layer or model X
 *   T(X) = [] if X is frozen, else its trainable variables (a model: T of each layer);
 *   N(X) = a plain layer's non-trainable variables, or, frozen, all of them (trainable
 *          first); a model: N of each layer, preceded by T of each layer when it is frozen. */
static void gw_trainable(const tlr_layer *x, tlr_json *arr)
{
    if (!x->trainable)
        return;
    if (x->op != TLR_OP_MODEL) {
        gw_plain(x, 1, arr);
        return;
    }
    for (int i = 0; i < x->inner->n_layers; i++)
        gw_trainable(&x->inner->layers[i], arr);
}

static void gw_non_trainable(const tlr_layer *x, tlr_json *arr)
{
    if (x->op != TLR_OP_MODEL) {
        if (!x->trainable)
            gw_plain(x, 1, arr);
        gw_plain(x, 0, arr);
        return;
    }
    if (!x->trainable)
        for (int i = 0; i < x->inner->n_layers; i++)
            gw_trainable(&x->inner->layers[i], arr);
    for (int i = 0; i < x->inner->n_layers; i++)
        gw_non_trainable(&x->inner->layers[i], arr);
}

/* layer.get_weights() per top-level layer; model.get_weights() is their concatenation.
 * A plain layer lists its variables as created (kernel, bias; gamma, beta, moving mean and
 * variance).  A nested model differs by writer: standalone Keras 1 and 2 (<= 2.3) return
 * Layer.weights = trainable_weights + non_trainable_weights, so its trainable variables
 * come first (keras/engine/network.py); tf.keras 2.x (Model.weights walks self._layers,
 * training.py) and Keras 3 (Layer.weights walks its own then its sublayers' variables)
 * keep layer order. */
static void get_weights_json(const tlr_model *m, int trainable_first, tlr_json *per_layer)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    for (int k = 0; k < n; k++) {
        const tlr_layer *l = &m->layers[vis[k]];
        tlr_json *o = tlr_json_push_object(per_layer);
        tlr_json_add_string(o, "layer", l->name);
        tlr_json *arr = tlr_json_add_array(o, "arrays");
        if (trainable_first && l->op == TLR_OP_MODEL) {
            gw_trainable(l, arr);
            gw_non_trainable(l, arr);
        } else {
            gw_layer_order(l, arr);
        }
    }
    free(vis);
}

static const char *format_key(tlr_format fmt)
{
    switch (fmt) {
    case TLR_FMT_H5_MODEL: return "hdf5-model";
    case TLR_FMT_H5_WEIGHTS: return "hdf5-weights";
    case TLR_FMT_KERAS_ZIP: return "keras-zip";
    default: return "json";
    }
}

tlr_json *tlr_inspect_storage(const tlr_kfile *f, tlr_err *err)
{
    (void)err;
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_string(j, "file", f->path);
    struct stat st;
    if (stat(f->path, &st) == 0)
        tlr_json_add_number(j, "bytes", (double)st.st_size);
    tlr_json_add_string(j, "format", format_key(f->format));
    tlr_json_add_string(j, "format_description", tlr_format_name(f->format));
    if (f->keras_version)
        tlr_json_add_string(j, "keras_version", f->keras_version);
    else
        tlr_json_add_null(j, "keras_version");
    tlr_json_add_number(j, "keras_major", f->keras_major);
    tlr_json_add_bool(j, "tf_keras", f->is_tf_keras);
    if (f->backend)
        tlr_json_add_string(j, "backend", f->backend);
    else
        tlr_json_add_null(j, "backend");
    tlr_json_add_bool(j, "has_architecture", f->model != NULL);
    if (f->weights_path)
        tlr_json_add_string(j, "weights_file", f->weights_path);
    if (f->format != TLR_FMT_KERAS_ZIP && f->format != TLR_FMT_JSON && f->h5)
        attrs_json(f->h5, "/", j, "root_attributes");
    if (f->config_root) {
        tlr_json *mc = tlr_json_add_object(j, "model_config");
        char *txt = tlr_json_print(f->config_root, 0);
        tlr_json_add_number(mc, "json_bytes", (double)strlen(txt));
        free(txt);
        tlr_json_add_string(mc, "class_name", tlr_json_get_string(f->config_root, "class_name", "?"));
        if (f->model) {
            tlr_json_add_string(mc, "name", f->model->name);
            tlr_json_add_number(mc, "layers", tlr_model_visible_layers(f->model, NULL, 0));
        }
    }
    training_json(f, j);
    tlr_json *wj = tlr_json_add_object(j, "weights");
    tlr_json *opt = tlr_json_add_object(j, "optimizer_weights");
    if (f->h5 && f->weights_root) {
        tlr_json_add_string(wj, "group", f->weights_root);
        attrs_json(f->h5, f->weights_root, wj, "attributes");
        legacy_groups(f, wj);
        tlr_json_add_bool(wj, "top_level_model_weights",
                          tlr_h5_is_group(f->h5, strcmp(f->weights_root, "/") == 0
                                                     ? "/top_level_model_weights"
                                                     : "/model_weights/top_level_model_weights"));
        optimizer_json(f, opt);
    } else if (f->h5) {
        tlr_json_add_string(wj, "group", "model.weights.h5");
        archive_groups(f, wj, opt);
    } else {
        tlr_json_add_bool(opt, "present", 0);
    }
    if (f->n_archive_members) {
        tlr_json *a = tlr_json_add_array(j, "archive_members");
        for (int i = 0; i < f->n_archive_members; i++)
            tlr_json_push_string(a, f->archive_members[i]);
    }
    if (f->model) {
        /* standalone Keras: Keras 1, or 2.x without "-tf" before tf.keras took over at 2.4 */
        int trainable_first = f->keras_major == 1 || (f->keras_major == 2 && !f->is_tf_keras);
        tlr_json_add_string(j, "get_weights_order", trainable_first ? "trainable_first" : "layer");
        tlr_json_add_bool(j, "get_weights_trainable_first", trainable_first);
        get_weights_json(f->model, trainable_first, tlr_json_add_array(j, "get_weights"));
    }
    return j;
}

/* ---- storage as text ----------------------------------------------------------------------- */

static void shape_text(const tlr_json *a, tlr_buf *out)
{
    tlr_buf_putc(out, '(');
    int i = 0;
    for (const tlr_json *e = tlr_json_first(a); e; e = tlr_json_next(e), i++) {
        if (tlr_json_is_null(e))
            tlr_buf_printf(out, "%sNone", i ? ", " : "");
        else
            tlr_buf_printf(out, "%s%lld", i ? ", " : "", (long long)tlr_json_number(e, 0));
    }
    tlr_buf_puts(out, i == 1 ? ",)" : ")");
}

static void size_text(double bytes, tlr_buf *out)
{
    if (bytes >= 1024.0 * 1024)
        tlr_buf_printf(out, "%.2f MB", bytes / (1024.0 * 1024));
    else if (bytes >= 1024.0)
        tlr_buf_printf(out, "%.2f KB", bytes / 1024.0);
    else
        tlr_buf_printf(out, "%.0f bytes", bytes);
}

void tlr_inspect_storage_text(const tlr_json *s, tlr_buf *out)
{
    tlr_buf_printf(out, "File: %s\n", tlr_json_get_string(s, "file", ""));
    tlr_buf_printf(out, "Format: %s\n", tlr_json_get_string(s, "format_description", ""));
    tlr_buf_printf(out, "Keras version: %s\n", tlr_json_get_string(s, "keras_version", "unknown"));
    tlr_buf_printf(out, "Backend: %s\n", tlr_json_get_string(s, "backend", "unknown"));
    const tlr_json *attrs = tlr_json_get(s, "root_attributes");
    if (tlr_json_size(attrs)) {
        tlr_buf_puts(out, "\nRoot attributes:\n");
        for (const tlr_json *a = tlr_json_first(attrs); a; a = tlr_json_next(a))
            tlr_buf_printf(out, "  %-16s %s: %s\n", tlr_json_get_string(a, "name", ""),
                           tlr_json_get_string(a, "type", ""), tlr_json_get_string(a, "value", ""));
    }
    const tlr_json *mc = tlr_json_get(s, "model_config");
    if (mc)
        tlr_buf_printf(out, "\nArchitecture (model_config): %s '%s', %d layers, %d bytes of JSON\n",
                       tlr_json_get_string(mc, "class_name", "?"), tlr_json_get_string(mc, "name", "?"),
                       (int)tlr_json_get_number(mc, "layers", 0),
                       (int)tlr_json_get_number(mc, "json_bytes", 0));
    else
        tlr_buf_puts(out, "\nArchitecture: not in this file (weights only). Layer shapes and feature "
                          "maps need the architecture: --config arch.json\n");
    const tlr_json *t = tlr_json_get(s, "training_config");
    if (tlr_json_get_bool(t, "present", 0)) {
        tlr_buf_printf(out, "\nTraining config: loss %s, optimizer %s", tlr_json_get_string(t, "loss", "?"),
                       tlr_json_get_string(t, "optimizer", "?"));
        const tlr_json *oc = tlr_json_get(t, "optimizer_config");
        const tlr_json *lr = tlr_json_get(oc, "learning_rate");
        if (!lr)
            lr = tlr_json_get(oc, "lr");
        if (tlr_json_is_number(lr))
            tlr_buf_printf(out, " (learning rate %g)", tlr_json_number(lr, 0));
        const tlr_json *m = tlr_json_get(t, "metrics");
        if (tlr_json_size(m)) {
            tlr_buf_puts(out, ", metrics");
            for (const tlr_json *x = tlr_json_first(m); x; x = tlr_json_next(x))
                tlr_buf_printf(out, " %s", tlr_json_string(x, ""));
        }
        tlr_buf_putc(out, '\n');
    } else {
        tlr_buf_puts(out, "\nTraining config: none (the model was saved without compile())\n");
    }
    const tlr_json *w = tlr_json_get(s, "weights");
    tlr_buf_printf(out, "\nWeights (%s): %d arrays, %lld parameters, ", tlr_json_get_string(w, "group", "?"),
                   (int)tlr_json_get_number(w, "arrays", 0), (long long)tlr_json_get_number(w, "params", 0));
    size_text(tlr_json_get_number(w, "bytes", 0), out);
    tlr_buf_putc(out, '\n');
    for (const tlr_json *g = tlr_json_first(tlr_json_get(w, "groups")); g; g = tlr_json_next(g)) {
        const tlr_json *ws = tlr_json_get(g, "weights");
        tlr_buf_printf(out, "  %s%s%s%s\n", tlr_json_get_string(g, "group", ""),
                       tlr_json_get(g, "class") ? " (" : "", tlr_json_get_string(g, "class", ""),
                       tlr_json_get(g, "class") ? ")" : "");
        if (!tlr_json_size(ws))
            tlr_buf_puts(out, "    (no weights)\n");
        for (const tlr_json *d = tlr_json_first(ws); d; d = tlr_json_next(d)) {
            tlr_buf_printf(out, "    %-40s ", tlr_json_get_string(d, "name", ""));
            shape_text(tlr_json_get(d, "shape"), out);
            tlr_buf_printf(out, " %s, ", tlr_json_get_string(d, "dtype", ""));
            size_text(tlr_json_get_number(d, "bytes", 0), out);
            if (tlr_json_get(d, "layer"))
                tlr_buf_printf(out, " -> %s %s%s", tlr_json_get_string(d, "layer", ""),
                               tlr_json_get_string(d, "role", ""),
                               tlr_json_get_bool(d, "trainable", 0) ? "" : " (non-trainable)");
            tlr_buf_putc(out, '\n');
        }
    }
    const tlr_json *o = tlr_json_get(s, "optimizer_weights");
    if (tlr_json_get_bool(o, "present", 0)) {
        tlr_buf_printf(out, "\nOptimizer state: %d arrays, %lld values, ", (int)tlr_json_get_number(o, "count", 0),
                       (long long)tlr_json_get_number(o, "params", 0));
        size_text(tlr_json_get_number(o, "bytes", 0), out);
        tlr_buf_putc(out, '\n');
    } else {
        tlr_buf_puts(out, "\nOptimizer state: not saved\n");
    }
    const tlr_json *gw = tlr_json_get(s, "get_weights");
    if (tlr_json_size(gw)) {
        tlr_buf_puts(out, "\nlayer.get_weights() returns, per layer:\n");
        for (const tlr_json *l = tlr_json_first(gw); l; l = tlr_json_next(l)) {
            const tlr_json *arr = tlr_json_get(l, "arrays");
            tlr_buf_printf(out, "  %s: %d array%s", tlr_json_get_string(l, "layer", ""),
                           (int)tlr_json_size(arr), tlr_json_size(arr) == 1 ? "" : "s");
            int i = 0;
            for (const tlr_json *a = tlr_json_first(arr); a && i < 4; a = tlr_json_next(a), i++) {
                tlr_buf_puts(out, i ? ", " : " ");
                shape_text(tlr_json_get(a, "shape"), out);
            }
            if (tlr_json_size(arr) > 4)
                tlr_buf_puts(out, ", ...");
            tlr_buf_putc(out, '\n');
        }
    }
}
