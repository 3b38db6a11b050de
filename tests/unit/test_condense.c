/* test_condense.c - the expanded summary on the page: one row per block of a nested model, or
 * per nested model when the blocks do not fit (report/condense.h). */
#include <stdio.h>

#include "harness.h"
#include "report/condense.h"

/* Adds a summary row; the parameter count goes in as the page prints it ("1,792"). */
static void row(tlr_json *rows, const char *path, const char *cls, int depth, const char *params,
                int trainable)
{
    tlr_json *r = tlr_json_push_object(rows);
    tlr_json_add_string(r, "path", path);
    tlr_json_add_string(r, "class", cls);
    tlr_json_add_string(r, "output_shape", path);
    tlr_json_add_string(r, "params_str", params);
    tlr_json_add_bool(r, "trainable", trainable);
    tlr_json_add_number(r, "depth", depth);
}

/* A VGG-like base: blocks of two convolutions and a pooling layer, then a head. */
static tlr_json *vgg_like(int blocks)
{
    tlr_json *rows = tlr_json_new_array();
    row(rows, "vgg16", "Functional", 0, "0", 1);
    row(rows, "vgg16/input_1", "InputLayer", 1, "0", 1);
    for (int b = 1; b <= blocks; b++) {
        char p[64];
        snprintf(p, sizeof p, "vgg16/block%d_conv1", b);
        row(rows, p, "Conv2D", 1, "1,000", 0);
        snprintf(p, sizeof p, "vgg16/block%d_conv2", b);
        row(rows, p, "Conv2D", 1, "2,000", 0);
        snprintf(p, sizeof p, "vgg16/block%d_pool", b);
        row(rows, p, "MaxPooling2D", 1, "0", 0);
    }
    row(rows, "dense", "Dense", 0, "129", 1);
    return rows;
}

static void groups_blocks(void)
{
    tlr_json *summary = tlr_json_new_object();
    tlr_json *rows = vgg_like(2);
    tlr_condense_summary_rows(summary, rows);
    const tlr_json *head = tlr_json_get(summary, "rows_head");
    INT_EQ(tlr_json_size(head), 5, "vgg16, input_1, two blocks, dense");
    const tlr_json *b1 = tlr_json_at(head, 2);
    STR_EQ(tlr_json_get_string(b1, "path", NULL), "vgg16/block1", "block key");
    STR_EQ(tlr_json_get_string(b1, "class", NULL), "Conv2D ×2, MaxPooling2D", "its classes");
    STR_EQ(tlr_json_get_string(b1, "params_str", NULL), "3,000", "summed parameters");
    STR_EQ(tlr_json_get_string(b1, "output_shape", NULL), "vgg16/block1_pool", "last output");
    INT_EQ(tlr_json_get_int(b1, "layers", 0), 3, "layers of the block");
    OK(!tlr_json_get_bool(b1, "trainable", 1), "frozen block");
    INT_EQ(tlr_json_get_int(summary, "rows_more", -1), 0, "no layer left out");
    OK(tlr_json_get_bool(summary, "rows_blocks", 0) && tlr_json_get_bool(summary, "rows_cut", 0),
       "flags");
    tlr_json_free(rows);
    tlr_json_free(summary);
}

static void collapses_nested_model(void)
{
    tlr_json *summary = tlr_json_new_object();
    tlr_json *rows = vgg_like(TLR_CONDENSE_GROUPS);
    tlr_condense_summary_rows(summary, rows);
    const tlr_json *head = tlr_json_get(summary, "rows_head");
    INT_EQ(tlr_json_size(head), 2, "too many blocks: the nested model and the head");
    INT_EQ(tlr_json_get_int(tlr_json_at(head, 0), "inner", 0), 1 + 3 * TLR_CONDENSE_GROUPS,
           "the layers inside vgg16");
    OK(tlr_json_get_bool(summary, "rows_inner", 0), "rows_inner");
    INT_EQ(tlr_json_get_int(summary, "rows_more", -1), 0, "every layer stood for");
    tlr_json_free(rows);
    tlr_json_free(summary);
}

static void long_flat_model(void)
{
    tlr_json *summary = tlr_json_new_object();
    tlr_json *rows = tlr_json_new_array();
    for (int i = 0; i < 40; i++)
        row(rows, "block1_conv1", "Conv2D", 0, "1", 1); /* top level: never grouped */
    tlr_condense_summary_rows(summary, rows);
    INT_EQ(tlr_json_size(tlr_json_get(summary, "rows_head")), TLR_CONDENSE_ROWS, "first rows");
    INT_EQ(tlr_json_get_int(summary, "rows_more", -1), 40 - TLR_CONDENSE_ROWS, "the rest counted");
    OK(!tlr_json_get_bool(summary, "rows_blocks", 1), "no block");
    tlr_json_free(rows);
    tlr_json_free(summary);
}

void test_condense(void)
{
    groups_blocks();
    collapses_nested_model();
    long_flat_model();
}
