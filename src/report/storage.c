/* storage.c - reading a Keras file's anatomy into a tlr_storage (see storage.h).  The JSON
 * and text renderings are in storage_print.c. */
#include "report/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "keras/shape.h"

/* ---- attributes ----------------------------------------------------------------------------- */

/* The attributes of 'obj'; long JSON configs are shortened (their content is reported apart). */
static void read_attrs(tlr_h5 *h, const char *obj, tlr_h5_attr **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (tlr_h5_attrs(h, obj, out, n, NULL) != TLR_OK) {
        *out = NULL;
        *n = 0;
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        size_t len = strlen((*out)[i].value);
        if (len > 120) {
            char *s = tlr_xasprintf("%.100s... (%zu characters)", (*out)[i].value, len);
            free((*out)[i].value);
            (*out)[i].value = s;
        }
    }
}

/* ---- weight datasets ------------------------------------------------------------------------ */

/* The weight bound to dataset 'path', with the path of the layer that owns it. */
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

/* Appends dataset 'path' (listed as 'name') to group 'g', with the layer it belongs to;
 * a dataset whose header cannot be read is left out. */
static void add_array(const tlr_kfile *f, tlr_storage_group *g, const char *name,
                      const char *path)
{
    tlr_h5_dsinfo info;
    if (tlr_h5_dataset_info(f->h5, path, &info, NULL) != TLR_OK)
        return;
    g->arrays = tlr_xrealloc(g->arrays, (size_t)(g->n_arrays + 1) * sizeof *g->arrays);
    tlr_storage_array *a = &g->arrays[g->n_arrays++];
    memset(a, 0, sizeof *a);
    a->name = tlr_xstrdup(name);
    a->path = tlr_xstrdup(path);
    a->shape.ndim = info.ndim;
    memcpy(a->shape.d, info.dims, sizeof a->shape.d);
    a->dtype = tlr_dtype_name(info.dtype, info.elem_size);
    a->bytes = (uint64_t)info.numel * info.elem_size;
    char lpath[1024] = "";
    const tlr_layer *owner = NULL;
    const tlr_weight *w = weight_by_path(f->model, path, lpath, sizeof lpath, "", &owner);
    if (w) {
        a->layer = tlr_xstrdup(lpath);
        a->role = w->role;
        a->trainable = owner->eff_trainable && tlr_weight_role_trainable(w->role);
    }
    g->params += info.numel;
    g->bytes += a->bytes;
}

static tlr_storage_group *push_group(tlr_storage_weights *w, char *group)
{
    w->groups = tlr_xrealloc(w->groups, (size_t)(w->n_groups + 1) * sizeof *w->groups);
    tlr_storage_group *g = &w->groups[w->n_groups++];
    memset(g, 0, sizeof *g);
    g->group = group;
    return g;
}

/* One layer_names entry of the legacy layout: its group and the datasets weight_names lists. */
static void legacy_group(const tlr_kfile *f, tlr_storage_weights *w, const char *name)
{
    const char *root = f->weights_root;
    tlr_storage_group *g = push_group(w, strcmp(root, "/") == 0 ? tlr_xasprintf("/%s", name)
                                                                : tlr_xasprintf("%s/%s", root, name));
    g->name = tlr_xstrdup(name);
    int li = f->model ? tlr_model_find(f->model, name) : -1;
    if (li >= 0) {
        g->class_name = f->model->layers[li].class_name;
        g->nested = f->model->layers[li].op == TLR_OP_MODEL;
    }
    tlr_strlist wn = TLR_STRLIST_INIT;
    if (tlr_h5_attr_strings(f->h5, g->group, "weight_names", &wn, NULL) == TLR_OK) {
        for (size_t k = 0; k < wn.n; k++) {
            char *p = tlr_xasprintf("%s/%s", g->group, wn.items[k]);
            add_array(f, g, wn.items[k], p);
            free(p);
        }
        w->arrays += (int)wn.n;
    }
    w->params += g->params;
    w->bytes += g->bytes;
    tlr_strlist_free(&wn);
}

static void legacy_weights(const tlr_kfile *f, tlr_storage_weights *w)
{
    const char *root = f->weights_root;
    w->layout = TLR_STORAGE_LEGACY;
    w->group = root;
    read_attrs(f->h5, root, &w->attrs, &w->n_attrs);
    tlr_strlist names = TLR_STRLIST_INIT;
    if (tlr_h5_attr_strings(f->h5, root, "layer_names", &names, NULL) == TLR_OK) {
        w->has_layer_names = 1;
        w->n_layer_names = (int)names.n;
        w->layer_names_chunked = !tlr_h5_has_attr(f->h5, root, "layer_names");
        for (size_t i = 0; i < names.n; i++)
            legacy_group(f, w, names.items[i]);
    }
    tlr_strlist_free(&names);
    w->top_level_model_weights =
        tlr_h5_is_group(f->h5, strcmp(root, "/") == 0 ? "/top_level_model_weights"
                                                      : "/model_weights/top_level_model_weights");
}

static void legacy_optimizer(const tlr_kfile *f, tlr_storage_optimizer *opt)
{
    opt->present = tlr_h5_is_group(f->h5, "/optimizer_weights");
    tlr_strlist wn = TLR_STRLIST_INIT;
    if (opt->present &&
        tlr_h5_attr_strings(f->h5, "/optimizer_weights", "weight_names", &wn, NULL) == TLR_OK) {
        for (size_t i = 0; i < wn.n; i++) {
            char *p = tlr_xasprintf("/optimizer_weights/%s", wn.items[i]);
            tlr_h5_dsinfo info;
            if (tlr_h5_dataset_info(f->h5, p, &info, NULL) == TLR_OK) {
                opt->params += info.numel;
                opt->bytes += (uint64_t)info.numel * info.elem_size;
            }
            if (i < TLR_STORAGE_MAX_OPT_NAMES)
                tlr_strlist_push(&opt->names, wn.items[i]);
            free(p);
        }
    }
    opt->count = (int)wn.n;
    tlr_strlist_free(&wn);
}

/* A .keras optimizer variable: counted, and named while there is room. */
static void archive_optimizer_var(const tlr_kfile *f, const char *rel, const char *path,
                                  tlr_storage_optimizer *opt)
{
    tlr_h5_dsinfo info;
    if (tlr_h5_dataset_info(f->h5, path, &info, NULL) != TLR_OK)
        return;
    opt->params += info.numel;
    opt->bytes += (uint64_t)info.numel * info.elem_size;
    opt->count++;
    if (opt->count <= TLR_STORAGE_MAX_OPT_NAMES)
        tlr_strlist_push(&opt->names, rel);
}

/* The group a .keras dataset 'rel' belongs to: its path up to "/vars", a new group each time
 * that key changes.  Keras >= 3.6 names the layer on the vars group. */
static tlr_storage_group *archive_group_of(const tlr_kfile *f, tlr_storage_weights *w,
                                           const char *rel, const char *vars)
{
    size_t klen = vars ? (size_t)(vars - rel) : strlen(rel);
    tlr_storage_group *cur = w->n_groups ? &w->groups[w->n_groups - 1] : NULL;
    if (cur && strlen(cur->group) == klen && strncmp(cur->group, rel, klen) == 0)
        return cur;
    cur = push_group(w, tlr_xasprintf("%.*s", (int)klen, rel));
    char *vg = tlr_xasprintf("/%s/vars", cur->group);
    if (tlr_h5_has_attr(f->h5, vg, "name"))
        cur->name = tlr_h5_attr_string(f->h5, vg, "name", NULL);
    free(vg);
    return cur;
}

/* .keras: datasets under the layer tree, plus optimizer state; metric state (counts,
 * totals) is neither. */
static void archive_weights(const tlr_kfile *f, tlr_storage_weights *w,
                            tlr_storage_optimizer *opt)
{
    w->layout = TLR_STORAGE_ARCHIVE;
    w->group = "model.weights.h5";
    tlr_strlist all = TLR_STRLIST_INIT;
    if (tlr_h5_datasets_under(f->h5, "/", &all, NULL) == TLR_OK) {
        for (size_t i = 0; i < all.n; i++) {
            const char *rel = all.items[i];
            if (strncmp(rel, "metrics", 7) == 0)
                continue;
            char *path = tlr_xasprintf("/%s", rel);
            if (strncmp(rel, "optimizer", 9) == 0) {
                archive_optimizer_var(f, rel, path, opt);
            } else {
                const char *vars = strstr(rel, "/vars/");
                tlr_storage_group *g = archive_group_of(f, w, rel, vars);
                int64_t p0 = g->params;
                uint64_t b0 = g->bytes;
                add_array(f, g, vars ? vars + 1 : rel, path);
                w->params += g->params - p0;
                w->bytes += g->bytes - b0;
                w->arrays++;
            }
            free(path);
        }
    }
    tlr_strlist_free(&all);
    opt->present = opt->count > 0;
}

/* ---- training config ------------------------------------------------------------------------ */

/* Metric names from any of the forms Keras wrote: "acc", ["acc"], [[{MeanMetricWrapper
 * {name: "acc"}}]], {"output": [...]}. */
static void add_metric_names(const tlr_json *m, tlr_strlist *out, int depth)
{
    if (!m || depth > 8)
        return;
    if (tlr_json_is_string(m)) {
        tlr_strlist_push(out, tlr_json_string(m, ""));
    } else if (tlr_json_is_object(m) && tlr_json_get(m, "class_name")) {
        const tlr_json *c = tlr_json_get(m, "config");
        tlr_strlist_push(out, tlr_json_is_string(c) ? tlr_json_string(c, "?")
                              : tlr_json_get_string(c, "name", tlr_json_get_string(m, "class_name", "?")));
    } else {
        for (const tlr_json *x = tlr_json_first(m); x; x = tlr_json_next(x))
            add_metric_names(x, out, depth + 1);
    }
}

/* What compile() recorded: loss, optimizer (with its config and learning rate), metrics. */
static void read_training(const tlr_kfile *f, tlr_storage_training *t)
{
    const tlr_json *tc = f->training_config;
    t->present = tc != NULL && !tlr_json_is_null(tc);
    if (!t->present)
        return;
    t->raw = tc;
    const tlr_json *loss = tlr_json_get(tc, "loss");
    if (tlr_json_is_string(loss))
        t->loss = tlr_json_string(loss, "");
    else if (loss)
        t->loss = tlr_json_get_string(loss, "class_name", "(custom)");
    const tlr_json *opt = tlr_json_get(tc, "optimizer_config");
    if (!opt)
        opt = tlr_json_get(tc, "optimizer");
    if (tlr_json_is_string(opt)) {
        t->optimizer = tlr_json_string(opt, "");
    } else if (opt) {
        t->optimizer = tlr_json_get_string(opt, "class_name", "?");
        t->optimizer_config = tlr_json_get(opt, "config");
    }
    const tlr_json *lr = tlr_json_get(t->optimizer_config, "learning_rate");
    if (!lr)
        lr = tlr_json_get(t->optimizer_config, "lr");
    t->has_learning_rate = tlr_json_is_number(lr);
    t->learning_rate = tlr_json_number(lr, 0);
    add_metric_names(tlr_json_get(tc, "metrics"), &t->metrics, 0);
}

/* ---- get_weights() order -------------------------------------------------------------------- */

static void gw_push(const tlr_layer *x, const tlr_weight *w, tlr_storage_layer_vars *lv)
{
    lv->vars = tlr_xrealloc(lv->vars, (size_t)(lv->n_vars + 1) * sizeof *lv->vars);
    tlr_storage_var *v = &lv->vars[lv->n_vars++];
    v->name = tlr_xasprintf("%s/%s", x->name, w->role);
    v->shape.ndim = w->ndim;
    memcpy(v->shape.d, w->shape, sizeof v->shape.d);
    v->trainable = x->eff_trainable && tlr_weight_role_trainable(w->role);
}

/* A plain layer's variables whose role is trainable (want 1) or not (want 0), as created. */
static void gw_plain(const tlr_layer *x, int want, tlr_storage_layer_vars *lv)
{
    for (int w = 0; w < x->n_weights; w++)
        if (!tlr_weight_role_trainable(x->weights[w].role) == !want)
            gw_push(x, &x->weights[w], lv);
}

/* Layer order (tf.keras 2.x, Keras 3): every variable, layer after layer, as created. */
static void gw_layer_order(const tlr_layer *x, tlr_storage_layer_vars *lv)
{
    if (x->op == TLR_OP_MODEL) {
        for (int i = 0; i < x->inner->n_layers; i++)
            gw_layer_order(&x->inner->layers[i], lv);
        return;
    }
    for (int w = 0; w < x->n_weights; w++)
        gw_push(x, &x->weights[w], lv);
}

/* Standalone Keras 1/2 (keras/engine/network.py, topology.py): weights = trainable_weights
 * + non_trainable_weights, where for a layer or model X
 *   T(X) = [] if X is frozen, else its trainable variables (a model: T of each layer);
 *   N(X) = a plain layer's non-trainable variables, or, frozen, all of them (trainable
 *          first); a model: N of each layer, preceded by T of each layer when it is frozen. */
static void gw_trainable(const tlr_layer *x, tlr_storage_layer_vars *lv)
{
    if (!x->trainable)
        return;
    if (x->op != TLR_OP_MODEL) {
        gw_plain(x, 1, lv);
        return;
    }
    for (int i = 0; i < x->inner->n_layers; i++)
        gw_trainable(&x->inner->layers[i], lv);
}

static void gw_non_trainable(const tlr_layer *x, tlr_storage_layer_vars *lv)
{
    if (x->op != TLR_OP_MODEL) {
        if (!x->trainable)
            gw_plain(x, 1, lv);
        gw_plain(x, 0, lv);
        return;
    }
    if (!x->trainable)
        for (int i = 0; i < x->inner->n_layers; i++)
            gw_trainable(&x->inner->layers[i], lv);
    for (int i = 0; i < x->inner->n_layers; i++)
        gw_non_trainable(&x->inner->layers[i], lv);
}

/* layer.get_weights() per top-level layer; model.get_weights() is their concatenation.
 * A plain layer lists its variables as created (kernel, bias; gamma, beta, moving mean and
 * variance).  A nested model differs by writer: standalone Keras 1 and 2 (<= 2.3) return
 * Layer.weights = trainable_weights + non_trainable_weights, so its trainable variables
 * come first (keras/engine/network.py); tf.keras 2.x (Model.weights walks self._layers,
 * training.py) and Keras 3 (Layer.weights walks its own then its sublayers' variables)
 * keep layer order. */
static void read_get_weights(const tlr_kfile *f, tlr_storage *s)
{
    const tlr_model *m = f->model;
    /* standalone Keras: Keras 1, or 2.x without "-tf" before tf.keras took over at 2.4 */
    s->has_get_weights = 1;
    s->get_weights_trainable_first = f->keras_major == 1 || (f->keras_major == 2 && !f->is_tf_keras);
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    s->get_weights = tlr_xcalloc((size_t)n + 1, sizeof *s->get_weights);
    s->n_get_weights = n;
    for (int k = 0; k < n; k++) {
        const tlr_layer *l = &m->layers[vis[k]];
        tlr_storage_layer_vars *lv = &s->get_weights[k];
        lv->layer = l->name;
        if (s->get_weights_trainable_first && l->op == TLR_OP_MODEL) {
            gw_trainable(l, lv);
            gw_non_trainable(l, lv);
        } else {
            gw_layer_order(l, lv);
        }
    }
    free(vis);
}

/* ---- the whole anatomy ---------------------------------------------------------------------- */

static void read_model_config(const tlr_kfile *f, tlr_storage *s)
{
    s->has_config = 1;
    char *txt = tlr_json_print(f->config_root, 0);
    s->config_bytes = strlen(txt);
    free(txt);
    s->config_class = tlr_json_get_string(f->config_root, "class_name", "?");
    s->subclassed = f->subclassed != NULL;
    if (f->model) {
        s->model_name = f->model->name;
        s->model_layers = tlr_model_visible_layers(f->model, NULL, 0);
    }
}

static void read_weights(const tlr_kfile *f, tlr_storage *s)
{
    if (f->h5 && f->weights_root) {
        legacy_weights(f, &s->weights);
        legacy_optimizer(f, &s->optimizer);
    } else if (f->h5) {
        archive_weights(f, &s->weights, &s->optimizer);
    } else {
        s->weights.layout = TLR_STORAGE_NO_WEIGHTS;
    }
}

tlr_storage *tlr_inspect_storage_build(const tlr_kfile *f, tlr_err *err)
{
    (void)err;
    tlr_storage *s = tlr_xcalloc(1, sizeof *s);
    s->file = f->path;
    struct stat st;
    if (stat(f->path, &st) == 0) {
        s->has_bytes = 1;
        s->bytes = (int64_t)st.st_size;
    }
    s->format = f->format;
    s->keras_version = f->keras_version;
    s->keras_major = f->keras_major;
    s->tf_keras = f->is_tf_keras;
    s->backend = f->backend;
    s->has_architecture = f->model != NULL;
    s->weights_file = f->weights_path;
    if (f->format != TLR_FMT_KERAS_ZIP && f->format != TLR_FMT_JSON && f->h5) {
        s->has_root_attrs = 1;
        read_attrs(f->h5, "/", &s->root_attrs, &s->n_root_attrs);
    }
    if (f->config_root)
        read_model_config(f, s);
    read_training(f, &s->training);
    read_weights(f, s);
    s->archive_members = f->archive_members;
    s->archive_sizes = f->archive_sizes;
    s->n_archive_members = f->n_archive_members;
    if (f->model)
        read_get_weights(f, s);
    return s;
}

static void free_group(tlr_storage_group *g)
{
    for (int i = 0; i < g->n_arrays; i++) {
        free(g->arrays[i].name);
        free(g->arrays[i].path);
        free(g->arrays[i].layer);
    }
    free(g->arrays);
    free(g->group);
    free(g->name);
}

void tlr_storage_free(tlr_storage *s)
{
    if (!s)
        return;
    tlr_h5_attrs_free(s->root_attrs, s->n_root_attrs);
    tlr_h5_attrs_free(s->weights.attrs, s->weights.n_attrs);
    for (int i = 0; i < s->weights.n_groups; i++)
        free_group(&s->weights.groups[i]);
    free(s->weights.groups);
    tlr_strlist_free(&s->optimizer.names);
    tlr_strlist_free(&s->training.metrics);
    for (int i = 0; i < s->n_get_weights; i++) {
        for (int k = 0; k < s->get_weights[i].n_vars; k++)
            free(s->get_weights[i].vars[k].name);
        free(s->get_weights[i].vars);
    }
    free(s->get_weights);
    free(s);
}
