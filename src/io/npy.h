/* npy.h - NumPy .npy files: the exchange format for reference activations and layer dumps.
 *
 * Writes float32, little-endian, C order, format version 1.0 (what np.save writes for small
 * headers).  Reads versions 1.0, 2.0 and 3.0 with dtype float32 or float64 ('<f4', '<f8',
 * big-endian '>f4'/'>f8' too), converting to float32; C order only (fortran_order True is
 * accepted for rank <= 1, where it is the same layout).  Every header field is validated:
 * a malformed or truncated file is an error value (TLR_E_FORMAT / TLR_E_UNSUPPORTED),
 * never a crash, and sizes are checked against the bytes present before any allocation.
 *
 * Shapes are up to TLR_NPY_MAX_DIMS dims; rank 0 (a scalar) holds one value. */
#ifndef TLR_NPY_H
#define TLR_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TLR_NPY_MAX_DIMS 8
/* tlr_npy_read refuses larger files (stopping as soon as it has read that much). */
#define TLR_NPY_MAX_FILE_BYTES ((size_t)4 << 30)

/* Writes data (numel(shape) floats, C order) to 'path' as a version 1.0 .npy file. */
tlr_status tlr_npy_write(const char *path, int ndim, const int64_t *shape, const float *data,
                         tlr_err *err);

/* Encodes the same bytes into memory; *len receives the size.  The caller frees the result
 * with free().  NULL (and err set) when ndim/shape are invalid. */
unsigned char *tlr_npy_encode(int ndim, const int64_t *shape, const float *data, size_t *len,
                              tlr_err *err);

/* Reads a .npy file.  On success returns numel floats (at least one byte allocated even
 * for an empty array; the caller frees it with free()), and fills *ndim and
 * shape[0 .. *ndim-1] (shape must have room for TLR_NPY_MAX_DIMS).  NULL on error. */
float *tlr_npy_read(const char *path, int *ndim, int64_t *shape, tlr_err *err);

/* The same from a memory image of a file; 'name' prefixes error messages (may be NULL). */
float *tlr_npy_read_mem(const void *buf, size_t len, const char *name, int *ndim,
                        int64_t *shape, tlr_err *err);

#endif
