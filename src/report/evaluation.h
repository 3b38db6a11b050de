/* evaluation.h - a model evaluated on a labelled image folder, reduced as the images stream
 * by: confusion matrix, top-k hits, the most confident mistakes, the images that excite each
 * of the first filters of the Pregunta 5 layer most, and the sample images for the other
 * sections.  Everything kept is bounded (a few dozen thumbnails), whatever the number of
 * images, except the list of skipped files.
 *
 * Results of disjoint slices of one listing merge into exactly the result of one run over
 * all of it: counts add up, and every "best N" list is ordered by a total key (score, then
 * the image's global index), so the merge keeps the same N.  That is what lets shards run on
 * several machines (evaluation_part.c writes and reads them). */
#ifndef TLR_EVALUATION_H
#define TLR_EVALUATION_H

#include <stdint.h>

#include "base/err.h"
#include "base/image.h"
#include "base/strlist.h"
#include "input/dataset.h"
#include "input/input.h"
#include "keras/model.h"

#define TLR_EVAL_FILTERS 8      /* filters of the Pregunta 5 layer that are ranked */
#define TLR_EVAL_PER_FILTER 6   /* images kept per filter */
#define TLR_EVAL_MISTAKES 12    /* most confident mistakes kept */
#define TLR_EVAL_TOPK 5         /* top-k accuracy for k = 2 .. this (when k < classes) */
#define TLR_EVAL_THUMB 80       /* thumbnail side, pixels */

/* One image in a "best N" list. */
typedef struct {
    int64_t index;       /* global position in the listing */
    char *rel;           /* "cat/003.png" (owned) */
    int true_cls, pred_cls;
    float score;         /* confidence of pred_cls (mistakes) or mean activation (filters) */
    tlr_image *thumb;    /* owned */
} tlr_eval_pick;

/* The best 'cap' picks by score (highest first, then lowest index). */
typedef struct {
    tlr_eval_pick *items;
    int n, cap;
} tlr_eval_best;

/* A sample image for Pregunta 5 and the predictions: the first images of each class. */
typedef struct {
    int64_t key;         /* rank within its class * classes + class: round robin order */
    int64_t index;
    tlr_input input;     /* source = relative path; owned */
} tlr_eval_sample;

/* A file that was listed but could not be evaluated. */
typedef struct {
    int64_t index;
    char *text;          /* "cat/3.png: truncated file, skipped" (owned) */
} tlr_eval_skip;

typedef struct tlr_eval {
    char *folder;               /* base name of the labelled folder (owned) */
    int64_t n_items;            /* images listed (readable or not) */
    int n_unlisted;             /* files that are not images, skipped while listing */
    tlr_strlist classes;        /* names, index order */
    int n_classes;
    int binary;                 /* one sigmoid output: class 1 when p > 0.5 */
    int64_t *confusion;         /* (true, predicted), n_classes x n_classes */
    int64_t topk_hits[TLR_EVAL_TOPK + 1]; /* [k]: true class among the k most probable */
    int64_t n_evaluated;
    tlr_eval_best mistakes;
    char *filter_layer;         /* Pregunta 5 layer, NULL when there is none */
    int n_filters;              /* filters ranked (<= TLR_EVAL_FILTERS) */
    int64_t layer_channels;     /* channels of that layer */
    tlr_eval_best filters[TLR_EVAL_FILTERS];
    tlr_eval_sample *samples;   /* best max_samples by key, ascending */
    int n_samples, max_samples;
    tlr_eval_skip *skips;       /* ascending index */
    int n_skips, cap_skips;
} tlr_eval;

/* A new, empty result for 'classes'.  Free with tlr_eval_free(). */
tlr_eval *tlr_eval_new(const tlr_strlist *classes, int binary, const char *filter_layer,
                       int max_samples);
/* Sets folder, n_items and n_unlisted from the listing of 'ds'. */
void tlr_eval_describe(tlr_eval *ev, const tlr_dataset *ds);
void tlr_eval_free(tlr_eval *ev);

/* The predicted class of output y (n values) and the top-k hits of 'true_cls'; *conf is the
 * probability of the predicted class.  Adds the image to the counts. */
void tlr_eval_count(tlr_eval *ev, const float *y, int64_t n, int true_cls, int *pred,
                    float *conf);

/* Offers an image to a "best N" list; 'seen' is thumbnailed only when the image is kept. */
void tlr_eval_offer(tlr_eval_best *b, int64_t index, const char *rel, int true_cls, int pred_cls,
                    float score, const tlr_image *seen);

/* Offers a sample; 'in' is moved into the result when kept (and zeroed either way). */
void tlr_eval_offer_sample(tlr_eval *ev, int64_t key, int64_t index, tlr_input *in);

/* Records a skipped file (text copied). */
void tlr_eval_skip_add(tlr_eval *ev, int64_t index, const char *text);

/* Moves everything of 'src' (a disjoint slice of the same listing) into 'dst'; 'src' is left
 * empty.  Fails when the two were made for different classes or layers. */
tlr_status tlr_eval_merge(tlr_eval *dst, tlr_eval *src, tlr_err *err);

/* The thumbnail tlreport shows for an image as the model saw it (RGB, longer side
 * TLR_EVAL_THUMB).  Free with tlr_image_free(). */
tlr_image *tlr_eval_thumbnail(const tlr_image *seen);

/* ---- running it -------------------------------------------------------------------------- */

typedef struct {
    const tlr_input_opts *io;
    int64_t begin, end;         /* the slice of the listing to evaluate */
    int64_t max_memory;         /* activation budget of the forward pass */
    /* progress after each block (may be NULL), and each skipped file as it happens */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void (*skipped)(void *ctx, const char *text);
    void *ctx;
} tlr_eval_run_opts;

/* Decodes, runs and reduces items [o->begin, o->end) of 'ds' a block at a time into 'ev'.
 * An image that cannot be read is recorded and skipped; errors are the model's (an output
 * that is not a class vector, the memory budget). */
tlr_status tlr_eval_run(const tlr_model *m, const tlr_dataset *ds, const tlr_eval_run_opts *o,
                        tlr_eval *ev, tlr_err *err);

#endif
