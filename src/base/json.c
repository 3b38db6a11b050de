/* json.c - thin layer over cJSON, plus the NaN/Infinity tolerance Keras files need. */
#include "base/json.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* Python writes NaN / Infinity / -Infinity outside strings; rewrite them to tokens
 * cJSON accepts (and an escaped NUL inside strings to U+E000, see below).  Returns a new
 * NUL-terminated string of length *out_len. */
static char *rewrite_nonfinite(const char *s, size_t n, size_t *out_len)
{
    tlr_buf b = TLR_BUF_INIT;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            /* C strings cannot hold NUL: keep an escaped NUL as U+E000 (private use), which
             * readers of byte strings (Lambda bytecode) map back to 0 */
            if (c == '\\' && n - i >= 6 && memcmp(s + i, "\\u0000", 6) == 0) {
                tlr_buf_puts(&b, "\\uE000");
                i += 5;
                continue;
            }
            tlr_buf_putc(&b, c);
            if (c == '\\' && i + 1 < n)
                tlr_buf_putc(&b, s[++i]);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == 'N' && n - i >= 3 && memcmp(s + i, "NaN", 3) == 0) {
            tlr_buf_puts(&b, "null");
            i += 2;
            continue;
        } else if (c == 'I' && n - i >= 8 && memcmp(s + i, "Infinity", 8) == 0) {
            tlr_buf_puts(&b, "1e999");
            i += 7;
            continue;
        }
        tlr_buf_putc(&b, c);
    }
    *out_len = b.len;
    return tlr_buf_detach(&b);
}

tlr_json *tlr_json_parse(const char *text, size_t len, const char *what, tlr_err *err)
{
    size_t n = 0;
    char *clean = rewrite_nonfinite(text, len, &n);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(clean, n, &end, 0);
    if (!j) {
        size_t off = end && end >= clean ? (size_t)(end - clean) : 0;
        tlr_err_set(err, TLR_E_FORMAT, "%s: invalid JSON near byte %zu", what, off);
        free(clean);
        return NULL;
    }
    /* Only whitespace may follow the value. */
    while (end && (size_t)(end - clean) < n && strchr(" \t\r\n", *end) && *end)
        end++;
    if (end && (size_t)(end - clean) < n && *end) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: invalid JSON: trailing data at byte %zu", what,
                    (size_t)(end - clean));
        cJSON_Delete(j);
        free(clean);
        return NULL;
    }
    free(clean);
    return j;
}

void tlr_json_free(tlr_json *j)
{
    if (j)
        cJSON_Delete(j);
}

int tlr_json_is_object(const tlr_json *j) { return j && cJSON_IsObject(j); }
int tlr_json_is_array(const tlr_json *j) { return j && cJSON_IsArray(j); }
int tlr_json_is_string(const tlr_json *j) { return j && cJSON_IsString(j); }
int tlr_json_is_number(const tlr_json *j) { return j && cJSON_IsNumber(j); }
int tlr_json_is_bool(const tlr_json *j) { return j && cJSON_IsBool(j); }
int tlr_json_is_null(const tlr_json *j) { return j && cJSON_IsNull(j); }
int tlr_json_is_true(const tlr_json *j) { return j && cJSON_IsTrue(j); }

tlr_json *tlr_json_get(const tlr_json *j, const char *key)
{
    if (!tlr_json_is_object(j))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(j, key);
}

size_t tlr_json_size(const tlr_json *j)
{
    if (!tlr_json_is_array(j) && !tlr_json_is_object(j))
        return 0;
    size_t n = 0;
    for (const cJSON *c = j->child; c; c = c->next)
        n++;
    return n;
}

tlr_json *tlr_json_at(const tlr_json *j, size_t i)
{
    if (!tlr_json_is_array(j))
        return NULL;
    cJSON *c = j->child;
    while (c && i--)
        c = c->next;
    return c;
}

tlr_json *tlr_json_first(const tlr_json *j)
{
    if (!tlr_json_is_array(j) && !tlr_json_is_object(j))
        return NULL;
    return j->child;
}

tlr_json *tlr_json_next(const tlr_json *j)
{
    return j ? j->next : NULL;
}

const char *tlr_json_key(const tlr_json *j)
{
    return j ? j->string : NULL;
}

const char *tlr_json_string(const tlr_json *j, const char *dflt)
{
    return tlr_json_is_string(j) && j->valuestring ? j->valuestring : dflt;
}

double tlr_json_number(const tlr_json *j, double dflt)
{
    return tlr_json_is_number(j) ? j->valuedouble : dflt;
}

int tlr_json_int(const tlr_json *j, int dflt)
{
    if (!tlr_json_is_number(j) || !isfinite(j->valuedouble))
        return dflt;
    double v = j->valuedouble;
    /* Converting an out-of-range double to int is undefined behaviour: clamp first. */
    if (v <= (double)INT_MIN)
        return INT_MIN;
    if (v >= (double)INT_MAX)
        return INT_MAX;
    return (int)v;
}

int tlr_json_bool(const tlr_json *j, int dflt)
{
    if (tlr_json_is_bool(j))
        return cJSON_IsTrue(j);
    if (tlr_json_is_number(j))
        return j->valuedouble != 0.0;
    return dflt;
}

const char *tlr_json_get_string(const tlr_json *j, const char *key, const char *dflt)
{
    return tlr_json_string(tlr_json_get(j, key), dflt);
}

double tlr_json_get_number(const tlr_json *j, const char *key, double dflt)
{
    return tlr_json_number(tlr_json_get(j, key), dflt);
}

int tlr_json_get_bool(const tlr_json *j, const char *key, int dflt)
{
    return tlr_json_bool(tlr_json_get(j, key), dflt);
}

int tlr_json_get_int(const tlr_json *j, const char *key, int dflt)
{
    return tlr_json_int(tlr_json_get(j, key), dflt);
}

tlr_json *tlr_json_new_object(void) { return cJSON_CreateObject(); }
tlr_json *tlr_json_new_array(void) { return cJSON_CreateArray(); }

void tlr_json_add_item(tlr_json *obj, const char *key, tlr_json *item)
{
    TLR_ASSERT(obj && item);
    if (cJSON_IsArray(obj) && !key)
        cJSON_AddItemToArray(obj, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

static tlr_json *add(tlr_json *obj, const char *key, cJSON *item)
{
    TLR_ASSERT(item);
    tlr_json_add_item(obj, key, item);
    return item;
}

tlr_json *tlr_json_add_object(tlr_json *obj, const char *key) { return add(obj, key, cJSON_CreateObject()); }
tlr_json *tlr_json_add_array(tlr_json *obj, const char *key) { return add(obj, key, cJSON_CreateArray()); }
tlr_json *tlr_json_add_string(tlr_json *obj, const char *key, const char *s)
{
    return add(obj, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}
tlr_json *tlr_json_add_number(tlr_json *obj, const char *key, double v)
{
    return add(obj, key, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}
tlr_json *tlr_json_add_bool(tlr_json *obj, const char *key, int v) { return add(obj, key, cJSON_CreateBool(v)); }
tlr_json *tlr_json_add_null(tlr_json *obj, const char *key) { return add(obj, key, cJSON_CreateNull()); }

tlr_json *tlr_json_push_object(tlr_json *arr) { return tlr_json_add_object(arr, NULL); }
tlr_json *tlr_json_push_array(tlr_json *arr) { return tlr_json_add_array(arr, NULL); }
tlr_json *tlr_json_push_string(tlr_json *arr, const char *s) { return tlr_json_add_string(arr, NULL, s); }
tlr_json *tlr_json_push_number(tlr_json *arr, double v) { return tlr_json_add_number(arr, NULL, v); }

void tlr_json_set_item(tlr_json *obj, const char *key, tlr_json *item)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

void tlr_json_set_bool(tlr_json *obj, const char *key, int v)
{
    tlr_json_set_item(obj, key, cJSON_CreateBool(v));
}

tlr_json *tlr_json_copy(const tlr_json *j)
{
    return j ? cJSON_Duplicate(j, 1) : NULL;
}

char *tlr_json_print(const tlr_json *j, int pretty)
{
    char *s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    if (!s)
        return tlr_xstrdup("null");
    return s;
}
