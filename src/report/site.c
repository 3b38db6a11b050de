/* site.c - all-or-nothing writing of the report directory (see site.h).
 *
 * Order of work: check every name, decide whether the target may be replaced, write everything
 * into a temporary sibling directory, then swap it into place.  On Linux the swap is one
 * renameat2(RENAME_EXCHANGE), so readers see either the old or the new report; on file systems
 * without it, two renames with a roll-back.
 *
 * Faults: a stop request (base/stop.h) during the write undoes it, and a temporary folder
 * left by a run that could not undo (SIGKILL, power loss) is removed by the next run into the
 * same parent directory.  Runs share the parent with a shared flock(2) on it while they have
 * temporary folders there; a run that gets the lock exclusively knows no other run is
 * writing, so every ".<base>.tmp-*" folder it sees is stale. */
#define _GNU_SOURCE /* renameat2, nftw */

#include "report/site.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/stop.h"
#include "base/xalloc.h"

#define MAX_COMPONENTS 4
#define MAX_COMPONENT 255
#define SANITIZED_MAX 100

/* ---- names ---- */

static int component_ok(const char *s, size_t n)
{
    if (n == 0 || n > MAX_COMPONENT || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return 1;
}

int tlr_site_name_is_safe(const char *name)
{
    if (!name || !name[0] || name[0] == '/')
        return 0;
    int parts = 0;
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!component_ok(p, n) || ++parts > MAX_COMPONENTS)
            return 0;
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

char *tlr_site_sanitize_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > SANITIZED_MAX)
        n = SANITIZED_MAX;
    char *out = tlr_xmalloc(n + 2);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
        out[i] = keep ? c : '_';
    }
    if (n == 0)
        out[n++] = '_';
    if (out[0] == '.')
        out[0] = '_';
    out[n] = '\0';
    return out;
}

/* ---- small file-system helpers ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Deletes a directory tree without following symbolic links; best effort. */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static tlr_status write_file(const char *path, const void *data, size_t len, tlr_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot create: %s", path, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return tlr_err_set(err, TLR_E_IO, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0)
        return tlr_err_set(err, TLR_E_IO, "%s: write failed: %s", path, strerror(errno));
    return TLR_OK;
}

/* Creates the directories between 'root' and the file 'name' (e.g. root/img for "img/a.png"). */
static tlr_status make_parents(const char *root, const char *name, tlr_err *err)
{
    tlr_status rc = TLR_OK;
    for (const char *s = strchr(name, '/'); s && rc == TLR_OK; s = strchr(s + 1, '/')) {
        char *dir = tlr_xasprintf("%s/%.*s", root, (int)(s - name), name);
        struct stat st;
        if (mkdir(dir, 0777) != 0 && !(errno == EEXIST && lstat(dir, &st) == 0 &&
                                       S_ISDIR(st.st_mode)))
            rc = tlr_err_set(err, TLR_E_USAGE, "site file '%s': '%.*s' is also a file name",
                             name, (int)(s - name), name);
        free(dir);
    }
    return rc;
}

/* ---- deciding about the target ---- */

typedef enum { TARGET_NEW, TARGET_REPLACE } target_state;

/* 1 when the directory holds nothing but "." and "..", 0 otherwise, -1 on error. */
static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int empty = 1;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

static tlr_status check_target(const char *out, int force, target_state *state, tlr_err *err)
{
    struct stat st;
    if (lstat(out, &st) != 0) {
        if (errno == ENOENT) {
            *state = TARGET_NEW;
            return TLR_OK;
        }
        return tlr_err_set(err, TLR_E_IO, "%s: %s", out, strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
        return tlr_err_set(err, TLR_E_USAGE,
                           "%s: is a symbolic link; tlreport will not replace it (choose "
                           "another -o directory)", out);
    if (!S_ISDIR(st.st_mode))
        return tlr_err_set(err, TLR_E_USAGE, "%s: exists and is not a directory", out);
    *state = TARGET_REPLACE;
    if (force)
        return TLR_OK;
    int empty = dir_is_empty(out);
    if (empty < 0)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot read directory: %s", out, strerror(errno));
    char *marker = tlr_xasprintf("%s/%s", out, TLR_SITE_MARKER);
    int marked = lstat(marker, &st) == 0 && S_ISREG(st.st_mode);
    free(marker);
    if (empty || marked)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_USAGE,
                       "%s: directory exists, is not empty and was not written by tlreport "
                       "(no %s file); use --force to replace it, or choose another -o directory",
                       out, TLR_SITE_MARKER);
}

/* 1 when 'name' is one of our temporary folders for target 'base': ".<base>.tmp-XXXXXX",
 * optionally followed by "-old" (the fallback swap's aside). */
static int is_temp_of(const char *name, const char *base)
{
    size_t b = strlen(base);
    if (name[0] != '.' || strncmp(name + 1, base, b) != 0 || strncmp(name + 1 + b, ".tmp-", 5))
        return 0;
    const char *rest = name + 1 + b + 5;
    return strlen(rest) == 6 || (strlen(rest) == 10 && strcmp(rest + 6, "-old") == 0);
}

/* Removes the temporary folders of 'base' in 'parent'; only called with the exclusive lock. */
static void remove_stale(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (!is_temp_of(e->d_name, base))
            continue;
        char *path = tlr_xasprintf("%s/%s", parent, e->d_name);
        remove_tree(path);
        free(path);
    }
    if (d)
        closedir(d);
}

/* Takes the parent's shared lock for the write, first cleaning up stale temporary folders
 * when no other run holds it.  Returns the lock's descriptor (close() releases it), or -1
 * when the parent cannot be locked (then nothing is cleaned and nothing is locked). */
static int lock_parent(const char *parent, const char *base)
{
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        remove_stale(parent, base);
    while (flock(fd, LOCK_SH) != 0 && errno == EINTR)
        ;
    return fd;
}

/* A stop request turned into the error that undoes the write. */
static tlr_status check_stop(tlr_err *err)
{
    int sig = tlr_stop_requested();
    if (!sig)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_IO, "stopped by signal %d (%s) while writing the report; "
                       "the previous one is kept", sig, strsignal(sig));
}

static tlr_status check_names(const tlr_site_file *files, int n, tlr_err *err)
{
    for (int i = 0; i < n; i++) {
        if (!tlr_site_name_is_safe(files[i].name))
            return tlr_err_set(err, TLR_E_USAGE,
                               "site file name '%s' is not safe (relative path without '..', "
                               "leading dots or control characters expected)",
                               files[i].name ? files[i].name : "(null)");
        if (!files[i].data && files[i].len > 0)
            return tlr_err_set(err, TLR_E_USAGE, "site file '%s' has no data", files[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(files[i].name, files[j].name) == 0)
                return tlr_err_set(err, TLR_E_USAGE, "site file '%s' is given twice",
                                   files[i].name);
    }
    return TLR_OK;
}

/* ---- writing ---- */

static tlr_status fill_dir(const char *tmp, const tlr_site_file *files, int n, tlr_err *err)
{
    static const char marker_text[] = "tlreport\n";
    for (int i = 0; i < n; i++) {
        tlr_status rc = make_parents(tmp, files[i].name, err);
        if (rc != TLR_OK)
            return rc;
        char *path = tlr_xasprintf("%s/%s", tmp, files[i].name);
        rc = write_file(path, files[i].data, files[i].len, err);
        free(path);
        if (rc == TLR_OK)
            rc = check_stop(err);
        if (rc != TLR_OK)
            return rc;
    }
    char *marker = tlr_xasprintf("%s/%s", tmp, TLR_SITE_MARKER);
    tlr_status rc = write_file(marker, marker_text, sizeof marker_text - 1, err);
    free(marker);
    return rc;
}

/* Puts the finished 'tmp' at 'out'.  For an existing 'out', the old tree ends up at 'tmp'
 * (swap) or at '<tmp>-old', and '*old' names it for removal. */
static tlr_status swap_in(const char *tmp, const char *out, target_state state, char **old,
                          tlr_err *err)
{
    *old = NULL;
    if (state == TARGET_NEW) {
        if (rename(tmp, out) != 0)
            return tlr_err_set(err, TLR_E_IO, "%s: cannot move the new report into place: %s",
                               out, strerror(errno));
        return TLR_OK;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) {
        *old = tlr_xstrdup(tmp);
        return TLR_OK;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot replace directory: %s", out,
                           strerror(errno));
    /* No atomic exchange here: move the old tree aside, then the new one in, undoing the
     * first step if the second fails. */
    char *aside = tlr_xasprintf("%s-old", tmp);
    if (rename(out, aside) != 0) {
        int e = errno;
        free(aside);
        return tlr_err_set(err, TLR_E_IO, "%s: cannot move the old report aside: %s", out,
                           strerror(e));
    }
    if (rename(tmp, out) != 0) {
        int e = errno;
        rename(aside, out);
        free(aside);
        return tlr_err_set(err, TLR_E_IO, "%s: cannot move the new report into place: %s", out,
                           strerror(e));
    }
    *old = aside;
    return TLR_OK;
}

/* Splits 'out_dir' (trailing slashes removed) into a parent directory and a base name. */
static tlr_status split_target(const char *out_dir, char **out, char **parent, tlr_err *err)
{
    size_t n = out_dir ? strlen(out_dir) : 0;
    while (n > 1 && out_dir[n - 1] == '/')
        n--;
    if (n == 0)
        return tlr_err_set(err, TLR_E_USAGE, "no output directory given");
    char *o = tlr_xstrndup(out_dir, n);
    char *slash = strrchr(o, '/');
    const char *base = slash ? slash + 1 : o;
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        tlr_err_set(err, TLR_E_USAGE,
                    "%s: the output must be a directory that tlreport can replace as a whole, "
                    "not '.', '..' or '/'", out_dir);
        free(o);
        return TLR_E_USAGE;
    }
    *parent = slash ? (slash == o ? tlr_xstrdup("/") : tlr_xstrndup(o, (size_t)(slash - o)))
                    : tlr_xstrdup(".");
    *out = o;
    return TLR_OK;
}

tlr_status tlr_site_write(const char *out_dir, const tlr_site_file *files, int n_files,
                          int force, tlr_err *err)
{
    char *out = NULL, *parent = NULL, *tmp = NULL, *old = NULL;
    int lock = -1;
    target_state state = TARGET_NEW;
    tlr_status rc = split_target(out_dir, &out, &parent, err);
    if (rc == TLR_OK)
        rc = check_names(files, n_files, err);
    if (rc == TLR_OK)
        rc = check_target(out, force, &state, err);
    if (rc == TLR_OK)
        rc = tlr_file_mkdirs(parent, err);
    if (rc != TLR_OK)
        goto out;
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    tlr_stop_defer(1);
    lock = lock_parent(parent, base);
    tmp = tlr_xasprintf("%s/.%s.tmp-XXXXXX", strcmp(parent, "/") == 0 ? "" : parent, base);
    if (!mkdtemp(tmp)) {
        rc = tlr_err_set(err, TLR_E_IO, "%s: cannot create a temporary directory: %s", parent,
                         strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    /* mkdtemp makes the directory private (0700); a report is meant to be shared. */
    chmod(tmp, 0755);
    rc = fill_dir(tmp, files, n_files, err);
    if (rc == TLR_OK)
        rc = check_stop(err);
    if (rc == TLR_OK)
        rc = swap_in(tmp, out, state, &old, err);
    if (rc != TLR_OK)
        remove_tree(tmp);
    else if (old)
        remove_tree(old); /* the previous report; best effort, the new one is in place */
out:
    if (lock >= 0)
        close(lock);
    tlr_stop_defer(0);
    free(out);
    free(parent);
    free(tmp);
    free(old);
    return rc;
}
