/* h5file.c - HDF5 access for Keras files.  Every HDF5 call's failure becomes a tlr_err that
 * names the file and the object path; HDF5's automatic error printing is disabled. */
#include "io/h5file.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "io/h5guard.h"

struct tlr_h5 {
    hid_t file;
    char *label;
};

static const unsigned char h5_signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

int tlr_h5_is_hdf5(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    /* The superblock may follow a user block of 512, 1024, 2048, ... bytes. */
    for (size_t off = 0; off + 8 <= len; off = off ? off * 2 : 512)
        if (memcmp(p + off, h5_signature, 8) == 0)
            return 1;
    return 0;
}

static void quiet_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* The innermost HDF5 error description, for messages ("truncated file", ...). */
static herr_t last_error_cb(unsigned n, const H5E_error2_t *e, void *ctx)
{
    (void)n;
    char *dst = ctx;
    if (e->desc && e->desc[0])
        snprintf(dst, 256, "%s", e->desc);
    return 0;
}

static const char *hdf5_reason(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, last_error_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

static tlr_h5 *wrap(hid_t file, const char *label)
{
    tlr_h5 *h = tlr_xcalloc(1, sizeof *h);
    h->file = file;
    h->label = tlr_xstrdup(label);
    return h;
}

/* ---- probing in a child process ------------------------------------------------------------
 * libhdf5 1.10 trusts heap IDs and attribute tables stored in the file; a crafted file can make
 * it crash or read out of bounds while decoding attributes (tests/fuzz/README.md, H7/H8), and
 * only libhdf5 decodes those structures.  So before the file is used, a child process reads
 * every attribute of every object the way the loader will; if that child dies, the file is
 * refused with an error instead of taking tlreport down.  TLR_NO_FORK=1 skips the probe. */

#define PROBE_MAX_OBJECTS 100000
#define PROBE_MAX_DEPTH 64   /* groups below groups */
#define PROBE_MAX_SKIPS 1000 /* damaged entries skipped in one listing */

static tlr_status read_string_elems(tlr_h5 *h, hid_t a, const char *where, tlr_strlist *out,
                                    tlr_err *err);

typedef struct {
    tlr_h5 *h;
    long objects;
    int depth;
    int out_of_memory;       /* libhdf5 could not allocate what an attribute claims */
    haddr_t *seen;           /* visited object addresses (open addressing, HADDR_UNDEF free) */
    size_t n_seen, cap_seen;
} probe_ctx;

static herr_t resource_error_cb(unsigned n, const H5E_error2_t *e, void *ctx)
{
    (void)n;
    if (e->maj_num == H5E_RESOURCE)
        *(int *)ctx = 1;
    return 0;
}

/* 1 when the current HDF5 error stack holds an allocation failure; clears the stack. */
static int hdf5_out_of_memory(void)
{
    int oom = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, resource_error_cb, &oom);
    H5Eclear2(H5E_DEFAULT);
    return oom;
}

static herr_t probe_attr(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    (void)info;
    probe_ctx *P = ctx;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Eclear2(H5E_DEFAULT);
    if (H5Tget_class(t) == H5T_STRING) {
        tlr_strlist l = TLR_STRLIST_INIT;
        if (read_string_elems(P->h, a, name, &l, NULL) == TLR_E_LIMIT)
            P->out_of_memory = 1;
        tlr_strlist_free(&l);
    } else if (n > 0 && n <= (1 << 20)) {
        double *v = malloc((size_t)n * sizeof *v);
        if (v)
            H5Aread(a, H5T_NATIVE_DOUBLE, v);
        free(v);
    }
    if (hdf5_out_of_memory())
        P->out_of_memory = 1;
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

/* Adds an object address to the set of visited ones; 0 when it was there already. */
static int probe_seen_add(probe_ctx *P, haddr_t addr)
{
    if ((P->n_seen + 1) * 2 > P->cap_seen) {
        size_t cap = P->cap_seen ? P->cap_seen * 2 : 1024;
        haddr_t *slots = tlr_xmalloc(cap * sizeof *slots);
        for (size_t i = 0; i < cap; i++)
            slots[i] = HADDR_UNDEF;
        for (size_t i = 0; i < P->cap_seen; i++) {
            if (P->seen[i] == HADDR_UNDEF)
                continue;
            size_t j = (size_t)(P->seen[i] * 0x9E3779B97F4A7C15ULL) & (cap - 1);
            while (slots[j] != HADDR_UNDEF)
                j = (j + 1) & (cap - 1);
            slots[j] = P->seen[i];
        }
        free(P->seen);
        P->seen = slots;
        P->cap_seen = cap;
    }
    size_t j = (size_t)(addr * 0x9E3779B97F4A7C15ULL) & (P->cap_seen - 1);
    for (; P->seen[j] != HADDR_UNDEF; j = (j + 1) & (P->cap_seen - 1))
        if (P->seen[j] == addr)
            return 0;
    P->seen[j] = addr;
    P->n_seen++;
    return 1;
}

static void probe_location(hid_t obj, probe_ctx *P);

static herr_t probe_link(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    probe_ctx *P = ctx;
    if (P->objects >= PROBE_MAX_OBJECTS)
        return 1; /* stop this listing; the callers stop too */
    if (info->type != H5L_TYPE_HARD)
        return 0;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    probe_location(obj, P);
    H5Oclose(obj);
    return 0;
}

/* Probes the attributes of 'obj' and, for a group, of everything below it.  Unlike
 * H5Ovisit, which stops at the first damaged entry, a failure skips only that entry: the
 * loader may still reach the objects after it. */
static void probe_location(hid_t obj, probe_ctx *P)
{
    H5O_info_t oi;
    if (P->objects >= PROBE_MAX_OBJECTS)
        return;
    if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) < 0 ||
        !probe_seen_add(P, oi.addr)) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    P->objects++;
    hsize_t idx = 0;
    for (int fails = 0; idx < oi.num_attrs && fails < PROBE_MAX_SKIPS; fails++, idx++)
        if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, probe_attr, P) >= 0)
            break;
    H5Eclear2(H5E_DEFAULT);
    H5G_info_t gi;
    if (oi.type != H5O_TYPE_GROUP || P->depth >= PROBE_MAX_DEPTH || H5Gget_info(obj, &gi) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    P->depth++;
    idx = 0;
    for (int fails = 0; idx < gi.nlinks && fails < PROBE_MAX_SKIPS; fails++, idx++)
        if (H5Literate(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, probe_link, P) >= 0)
            break;
    H5Eclear2(H5E_DEFAULT);
    P->depth--;
}

#if defined(__SANITIZE_ADDRESS__)
#define PROBE_NO_MEMORY_CAP 1 /* AddressSanitizer reserves terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROBE_NO_MEMORY_CAP 1
#endif
#endif

/* Caps the probe child's address space at what it has plus 1 GiB plus 4x the file: attribute
 * values come from the file, so a real file needs far less, while a crafted length field (a
 * "19 GB" string) would otherwise have libhdf5 allocate and touch it all before failing.
 * With the cap the allocation fails at once and libhdf5 returns an error. */
static void cap_probe_memory(const char *path, size_t len)
{
#ifndef PROBE_NO_MEMORY_CAP
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (!f)
        return;
    int ok = fscanf(f, "%llu", &pages) == 1;
    fclose(f);
    if (!ok)
        return;
    struct stat sb;
    if (path && stat(path, &sb) == 0)
        len = (size_t)sb.st_size;
    unsigned long long have = pages * (unsigned long long)sysconf(_SC_PAGESIZE);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(have + (1ULL << 30) + 4ULL * len);
    setrlimit(RLIMIT_AS, &rl);
#else
    (void)path;
    (void)len;
#endif
}

/* Opens the file (path, or image when buf is set) in a child, reads all attributes, exits 0.
 * Returns 1 when the child finished, 0 when it crashed, -1 when there is no child to ask. */
static int probe_survives(const char *path, const void *buf, size_t len, const char *label)
{
    const char *nf = getenv("TLR_NO_FORK");
    if (nf && strcmp(nf, "0") != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* a sanitizer's report of a libhdf5 fault is the parent's answer */
        quiet_hdf5();
        cap_probe_memory(path, len);
        hid_t file = buf ? H5LTopen_file_image((void *)buf, len, 0)
                         : H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file >= 0) {
            tlr_h5 h = { file, (char *)label };
            probe_ctx P = { .h = &h };
            probe_location(file, &P);
            if (P.out_of_memory)
                _exit(3); /* under the cap: a length no real file has */
        }
        _exit(0); /* no exit handlers: the child only answers whether it survived */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

tlr_h5 *tlr_h5_open(const char *path, tlr_err *err)
{
    quiet_hdf5();
    FILE *f = fopen(path, "rb");
    if (!f) {
        tlr_err_set(err, TLR_E_IO, "%s: cannot open file", path);
        return NULL;
    }
    unsigned char head[2048];
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (!tlr_h5_is_hdf5(head, got)) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: not an HDF5 file", path);
        return NULL;
    }
    /* damage that would make libhdf5 itself hang or read out of bounds (h5guard.h) */
    const char *damage = tlr_h5guard_check_file(path);
    if (damage) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", path, damage);
        return NULL;
    }
    if (probe_survives(path, NULL, 0, path) == 0) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (the HDF5 library fails on its "
                    "metadata: damaged or crafted file)", path);
        return NULL;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        char why[256];
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", path,
                    hdf5_reason(why)[0] ? why : "damaged or truncated file");
        return NULL;
    }
    return wrap(file, path);
}

tlr_h5 *tlr_h5_open_image(const void *buf, size_t len, const char *label, tlr_err *err)
{
    quiet_hdf5();
    if (!tlr_h5_is_hdf5(buf, len)) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: not an HDF5 file", label);
        return NULL;
    }
    const char *damage = tlr_h5guard_check(buf, len);
    if (damage) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", label, damage);
        return NULL;
    }
    if (probe_survives(NULL, buf, len, label) == 0) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (the HDF5 library fails on its "
                    "metadata: damaged or crafted file)", label);
        return NULL;
    }
    /* Flags 0: HDF5 copies the image, so 'buf' stays the caller's. */
    hid_t file = H5LTopen_file_image((void *)buf, len, 0);
    if (file < 0) {
        char why[256];
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", label,
                    hdf5_reason(why)[0] ? why : "damaged or truncated file");
        return NULL;
    }
    return wrap(file, label);
}

void tlr_h5_close(tlr_h5 *h)
{
    if (!h)
        return;
    H5Fclose(h->file);
    free(h->label);
    free(h);
}

const char *tlr_h5_label(const tlr_h5 *h)
{
    return h->label;
}

/* H5Oexists_by_name fails when an intermediate group is missing, so check each prefix. */
int tlr_h5_exists(tlr_h5 *h, const char *path)
{
    if (!path[0] || strcmp(path, "/") == 0)
        return 1;
    char *p = tlr_xstrdup(path);
    int ok = 1;
    for (char *s = p + (p[0] == '/'); ok; s++) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        htri_t l = H5Lexists(h->file, p, H5P_DEFAULT);
        if (l <= 0 || H5Oexists_by_name(h->file, p, H5P_DEFAULT) <= 0)
            ok = 0;
        if (!slash)
            break;
        *slash = '/';
        s = slash;
    }
    free(p);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

static int object_type(tlr_h5 *h, const char *path)
{
    if (!tlr_h5_exists(h, path))
        return -1;
    H5O_info_t info;
    if (H5Oget_info_by_name(h->file, path, &info, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    return (int)info.type;
}

int tlr_h5_is_group(tlr_h5 *h, const char *path)
{
    return object_type(h, path) == H5O_TYPE_GROUP;
}

int tlr_h5_is_dataset(tlr_h5 *h, const char *path)
{
    return object_type(h, path) == H5O_TYPE_DATASET;
}

int tlr_h5_has_attr(tlr_h5 *h, const char *obj, const char *name)
{
    if (!tlr_h5_exists(h, obj))
        return 0;
    htri_t r = H5Aexists_by_name(h->file, obj, name, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

/* ---- strings ----------------------------------------------------------------------------- */

/* Drops what a failed listing appended, so callers that free only on success leak nothing. */
static tlr_status strlist_rollback(tlr_strlist *l, size_t n, tlr_status st)
{
    if (st != TLR_OK)
        while (l->n > n)
            free(l->items[--l->n]);
    if (st != TLR_OK && l->n == 0) {
        free(l->items);
        l->items = NULL;
        l->cap = 0;
    }
    return st;
}

/* Reads all string elements of attribute 'a' (vlen or fixed) into 'out'. */
static tlr_status read_string_elems(tlr_h5 *h, hid_t a, const char *where, tlr_strlist *out,
                                    tlr_err *err)
{
    tlr_status st = TLR_OK;
    hid_t ftype = H5Aget_type(a), space = H5Aget_space(a), mtype = -1;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (ftype < 0 || space < 0 || n < 0) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: %s: unreadable attribute", h->label, where);
        goto out;
    }
    if (n > 10000000) {
        st = tlr_err_set(err, TLR_E_LIMIT, "%s: %s: %lld strings is too many", h->label, where,
                         (long long)n);
        goto out;
    }
    H5T_cset_t cset = H5Tget_cset(ftype);
    mtype = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mtype, cset == H5T_CSET_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    if (H5Tis_variable_str(ftype) > 0) {
        H5Tset_size(mtype, H5T_VARIABLE);
        char **v = tlr_xcalloc((size_t)n, sizeof *v);
        if (H5Aread(a, mtype, v) < 0) {
            st = hdf5_out_of_memory()
                     ? tlr_err_set(err, TLR_E_LIMIT, "%s: %s: string attribute claims more "
                                   "memory than there is (damaged or crafted file)", h->label, where)
                     : tlr_err_set(err, TLR_E_FORMAT, "%s: %s: cannot read string attribute",
                                   h->label, where);
        } else {
            for (hssize_t i = 0; i < n; i++)
                tlr_strlist_push(out, v[i] ? v[i] : "");
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, v);
        }
        free(v);
    } else {
        size_t sz = H5Tget_size(ftype);
        if (sz == 0 || sz > (1u << 26)) {
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: %s: bad string size", h->label, where);
            goto out;
        }
        if ((uint64_t)n * sz > ((uint64_t)1 << 28)) {
            st = tlr_err_set(err, TLR_E_LIMIT, "%s: %s: %lld strings of %zu bytes is too large",
                             h->label, where, (long long)n, sz);
            goto out;
        }
        H5Tset_size(mtype, sz);
        H5Tset_strpad(mtype, H5Tget_strpad(ftype));
        char *raw = tlr_xcalloc((size_t)n ? (size_t)n : 1, sz);
        if (H5Aread(a, mtype, raw) < 0) {
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: %s: cannot read string attribute",
                             h->label, where);
        } else {
            for (hssize_t i = 0; i < n; i++) {
                const char *s = raw + (size_t)i * sz;
                size_t len = strnlen(s, sz);
                if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
                    while (len && s[len - 1] == ' ')
                        len--;
                tlr_strlist_push_owned(out, tlr_xstrndup(s, len));
            }
        }
        free(raw);
    }
out:
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

static hid_t open_attr(tlr_h5 *h, const char *obj, const char *name)
{
    if (!tlr_h5_has_attr(h, obj, name))
        return -1;
    hid_t a = H5Aopen_by_name(h->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return a;
}

static void attr_where(char *buf, size_t cap, const char *obj, const char *name)
{
    if (!obj[0] || strcmp(obj, "/") == 0)
        snprintf(buf, cap, "attribute '%s'", name);
    else
        snprintf(buf, cap, "%s: attribute '%s'", obj, name);
}

char *tlr_h5_attr_string(tlr_h5 *h, const char *obj, const char *name, tlr_err *err)
{
    char where[512];
    attr_where(where, sizeof where, obj, name);
    hid_t a = open_attr(h, obj, name);
    if (a < 0) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: %s is missing", h->label, where);
        return NULL;
    }
    char *result = NULL;
    hid_t t = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0)
        H5Sclose(space);
    if (H5Tget_class(t) != H5T_STRING) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: %s is not a string", h->label, where);
    } else if (npoints != 1) {
        /* checked before reading: a hostile file may claim millions of strings */
        tlr_err_set(err, TLR_E_FORMAT, "%s: %s holds %lld strings, expected one", h->label,
                    where, (long long)npoints);
    } else {
        tlr_strlist l = TLR_STRLIST_INIT;
        if (read_string_elems(h, a, where, &l, err) == TLR_OK) {
            if (l.n == 1) {
                result = l.items[0];
                l.items[0] = NULL;
                l.n = 0;
            } else {
                tlr_err_set(err, TLR_E_FORMAT, "%s: %s holds %zu strings, expected one",
                            h->label, where, l.n);
            }
        }
        tlr_strlist_free(&l);
    }
    H5Tclose(t);
    H5Aclose(a);
    return result;
}

/* One attribute holding a list of names: strings, or an empty numeric array. */
static tlr_status read_name_list(tlr_h5 *h, hid_t a, const char *where, tlr_strlist *out,
                                 tlr_err *err)
{
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    if (cls == H5T_STRING)
        return read_string_elems(h, a, where, out, err);
    hid_t space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    /* np.asarray([]) is float64 of shape (0,): "no weights". */
    if (n == 0)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_FORMAT, "%s: %s is not a list of names", h->label, where);
}

static tlr_status attr_strings(tlr_h5 *h, const char *obj, const char *name, tlr_strlist *out,
                               tlr_err *err)
{
    char where[512];
    attr_where(where, sizeof where, obj, name);
    hid_t a = open_attr(h, obj, name);
    if (a >= 0) {
        tlr_status st = read_name_list(h, a, where, out, err);
        H5Aclose(a);
        return st;
    }
    /* Keras splits lists over 64512 bytes into name0, name1, ... until one is missing. */
    size_t len = strlen(name);
    char *chunk = tlr_xmalloc(len + 24);
    int found = 0;
    tlr_status st = TLR_OK;
    for (int k = 0; st == TLR_OK; k++) {
        snprintf(chunk, len + 24, "%s%d", name, k);
        hid_t c = open_attr(h, obj, chunk);
        if (c < 0)
            break;
        found = 1;
        attr_where(where, sizeof where, obj, chunk);
        st = read_name_list(h, c, where, out, err);
        H5Aclose(c);
    }
    free(chunk);
    if (!found) {
        attr_where(where, sizeof where, obj, name);
        return tlr_err_set(err, TLR_E_FORMAT, "%s: %s is missing", h->label, where);
    }
    return st;
}

tlr_status tlr_h5_attr_strings(tlr_h5 *h, const char *obj, const char *name, tlr_strlist *out,
                               tlr_err *err)
{
    size_t n0 = out->n;
    return strlist_rollback(out, n0, attr_strings(h, obj, name, out, err));
}

/* ---- datasets ---------------------------------------------------------------------------- */

static tlr_dtype classify(hid_t t, size_t *elem_size)
{
    *elem_size = H5Tget_size(t);
    switch (H5Tget_class(t)) {
    case H5T_FLOAT:
        return *elem_size == 4 ? TLR_DT_F32 : *elem_size == 8 ? TLR_DT_F64
             : *elem_size == 2 ? TLR_DT_F16 : TLR_DT_OTHER;
    case H5T_INTEGER:
        return H5Tget_sign(t) == H5T_SGN_NONE ? TLR_DT_UINT : TLR_DT_INT;
    case H5T_ENUM:
        return TLR_DT_BOOL; /* h5py stores numpy bool as an enum */
    case H5T_STRING:
        return TLR_DT_STRING;
    default:
        return TLR_DT_OTHER;
    }
}

const char *tlr_dtype_name(tlr_dtype t, size_t elem_size)
{
    switch (t) {
    case TLR_DT_F32: return "float32";
    case TLR_DT_F64: return "float64";
    case TLR_DT_F16: return "float16";
    case TLR_DT_INT:
        return elem_size == 1 ? "int8" : elem_size == 2 ? "int16" : elem_size == 4 ? "int32" : "int64";
    case TLR_DT_UINT:
        return elem_size == 1 ? "uint8" : elem_size == 2 ? "uint16" : elem_size == 4 ? "uint32" : "uint64";
    case TLR_DT_BOOL: return "bool";
    case TLR_DT_STRING: return "string";
    default: return "other";
    }
}

tlr_status tlr_h5_dataset_info(tlr_h5 *h, const char *path, tlr_h5_dsinfo *info,
                               tlr_err *err)
{
    memset(info, 0, sizeof *info);
    if (!tlr_h5_is_dataset(h, path))
        return tlr_err_set(err, TLR_E_FORMAT, "%s: dataset '%s' is missing", h->label, path);
    hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        return tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open dataset '%s'", h->label, path);
    }
    tlr_status st = TLR_OK;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    if (nd < 0 || nd > 8) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: dataset '%s' has %d dimensions", h->label, path, nd);
    } else {
        hsize_t dims[8];
        H5Sget_simple_extent_dims(s, dims, NULL);
        info->ndim = nd;
        info->numel = 1;
        for (int i = 0; i < nd; i++) {
            info->dims[i] = dims[i] > (hsize_t)INT64_MAX ? INT64_MAX : (int64_t)dims[i];
            if (info->numel >= 0)
                info->numel = dims[i] > (hsize_t)INT64_MAX ||
                              (dims[i] && info->numel > INT64_MAX / (int64_t)dims[i])
                            ? -1 : info->numel * (int64_t)dims[i];
        }
        info->dtype = classify(t, &info->elem_size);
        info->storage_bytes = H5Dget_storage_size(d);
        if (info->numel < 0)
            st = tlr_err_set(err, TLR_E_LIMIT, "%s: dataset '%s' is too large", h->label, path);
    }
    H5Sclose(s);
    H5Tclose(t);
    H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

tlr_status tlr_h5_dataset_read_f32(tlr_h5 *h, const char *path, float *out, int64_t numel,
                                   tlr_err *err)
{
    tlr_h5_dsinfo info;
    tlr_status st = tlr_h5_dataset_info(h, path, &info, err);
    if (st)
        return st;
    if (info.dtype != TLR_DT_F32 && info.dtype != TLR_DT_F64 && info.dtype != TLR_DT_F16)
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: dataset '%s' has type %s, expected floats",
                           h->label, path, tlr_dtype_name(info.dtype, info.elem_size));
    if (info.numel != numel)
        return tlr_err_set(err, TLR_E_SHAPE, "%s: dataset '%s' has %lld values, expected %lld",
                           h->label, path, (long long)info.numel, (long long)numel);
    hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT);
    herr_t r = d < 0 ? -1 : H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    if (r < 0) {
        char why[256];
        hdf5_reason(why);
        return tlr_err_set(err, TLR_E_FORMAT, "%s: dataset '%s': read failed%s%s%s", h->label,
                           path, why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    return TLR_OK;
}

/* ---- listing ----------------------------------------------------------------------------- */

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)g;
    (void)info;
    tlr_strlist_push(ctx, name);
    return 0;
}

tlr_status tlr_h5_children(tlr_h5 *h, const char *group, tlr_strlist *out, tlr_err *err)
{
    if (!tlr_h5_is_group(h, group))
        return tlr_err_set(err, TLR_E_FORMAT, "%s: group '%s' is missing", h->label, group);
    hsize_t idx = 0;
    size_t n0 = out->n;
    herr_t r = H5Literate_by_name(h->file, group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name,
                                  out, H5P_DEFAULT);
    if (r < 0) {
        H5Eclear2(H5E_DEFAULT);
        return strlist_rollback(out, n0, tlr_err_set(err, TLR_E_FORMAT, "%s: cannot list group "
                                                     "'%s'", h->label, group));
    }
    return TLR_OK;
}

/* Objects a walk may visit: hard links can make a group contain itself (twice, even), which
 * would otherwise take exponential time before the depth limit stops it. */
#define WALK_MAX_VISITS 100000

static tlr_status walk(tlr_h5 *h, const char *group, const char *rel, tlr_strlist *out, int depth,
                       long *visits, tlr_err *err)
{
    if (depth > 64)
        return tlr_err_set(err, TLR_E_LIMIT, "%s: groups nested too deeply under '%s'", h->label, group);
    tlr_strlist kids = TLR_STRLIST_INIT;
    tlr_status st = tlr_h5_children(h, group, &kids, err);
    for (size_t i = 0; st == TLR_OK && i < kids.n; i++) {
        int root = strcmp(group, "/") == 0;
        char *path = tlr_xasprintf("%s/%s", root ? "" : group, kids.items[i]);
        char *sub = rel[0] ? tlr_xasprintf("%s/%s", rel, kids.items[i]) : tlr_xstrdup(kids.items[i]);
        int type = object_type(h, path);
        if (++*visits > WALK_MAX_VISITS)
            st = tlr_err_set(err, TLR_E_LIMIT, "%s: more than %d objects (or a group that "
                             "contains itself) under '%s'", h->label, WALK_MAX_VISITS, group);
        else if (type == H5O_TYPE_DATASET)
            tlr_strlist_push(out, sub);
        else if (type == H5O_TYPE_GROUP)
            st = walk(h, path, sub, out, depth + 1, visits, err);
        free(path);
        free(sub);
    }
    tlr_strlist_free(&kids);
    return st;
}

tlr_status tlr_h5_datasets_under(tlr_h5 *h, const char *group, tlr_strlist *out, tlr_err *err)
{
    long visits = 0;
    size_t n0 = out->n;
    return strlist_rollback(out, n0, walk(h, group, "", out, 0, &visits, err));
}

/* ---- attribute descriptions -------------------------------------------------------------- */

static void describe_value(tlr_h5 *h, hid_t a, tlr_h5_attr *d)
{
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    int nd = H5Sget_simple_extent_ndims(s);
    H5T_class_t cls = H5Tget_class(t);
    size_t esz = H5Tget_size(t);
    if (cls == H5T_STRING) {
        int vlen = H5Tis_variable_str(t) > 0;
        const char *cs = H5Tget_cset(t) == H5T_CSET_UTF8 ? "UTF-8" : "ASCII";
        const char *pad = H5Tget_strpad(t) == H5T_STR_NULLTERM ? "NUL-terminated"
                        : H5Tget_strpad(t) == H5T_STR_NULLPAD ? "NUL-padded" : "space-padded";
        tlr_strlist l = TLR_STRLIST_INIT;
        tlr_err e;
        int ok = read_string_elems(h, a, d->name, &l, &e) == TLR_OK;
        uint64_t bytes = 0;
        for (size_t i = 0; i < l.n; i++)
            bytes += strlen(l.items[i]);
        d->bytes = bytes;
        if (vlen)
            d->type = nd == 0 ? tlr_xasprintf("string (variable-length, %s)", cs)
                              : tlr_xasprintf("string array [%lld] (variable-length, %s)", (long long)n, cs);
        else
            d->type = nd == 0 ? tlr_xasprintf("string[%zu] (fixed-length, %s, %s)", esz, cs, pad)
                              : tlr_xasprintf("string[%zu] array [%lld] (fixed-length, %s, %s)", esz,
                                              (long long)n, cs, pad);
        if (!ok)
            d->value = tlr_xstrdup("(unreadable)");
        else if (nd == 0 || l.n == 1)
            d->value = tlr_xstrdup(l.n ? l.items[0] : "");
        else
            d->value = tlr_xasprintf("%zu names", l.n);
        tlr_strlist_free(&l);
    } else {
        size_t dummy;
        tlr_dtype dt = classify(t, &dummy);
        d->type = n == 0 ? tlr_xasprintf("%s (0,) (empty array)", tlr_dtype_name(dt, esz))
                         : tlr_xasprintf("%s %s[%lld]", tlr_dtype_name(dt, esz), nd ? "array" : "scalar",
                                         (long long)n);
        d->bytes = (uint64_t)n * esz;
        if (n == 0) {
            d->value = tlr_xstrdup("(empty)");
        } else if (n == 1 && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
            double v = 0;
            if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0)
                d->value = tlr_xasprintf("%.17g", v);
        }
        if (!d->value)
            d->value = tlr_xasprintf("%lld values", (long long)n);
    }
    H5Sclose(s);
    H5Tclose(t);
    H5Eclear2(H5E_DEFAULT);
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    (void)loc;
    (void)info;
    tlr_strlist_push(ctx, name);
    return 0;
}

tlr_status tlr_h5_attrs(tlr_h5 *h, const char *obj, tlr_h5_attr **out, size_t *n, tlr_err *err)
{
    *out = NULL;
    *n = 0;
    if (!tlr_h5_exists(h, obj))
        return tlr_err_set(err, TLR_E_FORMAT, "%s: object '%s' is missing", h->label, obj);
    tlr_strlist names = TLR_STRLIST_INIT;
    hsize_t idx = 0;
    if (H5Aiterate_by_name(h->file, obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &names,
                           H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        tlr_strlist_free(&names);
        return tlr_err_set(err, TLR_E_FORMAT, "%s: cannot list attributes of '%s'", h->label, obj);
    }
    tlr_h5_attr *list = tlr_xcalloc(names.n ? names.n : 1, sizeof *list);
    for (size_t i = 0; i < names.n; i++) {
        list[i].name = tlr_xstrdup(names.items[i]);
        hid_t a = H5Aopen_by_name(h->file, obj, names.items[i], H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0) {
            list[i].type = tlr_xstrdup("?");
            list[i].value = tlr_xstrdup("(unreadable)");
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        describe_value(h, a, &list[i]);
        H5Aclose(a);
    }
    *out = list;
    *n = names.n;
    tlr_strlist_free(&names);
    return TLR_OK;
}

void tlr_h5_attrs_free(tlr_h5_attr *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].type);
        free(a[i].value);
    }
    free(a);
}

/* ---- writing ----------------------------------------------------------------------------- */

struct tlr_h5w {
    hid_t file;
    hid_t gcpl; /* groups: no timestamps */
    char *label;
};

/* Fills 'err' with "file: object: what (HDF5's reason)" and clears HDF5's error stack. */
static tlr_status w_fail(const tlr_h5w *w, const char *obj, const char *what, tlr_err *err)
{
    char why[256];
    hdf5_reason(why);
    return tlr_err_set(err, TLR_E_IO, "%s: %s: %s%s%s%s", w->label, obj[0] ? obj : "/", what,
                       why[0] ? " (" : "", why, why[0] ? ")" : "");
}

tlr_h5w *tlr_h5w_create(const char *path, tlr_err *err)
{
    quiet_hdf5();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    /* h5py's default bounds; the root group (created with the file) keeps no times either. */
    herr_t r = H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    if (r >= 0)
        r = H5Pset_obj_track_times(fcpl, 0);
    if (r >= 0)
        r = H5Pset_obj_track_times(gcpl, 0);
    hid_t file = r < 0 ? -1 : H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    char why[256];
    if (file < 0)
        hdf5_reason(why); /* before the next HDF5 call clears the error stack */
    H5Pclose(fapl);
    H5Pclose(fcpl);
    if (file < 0) {
        H5Pclose(gcpl);
        tlr_err_set(err, TLR_E_IO, "%s: cannot create HDF5 file%s%s%s", path, why[0] ? " (" : "",
                    why, why[0] ? ")" : "");
        return NULL;
    }
    tlr_h5w *w = tlr_xcalloc(1, sizeof *w);
    w->file = file;
    w->gcpl = gcpl;
    w->label = tlr_xstrdup(path);
    return w;
}

tlr_status tlr_h5w_close(tlr_h5w *w, tlr_err *err)
{
    if (!w)
        return TLR_OK;
    tlr_status st = TLR_OK;
    if (H5Fclose(w->file) < 0)
        st = w_fail(w, "", "cannot close (file may be incomplete)", err);
    H5Pclose(w->gcpl);
    free(w->label);
    free(w);
    return st;
}

/* Creates every missing group along 'path' up to (not including) byte 'upto' of it. */
static tlr_status w_make_groups(tlr_h5w *w, const char *path, size_t upto, tlr_err *err)
{
    char *p = tlr_xstrndup(path, upto);
    tlr_status st = TLR_OK;
    for (char *s = p; st == TLR_OK && *s; s++) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (p[0]) {
            htri_t there = H5Lexists(w->file, p, H5P_DEFAULT);
            if (there > 0) {
                H5O_info_t info;
                if (H5Oget_info_by_name(w->file, p, &info, H5P_DEFAULT) < 0 ||
                    info.type != H5O_TYPE_GROUP)
                    st = w_fail(w, p, "exists and is not a group", err);
            } else {
                hid_t g = there < 0 ? -1
                          : H5Gcreate2(w->file, p, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
                if (g < 0)
                    st = w_fail(w, p, "cannot create group", err);
                else
                    H5Gclose(g);
            }
        }
        if (!slash)
            break;
        *slash = '/';
        s = slash;
    }
    free(p);
    return st;
}

tlr_status tlr_h5w_group(tlr_h5w *w, const char *path, tlr_err *err)
{
    return w_make_groups(w, path, strlen(path), err);
}

/* Creates attribute 'name' of type 'type' and shape 'space' on 'obj' and writes 'buf'. */
static tlr_status w_attr(tlr_h5w *w, const char *obj, const char *name, hid_t type, hid_t space,
                         const void *buf, tlr_err *err)
{
    const char *where = obj[0] ? obj : "/";
    char what[512];
    tlr_status st = tlr_h5w_group(w, obj, err);
    if (st)
        return st;
    hid_t o = H5Oopen(w->file, where, H5P_DEFAULT);
    hid_t a = o < 0 ? -1 : H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, buf) < 0) {
        snprintf(what, sizeof what, "cannot write attribute '%s'", name);
        st = w_fail(w, where, what, err);
    }
    if (a >= 0)
        H5Aclose(a);
    if (o >= 0)
        H5Oclose(o);
    return st;
}

static hid_t w_string_type(tlr_h5w_cset cset, size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_cset(t, cset == TLR_H5W_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    H5Tset_strpad(t, size == H5T_VARIABLE ? H5T_STR_NULLTERM : H5T_STR_NULLPAD);
    return t;
}

tlr_status tlr_h5w_attr_string(tlr_h5w *w, const char *obj, const char *name, const char *value,
                               tlr_h5w_cset cset, tlr_err *err)
{
    hid_t t = w_string_type(cset, H5T_VARIABLE), s = H5Screate(H5S_SCALAR);
    tlr_status st = w_attr(w, obj, name, t, s, &value, err);
    H5Sclose(s);
    H5Tclose(t);
    return st;
}

tlr_status tlr_h5w_attr_strings(tlr_h5w *w, const char *obj, const char *name,
                                const char *const *values, size_t n, tlr_h5w_strform form,
                                tlr_err *err)
{
    TLR_ASSERT(n >= 1);
    hsize_t dim = n;
    hid_t s = H5Screate_simple(1, &dim, NULL), t;
    tlr_status st;
    if (form == TLR_H5W_VLEN) {
        t = w_string_type(TLR_H5W_ASCII, H5T_VARIABLE);
        st = w_attr(w, obj, name, t, s, values, err);
    } else {
        size_t longest = 1;
        for (size_t i = 0; i < n; i++)
            if (strlen(values[i]) > longest)
                longest = strlen(values[i]);
        /* NUL-padded: a name exactly 'longest' long has no terminator, as numpy 'S' stores it. */
        char *raw = tlr_xcalloc(n, longest);
        for (size_t i = 0; i < n; i++)
            memcpy(raw + i * longest, values[i], strlen(values[i]));
        t = w_string_type(TLR_H5W_ASCII, longest);
        st = w_attr(w, obj, name, t, s, raw, err);
        free(raw);
    }
    H5Tclose(t);
    H5Sclose(s);
    return st;
}

tlr_status tlr_h5w_attr_empty_f64(tlr_h5w *w, const char *obj, const char *name, tlr_err *err)
{
    hsize_t dim = 0;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    double unused = 0.0;
    tlr_status st = w_attr(w, obj, name, H5T_IEEE_F64LE, s, &unused, err);
    H5Sclose(s);
    return st;
}

/* Creates dataset 'path' (parents included); 'fill' non-NULL leaves it unwritten with that
 * fill value, otherwise 'data' (of 'mtype') is written.  'ftype' is the type in the file. */
static tlr_status w_dataset(tlr_h5w *w, const char *path, int ndim, const int64_t *dims,
                            hid_t ftype, hid_t mtype, const void *data, const float *fill,
                            tlr_err *err)
{
    TLR_ASSERT(ndim >= 0 && ndim <= 8);
    const char *slash = strrchr(path, '/');
    tlr_status st = slash ? w_make_groups(w, path, (size_t)(slash - path), err) : TLR_OK;
    if (st)
        return st;
    hsize_t hd[8];
    for (int i = 0; i < ndim; i++)
        hd[i] = (hsize_t)dims[i];
    hid_t space = ndim ? H5Screate_simple(ndim, hd, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    herr_t r = H5Pset_obj_track_times(dcpl, 0);
    if (r >= 0 && fill)
        r = H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, fill);
    hid_t d = r < 0 ? -1
              : H5Dcreate2(w->file, path, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
        st = w_fail(w, path, "cannot create dataset", err);
    else if (!fill && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = w_fail(w, path, "cannot write dataset", err);
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    return st;
}

tlr_status tlr_h5w_dataset_f32(tlr_h5w *w, const char *path, int ndim, const int64_t *dims,
                               const float *data, tlr_err *err)
{
    return w_dataset(w, path, ndim, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, NULL, err);
}

tlr_status tlr_h5w_dataset_f32_fill(tlr_h5w *w, const char *path, int ndim, const int64_t *dims,
                                    float fill, tlr_err *err)
{
    return w_dataset(w, path, ndim, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, NULL, &fill, err);
}

tlr_status tlr_h5w_dataset_i64(tlr_h5w *w, const char *path, int64_t value, tlr_err *err)
{
    return w_dataset(w, path, 0, NULL, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, NULL, err);
}
