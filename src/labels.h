/* labels.h - class names for predictions, and the top-k of an output vector. */
#ifndef TLR_LABELS_H
#define TLR_LABELS_H

#include <stdint.h>

#include "err.h"
#include "strlist.h"

/* Reads a labels file: one class name per line (UTF-8, an optional BOM), or Teachable
 * Machine's "0 name" form (the index prefix is dropped when every line has it).  Trailing
 * empty lines are ignored.  Fills 'out' (free with tlr_strlist_free). */
tlr_status tlr_labels_read(const char *path, tlr_strlist *out, tlr_err *err);

/* Indices of the k largest of v[0..n), largest first (ties keep the lower index first).
 * 'idx' must hold k entries; returns how many were written (min(k, n)). */
int tlr_top_k(const float *v, int64_t n, int k, int *idx);

#endif
