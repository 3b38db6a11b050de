/* reportdata_storage.c - the report's storage section (Pregunta 1), formatted from the file's
 * anatomy (tlr_storage) for the templates. */
#include "report/reportdata_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "keras/shape.h"

static void format_flags(tlr_json *s, const tlr_kfile *f)
{
    tlr_json_add_bool(s, "weights_only", f->format == TLR_FMT_H5_WEIGHTS || f->format == TLR_FMT_JSON);
    tlr_json_add_bool(s, "keras_zip", f->format == TLR_FMT_KERAS_ZIP);
    tlr_json_add_bool(s, "hdf5", f->format == TLR_FMT_H5_MODEL || f->format == TLR_FMT_H5_WEIGHTS);
    if (f->format == TLR_FMT_JSON)
        tlr_json_add_string(s, "architecture_file", tlr_rd_base_name(f->path));
}

static void config_and_attrs(tlr_json *s, const tlr_kfile *f, const tlr_storage *st)
{
    tlr_json *mc = tlr_json_add_object(s, "model_config");
    tlr_json_add_bool(mc, "present", st->has_config && f->format == TLR_FMT_H5_MODEL);
    tlr_json_add_string(mc, "class", st->has_config ? st->config_class : "");
    tlr_json_add_string(mc, "name", st->model_name ? st->model_name : "");
    char jb[48];
    tlr_format_thousands((int64_t)st->config_bytes, jb, sizeof jb);
    tlr_json_add_string(mc, "json_bytes_str", jb);
    char b[48];
    tlr_rd_bytes_str((double)st->bytes, b, sizeof b);
    tlr_json_add_string(s, "file_bytes_str", b);
    tlr_json *ra = tlr_json_add_array(s, "root_attributes");
    for (size_t i = 0; i < st->n_root_attrs; i++) {
        tlr_json *o = tlr_json_push_object(ra);
        tlr_json_add_string(o, "name", st->root_attrs[i].name);
        tlr_json_add_string(o, "type", st->root_attrs[i].type);
        tlr_json_add_string(o, "value", st->root_attrs[i].value);
    }
    tlr_json_add_bool(s, "has_root_attributes", st->n_root_attrs > 0);
}

static void training(tlr_json *s, const tlr_storage_training *tc)
{
    tlr_json *t = tlr_json_add_object(s, "training");
    tlr_json_add_bool(t, "present", tc->present);
    tlr_json_add_string(t, "loss", tc->loss ? tc->loss : "?");
    tlr_json_add_string(t, "optimizer", tc->optimizer ? tc->optimizer : "?");
    if (tc->has_learning_rate) {
        char lrs[48];
        snprintf(lrs, sizeof lrs, "%g", tc->learning_rate);
        tlr_json_add_string(t, "learning_rate", lrs);
    }
    tlr_buf mb = TLR_BUF_INIT;
    for (size_t i = 0; i < tc->metrics.n; i++) {
        if (mb.len)
            tlr_buf_puts(&mb, ", ");
        tlr_buf_puts(&mb, tc->metrics.items[i]);
    }
    tlr_json_add_string(t, "metrics_str", tlr_buf_cstr(&mb));
    tlr_json_add_bool(t, "has_metrics", mb.len > 0);
    tlr_buf_free(&mb);
}

static void weight_group(tlr_json *groups, const tlr_storage_group *g)
{
    char b[48];
    tlr_json *o = tlr_json_push_object(groups);
    tlr_json_add_string(o, "group", g->group);
    tlr_json_add_string(o, "layer", g->name ? g->name : g->group);
    tlr_json_add_string(o, "class", g->class_name ? g->class_name : "");
    tlr_json_add_bool(o, "nested", g->nested);
    tlr_json_add_number(o, "count", g->n_arrays);
    tlr_rd_bytes_str((double)g->bytes, b, sizeof b);
    tlr_json_add_string(o, "bytes_str", b);
    tlr_json *ws = tlr_json_add_array(o, "weights");
    for (int i = 0; i < g->n_arrays; i++) {
        const tlr_storage_array *a = &g->arrays[i];
        tlr_json *wo = tlr_json_push_object(ws);
        char sh[160];
        tlr_shape_str(&a->shape, sh, sizeof sh);
        tlr_json_add_string(wo, "name", a->name);
        tlr_json_add_string(wo, "shape_str", sh);
        tlr_json_add_string(wo, "dtype", a->dtype);
        tlr_rd_bytes_str((double)a->bytes, b, sizeof b);
        tlr_json_add_string(wo, "bytes_str", b);
        tlr_json_add_string(wo, "layer_path", a->layer ? a->layer : "");
        tlr_json_add_bool(wo, "trainable", a->trainable);
    }
    tlr_json_add_bool(o, "empty", g->n_arrays == 0);
}

static void weights_and_optimizer(tlr_json *s, const tlr_kfile *f, const tlr_storage *st)
{
    const tlr_storage_weights *w = &st->weights;
    char b[48];
    tlr_json_add_string(s, "weights_group", w->group ? w->group : "");
    tlr_json_add_number(s, "weights_count", w->arrays);
    tlr_rd_add_count(s, "weights_params", w->params);
    tlr_rd_bytes_str((double)w->bytes, b, sizeof b);
    tlr_json_add_string(s, "weights_bytes_str", b);
    tlr_json_add_bool(s, "top_level_model_weights", w->top_level_model_weights);
    tlr_json *groups = tlr_json_add_array(s, "weight_groups");
    for (int i = 0; i < w->n_groups; i++)
        weight_group(groups, &w->groups[i]);
    const tlr_storage_optimizer *op = &st->optimizer;
    tlr_json *oo = tlr_json_add_object(s, "optimizer");
    tlr_json_add_bool(oo, "present", op->present);
    tlr_json_add_string(oo, "group", f->format == TLR_FMT_KERAS_ZIP ? "optimizer/vars"
                                                                     : "/optimizer_weights");
    tlr_json_add_number(oo, "count", op->count);
    tlr_rd_add_count(oo, "params", op->params);
    tlr_rd_bytes_str((double)op->bytes, b, sizeof b);
    tlr_json_add_string(oo, "bytes_str", b);
}

/* "(3, 3, 3, 64), (64,)"; from the seventh on, "... (N arrays)"; "[]" for none. */
static void get_weights(tlr_json *s, const tlr_storage *st)
{
    tlr_json_add_bool(s, "get_weights_trainable_first", st->get_weights_trainable_first);
    tlr_json *gw = tlr_json_add_array(s, "get_weights");
    for (int k = 0; k < st->n_get_weights; k++) {
        const tlr_storage_layer_vars *lv = &st->get_weights[k];
        tlr_json *o = tlr_json_push_object(gw);
        tlr_json_add_string(o, "layer", lv->layer);
        tlr_buf ab = TLR_BUF_INIT;
        for (int i = 0; i < lv->n_vars; i++) {
            char sh[160];
            tlr_shape_str(&lv->vars[i].shape, sh, sizeof sh);
            if (i)
                tlr_buf_puts(&ab, ", ");
            if (i == 6) {
                tlr_buf_printf(&ab, "... (%d arrays)", lv->n_vars);
                break;
            }
            tlr_buf_puts(&ab, sh);
        }
        tlr_json_add_string(o, "arrays_str", ab.len ? tlr_buf_cstr(&ab) : "[]");
        tlr_json_add_number(o, "count", lv->n_vars);
        tlr_buf_free(&ab);
    }
}

static void archive_members(tlr_json *s, const tlr_storage *st)
{
    tlr_json *am = tlr_json_add_array(s, "archive_members");
    for (int i = 0; i < st->n_archive_members; i++) {
        char b[48];
        tlr_json *o = tlr_json_push_object(am);
        tlr_json_add_string(o, "name", st->archive_members[i]);
        tlr_rd_bytes_str((double)st->archive_sizes[i], b, sizeof b);
        tlr_json_add_string(o, "bytes_str", b);
    }
}

/* A few get_config() entries of 'l', as Python prints a dict: "{'name': 'conv2d',\n ...}". */
static char *config_code(const tlr_layer *l)
{
    static const char *const keys[] = { "name", "trainable", "filters", "kernel_size", "strides",
                                        "padding", "activation", "units", "use_bias" };
    tlr_buf cb = TLR_BUF_INIT;
    tlr_buf_putc(&cb, '{');
    int n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const tlr_json *v = tlr_json_get(l->config, keys[i]);
        if (!v)
            continue;
        char *txt = tlr_json_is_bool(v) ? tlr_xstrdup(tlr_json_is_true(v) ? "True" : "False")
                  : tlr_json_is_string(v) ? tlr_xasprintf("'%s'", tlr_json_string(v, ""))
                  : tlr_json_print(v, 0);
        for (char *c = txt; *c; c++)
            if (*c == '[')
                *c = '(';
            else if (*c == ']')
                *c = ')';
        tlr_buf_printf(&cb, "%s'%s': %s", n++ ? ",\n " : "", keys[i], txt);
        free(txt);
    }
    tlr_buf_puts(&cb, ", ...}");
    return tlr_buf_detach(&cb);
}

/* The layer used in Pregunta 1's code sample: the first top-level layer with weights that is
 * not a nested model (conv2d in the course model), with its get_config() essentials. */
static void example_layer(tlr_json *s, const tlr_kfile *f)
{
    if (!f->model)
        return;
    const tlr_layer *ex = NULL;
    for (int k = 0; k < f->model->n_order && !ex; k++) {
        const tlr_layer *l = &f->model->layers[f->model->order[k]];
        if (l->op != TLR_OP_MODEL && l->n_weights > 0)
            ex = l;
    }
    if (!ex)
        return;
    tlr_json *e = tlr_json_add_object(s, "example");
    tlr_json_add_string(e, "layer", ex->name);
    tlr_json_add_string(e, "class", ex->class_name);
    tlr_json_add_number(e, "count", ex->n_weights);
    tlr_buf ab = TLR_BUF_INIT;
    for (int i = 0; i < ex->n_weights; i++) {
        char sh[160];
        tlr_rd_dims_str(ex->weights[i].ndim, ex->weights[i].shape, sh, sizeof sh);
        tlr_buf_printf(&ab, "%s%s", i ? ", " : "", sh);
    }
    tlr_json_add_string(e, "arrays_str", tlr_buf_cstr(&ab));
    tlr_buf_free(&ab);
    char *code = config_code(ex);
    tlr_json_add_string(e, "config_code", code);
    free(code);
}

void tlr_rd_storage_section(tlr_json *d, const tlr_kfile *f, const tlr_storage *st)
{
    tlr_json *s = tlr_json_add_object(d, "storage");
    tlr_json_add_string(s, "format", tlr_storage_format_key(st->format));
    tlr_json_add_string(s, "format_description", tlr_format_name(st->format));
    format_flags(s, f);
    config_and_attrs(s, f, st);
    training(s, &st->training);
    weights_and_optimizer(s, f, st);
    get_weights(s, st);
    archive_members(s, st);
    example_layer(s, f);
}
