/* exec_tensor.c - the executor's activations (counted against the memory budget), weights
 * by role, and the layout changes around channels_first layers. */
#include "engine/exec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/xalloc.h"
#include "keras/shape.h"

/* Activations are megabytes each and come and go layer by layer.  By default glibc hands
 * such blocks back to the kernel on free, and the next malloc faults fresh zeroed pages in
 * (about 1.5 us per 4 KB page here: 4 ms of a 90 ms VGG16 pass; a gradient-ascent step of
 * the report's filter patterns took 17 ms instead of 11).  Keeping freed memory in the heap
 * lets the next layer, image or step reuse it; the peak is unchanged, as it is what the
 * largest layers needed anyway. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

void tlr_exec_keep_freed_memory(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, keep_freed_memory);
}

tlr_tensor *tlr_exec_new(tlr_exec *X, const tlr_shape *s, const char *path)
{
    int64_t n = tlr_shape_numel_of(s);
    if (n < 0) {
        tlr_err_set(X->err, TLR_E_SHAPE, "layer '%s': output shape is not fully known", path);
        return NULL;
    }
    int64_t bytes = n * (int64_t)sizeof(float);
    if (X->opts && X->opts->max_memory > 0 && X->live_bytes + bytes > X->opts->max_memory) {
        tlr_err_set(X->err, TLR_E_LIMIT, "layer '%s': activations would need %lld MB, over the "
                    "memory budget of %lld MB (--max-memory)", path,
                    (long long)((X->live_bytes + bytes) >> 20),
                    (long long)(X->opts->max_memory >> 20));
        return NULL;
    }
    X->live_bytes += bytes;
    if (X->live_bytes > X->res->peak_bytes)
        X->res->peak_bytes = X->live_bytes;
    tlr_tensor *t = tlr_xcalloc(1, sizeof *t);
    t->ndim = s->ndim;
    memcpy(t->shape, s->d, (size_t)s->ndim * sizeof *s->d);
    t->data = tlr_falloc((size_t)n);
    return t;
}

tlr_tensor *tlr_exec_clone(tlr_exec *X, const tlr_tensor *x, const char *path)
{
    tlr_shape s = tlr_exec_shape(x);
    tlr_tensor *t = tlr_exec_new(X, &s, path);
    if (t)
        memcpy(t->data, x->data, tlr_exec_bytes(x));
    return t;
}

void tlr_exec_drop(tlr_exec *X, tlr_tensor *t)
{
    if (!t)
        return;
    X->live_bytes -= (int64_t)tlr_exec_bytes(t);
    tlr_tensor_free(t);
}

const float *tlr_exec_weight(const tlr_layer *l, const char *role)
{
    for (int i = 0; i < l->n_weights; i++)
        if (strcmp(l->weights[i].role, role) == 0)
            return l->weights[i].data;
    return NULL;
}

tlr_status tlr_exec_need_weight(tlr_exec *X, const tlr_layer *l, const char *path,
                                const char *role, const float **out)
{
    *out = tlr_exec_weight(l, role);
    if (!*out)
        return tlr_err_set(X->err, TLR_E_FORMAT, "layer '%s': weight '%s' is not loaded", path,
                           role);
    return TLR_OK;
}

/* A new tensor holding transpose(x, perm). */
static tlr_tensor *permuted(tlr_exec *X, const tlr_tensor *x, const int *perm, const char *path)
{
    tlr_shape s = { x->ndim, { 0 } };
    for (int i = 0; i < x->ndim; i++)
        s.d[i] = x->shape[perm[i]];
    tlr_tensor *t = tlr_exec_new(X, &s, path);
    if (t)
        tlr_tensor_transpose(x->ndim, x->shape, perm, x->data, t->data);
    return t;
}

/* For ranks 3..5. */
tlr_tensor *tlr_exec_to_channels_last(tlr_exec *X, const tlr_tensor *x, const char *path)
{
    int nd = x->ndim, perm[8] = { 0 };
    for (int i = 1; i < nd - 1; i++)
        perm[i] = i + 1;
    perm[nd - 1] = 1;
    return permuted(X, x, perm, path);
}

tlr_tensor *tlr_exec_to_channels_first(tlr_exec *X, const tlr_tensor *x, const char *path)
{
    int nd = x->ndim, perm[8] = { 0 };
    perm[1] = nd - 1;
    for (int i = 2; i < nd; i++)
        perm[i] = i - 1;
    return permuted(X, x, perm, path);
}
