/* pylambda.h - recovering simple Lambda formulas from the Python bytecode Keras stored.
 *
 * Keras serialises `Lambda(lambda x: x / 127.5 - 1.0)` as the marshalled code object of the
 * function (raw bytes in a JSON string, or base64 from Keras 2.1 on).  Behavioural-cloning
 * style models nearly always use such an affine normalisation.  This module reads the code
 * object of CPython 3.5 to 3.12 far enough to recognise straight-line arithmetic on the one
 * argument and constants (+ - * / and unary minus); anything else is left alone, so a
 * formula is either recovered exactly or not at all. */
#ifndef TLR_PYLAMBDA_H
#define TLR_PYLAMBDA_H

#include <stddef.h>

#include "base/json.h"

/* The formula of a Lambda layer's "function" config value, as text for tlr_expr_compile
 * ("(x / 127.5) - 1"), or NULL when it is not straight-line arithmetic of x.  Free with
 * free(). */
char *tlr_pylambda_formula(const tlr_json *function);

/* The same from marshalled code object bytes (for tests). */
char *tlr_pylambda_formula_bytes(const unsigned char *code, size_t len);

#endif
