/* report.h - the rendering stage: report data (JSON) + PNG bytes -> the static site.
 *
 *   data --templates/<lang>/report.md (Markdown escaping)--> report.md (every row)
 *   data, condensed (condense.h: long lists cut to their first rows) --report.md again-->
 *     --cmark-gfm (tables, strikethrough, autolink, tagfilter; raw HTML off)-->
 *     HTML body --templates/page.html (HTML escaping)--> index.html
 *   the same with templates/<lang>/layers.md --> layers.html (the whole lists)
 *   report.md, index.html, layers.html, report.json, img/NAME.png --site--> out_dir, all or nothing
 *
 * The data keys the templates read are the contract in templates/README.md.  All prose lives
 * in the templates, one set per language; this module only adds a few derived keys (code
 * fence, enum flags, table of contents) that templates cannot compute.  The only module that
 * includes cmark-gfm.
 *
 * Templates are looked up file by file, first hit wins:
 *   1. opts->template_dir (--template-dir; must exist),
 *   2. $TLR_TEMPLATE_DIR,
 *   3. the compiled-in install directory (-DTLR_TEMPLATE_DIR="..."), when defined,
 *   4. <directory of the executable>/templates and <that>/../share/tlreport/templates, for
 *      the executable found through /proc/self/exe and through opts->exe_path,
 * so a teacher may override a single file and let the rest fall back. */
#ifndef TLR_REPORT_H
#define TLR_REPORT_H

#include <stddef.h>

#include "base/err.h"
#include "base/json.h"
#include "report/site.h"
#include "report/template.h"

/* One file of the site beside the rendered pages, e.g. { "img/kernels.png", bytes, n }. */
typedef tlr_site_file tlr_report_file;

typedef struct {
    const char *out_dir;
    const char *template_dir; /* NULL = default lookup */
    const char *lang;         /* "es" | "en" (any template set name); NULL = data.lang or "es" */
    int embed;                /* index.html carries its images as data: URIs */
    int force;                /* replace an output directory tlreport did not make */
    int quiet;                /* unused here (the library never prints) */
    const char *exe_path;     /* argv[0], for locating installed templates; may be NULL */
    tlr_template_trace *trace; /* NULL, or where a test collects the templates' look-ups */
} tlr_report_opts;

/* Renders report.md, index.html and layers.html and writes them, report.json (the data,
 * pretty-printed) and 'files' into o->out_dir atomically (see site.h).  The names
 * "index.html", "layers.html", "report.md" and "report.json" are reserved.  With o->embed,
 * every <img src="img/..."> of index.html must name one of 'files'. */
tlr_status tlr_report_write(const tlr_json *data, const tlr_report_file *files, int n_files,
                            const tlr_report_opts *o, tlr_err *err);

/* Just the Markdown of the report.  The caller frees the result with free(); NULL with 'err'
 * filled when a template is missing or malformed. */
char *tlr_report_markdown(const tlr_json *data, const tlr_report_opts *o, tlr_err *err);

/* Another Markdown file of the same template set, rendered like report.md: <lang>/'name'
 * (e.g. "summary.md", the pull-request digest).  Free with free(). */
char *tlr_report_render(const tlr_json *data, const char *name, const tlr_report_opts *o,
                        tlr_err *err);

/* The Markdown of a page of the site: <lang>/'name' ("report.md" for index.html, "layers.md"
 * for layers.html) rendered from a condensed view of the data (report/condense.h), so long
 * lists show their first rows and a count.  Free with free(). */
char *tlr_report_page_markdown(const tlr_json *data, const char *name,
                               const tlr_report_opts *o, tlr_err *err);

/* Just the page: 'markdown' through cmark-gfm, wrapped in page.html.  No embedding (that
 * needs the files: see tlr_report_embed).  The caller frees the result with free(). */
char *tlr_report_html(const char *markdown, const tlr_json *data, const tlr_report_opts *o,
                      tlr_err *err);

/* Copy of 'html' in which every src="img/NAME" naming one of 'files' becomes a data: URI
 * (PNG, JPEG, GIF, WebP or SVG by extension).  A src="img/..." that names no file is an error
 * (TLR_E_USAGE), so an embedded page never points outside itself.  The caller frees the
 * result with free(). */
char *tlr_report_embed(const char *html, const tlr_report_file *files, int n_files,
                       tlr_err *err);

/* Standard base64 (RFC 4648, with '=' padding) of 'len' bytes.  Free with free(). */
char *tlr_report_base64(const void *data, size_t len);

#endif
