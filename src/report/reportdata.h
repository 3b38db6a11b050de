/* reportdata.h - everything the report shows, gathered into one JSON object (the data the
 * templates render, also written as report.json) plus the PNG figures it references.
 *
 * This is the stage between the engine and the templates: it chooses the layers to draw,
 * runs the forward pass on the sample images, renders the grids and formats the numbers. */
#ifndef TLR_REPORTDATA_H
#define TLR_REPORTDATA_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/image.h"
#include "base/json.h"
#include "base/strlist.h"
#include "input/input.h"
#include "io/labels.h"
#include "keras/kfile.h"
#include "report/checks.h"

struct tlr_eval; /* report/evaluation.h */

/* What the caller asks of the report: only the choices this stage reads (the CLI fills it
 * from its options).  Strings are borrowed. */
typedef struct {
    const char *title;          /* NULL: the model file's name */
    const char *author, *date;  /* NULL: left out */
    const char *lang;           /* "es" | "en" */
    int summary_style;          /* -1 from the file's version, else tlr_summary_style */
    const char *kernels_layer;  /* NULL: the default choice (see --kernels) */
    int kernel_rows, kernel_cols;
    int kernel_norm;            /* 0 kernel, 1 layer, 2 symmetric */
    const char *features_layer; /* NULL: the kernels layer; "all": every feature layer */
    int max_images;
    int cmap_viridis;
    const char *labels_path;    /* NULL: no class names */
    int top_k;
    const char *gradcam_layer;  /* NULL: the default choice (see --gradcam) */
    int class_index;            /* the class Grad-CAM explains; -1 the predicted one */
    int patterns;               /* filter patterns drawn (0: none) */
    int64_t max_memory;         /* activation budget of the forward pass */
    int progress;               /* stage lines on 'log' */
    const tlr_kfile *compare;   /* --compare: the model before training (weights loaded), or
                                   NULL; compare_inputs are the sample images prepared for it,
                                   in the same order as the inputs */
    const tlr_input *compare_inputs;
    int n_compare_inputs;
    const tlr_checks *checks;   /* --check, or NULL */
    int inputs_unfit;           /* sample inputs were given that cannot feed the model */
    const struct tlr_eval *evaluation; /* a labelled folder's evaluation, or NULL */
} tlr_report_request;

typedef struct {
    char *name;          /* "img/kernels.png" */
    unsigned char *data; /* PNG bytes (encoded when the content is complete) */
    size_t len;
    tlr_image *pending;  /* the pixels until then */
    tlr_status status;
} tlr_figure;

typedef struct {
    tlr_json *data;
    tlr_figure *figures;
    int n_figures;
} tlr_report_content;

/* Builds the report content for an opened model (weights loaded) and its sample inputs
 * (may be n_inputs == 0); 'input_notes' are the messages about inputs that were skipped.
 * 'log' receives progress lines when rq->progress.  Free with tlr_report_content_free(). */
tlr_status tlr_reportdata_build(tlr_kfile *f, const tlr_report_request *rq,
                                const tlr_input *inputs, int n_inputs, const tlr_input_opts *io,
                                const tlr_strlist *input_notes, FILE *log,
                                tlr_report_content *out, tlr_err *err);
void tlr_report_content_free(tlr_report_content *c);

/* The layer whose feature maps Pregunta 5 draws (the first with --features all), as a path
 * the caller frees; NULL when the model has none. */
tlr_status tlr_reportdata_feature_layer(const tlr_model *m, const tlr_report_request *rq,
                                        char **path, tlr_err *err);

/* The JSON forms of a ranked output. */
typedef enum {
    TLR_TOP_PREDICT, /* --predict --json: {"index", "label" ("?" when unnamed), "probability"} */
    TLR_TOP_REPORT,  /* report data: {"rank", "label" (left out when unnamed), "index",
                      * "probability_str" ("%.4f"), "value"}; templates word unnamed classes */
} tlr_top_form;

/* Ranks output 'y' (n values; a single sigmoid unit when 'binary', see tlr_labels_rank) and
 * pushes its top 'k' classes onto the array 'arr' in 'form'.  Returns the ranking (*m
 * entries, best first) for a text rendering of the same classes; free() it. */
tlr_ranked *tlr_reportdata_top(tlr_json *arr, const float *y, int64_t n,
                               const tlr_strlist *labels, int k, int binary, tlr_top_form form,
                               int *m);

/* "15,321,281" */
void tlr_format_thousands(int64_t v, char *out, size_t cap);

#endif
