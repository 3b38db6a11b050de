/* test_report.c - the rendering stage (templates -> report.md -> cmark-gfm -> index.html) and
 * the all-or-nothing site writer.
 *
 * Inputs are the fixtures of tests/gen/make_report_fixtures.py (course-model data read from
 * the HDF5 fixture with h5py, PNGs drawn by numpy/Pillow, the PNG's base64 from Python).
 * Expected strings are written by hand from the templates and from CommonMark/GFM rules.
 * The suite also leaves two sites in tests/out/ for tests/cli/browser.sh. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "report/report.h"
#include "report/site.h"

/* ---- helpers ---- */

static char *fixture_path(const char *name)
{
    return tlr_xasprintf("%s/tests/fixtures/report/%s", tlr_t_root(), name);
}

static tlr_json *load_data(const char *name)
{
    char *path = fixture_path(name);
    size_t n = 0;
    char *text = tlr_t_slurp(path, &n);
    tlr_err err = {0};
    tlr_json *j = text ? tlr_json_parse(text, n, path, &err) : NULL;
    if (!j)
        tlr_t_fail(__FILE__, __LINE__, "cannot load %s: %s", path, text ? err.msg : "missing");
    free(text);
    free(path);
    return j;
}

/* obj[key] = s (replacing), through a throw-away object because json.h has no bare strings. */
static void set_str(tlr_json *obj, const char *key, const char *s)
{
    tlr_json *tmp = tlr_json_new_object();
    tlr_json_add_string(tmp, "v", s);
    tlr_json_set_item(obj, key, tlr_json_copy(tlr_json_get(tmp, "v")));
    tlr_json_free(tmp);
}

static tlr_report_opts opts_default(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/templates", tlr_t_root());
    tlr_report_opts o;
    memset(&o, 0, sizeof o);
    o.template_dir = dir;
    return o;
}

static char *render_md(const tlr_json *d, const tlr_report_opts *o, tlr_err *err)
{
    return tlr_report_markdown(d, o, err);
}

/* Markdown and HTML for 'd'; both NULL (and a failure recorded) on error. */
static void render_both(const tlr_json *d, const tlr_report_opts *o, char **md, char **html)
{
    tlr_err err = {0};
    *md = render_md(d, o, &err);
    *html = *md ? tlr_report_html(*md, d, o, &err) : NULL;
    if (!*md || !*html)
        tlr_t_fail(__FILE__, __LINE__, "render failed: %s", err.msg);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return 0;
}

typedef struct {
    char *kernels, *features, *input;
    size_t nk, nf, ni;
    tlr_report_file files[7];
} png_set;

static void load_pngs(png_set *p)
{
    char *a = fixture_path("kernels.png"), *b = fixture_path("features.png"),
         *c = fixture_path("input.png");
    p->kernels = tlr_t_slurp(a, &p->nk);
    p->features = tlr_t_slurp(b, &p->nf);
    p->input = tlr_t_slurp(c, &p->ni);
    free(a);
    free(b);
    free(c);
    p->files[0] = (tlr_report_file){ "img/kernels.png", p->kernels, p->nk };
    p->files[1] = (tlr_report_file){ "img/input-1.png", p->input, p->ni };
    p->files[2] = (tlr_report_file){ "img/features-1.png", p->features, p->nf };
    p->files[3] = (tlr_report_file){ "img/input-2.png", p->input, p->ni };
    p->files[4] = (tlr_report_file){ "img/features-2.png", p->features, p->nf };
    p->files[5] = (tlr_report_file){ "img/features-b1-1.png", p->features, p->nf };
    p->files[6] = (tlr_report_file){ "img/features-b1-2.png", p->features, p->nf };
}

static void free_pngs(png_set *p)
{
    free(p->kernels);
    free(p->features);
    free(p->input);
}

static char *join(const char *a, const char *b)
{
    return tlr_xasprintf("%s/%s", a, b);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Reads 'dir/name' into a fresh string ("" when missing). */
static char *read_in(const char *dir, const char *name)
{
    char *p = join(dir, name);
    char *s = tlr_t_slurp(p, NULL);
    free(p);
    return s ? s : tlr_xstrdup("");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Entries of 'dir' whose name starts with 'prefix'. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

/* A fresh empty directory under the test's scratch directory. */
static char *scratch(const char *name)
{
    char *p = tlr_xasprintf("%s/report-%s", tlr_t_tmpdir(), name);
    mkdir(p, 0777);
    return p;
}

/* ---- the Markdown: sections, numbers, code ---- */

static void markdown_sections(void)
{
    tlr_json *d = load_data("data.json");
    tlr_report_opts o = opts_default();
    char *md = NULL, *html = NULL;
    render_both(d, &o, &md, &html);
    if (md) {
        static const char *const want[] = {
            "# Transfer learning con VGG16: anatomía de modelo\\.h5\n",
            "## Pregunta 1. Cómo guarda Keras las capas",
            "## Pregunta 2. Cuántas capas tiene el modelo",
            "## Pregunta 3. model.summary() con un modelo preentrenado anidado",
            "## Pregunta 4. Los kernels entrenados",
            "## Pregunta 5. Mapas de características",
            "## Predicciones", "## Avisos",
            /* Pregunta 1: the code and the file's real layout */
            "pesos = layer.get_weights()", "layer.set_weights(pesos)",
            "print(layer.get_config())", "model.save('modelo.h5')",
            "model = keras.models.load_model('modelo.h5')",
            "print([w.shape for w in pesos])  # [(3, 3, 512, 128), (128,)]",
            "| keras\\_version | string \\(variable\\-length, UTF\\-8\\) | 2\\.9\\.0 |",
            "pérdida binary\\_crossentropy",
            "| /model\\_weights/vgg16 | vgg16 | Functional (modelo anidado) | 26 | 56\\.13 MB |",
            "| /model\\_weights/vgg16/block1\\_conv1/kernel:0 | \\(3, 3, 3, 64\\) | float32 | "
            "6\\.75 KB | vgg16/block1\\_conv1 | no |",
            "dentro del grupo /model\\_weights/vgg16",
            "**Estado del optimizador** (/optimizer\\_weights): 7 arrays",
            "| conv2d | 2 | \\(3, 3, 512, 128\\), \\(128,\\) |",
            /* Pregunta 2 */
            "print('Total de capas del modelo:', len(model.layers))   # 6",
            "for i, layer in enumerate(model.layers):\n    print(i, layer.name, layer.output_shape)",
            "| 5 | dense\\_1 | Dense | \\(None, 1\\) | 129 |",
            "**`len(model.layers)` = 6**",
            /* Pregunta 3: numbers, frozen, BatchNorm */
            "| 15,321,281 | 606,593 | 14,714,688 |",
            "- **vgg16**: 14,714,688 parámetros que no cambian al entrenar.",
            "15,321,281 = 606,593 entrenables +\n14,714,688 no entrenables",
            "Este modelo no tiene capas BatchNormalization",
            "| vgg16/block5\\_conv3 | Conv2D | \\(None, 9, 9, 512\\) | 2,359,808 | no |",
            /* Pregunta 4 */
            "![Kernels de la capa conv2d: filtros 0 a 9 en filas, canales de entrada 0 a 19 en "
            "columnas](img/kernels\\.png)",
            "kernels = layer.get_weights()[0]",
            "Cada casilla se escala por separado",
            /* Pregunta 5 */
            "extractor = Model(inputs=base.input, outputs=base.get_layer('block3_conv1').output)",
            "mapas = extractor.predict(x)",
            "![Entrada gato\\.jpg tal como la vio el modelo](img/input\\-1\\.png)",
            "**Canales muertos para esta imagen: 3 de 256.**",
            "#### vgg16/block1\\_conv1: salida \\(1, 150, 150, 64\\)",
            "![Mapas de características de vgg16/block1\\_conv1 para perro\\.jpg]"
            "(img/features\\-b1\\-2\\.png)",
            "perro\\.jpg: los 16 primeros de 64 canales, 8 por fila.\n",
            /* predictions and warnings */
            "| 1 | 1 \\(perro\\) | 0\\.8876 |",
            "- perro\\.jpg: 4 channels \\(RGBA\\)",
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            STR_CONTAINS(md, want[i], "course model Markdown");
        /* The summary text appears exactly as given, inside a code block. */
        char *ref_path = tlr_xasprintf("%s/tests/ref/summary/tf27_course.txt", tlr_t_root());
        char *ref = tlr_t_slurp(ref_path, NULL);
        if (ref) {
            size_t n = strlen(ref);
            while (n && ref[n - 1] == '\n')
                ref[--n] = '\0';
            char *block = tlr_xasprintf("```text\n%s\n```\n", ref);
            STR_CONTAINS(md, block, "summary text verbatim in a fenced block");
            free(block);
        } else {
            tlr_t_fail(__FILE__, __LINE__, "missing %s", ref_path);
        }
        free(ref);
        free(ref_path);
        OK(strstr(md, "{{") == NULL && strstr(md, "}}") == NULL, "no template tag left over");
    }
    if (html) {
        OK(count_of(html, "<table>") >= 8, "GFM tables become <table>");
        STR_CONTAINS(html, "<th>Índice</th>", "table header cell");
        STR_CONTAINS(html, "<td>vgg16/block1_conv1</td>", "escapes undone by cmark in cells");
        STR_CONTAINS(html, "<pre><code class=\"language-text\">Model: &quot;sequential&quot;",
                     "summary as a code block");
        STR_CONTAINS(html, "<h2 id=\"s2\">Pregunta 1.", "numbered headings");
        STR_CONTAINS(html, "<li><a href=\"#s6\">Pregunta 5. Mapas", "table of contents");
        STR_CONTAINS(html, "<img src=\"img/kernels.png\"", "image reference");
        STR_CONTAINS(html, "<html lang=\"es\">", "page language");
        OK(!ci_contains(html, "<script"), "no script element in the page");
        OK(!ci_contains(html, "http://") && !ci_contains(html, "https://"),
           "no external resources");
    }
    free(md);
    free(html);

    /* English templates. */
    o.lang = "en";
    md = render_md(d, &o, &(tlr_err){0});
    if (md) {
        STR_CONTAINS(md, "## Question 1. How Keras stores the layers", "en: Q1");
        STR_CONTAINS(md, "## Question 5. Feature maps", "en: Q5");
        STR_CONTAINS(md, "weights = layer.get_weights()", "en: code");
        STR_CONTAINS(md, "Hence 15,321,281 =\n606,593 trainable + 14,714,688 non-trainable",
                     "en: split with real numbers");
        OK(strstr(md, "Pregunta") == NULL, "en: no Spanish headings");
    } else {
        tlr_t_fail(__FILE__, __LINE__, "English render failed");
    }
    free(md);
    tlr_json_free(d);
}

/* A weights-only file with no images: each missing part gets a sentence, not an empty heading. */
static void markdown_missing_parts(void)
{
    tlr_json *d = load_data("minimal.json");
    tlr_report_opts o = opts_default();
    char *md = render_md(d, &o, &(tlr_err){0});
    if (md) {
        STR_CONTAINS(md, "# Informe del modelo pesos\\.h5\n", "default title");
        STR_CONTAINS(md, "model.load_weights('pesos.h5')", "weights-only code");
        STR_CONTAINS(md, "Este archivo **solo contiene pesos**", "weights-only storage");
        STR_CONTAINS(md, "no se puede reproducir su salida", "no summary without architecture");
        STR_CONTAINS(md, "No hay kernels que mostrar", "no conv layer");
        STR_CONTAINS(md, "no se dieron imágenes de ejemplo", "no images");
        STR_CONTAINS(md, "No hay predicciones", "no predictions");
        STR_CONTAINS(md, "| dense | Dense | clase propia o desconocida para tlreport |",
                     "uncomputed layers table, reason worded by the template");
        OK(strstr(md, "![") == NULL, "no image references");
        OK(strstr(md, "Estado del optimizador") == NULL, "no optimizer paragraph");
    } else {
        tlr_t_fail(__FILE__, __LINE__, "minimal render failed");
    }
    free(md);
    tlr_json_free(d);
}

/* ---- hostile strings ---- */

static void escaping(void)
{
    tlr_json *d = load_data("data.json");
    if (!d)
        return;
    tlr_json *rows = tlr_json_get(tlr_json_get(d, "layers"), "rows");
    set_str(tlr_json_at(rows, 0), "name", "<script>alert(1)</script>");
    set_str(tlr_json_at(rows, 1), "name", "a|b");
    set_str(tlr_json_at(rows, 2), "name", "x\n# injected\n| 9 | evil |");
    set_str(tlr_json_at(rows, 3), "name", "bad\xff\xfeutf8");
    set_str(d, "title", "<b>T</b> & \"co\"");
    tlr_json *summary = tlr_json_get(d, "summary");
    set_str(summary, "text", "Model: \"x\"\n```\n<script>alert(2)</script>\n````\n");
    tlr_json *features = tlr_json_get(d, "features");
    set_str(features, "layer_name", "evil')\n```\n<img src=x onerror=alert(3)>");

    tlr_report_opts o = opts_default();
    char *md = NULL, *html = NULL;
    render_both(d, &o, &md, &html);
    if (md) {
        STR_CONTAINS(md, "| 0 | &lt;script&gt;alert\\(1\\)&lt;/script&gt; | Functional |",
                     "Markdown-escaped name in a table row");
        STR_CONTAINS(md, "| 1 | a\\|b | Conv2D |", "pipe escaped in a table cell");
        STR_CONTAINS(md, "| 2 | x \\# injected \\| 9 \\| evil \\| | MaxPooling2D |",
                     "newlines in a name become spaces");
        STR_CONTAINS(md, "| 3 | bad\xef\xbf\xbd\xef\xbf\xbdutf8 | Flatten |",
                     "invalid UTF-8 replaced");
        STR_CONTAINS(md, "`````text\nModel: \"x\"\n```\n<script>alert(2)</script>\n````\n`````\n",
                     "a fence longer than any backtick run in the data");
    }
    if (html) {
        STR_CONTAINS(html, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>", "HTML: escaped");
        STR_CONTAINS(html, "<td>a|b</td>", "HTML: pipe inside one cell");
        STR_CONTAINS(html, "<td>x # injected | 9 | evil |</td>", "HTML: no injected row");
        STR_CONTAINS(html, "&lt;script&gt;alert(2)&lt;/script&gt;\n````\n</code></pre>",
                     "HTML: summary stays in its code block");
        STR_CONTAINS(html, "&lt;img src=x onerror=alert(3)&gt;", "HTML: name in code escaped");
        STR_CONTAINS(html, "<title>&lt;b&gt;T&lt;/b&gt; &amp; &quot;co&quot;</title>",
                     "page title HTML-escaped");
        STR_CONTAINS(html, "<h3>Parámetros entrenables y no entrenables</h3>",
                     "the document continues after the hostile code block");
        OK(!ci_contains(html, "<script"), "no <script in the page");
        OK(!ci_contains(html, "<img src=x"), "no injected <img");
        OK(strstr(html, "<h1>injected") == NULL, "no injected heading");
        INT_EQ(count_of(html, "<h1>"), 1, "one h1");
    }
    free(md);
    free(html);
    tlr_json_free(d);
}

/* ---- base64 and --embed ---- */

static void base64_vectors(void)
{
    /* RFC 4648 section 10. */
    static const char *const v[][2] = {
        { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },          { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *b = tlr_report_base64(v[i][0], strlen(v[i][0]));
        STR_EQ(b, v[i][1], "base64 test vector");
        free(b);
    }
    static const unsigned char bin[] = { 0x00, 0xff, 0xfe, 0x80 };
    char *b = tlr_report_base64(bin, sizeof bin);
    STR_EQ(b, "AP/+gA==", "base64 of high bytes");
    free(b);
}

static void embed(void)
{
    tlr_json *d = load_data("data.json");
    png_set p;
    load_pngs(&p);
    char *out = scratch("embed");
    char *site = join(out, "site");
    tlr_report_opts o = opts_default();
    o.out_dir = site;
    o.embed = 1;
    tlr_err err = {0};
    tlr_status rc = tlr_report_write(d, p.files, 7, &o, &err);
    INT_EQ(rc, TLR_OK, err.msg);
    char *html = read_in(site, "index.html");
    char *b64_path = fixture_path("kernels.png.b64");
    char *b64 = tlr_t_slurp(b64_path, NULL);
    if (b64) {
        b64[strcspn(b64, "\n")] = '\0';
        char *uri = tlr_xasprintf("<img src=\"data:image/png;base64,%s\" "
                                  "data-file=\"kernels.png\" alt=\"Kernels", b64);
        STR_CONTAINS(html, uri, "kernel grid embedded, base64 as Python writes it");
        free(uri);
    }
    INT_EQ(count_of(html, "src=\"data:image/png;base64,"), 7, "all seven images embedded");
    OK(strstr(html, "\"img/") == NULL, "no img/ reference left in index.html");
    char *md = read_in(site, "report.md");
    STR_CONTAINS(md, "(img/kernels\\.png)", "report.md still points to img/");
    OK(exists(site) && count_entries(site, "img") == 1, "img/ still written for report.md");

    /* An image the page shows but nobody produced. */
    char *bad = tlr_report_embed("<p><img src=\"img/missing.png\" alt=\"\" /></p>", p.files, 7,
                                 &err);
    OK(bad == NULL, "missing image is an error");
    INT_EQ(err.code, TLR_E_USAGE, "missing image code");
    STR_CONTAINS(err.msg, "img/missing.png", "missing image named");
    free(bad);
    /* Other sources are left alone; percent-encoding is undone before matching. */
    tlr_report_file f = { "img/a b.png", "\x89PNG", 4 };
    char *ok = tlr_report_embed("<img src=\"x.png\" /><img src=\"img/a%20b.png\" />", &f, 1, &err);
    STR_EQ(ok, "<img src=\"x.png\" /><img src=\"data:image/png;base64,iVBORw==\" "
               "data-file=\"a%20b.png\" />", "embed leaves other sources, decodes %20");
    free(ok);

    free(b64);
    free(b64_path);
    free(md);
    free(html);
    free(site);
    free(out);
    free_pngs(&p);
    tlr_json_free(d);
}

/* ---- template lookup ---- */

static void template_override(void)
{
    tlr_json *d = load_data("data.json");
    char *dir = scratch("override");
    char *es = join(dir, "es");
    mkdir(es, 0777);
    char *file = join(es, "p2_layers.md");
    write_text(file, "## Pregunta 2 del profesor: {{layers.count}} capas\n");
    char *page = join(dir, "page.html");
    write_text(page, "<html><body>PAGE {{title}}|{{{content}}}</body></html>\n");
    char *fallback = tlr_xasprintf("%s/templates", tlr_t_root());
    setenv("TLR_TEMPLATE_DIR", fallback, 1);

    tlr_report_opts o = opts_default();
    o.template_dir = dir;
    tlr_err err = {0};
    char *md = render_md(d, &o, &err);
    if (md) {
        STR_CONTAINS(md, "## Pregunta 2 del profesor: 6 capas\n", "overridden partial");
        STR_CONTAINS(md, "## Pregunta 1. Cómo guarda Keras", "other partials fall back");
        OK(strstr(md, "## Pregunta 2. Cuántas") == NULL, "the default p2 is not used");
        char *html = tlr_report_html(md, d, &o, &err);
        STR_CONTAINS(html, "<html><body>PAGE Transfer learning con VGG16", "overridden page");
        free(html);
    } else {
        tlr_t_fail(__FILE__, __LINE__, "override render failed: %s", err.msg);
    }
    free(md);

    /* A broken override names the file and line. */
    write_text(file, "{{#layers}}\n");
    md = render_md(d, &o, &err);
    OK(md == NULL, "unclosed section fails");
    STR_CONTAINS(err.msg, "p2_layers", "error names the template");
    free(md);

    unsetenv("TLR_TEMPLATE_DIR");
    free(fallback);
    free(page);
    free(file);
    free(es);
    free(dir);
    tlr_json_free(d);
}

static void template_missing(void)
{
    tlr_json *d = load_data("data.json");
    tlr_report_opts o = opts_default();
    tlr_err err = {0};

    o.template_dir = "/nonexistent/tlreport-templates";
    char *md = render_md(d, &o, &err);
    OK(md == NULL, "missing --template-dir fails");
    INT_EQ(err.code, TLR_E_USAGE, "missing --template-dir is a usage error");
    STR_CONTAINS(err.msg, "/nonexistent/tlreport-templates", "the directory is named");
    free(md);

    o.lang = "../etc";
    o.template_dir = NULL;
    md = render_md(d, &o, &err);
    OK(md == NULL, "a language that is not a plain name fails");
    INT_EQ(err.code, TLR_E_USAGE, "bad language code");
    free(md);

    /* No template anywhere: the error lists every place tried. */
    char *a = scratch("empty-a"), *b = scratch("empty-b");
    setenv("TLR_TEMPLATE_DIR", b, 1);
    o.template_dir = a;
    o.lang = "es";
    o.exe_path = "/nonexistent/bin/tlreport";
    md = render_md(d, &o, &err);
    if (md) {
        /* This test binary sits in the source tree, so ../templates beside it is found;
         * tests/cli/errors.sh checks the message with a binary that has none. */
        char self[4096], path[4200];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(path, sizeof path, "%s/../templates/es/report.md", self);
        CHECK(access(path, R_OK) == 0, "found only beside the test executable (%s)", path);
    } else {
        INT_EQ(err.code, TLR_E_IO, "not found code");
        STR_CONTAINS(err.msg, "template 'es/report.md' not found; looked in:", "message start");
        STR_CONTAINS(err.msg, a, "lists --template-dir");
        STR_CONTAINS(err.msg, "($TLR_TEMPLATE_DIR)", "lists the variable");
        STR_CONTAINS(err.msg, "/nonexistent/bin/templates (beside argv[0])", "lists argv[0]");
        STR_CONTAINS(err.msg, "/nonexistent/bin/../share/tlreport/templates", "lists share/");
    }
    free(md);

    /* A language with no template set. */
    o.template_dir = opts_default().template_dir;
    o.lang = "fr";
    md = render_md(d, &o, &err);
    OK(md == NULL, "unknown language fails");
    STR_CONTAINS(err.msg, "template 'fr/report.md' not found", "names the language file");
    free(md);
    unsetenv("TLR_TEMPLATE_DIR");
    free(a);
    free(b);
    tlr_json_free(d);
}

/* ---- determinism ---- */

static int same_file(const char *a_dir, const char *b_dir, const char *name)
{
    char *pa = join(a_dir, name), *pb = join(b_dir, name);
    size_t na = 0, nb = 0;
    char *a = tlr_t_slurp(pa, &na), *b = tlr_t_slurp(pb, &nb);
    int same = a && b && na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    free(pa);
    free(pb);
    return same;
}

static void determinism(void)
{
    tlr_json *d = load_data("data.json");
    png_set p;
    load_pngs(&p);
    tlr_report_opts o = opts_default();
    char *m1 = render_md(d, &o, &(tlr_err){0}), *m2 = render_md(d, &o, &(tlr_err){0});
    OK(m1 && m2 && strcmp(m1, m2) == 0, "two renders give the same Markdown");
    free(m1);
    free(m2);

    char *dir = scratch("determinism");
    char *s1 = join(dir, "one"), *s2 = join(dir, "two");
    tlr_err err = {0};
    o.out_dir = s1;
    INT_EQ(tlr_report_write(d, p.files, 7, &o, &err), TLR_OK, err.msg);
    o.out_dir = s2;
    INT_EQ(tlr_report_write(d, p.files, 7, &o, &err), TLR_OK, err.msg);
    static const char *const names[] = { "index.html", "report.md", "report.json",
                                         "img/kernels.png", "img/features-2.png", ".tlreport" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(same_file(s1, s2, names[i]), "%s differs between two runs", names[i]);
    /* report.json is the data itself. */
    char *json = read_in(s1, "report.json");
    STR_CONTAINS(json, "\"total_params_str\":\t\"15,321,281\"", "report.json holds the data");
    OK(strstr(json, "\"fence\"") == NULL, "report.json has no renderer-derived keys");
    free(json);
    free(s1);
    free(s2);
    free(dir);
    free_pngs(&p);
    tlr_json_free(d);
}

/* ---- the site writer ---- */

static void site_names(void)
{
    static const char *const good[] = { "index.html", "img/kernels.png", "a/b/c/d.png",
                                        "foto 1.png", "ñ.png", "a..b" };
    static const char *const bad[] = { "", "/etc/passwd", "../x", "img/../x", "..", ".",
                                       ".tlreport", "img/.hidden", "a//b", "img/", "a\nb",
                                       "tab\there", "back\\slash", "a/b/c/d/e.png", "\x7f" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(tlr_site_name_is_safe(good[i]), "'%s' should be safe", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!tlr_site_name_is_safe(bad[i]), "'%s' should be unsafe", bad[i]);
    OK(!tlr_site_name_is_safe(NULL), "NULL is unsafe");

    static const char *const cases[][2] = {
        { "../../etc/passwd", "_._.._etc_passwd" },
        { "foto 1 (copia).jpg", "foto_1__copia_.jpg" },
        { ".hidden", "_hidden" },
        { "", "_" },
        { "\xc3\xb1.png", "__.png" },
        { "a\nb\\c", "a_b_c" },
        { "ok-name_1.png", "ok-name_1.png" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = tlr_site_sanitize_name(cases[i][0]);
        STR_EQ(s, cases[i][1], "sanitised name");
        OK(tlr_site_name_is_safe(s), "a sanitised name is safe");
        free(s);
    }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char *s = tlr_site_sanitize_name(longname);
    INT_EQ(strlen(s), 100, "sanitised names are cut to 100 bytes");
    free(s);
}

static void site_writer(void)
{
    char *dir = scratch("site");
    char *out = join(dir, "site");
    tlr_err err = {0};

    /* A new directory, with parents created. */
    char *deep = join(dir, "x/y/site");
    tlr_site_file one[] = { { "a.txt", "alpha\n", 6 }, { "img/old.png", "old", 3 } };
    INT_EQ(tlr_site_write(deep, one, 2, 0, &err), TLR_OK, err.msg);
    char *t = read_in(deep, "img/old.png");
    STR_EQ(t, "old", "file content written");
    free(t);
    free(deep);

    INT_EQ(tlr_site_write(out, one, 2, 0, &err), TLR_OK, err.msg);
    char *marker = read_in(out, TLR_SITE_MARKER);
    STR_EQ(marker, "tlreport\n", "marker written");
    free(marker);

    /* Replacing a report tlreport made: old files are gone, nothing half-written remains. */
    tlr_site_file two[] = { { "b.txt", "beta\n", 5 } };
    INT_EQ(tlr_site_write(out, two, 1, 0, &err), TLR_OK, err.msg);
    char *a = join(out, "a.txt"), *img = join(out, "img");
    OK(!exists(a) && !exists(img), "old report files removed");
    t = read_in(out, "b.txt");
    STR_EQ(t, "beta\n", "new report in place");
    free(t);
    INT_EQ(count_entries(dir, ".site.tmp-"), 0, "no temporary directory left behind");

    /* A failure while writing leaves the previous report untouched. */
    tlr_site_file clash[] = { { "c.txt", "c", 1 }, { "img", "file", 4 }, { "img/x.png", "x", 1 } };
    OK(tlr_site_write(out, clash, 3, 0, &err) != TLR_OK, "file/directory clash fails");
    t = read_in(out, "b.txt");
    STR_EQ(t, "beta\n", "previous report intact after a failed run");
    free(t);
    char *c = join(out, "c.txt");
    OK(!exists(c), "nothing of the failed run in the output");
    INT_EQ(count_entries(dir, ".site.tmp-"), 0, "failed run cleaned its temporary directory");

    /* Unsafe and repeated names are refused before anything is written. */
    tlr_site_file evil[] = { { "../evil.txt", "x", 1 } };
    INT_EQ(tlr_site_write(out, evil, 1, 0, &err), TLR_E_USAGE, "unsafe name refused");
    STR_CONTAINS(err.msg, "../evil.txt", "unsafe name in the message");
    char *escaped = join(dir, "evil.txt");
    OK(!exists(escaped), "nothing written outside the output directory");
    tlr_site_file twice[] = { { "d.txt", "1", 1 }, { "d.txt", "2", 1 } };
    INT_EQ(tlr_site_write(out, twice, 2, 0, &err), TLR_E_USAGE, "repeated name refused");

    /* A directory tlreport did not make is kept unless --force. */
    char *mine = join(dir, "mine");
    mkdir(mine, 0777);
    char *keep = join(mine, "keep.txt");
    write_text(keep, "precious");
    INT_EQ(tlr_site_write(mine, two, 1, 0, &err), TLR_E_USAGE, "foreign directory refused");
    STR_CONTAINS(err.msg, "--force", "the error says how to proceed");
    OK(exists(keep), "foreign directory untouched");
    INT_EQ(tlr_site_write(mine, two, 1, 1, &err), TLR_OK, "--force replaces it");
    OK(!exists(keep), "forced replacement removed the old content");

    /* An empty directory is fine; a regular file or '.' is not. */
    char *empty = join(dir, "empty");
    mkdir(empty, 0777);
    INT_EQ(tlr_site_write(empty, two, 1, 0, &err), TLR_OK, "empty directory replaced");
    char *file = join(dir, "plain");
    write_text(file, "x");
    INT_EQ(tlr_site_write(file, two, 1, 1, &err), TLR_E_USAGE, "a regular file is refused");
    INT_EQ(tlr_site_write(".", two, 1, 1, &err), TLR_E_USAGE, "'.' is refused");
    INT_EQ(tlr_site_write("", two, 1, 1, &err), TLR_E_USAGE, "empty path refused");
    char *trailing = tlr_xasprintf("%s/", out);
    INT_EQ(tlr_site_write(trailing, two, 1, 0, &err), TLR_OK, "trailing slash accepted");
    free(trailing);
    INT_EQ(count_entries(dir, ".site.tmp-") + count_entries(dir, ".mine.tmp-") +
               count_entries(dir, ".empty.tmp-"), 0, "no temporary directories left");

    /* The report writer refuses its own names among the images. */
    tlr_json *d = load_data("minimal.json");
    tlr_report_opts o = opts_default();
    o.out_dir = out;
    tlr_report_file reserved[] = { { "index.html", "x", 1 } };
    INT_EQ(tlr_report_write(d, reserved, 1, &o, &err), TLR_E_USAGE, "reserved name refused");
    tlr_json_free(d);

    free(file);
    free(empty);
    free(keep);
    free(mine);
    free(escaped);
    free(c);
    free(a);
    free(img);
    free(out);
    free(dir);
}

/* Leaves two sites for tests/cli/browser.sh: tests/out/browser-site (images as files) and
 * tests/out/browser-site-embed (one self-contained page). */
static void browser_sites(void)
{
    tlr_json *d = load_data("data.json");
    png_set p;
    load_pngs(&p);
    char *outdir = tlr_xasprintf("%s/tests/out", tlr_t_root());
    mkdir(outdir, 0777);
    tlr_report_opts o = opts_default();
    o.force = 1;
    tlr_err err = {0};
    for (int embed = 0; embed <= 1; embed++) {
        char *site = tlr_xasprintf("%s/browser-site%s", outdir, embed ? "-embed" : "");
        o.out_dir = site;
        o.embed = embed;
        CHECK(tlr_report_write(d, p.files, 7, &o, &err) == TLR_OK, "%s: %s", site, err.msg);
        free(site);
    }
    free(outdir);
    free_pngs(&p);
    tlr_json_free(d);
}

void test_report(void)
{
    markdown_sections();
    markdown_missing_parts();
    escaping();
    base64_vectors();
    embed();
    template_override();
    template_missing();
    determinism();
    site_names();
    site_writer();
    browser_sites();
}
