/* buf.h - a growable byte buffer, always NUL-terminated. */
#ifndef TLR_BUF_H
#define TLR_BUF_H

#include <stddef.h>

typedef struct {
    char *data;  /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} tlr_buf;

#define TLR_BUF_INIT { NULL, 0, 0 }

void tlr_buf_append(tlr_buf *b, const void *data, size_t n);
void tlr_buf_puts(tlr_buf *b, const char *s);
void tlr_buf_putc(tlr_buf *b, char c);
void tlr_buf_printf(tlr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends 'c' n times. */
void tlr_buf_repeat(tlr_buf *b, char c, size_t n);
/* Appends the UTF-8 string 's' repeated n times. */
void tlr_buf_repeat_str(tlr_buf *b, const char *s, size_t n);
void tlr_buf_truncate(tlr_buf *b, size_t len);
/* Returns the contents (never NULL) and resets 'b'; the caller frees it with free(). */
char *tlr_buf_detach(tlr_buf *b);
/* The contents as a C string (never NULL), still owned by 'b'. */
const char *tlr_buf_cstr(const tlr_buf *b);
void tlr_buf_free(tlr_buf *b);

#endif
