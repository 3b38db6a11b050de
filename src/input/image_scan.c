/* image_scan.c - recursive listing of image files, filtered by magic bytes. */
#include "input/image_scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "io/image_io.h"

typedef struct {
    char **items;
    int n, cap;
} str_list;

static void list_push(str_list *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = tlr_xrealloc(l->items, sizeof *l->items * (size_t)l->cap);
    }
    l->items[l->n++] = s;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts l->items[from..] bytewise. */
static void sort_tail(str_list *l, int from)
{
    if (l->n - from > 1)
        qsort(l->items + from, (size_t)(l->n - from), sizeof *l->items, cmp_paths);
}

/* 1 when the file starts like a PNG or JPEG, 0 when not, -1 when it cannot be read
 * (errno set). */
static int has_image_magic(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char head[8];
    size_t n = fread(head, 1, sizeof head, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        errno = EIO;
        return -1;
    }
    return tlr_image_sniff(head, n) != TLR_IMAGE_UNKNOWN;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] == '/';
    return tlr_xasprintf("%s%s%s", dir, slash ? "" : "/", name);
}

/* Adds the images under 'dir' (unsorted) to 'files'. Problems become warnings. */
static void walk(const char *dir, str_list *files, str_list *warnings)
{
    DIR *d = opendir(dir);
    if (!d) {
        list_push(warnings, tlr_xasprintf("%s: cannot open folder: %s, skipped", dir,
                                          strerror(errno)));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') /* ".", "..", and hidden files such as .DS_Store */
            continue;
        char *path = join_path(dir, e->d_name);
        struct stat st, lst;
        if (lstat(path, &lst) != 0 || stat(path, &st) != 0) {
            list_push(warnings, tlr_xasprintf("%s: %s, skipped", path, strerror(errno)));
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            /* Symbolic links to folders are not followed: they can form cycles. */
            if (S_ISLNK(lst.st_mode))
                list_push(warnings,
                          tlr_xasprintf("%s: symbolic link to a folder, skipped", path));
            else
                walk(path, files, warnings);
            free(path);
            continue;
        }
        int magic = S_ISREG(st.st_mode) ? has_image_magic(path) : 0;
        if (magic == 1) {
            list_push(files, path);
            continue;
        }
        if (magic < 0)
            list_push(warnings, tlr_xasprintf("%s: cannot read: %s, skipped", path,
                                              strerror(errno)));
        else
            list_push(warnings, tlr_xasprintf("%s: not a PNG or JPEG image, skipped", path));
        free(path);
    }
    closedir(d);
}

/* Adds one command-line argument: a file or a whole folder. */
static tlr_status scan_one(const char *path, str_list *files, str_list *warnings, tlr_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return tlr_err_set(err, TLR_E_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        int first = files->n, first_warning = warnings->n;
        walk(path, files, warnings);
        sort_tail(files, first);
        sort_tail(warnings, first_warning); /* reports must not depend on readdir order */
        return TLR_OK;
    }
    int magic = S_ISREG(st.st_mode) ? has_image_magic(path) : 0;
    if (magic < 0)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot read: %s", path, strerror(errno));
    if (magic == 0)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: not a PNG or JPEG image", path);
    list_push(files, tlr_xstrdup(path));
    return TLR_OK;
}

tlr_status tlr_image_scan(const char *const *paths, int n, char ***files, int *nfiles,
                          char ***warnings, int *nwarnings, tlr_err *err)
{
    str_list f = {0}, w = {0};
    tlr_status st = TLR_OK;
    for (int i = 0; i < n && st == TLR_OK; i++)
        st = scan_one(paths[i], &f, &w, err);
    if (st != TLR_OK) {
        tlr_image_scan_free(f.items, f.n);
        f = (str_list){0};
    }
    *files = f.items;
    *nfiles = f.n;
    if (warnings && st == TLR_OK) {
        *warnings = w.items;
        *nwarnings = w.n;
    } else {
        tlr_image_scan_free(w.items, w.n);
        if (warnings) {
            *warnings = NULL;
            *nwarnings = 0;
        }
    }
    return st;
}

void tlr_image_scan_free(char **list, int n)
{
    if (!list)
        return;
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}
