/* xalloc.h - allocation that aborts on out-of-memory (as cmark and redis do).
 * Sizes that come from input must be bounded by the caller before allocating. */
#ifndef TLR_XALLOC_H
#define TLR_XALLOC_H

#include <stddef.h>

void *tlr_xmalloc(size_t n);
void *tlr_xcalloc(size_t count, size_t size);
void *tlr_xrealloc(void *p, size_t n);
char *tlr_xstrdup(const char *s);
char *tlr_xstrndup(const char *s, size_t n);
/* printf into a new string; free() it. */
char *tlr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
