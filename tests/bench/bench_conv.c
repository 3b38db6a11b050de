/* bench_conv.c - one convolution at a time on the layer shapes of VGG16 (150x150 input) and
 * a MobileNetV2-style stack, or (--tm) of the Teachable Machine MobileNetV2 (alpha 0.35,
 * 224x224) with its folded BatchNormalization and ReLU6 as the executor passes them, with
 * the CPU time as well as the wall clock (min over runs), so the kernels can be tuned on a
 * machine that is busy with other work.
 * With --mb, the Teachable Machine model's inverted residual blocks as the three separate
 * ops and fused (kern_mbconv.c).
 *   bench_conv [--threads N] [--isa generic|avx2|avx512] [--runs N] [--tm | --mb] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "engine/kern_mbconv.h"
#include "engine/ops.h"

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

typedef struct {
    const char *name;
    int64_t h, w, cin, cout;
    int k, s, pad; /* pad: 'same' (1) or 'valid' (0) for k = 3 */
    int depthwise;
} shape;

static const shape shapes[] = {
    { "block1_conv1", 150, 150, 3, 64, 3, 1, 1, 0 },
    { "block1_conv2", 150, 150, 64, 64, 3, 1, 1, 0 },
    { "block2_conv1", 75, 75, 64, 128, 3, 1, 1, 0 },
    { "block2_conv2", 75, 75, 128, 128, 3, 1, 1, 0 },
    { "block3_conv1", 37, 37, 128, 256, 3, 1, 1, 0 },
    { "block3_conv2", 37, 37, 256, 256, 3, 1, 1, 0 },
    { "block4_conv1", 18, 18, 256, 512, 3, 1, 1, 0 },
    { "block4_conv2", 18, 18, 512, 512, 3, 1, 1, 0 },
    { "block5_conv1", 9, 9, 512, 512, 3, 1, 1, 0 },
    { "mnv2 expand 48x48x16->64", 48, 48, 16, 64, 1, 1, 0, 0 },
    { "mnv2 dw 48x48x64 s1", 48, 48, 64, 64, 3, 1, 1, 1 },
    { "mnv2 dw 49x49x64 s2", 49, 49, 64, 64, 3, 2, 0, 1 },
    { "conv 3x3 s2 224x224x3->32", 224, 224, 3, 32, 3, 2, 1, 0 },
    { "conv 1x1 56x56x64->256", 56, 56, 64, 256, 1, 1, 0, 0 },
};

/* pad 2: Keras 'valid' after a ZeroPadding2D ((0, 1), (0, 1)), as MobileNetV2's stride-2
 * layers (the executor folds the padding into the convolution: nothing before, one after) */
static const shape tm_shapes[] = {
    { "Conv1 224x224x3->16 s2", 224, 224, 3, 16, 3, 2, 2, 0 },
    { "dw 112x112x16", 112, 112, 16, 16, 3, 1, 1, 1 },
    { "project 112x112 16->8", 112, 112, 16, 8, 1, 1, 0, 0 },
    { "expand 112x112 8->48", 112, 112, 8, 48, 1, 1, 0, 0 },
    { "dw 112x112x48 s2", 112, 112, 48, 48, 3, 2, 2, 1 },
    { "project 56x56 48->8", 56, 56, 48, 8, 1, 1, 0, 0 },
    { "expand 56x56 8->48", 56, 56, 8, 48, 1, 1, 0, 0 },
    { "dw 56x56x48", 56, 56, 48, 48, 3, 1, 1, 1 },
    { "dw 56x56x48 s2", 56, 56, 48, 48, 3, 2, 2, 1 },
    { "project 28x28 48->16", 28, 28, 48, 16, 1, 1, 0, 0 },
    { "expand 28x28 16->96", 28, 28, 16, 96, 1, 1, 0, 0 },
    { "dw 28x28x96", 28, 28, 96, 96, 3, 1, 1, 1 },
    { "project 28x28 96->16", 28, 28, 96, 16, 1, 1, 0, 0 },
    { "project 14x14 96->24", 14, 14, 96, 24, 1, 1, 0, 0 },
    { "expand 14x14 24->144", 14, 14, 24, 144, 1, 1, 0, 0 },
    { "dw 14x14x144", 14, 14, 144, 144, 3, 1, 1, 1 },
    { "project 14x14 144->24", 14, 14, 144, 24, 1, 1, 0, 0 },
    { "expand 14x14 32->192", 14, 14, 32, 192, 1, 1, 0, 0 },
    { "project 14x14 192->32", 14, 14, 192, 32, 1, 1, 0, 0 },
    { "expand 7x7 56->336", 7, 7, 56, 336, 1, 1, 0, 0 },
    { "dw 7x7x336", 7, 7, 336, 336, 3, 1, 1, 1 },
    { "project 7x7 336->56", 7, 7, 336, 56, 1, 1, 0, 0 },
    { "Conv_1 7x7 112->1280", 7, 7, 112, 1280, 1, 1, 0, 0 },
};

/* ---- --mb: inverted residual blocks, separate and fused ------------------------------------ */

typedef struct {
    int64_t h, cin, t, cout;
    int stride;
} block_shape;

static const block_shape tm_blocks[] = {
    { 112, 16, 1, 8, 1 }, { 112, 8, 6, 8, 2 }, { 56, 8, 6, 8, 1 }, { 56, 8, 6, 16, 2 },
    { 28, 16, 6, 16, 1 }, { 28, 16, 6, 24, 2 }, { 14, 24, 6, 24, 1 }, { 14, 24, 6, 32, 1 },
    { 14, 32, 6, 32, 1 }, { 14, 32, 6, 56, 2 }, { 7, 56, 6, 56, 1 }, { 7, 56, 6, 112, 1 },
};

static float *filled(int64_t n, float step)
{
    float *x = aligned_alloc(64, (size_t)(n + 16) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(i % 11) * step - 2.0f * step;
    return x;
}

/* The block as the executor runs it today: expand, depthwise, project, one op each. */
static void block_separate(const tlr_mbconv_params *m, const float *x, float *e, float *d,
                           float *y)
{
    tlr_conv2d_params pe = { .n = 1, .h = m->h, .w = m->w, .cin = m->cin, .oh = m->h, .ow = m->w,
                             .cout = m->cexp, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1,
                             .dw = 1, .groups = 1 };
    tlr_conv2d_params pd = { .n = 1, .h = m->h, .w = m->w, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cexp, .kh = 3, .kw = 3, .sh = m->stride,
                             .sw = m->stride, .dh = 1, .dw = 1, .pad_top = m->pad_top,
                             .pad_left = m->pad_left, .groups = 1 };
    tlr_conv2d_params pp = { .n = 1, .h = m->oh, .w = m->ow, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cout, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                             .dh = 1, .dw = 1, .groups = 1 };
    if (m->expand)
        tlr_op_conv2d_post(&pe, x, m->expand, NULL, &m->expand_post, e);
    tlr_op_depthwise_conv2d_post(&pd, 1, m->expand ? e : x, m->depthwise, NULL,
                                 &m->depthwise_post, d);
    tlr_op_conv2d_post(&pp, d, m->project, NULL, &m->project_post, y);
}

static void bench_blocks(int runs)
{
    printf("%-28s %9s %9s\n", "block (h, cin, t, cout, s)", "separate", "fused");
    double tot_s = 0, tot_f = 0;
    for (size_t bi = 0; bi < sizeof tm_blocks / sizeof tm_blocks[0]; bi++) {
        const block_shape *B = &tm_blocks[bi];
        tlr_mbconv_params m = { .n = 1, .h = B->h, .w = B->h, .cin = B->cin, .cexp = B->cin * B->t,
                                .cout = B->cout, .stride = B->stride };
        m.oh = m.ow = B->stride == 1 ? B->h : B->h / 2;
        m.pad_top = m.pad_left = B->stride == 1 ? 1 : 0;
        float *x = filled(B->h * B->h * B->cin, 0.05f), *e = filled(B->h * B->h * m.cexp, 0);
        float *d = filled(m.oh * m.ow * m.cexp, 0), *y = filled(m.oh * m.ow * B->cout, 0);
        float *we = filled(B->cin * m.cexp, 0.01f), *wd = filled(9 * m.cexp, 0.02f);
        float *wp = filled(m.cexp * B->cout, 0.01f), *sc = filled(m.cexp + B->cout, 0.01f);
        float *sh = filled(m.cexp + B->cout, 0.01f);
        m.expand = B->t > 1 ? we : NULL;
        m.expand_post = (tlr_conv_post){ sc, sh, 1, 0.0f, 6.0f, NULL };
        m.depthwise = wd;
        m.depthwise_post = (tlr_conv_post){ sc, sh, 1, 0.0f, 6.0f, NULL };
        m.project = wp;
        m.project_post = (tlr_conv_post){ sc, sh, 0, 0.0f, 0.0f,
                                          B->stride == 1 && B->cin == B->cout ? x : NULL };
        double best_s = 1e30, best_f = 1e30;
        for (int r = 0; r < runs + 1; r++) {
            double t0 = clock_ms(CLOCK_MONOTONIC);
            block_separate(&m, x, e, d, y);
            double t1 = clock_ms(CLOCK_MONOTONIC);
            tlr_kern_mbconv(&m, x, y);
            double t2 = clock_ms(CLOCK_MONOTONIC);
            if (r > 0) {
                best_s = t1 - t0 < best_s ? t1 - t0 : best_s;
                best_f = t2 - t1 < best_f ? t2 - t1 : best_f;
            }
        }
        char name[64];
        snprintf(name, sizeof name, "%lld %lld %lld %lld %d", (long long)B->h, (long long)B->cin,
                 (long long)B->t, (long long)B->cout, B->stride);
        printf("%-28s %9.3f %9.3f\n", name, best_s, best_f);
        tot_s += best_s;
        tot_f += best_f;
        free(x), free(e), free(d), free(y), free(we), free(wd), free(wp), free(sc), free(sh);
    }
    printf("%-28s %9.3f %9.3f\n", "total", tot_s, tot_f);
}

int main(int argc, char **argv)
{
    int runs = 9;
    const shape *list = shapes;
    size_t count = sizeof shapes / sizeof shapes[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0) {
            list = NULL;
        } else if (strcmp(argv[i], "--tm") == 0) {
            list = tm_shapes;
            count = sizeof tm_shapes / sizeof tm_shapes[0];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            tlr_threads_set_count(atoi(argv[++i]));
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            i++;
            for (int l = 0; l < TLR_ISA_COUNT; l++)
                if (strcmp(argv[i], tlr_cpu_isa_name((tlr_isa)l)) == 0)
                    tlr_cpu_set_isa((tlr_isa)l);
        }
    }
    printf("isa %s, %d threads\n", tlr_cpu_isa_name(tlr_cpu_isa()), tlr_threads_count());
    if (!list) {
        bench_blocks(runs);
        return 0;
    }
    printf("%-28s %9s %9s %9s\n", "layer", "wall ms", "cpu ms", "GFLOP/s");
    double total_w = 0, total_c = 0;
    for (size_t si = 0; si < count; si++) {
        const shape *S = &list[si];
        tlr_conv2d_params p = { .n = 1, .h = S->h, .w = S->w, .cin = S->cin, .cout = S->cout,
                                .kh = S->k, .kw = S->k, .sh = S->s, .sw = S->s, .dh = 1, .dw = 1,
                                .groups = 1 };
        int pad_total = S->pad == 1 ? S->k - 1 : S->pad == 2 ? 1 : 0;
        p.oh = (S->h + pad_total - S->k) / S->s + 1;
        p.ow = (S->w + pad_total - S->k) / S->s + 1;
        p.pad_top = p.pad_left = S->pad == 1 ? pad_total / 2 : 0;
        if (S->depthwise)
            p.cout = p.cin;
        int64_t nin = S->h * S->w * S->cin, nout = p.oh * p.ow * p.cout;
        int64_t nk = (int64_t)S->k * S->k * S->cin * (S->depthwise ? 1 : p.cout);
        float *in = aligned_alloc(64, (size_t)(nin + 16) * sizeof *in), *k = malloc((size_t)nk * sizeof *k);
        float *b = malloc((size_t)p.cout * sizeof *b), *out = aligned_alloc(64, (size_t)(nout + 16) * sizeof *out);
        for (int64_t i = 0; i < nin; i++)
            in[i] = (float)(i % 13) * 0.07f;
        for (int64_t i = 0; i < nk; i++)
            k[i] = (float)(i % 7) * 0.01f - 0.03f;
        for (int64_t i = 0; i < p.cout; i++)
            b[i] = 0.1f;
        tlr_act_params relu = { TLR_ACT_RELU, 0.0f, -1.0f, 0.0f };
        /* --tm: a folded BatchNormalization and ReLU6, no bias (as MobileNetV2's layers) */
        float *scale = malloc((size_t)p.cout * sizeof *scale);
        for (int64_t i = 0; i < p.cout; i++)
            scale[i] = 0.9f + 0.001f * (float)i;
        tlr_conv_post post = { scale, b, 1, 0.0f, 6.0f, NULL };
        double best_w = 1e30, best_c = 1e30;
        for (int r = 0; r < runs + 1; r++) {
            double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
            if (list == tm_shapes && S->depthwise)
                tlr_op_depthwise_conv2d_post(&p, 1, in, k, NULL, &post, out);
            else if (list == tm_shapes)
                tlr_op_conv2d_post(&p, in, k, NULL, &post, out);
            else if (S->depthwise)
                tlr_op_depthwise_conv2d(&p, 1, in, k, b, out);
            else
                tlr_op_conv2d_act(&p, in, k, b, &relu, out);
            double w1 = clock_ms(CLOCK_MONOTONIC), c1 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
            if (r > 0) {
                best_w = w1 - w0 < best_w ? w1 - w0 : best_w;
                best_c = c1 - c0 < best_c ? c1 - c0 : best_c;
            }
        }
        double flops = 2.0 * (double)nout * (double)S->k * S->k * (S->depthwise ? 1.0 : (double)S->cin);
        printf("%-28s %9.3f %9.3f %9.1f\n", S->name, best_w, best_c, flops / (best_w * 1e6));
        total_w += best_w;
        total_c += best_c;
        free(scale);
        free(in);
        free(k);
        free(b);
        free(out);
    }
    printf("%-28s %9.3f %9.3f\n", "total", total_w, total_c);
    return 0;
}
