/* pipeline.c - the stages in order: open the model file, then inspect, run or report. */
#include "app/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "app/dump_grad.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/strlist.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/forward.h"
#include "input/image_scan.h"
#include "input/input.h"
#include "io/labels.h"
#include "io/npy.h"
#include "keras/kfile.h"
#include "keras/shape.h"
#include "report/inspect.h"
#include "report/report.h"
#include "report/reportdata.h"
#include "report/storage.h"

static tlr_status need_model(const tlr_kfile *f, const char *what, tlr_err *err)
{
    if (f->model)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_USAGE, "%s: weights-only file: %s needs the architecture "
                       "(add --config arch.json); --storage works without it", f->path, what);
}

static void print_json(tlr_json *j, FILE *out)
{
    char *s = tlr_json_print(j, 1);
    fputs(s, out);
    fputc('\n', out);
    free(s);
}

/* Prints 'j' (then frees it), or the text in 'b' (then frees it). */
static void print_out(tlr_json *j, tlr_buf *b, FILE *out)
{
    if (j) {
        print_json(j, out);
        tlr_json_free(j);
    } else {
        fputs(tlr_buf_cstr(b), out);
    }
    tlr_buf_free(b);
}

static tlr_status cmd_summary(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_status st = need_model(f, "--summary", err);
    if (st)
        return st;
    tlr_summary *s = tlr_inspect_summary(f, o->summary_style, o->expand_nested, o->show_trainable);
    tlr_buf b = TLR_BUF_INIT;
    if (!o->json)
        tlr_summary_format(s, &b);
    print_out(o->json ? tlr_summary_to_json(s) : NULL, &b, out);
    tlr_inspect_summary_free(s);
    return TLR_OK;
}

static tlr_status cmd_layers(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_status st = need_model(f, "--layers", err);
    if (st)
        return st;
    tlr_layer_table *t = tlr_inspect_layer_table(f, o->expand_nested);
    tlr_buf b = TLR_BUF_INIT;
    if (!o->json)
        tlr_layer_table_text(t, &b);
    print_out(o->json ? tlr_layer_table_to_json(t) : NULL, &b, out);
    tlr_layer_table_free(t);
    return TLR_OK;
}

static tlr_status cmd_storage(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_storage *s = tlr_inspect_storage_build(f, err);
    if (!s)
        return err->code;
    tlr_buf b = TLR_BUF_INIT;
    if (!o->json)
        tlr_storage_text(s, &b);
    print_out(o->json ? tlr_storage_to_json(s) : NULL, &b, out);
    tlr_storage_free(s);
    return TLR_OK;
}

/* --json alone: storage, layers and summary in one document. */
static tlr_status cmd_info(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_storage *storage = tlr_inspect_storage_build(f, err);
    if (!storage)
        return err->code;
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_item(j, "storage", tlr_storage_to_json(storage));
    tlr_storage_free(storage);
    if (f->model) {
        tlr_layer_table *t = tlr_inspect_layer_table(f, o->expand_nested);
        tlr_json_add_item(j, "layers", tlr_layer_table_to_json(t));
        tlr_layer_table_free(t);
        tlr_summary *s = tlr_inspect_summary(f, o->summary_style, o->expand_nested, o->show_trainable);
        tlr_json *sj = tlr_summary_to_json(s);
        tlr_buf b = TLR_BUF_INIT;
        tlr_summary_format(s, &b);
        tlr_json_add_string(sj, "text", tlr_buf_cstr(&b));
        tlr_buf_free(&b);
        tlr_json_add_item(j, "summary", sj);
        tlr_inspect_summary_free(s);
    }
    print_json(j, out);
    tlr_json_free(j);
    return TLR_OK;
}

/* ---- inputs -------------------------------------------------------------------------------- */

/* Files from the command line: .npy arrays as given, images from files and folders. */
static tlr_status collect_inputs(const tlr_options *o, tlr_strlist *files, FILE *log,
                                 tlr_strlist *notes, tlr_err *err)
{
    const char **img_args = tlr_xcalloc((size_t)o->n_inputs + 1, sizeof *img_args);
    int n_img = 0;
    for (int i = 0; i < o->n_inputs; i++) {
        if (tlr_input_is_npy(o->inputs[i]))
            tlr_strlist_push(files, o->inputs[i]);
        else
            img_args[n_img++] = o->inputs[i];
    }
    tlr_status st = TLR_OK;
    if (n_img) {
        char **found = NULL, **warn = NULL;
        int nf = 0, nw = 0;
        st = tlr_image_scan(img_args, n_img, &found, &nf, &warn, &nw, err);
        if (!st) {
            for (int i = 0; i < nw; i++) {
                if (!o->quiet)
                    fprintf(log, "tlreport: warning: %s\n", warn[i]);
                if (notes)
                    tlr_strlist_push(notes, warn[i]);
            }
            for (int i = 0; i < nf; i++)
                tlr_strlist_push(files, found[i]);
            tlr_image_scan_free(found, nf);
            tlr_image_scan_free(warn, nw);
        }
    }
    free(img_args);
    if (!st && files->n == 0)
        st = tlr_err_set(err, TLR_E_USAGE, "no usable image among the inputs");
    return st;
}

static tlr_input_opts input_opts(const tlr_options *o, const tlr_model *m)
{
    tlr_input_opts io = { 0 };
    io.mode = o->preprocess >= 0 ? (tlr_prep_mode)o->preprocess : tlr_input_default_mode(m);
    io.resize = o->resize_bilinear ? TLR_PIL_BILINEAR : TLR_PIL_NEAREST;
    io.crop_center = o->crop_center;
    io.max_side = 1024;
    return io;
}

/* Loads every input; unreadable images are skipped with a warning, as long as one works.
 * 'notes' (may be NULL) receives the warnings too, for the report. */
static tlr_status load_inputs(const tlr_options *o, const tlr_kfile *f, tlr_input **out, int *n,
                              FILE *log, tlr_strlist *notes, tlr_err *err)
{
    tlr_strlist files = TLR_STRLIST_INIT;
    tlr_status st = collect_inputs(o, &files, log, notes, err);
    *out = NULL;
    *n = 0;
    if (st) {
        tlr_strlist_free(&files);
        return st;
    }
    if (f->model->n_inputs != 1) {
        tlr_strlist_free(&files);
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: the model has %d inputs; tlreport feeds "
                           "single-input models", f->path, f->model->n_inputs);
    }
    tlr_shape in = tlr_forward_input_shape(f->model, 0);
    tlr_input_opts io = input_opts(o, f->model);
    tlr_input *list = tlr_xcalloc(files.n + 1, sizeof *list);
    int k = 0;
    tlr_err first = { 0 };
    tlr_strlist skipped = TLR_STRLIST_INIT;
    for (size_t i = 0; i < files.n; i++) {
        tlr_err e = { 0 };
        if (tlr_input_load(files.items[i], &in, &io, &list[k], &e) == TLR_OK) {
            k++;
        } else {
            if (!first.code)
                first = e;
            tlr_strlist_push(&skipped, e.msg);
        }
    }
    tlr_strlist_free(&files);
    /* When every input fails, the first failure is the one error line (no warnings before it). */
    for (size_t i = 0; k > 0 && i < skipped.n; i++) {
        if (!o->quiet)
            fprintf(log, "tlreport: warning: skipping %s\n", skipped.items[i]);
        if (notes)
            tlr_strlist_push(notes, skipped.items[i]);
    }
    tlr_strlist_free(&skipped);
    if (k == 0) {
        free(list);
        *err = first;
        return first.code ? first.code : TLR_E_USAGE;
    }
    *out = list;
    *n = k;
    return TLR_OK;
}

static void free_inputs(tlr_input *in, int n)
{
    for (int i = 0; i < n; i++)
        tlr_input_free(&in[i]);
    free(in);
}

static tlr_forward_opts forward_opts(const tlr_options *o)
{
    tlr_forward_opts fo = { o->max_memory, o->profile };
    return fo;
}

static void print_profile(const tlr_forward_result *r, FILE *log)
{
    double total = 0;
    for (int i = 0; i < r->n_times; i++)
        total += r->times[i].ms;
    fprintf(log, "%-40s %10s %8s %10s\n", "layer", "ms", "share", "GFLOP/s");
    for (int i = 0; i < r->n_times; i++) {
        const tlr_layer_time *t = &r->times[i];
        fprintf(log, "%-40s %10.3f %7.1f%% %10.1f\n", t->path, t->ms,
                total > 0 ? 100.0 * t->ms / total : 0.0,
                t->ms > 0 ? (double)t->flops / (t->ms * 1e6) : 0.0);
    }
    fprintf(log, "%-40s %10.3f\n", "total", total);
}

/* ---- --dump -------------------------------------------------------------------------------- */

/* A layer path as a relative file path: components kept, anything unsafe replaced. */
static char *safe_rel_path(const char *path)
{
    char *s = tlr_xstrdup(path);
    for (char *c = s; *c; c++)
        if ((unsigned char)*c < 32 || *c == '\\' || *c == ':')
            *c = '_';
    /* no empty, '.' or '..' components */
    tlr_buf b = TLR_BUF_INIT;
    for (char *tok = strtok(s, "/"); tok; tok = strtok(NULL, "/")) {
        if (b.len)
            tlr_buf_putc(&b, '/');
        if (strcmp(tok, ".") == 0 || strcmp(tok, "..") == 0 || tok[0] == '.')
            tlr_buf_putc(&b, '_');
        tlr_buf_puts(&b, tok);
    }
    free(s);
    return tlr_buf_detach(&b);
}

static char *image_stem(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *s = tlr_xstrdup(base);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = '\0';
    char *safe = safe_rel_path(s);
    free(s);
    return safe;
}

/* 'stem', or "stem-2", "stem-3"... when an earlier input took it (cat.png and cat.jpg, or two
 * folders' 1.png), so no dump overwrites another; owned by 'used'. */
static char *unique_stem(char *stem, tlr_strlist *used)
{
    char *s = tlr_xstrdup(stem);
    for (int k = 2; tlr_strlist_find(used, s) >= 0; k++) {
        free(s);
        s = tlr_xasprintf("%s-%d", stem, k);
    }
    free(stem);
    tlr_strlist_push_owned(used, s); /* 'used' owns it; valid until freed with the list */
    return s;
}

/* Writes 't' as DIR/[stem/]NAME.npy (NAME made safe) and prints the path unless quiet. */
static tlr_status write_dump(const tlr_options *o, const char *stem, const char *name,
                             const tlr_tensor *t, FILE *out, tlr_err *err)
{
    char *rel = safe_rel_path(name);
    char *file = stem ? tlr_xasprintf("%s/%s/%s.npy", o->out_dir, stem, rel)
                      : tlr_xasprintf("%s/%s.npy", o->out_dir, rel);
    tlr_status st = tlr_file_mkdirs_for(file, err);
    if (!st)
        st = tlr_npy_write(file, t->ndim, t->shape, t->data, err);
    if (!st && !o->quiet)
        fprintf(out, "%s\n", file);
    free(rel);
    free(file);
    return st;
}

/* The layer outputs asked for, from one forward pass over image 'in'. */
static tlr_status dump_layers(tlr_kfile *f, const tlr_options *o, const tlr_input *in,
                              const tlr_strlist *paths, const char *stem, FILE *out, FILE *log,
                              tlr_err *err)
{
    tlr_forward_opts fo = forward_opts(o);
    tlr_forward_result r;
    const tlr_tensor *x = in->tensor;
    tlr_status st = tlr_forward_run(f->model, &x, 1, (const char *const *)paths->items,
                                    (int)paths->n, 1, &fo, &r, err);
    if (st)
        return st;
    for (size_t k = 0; k < paths->n && !st; k++) {
        if (r.captured[k])
            st = write_dump(o, stem, paths->items[k], r.captured[k], out, err);
        else if (!o->quiet)
            fprintf(log, "tlreport: warning: %s: layer '%s' could not be computed\n",
                    in->source, paths->items[k]);
    }
    for (int k = 0; k < r.n_skipped && !o->quiet; k++)
        fprintf(log, "tlreport: note: not computed: %s\n", r.skipped[k]);
    if (o->profile)
        print_profile(&r, log);
    tlr_forward_result_free(&r);
    return st;
}

/* The gradient dumps (gradcam:LAYER, grad:LAYER:FILTER) of image 'in'. */
static tlr_status dump_gradients(tlr_kfile *f, const tlr_options *o, const tlr_input *in,
                                 const char *stem, FILE *out, tlr_err *err)
{
    tlr_forward_opts fo = forward_opts(o);
    tlr_status st = TLR_OK;
    for (int i = 0; i < o->n_dumps && !st; i++) {
        if (!tlr_dump_is_grad(o->dumps[i]))
            continue;
        tlr_tensor *t;
        char *name;
        st = tlr_dump_grad(f->model, &fo, o->class_index, o->dumps[i], in->tensor, &t, &name,
                           err);
        if (!st)
            st = write_dump(o, stem, name, t, out, err);
        tlr_tensor_free(t);
        free(name);
    }
    return st;
}

static tlr_status cmd_dump(tlr_kfile *f, const tlr_options *o, FILE *out, FILE *log, tlr_err *err)
{
    tlr_status st = need_model(f, "--dump", err);
    if (st || (st = tlr_kfile_load_weights(f, err)))
        return st;
    tlr_input *in;
    int n_in;
    if ((st = load_inputs(o, f, &in, &n_in, log, NULL, err)))
        return st;
    tlr_strlist paths = TLR_STRLIST_INIT;
    for (int i = 0; i < o->n_dumps; i++) {
        if (strcmp(o->dumps[i], "all") == 0)
            tlr_model_leaf_paths(f->model, NULL, &paths);
        else if (!tlr_dump_is_grad(o->dumps[i]))
            tlr_strlist_push(&paths, o->dumps[i]);
    }
    tlr_strlist stems = TLR_STRLIST_INIT;
    for (int i = 0; i < n_in && !st; i++) {
        char *stem = n_in > 1 ? unique_stem(image_stem(in[i].source), &stems) : NULL;
        if (paths.n)
            st = dump_layers(f, o, &in[i], &paths, stem, out, log, err);
        if (!st)
            st = dump_gradients(f, o, &in[i], stem, out, err);
    }
    tlr_strlist_free(&stems);
    tlr_strlist_free(&paths);
    free_inputs(in, n_in);
    return st;
}

/* ---- --predict ----------------------------------------------------------------------------- */

/* The top classes of output y by label: JSON "top" and, unless --json, "label p, ...". */
static void print_ranked(tlr_json *img, const tlr_tensor *y, int64_t n, const tlr_strlist *labels,
                         int binary, const tlr_options *o, FILE *out)
{
    int m;
    tlr_ranked *rk = tlr_reportdata_top(tlr_json_add_array(img, "top"), y->data, n, labels,
                                        o->top_k, binary, TLR_TOP_PREDICT, &m);
    for (int a = 0; a < m && !o->json; a++)
        fprintf(out, "%s %s %.4f", a ? "," : "", rk[a].label ? rk[a].label : "?", (double)rk[a].p);
    free(rk);
}

/* The values of one output tensor, at most 1000 of them. */
static void print_values(const tlr_tensor *y, FILE *out)
{
    int64_t n = tlr_tensor_numel(y);
    for (int64_t k = 0; k < n && k < 1000; k++)
        fprintf(out, " %.6g", (double)y->data[k]);
    if (n > 1000)
        fprintf(out, " ... (%lld values)", (long long)n);
}

static void push_values(tlr_json *arr, const tlr_tensor *y)
{
    int64_t n = tlr_tensor_numel(y);
    for (int64_t k = 0; k < n && k < 100000; k++)
        tlr_json_push_number(arr, (double)y->data[k]);
}

/* JSON "output" (the first output's values) and, for a model with several outputs,
 * "outputs" (each output's values, null for one not computed). */
static void add_output_values(tlr_json *img, const tlr_forward_result *r)
{
    push_values(tlr_json_add_array(img, "output"), r->outputs[0]);
    if (r->n_outputs < 2)
        return;
    tlr_json *all = tlr_json_add_array(img, "outputs");
    for (int o = 0; o < r->n_outputs; o++) {
        if (r->outputs[o])
            push_values(tlr_json_push_array(all), r->outputs[o]);
        else
            tlr_json_add_null(all, NULL);
    }
}

/* Text for the outputs after the first: " | v v v" each ("| not computed" when skipped). */
static void print_more_outputs(const tlr_forward_result *r, FILE *out)
{
    for (int o = 1; o < r->n_outputs; o++) {
        fputs(" |", out);
        if (r->outputs[o])
            print_values(r->outputs[o], out);
        else
            fputs(" not computed", out);
    }
}

static tlr_status cmd_predict(tlr_kfile *f, const tlr_options *o, FILE *out, FILE *log, tlr_err *err)
{
    tlr_status st = need_model(f, "--predict", err);
    if (st || (st = tlr_kfile_load_weights(f, err)))
        return st;
    tlr_strlist labels = TLR_STRLIST_INIT;
    int64_t n_out = tlr_shape_output_size(f->model, 0);
    if (o->labels_path && (st = tlr_labels_load(o->labels_path, n_out, &labels, err)))
        return st;
    int binary = tlr_model_output_activation(f->model) == TLR_ACT_SIGMOID;
    tlr_input *in;
    int n_in;
    if ((st = load_inputs(o, f, &in, &n_in, log, NULL, err))) {
        tlr_strlist_free(&labels);
        return st;
    }
    tlr_forward_opts fo = forward_opts(o);
    tlr_json *all = tlr_json_new_array();
    for (int i = 0; i < n_in && !st; i++) {
        tlr_forward_result r;
        const tlr_tensor *x = in[i].tensor;
        st = tlr_forward_run(f->model, &x, 1, NULL, 0, 1, &fo, &r, err);
        if (st)
            break;
        tlr_json *img = tlr_json_push_object(all);
        tlr_json_add_string(img, "image", in[i].source);
        const tlr_tensor *y = r.n_outputs ? r.outputs[0] : NULL;
        if (!y) {
            for (int k = 0; k < r.n_skipped; k++)
                fprintf(log, "tlreport: note: not computed: %s\n", r.skipped[k]);
            st = tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: the model's output could not be computed "
                             "(%s)", f->path, r.n_skipped ? r.skipped[0] : "unsupported layer");
            tlr_forward_result_free(&r);
            break;
        }
        int64_t n = tlr_tensor_numel(y);
        if (labels.n && (st = tlr_labels_check(&labels, n, o->labels_path, err))) {
            tlr_forward_result_free(&r);
            break;
        }
        if (!o->json)
            fprintf(out, "%s:", in[i].source);
        if (labels.n && n > 0)
            print_ranked(img, y, n, &labels, binary, o, out);
        else if (!o->json)
            print_values(y, out);
        add_output_values(img, &r);
        if (!o->json) {
            print_more_outputs(&r, out);
            fputc('\n', out);
        }
        if (o->profile)
            print_profile(&r, log);
        tlr_forward_result_free(&r);
    }
    if (!st && o->json)
        print_json(all, out);
    tlr_json_free(all);
    free_inputs(in, n_in);
    tlr_strlist_free(&labels);
    return st;
}

/* ---- the report ------------------------------------------------------------------------------ */

/* The report stage's share of the options. */
static tlr_report_request report_request(const tlr_options *o)
{
    tlr_report_request rq = {
        .title = o->title, .author = o->author, .date = o->date, .lang = o->lang,
        .summary_style = o->summary_style, .kernels_layer = o->kernels_layer,
        .kernel_rows = o->kernel_rows, .kernel_cols = o->kernel_cols,
        .kernel_norm = o->kernel_norm, .features_layer = o->features_layer,
        .max_images = o->max_images, .cmap_viridis = o->cmap_viridis,
        .labels_path = o->labels_path, .top_k = o->top_k, .max_memory = o->max_memory,
        .gradcam_layer = o->gradcam_layer, .class_index = o->class_index,
        .patterns = o->patterns,
        .progress = o->progress,
    };
    return rq;
}

static tlr_status cmd_report(tlr_kfile *f, const tlr_options *o, FILE *out, FILE *log,
                             tlr_err *err)
{
    tlr_status st;
    int progress = o->progress && log;
    if (f->model && (st = tlr_kfile_load_weights(f, err)))
        return st;
    tlr_input *in = NULL;
    int n_in = 0;
    tlr_input_opts io = { 0 };
    tlr_strlist notes = TLR_STRLIST_INIT;
    if (f->model) {
        io = input_opts(o, f->model);
        if (o->n_inputs && (st = load_inputs(o, f, &in, &n_in, log, &notes, err))) {
            tlr_strlist_free(&notes);
            return st;
        }
    }
    if (progress)
        fprintf(log, "tlreport: %s: %d image%s found, %d in the report\n", f->path, n_in,
                n_in == 1 ? "" : "s", n_in < o->max_images ? n_in : o->max_images);
    tlr_report_content c;
    tlr_report_request rq = report_request(o);
    st = tlr_reportdata_build(f, &rq, in, n_in, &io, &notes, log, &c, err);
    tlr_strlist_free(&notes);
    free_inputs(in, n_in);
    if (!st) {
        tlr_report_opts ro = { o->out_dir ? o->out_dir : "site", o->template_dir, o->lang,
                               o->embed, o->force, o->quiet, o->exe_path, NULL };
        tlr_report_file *files = tlr_xcalloc((size_t)c.n_figures + 1, sizeof *files);
        for (int i = 0; i < c.n_figures; i++)
            files[i] = (tlr_report_file){ c.figures[i].name, c.figures[i].data, c.figures[i].len };
        if (progress)
            fprintf(log, "tlreport: writing %s\n", ro.out_dir);
        st = tlr_report_write(c.data, files, c.n_figures, &ro, err);
        free(files);
        if (!st && !o->quiet)
            fprintf(out, "%s/index.html\n", ro.out_dir);
    }
    tlr_report_content_free(&c);
    return st;
}

tlr_status tlr_run(const tlr_options *o, FILE *out, FILE *log, tlr_err *err)
{
    if (o->threads > 0)
        tlr_threads_set_count(o->threads);
    tlr_kfile_opts ko = { o->config_path, o->weights_path, o->lambdas, o->n_lambdas };
    tlr_kfile *f = tlr_kfile_open(o->model, &ko, err);
    if (!f)
        return err->code;
    tlr_status st;
    switch (o->cmd) {
    case TLR_CMD_SUMMARY: st = cmd_summary(f, o, out, err); break;
    case TLR_CMD_LAYERS: st = cmd_layers(f, o, out, err); break;
    case TLR_CMD_STORAGE: st = cmd_storage(f, o, out, err); break;
    case TLR_CMD_INFO: st = cmd_info(f, o, out, err); break;
    case TLR_CMD_DUMP: st = cmd_dump(f, o, out, log, err); break;
    case TLR_CMD_PREDICT: st = cmd_predict(f, o, out, log, err); break;
    case TLR_CMD_REPORT: st = cmd_report(f, o, out, log, err); break;
    default:
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "this command is not implemented yet");
        break;
    }
    tlr_kfile_free(f);
    return st;
}
