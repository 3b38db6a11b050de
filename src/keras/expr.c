/* expr.c - a recursive-descent parser into a small stack program, evaluated per element in
 * float32 (Keras computes Lambda formulas in float32 too). */
#include "keras/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

typedef enum {
    OP_X, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_ABS, OP_EXP, OP_LOG, OP_SQRT,
    OP_TANH, OP_SIGMOID, OP_RELU, OP_MIN, OP_MAX
} opcode;

typedef struct {
    opcode op;
    float value;
} instr;

#define MAX_PROG 256
#define MAX_DEPTH 64

struct tlr_expr {
    instr prog[MAX_PROG];
    int n;
    char *text;
};

typedef struct {
    const char *s, *start;
    tlr_expr *e;
    tlr_err *err;
    int failed, depth;
} parser;

static void emit(parser *P, opcode op, float v)
{
    if (P->e->n == MAX_PROG) {
        if (!P->failed)
            tlr_err_set(P->err, TLR_E_USAGE, "--lambda: expression '%s' is too long", P->start);
        P->failed = 1;
        return;
    }
    P->e->prog[P->e->n++] = (instr){ op, v };
}

static void fail(parser *P, const char *what)
{
    if (!P->failed)
        tlr_err_set(P->err, TLR_E_USAGE, "--lambda: '%s': %s at position %d", P->start, what,
                    (int)(P->s - P->start) + 1);
    P->failed = 1;
}

static void skip_ws(parser *P)
{
    while (isspace((unsigned char)*P->s))
        P->s++;
}

static int accept(parser *P, char c)
{
    skip_ws(P);
    if (*P->s == c) {
        P->s++;
        return 1;
    }
    return 0;
}

static void expr(parser *P);

static const struct { const char *name; opcode op; int args; } funcs[] = {
    { "abs", OP_ABS, 1 }, { "exp", OP_EXP, 1 }, { "log", OP_LOG, 1 }, { "sqrt", OP_SQRT, 1 },
    { "tanh", OP_TANH, 1 }, { "sigmoid", OP_SIGMOID, 1 }, { "relu", OP_RELU, 1 },
    { "min", OP_MIN, 2 }, { "max", OP_MAX, 2 },
};

static void primary(parser *P)
{
    skip_ws(P);
    if (++P->depth > MAX_DEPTH) {
        fail(P, "nesting too deep");
        return;
    }
    if (accept(P, '(')) {
        expr(P);
        if (!accept(P, ')'))
            fail(P, "')' expected");
    } else if (accept(P, '-')) {
        primary(P);
        emit(P, OP_NEG, 0);
    } else if (accept(P, '+')) {
        primary(P);
    } else if (isdigit((unsigned char)*P->s) || *P->s == '.') {
        char *end;
        double v = strtod(P->s, &end);
        if (end == P->s)
            fail(P, "number expected");
        P->s = end;
        emit(P, OP_CONST, (float)v);
    } else if (isalpha((unsigned char)*P->s)) {
        const char *w = P->s;
        while (isalnum((unsigned char)*P->s) || *P->s == '_')
            P->s++;
        size_t len = (size_t)(P->s - w);
        if (len == 1 && *w == 'x') {
            emit(P, OP_X, 0);
        } else {
            size_t k = 0;
            while (k < sizeof funcs / sizeof funcs[0] &&
                   !(strlen(funcs[k].name) == len && strncmp(funcs[k].name, w, len) == 0))
                k++;
            if (k == sizeof funcs / sizeof funcs[0] || !accept(P, '(')) {
                P->s = w;
                fail(P, "unknown name (use x, numbers, + - * /, abs, exp, log, sqrt, tanh, "
                        "sigmoid, relu, min, max)");
            } else {
                expr(P);
                if (funcs[k].args == 2) {
                    if (!accept(P, ','))
                        fail(P, "',' expected");
                    expr(P);
                }
                if (!accept(P, ')'))
                    fail(P, "')' expected");
                emit(P, funcs[k].op, 0);
            }
        }
    } else {
        fail(P, *P->s ? "unexpected character" : "unexpected end");
    }
    P->depth--;
}

static void term(parser *P)
{
    primary(P);
    for (;;) {
        if (accept(P, '*')) {
            primary(P);
            emit(P, OP_MUL, 0);
        } else if (accept(P, '/')) {
            primary(P);
            emit(P, OP_DIV, 0);
        } else {
            return;
        }
    }
}

static void expr(parser *P)
{
    term(P);
    for (;;) {
        if (accept(P, '+')) {
            term(P);
            emit(P, OP_ADD, 0);
        } else if (accept(P, '-')) {
            term(P);
            emit(P, OP_SUB, 0);
        } else {
            return;
        }
    }
}

tlr_expr *tlr_expr_compile(const char *text, tlr_err *err)
{
    tlr_expr *e = tlr_xcalloc(1, sizeof *e);
    parser P = { text, text, e, err, 0, 0 };
    expr(&P);
    skip_ws(&P);
    if (!P.failed && *P.s)
        fail(&P, "unexpected text");
    if (P.failed) {
        free(e);
        return NULL;
    }
    e->text = tlr_xstrdup(text);
    return e;
}

void tlr_expr_free(tlr_expr *e)
{
    if (!e)
        return;
    free(e->text);
    free(e);
}

const char *tlr_expr_text(const tlr_expr *e)
{
    return e->text;
}

static float eval(const tlr_expr *e, float x)
{
    float st[MAX_PROG];
    int sp = 0;
    for (int i = 0; i < e->n; i++) {
        const instr *in = &e->prog[i];
        switch (in->op) {
        case OP_X: st[sp++] = x; break;
        case OP_CONST: st[sp++] = in->value; break;
        case OP_ADD: sp--; st[sp - 1] += st[sp]; break;
        case OP_SUB: sp--; st[sp - 1] -= st[sp]; break;
        case OP_MUL: sp--; st[sp - 1] *= st[sp]; break;
        case OP_DIV: sp--; st[sp - 1] /= st[sp]; break;
        case OP_MIN: sp--; st[sp - 1] = fminf(st[sp - 1], st[sp]); break;
        case OP_MAX: sp--; st[sp - 1] = fmaxf(st[sp - 1], st[sp]); break;
        case OP_NEG: st[sp - 1] = -st[sp - 1]; break;
        case OP_ABS: st[sp - 1] = fabsf(st[sp - 1]); break;
        case OP_EXP: st[sp - 1] = expf(st[sp - 1]); break;
        case OP_LOG: st[sp - 1] = logf(st[sp - 1]); break;
        case OP_SQRT: st[sp - 1] = sqrtf(st[sp - 1]); break;
        case OP_TANH: st[sp - 1] = tanhf(st[sp - 1]); break;
        case OP_SIGMOID: st[sp - 1] = 1.0f / (1.0f + expf(-st[sp - 1])); break;
        case OP_RELU: st[sp - 1] = st[sp - 1] > 0.0f ? st[sp - 1] : 0.0f; break;
        }
    }
    return st[0];
}

void tlr_expr_apply(const tlr_expr *e, const float *x, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = eval(e, x[i]);
}
