/* bigmem.c - huge-page backed allocation for large buffers (see bigmem.h). */
#include "base/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
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
