/* test_threads.c - the worker pool: every item of [0, n) runs exactly once whatever the
 * thread count and n (fewer items than threads, more, none), tids stay in range, a call
 * from inside a task runs inline, and per-thread scratch keeps its size and alignment. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "base/threads.h"

typedef struct {
    atomic_int *hits;
    atomic_int bad_tid;
    int nested;
} count_job;

static void count_task(void *ctx, int64_t b, int64_t e, int tid)
{
    count_job *J = ctx;
    if (tid < 0 || tid >= tlr_threads_count())
        atomic_fetch_add(&J->bad_tid, 1);
    for (int64_t i = b; i < e; i++)
        atomic_fetch_add(&J->hits[i], 1);
}

static void inner_task(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    int *sum = ctx;
    for (int64_t i = b; i < e; i++)
        (*sum)++; /* inline on the calling thread: no race */
}

static void outer_task(void *ctx, int64_t b, int64_t e, int tid)
{
    count_job *J = ctx;
    for (int64_t i = b; i < e; i++) {
        int sum = 0;
        tlr_parallel_for(10, inner_task, &sum);
        if (sum == 10)
            atomic_fetch_add(&J->hits[i], 1);
    }
    (void)tid;
}

void test_threads(void)
{
    int saved = tlr_threads_count();
    static const int64_t sizes[] = { 0, 1, 2, 3, 7, 64, 1000, 100003 };
    for (int th = 1; th <= 4; th++) {
        tlr_threads_set_count(th);
        INT_EQ(tlr_threads_count(), th, "thread count set");
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int64_t n = sizes[s];
            count_job J = { calloc((size_t)n + 1, sizeof(atomic_int)), 0, 0 };
            tlr_parallel_for(n, count_task, &J);
            int once = 1;
            for (int64_t i = 0; i < n; i++)
                once &= atomic_load(&J.hits[i]) == 1;
            CHECK(once, "%d threads, n = %lld: every item exactly once", th, (long long)n);
            INT_EQ(atomic_load(&J.bad_tid), 0, "tids in range");
            free(J.hits);
        }
        count_job J = { calloc(50, sizeof(atomic_int)), 0, 0 };
        tlr_parallel_for(50, outer_task, &J);
        int all = 1;
        for (int i = 0; i < 50; i++)
            all &= atomic_load(&J.hits[i]) == 1;
        CHECK(all, "%d threads: nested calls run inline and complete", th);
        free(J.hits);
    }
    tlr_threads_set_count(0);
    INT_EQ(tlr_threads_count(), 1, "counts below 1 are clamped");
    tlr_threads_set_count(saved);

    float *a = tlr_thread_scratch(0, 1, 1000);
    OK(((uintptr_t)a & 63) == 0, "scratch is 64-byte aligned");
    a[999 / sizeof(float)] = 1.0f;
    float *b = tlr_thread_scratch(0, 1, 500);
    OK(a == b, "a smaller request reuses the buffer");
    tlr_threads_trim();
}
