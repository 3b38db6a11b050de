/* pipeline.c - the stages in order: open the model file, then inspect, run or report. */
#include "app/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "app/degrade.h"
#include "app/evaluate.h"
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
#include "report/checks.h"
#include "report/inspect.h"
#include "report/report.h"
#include "report/reportdata.h"
#include "report/storage.h"

static tlr_status need_model(const tlr_kfile *f, const char *what, tlr_err *err)
{
    if (f->model)
        return TLR_OK;
    if (f->subclassed)
        return tlr_degrade_cannot_run(f, what, err);
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
    if (f->subclassed)
        return tlr_degrade_subclassed(f, o, out, err);
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
    if (f->subclassed)
        return tlr_degrade_subclassed(f, o, out, err);
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
    if (f->subclassed)
        return tlr_degrade_subclassed(f, o, out, err);
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

static void free_inputs(tlr_input *in, int n)
{
    for (int i = 0; i < n; i++)
        tlr_input_free(&in[i]);
    free(in);
}

/* Loads 'files' onto list[*k...]; the messages of those that fail go to 'skipped', the first
 * failure to 'first', and '*misfits' counts the images that cannot feed the model at all.
 * The files are decoded in parallel (a 512 x 512 PNG takes about 5 ms), then taken in order. */
static void load_files(const tlr_options *o, const tlr_kfile *f, const tlr_strlist *files,
                       tlr_input *list, int *k, tlr_err *first, tlr_strlist *skipped, int *misfits)
{
    tlr_shape in = tlr_forward_input_shape(f->model, 0);
    tlr_input_opts io = input_opts(o, f->model);
    tlr_input *got = tlr_xcalloc(files->n + 1, sizeof *got);
    tlr_err *errs = tlr_xcalloc(files->n + 1, sizeof *errs);
    tlr_input_load_each((const char *const *)files->items, (int)files->n, &in, &io, got, errs);
    for (size_t i = 0; i < files->n; i++) {
        if (!errs[i].code) {
            list[(*k)++] = got[i];
            continue;
        }
        if (!first->code)
            *first = errs[i];
        *misfits += tlr_degrade_is_misfit(files->items[i], errs[i].code);
        tlr_strlist_push(skipped, errs[i].msg);
    }
    free(got);
    free(errs);
}

/* Loads every input: the arrays given with --input (one sample), then the positional images
 * and arrays; unreadable images are skipped with a warning, as long as one works.  'notes'
 * (may be NULL) receives the warnings too, for the report.  With 'unfit' (the report), images
 * that cannot feed the model at all (it takes no image, or several inputs) are no error when
 * nothing else works: '*unfit' is set, 'err' says why, and no input is returned. */
static tlr_status load_inputs(const tlr_options *o, const tlr_kfile *f, tlr_input **out, int *n,
                              FILE *log, tlr_strlist *notes, int *unfit, tlr_err *err)
{
    tlr_strlist files = TLR_STRLIST_INIT;
    tlr_status st = o->n_inputs ? collect_inputs(o, &files, log, notes, err) : TLR_OK;
    *out = NULL;
    *n = 0;
    tlr_input *list = tlr_xcalloc(files.n + 2, sizeof *list);
    int k = 0, misfits = 0;
    if (!st && o->n_named_inputs)
        st = tlr_input_load_named(f->model, o->named_inputs, o->n_named_inputs, &list[k++], err);
    tlr_err first = { 0 };
    tlr_strlist skipped = TLR_STRLIST_INIT;
    if (!st && files.n && f->model->n_inputs != 1) {
        tlr_degrade_multi_input(f, &first);
        tlr_strlist_push(&skipped, first.msg);
        misfits = 1;
    } else if (!st) {
        load_files(o, f, &files, list, &k, &first, &skipped, &misfits);
    }
    /* When every input fails, the first failure is the one error line (no warnings before it). */
    for (size_t i = 0; !st && k > 0 && i < skipped.n; i++) {
        if (!o->quiet)
            fprintf(log, "tlreport: warning: skipping %s\n", skipped.items[i]);
        if (notes)
            tlr_strlist_push(notes, skipped.items[i]);
    }
    if (!st && k == 0) {
        *err = first;
        st = first.code ? first.code : TLR_E_USAGE;
        if (unfit && misfits == (int)skipped.n) {
            *unfit = 1;
            st = TLR_OK;
        }
    }
    tlr_strlist_free(&skipped);
    tlr_strlist_free(&files);
    if (st || k == 0) {
        free_inputs(list, k);
        return st;
    }
    *out = list;
    *n = k;
    return TLR_OK;
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
    const tlr_tensor *x[TLR_MAX_INPUTS];
    int nx = tlr_input_tensors(in, x, TLR_MAX_INPUTS);
    tlr_status st = tlr_forward_run(f->model, x, nx, (const char *const *)paths->items,
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
    if ((st = load_inputs(o, f, &in, &n_in, log, NULL, NULL, err)))
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
    if ((st = load_inputs(o, f, &in, &n_in, log, NULL, NULL, err))) {
        tlr_strlist_free(&labels);
        return st;
    }
    tlr_forward_opts fo = forward_opts(o);
    tlr_json *all = tlr_json_new_array();
    for (int i = 0; i < n_in && !st; i++) {
        tlr_forward_result r;
        const tlr_tensor *x[TLR_MAX_INPUTS];
        int nx = tlr_input_tensors(&in[i], x, TLR_MAX_INPUTS);
        st = tlr_forward_run(f->model, x, nx, NULL, 0, 1, &fo, &r, err);
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

/* ---- --compare and --check ------------------------------------------------------------------ */

/* What --compare and --check add to the report: the model before training with its sample
 * images, and the parsed checks. */
typedef struct {
    tlr_kfile *base;
    tlr_input *in;          /* the images prepared for 'base' (or borrowed: see 'own_in') */
    int n_in, own_in;
    tlr_checks *checks;
} report_extras;

static void extras_free(report_extras *x)
{
    if (x->own_in)
        free_inputs(x->in, x->n_in);
    tlr_kfile_free(x->base);
    tlr_checks_free(x->checks);
    memset(x, 0, sizeof *x);
}

/* Reads the check file and opens the model to compare with (weights loaded); a check file
 * that does not parse stops here, before any work, as a usage error naming file:line. */
static tlr_status extras_open(const tlr_options *o, const tlr_kfile *f, report_extras *x,
                              tlr_err *err)
{
    memset(x, 0, sizeof *x);
    tlr_status st;
    if (o->check_path && !(x->checks = tlr_checks_load(o->check_path, o->compare_path != NULL,
                                                       o->labels_path != NULL, err)))
        return err->code;
    if ((o->compare_path || o->check_path) && (st = need_model(f, o->compare_path ? "--compare"
                                                                                  : "--check", err)))
        return st;
    if (!o->compare_path)
        return TLR_OK;
    tlr_kfile_opts ko = { .lambdas = o->lambdas, .n_lambdas = o->n_lambdas };
    if (!(x->base = tlr_kfile_open(o->compare_path, &ko, err)))
        return err->code;
    if ((st = need_model(x->base, "--compare", err)))
        return st;
    return tlr_kfile_load_weights(x->base, err);
}

/* The sample images for the model before: the same tensors when both models take the same
 * input the same way, else loaded again for it. */
static tlr_status extras_inputs(const tlr_options *o, const tlr_kfile *f, const tlr_input *in,
                                int n_in, report_extras *x, FILE *log, tlr_err *err)
{
    if (!x->base || n_in == 0)
        return TLR_OK;
    tlr_shape sa = tlr_forward_input_shape(x->base->model, 0);
    tlr_shape sb = tlr_forward_input_shape(f->model, 0);
    tlr_input_opts ia = input_opts(o, x->base->model), ib = input_opts(o, f->model);
    if (sa.ndim == sb.ndim && memcmp(sa.d, sb.d, sizeof sa.d) == 0 &&
        memcmp(&ia, &ib, sizeof ia) == 0) {
        x->in = (tlr_input *)in;
        x->n_in = n_in;
        return TLR_OK;
    }
    x->own_in = 1;
    return load_inputs(o, x->base, &x->in, &x->n_in, log, NULL, NULL, err);
}

#define DIGEST_MAX_BYTES 60000 /* a pull-request comment stays well under GitHub's limit */

/* DIR/summary.md, the digest for a pull request, when --compare or --check asked for it;
 * NULL otherwise (or on error, with 'err' set).  Cut at a line end past DIGEST_MAX_BYTES. */
static char *render_digest(const tlr_options *o, const tlr_json *data, const tlr_report_opts *ro,
                           tlr_err *err)
{
    if (!o->compare_path && !o->check_path)
        return NULL;
    char *md = tlr_report_render(data, "summary.md", ro, err);
    if (md && strlen(md) > DIGEST_MAX_BYTES) {
        char *cut = md + DIGEST_MAX_BYTES - 8;
        while (cut > md && cut[-1] != '\n')
            cut--;
        strcpy(cut, "\n...\n");
    }
    return md;
}

/* After the site is written: the checks that did not pass go to 'log', and any failed one
 * makes the exit status 3. */
static tlr_status checks_verdict(const tlr_options *o, const tlr_json *data, FILE *log,
                                 tlr_err *err)
{
    const tlr_json *cj = tlr_json_get(data, "checks");
    if (!cj)
        return TLR_OK;
    tlr_buf b = TLR_BUF_INIT;
    tlr_checks_failure_lines(cj, &b);
    if (log)
        fputs(tlr_buf_cstr(&b), log);
    tlr_buf_free(&b);
    int failed = tlr_json_get_int(cj, "failed", 0);
    if (failed == 0)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_CHECK, "%s: %d of %d checks failed", o->check_path, failed,
                       tlr_json_get_int(cj, "count", 0));
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

/* Writes the site: the pages, report.json, the figures and (--compare, --check) summary.md. */
static tlr_status write_site(const tlr_options *o, const tlr_report_content *c, FILE *out,
                             FILE *log, tlr_err *err)
{
    tlr_report_opts ro = { o->out_dir ? o->out_dir : "site", o->template_dir, o->lang,
                           o->embed, o->force, o->quiet, o->exe_path, NULL };
    tlr_err derr = { 0 };
    char *digest = render_digest(o, c->data, &ro, &derr);
    if (derr.code) {
        *err = derr;
        return derr.code;
    }
    tlr_report_file *files = tlr_xcalloc((size_t)c->n_figures + 2, sizeof *files);
    for (int i = 0; i < c->n_figures; i++)
        files[i] = (tlr_report_file){ c->figures[i].name, c->figures[i].data, c->figures[i].len };
    int n = c->n_figures;
    if (digest)
        files[n++] = (tlr_report_file){ "summary.md", digest, strlen(digest) };
    if (o->progress && log)
        fprintf(log, "tlreport: writing %s\n", ro.out_dir);
    tlr_status st = tlr_report_write(c->data, files, n, &ro, err);
    free(files);
    free(digest);
    if (!st && !o->quiet)
        fprintf(out, "%s/index.html\n", ro.out_dir);
    return st;
}

/* The sample inputs given as images or arrays, and the model before for --compare; inputs
 * that cannot feed the model are a gap ('*unfit'), not an error. */
static tlr_status given_inputs(const tlr_options *o, tlr_kfile *f, report_extras *x,
                               tlr_input **in, int *n_in, tlr_strlist *notes, int *unfit,
                               tlr_strlist *gaps, FILE *log, tlr_err *err)
{
    tlr_status st = TLR_OK;
    if ((o->n_inputs || o->n_named_inputs) &&
        (st = load_inputs(o, f, in, n_in, log, notes, unfit, err)))
        return st;
    if ((st = extras_inputs(o, f, *in, *n_in, x, log, err)))
        return st;
    if (*unfit)
        tlr_degrade_unfit_gap(f, err, gaps);
    tlr_err_clear(err);
    return TLR_OK;
}

static tlr_status cmd_report(tlr_kfile *f, const tlr_options *o, FILE *out, FILE *log,
                             tlr_err *err)
{
    tlr_status st;
    report_extras x;
    if (!f->model && (o->shard_n || o->merge))
        return need_model(f, o->merge ? "--merge" : "--shard", err);
    if ((st = extras_open(o, f, &x, err)) ||
        (f->model && (st = tlr_kfile_load_weights(f, err)))) {
        extras_free(&x);
        return st;
    }
    tlr_input *in = NULL;
    int n_in = 0, unfit = 0, written = 0;
    tlr_input_opts io = { 0 };
    tlr_strlist notes = TLR_STRLIST_INIT, gaps = TLR_STRLIST_INIT;
    tlr_report_request rq = report_request(o);
    tlr_app_eval ev = { 0 };
    tlr_kfile_gaps(f, &gaps);
    if (f->model && tlr_app_eval_wanted(o)) {
        /* a labelled folder: every image evaluated, the first of each class as samples */
        io = input_opts(o, f->model);
        st = tlr_app_eval_run(f, o, &rq, &io, out, log, &ev, &written, err);
        if (!st && !written) {
            in = ev.samples, n_in = ev.n_samples, notes = ev.notes;
            ev.samples = NULL, ev.n_samples = 0, ev.notes = (tlr_strlist)TLR_STRLIST_INIT;
            rq.evaluation = ev.ev;
            st = extras_inputs(o, f, in, n_in, &x, log, err);
        }
    } else if (f->model) {
        io = input_opts(o, f->model);
        st = given_inputs(o, f, &x, &in, &n_in, &notes, &unfit, &gaps, log, err);
    }
    if (st || written) {
        tlr_strlist_free(&notes);
        tlr_strlist_free(&gaps);
        free_inputs(in, n_in);
        tlr_app_eval_free(&ev);
        extras_free(&x);
        return st;
    }
    if (o->progress && log && !rq.evaluation)
        fprintf(log, "tlreport: %s: %d image%s found, %d in the report\n", f->path, n_in,
                n_in == 1 ? "" : "s", n_in < o->max_images ? n_in : o->max_images);
    tlr_report_content c;
    rq.compare = x.base;
    rq.compare_inputs = x.in;
    rq.n_compare_inputs = x.n_in;
    rq.checks = x.checks;
    rq.inputs_unfit = unfit;
    st = tlr_reportdata_build(f, &rq, in, n_in, &io, &notes, log, &c, err);
    tlr_strlist_free(&notes);
    extras_free(&x);
    free_inputs(in, n_in);
    tlr_app_eval_free(&ev);
    if (!st)
        st = write_site(o, &c, out, log, err);
    /* the site is written: its gaps are warned about (an error under --strict), then the
     * checks decide (exit status 3) */
    if (!st)
        st = tlr_degrade_finish(f, &gaps, o, log, err);
    if (!st)
        st = checks_verdict(o, c.data, log, err);
    tlr_report_content_free(&c);
    tlr_strlist_free(&gaps);
    return st;
}

tlr_status tlr_run(const tlr_options *o, FILE *out, FILE *log, tlr_err *err)
{
    if (o->threads > 0)
        tlr_threads_set_count(o->threads);
    /* the inspecting commands read no weight values */
    int structure = o->cmd == TLR_CMD_SUMMARY || o->cmd == TLR_CMD_LAYERS ||
                    o->cmd == TLR_CMD_STORAGE || o->cmd == TLR_CMD_INFO;
    tlr_kfile_opts ko = { o->config_path, o->weights_path, o->lambdas, o->n_lambdas, structure };
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
