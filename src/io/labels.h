/* labels.h - class names for predictions, and the top-k of an output vector. */
#ifndef TLR_LABELS_H
#define TLR_LABELS_H

#include <stdint.h>

#include "base/err.h"
#include "base/strlist.h"

/* Reads a labels file: one class name per line (UTF-8, an optional BOM), or Teachable
 * Machine's "0 name" form (the index prefix is dropped when every line has it).  Trailing
 * empty lines are ignored.  Fills 'out' (free with tlr_strlist_free). */
tlr_status tlr_labels_read(const char *path, tlr_strlist *out, tlr_err *err);

/* tlr_labels_read, then tlr_labels_check against an output of n values when n > 0 (known
 * before running); 'out' is left empty on error. */
tlr_status tlr_labels_load(const char *path, int64_t n, tlr_strlist *out, tlr_err *err);

/* One ranked class: its index, name (borrowed from the labels, or NULL) and probability. */
typedef struct {
    int index;
    const char *label;
    float p;
} tlr_ranked;

/* Checks that 'labels' fit an output of n values: one label per value, or for a single
 * (sigmoid) output two labels (class 0, class 1) or one.  Error names the labels file. */
tlr_status tlr_labels_check(const tlr_strlist *labels, int64_t n, const char *path,
                            tlr_err *err);

/* The k most probable classes of output y (n values), best first.  When 'binary' (a single
 * sigmoid output, Keras's P(class 1)) it ranks class 1 at p and class 0 at 1 - p, named by
 * two labels or "class 0"/"class 1" (label NULL) -- unless one label names class 1 alone,
 * then only that row.  Returns how many entries were written to 'out' (room for k + 2). */
int tlr_labels_rank(const float *y, int64_t n, const tlr_strlist *labels, int k, int binary,
                    tlr_ranked *out);

/* Indices of the k largest of v[0..n), largest first (ties keep the lower index first).
 * 'idx' must hold k entries; returns how many were written (min(k, n)). */
int tlr_top_k(const float *v, int64_t n, int k, int *idx);

#endif
