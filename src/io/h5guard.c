/* h5guard.c - pre-checks of HDF5 bytes that libhdf5's decoders would trust (see h5guard.h). */
#include "io/h5guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/cpu.h"
#include "base/threads.h"

static const unsigned char signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

static uint64_t read_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

typedef struct {
    size_t base; /* where the superblock is: file addresses count from here */
    int O, L;    /* sizes of offsets and lengths (8 in every file h5py writes) */
} sizes;

/* Reads the superblock's sizes; 0 when there is none or they are not ones libhdf5 accepts. */
static int superblock(const unsigned char *b, size_t len, sizes *s)
{
    for (size_t off = 0; off + 16 <= len; off = off ? off * 2 : 512) {
        if (memcmp(b + off, signature, 8) != 0)
            continue;
        unsigned version = b[off + 8];
        s->base = off;
        s->O = version <= 1 ? b[off + 13] : b[off + 9];
        s->L = version <= 1 ? b[off + 14] : b[off + 10];
        return (s->O == 2 || s->O == 4 || s->O == 8) && (s->L == 2 || s->L == 4 || s->L == 8);
    }
    return 0;
}

/* A local heap ("HEAP", version 0, 3 reserved, data size L, free list L, data address O) holds
 * the link names of old-style groups; the decoder copies a name with strdup from its offset, so
 * a data segment not ending in NUL lets it read past the heap.  Every heap libhdf5 or h5py
 * writes ends in NUL (names are NUL-terminated and padded with NULs). */
static int local_heap_damaged(const unsigned char *b, size_t len, size_t at, const sizes *s)
{
    size_t need = 8 + 2 * (size_t)s->L + (size_t)s->O;
    if (len - at < need || b[at + 4] != 0)
        return 0;
    uint64_t size = read_le(b + at + 8, s->L);
    uint64_t addr = read_le(b + at + 8 + 2 * (size_t)s->L, s->O);
    if (size == 0 || addr > len - s->base || size > len - s->base - addr)
        return 0; /* outside the file: libhdf5 refuses it by itself */
    return b[s->base + addr + size - 1] != 0;
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

/* The file's bytes (for the checks, which read anywhere in it) and the first damaged global
 * heap collection and local heap, by offset (-1: none). */
typedef struct {
    const unsigned char *b;
    size_t len;
    const sizes *s;
    long gcol, heap;
} found;

/* A "GC" or "HE" at 'at', whose first 4 bytes are 'sig' (at + 4 <= len): 1 to stop the scan
 * (a damaged collection, which is reported before any heap). */
static int visit(const unsigned char *sig, size_t at, found *f)
{
    if (memcmp(sig, "GCOL", 4) == 0 && collection_damaged(f->b, f->len, at, f->s->L)) {
        f->gcol = (long)at;
        return 1;
    }
    if (f->heap < 0 && memcmp(sig, "HEAP", 4) == 0 && local_heap_damaged(f->b, f->len, at, f->s))
        f->heap = (long)at;
    return 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same comparisons 32 positions at a time, from i while i + 32 <= last; the position
 * reached (or SIZE_MAX when a visit said stop).  Half the instructions of the SSE2 loop,
 * which took twice as long as reading the bytes (VGG16's 59 MB: 11 ms). */
__attribute__((target("avx2"))) static size_t scan_avx2(const unsigned char *w, size_t i,
                                                         size_t last, size_t base, found *f)
{
    const __m256i G = _mm256_set1_epi8('G'), C = _mm256_set1_epi8('C'),
                  H = _mm256_set1_epi8('H'), E = _mm256_set1_epi8('E');
    for (; i + 32 <= last; i += 32) { /* reads w[i .. i + 32] */
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(w + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(w + i + 1));
        __m256i hit = _mm256_or_si256(
            _mm256_and_si256(_mm256_cmpeq_epi8(x, G), _mm256_cmpeq_epi8(y, C)),
            _mm256_and_si256(_mm256_cmpeq_epi8(x, H), _mm256_cmpeq_epi8(y, E)));
        for (unsigned bits = (unsigned)_mm256_movemask_epi8(hit); bits; bits &= bits - 1) {
            size_t k = i + (size_t)__builtin_ctz(bits);
            if (visit(w + k, base + k, f))
                return SIZE_MAX;
        }
    }
    return i;
}
#endif

/* One pass over w (wlen bytes of the file from offset 'base') for both signatures, their
 * first two bytes compared 16 positions at a time: a model's weights are tens of megabytes
 * in which 'G' and 'H' alone are common (a memchr per signature stopped every few hundred
 * bytes: 35 ms for VGG16's 64 MB).  Signatures starting in w's last 3 bytes are left to the
 * next window.  1 to stop. */
static int scan(const unsigned char *w, size_t wlen, size_t base, found *f)
{
    if (wlen < 4)
        return 0;
    size_t i = 0, last = wlen - 4; /* the last offset a signature can start at */
#if defined(__x86_64__) && defined(__GNUC__)
    if (tlr_cpu_isa() >= TLR_ISA_AVX2 && (i = scan_avx2(w, 0, last, base, f)) == SIZE_MAX)
        return 1;
#endif
#ifdef __SSE2__
    const __m128i G = _mm_set1_epi8('G'), C = _mm_set1_epi8('C'), H = _mm_set1_epi8('H'),
                  E = _mm_set1_epi8('E');
    for (; i + 16 <= last; i += 16) { /* reads w[i .. i + 16] */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(w + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(w + i + 1));
        __m128i hit = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(x, G), _mm_cmpeq_epi8(y, C)),
                                   _mm_and_si128(_mm_cmpeq_epi8(x, H), _mm_cmpeq_epi8(y, E)));
        for (unsigned bits = (unsigned)_mm_movemask_epi8(hit); bits; bits &= bits - 1) {
            size_t k = i + (size_t)__builtin_ctz(bits);
            if (visit(w + k, base + k, f))
                return 1;
        }
    }
#endif
    for (; i <= last; i++)
        if (((w[i] == 'G' && w[i + 1] == 'C') || (w[i] == 'H' && w[i + 1] == 'E')) &&
            visit(w + i, base + i, f))
            return 1;
    return 0;
}

/* The reason for what 'f' found, or NULL. */
static const char *verdict(const found *f)
{
    static _Thread_local char why[96];
    if (f->gcol >= 0) {
        snprintf(why, sizeof why, "damaged global heap collection at byte %ld", f->gcol);
        return why;
    }
    if (f->heap >= 0) {
        snprintf(why, sizeof why, "damaged local heap at byte %ld", f->heap);
        return why;
    }
    return NULL;
}

/* Bytes of a scan of [at, to) in a file of len bytes: 3 more, to the end at most, since a
 * signature starting before 'to' may end past it (the next window starts at 'to'). */
static size_t window(size_t len, size_t at, size_t to)
{
    return to + 3 < len ? to + 3 - at : len - at;
}

/* The scan of a mapped file in GUARD_PARTS pieces on the threads (a model's weights are
 * tens of megabytes: VGG16's 59 MB took 8 ms on one core).  Each piece reads 3 bytes into
 * the next, as the windows of check_by_reading do, and keeps its own first findings; the
 * earliest of each kind is what one scan in order reports, since a damaged collection is
 * reported before any heap wherever it is. */
#define GUARD_PARTS 8
#define GUARD_PARALLEL_MIN ((size_t)4 << 20)

typedef struct {
    const unsigned char *b;
    size_t len;
    const sizes *s;
    found part[GUARD_PARTS];
} scan_job;

static void scan_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    scan_job *J = ctx;
    for (int64_t i = begin; i < end; i++) {
        size_t at = J->len * (size_t)i / GUARD_PARTS, to = J->len * (size_t)(i + 1) / GUARD_PARTS;
        J->part[i] = (found){ J->b, J->len, J->s, -1, -1 };
        scan(J->b + at, window(J->len, at, to), at, &J->part[i]);
    }
}

static long earliest(long a, long b)
{
    return a < 0 ? b : b < 0 || a < b ? a : b;
}

const char *tlr_h5guard_check(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    sizes s;
    if (!superblock(b, len, &s))
        return NULL;
    found f = { b, len, &s, -1, -1 };
    if (len < GUARD_PARALLEL_MIN) {
        scan(b, len, 0, &f);
        return verdict(&f);
    }
    scan_job J = { .b = b, .len = len, .s = &s };
    tlr_parallel_for(GUARD_PARTS, scan_task, &J);
    for (int i = 0; i < GUARD_PARTS; i++) {
        f.gcol = earliest(f.gcol, J.part[i].gcol);
        f.heap = earliest(f.heap, J.part[i].heap);
    }
    return verdict(&f);
}

#ifdef MAP_POPULATE
#define GUARD_POPULATE MAP_POPULATE
#else
#define GUARD_POPULATE 0
#endif

#define WINDOW ((size_t)256 << 10) /* bytes read at a time by check_by_reading */

/* Reads file bytes [at, at + n) into buf; 0 when they could not all be read. */
static int read_at(int fd, unsigned char *buf, size_t n, size_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(at + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* The scan through a small buffer filled by pread, for a file whose pages are not needed
 * afterwards: on a virtual machine the first touch of each mapped page costs about 2 us
 * (32 ms for a 64 MB model), a copy by the kernel much less.  Only the checks of a
 * signature found read the mapping 'm' (and fault in those pages alone). */
static const char *check_by_reading(int fd, const unsigned char *m, size_t len)
{
    sizes s;
    if (!superblock(m, len, &s))
        return NULL;
    unsigned char *buf = malloc(WINDOW + 3);
    if (!buf)
        return tlr_h5guard_check(m, len);
    found f = { m, len, &s, -1, -1 };
    for (size_t base = 0; base < len; base += WINDOW) {
        size_t n = window(len, base, base + WINDOW);
        if (scan(read_at(fd, buf, n, base) ? buf : m + base, n, base, &f))
            break;
    }
    free(buf);
    return verdict(&f);
}

const char *tlr_h5guard_check_file(const char *path, tlr_h5guard_map *keep)
{
    if (keep)
        *keep = (tlr_h5guard_map){ NULL, 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        /* kept: populated at once, since the scan reads every page and the weights are used
         * in place later (faulting them in one by one cost ~1,000 faults for a 64 MB model) */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ,
                       MAP_PRIVATE | (keep ? GUARD_POPULATE : 0), fd, 0);
        if (m != MAP_FAILED) {
            tlr_h5guard_map got = { m, (size_t)st.st_size };
            why = keep ? tlr_h5guard_check(m, got.len) : check_by_reading(fd, m, got.len);
            if (keep && !why)
                *keep = got;
            else
                tlr_h5guard_unmap(&got);
        }
    }
    close(fd);
    return why;
}

void tlr_h5guard_unmap(tlr_h5guard_map *m)
{
    if (m->base)
        munmap((void *)m->base, m->len);
    *m = (tlr_h5guard_map){ NULL, 0 };
}
