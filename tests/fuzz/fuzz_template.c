/* fuzz_template.c - libFuzzer target: template text + fixed report-like JSON -> render.
 * The input is "<template>\0<partial>": partial names starting with 's' load the template
 * itself (self-inclusion), "none" is missing, any other name loads the partial part.
 * The escape mode comes from the input length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "report/template.h"

static const char fuzz_template_data[] =
    "{\"model\":{\"name\":\"<script>alert(1)</script>\",\"params\":1234567,\"ratio\":0.1,"
    "\"big\":1e999,\"none\":null,\"ok\":true,\"empty\":\"\",\"zero\":0},"
    "\"layers\":[{\"name\":\"conv2d\",\"shape\":[null,26,26,32],\"params\":320,"
    "\"kids\":[{\"name\":\"a|b\"},{\"name\":\"*bold*\"}]},"
    "{\"name\":\"../../etc/x\",\"shape\":[],\"params\":0,\"kids\":[]}],"
    "\"nested\":{\"a\":{\"b\":{\"c\":\"deep & \\\"quoted\\\"\"}}},\"list\":[1,2,3]}";

typedef struct {
    const char *tmpl, *partial;
    size_t tmpl_len, partial_len;
} fuzz_template_parts;

static char *fuzz_template_loader(void *ctx, const char *name, size_t *len, tlr_err *err)
{
    const fuzz_template_parts *p = ctx;
    if (strcmp(name, "none") == 0) {
        tlr_err_set(err, TLR_E_IO, "partial '%s' is missing", name);
        return NULL;
    }
    int self = name[0] == 's';
    *len = self ? p->tmpl_len : p->partial_len;
    return tlr_xstrndup(self ? p->tmpl : p->partial, *len);
}

static tlr_status fuzz_template_run(const uint8_t *data, size_t size, tlr_err *err)
{
    static tlr_json *json;
    if (!json)
        json = tlr_json_parse(fuzz_template_data, sizeof fuzz_template_data - 1, "data", err);
    if (!json)
        return err->code;
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    fuzz_template_parts p = { text, "", nul ? (size_t)(nul - text) : size, 0 };
    if (nul) {
        p.partial = nul + 1;
        p.partial_len = size - p.tmpl_len - 1;
    }
    tlr_template_escape esc = (tlr_template_escape)(size % 3);
    char *out = tlr_template_render(p.tmpl, p.tmpl_len, "fuzz.mustache", json, esc,
                                    fuzz_template_loader, &p, err);
    if (!out)
        return err->code;
    free(out);
    return TLR_OK;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_template_run(data, size, &err);
    return 0;
}
#endif
