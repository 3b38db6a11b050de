/* inspect.h - what an opened Keras file holds, as data: the summary table (Pregunta 3),
 * the layer list (Pregunta 2) and the storage anatomy (Pregunta 1).  Each is built as JSON
 * for report.json / --json, and rendered as text for the terminal. */
#ifndef TLR_INSPECT_H
#define TLR_INSPECT_H

#include "base/buf.h"
#include "base/json.h"
#include "keras/kfile.h"
#include "report/summary.h"

/* The summary table of the model.  'style' < 0 chooses from the file's version.
 * Free with tlr_inspect_summary_free(). */
tlr_summary *tlr_inspect_summary(const tlr_kfile *f, int style, int expand_nested,
                                 int show_trainable);
void tlr_inspect_summary_free(tlr_summary *s);

/* Summary facts as JSON: rows (name, class, shape, params, trainable, depth, connected_to)
 * and the totals. */
tlr_json *tlr_inspect_summary_json(const tlr_summary *s);

/* Pregunta 2: {"count": N, "layers": [{"index", "name", "path", "class", "output_shape",
 * "params", "trainable", "depth"}...]}; nested layers included when 'expand_nested'. */
tlr_json *tlr_inspect_layers(const tlr_kfile *f, int expand_nested);
/* "Total de capas del Modelo: N" and "index name output_shape" lines. */
void tlr_inspect_layers_text(const tlr_json *layers, tlr_buf *out);

/* Pregunta 1: the file's anatomy (format, version, attributes, training config, weight
 * groups with every dataset, optimizer state, get_weights order). */
tlr_json *tlr_inspect_storage(const tlr_kfile *f, tlr_err *err);
void tlr_inspect_storage_text(const tlr_json *storage, tlr_buf *out);

/* Output shape of a layer as Keras prints it: "(None, 4, 4, 512)", "multiple" or "?". */
void tlr_inspect_layer_shape(const tlr_layer *l, char *out, size_t cap);

#endif
