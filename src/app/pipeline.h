/* pipeline.h - runs what the options ask for: one of the inspection commands, the forward
 * pass (predict, dump), or the whole report.  The only module that knows the stage order. */
#ifndef TLR_PIPELINE_H
#define TLR_PIPELINE_H

#include <stdio.h>

#include "app/cli.h"
#include "base/err.h"

/* Runs the command in 'o'.  Results go to 'out'; progress and warnings to 'log' (the only
 * place the library writes, and only when asked by the caller).  Returns TLR_OK or an error
 * with 'err' filled. */
tlr_status tlr_run(const tlr_options *o, FILE *out, FILE *log, tlr_err *err);

#endif
