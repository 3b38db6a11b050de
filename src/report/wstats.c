/* wstats.c - weight statistics and their histograms (see wstats.h). */
#include "report/wstats.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/threads.h"
#include "base/vectorize.h"
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

enum { LANES = 8 }; /* independent running values per pass: loops that vectorise */

TLR_VECTORIZE static int64_t count_nonfinite(const float *w, int64_t n)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += !(fabsf(w[i]) <= FLT_MAX);
    return bad;
}

/* Pass 1 over a chunk with NaN or infinities: those are counted and left out. */
static void first_slow(const float *w, int64_t n, ws_part *P)
{
    for (int64_t i = 0; i < n; i++) {
        double v = w[i];
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

/* Pass 1 over a finite chunk of n >= 1 values: LANES running minima, maxima and sums, merged
 * in lane order.  max |w| is max(-min, max). */
TLR_VECTORIZE static void first_fast(const float *w, int64_t n, ws_part *P)
{
    float mn[LANES], mx[LANES];
    double s[LANES] = { 0 };
    for (int k = 0; k < LANES; k++)
        mn[k] = mx[k] = w[0];
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            mn[k] = w[i + k] < mn[k] ? w[i + k] : mn[k];
            mx[k] = w[i + k] > mx[k] ? w[i + k] : mx[k];
            s[k] += (double)w[i + k];
        }
    for (; i < n; i++) {
        mn[0] = w[i] < mn[0] ? w[i] : mn[0];
        mx[0] = w[i] > mx[0] ? w[i] : mx[0];
        s[0] += (double)w[i];
    }
    P->min = (double)mn[0], P->max = (double)mx[0], P->sum = 0;
    for (int k = 0; k < LANES; k++) {
        P->min = (double)mn[k] < P->min ? (double)mn[k] : P->min;
        P->max = (double)mx[k] > P->max ? (double)mx[k] : P->max;
        P->sum += s[k];
    }
    P->amax = fabs(P->min) > fabs(P->max) ? fabs(P->min) : fabs(P->max);
    P->count = n;
}

static void first_pass(void *ctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    ws_job *J = ctx;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b, e;
        chunk_range(J, c, &b, &e);
        if (e > b && count_nonfinite(J->w + b, e - b) == 0)
            first_fast(J->w + b, e - b, &J->part[c]);
        else
            first_slow(J->w + b, e - b, &J->part[c]);
    }
}

/* The histogram bin of v (equal bins from min to max, the last one closed). */
static int bin_of(double v, double min, double span)
{
    int k = span > 0 ? (int)((v - min) / span * TLR_WSTATS_BINS) : 0;
    return k >= TLR_WSTATS_BINS ? TLR_WSTATS_BINS - 1 : k;
}

/* bin_of for n finite values, in a loop of its own so that it is vectorised: a division
 * per weight, one at a time between the histogram's increments, was most of the
 * statistics' time (VGG16: 15 M weights). */
TLR_VECTORIZE static void bins_of(const float *w, int64_t n, double min, double span,
                                  int32_t *bin)
{
    for (int64_t i = 0; i < n; i++)
        bin[i] = bin_of(w[i], min, span);
}

/* ss[k] += (w[i] - mean)^2 for i = k mod LANES, n a multiple of LANES: the lanes in
 * registers (as an array GCC kept them in memory, a store and a load per value). */
TLR_VECTORIZE static void squares(const float *w, int64_t n, double mean, double ss[LANES])
{
    _Static_assert(LANES == 8, "squares() holds the lanes in four pairs");
    typedef double v2d __attribute__((vector_size(16)));
    v2d a0 = { ss[0], ss[1] }, a1 = { ss[2], ss[3] }, a2 = { ss[4], ss[5] }, a3 = { ss[6], ss[7] };
    for (int64_t i = 0; i < n; i += LANES) {
        v2d d0 = { (double)w[i] - mean, (double)w[i + 1] - mean };
        v2d d1 = { (double)w[i + 2] - mean, (double)w[i + 3] - mean };
        v2d d2 = { (double)w[i + 4] - mean, (double)w[i + 5] - mean };
        v2d d3 = { (double)w[i + 6] - mean, (double)w[i + 7] - mean };
        a0 += d0 * d0, a1 += d1 * d1, a2 += d2 * d2, a3 += d3 * d3;
    }
    ss[0] = a0[0], ss[1] = a0[1], ss[2] = a1[0], ss[3] = a1[1];
    ss[4] = a2[0], ss[5] = a2[1], ss[6] = a3[0], ss[7] = a3[1];
}

/* Pass 2 over a finite chunk: squared deviations and near-zero counts in lanes; the bins in
 * four histograms, so that runs of one bin do not wait on each other's increments. */
TLR_VECTORIZE static void second_fast(const float *w, int64_t n, const tlr_wstats *o,
                                      double thr, ws_part *P)
{
    enum { BLOCK = 512 };
    double ss[LANES] = { 0 };
    int32_t nz[LANES] = { 0 };
    int64_t h[4][TLR_WSTATS_BINS] = { { 0 } };
    /* |w| < thr for a float w is |w| < the least float >= thr: a comparison of floats */
    float thr_f = (float)thr;
    if ((double)thr_f < thr)
        thr_f = nextafterf(thr_f, INFINITY);
    squares(w, n / LANES * LANES, o->mean, ss);
    int64_t i;
    for (i = n / LANES * LANES; i < n; i++) {
        double d = (double)w[i] - o->mean;
        ss[0] += d * d;
    }
    for (i = 0; i + LANES <= n; i += LANES) /* a chunk is far below 2^31 values a lane */
        for (int k = 0; k < LANES; k++)
            nz[k] += fabsf(w[i + k]) < thr_f;
    for (; i < n; i++)
        nz[0] += fabsf(w[i]) < thr_f;
    double span = o->max - o->min;
    int32_t bin[BLOCK];
    for (i = 0; i < n && span > 0; i += BLOCK) { /* span > 0 known: a vector loop */
        int64_t m = n - i < BLOCK ? n - i : BLOCK;
        bins_of(w + i, m, o->min, span, bin);
        for (int64_t j = 0; j < m; j++)
            h[j & 3][bin[j]]++;
    }
    if (span <= 0) /* every value equal: bin 0 */
        h[0][0] = n;
    for (int k = 0; k < LANES; k++)
        P->ss += ss[k], P->near_zero += nz[k];
    for (int k = 0; k < TLR_WSTATS_BINS; k++)
        P->hist[k] = h[0][k] + h[1][k] + h[2][k] + h[3][k];
}

/* Pass 2 over a chunk with NaN or infinities. */
static void second_slow(const float *w, int64_t n, const tlr_wstats *o, double thr,
                        ws_part *P)
{
    double span = o->max - o->min;
    for (int64_t i = 0; i < n; i++) {
        double v = w[i];
        if (!isfinite(v))
            continue;
        P->ss += (v - o->mean) * (v - o->mean);
        P->near_zero += fabs(v) < thr;
        P->hist[bin_of(v, o->min, span)]++;
    }
}

/* Pass 2: squared deviations, near-zero count, histogram. */
static void second_pass(void *ctx, int64_t c0, int64_t c1, int tid)
{
    (void)tid;
    ws_job *J = ctx;
    double thr = TLR_WSTATS_NEAR_ZERO * J->amax;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b, e;
        chunk_range(J, c, &b, &e);
        if (J->part[c].nonfinite == 0)
            second_fast(J->w + b, e - b, J->first, thr, &J->part[c]);
        else
            second_slow(J->w + b, e - b, J->first, thr, &J->part[c]);
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
    if (out->count) { /* the first pass left ss, near_zero and hist at 0 */
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
