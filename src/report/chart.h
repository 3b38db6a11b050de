/* chart.h - a small SVG chart written by hand: one value per layer, in layer order, on a
 * log scale.  No prose inside (numbers, layer names and marks only): the words around it
 * live in the templates.  Deterministic: equal points give equal bytes. */
#ifndef TLR_CHART_H
#define TLR_CHART_H

typedef enum {
    TLR_CHART_TRAINABLE = 0, /* blue */
    TLR_CHART_FROZEN,        /* gray */
    TLR_CHART_WARNING,       /* red: a frozen layer that changed */
} tlr_chart_kind;

typedef struct {
    const char *label;       /* shown under the axis (borrowed; escaped here) */
    double value;            /* >= 0; 0 sits on the "0" line below the scale; INFINITY on
                                the top edge; NAN: no value (the line breaks) */
    double second;           /* a second series drawn as squares (NAN: none) */
    tlr_chart_kind kind;
} tlr_chart_point;

/* The chart of 'n' points as an SVG document.  Free with free(). */
char *tlr_chart_svg(const tlr_chart_point *p, int n);

#endif
