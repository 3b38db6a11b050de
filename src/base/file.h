/* file.h - the small file-system jobs several stages share: a bounded whole-file read and
 * mkdir -p.  Errors name the path, in one wording everywhere. */
#ifndef TLR_FILE_H
#define TLR_FILE_H

#include <stddef.h>

#include "base/err.h"

/* Reads the whole regular file at 'path' when it holds at most 'max' bytes.  The buffer has
 * a NUL after the last byte (so text can be used as a string); free() it.  A FIFO or device
 * is refused without waiting on it.  Errors:
 *   TLR_E_IO     "PATH: cannot open: REASON", "PATH: not a regular file",
 *                "PATH: read failed: REASON"
 *   TLR_E_LIMIT  "PATH: file of N bytes exceeds the limit of M bytes" */
char *tlr_file_read(const char *path, size_t max, size_t *len, tlr_err *err);

/* mkdir -p: creates 'path' and its missing parents.  An existing directory is fine; any
 * other file in the way fails with ENOTDIR.  TLR_E_IO "DIR: cannot create directory: REASON". */
tlr_status tlr_file_mkdirs(const char *path, tlr_err *err);

/* The same for the folders that would hold the file 'path' (all but its last component). */
tlr_status tlr_file_mkdirs_for(const char *path, tlr_err *err);

#endif
