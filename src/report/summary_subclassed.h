/* summary_subclassed.h - the summary of a model whose architecture is Python code the file
 * does not hold (a subclassed model: a config without a layer list), or of one such layer
 * inside a model: the tracked sub-objects and their layers as the weights tree shows them,
 * with the stored weight shapes and parameter counts.  Output shapes cannot be known.
 *
 * A .keras store keeps each tracked attribute under its name ("encoder/layers/conv2d/vars/0");
 * a legacy HDF5 file keeps one group per top-level layer whose weight names carry the inner
 * layers ("res_net/conv2d/kernel:0"). */
#ifndef TLR_SUMMARY_SUBCLASSED_H
#define TLR_SUMMARY_SUBCLASSED_H

#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "report/storage.h"

typedef struct {
    char *path;              /* "encoder/conv2d": the object, then the layer inside it */
    char *name;              /* "conv2d" (the last part) */
    int depth;               /* 0 a tracked sub-object, 1 a layer inside it */
    char *shapes;            /* stored arrays: "(3, 3, 1, 32), (32,)" ("" when none) */
    int n_arrays;
    int64_t params;          /* of the row's own arrays; a sub-object's row adds its layers' */
} tlr_sub_row;

typedef struct {
    const char *class_name;  /* "VAE" (borrowed) */
    tlr_sub_row *rows;
    int n_rows;
    int n_objects;           /* depth-0 rows */
    int n_arrays;
    int64_t total_params;    /* the sum of the stored arrays */
} tlr_subclassed;

/* The rows of every weight group of 'st' (only_group NULL), or of the legacy group of the
 * top-level layer named 'only_group'.  'class_name' is borrowed.  Free with
 * tlr_subclassed_free(). */
tlr_subclassed *tlr_subclassed_build(const tlr_storage *st, const char *class_name,
                                     const char *only_group);
void tlr_subclassed_free(tlr_subclassed *s);

/* The --summary / --layers text: a table of objects and layers, the total, and why the
 * output shapes are missing. */
void tlr_subclassed_text(const tlr_subclassed *s, tlr_buf *out);

/* {"class", "subclassed": true, "objects", "total_params", "rows": [{path, name, depth,
 * shapes, arrays, params}]} */
tlr_json *tlr_subclassed_to_json(const tlr_subclassed *s);

#endif
