/* pylambda.c - a reader for just enough of CPython's marshal format and bytecode to turn
 * `lambda x: x / 127.5 - 1.0` back into text.  Opcode numbers are those of CPython 3.5-3.12
 * (Include/opcode.h); they did not change for the few used here. */
#include "keras/pylambda.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* ---- marshal ------------------------------------------------------------------------------ */

enum { K_OTHER, K_NONE, K_NUM };

typedef struct {
    int kind;
    double num;
} pyval;

#define MAX_REFS 256
#define MAX_CONSTS 32

typedef struct {
    const unsigned char *p, *end;
    pyval refs[MAX_REFS];
    int n_refs;
    int bad;
    int depth;
} reader;

static uint32_t u32(reader *R)
{
    if (R->end - R->p < 4) {
        R->bad = 1;
        return 0;
    }
    uint32_t v = (uint32_t)R->p[0] | (uint32_t)R->p[1] << 8 | (uint32_t)R->p[2] << 16 |
                 (uint32_t)R->p[3] << 24;
    R->p += 4;
    return v;
}

static void skip(reader *R, uint64_t n)
{
    if ((uint64_t)(R->end - R->p) < n) {
        R->bad = 1;
        R->p = R->end;
        return;
    }
    R->p += n;
}

static pyval read_obj(reader *R, const unsigned char **out_bytes, size_t *out_len,
                      pyval *items, int *n_items);

/* 'g': a little-endian IEEE double, like this machine's. */
static pyval read_double(reader *R)
{
    pyval v = { K_OTHER, 0 };
    if (R->end - R->p < 8) {
        R->bad = 1;
        return v;
    }
    memcpy(&v.num, R->p, 8);
    R->p += 8;
    v.kind = K_NUM;
    return v;
}

/* A string, skipped: a 4-byte length (its bytes go to out_bytes when asked), or for the
 * short ASCII kinds 'z' and 'Z' a 1-byte one. */
static void read_string(reader *R, int short_len, const unsigned char **out_bytes,
                        size_t *out_len)
{
    if (short_len && R->p >= R->end) {
        R->bad = 1;
        return;
    }
    uint32_t n = short_len ? *R->p++ : u32(R);
    if (!short_len && out_bytes) {
        *out_bytes = R->p;
        *out_len = n;
    }
    skip(R, n);
}

/* A tuple: '(' with a 4-byte count, ')' with a 1-byte one.  Elements go to 'items' when
 * asked (at most MAX_CONSTS). */
static void read_tuple(reader *R, int type, pyval *items, int *n_items)
{
    uint32_t n = type == ')' ? (R->p < R->end ? *R->p++ : (R->bad = 1, 0u)) : u32(R);
    if (n > 1000) {
        R->bad = 1;
        return;
    }
    for (uint32_t i = 0; i < n && !R->bad; i++) {
        pyval e = read_obj(R, NULL, NULL, NULL, NULL);
        if (items && *n_items < MAX_CONSTS)
            items[(*n_items)++] = e;
        else if (items)
            R->bad = 1;
    }
}

/* Reads one object; numbers are returned, strings are skipped (out_bytes gets a string's
 * bytes when asked), tuples are read into 'items'. */
static pyval read_obj(reader *R, const unsigned char **out_bytes, size_t *out_len,
                      pyval *items, int *n_items)
{
    pyval v = { K_OTHER, 0 };
    if (R->bad || R->p >= R->end || ++R->depth > 16) {
        R->bad = 1;
        return v;
    }
    int type = *R->p & 0x7f, ref = *R->p & 0x80;
    R->p++;
    int slot = -1;
    if (ref) {
        if (R->n_refs >= MAX_REFS) {
            R->bad = 1;
            return v;
        }
        slot = R->n_refs++; /* reserve before children, as CPython does */
    }
    switch (type) {
    case 'N': v.kind = K_NONE; break;
    case 'F': case 'T': break;
    case 'i': v.kind = K_NUM; v.num = (double)(int32_t)u32(R); break;
    case 'g': v = read_double(R); break;
    case 's': case 'a': case 'A': case 'u': case 't': read_string(R, 0, out_bytes, out_len); break;
    case 'z': case 'Z': read_string(R, 1, NULL, NULL); break;
    case ')': case '(': read_tuple(R, type, items, n_items); break;
    case 'r': {
        uint32_t i = u32(R);
        if (i < (uint32_t)R->n_refs)
            v = R->refs[i];
        else
            R->bad = 1;
        break;
    }
    default:
        R->bad = 1; /* anything else means this is not a plain lambda */
        break;
    }
    if (slot >= 0)
        R->refs[slot] = v;
    R->depth--;
    return v;
}

/* ---- bytecode ------------------------------------------------------------------------------ */

enum {
    NOP = 9, UNARY_NEGATIVE = 11, BINARY_MULTIPLY = 20, BINARY_ADD = 23, BINARY_SUBTRACT = 24,
    BINARY_TRUE_DIVIDE = 27, RETURN_VALUE = 83, HAVE_ARGUMENT = 90, LOAD_CONST = 100,
    BINARY_OP = 122, LOAD_FAST = 124, RESUME = 151, CACHE = 0,
};

#define MAX_STACK 16

typedef struct {
    char *s[MAX_STACK];
    int n;
} stack;

static void stack_free(stack *S)
{
    for (int i = 0; i < S->n; i++)
        free(S->s[i]);
    S->n = 0;
}

static int push(stack *S, char *s)
{
    if (S->n == MAX_STACK) {
        free(s);
        return 0;
    }
    S->s[S->n++] = s;
    return 1;
}

static int binary(stack *S, char op)
{
    if (S->n < 2)
        return 0;
    char *b = S->s[--S->n], *a = S->s[--S->n];
    char *r = tlr_xasprintf("(%s %c %s)", a, op, b);
    free(a);
    free(b);
    return push(S, r);
}

/* Interprets the instructions; 'wide' selects 2-byte wordcode (3.6+) over 3.5's 1/3-byte
 * encoding.  Returns the formula or NULL. */
static char *interpret(const unsigned char *code, size_t len, int wide, const pyval *consts,
                       int n_consts)
{
    stack S = { { 0 }, 0 };
    size_t i = 0;
    char *result = NULL;
    while (i < len) {
        int op = code[i], arg = 0;
        if (wide) {
            if (i + 1 >= len)
                break;
            arg = code[i + 1];
            i += 2;
        } else if (op >= HAVE_ARGUMENT) {
            if (i + 2 >= len)
                break;
            arg = code[i + 1] | code[i + 2] << 8;
            i += 3;
        } else {
            i += 1;
        }
        int ok = 1;
        switch (op) {
        case CACHE: case NOP: case RESUME:
            ok = wide;
            break;
        case LOAD_FAST:
            ok = arg == 0 && push(&S, tlr_xstrdup("x"));
            break;
        case LOAD_CONST:
            ok = arg < n_consts && consts[arg].kind == K_NUM &&
                 push(&S, tlr_xasprintf("%.17g", consts[arg].num));
            break;
        case UNARY_NEGATIVE:
            if ((ok = S.n >= 1)) {
                char *r = tlr_xasprintf("(-%s)", S.s[S.n - 1]);
                free(S.s[S.n - 1]);
                S.s[S.n - 1] = r;
            }
            break;
        case BINARY_ADD: ok = binary(&S, '+'); break;
        case BINARY_SUBTRACT: ok = binary(&S, '-'); break;
        case BINARY_MULTIPLY: ok = binary(&S, '*'); break;
        case BINARY_TRUE_DIVIDE: ok = binary(&S, '/'); break;
        case BINARY_OP: /* 3.11+: the argument says which operator */
            ok = wide && (arg == 0 ? binary(&S, '+') : arg == 10 ? binary(&S, '-')
                        : arg == 5 ? binary(&S, '*') : arg == 11 ? binary(&S, '/') : 0);
            break;
        case RETURN_VALUE:
            if (S.n == 1 && i == len) {
                result = S.s[0];
                S.n = 0;
            }
            ok = 0;
            break;
        default:
            ok = 0;
        }
        if (!ok)
            break;
    }
    stack_free(&S);
    return result;
}

char *tlr_pylambda_formula_bytes(const unsigned char *buf, size_t len)
{
    if (len < 30 || (buf[0] & 0x7f) != 'c')
        return NULL;
    /* The header holds 5 int32 fields (3.5-3.7, 3.11+) or 6 (3.8-3.10) before the bytecode
     * string; argcount comes first and must be 1. */
    if (buf[1] != 1 || buf[2] || buf[3] || buf[4])
        return NULL;
    for (int fields = 5; fields <= 6; fields++) {
        size_t at = 1 + 4 * (size_t)fields;
        if (at >= len || (buf[at] & 0x7f) != 's')
            continue;
        reader R = { buf + at, buf + len, { { 0, 0 } }, 0, 0, 0 };
        const unsigned char *code = NULL;
        size_t code_len = 0;
        read_obj(&R, &code, &code_len, NULL, NULL);
        pyval consts[MAX_CONSTS];
        int n_consts = 0;
        read_obj(&R, NULL, NULL, consts, &n_consts);
        if (R.bad || !code)
            continue;
        /* 3.6+ wordcode first (the common case), then 3.5's variable-length form */
        char *f = interpret(code, code_len, 1, consts, n_consts);
        if (!f)
            f = interpret(code, code_len, 0, consts, n_consts);
        if (f)
            return f;
    }
    return NULL;
}

/* ---- the JSON field ---------------------------------------------------------------------- */

/* Keras 1 stored the bytes as a string of code points 0..255; UTF-8 in our JSON. */
static unsigned char *latin1_bytes(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = tlr_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[k++] = c;
        } else if (c == 0xEE && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   (unsigned char)s[i + 2] == 0x80) {
            out[k++] = 0; /* U+E000: an escaped NUL (see json.h) */
            i += 2;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n && c <= 0xC3) {
            out[k++] = (unsigned char)(((c & 0x1F) << 6) | ((unsigned char)s[++i] & 0x3F));
        } else {
            free(out);
            return NULL; /* a code point above 255: not raw bytes */
        }
    }
    *len = k;
    return out;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Keras 2.1+ base64 (with newlines every 76 characters); NULL when not base64. */
static unsigned char *base64_bytes(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = tlr_xmalloc(n / 4 * 3 + 4);
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '\n' || c == '\r')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *len = k;
    return out;
}

char *tlr_pylambda_formula(const tlr_json *function)
{
    /* Keras 3: {"class_name": "__lambda__", "config": {"code": ..., "defaults", "closure"}} */
    if (tlr_json_is_object(function)) {
        const tlr_json *c = tlr_json_get(function, "config");
        if (!tlr_json_is_null(tlr_json_get(c, "defaults")) && tlr_json_get(c, "defaults"))
            return NULL;
        if (!tlr_json_is_null(tlr_json_get(c, "closure")) && tlr_json_get(c, "closure"))
            return NULL;
        function = tlr_json_get(c, "code");
    }
    const tlr_json *f = tlr_json_is_array(function) ? tlr_json_first(function) : function;
    const char *s = tlr_json_string(f, NULL);
    if (!s)
        return NULL;
    /* defaults or a closure would change the function's meaning */
    if (tlr_json_is_array(function) && tlr_json_size(function) > 1)
        for (const tlr_json *e = tlr_json_next(tlr_json_first(function)); e; e = tlr_json_next(e))
            if (!tlr_json_is_null(e))
                return NULL;
    size_t len = 0;
    unsigned char *bytes = base64_bytes(s, &len);
    char *formula = bytes ? tlr_pylambda_formula_bytes(bytes, len) : NULL;
    free(bytes);
    if (!formula && (bytes = latin1_bytes(s, &len))) {
        formula = tlr_pylambda_formula_bytes(bytes, len);
        free(bytes);
    }
    return formula;
}
