/* zipio.c - zip members into memory, with size limits checked before allocating. */
#include "io/zipio.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "base/xalloc.h"

#define TLR_LIBZIP_SONAME "libzip.so.4"

/* libzip is loaded on the first zip archive, not at start: with libcrypto and libbz2 behind
 * it, it cost every run ~3 ms of start-up (page faults), and most runs read .h5 files. */
#define ZIP_FUNCS(X)                                                                        \
    X(zip_discard) X(zip_error_fini) X(zip_error_init) X(zip_error_init_with_code)          \
    X(zip_error_strerror) X(zip_fclose) X(zip_fopen) X(zip_fread) X(zip_get_name)           \
    X(zip_get_num_entries) X(zip_name_locate) X(zip_open) X(zip_open_from_source)           \
    X(zip_source_buffer_create) X(zip_source_free) X(zip_stat) X(zip_stat_init)             \
    X(zip_strerror)

#define ZIP_DECLARE(f) static __typeof__(f) *f##_p;
ZIP_FUNCS(ZIP_DECLARE)

static pthread_once_t zip_once = PTHREAD_ONCE_INIT;
static const char *zip_missing; /* why libzip is unusable, or NULL */

static void zip_load_once(void)
{
    void *lib = dlopen(TLR_LIBZIP_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        zip_missing = "is not installed (Debian package libzip4)";
        return;
    }
#define ZIP_RESOLVE(f)                              \
    if (!(*(void **)&f##_p = dlsym(lib, #f)))       \
        zip_missing = "lacks a function tlreport uses";
    ZIP_FUNCS(ZIP_RESOLVE)
}

static tlr_status zip_load(const char *label, tlr_err *err)
{
    pthread_once(&zip_once, zip_load_once);
    if (zip_missing)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot read the zip archive: %s %s", label,
                           TLR_LIBZIP_SONAME, zip_missing);
    return TLR_OK;
}

struct tlr_zip {
    zip_t *za;
    char *label;
};

int tlr_zip_is_zip(const void *buf, size_t len)
{
    return len >= 4 && memcmp(buf, "PK\3\4", 4) == 0;
}

static tlr_zip *wrap(zip_t *za, const char *label)
{
    tlr_zip *z = tlr_xcalloc(1, sizeof *z);
    z->za = za;
    z->label = tlr_xstrdup(label);
    return z;
}

tlr_zip *tlr_zip_open(const char *path, tlr_err *err)
{
    if (zip_load(path, err))
        return NULL;
    int code = 0;
    zip_t *za = zip_open_p(path, ZIP_RDONLY, &code);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code_p(&ze, code);
        tlr_err_set(err, TLR_E_FORMAT, "%s: not a readable zip archive (%s)", path,
                    zip_error_strerror_p(&ze));
        zip_error_fini_p(&ze);
        return NULL;
    }
    return wrap(za, path);
}

tlr_zip *tlr_zip_open_buffer(const void *buf, size_t len, const char *label, tlr_err *err)
{
    if (zip_load(label, err))
        return NULL;
    zip_error_t ze;
    zip_error_init_p(&ze);
    zip_source_t *src = zip_source_buffer_create_p(buf, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source_p(src, ZIP_RDONLY, &ze) : NULL;
    if (!za) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: not a readable zip archive (%s)", label,
                    zip_error_strerror_p(&ze));
        if (src)
            zip_source_free_p(src);
        zip_error_fini_p(&ze);
        return NULL;
    }
    zip_error_fini_p(&ze);
    return wrap(za, label);
}

void tlr_zip_close(tlr_zip *z)
{
    if (!z)
        return;
    zip_discard_p(z->za);
    free(z->label);
    free(z);
}

tlr_status tlr_zip_list(tlr_zip *z, tlr_strlist *out, tlr_err *err)
{
    zip_int64_t n = zip_get_num_entries_p(z->za, 0);
    if (n < 0)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: cannot list the archive", z->label);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name_p(z->za, (zip_uint64_t)i, 0);
        if (name)
            tlr_strlist_push(out, name);
    }
    return TLR_OK;
}

size_t tlr_zip_size(tlr_zip *z, const char *name)
{
    zip_stat_t st;
    zip_stat_init_p(&st);
    if (zip_stat_p(z->za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return 0;
    return (size_t)st.size;
}

int tlr_zip_has(tlr_zip *z, const char *name)
{
    return zip_name_locate_p(z->za, name, 0) >= 0;
}

void *tlr_zip_read(tlr_zip *z, const char *name, size_t max_bytes, size_t *len, tlr_err *err)
{
    zip_stat_t st;
    zip_stat_init_p(&st);
    if (zip_stat_p(z->za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: archive member '%s' is missing", z->label, name);
        return NULL;
    }
    if (st.size > max_bytes) {
        tlr_err_set(err, TLR_E_LIMIT, "%s: archive member '%s' is %llu bytes (limit %zu)", z->label,
                    name, (unsigned long long)st.size, max_bytes);
        return NULL;
    }
    /* Deflate cannot expand more than about 1032:1 and a stored member not at all, so a size
     * beyond that is a lie (a zip bomb's header): refuse it before allocating that much. */
    if ((st.valid & ZIP_STAT_COMP_SIZE) && (st.valid & ZIP_STAT_COMP_METHOD) &&
        ((st.comp_method == ZIP_CM_STORE && st.size > st.comp_size) ||
         (st.comp_method == ZIP_CM_DEFLATE && st.size / 1032 > st.comp_size + 1024))) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: archive member '%s' claims %llu bytes from %llu "
                    "compressed bytes, more than its compression allows", z->label, name,
                    (unsigned long long)st.size, (unsigned long long)st.comp_size);
        return NULL;
    }
    zip_file_t *f = zip_fopen_p(z->za, name, 0);
    if (!f) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot read archive member '%s' (%s)", z->label, name,
                    zip_strerror_p(z->za));
        return NULL;
    }
    char *buf = tlr_xmalloc((size_t)st.size + 1);
    zip_int64_t got = zip_fread_p(f, buf, st.size);
    zip_fclose_p(f);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        tlr_err_set(err, TLR_E_FORMAT, "%s: archive member '%s' is damaged", z->label, name);
        return NULL;
    }
    buf[st.size] = '\0';
    *len = (size_t)st.size;
    return buf;
}
