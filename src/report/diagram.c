/* diagram.c - the architecture drawing as SVG (see diagram.h). */
#include "report/diagram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "keras/shape.h"
#include "report/reportdata.h"

/* Geometry in SVG user units (= CSS pixels when shown at natural size). */
#define DG_BOX_W 176
#define DG_BOX_H 54
#define DG_ROW_GAP 22   /* between ranks */
#define DG_SLOT_GAP 14  /* between boxes of one rank */
#define DG_COL_GAP 64   /* between wrapped columns (room for the lines that go round) */
#define DG_MARGIN 12
#define DG_MIN_RANKS_PER_COL 24
#define DG_MAX_COLS 3     /* three columns fit the page's width unscaled */
#define DG_TEXT_CHARS 28 /* 10 px monospace: about 6 px a character */

typedef struct {
    int rank, slot; /* rank from the inputs; position within the rank */
    int col;        /* wrapped column */
    double x, y;    /* top-left corner */
} node;

/* Longest path from an input, in topological order.  A Sequential is a chain. */
static void ranks_of(const tlr_model *m, node *nd)
{
    for (int k = 0; k < m->n_order; k++) {
        int i = m->order[k];
        int r = 0;
        if (m->is_sequential)
            r = k;
        for (int c = 0; !m->is_sequential && c < m->layers[i].n_calls; c++)
            for (int j = 0; j < m->layers[i].calls[c].n_in; j++) {
                int src = m->layers[i].calls[c].in[j].layer;
                if (src >= 0 && src < m->n_layers && nd[src].rank + 1 > r)
                    r = nd[src].rank + 1;
            }
        nd[i].rank = r;
    }
}

/* Slots per rank, columns, and the corners of the boxes; the size of the drawing. */
static void place(const tlr_model *m, node *nd, double *w, double *h)
{
    int max_rank = 0;
    for (int i = 0; i < m->n_layers; i++)
        max_rank = nd[i].rank > max_rank ? nd[i].rank : max_rank;
    /* a long chain fills DG_MAX_COLS taller columns rather than more of them */
    int per_col = (max_rank + DG_MAX_COLS) / DG_MAX_COLS;
    per_col = per_col < DG_MIN_RANKS_PER_COL ? DG_MIN_RANKS_PER_COL : per_col;
    int *used = tlr_xcalloc((size_t)max_rank + 1, sizeof *used);
    for (int k = 0; k < m->n_order; k++) {
        node *n = &nd[m->order[k]];
        n->slot = used[n->rank]++;
        n->col = n->rank / per_col;
    }
    int n_cols = max_rank / per_col + 1;
    double *col_x = tlr_xcalloc((size_t)n_cols + 1, sizeof *col_x);
    col_x[0] = DG_MARGIN;
    for (int c = 0; c < n_cols; c++) {
        int widest = 1;
        for (int r = c * per_col; r <= max_rank && r < (c + 1) * per_col; r++)
            widest = used[r] > widest ? used[r] : widest;
        col_x[c + 1] = col_x[c] + widest * (DG_BOX_W + DG_SLOT_GAP) - DG_SLOT_GAP + DG_COL_GAP;
    }
    int rows = max_rank + 1 < per_col ? max_rank + 1 : per_col;
    for (int i = 0; i < m->n_layers; i++) {
        nd[i].x = col_x[nd[i].col] + nd[i].slot * (DG_BOX_W + DG_SLOT_GAP);
        nd[i].y = DG_MARGIN + (nd[i].rank % per_col) * (DG_BOX_H + DG_ROW_GAP);
    }
    *w = col_x[n_cols] - DG_COL_GAP + DG_MARGIN;
    *h = 2 * DG_MARGIN + rows * (DG_BOX_H + DG_ROW_GAP) - DG_ROW_GAP;
    free(col_x);
    free(used);
}

/* Escaped and cut to DG_TEXT_CHARS (ASCII only: a broken name must not break the file). */
static void put_text(tlr_buf *b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (i == DG_TEXT_CHARS - 1 && n > DG_TEXT_CHARS) {
            tlr_buf_puts(b, "...");
            return;
        }
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '<': tlr_buf_puts(b, "&lt;"); break;
        case '>': tlr_buf_puts(b, "&gt;"); break;
        case '&': tlr_buf_puts(b, "&amp;"); break;
        case '"': tlr_buf_puts(b, "&quot;"); break;
        default: tlr_buf_putc(b, ch < 32 || ch > 126 ? '?' : (char)ch);
        }
    }
}

/* One line into another: straight to the next rank, a curve to the right for a skip in
 * the same column, round through the gap for a line into another column. */
static void edge(tlr_buf *b, const node *s, const node *d)
{
    double sx = s->x + DG_BOX_W / 2.0, sy = s->y + DG_BOX_H;
    double dx = d->x + DG_BOX_W / 2.0, dy = d->y;
    tlr_buf_puts(b, "<path fill=\"none\" stroke=\"#666\" d=\"");
    if (s->col != d->col) {
        double gx = s->x + DG_BOX_W + DG_COL_GAP / 2.0 + 4 * s->slot;
        tlr_buf_printf(b, "M%.0f %.0fV%.0fH%.0fV%dH%.0fV%.0f", sx, sy, sy + 8, gx, DG_MARGIN - 6,
                       dx, dy);
    } else if (d->rank - s->rank > 1 && sx == dx) {
        tlr_buf_printf(b, "M%.0f %.0fC%.0f %.0f %.0f %.0f %.0f %.0f", sx, sy, sx + 150, sy,
                       dx + 150, dy, dx, dy);
    } else {
        tlr_buf_printf(b, "M%.0f %.0fL%.0f %.0f", sx, sy, dx, dy);
    }
    tlr_buf_puts(b, "\" marker-end=\"url(#arrow)\"/>\n");
}

static void edges(tlr_buf *b, const tlr_model *m, const node *nd)
{
    for (int k = 1; m->is_sequential && k < m->n_order; k++)
        edge(b, &nd[m->order[k - 1]], &nd[m->order[k]]);
    for (int i = 0; !m->is_sequential && i < m->n_layers; i++)
        for (int c = 0; c < m->layers[i].n_calls; c++)
            for (int j = 0; j < m->layers[i].calls[c].n_in; j++) {
                int src = m->layers[i].calls[c].in[j].layer;
                if (src >= 0 && src < m->n_layers)
                    edge(b, &nd[src], &nd[i]);
            }
}

/* Trainable layers with weights in blue, frozen ones dashed and gray, the rest thin black;
 * nested models filled. */
static void box(tlr_buf *b, const tlr_layer *l, const node *n)
{
    int64_t params = tlr_layer_param_count(l);
    int frozen = params > 0 && !l->eff_trainable;
    const char *stroke = frozen ? "#999" : params > 0 ? "#1f77b4" : "#333";
    const char *fill = l->op == TLR_OP_MODEL ? "#eef3fa" : "#fff";
    tlr_buf_printf(b, "<g%s><rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" rx=\"4\" "
                      "fill=\"%s\" stroke=\"%s\"%s/>\n",
                   frozen ? " fill=\"#777\"" : "", n->x, n->y, DG_BOX_W, DG_BOX_H, fill, stroke,
                   frozen ? " stroke-dasharray=\"4 3\"" : "");
    char cls[96], shape[160] = "?", pr[48] = "";
    if (l->op == TLR_OP_MODEL && l->inner)
        snprintf(cls, sizeof cls, "%s (%d)", l->class_name, tlr_model_visible_layers(l->inner, NULL, 0));
    else
        snprintf(cls, sizeof cls, "%s", l->class_name);
    if (l->shape_ok && l->n_calls > 0 && l->calls[0].n_out > 0)
        tlr_shape_str(&l->calls[0].out[0], shape, sizeof shape);
    if (params > 0)
        tlr_format_thousands(params, pr, sizeof pr);
    const char *lines[4] = { l->name, cls, shape, pr };
    for (int k = 0; k < 4; k++) {
        if (!lines[k][0])
            continue;
        tlr_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\"%s>", n->x + 6, n->y + 13 + 12 * k,
                       k == 0 ? " font-weight=\"bold\"" : "");
        put_text(b, lines[k]);
        tlr_buf_puts(b, "</text>\n");
    }
    tlr_buf_puts(b, "</g>\n");
}

char *tlr_diagram_svg(const tlr_model *m)
{
    node *nd = tlr_xcalloc((size_t)m->n_layers + 1, sizeof *nd);
    double w, h;
    ranks_of(m, nd);
    place(m, nd, &w, &h);
    tlr_buf b = { 0 };
    tlr_buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                       "viewBox=\"0 0 %.0f %.0f\" font-family=\"monospace\" font-size=\"10\">\n",
                   w, h, w, h);
    tlr_buf_puts(&b, "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" "
                     "markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0 0L8 4L0 8z\" "
                     "fill=\"#666\"/></marker></defs>\n");
    tlr_buf_printf(&b, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", w, h);
    edges(&b, m, nd);
    for (int k = 0; k < m->n_order; k++)
        box(&b, &m->layers[m->order[k]], &nd[m->order[k]]);
    tlr_buf_puts(&b, "</svg>\n");
    free(nd);
    return tlr_buf_detach(&b);
}
