/* storage_print.c - a tlr_storage as JSON (--json, report.json) and as the --storage text. */
#include "report/storage.h"

#include <stdio.h>
#include <stdlib.h>

#include "keras/shape.h"

const char *tlr_storage_format_key(tlr_format fmt)
{
    switch (fmt) {
    case TLR_FMT_H5_MODEL: return "hdf5-model";
    case TLR_FMT_H5_WEIGHTS: return "hdf5-weights";
    case TLR_FMT_KERAS_ZIP: return "keras-zip";
    default: return "json";
    }
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void add_string_or_null(tlr_json *o, const char *key, const char *s)
{
    if (s)
        tlr_json_add_string(o, key, s);
    else
        tlr_json_add_null(o, key);
}

static void shape_json(tlr_json *obj, const char *key, const tlr_shape *s)
{
    tlr_json *a = tlr_json_add_array(obj, key);
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0)
            tlr_json_add_null(a, NULL);
        else
            tlr_json_push_number(a, (double)s->d[i]);
    }
}

static void attrs_json(const tlr_h5_attr *a, size_t n, tlr_json *parent, const char *key)
{
    tlr_json *arr = tlr_json_add_array(parent, key);
    for (size_t i = 0; i < n; i++) {
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_string(o, "name", a[i].name);
        tlr_json_add_string(o, "type", a[i].type);
        tlr_json_add_string(o, "value", a[i].value);
        tlr_json_add_number(o, "bytes", (double)a[i].bytes);
    }
}

static void array_json(const tlr_storage_array *a, tlr_json *arr)
{
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "name", a->name);
    tlr_json_add_string(o, "path", a->path);
    shape_json(o, "shape", &a->shape);
    tlr_json_add_string(o, "dtype", a->dtype);
    tlr_json_add_number(o, "bytes", (double)a->bytes);
    if (a->layer) {
        tlr_json_add_string(o, "layer", a->layer);
        tlr_json_add_string(o, "role", a->role);
        tlr_json_add_bool(o, "trainable", a->trainable);
    }
}

/* A legacy group names its layer and totals its arrays; a .keras group has only a name when
 * the file gives one. */
static void group_json(const tlr_storage_group *g, tlr_storage_layout layout, tlr_json *arr)
{
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "group", g->group);
    if (g->name)
        tlr_json_add_string(o, "name", g->name);
    if (g->class_name) {
        tlr_json_add_string(o, "class", g->class_name);
        tlr_json_add_bool(o, "nested", g->nested);
    }
    tlr_json *ws = tlr_json_add_array(o, "weights");
    for (int i = 0; i < g->n_arrays; i++)
        array_json(&g->arrays[i], ws);
    if (layout == TLR_STORAGE_LEGACY) {
        tlr_json_add_number(o, "params", (double)g->params);
        tlr_json_add_number(o, "bytes", (double)g->bytes);
    }
}

static void weights_json(const tlr_storage_weights *w, tlr_json *wj)
{
    if (w->layout == TLR_STORAGE_NO_WEIGHTS)
        return;
    tlr_json_add_string(wj, "group", w->group);
    if (w->layout == TLR_STORAGE_LEGACY)
        attrs_json(w->attrs, w->n_attrs, wj, "attributes");
    tlr_json *groups = tlr_json_add_array(wj, "groups");
    for (int i = 0; i < w->n_groups; i++)
        group_json(&w->groups[i], w->layout, groups);
    if (w->has_layer_names) {
        tlr_json_add_number(wj, "layer_names", w->n_layer_names);
        tlr_json_add_bool(wj, "layer_names_chunked", w->layer_names_chunked);
    }
    tlr_json_add_number(wj, "arrays", w->arrays);
    tlr_json_add_number(wj, "params", (double)w->params);
    tlr_json_add_number(wj, "bytes", (double)w->bytes);
    if (w->layout == TLR_STORAGE_LEGACY)
        tlr_json_add_bool(wj, "top_level_model_weights", w->top_level_model_weights);
}

static void optimizer_json(const tlr_storage_optimizer *o, tlr_storage_layout layout,
                           tlr_json *oj)
{
    if (layout == TLR_STORAGE_NO_WEIGHTS) {
        tlr_json_add_bool(oj, "present", 0);
        return;
    }
    /* the two readers wrote their keys in different orders; report.json keeps them */
    if (layout == TLR_STORAGE_LEGACY)
        tlr_json_add_bool(oj, "present", o->present);
    tlr_json *names = tlr_json_add_array(oj, "names");
    for (size_t i = 0; i < o->names.n; i++)
        tlr_json_push_string(names, o->names.items[i]);
    if (layout == TLR_STORAGE_ARCHIVE)
        tlr_json_add_bool(oj, "present", o->present);
    tlr_json_add_number(oj, "count", o->count);
    tlr_json_add_number(oj, "params", (double)o->params);
    tlr_json_add_number(oj, "bytes", (double)o->bytes);
}

static void training_json(const tlr_storage_training *t, tlr_json *j)
{
    tlr_json *o = tlr_json_add_object(j, "training_config");
    tlr_json_add_bool(o, "present", t->present);
    if (!t->present)
        return;
    if (t->loss)
        tlr_json_add_string(o, "loss", t->loss);
    if (t->optimizer)
        tlr_json_add_string(o, "optimizer", t->optimizer);
    if (t->optimizer_config)
        tlr_json_add_item(o, "optimizer_config", tlr_json_copy(t->optimizer_config));
    tlr_json *ma = tlr_json_add_array(o, "metrics");
    for (size_t i = 0; i < t->metrics.n; i++)
        tlr_json_push_string(ma, t->metrics.items[i]);
    tlr_json_add_item(o, "raw", tlr_json_copy(t->raw));
}

static void get_weights_json(const tlr_storage *s, tlr_json *j)
{
    tlr_json_add_string(j, "get_weights_order",
                        s->get_weights_trainable_first ? "trainable_first" : "layer");
    tlr_json_add_bool(j, "get_weights_trainable_first", s->get_weights_trainable_first);
    tlr_json *per_layer = tlr_json_add_array(j, "get_weights");
    for (int k = 0; k < s->n_get_weights; k++) {
        const tlr_storage_layer_vars *lv = &s->get_weights[k];
        tlr_json *o = tlr_json_push_object(per_layer);
        tlr_json_add_string(o, "layer", lv->layer);
        tlr_json *arr = tlr_json_add_array(o, "arrays");
        for (int i = 0; i < lv->n_vars; i++) {
            tlr_json *a = tlr_json_push_object(arr);
            tlr_json_add_string(a, "name", lv->vars[i].name);
            shape_json(a, "shape", &lv->vars[i].shape);
            tlr_json_add_bool(a, "trainable", lv->vars[i].trainable);
        }
    }
}

static void header_json(const tlr_storage *s, tlr_json *j)
{
    tlr_json_add_string(j, "file", s->file);
    if (s->has_bytes)
        tlr_json_add_number(j, "bytes", (double)s->bytes);
    tlr_json_add_string(j, "format", tlr_storage_format_key(s->format));
    tlr_json_add_string(j, "format_description", tlr_format_name(s->format));
    add_string_or_null(j, "keras_version", s->keras_version);
    tlr_json_add_number(j, "keras_major", s->keras_major);
    tlr_json_add_bool(j, "tf_keras", s->tf_keras);
    add_string_or_null(j, "backend", s->backend);
    tlr_json_add_bool(j, "has_architecture", s->has_architecture);
    if (s->weights_file)
        tlr_json_add_string(j, "weights_file", s->weights_file);
    if (s->has_root_attrs)
        attrs_json(s->root_attrs, s->n_root_attrs, j, "root_attributes");
    if (s->has_config) {
        tlr_json *mc = tlr_json_add_object(j, "model_config");
        tlr_json_add_number(mc, "json_bytes", (double)s->config_bytes);
        tlr_json_add_string(mc, "class_name", s->config_class);
        if (s->subclassed)
            tlr_json_add_bool(mc, "subclassed", 1);
        if (s->model_name) {
            tlr_json_add_string(mc, "name", s->model_name);
            tlr_json_add_number(mc, "layers", s->model_layers);
        }
    }
}

tlr_json *tlr_storage_to_json(const tlr_storage *s)
{
    tlr_json *j = tlr_json_new_object();
    header_json(s, j);
    training_json(&s->training, j);
    weights_json(&s->weights, tlr_json_add_object(j, "weights"));
    optimizer_json(&s->optimizer, s->weights.layout, tlr_json_add_object(j, "optimizer_weights"));
    if (s->n_archive_members) {
        tlr_json *a = tlr_json_add_array(j, "archive_members");
        for (int i = 0; i < s->n_archive_members; i++)
            tlr_json_push_string(a, s->archive_members[i]);
    }
    if (s->has_get_weights)
        get_weights_json(s, j);
    return j;
}

/* ---- text ----------------------------------------------------------------------------------- */

static void shape_text(const tlr_shape *s, tlr_buf *out)
{
    char buf[256];
    tlr_shape_str(s, buf, sizeof buf);
    tlr_buf_puts(out, buf);
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

static void header_text(const tlr_storage *s, tlr_buf *out)
{
    tlr_buf_printf(out, "File: %s\n", s->file);
    tlr_buf_printf(out, "Format: %s\n", tlr_format_name(s->format));
    tlr_buf_printf(out, "Keras version: %s\n", s->keras_version ? s->keras_version : "unknown");
    tlr_buf_printf(out, "Backend: %s\n", s->backend ? s->backend : "unknown");
    if (s->n_root_attrs) {
        tlr_buf_puts(out, "\nRoot attributes:\n");
        for (size_t i = 0; i < s->n_root_attrs; i++)
            tlr_buf_printf(out, "  %-16s %s: %s\n", s->root_attrs[i].name, s->root_attrs[i].type,
                           s->root_attrs[i].value);
    }
    if (s->subclassed)
        tlr_buf_printf(out, "\nArchitecture (model_config): %s, a subclassed model: no layer list "
                       "(its Python class is not in the file), %d bytes of JSON\n",
                       s->config_class, (int)s->config_bytes);
    else if (s->has_config)
        tlr_buf_printf(out, "\nArchitecture (model_config): %s '%s', %d layers, %d bytes of JSON\n",
                       s->config_class, s->model_name ? s->model_name : "?", s->model_layers,
                       (int)s->config_bytes);
    else
        tlr_buf_puts(out, "\nArchitecture: not in this file (weights only). Layer shapes and feature "
                          "maps need the architecture: --config arch.json\n");
}

static void training_text(const tlr_storage_training *t, tlr_buf *out)
{
    if (!t->present) {
        tlr_buf_puts(out, "\nTraining config: none (the model was saved without compile())\n");
        return;
    }
    tlr_buf_printf(out, "\nTraining config: loss %s, optimizer %s", t->loss ? t->loss : "?",
                   t->optimizer ? t->optimizer : "?");
    if (t->has_learning_rate)
        tlr_buf_printf(out, " (learning rate %g)", t->learning_rate);
    if (t->metrics.n) {
        tlr_buf_puts(out, ", metrics");
        for (size_t i = 0; i < t->metrics.n; i++)
            tlr_buf_printf(out, " %s", t->metrics.items[i]);
    }
    tlr_buf_putc(out, '\n');
}

static void group_text(const tlr_storage_group *g, tlr_buf *out)
{
    tlr_buf_printf(out, "  %s%s%s%s\n", g->group, g->class_name ? " (" : "",
                   g->class_name ? g->class_name : "", g->class_name ? ")" : "");
    if (!g->n_arrays)
        tlr_buf_puts(out, "    (no weights)\n");
    for (int i = 0; i < g->n_arrays; i++) {
        const tlr_storage_array *a = &g->arrays[i];
        tlr_buf_printf(out, "    %-40s ", a->name);
        shape_text(&a->shape, out);
        tlr_buf_printf(out, " %s, ", a->dtype);
        size_text((double)a->bytes, out);
        if (a->layer)
            tlr_buf_printf(out, " -> %s %s%s", a->layer, a->role,
                           a->trainable ? "" : " (non-trainable)");
        tlr_buf_putc(out, '\n');
    }
}

static void weights_text(const tlr_storage *s, tlr_buf *out)
{
    const tlr_storage_weights *w = &s->weights;
    tlr_buf_printf(out, "\nWeights (%s): %d arrays, %lld parameters, ", w->group ? w->group : "?",
                   w->arrays, (long long)w->params);
    size_text((double)w->bytes, out);
    tlr_buf_putc(out, '\n');
    for (int i = 0; i < w->n_groups; i++)
        group_text(&w->groups[i], out);
    const tlr_storage_optimizer *o = &s->optimizer;
    if (o->present) {
        tlr_buf_printf(out, "\nOptimizer state: %d arrays, %lld values, ", o->count,
                       (long long)o->params);
        size_text((double)o->bytes, out);
        tlr_buf_putc(out, '\n');
    } else {
        tlr_buf_puts(out, "\nOptimizer state: not saved\n");
    }
}

static void get_weights_text(const tlr_storage *s, tlr_buf *out)
{
    if (!s->n_get_weights)
        return;
    tlr_buf_puts(out, "\nlayer.get_weights() returns, per layer:\n");
    for (int k = 0; k < s->n_get_weights; k++) {
        const tlr_storage_layer_vars *lv = &s->get_weights[k];
        tlr_buf_printf(out, "  %s: %d array%s", lv->layer, lv->n_vars, lv->n_vars == 1 ? "" : "s");
        for (int i = 0; i < lv->n_vars && i < 4; i++) {
            tlr_buf_puts(out, i ? ", " : " ");
            shape_text(&lv->vars[i].shape, out);
        }
        if (lv->n_vars > 4)
            tlr_buf_puts(out, ", ...");
        tlr_buf_putc(out, '\n');
    }
}

void tlr_storage_text(const tlr_storage *s, tlr_buf *out)
{
    header_text(s, out);
    training_text(&s->training, out);
    weights_text(s, out);
    get_weights_text(s, out);
}
