/* degrade.c - gaps instead of errors (degrade.h). */
#include "app/degrade.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "input/input.h"
#include "keras/shape.h"
#include "report/storage.h"
#include "report/summary_subclassed.h"

int tlr_degrade_is_misfit(const char *path, tlr_status code)
{
    return code == TLR_E_SHAPE && !tlr_input_is_npy(path);
}

void tlr_degrade_multi_input(const tlr_kfile *f, tlr_err *err)
{
    const tlr_model *m = f->model;
    tlr_buf b = TLR_BUF_INIT;
    for (int i = 0; i < m->n_inputs && i < 8; i++) {
        char sh[160];
        tlr_shape in = tlr_forward_input_shape(m, i);
        tlr_shape_str(&in, sh, sizeof sh);
        tlr_buf_printf(&b, "%s%s %s", i ? ", " : "", m->layers[m->inputs[i].layer].name, sh);
    }
    tlr_err_set(err, TLR_E_SHAPE, "%s: the model has %d inputs (%s%s): give one .npy array per "
                "input with --input NAME=FILE.npy", f->path, m->n_inputs, tlr_buf_cstr(&b),
                m->n_inputs > 8 ? ", ..." : "");
    tlr_buf_free(&b);
}

void tlr_degrade_unfit_gap(const tlr_kfile *f, const tlr_err *why, tlr_strlist *gaps)
{
    const char *msg = why->msg;
    size_t n = strlen(f->path);
    if (strncmp(msg, f->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2; /* the warning line names the model file already */
    tlr_strlist_push_owned(gaps, tlr_xasprintf("no feature maps or predictions: the sample "
                                               "inputs do not fit the model (%s)", msg));
}

tlr_status tlr_degrade_finish(const tlr_kfile *f, const tlr_strlist *gaps, const tlr_options *o,
                              FILE *log, tlr_err *err)
{
    for (size_t i = 0; log && i < gaps->n; i++)
        fprintf(log, "tlreport: warning: %s: %s\n", f->path, gaps->items[i]);
    if (o->strict && gaps->n)
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: the report has %zu gap%s (--strict)",
                           f->path, gaps->n, gaps->n == 1 ? "" : "s");
    return TLR_OK;
}

static void print_json_doc(tlr_json *j, FILE *out)
{
    char *s = tlr_json_print(j, 1);
    fputs(s, out);
    fputc('\n', out);
    free(s);
}

tlr_status tlr_degrade_subclassed(const tlr_kfile *f, const tlr_options *o, FILE *out,
                                  tlr_err *err)
{
    tlr_storage *st = tlr_inspect_storage_build(f, err);
    if (!st)
        return err->code;
    tlr_subclassed *s = tlr_subclassed_build(st, f->subclassed, NULL);
    if (o->json && o->cmd == TLR_CMD_INFO) {
        tlr_json *j = tlr_json_new_object();
        tlr_json_add_item(j, "storage", tlr_storage_to_json(st));
        tlr_json_add_item(j, "summary", tlr_subclassed_to_json(s));
        print_json_doc(j, out);
        tlr_json_free(j);
    } else if (o->json) {
        tlr_json *j = tlr_subclassed_to_json(s);
        print_json_doc(j, out);
        tlr_json_free(j);
    } else {
        tlr_buf b = TLR_BUF_INIT;
        tlr_subclassed_text(s, &b);
        fputs(tlr_buf_cstr(&b), out);
        tlr_buf_free(&b);
    }
    tlr_subclassed_free(s);
    tlr_storage_free(st);
    return TLR_OK;
}

tlr_status tlr_degrade_cannot_run(const tlr_kfile *f, const char *what, tlr_err *err)
{
    return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: %s needs the architecture, and '%s' is a "
                       "subclassed model whose Python class is not in the file (save it as a "
                       "Functional model, or pass --config ARCH.json)", f->path, what,
                       f->subclassed);
}
