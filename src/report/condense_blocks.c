/* condense_blocks.c - the expanded summary of index.html, one row per block or nested model
 * (see condense.h). */
#include "report/condense.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "report/reportdata.h"

/* Length of the block a layer name starts with, 0 for none: "block1" of block1_conv1,
 * "block_3" of block_3_expand (MobileNetV2), "block2a" of block2a_dwconv (EfficientNet),
 * "conv2_block1" of conv2_block1_1_conv (ResNet). */
static size_t block_key_len(const char *name)
{
    const char *b = strstr(name, "block");
    if (!b)
        return 0;
    const char *p = b + 5;
    if (*p == '_')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p >= 'a' && *p <= 'z' && (p[1] == '_' || p[1] == '\0'))
        p++;
    return *p == '_' || *p == '\0' ? (size_t)(p - name) : 0;
}

/* The parameter count of a row, read back from its params_str ("1,792"). */
static long long row_params(const tlr_json *row)
{
    long long v = 0;
    for (const char *s = tlr_json_get_string(row, "params_str", ""); *s; s++)
        if (*s >= '0' && *s <= '9')
            v = v * 10 + (*s - '0');
    return v;
}

/* One row of the condensed table while it is gathered: the first row it stands for, its block
 * key ("vgg16/block1", empty for a row standing alone), and what its layers add up to. */
typedef struct {
    const tlr_json *first, *last;
    tlr_buf key, classes;
    const char *run_class;
    int layers, run, trainable;
    long long params;
} block_acc;

/* Appends the run of layers of one class to the block's class list ("Conv2D ×2"). */
static void block_classes_flush(block_acc *a)
{
    if (!a->run_class)
        return;
    tlr_buf_printf(&a->classes, "%s%s", a->classes.len ? ", " : "", a->run_class);
    if (a->run > 1)
        tlr_buf_printf(&a->classes, " ×%d", a->run);
}

/* A row of the condensed table: a copy of 'src' with how many rows it stands for. */
static tlr_json *head_row(tlr_json *out, const tlr_json *src, int layers, int inner)
{
    tlr_json *row = tlr_json_copy(src);
    tlr_json_add_number(row, "layers", layers);
    tlr_json_add_bool(row, "block", 0);
    tlr_json_add_number(row, "inner", inner);
    tlr_json_add_item(out, NULL, row);
    return row;
}

/* Ends block 'a': several layers become one row (their classes, summed parameters, the output
 * of the last one); a single layer keeps its own row. */
static void block_emit(tlr_json *out, block_acc *a)
{
    if (!a->first)
        return;
    if (a->layers == 1) {
        head_row(out, a->first, 1, 0);
        a->first = NULL;
        return;
    }
    block_classes_flush(a);
    char ps[48];
    tlr_format_thousands(a->params, ps, sizeof ps);
    tlr_json *row = tlr_json_push_object(out);
    tlr_json_add_string(row, "path", tlr_buf_cstr(&a->key));
    tlr_json_add_string(row, "class", tlr_buf_cstr(&a->classes));
    tlr_json_add_string(row, "output_shape", tlr_json_get_string(a->last, "output_shape", "?"));
    tlr_json_add_string(row, "params_str", ps);
    tlr_json_add_bool(row, "trainable", a->trainable == a->layers);
    tlr_json_add_number(row, "depth", tlr_json_get_int(a->first, "depth", 0));
    tlr_json_add_number(row, "layers", a->layers);
    tlr_json_add_bool(row, "block", 1);
    tlr_json_add_number(row, "inner", 0);
    a->first = NULL;
}

/* The key of the block 'row' belongs to, in 'key' ("" for none): only layers inside a nested
 * model are grouped, as the top-level ones are model.summary()'s own rows. */
static void block_key(const tlr_json *row, tlr_buf *key)
{
    tlr_buf_truncate(key, 0);
    if (tlr_json_get_int(row, "depth", 0) < 1)
        return;
    const char *path = tlr_json_get_string(row, "path", "");
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t n = block_key_len(name);
    if (n > 0)
        tlr_buf_append(key, path, (size_t)(name - path) + n);
}

/* Adds row 'm' to the open block when it has the same key, else closes it and opens one. */
static void block_add(tlr_json *out, block_acc *a, const tlr_json *m, const tlr_buf *key)
{
    const char *cls = tlr_json_get_string(m, "class", "?");
    if (!a->first || key->len == 0 || strcmp(tlr_buf_cstr(key), tlr_buf_cstr(&a->key)) != 0) {
        block_emit(out, a);
        tlr_buf_truncate(&a->key, 0);
        tlr_buf_append(&a->key, key->data, key->len);
        tlr_buf_truncate(&a->classes, 0);
        a->first = m;
        a->run_class = NULL;
        a->layers = a->trainable = 0;
        a->params = 0;
    }
    if (a->run_class && strcmp(a->run_class, cls) == 0) {
        a->run++;
    } else {
        block_classes_flush(a);
        a->run_class = cls;
        a->run = 1;
    }
    a->last = m;
    a->layers++;
    a->trainable += tlr_json_get_bool(m, "trainable", 0);
    a->params += row_params(m);
}

/* The summary rows with each run of layers of one block inside a nested model as one row. */
static tlr_json *summary_blocks(const tlr_json *rows)
{
    tlr_json *out = tlr_json_new_array();
    block_acc a = { NULL, NULL, TLR_BUF_INIT, TLR_BUF_INIT, NULL, 0, 0, 0, 0 };
    tlr_buf key = TLR_BUF_INIT;
    for (const tlr_json *m = tlr_json_first(rows); m; m = tlr_json_next(m)) {
        block_key(m, &key);
        block_add(out, &a, m, &key);
    }
    block_emit(out, &a);
    tlr_buf_free(&key);
    tlr_buf_free(&a.key);
    tlr_buf_free(&a.classes);
    return out;
}

/* The rows down to 'depth', a nested model standing for the layers inside it ("inner"). */
static tlr_json *summary_to_depth(const tlr_json *rows, int depth)
{
    tlr_json *out = tlr_json_new_array();
    const tlr_json *open = NULL;
    int inner = 0;
    for (const tlr_json *m = tlr_json_first(rows); m; m = tlr_json_next(m)) {
        if (tlr_json_get_int(m, "depth", 0) > depth) {
            inner += open != NULL;
            continue;
        }
        if (open)
            head_row(out, open, 1, inner);
        open = m;
        inner = 0;
    }
    if (open)
        head_row(out, open, 1, inner);
    return out;
}

static int max_depth(const tlr_json *rows)
{
    int d = 0;
    for (const tlr_json *m = tlr_json_first(rows); m; m = tlr_json_next(m))
        if (tlr_json_get_int(m, "depth", 0) > d)
            d = tlr_json_get_int(m, "depth", 0);
    return d;
}

/* summary.rows_head: the rows by block when they fit in TLR_CONDENSE_GROUPS, else down to the
 * deepest level of nested models that fits, else the first TLR_CONDENSE_ROWS of the top level.
 * rows_more counts the layers the head leaves out; rows_blocks and rows_inner tell whether a
 * head row stands for a block or for a nested model's inside; rows_cut, any of the three. */
void tlr_condense_summary_rows(tlr_json *summary, const tlr_json *rows)
{
    tlr_json *view = summary_blocks(rows);
    for (int d = max_depth(rows) - 1; d >= 0 && tlr_json_size(view) > TLR_CONDENSE_GROUPS;
         d--) {
        tlr_json_free(view);
        view = summary_to_depth(rows, d);
    }
    int limit = tlr_json_size(view) <= TLR_CONDENSE_GROUPS ? TLR_CONDENSE_GROUPS
                                                            : TLR_CONDENSE_ROWS;
    tlr_json *head = tlr_json_add_array(summary, "rows_head");
    int shown = 0, covered = 0, blocks = 0, inner = 0;
    for (const tlr_json *m = tlr_json_first(view); m && shown < limit;
         m = tlr_json_next(m), shown++) {
        blocks += tlr_json_get_bool(m, "block", 0);
        inner += tlr_json_get_int(m, "inner", 0);
        covered += tlr_json_get_int(m, "layers", 1) + tlr_json_get_int(m, "inner", 0);
        tlr_json_add_item(head, NULL, tlr_json_copy(m));
    }
    int total = (int)tlr_json_size(rows);
    tlr_json_add_bool(summary, "has_rows_head", shown > 0);
    tlr_json_add_number(summary, "rows_more", total - covered);
    tlr_json_add_number(summary, "rows_total", total);
    tlr_json_add_bool(summary, "rows_blocks", blocks > 0);
    tlr_json_add_bool(summary, "rows_inner", inner > 0);
    tlr_json_add_bool(summary, "rows_cut", covered > shown || total > covered);
    tlr_json_free(view);
}
