/* report.c - templates + data -> report.md -> cmark-gfm -> index.html -> site (see report.h).
 *
 * The templates see a "view" of the data rather than the data itself: a rebuilt copy in which
 * every string is valid UTF-8 and, except in code-block text, has no control characters (a
 * newline inside a layer name would otherwise end a table row or start a heading), plus a few
 * derived keys documented in templates/README.md. */
#include "report/report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/xalloc.h"
#include "report/condense.h"
#include "report/template.h"

#define MAX_TEMPLATE_BYTES ((size_t)4 << 20)
#define MAX_DIRS 12

/* ---- where the templates are ---- */

typedef struct {
    char *dir[MAX_DIRS];
    const char *why[MAX_DIRS]; /* where the entry came from, for error messages */
    int n;
} tpl_dirs;

static void dirs_free(tpl_dirs *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->dir[i]);
    d->n = 0;
}

/* Adds 'dir' (owned) unless it is already listed. */
static void dirs_add(tpl_dirs *d, char *dir, const char *why)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->dir[i], dir) == 0) {
            free(dir);
            return;
        }
    if (d->n == MAX_DIRS) {
        free(dir);
        return;
    }
    d->dir[d->n] = dir;
    d->why[d->n++] = why;
}

/* Adds <dir of exe>/templates, <dir of exe>/../share/tlreport/templates (installed), and
 * <dir of exe>/../templates (a binary built in a subfolder of the source tree, build-san/). */
static void dirs_add_exe(tpl_dirs *d, const char *exe, const char *why)
{
    const char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    int n = (int)(slash - exe);
    dirs_add(d, tlr_xasprintf("%.*s/templates", n, exe), why);
    dirs_add(d, tlr_xasprintf("%.*s/../share/tlreport/templates", n, exe), why);
    dirs_add(d, tlr_xasprintf("%.*s/../templates", n, exe), why);
}

static tlr_status dirs_init(tpl_dirs *d, const tlr_report_opts *o, tlr_err *err)
{
    memset(d, 0, sizeof *d);
    if (o && o->template_dir) {
        struct stat st;
        if (stat(o->template_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return tlr_err_set(err, TLR_E_USAGE, "--template-dir %s: not a directory",
                               o->template_dir);
        dirs_add(d, tlr_xstrdup(o->template_dir), "--template-dir");
    }
    const char *env = getenv("TLR_TEMPLATE_DIR");
    if (env && env[0])
        dirs_add(d, tlr_xstrdup(env), "$TLR_TEMPLATE_DIR");
#ifdef TLR_TEMPLATE_DIR
    dirs_add(d, tlr_xstrdup(TLR_TEMPLATE_DIR), "install directory");
#endif
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        dirs_add_exe(d, self, "beside the executable");
    }
    if (o && o->exe_path)
        dirs_add_exe(d, o->exe_path, "beside argv[0]");
    return TLR_OK;
}

/* Finds 'rel' (e.g. "es/report.md") in the first directory that has it.  Returns its text and
 * sets *path (both freed by the caller); NULL with an error listing the places tried. */
static char *find_template(const tpl_dirs *d, const char *rel, size_t *len, char **path,
                           tlr_err *err)
{
    for (int i = 0; i < d->n; i++) {
        char *p = tlr_xasprintf("%s/%s", d->dir[i], rel);
        struct stat st;
        /* absent here: the next directory may have it */
        if (stat(p, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            free(p);
            continue;
        }
        char *text = tlr_file_read(p, MAX_TEMPLATE_BYTES, len, err);
        if (!text) {
            tlr_err_prefix(err, "cannot read template");
            free(p);
            return NULL;
        }
        *path = p;
        return text;
    }
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_printf(&b, "template '%s' not found; looked in:", rel);
    for (int i = 0; i < d->n; i++)
        tlr_buf_printf(&b, "%s %s (%s)", i ? ";" : "", d->dir[i], d->why[i]);
    if (d->n == 0)
        tlr_buf_puts(&b, " no template directory (use --template-dir or $TLR_TEMPLATE_DIR)");
    tlr_err_set(err, TLR_E_IO, "%s", tlr_buf_cstr(&b));
    tlr_buf_free(&b);
    return NULL;
}

/* Partials: {{> name}} reads <prefix><name><suffix> through the same lookup. */
typedef struct {
    const tpl_dirs *dirs;
    const char *prefix, *suffix;
} partial_src;

static int name_is_plain(const char *s)
{
    if (!s[0])
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static char *load_partial(void *ctx, const char *name, size_t *len, tlr_err *err)
{
    const partial_src *src = ctx;
    if (!name_is_plain(name)) {
        tlr_err_set(err, TLR_E_FORMAT,
                    "partial '%s': names may hold only letters, digits, '_' and '-'", name);
        return NULL;
    }
    char *rel = tlr_xasprintf("%s%s%s", src->prefix, name, src->suffix);
    char *path = NULL;
    char *text = find_template(src->dirs, rel, len, &path, err);
    free(rel);
    free(path);
    return text;
}

/* Renders template 'rel' found through 'dirs'; partials come from the same folder as 'rel'. */
static char *render_file(const tpl_dirs *dirs, const char *rel, const char *prefix,
                         const char *suffix, const tlr_json *view, tlr_template_escape esc,
                         tlr_template_trace *trace, tlr_err *err)
{
    size_t len = 0;
    char *path = NULL;
    char *text = find_template(dirs, rel, &len, &path, err);
    if (!text)
        return NULL;
    partial_src src = { dirs, prefix, suffix };
    char *out = tlr_template_render_traced(text, len, path, view, esc, load_partial, &src, trace,
                                           err);
    free(text);
    free(path);
    return out;
}

/* ---- the view: a cleaned copy of the data plus derived keys ---- */

/* Length of the UTF-8 sequence at s[0..n), or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((len == 3 && c == 0xe0 && s[1] < 0xa0) || (len == 3 && c == 0xed && s[1] >= 0xa0) ||
        (len == 4 && c == 0xf0 && s[1] < 0x90) || (len == 4 && c == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return len;
}

/* Copy of 's' with invalid UTF-8 as U+FFFD and control characters as spaces (keeping
 * newlines and tabs when 'multiline'; then trailing newlines are dropped). */
static char *clean_string(const char *s, int multiline)
{
    tlr_buf b = TLR_BUF_INIT;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);
        if (k == 0) {
            tlr_buf_puts(&b, "\xef\xbf\xbd");
            i++;
        } else if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            int keep = multiline && (p[i] == '\n' || p[i] == '\t');
            tlr_buf_putc(&b, keep ? (char)p[i] : ' ');
            i++;
        } else {
            tlr_buf_append(&b, p + i, k);
            i += k;
        }
    }
    if (multiline)
        while (b.len > 0 && b.data[b.len - 1] == '\n')
            tlr_buf_truncate(&b, b.len - 1);
    return tlr_buf_detach(&b);
}

/* Strings that go into code blocks keep their lines: summary.text and any key "*_code". */
static int is_code_text(const char *parent_key, const char *key, int depth)
{
    if (!key)
        return 0;
    size_t n = strlen(key);
    if (n >= 5 && strcmp(key + n - 5, "_code") == 0)
        return 1;
    return depth == 1 && parent_key && strcmp(parent_key, "summary") == 0 &&
           strcmp(key, "text") == 0;
}

static void longest_backticks(const char *s, size_t *longest)
{
    size_t run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > *longest)
            *longest = run;
    }
}

/* For every array member "x" of 'obj', adds "has_x": whether it has items, so a template can
 * print a table header only above a non-empty list. */
static void add_has_flags(tlr_json *obj)
{
    tlr_buf key = TLR_BUF_INIT;
    for (const tlr_json *m = tlr_json_first(obj); m; m = tlr_json_next(m)) {
        if (!tlr_json_is_array(m))
            continue;
        tlr_buf_truncate(&key, 0);
        tlr_buf_printf(&key, "has_%s", tlr_json_key(m));
        if (!tlr_json_get(obj, key.data))
            tlr_json_add_bool(obj, key.data, tlr_json_size(m) > 0);
    }
    tlr_buf_free(&key);
}

/* Appends a cleaned copy of 'src' to container 'dst' under 'key' (NULL for arrays).
 * 'ticks' tracks the longest backtick run of any string. */
static void rebuild_into(tlr_json *dst, const char *key, const tlr_json *src,
                         const char *parent_key, int depth, size_t *ticks)
{
    int arr = key == NULL;
    if (tlr_json_is_object(src) || tlr_json_is_array(src)) {
        int is_obj = tlr_json_is_object(src);
        tlr_json *c = is_obj ? (arr ? tlr_json_push_object(dst) : tlr_json_add_object(dst, key))
                             : (arr ? tlr_json_push_array(dst) : tlr_json_add_array(dst, key));
        for (const tlr_json *m = tlr_json_first(src); m; m = tlr_json_next(m))
            rebuild_into(c, is_obj ? tlr_json_key(m) : NULL, m, key ? key : parent_key,
                         depth + 1, ticks);
        if (is_obj)
            add_has_flags(c);
    } else if (tlr_json_is_string(src)) {
        const char *s = tlr_json_string(src, "");
        longest_backticks(s, ticks);
        char *clean = clean_string(s, is_code_text(parent_key, key, depth));
        if (arr)
            tlr_json_push_string(dst, clean);
        else
            tlr_json_add_string(dst, key, clean);
        free(clean);
    } else if (tlr_json_is_number(src)) {
        if (arr)
            tlr_json_push_number(dst, tlr_json_number(src, 0));
        else
            tlr_json_add_number(dst, key, tlr_json_number(src, 0));
    } else if (arr) {
        tlr_json_add_item(dst, NULL, tlr_json_copy(src)); /* true, false, null */
    } else if (tlr_json_is_bool(src)) {
        tlr_json_add_bool(dst, key, tlr_json_is_true(src));
    } else {
        tlr_json_add_null(dst, key);
    }
}

/* For enum-like strings such as kernels.norm = "symmetric", adds kernels.norm_symmetric = true
 * so that templates (which cannot compare strings) can branch on the value. */
static void add_flag(tlr_json *view, const char *obj_key, const char *key)
{
    tlr_json *obj = obj_key ? tlr_json_get(view, obj_key) : view;
    const char *v = tlr_json_get_string(obj, key, NULL);
    if (!tlr_json_is_object(obj) || !v || !v[0] || strlen(v) > 40)
        return;
    char *flag = tlr_xasprintf("%s_%s", key, v);
    for (char *p = flag + strlen(key) + 1; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    if (!tlr_json_get(obj, flag))
        tlr_json_add_bool(obj, flag, 1);
    free(flag);
}

static const char *const enum_keys[][2] = {
    { NULL, "lang" },           { "model", "format" },       { "summary", "style" },
    { "kernels", "norm" },      { "features", "cmap" },      { "preprocess", "mode" },
    { "preprocess", "resize" }, { "preprocess", "color_mode" },
};

/* Top-level keys the renderer sets itself; data values under these names are ignored. */
static int is_derived_key(const char *key)
{
    return strcmp(key, "fence") == 0 || strcmp(key, "toc") == 0 ||
           strcmp(key, "has_toc") == 0 || strcmp(key, "content") == 0;
}

/* "model.get_layer('a').get_layer('b')" for the path "a/b": get_layer only looks one level
 * down, so a nested path becomes a chain; quotes and backslashes are escaped for Python. */
static char *get_layer_chain(const char *path)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, "model");
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        tlr_buf_puts(&b, ".get_layer('");
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '\\' || p[i] == '\'')
                tlr_buf_putc(&b, '\\');
            tlr_buf_putc(&b, p[i]);
        }
        tlr_buf_puts(&b, "')");
        p += n + (p[n] == '/');
    }
    return tlr_buf_detach(&b);
}

/* kernels/features: "layer_name" and "parent" from a path such as "vgg16/block1_conv1" when
 * the data gives only "layer" (the code samples need both), and "parent_code", the Python
 * expression that reaches the parent model. */
static void add_layer_parts(tlr_json *obj)
{
    const char *path = tlr_json_get_string(obj, "layer", NULL);
    if (!tlr_json_is_object(obj) || !path)
        return;
    const char *slash = strrchr(path, '/');
    if (!tlr_json_get(obj, "layer_name"))
        tlr_json_add_string(obj, "layer_name", slash ? slash + 1 : path);
    if (!tlr_json_get(obj, "parent")) {
        char *parent = tlr_xstrndup(path, slash ? (size_t)(slash - path) : 0);
        tlr_json_add_string(obj, "parent", parent);
        free(parent);
    }
    if (!tlr_json_get(obj, "parent_code")) {
        char *code = get_layer_chain(tlr_json_get_string(obj, "parent", ""));
        tlr_json_add_string(obj, "parent_code", code);
        free(code);
    }
}

/* obj[code_key] = the get_layer chain reaching obj[path_key], when obj has that path. */
static void add_chain(tlr_json *obj, const char *path_key, const char *code_key)
{
    const char *path = tlr_json_get_string(obj, path_key, NULL);
    if (!tlr_json_is_object(obj) || !path || tlr_json_get(obj, code_key))
        return;
    char *code = get_layer_chain(path);
    tlr_json_add_string(obj, code_key, code);
    free(code);
}

/* features: the grid layout of the first image at the top level, for the code sample. */
static void add_feature_layout(tlr_json *features)
{
    static const char *const keys[] = { "channels_shown", "channels", "per_row" };
    const tlr_json *first = tlr_json_at(tlr_json_get(features, "images"), 0);
    for (size_t i = 0; first && i < sizeof keys / sizeof keys[0]; i++) {
        const tlr_json *v = tlr_json_get(first, keys[i]);
        if (tlr_json_is_number(v) && !tlr_json_get(features, keys[i]))
            tlr_json_add_number(features, keys[i], tlr_json_number(v, 0));
    }
}

static tlr_json *make_view(const tlr_json *data, const char *lang)
{
    tlr_json *view = tlr_json_new_object();
    size_t ticks = 0;
    for (const tlr_json *m = tlr_json_first(data); m; m = tlr_json_next(m))
        if (!is_derived_key(tlr_json_key(m)))
            rebuild_into(view, tlr_json_key(m), m, NULL, 0, &ticks);
    add_has_flags(view);
    if (!tlr_json_get(view, "lang"))
        tlr_json_add_string(view, "lang", lang);
    for (size_t i = 0; i < sizeof enum_keys / sizeof enum_keys[0]; i++)
        add_flag(view, enum_keys[i][0], enum_keys[i][1]);
    add_layer_parts(tlr_json_get(view, "kernels"));
    add_layer_parts(tlr_json_get(view, "features"));
    add_chain(tlr_json_get(view, "gradcam"), "layer_parent", "layer_parent_code");
    add_chain(tlr_json_get(view, "gradcam"), "output_layer", "output_layer_code");
    add_chain(tlr_json_get(view, "patterns"), "parent", "parent_code");
    if (tlr_json_is_object(tlr_json_get(view, "features")))
        add_feature_layout(tlr_json_get(view, "features"));
    /* A fence longer than any backtick run in the data cannot be closed by a layer name. */
    size_t fence_len = ticks + 1 < 3 ? 3 : ticks + 1;
    char *fence = tlr_xmalloc(fence_len + 1);
    memset(fence, '`', fence_len);
    fence[fence_len] = '\0';
    tlr_json_add_string(view, "fence", fence);
    free(fence);
    return view;
}

static const char *pick_lang(const tlr_json *data, const tlr_report_opts *o)
{
    if (o && o->lang)
        return o->lang;
    const char *l = tlr_json_get_string(data, "lang", NULL);
    return l && l[0] ? l : "es";
}

/* Common start of the public renderers: checks the inputs, finds the template directories and
 * builds the view. */
static tlr_json *begin(const tlr_json *data, const tlr_report_opts *o, tpl_dirs *dirs,
                       const char **lang, tlr_err *err)
{
    if (!tlr_json_is_object(data)) {
        tlr_err_set(err, TLR_E_USAGE, "report data must be a JSON object");
        return NULL;
    }
    *lang = pick_lang(data, o);
    if (!name_is_plain(*lang)) {
        tlr_err_set(err, TLR_E_USAGE, "language '%s': expected a template set name such as "
                    "'es' or 'en'", *lang);
        return NULL;
    }
    if (dirs_init(dirs, o, err) != TLR_OK)
        return NULL;
    return make_view(data, *lang);
}

char *tlr_report_markdown(const tlr_json *data, const tlr_report_opts *o, tlr_err *err)
{
    return tlr_report_render(data, "report.md", o, err);
}

/* Renders <lang>/'name' from the data's view, condensed for the page when asked. */
static char *render_markdown(const tlr_json *data, const char *name, const tlr_report_opts *o,
                             int condensed, tlr_err *err)
{
    tpl_dirs dirs;
    const char *lang = NULL;
    tlr_json *view = begin(data, o, &dirs, &lang, err);
    if (!view)
        return NULL;
    if (condensed)
        tlr_condense_view(view);
    char *rel = tlr_xasprintf("%s/%s", lang, name);
    char *prefix = tlr_xasprintf("%s/", lang);
    char *md = render_file(&dirs, rel, prefix, ".md", view, TLR_TEMPLATE_MARKDOWN,
                           o ? o->trace : NULL, err);
    free(rel);
    free(prefix);
    tlr_json_free(view);
    dirs_free(&dirs);
    return md;
}

char *tlr_report_render(const tlr_json *data, const char *name, const tlr_report_opts *o,
                        tlr_err *err)
{
    return render_markdown(data, name, o, 0, err);
}

char *tlr_report_page_markdown(const tlr_json *data, const char *name,
                               const tlr_report_opts *o, tlr_err *err)
{
    return render_markdown(data, name, o, 1, err);
}

/* ---- Markdown -> HTML ---- */

static char *markdown_to_html(const char *md, tlr_err *err)
{
    static const char *const exts[] = { "table", "strikethrough", "autolink", "tagfilter" };
    /* Raw HTML stays off (no CMARK_OPT_UNSAFE): every byte of the page comes from escaped
     * text or from cmark's own tags. */
    const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8;
    cmark_gfm_core_extensions_ensure_registered();
    cmark_parser *p = cmark_parser_new(options);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        cmark_syntax_extension *e = cmark_find_syntax_extension(exts[i]);
        if (!e) {
            cmark_parser_free(p);
            tlr_err_set(err, TLR_E_UNSUPPORTED, "cmark-gfm has no '%s' extension", exts[i]);
            return NULL;
        }
        cmark_parser_attach_syntax_extension(p, e);
    }
    cmark_parser_feed(p, md, strlen(md));
    cmark_node *doc = cmark_parser_finish(p);
    char *html = cmark_render_html(doc, options, cmark_parser_get_syntax_extensions(p));
    cmark_node_free(doc);
    cmark_parser_free(p);
    return html;
}

/* Gives every <h2> an id ("s1", "s2"...) and lists them in 'toc' as {id, text}, the text being
 * the heading's HTML with its tags removed (cmark escapes all text, so every '<' is a tag). */
static char *number_headings(const char *html, tlr_json *toc)
{
    tlr_buf out = TLR_BUF_INIT;
    const char *p = html;
    int n = 0;
    for (const char *h; (h = strstr(p, "<h2>")) != NULL;) {
        const char *body = h + 4;
        const char *end = strstr(body, "</h2>");
        if (!end)
            break;
        char id[32];
        snprintf(id, sizeof id, "s%d", ++n);
        tlr_buf_append(&out, p, (size_t)(h - p));
        tlr_buf_printf(&out, "<h2 id=\"%s\">", id);
        tlr_buf text = TLR_BUF_INIT;
        int in_tag = 0;
        for (const char *c = body; c < end; c++) {
            if (*c == '<' || *c == '>')
                in_tag = *c == '<';
            else if (!in_tag)
                tlr_buf_putc(&text, *c);
        }
        tlr_json *item = tlr_json_push_object(toc);
        tlr_json_add_string(item, "id", id);
        tlr_json_add_string(item, "text", tlr_buf_cstr(&text));
        tlr_buf_free(&text);
        p = body;
    }
    tlr_buf_puts(&out, p);
    return tlr_buf_detach(&out);
}

char *tlr_report_html(const char *markdown, const tlr_json *data, const tlr_report_opts *o,
                      tlr_err *err)
{
    tpl_dirs dirs;
    const char *lang = NULL;
    tlr_json *view = begin(data, o, &dirs, &lang, err);
    if (!view)
        return NULL;
    char *page = NULL;
    char *body = markdown ? markdown_to_html(markdown, err) : NULL;
    if (!markdown)
        tlr_err_set(err, TLR_E_USAGE, "no Markdown to render");
    if (body) {
        tlr_json *toc = tlr_json_new_array();
        char *numbered = number_headings(body, toc);
        tlr_json_add_bool(view, "has_toc", tlr_json_size(toc) > 0);
        tlr_json_add_item(view, "toc", toc);
        tlr_json_add_string(view, "content", numbered);
        free(numbered);
        page = render_file(&dirs, "page.html", "", ".html", view, TLR_TEMPLATE_HTML,
                           o ? o->trace : NULL, err);
    }
    free(body);
    tlr_json_free(view);
    dirs_free(&dirs);
    return page;
}

/* ---- embedding images ---- */

char *tlr_report_base64(const void *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = data;
    char *out = tlr_xmalloc((len + 2) / 3 * 4 + 1);
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        *o++ = abc[v >> 18];
        *o++ = abc[v >> 12 & 63];
        *o++ = abc[v >> 6 & 63];
        *o++ = abc[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0u);
        *o++ = abc[v >> 18];
        *o++ = abc[v >> 12 & 63];
        *o++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An attribute value as the browser reads it: cmark writes '&' as "&amp;" and
 * percent-encodes other unsafe bytes in URLs. */
static char *decode_src(const char *s, size_t n)
{
    tlr_buf b = TLR_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            tlr_buf_putc(&b, (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else if (i + 5 <= n && strncmp(s + i, "&amp;", 5) == 0) {
            tlr_buf_putc(&b, '&');
            i += 4;
        } else {
            tlr_buf_putc(&b, s[i]);
        }
    }
    return tlr_buf_detach(&b);
}

static const char *mime_type(const char *name)
{
    static const char *const types[][2] = {
        { ".png", "image/png" },   { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" },   { ".webp", "image/webp" }, { ".svg", "image/svg+xml" },
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

static const tlr_report_file *find_file(const tlr_report_file *files, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (files[i].name && strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

char *tlr_report_embed(const char *html, const tlr_report_file *files, int n_files,
                       tlr_err *err)
{
    static const char attr[] = "src=\"";
    tlr_buf out = TLR_BUF_INIT;
    const char *p = html;
    for (const char *a; (a = strstr(p, attr)) != NULL;) {
        const char *v = a + sizeof attr - 1;
        const char *q = strchr(v, '"');
        if (!q)
            break;
        tlr_buf_append(&out, p, (size_t)(v - p));
        p = q;
        if (strncmp(v, "img/", 4) != 0) {
            tlr_buf_append(&out, v, (size_t)(q - v));
            continue;
        }
        char *name = decode_src(v, (size_t)(q - v));
        const tlr_report_file *f = find_file(files, n_files, name);
        const char *mime = f ? mime_type(name) : NULL;
        if (!f || !mime) {
            tlr_err_set(err, TLR_E_USAGE, "--embed: the page shows '%s', %s", name,
                        f ? "which is not a PNG, JPEG, GIF, WebP or SVG file"
                          : "but no such image was produced");
            free(name);
            tlr_buf_free(&out);
            return NULL;
        }
        char *b64 = tlr_report_base64(f->data, f->len);
        /* the file's name (after img/, as written) stays as data-file, for the print rules
         * of page.html */
        tlr_buf_printf(&out, "data:%s;base64,%s\" data-file=\"%.*s", mime, b64,
                       (int)(q - v - 4), v + 4);
        free(b64);
        free(name);
    }
    tlr_buf_puts(&out, p);
    return tlr_buf_detach(&out);
}

/* ---- the whole site ---- */

static int is_reserved(const char *name)
{
    static const char *const names[] = { "index.html", "layers.html", "report.md",
                                         "report.json" };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* One page of the site: <lang>/'name' rendered condensed, through cmark-gfm into page.html,
 * its images embedded with o->embed. */
static char *site_page(const tlr_json *data, const char *name, const tlr_report_file *files,
                       int n_files, const tlr_report_opts *o, tlr_err *err)
{
    char *md = tlr_report_page_markdown(data, name, o, err);
    char *html = md ? tlr_report_html(md, data, o, err) : NULL;
    free(md);
    if (html && o->embed) {
        char *embedded = tlr_report_embed(html, files, n_files, err);
        free(html);
        html = embedded;
    }
    return html;
}

tlr_status tlr_report_write(const tlr_json *data, const tlr_report_file *files, int n_files,
                            const tlr_report_opts *o, tlr_err *err)
{
    if (!o || !o->out_dir)
        return tlr_err_set(err, TLR_E_USAGE, "no output directory given");
    for (int i = 0; i < n_files; i++)
        if (is_reserved(files[i].name))
            return tlr_err_set(err, TLR_E_USAGE,
                               "site file '%s': the name is reserved for the report itself",
                               files[i].name);
    char *md = tlr_report_markdown(data, o, err);
    char *html = md ? site_page(data, "report.md", files, n_files, o, err) : NULL;
    char *layers = html ? site_page(data, "layers.md", files, n_files, o, err) : NULL;
    if (!layers) {
        free(md);
        free(html);
        return err ? err->code : TLR_E_IO;
    }
    char *json = tlr_json_print(data, 1);
    tlr_buf jb = TLR_BUF_INIT;
    tlr_buf_puts(&jb, json);
    tlr_buf_putc(&jb, '\n');
    free(json);

    int n = n_files + 4;
    tlr_site_file *all = tlr_xmalloc(sizeof *all * (size_t)n);
    all[0] = (tlr_site_file){ "index.html", html, strlen(html) };
    all[1] = (tlr_site_file){ "report.md", md, strlen(md) };
    all[2] = (tlr_site_file){ "report.json", jb.data, jb.len };
    all[3] = (tlr_site_file){ "layers.html", layers, strlen(layers) };
    for (int i = 0; i < n_files; i++)
        all[4 + i] = files[i];
    tlr_status rc = tlr_site_write(o->out_dir, all, n, o->force, err);
    free(all);
    tlr_buf_free(&jb);
    free(layers);
    free(html);
    free(md);
    return rc;
}
