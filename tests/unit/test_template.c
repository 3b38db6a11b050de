/* test_template.c - the Mustache subset: every expected string below is written by hand. */
#include <stdlib.h>

#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "report/template.h"

/* Partials served from a table: { name, text } pairs ending with { NULL, NULL }. */
static char *table_loader(void *ctx, const char *name, size_t *len, tlr_err *err)
{
    const char *const *t = ctx;
    for (; t && t[0]; t += 2)
        if (strcmp(t[0], name) == 0) {
            *len = strlen(t[1]);
            return tlr_xstrdup(t[1]);
        }
    if (strcmp(name, "broken-disk") == 0)
        tlr_err_set(err, TLR_E_IO, "cannot read partials/broken-disk.md");
    return NULL;
}

/* Renders 'tmpl' against the JSON text 'data'; NULL on error with 'err' filled. */
static char *render_ex(const char *tmpl, const char *data, tlr_template_escape esc,
                       const char *const *partials, tlr_err *err)
{
    tlr_err jerr = {0};
    tlr_json *j = tlr_json_parse(data, strlen(data), "data", &jerr);
    if (!j) {
        tlr_t_fail(__FILE__, __LINE__, "test data does not parse: %s", jerr.msg);
        return NULL;
    }
    char *out = tlr_template_render(tmpl, strlen(tmpl), "t.md", j, esc, table_loader,
                                    (void *)partials, err);
    tlr_json_free(j);
    return out;
}

static void expect(const char *tmpl, const char *data, tlr_template_escape esc, const char *want,
                   const char *msg)
{
    tlr_err err = {0};
    char *got = render_ex(tmpl, data, esc, NULL, &err);
    if (!got)
        tlr_t_fail(__FILE__, __LINE__, "%s: render failed: %s", msg, err.msg);
    else
        STR_EQ(got, want, msg);
    free(got);
}

static void expect_error(const char *tmpl, const char *const *partials, const char *want_msg,
                         const char *msg)
{
    tlr_err err = {0};
    char *got = render_ex(tmpl, "{\"a\": 1, \"list\": [1]}", TLR_TEMPLATE_HTML, partials, &err);
    OK(got == NULL, msg);
    INT_EQ(err.code, TLR_E_FORMAT, msg);
    STR_EQ(err.msg, want_msg, msg);
    free(got);
}

static void variables(void)
{
    expect("Hello {{name}}!", "{\"name\": \"World\"}", TLR_TEMPLATE_HTML, "Hello World!", "plain");
    expect("[{{ name }}]", "{\"name\": \"x\"}", TLR_TEMPLATE_HTML, "[x]", "spaces inside tag");
    expect("[{{missing}}]", "{}", TLR_TEMPLATE_HTML, "[]", "missing renders empty");
    expect("{{t}} {{f}} [{{n}}]", "{\"t\": true, \"f\": false, \"n\": null}", TLR_TEMPLATE_HTML,
           "true false []", "bools and null");
    expect("[{{o}}][{{a}}]", "{\"o\": {\"x\": 1}, \"a\": [1, 2]}", TLR_TEMPLATE_HTML, "[][]",
           "objects and arrays render empty");
    expect("no tags at all\n", "{}", TLR_TEMPLATE_HTML, "no tags at all\n", "plain text");
    expect("", "{}", TLR_TEMPLATE_HTML, "", "empty template");
    expect("a { b } c {x}", "{}", TLR_TEMPLATE_HTML, "a { b } c {x}", "single braces are text");
}

static void numbers(void)
{
    expect("{{i}} {{neg}} {{big}} {{z}} {{nz}}",
           "{\"i\": 3, \"neg\": -42, \"big\": 1234567, \"z\": 0, \"nz\": -0.0}", TLR_TEMPLATE_HTML,
           "3 -42 1234567 0 0", "integral numbers print as integers");
    expect("{{a}} {{b}} {{c}} {{d}}", "{\"a\": 0.5, \"b\": 0.1, \"c\": 2.75, \"d\": -1.25e-7}",
           TLR_TEMPLATE_HTML, "0.5 0.1 2.75 -1.25e-07", "fractions in shortest form");
    /* 0.1 + 0.2 needs 17 digits to read back; 1/3 needs 16. */
    expect("{{a}} {{b}}", "{\"a\": 0.30000000000000004, \"b\": 0.3333333333333333}",
           TLR_TEMPLATE_HTML, "0.30000000000000004 0.3333333333333333", "round-trip digits");
    expect("{{a}} {{b}}", "{\"a\": 1e20, \"b\": Infinity}", TLR_TEMPLATE_HTML, "1e+20 Infinity",
           "huge and infinite");
    char buf[64];
    tlr_template_format_number(NAN, buf, sizeof buf);
    STR_EQ(buf, "NaN", "NaN");
    tlr_template_format_number(-INFINITY, buf, sizeof buf);
    STR_EQ(buf, "-Infinity", "-Infinity");
    tlr_template_format_number(1e15, buf, sizeof buf);
    STR_EQ(buf, "1e+15", "1e15 switches to exponent form");
    tlr_template_format_number(999999999999999.0, buf, sizeof buf);
    STR_EQ(buf, "999999999999999", "largest plain integer form");
    expect("{{x}}", "{\"x\": -1.5}", TLR_TEMPLATE_MARKDOWN, "-1.5", "numbers are not escaped");
}

static void escaping(void)
{
    const char *data = "{\"s\": \"<script>alert('x') & \\\"y\\\"</script>\"}";
    expect("{{s}}", data, TLR_TEMPLATE_HTML,
           "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;", "HTML escape");
    expect("{{{s}}}", data, TLR_TEMPLATE_HTML, "<script>alert('x') & \"y\"</script>",
           "triple mustache is raw");
    expect("{{& s}}", data, TLR_TEMPLATE_HTML, "<script>alert('x') & \"y\"</script>",
           "ampersand is raw");
    expect("{{s}}", "{\"s\": \"<script>alert(1)</script>\"}", TLR_TEMPLATE_MARKDOWN,
           "&lt;script&gt;alert\\(1\\)&lt;/script&gt;", "Markdown: tags become entities");
    expect("| {{s}} |", "{\"s\": \"a|b\"}", TLR_TEMPLATE_MARKDOWN, "| a\\|b |",
           "Markdown: pipe escaped for table cells");
    expect("{{s}}", "{\"s\": \"*bold* _it_ `code` [l](u) #h\"}", TLR_TEMPLATE_MARKDOWN,
           "\\*bold\\* \\_it\\_ \\`code\\` \\[l\\]\\(u\\) \\#h", "Markdown: emphasis, code, links");
    expect("{{s}}", "{\"s\": \"\\\\ {x} + - . ! ~ > q\"}", TLR_TEMPLATE_MARKDOWN,
           "\\\\ \\{x\\} \\+ \\- \\. \\! \\~ &gt; q", "Markdown: the remaining punctuation");
    expect("{{s}}", "{\"s\": \"conv2d_1 'it' \\\"q\\\" & 1.5\"}", TLR_TEMPLATE_MARKDOWN,
           "conv2d\\_1 'it' \"q\" &amp; 1\\.5", "Markdown: quotes stay, & becomes an entity");
    expect("{{s}}", "{\"s\": \"<a>\"}", TLR_TEMPLATE_NONE, "<a>", "NONE mode");
    expect("{{s}}", "{\"s\": \"caf\\u00e9 \\u00fc\"}", TLR_TEMPLATE_MARKDOWN, "caf\xc3\xa9 \xc3\xbc",
           "UTF-8 passes through");
    tlr_buf b = TLR_BUF_INIT;
    tlr_template_escape_into(&b, "a<b", 3, TLR_TEMPLATE_HTML);
    STR_EQ(tlr_buf_cstr(&b), "a&lt;b", "escape_into helper");
    tlr_buf_free(&b);
}

static void sections(void)
{
    const char *data = "{\"items\": [{\"n\": \"a\"}, {\"n\": \"b\"}, {\"n\": \"c\"}], \"empty\": [],"
                       " \"yes\": true, \"no\": false, \"nul\": null, \"s\": \"x\", \"es\": \"\","
                       " \"one\": 1, \"zero\": 0, \"obj\": {\"k\": \"v\"}, \"nums\": [1, 2.5, 3]}";
    expect("{{#items}}<{{n}}>{{/items}}", data, TLR_TEMPLATE_HTML, "<a><b><c>", "array repeats");
    expect("{{#nums}}{{.}},{{/nums}}", data, TLR_TEMPLATE_HTML, "1,2.5,3,", "{{.}} is the item");
    expect("[{{#empty}}x{{/empty}}]", data, TLR_TEMPLATE_HTML, "[]", "empty array skipped");
    expect("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#nul}}U{{/nul}}{{#missing}}M{{/missing}}", data,
           TLR_TEMPLATE_HTML, "Y", "bools, null, missing");
    expect("{{#s}}S={{.}}{{/s}}{{#es}}E{{/es}}{{#one}}1{{/one}}{{#zero}}0{{/zero}}", data,
           TLR_TEMPLATE_HTML, "S=x1", "strings and numbers");
    expect("{{#obj}}k={{k}}{{/obj}}", data, TLR_TEMPLATE_HTML, "k=v", "object pushed as context");
    expect("{{^empty}}none{{/empty}}{{^items}}X{{/items}}{{^no}}!no{{/no}}{{^missing}}!m{{/missing}}"
           "{{^yes}}X{{/yes}}{{^es}}!es{{/es}}{{^zero}}!0{{/zero}}",
           data, TLR_TEMPLATE_HTML, "none!no!m!es!0", "inverted sections");
    expect("{{#items}}{{n}}{{^last}},{{/last}}{{/items}}",
           "{\"items\": [{\"n\": 1}, {\"n\": 2, \"last\": true}]}", TLR_TEMPLATE_HTML, "1,2",
           "inverted inside a loop");
}

static void contexts(void)
{
    const char *data = "{\"model\": \"m\", \"unit\": \"px\", \"layers\": [{\"name\": \"c1\","
                       " \"shape\": {\"h\": 4, \"w\": 5}, \"units\": [{\"u\": 1}, {\"u\": 2}]},"
                       " {\"name\": \"d1\", \"model\": \"shadow\"}], \"a\": {\"b\": {\"c\": \"deep\"}}}";
    expect("{{#layers}}{{model}}/{{name}};{{/layers}}", data, TLR_TEMPLATE_HTML, "m/c1;shadow/d1;",
           "lookup walks up, inner names shadow outer ones");
    expect("{{#layers}}{{#units}}{{name}}.{{u}}{{unit}} {{/units}}{{/layers}}", data,
           TLR_TEMPLATE_HTML, "c1.1px c1.2px ", "three levels of context");
    expect("{{a.b.c}} [{{a.b.x}}] [{{a.x.c}}] [{{x.b}}]", data, TLR_TEMPLATE_HTML, "deep [] [] []",
           "dotted names");
    expect("{{#layers}}{{shape.h}}x{{shape.w}};{{/layers}}", data, TLR_TEMPLATE_HTML, "4x5;x;",
           "dotted names inside a section");
    expect("{{#a.b}}{{c}}{{/a.b}}", data, TLR_TEMPLATE_HTML, "deep", "dotted section name");
    /* Only the first part walks up: 'a' is found at the root, then 'b.name' must be inside it. */
    expect("{{#layers}}[{{a.name}}]{{/layers}}", data, TLR_TEMPLATE_HTML, "[][]",
           "later parts do not walk up");
    expect("{{.}}", "\"top\"", TLR_TEMPLATE_HTML, "top", "{{.}} at the root");
}

static void standalone_lines(void)
{
    const char *table = "| name | n |\n"
                        "|---|---|\n"
                        "{{#rows}}\n"
                        "| {{name}} | {{n}} |\n"
                        "{{/rows}}\n"
                        "\n"
                        "end\n";
    expect(table, "{\"rows\": [{\"name\": \"a|b\", \"n\": 1}, {\"name\": \"c\", \"n\": 2}]}",
           TLR_TEMPLATE_MARKDOWN, "| name | n |\n|---|---|\n| a\\|b | 1 |\n| c | 2 |\n\nend\n",
           "Markdown table rows without blank lines");
    expect("- x\n  {{#l}}  \n- {{.}}\n\t{{/l}}\n  {{! note }}\n{{^l}}\nnone\n{{/l}}\nend",
           "{\"l\": [1, 2]}", TLR_TEMPLATE_MARKDOWN, "- x\n- 1\n- 2\nend",
           "indented standalone tags and a comment line vanish");
    expect("a\r\n{{#t}}\r\nb\r\n{{/t}}\r\nc", "{\"t\": true}", TLR_TEMPLATE_HTML, "a\r\nb\r\nc",
           "CRLF standalone lines");
    expect("{{#t}}\nx\n{{/t}}", "{\"t\": true}", TLR_TEMPLATE_HTML, "x\n",
           "standalone at start and at end of input");
    expect("a {{#t}}x{{/t}} b\n", "{\"t\": true}", TLR_TEMPLATE_HTML, "a x b\n",
           "inline sections keep their spaces");
    expect("{{#t}} {{/t}}\nz", "{\"t\": true}", TLR_TEMPLATE_HTML, " \nz",
           "two tags on a line are not standalone");
    expect("  {{v}}\n", "{\"v\": \"x\"}", TLR_TEMPLATE_HTML, "  x\n",
           "a variable line is never standalone");
}

static void comments(void)
{
    expect("a{{! hidden }}b", "{}", TLR_TEMPLATE_HTML, "ab", "inline comment");
    expect("a\n{{! multi\nline\ncomment }}\nb {{x}}", "{\"x\": 1}", TLR_TEMPLATE_HTML, "a\nb 1",
           "multi-line standalone comment");
    expect("{{!{{x}}}}", "{\"x\": 1}", TLR_TEMPLATE_HTML, "}}", "comment ends at the first }}");
}

static void partials(void)
{
    static const char *const parts[] = {
        "row",   "| {{name}} | {{n}} |\n",
        "list",  "- {{.}}\n",
        "outer", "<{{> inner}}>",
        "inner", "[{{v}}]",
        "self",  "x{{> self}}",
        "bad",   "line1\n{{#open}}\n",
        "two",   "a\nb\n",
        NULL, NULL,
    };
    const char *data = "{\"rows\": [{\"name\": \"a\", \"n\": 1}, {\"name\": \"*b*\", \"n\": 2}],"
                       " \"l\": [\"x\", \"y\"], \"v\": \"V\"}";
    tlr_err err = {0};
    char *out = render_ex("|h|h|\n{{#rows}}\n{{> row}}\n{{/rows}}\n", data, TLR_TEMPLATE_MARKDOWN,
                          parts, &err);
    STR_EQ(out, "|h|h|\n| a | 1 |\n| \\*b\\* | 2 |\n", "standalone partial in a loop");
    free(out);
    out = render_ex("{{#l}}\n  {{> list}}\n{{/l}}", data, TLR_TEMPLATE_HTML, parts, &err);
    STR_EQ(out, "  - x\n  - y\n", "standalone partial indentation");
    free(out);
    out = render_ex("  {{> two}}\n", data, TLR_TEMPLATE_HTML, parts, &err);
    STR_EQ(out, "  a\n  b\n", "indentation on every line of the partial");
    free(out);
    out = render_ex("{{> outer}}/{{> inner}}", data, TLR_TEMPLATE_HTML, parts, &err);
    STR_EQ(out, "<[V]>/[V]", "nested partials see the context");
    free(out);

    out = render_ex("a\n{{> self}}", data, TLR_TEMPLATE_HTML, parts, &err);
    OK(out == NULL, "self-inclusion stopped");
    STR_CONTAINS(err.msg, "self:1: partials nested more than 16 deep", "depth guard message");
    free(out);
    expect_error("x\n{{> nope}}", parts, "t.md:2: partial 'nope' not found", "missing partial");
    expect_error("{{> bad}}", parts, "bad:2: section 'open' is never closed",
                 "errors inside a partial name the partial");
    tlr_err ioerr = {0};
    out = render_ex("\n\n{{> broken-disk}}", "{}", TLR_TEMPLATE_HTML, parts, &ioerr);
    OK(out == NULL, "loader error propagates");
    INT_EQ(ioerr.code, TLR_E_IO, "loader's code kept");
    STR_EQ(ioerr.msg, "t.md:3: partial 'broken-disk': cannot read partials/broken-disk.md",
           "loader's message kept, with where");
    free(out);
    tlr_err nl = {0};
    out = tlr_template_render("{{> row}}", 9, "n.md", NULL, TLR_TEMPLATE_HTML, NULL, NULL, &nl);
    OK(out == NULL, "partial without loader is an error");
    STR_EQ(nl.msg, "n.md:1: partial 'row' not found", "no-loader message");
    free(out);
}

static void errors(void)
{
    expect_error("line1\n{{#list}}\nx\n", NULL, "t.md:2: section 'list' is never closed",
                 "unclosed section");
    expect_error("{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", NULL,
                 "t.md:3: '{{/a}}' does not match section 'b' opened on line 2", "mismatched close");
    expect_error("ok\n\n{{/a}}", NULL, "t.md:3: '{{/a}}' closes no open section", "stray close");
    expect_error("a\nb {{name\nc", NULL, "t.md:2: unclosed tag '{{'", "unclosed {{");
    expect_error("{{{raw}}", NULL, "t.md:1: unclosed tag '{{{'", "unclosed {{{");
    expect_error("a\n{{}}", NULL, "t.md:2: bad tag name ''", "empty tag");
    expect_error("{{a b}}", NULL, "t.md:1: bad tag name 'a b'", "space in a name");
    expect_error("{{a..b}}", NULL, "t.md:1: bad tag name 'a..b'", "empty dotted part");
    expect_error("{{=<% %>=}}", NULL, "t.md:1: set-delimiter tags are not supported",
                 "set delimiters");
    expect_error("{{! a\nb }}\n{{#x}}", NULL, "t.md:3: section 'x' is never closed",
                 "lines inside comments are counted");
    /* The error must not depend on the data: the section is never rendered here. */
    expect_error("{{#missing}}{{/other}}", NULL,
                 "t.md:1: '{{/other}}' does not match section 'missing' opened on line 1",
                 "syntax checked even for skipped sections");
    /* A NULL err must be accepted. */
    OK(tlr_template_render("{{#a}}", 6, "x", NULL, TLR_TEMPLATE_HTML, NULL, NULL, NULL) == NULL,
       "NULL err pointer");
}

static void not_nul_terminated(void)
{
    /* The length bounds the template: "{{x}}" followed by garbage that must not be read. */
    const char src[] = { '{', '{', 'x', '}', '}', '{', '{' };
    tlr_err err = {0};
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_string(j, "x", "ok");
    char *out = tlr_template_render(src, 5, "n", j, TLR_TEMPLATE_HTML, NULL, NULL, &err);
    STR_EQ(out, "ok", "length-bounded template");
    free(out);
    out = tlr_template_render(src, 6, "n", j, TLR_TEMPLATE_HTML, NULL, NULL, &err);
    STR_EQ(out, "ok{", "a lone brace at the end is text");
    free(out);
    tlr_json_free(j);
}

void test_template(void)
{
    variables();
    numbers();
    escaping();
    sections();
    contexts();
    standalone_lines();
    comments();
    partials();
    errors();
    not_nul_terminated();
}
