/* make_photos.c - the photos of the evaluation benchmark (tests/bench/bench_eval.sh).
 *
 *   make_photos OUT N SIDE PHOTO...
 *
 * Writes N JPEG photos of SIDE x SIDE pixels (quality 90, 4:2:0, as cameras and most
 * datasets store them) into OUT/a/ and OUT/b/ (alternately: two classes for a sigmoid
 * model): random crops, at random scales, of the given photos.  Also writes OUT.npy, the
 * (N, SIDE, SIDE, 3) float32 inputs exactly as tlreport prepares them (decode, resize
 * nearest, x / 255), in listing order, so ONNX Runtime runs on the same inputs.
 * Deterministic (a fixed xorshift seed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "base/tensor.h"
#include "base/xalloc.h"
#include "input/input.h"
#include "input/preprocess.h"
#include "io/image_io.h"
#include "io/npy.h"

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* A random square crop of 'src' (RGB), scaled to side x side. */
static tlr_image *crop(const tlr_image *src, int side)
{
    int max = src->w < src->h ? src->w : src->h;
    int c = max / 3 + (int)rnd((unsigned)(max - max / 3 + 1));
    int x0 = (int)rnd((unsigned)(src->w - c + 1)), y0 = (int)rnd((unsigned)(src->h - c + 1));
    tlr_image *sq = tlr_image_new(c, c, 3);
    for (int y = 0; y < c; y++)
        memcpy(sq->data + (size_t)y * (size_t)c * 3,
               src->data + ((size_t)(y0 + y) * (size_t)src->w + (size_t)x0) * 3, (size_t)c * 3);
    tlr_image *out = tlr_preprocess_resize(sq, side, side, TLR_PIL_BILINEAR);
    tlr_image_free(sq);
    return out;
}

static int write_jpeg(const tlr_image *img, const char *path)
{
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int rc = tjCompress2(tj, img->data, img->w, 0, img->h, TJPF_RGB, &buf, &len, TJSAMP_420, 90,
                         0);
    FILE *f = rc == 0 ? fopen(path, "wb") : NULL;
    if (f) {
        fwrite(buf, 1, len, f);
        fclose(f);
    }
    tjFree(buf);
    tjDestroy(tj);
    return f ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: make_photos OUT N SIDE PHOTO...\n");
        return 2;
    }
    const char *out = argv[1];
    int n = atoi(argv[2]), side = atoi(argv[3]), n_src = argc - 4;
    tlr_image **src = tlr_xcalloc((size_t)n_src, sizeof *src);
    for (int i = 0; i < n_src; i++) {
        tlr_err err = { 0 };
        tlr_image *img = tlr_image_load(argv[4 + i], NULL, &err);
        if (!img) {
            fprintf(stderr, "make_photos: %s\n", err.msg);
            return 1;
        }
        src[i] = tlr_preprocess_to_rgb(img);
        tlr_image_free(img);
    }
    char *dir = tlr_xasprintf("mkdir -p '%s/a' '%s/b'", out, out);
    if (system(dir) != 0)
        return 1;
    free(dir);
    int64_t shape[4] = { n, side, side, 3 };
    tlr_tensor *all = tlr_tensor_new(4, shape);
    tlr_shape in = { 4, { -1, side, side, 3 } };
    tlr_input_opts io = { TLR_PREP_RESCALE, TLR_PIL_NEAREST, 0, 1024 };
    int64_t per = (int64_t)side * side * 3;
    /* listing order: all of a/ then all of b/, each sorted by name */
    for (int i = 0; i < n; i++) {
        tlr_image *img = crop(src[rnd((unsigned)n_src)], side);
        int cls = i % 2, k = i / 2;
        char *path = tlr_xasprintf("%s/%c/%05d.jpg", out, cls ? 'b' : 'a', k);
        if (write_jpeg(img, path) != 0)
            return 1;
        tlr_input t;
        tlr_err err = { 0 };
        if (tlr_input_load(path, &in, &io, &t, &err) != TLR_OK) {
            fprintf(stderr, "make_photos: %s\n", err.msg);
            return 1;
        }
        int64_t slot = cls ? (n + 1) / 2 + k : k;
        memcpy(all->data + slot * per, t.tensor->data, (size_t)per * sizeof(float));
        tlr_input_free(&t);
        tlr_image_free(img);
        free(path);
    }
    char *npy = tlr_xasprintf("%s.npy", out);
    tlr_err err = { 0 };
    if (tlr_npy_write(npy, 4, all->shape, all->data, &err) != TLR_OK) {
        fprintf(stderr, "make_photos: %s\n", err.msg);
        return 1;
    }
    free(npy);
    tlr_tensor_free(all);
    for (int i = 0; i < n_src; i++)
        tlr_image_free(src[i]);
    free(src);
    return 0;
}
