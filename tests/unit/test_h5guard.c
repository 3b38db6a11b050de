/* test_h5guard.c - the pre-check for HDF5 damage that hangs libhdf5 or makes it read out of
 * bounds: hand-built global heap collections (tiled correctly, a zero-size free object, an
 * object running past the end) and local heaps (NUL-terminated or not),
 * every HDF5 fixture accepted, and the fuzzer's hanging file refused by tlr_h5_open. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5file.h"
#include "io/h5guard.h"
#include "harness.h"

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Superblock version 0 (lengths of 8 bytes at byte 14), then a collection at byte 64:
 * "GCOL", version 1, size 4096; one object (index 1, 5 bytes, padded to 8) and the free-space
 * object 0 filling the rest. */
static size_t build(unsigned char *b, size_t cap)
{
    memset(b, 0, cap);
    static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
    memcpy(b, sig, 8);
    b[13] = 8;
    b[14] = 8;
    unsigned char *g = b + 64;
    memcpy(g, "GCOL", 4);
    g[4] = 1;
    put_le(g + 8, 4096, 8);
    unsigned char *o = g + 16;
    put_le(o, 1, 2);        /* index 1 */
    put_le(o + 2, 1, 2);    /* one reference */
    put_le(o + 8, 5, 8);    /* 5 bytes of data */
    memcpy(o + 16, "hello", 5);
    unsigned char *f = o + 16 + 8;
    put_le(f, 0, 2);        /* free space: index 0, size counts the rest */
    put_le(f + 8, (uint64_t)(g + 4096 - f), 8);
    return 64 + 4096 + 64;
}

static void hand_built(void)
{
    unsigned char b[4300];
    size_t n = build(b, sizeof b);
    OK(tlr_h5guard_check(b, n) == NULL, "well-formed collection accepted");

    build(b, sizeof b);
    put_le(b + 64 + 16 + 24 + 8, 0, 8); /* free-space object of size 0: the decoder never moves */
    const char *why = tlr_h5guard_check(b, n);
    STR_CONTAINS(why, "global heap collection at byte 64", "zero-size object refused");

    build(b, sizeof b);
    put_le(b + 64 + 16 + 8, 5000, 8); /* object 1 runs past the collection */
    OK(tlr_h5guard_check(b, n) != NULL, "object past the end refused");

    build(b, sizeof b);
    put_le(b + 64 + 16 + 8, UINT64_MAX - 3, 8); /* padding would wrap around */
    OK(tlr_h5guard_check(b, n) != NULL, "wrapping object size refused");

    build(b, sizeof b);
    b[64 + 4] = 2; /* another version: libhdf5 rejects it itself, nothing to guard */
    OK(tlr_h5guard_check(b, n) == NULL, "unknown collection version left to libhdf5");

    build(b, sizeof b);
    b[0] = 0; /* no superblock: not HDF5, not our business */
    OK(tlr_h5guard_check(b, n) == NULL, "no superblock");
    OK(tlr_h5guard_check(b, 3) == NULL, "tiny buffer");
}

/* A local heap at byte 64 whose 16 data bytes sit at byte 128: "conv\0dense\0" + padding. */
static void local_heap(void)
{
    unsigned char b[256];
    memset(b, 0, sizeof b);
    static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
    memcpy(b, sig, 8);
    b[13] = 8;
    b[14] = 8;
    memcpy(b + 64, "HEAP", 4);
    put_le(b + 72, 16, 8);   /* data size */
    put_le(b + 80, 16, 8);   /* free list: none (offset 16 = past the end) */
    put_le(b + 88, 128, 8);  /* data address */
    memcpy(b + 128, "conv\0dense", 10);
    OK(tlr_h5guard_check(b, sizeof b) == NULL, "local heap ending in NUL accepted");
    memset(b + 138, 'x', 6);  /* the last name runs to the end of the heap without a NUL */
    STR_CONTAINS(tlr_h5guard_check(b, sizeof b), "damaged local heap at byte 64",
                 "unterminated local heap refused");
    put_le(b + 88, 250, 8);   /* data past the end of the file: libhdf5's own check */
    OK(tlr_h5guard_check(b, sizeof b) == NULL, "heap outside the file left to libhdf5");
}

/* An unterminated local heap whose header starts at 'at' and ends the buffer, its 16 data
 * bytes at byte 24; the buffer's length. */
static size_t heap_at(unsigned char *b, size_t cap, size_t at)
{
    memset(b, 0, cap);
    static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
    memcpy(b, sig, 8);
    b[13] = 8;
    b[14] = 8;
    memset(b + 24, 'x', 16);
    memcpy(b + at, "HEAP", 4);
    put_le(b + at + 8, 16, 8);
    put_le(b + at + 16, 16, 8);
    put_le(b + at + 24, 24, 8);
    return at + 32;
}

/* The scan looks at every offset: 16 at a time, then the last few one by one; and a damaged
 * collection is reported before a damaged heap met earlier in the file. */
static void scan_offsets(void)
{
    unsigned char b[4300];
    for (size_t at = 40; at < 80; at++) {
        size_t n = heap_at(b, sizeof b, at);
        char want[64];
        snprintf(want, sizeof want, "damaged local heap at byte %zu", at);
        STR_CONTAINS(tlr_h5guard_check(b, n), want, "heap found at any offset");
    }
    size_t n = build(b, sizeof b);
    memcpy(b + 32, "HEAP", 4); /* unterminated heap before the collection, data at 4200 */
    put_le(b + 40, 16, 8);
    put_le(b + 48, 16, 8);
    put_le(b + 56, 4200, 8);
    memset(b + 4200, 'x', 16);
    STR_CONTAINS(tlr_h5guard_check(b, n), "damaged local heap at byte 32", "heap alone");
    put_le(b + 64 + 16 + 24 + 8, 0, 8); /* and now a damaged collection after it */
    STR_CONTAINS(tlr_h5guard_check(b, n), "global heap collection at byte 64",
                 "the collection reported first");
}

/* A file is checked the same whether read through the small buffer (no mapping kept) or
 * mapped whole: a damaged heap is found at any offset around the buffer's 256 KB windows,
 * and a heap whose last byte is made a NUL passes both ways. */
static void windows(void)
{
    const size_t W = (size_t)256 << 10;
    const size_t offsets[] = { 100, W - 5, W - 4, W - 3, W - 2, W - 1, W, W + 1, 2 * W - 3 };
    size_t cap = 2 * W + 64;
    unsigned char *b = malloc(cap);
    char path[1024];
    snprintf(path, sizeof path, "%s/guard_windows.h5", tlr_t_tmpdir());
    for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++) {
        size_t at = offsets[k], n = heap_at(b, cap, at);
        for (int clean = 0; clean < 2; clean++) {
            if (clean)
                b[24 + 15] = 0;
            FILE *f = fopen(path, "wb");
            fwrite(b, 1, n, f);
            fclose(f);
            char want[64];
            snprintf(want, sizeof want, "damaged local heap at byte %zu", at);
            tlr_h5guard_map map;
            const char *why = tlr_h5guard_check_file(path, NULL);
            char read_why[96];
            snprintf(read_why, sizeof read_why, "%s", why ? why : "");
            const char *read = why ? read_why : NULL;
            const char *mapped = tlr_h5guard_check_file(path, &map);
            if (clean) {
                CHECK(read == NULL && mapped == NULL && map.base, "at %zu: a clean heap refused", at);
            } else {
                STR_CONTAINS(read, want, "read through the buffer");
                STR_CONTAINS(mapped, want, "mapped");
                OK(map.base == NULL, "a damaged file's mapping is not kept");
            }
            tlr_h5guard_unmap(&map);
        }
    }
    free(b);
}

/* Every HDF5 fixture (all writers and eras) passes the check. */
static void fixtures_pass(const char *sub)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/%s", tlr_t_root(), sub);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".h5") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        const char *why = tlr_h5guard_check_file(path, NULL);
        CHECK(why == NULL, "%s: refused: %s", path, why);
        n++;
    }
    closedir(d);
    OK(n > 0, sub);
}

/* A mapped file of several megabytes is scanned in pieces on the threads: a damaged heap is
 * found at any offset around the pieces' edges, the earlier of two is reported, and a
 * damaged collection late in the file before a damaged heap early in it. */
static void pieces(void)
{
    const size_t n = ((size_t)8 << 20) + 64, parts = 8;
    unsigned char *b = malloc(n);
    char want[96];
    for (size_t i = 1; i < parts; i++)
        for (int d = -4; d <= 2; d++) {
            size_t at = n * i / parts + (size_t)(long)d;
            heap_at(b, n, at);
            snprintf(want, sizeof want, "damaged local heap at byte %zu", at);
            STR_CONTAINS(tlr_h5guard_check(b, n), want, "heap at a piece's edge");
        }
    size_t late = n * 5 / parts + 7, early = n * 2 / parts + 9;
    heap_at(b, n, late);
    memcpy(b + early, b + late, 32);
    snprintf(want, sizeof want, "damaged local heap at byte %zu", early);
    STR_CONTAINS(tlr_h5guard_check(b, n), want, "the earlier of two heaps");
    unsigned char small[4300];
    build(small, sizeof small);
    put_le(small + 64 + 16 + 24 + 8, 0, 8); /* the free-space object's size: 0, damaged */
    size_t gcol = n * 6 / parts + 100;
    memcpy(b + gcol, small + 64, 4096);
    snprintf(want, sizeof want, "global heap collection at byte %zu", gcol);
    STR_CONTAINS(tlr_h5guard_check(b, n), want, "a late collection before an early heap");
    free(b);
}

void test_h5guard(void)
{
    scan_offsets();
    windows();
    pieces();
    hand_built();
    local_heap();
    fixtures_pass("models");
    fixtures_pass("numeric");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/crashers/pipeline/hdf5_global_heap_hang.h5", tlr_t_root());
    tlr_err err = { 0 };
    tlr_h5 *h = tlr_h5_open(path, &err);
    OK(h == NULL, "the fuzzer's hanging file is refused before libhdf5 reads it");
    STR_CONTAINS(err.msg, "damaged global heap collection", "message");
    tlr_h5_close(h);
}
