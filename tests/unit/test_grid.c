/* test_grid.c - kernel and feature-map grids against hand-computed pixels.
 * Levels: min-max p = lround((v - lo) / (hi - lo) * 255); symmetric p = 128 + lround(v / m * 127);
 * lround rounds halves away from zero. */
#include <stdio.h>
#include <stdlib.h>

#include "report/grid.h"
#include "harness.h"

static int gray_at(const tlr_image *img, int x, int y)
{
    return img->data[(size_t)y * (size_t)img->w + (size_t)x];
}

static unsigned rgb_at(const tlr_image *img, int x, int y)
{
    const uint8_t *p = img->data + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
    return (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
}

static tlr_grid_kernel_opts kopts(int rows, int cols, int cell, int gutter, tlr_grid_norm norm)
{
    tlr_grid_kernel_opts o = tlr_grid_kernel_defaults();
    o.rows = rows;
    o.cols = cols;
    o.cell = cell;
    o.gutter = gutter;
    o.norm = norm;
    return o;
}

/* One 2x2 kernel (kh=2, kw=2, cin=1, cout=1) drawn with cell 1: the image is the kernel. */
static void one_kernel(const float k[4], tlr_grid_norm norm, const int want[4], int64_t want_nf,
                       int want_flat, const char *msg)
{
    tlr_grid_kernel_opts o = kopts(10, 20, 1, 2, norm);
    tlr_grid_layout lay;
    tlr_err err = {0};
    tlr_image *img = tlr_grid_kernels(k, 2, 2, 1, 1, &o, &lay, &err);
    if (!img) {
        tlr_t_fail(__FILE__, __LINE__, "%s: %s", msg, err.msg);
        return;
    }
    INT_EQ(img->w, 2, msg);
    INT_EQ(img->h, 2, msg);
    INT_EQ(img->channels, 1, msg);
    char what[128];
    for (int i = 0; i < 4; i++) {
        snprintf(what, sizeof what, "%s: pixel %d", msg, i);
        INT_EQ(img->data[i], want[i], what);
    }
    snprintf(what, sizeof what, "%s: non-finite count", msg);
    INT_EQ(lay.nonfinite, want_nf, what);
    snprintf(what, sizeof what, "%s: flat count", msg);
    INT_EQ(lay.flat, want_flat, what);
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
}

static void kernel_levels(void)
{
    const float ramp[4] = { 0, 1, 2, 3 };
    one_kernel(ramp, TLR_GRID_NORM_KERNEL, (const int[]){ 0, 85, 170, 255 }, 0, 0,
               "[[0,1],[2,3]] per-kernel min-max");
    one_kernel(ramp, TLR_GRID_NORM_LAYER, (const int[]){ 0, 85, 170, 255 }, 0, 0,
               "single kernel: layer min-max is the same");
    /* m = 2: -2 -> 128-127 = 1, -1 -> 128 + lround(-63.5) = 64, 0 -> 128, 2 -> 255 */
    one_kernel((const float[]){ -2, -1, 0, 2 }, TLR_GRID_NORM_SYMMETRIC,
               (const int[]){ 1, 64, 128, 255 }, 0, 0, "symmetric, 0 -> 128");
    /* m = 4: 1 -> 128 + lround(31.75) = 160 */
    one_kernel((const float[]){ 0, 1, 0, -4 }, TLR_GRID_NORM_SYMMETRIC,
               (const int[]){ 128, 160, 128, 1 }, 0, 0, "symmetric, asymmetric range");
    one_kernel((const float[]){ 5, 5, 5, 5 }, TLR_GRID_NORM_KERNEL, (const int[]){ 128, 128, 128, 128 },
               0, 1, "constant kernel -> mid-gray");
    one_kernel((const float[]){ 0, 0, 0, 0 }, TLR_GRID_NORM_SYMMETRIC,
               (const int[]){ 128, 128, 128, 128 }, 0, 1, "all-zero layer, symmetric");
    /* finite range [1, 2]; NaN and Inf drawn mid-gray and counted */
    one_kernel((const float[]){ NAN, 1, 2, INFINITY }, TLR_GRID_NORM_KERNEL,
               (const int[]){ 128, 0, 255, 128 }, 2, 0, "NaN/Inf in a kernel");
    one_kernel((const float[]){ NAN, -INFINITY, NAN, NAN }, TLR_GRID_NORM_LAYER,
               (const int[]){ 128, 128, 128, 128 }, 4, 1, "no finite weight at all");
    one_kernel((const float[]){ NAN, 3, 3, 3 }, TLR_GRID_NORM_SYMMETRIC,
               (const int[]){ 128, 255, 255, 255 }, 1, 1, "NaN in symmetric mode");
}

static void kernel_cells_and_gutters(void)
{
    /* (kh, kw, cin, cout) = (2, 2, 1, 1) with cell 3: each weight is a 3x3 block. */
    const float k[4] = { 0, 1, 2, 3 };
    tlr_grid_kernel_opts o = kopts(10, 20, 3, 2, TLR_GRID_NORM_KERNEL);
    tlr_image *img = tlr_grid_kernels(k, 2, 2, 1, 1, &o, NULL, NULL);
    INT_EQ(img->w, 6, "cell 3 width");
    INT_EQ(img->h, 6, "cell 3 height");
    INT_EQ(gray_at(img, 0, 0), 0, "block (0,0)");
    INT_EQ(gray_at(img, 2, 2), 0, "block (0,0) far corner");
    INT_EQ(gray_at(img, 3, 0), 85, "block (0,1) starts at x=3");
    INT_EQ(gray_at(img, 5, 2), 85, "block (0,1) far corner");
    INT_EQ(gray_at(img, 0, 3), 170, "block (1,0) starts at y=3");
    INT_EQ(gray_at(img, 5, 5), 255, "block (1,1)");
    tlr_image_free(img);

    /* 3x3 kernels, cin 4, cout 5, grid 2 x 3, cell 4, gutter 2, background 200:
     * tile 12x12, width 3*12 + 2*2 = 40, height 2*12 + 2 = 26. */
    float big[3 * 3 * 4 * 5];
    for (int i = 0; i < 3 * 3 * 4 * 5; i++)
        big[i] = (float)(i % 7);
    o = kopts(2, 3, 4, 2, TLR_GRID_NORM_KERNEL);
    o.background = 200;
    tlr_grid_layout lay;
    img = tlr_grid_kernels(big, 3, 3, 4, 5, &o, &lay, NULL);
    INT_EQ(img->w, 40, "grid width");
    INT_EQ(img->h, 26, "grid height");
    INT_EQ(lay.rows, 2, "rows");
    INT_EQ(lay.cols, 3, "cols");
    INT_EQ(lay.tile_w, 12, "tile_w");
    INT_EQ(lay.tile_h, 12, "tile_h");
    INT_EQ(lay.ntiles, 6, "ntiles");
    INT_EQ(gray_at(img, 12, 0), 200, "vertical gutter, first column");
    INT_EQ(gray_at(img, 13, 25), 200, "vertical gutter, second column");
    INT_EQ(gray_at(img, 0, 12), 200, "horizontal gutter");
    INT_EQ(gray_at(img, 39, 13), 200, "horizontal gutter, right edge");
    INT_EQ(lay.tiles[5].x, 28, "tile (1,2) x = 2 * (12 + 2)");
    INT_EQ(lay.tiles[5].y, 14, "tile (1,2) y = 12 + 2");
    INT_EQ(lay.tiles[5].filter, 1, "row is the filter");
    INT_EQ(lay.tiles[5].channel, 2, "column is the input channel");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
    OK(lay.tiles == NULL, "layout_free clears");

    /* Defaults 10 x 20 clip to cout = 5 rows and cin = 4 columns: 4*12+3*2 = 54, 5*12+4*2 = 68. */
    o = kopts(10, 20, 4, 2, TLR_GRID_NORM_KERNEL);
    img = tlr_grid_kernels(big, 3, 3, 4, 5, &o, &lay, NULL);
    INT_EQ(lay.rows, 5, "rows clipped to cout");
    INT_EQ(lay.cols, 4, "cols clipped to cin");
    INT_EQ(img->w, 54, "clipped width");
    INT_EQ(img->h, 68, "clipped height");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
}

static void kernel_index_order(void)
{
    /* (1, 1, cin=3, cout=2), weight (c, f) = 10c + f stored at c*cout + f.  Layer min-max over
     * [0, 21]: 255v/21 -> 0:0, 1:12.14->12, 10:121.43->121, 11:133.57->134, 20:242.86->243, 21:255. */
    const float k[6] = { 0, 1, 10, 11, 20, 21 };
    const int want[2][3] = { { 0, 121, 243 }, { 12, 134, 255 } }; /* [filter][channel] */
    tlr_grid_kernel_opts o = kopts(10, 20, 1, 1, TLR_GRID_NORM_LAYER);
    tlr_grid_layout lay;
    tlr_image *img = tlr_grid_kernels(k, 1, 1, 3, 2, &o, &lay, NULL);
    INT_EQ(img->w, 5, "3 tiles + 2 gutters");
    INT_EQ(img->h, 3, "2 tiles + 1 gutter");
    for (int f = 0; f < 2; f++)
        for (int c = 0; c < 3; c++) {
            char what[64];
            snprintf(what, sizeof what, "filter %d channel %d", f, c);
            INT_EQ(gray_at(img, 2 * c, 2 * f), want[f][c], what);
            INT_EQ(lay.tiles[f * 3 + c].filter, f, what);
            INT_EQ(lay.tiles[f * 3 + c].channel, c, what);
        }
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);

    /* (kh=2, kw=1, cin=1, cout=2): weight (i, f) at i*2 + f; filter 0 = [1, 3], filter 1 = [9, 5].
     * Per-kernel min-max: filter 0 top 0 bottom 255, filter 1 top 255 bottom 0. */
    const float k2[4] = { 1, 9, 3, 5 };
    o = kopts(10, 20, 1, 0, TLR_GRID_NORM_KERNEL);
    img = tlr_grid_kernels(k2, 2, 1, 1, 2, &o, NULL, NULL);
    INT_EQ(img->w, 1, "one column");
    INT_EQ(img->h, 4, "two 2-tall tiles, no gutter");
    INT_EQ(gray_at(img, 0, 0), 0, "filter 0 top");
    INT_EQ(gray_at(img, 0, 1), 255, "filter 0 bottom");
    INT_EQ(gray_at(img, 0, 2), 255, "filter 1 top");
    INT_EQ(gray_at(img, 0, 3), 0, "filter 1 bottom");
    tlr_image_free(img);
}

static void kernel_rgb(void)
{
    /* (1, 1, 3, cout=3), weight (c, f) at c*3 + f.  Filter 0 = (0, 1, 2) -> (0, 128, 255)
     * (127.5 rounds up); filter 1 = (4, 4, 4) constant -> mid-gray; filter 2 = (NaN, 0, 1). */
    const float k[9] = { 0, 4, NAN, 1, 4, 0, 2, 4, 1 };
    tlr_grid_kernel_opts o = kopts(5, 2, 2, 1, TLR_GRID_NORM_KERNEL);
    o.background = 200;
    tlr_grid_layout lay;
    tlr_err err = {0};
    tlr_image *img = tlr_grid_kernels_rgb(k, 1, 1, 3, 3, &o, &lay, &err);
    OK(img != NULL, err.msg);
    INT_EQ(img->channels, 3, "RGB image");
    INT_EQ(img->w, 5, "2 tiles of 2 px + 1 gutter");
    INT_EQ(img->h, 5, "2 rows of 2 px + 1 gutter");
    INT_EQ(lay.cols, 2, "2 filters per row");
    INT_EQ(lay.rows, 2, "3 filters need 2 rows");
    INT_EQ(rgb_at(img, 0, 0), 0x0080ff, "filter 0 colour");
    INT_EQ(rgb_at(img, 1, 1), 0x0080ff, "filter 0 cell filled");
    INT_EQ(rgb_at(img, 3, 0), 0x808080, "constant filter mid-gray");
    INT_EQ(rgb_at(img, 0, 3), 0xff00ff, "NaN pixel magenta");
    INT_EQ(rgb_at(img, 3, 3), 0xc8c8c8, "unused slot is background");
    INT_EQ(rgb_at(img, 2, 0), 0xc8c8c8, "gutter");
    INT_EQ(lay.tiles[2].filter, 2, "third tile is filter 2");
    INT_EQ(lay.tiles[2].x, 0, "third tile x");
    INT_EQ(lay.tiles[2].y, 3, "third tile y");
    INT_EQ(lay.flat, 1, "one constant filter");
    INT_EQ(lay.nonfinite, 1, "one NaN");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);

    o = kopts(1, 2, 1, 0, TLR_GRID_NORM_KERNEL);
    img = tlr_grid_kernels_rgb(k, 1, 1, 3, 3, &o, &lay, NULL);
    INT_EQ(lay.ntiles, 2, "rows*cols bounds the filters shown");
    INT_EQ(img->w, 2, "clipped rgb width");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);

    img = tlr_grid_kernels_rgb(k, 1, 1, 1, 9, &o, NULL, &err);
    OK(img == NULL, "cin != 3 rejected");
    INT_EQ(err.code, TLR_E_SHAPE, "cin != 3 code");
}

static void fmap_gray(void)
{
    /* (H, W, C) = (2, 2, 3), value (y, x, ch) at (y*2 + x)*3 + ch.
     * ch0 = [[0,1],[2,3]] -> 0 85 170 255; ch1 = 7 everywhere -> dead (64);
     * ch2 = [[-1,1],[NaN,0]] -> 0 255 / 128(NaN) 128 (127.5 rounds up). */
    const float a[12] = { 0, 7, -1, 1, 7, 1, 2, 7, NAN, 3, 7, 0 };
    tlr_grid_fmap_opts o = tlr_grid_fmap_defaults();
    o.per_row = 2;
    o.upscale = 1;
    o.gutter = 1;
    o.background = 200;
    tlr_grid_layout lay;
    tlr_image *img = tlr_grid_fmaps(a, 2, 2, 3, &o, &lay, NULL);
    INT_EQ(img->channels, 1, "gray");
    INT_EQ(img->w, 5, "2 tiles + gutter");
    INT_EQ(img->h, 5, "2 rows + gutter");
    const int want[5][5] = {
        { 0, 85, 200, 64, 64 },
        { 170, 255, 200, 64, 64 },
        { 200, 200, 200, 200, 200 },
        { 0, 255, 200, 200, 200 },
        { 128, 128, 200, 200, 200 },
    };
    int bad = 0;
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            if (gray_at(img, x, y) != want[y][x] && !bad++)
                CHECK(0, "pixel (%d,%d) = %d, want %d", x, y, gray_at(img, x, y), want[y][x]);
    OK(bad == 0, "every feature-map pixel");
    INT_EQ(lay.flat, 1, "one dead channel");
    INT_EQ(lay.tiles[1].flat, 1, "channel 1 is the dead one");
    INT_EQ(lay.nonfinite, 1, "one NaN");
    INT_EQ(lay.ntiles, 3, "3 tiles");
    INT_EQ(lay.tiles[2].channel, 2, "tile 2 shows channel 2");
    INT_EQ(lay.tiles[2].filter, -1, "no filter in feature grids");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
}

static void fmap_viridis(void)
{
    const float a[12] = { 0, 7, -1, 1, 7, 1, 2, 7, NAN, 3, 7, 0 };
    tlr_grid_fmap_opts o = tlr_grid_fmap_defaults();
    o.per_row = 3;
    o.upscale = 1;
    o.gutter = 0;
    o.cmap = TLR_GRID_VIRIDIS;
    tlr_image *img = tlr_grid_fmaps(a, 2, 2, 3, &o, NULL, NULL);
    INT_EQ(img->channels, 3, "viridis is RGB");
    INT_EQ(img->w, 6, "3 tiles in one row");
    INT_EQ(rgb_at(img, 0, 0), 0x440154, "minimum -> viridis 0");
    INT_EQ(rgb_at(img, 1, 1), 0xfde725, "maximum -> viridis 255");
    INT_EQ(rgb_at(img, 2, 0), 0x404040, "dead channel gray");
    INT_EQ(rgb_at(img, 4, 1), 0xff00ff, "NaN magenta");
    /* level 128 (0 in [-1, 1]): viridis entry 128 is #21918c */
    INT_EQ(rgb_at(img, 5, 1), 0x21918c, "mid level");
    tlr_image_free(img);
}

static void viridis_table(void)
{
    const uint8_t *lo = tlr_grid_viridis(0), *hi = tlr_grid_viridis(255);
    INT_EQ(lo[0] << 16 | lo[1] << 8 | lo[2], 0x440154, "viridis 0");
    INT_EQ(hi[0] << 16 | hi[1] << 8 | hi[2], 0xfde725, "viridis 255");
    /* The whole table against the list written by matplotlib (tests/gen/viridis_table.py). */
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/ref/viridis.txt", tlr_t_root());
    FILE *f = fopen(path, "r");
    if (!f) {
        tlr_t_fail(__FILE__, __LINE__, "cannot open %s", path);
        return;
    }
    int n = 0, mismatches = 0;
    unsigned v;
    while (n < 256 && fscanf(f, " #%6x", &v) == 1) {
        const uint8_t *c = tlr_grid_viridis(n);
        unsigned got = (unsigned)c[0] << 16 | (unsigned)c[1] << 8 | c[2];
        if (got != v && !mismatches++)
            CHECK(0, "viridis[%d] = #%06x, reference #%06x", n, got, v);
        n++;
    }
    fclose(f);
    INT_EQ(n, 256, "reference has 256 entries");
    INT_EQ(mismatches, 0, "viridis table matches matplotlib");
}

static void fmap_sizes(void)
{
    /* 4x4 maps, auto upscale: 32 / 4 = 8 -> 32 px tiles. 150 channels: first 100, 10 per row. */
    float *a = calloc(4 * 4 * 150, sizeof *a);
    for (int i = 0; i < 4 * 4 * 150; i++)
        a[i] = (float)((i * 37) % 11);
    tlr_grid_fmap_opts o = tlr_grid_fmap_defaults();
    tlr_grid_layout lay;
    tlr_image *img = tlr_grid_fmaps(a, 4, 4, 150, &o, &lay, NULL);
    INT_EQ(lay.ntiles, 100, "max_channels");
    INT_EQ(lay.cols, 10, "per_row");
    INT_EQ(lay.rows, 10, "rows");
    INT_EQ(lay.tile_w, 32, "auto upscale to 32 px");
    INT_EQ(img->w, 10 * 32 + 9 * 2, "width");
    INT_EQ(img->h, 10 * 32 + 9 * 2, "height");
    INT_EQ(lay.tiles[99].x, 9 * 34, "last tile x");
    INT_EQ(lay.tiles[99].channel, 99, "last tile channel");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);

    /* 7 channels of 28x28, 3 per row: auto upscale 32/28 = 1; 3 rows, last partial. */
    o.per_row = 3;
    o.max_channels = 7;
    img = tlr_grid_fmaps(a, 28, 28, 2, &o, &lay, NULL);
    INT_EQ(lay.tile_w, 28, "no upscale for 28x28");
    INT_EQ(lay.ntiles, 2, "max_channels clipped to C");
    INT_EQ(img->w, 28 * 2 + 2, "cols clipped to the channels");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
    free(a);
}

static void fmap_strips(void)
{
    /* 1-D activation (steps=5, C=2) as h=1: ch0 = 0..4, ch1 = 4..0.  upscale 2, strip 3 px. */
    const float a[10] = { 0, 4, 1, 3, 2, 2, 3, 1, 4, 0 };
    tlr_grid_fmap_opts o = tlr_grid_fmap_defaults();
    o.per_row = 1;
    o.upscale = 2;
    o.strip_height = 3;
    o.gutter = 1;
    tlr_grid_layout lay;
    tlr_image *img = tlr_grid_fmaps(a, 1, 5, 2, &o, &lay, NULL);
    INT_EQ(lay.tile_w, 10, "strip width = steps * upscale");
    INT_EQ(lay.tile_h, 3, "strip height");
    INT_EQ(img->w, 10, "one strip per row");
    INT_EQ(img->h, 7, "two strips + gutter");
    /* levels 0, 63.75->64, 127.5->128, 191.25->191, 255 */
    const int want[5] = { 0, 64, 128, 191, 255 };
    for (int x = 0; x < 5; x++) {
        INT_EQ(gray_at(img, 2 * x + 1, 2), want[x], "strip 0");
        INT_EQ(gray_at(img, 2 * x, 4), want[4 - x], "strip 1");
    }
    INT_EQ(gray_at(img, 0, 3), 200, "gutter between strips");
    tlr_image_free(img);
    tlr_grid_layout_free(&lay);
}

static void errors(void)
{
    const float k[4] = { 0, 1, 2, 3 };
    tlr_err err = {0};
    tlr_grid_kernel_opts o = kopts(10, 20, 8, 2, TLR_GRID_NORM_KERNEL);
    OK(tlr_grid_kernels(k, 2, 2, 1, 0, &o, NULL, &err) == NULL, "cout 0 rejected");
    INT_EQ(err.code, TLR_E_SHAPE, "empty kernel code");
    o.cell = 0;
    OK(tlr_grid_kernels(k, 2, 2, 1, 1, &o, NULL, &err) == NULL, "cell 0 rejected");
    INT_EQ(err.code, TLR_E_USAGE, "bad option code");
    o.cell = 100000;
    OK(tlr_grid_kernels(k, 2, 2, 1, 1, &o, NULL, &err) == NULL, "huge image refused");
    INT_EQ(err.code, TLR_E_LIMIT, "limit code");
    tlr_grid_fmap_opts fo = tlr_grid_fmap_defaults();
    OK(tlr_grid_fmaps(k, 2, 2, 0, &fo, NULL, &err) == NULL, "C 0 rejected");
    INT_EQ(err.code, TLR_E_SHAPE, "empty activation code");
    fo.per_row = 0;
    OK(tlr_grid_fmaps(k, 2, 2, 1, &fo, NULL, &err) == NULL, "per_row 0 rejected");
    INT_EQ(err.code, TLR_E_USAGE, "bad fmap option");
}

void test_grid(void)
{
    kernel_levels();
    kernel_cells_and_gutters();
    kernel_index_order();
    kernel_rgb();
    fmap_gray();
    fmap_viridis();
    viridis_table();
    fmap_sizes();
    fmap_strips();
    errors();
}
