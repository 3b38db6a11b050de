/* test_json.c - JSON parsing tolerance and building. */
#include <stdlib.h>

#include "harness.h"
#include "base/json.h"

static void parses_python_nonfinite(void)
{
    const char *txt = "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity, \"s\": \"NaN Infinity\"}";
    tlr_err err = {0};
    tlr_json *j = tlr_json_parse(txt, strlen(txt), "cfg", &err);
    OK(j != NULL, "NaN/Infinity parse");
    OK(tlr_json_is_null(tlr_json_get(j, "a")), "NaN becomes null");
    OK(isinf(tlr_json_get_number(j, "b", 0)) && tlr_json_get_number(j, "b", 0) > 0, "Infinity");
    OK(isinf(tlr_json_get_number(j, "c", 0)) && tlr_json_get_number(j, "c", 0) < 0, "-Infinity");
    STR_EQ(tlr_json_get_string(j, "s", NULL), "NaN Infinity", "strings untouched");
    tlr_json_free(j);
}

static void rejects_bad_json(void)
{
    tlr_err err = {0};
    const char *bad = "{\"a\": [1, 2}";
    OK(tlr_json_parse(bad, strlen(bad), "x.json", &err) == NULL, "malformed rejected");
    STR_CONTAINS(err.msg, "x.json: invalid JSON", "error names the source");
    const char *trail = "{} {}";
    OK(tlr_json_parse(trail, strlen(trail), "t", &err) == NULL, "trailing data rejected");
    const char *esc = "\"a\\\"NaN\"";
    tlr_json *j = tlr_json_parse(esc, strlen(esc), "e", &err);
    STR_EQ(tlr_json_string(j, NULL), "a\"NaN", "escaped quote keeps string state");
    tlr_json_free(j);
}

static void builds_and_prints(void)
{
    tlr_json *o = tlr_json_new_object();
    tlr_json_add_number(o, "n", 3);
    tlr_json_add_string(o, "s", "x");
    tlr_json *a = tlr_json_add_array(o, "a");
    tlr_json_push_number(a, 1.5);
    tlr_json_add_number(o, "nan", NAN);
    char *s = tlr_json_print(o, 0);
    STR_EQ(s, "{\"n\":3,\"s\":\"x\",\"a\":[1.5],\"nan\":null}", "compact print");
    free(s);
    INT_EQ(tlr_json_size(o), 4, "object size");
    tlr_json_free(o);
}

void test_json(void)
{
    parses_python_nonfinite();
    rejects_bad_json();
    builds_and_prints();
}
