/* test_pylambda.c - Lambda formulas recovered from marshalled CPython code objects.
 * The byte strings are written by hand from CPython's marshal format (Python/marshal.c) and
 * opcode tables (Include/opcode.h) for `lambda x: x / 127.5 - 1.0` in three eras. */
#include <stdlib.h>

#include "base/buf.h"
#include "harness.h"
#include "base/json.h"
#include "keras/pylambda.h"

/* code object header: 'c', argcount 1, then (fields - 1) more int32 zeros/values */
#define HDR5 0xe3, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x43, 0, 0, 0
#define HDR6 0xe3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x43, 0, 0, 0
/* consts (None, 127.5, 1.0): small tuple of 'N', two binary floats */
#define CONSTS 0x29, 3, 'N', 'g', 0, 0, 0, 0, 0, 0xe0, 0x5f, 0x40, \
                           'g', 0, 0, 0, 0, 0, 0, 0xf0, 0x3f

static void check(const char *what, const unsigned char *b, size_t n, const char *want)
{
    char *got = tlr_pylambda_formula_bytes(b, n);
    if (want)
        STR_EQ(got, want, what);
    else
        CHECK(got == NULL, "%s: expected no formula, got %s", what, got ? got : "");
    free(got);
}

void test_pylambda(void)
{
    /* CPython 3.5: LOAD_FAST 0; LOAD_CONST 1; BINARY_TRUE_DIVIDE; LOAD_CONST 2;
     * BINARY_SUBTRACT; RETURN_VALUE (arguments take two bytes) */
    const unsigned char py35[] = { HDR5, 's', 12, 0, 0, 0, 124, 0, 0, 100, 1, 0, 27, 100, 2, 0,
                                   24, 83, CONSTS };
    check("3.5 bytecode", py35, sizeof py35, "((x / 127.5) - 1)");
    /* CPython 3.8: six header fields, wordcode */
    const unsigned char py38[] = { HDR6, 's', 12, 0, 0, 0, 124, 0, 100, 1, 27, 0, 100, 2, 24, 0,
                                   83, 0, CONSTS };
    check("3.8 wordcode", py38, sizeof py38, "((x / 127.5) - 1)");
    /* CPython 3.11: RESUME, BINARY_OP with its argument and a cache entry */
    const unsigned char py311[] = { HDR5, 's', 18, 0, 0, 0, 151, 0, 124, 0, 100, 1, 122, 11, 0, 0,
                                    100, 2, 122, 10, 0, 0, 83, 0, CONSTS };
    check("3.11 BINARY_OP", py311, sizeof py311, "((x / 127.5) - 1)");
    /* unary minus and a multiply: lambda x: -x * 127.5 (3.8) */
    const unsigned char neg[] = { HDR6, 's', 10, 0, 0, 0, 124, 0, 11, 0, 100, 1, 20, 0, 83, 0,
                                  CONSTS };
    check("unary minus", neg, sizeof neg, "((-x) * 127.5)");
    /* a call (LOAD_GLOBAL 116) is not arithmetic */
    const unsigned char call[] = { HDR6, 's', 8, 0, 0, 0, 116, 0, 124, 0, 131, 1, 83, 0, CONSTS };
    check("function call", call, sizeof call, NULL);
    /* two arguments */
    unsigned char two[sizeof py38];
    memcpy(two, py38, sizeof two);
    two[1] = 2;
    check("two arguments", two, sizeof two, NULL);
    /* truncated */
    check("truncated", py38, 30, NULL);
    /* a string constant used as a number */
    const unsigned char strc[] = { HDR6, 's', 6, 0, 0, 0, 124, 0, 100, 0, 27, 0, 83, 0,
                                   0x29, 1, 'z', 1, 'a' };
    check("string constant", strc, sizeof strc, NULL);

    /* through the JSON field: base64 (Keras 2.1+), with defaults/closure null */
    /* the 3.8 bytes above, base64-encoded by Python's base64.encodebytes */
    const char *b64 = "[\"4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMMAAAAfABkARsAZAIYAFMAKQNOZwAAAAAA4F9AZwAA\\n"
                      "AAAAAPA/\\n\", null, null]";
    tlr_err err = { 0 };
    tlr_json *j = tlr_json_parse(b64, strlen(b64), "b64", &err);
    char *f = tlr_pylambda_formula(j);
    STR_EQ(f, "((x / 127.5) - 1)", "base64 field (Keras 2.1+)");
    free(f);
    tlr_json_free(j);
    /* defaults make it something else */
    const char *withdef = "[\"4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMMAAAAfABkARsAZAIYAFMAKQNOZwAAAAAA4F9AZwAA\\n"
                          "AAAAAPA/\\n\", [2.0], null]";
    j = tlr_json_parse(withdef, strlen(withdef), "def", &err);
    f = tlr_pylambda_formula(j);
    CHECK(f == NULL, "defaults: no formula");
    free(f);
    tlr_json_free(j);
    /* Keras 1 raw bytes with escaped NULs: the 3.5 bytes as \u escapes */
    tlr_buf raw = TLR_BUF_INIT;
    tlr_buf_puts(&raw, "[\"");
    for (size_t i = 0; i < sizeof py35; i++)
        tlr_buf_printf(&raw, "\\u%04x", py35[i]);
    tlr_buf_puts(&raw, "\", null, null]");
    j = tlr_json_parse(raw.data, raw.len, "raw", &err);
    f = tlr_pylambda_formula(j);
    STR_EQ(f, "((x / 127.5) - 1)", "raw latin-1 field with NULs (Keras 1)");
    free(f);
    tlr_json_free(j);
    tlr_buf_free(&raw);
}
