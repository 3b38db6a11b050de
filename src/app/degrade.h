/* degrade.h - a readable model file always gets its report: what could not be used (layers
 * whose weights do not bind, a subclassed model's missing architecture, sample inputs that
 * cannot feed the model) becomes a gap, explained in the report and named by one warning
 * line on stderr, instead of an error.  --strict turns gaps into exit status 1. */
#ifndef TLR_DEGRADE_H
#define TLR_DEGRADE_H

#include <stdio.h>

#include "app/cli.h"
#include "base/err.h"
#include "base/strlist.h"
#include "keras/kfile.h"

/* 1 when the failed input 'path' (its error 'code') is an image that cannot feed the model
 * at all, as opposed to an unreadable or oversized one. */
int tlr_degrade_is_misfit(const char *path, tlr_status code);

/* Fills 'err' (TLR_E_SHAPE) with why images cannot feed a model with several inputs, naming
 * the inputs and the option that feeds them. */
void tlr_degrade_multi_input(const tlr_kfile *f, tlr_err *err);

/* The gap of sample inputs that do not fit ('why': the first one's message). */
void tlr_degrade_unfit_gap(const tlr_kfile *f, const tlr_err *why, tlr_strlist *gaps);

/* After the report: one "tlreport: warning: FILE: gap" line per gap on 'log'; with --strict
 * and at least one gap, an error saying how many. */
tlr_status tlr_degrade_finish(const tlr_kfile *f, const tlr_strlist *gaps, const tlr_options *o,
                              FILE *log, tlr_err *err);

/* --summary, --layers and --json of a subclassed model: its objects and layers as the
 * weights tree shows them (report/summary_subclassed.h). */
tlr_status tlr_degrade_subclassed(const tlr_kfile *f, const tlr_options *o, FILE *out,
                                  tlr_err *err);

/* The error of a command that must run the model, for a subclassed model. */
tlr_status tlr_degrade_cannot_run(const tlr_kfile *f, const char *what, tlr_err *err);

#endif
