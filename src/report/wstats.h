/* wstats.h - statistics of a weight array (min, max, mean, standard deviation, the share of
 * near-zero weights, a histogram) and the small-multiples SVG that draws the histograms of
 * several kernels in one figure.  No prose inside the SVG (layer names and numbers only).
 * Deterministic. */
#ifndef TLR_WSTATS_H
#define TLR_WSTATS_H

#include <stdint.h>

#define TLR_WSTATS_BINS 40
/* A weight is near zero when |w| < TLR_WSTATS_NEAR_ZERO * max|w| of its array. */
#define TLR_WSTATS_NEAR_ZERO 1e-3

typedef struct {
    int64_t count;      /* finite values counted */
    int64_t nonfinite;  /* NaN and infinities, left out of everything below */
    double min, max, mean, std; /* std as numpy's default (divides by count) */
    int64_t near_zero;  /* |w| < TLR_WSTATS_NEAR_ZERO * max|w| */
    int64_t hist[TLR_WSTATS_BINS]; /* equal bins from min to max; the last one closed */
} tlr_wstats;

/* The statistics of n values (all zero when none is finite). */
void tlr_wstats_compute(const float *w, int64_t n, tlr_wstats *out);

/* One panel of the figure: a label (borrowed) and its statistics. */
typedef struct {
    const char *label;
    const tlr_wstats *st;
} tlr_wstats_panel;

/* The histograms of n panels side by side, in rows, as an SVG document.  Free with free(). */
char *tlr_wstats_svg(const tlr_wstats_panel *p, int n);

#endif
