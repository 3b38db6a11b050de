/* dataset.c - labelled image folders: classes, listing, slices and parallel loading. */
#include "input/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "input/image_scan.h"
#include "io/image_io.h"

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return tlr_xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* 1 when the regular file 'path' starts like a PNG or JPEG. */
static int looks_like_image(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char head[8];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return tlr_image_sniff(head, n) != TLR_IMAGE_UNKNOWN;
}

/* The subfolders of 'root' (sorted) into 'dirs'; returns -1 when 'root' is not a readable
 * folder, else the number of PNG/JPEG files directly inside it. */
static int list_subfolders(const char *root, tlr_strlist *dirs)
{
    DIR *d = opendir(root);
    if (!d)
        return -1;
    int images = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char *p = join(root, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            tlr_strlist_push(dirs, e->d_name);
        else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && looks_like_image(p))
            images++;
        free(p);
    }
    closedir(d);
    tlr_strlist_sort(dirs);
    return images;
}

int tlr_dataset_is_labelled(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    tlr_strlist dirs = TLR_STRLIST_INIT;
    int images = list_subfolders(path, &dirs);
    int yes = images == 0 && dirs.n >= 2;
    tlr_strlist_free(&dirs);
    return yes;
}

/* The class names: the labels when given (each folder must be one of them), else the
 * sorted folders. */
static tlr_status pick_classes(const char *root, const tlr_strlist *dirs,
                               const tlr_strlist *labels, tlr_strlist *classes, tlr_err *err)
{
    if (!labels || labels->n == 0) {
        for (size_t i = 0; i < dirs->n; i++)
            tlr_strlist_push(classes, dirs->items[i]);
        return TLR_OK;
    }
    for (size_t i = 0; i < dirs->n; i++)
        if (tlr_strlist_find(labels, dirs->items[i]) < 0)
            return tlr_err_set(err, TLR_E_USAGE, "%s: folder '%s' matches no class name of the "
                               "labels file (a folder per class, named as in --labels)",
                               root, dirs->items[i]);
    for (size_t i = 0; i < labels->n; i++)
        tlr_strlist_push(classes, labels->items[i]);
    return TLR_OK;
}

/* "ROOT/cat/x.png: ..." -> "cat/x.png: ..." (reports must not depend on where the data is). */
static char *relative_text(const char *root, const char *msg)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (strncmp(msg, root, n) == 0 && msg[n] == '/')
        return tlr_xstrdup(msg + n + 1);
    return tlr_xstrdup(msg);
}

/* Adds the images of class folder 'dir' (class 'cls') to the listing. */
static tlr_status add_class(tlr_dataset *ds, const char *dir, int cls, int64_t *cap, tlr_err *err)
{
    const char *paths[1] = { dir };
    char **files = NULL, **warn = NULL;
    int nf = 0, nw = 0;
    tlr_status st = tlr_image_scan(paths, 1, &files, &nf, &warn, &nw, err);
    if (st)
        return st;
    size_t root_len = strlen(ds->root);
    while (root_len > 1 && ds->root[root_len - 1] == '/')
        root_len--;
    for (int i = 0; i < nf; i++) {
        if (ds->n_items == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            ds->items = tlr_xrealloc(ds->items, (size_t)*cap * sizeof *ds->items);
        }
        tlr_dataset_item *it = &ds->items[ds->n_items++];
        it->path = files[i];
        it->rel = files[i] + root_len + 1;
        it->cls = cls;
        it->rank = i;
        files[i] = NULL;
    }
    for (int i = 0; i < nw; i++)
        tlr_strlist_push_owned(&ds->notes, relative_text(ds->root, warn[i]));
    tlr_image_scan_free(files, nf);
    tlr_image_scan_free(warn, nw);
    return TLR_OK;
}

static uint64_t fingerprint(const tlr_dataset *ds)
{
    uint64_t h = TLR_HASH_INIT;
    for (size_t i = 0; i < ds->classes.n; i++)
        h = tlr_hash_str(h, ds->classes.items[i]);
    for (int64_t i = 0; i < ds->n_items; i++) {
        h = tlr_hash_str(h, ds->items[i].rel);
        h = tlr_hash_bytes(h, &ds->items[i].cls, sizeof ds->items[i].cls);
    }
    for (size_t i = 0; i < ds->notes.n; i++)
        h = tlr_hash_str(h, ds->notes.items[i]);
    return h;
}

tlr_status tlr_dataset_scan(const char *root, const tlr_strlist *labels, tlr_dataset *out,
                            tlr_err *err)
{
    memset(out, 0, sizeof *out);
    out->root = tlr_xstrdup(root);
    tlr_strlist dirs = TLR_STRLIST_INIT;
    if (list_subfolders(root, &dirs) < 0) {
        tlr_status st = tlr_err_set(err, TLR_E_IO, "%s: cannot open folder: %s", root,
                                    strerror(errno));
        tlr_dataset_free(out);
        return st;
    }
    tlr_status st = pick_classes(root, &dirs, labels, &out->classes, err);
    int64_t cap = 0;
    for (size_t c = 0; c < out->classes.n && !st; c++) {
        if (tlr_strlist_find(&dirs, out->classes.items[c]) < 0)
            continue; /* a label without a folder: a class with no images */
        char *dir = join(root, out->classes.items[c]);
        st = add_class(out, dir, (int)c, &cap, err);
        free(dir);
    }
    tlr_strlist_sort(&out->notes);
    tlr_strlist_free(&dirs);
    if (st) {
        tlr_dataset_free(out);
        return st;
    }
    out->fingerprint = fingerprint(out);
    return TLR_OK;
}

void tlr_dataset_free(tlr_dataset *ds)
{
    for (int64_t i = 0; i < ds->n_items; i++)
        free(ds->items[i].path);
    free(ds->items);
    free(ds->root);
    tlr_strlist_free(&ds->classes);
    tlr_strlist_free(&ds->notes);
    memset(ds, 0, sizeof *ds);
}

void tlr_dataset_slice(const tlr_dataset *ds, int k, int n, int64_t *begin, int64_t *end)
{
    int64_t blocks = (ds->n_items + TLR_DATASET_BLOCK - 1) / TLR_DATASET_BLOCK;
    int64_t b0 = blocks * (k - 1) / n, b1 = blocks * k / n;
    *begin = b0 * TLR_DATASET_BLOCK;
    *end = b1 * TLR_DATASET_BLOCK < ds->n_items ? b1 * TLR_DATASET_BLOCK : ds->n_items;
}

void tlr_dataset_load(const tlr_dataset_item *items, int n, const tlr_shape *in,
                      const tlr_input_opts *o, tlr_input *out, tlr_err *errs)
{
    const char **paths = tlr_xcalloc((size_t)n + 1, sizeof *paths);
    for (int i = 0; i < n; i++)
        paths[i] = items[i].path;
    tlr_input_load_each(paths, n, in, o, out, errs);
    free(paths);
    for (int i = 0; i < n; i++) {
        const tlr_dataset_item *it = &items[i];
        tlr_err *e = &errs[i];
        if (e->code) {
            size_t skip = (size_t)(it->rel - it->path);
            if (strncmp(e->msg, it->path, strlen(it->path)) == 0) /* name it relative to root */
                memmove(e->msg, e->msg + skip, strlen(e->msg + skip) + 1);
            continue;
        }
        free(out[i].source);
        out[i].source = tlr_xstrdup(it->rel);
    }
}
