/* inspect.h - what an opened Keras file holds, as data: the summary table (Pregunta 3) and
 * the layer table (Pregunta 2); the storage anatomy (Pregunta 1) is in storage.h.  Each is
 * built once as a struct, then rendered as text for the terminal or as JSON for --json and
 * report.json. */
#ifndef TLR_INSPECT_H
#define TLR_INSPECT_H

#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "keras/kfile.h"
#include "keras/optimizer.h"
#include "report/summary.h"

/* The summary table of the model.  'style' < 0 chooses from the file's version.
 * Free with tlr_inspect_summary_free(). */
tlr_summary *tlr_inspect_summary(const tlr_kfile *f, int style, int expand_nested,
                                 int show_trainable);
void tlr_inspect_summary_free(tlr_summary *s);

/* The optimizer Keras 3 built on load, as this summary counts it: built is 0 unless the
 * summary prints the " Optimizer params:" line (Keras 3 style only). */
const tlr_optimizer_state *tlr_inspect_summary_optimizer(const tlr_summary *s);

/* Summary facts as JSON: rows (name, class, shape, params, trainable, depth, connected_to)
 * and the totals.  total_params counts the model's weights; when the summary prints an
 * optimizer line, optimizer_params and optimizer_bytes carry it (Keras's printed total is
 * their sum). */
tlr_json *tlr_summary_to_json(const tlr_summary *s);

/* report.json's summary.optimizer (Preguntas 1 and 3): added to 'parent' only when the
 * summary prints an optimizer line, so other files' data stays as it was. */
void tlr_inspect_optimizer_json(tlr_json *parent, const tlr_summary *s);

/* Pregunta 2: one row per layer as --layers lists it; nested layers follow their model when
 * expanded.  Strings marked borrowed point into the file's model. */
typedef struct {
    int index;               /* position among the shown layers of its own model */
    const char *name;        /* borrowed */
    char *path;              /* "vgg16/block1_conv1" inside a nested model, else the name */
    const char *class_name;  /* borrowed */
    char *output_shape;      /* "(None, 4, 4, 512)", "[(None, 8)]", "multiple" or "?" */
    int64_t params;
    int trainable;
    int depth;               /* 0 = top level */
    const char *note;        /* why the shape is unknown, or NULL (borrowed) */
    int64_t macs;            /* multiply-accumulates per sample (cost.h), -1 unknown */
    int64_t activations;     /* values output per sample, -1 unknown */
    int leaf;                /* not a nested model (its activations count in the total) */
} tlr_layer_row;

typedef struct {
    int count;               /* top-level layers */
    tlr_layer_row *rows;
    int n_rows;
} tlr_layer_table;

/* The layer table of the file's model.  Free with tlr_layer_table_free(). */
tlr_layer_table *tlr_inspect_layer_table(const tlr_kfile *f, int expand_nested);
void tlr_layer_table_free(tlr_layer_table *t);

/* {"count": N, "layers": [{"index", "name", "path", "class", "output_shape", "params",
 * "trainable", "depth", "note"?}...]} */
tlr_json *tlr_layer_table_to_json(const tlr_layer_table *t);
/* "Total de capas del Modelo: N" and "index name output_shape" lines. */
void tlr_layer_table_text(const tlr_layer_table *t, tlr_buf *out);

/* Output shape of a layer as Keras prints it: "(None, 4, 4, 512)", "multiple" or "?". */
void tlr_inspect_layer_shape(const tlr_layer *l, char *out, size_t cap);

#endif
