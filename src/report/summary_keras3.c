/* summary_keras3.c - the Keras 3 summary: a rich Table re-done here with rich's column sizing
 * (ratio_reduce / ratio_distribute), its word wrapping (divide_line) with ellipsis
 * overflow, and left/right/center justification. */
#include "report/summary_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
/* ------------------------------------------------------------------------------------------ */
/* Keras 3: a rich Table(show_lines=True, width=L) of fixed-width columns, printed by a
 * Console that is not a terminal (80 columns, no styles). */

enum { J_LEFT, J_RIGHT, J_CENTER, J_DEFAULT };

typedef struct {
    tlr_ustr *v;
    int n, cap;
} lines_t;

static void lines_push(lines_t *l, tlr_ustr u)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = tlr_xrealloc(l->v, sizeof *l->v * (size_t)l->cap);
    }
    l->v[l->n++] = u;
}

static void lines_free(lines_t *l)
{
    for (int i = 0; i < l->n; i++)
        tlr_sum_us_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

typedef struct {
    size_t *v, n, cap;
} breaks_t;

static void add_break(breaks_t *b, size_t at)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->v = tlr_xrealloc(b->v, sizeof *b->v * b->cap);
    }
    b->v[b->n++] = at;
}

/* rich's divide_line(): words are runs of "\s*\S+\s*"; a word that does not fit starts a new
 * line; a word longer than the width is folded into width-sized pieces when 'fold', else it
 * stays whole on its own line (and is cut with an ellipsis later).  A break is never put
 * at offset 0. */
static breaks_t divide_line(const tlr_ustr *t, size_t width, int fold)
{
    breaks_t br = {NULL, 0, 0};
    size_t pos = 0, line_pos = 0;
    for (;;) {
        size_t start = pos, i = pos;
        while (i < t->n && tlr_sum_is_space(t->c[i]))
            i++;
        if (i >= t->n)
            break;
        while (i < t->n && !tlr_sum_is_space(t->c[i]))
            i++;
        size_t stripped = i - start; /* the word without its trailing blanks */
        while (i < t->n && tlr_sum_is_space(t->c[i]))
            i++;
        size_t len = i - start;
        pos = i;
        if (line_pos + stripped <= width) {
            line_pos += len;
        } else if (stripped > width && fold) {
            size_t left = len; /* every piece but the last is full width */
            for (; left > width; left -= width, start += width)
                if (start)
                    add_break(&br, start);
            if (start)
                add_break(&br, start);
            line_pos = left;
        } else if (stripped > width) {
            if (start)
                add_break(&br, start);
            line_pos = len;
        } else if (line_pos && start) {
            add_break(&br, start);
            line_pos = len;
        }
    }
    return br;
}

static size_t trailing_spaces(const tlr_ustr *u)
{
    size_t k = 0;
    while (k < u->n && tlr_sum_is_space(u->c[u->n - 1 - k]))
        k++;
    return k;
}

/* Text.truncate(): longer lines are cut, with "…" as the last cell when 'ellipsis'. */
static void truncate_line(tlr_ustr *u, size_t width, int ellipsis)
{
    if (u->n <= width)
        return;
    if (ellipsis) {
        u->n = width ? width - 1 : 0;
        tlr_sum_us_push(u, 0x2026);
    } else {
        u->n = width;
    }
}

/* Text.wrap(): divide, drop surplus trailing blanks, justify, truncate. */
static lines_t rich_wrap(const char *text, size_t width, int justify, int ellipsis)
{
    tlr_ustr t = tlr_sum_us_from(text);
    breaks_t br = divide_line(&t, width, !ellipsis);
    lines_t out = {NULL, 0, 0};
    for (size_t i = 0; i <= br.n; i++) {
        size_t a = i ? br.v[i - 1] : 0, b = i < br.n ? br.v[i] : t.n;
        tlr_ustr line = {NULL, 0, 0};
        tlr_sum_us_cat(&line, t.c + a, b - a);
        if (line.n > width) { /* rstrip_end */
            size_t ws = trailing_spaces(&line), excess = line.n - width;
            line.n -= ws < excess ? ws : excess;
        }
        if (justify != J_LEFT && justify != J_DEFAULT)
            line.n -= trailing_spaces(&line);
        truncate_line(&line, width, ellipsis);
        long room = (long)width - (long)line.n;
        if (justify == J_LEFT) {
            tlr_sum_us_repeat(&line, ' ', room);
        } else if (justify == J_RIGHT || justify == J_CENTER) {
            long before = justify == J_RIGHT ? room : room / 2;
            tlr_ustr padded = {NULL, 0, 0};
            tlr_sum_us_repeat(&padded, ' ', before);
            tlr_sum_us_cat(&padded, line.c, line.n);
            tlr_sum_us_repeat(&padded, ' ', room - before);
            tlr_sum_us_free(&line);
            line = padded;
        }
        lines_push(&out, line);
    }
    free(br.v);
    tlr_sum_us_free(&t);
    return out;
}

/* console.print() of one markup-free line: wrapped (folded) at the console width. */
static void console_print(tlr_buf *out, const char *text)
{
    lines_t l = rich_wrap(text, 80, J_DEFAULT, 0);
    for (int i = 0; i < l.n; i++) {
        tlr_sum_buf_put_us(out, &l.v[i]);
        tlr_buf_putc(out, '\n');
    }
    lines_free(&l);
}

/* ratio_reduce(excess, [1]*n, widths, widths): take 'total' cells off, evenly, rounding each
 * share half-to-even as Python's round() does. */
static void ratio_reduce(int total, int *w, int n)
{
    long ratio_left = n, remaining = total;
    for (int i = 0; i < n; i++) {
        if (w[i] <= 0 || ratio_left <= 0)
            continue;
        double share = nearbyint((double)remaining / (double)ratio_left);
        long d = (long)share < w[i] ? (long)share : w[i];
        w[i] -= (int)d;
        remaining -= d;
        ratio_left -= 1;
    }
}

/* ratio_distribute(total, widths): hand out 'total' extra cells in proportion, rounding up. */
static void ratio_distribute(int total, int *w, int n)
{
    long ratio_left = 0, remaining = total;
    int add[5];
    for (int i = 0; i < n; i++)
        ratio_left += w[i];
    for (int i = 0; i < n; i++) {
        long d = remaining;
        if (ratio_left > 0)
            d = (long)ceil((double)((long)w[i] * remaining) / (double)ratio_left);
        if (d < 0)
            d = 0;
        add[i] = (int)d;
        ratio_left -= w[i];
        remaining -= d;
    }
    for (int i = 0; i < n; i++)
        w[i] += add[i];
}

/* One box rule: left, runs of 'h' per column joined by 'cross', right. */
static void box_rule(tlr_buf *out, const char *l, const char *h, const char *x, const char *r,
                     const int *w, int n)
{
    tlr_buf_puts(out, l);
    for (int i = 0; i < n; i++) {
        if (i)
            tlr_buf_puts(out, x);
        tlr_buf_repeat_str(out, h, (size_t)w[i]);
    }
    tlr_buf_puts(out, r);
    tlr_buf_putc(out, '\n');
}

/* One table row: each cell wrapped inside one blank of padding per side; short cells are
 * filled with blank lines below (above for the header, which rich aligns to the bottom). */
static void box_row(tlr_buf *out, char *const *cells, const int *justify, const int *w, int n,
                    const char *bar, int bottom)
{
    lines_t cl[5];
    int height = 1;
    for (int i = 0; i < n; i++) {
        cl[i] = rich_wrap(cells[i], (size_t)(w[i] - 2), justify[i], 1);
        if (cl[i].n > height)
            height = cl[i].n;
    }
    for (int y = 0; y < height; y++) {
        tlr_buf_puts(out, bar);
        for (int i = 0; i < n; i++) {
            int k = bottom ? y - (height - cl[i].n) : y;
            if (k >= 0 && k < cl[i].n) {
                tlr_buf_putc(out, ' ');
                tlr_sum_buf_put_us(out, &cl[i].v[k]);
                tlr_buf_putc(out, ' ');
            } else {
                tlr_buf_repeat(out, ' ', (size_t)w[i]);
            }
            tlr_buf_puts(out, bar);
        }
        tlr_buf_putc(out, '\n');
    }
    for (int i = 0; i < n; i++)
        lines_free(&cl[i]);
}

static char *k3_connections(const tlr_summary_row *r)
{
    tlr_buf b = TLR_BUF_INIT;
    /* only nodes of the outer model count, so nested layers show "-" */
    for (int i = 0; r->depth == 0 && i < r->n_connected; i++)
        tlr_buf_printf(&b, "%s%s", i ? ", " : "", tlr_sum_link_at(r, i));
    if (b.len == 0)
        tlr_buf_putc(&b, '-');
    return tlr_buf_detach(&b);
}

static void k3_totals_line(tlr_buf *out, const char *label, int64_t count, int64_t bytes)
{
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_puts(&b, label);
    tlr_sum_put_int(&b, count, 1);
    tlr_buf_puts(&b, " (");
    tlr_sum_put_size(&b, bytes, 1);
    tlr_buf_putc(&b, ')');
    console_print(out, tlr_buf_cstr(&b));
    tlr_buf_free(&b);
}

/* Column stops: 3.0.0-3.0.4 used [.45,.84,1] / [.3,.56,.70,1]; keras#19158 (Feb 2024, taken
 * here as 3.0.5) widened Param # to [.45,.80,1] / [.3,.56,.74,1].  show_trainable scales them
 * by 0.9 and adds a centred column.  Width: min(88 or 108, terminal - 4), and a non-terminal
 * reports 80 columns, so 76. */
static int k3_columns(const tlr_summary *s, tlr_kver k, int *w, int *justify, char **heads)
{
    const int line = 80 - 4;
    int old = tlr_sum_kver_lt(k, 3, 0, 5);
    double pos[5];
    int n;
    heads[0] = "Layer (type)";
    heads[1] = "Output Shape";
    heads[2] = "Param #";
    justify[0] = J_LEFT;
    justify[1] = J_LEFT;
    justify[2] = J_RIGHT;
    if (s->sequential_like) {
        pos[0] = 0.45;
        pos[1] = old ? 0.84 : 0.80;
        pos[2] = 1.0;
        n = 3;
    } else {
        pos[0] = 0.3;
        pos[1] = 0.56;
        pos[2] = old ? 0.70 : 0.74;
        pos[3] = 1.0;
        heads[3] = "Connected to";
        justify[3] = J_LEFT;
        n = 4;
    }
    if (s->show_trainable) {
        for (int i = 0; i < n; i++)
            pos[i] = pos[i] * 0.90;
        pos[n] = 1.0;
        heads[n] = "Trainable";
        justify[n] = J_CENTER;
        n++;
    }
    int used = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        int width = (int)(pos[i] * line) - used;
        used += width;
        w[i] = width + 2; /* rich adds the (0, 1) padding */
        sum += w[i];
    }
    /* the table must fit L including its n+1 vertical rules; fixed columns do not wrap, so
     * rich's last resort shares the excess out evenly; any room left is spread (expand) */
    int room = line - (n + 1);
    if (sum > room)
        ratio_reduce(sum - room, w, n);
    sum = 0;
    for (int i = 0; i < n; i++)
        sum += w[i];
    if (sum < room)
        ratio_distribute(room - sum, w, n);
    return n;
}

void tlr_sum_format_keras3(const tlr_summary *s, tlr_kver k, tlr_buf *out)
{
    int w[5], justify[5];
    char *heads[5];
    int n = k3_columns(s, k, w, justify, heads);

    tlr_buf title = TLR_BUF_INIT;
    tlr_buf_printf(&title, "Model: \"%s\"", s->model_name ? s->model_name : "");
    console_print(out, tlr_buf_cstr(&title));
    tlr_buf_free(&title);

    box_rule(out, "\u250f", "\u2501", "\u2533", "\u2513", w, n);
    box_row(out, heads, justify, w, n, "\u2503", 1);
    box_rule(out, "\u2521", "\u2501", "\u2547", "\u2529", w, n);
    int *idx = tlr_xmalloc(sizeof(int) * (size_t)(s->n_rows + 1));
    int rows = tlr_sum_visible_rows(s, 1, idx);
    for (int j = 0; j < rows; j++) {
        const tlr_summary_row *r = &s->rows[idx[j]];
        char *cells[5];
        int c = 0;
        cells[c++] = tlr_sum_label_text(r, r->depth);
        cells[c++] = tlr_sum_shape_text(r, 1);
        cells[c++] = tlr_sum_params_text(r->params, 1);
        if (!s->sequential_like)
            cells[c++] = k3_connections(r);
        if (s->show_trainable) /* layers without weights show "-" */
            cells[c++] = tlr_xstrdup(r->params > 0 ? (r->trainable ? "Y" : "N") : "-");
        if (j)
            box_rule(out, "\u251c", "\u2500", "\u253c", "\u2524", w, n);
        box_row(out, cells, justify, w, n, "\u2502", 0);
        tlr_sum_free_cells(cells, c);
    }
    free(idx);
    box_rule(out, "\u2514", "\u2500", "\u2534", "\u2518", w, n);
    k3_totals_line(out, " Total params: ", s->total_params, s->total_bytes);
    k3_totals_line(out, " Trainable params: ", s->trainable_params, s->trainable_bytes);
    k3_totals_line(out, " Non-trainable params: ", s->non_trainable_params,
                   s->non_trainable_bytes);
    if (s->optimizer_params > 0)
        k3_totals_line(out, " Optimizer params: ", s->optimizer_params, s->optimizer_bytes);
}

