/* summary.h - model.summary() text exactly as each Keras version printed it.
 *
 * Input is a plain table (one row per layer, nested layers included when expanded);
 * the model module fills it, this module only formats. */
#ifndef TLR_SUMMARY_H
#define TLR_SUMMARY_H

#include <stdint.h>

#include "base/buf.h"

typedef enum {
    TLR_SUMMARY_AUTO = 0,  /* chosen from keras_version by tlr_summary_style_for_version */
    TLR_SUMMARY_KERAS1,    /* Keras 1.x: 4 columns, line length 100, no Model: line */
    TLR_SUMMARY_KERAS2,    /* Keras 2.0-2.3 and tf.keras <= 2.6: truncated cells */
    TLR_SUMMARY_TF27,      /* tf.keras 2.7-2.12: wrapped cells */
    TLR_SUMMARY_TF213,     /* tf.keras 2.13-2.15 / tf-keras: new positions, sizes in totals */
    TLR_SUMMARY_KERAS3,    /* Keras 3: rich boxed table */
    TLR_SUMMARY_COUNT
} tlr_summary_style;

typedef enum {
    TLR_SHAPE_PLAIN = 0,   /* (None, 4, 4, 512) */
    TLR_SHAPE_LIST,        /* [(None, 150, 150, 3)]: a functional InputLayer in tf.keras */
    TLR_SHAPE_MULTIPLE,    /* "multiple": layer called with different shapes */
    TLR_SHAPE_UNKNOWN,     /* "?": shape could not be inferred (unknown layer class) */
} tlr_shape_kind;

/* Output tensors one row shows (a Bidirectional LSTM with return_state has 5, 6 unmerged). */
#define TLR_SUMMARY_MAX_OUTPUTS 8

typedef struct {
    const char *name;        /* layer name */
    const char *class_name;  /* as shown in parentheses: "Conv2D", "Functional", "Model", ... */
    tlr_shape_kind shape_kind;
    int n_outputs;           /* >1 for a layer with several output tensors */
    int ndim[TLR_SUMMARY_MAX_OUTPUTS]; /* per output tensor, batch dim included */
    int64_t dims[TLR_SUMMARY_MAX_OUTPUTS][8]; /* -1 is None */
    int64_t params;          /* count_params(); -1 when unbuilt (Keras 3 prints "0 (unbuilt)") */
    const char *const *connected; /* functional models: "conv2d[0][0]" strings (Keras 3: same) */
    int n_connected;
    int depth;               /* 0 = top level; >0 inside an expanded nested model */
    int trainable;           /* 1/0: for show_trainable's Y/N column */
} tlr_summary_row;

typedef struct {
    const char *model_name;     /* for the 'Model: "name"' line */
    const char *keras_version;  /* writer's version string, e.g. "2.9.0", "2.2.4-tf", "3.3.3" */
    tlr_summary_style style;    /* AUTO: derived from keras_version */
    int sequential_like;        /* Keras's test: Sequential, or one single-input node per depth */
    int expand_nested;
    int show_trainable;
    int64_t total_params, trainable_params, non_trainable_params;
    int64_t total_bytes, trainable_bytes, non_trainable_bytes; /* for TF213 / Keras 3 sizes */
    /* Keras 3 with a built optimizer adds " Optimizer params: ..." (shown when > 0); Keras
     * also sums it into the total, so total_params/total_bytes must already include it. */
    int64_t optimizer_params, optimizer_bytes;
    const tlr_summary_row *rows;
    int n_rows;
} tlr_summary;

/* Style Keras 'version' printed with ("1.2.2" -> KERAS1, "2.2.4-tf" -> KERAS2, "2.9.0" -> TF27,
 * "2.15.0" -> TF213, "3.3.3" -> KERAS3).  Unknown or NULL -> KERAS2. */
tlr_summary_style tlr_summary_style_for_version(const char *version);

/* Parses "keras1", "keras2", "tf27", "tf213", "keras3"; -1 when unknown. */
int tlr_summary_style_parse(const char *name);
const char *tlr_summary_style_name(tlr_summary_style s);

/* readable_memory_size() as the summary prints it: "12.00 B" (Keras 3) or "12.00 Byte". */
void tlr_summary_size_text(int64_t bytes, int keras3, tlr_buf *out);

/* Appends the summary text (ending with a newline) to 'out'. */
void tlr_summary_format(const tlr_summary *s, tlr_buf *out);

#endif
