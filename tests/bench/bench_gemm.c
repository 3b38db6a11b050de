/* bench_gemm.c - GFLOP/s of tlr_gemm on the shapes a VGG16 / MobileNet forward pass uses
 * (im2col and 1x1 convolutions, Dense), min over repeated runs.
 *   bench_gemm [--threads N] [--isa generic|avx2|avx512] [M N K ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "engine/gemm.h"

/* Process CPU time: with one thread on a busy machine it still measures the work. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run(int64_t m, int64_t n, int64_t k)
{
    float *a = malloc((size_t)(m * k) * sizeof *a), *b = malloc((size_t)(k * n) * sizeof *b);
    float *c = malloc((size_t)(m * n) * sizeof *c);
    for (int64_t i = 0; i < m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (int64_t i = 0; i < k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double flops = 2.0 * (double)m * (double)n * (double)k, best = 1e9, best_cpu = 1e9;
    int reps = flops > 1e9 ? 5 : flops > 1e8 ? 20 : 200;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s(), c0 = cpu_s();
        tlr_gemm(TLR_NO_TRANS, TLR_NO_TRANS, m, n, k, a, k, b, n, 0.0f, c, n);
        double t = now_s() - t0, tc = cpu_s() - c0;
        if (t < best)
            best = t;
        if (tc < best_cpu)
            best_cpu = tc;
    }
    printf("%6lld x %5lld x %5lld: %8.3f ms %7.1f GFLOP/s  (cpu %8.3f ms, %7.1f GFLOP/cpu-s)\n",
           (long long)m, (long long)n, (long long)k, best * 1e3, flops / best * 1e-9,
           best_cpu * 1e3, flops / best_cpu * 1e-9);
    free(a);
    free(b);
    free(c);
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            tlr_threads_set_count(atoi(argv[i + 1]));
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            for (int l = 0; l < TLR_ISA_COUNT; l++)
                if (strcmp(argv[i + 1], tlr_cpu_isa_name((tlr_isa)l)) == 0)
                    tlr_cpu_set_isa((tlr_isa)l);
    }
    printf("isa %s, %d threads\n", tlr_cpu_isa_name(tlr_cpu_isa()), tlr_threads_count());
    if (i + 2 < argc) {
        for (; i + 2 < argc; i += 3)
            run(atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2]));
        return 0;
    }
    static const int64_t shapes[][3] = {
        { 2048, 2048, 2048 }, { 22500, 64, 576 }, { 5625, 128, 1152 }, { 1369, 256, 2304 },
        { 324, 512, 4608 }, { 81, 512, 4608 }, { 22500, 64, 27 }, { 1444, 64, 64 },
        { 3136, 96, 16 }, { 1, 4096, 25088 }, { 8, 4096, 25088 },
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        run(shapes[s][0], shapes[s][1], shapes[s][2]);
    return 0;
}
