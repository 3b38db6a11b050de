/* bigmem.h - allocation of large, long-lived float buffers (model weights) backed by
 * transparent huge pages where the system offers them.
 *
 * Filling a fresh buffer costs a page fault per 4 KB page; in a virtual machine that is 1-2
 * us each, 30 ms for VGG16's 58.9 MB of weights.  With 2 MB pages the same buffer takes a
 * few dozen faults.  Only the whole 2 MB blocks inside the buffer are advised, so nothing
 * is rounded up and resident memory stays what the data needs.  Free with free(). */
#ifndef TLR_BIGMEM_H
#define TLR_BIGMEM_H

#include <stddef.h>

/* From this size on a buffer gets huge pages (smaller ones are plain malloc). */
#define TLR_BIG_ALLOC_MIN ((size_t)2 << 20)

/* At least 'bytes' (>= 1) bytes, 64-byte aligned; aborts when out of memory. */
void *tlr_big_alloc(size_t bytes);

/* Sets the malloc heap to grow 'pad' bytes beyond each request and puts the next 'pad'
 * bytes on huge pages (glibc on Linux; elsewhere nothing).  Call once, early, before threads
 * start. */
void tlr_big_heap(size_t pad);

#endif
