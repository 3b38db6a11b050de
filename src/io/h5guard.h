/* h5guard.h - checks the bytes of an HDF5 file for damage that makes libhdf5 itself loop
 * forever or read out of bounds, before libhdf5 is given the file.
 *
 * libhdf5 decodes its on-disk structures trusting the lengths they state.  Fuzzing found one
 * such structure reachable from every Keras file with a string attribute: a global heap
 * collection ("GCOL", where variable-length strings live) whose object sizes do not tile the
 * collection makes the decoder spin forever (an object of size 0 never advances) or point
 * past the collection.  This module re-walks every collection the way the decoder does and
 * refuses the file when a walk would not end cleanly.  Likewise a local heap (the link names
 * of old-style groups) whose data does not end in NUL lets the decoder's strdup read past it.
 * It never includes <hdf5.h>. */
#ifndef TLR_H5GUARD_H
#define TLR_H5GUARD_H

#include <stddef.h>

/* NULL when nothing known to be dangerous was found, else a short description
 * ("damaged global heap collection at byte 1234"), valid until the next call. */
const char *tlr_h5guard_check(const void *buf, size_t len);

/* The file's pages, mapped read-only and private. */
typedef struct {
    const unsigned char *base; /* NULL: not mapped */
    size_t len;
} tlr_h5guard_map;

/* The same for a file; NULL too when the file cannot be mapped (opening it will then report
 * the problem).  With 'keep', the file is mapped read-only with every page touched, and a
 * clean file's mapping is handed over (unmap it with tlr_h5guard_unmap); without, it is read
 * through a small buffer, which costs less when its pages are not wanted afterwards. */
const char *tlr_h5guard_check_file(const char *path, tlr_h5guard_map *keep);
void tlr_h5guard_unmap(tlr_h5guard_map *m);

#endif
