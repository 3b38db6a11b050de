/* json.h - JSON values (the only module that includes cJSON).
 *
 * Parsing is tolerant of what Python's json.dumps writes but strict JSON forbids:
 * bare NaN, Infinity and -Infinity (they become null, 1e999 and -1e999).  A "\u0000" inside a
 * string becomes U+E000, since C strings cannot hold NUL (Keras 1 stored Lambda bytecode as
 * such strings).
 * A value returned by a getter is borrowed: it lives as long as the root it came from. */
#ifndef TLR_JSON_H
#define TLR_JSON_H

#include <stddef.h>

#include "base/err.h"

typedef struct cJSON tlr_json;

/* Parses 'len' bytes of 'text' ('what' names the source in errors).
 * Free the result with tlr_json_free(). Returns NULL and fills 'err' on failure. */
tlr_json *tlr_json_parse(const char *text, size_t len, const char *what, tlr_err *err);
void tlr_json_free(tlr_json *j);

/* Type tests; all return 0 for NULL. */
int tlr_json_is_object(const tlr_json *j);
int tlr_json_is_array(const tlr_json *j);
int tlr_json_is_string(const tlr_json *j);
int tlr_json_is_number(const tlr_json *j);
int tlr_json_is_bool(const tlr_json *j);
int tlr_json_is_null(const tlr_json *j);
int tlr_json_is_true(const tlr_json *j);

/* Object member by key (case-sensitive), NULL when absent or 'j' is not an object. */
tlr_json *tlr_json_get(const tlr_json *j, const char *key);
/* Array length or number of object members; 0 for anything else. */
size_t tlr_json_size(const tlr_json *j);
/* Array element i (O(i)); NULL when out of range. */
tlr_json *tlr_json_at(const tlr_json *j, size_t i);
/* Iteration over array elements or object members: first child, then next sibling. */
tlr_json *tlr_json_first(const tlr_json *j);
tlr_json *tlr_json_next(const tlr_json *j);
/* Key of an object member (during iteration), NULL otherwise. */
const char *tlr_json_key(const tlr_json *j);

/* Value accessors; 'dflt' when the value is missing or of another type. */
const char *tlr_json_string(const tlr_json *j, const char *dflt);
double tlr_json_number(const tlr_json *j, double dflt);
/* A number as an int, truncated toward zero and clamped to [INT_MIN, INT_MAX]; 'dflt' when
 * missing, not a number or not finite (so hostile values like 1e999 convert safely). */
int tlr_json_int(const tlr_json *j, int dflt);
/* Bools, plus numbers (0/1) as Keras 1 sometimes wrote them. */
int tlr_json_bool(const tlr_json *j, int dflt);

/* Shortcuts for a member: tlr_json_get then the accessor. */
const char *tlr_json_get_string(const tlr_json *j, const char *key, const char *dflt);
double tlr_json_get_number(const tlr_json *j, const char *key, double dflt);
int tlr_json_get_bool(const tlr_json *j, const char *key, int dflt);
int tlr_json_get_int(const tlr_json *j, const char *key, int dflt);

/* Building (for report data). Each add returns the added value, owned by the parent. */
tlr_json *tlr_json_new_object(void);
tlr_json *tlr_json_new_array(void);
tlr_json *tlr_json_add_object(tlr_json *obj, const char *key);
tlr_json *tlr_json_add_array(tlr_json *obj, const char *key);
tlr_json *tlr_json_add_string(tlr_json *obj, const char *key, const char *s);
tlr_json *tlr_json_add_number(tlr_json *obj, const char *key, double v);
tlr_json *tlr_json_add_bool(tlr_json *obj, const char *key, int v);
tlr_json *tlr_json_add_null(tlr_json *obj, const char *key);
/* Moves 'item' (which must have no parent) into 'obj' under 'key' (or to the end of an array
 * when 'obj' is an array and key is NULL). */
void tlr_json_add_item(tlr_json *obj, const char *key, tlr_json *item);
/* Appends to an array. */
tlr_json *tlr_json_push_object(tlr_json *arr);
tlr_json *tlr_json_push_array(tlr_json *arr);
tlr_json *tlr_json_push_string(tlr_json *arr, const char *s);
tlr_json *tlr_json_push_number(tlr_json *arr, double v);
/* Replaces (or adds) obj[key]. */
void tlr_json_set_item(tlr_json *obj, const char *key, tlr_json *item);
void tlr_json_set_bool(tlr_json *obj, const char *key, int v);
/* Deep copy; free with tlr_json_free(). */
tlr_json *tlr_json_copy(const tlr_json *j);

/* Serialises; the caller frees the result with free(). Pretty output is cJSON's
 * tab-indented form with keys in insertion order, so equal inputs give equal bytes. */
char *tlr_json_print(const tlr_json *j, int pretty);

#endif
