/* evaluate.h - the report on a labelled image folder: the model evaluated on every image
 * (streamed), or on one shard of them written as a partial result (--shard K/N), or the
 * partial results merged (--merge) into what one whole run gives. */
#ifndef TLR_APP_EVALUATE_H
#define TLR_APP_EVALUATE_H

#include <stdio.h>

#include "app/cli.h"
#include "base/err.h"
#include "base/strlist.h"
#include "input/input.h"
#include "keras/kfile.h"
#include "report/evaluation.h"
#include "report/reportdata.h"

/* What the report takes from an evaluation. */
typedef struct {
    tlr_eval *ev;
    tlr_input *samples;       /* the first images of each class, for Pregunta 5 */
    int n_samples;
    tlr_strlist notes;        /* every skipped file, for the report's warnings */
} tlr_app_eval;

/* 1 when the report evaluates: --merge, --shard, or one images argument that is a labelled
 * folder (tlr_dataset_is_labelled). */
int tlr_app_eval_wanted(const tlr_options *o);

/* Evaluates (or merges) for the report of 'f' (weights loaded).  With --shard the partial
 * result is written to -o DIR, its path printed on 'out', and *written set: there is no
 * report to write.  Free 'res' with tlr_app_eval_free(). */
tlr_status tlr_app_eval_run(tlr_kfile *f, const tlr_options *o, const tlr_report_request *rq,
                            const tlr_input_opts *io, FILE *out, FILE *log, tlr_app_eval *res,
                            int *written, tlr_err *err);
void tlr_app_eval_free(tlr_app_eval *res);

#endif
