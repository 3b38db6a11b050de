/* test_checks.c - the --check file format: every kind of check parses into its fields, and
 * every malformed line is a usage error naming file:line.  (Evaluation, with exit status
 * 3, is in tests/cli/checks.sh.) */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "base/buf.h"
#include "base/json.h"
#include "report/checks.h"

static tlr_checks *parse(const char *text, int has_compare, int has_labels, tlr_err *err)
{
    memset(err, 0, sizeof *err);
    return tlr_checks_parse(text, strlen(text), "ci.checks", has_compare, has_labels, err);
}

static void every_kind(void)
{
    const char *text =
        "# expectations for the course model\n"
        "\n"
        "total_params <= 20_000_000\n"
        "  trainable_params == 606593   # the head only\n"
        "non_trainable_params > 0\n"
        "layers != 7\n"
        "unchanged vgg16/*\n"
        "changed dense*\n"
        "rel_change dense_1 < 50%\n"
        "predict \"my cat.jpg\" class 1 >= 0.8\n"
        "predict dog.png class perro >= 1e-1\n"
        "accuracy >= 0.9\n";
    tlr_err err;
    tlr_checks *c = parse(text, 1, 1, &err);
    CHECK(c != NULL, "valid file: %s", err.msg);
    if (!c)
        return;
    INT_EQ(c->n, 10, "one check per line, comments and blanks skipped");
    INT_EQ(c->items[0].line, 3, "line numbers count every line");
    INT_EQ(c->items[0].kind, TLR_CHECK_TOTAL_PARAMS, "kind");
    INT_EQ(c->items[0].op, TLR_CK_LE, "operator");
    NEAR(c->items[0].value, 20000000, 0, "'_' between digits");
    STR_EQ(c->items[1].text, "trainable_params == 606593", "text without its comment");
    INT_EQ(c->items[3].op, TLR_CK_NE, "!=");
    STR_EQ(c->items[4].pattern, "vgg16/*", "glob");
    INT_EQ(c->items[5].kind, TLR_CHECK_CHANGED, "changed");
    NEAR(c->items[6].value, 0.5, 1e-12, "'%' divides by 100");
    INT_EQ(c->items[6].op, TLR_CK_LT, "<");
    STR_EQ(c->items[7].image, "my cat.jpg", "quoted image name");
    INT_EQ(c->items[7].class_index, 1, "class by index");
    OK(c->items[7].class_name == NULL, "no class name for an index");
    STR_EQ(c->items[8].class_name, "perro", "class by label");
    NEAR(c->items[8].value, 0.1, 1e-12, "exponent");
    INT_EQ(c->items[9].kind, TLR_CHECK_ACCURACY, "accuracy is accepted");
    OK(tlr_check_holds(&c->items[0], 15321281) && !tlr_check_holds(&c->items[0], 20000001),
       "<=");
    tlr_checks_free(c);
}

/* Each line is a usage error whose message starts with "ci.checks:LINE:" and says 'why'. */
static void refused(const char *text, int line, const char *why, int has_compare,
                    int has_labels)
{
    tlr_err err;
    tlr_checks *c = parse(text, has_compare, has_labels, &err);
    CHECK(c == NULL && err.code == TLR_E_USAGE, "'%s' was accepted", text);
    char where[32];
    snprintf(where, sizeof where, "ci.checks:%d:", line);
    CHECK(strncmp(err.msg, where, strlen(where)) == 0, "'%s': message '%s' does not start "
          "with %s", text, err.msg, where);
    STR_CONTAINS(err.msg, why, text);
    tlr_checks_free(c);
}

static void malformed(void)
{
    refused("total_params <= 1\nbogus_params <= 3\n", 2, "unknown check 'bogus_params'", 1, 1);
    refused("total_params =< 3\n", 1, "'=<' is not an operator", 1, 1);
    refused("total_params <= lots\n", 1, "'lots' is not a number", 1, 1);
    refused("total_params <=\n", 1, "expected an operator", 1, 1);
    refused("total_params <= 3 4\n", 1, "unexpected words", 1, 1);
    refused("# ok\nunchanged vgg16/*\n", 2, "give it with --compare", 0, 1);
    refused("rel_change dense <= 0.1\n", 1, "--compare", 0, 1);
    refused("unchanged\n", 1, "expected a layer path", 1, 1);
    refused("unchanged a b\n", 1, "unexpected words after the layer glob", 1, 1);
    refused("predict cat.jpg 1 >= 0.5\n", 1, "predict IMAGE class CLASS", 1, 1);
    refused("predict cat.jpg class cat >= 0.5\n", 1, "--labels", 1, 0);
    refused("predict \"cat.jpg class 1 >= 0.5\n", 1, "not closed", 1, 1);
    refused("accuracy >= nan\n", 1, "not a number", 1, 1);
    tlr_err err;
    static const char nul[] = "total_params <= 1\n\0\n";
    OK(tlr_checks_parse(nul, sizeof nul - 1, "ci.checks", 1, 1, &err) == NULL &&
       strstr(err.msg, "ci.checks:2: a NUL byte"), "a NUL byte is refused");
    OK(parse("# only comments\n\n", 1, 1, &err) == NULL && err.code == TLR_E_USAGE &&
       strstr(err.msg, "no check"), "a file without checks is refused");
    OK(tlr_checks_load("/nonexistent/ci.checks", 1, 1, &err) == NULL && err.code == TLR_E_IO,
       "a missing file is an I/O error");
}

/* The terminal lines name file:line and say why. */
static void failure_lines(void)
{
    const char *json =
        "{\"file\": \"ci.checks\", \"items\": ["
        "{\"line\": 3, \"text\": \"total_params <= 1\", \"status\": \"failed\", \"actual_str\": \"2,711\"},"
        "{\"line\": 4, \"text\": \"layers == 7\", \"status\": \"passed\", \"actual_str\": \"7\"},"
        "{\"line\": 5, \"text\": \"unchanged x*\", \"status\": \"failed\", \"reason\": \"no_match\"},"
        "{\"line\": 6, \"text\": \"accuracy >= 0.9\", \"status\": \"not_applicable\", \"reason\": \"no_labelled_folder\"}]}";
    tlr_err err = { 0 };
    tlr_json *j = tlr_json_parse(json, strlen(json), "test", &err);
    tlr_buf b = TLR_BUF_INIT;
    tlr_checks_failure_lines(j, &b);
    STR_EQ(tlr_buf_cstr(&b),
           "tlreport: check failed: ci.checks:3: total_params <= 1 (got 2,711)\n"
           "tlreport: check failed: ci.checks:5: unchanged x* (no layer matches)\n"
           "tlreport: check not applicable: ci.checks:6: accuracy >= 0.9 (no labelled folder)\n",
           "failure lines");
    tlr_buf_free(&b);
    tlr_json_free(j);
}

void test_checks(void)
{
    every_kind();
    malformed();
    failure_lines();
}
