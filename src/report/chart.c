/* chart.c - the log-scale layer chart as SVG (see chart.h). */
#include "report/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* Plot area, in SVG user units. */
#define CH_W 760.0
#define CH_LEFT 56.0
#define CH_RIGHT 12.0
#define CH_TOP 14.0
#define CH_PLOT_H 200.0
#define CH_ZERO_GAP 18.0   /* from the lowest decade down to the "0" line */
#define CH_LABELS_H 96.0   /* room for the slanted layer names */
#define CH_MIN_DECADE (-12)

static const char *const kind_colour[] = { "#1f77b4", "#8c8c8c", "#d62728" };

typedef struct {
    int lo, hi;      /* decades at the bottom and top of the scale */
    double x0, step; /* x of the first point, distance between points */
    double zero_y;   /* the "0" line */
} scale;

static void span_of(const tlr_chart_point *p, int n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = 0;
    for (int i = 0; i < n; i++) {
        double v[2] = { p[i].value, p[i].second };
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k]) && v[k] > 0) {
                *lo = v[k] < *lo ? v[k] : *lo;
                *hi = v[k] > *hi ? v[k] : *hi;
            }
    }
}

static scale make_scale(const tlr_chart_point *p, int n)
{
    scale s;
    double lo, hi;
    span_of(p, n, &lo, &hi);
    if (hi <= 0) {
        s.lo = -6;
        s.hi = 0;
    } else {
        s.lo = (int)floor(log10(lo));
        s.hi = (int)ceil(log10(hi));
        s.lo = s.lo < CH_MIN_DECADE ? CH_MIN_DECADE : s.lo;
        s.hi = s.hi <= s.lo ? s.lo + 1 : s.hi;
    }
    double plot_w = CH_W - CH_LEFT - CH_RIGHT;
    s.step = n > 1 ? plot_w / (n - 1) : 0;
    s.x0 = CH_LEFT + (n > 1 ? 0 : plot_w / 2);
    if (n > 1 && s.step > 40) { /* few points: keep them together, centred */
        s.step = 40;
        s.x0 = CH_LEFT + (plot_w - 40.0 * (n - 1)) / 2;
    }
    s.zero_y = CH_TOP + CH_PLOT_H + CH_ZERO_GAP;
    return s;
}

/* y of a value: decades map linearly; 0 to the zero line; anything past the top to it. */
static double y_of(const scale *s, double v)
{
    if (!(v > 0))
        return s->zero_y;
    if (!isfinite(v))
        return CH_TOP;
    double t = (log10(v) - s->lo) / (s->hi - s->lo);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return CH_TOP + CH_PLOT_H * (1 - t);
}

static void put_escaped(tlr_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': tlr_buf_puts(b, "&lt;"); break;
        case '>': tlr_buf_puts(b, "&gt;"); break;
        case '&': tlr_buf_puts(b, "&amp;"); break;
        case '"': tlr_buf_puts(b, "&quot;"); break;
        default: /* ASCII only: a broken UTF-8 name must not break the whole document */
            tlr_buf_putc(b, (unsigned char)*s < 32 || (unsigned char)*s > 126 ? '?' : *s);
        }
    }
}

static void axes(tlr_buf *b, const scale *s)
{
    double right = CH_W - CH_RIGHT;
    for (int d = s->lo; d <= s->hi; d++) {
        double y = y_of(s, pow(10, d));
        tlr_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                       CH_LEFT, y, right, y);
        tlr_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n",
                       CH_LEFT - 6, y + 4, d);
    }
    tlr_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bdbdbd\" "
                   "stroke-dasharray=\"4 3\"/>\n", CH_LEFT, s->zero_y, right, s->zero_y);
    tlr_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n",
                   CH_LEFT - 6, s->zero_y + 4);
}

/* The line through the values, broken where there is none. */
static void value_line(tlr_buf *b, const scale *s, const tlr_chart_point *p, int n)
{
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(p[i].value)) {
            if (open)
                tlr_buf_puts(b, "\"/>\n");
            open = 0;
            continue;
        }
        tlr_buf_printf(b, "%s%.1f,%.1f", open ? " " : "<polyline fill=\"none\" "
                       "stroke=\"#9ecae1\" stroke-width=\"1.5\" points=\"",
                       s->x0 + s->step * i, y_of(s, p[i].value));
        open = 1;
    }
    if (open)
        tlr_buf_puts(b, "\"/>\n");
}

static void marks(tlr_buf *b, const scale *s, const tlr_chart_point *p, int n)
{
    for (int i = 0; i < n; i++) {
        double x = s->x0 + s->step * i;
        if (!isnan(p[i].second))
            tlr_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\" "
                           "fill=\"#ff7f0e\"/>\n", x - 3, y_of(s, p[i].second) - 3);
        if (!isnan(p[i].value))
            tlr_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x,
                           y_of(s, p[i].value), kind_colour[p[i].kind]);
    }
}

/* Layer names, slanted; every k-th one when they would overlap. */
static void labels(tlr_buf *b, const scale *s, const tlr_chart_point *p, int n)
{
    int every = s->step >= 11 || n < 2 ? 1 : (int)ceil(11 / s->step);
    double y = s->zero_y + 12;
    for (int i = 0; i < n; i += every) {
        double x = s->x0 + s->step * i;
        tlr_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                       "transform=\"rotate(-45 %.1f %.1f)\">", x, y, x, y);
        char name[40];
        size_t len = strlen(p[i].label);
        /* the end of a long name tells layers apart better than its start */
        snprintf(name, sizeof name, "%s%s", len > 24 ? "..." : "",
                 len > 24 ? p[i].label + len - 23 : p[i].label);
        put_escaped(b, name);
        tlr_buf_puts(b, "</text>\n");
    }
}

char *tlr_chart_svg(const tlr_chart_point *p, int n)
{
    scale s = make_scale(p, n);
    double h = s.zero_y + CH_LABELS_H;
    tlr_buf b = TLR_BUF_INIT;
    tlr_buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"10\">\n",
                   CH_W, h, CH_W, h);
    tlr_buf_printf(&b, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", CH_W, h);
    axes(&b, &s);
    value_line(&b, &s, p, n);
    marks(&b, &s, p, n);
    labels(&b, &s, p, n);
    tlr_buf_puts(&b, "</svg>\n");
    return tlr_buf_detach(&b);
}
