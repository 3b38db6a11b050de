/* checks.c - the --check file: tokens, one check per line, usage errors naming file:line
 * (the format is in checks.h); and the terminal lines for checks that did not pass. */
#include "report/checks.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/xalloc.h"

#define MAX_CHECK_FILE ((size_t)1 << 20)
#define MAX_TOKENS 8

static const char *const kind_names[TLR_CHECK_KIND_COUNT] = {
    [TLR_CHECK_TOTAL_PARAMS] = "total_params",
    [TLR_CHECK_TRAINABLE_PARAMS] = "trainable_params",
    [TLR_CHECK_NON_TRAINABLE_PARAMS] = "non_trainable_params",
    [TLR_CHECK_LAYERS] = "layers",
    [TLR_CHECK_UNCHANGED] = "unchanged",
    [TLR_CHECK_CHANGED] = "changed",
    [TLR_CHECK_REL_CHANGE] = "rel_change",
    [TLR_CHECK_PREDICT] = "predict",
    [TLR_CHECK_ACCURACY] = "accuracy",
};

const char *tlr_check_kind_name(tlr_check_kind k)
{
    return k < TLR_CHECK_KIND_COUNT ? kind_names[k] : "?";
}

int tlr_check_holds(const tlr_check *c, double got)
{
    double v = c->value;
    switch (c->op) {
    case TLR_CK_EQ: return got == v;
    case TLR_CK_NE: return got != v;
    case TLR_CK_LT: return got < v;
    case TLR_CK_LE: return got <= v;
    case TLR_CK_GT: return got > v;
    case TLR_CK_GE: return got >= v;
    }
    return 0;
}

/* ---- one line ---------------------------------------------------------------------------- */

typedef struct {
    char *tok[MAX_TOKENS];
    int n;
    const char *path;
    int line;
    tlr_err *err;
} line_toks;

static void toks_free(line_toks *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->tok[i]);
    t->n = 0;
}

static tlr_status bad(const line_toks *t, const char *what)
{
    return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: %s", t->path, t->line, what);
}

/* Splits 'ln' (n bytes) into tokens: spaces separate, "..." quotes, an unquoted '#' ends
 * the line.  *end receives where the check's text ends (before its comment). */
static tlr_status tokenize(const char *ln, size_t n, line_toks *t, size_t *end)
{
    size_t i = 0;
    *end = n;
    while (i < n) {
        while (i < n && isspace((unsigned char)ln[i]))
            i++;
        if (i == n || ln[i] == '#') {
            *end = i;
            break;
        }
        if (t->n == MAX_TOKENS)
            return bad(t, "too many words for one check");
        size_t start = i;
        if (ln[i] == '"') {
            const char *q = memchr(ln + i + 1, '"', n - i - 1);
            if (!q)
                return bad(t, "a quote (\") is not closed");
            start = i + 1;
            i = (size_t)(q - ln);
            t->tok[t->n++] = tlr_xstrndup(ln + start, i - start);
            i++;
            continue;
        }
        while (i < n && !isspace((unsigned char)ln[i]) && ln[i] != '#')
            i++;
        t->tok[t->n++] = tlr_xstrndup(ln + start, i - start);
    }
    while (*end > 0 && isspace((unsigned char)ln[*end - 1]))
        (*end)--;
    return TLR_OK;
}

static int parse_op(const char *s, tlr_check_op *op)
{
    static const struct { const char *s; tlr_check_op op; } ops[] = {
        { "==", TLR_CK_EQ }, { "!=", TLR_CK_NE }, { "<", TLR_CK_LT },
        { "<=", TLR_CK_LE }, { ">", TLR_CK_GT },  { ">=", TLR_CK_GE },
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(s, ops[i].s) == 0) {
            *op = ops[i].op;
            return 0;
        }
    return -1;
}

/* A number: digits with '_' between them allowed, a decimal point or exponent, and a
 * final '%' (divides by 100). */
static int parse_number(const char *s, double *out)
{
    char clean[64];
    size_t k = 0;
    for (const char *p = s; *p && k + 1 < sizeof clean; p++)
        if (*p != '_' || p == s || !isdigit((unsigned char)p[-1]) ||
            !isdigit((unsigned char)p[1]))
            clean[k++] = *p;
    clean[k] = '\0';
    int pct = k > 0 && clean[k - 1] == '%';
    if (pct)
        clean[--k] = '\0';
    char *end;
    double v = strtod(clean, &end);
    if (k == 0 || *end || strlen(s) >= sizeof clean || !isfinite(v))
        return -1;
    *out = pct ? v / 100 : v;
    return 0;
}

/* "OP NUMBER" at tokens i, i+1, ending the line. */
static tlr_status take_comparison(line_toks *t, int i, tlr_check *c)
{
    if (t->n != i + 2)
        return bad(t, t->n < i + 2 ? "expected an operator (== != < <= > >=) and a number"
                                   : "unexpected words after the number");
    if (parse_op(t->tok[i], &c->op))
        return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: '%s' is not an operator (== != < <= > "
                           ">=)", t->path, t->line, t->tok[i]);
    if (parse_number(t->tok[i + 1], &c->value))
        return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: '%s' is not a number", t->path, t->line,
                           t->tok[i + 1]);
    return TLR_OK;
}

/* predict IMAGE class CLASS OP P */
static tlr_status parse_predict(line_toks *t, tlr_check *c, int has_labels)
{
    if (t->n < 4 || strcmp(t->tok[2], "class") != 0)
        return bad(t, "expected: predict IMAGE class CLASS OP PROBABILITY");
    c->image = tlr_xstrdup(t->tok[1]);
    char *end;
    long idx = strtol(t->tok[3], &end, 10);
    if (!*end && t->tok[3][0] && idx >= 0 && idx < 1000000000L) {
        c->class_index = (int)idx;
    } else if (!has_labels) {
        return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: class '%s' is a name: give the class "
                           "names with --labels, or the class index", t->path, t->line,
                           t->tok[3]);
    } else {
        c->class_name = tlr_xstrdup(t->tok[3]);
    }
    return take_comparison(t, 4, c);
}

static tlr_status parse_kind(line_toks *t, tlr_check *c)
{
    for (int k = 0; k < TLR_CHECK_KIND_COUNT; k++)
        if (strcmp(t->tok[0], kind_names[k]) == 0) {
            c->kind = (tlr_check_kind)k;
            return TLR_OK;
        }
    return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: unknown check '%s' (total_params, "
                       "trainable_params, non_trainable_params, layers, unchanged, changed, "
                       "rel_change, predict, accuracy)", t->path, t->line, t->tok[0]);
}

static tlr_status parse_check(line_toks *t, tlr_check *c, int has_compare, int has_labels)
{
    tlr_status st = parse_kind(t, c);
    if (st)
        return st;
    switch (c->kind) {
    case TLR_CHECK_UNCHANGED:
    case TLR_CHECK_CHANGED:
    case TLR_CHECK_REL_CHANGE:
        if (!has_compare)
            return tlr_err_set(t->err, TLR_E_USAGE, "%s:%d: '%s' compares with the model "
                               "before training: give it with --compare", t->path, t->line,
                               t->tok[0]);
        if (t->n < 2)
            return bad(t, "expected a layer path or glob (vgg16/*)");
        c->pattern = tlr_xstrdup(t->tok[1]);
        if (c->kind != TLR_CHECK_REL_CHANGE)
            return t->n == 2 ? TLR_OK : bad(t, "unexpected words after the layer glob");
        return take_comparison(t, 2, c);
    case TLR_CHECK_PREDICT:
        return parse_predict(t, c, has_labels);
    default:
        return take_comparison(t, 1, c);
    }
}

static void check_free(tlr_check *c)
{
    free(c->text);
    free(c->pattern);
    free(c->image);
    free(c->class_name);
}

/* One line: nothing (blank or comment), or one check appended to 'cs'. */
static tlr_status parse_line(tlr_checks *cs, const char *ln, size_t n, int line_no,
                             int has_compare, int has_labels, tlr_err *err)
{
    line_toks t = { { 0 }, 0, cs->path, line_no, err };
    size_t end = 0;
    tlr_status st = tokenize(ln, n, &t, &end);
    if (st || t.n == 0) {
        toks_free(&t);
        return st;
    }
    tlr_check c = { 0 };
    c.line = line_no;
    size_t lead = 0;
    while (lead < end && isspace((unsigned char)ln[lead]))
        lead++;
    c.text = tlr_xstrndup(ln + lead, end - lead);
    st = parse_check(&t, &c, has_compare, has_labels);
    toks_free(&t);
    if (st) {
        check_free(&c);
        return st;
    }
    cs->items = tlr_xrealloc(cs->items, (size_t)(cs->n + 1) * sizeof *cs->items);
    cs->items[cs->n++] = c;
    return TLR_OK;
}

tlr_checks *tlr_checks_parse(const char *text, size_t len, const char *path, int has_compare,
                             int has_labels, tlr_err *err)
{
    tlr_checks *cs = tlr_xcalloc(1, sizeof *cs);
    cs->path = tlr_xstrdup(path);
    int line_no = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        line_no++;
        if (memchr(text + i, '\0', n)) {
            tlr_err_set(err, TLR_E_USAGE, "%s:%d: a NUL byte: not a text file", path, line_no);
            tlr_checks_free(cs);
            return NULL;
        }
        if (parse_line(cs, text + i, n, line_no, has_compare, has_labels, err)) {
            tlr_checks_free(cs);
            return NULL;
        }
        i += n + (nl ? 1 : 0);
    }
    if (cs->n == 0) {
        tlr_err_set(err, TLR_E_USAGE, "%s: no check in the file (one per line, e.g. "
                    "'total_params <= 20000000')", path);
        tlr_checks_free(cs);
        return NULL;
    }
    return cs;
}

tlr_checks *tlr_checks_load(const char *path, int has_compare, int has_labels, tlr_err *err)
{
    size_t len = 0;
    char *text = tlr_file_read(path, MAX_CHECK_FILE, &len, err);
    if (!text) {
        tlr_err_prefix(err, "--check");
        return NULL;
    }
    tlr_checks *cs = tlr_checks_parse(text, len, path, has_compare, has_labels, err);
    free(text);
    return cs;
}

void tlr_checks_free(tlr_checks *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        check_free(&c->items[i]);
    free(c->items);
    free(c->path);
    free(c);
}

/* ---- terminal lines ------------------------------------------------------------------------ */

static const char *reason_words(const char *reason)
{
    static const char *const words[][2] = {
        { "no_match", "no layer matches" },
        { "no_image", "no such input image" },
        { "no_class", "no such class in the output" },
        { "not_computed", "the output could not be computed" },
        { "not_comparable", "a matching layer was added, removed or reshaped" },
        { "no_labelled_folder", "no labelled folder" },
    };
    for (size_t i = 0; reason && i < sizeof words / sizeof words[0]; i++)
        if (strcmp(reason, words[i][0]) == 0)
            return words[i][1];
    return NULL;
}

void tlr_checks_failure_lines(const tlr_json *checks, tlr_buf *out)
{
    const char *file = tlr_json_get_string(checks, "file", "");
    for (const tlr_json *c = tlr_json_first(tlr_json_get(checks, "items")); c;
         c = tlr_json_next(c)) {
        const char *status = tlr_json_get_string(c, "status", "");
        if (strcmp(status, "passed") == 0)
            continue;
        int na = strcmp(status, "not_applicable") == 0;
        tlr_buf_printf(out, "tlreport: check %s: %s:%d: %s", na ? "not applicable" : "failed",
                       file, tlr_json_get_int(c, "line", 0),
                       tlr_json_get_string(c, "text", ""));
        const char *why = reason_words(tlr_json_get_string(c, "reason", NULL));
        const char *got = tlr_json_get_string(c, "actual_str", NULL);
        const char *layers = tlr_json_get_string(c, "layers_str", NULL);
        if (why)
            tlr_buf_printf(out, " (%s)", why);
        else if (got && layers)
            tlr_buf_printf(out, " (got %s: %s)", got, layers);
        else if (layers)
            tlr_buf_printf(out, " (%s)", layers);
        else if (got)
            tlr_buf_printf(out, " (got %s)", got);
        tlr_buf_putc(out, '\n');
    }
}
