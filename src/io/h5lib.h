/* h5lib.h - the one place that includes libhdf5's headers, for the io files built on it (the
 * reader h5file.c and the crash probe h5probe.c) and the fixture writer outside src/.  It
 * also holds what those share: the open-file struct, HDF5's error stack turned into text,
 * and the string-attribute reader the probe replays. */
#ifndef TLR_H5LIB_H
#define TLR_H5LIB_H

#include <hdf5.h>
#include <hdf5_hl.h>

#include "base/err.h"
#include "base/strlist.h"
#include "io/h5file.h"
#include "io/h5guard.h"

struct tlr_h5 {
    hid_t file;
    char *label;
    tlr_h5guard_map map; /* the file's pages, for tlr_h5_dataset_view_f32 (paths only) */
    int64_t views;       /* views handed out */
};

/* Switches off HDF5's automatic printing of its error stack (library code never prints). */
void tlr_h5_quiet(void);

/* The innermost description on HDF5's error stack ("truncated file", ...) copied into 'buf'
 * (at least TLR_H5_REASON_MAX bytes; "" when there is none); clears the stack. */
#define TLR_H5_REASON_MAX 256
const char *tlr_h5_reason(char *buf);

/* 1 when HDF5's error stack holds an allocation failure; clears the stack. */
int tlr_h5_out_of_memory(void);

/* Reads every string element of attribute 'a' (variable or fixed length) into 'out'.
 * 'where' names the attribute in messages; 'err' may be NULL.  TLR_E_LIMIT for a length no
 * real file has (or one libhdf5 cannot allocate). */
tlr_status tlr_h5_read_strings(tlr_h5 *h, hid_t a, const char *where, tlr_strlist *out,
                               tlr_err *err);

#endif
