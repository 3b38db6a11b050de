/* err.h - errors as values: a status code plus a message that names where it happened. */
#ifndef TLR_ERR_H
#define TLR_ERR_H

#include <stdarg.h>

typedef enum {
    TLR_OK = 0,
    TLR_E_IO,          /* cannot read or write a file */
    TLR_E_FORMAT,      /* the input is not what it claims to be */
    TLR_E_UNSUPPORTED, /* valid Keras, but something tlreport does not handle */
    TLR_E_SHAPE,       /* shapes or sizes that do not fit together */
    TLR_E_LIMIT,       /* a size over a safety bound (memory budget, image pixels) */
    TLR_E_USAGE,       /* bad command line */
    TLR_E_CHECK,       /* a --check expectation was not met (the output is complete) */
    TLR_E_COUNT
} tlr_status;

typedef struct {
    tlr_status code;
    char msg[1024];
} tlr_err;

/* Fills 'err' (when not NULL) and returns 'code', so callers can write
 * `return tlr_err_set(err, TLR_E_IO, "%s: cannot open", path);`.  The message is one line:
 * control characters (a line break in a layer name from the file) become '?'. */
tlr_status tlr_err_set(tlr_err *err, tlr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context to an existing message: "ctx: old message". Returns err->code. */
tlr_status tlr_err_prefix(tlr_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void tlr_err_clear(tlr_err *err);

/* Short name of a status, e.g. "format error". */
const char *tlr_strerror(tlr_status code);

/* Broken invariants only, never input validation: aborts with file:line in every build. */
#define TLR_ASSERT(x) \
    do { if (!(x)) tlr_assert_fail(__FILE__, __LINE__, #x); } while (0)
_Noreturn void tlr_assert_fail(const char *file, int line, const char *expr);

#endif
