/* h5file.h - reading HDF5 files the way Keras wrote them (libhdf5 itself stays behind
 * io/h5lib.h).  Opens a path or an in-memory file image, reads string attributes in every
 * encoding Keras used, lists groups and reads datasets as float32.  Errors carry the file
 * label and the HDF5 object path.  HDF5's own error printing is switched off. */
#ifndef TLR_H5FILE_H
#define TLR_H5FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/strlist.h"

typedef struct tlr_h5 tlr_h5;

/* 1 when 'buf' starts with the HDF5 signature (at offset 0, 512, 1024, ...). */
int tlr_h5_is_hdf5(const void *buf, size_t len);

/* Opens read-only.  'label' names the file in messages (usually the path).
 * Close with tlr_h5_close().  NULL + err on failure. */
tlr_h5 *tlr_h5_open(const char *path, tlr_err *err);
/* The same; views 0 when no dataset will be read (only the structure looked at): the file's
 * pages are then not kept for tlr_h5_dataset_view_f32, which makes the open cheaper. */
tlr_h5 *tlr_h5_open_for(const char *path, int views, tlr_err *err);
tlr_h5 *tlr_h5_open_image(const void *buf, size_t len, const char *label, tlr_err *err);
void tlr_h5_close(tlr_h5 *h);
const char *tlr_h5_label(const tlr_h5 *h);

/* 1 when the object (group or dataset) at 'path' exists; intermediate groups may be missing. */
int tlr_h5_exists(tlr_h5 *h, const char *path);
int tlr_h5_is_group(tlr_h5 *h, const char *path);
int tlr_h5_is_dataset(tlr_h5 *h, const char *path);
int tlr_h5_has_attr(tlr_h5 *h, const char *obj, const char *name);

/* A scalar (or one-element) string attribute in any encoding (vlen or fixed, ASCII or UTF-8).
 * Returns a new string (free()); NULL + err when absent or not a string. */
char *tlr_h5_attr_string(tlr_h5 *h, const char *obj, const char *name, tlr_err *err);

/* A list-of-strings attribute as Keras stores layer_names / weight_names: vlen or fixed-length
 * arrays, chunked into name0, name1, ... when large, or an empty float64 array for "no names".
 * Returns TLR_OK and fills 'out' (caller frees with tlr_strlist_free) or an error when absent. */
tlr_status tlr_h5_attr_strings(tlr_h5 *h, const char *obj, const char *name, tlr_strlist *out,
                               tlr_err *err);

/* Element types Keras weights come in. */
typedef enum {
    TLR_DT_F32, TLR_DT_F64, TLR_DT_F16, TLR_DT_INT, TLR_DT_UINT, TLR_DT_BOOL, TLR_DT_STRING,
    TLR_DT_OTHER, TLR_DT_COUNT
} tlr_dtype;
/* numpy-style name: "float32", "float64", "float16", "int64", "string", ... */
const char *tlr_dtype_name(tlr_dtype t, size_t elem_size);

typedef struct {
    int ndim;
    int64_t dims[8];
    tlr_dtype dtype;
    size_t elem_size;       /* bytes per element in the file */
    int64_t numel;
    uint64_t storage_bytes; /* bytes actually allocated in the file (0 for unwritten data) */
} tlr_h5_dsinfo;

tlr_status tlr_h5_dataset_info(tlr_h5 *h, const char *path, tlr_h5_dsinfo *info,
                               tlr_err *err);
/* Reads a float dataset (float32/64/16 converted) of exactly 'numel' elements into 'out'. */
tlr_status tlr_h5_dataset_read_f32(tlr_h5 *h, const char *path, float *out, int64_t numel,
                                   tlr_err *err);

/* The values of a float32 dataset of exactly 'numel' elements where they lie in the file,
 * without a copy, when the file was opened from a path and stores them plainly (contiguous,
 * the host's byte order); NULL otherwise (read them with tlr_h5_dataset_read_f32).  Valid
 * until tlr_h5_close; read-only. */
const float *tlr_h5_dataset_view_f32(tlr_h5 *h, const char *path, int64_t numel);
/* No more views will be asked for: when none was handed out, the file's pages are let go. */
void tlr_h5_views_done(tlr_h5 *h);

/* The listing functions (tlr_h5_attr_strings, tlr_h5_children, tlr_h5_datasets_under) append
 * to 'out'; on an error they leave it as it was. */

/* Names of the direct children of a group, in HDF5's name order. */
tlr_status tlr_h5_children(tlr_h5 *h, const char *group, tlr_strlist *out, tlr_err *err);
/* Paths (relative to 'group') of every dataset below it, depth first in name order. */
tlr_status tlr_h5_datasets_under(tlr_h5 *h, const char *group, tlr_strlist *out, tlr_err *err);

/* One attribute described for the storage report. */
typedef struct {
    char *name;
    char *type;    /* "string (variable-length, UTF-8)", "string[12] x 5 (fixed, NULL-padded)",
                      "float64 (0,)", "int64 scalar", ... */
    char *value;   /* short text: the string, "5 names", "(empty)"; truncated */
    uint64_t bytes;/* size of the value (for JSON strings: their length) */
} tlr_h5_attr;

/* All attributes of an object in name order; free with tlr_h5_attrs_free(). */
tlr_status tlr_h5_attrs(tlr_h5 *h, const char *obj, tlr_h5_attr **out, size_t *n, tlr_err *err);
void tlr_h5_attrs_free(tlr_h5_attr *a, size_t n);

#endif
