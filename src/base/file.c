/* file.c - bounded whole-file read and mkdir -p. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"

/* Opens 'path' for reading without blocking: opening a FIFO with no writer would otherwise
 * wait forever before fstat could tell it is not a regular file. */
static FILE *open_nonblocking(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}

char *tlr_file_read(const char *path, size_t max, size_t *len, tlr_err *err)
{
    FILE *f = open_nonblocking(path);
    if (!f) {
        tlr_err_set(err, TLR_E_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *data = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        tlr_err_set(err, TLR_E_IO, "%s: not a regular file", path);
    } else if ((unsigned long long)st.st_size > (unsigned long long)max) {
        tlr_err_set(err, TLR_E_LIMIT, "%s: file of %lld bytes exceeds the limit of %zu bytes",
                    path, (long long)st.st_size, max);
    } else {
        size_t n = (size_t)st.st_size;
        data = tlr_xmalloc(n + 1);
        if (fread(data, 1, n, f) != n) {
            tlr_err_set(err, TLR_E_IO, "%s: read failed: %s", path,
                        ferror(f) ? strerror(errno) : "file shrank while reading");
            free(data);
            data = NULL;
        } else {
            data[n] = '\0';
            *len = n;
        }
    }
    fclose(f);
    return data;
}

/* Creates one directory; an existing directory is success, another file ENOTDIR. */
static int mkdir_one(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    errno = ENOTDIR;
    return -1;
}

/* Creates every prefix of 'p' that ends before a '/', and 'p' itself when 'whole'. */
static tlr_status mkdirs(const char *path, int whole, tlr_err *err)
{
    char *p = tlr_xstrdup(path);
    tlr_status rc = TLR_OK;
    for (char *s = p + 1; rc == TLR_OK && *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir_one(p) != 0)
            rc = tlr_err_set(err, TLR_E_IO, "%s: cannot create directory: %s", p,
                             strerror(errno));
        *s = '/';
    }
    if (rc == TLR_OK && whole && p[0] && mkdir_one(p) != 0)
        rc = tlr_err_set(err, TLR_E_IO, "%s: cannot create directory: %s", p, strerror(errno));
    free(p);
    return rc;
}

tlr_status tlr_file_mkdirs(const char *path, tlr_err *err)
{
    return mkdirs(path, 1, err);
}

tlr_status tlr_file_mkdirs_for(const char *path, tlr_err *err)
{
    return mkdirs(path, 0, err);
}
