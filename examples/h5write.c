/* h5write.c - the fixture writer (h5write.h).  Every HDF5 failure becomes a tlr_err naming
 * the file and the object, with HDF5's own reason when it gave one. */
#include "h5write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "io/h5lib.h"

struct tlr_h5w {
    hid_t file;
    hid_t gcpl; /* groups: no timestamps */
    char *label;
};

/* Fills 'err' with "file: object: what (HDF5's reason)" and clears HDF5's error stack. */
static tlr_status w_fail(const tlr_h5w *w, const char *obj, const char *what, tlr_err *err)
{
    char why[TLR_H5_REASON_MAX];
    tlr_h5_reason(why);
    return tlr_err_set(err, TLR_E_IO, "%s: %s: %s%s%s%s", w->label, obj[0] ? obj : "/", what,
                       why[0] ? " (" : "", why, why[0] ? ")" : "");
}

tlr_h5w *tlr_h5w_create(const char *path, tlr_err *err)
{
    tlr_h5_quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    /* h5py's default bounds; the root group (created with the file) keeps no times either. */
    herr_t r = H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    if (r >= 0)
        r = H5Pset_obj_track_times(fcpl, 0);
    if (r >= 0)
        r = H5Pset_obj_track_times(gcpl, 0);
    hid_t file = r < 0 ? -1 : H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    char why[TLR_H5_REASON_MAX];
    if (file < 0)
        tlr_h5_reason(why); /* before the next HDF5 call clears the error stack */
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
