/* err.c - error values. */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message is one line: names taken from a file may hold line breaks or terminal escapes,
 * shown as '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

tlr_status tlr_err_set(tlr_err *err, tlr_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->code = code;
    }
    return code;
}

tlr_status tlr_err_prefix(tlr_err *err, const char *fmt, ...)
{
    if (!err)
        return TLR_E_FORMAT;
    char ctx[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(ctx);
    memcpy(err->msg, ctx, n);
    size_t room = sizeof err->msg - n;
    if (room > 2) {
        memcpy(err->msg + n, ": ", 2);
        size_t m = strnlen(old, room - 3);
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = '\0';
    } else {
        err->msg[sizeof err->msg - 1] = '\0';
    }
    one_line(err->msg);
    return err->code;
}

void tlr_err_clear(tlr_err *err)
{
    if (err) {
        err->code = TLR_OK;
        err->msg[0] = '\0';
    }
}

const char *tlr_strerror(tlr_status code)
{
    static const char *const names[TLR_E_COUNT] = {
        [TLR_OK] = "ok",
        [TLR_E_IO] = "i/o error",
        [TLR_E_FORMAT] = "format error",
        [TLR_E_UNSUPPORTED] = "unsupported",
        [TLR_E_SHAPE] = "shape error",
        [TLR_E_LIMIT] = "limit exceeded",
        [TLR_E_USAGE] = "usage error",
        [TLR_E_CHECK] = "check failed",
    };
    _Static_assert(TLR_E_COUNT == 8, "update names");
    return (code >= 0 && code < TLR_E_COUNT) ? names[code] : "unknown error";
}

void tlr_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "tlreport: internal error: %s:%d: assertion '%s' failed\n", file, line, expr);
    abort();
}
