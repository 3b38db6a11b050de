/* h5guard.c - pre-checks of HDF5 bytes that libhdf5's decoders would trust (see h5guard.h). */
#define _GNU_SOURCE /* memmem */
#include "h5guard.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

static uint64_t read_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* "Size of lengths" from the superblock (8 in every file h5py writes); 0 when unknown. */
static int length_size(const unsigned char *b, size_t len)
{
    for (size_t off = 0; off + 16 <= len; off = off ? off * 2 : 512) {
        if (memcmp(b + off, signature, 8) != 0)
            continue;
        unsigned version = b[off + 8];
        int n = version <= 1 ? b[off + 14] : b[off + 10];
        return n == 2 || n == 4 || n == 8 ? n : 0;
    }
    return 0;
}

/* Walks the objects of the collection at 'at' as the decoder does (H5HG cache deserialize):
 * header "GCOL", version, 3 reserved bytes, collection size; then objects of
 * index (2) refcount (2) reserved (4) size (L) data, each padded to 8 bytes except object 0
 * (free space), whose size counts its header.  1 when the walk would not end at the
 * collection's end by strictly advancing steps. */
static int collection_damaged(const unsigned char *b, size_t len, size_t at, int L)
{
    size_t hdr = 8 + (size_t)L, objhdr = 8 + (size_t)L;
    if (len - at < hdr || b[at + 4] != 1)
        return 0; /* not a collection libhdf5 would decode */
    uint64_t size = read_le(b + at + 8, L);
    if (size < hdr || size > len - at)
        return 0; /* libhdf5 refuses these by itself (past the end of the file) */
    size_t p = at + hdr, end = at + (size_t)size;
    while (p < end) {
        if (end - p < objhdr)
            return 0; /* trailing free space too small for a header: the decoder stops */
        unsigned idx = (unsigned)b[p] | (unsigned)b[p + 1] << 8;
        uint64_t osz = read_le(b + p + 8, L);
        uint64_t room = end - p;
        uint64_t need;
        if (idx > 0) {
            if (osz > room)
                return 1;
            need = objhdr + ((osz + 7) & ~(uint64_t)7);
        } else {
            need = osz;
        }
        if (need == 0 || need > room)
            return 1;
        p += (size_t)need;
    }
    return 0;
}

const char *tlr_h5guard_check(const void *buf, size_t len)
{
    static _Thread_local char why[96];
    const unsigned char *b = buf;
    int L = length_size(b, len);
    if (!L)
        return NULL;
    const unsigned char *p = b, *end = b + len;
    while ((size_t)(end - p) >= 4 && (p = memmem(p, (size_t)(end - p), "GCOL", 4)) != NULL) {
        size_t at = (size_t)(p - b);
        if (collection_damaged(b, len, at, L)) {
            snprintf(why, sizeof why, "damaged global heap collection at byte %zu", at);
            return why;
        }
        p++;
    }
    return NULL;
}

const char *tlr_h5guard_check_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            why = tlr_h5guard_check(m, (size_t)st.st_size);
            munmap(m, (size_t)st.st_size);
        }
    }
    close(fd);
    return why;
}
