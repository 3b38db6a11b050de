/* zipio.h - reading members of a zip archive into memory (the only module that includes
 * libzip).  Used for Keras 3 .keras files. */
#ifndef TLR_ZIPIO_H
#define TLR_ZIPIO_H

#include <stddef.h>

#include "base/err.h"
#include "base/strlist.h"

typedef struct tlr_zip tlr_zip;

/* 1 when 'buf' starts like a zip archive ("PK\3\4"). */
int tlr_zip_is_zip(const void *buf, size_t len);

tlr_zip *tlr_zip_open(const char *path, tlr_err *err);
tlr_zip *tlr_zip_open_buffer(const void *buf, size_t len, const char *label, tlr_err *err);
void tlr_zip_close(tlr_zip *z);

/* Member names in archive order. */
tlr_status tlr_zip_list(tlr_zip *z, tlr_strlist *out, tlr_err *err);
/* 1 when the member exists. */
int tlr_zip_has(tlr_zip *z, const char *name);
/* Uncompressed size of a member as its header declares it; 0 when absent. */
size_t tlr_zip_size(tlr_zip *z, const char *name);
/* Reads a member fully (NUL-terminated for convenience); refuses members over 'max_bytes'
 * (uncompressed).  The caller frees the result. */
void *tlr_zip_read(tlr_zip *z, const char *name, size_t max_bytes, size_t *len, tlr_err *err);

#endif
