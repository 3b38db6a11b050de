/* h5probe.h - tries a file on libhdf5 in a child process before tlreport itself opens it.
 *
 * libhdf5 1.10 trusts heap IDs and attribute tables stored in the file; a crafted file can make
 * it crash or read out of bounds while decoding attributes (tests/fuzz/README.md, H7/H8), and
 * only libhdf5 decodes those structures.  So before the file is used, a child process reads
 * every attribute of every object the way the loader will; if that child dies, the file is
 * refused with an error instead of taking tlreport down.  TLR_NO_FORK=1 skips the probe.
 *
 * A process that is itself a disposable worker (the command line's, whose crash its parent
 * reports in one line) says so with tlr_h5probe_contained: the probe then runs in it, under
 * the same memory cap, without the cost of another process and a second libhdf5 open. */
#ifndef TLR_H5PROBE_H
#define TLR_H5PROBE_H

#include <stddef.h>

#include "io/h5lib.h"

/* Opens the file ('path', or the image 'buf' of 'len' bytes when buf is set) in a child and
 * reads all its attributes.  1 when the child finished, 0 when it crashed or met a length no
 * real file has, -1 when there is no child to ask (TLR_NO_FORK, fork failed). */
int tlr_h5probe_survives(const char *path, const void *buf, size_t len, const char *label);

/* From now on this process probes in place: a crash while probing ends this process, which
 * the caller has arranged to be answered for (a forked worker). */
void tlr_h5probe_contained(void);

/* 1 when files are probed in this process (contained, and TLR_NO_FORK not set): open them
 * with tlr_h5probe_open_here instead of calling tlr_h5probe_survives. */
int tlr_h5probe_in_place(void);

/* Opens the file (as tlr_h5probe_survives takes it) and walks it under the memory cap.  The
 * open file, or -1: *refused is 1 when the walk met a length no real file has, 0 when libhdf5
 * could not open the file at all (its error stack says why). */
hid_t tlr_h5probe_open_here(const char *path, const void *buf, size_t len, const char *label,
                            int *refused);

#endif
