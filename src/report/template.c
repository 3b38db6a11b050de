/* template.c - the Mustache subset described in template.h.
 *
 * A template is first cut into a flat token list (text runs, variables, section opens and
 * closes, partials); each section open records the index of its close, so rendering is a loop
 * that recurses into [open + 1, close) once per item.  Standalone lines are removed while
 * cutting, so the renderer never has to look at whitespace. */
#include "report/template.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

typedef enum { TOK_TEXT, TOK_VAR, TOK_RAW, TOK_SECTION, TOK_INVERTED, TOK_CLOSE, TOK_PARTIAL } tok_kind;

typedef struct {
    tok_kind kind;
    int line;          /* 1-based line of the tag in its template */
    const char *text;  /* TOK_TEXT: a range of the template source */
    size_t len;
    char *name;        /* the name as written, e.g. "a.b" (owned) */
    char *path;        /* the name with '.' replaced by NUL; npath parts (owned) */
    int npath;         /* 0 for "." */
    char *indent;      /* TOK_PARTIAL on a standalone line: its indentation (owned), else NULL */
    size_t end;        /* TOK_SECTION / TOK_INVERTED: index of the matching TOK_CLOSE */
} token;

typedef struct {
    char *name;        /* template name for messages (owned) */
    char *indent;      /* partials only: indentation applied to the source (owned or NULL) */
    char *src;         /* partials only: the source the text tokens point into (owned) */
    token *toks;
    size_t n, cap;
} compiled;

/* ---- cutting the source into tokens ---- */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void compiled_free(compiled *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->toks[i].name);
        free(t->toks[i].path);
        free(t->toks[i].indent);
    }
    free(t->toks);
    free(t->name);
    free(t->indent);
    free(t->src);
    free(t);
}

static token *push_token(compiled *t, tok_kind kind, int line)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->toks = tlr_xrealloc(t->toks, t->cap * sizeof *t->toks);
    }
    token *k = &t->toks[t->n++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->line = line;
    return k;
}

static void push_text(compiled *t, const char *s, size_t len, int line)
{
    if (len == 0)
        return;
    token *k = push_token(t, TOK_TEXT, line);
    k->text = s;
    k->len = len;
}

/* Position of 'pat' in s[from, len), or len when absent. */
static size_t find(const char *s, size_t len, size_t from, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t i = from; i + m <= len; i++)
        if (memcmp(s + i, pat, m) == 0)
            return i;
    return len;
}

/* Checks a tag name and stores it, split at dots, into 'k'. "." means the current context. */
static int set_name(const compiled *t, token *k, const char *s, size_t n, tlr_err *err)
{
    while (n && is_blank(*s)) {
        s++;
        n--;
    }
    while (n && is_blank(s[n - 1]))
        n--;
    k->name = tlr_xstrndup(s, n);
    if (n == 1 && s[0] == '.') {
        k->path = tlr_xstrdup("");
        k->npath = 0;
        return 0;
    }
    int ok = n > 0 && s[0] != '.' && s[n - 1] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        if (c == '{' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
            (c == '.' && s[i + 1] == '.'))
            ok = 0;
    }
    if (!ok) {
        tlr_err_set(err, TLR_E_FORMAT, "%s:%d: bad tag name '%s'", t->name, k->line, k->name);
        return -1;
    }
    k->path = tlr_xstrndup(s, n);
    k->npath = 1;
    for (size_t i = 0; i < n; i++)
        if (k->path[i] == '.') {
            k->path[i] = '\0';
            k->npath++;
        }
    return 0;
}

/* Hostile templates: sections nested deeper than this are refused (rendering recurses once per
 * level), and rendering stops past these many steps or this much output, since sections
 * nested over lists multiply (22 levels over a 3-item list are 3^22 passes). */
#define MAX_SECTION_DEPTH 100
#define MAX_RENDER_STEPS 20000000ULL
#define MAX_OUTPUT_BYTES ((size_t)64 << 20)

/* Matches section closes to opens, recording each open's 'end'. */
static int match_sections(compiled *t, tlr_err *err)
{
    size_t *stack = tlr_xmalloc((t->n + 1) * sizeof *stack);
    size_t depth = 0;
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        token *k = &t->toks[i];
        if ((k->kind == TOK_SECTION || k->kind == TOK_INVERTED) && depth >= MAX_SECTION_DEPTH) {
            rc = -1;
            tlr_err_set(err, TLR_E_LIMIT, "%s:%d: sections nested more than %d deep", t->name,
                        k->line, MAX_SECTION_DEPTH);
        } else if (k->kind == TOK_SECTION || k->kind == TOK_INVERTED) {
            stack[depth++] = i;
        } else if (k->kind == TOK_CLOSE) {
            if (depth == 0) {
                rc = -1;
                tlr_err_set(err, TLR_E_FORMAT, "%s:%d: '{{/%s}}' closes no open section",
                            t->name, k->line, k->name);
            } else if (strcmp(t->toks[stack[depth - 1]].name, k->name) != 0) {
                const token *open = &t->toks[stack[depth - 1]];
                rc = -1;
                tlr_err_set(err, TLR_E_FORMAT,
                            "%s:%d: '{{/%s}}' does not match section '%s' opened on line %d",
                            t->name, k->line, k->name, open->name, open->line);
            } else {
                t->toks[stack[--depth]].end = i;
            }
        }
    }
    if (rc == 0 && depth > 0) {
        const token *open = &t->toks[stack[depth - 1]];
        rc = -1;
        tlr_err_set(err, TLR_E_FORMAT, "%s:%d: section '%s' is never closed", t->name,
                    open->line, open->name);
    }
    free(stack);
    return rc;
}

static int count_lines(const char *s, size_t from, size_t to, size_t *line_start)
{
    int n = 0;
    for (size_t i = from; i < to; i++)
        if (s[i] == '\n') {
            n++;
            *line_start = i + 1;
        }
    return n;
}

/* Kind of the tag whose content (between the braces) is s[0, n); *skip is the sigil length. */
static int tag_kind(const char *s, size_t n, int triple, tok_kind *kind, size_t *skip)
{
    *skip = 1;
    if (triple) {
        *kind = TOK_RAW;
        *skip = 0;
        return 0;
    }
    switch (n ? s[0] : '\0') {
    case '#': *kind = TOK_SECTION; return 0;
    case '^': *kind = TOK_INVERTED; return 0;
    case '/': *kind = TOK_CLOSE; return 0;
    case '>': *kind = TOK_PARTIAL; return 0;
    case '&': *kind = TOK_RAW; return 0;
    case '!': return 1; /* comment */
    case '=': return 2; /* set delimiters */
    default: *kind = TOK_VAR; *skip = 0; return 0;
    }
}

/* Cuts s[0, len) into t's tokens. */
static int parse(compiled *t, const char *s, size_t len, tlr_err *err)
{
    size_t pos = 0, text_start = 0, line_start = 0;
    int line = 1;
    for (;;) {
        size_t open = find(s, len, pos, "{{");
        line += count_lines(s, pos, open, &line_start);
        if (open == len) {
            push_text(t, s + text_start, len - text_start, line);
            break;
        }
        int tag_line = line;
        size_t tag_line_start = line_start;
        int triple = open + 2 < len && s[open + 2] == '{';
        size_t cstart = open + (triple ? 3 : 2);
        size_t close = find(s, len, cstart, triple ? "}}}" : "}}");
        if (close == len)
            return tlr_err_set(err, TLR_E_FORMAT, "%s:%d: unclosed tag '%s'", t->name, tag_line,
                               triple ? "{{{" : "{{"), -1;
        size_t tag_end = close + (triple ? 3 : 2);
        line += count_lines(s, cstart, close, &line_start);

        tok_kind kind = TOK_VAR;
        size_t skip = 0;
        int special = tag_kind(s + cstart, close - cstart, triple, &kind, &skip);
        if (special == 2)
            return tlr_err_set(err, TLR_E_FORMAT, "%s:%d: set-delimiter tags are not supported",
                               t->name, tag_line), -1;
        int is_comment = special == 1;

        /* Standalone: only blanks before the tag on its line and after it up to the newline. */
        int standalone = is_comment || (kind != TOK_VAR && kind != TOK_RAW);
        for (size_t i = tag_line_start; standalone && i < open; i++)
            standalone = is_blank(s[i]);
        size_t after = tag_end;
        while (standalone && after < len && is_blank(s[after]))
            after++;
        if (standalone && after < len && s[after] == '\r' && after + 1 < len && s[after + 1] == '\n')
            after++;
        if (standalone && after < len && s[after] != '\n')
            standalone = 0;

        push_text(t, s + text_start, (standalone ? tag_line_start : open) - text_start, tag_line);
        if (standalone) {
            pos = after < len ? after + 1 : len;
            if (after < len) {
                line++;
                line_start = pos;
            }
        } else {
            pos = tag_end;
        }
        text_start = pos;
        if (is_comment)
            continue;

        token *k = push_token(t, kind, tag_line);
        if (set_name(t, k, s + cstart + skip, close - cstart - skip, err) != 0)
            return -1;
        if (kind == TOK_PARTIAL && standalone && open > tag_line_start)
            k->indent = tlr_xstrndup(s + tag_line_start, open - tag_line_start);
    }
    return match_sections(t, err);
}

/* ---- values to text ---- */

void tlr_template_format_number(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "Infinity" : "-Infinity");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, cap, "%.0f", v == 0 ? 0.0 : v); /* 0.0 also turns -0 into "0" */
    } else {
        /* The first precision that reads back exactly is the shortest faithful form. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

void tlr_template_escape_into(tlr_buf *b, const char *s, size_t n, tlr_template_escape esc)
{
    static const char md_punct[] = "\\`*_{}[]()#+-.!|~";
    size_t run = 0; /* start of the pending run of unescaped bytes */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        const char *rep = NULL;
        int backslash = 0;
        if (esc == TLR_TEMPLATE_NONE)
            break;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = esc == TLR_TEMPLATE_HTML ? "&quot;" : NULL; break;
        case '\'': rep = esc == TLR_TEMPLATE_HTML ? "&#39;" : NULL; break;
        default:
            backslash = esc == TLR_TEMPLATE_MARKDOWN && c != '\0' && strchr(md_punct, c) != NULL;
        }
        if (!rep && !backslash)
            continue;
        tlr_buf_append(b, s + run, i - run);
        if (rep) {
            tlr_buf_puts(b, rep);
            run = i + 1;
        } else {
            tlr_buf_putc(b, '\\');
            run = i; /* the character itself follows with the next run */
        }
    }
    tlr_buf_append(b, s + run, n - run);
}

/* ---- rendering ---- */

typedef struct {
    const tlr_json **ctx; /* context stack, innermost last */
    size_t depth, cap;
    tlr_buf out;
    tlr_template_escape esc;
    tlr_template_loader loader;
    void *loader_ctx;
    compiled **partials; /* fetched partials, by name and indentation */
    size_t npartials;
    unsigned long long steps; /* tokens rendered so far (bounded by MAX_RENDER_STEPS) */
    tlr_template_trace *trace; /* NULL unless a test asked */
    tlr_err *err;
} render_state;

static void ctx_push(render_state *st, const tlr_json *v)
{
    if (st->depth == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->ctx = tlr_xrealloc(st->ctx, st->cap * sizeof *st->ctx);
    }
    st->ctx[st->depth++] = v;
}

static const tlr_json *lookup(const render_state *st, const token *k)
{
    if (k->npath == 0)
        return st->ctx[st->depth - 1];
    const char *part = k->path;
    const tlr_json *v = NULL;
    for (size_t i = st->depth; i-- > 0 && !v;)
        v = tlr_json_get(st->ctx[i], part); /* NULL for non-objects */
    for (int p = 1; p < k->npath && v; p++) {
        part += strlen(part) + 1;
        v = tlr_json_get(v, part);
    }
    return v;
}

/* Records "TEMPLATE:LINE: NAME" into 'l' once. */
static void trace_add(tlr_strlist *l, const compiled *t, const token *k)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_printf(&b, "%s:%d: ", t->name, k->line);
    const char *part = k->path;
    for (int p = 0; p < k->npath; p++, part += strlen(part) + 1)
        tlr_buf_printf(&b, "%s%s", p ? "." : "", part);
    char *entry = tlr_buf_detach(&b);
    if (tlr_strlist_find(l, entry) < 0)
        tlr_strlist_push_owned(l, entry);
    else
        free(entry);
}

/* lookup() that also tells the trace, when there is one, what it found. */
static const tlr_json *lookup_traced(const render_state *st, const compiled *t, const token *k)
{
    const tlr_json *v = lookup(st, k);
    if (!st->trace || k->npath == 0)
        return v;
    if (k->kind == TOK_VAR || k->kind == TOK_RAW) {
        if (!v)
            trace_add(&st->trace->missing_values, t, k);
    } else {
        trace_add(v ? &st->trace->found_sections : &st->trace->missing_sections, t, k);
    }
    return v;
}

void tlr_template_trace_free(tlr_template_trace *t)
{
    tlr_strlist_free(&t->missing_values);
    tlr_strlist_free(&t->found_sections);
    tlr_strlist_free(&t->missing_sections);
}

static int truthy(const tlr_json *v)
{
    if (!v || tlr_json_is_null(v))
        return 0;
    if (tlr_json_is_bool(v))
        return tlr_json_is_true(v);
    if (tlr_json_is_array(v))
        return tlr_json_size(v) > 0;
    if (tlr_json_is_string(v))
        return tlr_json_string(v, "")[0] != '\0';
    if (tlr_json_is_number(v))
        return tlr_json_number(v, 0) != 0;
    return 1; /* objects */
}

static void emit_value(render_state *st, const tlr_json *v, int raw)
{
    if (tlr_json_is_string(v)) {
        const char *s = tlr_json_string(v, "");
        tlr_template_escape_into(&st->out, s, strlen(s), raw ? TLR_TEMPLATE_NONE : st->esc);
    } else if (tlr_json_is_number(v)) {
        char num[64];
        tlr_template_format_number(tlr_json_number(v, 0), num, sizeof num);
        tlr_buf_puts(&st->out, num);
    } else if (tlr_json_is_bool(v)) {
        tlr_buf_puts(&st->out, tlr_json_is_true(v) ? "true" : "false");
    }
}

/* Copy of 'src' with 'indent' before every line (a final newline starts no new line). */
static char *indent_text(const char *src, size_t len, const char *indent, size_t *out_len)
{
    tlr_buf b = TLR_BUF_INIT;
    int at_line_start = 1;
    for (size_t i = 0; i < len; i++) {
        if (at_line_start)
            tlr_buf_puts(&b, indent);
        tlr_buf_putc(&b, src[i]);
        at_line_start = src[i] == '\n';
    }
    *out_len = b.len;
    return tlr_buf_detach(&b);
}

static int render_range(render_state *st, const compiled *t, size_t begin, size_t end, int depth);

static compiled *fetch_partial(render_state *st, const compiled *t, const token *k, int depth)
{
    const char *indent = k->indent ? k->indent : "";
    if (depth >= TLR_TEMPLATE_MAX_DEPTH) {
        tlr_err_set(st->err, TLR_E_FORMAT,
                    "%s:%d: partials nested more than %d deep (does '%s' include itself?)",
                    t->name, k->line, TLR_TEMPLATE_MAX_DEPTH, k->name);
        return NULL;
    }
    for (size_t i = 0; i < st->npartials; i++) {
        compiled *p = st->partials[i];
        if (strcmp(p->name, k->name) == 0 && strcmp(p->indent, indent) == 0)
            return p;
    }
    size_t len = 0;
    tlr_err lerr = {0};
    char *text = st->loader ? st->loader(st->loader_ctx, k->name, &len, &lerr) : NULL;
    if (!text) {
        if (lerr.code != TLR_OK) {
            *st->err = lerr;
            tlr_err_prefix(st->err, "%s:%d: partial '%s'", t->name, k->line, k->name);
        } else {
            tlr_err_set(st->err, TLR_E_FORMAT, "%s:%d: partial '%s' not found", t->name, k->line,
                        k->name);
        }
        return NULL;
    }
    compiled *p = tlr_xcalloc(1, sizeof *p);
    p->name = tlr_xstrdup(k->name);
    p->indent = tlr_xstrdup(indent);
    if (indent[0]) {
        p->src = indent_text(text, len, indent, &len);
        free(text);
    } else {
        p->src = text;
    }
    st->partials = tlr_xrealloc(st->partials, (st->npartials + 1) * sizeof *st->partials);
    st->partials[st->npartials++] = p;
    return parse(p, p->src, len, st->err) == 0 ? p : NULL;
}

static int render_section(render_state *st, const compiled *t, size_t i, int depth)
{
    const token *k = &t->toks[i];
    const tlr_json *v = lookup_traced(st, t, k);
    if (k->kind == TOK_INVERTED)
        return truthy(v) ? 0 : render_range(st, t, i + 1, k->end, depth);
    if (!truthy(v))
        return 0;
    if (!tlr_json_is_array(v)) {
        ctx_push(st, v);
        int rc = render_range(st, t, i + 1, k->end, depth);
        st->depth--;
        return rc;
    }
    for (const tlr_json *item = tlr_json_first(v); item; item = tlr_json_next(item)) {
        ctx_push(st, item);
        int rc = render_range(st, t, i + 1, k->end, depth);
        st->depth--;
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int render_range(render_state *st, const compiled *t, size_t begin, size_t end, int depth)
{
    for (size_t i = begin; i < end; i++) {
        const token *k = &t->toks[i];
        if (++st->steps > MAX_RENDER_STEPS || st->out.len > MAX_OUTPUT_BYTES) {
            tlr_err_set(st->err, TLR_E_LIMIT, "%s:%d: rendering stopped after %llu steps and "
                        "%zu MiB of output (sections nested over long lists?)", t->name, k->line,
                        st->steps, st->out.len >> 20);
            return -1;
        }
        switch (k->kind) {
        case TOK_TEXT:
            tlr_buf_append(&st->out, k->text, k->len);
            break;
        case TOK_VAR:
        case TOK_RAW:
            emit_value(st, lookup_traced(st, t, k), k->kind == TOK_RAW);
            break;
        case TOK_SECTION:
        case TOK_INVERTED:
            if (render_section(st, t, i, depth) != 0)
                return -1;
            i = k->end;
            break;
        case TOK_CLOSE:
            break;
        case TOK_PARTIAL: {
            const compiled *p = fetch_partial(st, t, k, depth);
            if (!p || render_range(st, p, 0, p->n, depth + 1) != 0)
                return -1;
            break;
        }
        }
    }
    return 0;
}

char *tlr_template_render(const char *tmpl, size_t len, const char *name, const tlr_json *data,
                          tlr_template_escape esc, tlr_template_loader loader, void *loader_ctx,
                          tlr_err *err)
{
    return tlr_template_render_traced(tmpl, len, name, data, esc, loader, loader_ctx, NULL, err);
}

char *tlr_template_render_traced(const char *tmpl, size_t len, const char *name,
                                 const tlr_json *data, tlr_template_escape esc,
                                 tlr_template_loader loader, void *loader_ctx,
                                 tlr_template_trace *trace, tlr_err *err)
{
    tlr_err local = {0};
    render_state st = {0};
    st.trace = trace;
    st.esc = esc;
    st.loader = loader;
    st.loader_ctx = loader_ctx;
    st.err = err ? err : &local;
    ctx_push(&st, data);

    compiled *top = tlr_xcalloc(1, sizeof *top);
    top->name = tlr_xstrdup(name ? name : "template");
    char *result = NULL;
    if (parse(top, tmpl, len, st.err) == 0 && render_range(&st, top, 0, top->n, 0) == 0)
        result = tlr_buf_detach(&st.out);

    tlr_buf_free(&st.out);
    compiled_free(top);
    for (size_t i = 0; i < st.npartials; i++)
        compiled_free(st.partials[i]);
    free(st.partials);
    free(st.ctx);
    return result;
}
