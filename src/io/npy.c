/* npy.c - NumPy .npy reader and writer.
 *
 * File layout (numpy/lib/format.py, "NEP 1"):
 *   "\x93NUMPY" major minor  header_len (u16 LE for 1.x, u32 LE for 2.x/3.x)
 *   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *           padded with spaces and ended by '\n'
 *   data:   numel * itemsize bytes, nothing after.
 * The header is parsed by a small strict parser (not a general Python literal reader): it
 * accepts what numpy writes and rejects anything else with a message. */
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/xalloc.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
/* numpy itself refuses headers over 10000 bytes unless told otherwise; ours are tiny. */
#define MAX_HEADER_LEN (1u << 16)
/* Largest accepted dimension and element count: keeps every size product in int64. */
#define MAX_NUMEL ((int64_t)1 << 62)

typedef struct {
    int itemsize;    /* 4 or 8 */
    int big_endian;
    int fortran;
    int ndim;
    int64_t shape[TLR_NPY_MAX_DIMS];
} npy_header;

/* ---- header parser ---------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n, i;
    const char *name; /* for messages */
    tlr_err *err;
} cursor;

static tlr_status bad(cursor *c, const char *what)
{
    return tlr_err_set(c->err, TLR_E_FORMAT, "%s: npy header: %s at offset %zu", c->name, what,
                       c->i);
}

static void skip_ws(cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static int peek(const cursor *c)
{
    return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

static int accept(cursor *c, char ch)
{
    skip_ws(c);
    if (peek(c) == (unsigned char)ch) {
        c->i++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes ('...' or "..."), copied into out[cap]. */
static tlr_status parse_string(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    int q = peek(c);
    if (q != '\'' && q != '"')
        return bad(c, "expected a quoted string");
    c->i++;
    size_t len = 0;
    for (;;) {
        int ch = peek(c);
        if (ch < 0)
            return bad(c, "unterminated string");
        c->i++;
        if (ch == q)
            break;
        if (ch == '\\')
            return bad(c, "escape sequence in string");
        if (len + 1 >= cap)
            return bad(c, "string too long");
        out[len++] = (char)ch;
    }
    out[len] = '\0';
    return TLR_OK;
}

static tlr_status parse_bool(cursor *c, int *out)
{
    skip_ws(c);
    if (c->n - c->i >= 4 && memcmp(c->s + c->i, "True", 4) == 0) {
        c->i += 4;
        *out = 1;
    } else if (c->n - c->i >= 5 && memcmp(c->s + c->i, "False", 5) == 0) {
        c->i += 5;
        *out = 0;
    } else {
        return bad(c, "expected True or False");
    }
    int ch = peek(c);
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_')
        return bad(c, "expected True or False");
    return TLR_OK;
}

/* A non-negative decimal integer as Python 3 writes it (no sign, no leading zeros). */
static tlr_status parse_dim(cursor *c, int64_t *out)
{
    skip_ws(c);
    int ch = peek(c);
    if (ch < '0' || ch > '9')
        return bad(c, "expected a dimension");
    int64_t v = 0;
    size_t start = c->i;
    while ((ch = peek(c)) >= '0' && ch <= '9') {
        if (v > (MAX_NUMEL - (ch - '0')) / 10)
            return tlr_err_set(c->err, TLR_E_LIMIT, "%s: npy header: dimension too large",
                               c->name);
        v = v * 10 + (ch - '0');
        c->i++;
    }
    if (c->s[start] == '0' && c->i - start > 1)
        return bad(c, "dimension with a leading zero");
    *out = v;
    return TLR_OK;
}

/* '(' ')' | '(' d ',' ')' | '(' d (',' d)+ [','] ')' -- a 1-tuple needs its comma. */
static tlr_status parse_shape(cursor *c, npy_header *h)
{
    if (!accept(c, '('))
        return bad(c, "expected '(' for shape");
    h->ndim = 0;
    if (accept(c, ')'))
        return TLR_OK;
    for (;;) {
        if (h->ndim == TLR_NPY_MAX_DIMS)
            return tlr_err_set(c->err, TLR_E_UNSUPPORTED,
                               "%s: npy header: more than %d dimensions", c->name,
                               TLR_NPY_MAX_DIMS);
        tlr_status st = parse_dim(c, &h->shape[h->ndim]);
        if (st != TLR_OK)
            return st;
        h->ndim++;
        if (accept(c, ',')) {
            if (accept(c, ')'))
                return TLR_OK;
            continue;
        }
        if (accept(c, ')')) {
            if (h->ndim == 1)
                return bad(c, "'(n)' is not a tuple (need '(n,)')");
            return TLR_OK;
        }
        return bad(c, "expected ',' or ')' in shape");
    }
}

static tlr_status parse_descr(cursor *c, npy_header *h)
{
    char d[32];
    tlr_status st = parse_string(c, d, sizeof d);
    if (st != TLR_OK)
        return st;
    if ((d[0] == '<' || d[0] == '>') && d[1] == 'f' && (d[2] == '4' || d[2] == '8') &&
        d[3] == '\0') {
        h->big_endian = d[0] == '>';
        h->itemsize = d[2] - '0';
        return TLR_OK;
    }
    return tlr_err_set(c->err, TLR_E_UNSUPPORTED,
                       "%s: npy dtype '%s' not supported (have: <f4, <f8, >f4, >f8)", c->name,
                       d);
}

/* The whole dict: exactly the keys descr, fortran_order and shape, each once. */
static tlr_status parse_dict(cursor *c, npy_header *h)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!accept(c, '{'))
        return bad(c, "expected '{'");
    while (!accept(c, '}')) {
        char key[32];
        tlr_status st = parse_string(c, key, sizeof key);
        if (st != TLR_OK)
            return st;
        if (!accept(c, ':'))
            return bad(c, "expected ':'");
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &seen_descr;
            st = parse_descr(c, h);
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &seen_fortran;
            st = parse_bool(c, &h->fortran);
        } else if (strcmp(key, "shape") == 0) {
            seen = &seen_shape;
            st = parse_shape(c, h);
        } else {
            return tlr_err_set(c->err, TLR_E_FORMAT, "%s: npy header: unexpected key '%s'",
                               c->name, key);
        }
        if (st != TLR_OK)
            return st;
        if (*seen)
            return tlr_err_set(c->err, TLR_E_FORMAT, "%s: npy header: duplicate key '%s'",
                               c->name, key);
        *seen = 1;
        if (accept(c, ','))
            continue;
        if (accept(c, '}'))
            break;
        return bad(c, "expected ',' or '}'");
    }
    skip_ws(c);
    if (c->i != c->n)
        return bad(c, "text after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return tlr_err_set(c->err, TLR_E_FORMAT,
                           "%s: npy header: missing key (need descr, fortran_order, shape)",
                           c->name);
    return TLR_OK;
}

/* ---- reading ---------------------------------------------------------------------- */

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p, int big_endian)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[big_endian ? 7 - i : i] << (8 * i);
    return v;
}

static uint32_t get_u32(const unsigned char *p, int big_endian)
{
    if (!big_endian)
        return get_le32(p);
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* Finds the header text; sets *hdr and *hdr_len (without the final '\n') and *data_off. */
static tlr_status split_file(const unsigned char *b, size_t len, const char *name,
                             const char **hdr, size_t *hdr_len, size_t *data_off, tlr_err *err)
{
    if (len < MAGIC_LEN + 2 || memcmp(b, MAGIC, MAGIC_LEN) != 0)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: not a .npy file (bad magic)", name);
    int major = b[6], minor = b[7];
    size_t start, hl;
    if (major == 1 && minor == 0) {
        if (len < 10)
            return tlr_err_set(err, TLR_E_FORMAT, "%s: truncated npy preamble", name);
        hl = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12)
            return tlr_err_set(err, TLR_E_FORMAT, "%s: truncated npy preamble", name);
        hl = get_le32(b + 8);
        start = 12;
    } else {
        return tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: npy format version %d.%d not supported",
                           name, major, minor);
    }
    if (hl == 0 || hl > MAX_HEADER_LEN)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: npy header length %zu out of range", name, hl);
    if (hl > len - start)
        return tlr_err_set(err, TLR_E_FORMAT, "%s: truncated npy header (%zu of %zu bytes)",
                           name, len - start, hl);
    const char *h = (const char *)b + start;
    if (h[hl - 1] != '\n')
        return tlr_err_set(err, TLR_E_FORMAT, "%s: npy header does not end with a newline",
                           name);
    for (size_t i = 0; i + 1 < hl; i++)
        if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e)
            return tlr_err_set(err, TLR_E_FORMAT,
                               "%s: npy header: non-printable byte 0x%02x at offset %zu", name,
                               (unsigned char)h[i], i);
    *hdr = h;
    *hdr_len = hl - 1;
    *data_off = start + hl;
    return TLR_OK;
}

/* numel of a validated shape, or -1 when it exceeds MAX_NUMEL. */
static int64_t numel_of(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] != 0 && n > MAX_NUMEL / shape[i])
            return -1;
        n *= shape[i];
    }
    return n;
}

static void convert(const unsigned char *src, const npy_header *h, int64_t n, float *dst)
{
    for (int64_t i = 0; i < n; i++) {
        if (h->itemsize == 4) {
            uint32_t u = get_u32(src + 4 * i, h->big_endian);
            memcpy(&dst[i], &u, sizeof u);
        } else {
            uint64_t u = get_u64(src + 8 * i, h->big_endian);
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        }
    }
}

float *tlr_npy_read_mem(const void *buf, size_t len, const char *name, int *ndim,
                        int64_t *shape, tlr_err *err)
{
    const unsigned char *b = buf;
    if (!name)
        name = "<memory>";
    if (!b)
        len = 0;
    const char *hdr = NULL;
    size_t hdr_len = 0, off = 0;
    if (split_file(b, len, name, &hdr, &hdr_len, &off, err) != TLR_OK)
        return NULL;
    npy_header h;
    memset(&h, 0, sizeof h);
    cursor c = {hdr, hdr_len, 0, name, err};
    if (parse_dict(&c, &h) != TLR_OK)
        return NULL;
    if (h.fortran && h.ndim > 1) {
        tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: npy fortran_order arrays not supported", name);
        return NULL;
    }
    int64_t n = numel_of(h.ndim, h.shape);
    if (n < 0 || (uint64_t)n > SIZE_MAX / 8) {
        tlr_err_set(err, TLR_E_LIMIT, "%s: npy shape too large", name);
        return NULL;
    }
    size_t need = (size_t)n * (size_t)h.itemsize;
    if (len - off != need) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: npy data is %zu bytes, shape and dtype need %zu",
                    name, len - off, need);
        return NULL;
    }
    float *out = tlr_xmalloc(n > 0 ? (size_t)n * sizeof(float) : 1);
    convert(b + off, &h, n, out);
    *ndim = h.ndim;
    for (int i = 0; i < h.ndim; i++)
        shape[i] = h.shape[i];
    return out;
}

float *tlr_npy_read(const char *path, int *ndim, int64_t *shape, tlr_err *err)
{
    size_t len;
    char *data = tlr_file_read(path, TLR_NPY_MAX_FILE_BYTES, &len, err);
    if (!data)
        return NULL;
    float *out = tlr_npy_read_mem(data, len, path, ndim, shape, err);
    free(data);
    return out;
}

/* ---- writing ---------------------------------------------------------------------- */

/* The header dict exactly as np.save formats it, e.g. "(2, 3)", "(5,)", "()". */
static void format_header(tlr_buf *hb, int ndim, const int64_t *shape)
{
    tlr_buf_puts(hb, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        tlr_buf_printf(hb, i ? ", %lld" : "%lld", (long long)shape[i]);
    tlr_buf_puts(hb, ndim == 1 ? ",), }" : "), }");
}

unsigned char *tlr_npy_encode(int ndim, const int64_t *shape, const float *data, size_t *len,
                              tlr_err *err)
{
    if (ndim < 0 || ndim > TLR_NPY_MAX_DIMS || (ndim > 0 && !shape)) {
        tlr_err_set(err, TLR_E_USAGE, "npy: rank %d out of range 0..%d", ndim, TLR_NPY_MAX_DIMS);
        return NULL;
    }
    int64_t n = numel_of(ndim, shape);
    if (n < 0 || (uint64_t)n > SIZE_MAX / 8) {
        tlr_err_set(err, TLR_E_SHAPE, "npy: invalid or too large shape");
        return NULL;
    }
    if (n > 0 && !data) {
        tlr_err_set(err, TLR_E_USAGE, "npy: no data for %lld values", (long long)n);
        return NULL;
    }
    tlr_buf hb = TLR_BUF_INIT;
    format_header(&hb, ndim, shape);
    /* Pad with spaces so magic + length + header (with its '\n') is a multiple of 64,
     * which keeps the data aligned when the file is memory-mapped. */
    size_t total = 10 + hb.len + 1;
    tlr_buf_repeat(&hb, ' ', (64 - total % 64) % 64);
    tlr_buf_putc(&hb, '\n');
    size_t hl = hb.len, data_bytes = (size_t)n * 4;
    unsigned char *out = tlr_xmalloc(10 + hl + data_bytes);
    memcpy(out, MAGIC, MAGIC_LEN);
    out[6] = 1;
    out[7] = 0;
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8);
    memcpy(out + 10, hb.data, hl);
    unsigned char *p = out + 10 + hl;
    for (int64_t i = 0; i < n; i++, p += 4) {
        uint32_t u;
        memcpy(&u, &data[i], sizeof u);
        p[0] = (unsigned char)u;
        p[1] = (unsigned char)(u >> 8);
        p[2] = (unsigned char)(u >> 16);
        p[3] = (unsigned char)(u >> 24);
    }
    tlr_buf_free(&hb);
    *len = 10 + hl + data_bytes;
    return out;
}

tlr_status tlr_npy_write(const char *path, int ndim, const int64_t *shape, const float *data,
                         tlr_err *err)
{
    size_t len;
    unsigned char *bytes = tlr_npy_encode(ndim, shape, data, &len, err);
    if (!bytes)
        return tlr_err_prefix(err, "%s", path);
    tlr_status st = TLR_OK;
    FILE *f = fopen(path, "wb");
    if (!f) {
        st = tlr_err_set(err, TLR_E_IO, "%s: cannot create", path);
        goto out;
    }
    int bad_write = fwrite(bytes, 1, len, f) != len;
    if (fclose(f) != 0 || bad_write) {
        st = tlr_err_set(err, TLR_E_IO, "%s: write failed", path);
        remove(path);
    }
out:
    free(bytes);
    return st;
}
