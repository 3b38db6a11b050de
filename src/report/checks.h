/* checks.h - --check FILE: expectations a CI job can fail on, one per line.
 *
 *   # a comment; blank lines are ignored; '#' after a check starts a comment too
 *   total_params <= 20_000_000          parameters: total_params, trainable_params,
 *   trainable_params == 606593            non_trainable_params; layers (len(model.layers))
 *   layers == 6
 *   unchanged vgg16/block*              every layer whose path matches the glob is the same as
 *   changed dense*                        in --compare / has changed ('*' also crosses '/')
 *   rel_change dense_1 <= 0.5           every matching layer's ||B-A|| / ||A||
 *   predict cat.jpg class 1 >= 0.8      the probability of a class (index, or a name from
 *   predict "my cat.jpg" class cat > 50%  --labels) for one of the input images
 *   accuracy >= 0.9                     reserved for labelled folders: "not applicable"
 *
 * Operators: == != < <= > >=.  Numbers may use '_' between digits and end in '%'.  A token
 * with spaces is written in double quotes.  Anything else is a usage error naming file:line,
 * as is a comparison check without --compare or a class name without --labels. */
#ifndef TLR_CHECKS_H
#define TLR_CHECKS_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"

typedef enum {
    TLR_CHECK_TOTAL_PARAMS,
    TLR_CHECK_TRAINABLE_PARAMS,
    TLR_CHECK_NON_TRAINABLE_PARAMS,
    TLR_CHECK_LAYERS,
    TLR_CHECK_UNCHANGED,
    TLR_CHECK_CHANGED,
    TLR_CHECK_REL_CHANGE,
    TLR_CHECK_PREDICT,
    TLR_CHECK_ACCURACY,
    TLR_CHECK_KIND_COUNT
} tlr_check_kind;

typedef enum { TLR_CK_EQ, TLR_CK_NE, TLR_CK_LT, TLR_CK_LE, TLR_CK_GT, TLR_CK_GE } tlr_check_op;

typedef struct {
    int line;                /* 1-based line in the file */
    char *text;              /* the check as written, without its comment */
    tlr_check_kind kind;
    tlr_check_op op;
    double value;            /* the right-hand side */
    char *pattern;           /* unchanged, changed, rel_change: the layer glob */
    char *image;             /* predict: the image, as given */
    char *class_name;        /* predict: a label name, or NULL for class_index */
    int class_index;
} tlr_check;

typedef struct {
    char *path;              /* the file, as given */
    tlr_check *items;
    int n;
} tlr_checks;

/* Parses the check file 'path'.  'has_compare' and 'has_labels' say whether --compare and
 * --labels were given (the checks that need them are refused otherwise).  Errors are
 * TLR_E_USAGE "path:line: ..." (TLR_E_IO when the file cannot be read).  Free with
 * tlr_checks_free(). */
tlr_checks *tlr_checks_load(const char *path, int has_compare, int has_labels, tlr_err *err);
/* The same from text in memory ('path' names it in messages). */
tlr_checks *tlr_checks_parse(const char *text, size_t len, const char *path, int has_compare,
                             int has_labels, tlr_err *err);
void tlr_checks_free(tlr_checks *c);

/* "total_params", "unchanged", ... */
const char *tlr_check_kind_name(tlr_check_kind k);
/* Whether 'got' satisfies the check's operator and value. */
int tlr_check_holds(const tlr_check *c, double got);

/* For the terminal: one "tlreport: check failed: FILE:LINE: TEXT (why)" line per check of
 * the report data's "checks" object that failed or did not apply. */
void tlr_checks_failure_lines(const tlr_json *checks, tlr_buf *out);

#endif
