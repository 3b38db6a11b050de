/* template.h - a small Mustache subset that renders a JSON value into text.
 *
 * Tags:
 *   {{name}}             value, escaped for the chosen output (see tlr_template_escape)
 *   {{{name}}} {{& name}} value, raw
 *   {{a.b.c}}  {{.}}      dotted lookup; "." is the current context
 *   {{#name}}...{{/name}} section: an array repeats its body once per item with the item as
 *                         context; any other truthy value renders the body once with the value
 *                         pushed as context.  Falsy: false, null, missing, [], "", 0.
 *   {{^name}}...{{/name}} inverted section: renders once exactly when {{#name}} would not
 *   {{! comment}}         dropped (may span lines)
 *   {{> name}}            partial, fetched through the caller's loader and rendered with the
 *                         current context stack
 * A line that holds nothing but one section, inverted, close, comment or partial tag (plus
 * spaces or tabs) disappears entirely, newline included, as the Mustache spec says; the lines
 * of a standalone partial get that line's indentation.  So a table row or a list item between
 * {{#rows}} and {{/rows}} lines comes out with no blank lines in between.
 *
 * Lookup of the first part of a name walks up the context stack from the innermost context;
 * the remaining parts resolve inside what was found.  Missing names render as "".
 * Strings render as they are, numbers as integers when integral (3, not 3.000000) and otherwise
 * in the shortest form that reads back to the same double; true/false as "true"/"false";
 * null, objects and arrays as "".  Numbers are never escaped: their characters
 * (digits, - + . e, "Infinity", "NaN") cannot start markup in either output.
 *
 * Set-delimiter tags ({{=<% %>=}}) are not supported and are reported as errors. */
#ifndef TLR_TEMPLATE_H
#define TLR_TEMPLATE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/strlist.h"

typedef enum {
    /* & < > " ' become &amp; &lt; &gt; &quot; &#39; */
    TLR_TEMPLATE_HTML = 0,
    /* For inline Markdown text that cmark-gfm renders later and GitHub shows: < > & become
     * entities, and \ ` * _ { } [ ] ( ) # + - . ! | ~ get a backslash, so names such as
     * "<script>", "a|b" or "*bold*" show literally, also inside GFM table cells.  Not meant
     * for code spans or fenced blocks, where a backslash shows as itself: use {{{raw}}} there. */
    TLR_TEMPLATE_MARKDOWN,
    /* Nothing escaped (plain text output). */
    TLR_TEMPLATE_NONE
} tlr_template_escape;

/* Partials are nested at most this deep (this also stops a partial that includes itself). */
#define TLR_TEMPLATE_MAX_DEPTH 16

/* Fetches partial 'name' (e.g. from a per-language template directory).  Returns the text in
 * memory from malloc() that the renderer frees, with its length in *len; returns NULL when
 * there is no such partial (optionally filling 'err' with the reason). */
typedef char *(*tlr_template_loader)(void *ctx, const char *name, size_t *len, tlr_err *err);

/* What a render looked up, so a test can hold templates against the data they are given.
 * Entries are "TEMPLATE:LINE: NAME", each recorded once:
 *   missing_values   {{name}} / {{{name}}} tags that found nothing (they render as "");
 *   found_sections   {{#name}} / {{^name}} tags whose name was present (even if falsy);
 *   missing_sections section tags whose name was absent (rendered as falsy). */
typedef struct {
    tlr_strlist missing_values, found_sections, missing_sections;
} tlr_template_trace;

#define TLR_TEMPLATE_TRACE_INIT { TLR_STRLIST_INIT, TLR_STRLIST_INIT, TLR_STRLIST_INIT }

void tlr_template_trace_free(tlr_template_trace *t);

/* Renders 'len' bytes of template 'tmpl' against 'data' ('name' names the template in error
 * messages, "name:line: ...").  'loader' may be NULL when the template uses no partials.
 * Each partial is fetched once per call.  Returns a NUL-terminated string the caller frees with
 * free(), or NULL with 'err' filled (TLR_E_FORMAT for template syntax, or the loader's code). */
char *tlr_template_render(const char *tmpl, size_t len, const char *name, const tlr_json *data,
                          tlr_template_escape esc, tlr_template_loader loader, void *loader_ctx,
                          tlr_err *err);

/* The same, recording its look-ups into 'trace' (when not NULL). */
char *tlr_template_render_traced(const char *tmpl, size_t len, const char *name,
                                 const tlr_json *data, tlr_template_escape esc,
                                 tlr_template_loader loader, void *loader_ctx,
                                 tlr_template_trace *trace, tlr_err *err);

/* Appends 's' escaped for 'esc' to a buffer; used by the renderer, and by callers that build
 * Markdown or HTML by hand and need the same rules. */
void tlr_template_escape_into(tlr_buf *b, const char *s, size_t n, tlr_template_escape esc);

/* Formats a number as the renderer does: integral values without a fraction, others in the
 * shortest %.{15,16,17}g form that parses back to the same double; "NaN", "Infinity",
 * "-Infinity" for the non-finite values.  Writes at most 'cap' bytes including the NUL. */
void tlr_template_format_number(double v, char *out, size_t cap);

#endif
