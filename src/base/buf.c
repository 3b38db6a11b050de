/* buf.c - growable byte buffer. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static void reserve(tlr_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = tlr_xrealloc(b->data, cap);
    b->cap = cap;
}

void tlr_buf_append(tlr_buf *b, const void *data, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tlr_buf_puts(tlr_buf *b, const char *s)
{
    tlr_buf_append(b, s, strlen(s));
}

void tlr_buf_putc(tlr_buf *b, char c)
{
    tlr_buf_append(b, &c, 1);
}

void tlr_buf_printf(tlr_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void tlr_buf_repeat(tlr_buf *b, char c, size_t n)
{
    reserve(b, n);
    memset(b->data + b->len, c, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tlr_buf_repeat_str(tlr_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tlr_buf_puts(b, s);
}

void tlr_buf_truncate(tlr_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

char *tlr_buf_detach(tlr_buf *b)
{
    char *s = b->data ? b->data : tlr_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

const char *tlr_buf_cstr(const tlr_buf *b)
{
    return b->data ? b->data : "";
}

void tlr_buf_free(tlr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
