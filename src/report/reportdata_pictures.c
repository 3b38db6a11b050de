/* reportdata_pictures.c - the drawings of the report that are SVG text: the architecture
 * (d.diagram, Pregunta 2) with one more drawing per nested model; the statistics and
 * histograms of the kernels (d.weights_stats, d.wstats, Pregunta 4); the filters of the
 * Pregunta 5 layer that are constant on every sample image (d.features.dead_filters). */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strlist.h"
#include "base/tensor.h"
#include "base/xalloc.h"
#include "report/diagram.h"
#include "report/wstats.h"

/* Adds an SVG document (taken) as the figure 'name'. */
void tlr_rd_add_svg(tlr_report_content *c, const char *name, char *svg)
{
    c->figures = tlr_xrealloc(c->figures, (size_t)(c->n_figures + 1) * sizeof *c->figures);
    c->figures[c->n_figures++] = (tlr_figure){ tlr_xstrdup(name), (unsigned char *)svg,
                                               strlen(svg), NULL, TLR_OK };
}

/* The drawings of the nested models below 'm' (path prefix 'prefix'), depth first. */
static void nested_diagrams(tlr_json *arr, const tlr_model *m, const char *prefix,
                            tlr_report_content *c)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->op != TLR_OP_MODEL || !l->inner)
            continue;
        char *path = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        char *sl = tlr_rd_slug(path);
        char *name = tlr_xasprintf("img/architecture-%s.svg", sl);
        tlr_rd_add_svg(c, name, tlr_diagram_svg(l->inner));
        tlr_json *e = tlr_json_push_object(arr);
        tlr_json_add_string(e, "name", path);
        tlr_json_add_string(e, "class", l->class_name);
        tlr_json_add_string(e, "image", name);
        nested_diagrams(arr, l->inner, path, c);
        free(name);
        free(sl);
        free(path);
    }
}

void tlr_rd_diagram_section(tlr_json *d, const tlr_model *m, tlr_report_content *c)
{
    static const char name[] = "img/architecture.svg";
    tlr_json *dg = tlr_json_add_object(d, "diagram");
    tlr_json_add_bool(dg, "present", m->n_layers > 0);
    if (m->n_layers == 0)
        return;
    tlr_rd_add_svg(c, name, tlr_diagram_svg(m));
    tlr_json_add_string(dg, "image", name);
    tlr_json *arr = tlr_json_add_array(dg, "nested");
    nested_diagrams(arr, m, "", c);
    tlr_json_add_bool(dg, "has_nested", tlr_json_size(arr) > 0);
}


/* ---- weight statistics ------------------------------------------------------------------- */

static int has_kernel(const tlr_layer *l)
{
    return l->op == TLR_OP_CONV || l->op == TLR_OP_DEPTHWISE_CONV ||
           l->op == TLR_OP_SEPARABLE_CONV || l->op == TLR_OP_CONV_TRANSPOSE ||
           l->op == TLR_OP_DENSE;
}

/* "kernel", "depthwise_kernel", "pointwise_kernel": the weights a histogram is for. */
static int is_kernel_role(const char *role)
{
    size_t n = strlen(role);
    return n >= 6 && strcmp(role + n - 6, "kernel") == 0 && strstr(role, "recurrent") == NULL;
}

/* The layer's own name (the figure is small); a separable convolution's two kernels are told
 * apart by the first word of their role ("block_1:depthwise"). */
static char *panel_label(const char *path, const tlr_layer *l, const char *role)
{
    const char *base = tlr_rd_base_name(path);
    if (l->op != TLR_OP_SEPARABLE_CONV)
        return tlr_xstrdup(base);
    return tlr_xasprintf("%s:%.*s", base, (int)strcspn(role, "_"), role);
}

static void stat_str(tlr_json *o, const char *key, double v)
{
    char s[48], k[64];
    snprintf(s, sizeof s, "%.4g", v);
    snprintf(k, sizeof k, "%s_str", key);
    tlr_json_add_number(o, key, v);
    tlr_json_add_string(o, k, s);
}

static void wstats_entry(tlr_json *arr, const char *path, const tlr_layer *l, const tlr_weight *w,
                         const tlr_wstats *s)
{
    char sh[160], pct[32];
    tlr_json *e = tlr_json_push_object(arr);
    tlr_json_add_string(e, "layer", path);
    tlr_json_add_string(e, "class", l->class_name);
    tlr_json_add_string(e, "role", w->role);
    tlr_rd_dims_str(w->ndim, w->shape, sh, sizeof sh);
    tlr_json_add_string(e, "shape_str", sh);
    tlr_rd_add_count(e, "count", s->count);
    stat_str(e, "min", s->min);
    stat_str(e, "max", s->max);
    stat_str(e, "mean", s->mean);
    stat_str(e, "std", s->std);
    double share = s->count ? (double)s->near_zero / (double)s->count : 0;
    tlr_json_add_number(e, "near_zero", (double)s->near_zero);
    tlr_json_add_number(e, "near_zero_share", share);
    snprintf(pct, sizeof pct, "%.1f %%", 100 * share);
    tlr_json_add_string(e, "near_zero_pct_str", pct);
    if (s->nonfinite)
        tlr_json_add_number(e, "nonfinite", (double)s->nonfinite);
    tlr_json_add_bool(e, "trainable", w->trainable);
}

/* d.weights_stats[] and d.wstats (the figure): every conv/dense kernel, in execution order. */
void tlr_rd_wstats_section(tlr_json *d, const tlr_model *m, tlr_report_content *c)
{
    tlr_strlist paths = { 0 };
    tlr_model_leaf_paths(m, has_kernel, &paths);
    tlr_json *arr = tlr_json_add_array(d, "weights_stats");
    tlr_wstats *st = tlr_xcalloc(paths.n * 3 + 1, sizeof *st);
    tlr_wstats_panel *pn = tlr_xcalloc(paths.n * 3 + 1, sizeof *pn);
    char **labels = tlr_xcalloc(paths.n * 3 + 1, sizeof *labels);
    int n = 0;
    for (size_t k = 0; k < paths.n; k++) {
        const tlr_model *owner;
        int idx;
        if (tlr_model_resolve(m, paths.items[k], &owner, &idx))
            continue;
        const tlr_layer *l = &owner->layers[idx];
        for (int j = 0; j < l->n_weights && n < (int)paths.n * 3; j++) {
            const tlr_weight *w = &l->weights[j];
            if (!w->data || !is_kernel_role(w->role))
                continue;
            int64_t cnt = tlr_shape_numel(w->ndim, w->shape);
            tlr_wstats_compute(w->data, cnt < 0 ? 0 : cnt, &st[n]);
            wstats_entry(arr, paths.items[k], l, w, &st[n]);
            labels[n] = panel_label(paths.items[k], l, w->role);
            pn[n] = (tlr_wstats_panel){ labels[n], &st[n] };
            n++;
        }
    }
    tlr_json *fig = tlr_json_add_object(d, "wstats");
    tlr_json_add_bool(fig, "present", n > 0);
    tlr_json_add_number(fig, "count", n);
    if (n > 0) {
        static const char name[] = "img/weights-histograms.svg";
        tlr_rd_add_svg(c, name, tlr_wstats_svg(pn, n));
        tlr_json_add_string(fig, "image", name);
    }
    for (int i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
    free(pn);
    free(st);
    tlr_strlist_free(&paths);
}


/* ---- dead filters ---------------------------------------------------------------------- */

static int channel_flat(const float *hwc, int64_t hw, int64_t ch, int64_t c)
{
    int seen = 0;
    float first = 0;
    for (int64_t p = 0; p < hw; p++) {
        float v = hwc[p * ch + c];
        if (!isfinite(v))
            continue;
        if (!seen)
            first = v, seen = 1;
        else if (v != first)
            return 0;
    }
    return 1;
}

void tlr_rd_dead_filters_note(tlr_json *lay, const float *hwc, int64_t h, int64_t w, int64_t ch)
{
    const tlr_json *before = tlr_json_get(lay, "dead_filters");
    tlr_json *now = tlr_json_new_array();
    if (!before) {
        for (int64_t c = 0; c < ch; c++)
            if (channel_flat(hwc, h * w, ch, c))
                tlr_json_push_number(now, (double)c);
    } else {
        for (const tlr_json *e = tlr_json_first(before); e; e = tlr_json_next(e)) {
            int64_t c = (int64_t)tlr_json_number(e, -1);
            if (c >= 0 && c < ch && channel_flat(hwc, h * w, ch, c))
                tlr_json_push_number(now, (double)c);
        }
    }
    tlr_json_set_item(lay, "dead_filters", now);
}

void tlr_rd_dead_filters_finish(tlr_json *fe)
{
    const tlr_json *dead = tlr_json_get(fe, "dead_filters");
    size_t n = dead ? tlr_json_size(dead) : 0;
    tlr_json_add_bool(fe, "has_dead_filters", n > 0);
    tlr_json_add_number(fe, "dead_filters_count", (double)n);
    if (n == 0)
        return;
    tlr_buf b = { 0 };
    for (const tlr_json *e = tlr_json_first(dead); e; e = tlr_json_next(e))
        tlr_buf_printf(&b, "%s%d", e == tlr_json_first(dead) ? "" : ", ", tlr_json_int(e, 0));
    tlr_json_add_string(fe, "dead_filters_str", tlr_buf_cstr(&b));
    tlr_buf_free(&b);
}
