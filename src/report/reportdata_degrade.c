/* reportdata_degrade.c - the report's data about what could not be used, so the templates can
 * say it plainly: layers whose weights do not bind (d.unbound), a subclassed model or layer
 * whose Python class is not in the file (d.subclassed, d.opaque_layers, with the weights
 * tree's objects and layers), sample inputs that cannot feed the model (d.features.unfit),
 * and images fed to a flat input as x.reshape(1, -1) (d.preprocess.flatten). */
#include "report/reportdata_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/forward.h"
#include "keras/shape.h"
#include "report/summary_subclassed.h"

/* ---- layers whose weights do not bind ----------------------------------------------------- */

static void unbound_layers(tlr_json *arr, const tlr_model *m, const char *prefix)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->op == TLR_OP_MODEL)
            unbound_layers(arr, l->inner, p);
        if (l->weights_unbound) {
            tlr_json *o = tlr_json_push_object(arr);
            tlr_json_add_string(o, "layer", p);
            tlr_json_add_string(o, "class", l->class_name);
            tlr_json_add_string(o, "detail", l->cannot_run ? l->cannot_run : "");
            tlr_rd_add_count(o, "params", tlr_layer_param_count(l));
        }
        free(p);
    }
}

/* ---- the weights tree of code the file does not hold -------------------------------------- */

/* rows[] of a tree: {path, name, depth, nested, shapes, arrays, params_str}. */
static void tree_rows(tlr_json *o, const tlr_subclassed *s)
{
    tlr_json *rows = tlr_json_add_array(o, "rows");
    for (int i = 0; i < s->n_rows; i++) {
        const tlr_sub_row *r = &s->rows[i];
        tlr_json *e = tlr_json_push_object(rows);
        tlr_json_add_string(e, "path", r->path);
        tlr_json_add_string(e, "name", r->name);
        tlr_json_add_number(e, "depth", r->depth);
        tlr_json_add_bool(e, "nested", r->depth > 0);
        tlr_json_add_string(e, "shapes", r->shapes);
        tlr_json_add_number(e, "arrays", r->n_arrays);
        tlr_rd_add_count(e, "params", r->params);
    }
    tlr_json_add_number(o, "objects", s->n_objects);
    tlr_json_add_number(o, "arrays", s->n_arrays);
    tlr_rd_add_count(o, "total_params", s->total_params);
}

/* model and layers for a subclassed model: what the file and its weights tree tell. */
static void subclassed_model(tlr_json *d, const tlr_kfile *f, const tlr_subclassed *s)
{
    tlr_json *m = tlr_json_add_object(d, "model");
    tlr_json_add_string(m, "file", tlr_rd_base_name(f->path));
    const tlr_json *cfg = tlr_json_get(f->config_root, "config");
    tlr_json_add_string(m, "name", tlr_json_get_string(cfg, "name", ""));
    tlr_json_add_string(m, "class", f->subclassed);
    tlr_json_add_string(m, "format", tlr_storage_format_key(f->format));
    tlr_json_add_string(m, "format_description", tlr_format_name(f->format));
    tlr_json_add_string(m, "keras_version", f->keras_version ? f->keras_version : "");
    tlr_json_add_string(m, "backend", f->backend ? f->backend : "");
    tlr_json_add_number(m, "layer_count", s->n_objects);
    tlr_rd_add_count(m, "total_params", s->total_params);
    /* which variables train is set by the Python code: unknown */
    tlr_json_add_string(m, "trainable_params_str", "?");
    tlr_json_add_string(m, "non_trainable_params_str", "?");
    tlr_json_add_array(m, "nested");
    tlr_json *lay = tlr_json_add_object(d, "layers");
    tlr_json_add_number(lay, "count", s->n_objects);
    tlr_json *rows = tlr_json_add_array(lay, "rows");
    int index = 0;
    for (int i = 0; i < s->n_rows; i++) {
        if (s->rows[i].depth)
            continue;
        tlr_json *o = tlr_json_push_object(rows);
        tlr_json_add_number(o, "index", index++);
        tlr_json_add_string(o, "name", s->rows[i].name);
        tlr_json_add_string(o, "class", "?");
        tlr_json_add_string(o, "output_shape", "?");
        tlr_rd_add_count(o, "params", s->rows[i].params);
        /* without shapes, no cost either */
        tlr_json_add_string(o, "macs_str", "?");
        tlr_json_add_string(o, "activations_str", "?");
    }
    tlr_json_add_string(lay, "macs_str", "?");
    tlr_json_add_string(lay, "activations_str", "?");
    tlr_json_add_string(lay, "activations_bytes_str", "?");
}

static void subclassed_section(tlr_json *d, const tlr_kfile *f, const tlr_storage *st)
{
    tlr_json *o = tlr_json_add_object(d, "subclassed");
    tlr_json_add_bool(o, "present", 1);
    tlr_json_add_string(o, "class", f->subclassed);
    tlr_subclassed *s = tlr_subclassed_build(st, f->subclassed, NULL);
    tree_rows(o, s);
    subclassed_model(d, f, s);
    tlr_subclassed_free(s);
}

/* Top-level layers of a class tlreport does not know whose weights the file holds (a
 * subclassed layer such as a custom ResNet block): their stored objects and layers. */
static void opaque_layers(tlr_json *arr, const tlr_kfile *f, const tlr_storage *st)
{
    for (int i = 0; f->model && i < f->model->n_layers; i++) {
        const tlr_layer *l = &f->model->layers[i];
        if (l->op != TLR_OP_UNKNOWN || tlr_layer_param_count(l) <= 0)
            continue;
        tlr_subclassed *s = tlr_subclassed_build(st, l->class_name, l->name);
        if (s->n_rows) {
            tlr_json *o = tlr_json_push_object(arr);
            tlr_json_add_string(o, "layer", l->name);
            tlr_json_add_string(o, "class", l->class_name);
            tree_rows(o, s);
        }
        tlr_subclassed_free(s);
    }
}

/* ---- inputs -------------------------------------------------------------------------------- */

/* Why the sample inputs could not feed the model, as facts: its inputs and their shapes, and
 * what would fit the first. */
static void unfit_section(tlr_json *fe, const tlr_model *m)
{
    tlr_json *u = tlr_json_add_object(fe, "unfit");
    tlr_shape in = tlr_forward_input_shape(m, 0);
    char sh[160];
    tlr_shape_str(&in, sh, sizeof sh);
    tlr_json_add_string(u, "input_shape", sh);
    tlr_json *ins = tlr_json_add_array(u, "inputs");
    for (int i = 0; i < m->n_inputs; i++) {
        tlr_shape s = tlr_forward_input_shape(m, i);
        tlr_shape_str(&s, sh, sizeof sh);
        tlr_json *o = tlr_json_push_object(ins);
        tlr_json_add_string(o, "name", m->layers[m->inputs[i].layer].name);
        tlr_json_add_string(o, "shape", sh);
    }
    tlr_json_add_bool(u, "multi_input", m->n_inputs > 1);
    int64_t c = 0;
    if (m->n_inputs == 1 && in.ndim == 4)
        tlr_input_channels_first(&in, NULL, NULL, &c);
    tlr_json_add_number(u, "channels", (double)c);
    int flat = m->n_inputs == 1 && in.ndim == 2 && in.d[1] > 0;
    tlr_json_add_bool(u, "flat", flat);
    tlr_json_add_bool(u, "not_image", m->n_inputs == 1 && in.ndim != 4 && !flat);
    int g = 0, rgb = 0;
    if (flat)
        tlr_input_flat_sides(in.d[1], &g, &rgb);
    tlr_json_add_number(u, "side_gray", g);
    tlr_json_add_number(u, "side_rgb", rgb);
    /* the .npy that fits: the input shape with a batch of one */
    tlr_shape one = in;
    one.d[0] = 1;
    tlr_shape_str(&one, sh, sizeof sh);
    tlr_json_add_string(u, "npy_shape", sh);
}

/* Images fed to a flat input: how, for the code of Pregunta 5. */
static void flatten_note(tlr_json *d, const tlr_input *inputs, int n_inputs)
{
    tlr_json *pp = tlr_json_get(d, "preprocess");
    for (int i = 0; pp && i < n_inputs; i++) {
        if (!inputs[i].flattened || !inputs[i].seen)
            continue;
        char sz[64];
        snprintf(sz, sizeof sz, "(%d, %d)", inputs[i].seen->h, inputs[i].seen->w);
        tlr_json_add_bool(pp, "flatten", 1);
        tlr_json_add_string(pp, "flat_size_str", sz);
        tlr_json_add_bool(pp, "flat_grayscale", inputs[i].flat_channels == 1);
        if (!tlr_json_get(pp, "color_mode")) /* for load_img in the feature-map code */
            tlr_json_add_string(pp, "color_mode", inputs[i].flat_channels == 1 ? "grayscale"
                                                                                : "rgb");
        tlr_json_add_number(pp, "flat_values", (double)tlr_tensor_numel(inputs[i].tensor));
        return;
    }
}

/* Adds 'arr' to 'd' as 'key' when it has items (reports without gaps stay as they were). */
static void add_if_any(tlr_json *d, const char *key, tlr_json *arr)
{
    if (tlr_json_size(arr))
        tlr_json_add_item(d, key, arr);
    else
        tlr_json_free(arr);
}

void tlr_rd_degrade_tree_section(tlr_json *d, const tlr_kfile *f, const tlr_storage *st)
{
    tlr_json *ub = tlr_json_new_array();
    if (f->model)
        unbound_layers(ub, f->model, "");
    add_if_any(d, "unbound", ub);
    if (f->subclassed)
        subclassed_section(d, f, st);
    tlr_json *op = tlr_json_new_array();
    opaque_layers(op, f, st);
    add_if_any(d, "opaque_layers", op);
}

void tlr_rd_degrade_input_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  const tlr_input *inputs, int n_inputs)
{
    tlr_json *fe = tlr_json_get(d, "features");
    if (fe && f->model && rq->inputs_unfit)
        unfit_section(fe, f->model);
    flatten_note(d, inputs, n_inputs);
}
