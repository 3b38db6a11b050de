/* summary.c - model.summary() text as each Keras generation printed it.
 *
 * Five printers share the cell texts (label, shape, params, connections):
 *   keras1/keras2  every cell is cut at the next column stop (Keras 1.x, 2.0-2.3, tf.keras <= 2.6)
 *   tf27/tf213     cells wrap onto extra lines, nested models are framed with '|' and macrons
 *   keras3         a rich Table (box drawing), in summary_keras3.c.
 * Text is handled as code points, one terminal cell each (wide CJK glyphs are not measured).
 * Version-dependent details and where they come from are noted at each use. */
#include "report/summary_parts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* ------------------------------------------------------------------------------------------ */
/* Code-point strings: Python slices by code point, so the printers do too. */


static void us_reserve(tlr_ustr *u, size_t extra)
{
    if (u->n + extra <= u->cap)
        return;
    size_t cap = u->cap ? u->cap : 32;
    while (cap < u->n + extra)
        cap *= 2;
    u->c = tlr_xrealloc(u->c, cap * sizeof *u->c);
    u->cap = cap;
}

void tlr_sum_us_push(tlr_ustr *u, uint32_t cp)
{
    us_reserve(u, 1);
    u->c[u->n++] = cp;
}

void tlr_sum_us_repeat(tlr_ustr *u, uint32_t cp, long n)
{
    for (long i = 0; i < n; i++)
        tlr_sum_us_push(u, cp);
}

void tlr_sum_us_cat(tlr_ustr *u, const uint32_t *c, size_t n)
{
    us_reserve(u, n);
    if (n)
        memcpy(u->c + u->n, c, n * sizeof *c);
    u->n += n;
}

/* Decodes UTF-8; a malformed byte becomes U+FFFD. */
static void us_cat_utf8(tlr_ustr *u, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p;
        int more = cp < 0x80 ? 0 : (cp >> 5) == 6 ? 1 : (cp >> 4) == 14 ? 2 : (cp >> 3) == 30 ? 3 : -1;
        if (more < 0) {
            tlr_sum_us_push(u, 0xFFFD);
            p++;
            continue;
        }
        cp = more == 0 ? cp : more == 1 ? (cp & 0x1F) : more == 2 ? (cp & 0x0F) : (cp & 0x07);
        int ok = 1;
        for (int i = 1; i <= more; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                ok = 0;
                break;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (!ok) {
            tlr_sum_us_push(u, 0xFFFD);
            p++;
            continue;
        }
        tlr_sum_us_push(u, cp);
        p += more + 1;
    }
}

tlr_ustr tlr_sum_us_from(const char *s)
{
    tlr_ustr u = {NULL, 0, 0};
    us_reserve(&u, 1); /* never NULL, so offsets into it are always valid */
    us_cat_utf8(&u, s);
    return u;
}

void tlr_sum_us_free(tlr_ustr *u)
{
    free(u->c);
    u->c = NULL;
    u->n = u->cap = 0;
}

static void buf_put_cps(tlr_buf *b, const uint32_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = c[i];
        char e[4];
        size_t k;
        if (cp < 0x80) {
            e[0] = (char)cp;
            k = 1;
        } else if (cp < 0x800) {
            e[0] = (char)(0xC0 | (cp >> 6));
            e[1] = (char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            e[0] = (char)(0xE0 | (cp >> 12));
            e[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            e[2] = (char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            e[0] = (char)(0xF0 | (cp >> 18));
            e[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            e[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            e[3] = (char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        tlr_buf_append(b, e, k);
    }
}

void tlr_sum_buf_put_us(tlr_buf *b, const tlr_ustr *u) { buf_put_cps(b, u->c, u->n); }

/* Python's str.isspace() for the code points that can occur here. */
int tlr_sum_is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* ------------------------------------------------------------------------------------------ */
/* Versions and style names */


static tlr_kver kver_parse(const char *s)
{
    tlr_kver k = {0, {0, 0, 0}, 0};
    if (!s)
        return k;
    const char *p = s;
    int n = 0;
    while (n < 3 && *p >= '0' && *p <= '9') {
        long v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v < 100000)
                v = v * 10 + (*p - '0');
            p++;
        }
        k.v[n++] = (int)v;
        if (*p != '.')
            break;
        p++;
    }
    k.known = n > 0;
    const char *dash = strchr(s, '-');
    k.tf = dash && strncmp(dash + 1, "tf", 2) == 0;
    return k;
}

/* 1 when the version is known and older than a.b.c. */
int tlr_sum_kver_lt(tlr_kver k, int a, int b, int c)
{
    if (!k.known)
        return 0;
    int want[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (k.v[i] != want[i])
            return k.v[i] < want[i];
    return 0;
}

static const char *const style_names[TLR_SUMMARY_COUNT] = {
    [TLR_SUMMARY_AUTO] = "auto",   [TLR_SUMMARY_KERAS1] = "keras1", [TLR_SUMMARY_KERAS2] = "keras2",
    [TLR_SUMMARY_TF27] = "tf27",   [TLR_SUMMARY_TF213] = "tf213",   [TLR_SUMMARY_KERAS3] = "keras3",
};
_Static_assert(TLR_SUMMARY_COUNT == 6, "update style_names");

tlr_summary_style tlr_summary_style_for_version(const char *version)
{
    tlr_kver k = kver_parse(version);
    if (!k.known)
        return TLR_SUMMARY_KERAS2;
    if (k.v[0] <= 1)
        return TLR_SUMMARY_KERAS1;
    if (k.v[0] >= 3)
        return TLR_SUMMARY_KERAS3;
    if (k.v[1] <= 6)
        return TLR_SUMMARY_KERAS2; /* standalone 2.0-2.3, tf.keras 2.2.4-tf ... 2.6.0 */
    return k.v[1] <= 12 ? TLR_SUMMARY_TF27 : TLR_SUMMARY_TF213;
}

int tlr_summary_style_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < TLR_SUMMARY_COUNT; i++) /* "auto" gives TLR_SUMMARY_AUTO */
        if (strcmp(name, style_names[i]) == 0)
            return i;
    return -1;
}

const char *tlr_summary_style_name(tlr_summary_style s)
{
    return (s >= 0 && s < TLR_SUMMARY_COUNT) ? style_names[s] : "unknown";
}

/* ------------------------------------------------------------------------------------------ */
/* Cell texts */

void tlr_sum_put_int(tlr_buf *b, int64_t v, int commas)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    if (v < 0)
        tlr_buf_putc(b, '-');
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        if (commas && i > 0 && (n - i) % 3 == 0)
            tlr_buf_putc(b, ',');
        tlr_buf_putc(b, digits[i]);
    }
}

/* One shape: Python's str(tuple) for Keras <= 2 ("(None,)" for one dim), Keras 3's own
 * "(a, b)" join, which prints a single dim as "(None)". */
static void put_dims(tlr_buf *b, const int64_t *dims, int ndim, int keras3)
{
    tlr_buf_putc(b, '(');
    for (int i = 0; i < ndim; i++) {
        if (i)
            tlr_buf_puts(b, ", ");
        if (dims[i] < 0)
            tlr_buf_puts(b, "None");
        else
            tlr_sum_put_int(b, dims[i], 0);
    }
    if (ndim == 1 && !keras3)
        tlr_buf_putc(b, ',');
    tlr_buf_putc(b, ')');
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

char *tlr_sum_shape_text(const tlr_summary_row *r, int keras3)
{
    tlr_buf b = TLR_BUF_INIT;
    int n = clampi(r->n_outputs, 1, 4);
    if (r->shape_kind == TLR_SHAPE_UNKNOWN) {
        tlr_buf_puts(&b, "?");
    } else if (r->shape_kind == TLR_SHAPE_MULTIPLE && !keras3) {
        /* Keras 3 shows the last call's shape instead, which the caller put in dims */
        tlr_buf_puts(&b, "multiple");
    } else if (n > 1 || (r->shape_kind == TLR_SHAPE_LIST && !keras3)) {
        tlr_buf_putc(&b, '[');
        for (int i = 0; i < n; i++) {
            if (i)
                tlr_buf_puts(&b, ", ");
            put_dims(&b, r->dims[i], clampi(r->ndim[i], 0, 8), keras3);
        }
        tlr_buf_putc(&b, ']');
    } else {
        put_dims(&b, r->dims[0], clampi(r->ndim[0], 0, 8), keras3);
    }
    return tlr_buf_detach(&b);
}

/* count_params(); an unbuilt layer is "0 (unused)" in tf.keras and "0 (unbuilt)" in Keras 3. */
char *tlr_sum_params_text(int64_t params, int keras3)
{
    tlr_buf b = TLR_BUF_INIT;
    if (params < 0)
        tlr_buf_puts(&b, keras3 ? "0 (unbuilt)" : "0 (unused)");
    else
        tlr_sum_put_int(&b, params, keras3);
    return tlr_buf_detach(&b);
}

char *tlr_sum_label_text(const tlr_summary_row *r, int keras3_depth)
{
    tlr_buf b = TLR_BUF_INIT;
    if (keras3_depth > 0) {
        for (int i = 0; i < keras3_depth; i++)
            tlr_buf_puts(&b, "   ");
        tlr_buf_puts(&b, "\u2514 ");
    }
    tlr_buf_printf(&b, "%s (%s)", r->name ? r->name : "", r->class_name ? r->class_name : "");
    return tlr_buf_detach(&b);
}

const char *tlr_sum_link_at(const tlr_summary_row *r, int i)
{
    return (r->connected && i < r->n_connected && r->connected[i]) ? r->connected[i] : "";
}

/* tf.keras >= 2.7 prints the Python list of "name[node][tensor]" strings. */
static char *connections_repr(const tlr_summary_row *r, int listed)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_putc(&b, '[');
    for (int i = 0; listed && i < r->n_connected; i++)
        tlr_buf_printf(&b, "%s'%s'", i ? ", " : "", tlr_sum_link_at(r, i));
    tlr_buf_putc(&b, ']');
    return tlr_buf_detach(&b);
}

/* readable_memory_size(): 1024-based, two decimals ("Byte" in tf.keras, "B" in Keras 3). */
void tlr_sum_put_size(tlr_buf *b, int64_t bytes, int keras3)
{
    static const char *const units[] = {"Byte", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    for (int i = 0; i < 6; i++) {
        if (v / 1024.0 < 1.0) {
            tlr_buf_printf(b, "%.2f %s", v, (i == 0 && keras3) ? "B" : units[i]);
            return;
        }
        v /= 1024.0;
    }
    tlr_buf_printf(b, "%.2f %s", v, units[5]);
}

void tlr_summary_size_text(int64_t bytes, int keras3, tlr_buf *out)
{
    tlr_sum_put_size(out, bytes, keras3);
}

/* Rows the printer shows: nested rows only where Keras could expand them and was asked to. */
int tlr_sum_visible_rows(const tlr_summary *s, int can_nest, int *idx)
{
    int n = 0;
    for (int i = 0; i < s->n_rows; i++)
        if (s->rows[i].depth == 0 || (can_nest && s->expand_nested))
            idx[n++] = i;
    return n;
}

void tlr_sum_free_cells(char **cells, int n)
{
    for (int i = 0; i < n; i++)
        free(cells[i]);
}

static void put_line(tlr_buf *out, char c, int n)
{
    tlr_buf_repeat(out, c, (size_t)n);
    tlr_buf_putc(out, '\n');
}

/* ------------------------------------------------------------------------------------------ */
/* Keras 1 and Keras 2 (<= tf.keras 2.6): print_row cuts each cell at the next column stop. */

static void cut_row(tlr_buf *out, char *const *cells, int n, const int *stops, int separate)
{
    tlr_ustr line = {NULL, 0, 0};
    for (int i = 0; i < n; i++) {
        if (i > 0 && separate && line.n > 0)
            line.c[line.n - 1] = ' '; /* the column's last char becomes a blank */
        us_cat_utf8(&line, cells[i]);
        if (line.n > (size_t)stops[i])
            line.n = (size_t)stops[i];
        tlr_sum_us_repeat(&line, ' ', stops[i] - (long)line.n);
    }
    tlr_sum_buf_put_us(out, &line);
    tlr_buf_putc(out, '\n');
    tlr_sum_us_free(&line);
}

static void totals_commas(const tlr_summary *s, tlr_buf *out)
{
    tlr_buf_puts(out, "Total params: ");
    tlr_sum_put_int(out, s->total_params, 1);
    tlr_buf_puts(out, "\nTrainable params: ");
    tlr_sum_put_int(out, s->trainable_params, 1);
    tlr_buf_puts(out, "\nNon-trainable params: ");
    tlr_sum_put_int(out, s->non_trainable_params, 1);
    tlr_buf_putc(out, '\n');
}

/* The layer rows shared by keras1/keras2: first connection on the layer's line,
 * every further one on an otherwise empty line. */
static void cut_layer_rows(const tlr_summary *s, const int *stops, int ncol, int separate,
                           int links_shown, int width, tlr_buf *out)
{
    int *idx = tlr_xmalloc(sizeof(int) * (size_t)(s->n_rows + 1));
    int n = tlr_sum_visible_rows(s, 0, idx);
    for (int k = 0; k < n; k++) {
        const tlr_summary_row *r = &s->rows[idx[k]];
        int links = links_shown ? r->n_connected : 0;
        char *cells[4] = {tlr_sum_label_text(r, 0), tlr_sum_shape_text(r, 0), tlr_sum_params_text(r->params, 0),
                          tlr_xstrdup(links > 0 ? tlr_sum_link_at(r, 0) : "")};
        cut_row(out, cells, ncol, stops, separate);
        tlr_sum_free_cells(cells, 4);
        for (int j = 1; ncol == 4 && j < links; j++) {
            char *extra[4] = {"", "", "", (char *)tlr_sum_link_at(r, j)};
            cut_row(out, extra, 4, stops, separate);
        }
        put_line(out, k == n - 1 ? '=' : '_', width);
    }
    free(idx);
}

static char *const HEAD4[4] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};

/* Keras 1.x: always four columns, 100 wide. The blank between columns came with 1.1.2
 * (keras#4469, Nov 2016); the trainable/non-trainable split with 1.2.0 (Nov-Dec 2016). */
static void format_keras1(const tlr_summary *s, tlr_kver k, tlr_buf *out)
{
    const int width = 100;
    int stops[4] = {(int)(width * 0.33), (int)(width * 0.55), (int)(width * 0.67), width};
    int separate = !tlr_sum_kver_lt(k, 1, 1, 2);
    put_line(out, '_', width);
    cut_row(out, HEAD4, 4, stops, separate);
    put_line(out, '=', width);
    cut_layer_rows(s, stops, 4, separate, 1, width, out);
    if (tlr_sum_kver_lt(k, 1, 2, 0))
        tlr_buf_printf(out, "Total params: %lld\n", (long long)s->total_params);
    else
        totals_commas(s, out);
    put_line(out, '_', width);
}

/* Keras 2.0-2.3, tf.keras <= 2.6.  Functional width: 100 up to 2.0.x (DLwP's 2.0.8
 * notebooks), 98 from 2.1.  2.0.0-2.0.3 matched node keys against Node objects, so no
 * connection was ever printed (keras#6286, fixed in 2.0.4).  'Model: "name"' arrived with
 * keras#12107: standalone 2.2.5, and tf.keras releases tagged 2.2.4-tf onwards. */
static void format_keras2(const tlr_summary *s, tlr_kver k, tlr_buf *out)
{
    int seq = s->sequential_like;
    int width = seq ? 65 : ((!k.tf && tlr_sum_kver_lt(k, 2, 1, 0)) ? 100 : 98);
    int stops[4];
    if (seq) {
        stops[0] = (int)(width * 0.45);
        stops[1] = (int)(width * 0.85);
        stops[2] = width;
    } else {
        stops[0] = (int)(width * 0.33);
        stops[1] = (int)(width * 0.55);
        stops[2] = (int)(width * 0.67);
        stops[3] = width;
    }
    int links_lost = !k.tf && k.known && !tlr_sum_kver_lt(k, 2, 0, 0) && tlr_sum_kver_lt(k, 2, 0, 4);
    int named = !tlr_sum_kver_lt(k, 2, 2, 5) || (k.tf && !tlr_sum_kver_lt(k, 2, 2, 4));
    if (named)
        tlr_buf_printf(out, "Model: \"%s\"\n", s->model_name ? s->model_name : "");
    put_line(out, '_', width);
    cut_row(out, HEAD4, seq ? 3 : 4, stops, 1);
    put_line(out, '=', width);
    cut_layer_rows(s, stops, seq ? 3 : 4, 1, !links_lost, width, out);
    totals_commas(s, out);
    put_line(out, '_', width);
}

/* ------------------------------------------------------------------------------------------ */
/* tf.keras 2.7-2.15: print_row wraps cells, breaking early after "),", "},", "]," or "',".
 * 2.13 (new_style) takes one more char off every non-last cell and the nesting depth off
 * the first, and pads only the last column short by the depth (2.7-2.12 padded every
 * column short by it, which is why nested rows drift right in those versions). */

static size_t find_pair(const uint32_t *c, size_t n, uint32_t a, uint32_t b)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (c[i] == a && c[i + 1] == b)
            return i;
    return (size_t)-1;
}

/* Python's cell[:room], shortened to end just after the first "),", "},", "]," or "',"
 * inside it; 'cut' is how much Keras then drops from the cell (room when no mark). */
static void wrap_cut(const uint32_t *rest, size_t avail, size_t room, size_t *take, size_t *cut)
{
    static const uint32_t marks[4][2] = {{')', ','}, {'}', ','}, {']', ','}, {'\'', ','}};
    *cut = room;
    *take = room < avail ? room : avail;
    size_t best = (size_t)-1;
    for (int m = 0; m < 4; m++) {
        size_t pos = find_pair(rest, *take, marks[m][0], marks[m][1]);
        if (pos != (size_t)-1 && pos + 2 < best)
            best = pos + 2;
    }
    if (best != (size_t)-1)
        *cut = *take = best;
}

/* Column width left for text: the stop distance less the 2-blank gap (none in the last
 * column); 2.13+ also less one, and less the depth in the first column. */
static long wrap_room(const int *stops, int col, int n, int depth, int new_style)
{
    int last = col == n - 1;
    long room = stops[col] - (col ? stops[col - 1] : 0) - (last ? 0 : 2);
    if (new_style)
        room -= (last ? 0 : 1) + (col == 0 ? depth : 0);
    return room < 1 ? 1 : room; /* Python would spin forever below 1; no real depth gets there */
}

static void wrap_row(tlr_buf *out, char *const *cells, int n, const int *stops, int depth,
                     int new_style)
{
    tlr_ustr text[5];
    size_t at[5];
    for (int i = 0; i < n; i++) {
        text[i] = tlr_sum_us_from(cells[i]);
        at[i] = 0;
    }
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++)
            pending |= at[i] < text[i].n;
        if (!pending)
            break;
        tlr_ustr line = {NULL, 0, 0};
        for (int col = 0; col < n; col++) {
            int last = col == n - 1;
            size_t avail = text[col].n - at[col], take, cut;
            wrap_cut(text[col].c + at[col], avail,
                     (size_t)wrap_room(stops, col, n, depth, new_style), &take, &cut);
            if (col == 0) {
                tlr_sum_us_repeat(&line, '|', depth);
                tlr_sum_us_push(&line, ' ');
            }
            tlr_sum_us_cat(&line, text[col].c + at[col], take);
            tlr_sum_us_repeat(&line, ' ', last ? 0 : 2);
            at[col] += cut < avail ? cut : avail;
            long pad = stops[col] - (long)line.n;
            if (depth && (last || !new_style))
                pad -= depth;
            tlr_sum_us_repeat(&line, ' ', pad);
        }
        tlr_sum_us_repeat(&line, '|', depth);
        tlr_sum_buf_put_us(out, &line);
        tlr_buf_putc(out, '\n');
        tlr_sum_us_free(&line);
    }
    for (int i = 0; i < n; i++)
        tlr_sum_us_free(&text[i]);
}

typedef struct {
    const tlr_summary *s;
    const int *idx; /* visible rows */
    int n;
    int stops[5];
    int ncol;
    int width;
    int new_style;
} tf_ctx;

static void tf_cells(const tf_ctx *t, const tlr_summary_row *r, char **cells)
{
    int c = 0;
    cells[c++] = tlr_sum_label_text(r, 0);
    cells[c++] = tlr_sum_shape_text(r, 0);
    cells[c++] = tlr_sum_params_text(r->params, 0);
    /* only nodes of the outer model are listed, so nested layers show [] */
    if (!t->s->sequential_like)
        cells[c++] = connections_repr(r, r->depth == 0);
    if (t->s->show_trainable)
        cells[c++] = tlr_xstrdup(r->trainable ? "Y" : "N");
}

static void frame_line(tlr_buf *out, int pipes, const char *fill, int count)
{
    tlr_buf_repeat(out, '|', (size_t)pipes);
    tlr_buf_repeat_str(out, fill, (size_t)(count > 0 ? count : 0));
    tlr_buf_repeat(out, '|', (size_t)pipes);
    tlr_buf_putc(out, '\n');
}

/* print_layer(): a row, its expanded children inside a macron frame, then a blank line
 * unless it is the last child.  Keras reuses the is-last flag as the loop variable over the
 * children, so a row whose children were shown is never followed by the blank line. */
static int tf_emit(const tf_ctx *t, int k, int level, int last_child, tlr_buf *out)
{
    const tlr_summary_row *r = &t->s->rows[t->idx[k]];
    char *cells[5];
    tf_cells(t, r, cells);
    wrap_row(out, cells, t->ncol, t->stops, level, t->new_style);
    tlr_sum_free_cells(cells, t->ncol);

    int next = k + 1;
    while (next < t->n && t->s->rows[t->idx[next]].depth > level)
        next++;
    int flag = last_child;
    if (next > k + 1) {
        frame_line(out, level + 1, "\u00af", t->width - 2 * level - 2);
        int last_kid = k + 1;
        for (int j = k + 1; j < next; j++)
            if (t->s->rows[t->idx[j]].depth == level + 1)
                last_kid = j;
        for (int j = k + 1; j < next; j++)
            if (t->s->rows[t->idx[j]].depth == level + 1)
                tf_emit(t, j, level + 1, j == last_kid, out);
        frame_line(out, level, "\u00af", t->width - 2 * level);
        flag = 1;
    }
    if (!flag)
        frame_line(out, level, " ", t->width - 2 * level);
    return next;
}

static void format_tf(const tlr_summary *s, int new_style, tlr_buf *out)
{
    tf_ctx t = {0};
    t.s = s;
    t.new_style = new_style;
    char *heads[5] = {"Layer (type)", "Output Shape", "Param #", "Connected to", "Trainable"};
    if (s->sequential_like) {
        t.width = 65;
        t.stops[0] = (int)(t.width * 0.45);
        t.stops[1] = (int)(t.width * 0.85);
        t.stops[2] = t.width;
        t.ncol = 3;
    } else {
        t.width = 98;
        t.stops[0] = (int)(t.width * (new_style ? 0.3 : 0.33));
        t.stops[1] = (int)(t.width * (new_style ? 0.6 : 0.55));
        t.stops[2] = (int)(t.width * (new_style ? 0.7 : 0.67));
        t.stops[3] = t.width;
        t.ncol = 4;
    }
    if (s->show_trainable) {
        t.width += 11;
        heads[t.ncol] = "Trainable";
        t.stops[t.ncol++] = t.width;
    }
    int *idx = tlr_xmalloc(sizeof(int) * (size_t)(s->n_rows + 1));
    t.idx = idx;
    t.n = tlr_sum_visible_rows(s, 1, idx);

    tlr_buf_printf(out, "Model: \"%s\"\n", s->model_name ? s->model_name : "");
    put_line(out, '_', t.width);
    wrap_row(out, heads, t.ncol, t.stops, 0, new_style);
    put_line(out, '=', t.width);
    for (int k = 0; k < t.n;)
        k = tf_emit(&t, k, s->rows[idx[k]].depth, 0, out);
    put_line(out, '=', t.width);
    free(idx);

    if (new_style) {
        /* 2.13+: no thousands separators, sizes in parentheses */
        tlr_buf_printf(out, "Total params: %lld (", (long long)s->total_params);
        tlr_sum_put_size(out, s->total_bytes, 0);
        tlr_buf_printf(out, ")\nTrainable params: %lld (", (long long)s->trainable_params);
        tlr_sum_put_size(out, s->trainable_bytes, 0);
        tlr_buf_printf(out, ")\nNon-trainable params: %lld (", (long long)s->non_trainable_params);
        tlr_sum_put_size(out, s->non_trainable_bytes, 0);
        tlr_buf_puts(out, ")\n");
    } else {
        totals_commas(s, out);
    }
    put_line(out, '_', t.width);
}

/* ------------------------------------------------------------------------------------------ */

void tlr_summary_format(const tlr_summary *s, tlr_buf *out)
{
    tlr_kver k = kver_parse(s->keras_version);
    tlr_summary_style st = s->style;
    if (st <= TLR_SUMMARY_AUTO || st >= TLR_SUMMARY_COUNT)
        st = tlr_summary_style_for_version(s->keras_version);
    switch (st) {
    case TLR_SUMMARY_KERAS1:
        format_keras1(s, k, out);
        break;
    case TLR_SUMMARY_TF27:
        format_tf(s, 0, out);
        break;
    case TLR_SUMMARY_TF213:
        format_tf(s, 1, out);
        break;
    case TLR_SUMMARY_KERAS3:
        tlr_sum_format_keras3(s, k, out);
        break;
    default:
        format_keras2(s, k, out);
        break;
    }
}
