/* reportdata_compare.c - d.comparison (--compare): what training changed between the model
 * before (A, rq->compare) and this one (B): architecture differences, parameter totals, the
 * change of each layer's weights, the chart of it, and the sample images through both. */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "keras/shape.h"
#include "report/chart.h"
#include "report/compare.h"
#include "report/inspect.h"

#define DIGEST_MAX_ROWS 60 /* summary.md lists at most this many layers */

/* ---- number strings ------------------------------------------------------------------------ */

static void small_str(double v, char *out, size_t cap)
{
    if (v == 0)
        snprintf(out, cap, "0");
    else if (isinf(v))
        snprintf(out, cap, "inf");
    else
        snprintf(out, cap, "%.3g", v);
}

static void share_str(double share, char *out, size_t cap)
{
    if (share <= 0)
        snprintf(out, cap, "0%%");
    else if (share >= 1)
        snprintf(out, cap, "100%%");
    else if (share < 0.0005)
        snprintf(out, cap, "<0.1%%");
    else if (share > 0.9995)
        snprintf(out, cap, ">99.9%%");
    else
        snprintf(out, cap, "%.1f%%", share * 100);
}

/* o[key] = v (null when infinite) and o[key + "_str"]. */
static void add_small(tlr_json *o, const char *key, double v)
{
    char s[48], k[64];
    if (isfinite(v))
        tlr_json_add_number(o, key, v);
    else
        tlr_json_add_null(o, key);
    small_str(v, s, sizeof s);
    snprintf(k, sizeof k, "%s_str", key);
    tlr_json_add_string(o, k, s);
}

static void signed_count_str(int64_t v, char *out, size_t cap)
{
    char s[40];
    tlr_format_thousands(v < 0 ? -v : v, s, sizeof s);
    snprintf(out, cap, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", s);
}

/* ---- per layer ----------------------------------------------------------------------------- */

static int comparable(const tlr_cmp_layer *e)
{
    return e->status == TLR_CMP_SAME || e->status == TLR_CMP_CHANGED;
}

static int frozen_changed(const tlr_cmp_layer *e)
{
    return e->frozen && comparable(e) && !e->is_model &&
           (tlr_cmp_moved(&e->w) || tlr_cmp_moved(&e->stats));
}

static const char *class_of(const tlr_cmp_layer *e)
{
    return e->after ? e->after->class_name : e->before->class_name;
}

/* The numbers of a comparable layer; null for added, removed and reshaped layers. */
static void layer_numbers(tlr_json *o, const tlr_cmp_layer *e)
{
    if (!comparable(e)) {
        tlr_json_add_null(o, "rel_change");
        tlr_json_add_null(o, "max_abs_change");
        return;
    }
    add_small(o, "rel_change", tlr_cmp_rel(&e->w));
    add_small(o, "max_abs_change", e->w.max_abs);
    if (e->w.n_elems > 0) {
        char s[32];
        double share = (double)e->w.n_changed / (double)e->w.n_elems;
        tlr_json_add_number(o, "changed_share", share);
        share_str(share, s, sizeof s);
        tlr_json_add_string(o, "changed_share_str", s);
        tlr_json_add_number(o, "elements", (double)e->w.n_elems);
    }
    tlr_json_add_bool(o, "has_stats", e->stats.n_arrays > 0);
    if (e->stats.n_arrays > 0) {
        add_small(o, "stats_rel_change", tlr_cmp_rel(&e->stats));
        add_small(o, "stats_max_abs_change", e->stats.max_abs);
    }
}

static void layer_json(tlr_json *arr, const tlr_cmp_layer *e, int in_digest)
{
    tlr_json *o = tlr_json_push_object(arr);
    char flag[32];
    tlr_json_add_string(o, "path", e->path);
    tlr_json_add_string(o, "status", tlr_cmp_status_name(e->status));
    snprintf(flag, sizeof flag, "status_%s", tlr_cmp_status_name(e->status));
    tlr_json_add_bool(o, flag, 1);
    layer_numbers(o, e);
    tlr_json_add_string(o, "class", class_of(e));
    if (e->before_path)
        tlr_json_add_string(o, "before_path", e->before_path);
    tlr_json_add_number(o, "depth", e->depth);
    tlr_json_add_bool(o, "nested", e->depth > 0);
    tlr_json_add_bool(o, "is_model", e->is_model);
    tlr_json_add_bool(o, "has_weights", e->has_weights);
    tlr_json_add_bool(o, "frozen", e->frozen);
    tlr_json_add_bool(o, "frozen_changed", frozen_changed(e));
    tlr_json_add_bool(o, "in_digest", in_digest);
}

/* layers[], counts, the frozen layers that changed, and the digest's share of the rows. */
static void layers_json(tlr_json *cj, const tlr_compare *cmp)
{
    tlr_json *arr = tlr_json_add_array(cj, "layers");
    tlr_json *fc = tlr_json_add_array(cj, "frozen_changed");
    int counts[TLR_CMP_COUNT] = { 0 };
    int digest = 0, more = 0;
    for (int i = 0; i < cmp->n_layers; i++) {
        const tlr_cmp_layer *e = &cmp->layers[i];
        counts[e->status]++;
        int listed = e->status != TLR_CMP_SAME && digest < DIGEST_MAX_ROWS;
        digest += listed;
        more += e->status != TLR_CMP_SAME && !listed;
        layer_json(arr, e, listed);
        if (!frozen_changed(e))
            continue;
        tlr_json *o = tlr_json_push_object(fc);
        tlr_json_add_string(o, "path", e->path);
        tlr_json_add_string(o, "class", class_of(e));
        tlr_json_add_bool(o, "weights_moved", tlr_cmp_moved(&e->w));
        tlr_json_add_bool(o, "stats_moved", tlr_cmp_moved(&e->stats));
        add_small(o, "rel_change", tlr_cmp_rel(&e->w));
        add_small(o, "stats_rel_change", tlr_cmp_rel(&e->stats));
    }
    tlr_json *cn = tlr_json_add_object(cj, "counts");
    for (int s = 0; s < TLR_CMP_COUNT; s++)
        tlr_json_add_number(cn, tlr_cmp_status_name((tlr_cmp_status)s), counts[s]);
    tlr_json_add_number(cj, "layer_count", cmp->n_layers);
    tlr_json_add_number(cj, "digest_rows", digest);
    tlr_json_add_number(cj, "digest_more", more);
    tlr_json_add_bool(cj, "identical", counts[TLR_CMP_SAME] == cmp->n_layers &&
                                       cmp->n_configs == 0);
}

/* ---- architecture -------------------------------------------------------------------------- */

/* "(3, 3, 3, 8), (8,)": the shapes of a layer's arrays ("[]" for none). */
static char *shapes_str(const tlr_layer *l)
{
    tlr_buf b = TLR_BUF_INIT;
    for (int k = 0; k < l->n_weights; k++) {
        char s[160];
        tlr_rd_dims_str(l->weights[k].ndim, l->weights[k].shape, s, sizeof s);
        tlr_buf_printf(&b, "%s%s", k ? ", " : "", s);
    }
    if (l->n_weights == 0)
        tlr_buf_puts(&b, "[]");
    return tlr_buf_detach(&b);
}

static void one_sided_json(tlr_json *arr, const tlr_cmp_layer *e)
{
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "path", e->path);
    tlr_json_add_string(o, "class", class_of(e));
}

static void reshaped_json(tlr_json *arr, const tlr_cmp_layer *e)
{
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "path", e->path);
    tlr_json_add_string(o, "before_class", e->before->class_name);
    tlr_json_add_string(o, "after_class", e->after->class_name);
    char *a = shapes_str(e->before), *b = shapes_str(e->after);
    tlr_json_add_string(o, "before_shapes", a);
    tlr_json_add_string(o, "after_shapes", b);
    free(a);
    free(b);
}

/* Added, removed, renamed and reshaped layers (the inside of an added or removed nested
 * model is not listed again), and the settings that changed. */
static void architecture_json(tlr_json *cj, const tlr_compare *cmp)
{
    tlr_json *ar = tlr_json_add_object(cj, "architecture");
    tlr_json *added = tlr_json_add_array(ar, "added"), *removed = tlr_json_add_array(ar, "removed");
    tlr_json *renamed = tlr_json_add_array(ar, "renamed");
    tlr_json *reshaped = tlr_json_add_array(ar, "reshaped");
    int inside = -1; /* depth of the added or removed model being skipped */
    for (int i = 0; i < cmp->n_layers; i++) {
        const tlr_cmp_layer *e = &cmp->layers[i];
        if (inside >= 0 && e->depth > inside)
            continue;
        inside = -1;
        if (e->status == TLR_CMP_ADDED || e->status == TLR_CMP_REMOVED) {
            one_sided_json(e->status == TLR_CMP_ADDED ? added : removed, e);
            inside = e->is_model ? e->depth : -1;
        } else if (e->status == TLR_CMP_RESHAPED && !e->is_model) {
            reshaped_json(reshaped, e);
        }
        if (e->before && e->after && strcmp(e->before->name, e->after->name) != 0) {
            tlr_json *o = tlr_json_push_object(renamed);
            tlr_json_add_string(o, "before", e->before_path);
            tlr_json_add_string(o, "after", e->path);
            tlr_json_add_string(o, "class", class_of(e));
        }
    }
    tlr_json *cfg = tlr_json_add_array(ar, "config_changes");
    for (int i = 0; i < cmp->n_configs; i++) {
        const tlr_cmp_config *x = &cmp->configs[i];
        tlr_json *o = tlr_json_push_object(cfg);
        char flag[48];
        tlr_json_add_string(o, "path", x->path);
        tlr_json_add_string(o, "key", x->key);
        snprintf(flag, sizeof flag, "key_%s", x->key);
        tlr_json_add_bool(o, flag, 1);
        tlr_json_add_string(o, "before", x->before);
        tlr_json_add_string(o, "after", x->after);
    }
    tlr_json_add_bool(ar, "any", tlr_json_size(added) + tlr_json_size(removed) +
                                 tlr_json_size(renamed) + tlr_json_size(reshaped) +
                                 tlr_json_size(cfg) > 0);
}

/* ---- totals -------------------------------------------------------------------------------- */

static void totals_json(tlr_json *cj, const tlr_kfile *before, const tlr_kfile *after)
{
    tlr_summary *sa = tlr_inspect_summary(before, -1, 0, 0);
    tlr_summary *sb = tlr_inspect_summary(after, -1, 0, 0);
    static const char *const keys[] = { "total_params", "trainable_params",
                                        "non_trainable_params" };
    int64_t va[3] = { sa->total_params, sa->trainable_params, sa->non_trainable_params };
    int64_t vb[3] = { sb->total_params, sb->trainable_params, sb->non_trainable_params };
    tlr_json *arr = tlr_json_add_array(cj, "totals");
    for (int k = 0; k < 3; k++) {
        tlr_json *o = tlr_json_push_object(arr);
        char flag[48], d[48];
        tlr_json_add_string(o, "key", keys[k]);
        snprintf(flag, sizeof flag, "key_%s", keys[k]);
        tlr_json_add_bool(o, flag, 1);
        tlr_rd_add_count(o, "before", va[k]);
        tlr_rd_add_count(o, "after", vb[k]);
        signed_count_str(vb[k] - va[k], d, sizeof d);
        tlr_json_add_string(o, "delta_str", d);
        tlr_json_add_bool(o, "changed", va[k] != vb[k]);
    }
    tlr_inspect_summary_free(sa);
    tlr_inspect_summary_free(sb);
}

/* ---- the chart ----------------------------------------------------------------------------- */

/* One point per plain layer holding weights, in the table's order. */
static tlr_status chart_json(tlr_json *cj, const tlr_compare *cmp, tlr_report_content *c)
{
    tlr_chart_point *pts = tlr_xcalloc((size_t)cmp->n_layers + 1, sizeof *pts);
    int n = 0;
    for (int i = 0; i < cmp->n_layers; i++) {
        const tlr_cmp_layer *e = &cmp->layers[i];
        if (e->is_model || !e->has_weights)
            continue;
        int ok = comparable(e);
        pts[n].label = e->path;
        pts[n].value = ok ? tlr_cmp_rel(&e->w) : (double)NAN;
        pts[n].second = ok && e->stats.n_arrays ? tlr_cmp_rel(&e->stats) : (double)NAN;
        pts[n].kind = frozen_changed(e) ? TLR_CHART_WARNING
                      : e->frozen       ? TLR_CHART_FROZEN : TLR_CHART_TRAINABLE;
        n++;
    }
    tlr_json_add_bool(cj, "has_chart", n > 0);
    if (n > 0) {
        char *svg = tlr_chart_svg(pts, n);
        static const char name[] = "img/comparison.svg";
        c->figures = tlr_xrealloc(c->figures, (size_t)(c->n_figures + 1) * sizeof *c->figures);
        c->figures[c->n_figures++] = (tlr_figure){ tlr_xstrdup(name), (unsigned char *)svg,
                                                   strlen(svg), NULL, TLR_OK };
        tlr_json_add_string(cj, "chart", name);
        tlr_json_add_number(cj, "chart_points", n);
    }
    free(pts);
    return TLR_OK;
}

/* ---- the sample images through both models ------------------------------------------------- */

typedef struct {
    const tlr_kfile *f;
    const tlr_strlist *labels; /* empty when they do not fit this model's output */
    const char *feature;       /* the Pregunta 5 layer when both models have it, or NULL */
} side;

static tlr_status run_side(const side *s, const tlr_tensor *x, int64_t max_memory,
                           tlr_forward_result *r, tlr_err *err)
{
    tlr_forward_opts fo = { max_memory, 0 };
    const char *cap[1] = { s->feature };
    return tlr_forward_run(s->f->model, &x, 1, s->feature ? cap : NULL, s->feature ? 1 : 0, 1,
                           &fo, r, err);
}

/* The top class of output y, as {"top": [...]} (nothing when not computed). */
static void top_json(tlr_json *o, const side *s, const tlr_forward_result *r)
{
    tlr_json *arr = tlr_json_add_array(o, "top");
    const tlr_tensor *y = r->n_outputs ? r->outputs[0] : NULL;
    if (!y || y->ndim != 2 || tlr_tensor_numel(y) < 1)
        return;
    int64_t n = tlr_tensor_numel(y);
    int binary = n == 1 && tlr_model_output_activation(s->f->model) == TLR_ACT_SIGMOID;
    int m;
    free(tlr_reportdata_top(arr, y->data, n, s->labels, 1, binary, TLR_TOP_REPORT, &m));
}

/* sqrt(sum (b-a)^2) / sqrt(sum a^2) and max |b-a| of two equal-sized arrays. */
static void diff_of(const tlr_tensor *a, const tlr_tensor *b, double *rel, double *max_abs)
{
    tlr_cmp_sums s = { 0 };
    int64_t n = tlr_tensor_numel(a);
    for (int64_t i = 0; i < n; i++) {
        double d = (double)b->data[i] - (double)a->data[i];
        s.sq_before += (double)a->data[i] * (double)a->data[i];
        s.sq_diff += d * d;
        s.max_abs = fabs(d) > s.max_abs ? fabs(d) : s.max_abs;
    }
    *rel = s.sq_diff == 0 ? 0 : s.sq_before == 0 ? (double)INFINITY : sqrt(s.sq_diff / s.sq_before);
    *max_abs = s.max_abs;
}

static int same_size(const tlr_tensor *a, const tlr_tensor *b)
{
    return a && b && tlr_tensor_numel(a) == tlr_tensor_numel(b);
}

static void image_json(tlr_json *arr, const char *source, const side *A, const side *B,
                       const tlr_forward_result *ra, const tlr_forward_result *rb)
{
    tlr_json *o = tlr_json_push_object(arr);
    tlr_json_add_string(o, "source", tlr_rd_base_name(source));
    top_json(tlr_json_add_object(o, "before"), A, ra);
    top_json(tlr_json_add_object(o, "after"), B, rb);
    const tlr_json *ta = tlr_json_at(tlr_json_get(tlr_json_get(o, "before"), "top"), 0);
    const tlr_json *tb = tlr_json_at(tlr_json_get(tlr_json_get(o, "after"), "top"), 0);
    tlr_json_add_bool(o, "same_top", ta && tb && tlr_json_get_int(ta, "index", -1) ==
                                                 tlr_json_get_int(tb, "index", -2));
    double rel, mx;
    const tlr_tensor *ya = ra->n_outputs ? ra->outputs[0] : NULL;
    const tlr_tensor *yb = rb->n_outputs ? rb->outputs[0] : NULL;
    if (same_size(ya, yb)) {
        diff_of(ya, yb, &rel, &mx);
        add_small(o, "output_rel_change", rel);
    }
    const tlr_tensor *fa = ra->n_captured ? ra->captured[0] : NULL;
    const tlr_tensor *fb = rb->n_captured ? rb->captured[0] : NULL;
    tlr_json_add_bool(o, "has_features", same_size(fa, fb));
    if (same_size(fa, fb)) {
        diff_of(fa, fb, &rel, &mx);
        add_small(o, "features_rel_change", rel);
        add_small(o, "features_max_abs_change", mx);
    }
}

/* The Pregunta 5 layer, when the model before has it too. */
static const char *shared_feature_layer(const tlr_json *d, const tlr_model *before)
{
    const char *path = tlr_json_get_string(tlr_json_get(d, "features"), "layer", NULL);
    const tlr_model *owner;
    int idx;
    if (!path || tlr_model_resolve(before, path, &owner, &idx) != 0)
        return NULL;
    return path;
}

static tlr_status images_json(tlr_json *cj, const tlr_json *d, const tlr_kfile *f,
                              const tlr_report_request *rq, const tlr_input *inputs,
                              int n_inputs, tlr_err *err)
{
    int n = n_inputs < rq->n_compare_inputs ? n_inputs : rq->n_compare_inputs;
    n = n < rq->max_images ? n : rq->max_images;
    const char *feature = shared_feature_layer(d, rq->compare->model);
    tlr_strlist la = TLR_STRLIST_INIT, lb = TLR_STRLIST_INIT;
    if (rq->labels_path) {
        tlr_labels_load(rq->labels_path, tlr_shape_output_size(rq->compare->model, 0), &la, NULL);
        tlr_labels_load(rq->labels_path, tlr_shape_output_size(f->model, 0), &lb, NULL);
    }
    side A = { rq->compare, &la, feature }, B = { f, &lb, feature };
    if (feature)
        tlr_json_add_string(cj, "features_layer", feature);
    tlr_json *arr = tlr_json_add_array(cj, "images");
    tlr_status st = TLR_OK;
    for (int i = 0; i < n && !st; i++) {
        tlr_forward_result ra, rb;
        st = run_side(&A, rq->compare_inputs[i].tensor, rq->max_memory, &ra, err);
        if (st)
            break;
        st = run_side(&B, inputs[i].tensor, rq->max_memory, &rb, err);
        if (!st) {
            image_json(arr, inputs[i].source, &A, &B, &ra, &rb);
            tlr_forward_result_free(&rb);
        }
        tlr_forward_result_free(&ra);
    }
    tlr_strlist_free(&la);
    tlr_strlist_free(&lb);
    return st;
}

/* ---- the section ----------------------------------------------------------------------------- */

tlr_status tlr_rd_comparison_section(tlr_json *d, const tlr_kfile *f,
                                     const tlr_report_request *rq, const tlr_input *inputs,
                                     int n_inputs, tlr_report_content *c, FILE *log,
                                     tlr_err *err)
{
    const tlr_kfile *base = rq->compare;
    if (rq->progress && log)
        fprintf(log, "tlreport: comparing with %s\n", base->path);
    tlr_json *cj = tlr_json_add_object(d, "comparison");
    tlr_json_add_bool(cj, "present", 1);
    tlr_json_add_string(cj, "before_file", tlr_rd_base_name(base->path));
    tlr_json_add_string(cj, "after_file", tlr_rd_base_name(f->path));
    tlr_compare *cmp = tlr_compare_models(base->model, f->model);
    totals_json(cj, base, f);
    architecture_json(cj, cmp);
    layers_json(cj, cmp);
    tlr_status st = chart_json(cj, cmp, c);
    tlr_compare_free(cmp);
    if (!st)
        st = images_json(cj, d, f, rq, inputs, n_inputs, err);
    return st;
}
