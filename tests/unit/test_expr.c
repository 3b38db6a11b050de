/* test_expr.c - Lambda formulas: parsing, precedence, functions, errors. */
#include "keras/expr.h"
#include "harness.h"

static float run(const char *text, float x)
{
    tlr_err err = { 0 };
    tlr_expr *e = tlr_expr_compile(text, &err);
    if (!e)
        return -12345.0f;
    float y;
    tlr_expr_apply(e, &x, &y, 1);
    tlr_expr_free(e);
    return y;
}

void test_expr(void)
{
    NEAR(run("x/127.5 - 1", 255.0f), 1.0, 1e-6, "x/127.5-1 at 255");
    NEAR(run("x/127.5 - 1", 0.0f), -1.0, 1e-6, "x/127.5-1 at 0");
    NEAR(run("x / 255.0 - 0.5", 51.0f), -0.3, 1e-6, "x/255-0.5");
    NEAR(run("2 + 3 * x", 2.0f), 8.0, 0, "precedence: * before +");
    NEAR(run("(2 + 3) * x", 2.0f), 10.0, 0, "parentheses");
    NEAR(run("-x - -1", 3.0f), -2.0, 0, "unary minus");
    NEAR(run("10 - 4 - 3", 0.0f), 3.0, 0, "left associative minus");
    NEAR(run("8 / 4 / 2", 0.0f), 1.0, 0, "left associative division");
    NEAR(run("relu(x) + abs(x)", -2.0f), 2.0, 0, "relu and abs");
    NEAR(run("max(x, 0.5) + min(x, 0.25)", 0.0f), 0.5, 0, "min and max");
    NEAR(run("sigmoid(0) + tanh(0) + exp(0) + log(1) + sqrt(4)", 0.0f), 3.5, 1e-6, "functions");
    tlr_err err = { 0 };
    OK(tlr_expr_compile("x +", &err) == NULL, "incomplete expression");
    STR_CONTAINS(err.msg, "position 4", "error gives the position");
    OK(tlr_expr_compile("y * 2", &err) == NULL, "unknown name");
    STR_CONTAINS(err.msg, "unknown name", "unknown name message");
    OK(tlr_expr_compile("(x", &err) == NULL, "unclosed parenthesis");
    OK(tlr_expr_compile("x 2", &err) == NULL, "trailing text");
    OK(tlr_expr_compile("max(x)", &err) == NULL, "max needs two arguments");
    char deep[400];
    for (int i = 0; i < 150; i++)
        deep[i] = '(';
    deep[150] = 'x';
    for (int i = 0; i < 150; i++)
        deep[151 + i] = ')';
    deep[301] = '\0';
    OK(tlr_expr_compile(deep, &err) == NULL, "nesting bound");
}
