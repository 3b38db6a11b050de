/* evaluation_part.c - a shard's evaluation written as a checked folder, and read back. */
#include "report/evaluation_part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "io/image_io.h"
#include "io/npy.h"
#include "report/site.h"

#define PART_FORMAT "tlreport-eval-part"
#define PART_VERSION 1
#define PART_MAX_BYTES ((size_t)1 << 30)

void tlr_eval_part_meta_free(tlr_eval_part_meta *m)
{
    free(m->settings);
    tlr_strlist_free(&m->notes);
    memset(m, 0, sizeof *m);
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct {
    tlr_site_file *files;
    unsigned char **owned;
    int n, cap;
    tlr_json *list;            /* part.json "files": [{name, bytes, hash}] */
} file_set;

static void hash_json(tlr_json *o, const void *data, size_t len)
{
    char hex[17];
    tlr_hash_hex(tlr_hash_bytes(TLR_HASH_INIT, data, len), hex);
    tlr_json_add_number(o, "bytes", (double)len);
    tlr_json_add_string(o, "hash", hex);
}

/* Adds a file (taking 'data'); listed in part.json unless list is NULL. */
static void add_file(file_set *fs, char *name, unsigned char *data, size_t len)
{
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 32;
        fs->files = tlr_xrealloc(fs->files, (size_t)fs->cap * sizeof *fs->files);
        fs->owned = tlr_xrealloc(fs->owned, (size_t)fs->cap * sizeof *fs->owned);
    }
    fs->files[fs->n] = (tlr_site_file){ name, data, len };
    fs->owned[fs->n++] = data;
    if (fs->list) {
        tlr_json *o = tlr_json_push_object(fs->list);
        tlr_json_add_string(o, "name", name);
        hash_json(o, data, len);
    }
}

static void file_set_free(file_set *fs)
{
    for (int i = 0; i < fs->n; i++) {
        free((char *)fs->files[i].name);
        free(fs->owned[i]);
    }
    free(fs->files);
    free(fs->owned);
}

static tlr_status add_png(file_set *fs, char *name, const tlr_image *img, tlr_err *err)
{
    unsigned char *png;
    size_t len;
    tlr_status st = tlr_image_encode_png(img, &png, &len, err);
    if (st) {
        free(name);
        return st;
    }
    add_file(fs, name, png, len);
    return TLR_OK;
}

static tlr_status picks_json(tlr_json *arr, const tlr_eval_best *b, const char *tag,
                             file_set *fs, tlr_err *err)
{
    tlr_status st = TLR_OK;
    for (int i = 0; i < b->n && !st; i++) {
        const tlr_eval_pick *p = &b->items[i];
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_number(o, "index", (double)p->index);
        tlr_json_add_string(o, "rel", p->rel);
        tlr_json_add_number(o, "true", p->true_cls);
        tlr_json_add_number(o, "pred", p->pred_cls);
        tlr_json_add_number(o, "score", (double)p->score);
        if (p->thumb) {
            char *name = tlr_xasprintf("t/%s-%d.png", tag, i);
            tlr_json_add_string(o, "thumb", name);
            st = add_png(fs, name, p->thumb, err);
        }
    }
    return st;
}

static tlr_status samples_json(tlr_json *arr, const tlr_eval *ev, file_set *fs, tlr_err *err)
{
    tlr_status st = TLR_OK;
    for (int i = 0; i < ev->n_samples && !st; i++) {
        const tlr_eval_sample *s = &ev->samples[i];
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_number(o, "key", (double)s->key);
        tlr_json_add_number(o, "index", (double)s->index);
        tlr_json_add_string(o, "source", s->input.source);
        size_t len;
        unsigned char *npy = tlr_npy_encode(s->input.tensor->ndim, s->input.tensor->shape,
                                            s->input.tensor->data, &len, err);
        if (!npy)
            return err->code;
        char *name = tlr_xasprintf("s/%d.npy", i);
        tlr_json_add_string(o, "tensor", name);
        add_file(fs, name, npy, len);
        if (s->input.seen) {
            name = tlr_xasprintf("s/%d.png", i);
            tlr_json_add_string(o, "seen", name);
            st = add_png(fs, name, s->input.seen, err);
        }
    }
    return st;
}

static void counts_json(tlr_json *j, const tlr_eval *ev)
{
    tlr_json_add_string(j, "folder", ev->folder ? ev->folder : "");
    tlr_json_add_number(j, "n_items", (double)ev->n_items);
    tlr_json_add_number(j, "n_unlisted", ev->n_unlisted);
    tlr_json *cls = tlr_json_add_array(j, "classes");
    for (int i = 0; i < ev->n_classes; i++)
        tlr_json_push_string(cls, ev->classes.items[i]);
    tlr_json_add_bool(j, "binary", ev->binary);
    tlr_json *conf = tlr_json_add_array(j, "confusion");
    for (size_t i = 0; i < (size_t)ev->n_classes * (size_t)ev->n_classes; i++)
        tlr_json_push_number(conf, (double)ev->confusion[i]);
    tlr_json *hits = tlr_json_add_array(j, "topk_hits");
    for (int k = 0; k <= TLR_EVAL_TOPK; k++)
        tlr_json_push_number(hits, (double)ev->topk_hits[k]);
    tlr_json_add_number(j, "n_evaluated", (double)ev->n_evaluated);
    if (ev->filter_layer)
        tlr_json_add_string(j, "filter_layer", ev->filter_layer);
    tlr_json_add_number(j, "n_filters", ev->n_filters);
    tlr_json_add_number(j, "layer_channels", (double)ev->layer_channels);
    tlr_json_add_number(j, "max_samples", ev->max_samples);
    tlr_json *sk = tlr_json_add_array(j, "skips");
    for (int i = 0; i < ev->n_skips; i++) {
        tlr_json *o = tlr_json_push_object(sk);
        tlr_json_add_number(o, "index", (double)ev->skips[i].index);
        tlr_json_add_string(o, "text", ev->skips[i].text);
    }
}

static void meta_json(tlr_json *j, const tlr_eval_part_meta *m)
{
    tlr_json_add_string(j, "format", PART_FORMAT);
    tlr_json_add_number(j, "version", PART_VERSION);
    tlr_json_add_number(j, "shard", m->shard_k);
    tlr_json_add_number(j, "of", m->shard_n);
    tlr_json_add_number(j, "begin", (double)m->begin);
    tlr_json_add_number(j, "end", (double)m->end);
    tlr_json_add_string(j, "listing", m->fingerprint);
    tlr_json_add_string(j, "settings", m->settings ? m->settings : "");
    tlr_json *notes = tlr_json_add_array(j, "notes");
    for (size_t i = 0; i < m->notes.n; i++)
        tlr_json_push_string(notes, m->notes.items[i]);
}

/* Everything but COMPLETE; part.json last, with the list of the others. */
static tlr_status build_files(const tlr_eval *ev, const tlr_eval_part_meta *meta, file_set *fs,
                              tlr_err *err)
{
    tlr_json *j = tlr_json_new_object();
    meta_json(j, meta);
    counts_json(j, ev);
    fs->list = tlr_json_add_array(j, "files");
    tlr_status st = picks_json(tlr_json_add_array(j, "mistakes"), &ev->mistakes, "m", fs, err);
    tlr_json *filters = tlr_json_add_array(j, "filters");
    for (int f = 0; f < TLR_EVAL_FILTERS && !st; f++) {
        char tag[16];
        snprintf(tag, sizeof tag, "f%d", f);
        st = picks_json(tlr_json_push_array(filters), &ev->filters[f], tag, fs, err);
    }
    if (!st)
        st = samples_json(tlr_json_add_array(j, "samples"), ev, fs, err);
    fs->list = NULL;
    if (!st) {
        char *text = tlr_json_print(j, 1);
        add_file(fs, tlr_xstrdup("part.json"), (unsigned char *)text, strlen(text));
    }
    tlr_json_free(j);
    return st;
}

tlr_status tlr_eval_part_write(const char *dir, const tlr_eval *ev, const tlr_eval_part_meta *meta,
                               int force, tlr_err *err)
{
    file_set fs = { 0 };
    tlr_status st = build_files(ev, meta, &fs, err);
    if (!st) {
        const tlr_site_file *pj = &fs.files[fs.n - 1];
        char hex[17];
        tlr_hash_hex(tlr_hash_bytes(TLR_HASH_INIT, pj->data, pj->len), hex);
        char *done = tlr_xasprintf("%s %d %zu %s\n", PART_FORMAT, PART_VERSION, pj->len, hex);
        add_file(&fs, tlr_xstrdup("COMPLETE"), (unsigned char *)done, strlen(done));
        st = tlr_site_write(dir, fs.files, fs.n, force, err);
    }
    file_set_free(&fs);
    return st;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct {
    const char *dir;
    const tlr_json *list;      /* part.json "files" */
    tlr_err *err;
} part_reader;

/* The bytes of the listed file 'name', checked against its size and hash; free() them. */
static unsigned char *read_listed(const part_reader *R, const char *name, size_t *len)
{
    const tlr_json *entry = NULL;
    for (const tlr_json *e = tlr_json_first(R->list); e && !entry; e = tlr_json_next(e))
        if (strcmp(tlr_json_get_string(e, "name", ""), name) == 0)
            entry = e;
    if (!entry || strstr(name, "..")) {
        tlr_err_set(R->err, TLR_E_FORMAT, "%s: part.json names '%s' but does not list it; the "
                    "part is damaged", R->dir, name);
        return NULL;
    }
    char *path = tlr_xasprintf("%s/%s", R->dir, name);
    unsigned char *data = (unsigned char *)tlr_file_read(path, PART_MAX_BYTES, len, R->err);
    free(path);
    char hex[17];
    if (data)
        tlr_hash_hex(tlr_hash_bytes(TLR_HASH_INIT, data, *len), hex);
    if (data && ((double)*len != tlr_json_get_number(entry, "bytes", -1) ||
                 strcmp(hex, tlr_json_get_string(entry, "hash", "")) != 0)) {
        free(data);
        tlr_err_set(R->err, TLR_E_FORMAT, "%s: %s does not match its checksum; the part is "
                    "incomplete or damaged (run that shard again)", R->dir, name);
        return NULL;
    }
    return data;
}

static tlr_image *read_png(const part_reader *R, const char *name)
{
    size_t len;
    unsigned char *data = read_listed(R, name, &len);
    if (!data)
        return NULL;
    tlr_image *img = tlr_image_decode(data, len, name, NULL, R->err);
    free(data);
    return img;
}

static tlr_status read_picks(const part_reader *R, const tlr_json *arr, tlr_eval_best *b,
                             int n_classes)
{
    for (const tlr_json *o = tlr_json_first(arr); o; o = tlr_json_next(o)) {
        int t = tlr_json_get_int(o, "true", -1), p = tlr_json_get_int(o, "pred", -1);
        if (t < 0 || t >= n_classes || p < 0 || p >= n_classes || b->n >= b->cap)
            return tlr_err_set(R->err, TLR_E_FORMAT, "%s: part.json: a kept image has no valid "
                               "class", R->dir);
        const char *thumb = tlr_json_get_string(o, "thumb", NULL);
        tlr_image *img = thumb ? read_png(R, thumb) : NULL;
        if (thumb && !img)
            return R->err->code;
        if (!b->items)
            b->items = tlr_xcalloc((size_t)b->cap + 1, sizeof *b->items);
        b->items[b->n++] = (tlr_eval_pick){
            (int64_t)tlr_json_get_number(o, "index", 0), tlr_xstrdup(tlr_json_get_string(o, "rel", "")),
            t, p, (float)tlr_json_get_number(o, "score", 0), img };
    }
    return TLR_OK;
}

static tlr_status read_sample(const part_reader *R, const tlr_json *o, tlr_eval *ev)
{
    size_t len;
    unsigned char *npy = read_listed(R, tlr_json_get_string(o, "tensor", ""), &len);
    if (!npy)
        return R->err->code;
    int nd;
    int64_t shape[TLR_NPY_MAX_DIMS];
    float *data = tlr_npy_read_mem(npy, len, "sample", &nd, shape, R->err);
    free(npy);
    if (!data)
        return R->err->code;
    tlr_input in = { 0 };
    in.source = tlr_xstrdup(tlr_json_get_string(o, "source", ""));
    in.tensor = tlr_tensor_new(nd, shape);
    memcpy(in.tensor->data, data, (size_t)tlr_tensor_numel(in.tensor) * sizeof(float));
    free(data);
    const char *seen = tlr_json_get_string(o, "seen", NULL);
    if (seen && !(in.seen = read_png(R, seen))) {
        tlr_input_free(&in);
        return R->err->code;
    }
    tlr_eval_offer_sample(ev, (int64_t)tlr_json_get_number(o, "key", 0),
                          (int64_t)tlr_json_get_number(o, "index", 0), &in);
    return TLR_OK;
}

/* The counts of part.json into a new evaluation. */
static tlr_eval *read_counts(const tlr_json *j, const char *dir, tlr_err *err)
{
    tlr_strlist classes = TLR_STRLIST_INIT;
    for (const tlr_json *c = tlr_json_first(tlr_json_get(j, "classes")); c; c = tlr_json_next(c))
        tlr_strlist_push(&classes, tlr_json_string(c, ""));
    size_t cells = classes.n * classes.n;
    const tlr_json *conf = tlr_json_get(j, "confusion");
    if (classes.n == 0 || tlr_json_size(conf) != cells ||
        tlr_json_size(tlr_json_get(j, "topk_hits")) != TLR_EVAL_TOPK + 1) {
        tlr_strlist_free(&classes);
        tlr_err_set(err, TLR_E_FORMAT, "%s: part.json: classes and counts do not fit", dir);
        return NULL;
    }
    tlr_eval *ev = tlr_eval_new(&classes, tlr_json_get_bool(j, "binary", 0),
                                tlr_json_get_string(j, "filter_layer", NULL),
                                tlr_json_get_int(j, "max_samples", 0));
    tlr_strlist_free(&classes);
    ev->folder = tlr_xstrdup(tlr_json_get_string(j, "folder", ""));
    ev->n_items = (int64_t)tlr_json_get_number(j, "n_items", 0);
    ev->n_unlisted = tlr_json_get_int(j, "n_unlisted", 0);
    size_t i = 0;
    for (const tlr_json *c = tlr_json_first(conf); c; c = tlr_json_next(c))
        ev->confusion[i++] = (int64_t)tlr_json_number(c, 0);
    i = 0;
    for (const tlr_json *c = tlr_json_first(tlr_json_get(j, "topk_hits")); c; c = tlr_json_next(c))
        ev->topk_hits[i++] = (int64_t)tlr_json_number(c, 0);
    ev->n_evaluated = (int64_t)tlr_json_get_number(j, "n_evaluated", 0);
    ev->n_filters = tlr_json_get_int(j, "n_filters", 0);
    ev->layer_channels = (int64_t)tlr_json_get_number(j, "layer_channels", 0);
    if (ev->n_filters < 0 || ev->n_filters > TLR_EVAL_FILTERS)
        ev->n_filters = 0;
    for (const tlr_json *s = tlr_json_first(tlr_json_get(j, "skips")); s; s = tlr_json_next(s))
        tlr_eval_skip_add(ev, (int64_t)tlr_json_get_number(s, "index", 0),
                          tlr_json_get_string(s, "text", ""));
    return ev;
}

static void read_meta(const tlr_json *j, tlr_eval_part_meta *m)
{
    m->shard_k = tlr_json_get_int(j, "shard", 0);
    m->shard_n = tlr_json_get_int(j, "of", 0);
    m->begin = (int64_t)tlr_json_get_number(j, "begin", 0);
    m->end = (int64_t)tlr_json_get_number(j, "end", 0);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", tlr_json_get_string(j, "listing", ""));
    m->settings = tlr_xstrdup(tlr_json_get_string(j, "settings", ""));
    for (const tlr_json *n = tlr_json_first(tlr_json_get(j, "notes")); n; n = tlr_json_next(n))
        tlr_strlist_push(&m->notes, tlr_json_string(n, ""));
}

/* part.json's text, checked against COMPLETE. */
static char *read_checked_json(const char *dir, size_t *len, tlr_err *err)
{
    char *path = tlr_xasprintf("%s/COMPLETE", dir);
    size_t n;
    char *done = tlr_file_read(path, 4096, &n, NULL);
    free(path);
    char fmt[64], hex[17], got[17];
    int version = 0;
    size_t bytes = 0;
    if (!done || sscanf(done, "%63s %d %zu %16s", fmt, &version, &bytes, hex) != 4 ||
        strcmp(fmt, PART_FORMAT) != 0 || version != PART_VERSION) {
        free(done);
        tlr_err_set(err, TLR_E_FORMAT, "%s: not a complete --shard result (no valid COMPLETE "
                    "file: the shard did not finish, or this is another folder)", dir);
        return NULL;
    }
    free(done);
    path = tlr_xasprintf("%s/part.json", dir);
    char *text = tlr_file_read(path, PART_MAX_BYTES, len, err);
    free(path);
    if (text)
        tlr_hash_hex(tlr_hash_bytes(TLR_HASH_INIT, text, *len), got);
    if (text && (*len != bytes || strcmp(got, hex) != 0)) {
        free(text);
        tlr_err_set(err, TLR_E_FORMAT, "%s: part.json does not match COMPLETE; the part is "
                    "damaged (run that shard again)", dir);
        return NULL;
    }
    return text;
}

/* The kept images and samples of part.json into 'ev'. */
static tlr_status read_kept(const part_reader *R, const tlr_json *j, tlr_eval *ev)
{
    tlr_status st = read_picks(R, tlr_json_get(j, "mistakes"), &ev->mistakes, ev->n_classes);
    int f = 0;
    for (const tlr_json *a = tlr_json_first(tlr_json_get(j, "filters")); a && !st;
         a = tlr_json_next(a), f++)
        st = f < TLR_EVAL_FILTERS ? read_picks(R, a, &ev->filters[f], ev->n_classes)
                                  : tlr_err_set(R->err, TLR_E_FORMAT, "%s: part.json: too many "
                                                "filters", R->dir);
    for (const tlr_json *s = tlr_json_first(tlr_json_get(j, "samples")); s && !st;
         s = tlr_json_next(s))
        st = read_sample(R, s, ev);
    return st;
}

tlr_status tlr_eval_part_read(const char *dir, tlr_eval **ev, tlr_eval_part_meta *meta,
                              tlr_err *err)
{
    *ev = NULL;
    memset(meta, 0, sizeof *meta);
    size_t len;
    char *text = read_checked_json(dir, &len, err);
    if (!text)
        return err->code;
    tlr_json *j = tlr_json_parse(text, len, "part.json", err);
    free(text);
    if (!j)
        return tlr_err_prefix(err, "%s", dir);
    tlr_status st = TLR_OK;
    if (strcmp(tlr_json_get_string(j, "format", ""), PART_FORMAT) != 0)
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: part.json is not a --shard result", dir);
    if (!st && !(*ev = read_counts(j, dir, err)))
        st = err->code;
    if (!st) {
        read_meta(j, meta);
        part_reader R = { dir, tlr_json_get(j, "files"), err };
        st = read_kept(&R, j, *ev);
    }
    tlr_json_free(j);
    if (st) {
        tlr_eval_free(*ev);
        *ev = NULL;
        tlr_eval_part_meta_free(meta);
    }
    return st;
}
