/* bench_forward.c - times tlreport's forward pass on one model, the way the oracle's
 * bench_ort.mjs / bench_torch.py time theirs: weights and input already in memory, warm-up
 * runs, then timed runs of one whole pass; prints min and median.
 *
 *   bench_forward MODEL.h5 INPUT.npy [--runs N] [--warmup N] [--batch N] [--threads N]
 *                 [--profile] [--json]
 *
 * Also reports how long opening the file and loading the weights took and the peak RSS of
 * this process.  Not part of `make check`: tests/bench/bench.sh builds and runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/tensor.h"
#include "base/threads.h"
#include "engine/forward.h"
#include "io/npy.h"
#include "keras/kfile.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* CPU time of the whole process (all threads): on a busy machine, with one thread, a
 * steadier measure of the work than the wall clock. */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_forward MODEL INPUT.npy [--runs N] [--warmup N] [--batch N] "
                    "[--threads N] [--profile] [--json]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *model = argv[1], *input = argv[2];
    int runs = 7, warmup = 2, batch = 1, threads = 0, profile = 0, json = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--profile") == 0)
            profile = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            usage();
    }
    if (runs < 1 || batch < 1)
        usage();
    if (threads > 0)
        tlr_threads_set_count(threads);

    tlr_err err = { 0 };
    double t0 = now_ms();
    tlr_kfile *f = tlr_kfile_open(model, NULL, &err);
    if (!f || !f->model) {
        fprintf(stderr, "bench_forward: %s\n", f ? "no model in the file" : err.msg);
        return 1;
    }
    double t1 = now_ms();
    if (tlr_kfile_load_weights(f, &err)) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return 1;
    }
    double t2 = now_ms();

    int ndim;
    int64_t shape[TLR_NPY_MAX_DIMS];
    float *data = tlr_npy_read(input, &ndim, shape, &err);
    if (!data) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return 1;
    }
    int64_t per = tlr_shape_numel(ndim, shape) / shape[0];
    int64_t bshape[TLR_NPY_MAX_DIMS];
    memcpy(bshape, shape, sizeof bshape);
    bshape[0] = batch;
    tlr_tensor *x = tlr_tensor_new(ndim, bshape);
    for (int b = 0; b < batch; b++)
        memcpy(x->data + b * per, data, (size_t)per * sizeof(float));
    free(data);

    tlr_forward_opts fo = { 0, profile };
    double *ms = calloc((size_t)runs, sizeof *ms), *cpu = calloc((size_t)runs, sizeof *cpu);
    double checksum = 0;
    long faults = 0;
    double *lay_min = NULL; /* --profile: each layer's fastest time over the timed runs */
    int n_lay = 0;
    for (int r = -warmup; r < runs; r++) {
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        tlr_forward_result res;
        const tlr_tensor *in = x;
        double a = now_ms(), ca = cpu_ms();
        if (tlr_forward_run(f->model, &in, 1, NULL, 0, 1, &fo, &res, &err)) {
            fprintf(stderr, "bench_forward: %s\n", err.msg);
            return 1;
        }
        double b = now_ms(), cb = cpu_ms();
        getrusage(RUSAGE_SELF, &r1);
        faults = r1.ru_minflt - r0.ru_minflt;
        if (r >= 0) {
            ms[r] = b - a;
            cpu[r] = cb - ca;
        }
        if (profile && r >= 0 && res.n_times > 0) {
            if (!lay_min) {
                n_lay = res.n_times;
                lay_min = malloc((size_t)n_lay * sizeof *lay_min);
                for (int k = 0; k < n_lay; k++)
                    lay_min[k] = res.times[k].ms;
            }
            for (int k = 0; k < n_lay && k < res.n_times; k++)
                if (res.times[k].ms < lay_min[k])
                    lay_min[k] = res.times[k].ms;
        }
        if (r == runs - 1) {
            checksum = 0;
            if (res.n_outputs && res.outputs[0])
                for (int64_t k = 0; k < tlr_tensor_numel(res.outputs[0]); k++)
                    checksum += (double)res.outputs[0]->data[k];
            if (profile)
                for (int k = 0; k < res.n_times && k < n_lay; k++)
                    if (lay_min[k] >= 0.0005) /* min over the runs; layers under 0.5 us left out */
                        fprintf(stderr, "%-48s %9.3f ms %8.1f GFLOP/s\n", res.times[k].path,
                                lay_min[k],
                                (double)res.times[k].flops / (lay_min[k] * 1e6));
        }
        tlr_forward_result_free(&res);
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    qsort(cpu, (size_t)runs, sizeof *cpu, cmp_double);
    double med = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (json)
        printf("{\"engine\": \"tlreport\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"runs\": %d, \"min_ms\": %.3f, \"median_ms\": %.3f, \"open_ms\": %.3f, "
               "\"load_ms\": %.3f, \"rss_kb\": %ld, \"cpu_min_ms\": %.3f, \"checksum\": %.9g}\n",
               model, batch, tlr_threads_count(), runs, ms[0], med, t1 - t0, t2 - t1,
               ru.ru_maxrss, cpu[0], checksum);
    else
        printf("%s batch %d threads %d: min %.2f ms  median %.2f ms  cpu min %.2f ms  (open %.1f "
               "ms, load %.1f ms, RSS %ld MB, %ld page faults in the last run, checksum %.9g)\n",
               model, batch, tlr_threads_count(), ms[0], med, cpu[0], t1 - t0, t2 - t1,
               ru.ru_maxrss >> 10, faults, checksum);
    free(ms);
    free(cpu);
    free(lay_min);
    tlr_tensor_free(x);
    tlr_kfile_free(f);
    return 0;
}
