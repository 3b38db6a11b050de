/* test_blocks.c - MobileNetV2's inverted residual blocks run as one op (fusion.c plans them,
 * exec_block.c runs kern_mbconv): which layers a block takes, and that a pass with blocks
 * gives the same numbers as a pass running their layers one by one (tlr_exec.no_blocks),
 * bit for bit, on 1 and 2 threads. */
#include <stdlib.h>

#include "base/threads.h"
#include "engine/exec.h"
#include "engine/forward.h"
#include "engine/kern_pointwise.h"
#include "harness.h"
#include "io/npy.h"
#include "keras/kfile.h"

static tlr_kfile *open_mnv2(tlr_tensor **x)
{
    char path[1024], in_path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/numeric/mnv2_mini.h5", tlr_t_root());
    snprintf(in_path, sizeof in_path, "%s/tests/fixtures/numeric/mnv2_mini_input.npy",
             tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "mnv2_mini: %s", err.msg);
    if (f && tlr_kfile_load_weights(f, &err)) {
        CHECK(0, "mnv2_mini weights: %s", err.msg);
        tlr_kfile_free(f);
        return NULL;
    }
    int nd;
    int64_t shape[8];
    float *data = f ? tlr_npy_read(in_path, &nd, shape, &err) : NULL;
    CHECK(!f || data, "mnv2_mini input: %s", err.msg);
    if (!data) {
        tlr_kfile_free(f);
        return NULL;
    }
    *x = tlr_tensor_new(nd, shape);
    memcpy((*x)->data, data, (size_t)tlr_tensor_numel(*x) * sizeof *data);
    free(data);
    return f;
}

/* The nested MobileNet: its blocks, by head and last layer. */
static void plan_blocks(const tlr_model *outer)
{
    const tlr_model *m = NULL;
    for (int i = 0; i < outer->n_layers; i++)
        if (outer->layers[i].inner)
            m = outer->layers[i].inner;
    CHECK(m != NULL, "mnv2_mini: no nested model");
    if (!m)
        return;
    tlr_err err = { 0 };
    tlr_forward_result res = { 0 };
    tlr_exec X = { .res = &res, .err = &err };
    tlr_plan p;
    tlr_plan_build(&X, m, "mnv2_mini", 1, &p);
    static const char *const want[][2] = {
        { "block_0_depthwise", "block_0_add" },        /* no expand, a residual */
        { "block_1_expand", "block_1_project_BN" },    /* ZeroPadding2D, stride 2 */
        { "block_2_expand", "block_2_add" },
    };
    int found = 0;
    for (int k = 0; k < p.n_steps; k++) {
        const tlr_step *s = &p.steps[k];
        if (s->block < 0)
            continue;
        const tlr_block *b = &p.blocks[s->block];
        const char *head = m->layers[s->layer].name, *last = m->layers[b->layer[b->n - 1]].name;
        for (int w = 0; w < 3; w++)
            if (strcmp(head, want[w][0]) == 0) {
                STR_EQ(last, want[w][1], head);
                found |= 1 << w;
            }
        if (strcmp(head, "block_1_expand") == 0) {
            INT_EQ(b->n, 9, "block_1: expand, BN, ReLU, pad, depthwise, BN, ReLU, project, BN");
            INT_EQ(b->pad[1], 1, "block_1: the padding's bottom");
        }
    }
    INT_EQ(found, 7, "mnv2_mini: the three blocks planned");
    tlr_plan_free(&p);
    /* a pass that needs the values inside plans none */
    X.no_blocks = 1;
    tlr_plan_build(&X, m, "mnv2_mini", 1, &p);
    INT_EQ(p.n_blocks, 0, "no_blocks: no block planned");
    tlr_plan_free(&p);
}

/* The model's output with or without blocks (chains either way), and how many profile rows
 * name a block. */
static tlr_tensor *output_of(const tlr_model *m, const tlr_tensor *x, int no_blocks,
                             int *block_rows)
{
    tlr_err err = { 0 };
    tlr_forward_result r = { 0 };
    tlr_forward_opts fo = { 0, 1 };
    tlr_exec X = { .opts = &fo, .res = &r, .err = &err, .no_blocks = no_blocks };
    tlr_tensor *in = (tlr_tensor *)x, *y = NULL;
    tlr_status st = tlr_exec_model(&X, m, "", &in, 1, 1, &y);
    CHECK(st == TLR_OK && y, "mnv2_mini forward: %s", err.msg);
    *block_rows = 0;
    for (int i = 0; i < r.n_times; i++)
        *block_rows += strstr(r.times[i].path, "..") != NULL;
    tlr_forward_result_free(&r);
    return y;
}

static void same_numbers(const tlr_model *m, const tlr_tensor *x)
{
    int rows_sep, rows_fused, threads0 = tlr_threads_count();
    tlr_tensor *sep = output_of(m, x, 1, &rows_sep);
    for (int threads = 1; threads <= 2; threads++) {
        tlr_threads_set_count(threads);
        tlr_tensor *fused = output_of(m, x, 0, &rows_fused);
        CHECK(sep && fused, "mnv2_mini: an output is missing");
        if (sep && fused && tlr_tensor_numel(sep) == tlr_tensor_numel(fused))
            FLOATS_NEAR(fused->data, sep->data, (size_t)tlr_tensor_numel(sep), 0,
                        "blocks against their layers one by one");
        tlr_tensor_free(fused);
    }
    tlr_threads_set_count(threads0);
    INT_EQ(rows_sep, 0, "profile: no block row without blocks");
    /* without AVX2 the blocks run as their layers (the band kernels need kern_pointwise) */
    INT_EQ(rows_fused, tlr_kern_pointwise_applies(64, 8) ? 3 : 0, "profile: one row per block");
    tlr_tensor_free(sep);
}

void test_blocks(void)
{
    tlr_tensor *x = NULL;
    tlr_kfile *f = open_mnv2(&x);
    if (!f)
        return;
    plan_blocks(f->model);
    same_numbers(f->model, x);
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}
