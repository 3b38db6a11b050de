/* h5file.c - HDF5 access for Keras files.  Every HDF5 call's failure becomes a tlr_err that
 * names the file and the object path; HDF5's automatic error printing is disabled. */
#include "io/h5file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "io/h5guard.h"
#include "io/h5lib.h"
#include "io/h5probe.h"

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

void tlr_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* The innermost HDF5 error description, for messages ("truncated file", ...). */
static herr_t last_error_cb(unsigned n, const H5E_error2_t *e, void *ctx)
{
    (void)n;
    char *dst = ctx;
    if (e->desc && e->desc[0])
        snprintf(dst, TLR_H5_REASON_MAX, "%s", e->desc);
    return 0;
}

const char *tlr_h5_reason(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, last_error_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

static herr_t resource_error_cb(unsigned n, const H5E_error2_t *e, void *ctx)
{
    (void)n;
    if (e->maj_num == H5E_RESOURCE)
        *(int *)ctx = 1;
    return 0;
}

int tlr_h5_out_of_memory(void)
{
    int oom = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, resource_error_cb, &oom);
    H5Eclear2(H5E_DEFAULT);
    return oom;
}

static tlr_h5 *wrap(hid_t file, const char *label, tlr_h5guard_map map)
{
    tlr_h5 *h = tlr_xcalloc(1, sizeof *h);
    h->file = file;
    h->label = tlr_xstrdup(label);
    h->map = map;
    return h;
}

/* What a path and an image share after the signature check: refuse damage that would make
 * libhdf5 itself hang or read out of bounds (h5guard.h), let the probe try libhdf5 in a
 * child (h5probe.h), then open for real.  'path' is NULL for an image. */
static tlr_h5 *open_checked(const char *path, const void *buf, size_t len, const char *label,
                            int views, tlr_err *err)
{
    tlr_h5guard_map map = { NULL, 0 };
    const char *damage = path ? tlr_h5guard_check_file(path, views ? &map : NULL)
                              : tlr_h5guard_check(buf, len);
    if (damage) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", label, damage);
        return NULL;
    }
    int refused = 0;
    hid_t file;
    if (tlr_h5probe_in_place()) {
        file = tlr_h5probe_open_here(path, buf, len, label, &refused);
    } else {
        refused = tlr_h5probe_survives(path, buf, len, label) == 0;
        /* Flags 0: HDF5 copies the image, so 'buf' stays the caller's. */
        file = refused ? -1 : path ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)
                                   : H5LTopen_file_image((void *)buf, len, 0);
    }
    if (refused || file < 0)
        tlr_h5guard_unmap(&map);
    if (refused) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (the HDF5 library fails on its "
                    "metadata: damaged or crafted file)", label);
        return NULL;
    }
    if (file < 0) {
        char why[TLR_H5_REASON_MAX];
        tlr_err_set(err, TLR_E_FORMAT, "%s: cannot open as HDF5 (%s)", label,
                    tlr_h5_reason(why)[0] ? why : "damaged or truncated file");
        return NULL;
    }
    return wrap(file, label, map);
}

tlr_h5 *tlr_h5_open(const char *path, tlr_err *err)
{
    return tlr_h5_open_for(path, 1, err);
}

tlr_h5 *tlr_h5_open_for(const char *path, int views, tlr_err *err)
{
    tlr_h5_quiet();
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
    return open_checked(path, NULL, 0, path, views, err);
}

tlr_h5 *tlr_h5_open_image(const void *buf, size_t len, const char *label, tlr_err *err)
{
    tlr_h5_quiet();
    if (!tlr_h5_is_hdf5(buf, len)) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: not an HDF5 file", label);
        return NULL;
    }
    return open_checked(NULL, buf, len, label, 0, err);
}

void tlr_h5_close(tlr_h5 *h)
{
    if (!h)
        return;
    H5Fclose(h->file);
    tlr_h5guard_unmap(&h->map);
    free(h->label);
    free(h);
}

const char *tlr_h5_label(const tlr_h5 *h)
{
    return h->label;
}

/* One lookup: H5Oexists_by_name fails (negative) when an intermediate group is missing, which
 * means "no" here as well; walking each prefix cost two traversals per component. */
int tlr_h5_exists(tlr_h5 *h, const char *path)
{
    if (!path[0] || strcmp(path, "/") == 0)
        return 1;
    htri_t r = H5Oexists_by_name(h->file, path, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

/* The type of the object at path, or -1 when there is none (a missing link anywhere on the
 * path makes the lookup fail cleanly).  BASIC skips counting the header and attributes. */
static int object_type(tlr_h5 *h, const char *path)
{
    H5O_info_t info;
    herr_t r = H5Oget_info_by_name2(h->file, path, &info, H5O_INFO_BASIC, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return r < 0 ? -1 : (int)info.type;
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

/* The 'n' variable-length strings of attribute 'a', read as 'mtype' (its shape: 'space'). */
static tlr_status read_vlen_strings(tlr_h5 *h, hid_t a, hid_t mtype, hid_t space, hssize_t n,
                                    const char *where, tlr_strlist *out, tlr_err *err)
{
    tlr_status st = TLR_OK;
    H5Tset_size(mtype, H5T_VARIABLE);
    char **v = tlr_xcalloc((size_t)n, sizeof *v);
    if (H5Aread(a, mtype, v) < 0) {
        st = tlr_h5_out_of_memory()
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
    return st;
}

/* The 'n' fixed-length strings of attribute 'a' (file type 'ftype'), read as 'mtype' and cut
 * at their padding. */
static tlr_status read_fixed_strings(tlr_h5 *h, hid_t a, hid_t ftype, hid_t mtype, hssize_t n,
                                     const char *where, tlr_strlist *out, tlr_err *err)
{
    size_t sz = H5Tget_size(ftype);
    if (sz == 0 || sz > (1u << 26))
        return tlr_err_set(err, TLR_E_FORMAT, "%s: %s: bad string size", h->label, where);
    if ((uint64_t)n * sz > ((uint64_t)1 << 28))
        return tlr_err_set(err, TLR_E_LIMIT, "%s: %s: %lld strings of %zu bytes is too large",
                           h->label, where, (long long)n, sz);
    tlr_status st = TLR_OK;
    H5Tset_size(mtype, sz);
    H5Tset_strpad(mtype, H5Tget_strpad(ftype));
    char *raw = tlr_xcalloc((size_t)n ? (size_t)n : 1, sz);
    if (H5Aread(a, mtype, raw) < 0) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: %s: cannot read string attribute", h->label,
                         where);
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
    return st;
}

tlr_status tlr_h5_read_strings(tlr_h5 *h, hid_t a, const char *where, tlr_strlist *out,
                               tlr_err *err)
{
    tlr_status st;
    hid_t ftype = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (ftype < 0 || space < 0 || n < 0) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: %s: unreadable attribute", h->label, where);
    } else if (n > 10000000) {
        st = tlr_err_set(err, TLR_E_LIMIT, "%s: %s: %lld strings is too many", h->label, where,
                         (long long)n);
    } else {
        hid_t mtype = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mtype, H5Tget_cset(ftype) == H5T_CSET_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        st = H5Tis_variable_str(ftype) > 0
                 ? read_vlen_strings(h, a, mtype, space, n, where, out, err)
                 : read_fixed_strings(h, a, ftype, mtype, n, where, out, err);
        H5Tclose(mtype);
    }
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
        if (tlr_h5_read_strings(h, a, where, &l, err) == TLR_OK) {
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
        return tlr_h5_read_strings(h, a, where, out, err);
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

/* Shape, type and storage size of the open dataset d. */
static tlr_status describe(tlr_h5 *h, hid_t d, const char *path, tlr_h5_dsinfo *info,
                           tlr_err *err)
{
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
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* Opens the dataset at path (one lookup; a group or a missing link both fail) and describes
 * it.  On success *out holds the open dataset, which the caller closes. */
static tlr_status open_dataset(tlr_h5 *h, const char *path, tlr_h5_dsinfo *info, hid_t *out,
                               tlr_err *err)
{
    memset(info, 0, sizeof *info);
    hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        return tlr_err_set(err, TLR_E_FORMAT, "%s: dataset '%s' is missing", h->label, path);
    }
    tlr_status st = describe(h, d, path, info, err);
    if (st)
        H5Dclose(d);
    else
        *out = d;
    return st;
}

tlr_status tlr_h5_dataset_info(tlr_h5 *h, const char *path, tlr_h5_dsinfo *info,
                               tlr_err *err)
{
    hid_t d;
    tlr_status st = open_dataset(h, path, info, &d, err);
    if (!st)
        H5Dclose(d);
    return st;
}

tlr_status tlr_h5_dataset_read_f32(tlr_h5 *h, const char *path, float *out, int64_t numel,
                                   tlr_err *err)
{
    tlr_h5_dsinfo info;
    hid_t d;
    tlr_status st = open_dataset(h, path, &info, &d, err);
    if (st)
        return st;
    if (info.dtype != TLR_DT_F32 && info.dtype != TLR_DT_F64 && info.dtype != TLR_DT_F16)
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: dataset '%s' has type %s, expected floats",
                         h->label, path, tlr_dtype_name(info.dtype, info.elem_size));
    else if (info.numel != numel)
        st = tlr_err_set(err, TLR_E_SHAPE, "%s: dataset '%s' has %lld values, expected %lld",
                         h->label, path, (long long)info.numel, (long long)numel);
    else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        char why[TLR_H5_REASON_MAX];
        tlr_h5_reason(why);
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: dataset '%s': read failed%s%s%s", h->label,
                         path, why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    H5Dclose(d);
    return st;
}

/* Where a dataset's values lie in the mapped file, when they can be used as they are there:
 * float32 in the host's byte order, contiguous (so unfiltered), all 'numel' written, inside
 * the file and aligned for floats.  -1 otherwise. */
static int64_t view_offset(const tlr_h5 *h, hid_t d, const tlr_h5_dsinfo *info, int64_t numel)
{
    if (!h->map.base || info->dtype != TLR_DT_F32 || info->numel != numel || numel <= 0 ||
        info->storage_bytes != (uint64_t)numel * sizeof(float))
        return -1;
    hid_t t = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
    int ok = t >= 0 && dcpl >= 0 && H5Tequal(t, H5T_NATIVE_FLOAT) > 0 &&
             H5Pget_layout(dcpl) == H5D_CONTIGUOUS && H5Pget_external_count(dcpl) == 0;
    haddr_t off = ok ? H5Dget_offset(d) : HADDR_UNDEF;
    if (t >= 0)
        H5Tclose(t);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    if (off == HADDR_UNDEF || off % sizeof(float) || off > h->map.len ||
        h->map.len - off < info->storage_bytes)
        return -1;
    return (int64_t)off;
}

const float *tlr_h5_dataset_view_f32(tlr_h5 *h, const char *path, int64_t numel)
{
    tlr_h5_dsinfo info;
    hid_t d;
    tlr_err quiet = { 0 };
    if (!h->map.base || open_dataset(h, path, &info, &d, &quiet))
        return NULL;
    int64_t off = view_offset(h, d, &info, numel);
    H5Dclose(d);
    if (off < 0)
        return NULL;
    h->views++;
    return (const float *)(const void *)(h->map.base + off);
}

void tlr_h5_views_done(tlr_h5 *h)
{
    if (h && !h->views)
        tlr_h5guard_unmap(&h->map);
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
        int ok = tlr_h5_read_strings(h, a, d->name, &l, &e) == TLR_OK;
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

