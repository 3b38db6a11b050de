/* test_reverse.c - the reverse pass where the autograd oracle does not reach (its
 * re-implementation of Keras lacks Conv2DTranspose, resizing, Permute, channels_first
 * convolutions, PReLU, Normalization, broadcast merges, Conv1D...): on the numeric fixtures
 * that hold those layers, the gradient of a scalar along random directions must match the
 * scalar's central difference; and the walk's guards: the memory budget, the reason a
 * recurrent layer stops the gradient, unknown layers and out-of-range classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/reverse.h"
#include "harness.h"
#include "io/npy.h"
#include "keras/kfile.h"

static tlr_kfile *open_numeric(const char *name, tlr_tensor **x)
{
    char path[1024], in[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/numeric/%s.h5", tlr_t_root(), name);
    snprintf(in, sizeof in, "%s/tests/fixtures/numeric/%s_input.npy", tlr_t_root(), name);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f && tlr_kfile_load_weights(f, &err) == TLR_OK, "%s: %s", name, err.msg);
    int nd;
    int64_t shape[8];
    float *v = f ? tlr_npy_read(in, &nd, shape, &err) : NULL;
    CHECK(v != NULL, "%s: input: %s", name, err.msg);
    if (!v) {
        tlr_kfile_free(f);
        return NULL;
    }
    *x = tlr_tensor_new(nd, shape);
    memcpy((*x)->data, v, (size_t)tlr_tensor_numel(*x) * sizeof(float));
    free(v);
    return f;
}

/* The scalar at x (the run's score). */
static double score_at(const tlr_model *m, const tlr_tensor *x, const tlr_grad_request *rq)
{
    tlr_grad_result r;
    tlr_err err = { 0 };
    if (tlr_grad_run(m, x, rq, NULL, NULL, &r, &err) != TLR_OK)
        return NAN;
    double s = r.score[0];
    tlr_grad_result_free(&r);
    return s;
}

/* <grad, v> against (L(x + e v) - L(x - e v)) / 2e for three random directions v. */
static void directional(const char *name, const char *target, float step)
{
    tlr_tensor *x = NULL;
    tlr_kfile *f = open_numeric(name, &x);
    if (!f)
        return;
    tlr_grad_request rq = { .kind = TLR_SCORE_FILTER, .target = target, .fixed = 0 };
    tlr_grad_result r;
    tlr_err err = { 0 };
    tlr_status st = tlr_grad_run(f->model, x, &rq, NULL, NULL, &r, &err);
    CHECK(st == TLR_OK, "%s: %s", name, err.msg);
    int64_t n = tlr_tensor_numel(x);
    tlr_tensor *xp = tlr_tensor_clone(x), *xm = tlr_tensor_clone(x);
    uint32_t seed = 12345;
    for (int d = 0; d < 3 && !st; d++) {
        double dot = 0.0, gnorm = 0.0;
        for (int64_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            float v = (seed >> 31) ? 1.0f : -1.0f;
            xp->data[i] = x->data[i] + step * v;
            xm->data[i] = x->data[i] - step * v;
            dot += (double)r.grad->data[i] * (double)v;
            gnorm += fabs((double)r.grad->data[i]);
        }
        double fd = (score_at(f->model, xp, &rq) - score_at(f->model, xm, &rq)) /
                    (2.0 * (double)step);
        CHECK(fabs(fd - dot) <= 2e-2 * fabs(dot) + 1e-3 * gnorm,
              "%s: direction %d: gradient . v = %.6g, central difference %.6g", name, d, dot,
              fd);
    }
    if (!st)
        tlr_grad_result_free(&r);
    tlr_tensor_free(xp);
    tlr_tensor_free(xm);
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}

/* The walk's guards. */
static void guards(void)
{
    tlr_tensor *x = NULL;
    tlr_kfile *f = open_numeric("mini_vgg", &x);
    if (!f)
        return;
    tlr_grad_result r;
    tlr_err err = { 0 };
    tlr_forward_opts tight = { 16 << 10, 0 }; /* under one 24 x 24 x 8 map */
    tlr_grad_request cam = { .kind = TLR_SCORE_CLASS, .fixed = -1, .wrt = "vgg_mini/block2_conv2" };
    INT_EQ(tlr_grad_run(f->model, x, &cam, &tight, NULL, &r, &err), TLR_E_LIMIT, "16 KB budget");
    STR_CONTAINS(err.msg, "--max-memory", "the budget is named");
    tlr_forward_opts roomy = { 8 << 20, 0 };
    CHECK(tlr_grad_run(f->model, x, &cam, &roomy, NULL, &r, &err) == TLR_OK, "8 MB: %s", err.msg);
    CHECK(r.fwd.peak_bytes > 0 && r.fwd.peak_bytes <= roomy.max_memory, "peak %lld",
          (long long)r.fwd.peak_bytes);
    INT_EQ(r.index[0], 0, "a single sigmoid unit is class 0");
    tlr_grad_result_free(&r);
    cam.fixed = 1;
    INT_EQ(tlr_grad_run(f->model, x, &cam, NULL, NULL, &r, &err), TLR_E_USAGE, "class 1 of 1");
    STR_CONTAINS(err.msg, "out of range", "class out of range");
    cam = (tlr_grad_request){ .kind = TLR_SCORE_CLASS, .fixed = -1, .wrt = "nope" };
    INT_EQ(tlr_grad_run(f->model, x, &cam, NULL, NULL, &r, &err), TLR_E_USAGE, "unknown layer");
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}

/* A Bidirectional LSTM on the way: the gradient stops with the reason. */
static void recurrent(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/rnn/bidi_backward.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f && tlr_kfile_load_weights(f, &err) == TLR_OK, "%s", err.msg);
    if (!f)
        return;
    int64_t shape[3] = { 1, 5, 6 };
    tlr_tensor *x = tlr_tensor_new(3, shape);
    for (int i = 0; i < 30; i++)
        x->data[i] = 0.1f * (float)(i % 7);
    tlr_grad_request rq = { .kind = TLR_SCORE_CLASS, .fixed = 0 };
    tlr_grad_result r;
    INT_EQ(tlr_grad_run(f->model, x, &rq, NULL, NULL, &r, &err), TLR_E_UNSUPPORTED,
           "recurrent layer refused");
    STR_CONTAINS(err.msg, "recurrent layers are not differentiated", "the reason");
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}

/* The pass tlr_grad_run makes also serves as tlr_forward_run's (capture, want_output): the
 * captured layer and the model's output are the forward pass's, bit for bit where the
 * forward pass runs layer by layer, and within float rounding where it folds layers. */
static void forward_too(const char *name, const char *layer, const char *wrt, int layerwise)
{
    tlr_tensor *x = NULL;
    tlr_kfile *f = open_numeric(name, &x);
    if (!f)
        return;
    const tlr_model *m = f->model;
    CHECK(tlr_forward_layerwise(m) == layerwise, "%s: layer by layer: %d", name, !layerwise);
    const char *caps[1] = { layer };
    tlr_forward_result fr;
    tlr_grad_result gr;
    tlr_err err = { 0 };
    tlr_grad_request rq = { .kind = TLR_SCORE_CLASS, .fixed = -1, .wrt = wrt, .capture = caps,
                            .n_capture = 1, .want_output = 1 };
    int ok = tlr_forward_run(m, (const tlr_tensor *const *)&x, 1, caps, 1, 1, NULL, &fr,
                             &err) == TLR_OK;
    CHECK(ok, "%s: forward: %s", name, err.msg);
    ok = ok && tlr_grad_run(m, x, &rq, NULL, NULL, &gr, &err) == TLR_OK;
    CHECK(ok, "%s: gradient: %s", name, err.msg);
    if (!ok) {
        tlr_tensor_free(x);
        tlr_kfile_free(f);
        return;
    }
    const tlr_tensor *pairs[2][2] = { { fr.captured[0], gr.fwd.captured[0] },
                                      { fr.outputs[0], gr.fwd.outputs[0] } };
    for (int k = 0; k < 2; k++) {
        const tlr_tensor *a = pairs[k][0], *b = pairs[k][1];
        int same = a && b && tlr_tensor_numel(a) == tlr_tensor_numel(b);
        double worst = 0;
        for (int64_t i = 0; same && i < tlr_tensor_numel(a); i++) {
            double d = fabs((double)a->data[i] - (double)b->data[i]);
            worst = d > worst ? d : worst;
        }
        CHECK(same && worst <= (layerwise ? 0.0 : 1e-5), "%s: %s: differs by %g", name,
              k ? "the output" : layer, worst);
    }
    double sum = 0;
    for (int64_t i = 0; i < tlr_tensor_numel(fr.outputs[0]); i++)
        sum += (double)fr.outputs[0]->data[i];
    CHECK(fabs(sum - 1.0) < 1e-5, "%s: the output is the softmax's (sums to %g)", name, sum);
    tlr_forward_result_free(&fr);
    tlr_grad_result_free(&gr);
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}

/* A pass whose variable is a layer deep in a MobileNet runs the layers before it as the
 * forward pass does (fused blocks, chains, deferred paddings) and the rest layer by layer;
 * wherever the cut falls (after a deferred padding, inside a block, at a block's head, at
 * the last convolution) the variable's value is the forward pass's, and the gradient at it
 * is the same whatever ran before it: the run with the cut at an earlier layer gives it too. */
static void cut_anywhere(void)
{
    static const char *const layers[] = { "block_1_depthwise", "block_1_project",
                                          "block_1_project_BN", "block_2_expand",
                                          "block_2_depthwise_relu", "Conv_1" };
    tlr_tensor *x = NULL;
    tlr_kfile *f = open_numeric("mnv2_mini", &x);
    if (!f)
        return;
    const tlr_model *m = f->model;
    for (size_t k = 0; k < sizeof layers / sizeof *layers; k++) {
        char wrt[96];
        snprintf(wrt, sizeof wrt, "mnv2_mini/%s", layers[k]);
        const char *caps[1] = { wrt };
        tlr_forward_result fr;
        tlr_grad_result gr, early;
        tlr_err err = { 0 };
        tlr_grad_request rq = { .kind = TLR_SCORE_CLASS, .fixed = -1, .wrt = wrt };
        /* the same gradient, with every layer before the variable run layer by layer: the
         * variable also captured, which ends the forward-pass part at the model's start */
        const char *first[1] = { "mnv2_mini/Conv1" };
        tlr_grad_request rq_early = rq;
        rq_early.capture = first;
        rq_early.n_capture = 1;
        int ok = tlr_forward_run(m, (const tlr_tensor *const *)&x, 1, caps, 1, 0, NULL, &fr,
                                 &err) == TLR_OK;
        ok = ok && tlr_grad_run(m, x, &rq, NULL, NULL, &gr, &err) == TLR_OK;
        CHECK(ok, "%s: %s", wrt, err.msg);
        ok = ok && tlr_grad_run(m, x, &rq_early, NULL, NULL, &early, &err) == TLR_OK;
        CHECK(ok, "%s, layer by layer: %s", wrt, err.msg);
        if (!ok)
            continue;
        double worst = 0, top = 0, gworst = 0, gtop = 0;
        int64_t n = tlr_tensor_numel(fr.captured[0]);
        int same = gr.value && early.value && gr.grad && early.grad &&
                   tlr_tensor_numel(gr.value) == n && tlr_tensor_numel(gr.grad) == n;
        for (int64_t i = 0; same && i < n; i++) {
            worst = fmax(worst, fabs((double)gr.value->data[i] - (double)fr.captured[0]->data[i]));
            top = fmax(top, fabs((double)fr.captured[0]->data[i]));
            gworst = fmax(gworst, fabs((double)gr.grad->data[i] - (double)early.grad->data[i]));
            gtop = fmax(gtop, fabs((double)early.grad->data[i]));
        }
        CHECK(same && worst <= 1e-6 * top, "%s: the value differs from the forward pass's "
              "by %g (of %g)", wrt, worst, top);
        CHECK(same && gtop > 0 && gworst <= 1e-5 * gtop, "%s: the gradient differs from the "
              "layer-by-layer run's by %g (of %g)", wrt, gworst, gtop);
        tlr_forward_result_free(&fr);
        tlr_grad_result_free(&gr);
        tlr_grad_result_free(&early);
    }
    tlr_tensor_free(x);
    tlr_kfile_free(f);
}

void test_reverse(void)
{
    /* Rescaling, Normalization, grouped conv, ELU, PReLU, Conv2DTranspose, Cropping, Resizing,
     * UpSampling, Permute + channels_first conv, the activation layers, Reshape, Dense 3-D */
    directional("extra_layers", "dense_1", 0.05f);
    /* Conv1D same / strided / causal dilated, 1-D pooling, global average */
    directional("conv1d", "dense", 1e-3f);
    /* broadcast merges (squeeze-and-excitation gates), Concatenate */
    directional("se_block", "dense_1", 1e-3f);
    guards();
    recurrent();
    forward_too("mini_vgg", "vgg_mini/block2_conv1", "conv2d", 1);
    forward_too("mnv2_mini", "mnv2_mini/block_1_expand_relu", "mnv2_mini/Conv_1", 0);
    cut_anywhere();
}
