/* wstats.c - weight statistics and their histograms (see wstats.h). */
#include "report/wstats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/threads.h"
#include "base/xalloc.h"

/* Panel geometry, in SVG user units. */
#define WS_PANEL_W 200
#define WS_PANEL_H 96
#define WS_PER_ROW 5
#define WS_PAD 8
#define WS_PLOT_TOP 18  /* below the label */
#define WS_PLOT_H 56
#define WS_LABEL_CHARS 30

/* The array is cut into WS_CHUNKS fixed pieces whatever the thread count; each piece's
 * partial results are combined in order, so the numbers do not depend on the threads. */
#define WS_CHUNKS 64

typedef struct {
    double sum, ss, amax, min, max;
    int64_t count, nonfinite, near_zero;
    int64_t hist[TLR_WSTATS_BINS];
} ws_part;

typedef struct {
    const float *w;
    int64_t n;
    const tlr_wstats *first; /* min, max, mean of the first pass (second pass only) */
    double amax;
    ws_part part[WS_CHUNKS];
} ws_job;

static void chunk_range(const ws_job *J, int64_t c, int64_t *b, int64_t *e)
{
    *b = J->n * c / WS_CHUNKS;
    *e = J->n * (c + 1) / WS_CHUNKS;
}

/* Pass 1 over chunks [c0, c1): count, sum, min, max, max |w|. */
static void first_pass(void *ctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    ws_job *J = ctx;
    for (int64_t c = c0; c < c1; c++) {
        ws_part *P = &J->part[c];
        int64_t b, e;
        chunk_range(J, c, &b, &e);
        for (int64_t i = b; i < e; i++) {
            double v = J->w[i];
            if (!isfinite(v)) {
                P->nonfinite++;
                continue;
            }
            P->min = P->count == 0 || v < P->min ? v : P->min;
            P->max = P->count == 0 || v > P->max ? v : P->max;
            P->amax = fabs(v) > P->amax ? fabs(v) : P->amax;
            P->sum += v;
            P->count++;
        }
    }
}

/* Pass 2: squared deviations, near-zero count, histogram. */
static void second_pass(void *ctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    ws_job *J = ctx;
    const tlr_wstats *o = J->first;
    double span = o->max - o->min;
    for (int64_t c = c0; c < c1; c++) {
        ws_part *P = &J->part[c];
        int64_t b, e;
        chunk_range(J, c, &b, &e);
        for (int64_t i = b; i < e; i++) {
            double v = J->w[i];
            if (!isfinite(v))
                continue;
            P->ss += (v - o->mean) * (v - o->mean);
            P->near_zero += fabs(v) < TLR_WSTATS_NEAR_ZERO * J->amax;
            int k = span > 0 ? (int)((v - o->min) / span * TLR_WSTATS_BINS) : 0;
            P->hist[k >= TLR_WSTATS_BINS ? TLR_WSTATS_BINS - 1 : k]++;
        }
    }
}

static void combine_first(const ws_job *J, tlr_wstats *out, double *amax)
{
    double sum = 0;
    for (int c = 0; c < WS_CHUNKS; c++) {
        const ws_part *P = &J->part[c];
        out->nonfinite += P->nonfinite;
        if (P->count == 0)
            continue;
        out->min = out->count == 0 || P->min < out->min ? P->min : out->min;
        out->max = out->count == 0 || P->max > out->max ? P->max : out->max;
        *amax = P->amax > *amax ? P->amax : *amax;
        sum += P->sum;
        out->count += P->count;
    }
    if (out->count)
        out->mean = sum / (double)out->count;
}

void tlr_wstats_compute(const float *w, int64_t n, tlr_wstats *out)
{
    memset(out, 0, sizeof *out);
    ws_job *J = tlr_xcalloc(1, sizeof *J);
    *J = (ws_job){ .w = w, .n = n, .first = out };
    /* small arrays on one thread: the pool's wake-up costs more than they do */
    int threads = n < (1 << 16) ? 1 : TLR_THREADS_MAX;
    tlr_parallel_for_n(WS_CHUNKS, threads, first_pass, J);
    combine_first(J, out, &J->amax);
    if (out->count) {
        memset(J->part, 0, sizeof J->part);
        tlr_parallel_for_n(WS_CHUNKS, threads, second_pass, J);
        double ss = 0;
        for (int c = 0; c < WS_CHUNKS; c++) {
            ss += J->part[c].ss;
            out->near_zero += J->part[c].near_zero;
            for (int k = 0; k < TLR_WSTATS_BINS; k++)
                out->hist[k] += J->part[c].hist[k];
        }
        out->std = sqrt(ss / (double)out->count);
    }
    free(J);
}

/* Escaped, cut from the left (the end of a path names the layer), ASCII only. */
static void put_label(tlr_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > WS_LABEL_CHARS) {
        tlr_buf_puts(b, "...");
        s += n - (WS_LABEL_CHARS - 3);
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '<': tlr_buf_puts(b, "&lt;"); break;
        case '>': tlr_buf_puts(b, "&gt;"); break;
        case '&': tlr_buf_puts(b, "&amp;"); break;
        default: tlr_buf_putc(b, ch < 32 || ch > 126 || ch == '"' ? '?' : (char)ch);
        }
    }
}

/* One histogram: bars scaled to the fullest bin, the zero line when it is in range, the
 * ends of the range under the axis. */
static void panel(tlr_buf *b, const tlr_wstats_panel *p, double x, double y)
{
    const tlr_wstats *s = p->st;
    double pw = WS_PANEL_W - 2 * WS_PAD, base = y + WS_PLOT_TOP + WS_PLOT_H;
    tlr_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">", x + WS_PAD, y + 12);
    put_label(b, p->label);
    tlr_buf_puts(b, "</text>\n");
    int64_t top = 0;
    for (int k = 0; k < TLR_WSTATS_BINS; k++)
        top = s->hist[k] > top ? s->hist[k] : top;
    double bw = pw / TLR_WSTATS_BINS;
    for (int k = 0; k < TLR_WSTATS_BINS && top > 0; k++) {
        double hgt = WS_PLOT_H * (double)s->hist[k] / (double)top;
        if (s->hist[k] > 0 && hgt < 1)
            hgt = 1; /* a bin with weights stays visible */
        if (s->hist[k] > 0)
            tlr_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                              "fill=\"#1f77b4\"/>\n", x + WS_PAD + k * bw, base - hgt, bw, hgt);
    }
    tlr_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n",
                   x + WS_PAD, base, x + WS_PAD + pw, base);
    if (s->min < 0 && s->max > 0) {
        double zx = x + WS_PAD + pw * (0 - s->min) / (s->max - s->min);
        tlr_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#d62728\" "
                          "stroke-dasharray=\"2 2\"/>\n", zx, y + WS_PLOT_TOP, zx, base);
    }
    tlr_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">%.3g</text>\n", x + WS_PAD, base + 12, s->min);
    tlr_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>\n",
                   x + WS_PAD + pw, base + 12, s->max);
}

char *tlr_wstats_svg(const tlr_wstats_panel *p, int n)
{
    int cols = n < WS_PER_ROW ? (n > 0 ? n : 1) : WS_PER_ROW;
    int rows = (n + WS_PER_ROW - 1) / WS_PER_ROW;
    int w = cols * WS_PANEL_W, h = (rows > 0 ? rows : 1) * WS_PANEL_H;
    tlr_buf b = { 0 };
    tlr_buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                       "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"10\">\n",
                   w, h, w, h);
    tlr_buf_printf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
    for (int i = 0; i < n; i++)
        panel(&b, &p[i], (double)(i % WS_PER_ROW) * WS_PANEL_W, (double)(i / WS_PER_ROW) * WS_PANEL_H);
    tlr_buf_puts(&b, "</svg>\n");
    return tlr_buf_detach(&b);
}
