/* h5write.h - a small HDF5 writer for Keras-layout files, for the example generator and the
 * test fixtures (it is not part of tlreport itself).  The output depends only on the calls
 * made: no timestamps, HDF5 format bounds fixed to (earliest, latest) as h5py uses them, so
 * the same calls give byte-identical files.  Object paths are relative to the root
 * ("model_weights/dense"); missing parent groups are created on the way. */
#ifndef TLR_H5WRITE_H
#define TLR_H5WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct tlr_h5w tlr_h5w;

/* Creates (or truncates) the file at 'path'.  Finish with tlr_h5w_close().  NULL + err. */
tlr_h5w *tlr_h5w_create(const char *path, tlr_err *err);
/* Flushes and closes; an error means the file may be incomplete.  NULL is a no-op. */
tlr_status tlr_h5w_close(tlr_h5w *w, tlr_err *err);

/* Creates the group 'path' and any missing parents; an existing group is fine. */
tlr_status tlr_h5w_group(tlr_h5w *w, const char *path, tlr_err *err);

/* Character set of a string attribute: h5py writes Python str as UTF-8, bytes as ASCII. */
typedef enum { TLR_H5W_ASCII, TLR_H5W_UTF8 } tlr_h5w_cset;
/* How a list of names is stored: h5py 3 writes variable-length strings, h5py 2 (and Keras'
 * chunked name0, name1, ... lists) fixed-length NUL-padded ones as long as the longest. */
typedef enum { TLR_H5W_VLEN, TLR_H5W_FIXED } tlr_h5w_strform;

/* Scalar variable-length string attribute 'name' on the object 'obj' ("" or "/" = root). */
tlr_status tlr_h5w_attr_string(tlr_h5w *w, const char *obj, const char *name, const char *value,
                               tlr_h5w_cset cset, tlr_err *err);
/* 1-D ASCII string array attribute of 'n' names (n >= 1). */
tlr_status tlr_h5w_attr_strings(tlr_h5w *w, const char *obj, const char *name,
                                const char *const *values, size_t n, tlr_h5w_strform form,
                                tlr_err *err);
/* Empty float64 array of shape (0,): what np.asarray([]) becomes (a weightless layer). */
tlr_status tlr_h5w_attr_empty_f64(tlr_h5w *w, const char *obj, const char *name, tlr_err *err);

/* float32 dataset of shape dims[0..ndim) (ndim 0 = scalar), contiguous, holding 'data'
 * (row-major, numel values). */
tlr_status tlr_h5w_dataset_f32(tlr_h5w *w, const char *path, int ndim, const int64_t *dims,
                               const float *data, tlr_err *err);
/* Same shape and type, but never written: readers get 'fill' everywhere and the file holds
 * no storage for it (small fixtures with the layout of a big model). */
tlr_status tlr_h5w_dataset_f32_fill(tlr_h5w *w, const char *path, int ndim, const int64_t *dims,
                                    float fill, tlr_err *err);
/* Scalar int64 dataset (e.g. an optimizer's iteration counter 'iter:0'). */
tlr_status tlr_h5w_dataset_i64(tlr_h5w *w, const char *path, int64_t value, tlr_err *err);

#endif
