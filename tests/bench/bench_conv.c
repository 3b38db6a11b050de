/* bench_conv.c - one convolution at a time on the layer shapes of VGG16 (150x150 input) and
 * a MobileNetV2-style stack, or (--tm) of the Teachable Machine MobileNetV2 (alpha 0.35,
 * 224x224) with its folded BatchNormalization and ReLU6 as the executor passes them, with
 * the CPU time as well as the wall clock (min over runs), so the kernels can be tuned on a
 * machine that is busy with other work.
 *   bench_conv [--threads N] [--isa generic|avx2|avx512] [--runs N] [--tm] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cpu.h"
#include "base/threads.h"
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

int main(int argc, char **argv)
{
    int runs = 9;
    const shape *list = shapes;
    size_t count = sizeof shapes / sizeof shapes[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tm") == 0) {
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
