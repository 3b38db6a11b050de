/* expr.h - elementwise arithmetic expressions of x, for Lambda layers.
 *
 * A Keras Lambda layer stores Python bytecode that tlreport cannot run; the common ones are
 * simple formulas such as `lambda x: x / 127.5 - 1.0`.  `--lambda NAME=EXPR` gives tlreport
 * the formula: numbers, x, + - * /, unary minus, parentheses, and the functions abs, exp,
 * log, sqrt, tanh, sigmoid, relu, min(a, b), max(a, b). */
#ifndef TLR_EXPR_H
#define TLR_EXPR_H

#include <stdint.h>

#include "base/err.h"

typedef struct tlr_expr tlr_expr;

/* Compiles 'text'; NULL + err (naming the position) when it is not a valid expression. */
tlr_expr *tlr_expr_compile(const char *text, tlr_err *err);
void tlr_expr_free(tlr_expr *e);
/* The expression as given (for reports). */
const char *tlr_expr_text(const tlr_expr *e);

/* out[i] = e(x[i]) for n values (out may equal x). */
void tlr_expr_apply(const tlr_expr *e, const float *x, float *out, int64_t n);

#endif
