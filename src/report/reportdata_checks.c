/* reportdata_checks.c - d.checks (--check): each expectation of the check file measured on
 * this report's own data (totals, the comparison) or on a forward pass (predict), as
 * passed, failed or not applicable. */
#include "report/reportdata_parts.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "keras/shape.h"
#include "report/checks.h"

#define LAYERS_LISTED 5 /* offending layers named in a check's result */

typedef enum { CK_PASSED, CK_FAILED, CK_NOT_APPLICABLE } ck_status;

/* What a check measured: the status, the value as text, the layers at fault, a reason code
 * for a check that could not be measured. */
typedef struct {
    ck_status status;
    char actual[64];
    tlr_buf layers;
    int n_layers;
    const char *reason;
} ck_result;

static void note_layer(ck_result *r, const char *path)
{
    if (r->n_layers < LAYERS_LISTED)
        tlr_buf_printf(&r->layers, "%s%s", r->n_layers ? ", " : "", path);
    r->n_layers++;
}

static void fail_with(ck_result *r, const char *reason)
{
    r->status = CK_FAILED;
    r->reason = reason;
}

/* total_params, trainable_params, non_trainable_params, layers: from d.model. */
static void eval_count(const tlr_check *c, const tlr_json *d, ck_result *r)
{
    const tlr_json *m = tlr_json_get(d, "model");
    const char *key = c->kind == TLR_CHECK_LAYERS ? "layer_count" : tlr_check_kind_name(c->kind);
    double v = tlr_json_get_number(m, key, 0);
    tlr_format_thousands((int64_t)v, r->actual, sizeof r->actual);
    r->status = tlr_check_holds(c, v) ? CK_PASSED : CK_FAILED;
}

/* unchanged, changed, rel_change: every layer of d.comparison whose path matches. */
static void eval_layers(const tlr_check *c, const tlr_json *d, ck_result *r)
{
    const tlr_json *layers = tlr_json_get(tlr_json_get(d, "comparison"), "layers");
    int matched = 0;
    double worst = 0;
    r->status = CK_PASSED;
    for (const tlr_json *e = tlr_json_first(layers); e; e = tlr_json_next(e)) {
        const char *path = tlr_json_get_string(e, "path", "");
        if (fnmatch(c->pattern, path, 0) != 0)
            continue;
        matched++;
        const char *status = tlr_json_get_string(e, "status", "");
        int ok;
        if (c->kind == TLR_CHECK_UNCHANGED) {
            ok = strcmp(status, "same") == 0;
        } else if (c->kind == TLR_CHECK_CHANGED) {
            ok = strcmp(status, "changed") == 0;
        } else {
            const tlr_json *v = tlr_json_get(e, "rel_change");
            int finite = tlr_json_is_number(v);
            double x = finite ? tlr_json_number(v, 0) : (double)INFINITY;
            int known = strcmp(status, "same") == 0 || strcmp(status, "changed") == 0;
            ok = known && tlr_check_holds(c, x);
            if (known && (x > worst || isnan(worst)))
                worst = x;
            if (!known)
                r->reason = "not_comparable";
        }
        if (!ok) {
            r->status = CK_FAILED;
            note_layer(r, path);
        }
    }
    if (!matched)
        fail_with(r, "no_match");
    else if (c->kind == TLR_CHECK_REL_CHANGE && isinf(worst))
        snprintf(r->actual, sizeof r->actual, "inf");
    else if (c->kind == TLR_CHECK_REL_CHANGE)
        snprintf(r->actual, sizeof r->actual, "%.3g", worst);
    if (r->status == CK_PASSED)
        r->reason = NULL;
}

/* The input the check names: the path as given, or a file name ending an input's path. */
static const tlr_input *find_input(const tlr_input *in, int n, const char *image)
{
    size_t len = strlen(image);
    for (int i = 0; i < n; i++)
        if (strcmp(in[i].source, image) == 0)
            return &in[i];
    for (int i = 0; i < n; i++) {
        size_t sl = strlen(in[i].source);
        if (sl > len && strcmp(in[i].source + sl - len, image) == 0 &&
            in[i].source[sl - len - 1] == '/')
            return &in[i];
    }
    return NULL;
}

/* The class index a check names: its index, or its label's position (a lone label of a
 * sigmoid output names class 1).  -1 when the labels do not have it. */
static int class_index(const tlr_check *c, const tlr_strlist *labels, int binary)
{
    if (!c->class_name)
        return c->class_index;
    long at = tlr_strlist_find(labels, c->class_name);
    if (at < 0)
        return -1;
    return binary && labels->n == 1 ? 1 : (int)at;
}

/* P(class) of output y (n values); -1 when the output has no such class. */
static double class_probability(const float *y, int64_t n, int binary, int k)
{
    if (binary)
        return k == 1 ? (double)y[0] : k == 0 ? 1.0 - (double)y[0] : -1;
    return k >= 0 && k < n ? (double)y[k] : -1;
}

typedef struct {
    const tlr_kfile *f;
    const tlr_input *inputs;
    int n_inputs;
    const tlr_strlist *labels;
    int64_t max_memory;
} predict_ctx;

static tlr_status eval_predict(const tlr_check *c, const predict_ctx *P, ck_result *r,
                               tlr_err *err)
{
    const tlr_input *in = find_input(P->inputs, P->n_inputs, c->image);
    if (!in) {
        fail_with(r, "no_image");
        return TLR_OK;
    }
    tlr_forward_opts fo = { P->max_memory, 0 };
    tlr_forward_result res;
    const tlr_tensor *x = in->tensor;
    tlr_status st = tlr_forward_run(P->f->model, &x, 1, NULL, 0, 1, &fo, &res, err);
    if (st)
        return st;
    const tlr_tensor *y = res.n_outputs ? res.outputs[0] : NULL;
    if (!y || tlr_tensor_numel(y) < 1) {
        fail_with(r, "not_computed");
    } else {
        int64_t n = tlr_tensor_numel(y);
        int binary = n == 1 && tlr_model_output_activation(P->f->model) == TLR_ACT_SIGMOID;
        double p = class_probability(y->data, n, binary, class_index(c, P->labels, binary));
        if (p < 0) {
            fail_with(r, "no_class");
        } else {
            snprintf(r->actual, sizeof r->actual, "%.4f", p);
            r->status = tlr_check_holds(c, p) ? CK_PASSED : CK_FAILED;
        }
    }
    tlr_forward_result_free(&res);
    return TLR_OK;
}

static void result_json(tlr_json *items, const tlr_check *c, const ck_result *r)
{
    static const char *const names[] = { "passed", "failed", "not_applicable" };
    tlr_json *o = tlr_json_push_object(items);
    char flag[64];
    tlr_json_add_number(o, "line", c->line);
    tlr_json_add_string(o, "text", c->text);
    tlr_json_add_string(o, "kind", tlr_check_kind_name(c->kind));
    tlr_json_add_string(o, "status", names[r->status]);
    snprintf(flag, sizeof flag, "status_%s", names[r->status]);
    tlr_json_add_bool(o, flag, 1);
    if (r->actual[0])
        tlr_json_add_string(o, "actual_str", r->actual);
    if (r->n_layers) {
        tlr_buf b = TLR_BUF_INIT;
        tlr_buf_puts(&b, tlr_buf_cstr(&r->layers));
        if (r->n_layers > LAYERS_LISTED)
            tlr_buf_printf(&b, " (+%d)", r->n_layers - LAYERS_LISTED);
        tlr_json_add_string(o, "layers_str", tlr_buf_cstr(&b));
        tlr_buf_free(&b);
    }
    /* a flag every item has, so templates can word this case without a scenario for it */
    tlr_json_add_bool(o, "computed", !r->reason || strcmp(r->reason, "not_computed") != 0);
    if (r->reason) {
        tlr_json_add_string(o, "reason", r->reason);
        snprintf(flag, sizeof flag, "reason_%s", r->reason);
        tlr_json_add_bool(o, flag, 1);
    }
}

/* accuracy OP X: the labelled folder's accuracy (d.evaluation); without one the check is
 * said not to apply, never passed quietly. */
static void eval_accuracy(const tlr_check *c, const tlr_json *d, ck_result *r)
{
    const tlr_json *acc = tlr_json_get(tlr_json_get(d, "evaluation"), "accuracy");
    if (!acc) {
        r->status = CK_NOT_APPLICABLE;
        r->reason = "no_labelled_folder";
        return;
    }
    double a = tlr_json_number(acc, 0);
    snprintf(r->actual, sizeof r->actual, "%.4f", a);
    r->status = tlr_check_holds(c, a) ? CK_PASSED : CK_FAILED;
}

static tlr_status eval_one(const tlr_check *c, const tlr_json *d, const predict_ctx *P,
                           ck_result *r, tlr_err *err)
{
    switch (c->kind) {
    case TLR_CHECK_UNCHANGED:
    case TLR_CHECK_CHANGED:
    case TLR_CHECK_REL_CHANGE:
        eval_layers(c, d, r);
        return TLR_OK;
    case TLR_CHECK_PREDICT:
        return eval_predict(c, P, r, err);
    case TLR_CHECK_ACCURACY:
        eval_accuracy(c, d, r);
        return TLR_OK;
    default:
        eval_count(c, d, r);
        return TLR_OK;
    }
}

tlr_status tlr_rd_checks_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                 const tlr_input *inputs, int n_inputs, tlr_err *err)
{
    const tlr_checks *cs = rq->checks;
    tlr_json *cj = tlr_json_add_object(d, "checks");
    tlr_json_add_bool(cj, "present", 1);
    tlr_json_add_string(cj, "file", cs->path);
    tlr_json *items = tlr_json_add_array(cj, "items");
    tlr_strlist labels = TLR_STRLIST_INIT;
    if (rq->labels_path)
        tlr_labels_load(rq->labels_path, tlr_shape_output_size(f->model, 0), &labels, NULL);
    predict_ctx P = { f, inputs, n_inputs, &labels, rq->max_memory };
    int counts[3] = { 0 };
    tlr_status st = TLR_OK;
    for (int i = 0; i < cs->n && !st; i++) {
        ck_result r = { CK_FAILED, "", TLR_BUF_INIT, 0, NULL };
        st = eval_one(&cs->items[i], d, &P, &r, err);
        if (!st) {
            counts[r.status]++;
            result_json(items, &cs->items[i], &r);
        }
        tlr_buf_free(&r.layers);
    }
    tlr_strlist_free(&labels);
    tlr_json_add_number(cj, "count", cs->n);
    tlr_json_add_number(cj, "passed", counts[CK_PASSED]);
    tlr_json_add_number(cj, "failed", counts[CK_FAILED]);
    tlr_json_add_number(cj, "not_applicable", counts[CK_NOT_APPLICABLE]);
    tlr_json_add_bool(cj, "all_passed", counts[CK_FAILED] == 0);
    return st;
}
