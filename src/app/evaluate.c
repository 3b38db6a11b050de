/* evaluate.c - labelled folders for the report: the whole folder, one shard, or a merge. */
#include "app/evaluate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "base/xalloc.h"
#include "input/dataset.h"
#include "io/labels.h"
#include "keras/shape.h"
#include "report/evaluation_part.h"

int tlr_app_eval_wanted(const tlr_options *o)
{
    if (o->merge || o->shard_n)
        return 1;
    return o->n_inputs == 1 && !tlr_input_is_npy(o->inputs[0]) &&
           tlr_dataset_is_labelled(o->inputs[0]);
}

void tlr_app_eval_free(tlr_app_eval *res)
{
    tlr_eval_free(res->ev);
    for (int i = 0; i < res->n_samples; i++)
        tlr_input_free(&res->samples[i]);
    free(res->samples);
    tlr_strlist_free(&res->notes);
    memset(res, 0, sizeof *res);
}

/* ---- progress ------------------------------------------------------------------------------ */

typedef struct {
    FILE *log;
    int show;          /* a terminal, not --quiet */
    int quiet;
    double t0, last;
    int open;          /* a progress line is on screen */
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "tlreport: 1200/10000 images, 28.4 images/s, 5 min 10 s left", ending in '\r' so the next
 * one is drawn over it (main.c passes such lines on at once). */
static void on_progress(void *ctx, int64_t done, int64_t total)
{
    progress *p = ctx;
    double t = now_s();
    if (!p->show || (done < total && t - p->last < 0.5))
        return;
    p->last = t;
    double rate = t > p->t0 ? (double)done / (t - p->t0) : 0;
    long left = rate > 0 ? (long)((double)(total - done) / rate + 0.5) : 0;
    fprintf(p->log, "tlreport: %lld/%lld images, %.1f images/s, ", (long long)done,
            (long long)total, rate);
    if (left >= 60)
        fprintf(p->log, "%ld min %02ld s left  ", left / 60, left % 60);
    else
        fprintf(p->log, "%ld s left      ", left);
    p->open = done < total;
    fputc(p->open ? '\r' : '\n', p->log); /* the next line overwrites this one */
    fflush(p->log);
}

static void on_skipped(void *ctx, const char *text)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    /* over the progress line, clearing what is left of it */
    fprintf(p->log, "tlreport: warning: skipping %s%s\n", text, p->open ? "\033[K" : "");
    p->open = 0;
}

/* ---- what must agree between shards --------------------------------------------------------- */

/* "BYTES:HASH" of a file, or "-" when it cannot be read. */
static char *file_fingerprint(const char *path)
{
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!fp)
        return tlr_xstrdup("-");
    unsigned char buf[1 << 16];
    uint64_t h = TLR_HASH_INIT;
    long long bytes = 0;
    for (size_t n; (n = fread(buf, 1, sizeof buf, fp)) > 0; bytes += (long long)n)
        h = tlr_hash_bytes(h, buf, n);
    fclose(fp);
    char hex[17];
    tlr_hash_hex(h, hex);
    return tlr_xasprintf("%lld:%s", bytes, hex);
}

/* The model and the options that change an evaluation's results, in one line. */
static char *settings_line(const tlr_options *o, const tlr_input_opts *io, const char *layer)
{
    char *model = file_fingerprint(o->model);
    char *extra = file_fingerprint(o->config_path ? o->config_path : o->weights_path);
    char *labels = file_fingerprint(o->labels_path);
    char *s = tlr_xasprintf("model=%s extra=%s labels=%s preprocess=%s resize=%s crop=%d "
                            "layer=%s samples=%d top=%d", model, extra, labels,
                            tlr_prep_mode_name(io->mode), tlr_resize_method_name(io->resize),
                            io->crop_center, layer ? layer : "-", o->max_images, o->top_k);
    free(model);
    free(extra);
    free(labels);
    return s;
}

/* Whether the output is a single sigmoid unit (two classes), and that the classes fit it. */
static tlr_status check_classes(const tlr_kfile *f, const tlr_dataset *ds, int *binary,
                                tlr_err *err)
{
    int64_t n_out = tlr_shape_output_size(f->model, 0);
    int sigmoid = tlr_model_output_activation(f->model) == TLR_ACT_SIGMOID;
    *binary = n_out == 1 && sigmoid;
    size_t want = *binary ? 2 : (size_t)n_out;
    if (n_out == 1 && !sigmoid)
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: the model gives one value without a "
                           "sigmoid, not class probabilities: a labelled folder cannot be "
                           "evaluated", f->path);
    if (n_out > 0 && ds->classes.n != want)
        return tlr_err_set(err, TLR_E_USAGE, "%s: %zu classes (%s%s) but the model gives %zu; "
                           "give --labels to say which output each folder is", ds->root,
                           ds->classes.n, ds->classes.items[0],
                           ds->classes.n > 1 ? ", ..." : "", want);
    return TLR_OK;
}

/* The report's share: samples moved out of 'ev', listing notes then skipped files. */
static void take_results(tlr_app_eval *res, tlr_eval *ev, const tlr_strlist *listing_notes)
{
    res->ev = ev;
    res->samples = tlr_xcalloc((size_t)ev->n_samples + 1, sizeof *res->samples);
    for (int i = 0; i < ev->n_samples; i++) {
        res->samples[i] = ev->samples[i].input;
        memset(&ev->samples[i].input, 0, sizeof ev->samples[i].input);
    }
    res->n_samples = ev->n_samples;
    ev->n_samples = 0;
    for (size_t i = 0; i < listing_notes->n; i++)
        tlr_strlist_push(&res->notes, listing_notes->items[i]);
    for (int i = 0; i < ev->n_skips; i++)
        tlr_strlist_push(&res->notes, ev->skips[i].text);
}

/* ---- the whole folder, or one shard ------------------------------------------------------- */

static tlr_status scan_folder(const tlr_kfile *f, const tlr_options *o, tlr_dataset *ds,
                              tlr_err *err)
{
    if (!tlr_dataset_is_labelled(o->inputs[0]))
        return tlr_err_set(err, TLR_E_USAGE, "%s: --shard needs a folder with one subfolder per "
                           "class", o->inputs[0]);
    tlr_strlist labels = TLR_STRLIST_INIT;
    tlr_status st = TLR_OK;
    if (o->labels_path)
        st = tlr_labels_load(o->labels_path, tlr_shape_output_size(f->model, 0), &labels, err);
    if (!st)
        st = tlr_dataset_scan(o->inputs[0], &labels, ds, err);
    tlr_strlist_free(&labels);
    return st;
}

static tlr_status write_part(const tlr_options *o, const tlr_dataset *ds, const tlr_eval *ev,
                             const tlr_eval_run_opts *ro, char *settings, FILE *out, tlr_err *err)
{
    tlr_eval_part_meta meta = { o->shard_k, o->shard_n, ro->begin, ro->end, { 0 }, settings,
                                TLR_STRLIST_INIT };
    tlr_hash_hex(ds->fingerprint, meta.fingerprint);
    meta.notes = ds->notes;
    tlr_status st = tlr_eval_part_write(o->out_dir, ev, &meta, o->force, err);
    if (!st && !o->quiet)
        fprintf(out, "%s\n", o->out_dir);
    return st;
}

static tlr_status evaluate_folder(tlr_kfile *f, const tlr_options *o, const tlr_report_request *rq,
                                  const tlr_input_opts *io, FILE *out, FILE *log,
                                  tlr_app_eval *res, int *written, tlr_err *err)
{
    tlr_dataset ds;
    tlr_status st = scan_folder(f, o, &ds, err);
    if (st)
        return st;
    int binary = 0;
    char *layer = NULL;
    if ((st = check_classes(f, &ds, &binary, err)) ||
        (st = tlr_reportdata_feature_layer(f->model, rq, &layer, err))) {
        tlr_dataset_free(&ds);
        return st;
    }
    tlr_eval *ev = tlr_eval_new(&ds.classes, binary, layer, o->max_images);
    tlr_eval_describe(ev, &ds);
    progress p = { log, o->progress && log, o->quiet || !log, now_s(), 0, 0 };
    for (size_t i = 0; i < ds.notes.n && !p.quiet; i++)
        fprintf(log, "tlreport: warning: %s\n", ds.notes.items[i]);
    tlr_eval_run_opts ro = { io, 0, ds.n_items, o->max_memory, on_progress, on_skipped, &p };
    if (o->shard_n)
        tlr_dataset_slice(&ds, o->shard_k, o->shard_n, &ro.begin, &ro.end);
    if (p.show)
        fprintf(log, "tlreport: %s: %lld images in %zu classes, evaluating %lld\n", ds.root,
                (long long)ds.n_items, ds.classes.n, (long long)(ro.end - ro.begin));
    st = tlr_eval_run(f->model, &ds, &ro, ev, err);
    char *settings = settings_line(o, io, layer);
    if (!st && o->shard_n) {
        st = write_part(o, &ds, ev, &ro, settings, out, err);
        *written = 1;
        tlr_eval_free(ev);
    } else if (!st) {
        take_results(res, ev, &ds.notes);
    } else {
        tlr_eval_free(ev);
    }
    free(settings);
    free(layer);
    tlr_dataset_free(&ds);
    return st;
}

/* ---- merging parts ------------------------------------------------------------------------ */

/* Part 'm' (from 'dir') against the first part 'first' and the merge's own settings. */
static tlr_status check_part(const char *dir, const tlr_eval_part_meta *m,
                             const tlr_eval_part_meta *first, const char *settings,
                             const unsigned char *seen, tlr_err *err)
{
    if (strcmp(m->settings, settings) != 0)
        return tlr_err_set(err, TLR_E_USAGE, "%s: made from another model file or with other "
                           "options (--preprocess, --resize, --crop, --features, --kernels, "
                           "--max-images, --labels, --top) than this --merge", dir);
    if (first && (strcmp(m->fingerprint, first->fingerprint) != 0 || m->shard_n != first->shard_n))
        return tlr_err_set(err, TLR_E_USAGE, "%s: a shard of another folder listing or another "
                           "--shard count than the first part", dir);
    if (m->shard_k < 1 || m->shard_k > m->shard_n)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: shard %d of %d is out of range", dir,
                           m->shard_k, m->shard_n);
    if (seen && seen[m->shard_k])
        return tlr_err_set(err, TLR_E_USAGE, "%s: shard %d/%d is given twice", dir, m->shard_k,
                           m->shard_n);
    return TLR_OK;
}

/* Each shard of 1..N exactly once. */
static tlr_status check_cover(const unsigned char *seen, int n, tlr_err *err)
{
    for (int k = 1; k <= n; k++)
        if (!seen[k])
            return tlr_err_set(err, TLR_E_USAGE, "--merge: shard %d/%d is missing", k, n);
    return TLR_OK;
}

/* Reads every part, checks them, and folds them into one evaluation (*out). */
static tlr_status merge_parts(const tlr_options *o, const char *settings, tlr_eval **out,
                              tlr_eval_part_meta *first, tlr_err *err)
{
    tlr_status st = TLR_OK;
    unsigned char *seen = NULL;
    *out = NULL;
    for (int i = 0; i < o->n_inputs && !st; i++) {
        tlr_eval *ev;
        tlr_eval_part_meta m;
        if ((st = tlr_eval_part_read(o->inputs[i], &ev, &m, err)))
            break;
        int k = m.shard_k;
        st = check_part(o->inputs[i], &m, i ? first : NULL, settings, seen, err);
        if (!st && i == 0) {
            seen = tlr_xcalloc((size_t)m.shard_n + 1, 1);
            *first = m;
            memset(&m, 0, sizeof m);
        }
        if (!st)
            seen[k] = 1;
        if (!st && *out)
            st = tlr_eval_merge(*out, ev, err);
        if (!st && !*out) {
            *out = ev;
            ev = NULL;
        }
        tlr_eval_free(ev);
        tlr_eval_part_meta_free(&m);
    }
    if (!st)
        st = check_cover(seen, first->shard_n, err);
    free(seen);
    return st;
}

static tlr_status merge_folder(tlr_kfile *f, const tlr_options *o, const tlr_report_request *rq,
                               const tlr_input_opts *io, tlr_app_eval *res, tlr_err *err)
{
    char *layer = NULL;
    tlr_status st = tlr_reportdata_feature_layer(f->model, rq, &layer, err);
    if (st)
        return st;
    char *settings = settings_line(o, io, layer);
    free(layer);
    tlr_eval *ev = NULL;
    tlr_eval_part_meta first = { 0 };
    st = merge_parts(o, settings, &ev, &first, err);
    if (!st)
        take_results(res, ev, &first.notes);
    else
        tlr_eval_free(ev);
    tlr_eval_part_meta_free(&first);
    free(settings);
    return st;
}

tlr_status tlr_app_eval_run(tlr_kfile *f, const tlr_options *o, const tlr_report_request *rq,
                            const tlr_input_opts *io, FILE *out, FILE *log, tlr_app_eval *res,
                            int *written, tlr_err *err)
{
    memset(res, 0, sizeof *res);
    *written = 0;
    if (o->merge)
        return merge_folder(f, o, rq, io, res, err);
    return evaluate_folder(f, o, rq, io, out, log, res, written, err);
}
