/* h5probe.c - the crash probe (h5probe.h): every object walked and every attribute read,
 * under a memory cap, in a forked child whose parent only looks at how it ended, or in a
 * worker process that is itself such a child (tlr_h5probe_contained). */
#include "io/h5probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "io/h5lib.h"

#define PROBE_MAX_OBJECTS 100000
#define PROBE_MAX_DEPTH 64   /* groups below groups */
#define PROBE_MAX_SKIPS 1000 /* damaged entries skipped in one listing */

typedef struct {
    tlr_h5 *h;
    long objects;
    int depth;
    int out_of_memory;       /* libhdf5 could not allocate what an attribute claims */
    haddr_t *seen;           /* visited object addresses (open addressing, HADDR_UNDEF free) */
    size_t n_seen, cap_seen;
} probe_ctx;

static herr_t probe_attr(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
    (void)info;
    probe_ctx *P = ctx;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Eclear2(H5E_DEFAULT);
    if (H5Tget_class(t) == H5T_STRING) {
        tlr_strlist l = TLR_STRLIST_INIT;
        if (tlr_h5_read_strings(P->h, a, name, &l, NULL) == TLR_E_LIMIT)
            P->out_of_memory = 1;
        tlr_strlist_free(&l);
    } else if (n > 0 && n <= (1 << 20)) {
        double *v = malloc((size_t)n * sizeof *v);
        if (v)
            H5Aread(a, H5T_NATIVE_DOUBLE, v);
        free(v);
    }
    if (tlr_h5_out_of_memory())
        P->out_of_memory = 1;
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

/* Adds an object address to the set of visited ones; 0 when it was there already. */
static int probe_seen_add(probe_ctx *P, haddr_t addr)
{
    if ((P->n_seen + 1) * 2 > P->cap_seen) {
        size_t cap = P->cap_seen ? P->cap_seen * 2 : 1024;
        haddr_t *slots = tlr_xmalloc(cap * sizeof *slots);
        for (size_t i = 0; i < cap; i++)
            slots[i] = HADDR_UNDEF;
        for (size_t i = 0; i < P->cap_seen; i++) {
            if (P->seen[i] == HADDR_UNDEF)
                continue;
            size_t j = (size_t)(P->seen[i] * 0x9E3779B97F4A7C15ULL) & (cap - 1);
            while (slots[j] != HADDR_UNDEF)
                j = (j + 1) & (cap - 1);
            slots[j] = P->seen[i];
        }
        free(P->seen);
        P->seen = slots;
        P->cap_seen = cap;
    }
    size_t j = (size_t)(addr * 0x9E3779B97F4A7C15ULL) & (P->cap_seen - 1);
    for (; P->seen[j] != HADDR_UNDEF; j = (j + 1) & (P->cap_seen - 1))
        if (P->seen[j] == addr)
            return 0;
    P->seen[j] = addr;
    P->n_seen++;
    return 1;
}

static void probe_location(hid_t obj, probe_ctx *P);

static herr_t probe_link(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    probe_ctx *P = ctx;
    if (P->objects >= PROBE_MAX_OBJECTS)
        return 1; /* stop this listing; the callers stop too */
    if (info->type != H5L_TYPE_HARD)
        return 0;
    /* A dataset without attributes has nothing for the walk to read: its header is decoded
     * here, and opening it (layout, filters, property lists) was most of the probe's time. */
    H5O_info_t oi;
    if (H5Oget_info_by_name2(group, name, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS,
                             H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    if (oi.type == H5O_TYPE_DATASET && oi.num_attrs == 0) {
        if (probe_seen_add(P, oi.addr))
            P->objects++;
        return 0;
    }
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    probe_location(obj, P);
    H5Oclose(obj);
    return 0;
}

/* Probes the attributes of 'obj' and, for a group, of everything below it.  Unlike
 * H5Ovisit, which stops at the first damaged entry, a failure skips only that entry: the
 * loader may still reach the objects after it. */
static void probe_location(hid_t obj, probe_ctx *P)
{
    H5O_info_t oi;
    if (P->objects >= PROBE_MAX_OBJECTS)
        return;
    if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) < 0 ||
        !probe_seen_add(P, oi.addr)) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    P->objects++;
    hsize_t idx = 0;
    for (int fails = 0; idx < oi.num_attrs && fails < PROBE_MAX_SKIPS; fails++, idx++)
        if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, probe_attr, P) >= 0)
            break;
    H5Eclear2(H5E_DEFAULT);
    H5G_info_t gi;
    if (oi.type != H5O_TYPE_GROUP || P->depth >= PROBE_MAX_DEPTH || H5Gget_info(obj, &gi) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    P->depth++;
    idx = 0;
    for (int fails = 0; idx < gi.nlinks && fails < PROBE_MAX_SKIPS; fails++, idx++)
        if (H5Literate(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, probe_link, P) >= 0)
            break;
    H5Eclear2(H5E_DEFAULT);
    P->depth--;
}

#if defined(__SANITIZE_ADDRESS__)
#define PROBE_NO_MEMORY_CAP 1 /* AddressSanitizer reserves terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROBE_NO_MEMORY_CAP 1
#endif
#endif

/* The address-space cap of a probe: what the process has plus 1 GiB plus 4x the file.
 * Attribute values come from the file, so a real file needs far less, while a crafted length
 * field (a "19 GB" string) would otherwise have libhdf5 allocate and touch it all before
 * failing.  With the cap the allocation fails at once and libhdf5 returns an error.  Lowers
 * only the soft limit (*old keeps the previous one, for probe_uncap); 0 when not capped. */
static int probe_cap(const char *path, size_t len, struct rlimit *old)
{
#ifndef PROBE_NO_MEMORY_CAP
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (!f)
        return 0;
    int ok = fscanf(f, "%llu", &pages) == 1;
    fclose(f);
    struct stat sb;
    if (!ok || getrlimit(RLIMIT_AS, old) != 0)
        return 0;
    if (path && stat(path, &sb) == 0)
        len = (size_t)sb.st_size;
    unsigned long long have = pages * (unsigned long long)sysconf(_SC_PAGESIZE);
    rlim_t cap = (rlim_t)(have + (1ULL << 30) + 4ULL * len);
    if (old->rlim_cur != RLIM_INFINITY && old->rlim_cur <= cap)
        return 0; /* already as tight */
    struct rlimit rl = { cap, old->rlim_max };
    return setrlimit(RLIMIT_AS, &rl) == 0;
#else
    (void)path;
    (void)len;
    (void)old;
    return 0;
#endif
}

static void probe_uncap(int capped, const struct rlimit *old)
{
    if (capped)
        setrlimit(RLIMIT_AS, old);
}

/* Opens the file: 'buf' of 'len' bytes when set (libhdf5 copies it), else 'path'. */
static hid_t probe_open(const char *path, const void *buf, size_t len)
{
    hid_t file = buf ? H5LTopen_file_image((void *)buf, len, 0)
                     : H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    return file; /* on failure the error stack says why */
}

/* Reads every attribute of the open file: 1 when that went through, 0 when libhdf5 met a
 * length no real file has (an allocation failed under the cap). */
static int probe_file(hid_t file, const char *label)
{
    tlr_h5 h = { .file = file, .label = (char *)label };
    probe_ctx P = { .h = &h };
    probe_location(file, &P);
    free(P.seen);
    H5Eclear2(H5E_DEFAULT);
    return !P.out_of_memory;
}

/* Opens and walks: a file libhdf5 cannot open passes (the caller's own open says why). */
static int probe_walk(const char *path, const void *buf, size_t len, const char *label)
{
    hid_t file = probe_open(path, buf, len);
    if (file < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 1;
    }
    int ok = probe_file(file, label);
    H5Fclose(file);
    return ok;
}

/* The child's side: open, walk, and answer with the exit status alone. */
static _Noreturn void probe_child(const char *path, const void *buf, size_t len,
                                  const char *label, pid_t parent)
{
    /* the probe never outlives the process that asked (even one killed outright) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
        dup2(devnull, 2); /* a sanitizer's report of a libhdf5 fault is the parent's answer */
    tlr_h5_quiet();
    struct rlimit old;
    probe_cap(path, len, &old);
    _exit(probe_walk(path, buf, len, label) ? 0 : 3); /* no exit handlers */
}

/* Set by tlr_h5probe_contained: this process is a worker whose crash is answered for. */
static int contained;

void tlr_h5probe_contained(void)
{
#ifndef PROBE_NO_MEMORY_CAP
    contained = 1;
#endif
    /* under AddressSanitizer a fault ends the process with a report and exit status 1, not
     * a signal the worker's parent would recognise: the probe stays a child there */
}

/* TLR_NO_FORK set (to anything but 0): no probe at all. */
static int no_fork_asked(void)
{
    const char *nf = getenv("TLR_NO_FORK");
    return nf && strcmp(nf, "0") != 0;
}

int tlr_h5probe_in_place(void)
{
    return contained && !no_fork_asked();
}

/* The same walk under the same cap, in this process, on the handle the caller then keeps:
 * one open instead of two, and the loader finds the metadata already in libhdf5's cache. */
hid_t tlr_h5probe_open_here(const char *path, const void *buf, size_t len, const char *label,
                            int *refused)
{
    struct rlimit old;
    int capped = probe_cap(path, len, &old);
    hid_t file = probe_open(path, buf, len);
    *refused = file >= 0 && !probe_file(file, label);
    probe_uncap(capped, &old);
    if (*refused) {
        H5Fclose(file);
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    return file;
}

int tlr_h5probe_survives(const char *path, const void *buf, size_t len, const char *label)
{
    if (no_fork_asked())
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        probe_child(path, buf, len, label, parent);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
