/* bigmem.c - huge-page backed allocation for large buffers (see bigmem.h). */
#include "base/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/xalloc.h"

#define HUGE_PAGE TLR_BIG_ALLOC_MIN

void *tlr_big_alloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes < HUGE_PAGE)
        return tlr_xmalloc(bytes); /* glibc aligns large chunks to 16; callers ask no more */
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0 || !p)
        return tlr_xmalloc(bytes); /* aborts */
    /* before the first touch, so the kernel can hand out whole huge pages; a refusal
     * (huge pages off) leaves ordinary pages, which is still correct */
    (void)madvise(p, bytes / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
    return p;
#else
    return tlr_xmalloc(bytes);
#endif
}

/* glibc grows its heap M_TOP_PAD bytes beyond each request; here the heap is made to grow
 * once, by 'pad', and the new range is advised for huge pages -- what the glibc.malloc.hugetlb
 * and top_pad tunables do, which glibc reads only from the environment at start.  Small
 * allocations (libhdf5's metadata cache, the model's JSON, tensors under 2 MB) then fault in
 * 2 MB pages instead of 4 KB ones. */
void tlr_big_heap(size_t pad)
{
#if defined(__GLIBC__) && defined(__linux__) && defined(MADV_HUGEPAGE)
    enum { STEP = 64 << 10, MAX_STEPS = 8 }; /* under the mmap threshold: from the heap */
    /* setting the pad ends glibc's sliding mmap threshold, which would have risen to keep
     * freed buffers in the heap: fix it at 4 MB instead (libhdf5's metadata cache, 1 MB and
     * more per open file, was a fresh mmap) */
    if (pad < HUGE_PAGE || mallopt(M_TOP_PAD, (int)pad) != 1 ||
        mallopt(M_MMAP_THRESHOLD, 4 << 20) != 1)
        return;
    char *before = sbrk(0), *after = before;
    void *held[MAX_STEPS];
    int n = 0;
    while (n < MAX_STEPS && after == before && (held[n] = malloc(STEP)) != NULL) {
        n++;
        after = sbrk(0);
    }
    if (before != (char *)-1 && after != (char *)-1 && after > before) {
        uintptr_t a = ((uintptr_t)before + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        uintptr_t b = (uintptr_t)after & ~(uintptr_t)(HUGE_PAGE - 1);
        if (a < b)
            (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
    while (n > 0)
        free(held[--n]);
#else
    (void)pad;
#endif
}
