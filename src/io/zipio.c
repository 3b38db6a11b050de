/* zipio.c - zip members into memory, with size limits checked before allocating. */
#include "io/zipio.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "base/xalloc.h"

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
    int code = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &code);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        tlr_err_set(err, TLR_E_FORMAT, "%s: not a readable zip archive (%s)", path,
                    zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return NULL;
    }
    return wrap(za, path);
}

tlr_zip *tlr_zip_open_buffer(const void *buf, size_t len, const char *label, tlr_err *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!za) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: not a readable zip archive (%s)", label,
                    zip_error_strerror(&ze));
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return NULL;
    }
    zip_error_fini(&ze);
    return wrap(za, label);
}

void tlr_zip_close(tlr_zip *z)
{
    if (!z)
        return;
    zip_discard(z->za);
    free(z->label);
    free(z);
}

tlr_status tlr_zip_list(tlr_zip *z, tlr_strlist *out, tlr_err *err)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    if (n < 0)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: cannot list the archive", z->label);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, 0);
        if (name)
            tlr_strlist_push(out, name);
    }
    return TLR_OK;
}

size_t tlr_zip_size(tlr_zip *z, const char *name)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z->za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return 0;
    return (size_t)st.size;
}

int tlr_zip_has(tlr_zip *z, const char *name)
{
    return zip_name_locate(z->za, name, 0) >= 0;
}

void *tlr_zip_read(tlr_zip *z, const char *name, size_t max_bytes, size_t *len, tlr_err *err)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z->za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
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
    zip_file_t *f = zip_fopen(z->za, name, 0);
    if (!f) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot read archive member '%s' (%s)", z->label, name,
                    zip_strerror(z->za));
        return NULL;
    }
    char *buf = tlr_xmalloc((size_t)st.size + 1);
    zip_int64_t got = zip_fread(f, buf, st.size);
    zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        tlr_err_set(err, TLR_E_FORMAT, "%s: archive member '%s' is damaged", z->label, name);
        return NULL;
    }
    buf[st.size] = '\0';
    *len = (size_t)st.size;
    return buf;
}
