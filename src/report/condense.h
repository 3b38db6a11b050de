/* condense.h - the shorter lists index.html shows (issue 11 F: the page prints to at most ten
 * A4 pages).  report.md, report.json and layers.html keep every row; the page shows the first
 * rows of each long list and a count of the rest, and links to layers.html.
 *
 * Works on the renderer's view (see report.c), never on the data: beside each long list it
 * adds "<list>_head" (the rows the page shows) and "<list>_more" (how many it leaves out, 0
 * when none), plus "condensed": true at the top.  The keys are listed in templates/README.md. */
#ifndef TLR_CONDENSE_H
#define TLR_CONDENSE_H

#include "base/json.h"

/* Rows a condensed table shows at most. */
#define TLR_CONDENSE_ROWS 6
/* Rows of the expanded summary grouped by block or nested model the page shows at most. */
#define TLR_CONDENSE_GROUPS 12
/* Lines of model.summary() the page shows at most. */
#define TLR_CONDENSE_LINES 30

/* Adds the condensed keys to 'view' (an object). */
void tlr_condense_view(tlr_json *view);

/* Adds summary.rows_head (one row per block of a nested model, or per nested model, when the
 * layers do not fit), rows_more, rows_total, rows_blocks, rows_inner and rows_cut for summary.rows. */
void tlr_condense_summary_rows(tlr_json *summary, const tlr_json *rows);

#endif
