/* summary_parts.h - what the model.summary() printers share: code-point strings, the Keras
 * version of the writer and the cell texts.  summary.c holds the Keras 1/2 and tf.keras
 * printers and the dispatch, summary_keras3.c the Keras 3 rich table.  Not an API for other
 * modules. */
#ifndef TLR_SUMMARY_PARTS_H
#define TLR_SUMMARY_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "report/summary.h"

/* Code points: Python slices by code point, so the printers do too. */
typedef struct {
    uint32_t *c;
    size_t n, cap;
} tlr_ustr;

/* A parsed keras_version; 'known' is 0 when it could not be read. */
typedef struct {
    int known;
    int v[3];
    int tf; /* "-tf" suffix: the tf.keras copy bundled with TensorFlow 1.x/2.0-2.3 */
} tlr_kver;

/* Growing code-point strings; tlr_sum_us_from decodes UTF-8. */
void tlr_sum_us_push(tlr_ustr *u, uint32_t cp);
void tlr_sum_us_repeat(tlr_ustr *u, uint32_t cp, long n);
void tlr_sum_us_cat(tlr_ustr *u, const uint32_t *c, size_t n);
tlr_ustr tlr_sum_us_from(const char *s);
void tlr_sum_us_free(tlr_ustr *u);
/* Appends as UTF-8. */
void tlr_sum_buf_put_us(tlr_buf *b, const tlr_ustr *u);
/* Python's str.isspace() for one code point. */
int tlr_sum_is_space(uint32_t c);
/* 1 when the writer's version is known and older than a.b.c. */
int tlr_sum_kver_lt(tlr_kver k, int a, int b, int c);

/* Cell texts and totals (see summary.c); cells are freed with tlr_sum_free_cells. */
void tlr_sum_put_int(tlr_buf *b, int64_t v, int commas);
char *tlr_sum_shape_text(const tlr_summary_row *r, int keras3);
char *tlr_sum_params_text(int64_t params, int keras3);
char *tlr_sum_label_text(const tlr_summary_row *r, int keras3_depth);
const char *tlr_sum_link_at(const tlr_summary_row *r, int i);
void tlr_sum_put_size(tlr_buf *b, int64_t bytes, int keras3);
int tlr_sum_visible_rows(const tlr_summary *s, int can_nest, int *idx);
void tlr_sum_free_cells(char **cells, int n);

/* The Keras 3 table (summary_keras3.c). */
void tlr_sum_format_keras3(const tlr_summary *s, tlr_kver k, tlr_buf *out);

#endif
