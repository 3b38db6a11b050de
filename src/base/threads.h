/* threads.h - a small pool of worker threads for the heavy ops (convolutions, GEMM).
 *
 * tlr_parallel_for(n, fn, ctx) splits [0, n) into one contiguous range per thread, by a
 * fixed rule that depends only on n and the thread count, and runs them at once: the
 * calling thread takes range 0, pool workers the others.  Ops that write each output
 * element from exactly one task in a fixed summation order are therefore deterministic
 * for any thread count.  A call made from inside a task runs inline on that thread.
 *
 * The thread count defaults to the number of online CPUs (at most TLR_THREADS_MAX), or the
 * TLR_THREADS environment variable when set.  The pool is created on first use and lives
 * until the process ends: it is process-wide state by nature (one set of cores), the one
 * exception to "no mutable globals". */
#ifndef TLR_THREADS_H
#define TLR_THREADS_H

#include <stddef.h>
#include <stdint.h>

#define TLR_THREADS_MAX 64

/* fn runs items [begin, end) on thread 'tid' (0 = the caller). */
typedef void (*tlr_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* Runs fn over [0, n) on up to tlr_threads_count() threads and returns when all are done.
 * Fewer threads are used when n is smaller than the count. */
void tlr_parallel_for(int64_t n, tlr_task_fn fn, void *ctx);

/* Same, with at most 'max_threads' threads (e.g. to keep tiny jobs on one thread). */
void tlr_parallel_for_n(int64_t n, int max_threads, tlr_task_fn fn, void *ctx);

/* Threads the pool uses (>= 1). */
int tlr_threads_count(void);

/* Sets the thread count (1 .. TLR_THREADS_MAX; values outside are clamped).  Call it
 * between ops, never from inside a task. */
void tlr_threads_set_count(int n);

/* Scratch memory owned by thread 'tid' for the duration of one task: at least 'bytes',
 * 64-byte aligned, contents undefined.  'slot' (0 .. 3) selects one of a few independent
 * buffers so a task can hold several.  Kept between calls (grown, never shrunk) so hot loops
 * do not fault in fresh pages; tlr_threads_trim() gives the memory back. */
void *tlr_thread_scratch(int tid, int slot, size_t bytes);

/* Frees every thread's scratch buffers (call between ops, never inside a task). */
void tlr_threads_trim(void);

#endif
