/* bench_grad.c - times tlreport's reverse pass on the course model, as the report uses it:
 *   gradcam   one Grad-CAM: forward pass, reverse pass from the logit to vgg16/block5_conv3,
 *             the map (tlr_grad_run + tlr_gradcam_map), one image
 *   ascent16  one gradient-ascent step of the filter patterns: 16 filters of
 *             vgg16/block2_conv2 on 40 x 40 canvases in one batch (tlr_grad_run +
 *             tlr_ascent_step), flipped kernels kept between steps as the report keeps them
 *   ascent1   the same step for one filter on one 150 x 150 image
 * Prints one JSON object: per item min and median milliseconds over the runs.
 *
 *   bench_grad MODEL.h5 INPUT.npy [--runs 11] [--warmup 2] [--threads 2] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/threads.h"
#include "engine/reverse.h"
#include "io/npy.h"
#include "keras/kfile.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const tlr_model *m;
    tlr_tensor *x;
    tlr_grad_request rq;
    tlr_grad_cache *cache;
    int gradcam;
} item;

/* One timed unit; 0 on success. */
static int run_once(item *it)
{
    tlr_grad_result r;
    tlr_err err = { 0 };
    if (tlr_grad_run(it->m, it->x, &it->rq, NULL, it->cache, &r, &err)) {
        fprintf(stderr, "bench_grad: %s\n", err.msg);
        return 1;
    }
    if (it->gradcam) {
        float *cam = malloc((size_t)(r.value->shape[1] * r.value->shape[2]) * sizeof *cam);
        tlr_gradcam_map(r.value, r.grad, 0, cam);
        free(cam);
    } else {
        tlr_ascent_step(it->x->data, r.grad->data, r.n, tlr_tensor_numel(r.grad) / r.n, 10.0f);
    }
    tlr_grad_result_free(&r);
    return 0;
}

static int time_item(const char *name, item *it, int runs, int warmup, int last)
{
    double *t = calloc((size_t)runs, sizeof *t);
    for (int i = 0; i < warmup; i++)
        if (run_once(it))
            return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (run_once(it))
            return 1;
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("  \"%s\": {\"min_ms\": %.3f, \"median_ms\": %.3f}%s\n", name, t[0], t[runs / 2],
           last ? "" : ",");
    free(t);
    return 0;
}

static tlr_tensor *canvas(int n, int s)
{
    int64_t shape[4] = { n, s, s, 3 };
    tlr_tensor *x = tlr_tensor_new(4, shape);
    for (int b = 0; b < n; b++)
        tlr_ascent_init(x->data + (int64_t)b * s * s * 3, (int64_t)s * s * 3, (uint64_t)b);
    return x;
}

int main(int argc, char **argv)
{
    int runs = 11, warmup = 2, threads = 2;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_grad MODEL.h5 INPUT.npy [--runs N] [--warmup N] "
                        "[--threads N]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
    }
    tlr_threads_set_count(threads);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(argv[1], NULL, &err);
    if (!f || tlr_kfile_load_weights(f, &err)) {
        fprintf(stderr, "bench_grad: %s\n", err.msg);
        return 1;
    }
    int nd;
    int64_t shape[8];
    float *v = tlr_npy_read(argv[2], &nd, shape, &err);
    if (!v) {
        fprintf(stderr, "bench_grad: %s\n", err.msg);
        return 1;
    }
    tlr_tensor *img = tlr_tensor_new(nd, shape);
    memcpy(img->data, v, (size_t)tlr_tensor_numel(img) * sizeof(float));
    free(v);
    int filters[16];
    for (int i = 0; i < 16; i++)
        filters[i] = i;
    item cam = { f->model, img, { .kind = TLR_SCORE_CLASS, .fixed = -1,
                                  .wrt = "vgg16/block5_conv3" }, NULL, 1 };
    item a16 = { f->model, canvas(16, 40), { .kind = TLR_SCORE_FILTER,
                 .target = "vgg16/block2_conv2", .index = filters, .border = 2 },
                 tlr_grad_cache_new(), 0 };
    item a1 = { f->model, tlr_tensor_clone(img), { .kind = TLR_SCORE_FILTER,
                .target = "vgg16/block2_conv2", .fixed = 0, .border = 2 },
                tlr_grad_cache_new(), 0 };
    tlr_ascent_init(a1.x->data, tlr_tensor_numel(a1.x), 0);
    printf("{\n  \"threads\": %d,\n  \"runs\": %d,\n", threads, runs);
    int rc = time_item("gradcam", &cam, runs, warmup, 0) ||
             time_item("ascent16", &a16, runs, warmup, 0) ||
             time_item("ascent1", &a1, runs, warmup, 1);
    printf("}\n");
    tlr_grad_cache_free(a16.cache);
    tlr_grad_cache_free(a1.cache);
    tlr_tensor_free(a16.x);
    tlr_tensor_free(a1.x);
    tlr_tensor_free(img);
    tlr_kfile_free(f);
    return rc;
}
